/* The P1 meter (meter.h "DSMR P1"): the reading series' slot rules on their
 * own (boundaries between telegrams, staleness and its fence, late and
 * decreasing telegrams, memory), then the meter end to end over TCP (a
 * listening socket of the test serves telegrams, drops the connection,
 * sends a corrupt telegram) and over a serial device (a pseudo-terminal),
 * and its config keys. Every wait is a condition polled against a deadline. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/meter/p1_internal.h"
#include "p1_fixture/telegrams.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/meter/p1.h"

#define T0 1800000000000LL /* a whole minute */
#define WAIT_MS 15000

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- the series ---- */

static int64_t energy(pg_p1_series *s, pg_meter_p1_quantity q, int64_t a, int64_t b, int64_t now,
                      int want_rc) {
  int64_t wh = -1;
  pg_diag d = {{0}};
  int rc = pg_p1_series_energy(s, q, (uint64_t)a, (uint64_t)b, (uint64_t)now, 60000, &wh, &d);
  if (rc != want_rc) fail_msg("[%lld, %lld): rc %d (%s), want %d", (long long)(a - T0),
                              (long long)(b - T0), rc, d.msg, want_rc);
  return wh;
}

static void test_series_boundaries(void **state) {
  (void)state;
  pg_p1_series s;
  assert_int_equal(pg_p1_series_init(&s, 1000), PG_OK);
  energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, T0 + 999999, PG_ERR_UNAVAILABLE);
  /* telegrams at 1 s, 9 s, 10 s, 13 s, 21 s (import, export Wh) */
  assert_int_equal(pg_p1_series_add(&s, T0 + 1000, 100, 50), PG_P1_ADDED);
  assert_int_equal(pg_p1_series_add(&s, T0 + 9000, 110, 50), PG_P1_ADDED);
  /* window [0, 10 s): none at or after 10 s yet */
  energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, T0 + 10000, PG_ERR_UNAVAILABLE);
  assert_int_equal(pg_p1_series_add(&s, T0 + 10000, 120, 51), PG_P1_ADDED);
  /* C(0) = the first telegram's (nothing before it), C(10 s) = the 10 s telegram */
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, 0, PG_OK), 20);
  assert_int_equal(energy(&s, PG_METER_P1_EXPORT, T0, T0 + 10000, 0, PG_OK), 1);
  assert_int_equal(energy(&s, PG_METER_P1_NET, T0, T0 + 10000, 0, PG_OK), 19);
  assert_int_equal(pg_p1_series_add(&s, T0 + 13000, 125, 60), PG_P1_ADDED);
  assert_int_equal(pg_p1_series_add(&s, T0 + 21000, 130, 80), PG_P1_ADDED);
  /* [10, 20): C(20 s) is the 13 s telegram; the 13..20 s energy goes to the next slot */
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0 + 10000, T0 + 20000, 0, PG_OK), 5);
  assert_int_equal(energy(&s, PG_METER_P1_EXPORT, T0 + 10000, T0 + 20000, 0, PG_OK), 9);
  assert_int_equal(energy(&s, PG_METER_P1_NET, T0 + 10000, T0 + 20000, 0, PG_OK), 0); /* exporting */
  /* asked again: the same */
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0 + 10000, T0 + 20000, 0, PG_OK), 5);
  /* the union is the sum */
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0 + 10000, T0 + 21000, 0, PG_OK), 10);
  /* late and decreasing telegrams are refused and change nothing */
  assert_int_equal(pg_p1_series_add(&s, T0 + 21000, 999, 999), PG_P1_LATE);
  assert_int_equal(pg_p1_series_add(&s, T0 + 15000, 999, 999), PG_P1_LATE);
  assert_int_equal(pg_p1_series_add(&s, T0 + 22000, 129, 80), PG_P1_REGRESSION);
  assert_int_equal(pg_p1_series_add(&s, T0 + 22000, 130, 79), PG_P1_REGRESSION);
  /* the data before the last window's start is forgotten */
  energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, 0, PG_ERR_NOT_FOUND);
  pg_p1_series_free(&s);
}

/* No telegram after the window: final once stale, the held counters at the
 * end; the end becomes a fence, and the gap's energy arrives with the next
 * telegram in the next window. */
