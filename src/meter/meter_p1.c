/* meter_p1.c — a meter fed by DSMR P1 telegrams over TCP or a serial line
 * (meter.h "DSMR P1"), and the pure reading series behind it
 * (p1_internal.h).
 *
 * Threads: one reader thread per meter connects, reads, splits and parses
 * outside the lock, and takes the meter's mutex only to add a reading or
 * count. pg_meter_energy and the stats take the same mutex. The thread
 * polls in 200 ms steps and watches an atomic stop flag; destroy sets it and
 * joins. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "p1_internal.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/meter/p1.h"

#define MOD "meter"
#define DEFAULT_STALE_MS 60000
#define DEFAULT_IDLE_MS 60000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 300000
#define CONNECT_TIMEOUT_MS 5000
#define POLL_STEP_MS 200

/* ------------------------------------------------------------------ */
/* Reading series                                                      */

int pg_p1_series_init(pg_p1_series *s, size_t cap) {
  memset(s, 0, sizeof *s);
  if (cap < 2) return PG_ERR_INVALID;
  s->ring = calloc(cap, sizeof *s->ring);
  if (!s->ring) return PG_ERR_NOMEM;
  s->cap = cap;
  return PG_OK;
}

void pg_p1_series_free(pg_p1_series *s) {
  if (!s) return;
  free(s->ring);
  s->ring = NULL;
  s->n = 0;
}

static pg_p1_reading *rd(const pg_p1_series *s, size_t i) {
  return &s->ring[(s->head + i) % s->cap];
}

static void drop_first(pg_p1_series *s) {
  s->head = (s->head + 1) % s->cap;
  s->n--;
  s->forgot = true;
}

int pg_p1_series_add(pg_p1_series *s, int64_t t_ms, int64_t imp, int64_t exp) {
  if (s->any && t_ms <= s->newest_ms) return PG_P1_LATE;
  if (s->n) {
    const pg_p1_reading *last = rd(s, s->n - 1);
    if (imp < last->imp || exp < last->exp) return PG_P1_REGRESSION;
    if (imp == last->imp && exp == last->exp) {
      s->newest_ms = t_ms;
      return PG_P1_ADDED;
    }
  }
  if (s->n == s->cap) drop_first(s);
  *rd(s, s->n) = (pg_p1_reading){t_ms, imp, exp};
  s->n++;
  s->any = true;
  s->newest_ms = t_ms;
  return PG_P1_ADDED;
}

/* Index of the last reading with t <= b, or -1 when b is before all. */
static long last_at_or_before(const pg_p1_series *s, int64_t b) {
  size_t lo = 0, hi = s->n; /* first index with t > b */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (rd(s, mid)->t_ms <= b)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (long)lo - 1;
}

/* The counters at b (C(b) of meter.h). */
static int counters_at(const pg_p1_series *s, int64_t b, pg_p1_reading *out, pg_diag *d) {
  long i = last_at_or_before(s, b);
  if (i < 0 && s->forgot)
    return pg_fail(d, PG_ERR_NOT_FOUND,
                   "P1 readings at the window's start were already forgotten (the meter keeps "
                   "those windows from the last one asked on need)");
  *out = *rd(s, i < 0 ? 0 : (size_t)i);
  return PG_OK;
}

int pg_p1_series_energy(pg_p1_series *s, pg_meter_p1_quantity q, uint64_t from_ms,
                        uint64_t to_ms, uint64_t now_ms, uint64_t stale_ms, int64_t *wh,
                        pg_diag *d) {
  if (from_ms >= to_ms || to_ms > (uint64_t)INT64_MAX)
    return pg_fail(d, PG_ERR_INVALID, "bad window");
  if (!s->any || s->n == 0) return pg_fail(d, PG_ERR_UNAVAILABLE, "no valid P1 telegram yet");
  int64_t from = (int64_t)from_ms, to = (int64_t)to_ms;
  if (s->newest_ms < to) {
    bool stale = to_ms <= UINT64_MAX - stale_ms && now_ms >= to_ms + stale_ms;
    if (!stale)
      return pg_fail(d, PG_ERR_UNAVAILABLE,
                     "no P1 telegram stamped at or after the window's end yet");
    s->newest_ms = to; /* the fence: later telegrams at or before it are late */
  }
  pg_p1_reading a, b;
  int rc = counters_at(s, from, &a, d);
  if (rc == PG_OK) rc = counters_at(s, to, &b, d);
  if (rc) return rc;
  int64_t di = b.imp - a.imp, de = b.exp - a.exp;
  *wh = q == PG_METER_P1_IMPORT ? di : q == PG_METER_P1_EXPORT ? de : (di > de ? di - de : 0);
  /* keep the reading that holds at from_ms and everything after it */
  long keep = last_at_or_before(s, from);
  for (long k = 0; k < keep; k++) drop_first(s);
  return PG_OK;
}

