/* mqtt.c — the node's events to an MQTT broker, as Hornet's MQTT plugin
 * publishes them and @iota/mqtt.js 1.8.6 reads them (see mqtt.h for the
 * life cycle and docs/PROTOCOL.md "MQTT events" for topics and payloads):
 *
 *   messages                                raw bytes of every new message
 *   messages/indexation/{index hex}         raw bytes (indexation at the top
 *                                           level or inside a transaction)
 *   messages/{id}/metadata                  metadata JSON when solid, when referenced
 *   messages/referenced                     metadata JSON of every referenced message
 *   milestones/latest, milestones/confirmed {"index","timestamp"} (retained)
 *   outputs/{outputId}                      output JSON when created / spent
 *   addresses/{bech32}/outputs              the same, per address
 *   addresses/ed25519/{hex}/outputs
 *   transactions/{txId}/included-message    raw bytes of the including message
 *
 * Output events come from the ledger after each confirmed milestone
 * (pg_ledger_milestone_changes), before that milestone's milestones/confirmed
 * event, as Hornet orders them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt.h"
#include "node_internal.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/base/mosq.h"

#define MOD "mqtt"
#define QUEUE_DEFAULT 10000
#define RAW_MAX (64u << 20) /* bytes of raw messages held in the queue */
#define INFLIGHT_MAX 1000   /* published, not yet handed to the socket / acknowledged */
#define DROP_LOG_MS 10000
#define TOPIC_MAX 200

typedef struct item {
  uint8_t kind; /* pg_tangle_event_kind */
  uint8_t id[PG_ID_LEN];
  uint32_t ms_index;
  uint64_t ts;
  pg_msg_meta meta;
  uint8_t *raw; /* MESSAGE: malloc'd copy */
  size_t raw_len;
} item;

struct pg_node_mqtt {
  pg_mqtt_settings s;
  char hrp[PG_BECH32_MAX_HRP + 1];
  struct mosquitto *mosq;
  pg_tangle *t;
  pg_ledger *l;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  item *ring;
  size_t cap, head, n, raw_bytes;
  bool connected, stopping, started, ever_connected;
  uint64_t inflight, published, dropped, dropped_told, last_drop_log_ms;
  pthread_t th;
};

/* ---- the queue (any thread) ---------------------------------------------- */

static void drop_oldest(pg_node_mqtt *m) {
  item *it = &m->ring[m->head];
  m->raw_bytes -= it->raw_len;
  free(it->raw);
  it->raw = NULL;
  m->head = (m->head + 1) % m->cap;
  m->n--;
  m->dropped++;
}

void pg_node_mqtt_event(void *ctx, const pg_tangle_event *ev) {
  pg_node_mqtt *m = ctx;
  item it;
  memset(&it, 0, sizeof it);
  it.kind = (uint8_t)ev->kind;
  memcpy(it.id, ev->id, PG_ID_LEN);
  it.ms_index = ev->ms_index;
  it.ts = ev->ms_timestamp;
  if (ev->meta) it.meta = *ev->meta;
  if (ev->kind == PG_TANGLE_EV_MESSAGE) {
    it.raw = malloc(ev->raw_len ? ev->raw_len : 1);
    if (!it.raw) {
      pthread_mutex_lock(&m->mu);
      m->dropped++;
      pthread_mutex_unlock(&m->mu);
      return;
    }
    memcpy(it.raw, ev->raw, ev->raw_len);
    it.raw_len = ev->raw_len;
  }
  pthread_mutex_lock(&m->mu);
  while (m->n > 0 && (m->n == m->cap || m->raw_bytes + it.raw_len > RAW_MAX)) drop_oldest(m);
  m->ring[(m->head + m->n) % m->cap] = it;
  m->n++;
  m->raw_bytes += it.raw_len;
  pthread_cond_signal(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

/* ---- libmosquitto callbacks (its network thread) -------------------------- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc) {
  pg_node_mqtt *m = obj;
  int old;
  (void)mosq;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  if (rc != 0) {
    pg_log_warn(MOD, "broker %s refused the connection: %s", m->s.host, mosquitto_connack_string(rc));
  } else {
    pthread_mutex_lock(&m->mu);
    bool again = m->ever_connected;
    m->connected = m->ever_connected = true;
    m->inflight = 0; /* what libmosquitto dropped with the old connection never reports back */
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pg_log_info(MOD, "%s broker %s:%u", again ? "reconnected to" : "publishing events to",
                m->s.host, (unsigned)m->s.port);
  }
  pthread_setcancelstate(old, NULL);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc) {
  pg_node_mqtt *m = obj;
  int old;
  (void)mosq;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pthread_mutex_lock(&m->mu);
  bool was = m->connected;
  m->connected = false;
  pthread_mutex_unlock(&m->mu);
  if (was && rc != 0)
    pg_log_warn(MOD, "lost the broker %s; queueing events (at most %zu) while reconnecting",
                m->s.host, m->cap);
  pthread_setcancelstate(old, NULL);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid) {
  pg_node_mqtt *m = obj;
  int old;
  (void)mosq;
  (void)mid;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pthread_mutex_lock(&m->mu);
  if (m->inflight) m->inflight--;
  pthread_cond_signal(&m->cv);
  pthread_mutex_unlock(&m->mu);
  pthread_setcancelstate(old, NULL);
}

