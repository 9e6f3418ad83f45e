/* p2pgrid/tangle/find.h — many index lookups and their messages in one
 * request.
 *
 * POST /api/plugins/data/find (docs/PROTOCOL.md) answers up to 256 index
 * lookups (GET /api/v1/messages?index=...) in one round trip, each with the
 * bytes of the messages it lists (GET /api/v1/messages/{id}/raw), so a
 * daemon that reads a thousand channels a slot from a node on another
 * machine makes a few requests instead of two thousand. All integers are
 * little-endian, as in the Chrysalis message codec.
 *
 * The request:
 *   version u8 (= 1) | flags u8 | budget u32 | max u16 | count u16 | count x key
 *   key: indexLength u8 (1..64) | index
 * flags bit 0 is "meta": each message comes with its metadata (what GET
 * /api/v1/messages/{id}/metadata says of its confirmation); the other bits
 * must be 0.
 * budget is the most answer bytes the client takes (at least
 * PG_FIND_BUDGET_MIN; a node answers at most min(budget, its own cap)); max
 * is how many message ids each lookup may list (1..PG_FIND_MAX_IDS); count is
 * 1..PG_FIND_MAX_KEYS. Nothing may follow the last key.
 *
 * The answer (application/octet-stream):
 *   version u8 (= 1) | flags u8 (the request's) | count u16 | count x item
 *   item: total u32 | listed u16 | listed x message
 *   message: id[32] | [meta: referencedBy u32 | inclusion u8 | conflictReason u8]
 *            | rawLength u32 | raw
 * With meta, referencedBy is the milestone index that referenced the
 * message (0: not yet) and inclusion PG_INCL_* of tangle.h (0 while not
 * referenced, then 1 noTransaction, 2 included, 3 conflicting).
 * The items answer the first count keys in order (1..the keys asked: a node
 * stops where the next item would not fit the budget; the client asks again
 * for the rest). total is the node's count of messages under the index,
 * listed (<= max, <= total) the ids it gives in its usual order. raw is the
 * message's bytes (rawLength <= PG_MSG_MAX_LEN); rawLength 0 means "not sent"
 * (only the first item may leave bytes out, when it alone is over the
 * budget): the client GETs those. Nothing may follow the last item. Whether
 * raw really hashes to id is the reader's check (pg_message_id), not the
 * codec's.
 *
 * Ownership: parsed keys, ids and raw bytes are views into the body.
 * Errors: PG_ERR_INVALID, PG_ERR_TRUNCATED or PG_ERR_TOO_LARGE with one
 * sentence naming the key or item (1-based) and the field in the optional
 * pg_diag.
 * Threads: no shared state. */
#ifndef P2PGRID_TANGLE_FIND_H
#define P2PGRID_TANGLE_FIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

#define PG_FIND_VERSION 1
#define PG_FIND_MAX_KEYS 256
#define PG_FIND_MAX_IDS 1000              /* the node's maxResults of an index lookup */
#define PG_FIND_BUDGET_MIN (64u << 10)    /* room for a whole list of ids */
#define PG_FIND_FLAG_META 1u
#define PG_FIND_REQ_HEAD_LEN 10           /* version, flags, budget, max, count */
#define PG_FIND_ANS_HEAD_LEN 4            /* version, flags, count */
#define PG_FIND_ITEM_HEAD_LEN 6           /* total, listed */
#define PG_FIND_MSG_HEAD_LEN 36           /* id, rawLength */
#define PG_FIND_META_LEN 6                /* referencedBy, inclusion, conflictReason */

/* ---- the request ---- */

typedef struct pg_find_key {
  const uint8_t *index; /* 1..PG_INDEX_MAX_LEN bytes */
  size_t index_len;
} pg_find_key;

typedef struct pg_find_req {
  bool meta;       /* flags bit 0: each message's metadata too */
  uint32_t budget; /* >= PG_FIND_BUDGET_MIN */
  unsigned max;    /* 1..PG_FIND_MAX_IDS */
  size_t count;    /* 1..PG_FIND_MAX_KEYS */
  pg_find_key keys[PG_FIND_MAX_KEYS];
} pg_find_req;

/* Appends the request to out (which it does not reset). Checks what
 * pg_find_req_parse checks; on an error nothing was appended. */
PG_NODISCARD int pg_find_req_encode(pg_buf *out, const pg_find_req *r, pg_diag *d);

/* Parses a whole request body into *r (its keys view the body). */
PG_NODISCARD int pg_find_req_parse(const uint8_t *body, size_t len, pg_find_req *r, pg_diag *d);

/* ---- the answer ---- */

/* Writing: pg_find_ans_begin, then per item pg_find_ans_item followed by its
 * listed pg_find_ans_msg calls, then pg_find_ans_end with the items written.
 * The writer does not check the counts against each other; a reader does.
 * Write failures are out's sticky error (pg_buf_status), which end returns. */
void pg_find_ans_begin(pg_buf *out, bool meta);
void pg_find_ans_item(pg_buf *out, uint32_t total, unsigned listed);

/* A message's metadata in an answer with meta. */
typedef struct pg_find_meta {
  uint32_t referenced_by; /* milestone index; 0: not referenced yet */
  uint8_t inclusion;      /* PG_INCL_* (0..3) */
  uint8_t conflict_reason;
} pg_find_meta;

/* meta: the message's metadata in an answer with meta (NULL otherwise);
 * raw may be NULL with raw_len 0: not sent. */
void pg_find_ans_msg(pg_buf *out, const uint8_t id[32], const pg_find_meta *meta,
                     const uint8_t *raw, size_t raw_len);
/* The bytes one message adds to an answer. */
size_t pg_find_msg_len(bool meta, size_t raw_len);
/* start: out->len when begin was called. */
PG_NODISCARD int pg_find_ans_end(pg_buf *out, size_t start, size_t count);

/* One answered item; its messages are read with pg_find_item_next. */
typedef struct pg_find_item {
  uint32_t total;
  size_t listed;
  bool meta;      /* the answer's flag */
  pg_reader msgs; /* the listed messages' bytes */
} pg_find_item;

/* One listed message: raw NULL (raw_len 0) when not sent; meta as sent
 * (zero without the flag). */
typedef struct pg_find_msg {
  const uint8_t *id;
  pg_find_meta meta;
  const uint8_t *raw;
  size_t raw_len;
} pg_find_msg;

/* Parses and checks a whole answer to a request of `asked` keys (1..256),
 * max ids each and the meta flag `meta` (the answer's flags must be the
 * request's): *n (1..asked) items into items. Every item but the first must
 * send every message's bytes; metadata that cannot be (an inclusion over 3,
 * 0 for a referenced message or not 0 for one that is not, a conflict
 * reason of a message that is not conflicting) is refused. On an error *n
 * is 0. */
PG_NODISCARD int pg_find_ans_parse(const uint8_t *body, size_t len, size_t asked, unsigned max,
                                   bool meta, pg_find_item items[PG_FIND_MAX_KEYS], size_t *n,
                                   pg_diag *d);

/* The next message of a parsed item: PG_OK and *m, or PG_ERR_NOT_FOUND after
 * its last. */
PG_NODISCARD int pg_find_item_next(pg_find_item *it, pg_find_msg *m);

#endif
