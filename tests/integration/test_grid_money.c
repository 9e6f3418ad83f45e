/* The money path against bad readings, bad payments and failing storage
 * (issue 13), with real processes on loopback over mutual TLS: a node with a
 * coordinator (a milestone a second, no PoW), the grid (pay-as-clear, slots
 * of 3 s), producer-0 with one CSV source, consumer-0 (a CSV meter, pays its
 * bills), consumer-1 (max_price_per_kwh = 1: refuses every request), and
 * three enrolled members whose channels the test writes itself with the MAM
 * code and the wire protocol (a signed registration over mutual TLS, a bound
 * hello, then readings): consumer-x, producer-x (enrolled with 100 kW) and
 * producer-y (a thread writes its output every slot, each naming a new
 * paymentAddress). The cases, one after the other in this one world:
 *  1. consumer-x reports 999,999,999 kWh: quarantined, listed by
 *     `p2pgrid grid quarantine list`; released, settlement holds the party
 *     again (its bill is over 2^53-1) and settles the slot for everyone
 *     else; then rejected with `reject ID`;
 *  2. producer-x reports 5 kWh in a slot (its capacity: 83 Wh): quarantined;
 *  3. consumer-x reports the next slot, a slot 5,000 slots old and one 1,000
 *     slots ahead (the window is [now - 96 slots, now + 1 slot]): quarantined;
 *  4. producer-y is paid only to its enrolled address (address_change_refused
 *     counted, nothing held, every payout batch confirmed; the addresses it
 *     named hold nothing);
 *  7. consumer-1 refuses every request (refused, refused_requests) and pays
 *     nothing while consumer-0 pays;
 *  6. a thread reads each new bill's reference from the grid's database as
 *     it appears and posts 50 junk indexation messages under it: every bill
 *     is paid exactly once (one `incoming` row);
 *  5. 600 open bills of a consumer that never pays are put into the grid's
 *     database: consumer-0's later bills are all paid; the rows go again;
 *  8. the grid is restarted with P2PGRID_DB_FAULT failing the settlement,
 *     payout and matching INSERTs three times each, then the bookkeeping of a
 *     payout it has just sent once: it logs "step failed, retrying" and
 *     recovers; the sent payout is found again, not sent twice.
 * Case 6 also puts 50 junk messages under each of the next four payout
 * indexes as an attacker would predict them (p2pgrid:payout:<batch id>);
 * the real ones carry a random part (batch_refs), so the junk never reaches
 * them. Case 8 repeats the failed bookkeeping after 1,001 junk messages went
 * under the predicted indexes (more than the 1,000 a node lists; before the
 * random part this made the lookup miss the payout and the grid pay twice).
 * After each case the grid still settles (a later bill paid, a later payout
 * batch confirmed) and the books reconcile to the unit against the node's
 * ledger, all read in one ledger state: the balances of every known address
 * sum to the genesis; each consumer's balance is its funding less what the
 * grid booked as paid by it; each producer's balance is what the grid paid
 * out to it in confirmed batches; the grid's balance is its funding plus the
 * payments less the payouts; no bill is paid more than owed or twice. At the
 * end the restarted node reports the genesis total in unspent outputs.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/tls/tls.h"

#define SLOT_MS 3000ULL
#define FUND 1000000000000ULL /* 1 Ti: the grid's float and each paying consumer's money */
#define GENESIS (3 * FUND)
#define DEADLINE_MS 90000
#define JUNK_PER_REF 50
#define GHOSTS 600
#define MAX_FAKE 256
#define SIDE_KEY "MONEYKEY"

/* wallets: seed i is wallet i; the genesis funds the grid and both consumers */
enum { W_GRID, W_PROD0, W_CONS0, W_CONS1, W_PRODX, W_PRODY, NSEED };
static const char *const k_wallet_id[NSEED] = {"grid",       "producer-0", "consumer-0",
                                               "consumer-1", "producer-x", "producer-y"};
static const bool k_funded[NSEED] = {true, false, true, true, false, false};

static char g_dir[120], g_ca[160], g_hrp[16];
static proc g_node, g_grid, g_prod, g_src, g_cons0, g_cons1;
static harness_tls g_op;
static uint8_t g_addr[NSEED][32];
static char g_bech[NSEED][PG_BECH32_MAX_LEN + 1];
static uint64_t g_t_end;
static pg_client *g_client; /* the main thread's node client (MAM) */

/* A member whose channel the test writes. */
typedef struct rogue {
  const char *id;
  pg_grid_entity type;
  harness_tls tls;
  pg_mam_channel ch;
} rogue;
static rogue g_cx = {.id = "consumer-x", .type = PG_GRID_ENTITY_CONSUMER};
static rogue g_px = {.id = "producer-x", .type = PG_GRID_ENTITY_PRODUCER};
static rogue g_py = {.id = "producer-y", .type = PG_GRID_ENTITY_PRODUCER};

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

/* ---- the grid's database, read-only (WAL: never in the grid's way) ---- */

static sqlite3 *grid_db(bool rw) {
  char path[300];
  snprintf(path, sizeof path, "%s/grid/grid.db", g_dir);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    fail_msg("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
  sqlite3_busy_timeout(db, 10000);
  return db;
}

/* The first column of the first row of sql on db (?1 = arg when given). */
static int64_t db_i64_on(sqlite3 *db, const char *sql, const char *arg) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
  int s = sqlite3_step(st);
  if (s != SQLITE_ROW) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int64_t grid_i64(const char *sql, const char *arg) {
  sqlite3 *db = grid_db(false);
  int64_t v = db_i64_on(db, sql, arg);
  sqlite3_close(db);
  return v;
}

/* The text of the first column of the first row of sql (malloc'd) or NULL. */
static char *grid_text(const char *sql) {
  sqlite3 *db = grid_db(false);
  sqlite3_stmt *st = NULL;
  char *v = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    v = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void grid_exec(const char *sql) {
  sqlite3 *db = grid_db(true);
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
  sqlite3_close(db);
}

/* ---- the world ---- */

static void write_seeds(void) {
  char path[300], hex[65], line[100];
  path_of(path, sizeof path, "genesis.txt");
  FILE *g = fopen(path, "w");
  assert_non_null(g);
  for (int i = 0; i < NSEED; i++) {
    uint8_t seed[32];
    for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(0x2b * (i + 3) + 7 * j);
    assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, g_addr[i]), 0);
    pg_hex_encode(seed, 32, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g_dir, i);
    write_file(path, line);
    pg_hex_encode(g_addr[i], 32, hex);
    if (k_funded[i]) fprintf(g, "%s %llu\n", hex, FUND);
  }
  fclose(g);
}

/* The node's HRP, and every wallet's address in bech32 with it. */
static void learn_hrp(void) {
  resp r;
  json_t *d = get_data(&g_node, "/api/v1/info", &r);
  snprintf(g_hrp, sizeof g_hrp, "%s", jstr(d, "bech32HRP"));
  resp_free(&r);
  for (int i = 0; i < NSEED; i++)
    assert_int_equal(pg_iota_address_encode(g_hrp, g_addr[i], g_bech[i], sizeof g_bech[i]), 0);
}

