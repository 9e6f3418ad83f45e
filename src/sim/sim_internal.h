/* Internal to src/sim (not report*.c). */
#ifndef P2PGRID_SIM_INTERNAL_H
#define P2PGRID_SIM_INTERNAL_H

#include <stdio.h>

#include "p2pgrid/market/market.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/sim/sim.h"

typedef struct pg_sim_out pg_sim_out;

/* node_ini.c: writes node_dir/genesis.txt (g[0..n), one "hex amount" a
 * line) and node_dir/node.ini (data_dir ".", min_pow_score, the
 * coordinator's public key pk, genesis_file "genesis.txt"), so that
 * `p2pgrid node --config node.ini` run in node_dir serves a full-mode
 * run's Tangle. */
struct pg_genesis_output;
PG_NODISCARD int pg_sim_write_node_ini(const char *node_dir, const uint8_t pk[32],
                                       const struct pg_genesis_output *g, size_t n,
                                       uint32_t min_pow_score, pg_diag *d);

typedef struct pg_sim_acc {
  const pg_scenario *s;
  pg_sim_out *out; /* party_slots.csv rows of every settled slot (NULL = none) */
  bool *missing;   /* NULL or per party (producers, then consumers): no reading this slot */
  pg_sim_result *r;
  pg_market_producer *mp; /* id order */
  pg_market_consumer *mc;
  pg_market_kpis k;
  bool kpis_ok;
  pg_market_ws *ws; /* the settlement's scratch and results, kept from slot to slot */
} pg_sim_acc;

PG_NODISCARD int pg_sim_acc_init(pg_sim_acc *a, const pg_scenario *s, pg_sim_result *r, pg_diag *d);
/* Settles slot idx; *res's party arrays belong to a's workspace and stay
 * valid until the next settle or pg_sim_acc_free (never pg_market_result_free). */
PG_NODISCARD int pg_sim_acc_settle(pg_sim_acc *a, size_t idx, pg_market_result *res, pg_diag *d);
void pg_sim_acc_finish(pg_sim_acc *a);
void pg_sim_acc_free(pg_sim_acc *a);

PG_NODISCARD int pg_sim_source_meter(const pg_scenario *s, size_t i, pg_meter **out, pg_diag *d);
PG_NODISCARD int pg_sim_household_meter(const pg_scenario *s, size_t i, pg_meter **out, pg_diag *d);
const char *pg_sim_producer_kind(const pg_scenario *s, size_t j);
size_t pg_sim_balance_every(const pg_scenario *s);
/* Threads a run uses for nmeters meters (pg_sim_opts.threads, 0 = the cores). */
size_t pg_sim_threads(const pg_sim_opts *o, size_t nmeters);
/* Meter energies market-only holds at once (meters x slots of a chunk;
 * 8,000,000). Tests set it small to cross chunk boundaries; the results do
 * not depend on it. */
extern size_t pg_sim_chunk_entries;
/* Whether pg_sim_opts.stop has been set (SIGINT/SIGTERM). */
bool pg_sim_stopped(const pg_sim_opts *o);
/* The run's temporary output directory beside out_dir ("OUT.partial-PID",
 * created with out_dir's missing parents) into work (cap bytes). PG_ERR_IO
 * naming the directory ("... exists and is not a directory" for an out_dir
 * that is a file). */
PG_NODISCARD int pg_sim_work_dir(const char *out_dir, char *work, size_t cap, pg_diag *d);
/* Moves every file and directory of work into out_dir (a file replaces the
 * old one in one rename; a directory such as state/ is swapped), removes
 * the outputs of an earlier run this one did not write, then work. When
 * out_dir does not exist, work becomes out_dir in one rename. */
PG_NODISCARD int pg_sim_publish(const char *work, const char *out_dir, pg_diag *d);

/* streamed outputs: transfers.csv, balances.csv and party_slots.csv (each
 * participant's energy and settlement per slot; written to *.tmp, renamed on
 * close; party_slots NULL when the run is too large for it) */
struct pg_sim_out {
  char dir[1024];
  FILE *transfers, *balances, *party_slots;
  uint64_t slot_ms;
  bool iso_ok;       /* iso holds slot iso_slot's time (party_slots.csv) */
  uint64_t iso_slot;
  char iso[32];
};
/* Rows of party_slots.csv a run may have (parties x slots) before it is left out. */
#define PG_SIM_PARTY_SLOT_ROWS_MAX 5000000u
PG_NODISCARD int pg_sim_out_open(pg_sim_out *o, const char *dir, uint64_t slot_ms,
                                 bool party_slots, pg_diag *d);
