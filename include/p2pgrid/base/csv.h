/* p2pgrid/base/csv.h — scanning CSV bytes from files: lines through a bounded
 * reader, fields split at one separator byte, exact decimals. Used by the
 * profile series/BDEW loaders and the grid-operator (DSO) importer.
 *
 * No quoting: a field is the bytes between two separators.
 *
 * Ownership: no allocation, no I/O; fields point into the caller's bytes.
 * Errors: pg_csv_next returns PG_ERR_NOT_FOUND at the end, PG_ERR_TOO_LARGE
 * or PG_ERR_INVALID with "<name>:<line>: ..." in the optional pg_diag; the
 * decimal parsers return a code (pg_csv_dec, or PG_ERR_INVALID) without a
 * diag: the caller names the file, line and field.
 * Threads: pure functions, no shared state; any thread. */
#ifndef P2PGRID_BASE_CSV_H
#define P2PGRID_BASE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

typedef struct pg_csv_field {
  const char *p;
  size_t len;
} pg_csv_field;

/* Walks lines of data[0..len) through a pg_reader. */
typedef struct pg_csv {
  pg_reader r;
  const char *name;
  size_t max_line;
  long line; /* 1-based number of the line last returned */
} pg_csv;

void pg_csv_init(pg_csv *c, const void *data, size_t len, const char *name, size_t max_line);
/* Next line (without CR/LF): PG_OK with *out and *n set, PG_ERR_NOT_FOUND at the
 * end, PG_ERR_TOO_LARGE (diag) for an over-long line or PG_ERR_INVALID for a
 * NUL byte. A UTF-8 BOM before line 1 is skipped. */
int pg_csv_next(pg_csv *c, const char **out, size_t *n, pg_diag *d);
/* Splits a line at ',' (or sep) into at most max fields; returns the count,
 * or max + 1 when there are more. */
size_t pg_csv_split(const char *line, size_t n, pg_csv_field *f, size_t max);
size_t pg_csv_split_sep(const char *line, size_t n, char sep, pg_csv_field *f, size_t max);
bool pg_csv_eq(pg_csv_field f, const char *s);
/* Non-negative decimal such as 123 or 123.456 (at most 12 integer and 9 fraction
 * digits). *milli = value in thousandths, rounded half up. */
int pg_csv_decimal_milli(pg_csv_field f, int64_t *milli);

/* Exact fixed-point decimal: digits, optionally the decimal point `point`
 * (or '.') and 1..frac_max digits; *out = value x 10^frac_max, exactly (no
 * rounding). At most 15 integer digits. The result says what is wrong: */
typedef enum pg_csv_dec {
  PG_CSV_DEC_OK = 0,
  PG_CSV_DEC_SYNTAX,   /* not a decimal number (empty, letters, "1.", ".5", ...) */
  PG_CSV_DEC_NEGATIVE, /* a valid number with a leading '-' ("-0" included) */
  PG_CSV_DEC_DECIMALS, /* more than frac_max fraction digits */
  PG_CSV_DEC_RANGE,    /* larger than max (in units of 10^-frac_max) */
} pg_csv_dec;
pg_csv_dec pg_csv_decimal_fixed(pg_csv_field f, char point, unsigned frac_max, int64_t max,
                                int64_t *out);

/* Copies a field for an error message, shortened and with bytes outside
 * printable ASCII replaced by '?'. */
void pg_csv_show(pg_csv_field f, char *out, size_t cap);

#endif
