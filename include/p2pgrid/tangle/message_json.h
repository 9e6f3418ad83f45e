/* p2pgrid/tangle/message_json.h — JSON forms of messages and payloads as TIP-13 and
 * @iota/iota.js 1.8.6 write them (hex lowercase, networkId and nonce as decimal
 * strings, amounts and indexes as numbers, milestone parents as
 * "parentMessageIds").
 *
 * Ownership: a pg_message_draft owns its payload buffer
 * (pg_message_draft_clear, also after a failure); pg_message_to_json and
 * pg_payload_to_json return a new reference (json_decref) or NULL when out of
 * memory.
 * Errors: pg_message_draft_from_json returns PG_ERR_INVALID, PG_ERR_TOO_LARGE,
 * PG_ERR_UNSUPPORTED or PG_ERR_NOMEM with one sentence naming the field in the
 * optional pg_diag; the writers report only out of memory (NULL).
 * Threads: no shared state; distinct drafts and messages on distinct threads. */
#ifndef P2PGRID_TANGLE_MESSAGE_JSON_H
#define P2PGRID_TANGLE_MESSAGE_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/tangle/message.h"

/* A message as POSTed: any of networkId, parentMessageIds, nonce may be missing
 * (or empty: "" / []), for the node to fill. */
typedef struct pg_message_draft {
  bool has_network_id;
  uint64_t network_id;
  uint8_t parents_count; /* 0 = missing, fill from tips */
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  bool has_nonce;
  uint64_t nonce;
  pg_buf payload; /* serialized payload bytes (type first); len 0 = none. Owned. */
} pg_message_draft;

/* Converts a JSON message object to a draft. Checks types, hex (either case),
 * ranges, parent order/uniqueness (at most 8) and the payload's syntax (by
 * serialising and re-parsing it). Missing or null payload, indexation "data"
 * and essence "payload" are read as absent. On failure d names the field,
 * e.g. "parentMessageIds[3]: not 64 hex characters"; a non-null milestone
 * "receipt" gives PG_ERR_UNSUPPORTED; a payload that cannot fit a 32768-byte
 * message gives PG_ERR_TOO_LARGE. The draft must be released with
 * pg_message_draft_clear (also after a failure). */
PG_NODISCARD int pg_message_draft_from_json(const json_t *obj, pg_message_draft *draft, pg_diag *d);
void pg_message_draft_clear(pg_message_draft *draft);

/* JSON of a parsed message (new reference, or NULL on OOM). Keys in TIP-13
 * order; empty indexation data is "data":""; absent essence payload and
 * milestone receipt are null (a present receipt is written in the iota.js
 * IReceiptPayload form). u64 values above INT64_MAX that are JSON numbers
 * (only possible for a milestone timestamp or receipt amounts) become reals. */
json_t *pg_message_to_json(const pg_message *m);
/* JSON of a payload only (m->payload_type != NONE); json null if none. */
json_t *pg_payload_to_json(const pg_message *m);

#endif
