/* Unit tests: milestone issuing (coordinator), TIP-8 checks, TIP-2
 * white-flag confirmation order, inclusion states, replay on a second node,
 * persistence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "p2pgrid/base/hex.h"
#include "tangle_test_util.h"

typedef struct fixture {
  char *dir, *dir2;
  pg_vclock clock;
  pg_tangle_config cfg, cfg2;
  pg_tangle *t, *t2;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->dir = tt_mkdtemp();
  f->dir2 = tt_mkdtemp();
  pg_vclock_init(&f->clock, TT_START_MS);
  tt_config(&f->cfg, f->dir, &f->clock, 1);
  tt_config(&f->cfg2, f->dir2, &f->clock, 1);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  pg_tangle_close(f->t);
  pg_tangle_close(f->t2);
  tt_rmrf(f->dir);
  tt_rmrf(f->dir2);
  free(f);
  return 0;
}

/* ---- hook that records calls ---------------------------------------------- */

typedef struct hook_log {
  uint8_t ids[64][PG_ID_LEN];
  uint32_t index[64];
  size_t n;
} hook_log;

static int record_hook(void *ctx, uint32_t milestone_index, const uint8_t msg_id[PG_ID_LEN],
                       const pg_message *m, bool *included, uint8_t *conflict_reason) {
  hook_log *log = ctx;
  assert_int_equal(m->payload_type, PG_PAYLOAD_TRANSACTION);
  assert_true(log->n < 64);
  memcpy(log->ids[log->n], msg_id, PG_ID_LEN);
  log->index[log->n] = milestone_index;
  log->n++;
  *included = true;
  *conflict_reason = 0;
  return 0;
}

static void ms_raw(pg_tangle *t, uint32_t index, pg_buf *raw, uint8_t id[PG_ID_LEN]) {
  pg_milestone_info mi;
  assert_int_equal(pg_tangle_milestone(t, index, &mi), PG_OK);
  assert_int_equal(mi.index, index);
  memcpy(id, mi.message_id, PG_ID_LEN);
  pg_buf_init(raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(t, id, raw), PG_OK);
}

static void test_first_milestone_empty_network(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  assert_int_equal(tt_issue(f->t, 1), 1);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 1);
  assert_int_equal(s.latest_milestone_index, 1);
  assert_true(s.confirmed_milestone_timestamp == TT_START_MS / 1000);
  assert_int_equal(s.messages, 2); /* a filler message gives the milestone two parents */
  pg_buf raw;
  uint8_t id[PG_ID_LEN];
  ms_raw(f->t, 1, &raw, id);
  pg_message m;
  assert_int_equal(pg_message_parse(raw.data, raw.len, &m, NULL), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_MILESTONE);
  assert_int_equal(m.parents_count, 2);
  assert_memory_equal(m.parents, TT_SEP, PG_ID_LEN);
  uint8_t empty[32];
  pg_merkle_root(NULL, 0, empty);
  assert_memory_equal(m.u.milestone.inclusion_merkle_proof, empty, 32);
  pg_message_clear(&m);
  pg_msg_meta meta = tt_meta(f->t, id);
  assert_int_equal(meta.milestone_index, 1);
  assert_int_equal(meta.referenced_by, 1);
  assert_int_equal(meta.inclusion, PG_INCL_NO_TX);
  pg_buf_free(&raw);
  /* the next one references the previous milestone */
  assert_int_equal(tt_issue(f->t, 1), 2);
  ms_raw(f->t, 2, &raw, id);
  pg_milestone_info mi1;
  assert_int_equal(pg_tangle_milestone(f->t, 1, &mi1), PG_OK);
  assert_int_equal(pg_message_parse(raw.data, raw.len, &m, NULL), PG_OK);
  bool found = false;
  for (int i = 0; i < m.parents_count; i++)
    if (memcmp(m.parents + i * PG_ID_LEN, mi1.message_id, PG_ID_LEN) == 0) found = true;
  assert_true(found);
  pg_message_clear(&m);
  pg_buf_free(&raw);
  assert_int_equal(pg_tangle_milestone(f->t, 3, &mi1), PG_ERR_NOT_FOUND);
}

