/* events.c — MQTT broker settings and client setup shared by the node's
 * publisher and the entities' subscriber, the parsers of event payloads,
 * and the subscriber that wakes an entity daemon (include/p2pgrid/client/events.h).
 *
 * The subscriber's state is guarded by one mutex; libmosquitto's network
 * thread takes it in the callbacks (with cancellation disabled, so stopping
 * the loop never leaves it held). Waking is an eventfd: the callback adds 1,
 * pg_events_take reads it back to 0. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/events.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/mosq.h"

#define MOD "events"
#define KEEPALIVE_S 30
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30
#define CLIENT_ID_MAX 23 /* MQTT 3.1 */

/* ---- settings ------------------------------------------------------------- */

void pg_mqtt_settings_clear(pg_mqtt_settings *s) {
  if (!s) return;
  free(s->host);
  free(s->client_id);
  free(s->tls_ca);
  free(s->tls_cert);
  free(s->tls_key);
  memset(s, 0, sizeof *s);
}

int pg_mqtt_settings_copy(pg_mqtt_settings *dst, const pg_mqtt_settings *src) {
  const char *in[] = {src->host, src->client_id, src->tls_ca, src->tls_cert, src->tls_key};
  char **out[] = {&dst->host, &dst->client_id, &dst->tls_ca, &dst->tls_cert, &dst->tls_key};
  pg_mqtt_settings_clear(dst);
  dst->port = src->port;
  dst->qos = src->qos;
  for (size_t i = 0; i < 5; i++)
    if (in[i] && !(*out[i] = strdup(in[i]))) {
      pg_mqtt_settings_clear(dst);
      return PG_ERR_NOMEM;
    }
  return PG_OK;
}

static int opt_str(pg_config *cfg, const char *sec, const char *key, const char *def, char **out,
                   pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(cfg, sec, key, def, &v, d);
  if (rc || !v || !*v) return rc;
  *out = strdup(v);
  return *out ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
}

int pg_mqtt_settings_load(pg_mqtt_settings *s, pg_config *cfg, const char *sec,
                          const char *default_id, pg_diag *d) {
  uint64_t port = 0;
  int rc;
  pg_mqtt_settings_clear(s);
  s->port = PG_MQTT_DEFAULT_PORT;
  s->qos = 1;
  if ((rc = opt_str(cfg, sec, "host", NULL, &s->host, d)) ||
      (rc = pg_config_get_u64(cfg, sec, "port", PG_MQTT_DEFAULT_PORT, 1, 65535, &port, d)) ||
      (rc = opt_str(cfg, sec, "client_id", default_id, &s->client_id, d)) ||
      (rc = pg_config_get_int(cfg, sec, "qos", 1, 0, 2, &s->qos, d)) ||
      (rc = opt_str(cfg, sec, "tls_ca", NULL, &s->tls_ca, d)) ||
      (rc = opt_str(cfg, sec, "tls_cert", NULL, &s->tls_cert, d)) ||
      (rc = opt_str(cfg, sec, "tls_key", NULL, &s->tls_key, d)))
    goto fail;
  s->port = (uint16_t)port;
  if (s->host && strlen(s->host) > 255) {
    rc = pg_fail(d, PG_ERR_CONFIG, "[%s] host: longer than 255 characters", sec);
  } else if (s->client_id && strlen(s->client_id) > CLIENT_ID_MAX) {
    rc = pg_fail(d, PG_ERR_CONFIG, "[%s] client_id: at most %d characters (MQTT 3.1)", sec,
                 CLIENT_ID_MAX);
  } else if (!s->tls_cert != !s->tls_key) {
    rc = pg_fail(d, PG_ERR_CONFIG, "[%s] tls_cert and tls_key go together", sec);
  } else if (s->tls_cert && !s->tls_ca) {
    rc = pg_fail(d, PG_ERR_CONFIG, "[%s] tls_cert needs tls_ca (the broker's CA)", sec);
  }
  if (!rc) return PG_OK;
fail:
  pg_mqtt_settings_clear(s);
  return rc;
}

