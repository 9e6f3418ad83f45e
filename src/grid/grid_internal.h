/* grid_internal.h — shared by the entity files of src/grid (not a public
 * contract): the entity base (database, our channel, upstream registration),
 * the persistent outbox, channel reading, the registry of registrations. */
#ifndef P2PGRID_GRID_INTERNAL_H
#define P2PGRID_GRID_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/grid/grid.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/tls/tls.h"

#define PG_ENTITY_DB_BUSY_MS 10000
#define PG_ENTITY_MAX_READ 64 /* messages read from one channel per step */
/* A member's (source, producer, consumer) new database: 1 KiB pages. Its
 * rows are small and its commits change a few of them, each writing its
 * dirty pages whole (to the WAL, then again at the checkpoint): with 4 KiB
 * pages the simulated community's members spent about a tenth of its CPU
 * copying them (docs/PERFORMANCE.md). The grid's keeps SQLite's 4 KiB: its
 * rows include the record's parts, tens of KiB each. */
#define PG_ENTITY_MEMBER_PAGE_SIZE 1024

/* ---- database ---- */

/* The SQLite helpers are p2pgrid/base/db.h (pg_db_*); an entity database is
 * pg_db_open_with(dir, "<role>.db", schema, {PG_ENTITY_DB_BUSY_MS, sole,
 * process, page size}, ...). */
/* A small key/value table "kv" (every entity has one). get: *out = def when
 * missing. */
PG_NODISCARD int pg_kv_get_i64(sqlite3 *db, const char *key, int64_t def, int64_t *out, pg_diag *d);
PG_NODISCARD int pg_kv_set_i64(sqlite3 *db, const char *key, int64_t v, pg_diag *d);
/* Text value into out (cap bytes, NUL-terminated); "" when missing. */
PG_NODISCARD int pg_kv_get_text(sqlite3 *db, const char *key, char *out, size_t cap, pg_diag *d);
PG_NODISCARD int pg_kv_set_text(sqlite3 *db, const char *key, const char *v, pg_diag *d);
/* counters: name -> count (status API "errors"). Adds n. */
PG_NODISCARD int pg_count_add(sqlite3 *db, const char *name, int64_t n, pg_diag *d);
/* o[key] = the integer sql returns (a status field); the query's error
 * otherwise, never a made-up 0. */
PG_NODISCARD int pg_status_i64(json_t *o, const char *key, sqlite3 *db, const char *sql,
                               pg_diag *d);
/* The rows of sql (?1 = a, ?2 = b when it has them) as a JSON array of
 * objects keyed by column name (integers, reals, strings, null). */
PG_NODISCARD int pg_rows_json(sqlite3 *db, const char *sql, int64_t a, int64_t b, json_t **out,
                              pg_diag *d);
/* The same for a prepared (and bound) statement; finalizes st. */
PG_NODISCARD int pg_rows_collect(sqlite3 *db, sqlite3_stmt *st, json_t **out, pg_diag *d);
/* pg_gridop_events on a grid database (events.c). */
PG_NODISCARD int pg_grid_events_json(sqlite3 *db, pg_events_scope scope, const char *member,
                                     unsigned limit, json_t **out, pg_diag *d);
/* {"name": count, ...} of the counters table. */
PG_NODISCARD int pg_counts_json(sqlite3 *db, json_t **out, pg_diag *d);

/* ---- prepared statements kept per connection (store.c) ----
 * Statements the entities run every step are prepared once per connection
 * and reused (parsing SQL was a fifth of a full-mode simulation's time).
 * pg_stmt_get: *st = the statement of (db, sql), reset and unbound, ready to
 * bind; sql is keyed by its address, so it must be a constant (a literal),
 * never text built at run time (use pg_db_prepare for that). While a cached
 * statement is out, a second get of the same (db, sql) gets a fresh one.
 * pg_stmt_put: resets a cached statement and takes it back, finalizes any
 * other (so it replaces sqlite3_finalize everywhere; NULL is a no-op).
 * pg_stmt_step_done: pg_db_step_done that puts instead of finalizing. pg_grid_db_close forgets a connection's statements and closes it
 * (every connection that used pg_stmt_get is closed through it).
 * pg_grid_begin / pg_grid_commit are pg_db_begin / pg_db_commit on cached
 * statements (commit rolls back when it fails). Threads: the cache is
 * split by connection into stripes, each under its own mutex; a statement
 * is used by the thread that got it. */
PG_NODISCARD int pg_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **st, pg_diag *d);
void pg_stmt_put(sqlite3_stmt *st);
PG_NODISCARD int pg_stmt_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, pg_diag *d);
/* pg_db_i64 (base/db.h) on a cached statement: for a query run every
 * step (sql a literal, as for pg_stmt_get). */
PG_NODISCARD int pg_stmt_i64(sqlite3 *db, const char *sql, int64_t arg, int64_t def, int64_t *out,
                             pg_diag *d);
/* *has: whether sql (a literal, as for pg_stmt_get; ?1 = text) returns a
 * row, e.g. "SELECT 1 FROM t WHERE key = ?1". PG_ERR_DB with what in d. */
PG_NODISCARD int pg_stmt_has_text(sqlite3 *db, const char *sql, const char *text, bool *has,
                                  const char *what, pg_diag *d);
