/* Unit tests for json.c: parse diagnostics, typed getters, dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/json.h"

static json_t *parse_ok(const char *s) {
  json_t *j = NULL;
  pg_diag d = {{0}};
  int rc = pg_json_parse(s, strlen(s), PG_JSON_OBJECT, &j, &d);
  if (rc) fail_msg("parse %s: %s", s, d.msg);
  return j;
}

static void expect_diag(const pg_diag *d, const char *needle) {
  if (!strstr(d->msg, needle)) fail_msg("diag '%s' lacks '%s'", d->msg, needle);
}

static void test_parse(void **state) {
  (void)state;
  json_t *j = NULL;
  pg_diag d = {{0}};
  const char *bad = "{\n  \"a\": 1,\n  \"b\": ]\n}";
  assert_int_equal(pg_json_parse(bad, strlen(bad), 0, &j, &d), PG_ERR_INVALID);
  expect_diag(&d, "JSON line 3 column");
  assert_null(j);

  assert_int_equal(pg_json_parse("[1,2]", 5, PG_JSON_OBJECT, &j, &d), PG_ERR_INVALID);
  expect_diag(&d, "expected an object");
  expect_diag(&d, "an array");
  assert_int_equal(pg_json_parse("[1,2]", 5, 0, &j, &d), PG_OK);
  json_decref(j);
  assert_int_equal(pg_json_parse("42", 2, 0, &j, &d), PG_OK); /* scalars allowed without flag */
  assert_true(json_is_integer(j));
  json_decref(j);

  /* duplicates, NUL escapes, trailing garbage, empty input, embedded NUL byte */
  assert_int_equal(pg_json_parse("{\"a\":1,\"a\":2}", 13, 0, &j, &d), PG_ERR_INVALID);
  expect_diag(&d, "duplicate");
  assert_int_equal(pg_json_parse("{\"a\":\"x\\u0000y\"}", 16, 0, &j, &d), PG_ERR_INVALID);
  assert_int_equal(pg_json_parse("{} x", 4, 0, &j, &d), PG_ERR_INVALID);
  assert_int_equal(pg_json_parse("", 0, 0, &j, &d), PG_ERR_INVALID);
  assert_int_equal(pg_json_parse(NULL, 0, 0, &j, &d), PG_ERR_INVALID);
  assert_int_equal(pg_json_parse("{}\0{}", 5, 0, &j, &d), PG_ERR_INVALID);
  /* only len bytes are read: a valid prefix of a longer buffer */
  assert_int_equal(pg_json_parse("{}garbage", 2, PG_JSON_OBJECT, &j, &d), PG_OK);
  json_decref(j);
  /* integer too large for jansson */
  assert_int_equal(pg_json_parse("{\"a\":99999999999999999999}", 26, 0, &j, &d), PG_ERR_INVALID);
}

static void test_strings(void **state) {
  (void)state;
  json_t *j = parse_ok("{\"s\":\"hello\",\"n\":5,\"z\":null}");
  pg_diag d = {{0}};
  const char *s = NULL;
  size_t len = 0;
  assert_int_equal(pg_json_get_str(j, "s", &s, &len, &d), PG_OK);
  assert_string_equal(s, "hello");
  assert_int_equal(len, 5);
  assert_int_equal(pg_json_get_str(j, "n", &s, &len, &d), PG_ERR_INVALID);
  expect_diag(&d, "field 'n': expected a string, got an integer");
  assert_int_equal(pg_json_get_str(j, "missing", &s, NULL, &d), PG_ERR_INVALID);
  expect_diag(&d, "missing field 'missing'");
  assert_int_equal(pg_json_get_str(j, "z", &s, NULL, &d), PG_ERR_INVALID);
  expect_diag(&d, "got null");

  assert_int_equal(pg_json_opt_str(j, "missing", "dflt", &s, &len, &d), PG_OK);
  assert_string_equal(s, "dflt");
  assert_int_equal(len, 4);
  assert_int_equal(pg_json_opt_str(j, "z", NULL, &s, &len, &d), PG_OK);
  assert_null(s);
  assert_int_equal(len, 0);
  assert_int_equal(pg_json_opt_str(j, "s", NULL, &s, NULL, &d), PG_OK);
  assert_string_equal(s, "hello");
  assert_int_equal(pg_json_opt_str(j, "n", NULL, &s, NULL, &d), PG_ERR_INVALID);

  /* container not an object */
  json_t *arr = json_array();
  assert_int_equal(pg_json_get_str(arr, "s", &s, NULL, &d), PG_ERR_INVALID);
  expect_diag(&d, "not an object");
  assert_int_equal(pg_json_get_str(NULL, "s", &s, NULL, &d), PG_ERR_INVALID);
  json_decref(arr);
  json_decref(j);
}

