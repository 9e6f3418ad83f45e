/* Unit tests for src/mam/channel_io.c over an in-memory fake of the node
 * access interface: attach, fetch (skipping junk, unreadable ids and
 * tampered copies, as mam.js does), fetch_all following nextRoot, and the
 * complete reader on trees of count 2/4/8: every leaf in order, a missing
 * leaf stops it and it resumes, duplicates once, tampered and conflicting
 * leaves left out and counted, the node's listing order irrelevant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "test_util_fake_raw.h"

#define MAXMSG 64

typedef struct fake {
  pg_client base;
  json_t *msgs[MAXMSG]; /* NULL = an id whose GET fails */
  uint8_t ids[MAXMSG][PG_ID_LEN];
  size_t n;
  bool reverse; /* list ids newest first (the node's order must not matter) */
} fake;

static int f_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d) {
  fake *f = (fake *)c;
  if (f->n == MAXMSG) return pg_fail(d, PG_ERR_TOO_LARGE, "fake full");
  /* the attach message must be exactly {"payload":{"type":2,"index","data"}} */
  assert_int_equal(json_object_size(msg), 1);
  json_t *pl = json_object_get(msg, "payload");
  assert_int_equal(json_integer_value(json_object_get(pl, "type")), 2);
  assert_int_equal(strlen(json_string_value(json_object_get(pl, "index"))), 64);
  f->msgs[f->n] = json_deep_copy(msg);
  memset(f->ids[f->n], 0, PG_ID_LEN);
  f->ids[f->n][0] = (uint8_t)(f->n + 1);
  memcpy(id, f->ids[f->n], PG_ID_LEN);
  f->n++;
  return PG_OK;
}

static int f_find_index(pg_client *c, const uint8_t *index, size_t index_len,
                        uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                        pg_diag *d) {
  (void)d;
  fake *f = (fake *)c;
  char *hx = pg_hex_dup(index, index_len);
  size_t k = 0, t = 0;
  for (size_t j = 0; j < f->n; j++) {
    size_t i = f->reverse ? f->n - 1 - j : j;
    const char *mi = f->msgs[i]
                         ? json_string_value(json_object_get(json_object_get(f->msgs[i], "payload"), "index"))
                         : hx; /* unreadable ids are listed under every index */
    if (mi && strcmp(mi, hx) == 0) {
      if (k < max) memcpy(ids[k++], f->ids[i], PG_ID_LEN);
      t++;
    }
  }
  free(hx);
  *count = k;
  *total = t;
  return PG_OK;
}

static int f_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d) {
  fake *f = (fake *)c;
  for (size_t i = 0; i < f->n; i++) {
    if (memcmp(f->ids[i], id, PG_ID_LEN) == 0) {
      if (!f->msgs[i]) return pg_fail(d, PG_ERR_NOT_FOUND, "gone");
      return tu_raw_of_json(f->msgs[i], out, d);
    }
  }
  return pg_fail(d, PG_ERR_NOT_FOUND, "no such message");
}

static void f_destroy(pg_client *c) {
  fake *f = (fake *)c;
  for (size_t i = 0; i < f->n; i++) json_decref(f->msgs[i]);
}

static const pg_client_ops FAKE_OPS = {
    .kind = "fake", .submit_json = f_submit_json, .find_index = f_find_index,
    .get_raw = f_get_raw, .destroy = f_destroy,
};

/* Stores raw data under an index (junk candidates). */
static void put_raw(fake *f, const uint8_t idx[32], const uint8_t *data, size_t len) {
  uint8_t id[PG_ID_LEN];
  assert_int_equal(pg_client_submit_data(&f->base, idx, 32, data, len, id, NULL), PG_OK);
}

static const char *SEED =
    "IOTESTSEEDIOTESTSEEDIOTESTSEEDIOTESTSEEDIOTESTSEEDIOTESTSEEDIOTESTSEEDIOTESTSEED9";

