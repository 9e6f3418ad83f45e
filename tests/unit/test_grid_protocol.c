/* Unit tests for src/grid/protocol.c: round trips of every command, every
 * rejection rule with its diagnostic, exact kWh <-> Wh conversion, the
 * registration bodies and paths, and the examples in docs/PROTOCOL.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/grid/record.h"
#include "p2pgrid/base/resource.h"

#define ADDR1 "atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx"
#define ADDR2 "atoi1qrlle70k70cwm6h8unsaak7c6hfvlnxfcmpup0d6k76trt4t4zj6yhej2y3"
#define ROOT81 "ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9"

/* serialize m, compare with want (if not NULL), parse back, compare structs */
static void round_trip(const pg_grid_msg *m, const char *want) {
  pg_buf b;
  pg_diag d = {{0}};
  pg_buf_init(&b, 1 << 16);
  int rc = pg_grid_msg_serialize(m, &b, &d);
  if (rc) fail_msg("serialize: %s", d.msg);
  if (want && (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0))
    fail_msg("serialized\n  %.*s\nwanted\n  %s", (int)b.len, (const char *)b.data, want);
  pg_grid_msg back;
  rc = pg_grid_msg_parse(b.data, b.len, &back, &d);
  if (rc) fail_msg("parse back %.*s: %s", (int)b.len, (const char *)b.data, d.msg);
  assert_true(pg_grid_msg_equal(m, &back));
  /* and the canonical form is a fixed point */
  pg_buf b2;
  pg_buf_init(&b2, 1 << 16);
  assert_int_equal(pg_grid_msg_serialize(&back, &b2, NULL), PG_OK);
  assert_int_equal(b2.len, b.len);
  assert_memory_equal(b2.data, b.data, b.len);
  pg_buf_free(&b2);
  pg_buf_free(&b);
}

static pg_grid_msg parse_ok(const char *s) {
  pg_grid_msg m;
  pg_diag d = {{0}};
  if (pg_grid_msg_parse(s, strlen(s), &m, &d)) fail_msg("parse %s: %s", s, d.msg);
  return m;
}

static void expect_reject(const char *s, const char *needle) {
  pg_grid_msg m;
  pg_diag d = {{0}};
  int rc = pg_grid_msg_parse(s, strlen(s), &m, &d);
  if (rc == PG_OK) fail_msg("accepted: %s", s);
  assert_int_equal(rc, PG_ERR_INVALID);
  if (!strstr(d.msg, needle)) fail_msg("input %s\n diag '%s'\n lacks '%s'", s, d.msg, needle);
}

static void test_hello_goodbye(void **state) {
  (void)state;
  pg_grid_msg m;
  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_HELLO;
  strcpy(m.u.hello.registration_id, "consumer-7");
  m.u.hello.time = 1700000000000ULL;
  round_trip(&m, "{\"command\":\"hello\",\"registrationId\":\"consumer-7\",\"time\":1700000000000}");
  strcpy(m.u.hello.name, "Flat \"4\" \\ K\xc3\xbche");
  m.u.hello.type = PG_GRID_ENTITY_CONSUMER;
  round_trip(&m, "{\"command\":\"hello\",\"registrationId\":\"consumer-7\","
                 "\"name\":\"Flat \\\"4\\\" \\\\ K\xc3\xbche\",\"type\":\"consumer\","
                 "\"time\":1700000000000}");
  m.u.hello.type = PG_GRID_ENTITY_SOURCE;
  round_trip(&m, NULL);
  m.u.hello.type = PG_GRID_ENTITY_PRODUCER;
  m.u.hello.time = 0;
  round_trip(&m, NULL);

  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_GOODBYE;
  strcpy(m.u.goodbye.registration_id, "A.b_c-9");
  m.u.goodbye.time = PG_GRID_MAX_TIME_MS;
  round_trip(&m, "{\"command\":\"goodbye\",\"registrationId\":\"A.b_c-9\",\"time\":4102444800000}");

  /* whitespace and key order do not matter on input; null optional = absent */
  m = parse_ok(" { \"time\" : 5 ,\"name\":null, \"registrationId\":\"x\", \"command\":\"hello\" } ");
  assert_int_equal(m.command, PG_GRID_CMD_HELLO);
  assert_string_equal(m.u.hello.registration_id, "x");
  assert_string_equal(m.u.hello.name, "");
  assert_int_equal(m.u.hello.type, PG_GRID_ENTITY_NONE);
  assert_int_equal(m.u.hello.time, 5);
}

static void test_output_usage_payment(void **state) {
  (void)state;
  pg_grid_msg m;
  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_OUTPUT;
  m.u.output.slot = 42;
  m.u.output.start_time = 1700000000000ULL;
  m.u.output.end_time = 1700000060000ULL;
  m.u.output.output_wh = 1500;
  round_trip(&m, "{\"command\":\"output\",\"slot\":42,\"startTime\":1700000000000,"
                 "\"endTime\":1700000060000,\"output\":1.5}");
  m.u.output.has_ask = true;
  m.u.output.ask_per_kwh = 0;
  strcpy(m.u.output.payment_address, ADDR1);
  round_trip(&m, "{\"command\":\"output\",\"slot\":42,\"startTime\":1700000000000,"
                 "\"endTime\":1700000060000,\"output\":1.5,\"askPerKwh\":0,"
                 "\"paymentAddress\":\"" ADDR1 "\"}");
  m.u.output.ask_per_kwh = PG_GRID_MAX_SAFE_INT;
  m.u.output.output_wh = PG_GRID_MAX_WH;
  m.u.output.slot = PG_GRID_MAX_SAFE_INT;
  round_trip(&m, NULL);

  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_USAGE;
  m.u.usage.slot = 0;
  m.u.usage.start_time = 0;
  m.u.usage.end_time = 1;
  m.u.usage.usage_wh = 2000;
  round_trip(&m, "{\"command\":\"usage\",\"slot\":0,\"startTime\":0,\"endTime\":1,\"usage\":2}");
  m.u.usage.has_bid = true;
  m.u.usage.bid_per_kwh = 250000;
  m.u.usage.usage_wh = 1;
  round_trip(&m, "{\"command\":\"usage\",\"slot\":0,\"startTime\":0,\"endTime\":1,"
                 "\"usage\":0.001,\"bidPerKwh\":250000}");

  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_PAYMENT_REQUEST;
  m.u.payment_request.slot = 7;
  strcpy(m.u.payment_request.request_id, "req-7-consumer-7");
  m.u.payment_request.owed = 1234000;
  m.u.payment_request.usage_wh = 1234;
  strcpy(m.u.payment_request.payment_address, ADDR2);
  strcpy(m.u.payment_request.reference, "p2pgrid:pay:req-7-consumer-7");
  round_trip(&m, "{\"command\":\"payment-request\",\"slot\":7,\"requestId\":\"req-7-consumer-7\","
                 "\"owed\":1234000,\"usage\":1.234,\"paymentIdOrAddress\":\"" ADDR2 "\","
                 "\"reference\":\"p2pgrid:pay:req-7-consumer-7\"}");

  /* an uppercase address is accepted and stored (and re-sent) lowercase */
  char up[200];
  snprintf(up, sizeof up,
           "{\"command\":\"output\",\"slot\":1,\"startTime\":1,\"endTime\":2,\"output\":0,"
           "\"paymentAddress\":\"%s\"}",
           "ATOI1QQQSSRCKR5JZKV3EGPR5U42UVD48Z7RLS6XEFXAZ4XCT00K9ENFA5F8KCFX");
  m = parse_ok(up);
  assert_string_equal(m.u.output.payment_address, ADDR1);
  assert_false(m.u.output.has_ask);
}

