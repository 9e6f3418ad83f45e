/* market.c — settlement of one slot (see include/p2pgrid/market/market.h for the
 * model, the rounding rule and the money identity). */
#include <stdlib.h>
#include <string.h>

#include "market_int.h"

/* ---- 256-bit helpers (only for a few per-slot totals in sdr) ---- */

typedef struct u256 {
  u128 hi, lo;
} u256;

static u256 mul128(u128 a, u128 b) {
  uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
  u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1, p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
  u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
  u256 r;
  r.lo = (u128)(uint64_t)p00 | (mid << 64);
  r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return r;
}

static u256 add256(u256 a, u256 b) {
  u256 r;
  r.lo = a.lo + b.lo;
  r.hi = a.hi + b.hi + (r.lo < a.lo);
  return r;
}

/* floor(n / d) (d > 0, d < 2^127; the quotient must fit 128 bits) and n mod d. */
static u128 div256(u256 n, u128 d, u128 *rem) {
  u128 q = 0, r = 0;
  for (int i = 255; i >= 0; i--) {
    u128 bit = i >= 128 ? (n.hi >> (i - 128)) & 1 : (n.lo >> i) & 1;
    r = (r << 1) | bit;
    if (i < 128) q <<= 1;
    if (r >= d) {
      r -= d;
      if (i < 128) q |= 1;
    }
  }
  if (rem) *rem = r;
  return q;
}

/* ---- names ---- */

static const char *const mech_names[PG_MARKET_NMECH_ALL] = {
    "fixed", "pay-as-clear", "pay-as-bid", "mmr", "sdr",
    "static-key", "dynamic-key", "hierarchical"};

const char *pg_market_mech_name(pg_market_mech m) {
  return (unsigned)m < PG_MARKET_NMECH_ALL ? mech_names[m] : NULL;
}

int pg_market_mech_parse(const char *s, pg_market_mech *out, pg_diag *d) {
  for (int i = 0; i < PG_MARKET_NMECH_ALL; i++)
    if (s && strcmp(s, mech_names[i]) == 0) {
      *out = (pg_market_mech)i;
      return PG_OK;
    }
  return pg_fail(d, PG_ERR_INVALID,
                 "unknown mechanism '%s' (fixed, pay-as-clear, pay-as-bid, mmr, sdr, "
                 "static-key, dynamic-key, hierarchical)",
                 s ? s : "(null)");
}

void pg_market_result_free(pg_market_result *r) {
  if (!r) return;
  free(r->consumers);
  free(r->producers);
  memset(r, 0, sizeof *r);
}

/* ---- validation ---- */

/* The slot's scalars (counts, prices, fees); members are checked by
 * check_members once the workspace has room for them. */
static int check_slot(const pg_market_slot *s, pg_market_mech mech, pg_diag *d) {
  if ((unsigned)mech >= PG_MARKET_NMECH_ALL)
    return pg_fail(d, PG_ERR_INVALID, "unknown mechanism %d", (int)mech);
  if ((s->n_producers && !s->producers) || (s->n_consumers && !s->consumers))
    return pg_fail(d, PG_ERR_INVALID, "participant array missing");
  if (s->n_producers > PG_MARKET_MAX_PARTIES || s->n_consumers > PG_MARKET_MAX_PARTIES)
    return pg_fail(d, PG_ERR_TOO_LARGE, "more than %zu participants on one side",
                   PG_MARKET_MAX_PARTIES);
  const struct {
    const char *name;
    uint64_t v;
  } prices[] = {{"import price", s->import_price},   {"export price", s->export_price},
                {"fee per kWh", s->fee_per_kwh},     {"fixed buy price", s->fixed_buy_price},
                {"fixed sell price", s->fixed_sell_price}};
  for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++)
    if (prices[i].v > PG_MARKET_MAX_PRICE)
      return pg_fail(d, PG_ERR_TOO_LARGE, "%s %llu above %llu per kWh", prices[i].name,
                     (unsigned long long)prices[i].v, (unsigned long long)PG_MARKET_MAX_PRICE);
  if (s->import_price < s->export_price)
    return pg_fail(d, PG_ERR_INVALID, "import price %llu below export price %llu",
                   (unsigned long long)s->import_price, (unsigned long long)s->export_price);
  if (s->fee_bp > 10000)
    return pg_fail(d, PG_ERR_INVALID, "fee of %llu basis points above 100%%",
                   (unsigned long long)s->fee_bp);
  return PG_OK;
}

