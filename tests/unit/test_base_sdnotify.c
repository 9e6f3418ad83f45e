/* p2pgrid/base/sdnotify.h: what a daemon tells systemd arrives on $NOTIFY_SOCKET
 * as systemd reads it (a unix datagram socket this test binds, as systemd
 * does), the watchdog runs at half of $WATCHDOG_USEC, hostile texts cannot
 * add lines, bad environments are errors naming the variable, and without
 * $NOTIFY_SOCKET nothing is sent and libsystemd is not even mapped. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/sdnotify.h"
#include "test_util_tmpdir.h"

static char *dir;
static char sock_path[96];
static int sock = -1;

static bool libsystemd_mapped(void) {
  void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_NOLOAD);
  if (h) dlclose(h);
  return h != NULL;
}

/* The next datagram, or "" when none arrives within wait_ms. */
static const char *next_msg(int wait_ms) {
  static char buf[4096];
  struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
  assert_int_equal(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  ssize_t n = recv(sock, buf, sizeof buf - 1, 0);
  if (n < 0) {
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    n = 0;
  }
  buf[n] = '\0';
  return buf;
}

static int setup(void **state) {
  (void)state;
  dir = tu_mktmp("pg-sdnotify");
  snprintf(sock_path, sizeof sock_path, "%s/notify", dir);
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
  if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  close(sock);
  tu_rmrf(dir);
  return 0;
}

/* First: nothing before has set NOTIFY_SOCKET in this process. */
static void test_off_without_notify_socket(void **state) {
  (void)state;
  pg_diag d = {{0}};
  uint64_t half = 99;
  assert_false(pg_sd_enabled());
  assert_int_equal(pg_sd_ready("serving", &d), PG_OK);
  assert_int_equal(pg_sd_status("busy", &d), PG_OK);
  assert_int_equal(pg_sd_watchdog_ms(&half, &d), PG_OK);
  assert_int_equal(half, 0);
  setenv("WATCHDOG_USEC", "1000000", 1); /* a watchdog without a socket: still off */
  assert_int_equal(pg_sd_watchdog(&d), PG_OK);
  assert_int_equal(pg_sd_stopping("bye", &d), PG_OK);
  unsetenv("WATCHDOG_USEC");
  assert_string_equal(next_msg(50), "");
  assert_false(libsystemd_mapped());
}

static void test_ready_status_stopping_arrive(void **state) {
  (void)state;
  pg_diag d = {{0}};
  setenv("NOTIFY_SOCKET", sock_path, 1);
  assert_true(pg_sd_enabled());
  assert_int_equal(pg_sd_ready("API on port 14265", &d), PG_OK);
  assert_true(libsystemd_mapped());
  assert_string_equal(next_msg(1000), "READY=1\nSTATUS=API on port 14265");
  assert_int_equal(pg_sd_status("step failed, retrying", &d), PG_OK);
  assert_string_equal(next_msg(1000), "STATUS=step failed, retrying");
  assert_int_equal(pg_sd_ready(NULL, &d), PG_OK);
  assert_string_equal(next_msg(1000), "READY=1");
  assert_int_equal(pg_sd_stopping("SIGTERM received", &d), PG_OK);
  assert_string_equal(next_msg(1000), "STOPPING=1\nSTATUS=SIGTERM received");
  unsetenv("NOTIFY_SOCKET");
}

/* A status comes from data (an error message naming a peer's bytes): it
 * must not smuggle in MAINPID=, READY=1 or WATCHDOG= lines. */
static void test_status_cannot_add_lines(void **state) {
  (void)state;
  pg_diag d = {{0}};
  setenv("NOTIFY_SOCKET", sock_path, 1);
  assert_int_equal(pg_sd_status("bad reply\nMAINPID=1\r\nWATCHDOG=trigger\x7f", &d), PG_OK);
  assert_string_equal(next_msg(1000), "STATUS=bad reply MAINPID=1  WATCHDOG=trigger ");
  char long_s[400];
  memset(long_s, 'a', sizeof long_s);
  long_s[sizeof long_s - 1] = '\0';
  memcpy(long_s + 199, "\xc3\xa9", 2); /* é across the 200-byte cut: dropped whole */
  assert_int_equal(pg_sd_status(long_s, &d), PG_OK);
  const char *m = next_msg(1000);
  assert_int_equal(strlen(m), 7 + 199);
  assert_int_equal(strncmp(m, "STATUS=", 7), 0);
  assert_null(strchr(m, '\xc3'));
  memset(long_s, 'a', sizeof long_s - 1);
  memcpy(long_s + 198, "\xc3\xa9", 2); /* ends at byte 199: kept */
  assert_int_equal(pg_sd_status(long_s, &d), PG_OK);
  m = next_msg(1000);
  assert_int_equal(strlen(m), 7 + 200);
  assert_memory_equal(m + 7 + 198, "\xc3\xa9", 2);
  unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_at_half_period(void **state) {
  (void)state;
  pg_diag d = {{0}};
  uint64_t half = 0;
  char pid[32];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  setenv("NOTIFY_SOCKET", sock_path, 1);
  setenv("WATCHDOG_USEC", "2000000", 1);
  setenv("WATCHDOG_PID", pid, 1);
  assert_int_equal(pg_sd_watchdog_ms(&half, &d), PG_OK);
  assert_int_equal(half, 1000);
  assert_int_equal(pg_sd_watchdog(&d), PG_OK); /* the first is sent at once */
  assert_string_equal(next_msg(1000), "WATCHDOG=1");
  assert_int_equal(pg_sd_watchdog(&d), PG_OK); /* not again within half the period */
  assert_string_equal(next_msg(100), "");
  usleep(1000 * 1000);
  assert_int_equal(pg_sd_watchdog(&d), PG_OK);
  assert_string_equal(next_msg(1000), "WATCHDOG=1");
  /* a watchdog meant for another process (the main pid of a forking unit) */
  setenv("WATCHDOG_PID", "1", 1);
  assert_int_equal(pg_sd_watchdog_ms(&half, &d), PG_OK);
  assert_int_equal(half, 0);
  setenv("WATCHDOG_PID", pid, 1);
  setenv("WATCHDOG_USEC", "1", 1); /* 1 µs: a period of at least 1 ms, never 0 */
  assert_int_equal(pg_sd_watchdog_ms(&half, &d), PG_OK);
  assert_int_equal(half, 1);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  assert_int_equal(pg_sd_watchdog_ms(&half, &d), PG_OK);
  assert_int_equal(half, 0);
  unsetenv("NOTIFY_SOCKET");
}

static void test_bad_environment_named(void **state) {
  (void)state;
  pg_diag d = {{0}};
  uint64_t half = 7;
  setenv("NOTIFY_SOCKET", sock_path, 1);
  setenv("WATCHDOG_USEC", "soon", 1);
  assert_int_equal(pg_sd_watchdog_ms(&half, &d), PG_ERR_INVALID);
  assert_int_equal(half, 0);
  assert_non_null(strstr(d.msg, "WATCHDOG_USEC=soon"));
  assert_int_equal(pg_sd_watchdog(&d), PG_ERR_INVALID);
  unsetenv("WATCHDOG_USEC");

  char gone[160];
  snprintf(gone, sizeof gone, "%s/nobody-listens", dir);
  setenv("NOTIFY_SOCKET", gone, 1);
  assert_int_equal(pg_sd_ready("x", &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "NOTIFY_SOCKET="));
  assert_non_null(strstr(d.msg, "nobody-listens"));
  setenv("NOTIFY_SOCKET", "relative/not-a-socket", 1);
  assert_int_equal(pg_sd_status("x", &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "relative/not-a-socket"));
  unsetenv("NOTIFY_SOCKET");
  assert_string_equal(next_msg(50), "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_off_without_notify_socket),
      cmocka_unit_test(test_ready_status_stopping_arrive),
      cmocka_unit_test(test_status_cannot_add_lines),
      cmocka_unit_test(test_watchdog_at_half_period),
      cmocka_unit_test(test_bad_environment_named),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
