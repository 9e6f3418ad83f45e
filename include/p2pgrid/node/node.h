/* p2pgrid/node/node.h — the node daemon: a Tangle served over the Chrysalis REST
 * API v1 (TIP-13, as @iota/iota.js 1.8.6 uses it), optionally with its own
 * coordinator issuing signed milestones.
 *
 * Life cycle:
 *   pg_node_config nc;
 *   pg_node_config_init(&nc);                      defaults
 *   pg_node_config_load(&nc, cfg, &d);             from a pg_config (INI + overrides)
 *   pg_node_start(&nc, &node, &d);                 opens the Tangle, starts HTTP and coordinator
 *   ... pg_node_port(node), pg_node_tangle(node) ...
 *   pg_node_stop(node);                            stops everything, frees node
 *   pg_node_config_clear(&nc);
 *
 * Ownership: pg_node_config owns its strings and arrays (malloc'd;
 * pg_node_config_clear frees them, wiping secrets). The node copies what it
 * needs from the config during pg_node_start; the config may be cleared
 * right after. pg_node_start's node is the caller's (pg_node_stop frees it,
 * NULL ok); pg_node_tangle and pg_node_ledger are borrowed until then.
 * Errors: 0 or a negative pg_err with one sentence in the optional
 * pg_diag; configuration errors are PG_ERR_CONFIG naming the origin
 * ("node.ini:12: [api] port: ..."). A request's failure is an HTTP answer
 * in the error envelope below, never a return code.
 * Threads: the node runs its own threads (HTTP workers, remote PoW,
 * coordinator, peer follower, MQTT publisher); config init, load, start and stop are called
 * from one thread; the getters (port, stats, health, tangle, ledger reads)
 * may be called from any thread while it runs.
 *
 * Data directory: pg_node_start does not lock it (embedded nodes of the
 * simulator and tests own theirs); a program that runs a node on a
 * directory another process may use takes pg_dirlock_take (p2pgrid/
 * dirlock.h) on it first, before pg_node_config_load (which may create the
 * coordinator key there), as `p2pgrid node` does. pg_node_config_load
 * writes a generated coordinator key atomically (p2pgrid/base/file.h).
 * The store is held by the node's process (tangle.h pg_tangle_config.process:
 * no file lock per transaction; another process gets "database is locked"),
 * and pg_node_start runs a backup server on the data directory
 * (p2pgrid/base/backup_serve.h: BACKUP-SERVER, written at start, removed by
 * pg_node_stop) that writes the backups `p2pgrid backup` asks for.
 *
 * Ledger: the node always keeps a UTXO ledger (p2pgrid/ledger/ledger.h) in the
 * Tangle's database, booked by white-flag confirmation of every milestone.
 * Its genesis comes from [ledger] genesis / genesis_file; without one the
 * ledger is empty and every transaction conflicts (reason 3). Amounts are
 * JSON numbers; ledgerIndex is the confirmed milestone index.
 *
 * REST API (every JSON answer has Content-Type application/json and
 * Access-Control-Allow-Origin: *; success is {"data":...}, failure is
 * {"error":{"code":"<status as string>","message":"<what was wrong>"}}):
 *   GET  /health                          200 healthy / 503 not (no body needed)
 *   GET  /api/v1/info                     INodeInfo
 *   GET  /api/v1/tips                     {"tipMessageIds":[1..8 sorted hex]}
 *   POST /api/v1/messages                 application/json (draft, node fills
 *                                         networkId, parents, nonce) or
 *                                         application/octet-stream (complete
 *                                         bytes) -> 201 {"messageId"} + Location
 *                                         (a draft needing PoW waits for the
 *                                         PoW thread; 503 when [api]
 *                                         pow_queue drafts already wait)
 *   GET  /api/v1/messages?index=<hex>     {index, maxResults, count, messageIds}
 *   GET  /api/v1/messages/{id}            JSON message
 *   GET  /api/v1/messages/{id}/metadata   IMessageMetadata
 *   GET  /api/v1/messages/{id}/raw        application/octet-stream, no envelope
 *   GET  /api/v1/messages/{id}/children   {messageId, maxResults, count, childrenMessageIds}
 *   GET  /api/v1/milestones/{index}       {index, messageId, timestamp}
 *   GET  /api/v1/milestones/{index}/utxo-changes
 *                                         {index, createdOutputs, consumedOutputs}
 *                                         (output ids; 404 for an unknown milestone)
 *   GET  /api/v1/outputs/{outputId}       IOutputResponse {messageId (64 zeros for
 *                                         genesis outputs), transactionId, outputIndex,
 *                                         isSpent, output {type, address {type 0,
 *                                         address hex}, amount}, ledgerIndex} plus
 *                                         milestoneIndexSpent, transactionIdSpent when
 *                                         spent; outputId is 68 hex (txid || u16 LE)
 *   GET  /api/v1/addresses/{bech32}       IAddressResponse {addressType 0, address
 *   GET  /api/v1/addresses/ed25519/{hex}    (hex, also for bech32), balance,
 *                                         dustAllowed, ledgerIndex}; unknown addresses
 *                                         answer 200 with balance 0; a bech32 with
 *                                         another HRP than [node] bech32_hrp is 400
 *   GET  /api/v1/addresses/{bech32}/outputs
 *   GET  /api/v1/addresses/ed25519/{hex}/outputs
 *                                         IAddressOutputsResponse {addressType, address,
 *                                         maxResults 1000, count, outputIds, ledgerIndex};
 *                                         query type=0|1 and include-spent=true|false,
 *                                         both optional (default: unspent, any type)
 *   GET  /api/v1/transactions/{txId}/included-message
 *                                         JSON message that included it (404 if none)
 *   GET  /api/v1/receipts                 {"receipts":[]} (private network: no migration)
 *   GET  /api/plugins/ledger/digest/{index}
 *                                         {index, milestoneId (64 zeros for 0), digest}:
 *                                         pg_ledger_digest after milestone index (0 =
 *                                         genesis); 404 until the index is confirmed
 *   GET  /api/plugins/peers               {peers:[{url, state new|ok|down|refused,
 *                                         confirmedMilestoneIndex, milestones, messages,
 *                                         failures, refusals, lastError, refusedForMs}],
 *                                         refusals, syncedMilestoneIndex} (a replica;
 *                                         peers is empty on any other node)
 *   GET  /api/plugins/display             {money: {currency, unitsPerCurrency, decimals},
 *                                         timeZone}: how the explorer shows amounts and
 *                                         times ([money], [site] tz; default i, UTC)
 *   POST /api/plugins/data/batch          up to 256 data messages in one binary body
 *                                         (p2pgrid/tangle/batch.h), stored in one
 *                                         transaction: 200 {results: [{messageId} |
 *                                         {error: {code, message}}]} in item order; 400
 *                                         for a body that does not parse (nothing
 *                                         stored), 501 on a replica or a node with
 *                                         min_pow_score > 0 (docs/PROTOCOL.md)
 *   POST /api/plugins/data/find           up to 256 index lookups in one binary body
 *                                         (p2pgrid/tangle/find.h), answered in one
 *                                         binary body with each lookup's ids and the
 *                                         bytes (and, asked, the metadata) of its
 *                                         messages, as far as the budget
 *                                         goes (at most 4 MiB); 400 for a body that
 *                                         does not parse; a read, open as GETs are
 *   POST /api/plugins/data/outputs        up to 1,000 output lookups in one binary body
 *                                         (p2pgrid/ledger/outputs.h), answered in one
 *                                         binary body with each output's fields and,
 *                                         asked, the bytes of the message that made
 *                                         it, as far as the budget goes (at most
 *                                         4 MiB); 400 for a body that does not parse,
 *                                         503 without a ledger; a read, open as GETs are
 *   GET  /api/v1/treasury                 {"milestoneId": 64 zeros, "amount": 0}
 *   OPTIONS <any>                         CORS preflight, 204
 * Statuses: 400 bad input, 401/403 a POST without / with refused credentials
 * (see "Access"), 404 unknown item or route, 405 wrong method, 413
 * body over api.max_body, 415 unsupported Content-Type, 503 cannot do it now
 * (PoW disabled, solidifier full, shutting down), 500 internal.
 *
 * Access: by default every route is open to anyone who reaches the port,
 * over plain HTTP. [api] tls_cert + tls_key make the API HTTPS only. With
 * [api] post_tokens_file and/or post_ca, every request whose method is not
 * GET, HEAD or OPTIONS (POST /api/v1/messages and /api/plugins/data/batch;
 * not POST /api/plugins/data/find and /outputs, reads) must carry either
 * "Authorization: Bearer <a token of the file>" or, over TLS, a client
 * certificate that verifies against post_ca (and post_crl): without either
 * it is answered 401 (with "WWW-Authenticate: Bearer"), with a token that is
 * not listed or a certificate that does not verify 403, in the usual error
 * envelope. Refusals are counted (pg_node_get_api_stats) and logged at warn
 * (at most one line a second, naming how many were not logged). GET stays
 * open (and the find route): any Chrysalis client can read.
 *
 * Replica: with [peers] urls the node follows those nodes (ours or any
 * Chrysalis node) and runs no coordinator; it needs [milestones] public_keys
 * (the only thing it trusts) and the same [node] network and [ledger]
 * genesis as they have. A follower thread polls the peers round-robin every
 * [peers] poll_interval: GET /info, the peer's milestone at the highest index
 * both confirmed must be ours, then for each milestone it lacks GET
 * /milestones/{i} and the messages of its past cone it does not hold solid
 * (GET /messages/{id}/raw; BLAKE2b-256 of the bytes must be the id asked
 * for), submitted parents first through pg_tangle_submit (syntax, network
 * id, PoW, milestone signatures against this node's keys, white-flag
 * ledger). What is stored stays stored: after a restart it goes on from its
 * confirmed milestone. A peer that does not answer backs off (poll interval
 * doubling up to max_backoff) while the others feed the node; a peer that
 * serves anything invalid (id mismatch, bad syntax, bad PoW, bad milestone
 * signature, wrong network, a milestone that conflicts with ours) is
 * refused: a warn line "refusing peer URL: REASON", counted in GET
 * /api/plugins/peers, not used for refuse_for. POST /api/v1/messages (after
 * the usual access checks and body cap; a JSON draft is checked here first)
 * is forwarded (with [peers] token_file's bearer token, for peers that
 * limit POST) to the first usable peer that takes it; a peer's 400 is
 * answered as 400, no peer taking it as 503; on success the node fetches
 * the message back from that peer, so its metadata is served at once.
 * Events: with [mqtt] host the node publishes the topics of Hornet's MQTT
 * plugin to that broker (docs/PROTOCOL.md "MQTT events"; @iota/mqtt.js
 * reads them): milestones/latest, milestones/confirmed (both retained),
 * messages, messages/indexation/{hex}, messages/{id}/metadata,
 * messages/referenced, outputs/{id}, addresses/{bech32}/outputs,
 * addresses/ed25519/{hex}/outputs, transactions/{id}/included-message.
 * Publishing never holds up the node: events go through a bounded queue to a
 * publisher thread; while the broker is away they wait in the queue (the
 * oldest dropped, counted and logged, when it is full) and libmosquitto
 * reconnects with backoff. Without [mqtt] host there is no MQTT at all.
 *
 * Health: a node that expects milestones (coordinator enabled, or milestone
 * public keys configured) is healthy when it has a confirmed milestone, the
 * confirmed index equals the latest index, and the confirmed milestone is at
 * most node.max_milestone_age old. A node that expects no milestones is
 * healthy while it runs. /info isHealthy reports the same. */
