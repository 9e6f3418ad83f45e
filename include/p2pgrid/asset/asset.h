/* p2pgrid/asset/asset.h — flexible assets: batteries, EV chargers and heat pumps,
 * their models and controllers. Pure: no I/O, no clocks, no allocation after
 * init, no floating point in what is counted (Wh are int64; COP and the
 * outdoor temperature, which only shape decisions, are doubles). Depends on
 * base only.
 *
 * ONE SLOT AT A TIME. The caller (the simulator, later a home EMS) calls
 * pg_asset_step once per slot, in slot order, with what the asset can know
 * in that slot (pg_asset_in) and gets what it did (pg_asset_out). Every
 * quantity is whole Wh of electricity at the asset's meter point, except
 * the heat pump's heat (Wh_th).
 *
 * CONSERVATION (checked by tests to the Wh, every slot, every strategy):
 *   battery:   charge_wh = (stored_after - stored_before) + loss_wh + discharge_wh
 *   ev:        charge_wh = delivered_wh + loss_wh          (delivered into the car)
 *   heat pump: heat_wh (= electricity x COP, rounded down)
 *                         = (store_after - store_before) + heat_loss_wh + demand_met_wh
 *              and demand_met_wh + unmet_wh = the slot's heat demand
 * and the limits: 0 <= stored <= capacity, SoC within [soc_min, soc_max]
 * (a battery never discharges below soc_min nor charges above soc_max),
 * charge/discharge <= power x slot length, never both in one slot.
 *
 * ROUNDING: losses are rounded so that the asset never creates energy:
 * stored gain = floor(charge x eta_c), drawn from store = ceil(discharge /
 * eta_d) (eta in ppm).
 *
 * STRATEGIES (pg_asset_strategy):
 *   SELF_CONSUMPTION  a battery charges from the site's own surplus
 *                     (site_net_wh < 0) and discharges to cover the site's
 *                     import (site_net_wh > 0); a heat pump runs on the
 *                     site's surplus when its store has room; an EV charges
 *                     from the surplus, and at full power when it must to
 *                     reach its need by departure.
 *   SURPLUS_FOLLOWING as self-consumption, but the surplus it may use is the
 *                     community's (community_surplus_wh: what the community
 *                     would export this slot, already reduced by the assets
 *                     stepped before this one).
 *   PRICE_RESPONSIVE  charge when price_per_kwh <= charge_below,
 *                     discharge when >= discharge_above (battery: only when
 *                     discharge_above - charge_below >= min_spread, the
 *                     degradation-aware minimum); heat pump and EV shift their
 *                     running into slots at or below charge_below, never
 *                     breaking comfort band or departure need.
 *                     Between the thresholds a price-responsive asset only
 *                     does what it must (EV need, heat pump band_min); a
 *                     battery charges and discharges at full power (to and
 *                     from the grid, not only the site).
 * Thresholds come from the mechanism's prices (pg_asset_thresholds); init
 * sets charge_below = 0 and discharge_above = UINT64_MAX (never: no price
 * reaches UINT64_MAX).
 * A surplus-following battery discharges to cover the site's import only
 * while the community has no surplus (else that import is community energy);
 * a community battery passes the community's net as site_net_wh.
 *
 * BATTERY. SoC band in whole Wh: [ceil(cap x soc_min), floor(cap x soc_max)]
 * (init refuses a band with no whole Wh). A charge that would pass soc_max
 * is cut to the least electricity that fills the band exactly.
 *
 * EV. A slot charges the part of it inside each session (plugged ms); several
 * short sessions may share a slot. MUST-RUN: with L the session's remaining
 * need (into the car) and F what max power can deliver from the slot's end to
 * departure (counted slot by slot, the coming slots taken as long as this
 * one), the charger takes ceil((L - F) / eta) now when L > F (at most what the
 * plugged part allows at max_w). Strategies add surplus (their budget,
 * shared by the sessions of the slot) or, price-responsive, full power when
 * the price is at or below charge_below; never more than the need. A charger
 * that runs draws at least min_w x plugged time, except to finish a need
 * smaller than that; opportunistic charging below it does not start.
 * delivered_wh = floor(electricity x eta) per session (a slot with k
 * sessions may lose up to k - 1 Wh more than one rounding would).
 * UNMET: out.unmet_wh of the slot in which a session departs (depart_ms <=
 * slot end; or a later slot when steps skipped it) is the need not delivered
 * by then, once per session; sum it over the run for the total. out.stored_wh
 * = delivered so far into the car plugged in at the slot's end, soc_ppm = that
 * as a share of its need (both 0 when no car is plugged in).
 *
 * HEAT PUMP. COP(T) is taken in ppm (rounded to nearest) and heat_wh =
 * floor(charge_wh x cop_ppm / 10^6). Standing loss = ceil(store_before x
 * loss_ppm_per_hour x slot_ms / (10^6 x 1 h)), at most the store. Must-run:
 * enough heat that store_after >= ceil(store_wh x band_min) after the slot's
 * demand and loss; strategies add running up to floor(store_wh x band_max);
 * never more than max_w x slot nor past store_wh. When even that leaves the
 * store short, the store empties and out.unmet_wh is the demand not met (the
 * store never goes below 0).
 *
 * Ownership: a pg_asset is the caller's struct; init copies the EV's
 * sessions (pg_asset_free frees that copy; other kinds own nothing);
 * params, inputs and outputs are caller values.
 * Errors: PG_ERR_INVALID with the field named when params are out of range
 * (init; EV sessions unsorted or overlapping name both sessions) or an input
 * is (step: slot_ms outside 1..PG_ASSET_MAX_SLOT_MS, start_ms + slot_ms
 * overflowing, a heat demand or community surplus below 0, |site_net_wh| >
 * 2^40); PG_ERR_STATE for stepping an asset not initialised; PG_ERR_NOMEM.
 * Threads: an asset is used by one thread at a time; nothing is shared. */
