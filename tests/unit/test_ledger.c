/* Ledger and transaction builder: the TIP-7 worked vector, every conflict
 * reason, TIP-15 dust rules, supply conservation and genesis checks. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/ledger/transaction.h"
#include "../../src/ledger/ledger_internal.h"
#include "test_util_tmpdir.h"

static void unhex(const char *s, uint8_t *out, size_t n) {
  assert_int_equal(pg_hex_decode_exact(s, out, n), PG_OK);
}

/* CHRYSALIS.md 4.2, checked with iota.js buildTransactionPayload. */
static void test_worked_vector(void **state) {
  (void)state;
  uint8_t seed[32], pk[32];
  pg_tx_input_spec in = {0};
  unhex("af9d2be25f70db5f3ffd0a0b76b712623c4bef435a7a9e6ea09fcb123c03a4a3", seed, 32);
  pg_ed25519_from_seed(seed, pk, in.secret_key);
  char hex[65];
  pg_hex_encode(pk, 32, hex);
  assert_string_equal(hex, "d48c252cba31d45382b25bee05f28c49e9a3485b4a85dda965829b9e5368463a");
  memset(in.tx_id, 0xaa, 32);
  pg_tx_output_spec outs[2] = {{0}, {0}};
  outs[0].amount = 1500000;
  memset(outs[0].address, 0xbb, 32);
  outs[1].amount = 500000;
  pg_blake2b256(pk, 32, outs[1].address);
  pg_hex_encode(outs[1].address, 32, hex);
  assert_string_equal(hex, "4573b0090df3bc80368d9067d73e4671585a97a2bde6c4da8b7ba7ea18a279bc");

  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  uint8_t ehash[32], txid[32];
  assert_int_equal(pg_transaction_build(&b, &in, 1, outs, 2, NULL, 0, NULL, 0, ehash, NULL), PG_OK);
  assert_int_equal(b.len, 232);
  pg_hex_encode(ehash, 32, hex);
  assert_string_equal(hex, "0cac5463401c1ba113c07bd101cbc1e8bec8c7855020989d4552f901a32a990f");
  char sig[129];
  pg_hex_encode(b.data + 4 + 128 + 2 + 2 + 32, 64, sig); /* type, essence, count, kinds, pk */
  assert_string_equal(sig, "155d64938933f5742a0d3dcb658bb0e67b01e81d0e11a70a7c8cff58c38fd8a4"
                           "8c18b4122f8e9b9df1dd6e08b6f008b3a4c6a6fb84164428a6050c7d3df97c0c");
  pg_transaction_id(b.data, b.len, txid);
  pg_hex_encode(txid, 32, hex);
  assert_string_equal(hex, "90f67e0d5784a02b1aa32964e90d29820c37369d0c0697c92c110b4c034b3598");

  pg_message m;
  pg_diag d = {{0}};
  assert_int_equal(pg_payload_parse(b.data, b.len, &m, &d), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_TRANSACTION);
  assert_int_equal(m.u.transaction->inputs_count, 1);
  assert_int_equal(m.u.transaction->outputs_count, 2);
  pg_message_clear(&m);
  pg_buf_free(&b);
}

/* ---- a small ledger fixture on a temporary SQLite file ------------------ */

#define NKEYS 6

typedef struct fixture {
  char *dir;
  char path[96];
  sqlite3 *db;
  pg_ledger *l;
  uint8_t sk[NKEYS][64];
  uint8_t pk[NKEYS][32];
  uint8_t addr[NKEYS][32];
  pg_genesis_output genesis[2];
  uint8_t genesis_tx[32];
  uint32_t ms;
} fixture;

static fixture F;

