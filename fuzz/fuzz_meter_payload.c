/* Fuzz target: the MQTT meter's payload parser and sample arithmetic.
 * 1. The input as a payload, for each unit, bare and with json_key "power":
 *    success gives a value in [0, PG_METER_MICRO_MAX]; failure has a diag.
 * 2. The input as samples (3 bytes each: time step, value) fed to a series:
 *    consecutive windows must sum exactly to their union, never negative; the
 *    same samples in a tiny ring (dropping) must never crash or go negative. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/meter/meter_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_parse(const uint8_t *data, size_t size) {
  static const char *keys[] = {NULL, "power"};
  for (int kind = 0; kind < 3; kind++) {
    for (size_t k = 0; k < 2; k++) {
      int64_t v = -1;
      pg_diag d = {{0}};
      int rc = pg_meter_parse_payload(data, size, (pg_meter_mqtt_kind)kind, keys[k], &v, &d);
      if (rc == PG_OK) {
        if (v < 0 || v > PG_METER_MICRO_MAX) abort();
      } else {
        if (d.msg[0] == '\0' || v != -1) abort();
      }
    }
  }
}

#define T0 1800000000000ull

static void fuzz_series(const uint8_t *data, size_t size, pg_meter_mqtt_kind kind) {
  pg_meter_series s, tiny;
  if (pg_meter_series_init(&s, kind, 1024) || pg_meter_series_init(&tiny, kind, 3)) abort();
  uint64_t t = T0;
  size_t i = 0;
  for (; i + 3 <= size && i < 3 * 512; i += 3) {
    t += (uint64_t)data[i] * 997; /* 0 .. ~4 min steps, repeats allowed */
    /* value: up to ~16.7 kW / kWh-scale counters, in micro units */
    int64_t v = ((int64_t)data[i + 1] << 8 | data[i + 2]) * 1000003;
    pg_meter_series_add(&s, t, v);
    pg_meter_series_add(&tiny, t, v);
  }
  /* windows cut from the rest of the input */
  uint64_t from = T0 + (size > 0 ? data[0] : 0) * 1000ull, end = t + 1;
  int64_t whole = 0, sum = 0, wh;
  if (from >= end) from = end - 1;
  int rc = pg_meter_series_energy(&s, from, end, end + 60000, 60000, &whole, NULL);
  if (rc == PG_OK) {
    if (whole < 0) abort();
    uint64_t a = from;
    size_t j = i;
    while (a < end) {
      uint64_t step = 1 + (j < size ? (uint64_t)data[j++] * 4099 : 600000);
      uint64_t b = a + step > end ? end : a + step;
      if (pg_meter_series_energy(&s, a, b, end + 60000, 60000, &wh, NULL) != PG_OK || wh < 0)
        abort();
      sum += wh;
      a = b;
    }
    if (sum != whole) abort();
  } else if (rc != PG_ERR_UNAVAILABLE) {
    abort();
  }
  uint64_t a = from;
  for (int k = 0; k < 8 && a < end; k++) {
    uint64_t b = a + (end - a) / 2 + 1;
    rc = pg_meter_series_energy(&tiny, a, b, end + 60000, 60000, &wh, NULL);
    if (rc == PG_OK && wh < 0) abort();
    a = b;
  }
  pg_meter_series_free(&s);
  pg_meter_series_free(&tiny);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_parse(data, size);
  fuzz_series(data, size, PG_METER_POWER_W);
  fuzz_series(data, size, PG_METER_ENERGY_WH);
  return 0;
}
