/* The wallet's journal of pending transfers (client/wallet_journal.h): the
 * file read back as written, hostile files refused with their name and left
 * as they were, and a journal that keeps a second wallet of the same seed
 * off the outputs of a transfer not yet confirmed, dropping it once it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/file.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/client/wallet.h"
#include "p2pgrid/client/wallet_journal.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/ledger/ledger.h"
#include "tangle_test_util.h"

#define MI 1000000ULL

static char *path_in(const char *dir, const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static void put(const char *path, const char *text) {
  pg_diag d = {{0}};
  assert_int_equal(pg_write_file_atomic(path, text, strlen(text), false, true, &d), PG_OK);
}

static char *slurp(const char *path) {
  uint8_t *b = NULL;
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_read_file_capped(path, 1 << 20, &b, &n, &d), PG_OK);
  return (char *)b;
}

static void test_file_round_trip(void **state) {
  (void)state;
  char *dir = tt_mkdtemp();
  pg_diag d = {{0}};
  pg_wallet_journal_list j, back;
  memset(&j, 0x11, sizeof j);
  assert_int_equal(pg_wallet_journal_load(path_in(dir, "none.pending"), &j, &d), PG_OK);
  assert_int_equal(j.n, 0); /* a missing file is an empty journal */
  j.n = 3;
  for (size_t i = 0; i < 3; i++) {
    memset(j.t[i].msg_id, (int)(0xA0 + i), 32);
    memset(j.t[i].tx_id, (int)(0xB0 + i), 32);
    j.t[i].ninputs = i + 1;
    for (size_t k = 0; k <= i; k++) memset(j.t[i].inputs[k], (int)(0x10 * (k + 1) + i), PG_OUTPUT_ID_LEN);
  }
  assert_int_equal(pg_wallet_journal_save(path_in(dir, "a.pending"), &j, &d), PG_OK);
  assert_int_equal(pg_wallet_journal_load(path_in(dir, "a.pending"), &back, &d), PG_OK);
  assert_int_equal(back.n, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_memory_equal(back.t[i].msg_id, j.t[i].msg_id, 32);
    assert_memory_equal(back.t[i].tx_id, j.t[i].tx_id, 32);
    assert_int_equal(back.t[i].ninputs, j.t[i].ninputs);
    assert_memory_equal(back.t[i].inputs, j.t[i].inputs, j.t[i].ninputs * PG_OUTPUT_ID_LEN);
  }
  pg_wallet_journal_remove(&back, 0);
  assert_int_equal(back.n, 2);
  assert_memory_equal(back.t[0].msg_id, j.t[1].msg_id, 32);
  pg_wallet_journal_remove(&back, 5); /* out of range: nothing */
  assert_int_equal(back.n, 2);
  tt_rmrf(dir); /* frees dir */
}

static void test_hostile_files(void **state) {
  (void)state;
  char *dir = tt_mkdtemp();
  const char *hex64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  char entry[400], many[65 * 400 + 64];
  snprintf(entry, sizeof entry, "{\"message\":\"%s\",\"transaction\":\"%s\",\"inputs\":[\"%s0000\"]}",
           hex64, hex64, hex64);
  size_t used = (size_t)snprintf(many, sizeof many, "{\"pending\":[");
  for (int i = 0; i < 65; i++) used += (size_t)snprintf(many + used, sizeof many - used, "%s%s", i ? "," : "", entry);
  snprintf(many + used, sizeof many - used, "]}");
  char bad_hex[400];
  snprintf(bad_hex, sizeof bad_hex, "{\"pending\":[{\"message\":\"%s\",\"transaction\":\"%s\",\"inputs\":[\"zz\"]}]}",
           hex64, hex64);
  char no_inputs[400];
  snprintf(no_inputs, sizeof no_inputs, "{\"pending\":[{\"message\":\"%s\",\"transaction\":\"%s\",\"inputs\":[]}]}",
           hex64, hex64);
  struct {
    const char *text, *says;
  } bad[] = {
      {"not json", "not a wallet journal"},
      {"[]", "not a wallet journal"},
      {"{\"pending\":{}}", "pending"},
      {many, "more than 64 pending transfers"},
      {bad_hex, "pending transfer 0: input 0 is not a 68-digit hex output id"},
      {no_inputs, "'inputs' holds 0 ids, not 1 to"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *p = path_in(dir, "bad.pending");
    put(p, bad[i].text);
    pg_wallet_journal_list j;
    pg_diag d = {{0}};
    assert_int_equal(pg_wallet_journal_load(p, &j, &d), PG_ERR_INVALID);
    if (!strstr(d.msg, bad[i].says) || !strstr(d.msg, "bad.pending"))
      fail_msg("case %zu: '%s' lacks '%s' or the file name", i, d.msg, bad[i].says);
    assert_int_equal(j.n, 0);
    char *after = slurp(p);
    assert_string_equal(after, bad[i].text); /* left as it was */
    free(after);
  }
  tt_rmrf(dir); /* frees dir */
}

typedef struct fix {
  tt_fixture tf;
  pg_ledger *l;
  pg_client *c;
  uint8_t seed[32], addr0[32], other[32], coo_sk[1][64];
} fix;

/* Two outputs of 1 Mi on the seed's first address, an in-process client. */
static fix *fix_new(void) {
  fix *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->tf.dir = tt_mkdtemp();
  pg_vclock_init(&f->tf.clock, TT_START_MS);
  tt_config(&f->tf.cfg, f->tf.dir, &f->tf.clock, 1);
  uint8_t pk[32];
  tt_key(0, pk, f->coo_sk[0]);
  memset(f->seed, 0x42, sizeof f->seed);
  memset(f->other, 0x77, sizeof f->other);
  assert_int_equal(pg_iota_keypair(f->seed, 32, 0, 0, 0, NULL, NULL, f->addr0), PG_OK);
  pg_genesis_output g[2];
  memset(g, 0, sizeof g);
  for (int i = 0; i < 2; i++) memcpy(g[i].address, f->addr0, 32), g[i].amount = MI;
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = 2, .genesis = g};
  assert_int_equal(pg_ledger_new(&lc, &f->l), PG_OK);
  f->tf.cfg.tx_confirm = pg_ledger_apply;
  f->tf.cfg.tx_confirm_ctx = f->l;
  f->tf.t = tt_open(&f->tf.cfg);
  pg_diag d = {{0}};
  assert_int_equal(pg_ledger_attach(f->l, pg_tangle_db(f->tf.t), pg_tangle_db_path(f->tf.t), &d), PG_OK);
  assert_int_equal(pg_client_local_new(f->tf.t, f->l, &f->c, &d), PG_OK);
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  return f;
}

