/* The SunSpec meter's poller (meter_sunspec.c) against a Modbus TCP device
 * in this process (libmodbus's own server side, a thread on 127.0.0.1): the
 * counter followed exactly, an acc32 wrap, a reset, a block that moved (the
 * map found again), the device gone and back on the same port, a meter 203
 * read for import only, a device without a SunSpec map, and a device that
 * lies (a block longer than one request, a scale factor not implemented).
 * The meter's clock ticks 100 ms at every reading of it, so time moves
 * between polls; the test checks the total energy over a window from before
 * the first poll to one it has seen, which must equal the counted steps. */
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/meter/sunspec.h"

/* ---- a clock that moves 100 ms each time it is read ---------------------- */

static _Atomic uint64_t g_now;
static uint64_t tick_now(const pg_clock *c) {
  (void)c;
  return atomic_fetch_add(&g_now, 100) + 100;
}
static const pg_clock k_tick = {tick_now};

/* ---- the device -------------------------------------------------------------- */

#define NREG 300
typedef struct device {
  pthread_t th;
  pthread_mutex_t mu;
  modbus_mapping_t *map; /* holding registers 40000..40299, under mu */
  modbus_t *ctx;
  int listen_fd, client_fd;
  int port;
  atomic_bool stop;
} device;

static void *serve(void *arg) {
  device *v = arg;
  uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
  while (!atomic_load(&v->stop)) {
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(v->listen_fd, &rd);
    int top = v->listen_fd;
    if (v->client_fd >= 0) FD_SET(v->client_fd, &rd), top = top > v->client_fd ? top : v->client_fd;
    struct timeval tv = {0, 20000};
    if (select(top + 1, &rd, NULL, NULL, &tv) <= 0) continue;
    if (FD_ISSET(v->listen_fd, &rd)) {
      if (v->client_fd >= 0) close(v->client_fd);
      v->client_fd = accept(v->listen_fd, NULL, NULL);
      continue;
    }
    modbus_set_socket(v->ctx, v->client_fd);
    int n = modbus_receive(v->ctx, q);
    if (n > 0) {
      pthread_mutex_lock(&v->mu);
      (void)modbus_reply(v->ctx, q, n, v->map);
      pthread_mutex_unlock(&v->mu);
    } else if (n < 0) {
      close(v->client_fd);
      v->client_fd = -1;
    }
  }
  if (v->client_fd >= 0) close(v->client_fd);
  close(v->listen_fd);
  return NULL;
}

/* Starts listening on port (0: any free one). */
static void device_up(device *v, int port) {
  v->ctx = modbus_new_tcp("127.0.0.1", port);
  assert_non_null(v->ctx);
  v->listen_fd = modbus_tcp_listen(v->ctx, 2);
  assert_true(v->listen_fd >= 0);
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  assert_int_equal(getsockname(v->listen_fd, (struct sockaddr *)&a, &al), 0);
  v->port = ntohs(a.sin_port);
  v->client_fd = -1;
  atomic_store(&v->stop, false);
  assert_int_equal(pthread_create(&v->th, NULL, serve, v), 0);
}

static void device_down(device *v) {
  atomic_store(&v->stop, true);
  pthread_join(v->th, NULL);
  modbus_free(v->ctx);
}

static void device_new(device *v) {
  memset(v, 0, sizeof *v);
  pthread_mutex_init(&v->mu, NULL);
  v->map = modbus_mapping_new_start_address(0, 0, 0, 0, 40000, NREG, 0, 0);
  assert_non_null(v->map);
  device_up(v, 0);
}

static void device_free(device *v) {
  device_down(v);
  modbus_mapping_free(v->map);
  pthread_mutex_destroy(&v->mu);
}

static uint16_t *reg(device *v, int addr) { return &v->map->tab_registers[addr - 40000]; }

/* "SunS", model 1 (L 66), [an unknown model 900 (L 2)], model `id` (103 or
 * 203) with counter raw at its counter offset and SF sf, end. */
static void device_image(device *v, uint16_t id, bool shifted, uint32_t raw, int sf) {
  pthread_mutex_lock(&v->mu);
  memset(v->map->tab_registers, 0, NREG * sizeof(uint16_t));
  *reg(v, 40000) = 0x5375, *reg(v, 40001) = 0x6E53, *reg(v, 40002) = 1, *reg(v, 40003) = 66;
  int a = 40070;
  if (shifted) *reg(v, a) = 900, *reg(v, a + 1) = 2, a += 4;
  uint16_t len = id == 103 ? 50 : 105;
  *reg(v, a) = id, *reg(v, a + 1) = len;
  int off = id == 103 ? 24 : 46, sf_off = id == 103 ? 26 : 54;
  *reg(v, a + off) = (uint16_t)(raw >> 16), *reg(v, a + off + 1) = (uint16_t)raw;
  *reg(v, a + sf_off) = (uint16_t)(int16_t)sf;
  if (id == 203) *reg(v, a + 38) = 0, *reg(v, a + 39) = 5; /* TotWhExp 5 */
  *reg(v, a + 2 + len) = 0xFFFF;
  pthread_mutex_unlock(&v->mu);
}

