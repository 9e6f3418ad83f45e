/* money.c — currency display and exact amount parsing (see p2pgrid/base/money.h). */
#include "p2pgrid/base/money.h"

#include "number_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

void pg_money_default(pg_money *m) {
  memset(m, 0, sizeof *m);
  memcpy(m->currency, "i", 2);
  m->units_per_currency = 1;
  m->decimals = 0;
}

static bool currency_ok(const char *s) {
  size_t n = strnlen(s, 16);
  if (n < 1 || n > 15) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

int pg_money_check(const pg_money *m, pg_diag *d) {
  if (!currency_ok(m->currency))
    return pg_fail(d, PG_ERR_INVALID, "money: currency is not 1 to 15 letters A-Z or a-z");
  if (m->units_per_currency < 1 || m->units_per_currency > PG_MONEY_MAX_UNITS_PER_CURRENCY)
    return pg_fail(d, PG_ERR_INVALID, "money: units_per_currency is not between 1 and %llu",
                   (unsigned long long)PG_MONEY_MAX_UNITS_PER_CURRENCY);
  if (m->decimals > PG_MONEY_MAX_DECIMALS)
    return pg_fail(d, PG_ERR_INVALID, "money: decimals is not between 0 and %u",
                   PG_MONEY_MAX_DECIMALS);
  return PG_OK;
}

int pg_money_parse_amount(const char *s, uint64_t *out) {
  static const struct { const char *suf; unsigned exp; } sufs[] = {
      {"", 0}, {"i", 0}, {"Ki", 3}, {"Mi", 6}, {"Gi", 9}};
  if (!s || s[0] < '0' || s[0] > '9') return PG_ERR_INVALID;
  u128 num = 0;
  unsigned frac = 0; /* digits after the point */
  size_t i = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    num = num * 10 + (unsigned)(s[i] - '0');
    if (num > UINT64_MAX) return PG_ERR_INVALID;
  }
  if (s[i] == '.') {
    if (s[++i] < '0' || s[i] > '9') return PG_ERR_INVALID;
    for (; s[i] >= '0' && s[i] <= '9'; i++, frac++) {
      if (frac >= 18) return PG_ERR_INVALID;
      num = num * 10 + (unsigned)(s[i] - '0');
    }
  }
  for (size_t k = 0; k < sizeof sufs / sizeof sufs[0]; k++) {
    if (strcmp(s + i, sufs[k].suf) != 0) continue;
    unsigned exp = sufs[k].exp;
    /* drop trailing fraction zeros that the suffix cannot absorb */
    while (frac > exp && num % 10 == 0) num /= 10, frac--;
    if (frac > exp) return PG_ERR_INVALID; /* not a whole number of base units */
    for (unsigned e = frac; e < exp; e++) {
      num *= 10;
    }
    if (num > UINT64_MAX) return PG_ERR_INVALID;
    *out = (uint64_t)num;
    return PG_OK;
  }
  return PG_ERR_INVALID;
}

int pg_money_from_config(pg_config *c, const char *section, pg_money *m, pg_diag *d) {
  pg_money r;
  pg_money_default(&r);
  const char *cur = NULL, *upc = NULL;
  int64_t dec = 0;
  int rc = pg_config_get_str(c, section, "currency", NULL, &cur, d);
  if (!rc && cur) {
    if (!currency_ok(cur) || strlen(cur) > 15)
      return pg_config_bad_value(c, section, "currency", "1 to 15 letters A-Z or a-z", d);
    memcpy(r.currency, cur, strlen(cur) + 1);
  }
  if (!rc) rc = pg_config_get_str(c, section, "units_per_currency", NULL, &upc, d);
  if (!rc && upc &&
      (pg_money_parse_amount(upc, &r.units_per_currency) != PG_OK || r.units_per_currency < 1 ||
       r.units_per_currency > PG_MONEY_MAX_UNITS_PER_CURRENCY))
    return pg_config_bad_value(c, section, "units_per_currency",
                               "an amount of 1 to 2^53-1 base units (digits with an optional "
                               "unit i, Ki, Mi, Gi, e.g. 1Gi)",
                               d);
  if (!rc) rc = pg_config_get_i64(c, section, "decimals", 0, 0, PG_MONEY_MAX_DECIMALS, &dec, d);
  if (rc) return rc;
  r.decimals = (unsigned)dec;
  *m = r;
  return PG_OK;
}

/* Formats sign and |units| / upc with dec decimals, then suffix. */
static size_t format(bool neg, uint64_t mag, uint64_t upc, unsigned dec, const char *cur,
                     const char *suffix, char *buf, size_t cap) {
  char s[PG_MONEY_FMT_MAX + 16];
  size_t n = 0;
  /* round half away from zero: floor((2 * mag * 10^dec + upc) / (2 * upc)) */
  u128 num = (u128)mag * pg_pow10_u128(dec);
  u128 q = (2 * num + upc) / (2 * (u128)upc);
  if (neg && q) s[n++] = '-';
  n = pg_put_grouped(s, n, q, dec);
  int k = snprintf(s + n, sizeof s - n, " %s%s", cur, suffix);
  n += (size_t)(k > 0 ? k : 0);
  return pg_put_out(s, n, buf, cap);
}

static const pg_money *valid_or_default(const pg_money *m, pg_money *def) {
  if (m && pg_money_check(m, NULL) == PG_OK) return m;
  pg_money_default(def);
  return def;
}

size_t pg_money_format(const pg_money *m, int64_t units, char *buf, size_t cap) {
  pg_money def;
  m = valid_or_default(m, &def);
  bool neg = units < 0;
  uint64_t mag = neg ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
  return format(neg, mag, m->units_per_currency, m->decimals, m->currency, "", buf, cap);
}

size_t pg_money_format_price(const pg_money *m, uint64_t units_per_kwh, char *buf, size_t cap) {
  return pg_money_format_price_per(m, units_per_kwh, NULL, buf, cap);
}

size_t pg_money_format_price_per(const pg_money *m, uint64_t units_per_unit, const char *unit,
                                 char *buf, size_t cap) {
  char suffix[24];
  snprintf(suffix, sizeof suffix, "/%s", unit ? unit : "kWh");
  pg_money def;
  m = valid_or_default(m, &def);
  unsigned resolve = 0; /* ceil(log10(upc)) */
  for (u128 p = 1; p < m->units_per_currency; p *= 10) resolve++;
  unsigned dec = m->decimals + 2 < resolve ? m->decimals + 2 : resolve;
  return format(false, units_per_unit, m->units_per_currency, dec, m->currency, suffix, buf, cap);
}

json_t *pg_money_json(const pg_money *m) {
  return json_pack("{sssIsI}", "currency", m->currency, "unitsPerCurrency",
                   (json_int_t)m->units_per_currency, "decimals", (json_int_t)m->decimals);
}
