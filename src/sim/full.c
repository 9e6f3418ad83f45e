/* Full mode: the real entities (grid.h) on an in-process node (tangle +
 * ledger) and a virtual clock, as tests/unit/test_grid_entities.c runs them. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/strhash.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/par.h"
#include "p2pgrid/sim/sim.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/tangle/tangle.h"
#include "sim_internal.h"

#define MI 1000000ULL
#define EXTRA_ROUNDS 400

typedef struct full {
  const pg_scenario *s;
  const pg_sim_opts *o;
  pg_vclock clock;      /* the members' */
  pg_vclock node_clock; /* the node's: the round's time once its milestone is done (ms_join) */
  pg_tangle *t;
  pg_ledger *l;
  pg_client *c;
  uint8_t ms_sk[1][64];
  uint64_t milestones;
  /* a round's milestone on its own thread (ms_begin .. ms_join) */
  pthread_t ms_th;
  bool ms_running;
  int ms_rc;
  pg_diag ms_d;
  pg_gridop *grid;
  pg_registrar *to_grid;
  /* membership: an in-memory community CA and every member's key and
   * certificate (producers, then sources, then households) */
  pg_ca *ca;
  pg_tls_key **keys;
  pg_producer **prod;
  pg_registrar **to_prod;    /* per source: its producer's API, as the source */
  pg_registrar **to_grid_as; /* per producer, then household: the grid's API, as it */
  pg_source **src;
  pg_consumer **cons;
  pg_meter **smeter, **cmeter;
  /* the outboxes of sources, producers and consumers: each class's queued
   * messages are created and attached in one phase (pg_grid_flush_outboxes) */
  pg_grid_outbox **obox;
  /* the sources' and the producers' flushes' MAM caches (one leaf per
   * message, not two; a class's channels keep their lanes from round to
   * round: pg_mam_keys_counts kept) */
  pg_mam_keys *skeys, *pkeys;
  unsigned threads;    /* threads of the members' steps, household parts (pg_sim_threads) */
  pg_mam_keys **hkeys; /* per household part: its flushes' MAM cache */
  int64_t *flex; /* assets: the households' readings [household][slot] (pre-pass) */
  int64_t *pflex; /* community batteries' discharges [producer][slot] (pre-pass) */
  pg_scenario xs; /* with community batteries: s plus one source per battery */
  uint8_t (*seeds)[32]; /* grid, producers, consumers */
  uint8_t (*addr)[32];
  size_t nseeds;
  char state[1100];
  /* payout batches seen in the grid's status: id -> message id, time */
  char (*batch_msg)[65];
  uint64_t *batch_time;
  size_t nbatch;
} full;


static void derive_seed(uint64_t seed, const char *what, uint8_t out[32]) {
  uint64_t st = seed ^ pg_hash_str(what);
  for (int i = 0; i < 4; i++) {
    uint64_t v = pg_sim_splitmix64(&st);
    memcpy(out + 8 * i, &v, 8);
  }
}

static json_int_t jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int step_source(void *ctx, unsigned worker, size_t i, pg_diag *d) {
  (void)worker;
  return pg_source_step(((full *)ctx)->src[i], d);
}

static int step_producer(void *ctx, unsigned worker, size_t i, pg_diag *d) {
  (void)worker;
  return pg_producer_step(((full *)ctx)->prod[i], d);
}

/* Households part p of f->threads: read their bills, step, then create and
 * attach their messages (with part p's MAM cache: a household is always in
 * the same part). */
static int household_part(void *ctx, unsigned worker, size_t p, pg_diag *d) {
  (void)worker;
  full *f = ctx;
  const pg_scenario *s = f->s;
  size_t nh = s->n_households, a = nh * p / f->threads, b = nh * (p + 1) / f->threads;
  size_t first_box = s->n_sources + s->n_producers + a;
  if (a == b) return PG_OK;
  int rc = pg_consumers_read_returns(f->cons + a, b - a, d);
  for (size_t i = a; !rc && i < b; i++) rc = pg_consumer_step(f->cons[i], d);
  if (!rc) rc = pg_grid_flush_outboxes(f->obox + first_box, b - a, f->hkeys[p], d);
  return rc;
}

static int milestone(full *f, pg_diag *d) {
  uint32_t idx = 0;
  pg_diag d2 = {{0}};
  int rc = pg_tangle_issue_milestone(f->t, (const uint8_t(*)[64])f->ms_sk, 1, NULL, &idx, &d2);
  if (rc == PG_ERR_UNAVAILABLE) return PG_OK;
  if (rc) return pg_fail(d, rc, "milestone: %s", d2.msg);
  f->milestones++;
  return PG_OK;
}

static void *ms_main(void *p) {
  full *f = p;
  f->ms_rc = milestone(f, &f->ms_d);
  return NULL;
}

/* The round's milestone. With more than one thread it is issued on a thread
 * of its own while the next round's sources step and create their messages
 * (the members' clock already at the next round's time): nothing else
 * writes to the node until ms_join, and the node's clock stays at this
 * round's time until then, so the milestone finds what it would find
 * issued in line (test_sim_threads: 1 and 3 threads give the same
 * results, messages and node times). */
static int ms_begin(full *f, pg_diag *d) {
  if (f->threads < 2 || pthread_create(&f->ms_th, NULL, ms_main, f) != 0) return milestone(f, d);
  f->ms_running = true;
  return PG_OK;
}

/* Waits for the milestone of ms_begin (if one runs), then moves the node's
 * clock to the members' time; its error, if any. Before anything but the
 * next round's sources reads from or writes to the node. */
