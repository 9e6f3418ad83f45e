/* Unit tests for config.c: inih parsing, overrides, typed getters, unused keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"

static pg_config *load(const char *name, const char *text) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  int rc = pg_config_load_string(c, name, text, strlen(text), &d);
  if (rc) fail_msg("load: %s", d.msg);
  return c;
}

static void expect_load_error(const char *text, size_t len, int err, const char *needle) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_set(c, "keep", "me", "1"), PG_OK);
  assert_int_equal(pg_config_load_string(c, "node.ini", text, len, &d), err);
  if (!strstr(d.msg, needle)) fail_msg("diag '%s' lacks '%s'", d.msg, needle);
  /* a failed load leaves the config unchanged */
  assert_true(pg_config_has(c, "keep", "me"));
  assert_int_equal(pg_config_unused(c, NULL, NULL), 1);
  pg_config_free(c);
}

static void expect_diag(const pg_diag *d, const char *want) {
  if (strcmp(d->msg, want) != 0) fail_msg("diag '%s', want '%s'", d->msg, want);
}

static const char *INI = "; a comment\n"
                         "# another\n"
                         "top = level\n"
                         "\n"
                         "[api]\n"
                         "port = abc\n"
                         "  host = 127.0.0.1   ; inline comment\n"
                         "\tenabled = yes\n"
                         "[source.pv1]\n"
                         "peak: 5000\r\n"
                         "[grid]\n"
                         "slot = 15m\n"
                         "peers = a.example:1, b.example:2 ,,c\n"
                         "cache = 64k\n"
                         "typo_key = 1\n";

static void test_load_and_get(void **state) {
  (void)state;
  pg_config *c = load("node.ini", INI);
  pg_diag d = {{0}};
  const char *s = NULL;
  assert_int_equal(pg_config_get_str(c, "", "top", NULL, &s, &d), PG_OK);
  assert_string_equal(s, "level");
  assert_int_equal(pg_config_get_str(c, "api", "host", NULL, &s, &d), PG_OK);
  assert_string_equal(s, "127.0.0.1");
  assert_int_equal(pg_config_get_str(c, "api", "nothing", "dflt", &s, &d), PG_OK);
  assert_string_equal(s, "dflt");
  assert_int_equal(pg_config_get_str(c, "api", "nothing", NULL, &s, &d), PG_OK);
  assert_null(s);

  int port = 7;
  assert_int_equal(pg_config_get_int(c, "api", "port", 8080, 1, 65535, &port, &d), PG_ERR_CONFIG);
  expect_diag(&d, "node.ini:6: [api] port: 'abc' is not a number between 1 and 65535");
  assert_int_equal(port, 7);

  bool en = false;
  assert_int_equal(pg_config_get_bool(c, "api", "enabled", false, &en, &d), PG_OK);
  assert_true(en);
  uint64_t peak = 0;
  assert_int_equal(pg_config_get_u64(c, "source.pv1", "peak", 0, 0, UINT64_MAX, &peak, &d), PG_OK);
  assert_int_equal(peak, 5000);
  uint64_t slot = 0;
  assert_int_equal(
      pg_config_get_duration_ms(c, "grid", "slot", 1000, 1000, 3600000, &slot, &d), PG_OK);
  assert_int_equal(slot, 15 * 60 * 1000);
  uint64_t cache = 0;
  assert_int_equal(pg_config_get_size(c, "grid", "cache", 0, 0, UINT64_MAX, &cache, &d), PG_OK);
  assert_int_equal(cache, 65536);
  pg_config_list l;
  assert_int_equal(pg_config_get_list(c, "grid", "peers", NULL, 0, &l, &d), PG_OK);
  assert_int_equal(l.n, 3);
  assert_string_equal(l.items[0], "a.example:1");
  assert_string_equal(l.items[1], "b.example:2");
  assert_string_equal(l.items[2], "c");
  pg_config_list_free(&l);
  assert_int_equal(pg_config_get_list(c, "grid", "peers", NULL, 2, &l, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "node.ini:13: [grid] peers: "));
  assert_non_null(strstr(d.msg, "at most 2 items"));
  assert_int_equal(pg_config_get_list(c, "grid", "none", "x, y", 0, &l, &d), PG_OK);
  assert_int_equal(l.n, 2);
  pg_config_list_free(&l);
  assert_int_equal(pg_config_get_list(c, "grid", "none", NULL, 0, &l, &d), PG_OK);
  assert_int_equal(l.n, 0);
  pg_config_list_free(&l);

  /* defaults for missing keys */
  int64_t i64 = 0;
  assert_int_equal(pg_config_get_i64(c, "x", "y", -3, -10, 10, &i64, &d), PG_OK);
  assert_int_equal(i64, -3);

  /* only typo_key was never read */
  assert_int_equal(pg_config_unused(c, NULL, NULL), 1);
  assert_int_equal(pg_config_unused_describe(c, 0, &d), PG_OK);
  expect_diag(&d, "node.ini:15: [grid] typo_key: unknown setting");
  assert_int_equal(pg_config_unused_describe(c, 1, &d), PG_ERR_NOT_FOUND);
  pg_config_free(c);
}

