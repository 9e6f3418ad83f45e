/* test_meter_p1_process.c — a consumer daemon reading a DSMR P1 smart meter
 * over TCP, end to end with the real binary: node, grid, producer + source
 * (csv meter), consumer-0 with `[meter] kind = p1`. The test is the P1
 * dongle: a listening socket on 127.0.0.1 that serves a DSMR 5 telegram
 * (CRC computed) every second, stamped with that second, whose registers the
 * test sets: import = 1.8.1 + 1.8.2 grows by 2-4 Wh a second.
 * Along the way the test drops the connection (the meter reconnects) and
 * sends a corrupt telegram (a wrong CRC, stamped one second ahead with a
 * register a MWh too high) plus garbage: refused and counted, while the
 * grid's readings of consumer-0 equal the register differences exactly:
 * for slot [a, b), C(b) - C(a) with C(t) the import of the last good
 * telegram sent at or before t (the first one before any). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/meter/p1.h"

#include "../unit/p1_fixture/telegrams.h"
#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define SLOT_MS 5000ULL
#define SLOT_S 5
#define FUND 1000000000000ULL
#define NSEED 3 /* grid, producer-0, consumer-0 */
#define DEADLINE_MS 60000
#define MAX_SENT 4096

static char g_dir[120], g_ca[160];
static proc g_node, g_grid, g_prod, g_src, g_cons;

/* ---- the dongle ---- */

typedef struct sent {
  int64_t t_ms, imp;
} sent;

typedef struct dongle {
  int ls;
  unsigned port;
  pthread_t th;
  bool started;
  atomic_bool stop, want_drop, want_corrupt;
  atomic_int conns, drops, corrupts;
  atomic_llong drop_ms, corrupt_ms;
  pthread_mutex_t mu;
  sent log[MAX_SENT]; /* good telegrams written, in order */
  int n;
  int64_t s0;
} dongle;
static dongle g_dg = {.ls = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The registers at second s: tariff 1 grows by 1-3 Wh a second, tariff 2 by 1. */
static int64_t imp1(int64_t s) { return 1234567 + 2 * (s - g_dg.s0) + (s * 7) % 3; }
static int64_t imp2(int64_t s) { return 2345678 + (s - g_dg.s0); }

static size_t telegram(char *out, size_t cap, int64_t t_ms, int64_t i1, int64_t i2, bool corrupt) {
  return p1_test_telegram(out, cap, t_ms, i1, i2, 0, 0, corrupt);
}

static bool send_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    s += w;
    n -= (size_t)w;
  }
  return true;
}

/* One second: the good telegram of second s; the drop or the corrupt
 * telegram when asked for and s is 2 s into a slot. Returns the socket
 * (-1 after a drop or a write error). */
static int dongle_second(dongle *g, int c, int64_t s) {
  char t[1400];
  bool mid = s % SLOT_S == 2;
  if (mid && atomic_load(&g->want_drop)) {
    atomic_store(&g->want_drop, false);
    atomic_store(&g->drop_ms, s * 1000);
    atomic_fetch_add(&g->drops, 1);
    close(c);
    return -1;
  }
  size_t n = telegram(t, sizeof t, s * 1000, imp1(s), imp2(s), false);
  if (!send_all(c, t, n)) {
    close(c);
    return -1;
  }
  pthread_mutex_lock(&g->mu);
  if (g->n < MAX_SENT) g->log[g->n++] = (sent){s * 1000, imp1(s) + imp2(s)};
  pthread_mutex_unlock(&g->mu);
  if (mid && atomic_load(&g->want_corrupt)) {
    atomic_store(&g->want_corrupt, false);
    n = telegram(t, sizeof t, (s + 1) * 1000, imp1(s) + 1000000, imp2(s), true);
    static const char junk[] = "\x02garbage between telegrams!12\r\n\xff\xfe";
    if (!send_all(c, t, n) || !send_all(c, junk, sizeof junk - 1)) {
      close(c);
      return -1;
    }
    atomic_store(&g->corrupt_ms, s * 1000);
    atomic_fetch_add(&g->corrupts, 1);
  }
  return c;
}

static void *dongle_main(void *arg) {
  dongle *g = arg;
  int c = -1;
  while (!atomic_load(&g->stop)) {
    if (c < 0) {
      struct pollfd p = {g->ls, POLLIN, 0};
      if (poll(&p, 1, 100) == 1 && (c = accept(g->ls, NULL, NULL)) >= 0) atomic_fetch_add(&g->conns, 1);
      continue;
    }
    /* just after the next whole second */
    int64_t now = (int64_t)wall_ms();
    sleep_ms((unsigned)(1000 - now % 1000 + 50));
    c = dongle_second(g, c, (int64_t)wall_ms() / 1000);
  }
  if (c >= 0) close(c);
  return NULL;
}