/* ------------------------------------------------------------------ */
/* The meter                                                           */

typedef struct p1_meter {
  pg_meter base;
  pthread_mutex_t mu;
  pg_p1_series series;       /* mu */
  pg_meter_p1_stats stats;   /* mu */
  pthread_t thread;
  bool thread_started;
  atomic_bool stop;
  char *host, *device;
  uint16_t port;
  pg_meter_p1_quantity quantity;
  uint64_t stale_ms, idle_ms;
  const pg_clock *clock;
  char where[200];           /* "p1 host:port" or "p1 /dev/..." for logs */
  pg_p1_stream stream;       /* reader thread only */
  bool good_on_conn;         /* reader thread only */
  unsigned jitter_seed;      /* reader thread only */
} p1_meter;

static bool should_log(uint64_t count) { return count <= 10 || count % 1000 == 0; }

/* A parsed telegram's reading, or why it cannot be used. */
static int usable(const pg_p1_telegram *t, pg_diag *d) {
  if (!t->has_time) return pg_fail(d, PG_ERR_INVALID, "telegram has no time (0-0:1.0.0)");
  if (!t->has_import[0] || !t->has_import[1] || !t->has_export[0] || !t->has_export[1])
    return pg_fail(d, PG_ERR_INVALID,
                   "telegram lacks an energy register (1-0:1.8.1, 1.8.2, 2.8.1, 2.8.2)");
  return PG_OK;
}

static void on_frame(void *ctx, const uint8_t *f, size_t len) {
  p1_meter *m = ctx;
  pg_p1_telegram t;
  pg_diag d = {{0}};
  int rc = pg_p1_parse(f, len, &t, &d);
  if (rc == PG_OK) rc = usable(&t, &d);
  int outcome = -1;
  uint64_t count = 0;
  pthread_mutex_lock(&m->mu);
  if (rc == PG_OK) {
    outcome = pg_p1_series_add(&m->series, t.time_ms, t.import_wh[0] + t.import_wh[1],
                               t.export_wh[0] + t.export_wh[1]);
    if (outcome == PG_P1_ADDED) {
      m->stats.telegrams++;
      m->stats.newest_ms = t.time_ms;
    } else {
      count = outcome == PG_P1_LATE ? ++m->stats.late : ++m->stats.regressions;
    }
  } else {
    count = ++m->stats.rejected;
  }
  pthread_mutex_unlock(&m->mu);
  if (outcome == PG_P1_ADDED) {
    m->good_on_conn = true;
  } else if (rc != PG_OK && should_log(count)) {
    pg_log_warn(MOD, "%s: telegram refused (%" PRIu64 " so far): %s", m->where, count, d.msg);
  } else if (outcome == PG_P1_REGRESSION && should_log(count)) {
    pg_log_warn(MOD, "%s: a register went down (meter swapped or faulty?): telegram quarantined "
                     "(%" PRIu64 " so far)", m->where, count);
  } else if (outcome == PG_P1_LATE && should_log(count)) {
    pg_log_warn(MOD, "%s: telegram time not after the newest one: ignored (%" PRIu64 " so far)",
                m->where, count);
  }
}

/* Waits (in POLL_STEP_MS steps, watching stop) until fd is writable. */
static bool wait_connected(p1_meter *m, int fd) {
  for (int waited = 0; waited < CONNECT_TIMEOUT_MS && !atomic_load(&m->stop); waited += POLL_STEP_MS) {
    struct pollfd p = {fd, POLLOUT, 0};
    int r = poll(&p, 1, POLL_STEP_MS);
    if (r == 1) return true;
    if (r < 0 && errno != EINTR) return false;
  }
  return false;
}