static void test_series_stale(void **state) {
  (void)state;
  pg_p1_series s;
  assert_int_equal(pg_p1_series_init(&s, 1000), PG_OK);
  assert_int_equal(pg_p1_series_add(&s, T0 + 1000, 100, 0), PG_P1_ADDED);
  assert_int_equal(pg_p1_series_add(&s, T0 + 5000, 104, 0), PG_P1_ADDED);
  energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, T0 + 10000 + 59999, PG_ERR_UNAVAILABLE);
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, T0 + 70000, PG_OK), 4);
  /* a telegram stamped before the fence comes late: refused */
  assert_int_equal(pg_p1_series_add(&s, T0 + 9000, 200, 0), PG_P1_LATE);
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0, T0 + 10000, T0 + 70000, PG_OK), 4);
  assert_int_equal(pg_p1_series_add(&s, T0 + 75000, 150, 0), PG_P1_ADDED);
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0 + 10000, T0 + 75000, T0 + 80000, PG_OK), 46);
  pg_p1_series_free(&s);
}

/* Equal counters are one reading; a full ring drops the oldest. */
static void test_series_memory(void **state) {
  (void)state;
  pg_p1_series s;
  assert_int_equal(pg_p1_series_init(&s, 4), PG_OK);
  for (int k = 0; k < 100; k++) assert_int_equal(pg_p1_series_add(&s, T0 + k * 1000, 7, 0), PG_P1_ADDED);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.newest_ms, T0 + 99000);
  for (int k = 100; k < 110; k++) assert_int_equal(pg_p1_series_add(&s, T0 + k * 1000, k, 0), PG_P1_ADDED);
  assert_int_equal(s.n, 4);
  energy(&s, PG_METER_P1_IMPORT, T0, T0 + 105000, 0, PG_ERR_NOT_FOUND);
  assert_int_equal(energy(&s, PG_METER_P1_IMPORT, T0 + 106000, T0 + 109000, 0, PG_OK), 3);
  pg_p1_series_free(&s);
}

/* ---- a telegram source ---- */

static size_t telegram(char *out, size_t cap, int64_t t_ms, int64_t imp1, int64_t imp2,
                       int64_t exp1, int64_t exp2) {
  return p1_test_telegram(out, cap, t_ms, imp1, imp2, exp1, exp2, false);
}

static bool wait_stats(pg_meter *m, uint64_t telegrams, uint64_t rejected, pg_meter_p1_stats *st) {
  for (int i = 0; i < WAIT_MS / 20; i++) {
    assert_int_equal(pg_meter_p1_stats_get(m, st), PG_OK);
    if (st->telegrams >= telegrams && st->rejected >= rejected) return true;
    sleep_ms(20);
  }
  return false;
}

static void write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    assert_true(w > 0);
    s += w;
    n -= (size_t)w;
  }
}

static int listen_any(unsigned *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Over TCP: garbage and a partial telegram first, good telegrams, a corrupt
 * one (refused, counted), the connection dropped and taken again. */
static void test_meter_tcp(void **state) {
  (void)state;
  unsigned port;
  int ls = listen_any(&port);
  pg_vclock clk;
  pg_vclock_init(&clk, (uint64_t)T0);
  pg_meter_p1_opts o = {.host = "127.0.0.1", .port = (uint16_t)port,
                        .quantity = PG_METER_P1_IMPORT, .clock = &clk.base};
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_meter_p1_new(&o, &m, &d), PG_OK);
  assert_string_equal(pg_meter_kind(m), "p1");
  int c = accept(ls, NULL, NULL);
  assert_true(c >= 0);
  char t[1200];
  write_all(c, "xx garbage\r\n/TST5 cut off here", 30);
  size_t n = telegram(t, sizeof t, T0 + 1000, 1000, 2000, 0, 0);
  write_all(c, t, n);
  n = telegram(t, sizeof t, T0 + 5000, 1100, 2000, 0, 0);
  write_all(c, t, n);
  n = telegram(t, sizeof t, T0 + 6000, 999999, 2000, 0, 0);
  strstr(t, "1-0:1.8.1(")[12] ^= 1; /* a digit of 1.8.1 changed: CRC mismatch */
  write_all(c, t, n);
  pg_meter_p1_stats st;
  assert_true(wait_stats(m, 2, 1, &st));
  assert_int_equal(st.newest_ms, T0 + 5000);
  int64_t wh;
  assert_int_equal(pg_meter_energy(m, (uint64_t)T0, (uint64_t)T0 + 10000, &wh, &d), PG_ERR_UNAVAILABLE);
  close(c); /* dropped: the meter reconnects after its 1 s backoff */
  c = accept(ls, NULL, NULL);
  assert_true(c >= 0);
  n = telegram(t, sizeof t, T0 + 10000, 1234, 2001, 0, 0);
  write_all(c, t, n);
  assert_true(wait_stats(m, 3, 1, &st));
  assert_int_equal(st.reconnects, 1);
  assert_true(st.connected);
  assert_int_equal(pg_meter_energy(m, (uint64_t)T0, (uint64_t)T0 + 10000, &wh, &d), PG_OK);
  assert_int_equal(wh, 1234 + 2001 - 3000);
  pg_meter_free(m);
  close(c);
  close(ls);
}

