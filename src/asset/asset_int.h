/* asset_int.h — helpers shared by the asset kinds (internal to src/asset).
 * Every helper is exact integer arithmetic in 128 bits; inputs are bounded
 * by init and step (Wh <= 2^42, W <= 2^32, ppm <= 10^6). */
#ifndef P2PGRID_ASSET_INT_H
#define P2PGRID_ASSET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/asset/asset.h"

#define PG_ASSET_MS_PER_H 3600000

/* Energy of power w for ms milliseconds, rounded down: w x ms / 3 600 000. */
int64_t pg_asset_energy_wh(int64_t w, int64_t ms);
/* floor(wh x ppm / 10^6): what is left of wh after an efficiency. */
int64_t pg_asset_ppm_floor(int64_t wh, uint32_t ppm);
/* ceil(wh x 10^6 / ppm), ppm > 0: the least input x with floor(x x ppm / 10^6) >= wh. */
int64_t pg_asset_ppm_input(int64_t wh, uint32_t ppm);
/* floor(wh x 10^6 / ppm), ppm > 0: the most input x with floor(x x ppm / 10^6) <= wh. */
int64_t pg_asset_ppm_input_max(int64_t wh, uint32_t ppm);
/* ceil(wh x ppm / 10^6). */
int64_t pg_asset_ppm_ceil(int64_t wh, uint32_t ppm);
/* One field's range for init's checks. */
typedef struct pg_asset_field {
  const char *name;
  int64_t v, lo, hi;
} pg_asset_field;
/* PG_OK when every field lies in its range, else PG_ERR_INVALID naming the
 * first that does not: "<kind>: <name> <v> outside <lo>..<hi>". */
int pg_asset_check_fields(const char *kind, const pg_asset_field *f, size_t n, pg_diag *d);
/* A band of a total in whole Wh: [ceil(total x min), floor(total x max)]. */
typedef struct pg_asset_band {
  int64_t lo, hi;
} pg_asset_band;
pg_asset_band pg_asset_band_of(int64_t total, uint32_t min_ppm, uint32_t max_ppm);
/* PG_ERR_INVALID when that band holds no whole Wh. */
int pg_asset_check_band(const char *kind, int64_t total, uint32_t min_ppm, uint32_t max_ppm,
                        pg_diag *d);
/* The surplus a strategy may use this slot (0 for PRICE_RESPONSIVE). */
int64_t pg_asset_surplus_wh(const pg_asset *a, const pg_asset_in *in);
/* value x ppm / 10^6 clamped into [0, 10^6] as the fill of total (0 for total 0). */
uint32_t pg_asset_fill_ppm(int64_t value, int64_t total);

static inline int64_t pg_asset_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t pg_asset_max64(int64_t a, int64_t b) { return a > b ? a : b; }

int pg_asset_battery_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d);
int pg_asset_ev_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d);
int pg_asset_heat_pump_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d);
/* Common init: zeroes a; returns checked (the kind's check of its params)
 * when it failed; checks the strategy; sets kind, strategy and the "never"
 * price thresholds. On failure a stays zeroed. */
int pg_asset_init_common(pg_asset *a, pg_asset_kind k, pg_asset_strategy s, int checked,
                         pg_diag *d);

#endif
