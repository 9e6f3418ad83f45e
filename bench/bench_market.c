/* Market settlement: time to settle one slot of 1k, 10k, 100k and 200k
 * members (half producers, half consumers: 200k is the 100k
 * consumers + 100k producers; random outputs, usages, asks and bids) for
 * every trading mechanism, two ways side by side:
 *   market_settle_<mech>_<n>     pg_market_settle, allocating its arrays
 *                                (fresh pages) every slot;
 *   market_settle_ws_<mech>_<n>  pg_market_ws_settle on one workspace reused
 *                                for every slot (no allocation once warm);
 * each in ms/slot and ns/member (mean over the run). Both paths must give
 * the same results (checked, not timed). Beside them, the floor they are
 * measured against: market_touch_<n>, the ns/member of only reading every
 * member's input and writing its result entry once (no arithmetic), in the
 * same memory. Numbers only, no pass/fail.
 * Optional argv[1]: seconds per measurement (default 0.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/market/market.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static int settle_old(const pg_market_slot *s, pg_market_mech m, pg_market_result *keep) {
  pg_market_result r;
  pg_diag d = {{0}};
  if (pg_market_settle(s, m, &r, &d)) {
    fprintf(stderr, "bench_market: %s\n", d.msg);
    return -1;
  }
  if (keep) *keep = r;
  else pg_market_result_free(&r);
  return 0;
}

static int settle_ws(pg_market_ws *ws, const pg_market_slot *s, pg_market_mech m,
                     pg_market_result *r) {
  pg_diag d = {{0}};
  if (pg_market_ws_settle(ws, s, m, r, &d)) {
    fprintf(stderr, "bench_market: %s\n", d.msg);
    return -1;
  }
  return 0;
}

/* seconds per slot over at least secs (and 3 slots) */
static double time_slots(const pg_market_slot *s, pg_market_mech m, pg_market_ws *ws,
                         double secs) {
  size_t done = 0;
  double t0 = now(), t;
  do {
    pg_market_result r;
    if (ws ? settle_ws(ws, s, m, &r) : settle_old(s, m, NULL)) exit(1);
    done++;
    t = now();
  } while (t - t0 < secs || done < 3);
  return (t - t0) / (double)done;
}

static int same(const pg_market_result *a, const pg_market_result *b) {
  return a->consumer_payments == b->consumer_payments &&
         a->producer_revenues == b->producer_revenues && a->matched_wh == b->matched_wh &&
         a->grid_income == b->grid_income &&
         memcmp(a->consumers, b->consumers, a->n_consumers * sizeof *a->consumers) == 0 &&
         memcmp(a->producers, b->producers, a->n_producers * sizeof *a->producers) == 0;
}

/* the memory floor: read each member once, write its result entry once */
static double time_touch(const pg_market_slot *s, pg_market_party *rc, pg_market_party *rp,
                         double secs) {
  size_t done = 0;
  double t0 = now(), t;
  do {
    for (size_t i = 0; i < s->n_consumers; i++) {
      const pg_market_consumer *c = &s->consumers[i];
      int64_t u = c->usage_wh + (int64_t)(c->has_bid ? c->bid_per_kwh : 0);
      rc[i] = (pg_market_party){u, u, u, u, u, u, u};
    }
    for (size_t j = 0; j < s->n_producers; j++) {
      const pg_market_producer *p = &s->producers[j];
      int64_t o = p->output_wh + (int64_t)(p->has_ask ? p->ask_per_kwh : 0);
      rp[j] = (pg_market_party){o, o, o, o, o, o, o};
    }
    __asm__ volatile("" ::: "memory");
    done++;
    t = now();
  } while (t - t0 < secs || done < 3);
  return (t - t0) / (double)done;
}

static void print(const char *path, const char *mech, const char *label, double sec, size_t n) {
  printf("market_settle%s_%s_%s: %.3f ms/slot\n", path, mech, label, sec * 1e3);
  printf("market_settle%s_%s_%s_per_member: %.1f ns/member\n", path, mech, label,
         sec * 1e9 / (double)n);
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.5;
  static const size_t sizes[] = {1000, 10000, 100000, 200000};
  static const char *const labels[] = {"1k", "10k", "100k", "200k"};
  pg_market_ws *ws;
  pg_diag d = {{0}};
  if (pg_market_ws_new(&ws, &d)) return 1;
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t np = sizes[k] / 2, nc = sizes[k] - np;
    pg_market_producer *p = calloc(np, sizeof *p);
    pg_market_consumer *c = calloc(nc, sizeof *c);
    if (!p || !c) return 1;
    for (size_t j = 0; j < np; j++) {
      p[j].output_wh = (int64_t)(rnd() % 5000);
      p[j].has_ask = rnd() % 4 != 0;
      p[j].ask_per_kwh = 80 + rnd() % 240;
    }
    for (size_t i = 0; i < nc; i++) {
      c[i].usage_wh = (int64_t)(rnd() % 6000);
      c[i].has_bid = rnd() % 4 != 0;
      c[i].bid_per_kwh = 80 + rnd() % 240;
    }
    pg_market_slot s = {p, np, c, nc, 300, 100, 5, 200, 250, 150, 0, NULL, 0};
    pg_market_party *rc = malloc(nc * sizeof *rc), *rp = malloc(np * sizeof *rp);
    if (!rc || !rp) return 1;
    double touch = time_touch(&s, rc, rp, secs);
    printf("market_touch_%s: %.1f ns/member\n", labels[k], touch * 1e9 / (double)sizes[k]);
    free(rc);
    free(rp);
    for (int m = 0; m < PG_MARKET_NMECH; m++) {
      const char *name = pg_market_mech_name((pg_market_mech)m);
      pg_market_result old, neu;
      if (settle_old(&s, (pg_market_mech)m, &old) || settle_ws(ws, &s, (pg_market_mech)m, &neu))
        return 1;
      if (!same(&old, &neu)) {
        fprintf(stderr, "bench_market: %s %s: the workspace settled differently\n", name,
                labels[k]);
        return 1;
      }
      pg_market_result_free(&old);
      print("", name, labels[k], time_slots(&s, (pg_market_mech)m, NULL, secs), sizes[k]);
      print("_ws", name, labels[k], time_slots(&s, (pg_market_mech)m, ws, secs), sizes[k]);
    }
    free(p);
    free(c);
  }
  pg_market_ws_free(ws);
  return 0;
}
