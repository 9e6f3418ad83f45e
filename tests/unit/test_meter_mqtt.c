/* The MQTT meter against a real broker: /usr/sbin/mosquitto is started on an
 * ephemeral port of 127.0.0.1 for the test group (and restarted by the
 * reconnect test); a libmosquitto client publishes. The meter runs on a
 * virtual clock: the test sets the time, publishes, and waits until the meter
 * has counted the message, so every sample has the time the test chose.
 * Every wait is a condition polled against a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mosquitto.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/meter/meter.h"
#include "test_util_tmpdir.h"

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define MIN_MS 60000ull
#define H_MS 3600000ull
#define T0 1800000000000ull
#define STALE_MS 60000ull
#define WAIT_MS 10000
#define RECONNECT_WAIT_MS 30000

typedef struct broker {
  pid_t pid;
  int port;
  char *dir, conf[128], log[128];
} broker;

static broker B;
static pg_vclock VC;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &len) != 0)
    return -1;
  close(s);
  return ntohs(a.sin_port);
}

static int can_connect(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  if (s >= 0) close(s);
  return ok;
}

static void print_broker_log(void) {
  FILE *f = fopen(B.log, "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) fprintf(stderr, "  broker: %s", line);
  if (f) fclose(f);
}

/* Starts the broker on B.port and waits until it accepts connections. The
 * broker dies with this process (PR_SET_PDEATHSIG, as the integration
 * harness's harness_child_dies_with_parent): a killed test leaves no broker
 * on its port. Called from the main thread only (the signal follows the
 * forking thread). */
static int broker_start(void) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(128 + SIGKILL);
    int fd = open(B.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(MOSQUITTO_BIN, MOSQUITTO_BIN, "-c", B.conf, (char *)NULL);
    _exit(127);
  }
  B.pid = pid;
  uint64_t deadline = pg_monotonic_ms() + WAIT_MS;
  while (pg_monotonic_ms() < deadline) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      B.pid = 0;
      print_broker_log();
      return -1;
    }
    if (can_connect(B.port)) return 0;
    sleep_ms(10);
  }
  return -1;
}

static void broker_stop(void) {
  if (B.pid <= 0) return;
  kill(B.pid, SIGTERM);
  uint64_t deadline = pg_monotonic_ms() + WAIT_MS;
  int st;
  while (waitpid(B.pid, &st, WNOHANG) == 0) {
    if (pg_monotonic_ms() > deadline) {
      kill(B.pid, SIGKILL);
      waitpid(B.pid, &st, 0);
      break;
    }
    sleep_ms(10);
  }
  B.pid = 0;
}

static int group_setup(void **state) {
  (void)state;
  if (access(MOSQUITTO_BIN, X_OK) != 0) {
    fprintf(stderr, "%s is missing (scripts/bootstrap installs mosquitto)\n", MOSQUITTO_BIN);
    return -1;
  }
  mosquitto_lib_init();
  B.dir = tu_mktmp("pg_meter_mqtt");
  chmod(B.dir, 0755); /* the broker may drop to user mosquitto */
  snprintf(B.conf, sizeof B.conf, "%s/mosquitto.conf", B.dir);
  snprintf(B.log, sizeof B.log, "%s/mosquitto.log", B.dir);
  B.port = free_port();
  if (B.port <= 0) return -1;
  FILE *f = fopen(B.conf, "w");
  if (!f) return -1;
  fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", B.port);
  fclose(f);
  chmod(B.conf, 0644);
  pg_vclock_init(&VC, T0);
  return broker_start();
}

static int group_teardown(void **state) {
  (void)state;
  broker_stop();
  if (B.dir) tu_rmrf(B.dir); /* NULL when group_setup failed before making it */
  mosquitto_lib_cleanup();
  return 0;
}

/* ---- publisher and waits ---- */

static struct mosquitto *pub_new(void) {
  struct mosquitto *p = mosquitto_new(NULL, true, NULL);
  assert_non_null(p);
  int rc = mosquitto_connect(p, "127.0.0.1", B.port, 30);
  if (rc != MOSQ_ERR_SUCCESS) fail_msg("publisher connect: %s", mosquitto_strerror(rc));
  assert_int_equal(mosquitto_loop_start(p), MOSQ_ERR_SUCCESS);
  return p;
}

static void pub_free(struct mosquitto *p) {
  mosquitto_disconnect(p);
  mosquitto_loop_stop(p, false);
  mosquitto_destroy(p);
}