void pg_grid_db_close(sqlite3 *db);
/* Facts a module keeps per connection, beside its statements (one word of
 * bits, 0 until set; forgotten by pg_grid_db_close). set: false without
 * memory (nothing set). add_flags_file: flags added to db's and to those of
 * every other connection that has flags to the same database file (a fact
 * about the file, e.g. chan.c's published findings, seen by every
 * connection to it; without memory db's own stay as they were). */
unsigned pg_grid_db_flags(sqlite3 *db);
bool pg_grid_db_set_flags(sqlite3 *db, unsigned flags);
void pg_grid_db_add_flags_file(sqlite3 *db, unsigned flags);
PG_NODISCARD int pg_grid_begin(sqlite3 *db, pg_diag *d);
PG_NODISCARD int pg_grid_commit(sqlite3 *db, pg_diag *d);

/* The tables every entity database has (kv, counters, channels, outbox). */
extern const char pg_entity_schema[];
/* The consumer's own tables (usages, requests; consumer.c). */
extern const char pg_consumer_schema[];
/* The grid operator's own tables (readings, slots, bills, payouts, ...;
 * gridop.c) and two of its frequent reads whose plans test_grid_plans
 * checks: the open readings of one party up to a slot (record_book.c; ?1
 * slot, ?2 party) and every party's open readings of one kind (gridop.c;
 * ?1 kind, ?2 slot). */
extern const char pg_gridop_schema[];
extern const char pg_grid_sql_party_open_readings[];
extern const char pg_grid_sql_open_parties[];
/* Two more whose plans test_grid_plans checks: the status's last payments
 * received (newest first through incoming_seen, not a sort of every
 * payment) and the producers due a payout (?1 the threshold; through the
 * partial index payouts_due: the rows not yet in a batch). */
/* An outbox's unsent rows with their created payloads (chan.c): through
 * outbox_unsent, the unsent rows only (test_grid_plans). */
extern const char pg_chan_sql_unsent[];
extern const char pg_grid_sql_recent_payments[];
extern const char pg_grid_sql_due_payouts[];
/* A payout batch's outputs (?1 batch id), and its total and output count
 * set (?1 batch id, ?2 total): by the partial index payouts_batch. */
extern const char pg_grid_sql_batch_outputs[];
extern const char pg_grid_sql_batch_set_total[];

/* ---- running totals (totals.c) ----
 * One row, grid_totals, kept by triggers in the transaction of every
 * insert, update and delete of bills, readings and incoming: the bills
 * (all, paid in full), the money paid on them (each bill's payments up to
 * what it owes) and still owed, the readings, and the consumers' payments
 * received (incoming rows whose request id does not start with '(').
 * Each equals the sum over its table (test_grid_totals).
 * pg_grid_totals_setup: creates the table and the triggers if missing and
 * seeds the row from the tables as they are when it is missing, in one
 * transaction (a database from before the totals is counted once; run at
 * every open, which then reads the row, not the tables).
 * pg_grid_totals_get: the row (PG_ERR_STATE if it is missing).
 * The same set-up keeps payout_totals(producer_id, state, payouts, amount):
 * each producer's payouts and their sum by the state of their batch (-1:
 * in none), kept by triggers on payouts and on batches (a batch's state
 * change moves its payouts); what the status, the metrics and the
 * producers' list read instead of every payout ever made. Rows may hold
 * zeros. Equal to the GROUP BY over payouts and batches (test_grid_totals).
 * And member_totals(entity_id, readings, wh, bills, billed, paid,
 * outstanding): each member's readings (their count and energy) and bills
 * (their count and the money owed, paid and not paid, as the grid's
 * totals count a bill), kept by triggers on readings and bills; what the
 * producers' and consumers' lists read instead of every reading and bill
 * of each member. A member with neither has no row. Equal to the GROUP BY
 * over readings and bills (test_grid_totals). */
typedef struct pg_grid_totals {
  int64_t bills, bills_paid, paid, outstanding, readings, received;
} pg_grid_totals;
PG_NODISCARD int pg_grid_totals_setup(sqlite3 *db, pg_diag *d);
PG_NODISCARD int pg_grid_totals_get(sqlite3 *db, pg_grid_totals *t, pg_diag *d);
/* A consumer's: consumer_totals, kept the same way over its usages and
 * requests: the energy reported and the slots, the requests (all), the
 * energy they bill (all but the refused), the refused, and the money they
 * ask in all, paid, sent and not confirmed (pending), and not paid
 * (outstanding: not yet paid or refused). The bill check and the status
 * read it (test_grid_totals). Setup and get as the grid's. */
typedef struct pg_consumer_totals {
  int64_t reported_wh, slots_reported, requests, billed_wh, refused, billed, paid, pending,
      outstanding;
} pg_consumer_totals;
PG_NODISCARD int pg_consumer_totals_setup(sqlite3 *db, pg_diag *d);
PG_NODISCARD int pg_consumer_totals_get(sqlite3 *db, pg_consumer_totals *t, pg_diag *d);

