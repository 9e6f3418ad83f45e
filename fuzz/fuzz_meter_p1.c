/* Fuzz target: DSMR P1 telegrams (p2pgrid/meter/p1.h).
 * 1. The input as one telegram: success gives non-negative registers, a
 *    verified CRC and a NUL-terminated header and id; failure has a diag
 *    and a zeroed telegram.
 * 2. The input as a stream, fed whole and in pieces cut by its own bytes:
 *    both give the same frames, each at most PG_P1_TELEGRAM_MAX bytes and
 *    starting with '/', and every frame goes through the parser.
 * 3. The input as readings (3 bytes each: time step, import and export
 *    increase; a step of 0 is a late telegram, 255 a decreasing one) in the
 *    P1 meter's series: import and export windows cut from the input sum
 *    exactly to the whole, nothing is negative, and a tiny ring never
 *    crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/meter/p1_internal.h"
#include "p2pgrid/meter/p1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const uint8_t *data, size_t size) {
  pg_p1_telegram t;
  pg_diag d = {{0}};
  int rc = pg_p1_parse(data, size, &t, &d);
  if (rc == PG_OK) {
    for (int k = 0; k < 2; k++)
      if (t.import_wh[k] < 0 || t.export_wh[k] < 0) abort();
    if (t.power_import_w < 0 || t.power_export_w < 0 || t.gas_dm3 < 0) abort();
    if (memchr(t.header, 0, sizeof t.header) == NULL) abort();
    if (memchr(t.equipment_id, 0, sizeof t.equipment_id) == NULL) abort();
  } else {
    if (d.msg[0] == '\0' || t.has_time || t.import_wh[0] != 0) abort();
  }
}

typedef struct seen {
  uint64_t n;
  uint32_t sum;
} seen;

static void on_frame(void *ctx, const uint8_t *f, size_t len) {
  seen *s = ctx;
  if (len == 0 || len > PG_P1_TELEGRAM_MAX || f[0] != '/') abort();
  s->n++;
  s->sum = s->sum * 31 + pg_p1_crc16(f, len);
  check_one(f, len);
}

#define T0 1800000000000LL

static void check_series(const uint8_t *data, size_t size, pg_meter_p1_quantity q) {
  pg_p1_series s, tiny;
  if (pg_p1_series_init(&s, 1024) || pg_p1_series_init(&tiny, 3)) abort();
  int64_t t = T0, imp = 0, exp = 0;
  size_t i = 0;
  for (; i + 3 <= size && i < 3 * 512; i += 3) {
    int64_t ti = t + (int64_t)data[i] * 251, ii = imp + data[i + 1], ei = exp + data[i + 2] % 7;
    if (data[i] == 255) ii = imp - 1;
    int a = pg_p1_series_add(&s, ti, ii, ei);
    (void)pg_p1_series_add(&tiny, ti, ii, ei);
    if (a == PG_P1_ADDED) t = ti, imp = ii, exp = ei;
    if (i > 0 && ((data[i] == 0 && a != PG_P1_LATE) || (data[i] == 255 && a == PG_P1_ADDED))) abort();
  }
  int64_t from = T0 + (size ? data[0] : 0) * 100, end = t + 1, whole = 0, sum = 0, wh;
  if (from >= end) from = end - 1;
  int rc = pg_p1_series_energy(&s, q, (uint64_t)from, (uint64_t)end, (uint64_t)end + 60000, 60000,
                               &whole, NULL);
  if (rc == PG_OK) {
    if (whole < 0) abort();
    int64_t a = from;
    for (size_t j = i; a < end;) {
      int64_t b = a + 1 + (j < size ? (int64_t)data[j++] * 97 : 100000);
      if (b > end) b = end;
      if (pg_p1_series_energy(&s, q, (uint64_t)a, (uint64_t)b, (uint64_t)end + 60000, 60000, &wh,
                              NULL) != PG_OK || wh < 0)
        abort();
      sum += wh;
      a = b;
    }
    if (q != PG_METER_P1_NET && sum != whole) abort();
  } else if (rc != PG_ERR_UNAVAILABLE) {
    abort();
  }
  int64_t a = from;
  for (int k = 0; k < 8 && a < end; k++) {
    int64_t b = a + (end - a) / 2 + 1;
    rc = pg_p1_series_energy(&tiny, q, (uint64_t)a, (uint64_t)b, (uint64_t)end + 60000, 60000, &wh,
                             NULL);
    if (rc == PG_OK && wh < 0) abort();
    a = b;
  }
  pg_p1_series_free(&s);
  pg_p1_series_free(&tiny);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_one(data, size);
  check_series(data, size, PG_METER_P1_IMPORT);
  check_series(data, size, PG_METER_P1_NET);
  static pg_p1_stream a, b;
  seen sa = {0, 0}, sb = {0, 0};
  pg_p1_stream_init(&a);
  pg_p1_stream_feed(&a, data, size, on_frame, &sa);
  pg_p1_stream_init(&b);
  size_t i = 0;
  while (i < size) {
    size_t step = 1 + (data[i] % 97);
    if (step > size - i) step = size - i;
    pg_p1_stream_feed(&b, data + i, step, on_frame, &sb);
    i += step;
  }
  if (sa.n != sb.n || sa.sum != sb.sum) abort();
  return 0;
}
