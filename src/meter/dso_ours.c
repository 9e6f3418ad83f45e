/* dso_ours.c — our own readings for pg_dso_reconcile (p2pgrid/meter/dso.h): a
 * grid daemon's database or a simulator output directory. Outside files:
 * sizes capped, every line checked, errors name file and line. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/meter/dso.h"
#include "p2pgrid/base/file.h"

#define OURS_MAX_FILE (512u << 20) /* party_slots.csv of a large run */

static int push_ours(pg_dso_ours **o, size_t *n, size_t *cap, const char *member, size_t mlen,
                     int64_t slot, int64_t wh) {
  if (mlen > PG_DSO_POINT_MAX) return PG_OK; /* cannot be mapped */
  if (pg_grow(o, cap, *n + 1, sizeof **o, 0) != PG_OK) return PG_ERR_NOMEM;
  pg_dso_ours *r = &(*o)[(*n)++];
  memset(r->member, 0, sizeof r->member);
  memcpy(r->member, member, mlen);
  r->slot = slot;
  r->wh = wh;
  return PG_OK;
}

/* The grid daemon's readings (entity, slot, wh) and its slot length. */
int pg_dso_ours_from_grid(const char *path, pg_dso_ours **o, size_t *n, uint64_t *slot_ms,
                          pg_diag *d) {
  *o = NULL, *n = 0;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  size_t cap = 0;
  int rc = PG_OK, s;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    rc = pg_db_fail(db, d, "cannot open %.200s", path);
    goto out;
  }
  sqlite3_busy_timeout(db, 5000);
  int64_t v = 0;
  rc = pg_db_i64(db, "SELECT value FROM kv WHERE key = 'slot_ms'", 0, 0, &v, d);
  if (!rc && v <= 0) rc = pg_fail(d, PG_ERR_NOT_FOUND, "%.200s: no slot length (not a grid database?)", path);
  if (rc) goto out;
  *slot_ms = (uint64_t)v;
  if ((rc = pg_db_prepare(db, "SELECT entity_id, slot, wh FROM readings", &st, d))) goto out;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    if (id && push_ours(o, n, &cap, id, strlen(id), sqlite3_column_int64(st, 1),
                        sqlite3_column_int64(st, 2))) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "%.200s: readings", path);
out:
  sqlite3_finalize(st);
  if (db) sqlite3_close(db);
  return rc;
}

static int sim_slot_ms(const char *dir, uint64_t *slot_ms, pg_diag *d) {
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = pg_read_file_capped(path, 1 << 20, &buf, &len, d);
  if (rc) return rc;
  json_error_t je;
  json_t *j = json_loadb((const char *)buf, len, 0, &je);
  free(buf);
  json_t *v = j ? json_object_get(j, "slotMs") : NULL;
  if (!json_is_integer(v) || json_integer_value(v) <= 0)
    rc = pg_fail(d, PG_ERR_INVALID, "%.200s: no slotMs", path);
  else *slot_ms = (uint64_t)json_integer_value(v);
  json_decref(j);
  return rc;
}

/* party_slots.csv: slot,start,id,role,energy_wh,community_wh,amount,fee,total */
#define PARTY_SLOT_FIELDS 9
int pg_dso_ours_from_sim(const char *dir, pg_dso_ours **o, size_t *n, uint64_t *slot_ms,
                         pg_diag *d) {
  *o = NULL, *n = 0;
  int rc = sim_slot_ms(dir, slot_ms, d);
  if (rc) return rc;
  char path[4200];
  snprintf(path, sizeof path, "%s/party_slots.csv", dir);
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, ln;
  if ((rc = pg_read_file_capped(path, OURS_MAX_FILE, &buf, &len, d))) return rc;
  pg_csv c;
  pg_csv_init(&c, buf, len, path, 1024);
  pg_csv_field f[PARTY_SLOT_FIELDS + 1];
  rc = pg_csv_record(&c, f, PARTY_SLOT_FIELDS, &ln, d);
  if (!rc && (ln != PARTY_SLOT_FIELDS || !pg_csv_eq(f[0], "slot") ||
              !pg_csv_eq(f[2], "id") || !pg_csv_eq(f[4], "energy_wh")))
    rc = pg_fail(d, PG_ERR_INVALID, "%.200s:1: not a party_slots.csv header", path);
  while (!rc && (rc = pg_csv_record(&c, f, PARTY_SLOT_FIELDS, &ln, d)) == PG_OK) {
    int64_t slot, wh;
    if (ln != PARTY_SLOT_FIELDS ||
        pg_csv_decimal_fixed(f[0], '.', 0, INT64_MAX, &slot) != PG_CSV_DEC_OK ||
        pg_csv_decimal_fixed(f[4], '.', 0, INT64_MAX, &wh) != PG_CSV_DEC_OK) {
      rc = pg_fail(d, PG_ERR_INVALID, "%.200s:%ld: not slot,start,id,role,energy_wh,...", path, c.line);
      break;
    }
    if (push_ours(o, n, &cap, f[2].p, f[2].len, slot, wh)) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if (rc == PG_ERR_NOT_FOUND) rc = PG_OK;
  pg_csv_free(&c);
  free(buf);
  return rc;
}