static void test_integers(void **state) {
  (void)state;
  json_t *j = parse_ok("{\"a\":0,\"b\":4294967295,\"c\":4294967296,\"neg\":-1,"
                       "\"max\":9223372036854775807,\"r\":1.0,\"s\":\"7\"}");
  pg_diag d = {{0}};
  uint64_t u = 99;
  uint32_t u32 = 99;
  int64_t i = 99;
  assert_int_equal(pg_json_get_u64(j, "a", &u, &d), PG_OK);
  assert_int_equal(u, 0);
  assert_int_equal(pg_json_get_u32(j, "b", &u32, &d), PG_OK);
  assert_int_equal(u32, UINT32_MAX);
  u32 = 7;
  assert_int_equal(pg_json_get_u32(j, "c", &u32, &d), PG_ERR_INVALID);
  expect_diag(&d, "field 'c': 4294967296 is not between 0 and 4294967295");
  assert_int_equal(u32, 7); /* untouched on failure */
  assert_int_equal(pg_json_get_u64(j, "neg", &u, &d), PG_ERR_INVALID);
  expect_diag(&d, "field 'neg'");
  assert_int_equal(pg_json_get_i64(j, "neg", &i, &d), PG_OK);
  assert_int_equal(i, -1);
  assert_int_equal(pg_json_get_u64(j, "max", &u, &d), PG_OK);
  assert_true(u == (uint64_t)INT64_MAX);
  assert_int_equal(pg_json_get_u64(j, "r", &u, &d), PG_ERR_INVALID);
  expect_diag(&d, "expected an integer, got a real number");
  assert_int_equal(pg_json_get_u64(j, "s", &u, &d), PG_ERR_INVALID);
  expect_diag(&d, "got a string");
  assert_int_equal(pg_json_get_u64_range(j, "b", 1, 10, &u, &d), PG_ERR_INVALID);
  expect_diag(&d, "not between 1 and 10");
  assert_int_equal(pg_json_get_u64_range(j, "a", 0, 10, &u, &d), PG_OK);
  assert_int_equal(pg_json_opt_u64(j, "nope", 17, &u, &d), PG_OK);
  assert_int_equal(u, 17);
  assert_int_equal(pg_json_opt_u64(j, "b", 17, &u, &d), PG_OK);
  assert_int_equal(u, 4294967295u);
  assert_int_equal(pg_json_opt_u64(j, "neg", 17, &u, &d), PG_ERR_INVALID);
  assert_int_equal(pg_json_get_i64(j, "missing", &i, &d), PG_ERR_INVALID);
  expect_diag(&d, "missing field 'missing'");
  json_decref(j);
}

static void test_u64_str(void **state) {
  (void)state;
  json_t *j = parse_ok("{\"max\":\"18446744073709551615\",\"over\":\"18446744073709551616\","
                       "\"zero\":\"0\",\"lead\":\"007\",\"plus\":\"+1\",\"sp\":\" 1\",\"e\":\"\","
                       "\"neg\":\"-1\",\"hex\":\"0x10\",\"num\":5,\"long\":\"000000000000000000001\"}");
  pg_diag d = {{0}};
  uint64_t v = 0;
  assert_int_equal(pg_json_get_u64_str(j, "max", &v, &d), PG_OK);
  assert_true(v == UINT64_MAX);
  assert_int_equal(pg_json_get_u64_str(j, "zero", &v, &d), PG_OK);
  assert_true(v == 0);
  static const char *bad[] = {"over", "lead", "plus", "sp", "e", "neg", "hex", "num", "long"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 42;
    assert_int_equal(pg_json_get_u64_str(j, bad[i], &v, &d), PG_ERR_INVALID);
    assert_true(v == 42);
    char want[32];
    snprintf(want, sizeof want, "field '%s'", bad[i]);
    expect_diag(&d, want);
  }
  assert_int_equal(pg_json_get_u64_str(j, "over", &v, &d), PG_ERR_INVALID);
  expect_diag(&d, "does not fit in 64 bits");
  json_decref(j);
}

