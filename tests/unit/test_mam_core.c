/* Unit tests for src/mam without node.js: the literal vectors of
 * CHRYSALIS.md 10.12, pascal, pack, text, channel state, count 2/4 trees,
 * and tamper / truncation cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/mam/mam_internal.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"

#define SEED_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void hash_hex(const void *p, size_t n, char out[65]) {
  uint8_t h[32];
  pg_blake2b256(p, n, h);
  pg_hex_encode(h, 32, out);
  out[64] = '\0';
}

static void expect_hex(const uint8_t *p, size_t n, const char *hex) {
  char *s = pg_hex_dup(p, n);
  assert_non_null(s);
  assert_string_equal(s, hex);
  free(s);
}

typedef struct vec {
  pg_mam_mode mode;
  int security;
  const char *key;
  const char *root, *address, *prefix, *payload_hash, *index_hex;
  size_t payload_len;
} vec;

static const vec VECS[] = {
    {PG_MAM_PUBLIC, 2, NULL,
     "POKRBFTSZPVUNXQAUMLXTVQOTIUBDWFTCIJOROUOGCQKVLHGQQABFPBXTL9RKUSHOLONFXTDWAHMDDJRG",
     "POKRBFTSZPVUNXQAUMLXTVQOTIUBDWFTCIJOROUOGCQKVLHGQQABFPBXTL9RKUSHOLONFXTDWAHMDDJRG",
     "AQCCGSLKWZSVNSKOWYFJTGLU", "4563eb18c965ed831986497149d5e020351a61e5856e8ef63962dfbec74c6bc4",
     "9cf4560da58b3559670d6aed919c27c56c4be1543a50f0141d0d3a4ed40365c3", 4498},
    {PG_MAM_PRIVATE, 1, NULL,
     "EHJLCQRXFPRFU9XRIUFIVPMDAJJMELWTAKVGICCPFPHMWIOQZLLHZIHYUGDVO9MCOQB9W9QVWWOUVFKCL",
     "QXWXQMVFHCYCQUKTBZMXURNO9XEEVXELLNWZDENPEBR9CMVQAJNSLITVDLQXVCVBNJTSTXPLMYJQRDVBG",
     "AQCCWQHOEPFBKUQKWVXFVSBF", "e995b4051c410c1d89836a53dd083b30ddce813cc333fe8e0d0e12272455d236",
     "753fc6fe7f18ed53e0c8cd1a5a998bffda5fbcdf42cbbf04abbaaa2356d76386", 2311},
    {PG_MAM_RESTRICTED, 2, "MYKEY",
     "POKRBFTSZPVUNXQAUMLXTVQOTIUBDWFTCIJOROUOGCQKVLHGQQABFPBXTL9RKUSHOLONFXTDWAHMDDJRG",
     "RZTBC9CAUJGWMI9HXQPMKAESQYTEVQLBIMXGNWNZSMYLCXLBA9FDFJVVCKZTZD9PV9LGMAKBONWRXKJEN",
     "AQCCC9OUGGRQJZQMWPHJAADU", "c95c5b1093f5dec487346104bf879cb42305daafe54658fd9709c6f092044a6c",
     "55530eb0b53d0b47ef45e49c927cf97595c40e8e15584ad72beae78aae367b8d", 4498},
};

static const char *NEXT_SEC2 =
    "ZRBYGMGPEUBFOUMKULUBNCSQQNRH9JOMV9QJEZTAA99HCXLDHFTFOR9UYRKXSEYDRWPSDZQHJIFODHXRS";
static const char *NEXT_SEC1 =
    "SCICORBMDKDDPOAUKLJ9WNKGVEVHC9M9ILMNZGVRSURLGGLFBQUNTXXKZP9KDJQD9LWSXUZHAARSWHELU";

static void make_channel(pg_mam_channel *ch, pg_mam_mode mode, int sec, const char *key) {
  pg_diag d = {{0}};
  int rc = pg_mam_channel_create(ch, SEED_A, mode, key, key ? strlen(key) : 0, sec, &d);
  if (rc) fail_msg("create channel: %s", d.msg);
}

static void test_literal_vectors(void **state) {
  (void)state;
  for (size_t v = 0; v < sizeof VECS / sizeof VECS[0]; v++) {
    const vec *x = &VECS[v];
    pg_mam_channel ch;
    make_channel(&ch, x->mode, x->security, x->key);
    char root[82];
    assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
    assert_string_equal(root, x->root);

    pg_mam_message m = {0};
    pg_diag d = {{0}};
    int rc = pg_mam_create_message(&ch, "HELLOWORLD", 10, &m, &d);
    if (rc) fail_msg("create: %s", d.msg);
    assert_string_equal(m.root, x->root);
    assert_string_equal(m.address, x->address);
    assert_int_equal(m.payload_len, x->payload_len);
    assert_int_equal(strlen(m.payload), x->payload_len);
    assert_memory_equal(m.payload, x->prefix, strlen(x->prefix));
    char hx[65];
    hash_hex(m.payload, m.payload_len, hx);
    assert_string_equal(hx, x->payload_hash);
    assert_string_equal(m.next_root, x->security == 2 ? NEXT_SEC2 : NEXT_SEC1);
    /* state after message 1 */
    assert_int_equal(ch.start, 1);
    assert_int_equal(ch.count, 1);
    assert_int_equal(ch.next_count, 1);
    assert_int_equal(ch.index, 0);
    assert_true(ch.has_next_root);
    assert_string_equal(ch.next_root, m.next_root);
    /* the next root is the root of message 2 */
    assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
    assert_string_equal(root, m.next_root);
    /* attach index */
    uint8_t idx[32];
    pg_mam_attach_index(m.address, idx);
    expect_hex(idx, 32, x->index_hex);
    char addr[82];
    assert_int_equal(pg_mam_address(m.root, x->mode, addr), PG_OK);
    assert_string_equal(addr, x->address);

    /* parse back, with the key padded and unpadded */
    pg_mam_parsed p = {0};
    rc = pg_mam_parse_message(m.payload, m.payload_len, m.root, x->key, x->key ? strlen(x->key) : 0,
                              &p, &d);
    if (rc) fail_msg("parse: %s", d.msg);
    assert_int_equal(p.message_len, 10);
    assert_string_equal(p.message, "HELLOWORLD");
    assert_string_equal(p.next_root, m.next_root);
    assert_int_equal(p.security, x->security);
    assert_int_equal(p.index, 0);
    pg_mam_parsed_free(&p);
    if (x->key) {
      rc = pg_mam_parse_message(m.payload, m.payload_len, m.root, ch.side_key, 81, &p, &d);
      assert_int_equal(rc, PG_OK);
      pg_mam_parsed_free(&p);
    }

    /* attach data, public/2 without a tag */
    if (v == 0) {
      pg_buf b;
      pg_buf_init(&b, 1 << 20);
      assert_int_equal(pg_mam_attach_data(m.payload, m.payload_len, NULL, 0, &b), PG_OK);
      assert_int_equal(b.len, 2813);
      hash_hex(b.data, b.len, hx);
      assert_string_equal(hx, "94b4a7b87e0ffeb7339e5e2ecc3fd74b2f1a9bff1cbeef83df8922809a5c7ce4");
      char *pl = NULL, tag[28];
      size_t pll = 0;
      assert_int_equal(pg_mam_attach_decode(b.data, b.len, &pl, &pll, tag, &d), PG_OK);
      assert_int_equal(pll, m.payload_len);
      assert_memory_equal(pl, m.payload, pll);
      assert_string_equal(tag, "");
      free(pl);
      /* with a tag */
      pg_buf_reset(&b);
      assert_int_equal(pg_mam_attach_data(m.payload, m.payload_len, "TAG", 3, &b), PG_OK);
      assert_int_equal(b.data[0], 2);
      assert_int_equal(b.data[1], 0xa0);
      assert_int_equal(b.data[2], 0x4f);
      assert_int_equal(pg_mam_attach_decode(b.data, b.len, &pl, &pll, tag, &d), PG_OK);
      assert_string_equal(tag, "TAG");
      assert_int_equal(pll, m.payload_len);
      free(pl);
      /* too short */
      assert_int_equal(pg_mam_attach_decode(b.data, 100, &pl, &pll, tag, &d), PG_ERR_INVALID);
      /* trytes that are not (checked as they are packed): refused, the
       * buffer as it was */
      size_t had = b.len;
      char *bad = malloc(m.payload_len);
      assert_non_null(bad);
      memcpy(bad, m.payload, m.payload_len);
      bad[m.payload_len - 1] = 'a';
      assert_int_equal(pg_mam_attach_data(bad, m.payload_len, NULL, 0, &b), PG_ERR_INVALID);
      assert_int_equal(b.len, had);
      assert_int_equal(pg_mam_attach_data(m.payload, m.payload_len, "TAg", 3, &b), PG_ERR_INVALID);
      assert_int_equal(b.len, had);
      free(bad);
      pg_buf_free(&b);
    }
    pg_mam_message_free(&m);
    pg_mam_message_free(&m); /* idempotent */
    pg_mam_channel_wipe(&ch);
  }
}