int pg_mqtt_client_new(const pg_mqtt_settings *s, void *obj, struct mosquitto **out, pg_diag *d) {
  *out = NULL;
  if (!s->host) return pg_fail(d, PG_ERR_CONFIG, "mqtt: no broker host");
  int lrc = pg_mosq_load(d);
  if (lrc) return lrc;
  const char *files[] = {s->tls_ca, s->tls_cert, s->tls_key};
  for (size_t i = 0; i < 3; i++)
    if (files[i] && access(files[i], R_OK) != 0)
      return pg_fail(d, PG_ERR_CONFIG, "mqtt: cannot read %.200s: %s", files[i], strerror(errno));
  struct mosquitto *m = mosquitto_new(s->client_id, true, obj);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "mqtt: cannot create a client: %s", strerror(errno));
  int mrc = mosquitto_reconnect_delay_set(m, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
  if (mrc == MOSQ_ERR_SUCCESS && s->tls_ca)
    mrc = mosquitto_tls_set(m, s->tls_ca, NULL, s->tls_cert, s->tls_key, NULL);
  if (mrc != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(m);
    return pg_fail(d, PG_ERR_CONFIG, "mqtt: TLS setup failed: %s", mosquitto_strerror(mrc));
  }
  *out = m;
  return PG_OK;
}

int pg_mqtt_connect(struct mosquitto *m, const pg_mqtt_settings *s, pg_diag *d) {
  int mrc = mosquitto_connect_async(m, s->host, s->port, KEEPALIVE_S);
  if (mrc == MOSQ_ERR_ERRNO || mrc == MOSQ_ERR_EAI) {
    /* refused, unreachable, name not resolvable yet: the network thread
     * keeps trying with the backoff */
    pg_log_warn(MOD, "mqtt %s:%u not reachable yet (%s); retrying in the background", s->host,
                (unsigned)s->port,
                mrc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(mrc));
  } else if (mrc != MOSQ_ERR_SUCCESS) {
    return pg_fail(d, PG_ERR_CONFIG, "mqtt: cannot connect to %.200s:%u: %s", s->host,
                   (unsigned)s->port, mosquitto_strerror(mrc));
  }
  mrc = mosquitto_loop_start(m);
  if (mrc != MOSQ_ERR_SUCCESS)
    return pg_fail(d, PG_ERR_IO, "mqtt: cannot start the network thread: %s",
                   mosquitto_strerror(mrc));
  return PG_OK;
}

void pg_mqtt_client_free(struct mosquitto *m) {
  if (!m) return;
  (void)mosquitto_disconnect(m);
  (void)mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
}

/* ---- parsers -------------------------------------------------------------- */

static int parse_object(const void *p, size_t n, json_t **root, pg_diag *d) {
  if (!p && n) return pg_fail(d, PG_ERR_INVALID, "no payload");
  if (n > PG_EVENTS_MAX_PAYLOAD)
    return pg_fail(d, PG_ERR_TOO_LARGE, "event payload of %zu bytes is over %d", n,
                   PG_EVENTS_MAX_PAYLOAD);
  return pg_json_parse(p, n, PG_JSON_OBJECT, root, d);
}

int pg_events_parse_milestone(const void *p, size_t n, uint32_t *index, uint64_t *timestamp,
                              pg_diag *d) {
  json_t *root = NULL;
  int rc = parse_object(p, n, &root, d);
  if (!rc) rc = pg_json_get_u32(root, "index", index, d);
  if (!rc) rc = pg_json_get_u64(root, "timestamp", timestamp, d);
  json_decref(root);
  return rc;
}

static int parse_output_body(const json_t *root, pg_event_output *o, pg_diag *d) {
  json_t *out = NULL, *addr = NULL;
  uint64_t type = 0, atype = 0;
  int rc = pg_json_get_object(root, "output", &out, d);
  if (!rc) rc = pg_json_get_u64_range(out, "type", 0, 1, &type, d);
  if (!rc) rc = pg_json_get_object(out, "address", &addr, d);
  if (!rc) rc = pg_json_get_u64_range(addr, "type", 0, 0, &atype, d);
  if (!rc) rc = pg_json_get_hex(addr, "address", o->address, 32, d);
  if (!rc) rc = pg_json_get_u64_range(out, "amount", 1, 2779530283277761ULL, &o->amount, d);
  o->type = (uint8_t)type;
  return rc;
}

