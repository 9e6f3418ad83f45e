/* pg_backup_* (p2pgrid/base/backup.h). The attacker's tests first: a backup file
 * is hostile input on restore — names with '..' or '/', absolute paths,
 * oversized entries, wrong hashes, missing chunks, foreign schema objects —
 * each refused with a clear error and nothing written. Then the round trip:
 * a backup taken while another connection holds the directory's lock and
 * writes, restored into an empty, a missing and (with force) a full data dir;
 * a restore refused while the directory's lock is held. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "p2pgrid/base/backup.h"
#include "p2pgrid/base/backup_serve.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/dirlock.h"
#include "p2pgrid/base/walbuf.h"
#include "test_util_tmpdir.h"

static char *g_root;

static void path_of(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", g_root, name);
}

static void write_text(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

static size_t count_entries(const char *dir) {
  DIR *dh = opendir(dir);
  if (!dh) return (size_t)-1;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(dh)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  closedir(dh);
  return n;
}

/* A data dir like a daemon's: a WAL database with rows, a key file, a LOCK. */
static void make_data_dir(const char *dir, int rows, sqlite3 **keep) {
  pg_diag d = {{0}};
  sqlite3 *db = NULL;
  assert_int_equal(pg_db_open(dir, "grid.db", "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v TEXT);",
                              1000, &db, &d), PG_OK);
  for (int i = 0; i < rows; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO t(v) VALUES ('row %d')", i);
    assert_int_equal(pg_db_exec(db, sql, &d), PG_OK);
  }
  char p[320];
  snprintf(p, sizeof p, "%s/coordinator.key", dir);
  write_text(p, "# secret\n00112233\n", 0600);
  if (keep) *keep = db;
  else sqlite3_close(db);
}

static int64_t rows_in(const char *dir) {
  pg_diag d = {{0}};
  sqlite3 *db = NULL;
  int64_t n = -1;
  assert_int_equal(pg_db_open(dir, "grid.db", NULL, 1000, &db, &d), PG_OK);
  assert_int_equal(pg_db_i64(db, "SELECT COUNT(*) FROM t", 0, -1, &n, &d), PG_OK);
  sqlite3_close(db);
  return n;
}

/* A good backup of a small data dir, at path. */
static void good_backup(const char *name, char *path, size_t cap) {
  char dir[256];
  path_of(dir, sizeof dir, "src-ok");
  struct stat st;
  if (stat(dir, &st) != 0) make_data_dir(dir, 10, NULL);
  path_of(path, cap, name);
  pg_diag d = {{0}};
  assert_int_equal(pg_backup_create(dir, path, NULL, &d), PG_OK);
}

/* Edits a copy of a good backup with sql (run with the schema writable). */
static void tampered(const char *name, const char *sql, char *path, size_t cap) {
  good_backup(name, path, cap);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) fprintf(stderr, "tamper: %s\n", err);
  assert_int_equal(rc, SQLITE_OK);
  sqlite3_close(db);
}

/* Restore of a tampered backup: refused with code and needle; the target
 * directory is not even created, nothing beside it is left. */
static void expect_refused(const char *sql, int code, const char *needle) {
  static int k;
  char name[32], path[256], target[256];
  snprintf(name, sizeof name, "bad-%d.bak", k);
  snprintf(target, sizeof target, "%s/target-%d", g_root, k++);
  tampered(name, sql, path, sizeof path);
  size_t before = count_entries(g_root);
  pg_diag d = {{0}};
  int rc = pg_backup_restore(path, target, true, NULL, &d);
  if (rc != code || !strstr(d.msg, needle))
    fail_msg("restore after '%s': %d '%s', want %d '%s'", sql, rc, d.msg, code, needle);
  assert_int_equal(pg_backup_check(path, NULL, &d), code);
  struct stat st;
  assert_int_not_equal(stat(target, &st), 0);
  assert_int_equal(count_entries(g_root), before);
}

