/* Unit tests for the binary message codec (src/tangle/message.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/message.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  assert_int_equal(pg_hex_decode(s, strlen(s), out, cap, &n), PG_OK);
  return n;
}

static void assert_hex(const uint8_t *p, size_t n, const char *want) {
  char buf[512];
  assert_true(2 * n + 1 <= sizeof buf);
  pg_hex_encode(p, n, buf);
  assert_string_equal(buf, want);
}

#define ASSERT_DIAG(d, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((d).msg, (needle))) fail_msg("diag '%s' lacks '%s'", (d).msg, (needle));          \
  } while (0)

static const char *TIP6_P1 = "210fc7bb818639ac48a4c6afa2f1581a8b9525e20fda68927f2b2ff836f73578";
static const char *TIP6_P2 = "db0fa54c29f7fd928d92ca43f193dee47f591549f597a811c8fa67ab031ebd9c";

static size_t tip6_bytes(uint8_t *out) {
  char hex[400];
  snprintf(hex, sizeof hex, "000000000000000002%s%s19000000020000000400494f54410b00000068656c6c6f20776f726c64ce6d000000000000",
           TIP6_P1, TIP6_P2);
  return unhex(hex, out, 200);
}

/* ---- TIP-6 example ------------------------------------------------------- */

static void test_tip6_example(void **state) {
  (void)state;
  uint8_t b[200];
  size_t n = tip6_bytes(b);
  assert_int_equal(n, 110);
  pg_message m;
  pg_diag d = {{0}};
  assert_int_equal(pg_message_parse(b, n, &m, &d), PG_OK);
  assert_true(m.network_id == 0);
  assert_int_equal(m.parents_count, 2);
  assert_hex(m.parents, 32, TIP6_P1);
  assert_hex(m.parents + 32, 32, TIP6_P2);
  assert_int_equal(m.payload_type, PG_PAYLOAD_INDEXATION);
  assert_int_equal(m.payload_len, 25);
  assert_int_equal(m.u.indexation.index_len, 4);
  assert_memory_equal(m.u.indexation.index, "IOTA", 4);
  assert_int_equal(m.u.indexation.data_len, 11);
  assert_memory_equal(m.u.indexation.data, "hello world", 11);
  assert_true(m.nonce == 28110);
  uint8_t id[32];
  pg_message_id(b, n, id);
  assert_hex(id, 32, "e4a85f984095b4feb1f9e1c03f5baf2f7f5b28920a99fefb539bc5570567cddb");

  /* rebuild from parts */
  pg_buf pay, msg;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  assert_int_equal(pg_indexation_build(&pay, (const uint8_t *)"IOTA", 4,
                                       (const uint8_t *)"hello world", 11, &d),
                   PG_OK);
  assert_int_equal(pg_message_build(&msg, 0, m.parents, 2, pay.data, pay.len, 28110, &d), PG_OK);
  assert_int_equal(msg.len, n);
  assert_memory_equal(msg.data, b, n);
  pg_message_clear(&m);
  assert_int_equal(m.payload_type, PG_PAYLOAD_NONE);
  pg_buf_free(&pay);
  pg_buf_free(&msg);
}

static void test_no_payload_and_empty_data(void **state) {
  (void)state;
  uint8_t parent[32] = {0};
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  pg_diag d;
  assert_int_equal(pg_message_build(&msg, 7, parent, 1, NULL, 0, 9, &d), PG_OK);
  assert_int_equal(msg.len, PG_MSG_MIN_LEN);
  pg_message m;
  assert_int_equal(pg_message_parse(msg.data, msg.len, &m, &d), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_NONE);
  assert_null(m.payload);
  assert_true(m.network_id == 7 && m.nonce == 9);
  pg_message_clear(&m);

  pg_buf pay;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  assert_int_equal(pg_indexation_build(&pay, (const uint8_t *)"k", 1, NULL, 0, &d), PG_OK);
  pg_buf_reset(&msg);
  assert_int_equal(pg_message_build(&msg, 7, parent, 1, pay.data, pay.len, 9, &d), PG_OK);
  assert_int_equal(pg_message_parse(msg.data, msg.len, &m, &d), PG_OK);
  assert_int_equal(m.u.indexation.data_len, 0);
  pg_message_clear(&m);
  pg_buf_free(&pay);
  pg_buf_free(&msg);
}

/* ---- TIP-7 worked example (CHRYSALIS.md 4.2) ----------------------------- */

