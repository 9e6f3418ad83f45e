/* Unit tests for the meter interface: dispatch checks, pg_meter_from_config
 * errors, and the pure parts of the MQTT meter (payload parser, sample
 * series with its energy arithmetic). No broker is needed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/meter/meter_internal.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/meter/sunspec.h"
#include "test_util_tmpdir.h"

#define MIN_MS 60000ull
#define H_MS 3600000ull
#define T0 1800000000000ull /* a Unix ms on a whole hour */

static void expect_has(const pg_diag *d, const char *needle) {
  if (!strstr(d->msg, needle)) fail_msg("diag '%s' lacks '%s'", d->msg, needle);
}

/* ---- dispatch ---- */

typedef struct fake_meter {
  pg_meter base;
  int64_t answer;
  int calls;
} fake_meter;

static int fake_energy(pg_meter *m, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  (void)from, (void)to, (void)d;
  fake_meter *f = (fake_meter *)m;
  f->calls++;
  *wh = f->answer;
  return PG_OK;
}
static void fake_destroy(pg_meter *m) { ((fake_meter *)m)->calls = -100; }
static const pg_meter_ops fake_ops = {"fake", fake_energy, fake_destroy};

static void test_dispatch(void **state) {
  (void)state;
  fake_meter f = {{&fake_ops}, 42, 0};
  int64_t wh = -1;
  pg_diag d = {{0}};
  assert_int_equal(pg_meter_energy(&f.base, 10, 20, &wh, &d), PG_OK);
  assert_int_equal(wh, 42);
  assert_string_equal(pg_meter_kind(&f.base), "fake");
  /* empty and reversed windows never reach the implementation */
  assert_int_equal(pg_meter_energy(&f.base, 20, 20, &wh, &d), PG_ERR_INVALID);
  expect_has(&d, "empty");
  assert_int_equal(pg_meter_energy(&f.base, 21, 20, &wh, &d), PG_ERR_INVALID);
  assert_int_equal(f.calls, 1);
  /* a negative answer is refused and *wh left alone */
  f.answer = -5;
  wh = 7;
  assert_int_equal(pg_meter_energy(&f.base, 10, 20, &wh, &d), PG_ERR_INVALID);
  expect_has(&d, "negative");
  assert_int_equal(wh, 7);
  assert_int_equal(pg_meter_energy(NULL, 10, 20, &wh, &d), PG_ERR_INVALID);
  assert_string_equal(pg_meter_kind(NULL), "unknown");
  pg_meter_free(NULL);
  pg_meter_free(&f.base);
  assert_int_equal(f.calls, -100);
}

/* ---- from_config ---- */

static pg_config *load(const char *text) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  if (pg_config_load_string(c, "meter.ini", text, strlen(text), &d)) fail_msg("load: %s", d.msg);
  return c;
}

static void expect_config_error(const char *text, int err, const char *needle) {
  pg_config *c = load(text);
  pg_meter *m = (pg_meter *)1;
  pg_diag d = {{0}};
  int rc = pg_meter_from_config(c, "meter", 1, &m, &d);
  if (rc != err) fail_msg("rc %d (%s), want %d for:\n%s", rc, d.msg, err, text);
  assert_null(m);
  expect_has(&d, needle);
  pg_config_free(c);
}