static int ms_join(full *f, pg_diag *d) {
  int rc = PG_OK;
  if (f->ms_running) {
    pthread_join(f->ms_th, NULL);
    f->ms_running = false;
    if ((rc = f->ms_rc) && d) *d = f->ms_d;
  }
  uint64_t now = pg_clock_now(&f->clock.base);
  if (now > pg_clock_now(&f->node_clock.base)) pg_vclock_set(&f->node_clock, now);
  return rc;
}

static int ms_join_cb(void *ctx, pg_diag *d) { return ms_join(ctx, d); }

/* One round: sources, producers, consumers, grid, each class in two
 * phases: every member steps (reads what is new, queues its messages), then
 * the class's messages are created and attached together. The grid reads
 * every member channel in one phase (pg_registry_read) and creates every
 * bill in one (its flush). The sources and the producers step on
 * f->threads threads, the households go in f->threads parts, one thread
 * each: a member has its own database, wallet and meter, the node is
 * thread-safe (attaches and submits from two threads queue for its lock),
 * the grid and each producer answer registrations under their own locks,
 * and nothing a member does in a round depends on another's of its class,
 * so the results do not depend on the order (test_sim_threads). */
static int step_all(full *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t ns = s->n_sources, np = s->n_producers;
  int rc;
  if ((rc = pg_par_for(ns, f->threads, step_source, f, d))) return rc;
  /* the previous round's milestone done (ms_begin) before the sources'
   * attach: the flush calls ms_join between creating and attaching, also
   * when it has nothing to attach */
  if ((rc = pg_grid_flush_outboxes_then(f->obox, ns, f->skeys, ms_join_cb, f, d))) return rc;
  if (np && (rc = pg_producers_read_sources(f->prod, np, d))) return rc;
  if ((rc = pg_par_for(np, f->threads, step_producer, f, d))) return rc;
  if ((rc = pg_grid_flush_outboxes(f->obox + ns, np, f->pkeys, d))) return rc;
  if ((rc = pg_par_for(f->threads, f->threads, household_part, f, d))) return rc;
  return pg_gridop_step(f->grid, d);
}

static int round_at(full *f, uint64_t now, pg_diag *d) {
  if (now > pg_clock_now(&f->clock.base)) pg_vclock_set(&f->clock, now); /* never back */
  int rc = step_all(f, d);
  if (!rc) rc = ms_begin(f, d);
  return rc;
}

static int settled(full *f, uint64_t k, bool *yes, pg_diag *d) {
  json_t *a = NULL;
  int rc = pg_gridop_slots(f->grid, k, k, &a, d);
  if (rc) return rc;
  *yes = json_array_size(a) > 0;
  json_decref(a);
  return PG_OK;
}

static void note_batches(full *f) {
  json_t *st = NULL;
  pg_diag d = {{0}};
  if (pg_gridop_status(f->grid, &st, &d) != PG_OK) return;
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(st, "payouts"), i, b) {
    json_int_t id = jint(b, "id");
    if (id < 0 || id > 10000000) continue;
    if ((size_t)id >= f->nbatch) {
      size_t n = (size_t)id * 2 + 16;
      char(*nm)[65] = realloc(f->batch_msg, n * sizeof *nm);
      if (!nm) break;
      f->batch_msg = nm;
      uint64_t *nt = realloc(f->batch_time, n * sizeof *nt);
      if (!nt) break;
      f->batch_time = nt;
      memset(f->batch_msg + f->nbatch, 0, (n - f->nbatch) * sizeof *nm);
      memset(f->batch_time + f->nbatch, 0, (n - f->nbatch) * sizeof *nt);
      f->nbatch = n;
    }
    const char *m = json_string_value(json_object_get(b, "messageId"));
    snprintf(f->batch_msg[id], 65, "%s", m ? m : "");
    f->batch_time[id] = (uint64_t)jint(b, "time");
  }
  json_decref(st);
}

/* Everything billed is paid and every payout due is confirmed. */
static int quiet(full *f, bool *q, pg_diag *d) {
  json_t *st = NULL, *pr = NULL;
  int rc = pg_gridop_status(f->grid, &st, d);
  if (!rc) rc = pg_gridop_producers(f->grid, &pr, d);
  if (rc) {
    json_decref(st);
    return rc;
  }
  json_t *t = json_object_get(st, "totals");
  *q = jint(t, "outstanding") == 0 && jint(st, "unsentMessages") == 0;
  int64_t thr = f->s->payout_min > MI ? (int64_t)f->s->payout_min : (int64_t)MI;
  size_t i;
  json_t *p;
  json_array_foreach(pr, i, p) {
    if (jint(p, "paid") + jint(p, "due") != jint(p, "earned") || jint(p, "due") >= thr) *q = false;
  }
  for (size_t k = 0; *q && k < f->s->n_households; k++) {
    json_t *c = NULL;
    if ((rc = pg_consumer_status(f->cons[k], &c, d))) break;
    *q = jint(c, "outstanding") == 0 && jint(c, "unsentMessages") == 0;
    json_decref(c);
  }
  json_decref(st);
  json_decref(pr);
  return rc;
}

/* One member of the simulated community: a key and a certificate from the
 * in-memory CA, as `p2pgrid ca issue` makes them. */
