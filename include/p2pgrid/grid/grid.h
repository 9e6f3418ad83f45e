/* p2pgrid/grid/grid.h — the four entities of the grid (source, producer,
 * consumer, grid operator) as library objects. A daemon (apps/cmd_entity.c)
 * and the simulator run the same objects; only the node access (pg_client),
 * the clock and the registrar (HTTP or in-process) differ.
 *
 * Life cycle: pg_<entity>_open(opts) opens (or creates) the entity's SQLite
 * database in opts->data_dir and resumes where it stopped; pg_<entity>_step()
 * does everything that is due at the clock's "now" — read channels, report
 * finished slots, settle, pay, publish — and returns; the caller calls it
 * again a moment later (a daemon every tick, a simulation after advancing
 * the virtual clock). Nothing is lost when the process dies at any point:
 * every state change is one SQLite transaction, every message goes through
 * a persistent outbox (queued with the fact it reports, attached until it
 * is on the Tangle, then marked sent with its channel's new state; after a
 * crash before that mark the same bytes are made and attached again),
 * every payment is looked up on the Tangle by its reference before it is
 * (re)sent.
 *
 * Slots: slot k covers [k * slot_ms, (k + 1) * slot_ms) in Unix ms, so every
 * entity agrees on slots without talking. An entity reports a slot once it
 * has ended.
 *
 * Errors: pg_*_step returns PG_OK when it did what it could; a failure of
 * one part (node unreachable, registration refused, a bad message) is
 * logged, counted in the status and retried on a later step; it never stops
 * the other parts. Only storage failures (PG_ERR_DB, rolled back: nothing
 * half-done stays) and settings the entity cannot work with (PG_ERR_CONFIG)
 * are returned; the daemons retry the first on the next tick and stop on
 * the second.
 *
 * Readings (grid): a reading above the member's capacity, for a slot outside
 * [now - late window, now + one slot] or priced out of the market's range is
 * quarantined (kept with its reason, counted, never settled unless the
 * operator releases it); a party whose numbers cannot be settled in a slot
 * is quarantined for that slot and the slot settles for everyone else.
 *
 * Resources (pg_entity_opts.resource): the grid and every producer trade one
 * resource. A registered channel whose hello names another resource or unit
 * is rejected; an output or usage of another resource on an active channel
 * is refused (never settled, not quarantined: its numbers count another
 * unit). Both are logged naming both resources ("channel consumer-7:
 * resource water/L is not this grid's electricity/Wh") and counted in the
 * status errors as "wrong_resource" (and "rejected_channels" /
 * "rejected_readings"). Every entity's status has "resource"
 * (pg_resource_json). A data directory keeps the resource it was first used
 * with (PG_ERR_CONFIG naming both when the config changes it).
 *
 * Ownership: an entity from pg_*_open is the caller's (pg_source_close,
 * pg_producer_close, pg_consumer_close, pg_gridop_close; a registrar
 * pg_registrar_free); it copies pg_entity_opts' strings it keeps and
 * borrows the client, clock, upstream registrar, member key, events and
 * meter, which must outlive it. pg_grid_share_from_config's array is owned
 * (pg_grid_share_free); an outbox is borrowed from its entity.
 *
 * Threads: an entity is stepped from one thread. The registration handlers
 * (pg_producer_handle / pg_gridop_handle) and the status getters may be
 * called from other threads (an HTTP server) at the same time: they use their
 * own database connection. */
#ifndef P2PGRID_GRID_GRID_H
#define P2PGRID_GRID_GRID_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/client/events.h"
#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/market/market.h"
#include "p2pgrid/market/market_config.h"
#include "p2pgrid/base/tz.h"
#include "p2pgrid/market/tariff.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/base/resource.h"
#include "p2pgrid/tls/tls.h"

/* ---- Registrar: how an entity reaches the registration API upstream ---- */

