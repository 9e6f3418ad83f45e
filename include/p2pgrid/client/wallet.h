/* p2pgrid/client/wallet.h — a Chrysalis wallet over the node access interface.
 *
 * Keys: SLIP-10 on m/44'/4218'/account'/change'/index' from seed bytes, as
 * @iota/iota.js Ed25519Seed + generateBip44Address; addresses are walked in the
 * iota.js order 0'/0', 1'/0', 0'/1', 1'/1', 0'/2', ...
 *
 * Sending: inputs are the unspent outputs of the walked addresses (confirmed
 * ledger), taken in walk order until they cover the outputs; the remainder
 * goes to the address of the last input, as iota.js does, unless that would
 * create a dust output the address may not hold (TIP-15), in which case more
 * inputs are taken or the send fails with a message that says why. Outputs to
 * the same address are merged. Outputs the wallet spent in a transfer that is
 * not yet confirmed are remembered and never spent twice by this object.
 * Dust allowance outputs (SigLockedDustAllowanceOutput) are never taken as
 * inputs, by pg_wallet_send or pg_wallet_sweep: spending one could leave its
 * address with more dust than it may hold (TIP-15 conflict 6), so an
 * allowance stays until something else removes it.
 *
 * Dust (TIP-15, CHRYSALIS.md 4.6): an address may hold min(floor(S/100000),
 * 100) dust outputs (SigLockedSingleOutput < 1 Mi), S = the sum of its unspent
 * dust allowance outputs. A receiver of many small payments gives its address
 * an allowance (pg_wallet_ensure_dust_allowance), watches its dust
 * (pg_wallet_count_outputs) and consolidates it (pg_wallet_sweep).
 *
 * Threads: a wallet is used from one thread at a time (like its client).
 * The wallet borrows the client; it must outlive the wallet.
 *
 * Ownership: pg_wallet_new's wallet is the caller's (pg_wallet_free wipes the
 * seed; NULL ok); it copies the seed and borrows the client, which must outlive
 * it. Results are written to caller structs and buffers.
 * Errors: 0 or a negative pg_err with one sentence in the optional pg_diag:
 * PG_ERR_INVALID (bad seed, amount or output), PG_ERR_UNAVAILABLE (funds or
 * dust room missing, the message says why), PG_ERR_NOT_FOUND, PG_ERR_STATE,
 * PG_ERR_TIMEOUT, PG_ERR_NOMEM, and the client's errors (client.h) passed on. */
#ifndef P2PGRID_CLIENT_WALLET_H
#define P2PGRID_CLIENT_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/tangle/message.h" /* PG_TX_MAX_INPUTS */

#define PG_WALLET_MAX_OUTPUTS 126 /* 127 minus one for the remainder */

typedef struct pg_wallet pg_wallet;

typedef struct pg_wallet_opts {
  uint32_t account;    /* BIP-44 account, 0 */
  unsigned zero_count; /* walk stops after this many empty addresses (cumulative, as
                          iota.js); 0 = 20 */
} pg_wallet_opts;

/* seed: 16..64 bytes (iota.js Ed25519Seed bytes). o may be NULL. */
PG_NODISCARD int pg_wallet_new(pg_client *c, const uint8_t *seed, size_t seed_len,
                               const pg_wallet_opts *o, pg_wallet **out, pg_diag *d);
void pg_wallet_free(pg_wallet *w); /* wipes the seed; NULL ok */

/* The n-th address of the iota.js walk (n = 0, 1, ...): change = n % 2,
 * index = n / 2. Any output may be NULL. */
PG_NODISCARD int pg_wallet_walk_address(pg_wallet *w, uint32_t n, uint8_t address[32],
                                        uint8_t sk[64], uint32_t *change, uint32_t *index);
/* The address at change/index. */
PG_NODISCARD int pg_wallet_address(pg_wallet *w, uint32_t change, uint32_t index,
                                   uint8_t address[32]);

/* Sum of confirmed balances over the walk (iota.js getBalance). */
PG_NODISCARD int pg_wallet_balance(pg_wallet *w, uint64_t *balance, pg_diag *d);

/* Calls fn for every output (spent or not) on the walked addresses, in walk
 * order; the walk ends after zero_count addresses without outputs. fn returns
 * 0 to go on, anything else to stop (returned as is). */
typedef int (*pg_wallet_history_fn)(void *ctx, uint32_t change, uint32_t index,
                                    const pg_output_info *o);
PG_NODISCARD int pg_wallet_history(pg_wallet *w, pg_wallet_history_fn fn, void *ctx, pg_diag *d);

typedef struct pg_wallet_output {
  uint8_t address[32];
  uint64_t amount;
  bool dust_allowance; /* SigLockedDustAllowanceOutput (amount >= 1 Mi) */
} pg_wallet_output;

typedef struct pg_wallet_send_opts {
  const uint8_t *index; /* indexation payload inside the essence (payment reference); NULL = none */
  size_t index_len;     /* 1..64 */
  const uint8_t *data;
  size_t data_len;
} pg_wallet_send_opts;

