/* p2pgrid/tangle/tangle.h — the Tangle: entry checks, storage (SQLite, WAL),
 * solidification, URTS tip selection (TIP-3) and milestone confirmation
 * (TIP-2 traversal order, TIP-8 signatures).
 *
 * Ownership: pg_tangle_open's tangle is the caller's (pg_tangle_close, NULL
 * ok); it copies the configuration's strings and borrows the callbacks'
 * contexts until then. Results go to caller structs, id arrays and
 * pg_bufs; pg_tangle_db and strings in pg_tangle_status are borrowed until
 * pg_tangle_close.
 * Errors: 0 or a negative pg_err; functions taking a pg_diag write one
 * sentence naming the problem there (submit: syntax, network id, PoW,
 * milestone, solidifier full, storage), the lookups return
 * PG_ERR_NOT_FOUND for unknown ids and PG_ERR_DB when storage fails.
 * Threads: every function may be called from any thread; a pg_tangle
 * serialises access internally. pg_tangle_attach() does its proof of work
 * outside the lock.
 *
 * Storage: <data_dir>/tangle.db holds raw messages, metadata, children, the
 * indexation index and milestones. Everything survives a restart; a message is
 * stored in one SQLite transaction with its metadata, children and index rows,
 * so a crash never leaves half a message. Submits that run at the same time
 * share one transaction (group commit; each message in its own savepoint, so
 * one refused message leaves the others stored): pg_tangle_submit returns
 * only after the COMMIT that stored its message. */
#ifndef P2PGRID_TANGLE_TANGLE_H
#define P2PGRID_TANGLE_TANGLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/tangle/batch.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/message_json.h"

typedef struct pg_tangle pg_tangle;

/* Called for each transaction message of a milestone's past cone, in
 * white-flag order, under the tangle lock (the ledger plugs in here). Return 0
 * and set *included (true: applied; false: conflicting with *conflict_reason
 * using iota.js ConflictReason codes). Without a hook, transaction messages
 * are marked conflicting with reason 255 (semantic validation failed) — the
 * ledger (issue 3) replaces that. A non-zero return aborts (rolls back) the
 * whole submit. The coordinator (pg_tangle_issue_milestone) learns the
 * inclusion Merkle root from the walk itself: on a node that needs no proof
 * of work it walks the cone once, inside the transaction that then stores
 * and confirms the milestone (the hook is called once a transaction); when
 * a nonce must be searched it first runs the walk as a dry run, calling the
 * hook for the same index and messages inside an SQLite SAVEPOINT that is
 * rolled back. Either way a hook must keep its ledger state in the Tangle's
 * database (pg_tangle_db), not in memory. */
typedef int (*pg_tx_confirm_fn)(void *ctx, uint32_t milestone_index, const uint8_t msg_id[PG_ID_LEN],
                                const pg_message *m, bool *included, uint8_t *conflict_reason);

/* Called for a transaction message that passed its entry checks, on the
 * thread that submits it (pg_tangle_submit, pg_tangle_attach and their
 * later forms when the message is parsed there), before it is queued and
 * outside the tangle's lock, so from several threads at once: a place for
 * work its confirmation will need that does not depend on the ledger's
 * state (the ledger verifies the signatures and remembers the valid ones,
 * so a milestone's white flag, which runs under the lock on one thread,
 * finds them verified). It cannot refuse the message and must not call
 * pg_tangle_* functions. */
typedef void (*pg_tx_precheck_fn)(void *ctx, const pg_message *m);

/* ---- events ----------------------------------------------------------------
 * What happened in the Tangle, told to an optional sink (pg_tangle_config
 * on_event) so that a node can publish it (e.g. over MQTT) without polling.
 *
 * Rule: the sink is called AFTER the submit's SQLite transaction committed
 * (a rolled-back submit tells nothing), while the Tangle's lock is still
 * held, on the thread that submitted or, when submits were grouped into one
 * commit, on the thread that led the group (the events of its messages in
 * queue order, each message's events together). So events arrive in one total order, the
 * order of the commits, and nothing in them is ever undone. The sink must
 * not call any pg_tangle_* function (it would deadlock), must not block and
 * should be quick: copy what it needs and return. Pointers in the event are
 * valid only during the call. One submit tells, in this order: MESSAGE;
 * MILESTONE_LATEST if it raised the latest milestone index; SOLID for every
 * message that became solid (the new one and waiting children); then per
 * milestone confirmed by it, REFERENCED for every message of its past cone in
 * white-flag order (the milestone itself last) followed by
 * MILESTONE_CONFIRMED. The coordinator's dry run tells nothing. */
