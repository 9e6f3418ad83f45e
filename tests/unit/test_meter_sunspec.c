/* Unit tests of the SunSpec decoder (sunspec.h) with DEVICES.md's vectors
 * (§A8 worked decode of model 103, §A5 rollover) and hand-made images, the
 * meter's cumulative counter (wraps, resets, scale factor changes). The
 * [meter] kind = sunspec configuration is tested in test_meter.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/meter/sunspec_internal.h"
#include "p2pgrid/meter/sunspec.h"

static void expect_has(const pg_diag *d, const char *needle) {
  if (!strstr(d->msg, needle)) fail_msg("diag '%s' lacks '%s'", d->msg, needle);
}

/* §A8: model 103, 52 words from 40070. */
static const uint16_t k_m103[52] = {
    0x0067, 0x0032, 0x04D2, 0x019C, 0x0199, 0x019D, 0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF, 0x08FD,
    0x08FA, 0x0901, 0xFFFF, 0x6F0F, 0xFFFF, 0x1389, 0xFFFE, 0x0B23, 0x0000, 0x8000, 0x8000,
    0x8000, 0x8000, 0x0023, 0x9A4C, 0x0001, 0xFFFF, 0x8000, 0xFFFF, 0x8000, 0x8000, 0x8000,
    0x01C4, 0x8000, 0x8000, 0x8000, 0xFFFF, 0x0004, 0xFFFF, 0x0000, 0x0000, 0x0000, 0x0000,
    0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};

static void put_str(uint16_t *r, const char *s, size_t regs) {
  for (size_t i = 0; i < regs; i++) {
    uint8_t a = 2 * i < strlen(s) ? (uint8_t)s[2 * i] : 0;
    uint8_t b = 2 * i + 1 < strlen(s) ? (uint8_t)s[2 * i + 1] : 0;
    r[i] = (uint16_t)(a << 8 | b);
  }
}

/* The §A8 image from 40000: "SunS", model 1 (L 66), model 103, end. */
static size_t a8_image(uint16_t *img) {
  memset(img, 0, 200 * sizeof *img);
  img[0] = 0x5375, img[1] = 0x6E53, img[2] = 1, img[3] = 66;
  put_str(img + 4, "Example Solar", 16);
  put_str(img + 20, "X10 Three", 16);
  put_str(img + 52, "SN-0042", 16);
  memcpy(img + 70, k_m103, sizeof k_m103);
  img[122] = 0xFFFF, img[123] = 0x0000;
  return 124;
}

static void test_a8_worked_decode(void **state) {
  (void)state;
  uint16_t img[200];
  size_t n = a8_image(img);
  pg_sunspec_device dev;
  pg_diag d = {{0}};
  assert_int_equal(pg_sunspec_decode_image(img, n, 40000, &dev, &d), PG_OK);
  assert_int_equal(dev.chain.n, 2);
  assert_int_equal(dev.chain.models[0].id, 1);
  assert_int_equal(dev.chain.models[0].addr, 40002);
  assert_int_equal(dev.chain.models[0].len, 66);
  assert_int_equal(dev.chain.models[1].id, 103);
  assert_int_equal(dev.chain.models[1].addr, 40070);
  assert_int_equal(dev.chain.models[1].len, 50);
  assert_true(dev.has_common && dev.has_inverter && !dev.has_meter && !dev.has_storage);
  assert_string_equal(dev.common.mn, "Example Solar");
  assert_string_equal(dev.common.md, "X10 Three");
  assert_string_equal(dev.common.sn, "SN-0042");
  const pg_sunspec_values *v = &dev.inverter;
  assert_int_equal(v->model, 103);
  assert_true(v->has_w);
  assert_int_equal(v->w, 2843); /* 28431 x 10^-1 = 2843.1 W */
  assert_true(v->wh.present);
  assert_int_equal(v->wh.raw, 2333260);
  assert_int_equal(v->wh.sf, 1);
  assert_int_equal(v->wh.bits, 32);
  assert_int_equal(v->wh.wh, 23332600); /* exact */
  assert_int_equal(v->dropped, 0);
}

