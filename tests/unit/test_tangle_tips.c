/* Unit tests: URTS tip selection (TIP-3): SEP fallback, sorted unique
 * selection, uniformity, removal after approvers and age, lazy / semi-lazy
 * scores, shouldPromote / shouldReattach, rebuild on reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tangle_test_util.h"

static bool contains(uint8_t (*ids)[PG_ID_LEN], size_t n, const uint8_t id[PG_ID_LEN]) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(ids[i], id, PG_ID_LEN) == 0) return true;
  return false;
}

static size_t tips(pg_tangle *t, uint8_t (*out)[PG_ID_LEN]) {
  size_t n = 0;
  assert_int_equal(pg_tangle_select_tips(t, out, 8, &n), PG_OK);
  for (size_t i = 1; i < n; i++) assert_true(memcmp(out[i - 1], out[i], PG_ID_LEN) < 0);
  return n;
}

static void test_sep_when_empty(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t out[8][PG_ID_LEN];
  assert_int_equal(tips(f->t, out), 1);
  assert_memory_equal(out[0], TT_SEP, PG_ID_LEN);
  size_t n;
  assert_int_equal(pg_tangle_select_tips(f->t, out, 0, &n), PG_ERR_INVALID);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.tips, 0);
}

static void test_sorted_unique_uniform(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t ten[10][PG_ID_LEN];
  for (int i = 0; i < 10; i++) {
    char data[16];
    snprintf(data, sizeof data, "%d", i);
    assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "tips", data, ten[i]), PG_OK);
  }
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.tips, 10);
  uint8_t out[8][PG_ID_LEN];
  for (int round = 0; round < 20; round++) {
    size_t n = tips(f->t, out); /* also checks strictly ascending = unique */
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) assert_true(contains(ten, 10, out[i]));
  }
  /* one at a time, every tip comes up */
  int seen[10] = {0};
  for (int draw = 0; draw < 400; draw++) {
    size_t n;
    assert_int_equal(pg_tangle_select_tips(f->t, out, 1, &n), PG_OK);
    assert_int_equal(n, 1);
    for (int i = 0; i < 10; i++)
      if (memcmp(out[0], ten[i], PG_ID_LEN) == 0) seen[i]++;
  }
  for (int i = 0; i < 10; i++) assert_true(seen[i] > 0);
  /* selection does not remove tips */
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.tips, 10);
}

static void test_removal_after_approvers(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg); /* tip_max_children 2 */
  uint8_t a[PG_ID_LEN], b[PG_ID_LEN], c[PG_ID_LEN], out[8][PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "x", "a", a), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])a, 1, "x", "b", b), PG_OK);
  size_t n = tips(f->t, out);
  assert_int_equal(n, 2); /* a has one approver: still a tip */
  assert_true(contains(out, n, a) && contains(out, n, b));
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])a, 1, "x", "c", c), PG_OK);
  n = tips(f->t, out);
  assert_int_equal(n, 2);
  assert_true(contains(out, n, b) && contains(out, n, c));
  assert_false(contains(out, n, a));
}

static void test_removal_after_age(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg); /* tip_max_age_ms 3000 */
  uint8_t a[PG_ID_LEN], b[PG_ID_LEN], out[8][PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "x", "a", a), PG_OK);
  pg_vclock_advance(&f->clock, 1000);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])a, 1, "x", "b", b), PG_OK);
  pg_vclock_advance(&f->clock, 1999); /* a: 2999 ms a tip */
  assert_int_equal(tips(f->t, out), 2);
  pg_vclock_advance(&f->clock, 1); /* a: 3000 ms, approved once: gone */
  size_t n = tips(f->t, out);
  assert_int_equal(n, 1);
  assert_memory_equal(out[0], b, PG_ID_LEN);
  /* a tip without approvers never ages out: the set does not run dry */
  pg_vclock_advance(&f->clock, 600000);
  n = tips(f->t, out);
  assert_int_equal(n, 1);
  assert_memory_equal(out[0], b, PG_ID_LEN);
}

