/* market_kpi.c — KPIs over a run of settled slots, and the Gini coefficient
 * of savings (see include/p2pgrid/market/market.h). */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/market/market.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

int pg_market_kpis_init(pg_market_kpis *k, size_t n_consumers, size_t n_producers) {
  memset(k, 0, sizeof *k);
  if (n_consumers > PG_MARKET_MAX_PARTIES || n_producers > PG_MARKET_MAX_PARTIES)
    return PG_ERR_TOO_LARGE;
  k->n_consumers = n_consumers;
  k->n_producers = n_producers;
  size_t nc = n_consumers ? n_consumers : 1, np = n_producers ? n_producers : 1;
  k->consumer_bill = calloc(nc, sizeof(int64_t));
  k->consumer_savings = calloc(nc, sizeof(int64_t));
  k->producer_revenue = calloc(np, sizeof(int64_t));
  k->producer_savings = calloc(np, sizeof(int64_t));
  if (!k->consumer_bill || !k->consumer_savings || !k->producer_revenue || !k->producer_savings) {
    pg_market_kpis_free(k);
    return PG_ERR_NOMEM;
  }
  return PG_OK;
}

void pg_market_kpis_free(pg_market_kpis *k) {
  if (!k) return;
  free(k->consumer_bill);
  free(k->consumer_savings);
  free(k->producer_revenue);
  free(k->producer_savings);
  memset(k, 0, sizeof *k);
}

/* a += v, or false on int64 overflow (a unchanged) */
static bool fits(int64_t a, int64_t v) {
  int64_t t;
  return !__builtin_add_overflow(a, v, &t);
}

/* Checks every sum first, so a refused slot leaves k unchanged. */
int pg_market_kpis_add(pg_market_kpis *k, const pg_market_result *r) {
  if (r->n_consumers != k->n_consumers || r->n_producers != k->n_producers)
    return PG_ERR_INVALID;
  int64_t bills = 0, cbase = 0, revs = 0, pbase = 0, sav = 0;
  bool ok = fits(k->demand_wh, r->demand_wh) && fits(k->supply_wh, r->supply_wh) &&
            fits(k->community_wh, r->matched_wh);
  for (size_t i = 0; ok && i < r->n_consumers; i++) {
    const pg_market_party *c = &r->consumers[i];
    ok = fits(k->consumer_bill[i], c->total) && fits(k->consumer_savings[i], c->savings) &&
         fits(bills, c->total) && fits(cbase, c->baseline) && fits(sav, c->savings);
    if (ok) {
      bills += c->total;
      cbase += c->baseline;
      sav += c->savings;
    }
  }
  for (size_t j = 0; ok && j < r->n_producers; j++) {
    const pg_market_party *p = &r->producers[j];
    ok = fits(k->producer_revenue[j], p->total) && fits(k->producer_savings[j], p->savings) &&
         fits(revs, p->total) && fits(pbase, p->baseline) && fits(sav, p->savings);
    if (ok) {
      revs += p->total;
      pbase += p->baseline;
      sav += p->savings;
    }
  }
  ok = ok && fits(k->consumer_bills, bills) && fits(k->consumer_baseline, cbase) &&
       fits(k->producer_revenues, revs) && fits(k->producer_baseline, pbase) &&
       fits(k->total_savings, sav);
  if (!ok) return PG_ERR_TOO_LARGE;
  k->slots++;
  k->demand_wh += r->demand_wh;
  k->supply_wh += r->supply_wh;
  k->community_wh += r->matched_wh;
  for (size_t i = 0; i < r->n_consumers; i++) {
    k->consumer_bill[i] += r->consumers[i].total;
    k->consumer_savings[i] += r->consumers[i].savings;
  }
  for (size_t j = 0; j < r->n_producers; j++) {
    k->producer_revenue[j] += r->producers[j].total;
    k->producer_savings[j] += r->producers[j].savings;
  }
  k->consumer_bills += bills;
  k->consumer_baseline += cbase;
  k->producer_revenues += revs;
  k->producer_baseline += pbase;
  k->total_savings += sav;
  return PG_OK;
}

static uint32_t ppm(int64_t num, int64_t den) {
  if (den <= 0 || num <= 0) return 0;
  return (uint32_t)((u128)num * 1000000u / (u128)den);
}

uint32_t pg_market_kpis_self_sufficiency_ppm(const pg_market_kpis *k) {
  return ppm(k->community_wh, k->demand_wh);
}

uint32_t pg_market_kpis_self_consumption_ppm(const pg_market_kpis *k) {
  return ppm(k->community_wh, k->supply_wh);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* With x sorted ascending (x_(1) <= ... <= x_(n)), sum_i sum_j |x_i - x_j| =
 * 2 sum_i (2i - n - 1) x_(i), so G = sum_i (2i-n-1) x_(i) / (n sum x). The
 * shift by min s leaves the pairwise differences unchanged. */
int pg_market_gini_ppm(const int64_t *savings, size_t n, uint32_t *out) {
  *out = 0;
  if (n < 2) return PG_OK;
  int64_t *x = malloc(n * sizeof *x);
  if (!x) return PG_ERR_NOMEM;
  memcpy(x, savings, n * sizeof *x);
  qsort(x, n, sizeof *x, cmp_i64);
  i128 mn = x[0], sum = 0, wsum = 0;
  for (size_t i = 0; i < n; i++) {
    i128 v = (i128)x[i] - mn;
    sum += v;
    wsum += (i128)(2 * (int64_t)(i + 1) - (int64_t)n - 1) * v;
  }
  free(x);
  if (sum == 0) return PG_OK;
  *out = (uint32_t)((u128)wsum * 1000000u / ((u128)sum * n));
  return PG_OK;
}

int pg_market_kpis_gini_ppm(const pg_market_kpis *k, uint32_t *out) {
  size_t n = k->n_consumers + k->n_producers;
  *out = 0;
  if (n == 0) return PG_OK;
  int64_t *all = malloc(n * sizeof *all);
  if (!all) return PG_ERR_NOMEM;
  if (k->n_consumers) memcpy(all, k->consumer_savings, k->n_consumers * sizeof *all);
  if (k->n_producers)
    memcpy(all + k->n_consumers, k->producer_savings, k->n_producers * sizeof *all);
  int rc = pg_market_gini_ppm(all, n, out);
  free(all);
  return rc;
}