#ifndef P2PGRID_ASSET_ASSET_H
#define P2PGRID_ASSET_ASSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_ASSET_PPM 1000000u
#define PG_ASSET_MAX_WH ((int64_t)1 << 40) /* any capacity, need or store */
#define PG_ASSET_MAX_W ((int64_t)1 << 32)
#define PG_ASSET_MAX_SESSIONS 4096 /* EV sessions per charger */
#define PG_ASSET_MAX_SLOT_MS ((int64_t)31 * 24 * 3600 * 1000) /* a slot: 1 ms .. 31 days */

typedef enum pg_asset_kind { PG_ASSET_BATTERY = 0, PG_ASSET_EV, PG_ASSET_HEAT_PUMP } pg_asset_kind;

typedef enum pg_asset_strategy {
  PG_ASSET_SELF_CONSUMPTION = 0,
  PG_ASSET_SURPLUS_FOLLOWING,
  PG_ASSET_PRICE_RESPONSIVE,
} pg_asset_strategy;

/* "self-consumption", "surplus-following", "price-responsive"; NULL for others. */
const char *pg_asset_strategy_name(pg_asset_strategy s);
PG_NODISCARD int pg_asset_strategy_parse(const char *s, pg_asset_strategy *out);

typedef struct pg_battery_params {
  int64_t capacity_wh;     /* > 0 */
  int64_t max_charge_w;    /* > 0 */
  int64_t max_discharge_w; /* > 0 */
  uint32_t eta_charge_ppm, eta_discharge_ppm; /* (0, 10^6]; round trip = product */
  uint32_t soc_min_ppm, soc_max_ppm;          /* 0 <= min < max <= 10^6 */
  uint32_t soc_initial_ppm;                   /* within [min, max] */
  uint64_t min_spread;     /* price-responsive: base units per kWh */
} pg_battery_params;
/* 10 kWh, 5 kW both ways, 95 % each way (90.25 % round trip), SoC 10..95 %,
 * start at 50 %, min spread 0. */
void pg_battery_params_default(pg_battery_params *p);

typedef struct pg_ev_session {
  int64_t arrive_ms, depart_ms; /* arrive < depart; sessions sorted, not overlapping */
  int64_t need_wh;              /* energy the car wants by departure, >= 0 */
} pg_ev_session;

typedef struct pg_ev_params {
  int64_t max_w;       /* > 0 (11 kW) */
  int64_t min_w;       /* 0..max_w: a charger that runs runs at least this */
  uint32_t eta_ppm;    /* charger efficiency (0, 10^6] */
  const pg_ev_session *sessions; /* copied at init */
  size_t n_sessions;   /* <= PG_ASSET_MAX_SESSIONS */
} pg_ev_params;
void pg_ev_params_default(pg_ev_params *p); /* 11 kW, min 1.4 kW, 95 %, no sessions */