static void test_tamper(void **state) {
  (void)state;
  pg_mam_channel ch;
  make_channel(&ch, PG_MAM_RESTRICTED, 1, "MYKEY");
  pg_mam_message m = {0};
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_create_message(&ch, "HELLOWORLD", 10, &m, &d), PG_OK);
  pg_mam_parsed p = {0};
  char *t = malloc(m.payload_len + 1);
  assert_non_null(t);
  /* a flipped tryte anywhere must fail (the last one may be padding-only: skip) */
  size_t positions[] = {0, 1, 2, 3, 4, 10, 30, 60, 100, 500, 1000, 2000, m.payload_len - 3};
  for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
    memcpy(t, m.payload, m.payload_len + 1);
    size_t at = positions[i];
    t[at] = t[at] == 'A' ? 'B' : 'A';
    int rc = pg_mam_parse_message(t, m.payload_len, m.root, "MYKEY", 5, &p, &d);
    if (rc == PG_OK) fail_msg("flipped tryte %zu accepted", at);
    assert_true(d.msg[0] != '\0');
  }
  /* wrong side key -> the hmac check or the signature fails */
  int rc = pg_mam_parse_message(m.payload, m.payload_len, m.root, "MYKEZ", 5, &p, &d);
  assert_int_equal(rc, PG_ERR_CRYPTO);
  rc = pg_mam_parse_message(m.payload, m.payload_len, m.root, NULL, 0, &p, &d);
  assert_int_equal(rc, PG_ERR_CRYPTO);
  /* wrong root */
  rc = pg_mam_parse_message(m.payload, m.payload_len, m.next_root, "MYKEY", 5, &p, &d);
  assert_int_equal(rc, PG_ERR_CRYPTO);
  /* bad inputs */
  assert_int_equal(pg_mam_parse_message(m.payload, m.payload_len, "ABC", "MYKEY", 5, &p, &d),
                   PG_ERR_INVALID);
  memcpy(t, m.payload, m.payload_len + 1);
  t[50] = 'a';
  assert_int_equal(pg_mam_parse_message(t, m.payload_len, m.root, "MYKEY", 5, &p, &d),
                   PG_ERR_INVALID);
  /* every truncation fails cleanly */
  for (size_t n = 0; n < m.payload_len; n += (n < 300 ? 1 : 97)) {
    rc = pg_mam_parse_message(m.payload, n, m.root, "MYKEY", 5, &p, &d);
    if (rc == PG_OK) fail_msg("truncated to %zu accepted", n);
  }
  /* the payload parses with trailing trytes (mam.js ignores them) */
  rc = pg_mam_parse_message(m.payload, m.payload_len, m.root, "MYKEY", 5, &p, &d);
  assert_int_equal(rc, PG_OK);
  pg_mam_parsed_free(&p);
  free(t);
  pg_mam_message_free(&m);
}

