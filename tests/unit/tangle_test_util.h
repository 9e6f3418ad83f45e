/* tangle_test_util.h — helpers shared by tests/unit/test_tangle_*.c: temporary
 * data directories, a configured tangle on a virtual clock, deterministic
 * milestone keys, and message builders. Include after <cmocka.h>. */
#ifndef P2PGRID_TANGLE_TEST_UTIL_H
#define P2PGRID_TANGLE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/tangle.h"
#include "test_util_tmpdir.h"

#define TT_UNUSED __attribute__((unused))
#define TT_START_MS 1700000000000ULL

static const uint8_t TT_SEP[PG_ID_LEN] TT_UNUSED = {0};

/* $TMPDIR/pg_tangle_XXXXXX (or /tmp); tt_rmrf removes it and frees the path. */
TT_UNUSED static char *tt_mkdtemp(void) { return tu_mktmp("pg_tangle"); }

TT_UNUSED static void tt_rmrf(char *dir) { tu_rmrf(dir); }

/* Deterministic key pair number i (seed = i+1 repeated). */
TT_UNUSED static void tt_key(unsigned i, uint8_t pk[32], uint8_t sk[64]) {
  uint8_t seed[32];
  memset(seed, (int)(i + 1), sizeof seed);
  pg_ed25519_from_seed(seed, pk, sk);
}

/* Defaults + data_dir + virtual clock + milestone keys 0..nkeys-1 (threshold nkeys). */
TT_UNUSED static void tt_config(pg_tangle_config *c, const char *dir, pg_vclock *vc, unsigned nkeys) {
  pg_tangle_config_defaults(c);
  c->data_dir = dir;
  c->clock = &vc->base;
  c->pow_threads = 1;
  c->ms_keys_count = nkeys;
  c->ms_threshold = nkeys;
  for (unsigned i = 0; i < nkeys; i++) {
    uint8_t sk[64];
    tt_key(i, c->ms_public_keys[i], sk);
  }
}

