/* MAM batches against the single-message functions, byte for byte: random
 * channels (public / private / restricted, security 1-3, trees of 1..8 leaves
 * and one of over 512, any leaf index), message sizes from 1 tryte to over
 * 4 chunks, three rounds in a row (so nextRoot and the tree steps are
 * exercised), with and without the keys cache (and cached leaves that no
 * longer fit a state), bad items and a channel given twice; then parsing all
 * of it, with tampered payloads, wrong keys and wrong roots among them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/mam/mam.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void rand_trytes(char *out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"[next_rand() % 27];
  out[n] = '\0';
}

#define NCH 40

typedef struct chan_case {
  pg_mam_channel ch;
  char key[PG_MAM_HASH_TRYTES + 1];
} chan_case;

static void make_channel(chan_case *c, size_t i, bool tall) {
  char seed[PG_MAM_HASH_TRYTES + 1];
  rand_trytes(seed, PG_MAM_HASH_TRYTES);
  pg_mam_mode mode = (pg_mam_mode)(i % 3);
  size_t klen = mode == PG_MAM_RESTRICTED ? 1 + next_rand() % 81 : 0;
  rand_trytes(c->key, klen);
  int sec = 1 + (int)((i / 3) % 3);
  assert_int_equal(pg_mam_channel_create(&c->ch, seed, mode, c->key, klen, sec, NULL), PG_OK);
  static const uint32_t counts[] = {1, 1, 1, 2, 4, 8};
  c->ch.count = counts[next_rand() % 6];
  c->ch.next_count = next_rand() % 4 == 0 ? counts[next_rand() % 6] : c->ch.count;
  c->ch.index = (uint32_t)(next_rand() % c->ch.count);
  c->ch.start = next_rand() % 1000;
  if (i == 7 && tall) { /* 513 leaves: more than one pass of 512 */
    c->ch.count = 512, c->ch.next_count = 1, c->ch.index = 511, c->ch.security = 1;
  }
  assert_int_equal(pg_mam_channel_validate(&c->ch, NULL), PG_OK);
}

static void assert_same_message(const pg_mam_message *a, const pg_mam_message *b) {
  assert_int_equal(a->payload_len, b->payload_len);
  assert_memory_equal(a->payload, b->payload, a->payload_len + 1);
  assert_string_equal(a->root, b->root);
  assert_string_equal(a->next_root, b->next_root);
  assert_string_equal(a->address, b->address);
}

static void assert_same_parsed(const pg_mam_parsed *a, const pg_mam_parsed *b) {
  assert_int_equal(a->message_len, b->message_len);
  assert_memory_equal(a->message, b->message, a->message_len + 1);
  assert_string_equal(a->next_root, b->next_root);
  assert_int_equal(a->index, b->index);
  assert_int_equal(a->siblings, b->siblings);
  assert_int_equal(a->security, b->security);
}