typedef enum pg_tangle_event_kind {
  PG_TANGLE_EV_MESSAGE = 1,          /* a new message was stored: id, raw */
  PG_TANGLE_EV_MILESTONE_LATEST = 2, /* a valid milestone above every earlier index: milestone */
  PG_TANGLE_EV_SOLID = 3,            /* a message became solid: meta (not referenced yet) */
  PG_TANGLE_EV_REFERENCED = 4,       /* a message was referenced by a milestone: meta */
  PG_TANGLE_EV_MILESTONE_CONFIRMED = 5, /* a milestone was confirmed: milestone */
} pg_tangle_event_kind;

struct pg_msg_meta;
typedef struct pg_tangle_event {
  pg_tangle_event_kind kind;
  const uint8_t *id;                /* the message (every kind) */
  const uint8_t *raw;               /* MESSAGE: its bytes */
  size_t raw_len;
  const struct pg_msg_meta *meta;   /* SOLID, REFERENCED: its metadata as get_meta gives it */
  uint32_t ms_index;                /* MILESTONE_*: index */
  uint64_t ms_timestamp;            /* MILESTONE_*: Unix seconds */
} pg_tangle_event;

typedef void (*pg_tangle_event_fn)(void *ctx, const pg_tangle_event *ev);

typedef struct pg_tangle_config {
  const char *data_dir;     /* required; created if missing */
  const char *network_name; /* reported by /info; network id = BLAKE2b-256(name)[0..8] LE */
  const char *bech32_hrp;   /* e.g. "atoi" */
  uint32_t min_pow_score;   /* 0 = no PoW required */

  /* Milestone acceptance: public keys (32 bytes each) and how many must sign. */
  size_t ms_keys_count;
  uint8_t ms_public_keys[PG_MS_MAX_KEYS][32];
  unsigned ms_threshold; /* 1..ms_keys_count */

  /* URTS (TIP-3). 0 = the TIP defaults (8, 13, 15, 2, 3000 ms). */
  unsigned tsc_c1;
  unsigned tsc_c2;
  unsigned tsc_max_depth;
  unsigned tip_max_children;
  unsigned tip_max_age_ms;

  /* Solidifier: unsolid messages kept at most this many / this long. 0 = 10000 / 60000 ms. */
  size_t unsolid_max;
  unsigned unsolid_max_age_ms;

  /* PoW threads for pg_tangle_attach (0 = all cores). */
  unsigned pow_threads;

  /* WAL pages that wake the store's checkpoint thread (0 = 16384, 64 MiB). */
  unsigned checkpoint_pages;

  /* The store is this process's alone while it is open (an embedded node,
   * as the simulator's, and a node daemon: node.c; base/walbuf.h
   * pg_walbuf_vfs_process): no file lock per transaction, and another
   * process (sqlite3, p2pgrid audit of the data directory) gets "database
   * is locked" until it is closed; a node daemon writes the backups
   * `p2pgrid backup` asks for itself (base/backup_serve.h). false: other
   * processes may read the store while it runs. */
  bool process;

  const pg_clock *clock; /* NULL = real clock */

  pg_tx_confirm_fn tx_confirm; /* optional */
  void *tx_confirm_ctx;
  pg_tx_precheck_fn tx_precheck; /* optional */
  void *tx_precheck_ctx;

  pg_tangle_event_fn on_event; /* optional; see "events" above */
  void *on_event_ctx;
} pg_tangle_config;

/* Fills c with defaults (network "private-tangle", hrp "atoi", score 0, TIP-3 values). */
void pg_tangle_config_defaults(pg_tangle_config *c);

