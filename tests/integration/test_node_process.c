/* Integration test: `p2pgrid node` as a real child process on 127.0.0.1.
 *
 * Starts the daemon with port 0 and a temporary data dir, reads the chosen
 * port from its log, talks TIP-13 REST over libcurl (JSON drafts without
 * parents/nonce, raw bytes built here), waits with deadlines for milestones,
 * feeds it bad input, stops it with SIGTERM (exit 0), restarts it on the
 * same data and finds everything again. A second node requires proof of work.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define PRIVATE_TANGLE_ID_STR "2321005821356827533"
#define IDX "p2pgrid-it"

static proc g_a, g_b;

/* ---- messages ----------------------------------------------------------- */

#define MAX_MSGS 8

typedef struct sent {
  char id[65];
  uint8_t raw[512]; /* bytes as built here (raw posts only) */
  size_t raw_len;
  long long ms_index; /* referencedByMilestoneIndex once known */
} sent;

static sent g_msgs[MAX_MSGS];
static size_t g_nmsgs;
static char g_ms1_id[65];
static long long g_confirmed_before_stop;

static void hexs(const char *s, char *out) { pg_hex_encode((const uint8_t *)s, strlen(s), out); }

/* POST a JSON draft (payload only); returns the id. */
static void post_json_data(const proc *p, const char *text, char id[65]) {
  char ih[2 * 64 + 1], dh[2 * 128 + 1], body[800];
  resp r;
  hexs(IDX, ih);
  hexs(text, dh);
  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"%s\"}}", ih, dh);
  http(p, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
  if (r.status != 201 || !r.json) fail_msg("POST json: %ld %s", r.status, r.body ? r.body : "");
  const char *mid = jstr(json_object_get(r.json, "data"), "messageId");
  assert_true(is_hex64(mid));
  char loc[128];
  snprintf(loc, sizeof loc, "/api/v1/messages/%.64s", mid);
  assert_string_equal(r.location, loc);
  memcpy(id, mid, 65);
  resp_free(&r);
}

/* Builds message bytes: network id, parents, indexation payload, nonce. */
static size_t build_msg(uint8_t *out, size_t cap, uint64_t network_id, const uint8_t (*parents)[32],
                        size_t np, const char *index, const char *data, uint64_t nonce) {
  size_t il = strlen(index), dl = strlen(data);
  size_t plen = 4 + 2 + il + 4 + dl;
  size_t n = 8 + 1 + 32 * np + 4 + plen + 8, o = 0;
  assert_true(n <= cap);
  for (int i = 0; i < 8; i++) out[o++] = (uint8_t)(network_id >> (8 * i));
  out[o++] = (uint8_t)np;
  for (size_t i = 0; i < np; i++, o += 32) memcpy(out + o, parents[i], 32);
  for (int i = 0; i < 4; i++) out[o++] = (uint8_t)(plen >> (8 * i));
  out[o++] = 2, out[o++] = 0, out[o++] = 0, out[o++] = 0; /* payload type 2 */
  out[o++] = (uint8_t)il, out[o++] = (uint8_t)(il >> 8);
  memcpy(out + o, index, il), o += il;
  for (int i = 0; i < 4; i++) out[o++] = (uint8_t)(dl >> (8 * i));
  memcpy(out + o, data, dl), o += dl;
  for (int i = 0; i < 8; i++) out[o++] = (uint8_t)(nonce >> (8 * i));
  assert_int_equal(o, n);
  return n;
}

static void post_raw(const proc *p, const uint8_t *b, size_t n, resp *r) {
  http(p, "POST", "/api/v1/messages", "application/octet-stream", b, n, NULL, r);
}

/* ---- group setup: node A (coordinator, no PoW) ------------------------- */

static const char *const A_ARGS[] = {
    "--set", "coordinator.enabled=true", "--set", "coordinator.generate=true",
    "--set", "coordinator.interval=1s",  "--set", "node.min_pow_score=0",
    "--set", "api.max_body=64k",         NULL,
};

