/* The four entities in one process on an in-process node and a virtual
 * clock (the simulator's set-up): sources -> producers -> grid <- consumers,
 * real MAM channels and real transfers with TIP-15 dust protection on.
 * Checks that after a run every reading is accounted for, every request is
 * paid once and confirmed, producers receive what settlement says, the
 * supply is unchanged; and that closing and reopening every entity
 * mid-run (a crash between steps) changes none of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/grid/record.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/client/wallet.h"
#include "tangle_test_util.h"

#define SLOT_MS 4000ULL
/* the slot the entities are opened with: SLOT_MS but in
 * test_producer_payment_poll, which never runs a slot through run() */
static uint64_t g_slot_ms = SLOT_MS;
static uint64_t g_grid_grace_ms; /* the grid's grace (0: half a slot) */
#define NSRC 4
#define NPROD 2
#define NCONS 3
#define MI 1000000ULL
#define ADDR_ROGUE "atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx"

/* a deterministic test meter: wh depends on the slot and a per-meter base */
typedef struct tmeter {
  pg_meter base;
  int64_t base_wh;
} tmeter;
static int tm_energy(pg_meter *m, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  (void)d;
  tmeter *t = (tmeter *)m;
  *wh = t->base_wh + (int64_t)((from / SLOT_MS) % 7) * 13 + (int64_t)((to - from) / SLOT_MS) - 1;
  return PG_OK;
}
static void tm_destroy(pg_meter *m) { (void)m; }
static const pg_meter_ops tm_ops = {.kind = "test", .energy = tm_energy, .destroy = tm_destroy};

/* A client that forwards to the in-process one, or fails like an unreachable
 * node while `down` is set; while `raw_down` is set only message reads fail
 * (a node killed between two requests of one scan). */
typedef struct flaky {
  pg_client base;
  pg_client *inner;
  bool down, raw_down;
  unsigned index_lookups; /* find_index calls (a channel read looks up its root's index) */
  unsigned address_lists; /* address_outputs calls (payment checks and scans) */
} flaky;
#define FWD(name, sig, args)                                                   \
  static int f_##name sig {                                                    \
    flaky *f = (flaky *)c;                                                     \
    if (f->down) return pg_fail(d, PG_ERR_HTTP, "node unreachable (test)");   \
    return pg_client_##name args;                                              \
  }
FWD(health, (pg_client *c, bool *h, pg_diag *d), (f->inner, h, d))
FWD(info, (pg_client *c, pg_node_info *o, pg_diag *d), (f->inner, o, d))
FWD(tips, (pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t m, size_t *n, pg_diag *d),
    (f->inner, ids, m, n, d))
FWD(submit_json, (pg_client *c, const json_t *j, uint8_t id[PG_ID_LEN], pg_diag *d),
    (f->inner, j, id, d))
FWD(submit_raw, (pg_client *c, const uint8_t *b, size_t l, uint8_t id[PG_ID_LEN], pg_diag *d),
    (f->inner, b, l, id, d))
static int f_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *o, pg_diag *d) {
  flaky *f = (flaky *)c;
  if (f->down || f->raw_down) return pg_fail(d, PG_ERR_HTTP, "node unreachable (test)");
  return pg_client_get_raw(f->inner, id, o, d);
}
FWD(get_json, (pg_client *c, const uint8_t id[PG_ID_LEN], json_t **o, pg_diag *d), (f->inner, id, o, d))
FWD(get_meta, (pg_client *c, const uint8_t id[PG_ID_LEN], pg_msg_meta *o, pg_diag *d),
    (f->inner, id, o, d))
FWD(children, (pg_client *c, const uint8_t id[PG_ID_LEN], uint8_t (*ids)[PG_ID_LEN], size_t m,
               size_t *n, size_t *t, pg_diag *d), (f->inner, id, ids, m, n, t, d))
static int f_find_index(pg_client *c, const uint8_t *ix, size_t il, uint8_t (*ids)[PG_ID_LEN],
                        size_t m, size_t *n, size_t *t, pg_diag *d) {
  flaky *f = (flaky *)c;
  f->index_lookups++;
  if (f->down) return pg_fail(d, PG_ERR_HTTP, "node unreachable (test)");
  return pg_client_find_index(f->inner, ix, il, ids, m, n, t, d);
}
FWD(milestone, (pg_client *c, uint32_t i, pg_milestone_info *o, pg_diag *d), (f->inner, i, o, d))
FWD(address, (pg_client *c, const uint8_t a[32], uint64_t *b, bool *da, pg_diag *d),
    (f->inner, a, b, da, d))
static int f_address_outputs(pg_client *c, const uint8_t a[32], bool sp,
                             uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t m, size_t *n, size_t *t,
                             pg_diag *d) {
  flaky *f = (flaky *)c;
  f->address_lists++;
  if (f->down) return pg_fail(d, PG_ERR_HTTP, "node unreachable (test)");
  return pg_client_address_outputs(f->inner, a, sp, ids, m, n, t, d);
}
FWD(output, (pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *o, pg_diag *d),
    (f->inner, id, o, d))
static void f_destroy(pg_client *c) { (void)c; }
#define FLAKY_OPS                                                                                  \
  .health = f_health, .info = f_info, .tips = f_tips, .submit_json = f_submit_json,                \
  .submit_raw = f_submit_raw, .get_raw = f_get_raw, .get_json = f_get_json,                        \
  .get_meta = f_get_meta, .children = f_children, .find_index = f_find_index,                      \
  .milestone = f_milestone, .address = f_address, .address_outputs = f_address_outputs,            \
  .output = f_output, .destroy = f_destroy
static const pg_client_ops flaky_ops = {.kind = "flaky", FLAKY_OPS};

/* The batching transport, as the HTTP client against a p2pgrid node:
 * lookups answered with their messages' bytes and metadata, outputs with
 * the bytes of the messages that made them (the grid's scan and matching
 * then take those instead of asking for each). */
static void f_find_many(pg_client *c, pg_client_found *v, size_t n) {
  flaky *f = (flaky *)c;
  for (size_t i = 0; i < n; i++) {
    pg_client_found *x = &v[i];
    if (x->rc) continue;
    x->ids = malloc(x->max * sizeof *x->ids);
    assert_non_null(x->ids);
    x->rc = f_find_index(c, x->index, x->index_len, x->ids, x->max, &x->count, &x->total, &x->d);
    if (x->rc || !x->count) continue;
    x->raw = calloc(x->count, sizeof *x->raw);
    x->raw_len = calloc(x->count, sizeof *x->raw_len);
    x->meta = x->want_meta ? calloc(x->count, sizeof *x->meta) : NULL;
    assert_true(x->raw && x->raw_len && (x->meta || !x->want_meta));
    for (size_t k = 0; k < x->count; k++) {
      pg_buf b;
      pg_buf_init(&b, PG_MSG_MAX_LEN);
      pg_diag d = {{0}};
      if (!f->raw_down && pg_client_get_raw(f->inner, x->ids[k], &b, &d) == PG_OK) {
        x->raw[k] = malloc(b.len);
        memcpy(x->raw[k], b.data, b.len);
        x->raw_len[k] = b.len;
      }
      pg_buf_free(&b);
      if (x->meta) assert_int_equal(pg_client_get_meta(f->inner, x->ids[k], &x->meta[k], &d), PG_OK);
    }
  }
}
static void f_outputs_many(pg_client *c, pg_client_output_got *v, size_t n, bool raw) {
  static const uint8_t zero[PG_ID_LEN];
  for (size_t i = 0; i < n; i++) {
    pg_client_output_got *g = &v[i];
    g->rc = f_output(c, g->id, &g->info, &g->d);
    if (g->rc || !raw) continue;
    pg_buf b;
    pg_buf_init(&b, PG_MSG_MAX_LEN);
    g->raw_rc = memcmp(g->info.message_id, zero, PG_ID_LEN) == 0
                    ? PG_ERR_NOT_FOUND
                    : f_get_raw(c, g->info.message_id, &b, &g->d); /* honours raw_down */
    if (g->raw_rc == PG_OK) {
      g->raw = malloc(b.len);
      memcpy(g->raw, b.data, b.len);
      g->raw_len = b.len;
    }
    pg_buf_free(&b);
  }
}
static size_t f_outputs_batch(const pg_client *c) {
  (void)c;
  return 1000;
}
static const pg_client_ops flaky_batch_ops = {.kind = "flaky-batch", FLAKY_OPS,
                                              .find_many = f_find_many,
                                              .outputs_many = f_outputs_many,
                                              .outputs_batch = f_outputs_batch};
static bool g_batching; /* entities use flaky_batch_ops */

typedef struct world {
  tt_fixture tf;
  pg_ledger *l;
  pg_client *c;
  flaky net; /* what the entities use */
  char *root;
  uint8_t seeds[1 + NPROD + NCONS][32]; /* grid, producers, consumers */
  tmeter smeter[NSRC], cmeter[NCONS];
  pg_gridop *grid;
  pg_producer *prod[NPROD];
  pg_source *src[NSRC];
  pg_consumer *cons[NCONS];
  pg_registrar *to_grid_as[NPROD + NCONS], *to_prod_as[NSRC];
  uint64_t supply0;
  /* membership: a community CA, a key per member (producers, sources,
   * consumers), kept across close/reopen */
  pg_ca *ca;
  pg_tls_key *keys[NPROD + NSRC + NCONS];
} world;

/* A key and certificate from the world's CA. */
/* consumer-0's highest price (0 = none), for test_refused_request; the
 * grid's float (0 = its default), for test_payout_float */
static uint64_t g_cons0_max_price, g_grid_float;
/* for test_month_bills: the grid's tariff, consumer-0's highest monthly
 * charge (0 = none) and the clock's start (0 = TT_START_MS) */
static pg_tariff g_tariff;
static uint64_t g_cons0_max_monthly, g_start_ms;
/* what every entity of the world trades (zero = electricity) */
static pg_resource g_resource;
/* for test_sole_databases: sources and consumers opened sole */
static bool g_sole;

/* Capacities (enrolled in the certificates): the test meters report a few
 * hundred Wh per 4 s slot, i.e. hundreds of kW. */
#define CAP_W 5000000ULL

static pg_tls_key *member_key(world *w, const char *id, pg_role role, const char *parent) {
  pg_diag d = {{0}};
  pg_cert_opts co = {.id = id, .role = role, .parent = parent, .max_w = CAP_W};
  char *key = NULL, *cert = NULL;
  pg_tls_key *k = NULL;
  if (pg_ca_issue(w->ca, &co, &key, &cert, &d) || pg_tls_key_from_pem(key, cert, &k, &d))
    fail_msg("member %s: %s", id, d.msg);
  pg_tls_free_secret(key);
  free(cert);
  return k;
}

static void enrol(world *w, const pg_tls_key *k, const char *address) {
  pg_diag d = {{0}};
  size_t n = 0;
  const uint8_t *der = pg_tls_key_cert_der(k, &n);
  if (pg_gridop_enrol(w->grid, NULL, der, n, address, NULL, &d)) fail_msg("enrol: %s", d.msg);
}

static void dir_of(world *w, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", w->root, name);
}

static void open_entities(world *w) {
  pg_diag d = {{0}};
  char dir[600], id[32];
  pg_entity_opts o = {.client = &w->net.base, .clock = &w->tf.clock.base, .slot_ms = g_slot_ms,
                      .security = 1, .retry_ms = 500, .resource = g_resource};
  pg_gridop_opts go = {.mech = PG_MARKET_PAY_AS_CLEAR, .import_price = 300 * MI,
                       .export_price = 80 * MI, .fee_per_kwh = 5 * MI, .fee_bp = 100,
                       .payout_min = 0, .dust_allowance = 10 * MI, .seed = w->seeds[0],
                       .seed_len = 32, .float_max = g_grid_float, .has_float = g_grid_float != 0,
                       .tariff = g_tariff, .grace_ms = g_grid_grace_ms};
  dir_of(w, "grid", dir, sizeof dir);
  o.id = "grid", o.data_dir = dir;
  int rc = pg_gridop_open(&o, &go, &w->grid, &d);
  if (rc) fail_msg("grid: %s", d.msg);
  for (int i = 0; i < NPROD + NCONS; i++) {
    pg_tls_key *k = i < NPROD ? w->keys[i] : w->keys[NPROD + NSRC + (i - NPROD)];
    enrol(w, k, NULL);
    assert_int_equal(pg_registrar_local_new(pg_gridop_handle, w->grid, k, &w->to_grid_as[i], &d),
                     PG_OK);
  }
  for (int i = 0; i < NPROD; i++) {
    snprintf(id, sizeof id, "producer-%d", i);
    dir_of(w, id, dir, sizeof dir);
    o.id = id, o.data_dir = dir, o.upstream = w->to_grid_as[i], o.key = w->keys[i];
    pg_producer_opts po = {.ask_per_kwh = (uint64_t)(90 + 40 * i) * MI, .has_ask = true,
                           .seed = w->seeds[1 + i], .seed_len = 32};
    rc = pg_producer_open(&o, &po, &w->prod[i], &d);
    if (rc) fail_msg("producer: %s", d.msg);
  }
  for (int i = 0; i < NSRC; i++) {
    snprintf(id, sizeof id, "source-%d", i);
    dir_of(w, id, dir, sizeof dir);
    assert_int_equal(pg_registrar_local_new(pg_producer_handle, w->prod[i / 2], w->keys[NPROD + i],
                                            &w->to_prod_as[i], &d),
                     PG_OK);
    o.id = id, o.data_dir = dir, o.upstream = w->to_prod_as[i], o.key = w->keys[NPROD + i];
    w->smeter[i] = (tmeter){.base = {.ops = &tm_ops}, .base_wh = 200 + 111 * i};
    o.sole = g_sole;
    rc = pg_source_open(&o, &w->smeter[i].base, &w->src[i], &d);
    if (rc) fail_msg("source: %s", d.msg);
  }
  for (int i = 0; i < NCONS; i++) {
    snprintf(id, sizeof id, "consumer-%d", i);
    dir_of(w, id, dir, sizeof dir);
    o.id = id, o.data_dir = dir, o.upstream = w->to_grid_as[NPROD + i];
    o.key = w->keys[NPROD + NSRC + i];
    w->cmeter[i] = (tmeter){.base = {.ops = &tm_ops}, .base_wh = 150 + 170 * i};
    pg_consumer_opts co = {.bid_per_kwh = 250 * MI, .has_bid = i != 1,
                           .seed = w->seeds[1 + NPROD + i], .seed_len = 32,
                           .max_price_per_kwh = g_cons0_max_price,
                           .has_max_price = i == 0 && g_cons0_max_price,
                           .max_monthly = i == 0 ? g_cons0_max_monthly : 0,
                           .has_max_monthly = i == 0 && g_cons0_max_monthly};
    rc = pg_consumer_open(&o, &co, &w->cmeter[i].base, &w->cons[i], &d);
    if (rc) fail_msg("consumer: %s", d.msg);
  }
}