static void test_attach_fetch(void **state) {
  (void)state;
  fake f;
  memset(&f, 0, sizeof f);
  f.base.ops = &FAKE_OPS;
  pg_diag d = {{0}};
  pg_mam_channel ch;
  assert_int_equal(pg_mam_channel_create(&ch, SEED, PG_MAM_RESTRICTED, "KEY", 3, 1, &d), PG_OK);
  char root0[82];
  assert_int_equal(pg_mam_channel_root(&ch, root0), PG_OK);

  const char *texts[3] = {"FIRST", "SECOND", "THIRD"};
  pg_mam_message m[3];
  for (int i = 0; i < 3; i++) {
    memset(&m[i], 0, sizeof m[i]);
    assert_int_equal(pg_mam_create_message(&ch, texts[i], strlen(texts[i]), &m[i], &d), PG_OK);
    uint8_t idx[32];
    pg_mam_attach_index(m[i].address, idx);
    if (i == 0) {
      /* junk first: unreadable id, short data, garbage, a tampered copy */
      f.msgs[f.n] = NULL;
      f.ids[f.n][0] = 0xEE;
      f.n++;
      uint8_t junk[150];
      memset(junk, 0x55, sizeof junk);
      put_raw(&f, idx, junk, 100);
      put_raw(&f, idx, junk, sizeof junk);
      pg_buf b;
      pg_buf_init(&b, 1 << 20);
      assert_int_equal(pg_mam_attach_data(m[i].payload, m[i].payload_len, NULL, 0, &b), PG_OK);
      b.data[100] ^= 1;
      put_raw(&f, idx, b.data, b.len);
      pg_buf_free(&b);
    }
    uint8_t id[32];
    assert_int_equal(pg_mam_attach(&f.base, &m[i], i == 1 ? "TAGTWO" : NULL, i == 1 ? 6 : 0, id, &d),
                     PG_OK);
  }
  assert_string_equal(m[0].root, root0);

  pg_mam_fetched got;
  memset(&got, 0, sizeof got);
  int rc = pg_mam_fetch(&f.base, root0, PG_MAM_RESTRICTED, "KEY", 3, &got, &d);
  if (rc) fail_msg("fetch: %s", d.msg);
  assert_string_equal(got.message, "FIRST");
  assert_string_equal(got.next_root, m[1].root);
  assert_string_equal(got.root, root0);
  assert_string_equal(got.tag, "");
  pg_mam_fetched_free(&got);

  /* wrong key, wrong mode, bad key rules */
  assert_int_equal(pg_mam_fetch(&f.base, root0, PG_MAM_RESTRICTED, "KEZ", 3, &got, &d),
                   PG_ERR_NOT_FOUND);
  assert_int_equal(pg_mam_fetch(&f.base, root0, PG_MAM_PRIVATE, NULL, 0, &got, &d),
                   PG_ERR_NOT_FOUND);
  assert_int_equal(pg_mam_fetch(&f.base, root0, PG_MAM_RESTRICTED, NULL, 0, &got, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_mam_fetch(&f.base, root0, PG_MAM_PUBLIC, "KEY", 3, &got, &d), PG_ERR_INVALID);

  pg_mam_fetched *all = NULL;
  size_t n = 0;
  rc = pg_mam_fetch_all(&f.base, root0, PG_MAM_RESTRICTED, "KEY", 3, 0, &all, &n, &d);
  if (rc) fail_msg("fetch all: %s", d.msg);
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(all[i].message, texts[i]);
    assert_string_equal(all[i].root, m[i].root);
    assert_string_equal(all[i].next_root, m[i].next_root);
  }
  assert_string_equal(all[1].tag, "TAGTWO");
  pg_mam_fetched_free_all(all, n);
  rc = pg_mam_fetch_all(&f.base, root0, PG_MAM_RESTRICTED, "KEY", 3, 2, &all, &n, &d);
  assert_int_equal(rc, PG_OK);
  assert_int_equal(n, 2);
  pg_mam_fetched_free_all(all, n);
  rc = pg_mam_fetch_all(&f.base, root0, PG_MAM_RESTRICTED, "NOPE", 4, 0, &all, &n, &d);
  assert_int_equal(rc, PG_OK);
  assert_int_equal(n, 0);
  pg_mam_fetched_free_all(all, n);

  for (int i = 0; i < 3; i++) pg_mam_message_free(&m[i]);
  f_destroy(&f.base);
  pg_mam_channel_wipe(&ch);
}


/* ---- trees of count > 1 ---- */