static int tcp_connect_one(p1_meter *m, const struct addrinfo *ai) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    int err = errno, soerr = 0;
    socklen_t sl = sizeof soerr;
    if (err != EINPROGRESS || !wait_connected(m, fd) ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
      close(fd);
      errno = err == EINPROGRESS ? (soerr ? soerr : ETIMEDOUT) : err;
      return -1;
    }
  }
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  return fd;
}

static int tcp_open(p1_meter *m, pg_diag *d) {
  struct addrinfo hints = {0}, *res = NULL;
  char port[8];
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%u", (unsigned)m->port);
  int g = getaddrinfo(m->host, port, &hints, &res);
  if (g != 0) return pg_fail(d, PG_ERR_IO, "cannot resolve '%.100s': %s", m->host, gai_strerror(g)), -1;
  int fd = -1, err = 0;
  for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = tcp_connect_one(m, ai);
    if (fd < 0) err = errno;
  }
  freeaddrinfo(res);
  if (fd < 0) pg_fail(d, PG_ERR_IO, "cannot connect: %s", strerror(err));
  return fd;
}

/* 115200 8N1, raw, non-blocking, read only (DEVICES.md §B1; 7E1 meters are
 * repaired by the stream's 7-bit mask). */
static int serial_open(p1_meter *m, pg_diag *d) {
  int fd = open(m->device, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "cannot open: %s", strerror(errno)), -1;
  struct termios tio;
  if (tcgetattr(fd, &tio) != 0) {
    pg_fail(d, PG_ERR_IO, "not a serial device: %s", strerror(errno));
    close(fd);
    return -1;
  }
  cfmakeraw(&tio);
  tio.c_cflag &= ~(tcflag_t)(PARENB | CSTOPB | CSIZE | CRTSCTS);
  tio.c_cflag |= CS8 | CLOCAL | CREAD;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  if (cfsetispeed(&tio, B115200) != 0 || cfsetospeed(&tio, B115200) != 0 ||
      tcsetattr(fd, TCSANOW, &tio) != 0) {
    pg_fail(d, PG_ERR_IO, "cannot set 115200 8N1: %s", strerror(errno));
    close(fd);
    return -1;
  }
  (void)tcflush(fd, TCIFLUSH);
  return fd;
}

/* Reads until an error, the end of the stream, idle_ms without a byte or
 * stop. */
static void read_loop(p1_meter *m, int fd) {
  uint8_t buf[4096];
  uint64_t last = pg_monotonic_ms();
  while (!atomic_load(&m->stop)) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, POLL_STEP_MS);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      pg_log_warn(MOD, "%s: poll: %s; reconnecting", m->where, strerror(errno));
      return;
    }
    if (r == 0) {
      if (pg_monotonic_ms() - last >= m->idle_ms) {
        pg_log_warn(MOD, "%s: no bytes for %" PRIu64 " ms; reconnecting", m->where, m->idle_ms);
        return;
      }
      continue;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0 || (n == 0 && (!m->device || (p.revents & (POLLHUP | POLLERR))))) {
      pg_log_warn(MOD, "%s: %s; reconnecting", m->where,
                  n < 0 ? strerror(errno) : "connection closed");
      return;
    }
    if (n == 0) continue;
    last = pg_monotonic_ms();
    pg_p1_stream_feed(&m->stream, buf, (size_t)n, on_frame, m);
  }
}

