/* p2pgrid/tangle/batch.h — a batch of data messages in one request body.
 *
 * POST /api/plugins/data/batch (docs/PROTOCOL.md) takes up to 256 data
 * (indexation) messages in one binary body, so a member daemon that is not
 * on the node's machine publishes a slot's messages in a few round trips and
 * the node stores each batch in one transaction. The body (all integers
 * little-endian, as in the Chrysalis message codec):
 *
 *   version u8 (= 1) | count u16 (1..256) | count x item
 *   item: flags u8 | indexLength u8 (1..64) | index | dataLength u32 | data
 *
 * flags bit 0 is "follows": the node stores the item only if it stored the
 * item before it in the same body (a channel's next message after the one it
 * chains to). The first item must not follow, no other flag bit is defined
 * (they must be 0), dataLength is at most PG_MSG_MAX_LEN, and nothing may come
 * after the last item. Whether an item's message fits the 32 KiB message cap
 * is the node's check, per item, not the codec's.
 *
 * Ownership: a parsed item's index and data are views into the body.
 * Errors: PG_ERR_INVALID, PG_ERR_TRUNCATED or PG_ERR_TOO_LARGE with one
 * sentence naming the item (1-based) and the field in the optional pg_diag.
 * Threads: no shared state. */
#ifndef P2PGRID_TANGLE_BATCH_H
#define P2PGRID_TANGLE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

#define PG_BATCH_VERSION 1
#define PG_BATCH_MAX_ITEMS 256
#define PG_BATCH_HEAD_LEN 3 /* version + count */

typedef struct pg_batch_item {
  const uint8_t *index; /* 1..PG_INDEX_MAX_LEN bytes */
  size_t index_len;
  const uint8_t *data; /* may be NULL when data_len is 0 */
  size_t data_len;     /* <= PG_MSG_MAX_LEN */
  bool follows;        /* false for the first item */
} pg_batch_item;

/* The bytes one item adds to a body. */
size_t pg_batch_item_len(size_t index_len, size_t data_len);

/* Appends the body of items[0..n) to out (which it does not reset). Checks
 * what pg_batch_parse checks; on an error nothing was appended. */
PG_NODISCARD int pg_batch_encode(pg_buf *out, const pg_batch_item *items, size_t n, pg_diag *d);

/* Parses a whole body into items (room for PG_BATCH_MAX_ITEMS); *n gets the
 * count. On an error *n is 0. */
PG_NODISCARD int pg_batch_parse(const uint8_t *body, size_t len,
                                pg_batch_item items[PG_BATCH_MAX_ITEMS], size_t *n, pg_diag *d);

#endif
