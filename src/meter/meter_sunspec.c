/* meter_sunspec.c — a meter that polls a SunSpec device over Modbus TCP
 * (libmodbus); the rules are in sunspec.h ("The meter").
 *
 * Threads: one poller thread owns the libmodbus context; it decodes outside
 * the lock and takes the meter's mutex only to add a reading or update the
 * stats. pg_meter_energy and stats take the same mutex. Stopping sets a flag
 * and signals a condition variable the poller waits on between polls; a
 * request in flight ends within the response timeout. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meter_internal.h"
#include "modbus_dl.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/meter/sunspec.h"
#include "sunspec_internal.h"

#define MOD "meter"
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 16000
#define DEFAULT_POLL_MS 1000
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_STALE_MS 60000
#define DEFAULT_MAX_W 10000000LL

typedef struct sunspec_meter {
  pg_meter base;
  pthread_t thread;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  bool stop;
  /* under mu */
  pg_meter_series series;
  pg_meter_sunspec_stats stats;
  pg_sunspec_acc acc;
  /* the poller's own */
  modbus_t *ctx;
  pg_sunspec_model model; /* the block polled */
  bool ever_connected;
  char *host;
  char port[8];
  int unit_id;
  pg_sunspec_quantity quantity;
  uint64_t poll_ms, timeout_ms, stale_ms;
  int64_t max_w;
  const pg_clock *clock;
} sunspec_meter;

static const char *quantity_name(pg_sunspec_quantity q) {
  return q == PG_SUNSPEC_Q_EXPORT ? "export" : q == PG_SUNSPEC_Q_IMPORT ? "import" : "inverter";
}

/* Waits ms or until stop; true when stopping. */
static bool wait_or_stop(sunspec_meter *m, uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&m->mu);
  while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &ts) != ETIMEDOUT) {
  }
  bool s = m->stop;
  pthread_mutex_unlock(&m->mu);
  return s;
}

static void drop_connection(sunspec_meter *m) {
  if (m->ctx) {
    modbus_close(m->ctx);
    modbus_free(m->ctx);
    m->ctx = NULL;
  }
  pthread_mutex_lock(&m->mu);
  m->stats.connected = false;
  pthread_mutex_unlock(&m->mu);
}

static bool stopping(sunspec_meter *m) {
  pthread_mutex_lock(&m->mu);
  bool s = m->stop;
  pthread_mutex_unlock(&m->mu);
  return s;
}

/* One request; refused once the meter is stopping, so a slow device delays
 * pg_meter_free by one response timeout at most. */
static int read_regs(sunspec_meter *m, uint32_t addr, int nb, uint16_t *dest, pg_diag *d) {
  if (stopping(m)) return pg_fail(d, PG_ERR_CANCELLED, "stopping");
  if (modbus_read_registers(m->ctx, (int)addr, nb, dest) == nb) return PG_OK;
  return pg_fail(d, PG_ERR_IO, "reading %d register(s) at %u: %s", nb, (unsigned)addr,
                 modbus_strerror(errno));
}

/* §A2: the first candidate base that answers with "SunS". */
static int find_base(sunspec_meter *m, uint32_t *base, pg_diag *d) {
  char tried[160] = "";
  for (int i = 0; i < PG_SUNSPEC_NBASES; i++) {
    uint16_t r[2];
    pg_diag rd = {{0}};
    if (read_regs(m, pg_sunspec_bases[i], 2, r, &rd) == PG_OK && pg_sunspec_is_marker(r)) {
      *base = pg_sunspec_bases[i];
      return PG_OK;
    }
    size_t k = strlen(tried);
    snprintf(tried + k, sizeof tried - k, "%s%u (%s)", k ? ", " : "", pg_sunspec_bases[i],
             rd.msg[0] ? "not readable" : "no marker");
  }
  return pg_fail(d, PG_ERR_NOT_FOUND, "no SunSpec map (tried %s; wrong unit_id?)", tried);
}