static void test_syntax_errors(void **state) {
  (void)state;
  const char *t1 = "[api]\nport = 1\nthis line is wrong\n[x]\n";
  expect_load_error(t1, strlen(t1), PG_ERR_CONFIG,
                    "node.ini:3: syntax error (expected [section] or key = value)");
  const char *t2 = "[api\nport = 1\n";
  expect_load_error(t2, strlen(t2), PG_ERR_CONFIG, "node.ini:1: syntax error");
  const char *t3 = "[api]\nport = 1\n\nport = 2\n";
  expect_load_error(t3, strlen(t3), PG_ERR_CONFIG,
                    "node.ini:4: [api] port: set twice (first on line 2)");
  const char *t4 = "[api]\n = 1\n";
  expect_load_error(t4, strlen(t4), PG_ERR_CONFIG, "node.ini:2: empty key name");
  const char *t5 = "[api]\na.b = 1\n";
  expect_load_error(t5, strlen(t5), PG_ERR_CONFIG, "node.ini:2: key 'a.b' contains '.'");
  const char t6[] = "[api]\nport = 1\0x\n";
  expect_load_error(t6, sizeof t6 - 1, PG_ERR_CONFIG, "node.ini:2: NUL byte");
  /* a line longer than inih's buffer is an error, not silently split */
  char t7[400];
  memcpy(t7, "[api]\nkey = ", 12);
  memset(t7 + 12, 'v', 300);
  memcpy(t7 + 312, "\nz = 1\n", 8);
  expect_load_error(t7, strlen(t7), PG_ERR_CONFIG, "node.ini:2: line too long (306 characters");
  /* section names inih would cut are refused; 49 characters still fit */
  const char *t10 = "[a]\nk = 1\n[aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeef]\n";
  expect_load_error(t10, strlen(t10), PG_ERR_CONFIG,
                    "node.ini:3: section name too long (50 characters, at most 49)");
  pg_config *c = load("s.ini", "[aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeee]\nk = 1\n");
  assert_true(pg_config_has(c, "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeee", "k"));
  pg_config_free(c);
  /* the first error wins: syntax error on line 2 before a duplicate on line 4 */
  const char *t8 = "[a]\nbad\nk = 1\nk = 2\n";
  expect_load_error(t8, strlen(t8), PG_ERR_CONFIG, "node.ini:2: syntax error");
  const char *t9 = "[a]\nk = 1\nk = 2\nbad\n";
  expect_load_error(t9, strlen(t9), PG_ERR_CONFIG, "node.ini:3: [a] k: set twice");
}

static void test_line_limits(void **state) {
  (void)state;
  /* 199 characters after indentation fit, even with lots of indentation */
  char t[600];
  size_t p = 0;
  memcpy(t + p, "[a]\n", 4);
  p += 4;
  memset(t + p, ' ', 100);
  p += 100;
  memcpy(t + p, "k = ", 4);
  p += 4;
  memset(t + p, 'v', 195);
  p += 195;
  t[p++] = '\n';
  t[p] = '\0';
  pg_config *c = load("x.ini", t);
  const char *s = NULL;
  assert_int_equal(pg_config_get_str(c, "a", "k", NULL, &s, NULL), PG_OK);
  assert_int_equal(strlen(s), 195);
  pg_config_free(c);
  /* last line without newline, CRLF, BOM, empty text */
  c = load("x.ini", "\xEF\xBB\xBF[a]\r\nk = 1\r\nj = 2");
  int v = 0;
  assert_int_equal(pg_config_get_int(c, "a", "k", 0, 0, 9, &v, NULL), PG_OK);
  assert_int_equal(v, 1);
  assert_int_equal(pg_config_get_int(c, "a", "j", 0, 0, 9, &v, NULL), PG_OK);
  assert_int_equal(v, 2);
  pg_config_free(c);
  c = load("x.ini", "");
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  pg_config_free(c);
}

