/* db.c — SQLite helpers that return a status (p2pgrid/base/db.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/base/db.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/walbuf.h"

#include <pthread.h>

static pthread_once_t g_setup_once = PTHREAD_ONCE_INIT;
static bool g_stats_wanted; /* pg_db_memory_cap before the setup */
static bool g_stats = true; /* SQLite's memory statistics after the setup */

static void setup_once(void) {
  /* SQLITE_MISUSE when SQLite already started: its default (on) stays */
  if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, g_stats_wanted ? 1 : 0) == SQLITE_OK)
    g_stats = g_stats_wanted;
}

void pg_db_setup(void) { pthread_once(&g_setup_once, setup_once); }

#ifdef PG_FAULT_INJECTION

static pthread_mutex_t g_fault_mu = PTHREAD_MUTEX_INITIALIZER;
static bool g_fault_read;
static char g_fault_sql[256];
static long g_fault_left; /* < 0: every time */

/* true when this prepare of sql is to fail (P2PGRID_DB_FAULT). */
static bool fault_now(const char *sql) {
  bool hit = false;
  pthread_mutex_lock(&g_fault_mu);
  if (!g_fault_read) {
    g_fault_read = true;
    const char *e = getenv("P2PGRID_DB_FAULT");
    if (e && *e) {
      snprintf(g_fault_sql, sizeof g_fault_sql, "%s", e);
      char *colon = strrchr(g_fault_sql, ':');
      g_fault_left = 1;
      if (colon) {
        *colon = '\0';
        g_fault_left = strtol(colon + 1, NULL, 10);
        if (g_fault_left == 0) g_fault_left = -1;
      }
    }
  }
  if (g_fault_sql[0] && g_fault_left != 0 && strstr(sql, g_fault_sql)) {
    hit = true;
    if (g_fault_left > 0) g_fault_left--;
  }
  pthread_mutex_unlock(&g_fault_mu);
  return hit;
}
#endif

int pg_db_fail(sqlite3 *db, pg_diag *d, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return pg_fail(d, PG_ERR_DB, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

/* pg_db_open_with: pre is run before WAL mode is set (which creates a new
 * database: its page size goes first). */
static int db_open(const char *dir, const char *file, const char *schema, unsigned busy_ms,
                   const char *vfs, const char *pre, sqlite3 **out, pg_diag *d) {
  *out = NULL;
  pg_db_setup();
  int rc = pg_mkdir_p(dir, 0700, d);
  if (rc) return rc;
  char path[1100];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
    return pg_fail(d, PG_ERR_CONFIG, "database path too long");
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      vfs) != SQLITE_OK) {
    rc = pg_fail(d, PG_ERR_DB, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc;
  }
  sqlite3_busy_timeout(db, (int)busy_ms);
  if (pre) rc = pg_db_exec(db, pre, d);
  if (!rc)
    rc = pg_db_exec(db,
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                    " PRAGMA temp_store=MEMORY;",
                    d);
  /* the schema's statements in one transaction: one commit (and one fsync)
   * instead of one per statement, and all of it or none of it */
  if (!rc && schema && !(rc = pg_db_begin(db, d))) {
    rc = pg_db_exec(db, schema, d);
    if (rc)
      pg_db_rollback(db);
    else
      rc = pg_db_commit(db, d);
  }
  if (rc) {
    sqlite3_close(db);
    return rc;
  }
  *out = db;
  return PG_OK;
}

int pg_db_open_with(const char *dir, const char *file, const char *schema,
                    const pg_db_open_opts *o, sqlite3 **out, pg_diag *d) {
  *out = NULL;
  unsigned ps = o->page_size;
  if (ps && (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0))
    return pg_fail(d, PG_ERR_CONFIG, "%s: page size %u is not a power of two from 512 to 65536",
                   file, ps);
  char pre[96] = "";
  int n = ps ? snprintf(pre, sizeof pre, "PRAGMA page_size=%u;", ps) : 0;
  if (o->sole) snprintf(pre + n, sizeof pre - (size_t)n, "PRAGMA locking_mode=EXCLUSIVE;");
  const char *vfs = NULL;
  if (o->process && !(vfs = pg_walbuf_vfs_process()))
    return pg_fail(d, PG_ERR_DB, "%s: SQLite's unix-excl VFS is not available", file);
  if (!vfs && o->sole) vfs = pg_walbuf_vfs();
  /* sole: no busy wait, another holder of the file is an error at once */
  return db_open(dir, file, schema, o->sole ? 0 : o->busy_ms, vfs, pre[0] ? pre : NULL, out, d);
}

int pg_db_open(const char *dir, const char *file, const char *schema, unsigned busy_ms,
               sqlite3 **out, pg_diag *d) {
  pg_db_open_opts o = {.busy_ms = busy_ms};
  return pg_db_open_with(dir, file, schema, &o, out, d);
}

int pg_db_open_sole(const char *dir, const char *file, const char *schema, sqlite3 **out,
                    pg_diag *d) {
  pg_db_open_opts o = {.sole = true};
  return pg_db_open_with(dir, file, schema, &o, out, d);
}

int pg_db_exec(sqlite3 *db, const char *sql, pg_diag *d) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    int rc = pg_fail(d, PG_ERR_DB, "database: %s", err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    return rc;
  }
  return PG_OK;
}

