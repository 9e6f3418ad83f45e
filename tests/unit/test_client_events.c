/* Unit tests: [mqtt] settings and the event payload parsers
 * (include/p2pgrid/client/events.h): what a broker may deliver, good and hostile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/client/events.h"

static int load(const char *text, pg_mqtt_settings *s, pg_diag *d) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_string(c, "t.ini", text, strlen(text), d), PG_OK);
  memset(s, 0, sizeof *s);
  int rc = pg_mqtt_settings_load(s, c, "mqtt", "dflt", d);
  pg_config_free(c);
  return rc;
}

static void test_settings(void **state) {
  (void)state;
  pg_mqtt_settings s, c;
  pg_diag d = {{0}};
  assert_int_equal(load("[mqtt]\n", &s, &d), PG_OK);
  assert_null(s.host); /* no broker: no MQTT */
  assert_int_equal(s.port, 1883);
  assert_int_equal(s.qos, 1);
  assert_string_equal(s.client_id, "dflt");
  pg_mqtt_settings_clear(&s);
  assert_int_equal(load("[mqtt]\nhost = broker.example\nport = 8883\nqos = 2\nclient_id = me\n"
                        "tls_ca = /ca.pem\ntls_cert = /c.pem\ntls_key = /k.pem\n",
                        &s, &d),
                   PG_OK);
  assert_string_equal(s.host, "broker.example");
  assert_int_equal(s.port, 8883);
  assert_int_equal(s.qos, 2);
  memset(&c, 0, sizeof c);
  assert_int_equal(pg_mqtt_settings_copy(&c, &s), PG_OK);
  assert_string_equal(c.tls_key, "/k.pem");
  assert_ptr_not_equal(c.tls_key, s.tls_key);
  pg_mqtt_settings_clear(&s);
  pg_mqtt_settings_clear(&c);

  static const char *const bad[][2] = {
      {"[mqtt]\nhost = h\nqos = 3\n", "qos"},
      {"[mqtt]\nhost = h\nport = 0\n", "port"},
      {"[mqtt]\nhost = h\ntls_cert = /c.pem\ntls_ca = /ca\n", "tls_key"},
      {"[mqtt]\nhost = h\ntls_cert = /c.pem\ntls_key = /k.pem\n", "tls_ca"},
      {"[mqtt]\nhost = h\nclient_id = 123456789012345678901234\n", "client_id"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d.msg[0] = 0;
    assert_int_not_equal(load(bad[i][0], &s, &d), PG_OK);
    if (!strstr(d.msg, bad[i][1])) fail_msg("case %zu: '%s' does not name %s", i, d.msg, bad[i][1]);
    assert_null(s.host); /* cleared on failure */
  }
}

static void test_client_refuses_missing_files(void **state) {
  (void)state;
  pg_mqtt_settings s = {.host = "127.0.0.1", .port = 1, .qos = 1, .tls_ca = "/nonexistent/ca.pem"};
  struct mosquitto *m = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_mqtt_client_new(&s, NULL, &m, &d), PG_ERR_CONFIG);
  assert_null(m);
  assert_non_null(strstr(d.msg, "/nonexistent/ca.pem"));
}

static void test_milestone(void **state) {
  (void)state;
  uint32_t i = 0;
  uint64_t ts = 0;
  pg_diag d = {{0}};
  const char *ok = "{\"index\":7,\"timestamp\":1764700000,\"extra\":[1]}";
  assert_int_equal(pg_events_parse_milestone(ok, strlen(ok), &i, &ts, &d), PG_OK);
  assert_int_equal(i, 7);
  assert_int_equal(ts, 1764700000);
  static const char *const bad[] = {
      "", "null", "[]", "{\"index\":7}", "{\"index\":\"7\",\"timestamp\":1}",
      "{\"index\":4294967296,\"timestamp\":1}", "{\"index\":-1,\"timestamp\":1}",
      "{\"index\":1,\"timestamp\":-5}", "{\"index\":1.0,\"timestamp\":1}", "{\"index\":1,",
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    d.msg[0] = 0;
    assert_int_not_equal(pg_events_parse_milestone(bad[k], strlen(bad[k]), &i, &ts, &d), PG_OK);
    assert_true(d.msg[0] != 0);
  }
  /* a payload over the cap is refused before parsing */
  size_t n = PG_EVENTS_MAX_PAYLOAD + 1;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, ' ', n);
  memcpy(big, ok, strlen(ok));
  assert_int_equal(pg_events_parse_milestone(big, n, &i, &ts, &d), PG_ERR_TOO_LARGE);
  free(big);
  assert_int_equal(pg_events_parse_milestone(NULL, 3, &i, &ts, &d), PG_ERR_INVALID);
}

#define H64A "7a3c5b9f1e0d2c4b6a8e9f0d1c2b3a4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c"
#define H64B "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define H64C "b1d9e5c3a7f2e4d6c8b0a2f4e6d8c0b2a4f6e8d0c2b4a6f8e0d2c4b6a8f0e2d4"

static int output(const char *mid, const char *tx, const char *idx, const char *type,
                  const char *atype, const char *addr, const char *amount, pg_event_output *o,
                  pg_diag *d) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf,
                   "{\"messageId\":\"%s\",\"transactionId\":\"%s\",\"outputIndex\":%s,"
                   "\"isSpent\":false,\"output\":{\"type\":%s,\"address\":{\"type\":%s,"
                   "\"address\":\"%s\"},\"amount\":%s},\"ledgerIndex\":9}",
                   mid, tx, idx, type, atype, addr, amount);
  return pg_events_parse_output(buf, (size_t)n, o, d);
}

static void test_output(void **state) {
  (void)state;
  pg_event_output o;
  pg_diag d = {{0}};
  assert_int_equal(output(H64A, H64B, "2", "1", "0", H64C, "1000000", &o, &d), PG_OK);
  assert_int_equal(o.output_id[32], 2);
  assert_int_equal(o.output_id[33], 0);
  assert_int_equal(o.output_id[0], 0x0f);
  assert_int_equal(o.message_id[0], 0x7a);
  assert_int_equal(o.address[0], 0xb1);
  assert_int_equal(o.type, 1);
  assert_int_equal(o.amount, 1000000);
  assert_int_equal(o.ledger_index, 9);
  assert_false(o.spent);
  /* hostile or malformed fields, one at a time */
  assert_int_not_equal(output("7a3c", H64B, "0", "0", "0", H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B "00", "0", "0", "0", H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "127", "0", "0", H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "-1", "0", "0", H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "2", "0", H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "0", "1", H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "0", "0", "zz" H64C, "1", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "0", "0", H64C, "0", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "0", "0", H64C, "2779530283277762", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "0", "0", H64C, "1.5", &o, &d), PG_OK);
  assert_int_not_equal(output(H64A, H64B, "0", "0", "0", H64C, "\"5\"", &o, &d), PG_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_settings),
      cmocka_unit_test(test_client_refuses_missing_files),
      cmocka_unit_test(test_milestone),
      cmocka_unit_test(test_output),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
