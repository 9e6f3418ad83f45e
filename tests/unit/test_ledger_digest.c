/* The ledger digest (pg_ledger_digest, contract A of issue 14): the genesis
 * digest against a vector computed here from the definition, a confirmed
 * transfer changes it exactly as defined, and two Tangles fed the same
 * messages (parents first, as a replica does) agree at every milestone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/ledger/transaction.h"
#include "tangle_test_util.h"

#define TAG "p2pgrid-ledger-digest"
#define AMOUNT 5000000ULL

typedef struct node {
  tt_fixture tf;
  pg_ledger *l;
} node;

typedef struct fix {
  node a, b;
  uint8_t owner_sk[64];
  uint8_t owner[32]; /* genesis address: BLAKE2b-256(public key of tt_key(7)) */
  uint8_t other[32];
} fix;

static void node_open(node *n, const uint8_t owner[32]) {
  n->tf.dir = tt_mkdtemp();
  pg_vclock_init(&n->tf.clock, TT_START_MS);
  tt_config(&n->tf.cfg, n->tf.dir, &n->tf.clock, 1);
  pg_genesis_output g[2];
  for (int i = 0; i < 2; i++) {
    memcpy(g[i].address, owner, 32);
    g[i].amount = AMOUNT * (uint64_t)(i + 1);
  }
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = 2, .genesis = g};
  assert_int_equal(pg_ledger_new(&lc, &n->l), PG_OK);
  n->tf.cfg.tx_confirm = pg_ledger_apply;
  n->tf.cfg.tx_confirm_ctx = n->l;
  n->tf.t = tt_open(&n->tf.cfg);
  pg_diag d = {{0}};
  assert_int_equal(pg_ledger_attach(n->l, pg_tangle_db(n->tf.t), pg_tangle_db_path(n->tf.t), &d),
                   PG_OK);
}

static void node_close(node *n) {
  pg_ledger_free(n->l);
  pg_tangle_close(n->tf.t);
  tt_rmrf(n->tf.dir);
}

static int setup(void **state) {
  fix *f = calloc(1, sizeof *f);
  assert_non_null(f);
  uint8_t pk[32];
  tt_key(7, pk, f->owner_sk);
  pg_blake2b256(pk, 32, f->owner);
  memset(f->other, 0x5a, sizeof f->other);
  node_open(&f->a, f->owner);
  node_open(&f->b, f->owner);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fix *f = *state;
  node_close(&f->a);
  node_close(&f->b);
  free(f);
  return 0;
}

static void le32(uint8_t p[4], uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* output id || type || address || u64le amount, straight from the definition */
static void hash_output(pg_blake2b *h, const uint8_t txid[32], uint16_t index, uint8_t type,
                        const uint8_t addr[32], uint64_t amount) {
  uint8_t b[34 + 1 + 32 + 8];
  memcpy(b, txid, 32);
  b[32] = (uint8_t)index;
  b[33] = (uint8_t)(index >> 8);
  b[34] = type;
  memcpy(b + 35, addr, 32);
  for (int i = 0; i < 8; i++) b[67 + i] = (uint8_t)(amount >> (8 * i));
  pg_blake2b256_update(h, b, sizeof b);
}

static void expected_genesis(const fix *f, uint8_t out[32]) {
  pg_blake2b h;
  uint8_t z[4] = {0}, txid[32];
  /* the genesis pseudo transaction of batch 0, spelled out */
  uint8_t seed[15 + 4] = "p2pgrid-genesis";
  pg_blake2b256(seed, sizeof seed, txid);
  pg_blake2b256_init(&h);
  pg_blake2b256_update(&h, TAG, strlen(TAG));
  pg_blake2b256_update(&h, z, 4);
  hash_output(&h, txid, 0, 0, f->owner, AMOUNT);     /* ids ...0000 < ...0100 */
  hash_output(&h, txid, 1, 0, f->owner, 2 * AMOUNT);
  pg_blake2b256_final(&h, out);
}

static void test_genesis_vector(void **state) {
  fix *f = *state;
  uint8_t want[32], got[32], again[32];
  expected_genesis(f, want);
  assert_int_equal(pg_ledger_digest(f->a.l, 0, got), PG_OK);
  assert_memory_equal(got, want, 32);
  assert_int_equal(pg_ledger_digest(f->a.l, 0, again), PG_OK); /* cached */
  assert_memory_equal(again, want, 32);
  assert_int_equal(pg_ledger_digest(f->a.l, 1, got), PG_ERR_NOT_FOUND);
}

/* Spends genesis output 0 (AMOUNT) into 1 Mi to `other` and the rest back;
 * returns the message bytes in msg and the transaction id. */
static void transfer(fix *f, node *n, pg_buf *msg, uint8_t txid[32]) {
  pg_tx_input_spec in;
  memset(&in, 0, sizeof in);
  pg_genesis_tx_id(0, in.tx_id);
  in.output_index = 0;
  memcpy(in.secret_key, f->owner_sk, 64);
  pg_tx_output_spec outs[2] = {{.type = 0, .amount = 1000000},
                               {.type = 0, .amount = AMOUNT - 1000000}};
  memcpy(outs[0].address, f->other, 32);
  memcpy(outs[1].address, f->owner, 32);
  pg_buf p;
  pg_buf_init(&p, PG_MSG_MAX_LEN);
  assert_int_equal(pg_transaction_build(&p, &in, 1, outs, 2, NULL, 0, NULL, 0, NULL, NULL), PG_OK);
  pg_transaction_id(p.data, p.len, txid);
  uint8_t tips[8][PG_ID_LEN];
  size_t nt = 0;
  assert_int_equal(pg_tangle_select_tips(n->tf.t, tips, 8, &nt), PG_OK);
  tt_build(msg, pg_network_id("private-tangle"), (const uint8_t(*)[PG_ID_LEN])tips, nt, p.data,
           p.len, 0);
  pg_buf_free(&p);
}

static void test_transfer_changes_digest(void **state) {
  fix *f = *state;
  uint8_t d0[32], d1[32], d2[32], want[32], txid[32], id[PG_ID_LEN];
  assert_int_equal(tt_issue(f->a.tf.t, 1), 1);
  assert_int_equal(pg_ledger_digest(f->a.l, 0, d0), PG_OK);
  assert_int_equal(pg_ledger_digest(f->a.l, 1, d1), PG_OK);
  assert_memory_not_equal(d0, d1, 32);

  pg_buf msg;
  transfer(f, &f->a, &msg, txid);
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->a.tf.t, msg.data, msg.len, id, NULL, &d), PG_OK);
  pg_buf_free(&msg);
  assert_int_equal(pg_ledger_digest(f->a.l, 2, d2), PG_ERR_NOT_FOUND);
  assert_int_equal(tt_issue(f->a.tf.t, 1), 2);
  assert_int_equal(tt_meta(f->a.tf.t, id).inclusion, PG_INCL_INCLUDED);
  assert_int_equal(pg_ledger_digest(f->a.l, 2, d2), PG_OK);

  /* D(2) from the definition */
  pg_milestone_info mi;
  assert_int_equal(pg_tangle_milestone(f->a.tf.t, 2, &mi), PG_OK);
  pg_blake2b h;
  uint8_t c[4], gtx[32];
  pg_blake2b256_init(&h);
  pg_blake2b256_update(&h, TAG, strlen(TAG));
  le32(c, 2);
  pg_blake2b256_update(&h, c, 4);
  pg_blake2b256_update(&h, d1, 32);
  pg_blake2b256_update(&h, mi.message_id, 32);
  le32(c, 2);
  pg_blake2b256_update(&h, c, 4);
  /* outputs of a built transaction are sorted by their bytes (type,
   * address type, then the address decides) */
  bool other_first = memcmp(f->other, f->owner, 32) < 0;
  hash_output(&h, txid, 0, 0, other_first ? f->other : f->owner,
              other_first ? 1000000 : AMOUNT - 1000000);
  hash_output(&h, txid, 1, 0, other_first ? f->owner : f->other,
              other_first ? AMOUNT - 1000000 : 1000000);
  le32(c, 1);
  pg_blake2b256_update(&h, c, 4);
  pg_genesis_tx_id(0, gtx);
  uint8_t spent[34];
  memcpy(spent, gtx, 32);
  spent[32] = spent[33] = 0;
  pg_blake2b256_update(&h, spent, 34);
  pg_blake2b256_final(&h, want);
  assert_memory_equal(d2, want, 32);
}

