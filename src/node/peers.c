/* peers.c — replica nodes: follow other nodes over the TIP-13 REST API
 * (see peers.h and node.h "Replica").
 *
 * One poll of a peer: GET /info (network name must be ours), a check that
 * the peer's milestone at the highest index both have is ours, then for
 * every milestone index we lack, GET /milestones/{i} and a walk of the
 * milestone's past cone: each message we do not hold solid is fetched with
 * GET /messages/{id}/raw, its BLAKE2b-256 compared with the id asked for,
 * parsed for its parents, and submitted after them (parents first) through
 * pg_tangle_submit. A peer whose bytes fail any check is refused: logged
 * with the reason, counted, skipped for refuse_ms. A peer that does not
 * answer backs off (poll_ms doubling up to max_backoff_ms) while the others
 * are polled round-robin. */
#include "peers.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/tls/tls.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"

#define LOG "peers"
#define CALL_TIMEOUT_MS 15000
#define FORWARD_TIMEOUT_MS 60000 /* the peer may do PoW for a draft */
#define CONE_MAX 200000          /* messages fetched for one milestone */
#define FORWARD_CONE_MAX 2000    /* ... after a forwarded message */
#define PROGRESS_MS 5000

enum peer_state { PEER_NEW, PEER_OK, PEER_DOWN, PEER_REFUSED };
static const char *const STATE_NAME[] = {"new", "ok", "down", "refused"};

typedef struct peer {
  char *url;
  pg_client *c; /* follower thread only */
  /* under pg_peers.mu */
  int state;
  uint64_t next_try_ms; /* monotonic */
  unsigned failures;    /* consecutive */
  uint64_t refusals;
  uint32_t confirmed;   /* the peer's confirmed milestone index at the last /info */
  uint64_t milestones, messages; /* stored here from this peer */
  char last_error[256];
} peer;

struct pg_peers {
  pg_tangle *t;
  atomic_bool *stopping;
  char *network;
  char *ca_file;
  char *bearer; /* owned, wiped at free */
  uint64_t poll_ms, refuse_ms, max_backoff_ms;
  peer *peers;
  size_t n;
  size_t rr; /* follower thread: next peer to poll */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool sync_init, running;
  pthread_t th;
  uint64_t refusals;
  atomic_size_t forward_rr;
  /* progress of a long catch-up (follower thread) */
  uint64_t progress_ms, progress_msgs;
};

/* The outcome of a call into a peer: rc, and whether the peer is at fault
 * (it served something invalid) — then d names what. */
typedef struct outcome {
  bool bad;
  pg_diag d;
} outcome;

static int bad(outcome *o, int rc, const char *fmt, ...) PG_PRINTF(3, 4);
static int bad(outcome *o, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->d.msg, sizeof o->d.msg, fmt, ap);
  va_end(ap);
  o->bad = true;
  return rc;
}

static bool stopping(const pg_peers *p) { return atomic_load(p->stopping); }

static int new_client(const pg_peers *p, const char *url, unsigned timeout_ms, pg_client **out,
                      pg_diag *d) {
  pg_tls_files tls = {.ca_file = p->ca_file};
  pg_http_client_opts o = {.base_url = url,
                           .connect_timeout_ms = 3000,
                           .timeout_ms = timeout_ms,
                           .max_response = 256 * 1024,
                           .tls = p->ca_file ? &tls : NULL,
                           .bearer = p->bearer};
  return pg_client_http_new(&o, out, d);
}

/* ---- walking a past cone --------------------------------------------- */

typedef struct frame {
  uint8_t id[PG_ID_LEN];
  uint8_t *raw; /* NULL until fetched */
  size_t len;
} frame;

typedef struct walk {
  frame *st;
  size_t n, cap;
  size_t fetched;
} walk;

static void walk_free(walk *w) {
  for (size_t i = 0; i < w->n; i++) free(w->st[i].raw);
  free(w->st);
  memset(w, 0, sizeof *w);
}

static int walk_push(walk *w, const uint8_t id[PG_ID_LEN]) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 64;
    frame *s = realloc(w->st, cap * sizeof *s);
    if (!s) return PG_ERR_NOMEM;
    w->st = s;
    w->cap = cap;
  }
  frame *f = &w->st[w->n++];
  memcpy(f->id, id, PG_ID_LEN);
  f->raw = NULL;
  f->len = 0;
  return PG_OK;
}

