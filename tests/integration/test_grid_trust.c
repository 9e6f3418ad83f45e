/* The grid against strangers and misbehaving members, with real processes on
 * loopback over mutual TLS: a node with a coordinator, the grid, a producer
 * with one source, an honest consumer; and then requests a stranger or a
 * member should not get through — no certificate, a certificate of another
 * CA, a revoked one, a consumer certificate registering a producer, another
 * member's id, a source certificate naming another producer, a replayed
 * registration, DELETE without the owner's certificate, plain HTTP, reading
 * another member's data. Each is refused with the right status and counted;
 * nothing of it is booked or paid; the grid settles, bills and is paid as
 * before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"
#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/tls/tls.h"

#define SLOT_MS 3000ULL
#define FUND 1000000000000ULL

static char g_dir[120], g_ca[160];
static proc g_node, g_grid, g_prod, g_src, g_cons, g_srcz;
static harness_tls g_op, g_c0, g_c9, g_cr, g_foreign, g_sx, g_none;
static uint64_t g_t_end;

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

/* wallets: 0 grid, 1 producer, 2 consumer; genesis funds grid and consumer */
static void write_seeds(void) {
  char path[300], hex[65], line[100];
  FILE *g;
  path_of(path, sizeof path, "genesis.txt");
  g = fopen(path, "w");
  assert_non_null(g);
  for (int i = 0; i < 3; i++) {
    uint8_t seed[32], addr[32];
    for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(0x31 * (i + 1) + 5 * j);
    assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, addr), 0);
    pg_hex_encode(seed, 32, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g_dir, i);
    write_file(path, line);
    if (i != 1) {
      pg_hex_encode(addr, 32, hex);
      fprintf(g, "%s %llu\n", hex, FUND);
    }
  }
  fclose(g);
}

/* The test's meters run at megawatts: producers and consumers are enrolled
 * with 10 MW. */
static void issue(const char *id, const char *role, const char *parent, harness_tls *out) {
  char prefix[300];
  path_of(prefix, sizeof prefix, id);
  bool big = strcmp(role, "producer") == 0 || strcmp(role, "consumer") == 0;
  ca_issue(g_ca, id, role, parent, big ? "10000" : NULL, prefix, out);
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

static void write_csv(const char *name, double watts) {
  char path[300];
  path_of(path, sizeof path, name);
  write_csv_meter(path, SLOT_MS, g_t_end, watts, 1000);
}

static void enrol(const char *id) {
  grid_dirs g = dirs();
  grid_enrol(&g, id, NULL);
}

static void start(proc *p, const char *cmd, const char *id) {
  char cfg[300];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g_dir, id);
  snprintf(p->name, sizeof p->name, "%s", id);
  proc_start_cmd(p, cmd, cfg, NULL);
}

/* The members, the CA's revocation, a foreign CA's certificate. */
static void make_members(void) {
  snprintf(g_ca, sizeof g_ca, "%s/ca", g_dir);
  ca_init(g_ca);
  issue("grid", "grid", NULL, NULL);
  issue("operator", "operator", NULL, &g_op);
  issue("producer-0", "producer", NULL, NULL);
  issue("source-0", "source", "producer-0", NULL);
  issue("consumer-0", "consumer", NULL, &g_c0);
  issue("consumer-9", "consumer", NULL, &g_c9);   /* an enrolled member who misbehaves */
  issue("consumer-r", "consumer", NULL, &g_cr);   /* enrolled, then revoked */
  issue("source-x", "source", "producer-7", &g_sx); /* another producer's source */
  issue("source-z", "source", "producer-0", NULL);  /* pointed at the grid by mistake */
  char other[300], prefix[300];
  path_of(other, sizeof other, "other-ca");
  ca_init(other);
  path_of(prefix, sizeof prefix, "foreign-consumer-0");
  ca_issue(other, "consumer-0", "consumer", NULL, NULL, prefix, &g_foreign);
  snprintf(g_foreign.ca, sizeof g_foreign.ca, "%s/ca.crt", g_ca); /* it trusts our server */
  snprintf(g_none.ca, sizeof g_none.ca, "%s/ca.crt", g_ca);
  g_tls = g_op;
}

static void revoke_member(const char *id) {
  char log[300];
  path_of(log, sizeof log, "revoke.log");
  const char *argv[] = {P2PGRID_BIN, "ca", "revoke", "--dir", g_ca, id, NULL};
  run_ok(argv, log);
}