static void fake_init(fake *f) {
  memset(f, 0, sizeof *f);
  f->base.ops = &FAKE_OPS;
}

/* "M" and i's digits as letters (0 -> A): the trytes of message i. */
static const char *msg_text(size_t i, char buf[32]) {
  char text[32];
  snprintf(text, sizeof text, "M%zu", i);
  size_t k = 0;
  for (const char *p = text; *p; p++) buf[k++] = *p >= '0' && *p <= '9' ? (char)('A' + *p - '0') : *p;
  buf[k] = '\0';
  return buf;
}

/* A public channel (or restricted with key "KEY") whose trees hold count
 * messages, and n messages "M<i>" created on it (not attached). */
static void tree_messages(pg_mam_channel *ch, pg_mam_mode mode, uint32_t count, size_t n,
                          pg_mam_message *m) {
  pg_diag d = {{0}};
  bool r = mode == PG_MAM_RESTRICTED;
  assert_int_equal(pg_mam_channel_create(ch, SEED, mode, r ? "KEY" : NULL, r ? 3 : 0, 1, &d), PG_OK);
  ch->count = ch->next_count = count;
  assert_int_equal(pg_mam_channel_validate(ch, &d), PG_OK);
  for (size_t i = 0; i < n; i++) {
    char text[32];
    msg_text(i, text);
    memset(&m[i], 0, sizeof m[i]);
    if (pg_mam_create_message(ch, text, strlen(text), &m[i], &d)) fail_msg("create: %s", d.msg);
  }
}

static void attach(fake *f, const pg_mam_message *m) {
  uint8_t id[32];
  pg_diag d = {{0}};
  if (pg_mam_attach(&f->base, m, NULL, 0, id, &d)) fail_msg("attach: %s", d.msg);
}

/* Every message of 2 full trees and one of a third, attached newest first
 * and listed in either order: fetch_all returns all in order; mam.js's way
 * (pg_mam_fetch, then nextRoot) gets one per tree. */
static void check_count(uint32_t count, pg_mam_mode mode, bool reverse) {
  fake f;
  fake_init(&f);
  f.reverse = reverse;
  pg_mam_channel ch;
  size_t n = 2 * (size_t)count + 1;
  pg_mam_message *m = calloc(n, sizeof *m);
  assert_non_null(m);
  tree_messages(&ch, mode, count, n, m);
  for (size_t i = n; i-- > 0;) attach(&f, &m[i]);
  const char *key = mode == PG_MAM_RESTRICTED ? "KEY" : NULL;
  size_t klen = key ? 3 : 0;
  pg_diag d = {{0}};
  pg_mam_fetched *all = NULL;
  size_t got = 0;
  if (pg_mam_fetch_all(&f.base, m[0].root, mode, key, klen, 0, &all, &got, &d))
    fail_msg("fetch all: %s", d.msg);
  assert_int_equal(got, n);
  for (size_t i = 0; i < n; i++) {
    char want[32];
    assert_string_equal(all[i].message, msg_text(i, want));
    assert_string_equal(all[i].root, m[i].root);
    assert_int_equal(all[i].leaf, i % count);
    assert_int_equal(all[i].count, count);
    assert_int_equal(all[i].n_other_ids, 0);
    if (i % count) assert_string_equal(all[i].root, all[i - 1].root); /* one root per tree */
  }
  assert_string_equal(all[count].root, all[0].next_root);
  pg_mam_fetched_free_all(all, got);

  /* mam.js mamFetchAll: one message per tree */
  char cur[82];
  memcpy(cur, m[0].root, sizeof cur);
  size_t mamjs = 0;
  pg_mam_fetched one = {0};
  while (pg_mam_fetch(&f.base, cur, mode, key, klen, &one, NULL) == PG_OK) {
    mamjs++;
    assert_int_equal(one.count, count);
    memcpy(cur, one.next_root, sizeof cur);
    pg_mam_fetched_free(&one);
  }
  assert_int_equal(mamjs, 3);

  /* limit, then resume from the cursor */
  pg_mam_cursor c;
  assert_int_equal(pg_mam_cursor_init(&c, m[0].root), PG_OK);
  size_t total = 0;
  while (total < n) {
    all = NULL;
    got = 0;
    if (pg_mam_fetch_from(&f.base, &c, mode, key, klen, 3, &all, &got, &d))
      fail_msg("fetch from: %s", d.msg);
    assert_true(got > 0);
    for (size_t i = 0; i < got; i++) {
      char want[32];
      assert_string_equal(all[i].message, msg_text(total + i, want));
    }
    total += got;
    pg_mam_fetched_free_all(all, got);
  }
  assert_int_equal(total, n);
  assert_string_equal(c.root, m[n - 1].root); /* the third tree, after its first leaf */
  assert_int_equal(c.leaf, 1);
  all = NULL;
  assert_int_equal(pg_mam_fetch_from(&f.base, &c, mode, key, klen, 0, &all, &got, &d), PG_OK);
  assert_int_equal(got, 0);
  free(all);

  for (size_t i = 0; i < n; i++) pg_mam_message_free(&m[i]);
  free(m);
  f_destroy(&f.base);
  pg_mam_channel_wipe(&ch);
}

