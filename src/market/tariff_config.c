/* [tariff] from a configuration, and exact amounts (tariff.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "p2pgrid/config.h"
#include "p2pgrid/market.h"
#include "p2pgrid/tariff.h"

__extension__ typedef unsigned __int128 c_u128;

int pg_tariff_parse_amount(const char *s, uint64_t max, uint64_t *out) {
  if (!s || !isdigit((unsigned char)*s)) return PG_ERR_INVALID;
  c_u128 num = 0, den = 1;
  bool dot = false;
  for (; isdigit((unsigned char)*s) || (*s == '.' && !dot); s++) {
    if (*s == '.') {
      dot = true;
      if (!isdigit((unsigned char)s[1])) return PG_ERR_INVALID;
      continue;
    }
    num = num * 10 + (c_u128)(*s - '0');
    if (dot) den *= 10;
    if (num > ((c_u128)1 << 100) || den > ((c_u128)1 << 60)) return PG_ERR_TOO_LARGE;
  }
  uint64_t mul;
  if (!strcmp(s, "") || !strcmp(s, "i")) mul = 1;
  else if (!strcmp(s, "Ki")) mul = 1000;
  else if (!strcmp(s, "Mi")) mul = 1000000;
  else if (!strcmp(s, "Gi")) mul = 1000000000;
  else return PG_ERR_INVALID;
  num *= mul;
  if (num % den) return PG_ERR_INVALID; /* a fraction of a base unit */
  if (num / den > max) return PG_ERR_TOO_LARGE;
  *out = (uint64_t)(num / den);
  return PG_OK;
}

/* "origin:line: [sec] key: what" — the location from a getter that must fail */
static int bad(pg_config *c, const char *sec, const char *key, const char *v, const char *what,
               pg_diag *d) {
  int64_t x;
  pg_diag d2 = {{0}};
  if (pg_config_get_i64(c, sec, key, 0, INT64_MIN, INT64_MIN, &x, &d2) != PG_OK) {
    char *p = strstr(d2.msg, key);
    if (p) p[strlen(key)] = '\0';
    return pg_fail(d, PG_ERR_CONFIG, "%s: '%s' is not %s", d2.msg, v, what);
  }
  return pg_fail(d, PG_ERR_CONFIG, "[%s] %s: '%s' is not %s", sec, key, v, what);
}

static int get_amount(pg_config *c, const char *sec, const char *key, uint64_t max,
                      uint64_t *out, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, sec, key, NULL, &v, d);
  if (rc || !v) return rc;
  if (pg_tariff_parse_amount(v, max, out) != PG_OK) {
    char what[160];
    snprintf(what, sizeof what,
             "an amount of at most %llu base units (digits with an optional unit i, Ki, Mi, Gi, "
             "e.g. 5Mi)",
             (unsigned long long)max);
    return bad(c, sec, key, v, what, d);
  }
  return PG_OK;
}

int pg_tariff_from_config(pg_config *c, const char *section, pg_tariff *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  int rc;
  if ((rc = get_amount(c, section, "membership_fee", PG_TARIFF_MAX_AMOUNT, &out->membership_fee,
                       d)) ||
      (rc = get_amount(c, section, "capacity_price", PG_TARIFF_MAX_AMOUNT, &out->capacity_price,
                       d)) ||
      (rc = get_amount(c, section, "grid_fee_reduction", PG_MARKET_MAX_PRICE,
                       &out->grid_fee_reduction_per_kwh, d)))
    return rc;
  const char *v = NULL;
  if ((rc = pg_config_get_str(c, section, "vat", NULL, &v, d))) return rc;
  if (v && pg_tariff_parse_vat(v, &out->vat_bp) != PG_OK)
    return bad(c, section, "vat", v, "a VAT rate (a percentage 0..100 with at most two decimals, "
                                     "e.g. 20% or 7.7%)", d);
  return PG_OK;
}
