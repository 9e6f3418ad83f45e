/* Fuzz target: the SunSpec decoder (sunspec.h) and the meter's counter.
 * The input is big-endian register words.
 * 1. The words as an image at base 0: walk + decode must not crash; on
 *    success every model lies inside the image and the decoded counters
 *    satisfy wh >= 0 and, for acc32, wh == floor(raw x 10^sf).
 * 2. Every word offset as a single block (any id the input holds).
 * 3. The words as acc32 readings (2 words each, SF from a third) fed to the
 *    cumulative counter: it never goes down and never passes 1e12 Wh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/meter/sunspec_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXW 4096

static void check_counter(const pg_sunspec_counter *c) {
  if (!c->present) return;
  if (c->wh < 0) abort();
  if (c->bits == 32) {
    int64_t w;
    if (pg_sunspec_scale_floor(c->raw, c->sf, &w) != PG_OK || w != c->wh) abort();
  }
}

static void check_values(const pg_sunspec_values *v) {
  check_counter(&v->wh);
  check_counter(&v->wh_exp);
  check_counter(&v->wh_imp);
  if (strlen(v->mn) > 32 || strlen(v->md) > 32 || strlen(v->sn) > 32) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint16_t w[MAXW];
  size_t n = size / 2 > MAXW ? MAXW : size / 2;
  for (size_t i = 0; i < n; i++) w[i] = (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
  pg_sunspec_device dev;
  pg_diag d = {{0}};
  if (pg_sunspec_decode_image(w, n, 0, &dev, &d) == PG_OK) {
    for (size_t i = 0; i < dev.chain.n; i++)
      if (dev.chain.models[i].addr + 2u + dev.chain.models[i].len > n) abort();
    check_values(&dev.common);
    check_values(&dev.inverter);
    check_values(&dev.meter);
    check_values(&dev.storage);
  } else if (!d.msg[0]) {
    abort();
  }
  for (size_t i = 0; i < n && i < 512; i++) {
    pg_sunspec_values v;
    if (pg_sunspec_decode(w + i, n - i, &v, &d) == PG_OK) check_values(&v);
  }
  pg_sunspec_acc a = {0};
  int64_t last = 0;
  uint64_t t = 0;
  for (size_t i = 0; i + 3 <= n; i += 3) {
    pg_sunspec_counter c = {true, 32, (int8_t)((int16_t)w[i + 2] % 11), 0, 0};
    c.raw = (uint32_t)w[i] << 16 | w[i + 1];
    if (pg_sunspec_scale_floor(c.raw, c.sf, &c.wh) != PG_OK) continue;
    t += w[i + 2] & 0xFFF;
    (void)pg_sunspec_acc_add(&a, &c, t, 1 + (int64_t)(w[i + 2] >> 4) * 1000);
    int64_t now = pg_sunspec_acc_uwh(&a);
    if (now < last || now > PG_SUNSPEC_CUM_MAX_WH * 1000000) abort();
    last = now;
  }
  return 0;
}