static void pub_raw(struct mosquitto *p, const char *topic, const void *data, size_t len) {
  int rc = mosquitto_publish(p, NULL, topic, (int)len, data, 1, false);
  if (rc != MOSQ_ERR_SUCCESS) fail_msg("publish: %s", mosquitto_strerror(rc));
}

static pg_meter_mqtt_stats stats(pg_meter *m) {
  pg_meter_mqtt_stats st;
  assert_int_equal(pg_meter_mqtt_stats_get(m, &st), PG_OK);
  return st;
}

/* Waits until the meter has counted `samples` good and `rejected` bad payloads. */
static void wait_counts(pg_meter *m, uint64_t samples, uint64_t rejected) {
  uint64_t deadline = pg_monotonic_ms() + WAIT_MS;
  pg_meter_mqtt_stats st;
  for (;;) {
    st = stats(m);
    if (st.samples == samples && st.rejected == rejected) return;
    if (st.samples > samples || st.rejected > rejected || pg_monotonic_ms() > deadline) break;
    sleep_ms(2);
  }
  fail_msg("meter counted %llu samples and %llu rejected, want %llu and %llu",
           (unsigned long long)st.samples, (unsigned long long)st.rejected,
           (unsigned long long)samples, (unsigned long long)rejected);
}

static void wait_connected(pg_meter *m, bool want, uint64_t reconnects, int ms) {
  uint64_t deadline = pg_monotonic_ms() + (uint64_t)ms;
  pg_meter_mqtt_stats st;
  do {
    st = stats(m);
    if (st.connected == want && (!want || st.reconnects == reconnects)) return;
    sleep_ms(5);
  } while (pg_monotonic_ms() < deadline);
  fail_msg("meter connected=%d reconnects=%llu, want %d and %llu", st.connected,
           (unsigned long long)st.reconnects, want, (unsigned long long)reconnects);
}

static pg_meter *meter_new(const char *topic, pg_meter_mqtt_kind kind, const char *json_key) {
  pg_meter_mqtt_opts o = {0};
  o.host = "127.0.0.1";
  o.port = (uint16_t)B.port;
  o.topic = topic;
  o.kind = kind;
  o.json_key = json_key;
  o.stale_ms = STALE_MS;
  o.clock = &VC.base;
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  if (pg_meter_mqtt_new(&o, &m, &d)) fail_msg("pg_meter_mqtt_new: %s", d.msg);
  wait_connected(m, true, 0, WAIT_MS);
  return m;
}

/* Sets the clock to t, publishes, and waits for the meter to take it. */
static void sample_at(pg_meter *m, struct mosquitto *p, const char *topic, uint64_t t,
                      const char *payload) {
  pg_meter_mqtt_stats st = stats(m);
  pg_vclock_set(&VC, t);
  pub_raw(p, topic, payload, strlen(payload));
  wait_counts(m, st.samples + 1, st.rejected);
}

static int64_t energy_ok(pg_meter *m, uint64_t from, uint64_t to) {
  int64_t wh = -1;
  pg_diag d = {{0}};
  if (pg_meter_energy(m, from, to, &wh, &d))
    fail_msg("energy [T0+%llu, T0+%llu): %s", (unsigned long long)(from - T0),
             (unsigned long long)(to - T0), d.msg);
  return wh;
}

static int energy_rc(pg_meter *m, uint64_t from, uint64_t to) {
  int64_t wh = -1;
  pg_diag d = {{0}};
  return pg_meter_energy(m, from, to, &wh, &d);
}

/* ---- tests ---- */