static void close_entities(world *w) {
  for (int i = 0; i < NSRC; i++) pg_source_close(w->src[i]);
  for (int i = 0; i < NCONS; i++) pg_consumer_close(w->cons[i]);
  for (int i = 0; i < NPROD; i++) pg_producer_close(w->prod[i]);
  for (int i = 0; i < NSRC; i++) pg_registrar_free(w->to_prod_as[i]);
  for (int i = 0; i < NPROD + NCONS; i++) pg_registrar_free(w->to_grid_as[i]);
  pg_gridop_close(w->grid);
}

static world *world_new(void) {
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->tf.dir = tt_mkdtemp();
  w->root = w->tf.dir;
  pg_vclock_init(&w->tf.clock, g_start_ms ? g_start_ms : TT_START_MS);
  tt_config(&w->tf.cfg, w->tf.dir, &w->tf.clock, 1);
  pg_genesis_output g[1 + NCONS];
  for (int i = 0; i < 1 + NPROD + NCONS; i++) memset(w->seeds[i], 0x30 + i, 32);
  /* the grid gets a float to pay producers before consumers pay; consumers their money */
  assert_int_equal(pg_iota_keypair(w->seeds[0], 32, 0, 0, 0, NULL, NULL, g[0].address), PG_OK);
  g[0].amount = 1000000 * MI;
  for (int i = 0; i < NCONS; i++) {
    assert_int_equal(pg_iota_keypair(w->seeds[1 + NPROD + i], 32, 0, 0, 0, NULL, NULL, g[1 + i].address),
                     PG_OK);
    g[1 + i].amount = 1000000 * MI;
  }
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = 1 + NCONS, .genesis = g};
  assert_int_equal(pg_ledger_new(&lc, &w->l), PG_OK);
  w->tf.cfg.tx_confirm = pg_ledger_apply;
  w->tf.cfg.tx_confirm_ctx = w->l;
  w->tf.t = tt_open(&w->tf.cfg);
  pg_diag d = {{0}};
  assert_int_equal(pg_ledger_attach(w->l, pg_tangle_db(w->tf.t), pg_tangle_db_path(w->tf.t), &d), PG_OK);
  assert_int_equal(pg_client_local_new(w->tf.t, w->l, &w->c, &d), PG_OK);
  w->net = (flaky){.base = {.ops = g_batching ? &flaky_batch_ops : &flaky_ops}, .inner = w->c};
  assert_int_equal(pg_ledger_supply(w->l, &w->supply0), PG_OK);
  tt_issue(w->tf.t, 1);
  assert_int_equal(pg_ca_new_ephemeral("test community", &w->ca, &d), PG_OK);
  char id[32], parent[32];
  for (int i = 0; i < NPROD; i++) {
    snprintf(id, sizeof id, "producer-%d", i);
    w->keys[i] = member_key(w, id, PG_ROLE_PRODUCER, NULL);
  }
  for (int i = 0; i < NSRC; i++) {
    snprintf(id, sizeof id, "source-%d", i);
    snprintf(parent, sizeof parent, "producer-%d", i / 2);
    w->keys[NPROD + i] = member_key(w, id, PG_ROLE_SOURCE, parent);
  }
  for (int i = 0; i < NCONS; i++) {
    snprintf(id, sizeof id, "consumer-%d", i);
    w->keys[NPROD + NSRC + i] = member_key(w, id, PG_ROLE_CONSUMER, NULL);
  }
  open_entities(w);
  return w;
}

static void world_free(world *w) {
  close_entities(w);
  for (int i = 0; i < NPROD + NSRC + NCONS; i++) pg_tls_key_free(w->keys[i]);
  pg_ca_close(w->ca);
  pg_client_free(w->c);
  pg_ledger_free(w->l);
  pg_tangle_close(w->tf.t);
  tt_rmrf(w->tf.dir);
  free(w);
}

/* step_all reads the sources' channels for all producers at once first
 * (pg_producers_read_sources, as the simulator does); with it twice, and
 * every third round not taken by the producers before the next. The
 * consumers' read-ahead of their return channels likewise
 * (pg_consumers_read_returns), given each consumer twice every other
 * round, and every third round read before the grid's step instead of
 * after it (what the grid then attaches waits for the step after). */
static bool g_read_ahead;
static unsigned g_round;

static void read_returns(world *w) {
  pg_diag d = {{0}};
  pg_consumer *twice[2 * NCONS];
  for (int i = 0; i < NCONS; i++) twice[i] = twice[NCONS + i] = w->cons[i];
  if (pg_consumers_read_returns(twice, g_round % 2 ? NCONS : 2 * NCONS, &d))
    fail_msg("read returns: %s", d.msg);
}

static void read_ahead(world *w) {
  pg_diag d = {{0}};
  g_round++;
  pg_producer *twice[2 * NPROD];
  for (int i = 0; i < NPROD; i++) twice[i] = twice[NPROD + i] = w->prod[i];
  if (pg_producers_read_sources(twice, g_round % 2 ? NPROD : 2 * NPROD, &d))
    fail_msg("read ahead: %s", d.msg);
  if (g_round % 3 == 0 && pg_producers_read_sources(w->prod, NPROD, &d))
    fail_msg("read ahead again: %s", d.msg);
}

/* Every member steps: sources, producers, consumers (not the grid). */
static void step_members(world *w) {
  pg_diag d = {{0}};
  for (int i = 0; i < NSRC; i++)
    if (pg_source_step(w->src[i], &d)) fail_msg("source step: %s", d.msg);
  if (g_read_ahead) read_ahead(w);
  for (int i = 0; i < NPROD; i++)
    if (pg_producer_step(w->prod[i], &d)) fail_msg("producer step: %s", d.msg);
  if (g_read_ahead && g_round % 3 != 1) read_returns(w); /* round 3k: read before the grid's */
  for (int i = 0; i < NCONS; i++)
    if (pg_consumer_step(w->cons[i], &d)) fail_msg("consumer step: %s", d.msg);
}

static void step_consumers(world *w) {
  pg_diag d = {{0}};
  for (int i = 0; i < NCONS; i++)
    if (pg_consumer_step(w->cons[i], &d)) fail_msg("consumer step: %s", d.msg);
}

static void step_all(world *w) {
  pg_diag d = {{0}};
  step_members(w);
  if (g_read_ahead && g_round % 3 == 0) read_returns(w); /* before the grid attaches its bills */
  if (pg_gridop_step(w->grid, &d)) fail_msg("grid step: %s", d.msg);
}

/* advance by ms in ticks of 250 ms, a milestone every second */
static void run(world *w, uint64_t ms) {
  for (uint64_t t = 0; t < ms; t += 250) {
    pg_vclock_advance(&w->tf.clock, 250);
    step_all(w);
    if ((pg_clock_now(&w->tf.clock.base) / 250) % 4 == 0) tt_issue(w->tf.t, 1);
  }
}

static json_int_t jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v)) fail_msg("status has no integer '%s'", k);
  return json_integer_value(v);
}

/* Is everything settled, billed, paid and paid out? */
static bool quiet(world *w) {
  json_t *s = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_gridop_status(w->grid, &s, &d), PG_OK);
  json_t *t = json_object_get(s, "totals");
  bool q = jint(t, "outstanding") == 0 && jint(t, "payoutsDue") == 0 &&
           jint(t, "paidOut") == jint(t, "distributions") && jint(s, "unsentMessages") == 0 &&
           jint(t, "paymentRequests") > 0;
  for (int i = 0; q && i < NCONS; i++) {
    json_t *c = NULL;
    assert_int_equal(pg_consumer_status(w->cons[i], &c, &d), PG_OK);
    q = jint(c, "outstanding") == 0 && jint(c, "unsentMessages") == 0;
    json_decref(c);
  }
  /* every producer has seen what it was paid (it lists its address now
   * and then: test_producer_payment_poll) */
  json_t *gp = NULL;
  if (q) assert_int_equal(pg_gridop_producers(w->grid, &gp, &d), PG_OK);
  for (int i = 0; q && i < NPROD; i++) {
    json_t *p = NULL;
    assert_int_equal(pg_producer_status(w->prod[i], &p, &d), PG_OK);
    q = jint(json_array_get(gp, (size_t)i), "paid") == jint(p, "received");
    json_decref(p);
  }
  json_decref(gp);
  /* all slots that ended are settled */
  int64_t cur = (int64_t)(pg_clock_now(&w->tf.clock.base) / SLOT_MS);
  q = q && jint(s, "nextSlot") == cur;
  json_decref(s);
  return q;
}

/* Without letting another slot end (run() stops on a slot boundary), steps
 * until everything is paid. */
static void drain(world *w) {
  for (int i = 0; i < 400; i++) {
    pg_vclock_advance(&w->tf.clock, 9);
    step_all(w);
    tt_issue(w->tf.t, 1);
    if (quiet(w)) return;
  }
  json_t *s = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_gridop_status(w->grid, &s, &d), PG_OK);
  char *txt = json_dumps(s, JSON_INDENT(1));
  for (int i = 0; i < NCONS; i++) {
    json_t *c = NULL;
    assert_int_equal(pg_consumer_status(w->cons[i], &c, &d), PG_OK);
    char *ct = json_dumps(c, 0);
    fprintf(stderr, "consumer %d: %s\n", i, ct);
    free(ct);
    json_decref(c);
  }
  fail_msg("not quiet after draining: %s", txt);
}

/* extra_wh: produced by producers outside the world (sorted after its own) */
static void check_books_extra(world *w, json_int_t extra_wh) {
  pg_diag d = {{0}};
  json_t *gs = NULL, *gp = NULL, *gc = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
  assert_int_equal(pg_gridop_producers(w->grid, &gp, &d), PG_OK);
  assert_int_equal(pg_gridop_consumers(w->grid, &gc, &d), PG_OK);
  json_t *t = json_object_get(gs, "totals");
  /* every source reading reached the grid through its producer */
  json_int_t src_wh = 0, prod_wh = 0;
  for (int i = 0; i < NSRC; i++) {
    json_t *s = NULL;
    assert_int_equal(pg_source_status(w->src[i], &s, &d), PG_OK);
    src_wh += jint(s, "outputWh");
    assert_true(jint(s, "slotsReported") >= 3);
    json_decref(s);
  }
  for (int i = 0; i < NPROD; i++) {
    json_t *p = NULL;
    assert_int_equal(pg_producer_status(w->prod[i], &p, &d), PG_OK);
    prod_wh += jint(p, "outputWh");
    json_t *row = json_array_get(gp, (size_t)i);
    /* what the grid's settlement says it owes is what arrived */
    assert_int_equal(jint(row, "earned"), jint(p, "received"));
    assert_int_equal(jint(row, "paid"), jint(row, "earned"));
    assert_int_equal(jint(row, "outputWh"), jint(p, "outputWh"));
    assert_true(jint(row, "earned") > 0);
    json_decref(p);
  }
  assert_int_equal(src_wh, prod_wh);
  assert_int_equal(jint(t, "producedWh"), prod_wh + extra_wh);
  /* every consumer reading was billed, every bill paid once */
  json_int_t cons_wh = 0;
  for (int i = 0; i < NCONS; i++) {
    json_t *c = NULL;
    assert_int_equal(pg_consumer_status(w->cons[i], &c, &d), PG_OK);
    cons_wh += jint(c, "usageWh");
    json_t *row = json_array_get(gc, (size_t)i);
    assert_int_equal(jint(row, "usageWh"), jint(c, "usageWh"));
    assert_int_equal(jint(row, "billed"), jint(c, "billed"));
    assert_int_equal(jint(row, "paid"), jint(c, "paid"));
    assert_int_equal(jint(c, "paid"), jint(c, "billed"));
    assert_int_equal(jint(row, "outstanding"), 0);
    assert_int_equal(jint(row, "requests"), jint(c, "requests"));
    json_decref(c);
  }
  assert_int_equal(jint(t, "consumedWh"), cons_wh);
  assert_int_equal(jint(t, "paymentRequests"), jint(t, "paymentsConfirmed"));
  /* nothing counted twice or rejected in an honest run */
  json_t *errs = json_object_get(gs, "errors");
  assert_null(json_object_get(errs, "duplicate_readings"));
  assert_null(json_object_get(errs, "rejected_readings"));
  assert_null(json_object_get(errs, "unknown_payments"));
  uint64_t supply = 0;
  assert_int_equal(pg_ledger_supply(w->l, &supply), PG_OK);
  assert_int_equal(supply, w->supply0);
  json_decref(gs);
  json_decref(gp);
  json_decref(gc);
}

static void check_books(world *w) { check_books_extra(w, 0); }

