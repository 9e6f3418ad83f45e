/* Wallet over the in-process client on a Tangle with its ledger (no node, no
 * HTTP): the pending set and following a transfer to its confirmation. The
 * test plays coordinator with pg_tangle_issue_milestone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/client/wallet.h"
#include "tangle_test_util.h"

#define MI 1000000ULL

typedef struct wfix {
  tt_fixture tf;
  pg_ledger *l;
  pg_client *c;
  pg_wallet *w;
  uint8_t seed[32];
  uint8_t addr0[32]; /* the wallet's first address (walk 0) */
  uint8_t other[32]; /* somebody else's address */
  uint8_t coo_sk[1][64];
} wfix;

/* A Tangle + ledger whose genesis gives the wallet's first address n outputs
 * of `amount` (the last one `last` when not 0), an in-process client and a
 * wallet on it; milestone 1 issued. */
static wfix *wfix_new_last(size_t n, uint64_t amount, uint64_t last, unsigned max_depth) {
  wfix *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->tf.dir = tt_mkdtemp();
  pg_vclock_init(&f->tf.clock, TT_START_MS);
  tt_config(&f->tf.cfg, f->tf.dir, &f->tf.clock, 1);
  if (max_depth) f->tf.cfg.tsc_max_depth = max_depth;
  uint8_t pk[32];
  tt_key(0, pk, f->coo_sk[0]);
  memset(f->seed, 0x42, sizeof f->seed);
  assert_int_equal(pg_iota_keypair(f->seed, 32, 0, 0, 0, NULL, NULL, f->addr0), PG_OK);
  memset(f->other, 0x77, sizeof f->other);

  pg_genesis_output *g = calloc(n, sizeof *g);
  assert_non_null(g);
  for (size_t i = 0; i < n; i++) {
    memcpy(g[i].address, f->addr0, 32);
    g[i].amount = i + 1 == n && last ? last : amount;
  }
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = n, .genesis = g};
  assert_int_equal(pg_ledger_new(&lc, &f->l), PG_OK);
  f->tf.cfg.tx_confirm = pg_ledger_apply; /* as pg_ledger_open_tangle wires them */
  f->tf.cfg.tx_confirm_ctx = f->l;
  f->tf.cfg.tx_precheck = pg_ledger_precheck;
  f->tf.cfg.tx_precheck_ctx = f->l;
  f->tf.t = tt_open(&f->tf.cfg);
  pg_diag d = {{0}};
  int rc = pg_ledger_attach(f->l, pg_tangle_db(f->tf.t), pg_tangle_db_path(f->tf.t), &d);
  if (rc) fprintf(stderr, "attach: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  free(g);
  assert_int_equal(pg_client_local_new(f->tf.t, f->l, &f->c, &d), PG_OK);
  assert_int_equal(pg_wallet_new(f->c, f->seed, 32, NULL, &f->w, &d), PG_OK);
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  assert_int_equal(ms, 1);
  return f;
}

static wfix *wfix_new(size_t n, uint64_t amount, unsigned max_depth) {
  return wfix_new_last(n, amount, 0, max_depth);
}

/* n outputs of 1 Mi, and *out: 1 Mi to somebody else. */
static wfix *wfix_pay_other(size_t n, pg_wallet_output *out) {
  wfix *f = wfix_new(n, MI, 0);
  memset(out, 0, sizeof *out);
  out->amount = MI;
  memcpy(out->address, f->other, 32);
  return f;
}

static void wfix_free(wfix *f) {
  pg_wallet_free(f->w);
  pg_client_free(f->c);
  pg_ledger_free(f->l); /* its statements live on the Tangle's connection */
  pg_tangle_close(f->tf.t);
  tt_rmrf(f->tf.dir);
  free(f);
}

static uint64_t messages(pg_tangle *t) {
  pg_tangle_status s;
  pg_tangle_get_status(t, &s);
  return s.messages;
}

/* A send the wallet cannot remember (its pending set is full) must fail
 * before anything is submitted: a transfer on the Tangle that the caller
 * was told failed, with inputs the wallet no longer holds back, would be
 * spent again by the next send. */
