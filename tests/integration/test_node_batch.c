/* POST /api/plugins/data/batch: data messages in batches (p2pgrid/tangle/batch.h).
 *
 * Nodes run in-process (pg_node: real HTTP server on 127.0.0.1, a temporary
 * data dir); the test talks to them with pg_client and pg_http_call.
 * - 300 items through the HTTP client (more than one batch by count and by
 *   bytes, chained items among them): each stored with its index and data,
 *   counted as stored.
 * - A body whose second item makes a message over 32 KiB: that item refused
 *   (400), the third, which follows it, refused too, the others stored.
 * - Hostile bodies (bad version, truncated, trailing bytes, unknown flags, a
 *   first item that follows, 257 items, another media type, over
 *   api.max_body): refused whole with a message naming the problem, counted,
 *   nothing stored.
 * - A node that needs proof of work answers 501 and the client posts each
 *   message instead; a node with a small api.max_body answers 413 and the
 *   client halves its batches; both store every item. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/json.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/tangle/batch.h"
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
  g_dir = tu_mktmp("p2pgrid-batch");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  g_dir = NULL;
  return 0;
}

/* A node on a fresh data dir with the [node] and [api] keys given. */
static pg_node *start_node(const char *name, const char *node_ini, const char *api_ini,
                           char *base, size_t cap) {
  char ini[512];
  snprintf(ini, sizeof ini, "%s[api]\nport = 0\n%s", node_ini, api_ini);
  return tn_start_node(g_dir, name, ini, base, cap);
}

static pg_client *client(const char *base) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  if (pg_client_http_new(&(pg_http_client_opts){.base_url = base}, &c, &d)) fail_msg("%s", d.msg);
  return c;
}

/* The counter p2pgrid_node_messages_received_total{outcome="<o>"}. */
static long long received(const char *base, const char *outcome) {
  char url[128], key[96];
  snprintf(url, sizeof url, "%s/metrics", base);
  pg_http_result r = {0};
  pg_diag d = {{0}};
  if (pg_http_call(&(pg_http_call_opts){.method = "GET", .url = url}, &r, &d))
    fail_msg("GET metrics: %s", d.msg);
  snprintf(key, sizeof key, "p2pgrid_node_messages_received_total{outcome=\"%s\"} ", outcome);
  const char *at = strstr(r.body, key);
  long long v = at ? strtoll(at + strlen(key), NULL, 10) : -1;
  pg_http_result_free(&r);
  return v;
}

/* The message id is stored with this index and data. */
static void assert_stored(pg_client *c, const uint8_t id[PG_ID_LEN], const char *index,
                          const uint8_t *data, size_t len) {
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  pg_diag d = {{0}};
  if (pg_client_get_raw(c, id, &raw, &d)) fail_msg("get: %s", d.msg);
  pg_message m;
  assert_int_equal(pg_message_parse(raw.data, raw.len, &m, &d), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_INDEXATION);
  assert_int_equal(m.u.indexation.index_len, strlen(index));
  assert_memory_equal(m.u.indexation.index, index, strlen(index));
  assert_int_equal(m.u.indexation.data_len, len);
  if (len) assert_memory_equal(m.u.indexation.data, data, len);
  pg_message_clear(&m);
  pg_buf_free(&raw);
}

static size_t found(pg_client *c, const char *index) {
  uint8_t ids[8][PG_ID_LEN];
  size_t count = 0, total = 0;
  pg_diag d = {{0}};
  if (pg_client_find_index(c, (const uint8_t *)index, strlen(index), ids, 8, &count, &total, &d))
    fail_msg("find: %s", d.msg);
  return total;
}

enum { MANY = 300 };

/* MANY items, every fifth a chain of two, 2 KiB of data each (more than one
 * batch by bytes too), through submit_data_many; each checked after. */
static void submit_many_and_check(const char *base, const char *index) {
  static uint8_t data[MANY][2048];
  static pg_client_data v[MANY];
  for (size_t i = 0; i < MANY; i++) {
    memset(data[i], (int)(i & 0xff), sizeof data[i]);
    memcpy(data[i], &i, sizeof i);
    v[i] = (pg_client_data){.index = (const uint8_t *)index, .index_len = strlen(index),
                            .data = data[i], .data_len = sizeof data[i], .follows = i % 5 == 1};
  }
  pg_client *c = client(base);
  pg_diag d = {{0}};
  assert_int_equal(pg_client_submit_data_many(c, v, MANY, &d), PG_OK);
  for (size_t i = 0; i < MANY; i++) {
    if (v[i].rc) fail_msg("item %zu: %s", i, v[i].d.msg);
    assert_stored(c, v[i].id, index, data[i], sizeof data[i]);
  }
  pg_client_free(c);
}

static void test_batches_store_each_item(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("plain", "min_pow_score = 0\n", "", base, sizeof base);
  long long stored = received(base, "stored");
  submit_many_and_check(base, "batch-many");
  assert_int_equal(received(base, "stored"), stored + MANY);
  pg_node_stop(n);
}

/* A body of items (index, data length, follows) filled with 'x'. */
static void body_of(pg_buf *b, const size_t *lens, const bool *follows, size_t n) {
  static uint8_t fill[PG_MSG_MAX_LEN];
  memset(fill, 'x', sizeof fill);
  pg_batch_item it[8];
  for (size_t i = 0; i < n; i++)
    it[i] = (pg_batch_item){(const uint8_t *)"per-item", 8, fill, lens[i], follows[i]};
  pg_diag d = {{0}};
  if (pg_batch_encode(b, it, n, &d)) fail_msg("encode: %s", d.msg);
}