static void fix_free(fix *f) {
  pg_client_free(f->c);
  pg_ledger_free(f->l);
  pg_tangle_close(f->tf.t);
  tt_rmrf(f->tf.dir);
  free(f);
}

typedef struct drops {
  int n;
  pg_wallet_transfer_state st;
  uint8_t msg_id[32];
} drops;

static void on_drop(void *ctx, const uint8_t msg_id[32], pg_wallet_transfer_state st) {
  drops *x = ctx;
  x->n++;
  x->st = st;
  memcpy(x->msg_id, msg_id, 32);
}

static void test_open_keeps_a_second_sender_off(void **state) {
  (void)state;
  fix *f = fix_new();
  pg_diag d = {{0}};
  drops dr = {0};
  const char *jp = path_in(f->tf.dir, "seed.pending");
  pg_wallet *w1 = NULL, *w2 = NULL, *w3 = NULL;
  pg_wallet_journal *j = NULL;
  pg_wallet_output out = {.amount = MI};
  memcpy(out.address, f->other, 32);
  uint8_t m1[32], m2[32];

  /* sender 1: open, send, record, close */
  assert_int_equal(pg_wallet_new(f->c, f->seed, 32, NULL, &w1, &d), PG_OK);
  assert_int_equal(pg_wallet_journal_open(jp, w1, on_drop, &dr, &j, &d), PG_OK);
  assert_int_equal(pg_wallet_send(w1, &out, 1, NULL, m1, NULL, &d), PG_OK);
  assert_int_equal(pg_wallet_journal_add(j, w1, m1, &d), PG_OK);
  assert_string_equal(pg_wallet_journal_path(j), jp);
  pg_wallet_journal_close(j);

  /* sender 2 (another process, the same seed): the journal hands it the
   * pending transfer, so its send takes the other output */
  assert_int_equal(pg_wallet_new(f->c, f->seed, 32, NULL, &w2, &d), PG_OK);
  assert_int_equal(pg_wallet_journal_open(jp, w2, on_drop, &dr, &j, &d), PG_OK);
  assert_int_equal(dr.n, 0);
  assert_int_equal(pg_wallet_send(w2, &out, 1, NULL, m2, NULL, &d), PG_OK);
  assert_int_equal(pg_wallet_journal_add(j, w2, m2, &d), PG_OK);
  pg_wallet_journal_close(j);
  pg_wallet_journal_list l;
  assert_int_equal(pg_wallet_journal_load(jp, &l, &d), PG_OK);
  assert_int_equal(l.n, 2);
  assert_memory_not_equal(l.t[0].inputs[0], l.t[1].inputs[0], PG_OUTPUT_ID_LEN);

  /* both confirmed: the next open drops them without a word */
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f->tf.t, (const uint8_t(*)[64])f->coo_sk, 1, NULL, &ms, &d),
                   PG_OK);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(f->c, f->other, &b, NULL, &d), PG_OK);
  assert_int_equal(b, 2 * MI); /* none conflicted */
  /* and an entry the node never saw, claiming outputs that are spent now,
   * is dropped with a word: it conflicts */
  memset(l.t[0].msg_id, 0x5A, 32);
  memset(l.t[0].tx_id, 0x5B, 32);
  l.n = 1;
  assert_int_equal(pg_wallet_journal_save(jp, &l, &d), PG_OK);
  assert_int_equal(pg_wallet_new(f->c, f->seed, 32, NULL, &w3, &d), PG_OK);
  assert_int_equal(pg_wallet_journal_open(jp, w3, on_drop, &dr, &j, &d), PG_OK);
  pg_wallet_journal_close(j);
  assert_int_equal(dr.n, 1);
  assert_int_equal(dr.st, PG_TRANSFER_CONFLICTING);
  assert_memory_equal(dr.msg_id, l.t[0].msg_id, 32);
  assert_int_equal(pg_wallet_journal_load(jp, &l, &d), PG_OK);
  assert_int_equal(l.n, 0);

  /* a journal that cannot be read: open fails, holds nothing, file intact */
  put(jp, "{\"pending\":7}");
  assert_int_equal(pg_wallet_journal_open(jp, w3, on_drop, &dr, &j, &d), PG_ERR_INVALID);
  assert_null(j);
  char *after = slurp(jp);
  assert_string_equal(after, "{\"pending\":7}");
  free(after);
  put(jp, "{\"pending\":[]}");
  assert_int_equal(pg_wallet_journal_open(jp, w3, NULL, NULL, &j, &d), PG_OK); /* the lock was let go */
  pg_wallet_journal_close(j);
  pg_wallet_free(w1);
  pg_wallet_free(w2);
  pg_wallet_free(w3);
  fix_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_round_trip),
      cmocka_unit_test(test_hostile_files),
      cmocka_unit_test(test_open_keeps_a_second_sender_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