static void test_send_fails_before_submit_when_pending_set_full(void **state) {
  (void)state;
  pg_wallet_output out;
  wfix *f = wfix_pay_other(80, &out);
  pg_diag d = {{0}};
  int sent = 0, rc = PG_OK;
  for (; sent < 80; sent++) {
    uint64_t before = messages(f->tf.t);
    rc = pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d);
    if (rc) {
      assert_int_equal(messages(f->tf.t), before); /* nothing was submitted */
      break;
    }
    assert_int_equal(messages(f->tf.t), before + 1);
  }
  assert_int_equal(rc, PG_ERR_UNAVAILABLE);
  assert_true(sent >= 1 && sent < 80);
  assert_non_null(strstr(d.msg, "unconfirmed"));

  /* once the transfers are confirmed and followed, sending works again */
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &b, NULL, &d), PG_OK);
  assert_int_equal(b, (uint64_t)sent * MI); /* no transfer conflicted */
  wfix_free(f);
}

/* Issue 18: transfers nobody follows (a grid's sweeps and its dust
 * allowance) filled the pending set for good: at 1,000 households the
 * grid's sweeps reached 64 and from then on every payout and sweep failed
 * ("64 transfers ... unconfirmed") while the payments piled up. Once they
 * are confirmed the wallet forgets them by itself; transfers still
 * unconfirmed keep counting. */
static void test_confirmed_transfers_free_the_pending_set_unfollowed(void **state) {
  (void)state;
  pg_wallet_output out;
  wfix *f = wfix_pay_other(200, &out);
  pg_diag d = {{0}};
  int sent = 0, rc = PG_OK;
  for (; sent < 100 && (rc = pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d)) == PG_OK; sent++) {
  }
  assert_int_equal(rc, PG_ERR_UNAVAILABLE); /* full of unconfirmed transfers */
  assert_non_null(strstr(d.msg, "unconfirmed"));
  size_t swept = 0;
  assert_int_equal(pg_wallet_sweep(f->w, NULL, 0, NULL, NULL, NULL, &swept, &d), PG_ERR_UNAVAILABLE);
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  /* confirmed, never followed: sending and sweeping work again */
  rc = pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d);
  if (rc) fprintf(stderr, "send: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  rc = pg_wallet_sweep(f->w, NULL, 2, NULL, NULL, NULL, &swept, &d);
  if (rc) fprintf(stderr, "sweep: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  assert_int_equal(swept, 2);
  /* those two are unconfirmed: with 62 more the set is full again */
  for (sent = 0; sent < 100 && (rc = pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d)) == PG_OK; sent++) {
  }
  assert_int_equal(rc, PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "unconfirmed"));
  assert_int_equal(sent, 62);
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &b, NULL, &d), PG_OK);
  assert_int_equal(b, (64 + 1 + 62) * MI); /* nothing was spent twice */
  wfix_free(f);
}

/* Issue 18: an address full of small payments (a grid's, 1,000 households a
 * slot) and one large output behind them: the oldest 127 do not cover the
 * transfer, so larger outputs replace the smallest taken (once refused with
 * "more than 127 inputs"); a transfer no 127 outputs cover is still refused. */
/* The indexation payload of a stored message, as "index/data". */
static void stored_payload(pg_client *c, const uint8_t id[PG_ID_LEN], char *out, size_t cap) {
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_client_get_raw(c, id, &raw, NULL), PG_OK);
  pg_message m;
  assert_int_equal(pg_message_parse(raw.data, raw.len, &m, NULL), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_INDEXATION);
  snprintf(out, cap, "%.*s/%.*s", (int)m.u.indexation.index_len,
           (const char *)m.u.indexation.index, (int)m.u.indexation.data_len,
           (const char *)m.u.indexation.data);
  pg_message_clear(&m);
  pg_buf_free(&raw);
}

/* The in-process client's batch: the same messages and the same argument
 * errors as pg_client_submit_data one by one; an item that follows a
 * refused one is not sent, the next independent one is. */