/* The side key of a member's main channel, from its own database. */
static void member_side_key(world *w, const char *id, const char *role, char sk[82]) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s/%s.db", w->root, id, role);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT side_key FROM channels WHERE name = 'main'", -1,
                                      &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  snprintf(sk, 82, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The side key of a member's current registration, from the grid's database. */
static void grid_side_key(world *w, const char *id, char sk[82]) {
  char path[700];
  snprintf(path, sizeof path, "%s/grid/grid.db", w->root);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT side_key FROM registrations WHERE id = ?1", -1,
                                      &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  snprintf(sk, 82, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The sum of an integer field of a member's slot rows; whether every
 * reading's messageId is among the opened lines' readings (seen). */
static json_int_t rows_sum(json_t *rows, const char *key) {
  json_int_t sum = 0;
  for (size_t i = 0; i < json_array_size(rows); i++) sum += jint(json_array_get(rows, i), key);
  return sum;
}

/* The grid's public record, read from the Tangle alone: a hello, then per
 * settled slot its parts in order; every line opens with exactly one
 * member's side key; the lines' totals are the slot's totals and each
 * member's bills / payouts; every reading is committed to exactly once. */
static void check_record_with(world *w, const char *extra_producer);
static void check_record(world *w) { check_record_with(w, NULL); }

/* As check_record, with one more producer (extra_producer, its key from the
 * side key in its registration at the grid) beside the world's members. */
static void check_record_with(world *w, const char *extra_producer) {
  pg_diag d = {{0}};
  json_t *rec = NULL, *slots = NULL;
  assert_int_equal(pg_gridop_record(w->grid, &rec, &d), PG_OK);
  const char *root = json_string_value(json_object_get(rec, "root"));
  assert_non_null(root);
  pg_mam_fetched *f = NULL;
  size_t nf = 0;
  if (pg_mam_fetch_all(w->c, root, PG_MAM_PUBLIC, NULL, 0, 0, &f, &nf, &d))
    fail_msg("record: %s", d.msg);
  assert_int_equal(pg_gridop_slots(w->grid, 0, UINT64_MAX, &slots, &d), PG_OK);
  enum { NW = NPROD + NCONS };
  const int NM = NW + (extra_producer != NULL);
  char ids[NW + 1][32];
  uint8_t keys[NW + 1][32];
  json_t *rows[NW + 1];
  json_int_t totals[NW + 1] = {0};
  size_t readings[NW + 1] = {0};
  bool prods[NW + 1];
  for (int i = 0; i < NM; i++) {
    bool prod = prods[i] = i < NPROD || i == NW;
    char sk[82];
    if (i == NW) {
      snprintf(ids[i], sizeof ids[i], "%s", extra_producer);
      grid_side_key(w, extra_producer, sk);
    } else {
      snprintf(ids[i], sizeof ids[i], "%s-%d", prod ? "producer" : "consumer",
               prod ? i : i - NPROD);
      member_side_key(w, ids[i], prod ? "producer" : "consumer", sk);
    }
    assert_int_equal(pg_record_member_key(ids[i], sk, strlen(sk), keys[i]), PG_OK);
    assert_int_equal(prod ? pg_gridop_producer_slots(w->grid, ids[i], 0, UINT64_MAX, &rows[i], &d)
                          : pg_gridop_consumer_slots(w->grid, ids[i], 0, UINT64_MAX, &rows[i], &d),
                     PG_OK);
  }
  assert_true(nf >= 1 + json_array_size(slots));
  size_t at = 1, slot_i = 0;
  for (size_t m = 0; m < nf; m++) {
    char *text = NULL;
    size_t tl = 0;
    assert_int_equal(pg_mam_trytes_to_text(f[m].message, f[m].message_len, &text, &tl), PG_OK);
    if (m == 0) { /* the hello */
      pg_grid_msg h;
      if (pg_grid_msg_parse(text, tl, &h, &d)) fail_msg("record hello: %s", d.msg);
      assert_int_equal(h.command, PG_GRID_CMD_HELLO);
      assert_string_equal(h.u.hello.registration_id, "grid");
      free(text);
      continue;
    }
    pg_grid_settlement s;
    if (pg_grid_settlement_parse(text, tl, &s, &d)) fail_msg("record %zu: %s", m, d.msg);
    free(text);
    json_t *row = json_array_get(slots, slot_i);
    assert_non_null(row);
    assert_int_equal(s.slot, jint(row, "slot"));
    assert_int_equal(s.part, at);
    json_int_t sum_c = 0, sum_p = 0;
    if (s.part == 1) {
      assert_int_equal(s.totals.consumer_payments, jint(row, "billed"));
      assert_int_equal(s.totals.supply_wh, jint(row, "supplyWh"));
      assert_int_equal((json_int_t)s.n_lines, jint(row, "producers") + jint(row, "consumers"));
    }
    for (size_t l = 0; l < s.n_lines; l++) {
      int opened = 0;
      for (int i = 0; i < NM; i++) {
        pg_record_plain p;
        int rc = pg_record_open(keys[i], s.slot, &s.lines[l], &p, NULL);
        if (rc == PG_ERR_NOT_FOUND) continue;
        assert_int_equal(rc, PG_OK);
        assert_string_equal(p.id, ids[i]);
        opened++;
        totals[i] += p.total;
        readings[i] += p.n_readings;
        *(prods[i] ? &sum_p : &sum_c) += p.total;
        assert_int_equal(p.request_id[0] != '\0', !prods[i] && p.total > 0);
        for (size_t r = 0; r < p.n_readings; r++) { /* each a reading the grid lists */
          char hex[65];
          pg_hex_encode(p.readings[r], 32, hex);
          bool listed = false;
          for (size_t q = 0; q < json_array_size(rows[i]); q++)
            listed |= strcmp(json_string_value(json_object_get(json_array_get(rows[i], q),
                                                               "messageId")), hex) == 0;
          assert_true(listed);
        }
      }
      assert_int_equal(opened, 1);
    }
    if (s.part == 1 && s.parts == 1) {
      assert_int_equal(sum_c, jint(row, "billed"));
      assert_int_equal(sum_p, jint(row, "producerRevenues"));
    }
    at = s.part == s.parts ? 1 : at + 1;
    if (s.part == s.parts) slot_i++;
    pg_grid_settlement_free(&s);
  }
  assert_int_equal(slot_i, json_array_size(slots)); /* every settled slot, once */
  for (int i = 0; i < NM; i++) {
    assert_int_equal(totals[i], rows_sum(rows[i], prods[i] ? "amount" : "billed"));
    assert_int_equal(readings[i], json_array_size(rows[i]));
    json_decref(rows[i]);
  }
  pg_mam_fetched_free_all(f, nf);
  json_decref(slots);
  json_decref(rec);
}

/* The kinds of pg_gridop_events(scope, member, limit) as "a,b,c" (each once)
 * into out; checks they are newest first and at most limit. */
static json_t *events_of(world *w, pg_events_scope scope, const char *member, unsigned limit,
                         char *out, size_t cap) {
  pg_diag d = {{0}};
  json_t *ev = NULL;
  assert_int_equal(pg_gridop_events(w->grid, scope, member, limit, &ev, &d), PG_OK);
  assert_true(json_array_size(ev) <= limit);
  out[0] = '\0';
  json_int_t prev = INT64_MAX;
  for (size_t i = 0; i < json_array_size(ev); i++) {
    json_t *e = json_array_get(ev, i);
    json_int_t t = jint(e, "time");
    assert_true(t <= prev && t > 0);
    prev = t;
    const char *k = json_string_value(json_object_get(e, "kind"));
    assert_non_null(k);
    char tag[40];
    snprintf(tag, sizeof tag, ",%s,", k);
    char have[600];
    snprintf(have, sizeof have, ",%s,", out);
    if (!strstr(have, tag)) snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", k);
  }
  return ev;
}

/* The recent events of a grid that settled, billed, was paid and paid out:
 * every kind for the operator, the settlements alone for the public, a
 * member's own with them; bounded by the limit; bad arguments refused. */
static void check_events(world *w) {
  pg_diag d = {{0}};
  char kinds[600];
  json_t *ev = events_of(w, PG_EVENTS_ALL, NULL, PG_EVENTS_MAX, kinds, sizeof kinds);
  for (const char *k = "settlement\0bill\0payment\0payout\0registration\0enrolment\0"; *k;
       k += strlen(k) + 1)
    if (!strstr(kinds, k)) fail_msg("no '%s' event for the operator: %s", k, kinds);
  json_t *s = json_array_get(ev, 0);
  assert_true(json_object_get(s, "kind") != NULL);
  json_decref(ev);
  /* the public: settlements with the slot and its totals, nobody's id */
  ev = events_of(w, PG_EVENTS_PUBLIC, NULL, 5, kinds, sizeof kinds);
  assert_string_equal(kinds, "settlement");
  assert_int_equal(json_array_size(ev), 5);
  s = json_array_get(ev, 0);
  json_t *st = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &st, &d), PG_OK);
  assert_int_equal(jint(s, "slot"), jint(json_object_get(st, "lastSlot"), "slot"));
  assert_int_equal(jint(s, "supplyWh"), jint(json_object_get(st, "lastSlot"), "supplyWh"));
  assert_int_equal(jint(s, "slot"), jint(json_array_get(ev, 1), "slot") + 1);
  json_decref(st);
  for (size_t i = 0; i < json_array_size(ev); i++)
    assert_null(json_object_get(json_array_get(ev, i), "member"));
  json_decref(ev);
  /* a consumer: its bills and payments, nobody else's */
  ev = events_of(w, PG_EVENTS_MEMBER, "consumer-1", PG_EVENTS_MAX, kinds, sizeof kinds);
  assert_non_null(strstr(kinds, "bill"));
  assert_non_null(strstr(kinds, "payment"));
  assert_null(strstr(kinds, "quarantine"));
  for (size_t i = 0; i < json_array_size(ev); i++) {
    const char *m = json_string_value(json_object_get(json_array_get(ev, i), "member"));
    if (m) assert_string_equal(m, "consumer-1");
  }
  json_decref(ev);
  /* a producer: its own payouts */
  ev = events_of(w, PG_EVENTS_MEMBER, "producer-0", PG_EVENTS_MAX, kinds, sizeof kinds);
  assert_non_null(strstr(kinds, "payout"));
  json_decref(ev);
  ev = NULL;
  assert_int_equal(pg_gridop_events(w->grid, PG_EVENTS_ALL, NULL, 0, &ev, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "limit 0"));
  assert_int_equal(pg_gridop_events(w->grid, PG_EVENTS_ALL, NULL, PG_EVENTS_MAX + 1, &ev, &d),
                   PG_ERR_INVALID);
  assert_int_equal(pg_gridop_events(w->grid, PG_EVENTS_MEMBER, NULL, 5, &ev, &d), PG_ERR_INVALID);
  assert_null(ev);
}

static void test_grid_run(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 8 * SLOT_MS);
  drain(w);
  check_books(w);
  check_record(w);
  check_events(w);
  world_free(w);
}

/* The producers' read-ahead (the simulator's path) settles the same books:
 * every reading taken once, none lost, with the read-ahead repeated, given
 * an entity twice and dropped unused by a close (test_grid_restart's). */
static void test_grid_read_ahead(void **state) {
  (void)state;
  g_read_ahead = true;
  world *w = world_new();
  run(w, 4 * SLOT_MS);
  read_ahead(w); /* kept, then dropped by the close: nothing leaks */
  read_returns(w);
  close_entities(w);
  open_entities(w);
  run(w, 4 * SLOT_MS);
  drain(w);
  check_books(w);
  check_record(w);
  /* Quiet: a consumer's step after the read-ahead looks up no index (its
   * return channel is known to hold nothing more); without it, it reads
   * its return channel itself when that is due: not again at once after a
   * read that found nothing, but after a gap (here an eighth of a slot),
   * then not again at once, and at the first step of a slot. */
  read_returns(w);
  w->net.index_lookups = 0;
  step_consumers(w);
  assert_int_equal(w->net.index_lookups, 0);
  step_consumers(w);
  assert_int_equal(w->net.index_lookups, 0);
  pg_vclock_advance(&w->tf.clock, SLOT_MS / 8);
  step_consumers(w);
  assert_true(w->net.index_lookups >= NCONS);
  unsigned after = w->net.index_lookups;
  step_consumers(w);
  assert_int_equal(w->net.index_lookups, after);
  /* the first step of the next slot reads */
  uint64_t now = pg_clock_now(&w->tf.clock.base);
  pg_vclock_advance(&w->tf.clock, SLOT_MS - now % SLOT_MS);
  step_consumers(w);
  assert_true(w->net.index_lookups >= after + NCONS);
  world_free(w);
}

/* A producer lists its payment address at the first step of each slot and
 * otherwise after gaps that double from 1 s while nothing comes, up to an
 * eighth of the slot (here 8 s of a 64 s slot): about 11 listings a slot
 * where it made one a second (64). Nothing is paid here, so no listing
 * finds anything. */
static void test_producer_payment_poll(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  uint64_t now = pg_clock_now(&w->tf.clock.base);
  pg_vclock_advance(&w->tf.clock, g_slot_ms - now % g_slot_ms); /* a slot's start */
  w->net.address_lists = 0;
  unsigned at_start = 0;
  for (uint64_t t = 0; t < g_slot_ms; t += 250) {
    for (int i = 0; i < NPROD; i++)
      if (pg_producer_step(w->prod[i], &d)) fail_msg("producer step: %s", d.msg);
    if (t == 0) at_start = w->net.address_lists;
    pg_vclock_advance(&w->tf.clock, 250);
  }
  assert_int_equal(at_start, NPROD); /* the first step of the slot */
  /* at 0, 1, 3, 7, 15, 23, ... 63 s */
  assert_int_equal(w->net.address_lists, 11 * NPROD);
  /* and at the first step of the next slot, inside the gap */
  for (int i = 0; i < NPROD; i++)
    if (pg_producer_step(w->prod[i], &d)) fail_msg("producer step: %s", d.msg);
  assert_int_equal(w->net.address_lists, 12 * NPROD);
  world_free(w);
}

/* The value of series key ("name{labels} ") in a daemon's metrics text. */
static long metric_in(const pg_buf *b, const char *key) {
  char *txt = strndup((const char *)b->data, b->len), k[200];
  assert_non_null(txt);
  snprintf(k, sizeof k, "\n%s ", key);
  const char *at = strstr(txt, k);
  if (!at) fail_msg("no %s in the metrics", key);
  long v = strtol(at + strlen(k), NULL, 10);
  free(txt);
  return v;
}

static long grid_metric(world *w, const char *key) {
  pg_buf b;
  pg_diag d = {{0}};
  pg_buf_init(&b, 1 << 20);
  assert_int_equal(pg_gridop_metrics(w->grid, &b, &d), PG_OK);
  long v = metric_in(&b, key);
  pg_buf_free(&b);
  return v;
}

static long grid_polls(world *w) {
  return grid_metric(w, "p2pgrid_entity_polls_total{of=\"payments\"}");
}

static long batches_sent(world *w) {
  return grid_metric(w, "p2pgrid_grid_payout_batches_total{outcome=\"sent\"}");
}

/* The grid scans its address for payments at a slot's first step, at every
 * step while payments come, else after gaps that double from 500 ms up to
 * an eighth of the slot (8 s of 64 s), at once after a wake (an [mqtt]
 * event), and never lets its wallet spend from the address on a scan older
 * than 500 ms: a payment is booked before a payout or sweep could spend it.
 * It scanned every 500 ms (128 times a 64 s slot). The members stay quiet
 * for the measured slot, so only the grid's own work (the last slot's
 * settlement after its grace, its bills and payout) happens there. */
