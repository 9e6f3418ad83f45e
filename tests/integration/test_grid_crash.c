/* Crash test (issue 13): `kill -9` of the node, the grid and a consumer at
 * 100 moments across a run, chosen by a fixed seed, each followed by a
 * restart right away from the same config, data dir and port.
 *
 * The world, real processes on 127.0.0.1 over mutual TLS (the node plain
 * HTTP): a node that is its own coordinator (a milestone a second, no PoW, a
 * genesis funding the grid's float and the two consumers), the grid
 * (pay-as-clear, slots of 3 s, a payout every slot), producer-0 with one CSV
 * source, consumer-0 and consumer-1 with CSV meters. The node, the grid and
 * the producer listen on ports chosen here before the start (the entities'
 * [node] and [upstream] URLs name them), so a restarted process is found
 * where the others look for it; consumer-0 too.
 *
 * srand(CRASH_SEED) fixes the schedule: 100 gaps of 0.5-2.5 s between kill
 * moments and at each moment the victim, one of {node, grid, consumer-0}.
 * The victim is killed with SIGKILL, restarted at once and awaited until it
 * listens again (about 60 ms under ASan); a restarted node must report the
 * genesis total in unspent outputs, a restarted grid must have no bill paid
 * above what it owes and none matched by two ledger outputs. What each kill
 * of the grid or the consumer interrupted (a message unsent, a payout batch
 * or a payment not yet confirmed, read from the dead process's database) is
 * counted and printed, to show where the kills landed.
 *
 * The meters' energy ends at T_end (a slot boundary after the kill phase;
 * the CSV series are 0 W from there on), the books settle, the writers are
 * stopped at a quiet moment (source, then producer and consumers), and the
 * grid reads everything. Then, against the entities' SQLite databases (read
 * only) and the node:
 *  - no reading lost: every slot of each writer's own table (source
 *    readings, producer outputs, consumer usages) is there without a gap and
 *    reached its reader exactly once (producer source_readings; grid readings
 *    + quarantine by (entity, slot)) with the same Wh;
 *  - no bill paid twice: one `incoming` row per paid bill, paid == owed,
 *    exactly one included transfer under each bill's reference, the
 *    consumer's own books and its balance on the ledger (FUND - billed);
 *  - no payout sent twice: every batch confirmed, exactly one included
 *    transfer under each batch's p2pgrid:payout:<n>-<random> index (none under the next
 *    index), the producer's balance == received == paid per grid;
 *  - supply constant: the balances of all addresses in the run sum to the
 *    genesis total and a restarted node reports that total in unspent
 *    outputs.
 *
 * Built with PG_GRID_RESTORE (test_grid_restore, issue 19) the kill phase is
 * a restore instead: a backup of the grid's data dir is taken with `p2pgrid
 * backup` while the grid runs; once the grid has made more bills and payout
 * batches after it, the grid is killed (-9), its data dir replaced with
 * `p2pgrid restore --force` (refused before while the grid held the dir) and
 * the grid restarted on the old state. The same checks then show that the
 * bills and payouts made after the backup were neither repeated nor lost.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define CRASH_SEED 20261202u
#ifdef PG_GRID_RESTORE
#define KILLS 1 /* the schedule is not used: restore_phase */
#define RESTORE_PHASE_MS (14 * SLOT_MS)
#else
#define KILLS 100
#endif
#define GAP_MIN_MS 500
#define GAP_SPAN_MS 2000 /* gaps of 500..2500 ms */
#define RESTART_EST_MS 150 /* a restart under ASan (about 60 ms), for placing T_end */
#define SLOT_MS 3000ull
#define GRACE "1500ms"
#define NCONS 2
#define NSEED (2 + NCONS) /* grid, producer, consumers */
#define FUND 1000000000000ull
#define GENESIS_TOTAL ((1 + NCONS) * FUND)
#define DEADLINE_SETTLE_MS 150000
#define DEADLINE_QUIET_MS 45000

/* ---- the cast ---------------------------------------------------------------------- */

typedef struct ent {
  proc p;
  const char *id, *role;
  char cfg[320];
  char db[320];
  unsigned port; /* fixed [api] port */
  double base_w, step_w;
  harness_tls tls;
} ent;

static ent g_grid, g_prod, g_src, g_cons[NCONS];
static proc g_node;
static unsigned g_node_port;
static char g_port_arg[16];
static char g_dir[200];
static char g_ca_dir[260];
static harness_tls g_operator;
static char g_genesis[300];
static uint8_t g_seed[NSEED][32];
static uint8_t g_addr[NSEED][32];
static uint64_t g_t_end; /* Unix ms: no energy from here on */
static uint64_t g_t0;
static bool g_done;
static const char *const k_cons_ids[NCONS] = {"consumer-0", "consumer-1"};

static uint64_t unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- SQLite, read-only --------------------------------------------------------------- */

static sqlite3 *db_open(const char *path) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    fail_msg("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
  sqlite3_busy_timeout(db, 5000);
  return db;
}

/* One integer (NULL = def) from sql with an optional text parameter ?1. */
static int64_t db_i64(const char *path, const char *sql, const char *arg, int64_t def) {
  sqlite3 *db = db_open(path);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
  if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
  int64_t v = def;
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_int64(st, 0);
  } else if (s != SQLITE_DONE) {
    fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* Rows of sql (optional text parameter ?1) as a JSON array of arrays. */
static json_t *db_rows(const char *path, const char *sql, const char *arg) {
  sqlite3 *db = db_open(path);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
  if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
  json_t *a = json_array();
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *row = json_array();
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      switch (sqlite3_column_type(st, i)) {
      case SQLITE_INTEGER: json_array_append_new(row, json_integer(sqlite3_column_int64(st, i))); break;
      case SQLITE_NULL: json_array_append_new(row, json_null()); break;
      default: json_array_append_new(row, json_string((const char *)sqlite3_column_text(st, i)));
      }
    }
    json_array_append_new(a, row);
  }
  if (s != SQLITE_DONE) fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return a;
}

static const char *row_s(json_t *row, size_t i) {
  const char *s = json_string_value(json_array_get(row, i));
  if (!s) fail_msg("database row: column %zu is not text", i);
  return s;
}
static int64_t row_i(json_t *row, size_t i) { return json_integer_value(json_array_get(row, i)); }

