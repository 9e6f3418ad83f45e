/* DSMR P1 telegrams (p2pgrid/meter/p1.h): the CRC and the parser against the
 * checked vectors of DEVICES.md §B3/§B4/§B8, then an attacker's inputs (bad
 * CRC, truncation, overlong lines and telegrams, duplicates, wrong units,
 * too many decimals, no CRC) and the stream splitter (garbage between
 * telegrams, partial telegrams, 7E1 parity bits, overflow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p1_fixture/telegrams.h"
#include "p2pgrid/meter/p1.h"

static char g_buf[PG_P1_TELEGRAM_MAX * 2];

/* body (from '/' through '!') + its CRC in hex (fmt "%04X" or another) + CR LF */
static size_t seal_fmt(const char *body, const char *fmt) {
  size_t n = strlen(body);
  assert_true(n + 8 < sizeof g_buf);
  memcpy(g_buf, body, n);
  n += (size_t)snprintf(g_buf + n, sizeof g_buf - n, fmt, pg_p1_crc16(body, strlen(body)));
  memcpy(g_buf + n, "\r\n", 3);
  return n + 2;
}
static size_t seal(const char *body) { return seal_fmt(body, "%04X"); }

static int parse(const char *s, size_t n, pg_p1_telegram *t, pg_diag *d) {
  memset(d, 0, sizeof *d);
  return pg_p1_parse(s, n, t, d);
}

static void expect_fail(const char *s, size_t n, int rc, const char *needle) {
  pg_p1_telegram t;
  pg_diag d;
  int got = parse(s, n, &t, &d);
  if (got != rc || !strstr(d.msg, needle))
    fail_msg("want %d '%s', got %d '%s'", rc, needle, got, d.msg);
  assert_false(t.has_time); /* nothing half-filled */
}

static void test_crc_check_value(void **state) {
  (void)state;
  assert_int_equal(pg_p1_crc16("123456789", 9), 0xBB3D);
  assert_int_equal(pg_p1_crc16("", 0), 0);
  const char body[] = P1_KAIFA_BODY;
  assert_int_equal(strlen(body), 619);
  assert_int_equal(pg_p1_crc16(body, strlen(body)), 0x3FB0);
  const char b8[] = P1_B8_BODY;
  assert_int_equal(strlen(b8), 881);
  assert_int_equal(pg_p1_crc16(b8, strlen(b8)), 0x66BE);
}

static void test_kaifa_capture(void **state) {
  (void)state;
  pg_p1_telegram t;
  pg_diag d;
  const char s[] = P1_KAIFA;
  assert_int_equal(parse(s, strlen(s), &t, &d), PG_OK);
  assert_string_equal(t.header, "KFM5KAIFA-METER");
  assert_int_equal(t.version, 42);
  assert_int_equal(t.crc, 0x3FB0);
  assert_true(t.has_time);
  assert_int_equal(t.time_ms, 1458067968000LL); /* 2016-03-15 19:52:48 +01:00 */
  assert_string_equal(t.equipment_id, "4530303235303030303336313836323135");
  assert_int_equal(t.import_wh[0], 234402);
  assert_int_equal(t.import_wh[1], 213314);
  assert_int_equal(t.export_wh[0], 0);
  assert_int_equal(t.export_wh[1], 0);
  assert_true(t.has_import[0] && t.has_import[1] && t.has_export[0] && t.has_export[1]);
  assert_int_equal(t.power_import_w, 741);
  assert_int_equal(t.power_export_w, 0);
  assert_true(t.has_gas);
  assert_int_equal(t.gas_channel, 1);
  assert_int_equal(t.gas_dm3, 426101);
  assert_int_equal(t.gas_time_ms, 1458064800000LL);
}