static int issue_member(full *f, const char *id, pg_role role, const char *parent,
                        pg_tls_key **out, pg_diag *d) {
  /* a generous capacity (1 GW): scenarios model what members produce and use */
  pg_cert_opts co = {.id = id, .role = role, .parent = parent, .max_w = 1000000000};
  char *key = NULL, *cert = NULL;
  int rc = pg_ca_issue(f->ca, &co, &key, &cert, d);
  if (!rc) rc = pg_tls_key_from_pem(key, cert, out, d);
  pg_tls_free_secret(key);
  free(cert);
  return rc;
}

/* Every member gets its certificate; the grid enrols producers and
 * households as an operator would (`p2pgrid grid enrol`). */
static int enrol_members(full *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers, ns = s->n_sources, nh = s->n_households;
  int rc = pg_ca_new_ephemeral("p2pgrid simulation", &f->ca, d);
  for (size_t i = 0; !rc && i < np; i++)
    rc = issue_member(f, s->producers[i].id, PG_ROLE_PRODUCER, NULL, &f->keys[i], d);
  for (size_t i = 0; !rc && i < ns; i++)
    rc = issue_member(f, s->sources[i].id, PG_ROLE_SOURCE, s->producers[s->sources[i].producer].id,
                      &f->keys[np + i], d);
  for (size_t i = 0; !rc && i < nh; i++)
    rc = issue_member(f, s->households[i].id, PG_ROLE_CONSUMER, NULL, &f->keys[np + ns + i], d);
  for (size_t i = 0; !rc && i < np + nh; i++) {
    size_t k = i < np ? i : ns + i;
    size_t n = 0;
    const uint8_t *der = pg_tls_key_cert_der(f->keys[k], &n);
    rc = pg_gridop_enrol(f->grid, NULL, der, n, NULL, NULL, d);
  }
  return rc;
}

/* The households' consumers (eo: the entities' common options). With assets
 * their meters read the pre-pass's per-slot readings. */
static int open_consumers(full *f, pg_entity_opts eo, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers, ns = s->n_sources;
  char dir[1200];
  int rc;
  for (size_t i = 0; i < s->n_households; i++) {
    snprintf(dir, sizeof dir, "%s/%s", f->state, s->households[i].id);
    eo.id = s->households[i].id, eo.name = s->households[i].name, eo.data_dir = dir;
    eo.key = f->keys[np + ns + i];
    if ((rc = pg_registrar_local_new(pg_gridop_handle, f->grid, eo.key, &f->to_grid_as[np + i], d)))
      return rc;
    eo.upstream = f->to_grid_as[np + i];
    pg_consumer_opts co = {.bid_per_kwh = s->households[i].bid, .has_bid = s->households[i].has_bid,
                           .seed = f->seeds[1 + np + i], .seed_len = 32};
    if (f->flex)
      rc = pg_sim_series_meter_new(f->flex + i * s->slots, s->slots, s->start_ms, s->slot_ms,
                                   &f->cmeter[i], d);
    else rc = pg_sim_household_meter(s, i, &f->cmeter[i], d);
    if (rc) return rc;
    if ((rc = pg_consumer_open(&eo, &co, f->cmeter[i], &f->cons[i], d))) return rc;
    f->obox[np + ns + i] = pg_consumer_outbox(f->cons[i]);
  }
  return PG_OK;
}

static int cmp_source(const void *a, const void *b) {
  return strcmp(((const pg_sim_source *)a)->id, ((const pg_sim_source *)b)->id);
}

/* Full mode runs a community battery as its own members: the consumer ID
 * (its charge, a household of the scenario) and the producer ID-out, which
 * gets one source ID-out-src reading the pre-pass's discharges. f->s
 * becomes a copy of the scenario with those sources (sorted by id). */
static int battery_sources(full *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t n = s->n_sources;
  pg_sim_source *v = calloc(n + s->n_producers + 1, sizeof *v);
  if (!v) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (n) memcpy(v, s->sources, n * sizeof *v);
  for (size_t j = 0; j < s->n_producers; j++) {
    if (!s->producers[j].battery) continue;
    pg_sim_source *q = &v[n++];
    snprintf(q->id, sizeof q->id, "%.60s-src", s->producers[j].id);
    q->producer = j;
    q->kind = PG_SIM_BATTERY;
    snprintf(q->kind_name, sizeof q->kind_name, "battery");
  }
  qsort(v, n, sizeof *v, cmp_source);
  f->xs = *s;
  f->xs.sources = v, f->xs.n_sources = n;
  f->s = &f->xs;
  return PG_OK;
}

/* The state directory (emptied), the per-member arrays and every wallet's
 * seed and address (the grid, producers, households). */