static void start_world(void) {
  snprintf(g_dir, sizeof g_dir, "%s/trust", g_root);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  make_members();
  write_seeds();
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  char genesis[300];
  path_of(genesis, sizeof genesis, "genesis.txt");
  proc_start_coordinator(&g_node, genesis);
  g_t_end = (wall_ms() / SLOT_MS + 12) * SLOT_MS;
  write_csv("source-0.csv", 3000000);
  write_csv("consumer-0.csv", 2000000);
  write_config("grid", "grid", NULL, 0,
               "mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\n"
               "grace = 1500ms\npayout_min = 0\ndust_allowance = 10000000\n");
  enrol("producer-0");
  enrol("consumer-0");
  enrol("consumer-9");
  enrol("consumer-r");
  revoke_member("consumer-r");
  start(&g_grid, "grid", "grid");
  write_config("producer", "producer-0", g_grid.base, 1, "ask_per_kwh = 90000000\ngrace = 1s\n");
  start(&g_prod, "producer", "producer-0");
  char meter[400];
  snprintf(meter, sizeof meter, "\n[meter]\nkind = csv\npath = %s/source-0.csv\nwrap = false\n", g_dir);
  write_config("source", "source-0", g_prod.base, -1, meter);
  start(&g_src, "source", "source-0");
  snprintf(meter, sizeof meter, "bid_per_kwh = 250000000\n\n[meter]\nkind = csv\npath = %s/consumer-0.csv\nwrap = false\n", g_dir);
  write_config("consumer", "consumer-0", g_grid.base, 2, meter);
  start(&g_cons, "consumer", "consumer-0");
}

/* ---- the attacker's requests ---- */

/* A registration body of id for a fresh random channel, signed by `as` now. */
static void signed_body(const harness_tls *as, const char *id, pg_grid_entity type, char *out,
                        size_t cap) {
  pg_tls_key *k = NULL;
  pg_diag d = {{0}};
  if (pg_tls_key_load(as->key, as->cert, &k, &d)) fail_msg("key %s: %s", as->key, d.msg);
  pg_grid_registration r = {.type = type, .mode = PG_GRID_MODE_RESTRICTED};
  snprintf(r.name, sizeof r.name, "%s", id);
  for (int i = 0; i < PG_GRID_TRYTES; i++)
    r.channel.root[i] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(unsigned)rand() % 27];
  snprintf(r.channel.side_key, sizeof r.channel.side_key, "SIDEKEY");
  r.time = wall_ms();
  pg_buf b;
  pg_buf_init(&b, 1024);
  assert_int_equal(pg_grid_binding_bytes(id, &r.channel, r.time, &b, NULL), PG_OK);
  assert_int_equal(pg_tls_sign(k, b.data, b.len, r.signature.sig, sizeof r.signature.sig,
                               &r.signature.sig_len, &d), PG_OK);
  pg_buf_reset(&b);
  assert_int_equal(pg_grid_registration_serialize(&r, &b, NULL), PG_OK);
  assert_true(b.len < cap);
  memcpy(out, b.data, b.len);
  out[b.len] = '\0';
  pg_buf_free(&b);
  pg_tls_key_free(k);
}

static void expect(const proc *p, const harness_tls *as, const char *method, const char *path,
                   const char *body, long status, const char *needle, const char *what) {
  resp r;
  http_as(p, as, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0,
          NULL, &r);
  if (r.status != status || (needle && (!r.body || !strstr(r.body, needle))))
    fail_msg("%s: %s %s -> %ld %s; want %ld with '%s'", what, method, path, r.status,
             r.body ? r.body : "", status, needle ? needle : "");
  fprintf(stderr, "  as expected: %s -> %ld\n", what, r.status);
  resp_free(&r);
}