/* ---- our channels: persistent outbox ----
 * A channel named `name` is a restricted MAM channel whose state lives in the
 * "channels" table. Messages are queued as JSON text in "outbox" (in the
 * caller's transaction), then published in order by pg_chan_flush: each is
 * created in memory, attached, and then marked sent together with its
 * channel's new state in one transaction. A crash before that loses
 * nothing and signs nothing twice: the row is still unsent and the state
 * still before it, and the same state and text make the same bytes (MAM
 * creation draws nothing at random), so the next flush attaches the same
 * payload again (readers see the same message; a leaf never carries two
 * different ones). A row made but not taken by the node keeps its payload
 * (outbox_made) and its channel the state after it, so a retry attaches it
 * without making it again. */

typedef struct pg_chan_info {
  char root[PG_MAM_HASH_TRYTES + 1];     /* first root (where readers start) */
  char side_key[PG_MAM_HASH_TRYTES + 1];
} pg_chan_info;

/* Creates the channel when missing (random seed and side key; security 1..3);
 * *created tells. Call inside a transaction to queue a hello atomically. */
PG_NODISCARD int pg_chan_ensure(sqlite3 *db, const char *name, int security, pg_chan_info *info,
                                bool *created, pg_diag *d);
/* The same for a channel of mode PG_MAM_RESTRICTED or PG_MAM_PUBLIC (a public
 * channel has no side key: info->side_key is ""; anyone who knows its root
 * reads it). The mode of an existing channel is what it was created with. */
PG_NODISCARD int pg_chan_ensure_mode(sqlite3 *db, const char *name, pg_mam_mode mode, int security,
                                     pg_chan_info *info, bool *created, pg_diag *d);
PG_NODISCARD int pg_chan_info_get(sqlite3 *db, const char *name, pg_chan_info *info, pg_diag *d);
/* Queues the canonical JSON of m on channel `name`. */
PG_NODISCARD int pg_chan_queue(sqlite3 *db, const char *name, const pg_grid_msg *m, pg_diag *d);
/* Queues a message already serialised (1..PG_GRID_MAX_SETTLEMENT_JSON bytes
 * of text, e.g. a settlement record part). */
PG_NODISCARD int pg_chan_queue_text(sqlite3 *db, const char *name, const void *json, size_t len,
                                    pg_diag *d);
/* Outside a transaction: whether a restore's findings (pg_chan_skip_published)
 * are still left is asked again when they were, so that queueing stops
 * looking them up once every one is used (a flush calls it). */
PG_NODISCARD int pg_chan_published_recheck(sqlite3 *db, pg_diag *d);
/* Publishes queued messages of every channel in order; stops at the first
 * failure of the node (returned; the rest waits for the next call).
 * *sent (may be NULL) gets how many were attached. chan_flush.c */
PG_NODISCARD int pg_chan_flush(sqlite3 *db, pg_client *c, pg_mam_keys *keys, size_t *sent,
                               pg_diag *d);
/* pg_chan_flush on many databases at once, in two phases.
 * pg_chan_create_many reads each database's unsent rows once and makes the
 * messages of those not created yet, in memory: every channel's next
 * message in one pg_mam_create_batch (keys: NULL or a MAM cache kept from
 * call to call; rounds under 32 one at a time), a channel's further rows
 * from states skipped to in advance; each row's bytes are those of
 * pg_mam_create_message row after row. A row that cannot be made (a
 * missing channel, text that is not UTF-8) stops its database there: the
 * rows before it go, it and the later ones wait, and its error is the
 * database's. Nothing is written. pg_chan_send_many then attaches every
 * database's ready rows (created before or made now, in order) in one
 * pg_mam_attach_many (a database's rows in order, each only if the one
 * before it went), and each database records in one transaction the
 * attached rows sent, the first that failed with its error, its channels'
 * states after the rows made, and the payloads of the rows made but not
 * attached. pg_chan_keep_made instead records only the last two (nothing
 * is attached). Out: rc and d, what pg_chan_flush would return for that
 * database, and sent. pg_chan_send_free frees both phases' memory (after
 * either, or after pg_chan_create_many alone: nothing made is kept). */
typedef struct pg_chan_send {
  sqlite3 *db; /* in */
  int rc;      /* out */
  pg_diag d;
  size_t sent;
  /* chan_flush.c's */
  struct out_row *v; /* the unsent rows, read once */
  size_t n, ready;   /* ready: how many lead that can go now */
  struct chan_row *rows; /* those not created yet, in seq order */
  size_t nrows;
  struct chan_state *chans;
  int64_t stop; /* seq of the first row that cannot be made */
  int create_rc;
  pg_diag create_d;
} pg_chan_send;
void pg_chan_create_many(pg_chan_send *s, size_t n, pg_mam_keys *keys);
void pg_chan_send_many(pg_chan_send *s, size_t n, pg_client *c);
void pg_chan_keep_made(pg_chan_send *s, size_t n);
void pg_chan_send_free(pg_chan_send *s, size_t n);
/* pg_chan_create_many and pg_chan_keep_made on one database: its queued
 * messages created and saved, not attached; the error of the first row
 * that cannot be made, or of the database. */
