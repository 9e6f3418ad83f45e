/* lr.c — exact division and largest-remainder rounding shared by the market
 * and the sharing mechanisms (see market_int.h).
 *
 * Rounding computes every floor and remainder in one pass (64-bit numerators
 * through the invariant divider, 128-bit ones through the compiler's
 * division), then gives the k missing units to the k largest remainders
 * (ties: lower index) without sorting: a radix select finds the k-th
 * largest remainder T, digit by digit from the top (11 bits a round; the
 * first round's histogram is counted by the pass that divides, and only
 * the members whose upper digits equal T's so far stay candidates), every
 * member above T gets a unit and the first members (by index) equal to T
 * get the rest. That is exactly the first k of the order (remainder
 * descending, index ascending), the order the settlement has always used. */
#include <string.h>

#include "market_int.h"

#define DIGIT 11

/* The first round of the selection: hist counts rem[i] >> lo over all
 * members (2^width buckets); built by the pass that computes the
 * remainders. */
typedef struct lr_first {
  unsigned bits, lo;
  uint32_t hist[1u << DIGIT];
} lr_first;

static void lr_first_init(lr_first *f, u128 den) {
  uint64_t dmax = (den >> 64) ? UINT64_MAX : (uint64_t)(den - 1);
  f->bits = dmax ? 64 - (unsigned)__builtin_clzll(dmax) : 0;
  f->lo = f->bits > DIGIT ? f->bits - DIGIT : 0;
  memset(f->hist, 0, ((size_t)1 << (f->bits - f->lo)) * sizeof f->hist[0]);
}

/* The bucket b holding the need-th largest (from the top of hist[0..nb));
 * *need becomes its rank within the bucket. */
static uint64_t lr_bucket(const uint32_t *hist, size_t nb, size_t *need) {
  size_t b = nb, above = 0;
  while (b > 0) {
    b--;
    if (above + hist[b] >= *need) break;
    above += hist[b];
  }
  *need -= above;
  return b;
}

/* Adds 1 to out[i] for the k largest rem[i] (ties: lower index), 0 < k <
 * count of non-zero remainders. Each round gives a unit to every candidate
 * whose digit is above the bucket of the k-th largest and keeps those in it
 * (in index order) as the next round's candidates. */
static void lr_top(pg_lr_scratch *sc, size_t n, size_t k, lr_first *f, int64_t *out) {
  const uint64_t *rem = sc->rem;
  uint32_t *cand = sc->idx;
  size_t need = k, m = 0;
  unsigned lo = f->lo;
  uint64_t b = lr_bucket(f->hist, (size_t)1 << (f->bits - lo), &need);
  for (size_t i = 0; i < n; i++) {
    uint64_t dg = rem[i] >> lo;
    out[i] += dg > b;
    cand[m] = (uint32_t)i;
    m += dg == b;
  }
  uint32_t hist[1u << DIGIT];
  while (need < m && lo > 0) {
    unsigned hi = lo;
    lo = hi > DIGIT ? hi - DIGIT : 0;
    size_t nb = (size_t)1 << (hi - lo), mask = nb - 1, m2 = 0;
    memset(hist, 0, nb * sizeof hist[0]);
    for (size_t j = 0; j < m; j++) hist[(rem[cand[j]] >> lo) & mask]++;
    b = lr_bucket(hist, nb, &need);
    for (size_t j = 0; j < m; j++) {
      uint32_t i = cand[j];
      uint64_t dg = (rem[i] >> lo) & mask;
      out[i] += dg > b;
      cand[m2] = i;
      m2 += dg == b;
    }
    m = m2;
  }
  for (size_t j = 0; j < need; j++) out[cand[j]]++; /* equal remainders: lower index first */
}

/* Gives target - sum(out) units to the largest remainders (sc->rem[0..n),
 * m of them non-zero). */