static void print_rows(const char *what, const char *db, const char *sql) {
  json_t *rows = db_rows(db, sql, NULL);
  char *txt = json_dumps(rows, JSON_COMPACT);
  fprintf(stderr, "  %s: %s\n", what, txt);
  free(txt);
  json_decref(rows);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static json_t *get_json(const proc *p, const char *path, resp *r) {
  get(p, path, r);
  if (r->status != 200 || !r->json)
    fail_msg("GET %s%s: status %ld body %s", p->base, path, r->status, r->body ? r->body : "");
  return r->json;
}

static json_t *by_id(json_t *arr, const char *id) {
  size_t i;
  json_t *row;
  json_array_foreach(arr, i, row) {
    const char *s = json_string_value(json_object_get(row, "id"));
    if (s && strcmp(s, id) == 0) return row;
  }
  fail_msg("no row with id '%s'", id);
  return NULL;
}

/* ---- configuration ----------------------------------------------------------------------- */

static void write_seeds(void) {
  char path[300], hex[65], text[80];
  snprintf(path, sizeof path, "%s/genesis.txt", g_dir);
  FILE *g = fopen(path, "w");
  assert_non_null(g);
  fprintf(g, "# the grid's float and the consumers' money\n");
  for (int i = 0; i < NSEED; i++) {
    for (int j = 0; j < 32; j++) g_seed[i][j] = (uint8_t)(0x43 * (i + 1) + 11 * j + 13);
    assert_int_equal(pg_iota_keypair(g_seed[i], 32, 0, 0, 0, NULL, NULL, g_addr[i]), 0);
    pg_hex_encode(g_seed[i], 32, hex);
    snprintf(text, sizeof text, "%s\n", hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g_dir, i);
    write_file(path, text);
    if (i != 1) {
      pg_hex_encode(g_addr[i], 32, hex);
      fprintf(g, "%s %llu\n", hex, FUND);
    }
  }
  fclose(g);
  snprintf(g_genesis, sizeof g_genesis, "ledger.genesis_file=%s/genesis.txt", g_dir);
}

static double power_of(const ent *e, uint64_t slot) {
  return e->base_w + (double)(slot % 5) * e->step_w;
}

/* The CSV series of e: one sample a slot from a while ago to T_end. */
static void write_csv(const ent *e, const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "time_ms,power_W\n");
  for (uint64_t k = unix_ms() / SLOT_MS - 20; k < g_t_end / SLOT_MS; k++)
    fprintf(f, "%llu,%.0f\n", (unsigned long long)(k * SLOT_MS), power_of(e, k));
  fclose(f);
}

static void ent_init(ent *e, const char *id, const char *role) {
  memset(&e->p, 0, sizeof e->p);
  e->id = id;
  e->role = role;
  snprintf(e->p.name, sizeof e->p.name, "%s", id);
  snprintf(e->cfg, sizeof e->cfg, "%s/%s.ini", g_dir, id);
  snprintf(e->db, sizeof e->db, "%s/%s/%s.db", g_dir, id, role);
}

static void issue_cert(ent *e, const char *parent) {
  char prefix[300], log[320];
  snprintf(prefix, sizeof prefix, "%s/%s-tls", g_dir, e->id);
  snprintf(log, sizeof log, "%s.issue.log", prefix);
  const char *argv[16] = {P2PGRID_BIN, "ca", "issue", "--dir", g_ca_dir, "--id", e->id,
                          "--role", e->role, "--out", prefix};
  int n = 11;
  if (parent) argv[n++] = "--parent", argv[n++] = parent;
  if (strcmp(e->role, "source") == 0 || strcmp(e->role, "consumer") == 0)
    argv[n++] = "--host", argv[n++] = "127.0.0.1";
  if (strcmp(e->role, "producer") == 0 || strcmp(e->role, "consumer") == 0)
    argv[n++] = "--max-kw", argv[n++] = "20000";
  argv[n] = NULL;
  run_ok(argv, log);
  if (snprintf(e->tls.ca, sizeof e->tls.ca, "%s/ca.crt", g_ca_dir) >= (int)sizeof e->tls.ca ||
      snprintf(e->tls.cert, sizeof e->tls.cert, "%s.crt", prefix) >= (int)sizeof e->tls.cert ||
      snprintf(e->tls.key, sizeof e->tls.key, "%s.key", prefix) >= (int)sizeof e->tls.key)
    fail_msg("%s: certificate paths too long", e->id);
}

static void enrol(const ent *e) {
  char log[320];
  snprintf(log, sizeof log, "%s/enrol-%s.log", g_dir, e->id);
  const char *argv[] = {P2PGRID_BIN, "grid", "enrol", "--config", g_grid.cfg, "--member",
                        e->tls.cert, NULL};
  run_ok(argv, log);
}

static FILE *config_begin(const ent *e) {
  FILE *f = fopen(e->cfg, "w");
  assert_non_null(f);
  fprintf(f, "[%s]\nid = %s\nname = Test %s\ndata_dir = %s/%s\nslot = %llums\ntick = 100ms\n"
             "retry = 500ms\nsecurity = 1\nlog_level = info\n",
          e->role, e->id, e->id, g_dir, e->id, (unsigned long long)SLOT_MS);
  return f;
}

static void config_end(FILE *f, const ent *e, const ent *upstream, int seed) {
  fprintf(f, "\n[node]\nurl = http://127.0.0.1:%u\ntimeout = 30s\n\n[api]\nbind = 127.0.0.1\nport = %u\n",
          g_node_port, e->port);
  fprintf(f, "\n[tls]\ncert = %s\nkey = %s\nca = %s\ncrl = %s/crl.pem\n", e->tls.cert, e->tls.key,
          e->tls.ca, g_ca_dir);
  if (upstream) fprintf(f, "\n[upstream]\nurl = https://127.0.0.1:%u\n", upstream->port);
  if (seed >= 0) fprintf(f, "\n[wallet]\nseed_file = %s/wallet-%d.seed\n", g_dir, seed);
  fclose(f);
}

static void write_configs(void) {
  FILE *f = config_begin(&g_grid);
  fprintf(f, "mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\n"
             "fee_per_kwh = 5000000\nfee_bp = 100\ngrace = " GRACE "\npayout_min = 0\n"
             "dust_allowance = 10000000\n");
  config_end(f, &g_grid, NULL, 0);

  f = config_begin(&g_prod);
  fprintf(f, "ask_per_kwh = 90000000\ngrace = " GRACE "\n");
  config_end(f, &g_prod, &g_grid, 1);

  char csv[320];
  f = config_begin(&g_src);
  snprintf(csv, sizeof csv, "%s/%s.csv", g_dir, g_src.id);
  write_csv(&g_src, csv);
  fprintf(f, "\n[meter]\nkind = csv\npath = %s\nwrap = false\n", csv);
  config_end(f, &g_src, &g_prod, -1);

  for (int k = 0; k < NCONS; k++) {
    ent *e = &g_cons[k];
    f = config_begin(e);
    fprintf(f, "bid_per_kwh = 250000000\n");
    snprintf(csv, sizeof csv, "%s/%s.csv", g_dir, e->id);
    write_csv(e, csv);
    fprintf(f, "\n[meter]\nkind = csv\npath = %s\nwrap = false\n", csv);
    config_end(f, e, &g_grid, 2 + k);
  }
}

/* ---- processes ---------------------------------------------------------------------------- */

/* The node on its fixed port; a (re)start must report the genesis total in
 * unspent outputs. */
