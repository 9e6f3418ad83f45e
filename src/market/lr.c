/* lr.c — exact division and largest-remainder rounding shared by the market
 * and the sharing mechanisms (see market_int.h). */
#include <stdlib.h>

#include "market_int.h"

static int lr_cmp(const void *a, const void *b) {
  const pg_lr_item *x = a, *y = b;
  if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static void lr_swap(pg_lr_item *a, pg_lr_item *b) {
  pg_lr_item t = *a;
  *a = *b;
  *b = t;
}

/* Rearranges a[0..n) so that a[0..k) holds the k first items in lr_cmp
 * order (all keys differ: indices are unique). Quickselect with a
 * median-of-three pivot, falling back to qsort when the partitions go
 * badly; the chosen set does not depend on the algorithm. */
static void select_top(pg_lr_item *a, size_t n, size_t k) {
  size_t lo = 0, hi = n;
  int budget = 128;
  while (hi - lo > 16) {
    if (budget-- == 0) {
      qsort(a + lo, hi - lo, sizeof *a, lr_cmp);
      return;
    }
    size_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (lr_cmp(&a[mid], &a[lo]) < 0) lr_swap(&a[mid], &a[lo]);
    if (lr_cmp(&a[last], &a[lo]) < 0) lr_swap(&a[last], &a[lo]);
    if (lr_cmp(&a[mid], &a[last]) < 0) lr_swap(&a[mid], &a[last]); /* median now at last */
    size_t store = lo;
    for (size_t i = lo; i < last; i++)
      if (lr_cmp(&a[i], &a[last]) < 0) lr_swap(&a[i], &a[store++]);
    lr_swap(&a[store], &a[last]);
    if (k == store || k == store + 1) return;
    if (k < store) hi = store;
    else lo = store + 1;
  }
  for (size_t i = lo + 1; i < hi; i++) /* insertion sort of the last small range */
    for (size_t j = i; j > lo && lr_cmp(&a[j], &a[j - 1]) < 0; j--) lr_swap(&a[j], &a[j - 1]);
}

/* q = n / d, returns n mod d; 64-bit division when both fit (the usual case). */
static u128 divmod(u128 n, u128 d, u128 *q) {
  if ((n >> 64) == 0 && (d >> 64) == 0) {
    uint64_t a = (uint64_t)n, b = (uint64_t)d;
    *q = a / b;
    return a % b;
  }
  *q = n / d;
  return n % d;
}

/* out[i] = floor(num[i]/den) or that + 1, summing to target, the +1s going
 * to the largest remainders num[i] mod den (ties: lower index). Requires
 * sum floor <= target <= sum ceil (callers guarantee it). */
int pg_lr_round(pg_lr_scratch *sc, const u128 *num, size_t n, u128 den, uint64_t target,
                    int64_t *out) {
  pg_lr_item *it = sc->it;
  u128 sum = 0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    u128 q, r = divmod(num[i], den, &q);
    out[i] = (int64_t)q;
    sum += q;
    if (r) it[m++] = (pg_lr_item){(uint64_t)r, i};
  }
  if (sum > target || target - sum > m) return PG_ERR_STATE; /* cannot happen */
  size_t k = (size_t)(target - sum);
  if (k > 0 && k < m) select_top(it, m, k);
  for (size_t j = 0; j < k; j++) out[it[j].idx]++;
  return PG_OK;
}

/* Splits target over weights pro rata (exact shares target*w_i/W) by largest
 * remainder. W = 0 gives zeros (target must then be 0). num is scratch. */
int pg_lr_split(pg_lr_scratch *sc, uint64_t target, const int64_t *w, size_t n, int64_t W,
                    int64_t *out) {
  u128 *num = sc->num;
  if (W == 0) {
    for (size_t i = 0; i < n; i++) out[i] = 0;
    return target ? PG_ERR_STATE : PG_OK;
  }
  for (size_t i = 0; i < n; i++) num[i] = (u128)target * (uint64_t)w[i];
  return pg_lr_round(sc, num, n, (u128)W, target, out);
}

int pg_market_fees(pg_lr_scratch *sc, const pg_market_slot *s, pg_market_result *r,
                   const int64_t *cm, int64_t ctot, int64_t *w, int64_t *tmp) {
  size_t nc = r->n_consumers;
  uint64_t f1 = pg_div_floor((u128)s->fee_per_kwh * (uint64_t)r->matched_wh, 1000);
  int rc = pg_lr_split(sc, f1, cm, nc, r->matched_wh, tmp);
  if (rc) return rc;
  for (size_t i = 0; i < nc; i++) r->consumers[i].fee = tmp[i];
  for (size_t i = 0; i < nc; i++) w[i] = r->consumers[i].amount;
  uint64_t f2 = pg_div_floor((u128)s->fee_bp * (uint64_t)ctot, 10000);
  if ((rc = pg_lr_split(sc, f2, w, nc, ctot, tmp))) return rc;
  for (size_t i = 0; i < nc; i++) r->consumers[i].fee += tmp[i];
  return PG_OK;
}