static void test_grid_scan_poll(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  /* three slots of the whole world, as run() steps it: every payout sent
   * on a scan at most 500 ms (two steps) old */
  long last_poll_step = -1, spends = 0, steps = (long)(3 * g_slot_ms / 250);
  for (long i = 0; i < steps; i++) {
    long before = grid_polls(w), sent = batches_sent(w);
    pg_vclock_advance(&w->tf.clock, 250);
    step_all(w);
    if ((pg_clock_now(&w->tf.clock.base) / 250) % 4 == 0) tt_issue(w->tf.t, 1);
    if (grid_polls(w) > before) last_poll_step = i;
    if (batches_sent(w) != sent) {
      spends++;
      assert_true(last_poll_step >= 0 && i - last_poll_step <= 1); /* under 500 ms old */
    }
  }
  assert_true(spends >= 2);
  /* a quiet slot (only the grid steps): the scans' gaps double */
  uint64_t now = pg_clock_now(&w->tf.clock.base);
  pg_vclock_advance(&w->tf.clock, g_slot_ms - now % g_slot_ms);
  long at[300], n = 0;
  for (long i = 0; i < (long)(g_slot_ms / 250); i++) {
    long before = grid_polls(w);
    if (pg_gridop_step(w->grid, &d)) fail_msg("grid step: %s", d.msg);
    if (i == 0) assert_int_equal(grid_polls(w), before + 1); /* the slot's first step */
    if (grid_polls(w) > before) at[n++] = i;
    pg_vclock_advance(&w->tf.clock, 250);
  }
  /* the first scan may find what the last milestone confirmed (then the
   * next step scans again); from the first that found nothing, steps of
   * 250 ms: gaps of 2, 4, 8, 16, then 32 steps (8 s) */
  long k = 1;
  while (k < n && at[k] - at[k - 1] < 2) k++;
  assert_true(k <= 3);
  for (long want = 2; k < n; k++, want = want < 32 ? 2 * want : 32)
    assert_int_equal(at[k] - at[k - 1], want);
  assert_true(n <= 14); /* 128 at a scan every 500 ms */
  /* the next slot: the sources and producers report the quiet slot, the
   * grid settles it after its grace of 37 s (between two scans of 8 s
   * gaps) and pays the producers: on a scan made for that spend */
  long quiet_spends = 0, last = -1;
  for (long i = 0; i < (long)(g_slot_ms / 250); i++) {
    long before = grid_polls(w), sent = batches_sent(w);
    for (int j = 0; j < NSRC; j++)
      if (pg_source_step(w->src[j], &d)) fail_msg("source step: %s", d.msg);
    for (int j = 0; j < NPROD; j++)
      if (pg_producer_step(w->prod[j], &d)) fail_msg("producer step: %s", d.msg);
    if (pg_gridop_step(w->grid, &d)) fail_msg("grid step: %s", d.msg);
    if (i % 4 == 0) tt_issue(w->tf.t, 1);
    if (grid_polls(w) > before) last = i;
    if (batches_sent(w) != sent) {
      quiet_spends++;
      assert_true(last == i); /* the last scan was 8 s old: one now */
    }
    pg_vclock_advance(&w->tf.clock, 250);
  }
  print_message("grid scans over a quiet 64 s slot: %ld; payouts sent: %ld, then %ld\n", n,
                spends, quiet_spends);
  assert_int_equal(quiet_spends, 1);
  /* a wake: the next step scans, however short the gap */
  if (pg_gridop_step(w->grid, &d)) fail_msg("grid step: %s", d.msg); /* the slot's first: scans */
  long before = grid_polls(w);
  pg_vclock_advance(&w->tf.clock, 250);
  if (pg_gridop_step(w->grid, &d)) fail_msg("grid step: %s", d.msg);
  assert_int_equal(grid_polls(w), before); /* within the 500 ms gap */
  pg_gridop_wake(w->grid);
  if (pg_gridop_step(w->grid, &d)) fail_msg("grid step: %s", d.msg);
  assert_int_equal(grid_polls(w), before + 1);
  world_free(w);
}

static long consumer_metric(world *w, int i, const char *key) {
  pg_buf b;
  pg_diag d = {{0}};
  pg_buf_init(&b, 1 << 20);
  assert_int_equal(pg_consumer_metrics(w->cons[i], &b, &d), PG_OK);
  long v = metric_in(&b, key);
  pg_buf_free(&b);
  return v;
}

/* The steps at[0..n) at which a poll was made, from the first one after
 * `after`: the next step, then gaps of 1, 2, 4, then 8 s (4, 8, 16, 32 steps). */
static void assert_gaps_double(const long *at, long n, long after) {
  long k = 0;
  while (k < n && at[k] <= after) k++;
  assert_true(k < n && at[k] == after + 1); /* the next step */
  for (long want = 4; ++k < n; want = want < 32 ? 2 * want : 32)
    assert_int_equal(at[k] - at[k - 1], want);
  assert_true(n <= 14);
}

/* A consumer looks at a payment it sent at the next step, then, while it
 * stays unconfirmed (no milestone in this slot), after gaps of 1, 2, 4, then
 * 8 s (an eighth of a 64 s slot), where it looked at every step (four times
 * a second); the grid at the payout batch it sent likewise. */
static void test_payment_follow_poll(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 2 * g_slot_ms);
  uint64_t now = pg_clock_now(&w->tf.clock.base);
  pg_vclock_advance(&w->tf.clock, g_slot_ms - now % g_slot_ms);
  const char *conf = "p2pgrid_entity_polls_total{of=\"confirmations\"}";
  const char *paid = "p2pgrid_consumer_payments_sent_total";
  const char *batches = "p2pgrid_grid_payout_batches_total{outcome=\"sent\"}";
  long at[300], n = 0, paid_at = -1, gat[300], gn = 0, sent_at = -1;
  for (long i = 0; i < (long)(g_slot_ms / 250); i++) {
    long before = consumer_metric(w, 0, conf), sent = consumer_metric(w, 0, paid);
    long gbefore = grid_metric(w, conf), gsent = grid_metric(w, batches);
    step_all(w); /* no milestone: what is paid now stays unconfirmed */
    if (consumer_metric(w, 0, conf) > before) at[n++] = i;
    if (consumer_metric(w, 0, paid) > sent && paid_at < 0) paid_at = i;
    if (grid_metric(w, conf) > gbefore) gat[gn++] = i;
    if (grid_metric(w, batches) > gsent && sent_at < 0) sent_at = i;
    pg_vclock_advance(&w->tf.clock, 250);
  }
  print_message("consumer-0 paid at step %ld, looked at it %ld times in the slot; the grid sent "
                "a payout at step %ld, looked at it %ld times\n", paid_at, n, sent_at, gn);
  assert_true(paid_at >= 0 && sent_at >= 0);
  assert_gaps_double(at, n, paid_at);
  assert_gaps_double(gat, gn, sent_at);
  world_free(w);
}

static int long_slots(void **state) {
  (void)state;
  g_slot_ms = 64000;
  g_grid_grace_ms = 37000;
  return 0;
}

static int long_slots_off(void **state) {
  (void)state;
  g_slot_ms = SLOT_MS;
  g_grid_grace_ms = 0;
  return 0;
}

/* The payment tests again through the batching transport. */
static int batching_on(void **state) {
  (void)state;
  g_batching = true;
  return 0;
}

static int batching_off(void **state) {
  (void)state;
  g_batching = false;
  return 0;
}

static int read_ahead_off(void **state) {
  (void)state;
  g_read_ahead = false; /* also when the test failed half-way */
  return 0;
}

/* Whether another connection can read dir/file (a sole entity's database
 * must be locked to everyone else while it is open). */
static bool others_can_read(const char *root, const char *id, const char *file) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s/%s", root, id, file);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  int rc = sqlite3_exec(db, "SELECT COUNT(*) FROM kv", NULL, NULL, NULL);
  sqlite3_close(db);
  assert_true(rc == SQLITE_OK || rc == SQLITE_BUSY);
  return rc == SQLITE_OK;
}

/* Sources and consumers opened sole (the simulator's members): their
 * databases are locked to any other connection while open and keep no
 * -shm file; status reads go through the entity's own connection; closed
 * and opened again (the WAL read back) they settle the same books. A
 * producer (whose registry reads through a connection of its own) given
 * the option refuses to open, by name. */
static void test_sole_databases(void **state) {
  (void)state;
  g_sole = true;
  world *w = world_new();
  run(w, 4 * SLOT_MS);
  assert_false(others_can_read(w->root, "consumer-0", "consumer.db"));
  assert_false(others_can_read(w->root, "source-1", "source.db"));
  assert_true(others_can_read(w->root, "producer-0", "producer.db"));
  char shm[700];
  snprintf(shm, sizeof shm, "%s/consumer-0/consumer.db-shm", w->root);
  assert_int_not_equal(access(shm, F_OK), 0);
  close_entities(w);
  assert_true(others_can_read(w->root, "consumer-0", "consumer.db"));
  open_entities(w);
  run(w, 4 * SLOT_MS);
  drain(w);
  check_books(w); /* (check_record reads the members' side keys from their locked files) */

  pg_diag d = {{0}};
  char dir[600];
  dir_of(w, "producer-x", dir, sizeof dir);
  pg_entity_opts o = {.client = &w->net.base, .clock = &w->tf.clock.base, .slot_ms = SLOT_MS,
                      .security = 1, .id = "producer-x", .data_dir = dir, .sole = true};
  pg_producer_opts po = {.seed = w->seeds[1], .seed_len = 32};
  pg_producer *p = NULL;
  assert_int_equal(pg_producer_open(&o, &po, &p, &d), PG_ERR_CONFIG);
  assert_null(p);
  assert_non_null(strstr(d.msg, "no second connection"));
  world_free(w);
}

/* One 250 ms tick of run() whose grid step may fail with the injected
 * booking error; returns whether it did. */
static bool tick_grid_may_fail(world *w) {
  pg_diag d = {{0}};
  pg_vclock_advance(&w->tf.clock, 250);
  step_members(w);
  bool failed = pg_gridop_step(w->grid, &d) != PG_OK;
  if (failed && !strstr(d.msg, "injected")) fail_msg("grid step: %s", d.msg);
  if ((pg_clock_now(&w->tf.clock.base) / 250) % 4 == 0) tt_issue(w->tf.t, 1);
  return failed;
}

static int64_t incoming_rows(sqlite3 *db) {
  pg_diag d = {{0}};
  int64_t n = -1;
  assert_int_equal(pg_db_i64(db, "SELECT COUNT(*) FROM incoming", 0, -1, &n, &d), PG_OK);
  return n;
}

/* The grid books a scan's new payments in one transaction, a savepoint
 * each: when booking one fails (here a trigger refuses the incoming row
 * past a count), the ones before it commit, it and the later ones wait for
 * the next scan, and nothing is booked twice or lost: once the grid's
 * database takes rows again every bill is paid exactly once. */
static void test_booking_stops_midway(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 4 * SLOT_MS);
  char path[700];
  snprintf(path, sizeof path, "%s/grid/grid.db", w->root);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  pg_diag d = {{0}};
  char sql[300];
  int64_t n0 = incoming_rows(db);
  snprintf(sql, sizeof sql, "CREATE TRIGGER stop_booking BEFORE INSERT ON incoming WHEN"
                            " (SELECT COUNT(*) FROM incoming) >= %lld"
                            " BEGIN SELECT RAISE(ABORT, 'injected'); END", (long long)n0);
  assert_int_equal(pg_db_exec(db, sql, &d), PG_OK);
  int fails = 0;
  for (uint64_t t = 0; t < 3 * SLOT_MS; t += 250) fails += tick_grid_may_fail(w);
  assert_true(fails > 0);
  assert_int_equal(incoming_rows(db), n0); /* a refused booking left no row */
  /* room for one more: the scan books the first new payment, stops at the second */
  assert_int_equal(pg_db_exec(db, "DROP TRIGGER stop_booking", &d), PG_OK);
  snprintf(sql, sizeof sql, "CREATE TRIGGER stop_booking BEFORE INSERT ON incoming WHEN"
                            " (SELECT COUNT(*) FROM incoming) >= %lld"
                            " BEGIN SELECT RAISE(ABORT, 'injected'); END", (long long)n0 + 1);
  assert_int_equal(pg_db_exec(db, sql, &d), PG_OK);
  fails = 0;
  for (int i = 0; i < 4; i++) fails += tick_grid_may_fail(w);
  assert_true(fails > 0);
  assert_int_equal(incoming_rows(db), n0 + 1);
  assert_int_equal(pg_db_exec(db, "DROP TRIGGER stop_booking", &d), PG_OK);
  sqlite3_close(db);
  run(w, 2 * SLOT_MS);
  drain(w);
  check_books(w);
  world_free(w);
}

static int sole_off(void **state) {
  (void)state;
  g_sole = false;
  return 0;
}

/* Whether SQLite's plan for sql reads every row of a table ("SCAN t"
 * without an index), on the grid's database. */
static bool plan_scans(sqlite3 *db, const char *sql, char *plan, size_t cap) {
  char q[1024];
  snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
  bool scans = false;
  size_t len = 0;
  plan[0] = '\0';
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *detail = (const char *)sqlite3_column_text(st, 3);
    len += (size_t)snprintf(plan + len, len < cap ? cap - len : 0, "%s; ", detail);
    if (strncmp(detail, "SCAN ", 5) == 0 && !strstr(detail, "USING")) scans = true;
  }
  sqlite3_finalize(st);
  return scans;
}

/* A member's bills and payouts and a slot's bills are found through an
 * index, not by reading every row (the member's slots, totals and events;
 * the audit export): at a community's size a scan per member is quadratic. */
static void test_bills_indexed(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 2 * SLOT_MS);
  char path[700], plan[1024];
  snprintf(path, sizeof path, "%s/grid/grid.db", w->root);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  static const char *const queries[] = {
      "SELECT r.slot, SUM(b.owed) FROM readings r LEFT JOIN bills b ON b.slot = r.slot"
      " AND b.consumer_id = r.entity_id AND b.kind = 'slot' WHERE r.entity_id = ?1"
      " AND r.slot BETWEEN ?2 AND ?3 GROUP BY r.slot",
      "SELECT COALESCE(SUM(owed), 0) FROM bills b WHERE b.consumer_id = ?1",
      "SELECT request_id FROM bills WHERE slot = ?1 ORDER BY consumer_id, request_id",
      "SELECT r.slot, p.amount FROM readings r LEFT JOIN payouts p ON p.slot = r.slot"
      " AND p.producer_id = r.entity_id WHERE r.entity_id = ?1 AND r.slot BETWEEN ?2 AND ?3",
      "SELECT COALESCE(SUM(amount), 0) FROM payouts p WHERE p.producer_id = ?1",
  };
  for (size_t i = 0; i < sizeof queries / sizeof *queries; i++)
    if (plan_scans(db, queries[i], plan, sizeof plan)) fail_msg("query %zu scans: %s", i, plan);
  sqlite3_close(db);
  world_free(w);
}

