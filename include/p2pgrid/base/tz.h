/* p2pgrid/base/tz.h — time zones and the civil calendar: UTC, fixed offsets and
 * any IANA zone of the system's tz database (TZif files, RFC 8536), read by
 * our own reader. Depends on base (file.h, err.h) and pthreads.
 *
 * WHY OUR OWN READER. glibc (localtime_r with setenv("TZ")) knows exactly one
 * zone per process, set through the process-global environment, which is not
 * thread-safe; Debian has no library that reads TZif files into a value one
 * can hold per community (libical/ICU bring their own databases). The TZif
 * format is small and specified (RFC 8536), so a checked reader is the
 * smaller dependency. Tests compare it with glibc's localtime_r.
 *
 * VALUES. pg_tz is a small value type passed by value. It is one of
 *   - a fixed offset (zone == NULL, eu_dst false): PG_TZ_UTC, "+05:30";
 *   - a fixed offset with the EU summer-time rule (zone == NULL, eu_dst):
 *     +60 min from the last Sunday of March 01:00 UTC to the last Sunday of
 *     October 01:00 UTC — PG_TZ_BERLIN, the built-in fallback kept for the
 *     legacy meter keys utc_offset_min/eu_dst;
 *   - an IANA zone (zone != NULL) loaded by pg_tz_parse.
 * Loaded zones live in a process-wide cache (mutex) and are never freed, so
 * a pg_tz stays valid for the life of the process and may be copied and used
 * from any thread. All the functions below except pg_tz_parse are pure.
 *
 * RULES. Before the first transition of a zone its first time type applies
 * (RFC 8536 3.2); after the last, the POSIX TZ string of the file's footer
 * ("CET-1CEST,M3.5.0,M10.5.0/3"; rule times -167..167 h as RFC 8536 allows);
 * without a footer the last transition's type holds. Zones with leap-second
 * records ("right/...") are refused (PG_ERR_UNSUPPORTED).
 *
 * Ownership: pg_tz is a value; the zones pg_tz_parse loads stay in the
 * process-wide cache forever, pg_tzif_parse's zone is the caller's
 * (pg_tz_zone_free); names and abbreviations are static or zone-owned.
 * Errors: pg_tz_parse returns PG_ERR_INVALID, PG_ERR_NOT_FOUND or
 * PG_ERR_UNSUPPORTED, pg_tz_from_config PG_ERR_CONFIG, pg_tzif_parse
 * PG_ERR_INVALID, PG_ERR_TRUNCATED, PG_ERR_UNSUPPORTED or PG_ERR_NOMEM, each
 * with one sentence naming the zone in the optional pg_diag; the calendar
 * functions cannot fail.
 * Threads: any thread: pg_tz_parse takes the cache's mutex, everything else is
 * pure. */
#ifndef P2PGRID_BASE_TZ_H
#define P2PGRID_BASE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

struct pg_config;

typedef struct pg_tz_zone pg_tz_zone; /* a loaded TZif zone (opaque) */

typedef struct pg_tz {
  int32_t utc_offset_min;   /* fixed offset east of UTC, -720..840 (zone == NULL) */
  bool eu_dst;              /* fixed offset plus the EU summer-time rule */
  const pg_tz_zone *zone;   /* IANA zone, or NULL */
} pg_tz;
#define PG_TZ_UTC ((pg_tz){0, false, NULL})
#define PG_TZ_BERLIN ((pg_tz){60, true, NULL})

#define PG_TZ_NAME_MAX 64           /* longest IANA name accepted */
#define PG_TZIF_MAX_FILE (256u << 10) /* largest TZif file read */

/* ---- civil calendar (proleptic Gregorian) --------------------------------- */

typedef struct pg_local_time {
  int year, month, day; /* month 1..12, day 1..31 */
  int doy;              /* day of year 1..366 */
  int wday;             /* 0 = Sunday .. 6 = Saturday */
  int64_t ms_of_day;    /* 0 .. 86399999 */
} pg_local_time;

/* Local civil time of the instant t_ms (Unix ms) in tz. Works for every kind
 * of pg_tz; the local time saturates at the int64 range. */
void pg_local_time_of(int64_t t_ms, pg_tz tz, pg_local_time *out);
int pg_days_in_year(int year);
/* Unix day number (days since 1970-01-01) of a civil date, and back. */
int64_t pg_days_from_civil(int year, int month, int day);
void pg_civil_from_days(int64_t days, int *year, int *month, int *day);

/* ---- zones ---------------------------------------------------------------- */

/* "UTC", "+HH:MM"/"-HH:MM" (-12:00..+14:00), or an IANA name read from
 * $TZDIR or /usr/share/zoneinfo (TZif v1..v4 with the POSIX footer for times
 * after the last transition); zones are loaded once per process, kept for its
 * life, and are safe to use from any thread. Names: at most PG_TZ_NAME_MAX
 * characters of [A-Za-z0-9_+-/], no leading '/', no "..". Errors
 * (PG_ERR_INVALID for a malformed name or file, PG_ERR_NOT_FOUND when the
 * zone's file cannot be read, PG_ERR_UNSUPPORTED for leap-second zones) name
 * the zone and the file tried. Exception: "Europe/Berlin" without a tz
 * database gives PG_TZ_BERLIN (the same rule from 1996 on). */
PG_NODISCARD int pg_tz_parse(const char *s, pg_tz *out, pg_diag *d);
/* "Europe/Vienna", "UTC", "+01:00"; "Europe/Berlin" for PG_TZ_BERLIN and
 * "+02:00 EU" for another fixed offset with the EU rule. Static storage. */
const char *pg_tz_name(pg_tz tz);
/* UTC offset at that instant, in seconds east of UTC. */
int32_t pg_tz_offset_s(pg_tz tz, int64_t t_ms);
/* Abbreviation in force at t ("CET", "CEST", "+1030"); for fixed offsets the
 * name. Static storage (zone-owned). */
const char *pg_tz_abbr(pg_tz tz, int64_t t_ms);
/* The UTC instant of local midnight starting date y-m-d (EU/IANA midnights
 * are never in a gap; if one is, the first instant after it; if midnight
 * occurs twice, the first). y-m-d is normalised like pg_days_from_civil. */
int64_t pg_tz_midnight_ms(pg_tz tz, int y, int m, int d);
/* Length of the local day y-m-d in ms (86400000, or 82800000 and 90000000 on
 * the days clocks change by an hour). */
int64_t pg_tz_day_ms(pg_tz tz, int y, int m, int d);

/* Reads a zone from the config key (value as for pg_tz_parse; def when the
 * key is missing). PG_ERR_CONFIG "origin:line: [sec] key: ..." otherwise. */
PG_NODISCARD int pg_tz_from_config(struct pg_config *c, const char *section, const char *key,
                                   const char *def, pg_tz *out, pg_diag *d);

/* ---- the TZif reader itself (tests, fuzzing) ------------------------------ */

/* Parses TZif bytes (untrusted; every field length-checked) into a new zone
 * named `name` (at most PG_TZ_NAME_MAX chars; used in pg_tz_name and in
 * errors: "NAME: TZif: ..."). *out is owned by the caller: free it with
 * pg_tz_zone_free once no pg_tz made from it is used. pg_tz_parse keeps its
 * zones forever instead. */
PG_NODISCARD int pg_tzif_parse(const void *data, size_t len, const char *name, pg_tz_zone **out,
                               pg_diag *d);
void pg_tz_zone_free(pg_tz_zone *z); /* NULL is fine */
pg_tz pg_tz_of_zone(const pg_tz_zone *z);

#endif
