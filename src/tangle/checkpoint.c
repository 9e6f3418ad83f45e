/* checkpoint.c — WAL checkpoints off the request path. See store.h
 * ("Checkpoints").
 *
 * The writing connection's WAL hook (run after every COMMIT, in the
 * committing thread) only looks at the WAL's size: at ckpt_pages frames it
 * wakes the checkpoint thread, which runs PASSIVE checkpoints on its own
 * connection (never blocking the writer, never waiting for readers) until
 * it has caught up. A writer that never pauses keeps it one commit behind,
 * and SQLite restarts the WAL only for a transaction that began with every
 * frame copied; so once the thread has caught up, the next COMMIT's hook
 * copies the few frames since then itself (a small PASSIVE checkpoint) and
 * the next transaction restarts the WAL from its start. (Before, the hook
 * woke the thread after nearly every commit over the threshold until the
 * hard limit: 1,406 thread checkpoints for 2,000 commits, test
 * test_checkpoint_once_per_cycle.) If the WAL still reaches 4 x ckpt_pages
 * (a reader pins an old snapshot, the thread is starved), the hook
 * checkpoints inline as SQLite's automatic checkpoint did, so the WAL stays
 * bounded. Durability is unchanged: a
 * checkpoint only copies committed frames, syncing the WAL before and the
 * database after (synchronous=NORMAL or FULL), as SQLite's own does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/walbuf.h"
#include "store.h"

#define CKPT_LOG "tangle"
#define CKPT_HARD_FACTOR 4
/* A round that could not copy every frame (a reader holds an older
 * snapshot) waits this long before the next one. */
#define CKPT_RETRY_MS 100
#define CKPT_MAX_ROUNDS 8

static int on_wal(void *arg, sqlite3 *db, const char *name, int frames) {
  pg_tg_store *s = arg;
  if (frames < 0) return SQLITE_OK;
  if ((unsigned)frames < s->ckpt_pages) { /* a new cycle: nothing caught up in it yet */
    if (atomic_load_explicit(&s->ckpt_caught_up, memory_order_relaxed))
      atomic_store(&s->ckpt_caught_up, false);
    return SQLITE_OK;
  }
  if ((unsigned)frames >= CKPT_HARD_FACTOR * s->ckpt_pages) {
    atomic_fetch_add(&s->ckpt_inline, 1);
    (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
  }
  if (atomic_exchange(&s->ckpt_caught_up, false)) { /* end the cycle: the last few frames */
    (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
  }
  if (!atomic_exchange(&s->ckpt_due, true)) {
    pthread_mutex_lock(&s->ckpt_mu);
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
  }
  return SQLITE_OK;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* PASSIVE rounds until every frame is in the database (or a reader stops
 * it: then a pause); tells the writer's hook when it caught up. */
static void checkpoint_rounds(pg_tg_store *s) {
  for (int round = 0; round < CKPT_MAX_ROUNDS; round++) {
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK) {
      pg_log_warn(CKPT_LOG, "checkpoint of %s: %s", s->path, sqlite3_errmsg(s->ckpt_db));
      sleep_ms(CKPT_RETRY_MS);
      return;
    }
    atomic_fetch_add(&s->ckpt_thread_runs, 1);
    if (done >= log) {
      atomic_store(&s->ckpt_caught_up, true);
      return;
    }
    sleep_ms(CKPT_RETRY_MS);
  }
}

static void *ckpt_main(void *arg) {
  pg_tg_store *s = arg;
  pthread_mutex_lock(&s->ckpt_mu);
  for (;;) {
    while (!s->ckpt_stop && !atomic_load(&s->ckpt_due)) pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
    if (s->ckpt_stop) break;
    atomic_store(&s->ckpt_due, false); /* commits from now on may ask again */
    pthread_mutex_unlock(&s->ckpt_mu);
    checkpoint_rounds(s);
    pthread_mutex_lock(&s->ckpt_mu);
  }
  pthread_mutex_unlock(&s->ckpt_mu);
  return NULL;
}

int pg_tg_ckpt_start(pg_tg_store *s, unsigned pages, pg_diag *d) {
  s->ckpt_pages = pages ? pages : PG_TG_CKPT_PAGES;
  if (sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      pg_walbuf_vfs()) != SQLITE_OK)
    return pg_db_fail(s->ckpt_db, d, "%s: cannot open the checkpoint connection", s->path);
  pthread_mutex_init(&s->ckpt_mu, NULL);
  pthread_cond_init(&s->ckpt_cv, NULL);
  s->ckpt_sync = true;
  int e = pthread_create(&s->ckpt_thread, NULL, ckpt_main, s);
  if (e != 0) return pg_fail(d, PG_ERR_IO, "cannot start the checkpoint thread: %s", strerror(e));
  s->ckpt_running = true;
  /* replaces SQLite's automatic checkpoint (wal_autocheckpoint is a WAL hook) */
  sqlite3_wal_hook(s->db, on_wal, s);
  return PG_OK;
}

void pg_tg_ckpt_stop(pg_tg_store *s) {
  if (s->db) sqlite3_wal_hook(s->db, NULL, NULL);
  if (s->ckpt_running) {
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_stop = true;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
    pthread_join(s->ckpt_thread, NULL);
    s->ckpt_running = false;
  }
  if (s->ckpt_sync) {
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    s->ckpt_sync = false;
  }
  if (s->ckpt_db) sqlite3_close(s->ckpt_db);
  s->ckpt_db = NULL;
}
