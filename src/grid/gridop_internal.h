/* gridop_internal.h — the grid operator's state, shared by the files of
 * its step; private to src/grid, not a public contract.
 *   gridop.c         open and close, reading the channels, settling a slot,
 *                    the bills and the record, the step itself
 *   incoming.c       the consumers' payments: the scan of the grid's address
 *                    and the lookup of open bills by reference
 *   payouts.c        payout batches to producers, the dust allowance, sweeps
 *   gridop_status.c  the status API, metrics and per-member series
 * Each function runs on the grid's step thread except those of
 * gridop_status.c, which read status_db under status_mu. */
#ifndef P2PGRID_GRID_GRIDOP_INTERNAL_H
#define P2PGRID_GRID_GRIDOP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "grid_internal.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/wallet.h"

/* The index prefix of the grid's payout transfers ("p2pgrid:payout:"). */
#define PAYOUT_PREFIX PG_REF_PREFIX "payout:"

struct pg_gridop {
  pg_entity e;
  pg_registry reg;
  pg_gridop_opts o;
  uint64_t grace_ms;
  pg_wallet *wallet;
  uint8_t address[32];
  char address_bech32[PG_BECH32_MAX_LEN + 1];
  uint64_t next_payout_ms, next_dust_ms;
  pg_poll pay_poll;      /* the scan of our address (incoming.c) */
  pg_poll batch_poll;    /* looks at sent payout batches (payouts.c) */
  uint64_t last_scan_ms; /* when it last ran (with scanned) */
  bool scanned;
  int64_t bill_cursor; /* rowid of the last open bill looked up (round robin) */
  uint64_t next_ref_check_ms;
  bool dust_ok;
  uint8_t ref_key[32];  /* of the wallet seed: bill and payout references (resume.c) */
  bool batches_checked; /* the next batch id's index looked up once since start */
  sqlite3 *status_db;
  pthread_mutex_t status_mu;
};

/* The consumers' payments (incoming.c). Every 500 ms: the unspent outputs
 * on the grid's address not booked yet, looked up with the messages that
 * made them and booked in one transaction (a bill's payment by its
 * transfer's reference, else ours or unknown). Every 5 s: the next open
 * bills (round robin) looked up by reference, for a payment the grid's
 * wallet spent before the scan saw it. A node that fails is counted
 * (node_failures) and asked again later. */
PG_NODISCARD int pg_gridop_check_incoming(pg_gridop *g, pg_diag *d);

/* Before the grid's wallet spends from its address (a payout, a sweep, the
 * dust allowance): the scan again unless it ran in the last 500 ms, so a
 * payment is booked from the ledger before it can be spent (incoming.c). */
PG_NODISCARD int pg_gridop_scan_before_spend(pg_gridop *g, pg_diag *d);

/* Payout batches (payouts.c): follows sent batches (when batch_poll is
 * due), sends unsent ones (looked up under their reference first: never
 * twice), then makes and sends the next batch of what producers are owed. */
PG_NODISCARD int pg_gridop_payouts(pg_gridop *g, pg_diag *d);

/* The dust allowance on the receive address and the sweeps that keep the
 * address short (payouts.c). Failures are counted (dust_failures), never
 * returned. */
PG_NODISCARD int pg_gridop_dust_care(pg_gridop *g, pg_diag *d);

/* What may still be paid out, read on db (the step's connection or
 * status_db): the payments received plus the float, less what batches
 * already carry. */
PG_NODISCARD int pg_gridop_payout_budget(pg_gridop *g, sqlite3 *db, int64_t *budget, pg_diag *d);

#endif
