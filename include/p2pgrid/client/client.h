/* p2pgrid/client/client.h — node access interface: everything an entity (wallet, MAM
 * channel, grid participant) needs from a Chrysalis node, behind one vtable,
 * so the same caller code runs against a node over HTTP (TIP-13 REST API v1)
 * or, later, against an in-process pg_tangle.
 *
 * Usage:
 *   pg_client *c = NULL;
 *   pg_http_client_opts o = {.base_url = "http://127.0.0.1:14265"};
 *   if (pg_client_http_new(&o, &c, &d)) ...
 *   pg_client_info(c, &info, &d);
 *   pg_client_submit_data(c, idx, idx_len, data, data_len, id, &d);
 *   pg_client_free(c);
 *
 * Errors: every call returns 0 or a negative pg_err and, on failure, writes one
 * sentence into the optional pg_diag. For the HTTP implementation that
 * sentence names the request and carries the node's own error text, e.g.
 * "HTTP 400 from POST /api/v1/messages: invalid message: parents not sorted".
 *
 * Contract:
 * - Error mapping (HTTP implementation):
 *     400 -> PG_ERR_INVALID        404 -> PG_ERR_NOT_FOUND
 *     413 -> PG_ERR_TOO_LARGE      503 -> PG_ERR_UNAVAILABLE
 *     403, 405, 415, 501 -> PG_ERR_UNSUPPORTED
 *     408, 504 and transport timeouts -> PG_ERR_TIMEOUT
 *     other statuses, refused/broken connections and answers that are not
 *     what TIP-13 promises (bad JSON, missing field) -> PG_ERR_HTTP
 *     a response body over max_response -> PG_ERR_TOO_LARGE
 * - Struct outputs (*out, *healthy, id) are written only on success; id
 *   arrays may be partly written on failure (never read them then).
 * - Ids are 32 raw bytes (PG_ID_LEN); hex only appears on the wire.
 *
 * Threads: a pg_client object is NOT thread-safe. The HTTP implementation
 * reuses one libcurl easy handle (and so one keep-alive TCP connection) per
 * object; give each thread its own client. Different clients may be used from
 * different threads at the same time.
 *
 * Ownership: a client from pg_client_*_new is the caller's (pg_client_free,
 * NULL ok); what it borrows (an in-process node's tangle and ledger) must
 * outlive it. Outputs are the caller's: structs by value, pg_client_get_json a
 * new reference (json_decref), id arrays malloc'd (free), raw bytes appended to
 * the caller's pg_buf. */
#ifndef P2PGRID_CLIENT_CLIENT_H
#define P2PGRID_CLIENT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/ledger/ledger.h" /* pg_output_info, PG_OUTPUT_ID_LEN */
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/tangle.h" /* pg_msg_meta, pg_milestone_info, enum pg_inclusion */

#define PG_CLIENT_NETWORK_MAX 255 /* bytes of a network name */
#define PG_CLIENT_HRP_MAX 83      /* bytes of a bech32 human-readable part */

/* GET /api/v1/info (INodeInfo), the fields callers use. */
typedef struct pg_node_info {
  char name[64];                             /* node software, e.g. "p2pgrid" (may be cut) */
  char version[64];                          /* may be cut */
  bool is_healthy;
  char network[PG_CLIENT_NETWORK_MAX + 1];   /* networkId string of /info, e.g. "private-tangle" */
  uint64_t network_id;                       /* BLAKE2b-256(network)[0..8] LE, as iota.js computes it */
  char bech32_hrp[PG_CLIENT_HRP_MAX + 1];
  uint32_t min_pow_score;
  uint32_t latest_milestone_index;
  uint64_t latest_milestone_timestamp;       /* Unix seconds; 0 if none */
  uint32_t confirmed_milestone_index;
  uint32_t pruning_index;
} pg_node_info;

typedef struct pg_client pg_client;