/* ---- publishing (publisher thread) ----------------------------------------- */

static void publish(pg_node_mqtt *m, const char *topic, const void *data, size_t len, bool retain) {
  pthread_mutex_lock(&m->mu);
  m->inflight++;
  pthread_mutex_unlock(&m->mu);
  int rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, data, m->s.qos, retain);
  pthread_mutex_lock(&m->mu);
  if (rc == MOSQ_ERR_SUCCESS) {
    m->published++;
  } else {
    if (m->inflight) m->inflight--;
    m->dropped++;
  }
  pthread_mutex_unlock(&m->mu);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
    pg_log_debug(MOD, "publish %s: %s", topic, mosquitto_strerror(rc));
}

/* Publishes j (consumed) as compact JSON on one or two topics. */
static void publish_json(pg_node_mqtt *m, json_t *j, const char *topic, const char *topic2,
                         bool retain) {
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!s) {
    pthread_mutex_lock(&m->mu);
    m->dropped++;
    pthread_mutex_unlock(&m->mu);
    return;
  }
  publish(m, topic, s, strlen(s), retain);
  if (topic2) publish(m, topic2, s, strlen(s), retain);
  free(s);
}

static void publish_message(pg_node_mqtt *m, const item *it) {
  publish(m, "messages", it->raw, it->raw_len, false);
  pg_message msg;
  if (pg_message_parse(it->raw, it->raw_len, &msg, NULL) != PG_OK) return;
  const uint8_t *ix = NULL;
  size_t ixn = 0;
  if (msg.payload_type == PG_PAYLOAD_INDEXATION) {
    ix = msg.u.indexation.index;
    ixn = msg.u.indexation.index_len;
  } else if (msg.payload_type == PG_PAYLOAD_TRANSACTION && msg.u.transaction &&
             msg.u.transaction->has_indexation) {
    ix = msg.u.transaction->indexation.index;
    ixn = msg.u.transaction->indexation.index_len;
  }
  if (ix && ixn > 0 && ixn <= PG_INDEX_MAX_LEN) {
    char topic[32 + 2 * PG_INDEX_MAX_LEN];
    memcpy(topic, "messages/indexation/", 20);
    pg_hex_encode(ix, ixn, topic + 20);
    publish(m, topic, it->raw, it->raw_len, false);
  }
  pg_message_clear(&msg);
}

