/* node_internal.h — shared between the files of src/node (not a public contract). */
#ifndef P2PGRID_NODE_INTERNAL_H
#define P2PGRID_NODE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/tangle/message_json.h"
#include "p2pgrid/tangle/tangle.h"
#include "peers.h"

struct pg_node_mqtt;
typedef struct pg_node_metrics pg_node_metrics;
typedef struct pg_node_pow pg_node_pow;

struct pg_node {
  pg_tangle *tangle;
  pg_ledger *ledger; /* NULL when the config brought its own tx_confirm hook */
  const pg_clock *clock;
  atomic_bool stopping; /* cancels PoW of requests and the coordinator */
  struct pg_backup_server *backups; /* writes `p2pgrid backup`'s backups of the store */

  /* API */
  pg_httpd *httpd;
  uint16_t port;
  size_t max_body;
  bool remote_pow;
  pg_node_pow *pow; /* remote PoW's thread and queue (pow.c); NULL when stopped */
  pg_money money; /* GET /api/plugins/display */
  pg_tz tz;
  uint32_t min_pow_score;

  /* who may POST (http.c; see node.h "Access") */
  bool post_restricted;
  size_t post_token_count;
  uint8_t (*post_token_hashes)[32]; /* owned */
  pg_tls_trust *post_trust;         /* owned; NULL = certificates do not count */
  atomic_uint_fast64_t posts_unauthenticated, posts_forbidden;
  atomic_uint_fast64_t refusal_logged_ms, refusals_unlogged; /* log rate limit */

  /* [mqtt] events (mqtt.c); NULL = none */
  struct pg_node_mqtt *mqtt;

  /* health */
  bool expects_milestones;
  uint64_t max_milestone_age_ms;

  /* coordinator */
  bool coo_enabled;
  bool coo_running;
  uint64_t coo_interval_ms;
  size_t coo_keys_count;
  uint8_t (*coo_keys)[64]; /* owned, wiped on stop */
  pthread_t coo_thread;
  pthread_mutex_t coo_mu;
  pthread_cond_t coo_cv;
  bool coo_sync_init;
  uint32_t coo_issued; /* milestones issued by this process */

  /* replica ([peers]; peers.c): NULL on a node that follows nobody */
  pg_peers *peers;

  /* GET /metrics (node_metrics.c; made and freed by http.c) */
  pg_node_metrics *metrics;
};

/* One request as the route handlers see it (http.c fills it from the
 * server's pg_httpd_req; hreq is that request, for its query and headers). */
typedef struct pg_http_req {
  const pg_httpd_req *hreq;
  const char *method;
  const char *url;
  const uint8_t *body; /* may be NULL when body_len is 0 */
  size_t body_len;
  pg_httpd_resp *out;  /* the server's answer (pg_node_later_begin) */
  int route;           /* PG_NODE_ROUTE_* of the latency histogram */
  double t0;           /* when the request reached the node (pg_metrics_now) */
} pg_http_req;

/* What a handler answers. status >= 400 with error[] set means an error
 * envelope; raw != NULL means a non-JSON body; otherwise data (owned, may be
 * NULL for an empty 2xx body), sent as {"data": data}. http.c hands it to the
 * server (pg_httpd_resp), which writes the envelopes and headers. */
typedef struct pg_http_resp {
  unsigned status;
  json_t *data;
  uint8_t *raw; /* malloc'd, owned */
  size_t raw_len;
  const char *content_type; /* for raw */
  char error[320];
  char location[128];
  char allow[80];     /* Allow header for 405, "" = none */
  bool empty;        /* no body at all (204, HEAD-like answers) */
  bool later;        /* answered through a pg_node_later: nothing to hand over now */
} pg_http_resp;

/* node.c: see node.h "Health"; *why (optional) gets the reason when unhealthy. */
bool pg_node_health(pg_node *n, const char **why);

/* http.c */
PG_NODISCARD int pg_node_http_start(pg_node *n, const pg_node_config *c, pg_diag *d);
void pg_node_http_stop(pg_node *n);

/* http.c: a route's answer given later, from any thread (POST /messages
 * answered after the tangle's COMMIT, no server thread waiting for it).
 * pg_node_later_begin defers the request's answer and sets resp->later, or
 * returns NULL (the server cannot: answer now). pg_node_later_end hands the
 * answer to the server, times the request into the latency histogram and
 * frees l; exactly once, possibly before the route returns. */
typedef struct pg_node_later pg_node_later;
pg_node_later *pg_node_later_begin(pg_node *n, const pg_http_req *req, pg_http_resp *resp);
pg_node *pg_node_later_node(const pg_node_later *l);
void pg_node_later_end(pg_node_later *l, pg_http_resp *resp);

/* pow.c: remote proof of work off the HTTP workers. pg_node_pow_start
 * starts the thread (at most cap drafts waiting behind the running one);
 * pg_node_pow_submit takes the draft (moved out: *draft is left empty) and
 * answers l from the thread after the search and the store, or returns
 * PG_ERR_UNAVAILABLE (the queue is full: counted as refused) or
 * PG_ERR_CANCELLED (stopping), d saying so, and the caller answers l.
 * pg_node_pow_stop closes the queue and joins the thread once every job
 * taken is answered (503 when the node is stopping; call it while the
 * server still runs, before pg_httpd_stop waits for deferred answers);
 * later submits are refused. pg_node_pow_free (after the server has
 * stopped: no handler can submit) frees it. */
PG_NODISCARD int pg_node_pow_start(pg_node *n, size_t cap, pg_diag *d);
PG_NODISCARD int pg_node_pow_submit(pg_node *n, pg_message_draft *draft, pg_node_later *l,
                                    pg_diag *d);
