/* Market settlement: time to settle one slot with 1k, 10k and 100k
 * participants (half producers, half consumers, random asks and bids) for
 * every mechanism. Prints "market_settle_<mech>_<n>: X ms/slot" only.
 * Optional argv[1]: seconds per measurement (default 0.5). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "p2pgrid/market.h"

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

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.5;
  static const size_t sizes[] = {1000, 10000, 100000};
  static const char *const labels[] = {"1k", "10k", "100k"};
  for (size_t k = 0; k < 3; k++) {
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
    for (int m = 0; m < PG_MARKET_NMECH; m++) {
      size_t done = 0;
      double t0 = now(), t;
      do {
        pg_market_result r;
        pg_diag d = {{0}};
        if (pg_market_settle(&s, (pg_market_mech)m, &r, &d)) {
          fprintf(stderr, "bench_market: %s\n", d.msg);
          return 1;
        }
        pg_market_result_free(&r);
        done++;
        t = now();
      } while (t - t0 < secs || done < 3);
      printf("market_settle_%s_%s: %.3f ms/slot\n", pg_market_mech_name((pg_market_mech)m),
             labels[k], (t - t0) * 1000.0 / (double)done);
    }
    free(p);
    free(c);
  }
  return 0;
}