/* The first member out of the limits, in order, named (the slow path of
 * check_members, which knows one is there). */
static int member_error(const pg_market_slot *s, pg_diag *d) {
  int64_t tot = 0;
  for (size_t i = 0; i < s->n_producers; i++) {
    const pg_market_producer *p = &s->producers[i];
    if (p->output_wh < 0)
      return pg_fail(d, PG_ERR_INVALID, "producer %zu: negative output", i);
    if (p->output_wh > PG_MARKET_MAX_WH)
      return pg_fail(d, PG_ERR_TOO_LARGE, "producer %zu: output above the limit", i);
    if (p->has_ask && p->ask_per_kwh > PG_MARKET_MAX_PRICE)
      return pg_fail(d, PG_ERR_TOO_LARGE, "producer %zu: ask above the limit", i);
    tot += p->output_wh;
    if (tot > PG_MARKET_MAX_WH)
      return pg_fail(d, PG_ERR_TOO_LARGE, "total supply above the limit");
  }
  tot = 0;
  for (size_t i = 0; i < s->n_consumers; i++) {
    const pg_market_consumer *c = &s->consumers[i];
    if (c->usage_wh < 0) return pg_fail(d, PG_ERR_INVALID, "consumer %zu: negative usage", i);
    if (c->usage_wh > PG_MARKET_MAX_WH)
      return pg_fail(d, PG_ERR_TOO_LARGE, "consumer %zu: usage above the limit", i);
    if (c->has_bid && c->bid_per_kwh > PG_MARKET_MAX_PRICE)
      return pg_fail(d, PG_ERR_TOO_LARGE, "consumer %zu: bid above the limit", i);
    tot += c->usage_wh;
    if (tot > PG_MARKET_MAX_WH) return pg_fail(d, PG_ERR_TOO_LARGE, "total demand above the limit");
  }
  return pg_fail(d, PG_ERR_STATE, "member check disagrees"); /* cannot happen */
}

/* Every member's energy and price within the limits; copies the energies to
 * pw and cw and sums them into *S and *D. One branch-free pass (an energy
 * is out of range iff, as unsigned, it is above the limit; the sums cannot
 * overflow: 2^22 members of at most 2^40 Wh); member_error names the first
 * offender. */
static int check_members(const pg_market_slot *s, int64_t *pw, int64_t *cw, int64_t *S,
                         int64_t *D, pg_diag *d) {
  uint64_t bad = 0, tot = 0;
  for (size_t i = 0; i < s->n_producers; i++) {
    const pg_market_producer *p = &s->producers[i];
    uint64_t e = (uint64_t)p->output_wh;
    bad |= (uint64_t)(e > (uint64_t)PG_MARKET_MAX_WH) |
           (uint64_t)(p->has_ask & (p->ask_per_kwh > PG_MARKET_MAX_PRICE));
    tot += e;
    pw[i] = (int64_t)e;
  }
  bad |= tot > (uint64_t)PG_MARKET_MAX_WH;
  *S = (int64_t)tot;
  tot = 0;
  for (size_t i = 0; i < s->n_consumers; i++) {
    const pg_market_consumer *c = &s->consumers[i];
    uint64_t e = (uint64_t)c->usage_wh;
    bad |= (uint64_t)(e > (uint64_t)PG_MARKET_MAX_WH) |
           (uint64_t)(c->has_bid & (c->bid_per_kwh > PG_MARKET_MAX_PRICE));
    tot += e;
    cw[i] = (int64_t)e;
  }
  bad |= tot > (uint64_t)PG_MARKET_MAX_WH;
  *D = (int64_t)tot;
  return bad ? member_error(s, d) : PG_OK;
}