/* Parses every message of a round both ways, plus damaged ones. */
static void check_parse(chan_case *cc, pg_mam_message *msgs, const int *made, size_t n) {
  pg_mam_parse_item *items = calloc(2 * n, sizeof *items);
  char **bad = calloc(n, sizeof *bad);
  pg_mam_parsed *pa = calloc(2 * n, sizeof *pa), *pb = calloc(2 * n, sizeof *pb);
  int *rca = calloc(2 * n, sizeof *rca);
  assert_true(items && bad && pa && pb && rca);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (made[i] != PG_OK) continue;
    const char *key = cc[i].ch.mode == PG_MAM_RESTRICTED ? cc[i].ch.side_key : NULL;
    size_t klen = key ? PG_MAM_HASH_TRYTES : 0;
    pg_mam_parse_item it = {msgs[i].payload, msgs[i].payload_len, msgs[i].root, key, klen};
    items[m++] = it;
    /* a damaged twin: a flipped tryte, a wrong key, a wrong root or a cut */
    bad[i] = strdup(msgs[i].payload);
    assert_non_null(bad[i]);
    pg_mam_parse_item b = it;
    b.payload = bad[i];
    switch (i % 4) {
    case 0: bad[i][next_rand() % it.payload_len] = 'Q'; break;
    case 1: b.side_key = "ABC", b.side_key_len = 3; break;
    case 2: b.root = msgs[(i + 1) % n].root; break;
    default: b.payload_len = next_rand() % it.payload_len; break;
    }
    items[m++] = b;
  }
  pg_diag d = {{0}};
  int brc = pg_mam_parse_batch(items, m, pa, rca, &d);
  int first = PG_OK;
  for (size_t k = 0; k < m; k++) {
    pg_diag ds = {{0}};
    int rc = pg_mam_parse_message(items[k].payload, items[k].payload_len, items[k].root,
                                  items[k].side_key, items[k].side_key_len, &pb[k], &ds);
    assert_int_equal(rca[k], rc);
    if (rc == PG_OK) assert_same_parsed(&pa[k], &pb[k]);
    if (rc && first == PG_OK) first = rc;
    pg_mam_parsed_free(&pa[k]);
    pg_mam_parsed_free(&pb[k]);
  }
  assert_int_equal(brc, first);
  for (size_t i = 0; i < n; i++) free(bad[i]);
  free(items), free(bad), free(pa), free(pb), free(rca);
}

/* nch channels, four rounds: batch and single give the same bytes. split:
 * no tree of 513 leaves, no refused items, two rounds (the cache filled,
 * then used), to keep the run short */
static void batch_equals_single(size_t nch, bool split) {
  chan_case *a = calloc(nch, sizeof *a), *b = calloc(nch, sizeof *b);
  pg_mam_create_item *items = calloc(nch + 2, sizeof *items);
  pg_mam_message *ma = calloc(nch + 2, sizeof *ma), *mb = calloc(nch + 2, sizeof *mb);
  int *rca = calloc(nch + 2, sizeof *rca), *rcb = calloc(nch + 2, sizeof *rcb);
  char **msg = calloc(nch + 2, sizeof *msg);
  pg_mam_keys *keys = NULL;
  assert_int_equal(pg_mam_keys_new(&keys), PG_OK);
  assert_true(a && b && items && ma && mb && rca && rcb && msg);
  for (size_t i = 0; i < nch; i++) make_channel(&a[i], i, !split);
  memcpy(b, a, nch * sizeof *a);
  /* rounds 1-3 with the keys cache (round 1 fills it), 4 without it; before
   * round 3 two channels move on by hand (a cached leaf that no longer fits) */
  for (int round = 0; round < 4; round++) {
    if (split && round >= 2) break;
    if (round == 2) {
      a[0].ch.start += 3, b[0].ch.start += 3;
      a[9].ch.start += 1, b[9].ch.start += 1;
    }
    size_t n = nch;
    for (size_t i = 0; i < nch; i++) {
      static const size_t sizes[] = {1, 2, 40, 81, 82, 243, 500, 1100};
      size_t len = sizes[next_rand() % 8];
      msg[i] = malloc(len + 1);
      assert_non_null(msg[i]);
      rand_trytes(msg[i], len);
      if (!split && round == 1 && i == 5) msg[i][0] = 'a'; /* not trytes */
      pg_mam_create_item it = {&a[i].ch, msg[i], len};
      items[i] = it;
    }
    if (round == 2) { /* a channel twice, and no channel */
      pg_mam_create_item dup = {&a[3].ch, "ABC", 3}, none = {NULL, "ABC", 3};
      items[n++] = dup;
      items[n++] = none;
    }
    pg_diag d = {{0}};
    int brc = pg_mam_create_batch(round < 3 ? keys : NULL, items, n, ma, rca, &d);
    int first = PG_OK;
    for (size_t i = 0; i < n; i++) {
      if (i < nch) {
        rcb[i] = pg_mam_create_message(&b[i].ch, items[i].msg, items[i].msg_len, &mb[i], NULL);
      } else {
        rcb[i] = PG_ERR_INVALID;
      }
      assert_int_equal(rca[i], rcb[i]);
      if (rcb[i] && first == PG_OK) first = rcb[i];
      if (rcb[i] == PG_OK) assert_same_message(&ma[i], &mb[i]);
      if (i < nch) assert_memory_equal(&a[i].ch, &b[i].ch, sizeof a[i].ch);
    }
    assert_int_equal(brc, first);
    if (!split && round == 1) assert_non_null(strstr(d.msg, "item 5: "));
    if (!split || round == 0) check_parse(a, ma, rca, nch); /* split: 1,060 payloads, two halves */
    for (size_t i = 0; i < n; i++) {
      pg_mam_message_free(&ma[i]);
      pg_mam_message_free(&mb[i]);
      if (i < nch) free(msg[i]);
    }
  }
  pg_mam_keys_free(keys);
  free(a), free(b), free(items), free(ma), free(mb), free(rca), free(rcb), free(msg);
}