/* Closing every entity at arbitrary points (as a crash between two steps
 * would) and reopening from the same directories loses and doubles nothing. */
static void test_grid_restart(void **state) {
  (void)state;
  world *w = world_new();
  for (int round = 0; round < 5; round++) {
    run(w, SLOT_MS + 750 * (uint64_t)round);
    close_entities(w);
    open_entities(w);
  }
  run(w, 2 * SLOT_MS);
  drain(w);
  check_books(w);
  check_record(w);
  world_free(w);
}

/* ---- members as a TLS server would see them ---- */

/* The peer a verified TLS client holding k is. */
static pg_httpd_peer peer_of(const pg_tls_key *k) {
  pg_httpd_peer p = {.tls = true, .has_cert = true, .verified = true};
  snprintf(p.addr, sizeof p.addr, "test");
  p.cert_der = pg_tls_key_cert_der(k, &p.cert_len);
  assert_int_equal(pg_member_from_cert(p.cert_der, p.cert_len, &p.member, NULL), PG_OK);
  return p;
}

/* The channel binding of (id, root, side key, t) signed with k. */
static pg_grid_signature bind_sig(const pg_tls_key *k, const char *id, const char *root,
                                  const char *side_key, uint64_t t) {
  pg_grid_channel ch;
  snprintf(ch.root, sizeof ch.root, "%s", root);
  snprintf(ch.side_key, sizeof ch.side_key, "%s", side_key);
  pg_buf b;
  pg_buf_init(&b, 512);
  pg_grid_signature sig = {0};
  assert_int_equal(pg_grid_binding_bytes(id, &ch, t, &b, NULL), PG_OK);
  assert_int_equal(pg_tls_sign(k, b.data, b.len, sig.sig, sizeof sig.sig, &sig.sig_len, NULL), PG_OK);
  pg_buf_free(&b);
  return sig;
}

/* A registration body of `id` for (root, side key) signed by k at t (k NULL: unsigned). */
static void reg_body(const pg_tls_key *k, const char *id, const char *type, const char *root,
                     const char *side_key, uint64_t t, char *out, size_t cap) {
  pg_grid_registration r = {.mode = PG_GRID_MODE_RESTRICTED};
  snprintf(r.name, sizeof r.name, "%s", id);
  r.type = strcmp(type, "producer") == 0 ? PG_GRID_ENTITY_PRODUCER
           : strcmp(type, "source") == 0 ? PG_GRID_ENTITY_SOURCE : PG_GRID_ENTITY_CONSUMER;
  snprintf(r.channel.root, sizeof r.channel.root, "%s", root);
  snprintf(r.channel.side_key, sizeof r.channel.side_key, "%s", side_key);
  if (k) {
    r.time = t;
    r.signature = bind_sig(k, id, root, side_key, t);
  }
  pg_buf b;
  pg_buf_init(&b, PG_GRID_MAX_JSON);
  assert_int_equal(pg_grid_registration_serialize(&r, &b, NULL), PG_OK);
  assert_true(b.len < cap);
  memcpy(out, b.data, b.len);
  out[b.len] = '\0';
  pg_buf_free(&b);
}

/* A hello naming `names` on the channel (root, side key) of k's member,
 * in the form of resource r (NULL = electricity, version 1). */
static char *hello_text_of(const pg_tls_key *k, const char *id, const char *names,
                           const char *root, const char *side_key, uint64_t t,
                           const pg_resource *r) {
  pg_grid_msg m = {.command = PG_GRID_CMD_HELLO};
  pg_grid_msg_set_resource(&m, r);
  snprintf(m.u.hello.registration_id, sizeof m.u.hello.registration_id, "%s", names);
  m.u.hello.time = t;
  size_t n = 0;
  const uint8_t *der = pg_tls_key_cert_der(k, &n);
  memcpy(m.u.hello.cert, der, n);
  m.u.hello.cert_len = n;
  m.u.hello.signature = bind_sig(k, id, root, side_key, t);
  pg_buf b;
  pg_buf_init(&b, PG_GRID_MAX_JSON + 1);
  assert_int_equal(pg_grid_msg_serialize(&m, &b, NULL), PG_OK);
  pg_buf_put_u8(&b, 0);
  char *s = strdup((const char *)b.data);
  pg_buf_free(&b);
  return s;
}

static char *hello_text(const pg_tls_key *k, const char *id, const char *names, const char *root,
                        const char *side_key, uint64_t t) {
  return hello_text_of(k, id, names, root, side_key, t, NULL);
}

/* ---- channels whose trees hold several messages ---- */

/* Makes the main channel of entity `id` (role's database) a device's that
 * puts `count` messages in each Merkle tree (mam.js with count 4), before
 * anything is signed or registered on it: the state, the registered root and
 * the queued hello's binding become those of the first count-leaf tree. */