/* §A3: walks the chain register by register and picks the quantity's model. */
static int discover(sunspec_meter *m, pg_diag *d) {
  uint32_t base = 0;
  int rc = find_base(m, &base, d);
  if (rc) return rc;
  pg_sunspec_model found[PG_SUNSPEC_MAX_MODELS];
  size_t n = 0;
  uint32_t addr = base + 2;
  for (;;) {
    uint16_t id, len;
    if ((rc = read_regs(m, addr, 1, &id, d))) return rc;
    if (id == PG_SUNSPEC_END_ID) break;
    if ((rc = read_regs(m, addr + 1, 1, &len, d))) return rc;
    if (n >= PG_SUNSPEC_MAX_MODELS || len == 0 || addr + 2u + len > 65536u)
      return pg_fail(d, PG_ERR_INVALID, "bad model chain at %u (model %u, L %u, %zu before it)",
                     (unsigned)addr, id, len, n);
    found[n++] = (pg_sunspec_model){id, len, addr};
    addr += 2u + len;
  }
  pg_sunspec_chain c = {.base = base, .n = n};
  memcpy(c.models, found, n * sizeof found[0]);
  const pg_sunspec_model *pick = NULL;
  if (m->quantity == PG_SUNSPEC_Q_INVERTER) {
    pick = pg_sunspec_find(&c, 101, 103);
    if (!pick) pick = pg_sunspec_find(&c, 111, 113);
  } else {
    pick = pg_sunspec_find(&c, 201, 204);
  }
  if (!pick) {
    char ids[200] = "";
    for (size_t i = 0; i < n; i++) {
      size_t k = strlen(ids);
      snprintf(ids + k, sizeof ids - k, "%s%u", i ? ", " : "", c.models[i].id);
    }
    return pg_fail(d, PG_ERR_NOT_FOUND, "no %s model in the chain at %u (models: %s)",
                   m->quantity == PG_SUNSPEC_Q_INVERTER ? "inverter (101-103, 111-113)"
                                                        : "meter (201-204)",
                   (unsigned)base, n ? ids : "none");
  }
  if (2u + pick->len > MODBUS_MAX_READ_REGISTERS)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "model %u at %u has L %u: more than one request holds",
                   pick->id, (unsigned)pick->addr, pick->len);
  m->model = *pick;
  return PG_OK;
}

static int connect_device(sunspec_meter *m, pg_diag *d) {
  m->ctx = modbus_new_tcp_pi(m->host, m->port);
  if (!m->ctx) return pg_fail(d, PG_ERR_NOMEM, "cannot create a Modbus context: %s", modbus_strerror(errno));
  (void)modbus_set_slave(m->ctx, m->unit_id);
  (void)modbus_set_response_timeout(m->ctx, (uint32_t)(m->timeout_ms / 1000),
                                    (uint32_t)(m->timeout_ms % 1000) * 1000);
  (void)modbus_set_error_recovery(m->ctx, MODBUS_ERROR_RECOVERY_NONE);
  if (modbus_connect(m->ctx) != 0)
    return pg_fail(d, PG_ERR_IO, "cannot connect: %s", modbus_strerror(errno));
  int rc = discover(m, d);
  if (rc) return rc;
  pthread_mutex_lock(&m->mu);
  m->stats.connected = true;
  m->stats.model = m->model.id;
  if (m->ever_connected) m->stats.reconnects++;
  pthread_mutex_unlock(&m->mu);
  pg_log_info(MOD, "sunspec %s:%s unit %d: %s model %u at %u (L %u)%s", m->host, m->port,
              m->unit_id, quantity_name(m->quantity), m->model.id, (unsigned)m->model.addr,
              m->model.len, m->ever_connected ? " (reconnected)" : "");
  m->ever_connected = true;
  return PG_OK;
}

static const pg_sunspec_counter *wanted(const sunspec_meter *m, const pg_sunspec_values *v) {
  if (m->quantity == PG_SUNSPEC_Q_EXPORT) return &v->wh_exp;
  if (m->quantity == PG_SUNSPEC_Q_IMPORT) return &v->wh_imp;
  return &v->wh;
}