static void test_kwh_format(void **state) {
  (void)state;
  static const struct {
    int64_t wh;
    const char *txt;
  } v[] = {{0, "0"},           {1, "0.001"},         {10, "0.01"},
           {100, "0.1"},       {1000, "1"},          {1500, "1.5"},
           {2000, "2"},        {1234, "1.234"},      {123456789, "123456.789"},
           {1001, "1.001"},    {PG_GRID_MAX_WH, "1000000000"},
           {999999999999LL, "999999999.999"}};
  char buf[PG_GRID_KWH_TEXT];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    assert_int_equal(pg_grid_kwh_format(v[i].wh, buf, sizeof buf), PG_OK);
    assert_string_equal(buf, v[i].txt);
    int64_t wh = -1;
    assert_int_equal(pg_grid_kwh_parse(buf, strlen(buf), "x", &wh, NULL), PG_OK);
    assert_int_equal(wh, v[i].wh);
  }
  assert_int_equal(pg_grid_kwh_format(-1, buf, sizeof buf), PG_ERR_INVALID);
  assert_int_equal(pg_grid_kwh_format(PG_GRID_MAX_WH + 1, buf, sizeof buf), PG_ERR_INVALID);
  assert_int_equal(pg_grid_kwh_format(123456789, buf, 5), PG_ERR_TOO_LARGE);
}