static void tree_channel(world *w, const char *id, const char *role, const pg_tls_key *k,
                         uint32_t count) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s/%s.db", w->root, id, role);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT state, side_key FROM channels WHERE name = 'main'",
                                      -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  pg_mam_channel ch;
  pg_diag d = {{0}};
  const char *js = (const char *)sqlite3_column_text(st, 0);
  assert_int_equal(pg_mam_channel_load(&ch, js, strlen(js), &d), PG_OK);
  char side_key[82];
  snprintf(side_key, sizeof side_key, "%s", (const char *)sqlite3_column_text(st, 1));
  sqlite3_finalize(st);
  assert_int_equal(ch.start, 0); /* nothing signed yet */
  ch.count = ch.next_count = count;
  char root[82];
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  pg_buf b;
  pg_buf_init(&b, 4096);
  assert_int_equal(pg_mam_channel_save(&ch, &b), PG_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "UPDATE channels SET state = ?1, root = ?2 WHERE name = 'main'",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, (const char *)b.data, (int)b.len, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, root, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  char *hello = hello_text(k, id, id, root, side_key, pg_clock_now(&w->tf.clock.base));
  assert_int_equal(sqlite3_prepare_v2(db, "UPDATE outbox SET body = ?1 WHERE seq ="
                                          " (SELECT MIN(seq) FROM outbox WHERE channel = 'main')"
                                          " AND payload IS NULL",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, hello, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_finalize(st);
  free(hello);
  sqlite3_close(db);
  pg_buf_free(&b);
  pg_mam_channel_wipe(&ch);
}

/* The leaf a registration's cursor is at (registrations.next_leaf). */
/* The integer sql reads (one row) from the database file at path. */
static int64_t file_scalar(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static int64_t cursor_leaf(world *w, const char *dir, const char *role, const char *id) {
  char path[700], sql[200];
  snprintf(path, sizeof path, "%s/%s/%s.db", w->root, dir, role);
  snprintf(sql, sizeof sql, "SELECT next_leaf FROM registrations WHERE id = '%s'", id);
  return file_scalar(path, sql);
}

/* Sources, a producer and a consumer whose devices put 4 (2, 8) messages in
 * each tree: the producers and the grid read every message, in order, also
 * across restarts in the middle of trees; the books balance as in an
 * ordinary run (every source reading reached the grid, every consumer
 * reading was billed). mam.js's reading (one message per tree) would lose
 * three readings in four. */
static void test_tree_channels(void **state) {
  (void)state;
  world *w = world_new();
  tree_channel(w, "source-0", "source", w->keys[NPROD + 0], 4);
  tree_channel(w, "source-1", "source", w->keys[NPROD + 1], 2);
  tree_channel(w, "source-2", "source", w->keys[NPROD + 2], 8);
  tree_channel(w, "producer-0", "producer", w->keys[0], 4);
  tree_channel(w, "consumer-0", "consumer", w->keys[NPROD + NSRC], 4);
  bool mid_tree = false;
  for (int round = 0; round < 4; round++) {
    run(w, SLOT_MS + 750 * (uint64_t)round);
    if (cursor_leaf(w, "producer-0", "producer", "source-0") != 0) mid_tree = true;
    close_entities(w);
    open_entities(w);
  }
  run(w, 2 * SLOT_MS);
  drain(w);
  check_books(w);
  assert_true(mid_tree); /* a restart happened with a cursor inside a tree */
  json_t *s = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_source_status(w->src[0], &s, &d), PG_OK);
  assert_true(jint(s, "slotsReported") >= 5); /* hello + 5 readings: two trees of source-0 */
  json_decref(s);
  world_free(w);
}

/* A grid database from before complete reading (registrations without
 * next_leaf) is migrated on open and reading goes on. */
static void test_registry_migration(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 2 * SLOT_MS);
  close_entities(w);
  char path[700];
  snprintf(path, sizeof path, "%s/grid/grid.db", w->root);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "ALTER TABLE registrations DROP COLUMN next_leaf", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  open_entities(w);
  assert_int_equal(cursor_leaf(w, "grid", "grid", "producer-0"), 0);
  run(w, 3 * SLOT_MS);
  drain(w);
  check_books(w);
  world_free(w);
}

static unsigned put_as(world *w, const pg_httpd_peer *p, const char *path, const char *body,
                       pg_buf *resp) {
  unsigned st = 0;
  pg_buf_reset(resp);
  assert_int_equal(pg_gridop_handle(w->grid, p, "PUT", path, body, strlen(body), &st, resp), PG_OK);
  return st;
}

static bool says(const pg_buf *resp, const char *word) {
  char text[1024];
  size_t n = resp->len < sizeof text - 1 ? resp->len : sizeof text - 1;
  memcpy(text, resp->data, n);
  text[n] = '\0';
  if (!strstr(text, word)) print_error("answer '%s' lacks '%s'\n", text, word);
  return strstr(text, word) != NULL;
}

static int64_t file_page_size(world *w, const char *name, const char *file) {
  char dir[600], path[700];
  dir_of(w, name, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return file_scalar(path, "PRAGMA page_size");
}

/* Members' new databases have 1 KiB pages (small rows, small commits), the
 * grid's SQLite's 4 KiB (the record's parts are tens of KiB). */
static void test_database_page_sizes(void **state) {
  (void)state;
  world *w = world_new();
  assert_int_equal(file_page_size(w, "grid", "grid.db"), 4096);
  assert_int_equal(file_page_size(w, "producer-0", "producer.db"), 1024);
  assert_int_equal(file_page_size(w, "source-0", "source.db"), 1024);
  assert_int_equal(file_page_size(w, "consumer-0", "consumer.db"), 1024);
  world_free(w);
}

/* The registration API: only enrolled members, with their own certificate
 * and a fresh binding signature (docs/PROTOCOL.md, docs/SECURITY.md). Each
 * refusal is counted; nothing is registered by it. */
static void test_registration_api(void **state) {
  (void)state;
  world *w = world_new();
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  unsigned st = 0;
  pg_diag d = {{0}};
  const char *root = "ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9";
  uint64_t now = pg_clock_now(&w->tf.clock.base);
  pg_tls_key *c9 = member_key(w, "c9", PG_ROLE_CONSUMER, NULL);
  pg_tls_key *p9 = member_key(w, "p9", PG_ROLE_PRODUCER, NULL);
  pg_tls_key *s9 = member_key(w, "s9", PG_ROLE_SOURCE, "producer-0");
  pg_httpd_peer pc9 = peer_of(c9), pp9 = peer_of(p9), ps9 = peer_of(s9);
  pg_httpd_peer nobody = {.tls = true};
  snprintf(nobody.why, sizeof nobody.why, "no client certificate");
  char body[2048];
  reg_body(c9, "c9", "consumer", root, "KEY", now, body, sizeof body);
  /* no certificate; not enrolled yet */
  assert_int_equal(put_as(w, &nobody, "/registration/c9", body, &resp), 403);
  assert_true(says(&resp, "no client certificate"));
  assert_int_equal(put_as(w, &pc9, "/registration/c9", body, &resp), 403);
  assert_true(says(&resp, "not enrolled"));
  enrol(w, c9, NULL);
  enrol(w, p9, NULL);
  /* under another member's id; a consumer certificate registering a producer */
  assert_int_equal(put_as(w, &pc9, "/registration/consumer-0", body, &resp), 403);
  assert_true(says(&resp, "not for 'consumer-0'"));
  char pbody[2048];
  reg_body(c9, "c9", "producer", root, "KEY", now, pbody, sizeof pbody);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", pbody, &resp), 403);
  assert_true(says(&resp, "consumer certificate"));
  /* unsigned, signed by another key, signed for another channel, stale */
  char bad[2048];
  reg_body(NULL, "c9", "consumer", root, "KEY", now, bad, sizeof bad);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", bad, &resp), 403);
  reg_body(p9, "c9", "consumer", root, "KEY", now, bad, sizeof bad);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", bad, &resp), 403);
  assert_true(says(&resp, "does not verify"));
  reg_body(c9, "c9", "consumer", root, "KEY", now - 3600 * 1000, bad, sizeof bad);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", bad, &resp), 403);
  /* a source at the grid (a valid source certificate, but the grid takes none) */
  reg_body(s9, "s9", "source", root, "K", now, bad, sizeof bad);
  assert_int_equal(put_as(w, &ps9, "/registration/s9", bad, &resp), 403);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", "{\"name\":1}", &resp), 400);
  assert_true(says(&resp, "name"));
  /* right: 201 with the return channel */
  assert_int_equal(put_as(w, &pc9, "/registration/c9", body, &resp), 201);
  /* the answer: the return channel and the grid's public record root */
  pg_grid_reg_answer ans;
  assert_int_equal(pg_grid_reg_answer_parse(resp.data, resp.len, &ans, NULL), PG_OK);
  assert_true(ans.has_return);
  assert_int_equal(strlen(ans.record), 81);
  pg_grid_channel ret = ans.ret;
  /* the same body again is a replay: 409 */
  assert_int_equal(put_as(w, &pc9, "/registration/c9", body, &resp), 409);
  assert_true(says(&resp, "replayed"));
  /* a fresh binding of the same channel: 200 and the same return channel */
  reg_body(c9, "c9", "consumer", root, "KEY", now + 1, body, sizeof body);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", body, &resp), 200);
  pg_grid_reg_answer ans2;
  assert_int_equal(pg_grid_reg_answer_parse(resp.data, resp.len, &ans2, NULL), PG_OK);
  pg_grid_channel ret2 = ans2.ret;
  assert_string_equal(ans.record, ans2.record);
  assert_string_equal(ret.root, ret2.root);
  /* another channel under the same id: 409 */
  reg_body(c9, "c9", "consumer", root, "OTHER", now + 2, body, sizeof body);
  assert_int_equal(put_as(w, &pc9, "/registration/c9", body, &resp), 409);
  /* (a new minute: the rate limit counts DELETE too) */
  pg_vclock_advance(&w->tf.clock, 60000);
  /* DELETE: the side key in a URL is gone; without the owner's certificate 403 */
  assert_int_equal(pg_gridop_handle(w->grid, &pc9, "DELETE", "/registration/c9/KEY", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 410);
  assert_int_equal(pg_gridop_handle(w->grid, &nobody, "DELETE", "/registration/c9", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 403);
  assert_int_equal(pg_gridop_handle(w->grid, &pp9, "DELETE", "/registration/c9", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 403);
  assert_int_equal(pg_gridop_handle(w->grid, &pc9, "DELETE", "/registration/c9", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 204);
  assert_int_equal(pg_gridop_handle(w->grid, &pc9, "DELETE", "/registration/c9", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 404);
  assert_int_equal(pg_gridop_handle(w->grid, &pc9, "GET", "/registration/c9", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 405);
  assert_int_equal(pg_gridop_handle(w->grid, &pc9, "PUT", "/elsewhere", NULL, 0, &st, &resp), PG_OK);
  assert_int_equal(st, 404);
  /* the rate limit: 10 a minute per member, the 11th and later 429 */
  unsigned last = 0;
  for (int i = 0; i < 12; i++) last = put_as(w, &pp9, "/registration/p9", "{}", &resp);
  assert_int_equal(last, 429);
  /* every refusal counted; nothing of them registered */
  json_t *gs = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
  json_t *e = json_object_get(gs, "errors");
  assert_int_equal(json_integer_value(json_object_get(e, "refused_no_cert")), 2); /* PUT + DELETE */
  assert_int_equal(json_integer_value(json_object_get(e, "refused_not_enrolled")), 1);
  assert_int_equal(json_integer_value(json_object_get(e, "refused_wrong_id")), 2);
  assert_int_equal(json_integer_value(json_object_get(e, "refused_role")), 1);
  assert_int_equal(json_integer_value(json_object_get(e, "refused_unsigned")), 1);
  assert_int_equal(json_integer_value(json_object_get(e, "refused_binding")), 1);
  assert_int_equal(json_integer_value(json_object_get(e, "refused_binding_time")), 1);
  assert_int_equal(json_integer_value(json_object_get(e, "refused_replay")), 1);
  assert_true(json_integer_value(json_object_get(e, "refused_rate")) >= 2);
  json_decref(gs);
  json_t *gp = NULL;
  assert_int_equal(pg_gridop_producers(w->grid, &gp, &d), PG_OK);
  for (size_t i = 0; i < json_array_size(gp); i++)
    assert_string_not_equal(json_string_value(json_object_get(json_array_get(gp, i), "id")), "p9");
  json_decref(gp);
  pg_tls_key_free(c9);
  pg_tls_key_free(p9);
  pg_tls_key_free(s9);
  pg_buf_free(&resp);
  world_free(w);
}

/* A producer's API takes only a source certificate naming that producer. */
static void test_producer_registration(void **state) {
  (void)state;
  world *w = world_new();
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  unsigned st = 0;
  const char *root = "ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9";
  uint64_t now = pg_clock_now(&w->tf.clock.base);
  pg_tls_key *other = member_key(w, "s-other", PG_ROLE_SOURCE, "producer-1");
  pg_tls_key *mine = member_key(w, "s-mine", PG_ROLE_SOURCE, "producer-0");
  pg_httpd_peer po = peer_of(other), pm = peer_of(mine);
  char body[2048];
  reg_body(other, "s-other", "source", root, "K", now, body, sizeof body);
  assert_int_equal(pg_producer_handle(w->prod[0], &po, "PUT", "/registration/s-other", body, strlen(body), &st, &resp), PG_OK);
  assert_int_equal(st, 403);
  assert_true(says(&resp, "names producer 'producer-1'"));
  reg_body(mine, "s-mine", "source", root, "K", now, body, sizeof body);
  assert_int_equal(pg_producer_handle(w->prod[0], &pm, "PUT", "/registration/s-mine", body, strlen(body), &st, &resp), PG_OK);
  assert_int_equal(st, 201);
  pg_tls_key_free(other);
  pg_tls_key_free(mine);
  pg_buf_free(&resp);
  world_free(w);
}

/* A channel registered under an id its first message does not name is never
 * used; forged and malformed messages are counted, never booked. */
static void test_forged_channel(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  /* an attacker registers a channel whose hello names somebody else */
  pg_mam_channel ch;
  char seed[82];
  assert_int_equal(pg_mam_random_trytes(seed, 81), PG_OK);
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "SECRET", 6, 1, &d), PG_OK);
  char root[82];
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  /* (the hello carries no certificate either: refused on either count) */
  const char *texts[] = {
      "{\"command\":\"hello\",\"registrationId\":\"producer-0\",\"time\":1}",
      "{\"command\":\"output\",\"slot\":1,\"startTime\":4000,\"endTime\":8000,\"output\":5,"
      "\"paymentAddress\":\"atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx\"}"};
  for (int i = 0; i < 2; i++) {
    char *tr = NULL;
    size_t tl = 0;
    assert_int_equal(pg_mam_text_to_trytes(texts[i], strlen(texts[i]), &tr, &tl), PG_OK);
    pg_mam_message m = {0};
    assert_int_equal(pg_mam_create_message(&ch, tr, tl, &m, &d), PG_OK);
    uint8_t id[32];
    assert_int_equal(pg_mam_attach(w->c, &m, NULL, 0, id, &d), PG_OK);
    pg_mam_message_free(&m);
    free(tr);
  }
  pg_tls_key *evil = member_key(w, "evil", PG_ROLE_PRODUCER, NULL);
  enrol(w, evil, NULL);
  pg_httpd_peer pe = peer_of(evil);
  char body[2048];
  reg_body(evil, "evil", "producer", root, "SECRET", pg_clock_now(&w->tf.clock.base), body,
           sizeof body);
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  assert_int_equal(put_as(w, &pe, "/registration/evil", body, &resp), 201);
  pg_buf_free(&resp);
  pg_tls_key_free(evil);
  run(w, 3 * SLOT_MS);
  json_t *gp = NULL, *gs = NULL;
  assert_int_equal(pg_gridop_producers(w->grid, &gp, &d), PG_OK);
  size_t i;
  json_t *row;
  bool seen = false;
  json_array_foreach(gp, i, row) {
    if (strcmp(json_string_value(json_object_get(row, "id")), "evil") == 0) {
      seen = true;
      assert_string_equal(json_string_value(json_object_get(row, "state")), "rejected");
      assert_int_equal(jint(row, "readings"), 0);
    }
  }
  assert_true(seen);
  assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
  assert_int_equal(jint(json_object_get(gs, "errors"), "rejected_channels"), 1);
  json_decref(gp);
  json_decref(gs);
  pg_mam_channel_wipe(&ch);
  world_free(w);
}

/* Publishes texts on a new restricted channel; returns its root. */
static void publish(world *w, pg_mam_channel *ch, const char *const *texts, size_t n) {
  pg_diag d = {{0}};
  for (size_t i = 0; i < n; i++) {
    char *tr = NULL;
    size_t tl = 0;
    assert_int_equal(pg_mam_text_to_trytes(texts[i], strlen(texts[i]), &tr, &tl), PG_OK);
    pg_mam_message m = {0};
    assert_int_equal(pg_mam_create_message(ch, tr, tl, &m, &d), PG_OK);
    uint8_t id[32];
    assert_int_equal(pg_mam_attach(w->c, &m, NULL, 0, id, &d), PG_OK);
    pg_mam_message_free(&m);
    free(tr);
  }
}

static json_int_t counter(json_t *status, const char *name) {
  json_t *v = json_object_get(json_object_get(status, "errors"), name);
  return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* A registered producer that misbehaves: malformed messages, a reading from
 * the future, wrong slot times, an out-of-range number, a replayed slot, a
 * usage message; and a payment with a reference no bill has. Each is
 * counted, none is booked, and the honest participants' books stay exact. */
static void test_bad_input(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  pg_mam_channel ch;
  char seed[82], root[82];
  assert_int_equal(pg_mam_random_trytes(seed, 81), PG_OK);
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "KEY", 3, 1, &d), PG_OK);
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  pg_tls_key *rogue = member_key(w, "rogue", PG_ROLE_PRODUCER, NULL);
  enrol(w, rogue, "atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx");
  pg_httpd_peer pr = peer_of(rogue);
  char body[2048];
  uint64_t t0 = pg_clock_now(&w->tf.clock.base);
  reg_body(rogue, "rogue", "producer", root, "KEY", t0, body, sizeof body);
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  assert_int_equal(put_as(w, &pr, "/registration/rogue", body, &resp), 201);
  pg_buf_free(&resp);
  char *hello = hello_text(rogue, "rogue", "rogue", root, "KEY", t0);
  pg_tls_key_free(rogue);
  uint64_t k = TT_START_MS / SLOT_MS; /* the slot the run starts in */
  char good[400], future[400], times[400], dup[400], absurd[400];
  const char *addr = "atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx";
  snprintf(good, sizeof good, "{\"command\":\"output\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,\"output\":0.5,\"paymentAddress\":\"%s\"}",
           (unsigned long long)k, (unsigned long long)(k * SLOT_MS), (unsigned long long)((k + 1) * SLOT_MS), addr);
  snprintf(future, sizeof future, "{\"command\":\"output\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,\"output\":1,\"paymentAddress\":\"%s\"}",
           (unsigned long long)(k + 1000), (unsigned long long)((k + 1000) * SLOT_MS), (unsigned long long)((k + 1001) * SLOT_MS), addr);
  snprintf(times, sizeof times, "{\"command\":\"output\",\"slot\":%llu,\"startTime\":1000,\"endTime\":2000,\"output\":1,\"paymentAddress\":\"%s\"}",
           (unsigned long long)(k + 1), addr);
  /* the replay also names another payment address: the enrolled one stays */
  uint8_t other_raw[32];
  memset(other_raw, 0x11, sizeof other_raw);
  char other[PG_BECH32_MAX_LEN + 1];
  assert_int_equal(pg_iota_address_encode("atoi", other_raw, other, sizeof other), PG_OK);
  snprintf(dup, sizeof dup, "{\"command\":\"output\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,\"output\":0.9,\"paymentAddress\":\"%s\"}",
           (unsigned long long)k, (unsigned long long)(k * SLOT_MS), (unsigned long long)((k + 1) * SLOT_MS), other);
  /* a later slot reported at 999,999,999 kWh: above any capacity */
  snprintf(absurd, sizeof absurd, "{\"command\":\"output\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,\"output\":999999999,\"paymentAddress\":\"%s\"}",
           (unsigned long long)(k - 1), (unsigned long long)((k - 1) * SLOT_MS), (unsigned long long)(k * SLOT_MS), addr);
  const char *texts[] = {
      hello,
      "this is not json",
      "{\"command\":\"output\",\"slot\":1,\"startTime\":1000,\"endTime\":2000,\"output\":1.2345}",
      "{\"command\":\"usage\",\"slot\":1,\"startTime\":1000,\"endTime\":2000,\"usage\":1}",
      future, times, good, dup, absurd};
  publish(w, &ch, texts, sizeof texts / sizeof *texts);
  free(hello);
  /* a payment to the grid with a reference no bill has */
  pg_wallet *cw = NULL;
  assert_int_equal(pg_wallet_new(w->c, w->seeds[1 + NPROD], 32, NULL, &cw, &d), PG_OK);
  json_t *gs0 = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &gs0, &d), PG_OK);
  run(w, 250); /* the grid learns its address */
  json_decref(gs0);
  assert_int_equal(pg_gridop_status(w->grid, &gs0, &d), PG_OK);
  const char *gaddr = json_string_value(json_object_get(gs0, "address"));
  pg_wallet_output out = {.amount = 5 * MI};
  assert_int_equal(pg_iota_address_decode(gaddr, strlen(gaddr), NULL, NULL, 0, out.address, &d), PG_OK);
  json_decref(gs0);
  pg_wallet_send_opts so = {.index = (const uint8_t *)"p2pgrid:no-such-bill", .index_len = 20};
  uint8_t mid[32];
  assert_int_equal(pg_wallet_send(cw, &out, 1, &so, mid, NULL, &d), PG_OK);
  pg_wallet_free(cw);
  run(w, 6 * SLOT_MS);
  drain(w);
  json_t *gs = NULL, *gp = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
  assert_int_equal(counter(gs, "bad_messages"), 2);
  assert_int_equal(counter(gs, "rejected_readings"), 1);   /* wrong slot times */
  assert_int_equal(counter(gs, "quarantined_readings"), 2); /* 1000 slots ahead; absurd */
  json_t *q = NULL;
  assert_int_equal(pg_gridop_quarantine(w->grid, &q, &d), PG_OK);
  assert_int_equal(json_array_size(q), 2);
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(q, 0), "reason")),
                         "in the future"));
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(q, 1), "reason")),
                         "above the capacity"));
  json_decref(q);
  assert_int_equal(counter(gs, "duplicate_readings"), 1);
  assert_int_equal(counter(gs, "address_change_refused"), 1);
  assert_int_equal(counter(gs, "unexpected_messages"), 1);
  assert_int_equal(counter(gs, "unknown_payments"), 1);
  assert_int_equal(pg_gridop_producers(w->grid, &gp, &d), PG_OK);
  size_t i;
  json_t *row;
  json_array_foreach(gp, i, row) {
    if (strcmp(json_string_value(json_object_get(row, "id")), "rogue") == 0) {
      assert_int_equal(jint(row, "readings"), 1);   /* only the good one */
      assert_int_equal(jint(row, "outputWh"), 500); /* the replay did not replace it */
    }
  }
  json_decref(gs);
  json_decref(gp);
  pg_mam_channel_wipe(&ch);
  world_free(w);
}

/* A member registers its channel under another member's side key (it
 * learned it, or both picked the same weak key). The record keys of the two
 * must still differ: otherwise both lines of a slot carry the same tag and
 * the grid could not settle that slot for anybody. The slots settle, each
 * line opens with its own member's key only, and the books stay exact. */
