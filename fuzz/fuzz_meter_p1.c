/* Fuzz target: DSMR P1 telegrams (p2pgrid/p1.h).
 * 1. The input as one telegram: success gives non-negative registers, a
 *    verified CRC and a NUL-terminated header and id; failure has a diag
 *    and a zeroed telegram.
 * 2. The input as a stream, fed whole and in pieces cut by its own bytes:
 *    both give the same frames, each at most PG_P1_TELEGRAM_MAX bytes and
 *    starting with '/', and every frame goes through the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/p1.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_one(data, size);
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