static void test_kwh_parse_text(void **state) {
  (void)state;
  static const struct {
    const char *txt;
    int64_t wh;
  } ok[] = {{"0", 0},           {"-0", 0},          {"0.000", 0},        {"0.0000000", 0},
            {"0e5", 0},         {"0.001", 1},       {"1.234", 1234},     {"1.2340", 1234},
            {"1.234000000", 1234}, {"123456.789", 123456789}, {"12.5e-1", 1250},
            {"1E3", 1000000},   {"1e+3", 1000000},  {"1e9", PG_GRID_MAX_WH},
            {"0.000001e3", 1},  {"1000000000", PG_GRID_MAX_WH},
            {"999999999.999", 999999999999LL}, {"100e-5", 1}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t wh = -1;
    pg_diag d = {{0}};
    if (pg_grid_kwh_parse(ok[i].txt, strlen(ok[i].txt), "x", &wh, &d))
      fail_msg("%s: %s", ok[i].txt, d.msg);
    if (wh != ok[i].wh) fail_msg("%s: %lld Wh", ok[i].txt, (long long)wh);
  }
  static const struct {
    const char *txt, *diag;
  } bad[] = {{"1.2345", "'x' has 4 decimals; at most 3 (Wh precision)"},
             {"0.0001", "has 4 decimals"},
             {"1e-4", "has 4 decimals"},
             {"1.00000000000000000000000000000000000000000000001", "decimals"},
             {"-1", "'x' must not be negative"},
             {"-0.001", "must not be negative"},
             {"1000000000.001", "over the limit of 1000000000 kWh"},
             {"1e10", "over the limit"},
             {"1e99999999999999999999", "over the limit"},
             {"123456789012345678901234567890123456789012345", "over the limit"},
             {"01", "leading zero"},
             {"1.", "not a JSON number"},
             {".5", "not a number"},
             {"1e", "not a JSON number"},
             {"1x", "not a JSON number"},
             {"", "not a number"},
             {"+1", "not a number"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t wh = -7;
    pg_diag d = {{0}};
    if (pg_grid_kwh_parse(bad[i].txt, strlen(bad[i].txt), "x", &wh, &d) != PG_ERR_INVALID)
      fail_msg("accepted %s", bad[i].txt);
    if (!strstr(d.msg, bad[i].diag)) fail_msg("%s: '%s' lacks '%s'", bad[i].txt, d.msg, bad[i].diag);
    assert_int_equal(wh, -7);
  }
}

/* The message path goes through jansson's doubles: check exactness there. */
static int64_t usage_wh_of(const char *num, pg_diag *d, int *rc) {
  char s[256];
  snprintf(s, sizeof s,
           "{\"command\":\"usage\",\"slot\":1,\"startTime\":10,\"endTime\":20,\"usage\":%s}", num);
  pg_grid_msg m;
  *rc = pg_grid_msg_parse(s, strlen(s), &m, d);
  return *rc ? -1 : m.u.usage.usage_wh;
}

static void check_wh_via_json(int64_t wh) {
  char num[PG_GRID_KWH_TEXT];
  assert_int_equal(pg_grid_kwh_format(wh, num, sizeof num), PG_OK);
  pg_diag d = {{0}};
  int rc;
  int64_t got = usage_wh_of(num, &d, &rc);
  if (rc || got != wh) fail_msg("%s -> rc %d %lld Wh (%s)", num, rc, (long long)got, d.msg);
}

static void test_kwh_exact_via_json(void **state) {
  (void)state;
  static const struct {
    const char *txt;
    int64_t wh;
  } ok[] = {{"0", 0},         {"0.0", 0},        {"-0.0", 0},           {"0.001", 1},
            {"1.234", 1234},  {"1.2340", 1234},  {"123456.789", 123456789},
            {"2", 2000},      {"2.0", 2000},     {"1.5", 1500},        {"1e9", PG_GRID_MAX_WH},
            {"1000000000", PG_GRID_MAX_WH},      {"999999999.999", 999999999999LL},
            {"0.1", 100},     {"0.3", 300},      {"12.5e-1", 1250},    {"4.35", 4350}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    pg_diag d = {{0}};
    int rc;
    int64_t got = usage_wh_of(ok[i].txt, &d, &rc);
    if (rc || got != ok[i].wh)
      fail_msg("%s -> rc %d, %lld Wh (%s)", ok[i].txt, rc, (long long)got, d.msg);
  }
  static const struct {
    const char *txt, *diag;
  } bad[] = {{"1.2345", "usage: 'usage' has 4 decimals; at most 3 (Wh precision)"},
             {"0.0005", "has 4 decimals"},
             {"0.1234567", "has 7 decimals"},
             {"1e-7", "has 7 decimals"},
             {"-1", "usage: 'usage' must not be negative"},
             {"-0.5", "must not be negative"},
             {"1000000001", "over the limit of 1000000000 kWh"},
             {"1000000000.001", "over the limit"},
             {"1e300", "over the limit"},
             {"9223372036854775807", "over the limit"},
             {"\"1.5\"", "field 'usage': expected a number (kWh), got a string"},
             {"null", "expected a number (kWh), got null"},
             {"true", "got a boolean"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pg_diag d = {{0}};
    int rc;
    (void)usage_wh_of(bad[i].txt, &d, &rc);
    if (rc != PG_ERR_INVALID) fail_msg("accepted %s", bad[i].txt);
    if (!strstr(d.msg, bad[i].diag)) fail_msg("%s: '%s' lacks '%s'", bad[i].txt, d.msg, bad[i].diag);
  }
  /* every Wh value of the first 100 kWh, and a spread of large ones */
  for (int64_t wh = 0; wh <= 100000; wh++) check_wh_via_json(wh);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 100000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    check_wh_via_json((int64_t)(x % (uint64_t)(PG_GRID_MAX_WH + 1)));
  }
  for (int64_t wh = PG_GRID_MAX_WH - 5000; wh <= PG_GRID_MAX_WH; wh++) check_wh_via_json(wh);
}

static void test_rejections(void **state) {
  (void)state;
#define SPAN "\"slot\":1,\"startTime\":1000,\"endTime\":2000"
  static const struct {
    const char *json, *diag;
  } v[] = {
      {"", "message: JSON line"},
      {"[1]", "expected an object at the top level"},
      {"{\"command\":\"x\"}", "unknown command 'x'"},
      {"{\"command\":\"Hello\",\"registrationId\":\"a\",\"time\":1}", "unknown command 'Hello'"},
      {"{\"command\":7}", "message: field 'command': expected a string, got an integer"},
      {"{\"registrationId\":\"a\"}", "message: missing field 'command'"},
      {"{\"command\":\"hello\",\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1}",
       "duplicate"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1} x", "JSON line"},
      /* hello */
      {"{\"command\":\"hello\",\"time\":1}", "hello: missing field 'registrationId'"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\"}", "hello: missing field 'time'"},
      {"{\"command\":\"hello\",\"registrationId\":\"\",\"time\":1}",
       "hello: 'registrationId' must be 1..64 characters of [A-Za-z0-9._-]"},
      {"{\"command\":\"hello\",\"registrationId\":\"a b\",\"time\":1}", "'registrationId' must be"},
      {"{\"command\":\"hello\",\"registrationId\":\"a/b\",\"time\":1}", "'registrationId' must be"},
      {"{\"command\":\"hello\",\"registrationId\":"
       "\"12345678901234567890123456789012345678901234567890123456789012345\",\"time\":1}",
       "hello: 'registrationId' is too long (65 bytes; at most 64)"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"type\":\"grid\"}",
       "hello: 'type' must be \"source\", \"producer\" or \"consumer\", not 'grid'"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"name\":\"\"}",
       "hello: 'name' must not be empty"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"name\":\"a\\nb\"}",
       "hello: 'name' must be 1..64 bytes without control characters"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":-1}", "hello: field 'time'"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1.5}",
       "hello: field 'time': expected an integer, got a real number"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":4102444800001}",
       "hello: field 'time': 4102444800001 is not between 0 and 4102444800000"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"extra\":1}",
       "hello: unknown field 'extra'"},
      /* goodbye */
      {"{\"command\":\"goodbye\",\"registrationId\":\"a\",\"time\":1,\"name\":\"n\"}",
       "goodbye: unknown field 'name'"},
      {"{\"command\":\"goodbye\",\"time\":1}", "goodbye: missing field 'registrationId'"},
      /* output */
      {"{\"command\":\"output\"," SPAN ",\"output\":1.2345}",
       "output: 'output' has 4 decimals; at most 3 (Wh precision)"},
      {"{\"command\":\"output\"," SPAN ",\"output\":-0.001}", "output: 'output' must not be negative"},
      {"{\"command\":\"output\"," SPAN ",\"output\":1000000001}",
       "output: 'output' is over the limit of 1000000000 kWh"},
      {"{\"command\":\"output\"," SPAN "}", "output: missing field 'output'"},
      {"{\"command\":\"output\",\"slot\":1,\"startTime\":2000,\"endTime\":2000,\"output\":1}",
       "output: endTime must be after startTime"},
      {"{\"command\":\"output\",\"slot\":1,\"startTime\":2000,\"endTime\":1000,\"output\":1}",
       "output: endTime must be after startTime"},
      {"{\"command\":\"output\",\"slot\":-1,\"startTime\":1,\"endTime\":2,\"output\":1}",
       "output: field 'slot': -1 is not between 0 and 9007199254740991"},
      {"{\"command\":\"output\",\"slot\":9007199254740992,\"startTime\":1,\"endTime\":2,"
       "\"output\":1}",
       "output: field 'slot'"},
      {"{\"command\":\"output\",\"slot\":\"1\",\"startTime\":1,\"endTime\":2,\"output\":1}",
       "output: field 'slot': expected an integer, got a string"},
      {"{\"command\":\"output\",\"slot\":1,\"startTime\":1,\"endTime\":99999999999999,"
       "\"output\":1}",
       "output: field 'endTime'"},
      {"{\"command\":\"output\"," SPAN ",\"output\":1,\"askPerKwh\":-5}",
       "output: field 'askPerKwh'"},
      {"{\"command\":\"output\"," SPAN ",\"output\":1,\"askPerKwh\":1.5}",
       "output: field 'askPerKwh': expected an integer, got a real number"},
      {"{\"command\":\"output\"," SPAN ",\"output\":1,\"paymentAddress\":\"atoi1xyz\"}",
       "output: 'paymentAddress' is not a bech32 Ed25519 address"},
      {"{\"command\":\"output\"," SPAN ",\"output\":1,\"paymentAddress\":\"\"}",
       "output: 'paymentAddress' is empty"},
      {"{\"command\":\"output\"," SPAN ",\"output\":1,\"usage\":1}", "output: unknown field 'usage'"},
      /* usage */
      {"{\"command\":\"usage\"," SPAN ",\"usage\":0.0001}",
       "usage: 'usage' has 4 decimals; at most 3 (Wh precision)"},
      {"{\"command\":\"usage\",\"slot\":1,\"startTime\":5,\"endTime\":4,\"usage\":1}",
       "usage: endTime must be after startTime"},
      {"{\"command\":\"usage\"," SPAN ",\"usage\":1,\"bidPerKwh\":9007199254740992}",
       "usage: field 'bidPerKwh'"},
      {"{\"command\":\"usage\"," SPAN ",\"usage\":1,\"askPerKwh\":1}",
       "usage: unknown field 'askPerKwh'"},
      /* payment-request */
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\"}",
       "payment-request: missing field 'reference'"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":-1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":\"x\"}",
       "payment-request: field 'owed'"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":\"1\",\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":\"x\"}",
       "payment-request: field 'owed': expected an integer, got a string"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":1,"
       "\"usage\":1.0001,\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":\"x\"}",
       "payment-request: 'usage' has 4 decimals"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"pay-17\",\"reference\":\"x\"}",
       "payment-request: 'paymentIdOrAddress' is not a bech32 Ed25519 address"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":\"\"}",
       "payment-request: 'reference' must be 1..64 bytes of printable ASCII"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":\"caf\xc3\xa9\"}",
       "'reference' must be 1..64 bytes of printable ASCII"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r\",\"owed\":1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":"
       "\"12345678901234567890123456789012345678901234567890123456789012345\"}",
       "payment-request: 'reference' is too long (65 bytes; at most 64)"},
      {"{\"command\":\"payment-request\",\"slot\":1,\"requestId\":\"r r\",\"owed\":1,\"usage\":1,"
       "\"paymentIdOrAddress\":\"" ADDR1 "\",\"reference\":\"x\"}",
       "payment-request: 'requestId' must be 1..64 characters"},
  };