static void test_local_submit_data_many(void **state) {
  (void)state;
  wfix *f = wfix_new(1, MI, 0);
  pg_client_data v[4] = {
      {.index = (const uint8_t *)"idx", .index_len = 3, .data = (const uint8_t *)"one", .data_len = 3},
      {.index = (const uint8_t *)"", .index_len = 0},
      {.index = (const uint8_t *)"idx", .index_len = 3, .follows = true},
      {.index = (const uint8_t *)"idx", .index_len = 3, .data = (const uint8_t *)"two", .data_len = 3,
       .follows = true},
  };
  v[3].follows = false;
  assert_int_equal(pg_client_submit_data_many(f->c, v, 4, NULL), PG_OK);
  assert_int_equal(v[0].rc, PG_OK);
  pg_diag d = {{0}};
  uint8_t id[PG_ID_LEN];
  assert_int_equal(v[1].rc, pg_client_submit_data(f->c, v[1].index, 0, NULL, 0, id, &d));
  assert_string_equal(v[1].d.msg, d.msg);
  assert_int_equal(v[2].rc, PG_ERR_STATE);
  assert_int_equal(v[3].rc, PG_OK);
  char got[64];
  stored_payload(f->c, v[0].id, got, sizeof got);
  assert_string_equal(got, "idx/one");
  stored_payload(f->c, v[3].id, got, sizeof got);
  assert_string_equal(got, "idx/two");
  pg_msg_meta mm;
  assert_int_equal(pg_client_get_meta(f->c, v[3].id, &mm, NULL), PG_OK);
  bool chained = false;
  for (size_t k = 0; k < mm.parents_count; k++)
    chained |= memcmp(mm.parents[k], v[0].id, PG_ID_LEN) == 0;
  assert_true(chained);
  assert_int_equal(pg_client_submit_data_many(NULL, v, 4, &d), PG_ERR_INVALID);
  wfix_free(f);
}

static void test_send_swaps_in_larger_outputs_past_127_inputs(void **state) {
  (void)state;
  wfix *f = wfix_new_last(200, MI, 1000 * MI, 0);
  pg_diag d = {{0}};
  pg_wallet_output out = {.amount = 500 * MI};
  memcpy(out.address, f->other, 32);
  assert_int_equal(pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d), PG_OK);
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &b, NULL, &d), PG_OK);
  assert_int_equal(b, 500 * MI);
  assert_int_equal(pg_client_address(f->c, f->addr0, &b, NULL, &d), PG_OK);
  assert_int_equal(b, 199 * MI + 500 * MI);
  /* 200 outputs of 1 Mi cannot make 150 Mi in one transfer (127 inputs at
   * most): refused as before */
  pg_wallet_output big = {.amount = 150 * MI};
  wfix *g = wfix_new(200, MI, 0);
  memcpy(big.address, g->other, 32);
  assert_int_equal(pg_wallet_send(g->w, &big, 1, NULL, NULL, NULL, &d), PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "more than 127 inputs"));
  wfix_free(g);
  wfix_free(f);
}

/* The wallet keeps derived key pairs: every address and secret key of a
 * walk is the one SLIP-10 derives, also when positions that share a cache
 * slot (n and n + 64 share one) are asked for in turns. */
static void test_walk_keys_are_derived_keys(void **state) {
  (void)state;
  pg_wallet_output out;
  wfix *f = wfix_pay_other(1, &out);
  static const uint32_t order[] = {0, 1, 64, 0, 65, 1, 2, 66, 2, 130, 64, 3, 127, 63, 191, 63};
  for (size_t r = 0; r < 2; r++)
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
      uint32_t n = order[i], ch = 9, ix = 9;
      uint8_t a[32], sk[64], want_a[32], want_sk[64], b[32];
      assert_int_equal(pg_wallet_walk_address(f->w, n, a, sk, &ch, &ix), PG_OK);
      assert_int_equal(ch, n % 2);
      assert_int_equal(ix, n / 2);
      assert_int_equal(pg_iota_keypair(f->seed, 32, 0, ch, ix, NULL, want_sk, want_a), PG_OK);
      assert_memory_equal(a, want_a, 32);
      assert_memory_equal(sk, want_sk, 64);
      assert_int_equal(pg_wallet_address(f->w, ch, ix, b), PG_OK);
      assert_memory_equal(b, want_a, 32);
    }
  wfix_free(f);
}

/* A transfer's signature is verified once, on the thread that submits it
 * (the ledger's precheck): the milestone's dry run and its white flag, which
 * run under the Tangle's lock on the coordinator's thread, find it verified.
 */
static void test_signatures_verified_at_submit(void **state) {
  (void)state;
  pg_wallet_output out;
  wfix *f = wfix_pay_other(3, &out);
  pg_diag d = {{0}};
  uint64_t before = pg_ledger_signatures_verified(f->l);
  assert_int_equal(pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d), PG_OK);
  assert_int_equal(pg_ledger_signatures_verified(f->l), before + 1); /* at submit */
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &b, NULL, &d), PG_OK);
  assert_int_equal(b, MI); /* confirmed */
  assert_int_equal(pg_ledger_signatures_verified(f->l), before + 1); /* none at the milestone */
  wfix_free(f);
}

