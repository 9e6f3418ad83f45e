/* test_audit_export.c — the audit export and member keys parsers: a real
 * export (from a full simulation, fuzz/corpus/fuzz_audit_export) parses
 * with every field, and bad input is refused with the item and the field
 * named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/audit/audit.h"
#include "p2pgrid/base/file.h"

#define CORPUS PG_SOURCE_DIR "/fuzz/corpus/fuzz_audit_export/"

static uint8_t *load(const char *name, size_t *len) {
  uint8_t *buf = NULL;
  assert_int_equal(pg_read_file_capped(name, 1 << 22, &buf, len, NULL), PG_OK);
  return buf;
}

static void test_export(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = load(CORPUS "export_small", &len);
  pg_audit_export e;
  pg_diag d = {{0}};
  assert_int_equal(pg_audit_export_parse(buf, len, &e, &d), PG_OK);
  assert_string_equal(e.grid_id, "grid");
  assert_int_equal(e.slot_ms, 900000);
  assert_int_equal(e.n_config, 1);
  assert_int_equal(e.config[0].mech, PG_MARKET_PAY_AS_CLEAR);
  assert_int_equal(e.n_slots, 2);
  assert_true(e.slots[0].slot < e.slots[1].slot);
  assert_int_equal(e.slots[0].n_readings, 5);
  assert_int_equal(e.slots[0].n_bills, 3);
  assert_true(e.slots[0].bills[0].owed > 0);
  assert_memory_equal(e.slots[0].bills[0].reference, "p2pgrid:", 8);
  assert_int_equal(e.n_members, 3);
  assert_true(strcmp(e.members[0].id, e.members[1].id) < 0);
  assert_int_equal(e.n_batches, 2);
  assert_int_equal(strlen(e.batches[0].msg_id), 64);
  pg_audit_export_free(&e);
  pg_audit_export_free(&e); /* idempotent */
  free(buf);
}

static void expect_refused(const char *name, const char *needle) {
  size_t len;
  uint8_t *buf = load(name, &len);
  pg_audit_export e;
  pg_diag d = {{0}};
  assert_int_not_equal(pg_audit_export_parse(buf, len, &e, &d), PG_OK);
  printf("  # %s\n", d.msg);
  assert_non_null(strstr(d.msg, needle));
  free(buf);
}

static void test_export_refused(void **state) {
  (void)state;
  expect_refused(CORPUS "export_bad_owed", "slots[0].bills[0]: field 'owed': expected an integer");
  expect_refused(CORPUS "export_no_config", "the history is empty");
  expect_refused(CORPUS "not_json", "JSON line 1");
  expect_refused(CORPUS "keys_consumer", "not p2pgrid-audit-export/1");
  const char *dup = "{\"format\":\"p2pgrid-audit-export/1\",\"exportedAt\":1,\"grid\":{\"id\":\"g\","
                    "\"address\":\"nope\"},\"config\":[],\"members\":[],\"slots\":[],\"batches\":[]}";
  pg_audit_export e;
  pg_diag d = {{0}};
  assert_int_equal(pg_audit_export_parse(dup, strlen(dup), &e, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "grid: field 'address': not a bech32"));
}

static void test_keys(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = load(CORPUS "keys_consumer", &len);
  pg_audit_keys k;
  pg_diag d = {{0}};
  assert_int_equal(pg_audit_keys_parse(buf, len, &k, &d), PG_OK);
  assert_int_equal(k.me.role, PG_GRID_ENTITY_CONSUMER);
  assert_int_equal(k.me.n_channels, 1);
  assert_int_equal(strlen(k.me.channels[0].root), 81);
  assert_true(k.me.has_return);
  assert_int_equal(k.me.n_addresses, 0);
  pg_audit_keys_free(&k);
  free(buf);
  buf = load(CORPUS "keys_producer", &len);
  assert_int_equal(pg_audit_keys_parse(buf, len, &k, &d), PG_OK);
  assert_int_equal(k.me.role, PG_GRID_ENTITY_PRODUCER);
  assert_false(k.me.has_return);
  assert_int_equal(k.me.n_addresses, 1);
  assert_memory_equal(k.me.addresses[0], "atoi1", 5);
  assert_int_equal(strlen(k.record_root), 81);
  pg_audit_keys_free(&k);
  free(buf);
  buf = load(CORPUS "keys_wrong_format", &len);
  assert_int_equal(pg_audit_keys_parse(buf, len, &k, &d), PG_ERR_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "p2pgrid-member-keys/9"));
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_export),
      cmocka_unit_test(test_export_refused),
      cmocka_unit_test(test_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
