/* The heat pump with its thermal store (asset.h): demand met from the store,
 * the store held in its comfort band, COP from the outdoor temperature,
 * standing loss, strategies for running into surplus or cheap slots. */
#include <math.h>
#include <string.h>

#include "asset_int.h"

__extension__ typedef unsigned __int128 hp_u128;

void pg_heat_pump_params_default(pg_heat_pump_params *p) {
  memset(p, 0, sizeof *p);
  p->max_w = 3000;
  p->store_wh = 12000;
  p->band_min_ppm = 300000;
  p->band_max_ppm = 900000;
  p->store_initial_ppm = 600000;
  p->loss_ppm_per_hour = 5000;
  p->cop_a = 3.2;
  p->cop_b = 0.08;
}

double pg_heat_pump_cop(const pg_heat_pump_params *p, double t_out_c) {
  double c = p->cop_a + p->cop_b * t_out_c;
  if (!(c >= 1.0)) return 1.0; /* also NaN */
  return c > 8.0 ? 8.0 : c;
}

/* COP in ppm (1..8 x 10^6): what the counted heat is computed with */
static uint32_t cop_ppm(const pg_heat_pump_params *p, double t_out_c) {
  return (uint32_t)(pg_heat_pump_cop(p, t_out_c) * PG_ASSET_PPM + 0.5);
}

static pg_asset_band band(const pg_heat_pump_params *p) {
  return pg_asset_band_of(p->store_wh, p->band_min_ppm, p->band_max_ppm);
}

static int check_params(const pg_heat_pump_params *p, pg_diag *d) {
  if (!p) return pg_fail(d, PG_ERR_INVALID, "heat pump: no params given");
  const pg_asset_field f[] = {
      {"max_w", p->max_w, 1, PG_ASSET_MAX_W},
      {"store_wh", p->store_wh, 1, PG_ASSET_MAX_WH},
      {"band_max_ppm", p->band_max_ppm, 1, PG_ASSET_PPM},
      {"band_min_ppm", p->band_min_ppm, 0, (int64_t)p->band_max_ppm - 1},
      {"store_initial_ppm", p->store_initial_ppm, 0, PG_ASSET_PPM},
      {"loss_ppm_per_hour", p->loss_ppm_per_hour, 0, PG_ASSET_PPM},
  };
  int rc = pg_asset_check_fields("heat pump", f, sizeof f / sizeof f[0], d);
  if (!rc && (!isfinite(p->cop_a) || !isfinite(p->cop_b)))
    rc = pg_fail(d, PG_ERR_INVALID, "heat pump: cop_a / cop_b not finite");
  if (!rc) rc = pg_asset_check_band("heat pump", p->store_wh, p->band_min_ppm, p->band_max_ppm, d);
  return rc;
}

int pg_asset_heat_pump_init(pg_asset *a, const pg_heat_pump_params *p, pg_asset_strategy s,
                            pg_diag *d) {
  int rc = pg_asset_init_common(a, PG_ASSET_HEAT_PUMP, s, check_params(p, d), d);
  if (rc) return rc;
  a->p.hp = *p;
  a->stored_wh = pg_asset_ppm_floor(p->store_wh, p->store_initial_ppm);
  return PG_OK;
}

/* ceil(stored x loss per hour x slot / 1 h), at most stored */
static int64_t standing_loss(const pg_heat_pump_params *p, int64_t stored, int64_t slot_ms) {
  hp_u128 den = (hp_u128)PG_ASSET_PPM * PG_ASSET_MS_PER_H;
  hp_u128 num = (hp_u128)stored * p->loss_ppm_per_hour * (hp_u128)slot_ms;
  int64_t l = (int64_t)((num + den - 1) / den);
  return l < stored ? l : stored;
}

/* electricity the strategy would add up to band_max: base is the store after
 * loss and demand without heat */
static int64_t opportunity(const pg_asset *a, const pg_asset_in *in, int64_t base, uint32_t cop) {
  int64_t hi = band(&a->p.hp).hi;
  int64_t cap = base < hi ? pg_asset_ppm_input_max(hi - base, cop) : 0;
  if (a->strategy == PG_ASSET_PRICE_RESPONSIVE)
    return in->price_per_kwh <= a->charge_below ? cap : 0;
  return pg_asset_min64(pg_asset_surplus_wh(a, in), cap);
}

int pg_asset_heat_pump_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d) {
  const pg_heat_pump_params *p = &a->p.hp;
  if (p->store_wh <= 0 || p->max_w <= 0) return pg_fail(d, PG_ERR_STATE, "heat pump: not initialised");
  uint32_t cop = cop_ppm(p, in->t_out_c);
  int64_t loss = standing_loss(p, a->stored_wh, in->slot_ms);
  int64_t base = a->stored_wh - loss - in->heat_demand_wh; /* may be < 0 */
  int64_t lo = band(p).lo;
  /* must-run: keep the store at band_min after this slot's demand and loss */
  int64_t e = base < lo ? pg_asset_ppm_input(lo - base, cop) : 0;
  e = pg_asset_max64(e, opportunity(a, in, base, cop));
  e = pg_asset_min64(e, pg_asset_energy_wh(p->max_w, in->slot_ms));
  e = pg_asset_min64(e, pg_asset_ppm_input_max(p->store_wh - base, cop)); /* never overfull */
  int64_t heat = pg_asset_ppm_floor(e, cop);
  int64_t have = a->stored_wh - loss + heat;
  out->charge_wh = e;
  out->heat_wh = heat;
  out->heat_loss_wh = loss;
  out->demand_met_wh = pg_asset_min64(in->heat_demand_wh, have);
  out->unmet_wh = in->heat_demand_wh - out->demand_met_wh;
  a->stored_wh = have - out->demand_met_wh;
  out->stored_wh = a->stored_wh;
  out->soc_ppm = pg_asset_fill_ppm(a->stored_wh, p->store_wh);
  return PG_OK;
}