/* p2pgrid ca issue; consumers serve their status over HTTPS on 127.0.0.1. */
static void issue(const char *id, const char *role, const char *parent, const char *max_kw,
                  harness_tls *out) {
  char prefix[200], log[320];
  path_of(prefix, sizeof prefix, id);
  snprintf(log, sizeof log, "%s.issue.log", prefix);
  const char *argv[20] = {P2PGRID_BIN, "ca", "issue", "--dir", g_ca, "--id", id, "--role", role,
                          "--out", prefix};
  int n = 11;
  if (parent) argv[n++] = "--parent", argv[n++] = parent;
  if (max_kw) argv[n++] = "--max-kw", argv[n++] = max_kw;
  if (strcmp(role, "consumer") == 0) argv[n++] = "--host", argv[n++] = "127.0.0.1";
  argv[n] = NULL;
  run_ok(argv, log);
  if (out) {
    snprintf(out->ca, sizeof out->ca, "%s/ca.crt", g_ca);
    snprintf(out->cert, sizeof out->cert, "%s.crt", prefix);
    snprintf(out->key, sizeof out->key, "%s.key", prefix);
  }
}

/* The daemons' directory, CA, node and slots (harness grid_dirs). */
static grid_dirs dirs(void) {
  return (grid_dirs){.dir = g_dir, .ca_dir = g_ca, .node_url = g_node.base, .slot_ms = SLOT_MS};
}

static void write_config(const char *role, const char *id, const char *upstream, int seed,
                         const char *extra) {
  grid_dirs g = dirs();
  write_entity_config(&g, role, id, upstream, seed, extra);
}

static void write_csv(const char *name, double watts, double step) {
  char path[300];
  path_of(path, sizeof path, name);
  write_csv_meter(path, SLOT_MS, g_t_end, watts, step);
}

static void enrol(const char *id, const char *address) {
  grid_dirs g = dirs();
  grid_enrol(&g, id, address);
}

static void start(proc *p, const char *cmd, const char *id) {
  char cfg[300];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g_dir, id);
  snprintf(p->name, sizeof p->name, "%s", id);
  proc_start_cmd(p, cmd, cfg, NULL);
}

/* The members: the meters run at megawatts, so members are enrolled with
 * 10 MW; producer-x with 100 kW (83 Wh in a slot of 3 s). */
static void make_members(void) {
  snprintf(g_ca, sizeof g_ca, "%s/ca", g_dir);
  ca_init(g_ca);
  issue("grid", "grid", NULL, NULL, NULL);
  issue("operator", "operator", NULL, NULL, &g_op);
  issue("producer-0", "producer", NULL, "10000", NULL);
  issue("source-0", "source", "producer-0", NULL, NULL);
  issue("consumer-0", "consumer", NULL, "10000", NULL);
  issue("consumer-1", "consumer", NULL, "10000", NULL);
  issue(g_cx.id, "consumer", NULL, "10000", &g_cx.tls);
  issue(g_px.id, "producer", NULL, "100", &g_px.tls);
  issue(g_py.id, "producer", NULL, "10000", &g_py.tls);
  g_tls = g_op;
}

static void start_world(void) {
  snprintf(g_dir, sizeof g_dir, "%s/money", g_root);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  make_members();
  write_seeds();
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  char genesis[300], meter[400];
  path_of(genesis, sizeof genesis, "genesis.txt");
  proc_start_coordinator(&g_node, genesis);
  learn_hrp();
  pg_http_client_opts co = {.base_url = g_node.base};
  pg_diag d = {{0}};
  if (pg_client_http_new(&co, &g_client, &d) != PG_OK) fail_msg("node client: %s", d.msg);
  g_t_end = (wall_ms() / SLOT_MS + 400) * SLOT_MS;
  write_csv("source-0.csv", 3000000, 1000000);
  write_csv("consumer-0.csv", 2000000, 700000);
  write_csv("consumer-1.csv", 200000, 50000);
  write_config("grid", "grid", NULL, W_GRID,
               "mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\n"
               "grace = 1500ms\npayout_min = 0\ndust_allowance = 10000000\n"
               "float = 500000000000\n"); /* exports are paid from it: ~250 Mi a slot */
  enrol("producer-0", NULL);
  enrol("consumer-0", NULL);
  enrol("consumer-1", NULL);
  enrol(g_cx.id, NULL);
  enrol(g_px.id, g_bech[W_PRODX]);
  enrol(g_py.id, g_bech[W_PRODY]);
  start(&g_grid, "grid", "grid");
  write_config("producer", "producer-0", g_grid.base, W_PROD0, "ask_per_kwh = 90000000\ngrace = 1s\n");
  start(&g_prod, "producer", "producer-0");
  snprintf(meter, sizeof meter, "\n[meter]\nkind = csv\npath = %s/source-0.csv\nwrap = false\n", g_dir);
  write_config("source", "source-0", g_prod.base, -1, meter);
  start(&g_src, "source", "source-0");
  snprintf(meter, sizeof meter, "bid_per_kwh = 250000000\n\n[meter]\nkind = csv\npath = %s/consumer-0.csv\nwrap = false\n", g_dir);
  write_config("consumer", "consumer-0", g_grid.base, W_CONS0, meter);
  start(&g_cons0, "consumer", "consumer-0");
  snprintf(meter, sizeof meter, "bid_per_kwh = 250000000\nmax_price_per_kwh = 1\n\n[meter]\nkind = csv\n"
                                "path = %s/consumer-1.csv\nwrap = false\n", g_dir);
  write_config("consumer", "consumer-1", g_grid.base, W_CONS1, meter);
}

/* ---- the members whose channels the test writes ---- */

/* Publishes text as the next message of ch; 0, or -1 with err. */
static int publish(pg_client *c, pg_mam_channel *ch, const char *text, char *err, size_t cap) {
  char *tr = NULL;
  size_t tl = 0;
  pg_diag d = {{0}};
  pg_mam_message m = {0};
  uint8_t id[32];
  int rc = pg_mam_text_to_trytes(text, strlen(text), &tr, &tl);
  if (rc) snprintf(d.msg, sizeof d.msg, "not text");
  if (!rc) rc = pg_mam_create_message(ch, tr, tl, &m, &d);
  if (!rc) rc = pg_mam_attach(c, &m, NULL, 0, id, &d);
  if (rc) snprintf(err, cap, "%s", d.msg);
  pg_mam_message_free(&m);
  free(tr);
  return rc ? -1 : 0;
}

static void rogue_publish(rogue *r, const char *text) {
  char err[300];
  if (publish(g_client, &r->ch, text, err, sizeof err)) fail_msg("%s: publish: %s", r->id, err);
}