static void test_pascal(void **state) {
  (void)state;
  pg_trit t[64];
  static const pg_trit thirty[8] = {0, -1, 0, 1, 0, 0, 1, 0};
  assert_int_equal(mam_pascal_encode(30, t), 8);
  assert_memory_equal(t, thirty, 8);
  assert_int_equal(mam_pascal_encode(0, t), 4);
  static const uint64_t vals[] = {0, 1, 2, 4, 5, 12, 13, 14, 26, 27, 30, 40, 121, 364, 365, 1000,
                                  9841, 9842, 19683, 265720, 1u << 20, 3u << 20, 123456789};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    size_t n = mam_pascal_encode(vals[i], t);
    assert_int_equal(n, mam_pascal_len(vals[i]));
    uint64_t v = 99;
    size_t used = 0;
    assert_int_equal(mam_pascal_decode(t, n, &v, &used), PG_OK);
    assert_int_equal(v, vals[i]);
    assert_int_equal(used, n);
    assert_int_equal(mam_pascal_decode(t, n - 1, &v, &used), PG_ERR_TRUNCATED);
  }
  /* all-zero trits never end */
  memset(t, 0, sizeof t);
  uint64_t v;
  size_t used;
  assert_true(mam_pascal_decode(t, sizeof t, &v, &used) < 0);
  /* the message header 'AQCC' of 10.4 */
  pg_trit h[12];
  assert_int_equal(mam_trytes_to_trits("AQCC", 4, h), PG_OK);
  assert_int_equal(mam_pascal_decode(h, 12, &v, &used), PG_OK);
  assert_int_equal(v, 0);
  assert_int_equal(mam_pascal_decode(h + 4, 8, &v, &used), PG_OK);
  assert_int_equal(v, 30);
}

