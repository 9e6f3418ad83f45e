/* enrol.c — the enrolment table: who may register at an entity (the grid:
 * producers and consumers the operator enrolled; a producer: the sources
 * whose certificate names it, pinned on first registration), with the
 * certificate each member must present, its capacity and payment address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"

const char pg_enrolment_schema[] =
    "CREATE TABLE IF NOT EXISTS enrolment(id TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL, cert BLOB NOT NULL, max_w INTEGER NOT NULL DEFAULT 0,"
    " address TEXT, state TEXT NOT NULL DEFAULT 'active', channels INTEGER NOT NULL DEFAULT 0,"
    " last_binding_ms INTEGER NOT NULL DEFAULT 0, enrolled_ms INTEGER NOT NULL);";

static void row_from_stmt(sqlite3_stmt *st, pg_enrol_row *e) {
  memset(e, 0, sizeof *e);
  snprintf(e->id, sizeof e->id, "%s", (const char *)sqlite3_column_text(st, 0));
  snprintf(e->role, sizeof e->role, "%s", (const char *)sqlite3_column_text(st, 1));
  snprintf(e->fingerprint, sizeof e->fingerprint, "%s", (const char *)sqlite3_column_text(st, 2));
  e->max_w = (uint64_t)sqlite3_column_int64(st, 3);
  const char *a = (const char *)sqlite3_column_text(st, 4);
  snprintf(e->address, sizeof e->address, "%s", a ? a : "");
  snprintf(e->state, sizeof e->state, "%s", (const char *)sqlite3_column_text(st, 5));
  e->channels = sqlite3_column_int64(st, 6);
  e->last_binding_ms = sqlite3_column_int64(st, 7);
  e->enrolled_ms = sqlite3_column_int64(st, 8);
}

#define ROW_COLS "id, role, fingerprint, max_w, address, state, channels, last_binding_ms, enrolled_ms"

int pg_enrolment_get(sqlite3 *db, const char *id, pg_enrol_row *out, bool *found, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  *found = false;
  /* cached: the grid asks once per member message */
  int rc = pg_stmt_get(db, "SELECT " ROW_COLS " FROM enrolment WHERE id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    row_from_stmt(st, out);
    *found = true;
  } else if (s != SQLITE_DONE) {
    rc = pg_db_fail(db, d, "enrolment read");
  }
  pg_stmt_put(st);
  return rc;
}

int pg_enrolment_put(sqlite3 *db, const pg_member *m, const uint8_t *cert, size_t cert_len,
                     const char *address, int64_t now_ms, pg_diag *d) {
  char fp[65];
  pg_member_fingerprint_hex(m, fp);
  sqlite3_stmt *st = NULL;
  /* a new certificate for the same id replaces the old one (rotation);
   * the address is kept unless a new one is given */
  int rc = pg_db_prepare(
      db,
      "INSERT INTO enrolment(id, role, fingerprint, cert, max_w, address, enrolled_ms)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE SET role = excluded.role,"
      " fingerprint = excluded.fingerprint, cert = excluded.cert, max_w = excluded.max_w,"
      " address = COALESCE(excluded.address, address), state = 'active'",
      &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, pg_role_name(m->role), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, fp, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, 4, cert, (int)cert_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)m->max_w);
  if (address && *address)
    sqlite3_bind_text(st, 6, address, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 6);
  sqlite3_bind_int64(st, 7, now_ms);
  return pg_db_step_done(db, st, "enrolment write", d);
}

int pg_enrolment_update(sqlite3 *db, const char *id, const char *sql_set, int64_t v,
                        const char *text, pg_diag *d) {
  char sql[256];
  snprintf(sql, sizeof sql, "UPDATE enrolment SET %s WHERE id = ?1", sql_set);
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, sql, &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, v);
  if (text)
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 3);
  return pg_db_step_done(db, st, "enrolment write", d);
}

