/* p2pgrid/wallet.h — a Chrysalis wallet over the node access interface.
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
 *
 * Threads: a wallet is used from one thread at a time (like its client).
 * The wallet borrows the client; it must outlive the wallet. */
#ifndef P2PGRID_WALLET_H
#define P2PGRID_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/client.h"
#include "p2pgrid/err.h"

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
 * pg_wallet_send fails (PG_ERR_UNAVAILABLE, before submitting anything) while
 * 64 transfers of this object are pending: follow them first. */
PG_NODISCARD int pg_wallet_follow(pg_wallet *w, const uint8_t msg_id[32],
                                  const pg_wallet_follow_opts *o, uint8_t final_id[32], pg_diag *d);

#endif