/* pow 0: the coordinator walks the cone once, building the milestone in its
 * commit; pow > 0 (the node reopened needing proof of work after the
 * transactions went in): a dry run for the root, then the confirmation. */
static void white_flag_order(void **state, uint32_t pow) {
  fixture *f = *state;
  hook_log log = {0};
  f->cfg.tx_confirm = record_hook;
  f->cfg.tx_confirm_ctx = &log;
  f->cfg.tip_max_children = 1; /* every approved tip leaves: the milestone sees T5 only */
  f->t = tt_open(&f->cfg);
  uint8_t T[6][PG_ID_LEN], p[2][PG_ID_LEN];
  assert_int_equal(tt_submit_tx(f->t, &TT_SEP, 1, 1, T[1]), PG_OK);
  assert_int_equal(tt_submit_tx(f->t, (const uint8_t(*)[PG_ID_LEN])T[1], 1, 2, T[2]), PG_OK);
  assert_int_equal(tt_submit_tx(f->t, &TT_SEP, 1, 3, T[3]), PG_OK);
  memcpy(p[0], T[2], PG_ID_LEN);
  memcpy(p[1], T[3], PG_ID_LEN);
  assert_int_equal(tt_submit_tx(f->t, (const uint8_t(*)[PG_ID_LEN])p, 2, 4, T[4]), PG_OK);
  memcpy(p[0], T[1], PG_ID_LEN);
  memcpy(p[1], T[4], PG_ID_LEN);
  assert_int_equal(tt_submit_tx(f->t, (const uint8_t(*)[PG_ID_LEN])p, 2, 5, T[5]), PG_OK);

  /* Expected TIP-2 post-order: parents are visited in sorted order. */
  bool t1_first = memcmp(T[1], T[4], PG_ID_LEN) < 0; /* T5's parents */
  bool t2_first = memcmp(T[2], T[3], PG_ID_LEN) < 0; /* T4's parents */
  int order[5];
  if (t2_first) {
    int o[5] = {1, 2, 3, 4, 5};
    memcpy(order, o, sizeof o);
  } else if (t1_first) {
    int o[5] = {1, 3, 2, 4, 5};
    memcpy(order, o, sizeof o);
  } else {
    int o[5] = {3, 1, 2, 4, 5};
    memcpy(order, o, sizeof o);
  }

  if (pow) {
    pg_tangle_close(f->t);
    f->cfg.min_pow_score = pow;
    f->t = tt_open(&f->cfg);
  }
  assert_int_equal(tt_issue(f->t, 1), 1);
  /* the confirmation, after the coordinator's dry run (for the Merkle root)
   * when it searches a nonce */
  int passes = pow ? 2 : 1;
  assert_int_equal(log.n, 5 * (size_t)passes);
  for (int pass = 0; pass < passes; pass++)
    for (int i = 0; i < 5; i++) {
      assert_memory_equal(log.ids[pass * 5 + i], T[order[i]], PG_ID_LEN);
      assert_int_equal(log.index[pass * 5 + i], 1);
    }
  for (int i = 1; i <= 5; i++) {
    pg_msg_meta m = tt_meta(f->t, T[i]);
    assert_int_equal(m.referenced_by, 1);
    assert_int_equal(m.inclusion, PG_INCL_INCLUDED);
    assert_int_equal(m.conflict_reason, 0);
    assert_int_equal(m.milestone_index, 0);
  }
  pg_buf raw;
  uint8_t msid[PG_ID_LEN];
  ms_raw(f->t, 1, &raw, msid);
  pg_message mm;
  assert_int_equal(pg_message_parse(raw.data, raw.len, &mm, NULL), PG_OK);
  uint8_t leaves[5][PG_ID_LEN], root[32];
  for (int i = 0; i < 5; i++) memcpy(leaves[i], T[order[i]], PG_ID_LEN);
  pg_merkle_root((const uint8_t(*)[PG_ID_LEN])leaves, 5, root);
  assert_memory_equal(mm.u.milestone.inclusion_merkle_proof, root, 32);
  assert_int_equal(mm.parents_count, 2);
  assert_memory_equal(mm.parents + PG_ID_LEN, T[5], PG_ID_LEN);
  pg_message_clear(&mm);
  pg_buf_free(&raw);
  pg_msg_meta m = tt_meta(f->t, msid);
  assert_int_equal(m.referenced_by, 1);
  assert_int_equal(m.milestone_index, 1);
  assert_int_equal(m.inclusion, PG_INCL_NO_TX);

  if (pow) return; /* the rest is about milestone 2 and the rates (a reopen resets them) */
  /* a message after milestone 1 is confirmed by 2, not 1 */
  uint8_t x[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])msid, 1, "after", "1", x), PG_OK);
  m = tt_meta(f->t, x);
  assert_int_equal(m.referenced_by, 0);
  assert_int_equal(m.inclusion, PG_INCL_UNKNOWN);
  pg_vclock_advance(&f->clock, 1000);
  log.n = 0;
  assert_int_equal(tt_issue(f->t, 1), 2);
  assert_int_equal(log.n, 0);
  m = tt_meta(f->t, x);
  assert_int_equal(m.referenced_by, 2);
  assert_int_equal(m.inclusion, PG_INCL_NO_TX);
  for (int i = 1; i <= 5; i++) assert_int_equal(tt_meta(f->t, T[i]).referenced_by, 1);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  /* between the two confirmations: x and milestone 2 stored and referenced in 1 s */
  assert_true(s.messages_per_second == 2.0);
  assert_true(s.referenced_messages_per_second == 2.0);
  assert_true(s.referenced_rate == 100.0);
  assert_true(s.confirmed_milestone_timestamp == TT_START_MS / 1000 + 1);
}