static void test_batch_equals_single(void **state) {
  (void)state;
  batch_equals_single(NCH, false);
}

/* Over 512 channels, every item good: each round runs as two halves on two
 * threads (filling the keys' twin cache, then using it);
 * the bytes and the channels' states are the single path's. (A batch with
 * a refused item runs whole: test_batch_equals_single's rounds.) */
static void test_batch_split(void **state) {
  (void)state;
  batch_equals_single(530, true);
}


/* Kept lanes: count-1 channels (security 1 and 2) in rounds; a channel's
 * next message signs from the checkpoints the round before kept in its lane
 * when it comes in the same place, and the bytes are the single path's
 * whatever the path. Rounds: 0 fills the cache (fresh); 1 the same order
 * (kept, but for an item that is not trytes); 2 the same order with one
 * channel moved on by hand, one left out (the rest of its level shifts
 * lanes) and the refused one back (its lane kept nothing); 3 reversed; 4
 * reversed again (kept). */
#define NKEPT 70

static void kept_round(chan_case *a, chan_case *b, const size_t *order, size_t n,
                       pg_mam_keys *keys, size_t bad, pg_mam_keys_counts *delta) {
  pg_mam_create_item items[NKEPT];
  pg_mam_message ma[NKEPT], mb[NKEPT];
  int rca[NKEPT];
  char msg[NKEPT][120];
  memset(ma, 0, sizeof ma);
  memset(mb, 0, sizeof mb);
  pg_mam_keys_counts before, after;
  pg_mam_keys_get_counts(keys, &before);
  for (size_t k = 0; k < n; k++) {
    size_t len = 1 + next_rand() % 100;
    rand_trytes(msg[k], len);
    if (order[k] == bad) msg[k][0] = 'a';
    items[k] = (pg_mam_create_item){&a[order[k]].ch, msg[k], len};
  }
  pg_diag d = {{0}};
  int brc = pg_mam_create_batch(keys, items, n, ma, rca, &d);
  assert_int_equal(brc, bad < NKEPT ? PG_ERR_INVALID : PG_OK);
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    int rc = pg_mam_create_message(&b[i].ch, items[k].msg, items[k].msg_len, &mb[k], NULL);
    assert_int_equal(rca[k], rc);
    if (rc == PG_OK) assert_same_message(&ma[k], &mb[k]);
    assert_memory_equal(&a[i].ch, &b[i].ch, sizeof a[i].ch);
    pg_mam_message_free(&ma[k]);
    pg_mam_message_free(&mb[k]);
  }
  pg_mam_keys_get_counts(keys, &after);
  delta->fresh = after.fresh - before.fresh;
  delta->cached = after.cached - before.cached;
  delta->kept = after.kept - before.kept;
}