/* The same map at base 0 and at 50000 (§A2 candidates). */
static void test_bases(void **state) {
  (void)state;
  uint16_t img[200];
  size_t n = a8_image(img);
  pg_sunspec_chain c;
  pg_diag d = {{0}};
  assert_int_equal(pg_sunspec_bases[0], 40000);
  assert_int_equal(pg_sunspec_bases[1], 0);
  assert_int_equal(pg_sunspec_bases[2], 50000);
  assert_int_equal(pg_sunspec_walk(img, n, 0, &c, &d), PG_OK);
  assert_int_equal(c.models[1].addr, 70);
  assert_int_equal(pg_sunspec_walk(img, n, 50000, &c, &d), PG_OK);
  assert_int_equal(c.models[1].addr, 50070);
  assert_non_null(pg_sunspec_find(&c, 101, 103));
  assert_null(pg_sunspec_find(&c, 201, 204));
}

static void test_walk_errors(void **state) {
  (void)state;
  uint16_t img[200];
  size_t n = a8_image(img);
  pg_sunspec_chain c;
  pg_diag d = {{0}};
  img[1] = 0x6E54;
  assert_int_equal(pg_sunspec_walk(img, n, 40000, &c, &d), PG_ERR_INVALID);
  expect_has(&d, "no 'SunS' marker at 40000");
  img[1] = 0x6E53;
  assert_int_equal(pg_sunspec_walk(img, n - 2, 40000, &c, &d), PG_ERR_TRUNCATED);
  expect_has(&d, "no end marker");
  assert_int_equal(pg_sunspec_walk(img, 71, 40000, &c, &d), PG_ERR_TRUNCATED);
  assert_int_equal(pg_sunspec_walk(img, 1, 40000, &c, &d), PG_ERR_TRUNCATED);
  img[71] = 0; /* L = 0 */
  assert_int_equal(pg_sunspec_walk(img, n, 40000, &c, &d), PG_ERR_INVALID);
  expect_has(&d, "length 0");
  img[71] = 50;
  img[3] = 0xFFF0; /* past register 65535 */
  assert_int_equal(pg_sunspec_walk(img, n, 40000, &c, &d), PG_ERR_INVALID);
  expect_has(&d, "past register 65535");
  /* 65 one-register models: too many */
  uint16_t many[2 + 65 * 3 + 1];
  many[0] = 0x5375, many[1] = 0x6E53;
  for (int i = 0; i < 65; i++) many[2 + 3 * i] = 900, many[3 + 3 * i] = 1, many[4 + 3 * i] = 0;
  many[2 + 65 * 3] = 0xFFFF;
  assert_int_equal(pg_sunspec_walk(many, sizeof many / 2, 0, &c, &d), PG_ERR_INVALID);
  expect_has(&d, "more than 64 models");
  /* 64 are fine; unknown ids are skipped by their length */
  many[2 + 64 * 3] = 0xFFFF;
  assert_int_equal(pg_sunspec_walk(many, 2 + 64 * 3 + 1, 0, &c, &d), PG_OK);
  assert_int_equal(c.n, 64);
}

static void test_decode_errors(void **state) {
  (void)state;
  pg_sunspec_values v;
  pg_diag d = {{0}};
  uint16_t b[60] = {900, 2};
  assert_int_equal(pg_sunspec_decode(b, 4, &v, &d), PG_ERR_UNSUPPORTED);
  expect_has(&d, "model 900");
  assert_int_equal(pg_sunspec_decode(k_m103, 51, &v, &d), PG_ERR_TRUNCATED);
  uint16_t shortl[52];
  memcpy(shortl, k_m103, sizeof shortl);
  shortl[1] = 40;
  assert_int_equal(pg_sunspec_decode(shortl, 42, &v, &d), PG_ERR_INVALID);
  expect_has(&d, "shorter than");
  assert_int_equal(pg_sunspec_decode(b, 1, &v, &d), PG_ERR_TRUNCATED);
}