static void test_attacker_names(void **state) {
  (void)state;
  expect_refused("UPDATE entries SET name = '../evil' WHERE kind = 'file';"
                 "UPDATE chunks SET name = '../evil' WHERE name = 'coordinator.key'",
                 PG_ERR_INVALID, "'../evil' is not a plain file name");
  expect_refused("UPDATE entries SET name = '/etc/passwd' WHERE kind = 'file';"
                 "UPDATE chunks SET name = '/etc/passwd' WHERE name = 'coordinator.key'",
                 PG_ERR_INVALID, "'/etc/passwd' is not a plain file name");
  expect_refused("UPDATE entries SET name = '..' WHERE kind = 'file';"
                 "UPDATE chunks SET name = '..' WHERE name = 'coordinator.key'",
                 PG_ERR_INVALID, "'..' is not a plain file name");
  expect_refused("UPDATE entries SET name = 'LOCK' WHERE kind = 'file';"
                 "UPDATE chunks SET name = 'LOCK' WHERE name = 'coordinator.key'",
                 PG_ERR_INVALID, "'LOCK' is not a plain file name");
  expect_refused("UPDATE entries SET kind = 'symlink' WHERE kind = 'file'", PG_ERR_INVALID,
                 "unknown kind");
}

static void test_attacker_sizes_and_hashes(void **state) {
  (void)state;
  expect_refused("UPDATE entries SET size = 17179869185 WHERE kind = 'file'", PG_ERR_TOO_LARGE,
                 "over the cap");
  expect_refused("UPDATE entries SET size = size + 1 WHERE kind = 'file'", PG_ERR_INVALID,
                 "short of its size");
  expect_refused("UPDATE entries SET size = size - 1 WHERE kind = 'file'", PG_ERR_INVALID,
                 "more bytes than its size");
  expect_refused("UPDATE chunks SET data = CAST('# secret\n99112233\n' AS BLOB)"
                 " WHERE name = 'coordinator.key'",
                 PG_ERR_INVALID, "SHA-256 mismatch");
  expect_refused("UPDATE entries SET sha256 = x'00' WHERE kind = 'sqlite'", PG_ERR_INVALID,
                 "no SHA-256");
  expect_refused("UPDATE chunks SET seq = 5 WHERE name = 'coordinator.key'", PG_ERR_INVALID,
                 "chunk 0 missing");
  expect_refused("INSERT INTO chunks VALUES ('stray', 0, x'00')", PG_ERR_INVALID,
                 "belong to no entry");
  expect_refused("DELETE FROM entries", PG_ERR_INVALID, "no entries");
}

static void test_attacker_schema(void **state) {
  (void)state;
  expect_refused("CREATE VIEW v AS SELECT 1", PG_ERR_INVALID, "unexpected schema object 'v'");
  expect_refused("CREATE TRIGGER tr AFTER INSERT ON meta BEGIN SELECT 1; END", PG_ERR_INVALID,
                 "unexpected schema object 'tr'");
  expect_refused("UPDATE meta SET value = 'zip' WHERE key = 'format'", PG_ERR_INVALID,
                 "not a p2pgrid backup");
  expect_refused("UPDATE meta SET value = '2' WHERE key = 'version'", PG_ERR_INVALID,
                 "version 2 is not supported");
  /* not SQLite at all, and a truncated one */
  char path[256], target[256];
  path_of(path, sizeof path, "junk.bak");
  path_of(target, sizeof target, "target-junk");
  write_text(path, "PK\003\004 this is no backup at all, just some bytes to read...", 0600);
  pg_diag d = {{0}};
  assert_int_equal(pg_backup_restore(path, target, false, NULL, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "not a readable SQLite file"));
  struct stat st;
  assert_int_not_equal(stat(target, &st), 0);
  good_backup("cut.bak", path, sizeof path);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(truncate(path, st.st_size / 2), 0);
  assert_int_not_equal(pg_backup_restore(path, target, false, NULL, &d), PG_OK);
  assert_int_not_equal(stat(target, &st), 0);
  /* the same checks on bytes in memory (the fuzz target's entry) */
  assert_int_equal(pg_backup_check_mem("SQLite format 3", 16, NULL, &d), PG_ERR_INVALID);
}