static void test_shared_side_key(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  run(w, SLOT_MS); /* the honest members register */
  char sk[82], seed[82], root[82];
  member_side_key(w, "producer-0", "producer", sk);
  pg_mam_channel ch;
  assert_int_equal(pg_mam_random_trytes(seed, 81), PG_OK);
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, sk, strlen(sk), 1, &d),
                   PG_OK);
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  const char *addr = "atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx";
  pg_tls_key *twin = member_key(w, "twin", PG_ROLE_PRODUCER, NULL);
  enrol(w, twin, addr);
  pg_httpd_peer pt = peer_of(twin);
  char body[2048];
  uint64_t t0 = pg_clock_now(&w->tf.clock.base);
  reg_body(twin, "twin", "producer", root, sk, t0, body, sizeof body);
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  assert_int_equal(put_as(w, &pt, "/registration/twin", body, &resp), 201);
  pg_buf_free(&resp);
  char *hello = hello_text(twin, "twin", "twin", root, sk, t0);
  pg_tls_key_free(twin);
  uint64_t k = t0 / SLOT_MS;
  char out[2][400];
  for (int j = 0; j < 2; j++)
    snprintf(out[j], sizeof out[j],
             "{\"command\":\"output\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,"
             "\"output\":0.25,\"paymentAddress\":\"%s\"}",
             (unsigned long long)(k + (uint64_t)j), (unsigned long long)((k + (uint64_t)j) * SLOT_MS),
             (unsigned long long)((k + (uint64_t)j + 1) * SLOT_MS), addr);
  const char *texts[] = {hello, out[0]};
  publish(w, &ch, texts, 2);
  free(hello);
  run(w, SLOT_MS); /* the next slot's reading once that slot has begun */
  publish(w, &ch, (const char *const[]){out[1]}, 1);
  run(w, 4 * SLOT_MS);
  drain(w);
  /* both of the twin's slots settled, with everybody else's */
  json_t *slots = NULL, *gp = NULL;
  assert_int_equal(pg_gridop_slots(w->grid, k, k + 1, &slots, &d), PG_OK);
  assert_int_equal(json_array_size(slots), 2);
  json_decref(slots);
  assert_int_equal(pg_gridop_producer_slots(w->grid, "twin", 0, UINT64_MAX, &gp, &d), PG_OK);
  if (json_array_size(gp) != 2) {
    char *dump = json_dumps(gp, 0);
    json_t *gs = NULL;
    assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
    char *ds = json_dumps(json_object_get(gs, "errors"), 0);
    fail_msg("twin's slots (k=%llu): %s; errors %s", (unsigned long long)k, dump, ds);
  }
  json_decref(gp);
  /* the same side key, two members: two keys, and each opens only its line */
  uint8_t m0[32], m1[32];
  assert_int_equal(pg_record_member_key("producer-0", sk, strlen(sk), m0), PG_OK);
  assert_int_equal(pg_record_member_key("twin", sk, strlen(sk), m1), PG_OK);
  assert_memory_not_equal(m0, m1, 32);
  check_record_with(w, "twin");
  check_books_extra(w, 500); /* the twin's two readings of 250 Wh */
  pg_mam_channel_wipe(&ch);
  world_free(w);
}

/* Issue 13: one consumer's absurd usage never stops the grid. It is
 * quarantined; the operator lists it; released, it cannot be billed (its bill
 * would be over 2^53-1), so settlement quarantines the party again and the
 * slot settles for everyone else with exact books; a rejected one stays out. */
static void test_quarantine(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  pg_cert_opts co = {.id = "whale", .role = PG_ROLE_CONSUMER, .max_w = 1000000};
  char *kp = NULL, *cp = NULL;
  pg_tls_key *whale = NULL;
  assert_int_equal(pg_ca_issue(w->ca, &co, &kp, &cp, &d), PG_OK);
  assert_int_equal(pg_tls_key_from_pem(kp, cp, &whale, &d), PG_OK);
  pg_tls_free_secret(kp);
  free(cp);
  enrol(w, whale, NULL);
  pg_mam_channel ch;
  char seed[82], root[82], body[2048];
  assert_int_equal(pg_mam_random_trytes(seed, 81), PG_OK);
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "WKEY", 4, 1, &d), PG_OK);
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  uint64_t t0 = pg_clock_now(&w->tf.clock.base), k = t0 / SLOT_MS;
  reg_body(whale, "whale", "consumer", root, "WKEY", t0, body, sizeof body);
  pg_httpd_peer pw = peer_of(whale);
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  assert_int_equal(put_as(w, &pw, "/registration/whale", body, &resp), 201);
  pg_buf_free(&resp);
  char *hello = hello_text(whale, "whale", "whale", root, "WKEY", t0);
  char absurd[300], old[300];
  snprintf(absurd, sizeof absurd, "{\"command\":\"usage\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,\"usage\":999999999}",
           (unsigned long long)k, (unsigned long long)(k * SLOT_MS), (unsigned long long)((k + 1) * SLOT_MS));
  uint64_t o = k - 5000;
  snprintf(old, sizeof old, "{\"command\":\"usage\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,\"usage\":0.001}",
           (unsigned long long)o, (unsigned long long)(o * SLOT_MS), (unsigned long long)((o + 1) * SLOT_MS));
  const char *texts[] = {hello, absurd, old};
  publish(w, &ch, texts, 3);
  free(hello);
  run(w, 4 * SLOT_MS);
  json_t *q = NULL;
  assert_int_equal(pg_gridop_quarantine(w->grid, &q, &d), PG_OK);
  if (json_array_size(q) != 2) {
    char *t = json_dumps(q, 0);
    json_t *gs = NULL;
    assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
    char *u = json_dumps(json_object_get(gs, "errors"), 0);
    json_t *gc = NULL;
    assert_int_equal(pg_gridop_consumers(w->grid, &gc, &d), PG_OK);
    char *v = json_dumps(gc, 0);
    fprintf(stderr, "consumers: %s\n", v);
    fail_msg("quarantine: %s; errors %s", t, u);
  }
  char kinds[600];
  json_t *ev = events_of(w, PG_EVENTS_MEMBER, "whale", PG_EVENTS_MAX, kinds, sizeof kinds);
  assert_non_null(strstr(kinds, "quarantine"));
  size_t held = 0;
  for (size_t i = 0; i < json_array_size(ev); i++) {
    json_t *e = json_array_get(ev, i);
    if (strcmp(json_string_value(json_object_get(e, "kind")), "quarantine") != 0) continue;
    held++;
    assert_string_equal(json_string_value(json_object_get(e, "member")), "whale");
    assert_string_equal(json_string_value(json_object_get(e, "state")), "held");
    assert_non_null(json_string_value(json_object_get(e, "reason")));
  }
  assert_int_equal(held, 2);
  json_decref(ev);
  json_int_t id_absurd = json_integer_value(json_object_get(json_array_get(q, 0), "id"));
  json_int_t id_old = json_integer_value(json_object_get(json_array_get(q, 1), "id"));
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(q, 1), "reason")),
                         "older than the late window"));
  json_decref(q);
  /* the operator releases the absurd one and rejects the old one */
  char dir[600];
  dir_of(w, "grid", dir, sizeof dir);
  assert_int_equal(pg_grid_quarantine(dir, "release", id_absurd, NULL, &d), PG_OK);
  assert_int_equal(pg_grid_quarantine(dir, "reject", id_old, NULL, &d), PG_OK);
  assert_int_equal(pg_grid_quarantine(dir, "reject", id_old, NULL, &d), PG_ERR_NOT_FOUND);
  run(w, 4 * SLOT_MS);
  drain(w);
  assert_int_equal(pg_gridop_quarantine(w->grid, &q, &d), PG_OK);
  assert_int_equal(json_array_size(q), 1); /* back in, as unsettleable */
  assert_non_null(strstr(json_string_value(json_object_get(json_array_get(q, 0), "reason")),
                         "outside 0..2^53-1"));
  json_decref(q);
  check_books(w); /* everyone else: settled, billed, paid, exact */
  json_t *gc = NULL;
  assert_int_equal(pg_gridop_consumers(w->grid, &gc, &d), PG_OK);
  for (size_t i = 0; i < json_array_size(gc); i++) {
    json_t *row = json_array_get(gc, i);
    if (strcmp(json_string_value(json_object_get(row, "id")), "whale") == 0)
      assert_int_equal(jint(row, "billed"), 0);
  }
  json_decref(gc);
  pg_mam_channel_wipe(&ch);
  pg_tls_key_free(whale);
  world_free(w);
}

/* Issue 13: payments are matched from the ledger. 600 open bills that are
 * never paid do not starve later payments; 300 junk messages under a bill's
 * reference neither hide its payment nor book a second one. */
static void test_payments(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  char path[700];
  dir_of(w, "grid/grid.db", path, sizeof path);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_exec(db,
                                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                                " WHERE i < 600) INSERT INTO bills(request_id, slot, consumer_id,"
                                " usage_wh, community_wh, amount, fee, owed, baseline, reference)"
                                " SELECT 'ghost-' || i, 1, 'ghost', 1, 0, 5, 0, 5, 5,"
                                " 'p2pgrid:ghost-' || i FROM n",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  /* the first real bill: junk under its reference before the consumer pays */
  char ref[PG_GRID_MAX_REFERENCE + 1] = "";
  for (int i = 0; i < 400 && !ref[0]; i++) {
    run(w, 250);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT reference FROM bills WHERE consumer_id != 'ghost'"
                                            " ORDER BY rowid LIMIT 1", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) snprintf(ref, sizeof ref, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  assert_true(ref[0] != '\0');
  for (int i = 0; i < 300; i++) {
    uint8_t id[32];
    char junk[32];
    snprintf(junk, sizeof junk, "junk %d", i);
    assert_int_equal(pg_client_submit_data(w->c, (const uint8_t *)ref, strlen(ref),
                                           (const uint8_t *)junk, strlen(junk), id, &d), PG_OK);
  }
  run(w, 6 * SLOT_MS);
  /* with the ghosts still open: every real bill of the slots before the last
   * two is paid exactly once */
  uint64_t k_now = pg_clock_now(&w->tf.clock.base) / SLOT_MS;
  char sql[300];
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*), SUM(paid < owed), SUM(paid > owed) FROM bills"
           " WHERE consumer_id != 'ghost' AND slot < %llu",
           (unsigned long long)(k_now - 2));
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_true(sqlite3_column_int(st, 0) >= 3);
  assert_int_equal(sqlite3_column_int(st, 1), 0);
  assert_int_equal(sqlite3_column_int(st, 2), 0);
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bills WHERE consumer_id = 'ghost'"
                                          " AND paid = 0", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 600);
  sqlite3_finalize(st);
  /* without the synthetic ghosts the books are exact, each payment once */
  assert_int_equal(sqlite3_exec(db, "DELETE FROM bills WHERE consumer_id = 'ghost'", NULL, NULL, NULL),
                   SQLITE_OK);
  drain(w);
  check_books(w);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bills b WHERE (SELECT COUNT(*) FROM"
                                          " incoming i WHERE i.request_id = b.request_id) != 1",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  world_free(w);
}

/* Issue 15: a run across midnight UTC of 30 November 2023 with a tariff
 * (membership 5 Mi, 20 % VAT): in the first slot of December the grid bills
 * November's monthly items once per consumer (bills.kind = 'month', 0 Wh);
 * consumer-0, whose highest monthly charge is 1 base unit, refuses its month
 * bill (counted, never paid); the others pay theirs like any bill. */
static void test_month_bills(void **state) {
  (void)state;
  g_tariff = (pg_tariff){.membership_fee = 5 * MI, .vat_bp = 2000};
  g_cons0_max_monthly = 1;
  g_start_ms = 1701388800000ULL - 10 * SLOT_MS; /* 2023-12-01T00:00Z less 10 slots */
  world *w = world_new();
  g_tariff = (pg_tariff){0};
  g_cons0_max_monthly = g_start_ms = 0;
  pg_diag d = {{0}};
  run(w, 16 * SLOT_MS);
  bool paid = false;
  for (int k = 0; k < 400 && !paid; k++) {
    pg_vclock_advance(&w->tf.clock, 9);
    step_all(w);
    tt_issue(w->tf.t, 1);
    sqlite3 *db = NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/grid/grid.db", w->root);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT COUNT(*), SUM(usage_wh), MIN(slot), MAX(slot),"
                                        " SUM(paid >= owed AND consumer_id != 'consumer-0'),"
                                        " SUM(paid > 0 AND consumer_id = 'consumer-0'), MIN(owed)"
                                        " FROM bills WHERE kind = 'month'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), NCONS); /* once each, never again */
    assert_int_equal(sqlite3_column_int64(st, 1), 0);
    assert_int_equal(sqlite3_column_int64(st, 2), 1701388800000LL / (int64_t)SLOT_MS);
    assert_int_equal(sqlite3_column_int64(st, 3), 1701388800000LL / (int64_t)SLOT_MS);
    assert_int_equal(sqlite3_column_int(st, 5), 0); /* consumer-0 never pays it */
    assert_true(sqlite3_column_int64(st, 6) >= 6 * (int64_t)MI); /* membership + VAT at least */
    paid = sqlite3_column_int(st, 4) == NCONS - 1;
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  assert_true(paid);
  json_t *c = NULL;
  assert_int_equal(pg_consumer_status(w->cons[0], &c, &d), PG_OK);
  assert_true(jint(json_object_get(c, "errors"), "refused_requests") >= 1);
  json_decref(c);
  world_free(w);
}

/* Issue 13: a consumer pays only what it owes. With a highest price of 1
 * base unit per kWh every request of this grid is refused, counted, never
 * paid; the grid sees them outstanding; nothing else breaks. */
static void test_refused_request(void **state) {
  (void)state;
  g_cons0_max_price = 1;
  world *w = world_new();
  g_cons0_max_price = 0;
  pg_diag d = {{0}};
  run(w, 8 * SLOT_MS);
  json_t *c = NULL;
  assert_int_equal(pg_consumer_status(w->cons[0], &c, &d), PG_OK);
  assert_true(jint(c, "refused") >= 2);
  assert_int_equal(jint(c, "paid"), 0);
  assert_true(jint(json_object_get(c, "errors"), "refused_requests") >= 2);
  json_decref(c);
  /* the others pay everything (steps without ending another slot) */
  json_t *gc = NULL;
  bool others_paid = false;
  for (int k = 0; k < 400 && !others_paid; k++) {
    pg_vclock_advance(&w->tf.clock, 9);
    step_all(w);
    tt_issue(w->tf.t, 1);
    json_decref(gc);
    assert_int_equal(pg_gridop_consumers(w->grid, &gc, &d), PG_OK);
    others_paid = true;
    for (int i = 1; i < NCONS; i++) {
      json_t *r = json_array_get(gc, (size_t)i);
      others_paid = others_paid && jint(r, "outstanding") == 0 && jint(r, "paid") > 0;
    }
  }
  assert_true(others_paid);
  json_t *row = json_array_get(gc, 0);
  assert_int_equal(jint(row, "paid"), 0);
  assert_true(jint(row, "outstanding") > 0);
  json_decref(gc);
  world_free(w);
}

/* Issue 13: what the grid pays out never exceeds what consumers paid plus
 * the float. With a float of 1 base unit producers are paid only from
 * consumers' payments; the invariant holds after every step. */
static void test_payout_float(void **state) {
  (void)state;
  g_grid_float = 1;
  world *w = world_new();
  g_grid_float = 0;
  char path[700];
  dir_of(w, "grid/grid.db", path, sizeof path);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  int64_t out = 0;
  for (int i = 0; i < 40; i++) {
    run(w, SLOT_MS / 4);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT COALESCE(SUM(total),0) FROM batches),"
                                            " (SELECT COALESCE(SUM(amount),0) FROM incoming WHERE"
                                            " request_id NOT LIKE '(%')", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    out = sqlite3_column_int64(st, 0);
    int64_t in = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (out > in + 1) fail_msg("paid out %lld with %lld received and a float of 1", (long long)out, (long long)in);
  }
  assert_true(out > 0); /* producers were paid, from what came in */
  sqlite3_close(db);
  world_free(w);
}

