/* test_util_meter.h — reading pg_meter windows in tests: energy() asks one
 * window (failing the test on an error), check_windows() partitions a span
 * at random and checks that the windows sum exactly to the union and give
 * the same answers asked again in reverse. Include after <cmocka.h> and
 * p2pgrid/meter/meter.h; needs H (ms of an hour). */
#ifndef P2PGRID_TEST_UTIL_METER_H
#define P2PGRID_TEST_UTIL_METER_H

static int64_t energy(pg_meter *m, int64_t a, int64_t b) {
  int64_t wh = -1;
  pg_diag d;
  int rc = m->ops->energy(m, (uint64_t)a, (uint64_t)b, &wh, &d);
  if (rc) fail_msg("%s", d.msg);
  assert_true(wh >= 0);
  return wh;
}

/* Random partitions of [a, b) (ms-unaligned edges, windows from 1 ms to 3 h,
 * crossing midnights) sum exactly to the union window; asking again in
 * reverse gives the same readings. */
static void check_windows(pg_meter *m, int64_t a, int64_t b, uint64_t seed) {
  enum { MAXW = 4000 };
  static int64_t edges[MAXW + 1], vals[MAXW];
  uint64_t r = seed * 2654435761u + 1;
  int n = 0;
  edges[0] = a;
  while (edges[n] < b && n < MAXW) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    int64_t step = (r >> 33) % 4 == 0 ? 1 + (int64_t)(r >> 50) % 1000 : 1 + (int64_t)(r >> 20) % (3 * H);
    edges[n + 1] = edges[n] + step > b ? b : edges[n] + step;
    n++;
  }
  int64_t sum = 0;
  for (int i = 0; i < n; i++) sum += vals[i] = energy(m, edges[i], edges[i + 1]);
  assert_int_equal(sum, energy(m, a, edges[n]));
  for (int i = n - 1; i >= 0; i--) assert_int_equal(vals[i], energy(m, edges[i], edges[i + 1]));
}

#endif
