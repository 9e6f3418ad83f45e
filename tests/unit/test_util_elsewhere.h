/* test_util_elsewhere.h — one SQLite query from another process: this test
 * program run again (a fresh SQLite, nothing inherited through fork, which
 * would carry this process's in-memory lock state along).
 *   main: if (tu_elsewhere_main(argc, argv, &rc)) return rc;   first thing
 *   tu_count_elsewhere(path, sql, &n): tu_query_i64 (below) run in that
 *     process (no busy wait): its SQLite result code, *n when SQLITE_OK.
 * Include after <cmocka.h>. */
#ifndef P2PGRID_TEST_UTIL_ELSEWHERE_H
#define P2PGRID_TEST_UTIL_ELSEWHERE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TU_ELSEWHERE_ARG "--tu-sqlite-count"

/* SQLite's result code of running sql (one integer column) on path through
 * the default VFS, read-only; its value in *n when SQLITE_OK. In this
 * process; tu_count_elsewhere runs it in another. */
static int tu_query_i64(const char *path, const char *sql, int64_t *n) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
  sqlite3_stmt *st = NULL;
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    *n = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

static bool tu_elsewhere_main(int argc, char **argv, int *exit_code) {
  if (argc != 4 || strcmp(argv[1], TU_ELSEWHERE_ARG) != 0) return false;
  int64_t n = 0;
  int rc = tu_query_i64(argv[2], argv[3], &n);
  if (rc == SQLITE_OK) printf("%lld\n", (long long)n);
  *exit_code = rc & 0xff;
  return true;
}

static int tu_count_elsewhere(const char *path, const char *sql, int64_t *n) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    dup2(p[1], 1);
    execl("/proc/self/exe", "elsewhere", TU_ELSEWHERE_ARG, path, sql, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char buf[64] = "";
  ssize_t got = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_not_equal(WEXITSTATUS(status), 127);
  if (got > 0) *n = strtoll(buf, NULL, 10);
  return WEXITSTATUS(status);
}

#endif
