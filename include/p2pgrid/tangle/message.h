/* p2pgrid/tangle/message.h — Chrysalis message codec (TIP-6, TIP-7, TIP-8).
 *
 * Binary layout (all LE): networkId u64 | parentsCount u8 | parents 32B*n |
 * payloadLength u32 | payload | nonce u64. At most 32768 bytes. The message id
 * is BLAKE2b-256 of all bytes.
 *
 * pg_message_parse() fully checks syntax and fills a pg_message whose pointers
 * are VIEWS into the caller's bytes: keep the bytes alive while using it.
 * Semantic checks (network id, PoW, milestone signatures, ledger rules) are not
 * done here.
 *
 * Ownership: a parsed pg_message's pointers are views into the caller's bytes,
 * which must outlive it; only a transaction payload is allocated
 * (m->u.transaction), so release every parsed message with pg_message_clear.
 * Builders append to the caller's pg_buf.
 * Errors: 0 or PG_ERR_TOO_LARGE, PG_ERR_TRUNCATED, PG_ERR_INVALID or
 * PG_ERR_NOMEM, with one sentence naming the field (and the bad value) in the
 * optional pg_diag; a failed parse leaves nothing to release. Builders also
 * report the buffer's sticky error.
 * Threads: no shared state: distinct messages may be parsed and built on
 * distinct threads at once. */
#ifndef P2PGRID_TANGLE_MESSAGE_H
#define P2PGRID_TANGLE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

#define PG_MSG_MAX_LEN 32768
#define PG_MSG_MIN_LEN 53
#define PG_MSG_MAX_PARENTS 8
#define PG_ID_LEN 32

enum {
  PG_PAYLOAD_TRANSACTION = 0,
  PG_PAYLOAD_MILESTONE = 1,
  PG_PAYLOAD_INDEXATION = 2,
  PG_PAYLOAD_RECEIPT = 3,
  PG_PAYLOAD_TREASURY_TX = 4,
  PG_PAYLOAD_NONE = -1,
};

#define PG_INDEX_MAX_LEN 64
#define PG_TX_MAX_INPUTS 127
#define PG_TX_MAX_OUTPUTS 127
#define PG_MS_MAX_KEYS 32 /* sanity cap on milestone public keys */

typedef struct pg_indexation {
  const uint8_t *index;
  uint16_t index_len; /* 1..64 */
  const uint8_t *data;
  uint32_t data_len;
} pg_indexation;

typedef struct pg_utxo_input {
  const uint8_t *tx_id; /* 32 */
  uint16_t output_index;
} pg_utxo_input;

typedef struct pg_output {
  uint8_t type; /* 0 SigLockedSingleOutput, 1 SigLockedDustAllowanceOutput */
  const uint8_t *address; /* 32-byte Ed25519 address (address type 0) */
  uint64_t amount;
} pg_output;

typedef struct pg_unlock_block {
  uint8_t type;               /* 0 signature, 1 reference */
  const uint8_t *public_key;  /* type 0: 32 */
  const uint8_t *signature;   /* type 0: 64 */
  uint16_t reference;         /* type 1 */
} pg_unlock_block;

typedef struct pg_transaction {
  const uint8_t *essence; /* essence bytes (from essenceType through payload) */
  size_t essence_len;
  uint16_t inputs_count;
  pg_utxo_input inputs[PG_TX_MAX_INPUTS];
  uint16_t outputs_count;
  pg_output outputs[PG_TX_MAX_OUTPUTS];
  bool has_indexation;
  pg_indexation indexation; /* essence payload, if any */
  uint16_t unlocks_count;
  pg_unlock_block unlocks[PG_TX_MAX_INPUTS];
} pg_transaction;

typedef struct pg_milestone {
  uint32_t index;
  uint64_t timestamp; /* Unix seconds */
  uint8_t parents_count;
  const uint8_t *parents; /* 32 * parents_count */
  const uint8_t *inclusion_merkle_proof; /* 32 */
  uint32_t next_pow_score;
  uint32_t next_pow_score_milestone_index;
  uint8_t keys_count;
  const uint8_t *public_keys; /* 32 * keys_count */
  uint32_t receipt_len;
  const uint8_t *receipt; /* receipt payload bytes (type 3), NULL if none */
  uint8_t signatures_count;
  const uint8_t *signatures; /* 64 * signatures_count */
  const uint8_t *essence; /* index .. end of receipt field: what is signed (hashed) */
  size_t essence_len;
} pg_milestone;