static int group_setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-it-XXXXXX")) return -1;
  if (pg_crypto_init() != 0) return -1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  snprintf(g_a.name, sizeof g_a.name, "node-a");
  snprintf(g_a.data_dir, sizeof g_a.data_dir, "%s/a", g_root);
  snprintf(g_b.name, sizeof g_b.name, "node-b");
  snprintf(g_b.data_dir, sizeof g_b.data_dir, "%s/b", g_root);
  fprintf(stderr, "temporary directory %s\n", g_root);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  proc_kill(&g_a);
  proc_kill(&g_b);
  curl_global_cleanup();
  harness_rmroot();
  return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_start_info_health(void **state) {
  (void)state;
  proc_start(&g_a, A_ARGS);
  resp r;
  json_t *d = get_data(&g_a, "/api/v1/info", &r);
  assert_string_equal(jstr(d, "name"), "p2pgrid");
  assert_true(strlen(jstr(d, "version")) > 0);
  assert_string_equal(jstr(d, "networkId"), "private-tangle");
  assert_string_equal(jstr(d, "bech32HRP"), "atoi");
  assert_int_equal(jint(d, "minPoWScore"), 0);
  assert_true(json_is_boolean(json_object_get(d, "isHealthy")));
  (void)jint(d, "latestMilestoneIndex");
  (void)jint(d, "confirmedMilestoneIndex");
  assert_int_equal(jint(d, "pruningIndex"), 0);
  assert_true(json_is_number(json_object_get(d, "messagesPerSecond")));
  assert_true(json_is_number(json_object_get(d, "referencedMessagesPerSecond")));
  assert_true(json_is_number(json_object_get(d, "referencedRate")));
  json_t *f = json_object_get(d, "features");
  assert_true(json_is_array(f));
  assert_string_equal(json_string_value(json_array_get(f, 0)), "PoW");
  assert_string_equal(r.acao, "*");
  resp_free(&r);

  /* the coordinator issues milestone 1 at start: /health turns 200 */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    get(&g_a, "/health", &r);
    long st = r.status;
    if (st != 200 && st != 503) fail_msg("/health answered %ld", st);
    if (st == 503) expect_error(&r, 503, "healthy", "/health before milestone");
    resp_free(&r);
    if (st == 200) break;
    if (now_ms() > deadline) {
      dump_log(&g_a);
      fail_msg("/health not 200 within %d ms", DEADLINE_CONFIRM_MS);
    }
    nap();
  }
  d = get_data(&g_a, "/api/v1/info", &r);
  assert_true(jint(d, "confirmedMilestoneIndex") >= 1);
  assert_true(json_is_true(json_object_get(d, "isHealthy")));
  resp_free(&r);

  d = get_data(&g_a, "/api/v1/milestones/1", &r);
  assert_int_equal(jint(d, "index"), 1);
  assert_true(is_hex64(jstr(d, "messageId")));
  assert_true(jint(d, "timestamp") > 1600000000);
  memcpy(g_ms1_id, jstr(d, "messageId"), 65);
  resp_free(&r);

  char path[160];
  snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_ms1_id);
  d = get_data(&g_a, path, &r);
  assert_int_equal(jint(d, "milestoneIndex"), 1);
  assert_int_equal(jint(d, "referencedByMilestoneIndex"), 1);
  resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/messages/%.64s", g_ms1_id);
  d = get_data(&g_a, path, &r);
  assert_int_equal(jint(json_object_get(d, "payload"), "type"), 1);
  assert_string_equal(jstr(d, "networkId"), PRIVATE_TANGLE_ID_STR);
  resp_free(&r);

  /* CORS preflight */
  http(&g_a, "OPTIONS", "/api/v1/messages", NULL, NULL, 0,
       "Access-Control-Request-Method: POST", &r);
  assert_int_equal(r.status, 204);
  assert_string_equal(r.acao, "*");
  resp_free(&r);
}