#ifndef P2PGRID_NODE_NODE_H
#define P2PGRID_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/client/events.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/base/tz.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/tangle.h"

#define PG_NODE_NAME "p2pgrid"
#define PG_NODE_DEFAULT_PORT 14265
#define PG_NODE_POW_QUEUE 32     /* [api] pow_queue's default */
#define PG_NODE_MAX_RESULTS 1000 /* maxResults of index and children lookups */
#define PG_NODE_MAX_PEERS 16

typedef struct pg_node_config {
  /* [node] — strings are owned (malloc'd) by the config */
  char *network;      /* "private-tangle" */
  char *bech32_hrp;   /* "atoi" */
  char *data_dir;     /* "./data/node" */
  uint32_t min_pow_score;          /* 100 */
  uint64_t max_milestone_age_ms;   /* health; 0 = auto (see examples/node.ini) */
  bool has_log_level;              /* log_level given: the daemon applies it */
  int log_level;                   /* pg_log_level */

  /* [api] */
  char *bind;              /* "127.0.0.1" (IPv4 or IPv6 literal) */
  uint16_t port;           /* 14265; 0 = ephemeral (see pg_node_port) */
  unsigned workers;        /* HTTP worker threads; 0 = auto (pg_node_workers) */
  size_t max_body;         /* request body cap, 64 KiB */
  bool remote_pow;         /* node does PoW for drafts without nonce; true */
  unsigned pow_threads;    /* 0 = all cores */
  unsigned pow_queue;      /* drafts waiting for remote PoW beside the running one;
                              0 = PG_NODE_POW_QUEUE */
  unsigned connection_timeout_s; /* idle keep-alive connections closed after this; 30 */
  unsigned max_connections;      /* 256 */
  /* [api] TLS and who may POST (see "Access" above); owned, NULL = not set */
  char *tls_cert;          /* PEM certificate (chain); with tls_key: HTTPS only */
  char *tls_key;           /* PEM private key, unencrypted */
  char *post_ca;           /* PEM CA: a client certificate it verifies may POST (needs TLS) */
  char *post_crl;          /* PEM CRL of post_ca, re-read when the file changes */
  size_t post_token_count; /* tokens of post_tokens_file, as BLAKE2b-256 digests */
  uint8_t (*post_token_hashes)[32]; /* owned (malloc'd) */

  /* [coordinator] */
  bool coo_enabled;            /* false */
  uint64_t coo_interval_ms;    /* 5000 */
  size_t coo_keys_count;
  uint8_t coo_secret_keys[PG_MS_MAX_KEYS][64]; /* seed || public key */

  /* [milestones] (coordinator keys are merged in by pg_node_config_load) */
  size_t ms_keys_count;
  uint8_t ms_public_keys[PG_MS_MAX_KEYS][32];
  unsigned ms_threshold; /* 1 */

  /* [tips] and [solidifier]: 0 = the Tangle's defaults */
  unsigned tsc_c1, tsc_c2, tsc_max_depth;
  unsigned tip_max_children, tip_max_age_ms;
  size_t unsolid_max;
  unsigned unsolid_max_age_ms;

  /* [ledger] */
  bool dust_protection;         /* TIP-15; true */
  size_t genesis_count;
  pg_genesis_output *genesis;   /* owned (malloc'd); from genesis and genesis_file */

  /* [peers] — a replica: follows these nodes (see "Replica" above) */
  size_t peer_count;
  char **peer_urls;            /* owned (malloc'd), peer_count entries */
  char *peer_ca_file;          /* owned; https peers: CA file (NULL = system CAs) */
  char *peer_bearer;           /* owned, wiped at clear; from [peers] token_file: sent as
                                  "Authorization: Bearer" to every peer (NULL = none) */
  uint64_t peer_poll_ms;       /* 1000 */
  uint64_t peer_refuse_ms;     /* 3600000: how long a peer that served something invalid is skipped */
  uint64_t peer_max_backoff_ms; /* 60000: backoff cap of a peer that does not answer */
  /* [mqtt]: events to a broker (see "Events"); mqtt.host NULL = no MQTT */
  pg_mqtt_settings mqtt;       /* owned; client_id "p2pgrid-node", qos 1 */
  size_t mqtt_queue;           /* events held while the broker is slow or away; 10000 */
  /* [money] and [site] tz: how the explorer shows amounts and times
   * (GET /api/plugins/display); display only. Default base units "i", UTC. */
  pg_money money;
  pg_tz tz;

  /* Programmatic only (not from INI). */
  const pg_clock *clock;       /* NULL = real clock */
  /* Optional replacement of the node's own ledger: when set, this hook is
   * passed to the Tangle instead, the node runs no ledger (pg_node_ledger
   * is NULL) and the ledger routes answer 503. */
  pg_tx_confirm_fn tx_confirm;
  void *tx_confirm_ctx;
  /* Optional: called once after the Tangle is open (and the node's ledger
   * attached) and before the API and the coordinator start. A non-zero
   * return makes pg_node_start fail with it. */
  int (*tangle_opened)(void *ctx, pg_tangle *t, pg_diag *d);
  void *tangle_opened_ctx;
} pg_node_config;

