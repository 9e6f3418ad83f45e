/* p2pgrid/ledger/transaction.h — building and signing Chrysalis transaction payloads
 * (TIP-7) the way @iota/iota.js buildTransactionPayload does: inputs and
 * outputs sorted by their serialized bytes, Ed25519 signatures over
 * BLAKE2b-256(essence), one signature block per public key and reference
 * blocks for later inputs unlocked by the same key.
 *
 * Ownership: the payload is appended to the caller's pg_buf; input specs (with
 * their secret keys) are the caller's, read only during the call.
 * Errors: PG_ERR_INVALID (counts, amounts, indexation limits) with one sentence
 * in the optional pg_diag, or the buffer's sticky error (PG_ERR_TOO_LARGE,
 * PG_ERR_NOMEM).
 * Threads: no shared state; any thread. */
#ifndef P2PGRID_LEDGER_TRANSACTION_H
#define P2PGRID_LEDGER_TRANSACTION_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

typedef struct pg_tx_input_spec {
  uint8_t tx_id[32];
  uint16_t output_index;
  uint8_t secret_key[64]; /* Ed25519 secret key (seed || public key) unlocking it */
} pg_tx_input_spec;

typedef struct pg_tx_output_spec {
  uint8_t type; /* 0 SigLockedSingleOutput, 1 SigLockedDustAllowanceOutput */
  uint8_t address[32];
  uint64_t amount;
} pg_tx_output_spec;

/* Writes the transaction payload (u32 type 0 first) into out. index/data: an
 * optional indexation payload inside the essence (index_len 0 = none).
 * Checks counts (1..127), amounts > 0, and the indexation limits; the rest of
 * the syntax follows from construction. essence_hash (optional) gets
 * BLAKE2b-256 of the essence. */
PG_NODISCARD int pg_transaction_build(pg_buf *out, const pg_tx_input_spec *inputs, size_t ninputs,
                                      const pg_tx_output_spec *outputs, size_t noutputs,
                                      const uint8_t *index, size_t index_len, const uint8_t *data,
                                      size_t data_len, uint8_t essence_hash[32], pg_diag *d);

#endif