/* A usage or output message for slot k (kwh as written on the wire). */
static void reading_text(char *out, size_t cap, const rogue *r, uint64_t k, const char *kwh,
                         const char *address) {
  bool prod = r->type == PG_GRID_ENTITY_PRODUCER;
  int n = snprintf(out, cap, "{\"command\":\"%s\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,"
                             "\"%s\":%s", prod ? "output" : "usage", (unsigned long long)k,
                   (unsigned long long)(k * SLOT_MS), (unsigned long long)((k + 1) * SLOT_MS),
                   prod ? "output" : "usage", kwh);
  if (prod)
    n += snprintf(out + n, cap - (size_t)n, ",\"askPerKwh\":50000000,\"paymentAddress\":\"%s\"",
                  address ? address : "");
  snprintf(out + n, cap - (size_t)n, "}");
}

/* The member's signature over the binding of (root, side key) at t. */
static pg_grid_signature bind_sig(const pg_tls_key *k, const char *id, const pg_grid_channel *ch,
                                  uint64_t t) {
  pg_grid_signature sig = {{0}, 0};
  pg_buf b;
  pg_buf_init(&b, 1024);
  assert_int_equal(pg_grid_binding_bytes(id, ch, t, &b, NULL), PG_OK);
  assert_int_equal(pg_tls_sign(k, b.data, b.len, sig.sig, sizeof sig.sig, &sig.sig_len, NULL), PG_OK);
  pg_buf_free(&b);
  return sig;
}

/* Registers a fresh restricted channel at the grid over mutual TLS with the
 * member's certificate (a signed binding) and writes its bound hello. */
static void rogue_register(rogue *r) {
  pg_diag d = {{0}};
  char seed[PG_MAM_HASH_TRYTES + 1];
  pg_grid_channel gc;
  assert_int_equal(pg_mam_random_trytes(seed, PG_MAM_HASH_TRYTES), PG_OK);
  assert_int_equal(pg_mam_channel_create(&r->ch, seed, PG_MAM_RESTRICTED, SIDE_KEY,
                                         strlen(SIDE_KEY), 1, &d), PG_OK);
  assert_int_equal(pg_mam_channel_root(&r->ch, gc.root), PG_OK);
  snprintf(gc.side_key, sizeof gc.side_key, "%s", SIDE_KEY);
  pg_tls_key *k = NULL;
  if (pg_tls_key_load(r->tls.key, r->tls.cert, &k, &d)) fail_msg("key %s: %s", r->tls.key, d.msg);
  uint64_t t = wall_ms();
  pg_grid_registration reg = {.type = r->type, .mode = PG_GRID_MODE_RESTRICTED, .channel = gc,
                              .time = t};
  snprintf(reg.name, sizeof reg.name, "%s", r->id);
  reg.signature = bind_sig(k, r->id, &gc, t);
  pg_buf b;
  pg_buf_init(&b, PG_GRID_MAX_JSON + 1);
  assert_int_equal(pg_grid_registration_serialize(&reg, &b, NULL), PG_OK);
  char path[100];
  snprintf(path, sizeof path, "/registration/%s", r->id);
  resp rs;
  http_as(&g_grid, &r->tls, "PUT", path, "application/json", b.data, b.len, NULL, &rs);
  if (rs.status != 201) fail_msg("%s: registration: %ld %s", r->id, rs.status, rs.body ? rs.body : "");
  resp_free(&rs);
  pg_grid_msg m = {.command = PG_GRID_CMD_HELLO};
  snprintf(m.u.hello.registration_id, sizeof m.u.hello.registration_id, "%s", r->id);
  m.u.hello.time = t;
  const uint8_t *der = pg_tls_key_cert_der(k, &m.u.hello.cert_len);
  assert_true(der && m.u.hello.cert_len <= sizeof m.u.hello.cert);
  memcpy(m.u.hello.cert, der, m.u.hello.cert_len);
  m.u.hello.signature = reg.signature;
  pg_buf_reset(&b);
  assert_int_equal(pg_grid_msg_serialize(&m, &b, NULL), PG_OK);
  pg_buf_put_u8(&b, 0);
  rogue_publish(r, (const char *)b.data);
  pg_buf_free(&b);
  pg_tls_key_free(k);
}

static void wait_active(const char *id) {
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (grid_i64("SELECT COUNT(*) FROM registrations WHERE id = ?1 AND state = 1", id) != 1) {
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("the channel of %s did not become active", id);
    }
    sleep_ms(100);
  }
}

/* ---- producer-y: an output every slot, each naming a new address ---- */

typedef struct changer {
  pthread_t th;
  bool started;
  atomic_bool stop;
  atomic_int published, failures, n_fake;
  uint8_t fake[MAX_FAKE][32];
  char err[300];
} changer;
static changer g_chg;

static void *changer_main(void *arg) {
  changer *c = arg;
  pg_http_client_opts co = {.base_url = g_node.base};
  pg_client *cl = NULL;
  pg_diag d = {{0}};
  if (pg_client_http_new(&co, &cl, &d) != PG_OK) {
    snprintf(c->err, sizeof c->err, "client: %s", d.msg);
    atomic_fetch_add(&c->failures, 1);
    return NULL;
  }
  uint64_t last = wall_ms() / SLOT_MS;
  while (!atomic_load(&c->stop)) {
    uint64_t now_slot = wall_ms() / SLOT_MS;
    if (now_slot > last) {
      int i = atomic_load(&c->n_fake);
      if (i == MAX_FAKE) i = MAX_FAKE - 1;
      for (int j = 0; j < 32; j++) c->fake[i][j] = (uint8_t)(0x5a ^ (i * 31 + j * 7 + 1));
      atomic_store(&c->n_fake, i + 1);
      char bech[PG_BECH32_MAX_LEN + 1], text[600];
      if (pg_iota_address_encode(g_hrp, c->fake[i], bech, sizeof bech) != PG_OK) bech[0] = '\0';
      reading_text(text, sizeof text, &g_py, now_slot - 1, "1.5", bech);
      if (publish(cl, &g_py.ch, text, c->err, sizeof c->err) == 0) atomic_fetch_add(&c->published, 1);
      else atomic_fetch_add(&c->failures, 1);
      last = now_slot;
    }
    sleep_ms(50);
  }
  pg_client_free(cl);
  return NULL;
}

/* ---- junk under every new bill's reference ---- */

typedef struct junker {
  pthread_t th;
  bool started;
  atomic_bool stop;
  atomic_int refs, posted, failures;
  _Atomic int64_t from_rowid, last_rowid; /* bills (from, last] were junked */
  char err[300];
} junker;
static junker g_junk;