/* Over a serial device: the meter sets 115200 8N1 raw on a pseudo-terminal
 * and reads telegrams written to its other side, 7E1 parity bits and all. */
static void test_meter_serial(void **state) {
  (void)state;
  int master, slave;
  char name[128];
  assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
  pg_meter_p1_opts o = {.device = name, .quantity = PG_METER_P1_EXPORT};
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_meter_p1_new(&o, &m, &d), PG_OK);
  pg_meter_p1_stats st;
  for (int i = 0; i < 200 && !(pg_meter_p1_stats_get(m, &st) == PG_OK && st.connected); i++) sleep_ms(20);
  assert_true(st.connected);
  sleep_ms(100); /* the meter flushes its input once after opening */
  char t[1200];
  int64_t now = (int64_t)pg_clock_now(pg_clock_real()) / 1000 * 1000; /* whole seconds, as stamped */
  size_t n = telegram(t, sizeof t, now - 20000, 5, 5, 1000, 0);
  write_all(master, t, n);
  n = telegram(t, sizeof t, now - 10000, 5, 5, 1500, 250);
  for (size_t i = 0; i < n; i++) t[i] = (char)((uint8_t)t[i] | (__builtin_popcount((uint8_t)t[i]) & 1 ? 0x80 : 0));
  write_all(master, t, n);
  assert_true(wait_stats(m, 2, 0, &st));
  int64_t wh;
  assert_int_equal(pg_meter_energy(m, (uint64_t)(now - 20000), (uint64_t)(now - 10000), &wh, &d), PG_OK);
  assert_int_equal(wh, 750);
  pg_meter_free(m);
  close(slave);
  close(master);
}

/* ---- config ---- */

static int from_ini(const char *text, pg_meter **m, pg_diag *d) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_string(c, "p1.ini", text, strlen(text), d), PG_OK);
  int rc = pg_meter_from_config(c, "meter", 1, m, d);
  pg_config_free(c);
  return rc;
}

static void expect_config_error(const char *text, const char *needle) {
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  assert_int_equal(from_ini(text, &m, &d), PG_ERR_CONFIG);
  if (!strstr(d.msg, needle)) fail_msg("'%s' lacks '%s'", d.msg, needle);
  assert_null(m);
}

static void test_config(void **state) {
  (void)state;
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  assert_int_equal(from_ini("[meter]\nkind = p1\nhost = 127.0.0.1\nport = 9\nquantity = net\n"
                            "stale = 30s\nidle = 20s\n", &m, &d), PG_OK);
  assert_string_equal(pg_meter_kind(m), "p1");
  pg_meter_free(m);
  /* the example: made, and freed at once while it still tries to connect */
  char path[512], *text = NULL;
  snprintf(path, sizeof path, "%s/examples/grid/consumer-p1.ini", PG_SOURCE_DIR);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  text = calloc(1, 8192);
  assert_non_null(text);
  assert_true(fread(text, 1, 8191, f) > 0);
  fclose(f);
  uint64_t t0 = pg_monotonic_ms();
  assert_int_equal(from_ini(text, &m, &d), PG_OK);
  pg_meter_free(m);
  assert_true(pg_monotonic_ms() - t0 < 2000);
  free(text);
  expect_config_error("[meter]\nkind = p1\nhost = h\n", "quantity");
  expect_config_error("[meter]\nkind = p1\nhost = h\nquantity = import\n", "either host and port");
  expect_config_error("[meter]\nkind = p1\nhost = h\nport = 1\ndevice = /dev/ttyUSB0\nquantity = import\n",
                      "not both or neither");
  expect_config_error("[meter]\nkind = p1\nquantity = import\n", "either host and port");
  expect_config_error("[meter]\nkind = p1\ndevice = /dev/x\nquantity = gas\n",
                      "'gas' is not import, export or net");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_series_boundaries), cmocka_unit_test(test_series_stale),
      cmocka_unit_test(test_series_memory),     cmocka_unit_test(test_meter_tcp),
      cmocka_unit_test(test_meter_serial),      cmocka_unit_test(test_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