static void test_pack(void **state) {
  (void)state;
  uint8_t b[16];
  assert_int_equal(pg_mam_pack_len(3), 2);
  assert_int_equal(pg_mam_pack_trytes("A9Z", 3, b), PG_OK);
  expect_hex(b, 2, "0835");
  assert_int_equal(pg_mam_pack_trytes("ABCDEFGH", 8, b), PG_OK);
  expect_hex(b, 5, "08864298e8");
  assert_int_equal(pg_mam_pack_trytes("TAG", 3, b), PG_OK);
  expect_hex(b, 2, "a04f");
  assert_int_equal(pg_mam_pack_trytes("Ab", 2, b), PG_ERR_INVALID);
  char s[64];
  size_t n;
  static const uint8_t skip[] = {0xff, 0x08, 0x35};
  pg_mam_unpack_trytes(skip, 3, s, &n); /* groups 31, 28 skipped as in mam.js */
  assert_int_equal(n, 2);
  assert_memory_equal(s, "DC", 2);
  const char *all = "9ABCDEFGHIJKLMNOPQRSTUVWXYZZYXWVUTSRQPONMLKJIHGFEDCBA9";
  for (size_t len = 0; len <= strlen(all); len++) {
    uint8_t pb[64];
    assert_int_equal(pg_mam_pack_trytes(all, len, pb), PG_OK);
    size_t pl = pg_mam_pack_len(len);
    assert_true(pg_mam_unpack_cap(pl) <= sizeof s);
    pg_mam_unpack_trytes(pb, pl, s, &n);
    assert_int_equal(n, len);
    assert_memory_equal(s, all, len);
  }
}

static void text_roundtrip(const char *text, const char *want_trytes) {
  char *t = NULL, *back = NULL;
  size_t n = 0, bn = 0;
  assert_int_equal(pg_mam_text_to_trytes(text, strlen(text), &t, &n), PG_OK);
  assert_int_equal(strlen(t), n);
  if (want_trytes) assert_string_equal(t, want_trytes);
  assert_int_equal(pg_mam_trytes_to_text(t, n, &back, &bn), PG_OK);
  assert_int_equal(bn, strlen(text));
  assert_memory_equal(back, text, bn);
  free(t);
  free(back);
}

static void test_text(void **state) {
  (void)state;
  text_roundtrip("Hi{}", "RBXCODQD");
  text_roundtrip("{\"a\":1}", "ODGAPCGADBVAQD");
  text_roundtrip("", "");
  text_roundtrip("h\xc3\xa9llo \xf0\x9f\x98\x80 \x7f end", NULL);
  char *t = NULL;
  size_t n;
  /* invalid UTF-8 */
  assert_int_equal(pg_mam_text_to_trytes("\xc3", 1, &t, &n), PG_ERR_INVALID);
  assert_int_equal(pg_mam_text_to_trytes("\xed\xa0\x80", 3, &t, &n), PG_ERR_INVALID);
  assert_int_equal(pg_mam_text_to_trytes("\xc0\x80", 2, &t, &n), PG_ERR_INVALID);
  /* escapes: é -> \u00e9 */
  assert_int_equal(pg_mam_text_to_trytes("\xc3\xa9", 2, &t, &n), PG_OK);
  assert_int_equal(n, 12);
  free(t);
  /* decoding: trailing 9s, odd length, \u with no hex digits -> NUL */
  assert_int_equal(pg_mam_trytes_to_text("RBXC9999", 8, &t, &n), PG_OK);
  assert_int_equal(n, 2);
  assert_memory_equal(t, "Hi", 2);
  free(t);
  assert_int_equal(pg_mam_trytes_to_text("RBX", 3, &t, &n), PG_OK); /* "RBX9" */
  assert_int_equal(n, 2);
  assert_memory_equal(t, "H\x18", 2);
  free(t);
  char *esc = NULL, *back = NULL;
  size_t en, bn;
  assert_int_equal(pg_mam_text_to_trytes("a\\u00zzb\\u0x41c", 15, &esc, &en), PG_OK);
  assert_int_equal(pg_mam_trytes_to_text(esc, en, &back, &bn), PG_OK);
  assert_int_equal(bn, 5);
  assert_memory_equal(back, "a\0b\x41" "c", 5);
  free(esc);
  free(back);
  assert_int_equal(pg_mam_trytes_to_text("ab", 2, &t, &n), PG_ERR_INVALID);
}