static void publish_output(pg_node_mqtt *m, const pg_output_info *o, bool spent, uint32_t index) {
  char oid[2 * PG_OUTPUT_ID_LEN + 1], hex[65], b32[PG_BECH32_MAX_LEN + 1];
  char t1[TOPIC_MAX], t2[TOPIC_MAX], t3[TOPIC_MAX];
  json_t *j = pg_node_output_json(o, spent, false, index);
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!s || pg_iota_address_encode(m->hrp, o->address, b32, sizeof b32) != PG_OK) {
    free(s);
    pthread_mutex_lock(&m->mu);
    m->dropped++;
    pthread_mutex_unlock(&m->mu);
    return;
  }
  pg_hex_encode(o->output_id, PG_OUTPUT_ID_LEN, oid);
  pg_hex_encode(o->address, 32, hex);
  snprintf(t1, sizeof t1, "outputs/%s", oid);
  snprintf(t2, sizeof t2, "addresses/%s/outputs", b32);
  snprintf(t3, sizeof t3, "addresses/ed25519/%s/outputs", hex);
  size_t n = strlen(s);
  publish(m, t1, s, n, false);
  publish(m, t2, s, n, false);
  publish(m, t3, s, n, false);
  free(s);
}

/* transactions/{txId}/included-message with the message's bytes. */
static void publish_included(pg_node_mqtt *m, const pg_output_info *o) {
  char tx[65], topic[TOPIC_MAX];
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  if (pg_tangle_get_raw(m->t, o->message_id, &raw) == PG_OK) {
    pg_hex_encode(o->output_id, 32, tx);
    snprintf(topic, sizeof topic, "transactions/%s/included-message", tx);
    publish(m, topic, raw.data, raw.len, false);
  }
  pg_buf_free(&raw);
}

/* The ledger changes of milestone index: created outputs (unspent, with the
 * transaction's included-message on its output 0), then consumed (spent). */
static void publish_outputs(pg_node_mqtt *m, uint32_t index) {
  uint8_t(*created)[PG_OUTPUT_ID_LEN] = NULL, (*consumed)[PG_OUTPUT_ID_LEN] = NULL;
  size_t nc = 0, ns = 0;
  int rc = pg_ledger_milestone_changes(m->l, index, &created, &nc, &consumed, &ns);
  if (rc) {
    pg_log_warn(MOD, "milestone %u: cannot read its ledger changes (%s); no output events",
                index, pg_strerror(rc));
    return;
  }
  pg_output_info o;
  for (size_t i = 0; i < nc; i++) {
    if (pg_ledger_output(m->l, created[i], &o) != PG_OK) continue;
    publish_output(m, &o, false, index);
    if (o.output_id[32] == 0 && o.output_id[33] == 0) publish_included(m, &o);
  }
  for (size_t i = 0; i < ns; i++)
    if (pg_ledger_output(m->l, consumed[i], &o) == PG_OK) publish_output(m, &o, true, index);
  free(created);
  free(consumed);
}

