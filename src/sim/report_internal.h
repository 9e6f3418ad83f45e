/* report_internal.h — the CSV reader and value parsers of the simulation
 * report (src/sim/report*.c; src/invoice reads the same files with them). */
#ifndef P2PGRID_SIM_REPORT_INTERNAL_H
#define P2PGRID_SIM_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

#define RPT_CSV_MAX_COLS 64

/* RFC 4180 reader over borrowed bytes. Each record's fields are unescaped
 * into an owned scratch area and NUL-terminated (a NUL byte in the input is
 * an error), so fields are C strings valid until the next rpt_csv_next. */
typedef struct rpt_csv {
  const char *file; /* name for messages, e.g. "slots.csv" */
  const uint8_t *data;
  size_t len, pos;
  unsigned long line;      /* line where the current record starts (1-based) */
  unsigned long next_line; /* line where the next record starts */
  char *scratch;
  size_t scratch_cap;
  size_t nf;
  size_t off[RPT_CSV_MAX_COLS];
  const char *f[RPT_CSV_MAX_COLS];
  /* header mapping: col[i] = index of the i-th wanted column */
  const char *const *names;
  size_t nnames;
  size_t col[RPT_CSV_MAX_COLS];
  size_t ncols; /* fields per record (from the header) */
} rpt_csv;

void rpt_csv_init(rpt_csv *c, const char *file, const uint8_t *data, size_t len);
void rpt_csv_free(rpt_csv *c);
/* Reads the header and maps the wanted column names (all required). */
PG_NODISCARD int rpt_csv_header(rpt_csv *c, const char *const *names, size_t n, pg_diag *d);
/* Next record: 1 when one was read, 0 at the end, or a negative pg_err.
 * Blank lines are skipped. */
PG_NODISCARD int rpt_csv_next(rpt_csv *c, pg_diag *d);
/* The wanted column i of the current record. */
static inline const char *rpt_csv_get(const rpt_csv *c, size_t i) { return c->f[c->col[i]]; }

/* Typed access to wanted column i, with "file:line: column 'x': ..." errors. */
PG_NODISCARD int rpt_csv_i64(const rpt_csv *c, size_t i, int64_t *out, pg_diag *d);
/* Decimal (optional '-', digits, optional '.' digits); empty -> NaN when
 * allow_empty. */
PG_NODISCARD int rpt_csv_dec(const rpt_csv *c, size_t i, bool allow_empty, double *out,
                             pg_diag *d);
/* ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> Unix ms. */
PG_NODISCARD int rpt_csv_time(const rpt_csv *c, size_t i, int64_t *out, pg_diag *d);
/* A failure naming file, line and column; fmt describes the problem. */
int rpt_csv_fail(const rpt_csv *c, size_t i, int err, const char *what, pg_diag *d);

bool rpt_parse_i64(const char *s, int64_t *out);
bool rpt_parse_dec(const char *s, double *out);
bool rpt_parse_time(const char *s, int64_t *out_ms);

/* HTML output (also used by src/invoice): printf into o; HTML-escape s
 * (text and attribute values alike), at most max bytes of input (cut at a
 * UTF-8 boundary, with an ellipsis) when max > 0. */
void rpt_outf(pg_buf *o, const char *fmt, ...) PG_PRINTF(2, 3);
void rpt_esc_n(pg_buf *o, const char *s, size_t max);

#endif