/* One poll: the whole block in one request. PG_ERR_IO / PG_ERR_STATE drop the
 * connection; PG_ERR_UNAVAILABLE is a poll without a reading. */
static int poll_once(sunspec_meter *m, pg_diag *d) {
  uint16_t regs[MODBUS_MAX_READ_REGISTERS];
  int nb = 2 + m->model.len;
  int rc = read_regs(m, m->model.addr, nb, regs, d);
  if (rc) return rc;
  if (regs[0] != m->model.id || regs[1] != m->model.len)
    return pg_fail(d, PG_ERR_STATE, "the block at %u is now model %u L %u (was %u L %u)",
                   (unsigned)m->model.addr, regs[0], regs[1], m->model.id, m->model.len);
  pg_sunspec_values v;
  if ((rc = pg_sunspec_decode(regs, (size_t)nb, &v, d))) return rc;
  const pg_sunspec_counter *c = wanted(m, &v);
  if (!c->present)
    return pg_fail(d, PG_ERR_UNAVAILABLE, "model %u has no %s counter (%s)", v.model,
                   quantity_name(m->quantity),
                   v.dropped ? "its scale factor is not implemented or out of range"
                             : "not implemented (0)");
  uint64_t now = pg_clock_now(m->clock);
  pthread_mutex_lock(&m->mu);
  pg_sunspec_step st = pg_sunspec_acc_add(&m->acc, c, now, m->max_w);
  pg_meter_series_add(&m->series, now, pg_sunspec_acc_uwh(&m->acc));
  m->stats.polls++;
  if (st == PG_SUNSPEC_STEP_WRAP) m->stats.wraps++;
  if (st == PG_SUNSPEC_STEP_RESET) m->stats.resets++;
  pthread_mutex_unlock(&m->mu);
  if (st == PG_SUNSPEC_STEP_RESET)
    pg_log_warn(MOD, "sunspec %s:%s: the %s counter went down (or jumped past 1e12 Wh) to %" PRId64
                " Wh (reset or a new meter): counting on from there",
                m->host, m->port, quantity_name(m->quantity), c->wh);
  return PG_OK;
}

static void count_failure(sunspec_meter *m, const char *what, const pg_diag *d) {
  pthread_mutex_lock(&m->mu);
  uint64_t n = ++m->stats.failed;
  pthread_mutex_unlock(&m->mu);
  if (n <= 10 || n % 1000 == 0)
    pg_log_warn(MOD, "sunspec %s:%s unit %d: %s (%" PRIu64 " failures so far): %s", m->host,
                m->port, m->unit_id, what, n, d->msg);
}

static void *poller(void *arg) {
  sunspec_meter *m = arg;
  uint64_t backoff = BACKOFF_MIN_MS;
  for (;;) {
    pg_diag d = {{0}};
    if (!m->ctx) {
      if (connect_device(m, &d) != PG_OK) {
        count_failure(m, "device not usable", &d);
        drop_connection(m);
        if (wait_or_stop(m, backoff)) break;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        continue;
      }
      backoff = BACKOFF_MIN_MS;
    }
    int rc = poll_once(m, &d);
    if (rc != PG_OK) {
      count_failure(m, "poll failed", &d);
      if (rc != PG_ERR_UNAVAILABLE) drop_connection(m);
    }
    if (wait_or_stop(m, m->ctx ? m->poll_ms : BACKOFF_MIN_MS)) break;
  }
  drop_connection(m);
  return NULL;
}