/* One data message for pg_client_submit_data_many. */
typedef struct pg_client_data {
  const uint8_t *index; /* 1..64 bytes */
  size_t index_len;
  const uint8_t *data; /* may be NULL when data_len is 0 */
  size_t data_len;
  bool follows;          /* not submitted (PG_ERR_STATE) unless the item before it was stored */
  uint8_t id[PG_ID_LEN]; /* out: the message id when rc is PG_OK */
  int rc;                /* out */
  pg_diag d;             /* out: why rc is not PG_OK */
} pg_client_data;

/* One index lookup for pg_client_find_many, with the messages it lists. */
typedef struct pg_client_found {
  const uint8_t *index;      /* in: 1..64 bytes */
  size_t index_len;          /* in */
  size_t max;                /* in: ids wanted, 1..PG_FIND_MAX_IDS (tangle/find.h: 1000) */
  bool want_meta;            /* in: each message's metadata too, where the transport can */
  uint8_t (*ids)[PG_ID_LEN]; /* out: count ids in the node's order (owned) */
  uint8_t **raw;             /* out: NULL, or count entries: raw[k] the bytes of ids[k]
                                (owned), NULL when not sent (pg_client_get_raw it) */
  size_t *raw_len;           /* out: with raw */
  pg_msg_meta *meta;         /* out: NULL, or (want_meta) count entries: id, referenced_by,
                                inclusion, conflict_reason of ids[k] (not parents, not
                                solid: zero); NULL:
                                pg_client_get_meta them */
  size_t count;              /* out: ids written */
  size_t total;              /* out: the node's count of messages under the index */
  int rc;                    /* out */
  pg_diag d;                 /* out: why rc is not PG_OK */
} pg_client_found;

/* Frees what pg_client_find_many gave f and zeroes its outputs (in-fields
 * stay). NULL is fine. */
void pg_client_found_clear(pg_client_found *f);

/* One output lookup for pg_client_outputs_many, with the message that made
 * the output. */
typedef struct pg_client_output_got {
  uint8_t id[PG_OUTPUT_ID_LEN]; /* in */
  pg_output_info info;          /* out, with rc PG_OK: GET outputs/{id}'s fields
                                   (booked_index too where the transport gives it:
                                   in-process and the batch; 0 after a GET) */
  uint8_t *raw;                 /* out, when the call asked for bytes and raw_rc is PG_OK:
                                   the bytes of info.message_id (owned), else NULL */
  size_t raw_len;               /* out: with raw */
  int raw_rc;                   /* out, with rc PG_OK and bytes asked: PG_OK (raw),
                                   PG_ERR_NOT_FOUND (no message: a genesis output, or one the
                                   node has not got), or why the bytes could not be read (d) */
  int rc;                       /* out: PG_OK; PG_ERR_NOT_FOUND: no such output; else why */
  pg_diag d;                    /* out: why rc (or raw_rc) is not PG_OK */
} pg_client_output_got;

/* Frees what pg_client_outputs_many gave g and zeroes its outputs (id
 * stays). NULL is fine. */
void pg_client_output_got_clear(pg_client_output_got *g);

/* The interface. An implementation defines a struct whose first member is a
 * pg_client and points ops at a static table; callers use the pg_client_*
 * wrappers below, never ops directly. Every function gets the client it was
 * called on; d may be NULL. */
