/* decimal.c — plain decimals read as doubles (p2pgrid/base/decimal.h). */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/decimal.h"

static size_t run_of_digits(const char *s, size_t n, size_t i) {
  size_t k = i;
  while (k < n && s[k] >= '0' && s[k] <= '9') k++;
  return k - i;
}

bool pg_dec_valid(const char *s, size_t n, const pg_dec_rules *r) {
  if (!s) return false;
  size_t i = 0, ni, nf = 0;
  if (i < n && s[i] == '-') {
    if (!r->neg) return false;
    i++;
  }
  ni = run_of_digits(s, n, i);
  i += ni;
  if (i < n && s[i] == '.') {
    nf = run_of_digits(s, n, ++i);
    if (nf == 0) return false;
    i += nf;
  }
  if (i != n || ni == 0) return false;
  if ((r->int_max && ni > r->int_max) || (r->frac_max && nf > r->frac_max) ||
      (r->total_max && ni + nf > r->total_max))
    return false;
  return true;
}

int pg_dec_to_double(const char *s, size_t n, const pg_dec_rules *r, double *out) {
  if (!pg_dec_valid(s, n, r)) return PG_ERR_INVALID;
  char stack[64], *buf = n < sizeof stack ? stack : malloc(n + 1);
  if (!buf) return PG_ERR_NOMEM;
  memcpy(buf, s, n);
  buf[n] = '\0';
  *out = strtod(buf, NULL);
  if (buf != stack) free(buf);
  return PG_OK;
}

bool pg_parse_u64(const char *s, size_t n, size_t max_digits, uint64_t *out) {
  if (!s || n == 0 || (max_digits && n > max_digits)) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned dg = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - dg) / 10) return false;
    v = v * 10 + dg;
  }
  *out = v;
  return true;
}

bool pg_parse_i64(const char *s, size_t n, int64_t *out) {
  bool neg = s && n > 0 && s[0] == '-';
  uint64_t v;
  if (!s || !pg_parse_u64(s + neg, n - neg, 0, &v)) return false;
  if (v > (uint64_t)INT64_MAX + neg) return false;
  *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  return true;
}