#undef SPAN
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) expect_reject(v[i].json, v[i].diag);

  /* over the size cap */
  char *big = malloc(PG_GRID_MAX_JSON + 2);
  assert_non_null(big);
  memset(big, ' ', PG_GRID_MAX_JSON + 1);
  big[0] = '{';
  big[PG_GRID_MAX_JSON] = '}';
  pg_grid_msg m;
  pg_diag d = {{0}};
  assert_int_equal(pg_grid_msg_parse(big, PG_GRID_MAX_JSON + 1, &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "at most 4096"));
  free(big);
  /* not NUL-terminated input is read only up to len */
  const char *s = "{\"command\":\"goodbye\",\"registrationId\":\"a\",\"time\":1}GARBAGE";
  assert_int_equal(pg_grid_msg_parse(s, strlen(s) - 7, &m, NULL), PG_OK);
}

static void test_serialize_checks(void **state) {
  (void)state;
  pg_grid_msg m;
  pg_buf b;
  pg_diag d = {{0}};
  pg_buf_init(&b, 1 << 12);
  memset(&m, 0, sizeof m);
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID); /* command 0 */
  m.command = PG_GRID_CMD_USAGE;
  m.u.usage.start_time = 5;
  m.u.usage.end_time = 5;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "usage: endTime must be after startTime");
  m.u.usage.end_time = 6;
  m.u.usage.usage_wh = -1;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "usage: 'usage' must not be negative");
  m.u.usage.usage_wh = PG_GRID_MAX_WH + 1;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  m.u.usage.usage_wh = 1;
  m.u.usage.slot = PG_GRID_MAX_SAFE_INT + 1;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_int_equal(b.len, 0);

  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_OUTPUT;
  m.u.output.end_time = 1;
  strcpy(m.u.output.payment_address, "ATOI1QQQSSRCKR5JZKV3EGPR5U42UVD48Z7RLS6XEFXAZ4XCT00K9ENFA5F8KCFX");
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "must be lowercase"));
  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_HELLO;
  memset(m.u.hello.registration_id, 'a', sizeof m.u.hello.registration_id); /* no NUL */
  m.u.hello.time = 1;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  m.u.hello.registration_id[3] = '\0';
  m.u.hello.type = (pg_grid_entity)9;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  m.u.hello.type = PG_GRID_ENTITY_NONE;

  /* buffer limit: error, length restored */
  pg_buf small;
  pg_buf_init(&small, 10);
  pg_buf_put(&small, "ab", 2);
  assert_int_equal(pg_grid_msg_serialize(&m, &small, &d), PG_ERR_TOO_LARGE);
  assert_int_equal(small.len, 2);
  pg_buf_free(&small);
  pg_buf_free(&b);

  assert_string_equal(pg_grid_command_name(PG_GRID_CMD_PAYMENT_REQUEST), "payment-request");
  assert_null(pg_grid_command_name((pg_grid_command)0));
  assert_string_equal(pg_grid_entity_name(PG_GRID_ENTITY_PRODUCER), "producer");
  assert_null(pg_grid_entity_name((pg_grid_entity)4));
}

static void expect_reg_reject(const char *s, const char *needle) {
  pg_grid_registration r;
  pg_diag d = {{0}};
  if (pg_grid_registration_parse(s, strlen(s), &r, &d) == PG_OK) fail_msg("accepted %s", s);
  if (!strstr(d.msg, needle)) fail_msg("input %s\n diag '%s'\n lacks '%s'", s, d.msg, needle);
}