static void test_submit_and_confirm(void **state) {
  (void)state;
  resp r;
  char path[256];
  /* three JSON drafts without networkId, parents, nonce */
  for (int i = 0; i < 3; i++) {
    char text[64];
    snprintf(text, sizeof text, "json message %d", i);
    post_json_data(&g_a, text, g_msgs[g_nmsgs++].id);
  }
  /* one raw message built here on the node's tips */
  uint8_t parents[8][32];
  size_t np = tips(&g_a, parents, true);
  sent *s = &g_msgs[g_nmsgs++];
  s->raw_len = build_msg(s->raw, sizeof s->raw, PRIVATE_TANGLE_ID, (const uint8_t(*)[32])parents,
                         np, IDX, "raw message", 0);
  post_raw(&g_a, s->raw, s->raw_len, &r);
  if (r.status != 201) fail_msg("POST raw: %ld %s", r.status, r.body ? r.body : "");
  uint8_t want[32];
  char want_hex[65];
  pg_blake2b256(s->raw, s->raw_len, want);
  pg_hex_encode(want, 32, want_hex);
  assert_string_equal(jstr(json_object_get(r.json, "data"), "messageId"), want_hex);
  memcpy(s->id, want_hex, 65);
  resp_free(&r);
  /* posting the same bytes again is fine (idempotent) */
  post_raw(&g_a, s->raw, s->raw_len, &r);
  assert_int_equal(r.status, 201);
  assert_string_equal(jstr(json_object_get(r.json, "data"), "messageId"), want_hex);
  resp_free(&r);

  /* the JSON form of a draft message: filled network id, parents, nonce */
  snprintf(path, sizeof path, "/api/v1/messages/%.64s", g_msgs[0].id);
  json_t *d = get_data(&g_a, path, &r);
  assert_string_equal(jstr(d, "networkId"), PRIVATE_TANGLE_ID_STR);
  (void)jstr(d, "nonce");
  json_t *pa = json_object_get(d, "parentMessageIds");
  assert_true(json_is_array(pa) && json_array_size(pa) >= 1 && json_array_size(pa) <= 8);
  json_t *pl = json_object_get(d, "payload");
  assert_int_equal(jint(pl, "type"), 2);
  char ih[129], dh[129];
  hexs(IDX, ih);
  hexs("json message 0", dh);
  assert_string_equal(jstr(pl, "index"), ih);
  assert_string_equal(jstr(pl, "data"), dh);
  resp_free(&r);

  /* raw read-back is byte-identical, without envelope */
  snprintf(path, sizeof path, "/api/v1/messages/%.64s/raw", s->id);
  get(&g_a, path, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "application/octet-stream");
  assert_int_equal(r.len, s->raw_len);
  assert_memory_equal(r.body, s->raw, s->raw_len);
  resp_free(&r);

  /* children of the raw message's first parent include it */
  char p0[65];
  pg_hex_encode(parents[0], 32, p0);
  snprintf(path, sizeof path, "/api/v1/messages/%.64s/children", p0);
  d = get_data(&g_a, path, &r);
  assert_string_equal(jstr(d, "messageId"), p0);
  assert_int_equal(jint(d, "maxResults"), 1000);
  json_t *ch = json_object_get(d, "childrenMessageIds");
  assert_int_equal(jint(d, "count"), (long long)json_array_size(ch));
  bool found = false;
  for (size_t i = 0; i < json_array_size(ch); i++)
    if (strcmp(json_string_value(json_array_get(ch, i)), s->id) == 0) found = true;
  assert_true(found);
  resp_free(&r);

  /* wait (deadline) until milestones reference every message */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    size_t done = 0;
    for (size_t i = 0; i < g_nmsgs; i++) {
      snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_msgs[i].id);
      d = get_data(&g_a, path, &r);
      assert_string_equal(jstr(d, "messageId"), g_msgs[i].id);
      assert_true(json_is_array(json_object_get(d, "parentMessageIds")));
      assert_true(json_is_boolean(json_object_get(d, "isSolid")));
      json_t *ref = json_object_get(d, "referencedByMilestoneIndex");
      if (ref) {
        assert_true(json_is_integer(ref));
        g_msgs[i].ms_index = json_integer_value(ref);
        assert_true(g_msgs[i].ms_index >= 1);
        assert_string_equal(jstr(d, "ledgerInclusionState"), "noTransaction");
        assert_null(json_object_get(d, "shouldPromote"));
        assert_null(json_object_get(d, "shouldReattach"));
        assert_null(json_object_get(d, "conflictReason"));
        assert_true(json_is_true(json_object_get(d, "isSolid")));
        done++;
      } else {
        assert_null(json_object_get(d, "ledgerInclusionState"));
        assert_true(json_is_boolean(json_object_get(d, "shouldPromote")));
        assert_true(json_is_boolean(json_object_get(d, "shouldReattach")));
      }
      resp_free(&r);
    }
    if (done == g_nmsgs) break;
    if (now_ms() > deadline) {
      dump_log(&g_a);
      fail_msg("only %zu of %zu messages referenced within %d ms", done, g_nmsgs,
               DEADLINE_CONFIRM_MS);
    }
    nap();
  }

  /* index lookup finds all four */
  snprintf(path, sizeof path, "/api/v1/messages?index=%s", ih);
  d = get_data(&g_a, path, &r);
  assert_string_equal(jstr(d, "index"), ih);
  assert_int_equal(jint(d, "maxResults"), 1000);
  assert_int_equal(jint(d, "count"), (long long)g_nmsgs);
  json_t *ids = json_object_get(d, "messageIds");
  assert_int_equal(json_array_size(ids), g_nmsgs);
  for (size_t i = 0; i < g_nmsgs; i++) {
    bool f = false;
    for (size_t k = 0; k < json_array_size(ids); k++)
      if (strcmp(json_string_value(json_array_get(ids, k)), g_msgs[i].id) == 0) f = true;
    assert_true(f);
  }
  resp_free(&r);
  /* an index nobody used: 200, count 0 */
  d = get_data(&g_a, "/api/v1/messages?index=00ff", &r);
  assert_int_equal(jint(d, "count"), 0);
  resp_free(&r);
}

