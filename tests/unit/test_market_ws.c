/* The settlement workspace (pg_market_ws) settles every slot exactly as the
 * allocating path did before it (commit 2b144fb, qsort books and quickselect
 * rounding):
 * - golden digests: random slots of 12 sizes (0 to 100k + 100k members) and
 *   7 flavours (random; zero energy; no bids or asks; all prices and
 *   energies equal; energies and prices near the limits; prices spread over
 *   the whole range; degenerate utility prices) through all 8 mechanisms.
 *   Every field of every result (and the error code) is folded into one
 *   FNV-1a digest per size and flavour; the table below was printed by this
 *   file built against the 2b144fb library (PG_MARKET_WS_PRINT=1 prints it
 *   again) and both pg_market_settle and pg_market_ws_settle must give it;
 * - field by field: the two paths give the same results with one workspace
 *   reused over growing and shrinking slots, and errors leave it usable;
 * - the primitives: the invariant divider equals the hardware division and
 *   largest-remainder rounding picks the same members as a full sort;
 * - the auctions: the prefix-sum matching gives every member the community
 *   energy, and every pay-as-bid producer the revenue, of the old
 *   member-by-member walk over qsort books (20,000 small slots full of
 *   ties). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/market/market.h"
#include "../../src/market/market_int.h"

#define TU_RNG_SEED 0x5851f42d4c957f2dull
#include "test_util_rng.h"

#define NSIZES 12
#define NFLAV 7
enum { F_RANDOM, F_ZERO, F_NOBID, F_EQUAL, F_HUGE, F_WIDE, F_EDGE };

static const size_t sizes[NSIZES][2] = { /* consumers, producers */
    {0, 0},     {0, 1},     {1, 0},       {1, 1},       {2, 3},          {5, 7},
    {24, 24},   {100, 1000}, {1000, 100}, {1000, 1000}, {20000, 20000}, {100000, 100000}};

typedef struct gen_slot {
  pg_market_slot s;
  pg_market_producer *p;
  pg_market_consumer *c;
  uint8_t rules[3];
} gen_slot;

static uint64_t pick_price(int fl, uint64_t pmax, uint64_t lb, uint64_t ls) {
  if (fl == F_EQUAL) return ls + (lb - ls) / 2;
  return below(pmax + 1);
}

static int64_t pick_wh(int fl, int64_t whmax) {
  if (fl == F_EQUAL) return below(8) == 0 ? 0 : 1000;
  return below(4) == 0 ? 0 : (int64_t)below((uint64_t)whmax + 1);
}

static void gen_prices(gen_slot *g, int fl, uint64_t pmax) {
  pg_market_slot *s = &g->s;
  uint64_t a = below(pmax + 1), b = below(pmax + 1);
  s->import_price = a > b ? a : b;
  s->export_price = a > b ? b : a;
  if (fl == F_EDGE) {
    int e = (int)below(3);
    if (e == 0) s->export_price = s->import_price;
    if (e == 1) s->export_price = 0;
    if (e == 2) s->import_price = s->export_price = 0;
  }
  s->fixed_buy_price = below(pmax + 1);
  s->fixed_sell_price = below(pmax + 1);
  if (below(4) != 0) {
    s->fee_per_kwh = below(pmax / 10 + 1);
    s->fee_bp = below(10001);
  }
  s->community_price = below(pmax + 1);
  for (int k = 0; k < 3; k++) g->rules[k] = (uint8_t)below(2);
  s->group_rules = g->rules;
  s->n_group_rules = 3;
}

