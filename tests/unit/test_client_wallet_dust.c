/* Wallet dust management and crash-safe payment lookup over the in-process
 * client (Tangle + ledger, no HTTP): pg_wallet_sweep,
 * pg_wallet_ensure_dust_allowance, pg_wallet_count_outputs,
 * pg_wallet_find_transfer. The test plays coordinator (tt_issue). */
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

typedef struct dfix {
  tt_fixture tf;
  pg_ledger *l;
  pg_client *c;
  uint8_t seed_a[32], seed_b[32];
  uint8_t a0[32];    /* wallet A's first address (walk 0) */
  uint8_t b0[32];    /* wallet B's first address */
  uint8_t other[32]; /* somebody else's address (no outputs, no allowance) */
  pg_wallet *a, *b;
} dfix;

/* genesis: A gets na outputs of amount_a, B gets nb outputs of amount_b;
 * milestone 1 issued. */
static dfix *dfix_new(size_t na, uint64_t amount_a, size_t nb, uint64_t amount_b) {
  dfix *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->tf.dir = tt_mkdtemp();
  pg_vclock_init(&f->tf.clock, TT_START_MS);
  tt_config(&f->tf.cfg, f->tf.dir, &f->tf.clock, 1);
  memset(f->seed_a, 0x42, 32);
  memset(f->seed_b, 0x43, 32);
  memset(f->other, 0x77, 32);
  assert_int_equal(pg_iota_keypair(f->seed_a, 32, 0, 0, 0, NULL, NULL, f->a0), PG_OK);
  assert_int_equal(pg_iota_keypair(f->seed_b, 32, 0, 0, 0, NULL, NULL, f->b0), PG_OK);
  size_t n = na + nb;
  pg_genesis_output *g = calloc(n ? n : 1, sizeof *g);
  assert_non_null(g);
  for (size_t i = 0; i < n; i++) {
    memcpy(g[i].address, i < na ? f->a0 : f->b0, 32);
    g[i].amount = i < na ? amount_a : amount_b;
  }
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = n, .genesis = g};
  assert_int_equal(pg_ledger_new(&lc, &f->l), PG_OK);
  f->tf.cfg.tx_confirm = pg_ledger_apply;
  f->tf.cfg.tx_confirm_ctx = f->l;
  f->tf.t = tt_open(&f->tf.cfg);
  pg_diag d = {{0}};
  assert_int_equal(pg_ledger_attach(f->l, pg_tangle_db(f->tf.t), pg_tangle_db_path(f->tf.t), &d),
                   PG_OK);
  free(g);
  assert_int_equal(pg_client_local_new(f->tf.t, f->l, &f->c, &d), PG_OK);
  assert_int_equal(pg_wallet_new(f->c, f->seed_a, 32, NULL, &f->a, &d), PG_OK);
  assert_int_equal(pg_wallet_new(f->c, f->seed_b, 32, NULL, &f->b, &d), PG_OK);
  assert_int_equal(tt_issue(f->tf.t, 1), 1);
  return f;
}

static void dfix_free(dfix *f) {
  pg_wallet_free(f->a);
  pg_wallet_free(f->b);
  pg_client_free(f->c);
  pg_ledger_free(f->l);
  pg_tangle_close(f->tf.t);
  tt_rmrf(f->tf.dir);
  free(f);
}

static uint64_t messages(pg_tangle *t) {
  pg_tangle_status s;
  pg_tangle_get_status(t, &s);
  return s.messages;
}

static uint64_t balance(dfix *f, const uint8_t addr[32]) {
  uint64_t b = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_client_address(f->c, addr, &b, NULL, &d), PG_OK);
  return b;
}

static void assert_included(dfix *f, const uint8_t id[32]) {
  pg_msg_meta m = tt_meta(f->tf.t, id);
  assert_true(m.referenced_by > 0);
  assert_int_equal(m.inclusion, PG_INCL_INCLUDED);
}

static void assert_counts(dfix *f, pg_wallet *w, size_t outputs, size_t dust) {
  size_t o = 99, du = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_wallet_count_outputs(w, 0, 0, &o, &du, &d), PG_OK);
  assert_int_equal(o, outputs);
  assert_int_equal(du, dust);
}

static int send1(pg_wallet *w, const uint8_t to[32], uint64_t amount, const char *ref,
                 uint8_t msg_id[32], pg_diag *d) {
  pg_wallet_output out = {.amount = amount};
  memcpy(out.address, to, 32);
  pg_wallet_send_opts o = {.index = (const uint8_t *)ref, .index_len = ref ? strlen(ref) : 0};
  return pg_wallet_send(w, &out, 1, ref ? &o : NULL, msg_id, NULL, d);
}