static void test_round_trip_while_locked_and_written(void **state) {
  (void)state;
  char dir[256], out[256], target[256], p[300];
  path_of(dir, sizeof dir, "live");
  path_of(out, sizeof out, "live.bak");
  path_of(target, sizeof target, "restored/deep/dir");
  sqlite3 *writer = NULL;
  make_data_dir(dir, 100, &writer);
  pg_dirlock *lock = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_dirlock_take(dir, &lock, &d), PG_OK); /* "the daemon" */
  /* a read transaction of the writer's own is open meanwhile: WAL */
  assert_int_equal(pg_db_exec(writer, "BEGIN; INSERT INTO t(v) VALUES ('in flight')", &d), PG_OK);
  pg_backup_info info = {0};
  assert_int_equal(pg_backup_create(dir, out, &info, &d), PG_OK);
  assert_int_equal(pg_db_exec(writer, "COMMIT; INSERT INTO t(v) VALUES ('after')", &d), PG_OK);
  assert_int_equal(info.entries, 2);
  assert_int_equal(info.databases, 1);
  assert_true(info.created_ms > 0);
  struct stat st;
  assert_int_equal(stat(out, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(p, sizeof p, "%s.tmp", out);
  assert_int_not_equal(stat(p, &st), 0);
  pg_backup_info chk = {0};
  assert_int_equal(pg_backup_check(out, &chk, &d), PG_OK);
  assert_int_equal(chk.entries, 2);
  assert_int_equal(chk.bytes, info.bytes);

  /* restore into a missing dir (parents made) */
  assert_int_equal(pg_backup_restore(out, target, false, NULL, &d), PG_OK);
  assert_int_equal(rows_in(target), 100); /* the snapshot: not the one in flight */
  snprintf(p, sizeof p, "%s/coordinator.key", target);
  assert_string_equal(read_text(p), "# secret\n00112233\n");
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_MARKER, target);
  assert_non_null(strstr(read_text(p), "restored from a backup taken at"));
  assert_int_equal(count_entries(target), 3); /* grid.db, coordinator.key, RESTORED */
  /* a backup of the restored dir leaves the marker out; it restores again */
  snprintf(p, sizeof p, "%s/again.bak", g_root);
  pg_backup_info again = {0};
  assert_int_equal(pg_backup_create(target, p, &again, &d), PG_OK);
  assert_int_equal(again.entries, 2);
  char target2[300];
  snprintf(target2, sizeof target2, "%s/restored-again", g_root);
  assert_int_equal(pg_backup_restore(p, target2, false, NULL, &d), PG_OK);
  assert_int_equal(rows_in(target2), 100);

  /* a full dir is refused without force, replaced with it */
  assert_int_equal(pg_backup_restore(out, dir, false, NULL, &d), PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "in use by pid"));
  pg_dirlock_release(lock);
  sqlite3_close(writer);
  assert_int_equal(rows_in(dir), 102);
  assert_int_equal(pg_backup_restore(out, dir, false, NULL, &d), PG_ERR_EXISTS);
  assert_non_null(strstr(d.msg, "is not empty (--force replaces it)"));
  assert_int_equal(rows_in(dir), 102);
  assert_int_equal(pg_backup_restore(out, dir, true, NULL, &d), PG_OK);
  assert_int_equal(rows_in(dir), 100);
  /* nothing left beside it */
  size_t hidden = 0;
  DIR *dh = opendir(g_root);
  struct dirent *de;
  while ((de = readdir(dh))) hidden += strstr(de->d_name, ".restore-") != NULL;
  closedir(dh);
  assert_int_equal(hidden, 0);
}

static void test_create_refuses_odd_dirs(void **state) {
  (void)state;
  char dir[256], p[300], out[256];
  path_of(dir, sizeof dir, "odd");
  path_of(out, sizeof out, "odd.bak");
  make_data_dir(dir, 1, NULL);
  snprintf(p, sizeof p, "%s/sub", dir);
  assert_int_equal(mkdir(p, 0700), 0);
  pg_diag d = {{0}};
  assert_int_equal(pg_backup_create(dir, out, NULL, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "is not a regular file"));
  struct stat st;
  assert_int_not_equal(stat(out, &st), 0);
  rmdir(p);
  path_of(p, sizeof p, "empty");
  assert_int_equal(mkdir(p, 0700), 0);
  assert_int_equal(pg_backup_create(p, out, NULL, &d), PG_ERR_NOT_FOUND);
  assert_false(pg_backup_name_ok("a/b"));
  assert_false(pg_backup_name_ok(".hidden"));
  assert_true(pg_backup_name_ok("grid.db"));
}

static int setup(void **state) {
  (void)state;
  g_root = tu_mktmp("pg-backup");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_root);
  return 0;
}

/* A daemon that holds its database for its process writes the backup
 * asked of it; without a server, or with a stale marker, the asker hears
 * PG_ERR_NOT_FOUND and copies the directory itself. */