static void test_white_flag_order(void **state) { white_flag_order(state, 0); }
static void test_white_flag_order_pow(void **state) { white_flag_order(state, 1); }

static void test_no_hook_conflicting(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t tx[PG_ID_LEN];
  assert_int_equal(tt_submit_tx(f->t, &TT_SEP, 1, 9, tx), PG_OK);
  assert_int_equal(tt_issue(f->t, 1), 1);
  pg_msg_meta m = tt_meta(f->t, tx);
  assert_int_equal(m.referenced_by, 1);
  assert_int_equal(m.inclusion, PG_INCL_CONFLICTING);
  assert_int_equal(m.conflict_reason, 255);
  pg_buf raw;
  uint8_t msid[PG_ID_LEN];
  ms_raw(f->t, 1, &raw, msid);
  pg_message mm;
  assert_int_equal(pg_message_parse(raw.data, raw.len, &mm, NULL), PG_OK);
  uint8_t empty[32];
  pg_merkle_root(NULL, 0, empty);
  assert_memory_equal(mm.u.milestone.inclusion_merkle_proof, empty, 32);
  pg_message_clear(&mm);
  pg_buf_free(&raw);
}

static void test_bad_milestones(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t a[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "m", "a", a), PG_OK);
  assert_int_equal(tt_issue(f->t, 1), 1);
  pg_buf raw;
  uint8_t msid[PG_ID_LEN], id[PG_ID_LEN];
  ms_raw(f->t, 1, &raw, msid);
  pg_buf araw;
  pg_buf_init(&araw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(f->t, a, &araw), PG_OK);
  pg_diag d = {{0}};

  /* a node that trusts only key 1 */
  tt_config(&f->cfg2, f->dir2, &f->clock, 0);
  uint8_t sk[64];
  tt_key(1, f->cfg2.ms_public_keys[0], sk);
  f->cfg2.ms_keys_count = 1;
  f->cfg2.ms_threshold = 1;
  f->t2 = tt_open(&f->cfg2);
  assert_int_equal(pg_tangle_submit(f->t2, araw.data, araw.len, id, NULL, &d), PG_OK);
  assert_int_equal(pg_tangle_submit(f->t2, raw.data, raw.len, id, NULL, &d), PG_ERR_CRYPTO);
  assert_non_null(strstr(d.msg, "unknown public key"));
  assert_int_equal(pg_tangle_get_meta(f->t2, msid, &(pg_msg_meta){0}), PG_ERR_NOT_FOUND);
  pg_tangle_status s;
  pg_tangle_get_status(f->t2, &s);
  assert_int_equal(s.latest_milestone_index, 0);
  assert_int_equal(s.messages, 1);
  pg_tangle_close(f->t2);
  f->t2 = NULL;
  tt_rmrf(f->dir2);
  f->dir2 = tt_mkdtemp();

  /* a node that needs keys 0 and 1 (threshold 2) */
  tt_config(&f->cfg2, f->dir2, &f->clock, 2);
  f->t2 = tt_open(&f->cfg2);
  assert_int_equal(pg_tangle_submit(f->t2, raw.data, raw.len, id, NULL, &d), PG_ERR_CRYPTO);
  pg_tangle_close(f->t2);
  f->t2 = NULL;
  tt_rmrf(f->dir2);
  f->dir2 = tt_mkdtemp();

  /* the right key, a damaged signature */
  tt_config(&f->cfg2, f->dir2, &f->clock, 1);
  f->t2 = tt_open(&f->cfg2);
  raw.data[raw.len - 8 - 5] ^= 0x01; /* inside the last signature */
  assert_int_equal(pg_tangle_submit(f->t2, raw.data, raw.len, id, NULL, &d), PG_ERR_CRYPTO);
  assert_non_null(strstr(d.msg, "bad signature"));
  assert_int_equal(pg_tangle_get_meta(f->t2, id, &(pg_msg_meta){0}), PG_ERR_NOT_FOUND);
  raw.data[raw.len - 8 - 5] ^= 0x01;
  assert_int_equal(pg_tangle_submit(f->t2, raw.data, raw.len, id, NULL, &d), PG_OK);
  assert_memory_equal(id, msid, PG_ID_LEN);

  /* a node without keys accepts no milestone */
  pg_tangle_close(f->t2);
  f->t2 = NULL;
  tt_rmrf(f->dir2);
  f->dir2 = tt_mkdtemp();
  tt_config(&f->cfg2, f->dir2, &f->clock, 0);
  f->t2 = tt_open(&f->cfg2);
  assert_int_equal(pg_tangle_submit(f->t2, raw.data, raw.len, id, NULL, &d), PG_ERR_CRYPTO);

  /* the coordinator refuses keys the network does not know; the cone it
   * walked while building the milestone is left as it was */
  uint8_t b[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])msid, 1, "m", "b", b), PG_OK);
  uint8_t sks[1][64], pk[32];
  tt_key(5, pk, sks[0]);
  uint32_t idx = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->t, (const uint8_t(*)[64])sks, 1, NULL, &idx, &d),
                   PG_ERR_CRYPTO);
  assert_non_null(strstr(d.msg, "unknown public key"));
  assert_int_equal(idx, 0);
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.latest_milestone_index, 1);
  assert_int_equal(s.confirmed_milestone_index, 1);
  pg_msg_meta bm = tt_meta(f->t, b);
  assert_int_equal(bm.referenced_by, 0);
  assert_int_equal(bm.inclusion, PG_INCL_UNKNOWN);
  assert_int_equal(tt_issue(f->t, 1), 2);
  assert_int_equal(tt_meta(f->t, b).referenced_by, 2);
  pg_buf_free(&raw);
  pg_buf_free(&araw);
}