typedef struct pg_registrar pg_registrar;
typedef struct pg_registrar_ops {
  /* One request of the registration API: method "PUT"/"DELETE", path
   * "/registration/...", body (may be NULL). On PG_OK *status is the HTTP
   * status and resp holds the answer body; transport failures are errors. */
  int (*call)(pg_registrar *r, const char *method, const char *path, const void *body,
              size_t len, unsigned *status, pg_buf *resp, pg_diag *d);
  void (*destroy)(pg_registrar *r);
} pg_registrar_ops;
struct pg_registrar {
  const pg_registrar_ops *ops;
};

/* Over HTTP (libcurl): base_url is "https://host:port" of the upstream
 * (http:// only for tests of the refusal); tls: our CA, certificate, key
 * and CRL (copied; required for https). */
/* Over https the server's certificate must also be a member certificate of
 * role expect (PG_ROLE_NONE: any) and, when expect_id is not NULL, of that
 * id: a member certificate of another role for the same host name is
 * refused (PG_ERR_HTTP naming both). */
PG_NODISCARD int pg_registrar_http_new(const char *base_url, const pg_tls_files *tls,
                                       pg_role expect, const char *expect_id, pg_registrar **out,
                                       pg_diag *d);
/* In-process: calls handler(ctx, peer, ...) — pg_producer_handle or
 * pg_gridop_handle of an entity in the same process — with the same bytes an
 * HTTP request would carry, so both paths run the same parser and rules. The
 * peer is the member of `as` (its certificate; borrowed, must outlive the
 * registrar), as a verified TLS client would be; as = NULL calls without
 * one. */
typedef int (*pg_registration_handler)(void *ctx, const pg_httpd_peer *peer, const char *method,
                                       const char *path, const void *body, size_t len,
                                       unsigned *status, pg_buf *resp);
PG_NODISCARD int pg_registrar_local_new(pg_registration_handler h, void *ctx,
                                        const pg_tls_key *as, pg_registrar **out, pg_diag *d);
void pg_registrar_free(pg_registrar *r);

/* ---- Options common to all entities ---- */

typedef struct pg_entity_opts {
  const char *id;        /* registration id, [A-Za-z0-9._-]{1,64} */
  const char *name;      /* display name (1..64 bytes); NULL = id */
  const char *data_dir;  /* created if missing; holds <role>.db */
  pg_client *client;     /* borrowed: the node */
  const pg_clock *clock; /* borrowed; NULL = real clock */
  uint64_t slot_ms;      /* slot length; 0 = 15 minutes */
  int security;          /* MAM security of our channels, 1..3; 0 = 2 */
  pg_registrar *upstream;/* borrowed: producer (for a source) or grid; NULL for the grid */
  uint64_t retry_ms;     /* pause after a failed registration/attach/payment; 0 = 2000 */
  const char *log_name;  /* log module name; NULL = role */
  /* The member's key and certificate (borrowed): signs the binding of our
   * channel to us (in its hello and its registration). Required for an
   * entity that registers upstream. */
  const pg_tls_key *key;
  /* The node's MQTT events (borrowed; NULL = none): the daemon steps when
   * one arrives; the entity only reports the subscriber's counters in its
   * status ("events": connected, milestones, outputs, rejected, wakes,
   * lastMilestone). */
  pg_events *events;
  /* How people read this entity's amounts and times ([money] and [site] tz
   * of its config): its status carries "money" {currency, unitsPerCurrency,
   * decimals} and "timeZone" for the browser apps. Display only, never used
   * to bill. Zero = base units ("i") and UTC. */
  pg_money money;
  pg_tz tz;
  /* What this entity meters and trades ([resource], resource.h): readings
   * are counts of its base unit. Zero = electricity in Wh, whose channels
   * keep the original (version 1) messages; any other resource writes
   * version 2 messages naming it (docs/PROTOCOL.md), and the grid and
   * producers refuse a channel or reading of another resource or unit. */
  pg_resource resource;
  /* In-process simulations: the step queues its messages but does not
   * publish them; the caller publishes the outboxes of many entities at once
   * with pg_grid_flush_outboxes (sources, producers, consumers; the grid
   * operator always publishes its own). false = the step publishes. */
  bool defer_flush;
  /* In-process simulations: the entity's database connections commit with
   * synchronous=OFF (no fsync; a crash loses the run, which is run again).
   * Daemons leave it false: their databases commit with synchronous=FULL. */
  bool no_sync;
  /* In-process simulations, consumers and sources only: the database is
   * this entity's one connection's alone while it is open
   * (pg_db_open_sole: exclusive locking, no file locks per transaction,
   * one write a commit). Its status and metrics are read through that
   * connection, so call them from the thread that steps it, between
   * steps. No other connection or process can open the database until
   * the entity is closed. A grid or producer given it refuses to open
   * (their registries read through connections of their own). */
  bool sole;
  /* In-process simulations: the entity's database is this process's alone
   * while it is open (base/db.h pg_db_open_opts.process): its connections
   * (the registries' too) take no file lock per transaction; another
   * process (p2pgrid backup, audit) gets "database is locked" until it is
   * closed. Daemons leave it false: a backup reads their databases while
   * they run. */
  bool process;
} pg_entity_opts;