static int alloc_world(full *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  int rc;
  size_t np = s->n_producers, nh = s->n_households, ns = s->n_sources;
  if (f->o->state_dir) snprintf(f->state, sizeof f->state, "%s", f->o->state_dir);
  else snprintf(f->state, sizeof f->state, "%s/state", f->o->out_dir);
  pg_remove_tree(f->state);
  if ((rc = pg_mkdir_p(f->state, 0755, d))) return rc;
  f->nseeds = 1 + np + nh;
  f->seeds = calloc(f->nseeds, sizeof *f->seeds);
  f->addr = calloc(f->nseeds, sizeof *f->addr);
  f->prod = calloc(np + 1, sizeof *f->prod);
  f->to_prod = calloc(ns + 1, sizeof *f->to_prod);
  f->to_grid_as = calloc(np + nh + 1, sizeof *f->to_grid_as);
  f->keys = calloc(np + ns + nh + 1, sizeof *f->keys);
  f->src = calloc(ns + 1, sizeof *f->src);
  f->cons = calloc(nh + 1, sizeof *f->cons);
  f->smeter = calloc(ns + 1, sizeof *f->smeter);
  f->cmeter = calloc(nh + 1, sizeof *f->cmeter);
  f->obox = calloc(ns + np + nh + 1, sizeof *f->obox);
  if (pg_mam_keys_new(&f->skeys) != PG_OK) f->skeys = NULL; /* flushes work without */
  if (pg_mam_keys_new(&f->pkeys) != PG_OK) f->pkeys = NULL;
  f->hkeys = calloc(f->threads, sizeof *f->hkeys);
  for (size_t p = 0; f->hkeys && p < f->threads; p++)
    if (pg_mam_keys_new(&f->hkeys[p]) != PG_OK) f->hkeys[p] = NULL;
  if (!f->hkeys || !f->seeds || !f->addr || !f->prod || !f->to_prod || !f->src || !f->cons || !f->smeter ||
      !f->cmeter || !f->to_grid_as || !f->keys || !f->obox)
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  derive_seed(s->seed, "grid", f->seeds[0]);
  for (size_t i = 0; i < np; i++) derive_seed(s->seed, s->producers[i].id, f->seeds[1 + i]);
  for (size_t i = 0; i < nh; i++) derive_seed(s->seed, s->households[i].id, f->seeds[1 + np + i]);
  for (size_t i = 0; i < f->nseeds; i++)
    if ((rc = pg_iota_keypair(f->seeds[i], 32, 0, 0, 0, NULL, NULL, f->addr[i])))
      return pg_fail(d, rc, "key derivation failed");
  return PG_OK;
}

/* The genesis: the grid's float and each household's money for the run
 * (g: 1 + households outputs). */
static void genesis_outputs(full *f, pg_genesis_output *g) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers, nh = s->n_households;
  double days = (double)s->duration_ms / 86400000.0;
  uint64_t price = (s->import_price > s->fixed_buy_price ? s->import_price : s->fixed_buy_price) +
                   s->fee_per_kwh;
  g[0].amount = 100000000ULL * MI; /* 10^14: pays producers ahead of the consumers' payments */
  memcpy(g[0].address, f->addr[0], 32);
  for (size_t i = 0; i < nh; i++) {
    double kwh = s->households[i].annual_units * 4.0 * days / 365.0 + 1.0;
    double amt = kwh * (double)price * (1.0 + (double)s->fee_bp / 10000.0) + 100.0 * MI;
    /* the monthly items of every month the run touches (a peak of at most 30 kW) */
    double months = days / 28.0 + 2.0;
    amt = amt * (1.0 + s->tariff.vat_bp / 10000.0) +
          months * ((double)s->tariff.membership_fee + 30.0 * (double)s->tariff.capacity_price) *
              (1.0 + s->tariff.vat_bp / 10000.0);
    g[1 + i].amount = (uint64_t)amt;
    memcpy(g[1 + i].address, f->addr[1 + np + i], 32);
  }
}

/* The in-process node: ledger (from the genesis), Tangle, client and the
 * first milestone. */
static int open_node(full *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t nh = s->n_households;
  pg_genesis_output *g = calloc(1 + nh, sizeof *g);
  if (!g) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  genesis_outputs(f, g);
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = 1 + nh, .genesis = g};
  /* the coordinator key, from the scenario seed */
  uint8_t kseed[32], pk[32];
  derive_seed(s->seed, "coordinator", kseed);
  pg_ed25519_from_seed(kseed, pk, f->ms_sk[0]);
  char tdir[1200];
  snprintf(tdir, sizeof tdir, "%s/node", f->state);
  pg_tangle_config tc;
  pg_tangle_config_defaults(&tc);
  tc.data_dir = tdir;
  tc.clock = &f->node_clock.base;
  tc.pow_threads = 1;
  tc.ms_keys_count = 1;
  tc.ms_threshold = 1;
  tc.process = true; /* the run's own: no file lock per transaction */
  memcpy(tc.ms_public_keys[0], pk, 32);
  int rc = pg_ledger_open_tangle(&lc, &tc, &f->l, &f->t, d);
  if (!rc) rc = pg_sim_write_node_ini(tdir, pk, g, 1 + nh, tc.min_pow_score, d);
  free(g);
  if (rc) return rc;
  if ((rc = pg_client_local_new(f->t, f->l, &f->c, d))) return rc;
  return milestone(f, d);
}

/* The grid operator (market, tariff, sharing of the scenario) and its
 * enrolment of every member. */
static int open_grid(full *f, pg_entity_opts eo, pg_diag *d) {
  const pg_scenario *s = f->s;
  char dir[1200];
  pg_gridop_opts go = {.market = s->market, .dust_allowance = 10 * MI, .seed = f->seeds[0],
                       .seed_len = 32, .float_max = 100000000ULL * MI /* the grid's genesis float */,
                       .has_float = true, .tariff = s->tariff};
  /* the households' keys, groups and participation factors ([sharing]) */
  pg_grid_share_member *share = calloc(s->n_households + 1, sizeof *share);
  if (!share) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < s->n_households; i++)
    share[i] = (pg_grid_share_member){s->households[i].id, s->households[i].key_ppm,
                                      s->households[i].group, s->households[i].participation};
  go.share = share;
  go.n_share = s->n_households;
  snprintf(dir, sizeof dir, "%s/grid", f->state);
  eo.id = "grid", eo.name = "Grid operator", eo.data_dir = dir;
  int rc = pg_gridop_open(&eo, &go, &f->grid, d); /* copies share */
  free(share);
  if (rc) return rc;
  if ((rc = pg_registrar_local_new(pg_gridop_handle, f->grid, NULL, &f->to_grid, d))) return rc;
  return enrol_members(f, d);
}

