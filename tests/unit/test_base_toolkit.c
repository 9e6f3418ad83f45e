/* The small base toolkit: strhash.h, array.h, url.h, decimal.h, the UTC
 * parsers of datetime.h, pg_read_fd_capped, pg_mkdir_p /
 * pg_mkdir_parent (file.h), pg_db_fail (db.h) and pg_fail (err.h). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/strhash.h"
#include "p2pgrid/base/url.h"
#include "test_util_tmpdir.h"

static char *g_dir;

static void test_strhash(void **state) {
  (void)state;
  /* FNV-1a 64 reference values: "" is the offset basis, "a" and "foobar"
   * are the published test vectors. The simulator's seeds depend on them. */
  assert_true(pg_hash_str("") == 0xcbf29ce484222325ULL);
  assert_true(pg_hash_str("a") == 0xaf63dc4c8601ec8cULL);
  assert_true(pg_hash_str("foobar") == 0x85944171f73967e8ULL);
  assert_true(pg_fnv1a64("foobar", 6) == pg_hash_str("foobar"));
  assert_true(pg_fnv1a64(NULL, 0) == 0xcbf29ce484222325ULL);
  const uint8_t z[2] = {'a', 0};
  assert_true(pg_fnv1a64(z, 2) != pg_hash_str("a")); /* bytes count, NUL included */
}

static void test_grow(void **state) {
  (void)state;
  int *a = NULL;
  size_t cap = 0;
  assert_int_equal(pg_grow(&a, &cap, 1, sizeof *a, 0), PG_OK);
  assert_int_equal(cap, 16);
  for (size_t i = 0; i < cap; i++) assert_int_equal(a[i], 0); /* zeroed */
  a[15] = 7;
  assert_int_equal(pg_grow(&a, &cap, 17, sizeof *a, 0), PG_OK);
  assert_int_equal(cap, 32);
  assert_int_equal(a[15], 7);
  assert_int_equal(a[16], 0);
  assert_int_equal(pg_grow(&a, &cap, 20, sizeof *a, 0), PG_OK); /* enough: no change */
  assert_int_equal(cap, 32);
  assert_int_equal(pg_grow(&a, &cap, 1000, sizeof *a, 0), PG_OK);
  assert_int_equal(cap, 1024);
  /* the limit clamps the doubling and refuses more; nothing changes then */
  int *b = NULL;
  size_t bc = 0;
  assert_int_equal(pg_grow(&b, &bc, 40, sizeof *b, 50), PG_OK);
  assert_int_equal(bc, 50);
  int *keep = b;
  assert_int_equal(pg_grow(&b, &bc, 51, sizeof *b, 50), PG_ERR_TOO_LARGE);
  assert_ptr_equal(b, keep);
  assert_int_equal(bc, 50);
  assert_int_equal(pg_grow(&b, &bc, SIZE_MAX / 2, 8, 0), PG_ERR_TOO_LARGE); /* bytes overflow */
  free(a);
  free(b);
}

static void test_url(void **state) {
  (void)state;
  assert_true(pg_url_http_ok("http://127.0.0.1:14265"));
  assert_true(pg_url_http_ok("https://node.example/api/v1/?q=\xc3\xa4"));
  assert_false(pg_url_http_ok(NULL));
  assert_false(pg_url_http_ok(""));
  assert_false(pg_url_http_ok("ftp://x"));
  assert_false(pg_url_http_ok("HTTP://x")); /* as both callers had it: lowercase scheme */
  assert_false(pg_url_http_ok("http://a b"));
  assert_false(pg_url_http_ok("http://a\tb"));
  assert_false(pg_url_http_ok("http://a\r\nHost: evil"));
  assert_false(pg_url_http_ok("http://a\x7f"));
  assert_false(pg_url_http_ok(" http://a"));
}