/* The slot of size k, flavour fl (deterministic: the generator is reseeded). */
static void gen(gen_slot *g, size_t k, int fl) {
  rng_state = TU_RNG_SEED ^ ((uint64_t)k << 32) ^ (uint64_t)fl;
  size_t nc = sizes[k][0], np = sizes[k][1], nmax = nc > np ? nc : np;
  memset(&g->s, 0, sizeof g->s);
  uint64_t pmax = fl == F_HUGE || fl == F_WIDE ? PG_MARKET_MAX_PRICE : 400;
  int64_t whmax = fl == F_HUGE ? PG_MARKET_MAX_WH / (int64_t)(nmax ? nmax : 1) : 6000;
  gen_prices(g, fl, pmax);
  uint64_t lb = g->s.import_price, ls = g->s.export_price;
  bool zero_c = fl == F_ZERO && below(2) == 0, zero_p = fl == F_ZERO && !zero_c;
  for (size_t j = 0; j < np; j++) {
    pg_market_producer *p = &g->p[j];
    p->id = NULL;
    p->output_wh = zero_p ? 0 : pick_wh(fl, whmax);
    p->has_ask = fl != F_NOBID && below(4) != 0;
    p->ask_per_kwh = pick_price(fl, pmax, lb, ls);
  }
  uint32_t key_max = nc ? 1000000u / (uint32_t)nc : 0;
  for (size_t i = 0; i < nc; i++) {
    pg_market_consumer *c = &g->c[i];
    c->id = NULL;
    c->usage_wh = zero_c ? 0 : pick_wh(fl, whmax);
    c->has_bid = fl != F_NOBID && below(4) != 0;
    c->bid_per_kwh = pick_price(fl, pmax, lb, ls);
    /* keys of a group sum to at most 100%, except now and then near the limits */
    c->key_ppm = (uint32_t)below((uint64_t)key_max + 1 + (fl == F_HUGE ? key_max : 0));
    c->group = (uint32_t)below(4);
  }
  g->s.producers = np ? g->p : NULL;
  g->s.consumers = nc ? g->c : NULL;
  g->s.n_producers = np;
  g->s.n_consumers = nc;
}

/* ---- digests ---- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *b = data;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) { return fnv(h, &v, sizeof v); }

static uint64_t fnv_party(uint64_t h, const pg_market_party *p) {
  const int64_t f[7] = {p->community_wh, p->utility_wh, p->amount, p->fee,
                        p->total,        p->baseline,   p->savings};
  for (int k = 0; k < 7; k++) h = fnv_i64(h, f[k]);
  return h;
}

static uint64_t digest(uint64_t h, int rc, const pg_market_result *r) {
  h = fnv_i64(h, rc);
  if (rc) return h;
  const int64_t f[] = {r->mech,        r->supply_wh,         r->demand_wh,
                       r->matched_wh,  r->import_wh,         r->export_wh,
                       r->consumer_payments, r->producer_revenues, r->fees,
                       r->grid_income, r->utility_import_cost, r->utility_export_income,
                       r->has_price,   (int64_t)r->n_consumers, (int64_t)r->n_producers};
  for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) h = fnv_i64(h, f[k]);
  h = fnv(h, &r->buy_price, sizeof r->buy_price);
  h = fnv(h, &r->sell_price, sizeof r->sell_price);
  for (size_t i = 0; i < r->n_consumers; i++) h = fnv_party(h, &r->consumers[i]);
  for (size_t j = 0; j < r->n_producers; j++) h = fnv_party(h, &r->producers[j]);
  return h;
}

/* Printed by this file against the library of commit 2b144fb (the
 * allocating path with qsort books and quickselect rounding). */
