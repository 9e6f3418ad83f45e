/* Unit tests for buf.c, hex.c and err.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/base/hex.h"

/* A placeholder overwritten in place; nothing outside the bytes written,
 * whatever the offset (SIZE_MAX - 1 + 2 wraps to 0). */
static void test_buf_set_u16(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 64);
  assert_int_equal(pg_buf_set_u16(&b, 0, 1), PG_ERR_INVALID); /* empty */
  pg_buf_put_u8(&b, 9);
  pg_buf_put_u16(&b, 0);
  pg_buf_put_u8(&b, 9);
  assert_int_equal(pg_buf_set_u16(&b, 1, 0x0201), PG_OK);
  const uint8_t want[] = {9, 1, 2, 9};
  assert_memory_equal(b.data, want, sizeof want);
  assert_int_equal(pg_buf_set_u16(&b, 3, 7), PG_ERR_INVALID); /* one byte left */
  assert_int_equal(pg_buf_set_u16(&b, 4, 7), PG_ERR_INVALID);
  assert_int_equal(pg_buf_set_u16(&b, SIZE_MAX - 1, 7), PG_ERR_INVALID);
  assert_int_equal(pg_buf_set_u16(&b, SIZE_MAX, 7), PG_ERR_INVALID);
  assert_memory_equal(b.data, want, sizeof want);
  pg_buf_free(&b);
}

static void test_buf_writes_le(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 64);
  assert_null(b.data);
  assert_int_equal(pg_buf_status(&b), PG_OK);
  pg_buf_put_u8(&b, 0x01);
  pg_buf_put_u16(&b, 0x0302);
  pg_buf_put_u32(&b, 0x07060504);
  pg_buf_put_u64(&b, 0x0f0e0d0c0b0a0908ull);
  pg_buf_puts(&b, "xy");
  pg_buf_put(&b, NULL, 0);
  assert_int_equal(pg_buf_status(&b), PG_OK);
  const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 'x', 'y'};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  assert_true(pg_le64(b.data + 7) == 0x0f0e0d0c0b0a0908ull);
  uint8_t t[8];
  pg_put_le64(t, 0x1122334455667788ull);
  assert_int_equal(t[0], 0x88);
  assert_int_equal(t[7], 0x11);

  uint8_t *p = pg_buf_extend(&b, 3);
  assert_non_null(p);
  memset(p, 0xaa, 3);
  assert_int_equal(b.len, sizeof want + 3);

  pg_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_non_null(b.data); /* memory kept */
  pg_buf_free(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
}

static void test_buf_cap_and_sticky(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 10);
  pg_buf_put(&b, "0123456789", 10); /* exactly the limit */
  assert_int_equal(pg_buf_status(&b), PG_OK);
  assert_int_equal(b.len, 10);
  assert_true(b.cap <= 10); /* never grows past the limit */
  pg_buf_put_u8(&b, 1);
  assert_int_equal(pg_buf_status(&b), PG_ERR_TOO_LARGE);
  assert_int_equal(b.len, 10);
  /* sticky: later writes do nothing even if they would fit after a reset */
  assert_null(pg_buf_extend(&b, 0));
  pg_buf_put_u64(&b, 1);
  assert_int_equal(b.len, 10);
  assert_int_equal(pg_buf_status(&b), PG_ERR_TOO_LARGE);
  pg_buf_reset(&b);
  assert_int_equal(pg_buf_status(&b), PG_OK);
  pg_buf_puts(&b, "abc");
  assert_int_equal(b.len, 3);
  pg_buf_free(&b);

  /* a huge request cannot overflow the size computation */
  pg_buf_init(&b, SIZE_MAX);
  pg_buf_put_u8(&b, 1);
  assert_null(pg_buf_extend(&b, SIZE_MAX));
  assert_int_equal(pg_buf_status(&b), PG_ERR_TOO_LARGE);
  pg_buf_free(&b);

  /* limit 0: nothing fits */
  pg_buf_init(&b, 0);
  pg_buf_put_u8(&b, 1);
  assert_int_equal(pg_buf_status(&b), PG_ERR_TOO_LARGE);
  pg_buf_free(&b);

  /* growth across many writes keeps content */
  pg_buf_init(&b, 100000);
  for (uint32_t i = 0; i < 10000; i++) pg_buf_put_u32(&b, i);
  assert_int_equal(pg_buf_status(&b), PG_OK);
  assert_int_equal(b.len, 40000);
  pg_reader r;
  pg_reader_init(&r, b.data, b.len);
  for (uint32_t i = 0; i < 10000; i++) {
    uint32_t v;
    assert_int_equal(pg_read_u32(&r, &v), PG_OK);
    assert_int_equal(v, i);
  }
  assert_int_equal(pg_reader_left(&r), 0);

  uint8_t *data;
  size_t len;
  pg_buf_take(&b, &data, &len);
  assert_int_equal(len, 40000);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  free(data);
  pg_buf_free(&b);
}