static void start_node(void) {
  const char *argv[] = {"--set", "coordinator.enabled=true", "--set", "coordinator.generate=true",
                        "--set", "coordinator.interval=1s",  "--set", "node.min_pow_score=0",
                        "--set", g_genesis,                   "--port", g_port_arg, NULL};
  proc_start(&g_node, argv);
  if (g_node.port != g_node_port) {
    dump_log(&g_node);
    fail_msg("the node listens on %u, want its fixed port %u", g_node.port, g_node_port);
  }
  char *log = slurp(g_node.log, NULL);
  assert_non_null(log);
  const char *at = strstr(log, "genesis outputs, ");
  unsigned long long supply = at ? strtoull(at + strlen("genesis outputs, "), NULL, 10) : 0;
  free(log);
  if (!at) fail_msg("node start %d logged no supply line", g_node.starts);
  if (supply != GENESIS_TOTAL)
    fail_msg("node start %d: %llu in unspent outputs, genesis %llu", g_node.starts, supply,
             GENESIS_TOTAL);
}

static void start_ent(ent *e) {
  proc_start_cmd(&e->p, e->role, e->cfg, NULL);
  if (e->p.port != e->port || strncmp(e->p.base, "https://", 8) != 0) {
    dump_log(&e->p);
    fail_msg("%s serves %s, want https on its fixed port %u", e->id, e->p.base, e->port);
  }
}

static ent *all_ents(size_t i) {
  ent *a[] = {&g_grid, &g_prod, &g_src, &g_cons[0], &g_cons[1]};
  return i < sizeof a / sizeof a[0] ? a[i] : NULL;
}
#define NENTS (3 + NCONS)

static void dump_all_logs(void) {
  for (size_t i = 0; i < NENTS; i++)
    if (all_ents(i)->p.starts) dump_log(&all_ents(i)->p);
  if (g_node.starts) dump_log(&g_node);
}

static void kill_all(void) {
  for (size_t i = 0; i < NENTS; i++) proc_kill(&all_ents(i)->p);
  proc_kill(&g_node);
}

static void wait_milestone(long long index) {
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    resp r;
    json_t *d = get_data(&g_node, "/api/v1/info", &r);
    long long c = jint(d, "confirmedMilestoneIndex");
    resp_free(&r);
    if (c >= index) return;
    if (now_ms() > deadline) {
      dump_log(&g_node);
      fail_msg("no milestone %lld within %d ms", index, DEADLINE_CONFIRM_MS);
    }
    nap();
  }
}

/* ---- the schedule -------------------------------------------------------------------------- */

static unsigned g_gap[KILLS];
static int g_victim[KILLS]; /* 0 node, 1 grid, 2 consumer-0 */
static const char *const k_victims[3] = {"node", "grid", "consumer-0"};

static uint64_t make_schedule(void) {
  srand(CRASH_SEED);
  uint64_t total = 0;
  for (int i = 0; i < KILLS; i++) {
    g_gap[i] = GAP_MIN_MS + (unsigned)rand() % (GAP_SPAN_MS + 1);
    g_victim[i] = rand() % 3;
    total += g_gap[i];
  }
  return total;
}

/* ---- start ------------------------------------------------------------------------------------- */

static void start_world(uint64_t kill_phase_ms) {
  g_t0 = now_ms();
  snprintf(g_dir, sizeof g_dir, "%s/crash", g_root);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  memset(&g_node, 0, sizeof g_node);
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  write_seeds();

  ent_init(&g_grid, "grid", "grid");
  ent_init(&g_prod, "producer-0", "producer");
  ent_init(&g_src, "source-0", "source");
  g_src.base_w = 1500000, g_src.step_w = 60000;
  static const double cb[NCONS] = {1800000, 1200000}, cs[NCONS] = {72000, 120000};
  for (int k = 0; k < NCONS; k++) {
    ent_init(&g_cons[k], k_cons_ids[k], "consumer");
    g_cons[k].base_w = cb[k], g_cons[k].step_w = cs[k];
  }
  g_node_port = harness_free_port();
  snprintf(g_port_arg, sizeof g_port_arg, "%u", g_node_port);
  for (size_t i = 0; i < NENTS; i++) all_ents(i)->port = harness_free_port();

  snprintf(g_ca_dir, sizeof g_ca_dir, "%s/ca", g_dir);
  ca_init(g_ca_dir);
  issue_cert(&g_grid, NULL);
  issue_cert(&g_prod, NULL);
  issue_cert(&g_src, "producer-0");
  for (int k = 0; k < NCONS; k++) issue_cert(&g_cons[k], NULL);
  char op_prefix[300];
  snprintf(op_prefix, sizeof op_prefix, "%s/operator-tls", g_dir);
  ca_issue(g_ca_dir, "operator", "operator", NULL, NULL, op_prefix, &g_operator);
  g_tls = g_operator;

  start_node();
  wait_milestone(1);
  /* about three slots to start and register, the kill phase (its gaps and
   * a restart each), then a slot more */
  uint64_t span = 3 * SLOT_MS + kill_phase_ms + (uint64_t)KILLS * RESTART_EST_MS + SLOT_MS;
  g_t_end = ((unix_ms() + span) / SLOT_MS + 1) * SLOT_MS;
  write_configs();
  start_ent(&g_grid);
  enrol(&g_prod);
  for (int k = 0; k < NCONS; k++) enrol(&g_cons[k]);
  start_ent(&g_prod);
  start_ent(&g_src);
  for (int k = 0; k < NCONS; k++) start_ent(&g_cons[k]);
  fprintf(stderr, "all daemons up after %llu ms (node :%u, grid :%u, producer :%u); energy ends "
                  "at slot %llu (%lld ms from now)\n",
          (unsigned long long)(now_ms() - g_t0), g_node_port, g_grid.port, g_prod.port,
          (unsigned long long)(g_t_end / SLOT_MS), (long long)(g_t_end - unix_ms()));
}

static bool state_active(json_t *arr, const char *id) {
  size_t i;
  json_t *row;
  json_array_foreach(arr, i, row) {
    const char *s = json_string_value(json_object_get(row, "id"));
    const char *st = json_string_value(json_object_get(row, "state"));
    if (s && st && strcmp(s, id) == 0) return strcmp(st, "active") == 0;
  }
  return false;
}

static void wait_active(void) {
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  for (;;) {
    resp r;
    bool ok = state_active(get_json(&g_grid.p, "/api/producers", &r), g_prod.id);
    resp_free(&r);
    json_t *a = get_json(&g_grid.p, "/api/consumers", &r);
    for (int k = 0; k < NCONS; k++) ok = ok && state_active(a, g_cons[k].id);
    resp_free(&r);
    json_t *s = get_json(&g_prod.p, "/api/status", &r);
    ok = ok && state_active(json_object_get(s, "sources"), g_src.id);
    resp_free(&r);
    if (ok) break;
    if (now_ms() > deadline) {
      dump_all_logs();
      fail_msg("the channels are not all active within %d ms", DEADLINE_START_MS);
    }
    sleep_ms(100);
  }
  fprintf(stderr, "all channels active after %llu ms (slot %llu)\n",
          (unsigned long long)(now_ms() - g_t0), (unsigned long long)(unix_ms() / SLOT_MS));
}

