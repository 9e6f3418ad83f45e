/* book.c — the books of the auctions (market.h MECHANISMS, pay-as-clear and
 * pay-as-bid): sorted by a counting or radix sort of the prices, matched by
 * prefix sums instead of a member-by-member walk.
 *
 * The greedy matching of the books moves along one energy axis x: consumer
 * t of the sorted bids covers [CB(t-1), CB(t)) (CB the running sum of
 * usages), producer u of the sorted asks [CA(u-1), CA(u)). Every step of the
 * walk starts where a consumer or a producer starts, and goes on while the
 * bid covering x is >= the ask covering x. Bids only fall and asks only
 * rise along x, so the walk stops at the first start (of either book) where
 * the bid is below the ask, or where a book ends: two binary searches find
 * it (m, the matched energy), and a member's community energy is its part
 * of [0, m). The result is the walk's, integer for integer. */
#include <string.h>

#include "market_int.h"

/* min(bid, lambda_b), lambda_b without a bid */
static uint64_t effective_bid(const pg_market_consumer *c, uint64_t lb) {
  return c->has_bid && c->bid_per_kwh < lb ? c->bid_per_kwh : lb;
}

/* max(ask, lambda_s), lambda_s without an ask */
static uint64_t effective_ask(const pg_market_producer *p, uint64_t ls) {
  return p->has_ask && p->ask_per_kwh > ls ? p->ask_per_kwh : ls;
}

/* Stable LSD radix sort of a[0..n) by the key bits 32..32+bits (entries are
 * made in index order, so equal keys stay in index order); one counting pass
 * when the key range is small beside n, else 11-bit digits. Returns a or
 * tmp, whichever holds the result. */
static uint64_t *radix_sort(uint64_t *a, uint64_t *tmp, size_t n, unsigned bits,
                            uint32_t *hist, unsigned hist_bits) {
  if (n < 2 || bits == 0) return a;
  unsigned passes = bits <= hist_bits && ((size_t)1 << bits) <= 4 * n + 4096 ? 1 : (bits + 10) / 11;
  unsigned width = (bits + passes - 1) / passes;
  size_t nb = (size_t)1 << width, mask = nb - 1;
  for (unsigned p = 0; p < passes; p++) {
    unsigned sh = 32 + p * width;
    memset(hist, 0, nb * sizeof *hist);
    for (size_t i = 0; i < n; i++) hist[(a[i] >> sh) & mask]++;
    uint32_t at = 0;
    for (size_t b = 0; b < nb; b++) {
      uint32_t c = hist[b];
      hist[b] = at;
      at += c;
    }
    for (size_t i = 0; i < n; i++) tmp[hist[(a[i] >> sh) & mask]++] = a[i];
    uint64_t *t = a;
    a = tmp;
    tmp = t;
  }
  return a;
}

/* The books: members with energy, as (key << 32 | index) sorted by key, ties
 * in index order. Bids descending (key lambda_b - bid), asks ascending (key
 * ask - lambda_s). A bid below lambda_s or an ask above lambda_b can never
 * match (every ask is >= lambda_s, every bid <= lambda_b), so they share the
 * last key: the matching stops before reaching them. Also zeroes cm, pm and
 * (pay-as-bid) pnum and fills ckey, pkey with the effective prices. */
static void build_books(pg_market_ws *ws, const pg_market_slot *s, bool pay_as_bid,
                        const uint64_t **bids, size_t *nb, const uint64_t **asks, size_t *na) {
  size_t nc = s->n_consumers, np = s->n_producers, b = 0, a = 0;
  uint64_t lb = s->import_price, ls = s->export_price, last = lb - ls + 1;
  for (size_t i = 0; i < nc; i++) {
    uint64_t eb = effective_bid(&s->consumers[i], lb);
    ws->ckey[i] = (uint32_t)eb;
    ws->cm[i] = 0;
    uint64_t key = eb < ls ? last : lb - eb;
    ws->bk[b] = key << 32 | i;
    b += ws->cw[i] > 0;
  }
  for (size_t j = 0; j < np; j++) {
    uint64_t ea = effective_ask(&s->producers[j], ls);
    ws->pkey[j] = (uint32_t)ea;
    ws->pm[j] = 0;
    if (pay_as_bid) ws->pnum[j] = 0;
    uint64_t key = ea > lb ? last : ea - ls;
    ws->ak[a] = key << 32 | j;
    a += ws->pw[j] > 0;
  }
  unsigned bits = 64 - (unsigned)__builtin_clzll(last);
  *bids = radix_sort(ws->bk, ws->sk, b, bits, ws->hist, ws->hist_bits);
  /* rem is free until the money */
  *asks = radix_sort(ws->ak, ws->sc.rem, a, bits, ws->hist, ws->hist_bits);
  *nb = b;
  *na = a;
}