static void test_batch_kept_lanes(void **state) {
  (void)state;
  chan_case a[NKEPT], b[NKEPT];
  for (size_t i = 0; i < NKEPT; i++) {
    char seed[PG_MAM_HASH_TRYTES + 1];
    rand_trytes(seed, PG_MAM_HASH_TRYTES);
    pg_mam_mode mode = (pg_mam_mode)(i % 3);
    size_t klen = mode == PG_MAM_RESTRICTED ? 81 : 0;
    rand_trytes(a[i].key, klen);
    assert_int_equal(pg_mam_channel_create(&a[i].ch, seed, mode, a[i].key, klen, 1 + (int)(i % 2),
                                           NULL),
                     PG_OK);
    a[i].ch.start = next_rand() % 1000;
  }
  memcpy(b, a, sizeof a);
  pg_mam_keys *keys = NULL;
  assert_int_equal(pg_mam_keys_new(&keys), PG_OK);
  size_t order[NKEPT], n = NKEPT;
  for (size_t k = 0; k < NKEPT; k++) order[k] = k;
  pg_mam_keys_counts c;
  kept_round(a, b, order, n, keys, SIZE_MAX, &c); /* 0 */
  assert_int_equal(c.fresh, NKEPT);
  assert_int_equal(c.kept, 0);
  /* 1: item 5 (security 2) is refused before the batch, so the security-2
   * items after it move one lane down: kept are the 35 of security 1 and
   * items 1 and 3; the other 32 sign from their cached addresses */
  kept_round(a, b, order, n, keys, 5, &c);
  assert_int_equal(c.kept, 37);
  assert_int_equal(c.cached, 32);
  assert_int_equal(c.fresh, 0);
  a[3].ch.start += 2, b[3].ch.start += 2; /* its kept leaf no longer fits */
  for (size_t k = 10; k + 1 < NKEPT; k++) order[k] = k + 1; /* 10 left out */
  n = NKEPT - 1;
  /* 2: security 1 keeps 0, 2, 4, 6, 8 (10 is left out: the rest moved);
   * security 2 has 5 back, so its items after 5 are a lane up from round 1,
   * and 3 moved on: only 1 is kept; 5's lane kept nothing in round 1 and
   * the cache knew 5's address from round 0 (not advanced since) */
  kept_round(a, b, order, n, keys, SIZE_MAX, &c);
  assert_int_equal(c.kept, 6);
  assert_int_equal(c.fresh, 1); /* 3: its moved start is not what the cache holds */
  assert_int_equal(c.cached, NKEPT - 1 - 7);
  size_t rev[NKEPT];
  for (size_t k = 0; k < NKEPT; k++) rev[k] = NKEPT - 1 - k;
  kept_round(a, b, rev, NKEPT, keys, SIZE_MAX, &c); /* 3 */
  assert_true(c.kept <= 2);
  kept_round(a, b, rev, NKEPT, keys, SIZE_MAX, &c); /* 4 */
  assert_int_equal(c.kept, NKEPT);
  pg_mam_keys_free(keys);
}

static void test_batch_edges(void **state) {
  (void)state;
  assert_int_equal(pg_mam_create_batch(NULL, NULL, 0, NULL, NULL, NULL), PG_OK);
  assert_int_equal(pg_mam_parse_batch(NULL, 0, NULL, NULL, NULL), PG_OK);
  pg_mam_create_item it = {NULL, "A", 1};
  assert_int_equal(pg_mam_create_batch(NULL, &it, 1, NULL, NULL, NULL), PG_ERR_INVALID);
  pg_mam_message m = {0};
  int rc = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_create_batch(NULL, &it, 1, &m, &rc, &d), PG_ERR_INVALID);
  assert_int_equal(rc, PG_ERR_INVALID);
  assert_string_equal(d.msg, "item 0: no channel");
  assert_null(m.payload);
  pg_mam_keys_free(NULL);
  assert_int_equal(pg_mam_keys_new(NULL), PG_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_equals_single),
      cmocka_unit_test(test_batch_split),
      cmocka_unit_test(test_batch_kept_lanes),
      cmocka_unit_test(test_batch_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
