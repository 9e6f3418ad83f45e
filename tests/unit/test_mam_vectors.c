/* MAM against @iota/mam.js 1.6.3: vectors are produced at test time by
 * tests/interop/mam_vectors.js and every one must match byte for byte.
 *
 * Where the vectors come from (first that applies):
 *   1. argv[1], a file holding the script's JSON output;
 *   2. the environment variable PG_MAM_VECTORS, same;
 *   3. running `node tests/interop/mam_vectors.js` (needs node and
 *      tests/interop/node_modules/@iota/mam.js, or NODE_PATH pointing at a
 *      node_modules holding it).
 * Without any of them the tests are skipped (cmocka reports SKIPPED) — except
 * under CI (CI set in the environment), where scripts/bootstrap guarantees
 * node and mam.js, so missing vectors fail the run instead of passing it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/mam/mam.h"

#ifndef PG_SOURCE_DIR
#define PG_SOURCE_DIR "."
#endif

static json_t *g_vec;        /* the script's output */
static const char *g_source; /* where it came from */
static const char *g_argv1;

static char *read_stream(FILE *f, size_t *len) {
  size_t cap = 1 << 20, n = 0, k;
  char *buf = malloc(cap);
  while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  *len = n;
  return buf;
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static char *load_vectors(size_t *len) {
  const char *path = g_argv1 ? g_argv1 : getenv("PG_MAM_VECTORS");
  if (path && *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
      fprintf(stderr, "test_mam_vectors: cannot open %s\n", path);
      return NULL;
    }
    char *b = read_stream(f, len);
    fclose(f);
    g_source = path;
    return b;
  }
  const char *np = getenv("NODE_PATH");
  if (!exists(PG_SOURCE_DIR "/tests/interop/node_modules/@iota/mam.js/package.json") &&
      !(np && *np)) {
    fprintf(stderr, "test_mam_vectors: @iota/mam.js not installed under tests/interop "
                    "(npm ci there) and no NODE_PATH\n");
    return NULL;
  }
  FILE *p = popen("node '" PG_SOURCE_DIR "/tests/interop/mam_vectors.js'", "r");
  if (!p) return NULL;
  char *b = read_stream(p, len);
  int st = pclose(p);
  if (st != 0 || !b || *len == 0) {
    fprintf(stderr, "test_mam_vectors: mam_vectors.js failed (status %d)\n", st);
    free(b);
    return NULL;
  }
  g_source = "node tests/interop/mam_vectors.js";
  return b;
}

static int setup(void **state) {
  (void)state;
  if (pg_crypto_init()) return -1;
  size_t len = 0;
  char *b = load_vectors(&len);
  if (!b) {
    if (getenv("CI")) {
      fprintf(stderr, "test_mam_vectors: no mam.js vectors under CI (node or tests/interop/"
                      "node_modules missing: run scripts/bootstrap)\n");
      return -1;
    }
    fprintf(stderr, "test_mam_vectors: no node/mam.js here: vector tests SKIPPED\n");
    return 0;
  }
  pg_diag d = {{0}};
  int rc = pg_json_parse(b, len, PG_JSON_OBJECT, &g_vec, &d);
  free(b);
  if (rc) {
    fprintf(stderr, "test_mam_vectors: bad vector JSON: %s\n", d.msg);
    return -1;
  }
  fprintf(stderr, "vectors from %s (%s)\n", g_source,
          json_string_value(json_object_get(g_vec, "generator")));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  json_decref(g_vec);
  return 0;
}

static json_t *need_vectors(const char *key) {
  if (!g_vec) skip();
  json_t *a = json_object_get(g_vec, key);
  assert_true(json_is_array(a));
  return a;
}

static const char *str(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  if (!s) fail_msg("vector field '%s' missing", k);
  return s;
}

static uint8_t *unhex(const char *h, size_t *n) {
  size_t sl = strlen(h);
  uint8_t *b = malloc(sl / 2 + 1);
  assert_non_null(b);
  assert_int_equal(pg_hex_decode(h, sl, b, sl / 2 + 1, n), PG_OK);
  return b;
}

static void load_state(const json_t *obj, pg_mam_channel *ch) {
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  assert_int_equal(pg_json_dump(obj, &b), PG_OK);
  pg_diag d = {{0}};
  int rc = pg_mam_channel_load(ch, b.data, b.len, &d);
  if (rc) fail_msg("mam.js state refused: %s: %.*s", d.msg, (int)b.len, (const char *)b.data);
  pg_buf_free(&b);
}