/* The daemon's cycle: allowance, many small payments in, count, sweep. */
static void test_allowance_count_and_sweep(void **state) {
  (void)state;
  dfix *f = dfix_new(1, 20 * MI, 5, 2 * MI);
  pg_diag d = {{0}};
  bool created = false;
  uint8_t m1[32], m2[32];

  /* no allowance yet: one is sent; asking again before confirmation sends nothing */
  assert_int_equal(pg_wallet_ensure_dust_allowance(f->a, 0, 0, MI, &created, m1, &d), PG_OK);
  assert_true(created);
  uint64_t before = messages(f->tf.t);
  assert_int_equal(pg_wallet_ensure_dust_allowance(f->a, 0, 0, MI, &created, m2, &d), PG_OK);
  assert_false(created);
  assert_memory_equal(m1, m2, 32);
  assert_int_equal(messages(f->tf.t), before);
  tt_issue(f->tf.t, 1);
  assert_included(f, m1);
  assert_counts(f, f->a, 2, 0); /* allowance + remainder */
  /* confirmed: satisfied, also for a new object; a bigger one is sent */
  pg_wallet *a2 = NULL;
  assert_int_equal(pg_wallet_new(f->c, f->seed_a, 32, NULL, &a2, &d), PG_OK);
  assert_int_equal(pg_wallet_ensure_dust_allowance(a2, 0, 0, MI, &created, NULL, &d), PG_OK);
  assert_false(created);
  pg_wallet_free(a2);

  /* five consumers' payments of 0.1 Mi (the allowance admits 10) */
  for (int i = 0; i < 5; i++) {
    int rc = send1(f->b, f->a0, 100000, NULL, NULL, &d);
    if (rc) fprintf(stderr, "send: %s\n", d.msg);
    assert_int_equal(rc, PG_OK);
  }
  tt_issue(f->tf.t, 1);
  assert_int_equal(balance(f, f->a0), 20 * MI + 500000);
  assert_counts(f, f->a, 7, 5);

  /* to an address without allowance, with 3 inputs: 3 dust would be dust, so
   * the largest output (19 Mi) replaces the largest dust taken */
  size_t swept = 0;
  uint8_t s1[32];
  int rc = pg_wallet_sweep(f->a, f->other, 3, NULL, s1, NULL, &swept, &d);
  if (rc) fprintf(stderr, "sweep: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  assert_int_equal(swept, 3);
  /* its inputs are pending: the 2 dust outputs left are still sweepable */
  uint8_t s2[32];
  rc = pg_wallet_sweep(f->a, NULL, 0, NULL, s2, NULL, &swept, &d);
  if (rc) fprintf(stderr, "sweep: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  assert_int_equal(swept, 3); /* 3 dust: 0.3 Mi back on a0, which loses 3 dust */
  /* everything spendable is pending now */
  before = messages(f->tf.t);
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 0, NULL, NULL, NULL, &swept, &d), PG_ERR_NOT_FOUND);
  assert_non_null(strstr(d.msg, "nothing to sweep"));
  assert_int_equal(messages(f->tf.t), before);

  tt_issue(f->tf.t, 1);
  assert_included(f, s1);
  assert_included(f, s2);
  assert_int_equal(balance(f, f->other), 19 * MI + 200000);
  assert_int_equal(balance(f, f->a0), MI + 300000);
  assert_counts(f, f->a, 2, 1); /* the allowance is never swept */
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 0, NULL, NULL, NULL, &swept, &d), PG_ERR_NOT_FOUND);
  dfix_free(f);
}

/* The allowance and five dust payments of 0.1 Mi on A's first address. */
static dfix *dusty(void) {
  dfix *f = dfix_new(1, 20 * MI, 5, 2 * MI);
  pg_diag d = {{0}};
  bool created = false;
  assert_int_equal(pg_wallet_ensure_dust_allowance(f->a, 0, 0, MI, &created, NULL, &d), PG_OK);
  tt_issue(f->tf.t, 1);
  for (int i = 0; i < 5; i++) assert_int_equal(send1(f->b, f->a0, 100000, NULL, NULL, &d), PG_OK);
  tt_issue(f->tf.t, 1);
  assert_counts(f, f->a, 7, 5);
  return f;
}

