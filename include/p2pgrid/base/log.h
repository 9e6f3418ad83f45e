/* p2pgrid/base/log.h — levelled logging to stderr.
 *
 * Contract:
 * - One line per call, written with a single stdio call, so lines from
 *   different threads never interleave:
 *     2026-11-24T12:00:00.123Z INFO  module: message
 *   (UTC, millisecond precision; level padded to 5 characters).
 * - Messages longer than PG_LOG_LINE_MAX are cut and end in "...". Control
 *   characters in module or message (newline, escape, ...) are written as '?'
 *   so one call can never forge a second line; tab is kept.
 * - With pg_log_set_format(PG_LOG_JSON) each line is one JSON object
 *   instead, for log shippers:
 *     {"time":"2026-11-24T12:00:00.123Z","level":"info","pid":42,
 *      "module":"node","msg":"message"}
 *   still one stdio call per line and at most PG_LOG_LINE_MAX bytes: quotes,
 *   backslashes and control characters (newline too) are escaped, bytes that
 *   are not UTF-8 become U+FFFD, so the line is valid JSON whatever the
 *   message holds and one call never makes two lines; a message cut to fit
 *   ends in "...". The format is global (default PG_LOG_TEXT); the in-memory
 *   tail below keeps the text form.
 * - The level is global (default PG_LOG_INFO) and may be changed at any time
 *   from any thread; messages above it are dropped cheaply (the pg_log_*
 *   macros do not even evaluate their arguments then).
 * - Output goes to stderr unless pg_log_set_output() chose another stream;
 *   timestamps come from pg_clock_real() unless pg_log_set_clock() chose
 *   another clock (a simulation may pass its virtual clock). Both pointers are
 *   borrowed and must outlive all logging.
 *
 * Ownership: nothing is allocated for the caller; the output stream and clock
 * set here are borrowed and must outlive all logging; pg_log_level_name returns
 * static text.
 * Errors: logging never fails nor reports (a line the stream refuses is lost);
 * the parsers return PG_ERR_INVALID and the *_str setters also write one
 * sentence into the optional pg_diag.
 * Threads: every function may be called from any thread: level, format, output
 * and clock are atomics, each line is one stdio call, and the tail is kept
 * under a mutex. */
#ifndef P2PGRID_BASE_LOG_H
#define P2PGRID_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/err.h"

typedef enum pg_log_level {
  PG_LOG_ERROR = 0,
  PG_LOG_WARN = 1,
  PG_LOG_INFO = 2,
  PG_LOG_DEBUG = 3,
} pg_log_level;

#define PG_LOG_LINE_MAX 2048 /* bytes per line including the newline */

void pg_log_set_level(pg_log_level level);
pg_log_level pg_log_get_level(void);
/* "error", "warn"/"warning", "info", "debug" (any case). PG_ERR_INVALID else. */
PG_NODISCARD int pg_log_level_parse(const char *s, pg_log_level *out);
/* Parses s and sets the level; on failure the level is unchanged and d reads
 * "unknown log level 'x' (use error, warn, info or debug)". */
PG_NODISCARD int pg_log_set_level_str(const char *s, pg_diag *d);
/* "error", "warn", "info", "debug". */
const char *pg_log_level_name(pg_log_level level);

typedef enum pg_log_format {
  PG_LOG_TEXT = 0,
  PG_LOG_JSON = 1,
} pg_log_format;
void pg_log_set_format(pg_log_format f);
pg_log_format pg_log_get_format(void);
/* "text" or "json" (any case); PG_ERR_INVALID else. */
PG_NODISCARD int pg_log_format_parse(const char *s, pg_log_format *out);
/* Parses s and sets the format; on failure it is unchanged and d reads
 * "unknown log format 'x' (use text or json)". */
PG_NODISCARD int pg_log_set_format_str(const char *s, pg_diag *d);

/* NULL restores stderr / the real clock. */
void pg_log_set_output(FILE *f);
void pg_log_set_clock(const pg_clock *c);

static inline bool pg_log_enabled(pg_log_level level) { return level <= pg_log_get_level(); }

void pg_log(pg_log_level level, const char *module, const char *fmt, ...) PG_PRINTF(3, 4);
void pg_logv(pg_log_level level, const char *module, const char *fmt, va_list ap)
    PG_PRINTF(3, 0);

/* The in-memory tail: the last PG_LOG_TAIL_MAX lines written (whatever the
 * output stream; each cut to 399 bytes), kept for status pages. Copies the
 * newest max_lines of them that fit into out (cap bytes, NUL-terminated),
 * oldest first, each ended by '\n'; returns how many. Thread-safe. */
#define PG_LOG_TAIL_MAX 256
size_t pg_log_tail(char *out, size_t cap, size_t max_lines);

#define pg_log_error(module, ...) \
  do { if (pg_log_enabled(PG_LOG_ERROR)) pg_log(PG_LOG_ERROR, module, __VA_ARGS__); } while (0)
#define pg_log_warn(module, ...) \
  do { if (pg_log_enabled(PG_LOG_WARN)) pg_log(PG_LOG_WARN, module, __VA_ARGS__); } while (0)
#define pg_log_info(module, ...) \
  do { if (pg_log_enabled(PG_LOG_INFO)) pg_log(PG_LOG_INFO, module, __VA_ARGS__); } while (0)
#define pg_log_debug(module, ...) \
  do { if (pg_log_enabled(PG_LOG_DEBUG)) pg_log(PG_LOG_DEBUG, module, __VA_ARGS__); } while (0)

#endif