static void test_overrides(void **state) {
  (void)state;
  pg_config *c = load("node.ini", "[api]\nport = 80\n[source.pv1]\npeak = 1\n");
  pg_diag d = {{0}};
  assert_int_equal(pg_config_override(c, "api.port=8080", &d), PG_OK);
  assert_int_equal(pg_config_override(c, " source.pv1.peak = 2 ", &d), PG_OK);
  assert_int_equal(pg_config_override(c, "api.new=", &d), PG_OK);
  assert_int_equal(pg_config_override(c, "toplevel=x=y", &d), PG_OK);
  int port = 0;
  assert_int_equal(pg_config_get_int(c, "api", "port", 0, 1, 65535, &port, &d), PG_OK);
  assert_int_equal(port, 8080);
  int64_t peak = 0;
  assert_int_equal(pg_config_get_i64(c, "source.pv1", "peak", 0, 0, 10, &peak, &d), PG_OK);
  assert_int_equal(peak, 2);
  const char *s = NULL;
  assert_int_equal(pg_config_get_str(c, "api", "new", NULL, &s, &d), PG_OK);
  assert_string_equal(s, "");
  assert_int_equal(pg_config_get_str(c, "", "toplevel", NULL, &s, &d), PG_OK);
  assert_string_equal(s, "x=y");

  assert_int_equal(pg_config_override(c, "api.port", &d), PG_ERR_CONFIG);
  expect_diag(&d, "command line: 'api.port': expected section.key=value");
  assert_int_equal(pg_config_override(c, "api.=1", &d), PG_ERR_CONFIG);
  assert_int_equal(pg_config_override(c, "=1", &d), PG_ERR_CONFIG);

  assert_int_equal(pg_config_override(c, "api.port=http", &d), PG_OK);
  assert_int_equal(pg_config_get_int(c, "api", "port", 0, 1, 65535, &port, &d), PG_ERR_CONFIG);
  expect_diag(&d, "command line: [api] port: 'http' is not a number between 1 and 65535");
  pg_config_free(c);
}

static void test_layering_and_require(void **state) {
  (void)state;
  pg_config *c = load("base.ini", "[a]\nx = 1\ny = 2\n");
  pg_diag d = {{0}};
  assert_int_equal(pg_config_load_string(c, "local.ini", "[a]\ny = 3\n", 10, &d), PG_OK);
  int v = 0;
  assert_int_equal(pg_config_get_int(c, "a", "y", 0, 0, 9, &v, &d), PG_OK);
  assert_int_equal(v, 3);
  assert_int_equal(pg_config_require(c, "a", "x", &d), PG_OK);
  assert_int_equal(pg_config_require(c, "a", "z", &d), PG_ERR_CONFIG);
  expect_diag(&d, "local.ini: [a] z: required setting missing");
  assert_false(pg_config_has(c, "a", "z"));
  assert_int_equal(pg_config_set(c, "b", "k", "v"), PG_OK);
  assert_int_equal(pg_config_set(c, "b", "", "v"), PG_ERR_INVALID);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 1); /* b.k */
  pg_config_free(c);
  pg_config_free(NULL);
}