/* Our saved state must be the same text as JSON.stringify of mam.js's. */
static void expect_same_state_text(const pg_mam_channel *ch, const json_t *obj) {
  pg_buf a, b;
  pg_buf_init(&a, 1 << 16);
  pg_buf_init(&b, 1 << 16);
  assert_int_equal(pg_mam_channel_save(ch, &a), PG_OK);
  assert_int_equal(pg_json_dump(obj, &b), PG_OK);
  if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
    fail_msg("state differs:\n ours   %.*s\n mam.js %.*s", (int)a.len, (const char *)a.data,
             (int)b.len, (const char *)b.data);
  pg_buf_free(&a);
  pg_buf_free(&b);
}

static void test_channels(void **state) {
  (void)state;
  json_t *chans = need_vectors("channels");
  size_t ci, nmsg = 0;
  json_t *c;
  json_array_foreach(chans, ci, c) {
    const char *name = str(c, "name");
    json_t *msgs = json_object_get(c, "messages");
    pg_mam_channel ch;
    size_t mi;
    json_t *v;
    json_array_foreach(msgs, mi, v) {
      pg_mam_channel before, after;
      load_state(json_object_get(v, "stateBefore"), &before);
      load_state(json_object_get(v, "stateAfter"), &after);
      if (mi == 0)
        ch = before;
      else if (memcmp(&ch, &before, sizeof ch) != 0)
        fail_msg("%s message %zu: state before differs", name, mi);
      const char *msg = str(v, "message");
      pg_mam_message m = {0};
      pg_diag d = {{0}};
      int rc = pg_mam_create_message(&ch, msg, strlen(msg), &m, &d);
      if (rc) fail_msg("%s message %zu: create: %s", name, mi, d.msg);
      if (strcmp(m.payload, str(v, "payload")) != 0)
        fail_msg("%s message %zu: payload differs (%zu vs %zu trytes)", name, mi, m.payload_len,
                 strlen(str(v, "payload")));
      assert_string_equal(m.root, str(v, "root"));
      assert_string_equal(m.next_root, str(v, "nextRoot"));
      assert_string_equal(m.address, str(v, "address"));
      if (memcmp(&ch, &after, sizeof ch) != 0) fail_msg("%s message %zu: state after differs", name, mi);
      expect_same_state_text(&ch, json_object_get(v, "stateAfter"));

      /* parse mam.js's payload (padded key from the state) */
      pg_mam_parsed p = {0};
      const char *payload = str(v, "payload");
      rc = pg_mam_parse_message(payload, strlen(payload), str(v, "root"), before.side_key,
                                strlen(before.side_key), &p, &d);
      if (rc) fail_msg("%s message %zu: parse: %s", name, mi, d.msg);
      assert_string_equal(p.message, msg);
      assert_string_equal(p.next_root, str(v, "nextRoot"));
      assert_int_equal(p.security, before.security);
      assert_int_equal(p.index, before.index);
      pg_mam_parsed_free(&p);

      json_t *att = json_object_get(v, "attach");
      if (att) {
        const char *tag = str(att, "tag");
        pg_buf b;
        pg_buf_init(&b, 1 << 20);
        assert_int_equal(pg_mam_attach_data(m.payload, m.payload_len, tag, strlen(tag), &b), PG_OK);
        char *hx = pg_hex_dup(b.data, b.len);
        assert_string_equal(hx, str(att, "data"));
        free(hx);
        uint8_t idx[32];
        pg_mam_attach_index(m.address, idx);
        hx = pg_hex_dup(idx, 32);
        assert_string_equal(hx, str(att, "index"));
        free(hx);
        char *pl = NULL, t[PG_MAM_MAX_TAG + 1];
        size_t pll;
        assert_int_equal(pg_mam_attach_decode(b.data, b.len, &pl, &pll, t, &d), PG_OK);
        assert_string_equal(pl, m.payload);
        assert_string_equal(t, tag);
        free(pl);
        pg_buf_free(&b);
      }
      pg_mam_message_free(&m);
      nmsg++;
    }
    pg_mam_channel_wipe(&ch);
  }
  fprintf(stderr, "  %zu channels, %zu messages byte-identical (payload, root, nextRoot, "
                  "address, state) and parsed\n", json_array_size(chans), nmsg);
}

