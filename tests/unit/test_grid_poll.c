/* Issue 18: a daemon's poll of its node for what comes now and then
 * (pg_poll, grid_internal.h: a consumer's bills, a producer's payouts, the
 * grid's payments) is
 * due at the first step of each slot and after gaps that double from the
 * minimum while nothing is found, up to the cap, and at the next step
 * after a poll that found something. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/grid/grid_internal.h"

#define SLOT 900000u /* 15 minutes */

/* The times a poll runs when a step comes every 250 ms over [from, to),
 * nothing ever found; into at[] (at most max), the count returned. */
static size_t polls(pg_poll *p, uint64_t from, uint64_t to, uint64_t min, uint64_t cap,
                    uint64_t *at, size_t max) {
  size_t n = 0;
  for (uint64_t t = from; t < to; t += 250) {
    if (!pg_poll_due(p, t, SLOT)) continue;
    pg_poll_done(p, t, SLOT, false, min, cap);
    if (n < max) at[n] = t;
    n++;
  }
  return n;
}

static void test_gaps_double_to_the_cap(void **state) {
  (void)state;
  pg_poll p = {0};
  uint64_t at[64];
  size_t n = polls(&p, 1000, 1000 + 120000, 1000, 30000, at, 64);
  /* 1000, then gaps of 1, 2, 4, 8, 16, 30, 30, 30 s */
  const uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 62000, 92000};
  assert_int_equal(n, 8);
  for (size_t i = 0; i < n; i++) assert_int_equal(at[i], want[i]);
  /* a whole quiet slot: about 34 polls where a poll a second made 900 */
  pg_poll q = {0};
  n = polls(&q, 0, SLOT, 1000, 30000, at, 64);
  assert_true(n >= 30 && n <= 36);
}

static void test_found_polls_at_the_next_step(void **state) {
  (void)state;
  pg_poll p = {0};
  assert_true(pg_poll_due(&p, 5000, SLOT)); /* a zeroed poll is due */
  pg_poll_done(&p, 5000, SLOT, false, 1000, 30000);
  pg_poll_done(&p, 6000, SLOT, false, 1000, 30000); /* gap 2 s */
  assert_false(pg_poll_due(&p, 7999, SLOT));
  assert_true(pg_poll_due(&p, 8000, SLOT));
  pg_poll_done(&p, 8000, SLOT, true, 1000, 30000); /* found: no gap */
  assert_true(pg_poll_due(&p, 8000, SLOT));
  assert_true(pg_poll_due(&p, 8250, SLOT));
  pg_poll_done(&p, 8250, SLOT, false, 1000, 30000); /* nothing: from the minimum again */
  assert_false(pg_poll_due(&p, 9249, SLOT));
  assert_true(pg_poll_due(&p, 9250, SLOT));
}

static void test_due_at_a_new_slot(void **state) {
  (void)state;
  pg_poll p = {0};
  uint64_t t = SLOT - 10000;
  for (int i = 0; i < 5; i++) pg_poll_done(&p, t, SLOT, false, 1000, 30000); /* gap 16 s */
  assert_false(pg_poll_due(&p, SLOT - 1, SLOT));
  assert_true(pg_poll_due(&p, SLOT, SLOT)); /* the slot's first step, inside the gap */
  pg_poll_done(&p, SLOT, SLOT, false, 1000, 30000);
  assert_false(pg_poll_due(&p, SLOT + 1, SLOT)); /* gap 30 s (doubled, capped) */
  assert_false(pg_poll_due(&p, SLOT + 29999, SLOT));
  assert_true(pg_poll_due(&p, SLOT + 30000, SLOT));
}

static void test_cap_below_the_minimum(void **state) {
  (void)state;
  /* a consumer at 4 s slots: an eighth of a slot (500 ms) caps the gap */
  pg_poll p = {0};
  pg_poll_done(&p, 0, 4000, false, 1000, 500);
  assert_false(pg_poll_due(&p, 499, 4000));
  assert_true(pg_poll_due(&p, 500, 4000));
}

static void test_wake(void **state) {
  (void)state;
  pg_poll p = {0};
  for (int i = 0; i < 6; i++) pg_poll_done(&p, 1000, SLOT, false, 1000, 30000); /* gap 30 s */
  assert_false(pg_poll_due(&p, 2000, SLOT));
  pg_poll_wake(&p);
  assert_true(pg_poll_due(&p, 2000, SLOT)); /* at once */
  pg_poll_done(&p, 2000, SLOT, false, 1000, 30000);
  assert_false(pg_poll_due(&p, 2999, SLOT)); /* and from the minimum again */
  assert_true(pg_poll_due(&p, 3000, SLOT));
}

static void test_cap(void **state) {
  (void)state;
  assert_int_equal(pg_poll_cap(900000, 1000), 30000); /* 15 min: 112.5 s, capped */
  assert_int_equal(pg_poll_cap(64000, 500), 8000);    /* an eighth */
  assert_int_equal(pg_poll_cap(5000, 1000), 1000);    /* 625 ms: never under min */
  assert_int_equal(pg_poll_cap(5000, 500), 625);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gaps_double_to_the_cap),
      cmocka_unit_test(test_found_polls_at_the_next_step),
      cmocka_unit_test(test_due_at_a_new_slot),
      cmocka_unit_test(test_cap_below_the_minimum),
      cmocka_unit_test(test_wake),
      cmocka_unit_test(test_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
