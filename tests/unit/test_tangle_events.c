/* Unit tests: the Tangle's event sink (tangle.h "events"): what one submit
 * tells and in which order, metadata as get_meta gives it, nothing from a
 * duplicate, from the coordinator's dry run or from a rolled-back submit
 * (the coordinator's milestone built in its commit, or submitted after a
 * dry run when the node needs proof of work). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tangle_test_util.h"

#define MAX_EV 256

typedef struct rec_ev {
  int kind;
  uint8_t id[PG_ID_LEN];
  size_t raw_len;
  pg_msg_meta meta;
  uint32_t ms_index;
  uint64_t ms_ts;
} rec_ev;

typedef struct sink {
  rec_ev ev[MAX_EV];
  size_t n;
  pg_tangle *t; /* for the lock check */
} sink;

static void on_event(void *ctx, const pg_tangle_event *e) {
  sink *s = ctx;
  assert_true(s->n < MAX_EV);
  rec_ev *r = &s->ev[s->n++];
  memset(r, 0, sizeof *r);
  r->kind = e->kind;
  memcpy(r->id, e->id, PG_ID_LEN);
  r->raw_len = e->raw_len;
  if (e->kind == PG_TANGLE_EV_MESSAGE) assert_non_null(e->raw);
  if (e->meta) r->meta = *e->meta;
  r->ms_index = e->ms_index;
  r->ms_ts = e->ms_timestamp;
}

static size_t count(const sink *s, size_t from, int kind, const uint8_t *id) {
  size_t n = 0;
  for (size_t i = from; i < s->n; i++)
    if (s->ev[i].kind == kind && (!id || memcmp(s->ev[i].id, id, PG_ID_LEN) == 0)) n++;
  return n;
}

static tt_fixture *open_with_sink(void **state, sink *s) {
  tt_fixture *f = *state;
  memset(s, 0, sizeof *s);
  f->cfg.on_event = on_event;
  f->cfg.on_event_ctx = s;
  f->t = tt_open(&f->cfg);
  s->t = f->t;
  return f;
}

static void test_order_and_metadata(void **state) {
  static sink s;
  tt_fixture *f = open_with_sink(state, &s);
  assert_int_equal(tt_issue(f->t, 1), 1);
  /* the first milestone: the coordinator's indexation message, then the milestone */
  assert_int_equal(count(&s, 0, PG_TANGLE_EV_MILESTONE_CONFIRMED, NULL), 1);
  assert_int_equal(s.ev[s.n - 1].kind, PG_TANGLE_EV_MILESTONE_CONFIRMED);
  assert_int_equal(s.ev[s.n - 1].ms_index, 1);

  /* B waits for its parent X: X's submit tells MESSAGE X, SOLID X, SOLID B */
  uint8_t tip[1][PG_ID_LEN], x[PG_ID_LEN], b[PG_ID_LEN];
  size_t nt = 0;
  assert_int_equal(pg_tangle_select_tips(f->t, tip, 1, &nt), PG_OK);
  pg_buf xm;
  tt_build_indexation(&xm, pg_network_id("private-tangle"), (const uint8_t(*)[PG_ID_LEN])tip, 1,
                      "x", "parent");
  pg_message_id(xm.data, xm.len, x);
  uint8_t xp[1][PG_ID_LEN];
  memcpy(xp[0], x, PG_ID_LEN);
  size_t before = s.n;
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])xp, 1, "b", "child", b), PG_OK);
  assert_int_equal(s.n, before + 1); /* stored, not solid: MESSAGE only */
  assert_int_equal(s.ev[before].kind, PG_TANGLE_EV_MESSAGE);
  before = s.n;
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, xm.data, xm.len, NULL, NULL, &d), PG_OK);
  assert_int_equal(s.n, before + 3);
  assert_int_equal(s.ev[before].kind, PG_TANGLE_EV_MESSAGE);
  assert_memory_equal(s.ev[before].id, x, PG_ID_LEN);
  assert_int_equal(s.ev[before].raw_len, xm.len);
  assert_int_equal(s.ev[before + 1].kind, PG_TANGLE_EV_SOLID);
  assert_memory_equal(s.ev[before + 1].id, x, PG_ID_LEN);
  assert_int_equal(s.ev[before + 2].kind, PG_TANGLE_EV_SOLID);
  assert_memory_equal(s.ev[before + 2].id, b, PG_ID_LEN);
  assert_true(s.ev[before + 2].meta.solid);
  assert_int_equal(s.ev[before + 2].meta.referenced_by, 0);
  /* a duplicate tells nothing */
  before = s.n;
  assert_int_equal(pg_tangle_submit(f->t, xm.data, xm.len, NULL, NULL, &d), PG_OK);
  assert_int_equal(s.n, before);
  pg_buf_free(&xm);

  /* milestone 2: MESSAGE, LATEST, SOLID, REFERENCED x, b, ..., itself last, CONFIRMED */
  before = s.n;
  assert_int_equal(tt_issue(f->t, 1), 2);
  pg_milestone_info mi;
  assert_int_equal(pg_tangle_milestone(f->t, 2, &mi), PG_OK);
  assert_int_equal(s.ev[before].kind, PG_TANGLE_EV_MESSAGE);
  assert_memory_equal(s.ev[before].id, mi.message_id, PG_ID_LEN);
  assert_int_equal(s.ev[before + 1].kind, PG_TANGLE_EV_MILESTONE_LATEST);
  assert_int_equal(s.ev[before + 1].ms_index, 2);
  assert_int_equal(s.ev[before + 2].kind, PG_TANGLE_EV_SOLID);
  assert_int_equal(count(&s, before, PG_TANGLE_EV_REFERENCED, x), 1); /* dry run told nothing */
  assert_int_equal(count(&s, before, PG_TANGLE_EV_REFERENCED, b), 1);
  rec_ev *last = &s.ev[s.n - 1], *ms_ref = &s.ev[s.n - 2];
  assert_int_equal(last->kind, PG_TANGLE_EV_MILESTONE_CONFIRMED);
  assert_int_equal(last->ms_index, 2);
  assert_int_equal(last->ms_ts, mi.timestamp);
  assert_memory_equal(last->id, mi.message_id, PG_ID_LEN);
  assert_int_equal(ms_ref->kind, PG_TANGLE_EV_REFERENCED);
  assert_memory_equal(ms_ref->id, mi.message_id, PG_ID_LEN);
  /* every REFERENCED event's metadata is what get_meta says now */
  for (size_t i = before; i < s.n; i++) {
    if (s.ev[i].kind != PG_TANGLE_EV_REFERENCED) continue;
    pg_msg_meta m = tt_meta(f->t, s.ev[i].id);
    const pg_msg_meta *e = &s.ev[i].meta;
    assert_memory_equal(e->id, m.id, PG_ID_LEN);
    assert_int_equal(e->parents_count, m.parents_count);
    assert_memory_equal(e->parents, m.parents, (size_t)m.parents_count * PG_ID_LEN);
    assert_true(e->solid);
    assert_int_equal(e->referenced_by, m.referenced_by);
    assert_int_equal(e->milestone_index, m.milestone_index);
    assert_int_equal(e->inclusion, m.inclusion);
    assert_int_equal(e->conflict_reason, m.conflict_reason);
  }
}

