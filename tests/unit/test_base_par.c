/* Unit tests for par.c (pg_par_for). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/base/par.h"

#define N 2000

typedef struct counts {
  atomic_int calls[N];
  atomic_int busy[PG_PAR_THREADS_MAX]; /* a worker number in use */
  atomic_int twice;                    /* a worker number used by two threads at once */
  atomic_int bad_worker;
  unsigned threads;
  size_t fail_a, fail_b; /* these indices fail (SIZE_MAX: none) */
  atomic_int total;
} counts;

static int count_fn(void *ctx, unsigned worker, size_t i, pg_diag *d) {
  counts *c = ctx;
  if (worker >= c->threads) {
    atomic_fetch_add(&c->bad_worker, 1);
    return PG_OK;
  }
  if (atomic_fetch_add(&c->busy[worker], 1) != 0) atomic_fetch_add(&c->twice, 1);
  atomic_fetch_add(&c->calls[i], 1);
  atomic_fetch_add(&c->total, 1);
  int rc = PG_OK;
  if (i == c->fail_a || i == c->fail_b) rc = pg_fail(d, PG_ERR_INVALID, "item %zu failed", i);
  atomic_fetch_sub(&c->busy[worker], 1);
  return rc;
}

static counts *counts_new(unsigned threads) {
  counts *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->threads = threads;
  c->fail_a = c->fail_b = SIZE_MAX;
  return c;
}

static void test_every_index_once(void **state) {
  (void)state;
  const unsigned threads[] = {0, 1, 2, 3, 8, 200};
  const size_t sizes[] = {0, 1, 5, N};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      unsigned nt = threads[t] ? threads[t] : 1;
      counts *c = counts_new(nt > PG_PAR_THREADS_MAX ? PG_PAR_THREADS_MAX : nt);
      pg_diag d = {{0}};
      assert_int_equal(pg_par_for(sizes[s], threads[t], count_fn, c, &d), PG_OK);
      for (size_t i = 0; i < sizes[s]; i++) assert_int_equal(atomic_load(&c->calls[i]), 1);
      for (size_t i = sizes[s]; i < N; i++) assert_int_equal(atomic_load(&c->calls[i]), 0);
      assert_int_equal(atomic_load(&c->twice), 0);
      assert_int_equal(atomic_load(&c->bad_worker), 0);
      free(c);
    }
  }
}

/* One thread: the items run in order and stop at the first failure. */
static void test_one_thread_stops_at_failure(void **state) {
  (void)state;
  counts *c = counts_new(1);
  c->fail_a = 10;
  pg_diag d = {{0}};
  assert_int_equal(pg_par_for(N, 1, count_fn, c, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "item 10 failed");
  assert_int_equal(atomic_load(&c->total), 11);
  free(c);
}

/* Several threads: the lowest failed index is the one reported, every
 * index below it ran, and the run stopped handing out indices. */
static void test_lowest_failure_reported(void **state) {
  (void)state;
  for (int rep = 0; rep < 50; rep++) {
    counts *c = counts_new(4);
    c->fail_a = 700;
    c->fail_b = 500;
    pg_diag d = {{0}};
    assert_int_equal(pg_par_for(N, 4, count_fn, c, &d), PG_ERR_INVALID);
    assert_string_equal(d.msg, "item 500 failed");
    for (size_t i = 0; i <= 500; i++) assert_int_equal(atomic_load(&c->calls[i]), 1);
    assert_true(atomic_load(&c->total) < N);
    free(c);
  }
}

/* The items really run at the same time: items 0 and 1 each wait (up to
 * ten seconds) until the other has started; one thread would time out. */
typedef struct meet {
  atomic_int arrived;
  atomic_int met;
} meet;

static int meet_fn(void *ctx, unsigned worker, size_t i, pg_diag *d) {
  (void)worker;
  meet *m = ctx;
  if (i > 1) return PG_OK;
  atomic_fetch_add(&m->arrived, 1);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    if (atomic_load(&m->arrived) == 2) {
      atomic_fetch_add(&m->met, 1);
      return PG_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec > 10) return pg_fail(d, PG_ERR_TIMEOUT, "item %zu waited alone", i);
    struct timespec nap = {0, 100000};
    nanosleep(&nap, NULL);
  }
}

static void test_runs_concurrently(void **state) {
  (void)state;
  meet m;
  atomic_init(&m.arrived, 0);
  atomic_init(&m.met, 0);
  pg_diag d = {{0}};
  assert_int_equal(pg_par_for(4, 2, meet_fn, &m, &d), PG_OK);
  assert_int_equal(atomic_load(&m.met), 2);
}

static void test_no_function(void **state) {
  (void)state;
  pg_diag d = {{0}};
  assert_int_equal(pg_par_for(3, 2, NULL, NULL, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "no function to run");
  assert_int_equal(pg_par_for(0, 2, NULL, NULL, &d), PG_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_index_once),
      cmocka_unit_test(test_one_thread_stops_at_failure),
      cmocka_unit_test(test_lowest_failure_reported),
      cmocka_unit_test(test_runs_concurrently),
      cmocka_unit_test(test_no_function),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