/* pg_mam_attach_many posts what pg_mam_attach posts, message by message;
 * an item without a message is refused with pg_mam_attach's words and the
 * item that follows it is not posted. */
static void test_attach_many(void **state) {
  (void)state;
  fake one, many;
  memset(&one, 0, sizeof one);
  memset(&many, 0, sizeof many);
  one.base.ops = many.base.ops = &FAKE_OPS;
  pg_diag d = {{0}};
  pg_mam_channel ch;
  assert_int_equal(pg_mam_channel_create(&ch, SEED, PG_MAM_RESTRICTED, "KEY", 3, 1, &d), PG_OK);
  pg_mam_message m[3];
  pg_mam_attach_item v[5];
  memset(v, 0, sizeof v);
  const char *texts[3] = {"FIRST", "SECOND", "THIRD"};
  for (int i = 0; i < 3; i++) {
    memset(&m[i], 0, sizeof m[i]);
    assert_int_equal(pg_mam_create_message(&ch, texts[i], strlen(texts[i]), &m[i], &d), PG_OK);
    uint8_t id[32];
    assert_int_equal(pg_mam_attach(&one.base, &m[i], NULL, 0, id, &d), PG_OK);
  }
  v[0].m = &m[0];
  v[1].m = NULL;
  v[2].m = &m[1];
  v[2].follows = true;
  v[3].m = &m[1];
  v[4].m = &m[2];
  v[4].follows = true;
  assert_int_equal(pg_mam_attach_many(&many.base, v, 5, &d), PG_OK);
  assert_int_equal(v[0].rc, PG_OK);
  assert_int_equal(v[1].rc, pg_mam_attach(&one.base, NULL, NULL, 0, v[1].id, &d));
  assert_string_equal(v[1].d.msg, d.msg);
  assert_int_equal(v[2].rc, PG_ERR_STATE);
  assert_int_equal(v[3].rc, PG_OK);
  assert_int_equal(v[4].rc, PG_OK);
  assert_int_equal(many.n, 3);
  for (size_t i = 0; i < 3; i++) {
    char *a = json_dumps(one.msgs[i], JSON_COMPACT), *b = json_dumps(many.msgs[i], JSON_COMPACT);
    assert_string_equal(a, b);
    free(a), free(b);
  }
  assert_memory_equal(v[4].id, many.ids[2], PG_ID_LEN);
  assert_int_equal(pg_mam_attach_many(NULL, v, 5, &d), PG_ERR_INVALID);
  for (int i = 0; i < 3; i++) pg_mam_message_free(&m[i]);
  pg_mam_channel_wipe(&ch);
  f_destroy(&one.base);
  f_destroy(&many.base);
}

static void test_counts(void **state) {
  (void)state;
  check_count(2, PG_MAM_PUBLIC, false);
  check_count(4, PG_MAM_RESTRICTED, true);
  check_count(8, PG_MAM_PRIVATE, false);
}

/* Leaf 1 of a count-4 tree missing (only a tampered copy there): the reader
 * stops at {root, 1}, says why, and reads 1..3 and the next tree's leaf 0
 * once leaf 1 arrives. */