#ifndef PG_MARKET_WS_GOLDEN_ONLY
static const uint64_t golden[NSIZES][NFLAV] = {
    {0x3cfa085f7bb09010ull, 0x56578aeff71b2109ull, 0xf10e01c02269a33aull, 0x21384198a1b998daull, 0x33d8d27030d90ae2ull, 0x2c32f6e1fc6083cbull, 0x2bf34af9ee14a317ull},
    {0x3b1fd3fe30f111ccull, 0x392c503e4c524290ull, 0xa0e0ac0ece9babbbull, 0x6a01f20e3ce5d5f3ull, 0x15e996cb2e217071ull, 0xb200fc1d0928dfeeull, 0x0d4cbb4a2026e977ull},
    {0x22b9b76a2cea3416ull, 0x924e72694de406a6ull, 0x31e3ed3015850f7eull, 0xb366781c9b696ee6ull, 0x70f65a868077c5b8ull, 0x001f9b05d73e0dddull, 0x89f2869643d410dcull},
    {0xc6a446c48f3b6d19ull, 0x229e089fe582a408ull, 0x2d7467f4326a252eull, 0x4d35e437c2513335ull, 0xcef1ba0e61f7c4b7ull, 0x5c5c4d9a1edf9105ull, 0x36514f28b8222482ull},
    {0xd73256ac14c37db9ull, 0xb77cfa6f618e3efcull, 0x3d650fedfce44d91ull, 0x73725dddeca8b009ull, 0x930b93f56250533cull, 0x7e956fee1b7b8ee0ull, 0x5dd3a8e344ecb863ull},
    {0xef9a298fafdcde5cull, 0x77c604b6a3bc62dcull, 0xfdd7b7d1985525bbull, 0x8874749d4d6bfffcull, 0xae75901a826304d0ull, 0xf45d9d0c603b7fbaull, 0x7854bfdaecf88f8cull},
    {0xb6fc264a51aaf4a2ull, 0xb02978a1622b7d15ull, 0x7339015583a26c03ull, 0x00f45ace17831e88ull, 0x44ba81d3caf85035ull, 0xabb11760d85c657bull, 0x08124525f01b7540ull},
    {0xf69e735b62a25bdeull, 0x415e7dc114ab7fcbull, 0xbfa58abdea85e8f4ull, 0x65c4291794110ca6ull, 0x32f5e866f196d0b9ull, 0x02ad9e08e2c1056bull, 0xe35b45036d110bb5ull},
    {0x3c643c599ff62586ull, 0x77317f1a349f7f8bull, 0xccee05cfefda41e7ull, 0xbf8b6ed989d9b0edull, 0x6939f90c699bf3ceull, 0xe493240f8836228full, 0xa0cc74971f3e6ea5ull},
    {0xa360763e22ecf2d8ull, 0xe1eaf597a213e30full, 0xbd1472f2dc5d8e6dull, 0xd32584f6cfd4142full, 0x7aa4566134a26f3cull, 0x260831670437b7d0ull, 0x4c40b49f4fef50a5ull},
    {0x4f5aac6c0dbb9b0eull, 0x8c8b8303509be896ull, 0x78d793be9e4d4585ull, 0xa3e3dcda0caf6349ull, 0xea1ff1e413251a47ull, 0x2aea694d3cdf029dull, 0x8c7eb88cb453b9abull},
    {0xc25ff8e93f10e3d0ull, 0xea00fc3dc3aef585ull, 0xa5153766c48c1811ull, 0x5d4d54bc7fe95e16ull, 0x154c130338f99f47ull, 0x43a18b3fa82af8fdull, 0x26e4e85666b3046aull},
};
#endif

static gen_slot big;

static void alloc_big(void) {
  big.p = calloc(100000, sizeof *big.p);
  big.c = calloc(100000, sizeof *big.c);
  assert_non_null(big.p);
  assert_non_null(big.c);
}

#ifdef PG_MARKET_WS_GOLDEN_ONLY
int main(void) {
  alloc_big();
  for (size_t k = 0; k < NSIZES; k++) {
    printf("    {");
    for (int fl = 0; fl < NFLAV; fl++) {
      gen(&big, k, fl);
      uint64_t h = 0xcbf29ce484222325ull;
      for (int m = 0; m < PG_MARKET_NMECH_ALL; m++) {
        pg_market_result r;
        pg_diag d = {{0}};
        int rc = pg_market_settle(&big.s, (pg_market_mech)m, &r, &d);
        h = digest(h, rc, &r);
        pg_market_result_free(&r);
      }
      printf("0x%016llxull%s", (unsigned long long)h, fl + 1 < NFLAV ? ", " : "");
    }
    printf("},\n");
  }
  return 0;
}
#else
static pg_market_ws *ws;

static void same_result(const pg_market_result *a, const pg_market_result *b) {
  assert_int_equal(a->mech, b->mech);
  const int64_t fa[] = {a->supply_wh, a->demand_wh, a->matched_wh, a->import_wh, a->export_wh,
                        a->consumer_payments, a->producer_revenues, a->fees, a->grid_income,
                        a->utility_import_cost, a->utility_export_income, a->has_price};
  const int64_t fb[] = {b->supply_wh, b->demand_wh, b->matched_wh, b->import_wh, b->export_wh,
                        b->consumer_payments, b->producer_revenues, b->fees, b->grid_income,
                        b->utility_import_cost, b->utility_export_income, b->has_price};
  for (size_t k = 0; k < sizeof fa / sizeof fa[0]; k++) assert_int_equal(fa[k], fb[k]);
  assert_memory_equal(&a->buy_price, &b->buy_price, sizeof a->buy_price);
  assert_memory_equal(&a->sell_price, &b->sell_price, sizeof a->sell_price);
  assert_int_equal(a->n_consumers, b->n_consumers);
  assert_int_equal(a->n_producers, b->n_producers);
  if (a->n_consumers)
    assert_memory_equal(a->consumers, b->consumers, a->n_consumers * sizeof *a->consumers);
  if (a->n_producers)
    assert_memory_equal(a->producers, b->producers, a->n_producers * sizeof *a->producers);
}