PG_NODISCARD int pg_chan_create_queued(sqlite3 *db, pg_mam_keys *keys, pg_diag *d);
/* Messages queued or created but not yet attached. */
PG_NODISCARD int pg_chan_pending(sqlite3 *db, int64_t *n, pg_diag *d);
/* After a restore (the state older than what was published): for each of
 * our channels, while a verified message of the channel is already at its
 * next position on the Tangle, move the saved state over it (a message is
 * created and dropped: no index is signed twice, readers who read the
 * published one go on from there), and its text remembered: the same text
 * queued again on the channel (pg_chan_queue_text) is dropped once instead
 * of sent twice. *skipped counts them. The node's errors
 * as they are (nothing is moved past a message that cannot be read). */
/* ---- resuming after a restore (resume.c) ---- */
extern const char pg_payout_credit_schema[];
/* The key of the grid's references: BLAKE2b keyed by the wallet seed
 * (16..64 bytes, PG_ERR_CONFIG else). */
PG_NODISCARD int pg_grid_ref_key(const uint8_t *seed, size_t seed_len, uint8_t key[32], pg_diag *d);
/* 16 hex digits: the first 8 bytes of BLAKE2b(what) keyed by key. */
void pg_grid_ref_tag(const uint8_t key[32], const char *what, char hex[17]);
/* Looks under index ref (batch id's) for a transaction signed by our
 * address `ours` that does not conflict; found: batch id booked (state sent,
 * its message, total and outputs to others; batch_refs; a payout_credits row
 * per address, bech32 with hrp), *adopted. PG_ERR_UNAVAILABLE when the node
 * cannot be asked or a message under the index cannot be read (nothing
 * booked: ask again); PG_ERR_DB. */
PG_NODISCARD int pg_payout_adopt(sqlite3 *db, pg_client *c, int64_t id, const char *ref,
                                 const uint8_t ours[32], const char *hrp, uint64_t now,
                                 bool *adopted, pg_diag *d);
/* Assigns unbatched payout rows to the adopted batches' credits (per
 * address, oldest slot first, while they fit); *assigned counts the credits
 * used. One transaction. */
PG_NODISCARD int pg_payout_apply_credits(sqlite3 *db, size_t *assigned, pg_diag *d);
PG_NODISCARD int pg_chan_skip_published(sqlite3 *db, pg_client *c, size_t *skipped, pg_diag *d);

/* ---- reading a channel ----
 * A channel is read with a cursor {root, leaf} (p2pgrid/mam/mam.h, pg_mam_read):
 * every message of every tree in leaf order, also when the writer puts
 * several messages in one tree (a device using mam.js with count 4); a leaf
 * not attached yet stops the reader there (later leaves wait for it). Each
 * message read carries the cursor after it, which the caller stores in the
 * transaction that handles the message, so a restart resumes exactly there.
 * A message that is not a grid message has status PG_ERR_INVALID and the
 * reason in why (the caller skips it: next is set). */
typedef struct pg_chan_read {
  pg_mam_cursor next; /* where reading goes on after this message */
  uint8_t msg_id[32];
  int status;         /* PG_OK, or PG_ERR_INVALID: not a grid message */
  char why[200];
  pg_grid_msg msg;    /* status PG_OK only */
} pg_chan_read;
/* Up to max (>= 1) messages of a restricted channel from *at, in order:
 * *out (array of *n, owned: free()); *n == 0 when nothing is there yet.
 * info (may be NULL) as pg_mam_read's. Errors: the node's, PG_ERR_NOMEM. */
PG_NODISCARD int pg_chan_read_from(pg_client *c, const pg_mam_cursor *at, const char *side_key,
                                   size_t max, pg_chan_read **out, size_t *n,
                                   pg_mam_read_info *info, pg_diag *d);
/* pg_chan_read_from on n channels at once (pg_mam_read_many: their
 * signatures checked in one batch). Per request: at, side_key and max in;
 * rc / d, list / n (owned: free()) and info as pg_chan_read_from's. Returns
 * PG_ERR_NOMEM for its own memory (no request done), else PG_OK. */
typedef struct pg_chan_read_req {
  pg_mam_cursor at;
  const char *side_key;
  size_t max;
  int rc;
  pg_diag d;
  pg_chan_read *list;
  size_t n;
  pg_mam_read_info info;
} pg_chan_read_req;
PG_NODISCARD int pg_chan_read_many(pg_client *c, pg_chan_read_req *reqs, size_t n, pg_diag *d);
/* What pg_chan_read_at returns, from a request of max 1 already read
 * (pg_chan_read_many); takes r's list. */
PG_NODISCARD int pg_chan_read_first(pg_chan_read_req *r, pg_chan_read *out, pg_diag *d);
/* The one message at *at: PG_OK; PG_ERR_NOT_FOUND when it is not there yet;
 * PG_ERR_INVALID (reason in d, out->next set) for a message that is not a
 * grid message; the node's errors. */
PG_NODISCARD int pg_chan_read_at(pg_client *c, const pg_mam_cursor *at, const char *side_key,
                                 pg_chan_read *out, pg_diag *d);

/* ---- metrics (grid_metrics.c): GET /metrics of the entity daemons ----
 * One registry per entity (pg_entity.metrics, made by pg_entity_init for
 * its role). Events are counted where they happen; counting is lock-free
 * and may come from any thread; NULL metrics are a no-op. */