/* ---- the money of one side ---- */

/* How one side's exact amounts are given: numerators a*x + b*(y-x) over den
 * (LIN, y NULL: a*x), a total split pro rata to energy (SPLIT) or numerators
 * in an array (NUM). */
typedef struct money_rule {
  enum { MR_LIN, MR_SPLIT, MR_NUM } kind;
  uint64_t a, b, den, target;
  const int64_t *x, *y;
  const u128 *num;
} money_rule;

static money_rule lin(uint64_t a, const int64_t *x, uint64_t b, const int64_t *y, uint64_t den) {
  return (money_rule){MR_LIN, a, b, den, 0, x, y, NULL};
}

static money_rule split(uint64_t target) {
  return (money_rule){MR_SPLIT, 0, 0, 1, target, NULL, NULL, NULL};
}

/* out[i] = the side's amounts, total rounded up (producers) or down. */
static int side_money(pg_lr_scratch *sc, const money_rule *m, bool up, const int64_t *w,
                      size_t n, int64_t W, int64_t *out) {
  if (m->kind == MR_LIN)
    return pg_lr_lin(sc, m->a, m->x, m->b, m->y, n, m->den, up ? PG_LR_CEIL : PG_LR_FLOOR, out);
  if (m->kind == MR_SPLIT) return pg_lr_split(sc, m->target, w, n, W, out);
  u128 sum = 0;
  for (size_t i = 0; i < n; i++) sum += m->num[i];
  uint64_t target = up ? pg_div_ceil(sum, m->den) : pg_div_floor(sum, m->den);
  return pg_lr_round(sc, m->num, n, m->den, target, out);
}

/* ---- the auctions ---- */

/* Matches the books (ws->cm, ws->pm: community Wh; book.c) and sets the
 * two sides' money rules, in 1/2000 units. Proof of the guarantees (header): books are
 * sorted, so a matched consumer's effective bid >= the last matched bid >=
 * p* >= the last matched ask >= any matched producer's effective ask; in
 * pay-as-bid a match is priced at a bid >= the producer's ask. Utility
 * energy is priced lambda_b (consumers) / lambda_s (producers). Effective
 * bids are <= lambda_b and <= the bid, effective asks >= lambda_s and >= the
 * ask, so community energy never costs a consumer more than its bid or earns
 * a producer less than its ask, and charges <= baseline, revenues >=
 * baseline. */
static void auction(pg_market_ws *ws, const pg_market_slot *s, bool pay_as_bid,
                    pg_market_result *r, money_rule *cr, money_rule *pr) {
  uint64_t lb = s->import_price, ls = s->export_price;
  pg_book_match bm;
  pg_market_match(ws, s, pay_as_bid, &bm);
  int64_t *cm = ws->cm, *pm = ws->pm, m = bm.matched;
  uint64_t last_bid = bm.last_bid, last_ask = bm.last_ask;
  u128 volume_bid = bm.volume_bid;
  r->matched_wh = m;
  r->has_price = m > 0;
  if (!pay_as_bid) {
    uint64_t p2 = last_bid + last_ask; /* 2 p* */
    *cr = lin(p2, cm, 2 * lb, ws->cw, 2000);
    *pr = lin(p2, pm, 2 * ls, ws->pw, 2000);
    r->buy_price = r->sell_price = (double)p2 / 2.0;
    return;
  }
  /* a consumer's matches are all priced at its own effective bid */
  for (size_t i = 0; i < s->n_consumers; i++)
    ws->num[i] = (u128)2 * ws->ckey[i] * (uint64_t)cm[i] +
                 (u128)2 * lb * (uint64_t)(ws->cw[i] - cm[i]);
  for (size_t j = 0; j < s->n_producers; j++)
    ws->pnum[j] += (u128)2 * ls * (uint64_t)(ws->pw[j] - pm[j]);
  *cr = (money_rule){MR_NUM, 0, 0, 2000, 0, NULL, NULL, ws->num};
  *pr = (money_rule){MR_NUM, 0, 0, 2000, 0, NULL, NULL, ws->pnum};
  r->buy_price = r->sell_price = m ? (double)volume_bid / (double)m : 0.0;
}

