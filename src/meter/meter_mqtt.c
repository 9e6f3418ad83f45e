/* meter_mqtt.c — a meter fed by an MQTT topic (libmosquitto), plus the pure
 * payload parser and sample series behind it (meter_internal.h).
 *
 * Threads: libmosquitto's network thread (mosquitto_loop_start) runs the
 * callbacks; they parse outside the lock and take the meter's mutex only to
 * append a sample or update counters. pg_meter_energy and stats take the same
 * mutex. Callbacks disable thread cancellation while they run, so stopping
 * the loop can never leave the mutex held.
 *
 * Connection: connect_async + automatic reconnect (1 s doubling to 16 s).
 * The session is clean; every (re)connect subscribes again with QoS 1.
 * stats.connected is true once the subscription is acknowledged. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter_internal.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/base/mosq.h"

#define MOD "meter"
#define KEEPALIVE_S 30
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 16
#define DEFAULT_STALE_MS 60000
#define WH_UWMS ((__int128)3600000000000LL) /* uW*ms in one Wh */
#define WH_UWH ((__int128)1000000)          /* uWh in one Wh */

/* ------------------------------------------------------------------ */
/* Payload parsing                                                     */

static bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }


/* Parses s[0..n) as a JSON number into micro units of the payload unit
 * (rounded half up at the 7th decimal). *neg gets the sign. */
static int parse_decimal(const char *s, size_t n, bool *neg, uint64_t *micro, pg_diag *d) {
  size_t i = 0;
  char digits[PG_METER_JSON_MAX];
  size_t nd = 0;
  long point; /* digits before the decimal point */
  *neg = false;
  if (i < n && s[i] == '-') {
    *neg = true;
    i++;
  }
  if (i >= n || !isdigit((unsigned char)s[i])) goto bad;
  if (s[i] == '0') {
    digits[nd++] = '0';
    i++;
    if (i < n && isdigit((unsigned char)s[i])) goto bad; /* leading zero */
  } else {
    while (i < n && isdigit((unsigned char)s[i])) {
      if (nd >= sizeof digits) goto bad;
      digits[nd++] = s[i++];
    }
  }
  point = (long)nd;
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !isdigit((unsigned char)s[i])) goto bad;
    while (i < n && isdigit((unsigned char)s[i])) {
      if (nd >= sizeof digits) goto bad;
      digits[nd++] = s[i++];
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    bool eneg = false;
    long e = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    if (i >= n || !isdigit((unsigned char)s[i])) goto bad;
    while (i < n && isdigit((unsigned char)s[i])) {
      if (e < 100000) e = e * 10 + (s[i] - '0'); /* saturates; far beyond any range */
      i++;
    }
    point += eneg ? -e : e;
  }
  if (i != n) goto bad;
  /* drop leading zeros of the digit string */
  size_t k0 = 0;
  while (k0 < nd && digits[k0] == '0') {
    k0++;
    point--;
  }
  if (k0 == nd) {
    *micro = 0;
    return PG_OK;
  }
  long m = point + 6; /* digits of the integer micro value */
  if (m > 19) return pg_fail(d, PG_ERR_INVALID, "payload number is out of range");
  uint64_t v = 0;
  size_t have = nd - k0;
  for (long k = 0; k < m; k++)
    v = v * 10 + ((size_t)k < have ? (uint64_t)(digits[k0 + k] - '0') : 0);
  if (m >= 0 && (size_t)m < have && digits[k0 + m] >= '5') v++; /* half up */
  if (v > (uint64_t)PG_METER_MICRO_MAX)
    return pg_fail(d, PG_ERR_INVALID, "payload number is out of range");
  *micro = v;
  return PG_OK;
bad:
  return pg_fail(d, PG_ERR_INVALID, "payload is not a number");
}

static int finish_value(bool neg, uint64_t micro, pg_meter_mqtt_kind kind, int64_t *out,
                        pg_diag *d) {
  if (neg && micro > 0)
    return pg_fail(d, PG_ERR_INVALID, "negative %s refused",
                   kind == PG_METER_POWER_W ? "power" : "energy counter");
  if (kind == PG_METER_ENERGY_KWH) {
    if (micro > (uint64_t)PG_METER_MICRO_MAX / 1000)
      return pg_fail(d, PG_ERR_INVALID, "payload number is out of range");
    micro *= 1000;
  }
  *out = (int64_t)micro;
  return PG_OK;
}