/* ---- the kills ------------------------------------------------------------------------------- */

/* Checks the grid's books while it runs: no bill paid above what it owes,
 * no bill matched by two ledger outputs. */
static void check_grid_now(int kill_no) {
  int64_t over = db_i64(g_grid.db, "SELECT COUNT(*) FROM bills WHERE paid > owed", NULL, 0);
  int64_t twice = db_i64(g_grid.db,
                         "SELECT COUNT(*) FROM (SELECT request_id FROM incoming WHERE request_id"
                         " NOT IN ('(own)', '(unknown)') GROUP BY request_id HAVING COUNT(*) > 1)",
                         NULL, 0);
  if (over || twice) {
    print_rows("bills paid above owed", g_grid.db,
               "SELECT request_id, owed, paid, payment_msg FROM bills WHERE paid > owed");
    print_rows("incoming", g_grid.db,
               "SELECT output_id, msg_id, amount, request_id FROM incoming ORDER BY request_id");
    fail_msg("after kill %d: %lld bills paid above owed, %lld bills matched by two outputs",
             kill_no, (long long)over, (long long)twice);
  }
}

/* What a kill left behind (read from the dead process's database): work it
 * was in the middle of. */
typedef struct caught {
  int unsent;   /* a channel message queued, not yet taken by the node */
  int batch;    /* grid: a payout batch written, not yet confirmed */
  int paying;   /* consumer: a payment marked "paying" or sent, not confirmed */
  int unpaid;   /* consumer: a request read, not yet paid */
} caught;