static void test_decimal(void **state) {
  (void)state;
  const pg_dec_rules meter = {.int_max = 9, .frac_max = 9, .neg = true};
  const pg_dec_rules report = {.total_max = 30, .neg = true};
  const pg_dec_rules pos = {0};
  double x = 0;
  assert_int_equal(pg_dec_to_double("12.5", 4, &meter, &x), PG_OK);
  assert_true(x == 12.5);
  assert_int_equal(pg_dec_to_double("-0.25", 5, &meter, &x), PG_OK);
  assert_true(x == -0.25);
  assert_int_equal(pg_dec_to_double("0.1", 3, &meter, &x), PG_OK);
  assert_true(x == 0.1); /* correctly rounded */
  assert_int_equal(pg_dec_to_double("12.5xyz", 4, &meter, &x), PG_OK); /* n bytes only */
  assert_true(pg_dec_valid("123456789.123456789", 19, &meter));
  assert_false(pg_dec_valid("1234567890", 10, &meter));   /* 10 integer digits */
  assert_false(pg_dec_valid("1.1234567890", 12, &meter)); /* 10 fraction digits */
  assert_true(pg_dec_valid("1234567890.1234567890", 21, &report));
  assert_false(pg_dec_valid("1234567890123456789012345678901", 31, &report)); /* 31 digits */
  assert_false(pg_dec_valid("-1", 2, &pos));
  static const char *const bad[] = {"", "-", ".5", "5.", "+5", "1e3", " 1", "1 ", "inf",
                                    "nan", "1..2", "1.2.3", "--1", "0x10", "1,5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    x = 42;
    assert_int_equal(pg_dec_to_double(bad[i], strlen(bad[i]), &report, &x), PG_ERR_INVALID);
    assert_true(x == 42); /* untouched */
  }
  /* a long valid number takes the heap path */
  char big[101];
  memset(big, '7', 100);
  big[100] = 0;
  assert_int_equal(pg_dec_to_double(big, 100, &pos, &x), PG_OK);
  assert_true(x > 7.7e99 && x < 7.8e99);
}

static void test_parse_u64(void **state) {
  (void)state;
  uint64_t v = 9;
  assert_true(pg_parse_u64("0", 1, 0, &v));
  assert_true(v == 0);
  assert_true(pg_parse_u64("18446744073709551615", 20, 0, &v));
  assert_true(v == UINT64_MAX);
  v = 9;
  assert_false(pg_parse_u64("18446744073709551616", 20, 0, &v)); /* overflow, not saturated */
  assert_false(pg_parse_u64("1234567890123456", 16, 15, &v));    /* more digits than allowed */
  assert_true(pg_parse_u64("1234567890123456", 16, 16, &v));
  v = 9;
  static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1.0", "0x1", "1e3"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(pg_parse_u64(bad[i], strlen(bad[i]), 0, &v));
  assert_true(v == 9);
  assert_true(pg_parse_u64("12abc", 2, 0, &v)); /* n bytes only */
  assert_true(v == 12);
}

static void test_iso_utc(void **state) {
  (void)state;
  int64_t ms = 0;
  const char *z = "2025-06-21T12:00:00.5Z";
  assert_int_equal(pg_iso8601_parse_utc(z, strlen(z), &ms), PG_OK);
  assert_true(ms == 1750507200500LL);
  const char *p0 = "2025-06-21T12:00:00+00:00", *m0 = "2025-06-21T12:00:00-00:00";
  assert_int_equal(pg_iso8601_parse_utc(p0, strlen(p0), &ms), PG_OK);
  assert_true(ms == 1750507200000LL);
  assert_int_equal(pg_iso8601_parse_utc(m0, strlen(m0), &ms), PG_OK);
  const char *p2 = "2025-06-21T12:00:00+02:00", *nz = "2025-06-21T12:00:00";
  ms = 1;
  assert_int_equal(pg_iso8601_parse_utc(p2, strlen(p2), &ms), PG_ERR_INVALID);
  assert_int_equal(pg_iso8601_parse_utc(nz, strlen(nz), &ms), PG_ERR_INVALID);
  assert_true(ms == 1);
}

