/* Fuzz target: arbitrary bytes -> pg_batch_parse (the body of POST
 * /api/plugins/data/batch). A body that parses holds 1..256 items, item 1
 * does not follow, every view lies inside the input, and encoding the items
 * again gives the very same bytes; a body that does not parse gives no items
 * and a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/tangle/batch.h"
#include "p2pgrid/tangle/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "fuzz_tangle_batch: check failed: %s (line %d)\n", #c, __LINE__);            \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size) {
  return n == 0 || (p >= data && p + n <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static pg_batch_item items[PG_BATCH_MAX_ITEMS];
  size_t n = 99;
  pg_diag d = {{0}};
  if (pg_batch_parse(data, size, items, &n, &d) != PG_OK) {
    CHECK(n == 0 && d.msg[0]);
    return 0;
  }
  CHECK(n >= 1 && n <= PG_BATCH_MAX_ITEMS && !items[0].follows);
  for (size_t i = 0; i < n; i++) {
    CHECK(items[i].index_len >= 1 && items[i].index_len <= PG_INDEX_MAX_LEN);
    CHECK(items[i].data_len <= PG_MSG_MAX_LEN);
    CHECK(inside(items[i].index, items[i].index_len, data, size));
    CHECK(inside(items[i].data, items[i].data_len, data, size));
  }
  pg_buf b;
  pg_buf_init(&b, size + 1);
  CHECK(pg_batch_encode(&b, items, n, &d) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  pg_buf_free(&b);
  return 0;
}