/* The producers, each registering at the grid. */
static int open_producers(full *f, pg_entity_opts eo, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t ns = s->n_sources;
  char dir[1200];
  int rc;
  for (size_t i = 0; i < s->n_producers; i++) {
    snprintf(dir, sizeof dir, "%s/%s", f->state, s->producers[i].id);
    eo.id = s->producers[i].id, eo.name = s->producers[i].name, eo.data_dir = dir;
    eo.key = f->keys[i];
    if ((rc = pg_registrar_local_new(pg_gridop_handle, f->grid, eo.key, &f->to_grid_as[i], d)))
      return rc;
    eo.upstream = f->to_grid_as[i];
    pg_producer_opts po = {.ask_per_kwh = s->producers[i].ask, .has_ask = s->producers[i].has_ask,
                           .seed = f->seeds[1 + i], .seed_len = 32};
    if ((rc = pg_producer_open(&eo, &po, &f->prod[i], d))) return rc;
    f->obox[ns + i] = pg_producer_outbox(f->prod[i]);
  }
  return PG_OK;
}

/* The sources, each registering at its producer; a community battery's
 * source reads the pre-pass's discharges. */
static int open_sources(full *f, pg_entity_opts eo, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers;
  char dir[1200];
  int rc;
  for (size_t i = 0; i < s->n_sources; i++) {
    snprintf(dir, sizeof dir, "%s/%s", f->state, s->sources[i].id);
    eo.id = s->sources[i].id, eo.name = NULL, eo.data_dir = dir;
    eo.key = f->keys[np + i];
    if ((rc = pg_registrar_local_new(pg_producer_handle, f->prod[s->sources[i].producer], eo.key,
                                     &f->to_prod[i], d)))
      return rc;
    eo.upstream = f->to_prod[i];
    if (s->sources[i].kind == PG_SIM_BATTERY) /* a community battery's discharge */
      rc = pg_sim_series_meter_new(f->pflex + s->sources[i].producer * s->slots, s->slots,
                                   s->start_ms, s->slot_ms, &f->smeter[i], d);
    else rc = pg_sim_source_meter(s, i, &f->smeter[i], d);
    if (rc) return rc;
    if ((rc = pg_source_open(&eo, f->smeter[i], &f->src[i], d))) return rc;
    f->obox[i] = pg_source_outbox(f->src[i]);
  }
  return PG_OK;
}

static int open_world(full *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  int rc = alloc_world(f, d);
  if (!rc) rc = open_node(f, d);
  if (rc) return rc;
  pg_entity_opts eo = {.client = f->c, .clock = &f->clock.base, .slot_ms = s->slot_ms,
                       .security = 1, .retry_ms = 1000, .money = s->money, .tz = s->tz,
                       .resource = s->resource,
                       .no_sync = true /* a crash loses the run, never a member's money */,
                       .process = true /* the run's own: no file lock per transaction */};
  if ((rc = open_grid(f, eo, d))) return rc;
  eo.defer_flush = true; /* the members' messages go out a class at a time (step_all) */
  if (!rc) rc = open_producers(f, eo, d);
  /* a source's or household's database is its one connection's: no file
   * locks per transaction (the producers' and grid's registries read
   * through connections of their own) */
  eo.sole = true;
  if (!rc) rc = open_sources(f, eo, d);
  if (!rc) rc = open_consumers(f, eo, d);
  return rc;
}

static void close_world(full *f) {
  const pg_scenario *s = f->s;
  (void)ms_join(f, NULL);
  for (size_t i = 0; f->src && i < s->n_sources; i++) pg_source_close(f->src[i]);
  for (size_t i = 0; f->cons && i < s->n_households; i++) pg_consumer_close(f->cons[i]);
  for (size_t i = 0; f->prod && i < s->n_producers; i++) pg_producer_close(f->prod[i]);
  for (size_t i = 0; f->to_prod && i < s->n_sources; i++) pg_registrar_free(f->to_prod[i]);
  size_t nmembers = s->n_producers + s->n_sources + s->n_households;
  for (size_t i = 0; f->to_grid_as && i < s->n_producers + s->n_households; i++)
    pg_registrar_free(f->to_grid_as[i]);
  pg_gridop_close(f->grid);
  pg_registrar_free(f->to_grid);
  for (size_t i = 0; f->keys && i < nmembers; i++) pg_tls_key_free(f->keys[i]);
  free(f->keys), free(f->to_grid_as);
  pg_ca_close(f->ca);
  for (size_t i = 0; f->smeter && i < s->n_sources; i++) pg_meter_free(f->smeter[i]);
  for (size_t i = 0; f->cmeter && i < s->n_households; i++) pg_meter_free(f->cmeter[i]);
  pg_client_free(f->c);
  pg_ledger_free(f->l);
  pg_tangle_close(f->t);
  free(f->obox);
  pg_mam_keys_free(f->skeys);
  pg_mam_keys_free(f->pkeys);
  for (size_t p = 0; f->hkeys && p < f->threads; p++) pg_mam_keys_free(f->hkeys[p]);
  free(f->hkeys);
  free(f->src), free(f->cons), free(f->prod), free(f->to_prod), free(f->smeter), free(f->cmeter);
  free(f->seeds), free(f->addr), free(f->batch_msg), free(f->batch_time);
  free(f->flex), free(f->pflex);
  if (f->s == &f->xs) free(f->xs.sources);
}