static void test_registration(void **state) {
  (void)state;
  pg_grid_registration r;
  pg_diag d = {{0}};
  const char *s = "{\"name\":\"Roof 1\",\"type\":\"source\",\"root\":\"" ROOT81
                  "\",\"sideKey\":\"MYKEY\"}";
  assert_int_equal(pg_grid_registration_parse(s, strlen(s), &r, &d), PG_OK);
  assert_string_equal(r.name, "Roof 1");
  assert_int_equal(r.type, PG_GRID_ENTITY_SOURCE);
  assert_string_equal(r.channel.root, ROOT81);
  assert_string_equal(r.channel.side_key, "MYKEY");
  assert_int_equal(r.mode, PG_GRID_MODE_RESTRICTED);
  pg_buf b;
  pg_buf_init(&b, 4096);
  assert_int_equal(pg_grid_registration_serialize(&r, &b, &d), PG_OK);
  const char *want = "{\"name\":\"Roof 1\",\"type\":\"source\",\"root\":\"" ROOT81
                     "\",\"sideKey\":\"MYKEY\",\"mode\":\"restricted\"}";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  pg_grid_registration r2;
  assert_int_equal(pg_grid_registration_parse(b.data, b.len, &r2, &d), PG_OK);
  assert_memory_equal(&r, &r2, sizeof r);

  expect_reg_reject("{\"type\":\"source\",\"root\":\"" ROOT81 "\",\"sideKey\":\"K\"}",
                    "registration: missing field 'name'");
  expect_reg_reject("{\"name\":\"n\",\"root\":\"" ROOT81 "\",\"sideKey\":\"K\"}",
                    "registration: missing field 'type'");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"grid\",\"root\":\"" ROOT81 "\",\"sideKey\":\"K\"}",
                    "registration: 'type' must be \"source\", \"producer\" or \"consumer\"");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"ABC\",\"sideKey\":\"K\"}",
                    "registration: 'root' must be exactly 81 trytes [9A-Z]");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81 "A\",\"sideKey\":\"K\"}",
                    "registration: 'root' is too long");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"a" ROOT81 "\",\"sideKey\":\"K\"}",
                    "'root' is too long");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81 "\",\"sideKey\":\"k\"}",
                    "registration: 'sideKey' must be 1..81 trytes [9A-Z]");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81 "\",\"sideKey\":\"\"}",
                    "'sideKey' must be 1..81 trytes");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81 "\"}",
                    "registration: missing field 'sideKey'");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81
                    "\",\"sideKey\":\"K\",\"mode\":\"public\"}",
                    "registration: 'mode' must be \"restricted\" (the only mode supported), not "
                    "'public'");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81
                    "\",\"sideKey\":\"K\",\"mode\":1}",
                    "registration: field 'mode': expected a string");
  expect_reg_reject("{\"name\":\"n\",\"type\":\"source\",\"root\":\"" ROOT81
                    "\",\"sideKey\":\"K\",\"id\":\"x\"}",
                    "registration: unknown field 'id'");
  expect_reg_reject("{\"name\":\"\",\"type\":\"source\",\"root\":\"" ROOT81 "\",\"sideKey\":\"K\"}",
                    "registration: 'name' must be 1..64 bytes");
  expect_reg_reject("[]", "registration: JSON: expected an object");

  pg_grid_channel c, c2;
  s = "{\"root\":\"" ROOT81 "\",\"sideKey\":\"" ROOT81 "\"}";
  assert_int_equal(pg_grid_channel_parse(s, strlen(s), &c, &d), PG_OK);
  pg_buf_reset(&b);
  assert_int_equal(pg_grid_channel_serialize(&c, &b, &d), PG_OK);
  assert_int_equal(b.len, strlen(s));
  assert_memory_equal(b.data, s, b.len);
  assert_int_equal(pg_grid_channel_parse(b.data, b.len, &c2, &d), PG_OK);
  assert_memory_equal(&c, &c2, sizeof c);
  s = "{\"root\":\"" ROOT81 "\",\"sideKey\":\"K\",\"mode\":\"restricted\"}";
  assert_int_equal(pg_grid_channel_parse(s, strlen(s), &c, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "channel: unknown field 'mode'");

  pg_buf_reset(&b);
  assert_int_equal(pg_grid_error_serialize("invalid", "registration: 'root' \"x\"\n", &b), PG_OK);
  want = "{\"error\":{\"code\":\"invalid\",\"message\":\"registration: 'root' \\\"x\\\"\\u000a\"}}";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  pg_buf_reset(&b);
  assert_int_equal(pg_grid_error_serialize("invalid", "K\xc3\xbche \xc3 \xed\xa0\x80 \xff\xe2\x82", &b),
                   PG_OK);
  want = "{\"error\":{\"code\":\"invalid\",\"message\":\"K\xc3\xbche \\ufffd "
         "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\"}}";
  if (b.len != strlen(want) || memcmp(b.data, want, b.len))
    fail_msg("%.*s", (int)b.len, (const char *)b.data);
  json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
  assert_non_null(j);
  json_decref(j);
  pg_buf_free(&b);
}

static void test_paths(void **state) {
  (void)state;
  char id[PG_GRID_MAX_ID + 1], key[PG_GRID_TRYTES + 1];
  pg_diag d = {{0}};
  const char *p = "/registration/consumer-7";
  assert_int_equal(pg_grid_registration_path(p, strlen(p), id, key, &d), PG_OK);
  assert_string_equal(id, "consumer-7");
  assert_string_equal(key, "");
  p = "/registration/consumer-7/MYKEY9";
  assert_int_equal(pg_grid_registration_path(p, strlen(p), id, key, &d), PG_OK);
  assert_string_equal(id, "consumer-7");
  assert_string_equal(key, "MYKEY9");
  static const struct {
    const char *p;
    int rc;
  } bad[] = {{"/registration/", PG_ERR_INVALID},       {"/registration/a/", PG_ERR_INVALID},
             {"/registration/a/b", PG_ERR_INVALID},    {"/registration/a/B/C", PG_ERR_INVALID},
             {"/registration/a%20b", PG_ERR_INVALID},  {"/registrations/a", PG_ERR_NOT_FOUND},
             {"/reg", PG_ERR_NOT_FOUND},               {"", PG_ERR_NOT_FOUND},
             {"/registration/" ROOT81 "/K", PG_ERR_INVALID},
             {"/registration/a/" ROOT81 "A", PG_ERR_INVALID}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d.msg[0] = '\0';
    int rc = pg_grid_registration_path(bad[i].p, strlen(bad[i].p), id, key, &d);
    if (rc != bad[i].rc) fail_msg("%s: rc %d", bad[i].p, rc);
    assert_true(d.msg[0] != '\0');
  }
}