static void test_each_item_gets_its_answer(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("items", "min_pow_score = 0\n", "", base, sizeof base);
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  /* item 2's message would pass 32 KiB; item 3 follows it */
  body_of(&b, (size_t[]){10, PG_MSG_MAX_LEN - 20, 10, 10}, (bool[]){0, 0, 1, 0}, 4);
  long long invalid = received(base, "invalid");
  pg_http_result r = tn_post(base, "batch", NULL, b.data, b.len);
  assert_int_equal(r.status, 200);
  json_t *j = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_json_parse(r.body, r.len, PG_JSON_OBJECT, &j, &d), PG_OK);
  json_t *a = json_object_get(json_object_get(j, "data"), "results");
  assert_int_equal(json_array_size(a), 4);
  assert_non_null(json_object_get(json_array_get(a, 0), "messageId"));
  json_t *e2 = json_object_get(json_array_get(a, 1), "error");
  json_t *e3 = json_object_get(json_array_get(a, 2), "error");
  assert_string_equal(json_string_value(json_object_get(e2, "code")), "400");
  ASSERT_TEXT(json_string_value(json_object_get(e2, "message")), "32768");
  assert_string_equal(json_string_value(json_object_get(e3, "code")), "503");
  ASSERT_TEXT(json_string_value(json_object_get(e3, "message")), "the message before it was not");
  assert_non_null(json_object_get(json_array_get(a, 3), "messageId"));
  json_decref(j);
  pg_http_result_free(&r);
  assert_int_equal(received(base, "invalid"), invalid + 1);
  pg_client *c = client(base);
  assert_int_equal(found(c, "per-item"), 2);
  pg_client_free(c);
  pg_buf_free(&b);
  pg_node_stop(n);
}

static void test_hostile_bodies_refused_whole(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("hostile", "min_pow_score = 0\n", "max_body = 4096\n", base,
                          sizeof base);
  /* item: flags, index length, "hostile", data length u32, data */
  static const tn_hostile cases[] = {
      {"version 2", NULL, "020100" "0007686f7374696c6500000000", 400, "version 2"},
      {"count 0", NULL, "010000", 400, "batch of 0 items"},
      {"count 257", NULL, "010101" "0007686f7374696c6500000000", 400, "batch of 257 items"},
      {"truncated", NULL, "010100" "0007686f7374696c6505000000616263", 400, "5 data bytes"},
      {"trailing", NULL, "010100" "0007686f7374696c650000000000", 400, "after its last item"},
      {"flags", NULL, "010100" "0207686f7374696c6500000000", 400, "unknown flags 0x02"},
      {"first follows", NULL, "010100" "0107686f7374696c6500000000", 400, "follows"},
      {"index 0", NULL, "010100" "000000000000", 400, "index of 0 bytes"},
      {"head", NULL, "01", 400, "shorter than its 3-byte head"},
      {"json", "application/json", "010100" "0007686f7374696c6500000000", 415,
       "application/octet-stream"},
  };
  long long invalid = received(base, "invalid");
  tn_hostile_run(base, "batch", cases, sizeof cases / sizeof cases[0]);
  uint8_t big[8192] = {1, 1, 0, 0, 1, 'h'}; /* over max_body */
  pg_http_result r = tn_post(base, "batch", NULL, big, sizeof big);
  assert_int_equal(r.status, 413);
  pg_http_result_free(&r);
  assert_int_equal(received(base, "invalid"), invalid + 10);
  pg_client *c = client(base);
  assert_int_equal(found(c, "hostile"), 0);
  pg_client_free(c);
  pg_node_stop(n);
}

/* 501 from a node that needs proof of work, then the client posts each;
 * 413 from a node with a small api.max_body, then the client halves. */
static void test_client_falls_back(void **state) {
  (void)state;
  char base[64];
  pg_node *n = start_node("pow", "min_pow_score = 50\n", "remote_pow = true\n", base, sizeof base);
  uint8_t body[] = {1, 1, 0, 0, 1, 'p', 0, 0, 0, 0};
  pg_http_result r = tn_post(base, "batch", NULL, body, sizeof body);
  assert_int_equal(r.status, 501);
  ASSERT_TEXT(r.body, "proof of work");
  pg_http_result_free(&r);
  pg_client *c = client(base);
  pg_client_data v[3];
  const char *texts[] = {"one", "two", "three"};
  for (int i = 0; i < 3; i++)
    v[i] = (pg_client_data){.index = (const uint8_t *)"pow-each", .index_len = 8,
                            .data = (const uint8_t *)texts[i], .data_len = strlen(texts[i]),
                            .follows = i > 0};
  pg_diag d = {{0}};
  assert_int_equal(pg_client_submit_data_many(c, v, 3, &d), PG_OK);
  for (int i = 0; i < 3; i++) {
    if (v[i].rc) fail_msg("item %d: %s", i, v[i].d.msg);
    assert_stored(c, v[i].id, "pow-each", (const uint8_t *)texts[i], strlen(texts[i]));
  }
  pg_client_free(c);
  pg_node_stop(n);

  n = start_node("small", "min_pow_score = 0\n", "max_body = 20000\n", base, sizeof base);
  submit_many_and_check(base, "batch-small");
  pg_node_stop(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batches_store_each_item),
      cmocka_unit_test(test_each_item_gets_its_answer),
      cmocka_unit_test(test_hostile_bodies_refused_whole),
      cmocka_unit_test(test_client_falls_back),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
