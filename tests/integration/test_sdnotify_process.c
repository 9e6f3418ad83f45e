/* The daemons under systemd's notification protocol (p2pgrid/base/sdnotify.h),
 * as real processes: the test binds the unix datagram socket that systemd
 * would, sets $NOTIFY_SOCKET and $WATCHDOG_USEC for the child and reads what
 * it sends:
 *  - the node: READY=1 with the port its API listens on (then it answers),
 *    WATCHDOG=1 at half the period, STOPPING=1 on SIGTERM, exit 0; the same
 *    node without $NOTIFY_SOCKET sends nothing and does not map libsystemd;
 *  - the grid (mutual TLS, a node with a coordinator): READY=1 once it
 *    serves, a STATUS= naming the failure while its steps fail (injected
 *    database faults), another once they succeed again, WATCHDOG=1,
 *    STOPPING=1.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static int g_sock = -1;
static char g_sock_path[128];
static unsigned g_watchdogs; /* WATCHDOG=1 seen by await() */

/* The next datagram within wait_ms into buf; false when none came. */
static bool next_msg(char *buf, size_t cap, uint64_t wait_ms) {
  struct timeval tv = {.tv_sec = (time_t)(wait_ms / 1000),
                       .tv_usec = (suseconds_t)(wait_ms % 1000) * 1000};
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1000;
  assert_int_equal(setsockopt(g_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  ssize_t n = recv(g_sock, buf, cap - 1, 0);
  if (n < 0) {
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    return false;
  }
  buf[n] = '\0';
  return true;
}

/* Reads datagrams until one starts with prefix (copied to out) or wait_ms
 * pass (then the test fails); counts the watchdog messages on the way. */
static void await(const char *prefix, uint64_t wait_ms, char *out, size_t cap) {
  uint64_t end = now_ms() + wait_ms;
  char buf[1024];
  while (now_ms() < end) {
    if (!next_msg(buf, sizeof buf, end - now_ms())) continue;
    if (strcmp(buf, "WATCHDOG=1") == 0) g_watchdogs++;
    if (strncmp(buf, prefix, strlen(prefix)) == 0) {
      if (out) {
        size_t n = strlen(buf) < cap ? strlen(buf) : cap - 1;
        memcpy(out, buf, n);
        out[n] = '\0';
      }
      return;
    }
  }
  fail_msg("no message '%s...' on NOTIFY_SOCKET within %llu ms", prefix,
           (unsigned long long)wait_ms);
}

static void drain(void) {
  char buf[1024];
  while (next_msg(buf, sizeof buf, 1)) {
  }
}

/* libsystemd in the process's memory map. */
static bool maps_libsystemd(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
  char *maps = slurp(path, NULL);
  assert_non_null(maps);
  bool found = strstr(maps, "libsystemd.so") != NULL;
  free(maps);
  return found;
}

/* The environment systemd gives a Type=notify unit with WatchdogSec. */
static void under_systemd(const char *watchdog_usec) {
  setenv("NOTIFY_SOCKET", g_sock_path, 1);
  setenv("WATCHDOG_USEC", watchdog_usec, 1);
}

static void not_under_systemd(void) {
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
}

static int setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-sdn-XXXXXX") != 0) return -1;
  snprintf(g_sock_path, sizeof g_sock_path, "%s/notify", g_root);
  g_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (g_sock < 0 || strlen(g_sock_path) >= sizeof a.sun_path) return -1;
  memcpy(a.sun_path, g_sock_path, strlen(g_sock_path) + 1);
  if (bind(g_sock, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  not_under_systemd();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  close(g_sock);
  harness_rmroot();
  return 0;
}

/* A node named name in g_root/name, started with the environment as it is;
 * back to no systemd once it runs. */
static void start_node(proc *node, const char *name) {
  snprintf(node->name, sizeof node->name, "%s", name);
  snprintf(node->data_dir, sizeof node->data_dir, "%s/%s", g_root, name);
  proc_start(node, NULL);
  not_under_systemd();
}

static void expect_answers(const proc *node) {
  resp r = {0};
  get(node, "/api/v1/info", &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

static void test_node_without_systemd(void **state) {
  (void)state;
  proc node = {0};
  not_under_systemd();
  start_node(&node, "node-plain");
  expect_answers(&node);
  assert_false(maps_libsystemd(node.pid)); /* footprint: not loaded at all */
  proc_stop(&node);
  char buf[256];
  assert_false(next_msg(buf, sizeof buf, 200));
}

static void test_node_ready_watchdog_stopping(void **state) {
  (void)state;
  proc node = {0};
  drain();
  under_systemd("400000"); /* WatchdogSec=400ms: WATCHDOG=1 every 200 ms */
  start_node(&node, "node");
  char msg[512], want[64];
  await("READY=1\n", 10000, msg, sizeof msg);
  snprintf(want, sizeof want, "STATUS=API on port %u;", node.port);
  if (!strstr(msg, want)) fail_msg("READY without '%s': %s", want, msg);
  expect_answers(&node); /* ready means it answers */
  assert_true(maps_libsystemd(node.pid));
  g_watchdogs = 0;
  uint64_t t0 = now_ms();
  while (g_watchdogs < 5) await("WATCHDOG=1", 5000, NULL, 0);
  /* five at 200 ms apart: not sent on every wake-up, not seconds apart */
  assert_true(now_ms() - t0 >= 600);
  proc_stop(&node);
  await("STOPPING=1\n", 5000, msg, sizeof msg);
  assert_non_null(strstr(msg, "SIGTERM"));
}

static void test_grid_ready_status_stopping(void **state) {
  (void)state;
  char dir[200], ca[220];
  snprintf(dir, sizeof dir, "%s/grid", g_root);
  snprintf(ca, sizeof ca, "%s/ca", dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  proc node = {0}, grid = {0};
  snprintf(node.name, sizeof node.name, "grid-node");
  snprintf(node.data_dir, sizeof node.data_dir, "%s/node", dir);
  grid_dirs g = {.dir = dir, .ca_dir = ca, .slot_ms = 3000};
  ca_init(ca);
  grid_issue(&g, "grid", "grid", NULL, NULL);
  grid_write_wallets(&g, 1, 1, 1000000000000ull, 7);
  char genesis[400];
  snprintf(genesis, sizeof genesis, "%s/genesis.txt", dir);
  proc_start_coordinator(&node, genesis);
  g.node_url = node.base;
  write_entity_config(&g, "grid", "grid", NULL, 0,
                      "import_price = 300000000\nexport_price = 80000000\n");
  drain();
  under_systemd("600000");
  /* its books fail twice (a full disk, say: the settlement's insert, test
   * builds' fault injection, db.h): the step rolls back and retries */
  setenv("P2PGRID_DB_FAULT", "INSERT INTO slots:2", 1);
  grid_start(&g, &grid, "grid", "grid");
  unsetenv("P2PGRID_DB_FAULT");
  not_under_systemd();
  char msg[512];
  await("READY=1\n", 20000, msg, sizeof msg);
  assert_non_null(strstr(msg, "STATUS=grid 'grid' running"));
  g_watchdogs = 0;
  await("STATUS=step failed, retrying: ", 30000, msg, sizeof msg);
  assert_non_null(strstr(msg, "injected fault"));
  assert_null(strchr(msg, '\n'));
  await("STATUS=grid 'grid' running", 30000, NULL, 0);
  while (g_watchdogs < 3) await("WATCHDOG=1", 5000, NULL, 0);
  assert_true(maps_libsystemd(grid.pid));
  proc_stop(&grid);
  await("STOPPING=1\n", 5000, msg, sizeof msg);
  proc_stop(&node);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_without_systemd),
      cmocka_unit_test(test_node_ready_watchdog_stopping),
      cmocka_unit_test(test_grid_ready_status_stopping),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