typedef enum pg_grid_metric_event {
  PG_GM_SLOT_SETTLED, PG_GM_SLOT_REPORTED, PG_GM_READING_ACCEPTED, PG_GM_READING_QUARANTINED,
  PG_GM_READING_REFUSED, PG_GM_READING_DUPLICATE, PG_GM_BILL, PG_GM_PAYMENT_RECEIVED,
  PG_GM_PAYMENT_SENT, PG_GM_PAYOUT_SENT, PG_GM_PAYOUT_CONFIRMED, PG_GM_REGISTERED,
  PG_GM_REGISTRATION_FAILED, PG_GM_REGISTRATION_REFUSED, PG_GM_REG_REQUEST_ACCEPTED,
  PG_GM_REG_REQUEST_REFUSED, PG_GM_POLL_PAYMENTS, PG_GM_POLL_PAYOUTS, PG_GM_POLL_BILLS,
  PG_GM_POLL_CONFIRMATIONS, PG_GM_EVENTS
} pg_grid_metric_event;
typedef struct pg_grid_metrics pg_grid_metrics;
PG_NODISCARD int pg_grid_metrics_new(pg_grid_entity type, pg_grid_metrics **out, pg_diag *d);
void pg_grid_metrics_free(pg_grid_metrics *m); /* NULL ok */
void pg_grid_metrics_count(pg_grid_metrics *m, pg_grid_metric_event ev);
/* A problem of pg_entity_problem (its counter name; unknown names count as
 * "other"); the node's failures also count as node errors. */
void pg_grid_metrics_problem(pg_grid_metrics *m, const char *counter);

/* ---- entity base ---- */

typedef struct pg_entity {
  char id[PG_GRID_MAX_ID + 1];
  char name[PG_GRID_MAX_NAME + 1];
  char role[16];      /* "source", ... (also the log module) */
  char data_dir[512];
  char db_path[600];
  sqlite3 *db;        /* the stepping thread's connection */
  pg_client *client;
  const pg_clock *clock;
  uint64_t slot_ms;
  int security;
  pg_registrar *upstream;
  uint64_t retry_ms;
  pg_grid_entity type;
  const pg_tls_key *key;      /* the member's key and certificate (borrowed) */
  pg_events *events;          /* the node's MQTT events (borrowed), status only; may be NULL */
  pg_money money;             /* display of amounts (status "money") */
  pg_tz tz;                   /* display of times (status "timeZone") */
  char pay_address[PG_BECH32_MAX_LEN + 1]; /* a producer's, sent with its registration */
  pg_resource resource;       /* what we meter and trade (never zeroed: electricity filled in) */
  bool defer_flush;           /* pg_entity_opts.defer_flush */
  bool no_sync;               /* pg_entity_opts.no_sync */
  bool sole;                  /* pg_entity_opts.sole: e->db is the database's one connection */
  bool process;               /* pg_entity_opts.process: the database is this process's alone */
  /* upstream registration */
  bool registered;
  uint64_t next_register_ms;
  uint64_t next_flush_ms;
  bool restored;              /* the data dir holds PG_BACKUP_MARKER: catch up first */
  /* kv next_slot as committed, kept by pg_entity_next_slot (read every
   * round) and forgotten by pg_entity_set_next_slot (its only writer) */
  int64_t next_slot;
  bool next_slot_known;
  char last_error[256];
  pg_grid_metrics *metrics; /* owned (pg_entity_init / pg_entity_fini) */
  struct pg_reg_ahead *reg_ahead; /* owned: pg_registries_read_ahead's reads, or NULL */
  /* owned: the MAM cache of its own flushes, or NULL (the grid's: its bills
   * are a batch on the same channels in the same order every slot, so they
   * sign from kept lanes; pg_mam_keys_counts) */
  pg_mam_keys *mkeys;
} pg_entity;

/* Opens the database (schema = entity schema + role schema), copies options,
 * creates our "main" channel (with its hello queued) on first run. */
PG_NODISCARD int pg_entity_init(pg_entity *e, const pg_entity_opts *o, const char *role,
                                pg_grid_entity type, const char *role_schema, bool main_channel,
                                pg_diag *d);
void pg_entity_fini(pg_entity *e);
uint64_t pg_entity_now(const pg_entity *e);

/* A daemon's poll of its node for what comes now and then (a consumer's
 * bills, a producer's payouts): due at the first step of each slot and
 * once the gap after the last poll has passed. The gap is 0 after a poll
 * that found something (the next step polls again) and otherwise doubles
 * from min_ms, up to cap_ms. A zeroed pg_poll is due. */
typedef struct pg_poll {
  uint64_t slot, due_ms, gap_ms;
} pg_poll;
/* Whether a poll is due at now (slots of slot_ms). */
bool pg_poll_due(const pg_poll *p, uint64_t now, uint64_t slot_ms);
/* After a poll at now: found, whether it found something; the next due time. */
void pg_poll_done(pg_poll *p, uint64_t now, uint64_t slot_ms, bool found, uint64_t min_ms,
                  uint64_t cap_ms);
/* Due at the next step, and the gap from min_ms again (an event woke us). */
void pg_poll_wake(pg_poll *p);
/* The longest gap of every poll (30 s). */
#define PG_POLL_GAP_MAX_MS 30000u
/* An eighth of slot_ms, within [floor_ms, PG_POLL_GAP_MAX_MS]: the cap of a
 * poll's gap. */