/* Limits of a registration API (grid and producer). */
typedef struct pg_registry_limits {
  unsigned rate_per_min;   /* registration requests per member and minute; 0 = 10 */
  unsigned max_channels;   /* channels a member may register per enrolment; 0 = 32 */
  uint64_t binding_skew_ms;/* a binding's time may be this far from now; 0 = 10 minutes */
} pg_registry_limits;

/* ---- Source: one `output` per slot on its own channel, registered at its producer ---- */

typedef struct pg_source pg_source;
PG_NODISCARD int pg_source_open(const pg_entity_opts *o, pg_meter *meter /* borrowed */,
                                pg_source **out, pg_diag *d);
PG_NODISCARD int pg_source_step(pg_source *s, pg_diag *d);
/* {"id","name","registered","root","resource","slotsReported","outputWh",
 * "errors":{...}, ...} (outputWh in base units of the resource) */
PG_NODISCARD int pg_source_status(pg_source *s, json_t **out, pg_diag *d);
void pg_source_close(pg_source *s);

/* ---- Producer ---- */

typedef struct pg_producer_opts {
  uint64_t ask_per_kwh;  /* asking price, base token units per price unit (kWh, m³) */
  bool has_ask;
  uint64_t grace_ms;     /* wait for late sources after a slot ends; 0 = slot_ms / 2 */
  const uint8_t *seed;   /* wallet seed (16..64 bytes): payment address = walk address 0 */
  size_t seed_len;
  pg_registry_limits limits; /* of its sources' registration API */
} pg_producer_opts;
typedef struct pg_producer pg_producer;
PG_NODISCARD int pg_producer_open(const pg_entity_opts *o, const pg_producer_opts *po,
                                  pg_producer **out, pg_diag *d);
PG_NODISCARD int pg_producer_step(pg_producer *p, pg_diag *d);
/* Something happened on the node (an event: a milestone confirmed): the
 * next step lists the payment address whatever its gap (a producer lists
 * it at a slot's first step, while payouts come, else after gaps of 1 s
 * doubling up to 30 s, at most an eighth of a slot). Threads: the
 * producer's stepping thread. */
void pg_producer_wake(pg_producer *p);
/* In-process simulations: reads what is new on the sources' channels of n
 * producers at once, their signatures checked in shared MAM parse batches
 * (a producer alone has too few channels to fill one); each producer's next
 * step takes a channel's messages found at its cursor instead of reading
 * them (a cursor moved since, or a channel not read: it reads as usual).
 * Call it just before stepping the producers, with nothing attached to the
 * sources' channels in between. PG_ERR_DB / PG_ERR_NOMEM; a node failure
 * is reported by the step as its own read's would be.
 * Threads: the producers' stepping thread. */
