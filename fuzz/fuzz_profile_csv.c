/* Fuzz target: the profile CSV loaders (BDEW layout and time,power_W). A
 * parsed series is also sampled and integrated, and the exactness of its
 * cumulative readings checked. */
#include <stdint.h>
#include <stdlib.h>

#include "p2pgrid/profile/profile.h"

static pg_bdew_table table;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_diag d;
  if (pg_bdew_parse(data, size, "fuzz", &table, &d) == PG_OK) {
    pg_bdew_eval ev = {1000, true, true, PG_TZ_BERLIN};
    for (int64_t t = 0; t < 86400000LL * 400; t += 86400000LL * 7 + 900000)
      if (!(pg_bdew_power_w(&table, &ev, t) >= 0)) abort();
  }
  for (int mode = 0; mode < 4; mode++) {
    pg_series_opts o = {(pg_series_interp)(mode & 1), (mode & 2) != 0};
    pg_series *s = NULL;
    if (pg_series_parse(data, size, "fuzz", &o, &s, &d) != PG_OK) {
      if (s) abort();
      continue;
    }
    int64_t a = pg_series_start_ms(s), b = pg_series_end_ms(s);
    if (b <= a) abort();
    int64_t span = b - a, ts[6] = {a - span, a, a + span / 3, b - 1, b, b + span / 2 + 1};
    int64_t sum = 0;
    for (int i = 0; i < 6; i++) {
      if (!(pg_series_power_w(s, ts[i]) >= 0)) abort();
      if (i) {
        int64_t w = pg_series_cum_wh(s, ts[i]) - pg_series_cum_wh(s, ts[i - 1]);
        if (w < 0) abort();
        sum += w;
        if (!(pg_series_energy_wh(s, ts[i - 1], ts[i]) >= 0)) abort();
      }
    }
    if (sum != pg_series_cum_wh(s, ts[5]) - pg_series_cum_wh(s, ts[0])) abort();
    pg_series_free(s);
  }
  return 0;
}