typedef struct pg_heat_pump_params {
  int64_t max_w;          /* electrical, > 0 */
  int64_t store_wh;       /* thermal store capacity, Wh_th > 0 */
  uint32_t band_min_ppm, band_max_ppm; /* comfort band of the store, min < max */
  uint32_t store_initial_ppm;
  uint32_t loss_ppm_per_hour; /* standing loss of the store's content */
  double cop_a, cop_b;    /* COP(T) = clamp(cop_a + cop_b * T_out, 1, 8) */
} pg_heat_pump_params;
/* 3 kW, 12 kWh_th store, band 30..90 %, start 60 %, 0.5 %/h, COP 3.2 + 0.08 T. */
void pg_heat_pump_params_default(pg_heat_pump_params *p);
double pg_heat_pump_cop(const pg_heat_pump_params *p, double t_out_c);

/* Price thresholds for PRICE_RESPONSIVE from the utility prices around the
 * community's (lambda_s <= lambda_b, base units per kWh): charge at or below
 * lambda_s + (lambda_b - lambda_s) / 3, discharge at or above lambda_b -
 * (lambda_b - lambda_s) / 3. */
void pg_asset_thresholds(uint64_t import_price, uint64_t export_price, uint64_t *charge_below,
                         uint64_t *discharge_above);

typedef struct pg_asset {
  pg_asset_kind kind;
  pg_asset_strategy strategy;
  uint64_t charge_below, discharge_above; /* PRICE_RESPONSIVE */
  union {
    pg_battery_params battery;
    pg_ev_params ev;
    pg_heat_pump_params hp;
  } p;
  /* state */
  int64_t stored_wh;    /* battery: energy content; heat pump: store content (Wh_th) */
  size_t next_session;  /* EV: the first session not yet departed (n_sessions: none) */
  int64_t session_left_wh; /* EV: its need not yet delivered into the car */
  pg_ev_session *sessions; /* EV: owned copy */
} pg_asset;

PG_NODISCARD int pg_asset_battery_init(pg_asset *a, const pg_battery_params *p,
                                       pg_asset_strategy s, pg_diag *d);
PG_NODISCARD int pg_asset_ev_init(pg_asset *a, const pg_ev_params *p, pg_asset_strategy s,
                                  pg_diag *d);
PG_NODISCARD int pg_asset_heat_pump_init(pg_asset *a, const pg_heat_pump_params *p,
                                         pg_asset_strategy s, pg_diag *d);
void pg_asset_free(pg_asset *a); /* the EV's sessions; a stays zeroed */

typedef struct pg_asset_in {
  int64_t start_ms, slot_ms;      /* the slot */
  int64_t site_net_wh;            /* behind the meter, before this asset: load - own generation */
  int64_t community_surplus_wh;   /* >= 0: what the community would export (SURPLUS_FOLLOWING) */
  uint64_t price_per_kwh;         /* the slot's expected price (PRICE_RESPONSIVE) */
  double t_out_c;                 /* heat pump: outdoor temperature */
  int64_t heat_demand_wh;         /* heat pump: the slot's heat demand, Wh_th >= 0 */
} pg_asset_in;

typedef struct pg_asset_out {
  int64_t charge_wh;     /* electricity taken at the meter point (EV, heat pump: consumption) */
  int64_t discharge_wh;  /* electricity delivered at the meter point (battery only) */
  int64_t loss_wh;       /* electricity lost (battery, EV) */
  int64_t delivered_wh;  /* EV: into the car */
  int64_t heat_wh, heat_loss_wh, demand_met_wh; /* heat pump, Wh_th */
  int64_t unmet_wh;      /* heat pump: demand not met (Wh_th); EV: need not met at departure */
  int64_t stored_wh;     /* state after the slot (EV: delivered into the plugged car) */
  uint32_t soc_ppm;      /* battery / heat store fill after the slot; EV: share of the need */
} pg_asset_out;

PG_NODISCARD int pg_asset_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out,
                               pg_diag *d);
/* The asset's net at its meter point this slot: charge - discharge (> 0 = it
 * consumed). */
static inline int64_t pg_asset_net_wh(const pg_asset_out *o) {
  return o->charge_wh - o->discharge_wh;
}

#endif