static void test_numbers(void **state) {
  (void)state;
  pg_config *c = load("n.ini", "[n]\n"
                               "min = -9223372036854775808\n"
                               "max = 18446744073709551615\n"
                               "over = 18446744073709551616\n"
                               "plus = +1\n"
                               "space = 1 2\n"
                               "hex = 0x10\n"
                               "neg = -1\n"
                               "empty =\n");
  pg_diag d = {{0}};
  int64_t i = 0;
  uint64_t u = 0;
  assert_int_equal(pg_config_get_i64(c, "n", "min", 0, INT64_MIN, INT64_MAX, &i, &d), PG_OK);
  assert_true(i == INT64_MIN);
  assert_int_equal(pg_config_get_u64(c, "n", "max", 0, 0, UINT64_MAX, &u, &d), PG_OK);
  assert_true(u == UINT64_MAX);
  assert_int_equal(pg_config_get_i64(c, "n", "max", 0, INT64_MIN, INT64_MAX, &i, &d),
                   PG_ERR_CONFIG);
  static const char *bad[] = {"over", "plus", "space", "hex", "neg", "empty"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    u = 5;
    assert_int_equal(pg_config_get_u64(c, "n", bad[k], 0, 0, UINT64_MAX, &u, &d), PG_ERR_CONFIG);
    assert_true(u == 5);
    assert_non_null(strstr(d.msg, bad[k]));
  }
  assert_int_equal(pg_config_get_u64(c, "n", "neg", 0, 0, UINT64_MAX, &u, &d), PG_ERR_CONFIG);
  expect_diag(&d, "n.ini:8: [n] neg: '-1' is not a number (digits only)");
  assert_int_equal(pg_config_get_i64(c, "n", "neg", 0, 0, 10, &i, &d), PG_ERR_CONFIG);
  expect_diag(&d, "n.ini:8: [n] neg: '-1' is not a number between 0 and 10");
  int small = 0;
  assert_int_equal(pg_config_get_int(c, "n", "max", 0, 0, 100, &small, &d), PG_ERR_CONFIG);
  pg_config_free(c);
}

static void test_bool_duration_size(void **state) {
  (void)state;
  bool b;
  static const char *t[] = {"true", "TRUE", "Yes", "on", "1"};
  static const char *f[] = {"false", "No", "OFF", "0"};
  static const char *x[] = {"", "2", "y", "truee", "enabled", " true"};
  for (size_t i = 0; i < 5; i++) {
    b = false;
    assert_int_equal(pg_config_parse_bool(t[i], &b), PG_OK);
    assert_true(b);
  }
  for (size_t i = 0; i < 4; i++) {
    b = true;
    assert_int_equal(pg_config_parse_bool(f[i], &b), PG_OK);
    assert_false(b);
  }
  for (size_t i = 0; i < 6; i++) assert_int_equal(pg_config_parse_bool(x[i], &b), PG_ERR_INVALID);

  static const struct { const char *s; uint64_t ms; } dur[] = {
      {"0", 0},           {"10", 10000},       {"10s", 10000}, {"500ms", 500},
      {"2m", 120000},     {"1h", 3600000},     {"7d", 604800000}, {"3MS", 3},
      {"1H", 3600000},
  };
  for (size_t i = 0; i < sizeof dur / sizeof dur[0]; i++) {
    uint64_t ms = 1;
    assert_int_equal(pg_config_parse_duration_ms(dur[i].s, &ms), PG_OK);
    assert_true(ms == dur[i].ms);
  }
  static const char *baddur[] = {"", "s", "10 s", "1.5s", "-1s", "10x", "10sec",
                                 "18446744073709551615ms0", "18446744073709551615s"};
  uint64_t ms;
  for (size_t i = 0; i < sizeof baddur / sizeof baddur[0]; i++)
    assert_int_equal(pg_config_parse_duration_ms(baddur[i], &ms), PG_ERR_INVALID);

  static const struct { const char *s; uint64_t v; } sz[] = {
      {"0", 0},         {"512", 512},          {"512B", 512},      {"64k", 65536},
      {"64K", 65536},   {"64KiB", 65536},      {"1M", 1048576},    {"1mb", 1048576},
      {"2G", 2147483648u}, {"2GiB", 2147483648u},
  };
  for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
    uint64_t v = 1;
    assert_int_equal(pg_config_parse_size(sz[i].s, &v), PG_OK);
    assert_true(v == sz[i].v);
  }
  static const char *badsz[] = {"", "k", "1T", "1 k", "1.5M", "-1", "17179869184G"};
  uint64_t v;
  for (size_t i = 0; i < sizeof badsz / sizeof badsz[0]; i++)
    assert_int_equal(pg_config_parse_size(badsz[i], &v), PG_ERR_INVALID);

  pg_config *c = load("d.ini", "[d]\nslow = 2h\nbad = soon\nflag = maybe\nbig = 2M\n");
  pg_diag d = {{0}};
  assert_int_equal(pg_config_get_duration_ms(c, "d", "slow", 0, 1000, 3600000, &ms, &d),
                   PG_ERR_CONFIG);
  expect_diag(&d, "d.ini:2: [d] slow: '2h' is not a duration between 1s and 1h "
                  "(e.g. 500ms, 10s, 2m, 1h; no unit = seconds)");
  assert_int_equal(pg_config_get_duration_ms(c, "d", "bad", 0, 0, UINT64_MAX, &ms, &d),
                   PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "'soon' is not a duration (e.g."));
  assert_int_equal(pg_config_get_bool(c, "d", "flag", false, &b, &d), PG_ERR_CONFIG);
  expect_diag(&d, "d.ini:4: [d] flag: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
  assert_int_equal(pg_config_get_size(c, "d", "big", 0, 0, 1024 * 1024, &v, &d), PG_ERR_CONFIG);
  expect_diag(&d, "d.ini:5: [d] big: '2M' is not a size between 0 and 1M (e.g. 512, 64k, 1M, 2G)");
  assert_int_equal(pg_config_get_size(c, "d", "big", 0, 4096, UINT64_MAX, &v, &d), PG_OK);
  assert_true(v == 2 * 1024 * 1024);
  pg_config_free(c);
}