static void test_transaction_example(void **state) {
  (void)state;
  uint8_t ess[200];
  size_t elen = 0;
  char hex[600];
  char aa[65], bb[65];
  memset(aa, 'a', 64);
  memset(bb, 'b', 64);
  aa[64] = bb[64] = 0;
  snprintf(hex, sizeof hex,
           "00" "0100" "00%s0000" "0200"
           "0000" "4573b0090df3bc80368d9067d73e4671585a97a2bde6c4da8b7ba7ea18a279bc"
           "20a1070000000000"
           "0000%s60e3160000000000" "00000000",
           aa, bb);
  elen = unhex(hex, ess, sizeof ess);
  assert_int_equal(elen, 128);
  uint8_t h[32];
  pg_blake2b256(ess, elen, h);
  assert_hex(h, 32, "0cac5463401c1ba113c07bd101cbc1e8bec8c7855020989d4552f901a32a990f");

  uint8_t priv[32], pk[32], sk[64], sig[64];
  unhex("af9d2be25f70db5f3ffd0a0b76b712623c4bef435a7a9e6ea09fcb123c03a4a3", priv, 32);
  pg_ed25519_from_seed(priv, pk, sk);
  assert_hex(pk, 32, "d48c252cba31d45382b25bee05f28c49e9a3485b4a85dda965829b9e5368463a");
  pg_ed25519_sign(sk, h, 32, sig);
  assert_hex(sig, 64,
             "155d64938933f5742a0d3dcb658bb0e67b01e81d0e11a70a7c8cff58c38fd8a48c18b4122f8e9b9df1dd6e08b6f008b3a4c6a6fb84164428a6050c7d3df97c0c");

  pg_buf pay;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_buf_put_u32(&pay, 0);
  pg_buf_put(&pay, ess, elen);
  pg_buf_put_u16(&pay, 1);
  pg_buf_put_u8(&pay, 0);
  pg_buf_put_u8(&pay, 0);
  pg_buf_put(&pay, pk, 32);
  pg_buf_put(&pay, sig, 64);
  assert_int_equal(pg_buf_status(&pay), PG_OK);
  assert_int_equal(pay.len, 232);
  uint8_t txid[32];
  pg_blake2b256(pay.data, pay.len, txid);
  assert_hex(txid, 32, "90f67e0d5784a02b1aa32964e90d29820c37369d0c0697c92c110b4c034b3598");

  pg_message pm;
  pg_diag d = {{0}};
  assert_int_equal(pg_payload_parse(pay.data, pay.len, &pm, &d), PG_OK);
  const pg_transaction *tx = pm.u.transaction;
  assert_int_equal(pm.payload_type, PG_PAYLOAD_TRANSACTION);
  assert_int_equal(tx->essence_len, 128);
  assert_memory_equal(tx->essence, ess, 128);
  assert_int_equal(tx->inputs_count, 1);
  assert_int_equal(tx->inputs[0].output_index, 0);
  assert_int_equal(tx->outputs_count, 2);
  assert_true(tx->outputs[0].amount == 500000);
  assert_true(tx->outputs[1].amount == 1500000);
  assert_false(tx->has_indexation);
  assert_int_equal(tx->unlocks_count, 1);
  assert_memory_equal(tx->unlocks[0].public_key, pk, 32);
  assert_int_equal(pg_ed25519_verify(tx->unlocks[0].public_key, h, 32, tx->unlocks[0].signature),
                   PG_OK);
  pg_message_clear(&pm);

  /* inside a message */
  uint8_t parents[2][32];
  memset(parents[0], 1, 32);
  memset(parents[1], 2, 32);
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  assert_int_equal(pg_message_build(&msg, 1, &parents[0][0], 2, pay.data, pay.len, 0, &d), PG_OK);
  pg_message m;
  assert_int_equal(pg_message_parse(msg.data, msg.len, &m, &d), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_TRANSACTION);
  assert_int_equal(m.payload_len, 232);
  assert_int_equal(m.u.transaction->outputs_count, 2);
  pg_message_clear(&m);
  pg_buf_free(&msg);
  pg_buf_free(&pay);
}

/* ---- a mutable transaction for rejection tests --------------------------- */

typedef struct txspec {
  uint8_t etype;
  unsigned nin;
  uint8_t in[130][35];
  unsigned nout;
  uint8_t out[130][42];
  size_t epay_len;
  uint8_t epay[128];
  unsigned nun;
  uint8_t un[130][98];
  size_t un_len[130];
  size_t trailing; /* extra zero bytes after the payload (inside payloadLength) */
} txspec;

static txspec T;

static void set_input(unsigned i, uint8_t fill, uint16_t idx) {
  T.in[i][0] = 0;
  memset(T.in[i] + 1, fill, 32);
  T.in[i][33] = (uint8_t)idx;
  T.in[i][34] = (uint8_t)(idx >> 8);
}

