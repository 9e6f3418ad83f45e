/* The asset.h controllers behind flex_dev.h's handle. */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/asset/asset.h"
#include "flex_dev.h"

struct pg_sim_dev {
  pg_asset a;
};

static int made(pg_sim_dev *x, int rc, uint64_t im, uint64_t ex, pg_sim_dev **out) {
  if (rc) {
    free(x);
    return rc;
  }
  pg_asset_thresholds(im, ex, &x->a.charge_below, &x->a.discharge_above);
  *out = x;
  return PG_OK;
}

int pg_sim_dev_battery_new(int64_t capacity_wh, int64_t power_w, pg_asset_strategy strategy, uint64_t im,
                           uint64_t ex, pg_sim_dev **out, pg_diag *d) {
  pg_sim_dev *x = calloc(1, sizeof *x);
  if (!x) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pg_battery_params p;
  pg_battery_params_default(&p);
  p.capacity_wh = capacity_wh;
  p.max_charge_w = p.max_discharge_w = power_w;
  return made(x, pg_asset_battery_init(&x->a, &p, strategy, d), im, ex, out);
}

int pg_sim_dev_ev_new(int64_t max_w, const pg_sim_ev_session *v, size_t n, pg_asset_strategy strategy,
                      uint64_t im, uint64_t ex, pg_sim_dev **out, pg_diag *d) {
  pg_sim_dev *x = calloc(1, sizeof *x);
  pg_ev_session *s = calloc(n + 1, sizeof *s);
  if (!x || !s) {
    free(x), free(s);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++)
    s[i] = (pg_ev_session){.arrive_ms = v[i].arrive_ms, .depart_ms = v[i].depart_ms,
                           .need_wh = v[i].need_wh};
  pg_ev_params p;
  pg_ev_params_default(&p);
  p.max_w = max_w;
  if (p.min_w > p.max_w) p.min_w = p.max_w;
  p.sessions = s, p.n_sessions = n;
  int rc = pg_asset_ev_init(&x->a, &p, strategy, d);
  free(s);
  return made(x, rc, im, ex, out);
}

int pg_sim_dev_heat_pump_new(pg_asset_strategy strategy, uint64_t im, uint64_t ex, pg_sim_dev **out,
                             pg_diag *d) {
  pg_sim_dev *x = calloc(1, sizeof *x);
  if (!x) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  return made(x, pg_asset_heat_pump_init(&x->a, &p, strategy, d), im, ex, out);
}

int pg_sim_dev_kind(const pg_sim_dev *x) {
  return x->a.kind == PG_ASSET_BATTERY ? PG_SIM_DEV_BATTERY
         : x->a.kind == PG_ASSET_EV    ? PG_SIM_DEV_EV
                                       : PG_SIM_DEV_HEAT_PUMP;
}

int pg_sim_dev_step(pg_sim_dev *x, pg_sim_dev_io *io, pg_diag *d) {
  pg_asset_in in = {.start_ms = io->start_ms, .slot_ms = io->slot_ms,
                    .site_net_wh = io->site_net_wh,
                    .community_surplus_wh = io->community_surplus_wh,
                    .price_per_kwh = io->price_per_kwh, .t_out_c = io->t_out_c,
                    .heat_demand_wh = io->heat_demand_wh};
  pg_asset_out o;
  memset(&o, 0, sizeof o);
  int rc = pg_asset_step(&x->a, &in, &o, d);
  if (rc) return rc;
  io->charge_wh = o.charge_wh, io->discharge_wh = o.discharge_wh, io->loss_wh = o.loss_wh;
  io->unmet_wh = o.unmet_wh, io->soc_ppm = o.soc_ppm;
  return PG_OK;
}

void pg_sim_dev_free(pg_sim_dev *x) {
  if (!x) return;
  pg_asset_free(&x->a);
  free(x);
}

_Static_assert(PG_SIM_EV_MAX_SESSIONS == PG_ASSET_MAX_SESSIONS, "flex_dev.h mirrors asset.h");
