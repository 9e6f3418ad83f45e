/* The one CSV reader (p2pgrid/base/csv.h): RFC 4180 records over hostile
 * bytes, the table view, and the buffer helpers the report and the invoice
 * write with (pg_buf_printf, pg_buf_html). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/decimal.h"

/* Reads every record of s (sep, at most 8 fields each) into "a|b;c|d;..."
 * and returns the first error code, or PG_OK; msg gets the diag. */
static int read_all(const char *s, size_t len, char sep, size_t max_record, char *out, size_t cap,
                    char *msg) {
  pg_csv c;
  pg_csv_field f[8];
  size_t nf, used = 0;
  pg_diag d = {{0}};
  int rc;
  pg_csv_init(&c, s, len, "t.csv", max_record);
  c.sep = sep;
  out[0] = 0;
  while ((rc = pg_csv_record(&c, f, 8, &nf, &d)) == PG_OK) {
    assert_true(nf >= 1 && nf <= 8);
    for (size_t i = 0; i < nf; i++) {
      assert_int_equal(f[i].p[f[i].len], 0); /* NUL-terminated */
      used += (size_t)snprintf(out + used, cap - used, "%s%.*s", i ? "|" : "", (int)f[i].len, f[i].p);
    }
    used += (size_t)snprintf(out + used, cap - used, ";");
  }
  snprintf(msg, 256, "%s", d.msg);
  pg_csv_free(&c);
  return rc == PG_ERR_NOT_FOUND ? PG_OK : rc;
}

static void test_records(void **state) {
  (void)state;
  char out[512], msg[256];
  /* plain, CRLF, blank lines, a BOM, an empty last field */
  static const char bom[] = "\xEF\xBB\xBF" "a,b\r\n\r\n\n1,\n";
  assert_int_equal(read_all(bom, sizeof bom - 1, ',', 100, out, sizeof out, msg), PG_OK);
  assert_string_equal(out, "a|b;1|;");
  /* quoted fields: separators, "" and line breaks inside */
  const char *q = "id,name\n\"x,1\",\"say \"\"hi\"\"\"\n\"multi\nline\",z";
  assert_int_equal(read_all(q, strlen(q), ',', 100, out, sizeof out, msg), PG_OK);
  assert_string_equal(out, "id|name;x,1|say \"hi\";multi\nline|z;");
  /* another separator; ',' is then plain text */
  const char *semi = "a;b\n1,5;\"2;3\"\n";
  assert_int_equal(read_all(semi, strlen(semi), ';', 100, out, sizeof out, msg), PG_OK);
  assert_string_equal(out, "a|b;1,5|2;3;");
  /* no final line end */
  assert_int_equal(read_all("a", 1, ',', 100, out, sizeof out, msg), PG_OK);
  assert_string_equal(out, "a;");
}