static void test_config_errors(void **state) {
  (void)state;
  expect_config_error("[meter]\nkind = nuclear\n", PG_ERR_CONFIG,
                      "meter.ini:2: [meter] kind: unknown meter kind 'nuclear'");
  expect_config_error("[other]\nkind = mqtt\n", PG_ERR_CONFIG,
                      "[meter] kind: required setting missing");
  expect_config_error("[meter]\nkind = mqtt\ntopic = a/b\nunit = power_w\n", PG_ERR_CONFIG,
                      "[meter] host: required setting missing");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\nunit = power_w\n", PG_ERR_CONFIG,
                      "[meter] topic: required setting missing");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\n", PG_ERR_CONFIG,
                      "[meter] unit: required setting missing");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = watts\n", PG_ERR_CONFIG,
                      "meter.ini:5: [meter] unit: 'watts' is not power_w, energy_wh or energy_kwh");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = power_w\nport = 0\n",
                      PG_ERR_CONFIG, "meter.ini:6: [meter] port: '0' is not a number");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = power_w\nstale = x\n",
                      PG_ERR_CONFIG, "meter.ini:6: [meter] stale:");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = power_w\n"
                      "username = u\npassword = secret\n",
                      PG_ERR_CONFIG, "meter.ini:7: [meter] password: passwords are not read");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = power_w\n"
                      "username = u\npassword_file = /nonexistent/pw\n",
                      PG_ERR_IO, "meter.ini:7: [meter] password_file: cannot open");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = power_w\n"
                      "password_file = /etc/hostname\n",
                      PG_ERR_CONFIG, "a password needs a username");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = a/+/c\nunit = power_w\n",
                      PG_ERR_CONFIG, "[meter]: mqtt meter: topic 'a/+/c' is not a single topic");
  expect_config_error("[meter]\nkind = mqtt\nhost = h\ntopic = t\nunit = power_w\njson_key =\n",
                      PG_ERR_CONFIG, "meter.ini:6: [meter] json_key: must not be empty");
  /* profile kinds go to the profile meters (a bad key is named there) */
  expect_config_error("[meter]\nkind = solar\nkwp = lots\n", PG_ERR_CONFIG, "[meter] kwp");
  pg_config *c = load("[meter]\nkind = household\n");
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  if (pg_meter_from_config(c, "meter", 1, &m, &d)) fail_msg("household: %s", d.msg);
  assert_string_equal(pg_meter_kind(m), "household");
  pg_meter_free(m);
  pg_config_free(c);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_config_mqtt_ok(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_meter_cfg");
  char pw[128], ini[512];
  snprintf(pw, sizeof pw, "%s/pw", dir);
  write_file(pw, "s3cret\n");
  /* port 1 on localhost: nothing listens; creation still succeeds (the
   * network thread keeps retrying) and free stops it promptly */
  snprintf(ini, sizeof ini,
           "[meter]\nkind = mqtt\nhost = 127.0.0.1\nport = 1\ntopic = home/pv/power\n"
           "unit = energy_kwh\njson_key = energy\nclient_id = pv1\nusername = u\n"
           "password_file = %s\nstale = 90s\n",
           pw);
  pg_config *c = load(ini);
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  if (pg_meter_from_config(c, "meter", 1, &m, &d)) fail_msg("%s", d.msg);
  assert_string_equal(pg_meter_kind(m), "mqtt");
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  pg_meter_mqtt_stats st;
  assert_int_equal(pg_meter_mqtt_stats_get(m, &st), PG_OK);
  assert_false(st.connected);
  int64_t wh;
  assert_int_equal(pg_meter_energy(m, T0, T0 + H_MS, &wh, &d), PG_ERR_UNAVAILABLE);
  pg_meter_free(m);
  pg_config_free(c);

  /* an empty password file and one with two lines are refused */
  write_file(pw, "\n");
  c = load(ini);
  assert_int_equal(pg_meter_from_config(c, "meter", 1, &m, &d), PG_ERR_CONFIG);
  expect_has(&d, "is empty");
  pg_config_free(c);
  write_file(pw, "a\nb\n");
  c = load(ini);
  assert_int_equal(pg_meter_from_config(c, "meter", 1, &m, &d), PG_ERR_CONFIG);
  expect_has(&d, "control character");
  pg_config_free(c);
  tu_rmrf(dir);

  /* stats of a non-MQTT meter */
  fake_meter f = {{&fake_ops}, 0, 0};
  assert_int_equal(pg_meter_mqtt_stats_get(&f.base, &st), PG_ERR_INVALID);
}

/* ---- payload parser ---- */

static int64_t parse_ok(const char *p, pg_meter_mqtt_kind k, const char *key) {
  int64_t v = -1;
  pg_diag d = {{0}};
  if (pg_meter_parse_payload(p, strlen(p), k, key, &v, &d)) fail_msg("'%s': %s", p, d.msg);
  return v;
}