static bool is_zero(const uint8_t id[PG_ID_LEN]) {
  for (int i = 0; i < PG_ID_LEN; i++)
    if (id[i]) return false;
  return true;
}

/* Stored and solid here: its whole past cone is stored too. */
static bool have_solid(pg_tangle *t, const uint8_t id[PG_ID_LEN]) {
  pg_msg_meta m;
  return is_zero(id) || (pg_tangle_get_meta(t, id, &m) == PG_OK && m.solid);
}

static void short_hex(const uint8_t id[PG_ID_LEN], char out[17]) { pg_hex_encode(id, 8, out); }

/* A refusal by pg_tangle_submit / pg_tangle_check of a peer's message
 * (sid: its short id) as the peer's fault; other errors are ours. */
static int blame(int rc, const pg_diag *sd, const char *sid, outcome *o) {
  switch (rc) {
  case PG_OK:
    return PG_OK;
  case PG_ERR_POW:
    return bad(o, rc, "bad PoW: message %s...: %s", sid, sd->msg);
  case PG_ERR_CRYPTO:
    return bad(o, rc, "bad milestone signature: message %s...: %s", sid, sd->msg);
  case PG_ERR_NETWORK_ID:
    return bad(o, rc, "wrong network: message %s...: %s", sid, sd->msg);
  case PG_ERR_INVALID:
  case PG_ERR_TRUNCATED:
  case PG_ERR_TOO_LARGE:
    return bad(o, rc, "invalid message %s...: %s", sid, sd->msg);
  default:
    snprintf(o->d.msg, sizeof o->d.msg, "storing message %s...: %.200s", sid,
             sd->msg[0] ? sd->msg : pg_strerror(rc));
    return rc;
  }
}

/* Fetches message id from the peer into buf and checks it: the bytes hash
 * to id, the syntax, and with want_ms that it is milestone want_ms and
 * passes this node's entry checks (signatures, PoW) — a milestone is checked
 * before its cone is fetched. parents/np get its parents. */
static int fetch_checked(pg_tangle *t, pg_client *c, const uint8_t id[PG_ID_LEN],
                         uint32_t want_ms, pg_buf *buf, uint8_t (*parents)[PG_ID_LEN], size_t *np,
                         outcome *o) {
  char sid[17];
  short_hex(id, sid);
  int rc = pg_client_get_raw(c, id, buf, &o->d);
  if (rc) return rc;
  uint8_t h[PG_ID_LEN];
  pg_blake2b256(buf->data, buf->len, h);
  if (memcmp(h, id, PG_ID_LEN) != 0) {
    char sh[17];
    short_hex(h, sh);
    return bad(o, PG_ERR_INVALID, "id mismatch: asked for message %s..., got bytes of %s...", sid,
               sh);
  }
  pg_message m;
  pg_diag pd = {{0}};
  if ((rc = pg_message_parse(buf->data, buf->len, &m, &pd)))
    return bad(o, rc, "invalid message %s...: %s", sid, pd.msg);
  if (want_ms && (m.payload_type != PG_PAYLOAD_MILESTONE || m.u.milestone.index != want_ms))
    rc = bad(o, PG_ERR_INVALID, "message %s... given as milestone %u is not that milestone", sid,
             (unsigned)want_ms);
  if (rc == PG_OK && want_ms) rc = blame(pg_tangle_check(t, buf->data, buf->len, &pd), &pd, sid, o);
  *np = m.parents_count;
  memcpy(parents, m.parents, *np * PG_ID_LEN);
  pg_message_clear(&m);
  return rc;
}

/* Fetches frame `at` (checked as above; want_ms for the walk's root) and
 * pushes the parents we lack. */
static int fetch_frame(pg_tangle *t, pg_client *c, walk *w, size_t at, uint32_t want_ms,
                       outcome *o) {
  pg_buf buf;
  pg_buf_init(&buf, PG_MSG_MAX_LEN);
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  size_t np = 0;
  int rc = fetch_checked(t, c, w->st[at].id, want_ms, &buf, parents, &np, o);
  if (rc == PG_OK) {
    pg_buf_take(&buf, &w->st[at].raw, &w->st[at].len); /* the frame owns the bytes */
    w->fetched++;
  }
  for (size_t i = 0; rc == PG_OK && i < np; i++)
    if (!have_solid(t, parents[i])) rc = walk_push(w, parents[i]);
  pg_buf_free(&buf);
  return rc;
}

