/* STAND-IN for money.h (contract C, helper `money`): see money_standin.h.
 * Compiles to nothing once include/p2pgrid/money.h exists. */
#include "money_standin.h"

#ifdef PG_INVOICE_MONEY_STANDIN
#include <stdio.h>
#include <string.h>

#include "p2pgrid/tariff.h"

__extension__ typedef unsigned __int128 m_u128;

void pg_money_default(pg_money *m) {
  memset(m, 0, sizeof *m);
  snprintf(m->currency, sizeof m->currency, "i");
  m->units_per_currency = 1;
}

int pg_money_from_config(pg_config *c, const char *sec, pg_money *m, pg_diag *d) {
  pg_money_default(m);
  const char *cur = NULL, *upc = NULL;
  int dec = 0;
  int rc = pg_config_get_str(c, sec, "currency", NULL, &cur, d);
  if (!rc) rc = pg_config_get_str(c, sec, "units_per_currency", NULL, &upc, d);
  if (!rc) rc = pg_config_get_int(c, sec, "decimals", 0, 0, 9, &dec, d);
  if (rc) return rc;
  if (cur && (!*cur || strlen(cur) >= sizeof m->currency))
    return pg_fail(d, PG_ERR_CONFIG, "[%s] currency: '%s' is not a currency of 1..15 bytes", sec,
                   cur);
  if (cur) snprintf(m->currency, sizeof m->currency, "%s", cur);
  if (upc && (pg_tariff_parse_amount(upc, UINT64_MAX / 1000, &m->units_per_currency) != PG_OK ||
              !m->units_per_currency))
    return pg_fail(d, PG_ERR_CONFIG, "[%s] units_per_currency: '%s' is not a positive amount", sec,
                   upc);
  m->decimals = (unsigned)dec;
  return PG_OK;
}

/* |units| * 10^extra / upc with `dec + extra` decimals, half away from zero */
static size_t fmt(const pg_money *m, int64_t units, unsigned dec, const char *suffix, char *buf,
                  size_t cap) {
  m_u128 pow = 1;
  for (unsigned i = 0; i < dec; i++) pow *= 10;
  m_u128 a = units < 0 ? (m_u128)(-(units + 1)) + 1 : (m_u128)units;
  m_u128 upc = m->units_per_currency ? m->units_per_currency : 1;
  m_u128 num = a * pow, q = num / upc;
  if ((num % upc) * 2 >= upc) q++;
  unsigned long long whole = (unsigned long long)(q / pow), frac = (unsigned long long)(q % pow);
  char digits[32], grouped[48];
  int nd = snprintf(digits, sizeof digits, "%llu", whole);
  size_t g = 0;
  for (int i = 0; i < nd; i++) {
    if (i && (nd - i) % 3 == 0) grouped[g++] = ',';
    grouped[g++] = digits[i];
  }
  grouped[g] = '\0';
  bool neg = units < 0 && q != 0;
  int n = dec ? snprintf(buf, cap, "%s%s.%0*llu %s%s", neg ? "-" : "", grouped, (int)dec, frac,
                         m->currency, suffix)
              : snprintf(buf, cap, "%s%s %s%s", neg ? "-" : "", grouped, m->currency, suffix);
  return n < 0 ? 0 : (size_t)n;
}

size_t pg_money_format(const pg_money *m, int64_t units, char *buf, size_t cap) {
  return fmt(m, units, m->decimals, "", buf, cap);
}

size_t pg_money_format_price(const pg_money *m, uint64_t per_kwh, char *buf, size_t cap) {
  return fmt(m, (int64_t)(per_kwh > INT64_MAX ? INT64_MAX : per_kwh), m->decimals + 2, "/kWh",
             buf, cap);
}
#endif