static void check_data_intact(const proc *p) {
  resp r;
  char path[256];
  for (size_t i = 0; i < g_nmsgs; i++) {
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_msgs[i].id);
    json_t *d = get_data(p, path, &r);
    assert_int_equal(jint(d, "referencedByMilestoneIndex"), g_msgs[i].ms_index);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/messages/%.64s", g_msgs[i].id);
    (void)get_data(p, path, &r);
    resp_free(&r);
    if (g_msgs[i].raw_len) {
      snprintf(path, sizeof path, "/api/v1/messages/%.64s/raw", g_msgs[i].id);
      get(p, path, &r);
      assert_int_equal(r.status, 200);
      assert_int_equal(r.len, g_msgs[i].raw_len);
      assert_memory_equal(r.body, g_msgs[i].raw, r.len);
      resp_free(&r);
    }
  }
  char ih[129];
  hexs(IDX, ih);
  snprintf(path, sizeof path, "/api/v1/messages?index=%s", ih);
  json_t *d = get_data(p, path, &r);
  assert_int_equal(jint(d, "count"), (long long)g_nmsgs);
  resp_free(&r);
  d = get_data(p, "/api/v1/milestones/1", &r);
  assert_string_equal(jstr(d, "messageId"), g_ms1_id);
  resp_free(&r);
}

