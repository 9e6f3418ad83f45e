/* Internal to src/sim: the flexible assets of asset.h behind an opaque
 * handle, so the simulator's bookkeeping (flex.c) never sees the models'
 * state. */
#ifndef P2PGRID_SIM_FLEX_DEV_H
#define P2PGRID_SIM_FLEX_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/asset/asset.h"
#include "p2pgrid/base/err.h"

typedef struct pg_sim_dev pg_sim_dev;
enum { PG_SIM_DEV_BATTERY = 0, PG_SIM_DEV_EV, PG_SIM_DEV_HEAT_PUMP };

/* One slot: the inputs of pg_asset_in, the outputs of pg_asset_out the
 * simulator counts. */
typedef struct pg_sim_dev_io {
  int64_t start_ms, slot_ms, site_net_wh, community_surplus_wh, heat_demand_wh;
  uint64_t price_per_kwh;
  double t_out_c;
  int64_t charge_wh, discharge_wh, loss_wh, unmet_wh; /* out */
  uint32_t soc_ppm;                                  /* out */
} pg_sim_dev_io;

#define PG_SIM_EV_MAX_SESSIONS 4096 /* = PG_ASSET_MAX_SESSIONS */
typedef struct pg_sim_ev_session {
  int64_t arrive_ms, depart_ms, need_wh;
} pg_sim_ev_session;

/* thresholds from pg_asset_thresholds(import, export). */
PG_NODISCARD int pg_sim_dev_battery_new(int64_t capacity_wh, int64_t power_w, pg_asset_strategy strategy,
                                        uint64_t import_price, uint64_t export_price,
                                        pg_sim_dev **out, pg_diag *d);
PG_NODISCARD int pg_sim_dev_ev_new(int64_t max_w, const pg_sim_ev_session *v, size_t n,
                                   pg_asset_strategy strategy, uint64_t import_price, uint64_t export_price,
                                   pg_sim_dev **out, pg_diag *d);
PG_NODISCARD int pg_sim_dev_heat_pump_new(pg_asset_strategy strategy, uint64_t import_price,
                                          uint64_t export_price, pg_sim_dev **out, pg_diag *d);
int pg_sim_dev_kind(const pg_sim_dev *x);
PG_NODISCARD int pg_sim_dev_step(pg_sim_dev *x, pg_sim_dev_io *io, pg_diag *d);
void pg_sim_dev_free(pg_sim_dev *x); /* NULL is fine */

#endif