PG_NODISCARD int pg_producers_read_sources(pg_producer *const *ps, size_t n, pg_diag *d);
/* The registration API for its sources (thread-safe; see pg_registration_handler).
 * Only a verified source certificate naming this producer as its parent
 * registers, under its own id (docs/SECURITY.md). */
int pg_producer_handle(void *producer, const pg_httpd_peer *peer, const char *method,
                       const char *path, const void *body, size_t len, unsigned *status,
                       pg_buf *resp);
PG_NODISCARD int pg_producer_status(pg_producer *p, json_t **out, pg_diag *d);
void pg_producer_close(pg_producer *p);

/* ---- Consumer ---- */

typedef struct pg_consumer_opts {
  uint64_t bid_per_kwh; /* base token units per price unit (kWh, m³) */
  bool has_bid;
  /* A payment request is refused (never paid, counted "refused_requests")
   * when it names another address than grid_address (NULL: the address of
   * the first request accepted is pinned), bills more usage than we reported
   * and was not billed yet, or asks more than usage x max_price_per_kwh
   * (per price unit, fees included; when has_max_price). A request for 0 Wh is a month bill
   * (membership, capacity, VAT; pg_gridop_opts.tariff): with has_max_monthly
   * it is paid up to max_monthly and refused above; without, it passes the
   * price check only when there is none (has_max_price false). */
  const char *grid_address;
  uint64_t max_price_per_kwh;
  bool has_max_price;
  uint64_t max_monthly;
  bool has_max_monthly;
  const uint8_t *seed; /* wallet seed: pays the grid's requests */
  size_t seed_len;
} pg_consumer_opts;
typedef struct pg_consumer pg_consumer;
PG_NODISCARD int pg_consumer_open(const pg_entity_opts *o, const pg_consumer_opts *co,
                                  pg_meter *meter, pg_consumer **out, pg_diag *d);
PG_NODISCARD int pg_consumer_step(pg_consumer *c, pg_diag *d);
/* Something happened on the node (an event: a milestone confirmed): the
 * next step reads the return channel whatever its gap (it is read at a
 * slot's first step, while messages come, else after gaps of 1 s doubling
 * up to 30 s, at most an eighth of a slot). Threads: the consumer's
 * stepping thread. */
void pg_consumer_wake(pg_consumer *c);
/* In-process simulations: reads each consumer's return channel (its
 * bills) from its cursor, as many messages as a step reads, for all of
 * them at once: the channels' addresses and the first messages'
 * signatures each in one batch. Each consumer's next step takes the
 * messages found instead of reading them and, when the read stopped at a
 * leaf that was not there, knows there is nothing more without reading
 * again (a failed read, or one that stopped at its limit or a tree's end:
 * it reads as usual). Call it just before stepping the consumers, with
 * nothing attached to their return channels in between (what is, waits
 * for the step after). PG_ERR_DB /
 * PG_ERR_NOMEM; a node failure only leaves the steps to read themselves.
 * Threads: the consumers' stepping thread. */
PG_NODISCARD int pg_consumers_read_returns(pg_consumer *const *cs, size_t n, pg_diag *d);
PG_NODISCARD int pg_consumer_status(pg_consumer *c, json_t **out, pg_diag *d);
void pg_consumer_close(pg_consumer *c);