static int submit_frame(pg_tangle *t, const frame *f, outcome *o) {
  uint8_t id[PG_ID_LEN];
  pg_diag sd = {{0}};
  char sid[17];
  short_hex(f->id, sid);
  return blame(pg_tangle_submit(t, f->raw, f->len, id, NULL, &sd), &sd, sid, o);
}

/* Stores the past cone of root (parents first) from the peer; *stored
 * counts the messages submitted. */
static int fetch_cone(pg_peers *p, pg_client *c, const uint8_t root[PG_ID_LEN], uint32_t want_ms,
                      size_t max, uint64_t *stored, outcome *o) {
  walk w = {0};
  int rc = walk_push(&w, root);
  while (rc == PG_OK && w.n > 0) {
    if (stopping(p)) {
      rc = PG_ERR_CANCELLED;
      break;
    }
    size_t at = w.n - 1;
    frame *f = &w.st[at];
    if (f->raw) {
      rc = submit_frame(p->t, f, o);
      if (rc == PG_OK) (*stored)++;
      free(f->raw);
      w.n--;
      continue;
    }
    if (have_solid(p->t, f->id)) {
      w.n--;
      continue;
    }
    if (w.fetched >= max) {
      rc = PG_ERR_TOO_LARGE;
      snprintf(o->d.msg, sizeof o->d.msg, "more than %zu messages missing below one message", max);
      break;
    }
    rc = fetch_frame(p->t, c, &w, at, at == 0 ? want_ms : 0, o);
  }
  walk_free(&w);
  return rc;
}

/* ---- polling one peer -------------------------------------------------- */

static uint32_t our_confirmed(pg_tangle *t) {
  pg_tangle_status s;
  pg_tangle_get_status(t, &s);
  return s.confirmed_milestone_index;
}

static void count(pg_peers *p, peer *pe, uint64_t milestones, uint64_t messages) {
  pthread_mutex_lock(&p->mu);
  pe->milestones += milestones;
  pe->messages += messages;
  pthread_mutex_unlock(&p->mu);
}

static void progress(pg_peers *p, const peer *pe, uint32_t at, uint32_t target, uint64_t msgs) {
  uint64_t now = pg_monotonic_ms();
  if (p->progress_ms == 0) {
    p->progress_ms = now;
    p->progress_msgs = msgs;
    return;
  }
  if (now - p->progress_ms < PROGRESS_MS) return;
  double rate = (double)(msgs - p->progress_msgs) * 1000.0 / (double)(now - p->progress_ms);
  pg_log_info(LOG, "catching up from %s: milestone %u of %u (%.0f messages/s)", pe->url,
              (unsigned)at, (unsigned)target, rate);
  p->progress_ms = now;
  p->progress_msgs = msgs;
}

/* The peer's milestone at an index we confirmed must be ours; a different
 * one is fetched and checked (so a bad signature or PoW is named) and the
 * peer is refused either way. */
static int check_common(pg_peers *p, peer *pe, uint32_t k, outcome *o) {
  pg_milestone_info theirs, ours;
  int rc = pg_client_milestone(pe->c, k, &theirs, &o->d);
  if (rc) return rc;
  if ((rc = pg_tangle_milestone(p->t, k, &ours))) {
    snprintf(o->d.msg, sizeof o->d.msg, "own milestone %u: %s", (unsigned)k, pg_strerror(rc));
    return rc;
  }
  if (memcmp(theirs.message_id, ours.message_id, PG_ID_LEN) == 0) return PG_OK;
  /* checked (not stored): a bad one is refused for what is wrong with it */
  pg_buf buf;
  pg_buf_init(&buf, PG_MSG_MAX_LEN);
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  size_t np = 0;
  rc = fetch_checked(p->t, pe->c, theirs.message_id, k, &buf, parents, &np, o);
  pg_buf_free(&buf);
  if (rc) return rc;
  char a[17], b[17];
  short_hex(theirs.message_id, a);
  short_hex(ours.message_id, b);
  return bad(o, PG_ERR_INVALID, "conflicting milestone %u: the peer has %s..., this node %s...",
             (unsigned)k, a, b);
}

