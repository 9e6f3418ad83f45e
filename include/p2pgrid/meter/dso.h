/* p2pgrid/meter/dso.h — the grid operator's (DSO's) official 15-minute values per
 * metering point: a CSV parser, an SQLite store they are imported into, and
 * the reading side the `dso` meter kind and `p2pgrid dso reconcile` use.
 *
 * CSV (docs/CONFIG.md "Grid-operator data"): one line per metering point and
 * quarter hour, a header naming the columns in any order:
 *   metering_point   1..64 bytes of [A-Za-z0-9._-] (Austrian points are 33)
 *   start            ISO-8601 with offset or Z: 2025-03-30T01:45:00+01:00;
 *                    must lie on the 15-minute grid (of UTC, so of every
 *                    offset that is a multiple of 15 minutes)
 *   consumption_kwh | consumption_wh, generation_kwh | generation_wh,
 *   allocated_kwh | allocated_wh     at least one of the three
 * or the EDA meter codes (kWh) as column names: "1-1:1.9.0 G.01T"
 * (consumption; "1-1:1.9.0 G.01" when no G.01T column), "1-1:2.9.0 G.01T"
 * (generation; "1-1:2.9.0 G.01" when no G.01T), "1-1:2.9.0 G.03" (allocated,
 * the community share that is billed); "1-1:2.9.0 G.02", "G.03R", "P.01",
 * "P.01T" are checked like the others and not stored (ENERGY-SHARING.md §2.4).
 * The separator is ';' when the header holds one, else ','. With ';' a
 * decimal comma is accepted ("0,250"). kWh values have at most 3 decimals and
 * become exact Wh; Wh values are integers. Values are 0..PG_DSO_MAX_WH; an
 * empty field means "not reported" (stored as NULL). Blank lines are skipped;
 * a UTF-8 BOM and CRLF line ends are accepted; no quoting.
 * Errors: each names "<file>:<line>" and the bad value. A period given twice in
 * one file is an error naming both lines.
 *
 * Periods are instants: a day with a DST change has 92 or 100 of them.
 *
 * Ownership: pg_dso_file, pg_dso_import_result and pg_dso_series own their
 * arrays (their *_free); pg_dso_db_open's connection is the caller's
 * (sqlite3_close); a dso meter is freed with pg_meter_free and loads its values
 * when made.
 * Threads: no global state; a connection opened read-only here is NOMUTEX, so
 * each connection, file or series is used by one thread at a time; a dso meter
 * as meter.h says. */
#ifndef P2PGRID_METER_DSO_H
#define P2PGRID_METER_DSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/meter/meter.h"

#define PG_DSO_PERIOD_MS 900000LL
#define PG_DSO_POINT_MAX 64
#define PG_DSO_MAX_FILE (64u << 20)      /* bytes of one CSV file */
#define PG_DSO_MAX_LINE 4096             /* bytes of one line */
#define PG_DSO_MAX_ROWS 2000000u         /* lines of one CSV file */
#define PG_DSO_MAX_WH 1000000000LL       /* 1,000,000 kWh per quarter hour */
#define PG_DSO_NONE (-1)                 /* a value not reported */

typedef enum pg_dso_qty {
  PG_DSO_CONSUMPTION = 0,
  PG_DSO_GENERATION = 1,
  PG_DSO_ALLOCATED = 2,
} pg_dso_qty;
#define PG_DSO_NQTY 3
/* "consumption", "generation", "allocated". */
const char *pg_dso_qty_name(pg_dso_qty q);
/* Parses those names: PG_ERR_INVALID otherwise. */
PG_NODISCARD int pg_dso_qty_parse(const char *s, pg_dso_qty *out);

typedef struct pg_dso_row {
  char point[PG_DSO_POINT_MAX + 1];
  int64_t start_ms;         /* UTC instant, a multiple of PG_DSO_PERIOD_MS */
  int64_t wh[PG_DSO_NQTY];  /* Wh, or PG_DSO_NONE */
  long line;                /* 1-based line in its file */
} pg_dso_row;

/* A parsed file: rows sorted by (point, start_ms), no two equal. */
typedef struct pg_dso_file {
  pg_dso_row *rows; /* owned */
  size_t n;
} pg_dso_file;