/* The grid crashed after sending payout 1 and before it was confirmed: a new
 * wallet object from the same seed finds it (pending) on the node. Its inputs
 * must then be held back, or the next payout spends them again and one of the
 * two conflicts (seen under kill -9 in integration/grid_crash). */
static void test_found_pending_transfer_is_not_spent_again(void **state) {
  (void)state;
  wfix *f = wfix_new(2, MI, 0);
  pg_diag d = {{0}};
  static const char ref1[] = "p2pgrid:payout:1", ref2[] = "p2pgrid:payout:2";
  pg_wallet_output out = {.amount = MI};
  memcpy(out.address, f->other, 32);
  pg_wallet_send_opts so = {.index = (const uint8_t *)ref1, .index_len = strlen(ref1)};
  uint8_t sent[32], got[32];
  assert_int_equal(pg_wallet_send(f->w, &out, 1, &so, sent, NULL, &d), PG_OK);

  pg_wallet *w2 = NULL; /* "after the restart" */
  assert_int_equal(pg_wallet_new(f->c, f->seed, 32, NULL, &w2, &d), PG_OK);
  bool found = false;
  assert_int_equal(pg_wallet_find_transfer(w2, (const uint8_t *)ref1, strlen(ref1), f->other, MI,
                                           got, &found, &d),
                   PG_OK);
  assert_true(found);
  assert_memory_equal(got, sent, 32);
  so.index = (const uint8_t *)ref2;
  so.index_len = strlen(ref2);
  assert_int_equal(pg_wallet_send(w2, &out, 1, &so, NULL, NULL, &d), PG_OK);
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &b, NULL, &d), PG_OK);
  assert_int_equal(b, 2 * MI); /* both payouts included, none conflicted */
  /* the pending set of w2 now also follows the adopted transfer */
  uint8_t fin[32];
  pg_wallet_follow_opts fo = {.timeout_ms = 1, .poll_ms = 1};
  assert_int_equal(pg_wallet_follow(w2, sent, &fo, fin, &d), PG_OK);
  pg_wallet_free(w2);
  wfix_free(f);
}

/* A transfer can be confirmed through another message that carries the same
 * transaction (a reattachment, ours or anybody's). Following the message
 * that lost must report the transfer as included, with the message that won
 * as final id, not as a conflict. */
static void test_follow_reports_transfer_included_by_another_message(void **state) {
  (void)state;
  wfix *f = wfix_new(1, 10 * MI, 0);
  pg_diag d = {{0}};
  pg_wallet_output out = {.amount = MI};
  memcpy(out.address, f->other, 32);
  uint8_t a[32];
  assert_int_equal(pg_wallet_send(f->w, &out, 1, NULL, a, NULL, &d), PG_OK);

  /* B: the same transaction payload on the same parents, its id below A's so
   * that white flag (parents in ascending order) books B and A conflicts */
  pg_msg_meta ma;
  assert_int_equal(pg_tangle_get_meta(f->tf.t, a, &ma), PG_OK);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(f->tf.t, a, &raw), PG_OK);
  pg_message m;
  assert_int_equal(pg_message_parse(raw.data, raw.len, &m, &d), PG_OK);
  uint8_t b[32];
  for (uint64_t nonce = 1;; nonce++) {
    pg_buf msg;
    tt_build(&msg, m.network_id, (const uint8_t(*)[PG_ID_LEN])ma.parents, ma.parents_count,
             m.payload, m.payload_len, nonce);
    pg_message_id(msg.data, msg.len, b);
    if (memcmp(b, a, 32) < 0) {
      assert_int_equal(pg_tangle_submit(f->tf.t, msg.data, msg.len, b, NULL, &d), PG_OK);
      pg_buf_free(&msg);
      break;
    }
    pg_buf_free(&msg);
  }
  pg_message_clear(&m);
  pg_buf_free(&raw);

  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  pg_msg_meta mb;
  assert_int_equal(pg_tangle_get_meta(f->tf.t, a, &ma), PG_OK);
  assert_int_equal(pg_tangle_get_meta(f->tf.t, b, &mb), PG_OK);
  assert_int_equal(mb.inclusion, PG_INCL_INCLUDED);
  assert_int_equal(ma.inclusion, PG_INCL_CONFLICTING);

  uint8_t fin[32] = {0};
  int rc = pg_wallet_follow(f->w, a, &(pg_wallet_follow_opts){.timeout_ms = 5000, .poll_ms = 1}, fin,
                            &d);
  if (rc) fprintf(stderr, "follow: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  assert_memory_equal(fin, b, 32);
  uint64_t bal = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &bal, NULL, &d), PG_OK);
  assert_int_equal(bal, MI);
  /* forgotten: the remainder output can be spent by the next send */
  assert_int_equal(pg_wallet_send(f->w, &out, 1, NULL, NULL, NULL, &d), PG_OK);
  wfix_free(f);
}