/* ---- Outboxes published together (in-process simulations) ----
 * An entity's outbox (borrowed from it: valid while it is open). One flush
 * of many outboxes runs in two phases: first every queued message of every
 * outbox is created in memory (the one place where a batched MAM create
 * over all channels goes), then all are attached in outbox order, and each
 * outbox marks its sent ones and saves its channels' new states in one
 * transaction. The messages of
 * all the outboxes are made together by pg_mam_create_batch (mam.h), one
 * message per channel per round, with the same bytes as one at a time;
 * keys: NULL or a pg_mam_keys cache the caller keeps from flush to flush
 * (it pays with more than ~256 channels). Each outbox keeps
 * pg_entity_opts's retry pause after a failed attach (counted
 * "attach_failures", not returned); a database error is returned.
 * Threads: the entities' stepping thread. */
typedef struct pg_grid_outbox pg_grid_outbox;
pg_grid_outbox *pg_source_outbox(pg_source *s);
pg_grid_outbox *pg_producer_outbox(pg_producer *p);
pg_grid_outbox *pg_consumer_outbox(pg_consumer *c);
PG_NODISCARD int pg_grid_flush_outboxes(pg_grid_outbox *const *v, size_t n, pg_mam_keys *keys,
                                        pg_diag *d);
/* The same with a call between the two phases: before_send(ctx, d) runs
 * once every outbox's messages are created (in memory), before any is
 * attached (also when there is nothing to attach); its error stops the
 * flush with nothing attached (what was made is kept, as for a node that
 * refused it). The simulator lets its previous round's
 * milestone finish there (nothing of this flush has touched the node). */
PG_NODISCARD int pg_grid_flush_outboxes_then(pg_grid_outbox *const *v, size_t n, pg_mam_keys *keys,
                                             int (*before_send)(void *ctx, pg_diag *d),
                                             void *ctx, pg_diag *d);

/* ---- Grid operator ---- */

/* Sharing mechanisms (market.h): one member's settings ([sharing] of the
 * grid config, docs/CONFIG.md). Members not listed have key 0, group 0 and
 * participation 100. */
typedef struct pg_grid_share_member {
  const char *id;        /* a consumer's member id */
  uint32_t key_ppm;      /* static key, parts per million */
  uint32_t group;        /* hierarchical priority group */
  uint8_t participation; /* 1..100: percent of its readings taking part */
} pg_grid_share_member;

/* The members of a [sharing] section (section = "sharing"): every key a
 * member id, its value a comma list of "key P%", "group N",
 * "participation P%" (docs/CONFIG.md). *out is owned (ids too): free with
 * pg_grid_share_free. PG_ERR_CONFIG names the member and the bad item. */
PG_NODISCARD int pg_grid_share_from_config(pg_config *c, const char *section,
                                           pg_grid_share_member **out, size_t *n, pg_diag *d);
void pg_grid_share_free(pg_grid_share_member *m, size_t n);
/* Gives consumer c (by id) its key and group from m[0..n) and scales its
 * usage by its participation factor (pg_market_participation_split), as the
 * grid settles a sharing slot and the audit re-settles it. Not a member of
 * m: unchanged. */
void pg_grid_share_apply(const pg_grid_share_member *m, size_t n, pg_market_consumer *c);