/* The node goes away for two slots: every entity keeps its readings in its
 * outbox, counts the failures, and catches up when the node is back; the
 * books are exact as if nothing happened. */
static void test_node_outage(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 3 * SLOT_MS);
  w->net.down = true;
  run(w, 2 * SLOT_MS);
  json_t *s = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_source_status(w->src[0], &s, &d), PG_OK);
  assert_true(jint(s, "unsentMessages") >= 2);
  assert_true(counter(s, "attach_failures") >= 1);
  json_decref(s);
  w->net.down = false;
  run(w, 2 * SLOT_MS);
  drain(w);
  check_books(w);
  check_record(w);
  world_free(w);
}

/* The node answers the grid's list of unspent outputs and each output, then
 * dies before the message that made one can be read (integration/grid_crash
 * caught this under kill -9): the payment must not be booked as the grid's
 * own money, it is booked to its bill once the node answers again. */
static void test_node_dies_mid_scan(void **state) {
  (void)state;
  world *w = world_new();
  run(w, 3 * SLOT_MS);
  w->net.raw_down = true;
  run(w, 3 * SLOT_MS);
  w->net.raw_down = false;
  run(w, 2 * SLOT_MS);
  drain(w);
  check_books(w);
  char path[700];
  dir_of(w, "grid/grid.db", path, sizeof path);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bills b WHERE (SELECT COUNT(*) FROM"
                                          " incoming i WHERE i.request_id = b.request_id) != 1",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  world_free(w);
}

/* ---- resources (issue 16) ---- */

/* Member `id` (a new key of role, enrolled at the grid; a source: at
 * producer-0) registers a new channel and publishes a hello of resource
 * hello_res and then texts on it. */
static void foreign_channel(world *w, const char *id, pg_role role, const pg_resource *hello_res,
                            const char *const *texts, size_t n) {
  pg_diag d = {{0}};
  pg_mam_channel ch;
  char seed[82], root[82], body[2048];
  assert_int_equal(pg_mam_random_trytes(seed, 81), PG_OK);
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "KEY", 3, 1, &d), PG_OK);
  assert_int_equal(pg_mam_channel_root(&ch, root), PG_OK);
  bool source = role == PG_ROLE_SOURCE;
  pg_tls_key *k = member_key(w, id, role, source ? "producer-0" : NULL);
  if (!source) enrol(w, k, role == PG_ROLE_PRODUCER ? ADDR_ROGUE : NULL);
  pg_httpd_peer pr = peer_of(k);
  uint64_t t0 = pg_clock_now(&w->tf.clock.base);
  reg_body(k, id, source ? "source" : role == PG_ROLE_PRODUCER ? "producer" : "consumer", root,
           "KEY", t0, body, sizeof body);
  char path[128];
  snprintf(path, sizeof path, "/registration/%s", id);
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  unsigned st = 0;
  assert_int_equal(source ? pg_producer_handle(w->prod[0], &pr, "PUT", path, body, strlen(body),
                                               &st, &resp)
                          : pg_gridop_handle(w->grid, &pr, "PUT", path, body, strlen(body), &st,
                                             &resp),
                   PG_OK);
  assert_int_equal(st, 201);
  pg_buf_free(&resp);
  char *hello = hello_text_of(k, id, id, root, "KEY", t0, hello_res);
  pg_tls_key_free(k);
  publish(w, &ch, (const char *const[]){hello}, 1);
  publish(w, &ch, texts, n);
  free(hello);
  pg_mam_channel_wipe(&ch);
}

/* A reading of slot k as text: version 1 ("output":0.5) or 2 (500 L). */
static void reading_text(const char *cmd, uint64_t k, const pg_resource *r, char *out, size_t cap) {
  pg_grid_msg m;
  memset(&m, 0, sizeof m);
  pg_grid_msg_set_resource(&m, r);
  m.command = strcmp(cmd, "usage") == 0 ? PG_GRID_CMD_USAGE : PG_GRID_CMD_OUTPUT;
  if (m.command == PG_GRID_CMD_USAGE) {
    m.u.usage = (pg_grid_usage){.slot = k, .start_time = k * SLOT_MS,
                                .end_time = (k + 1) * SLOT_MS, .usage_wh = 500};
  } else {
    m.u.output = (pg_grid_output){.slot = k, .start_time = k * SLOT_MS,
                                  .end_time = (k + 1) * SLOT_MS, .output_wh = 500};
    snprintf(m.u.output.payment_address, sizeof m.u.output.payment_address, "%s", ADDR_ROGUE);
  }
  pg_buf b;
  pg_buf_init(&b, PG_GRID_MAX_JSON);
  assert_int_equal(pg_grid_msg_serialize(&m, &b, NULL), PG_OK);
  assert_true(b.len < cap);
  memcpy(out, b.data, b.len);
  out[b.len] = '\0';
  pg_buf_free(&b);
}

/* The first row of sql on the database of entity dir (role's), read-only:
 * *db and the stepped statement (finalize both). */
static sqlite3_stmt *entity_row(world *w, const char *dir, const char *role, const char *sql,
                                sqlite3 **db) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s/%s.db", w->root, dir, role);
  assert_int_equal(sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(*db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  return st;
}

static const char *status_resource(json_t *status) {
  return json_string_value(json_object_get(json_object_get(status, "resource"), "name"));
}

/* An electricity grid: a water consumer's channel is rejected, a water
 * reading on an electricity producer's active channel is refused (its
 * electricity reading of the same slot is settled), a producer rejects a
 * water source; each is counted "wrong_resource" and the grid keeps
 * settling everybody else exactly. */
static void test_wrong_resource(void **state) {
  (void)state;
  world *w = world_new();
  pg_diag d = {{0}};
  pg_resource water;
  assert_int_equal(pg_resource_preset("water", &water), PG_OK);
  uint64_t k = TT_START_MS / SLOT_MS;
  char wet[512], dry[512];
  reading_text("usage", k, &water, wet, sizeof wet);
  foreign_channel(w, "consumer-water", PG_ROLE_CONSUMER, &water, (const char *const[]){wet}, 1);
  reading_text("output", k, &water, wet, sizeof wet);
  reading_text("output", k, NULL, dry, sizeof dry);
  foreign_channel(w, "rogue", PG_ROLE_PRODUCER, NULL, (const char *const[]){wet, dry}, 2);
  foreign_channel(w, "source-water", PG_ROLE_SOURCE, &water, (const char *const[]){wet}, 1);
  run(w, 6 * SLOT_MS);
  drain(w);
  json_t *gs = NULL, *gp = NULL, *ps = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
  assert_string_equal(status_resource(gs), "electricity");
  assert_int_equal(counter(gs, "wrong_resource"), 2);
  assert_int_equal(counter(gs, "rejected_channels"), 1);
  assert_int_equal(counter(gs, "rejected_readings"), 1);
  assert_int_equal(pg_gridop_producers(w->grid, &gp, &d), PG_OK);
  size_t i;
  json_t *row;
  bool seen = false;
  json_array_foreach(gp, i, row) {
    if (strcmp(json_string_value(json_object_get(row, "id")), "rogue") == 0) {
      assert_int_equal(jint(row, "readings"), 1);   /* the electricity one */
      assert_int_equal(jint(row, "outputWh"), 500);
      seen = true;
    }
  }
  assert_true(seen);
  assert_int_equal(pg_producer_status(w->prod[0], &ps, &d), PG_OK);
  assert_string_equal(status_resource(ps), "electricity");
  assert_int_equal(counter(ps, "wrong_resource"), 1);
  assert_int_equal(counter(ps, "rejected_channels"), 1);
  json_decref(ps);
  json_decref(gp);
  json_decref(gs);
  /* the rejected channel is the consumer's, with the reason naming both */
  sqlite3 *db = NULL;
  sqlite3_stmt *st = entity_row(w, "grid", "grid",
                                "SELECT state, error FROM registrations"
                                " WHERE id = 'consumer-water'",
                                &db);
  assert_int_equal(sqlite3_column_int(st, 0), 3); /* rejected */
  assert_string_equal((const char *)sqlite3_column_text(st, 1),
                      "channel consumer-water: resource water/L is not this grid's electricity/Wh");
  sqlite3_finalize(st);
  sqlite3_close(db);
  world_free(w);
}

/* A water community: every entity writes version 2 water messages, litres
 * arrive and settle exactly (sources = producers = grid, consumers = grid),
 * and an electricity (version 1) channel is rejected and counted. */
static void test_water_grid(void **state) {
  (void)state;
  assert_int_equal(pg_resource_preset("water", &g_resource), PG_OK);
  world *w = world_new();
  memset(&g_resource, 0, sizeof g_resource);
  pg_diag d = {{0}};
  uint64_t k = TT_START_MS / SLOT_MS;
  char dry[512];
  reading_text("usage", k, NULL, dry, sizeof dry);
  foreign_channel(w, "consumer-volt", PG_ROLE_CONSUMER, NULL, (const char *const[]){dry}, 1);
  run(w, 8 * SLOT_MS);
  drain(w);
  check_books(w);
  check_record(w);
  json_t *gs = NULL, *s = NULL, *c = NULL;
  assert_int_equal(pg_gridop_status(w->grid, &gs, &d), PG_OK);
  assert_string_equal(status_resource(gs), "water");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(gs, "resource"), "displayUnit")), "m³");
  assert_int_equal(counter(gs, "wrong_resource"), 1);
  assert_int_equal(counter(gs, "rejected_channels"), 1);
  assert_int_equal(pg_source_status(w->src[0], &s, &d), PG_OK);
  assert_string_equal(status_resource(s), "water");
  assert_int_equal(pg_consumer_status(w->cons[2], &c, &d), PG_OK);
  assert_string_equal(status_resource(c), "water");
  json_decref(c);
  json_decref(s);
  json_decref(gs);
  /* what went on the Tangle: version 2 in litres */
  sqlite3 *db = NULL;
  sqlite3_stmt *st = entity_row(w, "consumer-2", "consumer",
                                "SELECT body FROM outbox WHERE channel = 'main'"
                                " ORDER BY seq LIMIT 2",
                                &db);
  for (int i = 0; i < 2; i++) {
    if (i) assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *body = (const char *)sqlite3_column_text(st, 0);
    pg_grid_msg m;
    assert_int_equal(pg_grid_msg_parse(body, strlen(body), &m, &d), PG_OK);
    assert_int_equal(m.version, PG_GRID_VERSION_2);
    assert_string_equal(m.resource, "water");
    assert_string_equal(m.unit, "L");
    if (i == 1) { /* the meter's litres, exactly, as a JSON integer */
      assert_int_equal(m.command, PG_GRID_CMD_USAGE);
      assert_non_null(strstr(body, "\"bidPerUnit\":250000000"));
      int64_t want = 0;
      assert_int_equal(tm_energy(&w->cmeter[2].base, m.u.usage.start_time, m.u.usage.end_time,
                                 &want, NULL),
                       PG_OK);
      assert_int_equal(m.u.usage.usage_wh, want);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  world_free(w);
}

int main(void) {
  pg_log_set_level(PG_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_database_page_sizes),
      cmocka_unit_test(test_registration_api),
      cmocka_unit_test(test_producer_registration),
      cmocka_unit_test(test_forged_channel),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_shared_side_key),
      cmocka_unit_test(test_quarantine),
      cmocka_unit_test(test_payments),
      cmocka_unit_test(test_refused_request),
      cmocka_unit_test(test_month_bills),
      cmocka_unit_test(test_payout_float),
      cmocka_unit_test(test_node_outage),
      cmocka_unit_test(test_node_dies_mid_scan),
      cmocka_unit_test(test_grid_run),
      cmocka_unit_test_setup_teardown(test_grid_run, batching_on, batching_off),
      cmocka_unit_test_setup_teardown(test_payments, batching_on, batching_off),
      cmocka_unit_test_setup_teardown(test_node_dies_mid_scan, batching_on, batching_off),
      cmocka_unit_test_setup_teardown(test_booking_stops_midway, batching_on, batching_off),
      cmocka_unit_test_teardown(test_grid_read_ahead, read_ahead_off),
      cmocka_unit_test_setup_teardown(test_producer_payment_poll, long_slots, long_slots_off),
      cmocka_unit_test_setup_teardown(test_grid_scan_poll, long_slots, long_slots_off),
      cmocka_unit_test_setup_teardown(test_payment_follow_poll, long_slots, long_slots_off),
      cmocka_unit_test_teardown(test_sole_databases, sole_off),
      cmocka_unit_test(test_booking_stops_midway),
      cmocka_unit_test(test_bills_indexed),
      cmocka_unit_test(test_grid_restart),
      cmocka_unit_test(test_tree_channels),
      cmocka_unit_test(test_registry_migration),
      cmocka_unit_test(test_wrong_resource),
      cmocka_unit_test(test_water_grid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
