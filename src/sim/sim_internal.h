/* Internal to src/sim (not report*.c). */
#ifndef P2PGRID_SIM_INTERNAL_H
#define P2PGRID_SIM_INTERNAL_H

#include <stdio.h>

#include "p2pgrid/market.h"
#include "p2pgrid/meter.h"
#include "p2pgrid/sim.h"

typedef struct pg_sim_out pg_sim_out;

typedef struct pg_sim_acc {
  const pg_scenario *s;
  pg_sim_out *out; /* party_slots.csv rows of every settled slot (NULL = none) */
  bool *missing;   /* NULL or per party (producers, then consumers): no reading this slot */
  pg_sim_result *r;
  pg_market_producer *mp; /* id order */
  pg_market_consumer *mc;
  pg_market_kpis k;
  bool kpis_ok;
} pg_sim_acc;

PG_NODISCARD int pg_sim_acc_init(pg_sim_acc *a, const pg_scenario *s, pg_sim_result *r, pg_diag *d);
PG_NODISCARD int pg_sim_acc_settle(pg_sim_acc *a, size_t idx, pg_market_result *res, pg_diag *d);
void pg_sim_acc_finish(pg_sim_acc *a);
void pg_sim_acc_free(pg_sim_acc *a);

PG_NODISCARD int pg_sim_source_meter(const pg_scenario *s, size_t i, pg_meter **out, pg_diag *d);
PG_NODISCARD int pg_sim_household_meter(const pg_scenario *s, size_t i, pg_meter **out, pg_diag *d);
const char *pg_sim_producer_kind(const pg_scenario *s, size_t j);
size_t pg_sim_balance_every(const pg_scenario *s);
PG_NODISCARD int pg_sim_mkdir_p(const char *path, pg_diag *d);

/* streamed outputs: transfers.csv, balances.csv and party_slots.csv (each
 * participant's energy and settlement per slot; written to *.tmp, renamed on
 * close; party_slots NULL when the run is too large for it) */
struct pg_sim_out {
  char dir[1024];
  FILE *transfers, *balances, *party_slots;
  uint64_t slot_ms;
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

PG_NODISCARD int pg_sim_run_full(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *r,
                                 pg_sim_out *out, pg_diag *d);

#endif