/* Posts n indexation messages under ref. */
static void junk_one(junker *j, pg_client *cl, const char *ref, int n_msgs) {
  for (int i = 0; i < n_msgs; i++) {
    char data[64];
    uint8_t id[32];
    pg_diag d = {{0}};
    int n = snprintf(data, sizeof data, "not a payment %d", i);
    if (pg_client_submit_data(cl, (const uint8_t *)ref, strlen(ref), (const uint8_t *)data,
                              (size_t)n, id, &d) == PG_OK)
      atomic_fetch_add(&j->posted, 1);
    else
      atomic_fetch_add(&j->failures, 1), snprintf(j->err, sizeof j->err, "%s", d.msg);
  }
  atomic_fetch_add(&j->refs, 1);
}

static void *junk_main(void *arg) {
  junker *j = arg;
  pg_http_client_opts co = {.base_url = g_node.base};
  pg_client *cl = NULL;
  pg_diag d = {{0}};
  sqlite3 *db = NULL;
  char path[300];
  snprintf(path, sizeof path, "%s/grid/grid.db", g_dir);
  if (pg_client_http_new(&co, &cl, &d) != PG_OK ||
      sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    snprintf(j->err, sizeof j->err, "client or database: %s", d.msg);
    atomic_fetch_add(&j->failures, 1);
    pg_client_free(cl);
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 10000);
  while (!atomic_load(&j->stop)) {
    sqlite3_stmt *st = NULL;
    int64_t rowid = 0;
    char ref[PG_GRID_MAX_REFERENCE + 1] = "";
    if (sqlite3_prepare_v2(db, "SELECT rowid, reference FROM bills WHERE rowid > ?1 AND consumer_id"
                               " LIKE 'consumer-_' ORDER BY rowid LIMIT 1", -1, &st, NULL) == SQLITE_OK) {
      sqlite3_bind_int64(st, 1, atomic_load(&j->last_rowid));
      if (sqlite3_step(st) == SQLITE_ROW) {
        rowid = sqlite3_column_int64(st, 0);
        snprintf(ref, sizeof ref, "%s", (const char *)sqlite3_column_text(st, 1));
      }
    }
    sqlite3_finalize(st);
    if (ref[0]) {
      junk_one(j, cl, ref, JUNK_PER_REF);
      atomic_store(&j->last_rowid, rowid);
    } else {
      sleep_ms(20);
    }
  }
  sqlite3_close(db);
  pg_client_free(cl);
  return NULL;
}

/* Posts n junk messages under each of the next k payout indexes as one
 * would guess them (p2pgrid:payout:<batch id>, the old sequential form). */
static void junk_next_payouts(int k, int n) {
  int64_t b = grid_i64("SELECT COALESCE(MAX(id), 0) FROM batches", NULL);
  junker j;
  memset(&j, 0, sizeof j);
  for (int i = 1; i <= k; i++) {
    char ref[64];
    snprintf(ref, sizeof ref, "p2pgrid:payout:%lld", (long long)(b + i));
    junk_one(&j, g_client, ref, n);
  }
  if (atomic_load(&j.failures)) fail_msg("junk under payout indexes: %s", j.err);
}

/* ---- the books ---- */

typedef struct books {
  long long ledger_index;
  long long bal[NSEED];
  long long fake; /* what the addresses producer-y named hold */
  long long paid_by[NSEED], out_to[NSEED];
  long long in_bills, out_confirmed, unknown, overpaid, multi;
} books;

/* The balance of addr on the node and the ledger index it was read at. */
static long long balance_of(const uint8_t addr[32], long long *index) {
  char hex[65], path[200];
  resp r;
  pg_hex_encode(addr, 32, hex);
  snprintf(path, sizeof path, "/api/v1/addresses/ed25519/%s", hex);
  json_t *d = get_data(&g_node, path, &r);
  long long v = jint(d, "balance");
  *index = jint(d, "ledgerIndex");
  resp_free(&r);
  return v;
}

/* Every known address's balance; false when the ledger moved meanwhile. */
static bool ledger_read(books *b) {
  long long idx = 0, first = -1;
  bool same = true;
  for (int i = 0; i < NSEED; i++) {
    b->bal[i] = balance_of(g_addr[i], &idx);
    same = same && (first < 0 || idx == first);
    first = first < 0 ? idx : first;
  }
  b->fake = 0;
  int n = atomic_load(&g_chg.n_fake);
  for (int i = 0; i < n; i++) {
    b->fake += balance_of(g_chg.fake[i], &idx);
    same = same && idx == first;
  }
  b->ledger_index = first;
  return same;
}

/* The grid's side, in one read transaction. */
static void grid_read(books *b) {
  sqlite3 *db = grid_db(false);
  assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  for (int i = 0; i < NSEED; i++) {
    b->paid_by[i] = db_i64_on(db, "SELECT COALESCE(SUM(paid), 0) FROM bills WHERE consumer_id = ?1",
                              k_wallet_id[i]);
    b->out_to[i] = db_i64_on(db, "SELECT COALESCE(SUM(p.amount), 0) FROM payouts p JOIN batches b"
                                 " ON b.id = p.batch_id WHERE b.state = 2 AND p.producer_id = ?1",
                             k_wallet_id[i]);
  }
  b->in_bills = db_i64_on(db, "SELECT COALESCE(SUM(amount), 0) FROM incoming WHERE request_id"
                              " NOT LIKE '(%'", NULL);
  b->out_confirmed = db_i64_on(db, "SELECT COALESCE(SUM(total), 0) FROM batches WHERE state = 2", NULL);
  b->unknown = db_i64_on(db, "SELECT COUNT(*) FROM incoming WHERE request_id = '(unknown)'", NULL);
  b->overpaid = db_i64_on(db, "SELECT COUNT(*) FROM bills WHERE paid > owed", NULL);
  b->multi = db_i64_on(db, "SELECT COUNT(*) FROM bills b WHERE (SELECT COUNT(*) FROM incoming i"
                           " WHERE i.request_id = b.request_id) > 1", NULL);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* What never holds at any moment: fails the test at once. */
static void books_invariants(const books *b, const char *label) {
  long long sum = b->fake;
  for (int i = 0; i < NSEED; i++) sum += b->bal[i];
  if (sum != (long long)GENESIS)
    fail_msg("%s: the known addresses hold %lld at ledger index %lld, the genesis %llu", label, sum,
             b->ledger_index, GENESIS);
  if (b->fake) fail_msg("%s: the addresses producer-y named hold %lld", label, b->fake);
  if (b->overpaid || b->multi || b->unknown)
    fail_msg("%s: %lld bills paid more than owed, %lld paid by more than one output, %lld unknown"
             " payments", label, b->overpaid, b->multi, b->unknown);
}

/* Whether the node's ledger and the grid's books agree to the unit; why
 * lists every difference. */
static bool books_agree(const books *b, char *why, size_t cap) {
  size_t n = 0;
  why[0] = '\0';
  for (int i = 0; i < NSEED && n < cap; i++) {
    long long have = b->bal[i], want;
    if (i == W_GRID) want = (long long)FUND + b->in_bills - b->out_confirmed;
    else if (k_funded[i]) want = (long long)FUND - b->paid_by[i];
    else want = b->out_to[i];
    if (have != want)
      n += (size_t)snprintf(why + n, cap - n, "%s%s holds %lld, by the grid's books %lld",
                            n ? "; " : "", k_wallet_id[i], have, want);
  }
  return why[0] == '\0';
}

/* Waits for a moment when the ledger stands still across a reading of both
 * sides and they agree; the invariants must hold at every reading. */
static void reconcile(const char *label) {
  uint64_t deadline = now_ms() + DEADLINE_MS;
  char why[600] = "";
  books b, again;
  for (;;) {
    memset(&b, 0, sizeof b);
    bool still = ledger_read(&b);
    grid_read(&b);
    memset(&again, 0, sizeof again);
    still = still && ledger_read(&again) && again.ledger_index == b.ledger_index;
    if (still) {
      books_invariants(&b, label);
      if (books_agree(&b, why, sizeof why)) break;
    } else {
      snprintf(why, sizeof why, "the ledger moved while reading");
    }
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("%s: the books did not reconcile within %d ms: %s", label, DEADLINE_MS, why);
    }
    sleep_ms(150);
  }
  fprintf(stderr, "  books after %s reconcile at ledger index %lld: consumer-0 paid %lld, consumer-1"
                  " %lld; producer-0 got %lld, producer-y %lld, producer-x %lld; grid %lld;"
                  " sum = genesis %llu\n",
          label, b.ledger_index, b.paid_by[W_CONS0], b.paid_by[W_CONS1], b.out_to[W_PROD0],
          b.out_to[W_PRODY], b.out_to[W_PRODX], b.bal[W_GRID], GENESIS);
}