static int open_ledger(bool dust, pg_diag *d) {
  pg_ledger_config c = {.dust_protection = dust, .genesis_count = 2, .genesis = F.genesis};
  if (sqlite3_open(F.path, &F.db) != SQLITE_OK) return PG_ERR_DB;
  sqlite3_exec(F.db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
  int rc = pg_ledger_new(&c, &F.l);
  if (rc == PG_OK) rc = pg_ledger_attach(F.l, F.db, F.path, d);
  return rc;
}

static void close_ledger(void) {
  pg_ledger_free(F.l);
  F.l = NULL;
  sqlite3_close(F.db);
  F.db = NULL;
}

static int setup(void **state) {
  (void)state;
  memset(&F, 0, sizeof F);
  F.dir = tu_mktmp("pg-ledger");
  snprintf(F.path, sizeof F.path, "%s/tangle.db", F.dir);
  for (int i = 0; i < NKEYS; i++) {
    uint8_t seed[32];
    memset(seed, i + 1, 32);
    pg_ed25519_from_seed(seed, F.pk[i], F.sk[i]);
    pg_blake2b256(F.pk[i], 32, F.addr[i]);
  }
  memcpy(F.genesis[0].address, F.addr[0], 32);
  F.genesis[0].amount = 10000000;
  memcpy(F.genesis[1].address, F.addr[1], 32);
  F.genesis[1].amount = 5000000;
  uint8_t seed[19];
  memcpy(seed, "p2pgrid-genesis", 15);
  memset(seed + 15, 0, 4);
  pg_blake2b256(seed, sizeof seed, F.genesis_tx);
  pg_diag d = {{0}};
  int rc = open_ledger(true, &d);
  if (rc) print_error("%s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  F.ms = 1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  close_ledger();
  tu_rmrf(F.dir);
  F.dir = NULL;
  return 0;
}

typedef struct built {
  pg_buf buf;
  pg_message m;
  uint8_t msg_id[32];
  uint8_t txid[32];
} built;

static void build(built *t, const pg_tx_input_spec *in, size_t nin, const pg_tx_output_spec *out,
                  size_t nout) {
  pg_diag d = {{0}};
  pg_buf_init(&t->buf, PG_MSG_MAX_LEN);
  int rc = pg_transaction_build(&t->buf, in, nin, out, nout, (const uint8_t *)"ref", 3,
                                (const uint8_t *)"x", 1, NULL, &d);
  if (rc) print_error("%s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  rc = pg_payload_parse(t->buf.data, t->buf.len, &t->m, &d);
  if (rc) print_error("%s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  pg_transaction_id(t->buf.data, t->buf.len, t->txid);
  pg_blake2b256(t->txid, 32, t->msg_id); /* any distinct id will do for the ledger */
}

static void drop(built *t) {
  pg_message_clear(&t->m);
  pg_buf_free(&t->buf);
}

/* Applies inside one SQLite transaction, as the Tangle's confirmation does. */
static uint8_t apply(built *t, uint32_t ms, bool *included) {
  uint8_t reason = 0;
  assert_int_equal(sqlite3_exec(F.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(pg_ledger_apply(F.l, ms, t->msg_id, &t->m, included, &reason), PG_OK);
  assert_int_equal(sqlite3_exec(F.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  return reason;
}

static pg_tx_input_spec input(const uint8_t txid[32], uint16_t index, int key) {
  pg_tx_input_spec in;
  memcpy(in.tx_id, txid, 32);
  in.output_index = index;
  memcpy(in.secret_key, F.sk[key], 64);
  return in;
}

static pg_tx_output_spec output(int key, uint64_t amount, uint8_t type) {
  pg_tx_output_spec o;
  o.type = type;
  memcpy(o.address, F.addr[key], 32);
  o.amount = amount;
  return o;
}

static uint64_t balance(int key) {
  uint64_t b = 0;
  bool dust;
  assert_int_equal(pg_ledger_balance(F.l, F.addr[key], &b, &dust), PG_OK);
  return b;
}

static void assert_supply(void) {
  uint64_t s = 0;
  assert_int_equal(pg_ledger_supply(F.l, &s), PG_OK);
  assert_int_equal(s, 15000000);
}

static void test_genesis_and_transfer(void **state) {
  (void)state;
  assert_int_equal(balance(0), 10000000);
  assert_int_equal(balance(1), 5000000);
  assert_int_equal(balance(2), 0); /* unknown address: 0, not an error */
  assert_supply();

  pg_tx_input_spec in = input(F.genesis_tx, 0, 0);
  pg_tx_output_spec out[2] = {output(2, 3000000, 0), output(0, 7000000, 0)};
  built t;
  build(&t, &in, 1, out, 2);
  bool inc;
  assert_int_equal(apply(&t, 1, &inc), PG_CONFLICT_NONE);
  assert_true(inc);
  assert_int_equal(balance(0), 7000000);
  assert_int_equal(balance(2), 3000000);
  assert_supply();

  uint8_t mid[32];
  assert_int_equal(pg_ledger_included_message(F.l, t.txid, mid), PG_OK);
  assert_memory_equal(mid, t.msg_id, 32);

  uint8_t oid[PG_OUTPUT_ID_LEN];
  memcpy(oid, F.genesis_tx, 32);
  oid[32] = oid[33] = 0;
  pg_output_info o;
  assert_int_equal(pg_ledger_output(F.l, oid, &o), PG_OK);
  assert_true(o.spent);
  assert_int_equal(o.spent_index, 1);
  assert_memory_equal(o.spent_tx_id, t.txid, 32);

  uint8_t(*created)[PG_OUTPUT_ID_LEN], (*consumed)[PG_OUTPUT_ID_LEN];
  size_t nc, nd;
  assert_int_equal(pg_ledger_milestone_changes(F.l, 1, &created, &nc, &consumed, &nd), PG_OK);
  assert_int_equal(nc, 2);
  assert_int_equal(nd, 1);
  assert_memory_equal(consumed[0], oid, PG_OUTPUT_ID_LEN);
  free(created);
  free(consumed);

  uint8_t ids[8][PG_OUTPUT_ID_LEN];
  size_t count, total;
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[0], -1, false, 8, ids, &count, &total), PG_OK);
  assert_int_equal(count, 1); /* genesis output spent, remainder unspent */
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[0], -1, true, 8, ids, &count, &total), PG_OK);
  assert_int_equal(count, 2);
  drop(&t);
}

static void test_double_spend(void **state) {
  (void)state;
  pg_tx_input_spec in = input(F.genesis_tx, 0, 0);
  pg_tx_output_spec a = output(2, 10000000, 0), b = output(3, 10000000, 0);
  built t1, t2, t3;
  build(&t1, &in, 1, &a, 1);
  build(&t2, &in, 1, &b, 1);
  bool inc;
  assert_int_equal(apply(&t1, 1, &inc), PG_CONFLICT_NONE);
  assert_true(inc);
  /* same milestone: spent while confirming this milestone */
  assert_int_equal(apply(&t2, 1, &inc), PG_CONFLICT_INPUT_SPENT_IN_MILESTONE);
  assert_false(inc);
  /* later milestone: already spent */
  assert_int_equal(apply(&t2, 2, &inc), PG_CONFLICT_INPUT_SPENT);
  assert_int_equal(balance(2), 10000000);
  assert_int_equal(balance(3), 0);
  /* unknown input */
  uint8_t nowhere[32];
  memset(nowhere, 0x77, 32);
  pg_tx_input_spec bad = input(nowhere, 3, 0);
  build(&t3, &bad, 1, &a, 1);
  assert_int_equal(apply(&t3, 2, &inc), PG_CONFLICT_INPUT_NOT_FOUND);
  assert_supply();
  drop(&t1);
  drop(&t2);
  drop(&t3);
}

static void test_sum_and_signature(void **state) {
  (void)state;
  pg_tx_input_spec in = input(F.genesis_tx, 1, 1);
  pg_tx_output_spec more = output(2, 5000001, 0);
  built t1, t2, t3;
  build(&t1, &in, 1, &more, 1);
  bool inc;
  assert_int_equal(apply(&t1, 1, &inc), PG_CONFLICT_SUM_MISMATCH);
  /* signed by the wrong key: address check fails */
  pg_tx_input_spec wrong = input(F.genesis_tx, 1, 2);
  pg_tx_output_spec all = output(2, 5000000, 0);
  build(&t2, &wrong, 1, &all, 1);
  assert_int_equal(apply(&t2, 1, &inc), PG_CONFLICT_INVALID_SIGNATURE);
  /* right key, tampered signature */
  build(&t3, &in, 1, &all, 1);
  const pg_transaction *tx = t3.m.u.transaction;
  ((uint8_t *)tx->unlocks[0].signature)[5] ^= 1;
  assert_int_equal(apply(&t3, 1, &inc), PG_CONFLICT_INVALID_SIGNATURE);
  assert_int_equal(balance(1), 5000000);
  assert_supply();
  drop(&t1);
  drop(&t2);
  drop(&t3);
}

/* The dry run and the real white flag verify the same signature twice; the
 * ledger remembers verified ones. A remembered valid signature must not let
 * a tampered copy of the same transaction through, before or after. */
static void test_remembered_signature(void **state) {
  (void)state;
  pg_tx_input_spec in = input(F.genesis_tx, 1, 1);
  pg_tx_output_spec all = output(2, 5000000, 0);
  built good, bad;
  build(&good, &in, 1, &all, 1);
  build(&bad, &in, 1, &all, 1);
  ((uint8_t *)bad.m.u.transaction->unlocks[0].signature)[7] ^= 1;
  bool inc;
  uint8_t reason = 0;
  /* a dry run: applied inside a savepoint that is rolled back */
  assert_int_equal(sqlite3_exec(F.db, "BEGIN; SAVEPOINT dry", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(pg_ledger_apply(F.l, 1, good.msg_id, &good.m, &inc, &reason), PG_OK);
  assert_true(inc);
  assert_int_equal(sqlite3_exec(F.db, "ROLLBACK TO dry; RELEASE dry; COMMIT", NULL, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(balance(1), 5000000);
  assert_int_equal(apply(&bad, 1, &inc), PG_CONFLICT_INVALID_SIGNATURE);
  assert_false(inc);
  assert_int_equal(apply(&good, 1, &inc), PG_CONFLICT_NONE);
  assert_true(inc);
  assert_int_equal(balance(2), 5000000);
  assert_supply();
  drop(&good);
  drop(&bad);
}

/* pg_ledger_precheck (the submit hook) verifies on the caller's thread,
 * from several at once, remembers only valid signatures and changes no
 * ledger state: a tampered transfer prechecked is still refused, the good
 * one prechecked is applied without verifying again. */
typedef struct prechecker {
  const pg_message *m;
} prechecker;

static void *precheck_main(void *p) {
  const prechecker *c = p;
  for (int i = 0; i < 20; i++) pg_ledger_precheck(F.l, c->m);
  return NULL;
}

static void test_precheck(void **state) {
  (void)state;
  pg_tx_input_spec in = input(F.genesis_tx, 1, 1);
  pg_tx_output_spec all = output(2, 5000000, 0);
  built good, bad;
  build(&good, &in, 1, &all, 1);
  build(&bad, &in, 1, &all, 1);
  ((uint8_t *)bad.m.u.transaction->unlocks[0].signature)[9] ^= 1;
  uint64_t v0 = pg_ledger_signatures_verified(F.l);
  pthread_t th[4];
  prechecker c[4] = {{&good.m}, {&bad.m}, {&good.m}, {&bad.m}};
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, precheck_main, &c[i]), 0);
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  /* the bad one verified every time (failures are not remembered) */
  assert_true(pg_ledger_signatures_verified(F.l) >= v0 + 40 + 1);
  assert_int_equal(balance(1), 5000000); /* nothing booked */
  assert_int_equal(balance(2), 0);
  assert_supply();
  bool inc;
  assert_int_equal(apply(&bad, 1, &inc), PG_CONFLICT_INVALID_SIGNATURE);
  assert_false(inc);
  uint64_t v1 = pg_ledger_signatures_verified(F.l);
  assert_int_equal(apply(&good, 1, &inc), PG_CONFLICT_NONE);
  assert_true(inc);
  assert_int_equal(pg_ledger_signatures_verified(F.l), v1); /* remembered */
  assert_int_equal(balance(2), 5000000);
  assert_supply();
  drop(&good);
  drop(&bad);
}

/* An attacker's transfer: six signature blocks (six keys) over inputs that
 * do not exist. The submit hook verifies at most four; the white flag looks
 * the inputs up first and verifies none. */
static void test_precheck_is_bounded(void **state) {
  (void)state;
  uint8_t fake_tx[32];
  memset(fake_tx, 0x5a, sizeof fake_tx);
  pg_tx_input_spec in[6];
  for (int k = 0; k < 6; k++) in[k] = input(fake_tx, (uint16_t)k, k);
  pg_tx_output_spec all = output(2, 6000000, 0);
  built t;
  build(&t, in, 6, &all, 1);
  uint64_t v0 = pg_ledger_signatures_verified(F.l);
  pg_ledger_precheck(F.l, &t.m);
  assert_int_equal(pg_ledger_signatures_verified(F.l), v0 + 4);
  bool inc;
  assert_int_equal(apply(&t, 1, &inc), PG_CONFLICT_INPUT_NOT_FOUND);
  assert_int_equal(pg_ledger_signatures_verified(F.l), v0 + 4);
  assert_supply();
  drop(&t);
}

static void test_reference_unlocks(void **state) {
  (void)state;
  /* two outputs on address 2, then spend both with one key: signature + reference */
  pg_tx_input_spec in = input(F.genesis_tx, 0, 0);
  pg_tx_output_spec split[2] = {output(2, 4000000, 0), output(2, 6000000, 1)};
  built t1, t2;
  build(&t1, &in, 1, split, 2);
  bool inc;
  assert_int_equal(apply(&t1, 1, &inc), PG_CONFLICT_NONE);
  pg_tx_input_spec both[2] = {input(t1.txid, 0, 2), input(t1.txid, 1, 2)};
  pg_tx_output_spec to3 = output(3, 10000000, 0);
  build(&t2, both, 2, &to3, 1);
  assert_int_equal(t2.m.u.transaction->unlocks[1].type, 1);
  assert_int_equal(apply(&t2, 2, &inc), PG_CONFLICT_NONE);
  assert_int_equal(balance(3), 10000000);
  assert_supply();
  drop(&t1);
  drop(&t2);
}

static void test_dust(void **state) {
  (void)state;
  bool inc;
  /* dust to an address without allowance conflicts */
  pg_tx_input_spec in = input(F.genesis_tx, 0, 0);
  pg_tx_output_spec dusty[2] = {output(2, 500, 0), output(0, 10000000 - 500, 0)};
  built t1;
  build(&t1, &in, 1, dusty, 2);
  assert_int_equal(apply(&t1, 1, &inc), PG_CONFLICT_INVALID_DUST);
  /* a 1 Mi allowance on address 2 allows 10 dust outputs */
  pg_tx_output_spec allow[2] = {output(2, 1000000, 1), output(0, 9000000, 0)};
  built t2;
  build(&t2, &in, 1, allow, 2);
  assert_int_equal(apply(&t2, 1, &inc), PG_CONFLICT_NONE);
  bool dust_ok;
  uint64_t b;
  assert_int_equal(pg_ledger_balance(F.l, F.addr[2], &b, &dust_ok), PG_OK);
  assert_true(dust_ok);

  uint8_t prev_tx[32];
  uint16_t prev_idx;
  memcpy(prev_tx, t2.txid, 32);
  /* outputs sorted by bytes: find the index of the remainder on address 0 */
  prev_idx = memcmp(t2.m.u.transaction->outputs[0].address, F.addr[0], 32) == 0 ? 0 : 1;
  uint64_t left = 9000000;
  for (int i = 0; i < 11; i++) {
    pg_tx_input_spec src = input(prev_tx, prev_idx, 0);
    pg_tx_output_spec o[2] = {output(2, 100, 0), output(0, left - 100, 0)};
    built t;
    build(&t, &src, 1, o, 2);
    uint8_t reason = apply(&t, (uint32_t)(2 + i), &inc);
    if (i < 10) {
      assert_int_equal(reason, PG_CONFLICT_NONE);
      memcpy(prev_tx, t.txid, 32);
      prev_idx = memcmp(t.m.u.transaction->outputs[0].address, F.addr[0], 32) == 0 ? 0 : 1;
      left -= 100;
    } else {
      assert_int_equal(reason, PG_CONFLICT_INVALID_DUST); /* the 11th dust output */
    }
    drop(&t);
  }
  assert_int_equal(pg_ledger_balance(F.l, F.addr[2], &b, &dust_ok), PG_OK);
  assert_false(dust_ok);
  assert_int_equal(b, 1000000 + 10 * 100);
  assert_supply();
  drop(&t1);
  drop(&t2);
}

/* Every read of an address's unspent outputs (listing, balance, dust
 * count, allowance) is served by the partial index of unspent outputs,
 * covering and already in order: the grid's address receives a thousand
 * payments a slot and spends them, and a read that walked every output the
 * address ever had grew through the day. */
static void test_unspent_indexed(void **state) {
  (void)state;
  size_t i = 0;
  for (const char *sql; (sql = pg_ledger_unspent_sql(i)); i++) {
    char q[1024], plan[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(F.db, q, -1, &st, NULL), SQLITE_OK);
    size_t len = 0;
    plan[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && len < sizeof plan)
      len += (size_t)snprintf(plan + len, sizeof plan - len, "%s; ", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    if (!strstr(plan, "USING COVERING INDEX ledger_outputs_unspent") || strstr(plan, "TEMP B-TREE"))
      fail_msg("not served by ledger_outputs_unspent: %s\n  plan: %s", sql, plan);
  }
  assert_true(i >= 4);
}

/* Unspent listings after a chain of spends: address 0 spends its remainder
 * nine times (1 unspent of 10), address 1 receives 1 Mi each time (its
 * genesis output and nine more, listed in booking order). */
static void test_unspent_after_spends(void **state) {
  (void)state;
  uint8_t prev_tx[32];
  uint16_t prev_idx = 0;
  memcpy(prev_tx, F.genesis_tx, 32);
  uint64_t left = 10000000;
  uint8_t kept[9][PG_OUTPUT_ID_LEN];
  for (int k = 0; k < 9; k++) {
    pg_tx_input_spec in = input(prev_tx, prev_idx, 0);
    pg_tx_output_spec o[2] = {output(1, 1000000, 0), output(0, left - 1000000, 0)};
    built t;
    build(&t, &in, 1, o, 2);
    bool inc;
    assert_int_equal(apply(&t, (uint32_t)(1 + k), &inc), PG_CONFLICT_NONE);
    int to0 = memcmp(t.m.u.transaction->outputs[0].address, F.addr[0], 32) == 0 ? 0 : 1;
    pg_output_id(t.txid, (uint16_t)(1 - to0), kept[k]);
    memcpy(prev_tx, t.txid, 32);
    prev_idx = (uint16_t)to0;
    left -= 1000000;
    drop(&t);
  }
  uint8_t ids[16][PG_OUTPUT_ID_LEN];
  size_t count, total;
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[0], -1, false, 16, ids, &count, &total), PG_OK);
  assert_int_equal(count, 1);
  uint8_t last[PG_OUTPUT_ID_LEN];
  pg_output_id(prev_tx, prev_idx, last);
  assert_memory_equal(ids[0], last, PG_OUTPUT_ID_LEN);
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[0], -1, true, 16, ids, &count, &total), PG_OK);
  assert_int_equal(count, 10);
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[1], 0, false, 4, ids, &count, &total), PG_OK);
  assert_int_equal(count, 4); /* max 4 of ... */
  assert_int_equal(total, 10); /* ... all 10 */
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[1], -1, false, 16, ids, &count, &total), PG_OK);
  assert_int_equal(count, 10);
  for (int k = 0; k < 9; k++) assert_memory_equal(ids[1 + k], kept[k], PG_OUTPUT_ID_LEN);
  assert_int_equal(pg_ledger_address_outputs(F.l, F.addr[1], 1, false, 16, ids, &count, &total), PG_OK);
  assert_int_equal(count, 0); /* no dust allowance outputs */
  assert_int_equal(balance(0), 1000000);
  assert_int_equal(balance(1), 14000000);
  assert_supply();
}