static void test_b8_example(void **state) {
  (void)state;
  pg_p1_telegram t;
  pg_diag d;
  const char s[] = P1_B8;
  assert_int_equal(parse(s, strlen(s), &t, &d), PG_OK);
  assert_string_equal(t.header, "XYZ5\\2DEMO-METER-01");
  assert_int_equal(t.version, 50);
  assert_int_equal(t.time_ms, 1718195415000LL);
  assert_int_equal(t.import_wh[0], 1234567);
  assert_int_equal(t.import_wh[1], 2345678);
  assert_int_equal(t.export_wh[0], 456789);
  assert_int_equal(t.export_wh[1], 1012345);
  assert_int_equal(t.import_wh[0] + t.import_wh[1], 3580245);
  assert_int_equal(t.export_wh[0] + t.export_wh[1], 1469134);
  assert_int_equal(t.power_import_w, 0);
  assert_int_equal(t.power_export_w, 1844);
  assert_int_equal(t.gas_dm3, 3456789);
  assert_int_equal(t.gas_time_ms, 1718195400000LL);
  /* lower-case CRC, a NUL after the line end, no line end at all */
  size_t n = seal_fmt(P1_B8_BODY, "%04x");
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  g_buf[n] = '\0';
  assert_int_equal(parse(g_buf, n + 1, &t, &d), PG_OK);
  assert_int_equal(parse(g_buf, n - 2, &t, &d), PG_OK);
}

/* A CRC below 0x1000 sent with 3 digits (DEVICES.md §B3: some devices drop
 * leading zeros); the body varied in an unknown object until it has one. */
static void test_unpadded_crc(void **state) {
  (void)state;
  char body[2048];
  for (int k = 0; k < 100000; k++) {
    snprintf(body, sizeof body, P1_B8_HEAD P1_B8_REGISTERS P1L("0-0:96.7.21(%05d)") "!", k);
    if (pg_p1_crc16(body, strlen(body)) < 0x1000) break;
  }
  assert_true(pg_p1_crc16(body, strlen(body)) < 0x1000);
  size_t n = seal_fmt(body, "%X");
  pg_p1_telegram t;
  pg_diag d;
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_int_equal(t.import_wh[0], 1234567);
}

static void test_bad_crc(void **state) {
  (void)state;
  const char bad[] = P1_B8_BAD_CRC;
  expect_fail(bad, strlen(bad), PG_ERR_INVALID, "CRC mismatch: telegram says 67BE, its bytes give 66BE");
  /* one body digit changed, CRC left at 66BE */
  char s[] = P1_B8;
  char *p = strstr(s, "001234.567");
  assert_non_null(p);
  p[9] = '8';
  expect_fail(s, strlen(s), PG_ERR_INVALID, "its bytes give 935A");
  expect_fail(P1_B8_BODY "6G" "\r\n", strlen(P1_B8_BODY) + 4, PG_ERR_INVALID, "not hex");
  expect_fail(P1_B8_BODY "066BE" "\r\n", strlen(P1_B8_BODY) + 7, PG_ERR_INVALID, "1-4 hex");
  /* bytes after the CRC line (the next telegram glued on) */
  char two[2048];
  snprintf(two, sizeof two, "%s%s", P1_B8, "/XYZ5");
  expect_fail(two, strlen(two), PG_ERR_INVALID, "bytes after the CRC line");
}

static void test_no_crc_refused(void **state) {
  (void)state;
  const char v3[] = P1L("/ISk5\\2MT382-1000") P1L("") P1L("0-0:96.1.1(4B384547303034303436333935353037)")
      P1L("1-0:1.8.1(12345.678*kWh)") P1L("!");
  expect_fail(v3, strlen(v3), PG_ERR_UNSUPPORTED, "no CRC after '!' (DSMR 2.2/3.0)");
  /* a DSMR 3 version object with a valid CRC is still not read */
  size_t n = seal(P1L("/XYZ5TEST") P1L("") P1L("1-3:0.2.8(30)") P1L("0-0:1.0.0(240612143015S)") "!");
  expect_fail(g_buf, n, PG_ERR_UNSUPPORTED, "only DSMR 4 and 5");
}

static void test_truncated(void **state) {
  (void)state;
  const char s[] = P1_B8;
  size_t full = strlen(s);
  pg_p1_telegram t;
  pg_diag d;
  for (size_t n = 0; n + 2 < full; n++) {
    int rc = parse(s, n, &t, &d);
    if (rc == PG_OK) fail_msg("a prefix of %zu of %zu bytes parsed", n, full);
    assert_true(d.msg[0] != '\0');
  }
  expect_fail(s, 400, PG_ERR_TRUNCATED, "ends");
  expect_fail("", 0, PG_ERR_INVALID, "starts with '/'");
  expect_fail("garbage" P1_B8, strlen(P1_B8) + 7, PG_ERR_INVALID, "starts with '/'");
}