/* Sentinels and scale factors of model 103 (§A4). */
static void test_sentinels(void **state) {
  (void)state;
  uint16_t b[52];
  pg_sunspec_values v;
  pg_diag d = {{0}};
  memcpy(b, k_m103, sizeof b);
  b[14] = 0x8000; /* W not implemented */
  b[24] = 0, b[25] = 0; /* acc32 0: not implemented */
  assert_int_equal(pg_sunspec_decode(b, 52, &v, &d), PG_OK);
  assert_false(v.has_w);
  assert_false(v.wh.present);
  assert_int_equal(v.dropped, 0);
  memcpy(b, k_m103, sizeof b);
  b[15] = 0x8000; /* W_SF not implemented: a device error */
  b[26] = 11;     /* WH_SF out of -10..10 */
  assert_int_equal(pg_sunspec_decode(b, 52, &v, &d), PG_OK);
  assert_false(v.has_w);
  assert_false(v.wh.present);
  assert_int_equal(v.dropped, PG_SUNSPEC_DROP_W | PG_SUNSPEC_DROP_WH);
  /* 0xFFFFFFFF x 10^10 does not fit an int64: refused, not wrapped */
  memcpy(b, k_m103, sizeof b);
  b[24] = 0xFFFF, b[25] = 0xFFFF, b[26] = 10;
  assert_int_equal(pg_sunspec_decode(b, 52, &v, &d), PG_OK);
  assert_false(v.wh.present);
  assert_int_equal(v.dropped, PG_SUNSPEC_DROP_WH);
  b[26] = 9; /* 4294967295e9 fits */
  assert_int_equal(pg_sunspec_decode(b, 52, &v, &d), PG_OK);
  assert_int_equal(v.wh.wh, 4294967295000000000LL);
  /* negative SF: floor for Wh, half away from zero for W */
  b[24] = 0, b[25] = 12399, b[26] = 0xFFFE; /* 123.99 Wh -> 123 */
  b[14] = (uint16_t)-28435, b[15] = 0xFFFF; /* -2843.5 W -> -2844 */
  assert_int_equal(pg_sunspec_decode(b, 52, &v, &d), PG_OK);
  assert_int_equal(v.wh.wh, 123);
  assert_int_equal(v.w, -2844);
  int64_t out;
  assert_int_equal(pg_sunspec_scale_floor(5, -11, &out), PG_ERR_INVALID);
  assert_int_equal(pg_sunspec_scale_floor(UINT64_MAX, 0, &out), PG_ERR_TOO_LARGE);
  assert_int_equal(pg_sunspec_scale_floor(UINT64_MAX, -1, &out), PG_OK);
  assert_int_equal(out, 1844674407370955161LL);
  assert_int_equal(pg_sunspec_scale_floor(99, -2, &out), PG_OK);
  assert_int_equal(out, 0);
}

static void put_u32(uint16_t *b, size_t off, uint32_t v) {
  b[off] = (uint16_t)(v >> 16), b[off + 1] = (uint16_t)v;
}

/* A hand-made model 203: W 1234 x 10^1, TotWhExp/Imp with TotWh_SF -3. */
static void test_meter_203(void **state) {
  (void)state;
  uint16_t b[107];
  memset(b, 0, sizeof b);
  b[0] = 203, b[1] = 105;
  b[18] = 1234, b[22] = 1;                /* W, W_SF */
  put_u32(b, 38, 98765432), b[54] = 0xFFFD; /* TotWhExp 98765.432 Wh */
  put_u32(b, 46, 1000);                     /* TotWhImp 1.000 Wh */
  pg_sunspec_values v;
  pg_diag d = {{0}};
  assert_int_equal(pg_sunspec_decode(b, 107, &v, &d), PG_OK);
  assert_int_equal(v.cls, PG_SUNSPEC_METER);
  assert_int_equal(v.w, 12340);
  assert_true(v.wh_exp.present && v.wh_imp.present && !v.wh.present);
  assert_int_equal(v.wh_exp.wh, 98765);
  assert_int_equal(v.wh_exp.sf, -3);
  assert_int_equal(v.wh_imp.wh, 1);
  b[1] = 104; /* too short for Evt */
  assert_int_equal(pg_sunspec_decode(b, 107, &v, &d), PG_ERR_INVALID);
}

/* Model 113: float32 W and WH (the pairs of §A1). */
static void test_float_113(void **state) {
  (void)state;
  uint16_t b[62];
  memset(b, 0, sizeof b);
  b[0] = 113, b[1] = 60;
  b[22] = 0x4531, b[23] = 0xB19A; /* 2843.1 W */
  b[32] = 0x47F1, b[33] = 0x2000; /* 123456 Wh */
  pg_sunspec_values v;
  pg_diag d = {{0}};
  assert_int_equal(pg_sunspec_decode(b, 62, &v, &d), PG_OK);
  assert_int_equal(v.w, 2843);
  assert_true(v.wh.present);
  assert_int_equal(v.wh.bits, 0);
  assert_int_equal(v.wh.wh, 123456);
  b[32] = 0x7FC0, b[33] = 0; /* NaN: absent */
  b[22] = 0x7FC0, b[23] = 0;
  assert_int_equal(pg_sunspec_decode(b, 62, &v, &d), PG_OK);
  assert_false(v.wh.present || v.has_w);
  assert_int_equal(v.dropped, 0);
  b[32] = 0xC2C8, b[33] = 0; /* -100: refused */
  b[22] = 0x7F80;            /* +inf power: refused */
  assert_int_equal(pg_sunspec_decode(b, 62, &v, &d), PG_OK);
  assert_false(v.wh.present || v.has_w);
  assert_int_equal(v.dropped, PG_SUNSPEC_DROP_WH | PG_SUNSPEC_DROP_W);
  /* an image with 113 and 103: the integer model wins */
  uint16_t img[2 + 62 + 52 + 1];
  img[0] = 0x5375, img[1] = 0x6E53;
  b[32] = 0x47F1, b[33] = 0x2000;
  memcpy(img + 2, b, sizeof b);
  memcpy(img + 64, k_m103, sizeof k_m103);
  img[116] = 0xFFFF;
  pg_sunspec_device dev;
  assert_int_equal(pg_sunspec_decode_image(img, 117, 0, &dev, &d), PG_OK);
  assert_int_equal(dev.inverter.model, 103);
}