static void test_hex(void **state) {
  (void)state;
  json_t *j = parse_ok("{\"id\":\"00ff10AB\",\"odd\":\"abc\",\"bad\":\"zz00\",\"empty\":\"\","
                       "\"pre\":\"0x00\",\"n\":1}");
  pg_diag d = {{0}};
  uint8_t out[4] = {0}, big[8];
  const uint8_t want[4] = {0x00, 0xff, 0x10, 0xab};
  assert_int_equal(pg_json_get_hex(j, "id", out, 4, &d), PG_OK);
  assert_memory_equal(out, want, 4);
  assert_int_equal(pg_json_get_hex(j, "id", big, 5, &d), PG_ERR_INVALID);
  expect_diag(&d, "field 'id': expected 10 hex characters (5 bytes), got 8");
  assert_int_equal(pg_json_get_hex(j, "id", big, 3, &d), PG_ERR_INVALID);
  memset(out, 0x77, sizeof out);
  assert_int_equal(pg_json_get_hex(j, "bad", out, 2, &d), PG_ERR_INVALID);
  expect_diag(&d, "character 0 is not a hex digit");
  assert_int_equal(out[0], 0x77); /* untouched */
  assert_int_equal(pg_json_get_hex(j, "pre", out, 2, &d), PG_ERR_INVALID);
  assert_int_equal(pg_json_get_hex(j, "n", out, 2, &d), PG_ERR_INVALID);
  expect_diag(&d, "expected a string");

  size_t n = 99;
  assert_int_equal(pg_json_get_hex_var(j, "id", big, sizeof big, &n, &d), PG_OK);
  assert_int_equal(n, 4);
  assert_memory_equal(big, want, 4);
  assert_int_equal(pg_json_get_hex_var(j, "id", big, 3, &n, &d), PG_ERR_TOO_LARGE);
  expect_diag(&d, "at most 3");
  assert_int_equal(pg_json_get_hex_var(j, "odd", big, sizeof big, &n, &d), PG_ERR_INVALID);
  expect_diag(&d, "odd number");
  assert_int_equal(pg_json_get_hex_var(j, "empty", big, sizeof big, &n, &d), PG_OK);
  assert_int_equal(n, 0);
  json_decref(j);
}

static void test_bool_obj_arr(void **state) {
  (void)state;
  json_t *j = parse_ok("{\"t\":true,\"f\":false,\"one\":1,\"o\":{\"x\":1},\"a\":[1],\"z\":null}");
  pg_diag d = {{0}};
  bool b = false;
  assert_int_equal(pg_json_get_bool(j, "t", &b, &d), PG_OK);
  assert_true(b);
  assert_int_equal(pg_json_get_bool(j, "f", &b, &d), PG_OK);
  assert_false(b);
  assert_int_equal(pg_json_get_bool(j, "one", &b, &d), PG_ERR_INVALID);
  expect_diag(&d, "field 'one': expected a boolean, got an integer");
  assert_int_equal(pg_json_opt_bool(j, "nope", true, &b, &d), PG_OK);
  assert_true(b);
  assert_int_equal(pg_json_opt_bool(j, "z", false, &b, &d), PG_OK);
  assert_false(b);
  json_t *o = NULL, *a = NULL;
  assert_int_equal(pg_json_get_object(j, "o", &o, &d), PG_OK);
  assert_true(json_is_object(o));
  assert_int_equal(pg_json_get_object(j, "a", &o, &d), PG_ERR_INVALID);
  expect_diag(&d, "expected an object, got an array");
  assert_int_equal(pg_json_get_array(j, "a", &a, &d), PG_OK);
  assert_int_equal(json_array_size(a), 1);
  assert_int_equal(pg_json_get_array(j, "t", &a, &d), PG_ERR_INVALID);
  expect_diag(&d, "got a boolean");
  json_decref(j);
}

static void test_dump(void **state) {
  (void)state;
  json_t *j = json_pack("{s:s, s:I, s:[b, n]}", "name", "gr\"id", "wh", (json_int_t)-5, "x", 1);
  assert_non_null(j);
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_buf_puts(&b, ">");
  assert_int_equal(pg_json_dump(j, &b), PG_OK);
  const char *want = ">{\"name\":\"gr\\\"id\",\"wh\":-5,\"x\":[true,null]}";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  pg_buf_free(&b);

  /* capped buffer: error, length restored */
  pg_buf_init(&b, 10);
  pg_buf_puts(&b, "ab");
  assert_int_equal(pg_json_dump(j, &b), PG_ERR_TOO_LARGE);
  assert_int_equal(b.len, 2);
  pg_buf_free(&b);

  /* scalars dump too */
  json_t *n = json_integer(7);
  pg_buf_init(&b, 16);
  assert_int_equal(pg_json_dump(n, &b), PG_OK);
  assert_int_equal(b.len, 1);
  assert_int_equal(b.data[0], '7');
  pg_buf_free(&b);
  json_decref(n);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),   cmocka_unit_test(test_strings),
      cmocka_unit_test(test_integers), cmocka_unit_test(test_u64_str),
      cmocka_unit_test(test_hex),     cmocka_unit_test(test_bool_obj_arr),
      cmocka_unit_test(test_dump),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