static void test_power(void **state) {
  (void)state;
  const char *t = "test/power";
  pg_meter *m = meter_new(t, PG_METER_POWER_W, NULL);
  struct mosquitto *p = pub_new();
  pg_vclock_set(&VC, T0);
  assert_int_equal(energy_rc(m, T0, T0 + H_MS), PG_ERR_UNAVAILABLE); /* nothing yet */
  sample_at(m, p, t, T0, "1000");
  sample_at(m, p, t, T0 + 30 * MIN_MS, "2000");
  sample_at(m, p, t, T0 + 60 * MIN_MS, "0");
  sample_at(m, p, t, T0 + 90 * MIN_MS, "500");
  assert_int_equal(energy_ok(m, T0, T0 + H_MS), 1500);
  assert_int_equal(energy_ok(m, T0, T0 + H_MS), 1500); /* same answer twice */
  /* not final: no sample at or after the end, not stale either */
  assert_int_equal(energy_rc(m, T0 + H_MS, T0 + 2 * H_MS), PG_ERR_UNAVAILABLE);
  pg_vclock_set(&VC, T0 + 2 * H_MS + STALE_MS - 1);
  assert_int_equal(energy_rc(m, T0 + H_MS, T0 + 2 * H_MS), PG_ERR_UNAVAILABLE);
  /* final by staleness: 500 W held for the last half hour */
  pg_vclock_set(&VC, T0 + 2 * H_MS + STALE_MS);
  assert_int_equal(energy_ok(m, T0 + H_MS, T0 + 2 * H_MS), 250);
  /* a late sample neither changes that nor the held value before it */
  sample_at(m, p, t, T0 + 200 * MIN_MS, "100");
  assert_int_equal(energy_ok(m, T0 + H_MS, T0 + 2 * H_MS), 250);
  assert_int_equal(energy_ok(m, T0 + 2 * H_MS, T0 + 3 * H_MS), 500);
  /* final after a later sample: [3 h, 4 h) = 500 W * 20 min + 100 W * 40 min */
  assert_int_equal(energy_rc(m, T0 + 3 * H_MS, T0 + 4 * H_MS), PG_ERR_UNAVAILABLE);
  sample_at(m, p, t, T0 + 250 * MIN_MS, "0");
  assert_int_equal(energy_ok(m, T0 + 3 * H_MS, T0 + 4 * H_MS), 233);
  pg_meter_mqtt_stats st = stats(m);
  assert_int_equal(st.samples, 6);
  assert_int_equal(st.rejected, 0);
  assert_int_equal(st.reconnects, 0);
  pub_free(p);
  pg_meter_free(m);
}

static void test_counters(void **state) {
  (void)state;
  const char *twh = "test/counter/wh", *tkwh = "test/counter/kwh";
  pg_meter *wh = meter_new(twh, PG_METER_ENERGY_WH, NULL);
  pg_meter *kwh = meter_new(tkwh, PG_METER_ENERGY_KWH, "energy");
  struct mosquitto *p = pub_new();
  sample_at(wh, p, twh, T0, "1000");
  sample_at(wh, p, twh, T0 + 60 * MIN_MS, "1600");
  sample_at(wh, p, twh, T0 + 120 * MIN_MS, "100"); /* reset: no energy across it */
  sample_at(wh, p, twh, T0 + 180 * MIN_MS, "400.4");
  assert_int_equal(energy_ok(wh, T0, T0 + 30 * MIN_MS), 300); /* interpolated */
  assert_int_equal(energy_ok(wh, T0 + 30 * MIN_MS, T0 + 60 * MIN_MS), 300);
  assert_int_equal(energy_ok(wh, T0 + 60 * MIN_MS, T0 + 120 * MIN_MS), 0);
  assert_int_equal(energy_ok(wh, T0 + 120 * MIN_MS, T0 + 180 * MIN_MS), 300);

  sample_at(kwh, p, tkwh, T0, "{\"energy\": 12.5, \"power\": 300}");
  sample_at(kwh, p, tkwh, T0 + 15 * MIN_MS, "{\"energy\":13.25}");
  sample_at(kwh, p, tkwh, T0 + 30 * MIN_MS, "{\"other\":\"x\",\"energy\":13.2505}");
  assert_int_equal(energy_ok(kwh, T0, T0 + 15 * MIN_MS), 750);
  assert_int_equal(energy_ok(kwh, T0 + 15 * MIN_MS, T0 + 30 * MIN_MS), 1); /* 0.5 Wh, half up */
  assert_int_equal(stats(wh).rejected, 0);
  assert_int_equal(stats(kwh).rejected, 0);
  pub_free(p);
  pg_meter_free(wh);
  pg_meter_free(kwh);
}