static void test_storage(void **state) {
  (void)state;
  uint16_t b[64];
  pg_sunspec_values v;
  pg_diag d = {{0}};
  memset(b, 0, sizeof b);
  b[0] = 802, b[1] = 62;
  b[11] = 9537, b[56] = 0xFFFE;        /* SoC 95.37 % */
  b[47] = (uint16_t)-1500, b[63] = 0;  /* W -1500 */
  assert_int_equal(pg_sunspec_decode(b, 64, &v, &d), PG_OK);
  assert_true(v.has_soc && v.has_w);
  assert_int_equal(v.soc_cpct, 9537);
  assert_int_equal(v.w, -1500);
  b[63] = 0x8000; /* optional W_SF absent: W dropped, SoC kept */
  assert_int_equal(pg_sunspec_decode(b, 64, &v, &d), PG_OK);
  assert_false(v.has_w);
  assert_int_equal(v.soc_cpct, 9537);
  b[1] = 55; /* an older, shorter 802: SoC only */
  assert_int_equal(pg_sunspec_decode(b, 57, &v, &d), PG_OK);
  assert_true(v.has_soc && !v.has_w);
  uint16_t c[26];
  memset(c, 0, sizeof c);
  c[0] = 124, c[1] = 24, c[8] = 954, c[22] = 0xFFFF; /* ChaState 95.4 % */
  assert_int_equal(pg_sunspec_decode(c, 26, &v, &d), PG_OK);
  assert_int_equal(v.soc_cpct, 9540);
  c[8] = 0xFFFF; /* optional, not implemented */
  assert_int_equal(pg_sunspec_decode(c, 26, &v, &d), PG_OK);
  assert_false(v.has_soc);
  c[8] = 1, c[22] = 10; /* 10^12 hundredths */
  assert_int_equal(pg_sunspec_decode(c, 26, &v, &d), PG_OK);
  assert_int_equal(v.soc_cpct, 1000000000000LL);
}

static pg_sunspec_counter acc32(uint32_t raw, int sf) {
  pg_sunspec_counter c = {true, 32, (int8_t)sf, raw, 0};
  assert_int_equal(pg_sunspec_scale_floor(raw, sf, &c.wh), PG_OK);
  return c;
}

#define UWH(wh) ((int64_t)(wh) * 1000000)

/* §A5: prev 0xFFFFFF00, cur 0x10 -> 272 raw -> 2720 Wh at SF 1. */
static void test_acc_rollover(void **state) {
  (void)state;
  pg_sunspec_acc a = {0};
  pg_sunspec_counter c = acc32(0xFFFFFF00u, 1);
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 1000, 10000000), PG_SUNSPEC_STEP_FIRST);
  assert_int_equal(pg_sunspec_acc_uwh(&a), 0);
  c = acc32(0x10, 1);
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 2000, 10000000), PG_SUNSPEC_STEP_WRAP);
  assert_int_equal(pg_sunspec_acc_uwh(&a), UWH(2720));
  /* the same wrap within 1 ms: 2720 Wh in 1 ms is no 10 MW device -> reset */
  pg_sunspec_acc b = {0};
  c = acc32(0xFFFFFF00u, 1);
  (void)pg_sunspec_acc_add(&b, &c, 1000, 10000000);
  c = acc32(0x10, 1);
  assert_int_equal(pg_sunspec_acc_add(&b, &c, 1001, 10000000), PG_SUNSPEC_STEP_RESET);
  assert_int_equal(pg_sunspec_acc_uwh(&b), 0);
  c = acc32(0x20, 1);
  assert_int_equal(pg_sunspec_acc_add(&b, &c, 2000, 10000000), PG_SUNSPEC_STEP_COUNT);
  assert_int_equal(pg_sunspec_acc_uwh(&b), UWH(160));
}