static void attack_registrations(void) {
  char body[2048];
  signed_body(&g_c9, "consumer-9", PG_GRID_ENTITY_CONSUMER, body, sizeof body);
  expect(&g_grid, &g_none, "PUT", "/registration/evil", body, 403, "member certificate",
         "no certificate");
  expect(&g_grid, &g_foreign, "PUT", "/registration/consumer-0", body, 403, "certificate",
         "a certificate from another CA");
  char rbody[2048];
  signed_body(&g_cr, "consumer-r", PG_GRID_ENTITY_CONSUMER, rbody, sizeof rbody);
  expect(&g_grid, &g_cr, "PUT", "/registration/consumer-r", rbody, 403, "revoked",
         "a revoked certificate");
  char pbody[2048];
  signed_body(&g_c9, "consumer-9", PG_GRID_ENTITY_PRODUCER, pbody, sizeof pbody);
  expect(&g_grid, &g_c9, "PUT", "/registration/consumer-9", pbody, 403, "consumer certificate",
         "a consumer certificate registering a producer");
  expect(&g_grid, &g_c9, "PUT", "/registration/consumer-0", body, 403, "not for 'consumer-0'",
         "registering under another member's id");
  char sbody[2048];
  signed_body(&g_sx, "source-x", PG_GRID_ENTITY_SOURCE, sbody, sizeof sbody);
  expect(&g_prod, &g_sx, "PUT", "/registration/source-x", sbody, 403, "names producer 'producer-7'",
         "a source certificate for another producer");
  /* a member's own registration goes through once; the same bytes again are a replay */
  expect(&g_grid, &g_c9, "PUT", "/registration/consumer-9", body, 201, NULL,
         "consumer-9's own registration");
  expect(&g_grid, &g_c9, "PUT", "/registration/consumer-9", body, 409, "replayed",
         "a replayed registration");
  expect(&g_grid, &g_c9, "DELETE", "/registration/consumer-0", NULL, 403, "not for 'consumer-0'",
         "DELETE with another member's certificate");
  expect(&g_grid, &g_none, "DELETE", "/registration/consumer-0", NULL, 403, "member certificate",
         "DELETE without a certificate");
  expect(&g_grid, &g_c9, "DELETE", "/registration/consumer-0/SIDEKEY", NULL, 410, "side key",
         "DELETE with a side key in the URL");
}

/* A client checks whom it talks to: a source whose [upstream] names the
 * grid (a member certificate for the same host, of another role) refuses
 * to register there. */
static void wrong_upstream(void) {
  char meter[400], path[300];
  snprintf(meter, sizeof meter, "\n[meter]\nkind = csv\npath = %s/source-0.csv\nwrap = false\n", g_dir);
  write_config("source", "source-z", g_grid.base, -1, meter);
  snprintf(path, sizeof path, "%s/source-z.ini", g_dir);
  snprintf(g_srcz.name, sizeof g_srcz.name, "source-z");
  snprintf(g_srcz.log, sizeof g_srcz.log, "%s/source-z.log", g_dir);
  const char *argv[] = {P2PGRID_BIN, "source", "--config", path, NULL};
  g_srcz.pid = spawn_logged(argv, g_srcz.log);
  uint64_t deadline = now_ms() + 30000;
  for (;;) {
    char *log = slurp(g_srcz.log, NULL);
    bool seen = log && strstr(log, "not the producer 'producer-0'");
    free(log);
    if (seen) break;
    if (now_ms() > deadline) {
      dump_log(&g_srcz);
      fail_msg("source-z did not refuse the grid as its producer");
    }
    nap();
  }
  proc_stop(&g_srcz);
  fprintf(stderr, "  as expected: a source refuses to register at a server that is not its producer\n");
}

static void attack_reads_and_plain(void) {
  expect(&g_grid, &g_c9, "GET", "/api/consumers/consumer-0/slots", NULL, 403, "own data",
         "reading another member's slots");
  expect(&g_grid, &g_none, "GET", "/api/consumers", NULL, 403, "members only",
         "the member list without a certificate");
  expect(&g_grid, &g_none, "GET", "/api/log", NULL, 403, NULL, "the log without a certificate");
  expect(&g_grid, &g_c9, "GET", "/api/consumers/consumer-9/slots", NULL, 200, NULL,
         "a member reading its own slots");
  /* plain HTTP on the TLS port: no HTTP answer at all */
  proc plain = g_grid;
  snprintf(plain.base, sizeof plain.base, "http://127.0.0.1:%u", g_grid.port);
  resp r;
  char err[600];
  if (http_try_as(&plain, NULL, "PUT", "/registration/evil", "application/json", "{}", 2, NULL,
                  &r, err, sizeof err) == 0)
    fail_msg("plain HTTP got an answer: %ld %s", r.status, r.body ? r.body : "");
  fprintf(stderr, "  as expected: plain HTTP gets no answer (%s)\n", err);
  /* a revocation takes effect without a restart (the CRL is re-read) */
  revoke_member("consumer-9");
  uint64_t deadline = now_ms() + 10000;
  for (;;) {
    http_as(&g_grid, &g_c9, "GET", "/api/consumers/consumer-9/slots", NULL, NULL, 0, NULL, &r);
    long st = r.status;
    resp_free(&r);
    if (st == 403) break;
    if (now_ms() > deadline) fail_msg("a revoked certificate still reads after 10 s");
    nap();
  }
  expect(&g_grid, &g_c9, "GET", "/api/consumers/consumer-9/slots", NULL, 403, "revoked",
         "a certificate revoked while the grid runs");
}

