/* Unit test: the durability of the Tangle's database (src/tangle/store.h).
 *
 * A SQLite VFS wrapped around the default one counts, for the WAL file,
 * writes and syncs. Ordinary messages commit with synchronous=NORMAL (WAL
 * written, not synced); every commit that confirms a milestone leaves no
 * unsynced WAL write behind: the milestone, its ledger changes and all
 * earlier commits are on disk when the confirmation can be read. Also when
 * the milestone is confirmed by the late arrival of a message it refers to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "tangle_test_util.h"

/* ---- counting VFS ----------------------------------------------------- */

static sqlite3_vfs *g_real;
static sqlite3_vfs g_vfs;
static int g_wal_syncs;    /* xSync on a -wal file */
static int g_wal_unsynced; /* xWrite on a -wal file since its last xSync */

typedef struct cfile {
  sqlite3_file base;
  bool wal;
  sqlite3_file *real; /* follows this struct */
} cfile;

#define REAL(f) (((cfile *)(f))->real)
static int c_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int c_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) {
  return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int c_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
  if (((cfile *)f)->wal) g_wal_unsynced++;
  return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int c_truncate(sqlite3_file *f, sqlite3_int64 n) {
  return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int c_sync(sqlite3_file *f, int flags) {
  int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
  if (((cfile *)f)->wal && rc == SQLITE_OK) {
    g_wal_syncs++;
    g_wal_unsynced = 0;
  }
  return rc;
}
static int c_size(sqlite3_file *f, sqlite3_int64 *n) {
  return REAL(f)->pMethods->xFileSize(REAL(f), n);
}
static int c_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int c_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int c_check(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int c_fctl(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int c_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int c_chars(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int c_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int c_shm_lock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void c_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int c_shm_unmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int c_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p) {
  return REAL(f)->pMethods->xFetch(REAL(f), o, n, p);
}
static int c_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods C_METHODS = {
    3,         c_close,  c_read,     c_write,  c_truncate,    c_sync,      c_size,
    c_lock,    c_unlock, c_check,    c_fctl,   c_sector,      c_chars,     c_shm_map,
    c_shm_lock, c_shm_barrier, c_shm_unmap, c_fetch, c_unfetch,
};

static int c_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out) {
  (void)vfs;
  cfile *c = (cfile *)f;
  c->real = (sqlite3_file *)(c + 1);
  c->wal = (flags & SQLITE_OPEN_WAL) != 0;
  int rc = g_real->xOpen(g_real, name, c->real, flags, out);
  /* a wrapper without methods makes SQLite skip xClose; only when the real
   * open gave the real file methods do we put ours in front */
  c->base.pMethods = c->real->pMethods ? &C_METHODS : NULL;
  return rc;
}

static void install_vfs(void) {
  g_real = sqlite3_vfs_find(NULL);
  assert_non_null(g_real);
  g_vfs = *g_real;
  g_vfs.zName = "pg-count";
  g_vfs.szOsFile = (int)sizeof(cfile) + g_real->szOsFile;
  g_vfs.xOpen = c_open;
  g_vfs.pNext = NULL;
  assert_int_equal(sqlite3_vfs_register(&g_vfs, 1), SQLITE_OK); /* the default from now on */
}

/* ---- tests -------------------------------------------------------------- */

static void test_milestone_commit_is_synced(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t id[PG_ID_LEN];
  /* the first write after open starts the WAL over (the checkpoint
   * thread's connection copied what the open wrote), and SQLite syncs a new
   * WAL header once */
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "durable", "first", id), PG_OK);
  /* ordinary messages: in the WAL, not synced */
  int syncs = g_wal_syncs;
  for (int i = 0; i < 20; i++) {
    char data[16];
    snprintf(data, sizeof data, "m%d", i);
    assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "durable", data, id), PG_OK);
  }
  assert_int_equal(g_wal_syncs, syncs);
  assert_true(g_wal_unsynced > 0);
  /* the coordinator's milestone: confirmed and synced in one commit */
  assert_int_equal(tt_issue(f->t, 1), 1);
  assert_true(g_wal_syncs > syncs);
  assert_int_equal(g_wal_unsynced, 0);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 1);
  /* and ordinary messages are cheap again afterwards */
  syncs = g_wal_syncs;
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "durable", "after", id), PG_OK);
  assert_int_equal(g_wal_syncs, syncs);
  assert_true(g_wal_unsynced > 0);
}

static void test_late_parent_confirms_synced(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg);
  /* a message, and milestone 1 on it, submitted milestone first */
  pg_buf a, ms;
  uint8_t p[2][PG_ID_LEN], a_id[PG_ID_LEN], ms_id[PG_ID_LEN], got[PG_ID_LEN];
  tt_build_indexation(&a, pg_network_id("private-tangle"), &TT_SEP, 1, "late", "parent");
  pg_message_id(a.data, a.len, a_id);
  memcpy(p[0], TT_SEP, PG_ID_LEN);
  memcpy(p[1], a_id, PG_ID_LEN);
  tt_craft_milestone(&ms, 1, 100, (const uint8_t(*)[PG_ID_LEN])p, 2);
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, ms.data, ms.len, ms_id, NULL, &d), PG_OK);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 0);
  /* an unrelated message is not synced */
  int syncs = g_wal_syncs;
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "other", "x", got), PG_OK);
  assert_int_equal(g_wal_syncs, syncs);
  assert_true(g_wal_unsynced > 0);
  /* the late parent completes the milestone: that commit is synced */
  assert_int_equal(pg_tangle_submit(f->t, a.data, a.len, got, NULL, &d), PG_OK);
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 1);
  assert_true(g_wal_syncs > syncs);
  assert_int_equal(g_wal_unsynced, 0);
  assert_int_equal(tt_meta(f->t, a_id).referenced_by, 1);
  pg_buf_free(&a);
  pg_buf_free(&ms);
}

int main(void) {
  if (pg_crypto_init()) return 1;
  install_vfs();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_milestone_commit_is_synced, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_late_parent_confirms_synced, tt_setup, tt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