struct seen {
  int count;
  char last[128];
};

static void on_unused(void *ctx, const char *origin, int line, const char *section,
                      const char *key) {
  struct seen *s = ctx;
  s->count++;
  snprintf(s->last, sizeof s->last, "%s:%d:%s:%s", origin, line, section, key);
}

static void test_unused(void **state) {
  (void)state;
  pg_config *c = load("u.ini", "[api]\nport = 1\nprot = 2\n");
  pg_diag d = {{0}};
  assert_int_equal(pg_config_override(c, "api.extra=1", &d), PG_OK);
  assert_true(pg_config_has(c, "api", "port")); /* has() does not mark */
  struct seen s = {0, ""};
  assert_int_equal(pg_config_unused(c, on_unused, &s), 3);
  int port;
  assert_int_equal(pg_config_get_int(c, "api", "port", 0, 0, 10, &port, &d), PG_OK);
  s.count = 0;
  assert_int_equal(pg_config_unused(c, on_unused, &s), 2);
  assert_int_equal(s.count, 2);
  assert_string_equal(s.last, "command line:0:api:extra");
  assert_int_equal(pg_config_unused_describe(c, 0, &d), PG_OK);
  expect_diag(&d, "u.ini:3: [api] prot: unknown setting");
  assert_int_equal(pg_config_unused_describe(c, 1, &d), PG_OK);
  expect_diag(&d, "command line: [api] extra: unknown setting");
  /* a failing getter still counts as reading */
  assert_int_equal(pg_config_get_bool(c, "api", "prot", false, &(bool){0}, &d), PG_ERR_CONFIG);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 1);
  pg_config_free(c);
}

/* A renamed key and its old name (alias): either, never both. */
static void test_alias(void **state) {
  (void)state;
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  const char *ini = "[grid]\nfee_per_kwh = 7\n[producer]\nask_per_unit = 9\nask_per_kwh = 8\n"
                    "[consumer]\nbid_per_unit = 5\n";
  assert_int_equal(pg_config_load_string(c, "g.ini", ini, strlen(ini), &d), PG_OK);
  uint64_t v = 0;
  const char *used = NULL;
  /* only the old name: it is read */
  assert_int_equal(pg_config_get_u64_alias(c, "grid", "fee_per_unit", "fee_per_kwh", 0, 0, 100,
                                           &v, &d),
                   PG_OK);
  assert_int_equal(v, 7);
  assert_int_equal(pg_config_alias(c, "grid", "fee_per_unit", "fee_per_kwh", &used, &d), PG_OK);
  assert_string_equal(used, "fee_per_kwh");
  /* only the new name */
  assert_int_equal(pg_config_get_u64_alias(c, "consumer", "bid_per_unit", "bid_per_kwh", 0, 0,
                                           100, &v, &d),
                   PG_OK);
  assert_int_equal(v, 5);
  /* neither: the default, and the key's name */
  assert_int_equal(pg_config_get_u64_alias(c, "grid", "x_per_unit", "x_per_kwh", 42, 0, 100, &v,
                                           &d),
                   PG_OK);
  assert_int_equal(v, 42);
  assert_int_equal(pg_config_alias(c, "grid", "x_per_unit", "x_per_kwh", &used, &d), PG_OK);
  assert_string_equal(used, "x_per_unit");
  /* both: an error naming both, and neither is left unread */
  assert_int_equal(pg_config_get_u64_alias(c, "producer", "ask_per_unit", "ask_per_kwh", 0, 0,
                                           100, &v, &d),
                   PG_ERR_CONFIG);
  assert_string_equal(d.msg, "g.ini:4: [producer] ask_per_unit and ask_per_kwh (its old name) are "
                             "the same setting; set only one");
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  /* a bad value names the key as written */
  assert_int_equal(pg_config_get_u64_alias(c, "grid", "fee_per_unit", "fee_per_kwh", 0, 0, 5, &v,
                                           &d),
                   PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "fee_per_kwh"));
  pg_config_free(c);
}

