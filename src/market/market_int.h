/* market_int.h — internal to src/market: exact integer helpers shared by
 * market.c (the trading mechanisms) and sharing.c (the allocation keys).
 * Not installed; no other module includes it. */
#ifndef P2PGRID_MARKET_INT_H
#define P2PGRID_MARKET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/market/market.h"

__extension__ typedef unsigned __int128 u128;

static inline uint64_t pg_div_floor(u128 n, u128 d) { return (uint64_t)(n / d); }
static inline uint64_t pg_div_ceil(u128 n, u128 d) { return (uint64_t)(n / d + (n % d != 0)); }

/* Division by an invariant 64-bit divisor d >= 1 through a multiply and
 * shifts (Granlund and Montgomery 1994, "Division by invariant integers
 * using multiplication", round-up variant): l = ceil(log2 d),
 * m = floor(2^64 (2^l - d) / d) + 1, q = (t + ((n - t) >> min(l,1))) >>
 * max(l-1,0) with t = (m n) >> 64, exact for every 64-bit n. */
typedef struct pg_divu {
  uint64_t d, m;
  unsigned s1, s2;
} pg_divu;

static inline pg_divu pg_divu_make(uint64_t d) {
  unsigned l = d <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(d - 1);
  pg_divu v;
  v.d = d;
  v.m = (uint64_t)(((((u128)1 << l) - d) << 64) / d + 1);
  v.s1 = l < 1 ? l : 1;
  v.s2 = l > 0 ? l - 1 : 0;
  return v;
}

static inline uint64_t pg_divu_q(const pg_divu *v, uint64_t n) {
  uint64_t t = (uint64_t)(((u128)v->m * n) >> 64);
  return (t + ((n - t) >> v->s1)) >> v->s2;
}

/* per-settlement scratch of the largest-remainder rounding, n entries each
 * (n the larger side) */
typedef struct pg_lr_scratch {
  uint64_t *rem; /* remainders (every denominator is below 2^63, limits in market.h) */
  uint32_t *idx; /* candidates of the selection */
} pg_lr_scratch;

/* out[i] = floor(num[i]/den) or that + 1, summing to target, the +1s going
 * to the largest remainders num[i] mod den (ties: lower index). Requires
 * sum floor <= target <= sum ceil (PG_ERR_STATE otherwise: a caller bug). */
PG_NODISCARD int pg_lr_round(pg_lr_scratch *sc, const u128 *num, size_t n, u128 den,
                             uint64_t target, int64_t *out);
/* The same over the numerators num[i] = a*x[i] + b*(y[i] - x[i]) (y NULL:
 * a*x[i]; a, b < 2^63 and 0 <= x[i] <= y[i] <= PG_MARKET_MAX_WH), computed
 * on the fly; den < 2^63. target may be PG_LR_FLOOR or PG_LR_CEIL: the sum of the
 * numerators over den rounded down or up. */
#define PG_LR_FLOOR UINT64_MAX
#define PG_LR_CEIL (UINT64_MAX - 1)
PG_NODISCARD int pg_lr_lin(pg_lr_scratch *sc, uint64_t a, const int64_t *x, uint64_t b,
                           const int64_t *y, size_t n, uint64_t den, uint64_t target,
                           int64_t *out);
/* Splits target over weights pro rata (exact shares target*w_i/W) by largest
 * remainder. W = 0 gives zeros (target must then be 0). */
PG_NODISCARD int pg_lr_split(pg_lr_scratch *sc, uint64_t target, const int64_t *w, size_t n,
                             int64_t W, int64_t *out);

/* The grid's fees (market.h FEES) into fee[0..nc): fee_per_kwh on the
 * community energy cm (sum matched), fee_bp of the rounded energy charges
 * amt (sum ctot); each total rounded down and split by largest remainder.
 * tmp: nc scratch entries. */
PG_NODISCARD int pg_market_fees(pg_lr_scratch *sc, const pg_market_slot *s, size_t nc,
                                int64_t matched, const int64_t *cm, const int64_t *amt,
                                int64_t ctot, int64_t *fee, int64_t *tmp);

/* The settlement workspace (market.h). Arrays hold cap_c (consumer) or cap_p
 * (producer) entries, or cap_n = max(cap_c, cap_p) for the shared scratch;
 * every capacity is >= 1 once reserved. Nothing is zeroed between slots:
 * every settlement writes what it reads. */
struct pg_market_ws {
  size_t cap_c, cap_p, cap_n;
  pg_market_party *rc, *rp;       /* the result arrays lent to the caller */
  int64_t *cw, *cm, *camt, *cfee; /* per consumer: usage, community Wh, charge, fee */
  int64_t *pw, *pm, *pamt;        /* per producer: output, community Wh, revenue */
  int64_t *t1, *t2;               /* cap_n scratch */
  u128 *num, *pnum;               /* numerators: cap_n, cap_p (pay-as-bid, sharing) */
  uint32_t *ckey, *pkey;          /* effective bid / ask (auctions) */
  uint64_t *bk, *ak, *sk;         /* books (price key << 32 | index): cap_c, cap_p, cap_n */
  uint32_t *hist;                 /* hist_bits-bit digit counters of the radix sort */
  unsigned hist_bits;             /* 16 for large slots, 11 below PG_WS_WIDE_N members */
  pg_lr_scratch sc;
  void *block; /* one allocation holding every array but rc and rp */
};
#define PG_WS_WIDE_N ((size_t)1 << 14)

/* Grows ws to hold nc consumers and np producers (contents not kept). */
PG_NODISCARD int pg_market_ws_grow(pg_market_ws *ws, size_t nc, size_t np);
/* Releases every array (the struct itself stays). */
void pg_market_ws_release(pg_market_ws *ws);

/* The auctions' books matched (book.c): fills ws->ckey, ws->pkey (the
 * effective bid and ask of every member), ws->cm, ws->pm (community Wh, 0
 * for the unmatched) and, for pay-as-bid, ws->pnum (2 x the sum of bid x Wh
 * over each producer's matches; 0 for the unmatched). Needs ws->cw, ws->pw. */
typedef struct pg_book_match {
  int64_t matched;
  uint64_t last_bid, last_ask; /* of the last match; 0 without one */
  u128 volume_bid;             /* sum of bid x Wh over the matches */
} pg_book_match;
void pg_market_match(pg_market_ws *ws, const pg_market_slot *s, bool pay_as_bid,
                     pg_book_match *out);

/* Settles a sharing mechanism (sharing.c) into ws; called by
 * pg_market_ws_settle after the common checks with *r holding the mech, the
 * counts, the slot totals and the workspace's party arrays. Same errors. */
PG_NODISCARD int pg_market_share_settle(pg_market_ws *ws, const pg_market_slot *s,
                                        pg_market_result *r, pg_diag *d);

/* An amount (pg_money_parse_amount) of at most max under [sec] key: *out
 * and *has (may be NULL) set when present; untouched when missing; the
 * getter's "file:line: [sec] key: 'v' is not an amount ..." otherwise
 * (market_config.c; also the [tariff] amounts). */
typedef struct pg_config pg_config;
PG_NODISCARD int pg_market_cfg_amount(pg_config *c, const char *sec, const char *key, uint64_t max,
                                      bool *has, uint64_t *out, pg_diag *d);

#endif