/* the first t in [0, n) with ends[t] > x (n when none) */
static size_t covering(const int64_t *ends, size_t n, int64_t x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ends[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

typedef struct side {
  const uint64_t *book; /* sorted (key << 32 | index) */
  size_t n;
  const int64_t *wh;    /* energy by member index */
  const uint32_t *price; /* effective price by member index */
  int64_t *end;         /* running sum of the book's energies */
} side;

static uint64_t price_at(const side *sd, size_t t) { return sd->price[(uint32_t)sd->book[t]]; }

static int64_t start_of(const side *sd, size_t t) { return t ? sd->end[t - 1] : 0; }

/* The first start x < L on side `a` where the walk stops: a's price there
 * against the other side's price covering x (bids must be >= asks; a_bids
 * tells which side a is). L when the walk runs to L. */
static int64_t first_stop(const side *a, const side *b, bool a_bids, int64_t L) {
  size_t lo = 0, hi = a->n;
  while (lo < hi) { /* stops(t) is false, then true, along t */
    size_t t = lo + (hi - lo) / 2;
    int64_t x = start_of(a, t);
    bool stop = x >= L;
    if (!stop) {
      uint64_t pa = price_at(a, t), pb = price_at(b, covering(b->end, b->n, x));
      stop = a_bids ? pa < pb : pa > pb;
    }
    if (stop) hi = t;
    else lo = t + 1;
  }
  return lo < a->n && start_of(a, lo) < L ? start_of(a, lo) : L;
}

/* community energy out[i] of each member of the side: its part of [0, m) */
static void fill_matched(const side *sd, int64_t m, int64_t *out) {
  for (size_t t = 0; t < sd->n; t++) {
    int64_t x = start_of(sd, t);
    if (x >= m) break;
    uint32_t i = (uint32_t)sd->book[t];
    int64_t q = m - x;
    out[i] = q < sd->wh[i] ? q : sd->wh[i];
  }
}

/* pay-as-bid: producer u receives, for every Wh of [start, min(end, m)),
 * the bid covering it: pnum += 2 (F(end) - F(start)), F(x) the integral of
 * the bids from 0 to x. */
static void bid_revenues(const side *bids, const side *asks, int64_t m, u128 *pnum) {
  size_t t = 0;
  u128 Fb = 0, Fprev = 0; /* Fb = F(start of consumer t) */
  for (size_t u = 0; u < asks->n && start_of(asks, u) < m; u++) {
    int64_t x = asks->end[u] < m ? asks->end[u] : m;
    while (t < bids->n && bids->end[t] <= x) {
      Fb += (u128)price_at(bids, t) * (uint64_t)(bids->end[t] - start_of(bids, t));
      t++;
    }
    u128 F = Fb;
    if (t < bids->n) F += (u128)price_at(bids, t) * (uint64_t)(x - start_of(bids, t));
    pnum[(uint32_t)asks->book[u]] += 2 * (F - Fprev);
    Fprev = F;
  }
}

void pg_market_match(pg_market_ws *ws, const pg_market_slot *s, bool pay_as_bid,
                     pg_book_match *out) {
  side b = {NULL, 0, ws->cw, ws->ckey, ws->t1}, a = {NULL, 0, ws->pw, ws->pkey, ws->t2};
  build_books(ws, s, pay_as_bid, &b.book, &b.n, &a.book, &a.n);
  int64_t acc = 0;
  for (size_t t = 0; t < b.n; t++) b.end[t] = acc += ws->cw[(uint32_t)b.book[t]];
  int64_t totb = acc;
  acc = 0;
  for (size_t u = 0; u < a.n; u++) a.end[u] = acc += ws->pw[(uint32_t)a.book[u]];
  int64_t L = totb < acc ? totb : acc;
  int64_t x1 = first_stop(&b, &a, true, L), x2 = first_stop(&a, &b, false, L);
  int64_t m = x1 < x2 ? x1 : x2;
  memset(out, 0, sizeof *out);
  out->matched = m;
  if (m == 0) return;
  fill_matched(&b, m, ws->cm);
  fill_matched(&a, m, ws->pm);
  out->last_bid = price_at(&b, covering(b.end, b.n, m - 1));
  out->last_ask = price_at(&a, covering(a.end, a.n, m - 1));
  for (size_t t = 0; t < b.n && start_of(&b, t) < m; t++) {
    uint32_t i = (uint32_t)b.book[t];
    out->volume_bid += (u128)ws->ckey[i] * (uint64_t)ws->cm[i];
  }
  if (pay_as_bid) bid_revenues(&b, &a, m, ws->pnum);
}