typedef struct pg_gridop_opts {
  /* mech, prices, fees, payout_min, community_price, group_rules (market_config.h).
   * payout_min is never less than 1000000 here (smaller outputs are TIP-15
   * dust): smaller amounts are carried over to later slots. */
  PG_MARKET_CONFIG_MEMBERS;
  uint64_t grace_ms;     /* wait for late reports after a slot ends; 0 = slot_ms / 2 */
  uint64_t dust_allowance; /* keep a dust allowance of this on the receive address
                              (0 = none; >= 1000000 otherwise) */
  const uint8_t *seed;   /* wallet seed: receive address = walk address 0 */
  size_t seed_len;
  pg_registry_limits limits;
  /* readings: a member without an enrolled capacity may report at most
   * default_max_w (W) x the slot length; 0 = 100 kW. A reading for a slot
   * older than late_window_ms (0 = 96 slots, a day of 15-minute slots) is
   * quarantined. */
  uint64_t default_max_w;
  uint64_t late_window_ms;
  /* Payouts never exceed the consumers' payments received plus this float
   * (base units). Producers owed more wait (counted
   * "payouts_waiting_for_float"); one that cannot be paid (an address that
   * does not decode) is held back alone ("payouts_held"). */
  uint64_t float_max;
  bool has_float; /* false: the default of 10 Gi */
  /* sharing mechanisms: the community price per kWh, the hierarchical group
   * rules and the members' keys, groups and participation factors (a
   * consumer's reading is scaled by its factor before settlement:
   * floor(wh * participation / 100)). pg_gridop_open copies `share`.
   * community_price and group_rules: above. */
  const pg_grid_share_member *share;
  size_t n_share;
  /* Monthly items (tariff.h): once the first slot of a new month (calendar
   * month in the entity's tz, pg_entity_opts) settles, every consumer with a reading in the month before
   * gets one more payment request (bills.kind = 'month', usage 0): its
   * membership fee, capacity charge on the month's peak and the VAT on the
   * month (energy and fees of its slot bills included). All zero = none. */
  pg_tariff tariff;
} pg_gridop_opts;
typedef struct pg_gridop pg_gridop;
PG_NODISCARD int pg_gridop_open(const pg_entity_opts *o, const pg_gridop_opts *go,
                                pg_gridop **out, pg_diag *d);
PG_NODISCARD int pg_gridop_step(pg_gridop *g, pg_diag *d);
/* Something happened on the node (an event: a milestone confirmed, an
 * output to the grid's address): the next step scans the address for
 * payments whatever its gap (it is scanned at a slot's first step, while
 * payments come, else after gaps of 500 ms doubling up to 30 s, at most an
 * eighth of a slot, and always within 500 ms before the grid's wallet
 * spends from it). Threads: the grid's stepping thread. */
void pg_gridop_wake(pg_gridop *g);
/* Only the settlement part of a step: settles every slot that is due from
 * the readings already booked (benchmarks and tools; no node access). */
PG_NODISCARD int pg_gridop_settle_due(pg_gridop *g, pg_diag *d);
/* The registration API for producers and consumers: only members enrolled
 * at the grid (pg_grid_enrol), with the enrolled certificate. */
int pg_gridop_handle(void *gridop, const pg_httpd_peer *peer, const char *method,
                     const char *path, const void *body, size_t len, unsigned *status,
                     pg_buf *resp);
/* Enrols a producer or consumer (or renews its enrolment with a new
 * certificate): cert is its certificate (PEM or DER), verified against trust
 * when trust is not NULL; address (may be NULL) a producer's payment
 * address. *out (may be NULL) gets what the certificate says. */
PG_NODISCARD int pg_gridop_enrol(pg_gridop *g, pg_tls_trust *trust, const void *cert, size_t len,
                                 const char *address, pg_member *out, pg_diag *d);
/* The same on the grid database of data_dir, for `p2pgrid grid enrol`
 * (works while the grid runs: SQLite serialises the writers). */
PG_NODISCARD int pg_grid_enrol(const char *data_dir, pg_tls_trust *trust, const void *cert,
                               size_t len, const char *address, pg_member *out, pg_diag *d);
/* The quarantine of the grid in data_dir, for `p2pgrid grid quarantine`:
 * action "list" (*out = the held readings, or all with id != 0),
 * "release" or "reject" the held reading id. Works while the grid runs. */
PG_NODISCARD int pg_grid_quarantine(const char *data_dir, const char *action, int64_t id,
                                    json_t **out, pg_diag *d);
/* The held readings [{"id","member","kind","slot","wh","price","messageId",
 * "receivedMs","reason","state","decidedMs"}]. Thread-safe. */
PG_NODISCARD int pg_gridop_quarantine(pg_gridop *g, json_t **out, pg_diag *d);
/* [{"id","role","fingerprint","maxW","paymentAddress","state","channels",
 * "enrolledMs"}]; only_id = NULL for all. Thread-safe. */
