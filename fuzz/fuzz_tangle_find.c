/* Fuzz target: arbitrary bytes -> pg_find_req_parse and pg_find_ans_parse
 * (the request and answer bodies of POST /api/plugins/data/find).
 * A request that parses has 1..256 keys of 1..64 bytes viewing the input, a
 * budget of at least PG_FIND_BUDGET_MIN and max 1..PG_FIND_MAX_IDS, and
 * encodes again to the very same bytes. An answer that parses (to 256 keys of
 * PG_FIND_MAX_IDS ids) has 1..256 items whose messages, walked with
 * pg_find_item_next, number exactly `listed`, view the input, are at most
 * PG_MSG_MAX_LEN bytes, are "not sent" only in item 1, and are written again
 * by the pg_find_ans_* writer to the very same bytes. What does not parse
 * gives no keys or items and a message. */
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
static void walk_item(pg_find_item *it, size_t i, const uint8_t *data, size_t size, pg_buf *b) {
  pg_find_msg m;
  size_t k = 0;
  pg_find_ans_item(b, it->total, (unsigned)it->listed);
  while (pg_find_item_next(it, &m) == PG_OK) {
    k++;
    CHECK(m.id && inside(m.id, PG_ID_LEN, data, size));
    CHECK(m.raw_len <= PG_MSG_MAX_LEN);
    CHECK(inside(m.raw, m.raw_len, data, size));
    CHECK((m.raw == NULL) == (m.raw_len == 0));
    CHECK(m.raw_len > 0 || i == 0);
    pg_find_ans_msg(b, m.id, m.raw, m.raw_len);
  }
  CHECK(k == it->listed);
  CHECK(pg_find_item_next(it, &m) == PG_ERR_NOT_FOUND);
}

static void fuzz_ans(const uint8_t *data, size_t size) {
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 99;
  pg_diag d = {{0}};
  if (pg_find_ans_parse(data, size, PG_FIND_MAX_KEYS, PG_FIND_MAX_IDS, items, &n, &d) != PG_OK) {
    CHECK(n == 0 && d.msg[0]);
    return;
  }
  CHECK(n >= 1 && n <= PG_FIND_MAX_KEYS);
  pg_buf b;
  pg_buf_init(&b, size + 1);
  pg_find_ans_begin(&b);
  for (size_t i = 0; i < n; i++) {
    CHECK(items[i].listed <= PG_FIND_MAX_IDS && items[i].listed <= items[i].total);
    CHECK(inside(items[i].msgs.p, items[i].msgs.len, data, size));
    walk_item(&items[i], i, data, size, &b);
  }
  CHECK(pg_find_ans_end(&b, 0, n) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  pg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_req(data, size);
  fuzz_ans(data, size);
  return 0;
}
