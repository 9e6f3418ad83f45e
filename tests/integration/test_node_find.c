/* POST /api/plugins/data/find: many index lookups and their messages in one
 * request (p2pgrid/tangle/find.h), and the MAM reader over it.
 *
 * Nodes run in-process (pg_node: real HTTP server on 127.0.0.1, a temporary
 * data dir); the test talks to them with pg_client and pg_http_call.
 * - 300 channels (one missing, some with two trees, junk and a second
 *   attachment under their index, one read with the wrong key) read with
 *   pg_mam_read_many three ways: the client's lookups in batches, in
 *   batches whose answers are cut by a 64 KiB max_response, and one GET a
 *   lookup (rest_only). Every request's rc, messages, ids, cursor and counts
 *   are the same; the node counts find requests only for the first two.
 * - A first lookup over the budget alone: its ids all listed, the bytes
 *   that fit sent (each the very bytes of GET raw), the rest left for GETs;
 *   the lookup after it answered in the next request.
 * - Each message's metadata with the lookup (want_meta): what GET
 *   .../metadata says, unreferenced and referenced by a milestone.
 * - Hostile bodies (bad version, truncated, trailing bytes, no keys, 257
 *   keys, index of 0 and 65 bytes, a budget under 64 KiB, max 0 and 1001,
 *   another media type, over api.max_body): refused with a message naming
 *   the problem, counted, and the node answers a good request after.
 * - A node whose POSTs need a token answers a find without one (a read),
 *   and refuses a batch without one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"
#include "../unit/test_util_tmpdir.h"
#include "inproc_node.h"

#define ASSERT_TEXT(s, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((s), (needle))) fail_msg("'%s' lacks '%s'", (s), (needle));                        \
  } while (0)

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("p2pgrid-find");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  g_dir = NULL;
  return 0;
}

static pg_node *start_node(const char *name, const char *api_ini, char *base, size_t cap) {
  char ini[1024];
  snprintf(ini, sizeof ini, "min_pow_score = 0\n[api]\nport = 0\n%s", api_ini);
  return tn_start_node(g_dir, name, ini, base, cap);
}

static long long find_requests(const char *base, const char *status) {
  return tn_route_requests(base, "find_post", status);
}

enum { CHANNELS = 300 };

static void seed_of(size_t i, char seed[82]) {
  memset(seed, '9', 81);
  seed[81] = '\0';
  /* away from the first trytes: MAM adds the leaf index to the seed there */
  for (size_t k = 0; k < 4; k++, i /= 26) seed[40 + k] = (char)('A' + i % 26);
}

/* CHANNELS restricted channels (key "KEY", security 2, one leaf a tree):
 * channel 7 gets nothing, every third a second tree, every tenth a junk
 * message and a second attachment of its first under its index. Each
 * request reads from the first root, up to 2 messages (only one tree is
 * read a call); channel 11 with the wrong key. */
static void make_channels(pg_client *c, pg_mam_read_req *rq) {
  pg_diag d = {{0}};
  for (size_t i = 0; i < CHANNELS; i++) {
    pg_mam_channel ch;
    char seed[82], text[64];
    seed_of(i, seed);
    assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "KEY", 3, 2, &d), PG_OK);
    memset(&rq[i], 0, sizeof rq[i]);
    assert_int_equal(pg_mam_channel_root(&ch, rq[i].at.root), PG_OK);
    rq[i] = (pg_mam_read_req){.at = rq[i].at, .mode = PG_MAM_RESTRICTED,
                              .side_key = i == 11 ? "KEX" : "KEY", .side_key_len = 3, .max = 2};
    size_t msgs = i == 7 ? 0 : i % 3 == 0 ? 2 : 1;
    for (size_t k = 0; k < msgs; k++) {
      pg_mam_message m = {0};
      char name[5];
      seed_of(i, seed); /* four of its trytes name the channel */
      memcpy(name, seed + 40, 4), name[4] = '\0';
      int len = snprintf(text, sizeof text, "CHANNEL%sMESSAGE%c", name, (char)('A' + k));
      assert_int_equal(pg_mam_create_message(&ch, text, (size_t)len, &m, &d), PG_OK);
      uint8_t id[PG_ID_LEN];
      if (pg_mam_attach(c, &m, NULL, 0, id, &d)) fail_msg("attach: %s", d.msg);
      if (k == 0 && i % 10 == 0) {
        uint8_t index[PG_HASH_LEN];
        pg_mam_attach_index(m.address, index);
        if (pg_mam_attach(c, &m, "AGAIN", 5, id, &d) ||
            pg_client_submit_data(c, index, sizeof index, (const uint8_t *)"junk", 4, id, &d))
          fail_msg("attach again: %s", d.msg);
      }
      pg_mam_message_free(&m);
    }
    pg_mam_channel_wipe(&ch);
  }
}