static void test_validators(void **state) {
  (void)state;
  assert_true(pg_grid_is_id("a", 1));
  assert_true(pg_grid_is_id("Az09._-", 7));
  assert_false(pg_grid_is_id("", 0));
  assert_false(pg_grid_is_id("a b", 3));
  assert_false(pg_grid_is_id("a\0b", 3));
  assert_false(pg_grid_is_id("caf\xc3\xa9", 5));
  char id[PG_GRID_MAX_ID + 2];
  memset(id, 'x', sizeof id);
  assert_true(pg_grid_is_id(id, PG_GRID_MAX_ID));
  assert_false(pg_grid_is_id(id, PG_GRID_MAX_ID + 1));
  assert_true(pg_grid_is_trytes(ROOT81, 81));
  assert_true(pg_grid_is_trytes("", 0));
  assert_false(pg_grid_is_trytes("ABc", 3));
  assert_false(pg_grid_is_trytes("AB0", 3));
  assert_false(pg_grid_is_trytes("A@", 2));
  assert_false(pg_grid_is_trytes("A[", 2));
}

/* The channel binding fields: they go together, decode strictly, round-trip;
 * the binding bytes are exactly the documented layout. */
static void test_binding(void **state) {
  (void)state;
  const char *root = "ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9";
  struct {
    const char *text, *want;
  } rejects[] = {
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"certificate\":\"AAAA\"}",
       "'certificate' and 'signature' go together"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"signature\":\"00112233445566778899\"}",
       "'certificate' and 'signature' go together"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"certificate\":\"A\",\"signature\":\"0011223344556677\"}",
       "'certificate' must be base64"},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"certificate\":\"AAAA\",\"signature\":\"0011\"}",
       "'signature' must be 16.."},
      {"{\"command\":\"hello\",\"registrationId\":\"a\",\"time\":1,\"certificate\":\"AAAA\",\"signature\":\"xx112233445566778899\"}",
       "'signature' must be"},
  };
  for (size_t i = 0; i < sizeof rejects / sizeof *rejects; i++) {
    pg_grid_msg m;
    pg_diag d = {{0}};
    assert_int_equal(pg_grid_msg_parse(rejects[i].text, strlen(rejects[i].text), &m, &d), PG_ERR_INVALID);
    if (!strstr(d.msg, rejects[i].want)) fail_msg("'%s' lacks '%s'", d.msg, rejects[i].want);
  }
  char body[600];
  pg_grid_registration r;
  pg_diag d = {{0}};
  snprintf(body, sizeof body, "{\"name\":\"x\",\"type\":\"consumer\",\"root\":\"%s\",\"sideKey\":\"K\",\"time\":5}", root);
  assert_int_equal(pg_grid_registration_parse(body, strlen(body), &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "'time' and 'signature' go together"));
  snprintf(body, sizeof body, "{\"name\":\"x\",\"type\":\"consumer\",\"root\":\"%s\",\"sideKey\":\"K\",\"paymentAddress\":\"nope\"}", root);
  assert_int_equal(pg_grid_registration_parse(body, strlen(body), &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "paymentAddress"));
  /* the layout */
  pg_grid_channel ch;
  snprintf(ch.root, sizeof ch.root, "%s", root);
  snprintf(ch.side_key, sizeof ch.side_key, "SK");
  pg_buf b;
  pg_buf_init(&b, 512);
  assert_int_equal(pg_grid_binding_bytes("id1", &ch, 0x0102030405060708ULL, &b, NULL), PG_OK);
  static const char ctx[] = "p2pgrid/channel-binding/v1";
  size_t want = sizeof ctx + 1 + 3 + 81 + 1 + 2 + 1 + 8;
  assert_int_equal(b.len, want);
  assert_memory_equal(b.data, ctx, sizeof ctx); /* with its NUL */
  const uint8_t *q = b.data + sizeof ctx;
  assert_int_equal(q[0], 3);
  assert_memory_equal(q + 1, "id1", 3);
  assert_memory_equal(q + 4, root, 81);
  assert_int_equal(q[85], 2);
  assert_memory_equal(q + 86, "SK", 2);
  assert_int_equal(q[88], 0);
  static const uint8_t t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_memory_equal(q + 89, t, 8);
  pg_buf_reset(&b);
  assert_int_equal(pg_grid_binding_bytes("bad id", &ch, 1, &b, NULL), PG_ERR_INVALID);
  pg_buf_free(&b);
}