/* Every message id of a tangle: BFS over children from the SEP. */
static size_t all_ids(pg_tangle *t, uint8_t (*out)[PG_ID_LEN], size_t cap) {
  size_t n = 0;
  uint8_t kids[64][PG_ID_LEN];
  size_t count, total;
  assert_int_equal(pg_tangle_children(t, TT_SEP, 64, kids, &count, &total), PG_OK);
  for (size_t i = 0; i < count; i++) memcpy(out[n++], kids[i], PG_ID_LEN);
  for (size_t q = 0; q < n; q++) {
    assert_int_equal(pg_tangle_children(t, out[q], 64, kids, &count, &total), PG_OK);
    for (size_t i = 0; i < count; i++) {
      bool seen = false;
      for (size_t j = 0; j < n && !seen; j++) seen = memcmp(out[j], kids[i], PG_ID_LEN) == 0;
      if (!seen) {
        assert_true(n < cap);
        memcpy(out[n++], kids[i], PG_ID_LEN);
      }
    }
  }
  return n;
}

static void build_traffic(fixture *f, unsigned rounds) {
  for (unsigned r = 0; r < rounds; r++) {
    for (int i = 0; i < 3; i++) {
      pg_message_draft draft;
      memset(&draft, 0, sizeof draft);
      pg_buf_init(&draft.payload, PG_MSG_MAX_LEN);
      char data[32];
      snprintf(data, sizeof data, "r%u-%d", r, i);
      assert_int_equal(pg_indexation_build(&draft.payload, (const uint8_t *)"traffic", 7,
                                           (const uint8_t *)data, strlen(data), NULL),
                       PG_OK);
      uint8_t id[PG_ID_LEN];
      pg_diag d = {{0}};
      assert_int_equal(pg_tangle_attach(f->t, &draft, NULL, id, &d), PG_OK);
      pg_message_draft_clear(&draft);
    }
    uint8_t tips[8][PG_ID_LEN], id[PG_ID_LEN];
    size_t n;
    assert_int_equal(pg_tangle_select_tips(f->t, tips, 8, &n), PG_OK);
    assert_int_equal(tt_submit_tx(f->t, (const uint8_t(*)[PG_ID_LEN])tips, n, (uint8_t)(40 + r), id),
                     PG_OK);
    pg_vclock_advance(&f->clock, 1500);
    assert_int_equal(tt_issue(f->t, 1), r + 1);
  }
}

