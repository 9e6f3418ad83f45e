/* node_metrics.c — the node's Prometheus metrics (GET /metrics; metrics.h
 * renders them). Counters are bumped where things happen (http.c: every
 * request's latency; api.c: POST /messages outcomes, proof of work);
 * gauges are read at scrape time from the Tangle, the ledger, the MQTT
 * publisher and the peers. Every label value is one of the fixed lists
 * below: nothing a client sends becomes a label (a path that is no route
 * counts as route "other"). The list with meanings: docs/OPERATIONS.md. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/metrics.h"

#define METRICS_MAX_TEXT (1u << 20)

static const char *const route_names[PG_NODE_ROUTE_COUNT] = {
    "health",    "info",         "tips",    "messages", "messages_post", "batch_post",
    "find_post", "outputs_post", "milestones", "outputs",     "addresses", "transactions", "plugins", "explorer",
    "metrics",   "other"};
static const char *const status_names[] = {"2xx", "3xx", "4xx", "5xx"};
static const char *const outcome_names[PG_NODE_MSG_OUTCOMES] = {"stored", "duplicate", "invalid",
                                                                "failed"};
static const char *const pow_names[] = {"done", "failed", "refused"};
static const char *const output_states[] = {"unspent", "spent"};
static const char *const refused_names[] = {"401", "403"};
static const char *const milestone_kinds[] = {"latest", "confirmed"};
static const char *const checkpoint_by[] = {"thread", "writer"};
static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10};
static const double pow_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

enum {
  M_REQUESTS, M_MESSAGES, M_STORED, M_UNSOLID, M_MILESTONE, M_TIPS, M_OUTPUTS, M_HEALTHY,
  M_POW_JOBS, M_POW_RUNNING, M_POW_QUEUED, M_POW_SECONDS, M_CONNECTIONS, M_HANDSHAKES, M_REFUSED,
  M_MQTT_CONNECTED, M_MQTT_PUBLISHED, M_MQTT_DROPPED, M_MQTT_QUEUED, M_PEERS, M_PEER_FAILURES,
  M_PEER_REFUSALS, M_COMMITS, M_COMMITTED, M_CHECKPOINTS, M_CKPT_FRAMES, M_COUNT
};

struct pg_node_metrics {
  pg_metrics *reg;
  pg_metric *f[M_COUNT];
  /* the ledger's counts change at milestones only: counted again when the
   * confirmed index moved (under mu) */
  pthread_mutex_t mu;
  uint32_t outputs_at;
  bool outputs_known;
  uint64_t unspent, spent;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const pg_metric_spec fams[M_COUNT] = {
    [M_REQUESTS] = {"p2pgrid_node_api_request_duration_seconds",
                    "Time to answer a REST API request, by route class and status class.",
                    PG_METRIC_HISTOGRAM, "route", route_names, N(route_names), "status",
                    status_names, N(status_names), latency_buckets, N(latency_buckets)},
    [M_MESSAGES] = {"p2pgrid_node_messages_received_total",
                    "Messages posted to POST /api/v1/messages and in batches to POST "
                    "/api/plugins/data/batch, by outcome (stored; duplicate: raw bytes already "
                    "stored; invalid: refused with 4xx, a batch refused whole once; failed: 5xx).",
                    PG_METRIC_COUNTER, "outcome", outcome_names, N(outcome_names)},
    [M_STORED] = {"p2pgrid_node_messages", "Messages stored in the Tangle.", PG_METRIC_GAUGE},
    [M_UNSOLID] = {"p2pgrid_node_messages_unsolid", "Messages waiting for their parents.",
                   PG_METRIC_GAUGE},
    [M_MILESTONE] = {"p2pgrid_node_milestone_index",
                     "Milestone index: latest (highest valid milestone seen; confirmed as soon "
                     "as its past cone is solid) and confirmed.",
                     PG_METRIC_GAUGE, "kind", milestone_kinds, N(milestone_kinds)},
    [M_TIPS] = {"p2pgrid_node_tips", "Tips tracked for tip selection.", PG_METRIC_GAUGE},
    [M_OUTPUTS] = {"p2pgrid_node_ledger_outputs", "Ledger outputs by state.", PG_METRIC_GAUGE,
                   "state", output_states, N(output_states)},
    [M_HEALTHY] = {"p2pgrid_node_healthy", "1 when GET /health answers 200.", PG_METRIC_GAUGE},
    [M_POW_JOBS] = {"p2pgrid_node_pow_jobs_total",
                    "Proof of work for POST /api/v1/messages drafts without a nonce, by "
                    "outcome (refused: the queue was full).",
                    PG_METRIC_COUNTER, "outcome", pow_names, N(pow_names)},
    [M_POW_RUNNING] = {"p2pgrid_node_pow_jobs_running", "Proof of work jobs running now.",
                       PG_METRIC_GAUGE},
    [M_POW_QUEUED] = {"p2pgrid_node_pow_jobs_queued",
                      "Drafts waiting for the proof-of-work thread ([api] pow_queue at most).",
                      PG_METRIC_GAUGE},
    [M_POW_SECONDS] = {"p2pgrid_node_pow_duration_seconds",
                       "Time to attach a draft that needed proof of work.", PG_METRIC_HISTOGRAM,
                       NULL, NULL, 0, NULL, NULL, 0, pow_buckets, N(pow_buckets)},
    [M_CONNECTIONS] = {"p2pgrid_node_api_connections_total", "API connections accepted.",
                       PG_METRIC_COUNTER},
    [M_HANDSHAKES] = {"p2pgrid_node_api_tls_handshake_failures_total",
                      "TLS connections closed before any request.", PG_METRIC_COUNTER},
    [M_REFUSED] = {"p2pgrid_node_api_writes_refused_total",
                   "Writes refused by the POST restriction: 401 (no credentials) and 403 "
                   "(refused ones).",
                   PG_METRIC_COUNTER, "status", refused_names, N(refused_names)},
    [M_MQTT_CONNECTED] = {"p2pgrid_node_mqtt_connected", "1 while connected to the MQTT broker.",
                          PG_METRIC_GAUGE},
    [M_MQTT_PUBLISHED] = {"p2pgrid_node_mqtt_published_total", "MQTT messages published.",
                          PG_METRIC_COUNTER},
    [M_MQTT_DROPPED] = {"p2pgrid_node_mqtt_dropped_total",
                        "MQTT events lost: queue full, broker away, no memory.",
                        PG_METRIC_COUNTER},
    [M_MQTT_QUEUED] = {"p2pgrid_node_mqtt_queued", "MQTT events waiting.", PG_METRIC_GAUGE},
    [M_PEERS] = {"p2pgrid_node_peers", "Peers this replica follows (0 on other nodes).",
                 PG_METRIC_GAUGE},
    [M_PEER_FAILURES] = {"p2pgrid_node_peer_failures_total",
                         "Failed calls to the peers (down, timeouts).", PG_METRIC_COUNTER},
    [M_PEER_REFUSALS] = {"p2pgrid_node_peer_refusals_total",
                         "Times a peer was refused for serving something invalid.",
                         PG_METRIC_COUNTER},
    [M_COMMITS] = {"p2pgrid_node_store_commits_total",
                   "Tangle store transactions that stored messages (a group of concurrent "
                   "submits shares one).",
                   PG_METRIC_COUNTER},
    [M_COMMITTED] = {"p2pgrid_node_store_committed_messages_total",
                     "New messages those transactions stored (over commits_total: messages a "
                     "commit).",
                     PG_METRIC_COUNTER},
    [M_CHECKPOINTS] = {"p2pgrid_node_store_checkpoints_total",
                       "WAL checkpoints: by the store's thread (about one a cycle), by a writer "
                       "(the WAL reached 4 cycles: a reader holds an old snapshot).",
                       PG_METRIC_COUNTER, "by", checkpoint_by, N(checkpoint_by)},
    [M_CKPT_FRAMES] = {"p2pgrid_node_store_checkpoint_frames_total",
                       "WAL frames (pages) copied into the database: by the store's thread (nearly "
                       "all), by a writer on the commit path (the last few of each cycle; many "
                       "when the WAL reached 4 cycles).",
                       PG_METRIC_COUNTER, "by", checkpoint_by, N(checkpoint_by)},
};