uint64_t pg_poll_cap(uint64_t slot_ms, uint64_t floor_ms);
/* A hello from us, now: id, name and, with a member key, its certificate
 * (the caller adds the type and the signature of its binding). */
PG_NODISCARD int pg_entity_hello_init(const pg_entity *e, pg_grid_hello *h, pg_diag *d);
/* Signs the binding of channel c to us at time_ms with our member key. */
PG_NODISCARD int pg_entity_sign_binding(const pg_entity *e, const pg_grid_channel *c,
                                        uint64_t time_ms, pg_grid_signature *out, pg_diag *d);
/* Marks m (hello, output, usage) with our resource: version 1 for
 * electricity (the original bytes), else version 2 naming it. */
void pg_entity_mark(const pg_entity *e, pg_grid_msg *m);
/* *m = our reading of slot k (the slot's times): an output (cmd
 * PG_GRID_CMD_OUTPUT) or usage (PG_GRID_CMD_USAGE) of q base units, marked
 * with our resource; no price. */
void pg_entity_reading(const pg_entity *e, pg_grid_command cmd, uint64_t k, int64_t q,
                       pg_grid_msg *m);
/* Registers our main channel upstream when not yet done (and retries after
 * retry_ms on failure). A consumer's return channel (when the answer holds
 * one) is stored in kv "return_root" / "return_side_key". */
PG_NODISCARD int pg_entity_register(pg_entity *e, pg_diag *d);
/* After a restore (PG_BACKUP_MARKER in the data dir, e->restored): our
 * channels moved over what they already published (pg_chan_skip_published),
 * before anything new is queued or created; then the marker goes. False
 * while that has not succeeded (counted as node_failures, retried after
 * retry_ms). True at once without a restore. */
bool pg_entity_caught_up(pg_entity *e, uint64_t now);
/* Flushes the outbox, pausing retry_ms after a failure (a no-op with
 * defer_flush: pg_grid_flush_outboxes does it); catches up first. */
PG_NODISCARD int pg_entity_flush(pg_entity *e, pg_diag *d);
/* Records a non-fatal problem: log + counter + last_error. */
void pg_entity_problem(pg_entity *e, const char *counter, const char *fmt, ...) PG_PRINTF(3, 4);
/* Common status fields {"id","name","role","registered","root","pending",
 * "errors","lastError"}. */
PG_NODISCARD int pg_entity_status(pg_entity *e, sqlite3 *db, json_t **out, pg_diag *d);
/* The entity's metrics as Prometheus text appended to out: gauges read
 * from db (the caller's status connection, under its lock), the grid's
 * float (float_balance NULL for the other roles). */
PG_NODISCARD int pg_entity_metrics(pg_entity *e, sqlite3 *db, const int64_t *float_balance,
                                   uint64_t float_max, pg_buf *out, pg_diag *d);
/* pg_entity_metrics of a member (no float) on its status connection db,
 * taking mu (the member's status lock) around the reads. */
PG_NODISCARD int pg_entity_member_metrics(pg_entity *e, pthread_mutex_t *mu, sqlite3 *db,
                                          pg_buf *out, pg_diag *d);
/* Opens a second connection on the entity's database (for other threads);
 * PG_ERR_CONFIG for an entity opened sole. */
PG_NODISCARD int pg_entity_open_conn(const pg_entity *e, sqlite3 **out, pg_diag *d);
/* The connection status reads use: a second one (pg_entity_open_conn), or
 * for an entity opened sole its own e->db. Closed with
 * pg_entity_status_conn_close, which leaves e->db alone. */
PG_NODISCARD int pg_entity_status_conn(const pg_entity *e, sqlite3 **out, pg_diag *d);
void pg_entity_status_conn_close(const pg_entity *e, sqlite3 *db);

/* ---- registry (producer: sources; grid: producers and consumers) ----
 * Table "registrations"; state: 0 waiting for hello, 1 active, 2 closed
 * (goodbye), 3 rejected (first message was not a hello naming the id),
 * 4 removed (DELETE). */
enum { PG_REG_WAITING = 0, PG_REG_ACTIVE = 1, PG_REG_CLOSED = 2, PG_REG_REJECTED = 3,
       PG_REG_REMOVED = 4 };
extern const char pg_registry_schema[];

/* ---- enrolment (enrol.c) ----
 * Table "enrolment" (grid and producer databases): one row per member that
 * may register, with the fingerprint of the certificate it must present. */
extern const char pg_enrolment_schema[];
typedef struct pg_enrol_row {
  char id[PG_GRID_MAX_ID + 1];
  char role[16];
  char fingerprint[65];
  uint64_t max_w;
  char address[PG_BECH32_MAX_LEN + 1]; /* "" = none */
  char state[16];                      /* "active" or "suspended" */
  int64_t channels;                    /* channels registered so far */
  int64_t last_binding_ms;             /* time of the newest accepted binding */
  int64_t enrolled_ms;
} pg_enrol_row;
PG_NODISCARD int pg_enrolment_get(sqlite3 *db, const char *id, pg_enrol_row *out, bool *found,
                                  pg_diag *d);