typedef struct pg_client_ops {
  const char *kind; /* "http", ... */
  int (*health)(pg_client *c, bool *healthy, pg_diag *d);
  int (*info)(pg_client *c, pg_node_info *out, pg_diag *d);
  int (*tips)(pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, pg_diag *d);
  int (*submit_json)(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d);
  int (*submit_raw)(pg_client *c, const uint8_t *bytes, size_t len, uint8_t id[PG_ID_LEN],
                    pg_diag *d);
  /* May be NULL: pg_client_submit_data_many then submits one by one. Gets
   * items whose arguments were checked (rc PG_OK) or already failed (rc set);
   * fills the rc, d and id of each of the former. */
  void (*submit_data_many)(pg_client *c, pg_client_data *v, size_t n);
  int (*get_raw)(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d);
  /* May be NULL: pg_client_get_json then parses what get_raw returns. */
  int (*get_json)(pg_client *c, const uint8_t id[PG_ID_LEN], json_t **out, pg_diag *d);
  int (*get_meta)(pg_client *c, const uint8_t id[PG_ID_LEN], pg_msg_meta *out, pg_diag *d);
  int (*children)(pg_client *c, const uint8_t id[PG_ID_LEN], uint8_t (*ids)[PG_ID_LEN],
                  size_t max, size_t *count, size_t *total, pg_diag *d);
  int (*find_index)(pg_client *c, const uint8_t *index, size_t index_len,
                    uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                    pg_diag *d);
  /* May be NULL: pg_client_find_many then calls find_index for each (no
   * bytes). Gets items whose arguments were checked (rc PG_OK) or already
   * failed; fills every output of each of the former. */
  void (*find_many)(pg_client *c, pg_client_found *v, size_t n);
  int (*milestone)(pg_client *c, uint32_t index, pg_milestone_info *out, pg_diag *d);
  int (*address)(pg_client *c, const uint8_t address[32], uint64_t *balance, bool *dust_allowed,
                 pg_diag *d);
  int (*address_outputs)(pg_client *c, const uint8_t address[32], bool include_spent,
                         uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max, size_t *count,
                         size_t *total, pg_diag *d);
  int (*output)(pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *out, pg_diag *d);
  /* May be NULL: pg_client_outputs_many then calls output (and get_raw)
   * for each. Gets items with their outputs zeroed and rc PG_OK; fills every
   * output of each. */
  void (*outputs_many)(pg_client *c, pg_client_output_got *v, size_t n, bool raw);
  /* May be NULL (1): how many lookups outputs_many answers in one round
   * trip now. */
  size_t (*outputs_batch)(const pg_client *c);
  void (*destroy)(pg_client *c);
} pg_client_ops;

struct pg_client {
  const pg_client_ops *ops;
};

/* ---- HTTP implementation (libcurl) ---- */

typedef struct pg_http_client_opts {
  const char *base_url;        /* required: "http://host:port" (a trailing '/' is ignored) */
  const char *base_path;       /* NULL = "/api/v1/" */
  unsigned connect_timeout_ms; /* 0 = 5000 */
  unsigned timeout_ms;         /* whole request; 0 = 60000 (the node may do PoW) */
  size_t max_response;         /* body cap in bytes; 0 = 1 MiB */
  /* https:// nodes: CA, client certificate (for a node that allows POST
   * only to listed certificates), CRL; copied. NULL = system CAs. The
   * server is always verified; TLS failures as in http_call.h. Ignored for
   * an http:// base URL. */
  const pg_tls_files *tls;
  const char *bearer;          /* "Authorization: Bearer ..." on every request; copied;
                                  a malformed token (http_call.h) is PG_ERR_INVALID here */
  bool rest_only;              /* true: the TIP-13 routes only (no POST
                                  /api/plugins/data/batch or find), as with a node
                                  without p2pgrid's plugins */
} pg_http_client_opts;

/* Creates an HTTP client (copies what it needs from o). The first call in a
 * process initialises libcurl (thread-safe). *out is freed with
 * pg_client_free. No request is made here. */
PG_NODISCARD int pg_client_http_new(const pg_http_client_opts *o, pg_client **out, pg_diag *d);

/* ---- In-process implementation (an embedded node) ---- */

/* A client over a Tangle (and optionally its ledger; without one the ledger
 * calls fail with PG_ERR_UNSUPPORTED) in this process: the same entry points
 * as the REST API, no transport. Both are borrowed and must outlive the
 * client. Unlike the HTTP client it may be shared between threads (the Tangle
 * and ledger serialise access). A simulation runs its entities on this. */
PG_NODISCARD int pg_client_local_new(pg_tangle *t, pg_ledger *l, pg_client **out, pg_diag *d);

/* Releases any implementation. NULL is fine. */
void pg_client_free(pg_client *c);

/* "http", ... */
const char *pg_client_kind(const pg_client *c);

/* ---- Calls (each dispatches to c->ops) ---- */

/* GET /health: *healthy true on 200, false on 503; other statuses fail. */
PG_NODISCARD int pg_client_health(pg_client *c, bool *healthy, pg_diag *d);

