/* Fuzz target: MAM parsing never crashes, whatever the input.
 *
 * Byte 0 selects the path, the rest is the input:
 *   sel % 4 == 0: input as payload trytes (bytes outside [9A-Z] are mapped
 *                 into the alphabet), roots of public/2 seed A*81 (10.12)
 *                 with trees of count 1, 4 and 8;
 *   sel % 4 == 1: same, restricted with side key MYKEY (count-1 root);
 *   sel % 4 == 2: input as attach data -> decode -> parse (public/2 roots of
 *                 count 1 and 4), and the complete reader (pg_mam_read) over
 *                 a fake node listing the input twice and an unreadable id
 *                 under the count-4 root: leaf peeking, duplicates, cursors;
 *   sel % 4 == 3: payload trytes, root of private/1 seed A*81.
 * Every input also goes through unpack, text <-> trytes, and the channel
 * state loader. Seeds in corpus/fuzz_mam_parse/ start with '0'..'3' (the
 * count4/count8 ones are leaves of trees of 4 and 8 messages, by mam.js). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/crypto/ternary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ROOT_PUB2[] =
    "POKRBFTSZPVUNXQAUMLXTVQOTIUBDWFTCIJOROUOGCQKVLHGQQABFPBXTL9RKUSHOLONFXTDWAHMDDJRG";
static const char ROOT_PRIV1[] =
    "EHJLCQRXFPRFU9XRIUFIVPMDAJJMELWTAKVGICCPFPHMWIOQZLLHZIHYUGDVO9MCOQB9W9QVWWOUVFKCL";

/* public/2 seed A*81, trees of 4 and 8 leaves (start 0), as mam.js computes them */
static const char ROOT_PUB2_C4[] =
    "SFWIDARJCYMELWTMU9JSNLNWCCZXNYBUSUNPEBTCAAQIJMICTTYBYVIXHATIMCXHVNBCKFYUQWTZRTWWI";
static const char ROOT_PUB2_C8[] =
    "MUFEJ9ZGPWTDLUVSEIDASAT9DDATGWUENX9DHAMBRVVBCXMPBSBPEVCEQOLGV9PTTE9BXKRMC9LTWE9PE";

static void must(int cond) {
  if (!cond) abort();
}

/* siblings: the tree size the root implies (2^siblings leaves), or -1 */
static void parse(const char *t, size_t n, const char *root, const char *key, int siblings) {
  pg_mam_parsed p = {0};
  pg_diag d = {{0}};
  int rc = pg_mam_parse_message(t, n, root, key, key ? strlen(key) : 0, &p, &d);
  if (rc == PG_OK) {
    must(p.message != NULL && strlen(p.message) == p.message_len);
    must(pg_trytes_valid(p.message, p.message_len) && strlen(p.next_root) == 81);
    must(p.security >= 1 && p.security <= 3);
    must(p.siblings <= 3 * n / 243);
    if (siblings >= 0) must(p.siblings == (uint32_t)siblings && p.index < (1u << siblings));
  } else {
    must(rc < 0 && d.msg[0] != '\0' && p.message == NULL);
  }
  pg_mam_parsed_free(&p);
}

/* ---- a node holding the input twice (and an unreadable id) under any index ---- */

typedef struct fake {
  pg_client base;
  json_t *msg;
} fake;

static int f_find(pg_client *c, const uint8_t *index, size_t index_len,
                  uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                  pg_diag *d) {
  (void)c, (void)index, (void)index_len, (void)d;
  size_t k = 0;
  for (uint8_t i = 3; i >= 1 && k < max; i--, k++) { /* newest first: order must not matter */
    memset(ids[k], 0, PG_ID_LEN);
    ids[k][0] = i;
  }
  *count = k;
  *total = 3;
  return PG_OK;
}

static int f_get(pg_client *c, const uint8_t id[PG_ID_LEN], json_t **out, pg_diag *d) {
  fake *f = (fake *)c;
  if (id[0] == 2) return pg_fail(d, PG_ERR_NOT_FOUND, "gone");
  *out = json_incref(f->msg);
  return PG_OK;
}

static void f_destroy(pg_client *c) { (void)c; }

static const pg_client_ops FAKE_OPS = {
    .kind = "fuzz", .find_index = f_find, .get_json = f_get, .destroy = f_destroy};

/* The complete reader over the input as attach data, at leaves 0 and 2 of
 * the count-4 tree: whatever it finds is one message (the same copy twice)
 * of the cursor's leaf, counted once. */