/* Sets the counter of the block at addr (103: off 24; 203 import: off 46,
 * export: off 38). */
static void device_counter(device *v, int addr, uint32_t raw) {
  pthread_mutex_lock(&v->mu);
  *reg(v, addr) = (uint16_t)(raw >> 16), *reg(v, addr + 1) = (uint16_t)raw;
  pthread_mutex_unlock(&v->mu);
}

/* ---- the meter ----------------------------------------------------------------- */

static pg_meter *meter_new(int port, pg_sunspec_quantity q) {
  pg_meter_sunspec_opts o = {.host = "127.0.0.1", .port = (uint16_t)port, .quantity = q,
                             .poll_ms = 100, .timeout_ms = 300, .stale_ms = 3600000,
                             .clock = &k_tick};
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  if (pg_meter_sunspec_new(&o, &m, &d) != PG_OK) fail_msg("%s", d.msg);
  return m;
}

static pg_meter_sunspec_stats stats(pg_meter *m) {
  pg_meter_sunspec_stats s;
  assert_int_equal(pg_meter_sunspec_stats_get(m, &s), PG_OK);
  return s;
}

/* Waits (10 s at most) for `more` further successful polls. */
static void wait_polls(pg_meter *m, uint64_t more) {
  uint64_t want = stats(m).polls + more;
  for (int i = 0; i < 1000 && stats(m).polls < want; i++) usleep(10000);
  if (stats(m).polls < want) fail_msg("no poll within 10 s (failed %llu)", (unsigned long long)stats(m).failed);
}

/* Energy from before the first poll to now (every poll until now is in). */
static int64_t total(pg_meter *m) {
  int64_t wh = -1;
  pg_diag d = {{0}};
  uint64_t to = atomic_load(&g_now);
  if (pg_meter_energy(m, 1, to, &wh, &d) != PG_OK) fail_msg("%s", d.msg);
  return wh;
}

static int setup(void **state) {
  (void)state;
  atomic_store(&g_now, 1800000000000ull);
  return 0;
}

static void test_follow_wrap_reset(void **state) {
  (void)state;
  device v;
  device_new(&v);
  device_image(&v, 103, false, 2333260, 1);
  pg_meter *m = meter_new(v.port, PG_SUNSPEC_Q_INVERTER);
  wait_polls(m, 2);
  assert_true(stats(m).connected);
  assert_int_equal(stats(m).model, 103);
  assert_int_equal(total(m), 0); /* the first reading is the baseline */
  device_counter(&v, 40070 + 24, 2333260 + 100); /* +1000 Wh */
  wait_polls(m, 2);
  assert_int_equal(total(m), 1000);
  device_counter(&v, 40070 + 24, 1000); /* down, far from the top: a reset */
  wait_polls(m, 2);
  assert_int_equal(stats(m).resets, 1);
  assert_int_equal(total(m), 1000);
  device_counter(&v, 40070 + 24, 0xFFFFFF00u); /* up: counted */
  wait_polls(m, 2);
  int64_t top = 1000 + (int64_t)(0xFFFFFF00u - 1000) * 10;
  assert_int_equal(total(m), top);
  /* §A5's wrap, 272 raw = 2720 Wh, but within 100-300 ms of clock: over
   * 10 MW (max_w), so no plausible wrap: a reset, nothing added */
  device_counter(&v, 40070 + 24, 0x10);
  wait_polls(m, 2);
  assert_int_equal(stats(m).wraps, 0);
  assert_int_equal(stats(m).resets, 2);
  assert_int_equal(total(m), top);
  device_counter(&v, 40070 + 24, 0xFFFFFFF0u);
  wait_polls(m, 2);
  top += (int64_t)(0xFFFFFFF0u - 0x10) * 10;
  assert_int_equal(total(m), top);
  device_counter(&v, 40070 + 24, 0x2); /* a wrap of 18 raw = 180 Wh: plausible */
  wait_polls(m, 2);
  assert_int_equal(stats(m).wraps, 1);
  assert_int_equal(total(m), top + 180);
  pg_meter_free(m);
  device_free(&v);
}

/* The block moved (model 900 inserted before it): the meter finds the map
 * again and counts on. */