static json_t *milestone_json(const item *it) {
  json_t *j = json_object();
  if (j && (json_object_set_new(j, "index", json_integer(it->ms_index)) ||
            json_object_set_new(j, "timestamp", json_integer((json_int_t)it->ts)))) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

static void publish_item(pg_node_mqtt *m, const item *it) {
  char topic[TOPIC_MAX], hex[2 * PG_ID_LEN + 1];
  switch (it->kind) {
  case PG_TANGLE_EV_MESSAGE:
    publish_message(m, it);
    break;
  case PG_TANGLE_EV_MILESTONE_LATEST:
    publish_json(m, milestone_json(it), "milestones/latest", NULL, true);
    break;
  case PG_TANGLE_EV_SOLID:
  case PG_TANGLE_EV_REFERENCED:
    pg_hex_encode(it->id, PG_ID_LEN, hex);
    snprintf(topic, sizeof topic, "messages/%s/metadata", hex);
    publish_json(m, pg_node_meta_json(&it->meta), topic,
                 it->kind == PG_TANGLE_EV_REFERENCED ? "messages/referenced" : NULL, false);
    break;
  case PG_TANGLE_EV_MILESTONE_CONFIRMED:
    if (m->l) publish_outputs(m, it->ms_index);
    publish_json(m, milestone_json(it), "milestones/confirmed", NULL, true);
    break;
  default:
    break;
  }
}

/* Logs drops at most every DROP_LOG_MS. Lock held. */
static void tell_drops(pg_node_mqtt *m) {
  uint64_t now = pg_monotonic_ms();
  if (m->dropped == m->dropped_told || now - m->last_drop_log_ms < DROP_LOG_MS) return;
  pg_log_warn(MOD, "%llu event(s) dropped (%llu in all): %s",
              (unsigned long long)(m->dropped - m->dropped_told), (unsigned long long)m->dropped,
              m->connected ? "the broker is slower than the Tangle" : "the broker is unreachable");
  m->dropped_told = m->dropped;
  m->last_drop_log_ms = now;
}

static void *pub_main(void *arg) {
  pg_node_mqtt *m = arg;
  pthread_mutex_lock(&m->mu);
  for (;;) {
    while (!m->stopping && (m->n == 0 || !m->connected || m->inflight >= INFLIGHT_MAX)) {
      tell_drops(m);
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&m->cv, &m->mu, &ts);
    }
    if (m->stopping) break;
    item it = m->ring[m->head];
    m->ring[m->head].raw = NULL;
    m->head = (m->head + 1) % m->cap;
    m->n--;
    m->raw_bytes -= it.raw_len;
    pthread_mutex_unlock(&m->mu);
    publish_item(m, &it);
    free(it.raw);
    pthread_mutex_lock(&m->mu);
  }
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

int pg_node_mqtt_new(const pg_mqtt_settings *s, size_t queue, const char *hrp, pg_node_mqtt **out,
                     pg_diag *d) {
  *out = NULL;
  if (!s->host) return pg_fail(d, PG_ERR_CONFIG, "[mqtt] host is not set");
  pg_node_mqtt *m = calloc(1, sizeof *m);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  snprintf(m->hrp, sizeof m->hrp, "%s", hrp);
  m->cap = queue ? queue : QUEUE_DEFAULT;
  m->ring = calloc(m->cap, sizeof *m->ring);
  pthread_mutex_init(&m->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&m->cv, &ca);
  pthread_condattr_destroy(&ca);
  bool oom = !m->ring || pg_mqtt_settings_copy(&m->s, s) != PG_OK;
  int rc = oom ? pg_fail(d, PG_ERR_NOMEM, "out of memory") : pg_mqtt_client_new(&m->s, m, &m->mosq, d);
  if (rc) {
    pg_node_mqtt_free(m);
    return rc;
  }
  mosquitto_connect_callback_set(m->mosq, on_connect);
  mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
  mosquitto_publish_callback_set(m->mosq, on_publish);
  *out = m;
  return PG_OK;
}

int pg_node_mqtt_start(pg_node_mqtt *m, pg_tangle *t, pg_ledger *l, pg_diag *d) {
  m->t = t;
  m->l = l;
  if (pthread_create(&m->th, NULL, pub_main, m) != 0)
    return pg_fail(d, PG_ERR_NOMEM, "mqtt: cannot start the publisher thread");
  m->started = true;
  return pg_mqtt_connect(m->mosq, &m->s, d);
}

void pg_node_mqtt_free(pg_node_mqtt *m) {
  if (!m) return;
  if (m->started) {
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->th, NULL);
  }
  pg_mqtt_client_free(m->mosq);
  if (m->ring) {
    while (m->n) drop_oldest(m);
  }
  if (m->dropped)
    pg_log_info(MOD, "stopped: %llu event(s) published, %llu dropped",
                (unsigned long long)m->published, (unsigned long long)m->dropped);
  free(m->ring);
  pthread_cond_destroy(&m->cv);
  pthread_mutex_destroy(&m->mu);
  pg_mqtt_settings_clear(&m->s);
  free(m);
}

void pg_node_mqtt_get_stats(pg_node_mqtt *m, bool *connected, uint64_t *published,
                            uint64_t *dropped, uint64_t *queued) {
  pthread_mutex_lock(&m->mu);
  *connected = m->connected;
  *published = m->published;
  *dropped = m->dropped;
  *queued = m->n;
  pthread_mutex_unlock(&m->mu);
}
