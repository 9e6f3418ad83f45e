/* market_int.h — internal to src/market: exact integer helpers shared by
 * market.c (the trading mechanisms) and sharing.c (the allocation keys).
 * Not installed; no other module includes it. */
#ifndef P2PGRID_MARKET_INT_H
#define P2PGRID_MARKET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/market.h"

__extension__ typedef unsigned __int128 u128;

static inline uint64_t pg_div_floor(u128 n, u128 d) { return (uint64_t)(n / d); }
static inline uint64_t pg_div_ceil(u128 n, u128 d) { return (uint64_t)(n / d + (n % d != 0)); }

typedef struct pg_lr_item {
  uint64_t rem; /* every denominator is below 2^63 (limits in market.h) */
  size_t idx;
} pg_lr_item;

/* per-settlement scratch, sized for the larger side (num and it: n entries) */
typedef struct pg_lr_scratch {
  u128 *num;
  pg_lr_item *it;
} pg_lr_scratch;

/* out[i] = floor(num[i]/den) or that + 1, summing to target, the +1s going
 * to the largest remainders num[i] mod den (ties: lower index). Requires
 * sum floor <= target <= sum ceil (PG_ERR_STATE otherwise: a caller bug). */
PG_NODISCARD int pg_lr_round(pg_lr_scratch *sc, const u128 *num, size_t n, u128 den,
                             uint64_t target, int64_t *out);
/* Splits target over weights pro rata (exact shares target*w_i/W) by largest
 * remainder. W = 0 gives zeros (target must then be 0). sc->num is scratch. */
PG_NODISCARD int pg_lr_split(pg_lr_scratch *sc, uint64_t target, const int64_t *w, size_t n,
                             int64_t W, int64_t *out);

/* The grid's fees (market.h FEES) into r->consumers[i].fee: fee_per_kwh on
 * the community energy cm (sum r->matched_wh), fee_bp of the rounded energy
 * charges (.amount, sum ctot); each total rounded down and split by largest
 * remainder. w and tmp are n_consumers scratch entries. */
PG_NODISCARD int pg_market_fees(pg_lr_scratch *sc, const pg_market_slot *s, pg_market_result *r,
                                const int64_t *cm, int64_t ctot, int64_t *w, int64_t *tmp);

/* Settles a sharing mechanism (sharing.c); called by pg_market_settle after
 * the common checks, with S and D the slot totals. Same contract. */
PG_NODISCARD int pg_market_share_settle(const pg_market_slot *s, pg_market_mech mech, int64_t S,
                                        int64_t D, pg_market_result *out, pg_diag *d);

#endif