static void test_date_time(void **state) {
  (void)state;
  uint64_t ms = 0;
  assert_int_equal(pg_date_time_parse_utc("2025-06-21", &ms), PG_OK);
  assert_true(ms == 1750464000000ULL);
  assert_int_equal(pg_date_time_parse_utc("2025-06-21T12:00", &ms), PG_OK);
  assert_true(ms == 1750507200000ULL);
  assert_int_equal(pg_date_time_parse_utc("2025-06-21 12:00:30Z", &ms), PG_OK);
  assert_true(ms == 1750507230000ULL);
  assert_int_equal(pg_date_time_parse_utc("2025-06-21T12:00:00+00:00", &ms), PG_OK);
  assert_int_equal(pg_date_time_parse_utc("2025-6-1", &ms), PG_OK); /* as before */
  assert_true(ms == 1748736000000ULL);
  assert_int_equal(pg_date_time_parse_utc("2024-02-29", &ms), PG_OK);
  static const char *const bad[] = {
      "",           "2025",          "2025-06",          "2025-06-21x",         "1969-12-31",
      "2200-01-01", "2025-13-01",    "2025-00-10",       "2025-02-29",          "2025-04-31",
      "2025-06-21T", "2025-06-21T24:00", "2025-06-21T12:60", "2025-06-21T12:00:60",
      "2025-06-21T-1:00", "2025-06-21T12:-5", "2025-06-21T12:00+02:00", "2025-06-21Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms = 7;
    if (pg_date_time_parse_utc(bad[i], &ms) != PG_ERR_INVALID) fail_msg("accepted '%s'", bad[i]);
    assert_true(ms == 7);
  }
  assert_int_equal(pg_date_time_parse_utc(NULL, &ms), PG_ERR_INVALID);
}

static void test_read_fd(void **state) {
  (void)state;
  char p[128];
  snprintf(p, sizeof p, "%s/fd.txt", g_dir);
  pg_diag d = {{0}};
  assert_int_equal(pg_write_file_atomic(p, "0123456789", 10, false, true, &d), PG_OK);
  int fd = open(p, O_RDONLY);
  assert_true(fd >= 0);
  uint8_t *buf = NULL;
  size_t len = 0;
  assert_int_equal(pg_read_fd_capped(fd, "the pipe", 10, &buf, &len, &d), PG_OK);
  assert_int_equal(len, 10);
  assert_memory_equal(buf, "0123456789", 10);
  assert_int_equal(buf[10], 0);
  free(buf);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  assert_int_equal(pg_read_fd_capped(fd, "the pipe", 9, &buf, &len, &d), PG_ERR_TOO_LARGE);
  assert_null(buf);
  assert_string_equal(d.msg, "the pipe: larger than 9 bytes");
  close(fd); /* the caller's descriptor stays open until here */
  /* a pipe: no size known in advance */
  int pp[2];
  assert_int_equal(pipe(pp), 0);
  assert_int_equal(write(pp[1], "abc", 3), 3);
  close(pp[1]);
  assert_int_equal(pg_read_fd_capped(pp[0], "stdin", 100, &buf, &len, &d), PG_OK);
  assert_int_equal(len, 3);
  free(buf);
  close(pp[0]);
}

