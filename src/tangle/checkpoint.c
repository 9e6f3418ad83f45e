/* checkpoint.c — WAL checkpoints off the request path. See store.h
 * ("Checkpoints").
 *
 * The writing connection's WAL hook (run after every COMMIT, in the
 * committing thread) only looks at the WAL's size: at ckpt_pages frames it
 * wakes the checkpoint thread, which runs PASSIVE checkpoints on its own
 * connection (never blocking the writer, never waiting for readers) while
 * they gain on the writer (checkpoint_rounds). SQLite restarts the WAL only
 * for a transaction that begins with every frame copied, which a writer
 * that never pauses does not leave the thread; so once the thread is close
 * behind, the next COMMIT's hook copies the frames left itself (a small
 * PASSIVE checkpoint) and the next transaction restarts the WAL from its
 * start. The thread's connection reads the database once at start: until
 * a connection has read it, SQLite does not know the database is in WAL
 * mode and its checkpoints copy nothing (they report -1 frames; the start
 * refuses such a connection). If the WAL still reaches 4 x ckpt_pages
 * (the thread is starved or its disk slow), the hook checkpoints inline,
 * first waiting for a checkpoint of the thread that holds SQLite's
 * checkpoint lock (SQLite's automatic checkpoint would give up at once and
 * let the WAL grow by whatever is committed while that one runs:
 * test_checkpoint_stalled_thread), so the WAL stays within the limit and a
 * commit; only a reader that pins an old snapshot keeps frames from being
 * copied, as with any WAL. Frames copied by the thread and by the writer are counted
 * (pg_tangle_status). Durability is unchanged: a
 * checkpoint only copies committed frames, syncing the WAL before and the
 * database after (synchronous=NORMAL or FULL), as SQLite's own does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"
#include "store.h"

#define CKPT_LOG "tangle"
#define CKPT_HARD_FACTOR 4
/* A round that could not copy every frame (a reader holds an older
 * snapshot) waits this long before the next one. */
#define CKPT_RETRY_MS 100
#define CKPT_MAX_ROUNDS 8
/* At the hard limit the writer waits up to this long for a checkpoint
 * that holds SQLite's checkpoint lock (commits stall meanwhile: the WAL
 * stays bounded); past it, it goes on and the WAL grows, as before. */
#define CKPT_WRITER_WAIT_MS 5000

/* Credits the frames a checkpoint that reports `done` copied to *to: the
 * part of done past the highest count reported before in this WAL cycle.
 * Checkpoints are serialised by SQLite's checkpoint lock; the thread and the
 * writer may finish in either order, so the high mark is raised atomically.
 * Returns the frames credited. */
static int_fast64_t credit(pg_tg_store *s, int done, atomic_uint_fast64_t *to) {
  int_fast64_t was = atomic_load(&s->ckpt_backfilled);
  while (done > was && !atomic_compare_exchange_weak(&s->ckpt_backfilled, &was, done)) {
  }
  if (done <= was) return 0;
  atomic_fetch_add(to, (uint_fast64_t)(done - was));
  return done - was;
}

/* A checkpoint on the writer's connection (the hook's thread, the commit
 * path), its frames credited to the writer. With wait_ms, while another
 * checkpoint holds SQLite's checkpoint lock (SQLITE_BUSY: the thread's,
 * which copies nothing new to the writer) it retries every millisecond for
 * up to wait_ms, so the frames are copied once the other one is done. */
static void writer_checkpoint(pg_tg_store *s, sqlite3 *db, const char *name, unsigned wait_ms) {
  int log = -1, done = -1, rc;
  for (unsigned waited = 0;; waited++) {
    rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_BUSY || waited >= wait_ms) break;
    pg_sleep_ms(1);
  }
  if (rc == SQLITE_OK) (void)credit(s, done, &s->ckpt_frames_writer);
  else if (wait_ms)
    pg_log_warn(CKPT_LOG, "checkpoint of %s by the writer: %s", s->path, sqlite3_errmsg(db));
}

