/* Fuzz target: arbitrary bytes -> pg_find_req_parse and pg_find_ans_parse
 * (the request and answer bodies of POST /api/plugins/data/find).
 * A request that parses has 1..256 keys of 1..64 bytes viewing the input, a
 * budget of at least PG_FIND_BUDGET_MIN, max 1..PG_FIND_MAX_IDS and no flag
 * but meta, and encodes again (meta included) to the very same bytes.
 * The answer is parsed twice, as the answer to a request without meta and to
 * one with it (to 256 keys of PG_FIND_MAX_IDS ids); its flags byte lets at
 * most one of them succeed. An answer that parses has 1..256 items whose
 * messages, walked with pg_find_item_next, number exactly `listed`, view the
 * input, take exactly the item's bytes, are at most PG_MSG_MAX_LEN bytes, are
 * "not sent" only in item 1, have zero metadata without meta and with it an
 * inclusion of 0..3 that, like the conflict reason, is 0 while not
 * referenced, and are written again by the pg_find_ans_* writer with the same
 * meta to the very same bytes. What does not parse gives no keys or items
 * and a message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "fuzz_tangle_find: check failed: %s (line %d)\n", #c, __LINE__);             \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size) {
  return n == 0 || (p && p >= data && p + n <= data + size);
}

static void fuzz_req(const uint8_t *data, size_t size) {
  static pg_find_req r;
  r.count = 99;
  pg_diag d = {{0}};
  if (pg_find_req_parse(data, size, &r, &d) != PG_OK) {
    CHECK(r.count == 0 && d.msg[0]);
    return;
  }
  CHECK(size >= PG_FIND_REQ_HEAD_LEN);
  CHECK((data[1] & ~PG_FIND_FLAG_META) == 0);
  CHECK(r.meta == ((data[1] & PG_FIND_FLAG_META) != 0));
  CHECK(r.count >= 1 && r.count <= PG_FIND_MAX_KEYS);
  CHECK(r.budget >= PG_FIND_BUDGET_MIN);
  CHECK(r.max >= 1 && r.max <= PG_FIND_MAX_IDS);
  for (size_t i = 0; i < r.count; i++) {
    CHECK(r.keys[i].index_len >= 1 && r.keys[i].index_len <= PG_INDEX_MAX_LEN);
    CHECK(r.keys[i].index && inside(r.keys[i].index, r.keys[i].index_len, data, size));
  }
  pg_buf b;
  pg_buf_init(&b, size + 1);
  CHECK(pg_find_req_encode(&b, &r, &d) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  pg_buf_free(&b);
}

/* Walks item i's messages, writing each again into b. */
static void walk_item(pg_find_item *it, size_t i, bool meta, const uint8_t *data, size_t size,
                      pg_buf *b) {
  pg_find_msg m;
  size_t k = 0, bytes = 0;
  CHECK(it->meta == meta);
  pg_find_ans_item(b, it->total, (unsigned)it->listed);
  while (pg_find_item_next(it, &m) == PG_OK) {
    k++;
    CHECK(m.id && inside(m.id, PG_ID_LEN, data, size));
    CHECK(m.raw_len <= PG_MSG_MAX_LEN);
    CHECK(inside(m.raw, m.raw_len, data, size));
    CHECK((m.raw == NULL) == (m.raw_len == 0));
    CHECK(m.raw_len > 0 || i == 0);
    if (meta) {
      CHECK(m.meta.inclusion <= 3);
      CHECK(m.meta.referenced_by != 0 || (m.meta.inclusion == 0 && m.meta.conflict_reason == 0));
    } else {
      CHECK(m.meta.referenced_by == 0 && m.meta.inclusion == 0 && m.meta.conflict_reason == 0);
    }
    bytes += pg_find_msg_len(meta, m.raw_len);
    pg_find_ans_msg(b, m.id, meta ? &m.meta : NULL, m.raw, m.raw_len);
  }
  CHECK(k == it->listed);
  CHECK(bytes == it->msgs.len);
  CHECK(pg_find_item_next(it, &m) == PG_ERR_NOT_FOUND);
}

/* 1 when the answer parses to a request with `meta`. */
static int fuzz_ans(const uint8_t *data, size_t size, bool meta) {
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 99;
  pg_diag d = {{0}};
  if (pg_find_ans_parse(data, size, PG_FIND_MAX_KEYS, PG_FIND_MAX_IDS, meta, items, &n, &d) !=
      PG_OK) {
    CHECK(n == 0 && d.msg[0]);
    return 0;
  }
  CHECK(n >= 1 && n <= PG_FIND_MAX_KEYS);
  CHECK(size >= PG_FIND_ANS_HEAD_LEN && data[1] == (meta ? PG_FIND_FLAG_META : 0));
  pg_buf b;
  pg_buf_init(&b, size + 1);
  pg_find_ans_begin(&b, meta);
  const uint8_t *next = data + PG_FIND_ANS_HEAD_LEN;
  for (size_t i = 0; i < n; i++) {
    CHECK(items[i].listed <= PG_FIND_MAX_IDS && items[i].listed <= items[i].total);
    CHECK(inside(items[i].msgs.p, items[i].msgs.len, data, size));
    /* the item's messages follow its head, after the previous item */
    CHECK(items[i].msgs.p == next + PG_FIND_ITEM_HEAD_LEN);
    next = items[i].msgs.p + items[i].msgs.len;
    walk_item(&items[i], i, meta, data, size, &b);
  }
  CHECK(next == data + size);
  CHECK(pg_find_ans_end(&b, 0, n) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  pg_buf_free(&b);
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_req(data, size);
  int plain = fuzz_ans(data, size, false);
  int meta = fuzz_ans(data, size, true);
  CHECK(!(plain && meta));
  return 0;
}
