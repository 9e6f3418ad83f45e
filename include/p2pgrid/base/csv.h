/* p2pgrid/base/csv.h — the one CSV reader of outside files: RFC 4180 records
 * (fields in double quotes with "" for a quote, which may hold the separator
 * and line breaks; LF or CRLF; blank lines skipped; a UTF-8 BOM skipped) over
 * borrowed bytes, split at one separator byte (',' unless set, ';' for
 * European exports), a record's bytes bounded; a table view on top (header
 * columns by name, typed values with "file:line: column 'x': ..." errors);
 * exact decimals for fields. Used by the profile series/BDEW loaders, the DSO
 * importer and reconciler, the simulation report loader and the invoice.
 *
 * Ownership: the reader borrows data (it must outlive the reader) and owns
 * a scratch area (pg_csv_free / pg_csv_table_free) into which each record's
 * fields are unescaped; a returned field points into it, NUL-terminated at
 * len, until the next record is read. The decimal helpers allocate nothing.
 * Errors: pg_csv_record returns PG_ERR_NOT_FOUND at the end, PG_ERR_TOO_LARGE
 * (record over max_record bytes), PG_ERR_INVALID (NUL byte, a quote inside an
 * unquoted field, an unclosed quote, text after a closing quote, a stray CR)
 * or PG_ERR_NOMEM, with "<name>:<line>: ..." in the optional pg_diag; the
 * decimal parsers return a code (pg_csv_dec, or PG_ERR_INVALID) without a
 * diag: the caller names the file, line and field.
 * Threads: a reader is used by one thread at a time; the rest are pure
 * functions. */
#ifndef P2PGRID_BASE_CSV_H
#define P2PGRID_BASE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

/* A field: p[0..len), and p[len] == 0 when it came from pg_csv_record. */
typedef struct pg_csv_field {
  const char *p;
  size_t len;
} pg_csv_field;

typedef struct pg_csv {
  const uint8_t *data;
  size_t len, pos;
  const char *name;  /* for messages, e.g. a file name */
  size_t max_record; /* most bytes of one record, quotes and line ends included */
  char sep;          /* ',' after pg_csv_init; set it before the first record */
  long line;         /* 1-based line where the record last returned starts */
  long next_line;
  char *scratch;
  size_t scratch_cap;
} pg_csv;

void pg_csv_init(pg_csv *c, const void *data, size_t len, const char *name, size_t max_record);
void pg_csv_free(pg_csv *c);
/* The separator a header line suggests: ';' when the next non-blank line
 * holds one, else ','. */
char pg_csv_sniff_sep(const pg_csv *c);
/* Next record: PG_OK with f[0..*nf) set and *nf its field count, or
 * *nf = max + 1 (f[0..max) set) when it has more than max fields;
 * PG_ERR_NOT_FOUND at the end; an error (diag) otherwise. */
PG_NODISCARD int pg_csv_record(pg_csv *c, pg_csv_field *f, size_t max, size_t *nf, pg_diag *d);
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

/* ---- a table: a header row naming the columns, then records of as many
 * fields */
#define PG_CSV_TABLE_MAX_COLS 64
typedef struct pg_csv_table {
  pg_csv c;
  pg_csv_field f[PG_CSV_TABLE_MAX_COLS + 1];
  size_t nf;    /* fields of the current record (== ncols) */
  size_t ncols; /* fields per record, from the header */
  const char *const *names;
  size_t nnames;
  size_t col[PG_CSV_TABLE_MAX_COLS]; /* col[i]: field of the i-th wanted column */
} pg_csv_table;

/* A reader of data with ',' and records of at most 1 MiB. */
void pg_csv_table_init(pg_csv_table *t, const char *name, const void *data, size_t len);
void pg_csv_table_free(pg_csv_table *t);
/* Reads the header and maps the wanted column names (every one required;
 * other columns are allowed). */
PG_NODISCARD int pg_csv_table_header(pg_csv_table *t, const char *const *names, size_t n,
                                     pg_diag *d);
/* Next record: 1 when one was read, 0 at the end, or a negative pg_err
 * (diag), also for a record with another field count than the header. */
PG_NODISCARD int pg_csv_table_next(pg_csv_table *t, pg_diag *d);
/* The wanted column i of the current record, a C string. */
static inline const char *pg_csv_table_get(const pg_csv_table *t, size_t i) {
  return t->f[t->col[i]].p;
}
/* Typed wanted column i, failing with "name:line: column 'x': 'value' is
 * not ...": an integer with optional '-'; a decimal (optional '-', digits,
 * optional '.' digits; empty -> NaN when allow_empty); an ISO-8601 UTC time
 * "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> Unix ms. */
PG_NODISCARD int pg_csv_table_i64(const pg_csv_table *t, size_t i, int64_t *out, pg_diag *d);
PG_NODISCARD int pg_csv_table_dec(const pg_csv_table *t, size_t i, bool allow_empty, double *out,
                                  pg_diag *d);
PG_NODISCARD int pg_csv_table_time(const pg_csv_table *t, size_t i, int64_t *out, pg_diag *d);
/* Fails with err naming file, line, column i and its value (quoted, at most
 * 40 bytes, non-printables as '?'); what says what is wrong. Returns err. */
int pg_csv_table_fail(const pg_csv_table *t, size_t i, int err, const char *what, pg_diag *d);

#endif