/* One poll: catches up to the peer's confirmed milestone. */
static int poll_peer(pg_peers *p, peer *pe, outcome *o) {
  pg_node_info info;
  int rc = pg_client_info(pe->c, &info, &o->d);
  if (rc) return rc;
  if (strcmp(info.network, p->network) != 0)
    return bad(o, PG_ERR_NETWORK_ID, "wrong network: the peer serves '%.80s', this node '%.80s'",
               info.network, p->network);
  pthread_mutex_lock(&p->mu);
  pe->confirmed = info.confirmed_milestone_index;
  pthread_mutex_unlock(&p->mu);
  uint32_t ours = our_confirmed(p->t);
  uint32_t common = ours < info.confirmed_milestone_index ? ours : info.confirmed_milestone_index;
  if (common > 0 && (rc = check_common(p, pe, common, o))) return rc;
  uint64_t msgs = 0;
  bool long_run = info.confirmed_milestone_index > ours + 10;
  p->progress_ms = 0;
  for (uint32_t i = ours + 1; i <= info.confirmed_milestone_index; i++) {
    pg_milestone_info mi;
    uint64_t n = 0;
    if ((rc = pg_client_milestone(pe->c, i, &mi, &o->d))) break;
    rc = fetch_cone(p, pe->c, mi.message_id, i, CONE_MAX, &n, o);
    count(p, pe, 0, n);
    msgs += n;
    if (rc) break;
    if (our_confirmed(p->t) < i) {
      snprintf(o->d.msg, sizeof o->d.msg,
               "milestone %u was stored with its past cone but is not confirmed", (unsigned)i);
      rc = PG_ERR_STATE;
      break;
    }
    count(p, pe, 1, 0);
    if (long_run) progress(p, pe, i, info.confirmed_milestone_index, msgs);
  }
  if (long_run && rc == PG_OK)
    pg_log_info(LOG, "caught up with %s at milestone %u (%llu messages)", pe->url,
                (unsigned)info.confirmed_milestone_index, (unsigned long long)msgs);
  return rc;
}

/* ---- peer states --------------------------------------------------------- */

static void refuse(pg_peers *p, peer *pe, const char *why) {
  pthread_mutex_lock(&p->mu);
  pe->state = PEER_REFUSED;
  pe->refusals++;
  p->refusals++;
  pe->next_try_ms = pg_monotonic_ms() + p->refuse_ms;
  snprintf(pe->last_error, sizeof pe->last_error, "%s", why);
  uint64_t n = pe->refusals;
  pthread_mutex_unlock(&p->mu);
  pg_log_warn(LOG, "refusing peer %s: %s (refusal %llu; not used for %llu s)", pe->url, why,
              (unsigned long long)n, (unsigned long long)(p->refuse_ms / 1000));
}

static void mark_down(pg_peers *p, peer *pe, const char *why) {
  pthread_mutex_lock(&p->mu);
  bool was_down = pe->state == PEER_DOWN;
  pe->state = PEER_DOWN;
  if (pe->failures < 20) pe->failures++;
  uint64_t wait = p->poll_ms;
  for (unsigned i = 1; i < pe->failures && wait < p->max_backoff_ms; i++) wait *= 2;
  if (wait > p->max_backoff_ms) wait = p->max_backoff_ms;
  pe->next_try_ms = pg_monotonic_ms() + wait;
  snprintf(pe->last_error, sizeof pe->last_error, "%s", why);
  pthread_mutex_unlock(&p->mu);
  if (!was_down)
    pg_log_warn(LOG, "peer %s is not usable: %s (retrying with backoff)", pe->url, why);
  else
    pg_log_debug(LOG, "peer %s still not usable: %s (next try in %llu ms)", pe->url, why,
                 (unsigned long long)wait);
}

static void mark_ok(pg_peers *p, peer *pe) {
  pthread_mutex_lock(&p->mu);
  if (pe->state == PEER_DOWN || pe->state == PEER_REFUSED)
    pg_log_info(LOG, "peer %s is usable again", pe->url);
  pe->state = PEER_OK;
  pe->failures = 0;
  pe->last_error[0] = '\0';
  pe->next_try_ms = 0;
  pthread_mutex_unlock(&p->mu);
}

/* The next peer due (round-robin from p->rr), or NULL; *wait_ms = until
 * the first one is due. */