static int sunspec_energy(pg_meter *base, uint64_t from_ms, uint64_t to_ms, int64_t *wh,
                          pg_diag *d) {
  sunspec_meter *m = (sunspec_meter *)base;
  uint64_t now = pg_clock_now(m->clock);
  pthread_mutex_lock(&m->mu);
  int rc = pg_meter_series_energy(&m->series, from_ms, to_ms, now, m->stale_ms, wh, d);
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static void sunspec_destroy(pg_meter *base) {
  sunspec_meter *m = (sunspec_meter *)base;
  if (m->started) {
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
  }
  pthread_cond_destroy(&m->cv);
  pthread_mutex_destroy(&m->mu);
  pg_meter_series_free(&m->series);
  free(m->host);
  free(m);
}

static const pg_meter_ops sunspec_ops = {"sunspec", sunspec_energy, sunspec_destroy};

static int check_opts(const pg_meter_sunspec_opts *o, pg_diag *d) {
  if (!o->host || !*o->host) return pg_fail(d, PG_ERR_INVALID, "sunspec meter: no host");
  if (o->unit_id < 0 || (o->unit_id > 247 && o->unit_id != 255))
    return pg_fail(d, PG_ERR_INVALID, "sunspec meter: unit_id %d is not 1-247 (or 255)",
                   o->unit_id);
  if (o->quantity != PG_SUNSPEC_Q_INVERTER && o->quantity != PG_SUNSPEC_Q_EXPORT &&
      o->quantity != PG_SUNSPEC_Q_IMPORT)
    return pg_fail(d, PG_ERR_INVALID, "sunspec meter: unknown quantity");
  if (o->max_w < 0 || o->max_w > 1000000000000LL)
    return pg_fail(d, PG_ERR_INVALID, "sunspec meter: max_w %" PRId64 " is not 1..1e12 W",
                   o->max_w);
  if (o->timeout_ms > 60000 || o->poll_ms > 3600000)
    return pg_fail(d, PG_ERR_INVALID, "sunspec meter: timeout over 60 s or poll over 1 h");
  return PG_OK;
}

int pg_meter_sunspec_new(const pg_meter_sunspec_opts *o, pg_meter **out, pg_diag *d) {
  if (!o || !out) return pg_fail(d, PG_ERR_INVALID, "sunspec meter: no options");
  *out = NULL;
  int rc = check_opts(o, d);
  if (!rc) rc = pg_modbus_load(d);
  if (rc) return rc;
  sunspec_meter *m = calloc(1, sizeof *m);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  m->base.ops = &sunspec_ops;
  m->unit_id = o->unit_id ? o->unit_id : 1;
  m->quantity = o->quantity;
  m->poll_ms = o->poll_ms ? o->poll_ms : DEFAULT_POLL_MS;
  m->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  m->stale_ms = o->stale_ms ? o->stale_ms : DEFAULT_STALE_MS;
  m->max_w = o->max_w ? o->max_w : DEFAULT_MAX_W;
  m->clock = o->clock ? o->clock : pg_clock_real();
  snprintf(m->port, sizeof m->port, "%u", o->port ? o->port : 502u);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  bool cv_ok = pthread_cond_init(&m->cv, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!cv_ok || pthread_mutex_init(&m->mu, NULL) != 0) {
    if (cv_ok) pthread_cond_destroy(&m->cv);
    free(m);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  m->host = strdup(o->host);
  rc = m->host ? pg_meter_series_init(&m->series, PG_METER_ENERGY_WH, PG_METER_RING_CAP)
               : PG_ERR_NOMEM;
  if (rc) {
    sunspec_destroy(&m->base);
    return pg_fail(d, rc, "out of memory");
  }
  if (pthread_create(&m->thread, NULL, poller, m) != 0) {
    sunspec_destroy(&m->base);
    return pg_fail(d, PG_ERR_IO, "sunspec meter: cannot start the poller thread");
  }
  m->started = true;
  *out = &m->base;
  return PG_OK;
}

int pg_meter_sunspec_stats_get(pg_meter *base, pg_meter_sunspec_stats *out) {
  if (!base || !out || base->ops != &sunspec_ops) return PG_ERR_INVALID;
  sunspec_meter *m = (sunspec_meter *)base;
  pthread_mutex_lock(&m->mu);
  *out = m->stats;
  pthread_mutex_unlock(&m->mu);
  return PG_OK;
}