static void test_served_backup(void **state) {
  (void)state;
  char dir[256], out[256], p[320], target[256];
  path_of(dir, sizeof dir, "served");
  path_of(out, sizeof out, "served.bak");
  path_of(target, sizeof target, "served-restored");
  pg_diag d = {{0}};
  make_data_dir(dir, 0, NULL);
  sqlite3 *held = NULL;
  pg_db_open_opts o = {.process = true};
  assert_int_equal(pg_db_open_with(dir, "grid.db", NULL, &o, &held, &d), PG_OK);
  for (int i = 0; i < 40; i++)
    assert_int_equal(pg_db_exec(held, "INSERT INTO t(v) VALUES ('held')", &d), PG_OK);
  pg_backup_info info = {0};
  assert_int_equal(pg_backup_ask(dir, out, 300, NULL, NULL, &info, &d), PG_ERR_NOT_FOUND);
  /* never into the data dir itself (over its own database, say) */
  snprintf(p, sizeof p, "%s/grid.db", dir);
  assert_int_equal(pg_backup_create(dir, p, &info, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "in the data dir"));
  snprintf(p, sizeof p, "%s/../served/x.bak", dir);
  assert_int_equal(pg_backup_create(dir, p, &info, &d), PG_ERR_INVALID);
  assert_int_equal(rows_in(dir), 40);

  pg_backup_server *srv = NULL;
  assert_int_equal(pg_backup_server_start(dir, pg_walbuf_vfs_process(), &srv, &d), PG_OK);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_SERVER_FILE, dir);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(pg_backup_ask(dir, out, 3000, NULL, NULL, &info, &d), PG_OK);
  assert_int_equal(info.entries, 2); /* grid.db, coordinator.key: no BACKUP-* */
  assert_int_equal(info.databases, 1);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_DATA_FILE, dir);
  assert_int_not_equal(stat(p, &st), 0); /* moved to out */
  assert_int_equal(stat(out, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* a FIFO where the request goes (placed by the daemon's user): refused,
   * not waited on; the server goes on serving */
  snprintf(p, sizeof p, "%s/" PG_BACKUP_REQUEST_FILE, dir);
  assert_int_equal(mkfifo(p, 0600), 0);
  char res[320];
  snprintf(res, sizeof res, "%s/" PG_BACKUP_RESULT_FILE, dir);
  for (int i = 0; i < 200 && stat(res, &st) != 0; i++) usleep(10000);
  assert_non_null(strstr(read_text(res), "is not a regular file"));
  unlink(res);
  assert_int_equal(pg_backup_ask(dir, out, 3000, NULL, NULL, &info, &d), PG_OK);
  /* onto another file system: copied, synced, renamed */
  struct stat shm;
  if (stat("/dev/shm", &shm) == 0 && shm.st_dev != st.st_dev) {
    char other[96];
    snprintf(other, sizeof other, "/dev/shm/pg_backup_test_%ld.bak", (long)getpid());
    assert_int_equal(pg_backup_ask(dir, other, 3000, NULL, NULL, &info, &d), PG_OK);
    assert_int_equal(info.entries, 2);
    assert_int_not_equal(stat(p, &st), 0);
    unlink(other);
  }
  /* a request left by an asker that died, and no server: replaced, then
   * withdrawn (nobody takes it) */
  snprintf(p, sizeof p, "%s/" PG_BACKUP_REQUEST_FILE, dir);
  pg_backup_server_stop(srv);
  write_text(p, "p2pgrid-backup-request 1\n0123456789abcdef0123456789abcdef\n", 0600);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_SERVER_FILE, dir);
  write_text(p, "p2pgrid-backup-server 1\npid 1\n", 0600); /* stale */
  assert_int_equal(pg_backup_ask(dir, out, 300, NULL, NULL, &info, &d), PG_ERR_NOT_FOUND);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_REQUEST_FILE, dir);
  assert_int_not_equal(stat(p, &st), 0);
  /* another asker at work (its lock held) */
  pg_dirlock *other = NULL;
  snprintf(p, sizeof p, "%s/" PG_BACKUP_LOCK_FILE, dir);
  assert_int_equal(pg_lock_file_take(p, false, &other, &d), PG_OK);
  assert_int_equal(pg_backup_ask(dir, out, 300, NULL, NULL, &info, &d), PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "under way"));
  pg_dirlock_release(other);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_REQUEST_FILE, dir);
  /* a stale marker: nobody takes the request, which is withdrawn */
  assert_int_equal(pg_backup_ask(dir, out, 300, NULL, NULL, &info, &d), PG_ERR_NOT_FOUND);
  assert_int_not_equal(stat(p, &st), 0);
  sqlite3_close(held);
  assert_int_equal(pg_backup_restore(out, target, false, NULL, &d), PG_OK);
  assert_int_equal(rows_in(target), 40);
  assert_int_equal(count_entries(target), 3); /* grid.db, coordinator.key, RESTORED */
}