/* mamFetch's choice among candidates: data > 100 bytes, unpacks, parses. */
static void test_fetch(void **state) {
  (void)state;
  json_t *fs = need_vectors("fetch");
  size_t i;
  json_t *f;
  json_array_foreach(fs, i, f) {
    const char *root = str(f, "root");
    pg_mam_mode mode;
    const char *ms = str(f, "mode");
    assert_int_equal(pg_mam_mode_parse(ms, strlen(ms), &mode), PG_OK);
    const char *key = json_string_value(json_object_get(f, "sideKey"));
    char addr[82];
    assert_int_equal(pg_mam_address(root, mode, addr), PG_OK);
    json_t *cands = json_object_get(f, "candidates");
    size_t k;
    json_t *cj;
    bool found = false;
    pg_mam_parsed got = {0};
    char got_tag[PG_MAM_MAX_TAG + 1] = "";
    json_array_foreach(cands, k, cj) {
      size_t n;
      uint8_t *data = unhex(json_string_value(cj), &n);
      char *pl = NULL, tag[PG_MAM_MAX_TAG + 1];
      size_t pll;
      pg_diag d = {{0}};
      if (pg_mam_attach_decode(data, n, &pl, &pll, tag, &d) == PG_OK) {
        if (pg_mam_parse_message(pl, pll, root, key, key ? strlen(key) : 0, &got, &d) == PG_OK) {
          found = true;
          memcpy(got_tag, tag, sizeof tag);
        }
        free(pl);
      }
      free(data);
      if (found) break;
    }
    json_t *res = json_object_get(f, "result");
    if (json_is_null(res)) {
      if (found) fail_msg("fetch %zu: mam.js found nothing, we did", i);
    } else {
      if (!found) fail_msg("fetch %zu: mam.js found a message, we did not", i);
      assert_string_equal(got.message, str(res, "message"));
      assert_string_equal(got.next_root, str(res, "nextRoot"));
      assert_string_equal(got_tag, str(res, "tag"));
    }
    pg_mam_parsed_free(&got);
  }
  fprintf(stderr, "  %zu fetch selections match\n", json_array_size(fs));
}

static void test_text(void **state) {
  (void)state;
  json_t *a = need_vectors("text");
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    size_t n;
    uint8_t *u = unhex(str(v, "utf8"), &n);
    char *t = NULL;
    size_t tn;
    assert_int_equal(pg_mam_text_to_trytes((const char *)u, n, &t, &tn), PG_OK);
    assert_string_equal(t, str(v, "trytes"));
    free(t);
    free(u);
  }
  json_t *b = need_vectors("fromTrytes");
  json_array_foreach(b, i, v) {
    const char *tr = str(v, "trytes");
    char *t = NULL;
    size_t tn;
    assert_int_equal(pg_mam_trytes_to_text(tr, strlen(tr), &t, &tn), PG_OK);
    char *hx = pg_hex_dup((const uint8_t *)t, tn);
    if (strcmp(hx, str(v, "utf8")) != 0)
      fail_msg("stringFromTrytes(%s): ours %s, mam.js %s", tr, hx, str(v, "utf8"));
    free(hx);
    free(t);
  }
  fprintf(stderr, "  %zu stringToTrytes + %zu stringFromTrytes match\n", json_array_size(a),
          json_array_size(b));
}

static void test_pack(void **state) {
  (void)state;
  json_t *a = need_vectors("pack");
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    const char *tr = str(v, "trytes");
    size_t n = strlen(tr);
    uint8_t out[64];
    assert_true(pg_mam_pack_len(n) <= sizeof out);
    assert_int_equal(pg_mam_pack_trytes(tr, n, out), PG_OK);
    char *hx = pg_hex_dup(out, pg_mam_pack_len(n));
    assert_string_equal(hx, str(v, "hex"));
    free(hx);
  }
  json_t *b = need_vectors("unpack");
  json_array_foreach(b, i, v) {
    size_t n;
    uint8_t *u = unhex(str(v, "hex"), &n);
    char out[64];
    size_t on;
    assert_true(pg_mam_unpack_cap(n) <= sizeof out);
    pg_mam_unpack_trytes(u, n, out, &on);
    const char *want = str(v, "trytes");
    assert_int_equal(on, strlen(want));
    assert_memory_equal(out, want, on);
    free(u);
  }
  fprintf(stderr, "  %zu pack + %zu unpack match\n", json_array_size(a), json_array_size(b));
}

int main(int argc, char **argv) {
  if (argc > 1) g_argv1 = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_channels),
      cmocka_unit_test(test_fetch),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_pack),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