static void test_overlong(void **state) {
  (void)state;
  static char body[PG_P1_TELEGRAM_MAX + 4096];
  int k = snprintf(body, sizeof body, "%s0-0:96.13.0(", P1_B8_HEAD);
  memset(body + k, '3', PG_P1_LINE_MAX);
  k += PG_P1_LINE_MAX;
  snprintf(body + k, sizeof body - (size_t)k, ")\r\n!");
  size_t n = seal(body);
  expect_fail(g_buf, n, PG_ERR_TOO_LARGE, "longer than 2200 bytes");
  /* many short lines: over the line cap, then over the byte cap */
  k = snprintf(body, sizeof body, "%s", P1_B8_HEAD);
  for (int i = 0; i < PG_P1_LINES_MAX; i++) k += snprintf(body + k, sizeof body - (size_t)k, "1-0:32.32.0(00000)\r\n");
  snprintf(body + k, sizeof body - (size_t)k, "!");
  n = seal(body);
  expect_fail(g_buf, n, PG_ERR_TOO_LARGE, "more than 256 lines");
  static char big[PG_P1_TELEGRAM_MAX + 16];
  memset(big, 'x', sizeof big);
  big[0] = '/';
  expect_fail(big, sizeof big, PG_ERR_TOO_LARGE, "longer than 8192");
}