static void balances(full *f, pg_sim_out *out, uint64_t slot) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers;
  for (size_t i = 0; i < f->nseeds; i++) {
    uint64_t b = 0;
    bool da = false;
    if (pg_ledger_balance(f->l, f->addr[i], &b, &da) != PG_OK) continue;
    const char *id = i == 0 ? "grid" : i <= np ? s->producers[i - 1].id : s->households[i - 1 - np].id;
    pg_sim_out_balance(out, slot, id, (int64_t)b);
  }
}

/* one entity's slot rows, from..to (the API gives at most 10000 at a time) */
static int entity_rows(full *f, bool producer, const char *id, uint64_t from, uint64_t to,
                       json_t **out, pg_diag *d) {
  json_t *all = json_array();
  for (uint64_t a = from; a <= to; a += 10000) {
    uint64_t b = a + 9999 < to ? a + 9999 : to;
    json_t *part = NULL;
    int rc = producer ? pg_gridop_producer_slots(f->grid, id, a, b, &part, d)
                      : pg_gridop_consumer_slots(f->grid, id, a, b, &part, d);
    if (rc) {
      json_decref(all);
      return rc;
    }
    json_array_extend(all, part);
    json_decref(part);
  }
  *out = all;
  return PG_OK;
}

/* A consumer's month bills (tariff.h), paid like any bill: one transfer each,
 * in transfers.csv under the last slot of the month billed (reference
 * "month"), so an invoice of that month lists it. */
static int collect_month_bills(full *f, pg_sim_result *r, size_t party, pg_sim_out *out,
                               pg_diag *d) {
  const pg_scenario *s = f->s;
  pg_sim_party *p = &r->parties[party];
  json_t *rows = NULL;
  uint64_t k0 = s->start_ms / s->slot_ms;
  int rc = pg_gridop_month_bills(f->grid, p->id, k0, k0 + s->slots + 1, &rows, d);
  if (rc) return rc;
  size_t j;
  json_t *row;
  json_array_foreach(rows, j, row) {
    int64_t paid = jint(row, "paid");
    uint64_t k = (uint64_t)jint(row, "slot");
    r->outstanding += jint(row, "owed") - paid;
    if (paid <= 0 || k == 0) continue;
    const char *mid = json_string_value(json_object_get(row, "paymentMessageId"));
    if (out) pg_sim_out_transfer(out, k - 1, k * s->slot_ms, p->id, "grid", paid, "month", mid);
    r->transfers++;
  }
  json_decref(rows);
  return PG_OK;
}

/* What collect reads from the grid: each producer's and household's slot
 * rows and the grid's slots. */
typedef struct books {
  json_t **prow, **crow, *gslots;
} books;

static void books_free(books *k, const pg_scenario *s) {
  for (size_t i = 0; k->prow && i < s->n_producers; i++) json_decref(k->prow[i]);
  for (size_t i = 0; k->crow && i < s->n_households; i++) json_decref(k->crow[i]);
  free(k->prow);
  free(k->crow);
  json_decref(k->gslots);
}

static int read_books(full *f, books *k, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers, nh = s->n_households, n = s->slots;
  uint64_t k0 = s->start_ms / s->slot_ms, k1 = k0 + n - 1;
  k->prow = calloc(np + 1, sizeof *k->prow), k->crow = calloc(nh + 1, sizeof *k->crow);
  k->gslots = json_array();
  if (!k->prow || !k->crow || !k->gslots) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < np; i++) rc = entity_rows(f, true, s->producers[i].id, k0, k1, &k->prow[i], d);
  for (size_t i = 0; !rc && i < nh; i++) rc = entity_rows(f, false, s->households[i].id, k0, k1, &k->crow[i], d);
  for (uint64_t x = k0; !rc && x <= k1; x += 10000) {
    json_t *part = NULL;
    rc = pg_gridop_slots(f->grid, x, x + 9999 < k1 ? x + 9999 : k1, &part, d);
    if (!rc) json_array_extend(k->gslots, part);
    json_decref(part);
  }
  if (!rc && json_array_size(k->gslots) != n)
    rc = pg_fail(d, PG_ERR_STATE, "the grid settled %zu of %zu slots", json_array_size(k->gslots), n);
  return rc;
}

/* Slot idx (k) of the books into a: each producer's output and each
 * household's usage (scaled by its participation, as the grid does). */
static int load_slot(full *f, const books *k, pg_sim_acc *a, size_t idx, uint64_t slot,
                     pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers;
  for (size_t j = 0; j < np; j++) {
    json_t *row = json_array_get(k->prow[j], idx);
    if (!row || (uint64_t)jint(row, "slot") != slot)
      return pg_fail(d, PG_ERR_STATE, "slot %zu: no reading of producer %s", idx, s->producers[j].id);
    a->mp[j].output_wh = jint(row, "outputWh");
  }
  for (size_t i = 0; i < s->n_households; i++) {
    json_t *row = json_array_get(k->crow[i], idx);
    if (!row || (uint64_t)jint(row, "slot") != slot)
      return pg_fail(d, PG_ERR_STATE, "slot %zu: no reading of household %s", idx, s->households[i].id);
    a->mc[i].usage_wh = jint(row, "usageWh");
    uint8_t pct = s->households[i].participation; /* as the grid scales it */
    int64_t part = a->mc[i].usage_wh;
    int rc = pct < 100 ? pg_market_participation_split(part, &pct, 1, &part, d) : PG_OK;
    if (rc) return rc;
    a->r->parties[np + i].outside_wh += a->mc[i].usage_wh - part;
    a->mc[i].usage_wh = part;
  }
  return PG_OK;
}