static void parse_bad(const char *p, size_t len, pg_meter_mqtt_kind k, const char *key,
                      const char *needle) {
  int64_t v = 77;
  pg_diag d = {{0}};
  int rc = pg_meter_parse_payload(p, len, k, key, &v, &d);
  if (rc == PG_OK) fail_msg("'%.*s' parsed as %lld", (int)len, p, (long long)v);
  assert_int_equal(v, 77);
  expect_has(&d, needle);
}

#define BAD(p, k, key, needle) parse_bad(p, strlen(p), k, key, needle)

static void test_parse_payload(void **state) {
  (void)state;
  const pg_meter_mqtt_kind W = PG_METER_POWER_W, WH = PG_METER_ENERGY_WH,
                           KWH = PG_METER_ENERGY_KWH;
  assert_int_equal(parse_ok("230.5", W, NULL), 230500000);
  assert_int_equal(parse_ok(" 0 \r\n", W, NULL), 0);
  assert_int_equal(parse_ok("-0", W, NULL), 0);
  assert_int_equal(parse_ok("-0.0000001", W, NULL), 0); /* rounds to 0: not negative */
  assert_int_equal(parse_ok("1e3", W, NULL), 1000000000);
  assert_int_equal(parse_ok("1.5E-6", W, NULL), 2);      /* half up at 1e-6 */
  assert_int_equal(parse_ok("0.0000014999", W, NULL), 1);
  assert_int_equal(parse_ok("12345.678", WH, NULL), 12345678000);
  assert_int_equal(parse_ok("1.5", KWH, NULL), 1500000000);
  assert_int_equal(parse_ok("0.0000005", KWH, NULL), 1000); /* 1e-6 kWh = 1 mWh */
  assert_int_equal(parse_ok("1000000000000", W, NULL), PG_METER_MICRO_MAX);
  assert_int_equal(parse_ok("1000000000", KWH, NULL), PG_METER_MICRO_MAX);
  assert_int_equal(parse_ok("0.000000000000000000000000000000000000001e39", W, NULL), 1000000);
  assert_int_equal(parse_ok("{\"power\": 230.5}", W, "power"), 230500000);
  assert_int_equal(parse_ok("{\"a\":\"x\",\"power\":7,\"b\":[1]}", W, "power"), 7000000);
  assert_int_equal(parse_ok("{\"e\":0.1}", KWH, "e"), 100000000);
  assert_int_equal(parse_ok("{\"e\":2.25}", KWH, "e"), 2250000000);

  BAD("", W, NULL, "empty");
  BAD("   ", W, NULL, "empty");
  BAD("nan", W, NULL, "not a number");
  BAD("NaN", W, NULL, "not a number");
  BAD("inf", W, NULL, "not a number");
  BAD("-inf", W, NULL, "not a number");
  BAD("Infinity", W, NULL, "not a number");
  BAD("-5", W, NULL, "negative power");
  BAD("-0.5", WH, NULL, "negative energy counter");
  BAD("abc", W, NULL, "not a number");
  BAD("1.", W, NULL, "not a number");
  BAD(".5", W, NULL, "not a number");
  BAD("+5", W, NULL, "not a number");
  BAD("05", W, NULL, "not a number");
  BAD("0x10", W, NULL, "not a number");
  BAD("1e", W, NULL, "not a number");
  BAD("1 2", W, NULL, "not a number");
  BAD("1e999", W, NULL, "out of range");
  BAD("1000000000000.000001", W, NULL, "out of range");
  BAD("1000000000.000001", KWH, NULL, "out of range");
  BAD("unavailable", W, NULL, "not a number");
  BAD("{\"power\": 1}", W, NULL, "no json_key");
  BAD("5", W, "power", "not a JSON object");
  BAD("{\"power\": \"12\"}", W, "power", "is a string, not a number");
  BAD("{\"power\": null}", W, "power", "is null");
  BAD("{\"power\": -3}", W, "power", "negative power");
  BAD("{\"power\": 1", W, "power", "not a JSON object");
  BAD("{\"power\": 1, \"power\": 2}", W, "power", "not a JSON object");
  BAD("{\"other\": 1}", W, "power", "no key 'power'");
  BAD("{\"power\": 1e400}", W, "power", "not a JSON object");
  parse_bad("1\0", 2, W, NULL, "not a number");
  /* a bare number longer than 64 bytes is refused before parsing */
  char big[80];
  memset(big, '0', sizeof big);
  big[0] = '1';
  big[65] = '\0';
  BAD(big, W, NULL, "longer than 64");
  /* 64 bytes with whitespace padding is fine */
  memset(big, ' ', 64);
  big[10] = '5';
  big[64] = '\0';
  assert_int_equal(parse_ok(big, W, NULL), 5000000);
  char *json = malloc(PG_METER_JSON_MAX + 2);
  memset(json, ' ', PG_METER_JSON_MAX + 1);
  memcpy(json, "{\"p\":1}", 7);
  parse_bad(json, PG_METER_JSON_MAX + 1, W, "p", "longer than");
  free(json);
}

