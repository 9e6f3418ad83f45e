/* stmt_cache.c — prepared statements kept per connection (grid_internal.h). */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"

#define NBUCKET 65536 /* a simulation: ~1,200 connections x ~20 statements */

typedef struct stmt_node {
  struct stmt_node *next, *next_st, *next_db; /* chains by (db, sql), by st, by db */
  sqlite3 *db;
  const char *sql;
  sqlite3_stmt *st;
  bool out; /* handed out, not put back yet */
} stmt_node;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static stmt_node *g_bucket[NBUCKET], *g_by_st[NBUCKET], *g_by_db[NBUCKET];

typedef struct flag_node { /* a connection's flags (pg_grid_db_flags) */
  struct flag_node *next;
  sqlite3 *db;
  unsigned flags;
} flag_node;
static flag_node *g_flags[NBUCKET];

static size_t bucket_of(const sqlite3 *db, const char *sql) {
  uint64_t h = ((uint64_t)(uintptr_t)db * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)(uintptr_t)sql;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  return (size_t)(h >> 40) % NBUCKET;
}

static size_t bucket_of_st(const sqlite3_stmt *st) { return bucket_of(NULL, (const char *)st); }
static size_t bucket_of_db(const sqlite3 *db) { return bucket_of(db, NULL); }

/* Unlinks n from the chain starting at *pp that links through field off. */
static void unlink_from(stmt_node **pp, stmt_node *n, size_t off) {
  while (*pp != n) pp = (stmt_node **)((char *)*pp + off);
  *pp = *(stmt_node **)((char *)n + off);
}

static stmt_node *find(sqlite3 *db, const char *sql) {
  for (stmt_node *n = g_bucket[bucket_of(db, sql)]; n; n = n->next)
    if (n->db == db && n->sql == sql) return n;
  return NULL;
}

int pg_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **st, pg_diag *d) {
  *st = NULL;
  pthread_mutex_lock(&g_mu);
  stmt_node *n = find(db, sql);
  if (n && !n->out) {
    n->out = true;
    *st = n->st;
    pthread_mutex_unlock(&g_mu);
    return PG_OK;
  }
  pthread_mutex_unlock(&g_mu);
  int rc = pg_db_prepare(db, sql, st, d);
  if (rc || n) return rc; /* n: the cached one is out; this one is finalized on put */
  stmt_node *m = malloc(sizeof *m);
  if (!m) return PG_OK; /* uncached: finalized on put */
  *m = (stmt_node){.db = db, .sql = sql, .st = *st, .out = true};
  pthread_mutex_lock(&g_mu);
  size_t b = bucket_of(db, sql), bs = bucket_of_st(*st);
  m->next = g_bucket[b];
  g_bucket[b] = m;
  m->next_st = g_by_st[bs];
  g_by_st[bs] = m;
  size_t bd = bucket_of_db(db);
  m->next_db = g_by_db[bd];
  g_by_db[bd] = m;
  pthread_mutex_unlock(&g_mu);
  return PG_OK;
}

void pg_stmt_put(sqlite3_stmt *st) {
  if (!st) return;
  pthread_mutex_lock(&g_mu);
  stmt_node *n = g_by_st[bucket_of_st(st)];
  while (n && n->st != st) n = n->next_st;
  bool cached = n != NULL;
  if (cached) n->out = false;
  pthread_mutex_unlock(&g_mu);
  if (cached) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  } else {
    sqlite3_finalize(st);
  }
}

unsigned pg_grid_db_flags(sqlite3 *db) {
  unsigned f = 0;
  pthread_mutex_lock(&g_mu);
  for (flag_node *n = g_flags[bucket_of_db(db)]; n; n = n->next)
    if (n->db == db) f = n->flags;
  pthread_mutex_unlock(&g_mu);
  return f;
}

/* Sets db's flags; caller holds g_mu. false: no memory (nothing set). */
static bool set_flags(sqlite3 *db, unsigned flags) {
  flag_node **pp = &g_flags[bucket_of_db(db)];
  for (flag_node *n = *pp; n; n = n->next)
    if (n->db == db) return n->flags = flags, true;
  flag_node *n = malloc(sizeof *n);
  if (!n) return false;
  *n = (flag_node){.next = *pp, .db = db, .flags = flags};
  *pp = n;
  return true;
}

bool pg_grid_db_set_flags(sqlite3 *db, unsigned flags) {
  pthread_mutex_lock(&g_mu);
  bool ok = set_flags(db, flags);
  pthread_mutex_unlock(&g_mu);
  return ok;
}

void pg_grid_db_add_flags_file(sqlite3 *db, unsigned flags) {
  const char *file = sqlite3_db_filename(db, "main");
  pthread_mutex_lock(&g_mu);
  unsigned mine = 0;
  for (flag_node *n = g_flags[bucket_of_db(db)]; n; n = n->next)
    if (n->db == db) mine = n->flags;
  (void)set_flags(db, mine | flags); /* without memory db's stay unset */
  for (size_t b = 0; file && file[0] && b < NBUCKET; b++)
    for (flag_node *n = g_flags[b]; n; n = n->next) {
      const char *f = n->db != db ? sqlite3_db_filename(n->db, "main") : NULL;
      if (f && strcmp(f, file) == 0) n->flags |= flags;
    }
  pthread_mutex_unlock(&g_mu);
}

void pg_grid_db_close(sqlite3 *db) {
  if (!db) return;
  pthread_mutex_lock(&g_mu);
  for (flag_node **fp = &g_flags[bucket_of_db(db)]; *fp; fp = &(*fp)->next) {
    if ((*fp)->db != db) continue;
    flag_node *n = *fp;
    *fp = n->next;
    free(n);
    break;
  }
  stmt_node **pp = &g_by_db[bucket_of_db(db)];
  while (*pp) {
    stmt_node *n = *pp;
    if (n->db != db) {
      pp = &n->next_db;
      continue;
    }
    *pp = n->next_db;
    unlink_from(&g_bucket[bucket_of(db, n->sql)], n, offsetof(stmt_node, next));
    unlink_from(&g_by_st[bucket_of_st(n->st)], n, offsetof(stmt_node, next_st));
    sqlite3_finalize(n->st);
    free(n);
  }
  pthread_mutex_unlock(&g_mu);
  sqlite3_close(db);
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE", SQL_COMMIT[] = "COMMIT";

static int run_one(sqlite3 *db, const char *sql, const char *what, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, sql, &st, d);
  if (rc) return rc;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = pg_db_fail(db, d, "database: %s", what);
  pg_stmt_put(st);
  return rc;
}

int pg_stmt_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, pg_diag *d) {
  int rc = sqlite3_step(st) == SQLITE_DONE
               ? PG_OK
               : pg_db_fail(db, d, "%s", what);
  pg_stmt_put(st);
  return rc;
}

int pg_grid_begin(sqlite3 *db, pg_diag *d) { return run_one(db, SQL_BEGIN, "begin", d); }

int pg_grid_commit(sqlite3 *db, pg_diag *d) {
  int rc = run_one(db, SQL_COMMIT, "commit", d);
  if (rc) pg_db_rollback(db);
  return rc;
}