static void test_gap_and_tamper(void **state) {
  (void)state;
  fake f;
  fake_init(&f);
  pg_mam_channel ch;
  pg_mam_message m[5];
  tree_messages(&ch, PG_MAM_PUBLIC, 4, 5, m);
  attach(&f, &m[0]);
  attach(&f, &m[2]);
  attach(&f, &m[3]);
  attach(&f, &m[4]);

  pg_diag d = {{0}};
  pg_mam_cursor c, next;
  assert_int_equal(pg_mam_cursor_init(&c, m[0].root), PG_OK);
  pg_mam_fetched *out = NULL;
  size_t n = 0;
  pg_mam_read_info info;
  /* a plain gap: nothing claims leaf 1 */
  assert_int_equal(pg_mam_read(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &out, &n, &next, &info, &d),
                   PG_OK);
  assert_int_equal(n, 1);
  assert_string_equal(out[0].message, "MA");
  assert_int_equal(info.stop, PG_MAM_STOP_MISSING);
  assert_int_equal(next.leaf, 1);
  assert_int_equal(info.unverified, 0);
  assert_int_equal(info.later, 2);
  pg_mam_fetched_free_all(out, n);

  /* a tampered copy of leaf 1 */
  pg_mam_message bad = m[1];
  bad.payload = strdup(m[1].payload);
  assert_non_null(bad.payload);
  bad.payload[bad.payload_len - 200] = bad.payload[bad.payload_len - 200] == 'A' ? 'B' : 'A';
  attach(&f, &bad);
  free(bad.payload);
  assert_int_equal(pg_mam_read(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &out, &n, &next, &info, &d),
                   PG_OK);
  assert_int_equal(n, 1);
  assert_string_equal(out[0].message, "MA");
  assert_int_equal(info.stop, PG_MAM_STOP_MISSING);
  assert_string_equal(next.root, m[0].root);
  assert_int_equal(next.leaf, 1);
  assert_int_equal(info.listed, 4);     /* leaves 0, 2, 3 and the tampered 1 */
  assert_int_equal(info.unverified, 1); /* the tampered leaf 1, reported */
  assert_int_equal(info.later, 2);      /* leaves 2 and 3 wait for 1 */
  assert_int_equal(info.count, 4);
  pg_mam_fetched_free_all(out, n);

  /* fetch_from stops at the same place; calling again changes nothing */
  pg_mam_fetched *all = NULL;
  assert_int_equal(pg_mam_fetch_from(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &all, &n, &d), PG_OK);
  assert_int_equal(n, 1);
  pg_mam_fetched_free_all(all, n);
  assert_int_equal(c.leaf, 1);
  assert_int_equal(pg_mam_fetch_from(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &all, &n, &d), PG_OK);
  assert_int_equal(n, 0);
  free(all);
  assert_int_equal(c.leaf, 1);

  /* the leaf arrives: 1, 2, 3 and the next tree's first */
  attach(&f, &m[1]);
  assert_int_equal(pg_mam_fetch_from(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &all, &n, &d), PG_OK);
  assert_int_equal(n, 4);
  const char *want[4] = {"MB", "MC", "MD", "ME"};
  for (size_t i = 0; i < 4; i++) assert_string_equal(all[i].message, want[i]);
  pg_mam_fetched_free_all(all, n);
  assert_string_equal(c.root, m[4].root);
  assert_int_equal(c.leaf, 1);

  /* the earlier leaves are not verified again */
  assert_int_equal(pg_mam_cursor_init(&c, m[0].root), PG_OK);
  c.leaf = 3;
  assert_int_equal(pg_mam_read(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &out, &n, &next, &info, &d),
                   PG_OK);
  assert_int_equal(n, 1);
  assert_int_equal(info.earlier, 4); /* leaves 0, 1 (twice: tampered and genuine), 2 */
  assert_int_equal(info.stop, PG_MAM_STOP_TREE_END);
  assert_string_equal(next.root, m[4].root);
  assert_int_equal(next.leaf, 0);
  pg_mam_fetched_free_all(out, n);

  /* max */
  c.leaf = 0;
  assert_int_equal(pg_mam_read(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 2, &out, &n, &next, &info, &d),
                   PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(info.stop, PG_MAM_STOP_LIMIT);
  assert_int_equal(next.leaf, 2);
  pg_mam_fetched_free_all(out, n);

  /* bad cursors */
  assert_int_equal(pg_mam_cursor_init(&c, "ABC"), PG_ERR_INVALID);
  memset(c.root, 'a', 81);
  c.root[81] = '\0';
  assert_int_equal(pg_mam_read(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &out, &n, &next, NULL, &d),
                   PG_ERR_INVALID);

  for (size_t i = 0; i < 5; i++) pg_mam_message_free(&m[i]);
  f_destroy(&f.base);
  pg_mam_channel_wipe(&ch);
}

/* Issue 18: pg_mam_read_many gives what pg_mam_read gives on each request
 * in turn (its signature checks batched): a tree with a gap and a tampered
 * copy, eight count-1 channels, a wrong side key, a bad cursor. */
static void same_read(const pg_mam_read_req *r, const pg_mam_fetched *out, size_t n,
                      const pg_mam_cursor *next, const pg_mam_read_info *info, int rc) {
  assert_int_equal(r->rc, rc);
  if (rc) return;
  assert_int_equal(r->n, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(r->out[i].message_len, out[i].message_len);
    assert_memory_equal(r->out[i].message, out[i].message, out[i].message_len);
    assert_string_equal(r->out[i].next_root, out[i].next_root);
    assert_memory_equal(r->out[i].message_id, out[i].message_id, 32);
    assert_int_equal(r->out[i].leaf, out[i].leaf);
    assert_int_equal(r->out[i].n_other_ids, out[i].n_other_ids);
  }
  assert_string_equal(r->next.root, next->root);
  assert_int_equal(r->next.leaf, next->leaf);
  assert_int_equal(r->info.stop, info->stop);
  assert_int_equal(r->info.listed, info->listed);
  assert_int_equal(r->info.unverified, info->unverified);
  assert_int_equal(r->info.later, info->later);
  assert_int_equal(r->info.earlier, info->earlier);
  assert_int_equal(r->info.count, info->count);
}

static void test_read_many(void **state) {
  (void)state;
  fake f;
  fake_init(&f);
  pg_diag d = {{0}};
  enum { NCH = 11 };
  pg_mam_read_req rq[NCH];
  memset(rq, 0, sizeof rq);
  /* 0: a tree of 4 with leaf 2 missing and a tampered copy of leaf 0 */
  pg_mam_channel ch;
  pg_mam_message m[5];
  tree_messages(&ch, PG_MAM_PUBLIC, 4, 5, m);
  pg_mam_message bad = m[0];
  bad.payload = strdup(m[0].payload);
  assert_non_null(bad.payload);
  bad.payload[bad.payload_len - 200] = bad.payload[bad.payload_len - 200] == 'A' ? 'B' : 'A';
  attach(&f, &bad);
  attach(&f, &m[0]), attach(&f, &m[1]), attach(&f, &m[3]);
  free(bad.payload);
  assert_int_equal(pg_mam_cursor_init(&rq[0].at, m[0].root), PG_OK);
  rq[0].mode = PG_MAM_PUBLIC;
  for (size_t i = 0; i < 5; i++) pg_mam_message_free(&m[i]);
  /* 1..8: restricted count-1 channels, two messages each; 9: read with the wrong key */
  for (int c = 1; c <= 9; c++) {
    char seed[82];
    memcpy(seed, SEED, 82);
    seed[0] = (char)('A' + c);
    assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "KEY", 3, 1, &d), PG_OK);
    assert_int_equal(pg_mam_channel_root(&ch, rq[c].at.root), PG_OK);
    for (int k = 0; k < 2; k++) {
      pg_mam_message x = {0};
      assert_int_equal(pg_mam_create_message(&ch, k ? "SECOND" : "FIRST", k ? 6 : 5, &x, &d), PG_OK);
      attach(&f, &x);
      pg_mam_message_free(&x);
    }
    pg_mam_channel_wipe(&ch);
    rq[c].mode = PG_MAM_RESTRICTED;
    rq[c].side_key = c == 9 ? "KEX" : "KEY";
    rq[c].side_key_len = 3;
    rq[c].max = c % 2 ? 1 : 0;
  }
  /* 10: not a cursor */
  memset(rq[10].at.root, 'a', 81);
  rq[10].mode = PG_MAM_PUBLIC;
  int rc = pg_mam_read_many(&f.base, rq, NCH, &d);
  assert_int_equal(rc, PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "channel 10: "));
  for (int c = 0; c < NCH; c++) {
    pg_mam_fetched *out = NULL;
    size_t n = 0;
    pg_mam_cursor next;
    pg_mam_read_info info;
    memset(&info, 0, sizeof info);
    int r = pg_mam_read(&f.base, &rq[c].at, rq[c].mode, rq[c].side_key, rq[c].side_key_len,
                        rq[c].max, &out, &n, &next, &info, NULL);
    same_read(&rq[c], out, n, &next, &info, r);
    pg_mam_fetched_free_all(out, n);
    pg_mam_fetched_free_all(rq[c].out, rq[c].n);
  }
  assert_int_equal(rq[0].n, 2);  /* leaves 0 and 1; 2 is missing */
  assert_int_equal(rq[0].info.unverified, 1);
  assert_int_equal(rq[1].n, 1);  /* a count-1 tree: one message, then its next root */
  assert_int_equal(rq[9].n, 0);  /* the wrong key verifies nothing */
  f_destroy(&f.base);
}