static void compare_tangles(pg_tangle *a, pg_tangle *b, uint8_t (*ids)[PG_ID_LEN], size_t n) {
  pg_tangle_status sa, sb;
  pg_tangle_get_status(a, &sa);
  pg_tangle_get_status(b, &sb);
  assert_int_equal(sa.confirmed_milestone_index, sb.confirmed_milestone_index);
  assert_int_equal(sa.latest_milestone_index, sb.latest_milestone_index);
  assert_true(sa.confirmed_milestone_timestamp == sb.confirmed_milestone_timestamp);
  assert_int_equal(sa.messages, sb.messages);
  assert_int_equal(sb.unsolid, 0);
  for (size_t i = 0; i < n; i++) {
    pg_msg_meta ma = tt_meta(a, ids[i]), mb = tt_meta(b, ids[i]);
    assert_true(mb.solid);
    assert_int_equal(ma.referenced_by, mb.referenced_by);
    assert_int_equal(ma.milestone_index, mb.milestone_index);
    assert_int_equal(ma.inclusion, mb.inclusion);
    assert_int_equal(ma.conflict_reason, mb.conflict_reason);
  }
  for (uint32_t k = 1; k <= sa.confirmed_milestone_index; k++) {
    pg_milestone_info ia, ib;
    assert_int_equal(pg_tangle_milestone(a, k, &ia), PG_OK);
    assert_int_equal(pg_tangle_milestone(b, k, &ib), PG_OK);
    assert_memory_equal(ia.message_id, ib.message_id, PG_ID_LEN);
    assert_true(ia.timestamp == ib.timestamp);
  }
}