PG_NODISCARD int pg_gridop_enrolments(pg_gridop *g, const char *only_id, json_t **out,
                                      pg_diag *d);
/* The JSON status API (docs/PROTOCOL.md "Status API"). Thread-safe. */
PG_NODISCARD int pg_gridop_status(pg_gridop *g, json_t **out, pg_diag *d);
PG_NODISCARD int pg_gridop_producers(pg_gridop *g, json_t **out, pg_diag *d);
PG_NODISCARD int pg_gridop_consumers(pg_gridop *g, json_t **out, pg_diag *d);
/* Settled slots from..to (inclusive; to = UINT64_MAX for all), at most 10000. */
PG_NODISCARD int pg_gridop_slots(pg_gridop *g, uint64_t from, uint64_t to, json_t **out,
                                 pg_diag *d);
/* One producer's / consumer's readings of slots from..to (inclusive), at most
 * 10000, oldest first: producer {slot, outputWh, askPrice, communityWh,
 * amount (its payout for that slot, 0 if none), batchId, messageId};
 * consumer {slot, usageWh, bidPrice, billed, paid, outstanding, messageId,
 * paymentMessageId} (its slot bills; month bills below). An unknown id gives
 * an empty array. Thread-safe. */
PG_NODISCARD int pg_gridop_producer_slots(pg_gridop *g, const char *id, uint64_t from,
                                          uint64_t to, json_t **out, pg_diag *d);
PG_NODISCARD int pg_gridop_consumer_slots(pg_gridop *g, const char *id, uint64_t from,
                                          uint64_t to, json_t **out, pg_diag *d);
/* A consumer's month bills (pg_gridop_opts.tariff) billed in slots
 * from..to: {slot (the slot it was billed in, the first of the next month),
 * requestId, amount (membership + capacity), vat, owed, paid,
 * paymentMessageId}. Thread-safe. */
PG_NODISCARD int pg_gridop_month_bills(pg_gridop *g, const char *id, uint64_t from, uint64_t to,
                                       json_t **out, pg_diag *d);
/* The grid's recent events, newest first, at most limit (1..PG_EVENTS_MAX),
 * each {"kind", "time" (Unix ms), ...}: "settlement" (slot, mechanism,
 * supplyWh, demandWh, communityWh, importWh, exportWh, hasPrice, buyPrice,
 * sellPrice, producers, consumers), "bill" (slot, member, bill: slot|month,
 * requestId, usageWh, amount), "payment" (slot, member, amount, requestId,
 * messageId), "payout" (batch, state: sending|sent|confirmed, amount,
 * outputs, messageId; a member's own: slot, member and its amount),
 * "registration" (member, name, role, state), "enrolment" (member, role,
 * state), "quarantine" (slot, member, wh, reason, state: held|released|
 * rejected, quarantineId). Read from the tables that book them (GET
 * /api/events). Who sees what: PG_EVENTS_PUBLIC the settlements (community
 * totals), PG_EVENTS_MEMBER those and member's own events (member: its id),
 * PG_EVENTS_ALL every event but the members' own payout shares (the
 * batches stand for them). PG_ERR_INVALID for a limit outside 1..max or a
 * member scope without an id. Thread-safe. */
#define PG_EVENTS_MAX 200
typedef enum pg_events_scope { PG_EVENTS_PUBLIC, PG_EVENTS_MEMBER, PG_EVENTS_ALL } pg_events_scope;
PG_NODISCARD int pg_gridop_events(pg_gridop *g, pg_events_scope scope, const char *member,
                                  unsigned limit, json_t **out, pg_diag *d);
/* The public settlement record channel: {"grid":id,"root","mode":"public",
 * "security"} (GET /api/record, public). Thread-safe. */
PG_NODISCARD int pg_gridop_record(pg_gridop *g, json_t **out, pg_diag *d);
void pg_gridop_close(pg_gridop *g);