/* ---- series ---- */

static int64_t energy(pg_meter_series *s, uint64_t from, uint64_t to, uint64_t now) {
  int64_t wh = -1;
  pg_diag d = {{0}};
  if (pg_meter_series_energy(s, from, to, now, 60000, &wh, &d))
    fail_msg("[%llu, %llu): %s", (unsigned long long)(from - T0),
             (unsigned long long)(to - T0), d.msg);
  return wh;
}

static void test_series_power(void **state) {
  (void)state;
  pg_meter_series s;
  pg_diag d = {{0}};
  int64_t wh = -1;
  assert_int_equal(pg_meter_series_init(&s, PG_METER_POWER_W, 1000), PG_OK);
  /* nothing yet: unavailable even long after */
  assert_int_equal(pg_meter_series_energy(&s, T0, T0 + H_MS, T0 + 10 * H_MS, 60000, &wh, &d),
                   PG_ERR_UNAVAILABLE);
  pg_meter_series_add(&s, T0, 1000000000);                 /* 1000 W */
  pg_meter_series_add(&s, T0 + 30 * MIN_MS, 2000000000);   /* 2000 W */
  pg_meter_series_add(&s, T0 + 60 * MIN_MS, 0);
  pg_meter_series_add(&s, T0 + 90 * MIN_MS, 500000000);    /* 500 W */
  /* the whole first hour, then its parts (windows in increasing order) */
  assert_int_equal(energy(&s, T0, T0 + H_MS, T0 + 90 * MIN_MS), 1500);
  assert_int_equal(energy(&s, T0 + 15 * MIN_MS, T0 + 45 * MIN_MS, T0 + 90 * MIN_MS), 750);
  /* [60, 120) is not final until a sample at >= 120 or 120 + stale */
  assert_int_equal(pg_meter_series_energy(&s, T0 + H_MS, T0 + 2 * H_MS, T0 + 2 * H_MS + 59999,
                                          60000, &wh, &d),
                   PG_ERR_UNAVAILABLE);
  assert_int_equal(energy(&s, T0 + H_MS, T0 + 2 * H_MS, T0 + 2 * H_MS + 60000), 250);
  /* asking again gives the same; a late sample cannot change it */
  pg_meter_series_add(&s, T0 + 200 * MIN_MS, 100000000);
  assert_int_equal(energy(&s, T0 + H_MS, T0 + 2 * H_MS, T0 + 200 * MIN_MS), 250);
  /* the held 500 W continue until the late sample */
  assert_int_equal(energy(&s, T0 + 2 * H_MS, T0 + 3 * H_MS, T0 + 200 * MIN_MS), 500);
  /* old data is forgotten after answering */
  assert_int_equal(pg_meter_series_energy(&s, T0, T0 + H_MS, T0 + 200 * MIN_MS, 60000, &wh, &d),
                   PG_ERR_NOT_FOUND);
  expect_has(&d, "dropped");
  pg_meter_series_free(&s);

  /* windows entirely before the first sample are 0 */
  assert_int_equal(pg_meter_series_init(&s, PG_METER_POWER_W, 1000), PG_OK);
  pg_meter_series_add(&s, T0 + H_MS, 1000000000);
  assert_int_equal(energy(&s, T0, T0 + H_MS, T0 + H_MS), 0);
  pg_meter_series_free(&s);
}