static void dongle_start(void) {
  g_dg.ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  assert_true(g_dg.ls >= 0);
  assert_int_equal(bind(g_dg.ls, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(g_dg.ls, 4), 0);
  assert_int_equal(getsockname(g_dg.ls, (struct sockaddr *)&a, &al), 0);
  g_dg.port = ntohs(a.sin_port);
  g_dg.s0 = (int64_t)wall_ms() / 1000;
  assert_int_equal(pthread_create(&g_dg.th, NULL, dongle_main, &g_dg), 0);
  g_dg.started = true;
}

static void dongle_stop(void) {
  atomic_store(&g_dg.stop, true);
  if (g_dg.started) pthread_join(g_dg.th, NULL);
  g_dg.started = false;
  if (g_dg.ls >= 0) close(g_dg.ls);
  g_dg.ls = -1;
}

/* C(t): the import of the last good telegram at or before t (the first one
 * when none is). */
static int64_t counter_at(int64_t t) {
  int64_t v = g_dg.log[0].imp;
  for (int i = 0; i < g_dg.n && g_dg.log[i].t_ms <= t; i++) v = g_dg.log[i].imp;
  return v;
}

/* ---- the grid ---- */

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

static sqlite3 *grid_db(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/grid/grid.db", g_dir);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    fail_msg("cannot open %s", path);
  sqlite3_busy_timeout(db, 10000);
  return db;
}

/* consumer-0's readings at the grid: slots and Wh (up to cap); the count. */
static int grid_readings(int64_t *slot, int64_t *wh, int cap) {
  sqlite3 *db = grid_db();
  sqlite3_stmt *st = NULL;
  int n = 0;
  if (sqlite3_prepare_v2(db, "SELECT slot, wh FROM readings WHERE entity_id = 'consumer-0' ORDER BY slot",
                         -1, &st, NULL) != SQLITE_OK)
    fail_msg("readings: %s", sqlite3_errmsg(db));
  while (sqlite3_step(st) == SQLITE_ROW && n < cap) {
    slot[n] = sqlite3_column_int64(st, 0);
    wh[n++] = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void write_seeds(void) {
  char path[300], hex[65], line[100];
  path_of(path, sizeof path, "genesis.txt");
  FILE *g = fopen(path, "w");
  assert_non_null(g);
  for (int i = 0; i < NSEED; i++) {
    uint8_t seed[32], addr[32];
    for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(0x35 * (i + 5) + 11 * j);
    assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, addr), 0);
    pg_hex_encode(seed, 32, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g_dir, i);
    write_file(path, line);
    pg_hex_encode(addr, 32, hex);
    if (i != 1) fprintf(g, "%s %llu\n", hex, FUND);
  }
  fclose(g);
}

static void issue(const char *id, const char *role, const char *parent, const char *max_kw) {
  char prefix[200], log[320];
  path_of(prefix, sizeof prefix, id);
  snprintf(log, sizeof log, "%s.issue.log", prefix);
  const char *argv[20] = {P2PGRID_BIN, "ca", "issue", "--dir", g_ca, "--id", id, "--role", role,
                          "--out", prefix};
  int n = 11;
  if (parent) argv[n++] = "--parent", argv[n++] = parent;
  if (max_kw) argv[n++] = "--max-kw", argv[n++] = max_kw;
  if (strcmp(role, "consumer") == 0) argv[n++] = "--host", argv[n++] = "127.0.0.1";
  argv[n] = NULL;
  run_ok(argv, log);
}

static void start(proc *p, const char *cmd, const char *id) {
  char cfg[300];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g_dir, id);
  snprintf(p->name, sizeof p->name, "%s", id);
  proc_start_cmd(p, cmd, cfg, NULL);
}

static void start_world(void) {
  snprintf(g_dir, sizeof g_dir, "%s/p1", g_root);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  snprintf(g_ca, sizeof g_ca, "%s/ca", g_dir);
  ca_init(g_ca);
  harness_tls op;
  char op_prefix[200];
  path_of(op_prefix, sizeof op_prefix, "operator");
  issue("grid", "grid", NULL, NULL);
  ca_issue(g_ca, "operator", "operator", NULL, NULL, op_prefix, &op);
  g_tls = op;
  issue("producer-0", "producer", NULL, "10000");
  issue("source-0", "source", "producer-0", NULL);
  issue("consumer-0", "consumer", NULL, "10000");
  write_seeds();
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  char genesis[300], extra[400], csv[300];
  path_of(genesis, sizeof genesis, "genesis.txt");
  proc_start_coordinator(&g_node, genesis);
  grid_dirs gd = {.dir = g_dir, .ca_dir = g_ca, .node_url = g_node.base, .slot_ms = SLOT_MS};
  path_of(csv, sizeof csv, "source-0.csv");
  write_csv_meter(csv, SLOT_MS, (wall_ms() / SLOT_MS + 400) * SLOT_MS, 20000, 5000);
  write_entity_config(&gd, "grid", "grid", NULL, 0,
                      "mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\n"
                      "grace = 1500ms\npayout_min = 0\ndust_allowance = 10000000\n");
  grid_enrol(&gd, "producer-0", NULL);
  grid_enrol(&gd, "consumer-0", NULL);
  start(&g_grid, "grid", "grid");
  write_entity_config(&gd, "producer", "producer-0", g_grid.base, 1, "ask_per_kwh = 90000000\ngrace = 1s\n");
  start(&g_prod, "producer", "producer-0");
  snprintf(extra, sizeof extra, "\n[meter]\nkind = csv\npath = %s\nwrap = false\n", csv);
  write_entity_config(&gd, "source", "source-0", g_prod.base, -1, extra);
  start(&g_src, "source", "source-0");
  snprintf(extra, sizeof extra,
           "bid_per_kwh = 250000000\n\n[meter]\nkind = p1\nhost = 127.0.0.1\nport = %u\n"
           "quantity = import\nstale = 30s\nidle = 10s\n",
           g_dg.port);
  write_entity_config(&gd, "consumer", "consumer-0", g_grid.base, 2, extra);
  start(&g_cons, "consumer", "consumer-0");
}