PG_NODISCARD int pg_enrolment_put(sqlite3 *db, const pg_member *m, const uint8_t *cert,
                                  size_t cert_len, const char *address, int64_t now_ms, pg_diag *d);
/* UPDATE enrolment SET <sql_set> WHERE id = ?1, with ?2 = v and ?3 = text. */
PG_NODISCARD int pg_enrolment_update(sqlite3 *db, const char *id, const char *sql_set, int64_t v,
                                     const char *text, pg_diag *d);
/* The rows (all, or only_id's) as a JSON array. */
PG_NODISCARD int pg_enrolment_json(sqlite3 *db, const char *only_id, json_t **out, pg_diag *d);
/* pg_grid_enrol on an open database. */
PG_NODISCARD int pg_enrol_db(sqlite3 *db, pg_tls_trust *trust, const void *cert, size_t len,
                             const char *address, int64_t now_ms, pg_member *out, pg_diag *d);

#define PG_REG_RATE_SLOTS 64

typedef struct pg_registry {
  sqlite3 *db; /* own connection, used under mu */
  pthread_mutex_t mu;
  unsigned allowed; /* bit (1 << pg_grid_entity) per accepted type */
  const pg_clock *clock;
  int security;     /* of return channels */
  /* consumers get a return channel (grid only) */
  bool return_channels;
  char owner_id[PG_GRID_MAX_ID + 1];
  pg_resource resource; /* the owner's: the hello of a return channel names it */
  /* members: the grid enrols explicitly; a producer takes the sources whose
   * certificate names it (pinned at their first registration) */
  bool explicit_enrolment;
  pg_registry_limits limits;
  pg_grid_metrics *metrics; /* the owner's (borrowed) */
  struct {
    char id[PG_GRID_MAX_ID + 1];
    uint64_t window_ms;
    unsigned count;
  } rate[PG_REG_RATE_SLOTS];
} pg_registry;

PG_NODISCARD int pg_registry_init(pg_registry *r, const pg_entity *e, unsigned allowed,
                                  bool return_channels, bool explicit_enrolment,
                                  const pg_registry_limits *limits, pg_diag *d);
void pg_registry_fini(pg_registry *r);
/* The registration API (see pg_registration_handler). */
int pg_registry_handle(pg_registry *r, const pg_httpd_peer *peer, const char *method,
                       const char *path, const void *body, size_t len, unsigned *status,
                       pg_buf *resp);

/* A registration being read. */
typedef struct pg_reg_row {
  char id[PG_GRID_MAX_ID + 1];
  char name[PG_GRID_MAX_NAME + 1];
  int type;
  int state;
  char side_key[PG_MAM_HASH_TRYTES + 1];
  char root[PG_MAM_HASH_TRYTES + 1]; /* the channel's first root */
  pg_mam_cursor at;                  /* registrations.next_root, next_leaf */
} pg_reg_row;

/* Reads what is new on every waiting or active registered channel (up to
 * PG_ENTITY_MAX_READ messages each): the hello rule is applied here; every
 * other message of an active channel is passed to fn inside the transaction
 * that advances the channel's cursor (fn returning non-zero rolls it back and
 * stops; the message is read again next time). Bad messages are counted and
 * skipped. A hello of another resource or unit than e->resource rejects the
 * channel; an output or usage of another resource on an active channel is
 * skipped (never passed to fn); both are logged naming both resources and
 * counted "wrong_resource" (and "rejected_channels" / "rejected_readings"). */
typedef int (*pg_reg_msg_fn)(void *ctx, const pg_reg_row *reg, const pg_chan_read *m,
                             pg_diag *d);
PG_NODISCARD int pg_registry_read(pg_entity *e, pg_reg_msg_fn fn, void *ctx, pg_diag *d);

/* Reads the first batch of every waiting or active registered channel of n
 * entities together (one pg_chan_read_many: their signatures checked in
 * shared MAM parse batches) and keeps each entity's in it, for its next
 * pg_registry_read, which takes a channel's batch only when the channel's
 * cursor and key are still the ones read at, and reads the rest itself.
 * Reading changes nothing (the messages are the node's); what a read found
 * wrong is reported by pg_registry_read as if it had read it. PG_ERR_DB /
 * PG_ERR_NOMEM (nothing kept); a node failure is kept as that channel's
 * outcome. Threads: the entities' stepping thread. */
PG_NODISCARD int pg_registries_read_ahead(pg_entity *const *es, size_t n, pg_diag *d);
/* Drops what pg_registries_read_ahead kept for e (pg_entity_fini does). */
void pg_registry_ahead_free(pg_entity *e);

/* Reports every finished slot the meter can answer for, from kv "next_slot"
 * (first run: the first whole slot after now): rep(ctx, k, wh) must queue
 * the message and set next_slot = k + 1 in one transaction. */
PG_NODISCARD int pg_entity_report_slots(pg_entity *e, pg_meter *meter, void *ctx,
                                        int (*rep)(void *ctx, uint64_t k, int64_t wh, pg_diag *d),
                                        pg_diag *d);
/* The first slot not yet done (kv "next_slot"); on first use the current
 * slot + first_offset (1: the first whole slot after start). */