/* ---- mmr and sdr ---- */

static void mmr(pg_market_ws *ws, const pg_market_slot *s, int64_t S, int64_t D,
                pg_market_result *r, money_rule *cr, money_rule *pr) {
  uint64_t lb = s->import_price, ls = s->export_price, pm2 = lb + ls; /* 2 P_mid */
  if (S >= D) {
    /* consumers pay P_mid <= lambda_b. Producers share
     * T = (2P_mid*D + 2ls(S-D))/2000 >= 2ls*S/2000 (as P_mid >= ls): each
     * share T*o_j/S >= ls*o_j/1000, the baseline. */
    *cr = lin(pm2, ws->cw, 0, NULL, 2000);
    u128 tn = (u128)pm2 * (uint64_t)D + (u128)2 * ls * (uint64_t)(S - D);
    *pr = split(pg_div_ceil(tn, 2000));
    r->buy_price = (double)pm2 / 2.0;
    r->sell_price = S ? (double)tn / 2.0 / (double)S : (double)pm2 / 2.0;
  } else {
    /* producers earn P_mid >= lambda_s; consumers share
     * T = (2P_mid*S + 2lb(D-S))/2000 <= 2lb*D/2000: each share <= lb*u_i/1000. */
    *pr = lin(pm2, ws->pw, 0, NULL, 2000);
    u128 tn = (u128)pm2 * (uint64_t)S + (u128)2 * lb * (uint64_t)(D - S);
    *cr = split(pg_div_floor(tn, 2000));
    r->sell_price = (double)pm2 / 2.0;
    r->buy_price = (double)tn / 2.0 / (double)D;
  }
}

static void sdr(pg_market_ws *ws, const pg_market_slot *s, int64_t S, int64_t D,
                pg_market_result *r, money_rule *cr, money_rule *pr) {
  uint64_t lb = s->import_price, ls = s->export_price;
  if (D == 0 || S > D) {
    /* SDR > 1 (D = 0 counts as SDR infinite): both prices lambda_s, which is
     * <= lambda_b for consumers and the producers' baseline exactly. */
    *cr = lin(ls, ws->cw, 0, NULL, 1000);
    *pr = lin(ls, ws->pw, 0, NULL, 1000);
    r->buy_price = r->sell_price = (double)ls;
    return;
  }
  if (S == 0) {
    /* SDR = 0: P_buy = lambda_b; no producer output to pay. */
    *cr = lin(lb, ws->cw, 0, NULL, 1000);
    *pr = lin(0, ws->pw, 0, NULL, 1000);
    r->buy_price = r->sell_price = (double)lb;
    return;
  }
  /* 0 < SDR <= 1. With Q = (lb-ls)S + ls*D: P_sell = lb*ls*D/Q, so
   * producers' total P = lb*ls*D*S/(1000Q) and consumers' total
   * C = P + lb(D-S)/1000 = (lb*ls*D*S + lb(D-S)Q)/(1000Q).
   * Q <= (lb-ls)D + ls*D = lb*D gives P_sell >= ls; Q >= ls*D gives
   * P_sell <= lb, so P_buy (a mean of P_sell and lb) <= lb. Pro rata
   * shares of C (rounded down) and P (rounded up) keep the baseline. */
  u128 Q = (u128)(lb - ls) * (uint64_t)S + (u128)ls * (uint64_t)D;
  if (Q == 0) { /* ls = 0 and lb*S = 0, i.e. both prices 0 */
    *cr = *pr = split(0);
    r->buy_price = r->sell_price = 0;
    return;
  }
  u256 pn = mul128((u128)lb * ls, (u128)(uint64_t)D * (uint64_t)S);
  u256 cn = add256(pn, mul128((u128)lb * (uint64_t)(D - S), Q));
  u128 rem;
  u128 pq = div256(pn, Q * 1000, &rem);
  *pr = split((uint64_t)(pq + (rem != 0)));
  *cr = split((uint64_t)div256(cn, Q * 1000, NULL));
  u128 ps_int = div256(mul128((u128)lb * ls, (u128)(uint64_t)D), Q, &rem);
  double psell = (double)ps_int + (double)rem / (double)Q;
  r->sell_price = psell;
  r->buy_price = (psell * (double)S + (double)lb * (double)(D - S)) / (double)D;
}