static void test_series_counter(void **state) {
  (void)state;
  pg_meter_series s;
  assert_int_equal(pg_meter_series_init(&s, PG_METER_ENERGY_WH, 1000), PG_OK);
  pg_meter_series_add(&s, T0, 1000000000);                /* 1000 Wh */
  pg_meter_series_add(&s, T0 + 60 * MIN_MS, 1600000000);  /* 1600 Wh */
  pg_meter_series_add(&s, T0 + 120 * MIN_MS, 100000000);  /* reset: 100 Wh, no energy */
  pg_meter_series_add(&s, T0 + 180 * MIN_MS, 400000000);  /* +300 Wh */
  assert_int_equal(energy(&s, T0, T0 + 30 * MIN_MS, 0), 300);
  assert_int_equal(energy(&s, T0 + 30 * MIN_MS, T0 + 60 * MIN_MS, 0), 300);
  assert_int_equal(energy(&s, T0 + 60 * MIN_MS, T0 + 120 * MIN_MS, 0), 0);
  assert_int_equal(energy(&s, T0 + 120 * MIN_MS, T0 + 150 * MIN_MS, 0), 150);
  assert_int_equal(energy(&s, T0 + 150 * MIN_MS, T0 + 180 * MIN_MS, 0), 150);
  /* stale: the counter holds its value, so nothing more */
  assert_int_equal(energy(&s, T0 + 180 * MIN_MS, T0 + 240 * MIN_MS, T0 + 241 * MIN_MS), 0);
  /* a jump after the freeze goes to the windows after it, interpolated */
  pg_meter_series_add(&s, T0 + 300 * MIN_MS, 1000000000); /* +600 Wh over [240, 300) */
  assert_int_equal(energy(&s, T0 + 240 * MIN_MS, T0 + 270 * MIN_MS, 0), 300);
  /* a second sample at the same ms as a window edge counts after the edge */
  pg_meter_series_add(&s, T0 + 330 * MIN_MS, 1100000000);
  assert_int_equal(energy(&s, T0 + 270 * MIN_MS, T0 + 330 * MIN_MS, 0), 400);
  pg_meter_series_add(&s, T0 + 330 * MIN_MS, 1200000000);
  assert_int_equal(energy(&s, T0 + 270 * MIN_MS, T0 + 330 * MIN_MS, 0), 400);
  pg_meter_series_add(&s, T0 + 340 * MIN_MS, 1200000000);
  assert_int_equal(energy(&s, T0 + 330 * MIN_MS, T0 + 340 * MIN_MS, 0), 100);
  pg_meter_series_free(&s);
}

static uint64_t lcg(uint64_t *x) {
  *x = *x * 6364136223846793005ull + 1442695040888963407ull;
  return *x >> 33;
}

/* Consecutive windows sum exactly to their union, with odd times and values. */
static void test_series_sums(void **state) {
  (void)state;
  for (int kind = 0; kind < 3; kind++) {
    pg_meter_series s;
    assert_int_equal(pg_meter_series_init(&s, (pg_meter_mqtt_kind)kind, 100000), PG_OK);
    uint64_t x = 12345 + (uint64_t)kind, t = T0 + 777, counter = 5000000;
    for (int i = 0; i < 20000; i++) {
      t += lcg(&x) % 20000;
      if (kind == PG_METER_POWER_W) {
        pg_meter_series_add(&s, t, (int64_t)(lcg(&x) % 7000000000ull)); /* < 7 kW, in uW */
      } else {
        if (lcg(&x) % 500 == 0)
          counter = lcg(&x) % 1000000; /* reset */
        else
          counter += lcg(&x) % 3000000;
        pg_meter_series_add(&s, t, (int64_t)counter);
      }
    }
    uint64_t from = T0 + 1000, end = t - 1;
    int64_t whole = energy(&s, from, end, t);
    int64_t sum = 0;
    uint64_t a = from;
    while (a < end) {
      uint64_t b = a + 1 + lcg(&x) % (15 * MIN_MS);
      if (b > end) b = end;
      sum += energy(&s, a, b, t);
      a = b;
    }
    assert_int_equal(sum, whole);
    assert_true(whole > 0);
    pg_meter_series_free(&s);
  }
}