/* Takes the request as a server would, then never answers. */
static void *take_and_die(void *arg) {
  const char *dir = arg;
  char req[320], taken[340];
  snprintf(req, sizeof req, "%s/" PG_BACKUP_REQUEST_FILE, dir);
  snprintf(taken, sizeof taken, "%s/" PG_BACKUP_REQUEST_FILE ".taken", dir);
  for (int i = 0; i < 200 && rename(req, taken) != 0; i++) usleep(10000);
  return NULL;
}

/* The daemon took the request and was killed (its marker stays): the
 * asker stops waiting once the process the marker names is gone. */
static void test_daemon_dies_during_backup(void **state) {
  (void)state;
  char dir[256], out[256], p[320];
  path_of(dir, sizeof dir, "dying");
  path_of(out, sizeof out, "dying.bak");
  make_data_dir(dir, 5, NULL);
  pid_t gone = fork();
  assert_true(gone >= 0);
  if (gone == 0) _exit(0);
  assert_int_equal(waitpid(gone, NULL, 0), gone);
  char marker[96];
  snprintf(marker, sizeof marker, "p2pgrid-backup-server 1\npid %ld\n", (long)gone);
  snprintf(p, sizeof p, "%s/" PG_BACKUP_SERVER_FILE, dir);
  write_text(p, marker, 0600);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, take_and_die, dir), 0);
  pg_backup_info info = {0};
  pg_diag d = {{0}};
  assert_int_equal(pg_backup_ask(dir, out, 3000, NULL, NULL, &info, &d), PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "stopped before it wrote the backup"));
  pthread_join(th, NULL);
}

static void test_request_parse(void **state) {
  (void)state;
  pg_backup_request r;
  pg_diag d = {{0}};
  const char *ok = "p2pgrid-backup-request 1\n0123456789abcdef0123456789abcdef\n";
  assert_int_equal(pg_backup_request_parse(ok, strlen(ok), &r, &d), PG_OK);
  assert_string_equal(r.nonce, "0123456789abcdef0123456789abcdef");
  static const char *const bad[] = {
      "",
      "p2pgrid-backup-request 1\n",
      "p2pgrid-backup-request 1\n0123456789abcdef0123456789abcdef",
      "p2pgrid-backup-request 1\n0123456789ABCDEF0123456789abcdef\n",
      "p2pgrid-backup-request 1\n0123456789abcdef0123456789abcde\n",
      "p2pgrid-backup-request 1\n0123456789abcdef0123456789abcdef0\n",
      "p2pgrid-backup-request 1\n0123456789abcdef0123456789abcdef\nmore\n",
      "p2pgrid-backup-request 1\n/var/x.bak\n0123456789abcdef0123456789abcdef\n",
      "p2pgrid-backup-request 11\n0123456789abcdef0123456789abcdef\n",
      "p2pgrid-backup-request 2\n0123456789abcdef0123456789abcdef\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d.msg[0] = 0;
    assert_int_equal(pg_backup_request_parse(bad[i], strlen(bad[i]), &r, &d), PG_ERR_INVALID);
    assert_non_null(strstr(d.msg, "backup request"));
  }
  const char nul[] = "p2pgrid-backup-request 1\n0123456789abcdef\0" "123456789abcdef\n";
  assert_int_equal(pg_backup_request_parse(nul, sizeof nul - 1, &r, &d), PG_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attacker_names),
      cmocka_unit_test(test_attacker_sizes_and_hashes),
      cmocka_unit_test(test_attacker_schema),
      cmocka_unit_test(test_round_trip_while_locked_and_written),
      cmocka_unit_test(test_create_refuses_odd_dirs),
      cmocka_unit_test(test_served_backup),
      cmocka_unit_test(test_request_parse),
      cmocka_unit_test(test_daemon_dies_during_backup),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