int pg_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, pg_diag *d) {
  *st = NULL;
#ifdef PG_FAULT_INJECTION
  if (fault_now(sql))
    return pg_fail(d, PG_ERR_DB, "database prepare: injected fault (P2PGRID_DB_FAULT) in '%.60s'",
                   sql);
#endif
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) return pg_db_fail(db, d, "database prepare");
  return PG_OK;
}

int pg_db_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, pg_diag *d) {
  int rc = sqlite3_step(st) == SQLITE_DONE ? PG_OK : pg_db_fail(db, d, "%s", what);
  sqlite3_finalize(st);
  return rc;
}

int pg_db_begin(sqlite3 *db, pg_diag *d) { return pg_db_exec(db, "BEGIN IMMEDIATE", d); }

int pg_db_commit(sqlite3 *db, pg_diag *d) {
  int rc = pg_db_exec(db, "COMMIT", d);
  if (rc) pg_db_rollback(db);
  return rc;
}

void pg_db_rollback(sqlite3 *db) {
  if (!sqlite3_get_autocommit(db)) (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int pg_db_savepoint(sqlite3 *db, const char *name, pg_diag *d) {
  char sql[96];
  snprintf(sql, sizeof sql, "SAVEPOINT %s", name);
  return pg_db_exec(db, sql, d);
}

int pg_db_savepoint_end(sqlite3 *db, const char *name, int rc, pg_diag *d) {
  char sql[96];
  if (rc) {
    snprintf(sql, sizeof sql, "ROLLBACK TO %s", name);
    (void)sqlite3_exec(db, sql, NULL, NULL, NULL);
  }
  snprintf(sql, sizeof sql, "RELEASE %s", name);
  pg_diag rd = {{0}};
  int r2 = pg_db_exec(db, sql, &rd);
  if (!rc && r2) rc = pg_fail(d, r2, "%s", rd.msg);
  return rc;
}

int pg_db_stmt_i64(sqlite3 *db, sqlite3_stmt *st, int64_t arg, int64_t def, int64_t *out,
                   pg_diag *d) {
  if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, arg);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? def : sqlite3_column_int64(st, 0);
  else if (s == SQLITE_DONE)
    *out = def;
  else
    return pg_db_fail(db, d, "database read");
  return PG_OK;
}

int pg_db_i64(sqlite3 *db, const char *sql, int64_t arg, int64_t def, int64_t *out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, sql, &st, d);
  if (rc) return rc;
  rc = pg_db_stmt_i64(db, st, arg, def, out, d);
  sqlite3_finalize(st);
  return rc;
}

int pg_db_memory_cap(int64_t bytes, pg_diag *d) {
  if (bytes > 0) g_stats_wanted = true; /* read by the setup, which runs once, after this */
  pg_db_setup();
  if (bytes > 0 && !g_stats)
    return pg_fail(d, PG_ERR_STATE,
                   "SQLite memory cap not set: it needs SQLite's memory statistics, turned off "
                   "when the first database was opened (cap before opening any)");
  (void)sqlite3_soft_heap_limit64(bytes > 0 ? bytes : 0);
  return PG_OK;
}