static int add_all(pg_node_metrics *m, pg_diag *d) {
  int rc = PG_OK;
  for (size_t i = 0; i < M_COUNT && !rc; i++) rc = pg_metrics_add_spec(m->reg, &fams[i], &m->f[i], d);
  return rc;
}

int pg_node_metrics_new(pg_node_metrics **out, pg_diag *d) {
  *out = NULL;
  pg_node_metrics *m = calloc(1, sizeof *m);
  if (!m || !(m->reg = pg_metrics_new())) {
    free(m);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  pthread_mutex_init(&m->mu, NULL);
  int rc = add_all(m, d);
  if (rc) {
    pg_node_metrics_free(m);
    return rc;
  }
  *out = m;
  return PG_OK;
}

void pg_node_metrics_free(pg_node_metrics *m) {
  if (!m) return;
  pg_metrics_free(m->reg);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

/* ---- events ---- */

static size_t status_class(unsigned status) {
  return status >= 500 || status < 200 ? 3 : status >= 400 ? 2 : status >= 300 ? 1 : 0;
}

int pg_node_route_class(const char *method, const char *path) {
  static const char *const v1[] = {"info", "tips", "messages", "milestones", "outputs",
                                   "addresses", "transactions"};
  static const int v1_class[] = {PG_NODE_ROUTE_INFO,       PG_NODE_ROUTE_TIPS,
                                 PG_NODE_ROUTE_MESSAGES,   PG_NODE_ROUTE_MILESTONES,
                                 PG_NODE_ROUTE_OUTPUTS,    PG_NODE_ROUTE_ADDRESSES,
                                 PG_NODE_ROUTE_TRANSACTIONS};
  if (strcmp(path, "/health") == 0) return PG_NODE_ROUTE_HEALTH;
  if (strcmp(path, "/metrics") == 0) return PG_NODE_ROUTE_METRICS;
  if (strcmp(path, "/api/plugins/data/batch") == 0 && strcmp(method, "POST") == 0)
    return PG_NODE_ROUTE_BATCH_POST;
  if (strcmp(path, PG_NODE_FIND_PATH) == 0 && strcmp(method, "POST") == 0)
    return PG_NODE_ROUTE_FIND_POST;
  if (strcmp(path, PG_NODE_OUTPUTS_PATH) == 0 && strcmp(method, "POST") == 0)
    return PG_NODE_ROUTE_OUTPUTS_POST;
  if (strncmp(path, "/api/plugins/", 13) == 0) return PG_NODE_ROUTE_PLUGINS;
  if (strncmp(path, "/api/v1/", 8) == 0) {
    const char *seg = path + 8;
    size_t len = strcspn(seg, "/");
    for (size_t i = 0; i < N(v1); i++)
      if (strlen(v1[i]) == len && memcmp(seg, v1[i], len) == 0) {
        if (v1_class[i] == PG_NODE_ROUTE_MESSAGES && strcmp(method, "POST") == 0)
          return PG_NODE_ROUTE_MESSAGES_POST;
        return v1_class[i];
      }
  }
  return PG_NODE_ROUTE_OTHER;
}

void pg_node_metrics_request(pg_node *n, int route, unsigned status, double seconds) {
  if (!n->metrics || route < 0 || route >= PG_NODE_ROUTE_COUNT) return;
  size_t pos[2] = {(size_t)route, status_class(status)};
  pg_metric_observe(n->metrics->f[M_REQUESTS], pg_metric_series(n->metrics->f[M_REQUESTS], pos), seconds);
}

void pg_node_metrics_message(pg_node *n, pg_node_msg_outcome o) {
  if (n->metrics) pg_metric_inc(n->metrics->f[M_MESSAGES], (size_t)o);
}

double pg_node_metrics_pow_start(pg_node *n) {
  if (n->metrics) pg_metric_add_gauge(n->metrics->f[M_POW_RUNNING], 0, 1);
  return pg_metrics_now();
}

void pg_node_metrics_pow_end(pg_node *n, double t0, bool ok) {
  if (!n->metrics) return;
  pg_metric_add_gauge(n->metrics->f[M_POW_RUNNING], 0, -1);
  pg_metric_inc(n->metrics->f[M_POW_JOBS], ok ? 0 : 1);
  if (ok) pg_metric_observe(n->metrics->f[M_POW_SECONDS], 0, pg_metrics_now() - t0);
}

void pg_node_metrics_pow_queued(pg_node *n, int delta) {
  if (n->metrics) pg_metric_add_gauge(n->metrics->f[M_POW_QUEUED], 0, delta);
}

void pg_node_metrics_pow_refused(pg_node *n) {
  if (n->metrics) pg_metric_inc(n->metrics->f[M_POW_JOBS], 2);
}

/* ---- scrape ---- */

/* The ledger's output counts, counted again only when the confirmed
 * milestone moved. */
static void read_outputs(pg_node *n, uint32_t confirmed) {
  pg_node_metrics *m = n->metrics;
  if (!n->ledger) return;
  pthread_mutex_lock(&m->mu);
  if (!m->outputs_known || m->outputs_at != confirmed) {
    uint64_t u = 0, s = 0;
    if (pg_ledger_output_counts(n->ledger, &u, &s) == PG_OK) {
      m->unspent = u, m->spent = s, m->outputs_at = confirmed, m->outputs_known = true;
    } else {
      pg_log_warn("metrics", "ledger output counts: database error (last values kept)");
    }
  }
  pg_metric_set(m->f[M_OUTPUTS], 0, (int64_t)m->unspent);
  pg_metric_set(m->f[M_OUTPUTS], 1, (int64_t)m->spent);
  pthread_mutex_unlock(&m->mu);
}

/* Sums an integer field over the peers of pg_peers_status_json. */
static void read_peers(pg_node *n) {
  pg_node_metrics *m = n->metrics;
  json_t *j = n->peers ? pg_peers_status_json(n->peers) : NULL;
  json_t *list = json_object_get(j, "peers");
  int64_t failures = 0, refusals = 0;
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    failures += json_integer_value(json_object_get(p, "failures"));
    refusals += json_integer_value(json_object_get(p, "refusals"));
  }
  pg_metric_set(m->f[M_PEERS], 0, (int64_t)json_array_size(list));
  pg_metric_set(m->f[M_PEER_FAILURES], 0, failures);
  pg_metric_set(m->f[M_PEER_REFUSALS], 0, refusals);
  json_decref(j);
}

static void read_gauges(pg_node *n) {
  pg_node_metrics *m = n->metrics;
  pg_tangle_status st;
  pg_tangle_get_status(n->tangle, &st);
  pg_metric_set(m->f[M_STORED], 0, (int64_t)st.messages);
  pg_metric_set(m->f[M_UNSOLID], 0, (int64_t)st.unsolid);
  pg_metric_set(m->f[M_TIPS], 0, (int64_t)st.tips);
  pg_metric_set(m->f[M_COMMITS], 0, (int64_t)st.commits);
  pg_metric_set(m->f[M_COMMITTED], 0, (int64_t)st.committed);
  pg_metric_set(m->f[M_CHECKPOINTS], 0, (int64_t)st.checkpoints);
  pg_metric_set(m->f[M_CHECKPOINTS], 1, (int64_t)st.checkpoints_inline);
  pg_metric_set(m->f[M_CKPT_FRAMES], 0, (int64_t)st.checkpoint_frames);
  pg_metric_set(m->f[M_CKPT_FRAMES], 1, (int64_t)st.checkpoint_frames_writer);
  pg_metric_set(m->f[M_MILESTONE], 0, st.latest_milestone_index);
  pg_metric_set(m->f[M_MILESTONE], 1, st.confirmed_milestone_index);
  pg_metric_set(m->f[M_HEALTHY], 0, pg_node_health(n, NULL) ? 1 : 0);
  read_outputs(n, st.confirmed_milestone_index);
  pg_node_api_stats as;
  pg_node_get_api_stats(n, &as);
  pg_metric_set(m->f[M_CONNECTIONS], 0, (int64_t)as.connections);
  pg_metric_set(m->f[M_HANDSHAKES], 0, (int64_t)as.handshake_failures);
  pg_metric_set(m->f[M_REFUSED], 0, (int64_t)as.posts_unauthenticated);
  pg_metric_set(m->f[M_REFUSED], 1, (int64_t)as.posts_forbidden);
  pg_node_mqtt_stats ms;
  pg_node_get_mqtt_stats(n, &ms);
  pg_metric_set(m->f[M_MQTT_CONNECTED], 0, ms.connected ? 1 : 0);
  pg_metric_set(m->f[M_MQTT_PUBLISHED], 0, (int64_t)ms.published);
  pg_metric_set(m->f[M_MQTT_DROPPED], 0, (int64_t)ms.dropped);
  pg_metric_set(m->f[M_MQTT_QUEUED], 0, (int64_t)ms.queued);
  read_peers(n);
}

/* GET /metrics (a route of api.c): open like the rest of the GET API. */
void pg_node_metrics_get(pg_node *n, const pg_http_req *req, const char *const *args,
                         pg_http_resp *resp) {
  (void)req, (void)args;
  if (!n->metrics) {
    pg_http_error(resp, 503, "metrics are not collected on this node");
    return;
  }
  read_gauges(n);
  pg_buf b;
  pg_buf_init(&b, METRICS_MAX_TEXT);
  int rc = pg_metrics_render(n->metrics->reg, &b);
  if (rc) {
    pg_buf_free(&b);
    pg_http_error(resp, 500, "internal error: metrics: %s", pg_strerror(rc));
    return;
  }
  resp->status = 200;
  resp->content_type = PG_METRICS_CONTENT_TYPE;
  pg_buf_take(&b, &resp->raw, &resp->raw_len);
}