static void test_channel_state(void **state) {
  (void)state;
  pg_mam_channel ch;
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_channel_create(&ch, SEED_A, PG_MAM_RESTRICTED, NULL, 0, 2, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_mam_channel_create(&ch, SEED_A, PG_MAM_PUBLIC, "KEY", 3, 2, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_mam_channel_create(&ch, SEED_A, PG_MAM_PUBLIC, NULL, 0, 0, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_mam_channel_create(&ch, SEED_A, PG_MAM_PUBLIC, NULL, 0, 4, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_mam_channel_create(&ch, "ABC", PG_MAM_PUBLIC, NULL, 0, 1, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_mam_channel_create(&ch, SEED_A, PG_MAM_RESTRICTED, "my", 2, 1, &d),
                   PG_ERR_INVALID);
  char longkey[83];
  memset(longkey, 'K', 82);
  longkey[82] = 0;
  assert_int_equal(pg_mam_channel_create(&ch, SEED_A, PG_MAM_RESTRICTED, longkey, 82, 1, &d),
                   PG_ERR_INVALID);
  make_channel(&ch, PG_MAM_RESTRICTED, 2, "MYKEY");
  assert_memory_equal(ch.side_key, "MYKEY9999", 9);
  assert_int_equal(strlen(ch.side_key), 81);

  pg_buf b;
  pg_buf_init(&b, 4096);
  assert_int_equal(pg_mam_channel_save(&ch, &b), PG_OK);
  pg_mam_channel back;
  assert_int_equal(pg_mam_channel_load(&back, b.data, b.len, &d), PG_OK);
  assert_memory_equal(&back, &ch, sizeof ch);

  /* after a message the state carries nextRoot */
  pg_mam_message m = {0};
  assert_int_equal(pg_mam_create_message(&ch, "A", 1, &m, &d), PG_OK);
  pg_mam_message_free(&m);
  pg_buf_reset(&b);
  assert_int_equal(pg_mam_channel_save(&ch, &b), PG_OK);
  assert_int_equal(pg_mam_channel_load(&back, b.data, b.len, &d), PG_OK);
  assert_memory_equal(&back, &ch, sizeof ch);
  assert_non_null(memmem(b.data, b.len, "\"nextRoot\"", 10));
  pg_buf_free(&b);

  static const char *bad[] = {
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"security\":1,\"start\":0,\"count\":3,"
      "\"nextCount\":1,\"index\":0}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"security\":1,\"start\":0,\"count\":2,"
      "\"nextCount\":2,\"index\":2}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"security\":1,\"start\":0,\"count\":1,"
      "\"nextCount\":1,\"index\":0,\"extra\":1}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"sideKey\":\"ABC\",\"security\":1,"
      "\"start\":0,\"count\":1,\"nextCount\":1,\"index\":0}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"restricted\",\"security\":1,"
      "\"start\":0,\"count\":1,\"nextCount\":1,\"index\":0}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"security\":1,\"start\":-1,\"count\":1,"
      "\"nextCount\":1,\"index\":0}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"security\":1,\"start\":0,\"count\":1,"
      "\"nextCount\":1,\"index\":0,\"nextRoot\":\"ABC\"}",
      "{\"seed\":\"abc\",\"mode\":\"public\",\"security\":1,\"start\":0,\"count\":1,"
      "\"nextCount\":1,\"index\":0}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"secret\",\"security\":1,\"start\":0,\"count\":1,"
      "\"nextCount\":1,\"index\":0}",
      "{\"seed\":\"" SEED_A "\",\"mode\":\"public\",\"security\":4,\"start\":0,\"count\":1,"
      "\"nextCount\":1,\"index\":0}",
      "[]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d.msg[0] = 0;
    int rc = pg_mam_channel_load(&back, bad[i], strlen(bad[i]), &d);
    if (rc == PG_OK) fail_msg("bad state %zu accepted", i);
    assert_true(d.msg[0] != 0);
  }
  /* non-power-of-two counts are refused (mam.js sibling bug) */
  ch.count = 3;
  assert_int_equal(pg_mam_channel_validate(&ch, &d), PG_ERR_UNSUPPORTED);
  assert_int_equal(pg_mam_create_message(&ch, "A", 1, &m, &d), PG_ERR_UNSUPPORTED);
}

/* count 2 and 4: every message parses, the state walks the tree, and the
 * announced nextRoot is the root of the next tree. */
static void test_counts(void **state) {
  (void)state;
  for (uint32_t count = 2; count <= 4; count *= 2) {
    pg_mam_channel ch;
    make_channel(&ch, PG_MAM_PRIVATE, 1, NULL);
    ch.count = ch.next_count = count;
    char tree_root[82] = "", announced[82] = "";
    for (uint32_t k = 0; k < 2 * count + 1; k++) {
      pg_mam_message m = {0};
      pg_diag d = {{0}};
      assert_int_equal(ch.index, k % count);
      assert_int_equal(ch.start, (k / count) * count);
      int rc = pg_mam_create_message(&ch, "MESSAGE", 7, &m, &d);
      if (rc) fail_msg("create: %s", d.msg);
      if (k % count == 0) {
        if (announced[0]) assert_string_equal(m.root, announced);
        memcpy(tree_root, m.root, 82);
        memcpy(announced, m.next_root, 82);
      } else {
        assert_string_equal(m.root, tree_root);
        assert_string_equal(m.next_root, announced);
      }
      pg_mam_parsed p = {0};
      rc = pg_mam_parse_message(m.payload, m.payload_len, m.root, NULL, 0, &p, &d);
      if (rc) fail_msg("parse count %u message %u: %s", count, k, d.msg);
      assert_int_equal(p.index, k % count);
      assert_string_equal(p.message, "MESSAGE");
      /* a sibling-carrying payload with the wrong index bit fails */
      pg_mam_parsed_free(&p);
      pg_mam_message_free(&m);
    }
  }
}

/* pg_mam_channel_check: every state mam.js leaves behind passes (counts 1,
 * 2, 4, also count != nextCount), an edited seed, start or nextRoot fails. */
static void test_channel_check(void **state) {
  (void)state;
  static const uint32_t shapes[][2] = {{1, 1}, {2, 2}, {4, 4}, {2, 1}, {1, 2}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    pg_mam_channel ch;
    pg_diag d = {{0}};
    make_channel(&ch, PG_MAM_PUBLIC, 1, NULL);
    ch.count = shapes[s][0];
    ch.next_count = shapes[s][1];
    assert_int_equal(pg_mam_channel_check(&ch, &d), PG_OK); /* no nextRoot yet */
    for (int k = 0; k < 5; k++) {
      pg_mam_message m = {0};
      assert_int_equal(pg_mam_create_message(&ch, "A", 1, &m, &d), PG_OK);
      pg_mam_message_free(&m);
      if (pg_mam_channel_check(&ch, &d) != PG_OK)
        fail_msg("count %u/%u after %d messages: %s", shapes[s][0], shapes[s][1], k + 1, d.msg);
      pg_mam_channel bad = ch;
      bad.seed[5] = bad.seed[5] == 'B' ? 'C' : 'B';
      assert_int_equal(pg_mam_channel_check(&bad, &d), PG_ERR_STATE);
      assert_non_null(strstr(d.msg, "the seed does not produce the nextRoot"));
      bad = ch;
      bad.start += bad.count;
      assert_int_equal(pg_mam_channel_check(&bad, &d), PG_ERR_STATE);
      bad = ch;
      bad.next_root[0] = bad.next_root[0] == '9' ? 'A' : '9';
      assert_int_equal(pg_mam_channel_check(&bad, &d), PG_ERR_STATE);
    }
  }
  /* a nextRoot on a state that cannot have published yet */
  pg_mam_channel ch;
  pg_diag d = {{0}};
  make_channel(&ch, PG_MAM_PUBLIC, 1, NULL);
  ch.has_next_root = true;
  memcpy(ch.next_root, SEED_A, 81);
  assert_int_equal(pg_mam_channel_check(&ch, &d), PG_ERR_STATE);
}

/* Seeds and side keys: the right length, NUL-terminated, only trytes, and
 * every tryte about equally often (drawn a buffer of bytes at a time, with
 * bytes >= 243 dropped: a biased mapping would put 9..H above the rest).
 * Bounds are 6 sigma of the binomial count: a false failure is ~1e-8. */
static void test_random_trytes(void **state) {
  (void)state;
  char one[2] = {'x', 'x'};
  assert_int_equal(pg_mam_random_trytes(one, 0), PG_OK);
  assert_int_equal(one[0], '\0');
  enum { N = 27 * 40000 };
  char *big = malloc(N + 1);
  assert_non_null(big);
  memset(big, 'x', N + 1);
  assert_int_equal(pg_mam_random_trytes(big, N), PG_OK);
  assert_int_equal(big[N], '\0');
  size_t count[27] = {0};
  static const char alphabet[] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (size_t i = 0; i < N; i++) {
    const char *at = big[i] ? strchr(alphabet, big[i]) : NULL;
    assert_non_null(at);
    count[at - alphabet]++;
  }
  for (int t = 0; t < 27; t++) {
    assert_true(count[t] > 40000 - 6 * 197);
    assert_true(count[t] < 40000 + 6 * 197);
  }
  free(big);
  char a[82], b[82];
  assert_int_equal(pg_mam_random_trytes(a, 81), PG_OK);
  assert_int_equal(pg_mam_random_trytes(b, 81), PG_OK);
  assert_int_equal(strlen(a), 81);
  assert_string_not_equal(a, b);
}

/* pg_mam_address_many equals pg_mam_address item by item: every mode,
 * roots that are not 81 trytes (NULL, short, a bad character), and counts
 * of restricted roots below the wide path's threshold, at it and across
 * 512-lane states (1,100: three of them, the last part full). */
static void test_address_many(void **state) {
  (void)state;
  enum { MAX = 1100 };
  static char roots[MAX][82];
  static pg_mam_address_item items[MAX];
  static const size_t counts[] = {0, 1, 15, 16, 17, 511, 512, 513, MAX};
  for (size_t i = 0; i < MAX; i++) assert_int_equal(pg_mam_random_trytes(roots[i], 81), PG_OK);
  roots[7][80] = '\0';  /* short */
  roots[9][40] = 'a';    /* not a tryte */
  roots[600][0] = '\0'; /* empty */
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    size_t n = counts[c];
    for (size_t i = 0; i < n; i++) {
      pg_mam_mode mode = i % 13 == 5 ? PG_MAM_PUBLIC : i % 13 == 6 ? PG_MAM_PRIVATE
                                                                   : PG_MAM_RESTRICTED;
      items[i] = (pg_mam_address_item){.root = i == 11 ? NULL : roots[i], .mode = mode};
      memset(items[i].address, 'x', sizeof items[i].address);
    }
    pg_mam_address_many(items, n);
    for (size_t i = 0; i < n; i++) {
      char want[82];
      int rc = pg_mam_address(items[i].root, items[i].mode, want);
      if (items[i].rc != rc) fail_msg("%zu of %zu: rc %d, one by one %d", i, n, items[i].rc, rc);
      if (rc == PG_OK && strcmp(items[i].address, want) != 0)
        fail_msg("%zu of %zu: %s, one by one %s", i, n, items[i].address, want);
    }
    if (n > 11) {
      assert_int_not_equal(items[7].rc, PG_OK);
      assert_int_not_equal(items[9].rc, PG_OK);
      assert_int_not_equal(items[11].rc, PG_OK);
    }
  }
}

int main(void) {
  if (pg_crypto_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pascal),         cmocka_unit_test(test_pack),
      cmocka_unit_test(test_text),           cmocka_unit_test(test_literal_vectors),
      cmocka_unit_test(test_tamper),         cmocka_unit_test(test_channel_state),
      cmocka_unit_test(test_counts),         cmocka_unit_test(test_channel_check),
      cmocka_unit_test(test_random_trytes),  cmocka_unit_test(test_address_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
