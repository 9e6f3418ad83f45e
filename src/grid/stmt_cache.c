/* stmt_cache.c — prepared statements kept per connection (grid_internal.h). */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"

/* The cache is split by connection into NSTRIPE stripes, each with its own
 * lock and tables: threads stepping different members (the simulator's
 * household parts, a daemon's HTTP threads beside its step) no longer queue
 * for one lock (a single global one was a visible share of a two-thread
 * simulation). Every entry of a connection lives in its stripe. */
#define NSTRIPE 64
#define SBUCKET 1024 /* a simulation: ~1,200 connections x ~20 statements */

typedef struct stmt_node {
  struct stmt_node *next, *next_st, *next_db; /* chains by (db, sql), by st, by db */
  sqlite3 *db;
  const char *sql;
  sqlite3_stmt *st;
  bool out; /* handed out, not put back yet */
} stmt_node;

typedef struct flag_node { /* a connection's flags (pg_grid_db_flags) */
  struct flag_node *next;
  sqlite3 *db;
  unsigned flags;
} flag_node;

typedef struct stripe {
  pthread_mutex_t mu;
  stmt_node *bucket[SBUCKET], *by_st[SBUCKET], *by_db[SBUCKET];
  flag_node *flags[SBUCKET];
} stripe;

static stripe g_stripes[NSTRIPE];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_stripes(void) {
  for (size_t i = 0; i < NSTRIPE; i++) pthread_mutex_init(&g_stripes[i].mu, NULL);
}

static uint64_t mix(const void *a, const void *b) {
  uint64_t h = ((uint64_t)(uintptr_t)a * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)(uintptr_t)b;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  return h >> 32;
}

/* db's stripe, locked. */
static stripe *lock_stripe(const sqlite3 *db) {
  pthread_once(&g_once, init_stripes);
  stripe *s = &g_stripes[mix(db, NULL) % NSTRIPE];
  pthread_mutex_lock(&s->mu);
  return s;
}

static size_t bucket_of(const sqlite3 *db, const char *sql) { return mix(db, sql) % SBUCKET; }
static size_t bucket_of_st(const sqlite3_stmt *st) { return mix(NULL, st) % SBUCKET; }
static size_t bucket_of_db(const sqlite3 *db) { return mix(db, NULL) / NSTRIPE % SBUCKET; }

/* Unlinks n from the chain starting at *pp that links through field off. */
static void unlink_from(stmt_node **pp, stmt_node *n, size_t off) {
  while (*pp != n) pp = (stmt_node **)((char *)*pp + off);
  *pp = *(stmt_node **)((char *)n + off);
}

static stmt_node *find(stripe *s, sqlite3 *db, const char *sql) {
  for (stmt_node *n = s->bucket[bucket_of(db, sql)]; n; n = n->next)
    if (n->db == db && n->sql == sql) return n;
  return NULL;
}

int pg_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **st, pg_diag *d) {
  *st = NULL;
  stripe *s = lock_stripe(db);
  stmt_node *n = find(s, db, sql);
  if (n && !n->out) {
    n->out = true;
    *st = n->st;
    pthread_mutex_unlock(&s->mu);
    return PG_OK;
  }
  pthread_mutex_unlock(&s->mu);
  int rc = pg_db_prepare(db, sql, st, d);
  if (rc || n) return rc; /* n: the cached one is out; this one is finalized on put */
  stmt_node *m = malloc(sizeof *m);
  if (!m) return PG_OK; /* uncached: finalized on put */
  *m = (stmt_node){.db = db, .sql = sql, .st = *st, .out = true};
  s = lock_stripe(db);
  size_t b = bucket_of(db, sql), bs = bucket_of_st(*st), bd = bucket_of_db(db);
  m->next = s->bucket[b];
  s->bucket[b] = m;
  m->next_st = s->by_st[bs];
  s->by_st[bs] = m;
  m->next_db = s->by_db[bd];
  s->by_db[bd] = m;
  pthread_mutex_unlock(&s->mu);
  return PG_OK;
}

void pg_stmt_put(sqlite3_stmt *st) {
  if (!st) return;
  stripe *s = lock_stripe(sqlite3_db_handle(st));
  stmt_node *n = s->by_st[bucket_of_st(st)];
  while (n && n->st != st) n = n->next_st;
  bool cached = n != NULL;
  if (cached) n->out = false;
  pthread_mutex_unlock(&s->mu);
  if (cached) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  } else {
    sqlite3_finalize(st);
  }
}