static void test_duplicates(void **state) {
  (void)state;
  size_t n = seal(P1_B8_HEAD P1_B8_REGISTERS P1L("1-0:1.8.1(001234.568*kWh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "line 10: duplicate object 1-0:1.8.1");
  n = seal(P1_B8_HEAD P1L("0-0:1.0.0(240612143016S)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "duplicate object 0-0:1.0.0");
  n = seal(P1_B8_HEAD P1L("0-1:24.2.1(240612143000S)(03456.789*m3)")
               P1L("0-1:24.2.1(240612143000S)(03457.789*m3)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "duplicate object 0-1:24.2.1");
}

static void test_units_and_decimals(void **state) {
  (void)state;
  size_t n = seal(P1_B8_HEAD P1L("1-0:1.8.1(1234567*Wh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "'1234567*Wh' is not in kWh");
  n = seal(P1_B8_HEAD P1L("1-0:2.8.2(001234.5678*kWh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "more than 3 decimals");
  n = seal(P1_B8_HEAD P1L("1-0:1.7.0(01.844*kWh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "not in kW");
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1(001234.567)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "not in kWh");
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1(-01234.567*kWh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "not a number");
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1(1234567890123*kWh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "more than 12 digits");
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1(001234.567*kWh)(1)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "2 values where one belongs");
  /* fewer decimals are exact: 1 decimal kW (DSMR 2.2 style 10 W steps) */
  pg_p1_telegram t;
  pg_diag d;
  n = seal(P1_B8_HEAD P1L("1-0:1.7.0(0001.01*kW)") P1L("1-0:1.8.1(12*kWh)") "!");
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_int_equal(t.power_import_w, 1010);
  assert_int_equal(t.import_wh[0], 12000);
  assert_false(t.has_import[1]);
}

static void test_syntax(void **state) {
  (void)state;
  size_t n = seal(P1_B8_HEAD P1L("1-0:1.8.1 001234.567*kWh") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "is not OBIS(value)");
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1(001234.567*kWh") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "'(' without ')'");
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1(001234.567*kWh)x") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "text after a ')'");
  n = seal(P1_B8_HEAD "1-0:1.8.1(001234.567*kWh)\n!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "byte 0x0a");
  n = seal(P1_B8_HEAD "1-0:1.8.1(\xb1)\r\n!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "byte 0xb1 is not printable ASCII");
  n = seal(P1L("/XYZ5TEST") P1L("1-0:1.8.1(001234.567*kWh)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "followed by an empty line");
  /* a sixth OBIS group is accepted (DSMR 4 examples) */
  n = seal(P1_B8_HEAD P1L("1-0:1.8.1.255(001234.567*kWh)") "!");
  pg_p1_telegram t;
  pg_diag d;
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_int_equal(t.import_wh[0], 1234567);
}

static void test_timestamps(void **state) {
  (void)state;
  int64_t ms;
  assert_int_equal(pg_p1_timestamp("240612143015S", 13, &ms), PG_OK);
  assert_int_equal(ms, 1718195415000LL);
  assert_int_equal(pg_p1_timestamp("170102192002W", 13, &ms), PG_OK);
  assert_int_equal(ms, 1483381202000LL); /* 2017-01-02 18:20:02Z (DEVICES.md §B7) */
  /* the repeated autumn hour: 02:30 S comes before 02:30 W */
  int64_t s, w;
  assert_int_equal(pg_p1_timestamp("241027023000S", 13, &s), PG_OK);
  assert_int_equal(pg_p1_timestamp("241027023000W", 13, &w), PG_OK);
  assert_int_equal(w - s, 3600000);
  assert_int_equal(pg_p1_timestamp("240230143015S", 13, &ms), PG_ERR_INVALID);
  assert_int_equal(pg_p1_timestamp("240612243015S", 13, &ms), PG_ERR_INVALID);
  assert_int_equal(pg_p1_timestamp("240612143015X", 13, &ms), PG_ERR_INVALID);
  assert_int_equal(pg_p1_timestamp("240612143015", 12, &ms), PG_ERR_INVALID);
  assert_int_equal(pg_p1_timestamp("2406121430a5W", 13, &ms), PG_ERR_INVALID);
  size_t n = seal(P1_B8_HEAD P1L("0-0:1.0.0(240230143015S)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "duplicate object 0-0:1.0.0");
  n = seal(P1L("/XYZ5TEST") P1L("") P1L("0-0:1.0.0(240230143015S)") "!");
  expect_fail(g_buf, n, PG_ERR_INVALID, "timestamp '240230143015S' is not");
}

/* A bad gas capture time or unit keeps the electricity (DEVICES.md §B7). */
static void test_gas_unusable(void **state) {
  (void)state;
  pg_p1_telegram t;
  pg_diag d;
  size_t n = seal(P1_B8_HEAD P1_B8_REGISTERS P1L("0-1:24.1.0(003)") P1L("0-1:24.2.1(632131000000W)(03456.789*m3)") "!");
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_false(t.has_gas);
  assert_int_equal(t.import_wh[1], 2345678);
  n = seal(P1_B8_HEAD P1L("0-1:24.2.1(240612143000S)(03456.789*GJ)") "!");
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_false(t.has_gas);
  /* a heat meter (type 004) on channel 1, gas on channel 2 */
  n = seal(P1_B8_HEAD P1L("0-1:24.1.0(004)") P1L("0-1:24.2.1(240612143000S)(00012.000*m3)")
               P1L("0-2:24.1.0(003)") P1L("0-2:24.2.1(240612143000S)(00034.500*m3)") "!");
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_true(t.has_gas);
  assert_int_equal(t.gas_channel, 2);
  assert_int_equal(t.gas_dm3, 34500);
  /* two gas channels: which one is unclear, so none */
  n = seal(P1_B8_HEAD P1L("0-1:24.2.1(240612143000S)(00012.000*m3)")
               P1L("0-2:24.2.1(240612143000S)(00034.500*m3)") "!");
  assert_int_equal(parse(g_buf, n, &t, &d), PG_OK);
  assert_false(t.has_gas);
}

/* ---- the stream ---- */

typedef struct frames {
  int n, ok;
  int64_t import1[8];
} frames;

static void on_frame(void *ctx, const uint8_t *f, size_t len) {
  frames *fr = ctx;
  pg_p1_telegram t;
  pg_diag d = {{0}};
  if (pg_p1_parse(f, len, &t, &d) == PG_OK && fr->ok < 8) fr->import1[fr->ok++] = t.import_wh[0];
  fr->n++;
}

static void test_stream_garbage(void **state) {
  (void)state;
  static char in[8192];
  int k = snprintf(in, sizeof in, "%s", "\x01\xff garbage !1234\r\n");
  k += snprintf(in + k, sizeof in - (size_t)k, "%s", P1_B8);
  k += snprintf(in + k, sizeof in - (size_t)k, "%s", "noise(1)\r\n");
  k += snprintf(in + k, sizeof in - (size_t)k, "%s", "/XYZ5PARTIAL\r\n\r\n1-0:1.8.1(000001"); /* cut */
  k += snprintf(in + k, sizeof in - (size_t)k, "%s", P1_B8_BAD_CRC);
  k += snprintf(in + k, sizeof in - (size_t)k, "%s", P1_KAIFA);
  pg_p1_stream *s = malloc(sizeof *s);
  assert_non_null(s);
  frames fr = {0};
  /* byte by byte and all at once give the same */
  pg_p1_stream_init(s);
  for (int i = 0; i < k; i++) pg_p1_stream_feed(s, in + i, 1, on_frame, &fr);
  assert_int_equal(fr.n, 3);
  assert_int_equal(fr.ok, 2);
  assert_int_equal(fr.import1[0], 1234567);
  assert_int_equal(fr.import1[1], 234402);
  assert_int_equal(s->partial, 1);
  assert_true(s->skipped >= 20);
  memset(&fr, 0, sizeof fr);
  pg_p1_stream_init(s);
  pg_p1_stream_feed(s, in, (size_t)k, on_frame, &fr);
  assert_int_equal(fr.n, 3);
  assert_int_equal(fr.ok, 2);
  free(s);
}

/* A 7E1 meter behind an 8N1 bridge: even parity in bit 7 (DEVICES.md §B9). */
static void test_stream_parity(void **state) {
  (void)state;
  static uint8_t in[1024];
  const char s[] = P1_KAIFA;
  size_t n = strlen(s), high = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = (uint8_t)s[i];
    int ones = __builtin_popcount(c);
    in[i] = (uint8_t)(c | ((ones & 1) ? 0x80 : 0));
    high += in[i] >> 7;
  }
  assert_int_equal(high, 221 + 2); /* §B9 counts 221 of the 619 CRC bytes; "3FB0\r\n" adds 2 */
  pg_p1_stream *st = malloc(sizeof *st);
  assert_non_null(st);
  pg_p1_stream_init(st);
  frames fr = {0};
  pg_p1_stream_feed(st, in, n, on_frame, &fr);
  assert_int_equal(fr.ok, 1);
  assert_int_equal(fr.import1[0], 234402);
  free(st);
}

static void test_stream_overflow(void **state) {
  (void)state;
  pg_p1_stream *s = malloc(sizeof *s);
  static char junk[PG_P1_TELEGRAM_MAX + 100];
  assert_non_null(s);
  memset(junk, 'A', sizeof junk);
  junk[0] = '/';
  pg_p1_stream_init(s);
  frames fr = {0};
  pg_p1_stream_feed(s, junk, sizeof junk, on_frame, &fr);
  assert_int_equal(s->overflows, 1);
  pg_p1_stream_feed(s, P1_B8, strlen(P1_B8), on_frame, &fr);
  assert_int_equal(fr.ok, 1);
  /* a reset (reconnect) drops a partial telegram */
  pg_p1_stream_feed(s, P1_B8, 300, on_frame, &fr);
  pg_p1_stream_reset(s);
  pg_p1_stream_feed(s, P1_B8 + 300, strlen(P1_B8) - 300, on_frame, &fr);
  assert_int_equal(fr.n, 1);
  assert_int_equal(s->partial, 1);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc_check_value), cmocka_unit_test(test_kaifa_capture),
      cmocka_unit_test(test_b8_example),      cmocka_unit_test(test_unpadded_crc),
      cmocka_unit_test(test_bad_crc),         cmocka_unit_test(test_no_crc_refused),
      cmocka_unit_test(test_truncated),       cmocka_unit_test(test_overlong),
      cmocka_unit_test(test_duplicates),      cmocka_unit_test(test_units_and_decimals),
      cmocka_unit_test(test_syntax),          cmocka_unit_test(test_timestamps),
      cmocka_unit_test(test_gas_unusable),    cmocka_unit_test(test_stream_garbage),
      cmocka_unit_test(test_stream_parity),   cmocka_unit_test(test_stream_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