static peer *next_peer(pg_peers *p, uint64_t *wait_ms) {
  uint64_t now = pg_monotonic_ms(), soonest = UINT64_MAX;
  peer *pick = NULL;
  pthread_mutex_lock(&p->mu);
  for (size_t k = 0; k < p->n && !pick; k++) {
    peer *pe = &p->peers[(p->rr + k) % p->n];
    if (pe->next_try_ms <= now) {
      pick = pe;
      p->rr = (p->rr + k + 1) % p->n;
    } else if (pe->next_try_ms - now < soonest) {
      soonest = pe->next_try_ms - now;
    }
  }
  pthread_mutex_unlock(&p->mu);
  *wait_ms = soonest == UINT64_MAX ? p->poll_ms : soonest;
  return pick;
}

static void sleep_ms(pg_peers *p, uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * 1000000ull;
  ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000ull);
  ts.tv_nsec = (long)(ns % 1000000000ull);
  pthread_mutex_lock(&p->mu);
  while (!stopping(p))
    if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT) break;
  pthread_mutex_unlock(&p->mu);
}

static void *follow_main(void *arg) {
  pg_peers *p = arg;
  while (!stopping(p)) {
    uint64_t wait = 0;
    peer *pe = next_peer(p, &wait);
    if (!pe) {
      sleep_ms(p, wait < p->poll_ms ? wait : p->poll_ms);
      continue;
    }
    outcome o = {0};
    int rc = poll_peer(p, pe, &o);
    if (rc == PG_ERR_CANCELLED || stopping(p)) break;
    if (rc == PG_OK) {
      mark_ok(p, pe);
      /* caught up with this one: the next poll goes to the next peer */
      if (our_confirmed(p->t) >= pe->confirmed) sleep_ms(p, p->poll_ms / (p->n ? p->n : 1));
    } else if (o.bad) {
      refuse(p, pe, o.d.msg);
    } else {
      mark_down(p, pe, o.d.msg[0] ? o.d.msg : pg_strerror(rc));
    }
  }
  return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

static void peers_free(pg_peers *p) {
  for (size_t i = 0; i < p->n; i++) {
    pg_client_free(p->peers[i].c);
    free(p->peers[i].url);
  }
  free(p->peers);
  free(p->network);
  free(p->ca_file);
  pg_free_secret(p->bearer);
  if (p->sync_init) {
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
  }
  free(p);
}

static int init_sync(pg_peers *p) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) return PG_ERR_NOMEM;
  int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (rc != 0) return PG_ERR_NOMEM;
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    pthread_cond_destroy(&p->cv);
    return PG_ERR_NOMEM;
  }
  p->sync_init = true;
  return PG_OK;
}

int pg_peers_start(const pg_peers_config *c, pg_tangle *t, atomic_bool *stop, pg_peers **out,
                   pg_diag *d) {
  *out = NULL;
  pg_peers *p = calloc(1, sizeof *p);
  if (!p) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  p->t = t;
  p->stopping = stop;
  p->poll_ms = c->poll_ms ? c->poll_ms : 1000;
  p->refuse_ms = c->refuse_ms ? c->refuse_ms : 3600000;
  p->max_backoff_ms = c->max_backoff_ms ? c->max_backoff_ms : 60000;
  atomic_init(&p->forward_rr, 0);
  int rc = PG_OK;
  p->network = strdup(c->network ? c->network : "");
  p->peers = calloc(c->count ? c->count : 1, sizeof *p->peers);
  if (!p->network || !p->peers || (c->ca_file && !(p->ca_file = strdup(c->ca_file))) ||
      (c->bearer && !(p->bearer = strdup(c->bearer)))) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < c->count; i++, p->n++) {
    if (!(p->peers[i].url = strdup(c->urls[i]))) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if ((rc = new_client(p, c->urls[i], CALL_TIMEOUT_MS, &p->peers[i].c, d))) {
      p->n++;
      goto fail;
    }
  }
  if ((rc = init_sync(p))) {
    rc = pg_fail(d, rc, "peers: cannot create mutex or condition variable");
    goto fail;
  }
  if (pthread_create(&p->th, NULL, follow_main, p) != 0) {
    rc = pg_fail(d, PG_ERR_NOMEM, "peers: cannot start the follower thread");
    goto fail;
  }
  p->running = true;
  for (size_t i = 0; i < p->n; i++) pg_log_info(LOG, "following %s", p->peers[i].url);
  *out = p;
  return PG_OK;
fail:
  peers_free(p);
  return rc;
}