static void set_output(unsigned i, uint8_t type, uint8_t fill, uint64_t amount) {
  T.out[i][0] = type;
  T.out[i][1] = 0;
  memset(T.out[i] + 2, fill, 32);
  pg_put_le64(T.out[i] + 34, amount);
}

static void set_sig(unsigned i, uint8_t fill) {
  T.un[i][0] = 0;
  T.un[i][1] = 0;
  memset(T.un[i] + 2, fill, 96);
  T.un_len[i] = 98;
}

static void set_ref(unsigned i, uint16_t ref) {
  T.un[i][0] = 1;
  T.un[i][1] = (uint8_t)ref;
  T.un[i][2] = (uint8_t)(ref >> 8);
  T.un_len[i] = 3;
}

static void tx_default(void) {
  memset(&T, 0, sizeof T);
  T.nin = 2;
  set_input(0, 0xaa, 0);
  set_input(1, 0xaa, 1);
  T.nout = 2;
  set_output(0, 0, 0x11, 1500000);
  set_output(1, 0, 0x22, 500000);
  T.nun = 2;
  set_sig(0, 0x33);
  set_ref(1, 0);
}

static void tx_serialize(pg_buf *b) {
  pg_buf_put_u32(b, 0);
  pg_buf_put_u8(b, T.etype);
  pg_buf_put_u16(b, (uint16_t)T.nin);
  for (unsigned i = 0; i < T.nin; i++) pg_buf_put(b, T.in[i], 35);
  pg_buf_put_u16(b, (uint16_t)T.nout);
  for (unsigned i = 0; i < T.nout; i++) pg_buf_put(b, T.out[i], 42);
  pg_buf_put_u32(b, (uint32_t)T.epay_len);
  pg_buf_put(b, T.epay, T.epay_len);
  pg_buf_put_u16(b, (uint16_t)T.nun);
  for (unsigned i = 0; i < T.nun; i++) pg_buf_put(b, T.un[i], T.un_len[i]);
  for (size_t i = 0; i < T.trailing; i++) pg_buf_put_u8(b, 0);
}

/* Parses a message around the current T; returns rc, d filled. */
static int tx_try(pg_diag *d) {
  pg_buf pay, msg;
  pg_buf_init(&pay, 1 << 20);
  pg_buf_init(&msg, 1 << 20);
  tx_serialize(&pay);
  uint8_t parent[32] = {0};
  int rc = pg_message_build(&msg, 0, parent, 1, pay.data, pay.len, 0, d);
  if (rc == PG_OK) {
    pg_message m;
    pg_diag_clear(d);
    rc = pg_message_parse(msg.data, msg.len, &m, d);
    if (rc == PG_OK) pg_message_clear(&m);
  }
  pg_buf_free(&pay);
  pg_buf_free(&msg);
  return rc;
}