static void test_bad_input(void **state) {
  (void)state;
  resp r;
  char body[4096];
  char ih[129];
  hexs(IDX, ih);
  const char *J = "application/json";

  http(&g_a, "POST", "/api/v1/messages", J, "{\"payload\": {", 13, NULL, &r);
  expect_error(&r, 400, "JSON", "malformed JSON");
  resp_free(&r);

  http(&g_a, "POST", "/api/v1/messages", J, "[1,2]", 5, NULL, &r);
  expect_error(&r, 400, NULL, "JSON array instead of object");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"payload\":{\"type\":\"two\",\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "type", "payload type as a string");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"networkId\":123,\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "networkId", "networkId as a number");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"zz\",\"data\":\"00\"}}");
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "index", "bad hex in payload index");
  resp_free(&r);

  /* nine parents */
  size_t o = (size_t)snprintf(body, sizeof body, "{\"parentMessageIds\":[");
  for (int i = 0; i < 9; i++)
    o += (size_t)snprintf(body + o, sizeof body - o, "%s\"%064x\"", i ? "," : "", i + 1);
  snprintf(body + o, sizeof body - o, "],\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "parent", "nine parents");
  resp_free(&r);

  http(&g_a, "POST", "/api/v1/messages", J, "{\"payload\":{\"type\":7}}", 22, NULL, &r);
  expect_error(&r, 400, "type", "unknown payload type");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"networkId\":\"1\",\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "network", "foreign network id (JSON)");
  resp_free(&r);

  /* body over api.max_body (64k here): refused with 413, announced by
   * Content-Length (the client waits for 100-continue) and sent outright */
  size_t big_len = 70 * 1024;
  char *big = malloc(big_len);
  assert_non_null(big);
  memset(big, ' ', big_len);
  big[0] = '{';
  big[big_len - 1] = '}';
  http(&g_a, "POST", "/api/v1/messages", J, big, big_len, "Expect: 100-continue", &r);
  expect_error(&r, 413, "limit", "body over max_body (Expect: 100-continue)");
  resp_free(&r);
  http(&g_a, "POST", "/api/v1/messages", J, big, big_len, "Expect:", &r);
  expect_error(&r, 413, "limit", "body over max_body");
  resp_free(&r);
  free(big);

  /* raw: garbage, wrong network, trailing bytes, unknown payload type */
  http(&g_a, "POST", "/api/v1/messages", "application/octet-stream", "garbage!", 8, NULL, &r);
  expect_error(&r, 400, NULL, "raw garbage");
  resp_free(&r);
  uint8_t parents[8][32], m[600];
  size_t np = tips(&g_a, parents, true);
  size_t n = build_msg(m, sizeof m, 42, (const uint8_t(*)[32])parents, np, IDX, "x", 0);
  post_raw(&g_a, m, n, &r);
  expect_error(&r, 400, "network", "raw foreign network id");
  resp_free(&r);
  n = build_msg(m, sizeof m, PRIVATE_TANGLE_ID, (const uint8_t(*)[32])parents, np, IDX, "x", 0);
  m[n] = 0;
  post_raw(&g_a, m, n + 1, &r);
  expect_error(&r, 400, NULL, "raw trailing byte");
  resp_free(&r);
  m[9 + 32 * np + 4] = 9; /* payload type 9 */
  post_raw(&g_a, m, n, &r);
  expect_error(&r, 400, NULL, "raw unknown payload type");
  resp_free(&r);
  http(&g_a, "POST", "/api/v1/messages", "application/octet-stream", "", 0, NULL, &r);
  expect_error(&r, 400, NULL, "raw empty");
  resp_free(&r);

  /* content types */
  http(&g_a, "POST", "/api/v1/messages", "text/plain", "hello", 5, NULL, &r);
  expect_error(&r, 415, "Content-Type", "text/plain");
  resp_free(&r);
  http(&g_a, "POST", "/api/v1/messages", "", "hello", 5, NULL, &r);
  expect_error(&r, 415, "Content-Type", "no Content-Type");
  resp_free(&r);

  /* ids, indexes, milestones, routes, methods */
  get(&g_a, "/api/v1/messages/zz", &r);
  expect_error(&r, 400, "message id", "bad hex id");
  resp_free(&r);
  get(&g_a, "/api/v1/messages/ABCDEF0123/metadata", &r);
  expect_error(&r, 400, "message id", "short id");
  resp_free(&r);
  const char *unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const char *suffixes[] = {"", "/metadata", "/raw", "/children"};
  for (int i = 0; i < 4; i++) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s%s", unknown, suffixes[i]);
    get(&g_a, path, &r);
    expect_error(&r, 404, "not found", path);
    resp_free(&r);
  }
  get(&g_a, "/api/v1/messages?index=zz", &r);
  expect_error(&r, 400, "hex", "index not hex");
  resp_free(&r);
  char longix[2 * 65 + 32];
  snprintf(longix, sizeof longix, "/api/v1/messages?index=");
  for (int i = 0; i < 65; i++) strcat(longix, "ab");
  get(&g_a, longix, &r);
  expect_error(&r, 400, "64", "index of 65 bytes");
  resp_free(&r);
  get(&g_a, "/api/v1/messages", &r);
  expect_error(&r, 400, "index", "index missing");
  resp_free(&r);
  get(&g_a, "/api/v1/milestones/abc", &r);
  expect_error(&r, 400, "milestone index", "milestone index not a number");
  resp_free(&r);
  get(&g_a, "/api/v1/milestones/4000000000", &r);
  expect_error(&r, 404, "not found", "unknown milestone");
  resp_free(&r);
  get(&g_a, "/api/v1/nothing", &r);
  expect_error(&r, 404, "route", "unknown route");
  resp_free(&r);
  get(&g_a, "/", &r);
  expect_error(&r, 404, NULL, "root");
  resp_free(&r);
  http(&g_a, "DELETE", "/api/v1/info", NULL, NULL, 0, NULL, &r);
  expect_error(&r, 405, "DELETE", "DELETE /info");
  assert_non_null(strstr(r.allow, "GET"));
  resp_free(&r);
  http(&g_a, "PUT", "/api/v1/messages", J, "{}", 2, NULL, &r);
  expect_error(&r, 405, NULL, "PUT /messages");
  resp_free(&r);

  /* still serving, data intact */
  resp_free(&r);
  (void)get_data(&g_a, "/api/v1/info", &r);
  resp_free(&r);
  check_data_intact(&g_a);
  post_json_data(&g_a, "after bad input", g_msgs[g_nmsgs].id);
  g_nmsgs++;
  /* wait for it to be referenced too, so the restart test can compare */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_msgs[g_nmsgs - 1].id);
    json_t *d = get_data(&g_a, path, &r);
    json_t *ref = json_object_get(d, "referencedByMilestoneIndex");
    if (ref) g_msgs[g_nmsgs - 1].ms_index = json_integer_value(ref);
    resp_free(&r);
    if (ref) break;
    if (now_ms() > deadline) fail_msg("message after bad input not referenced in time");
    nap();
  }
}