/* Fills c with the defaults above (allocates the default strings; on OOM the
 * string fields stay NULL and pg_node_config_load/pg_node_start fail). */
void pg_node_config_init(pg_node_config *c);
/* The HTTP worker threads the node starts for c: c->workers, or when it is
 * 0 one for a node that stores what it is sent (no request waits on another
 * thread there: remote PoW runs on the node's PoW thread, a message that
 * finds the store busy is answered after its commit, so one worker serves
 * every connection, and on two cores it costs a message least; measured in
 * docs/PERFORMANCE.md) and four for a replica (each POST waits for a peer's
 * answer). */
unsigned pg_node_workers(const pg_node_config *c);
/* Frees the strings and wipes the secret keys. Safe on an init'ed config. */
void pg_node_config_clear(pg_node_config *c);

/* Reads every node key from cfg (sections node, api, coordinator, milestones,
 * tips, solidifier; see examples/node.ini). Missing keys keep c's current
 * values. With [coordinator] enabled = true the seeds come from seed_file
 * (one hex seed per line, '#' comments) and/or seeds (comma separated hex);
 * with generate = true and no key file yet, a new file is created with mode
 * 0600 holding a fresh random seed, and its public key is logged. The default
 * seed_file is <data_dir>/coordinator.key. Milestone public keys come from
 * [milestones] public_keys and/or public_keys_file (one hex key per line;
 * config lines are limited to 199 characters, i.e. two keys), plus the
 * coordinator's own keys. Errors name the origin, e.g.
 * "node.ini:12: [api] port: ...". Unknown keys are not checked here (use
 * pg_config_unused). */