/* The same leaf attached three times is one message (the lowest id, the
 * others in other_ids); a second message signed by the same leaf is left
 * out and counted; the node's order does not change the choice. */
static void test_duplicates_conflicts(void **state) {
  (void)state;
  for (int reverse = 0; reverse < 2; reverse++) {
    fake f;
    fake_init(&f);
    f.reverse = reverse;
    pg_mam_channel ch, again;
    pg_mam_message m[2], other = {0};
    pg_diag d = {{0}};
    tree_messages(&ch, PG_MAM_PUBLIC, 2, 1, m);
    again = ch; /* the state before leaf 1: sign leaf 1 twice */
    assert_int_equal(pg_mam_create_message(&ch, "MB", 2, &m[1], &d), PG_OK);
    assert_int_equal(pg_mam_create_message(&again, "OTHER", 5, &other, &d), PG_OK);
    attach(&f, &m[0]);
    attach(&f, &m[0]);
    attach(&f, &m[1]);
    attach(&f, &other);
    attach(&f, &m[0]);
    attach(&f, &m[1]);

    pg_mam_cursor c, next;
    assert_int_equal(pg_mam_cursor_init(&c, m[0].root), PG_OK);
    pg_mam_fetched *out = NULL;
    size_t n = 0;
    pg_mam_read_info info;
    assert_int_equal(pg_mam_read(&f.base, &c, PG_MAM_PUBLIC, NULL, 0, 0, &out, &n, &next, &info, &d),
                     PG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].message, "MA");
    assert_string_equal(out[1].message, "MB");
    assert_int_equal(out[0].message_id[0], 1); /* the fake's ids: 1, 2, 3... in attach order */
    assert_int_equal(out[0].n_other_ids, 2);
    assert_int_equal(out[0].other_ids[0][0], 2);
    assert_int_equal(out[0].other_ids[1][0], 5);
    assert_int_equal(out[1].message_id[0], 3);
    assert_int_equal(out[1].n_other_ids, 1);
    assert_int_equal(info.duplicates, 3);
    assert_int_equal(info.conflicts, 1);
    assert_int_equal(info.stop, PG_MAM_STOP_TREE_END);
    assert_string_equal(next.root, m[0].next_root);
    pg_mam_fetched_free_all(out, n);

    pg_mam_message_free(&m[0]);
    pg_mam_message_free(&m[1]);
    pg_mam_message_free(&other);
    pg_mam_channel_wipe(&ch);
    pg_mam_channel_wipe(&again);
    f_destroy(&f.base);
  }
}