static void test_dust_protection_off(void **state) {
  (void)state;
  close_ledger();
  pg_diag d = {{0}};
  assert_int_equal(open_ledger(false, &d), PG_OK);
  pg_tx_input_spec in = input(F.genesis_tx, 0, 0);
  pg_tx_output_spec dusty[2] = {output(2, 500, 0), output(0, 10000000 - 500, 0)};
  built t;
  build(&t, &in, 1, dusty, 2);
  bool inc;
  assert_int_equal(apply(&t, 1, &inc), PG_CONFLICT_NONE);
  assert_int_equal(balance(2), 500);
  drop(&t);
}

static void test_genesis_mismatch_and_reopen(void **state) {
  (void)state;
  close_ledger();
  pg_diag d = {{0}};
  assert_int_equal(open_ledger(true, &d), PG_OK); /* same genesis: fine, not booked twice */
  assert_supply();
  close_ledger();
  F.genesis[1].amount = 6000000;
  assert_int_equal(open_ledger(true, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "genesis"));
  F.genesis[1].amount = 5000000;
  close_ledger();
  assert_int_equal(open_ledger(true, &d), PG_OK);
}

static void test_bad_builds(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  pg_diag d = {{0}};
  pg_tx_input_spec in = input(F.genesis_tx, 0, 0);
  pg_tx_output_spec zero = output(2, 0, 0);
  assert_int_equal(pg_transaction_build(&b, &in, 1, &zero, 1, NULL, 0, NULL, 0, NULL, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "amount"));
  assert_int_equal(pg_transaction_build(&b, &in, 0, &zero, 1, NULL, 0, NULL, 0, NULL, &d),
                   PG_ERR_INVALID);
  pg_buf_free(&b);
}

int main(void) {
  if (pg_crypto_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worked_vector),
      cmocka_unit_test_setup_teardown(test_genesis_and_transfer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_double_spend, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sum_and_signature, setup, teardown),
      cmocka_unit_test_setup_teardown(test_precheck, setup, teardown),
      cmocka_unit_test_setup_teardown(test_precheck_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remembered_signature, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reference_unlocks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dust, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unspent_indexed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unspent_after_spends, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dust_protection_off, setup, teardown),
      cmocka_unit_test_setup_teardown(test_genesis_mismatch_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_builds, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