/* The grid still settles: a bill of consumer-0 for a slot after the last
 * one settled now is paid, and a payout batch made after now is confirmed. */
static void wait_progress(const char *label) {
  char sql[300];
  int64_t slot0 = grid_i64("SELECT COALESCE(MAX(slot), 0) FROM slots", NULL);
  int64_t batch0 = grid_i64("SELECT COALESCE(MAX(id), 0) FROM batches", NULL);
  snprintf(sql, sizeof sql, "SELECT (SELECT COUNT(*) FROM bills WHERE consumer_id = 'consumer-0' AND"
                            " slot > %lld AND paid >= owed AND owed > 0) * (SELECT COUNT(*) FROM"
                            " batches WHERE id > %lld AND state = 2)",
           (long long)slot0, (long long)batch0);
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (grid_i64(sql, NULL) == 0) {
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("%s: the grid settled and paid nothing after slot %lld within %d ms", label,
               (long long)slot0, DEADLINE_MS);
    }
    sleep_ms(200);
  }
  fprintf(stderr, "  %s: still settling (a bill after slot %lld paid, a later payout confirmed)\n",
          label, (long long)slot0);
}

static void end_case(const char *label) {
  wait_progress(label);
  reconcile(label);
}

/* ---- the operator's quarantine command ---- */

/* Runs `p2pgrid grid quarantine --config grid.ini a1 [a2 [a3]]`; its output
 * (caller frees) and exit status. */
static char *quarantine_cli(const char *a1, const char *a2, const char *a3, int *status) {
  char cfg[300], log[300];
  static int runs;
  snprintf(cfg, sizeof cfg, "%s/grid.ini", g_dir);
  snprintf(log, sizeof log, "%s/quarantine-%d.log", g_dir, ++runs);
  const char *argv[] = {P2PGRID_BIN, "grid", "quarantine", "--config", cfg, a1, a2, a3, NULL};
  pid_t pid = spawn_logged(argv, log);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  char *out = slurp(log, NULL);
  assert_non_null(out);
  return out;
}

/* Waits until member has n readings held whose reason says `reason`;
 * returns the id of the newest. */
static int64_t wait_quarantined(const char *member, const char *reason, int n) {
  char sql[300];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM quarantine WHERE entity_id = ?1 AND state = 'held'"
                            " AND reason LIKE '%%%s%%'", reason);
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (grid_i64(sql, member) < n) {
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("%s: %d readings with '%s' not quarantined", member, n, reason);
    }
    sleep_ms(100);
  }
  snprintf(sql, sizeof sql, "SELECT MAX(id) FROM quarantine WHERE entity_id = ?1 AND reason LIKE"
                            " '%%%s%%'", reason);
  return grid_i64(sql, member);
}

/* ---- the cases ---- */

/* The operator releases held reading id: settled with the next slot, its
 * bill cannot be booked (over 2^53-1), so settlement holds the party again
 * for that slot and settles it for everyone else. Returns the new id. */
static int64_t release_comes_back(int64_t id) {
  char ids[32], sql[300];
  int st = 0;
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  char *out = quarantine_cli("release", ids, NULL, &st);
  if (st != 0 || !strstr(out, "released")) fail_msg("quarantine release %s: exit %d: %s", ids, st, out);
  free(out);
  snprintf(sql, sizeof sql, "SELECT COALESCE(MAX(id), 0) FROM quarantine WHERE entity_id = 'consumer-x'"
                            " AND state = 'held' AND id > %lld AND wh = 999999999000", (long long)id);
  uint64_t deadline = now_ms() + DEADLINE_MS;
  int64_t again;
  while ((again = grid_i64(sql, NULL)) == 0) {
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("the released absurd usage was not held again");
    }
    sleep_ms(100);
  }
  snprintf(sql, sizeof sql, "SELECT reason FROM quarantine WHERE id = %lld", (long long)again);
  sqlite3 *db = grid_db(false);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  fprintf(stderr, "  case 1: released, held again as %lld: %s\n", (long long)again,
          (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(db);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM readings WHERE entity_id = 'consumer-x'", NULL), 0);
  wait_progress("case 1 (released and held again)");
  return again;
}

/* 1. 999,999,999 kWh from consumer-x: held, listed, rejected. */
static void case_absurd_usage(void) {
  char text[400];
  reading_text(text, sizeof text, &g_cx, wall_ms() / SLOT_MS, "999999999", NULL);
  rogue_publish(&g_cx, text);
  int64_t id = wait_quarantined(g_cx.id, "above the capacity", 1);
  int st = 0;
  char *out = quarantine_cli("list", NULL, NULL, &st);
  if (st != 0 || !strstr(out, "consumer-x") || !strstr(out, "999999999.000") || !strstr(out, "held"))
    fail_msg("quarantine list (exit %d) does not show the absurd usage:\n%s", st, out);
  fprintf(stderr, "  case 1: quarantine list shows it:\n%s", out);
  free(out);
  wait_progress("case 1 (held)");
  id = release_comes_back(id);
  char ids[32];
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  out = quarantine_cli("reject", ids, NULL, &st);
  if (st != 0 || !strstr(out, "rejected")) fail_msg("quarantine reject %s: exit %d: %s", ids, st, out);
  free(out);
  out = quarantine_cli("reject", ids, NULL, &st);
  if (st != 1) fail_msg("rejecting %s twice: exit %d, want 1: %s", ids, st, out);
  free(out);
  out = quarantine_cli("list", NULL, NULL, &st);
  if (st != 0 || strstr(out, "999999999")) fail_msg("after reject, list (exit %d) still shows it:\n%s", st, out);
  free(out);
  out = quarantine_cli("list", "--all", "--json", &st);
  if (st != 0 || !strstr(out, "\"rejected\"")) fail_msg("list --all --json (exit %d):\n%s", st, out);
  free(out);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM readings WHERE entity_id = ?1", g_cx.id), 0);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM bills WHERE consumer_id = ?1", g_cx.id), 0);
  end_case("case 1 (absurd usage)");
}