int pg_events_parse_output(const void *p, size_t n, pg_event_output *o, pg_diag *d) {
  json_t *root = NULL;
  uint64_t index = 0;
  memset(o, 0, sizeof *o);
  int rc = parse_object(p, n, &root, d);
  if (!rc) rc = pg_json_get_hex(root, "messageId", o->message_id, 32, d);
  if (!rc) rc = pg_json_get_hex(root, "transactionId", o->output_id, 32, d);
  if (!rc) rc = pg_json_get_u64_range(root, "outputIndex", 0, 126, &index, d);
  if (!rc) rc = pg_json_get_bool(root, "isSpent", &o->spent, d);
  if (!rc) rc = pg_json_get_u32(root, "ledgerIndex", &o->ledger_index, d);
  if (!rc) rc = parse_output_body(root, o, d);
  o->output_id[32] = (uint8_t)(index & 0xff);
  o->output_id[33] = (uint8_t)(index >> 8);
  json_decref(root);
  return rc;
}

/* ---- subscriber ----------------------------------------------------------- */

#define TOPIC_CONFIRMED "milestones/confirmed"

struct pg_events {
  struct mosquitto *m;
  pg_mqtt_settings s; /* our copy */
  pthread_mutex_t mu;
  int efd;
  bool loop_started;
  char watch[PG_EVENTS_MAX_WATCH][PG_BECH32_MAX_LEN + 32];
  size_t nwatch;
  pg_events_stats st;
};

static void wake(pg_events *e) {
  uint64_t one = 1;
  if (write(e->efd, &one, sizeof one) < 0 && errno != EAGAIN)
    pg_log_debug(MOD, "eventfd write: %s", strerror(errno));
}

static void subscribe_all(pg_events *e, struct mosquitto *m) {
  char topics[PG_EVENTS_MAX_WATCH + 1][PG_BECH32_MAX_LEN + 32];
  size_t n = 0;
  pthread_mutex_lock(&e->mu);
  snprintf(topics[n++], sizeof topics[0], "%s", TOPIC_CONFIRMED);
  for (size_t i = 0; i < e->nwatch; i++) snprintf(topics[n++], sizeof topics[0], "%s", e->watch[i]);
  pthread_mutex_unlock(&e->mu);
  for (size_t i = 0; i < n; i++) {
    int rc = mosquitto_subscribe(m, NULL, topics[i], e->s.qos);
    if (rc != MOSQ_ERR_SUCCESS)
      pg_log_warn(MOD, "mqtt: cannot subscribe to %s: %s", topics[i], mosquitto_strerror(rc));
  }
}

static void on_connect(struct mosquitto *m, void *obj, int rc) {
  pg_events *e = obj;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  if (rc != 0) {
    pg_log_warn(MOD, "mqtt %s: connection refused: %s", e->s.host, mosquitto_connack_string(rc));
  } else {
    subscribe_all(e, m);
    pthread_mutex_lock(&e->mu);
    e->st.connected = true;
    pthread_mutex_unlock(&e->mu);
    pg_log_info(MOD, "mqtt %s:%u: subscribed to %s", e->s.host, (unsigned)e->s.port,
                TOPIC_CONFIRMED);
    wake(e); /* events may have been missed while away: step now */
  }
  pthread_setcancelstate(old, NULL);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc) {
  pg_events *e = obj;
  int old;
  (void)m;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pthread_mutex_lock(&e->mu);
  bool was = e->st.connected;
  e->st.connected = false;
  pthread_mutex_unlock(&e->mu);
  if (was && rc != 0) pg_log_warn(MOD, "mqtt %s: connection lost; polling until it is back", e->s.host);
  pthread_setcancelstate(old, NULL);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg) {
  pg_events *e = obj;
  int old;
  (void)m;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pg_diag d = {{0}};
  size_t n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
  bool milestone = strcmp(msg->topic, TOPIC_CONFIRMED) == 0;
  uint32_t index = 0;
  uint64_t ts = 0;
  pg_event_output o;
  int rc = milestone ? pg_events_parse_milestone(msg->payload, n, &index, &ts, &d)
                     : pg_events_parse_output(msg->payload, n, &o, &d);
  uint64_t rejected = 0;
  pthread_mutex_lock(&e->mu);
  if (rc) {
    rejected = ++e->st.rejected;
  } else if (milestone) {
    e->st.milestones++;
    e->st.last_milestone = index;
  } else {
    e->st.outputs++;
  }
  pthread_mutex_unlock(&e->mu);
  if (rc == PG_OK) wake(e);
  else if (rejected <= 10 || rejected % 1000 == 0)
    pg_log_warn(MOD, "mqtt %.100s: payload refused (%llu so far): %s", msg->topic,
                (unsigned long long)rejected, d.msg);
  pthread_setcancelstate(old, NULL);
}