static void read_all(pg_client *c, const pg_mam_read_req *proto, pg_mam_read_req *out) {
  memcpy(out, proto, CHANNELS * sizeof *out);
  pg_diag d = {{0}};
  if (pg_mam_read_many(c, out, CHANNELS, &d)) fail_msg("read many: %s", d.msg);
}

static void assert_same_read(const pg_mam_read_req *a, const pg_mam_read_req *b, size_t i) {
  if (a->rc != b->rc || a->n != b->n)
    fail_msg("channel %zu: rc %d / %d, %zu / %zu messages", i, a->rc, b->rc, a->n, b->n);
  assert_memory_equal(&a->next, &b->next, sizeof a->next);
  assert_memory_equal(&a->info, &b->info, sizeof a->info);
  for (size_t k = 0; k < a->n; k++) {
    const pg_mam_fetched *x = &a->out[k], *y = &b->out[k];
    assert_int_equal(x->message_len, y->message_len);
    assert_memory_equal(x->message, y->message, x->message_len);
    assert_memory_equal(x->message_id, y->message_id, PG_ID_LEN);
    assert_string_equal(x->tag, y->tag);
    assert_int_equal(x->n_other_ids, y->n_other_ids);
    if (x->n_other_ids) assert_memory_equal(x->other_ids, y->other_ids, PG_ID_LEN * x->n_other_ids);
  }
}

static void free_reads(pg_mam_read_req *r) {
  for (size_t i = 0; i < CHANNELS; i++) pg_mam_fetched_free_all(r[i].out, r[i].n);
}

static void test_batched_reads_match_one_by_one(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("reads", "", base, sizeof base);
  static pg_mam_read_req proto[CHANNELS], batched[CHANNELS], cut[CHANNELS], each[CHANNELS];
  pg_client *c = tn_client(base, 0, false), *small = tn_client(base, PG_FIND_BUDGET_MIN, false),
            *rest = tn_client(base, 0, true);
  make_channels(c, proto);
  long long f0 = find_requests(base, "2xx");
  read_all(c, proto, batched);
  long long f1 = find_requests(base, "2xx");
  read_all(small, proto, cut);
  long long f2 = find_requests(base, "2xx");
  read_all(rest, proto, each);
  long long f3 = find_requests(base, "2xx");
  /* 300 lookups: two requests of 256 keys at most, unless an answer was cut */
  if (f1 - f0 < 2 || f1 - f0 > 4) fail_msg("%lld find requests for 300 channels", f1 - f0);
  if (f2 - f1 < 8) fail_msg("%lld find requests under a 64 KiB budget", f2 - f1);
  assert_int_equal(f3, f2); /* rest_only: GETs only */
  for (size_t i = 0; i < CHANNELS; i++) {
    assert_same_read(&batched[i], &each[i], i);
    assert_same_read(&cut[i], &each[i], i);
  }
  assert_int_equal(each[7].n, 0);
  assert_int_equal(each[0].n, 1); /* one tree a call */
  assert_int_equal(each[0].info.duplicates, 1);
  assert_int_equal(each[0].info.unreadable, 1);
  assert_int_equal(each[11].n, 0); /* the wrong key: nothing verifies */
  assert_int_equal(each[11].info.unverified, 1);
  free_reads(batched), free_reads(cut), free_reads(each);
  pg_client_free(c), pg_client_free(small), pg_client_free(rest);
  pg_node_stop(n);
}

static void submit_n(pg_client *c, const char *index, int n, size_t len, uint8_t id[PG_ID_LEN]) {
  static uint8_t data[3000];
  pg_diag d = {{0}};
  for (int i = 0; i < n; i++) {
    memset(data, 'a' + i % 26, sizeof data);
    data[0] = (uint8_t)i;
    if (pg_client_submit_data(c, (const uint8_t *)index, strlen(index), data, len, id, &d))
      fail_msg("submit: %s", d.msg);
  }
}