/* Version 2 (any resource) beside version 1 (electricity, unchanged). */
static void test_versions(void **state) {
  (void)state;
  pg_resource water, elec;
  assert_int_equal(pg_resource_preset("water", &water), PG_OK);
  pg_resource_default(&elec);
  pg_grid_msg m;
  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_USAGE;
  m.u.usage.slot = 1;
  m.u.usage.start_time = 1000;
  m.u.usage.end_time = 2000;
  m.u.usage.usage_wh = 1500;
  m.u.usage.has_bid = true;
  m.u.usage.bid_per_kwh = 7;
  /* zero and electricity: the original bytes */
  const char *v1 = "{\"command\":\"usage\",\"slot\":1,\"startTime\":1000,\"endTime\":2000,"
                   "\"usage\":1.5,\"bidPerKwh\":7}";
  round_trip(&m, v1);
  pg_grid_msg_set_resource(&m, NULL);
  assert_int_equal(m.version, PG_GRID_VERSION_1);
  round_trip(&m, v1);
  pg_grid_msg_set_resource(&m, &elec);
  round_trip(&m, v1);
  pg_grid_msg back = parse_ok(v1);
  assert_int_equal(back.version, PG_GRID_VERSION_1);
  assert_string_equal(back.resource, "electricity");
  assert_string_equal(back.unit, "Wh");
  assert_true(pg_grid_msg_is_resource(&back, NULL));
  assert_true(pg_grid_msg_is_resource(&back, &elec));
  assert_false(pg_grid_msg_is_resource(&back, &water));
  /* an explicit "version":1 is version 1 */
  back = parse_ok("{\"command\":\"usage\",\"version\":1,\"slot\":1,\"startTime\":1000,"
                  "\"endTime\":2000,\"usage\":1.5,\"bidPerKwh\":7}");
  assert_true(pg_grid_msg_equal(&back, &m));
  /* water: version 2, litres as integers, per-unit prices */
  pg_grid_msg_set_resource(&m, &water);
  assert_int_equal(m.version, PG_GRID_VERSION_2);
  round_trip(&m, "{\"command\":\"usage\",\"version\":2,\"resource\":\"water\",\"unit\":\"L\","
                 "\"slot\":1,\"startTime\":1000,\"endTime\":2000,\"usage\":1500,\"bidPerUnit\":7}");
  assert_true(pg_grid_msg_is_resource(&m, &water));
  assert_false(pg_grid_msg_is_resource(&m, NULL));
  char label[48];
  pg_grid_msg_resource_label(&m, label, sizeof label);
  assert_string_equal(label, "water/L");
  pg_grid_msg_resource_label(&back, label, sizeof label);
  assert_string_equal(label, "electricity/Wh");
  /* the same quantity in two versions is not the same message */
  assert_false(pg_grid_msg_equal(&m, &back));
  m.u.usage.usage_wh = PG_GRID_MAX_WH; /* the largest count: exact */
  round_trip(&m, NULL);
  m.u.usage.usage_wh = 1;
  /* output and hello in version 2 */
  pg_grid_msg o;
  memset(&o, 0, sizeof o);
  o.command = PG_GRID_CMD_OUTPUT;
  pg_grid_msg_set_resource(&o, &water);
  o.u.output.slot = 2;
  o.u.output.start_time = 2000;
  o.u.output.end_time = 3000;
  o.u.output.output_wh = 0;
  round_trip(&o, "{\"command\":\"output\",\"version\":2,\"resource\":\"water\",\"unit\":\"L\","
                 "\"slot\":2,\"startTime\":2000,\"endTime\":3000,\"output\":0}");
  o.u.output.has_ask = true;
  o.u.output.ask_per_kwh = 9;
  strcpy(o.u.output.payment_address, ADDR1);
  round_trip(&o, NULL);
  pg_grid_msg h;
  memset(&h, 0, sizeof h);
  h.command = PG_GRID_CMD_HELLO;
  pg_grid_msg_set_resource(&h, &water);
  strcpy(h.u.hello.registration_id, "c1");
  h.u.hello.time = 5;
  round_trip(&h, "{\"command\":\"hello\",\"version\":2,\"resource\":\"water\",\"unit\":\"L\","
                 "\"registrationId\":\"c1\",\"time\":5}");
  /* goodbye and payment-request carry no version */
  expect_reject("{\"command\":\"goodbye\",\"version\":2,\"registrationId\":\"a\",\"time\":1}",
                "goodbye: unknown field 'version'");
}

/* Every new rejection of the versions, by the parser and by the serialiser. */
static void test_version_rejections(void **state) {
  (void)state;
#define W2 "\"version\":2,\"resource\":\"water\",\"unit\":\"L\","
#define SPAN "\"slot\":1,\"startTime\":1000,\"endTime\":2000,"
  expect_reject("{\"command\":\"hello\",\"version\":3,\"registrationId\":\"a\",\"time\":1}",
                "hello: version 3 is not supported (1 or 2)");
  expect_reject("{\"command\":\"hello\",\"version\":0,\"registrationId\":\"a\",\"time\":1}",
                "hello: version 0 is not supported (1 or 2)");
  expect_reject("{\"command\":\"hello\",\"version\":\"2\",\"registrationId\":\"a\",\"time\":1}",
                "hello: field 'version'");
  expect_reject("{\"command\":\"output\",\"version\":2.0,\"resource\":\"water\",\"unit\":\"L\"," SPAN
                "\"output\":1}",
                "output: field 'version'");
  expect_reject("{\"command\":\"output\"," W2 SPAN "\"output\":1,\"askPerKwh\":3}",
                "output: 'askPerKwh' is a version 1 field; version 2 uses 'askPerUnit'");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":1,\"bidPerKwh\":3}",
                "usage: 'bidPerKwh' is a version 1 field; version 2 uses 'bidPerUnit'");
  expect_reject("{\"command\":\"output\"," SPAN "\"output\":1,\"askPerUnit\":3}",
                "output: 'askPerUnit' is a version 2 field");
  expect_reject("{\"command\":\"usage\"," SPAN "\"usage\":1,\"bidPerUnit\":3}",
                "usage: 'bidPerUnit' is a version 2 field");
  expect_reject("{\"command\":\"usage\",\"unit\":\"L\"," SPAN "\"usage\":1}",
                "usage: 'unit' is a version 2 field");
  expect_reject("{\"command\":\"usage\",\"version\":1,\"resource\":\"electricity\"," SPAN
                "\"usage\":1}",
                "usage: 'resource' is a version 2 field");
  expect_reject("{\"command\":\"usage\",\"version\":2,\"unit\":\"L\"," SPAN "\"usage\":1}",
                "usage: missing field 'resource'");
  expect_reject("{\"command\":\"usage\",\"version\":2,\"resource\":\"\",\"unit\":\"L\"," SPAN
                "\"usage\":1}",
                "usage: 'resource' must be 1..31 characters of [a-z0-9_-]");
  expect_reject("{\"command\":\"usage\",\"version\":2,\"resource\":"
                "\"abcdefghijabcdefghijabcdefghijab\",\"unit\":\"L\"," SPAN "\"usage\":1}",
                "usage: 'resource' is too long");
  expect_reject("{\"command\":\"usage\",\"version\":2,\"resource\":\"water\",\"unit\":\"l i\","
                SPAN "\"usage\":1}",
                "usage: 'unit' must be 1..15 characters");
  expect_reject("{\"command\":\"usage\",\"version\":2,\"resource\":\"water\",\"unit\":7," SPAN
                "\"usage\":1}",
                "usage: field 'unit'");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":1e3}",
                "expected an integer count of L (version 2), got a fraction or exponent");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":2.0}",
                "expected an integer count of L (version 2), got a fraction or exponent");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":true}",
                "expected an integer count of L (version 2)");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":null}",
                "expected an integer count of L (version 2)");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"bidPerUnit\":1}", "usage: missing field 'usage'");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":-5}", "usage: 'usage' must not be negative");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":1000000000001}",
                "usage: 'usage' is over the limit of 1000000000000 L");
  expect_reject("{\"command\":\"usage\"," W2 SPAN "\"usage\":1,\"bidPerUnit\":9007199254740992}",
                "usage: field 'bidPerUnit'");
  expect_reject("{\"command\":\"output\"," W2 SPAN "\"output\":1,\"askPerUnit\":-1}",
                "output: field 'askPerUnit'");
  /* the serialiser refuses what the parser would */
  pg_grid_msg m;
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_diag d = {{0}};
  memset(&m, 0, sizeof m);
  m.command = PG_GRID_CMD_OUTPUT;
  m.u.output.slot = 1;
  m.u.output.start_time = 1000;
  m.u.output.end_time = 2000;
  m.version = 3;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "output: version 3 is not supported (1 or 2)");
  m.version = 1;
  strcpy(m.resource, "water");
  strcpy(m.unit, "L");
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "output: version 1 is electricity in Wh"));
  m.version = 2;
  strcpy(m.resource, "Water");
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "'resource' must be"));
  strcpy(m.resource, "water");
  m.unit[0] = '\0';
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "'unit' must be"));
  strcpy(m.unit, "L");
  m.u.output.output_wh = PG_GRID_MAX_WH + 1;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "output: 'output' is over the limit of 1000000000000 L");
  m.u.output.output_wh = 1;
  m.u.output.has_ask = true;
  m.u.output.ask_per_kwh = PG_GRID_MAX_SAFE_INT + 1;
  assert_int_equal(pg_grid_msg_serialize(&m, &b, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "'askPerUnit' is out of range"));
  assert_int_equal(b.len, 0);
  pg_buf_free(&b);
