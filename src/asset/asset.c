/* Common parts of the assets (asset.h): strategy names, price thresholds,
 * exact energy helpers, input checks and the step dispatch. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "asset_int.h"

__extension__ typedef unsigned __int128 a_u128;

static const char *const strategy_names[] = {"self-consumption", "surplus-following",
                                             "price-responsive"};
#define N_STRATEGIES (sizeof strategy_names / sizeof strategy_names[0])

const char *pg_asset_strategy_name(pg_asset_strategy s) {
  return (unsigned)s < N_STRATEGIES ? strategy_names[s] : NULL;
}

int pg_asset_strategy_parse(const char *s, pg_asset_strategy *out) {
  for (size_t i = 0; s && i < N_STRATEGIES; i++)
    if (strcmp(s, strategy_names[i]) == 0) {
      *out = (pg_asset_strategy)i;
      return PG_OK;
    }
  return PG_ERR_INVALID;
}

void pg_asset_thresholds(uint64_t import_price, uint64_t export_price, uint64_t *charge_below,
                         uint64_t *discharge_above) {
  uint64_t lb = import_price > export_price ? import_price : export_price;
  uint64_t ls = import_price > export_price ? export_price : import_price;
  uint64_t third = (lb - ls) / 3;
  *charge_below = ls + third;
  *discharge_above = lb - third;
}

int64_t pg_asset_energy_wh(int64_t w, int64_t ms) {
  if (w <= 0 || ms <= 0) return 0;
  return (int64_t)((a_u128)w * (a_u128)ms / PG_ASSET_MS_PER_H);
}

int64_t pg_asset_ppm_floor(int64_t wh, uint32_t ppm) {
  if (wh <= 0) return 0;
  return (int64_t)((a_u128)wh * ppm / PG_ASSET_PPM);
}

int64_t pg_asset_ppm_ceil(int64_t wh, uint32_t ppm) {
  if (wh <= 0) return 0;
  return (int64_t)(((a_u128)wh * ppm + PG_ASSET_PPM - 1) / PG_ASSET_PPM);
}

int64_t pg_asset_ppm_input(int64_t wh, uint32_t ppm) {
  if (wh <= 0) return 0;
  return (int64_t)(((a_u128)wh * PG_ASSET_PPM + ppm - 1) / ppm);
}

int64_t pg_asset_ppm_input_max(int64_t wh, uint32_t ppm) {
  if (wh <= 0) return 0;
  return (int64_t)((a_u128)wh * PG_ASSET_PPM / ppm);
}

uint32_t pg_asset_fill_ppm(int64_t value, int64_t total) {
  if (total <= 0 || value <= 0) return 0;
  if (value >= total) return PG_ASSET_PPM;
  return (uint32_t)((a_u128)value * PG_ASSET_PPM / (a_u128)total);
}

int pg_asset_check_fields(const char *kind, const pg_asset_field *f, size_t n, pg_diag *d) {
  for (size_t i = 0; i < n; i++)
    if (f[i].v < f[i].lo || f[i].v > f[i].hi)
      return pg_fail(d, PG_ERR_INVALID, "%s: %s %lld outside %lld..%lld", kind, f[i].name,
                     (long long)f[i].v, (long long)f[i].lo, (long long)f[i].hi);
  return PG_OK;
}

pg_asset_band pg_asset_band_of(int64_t total, uint32_t min_ppm, uint32_t max_ppm) {
  return (pg_asset_band){pg_asset_ppm_ceil(total, min_ppm), pg_asset_ppm_floor(total, max_ppm)};
}

int pg_asset_check_band(const char *kind, int64_t total, uint32_t min_ppm, uint32_t max_ppm,
                        pg_diag *d) {
  pg_asset_band b = pg_asset_band_of(total, min_ppm, max_ppm);
  if (b.lo <= b.hi) return PG_OK;
  return pg_fail(d, PG_ERR_INVALID, "%s: the band %u..%u ppm holds no whole Wh of %lld Wh", kind,
                 min_ppm, max_ppm, (long long)total);
}

int64_t pg_asset_surplus_wh(const pg_asset *a, const pg_asset_in *in) {
  if (a->strategy == PG_ASSET_SELF_CONSUMPTION) return in->site_net_wh < 0 ? -in->site_net_wh : 0;
  if (a->strategy == PG_ASSET_SURPLUS_FOLLOWING) return in->community_surplus_wh;
  return 0;
}

int pg_asset_init_common(pg_asset *a, pg_asset_kind k, pg_asset_strategy s, int checked,
                         pg_diag *d) {
  if (!a) return pg_fail(d, PG_ERR_INVALID, "asset: no asset given");
  memset(a, 0, sizeof *a);
  if (checked) return checked;
  if (!pg_asset_strategy_name(s))
    return pg_fail(d, PG_ERR_INVALID, "asset: strategy %d is not one of self-consumption, "
                   "surplus-following, price-responsive", (int)s);
  a->kind = k;
  a->strategy = s;
  a->charge_below = 0;
  a->discharge_above = UINT64_MAX;
  return PG_OK;
}

void pg_asset_free(pg_asset *a) {
  if (!a) return;
  free(a->sessions);
  memset(a, 0, sizeof *a);
}

static int check_in(const pg_asset_in *in, pg_diag *d) {
  if (in->slot_ms <= 0 || in->slot_ms > PG_ASSET_MAX_SLOT_MS)
    return pg_fail(d, PG_ERR_INVALID, "asset: slot_ms %lld outside 1..%lld",
                   (long long)in->slot_ms, (long long)PG_ASSET_MAX_SLOT_MS);
  if (in->start_ms > INT64_MAX - in->slot_ms)
    return pg_fail(d, PG_ERR_INVALID, "asset: start_ms %lld + slot_ms overflows",
                   (long long)in->start_ms);
  if (in->site_net_wh < -PG_ASSET_MAX_WH || in->site_net_wh > PG_ASSET_MAX_WH)
    return pg_fail(d, PG_ERR_INVALID, "asset: site_net_wh %lld beyond +-2^40",
                   (long long)in->site_net_wh);
  if (in->community_surplus_wh < 0 || in->community_surplus_wh > PG_ASSET_MAX_WH)
    return pg_fail(d, PG_ERR_INVALID, "asset: community_surplus_wh %lld outside 0..2^40",
                   (long long)in->community_surplus_wh);
  if (in->heat_demand_wh < 0 || in->heat_demand_wh > PG_ASSET_MAX_WH)
    return pg_fail(d, PG_ERR_INVALID, "asset: heat_demand_wh %lld outside 0..2^40",
                   (long long)in->heat_demand_wh);
  return PG_OK;
}

int pg_asset_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d) {
  if (!a || !in || !out) return pg_fail(d, PG_ERR_INVALID, "asset: step without asset, input or output");
  memset(out, 0, sizeof *out);
  int rc = check_in(in, d);
  if (rc) return rc;
  switch (a->kind) {
  case PG_ASSET_BATTERY: return pg_asset_battery_step(a, in, out, d);
  case PG_ASSET_EV: return pg_asset_ev_step(a, in, out, d);
  case PG_ASSET_HEAT_PUMP: return pg_asset_heat_pump_step(a, in, out, d);
  }
  return pg_fail(d, PG_ERR_INVALID, "asset: kind %d unknown (not initialised?)", (int)a->kind);
}