/* A restricted count-1 channel (key "KEY") named by c, n messages attached;
 * its root into root. */
static void count1_channel(fake *f, int c, size_t n, char root[PG_MAM_HASH_TRYTES + 1]) {
  char seed[82];
  memcpy(seed, SEED, 82);
  seed[40] = (char)('A' + c); /* away from the trytes MAM adds the leaf index to */
  pg_mam_channel ch;
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "KEY", 3, 1, &d), PG_OK);
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  for (size_t k = 0; k < n; k++) {
    pg_mam_message x = {0};
    char text[16];
    snprintf(text, sizeof text, "MESSAGE%c", (char)('A' + k));
    assert_int_equal(pg_mam_create_message(&ch, text, strlen(text), &x, &d), PG_OK);
    attach(f, &x);
    pg_mam_message_free(&x);
  }
  pg_mam_channel_wipe(&ch);
}

/* pg_mam_fetch_all_many gives what pg_mam_fetch_all gives on each request:
 * trees of 4 and of 1, an empty channel, a bad root, a limit, a wrong key. */
static void test_fetch_all_many(void **state) {
  (void)state;
  fake f;
  fake_init(&f);
  enum { NCH = 9 };
  static char roots[NCH][PG_MAM_HASH_TRYTES + 1];
  pg_mam_fetch_req rq[NCH];
  memset(rq, 0, sizeof rq);
  pg_mam_channel ch;
  pg_mam_message m[5];
  tree_messages(&ch, PG_MAM_RESTRICTED, 4, 5, m); /* 0: a tree of 4 and one of the next */
  for (size_t i = 0; i < 5; i++) attach(&f, &m[i]);
  memcpy(roots[0], m[0].root, sizeof roots[0]);
  for (size_t i = 0; i < 5; i++) pg_mam_message_free(&m[i]);
  pg_mam_channel_wipe(&ch);
  for (int c = 1; c <= 4; c++) count1_channel(&f, c, (size_t)c, roots[c]); /* 1..4 trees */
  count1_channel(&f, 5, 0, roots[5]);                                      /* 5: nothing yet */
  memcpy(roots[6], "ABC", 4);                                              /* 6: not a root */
  count1_channel(&f, 7, 3, roots[7]);                                      /* 7: limit 2 */
  memcpy(roots[8], roots[3], sizeof roots[8]);                             /* 8: a wrong key */
  for (int c = 0; c < NCH; c++)
    rq[c] = (pg_mam_fetch_req){.root = roots[c], .mode = PG_MAM_RESTRICTED,
                               .side_key = c == 8 ? "KEX" : "KEY", .side_key_len = 3,
                               .limit = c == 7 ? 2 : 0};
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_fetch_all_many(&f.base, rq, NCH, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "channel 6: "));
  static const size_t want[NCH] = {5, 1, 2, 3, 4, 0, 0, 2, 0};
  for (int c = 0; c < NCH; c++) {
    pg_mam_fetched *all = NULL;
    size_t n = 0;
    int rc = pg_mam_fetch_all(&f.base, roots[c], PG_MAM_RESTRICTED, rq[c].side_key, 3,
                              rq[c].limit, &all, &n, NULL);
    assert_int_equal(rq[c].rc, rc);
    assert_int_equal(rq[c].n, n);
    assert_int_equal(n, want[c]);
    for (size_t k = 0; k < n; k++) {
      assert_int_equal(rq[c].out[k].message_len, all[k].message_len);
      assert_memory_equal(rq[c].out[k].message, all[k].message, all[k].message_len);
      assert_memory_equal(rq[c].out[k].message_id, all[k].message_id, PG_ID_LEN);
      assert_string_equal(rq[c].out[k].root, all[k].root);
      assert_string_equal(rq[c].out[k].next_root, all[k].next_root);
      assert_int_equal(rq[c].out[k].leaf, all[k].leaf);
    }
    pg_mam_fetched_free_all(all, n);
    pg_mam_fetched_free_all(rq[c].out, rq[c].n);
  }
  assert_int_equal(pg_mam_fetch_all_many(&f.base, NULL, 1, &d), PG_ERR_INVALID);
  assert_int_equal(pg_mam_fetch_all_many(&f.base, rq, 0, &d), PG_OK);
  f_destroy(&f.base);
}

int main(void) {
  if (pg_crypto_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attach_fetch), cmocka_unit_test(test_counts),
      cmocka_unit_test(test_gap_and_tamper), cmocka_unit_test(test_duplicates_conflicts),
      cmocka_unit_test(test_read_many), cmocka_unit_test(test_attach_many),
      cmocka_unit_test(test_fetch_all_many)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