/* Both paths over slot (k, fl), every mechanism: equal field by field, and
 * both fold into the golden digest. */
static void check_case(size_t k, int fl) {
  gen(&big, k, fl);
  uint64_t h_old = 0xcbf29ce484222325ull, h_ws = h_old;
  for (int m = 0; m < PG_MARKET_NMECH_ALL; m++) {
    pg_market_result r1, r2;
    pg_diag d1 = {{0}}, d2 = {{0}};
    int rc1 = pg_market_settle(&big.s, (pg_market_mech)m, &r1, &d1);
    int rc2 = pg_market_ws_settle(ws, &big.s, (pg_market_mech)m, &r2, &d2);
    assert_int_equal(rc1, rc2);
    if (rc1 == PG_OK) same_result(&r1, &r2);
    else assert_string_equal(d1.msg, d2.msg);
    h_old = digest(h_old, rc1, &r1);
    h_ws = digest(h_ws, rc2, &r2);
    pg_market_result_free(&r1);
  }
  if (h_old != golden[k][fl] || h_ws != golden[k][fl])
    fail_msg("size %zu+%zu, flavour %d: digest %016llx (workspace %016llx), 2b144fb gave %016llx",
             sizes[k][0], sizes[k][1], fl, (unsigned long long)h_old, (unsigned long long)h_ws,
             (unsigned long long)golden[k][fl]);
}

static void test_golden_growing(void **state) {
  (void)state;
  for (size_t k = 0; k < NSIZES; k++)
    for (int fl = 0; fl < NFLAV; fl++) check_case(k, fl);
}

/* the workspace now holds 100k + 100k: smaller slots must not see stale data */
static void test_golden_shrinking(void **state) {
  (void)state;
  for (size_t k = NSIZES - 2; k-- > 0;)
    for (int fl = NFLAV; fl-- > 0;) check_case(k, fl);
}

static void test_errors(void **state) {
  (void)state;
  pg_market_producer p = {NULL, -1, 0, false};
  pg_market_consumer c = {NULL, 10, 0, false, 0, 0};
  pg_market_slot s = {&p, 1, &c, 1, 300, 100, 0, 0, 0, 0, 0, NULL, 0};
  pg_market_result r;
  pg_diag d = {{0}};
  assert_int_equal(pg_market_ws_settle(ws, &s, PG_MARKET_MMR, &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "producer 0: negative output"));
  assert_null(r.consumers);
  assert_int_equal(r.n_producers, 0);
  s.export_price = 400;
  p.output_wh = 5;
  assert_int_equal(pg_market_ws_settle(ws, &s, PG_MARKET_FIXED, &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "import price 300 below export price 400"));
  assert_int_equal(pg_market_ws_settle(ws, &s, (pg_market_mech)99, &r, &d), PG_ERR_INVALID);
  s.export_price = 100;
  assert_int_equal(pg_market_ws_settle(ws, &s, PG_MARKET_PAY_AS_CLEAR, &r, &d), PG_OK);
  assert_int_equal(r.matched_wh, 5);
  assert_int_equal(r.consumers[0].community_wh + r.consumers[0].utility_wh, 10);
  assert_int_equal(pg_market_ws_reserve(ws, PG_MARKET_MAX_PARTIES + 1, 1, &d), PG_ERR_TOO_LARGE);
  assert_int_equal(pg_market_ws_reserve(ws, 10, 200001, &d), PG_OK);
  pg_market_ws_free(NULL);
}

static void test_divider(void **state) {
  (void)state;
  rng_state = 42;
  for (int t = 0; t < 200000; t++) {
    unsigned bits = 1 + (unsigned)below(64);
    uint64_t d = rnd() >> (64 - bits);
    if (d == 0) d = 1;
    pg_divu v = pg_divu_make(d);
    const uint64_t ns[] = {0, 1, d - 1, d, d + 1, 2 * d - 1, UINT64_MAX, UINT64_MAX - 1,
                           rnd(), rnd() >> below(64), d * below(1000), UINT64_MAX / d * d};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
      if (pg_divu_q(&v, ns[k]) != ns[k] / d)
        fail_msg("%llu / %llu", (unsigned long long)ns[k], (unsigned long long)d);
  }
}