static void test_records_hostile(void **state) {
  (void)state;
  char out[512], msg[256];
  struct {
    const char *in;
    size_t len;
    int rc;
    const char *msg;
  } bad[] = {
      {"a,\"b\n", 5, PG_ERR_INVALID, "t.csv:1: quoted field not closed"},
      {"a,b\"c\n", 6, PG_ERR_INVALID, "t.csv:1: quote inside an unquoted field"},
      {"\"a\"b,c\n", 7, PG_ERR_INVALID, "t.csv:1: text after a closing quote"},
      {"x\ny\0z\n", 6, PG_ERR_INVALID, "t.csv:2: NUL byte"},
      {"x\n\"y\0\"\n", 7, PG_ERR_INVALID, "t.csv:2: NUL byte"},
      {"a\rb\n", 4, PG_ERR_INVALID, "t.csv:1: stray carriage return"},
      {"ok\n0123456789012345678901234567890\n", 35, PG_ERR_TOO_LARGE, "t.csv:2: line longer than 16 bytes"},
      {"ok\n\"0123456789\n0123456789\"\n", 27, PG_ERR_TOO_LARGE, "t.csv:2: line longer than 16 bytes"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = read_all(bad[i].in, bad[i].len, ',', 16, out, sizeof out, msg);
    if (rc != bad[i].rc || !strstr(msg, bad[i].msg))
      fail_msg("case %zu: rc %d, msg '%s' (expected %d, '%s')", i, rc, msg, bad[i].rc, bad[i].msg);
  }
  /* more fields than asked for: max + 1, the first max set */
  pg_csv c;
  pg_csv_field f[2];
  size_t nf;
  pg_csv_init(&c, "a,b,c,d\n", 8, "t", 100);
  assert_int_equal(pg_csv_record(&c, f, 2, &nf, NULL), PG_OK);
  assert_int_equal(nf, 3);
  assert_true(pg_csv_eq(f[0], "a") && pg_csv_eq(f[1], "b"));
  pg_csv_free(&c);
}

static void test_sniff(void **state) {
  (void)state;
  pg_csv c;
  pg_csv_init(&c, "\n\nmetering_point;start\n1,2\n", 26, "t", 100);
  assert_int_equal(pg_csv_sniff_sep(&c), ';');
  pg_csv_init(&c, "metering_point,start\n1;2\n", 25, "t", 100);
  assert_int_equal(pg_csv_sniff_sep(&c), ',');
  pg_csv_init(&c, "", 0, "t", 100);
  assert_int_equal(pg_csv_sniff_sep(&c), ',');
}

static void test_table(void **state) {
  (void)state;
  static const char *const cols[] = {"slot", "start", "price"};
  const char *s = "price,extra,start,slot\n"
                  "0.25,\"x,y\",2025-06-01T00:15:00Z,-7\n"
                  ",,2025-06-01T00:30:00Z,8\n"
                  "abc,,2025-06-01T00:30:00Z,9\n"
                  "1,2\n";
  pg_csv_table t;
  pg_diag d = {{0}};
  int64_t slot, ms;
  double price;
  pg_csv_table_init(&t, "slots.csv", s, strlen(s));
  assert_int_equal(pg_csv_table_header(&t, cols, 3, &d), PG_OK);
  assert_int_equal(pg_csv_table_next(&t, &d), 1);
  assert_int_equal(pg_csv_table_i64(&t, 0, &slot, &d), PG_OK);
  assert_int_equal(slot, -7);
  assert_int_equal(pg_csv_table_time(&t, 1, &ms, &d), PG_OK);
  assert_int_equal(ms, 1748736900000LL);
  assert_int_equal(pg_csv_table_dec(&t, 2, false, &price, &d), PG_OK);
  assert_true(price == 0.25);
  assert_int_equal(pg_csv_table_next(&t, &d), 1);
  assert_int_equal(pg_csv_table_dec(&t, 2, true, &price, &d), PG_OK);
  assert_true(isnan(price));
  assert_int_equal(pg_csv_table_dec(&t, 2, false, &price, &d), PG_ERR_INVALID);
  assert_int_equal(pg_csv_table_next(&t, &d), 1);
  assert_int_equal(pg_csv_table_dec(&t, 2, false, &price, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "slots.csv:4: column 'price': 'abc' is not a number");
  assert_true(pg_csv_table_next(&t, &d) < 0);
  assert_string_equal(d.msg, "slots.csv:5: 2 fields, the header has 4");
  pg_csv_table_free(&t);

  pg_csv_table_init(&t, "p.csv", "a,b\n", 4);
  assert_int_equal(pg_csv_table_header(&t, cols, 1, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "p.csv:1: header has no column 'slot'");
  pg_csv_table_free(&t);
  pg_csv_table_init(&t, "e.csv", "\n\n", 2);
  assert_int_equal(pg_csv_table_header(&t, cols, 1, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "e.csv: empty file (no header)");
  pg_csv_table_free(&t);
}

static void test_parse_i64(void **state) {
  (void)state;
  int64_t v = 5;
  assert_true(pg_parse_i64("-9223372036854775808", 20, &v) && v == INT64_MIN);
  assert_true(pg_parse_i64("9223372036854775807", 19, &v) && v == INT64_MAX);
  v = 5;
  assert_false(pg_parse_i64("9223372036854775808", 19, &v));
  assert_false(pg_parse_i64("-9223372036854775809", 20, &v));
  assert_false(pg_parse_i64("-", 1, &v));
  assert_false(pg_parse_i64("", 0, &v));
  assert_false(pg_parse_i64("+1", 2, &v));
  assert_false(pg_parse_i64("1 ", 2, &v));
  assert_int_equal(v, 5);
}

static void test_buf_text(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  pg_buf_printf(&b, "%d-%s", 42, "x");
  char big[1000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  pg_buf_printf(&b, "%s", big); /* longer than the stack buffer */
  assert_int_equal(b.len, 4 + 999);
  pg_buf_reset(&b);
  pg_buf_html(&b, "<a href=\"x\">&'\x01</a>", 0);
  assert_int_equal(b.len, strlen("&lt;a href=&quot;x&quot;&gt;&amp;&#39; &lt;/a&gt;"));
  assert_memory_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39; &lt;/a&gt;", b.len);
  pg_buf_reset(&b);
  pg_buf_html(&b, "ab\xC3\xA4z", 3); /* cut before the 2-byte letter */
  assert_int_equal(b.len, 2 + 3);
  assert_memory_equal(b.data, "ab\xE2\x80\xA6", b.len);
  assert_int_equal(pg_buf_status(&b), PG_OK);
  pg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_records),   cmocka_unit_test(test_records_hostile),
      cmocka_unit_test(test_sniff),     cmocka_unit_test(test_table),
      cmocka_unit_test(test_parse_i64), cmocka_unit_test(test_buf_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