/* Waits until cond() holds (deadline), failing with what. */
static void wait_for(bool (*cond)(void), const char *what) {
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (!cond()) {
    if (now_ms() > deadline) {
      dump_log(&g_cons);
      dump_log(&g_grid);
      fail_msg("timed out waiting for %s", what);
    }
    sleep_ms(100);
  }
}

static int64_t g_want_slot; /* wait until the grid has consumer-0's reading of this slot */
static bool has_reading(void) {
  int64_t slot[256], wh[256];
  int n = grid_readings(slot, wh, 256);
  return n > 0 && slot[n - 1] >= g_want_slot;
}
static bool reconnected(void) { return atomic_load(&g_dg.conns) >= 2; }
static bool corrupted(void) { return atomic_load(&g_dg.corrupts) >= 1; }

static void test_p1_consumer(void **state) {
  (void)state;
  uint64_t t0 = now_ms();
  dongle_start();
  start_world();
  /* a first reading, then the connection dropped mid-slot */
  g_want_slot = (int64_t)(wall_ms() / SLOT_MS) + 1;
  wait_for(has_reading, "consumer-0's first reading at the grid");
  atomic_store(&g_dg.want_drop, true);
  wait_for(reconnected, "the P1 meter to reconnect");
  atomic_store(&g_dg.want_corrupt, true);
  wait_for(corrupted, "the corrupt telegram to be sent");
  int64_t last_event = atomic_load(&g_dg.corrupt_ms);
  g_want_slot = last_event / (int64_t)SLOT_MS + 2;
  wait_for(has_reading, "the readings after the corrupt telegram");

  int64_t slot[256], wh[256];
  int n = grid_readings(slot, wh, 256);
  pthread_mutex_lock(&g_dg.mu);
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    int64_t a = slot[i] * (int64_t)SLOT_MS, b = a + (int64_t)SLOT_MS;
    int64_t want = counter_at(b) - counter_at(a);
    fprintf(stderr, "  slot %lld: grid %lld Wh, registers %lld Wh\n", (long long)slot[i],
            (long long)wh[i], (long long)want);
    if (wh[i] != want) {
      pthread_mutex_unlock(&g_dg.mu);
      fail_msg("slot %lld: the grid booked %lld Wh, the registers moved %lld Wh", (long long)slot[i],
               (long long)wh[i], (long long)want);
    }
    if (i > 0 && slot[i] != slot[i - 1] + 1) fail_msg("slot %lld missing", (long long)slot[i - 1] + 1);
    total += wh[i];
  }
  pthread_mutex_unlock(&g_dg.mu);
  assert_true(n >= 4);
  assert_true(total > 0);
  /* the slot of the drop and of the corrupt telegram are among them, with energy */
  int64_t drop_slot = atomic_load(&g_dg.drop_ms) / (int64_t)SLOT_MS;
  assert_true(slot[0] <= drop_slot && drop_slot < slot[n - 1]);
  assert_true(log_has(&g_cons, "p1 127.0.0.1:"));
  assert_true(log_has(&g_cons, "reconnected"));
  assert_true(log_has(&g_cons, "telegram refused (1 so far): CRC mismatch"));
  assert_false(log_has(&g_cons, "a register went down"));
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_node};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) proc_stop(all[i]);
  dongle_stop();
  fprintf(stderr, "p1 consumer: %d slots, %lld Wh, in %.1f s\n", n, (long long)total,
          (double)(now_ms() - t0) / 1000.0);
}

static int teardown(void **state) {
  (void)state;
  dongle_stop();
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_node};
  proc_abort_all(all, sizeof all / sizeof all[0]);
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  return harness_mkroot("/tmp/p2pgrid-p1-XXXXXX");
}

static int group_teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_p1_consumer, teardown)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
