/* The battery (asset.h): charge from a surplus or cheap slots, discharge to
 * cover the site's import or in dear slots; SoC band, power limits, exact
 * losses (stored gain rounded down, drawn energy rounded up). */
#include <string.h>

#include "asset_int.h"

void pg_battery_params_default(pg_battery_params *p) {
  memset(p, 0, sizeof *p);
  p->capacity_wh = 10000;
  p->max_charge_w = 5000;
  p->max_discharge_w = 5000;
  p->eta_charge_ppm = 950000;
  p->eta_discharge_ppm = 950000;
  p->soc_min_ppm = 100000;
  p->soc_max_ppm = 950000;
  p->soc_initial_ppm = 500000;
  p->min_spread = 0;
}

/* the SoC band in whole Wh */
static pg_asset_band soc_band(const pg_battery_params *p) {
  return pg_asset_band_of(p->capacity_wh, p->soc_min_ppm, p->soc_max_ppm);
}

static int check_params(const pg_battery_params *p, pg_diag *d) {
  if (!p) return pg_fail(d, PG_ERR_INVALID, "battery: no params given");
  const pg_asset_field f[] = {
      {"capacity_wh", p->capacity_wh, 1, PG_ASSET_MAX_WH},
      {"max_charge_w", p->max_charge_w, 1, PG_ASSET_MAX_W},
      {"max_discharge_w", p->max_discharge_w, 1, PG_ASSET_MAX_W},
      {"eta_charge_ppm", p->eta_charge_ppm, 1, PG_ASSET_PPM},
      {"eta_discharge_ppm", p->eta_discharge_ppm, 1, PG_ASSET_PPM},
      {"soc_max_ppm", p->soc_max_ppm, 1, PG_ASSET_PPM},
      {"soc_min_ppm", p->soc_min_ppm, 0, (int64_t)p->soc_max_ppm - 1},
      {"soc_initial_ppm", p->soc_initial_ppm, p->soc_min_ppm, p->soc_max_ppm},
  };
  int rc = pg_asset_check_fields("battery", f, sizeof f / sizeof f[0], d);
  if (!rc) rc = pg_asset_check_band("battery", p->capacity_wh, p->soc_min_ppm, p->soc_max_ppm, d);
  return rc;
}

int pg_asset_battery_init(pg_asset *a, const pg_battery_params *p, pg_asset_strategy s,
                          pg_diag *d) {
  int rc = pg_asset_init_common(a, PG_ASSET_BATTERY, s, check_params(p, d), d);
  if (rc) return rc;
  a->p.battery = *p;
  int64_t st = pg_asset_ppm_floor(p->capacity_wh, p->soc_initial_ppm);
  a->stored_wh = pg_asset_min64(pg_asset_max64(st, soc_band(p).lo), soc_band(p).hi);
  return PG_OK;
}

/* what the strategy wants: *c electricity to charge or *x to deliver (at most one > 0) */
static void battery_wants(const pg_asset *a, const pg_asset_in *in, int64_t *c, int64_t *x) {
  const pg_battery_params *p = &a->p.battery;
  *c = *x = 0;
  if (a->strategy == PG_ASSET_PRICE_RESPONSIVE) {
    bool spread = a->discharge_above >= a->charge_below &&
                  a->discharge_above - a->charge_below >= p->min_spread;
    if (!spread) return;
    if (in->price_per_kwh <= a->charge_below) *c = pg_asset_energy_wh(p->max_charge_w, in->slot_ms);
    else if (in->price_per_kwh >= a->discharge_above && a->discharge_above != UINT64_MAX)
      *x = pg_asset_energy_wh(p->max_discharge_w, in->slot_ms);
    return;
  }
  /* surplus-following: while the community exports, the site's import comes
   * from the community, so the battery keeps its energy */
  int64_t surplus = pg_asset_surplus_wh(a, in);
  if (surplus > 0) *c = surplus;
  else if (in->site_net_wh > 0) *x = in->site_net_wh;
}

static void battery_charge(pg_asset *a, int64_t want, int64_t slot_ms, pg_asset_out *out) {
  const pg_battery_params *p = &a->p.battery;
  int64_t room = pg_asset_max64(soc_band(p).hi - a->stored_wh, 0);
  int64_t c = pg_asset_min64(want, pg_asset_energy_wh(p->max_charge_w, slot_ms));
  c = pg_asset_min64(c, pg_asset_ppm_input(room, p->eta_charge_ppm));
  int64_t gain = pg_asset_ppm_floor(c, p->eta_charge_ppm);
  a->stored_wh += gain;
  out->charge_wh = c;
  out->loss_wh = c - gain;
}

static void battery_discharge(pg_asset *a, int64_t want, int64_t slot_ms, pg_asset_out *out) {
  const pg_battery_params *p = &a->p.battery;
  int64_t avail = pg_asset_max64(a->stored_wh - soc_band(p).lo, 0);
  int64_t x = pg_asset_min64(want, pg_asset_energy_wh(p->max_discharge_w, slot_ms));
  x = pg_asset_min64(x, pg_asset_ppm_floor(avail, p->eta_discharge_ppm));
  int64_t drawn = pg_asset_ppm_input(x, p->eta_discharge_ppm);
  a->stored_wh -= drawn;
  out->discharge_wh = x;
  out->loss_wh = drawn - x;
}

int pg_asset_battery_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d) {
  const pg_battery_params *p = &a->p.battery;
  if (p->capacity_wh <= 0 || p->eta_charge_ppm == 0 || p->eta_discharge_ppm == 0)
    return pg_fail(d, PG_ERR_STATE, "battery: not initialised");
  int64_t c, x;
  battery_wants(a, in, &c, &x);
  if (c > 0) battery_charge(a, c, in->slot_ms, out);
  else if (x > 0) battery_discharge(a, x, in->slot_ms, out);
  out->stored_wh = a->stored_wh;
  out->soc_ppm = pg_asset_fill_ppm(a->stored_wh, p->capacity_wh);
  return PG_OK;
}