PG_NODISCARD int pg_entity_next_slot(pg_entity *e, int64_t first_offset, int64_t *next, pg_diag *d);
/* Sets kv "next_slot" on e->db (in the caller's transaction: the value
 * pg_entity_next_slot keeps is read again after it). */
PG_NODISCARD int pg_entity_set_next_slot(pg_entity *e, int64_t next, pg_diag *d);
/* Ends the transaction of a reported slot k: with rc == PG_OK, sets
 * next_slot to k + 1, commits and counts the slot as reported; otherwise
 * (or when either fails) rolls back. Returns the first error, else PG_OK. */
PG_NODISCARD int pg_entity_slot_done(pg_entity *e, uint64_t k, int rc, pg_diag *d);
/* The bech32 HRP of the node (asked once, then remembered in kv "hrp"). */
PG_NODISCARD int pg_entity_hrp(pg_entity *e, char hrp[PG_CLIENT_HRP_MAX + 1], pg_diag *d);
/* A reading's slot fields must be the slot's own times and the slot must be
 * over; returns false with the reason in why. */
bool pg_entity_slot_ok(const pg_entity *e, uint64_t slot, uint64_t start, uint64_t end,
                       char *why, size_t cap);

/* A capacity of max_w watts over one slot, in Wh (rounded down). */
static inline int64_t pg_capacity_wh(uint64_t max_w, uint64_t slot_ms) {
  return (int64_t)((unsigned __int128)max_w * slot_ms / 3600000u);
}

/* slot helpers */
static inline uint64_t pg_slot_of(uint64_t t_ms, uint64_t slot_ms) { return t_ms / slot_ms; }
static inline uint64_t pg_slot_start(uint64_t k, uint64_t slot_ms) { return k * slot_ms; }

/* ---- quarantine (quarantine.c): readings not settled as they are ---- */
extern const char pg_quarantine_schema[];
typedef struct pg_quarantined {
  const char *entity_id;
  int kind; /* PG_GRID_ENTITY_PRODUCER (output) or _CONSUMER (usage) */
  uint64_t slot;
  int64_t wh;
  bool has_price;
  uint64_t price;
  const char *address; /* may be NULL */
  const char *msg_id;  /* hex */
  int64_t received_ms;
  const char *reason;
} pg_quarantined;
/* Stores a reading with its reason (state "held") and counts it. */
PG_NODISCARD int pg_quarantine_add(sqlite3 *db, const pg_quarantined *q, pg_diag *d);
/* Moves every open reading of entity_id (kind) up to slot k into the
 * quarantine with reason: its numbers cannot be settled. */
PG_NODISCARD int pg_quarantine_party(sqlite3 *db, const char *entity_id, int kind, uint64_t k,
                                     const char *reason, pg_diag *d);
/* Held readings (all = also decided ones) as a JSON array. */
PG_NODISCARD int pg_quarantine_json(sqlite3 *db, bool all, json_t **out, pg_diag *d);
/* Releases (into the readings, settled with the next slot) or rejects a
 * held reading. PG_ERR_NOT_FOUND when id is not held. */
PG_NODISCARD int pg_quarantine_decide(sqlite3 *db, int64_t id, bool release, int64_t now_ms,
                                      pg_diag *d);

/* Adds one to a counter of the grid (from any thread). */
void pg_gridop_count(pg_gridop *g, const char *counter);

/* ---- the public settlement record, grid side (record_book.c) ----
 * Tables config_history (the settlement settings from a slot on) and
 * member_channels (every member channel a reading came from or a record line
 * was keyed with), kv "record_root". */
extern const char pg_record_schema[];
typedef struct pg_record_party {
  const char *id;
  int kind; /* PG_GRID_ENTITY_PRODUCER or _CONSUMER */
  int64_t wh;
  bool has_price;
  uint64_t price;
  const pg_market_party *res;
  const char *request_id; /* the consumer's bill; NULL = none */
} pg_record_party;
/* Creates the public "record" channel with its hello (signed binding when
 * the entity has a member key) on first use; sets kv "record_root". One
 * transaction. */
PG_NODISCARD int pg_record_channel_open(pg_entity *e, pg_diag *d);
/* Adds a row from from_slot to each settings history whose newest row
 * differs: config_history (the market), tariff_history (the monthly items
 * and the zone tz of their months; none while there never was a tariff) and
 * sharing_history (community price, group rules, members; none while no
 * sharing mechanism ever ran). */
PG_NODISCARD int pg_record_config(sqlite3 *db, const pg_gridop_opts *o, const char *tz,
                                  int64_t from_slot, int64_t now_ms, pg_diag *d);
/* Remembers id's current registration in member_channels. */
PG_NODISCARD int pg_record_member_channel(sqlite3 *db, const char *id, pg_diag *d);
/* Seals a line per party (keyed by the side key of its current
 * registration, its open readings up to head->slot as the readings) and
 * queues the parts of the slot's record on "record". Call inside the
 * settlement's transaction, before its readings are marked settled. */
PG_NODISCARD int pg_record_book(pg_entity *e, const pg_grid_settlement *head,
                                const pg_record_party *parties, size_t n, pg_diag *d);

/* Payment references: "p2pgrid:<requestId>" and "p2pgrid:payout:<batch>". */
#define PG_REF_PREFIX "p2pgrid:"

#endif