void pg_sim_out_balance(pg_sim_out *o, uint64_t slot, const char *id, int64_t balance);
/* One participant's settled slot (party_slots.csv; nothing when o or its
 * file is NULL). */
void pg_sim_out_party_slot(pg_sim_out *o, uint64_t slot, const char *id, bool producer,
                           int64_t energy_wh, const pg_market_party *p);
void pg_sim_out_transfer(pg_sim_out *o, uint64_t slot, uint64_t time_ms, const char *from,
                         const char *to, int64_t amount, const char *reference,
                         const char *message_id);
/* ok: rename into place; else remove the temporaries */
int pg_sim_out_close(pg_sim_out *o, bool ok, pg_diag *d);

/* ---- flexible assets (flex.c) ---- */
typedef struct pg_sim_flex pg_sim_flex;
/* A participant's assets over the run (a community battery: at its consumer
 * side's index). load: its meter before the assets. */
typedef struct pg_sim_flex_tot {
  int64_t load_wh, pv_wh, charged_wh, discharged_wh, loss_wh, ev_wh, heat_pump_wh;
  int64_t exported_wh; /* surplus beyond the house, left the community */
  int64_t unmet_heat_wh, unmet_ev_wh; /* heat demand not met; EV need not met at departure */
  int64_t cb_charged_wh, cb_discharged_wh; /* pg_sim_flex_sum: the community batteries' part */
} pg_sim_flex_tot;
typedef struct pg_sim_flex_slot {
  int64_t pv_wh, charged_wh, discharged_wh, ev_wh, heat_pump_wh, exported_wh;
  uint64_t soc_sum_ppm; /* over the batteries stepped */
  uint32_t batteries;
} pg_sim_flex_slot;
/* *out NULL when the scenario has no assets. */
PG_NODISCARD int pg_sim_flex_new(const pg_scenario *s, pg_sim_flex **out, pg_diag *d);
void pg_sim_flex_free(pg_sim_flex *f);
/* Slot idx: hh_wh in the households' meter energies (a community battery's
 * 0), out their readings; prod_wh the producers' outputs, the community
 * batteries' discharge set. */
PG_NODISCARD int pg_sim_flex_step(pg_sim_flex *f, size_t idx, int64_t *hh_wh, int64_t *prod_wh,
                                  pg_diag *d);
const pg_sim_flex_tot *pg_sim_flex_totals(const pg_sim_flex *f); /* per household index */
const pg_sim_flex_slot *pg_sim_flex_slots(const pg_sim_flex *f);
void pg_sim_flex_sum(const pg_sim_flex *f, pg_sim_flex_tot *sum);
void pg_sim_flex_kpis_of(const pg_sim_result *r, const pg_sim_flex_tot *sum, pg_sim_flex_kpis *k);
/* assets.csv and flex_slots.csv (sim.h OUTPUTS). */
PG_NODISCARD int pg_sim_flex_write(const pg_sim_flex *f, const char *dir, pg_diag *d);
/* Full mode's pre-pass: the households' readings [household][slot] and the
 * community batteries' discharges [producer][slot] (*prod_out; 0 for the
 * other producers; prod_out may be NULL) with the assets stepped as
 * market-only steps them; sum their totals; dir: write assets.csv and
 * flex_slots.csv there (NULL: no files). */
PG_NODISCARD int pg_sim_flex_readings(const pg_scenario *s, const char *dir, int64_t **out,
                                      int64_t **prod_out, pg_sim_flex_tot *sum, pg_diag *d);
/* A meter of fixed per-slot energies (wh borrowed; NULL reads 0). */
PG_NODISCARD int pg_sim_series_meter_new(const int64_t *wh, size_t n, uint64_t start_ms,
                                         uint64_t slot_ms, pg_meter **out, pg_diag *d);
/* The scenario without batteries, EVs and heat pumps (rooftop PV kept): the
 * baseline of the with/without comparison. */
PG_NODISCARD int pg_sim_scenario_without_assets(const pg_scenario *s, pg_scenario *out,
                                                pg_diag *d);

PG_NODISCARD int pg_sim_run_full(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *r,
                                 pg_sim_out *out, pg_diag *d);

#endif