void pg_peers_stop(pg_peers *p) {
  if (!p) return;
  if (p->running) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
  }
  uint64_t ms = 0, msgs = 0;
  for (size_t i = 0; i < p->n; i++) {
    ms += p->peers[i].milestones;
    msgs += p->peers[i].messages;
  }
  pg_log_info(LOG, "stopped: %llu milestones and %llu messages fetched, %llu refusals",
              (unsigned long long)ms, (unsigned long long)msgs, (unsigned long long)p->refusals);
  peers_free(p);
}

/* ---- forwarding and status ----------------------------------------------- */

static bool usable(pg_peers *p, size_t i, bool any_down) {
  pthread_mutex_lock(&p->mu);
  const peer *pe = &p->peers[i];
  bool ok = pe->state != PEER_REFUSED &&
            (any_down || pe->state != PEER_DOWN || pe->next_try_ms <= pg_monotonic_ms());
  pthread_mutex_unlock(&p->mu);
  return ok;
}

/* One peer: submit, then fetch what is missing of the message here. */
static int forward_one(pg_peers *p, peer *pe, const json_t *j, const uint8_t *raw, size_t len,
                       uint8_t id[PG_ID_LEN], pg_diag *d) {
  pg_client *c = NULL;
  int rc = new_client(p, pe->url, FORWARD_TIMEOUT_MS, &c, d);
  if (rc) return rc;
  rc = j ? pg_client_submit_json(c, j, id, d) : pg_client_submit_raw(c, raw, len, id, d);
  if (rc == PG_OK) {
    outcome o = {0};
    uint64_t n = 0;
    int frc = fetch_cone(p, c, id, 0, FORWARD_CONE_MAX, &n, &o);
    count(p, pe, 0, n);
    if (frc && o.bad)
      refuse(p, pe, o.d.msg);
    else if (frc)
      pg_log_debug(LOG, "forwarded message not fetched back from %s yet: %s", pe->url, o.d.msg);
  }
  pg_client_free(c);
  return rc;
}

int pg_peers_forward(pg_peers *p, const json_t *j, const uint8_t *raw, size_t len,
                     uint8_t id[PG_ID_LEN], pg_diag *d) {
  size_t start = atomic_fetch_add(&p->forward_rr, 1);
  char last[200] = "no usable peer";
  /* first the peers that are up, then (all down) the ones in backoff too */
  for (int round = 0; round < 2; round++) {
    for (size_t k = 0; k < p->n; k++) {
      size_t i = (start + k) % p->n;
      if (!usable(p, i, round == 1)) continue;
      pg_diag fd = {{0}};
      int rc = forward_one(p, &p->peers[i], j, raw, len, id, &fd);
      if (rc == PG_OK) return PG_OK;
      if (rc == PG_ERR_INVALID || rc == PG_ERR_TOO_LARGE)
        return pg_fail(d, rc, "%s", fd.msg[0] ? fd.msg : pg_strerror(rc));
      snprintf(last, sizeof last, "%.80s: %.100s", p->peers[i].url, fd.msg[0] ? fd.msg : pg_strerror(rc));
    }
  }
  return pg_fail(d, PG_ERR_UNAVAILABLE, "no peer took the message (last: %s)", last);
}

json_t *pg_peers_status_json(pg_peers *p) {
  json_t *a = json_array();
  if (!a) return NULL;
  uint64_t now = pg_monotonic_ms(), refusals;
  pthread_mutex_lock(&p->mu);
  for (size_t i = 0; i < p->n; i++) {
    const peer *pe = &p->peers[i];
    uint64_t left = pe->state == PEER_REFUSED && pe->next_try_ms > now ? pe->next_try_ms - now : 0;
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:I}", "url", pe->url, "state",
                          STATE_NAME[pe->state], "confirmedMilestoneIndex",
                          (json_int_t)pe->confirmed, "milestones", (json_int_t)pe->milestones,
                          "messages", (json_int_t)pe->messages, "failures",
                          (json_int_t)pe->failures, "refusals", (json_int_t)pe->refusals,
                          "lastError", pe->last_error, "refusedForMs", (json_int_t)left);
    if (!o || json_array_append_new(a, o) != 0) {
      json_decref(a);
      a = NULL;
      break;
    }
  }
  refusals = p->refusals;
  pthread_mutex_unlock(&p->mu);
  if (!a) return NULL;
  return json_pack("{s:o,s:I,s:I}", "peers", a, "refusals", (json_int_t)refusals,
                   "syncedMilestoneIndex", (json_int_t)our_confirmed(p->t));
}
