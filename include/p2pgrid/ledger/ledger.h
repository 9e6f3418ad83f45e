/* p2pgrid/ledger/ledger.h — the UTXO ledger of a Chrysalis network (TIP-7, TIP-14,
 * TIP-15, TIP-2 white flag).
 *
 * The ledger keeps its tables in the Tangle's own SQLite database and is
 * written only from inside the Tangle's milestone confirmation (through
 * pg_ledger_apply, the pg_tx_confirm_fn hook), so booking a milestone's
 * transactions commits or rolls back together with the milestone itself.
 * Reads use a second, read-only connection: they see the confirmed ledger as
 * of the last committed milestone, never a half-applied one.
 *
 * Quantities are base token units (uint64). The sum of all unspent outputs is
 * always the genesis supply.
 *
 * Ownership: pg_ledger_new's ledger is the caller's (pg_ledger_free, NULL ok);
 * it borrows the Tangle's database given to pg_ledger_attach and the genesis
 * outputs during that call only. pg_ledger_milestone_changes returns malloc'd
 * arrays the caller frees; other results go to caller structs.
 * Errors: 0 or a negative pg_err: PG_ERR_NOT_FOUND (unknown output, message or
 * milestone), PG_ERR_DB (storage), PG_ERR_CONFIG (genesis or network not the
 * data's, named in the optional pg_diag of pg_ledger_attach), PG_ERR_STATE
 * (used before attach), PG_ERR_NOMEM. pg_ledger_apply reports through the
 * Tangle's confirmation, which then rolls back.
 * Threads: the readers may be called from any thread: they share one read-only
 * connection under a mutex. pg_ledger_apply runs only inside the Tangle's
 * confirmation (its lock); new, attach and free are not concurrent with
 * anything. */
#ifndef P2PGRID_LEDGER_LEDGER_H
#define P2PGRID_LEDGER_LEDGER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/tangle/message.h"

#define PG_OUTPUT_ID_LEN 34 /* transaction id (32) || output index (u16 LE) */
#define PG_TOKEN_SUPPLY 2779530283277761ULL
#define PG_DUST_THRESHOLD 1000000ULL   /* a SigLockedSingleOutput below this is dust */
#define PG_DUST_ALLOWANCE_MIN 1000000ULL
#define PG_DUST_DIVISOR 100000ULL      /* one dust output per 100 000 of allowance */
#define PG_DUST_MAX_PER_ADDRESS 100

/* iota.js ConflictReason codes (see CHRYSALIS.md 6.2). */
enum pg_conflict {
  PG_CONFLICT_NONE = 0,
  PG_CONFLICT_INPUT_SPENT = 1,
  PG_CONFLICT_INPUT_SPENT_IN_MILESTONE = 2,
  PG_CONFLICT_INPUT_NOT_FOUND = 3,
  PG_CONFLICT_SUM_MISMATCH = 4,
  PG_CONFLICT_INVALID_SIGNATURE = 5,
  PG_CONFLICT_INVALID_DUST = 6,
  PG_CONFLICT_SEMANTIC = 255,
};

typedef struct pg_genesis_output {
  uint8_t address[32]; /* Ed25519 address */
  uint64_t amount;
} pg_genesis_output;

typedef struct pg_ledger_config {
  bool dust_protection; /* TIP-15; default true */
  size_t genesis_count;
  const pg_genesis_output *genesis; /* borrowed during pg_ledger_attach only */
} pg_ledger_config;

typedef struct pg_ledger pg_ledger;

/* Creates a ledger object (no storage yet). Pass pg_ledger_apply and the
 * ledger as the Tangle's tx_confirm hook, open the Tangle, then attach. */
PG_NODISCARD int pg_ledger_new(const pg_ledger_config *c, pg_ledger **out);
/* Binds the ledger to the Tangle's database: db is the Tangle's connection
 * (borrowed; used only inside confirmation), path the database file (a
 * read-only connection is opened on it). Creates the tables on first use and
 * books the genesis outputs; on later opens checks that the genesis is the
 * one the data was created with (PG_ERR_CONFIG otherwise). */
PG_NODISCARD int pg_ledger_attach(pg_ledger *l, sqlite3 *db, const char *path, pg_diag *d);
void pg_ledger_free(pg_ledger *l); /* NULL ok */

/* The wiring of a Tangle with its own ledger, done once for the node and the
 * simulator: creates the ledger from lc, makes it tc's confirmation hook
 * (tc->tx_confirm = pg_ledger_apply, tc->tx_confirm_ctx = the ledger; the
 * caller's values there are replaced) and its submit hook (tx_precheck =
 * pg_ledger_precheck), opens the Tangle and attaches the
 * ledger to its database, so the ledger is in place before any milestone is
 * confirmed (start a coordinator only after this). *l and *t (owned by the
 * caller: pg_ledger_free first, then pg_tangle_close) are written on PG_OK; on
 * failure nothing stays open and both are NULL. Errors: PG_ERR_NOMEM ("cannot
 * create the ledger"), those of pg_tangle_open and pg_ledger_attach (a
 * genesis other than the one the data was created with: PG_ERR_CONFIG). */
struct pg_tangle;
struct pg_tangle_config;
PG_NODISCARD int pg_ledger_open_tangle(const pg_ledger_config *lc, struct pg_tangle_config *tc,
                                       pg_ledger **l, struct pg_tangle **t, pg_diag *d);