static void replay(pg_tangle *from, pg_tangle *to, uint8_t (*ids)[PG_ID_LEN], size_t n, bool reverse) {
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  for (size_t k = 0; k < n; k++) {
    size_t i = reverse ? n - 1 - k : k;
    assert_int_equal(pg_tangle_get_raw(from, ids[i], &raw), PG_OK);
    uint8_t id[PG_ID_LEN];
    bool is_new = false;
    pg_diag d = {{0}};
    int rc = pg_tangle_submit(to, raw.data, raw.len, id, &is_new, &d);
    if (rc) fprintf(stderr, "replay: %s\n", d.msg);
    assert_int_equal(rc, PG_OK);
    assert_true(is_new);
    assert_memory_equal(id, ids[i], PG_ID_LEN);
  }
  pg_buf_free(&raw);
}

static void test_replay_on_second_node(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  build_traffic(f, 4);
  static uint8_t ids[256][PG_ID_LEN];
  size_t n = all_ids(f->t, ids, 256);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(n, s.messages);
  assert_int_equal(s.confirmed_milestone_index, 4);

  /* in order (arrival order is one valid topological order; BFS is another) */
  f->t2 = tt_open(&f->cfg2);
  replay(f->t, f->t2, ids, n, false);
  compare_tangles(f->t, f->t2, ids, n);
  pg_tangle_close(f->t2);
  f->t2 = NULL;

  /* in reverse: everything waits in the solidifier, then resolves at once */
  tt_rmrf(f->dir2);
  f->dir2 = tt_mkdtemp();
  f->cfg2.data_dir = f->dir2;
  f->t2 = tt_open(&f->cfg2);
  replay(f->t, f->t2, ids, n, true);
  compare_tangles(f->t, f->t2, ids, n);
  /* and after a restart */
  pg_tangle_close(f->t2);
  f->t2 = tt_open(&f->cfg2);
  compare_tangles(f->t, f->t2, ids, n);
}

static void test_milestone_waits_for_predecessor(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t a[PG_ID_LEN], b[PG_ID_LEN], p[2][PG_ID_LEN], id1[PG_ID_LEN], id2[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "w", "a", a), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "w", "b", b), PG_OK);
  pg_buf m1, m2;
  memcpy(p[0], TT_SEP, PG_ID_LEN);
  memcpy(p[1], a, PG_ID_LEN);
  tt_craft_milestone(&m1, 1, 100, (const uint8_t(*)[PG_ID_LEN])p, 2);
  memcpy(p[1], b, PG_ID_LEN);
  tt_craft_milestone(&m2, 2, 101, (const uint8_t(*)[PG_ID_LEN])p, 2);
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, m2.data, m2.len, id2, NULL, &d), PG_OK);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.latest_milestone_index, 2);
  assert_true(s.latest_milestone_timestamp == 101);
  assert_int_equal(s.confirmed_milestone_index, 0);
  assert_true(tt_meta(f->t, id2).solid);
  assert_int_equal(tt_meta(f->t, id2).milestone_index, 0); /* not applied yet */
  assert_int_equal(tt_meta(f->t, b).referenced_by, 0);
  /* the coordinator will not build on a gap */
  uint8_t sks[1][64], pk[32];
  tt_key(0, pk, sks[0]);
  uint32_t idx;
  assert_int_equal(pg_tangle_issue_milestone(f->t, (const uint8_t(*)[64])sks, 1, NULL, &idx, &d),
                   PG_ERR_UNAVAILABLE);

  assert_int_equal(pg_tangle_submit(f->t, m1.data, m1.len, id1, NULL, &d), PG_OK);
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 2);
  assert_true(s.confirmed_milestone_timestamp == 101);
  assert_int_equal(tt_meta(f->t, a).referenced_by, 1);
  assert_int_equal(tt_meta(f->t, id1).referenced_by, 1);
  assert_int_equal(tt_meta(f->t, id1).milestone_index, 1);
  assert_int_equal(tt_meta(f->t, b).referenced_by, 2);
  assert_int_equal(tt_meta(f->t, id2).referenced_by, 2);
  assert_int_equal(tt_meta(f->t, id2).milestone_index, 2);
  /* the coordinator carries on from there */
  assert_int_equal(tt_issue(f->t, 1), 3);
  pg_buf_free(&m1);
  pg_buf_free(&m2);
}