/* Issue 18: a grid sweeps up to 8 transfers a step; listing its thousands
 * of outputs once per transfer was a tenth of a 1,000-household slot.
 * pg_wallet_sweep_many lists them once and makes the transfers that as
 * many pg_wallet_sweep calls make. */
static void test_sweep_many_is_sweeps_in_a_row(void **state) {
  (void)state;
  pg_diag d = {{0}};
  size_t made = 9, swept = 9;
  /* 3 dust first (0.3 Mi back on a0, which loses 3 dust), then 2 dust and
   * the 19 Mi remainder; then nothing is left (the allowance stays) */
  dfix *f = dusty();
  int rc = pg_wallet_sweep_many(f->a, NULL, 3, 5, &made, &swept, &d);
  assert_int_equal(rc, PG_ERR_NOT_FOUND);
  assert_non_null(strstr(d.msg, "nothing to sweep"));
  assert_int_equal(made, 2);
  assert_int_equal(swept, 6);
  tt_issue(f->tf.t, 1);
  assert_counts(f, f->a, 3, 1);
  uint64_t b_many = balance(f, f->a0);
  dfix_free(f);

  f = dusty();
  size_t k = 0, total = 0;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pg_wallet_sweep(f->a, NULL, 3, NULL, NULL, NULL, &k, &d), PG_OK);
    total += k;
  }
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 3, NULL, NULL, NULL, &k, &d), PG_ERR_NOT_FOUND);
  assert_int_equal(total, 6);
  tt_issue(f->tf.t, 1);
  assert_counts(f, f->a, 3, 1);
  assert_int_equal(balance(f, f->a0), b_many);
  /* as many as asked, and a bad input count is refused before anything */
  assert_int_equal(pg_wallet_sweep_many(f->a, NULL, 2, 1, &made, &swept, &d), PG_OK);
  assert_int_equal(made, 1);
  assert_int_equal(swept, 2);
  assert_int_equal(pg_wallet_sweep_many(f->a, NULL, 1, 3, &made, &swept, &d), PG_ERR_INVALID);
  assert_int_equal(made, 0);
  dfix_free(f);
}

/* A payout from an address that holds dust must not spend its allowance
 * (the dust would then exceed what the address may hold: conflict 6). */
static void test_send_keeps_allowance(void **state) {
  (void)state;
  dfix *f = dfix_new(1, 20 * MI, 5, 2 * MI);
  pg_diag d = {{0}};
  uint8_t id[32];
  assert_int_equal(pg_wallet_ensure_dust_allowance(f->a, 0, 0, MI, NULL, id, &d), PG_OK);
  tt_issue(f->tf.t, 1);
  assert_included(f, id);
  for (int i = 0; i < 5; i++) assert_int_equal(send1(f->b, f->a0, 100000, NULL, NULL, &d), PG_OK);
  tt_issue(f->tf.t, 1);
  assert_counts(f, f->a, 7, 5);
  /* 19.25 Mi: 19 Mi and three dust outputs, remainder 0.05 Mi (a0 may hold it) */
  int rc = send1(f->a, f->other, 19 * MI + 250000, NULL, id, &d);
  if (rc) fprintf(stderr, "send: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  tt_issue(f->tf.t, 1);
  assert_included(f, id);
  assert_counts(f, f->a, 4, 3); /* allowance, 2 dust left, 1 dust remainder */
  /* the allowance alone is not spendable */
  assert_int_equal(send1(f->a, f->other, MI, NULL, NULL, &d), PG_ERR_UNAVAILABLE);
  dfix_free(f);
}

/* Only dust, and the target may hold none: nothing is submitted. Into the
 * wallet's own address (which loses dust) the same sweep is fine. */
static void test_sweep_refuses_dust_result(void **state) {
  (void)state;
  dfix *f = dfix_new(4, 100000, 0, 0);
  pg_diag d = {{0}};
  size_t swept = 0;
  uint64_t before = messages(f->tf.t);
  assert_int_equal(pg_wallet_sweep(f->a, f->other, 0, NULL, NULL, NULL, &swept, &d),
                   PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "dust allowance"));
  assert_int_equal(messages(f->tf.t), before);
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 1, NULL, NULL, NULL, &swept, &d), PG_ERR_INVALID);
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 128, NULL, NULL, NULL, &swept, &d), PG_ERR_INVALID);

  uint8_t id[32];
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 0, NULL, id, NULL, &swept, &d), PG_OK);
  assert_int_equal(swept, 4);
  tt_issue(f->tf.t, 1);
  assert_included(f, id);
  assert_counts(f, f->a, 1, 1);
  dfix_free(f);
}