#define TX_REJECT(setup, needle)                                                                   \
  do {                                                                                             \
    tx_default();                                                                                  \
    setup;                                                                                         \
    pg_diag d_;                                                                                    \
    pg_diag_clear(&d_);                                                                            \
    int rc_ = tx_try(&d_);                                                                         \
    if (rc_ == PG_OK) fail_msg("accepted: %s", #setup);                                           \
    ASSERT_DIAG(d_, needle);                                                                       \
  } while (0)

static void test_transaction_valid_variants(void **state) {
  (void)state;
  pg_diag d;
  tx_default();
  assert_int_equal(tx_try(&d), PG_OK);
  /* dust allowance and single output to same address is fine */
  tx_default();
  set_output(1, 1, 0x11, 1000000);
  assert_int_equal(tx_try(&d), PG_OK);
  /* essence with an indexation payload */
  tx_default();
  {
    pg_buf b;
    pg_buf_init(&b, 128);
    assert_int_equal(pg_indexation_build(&b, (const uint8_t *)"idx", 3, (const uint8_t *)"dd", 2, &d),
                     PG_OK);
    memcpy(T.epay, b.data, b.len);
    T.epay_len = b.len;
    pg_buf_free(&b);
  }
  assert_int_equal(tx_try(&d), PG_OK);
  /* 127 inputs, each with its own signature */
  tx_default();
  T.nin = T.nun = 127;
  for (unsigned i = 0; i < 127; i++) {
    set_input(i, 0xaa, (uint16_t)(i % 127));
    set_sig(i, (uint8_t)i);
  }
  for (unsigned i = 0; i < 127; i++) T.in[i][1] = (uint8_t)i; /* make order by txid */
  assert_int_equal(tx_try(&d), PG_OK);
  /* total supply exactly */
  tx_default();
  T.nout = 1;
  set_output(0, 0, 0x11, 2779530283277761ull);
  assert_int_equal(tx_try(&d), PG_OK);
}

static const uint8_t EP_MS[] = {1, 0, 0, 0, 0};
static const uint8_t EP_EMPTY_INDEX[] = {2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t EP_EXTRA[] = {2, 0, 0, 0, 1, 0, 'x', 0, 0, 0, 0, 9};

static void set_epay(const uint8_t *p, size_t n) {
  memcpy(T.epay, p, n);
  T.epay_len = n;
}

static void test_transaction_rejections(void **state) {
  (void)state;
  TX_REJECT(T.etype = 1, "essence type 1");
  TX_REJECT(T.nin = 0, "0 inputs");
  TX_REJECT(
      {
        T.nin = T.nun = 128;
        for (unsigned i = 0; i < 128; i++) {
          set_input(i, 0, 0);
          T.in[i][1] = (uint8_t)i;
          set_sig(i, (uint8_t)i);
        }
      },
      "128 inputs");
  TX_REJECT(T.in[1][0] = 1, "input 1 has type 1");
  TX_REJECT(set_input(1, 0xaa, 127), "output index 127; at most 126");
  TX_REJECT(set_input(0, 0xbb, 0), "inputs not sorted: input 1 < input 0");
  TX_REJECT(set_input(1, 0xaa, 0), "input 1 duplicates input 0");
  TX_REJECT(T.nout = 0, "0 outputs");
  TX_REJECT(T.out[1][0] = 2, "output 1 has type 2");
  TX_REJECT(T.out[0][1] = 1, "output 0 address type 1");
  TX_REJECT(set_output(0, 0, 0x11, 0), "output 0 amount is 0");
  TX_REJECT(set_output(0, 0, 0x33, 1), "outputs not sorted: output 1 < output 0");
  TX_REJECT(set_output(1, 0, 0x11, 7), "output 1 repeats the type and address of output 0");
  TX_REJECT(
      {
        set_output(0, 0, 0x11, 2779530283277761ull);
        set_output(1, 0, 0x22, 1);
      },
      "exceed the total supply");
  TX_REJECT(set_output(0, 0, 0x11, UINT64_MAX), "exceed the total supply");
  TX_REJECT(set_output(1, 1, 0x22, 999999), "dust allowance of 999999");
  TX_REJECT(set_epay(EP_MS, sizeof EP_MS), "essence payload type 1; only indexation");
  TX_REJECT(set_epay(EP_EMPTY_INDEX, sizeof EP_EMPTY_INDEX), "index is empty");
  TX_REJECT(set_epay(EP_EXTRA, sizeof EP_EXTRA), "leaves 1 of its 12 bytes unused");
  TX_REJECT(T.nun = 1, "1 unlock blocks for 2 inputs");
  TX_REJECT(T.nun = 3, "3 unlock blocks for 2 inputs");
  TX_REJECT(T.un[0][1] = 1, "unlock block 0 signature type 1");
  TX_REJECT(set_sig(1, 0x33), "signature unlock block 1 duplicates block 0");
  TX_REJECT(set_ref(1, 1), "points at block 1; must be earlier");
  TX_REJECT(
      {
        T.nin = T.nun = 3;
        set_input(2, 0xaa, 2);
        set_ref(2, 1);
      },
      "block 1, which is not a signature block");
  TX_REJECT(T.un[1][0] = 2, "unlock block 1 has unknown type 2");
  TX_REJECT(T.trailing = 1, "transaction payload leaves 1 of its");
  TX_REJECT(T.un_len[1] = 2, "unlock block 1 reference truncated");
}

/* ---- milestones ---------------------------------------------------------- */

static void ms_draft(pg_milestone_draft *ms) {
  memset(ms, 0, sizeof *ms);
  ms->index = 5;
  ms->timestamp = 1700000000;
  ms->parents_count = 2;
  memset(ms->parents[0], 0x10, 32);
  memset(ms->parents[1], 0x20, 32);
  memset(ms->inclusion_merkle_proof, 0x0e, 32);
  ms->next_pow_score = 0;
  ms->next_pow_score_milestone_index = 0;
}

static void test_milestone_round_trip(void **state) {
  (void)state;
  pg_milestone_draft ms;
  ms_draft(&ms);
  uint8_t pks[2][32], sks[2][64];
  uint8_t seed[32];
  for (int k = 0; k < 2; k++) {
    memset(seed, 0x40 + k, 32);
    pg_ed25519_from_seed(seed, pks[k], sks[k]);
  }
  int lo = memcmp(pks[0], pks[1], 32) < 0 ? 0 : 1;
  ms.keys_count = 2;
  memcpy(ms.public_keys[0], pks[lo], 32);
  memcpy(ms.public_keys[1], pks[1 - lo], 32);
  pg_diag d = {{0}};
  pg_buf ess;
  pg_buf_init(&ess, PG_MSG_MAX_LEN);
  assert_int_equal(pg_milestone_essence(&ess, &ms, &d), PG_OK);
  assert_int_equal(ess.len, 4 + 8 + 1 + 64 + 32 + 4 + 4 + 1 + 64 + 4);
  uint8_t h[32];
  pg_blake2b256(ess.data, ess.len, h);
  uint8_t sigs[2][64];
  pg_ed25519_sign(sks[lo], h, 32, sigs[0]);
  pg_ed25519_sign(sks[1 - lo], h, 32, sigs[1]);
  pg_buf pay, msg;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  assert_int_equal(pg_milestone_build(&pay, &ms, (const uint8_t(*)[64])sigs, &d), PG_OK);
  assert_int_equal(pay.len, 4 + ess.len + 1 + 128);
  assert_int_equal(pg_message_build(&msg, 3, &ms.parents[0][0], 2, pay.data, pay.len, 1, &d), PG_OK);
  pg_message m;
  assert_int_equal(pg_message_parse(msg.data, msg.len, &m, &d), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_MILESTONE);
  const pg_milestone *p = &m.u.milestone;
  assert_int_equal(p->index, 5);
  assert_true(p->timestamp == 1700000000);
  assert_int_equal(p->parents_count, 2);
  assert_memory_equal(p->parents, ms.parents, 64);
  assert_memory_equal(p->inclusion_merkle_proof, ms.inclusion_merkle_proof, 32);
  assert_int_equal(p->keys_count, 2);
  assert_memory_equal(p->public_keys, ms.public_keys, 64);
  assert_int_equal(p->receipt_len, 0);
  assert_null(p->receipt);
  assert_int_equal(p->signatures_count, 2);
  assert_int_equal(p->essence_len, ess.len);
  assert_memory_equal(p->essence, ess.data, ess.len);
  for (int k = 0; k < 2; k++)
    assert_int_equal(pg_ed25519_verify(p->public_keys + 32 * k, h, 32, p->signatures + 64 * k),
                     PG_OK);
  pg_message_clear(&m);

  /* milestone parents must match the message parents */
  uint8_t other[2][32];
  memset(other[0], 0x10, 32);
  memset(other[1], 0x21, 32);
  pg_buf_reset(&msg);
  assert_int_equal(pg_message_build(&msg, 3, &other[0][0], 2, pay.data, pay.len, 1, &d), PG_OK);
  assert_int_not_equal(pg_message_parse(msg.data, msg.len, &m, &d), PG_OK);
  ASSERT_DIAG(d, "milestone parents differ");

  /* with nextPoWScore */
  ms.next_pow_score = 4000;
  ms.next_pow_score_milestone_index = 6;
  pg_buf_reset(&pay);
  assert_int_equal(pg_milestone_build(&pay, &ms, (const uint8_t(*)[64])sigs, &d), PG_OK);
  assert_int_equal(pg_payload_parse(pay.data, pay.len, &m, &d), PG_OK);
  assert_int_equal(m.u.milestone.next_pow_score, 4000);
  pg_message_clear(&m);

  pg_buf_free(&ess);
  pg_buf_free(&pay);
  pg_buf_free(&msg);
}

/* Builds a valid milestone payload with 1 key, then lets mutate() edit the
 * raw bytes; expects rejection with needle. Offsets: type 0, index 4,
 * timestamp 8, parentsCount 16, parents 17 (2 x 32), proof 81, nextPoW 113,
 * nextPoWIdx 117, keysCount 121, keys 122 (n x 32), receiptLen, sigsCount, sigs. */
static void ms_reject(void (*mutate)(pg_buf *), const char *needle) {
  pg_milestone_draft ms;
  ms_draft(&ms);
  ms.keys_count = 2;
  memset(ms.public_keys[0], 0x50, 32);
  memset(ms.public_keys[1], 0x60, 32);
  uint8_t sigs[2][64];
  memset(sigs, 0x77, sizeof sigs);
  pg_buf pay;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_diag d;
  assert_int_equal(pg_milestone_build(&pay, &ms, (const uint8_t(*)[64])sigs, &d), PG_OK);
  mutate(&pay);
  pg_message m;
  pg_diag_clear(&d);
  int rc = pg_payload_parse(pay.data, pay.len, &m, &d);
  if (rc == PG_OK) {
    pg_message_clear(&m);
    fail_msg("milestone accepted; wanted '%s'", needle);
  }
  ASSERT_DIAG(d, needle);
  pg_buf_free(&pay);
}

static void mut_parents_unsorted(pg_buf *b) { memset(b->data + 17, 0x30, 32); }
static void mut_parents_zero(pg_buf *b) { b->data[16] = 0; }
static void mut_parents_nine(pg_buf *b) { b->data[16] = 9; }
static void mut_keys_dup(pg_buf *b) { memset(b->data + 122 + 32, 0x50, 32); }
static void mut_keys_unsorted(pg_buf *b) { memset(b->data + 122, 0x61, 32); }
static void mut_sigcount(pg_buf *b) { b->data[122 + 64 + 4] = 1; }
static void mut_nextpow_idx_without_score(pg_buf *b) { b->data[117] = 9; }
static void mut_nextpow_idx_too_small(pg_buf *b) {
  b->data[113] = 1;
  b->data[117] = 5; /* == index */
}
static void mut_trailing(pg_buf *b) { pg_buf_put_u8(b, 0); }
static void mut_truncated(pg_buf *b) { b->len -= 1; }
static void mut_receipt_bad_type(pg_buf *b) {
  /* receiptLength = 4 with a fake receipt of type 2: rebuild tail */
  size_t off = 122 + 64;
  uint8_t tail[1 + 128];
  memcpy(tail, b->data + off + 4, sizeof tail);
  b->len = off;
  pg_buf_put_u32(b, 4);
  pg_buf_put_u32(b, 2);
  pg_buf_put(b, tail, sizeof tail);
}
static void mut_keys_zero(pg_buf *b) {
  b->data[121] = 0;
  /* drop keys; receiptLen 0; sigs count 0 */
  b->len = 122;
  pg_buf_put_u32(b, 0);
  pg_buf_put_u8(b, 0);
}

static void test_milestone_rejections(void **state) {
  (void)state;
  ms_reject(mut_parents_unsorted, "milestone: parents not sorted: parent 1 < parent 0");
  ms_reject(mut_parents_zero, "milestone: 0 parents");
  ms_reject(mut_parents_nine, "milestone: 9 parents");
  ms_reject(mut_keys_dup, "public key 1 duplicates public key 0");
  ms_reject(mut_keys_unsorted, "public keys not sorted");
  ms_reject(mut_sigcount, "1 signatures for 2 public keys");
  ms_reject(mut_nextpow_idx_without_score, "nextPoWScore is 0");
  ms_reject(mut_nextpow_idx_too_small, "must be greater than index 5");
  ms_reject(mut_trailing, "milestone payload leaves 1 of its");
  ms_reject(mut_truncated, "signatures truncated");
  ms_reject(mut_receipt_bad_type, "receipt payload type 2");
  ms_reject(mut_keys_zero, "0 public keys");
}

static void test_milestone_with_receipt(void **state) {
  (void)state;
  pg_milestone_draft ms;
  ms_draft(&ms);
  ms.keys_count = 1;
  memset(ms.public_keys[0], 0x50, 32);
  pg_buf r;
  pg_buf_init(&r, 4096);
  pg_buf_put_u32(&r, 3);
  pg_buf_put_u32(&r, 12);
  pg_buf_put_u8(&r, 1);
  pg_buf_put_u16(&r, 1);
  uint8_t tail[49];
  memset(tail, 0x39, 49);
  pg_buf_put(&r, tail, 49);
  pg_buf_put_u8(&r, 0);
  uint8_t addr[32];
  memset(addr, 0x44, 32);
  pg_buf_put(&r, addr, 32);
  pg_buf_put_u64(&r, 1000000);
  pg_buf_put_u32(&r, 4 + 1 + 32 + 1 + 8);
  pg_buf_put_u32(&r, 4);
  pg_buf_put_u8(&r, 1);
  pg_buf_put(&r, addr, 32);
  pg_buf_put_u8(&r, 2);
  pg_buf_put_u64(&r, 5);
  /* hand-assemble the payload with this receipt */
  pg_buf ess, pay;
  pg_buf_init(&ess, PG_MSG_MAX_LEN);
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_diag d;
  assert_int_equal(pg_milestone_essence(&ess, &ms, &d), PG_OK);
  ess.len -= 4;
  pg_buf_put_u32(&pay, 1);
  pg_buf_put(&pay, ess.data, ess.len);
  pg_buf_put_u32(&pay, (uint32_t)r.len);
  pg_buf_put(&pay, r.data, r.len);
  pg_buf_put_u8(&pay, 1);
  uint8_t sig[64] = {0};
  pg_buf_put(&pay, sig, 64);
  pg_message m;
  assert_int_equal(pg_payload_parse(pay.data, pay.len, &m, &d), PG_OK);
  assert_int_equal(m.u.milestone.receipt_len, r.len);
  assert_memory_equal(m.u.milestone.receipt, r.data, r.len);
  assert_int_equal(m.u.milestone.essence_len, ess.len + 4 + r.len);
  pg_message_clear(&m);
  /* receipt at top level is refused */
  assert_int_not_equal(pg_payload_parse(r.data, r.len, &m, &d), PG_OK);
  ASSERT_DIAG(d, "payload type 3 (receipt)");
  pg_buf_free(&r);
  pg_buf_free(&ess);
  pg_buf_free(&pay);
}

/* ---- message-level rejections -------------------------------------------- */

static int try_parse(const uint8_t *b, size_t n, pg_diag *d) {
  pg_message m;
  pg_diag_clear(d);
  int rc = pg_message_parse(b, n, &m, d);
  if (rc == PG_OK) pg_message_clear(&m);
  return rc;
}

static void test_message_rejections(void **state) {
  (void)state;
  uint8_t b[PG_MSG_MAX_LEN + 64];
  uint8_t t[200];
  size_t n = tip6_bytes(t);
  pg_diag d;

  assert_int_equal(try_parse(t, 52, &d), PG_ERR_TRUNCATED);
  ASSERT_DIAG(d, "message is 52 bytes; at least 53");
  memset(b, 0, sizeof b);
  assert_int_equal(try_parse(b, PG_MSG_MAX_LEN + 1, &d), PG_ERR_TOO_LARGE);
  ASSERT_DIAG(d, "at most 32768");

  /* trailing byte */
  memcpy(b, t, n);
  b[n] = 0;
  assert_int_equal(try_parse(b, n + 1, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "1 bytes after the nonce");

  /* parents count 0 and 9 */
  memcpy(b, t, n);
  b[8] = 0;
  assert_int_equal(try_parse(b, n, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "0 parents; must be 1..8");
  b[8] = 9;
  assert_int_equal(try_parse(b, n, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "9 parents");

  /* parents unsorted / duplicate */
  memcpy(b, t, n);
  memcpy(b + 9, t + 41, 32);
  memcpy(b + 41, t + 9, 32);
  assert_int_equal(try_parse(b, n, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "parents not sorted: parent 1 < parent 0");
  memcpy(b + 41, b + 9, 32);
  assert_int_equal(try_parse(b, n, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "parent 1 duplicates parent 0");

  /* payload length too large / too small */
  memcpy(b, t, n);
  b[73] = 26;
  assert_int_equal(try_parse(b, n, &d), PG_ERR_TRUNCATED);
  ASSERT_DIAG(d, "payload length 26 exceeds");
  b[73] = 24;
  assert_int_not_equal(try_parse(b, n, &d), PG_OK);
  b[73] = 2;
  assert_int_not_equal(try_parse(b, n, &d), PG_OK);

  /* payload types */
  static const struct {
    uint8_t type;
    const char *needle;
  } types[] = {{3, "receipt"}, {4, "treasury"}, {5, "unknown payload type 5"}};
  for (size_t i = 0; i < 3; i++) {
    memcpy(b, t, n);
    b[77] = types[i].type;
    assert_int_equal(try_parse(b, n, &d), PG_ERR_INVALID);
    ASSERT_DIAG(d, types[i].needle);
  }

  /* indexation: index length 0, 65, data length beyond */
  pg_buf pay, msg;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  uint8_t idx[70];
  memset(idx, 'i', sizeof idx);
  pg_buf_put_u32(&pay, 2);
  pg_buf_put_u16(&pay, 70);
  pg_buf_put(&pay, idx, 70);
  pg_buf_put_u32(&pay, 0);
  assert_int_equal(pg_message_build(&msg, 0, t + 9, 1, pay.data, pay.len, 0, &d), PG_OK);
  assert_int_equal(try_parse(msg.data, msg.len, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "indexation index is 70 bytes; at most 64");
  assert_int_equal(pg_indexation_build(&pay, idx, 65, NULL, 0, &d), PG_ERR_INVALID);
  assert_int_equal(pg_indexation_build(&pay, idx, 0, NULL, 0, &d), PG_ERR_INVALID);

  memcpy(b, t, n);
  b[87] = 12; /* data length 12 > 11 */
  assert_int_equal(try_parse(b, n, &d), PG_ERR_TRUNCATED);
  ASSERT_DIAG(d, "indexation data truncated");
  memcpy(b, t, n);
  b[87] = 10; /* data length 10: 1 unused byte */
  assert_int_equal(try_parse(b, n, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "indexation payload leaves 1 of its 25 bytes unused");
  pg_buf_free(&pay);
  pg_buf_free(&msg);
}

/* The store reads a stored message's parents with pg_message_parents: the
 * parse's parents for a whole message, the header checks for broken bytes. */
static void test_parents_only(void **state) {
  (void)state;
  uint8_t t[200], b[200];
  size_t n = tip6_bytes(t);
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  uint8_t np = 0;
  pg_diag d;
  assert_int_equal(pg_message_parents(t, n, parents, &np, &d), PG_OK);
  assert_int_equal(np, 2);
  assert_hex(parents[0], PG_ID_LEN, TIP6_P1);
  assert_hex(parents[1], PG_ID_LEN, TIP6_P2);
  /* only the header is read: the same parents with the payload cut off */
  assert_int_equal(pg_message_parents(t, 9 + 64, parents, &np, &d), PG_OK);
  assert_int_equal(np, 2);

  assert_int_equal(pg_message_parents(t, 8, parents, &np, &d), PG_ERR_TRUNCATED);
  assert_int_equal(np, 0);
  ASSERT_DIAG(d, "parents count missing");
  assert_int_equal(pg_message_parents(t, 9 + 63, parents, &np, &d), PG_ERR_TRUNCATED);
  ASSERT_DIAG(d, "2 parents declared but the message ends early");
  memcpy(b, t, n);
  b[8] = 0;
  assert_int_equal(pg_message_parents(b, n, parents, &np, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "0 parents; must be 1..8");
  b[8] = 9;
  assert_int_equal(pg_message_parents(b, n, parents, &np, &d), PG_ERR_INVALID);
  memcpy(b, t, n);
  memcpy(b + 41, b + 9, 32);
  assert_int_equal(pg_message_parents(b, n, parents, &np, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "parent 1 duplicates parent 0");
  assert_int_equal(np, 0);
}

static void test_build_rejections(void **state) {
  (void)state;
  uint8_t parents[9][32];
  for (int i = 0; i < 9; i++) memset(parents[i], i + 1, 32);
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  pg_diag d;
  assert_int_equal(pg_message_build(&msg, 0, &parents[0][0], 0, NULL, 0, 0, &d), PG_ERR_INVALID);
  assert_int_equal(pg_message_build(&msg, 0, &parents[0][0], 9, NULL, 0, 0, &d), PG_ERR_INVALID);
  assert_int_equal(pg_message_build(&msg, 0, &parents[0][0], 8, NULL, 0, 0, &d), PG_OK);
  pg_buf_reset(&msg);
  assert_int_equal(pg_message_build(&msg, 0, &parents[1][0], 1, NULL, 0, 0, &d), PG_OK);
  pg_buf_reset(&msg);
  uint8_t rev[2][32];
  memcpy(rev[0], parents[1], 32);
  memcpy(rev[1], parents[0], 32);
  assert_int_equal(pg_message_build(&msg, 0, &rev[0][0], 2, NULL, 0, 0, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "parents not sorted");
  uint8_t *big = calloc(1, PG_MSG_MAX_LEN);
  assert_non_null(big);
  size_t fit = PG_MSG_MAX_LEN - (8 + 1 + 32 + 4 + 8);
  assert_int_equal(pg_message_build(&msg, 0, &parents[0][0], 1, big, fit, 0, &d), PG_OK);
  assert_int_equal(msg.len, PG_MSG_MAX_LEN);
  pg_buf_reset(&msg);
  assert_int_equal(pg_message_build(&msg, 0, &parents[0][0], 1, big, fit + 1, 0, &d),
                   PG_ERR_TOO_LARGE);
  ASSERT_DIAG(d, "32769 bytes");
  free(big);

  pg_milestone_draft ms;
  ms_draft(&ms);
  ms.keys_count = 0;
  assert_int_equal(pg_milestone_essence(&msg, &ms, &d), PG_ERR_INVALID);
  ms.keys_count = 1;
  ms.next_pow_score = 1;
  ms.next_pow_score_milestone_index = 5;
  assert_int_equal(pg_milestone_essence(&msg, &ms, &d), PG_ERR_INVALID);
  pg_buf_free(&msg);

  assert_true(pg_id_cmp(parents[0], parents[1]) < 0);
  assert_true(pg_id_cmp(parents[1], parents[0]) > 0);
  assert_int_equal(pg_id_cmp(parents[1], parents[1]), 0);
}

int main(void) {
  if (pg_crypto_init() != PG_OK) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tip6_example),
      cmocka_unit_test(test_no_payload_and_empty_data),
      cmocka_unit_test(test_transaction_example),
      cmocka_unit_test(test_transaction_valid_variants),
      cmocka_unit_test(test_transaction_rejections),
      cmocka_unit_test(test_milestone_round_trip),
      cmocka_unit_test(test_milestone_rejections),
      cmocka_unit_test(test_milestone_with_receipt),
      cmocka_unit_test(test_message_rejections),
      cmocka_unit_test(test_build_rejections),
      cmocka_unit_test(test_parents_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