void pg_node_pow_stop(pg_node *n);
void pg_node_pow_free(pg_node *n);
/* api.c: answers a deferred POST /messages: 201 with id, or rc's error. */
void pg_node_answer_later(pg_node_later *l, int rc, const uint8_t *id, const pg_diag *d);

/* api.c: routes a complete request. */
void pg_node_api_dispatch(pg_node *n, const pg_http_req *req, pg_http_resp *resp);
/* explorer.c: GET /api/plugins/mam/fetch (a route of api.c). */
void pg_node_mam_fetch(pg_node *n, const pg_http_req *req, const char *const *args,
                       pg_http_resp *resp);
/* batch.c: POST /api/plugins/data/batch (a route of api.c). */
void pg_node_batch_post(pg_node *n, const pg_http_req *req, const char *const *args,
                        pg_http_resp *resp);
/* find.c: POST /api/plugins/data/find (a route of api.c; a read: open to
 * all, as GETs are). */
#define PG_NODE_FIND_PATH "/api/plugins/data/find"
void pg_node_find_post(pg_node *n, const pg_http_req *req, const char *const *args,
                       pg_http_resp *resp);
/* outputs_post.c: POST /api/plugins/data/outputs (a route of api.c; a read:
 * open to all, as GETs are). */
#define PG_NODE_OUTPUTS_PATH "/api/plugins/data/outputs"
void pg_node_outputs_post(pg_node *n, const pg_http_req *req, const char *const *args,
                          pg_http_resp *resp);
/* api.c: the node's ledger, or NULL with a 503 in resp (a node whose
 * confirmation hook was replaced keeps none). */
pg_ledger *pg_node_need_ledger(pg_node *n, pg_http_resp *resp);
/* api.c: the HTTP status of an error class from the Tangle or the codec. */
unsigned pg_node_status_for(int rc);
/* api.c: the request's media type without parameters, lowercased into out;
 * NULL without a Content-Type. */
const char *pg_node_media_type(const pg_httpd_req *hreq, char *out, size_t cap);
/* api.c: GET /api/plugins/peers. */
void pg_node_peers_status(pg_node *n, const pg_http_req *req, const char *const *args,
                          pg_http_resp *resp);
/* node_json.c: JSON shapes shared by the REST API and the MQTT events
 * (new references; NULL when out of memory). */
json_t *pg_node_hex_json(const uint8_t *p, size_t n); /* n <= 64 */
/* n items of `each` bytes (each <= 64) as an array of hex strings. */
json_t *pg_node_hex_list_json(const uint8_t *items, size_t n, size_t each);
json_t *pg_node_ids_json(const uint8_t (*ids)[PG_ID_LEN], size_t n);
json_t *pg_node_meta_json(const pg_msg_meta *m); /* IMessageMetadata */
/* IOutputResponse with isSpent = spent; spent_details adds milestoneIndexSpent
 * and transactionIdSpent (REST; Hornet's MQTT payload has neither). */
json_t *pg_node_output_json(const pg_output_info *o, bool spent, bool spent_details,
                            uint32_t ledger_index);

/* node_metrics.c: the Prometheus metrics of GET /metrics. Route classes
 * and outcomes are fixed lists (no label value comes from a request). */
enum {
  PG_NODE_ROUTE_HEALTH, PG_NODE_ROUTE_INFO, PG_NODE_ROUTE_TIPS, PG_NODE_ROUTE_MESSAGES,
  PG_NODE_ROUTE_MESSAGES_POST, PG_NODE_ROUTE_BATCH_POST, PG_NODE_ROUTE_FIND_POST,
  PG_NODE_ROUTE_OUTPUTS_POST, PG_NODE_ROUTE_MILESTONES,
  PG_NODE_ROUTE_OUTPUTS,
  PG_NODE_ROUTE_ADDRESSES, PG_NODE_ROUTE_TRANSACTIONS, PG_NODE_ROUTE_PLUGINS,
  PG_NODE_ROUTE_EXPLORER, PG_NODE_ROUTE_METRICS, PG_NODE_ROUTE_OTHER, PG_NODE_ROUTE_COUNT
};
typedef enum pg_node_msg_outcome {
  PG_NODE_MSG_STORED, PG_NODE_MSG_DUPLICATE, PG_NODE_MSG_INVALID, PG_NODE_MSG_FAILED,
  PG_NODE_MSG_OUTCOMES
} pg_node_msg_outcome;
PG_NODISCARD int pg_node_metrics_new(pg_node_metrics **out, pg_diag *d);
void pg_node_metrics_free(pg_node_metrics *m); /* NULL ok */
/* The class of a request (never "explorer": the caller knows that one). */
int pg_node_route_class(const char *method, const char *path);
/* Thread-safe; no-ops while n->metrics is NULL. */
void pg_node_metrics_request(pg_node *n, int route, unsigned status, double seconds);
void pg_node_metrics_message(pg_node *n, pg_node_msg_outcome o);
double pg_node_metrics_pow_start(pg_node *n);
void pg_node_metrics_pow_end(pg_node *n, double t0, bool ok);
void pg_node_metrics_pow_queued(pg_node *n, int delta);
void pg_node_metrics_pow_refused(pg_node *n);
/* GET /metrics. */
void pg_node_metrics_get(pg_node *n, const pg_http_req *req, const char *const *args,
                         pg_http_resp *resp);

/* Sets an error answer; the text is made printable ASCII. */
void pg_http_error(pg_http_resp *resp, unsigned status, const char *fmt, ...) PG_PRINTF(3, 4);

#endif