/* ---- settle ---- */

/* floor (up false) or ceil of p*e/1000; fast when every p*e + 999 of the
 * side fits 64 bits (one multiply-shift division, no remainder) */
static int64_t per_kwh(const pg_divu *k1000, bool fast, uint64_t p, int64_t e, bool up) {
  if (fast) return (int64_t)pg_divu_q(k1000, p * (uint64_t)e + (up ? 999 : 0));
  u128 n = (u128)p * (uint64_t)e;
  return (int64_t)(up ? pg_div_ceil(n, 1000) : pg_div_floor(n, 1000));
}

static bool fits64(uint64_t p, int64_t total) {
  return (u128)p * (uint64_t)total + 999 <= UINT64_MAX;
}

/* The parties' results from the dense arrays, and the slot's totals. */
static void fill_parties(pg_market_ws *ws, const pg_market_slot *s, pg_market_result *r) {
  pg_divu k1000 = pg_divu_make(1000);
  uint64_t lb = s->import_price, ls = s->export_price;
  bool cfast = fits64(lb, r->demand_wh), pfast = fits64(ls, r->supply_wh);
  int64_t fees = 0, pay = 0, rev = 0;
  for (size_t i = 0; i < s->n_consumers; i++) {
    pg_market_party *c = &ws->rc[i];
    int64_t total = ws->camt[i] + ws->cfee[i];
    int64_t base = per_kwh(&k1000, cfast, lb, ws->cw[i], true);
    *c = (pg_market_party){ws->cm[i], ws->cw[i] - ws->cm[i], ws->camt[i], ws->cfee[i],
                           total, base, base - total};
    fees += ws->cfee[i];
    pay += total;
  }
  for (size_t j = 0; j < s->n_producers; j++) {
    pg_market_party *p = &ws->rp[j];
    int64_t base = per_kwh(&k1000, pfast, ls, ws->pw[j], false);
    *p = (pg_market_party){ws->pm[j], ws->pw[j] - ws->pm[j], ws->pamt[j], 0,
                           ws->pamt[j], base, ws->pamt[j] - base};
    rev += ws->pamt[j];
  }
  r->fees = fees;
  r->consumer_payments = pay;
  r->producer_revenues = rev;
  r->utility_import_cost = (int64_t)pg_div_ceil((u128)lb * (uint64_t)r->import_wh, 1000);
  r->utility_export_income = (int64_t)pg_div_floor((u128)ls * (uint64_t)r->export_wh, 1000);
  r->grid_income = r->consumer_payments - r->producer_revenues - r->utility_import_cost +
                   r->utility_export_income;
}