/* Builds, signs and submits one transaction paying outs (1..126). msg_id and
 * tx_id (either may be NULL) get the ids. PG_ERR_INVALID with a reason for
 * bad outputs, PG_ERR_UNAVAILABLE when the funds do not cover them ("not
 * enough funds: have X, need Y") or dust rules forbid the transfer. */
PG_NODISCARD int pg_wallet_send(pg_wallet *w, const pg_wallet_output *outs, size_t n,
                                const pg_wallet_send_opts *o, uint8_t msg_id[32], uint8_t tx_id[32],
                                pg_diag *d);

/* Consolidates unspent SigLockedSingleOutputs of the walked addresses (not
 * dust allowance outputs, not outputs of this object's unconfirmed
 * transfers) into one SigLockedSingleOutput on `to` (NULL = walk address 0,
 * change 0 / index 0). The walk ends after zero_count addresses without
 * unspent outputs. Takes up to max_inputs (2..127; 0 = 127) outputs, smallest
 * first, so every dust output is taken before any other. When the sum would
 * be dust (< 1 Mi) and `to` may not receive another dust output (it has no
 * free allowance and loses no dust output in this transfer), the largest
 * outputs are swapped in for the largest taken ones until the sum is >= 1 Mi;
 * consuming dust is always allowed. o (may be NULL) adds a reference as in
 * pg_wallet_send. msg_id, tx_id, swept (how many outputs were consumed) may be
 * NULL. The transfer is pending like a send (follow it).
 * PG_ERR_NOT_FOUND ("nothing to sweep") when fewer than 2 outputs qualify;
 * PG_ERR_UNAVAILABLE when the result would be a dust output `to` may not hold,
 * or while 64 transfers are pending; PG_ERR_INVALID for a bad max_inputs or
 * reference. Nothing is submitted on failure. */
PG_NODISCARD int pg_wallet_sweep(pg_wallet *w, const uint8_t to[32], size_t max_inputs,
                                 const pg_wallet_send_opts *o, uint8_t msg_id[32],
                                 uint8_t tx_id[32], size_t *swept, pg_diag *d);

/* pg_wallet_sweep up to `transfers` times in a row (no reference), the
 * outputs listed and looked up once rather than once per transfer: the same
 * transfers as that many calls (each takes the smallest of what the earlier
 * ones left). *made (may be NULL) gets how many were sent and *swept how
 * many outputs they consumed, also on an error. PG_OK when all `transfers`
 * were sent, else the error that stopped the next one, as pg_wallet_sweep
 * gives it (PG_ERR_NOT_FOUND: nothing left to sweep). A grid receiving a
 * thousand payments a slot sweeps up to 8 transfers of 127 at a time. */
PG_NODISCARD int pg_wallet_sweep_many(pg_wallet *w, const uint8_t to[32], size_t max_inputs,
                                      size_t transfers, size_t *made, size_t *swept, pg_diag *d);

/* Makes sure the address at change/index has a dust allowance of at least
 * `amount` (>= 1000000, else PG_ERR_INVALID): when the sum S of its unspent
 * dust allowance outputs in the confirmed ledger is below `amount` and no
 * transfer pending in this object already creates one on it, sends one
 * SigLockedDustAllowanceOutput of `amount` to the address (pg_wallet_send:
 * same input selection, errors, pending set). *created (may be NULL) tells
 * whether a transfer was sent; msg_id (may be NULL) gets its message, or the
 * pending one's. The new allowance counts once confirmed: follow msg_id
 * before relying on it. A new wallet object does not see the transfers of an
 * earlier one that are still unconfirmed and may send a second allowance.
 * PG_ERR_UNAVAILABLE "not enough funds: ..." when the wallet cannot pay it. */
PG_NODISCARD int pg_wallet_ensure_dust_allowance(pg_wallet *w, uint32_t change, uint32_t index,
                                                 uint64_t amount, bool *created,
                                                 uint8_t msg_id[32], pg_diag *d);

/* Unspent outputs on the address at change/index in the confirmed ledger
 * (all types, including any this object spent in unconfirmed transfers) and
 * how many of them are dust (SigLockedSingleOutput < 1 Mi). Either output may
 * be NULL. Counting the dust looks up every output (pg_client_outputs_many:
 * over HTTP one request for up to 1,000 of them, in-process one each); with
 * dust NULL only the address's output list is read. */
PG_NODISCARD int pg_wallet_count_outputs(pg_wallet *w, uint32_t change, uint32_t index,
                                         size_t *outputs, size_t *dust, pg_diag *d);