/* db's flags; caller holds its stripe's lock. */
static unsigned flags_locked(stripe *s, sqlite3 *db) {
  for (flag_node *n = s->flags[bucket_of_db(db)]; n; n = n->next)
    if (n->db == db) return n->flags;
  return 0;
}

unsigned pg_grid_db_flags(sqlite3 *db) {
  stripe *s = lock_stripe(db);
  unsigned f = flags_locked(s, db);
  pthread_mutex_unlock(&s->mu);
  return f;
}

/* Sets db's flags; caller holds its stripe's lock. false: no memory
 * (nothing set). */
static bool set_flags(stripe *s, sqlite3 *db, unsigned flags) {
  flag_node **pp = &s->flags[bucket_of_db(db)];
  for (flag_node *n = *pp; n; n = n->next)
    if (n->db == db) return n->flags = flags, true;
  flag_node *n = malloc(sizeof *n);
  if (!n) return false;
  *n = (flag_node){.next = *pp, .db = db, .flags = flags};
  *pp = n;
  return true;
}

bool pg_grid_db_set_flags(sqlite3 *db, unsigned flags) {
  stripe *s = lock_stripe(db);
  bool ok = set_flags(s, db, flags);
  pthread_mutex_unlock(&s->mu);
  return ok;
}

void pg_grid_db_add_flags_file(sqlite3 *db, unsigned flags) {
  const char *file = sqlite3_db_filename(db, "main");
  stripe *s = lock_stripe(db);
  (void)set_flags(s, db, flags_locked(s, db) | flags); /* without memory: unset */
  pthread_mutex_unlock(&s->mu);
  if (!file || !file[0]) return;
  for (size_t i = 0; i < NSTRIPE; i++) { /* the other connections to the file, stripe by stripe */
    stripe *o = &g_stripes[i];
    pthread_mutex_lock(&o->mu);
    for (size_t b = 0; b < SBUCKET; b++)
      for (flag_node *n = o->flags[b]; n; n = n->next) {
        const char *f = n->db != db ? sqlite3_db_filename(n->db, "main") : NULL;
        if (f && strcmp(f, file) == 0) n->flags |= flags;
      }
    pthread_mutex_unlock(&o->mu);
  }
}

void pg_grid_db_close(sqlite3 *db) {
  if (!db) return;
  stripe *s = lock_stripe(db);
  for (flag_node **fp = &s->flags[bucket_of_db(db)]; *fp; fp = &(*fp)->next) {
    if ((*fp)->db != db) continue;
    flag_node *n = *fp;
    *fp = n->next;
    free(n);
    break;
  }
  stmt_node **pp = &s->by_db[bucket_of_db(db)];
  while (*pp) {
    stmt_node *n = *pp;
    if (n->db != db) {
      pp = &n->next_db;
      continue;
    }
    *pp = n->next_db;
    unlink_from(&s->bucket[bucket_of(db, n->sql)], n, offsetof(stmt_node, next));
    unlink_from(&s->by_st[bucket_of_st(n->st)], n, offsetof(stmt_node, next_st));
    sqlite3_finalize(n->st);
    free(n);
  }
  pthread_mutex_unlock(&s->mu);
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

int pg_stmt_i64(sqlite3 *db, const char *sql, int64_t arg, int64_t def, int64_t *out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, sql, &st, d);
  if (rc) return rc;
  rc = pg_db_stmt_i64(db, st, arg, def, out, d);
  pg_stmt_put(st);
  return rc;
}

int pg_stmt_has_text(sqlite3 *db, const char *sql, const char *text, bool *has,
                     const char *what, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, sql, &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  *has = s == SQLITE_ROW;
  if (s != SQLITE_ROW && s != SQLITE_DONE) rc = pg_db_fail(db, d, "%s", what);
  pg_stmt_put(st);
  return rc;
}

int pg_grid_begin(sqlite3 *db, pg_diag *d) { return run_one(db, SQL_BEGIN, "begin", d); }

int pg_grid_commit(sqlite3 *db, pg_diag *d) {
  int rc = run_one(db, SQL_COMMIT, "commit", d);
  if (rc) pg_db_rollback(db);
  return rc;
}