int pg_meter_parse_payload(const void *data, size_t len, pg_meter_mqtt_kind kind,
                           const char *json_key, int64_t *micro, pg_diag *d) {
  const uint8_t *p = data;
  if (!micro || (!p && len)) return pg_fail(d, PG_ERR_INVALID, "no payload");
  if (kind != PG_METER_POWER_W && kind != PG_METER_ENERGY_WH && kind != PG_METER_ENERGY_KWH)
    return pg_fail(d, PG_ERR_INVALID, "unknown meter unit");
  size_t a = 0, b = len;
  bool neg;
  uint64_t v;
  int rc;
  if (!json_key) {
    if (len > PG_METER_BARE_MAX)
      return pg_fail(d, PG_ERR_TOO_LARGE, "payload of %zu bytes is longer than %d for a number",
                     len, PG_METER_BARE_MAX);
    while (a < b && is_ws(p[a])) a++;
    while (b > a && is_ws(p[b - 1])) b--;
    if (a == b) return pg_fail(d, PG_ERR_INVALID, "payload is empty");
    if (p[a] == '{')
      return pg_fail(d, PG_ERR_INVALID, "payload is a JSON object but no json_key is set");
    rc = parse_decimal((const char *)p + a, b - a, &neg, &v, d);
    if (rc) return rc;
    return finish_value(neg, v, kind, micro, d);
  }
  if (len > PG_METER_JSON_MAX)
    return pg_fail(d, PG_ERR_TOO_LARGE, "payload of %zu bytes is longer than %d", len,
                   PG_METER_JSON_MAX);
  json_t *root = NULL;
  pg_diag jd;
  if (pg_json_parse(p, len, PG_JSON_OBJECT, &root, &jd) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "payload is not a JSON object (%s)", jd.msg);
  json_t *j = json_object_get(root, json_key);
  char txt[64];
  if (!j) {
    rc = pg_fail(d, PG_ERR_INVALID, "payload has no key '%.64s'", json_key);
  } else if (json_is_integer(j)) {
    snprintf(txt, sizeof txt, "%" PRId64, (int64_t)json_integer_value(j));
    rc = parse_decimal(txt, strlen(txt), &neg, &v, d);
  } else if (json_is_real(j)) {
    double x = json_real_value(j);
    if (!isfinite(x)) {
      rc = pg_fail(d, PG_ERR_INVALID, "payload number is not finite");
    } else {
      snprintf(txt, sizeof txt, "%.17g", x);
      rc = parse_decimal(txt, strlen(txt), &neg, &v, d);
    }
  } else {
    rc = pg_fail(d, PG_ERR_INVALID, "payload key '%.64s' is %s, not a number", json_key,
                 pg_json_type_name(j));
  }
  json_decref(root);
  if (rc) return rc;
  return finish_value(neg, v, kind, micro, d);
}

/* ------------------------------------------------------------------ */
/* Sample series                                                       */

int pg_meter_series_init(pg_meter_series *s, pg_meter_mqtt_kind kind, size_t cap) {
  memset(s, 0, sizeof *s);
  if (cap < 2) return PG_ERR_INVALID;
  s->ring = calloc(cap, sizeof *s->ring);
  if (!s->ring) return PG_ERR_NOMEM;
  s->kind = kind;
  s->cap = cap;
  return PG_OK;
}

void pg_meter_series_free(pg_meter_series *s) {
  if (!s) return;
  free(s->ring);
  s->ring = NULL;
  s->n = 0;
}

size_t pg_meter_series_len(const pg_meter_series *s) { return s->n; }

static pg_meter_sample *at(const pg_meter_series *s, size_t i) {
  return &s->ring[(s->head + i) % s->cap];
}

static const pg_meter_sample *newest(const pg_meter_series *s) {
  if (s->n) return at(s, s->n - 1);
  return s->has_base ? &s->base : NULL;
}

static void drop_oldest(pg_meter_series *s) {
  s->base = *at(s, 0);
  s->has_base = true;
  s->head = (s->head + 1) % s->cap;
  s->n--;
}

void pg_meter_series_add(pg_meter_series *s, uint64_t t_ms, int64_t v) {
  const pg_meter_sample *last = newest(s);
  pg_meter_sample smp = {t_ms, v, 0};
  if (v < 0) v = smp.v = 0; /* the parser never yields these; stay monotone anyway */
  if (last) {
    if (smp.t_ms < last->t_ms) smp.t_ms = last->t_ms;
    if (s->kind == PG_METER_POWER_W)
      smp.cum = last->cum + (__int128)last->v * (__int128)(smp.t_ms - last->t_ms);
    else
      smp.cum = last->cum + (v >= last->v ? (__int128)(v - last->v) : 0); /* drop: reset */
  }
  if (s->n == s->cap) {
    drop_oldest(s);
    s->dropped++;
  }
  *at(s, s->n) = smp;
  s->n++;
}