/* 2. producer-x (100 kW) reports 5 kWh in a slot of 3 s. */
static void case_over_capacity(void) {
  char text[600];
  reading_text(text, sizeof text, &g_px, wall_ms() / SLOT_MS - 1, "5", g_bech[W_PRODX]);
  rogue_publish(&g_px, text);
  wait_quarantined(g_px.id, "above the capacity of 100000 W", 1);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM readings WHERE entity_id = ?1", g_px.id), 0);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM payouts WHERE producer_id = ?1", g_px.id), 0);
  end_case("case 2 (output above capacity)");
}

/* 3. consumer-x reports slots one ahead, 5,000 old and 1,000 ahead. */
static void case_out_of_window(void) {
  while (wall_ms() % SLOT_MS > 200) sleep_ms(20); /* early in a slot: k + 1 stays ahead */
  uint64_t k = wall_ms() / SLOT_MS;
  char text[400];
  reading_text(text, sizeof text, &g_cx, k + 1, "1", NULL);
  rogue_publish(&g_cx, text);
  reading_text(text, sizeof text, &g_cx, k - 5000, "0.001", NULL);
  rogue_publish(&g_cx, text);
  reading_text(text, sizeof text, &g_cx, k + 1000, "1", NULL);
  rogue_publish(&g_cx, text);
  wait_quarantined(g_cx.id, "older than the late window of 96 slots", 1);
  wait_quarantined(g_cx.id, "in the future", 2);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM readings WHERE entity_id = ?1", g_cx.id), 0);
  /* a usage whose times are not its slot's: refused (neither held nor
   * settled), counted in the grid's metrics (issue 19) */
  snprintf(text, sizeof text,
           "{\"command\":\"usage\",\"slot\":%llu,\"startTime\":%llu,\"endTime\":%llu,"
           "\"usage\":1}",
           (unsigned long long)(k - 2), (unsigned long long)((k - 2) * SLOT_MS + 1),
           (unsigned long long)((k - 1) * SLOT_MS));
  rogue_publish(&g_cx, text);
  uint64_t deadline = now_ms() + DEADLINE_MS;
  for (;;) {
    char *t = get_metrics(&g_grid, &g_op);
    double refused = metric_sample(t, "p2pgrid_entity_readings_total{outcome=\"refused\"}");
    free(t);
    if (refused >= 1) break;
    if (now_ms() > deadline) fail_msg("the grid's metrics never counted the refused reading");
    sleep_ms(100);
  }
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM readings WHERE entity_id = ?1", g_cx.id), 0);
  /* the grid's metrics tell the same as its books: held now, and per
   * reading judged since it started (cases 1 to 3: at least 4) */
  char *m = get_metrics(&g_grid, &g_op);
  assert_int_equal(metric_sample(m, "p2pgrid_grid_quarantined_readings"),
                   grid_i64("SELECT COUNT(*) FROM quarantine WHERE state = 'held'", NULL));
  assert_true(metric_sample(m, "p2pgrid_entity_readings_total{outcome=\"quarantined\"}") >= 4);
  if (strstr(m, g_cx.id) || strstr(m, g_px.id)) fail_msg("a member id in the metrics:\n%s", m);
  free(m);
  end_case("case 3 (readings out of the window)");
}

static json_int_t grid_counter(const char *name) {
  resp r;
  get(&g_grid, "/api/status", &r);
  assert_int_equal(r.status, 200);
  json_t *v = json_object_get(json_object_get(r.json, "errors"), name);
  json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
  resp_free(&r);
  return n;
}

/* 4. producer-y named a new address in every output: paid to the enrolled
 * one only, never held, every batch but the newest two confirmed. */
static void case_address_changes(void) {
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (grid_i64("SELECT COUNT(*) FROM payouts p JOIN batches b ON b.id = p.batch_id WHERE"
                  " b.state = 2 AND p.producer_id = ?1", g_py.id) < 3) {
    if (now_ms() > deadline) fail_msg("producer-y was not paid three times");
    sleep_ms(200);
  }
  int published = atomic_load(&g_chg.published);
  if (published < 3 || atomic_load(&g_chg.failures))
    fail_msg("producer-y: %d outputs written, %d failures (%s)", published,
             atomic_load(&g_chg.failures), g_chg.err);
  json_int_t refused = grid_counter("address_change_refused");
  if (refused < published - 1)
    fail_msg("address_change_refused is %lld after %d outputs with new addresses", (long long)refused,
             published);
  sqlite3 *db = grid_db(false);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*), SUM(address != ?2) FROM payouts WHERE"
                                          " producer_id = ?1", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, g_py.id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, g_bech[W_PRODY], -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int rows = sqlite3_column_int(st, 0), elsewhere = sqlite3_column_int(st, 1);
  sqlite3_finalize(st);
  if (rows < 3 || elsewhere) fail_msg("producer-y: %d payout rows, %d to another address", rows, elsewhere);
  assert_int_equal(db_i64_on(db, "SELECT COUNT(*) FROM payout_holds", NULL), 0);
  assert_int_equal(db_i64_on(db, "SELECT COUNT(*) FROM batches WHERE state != 2 AND id <"
                                 " (SELECT MAX(id) - 1 FROM batches)", NULL), 0);
  assert_int_equal(db_i64_on(db, "SELECT COUNT(*) FROM batches WHERE error IS NOT NULL", NULL), 0);
  sqlite3_close(db);
  fprintf(stderr, "  case 4: %d outputs named new addresses, %lld refused, %d payouts to the"
                  " enrolled address\n", published, (long long)refused, rows);
  end_case("case 4 (a new payment address every slot)");
}

/* 7. consumer-1 refuses every request (its highest price is 1 base unit per
 * kWh): counted and shown, nothing paid, while consumer-0 pays on. */