static void test_lazy_and_semi_lazy(void **state) {
  tt_fixture *f = *state;
  f->cfg.tsc_c1 = 2;
  f->cfg.tsc_c2 = 3;
  f->cfg.tsc_max_depth = 4;
  f->t = tt_open(&f->cfg);
  for (uint32_t k = 1; k <= 4; k++) assert_int_equal(tt_issue(f->t, 1), k);
  pg_milestone_info ms4;
  assert_int_equal(pg_tangle_milestone(f->t, 4, &ms4), PG_OK);
  pg_vclock_advance(&f->clock, 3000); /* approved older milestones age out */

  uint8_t x[PG_ID_LEN], y[PG_ID_LEN], z[PG_ID_LEN], p[2][PG_ID_LEN], out[8][PG_ID_LEN];
  memcpy(p[0], TT_SEP, PG_ID_LEN);
  memcpy(p[1], ms4.message_id, PG_ID_LEN);
  /* x: OMRSI 0, YMRSI 4 at LSMI 4: 4 > C2 but not > M: semi-lazy */
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])p, 2, "l", "x", x), PG_OK);
  /* y: OMRSI = YMRSI = 0: 4 > C1: lazy */
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "l", "y", y), PG_OK);
  /* z: on the milestone: non-lazy */
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])ms4.message_id, 1, "l", "z", z),
                   PG_OK);

  pg_msg_meta m = tt_meta(f->t, x);
  assert_true(m.should_promote);
  assert_false(m.should_reattach);
  m = tt_meta(f->t, y);
  assert_false(m.should_promote);
  assert_true(m.should_reattach);
  m = tt_meta(f->t, z);
  assert_false(m.should_promote);
  assert_false(m.should_reattach);

  for (int round = 0; round < 10; round++) {
    size_t n = tips(f->t, out);
    assert_false(contains(out, n, x)); /* semi-lazy: never handed out */
    assert_false(contains(out, n, y)); /* lazy */
    assert_true(contains(out, n, z));
  }
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.tips, 2); /* z and x (ms4 has two approvers, y is lazy) */

  /* the coordinator confirms semi-lazy tips too, never lazy ones */
  assert_int_equal(tt_issue(f->t, 1), 5);
  assert_int_equal(tt_meta(f->t, x).referenced_by, 5);
  assert_int_equal(tt_meta(f->t, z).referenced_by, 5);
  m = tt_meta(f->t, y);
  assert_int_equal(m.referenced_by, 0);
  assert_true(m.should_reattach);
  m = tt_meta(f->t, x); /* referenced: both flags off */
  assert_false(m.should_promote);
  assert_false(m.should_reattach);

  /* a chain that falls behind: w on z (confirmed at 5) stays non-lazy for C1
   * milestones while the coordinator confirms other things */
  uint8_t w[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])z, 1, "l", "w", w), PG_OK);
  m = tt_meta(f->t, w);
  assert_false(m.should_promote || m.should_reattach);
}

/* OMRSI/YMRSI stored when b became solid go stale once an ancestor is
 * confirmed; scores must follow the confirmation. */
static void test_scores_follow_confirmation(void **state) {
  tt_fixture *f = *state;
  f->cfg.tsc_c1 = 2;
  f->cfg.tsc_c2 = 3;
  f->cfg.tsc_max_depth = 4;
  f->t = tt_open(&f->cfg);
  uint8_t a[PG_ID_LEN], b[PG_ID_LEN], c[PG_ID_LEN], prev[PG_ID_LEN], p[2][PG_ID_LEN];
  uint8_t out[8][PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "s", "a", a), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])a, 1, "s", "b", b), PG_OK);
  /* another coordinator's milestones: 1 confirms a (not b), 2 and 3 only the milestone chain */
  memcpy(p[0], TT_SEP, PG_ID_LEN);
  memcpy(p[1], a, PG_ID_LEN);
  for (uint32_t k = 1; k <= 3; k++) {
    pg_buf ms;
    tt_craft_milestone(&ms, k, 100 + k, (const uint8_t(*)[PG_ID_LEN])p, 2);
    pg_diag d = {{0}};
    assert_int_equal(pg_tangle_submit(f->t, ms.data, ms.len, prev, NULL, &d), PG_OK);
    pg_buf_free(&ms);
    memcpy(p[1], prev, PG_ID_LEN);
  }
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 3);
  assert_int_equal(tt_meta(f->t, a).referenced_by, 1);
  assert_int_equal(tt_meta(f->t, b).referenced_by, 0);
  /* b: O = Y = 1 now (a is confirmed by 1): 3 - 1 <= C1, <= C2: non-lazy.
   * With the values from before (0, 0) it would be lazy (3 - 0 > C1). */
  pg_msg_meta m = tt_meta(f->t, b);
  assert_false(m.should_promote || m.should_reattach);
  size_t n = tips(f->t, out);
  assert_true(contains(out, n, b));
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])b, 1, "s", "c", c), PG_OK);
  n = tips(f->t, out);
  assert_true(contains(out, n, c));
  m = tt_meta(f->t, c);
  assert_false(m.should_promote || m.should_reattach);
}

static void test_rebuild_on_reopen(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t a[PG_ID_LEN], b[PG_ID_LEN], c[PG_ID_LEN], out[8][PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "r", "a", a), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])a, 1, "r", "b", b), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "r", "c", c), PG_OK);
  pg_tangle_close(f->t);
  f->t = tt_open(&f->cfg);
  size_t n = tips(f->t, out);
  assert_int_equal(n, 2);
  assert_true(contains(out, n, b) && contains(out, n, c));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sep_when_empty, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_sorted_unique_uniform, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_removal_after_approvers, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_removal_after_age, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_lazy_and_semi_lazy, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_scores_follow_confirmation, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_rebuild_on_reopen, tt_setup, tt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