static void test_restart(void **state) {
  (void)state;
  resp r;
  json_t *d = get_data(&g_a, "/api/v1/info", &r);
  g_confirmed_before_stop = jint(d, "confirmedMilestoneIndex");
  resp_free(&r);
  proc_stop(&g_a);

  proc_start(&g_a, A_ARGS);
  check_data_intact(&g_a);
  d = get_data(&g_a, "/api/v1/info", &r);
  assert_true(jint(d, "confirmedMilestoneIndex") >= g_confirmed_before_stop);
  resp_free(&r);
  /* the coordinator goes on from where it was, with the same key */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    d = get_data(&g_a, "/api/v1/info", &r);
    long long c = jint(d, "confirmedMilestoneIndex");
    resp_free(&r);
    if (c > g_confirmed_before_stop) break;
    if (now_ms() > deadline) {
      dump_log(&g_a);
      fail_msg("no new milestone after restart within %d ms", DEADLINE_CONFIRM_MS);
    }
    nap();
  }
  /* and new messages still get confirmed */
  char id[65];
  post_json_data(&g_a, "after restart", id);
  deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", id);
    d = get_data(&g_a, path, &r);
    bool ref = json_object_get(d, "referencedByMilestoneIndex") != NULL;
    resp_free(&r);
    if (ref) break;
    if (now_ms() > deadline) fail_msg("message after restart not referenced in time");
    nap();
  }
  proc_stop(&g_a);
}

/* Node B: min PoW score 1000, no coordinator. */
static void test_pow_node(void **state) {
  (void)state;
  static const char *const B_ARGS[] = {"--set", "node.min_pow_score=1000", NULL};
  static const char *const B_NOPOW_ARGS[] = {"--set", "node.min_pow_score=1000", "--set",
                                             "api.remote_pow=false", NULL};
  resp r;
  proc_start(&g_b, B_ARGS);
  json_t *d = get_data(&g_b, "/api/v1/info", &r);
  assert_int_equal(jint(d, "minPoWScore"), 1000);
  resp_free(&r);
  /* no coordinator and no milestone keys: healthy while running */
  get(&g_b, "/health", &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);

  uint8_t parents[8][32], m[600];
  size_t np = tips(&g_b, parents, true);
  size_t n = build_msg(m, sizeof m, PRIVATE_TANGLE_ID, (const uint8_t(*)[32])parents, np, IDX,
                       "no work done", 0);
  post_raw(&g_b, m, n, &r);
  expect_error(&r, 400, "proof of work", "raw message with nonce 0 on a PoW node");
  resp_free(&r);

  /* the node does the PoW for a draft */
  char id[65];
  post_json_data(&g_b, "node did the work", id);
  char path[160];
  snprintf(path, sizeof path, "/api/v1/messages/%.64s", id);
  d = get_data(&g_b, path, &r);
  assert_string_equal(jstr(d, "networkId"), PRIVATE_TANGLE_ID_STR);
  resp_free(&r);
  proc_stop(&g_b);

  /* same data without remote PoW: drafts without nonce get 503 */
  proc_start(&g_b, B_NOPOW_ARGS);
  d = get_data(&g_b, "/api/v1/info", &r);
  assert_int_equal(json_array_size(json_object_get(d, "features")), 0);
  resp_free(&r);
  char ih[129], body[400];
  hexs(IDX, ih);
  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_b, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
  expect_error(&r, 503, "proof of work", "draft without nonce, remote PoW off");
  resp_free(&r);
  post_raw(&g_b, m, n, &r);
  expect_error(&r, 400, "proof of work", "raw nonce 0, remote PoW off");
  resp_free(&r);
  (void)get_data(&g_b, path, &r); /* the earlier message survived the restart */
  resp_free(&r);
  proc_stop(&g_b);
}