int pg_enrolment_json(sqlite3 *db, const char *only_id, json_t **out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db,
                          "SELECT " ROW_COLS " FROM enrolment WHERE ?1 IS NULL OR id = ?1"
                          " ORDER BY id",
                          &st, d);
  if (rc) return rc;
  if (only_id)
    sqlite3_bind_text(st, 1, only_id, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 1);
  json_t *arr = json_array();
  int s;
  while (arr && (s = sqlite3_step(st)) == SQLITE_ROW) {
    pg_enrol_row e;
    row_from_stmt(st, &e);
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s?,s:s,s:I,s:I}", "id", e.id, "role", e.role,
                          "fingerprint", e.fingerprint, "maxW", (json_int_t)e.max_w,
                          "paymentAddress", e.address[0] ? e.address : NULL, "state", e.state,
                          "channels", (json_int_t)e.channels, "enrolledMs",
                          (json_int_t)e.enrolled_ms);
    if (!o || json_array_append_new(arr, o)) {
      json_decref(arr);
      arr = NULL;
    }
  }
  if (!arr) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  else if (s != SQLITE_DONE) rc = pg_db_fail(db, d, "enrolment read");
  sqlite3_finalize(st);
  if (rc) json_decref(arr);
  else *out = arr;
  return rc;
}

/* Reads and checks a member certificate for enrolment: PEM or DER, verified
 * against trust when given, of a role that enrols at the grid. */
static int read_member(pg_tls_trust *trust, const void *cert, size_t len, pg_member *m,
                       uint8_t **der, size_t *der_len, pg_diag *d) {
  int rc;
  *der = NULL;
  if (len > 10 && memcmp(cert, "-----BEGIN", 10) == 0) {
    rc = pg_tls_pem_to_der(cert, len, der, der_len, d);
  } else {
    *der = malloc(len ? len : 1);
    rc = *der ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
    if (!rc) memcpy(*der, cert, len), *der_len = len;
  }
  if (!rc && *der_len > PG_GRID_MAX_CERT)
    rc = pg_fail(d, PG_ERR_INVALID, "certificate: over %d bytes", PG_GRID_MAX_CERT);
  if (!rc && trust) {
    pg_der chain = {*der, *der_len};
    rc = pg_tls_trust_verify(trust, &chain, 1, (int64_t)(pg_clock_now(pg_clock_real()) / 1000),
                             m, d);
  } else if (!rc) {
    rc = pg_member_from_cert(*der, *der_len, m, d);
  }
  if (!rc && m->role != PG_ROLE_PRODUCER && m->role != PG_ROLE_CONSUMER)
    rc = pg_fail(d, PG_ERR_INVALID,
                 "enrolment: '%s' is a %s certificate; the grid enrols producers and consumers",
                 m->id, pg_role_name(m->role) ? pg_role_name(m->role) : "role-less");
  if (rc) {
    free(*der);
    *der = NULL;
  }
  return rc;
}

int pg_enrol_db(sqlite3 *db, pg_tls_trust *trust, const void *cert, size_t len,
                const char *address, int64_t now_ms, pg_member *out, pg_diag *d) {
  uint8_t *der = NULL;
  size_t der_len = 0;
  pg_member m;
  int rc = read_member(trust, cert, len, &m, &der, &der_len, d);
  if (!rc && address && *address) {
    pg_grid_registration probe = {0};
    /* the same address rule as the wire protocol */
    if (strlen(address) >= sizeof probe.payment_address)
      rc = pg_fail(d, PG_ERR_INVALID, "enrolment: payment address too long");
    else if (m.role != PG_ROLE_PRODUCER)
      rc = pg_fail(d, PG_ERR_INVALID, "enrolment: only producers have a payment address");
    else if (!pg_grid_is_address(address))
      rc = pg_fail(d, PG_ERR_INVALID, "enrolment: '%.90s' is not a bech32 Ed25519 address",
                   address);
  }
  if (!rc) rc = pg_enrolment_put(db, &m, der, der_len, address, now_ms, d);
  free(der);
  if (!rc && out) *out = m;
  return rc;
}

int pg_grid_enrol(const char *data_dir, pg_tls_trust *trust, const void *cert, size_t len,
                  const char *address, pg_member *out, pg_diag *d) {
  sqlite3 *db = NULL;
  int rc = pg_db_open(data_dir, "grid.db", pg_enrolment_schema, PG_ENTITY_DB_BUSY_MS, &db, d);
  if (!rc)
    rc = pg_enrol_db(db, trust, cert, len, address,
                     (int64_t)pg_clock_now(pg_clock_real()), out, d);
  if (db) pg_grid_db_close(db);
  return rc;
}
