/* report_model.h — the simulation report's data, as loaded from the run's
 * files (src/sim/report*.c only). */
#ifndef P2PGRID_SIM_REPORT_MODEL_H
#define P2PGRID_SIM_REPORT_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/base/money.h"
#include "p2pgrid/profile/profile.h"
#include "p2pgrid/base/resource.h"
#include "p2pgrid/sim/report.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/base/decimal.h"

#define RPT_MAX_POINTS 400     /* buckets per time chart at most */
#define RPT_KEEP_TRANSFERS 50  /* rows of the transfers table */
#define RPT_MAX_LINES 20       /* balance lines */
#define RPT_MAX_BARS 40        /* participants in the bills chart */

typedef struct rpt_slot {
  int64_t slot, t; /* t: Unix ms */
  int64_t supply, demand, community, imp, exp;
  double buy, sell; /* NaN: no community price */
  int64_t billed, revenues, fees, grid;
} rpt_slot;

typedef struct rpt_flex { /* flex_slots.csv */
  int64_t slot, soc_ppm, charged, discharged;
} rpt_flex;

typedef struct rpt_part {
  char *id, *name, *kind;
  bool producer;
  int64_t energy, community, amount, baseline, savings;
  int64_t outside; /* optional column outside_wh (0 when absent) */
} rpt_part;

typedef struct rpt_balance {
  char *id;
  double *v; /* per bucket; NaN before the first known value */
} rpt_balance;

typedef struct rpt_transfer {
  int64_t slot, amount;
  char *s[5]; /* time, from, to, reference, message_id */
} rpt_transfer;

typedef enum { RPT_BUCKET_SLOT, RPT_BUCKET_SLOTS, RPT_BUCKET_DAYS } rpt_bucket_kind;

typedef struct rpt_model {
  json_t *summary;
  pg_money money;   /* summary "moneyFormat" (default: base units) */
  pg_tz tz;         /* summary "timeZone" (default: UTC) */
  pg_resource res;  /* summary "resource" (default: electricity) */
  char tz_name[64];
  rpt_slot *slots;
  size_t nslots;
  rpt_part *parts;
  size_t nparts;
  rpt_transfer *transfers;
  size_t ntransfers_kept;
  uint64_t ntransfers;
  int64_t transfer_total;
  /* buckets: bucket b holds slots [b*bucket_len, (b+1)*bucket_len) */
  rpt_bucket_kind bucket_kind;
  size_t bucket_len, bucket_days, nbuckets;
  size_t *bucket_of; /* per slot */
  rpt_flex *flex; /* NULL or one per slot */
  rpt_balance *bal;
  size_t nbal, bal_cap;
  size_t *bal_hash, bal_hcap;
} rpt_model;

PG_NODISCARD int rpt_model_load(rpt_model *m, const pg_sim_report_files *f, pg_diag *d);
void rpt_model_free(rpt_model *m);
bool rpt_sum_num(const rpt_model *m, const char *path, double *out);
const char *rpt_sum_str(const rpt_model *m, const char *path);
/* An integer (exact for JSON integers; a JSON real is rounded). */
bool rpt_sum_int(const rpt_model *m, const char *path, int64_t *out);

#endif