/* The bytes sent for f are the very bytes of GET raw; how many were sent. */
static size_t check_sent(pg_client *c, const pg_client_found *f) {
  size_t sent = 0;
  pg_diag d = {{0}};
  for (size_t k = 0; k < f->count; k++) {
    if (!f->raw[k]) continue;
    sent++;
    pg_buf raw;
    pg_buf_init(&raw, PG_MSG_MAX_LEN);
    if (pg_client_get_raw(c, f->ids[k], &raw, &d)) fail_msg("get: %s", d.msg);
    assert_int_equal(raw.len, f->raw_len[k]);
    assert_memory_equal(raw.data, f->raw[k], raw.len);
    pg_buf_free(&raw);
  }
  return sent;
}

/* 40 messages of 3,000 bytes at one index: more than the 64 KiB budget;
 * then 2 such messages at another (not in what is left of the answer) and
 * a small one. */
static void test_first_lookup_over_the_budget(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("budget", "", base, sizeof base);
  pg_client *c = tn_client(base, PG_FIND_BUDGET_MIN, false);
  uint8_t id[PG_ID_LEN];
  submit_n(c, "big", 40, 3000, id);
  submit_n(c, "big2", 2, 3000, id);
  submit_n(c, "small", 1, 10, id);
  pg_client_found f[3] = {{.index = (const uint8_t *)"big", .index_len = 3, .max = 1000},
                          {.index = (const uint8_t *)"big2", .index_len = 4, .max = 1000},
                          {.index = (const uint8_t *)"small", .index_len = 5, .max = 1000}};
  long long f0 = find_requests(base, "2xx");
  pg_diag d = {{0}};
  assert_int_equal(pg_client_find_many(c, f, 3, &d), PG_OK);
  assert_int_equal(find_requests(base, "2xx") - f0, 2); /* "big2" and "small" asked again */
  for (int i = 0; i < 3; i++)
    if (f[i].rc) fail_msg("lookup %d: %s", i, f[i].d.msg);
  assert_int_equal(f[0].count, 40);
  assert_int_equal(f[0].total, 40);
  size_t sent = check_sent(c, &f[0]);
  if (sent < 10 || sent >= 40) fail_msg("%zu of 40 messages' bytes in a 64 KiB answer", sent);
  assert_int_equal(f[1].count, 2);
  assert_int_equal(check_sent(c, &f[1]), 2);
  assert_int_equal(f[2].count, 1);
  assert_int_equal(check_sent(c, &f[2]), 1);
  assert_memory_equal(f[2].ids[0], id, PG_ID_LEN);
  for (int i = 0; i < 3; i++) pg_client_found_clear(&f[i]);
  /* with each message's metadata: what GET .../metadata says */
  pg_client_found m = {.index = (const uint8_t *)"big2", .index_len = 4, .max = 1000,
                       .want_meta = true};
  assert_int_equal(pg_client_find_many(c, &m, 1, &d), PG_OK);
  assert_int_equal(m.count, 2);
  assert_non_null(m.meta);
  for (size_t k = 0; k < m.count; k++) {
    pg_msg_meta g;
    if (pg_client_get_meta(c, m.ids[k], &g, &d)) fail_msg("meta: %s", d.msg);
    assert_memory_equal(m.meta[k].id, g.id, PG_ID_LEN);
    assert_int_equal(m.meta[k].referenced_by, g.referenced_by);
    assert_int_equal(m.meta[k].inclusion, g.inclusion);
  }
  pg_client_found_clear(&m);
  pg_client_free(c);
  pg_node_stop(n);
}

/* With each message's metadata: what GET .../metadata says, for messages a
 * milestone has referenced (a node that is its own coordinator). */
static void test_metadata_of_referenced(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("meta",
                          "[coordinator]\nenabled = true\ninterval = 1s\ngenerate = true\n", base,
                          sizeof base);
  pg_client *c = tn_client(base, 0, false);
  uint8_t id[PG_ID_LEN];
  submit_n(c, "meta", 3, 100, id);
  pg_diag d = {{0}};
  pg_msg_meta g = {0};
  for (int i = 0; i < 200 && g.referenced_by == 0; i++) { /* a milestone a second */
    if (pg_client_get_meta(c, id, &g, &d)) fail_msg("meta: %s", d.msg);
    if (!g.referenced_by) usleep(50 * 1000);
  }
  assert_int_not_equal(g.referenced_by, 0);
  pg_client_found m = {.index = (const uint8_t *)"meta", .index_len = 4, .max = 1000,
                       .want_meta = true};
  assert_int_equal(pg_client_find_many(c, &m, 1, &d), PG_OK);
  assert_int_equal(m.count, 3);
  assert_non_null(m.meta);
  for (size_t k = 0; k < m.count; k++) {
    if (pg_client_get_meta(c, m.ids[k], &g, &d)) fail_msg("meta: %s", d.msg);
    assert_memory_equal(m.meta[k].id, g.id, PG_ID_LEN);
    assert_int_not_equal(m.meta[k].referenced_by, 0);
    assert_int_equal(m.meta[k].referenced_by, g.referenced_by);
    assert_int_equal(m.meta[k].inclusion, g.inclusion);
    assert_int_equal(m.meta[k].inclusion, PG_INCL_NO_TX);
  }
  pg_client_found_clear(&m);
  pg_client_free(c);
  pg_node_stop(n);
}