PG_NODISCARD int pg_node_config_load(pg_node_config *c, pg_config *cfg, pg_diag *d);

typedef struct pg_node pg_node;

/* Opens the Tangle in data_dir, creates the ledger and attaches it (books
 * the genesis on a new data dir; PG_ERR_CONFIG, with a message naming the
 * genesis, when the data dir was created with another genesis), starts
 * the HTTP server and, if enabled, the coordinator (which issues one
 * milestone right away, then one per interval).
 * Logs "listening on http://ADDR:PORT" (https:// with [api] tls_cert) at
 * info level (the real port, also when 0 was asked for). PG_ERR_CONFIG when
 * the TLS files or post_ca / post_crl cannot be read or do not fit. */
PG_NODISCARD int pg_node_start(const pg_node_config *c, pg_node **out, pg_diag *d);
/* Cancels running proof of work, stops the coordinator and the HTTP server,
 * closes the Tangle and frees n. NULL ok. */
void pg_node_stop(pg_node *n);

/* The TCP port the API listens on. */
uint16_t pg_node_port(const pg_node *n);
/* The Tangle the node serves (borrowed; valid until pg_node_stop). */
pg_tangle *pg_node_tangle(pg_node *n);
/* The node's ledger (borrowed; valid until pg_node_stop), or NULL when the
 * config replaced it with its own tx_confirm hook. Reads are thread-safe. */
pg_ledger *pg_node_ledger(pg_node *n);

/* Same rule as GET /health. */
bool pg_node_is_healthy(pg_node *n);

/* Counters of the API since start (see "Access"). */
typedef struct pg_node_api_stats {
  uint64_t requests;            /* answered */
  uint64_t connections;         /* accepted */
  uint64_t handshake_failures;  /* TLS connections closed before any request */
  uint64_t posts_unauthenticated; /* 401: no bearer token and no client certificate */
  uint64_t posts_forbidden;       /* 403: token not listed or certificate refused */
} pg_node_api_stats;
void pg_node_get_api_stats(pg_node *n, pg_node_api_stats *out);

/* The MQTT publisher's counters (all zero without [mqtt]). */
typedef struct pg_node_mqtt_stats {
  bool enabled;       /* [mqtt] host set */
  bool connected;     /* to the broker now */
  uint64_t published; /* MQTT messages handed to libmosquitto */
  uint64_t dropped;   /* events or messages lost: queue full, broker away, no memory */
  uint64_t queued;    /* events waiting now */
} pg_node_mqtt_stats;
void pg_node_get_mqtt_stats(pg_node *n, pg_node_mqtt_stats *out);

#endif
