/* p2pgrid/base/datetime.h — civil dates and ISO-8601 timestamps as Unix ms.
 *
 * Proleptic Gregorian calendar,
 * no leap seconds. Day numbers of civil dates and back (pg_days_from_civil,
 * pg_civil_from_days) are in tz.h, with the rest of the calendar.
 *
 * Ownership: no allocation; text goes to caller buffers.
 * Errors: pg_iso8601_parse returns PG_ERR_INVALID without a diag (the caller
 * names the file and line); the rest cannot fail.
 * Threads: pure functions; any thread. */
#ifndef P2PGRID_BASE_DATETIME_H
#define P2PGRID_BASE_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/base/tz.h"

/* Whether y-m-d is a real date (month 1..12, day within the month, leap years). */
bool pg_civil_valid(int year, int month, int day);

/* ISO-8601 timestamp "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)" (n bytes,
 * need not be NUL-terminated; nothing before or after) -> the UTC instant in
 * Unix ms (fraction truncated to ms) and the stated offset in minutes east of
 * UTC (Z = 0; |offset| <= 18:00). Years 0000..9999, hours 00..23, seconds
 * 00..59. PG_ERR_INVALID for anything else (no diag: the caller names the
 * file and line). */
PG_NODISCARD int pg_iso8601_parse(const char *s, size_t n, int64_t *ms, int32_t *offset_min);

/* pg_iso8601_parse, UTC only: the offset must be zero ("Z", "+00:00" or
 * "-00:00"); any other offset is PG_ERR_INVALID. For CSV timestamps
 * (profile series, report inputs) that are UTC by definition. */
PG_NODISCARD int pg_iso8601_parse_utc(const char *s, size_t n, int64_t *ms);

/* A start date as a person writes it in a config file, always UTC: the
 * NUL-terminated s is "YYYY-MM-DD", optionally followed by 'T' or ' ' and
 * "HH:MM[:SS]" and then optionally "Z" or "+00:00"; nothing else. Fields of
 * fewer digits pass ("2025-6-1", as sscanf's %2d reads them); years
 * 1970..2199, a real calendar date (pg_civil_valid), hours 0..23, minutes and
 * seconds 0..59. -> Unix ms. PG_ERR_INVALID otherwise. Looser than
 * pg_iso8601_parse on purpose (a date alone, a space, no seconds): the
 * scenario's `start =` has always accepted these forms. */
PG_NODISCARD int pg_date_time_parse_utc(const char *s, uint64_t *ms);

/* "2025-03-30T01:45:00Z" (whole seconds, UTC; ms before 1970 work). cap >= 21
 * for years 0..9999; always NUL-terminated when cap > 0. */
void pg_iso8601_utc(int64_t ms, char *buf, size_t cap);

#endif