/* the references' order: key descending (or ascending), ties to the lower
 * index; for rounding the key is the remainder, in the books the price */
typedef struct ref_ord {
  uint64_t key;
  size_t idx;
} ref_ord;

static int ord_desc(const void *a, const void *b) {
  const ref_ord *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int ord_asc(const void *a, const void *b) {
  const ref_ord *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* sort (remainder descending, index ascending), the first k get a unit */
static void ref_round(const u128 *num, size_t n, u128 den, uint64_t target, int64_t *out,
                      ref_ord *it) {
  u128 sum = 0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    out[i] = (int64_t)(num[i] / den);
    sum += num[i] / den;
    if (num[i] % den) it[m++] = (ref_ord){(uint64_t)(num[i] % den), i};
  }
  qsort(it, m, sizeof *it, ord_desc);
  for (size_t j = 0; j < (size_t)(target - sum); j++) out[it[j].idx]++;
}

static void test_rounding(void **state) {
  (void)state;
  enum { N = 5000 };
  static u128 num[N];
  static int64_t x[N], y[N], out[N], want[N];
  static uint64_t rem[N];
  static uint32_t idx[N];
  static ref_ord it[N];
  pg_lr_scratch sc = {rem, idx};
  rng_state = 7;
  for (int t = 0; t < 3000; t++) {
    size_t n = t < 100 ? (size_t)t % 7 : 1 + below(t % 10 == 0 ? N : 60);
    uint64_t den = 1 + (rnd() >> (1 + below(63)));
    uint64_t a = below(1u << 31), b = below(1u << 31), spread = 1 + below(t % 3 ? 50 : 1u << 30);
    u128 tot = 0, floors = 0;
    for (size_t i = 0; i < n; i++) {
      x[i] = (int64_t)below(spread);
      y[i] = x[i] + (int64_t)below(spread);
      num[i] = (u128)a * (uint64_t)x[i] + (u128)b * (uint64_t)(y[i] - x[i]);
      if (t % 5 == 0) num[i] = (u128)(rnd() % 4) * den + den / 2; /* equal remainders */
      tot += num[i];
      floors += num[i] / den;
    }
    if (floors >> 62) continue; /* settlement totals stay below 2^62 (limits) */
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += num[i] % den != 0;
    uint64_t target = (uint64_t)floors + below(nz + 1);
    ref_round(num, n, den, target, want, it);
    assert_int_equal(pg_lr_round(&sc, num, n, den, target, out), PG_OK);
    if (n) assert_memory_equal(out, want, n * sizeof *out);
    if (t % 5 != 0) {
      assert_int_equal(pg_lr_lin(&sc, a, x, b, y, n, den, target, out), PG_OK);
      if (n) assert_memory_equal(out, want, n * sizeof *out);
      uint64_t fl = (uint64_t)(tot / den);
      ref_round(num, n, den, fl, want, it);
      assert_int_equal(pg_lr_lin(&sc, a, x, b, y, n, den, PG_LR_FLOOR, out), PG_OK);
      if (n) assert_memory_equal(out, want, n * sizeof *out);
    }
  }
  assert_int_equal(pg_lr_split(&sc, 5, x, 0, 0, out), PG_ERR_STATE);
}

/* ---- the auctions against the member-by-member walk of 2b144fb ---- */

enum { AN = 12 };

typedef struct ref_walk {
  int64_t cm[AN], pm[AN], m;
  u128 pnum[AN];
  uint64_t last_bid, last_ask;
} ref_walk;

static void ref_auction(const pg_market_slot *s, ref_walk *w) {
  uint64_t lb = s->import_price, ls = s->export_price;
  ref_ord bids[AN], asks[AN];
  size_t nb = 0, na = 0;
  memset(w, 0, sizeof *w);
  for (size_t i = 0; i < s->n_consumers; i++) {
    const pg_market_consumer *c = &s->consumers[i];
    if (c->usage_wh > 0)
      bids[nb++] = (ref_ord){c->has_bid && c->bid_per_kwh < lb ? c->bid_per_kwh : lb, i};
  }
  for (size_t j = 0; j < s->n_producers; j++) {
    const pg_market_producer *p = &s->producers[j];
    if (p->output_wh > 0)
      asks[na++] = (ref_ord){p->has_ask && p->ask_per_kwh > ls ? p->ask_per_kwh : ls, j};
  }
  qsort(bids, nb, sizeof *bids, ord_desc);
  qsort(asks, na, sizeof *asks, ord_asc);
  size_t bi = 0, ai = 0;
  int64_t bleft = nb ? s->consumers[bids[0].idx].usage_wh : 0;
  int64_t aleft = na ? s->producers[asks[0].idx].output_wh : 0;
  while (bi < nb && ai < na && bids[bi].key >= asks[ai].key) {
    int64_t q = bleft < aleft ? bleft : aleft;
    w->cm[bids[bi].idx] += q;
    w->pm[asks[ai].idx] += q;
    w->m += q;
    w->last_bid = bids[bi].key;
    w->last_ask = asks[ai].key;
    w->pnum[asks[ai].idx] += (u128)2 * bids[bi].key * (uint64_t)q;
    bleft -= q;
    aleft -= q;
    if (bleft == 0 && ++bi < nb) bleft = s->consumers[bids[bi].idx].usage_wh;
    if (aleft == 0 && ++ai < na) aleft = s->producers[asks[ai].idx].output_wh;
  }
  for (size_t j = 0; j < s->n_producers; j++)
    w->pnum[j] += (u128)2 * ls * (uint64_t)(s->producers[j].output_wh - w->pm[j]);
}

static void test_auction_walk(void **state) {
  (void)state;
  pg_market_producer p[AN];
  pg_market_consumer c[AN];
  ref_ord it[AN];
  int64_t want[AN];
  rng_state = 99;
  for (int t = 0; t < 20000; t++) {
    uint64_t pmax = t % 2 ? 10 : 1000;
    int64_t whmax = t % 3 ? 5 : 3000;
    pg_market_slot s = {p, below(AN + 1), c, below(AN + 1), 0, 0, 0, 0, 0, 0, 0, NULL, 0};
    uint64_t a = below(pmax + 1), b = below(pmax + 1);
    s.import_price = a > b ? a : b;
    s.export_price = a > b ? b : a;
    for (size_t j = 0; j < s.n_producers; j++)
      p[j] = (pg_market_producer){NULL, (int64_t)below((uint64_t)whmax + 1), below(pmax * 2),
                                  below(4) != 0};
    for (size_t i = 0; i < s.n_consumers; i++)
      c[i] = (pg_market_consumer){NULL, (int64_t)below((uint64_t)whmax + 1), below(pmax * 2),
                                  below(4) != 0, 0, 0};
    ref_walk w;
    ref_auction(&s, &w);
    for (int bid = 0; bid < 2; bid++) {
      pg_market_result r;
      pg_diag d = {{0}};
      pg_market_mech mech = bid ? PG_MARKET_PAY_AS_BID : PG_MARKET_PAY_AS_CLEAR;
      assert_int_equal(pg_market_ws_settle(ws, &s, mech, &r, &d), PG_OK);
      assert_int_equal(r.matched_wh, w.m);
      for (size_t i = 0; i < s.n_consumers; i++)
        assert_int_equal(r.consumers[i].community_wh, w.cm[i]);
      for (size_t j = 0; j < s.n_producers; j++)
        assert_int_equal(r.producers[j].community_wh, w.pm[j]);
      if (!bid && w.m) assert_true(r.buy_price == (double)(w.last_bid + w.last_ask) / 2.0);
      if (!bid) continue;
      u128 sum = 0;
      for (size_t j = 0; j < s.n_producers; j++) sum += w.pnum[j];
      ref_round(w.pnum, s.n_producers, 2000, (uint64_t)(sum / 2000 + (sum % 2000 != 0)), want,
                it);
      for (size_t j = 0; j < s.n_producers; j++) assert_int_equal(r.producers[j].amount, want[j]);
    }
  }
}

static int setup(void **state) {
  (void)state;
  alloc_big();
  pg_diag d = {{0}};
  return pg_market_ws_new(&ws, &d);
}

static int teardown(void **state) {
  (void)state;
  pg_market_ws_free(ws);
  free(big.p);
  free(big.c);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_divider),
      cmocka_unit_test(test_rounding),
      cmocka_unit_test(test_auction_walk),
      cmocka_unit_test(test_golden_growing),
      cmocka_unit_test(test_golden_shrinking),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
#endif