static void test_mkdir(void **state) {
  (void)state;
  char p[512];
  pg_diag d = {{0}};
  snprintf(p, sizeof p, "%s/a/b/c", g_dir);
  assert_int_equal(pg_mkdir_p(p, 0700, &d), PG_OK);
  assert_int_equal(pg_mkdir_p(p, 0700, &d), PG_OK); /* exists: fine */
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  snprintf(p, sizeof p, "%s/k/l/key.hex", g_dir);
  assert_int_equal(pg_mkdir_parent(p, 0755, &d), PG_OK);
  snprintf(p, sizeof p, "%s/k/l", g_dir);
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(pg_mkdir_parent("key.hex", 0755, &d), PG_OK); /* no directory part */
  /* a file in the way is named */
  snprintf(p, sizeof p, "%s/f", g_dir);
  assert_int_equal(pg_write_file_atomic(p, "x", 1, false, true, &d), PG_OK);
  snprintf(p, sizeof p, "%s/f/g", g_dir);
  assert_int_equal(pg_mkdir_p(p, 0700, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "/f"));
  assert_int_equal(pg_mkdir_p("", 0700, &d), PG_ERR_CONFIG);
  /* longer than the old 1024-byte stack copy */
  char deep[1400];
  size_t n = (size_t)snprintf(deep, sizeof deep, "%s", g_dir);
  while (n + 101 < sizeof deep) {
    deep[n++] = '/';
    memset(deep + n, 'd', 99);
    n += 99;
  }
  deep[n] = 0;
  assert_int_equal(pg_mkdir_p(deep, 0700, &d), PG_OK);
  assert_int_equal(stat(deep, &st), 0);
}

/* pg_fail with its own message as an argument: context put before a
 * reason (vsnprintf into the buffer it reads from was undefined). */
static void test_fail_wraps_own_message(void **state) {
  (void)state;
  pg_diag d = {{0}};
  assert_int_equal(pg_fail(&d, PG_ERR_IO, "cannot open %s", "x.db"), PG_ERR_IO);
  assert_int_equal(pg_fail(&d, PG_ERR_UNAVAILABLE, "a backup of %s is under way (%s)", "dir", d.msg),
                   PG_ERR_UNAVAILABLE);
  assert_string_equal(d.msg, "a backup of dir is under way (cannot open x.db)");
  char long_reason[300];
  memset(long_reason, 'r', sizeof long_reason - 1);
  long_reason[sizeof long_reason - 1] = '\0';
  (void)pg_fail(&d, PG_ERR_IO, "%s", long_reason);
  (void)pg_fail(&d, PG_ERR_IO, "ctx: %s", d.msg);
  assert_int_equal(strlen(d.msg), sizeof d.msg - 1);
  assert_memory_equal(d.msg, "ctx: rrrr", 9);
  assert_int_equal(pg_fail(NULL, PG_ERR_IO, "%s", "nothing written"), PG_ERR_IO);
}

static void test_db_fail(void **state) {
  (void)state;
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_not_equal(sqlite3_prepare_v2(db, "SELECT * FROM nowhere", -1, &st, NULL), SQLITE_OK);
  pg_diag d = {{0}};
  assert_int_equal(pg_db_fail(db, &d, "ledger: %s", "reading"), PG_ERR_DB);
  assert_string_equal(d.msg, "ledger: reading: no such table: nowhere");
  assert_int_equal(pg_db_fail(NULL, &d, "kv read"), PG_ERR_DB);
  assert_string_equal(d.msg, "kv read: no database");
  assert_int_equal(pg_db_fail(db, NULL, "no diag"), PG_ERR_DB);
  /* pg_db_i64: the value through the out-parameter, the error as the status */
  int64_t v = 5;
  assert_int_equal(pg_db_i64(db, "SELECT 41 + ?1", 1, 0, &v, &d), PG_OK);
  assert_int_equal(v, 42);
  v = 5;
  assert_int_equal(pg_db_i64(db, "SELECT x FROM nowhere", 0, -1, &v, &d), PG_ERR_DB);
  assert_int_equal(v, 5);
  sqlite3_close(db);
}

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("pg_toolkit");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strhash),   cmocka_unit_test(test_grow),
      cmocka_unit_test(test_url),       cmocka_unit_test(test_decimal),
      cmocka_unit_test(test_parse_u64), cmocka_unit_test(test_iso_utc),   cmocka_unit_test(test_date_time),
      cmocka_unit_test(test_read_fd),   cmocka_unit_test(test_mkdir),
      cmocka_unit_test(test_db_fail),   cmocka_unit_test(test_fail_wraps_own_message),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