/* Settles a trading mechanism (checked slot, energies in ws->cw, ws->pw). */
static int settle_trading(pg_market_ws *ws, const pg_market_slot *s, pg_market_mech mech,
                          int64_t S, int64_t D, pg_market_result *r) {
  size_t nc = s->n_consumers, np = s->n_producers;
  int64_t M = S < D ? S : D;
  r->import_wh = D > S ? D - S : 0;
  r->export_wh = S > D ? S - D : 0;
  r->has_price = true;
  r->matched_wh = M;
  money_rule cr, pr;
  bool auctions = mech == PG_MARKET_PAY_AS_CLEAR || mech == PG_MARKET_PAY_AS_BID;
  if (mech == PG_MARKET_FIXED) {
    /* exact c_i = buy*u_i/1000, r_j = sell*o_j/1000 (no baseline guarantee) */
    cr = lin(s->fixed_buy_price, ws->cw, 0, NULL, 1000);
    pr = lin(s->fixed_sell_price, ws->pw, 0, NULL, 1000);
    r->buy_price = (double)s->fixed_buy_price;
    r->sell_price = (double)s->fixed_sell_price;
  } else if (auctions) {
    auction(ws, s, mech == PG_MARKET_PAY_AS_BID, r, &cr, &pr);
  } else if (mech == PG_MARKET_MMR) {
    mmr(ws, s, S, D, r, &cr, &pr);
  } else {
    sdr(ws, s, S, D, r, &cr, &pr);
  }
  int rc;
  /* energy: community Wh per participant (the auctions matched theirs) */
  if (!auctions && ((rc = pg_lr_split(&ws->sc, (uint64_t)M, ws->cw, nc, D, ws->cm)) ||
                    (rc = pg_lr_split(&ws->sc, (uint64_t)M, ws->pw, np, S, ws->pm))))
    return rc;
  /* money: consumers' charges (total rounded down), producers' revenues (up) */
  if ((rc = side_money(&ws->sc, &cr, false, ws->cw, nc, D, ws->camt)) ||
      (rc = side_money(&ws->sc, &pr, true, ws->pw, np, S, ws->pamt)))
    return rc;
  int64_t ctot = 0;
  for (size_t i = 0; i < nc; i++) ctot += ws->camt[i];
  /* fees: per kWh of community energy, and basis points of the charge */
  if ((rc = pg_market_fees(&ws->sc, s, nc, r->matched_wh, ws->cm, ws->camt, ctot, ws->cfee,
                           ws->t1)))
    return rc;
  fill_parties(ws, s, r);
  return PG_OK;
}

int pg_market_ws_settle(pg_market_ws *ws, const pg_market_slot *s, pg_market_mech mech,
                        pg_market_result *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  int rc = check_slot(s, mech, d);
  if (rc) return rc;
  size_t nc = s->n_consumers, np = s->n_producers;
  if (pg_market_ws_grow(ws, nc, np))
    return pg_fail(d, PG_ERR_NOMEM, "out of memory settling %zu participants", nc + np);
  int64_t S = 0, D = 0;
  if ((rc = check_members(s, ws->pw, ws->cw, &S, &D, d))) return rc;
  pg_market_result r;
  memset(&r, 0, sizeof r);
  r.mech = mech;
  r.supply_wh = S;
  r.demand_wh = D;
  r.n_consumers = nc;
  r.n_producers = np;
  r.consumers = ws->rc;
  r.producers = ws->rp;
  if (pg_market_mech_is_sharing(mech)) rc = pg_market_share_settle(ws, s, &r, d);
  else if ((rc = settle_trading(ws, s, mech, S, D, &r)))
    pg_fail(d, rc, "internal rounding error");
  if (rc) return rc;
  *out = r;
  return PG_OK;
}

int pg_market_settle(const pg_market_slot *s, pg_market_mech mech, pg_market_result *out,
                     pg_diag *d) {
  pg_market_ws ws;
  memset(&ws, 0, sizeof ws);
  int rc = pg_market_ws_settle(&ws, s, mech, out, d);
  if (rc == PG_OK) { /* the result takes the workspace's party arrays */
    ws.rc = NULL;
    ws.rp = NULL;
  }
  pg_market_ws_release(&ws);
  return rc;
}