static int lr_finish(pg_lr_scratch *sc, size_t n, size_t m, u128 sum, uint64_t target,
                     lr_first *f, int64_t *out) {
  if (sum > target || target - sum > m) return PG_ERR_STATE; /* cannot happen */
  size_t k = (size_t)(target - sum);
  if (k == 0) return PG_OK;
  if (k == m) {
    for (size_t i = 0; i < n; i++) out[i] += sc->rem[i] != 0;
    return PG_OK;
  }
  lr_top(sc, n, k, f, out);
  return PG_OK;
}

int pg_lr_round(pg_lr_scratch *sc, const u128 *num, size_t n, u128 den, uint64_t target,
                int64_t *out) {
  uint64_t *rem = sc->rem;
  u128 sum = 0;
  size_t m = 0;
  bool fast = (den >> 64) == 0;
  pg_divu v = pg_divu_make(fast ? (uint64_t)den : 1);
  lr_first f;
  lr_first_init(&f, den);
  for (size_t i = 0; i < n; i++) {
    u128 q;
    if (fast && (num[i] >> 64) == 0) {
      q = pg_divu_q(&v, (uint64_t)num[i]);
      rem[i] = (uint64_t)num[i] - (uint64_t)q * v.d;
    } else {
      q = num[i] / den;
      rem[i] = (uint64_t)(num[i] - q * den);
    }
    out[i] = (int64_t)q;
    sum += q;
    m += rem[i] != 0;
    f.hist[rem[i] >> f.lo]++;
  }
  return lr_finish(sc, n, m, sum, target, &f, out);
}

int pg_lr_lin(pg_lr_scratch *sc, uint64_t a, const int64_t *x, uint64_t b, const int64_t *y,
              size_t n, uint64_t den, uint64_t target, int64_t *out) {
  uint64_t *rem = sc->rem;
  u128 sum = 0, total = 0;
  size_t m = 0;
  pg_divu v = pg_divu_make(den);
  lr_first f;
  lr_first_init(&f, den);
  for (size_t i = 0; i < n; i++) {
    u128 num = (u128)a * (uint64_t)x[i];
    if (y) num += (u128)b * (uint64_t)(y[i] - x[i]);
    uint64_t q, r;
    if ((num >> 64) == 0) {
      q = pg_divu_q(&v, (uint64_t)num);
      r = (uint64_t)num - q * den;
    } else {
      q = (uint64_t)(num / den);
      r = (uint64_t)(num - (u128)q * den);
    }
    rem[i] = r;
    out[i] = (int64_t)q;
    sum += q;
    total += num;
    m += r != 0;
    f.hist[r >> f.lo]++;
  }
  if (target == PG_LR_FLOOR) target = pg_div_floor(total, den);
  else if (target == PG_LR_CEIL) target = pg_div_ceil(total, den);
  return lr_finish(sc, n, m, sum, target, &f, out);
}

int pg_lr_split(pg_lr_scratch *sc, uint64_t target, const int64_t *w, size_t n, int64_t W,
                int64_t *out) {
  if (W == 0 || target == 0) {
    memset(out, 0, n * sizeof *out);
    return W == 0 && target ? PG_ERR_STATE : PG_OK;
  }
  if (target == (uint64_t)W) { /* every share target*w_i/W = w_i exactly */
    memcpy(out, w, n * sizeof *out);
    return PG_OK;
  }
  return pg_lr_lin(sc, target, w, 0, NULL, n, (uint64_t)W, target, out);
}

int pg_market_fees(pg_lr_scratch *sc, const pg_market_slot *s, size_t nc, int64_t matched,
                   const int64_t *cm, const int64_t *amt, int64_t ctot, int64_t *fee,
                   int64_t *tmp) {
  uint64_t f1 = pg_div_floor((u128)s->fee_per_kwh * (uint64_t)matched, 1000);
  int rc = pg_lr_split(sc, f1, cm, nc, matched, fee);
  if (rc) return rc;
  uint64_t f2 = pg_div_floor((u128)s->fee_bp * (uint64_t)ctot, 10000);
  if (f2 == 0) return PG_OK;
  if ((rc = pg_lr_split(sc, f2, amt, nc, ctot, tmp))) return rc;
  for (size_t i = 0; i < nc; i++) fee[i] += tmp[i];
  return PG_OK;
}