/* head: version 01, flags 00, budget 00000100 (64 KiB), max e803 (1000), count */
#define HEAD "010000000100e803"

static void test_hostile_requests_refused(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("hostile", "max_body = 4096\n", base, sizeof base);
  static const tn_hostile cases[] = {
      {"version 2", NULL, "020000000100e803" "0100" "0161", 400, "version 2"},
      {"flags", NULL, "010200000100e803" "0100" "0161", 400, "unknown flags 0x02"},
      {"head", NULL, "0100000100", 400, "shorter than its 10-byte head"},
      {"no keys", NULL, HEAD "0000", 400, "0 keys"},
      {"257 keys", NULL, HEAD "0101" "0161", 400, "257 keys"},
      {"truncated", NULL, HEAD "0100" "0561", 400, "5 index bytes announced"},
      {"trailing", NULL, HEAD "0100" "016100", 400, "after its last key"},
      {"index 0", NULL, HEAD "0100" "00", 400, "index of 0 bytes"},
      {"index 65", NULL, HEAD "0100" "41", 400, "index of 65 bytes"},
      {"budget", NULL, "0100ffff0000e803" "0100" "0161", 400, "budget of 65535 bytes"},
      {"max 0", NULL, "0100000001000000" "0100" "0161", 400, "max of 0 ids"},
      {"max 1001", NULL, "010000000100e903" "0100" "0161", 400, "max of 1001 ids"},
      {"json", "application/json", HEAD "0100" "0161", 415, "application/octet-stream"},
  };
  size_t nc = sizeof cases / sizeof cases[0];
  long long bad0 = find_requests(base, "4xx");
  tn_hostile_run(base, "find", cases, nc);
  assert_int_equal(find_requests(base, "4xx") - bad0, (long long)nc);
  static uint8_t big[8192] = {1, 0, 0, 0, 1, 0, 0xe8, 3, 1, 0}; /* the HTTP server's own 413 */
  pg_http_result r = tn_post(base, "find", NULL, big, sizeof big);
  assert_int_equal(r.status, 413);
  ASSERT_TEXT(r.body, "exceeds the limit of 4096 bytes");
  pg_http_result_free(&r);
  /* the node still answers: one key "a", nothing under it */
  uint8_t good[] = {1, 0, 0, 0, 1, 0, 0xe8, 3, 1, 0, 1, 'a'};
  r = tn_post(base, "find", NULL, good, sizeof good);
  assert_int_equal(r.status, 200);
  uint8_t want[] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(r.len, sizeof want);
  assert_memory_equal(r.body, want, sizeof want);
  pg_http_result_free(&r);
  pg_node_stop(n);
}

static void test_open_to_readers(void **state) {
  (void)state;
  char path[512], ini[600], base[64];
  snprintf(path, sizeof path, "%s/tokens", g_dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("# who may post\nfind-test-token-0123456789abcdef\n", f);
  fclose(f);
  assert_int_equal(chmod(path, 0600), 0);
  snprintf(ini, sizeof ini, "post_tokens_file = %s\n", path);
  pg_node *n = start_node("readers", ini, base, sizeof base);
  uint8_t good[] = {1, 0, 0, 0, 1, 0, 0xe8, 3, 1, 0, 1, 'a'};
  pg_http_result r = tn_post(base, "find", NULL, good, sizeof good);
  assert_int_equal(r.status, 200);
  pg_http_result_free(&r);
  uint8_t batch[] = {1, 1, 0, 0, 1, 'a', 0, 0, 0, 0};
  r = tn_post(base, "batch", NULL, batch, sizeof batch);
  assert_int_equal(r.status, 401);
  pg_http_result_free(&r);
  pg_node_stop(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batched_reads_match_one_by_one),
      cmocka_unit_test(test_first_lookup_over_the_budget),
      cmocka_unit_test(test_metadata_of_referenced),
      cmocka_unit_test(test_hostile_requests_refused),
      cmocka_unit_test(test_open_to_readers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