static void test_allowance_failures(void **state) {
  (void)state;
  dfix *f = dfix_new(1, 500000, 0, 0);
  pg_diag d = {{0}};
  bool created = true;
  assert_int_equal(pg_wallet_ensure_dust_allowance(f->a, 0, 0, MI - 1, &created, NULL, &d),
                   PG_ERR_INVALID);
  assert_false(created);
  uint64_t before = messages(f->tf.t);
  assert_int_equal(pg_wallet_ensure_dust_allowance(f->a, 0, 0, MI, &created, NULL, &d),
                   PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "not enough funds"));
  assert_false(created);
  assert_int_equal(messages(f->tf.t), before);
  /* one output: nothing to sweep */
  assert_int_equal(pg_wallet_sweep(f->a, NULL, 0, NULL, NULL, NULL, NULL, &d), PG_ERR_NOT_FOUND);
  dfix_free(f);
}

static bool find(pg_wallet *w, const char *ref, const uint8_t to[32], uint64_t amount,
                 uint8_t id[32]) {
  bool found = true;
  pg_diag d = {{0}};
  int rc =
      pg_wallet_find_transfer(w, (const uint8_t *)ref, strlen(ref), to, amount, id, &found, &d);
  if (rc) fprintf(stderr, "find_transfer: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  return found;
}

/* A payer that crashed finds what it paid under a reference, pending or
 * confirmed, and only its own payments. */
static void test_find_transfer(void **state) {
  (void)state;
  dfix *f = dfix_new(1, 20 * MI, 1, 20 * MI);
  pg_diag d = {{0}};
  uint8_t ma[32], mb[32], id[32];
  assert_int_equal(send1(f->a, f->other, 3 * MI, "req-1", ma, &d), PG_OK);
  assert_int_equal(send1(f->b, f->other, 3 * MI, "req-1", mb, &d), PG_OK);
  uint8_t mb2[32];
  /* B's only output is pending */
  assert_int_equal(send1(f->b, f->other, 2 * MI, "req-2", mb2, &d), PG_ERR_UNAVAILABLE);

  /* pending: found by the sender and by a new object from the same seed */
  assert_true(find(f->a, "req-1", f->other, 3 * MI, id));
  assert_memory_equal(id, ma, 32);
  pg_wallet *a2 = NULL;
  assert_int_equal(pg_wallet_new(f->c, f->seed_a, 32, NULL, &a2, &d), PG_OK);
  memset(id, 0, 32);
  assert_true(find(a2, "req-1", f->other, 3 * MI, id));
  assert_memory_equal(id, ma, 32);

  tt_issue(f->tf.t, 1);
  assert_included(f, ma);
  assert_included(f, mb);
  /* B pays req-2; A did not */
  assert_int_equal(send1(f->b, f->other, 2 * MI, "req-2", mb2, &d), PG_OK);
  tt_issue(f->tf.t, 1);
  assert_included(f, mb2);

  /* after a crash-like restart: a new object from A's seed */
  pg_wallet_free(a2);
  assert_int_equal(pg_wallet_new(f->c, f->seed_a, 32, NULL, &a2, &d), PG_OK);
  memset(id, 0, 32);
  assert_true(find(a2, "req-1", f->other, 3 * MI, id));
  assert_memory_equal(id, ma, 32);
  assert_true(find(a2, "req-1", f->other, 0, NULL));
  assert_false(find(a2, "req-1", f->other, 2 * MI, NULL)); /* wrong amount */
  assert_false(find(a2, "req-1", f->b0, 0, NULL));         /* wrong receiver */
  assert_false(find(a2, "req-2", f->other, 2 * MI, NULL)); /* B's payment, same index */
  assert_false(find(a2, "req-3", f->other, 0, NULL));      /* nothing under it */
  assert_true(find(f->b, "req-2", f->other, 2 * MI, id));
  assert_memory_equal(id, mb2, 32);
  /* a wallet that never paid finds nothing */
  uint8_t seed_c[32];
  memset(seed_c, 0x44, 32);
  pg_wallet *c = NULL;
  assert_int_equal(pg_wallet_new(f->c, seed_c, 32, NULL, &c, &d), PG_OK);
  assert_false(find(c, "req-1", f->other, 3 * MI, NULL));
  pg_wallet_free(c);
  bool found;
  assert_int_equal(pg_wallet_find_transfer(a2, NULL, 0, f->other, 0, NULL, &found, &d),
                   PG_ERR_INVALID);
  pg_wallet_free(a2);
  dfix_free(f);
}

/* Two transfers under one reference spend the same output (a restarted
 * object that forgot its pending inputs): one is included, the other
 * conflicts; only the included one is found. */
static void test_find_transfer_skips_conflicting(void **state) {
  (void)state;
  dfix *f = dfix_new(1, 20 * MI, 0, 0);
  pg_diag d = {{0}};
  uint8_t m1[32], m2[32];
  assert_int_equal(send1(f->a, f->other, 3 * MI, "dup", m1, &d), PG_OK);
  pg_wallet *a2 = NULL;
  assert_int_equal(pg_wallet_new(f->c, f->seed_a, 32, NULL, &a2, &d), PG_OK);
  assert_int_equal(send1(a2, f->other, 4 * MI, "dup", m2, &d), PG_OK); /* double spend */
  /* both pending: either counts */
  assert_true(find(a2, "dup", f->other, 3 * MI, NULL));
  assert_true(find(a2, "dup", f->other, 4 * MI, NULL));
  tt_issue(f->tf.t, 1);
  pg_msg_meta x = tt_meta(f->tf.t, m1), y = tt_meta(f->tf.t, m2);
  assert_true(x.referenced_by > 0 && y.referenced_by > 0);
  assert_true((x.inclusion == PG_INCL_INCLUDED) != (y.inclusion == PG_INCL_INCLUDED));
  uint8_t id[32];
  assert_int_equal(find(a2, "dup", f->other, 3 * MI, id), x.inclusion == PG_INCL_INCLUDED);
  assert_int_equal(find(a2, "dup", f->other, 4 * MI, id), y.inclusion == PG_INCL_INCLUDED);
  assert_true(find(a2, "dup", f->other, 0, id));
  assert_memory_equal(id, x.inclusion == PG_INCL_INCLUDED ? m1 : m2, 32);
  pg_wallet_free(a2);
  dfix_free(f);
}

/* A client that counts the output lookups of the one it wraps. */
typedef struct counting {
  pg_client base;
  pg_client *inner;
  size_t outputs;
} counting;

static int cnt_address_outputs(pg_client *c, const uint8_t address[32], bool include_spent,
                               uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max, size_t *count,
                               size_t *total, pg_diag *d) {
  return pg_client_address_outputs(((counting *)c)->inner, address, include_spent, ids, max, count,
                                   total, d);
}

static int cnt_output(pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *out,
                      pg_diag *d) {
  counting *k = (counting *)c;
  k->outputs++;
  return pg_client_output(k->inner, id, out, d);
}

static const pg_client_ops counting_ops = {.kind = "counting",
                                           .address_outputs = cnt_address_outputs,
                                           .output = cnt_output};

/* The output count alone reads the address's list, not every output (the
 * grid asks it at every dust check, over HTTP one request per output); with
 * the dust it looks each one up and both counts agree. */
static void test_count_without_dust_reads_the_list(void **state) {
  (void)state;
  dfix *f = dfix_new(7, 2 * MI, 0, 0);
  counting k = {.base = {.ops = &counting_ops}, .inner = f->c};
  pg_wallet *w = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_wallet_new(&k.base, f->seed_a, 32, NULL, &w, &d), PG_OK);
  size_t o = 0, du = 99;
  assert_int_equal(pg_wallet_count_outputs(w, 0, 0, &o, NULL, &d), PG_OK);
  assert_int_equal(o, 7);
  assert_int_equal(k.outputs, 0);
  o = 0;
  assert_int_equal(pg_wallet_count_outputs(w, 0, 0, &o, &du, &d), PG_OK);
  assert_int_equal(o, 7);
  assert_int_equal(du, 0);
  assert_int_equal(k.outputs, 7);
  pg_wallet_free(w);
  dfix_free(f);
}

int main(void) {
  if (pg_crypto_init()) return 1;
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allowance_count_and_sweep),
      cmocka_unit_test(test_sweep_many_is_sweeps_in_a_row),
      cmocka_unit_test(test_send_keeps_allowance),
      cmocka_unit_test(test_sweep_refuses_dust_result),
      cmocka_unit_test(test_allowance_failures),
      cmocka_unit_test(test_find_transfer),
      cmocka_unit_test(test_find_transfer_skips_conflicting),
      cmocka_unit_test(test_count_without_dust_reads_the_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