PG_NODISCARD int pg_tangle_open(const pg_tangle_config *c, pg_tangle **out, pg_diag *d);
void pg_tangle_close(pg_tangle *t); /* NULL ok */

/* Network id for a name: first 8 bytes of BLAKE2b-256(UTF-8 name), LE. */
uint64_t pg_network_id(const char *name);

/* Entry point for complete message bytes: parse, network id, PoW, milestone
 * signatures, store, solidify, confirm. id_out gets the message id. A message
 * that is already stored returns PG_OK (idempotent) with *is_new false.
 * Errors: PG_ERR_INVALID / TRUNCATED / TOO_LARGE (syntax), PG_ERR_NETWORK_ID,
 * PG_ERR_POW, PG_ERR_CRYPTO (bad milestone), PG_ERR_UNAVAILABLE (solidifier
 * full), PG_ERR_DB. d names the problem. is_new may be NULL. */
PG_NODISCARD int pg_tangle_submit(pg_tangle *t, const uint8_t *bytes, size_t len,
                                  uint8_t id_out[PG_ID_LEN], bool *is_new, pg_diag *d);

/* The entry checks of pg_tangle_submit (syntax, network id, PoW, milestone
 * signatures against the configured keys) without storing anything; same
 * errors. A replica checks a milestone this way before it fetches the
 * milestone's past cone, so a peer with a wrong key leaves nothing behind. */
PG_NODISCARD int pg_tangle_check(pg_tangle *t, const uint8_t *bytes, size_t len, pg_diag *d);

/* Completes a draft (POST /messages): fills a missing network id, missing
 * parents from tip selection, a missing nonce by proof of work (cancel may be
 * NULL), then pg_tangle_submit. A given network id must match, given parents
 * are kept, a given nonce must meet min_pow_score. */
PG_NODISCARD int pg_tangle_attach(pg_tangle *t, const pg_message_draft *draft, atomic_bool *cancel,
                                  uint8_t id_out[PG_ID_LEN], pg_diag *d);

/* ---- answered later ------------------------------------------------------
 * For a caller that must not wait for the COMMIT (an HTTP thread serving
 * many connections). The entry checks run in the call: their errors are
 * returned and done is never called. PG_OK means queued: done(ctx, rc, id,
 * is_new, d) is then called exactly once, after the COMMIT that stored the
 * message or with the error that refused it: before the call returns when
 * nothing else was being stored (the caller's thread stores it at once),
 * else later from the tangle's committer thread (started by the first such
 * call) or a submitter leading the group (rc
 * and d as pg_tangle_submit / _attach report them; id is the message's id
 * when rc is PG_OK; d is valid during the call only). done must not call
 * back into the tangle's write functions. pg_tangle_close runs what is
 * queued, calling every done, before it returns; a call during the close is
 * PG_ERR_STATE. */
typedef void (*pg_tangle_done_fn)(void *ctx, int rc, const uint8_t id[PG_ID_LEN], bool is_new,
                                  const pg_diag *d);

/* pg_tangle_submit, answered later (bytes are copied). */
PG_NODISCARD int pg_tangle_submit_later(pg_tangle *t, const uint8_t *bytes, size_t len,
                                        pg_tangle_done_fn done, void *ctx, pg_diag *d);

/* pg_tangle_attach, answered later, for a draft that needs no proof of work
 * (min_pow_score 0, or a nonce with given parents); otherwise
 * PG_ERR_UNSUPPORTED: call pg_tangle_attach. A draft without parents is
 * built at the commit, its parents chosen as pg_tangle_attach_many chooses
 * them (the messages stored before it in the same transaction and a tip, or
 * up to 8 tips for the first). */
PG_NODISCARD int pg_tangle_attach_later(pg_tangle *t, const pg_message_draft *draft,
                                        pg_tangle_done_fn done, void *ctx, pg_diag *d);

/* One message for pg_tangle_attach_many: a payload, the rest filled in. */
typedef struct pg_tangle_item {
  const uint8_t *payload; /* serialised payload, type first (not a milestone) */
  size_t payload_len;     /* 0: a message without payload */
  bool follows;           /* not attached (PG_ERR_STATE) unless the item before it was */
  uint8_t id[PG_ID_LEN];  /* out: its message id when rc is PG_OK */
  int rc;                 /* out: PG_OK once stored */
  pg_diag *d;             /* out, may be NULL: why rc is not PG_OK */
} pg_tangle_item;

