/* Unit tests for src/mam/channel_io.c over an in-memory fake of the node
 * access interface: attach, fetch (skipping junk, unreadable ids and
 * tampered copies, as mam.js does), fetch_all following nextRoot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/client.h"
#include "p2pgrid/hex.h"
#include "p2pgrid/mam.h"

#define MAXMSG 64

typedef struct fake {
  pg_client base;
  json_t *msgs[MAXMSG]; /* NULL = an id whose GET fails */
  uint8_t ids[MAXMSG][PG_ID_LEN];
  size_t n;
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
  for (size_t i = 0; i < f->n; i++) {
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

static int f_get_json(pg_client *c, const uint8_t id[PG_ID_LEN], json_t **out, pg_diag *d) {
  fake *f = (fake *)c;
  for (size_t i = 0; i < f->n; i++) {
    if (memcmp(f->ids[i], id, PG_ID_LEN) == 0) {
      if (!f->msgs[i]) return pg_fail(d, PG_ERR_NOT_FOUND, "gone");
      *out = json_incref(f->msgs[i]);
      return PG_OK;
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
    .get_json = f_get_json, .destroy = f_destroy,
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

int main(void) {
  if (pg_crypto_init()) return 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_attach_fetch)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