static void test_milestones_persist(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  build_traffic(f, 2);
  pg_milestone_info before[3];
  for (uint32_t k = 1; k <= 2; k++) assert_int_equal(pg_tangle_milestone(f->t, k, &before[k]), PG_OK);
  static uint8_t ids[64][PG_ID_LEN];
  size_t n = all_ids(f->t, ids, 64);
  pg_msg_meta metas[64];
  for (size_t i = 0; i < n; i++) metas[i] = tt_meta(f->t, ids[i]);
  pg_tangle_close(f->t);

  f->t = tt_open(&f->cfg);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.confirmed_milestone_index, 2);
  assert_int_equal(s.latest_milestone_index, 2);
  assert_true(s.confirmed_milestone_timestamp == before[2].timestamp);
  for (uint32_t k = 1; k <= 2; k++) {
    pg_milestone_info mi;
    assert_int_equal(pg_tangle_milestone(f->t, k, &mi), PG_OK);
    assert_memory_equal(mi.message_id, before[k].message_id, PG_ID_LEN);
    assert_true(mi.timestamp == before[k].timestamp);
  }
  for (size_t i = 0; i < n; i++) {
    pg_msg_meta m = tt_meta(f->t, ids[i]);
    assert_int_equal(m.referenced_by, metas[i].referenced_by);
    assert_int_equal(m.milestone_index, metas[i].milestone_index);
    assert_int_equal(m.inclusion, metas[i].inclusion);
    assert_int_equal(m.solid, metas[i].solid);
  }
  /* the tip set is rebuilt: the last milestone is a tip */
  uint8_t tips[8][PG_ID_LEN];
  size_t nt;
  assert_int_equal(pg_tangle_select_tips(f->t, tips, 8, &nt), PG_OK);
  bool found = false;
  for (size_t i = 0; i < nt; i++) found |= memcmp(tips[i], before[2].message_id, PG_ID_LEN) == 0;
  assert_true(found);
  assert_int_equal(tt_issue(f->t, 1), 3);
}

typedef struct worker {
  pg_tangle *t;
  int id;
  int failures;
} worker;

static void *attach_worker(void *arg) {
  worker *w = arg;
  for (int i = 0; i < 40; i++) {
    pg_message_draft draft;
    memset(&draft, 0, sizeof draft);
    pg_buf_init(&draft.payload, PG_MSG_MAX_LEN);
    char data[32];
    snprintf(data, sizeof data, "w%d-%d", w->id, i);
    if (pg_indexation_build(&draft.payload, (const uint8_t *)"conc", 4, (const uint8_t *)data,
                            strlen(data), NULL) != PG_OK)
      w->failures++;
    uint8_t id[PG_ID_LEN];
    pg_diag d = {{0}};
    if (pg_tangle_attach(w->t, &draft, NULL, id, &d) != PG_OK) w->failures++;
    pg_msg_meta m;
    if (pg_tangle_get_meta(w->t, id, &m) != PG_OK || !m.solid) w->failures++;
    pg_message_draft_clear(&draft);
  }
  return NULL;
}

static void test_concurrent_attach_and_milestones(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  worker w[2] = {{f->t, 0, 0}, {f->t, 1, 0}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, attach_worker, &w[i]), 0);
  for (uint32_t k = 1; k <= 6; k++) {
    pg_vclock_advance(&f->clock, 1000);
    assert_int_equal(tt_issue(f->t, 1), k);
  }
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  assert_int_equal(w[0].failures + w[1].failures, 0);
  assert_int_equal(tt_issue(f->t, 1), 7);
  static uint8_t ids[256][PG_ID_LEN];
  size_t n = all_ids(f->t, ids, 256);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(n, s.messages);
  assert_int_equal(s.unsolid, 0);
  size_t count, total;
  uint8_t out[1][PG_ID_LEN];
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"conc", 4, 1, out, &count, &total), PG_OK);
  assert_int_equal(total, 80);
}