static void nap_ms(p1_meter *m, uint64_t ms) {
  uint64_t end = pg_monotonic_ms() + ms;
  while (!atomic_load(&m->stop) && pg_monotonic_ms() < end) {
    struct timespec ts = {0, POLL_STEP_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void set_connected(p1_meter *m, bool on, bool first) {
  pthread_mutex_lock(&m->mu);
  m->stats.connected = on;
  if (on && !first) m->stats.reconnects++;
  pthread_mutex_unlock(&m->mu);
}

static void *reader_main(void *arg) {
  p1_meter *m = arg;
  uint64_t backoff = BACKOFF_MIN_MS;
  bool first = true;
  while (!atomic_load(&m->stop)) {
    pg_diag d = {{0}};
    int fd = m->device ? serial_open(m, &d) : tcp_open(m, &d);
    if (fd >= 0) {
      set_connected(m, true, first);
      pg_log_info(MOD, "%s: %s", m->where, first ? "connected" : "reconnected");
      first = false;
      pg_p1_stream_reset(&m->stream);
      m->good_on_conn = false;
      read_loop(m, fd);
      close(fd);
      set_connected(m, false, first);
      if (m->good_on_conn) backoff = BACKOFF_MIN_MS;
    } else {
      pg_log_warn(MOD, "%s: %s; retrying in %" PRIu64 " s", m->where, d.msg, backoff / 1000);
    }
    if (atomic_load(&m->stop)) break;
    nap_ms(m, backoff + (uint64_t)rand_r(&m->jitter_seed) % (backoff / 10 + 1));
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  return NULL;
}

static int p1_energy(pg_meter *base, uint64_t from_ms, uint64_t to_ms, int64_t *wh, pg_diag *d) {
  p1_meter *m = (p1_meter *)base;
  uint64_t now = pg_clock_now(m->clock);
  pthread_mutex_lock(&m->mu);
  int rc = pg_p1_series_energy(&m->series, m->quantity, from_ms, to_ms, now, m->stale_ms, wh, d);
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static void p1_destroy(pg_meter *base) {
  p1_meter *m = (p1_meter *)base;
  if (m->thread_started) {
    atomic_store(&m->stop, true);
    pthread_join(m->thread, NULL);
  }
  pthread_mutex_destroy(&m->mu);
  pg_p1_series_free(&m->series);
  free(m->host);
  free(m->device);
  free(m);
}

static const pg_meter_ops p1_ops = {"p1", p1_energy, p1_destroy};

static int check_opts(const pg_meter_p1_opts *o, pg_diag *d) {
  bool tcp = o->host && *o->host, serial = o->device && *o->device;
  if (tcp == serial)
    return pg_fail(d, PG_ERR_INVALID, "p1 meter: give either host and port (TCP) or device (serial)");
  if (tcp && o->port == 0) return pg_fail(d, PG_ERR_INVALID, "p1 meter: no port");
  if (o->quantity != PG_METER_P1_IMPORT && o->quantity != PG_METER_P1_EXPORT &&
      o->quantity != PG_METER_P1_NET)
    return pg_fail(d, PG_ERR_INVALID, "p1 meter: unknown quantity");
  return PG_OK;
}

int pg_meter_p1_new(const pg_meter_p1_opts *o, pg_meter **out, pg_diag *d) {
  if (!o || !out) return pg_fail(d, PG_ERR_INVALID, "p1 meter: no options");
  *out = NULL;
  int rc = check_opts(o, d);
  if (rc) return rc;
  p1_meter *m = calloc(1, sizeof *m);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  m->base.ops = &p1_ops;
  m->quantity = o->quantity;
  m->port = o->port;
  m->stale_ms = o->stale_ms ? o->stale_ms : DEFAULT_STALE_MS;
  m->idle_ms = o->idle_ms ? o->idle_ms : DEFAULT_IDLE_MS;
  m->clock = o->clock ? o->clock : pg_clock_real();
  m->jitter_seed = (unsigned)pg_monotonic_ms() ^ (unsigned)(uintptr_t)m;
  atomic_init(&m->stop, false);
  pg_p1_stream_init(&m->stream);
  if (pthread_mutex_init(&m->mu, NULL) != 0) {
    free(m);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if (o->device && *o->device) {
    m->device = strdup(o->device);
    snprintf(m->where, sizeof m->where, "p1 %.180s", o->device);
  } else {
    m->host = strdup(o->host);
    snprintf(m->where, sizeof m->where, "p1 %.180s:%u", o->host, (unsigned)o->port);
  }
  rc = (!m->device && !m->host) ? PG_ERR_NOMEM : pg_p1_series_init(&m->series, PG_P1_RING_CAP);
  if (rc == PG_OK && pthread_create(&m->thread, NULL, reader_main, m) != 0) rc = PG_ERR_IO;
  if (rc) {
    p1_destroy(&m->base);
    return pg_fail(d, rc, rc == PG_ERR_IO ? "p1 meter: cannot start its thread" : "out of memory");
  }
  m->thread_started = true;
  *out = &m->base;
  return PG_OK;
}

int pg_meter_p1_stats_get(pg_meter *base, pg_meter_p1_stats *out) {
  if (!base || !out || base->ops != &p1_ops) return PG_ERR_INVALID;
  p1_meter *m = (p1_meter *)base;
  pthread_mutex_lock(&m->mu);
  *out = m->stats;
  pthread_mutex_unlock(&m->mu);
  return PG_OK;
}