static void case_refused_requests(void) {
  start(&g_cons1, "consumer", "consumer-1");
  uint64_t deadline = now_ms() + DEADLINE_MS;
  resp r;
  for (;;) {
    get(&g_cons1, "/api/status", &r);
    if (r.status != 200 || !r.json) fail_msg("consumer-1 status: %ld %s", r.status, r.body ? r.body : "");
    if (jint(r.json, "refused") >= 2) break;
    resp_free(&r);
    if (now_ms() > deadline) {
      dump_log(&g_cons1);
      fail_msg("consumer-1 refused fewer than two requests");
    }
    sleep_ms(200);
  }
  json_t *errs = json_object_get(r.json, "errors");
  if (jint(r.json, "paid") != 0 || jint(r.json, "pending") != 0 || !json_is_object(errs) ||
      jint(errs, "refused_requests") < 2)
    fail_msg("consumer-1 status: %s", r.body);
  fprintf(stderr, "  case 7: consumer-1 refused %lld requests (refused_requests %lld), paid %lld\n",
          jint(r.json, "refused"), jint(errs, "refused_requests"), jint(r.json, "paid"));
  resp_free(&r);
  proc_stop(&g_cons1);
  char path[300];
  snprintf(path, sizeof path, "%s/consumer-1/consumer.db", g_dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(db_i64_on(db, "SELECT COUNT(*) FROM requests WHERE state != 4 OR error NOT LIKE"
                                 " '%over our highest price%' OR msg_id IS NOT NULL", NULL), 0);
  sqlite3_close(db);
  assert_true(grid_i64("SELECT COUNT(*) FROM bills WHERE consumer_id = 'consumer-1'", NULL) >= 2);
  assert_int_equal(grid_i64("SELECT SUM(paid) FROM bills WHERE consumer_id = 'consumer-1'", NULL), 0);
  end_case("case 7 (requests the consumer does not owe)");
}

static void wait_junked(int64_t from, int want) {
  char sql[300];
  uint64_t deadline = now_ms() + DEADLINE_MS;
  for (;;) {
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM bills WHERE consumer_id = 'consumer-0' AND"
                              " rowid > %lld AND rowid <= %lld", (long long)from,
             (long long)atomic_load(&g_junk.last_rowid));
    if (grid_i64(sql, NULL) >= want) return;
    if (atomic_load(&g_junk.failures) || now_ms() > deadline)
      fail_msg("junk: %d references, %d messages posted, %d failures (%s)",
               atomic_load(&g_junk.refs), atomic_load(&g_junk.posted),
               atomic_load(&g_junk.failures), g_junk.err);
    sleep_ms(200);
  }
}

/* How many messages the node lists under the bill's reference. */
static long long messages_under(const char *ref) {
  char hex[2 * PG_GRID_MAX_REFERENCE + 1], path[300];
  resp r;
  pg_hex_encode((const uint8_t *)ref, strlen(ref), hex);
  snprintf(path, sizeof path, "/api/v1/messages?index=%s", hex);
  json_t *d = get_data(&g_node, path, &r);
  long long n = jint(d, "count");
  resp_free(&r);
  return n;
}

/* 6. 50 junk messages under every new bill's reference as it appears: each
 * bill is still paid exactly once. */
static void case_junk(void) {
  int64_t b0 = grid_i64("SELECT COALESCE(MAX(id), 0) FROM batches", NULL);
  junk_next_payouts(4, JUNK_PER_REF);
  int64_t from = grid_i64("SELECT COALESCE(MAX(rowid), 0) FROM bills", NULL);
  atomic_store(&g_junk.from_rowid, from);
  atomic_store(&g_junk.last_rowid, from);
  assert_int_equal(pthread_create(&g_junk.th, NULL, junk_main, &g_junk), 0);
  g_junk.started = true;
  wait_junked(from, 5);
  atomic_store(&g_junk.stop, true);
  pthread_join(g_junk.th, NULL);
  g_junk.started = false;
  int64_t last = atomic_load(&g_junk.last_rowid);
  char sql[400];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM bills WHERE consumer_id = 'consumer-0' AND rowid > %lld"
                            " AND rowid <= %lld AND paid < owed", (long long)from, (long long)last);
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (grid_i64(sql, NULL) > 0) {
    if (now_ms() > deadline) fail_msg("bills under junk were not paid");
    sleep_ms(200);
  }
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM bills b WHERE rowid > %lld AND rowid <= %lld AND"
                            " consumer_id = 'consumer-0' AND (paid != owed OR (SELECT COUNT(*) FROM"
                            " incoming i WHERE i.request_id = b.request_id) != 1)",
           (long long)from, (long long)last);
  assert_int_equal(grid_i64(sql, NULL), 0);
  sqlite3 *db = grid_db(false);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT reference FROM bills WHERE rowid > ?1 AND rowid <= ?2",
                                      -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, from);
  sqlite3_bind_int64(st, 2, last);
  int refs = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *ref = (const char *)sqlite3_column_text(st, 0);
    long long n = messages_under(ref);
    if (n < JUNK_PER_REF) fail_msg("only %lld messages under %s", n, ref);
    refs++;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM batches WHERE id > %lld AND id <= %lld AND state = 2",
           (long long)b0, (long long)(b0 + 4));
  while (grid_i64(sql, NULL) < 4) {
    if (now_ms() > deadline) fail_msg("the payouts under junk were not confirmed");
    sleep_ms(200);
  }
  for (int k = 1; k <= 4; k++) {
    char ref[64], sql2[160];
    snprintf(ref, sizeof ref, "p2pgrid:payout:%lld", (long long)(b0 + k));
    if (messages_under(ref) != JUNK_PER_REF) fail_msg("%s: not just the junk under it", ref);
    /* the payout's real index (with its random part) holds the payout alone */
    snprintf(sql2, sizeof sql2, "SELECT reference FROM batch_refs WHERE batch_id = %lld",
             (long long)(b0 + k));
    char *real = grid_text(sql2);
    if (!real || strncmp(real, ref, strlen(ref)) != 0 || strlen(real) != strlen(ref) + 17)
      fail_msg("batch %lld: reference '%s' has no random part", (long long)(b0 + k), real ? real : "");
    if (messages_under(real) != 1) fail_msg("%s: want exactly the payout under it", real);
    free(real);
  }
  fprintf(stderr, "  case 6: %d junk messages under %d bill references (%d bills checked), each"
                  " bill paid once; %d under each of 4 payout indexes\n", atomic_load(&g_junk.posted),
          atomic_load(&g_junk.refs), refs, JUNK_PER_REF);
  end_case("case 6 (junk under every reference)");
}

/* 5. 600 open bills of a consumer that never pays: consumer-0's later bills
 * are all paid; then the rows go again. */