#undef W2
#undef SPAN
}

/* Every ```json <kind> block of docs/PROTOCOL.md parses with the matching
 * parser and is already canonical (serialises back byte for byte). */
static void test_doc_examples(void **state) {
  (void)state;
  FILE *f = fopen(PG_SOURCE_DIR "/docs/PROTOCOL.md", "rb");
  assert_non_null(f);
  static char doc[1 << 17];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[n] = '\0';
  int counts[8] = {0};
  const char *kinds[] = {"message", "registration", "channel", "error", "reject",
                         "settlement", "answer", "line"};
  char *p = doc;
  while ((p = strstr(p, "```json "))) {
    p += 8;
    char *eol = strchr(p, '\n');
    assert_non_null(eol);
    char *end = strstr(eol + 1, "\n```");
    assert_non_null(end);
    const char *body = eol + 1;
    size_t len = (size_t)(end - body);
    int kind = -1;
    for (int k = 0; k < 8; k++)
      if ((size_t)(eol - p) == strlen(kinds[k]) && memcmp(p, kinds[k], strlen(kinds[k])) == 0)
        kind = k;
    if (kind < 0) fail_msg("unknown example kind %.*s", (int)(eol - p), p);
    counts[kind]++;
    pg_buf b;
    pg_buf_init(&b, 1 << 14);
    pg_diag d = {{0}};
    int rc = PG_OK;
    if (kind == 0) {
      pg_grid_msg m;
      rc = pg_grid_msg_parse(body, len, &m, &d);
      if (!rc) rc = pg_grid_msg_serialize(&m, &b, &d);
    } else if (kind == 1) {
      pg_grid_registration r;
      rc = pg_grid_registration_parse(body, len, &r, &d);
      if (!rc) rc = pg_grid_registration_serialize(&r, &b, &d);
    } else if (kind == 2) {
      pg_grid_channel c;
      rc = pg_grid_channel_parse(body, len, &c, &d);
      if (!rc) rc = pg_grid_channel_serialize(&c, &b, &d);
    } else if (kind == 5) {
      pg_grid_settlement st;
      rc = pg_grid_settlement_parse(body, len, &st, &d);
      if (!rc) rc = pg_grid_settlement_serialize(&st, &b, &d);
      pg_grid_settlement_free(&st);
    } else if (kind == 6) {
      pg_grid_reg_answer a;
      rc = pg_grid_reg_answer_parse(body, len, &a, &d);
      if (!rc) rc = pg_grid_reg_answer_serialize(&a, &b, &d);
    } else if (kind == 7) {
      pg_record_plain pl;
      rc = pg_record_plain_parse(body, len, &pl, &d);
      if (!rc) rc = pg_record_plain_serialize(&pl, &b, &d);
    } else if (kind == 3) {
      /* error bodies: check the shape only */
      json_t *j = json_loadb(body, len, 0, NULL);
      assert_non_null(j);
      json_t *e = json_object_get(j, "error");
      assert_true(json_is_string(json_object_get(e, "code")));
      assert_true(json_is_string(json_object_get(e, "message")));
      json_decref(j);
    } else {
      /* rejected examples: first line "<diag substring>", rest the message */
      const char *nl = memchr(body, '\n', len);
      assert_non_null(nl);
      pg_grid_msg m;
      rc = pg_grid_msg_parse(nl + 1, len - (size_t)(nl + 1 - body), &m, &d);
      if (rc == PG_OK) fail_msg("doc example accepted: %.*s", (int)len, body);
      char want[256];
      snprintf(want, sizeof want, "%.*s", (int)(nl - body), body);
      if (!strstr(d.msg, want)) fail_msg("doc reject: '%s' lacks '%s'", d.msg, want);
      rc = PG_OK;
    }
    if (rc) fail_msg("doc example %.*s: %s", (int)len, body, d.msg);
    if ((kind == 0 || kind == 1 || kind == 2 || kind >= 5) && (b.len != len || memcmp(b.data, body, len)))
      fail_msg("doc example not canonical:\n%.*s\nvs\n%.*s", (int)len, body, (int)b.len,
               (const char *)b.data);
    pg_buf_free(&b);
    p = end;
  }
  assert_true(counts[0] >= 5);
  assert_true(counts[1] >= 1);
  assert_true(counts[2] >= 1);
  assert_true(counts[3] >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello_goodbye),     cmocka_unit_test(test_output_usage_payment),
      cmocka_unit_test(test_kwh_format),        cmocka_unit_test(test_kwh_parse_text),
      cmocka_unit_test(test_kwh_exact_via_json), cmocka_unit_test(test_rejections),
      cmocka_unit_test(test_serialize_checks),  cmocka_unit_test(test_registration),
      cmocka_unit_test(test_paths),             cmocka_unit_test(test_doc_examples),
      cmocka_unit_test(test_binding),
      cmocka_unit_test(test_validators),
      cmocka_unit_test(test_versions),          cmocka_unit_test(test_version_rejections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
