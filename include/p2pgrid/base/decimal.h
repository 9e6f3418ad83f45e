/* p2pgrid/base/decimal.h — plain decimal numbers from text (config values,
 * report CSV cells) checked against a caller's digit limits, then read as a
 * double. Exact fixed-point decimals of CSV files are pg_csv_decimal_fixed and
 * pg_csv_decimal_milli (csv.h); amounts of money pg_money_parse_amount.
 *
 * The syntax is always "-?D+(.D+)?": digits, optionally a point and at least
 * one more digit; no '+', exponent, blank, leading or trailing point, "inf" or
 * "nan". The limits differ by caller on purpose, so they are parameters:
 *   meter profiles (meter_profile.c): {.int_max = 9, .frac_max = 9, .neg = true}
 *   report inputs (report_csv.c):     {.total_max = 30, .neg = true}
 *
 * Ownership: nothing is allocated; s need not be NUL-terminated.
 * Errors: pg_dec_valid and pg_parse_u64 return false, pg_dec_to_double
 * PG_ERR_INVALID, on any text outside the syntax or the limits; *out is
 * then unchanged.
 * Threads: pure, thread-safe.
 * The double is the correctly rounded value of the text (strtod in the "C"
 * locale's format, which p2pgrid never changes). */
#ifndef P2PGRID_BASE_DECIMAL_H
#define P2PGRID_BASE_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

typedef struct pg_dec_rules {
  unsigned int_max;   /* most digits before the point (0 = no limit) */
  unsigned frac_max;  /* most digits after the point (0 = no limit) */
  unsigned total_max; /* most digits in all (0 = no limit) */
  bool neg;           /* a leading '-' is allowed */
} pg_dec_rules;

/* Whether s[0..n) is a decimal within r. */
bool pg_dec_valid(const char *s, size_t n, const pg_dec_rules *r);
/* pg_dec_valid, then *out = the value. PG_ERR_INVALID (out untouched, no
 * diag: the caller names the key or cell and echoes the text) otherwise. */
PG_NODISCARD int pg_dec_to_double(const char *s, size_t n, const pg_dec_rules *r, double *out);

/* An unsigned integer s[0..n): n >= 1 digits only (no sign, blank or
 * '+'), at most max_digits of them (0 = no limit), no overflow of uint64_t.
 * false (out untouched) otherwise. The one integer reader of outside text
 * (config values, query parameters, CSV cells). */
bool pg_parse_u64(const char *s, size_t n, size_t max_digits, uint64_t *out);
/* A signed integer s[0..n): an optional '-' and pg_parse_u64's digits (no
 * digit limit) within int64_t. false (out untouched) otherwise. */
bool pg_parse_i64(const char *s, size_t n, int64_t *out);

#endif