static void test_bad_payloads(void **state) {
  (void)state;
  const char *t = "test/bad";
  pg_meter *m = meter_new(t, PG_METER_POWER_W, NULL);
  pg_meter *mj = meter_new("test/bad/json", PG_METER_POWER_W, "power");
  struct mosquitto *p = pub_new();
  static const char *bad[] = {"nan", "NaN", "inf", "-inf", "-5", "", " ", "abc",
                              "1e999", "unavailable", "{\"power\": 5}", "0x10", "1,5"};
  size_t nbad = sizeof bad / sizeof bad[0];
  pg_vclock_set(&VC, T0);
  for (size_t i = 0; i < nbad; i++) pub_raw(p, t, bad[i], strlen(bad[i]));
  pub_raw(p, t, "12\0", 3);
  char big[100];
  memset(big, '1', sizeof big);
  pub_raw(p, t, big, 65);
  size_t huge_len = 100000;
  char *huge = malloc(huge_len);
  assert_non_null(huge);
  for (size_t i = 0; i < huge_len; i++) huge[i] = (char)(i * 7 + 13);
  pub_raw(p, t, huge, huge_len);
  wait_counts(m, 0, nbad + 3);

  static const char *badj[] = {"5", "{\"power\": \"5\"}", "{\"power\": null}", "{\"power\": -1}",
                               "{\"power\": 1", "{\"power\": 1, \"power\": 2}", "[1]",
                               "{\"watts\": 1}", "{\"power\": true}", "{\"power\": 1e400}"};
  size_t nbadj = sizeof badj / sizeof badj[0];
  for (size_t i = 0; i < nbadj; i++) pub_raw(p, "test/bad/json", badj[i], strlen(badj[i]));
  pub_raw(p, "test/bad/json", huge, huge_len);
  wait_counts(mj, 0, nbadj + 1);
  free(huge);

  /* readings are untouched; good payloads still work */
  assert_int_equal(energy_rc(m, T0, T0 + H_MS), PG_ERR_UNAVAILABLE);
  sample_at(m, p, t, T0, "  100\n");
  sample_at(m, p, t, T0 + H_MS, "100");
  assert_int_equal(energy_ok(m, T0, T0 + H_MS), 100);
  sample_at(mj, p, "test/bad/json", T0, "{\"power\": 2e3}");
  sample_at(mj, p, "test/bad/json", T0 + H_MS, "{\"power\": 0}");
  assert_int_equal(energy_ok(mj, T0, T0 + H_MS), 2000);
  assert_int_equal(stats(m).rejected, nbad + 3);
  pub_free(p);
  pg_meter_free(m);
  pg_meter_free(mj);
}

static uint64_t lcg(uint64_t *x) {
  *x = *x * 6364136223846793005ull + 1442695040888963407ull;
  return *x >> 33;
}

static void test_consecutive_windows(void **state) {
  (void)state;
  const char *t = "test/sum";
  pg_meter *m = meter_new(t, PG_METER_POWER_W, NULL);
  struct mosquitto *p = pub_new();
  uint64_t x = 99, now = T0 + 1234;
  char payload[32];
  for (int i = 0; i < 60; i++) {
    snprintf(payload, sizeof payload, "%llu.%03llu", (unsigned long long)(lcg(&x) % 5000),
             (unsigned long long)(lcg(&x) % 1000));
    sample_at(m, p, t, now, payload);
    now += 1 + lcg(&x) % (4 * MIN_MS);
  }
  uint64_t from = T0 + 1000, end = now - 4 * MIN_MS;
  int64_t whole = energy_ok(m, from, end);
  int64_t sum = 0;
  for (uint64_t a = from; a < end;) {
    uint64_t b = a + 1 + lcg(&x) % (7 * MIN_MS);
    if (b > end) b = end;
    sum += energy_ok(m, a, b);
    a = b;
  }
  assert_int_equal(sum, whole);
  assert_true(whole > 0);
  pub_free(p);
  pg_meter_free(m);
}

static void test_broker_restart(void **state) {
  (void)state;
  const char *t = "test/restart";
  pg_meter *m = meter_new(t, PG_METER_POWER_W, NULL);
  struct mosquitto *p = pub_new();
  sample_at(m, p, t, T0, "1000");
  pub_free(p);

  broker_stop();
  wait_connected(m, false, 0, WAIT_MS);
  if (broker_start() != 0) fail_msg("broker did not restart on port %d", B.port);
  wait_connected(m, true, 1, RECONNECT_WAIT_MS);

  /* the subscription was made again: samples continue */
  p = pub_new();
  sample_at(m, p, t, T0 + H_MS, "3000");
  sample_at(m, p, t, T0 + 2 * H_MS, "0");
  /* 1000 W held through the outage */
  assert_int_equal(energy_ok(m, T0, T0 + H_MS), 1000);
  assert_int_equal(energy_ok(m, T0 + H_MS, T0 + 2 * H_MS), 3000);
  pg_meter_mqtt_stats st = stats(m);
  assert_int_equal(st.samples, 3);
  assert_int_equal(st.reconnects, 1);
  assert_true(st.connected);
  pub_free(p);
  pg_meter_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_power),
      cmocka_unit_test(test_counters),
      cmocka_unit_test(test_bad_payloads),
      cmocka_unit_test(test_consecutive_windows),
      cmocka_unit_test(test_broker_restart), /* last: restarts the broker */
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