/* Parses data[0..len) (name is used in messages). Pure: no I/O. On failure
 * *out is left empty. PG_ERR_INVALID (malformed), PG_ERR_TOO_LARGE (caps),
 * PG_ERR_TRUNCATED (no header or no line), PG_ERR_NOMEM. */
PG_NODISCARD int pg_dso_parse(const void *data, size_t len, const char *name, pg_dso_file *out,
                              pg_diag *d);
/* pg_read_file_capped + pg_dso_parse (name = path). */
PG_NODISCARD int pg_dso_load_csv(const char *path, pg_dso_file *out, pg_diag *d);
void pg_dso_file_free(pg_dso_file *f);

/* ---- the store (SQLite) ----
 * Table dso_values(point, start_ms, consumption_wh, generation_wh,
 * allocated_wh, source_file, line), primary key (point, start_ms). */

/* Opens (creating when create) the database at path; read-only otherwise. */
PG_NODISCARD int pg_dso_db_open(const char *path, bool create, sqlite3 **out, pg_diag *d);

/* Missing periods [from_ms, to_ms) of one point between its first and last. */
typedef struct pg_dso_gap {
  char point[PG_DSO_POINT_MAX + 1];
  int64_t from_ms, to_ms;
} pg_dso_gap;

typedef struct pg_dso_import_result {
  size_t files, rows;  /* rows read */
  size_t added;        /* new periods stored */
  size_t unchanged;    /* periods already stored with the same values */
  pg_dso_gap *gaps;    /* owned; gaps of the points this import touched */
  size_t n_gaps;
} pg_dso_import_result;
void pg_dso_import_result_free(pg_dso_import_result *r);

/* Imports the CSV files in one transaction: any error (a malformed line, a
 * period given twice, a value that differs from the one already stored for
 * that period — the message names both files and lines —, a gap when
 * !allow_gaps) leaves the database as it was. Importing the same file again
 * changes nothing (r->unchanged counts it). Gaps are looked for in the whole
 * stored range of every point the files touch. */
PG_NODISCARD int pg_dso_import(sqlite3 *db, const char *const *paths, size_t n, bool allow_gaps,
                               pg_dso_import_result *r, pg_diag *d);

/* Per point: periods stored, first and last start, sums (Wh; NONE counts 0). */
typedef struct pg_dso_point_info {
  char point[PG_DSO_POINT_MAX + 1];
  int64_t periods, first_ms, last_ms;
  int64_t sum_wh[PG_DSO_NQTY];
  int64_t missing; /* periods missing between first and last */
} pg_dso_point_info;
/* All points (or the one named; PG_ERR_NOT_FOUND if it has no period). */
PG_NODISCARD int pg_dso_points(sqlite3 *db, const char *point, pg_dso_point_info **out,
                               size_t *n, pg_diag *d);
/* Gaps of all points (or one). */
PG_NODISCARD int pg_dso_gaps(sqlite3 *db, const char *point, pg_dso_gap **out, size_t *n,
                             pg_diag *d);

/* One point's values of one quantity, sorted by start (NONE where the file
 * left the field empty). */
typedef struct pg_dso_series {
  int64_t *start_ms, *wh; /* owned, n each */
  size_t n;
} pg_dso_series;
PG_NODISCARD int pg_dso_series_load(sqlite3 *db, const char *point, pg_dso_qty q,
                                    pg_dso_series *out, pg_diag *d);
/* The same from a parsed file. */
PG_NODISCARD int pg_dso_series_from_file(const pg_dso_file *f, const char *point, pg_dso_qty q,
                                         pg_dso_series *out, pg_diag *d);
void pg_dso_series_free(pg_dso_series *s);
/* Energy over [from_ms, to_ms) (both on the 15-minute grid): PG_OK with the
 * sum; PG_ERR_NOT_FOUND when a period in it is missing or not reported (the
 * first such start in *missing_ms when not NULL); PG_ERR_INVALID off grid. */
PG_NODISCARD int pg_dso_series_sum(const pg_dso_series *s, int64_t from_ms, int64_t to_ms,
                                   int64_t *wh, int64_t *missing_ms);

