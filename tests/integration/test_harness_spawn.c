/* test_harness_spawn.c — a test's daemons die with it: a process that
 * started a child with spawn_logged() (the harness's one fork+exec, behind
 * proc_start, grid_start, the broker, run_ok) is killed with SIGKILL, as
 * on a ctest timeout; its child (/bin/sleep 60 here, a node or grid there)
 * must be gone within a deadline, not left running to disturb the
 * benchmarks after it. Then the race spawn_logged closes: a child whose
 * parent died before its prctl exits at once.
 *
 * This process makes itself a child subreaper, so the orphan is reparented
 * here rather than to init: it can be reaped (and, when it survived, killed
 * and reaped) by the test itself. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define DEADLINE_GONE_MS 3000

/* Forks a process that starts /bin/sleep 60 with spawn_logged() and then
 * waits forever; returns its pid, the sleep's pid in *child. */
static pid_t start_parent_of_sleep(pid_t *child) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  char log[128];
  snprintf(log, sizeof log, "%s/sleep.log", g_root);
  fflush(NULL);
  pid_t mid = fork();
  assert_true(mid >= 0);
  if (mid == 0) {
    close(p[0]);
    const char *argv[] = {"/bin/sleep", "60", NULL};
    pid_t c = spawn_logged(argv, log);
    if (write(p[1], &c, sizeof c) != (ssize_t)sizeof c) _exit(1);
    for (;;) pause();
  }
  close(p[1]);
  assert_int_equal(read(p[0], child, sizeof *child), (ssize_t)sizeof *child);
  close(p[0]);
  assert_true(*child > 0);
  return mid;
}

/* Whether pid (our child by the subreaper) has ended: reaped here, or
 * already gone. */
static bool gone(pid_t pid, int *st) {
  pid_t r = waitpid(pid, st, WNOHANG);
  if (r == pid) return true;
  return r < 0 && errno == ECHILD && kill(pid, 0) != 0 && errno == ESRCH;
}

static void test_killed_parent_takes_its_child(void **state) {
  (void)state;
  pid_t child = 0;
  pid_t mid = start_parent_of_sleep(&child);
  assert_int_equal(kill(child, 0), 0); /* running (or about to exec) */
  assert_int_equal(kill(mid, SIGKILL), 0);
  int st = 0;
  assert_int_equal(waitpid(mid, &st, 0), mid);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  uint64_t deadline = now_ms() + DEADLINE_GONE_MS;
  st = 0;
  while (!gone(child, &st)) {
    if (now_ms() > deadline) {
      kill(child, SIGKILL);
      waitpid(child, NULL, 0);
      fail_msg("pid %ld (/bin/sleep 60) outlived its killed parent by %d ms", (long)child,
               DEADLINE_GONE_MS);
    }
    nap();
  }
  /* SIGKILL from the parent's death, or 137 when it died before the prctl */
  assert_true(st == 0 || (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ||
              (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGKILL));
}

/* The race spawn_logged closes: a parent that died between fork and prctl
 * (the child's getppid() no longer the pid taken before the fork). */
static void test_orphan_before_prctl_exits(void **state) {
  (void)state;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    harness_child_dies_with_parent(getpid()); /* never its own parent */
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 128 + SIGKILL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    harness_child_dies_with_parent(getppid()); /* the right parent: carries on */
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static int setup(void **state) {
  (void)state;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return -1;
  return harness_mkroot("/tmp/p2pgrid-it-spawn-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_killed_parent_takes_its_child),
      cmocka_unit_test(test_orphan_before_prctl_exits),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