/* The audit export (docs/PROTOCOL.md "Audit export", format
 * "p2pgrid-audit-export/1"): the grid's settings history, members with their
 * channels and side keys, every settled slot with its readings, bills and
 * payouts, and the payout batches, read in one read transaction from
 * DATA_DIR/grid.db (opened read-only; the grid may be running or not).
 * exportedAt = now_ms. PG_ERR_NOT_FOUND without a database there,
 * PG_ERR_CONFIG when the directory is another entity's. */
PG_NODISCARD int pg_gridop_audit_export(const char *data_dir, uint64_t now_ms, json_t **out,
                                        pg_diag *d);
/* A member's keys for an audit ("p2pgrid-member-keys/1"): its id, main
 * channel (root, side key), return channel (consumers), payment address
 * (producers, once known) and the grid's record root, from
 * DATA_DIR/<role>.db (read-only); role "producer" or "consumer". Errors as
 * pg_gridop_audit_export. */
PG_NODISCARD int pg_member_audit_keys(const char *data_dir, const char *role, json_t **out,
                                      pg_diag *d);

/* ---- Metrics (GET /metrics of the daemons) ----
 * The entity's Prometheus metrics (p2pgrid/base/metrics.h; the list with
 * meanings: docs/OPERATIONS.md "Metrics") appended to out as text format
 * 0.0.4: counters of what happened since the entity was opened (readings
 * by outcome, slots settled or reported, bills, payments, payouts,
 * registrations, failed calls to the node, problems by kind) and gauges
 * read from its database now (quarantined readings, bills, payouts and
 * payment requests by state, channels by state, the grid's float). Counts
 * only: no label holds a member id or anything a member sent. Errors: the
 * database's (PG_ERR_DB), PG_ERR_TOO_LARGE when out's limit is reached.
 * Thread-safe (like the status getters). */
PG_NODISCARD int pg_source_metrics(pg_source *s, pg_buf *out, pg_diag *d);
PG_NODISCARD int pg_producer_metrics(pg_producer *p, pg_buf *out, pg_diag *d);
PG_NODISCARD int pg_consumer_metrics(pg_consumer *c, pg_buf *out, pg_diag *d);
PG_NODISCARD int pg_gridop_metrics(pg_gridop *g, pg_buf *out, pg_diag *d);

/* ---- HTTP (on p2pgrid/httpd/httpd.h) ---- */

/* The grid's whole HTTP surface as one pg_httpd handler body:
 * PUT/DELETE /registration/{id}, GET /api/status, /api/me, /api/producers,
 * /api/consumers, /api/enrolments, /api/quarantine, /api/slots,
 * /api/{producers|consumers}/{id}/slots, /api/config ({"nodeUrl":
 * node_url}, may be NULL), /api/events?limit=N (pg_gridop_events: the
 * settlements for anyone, a member's own events too, all for the operator),
 * /api/log, and the dashboard (web/dashboard) at
 * every other GET path. Who sees what (docs/SECURITY.md): the operator
 * (a verified certificate of role operator or grid) everything; a member
 * its own rows (/api/me, its slots, its row of /api/producers|consumers);
 * only the operator /api/enrolments, /api/quarantine and /api/log;
 * anyone the community aggregates (/api/status, /api/slots, /api/config)
 * and the dashboard's files; anything else 403. srv (may be NULL) adds its
 * counters to /api/status. Thread-safe. */
void pg_gridop_http(pg_gridop *g, const char *node_url, const pg_httpd *srv,
                    const pg_httpd_req *req, pg_httpd_resp *resp);
/* The registration API of any entity (h = pg_producer_handle or
 * pg_gridop_handle) answered over HTTP. */
void pg_registration_http(pg_registration_handler h, void *ctx, const pg_httpd_req *req,
                          pg_httpd_resp *resp);

#endif