static int on_wal(void *arg, sqlite3 *db, const char *name, int frames) {
  pg_tg_store *s = arg;
  if (frames < 0) return SQLITE_OK;
  if ((unsigned)frames < s->ckpt_pages) { /* a new cycle: nothing caught up in it yet */
    if (atomic_load_explicit(&s->ckpt_caught_up, memory_order_relaxed))
      atomic_store(&s->ckpt_caught_up, false);
    if (atomic_load_explicit(&s->ckpt_backfilled, memory_order_relaxed) > frames)
      atomic_store(&s->ckpt_backfilled, 0); /* the WAL restarted */
    return SQLITE_OK;
  }
  if ((unsigned)frames >= CKPT_HARD_FACTOR * s->ckpt_pages) {
    atomic_fetch_add(&s->ckpt_inline, 1);
    writer_checkpoint(s, db, name, CKPT_WRITER_WAIT_MS);
    return SQLITE_OK;
  }
  if (atomic_exchange(&s->ckpt_caught_up, false)) { /* end the cycle: the last few frames */
    writer_checkpoint(s, db, name, 0);
    return SQLITE_OK;
  }
  if (!atomic_exchange(&s->ckpt_due, true)) {
    pthread_mutex_lock(&s->ckpt_mu);
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
  }
  return SQLITE_OK;
}

/* PASSIVE rounds while they gain on the writer; then tells the writer's
 * hook to copy the rest. A round copies the frames committed before it
 * began, so under a writer that never pauses the frames left shrink round
 * by round towards what the writer commits during a round's fixed cost (its
 * two syncs), and never reach 0: the thread hands over once that is at
 * most an eighth of a cycle and a round no longer halves it (or nothing is
 * left). A round that copied nothing while frames wait (a reader holds an
 * older snapshot) pauses before the next. */
static void checkpoint_rounds(pg_tg_store *s) {
  int_fast64_t left_before = INT_FAST64_MAX;
  for (int round = 0; round < CKPT_MAX_ROUNDS; round++) {
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK || log < 0) { /* log -1: the connection is not on the WAL */
      pg_log_warn(CKPT_LOG, "checkpoint of %s: %s", s->path,
                  rc != SQLITE_OK ? sqlite3_errmsg(s->ckpt_db) : "the database is not in WAL mode");
      pg_sleep_ms(CKPT_RETRY_MS);
      return;
    }
    atomic_fetch_add(&s->ckpt_thread_runs, 1);
    int_fast64_t copied = credit(s, done, &s->ckpt_frames_thread), left = log - done;
    if (left <= 0 || (left <= s->ckpt_pages / 8 && left * 2 > left_before)) {
      atomic_store(&s->ckpt_caught_up, true);
      return;
    }
    if (copied == 0) pg_sleep_ms(CKPT_RETRY_MS);
    left_before = left;
  }
}

static void *ckpt_main(void *arg) {
  pg_tg_store *s = arg;
  pthread_mutex_lock(&s->ckpt_mu);
  for (;;) {
    while (!s->ckpt_stop && !atomic_load(&s->ckpt_due)) pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
    if (s->ckpt_stop) break;
    pthread_mutex_unlock(&s->ckpt_mu);
    checkpoint_rounds(s);
    pthread_mutex_lock(&s->ckpt_mu);
    /* only now may commits ask again: one asking while the rounds ran would
     * start another round beside the writer's end of the cycle, and the
     * one of them that finds the other's checkpoint running copies
     * nothing (SQLITE_BUSY), so the WAL would not restart */
    atomic_store(&s->ckpt_due, false);
  }
  pthread_mutex_unlock(&s->ckpt_mu);
  return NULL;
}

int pg_tg_ckpt_start(pg_tg_store *s, unsigned pages, pg_diag *d) {
  s->ckpt_pages = pages ? pages : PG_TG_CKPT_PAGES;
  if (sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      s->vfs) != SQLITE_OK)
    return pg_db_fail(s->ckpt_db, d, "%s: cannot open the checkpoint connection", s->path);
  /* A connection learns the database is in WAL mode from its first read;
   * until then SQLite's checkpoint does nothing and reports -1 frames. */
  int64_t tables = 0;
  int log = -1, done = -1;
  int rc = pg_db_i64(s->ckpt_db, "SELECT count(*) FROM sqlite_master", 0, 0, &tables, d);
  if (rc) return rc;
  if (sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done) !=
      SQLITE_OK)
    return pg_db_fail(s->ckpt_db, d, "%s: first checkpoint", s->path);
  if (log < 0)
    return pg_fail(d, PG_ERR_DB, "%s: the checkpoint connection does not see the WAL", s->path);
  (void)credit(s, done, &s->ckpt_frames_thread); /* a WAL left by the last run */
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