/* GET info. network_id is computed from the network name. */
PG_NODISCARD int pg_client_info(pg_client *c, pg_node_info *out, pg_diag *d);

/* GET tips: up to max ids (32 bytes each); *count = how many written. More
 * tips than max is not an error (the first max are kept). */
PG_NODISCARD int pg_client_tips(pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count,
                                pg_diag *d);

/* POST messages with a JSON message object (IMessage; networkId,
 * parentMessageIds and nonce may be left out for the node to fill). msg is
 * borrowed. id gets the message id the node answered. */
PG_NODISCARD int pg_client_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN],
                                       pg_diag *d);

/* POST messages with complete message bytes (application/octet-stream). */
PG_NODISCARD int pg_client_submit_raw(pg_client *c, const uint8_t *bytes, size_t len,
                                      uint8_t id[PG_ID_LEN], pg_diag *d);

/* Convenience over submit_json: {"payload":{"type":2,"index":hex,"data":hex}}
 * with nothing else (the node fills network id, parents and nonce), like
 * iota.js sendData. index_len 1..64; data may be NULL when data_len is 0. */
PG_NODISCARD int pg_client_submit_data(pg_client *c, const uint8_t *index, size_t index_len,
                                       const uint8_t *data, size_t data_len, uint8_t id[PG_ID_LEN],
                                       pg_diag *d);

/* pg_client_submit_data for v[0..n) in order, each with its own rc, d and
 * id; an item with follows set is not submitted (PG_ERR_STATE) when the one
 * before it was not stored. The in-process client stores them together
 * (pg_tangle_attach_many: shared transactions, the messages chained); over
 * HTTP they go in batches (POST /api/plugins/data/batch, docs/PROTOCOL.md:
 * up to 256 items and 64 KiB a request, one after the other; an item the
 * node refused gets its status's error, every item of a batch whose request
 * failed that request's error), or one by one to a node that takes no
 * batches (404, 501: remembered by the client; a 413 halves the batches).
 * Returns PG_OK once every item has its rc, PG_ERR_INVALID (no item
 * touched) without a client or items. */
PG_NODISCARD int pg_client_submit_data_many(pg_client *c, pg_client_data *v, size_t n, pg_diag *d);

/* GET messages/{id}/raw: appends the message bytes to out (out's limit applies;
 * on failure out's length is unchanged). */
PG_NODISCARD int pg_client_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out,
                                   pg_diag *d);

/* GET messages/{id}: *out gets a new reference to the JSON message (the
 * "data" object); json_decref it. */
PG_NODISCARD int pg_client_get_json(pg_client *c, const uint8_t id[PG_ID_LEN], json_t **out,
                                    pg_diag *d);

/* GET messages/{id}/metadata. referenced_by 0 = not referenced yet;
 * inclusion PG_INCL_UNKNOWN until then. arrival_ms is not on the wire (0). */
PG_NODISCARD int pg_client_get_meta(pg_client *c, const uint8_t id[PG_ID_LEN], pg_msg_meta *out,
                                    pg_diag *d);

/* GET messages/{id}/children: up to max ids; *total = the count the node reported. */
PG_NODISCARD int pg_client_children(pg_client *c, const uint8_t id[PG_ID_LEN],
                                    uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count,
                                    size_t *total, pg_diag *d);

/* GET messages?index=<hex>: ids of messages with this indexation key (1..64
 * bytes), in the node's order; up to max written; *total = the node's count. */
PG_NODISCARD int pg_client_find_index(pg_client *c, const uint8_t *index, size_t index_len,
                                      uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count,
                                      size_t *total, pg_diag *d);

/* pg_client_find_index for v[0..n) (each item's index, index_len and max
 * in, every other field out: see pg_client_found), each with its own rc and
 * d, and where the transport can, the bytes of the messages listed (and
 * with want_meta their metadata). Over HTTP
 * the lookups go in batches (POST /api/plugins/data/find, docs/PROTOCOL.md:
 * up to 256 a request, the answer at most the client's max_response), each
 * message's bytes checked against its id (bytes that do not hash to it fail
 * the batch's items as a bad answer); a node that refuses a request's size
 * (413: its api.max_body) gets half as many keys a request from then on; a
 * node without the route (401, 403, 404, 405, 415, 501, or a 413 for a
 * single key: remembered) and rest_only get one GET a lookup and no bytes.
 * The in-process client looks each up in its Tangle, no bytes. Clear each
 * item with pg_client_found_clear (also after a failure). Returns PG_OK once
 * every item has its rc, PG_ERR_INVALID (no item touched) without a client
 * or items. */