typedef struct pg_message {
  uint64_t network_id;
  uint8_t parents_count;
  const uint8_t *parents; /* 32 * parents_count, sorted, unique */
  int payload_type;       /* PG_PAYLOAD_* or PG_PAYLOAD_NONE */
  const uint8_t *payload; /* payload bytes including its u32 type; NULL if none */
  uint32_t payload_len;
  uint64_t nonce;
  union {
    pg_indexation indexation;
    pg_milestone milestone;
    pg_transaction *transaction; /* owned: pg_message_clear frees it */
  } u;
} pg_message;

/* Parses and syntactically validates bytes. On success *m must be released
 * with pg_message_clear(). On failure *m needs no release, the return value
 * says which class of error and d (optional) names the problem:
 * PG_ERR_TOO_LARGE (> 32768 bytes), PG_ERR_TRUNCATED (a field or declared
 * length runs past the end), PG_ERR_INVALID (any other rule), PG_ERR_NOMEM.
 * Besides TIP-6/7/8 syntax it checks that a milestone payload's parents equal
 * the message's parents (TIP-8). A milestone receipt (type 3, with its type 4
 * treasury transaction) is checked structurally only and kept as raw bytes. */
PG_NODISCARD int pg_message_parse(const uint8_t *bytes, size_t len, pg_message *m, pg_diag *d);
void pg_message_clear(pg_message *m);

/* Reads only the parents of a message: bytes start with the network id and
 * the parents count (1..8), the parents follow, sorted and unique. Copies
 * them into parents and their count into *n. Checks nothing after the
 * parents (use pg_message_parse for the whole message); for bytes that
 * pg_message_parse accepts it gives the same parents. PG_ERR_TRUNCATED or
 * PG_ERR_INVALID (d names the problem) with *n = 0. */
PG_NODISCARD int pg_message_parents(const uint8_t *bytes, size_t len,
                                    uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN], uint8_t *n,
                                    pg_diag *d);

/* Parses a payload on its own (bytes start with the u32 type; types 0, 1, 2
 * only). Same rules and ownership as pg_message_parse; on success writes only
 * m->payload_type, m->payload (= bytes), m->payload_len and m->u, so release
 * with pg_message_clear(). On failure m is untouched. */
PG_NODISCARD int pg_payload_parse(const uint8_t *bytes, size_t len, pg_message *m, pg_diag *d);

/* BLAKE2b-256 of the bytes. */
void pg_message_id(const uint8_t *bytes, size_t len, uint8_t id[PG_ID_LEN]);

/* Serialises a message from parts, appending to out (all builders below
 * append too). payload may be NULL (payload_len 0); it is not validated.
 * Checks parent count (1..8), order and uniqueness, and the 32768-byte cap. */
PG_NODISCARD int pg_message_build(pg_buf *out, uint64_t network_id, const uint8_t *parents,
                                  size_t parents_count, const uint8_t *payload, size_t payload_len,
                                  uint64_t nonce, pg_diag *d);

/* Serialises an indexation payload (type 2 first). */
PG_NODISCARD int pg_indexation_build(pg_buf *out, const uint8_t *index, size_t index_len,
                                     const uint8_t *data, size_t data_len, pg_diag *d);

/* Milestone essence fields for building (coordinator). */
typedef struct pg_milestone_draft {
  uint32_t index;
  uint64_t timestamp;
  uint8_t parents_count;
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN]; /* sorted, unique */
  uint8_t inclusion_merkle_proof[32];
  uint32_t next_pow_score;
  uint32_t next_pow_score_milestone_index;
  uint8_t keys_count;
  uint8_t public_keys[PG_MS_MAX_KEYS][32]; /* sorted, unique */
} pg_milestone_draft;

/* Writes the milestone essence (what is hashed and signed; receiptLength 0)
 * into out. Checks parents 1..8 and keys 1..PG_MS_MAX_KEYS sorted and unique,
 * and the nextPoWScoreMilestoneIndex rule. */
PG_NODISCARD int pg_milestone_essence(pg_buf *out, const pg_milestone_draft *ms, pg_diag *d);
/* Writes the whole milestone payload (type 1 first) given one 64-byte
 * signature per key, in key order. */
PG_NODISCARD int pg_milestone_build(pg_buf *out, const pg_milestone_draft *ms,
                                    const uint8_t (*signatures)[64], pg_diag *d);

/* Compare two 32-byte ids (memcmp order). */
int pg_id_cmp(const uint8_t *a, const uint8_t *b);

#endif