/* Copies the past cone of `id` from src to dst, parents first. */
static void copy_cone(pg_tangle *src, pg_tangle *dst, const uint8_t id[PG_ID_LEN]) {
  if (memcmp(id, TT_SEP, PG_ID_LEN) == 0) return;
  pg_msg_meta m;
  if (pg_tangle_get_meta(dst, id, &m) == PG_OK) return;
  assert_int_equal(pg_tangle_get_meta(src, id, &m), PG_OK);
  for (unsigned i = 0; i < m.parents_count; i++) copy_cone(src, dst, m.parents[i]);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(src, id, &raw), PG_OK);
  uint8_t got[PG_ID_LEN];
  pg_diag d = {{0}};
  int rc = pg_tangle_submit(dst, raw.data, raw.len, got, NULL, &d);
  if (rc) fprintf(stderr, "copy: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  assert_memory_equal(got, id, PG_ID_LEN);
  pg_buf_free(&raw);
}

static void test_two_tangles_agree(void **state) {
  fix *f = *state;
  uint8_t id[PG_ID_LEN], txid[32];
  assert_int_equal(tt_issue(f->a.tf.t, 1), 1);
  uint8_t tips[1][PG_ID_LEN];
  size_t nt = 0;
  assert_int_equal(pg_tangle_select_tips(f->a.tf.t, tips, 1, &nt), PG_OK);
  assert_int_equal(tt_submit_ix(f->a.tf.t, (const uint8_t(*)[PG_ID_LEN])tips, 1, "digest", "data", id),
                   PG_OK);
  assert_int_equal(tt_issue(f->a.tf.t, 1), 2);
  pg_buf msg;
  transfer(f, &f->a, &msg, txid);
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->a.tf.t, msg.data, msg.len, id, NULL, &d), PG_OK);
  pg_buf_free(&msg);
  assert_int_equal(tt_issue(f->a.tf.t, 1), 3);
  assert_int_equal(tt_issue(f->a.tf.t, 1), 4);

  for (uint32_t i = 1; i <= 4; i++) {
    pg_milestone_info mi;
    assert_int_equal(pg_tangle_milestone(f->a.tf.t, i, &mi), PG_OK);
    copy_cone(f->a.tf.t, f->b.tf.t, mi.message_id);
  }
  for (uint32_t i = 0; i <= 4; i++) {
    uint8_t da[32], db[32];
    assert_int_equal(pg_ledger_digest(f->a.l, i, da), PG_OK);
    assert_int_equal(pg_ledger_digest(f->b.l, i, db), PG_OK);
    assert_memory_equal(da, db, 32);
  }
  uint8_t x[32];
  assert_int_equal(pg_ledger_digest(f->b.l, 5, x), PG_ERR_NOT_FOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_genesis_vector, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_changes_digest, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_tangles_agree, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