TT_UNUSED static pg_tangle *tt_open(const pg_tangle_config *c) {
  pg_tangle *t = NULL;
  pg_diag d = {{0}};
  int rc = pg_tangle_open(c, &t, &d);
  if (rc) fprintf(stderr, "pg_tangle_open: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  return t;
}

/* Fixture: one tangle in a temporary data dir on a virtual clock, milestone
 * key 0 (tt_config with one key); the test opens f->t (tt_open(&f->cfg)).
 * For cmocka_unit_test_setup_teardown(test, tt_setup, tt_teardown). */
typedef struct tt_fixture {
  char *dir;
  pg_vclock clock;
  pg_tangle_config cfg;
  pg_tangle *t;
} tt_fixture;

TT_UNUSED static int tt_setup(void **state) {
  tt_fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->dir = tt_mkdtemp();
  pg_vclock_init(&f->clock, TT_START_MS);
  tt_config(&f->cfg, f->dir, &f->clock, 1);
  *state = f;
  return 0;
}

TT_UNUSED static int tt_teardown(void **state) {
  tt_fixture *f = *state;
  pg_tangle_close(f->t);
  tt_rmrf(f->dir);
  free(f);
  return 0;
}

static int tt_id_cmp(const void *a, const void *b) { return memcmp(a, b, PG_ID_LEN); }

/* Builds a message with the given parents (sorted here) and payload. */
TT_UNUSED static void tt_build(pg_buf *msg, uint64_t netid, const uint8_t (*parents)[PG_ID_LEN],
                               size_t np, const uint8_t *payload, size_t plen, uint64_t nonce) {
  uint8_t sorted[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  assert_true(np >= 1 && np <= PG_MSG_MAX_PARENTS);
  memcpy(sorted, parents, np * PG_ID_LEN);
  qsort(sorted, np, PG_ID_LEN, tt_id_cmp);
  pg_buf_init(msg, PG_MSG_MAX_LEN);
  pg_diag d = {{0}};
  int rc = pg_message_build(msg, netid, &sorted[0][0], np, payload, plen, nonce, &d);
  if (rc) fprintf(stderr, "pg_message_build: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
}

TT_UNUSED static void tt_build_indexation(pg_buf *msg, uint64_t netid,
                                          const uint8_t (*parents)[PG_ID_LEN], size_t np,
                                          const char *index, const char *data) {
  pg_buf ix;
  pg_buf_init(&ix, PG_MSG_MAX_LEN);
  assert_int_equal(pg_indexation_build(&ix, (const uint8_t *)index, strlen(index),
                                       (const uint8_t *)data, strlen(data), NULL),
                   PG_OK);
  tt_build(msg, netid, parents, np, ix.data, ix.len, 0);
  pg_buf_free(&ix);
}

/* Submits an indexation message; returns the submit status, id in id. */
TT_UNUSED static int tt_submit_ix(pg_tangle *t, const uint8_t (*parents)[PG_ID_LEN], size_t np,
                                  const char *index, const char *data, uint8_t id[PG_ID_LEN]) {
  pg_buf msg;
  tt_build_indexation(&msg, pg_network_id("private-tangle"), parents, np, index, data);
  bool is_new = false;
  pg_diag d = {{0}};
  int rc = pg_tangle_submit(t, msg.data, msg.len, id, &is_new, &d);
  if (rc) fprintf(stderr, "(submit: %s)\n", d.msg);
  pg_buf_free(&msg);
  return rc;
}

/* A syntactically valid transaction payload (signatures are not checked by
 * the codec); `tag` makes it unique. Written by hand from CHRYSALIS.md 4.1. */
TT_UNUSED static void tt_tx_payload(pg_buf *p, uint8_t tag) {
  pg_buf_init(p, PG_MSG_MAX_LEN);
  pg_buf_put_u32(p, 0);  /* payload type: transaction */
  pg_buf_put_u8(p, 0);   /* essence type */
  pg_buf_put_u16(p, 1);  /* inputs */
  pg_buf_put_u8(p, 0);   /* UTXO input */
  uint8_t txid[32];
  memset(txid, tag, sizeof txid);
  pg_buf_put(p, txid, 32);
  pg_buf_put_u16(p, 0);
  pg_buf_put_u16(p, 1);  /* outputs */
  pg_buf_put_u8(p, 0);   /* SigLockedSingleOutput */
  pg_buf_put_u8(p, 0);   /* Ed25519 address */
  uint8_t addr[32];
  memset(addr, 0xa0 ^ tag, sizeof addr);
  pg_buf_put(p, addr, 32);
  pg_buf_put_u64(p, 1000000);
  pg_buf_put_u32(p, 0);  /* no essence payload */
  pg_buf_put_u16(p, 1);  /* unlock blocks */
  pg_buf_put_u8(p, 0);   /* signature block */
  pg_buf_put_u8(p, 0);   /* Ed25519 */
  uint8_t pk[32], sig[64];
  memset(pk, 0x11, sizeof pk);
  memset(sig, 0x22, sizeof sig);
  pg_buf_put(p, pk, 32);
  pg_buf_put(p, sig, 64);
  assert_int_equal(pg_buf_status(p), PG_OK);
}

TT_UNUSED static int tt_submit_tx(pg_tangle *t, const uint8_t (*parents)[PG_ID_LEN], size_t np,
                                  uint8_t tag, uint8_t id[PG_ID_LEN]) {
  pg_buf p, msg;
  tt_tx_payload(&p, tag);
  tt_build(&msg, pg_network_id("private-tangle"), parents, np, p.data, p.len, 0);
  pg_diag d = {{0}};
  int rc = pg_tangle_submit(t, msg.data, msg.len, id, NULL, &d);
  if (rc) fprintf(stderr, "(submit tx: %s)\n", d.msg);
  pg_buf_free(&p);
  pg_buf_free(&msg);
  return rc;
}

/* Issues the next milestone with keys 0..nkeys-1; returns its index. */
TT_UNUSED static uint32_t tt_issue(pg_tangle *t, unsigned nkeys) {
  uint8_t sks[PG_MS_MAX_KEYS][64];
  for (unsigned i = 0; i < nkeys; i++) {
    uint8_t pk[32];
    tt_key(i, pk, sks[i]);
  }
  uint32_t index = 0;
  pg_diag d = {{0}};
  int rc = pg_tangle_issue_milestone(t, (const uint8_t(*)[64])sks, nkeys, NULL, &index, &d);
  if (rc) fprintf(stderr, "issue_milestone: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  return index;
}

TT_UNUSED static pg_msg_meta tt_meta(pg_tangle *t, const uint8_t id[PG_ID_LEN]) {
  pg_msg_meta m;
  assert_int_equal(pg_tangle_get_meta(t, id, &m), PG_OK);
  return m;
}

/* A milestone built by hand (another coordinator) with chosen parents. */
TT_UNUSED static void tt_craft_milestone(pg_buf *msg, uint32_t index, uint64_t ts,
                            const uint8_t (*parents)[PG_ID_LEN], size_t np) {
  pg_milestone_draft ms;
  memset(&ms, 0, sizeof ms);
  ms.index = index;
  ms.timestamp = ts;
  ms.parents_count = (uint8_t)np;
  memcpy(ms.parents, parents, np * PG_ID_LEN);
  qsort(ms.parents, np, PG_ID_LEN, tt_id_cmp);
  pg_merkle_root(NULL, 0, ms.inclusion_merkle_proof);
  ms.keys_count = 1;
  uint8_t sk[64];
  tt_key(0, ms.public_keys[0], sk);
  pg_buf ess, payload;
  pg_buf_init(&ess, PG_MSG_MAX_LEN);
  pg_buf_init(&payload, PG_MSG_MAX_LEN);
  assert_int_equal(pg_milestone_essence(&ess, &ms, NULL), PG_OK);
  uint8_t h[32], sig[1][64];
  pg_blake2b256(ess.data, ess.len, h);
  pg_ed25519_sign(sk, h, 32, sig[0]);
  assert_int_equal(pg_milestone_build(&payload, &ms, (const uint8_t(*)[64])sig, NULL), PG_OK);
  tt_build(msg, pg_network_id("private-tangle"), parents, np, payload.data, payload.len, 0);
  pg_buf_free(&ess);
  pg_buf_free(&payload);
}

#endif