static void test_files(void **state) {
  (void)state;
  char path[] = "/tmp/pg_test_config_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "[node]\nname = alpha\nport = 99999\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_file(c, path, &d), PG_OK);
  const char *s = NULL;
  assert_int_equal(pg_config_get_str(c, "node", "name", NULL, &s, &d), PG_OK);
  assert_string_equal(s, "alpha");
  int port;
  assert_int_equal(pg_config_get_int(c, "node", "port", 0, 1, 65535, &port, &d), PG_ERR_CONFIG);
  char want[160];
  snprintf(want, sizeof want, "%s:3: [node] port: '99999' is not a number between 1 and 65535",
           path);
  expect_diag(&d, want);
  unlink(path);
  assert_int_equal(pg_config_load_file(c, "/nonexistent/dir/node.ini", &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "/nonexistent/dir/node.ini: cannot open"));
  /* too large */
  memcpy(path + strlen(path) - 6, "XXXXXX", 6);
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, PG_CONFIG_MAX_FILE + 1), 0);
  close(fd);
  assert_int_equal(pg_config_load_file(c, path, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "larger than"));
  unlink(path);
  pg_config_free(c);
}

/* Paths in a config file are relative to that file; other values stay. */
static void test_path_from_file(void **state) {
  (void)state;
  char path[] = "/tmp/pg_test_config_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "[m]\npath = ../data/rain.csv\nabs = /etc/x.csv\n[n]\npath = a.csv\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_file(c, path, &d), PG_OK);
  assert_int_equal(pg_config_load_string(c, "s.ini", "[s]\npath = b.csv\n", 16, &d), PG_OK);
  assert_int_equal(pg_config_override(c, "n.path=c.csv", &d), PG_OK);
  const char *keys[][2] = {{"m", "path"}, {"m", "abs"}, {"n", "path"}, {"s", "path"}, {"x", "y"}};
  for (int round = 0; round < 2; round++) /* a second call changes nothing */
    for (size_t i = 0; i < 5; i++)
      assert_int_equal(pg_config_path_from_file(c, keys[i][0], keys[i][1]), PG_OK);
  const char *v = NULL;
  assert_int_equal(pg_config_get_str(c, "m", "path", NULL, &v, &d), PG_OK);
  assert_string_equal(v, "/tmp/../data/rain.csv");
  assert_int_equal(pg_config_get_str(c, "m", "abs", NULL, &v, &d), PG_OK);
  assert_string_equal(v, "/etc/x.csv");
  assert_int_equal(pg_config_get_str(c, "n", "path", NULL, &v, &d), PG_OK);
  assert_string_equal(v, "c.csv"); /* --set: as given */
  assert_int_equal(pg_config_get_str(c, "s", "path", NULL, &v, &d), PG_OK);
  assert_string_equal(v, "b.csv"); /* not from a file */
  /* errors still name the file and line */
  char where[200], want[200];
  pg_config_where(c, "m", "path", where, sizeof where);
  snprintf(want, sizeof want, "%s:2: [m] path", path);
  assert_string_equal(where, want);
  pg_config_where(c, "m", NULL, where, sizeof where); /* the section itself */
  snprintf(want, sizeof want, "%s: [m]", path);
  assert_string_equal(where, want);
  unlink(path);
  pg_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_and_get),   cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_line_limits),    cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_layering_and_require), cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_bool_duration_size), cmocka_unit_test(test_unused),
      cmocka_unit_test(test_files),          cmocka_unit_test(test_alias),
      cmocka_unit_test(test_path_from_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