/* First ring index whose time is >= t (s->n if none). */
static size_t first_at_or_after(const pg_meter_series *s, uint64_t t) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (at(s, mid)->t_ms < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Cumulative energy at t. Requires a sample at or after t in the ring and,
 * when a base exists, t > base.t_ms. At a time with several samples the first
 * one counts, so a later sample at the same ms cannot change cum(t). */
static __int128 cum_at(const pg_meter_series *s, uint64_t t) {
  size_t j = first_at_or_after(s, t);
  const pg_meter_sample *nx = at(s, j);
  if (nx->t_ms == t) return nx->cum;
  const pg_meter_sample *pv = j > 0 ? at(s, j - 1) : (s->has_base ? &s->base : NULL);
  if (!pv) return nx->cum; /* before the first sample ever: nothing yet */
  if (s->kind == PG_METER_POWER_W) return pv->cum + (__int128)pv->v * (__int128)(t - pv->t_ms);
  return pv->cum + (nx->cum - pv->cum) * (__int128)(t - pv->t_ms) / (__int128)(nx->t_ms - pv->t_ms);
}

static int64_t round_wh(const pg_meter_series *s, __int128 cum) {
  __int128 unit = s->kind == PG_METER_POWER_W ? WH_UWMS : WH_UWH;
  return (int64_t)((cum + unit / 2) / unit);
}

int pg_meter_series_energy(pg_meter_series *s, uint64_t from_ms, uint64_t to_ms, uint64_t now_ms,
                           uint64_t stale_ms, int64_t *wh, pg_diag *d) {
  if (from_ms >= to_ms) return pg_fail(d, PG_ERR_INVALID, "empty window");
  const pg_meter_sample *last = newest(s);
  if (!last) return pg_fail(d, PG_ERR_UNAVAILABLE, "no reading has arrived yet");
  if (last->t_ms < to_ms) {
    bool stale = to_ms <= UINT64_MAX - stale_ms && now_ms >= to_ms + stale_ms;
    if (!stale)
      return pg_fail(d, PG_ERR_UNAVAILABLE, "no reading at or after the window's end yet");
    /* final by staleness: write the held value down at to_ms (before the
     * check below, since a full ring drops a sample for it) */
    pg_meter_series_add(s, to_ms, last->v);
  }
  if (s->has_base && from_ms <= s->base.t_ms)
    return pg_fail(d, PG_ERR_NOT_FOUND,
                   "readings at the window's start were already dropped (the meter keeps "
                   "%zu samples and forgets those before the last window asked)",
                   s->cap);
  __int128 a = cum_at(s, from_ms), b = cum_at(s, to_ms);
  int64_t r = round_wh(s, b) - round_wh(s, a);
  /* forget what no window starting at or after from_ms needs */
  while (s->n >= 2 && at(s, 1)->t_ms < from_ms) drop_oldest(s);
  *wh = r;
  return PG_OK;
}

/* ------------------------------------------------------------------ */
/* The MQTT meter                                                      */

typedef struct mqtt_meter {
  pg_meter base;
  struct mosquitto *mosq;
  pthread_mutex_t mu;
  pg_meter_series series;
  pg_meter_mqtt_stats stats;
  bool ever_subscribed;
  int sub_mid;
  char *host, *topic, *json_key;
  pg_meter_mqtt_kind kind;
  uint64_t stale_ms;
  const pg_clock *clock;
  bool loop_started;
} mqtt_meter;

static void on_connect(struct mosquitto *mosq, void *obj, int rc) {
  mqtt_meter *m = obj;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  if (rc != 0) {
    pg_log_warn(MOD, "mqtt %s: connection refused: %s", m->topic, mosquitto_connack_string(rc));
  } else {
    int mid = 0;
    int src = mosquitto_subscribe(mosq, &mid, m->topic, 1);
    pthread_mutex_lock(&m->mu);
    m->sub_mid = mid;
    pthread_mutex_unlock(&m->mu);
    if (src != MOSQ_ERR_SUCCESS)
      pg_log_warn(MOD, "mqtt %s: subscribe failed: %s", m->topic, mosquitto_strerror(src));
  }
  pthread_setcancelstate(old, NULL);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted) {
  mqtt_meter *m = obj;
  int old;
  (void)mosq;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  bool ok = qos_count >= 1 && granted[0] <= 2;
  bool again = false;
  pthread_mutex_lock(&m->mu);
  if (mid == m->sub_mid && ok) {
    m->stats.connected = true;
    again = m->ever_subscribed;
    if (again) m->stats.reconnects++;
    m->ever_subscribed = true;
  }
  pthread_mutex_unlock(&m->mu);
  if (!ok)
    pg_log_warn(MOD, "mqtt %s: the broker refused the subscription", m->topic);
  else
    pg_log_info(MOD, "mqtt %s: %s on %s", m->topic, again ? "resubscribed" : "subscribed",
                m->host);
  pthread_setcancelstate(old, NULL);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc) {
  mqtt_meter *m = obj;
  int old;
  (void)mosq;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pthread_mutex_lock(&m->mu);
  bool was = m->stats.connected;
  m->stats.connected = false;
  pthread_mutex_unlock(&m->mu);
  if (was && rc != 0) pg_log_warn(MOD, "mqtt %s: connection lost; reconnecting", m->topic);
  pthread_setcancelstate(old, NULL);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg) {
  mqtt_meter *m = obj;
  int old;
  (void)mosq;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  int64_t v = 0;
  pg_diag d = {{0}};
  int rc = msg->payloadlen < 0
               ? pg_fail(&d, PG_ERR_INVALID, "negative payload length")
               : pg_meter_parse_payload(msg->payload, (size_t)msg->payloadlen, m->kind,
                                        m->json_key, &v, &d);
  uint64_t rejected = 0;
  pthread_mutex_lock(&m->mu);
  if (rc == PG_OK) {
    pg_meter_series_add(&m->series, pg_clock_now(m->clock), v);
    m->stats.samples++;
  } else {
    rejected = ++m->stats.rejected;
  }
  pthread_mutex_unlock(&m->mu);
  /* log the first few bad payloads, then every 1000th, with their start */
  if (rc != PG_OK && (rejected <= 10 || rejected % 1000 == 0)) {
    char show[41];
    size_t n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, k;
    const uint8_t *b = msg->payload;
    for (k = 0; k < n && k < sizeof show - 1; k++)
      show[k] = b[k] >= 0x20 && b[k] < 0x7f ? (char)b[k] : '?';
    show[k] = '\0';
    pg_log_warn(MOD, "mqtt %s: payload '%s%s' refused (%" PRIu64 " so far): %s", m->topic, show,
                n > k ? "..." : "", rejected, d.msg);
  }
  pthread_setcancelstate(old, NULL);
}

static int mqtt_energy(pg_meter *base, uint64_t from_ms, uint64_t to_ms, int64_t *wh,
                       pg_diag *d) {
  mqtt_meter *m = (mqtt_meter *)base;
  uint64_t now = pg_clock_now(m->clock);
  pthread_mutex_lock(&m->mu);
  int rc = pg_meter_series_energy(&m->series, from_ms, to_ms, now, m->stale_ms, wh, d);
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static void mqtt_destroy(pg_meter *base) {
  mqtt_meter *m = (mqtt_meter *)base;
  if (m->mosq) {
    if (m->loop_started) {
      (void)mosquitto_disconnect(m->mosq); /* sets the state even when not connected */
      (void)mosquitto_loop_stop(m->mosq, false);
    }
    mosquitto_destroy(m->mosq);
  }
  pthread_mutex_destroy(&m->mu);
  pg_meter_series_free(&m->series);
  free(m->host);
  free(m->topic);
  free(m->json_key);
  free(m);
}

static const pg_meter_ops mqtt_ops = {"mqtt", mqtt_energy, mqtt_destroy};

static char *dup_opt(const char *s, bool *fail) {
  if (!s) return NULL;
  char *r = strdup(s);
  if (!r) *fail = true;
  return r;
}

int pg_meter_mqtt_new(const pg_meter_mqtt_opts *o, pg_meter **out, pg_diag *d) {
  if (!o || !out) return pg_fail(d, PG_ERR_INVALID, "mqtt meter: no options");
  *out = NULL;
  if (!o->host || !*o->host) return pg_fail(d, PG_ERR_INVALID, "mqtt meter: no host");
  if (!o->topic || !*o->topic) return pg_fail(d, PG_ERR_INVALID, "mqtt meter: no topic");
  if (o->kind != PG_METER_POWER_W && o->kind != PG_METER_ENERGY_WH &&
      o->kind != PG_METER_ENERGY_KWH)
    return pg_fail(d, PG_ERR_INVALID, "mqtt meter: unknown unit");
  int lrc = pg_mosq_load(d);
  if (lrc) return lrc;
  if (mosquitto_sub_topic_check(o->topic) != MOSQ_ERR_SUCCESS || strchr(o->topic, '+') ||
      strchr(o->topic, '#'))
    return pg_fail(d, PG_ERR_INVALID,
                   "mqtt meter: topic '%.100s' is not a single topic (no wildcards)", o->topic);
  if (o->json_key && !*o->json_key)
    return pg_fail(d, PG_ERR_INVALID, "mqtt meter: json_key is empty");
  if (o->password && !o->username)
    return pg_fail(d, PG_ERR_INVALID, "mqtt meter: a password needs a username");

  mqtt_meter *m = calloc(1, sizeof *m);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  m->base.ops = &mqtt_ops;
  m->kind = o->kind;
  m->stale_ms = o->stale_ms ? o->stale_ms : DEFAULT_STALE_MS;
  m->clock = o->clock ? o->clock : pg_clock_real();
  if (pthread_mutex_init(&m->mu, NULL) != 0) {
    free(m);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  bool fail = false;
  m->host = dup_opt(o->host, &fail);
  m->topic = dup_opt(o->topic, &fail);
  m->json_key = dup_opt(o->json_key, &fail);
  int rc = fail ? PG_ERR_NOMEM : pg_meter_series_init(&m->series, o->kind, PG_METER_RING_CAP);
  if (rc) {
    mqtt_destroy(&m->base);
    return pg_fail(d, rc, "out of memory");
  }
  m->mosq = mosquitto_new(o->client_id, true, m);
  if (!m->mosq) {
    rc = pg_fail(d, errno == EINVAL ? PG_ERR_INVALID : PG_ERR_NOMEM,
                 "mqtt meter: cannot create a client: %s", strerror(errno));
    mqtt_destroy(&m->base);
    return rc;
  }
  mosquitto_connect_callback_set(m->mosq, on_connect);
  mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
  mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
  mosquitto_message_callback_set(m->mosq, on_message);
  (void)mosquitto_reconnect_delay_set(m->mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
  int mrc = MOSQ_ERR_SUCCESS;
  if (o->username) mrc = mosquitto_username_pw_set(m->mosq, o->username, o->password);
  if (mrc != MOSQ_ERR_SUCCESS) {
    rc = pg_fail(d, PG_ERR_INVALID, "mqtt meter: bad username or password: %s",
                 mosquitto_strerror(mrc));
    mqtt_destroy(&m->base);
    return rc;
  }
  int port = o->port ? o->port : 1883;
  mrc = mosquitto_connect_async(m->mosq, o->host, port, KEEPALIVE_S);
  if (mrc == MOSQ_ERR_ERRNO) {
    /* e.g. connection refused: the network thread keeps retrying */
    pg_log_warn(MOD, "mqtt %s:%d: not reachable yet (%s); will retry", o->host, port,
                strerror(errno));
  } else if (mrc != MOSQ_ERR_SUCCESS) {
    rc = pg_fail(d, mrc == MOSQ_ERR_EAI ? PG_ERR_IO : PG_ERR_INVALID,
                 "mqtt meter: cannot connect to %.100s:%d: %s", o->host, port,
                 mosquitto_strerror(mrc));
    mqtt_destroy(&m->base);
    return rc;
  }
  mrc = mosquitto_loop_start(m->mosq);
  if (mrc != MOSQ_ERR_SUCCESS) {
    rc = pg_fail(d, PG_ERR_IO, "mqtt meter: cannot start the network thread: %s",
                 mosquitto_strerror(mrc));
    mqtt_destroy(&m->base);
    return rc;
  }
  m->loop_started = true;
  *out = &m->base;
  return PG_OK;
}

int pg_meter_mqtt_stats_get(pg_meter *base, pg_meter_mqtt_stats *out) {
  if (!base || !out || base->ops != &mqtt_ops) return PG_ERR_INVALID;
  mqtt_meter *m = (mqtt_meter *)base;
  pthread_mutex_lock(&m->mu);
  *out = m->stats;
  pthread_mutex_unlock(&m->mu);
  return PG_OK;
}