static void test_moved_block_and_restart(void **state) {
  (void)state;
  device v;
  device_new(&v);
  device_image(&v, 103, false, 5000, 0);
  pg_meter *m = meter_new(v.port, PG_SUNSPEC_Q_INVERTER);
  wait_polls(m, 2);
  device_image(&v, 103, true, 5070, 0);
  for (int i = 0; i < 1000 && stats(m).reconnects < 1; i++) usleep(10000);
  assert_int_equal(stats(m).reconnects, 1);
  wait_polls(m, 2);
  assert_int_equal(total(m), 70);
  /* gone: the listening socket closes; back on the same port 30 Wh further */
  int port = v.port;
  device_down(&v);
  for (int i = 0; i < 1000 && stats(m).connected; i++) usleep(10000);
  assert_false(stats(m).connected);
  device_image(&v, 103, true, 5100, 0);
  device_up(&v, port);
  for (int i = 0; i < 1000 && stats(m).reconnects < 2; i++) usleep(10000);
  assert_int_equal(stats(m).reconnects, 2);
  wait_polls(m, 2);
  assert_int_equal(total(m), 100);
  assert_int_equal(stats(m).resets, 0);
  pg_meter_free(m);
  device_free(&v);
}

static void test_meter_import_and_no_map(void **state) {
  (void)state;
  device v;
  device_new(&v);
  device_image(&v, 203, false, 123456, -1); /* 12345.6 Wh imported */
  pg_meter *m = meter_new(v.port, PG_SUNSPEC_Q_IMPORT);
  wait_polls(m, 2);
  assert_int_equal(stats(m).model, 203);
  device_counter(&v, 40070 + 38, 999); /* export moves: not ours */
  device_counter(&v, 40070 + 46, 123456 + 45); /* +4.5 Wh: 12350.1 -> floor 12350 */
  wait_polls(m, 2);
  assert_int_equal(total(m), 5); /* 4.5 Wh exactly, rounded half up at the edge */
  pg_meter_free(m);
  /* a device without "SunS": no reading, failures counted */
  pthread_mutex_lock(&v.mu);
  *reg(&v, 40000) = 0;
  pthread_mutex_unlock(&v.mu);
  m = meter_new(v.port, PG_SUNSPEC_Q_IMPORT);
  for (int i = 0; i < 300 && stats(m).failed < 1; i++) usleep(10000);
  assert_true(stats(m).failed >= 1);
  assert_false(stats(m).connected);
  int64_t wh = -1;
  pg_diag d = {{0}};
  assert_int_equal(pg_meter_energy(m, 1, 2, &wh, &d), PG_ERR_UNAVAILABLE);
  pg_meter_free(m);
  device_free(&v);
}

/* A device that lies: a block too long for one request, then a counter
 * whose scale factor is "not implemented" (a device error: no reading, the
 * connection kept), then fixed. */
static void test_hostile_device(void **state) {
  (void)state;
  device v;
  device_new(&v);
  device_image(&v, 103, false, 7000, 0);
  pthread_mutex_lock(&v.mu);
  *reg(&v, 40071) = 200, *reg(&v, 40122) = 0, *reg(&v, 40272) = 0xFFFF;
  pthread_mutex_unlock(&v.mu);
  pg_meter *m = meter_new(v.port, PG_SUNSPEC_Q_INVERTER);
  for (int i = 0; i < 300 && stats(m).failed < 1; i++) usleep(10000);
  assert_true(stats(m).failed >= 1);
  assert_false(stats(m).connected);
  pg_meter_free(m);
  device_image(&v, 103, false, 7000, 0);
  pthread_mutex_lock(&v.mu);
  *reg(&v, 40070 + 26) = 0x8000; /* WH_SF not implemented */
  pthread_mutex_unlock(&v.mu);
  m = meter_new(v.port, PG_SUNSPEC_Q_INVERTER);
  for (int i = 0; i < 300 && stats(m).failed < 3; i++) usleep(10000);
  assert_true(stats(m).failed >= 3);
  assert_true(stats(m).connected);
  assert_int_equal(stats(m).polls, 0);
  int64_t wh = -1;
  pg_diag d = {{0}};
  assert_int_equal(pg_meter_energy(m, 1, 2, &wh, &d), PG_ERR_UNAVAILABLE);
  device_counter(&v, 40070 + 24, 7000);
  pthread_mutex_lock(&v.mu);
  *reg(&v, 40070 + 26) = 0;
  pthread_mutex_unlock(&v.mu);
  wait_polls(m, 2);
  assert_int_equal(stats(m).reconnects, 0);
  assert_int_equal(total(m), 0);
  pg_meter_free(m);
  device_free(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_follow_wrap_reset, setup),
      cmocka_unit_test_setup(test_moved_block_and_restart, setup),
      cmocka_unit_test_setup(test_meter_import_and_no_map, setup),
      cmocka_unit_test_setup(test_hostile_device, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