static void test_acc_reset_and_sf(void **state) {
  (void)state;
  pg_sunspec_acc a = {0};
  pg_sunspec_counter c = acc32(1000, 0);
  (void)pg_sunspec_acc_add(&a, &c, 0, 1000);
  c = acc32(500, 0); /* far from the top: a reset */
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 3600000, 1000000000), PG_SUNSPEC_STEP_RESET);
  c = acc32(600, 0);
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 3600001, 1000), PG_SUNSPEC_STEP_COUNT);
  assert_int_equal(pg_sunspec_acc_uwh(&a), UWH(100));
  c = acc32(61, 1); /* 610 Wh under a new SF: +10 */
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 3600002, 1000), PG_SUNSPEC_STEP_COUNT);
  assert_int_equal(pg_sunspec_acc_uwh(&a), UWH(110));
  c = acc32(60000, -2); /* 600.00 Wh: down across an SF change -> reset */
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 3600003, 1000), PG_SUNSPEC_STEP_RESET);
  c = acc32(60055, -2); /* +0.55 Wh, exact */
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 3600004, 1000), PG_SUNSPEC_STEP_COUNT);
  assert_int_equal(pg_sunspec_acc_uwh(&a), UWH(110) + 550000);
  c = acc32(1, -10); /* 1e-10 Wh steps are kept exactly */
  pg_sunspec_acc t = {0};
  (void)pg_sunspec_acc_add(&t, &c, 0, 1000);
  c = acc32(10001, -10);
  (void)pg_sunspec_acc_add(&t, &c, 1, 1000);
  assert_int_equal(pg_sunspec_acc_uwh(&t), 1);
  /* a float counter: differences of whole Wh */
  pg_sunspec_acc f = {0};
  pg_sunspec_counter fc = {true, 0, 0, 0, 123456};
  (void)pg_sunspec_acc_add(&f, &fc, 0, 1000);
  fc.wh = 123460;
  assert_int_equal(pg_sunspec_acc_add(&f, &fc, 1, 1000), PG_SUNSPEC_STEP_COUNT);
  assert_int_equal(pg_sunspec_acc_uwh(&f), UWH(4));
}

/* A device that lies with huge counters: the cumulative energy never passes
 * 1e12 Wh (what the sample series holds in int64 uWh); a step that would is
 * refused like a reset (found by fuzz_meter_sunspec, crash_cum_overflow). */
static void test_acc_cap(void **state) {
  (void)state;
  pg_sunspec_acc a = {0};
  pg_sunspec_counter c = acc32(1, 4);
  (void)pg_sunspec_acc_add(&a, &c, 0, 1000);
  c = acc32(90000000, 4); /* +9e11 Wh: fits */
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 1, 1000), PG_SUNSPEC_STEP_COUNT);
  int64_t uwh = pg_sunspec_acc_uwh(&a);
  assert_int_equal(uwh, (int64_t)(90000000 - 1) * 10000 * 1000000);
  c = acc32(100000002, 4); /* 1e12 + 1e4 Wh in all: over */
  assert_int_equal(pg_sunspec_acc_add(&a, &c, 2, 1000), PG_SUNSPEC_STEP_RESET);
  assert_int_equal(pg_sunspec_acc_uwh(&a), uwh);
  for (int k = 0; k < 100; k++) { /* never wraps the int64 uWh */
    c = acc32(0x80000000u + (uint32_t)k * 10000000u, 8 - (k % 3));
    (void)pg_sunspec_acc_add(&a, &c, 3 + (uint64_t)k, 1000000000000LL);
    assert_true(pg_sunspec_acc_uwh(&a) >= uwh);
    assert_true(pg_sunspec_acc_uwh(&a) <= 1000000000000000000LL);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a8_worked_decode), cmocka_unit_test(test_bases),
      cmocka_unit_test(test_walk_errors),      cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_sentinels),        cmocka_unit_test(test_meter_203),
      cmocka_unit_test(test_float_113),        cmocka_unit_test(test_storage),
      cmocka_unit_test(test_acc_rollover),     cmocka_unit_test(test_acc_reset_and_sf),
      cmocka_unit_test(test_acc_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