/* ---- checks ---- */

static json_int_t counter(json_t *status, const char *name) {
  json_t *v = json_object_get(json_object_get(status, "errors"), name);
  return json_is_integer(v) ? json_integer_value(v) : 0;
}

static void check_counted(void) {
  resp r;
  get(&g_grid, "/api/status", &r);
  assert_int_equal(r.status, 200);
  json_t *s = r.json;
  assert_true(counter(s, "refused_no_cert") >= 2);
  assert_true(counter(s, "refused_no_cert") + counter(s, "refused_bad_cert") >= 4);
  assert_true(counter(s, "refused_bad_cert") >= 1); /* the revoked one at least */
  assert_int_equal(counter(s, "refused_role"), 1);
  assert_true(counter(s, "refused_wrong_id") >= 2);
  assert_int_equal(counter(s, "refused_replay"), 1);
  assert_true(counter(s, "refused_reads") >= 4);
  json_t *http = json_object_get(s, "http");
  assert_non_null(http);
  assert_true(jint(http, "handshakeFailures") >= 1);
  resp_free(&r);
  get(&g_prod, "/api/status", &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(counter(r.json, "refused_parent"), 1);
  resp_free(&r);
}

static int64_t grid_db_i64(const char *sql) {
  char path[300];
  snprintf(path, sizeof path, "%s/grid/grid.db", g_dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* The honest members are settled, billed and paid after the attacks too;
 * nobody else is. */
static void wait_settling(void) {
  uint64_t deadline = now_ms() + 120000;
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM bills WHERE paid >= owed AND owed > 0 AND slot > %lld",
           (long long)grid_db_i64("SELECT COALESCE(MAX(slot), 0) FROM slots"));
  for (;;) {
    int64_t bills = grid_db_i64(sql);
    int64_t paid_out = grid_db_i64("SELECT COUNT(*) FROM payouts p JOIN batches b"
                                   " ON b.id = p.batch_id WHERE b.state = 2");
    if (bills >= 2 && paid_out >= 1) break;
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("the grid did not settle and pay (%lld paid bills, %lld confirmed payouts)",
               (long long)bills, (long long)paid_out);
    }
    nap();
  }
  assert_int_equal(grid_db_i64("SELECT COUNT(*) FROM bills WHERE consumer_id != 'consumer-0'"), 0);
  assert_int_equal(grid_db_i64("SELECT COUNT(*) FROM payouts WHERE producer_id != 'producer-0'"), 0);
  assert_int_equal(grid_db_i64("SELECT COUNT(*) FROM readings WHERE entity_id NOT IN"
                               " ('consumer-0', 'producer-0')"),
                   0);
  assert_int_equal(grid_db_i64("SELECT COUNT(*) FROM registrations WHERE id NOT IN"
                               " ('consumer-0', 'producer-0', 'consumer-9')"),
                   0);
}

static void test_trust(void **state) {
  (void)state;
  srand(7);
  start_world();
  attack_registrations();
  attack_reads_and_plain();
  wrong_upstream();
  check_counted();
  wait_settling();
  /* still refusing after all that, still settling */
  expect(&g_grid, &g_none, "PUT", "/registration/evil", "{}", 403, NULL, "no certificate, later");
  proc_stop(&g_cons);
  proc_stop(&g_src);
  proc_stop(&g_prod);
  proc_stop(&g_grid);
  proc_stop(&g_node);
}

static int teardown(void **state) {
  (void)state;
  proc *all[] = {&g_cons, &g_src, &g_srcz, &g_prod, &g_grid, &g_node};
  proc_abort_all(all, sizeof all / sizeof all[0]);
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  return harness_mkroot("/tmp/p2pgrid-trust-XXXXXX");
}

static int group_teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_trust, teardown)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