/* Attaches items[0..n) in order, as pg_tangle_attach would one by one with
 * drafts that give only the payload, but stores up to 256 of them in one
 * transaction (a savepoint each: a refused item leaves the others alone).
 * Parents: the first message of a transaction takes up to 8 tips; each later
 * one the one or two messages stored before it in that transaction and one
 * tip, so a transaction's messages form a chain that one milestone confirms
 * and the tip set does not grow by the group's size. With min_pow_score > 0
 * each item goes through pg_tangle_attach in turn (proof of work each).
 * Every item gets its rc; the return value is PG_ERR_INVALID for bad
 * arguments only (then no item was touched). */
PG_NODISCARD int pg_tangle_attach_many(pg_tangle *t, pg_tangle_item *items, size_t n);

/* pg_tangle_attach_many for data (indexation) messages (batch.c; the
 * in-process client's and the node's batches): builds each item's payload
 * and attaches those that built in one call. An item that does not build
 * keeps its error, and an item that follows one not attached (the item
 * before it in items) is not attached (PG_ERR_STATE, "not attached: the
 * message before it was not"). Every item gets rcs[i], and ids[i] when that
 * is PG_OK; diags (may be NULL) says why not. Returns PG_OK, or the error
 * (PG_ERR_NOMEM, PG_ERR_INVALID) every item not refused before the attach
 * then got. */
int pg_tangle_attach_data_many(pg_tangle *t, const pg_batch_item *items, size_t n, int *rcs,
                               uint8_t (*ids)[PG_ID_LEN], pg_diag *diags);

enum pg_inclusion {
  PG_INCL_UNKNOWN = 0, /* not yet referenced */
  PG_INCL_NO_TX = 1,
  PG_INCL_INCLUDED = 2,
  PG_INCL_CONFLICTING = 3,
};

typedef struct pg_msg_meta {
  uint8_t id[PG_ID_LEN];
  uint8_t parents_count;
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  bool solid;
  uint32_t referenced_by;   /* milestone index, 0 = not referenced yet */
  uint32_t milestone_index; /* set on valid milestone messages, else 0 */
  int inclusion;            /* enum pg_inclusion */
  uint8_t conflict_reason;
  bool should_promote;  /* only meaningful while not referenced */
  bool should_reattach; /* only meaningful while not referenced */
  uint64_t arrival_ms;
} pg_msg_meta;

/* out must be initialised (pg_buf_init, limit >= PG_MSG_MAX_LEN); its content
 * is replaced. PG_ERR_NOT_FOUND for unknown ids (also for get_meta). */
PG_NODISCARD int pg_tangle_get_raw(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_buf *out);
PG_NODISCARD int pg_tangle_get_meta(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_msg_meta *m);
/* pg_tangle_get_meta's confirmation fields only (id, solid, referenced_by,
 * milestone_index, inclusion, conflict_reason, arrival_ms; the rest zero):
 * one row read, no parents and no tip-score walk (the node's batched
 * lookups: POST /api/plugins/data/find with meta). */
PG_NODISCARD int pg_tangle_get_confirmation(pg_tangle *t, const uint8_t id[PG_ID_LEN],
                                            pg_msg_meta *m);

/* Up to max ids into ids (32 bytes each); *count = how many written,
 * *total = how many exist. An unknown message has no children (PG_OK, 0). */
PG_NODISCARD int pg_tangle_children(pg_tangle *t, const uint8_t id[PG_ID_LEN], size_t max,
                                    uint8_t (*ids)[PG_ID_LEN], size_t *count, size_t *total);
/* Messages whose indexation payload (top level or inside a transaction
 * essence) has exactly this index, oldest first. */
PG_NODISCARD int pg_tangle_find_index(pg_tangle *t, const uint8_t *index, size_t index_len, size_t max,
                                      uint8_t (*ids)[PG_ID_LEN], size_t *count, size_t *total);