PG_NODISCARD int pg_client_find_many(pg_client *c, pg_client_found *v, size_t n, pg_diag *d);

/* GET milestones/{index}. PG_ERR_NOT_FOUND if the node has none. */
PG_NODISCARD int pg_client_milestone(pg_client *c, uint32_t index, pg_milestone_info *out,
                                     pg_diag *d);

/* GET addresses/ed25519/{hex}: confirmed balance (0 for an unknown address)
 * and whether it may receive one more dust output (dust_allowed may be NULL). */
PG_NODISCARD int pg_client_address(pg_client *c, const uint8_t address[32], uint64_t *balance,
                                   bool *dust_allowed, pg_diag *d);

/* GET addresses/ed25519/{hex}/outputs[?include-spent=true]: ids of its
 * unspent (or all) outputs (34 bytes: transaction id || u16 LE index); up to
 * max written, *total = node's count. */
PG_NODISCARD int pg_client_address_outputs(pg_client *c, const uint8_t address[32],
                                           bool include_spent,
                                           uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max,
                                           size_t *count, size_t *total, pg_diag *d);
/* The same, every output the node gives (up to limit): asks again with room
 * for *total when the first page (first ids) was full. An in-process node
 * gives all; a node's HTTP API at most its page (1,000), so a caller still
 * sees the oldest ones first. *ids: owned by the caller (free), NULL when
 * *count is 0 on failure. Errors: as above, PG_ERR_NOMEM. */
PG_NODISCARD int pg_client_address_outputs_all(pg_client *c, const uint8_t address[32],
                                               bool include_spent, size_t first, size_t limit,
                                               uint8_t (**ids)[PG_OUTPUT_ID_LEN], size_t *count,
                                               pg_diag *d);

/* GET outputs/{id}. Fills output_id, message_id, type, address, amount, spent
 * (and spent_index / spent_tx_id when the node reports them). */
PG_NODISCARD int pg_client_output(pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN],
                                  pg_output_info *out, pg_diag *d);

/* pg_client_output for v[0..n) (each item's id in, every other field
 * out), each with its own rc and d, and with raw the bytes of the message
 * whose transaction made each output found (raw_rc). Over HTTP the lookups
 * go in batches (POST /api/plugins/data/outputs, docs/PROTOCOL.md: up to
 * 1,000 a request, the answer at most the client's max_response), each
 * message's bytes checked against its id (bytes that do not hash to it fail
 * the request's items as a bad answer); a node that refuses a request's
 * size (413: its api.max_body) gets half as many ids a request from then on;
 * a node without the route (401, 403, 404, 405, 415, 501, or a 413 for a
 * single id: remembered) and rest_only get GET outputs/{id} and GET
 * messages/{id}/raw for each (bytes that do not hash to the id: that item's
 * raw_rc PG_ERR_INVALID). The in-process client looks each up in its
 * ledger and Tangle. Clear each item with pg_client_output_got_clear (also
 * after a failure). Returns PG_OK once every item has its rc,
 * PG_ERR_INVALID (no item touched) without a client or items. */
PG_NODISCARD int pg_client_outputs_many(pg_client *c, pg_client_output_got *v, size_t n, bool raw,
                                        pg_diag *d);
/* How many output lookups pg_client_outputs_many answers in one round trip
 * now: 1 in-process (a lookup costs the same alone, so a caller that may
 * stop early should ask one at a time), 1,000 over HTTP while the node
 * takes batches (1 once it has refused them, or with rest_only). 1 without
 * a client. */
size_t pg_client_outputs_batch(const pg_client *c);

/* Maps an HTTP status (non-2xx) to a pg_err, as listed above. */
int pg_client_http_status_err(long status);

#endif