static void case_ghost_bills(void) {
  char sql[700];
  snprintf(sql, sizeof sql,
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
           " INSERT INTO bills(request_id, slot, consumer_id, usage_wh, community_wh, amount, fee,"
           " owed, baseline, reference) SELECT 'ghost-' || i, %llu, 'ghost', 1000, 0, 5000000, 0,"
           " 5000000, 5000000, 'p2pgrid:ghost-' || i FROM n",
           GHOSTS, (unsigned long long)(wall_ms() / SLOT_MS - 50));
  grid_exec(sql);
  int64_t after = grid_i64("SELECT MAX(rowid) FROM bills", NULL);
  uint64_t t0 = now_ms(), deadline = t0 + DEADLINE_MS;
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM (SELECT paid >= owed AS ok FROM bills WHERE"
                            " consumer_id = 'consumer-0' AND rowid > %lld ORDER BY rowid LIMIT 4)"
                            " WHERE ok", (long long)after);
  while (grid_i64(sql, NULL) < 4) {
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("with %d open bills, consumer-0's next 4 bills were not all paid", GHOSTS);
    }
    sleep_ms(200);
  }
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM bills WHERE consumer_id = 'ghost' AND paid = 0");
  assert_int_equal(grid_i64(sql, NULL), GHOSTS);
  fprintf(stderr, "  case 5: with %d bills never paid, consumer-0's next 4 bills were paid within"
                  " %.1f s\n", GHOSTS, (double)(now_ms() - t0) / 1000.0);
  grid_exec("DELETE FROM bills WHERE consumer_id = 'ghost'");
  end_case("case 5 (600 bills never paid)");
}

static int count_in_log(const proc *p, const char *needle) {
  char *s = slurp(p->log, NULL);
  int n = 0;
  for (const char *q = s; q && (q = strstr(q, needle)); q += strlen(needle)) n++;
  free(s);
  return n;
}

/* 8. The grid restarted with statements matching fault failing `times`
 * times; with crowd, the next payout indexes get 1,001 junk messages each
 * while it is down (more than the 1,000 results a node lists). */
static void restart_with_fault(const char *fault, int times, bool crowd, const char *label) {
  proc_stop(&g_grid);
  if (crowd) junk_next_payouts(2, 1001);
  assert_int_equal(setenv("P2PGRID_DB_FAULT", fault, 1), 0);
  start(&g_grid, "grid", "grid");
  assert_int_equal(unsetenv("P2PGRID_DB_FAULT"), 0);
  uint64_t deadline = now_ms() + DEADLINE_MS;
  while (count_in_log(&g_grid, "step failed, retrying") < times) {
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("%s: the grid did not log %d failed steps", label, times);
    }
    sleep_ms(100);
  }
  end_case(label);
  int failed = count_in_log(&g_grid, "step failed, retrying");
  int injected = count_in_log(&g_grid, "injected fault");
  if (failed != times || injected != times) {
    dump_log(&g_grid);
    fail_msg("%s: %d failed steps, %d injected faults; want %d of each", label, failed, injected,
             times);
  }
}

static void case_faults(void) {
  restart_with_fault("INSERT INTO slots:3", 3, false, "case 8 (settlement fails 3 times)");
  restart_with_fault("INSERT INTO batches:3", 3, false, "case 8 (a payout fails 3 times)");
  restart_with_fault("INSERT INTO incoming:3", 3, false, "case 8 (matching fails 3 times)");
  /* a payout sent whose bookkeeping fails: the retry looks it up, no resend */
  restart_with_fault("UPDATE batches SET state = 1:1", 1, false,
                     "case 8 (a sent payout's bookkeeping fails)");
  /* the same behind crowded (guessed) indexes: still found, not paid twice */
  restart_with_fault("UPDATE batches SET state = 1:1", 1, true,
                     "case 8 (the same, the guessed indexes crowded with junk)");
}

/* The held readings are still held, the counters tell what happened, and
 * a restarted node reports the genesis in unspent outputs. */
static void finish(void) {
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM quarantine WHERE state = 'held'", NULL), 4);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM quarantine WHERE state = 'rejected'", NULL), 1);
  assert_int_equal(grid_i64("SELECT COUNT(*) FROM quarantine WHERE state = 'released'", NULL), 1);
  assert_int_equal(grid_counter("quarantine_rejected"), 1);
  assert_int_equal(grid_counter("quarantine_released"), 1);
  assert_int_equal(grid_counter("quarantined_readings"), 6);
  assert_int_equal(grid_counter("unknown_payments"), 0);
  assert_int_equal(grid_counter("payouts_held"), 0);
  char *m = get_metrics(&g_grid, &g_op);
  assert_int_equal(metric_sample(m, "p2pgrid_grid_quarantined_readings"), 4);
  free(m);
  atomic_store(&g_chg.stop, true);
  pthread_join(g_chg.th, NULL);
  g_chg.started = false;
  reconcile("the end");
  proc *all[] = {&g_cons0, &g_src, &g_prod, &g_grid, &g_node};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) proc_stop(all[i]);
  char genesis[300], arg[400];
  path_of(genesis, sizeof genesis, "genesis.txt");
  snprintf(arg, sizeof arg, "ledger.genesis_file=%s", genesis);
  const char *argv[] = {"--set", "node.min_pow_score=0", "--set", arg, NULL};
  proc_start(&g_node, argv);
  char *log = slurp(g_node.log, NULL);
  const char *at = log ? strstr(log, "genesis outputs, ") : NULL;
  unsigned long long supply = at ? strtoull(at + strlen("genesis outputs, "), NULL, 10) : 0;
  free(log);
  if (supply != GENESIS) fail_msg("the restarted node's supply: %llu, genesis %llu", supply, GENESIS);
  fprintf(stderr, "  supply after restart: %llu (genesis)\n", supply);
  proc_stop(&g_node);
}

static void test_money(void **state) {
  (void)state;
  uint64_t t0 = now_ms();
  start_world();
  rogue_register(&g_cx);
  rogue_register(&g_px);
  rogue_register(&g_py);
  wait_active(g_cx.id);
  wait_active(g_px.id);
  wait_active(g_py.id);
  assert_int_equal(pthread_create(&g_chg.th, NULL, changer_main, &g_chg), 0);
  g_chg.started = true;
  end_case("the start");
  case_absurd_usage();
  case_over_capacity();
  case_out_of_window();
  case_address_changes();
  case_refused_requests();
  case_junk();
  case_ghost_bills();
  case_faults();
  finish();
  fprintf(stderr, "grid money: all cases in %.1f s\n", (double)(now_ms() - t0) / 1000.0);
}

static int teardown(void **state) {
  (void)state;
  atomic_store(&g_chg.stop, true);
  atomic_store(&g_junk.stop, true);
  if (g_chg.started) pthread_join(g_chg.th, NULL);
  if (g_junk.started) pthread_join(g_junk.th, NULL);
  g_chg.started = g_junk.started = false;
  proc *all[] = {&g_cons1, &g_cons0, &g_src, &g_prod, &g_grid, &g_node};
  proc_abort_all(all, sizeof all / sizeof all[0]);
  pg_client_free(g_client);
  g_client = NULL;
  pg_mam_channel_wipe(&g_cx.ch);
  pg_mam_channel_wipe(&g_px.ch);
  pg_mam_channel_wipe(&g_py.ch);
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  return harness_mkroot("/tmp/p2pgrid-money-XXXXXX");
}

static int group_teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_money, teardown)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