/* Every slot re-settled from its readings and compared with the grid's books. */
static int resettle(full *f, const books *k, pg_sim_acc *a, pg_diag *d) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers, nh = s->n_households;
  uint64_t k0 = s->start_ms / s->slot_ms;
  for (size_t idx = 0; idx < s->slots; idx++) {
    uint64_t slot = k0 + idx;
    json_t *gs = json_array_get(k->gslots, idx);
    pg_market_result res;
    int rc = load_slot(f, k, a, idx, slot, d);
    if (!rc) rc = pg_sim_acc_settle(a, idx, &res, d);
    if (rc) return rc;
    bool same = res.consumer_payments == jint(gs, "billed") &&
                res.producer_revenues == jint(gs, "producerRevenues") &&
                res.fees == jint(gs, "fees") && res.grid_income == jint(gs, "gridIncome") &&
                res.supply_wh == jint(gs, "supplyWh") && res.demand_wh == jint(gs, "demandWh");
    for (size_t j = 0; same && j < np; j++)
      same = res.producers[j].total == jint(json_array_get(k->prow[j], idx), "amount");
    for (size_t i = 0; same && i < nh; i++)
      same = res.consumers[i].total == jint(json_array_get(k->crow[i], idx), "billed");
    if (!same)
      return pg_fail(d, PG_ERR_STATE, "slot %llu: the grid's books differ from the settlement of its readings",
                     (unsigned long long)slot);
  }
  return PG_OK;
}

/* The households' payments actually made (transfers.csv). */
static void collect_payments(full *f, const books *k, pg_sim_result *r, pg_sim_out *out) {
  const pg_scenario *s = f->s;
  size_t np = s->n_producers;
  for (size_t i = 0; i < s->n_households; i++) {
    pg_sim_party *p = &r->parties[np + i];
    size_t j;
    json_t *row;
    json_array_foreach(k->crow[i], j, row) {
      int64_t paid = jint(row, "paid");
      p->paid += paid;
      r->paid += paid;
      r->outstanding += jint(row, "outstanding");
      if (paid > 0) {
        const char *mid = json_string_value(json_object_get(row, "paymentMessageId"));
        uint64_t slot = (uint64_t)jint(row, "slot");
        if (out) pg_sim_out_transfer(out, slot, (slot + 1) * s->slot_ms, p->id, "grid", paid, "", mid);
        r->transfers++;
      }
    }
  }
}

/* The producers' payouts: in a batch (its message and time), else due. */
static void collect_payouts(full *f, const books *k, pg_sim_result *r, pg_sim_out *out) {
  const pg_scenario *s = f->s;
  for (size_t jp = 0; jp < s->n_producers; jp++) {
    pg_sim_party *p = &r->parties[jp];
    size_t j;
    json_t *row;
    json_array_foreach(k->prow[jp], j, row) {
      int64_t amt = jint(row, "amount");
      json_t *bid = json_object_get(row, "batchId");
      if (amt <= 0) continue;
      if (!json_is_integer(bid)) {
        r->payouts_due += amt;
        continue;
      }
      p->paid += amt;
      json_int_t b = json_integer_value(bid);
      const char *mid = b >= 0 && (size_t)b < f->nbatch ? f->batch_msg[b] : "";
      uint64_t t = b >= 0 && (size_t)b < f->nbatch && f->batch_time[b] ? f->batch_time[b]
                                                                         : ((uint64_t)jint(row, "slot") + 1) * s->slot_ms;
      char ref[32];
      snprintf(ref, sizeof ref, "batch-%lld", (long long)b);
      if (out) pg_sim_out_transfer(out, (uint64_t)jint(row, "slot"), t, "grid", p->id, amt, ref, mid);
    }
  }
}

/* Re-settles every slot from the readings the grid booked (parties in id
 * order, as the grid) and checks that the grid's books agree; then what was
 * paid. */
static int collect(full *f, pg_sim_result *r, pg_sim_out *out, pg_diag *d) {
  int jrc = ms_join(f, d);
  if (jrc) return jrc;
  const pg_scenario *s = f->s;
  size_t np = s->n_producers, nh = s->n_households;
  books k = {0};
  pg_sim_acc a;
  bool acc = false;
  int rc = read_books(f, &k, d);
  if (!rc && !(rc = pg_sim_acc_init(&a, s, r, d))) {
    acc = true;
    a.out = out;
    rc = resettle(f, &k, &a, d);
  }
  if (rc) goto out;
  pg_sim_acc_finish(&a);
  collect_payments(f, &k, r, out);
  for (size_t i = 0; !rc && i < nh; i++) rc = collect_month_bills(f, r, np + i, out, d);
  if (rc) goto out;
  collect_payouts(f, &k, r, out);
  /* one transfer per batch */
  json_t *st = NULL;
  if ((rc = pg_gridop_status(f->grid, &st, d))) goto out;
  r->transfers += (uint64_t)jint(json_object_get(st, "totals"), "payoutBatches");
  json_decref(st);
out:
  if (acc) pg_sim_acc_free(&a);
  books_free(&k, s);
  return rc;
}

