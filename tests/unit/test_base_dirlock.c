/* pg_dirlock_take / pg_lock_file_take (p2pgrid/base/dirlock.h): a second taker in
 * another process is refused with the holder's pid; the lock is free again
 * once the holder exits, also after SIGKILL. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/dirlock.h"

static char g_dir[64];

/* Child: tries to take dir's lock and exits 0 when refused with "in use by
 * pid <want>", 1 when it got it, 2 when refused otherwise. */
static int child_try(const char *dir, long want) {
  pg_dirlock *l = NULL;
  pg_diag d = {{0}};
  int rc = pg_dirlock_take(dir, &l, &d);
  if (rc == PG_OK) {
    pg_dirlock_release(l);
    return 1;
  }
  char expect[300];
  snprintf(expect, sizeof expect, "data dir %s in use by pid %ld", dir, want);
  return rc == PG_ERR_UNAVAILABLE && strcmp(d.msg, expect) == 0 ? 0 : 2;
}

static int wait_exit(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_second_process_refused(void **state) {
  (void)state;
  char dir[128];
  snprintf(dir, sizeof dir, "%s/node/data", g_dir); /* created with its parent */
  pg_dirlock *l = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_dirlock_take(dir, &l, &d), PG_OK);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(child_try(dir, (long)getppid()));
  assert_int_equal(wait_exit(pid), 0);
  /* a second lock in this process is refused too (flock is per open file) */
  pg_dirlock *again = NULL;
  assert_int_equal(pg_dirlock_take(dir, &again, &d), PG_ERR_UNAVAILABLE);
  assert_null(again);
  pg_dirlock_release(l);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(child_try(dir, 0));
  assert_int_equal(wait_exit(pid), 1); /* free once released */
}

static void test_killed_holder_frees_the_lock(void **state) {
  (void)state;
  char dir[128];
  snprintf(dir, sizeof dir, "%s/killed", g_dir);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  fflush(NULL);
  pid_t holder = fork();
  assert_true(holder >= 0);
  if (holder == 0) {
    pg_dirlock *l = NULL;
    close(ready[0]);
    if (pg_dirlock_take(dir, &l, NULL) != PG_OK) _exit(3);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  pg_dirlock *l = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_dirlock_take(dir, &l, &d), PG_ERR_UNAVAILABLE);
  char expect[300];
  snprintf(expect, sizeof expect, "data dir %s in use by pid %ld", dir, (long)holder);
  assert_string_equal(d.msg, expect);
  assert_int_equal(kill(holder, SIGKILL), 0);
  int st = 0;
  assert_int_equal(waitpid(holder, &st, 0), holder);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(pg_dirlock_take(dir, &l, &d), PG_OK);
  /* the lock file now names us */
  char path[160], buf[32] = {0};
  snprintf(path, sizeof path, "%s/LOCK", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  assert_int_equal(strtol(buf, NULL, 10), (long)getpid());
  pg_dirlock_release(l);
}

static void test_lock_file(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/wallet.seed.pending.lock", g_dir);
  pg_dirlock *l = NULL, *l2 = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_lock_file_take(path, false, &l, &d), PG_OK);
  assert_int_equal(pg_lock_file_take(path, false, &l2, &d), PG_ERR_UNAVAILABLE);
  char expect[300];
  snprintf(expect, sizeof expect, "%s is in use by pid %ld", path, (long)getpid());
  assert_string_equal(d.msg, expect);
  pg_dirlock_release(l);
  assert_int_equal(pg_lock_file_take(path, true, &l2, &d), PG_OK);
  pg_dirlock_release(l2);
  pg_dirlock_release(NULL);
  /* a directory that cannot be created */
  snprintf(path, sizeof path, "%s/wallet.seed.pending.lock/sub", g_dir);
  assert_int_equal(pg_dirlock_take(path, &l, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "cannot create"));
}

static int rm_tree(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/pg_dirlock_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(g_dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_second_process_refused),
      cmocka_unit_test(test_killed_holder_frees_the_lock),
      cmocka_unit_test(test_lock_file),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (rm_tree() != 0) return 1;
  return rc;
}