static void note_caught(const ent *e, caught *c) {
  if (db_i64(e->db, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL", NULL, 0)) c->unsent++;
  if (e == &g_grid) {
    if (db_i64(e->db, "SELECT COUNT(*) FROM batches WHERE state < 2", NULL, 0)) c->batch++;
  } else {
    if (db_i64(e->db, "SELECT COUNT(*) FROM requests WHERE state IN (1, 2)", NULL, 0)) c->paying++;
    if (db_i64(e->db, "SELECT COUNT(*) FROM requests WHERE state = 0", NULL, 0)) c->unpaid++;
  }
}

static void kill_phase(void) {
  uint64_t t_begin = now_ms(), target = t_begin;
  uint64_t restart_total[3] = {0}, restart_max[3] = {0};
  int count[3] = {0}, late = 0;
  caught cg = {0}, cc = {0};
  for (int i = 0; i < KILLS; i++) {
    target += g_gap[i];
    uint64_t now = now_ms();
    if (now < target)
      sleep_ms((unsigned)(target - now));
    else
      late++;
    int v = g_victim[i];
    uint64_t t_kill = now_ms();
    switch (v) {
    case 0:
      proc_kill(&g_node);
      start_node();
      break;
    case 1:
      proc_kill(&g_grid.p);
      note_caught(&g_grid, &cg);
      start_ent(&g_grid);
      check_grid_now(i + 1);
      break;
    default:
      proc_kill(&g_cons[0].p);
      note_caught(&g_cons[0], &cc);
      start_ent(&g_cons[0]);
      break;
    }
    uint64_t took = now_ms() - t_kill;
    restart_total[v] += took;
    if (took > restart_max[v]) restart_max[v] = took;
    count[v]++;
    if ((i + 1) % 10 == 0)
      fprintf(stderr, "kill %3d (%s) at %6llu ms of the phase, slot %llu, restart %llu ms\n", i + 1,
              k_victims[v], (unsigned long long)(t_kill - t_begin),
              (unsigned long long)(unix_ms() / SLOT_MS), (unsigned long long)took);
  }
  fprintf(stderr, "%d kills in %llu ms (%d later than scheduled):", KILLS,
          (unsigned long long)(now_ms() - t_begin), late);
  for (int v = 0; v < 3; v++)
    fprintf(stderr, " %s %d (restart avg %llu ms, max %llu ms)", k_victims[v], count[v],
            count[v] ? (unsigned long long)(restart_total[v] / (uint64_t)count[v]) : 0ull,
            (unsigned long long)restart_max[v]);
  fprintf(stderr, "\nthe grid was killed with a message unsent %d times, with a payout batch not yet"
                  " confirmed %d times; consumer-0 with a message unsent %d times, with a payment"
                  " sent but not confirmed %d times, with a request not yet paid %d times\n",
          cg.unsent, cg.batch, cc.unsent, cc.paying, cc.unpaid);
  if (unix_ms() >= g_t_end) fprintf(stderr, "note: the kill phase ran past the end of the energy\n");
}

#ifdef PG_GRID_RESTORE
/* ---- the restore ----------------------------------------------------------------------------- */

static void grid_dir(char *out, size_t cap) {
  snprintf(out, cap, "%s", g_grid.db);
  char *slash = strrchr(out, '/');
  assert_non_null(slash);
  *slash = 0;
}

/* Waits until the grid's database has at least min_batches confirmed
 * payout batches (max id) and min_bills bills. */
static void wait_books(int64_t min_batch, int64_t min_bills, const char *what) {
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  for (;;) {
    int64_t b = db_i64(g_grid.db, "SELECT COALESCE(MAX(id), 0) FROM batches WHERE state = 2", NULL, 0);
    int64_t n = db_i64(g_grid.db, "SELECT COUNT(*) FROM bills", NULL, 0);
    if (b >= min_batch && n >= min_bills) break;
    if (now_ms() > deadline) {
      dump_log(&g_grid.p);
      fail_msg("%s: the grid has %lld confirmed batches and %lld bills, want %lld and %lld", what,
               (long long)b, (long long)n, (long long)min_batch, (long long)min_bills);
    }
    sleep_ms(200);
  }
}

static void restore_phase(void) {
  char dir[320], bak[340], log[340];
  grid_dir(dir, sizeof dir);
  snprintf(bak, sizeof bak, "%s/grid.bak", g_dir);
  snprintf(log, sizeof log, "%s/backup.log", g_dir);
  wait_books(1, 2 * NCONS, "before the backup");
  const char *backup[] = {P2PGRID_BIN, "backup", "--data-dir", dir, "--out", bak, NULL};
  run_ok(backup, log); /* while the grid runs and holds its LOCK */
  const char *check[] = {P2PGRID_BIN, "backup", "--check", bak, NULL};
  run_ok(check, log);
  /* what the backup holds: restored into a scratch dir beside */
  char scratch[340], scratch_db[360];
  snprintf(scratch, sizeof scratch, "%s/grid-scratch", g_dir);
  snprintf(scratch_db, sizeof scratch_db, "%s/grid.db", scratch);
  const char *to_scratch[] = {P2PGRID_BIN, "restore", "--in", bak, "--data-dir", scratch, NULL};
  run_ok(to_scratch, log);
  int64_t b0 = db_i64(scratch_db, "SELECT COALESCE(MAX(id), 0) FROM batches", NULL, 0);
  int64_t n0 = db_i64(scratch_db, "SELECT COUNT(*) FROM bills", NULL, 0);
  /* after the backup: two more confirmed batches, two more slots billed */
  wait_books(b0 + 2, n0 + 2 * NCONS, "after the backup");
  const char *restore[] = {P2PGRID_BIN, "restore", "--in", bak, "--data-dir", dir, "--force", NULL};
  if (run_status(restore, log) != 1) fail_msg("restore over the running grid's data dir was not refused");
  char *text = slurp(log, NULL);
  if (!text || !strstr(text, "in use by pid")) fail_msg("restore over a running grid: %s", text ? text : "");
  free(text);
  int64_t b1 = db_i64(g_grid.db, "SELECT COALESCE(MAX(id), 0) FROM batches", NULL, 0);
  int64_t n1 = db_i64(g_grid.db, "SELECT COUNT(*) FROM bills", NULL, 0);
  proc_kill(&g_grid.p);
  /* channel messages sent by the kill that the backup had not even created */
  static const char sent_sql[] = "SELECT COUNT(*) FROM outbox WHERE msg_id IS NOT NULL";
  /* created: sent, or its payload kept until it is (outbox_made) */
  static const char created_sql[] =
      "SELECT (SELECT COUNT(*) FROM outbox WHERE msg_id IS NOT NULL)"
      " + (SELECT COUNT(*) FROM outbox_made)";
  int64_t after_backup = db_i64(g_grid.db, sent_sql, NULL, 0) - db_i64(scratch_db, created_sql, NULL, 0);
  run_ok(restore, log);
  int64_t b2 = db_i64(g_grid.db, "SELECT COALESCE(MAX(id), 0) FROM batches", NULL, 0);
  int64_t n2 = db_i64(g_grid.db, "SELECT COUNT(*) FROM bills", NULL, 0);
  if (b2 != b0 || n2 != n0)
    fail_msg("the restored database has %lld batches and %lld bills, the backup had %lld and %lld",
             (long long)b2, (long long)n2, (long long)b0, (long long)n0);
  fprintf(stderr, "backup at %lld batches / %lld bills; killed at %lld / %lld; restored and "
                  "restarted (slot %llu)\n",
          (long long)b0, (long long)n0, (long long)b1, (long long)n1,
          (unsigned long long)(unix_ms() / SLOT_MS));
  start_ent(&g_grid);
  check_grid_now(1);
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (!log_has(&g_grid.p, "restored from a backup")) {
    if (now_ms() > deadline) {
      dump_log(&g_grid.p);
      fail_msg("the restored grid did not catch up with its channels");
    }
    sleep_ms(100);
  }
  /* each bill made after the backup was a message on a return channel: all
   * of them found on the Tangle, none signed again */
  char *glog = slurp(g_grid.p.log, NULL);
  const char *at = glog ? strstr(glog, "restored from a backup: ") : NULL;
  long long skipped = at ? strtoll(at + strlen("restored from a backup: "), NULL, 10) : -1;
  free(glog);
  if (after_backup < n1 - n0 - 2 * NCONS || skipped < after_backup)
    fail_msg("the restored grid found %lld of its channel messages on the Tangle, %lld were sent "
             "after the backup (%lld bills)", skipped, (long long)after_backup, (long long)(n1 - n0));
  fprintf(stderr, "the restored grid found %lld of its channel messages published after the backup\n",
          skipped);
  /* the start summary: version and config, never the seed */
  if (!log_has(&g_grid.p, "role grid, id grid, data dir ") ||
      !log_has(&g_grid.p, "mechanism pay-as-clear"))
    fail_msg("the grid logged no start summary");
  char seed_hex[65];
  pg_hex_encode(g_seed[0], 32, seed_hex);
  if (log_has(&g_grid.p, seed_hex)) fail_msg("the grid logged its seed");
  /* the batches made after the backup were found, not sent again */
  for (int64_t id = b0 + 1; id <= b1; id++) {
    char needle[96];
    snprintf(needle, sizeof needle, "payout %lld was sent before this database was restored",
             (long long)id);
    deadline = now_ms() + DEADLINE_SETTLE_MS;
    while (!log_has(&g_grid.p, needle)) {
      if (now_ms() > deadline) {
        dump_log(&g_grid.p);
        fail_msg("the restored grid did not find batch %lld on the Tangle", (long long)id);
      }
      sleep_ms(100);
    }
  }
}
#endif

/* ---- settling -------------------------------------------------------------------------------- */

#define WHY(...) ((void)snprintf(why, cap, __VA_ARGS__), false)

static bool money_settled(char *why, size_t cap) {
  uint64_t last = g_t_end / SLOT_MS - 1; /* the last slot with energy */
  bool ok = true;
  resp r;
  json_t *s = get_json(&g_src.p, "/api/status", &r);
  json_t *ls = json_object_get(s, "lastSlot");
  if (!json_is_integer(ls) || (uint64_t)json_integer_value(ls) <= last)
    ok = WHY("%s has not reported past slot %llu", g_src.id, (unsigned long long)last);
  resp_free(&r);
  for (int k = 0; ok && k < NCONS; k++) {
    if (db_i64(g_cons[k].db, "SELECT MAX(slot) FROM usages", NULL, -1) <= (int64_t)last)
      ok = WHY("%s has not reported past slot %llu", g_cons[k].id, (unsigned long long)last);
    json_t *c = get_json(&g_cons[k].p, "/api/status", &r);
    if (ok && jint(c, "outstanding") != 0) ok = WHY("%s has outstanding requests", g_cons[k].id);
    resp_free(&r);
  }
  if (!ok) return false;
  if (db_i64(g_prod.db, "SELECT COUNT(*) FROM source_readings WHERE aggregated_in IS NULL", NULL, 0))
    return WHY("%s has readings not aggregated", g_prod.id);
  resp gr, gpr, gcr, pr;
  json_t *t = json_object_get(get_json(&g_grid.p, "/api/status", &gr), "totals");
  json_t *gp = get_json(&g_grid.p, "/api/producers", &gpr);
  json_t *gc = get_json(&g_grid.p, "/api/consumers", &gcr);
  json_t *ps = get_json(&g_prod.p, "/api/status", &pr);
  if (jint(t, "producedWh") != jint(ps, "outputWh"))
    ok = WHY("grid producedWh %lld, producer %lld", jint(t, "producedWh"), jint(ps, "outputWh"));
  else if (jint(t, "paymentRequests") == 0)
    ok = WHY("no payment requests yet");
  else if (jint(t, "paymentRequests") != jint(t, "paymentsConfirmed") || jint(t, "outstanding"))
    ok = WHY("requests %lld, confirmed %lld, outstanding %lld", jint(t, "paymentRequests"),
             jint(t, "paymentsConfirmed"), jint(t, "outstanding"));
  else if (jint(t, "payoutsDue") || jint(t, "paidOut") != jint(t, "distributions"))
    ok = WHY("payouts due %lld, paid out %lld of %lld", jint(t, "payoutsDue"), jint(t, "paidOut"),
             jint(t, "distributions"));
  else if (jint(by_id(gp, g_prod.id), "earned") != jint(ps, "received"))
    ok = WHY("%s received %lld of %lld", g_prod.id, jint(ps, "received"),
             jint(by_id(gp, g_prod.id), "earned"));
  for (int k = 0; ok && k < NCONS; k++) {
    json_t *c = get_json(&g_cons[k].p, "/api/status", &r);
    if (jint(by_id(gc, g_cons[k].id), "requests") != jint(c, "requests"))
      ok = WHY("%s has read %lld of %lld requests", g_cons[k].id, jint(c, "requests"),
               jint(by_id(gc, g_cons[k].id), "requests"));
    resp_free(&r);
  }
  resp_free(&gr), resp_free(&gpr), resp_free(&gcr), resp_free(&pr);
  return ok;
}

static void dump_statuses(void) {
  for (size_t i = 0; i < NENTS; i++) {
    ent *e = all_ents(i);
    if (e->p.pid <= 0) continue;
    resp r;
    get(&e->p, "/api/status", &r);
    fprintf(stderr, "%s status: %s\n", e->id, r.body ? r.body : "(none)");
    resp_free(&r);
  }
}

static void wait_money_settled(void) {
  char why[300] = "";
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (!money_settled(why, sizeof why)) {
    if (now_ms() > deadline) {
      dump_all_logs();
      dump_statuses();
      fail_msg("the books did not settle within %d ms: %s", DEADLINE_SETTLE_MS, why);
    }
    sleep_ms(250);
  }
  fprintf(stderr, "books settled after %llu ms (slot %llu)\n",
          (unsigned long long)(now_ms() - g_t0), (unsigned long long)(unix_ms() / SLOT_MS));
}

static const char *last_slot_sql(const ent *e) {
  if (strcmp(e->role, "source") == 0) return "SELECT MAX(slot) FROM readings";
  if (strcmp(e->role, "producer") == 0) return "SELECT MAX(slot) FROM outputs";
  return "SELECT MAX(slot) FROM usages";
}

/* Stops the group with SIGTERM when each has reported the last finished
 * slot, has nothing unsent, and the current slot has >= 0.7 s left. */
static void stop_quiet(ent **es, size_t n) {
  uint64_t deadline = now_ms() + DEADLINE_QUIET_MS;
  uint64_t cur = 0;
  for (;;) {
    if (now_ms() > deadline) {
      for (size_t i = 0; i < n; i++) dump_log(&es[i]->p);
      fail_msg("no quiet moment to stop %s within %d ms", es[0]->id, DEADLINE_QUIET_MS);
    }
    uint64_t t = unix_ms();
    cur = t / SLOT_MS;
    if ((cur + 1) * SLOT_MS - t < 900) {
      sleep_ms(50);
      continue;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
      resp r;
      json_t *s = get_json(&es[i]->p, "/api/status", &r);
      ok = jint(s, "unsentMessages") == 0;
      resp_free(&r);
      ok = ok && db_i64(es[i]->db, last_slot_sql(es[i]), NULL, -1) == (int64_t)cur - 1;
    }
    t = unix_ms();
    if (ok && t / SLOT_MS == cur && (cur + 1) * SLOT_MS - t >= 700) break;
    sleep_ms(50);
  }
  for (size_t i = 0; i < n; i++) kill(es[i]->p.pid, SIGTERM);
  for (size_t i = 0; i < n; i++) proc_stop(&es[i]->p);
  for (size_t i = 0; i < n; i++) {
    int64_t unsent = db_i64(es[i]->db, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL", NULL, 0);
    if (unsent != 0) fail_msg("%s stopped with %lld unsent messages", es[i]->id, (long long)unsent);
  }
}

/* The grid holds (readings + quarantine) as many rows for e as e wrote,
 * and no reading is waiting for settlement. */
static bool grid_has_all(char *why, size_t cap) {
  const ent *es[] = {&g_prod, &g_cons[0], &g_cons[1]};
  for (size_t i = 0; i < 3; i++) {
    const char *tbl = strcmp(es[i]->role, "producer") == 0 ? "outputs" : "usages";
    char sql[100];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tbl);
    int64_t n = db_i64(es[i]->db, sql, NULL, 0);
    int64_t m = db_i64(g_grid.db, "SELECT (SELECT COUNT(*) FROM readings WHERE entity_id = ?1)"
                                  " + (SELECT COUNT(*) FROM quarantine WHERE entity_id = ?1)",
                       es[i]->id, 0);
    if (m < n) return WHY("the grid holds %lld of %lld readings of %s", (long long)m, (long long)n, es[i]->id);
  }
  int64_t open = db_i64(g_grid.db, "SELECT COUNT(*) FROM readings WHERE settled_in IS NULL", NULL, 0);
  if (open) return WHY("%lld readings not settled", (long long)open);
  return true;
}

static void settle_and_freeze(void) {
  while (unix_ms() < g_t_end) sleep_ms(200);
  wait_money_settled();
  ent *srcs[] = {&g_src};
  stop_quiet(srcs, 1);
  char why[300] = "";
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (db_i64(g_src.db, "SELECT COUNT(*) FROM readings", NULL, 0) !=
             db_i64(g_prod.db, "SELECT COUNT(*) FROM source_readings", NULL, 0) ||
         db_i64(g_prod.db, "SELECT COUNT(*) FROM source_readings WHERE aggregated_in IS NULL", NULL, 0)) {
    if (now_ms() > deadline) {
      dump_log(&g_prod.p);
      fail_msg("the producer did not take in and aggregate all of its source's readings");
    }
    sleep_ms(100);
  }
  ent *rest[] = {&g_prod, &g_cons[0], &g_cons[1]};
  stop_quiet(rest, 3);
  deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (!grid_has_all(why, sizeof why)) {
    if (now_ms() > deadline) {
      dump_log(&g_grid.p);
      fail_msg("the grid did not catch up within %d ms: %s", DEADLINE_SETTLE_MS, why);
    }
    sleep_ms(200);
  }
  fprintf(stderr, "writers stopped, the grid has read everything after %llu ms\n",
          (unsigned long long)(now_ms() - g_t0));
}

/* ---- the checks ------------------------------------------------------------------------------ */

/* Included transfers under an indexation index (text); want_msg (may be
 * NULL) must be one of them. */
static int included_under(const char *index, const char *want_msg) {
  char hex[2 * 64 + 1], path[300];
  size_t n = strlen(index);
  assert_true(n <= 64);
  pg_hex_encode((const uint8_t *)index, n, hex);
  snprintf(path, sizeof path, "/api/v1/messages?index=%s", hex);
  resp r;
  json_t *d = get_data(&g_node, path, &r);
  json_t *ids = json_object_get(d, "messageIds");
  assert_true(json_is_array(ids));
  int included = 0;
  bool want_seen = false;
  for (size_t i = 0; i < json_array_size(ids); i++) {
    const char *id = json_string_value(json_array_get(ids, i));
    char mp[200];
    snprintf(mp, sizeof mp, "/api/v1/messages/%s/metadata", id);
    resp m;
    json_t *md = get_data(&g_node, mp, &m);
    json_t *st = json_object_get(md, "ledgerInclusionState");
    if (json_is_string(st) && strcmp(json_string_value(st), "included") == 0) {
      included++;
      if (want_msg && strcmp(id, want_msg) == 0) want_seen = true;
    }
    resp_free(&m);
  }
  resp_free(&r);
  if (want_msg && !want_seen)
    fail_msg("'%s': the recorded message %s is not an included transfer under it", index, want_msg);
  return included;
}

static long long balance_of(const uint8_t addr[32]) {
  char hex[65], path[200];
  resp r;
  pg_hex_encode(addr, 32, hex);
  snprintf(path, sizeof path, "/api/v1/addresses/ed25519/%s", hex);
  json_t *d = get_data(&g_node, path, &r);
  long long v = jint(d, "balance");
  resp_free(&r);
  return v;
}

/* Every slot of the writer's own table, without a gap, reached the reader
 * exactly once with the same Wh. */
static void check_readings(const ent *w, const char *own_sql, const char *reader_db,
                           const char *reader_sql, const char *reader) {
  json_t *own = db_rows(w->db, own_sql, NULL);
  json_t *got = db_rows(reader_db, reader_sql, w->id);
  size_t n = json_array_size(own);
  if (n < 10) fail_msg("%s wrote only %zu readings", w->id, n);
  long long first = row_i(json_array_get(own, 0), 0), last = row_i(json_array_get(own, n - 1), 0);
  if ((long long)n != last - first + 1)
    fail_msg("%s's readings have a gap: %zu readings for slots %lld..%lld", w->id, n, first, last);
  size_t j = 0;
  long long wh = 0, zero = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *a = json_array_get(own, i);
    json_t *b = json_array_get(got, j);
    if (!b || row_i(b, 0) != row_i(a, 0))
      fail_msg("%s's reading of slot %lld did not reach %s", w->id, (long long)row_i(a, 0), reader);
    if (row_i(b, 1) != row_i(a, 1))
      fail_msg("%s's reading of slot %lld: %lld Wh, %s booked %lld Wh", w->id,
               (long long)row_i(a, 0), (long long)row_i(a, 1), reader, (long long)row_i(b, 1));
    j++;
    json_t *c = json_array_get(got, j);
    if (c && row_i(c, 0) == row_i(a, 0))
      fail_msg("%s's reading of slot %lld reached %s twice", w->id, (long long)row_i(a, 0), reader);
    wh += row_i(a, 1);
    zero += row_i(a, 1) == 0;
  }
  if (j != json_array_size(got))
    fail_msg("%s holds %zu readings of %s, it wrote %zu", reader, json_array_size(got), w->id, n);
  fprintf(stderr, "  %s: %zu readings (slots %lld..%lld, %lld of them 0 Wh), %lld Wh, each once at %s\n",
          w->id, n, first, last, zero, wh, reader);
  json_decref(own);
  json_decref(got);
}

static void check_books(void) {
  /* no reading lost */
  check_readings(&g_src, "SELECT slot, wh FROM readings ORDER BY slot", g_prod.db,
                 "SELECT slot, wh FROM source_readings WHERE source_id = ?1 ORDER BY slot", g_prod.id);
  static const char grid_sql[] =
      "SELECT slot, wh FROM (SELECT slot, wh FROM readings WHERE entity_id = ?1"
      " UNION ALL SELECT slot, wh FROM quarantine WHERE entity_id = ?1) ORDER BY slot";
  check_readings(&g_prod, "SELECT slot, wh FROM outputs ORDER BY slot", g_grid.db, grid_sql, "the grid");
  for (int k = 0; k < NCONS; k++)
    check_readings(&g_cons[k], "SELECT slot, wh FROM usages ORDER BY slot", g_grid.db, grid_sql,
                   "the grid");
  int64_t q = db_i64(g_grid.db, "SELECT COUNT(*) FROM quarantine", NULL, 0);
  if (q) {
    print_rows("quarantined readings", g_grid.db,
               "SELECT entity_id, slot, wh, reason, state FROM quarantine ORDER BY id");
    fail_msg("%lld readings were quarantined in a run of honest members", (long long)q);
  }

  /* no bill paid twice */
  resp gcr, gpr, gr;
  json_t *gc = get_json(&g_grid.p, "/api/consumers", &gcr);
  json_t *gp = get_json(&g_grid.p, "/api/producers", &gpr);
  json_t *t = json_object_get(get_json(&g_grid.p, "/api/status", &gr), "totals");
  json_t *bills = db_rows(g_grid.db,
                          "SELECT b.request_id, b.reference, b.owed, b.paid, b.payment_msg,"
                          " b.consumer_id, (SELECT COUNT(*) FROM incoming i WHERE i.request_id ="
                          " b.request_id), (SELECT COALESCE(SUM(amount),0) FROM incoming i WHERE"
                          " i.request_id = b.request_id) FROM bills b ORDER BY b.slot",
                          NULL);
  long long billed[NCONS] = {0};
  size_t nb = json_array_size(bills);
  if (nb < 10) fail_msg("only %zu bills in the run", nb);
  for (size_t i = 0; i < nb; i++) {
    json_t *b = json_array_get(bills, i);
    const char *id = row_s(b, 0);
    if (row_i(b, 2) != row_i(b, 3) || row_i(b, 6) != 1 || row_i(b, 7) != row_i(b, 2))
      fail_msg("bill %s: owed %lld, paid %lld, %lld incoming outputs of %lld", id,
               (long long)row_i(b, 2), (long long)row_i(b, 3), (long long)row_i(b, 6),
               (long long)row_i(b, 7));
    int inc = included_under(row_s(b, 1), row_s(b, 4));
    if (inc != 1) fail_msg("reference '%s' has %d included transfers, want exactly 1", row_s(b, 1), inc);
    for (int k = 0; k < NCONS; k++)
      if (strcmp(row_s(b, 5), g_cons[k].id) == 0) billed[k] += row_i(b, 2);
  }
  int64_t unmatched = db_i64(g_grid.db,
                             "SELECT COUNT(*) FROM incoming WHERE request_id IS NULL OR request_id"
                             " = '(unknown)' OR (request_id != '(own)' AND request_id NOT IN"
                             " (SELECT request_id FROM bills))",
                             NULL, 0);
  for (int k = 0; k < NCONS; k++) {
    const ent *e = &g_cons[k];
    long long reqs = db_i64(e->db, "SELECT COUNT(*) FROM requests", NULL, 0);
    long long own_billed = db_i64(e->db, "SELECT COALESCE(SUM(owed),0) FROM requests", NULL, 0);
    long long own_paid = db_i64(e->db, "SELECT COALESCE(SUM(owed),0) FROM requests WHERE state = 3", NULL, 0);
    json_t *row = by_id(gc, e->id);
    long long bal = balance_of(g_addr[2 + k]);
    if (reqs != jint(row, "requests") || own_billed != billed[k] || own_paid != billed[k] ||
        jint(row, "paid") != billed[k] || jint(row, "outstanding") != 0 ||
        (long long)FUND - bal != billed[k])
      fail_msg("%s: %lld requests (grid %lld), billed %lld (grid %lld), paid %lld (grid %lld, "
               "outstanding %lld), spent on the ledger %lld",
               e->id, reqs, jint(row, "requests"), own_billed, billed[k], own_paid, jint(row, "paid"),
               jint(row, "outstanding"), (long long)FUND - bal);
    fprintf(stderr, "  %s: %lld bills, billed = paid = spent on the ledger = %lld\n", e->id, reqs,
            billed[k]);
  }
  if (unmatched) {
    print_rows("unmatched incoming", g_grid.db,
               "SELECT output_id, msg_id, amount, reference, request_id FROM incoming WHERE"
               " request_id IS NULL OR request_id = '(unknown)' OR (request_id != '(own)' AND"
               " request_id NOT IN (SELECT request_id FROM bills))");
    fail_msg("%lld incoming outputs matched no bill", (long long)unmatched);
  }

  /* no payout sent twice */
  json_t *batches = db_rows(g_grid.db, "SELECT b.id, b.state, b.msg_id, b.total, r.reference"
                                       " FROM batches b JOIN batch_refs r ON r.batch_id = b.id"
                                       " ORDER BY b.id", NULL);
  if (json_array_size(batches) != (size_t)db_i64(g_grid.db, "SELECT COUNT(*) FROM batches", NULL, -1))
    fail_msg("a payout batch has no reference");
  long long batch_total = 0, max_id = 0;
  for (size_t i = 0; i < json_array_size(batches); i++) {
    json_t *b = json_array_get(batches, i);
    char ref[96];
    snprintf(ref, sizeof ref, "%s", row_s(b, 4));
    if (row_i(b, 1) != 2)
      fail_msg("payout batch %lld is in state %lld", (long long)row_i(b, 0), (long long)row_i(b, 1));
    int inc = included_under(ref, row_s(b, 2));
    if (inc != 1) fail_msg("payout index '%s' has %d included transfers, want exactly 1", ref, inc);
    batch_total += row_i(b, 3);
    max_id = row_i(b, 0);
  }
  for (long long id = max_id + 1; id <= max_id + 3; id++) {
    char ref[64];
    snprintf(ref, sizeof ref, "p2pgrid:payout:%lld", id);
    int inc = included_under(ref, NULL);
    if (inc) fail_msg("payout index '%s' (no such batch) has %d included transfers", ref, inc);
  }
  json_t *prow = by_id(gp, g_prod.id);
  long long received = db_i64(g_prod.db, "SELECT COALESCE(SUM(amount),0) FROM received", NULL, 0);
  long long pbal = balance_of(g_addr[1]);
  if (jint(prow, "earned") != jint(prow, "paid") || jint(prow, "paid") != batch_total ||
      received != batch_total || pbal != batch_total || jint(t, "paidOut") != batch_total)
    fail_msg("%s: earned %lld, paid per grid %lld, batches %lld, paid out %lld, received %lld, "
             "balance %lld",
             g_prod.id, jint(prow, "earned"), jint(prow, "paid"), batch_total, jint(t, "paidOut"),
             received, pbal);
  fprintf(stderr, "  %s: %zu payout batches, earned = paid = received = balance = %lld\n", g_prod.id,
          json_array_size(batches), batch_total);

  /* supply */
  long long sum = 0;
  for (int i = 0; i < NSEED; i++) sum += balance_of(g_addr[i]);
  if ((unsigned long long)sum != GENESIS_TOTAL)
    fail_msg("the balances sum to %lld, genesis %llu", sum, GENESIS_TOTAL);
  fprintf(stderr, "  balances of the grid, the producer and the consumers sum to the genesis "
                  "total %llu\n", GENESIS_TOTAL);
  json_t *errs = json_object_get(gr.json, "errors");
  char *et = json_dumps(errs ? errs : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
  fprintf(stderr, "  grid counters: %s; %lld slots settled\n", et, jint(t, "slotsSettled"));
  free(et);
  static const char *const bad[] = {"duplicate_readings", "rejected_readings", "unknown_payments",
                                    "payout_conflicts", "bad_messages", "unexpected_messages"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (json_object_get(errs, bad[i])) fail_msg("the grid counted %s", bad[i]);
  for (int k = 0; k < NCONS; k++) {
    json_t *e = db_rows(g_cons[k].db, "SELECT name, value FROM counters ORDER BY name", NULL);
    for (size_t r = 0; r < json_array_size(e); r++) {
      const char *nm = row_s(json_array_get(e, r), 0);
      if (strcmp(nm, "duplicate_requests") == 0 || strcmp(nm, "payment_conflicts") == 0 ||
          strcmp(nm, "bad_requests") == 0 || strcmp(nm, "refused_requests") == 0 ||
          strcmp(nm, "rejected_channels") == 0)
        fail_msg("%s counted %s", g_cons[k].id, nm);
    }
    char *txt = json_dumps(e, JSON_COMPACT);
    fprintf(stderr, "  %s counters: %s\n", g_cons[k].id, txt);
    free(txt);
    json_decref(e);
  }
  json_decref(bills);
  json_decref(batches);
  resp_free(&gcr), resp_free(&gpr), resp_free(&gr);
}

static void test_grid_crash(void **state) {
  (void)state;
#ifdef PG_GRID_RESTORE
  (void)make_schedule, (void)kill_phase; /* the kill run's */
  start_world(RESTORE_PHASE_MS);
  wait_active();
  restore_phase();
#else
  uint64_t phase = make_schedule();
  fprintf(stderr, "seed %u: %d kills over %llu ms of gaps\n", CRASH_SEED, KILLS,
          (unsigned long long)phase);
  start_world(phase);
  wait_active();
  kill_phase();
#endif
  settle_and_freeze();
  check_books();
  proc_stop(&g_grid.p);
  proc_stop(&g_node);
  start_node(); /* the supply as a fresh start of the node reads it */
  proc_stop(&g_node);
  fprintf(stderr, "done in %llu ms\n", (unsigned long long)(now_ms() - g_t0));
  g_done = true;
}

static int teardown(void **state) {
  (void)state;
  if (!g_done) {
    fprintf(stderr, "---- the test failed; the daemons' logs (kept with PG_KEEP_TMP=1) ----\n");
    dump_all_logs();
  }
  kill_all();
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-crash-XXXXXX")) return -1;
  if (pg_crypto_init() != 0) return -1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  signal(SIGPIPE, SIG_IGN);
  fprintf(stderr, "temporary directory %s\n", g_root);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  kill_all();
  harness_rmroot();
  curl_global_cleanup();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_grid_crash, teardown)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