/* A full ring drops its oldest samples but keeps the energy right after them. */
static void test_series_ring(void **state) {
  (void)state;
  pg_meter_series s;
  pg_diag d = {{0}};
  int64_t wh;
  assert_int_equal(pg_meter_series_init(&s, PG_METER_POWER_W, 4), PG_OK);
  for (int i = 0; i < 10; i++) pg_meter_series_add(&s, T0 + (uint64_t)i * H_MS, 1000000000);
  assert_int_equal(pg_meter_series_len(&s), 4);
  assert_int_equal(s.dropped, 6);
  /* base is the sample at 5 h: windows must start after it */
  assert_int_equal(pg_meter_series_energy(&s, T0 + 5 * H_MS, T0 + 8 * H_MS, 0, 60000, &wh, &d),
                   PG_ERR_NOT_FOUND);
  expect_has(&d, "dropped");
  assert_int_equal(energy(&s, T0 + 5 * H_MS + 1, T0 + 9 * H_MS, 0), 4000);
  /* a sample stamped earlier than the newest is moved to the newest's time */
  pg_meter_series_add(&s, T0, 0);
  assert_int_equal(energy(&s, T0 + 9 * H_MS, T0 + 10 * H_MS, T0 + 11 * H_MS), 0);
  pg_meter_series_free(&s);
}

/* [meter] kind = sunspec (sunspec.h) */
static void test_config_sunspec(void **state) {
  (void)state;
  expect_config_error("[meter]\nkind = sunspec\nquantity = export\n", PG_ERR_CONFIG, "host");
  expect_config_error("[meter]\nkind = sunspec\nhost = h\n", PG_ERR_CONFIG, "quantity");
  expect_config_error("[meter]\nkind = sunspec\nhost = h\nquantity = total\n", PG_ERR_CONFIG,
                      "meter.ini:4: [meter] quantity: 'total' is not inverter, export or import");
  expect_config_error("[meter]\nkind = sunspec\nhost = h\nquantity = import\nunit_id = 250\n",
                      PG_ERR_CONFIG, "[meter] unit_id: must be 1-247 or 255");
  expect_config_error("[meter]\nkind = sunspec\nhost = h\nquantity = import\nunit_id = 0\n",
                      PG_ERR_CONFIG, "unit_id");
  expect_config_error("[meter]\nkind = sunspec\nhost = h\nquantity = import\npoll = 10ms\n",
                      PG_ERR_CONFIG, "poll");
  expect_config_error("[meter]\nkind = sunspec\nhost = \nquantity = import\n", PG_ERR_CONFIG,
                      "must not be empty");
  expect_config_error("[meter]\nkind = sunspec\nhost = h\nquantity = import\nmax_w = 0\n",
                      PG_ERR_CONFIG, "max_w");
  /* a good section makes a meter that has no reading yet (nothing listens) */
  pg_config *c = load("[meter]\nkind = sunspec\nhost = 127.0.0.1\nport = 1\nquantity = inverter\n"
                      "timeout = 100ms\nstale = 1h\n");
  pg_meter *m = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_meter_from_config(c, "meter", 1, &m, &d), PG_OK);
  assert_string_equal(pg_meter_kind(m), "sunspec");
  int64_t wh = -1;
  assert_int_equal(pg_meter_energy(m, 0, 1000, &wh, &d), PG_ERR_UNAVAILABLE);
  pg_meter_sunspec_stats st;
  assert_int_equal(pg_meter_sunspec_stats_get(m, &st), PG_OK);
  assert_false(st.connected);
  pg_meter_free(m);
  pg_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dispatch),         cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_config_mqtt_ok),   cmocka_unit_test(test_config_sunspec),
      cmocka_unit_test(test_parse_payload),
      cmocka_unit_test(test_series_power),     cmocka_unit_test(test_series_counter),
      cmocka_unit_test(test_series_sums),      cmocka_unit_test(test_series_ring),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