typedef struct pg_milestone_info {
  uint32_t index;
  uint8_t message_id[PG_ID_LEN];
  uint64_t timestamp; /* Unix seconds */
} pg_milestone_info;

/* A confirmed milestone by index. PG_ERR_NOT_FOUND if unknown. */
PG_NODISCARD int pg_tangle_milestone(pg_tangle *t, uint32_t index, pg_milestone_info *out);

/* 1..max unique tip ids (max is capped at 8; 0 is PG_ERR_INVALID), sorted
 * ascending (non-lazy tips chosen uniformly at random). With no non-lazy tip,
 * returns the latest confirmed milestone's message, or the solid entry point
 * (32 zero bytes) before the first milestone, so a new network can start. */
PG_NODISCARD int pg_tangle_select_tips(pg_tangle *t, uint8_t (*ids)[PG_ID_LEN], size_t max,
                                       size_t *count);

typedef struct pg_tangle_status {
  const char *network_name; /* borrowed from the tangle */
  uint64_t network_id;
  const char *bech32_hrp;
  uint32_t min_pow_score;
  uint32_t latest_milestone_index;
  uint64_t latest_milestone_timestamp;
  uint32_t confirmed_milestone_index;
  uint64_t confirmed_milestone_timestamp;
  uint32_t pruning_index;
  uint64_t messages;         /* stored */
  uint64_t unsolid;          /* waiting for parents */
  uint64_t tips;             /* non-lazy + semi-lazy tips tracked */
  double messages_per_second;            /* over the last interval between milestones */
  double referenced_messages_per_second;
  double referenced_rate;                /* percent */
  uint64_t checkpoints;        /* WAL checkpoints run by the store's checkpoint thread */
  uint64_t checkpoints_inline; /* ... and by a writer, the WAL having reached 4 x checkpoint_pages */
  uint64_t checkpoint_frames;        /* WAL frames the checkpoint thread copied to the database */
  uint64_t checkpoint_frames_writer; /* ... and a writer did, on the commit path (ending a
                                        cycle: a few; at the hard limit: many) */
  uint64_t commits;   /* store transactions since open (a group of submits, a batch) */
  uint64_t committed; /* new messages they stored: committed / commits = messages a commit */
} pg_tangle_status;

void pg_tangle_get_status(pg_tangle *t, pg_tangle_status *s);

/* Coordinator: builds, signs (with every secret key given, 64 bytes each, in
 * any order), does PoW for and submits the next milestone (index =
 * latest + 1; without PoW it is built and stored in one commit, its cone
 * walked once; with PoW its root comes from a dry run first and the nonce is
 * searched outside the lock), referencing up to 8 current tips (at least 2 parents: the tip
 * set is padded with the previous milestone / solid entry point; on an empty
 * network a small indexation message "p2pgrid-coordinator" is attached first
 * to be the second parent). On success *index_out gets its index and the
 * milestone is confirmed. PG_ERR_UNAVAILABLE while a stored later milestone
 * waits for its past cone; PG_ERR_CRYPTO if the keys are not the network's. */
PG_NODISCARD int pg_tangle_issue_milestone(pg_tangle *t, const uint8_t (*secret_keys)[64],
                                           size_t keys_count, atomic_bool *cancel,
                                           uint32_t *index_out, pg_diag *d);

/* TIP-4 inclusion Merkle root over message ids (in white-flag order): empty
 * list = BLAKE2b-256(""), one leaf = BLAKE2b-256(0x00 || id), otherwise
 * BLAKE2b-256(0x01 || root(first k) || root(rest)), k the largest power of
 * two below n. */
void pg_merkle_root(const uint8_t (*ids)[PG_ID_LEN], size_t n, uint8_t out[PG_ID_LEN]);

/* The Tangle's own SQLite connection and database path, for the ledger
 * (pg_ledger_attach) only: borrowed, valid until pg_tangle_close. Use the
 * connection only before the first submit or from inside the tx_confirm hook
 * (which runs under the tangle lock, inside the confirmation transaction). */
struct sqlite3;
struct sqlite3 *pg_tangle_db(pg_tangle *t);
const char *pg_tangle_db_path(const pg_tangle *t);

#endif
