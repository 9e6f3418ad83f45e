/* market.c — settlement of one slot (see include/p2pgrid/market.h for the
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

static int check_slot(const pg_market_slot *s, pg_market_mech mech, int64_t *S, int64_t *D,
                      pg_diag *d) {
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
  *S = tot;
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
  *D = tot;
  return PG_OK;
}

/* ---- the auctions ---- */

/* min(bid, lambda_b), lambda_b without a bid */
static uint64_t effective_bid(const pg_market_consumer *c, uint64_t lb) {
  return c->has_bid && c->bid_per_kwh < lb ? c->bid_per_kwh : lb;
}

/* max(ask, lambda_s), lambda_s without an ask */
static uint64_t effective_ask(const pg_market_producer *p, uint64_t ls) {
  return p->has_ask && p->ask_per_kwh > ls ? p->ask_per_kwh : ls;
}

typedef struct ord {
  uint64_t price;
  size_t idx;
} ord;

static int ord_asc(const void *a, const void *b) {
  const ord *x = a, *y = b;
  if (x->price != y->price) return x->price < y->price ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int ord_desc(const void *a, const void *b) {
  const ord *x = a, *y = b;
  if (x->price != y->price) return x->price > y->price ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Fills cm/pm (community Wh per consumer/producer) and the exact amounts in
 * 1/2000 units: cnum (consumer charges) and pnum (producer revenues).
 * Proof of the guarantees (header): books are sorted, so a matched consumer's
 * effective bid >= the last matched bid >= p* >= the last matched ask >= any
 * matched producer's effective ask; in pay-as-bid a match is priced at a bid
 * >= the producer's ask. Utility energy is priced lambda_b (consumers) /
 * lambda_s (producers). Effective bids are <= lambda_b and <= the bid,
 * effective asks >= lambda_s and >= the ask, so community energy never costs
 * a consumer more than its bid or earns a producer less than its ask, and
 * charges <= baseline, revenues >= baseline. */
static int auction(const pg_market_slot *s, bool pay_as_bid, int64_t *cm, int64_t *pm, u128 *cnum,
                   u128 *pnum, int64_t *matched, bool *has_price, double *price) {
  size_t nc = s->n_consumers, np = s->n_producers;
  uint64_t lb = s->import_price, ls = s->export_price;
  ord *bids = malloc((nc ? nc : 1) * sizeof *bids), *asks = malloc((np ? np : 1) * sizeof *asks);
  int rc = PG_ERR_NOMEM;
  if (!bids || !asks) goto out;
  size_t nb = 0, na = 0;
  for (size_t i = 0; i < nc; i++) {
    cm[i] = 0;
    cnum[i] = 0;
    const pg_market_consumer *c = &s->consumers[i];
    if (c->usage_wh > 0)
      bids[nb++] = (ord){effective_bid(c, lb), i};
  }
  for (size_t j = 0; j < np; j++) {
    pm[j] = 0;
    pnum[j] = 0;
    const pg_market_producer *p = &s->producers[j];
    if (p->output_wh > 0)
      asks[na++] = (ord){effective_ask(p, ls), j};
  }
  qsort(bids, nb, sizeof *bids, ord_desc);
  qsort(asks, na, sizeof *asks, ord_asc);
  size_t bi = 0, ai = 0;
  int64_t bleft = nb ? s->consumers[bids[0].idx].usage_wh : 0;
  int64_t aleft = na ? s->producers[asks[0].idx].output_wh : 0;
  uint64_t last_bid = 0, last_ask = 0;
  int64_t m = 0;
  u128 volume_bid = 0; /* sum bid*q, for the displayed average */
  while (bi < nb && ai < na && bids[bi].price >= asks[ai].price) {
    int64_t q = bleft < aleft ? bleft : aleft;
    size_t ci = bids[bi].idx, pj = asks[ai].idx;
    cm[ci] += q;
    pm[pj] += q;
    m += q;
    last_bid = bids[bi].price;
    last_ask = asks[ai].price;
    volume_bid += (u128)last_bid * (uint64_t)q;
    if (pay_as_bid) {
      cnum[ci] += (u128)2 * last_bid * (uint64_t)q;
      pnum[pj] += (u128)2 * last_bid * (uint64_t)q;
    }
    bleft -= q;
    aleft -= q;
    if (bleft == 0 && ++bi < nb) bleft = s->consumers[bids[bi].idx].usage_wh;
    if (aleft == 0 && ++ai < na) aleft = s->producers[asks[ai].idx].output_wh;
  }
  *matched = m;
  *has_price = m > 0;
  if (!pay_as_bid) {
    uint64_t p2 = last_bid + last_ask; /* 2 p* */
    for (size_t i = 0; i < nc; i++) cnum[i] = (u128)p2 * (uint64_t)cm[i];
    for (size_t j = 0; j < np; j++) pnum[j] = (u128)p2 * (uint64_t)pm[j];
    *price = (double)p2 / 2.0;
  } else {
    *price = m ? (double)volume_bid / (double)m : 0.0;
  }
  for (size_t i = 0; i < nc; i++)
    cnum[i] += (u128)2 * lb * (uint64_t)(s->consumers[i].usage_wh - cm[i]);
  for (size_t j = 0; j < np; j++)
    pnum[j] += (u128)2 * ls * (uint64_t)(s->producers[j].output_wh - pm[j]);
  rc = PG_OK;
out:
  free(bids);
  free(asks);
  return rc;
}

/* ---- settle ---- */

int pg_market_settle(const pg_market_slot *s, pg_market_mech mech, pg_market_result *out,
                     pg_diag *d) {
  memset(out, 0, sizeof *out);
  int64_t S = 0, D = 0;
  int rc = check_slot(s, mech, &S, &D, d);
  if (rc) return rc;
  if (pg_market_mech_is_sharing(mech)) return pg_market_share_settle(s, mech, S, D, out, d);
  size_t nc = s->n_consumers, np = s->n_producers, nmax = nc > np ? nc : np;
  uint64_t lb = s->import_price, ls = s->export_price;
  pg_market_result r;
  memset(&r, 0, sizeof r);
  r.mech = mech;
  r.n_consumers = nc;
  r.n_producers = np;
  r.consumers = calloc(nc ? nc : 1, sizeof *r.consumers);
  r.producers = calloc(np ? np : 1, sizeof *r.producers);
  pg_lr_scratch sc = {malloc((nmax ? nmax : 1) * sizeof *sc.num),
                malloc((nmax ? nmax : 1) * sizeof *sc.it)};
  u128 *cnum = malloc((nc ? nc : 1) * sizeof *cnum);
  u128 *pnum = malloc((np ? np : 1) * sizeof *pnum);
  int64_t *cw = malloc((nc ? nc : 1) * sizeof *cw), *pw = malloc((np ? np : 1) * sizeof *pw);
  int64_t *tmp = malloc((nmax ? nmax : 1) * sizeof *tmp);
  int64_t *cm = malloc((nc ? nc : 1) * sizeof *cm), *pm = malloc((np ? np : 1) * sizeof *pm);
  rc = PG_ERR_NOMEM;
  if (!r.consumers || !r.producers || !sc.num || !sc.it || !cnum || !pnum || !cw || !pw ||
      !tmp || !cm || !pm)
    goto fail;
  for (size_t i = 0; i < nc; i++) cw[i] = s->consumers[i].usage_wh;
  for (size_t j = 0; j < np; j++) pw[j] = s->producers[j].output_wh;
  int64_t M = S < D ? S : D;
  r.supply_wh = S;
  r.demand_wh = D;
  r.import_wh = D > S ? D - S : 0;
  r.export_wh = S > D ? S - D : 0;
  r.has_price = true;

  /* consumer charges: either exact numerators over cden (cnum) or a total
   * Ctot_num/Ctot_den split pro rata to usage; same for producers. */
  bool c_prorata = false, p_prorata = false;
  uint64_t c_target = 0, p_target = 0;
  u128 cden = 1, pden = 1;
  switch (mech) {
  case PG_MARKET_FIXED:
    /* exact c_i = buy*u_i/1000, r_j = sell*o_j/1000 (no baseline guarantee) */
    cden = pden = 1000;
    for (size_t i = 0; i < nc; i++) cnum[i] = (u128)s->fixed_buy_price * (uint64_t)cw[i];
    for (size_t j = 0; j < np; j++) pnum[j] = (u128)s->fixed_sell_price * (uint64_t)pw[j];
    r.matched_wh = M;
    r.buy_price = (double)s->fixed_buy_price;
    r.sell_price = (double)s->fixed_sell_price;
    break;
  case PG_MARKET_PAY_AS_CLEAR:
  case PG_MARKET_PAY_AS_BID: {
    double price = 0;
    rc = auction(s, mech == PG_MARKET_PAY_AS_BID, cm, pm, cnum, pnum, &r.matched_wh, &r.has_price,
                 &price);
    if (rc) goto fail;
    cden = pden = 2000;
    r.buy_price = r.sell_price = price;
    break;
  }
  case PG_MARKET_MMR: {
    uint64_t pm2 = lb + ls; /* 2 P_mid */
    cden = pden = 2000;
    r.matched_wh = M;
    if (S >= D) {
      /* consumers pay P_mid <= lambda_b. Producers share
       * T = (2P_mid*D + 2ls(S-D))/2000 >= 2ls*S/2000 (as P_mid >= ls): each
       * share T*o_j/S >= ls*o_j/1000, the baseline. */
      for (size_t i = 0; i < nc; i++) cnum[i] = (u128)pm2 * (uint64_t)cw[i];
      u128 tn = (u128)pm2 * (uint64_t)D + (u128)2 * ls * (uint64_t)(S - D);
      p_prorata = true;
      p_target = pg_div_ceil(tn, 2000);
      r.buy_price = (double)pm2 / 2.0;
      r.sell_price = S ? (double)tn / 2.0 / (double)S : (double)pm2 / 2.0;
    } else {
      /* producers earn P_mid >= lambda_s; consumers share
       * T = (2P_mid*S + 2lb(D-S))/2000 <= 2lb*D/2000: each share <= lb*u_i/1000. */
      for (size_t j = 0; j < np; j++) pnum[j] = (u128)pm2 * (uint64_t)pw[j];
      u128 tn = (u128)pm2 * (uint64_t)S + (u128)2 * lb * (uint64_t)(D - S);
      c_prorata = true;
      c_target = pg_div_floor(tn, 2000);
      r.sell_price = (double)pm2 / 2.0;
      r.buy_price = (double)tn / 2.0 / (double)D;
    }
    break;
  }
  case PG_MARKET_SDR: {
    r.matched_wh = M;
    if (D == 0 || S > D) {
      /* SDR > 1 (D = 0 counts as SDR infinite): both prices lambda_s, which is
       * <= lambda_b for consumers and the producers' baseline exactly. */
      cden = pden = 1000;
      for (size_t i = 0; i < nc; i++) cnum[i] = (u128)ls * (uint64_t)cw[i];
      for (size_t j = 0; j < np; j++) pnum[j] = (u128)ls * (uint64_t)pw[j];
      r.buy_price = r.sell_price = (double)ls;
    } else if (S == 0) {
      /* SDR = 0: P_buy = lambda_b; no producer output to pay. */
      cden = pden = 1000;
      for (size_t i = 0; i < nc; i++) cnum[i] = (u128)lb * (uint64_t)cw[i];
      for (size_t j = 0; j < np; j++) pnum[j] = 0;
      r.buy_price = r.sell_price = (double)lb;
    } else {
      /* 0 < SDR <= 1. With Q = (lb-ls)S + ls*D: P_sell = lb*ls*D/Q, so
       * producers' total P = lb*ls*D*S/(1000Q) and consumers' total
       * C = P + lb(D-S)/1000 = (lb*ls*D*S + lb(D-S)Q)/(1000Q).
       * Q <= (lb-ls)D + ls*D = lb*D gives P_sell >= ls; Q >= ls*D gives
       * P_sell <= lb, so P_buy (a mean of P_sell and lb) <= lb. Pro rata
       * shares of C (rounded down) and P (rounded up) keep the baseline. */
      u128 Q = (u128)(lb - ls) * (uint64_t)S + (u128)ls * (uint64_t)D;
      p_prorata = c_prorata = true;
      if (Q == 0) { /* ls = 0 and lb*S = 0, i.e. both prices 0 */
        p_target = 0;
        c_target = 0;
        r.buy_price = r.sell_price = 0;
      } else {
        u256 pn = mul128((u128)lb * ls, (u128)(uint64_t)D * (uint64_t)S);
        u256 cn = add256(pn, mul128((u128)lb * (uint64_t)(D - S), Q));
        u128 rem;
        u128 pq = div256(pn, Q * 1000, &rem);
        p_target = (uint64_t)(pq + (rem != 0));
        c_target = (uint64_t)div256(cn, Q * 1000, NULL);
        u128 ps_int = div256(mul128((u128)lb * ls, (u128)(uint64_t)D), Q, &rem);
        double psell = (double)ps_int + (double)rem / (double)Q;
        r.sell_price = psell;
        r.buy_price = (psell * (double)S + (double)lb * (double)(D - S)) / (double)D;
      }
    }
    break;
  }
  case PG_MARKET_STATIC_KEY:
  case PG_MARKET_DYNAMIC_KEY:
  case PG_MARKET_HIERARCHICAL:
    break; /* settled in sharing.c (above) */
  }

  /* energy: community Wh per participant */
  if (mech == PG_MARKET_PAY_AS_CLEAR || mech == PG_MARKET_PAY_AS_BID) {
    /* cm, pm from the matching */
  } else {
    if ((rc = pg_lr_split(&sc, (uint64_t)M, cw, nc, D, cm)) ||
        (rc = pg_lr_split(&sc, (uint64_t)M, pw, np, S, pm)))
      goto fail;
  }
  for (size_t i = 0; i < nc; i++) {
    r.consumers[i].community_wh = cm[i];
    r.consumers[i].utility_wh = cw[i] - cm[i];
  }
  for (size_t j = 0; j < np; j++) {
    r.producers[j].community_wh = pm[j];
    r.producers[j].utility_wh = pw[j] - pm[j];
  }

  /* money: consumers' energy charges (total rounded down) */
  if (c_prorata) {
    rc = pg_lr_split(&sc, c_target, cw, nc, D, tmp);
  } else {
    u128 sum = 0;
    for (size_t i = 0; i < nc; i++) sum += cnum[i];
    rc = pg_lr_round(&sc, cnum, nc, cden, pg_div_floor(sum, cden), tmp);
  }
  if (rc) goto fail;
  int64_t ctot = 0;
  for (size_t i = 0; i < nc; i++) {
    r.consumers[i].amount = tmp[i];
    ctot += tmp[i];
  }
  /* producers' revenues (total rounded up) */
  if (p_prorata) {
    rc = pg_lr_split(&sc, p_target, pw, np, S, tmp);
  } else {
    u128 sum = 0;
    for (size_t j = 0; j < np; j++) sum += pnum[j];
    rc = pg_lr_round(&sc, pnum, np, pden, pg_div_ceil(sum, pden), tmp);
  }
  if (rc) goto fail;
  for (size_t j = 0; j < np; j++) {
    pg_market_party *p = &r.producers[j];
    p->amount = p->total = tmp[j];
    r.producer_revenues += tmp[j];
    p->baseline = (int64_t)pg_div_floor((u128)ls * (uint64_t)pw[j], 1000);
    p->savings = p->total - p->baseline;
  }
  /* fees: per kWh of community energy, and basis points of the charge */
  if ((rc = pg_market_fees(&sc, s, &r, cm, ctot, cw, tmp))) goto fail; /* cw: scratch */
  for (size_t i = 0; i < nc; i++) {
    pg_market_party *c = &r.consumers[i];
    c->total = c->amount + c->fee;
    c->baseline = (int64_t)pg_div_ceil((u128)lb * (uint64_t)s->consumers[i].usage_wh, 1000);
    c->savings = c->baseline - c->total;
    r.fees += c->fee;
    r.consumer_payments += c->total;
  }
  r.utility_import_cost = (int64_t)pg_div_ceil((u128)lb * (uint64_t)r.import_wh, 1000);
  r.utility_export_income = (int64_t)pg_div_floor((u128)ls * (uint64_t)r.export_wh, 1000);
  r.grid_income = r.consumer_payments - r.producer_revenues - r.utility_import_cost +
                  r.utility_export_income;
  *out = r;
  rc = PG_OK;
  goto done;
fail:
  pg_market_result_free(&r);
  if (rc == PG_ERR_NOMEM) pg_fail(d, rc, "out of memory settling %zu participants", nc + np);
  else pg_fail(d, rc, "internal rounding error");
done:
  free(sc.num);
  free(sc.it);
  free(cnum);
  free(pnum);
  free(cw);
  free(pw);
  free(tmp);
  free(cm);
  free(pm);
  return rc;
}