/* Milestones count..count+k-1 crafted on a chain from the latest milestone
 * message (so they reference nothing else). */
static void craft_chain(wfix *f, unsigned k) {
  for (unsigned i = 0; i < k; i++) {
    pg_tangle_status s;
    pg_tangle_get_status(f->tf.t, &s);
    pg_milestone_info mi;
    assert_int_equal(pg_tangle_milestone(f->tf.t, s.confirmed_milestone_index, &mi), PG_OK);
    pg_buf msg;
    uint8_t parents[1][PG_ID_LEN], id[32];
    memcpy(parents[0], mi.message_id, 32);
    tt_craft_milestone(&msg, s.confirmed_milestone_index + 1, mi.timestamp + 1,
                       (const uint8_t(*)[PG_ID_LEN])parents, 1);
    pg_diag d = {{0}};
    assert_int_equal(pg_tangle_submit(f->tf.t, msg.data, msg.len, id, NULL, &d), PG_OK);
    pg_buf_free(&msg);
    pg_tangle_get_status(f->tf.t, &s);
    assert_int_equal(s.confirmed_milestone_index, mi.index + 1);
  }
}

/* follow() gave up after reattaching (timeout); the reattachment is then
 * confirmed. Following again with the id pg_wallet_send returned (the only
 * one the caller has) must find the transfer included, not reattach the
 * stale original once more and time out. */
static void test_follow_again_after_reattach_finds_the_transfer(void **state) {
  (void)state;
  wfix *f = wfix_new(1, 10 * MI, 2);
  pg_diag d = {{0}};
  pg_wallet_output out = {.amount = MI};
  memcpy(out.address, f->other, 32);
  uint8_t a[32], fin[32];
  assert_int_equal(pg_wallet_send(f->w, &out, 1, NULL, a, NULL, &d), PG_OK);
  craft_chain(f, 4); /* a is now below max depth: lazy */
  pg_msg_meta m = tt_meta(f->tf.t, a);
  assert_int_equal(m.referenced_by, 0);
  assert_true(m.should_reattach);

  /* reattaches once, then runs out of time */
  int rc = pg_wallet_follow(f->w, a, &(pg_wallet_follow_opts){.timeout_ms = 50, .poll_ms = 100},
                            fin, &d);
  assert_int_equal(rc, PG_ERR_TIMEOUT);
  uint32_t ms = tt_issue(f->tf.t, 1); /* confirms the reattachment */
  uint64_t bal = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &bal, NULL, &d), PG_OK);
  assert_int_equal(bal, MI);

  memset(fin, 0, sizeof fin);
  rc = pg_wallet_follow(f->w, a, &(pg_wallet_follow_opts){.timeout_ms = 300, .poll_ms = 10}, fin,
                        &d);
  if (rc) fprintf(stderr, "follow: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  m = tt_meta(f->tf.t, fin);
  assert_int_equal(m.referenced_by, ms);
  assert_int_equal(m.inclusion, PG_INCL_INCLUDED);
  assert_memory_not_equal(fin, a, 32);
  wfix_free(f);
}

int main(void) {
  if (pg_crypto_init()) return 1;
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_send_fails_before_submit_when_pending_set_full),
      cmocka_unit_test(test_confirmed_transfers_free_the_pending_set_unfollowed),
      cmocka_unit_test(test_send_swaps_in_larger_outputs_past_127_inputs),
      cmocka_unit_test(test_signatures_verified_at_submit),
      cmocka_unit_test(test_walk_keys_are_derived_keys),
      cmocka_unit_test(test_local_submit_data_many),
      cmocka_unit_test(test_found_pending_transfer_is_not_spent_again),
      cmocka_unit_test(test_follow_reports_transfer_included_by_another_message),
      cmocka_unit_test(test_follow_again_after_reattach_finds_the_transfer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