/* Whether this wallet already paid: looks at the messages under the
 * indexation key `index` (1..64 bytes; pg_client_find_index, the node's
 * first 1000) for a transaction whose essence carries that index, has an
 * output to `to` of `amount` (0 = any amount; either output type), and is
 * signed by one of the walked addresses (walk as in pg_wallet_history: it
 * ends after zero_count addresses that never had an output) — whoever sent
 * it, so a new wallet object from the same seed finds what an earlier one
 * sent before a crash. Messages referenced as conflicting are skipped;
 * unreferenced ones count (a pending transfer must not be paid again: follow
 * it with pg_wallet_follow, and pay again only if that reports a conflict).
 * A pending transfer found is taken into this wallet's pending set (when a
 * slot is free), so its inputs are not spent again by the next send.
 * *found tells; msg_id (may be NULL) gets a matching message, an included one
 * when there is one, else a pending one. Fails (rather than say "not found")
 * when a listed message cannot be read. */
PG_NODISCARD int pg_wallet_find_transfer(pg_wallet *w, const uint8_t *index, size_t index_len,
                                         const uint8_t to[32], uint64_t amount,
                                         uint8_t msg_id[32], bool *found, pg_diag *d);

/* ---- Transfers sent by another wallet object or process (journals) ----
 * A wallet object remembers only its own pending transfers. A program that
 * sends from one seed in several processes (the CLI: one process per send)
 * keeps their transfers in a journal and hands them to each new object with
 * pg_wallet_track, so that no send spends an output a pending one spends. */

/* A transfer as a journal keeps it: the message that carried it, its
 * transaction id and the outputs (ids) it spends. */
typedef struct pg_wallet_transfer {
  uint8_t msg_id[32];
  uint8_t tx_id[32];
  size_t ninputs;
  uint8_t inputs[PG_TX_MAX_INPUTS][PG_OUTPUT_ID_LEN];
} pg_wallet_transfer;

/* The pending transfer this object sent (or tracks) as msg_id, into *out.
 * PG_ERR_NOT_FOUND when it has none (never sent, or followed to its end). */
PG_NODISCARD int pg_wallet_pending_transfer(pg_wallet *w, const uint8_t msg_id[32],
                                            pg_wallet_transfer *out);

/* Makes this object treat t as one of its own pending transfers: its inputs
 * are never taken by pg_wallet_send, pg_wallet_sweep or
 * pg_wallet_ensure_dust_allowance, it counts towards the 64 pending, and
 * pg_wallet_follow follows it (reattaching from the node's copy) and forgets
 * it once referenced. A transaction already pending is not added twice.
 * PG_ERR_INVALID for 0 or more than 127 inputs; PG_ERR_UNAVAILABLE while 64
 * transfers are pending. */
PG_NODISCARD int pg_wallet_track(pg_wallet *w, const pg_wallet_transfer *t, pg_diag *d);

typedef enum pg_wallet_transfer_state {
  PG_TRANSFER_PENDING,     /* not referenced yet: its inputs stay reserved */
  PG_TRANSFER_INCLUDED,    /* its transaction is booked (through any message) */
  PG_TRANSFER_CONFLICTING, /* referenced as conflicting, or an input is spent (or does
                              not exist) while the transaction is not booked: it can
                              never be booked */
  PG_TRANSFER_UNKNOWN,     /* the node knows neither its message nor its transaction */
} pg_wallet_transfer_state;

/* Where t stands at the node, from the confirmed ledger and the message's
 * metadata (reads only; nothing is promoted or reattached). Only PENDING
 * needs its inputs kept back. Errors of the client calls as they are. */
PG_NODISCARD int pg_wallet_transfer_check(pg_wallet *w, const pg_wallet_transfer *t,
                                          pg_wallet_transfer_state *st, pg_diag *d);

typedef struct pg_wallet_follow_opts {
  uint64_t timeout_ms;  /* 0 = 60000 */
  uint64_t poll_ms;     /* 0 = 200 */
} pg_wallet_follow_opts;

/* Follows a transfer to confirmation: polls metadata, promotes when the node
 * says shouldPromote, reattaches (same payload, new message) when it says
 * shouldReattach (the same transaction payload in a new message; also for
 * transfers this object did not send). msg_id may be any message that
 * carried the transfer (e.g. the one pg_wallet_send returned, after an earlier
 * follow reattached it). On return *final_id is the message that was
 * referenced, or, when the transaction was booked through another message
 * carrying it (a reattachment that won, or the original after a
 * reattachment), that message.
 * PG_OK when the transaction is included (through any message);
 * PG_ERR_STATE with the conflict reason in d when it conflicted;
 * PG_ERR_TIMEOUT when not referenced in time. Forgets the pending inputs of
 * the transfer once it is referenced.
 * Pending set: an object remembers up to 64 of its transfers. When it is
 * full, pg_wallet_send, pg_wallet_sweep and pg_wallet_track first forget the
 * ones the node has booked or can never book (pg_wallet_transfer_check; up
 * to 64 lookups each time the set fills), so transfers nobody follows (a
 * grid's sweeps) do not block the wallet once they are confirmed. They fail
 * (PG_ERR_UNAVAILABLE, before submitting anything) while 64 are still
 * unconfirmed: follow them first. */
PG_NODISCARD int pg_wallet_follow(pg_wallet *w, const uint8_t msg_id[32],
                                  const pg_wallet_follow_opts *o, uint8_t final_id[32], pg_diag *d);

#endif