/* ---- reconciling with our own meters' readings ----
 * A member of the community is mapped to one metering point and quantity.
 * A map file is CSV (',' or ';') with the header member,metering_point and
 * optionally quantity (default consumption); member ids as in the scenario or
 * the grid's registry (1..64 of [A-Za-z0-9._-]); a member at most once. */
typedef struct pg_dso_member {
  char id[PG_DSO_POINT_MAX + 1];
  char point[PG_DSO_POINT_MAX + 1];
  pg_dso_qty q;
} pg_dso_member;
PG_NODISCARD int pg_dso_map_parse(const void *data, size_t len, const char *name,
                                  pg_dso_member **out, size_t *n, pg_diag *d);
/* "MEMBER=POINT" or "MEMBER=POINT:QUANTITY" (one entry given on a command line). */
PG_NODISCARD int pg_dso_map_entry(const char *spec, pg_dso_member *out, pg_diag *d);

/* One of our readings: a member's energy in an absolute slot (start / slot_ms). */
typedef struct pg_dso_ours {
  char member[PG_DSO_POINT_MAX + 1];
  int64_t slot, wh;
} pg_dso_ours;

/* Our readings (*out, free(); *n of them) and the slot length: from a grid
 * daemon's database (readings: entity, slot, Wh; kv slot_ms), or from a
 * simulator output directory (summary.json slotMs, party_slots.csv). Errors
 * name the file (and line). */
PG_NODISCARD int pg_dso_ours_from_grid(const char *path, pg_dso_ours **out, size_t *n,
                                       uint64_t *slot_ms, pg_diag *d);
PG_NODISCARD int pg_dso_ours_from_sim(const char *dir, pg_dso_ours **out, size_t *n,
                                      uint64_t *slot_ms, pg_diag *d);

typedef struct pg_dso_reconcile_result {
  size_t members;        /* mapped members */
  size_t slots;          /* (member, slot) pairs with both values */
  size_t differing;      /* pairs beyond the tolerance, or with one value missing */
  size_t missing;        /* of those: one side missing */
  int64_t largest_wh;    /* largest |ours - grid operator| of a pair with both */
  char largest_member[PG_DSO_POINT_MAX + 1];
  int64_t largest_slot;
} pg_dso_reconcile_result;

/* Compares, for every mapped member and every slot from the first to the last
 * slot of ours (any member), the grid operator's energy (the sum of the slot's
 * quarter hours; missing if one is) with ours. Pairs where both are missing
 * are skipped. Appends a CSV report of every pair that differs at all
 * (header member,metering_point,quantity,slot,start,dso_wh,our_wh,diff_wh,
 * beyond_tolerance; a missing value is an empty field; diff = ours - dso) to
 * csv. slot_ms must be a multiple of 15 minutes. ours need not be sorted (it
 * is sorted in place). Members of ours that are not mapped are ignored. */
PG_NODISCARD int pg_dso_reconcile(sqlite3 *db, const pg_dso_member *map, size_t nmap,
                                  uint64_t slot_ms, pg_dso_ours *ours, size_t n,
                                  int64_t tolerance_wh, pg_buf *csv,
                                  pg_dso_reconcile_result *r, pg_diag *d);

/* ---- the meter kind "dso" ----
 * One metering point's consumption, generation or allocated share from a
 * database made by pg_dso_import or from a CSV file (told apart by the
 * SQLite header). energy(from, to) is the sum of the quarter hours in the
 * window, which must lie on the 15-minute grid (PG_ERR_INVALID otherwise). A
 * quarter hour that is missing or not reported is a missing reading:
 * PG_ERR_UNAVAILABLE with the period named; a database meter then reads its
 * point again (at most once a minute), since the grid operator sends the
 * values of a day on the next one. The point must have at least one period
 * (PG_ERR_NOT_FOUND). The values are loaded when the meter is made. */
PG_NODISCARD int pg_meter_dso_new(const char *file, const char *point, pg_dso_qty q,
                                  pg_meter **out, pg_diag *d);
/* From a config section: file (required), point (required), quantity
 * (required: consumption | generation | allocated). PG_ERR_CONFIG with
 * "[section] key: ..." for a bad value or an unusable file. */
PG_NODISCARD int pg_meter_dso_from_config(pg_config *cfg, const char *section, pg_meter **out,
                                          pg_diag *d);

#endif