static void test_unsolid_milestone_dropped(void **state) {
  fixture *f = *state;
  f->cfg.unsolid_max_age_ms = 1000;
  f->t = tt_open(&f->cfg);
  uint8_t p[2][PG_ID_LEN], id[PG_ID_LEN], x[PG_ID_LEN];
  memcpy(p[0], TT_SEP, PG_ID_LEN);
  memset(p[1], 0xee, PG_ID_LEN); /* never arrives */
  pg_buf ms;
  tt_craft_milestone(&ms, 1, 100, (const uint8_t(*)[PG_ID_LEN])p, 2);
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, ms.data, ms.len, id, NULL, &d), PG_OK);
  pg_buf_free(&ms);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.latest_milestone_index, 1);
  assert_int_equal(s.confirmed_milestone_index, 0);
  pg_vclock_advance(&f->clock, 1001);
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "d", "x", x), PG_OK);
  assert_int_equal(pg_tangle_get_meta(f->t, id, &(pg_msg_meta){0}), PG_ERR_NOT_FOUND);
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.latest_milestone_index, 0);
  assert_int_equal(tt_issue(f->t, 1), 1);
}

/* pg_tangle_get_confirmation gives pg_tangle_get_meta's confirmation
 * fields, of a message a milestone referenced and of one it did not, and
 * nothing else; PG_ERR_NOT_FOUND for an unknown id. */
static void test_confirmation_matches_meta(void **state) {
  fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t old[PG_ID_LEN], young[PG_ID_LEN], unknown[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "c", "referenced", old), PG_OK);
  assert_int_equal(tt_issue(f->t, 1), 1);
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "c", "not yet", young), PG_OK);
  const uint8_t *ids[2] = {old, young};
  for (int i = 0; i < 2; i++) {
    pg_msg_meta m, c;
    assert_int_equal(pg_tangle_get_meta(f->t, ids[i], &m), PG_OK);
    assert_int_equal(pg_tangle_get_confirmation(f->t, ids[i], &c), PG_OK);
    assert_memory_equal(c.id, ids[i], PG_ID_LEN);
    assert_int_equal(c.solid, m.solid);
    assert_int_equal(c.referenced_by, m.referenced_by);
    assert_int_equal(c.milestone_index, m.milestone_index);
    assert_int_equal(c.inclusion, m.inclusion);
    assert_int_equal(c.conflict_reason, m.conflict_reason);
    assert_int_equal(c.arrival_ms, m.arrival_ms);
    assert_int_equal(c.parents_count, 0);
    assert_false(c.should_promote || c.should_reattach);
  }
  pg_msg_meta c;
  assert_int_equal(pg_tangle_get_confirmation(f->t, old, &c), PG_OK);
  assert_int_equal(c.referenced_by, 1);
  assert_int_equal(c.inclusion, PG_INCL_NO_TX);
  assert_int_equal(pg_tangle_get_confirmation(f->t, young, &c), PG_OK);
  assert_int_equal(c.referenced_by, 0);
  assert_int_equal(c.inclusion, PG_INCL_UNKNOWN);
  memset(unknown, 0x5a, sizeof unknown);
  assert_int_equal(pg_tangle_get_confirmation(f->t, unknown, &c), PG_ERR_NOT_FOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_first_milestone_empty_network, setup, teardown),
      cmocka_unit_test_setup_teardown(test_confirmation_matches_meta, setup, teardown),
      cmocka_unit_test_setup_teardown(test_white_flag_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_white_flag_order_pow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_hook_conflicting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_milestones, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replay_on_second_node, setup, teardown),
      cmocka_unit_test_setup_teardown(test_milestone_waits_for_predecessor, setup, teardown),
      cmocka_unit_test_setup_teardown(test_milestones_persist, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_attach_and_milestones, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unsolid_milestone_dropped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
