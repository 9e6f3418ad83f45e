/* Fuzz target: the rainfall CSV path of the rain-tank meter — `time,rain_mm`
 * through pg_series_parse_values, then the tank simulation. Checks the mass
 * balance of the simulated period to the mL, levels within the capacity,
 * monotone supply and windows that sum to their union. */
#include <stdint.h>
#include <stdlib.h>

#include "p2pgrid/profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_diag d;
  for (int mode = 0; mode < 2; mode++) {
    pg_series_opts o = {PG_SERIES_STEP, mode == 1};
    pg_series *s = NULL;
    if (pg_series_parse_values(data, size, "fuzz", &o, "rain_mm", &s, &d) != PG_OK) {
      if (s) abort();
      continue;
    }
    pg_rain_tank_params p = {.roof_m2 = 50, .runoff = 0.9, .capacity_l = 300,
                             .draw_l_per_min = 0.5, .initial_l = 100, .wrap = mode == 1};
    pg_rain_tank *k = NULL;
    int rc = pg_rain_tank_new(&p, s, &k, &d);
    int64_t a = pg_series_start_ms(s), b = pg_series_end_ms(s);
    pg_series_free(s);
    if (rc != PG_OK) {
      if (k) abort();
      continue;
    }
    pg_rain_tank_totals t;
    pg_rain_tank_period(k, &t);
    if (t.inflow_ml != t.supplied_ml + t.overflow_ml + t.level_end_ml - t.level_start_ml) abort();
    if (t.supplied_ml < 0 || t.overflow_ml < 0 || t.level_end_ml < 0 || t.level_end_ml > 300000) abort();
    int64_t span = b - a, ts[7] = {a - span, a, a + span / 3, a + span / 2 + 7, b - 1, b, b + span + 1};
    int64_t sum = 0;
    for (int i = 0; i < 7; i++) {
      int64_t l = pg_rain_tank_level_ml(k, ts[i]);
      if (l < 0 || l > 300000) abort();
      if (i) {
        int64_t w = pg_rain_tank_cum_l(k, ts[i]) - pg_rain_tank_cum_l(k, ts[i - 1]);
        if (w < 0 || pg_rain_tank_cum_ml(k, ts[i]) < pg_rain_tank_cum_ml(k, ts[i - 1])) abort();
        sum += w;
      }
    }
    if (sum != pg_rain_tank_cum_l(k, ts[6]) - pg_rain_tank_cum_l(k, ts[0])) abort();
    pg_rain_tank_free(k);
  }
  return 0;
}