int pg_sim_run_full(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *r,
                    pg_sim_out *out, pg_diag *d) {
  full f;
  memset(&f, 0, sizeof f);
  f.s = s, f.o = o;
  f.threads = (unsigned)pg_sim_threads(o, s->n_households);
  uint64_t slot_ms = s->slot_ms, k0 = s->start_ms / slot_ms;
  size_t ticks = o->ticks_per_slot ? o->ticks_per_slot : s->ticks ? s->ticks : 2;
  /* entities open one slot early (their first report is the first whole slot) */
  pg_vclock_init(&f.clock, s->start_ms - slot_ms);
  pg_vclock_init(&f.node_clock, s->start_ms - slot_ms);
  uint64_t t0 = pg_monotonic_ms();
  /* assets: a pre-pass steps them as market-only does; the consumers' meters
   * read its per-slot readings, a community battery's producer a source
   * reading its discharges */
  pg_sim_flex_tot fsum;
  bool assets = pg_scenario_has_assets(s);
  int rc = assets ? pg_sim_flex_readings(s, out ? o->out_dir : NULL, &f.flex, &f.pflex, &fsum, d)
                  : PG_OK;
  if (!rc && s->n_batteries) rc = battery_sources(&f, d);
  if (!rc) rc = open_world(&f, d);
  if (rc) goto out;
  if (o->grid_hook) o->grid_hook(o->grid_hook_ctx, f.grid, PG_SIM_GRID_OPEN);
  if ((rc = pg_ledger_supply(f.l, &r->supply_before))) {
    rc = pg_fail(d, rc, "ledger supply");
    goto out;
  }
  size_t bal_every = pg_sim_balance_every(s);
  /* warm-up slot: registrations and channels (a few rounds, whatever ticks is) */
  for (size_t i = 1; !rc && i <= 4; i++) rc = round_at(&f, s->start_ms - slot_ms + i * slot_ms / 4, d);
  for (size_t idx = 0; !rc && idx < s->slots; idx++) {
    if (pg_sim_stopped(o)) {
      rc = pg_fail(d, PG_ERR_CANCELLED, "interrupted");
      break;
    }
    uint64_t k = k0 + idx, start = k * slot_ms;
    for (size_t i = 1; !rc && i <= ticks; i++) rc = round_at(&f, start + i * slot_ms / ticks, d);
    bool done = false;
    uint64_t now = start + slot_ms;
    for (int x = 0; !rc && x < EXTRA_ROUNDS; x++) {
      if ((rc = settled(&f, k, &done, d)) || done) break;
      /* up to 3/4 into the next slot: past the grid's grace (slot/2) */
      now += slot_ms * 3 / 4 / EXTRA_ROUNDS > 0 ? slot_ms * 3 / 4 / EXTRA_ROUNDS : 1;
      rc = round_at(&f, now, d);
    }
    if (!rc && !done)
      rc = pg_fail(d, PG_ERR_TIMEOUT, "slot %zu not settled after %d extra rounds", idx, EXTRA_ROUNDS);
    if (!rc) rc = ms_join(&f, d); /* the status and balances below read the node */
    if (rc) break;
    note_batches(&f);
    if (out && ((idx + 1) % bal_every == 0 || idx + 1 == s->slots)) balances(&f, out, k);
    if (o->progress) {
      pg_sim_progress pr = {.done = idx + 1, .total = s->slots, .sim_ms = start + slot_ms,
                            .wall_ms = pg_monotonic_ms() - t0};
      o->progress(o->progress_ctx, &pr);
    }
    if (o->pace_ms) { /* let a person watch (sim --serve) */
      uint64_t due = t0 + (idx + 1) * o->pace_ms, nowm = pg_monotonic_ms();
      if (due > nowm) {
        struct timespec ts = {.tv_sec = (time_t)((due - nowm) / 1000),
                              .tv_nsec = (long)((due - nowm) % 1000) * 1000000L};
        nanosleep(&ts, NULL);
      }
    }
  }
  if (rc) goto out;
  /* drain: bills paid, payouts confirmed, without letting another slot end */
  {
    uint64_t now = pg_clock_now(&f.clock.base);
    uint64_t end = (now / slot_ms + 1) * slot_ms - 1;
    bool q = false;
    for (int x = 0; !rc && x < 600; x++) {
      uint64_t step = 250;
      if (now + step >= end) step = end > now ? (end - now + 1) / 2 : 0;
      now += step;
      if ((rc = round_at(&f, now, d)) || (rc = ms_join(&f, d))) break;
      if (x % 4 == 3) note_batches(&f);
      if ((rc = quiet(&f, &q, d)) || q) break;
    }
    if (!rc && !q)
      pg_log_warn("sim", "not everything was paid after draining; see outstanding in the summary");
  }
  note_batches(&f);
  if (rc) goto out;
  rc = collect(&f, r, out, d);
  if (rc) goto out;
  if ((rc = pg_ledger_supply(f.l, &r->supply_after))) {
    rc = pg_fail(d, rc, "ledger supply");
    goto out;
  }
  pg_tangle_status ts;
  pg_tangle_get_status(f.t, &ts);
  r->messages = ts.messages;
  r->milestones = f.milestones;
  if (out) balances(&f, out, k0 + s->slots);
  if (assets) r->has_flex = true, pg_sim_flex_kpis_of(r, &fsum, &r->flex);
  if (o->grid_hook) o->grid_hook(o->grid_hook_ctx, f.grid, PG_SIM_GRID_END);
out:
  if (o->grid_hook && f.grid) o->grid_hook(o->grid_hook_ctx, f.grid, PG_SIM_GRID_CLOSE);
  close_world(&f);
  return rc;
}