static void test_reader(void **state) {
  (void)state;
  const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  pg_reader r;
  pg_reader_init(&r, in, sizeof in);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  assert_int_equal(pg_read_u8(&r, &u8), PG_OK);
  assert_int_equal(u8, 1);
  assert_int_equal(pg_read_u16(&r, &u16), PG_OK);
  assert_int_equal(u16, 0x0302);
  assert_int_equal(pg_read_u64(&r, &u64), PG_OK);
  assert_true(u64 == 0x0b0a090807060504ull);
  assert_int_equal(pg_reader_left(&r), 0);
  assert_int_equal(pg_read_u8(&r, &u8), PG_ERR_TRUNCATED);

  /* truncation consumes nothing and leaves the output alone */
  pg_reader_init(&r, in, 3);
  u32 = 0xdeadbeef;
  assert_int_equal(pg_read_u32(&r, &u32), PG_ERR_TRUNCATED);
  assert_int_equal(u32, 0xdeadbeef);
  assert_int_equal(r.pos, 0);
  u64 = 7;
  assert_int_equal(pg_read_u64(&r, &u64), PG_ERR_TRUNCATED);
  assert_true(u64 == 7);
  uint8_t out[4] = {0};
  assert_int_equal(pg_read_copy(&r, out, 4), PG_ERR_TRUNCATED);
  assert_int_equal(pg_read_copy(&r, out, 3), PG_OK);
  assert_memory_equal(out, in, 3);
  const uint8_t *view = NULL;
  assert_int_equal(pg_read_view(&r, 1, &view), PG_ERR_TRUNCATED);
  assert_int_equal(pg_read_view(&r, 0, &view), PG_OK);

  /* a view points into the input */
  pg_reader_init(&r, in, sizeof in);
  assert_int_equal(pg_read_view(&r, 5, &view), PG_OK);
  assert_ptr_equal(view, in);
  assert_int_equal(pg_reader_left(&r), 6);
  /* huge n does not wrap */
  assert_int_equal(pg_read_view(&r, SIZE_MAX, &view), PG_ERR_TRUNCATED);
  assert_int_equal(pg_reader_left(&r), 6);

  /* NULL input is an empty reader */
  pg_reader_init(&r, NULL, 100);
  assert_int_equal(pg_reader_left(&r), 0);
  assert_int_equal(pg_read_u8(&r, &u8), PG_ERR_TRUNCATED);
  /* each width truncated at every length */
  for (size_t n = 0; n < 8; n++) {
    pg_reader_init(&r, in, n);
    assert_int_equal(pg_read_u64(&r, &u64), PG_ERR_TRUNCATED);
    if (n < 4) assert_int_equal(pg_read_u32(&r, &u32), PG_ERR_TRUNCATED);
    if (n < 2) assert_int_equal(pg_read_u16(&r, &u16), PG_ERR_TRUNCATED);
  }
}

static void test_hex(void **state) {
  (void)state;
  const uint8_t in[] = {0x00, 0x01, 0xab, 0xff};
  char s[9];
  pg_hex_encode(in, 4, s);
  assert_string_equal(s, "0001abff");
  pg_hex_encode(in, 0, s);
  assert_string_equal(s, "");
  char *dup = pg_hex_dup(in, 4);
  assert_string_equal(dup, "0001abff");
  free(dup);

  uint8_t out[4];
  size_t n = 0;
  assert_int_equal(pg_hex_decode("0001ABff", 8, out, 4, &n), PG_OK);
  assert_int_equal(n, 4);
  assert_memory_equal(out, in, 4);
  assert_int_equal(pg_hex_decode("000", 3, out, 4, &n), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode("0g", 2, out, 4, &n), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode("g0", 2, out, 4, &n), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode(" 0", 2, out, 4, &n), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode("0001abff00", 10, out, 4, &n), PG_ERR_TOO_LARGE);
  assert_int_equal(pg_hex_decode("", 0, out, 4, &n), PG_OK);
  assert_int_equal(n, 0);
  /* reads only slen chars */
  assert_int_equal(pg_hex_decode("00zz", 2, out, 4, &n), PG_OK);
  assert_int_equal(n, 1);

  assert_int_equal(pg_hex_decode_exact("0001abff", out, 4), PG_OK);
  assert_memory_equal(out, in, 4);
  assert_int_equal(pg_hex_decode_exact("0001ab", out, 4), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode_exact("0001abff00", out, 4), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode_exact(NULL, out, 4), PG_ERR_INVALID);
  assert_int_equal(pg_hex_decode_exact("0001abfx", out, 4), PG_ERR_INVALID);

  /* every byte round-trips */
  uint8_t all[256], back[256];
  char hex[513];
  for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
  pg_hex_encode(all, 256, hex);
  assert_int_equal(pg_hex_decode_exact(hex, back, 256), PG_OK);
  assert_memory_equal(all, back, 256);
}

static void test_err(void **state) {
  (void)state;
  assert_string_equal(pg_strerror(PG_OK), "ok");
  assert_string_equal(pg_strerror(PG_ERR_TOO_LARGE), "too large");
  assert_string_equal(pg_strerror(PG_ERR_STATE), "invalid state");
  assert_string_equal(pg_strerror(-999), "unknown error");
  assert_string_equal(pg_strerror(1), "unknown error");
  for (int e = PG_ERR_STATE; e <= PG_OK; e++) assert_string_not_equal(pg_strerror(e), "unknown error");

  pg_diag d;
  memset(&d, 'x', sizeof d);
  pg_diag_clear(&d);
  assert_string_equal(d.msg, "");
  assert_int_equal(pg_fail(&d, PG_ERR_INVALID, "field '%s': %d", "a", 5), PG_ERR_INVALID);
  assert_string_equal(d.msg, "field 'a': 5");
  assert_int_equal(pg_fail(NULL, PG_ERR_IO, "ignored"), PG_ERR_IO);
  pg_diag_clear(NULL);
  /* long messages are truncated and stay terminated */
  char big[600];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(pg_fail(&d, PG_ERR_INVALID, "%s", big), PG_ERR_INVALID);
  assert_int_equal(strlen(d.msg), sizeof d.msg - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buf_writes_le), cmocka_unit_test(test_buf_cap_and_sticky),
      cmocka_unit_test(test_buf_set_u16),
      cmocka_unit_test(test_reader),        cmocka_unit_test(test_hex),
      cmocka_unit_test(test_err),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