/* A confirmation hook that fails on its n-th call. */
typedef struct fail_hook {
  int calls, fail_at;
} fail_hook;

static int failing_hook(void *ctx, uint32_t index, const uint8_t id[PG_ID_LEN], const pg_message *m,
                        bool *included, uint8_t *reason) {
  fail_hook *h = ctx;
  (void)index, (void)id, (void)m;
  *included = false;
  *reason = 3;
  return ++h->calls == h->fail_at ? PG_ERR_DB : 0;
}

/* A confirmation that fails rolls the milestone back and tells nothing.
 * pow 0: the coordinator builds the milestone inside its commit and walks
 * the cone once (hook call 1 is the confirmation); pow > 0: a dry run for
 * the Merkle root (call 1), then the confirmation of the submitted
 * milestone (call 2). The transaction goes in before the node needs proof
 * of work (reopened with it). */
static void rollback_tells_nothing(void **state, uint32_t pow) {
  static sink s;
  tt_fixture *f = *state;
  fail_hook h = {.fail_at = pow ? 2 : 1};
  f->cfg.tx_confirm = failing_hook;
  f->cfg.tx_confirm_ctx = &h;
  open_with_sink(state, &s);
  assert_int_equal(tt_issue(f->t, 1), 1);
  uint8_t tip[1][PG_ID_LEN], tx[PG_ID_LEN];
  size_t nt = 0;
  assert_int_equal(pg_tangle_select_tips(f->t, tip, 1, &nt), PG_OK);
  assert_int_equal(tt_submit_tx(f->t, (const uint8_t(*)[PG_ID_LEN])tip, 1, 7, tx), PG_OK);
  if (pow) {
    pg_tangle_close(f->t);
    f->cfg.min_pow_score = pow;
    open_with_sink(state, &s);
  }
  size_t before = s.n;
  uint8_t pk[32], sk[1][64];
  tt_key(0, pk, sk[0]);
  uint32_t index = 0;
  pg_diag d = {{0}};
  assert_int_not_equal(pg_tangle_issue_milestone(f->t, (const uint8_t(*)[64])sk, 1, NULL, &index, &d),
                       PG_OK);
  assert_int_equal(h.calls, h.fail_at);
  assert_int_equal(s.n, before); /* the milestone's submit rolled back: nothing told */
  assert_int_equal(tt_meta(f->t, tx).referenced_by, 0);
  pg_tangle_status st;
  pg_tangle_get_status(f->t, &st);
  assert_int_equal(st.confirmed_milestone_index, 1);
  assert_int_equal(st.latest_milestone_index, 1);
  /* the next try, with a hook that no longer fails, confirms it */
  h.fail_at = 0;
  h.calls = 0;
  assert_int_equal(tt_issue(f->t, 1), 2);
  assert_int_equal(h.calls, pow ? 2 : 1);
  assert_int_equal(tt_meta(f->t, tx).referenced_by, 2);
  assert_int_equal(count(&s, before, PG_TANGLE_EV_REFERENCED, tx), 1);
}

static void test_rollback_tells_nothing(void **state) { rollback_tells_nothing(state, 0); }
static void test_rollback_tells_nothing_pow(void **state) { rollback_tells_nothing(state, 1); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_order_and_metadata, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_rollback_tells_nothing, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_rollback_tells_nothing_pow, tt_setup, tt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