static void read_tree(const uint8_t *in, size_t n) {
  char *hx = pg_hex_dup(in, n);
  fake f = {.base = {.ops = &FAKE_OPS}};
  f.msg = hx ? json_pack("{s:{s:i,s:s,s:s}}", "payload", "type", 2, "index", "00", "data", hx)
             : NULL;
  free(hx);
  if (!f.msg) return;
  for (uint32_t leaf = 0; leaf <= 2; leaf += 2) {
    pg_mam_cursor at, next;
    must(pg_mam_cursor_init(&at, ROOT_PUB2_C4) == PG_OK);
    at.leaf = leaf;
    pg_mam_fetched *out = NULL;
    size_t k = 0;
    pg_mam_read_info info;
    pg_diag d = {{0}};
    must(pg_mam_read(&f.base, &at, PG_MAM_PUBLIC, NULL, 0, 0, &out, &k, &next, &info, &d) ==
         PG_OK);
    must(k <= 1 && info.listed == 3 && info.unreadable >= 1);
    must(info.unreadable + info.earlier + info.unverified + info.duplicates + info.conflicts +
             info.later + k ==
         3);
    if (k == 1) {
      must(out[0].leaf == leaf && out[0].count == 4 && out[0].n_other_ids == 1);
      must(out[0].message_id[0] == 1 && out[0].other_ids[0][0] == 3);
      must(info.duplicates == 1 && info.stop == PG_MAM_STOP_MISSING && next.leaf == leaf + 1);
    } else {
      must(memcmp(&next, &at, sizeof at) == 0);
    }
    pg_mam_fetched_free_all(out, k);
  }
  json_decref(f.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  unsigned sel = data[0] % 4;
  const uint8_t *in = data + 1;
  size_t n = size - 1;

  char *t = malloc(n + 1);
  if (!t) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = (char)in[i];
    t[i] = pg_tryte_value(c) >= -13 ? c : PG_TRYTE_ALPHABET[in[i] % 27];
  }
  t[n] = '\0';

  if (sel == 2) {
    char *pl = NULL, tag[PG_MAM_MAX_TAG + 1];
    size_t pll = 0;
    pg_diag d = {{0}};
    if (pg_mam_attach_decode(in, n, &pl, &pll, tag, &d) == PG_OK) {
      must(strlen(tag) <= PG_MAM_MAX_TAG && pg_trytes_valid(pl, pll));
      parse(pl, pll, ROOT_PUB2, NULL, 0);
      parse(pl, pll, ROOT_PUB2_C4, NULL, 2);
      free(pl);
    }
    if (n <= (1u << 16)) read_tree(in, n);
  } else {
    parse(t, n, sel == 3 ? ROOT_PRIV1 : ROOT_PUB2, sel == 1 ? "MYKEY" : NULL, 0);
    if (sel == 0) {
      parse(t, n, ROOT_PUB2_C4, NULL, 2);
      parse(t, n, ROOT_PUB2_C8, NULL, 3);
    }
  }

  /* pack / unpack round trip on the mapped trytes (bounded size) */
  size_t m = n < 4096 ? n : 4096;
  uint8_t *pk = malloc(pg_mam_pack_len(m) + 1);
  char *up = malloc(pg_mam_unpack_cap(m) + 1); /* >= cap(pack_len(m)) */
  if (pk && up) {
    size_t un = 0;
    must(pg_mam_pack_trytes(t, m, pk) == PG_OK);
    pg_mam_unpack_trytes(pk, pg_mam_pack_len(m), up, &un);
    must(un == m && memcmp(up, t, m) == 0);
    pg_mam_unpack_trytes(in, m, up, &un); /* raw bytes */
    must(un <= pg_mam_unpack_cap(m));
  }
  free(pk);
  free(up);

  /* text conversions */
  char *o = NULL;
  size_t on = 0;
  if (pg_mam_trytes_to_text(t, n, &o, &on) == PG_OK) free(o);
  if (pg_mam_text_to_trytes((const char *)in, n, &o, &on) == PG_OK) {
    char *back = NULL;
    size_t bn = 0;
    must(pg_mam_trytes_to_text(o, on, &back, &bn) == PG_OK);
    free(back);
    free(o);
  }

  /* channel state loader */
  pg_mam_channel ch;
  pg_diag d = {{0}};
  if (pg_mam_channel_load(&ch, in, n, &d) == PG_OK) must(pg_mam_channel_validate(&ch, NULL) == PG_OK);

  free(t);
  return 0;
}