/* --log-format json: every line the node writes is one JSON object (time,
 * level, pid, module, msg), among them the start summary: version, role,
 * data dir, API, TLS (and no secret). */
static void test_json_logs(void **state) {
  (void)state;
  static const char *const J_ARGS[] = {"--log-format", "json", NULL};
  resp r;
  proc_start(&g_b, J_ARGS);
  get(&g_b, "/health", &r);
  resp_free(&r);
  get(&g_b, "/api/v1/messages/\"%0a{\"", &r); /* a request line with a quote and a newline */
  resp_free(&r);
  long pid = (long)g_b.pid;
  proc_stop(&g_b);
  char *log = slurp(g_b.log, NULL);
  assert_non_null(log);
  size_t lines = 0;
  bool summary = false;
  for (char *line = log, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    assert_non_null(nl);
    json_error_t err;
    json_t *o = json_loadb(line, (size_t)(nl - line), 0, &err);
    if (!o) fail_msg("log line %zu is not JSON (%s): %.*s", lines + 1, err.text, (int)(nl - line), line);
    assert_int_equal(json_object_size(o), 5);
    assert_int_equal(jint(o, "pid"), pid);
    const char *msg = jstr(o, "msg");
    assert_non_null(jstr(o, "time"));
    assert_non_null(jstr(o, "level"));
    assert_non_null(jstr(o, "module"));
    if (strstr(msg, "role node") && strstr(msg, "p2pgrid ") && strstr(msg, "data dir ") &&
        strstr(msg, "TLS off") && strstr(msg, "log format json"))
      summary = true;
    json_decref(o);
    lines++;
  }
  free(log);
  assert_true(lines >= 4);
  if (!summary) fail_msg("no start summary in the node's JSON log");
}

/* Configuration errors: exit status 2 and a message naming file and line. */
static void test_bad_config(void **state) {
  (void)state;
  char ini[300], cmd[1200];
  snprintf(ini, sizeof ini, "%s/bad.ini", g_root);
  FILE *f = fopen(ini, "w");
  assert_non_null(f);
  fputs("[node]\nnetwork = private-tangle\n[api]\nport = notaport\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' node --config '%s' --data-dir '%s/c' 2>'%s/bad.out'",
           P2PGRID_BIN, ini, g_root, g_root);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "%s/bad.out", g_root);
  char *out = slurp(cmd, NULL);
  assert_non_null(out);
  char want[320];
  snprintf(want, sizeof want, "%s:4:", ini);
  if (!strstr(out, want) || !strstr(out, "port")) fail_msg("config error '%s' lacks '%s'", out, want);
  free(out);

  f = fopen(ini, "w");
  assert_non_null(f);
  fputs("[api]\nprot = 1\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' node --config '%s' --data-dir '%s/c' 2>'%s/bad.out'",
           P2PGRID_BIN, ini, g_root, g_root);
  st = system(cmd);
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "%s/bad.out", g_root);
  out = slurp(cmd, NULL);
  assert_non_null(out);
  if (!strstr(out, "prot")) fail_msg("unknown key not named: '%s'", out);
  free(out);

  snprintf(cmd, sizeof cmd, "'%s' node --config '%s/missing.ini' 2>'%s/bad.out'", P2PGRID_BIN,
           g_root, g_root);
  st = system(cmd);
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "'%s' frobnicate 2>/dev/null", P2PGRID_BIN);
  st = system(cmd);
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "'%s' --help >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
  snprintf(cmd, sizeof cmd, "'%s' help node >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
  snprintf(cmd, sizeof cmd, "'%s' node --help >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
  snprintf(cmd, sizeof cmd, "'%s' version >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_info_health),
      cmocka_unit_test(test_submit_and_confirm),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_pow_node),
      cmocka_unit_test(test_json_logs),
      cmocka_unit_test(test_bad_config),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