int pg_events_new(const pg_mqtt_settings *s, pg_events **out, pg_diag *d) {
  *out = NULL;
  if (!s || !s->host) return pg_fail(d, PG_ERR_CONFIG, "events: no broker host");
  pg_events *e = calloc(1, sizeof *e);
  if (!e) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init(&e->mu, NULL);
  int rc = e->efd < 0 ? pg_fail(d, PG_ERR_IO, "events: eventfd: %s", strerror(errno)) : PG_OK;
  if (!rc && pg_mqtt_settings_copy(&e->s, s)) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!rc) rc = pg_mqtt_client_new(&e->s, e, &e->m, d);
  if (!rc) {
    mosquitto_connect_callback_set(e->m, on_connect);
    mosquitto_disconnect_callback_set(e->m, on_disconnect);
    mosquitto_message_callback_set(e->m, on_message);
    rc = pg_mqtt_connect(e->m, &e->s, d);
  }
  if (rc) {
    pg_events_free(e);
    return rc;
  }
  *out = e;
  return PG_OK;
}

int pg_events_watch(pg_events *e, const char *bech32, pg_diag *d) {
  char topic[sizeof e->watch[0]];
  size_t n = strlen(bech32);
  if (n == 0 || n > PG_BECH32_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "events: not an address: '%.100s'", bech32);
  snprintf(topic, sizeof topic, "addresses/%s/outputs", bech32);
  int lrc = pg_mosq_load(d);
  if (lrc) return lrc;
  if (mosquitto_sub_topic_check(topic) != MOSQ_ERR_SUCCESS || strpbrk(bech32, "+#/"))
    return pg_fail(d, PG_ERR_INVALID, "events: not an address: '%.100s'", bech32);
  pthread_mutex_lock(&e->mu);
  int rc = PG_OK;
  bool connected = e->st.connected;
  for (size_t i = 0; i < e->nwatch; i++)
    if (strcmp(e->watch[i], topic) == 0) goto unlock;
  if (e->nwatch == PG_EVENTS_MAX_WATCH)
    rc = pg_fail(d, PG_ERR_TOO_LARGE, "events: at most %d addresses", PG_EVENTS_MAX_WATCH);
  else
    snprintf(e->watch[e->nwatch++], sizeof e->watch[0], "%s", topic);
unlock:
  pthread_mutex_unlock(&e->mu);
  if (!rc && connected) (void)mosquitto_subscribe(e->m, NULL, topic, e->s.qos);
  return rc;
}

int pg_events_fd(const pg_events *e) { return e->efd; }

bool pg_events_take(pg_events *e) {
  uint64_t v = 0;
  bool got = read(e->efd, &v, sizeof v) == (ssize_t)sizeof v && v > 0;
  if (got) {
    pthread_mutex_lock(&e->mu);
    e->st.wakes++;
    pthread_mutex_unlock(&e->mu);
  }
  return got;
}

void pg_events_stats_get(pg_events *e, pg_events_stats *out) {
  pthread_mutex_lock(&e->mu);
  *out = e->st;
  pthread_mutex_unlock(&e->mu);
}

void pg_events_free(pg_events *e) {
  if (!e) return;
  pg_mqtt_client_free(e->m);
  if (e->efd >= 0) close(e->efd);
  pthread_mutex_destroy(&e->mu);
  pg_mqtt_settings_clear(&e->s);
  free(e);
}