/* The white-flag hook (a pg_tx_confirm_fn; ctx is the pg_ledger). Validates
 * the transaction of m against the ledger as it stands, including outputs
 * booked earlier in the same milestone; books it when valid. Signatures that
 * verified are remembered (up to 32768, 1 MiB), so the real white flag after
 * the coordinator's dry run, or after pg_ledger_precheck, does not verify
 * them again; a signature is accepted only if its exact (public key,
 * essence hash, signature) verified before. Called under the Tangle's lock
 * only. */
int pg_ledger_apply(void *ctx, uint32_t milestone_index, const uint8_t msg_id[PG_ID_LEN],
                    const pg_message *m, bool *included, uint8_t *conflict_reason);

/* The submit hook (a pg_tx_precheck_fn; ctx is the pg_ledger): verifies the
 * signature blocks of m's transaction and remembers the valid ones, on the
 * submitting thread, so that confirmation finds them verified: the first 4
 * blocks, up to the first that fails (bounded work for a message of
 * anybody's making; the rest are verified at confirmation as before). Reads
 * no ledger state, changes none; safe from any number of threads beside
 * pg_ledger_apply. pg_ledger_open_tangle installs it. */
void pg_ledger_precheck(void *ctx, const pg_message *m);

/* Ed25519 verifications the ledger has run (a remembered signature runs none). */
uint64_t pg_ledger_signatures_verified(pg_ledger *l);

typedef struct pg_output_info {
  uint8_t output_id[PG_OUTPUT_ID_LEN];
  uint8_t message_id[PG_ID_LEN]; /* zero for genesis outputs */
  uint8_t type;                  /* 0 single, 1 dust allowance */
  uint8_t address[32];
  uint64_t amount;
  uint32_t booked_index;         /* milestone that created it (0 = genesis) */
  bool spent;
  uint32_t spent_index;
  uint8_t spent_tx_id[32];
} pg_output_info;

PG_NODISCARD int pg_ledger_output(pg_ledger *l, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *o);
/* The output on a row of ledger_outputs, for pg_ledger_output and for a
 * reader of the tables on a connection of its own (the audit's data-dir
 * client): st stands on a row whose columns are message_id, type, address,
 * amount, booked_index, spent_index and, when the statement selects a
 * seventh, spent_tx_id; id is the row's output id. false (and *o untouched)
 * when message_id or address is not 32 bytes: not a row the ledger wrote.
 * Reads only st (any thread that may use it). */
bool pg_ledger_output_row(sqlite3_stmt *st, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *o);
/* Unknown addresses have balance 0 (PG_OK). dust_allowed: the address may
 * receive one more dust output under TIP-15. */
PG_NODISCARD int pg_ledger_balance(pg_ledger *l, const uint8_t address[32], uint64_t *balance,
                                   bool *dust_allowed);
/* Output ids on an address; type -1 = any. Up to max into ids; *total = all matching. */
PG_NODISCARD int pg_ledger_address_outputs(pg_ledger *l, const uint8_t address[32], int type,
                                           bool include_spent, size_t max,
                                           uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t *count,
                                           size_t *total);
/* The message whose transaction with this id was included. */
PG_NODISCARD int pg_ledger_included_message(pg_ledger *l, const uint8_t tx_id[32],
                                            uint8_t msg_id[PG_ID_LEN]);
/* Output ids created and consumed by milestone index (malloc'd arrays, caller frees). */
PG_NODISCARD int pg_ledger_milestone_changes(pg_ledger *l, uint32_t index,
                                             uint8_t (**created)[PG_OUTPUT_ID_LEN], size_t *ncreated,
                                             uint8_t (**consumed)[PG_OUTPUT_ID_LEN], size_t *nconsumed);
/* The ledger digest after milestone `index` (contract A of issue 14), so
 * anyone can compare two nodes milestone by milestone:
 *   D(0) = BLAKE2b-256("p2pgrid-ledger-digest" || u32le 0 || genesis outputs)
 *   D(i) = BLAKE2b-256("p2pgrid-ledger-digest" || u32le i || D(i-1) ||
 *                      milestone message id || u32le ncreated || created ||
 *                      u32le nconsumed || consumed)
 * An output (genesis or created) is output id (34) || type (1) || address (32)
 * || u64le amount, a consumed one its output id (34); each list sorted by
 * output id (bytewise). Computed from the stored milestone changes through
 * the read connection (so only committed milestones count) and cached in
 * memory: the digests of confirmed milestones never change. Nodes that
 * confirmed the same milestones have the same digests. PG_ERR_NOT_FOUND for
 * an index not confirmed yet; thread-safe. */
PG_NODISCARD int pg_ledger_digest(pg_ledger *l, uint32_t index, uint8_t out[32]);

/* Sum of all unspent outputs (always the genesis supply). */
PG_NODISCARD int pg_ledger_supply(pg_ledger *l, uint64_t *supply);

/* How many outputs are unspent and how many spent (GET /metrics; one
 * indexed count each; thread-safe). */
PG_NODISCARD int pg_ledger_output_counts(pg_ledger *l, uint64_t *unspent, uint64_t *spent);

/* Output id = transaction id (32) || output index (u16 LE). */
void pg_output_id(const uint8_t tx_id[32], uint16_t index, uint8_t out[PG_OUTPUT_ID_LEN]);

/* Id of the pseudo transaction that holds genesis outputs 126*batch ..
 * 126*batch+125: BLAKE2b-256("p2pgrid-genesis" || u32 LE batch). */
void pg_genesis_tx_id(uint32_t batch, uint8_t out[32]);

/* Transaction id = BLAKE2b-256 of the payload bytes (type first). */
void pg_transaction_id(const uint8_t *payload, size_t len, uint8_t id[32]);

#endif
