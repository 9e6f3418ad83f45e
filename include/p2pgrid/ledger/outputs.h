/* p2pgrid/ledger/outputs.h — many output lookups, with the messages that
 * made them, in one request.
 *
 * POST /api/plugins/data/outputs (docs/PROTOCOL.md) answers up to 1,000
 * output lookups (GET /api/v1/outputs/{id}) in one round trip, each, when
 * asked, with the bytes of the message whose transaction made the output
 * (GET /api/v1/messages/{id}/raw), so a grid that books a thousand payments
 * a slot from a node on another machine makes one request instead of two
 * thousand. All integers are little-endian, as in the Chrysalis message
 * codec.
 *
 * The request:
 *   version u8 (= 1) | flags u8 | budget u32 | count u16 | count x outputId[34]
 * flags bit 0 is "raw": each output found comes with its message's bytes;
 * the other bits must be 0. budget is the most answer bytes the client
 * takes (at least PG_OUTPUTS_BUDGET_MIN; a node answers at most
 * min(budget, its own cap)); count is 1..PG_OUTPUTS_MAX_IDS. An output id is
 * a transaction id and the output's index (u16 LE). Nothing may follow the
 * last id.
 *
 * The answer (application/octet-stream):
 *   version u8 (= 1) | flags u8 (the request's) | count u16 | count x item
 *   item: found u8 (0: the node knows no such output, nothing follows; 1)
 *         | messageId[32] | type u8 | address[32] | amount u64
 *         | bookedIndex u32 | spent u8 | spentIndex u32 | spentTxId[32]
 *         | [with raw: rawLength u32 | raw]
 * The fields are GET outputs/{id}'s (pg_output_info): messageId is zero for
 * an output of the genesis snapshot, which has no message; type 0 (single)
 * or 1 (dust allowance); amount 1..PG_TOKEN_SUPPLY; bookedIndex the
 * milestone that created the output (0: the genesis); spent 0 or 1, and a
 * spent output's spentIndex (>= 1) and, where known, its spending
 * transaction (else zero); an unspent one's are zero. raw is the message's
 * bytes (rawLength <= PG_MSG_MAX_LEN); rawLength 0 means the node has no
 * message to send (always for a zero messageId). The items answer the first
 * count ids in order (1..the ids asked: a node stops where the next item
 * would not fit the budget, and the first always fits: an item is at most
 * PG_OUTPUTS_ITEM_MAX bytes, under the least budget; the client asks again
 * for the rest). Nothing may follow the last item. Whether raw really
 * hashes to messageId is the reader's check (pg_message_id), not the
 * codec's.
 *
 * Ownership: parsed ids and raw bytes are views into the body.
 * Errors: PG_ERR_INVALID, PG_ERR_TRUNCATED or PG_ERR_TOO_LARGE with one
 * sentence naming the item (1-based) and the field in the optional pg_diag.
 * Threads: no shared state. */
#ifndef P2PGRID_LEDGER_OUTPUTS_H
#define P2PGRID_LEDGER_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/ledger/ledger.h" /* pg_output_info, PG_OUTPUT_ID_LEN */
#include "p2pgrid/tangle/message.h" /* PG_MSG_MAX_LEN */

#define PG_OUTPUTS_VERSION 1
#define PG_OUTPUTS_MAX_IDS 1000          /* the node's page of an address's outputs */
#define PG_OUTPUTS_BUDGET_MIN (64u << 10) /* room for the largest item */
#define PG_OUTPUTS_FLAG_RAW 1u
#define PG_OUTPUTS_REQ_HEAD_LEN 8   /* version, flags, budget, count */
#define PG_OUTPUTS_ANS_HEAD_LEN 4   /* version, flags, count */
#define PG_OUTPUTS_FOUND_LEN 115    /* found .. spentTxId */
#define PG_OUTPUTS_ITEM_MAX (PG_OUTPUTS_FOUND_LEN + 4 + PG_MSG_MAX_LEN)

/* ---- the request ---- */

typedef struct pg_outputs_req {
  bool raw;        /* flags bit 0: each output's message bytes too */
  uint32_t budget; /* >= PG_OUTPUTS_BUDGET_MIN */
  size_t count;    /* 1..PG_OUTPUTS_MAX_IDS */
  const uint8_t (*ids)[PG_OUTPUT_ID_LEN]; /* count ids (parsed: a view into the body) */
} pg_outputs_req;

/* Appends the request to out (which it does not reset). Checks what
 * pg_outputs_req_parse checks; on an error nothing was appended. */
PG_NODISCARD int pg_outputs_req_encode(pg_buf *out, const pg_outputs_req *r, pg_diag *d);

/* Parses a whole request body into *r (its ids view the body). */
PG_NODISCARD int pg_outputs_req_parse(const uint8_t *body, size_t len, pg_outputs_req *r,
                                      pg_diag *d);

/* ---- the answer ---- */

/* Writing: pg_outputs_ans_begin, then one pg_outputs_ans_found or
 * pg_outputs_ans_missing per id in order, then pg_outputs_ans_end with the
 * items written. The writer does not check the fields; a reader does.
 * Write failures are out's sticky error (pg_buf_status), which end returns. */
void pg_outputs_ans_begin(pg_buf *out, bool raw);
/* o's fields (its output_id is not sent); with raw (the answer's flag) the
 * message's raw_len bytes (raw may be NULL with raw_len 0: none). */
void pg_outputs_ans_found(pg_buf *out, bool raw, const pg_output_info *o, const uint8_t *raw_bytes,
                          size_t raw_len);
void pg_outputs_ans_missing(pg_buf *out);
/* The bytes a found item adds to an answer. */
size_t pg_outputs_item_len(bool raw, size_t raw_len);
/* start: out->len when begin was called. */
PG_NODISCARD int pg_outputs_ans_end(pg_buf *out, size_t start, size_t count);

/* One answered id. */
typedef struct pg_outputs_item {
  bool found;
  pg_output_info info;  /* found: the fields, output_id the request's id */
  const uint8_t *raw;   /* found with raw: the message's bytes, NULL when none sent */
  size_t raw_len;
} pg_outputs_item;

/* Parses and checks a whole answer to a request of `asked` ids (1..1,000,
 * in ids) and the raw flag `raw` (the answer's flags must be the
 * request's): *n (1..asked) items into items (room for asked). Fields that
 * cannot be (a type over 1, an amount of 0 or over the supply, a spent flag
 * over 1, a spent output at index 0, an unspent one with a spent index or
 * transaction, bytes sent for a zero messageId) are refused. On an error *n
 * is 0. */
PG_NODISCARD int pg_outputs_ans_parse(const uint8_t *body, size_t len,
                                      const uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t asked,
                                      bool raw, pg_outputs_item *items, size_t *n, pg_diag *d);

#endif
