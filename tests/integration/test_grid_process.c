/* Integration test: the whole grid as real processes on 127.0.0.1 (issue 6).
 *
 * One `p2pgrid node` (coordinator every second, no PoW, TIP-15 dust
 * protection on, a genesis that funds the grid's float and three consumers),
 * a mosquitto broker started here, and the entity daemons, each with its own
 * INI file, data dir and [api] port = 0 (the port is read from the
 * "listening on" line of its log):
 *   grid        pay-as-clear, import 300 Mi/kWh, export 80 Mi/kWh, fees
 *               5 Mi/kWh + 1 %, payout_min 0 (a payout every slot), dust
 *               allowance 10 Mi, slots of 3 s, grace 1.5 s, tick 100 ms
 *   producer-0  ask 90 Mi/kWh:  source-0 (csv), source-1 (MQTT, JSON {"power": W})
 *   producer-1  ask 130 Mi/kWh: source-2 (csv), source-3 (csv)
 *   consumer-0, consumer-2 with a bid of 250 Mi/kWh; consumer-1 without a bid
 * A thread here publishes source-1's power to the broker every 200 ms.
 *
 * Everything between the entities runs over mutual TLS (docs/SECURITY.md):
 * the case has its own community CA (DIR/ca, `p2pgrid ca init`), every
 * entity its certificate (id and role as configured, sources naming their
 * producer) in the [tls] section of its config, and the operator enrols the
 * producers and consumers at the running grid (`p2pgrid grid enrol`) before
 * they start. The test's own requests to the daemons are made with an
 * operator certificate (g_tls); the node stays plain HTTP. At the end of the
 * clean case a client without a certificate is refused /api/consumers (403)
 * and sees the grid's /api/status without "incoming".
 *
 * Making the end state exact. Daemons never stop reporting by themselves
 * (every running source/consumer reports every slot, every producer
 * aggregates every slot), and a consumer must keep running to pay its bills.
 * So the energy stops first and the processes after it:
 *  1. Every meter has a known end T_end (a slot boundary chosen before the
 *     daemons start): the csv series (written here, wrap = false) have power
 *     only before T_end, and the publisher sends 0 W from T_end - 0.5 s on.
 *     After T_end every reading is 0 Wh, so nothing new is billed (a bill or
 *     a payout needs an amount > 0) and the money settles: we wait
 *     (deadline) until the grid has settled every reading, every payment
 *     request is paid and confirmed, every payout confirmed and each
 *     producer has seen its payouts arrive. From here on no amount changes.
 *  2. The channels are then frozen writer by writer, each stopped with
 *     SIGTERM at a quiet moment: it has reported the last finished slot,
 *     has no unsent message, and the current slot has >= 0.7 s left (the next
 *     report is only due after the slot ends). Order: sources; then, once
 *     the producers have read and aggregated all their sources' readings,
 *     producers and consumers. After each stop the data dir is checked: no
 *     message left unsent in the outbox.
 *  3. We wait until the grid has read every message of every channel (its
 *     registrations' message counts equal the channels fetched from the
 *     node) and settled every reading; the grid keeps running (it settles
 *     empty slots) and its books are final.
 * Checks (status APIs, the SQLite databases read-only, and the node):
 *  - readings: sources' sum == producers' sum == grid producedWh, consumers'
 *    usage == grid consumedWh, per entity and per channel (counts and Wh);
 *  - money: every request paid once and confirmed, each consumer paid ==
 *    billed, each producer earned == paid == received == its balance;
 *  - the Tangle: every registered channel (sources at the producers,
 *    producers and consumers at the grid, the grid's return channels) read
 *    back with pg_mam_fetch_all holds exactly the booked readings/requests,
 *    every payment (bills.payment_msg, batches.msg_id) is an included
 *    transaction, and every bill reference and payout batch index has
 *    exactly one included transfer (nothing paid twice);
 *  - the supply: a restarted node reports the genesis total in unspent
 *    outputs;
 *  - the MQTT-fed source reported energy.
 * The second case does the same run with `kill -9` (then a restart from the
 * same config and data dir) of the grid right after it logged the settlement
 * of a slot with money in it (its payout and payment requests are being
 * sent), and twice of a consumer: right after it logged a payment request
 * (its payment is being sent) and right after it logged a payment (it is
 * being recorded). Every crash point is printed with the state it left.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include <mosquitto.h>
#include <sqlite3.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/crypto/slip10.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define SLOT_MS 3000ull
#define GRACE "1500ms"
#define NSRC 4
#define NPROD 2
#define NCONS 3
#define NSEED (1 + NPROD + NCONS) /* grid, producers, consumers */
#define FUND 1000000000000ull     /* 1 Ti: the grid's float and each consumer's money */
#define DEADLINE_SETTLE_MS 120000
#define DEADLINE_QUIET_MS 45000

/* ---- the cast ------------------------------------------------------------ */

typedef struct ent {
  proc p;
  const char *id, *cmd, *role;
  char cfg[320];
  char db[320];
  int parent;    /* sources: the producer */
  double base_w; /* power: base + ((slot * 7 + index) % 5) * step_w */
  double step_w;
  bool mqtt;     /* source fed from MQTT */
  bool bid;      /* consumer with a bid */
  harness_tls tls; /* its certificate and key from the case's CA */
} ent;

static ent g_grid, g_prod[NPROD], g_src[NSRC], g_cons[NCONS];
static proc g_node, g_broker;
static char g_dir[200];        /* this case's directory */
static char g_ca_dir[260];     /* the case's community CA */
static harness_tls g_operator; /* role operator: the test's own status requests (g_tls) */
static char g_genesis[300];    /* --set argument */
static uint8_t g_seed[NSEED][32];
static uint8_t g_addr[NSEED][32];
static uint64_t g_t_end;       /* Unix ms: no energy from here on */
static unsigned g_mqtt_port;
static char g_topic[64];
static uint64_t g_t0;
static bool g_case_done; /* run_case reached its end (else teardown dumps logs) */

static const char *const k_src_ids[NSRC] = {"source-0", "source-1", "source-2", "source-3"};
static const char *const k_prod_ids[NPROD] = {"producer-0", "producer-1"};
static const char *const k_cons_ids[NCONS] = {"consumer-0", "consumer-1", "consumer-2"};

static uint64_t unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double power_of(const ent *e, int index, uint64_t slot) {
  return e->base_w + (double)((slot * 7 + (uint64_t)index) % 5) * e->step_w;
}

/* ---- SQLite, read-only ---------------------------------------------------- */

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

/* Rows of sql as a JSON array of arrays (text and integers). */
static json_t *db_rows(const char *path, const char *sql) {
  sqlite3 *db = db_open(path);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
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

/* ---- HTTP helpers --------------------------------------------------------- */

/* GET expecting 200 and a JSON body (entity status APIs have no envelope). */
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

/* ---- the broker and the publisher ------------------------------------------ */

typedef struct publisher {
  struct mosquitto *m;
  pthread_t th;
  atomic_bool stop;
  bool running;
  atomic_ullong sent, errors;
  const ent *src;
  int index;
} publisher;
static publisher g_pub;

static void *pub_main(void *arg) {
  publisher *p = arg;
  while (!atomic_load(&p->stop)) {
    uint64_t t = unix_ms();
    double w = t + 500 < g_t_end ? power_of(p->src, p->index, t / SLOT_MS) : 0.0;
    char payload[64];
    int n = snprintf(payload, sizeof payload, "{\"power\": %.1f}", w);
    if (mosquitto_publish(p->m, NULL, g_topic, n, payload, 1, false) == MOSQ_ERR_SUCCESS)
      atomic_fetch_add(&p->sent, 1);
    else
      atomic_fetch_add(&p->errors, 1);
    sleep_ms(200);
  }
  return NULL;
}

static void broker_start(void) {
  char conf[300], text[200];
  g_mqtt_port = harness_free_port();
  snprintf(conf, sizeof conf, "%s/mosquitto.conf", g_dir);
  snprintf(text, sizeof text, "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\n",
           g_mqtt_port);
  write_file(conf, text);
  g_broker.starts++;
  snprintf(g_broker.log, sizeof g_broker.log, "%s/%s.%d.log", g_root, g_broker.name,
           g_broker.starts);
  const char *argv[] = {MOSQUITTO_BIN, "-c", conf, NULL};
  g_broker.pid = spawn_logged(argv, g_broker.log);
  /* the publisher connects once the broker listens (deadline) */
  mosquitto_lib_init();
  memset(&g_pub, 0, sizeof g_pub);
  g_pub.m = mosquitto_new("p2pgrid-it-publisher", true, NULL);
  assert_non_null(g_pub.m);
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  while (mosquitto_connect(g_pub.m, "127.0.0.1", (int)g_mqtt_port, 30) != MOSQ_ERR_SUCCESS) {
    int st = 0;
    if (waitpid(g_broker.pid, &st, WNOHANG) == g_broker.pid) {
      g_broker.pid = 0;
      dump_log(&g_broker);
      fail_msg("mosquitto exited during start (status 0x%x)", st);
    }
    if (now_ms() > deadline) {
      dump_log(&g_broker);
      fail_msg("mosquitto does not accept connections on port %u", g_mqtt_port);
    }
    nap();
  }
  assert_int_equal(mosquitto_loop_start(g_pub.m), MOSQ_ERR_SUCCESS);
  g_pub.src = &g_src[1];
  g_pub.index = 1;
  assert_int_equal(pthread_create(&g_pub.th, NULL, pub_main, &g_pub), 0);
  g_pub.running = true;
}

static void publisher_stop(void) {
  if (!g_pub.running) return;
  atomic_store(&g_pub.stop, true);
  pthread_join(g_pub.th, NULL);
  g_pub.running = false;
  mosquitto_disconnect(g_pub.m);
  mosquitto_loop_stop(g_pub.m, false);
  mosquitto_destroy(g_pub.m);
  g_pub.m = NULL;
  mosquitto_lib_cleanup();
}

static void broker_stop(void) {
  publisher_stop();
  if (g_broker.pid > 0) {
    kill(g_broker.pid, SIGTERM);
    waitpid(g_broker.pid, NULL, 0);
    g_broker.pid = 0;
  }
}

/* ---- configuration ---------------------------------------------------------- */

static void seed_path(int i, char *out, size_t cap) { snprintf(out, cap, "%s/wallet-%d.seed", g_dir, i); }

static void write_seeds(int salt) {
  char path[300], hex[65], text[80];
  FILE *g;
  snprintf(path, sizeof path, "%s/genesis.txt", g_dir);
  g = fopen(path, "w");
  assert_non_null(g);
  fprintf(g, "# the grid's float and the consumers' money\n");
  for (int i = 0; i < NSEED; i++) {
    for (int j = 0; j < 32; j++) g_seed[i][j] = (uint8_t)(0x21 * (i + 1) + 7 * j + 97 * salt);
    assert_int_equal(pg_iota_keypair(g_seed[i], 32, 0, 0, 0, NULL, NULL, g_addr[i]), 0);
    pg_hex_encode(g_seed[i], 32, hex);
    snprintf(text, sizeof text, "%s\n", hex);
    seed_path(i, path, sizeof path);
    write_file(path, text);
    if (i == 0 || i > NPROD) {
      pg_hex_encode(g_addr[i], 32, hex);
      fprintf(g, "%s %llu\n", hex, FUND);
    }
  }
  fclose(g);
  snprintf(g_genesis, sizeof g_genesis, "ledger.genesis_file=%s/genesis.txt", g_dir);
}

/* The csv series of e: one sample a slot from a while ago to T_end (no wrap:
 * 0 W before and after). */
static void write_csv(const ent *e, int index, const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "time_ms,power_W\n");
  uint64_t k0 = unix_ms() / SLOT_MS - 20, k_end = g_t_end / SLOT_MS;
  for (uint64_t k = k0; k < k_end; k++)
    fprintf(f, "%llu,%.0f\n", (unsigned long long)(k * SLOT_MS), power_of(e, index, k));
  fclose(f);
}

static void common_keys(FILE *f, const ent *e) {
  fprintf(f, "[%s]\nid = %s\nname = Test %s\ndata_dir = %s/%s\nslot = %llums\ntick = 100ms\n"
             "retry = 500ms\nsecurity = 1\nlog_level = info\n",
          e->role, e->id, e->id, g_dir, e->id, (unsigned long long)SLOT_MS);
}

static void tail_keys(FILE *f, const ent *e, const char *upstream, int seed) {
  char sp[300];
  fprintf(f, "\n[node]\nurl = %s\ntimeout = 30s\n\n[api]\nbind = 127.0.0.1\nport = 0\n", g_node.base);
  fprintf(f, "\n[tls]\ncert = %s\nkey = %s\nca = %s\ncrl = %s/crl.pem\n", e->tls.cert, e->tls.key,
          e->tls.ca, g_ca_dir);
  if (upstream) fprintf(f, "\n[upstream]\nurl = %s\n", upstream);
  if (seed >= 0) {
    seed_path(seed, sp, sizeof sp);
    fprintf(f, "\n[wallet]\nseed_file = %s\n", sp);
  }
}

static void ent_init(ent *e, const char *id, const char *role, const char *case_name) {
  const char *keep_id = id;
  memset(&e->p, 0, sizeof e->p);
  e->id = keep_id;
  e->role = role;
  e->cmd = role;
  snprintf(e->p.name, sizeof e->p.name, "%s-%s", case_name, id);
  snprintf(e->cfg, sizeof e->cfg, "%s/%s.ini", g_dir, id);
  snprintf(e->db, sizeof e->db, "%s/%s/%s.db", g_dir, id, role);
}

/* A certificate from the case's CA for e (id and role as configured; a
 * source names its producer as parent). Sources and consumers serve their
 * status API over HTTPS too, but `ca issue` gives only the grid and producers
 * the default names localhost and 127.0.0.1: theirs is named explicitly. */
static void issue_cert(ent *e) {
  char prefix[300], log[320];
  snprintf(prefix, sizeof prefix, "%s/%s-tls", g_dir, e->id);
  snprintf(log, sizeof log, "%s.issue.log", prefix);
  const char *argv[16] = {P2PGRID_BIN, "ca", "issue", "--dir", g_ca_dir, "--id", e->id,
                          "--role", e->role, "--out", prefix};
  int n = 11;
  if (strcmp(e->role, "source") == 0) argv[n++] = "--parent", argv[n++] = g_prod[e->parent].id;
  if (strcmp(e->role, "source") == 0 || strcmp(e->role, "consumer") == 0)
    argv[n++] = "--host", argv[n++] = "127.0.0.1";
  /* the test's meters run at megawatts: enrol capacities above them */
  if (strcmp(e->role, "producer") == 0 || strcmp(e->role, "consumer") == 0)
    argv[n++] = "--max-kw", argv[n++] = "20000";
  argv[n] = NULL;
  run_ok(argv, log);
  if (snprintf(e->tls.ca, sizeof e->tls.ca, "%s/ca.crt", g_ca_dir) >= (int)sizeof e->tls.ca ||
      snprintf(e->tls.cert, sizeof e->tls.cert, "%s.crt", prefix) >= (int)sizeof e->tls.cert ||
      snprintf(e->tls.key, sizeof e->tls.key, "%s.key", prefix) >= (int)sizeof e->tls.key)
    fail_msg("%s: certificate paths too long", e->id);
}

/* p2pgrid grid enrol --config GRID.ini --member e's certificate. */
static void enrol(const ent *e) {
  char log[320];
  snprintf(log, sizeof log, "%s/enrol-%s.log", g_dir, e->id);
  const char *argv[] = {P2PGRID_BIN, "grid",         "enrol", "--config", g_grid.cfg,
                        "--member",  e->tls.cert, NULL};
  run_ok(argv, log);
}

static void write_grid_config(void) {
  FILE *f = fopen(g_grid.cfg, "w");
  assert_non_null(f);
  common_keys(f, &g_grid);
  fprintf(f, "mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\n"
             "fee_per_kwh = 5000000\nfee_bp = 100\ngrace = " GRACE "\npayout_min = 0\n"
             "dust_allowance = 10000000\n");
  tail_keys(f, &g_grid, NULL, 0);
  fclose(f);
}

static void write_producer_config(int i) {
  ent *e = &g_prod[i];
  FILE *f = fopen(e->cfg, "w");
  assert_non_null(f);
  common_keys(f, e);
  fprintf(f, "ask_per_kwh = %d\ngrace = " GRACE "\n", i == 0 ? 90000000 : 130000000);
  tail_keys(f, e, g_grid.p.base, 1 + i);
  fclose(f);
}

static void write_source_config(int j) {
  ent *e = &g_src[j];
  FILE *f = fopen(e->cfg, "w");
  assert_non_null(f);
  common_keys(f, e);
  if (e->mqtt) {
    fprintf(f, "\n[meter]\nkind = mqtt\nhost = 127.0.0.1\nport = %u\ntopic = %s\nunit = power_w\n"
               "json_key = power\nclient_id = it-%s\n",
            g_mqtt_port, g_topic, e->id);
  } else {
    char csv[320];
    snprintf(csv, sizeof csv, "%s/%s.csv", g_dir, e->id);
    write_csv(e, j, csv);
    fprintf(f, "\n[meter]\nkind = csv\npath = %s\nwrap = false\n", csv);
  }
  tail_keys(f, e, g_prod[e->parent].p.base, -1);
  fclose(f);
}

static void write_consumer_config(int k) {
  ent *e = &g_cons[k];
  char csv[320];
  FILE *f = fopen(e->cfg, "w");
  assert_non_null(f);
  common_keys(f, e);
  if (e->bid) fprintf(f, "bid_per_kwh = 250000000\n");
  snprintf(csv, sizeof csv, "%s/%s.csv", g_dir, e->id);
  write_csv(e, 10 + k, csv);
  fprintf(f, "\n[meter]\nkind = csv\npath = %s\nwrap = false\n", csv);
  tail_keys(f, e, g_grid.p.base, 1 + NPROD + k);
  fclose(f);
}

/* ---- processes ---------------------------------------------------------------- */

static void node_args(const char **argv) {
  static const char *const base[] = {"--set", "coordinator.enabled=true",
                                     "--set", "coordinator.generate=true",
                                     "--set", "coordinator.interval=1s",
                                     "--set", "node.min_pow_score=0"};
  size_t n = 0;
  for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) argv[n++] = base[i];
  argv[n++] = "--set";
  argv[n++] = g_genesis;
  argv[n] = NULL;
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

/* Starts e's daemon; every entity serves HTTPS only (mutual TLS). */
static void start_ent(ent *e) {
  proc_start_cmd(&e->p, e->cmd, e->cfg, NULL);
  if (strncmp(e->p.base, "https://", 8) != 0) {
    dump_log(&e->p);
    fail_msg("%s serves %s, want https", e->id, e->p.base);
  }
}

static ent *all_ents(size_t i) {
  if (i == 0) return &g_grid;
  i--;
  if (i < NPROD) return &g_prod[i];
  i -= NPROD;
  if (i < NSRC) return &g_src[i];
  i -= NSRC;
  if (i < NCONS) return &g_cons[i];
  return NULL;
}
#define NENTS (1 + NPROD + NSRC + NCONS)

static void dump_all_logs(void) {
  for (size_t i = 0; i < NENTS; i++)
    if (all_ents(i)->p.starts) dump_log(&all_ents(i)->p);
  if (g_node.starts) dump_log(&g_node);
}

/* Kills whatever is still running (after a failure). */
static void kill_all(void) {
  for (size_t i = 0; i < NENTS; i++) proc_kill(&all_ents(i)->p);
  broker_stop();
  proc_kill(&g_node);
}

/* Sets up the case: node, broker, publisher, configs with T_end after
 * energy_slots slots of energy (plus time to start), daemons. */
static void start_world(const char *case_name, int salt, int energy_slots) {
  g_t0 = now_ms();
  snprintf(g_dir, sizeof g_dir, "%s/%s", g_root, case_name);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  memset(&g_node, 0, sizeof g_node);
  memset(&g_broker, 0, sizeof g_broker);
  snprintf(g_node.name, sizeof g_node.name, "%s-node", case_name);
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  snprintf(g_broker.name, sizeof g_broker.name, "%s-mosquitto", case_name);
  snprintf(g_topic, sizeof g_topic, "p2pgrid-it/%s/source-1/power", case_name);
  write_seeds(salt);

  ent_init(&g_grid, "grid", "grid", case_name);
  for (int i = 0; i < NPROD; i++) ent_init(&g_prod[i], k_prod_ids[i], "producer", case_name);
  for (int j = 0; j < NSRC; j++) {
    ent_init(&g_src[j], k_src_ids[j], "source", case_name);
    g_src[j].parent = j / 2;
  }
  static const double sb[NSRC] = {1200000, 900000, 1500000, 600000};
  static const double ss[NSRC] = {60000, 48000, 36000, 24000};
  for (int j = 0; j < NSRC; j++) g_src[j].base_w = sb[j], g_src[j].step_w = ss[j];
  g_src[1].mqtt = true;
  static const double cb[NCONS] = {1800000, 2400000, 1200000};
  static const double cs[NCONS] = {72000, 30000, 120000};
  for (int k = 0; k < NCONS; k++) {
    ent_init(&g_cons[k], k_cons_ids[k], "consumer", case_name);
    g_cons[k].base_w = cb[k], g_cons[k].step_w = cs[k];
    g_cons[k].bid = k != 1;
  }

  /* the community: a CA, a certificate per entity and the operator's */
  snprintf(g_ca_dir, sizeof g_ca_dir, "%s/ca", g_dir);
  ca_init(g_ca_dir);
  issue_cert(&g_grid);
  for (int i = 0; i < NPROD; i++) issue_cert(&g_prod[i]);
  for (int j = 0; j < NSRC; j++) issue_cert(&g_src[j]);
  for (int k = 0; k < NCONS; k++) issue_cert(&g_cons[k]);
  char op_prefix[300];
  snprintf(op_prefix, sizeof op_prefix, "%s/operator-tls", g_dir);
  ca_issue(g_ca_dir, "operator", "operator", NULL, NULL, op_prefix, &g_operator);
  g_tls = g_operator; /* every request of the test: as the operator */

  const char *argv[16];
  node_args(argv);
  proc_start(&g_node, argv);
  wait_milestone(1);
  broker_start();

  /* about three slots to start and register, then the energy slots */
  g_t_end = (unix_ms() / SLOT_MS + 3 + (uint64_t)energy_slots) * SLOT_MS;
  write_grid_config();
  start_ent(&g_grid);
  /* the operator enrols the producers and consumers (the grid runs) */
  for (int i = 0; i < NPROD; i++) enrol(&g_prod[i]);
  for (int k = 0; k < NCONS; k++) enrol(&g_cons[k]);
  for (int i = 0; i < NPROD; i++) {
    write_producer_config(i);
    start_ent(&g_prod[i]);
  }
  for (int j = 0; j < NSRC; j++) {
    write_source_config(j);
    start_ent(&g_src[j]);
  }
  for (int k = 0; k < NCONS; k++) {
    write_consumer_config(k);
    start_ent(&g_cons[k]);
  }
  fprintf(stderr, "[%s] all daemons up after %llu ms; energy ends at slot %llu (%lld ms from now)\n",
          case_name, (unsigned long long)(now_ms() - g_t0),
          (unsigned long long)(g_t_end / SLOT_MS), (long long)(g_t_end - unix_ms()));
}

/* Every channel is registered and active at its reader. */
static void wait_active(void) {
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  for (;;) {
    bool ok = true;
    resp r;
    json_t *a = get_json(&g_grid.p, "/api/producers", &r);
    for (int i = 0; ok && i < NPROD; i++) {
      size_t n;
      json_t *row;
      bool found = false;
      json_array_foreach(a, n, row) if (strcmp(jstr(row, "id"), k_prod_ids[i]) == 0) {
        found = strcmp(jstr(row, "state"), "active") == 0;
      }
      ok = found;
    }
    resp_free(&r);
    if (ok) {
      a = get_json(&g_grid.p, "/api/consumers", &r);
      for (int k = 0; ok && k < NCONS; k++) {
        size_t n;
        json_t *row;
        bool found = false;
        json_array_foreach(a, n, row) if (strcmp(jstr(row, "id"), k_cons_ids[k]) == 0) {
          found = strcmp(jstr(row, "state"), "active") == 0;
        }
        ok = found;
      }
      resp_free(&r);
    }
    for (int i = 0; ok && i < NPROD; i++) {
      json_t *s = get_json(&g_prod[i].p, "/api/status", &r);
      json_t *srcs = json_object_get(s, "sources");
      ok = json_array_size(srcs) == 2;
      size_t n;
      json_t *row;
      json_array_foreach(srcs, n, row) ok = ok && strcmp(jstr(row, "state"), "active") == 0;
      resp_free(&r);
    }
    if (ok) break;
    if (now_ms() > deadline) {
      dump_all_logs();
      fail_msg("the channels are not all active within %d ms", DEADLINE_START_MS);
    }
    sleep_ms(100);
  }
  fprintf(stderr, "all channels active after %llu ms (slot %llu; energy ends at slot %llu)\n",
          (unsigned long long)(now_ms() - g_t0), (unsigned long long)(unix_ms() / SLOT_MS),
          (unsigned long long)(g_t_end / SLOT_MS));
}

/* ---- waiting for the books to settle -------------------------------------------- */

#define WHY(...) ((void)snprintf(why, cap, __VA_ARGS__), false)

/* Has every reading of the energy phase been settled, billed, paid and paid out? */
static bool money_settled(char *why, size_t cap) {
  uint64_t last = g_t_end / SLOT_MS - 1; /* the last slot with energy */
  resp r;
  long long src_wh = 0, prod_wh = 0, cons_wh = 0;
  bool ok = true;
  for (int j = 0; ok && j < NSRC; j++) {
    json_t *s = get_json(&g_src[j].p, "/api/status", &r);
    json_t *ls = json_object_get(s, "lastSlot");
    if (!json_is_integer(ls) || (uint64_t)json_integer_value(ls) <= last)
      ok = WHY("%s has not reported past slot %llu", g_src[j].id, (unsigned long long)last);
    else if (jint(s, "unsentMessages") != 0)
      ok = WHY("%s has unsent messages", g_src[j].id);
    src_wh += jint(s, "outputWh");
    resp_free(&r);
  }
  json_t *cs[NCONS] = {0};
  resp cr[NCONS];
  memset(cr, 0, sizeof cr);
  for (int k = 0; ok && k < NCONS; k++) {
    int64_t ms = db_i64(g_cons[k].db, "SELECT MAX(slot) FROM usages", NULL, -1);
    if (ms <= (int64_t)last)
      ok = WHY("%s has not reported past slot %llu", g_cons[k].id, (unsigned long long)last);
    cs[k] = get_json(&g_cons[k].p, "/api/status", &cr[k]);
    cons_wh += jint(cs[k], "usageWh");
    if (ok && jint(cs[k], "outstanding") != 0) ok = WHY("%s has outstanding requests", g_cons[k].id);
  }
  json_t *ps[NPROD] = {0};
  resp pr[NPROD];
  memset(pr, 0, sizeof pr);
  for (int i = 0; ok && i < NPROD; i++) {
    ps[i] = get_json(&g_prod[i].p, "/api/status", &pr[i]);
    prod_wh += jint(ps[i], "outputWh");
  }
  if (ok && src_wh != prod_wh)
    ok = WHY("sources reported %lld Wh, producers %lld Wh", src_wh, prod_wh);
  resp gr, gpr, gcr;
  memset(&gr, 0, sizeof gr), memset(&gpr, 0, sizeof gpr), memset(&gcr, 0, sizeof gcr);
  if (ok) {
    json_t *gs = get_json(&g_grid.p, "/api/status", &gr);
    json_t *t = json_object_get(gs, "totals");
    json_t *gp = get_json(&g_grid.p, "/api/producers", &gpr);
    json_t *gc = get_json(&g_grid.p, "/api/consumers", &gcr);
    if (jint(t, "producedWh") != prod_wh)
      ok = WHY("grid producedWh %lld, producers %lld", jint(t, "producedWh"), prod_wh);
    else if (jint(t, "consumedWh") != cons_wh)
      ok = WHY("grid consumedWh %lld, consumers %lld", jint(t, "consumedWh"), cons_wh);
    else if (jint(t, "paymentRequests") == 0)
      ok = WHY("no payment requests yet");
    else if (jint(t, "paymentRequests") != jint(t, "paymentsConfirmed") || jint(t, "outstanding"))
      ok = WHY("requests %lld, confirmed %lld, outstanding %lld", jint(t, "paymentRequests"),
               jint(t, "paymentsConfirmed"), jint(t, "outstanding"));
    else if (jint(t, "payoutsDue") || jint(t, "paidOut") != jint(t, "distributions"))
      ok = WHY("payouts due %lld, paid out %lld of %lld", jint(t, "payoutsDue"),
               jint(t, "paidOut"), jint(t, "distributions"));
    for (int k = 0; ok && k < NCONS; k++) {
      json_t *row = by_id(gc, g_cons[k].id);
      if (jint(row, "requests") != jint(cs[k], "requests"))
        ok = WHY("%s has read %lld of %lld requests", g_cons[k].id, jint(cs[k], "requests"),
                 jint(row, "requests"));
      else if (jint(cs[k], "paid") != jint(cs[k], "billed"))
        ok = WHY("%s paid %lld of %lld", g_cons[k].id, jint(cs[k], "paid"), jint(cs[k], "billed"));
    }
    for (int i = 0; ok && i < NPROD; i++) {
      json_t *row = by_id(gp, g_prod[i].id);
      if (jint(row, "earned") != jint(ps[i], "received"))
        ok = WHY("%s received %lld of %lld", g_prod[i].id, jint(ps[i], "received"),
                 jint(row, "earned"));
    }
  }
  resp_free(&gr), resp_free(&gpr), resp_free(&gcr);
  for (int i = 0; i < NPROD; i++) resp_free(&pr[i]);
  for (int k = 0; k < NCONS; k++) resp_free(&cr[k]);
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

/* ---- freezing the channels ----------------------------------------------------------- */

static const char *last_slot_sql(const ent *e) {
  if (strcmp(e->role, "source") == 0) return "SELECT MAX(slot) FROM readings";
  if (strcmp(e->role, "producer") == 0) return "SELECT MAX(slot) FROM outputs";
  return "SELECT MAX(slot) FROM usages";
}

static int64_t unsent_of(const ent *e) {
  return db_i64(e->db, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL", NULL, 0);
}

/* Stops the group with SIGTERM at a moment when each has reported the last
 * finished slot, has nothing unsent, and the current slot has >= 0.7 s left. */
static void stop_quiet(ent **es, size_t n) {
  uint64_t deadline = now_ms() + DEADLINE_QUIET_MS;
  uint64_t cur = 0;
  for (;;) {
    if (now_ms() > deadline) {
      for (size_t i = 0; i < n; i++) dump_log(&es[i]->p);
      fail_msg("no quiet moment to stop %s and the others within %d ms", es[0]->id,
               DEADLINE_QUIET_MS);
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
    int64_t unsent = unsent_of(es[i]);
    int64_t last = db_i64(es[i]->db, last_slot_sql(es[i]), NULL, -1);
    if (unsent != 0 || last != (int64_t)cur - 1) {
      dump_log(&es[i]->p);
      fail_msg("%s stopped with %lld unsent messages, last slot %lld (want 0 and %lld)", es[i]->id,
               (long long)unsent, (long long)last, (long long)cur - 1);
    }
  }
}

/* Source j's readings at its producer: all read and aggregated? */
static bool producers_have_all(char *why, size_t cap) {
  for (int j = 0; j < NSRC; j++) {
    const ent *s = &g_src[j], *p = &g_prod[s->parent];
    int64_t n = db_i64(s->db, "SELECT COUNT(*) FROM readings", NULL, 0);
    int64_t m = db_i64(p->db, "SELECT COUNT(*) FROM source_readings WHERE source_id = ?1", s->id, 0);
    if (n != m) return WHY("%s has read %lld of %lld readings of %s", p->id, (long long)m, (long long)n, s->id);
  }
  for (int i = 0; i < NPROD; i++) {
    int64_t open = db_i64(g_prod[i].db, "SELECT COUNT(*) FROM source_readings WHERE aggregated_in IS NULL",
                          NULL, 0);
    if (open) return WHY("%s has %lld readings not aggregated", g_prod[i].id, (long long)open);
  }
  return true;
}

/* ---- the Tangle ----------------------------------------------------------------------- */

typedef struct chan_sum {
  long long messages, hellos, outputs, usages, requests, wh, owed;
  char first_id[PG_GRID_MAX_ID + 1];
  char addresses[2][PG_BECH32_MAX_LEN + 1]; /* payment addresses seen (outputs) */
} chan_sum;

static void fetch_channel(pg_client *c, const char *root, const char *side_key, chan_sum *out) {
  pg_mam_fetched *list = NULL;
  size_t n = 0;
  pg_diag d = {{0}};
  memset(out, 0, sizeof *out);
  if (pg_mam_fetch_all(c, root, PG_MAM_RESTRICTED, side_key, strlen(side_key), 0, &list, &n, &d))
    fail_msg("fetching channel %.20s...: %s", root, d.msg);
  for (size_t i = 0; i < n; i++) {
    char *text = NULL;
    size_t tl = 0;
    pg_grid_msg m;
    assert_int_equal(pg_mam_trytes_to_text(list[i].message, list[i].message_len, &text, &tl), 0);
    if (pg_grid_msg_parse(text, tl, &m, &d) != PG_OK)
      fail_msg("channel %.20s... message %zu: %s: %s", root, i, d.msg, text);
    free(text);
    out->messages++;
    switch (m.command) {
    case PG_GRID_CMD_HELLO:
      out->hellos++;
      if (i == 0) snprintf(out->first_id, sizeof out->first_id, "%s", m.u.hello.registration_id);
      break;
    case PG_GRID_CMD_OUTPUT:
      out->outputs++;
      out->wh += m.u.output.output_wh;
      if (m.u.output.payment_address[0] && !out->addresses[0][0])
        snprintf(out->addresses[0], sizeof out->addresses[0], "%s", m.u.output.payment_address);
      else if (m.u.output.payment_address[0] && strcmp(out->addresses[0], m.u.output.payment_address))
        snprintf(out->addresses[1], sizeof out->addresses[1], "%s", m.u.output.payment_address);
      break;
    case PG_GRID_CMD_USAGE:
      out->usages++;
      out->wh += m.u.usage.usage_wh;
      break;
    case PG_GRID_CMD_PAYMENT_REQUEST:
      out->requests++;
      out->owed += (long long)m.u.payment_request.owed;
      break;
    default: fail_msg("channel %.20s...: unexpected %s", root, pg_grid_command_name(m.command));
    }
  }
  pg_mam_fetched_free_all(list, n);
}

/* Included transfers under an indexation index (text). */
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
  if (want_msg && !want_seen)
    fail_msg("'%s': the recorded message %s is not an included transfer under it", index, want_msg);
  resp_free(&r);
  return included;
}

static void expect_included_tx(const char *msg_id, const char *what) {
  char path[200];
  resp r;
  snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", msg_id);
  json_t *d = get_data(&g_node, path, &r);
  json_t *st = json_object_get(d, "ledgerInclusionState");
  if (!json_is_string(st) || strcmp(json_string_value(st), "included") != 0)
    fail_msg("%s: message %s is not included: %s", what, msg_id, r.body);
  resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/messages/%s", msg_id);
  d = get_data(&g_node, path, &r);
  if (jint(json_object_get(d, "payload"), "type") != 0)
    fail_msg("%s: message %s carries no transaction", what, msg_id);
  resp_free(&r);
}

static long long balance_hex(const uint8_t addr[32]) {
  char hex[65], path[200];
  resp r;
  pg_hex_encode(addr, 32, hex);
  snprintf(path, sizeof path, "/api/v1/addresses/ed25519/%s", hex);
  json_t *d = get_data(&g_node, path, &r);
  long long v = jint(d, "balance");
  resp_free(&r);
  return v;
}

/* Waits until the grid has read every message of every registered channel
 * (the writers are stopped) and settled every reading. */
static void wait_grid_read_all(pg_client *c) {
  json_t *regs = db_rows(g_grid.db, "SELECT id, root, side_key, type FROM registrations ORDER BY id");
  size_t n = json_array_size(regs);
  assert_int_equal(n, NPROD + NCONS);
  long long *count = calloc(n, sizeof *count);
  for (size_t i = 0; i < n; i++) {
    chan_sum s;
    json_t *row = json_array_get(regs, i);
    fetch_channel(c, row_s(row, 1), row_s(row, 2), &s);
    count[i] = s.messages;
  }
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  char why[300] = "";
  size_t cap = sizeof why;
  for (;;) {
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
      const char *id = row_s(json_array_get(regs, i), 0);
      int64_t m = db_i64(g_grid.db, "SELECT messages FROM registrations WHERE id = ?1", id, -1);
      if (m != count[i])
        ok = WHY("the grid has read %lld of %lld messages of %s", (long long)m, count[i], id);
    }
    if (ok) {
      int64_t open = db_i64(g_grid.db, "SELECT COUNT(*) FROM readings WHERE settled_in IS NULL", NULL, 0);
      if (open) ok = WHY("%lld readings not settled", (long long)open);
    }
    if (ok) break;
    if (now_ms() > deadline) {
      dump_log(&g_grid.p);
      fail_msg("the grid did not catch up within %d ms: %s", DEADLINE_SETTLE_MS, why);
    }
    sleep_ms(200);
  }
  free(count);
  json_decref(regs);
}

/* ---- the checks ---------------------------------------------------------------------- */

static void check_books(pg_client *c) {
  resp gr, gpr, gcr;
  json_t *gs = get_json(&g_grid.p, "/api/status", &gr);
  json_t *gp = get_json(&g_grid.p, "/api/producers", &gpr);
  json_t *gc = get_json(&g_grid.p, "/api/consumers", &gcr);
  json_t *t = json_object_get(gs, "totals");
  char grid_hrp_addr[PG_BECH32_MAX_LEN + 1];
  snprintf(grid_hrp_addr, sizeof grid_hrp_addr, "%s", jstr(gs, "address"));
  char hrp[16];
  {
    const char *one = strchr(grid_hrp_addr, '1');
    assert_non_null(one);
    snprintf(hrp, sizeof hrp, "%.*s", (int)(one - grid_hrp_addr), grid_hrp_addr);
  }

  /* sources -> producers -> grid, per source, per channel */
  long long src_total = 0, prod_total = 0, cons_total = 0;
  json_t *src_regs[NPROD];
  for (int i = 0; i < NPROD; i++)
    src_regs[i] = db_rows(g_prod[i].db, "SELECT id, root, side_key, state, messages FROM registrations ORDER BY id");
  for (int j = 0; j < NSRC; j++) {
    const ent *s = &g_src[j], *p = &g_prod[s->parent];
    long long n = db_i64(s->db, "SELECT COUNT(*) FROM readings", NULL, 0);
    long long wh = db_i64(s->db, "SELECT COALESCE(SUM(wh),0) FROM readings", NULL, 0);
    long long pn = db_i64(p->db, "SELECT COUNT(*) FROM source_readings WHERE source_id = ?1", s->id, 0);
    long long pwh = db_i64(p->db, "SELECT COALESCE(SUM(wh),0) FROM source_readings WHERE source_id = ?1", s->id, 0);
    if (n != pn || wh != pwh)
      fail_msg("%s reported %lld readings (%lld Wh), %s booked %lld (%lld Wh)", s->id, n, wh, p->id, pn, pwh);
    json_t *row = NULL;
    for (size_t r = 0; r < json_array_size(src_regs[s->parent]); r++)
      if (strcmp(row_s(json_array_get(src_regs[s->parent], r), 0), s->id) == 0)
        row = json_array_get(src_regs[s->parent], r);
    if (!row) fail_msg("%s is not registered at %s", s->id, p->id);
    assert_int_equal(row_i(row, 3), 1); /* active */
    chan_sum cs;
    fetch_channel(c, row_s(row, 1), row_s(row, 2), &cs);
    assert_string_equal(cs.first_id, s->id);
    if (cs.outputs != n || cs.wh != wh || cs.messages != row_i(row, 4))
      fail_msg("%s's channel holds %lld outputs (%lld Wh) in %lld messages; booked %lld (%lld Wh), "
               "%lld messages read", s->id, cs.outputs, cs.wh, cs.messages, n, wh, (long long)row_i(row, 4));
    fprintf(stderr, "  %s: %lld readings, %lld Wh (channel: %lld messages)\n", s->id, n, wh, cs.messages);
    src_total += wh;
    if (s->mqtt && wh <= 0) fail_msg("the MQTT-fed %s reported no energy", s->id);
  }
  json_t *grid_regs = db_rows(g_grid.db, "SELECT id, root, side_key, state, messages, type FROM registrations ORDER BY id");
  for (int i = 0; i < NPROD; i++) {
    const ent *p = &g_prod[i];
    long long n = db_i64(p->db, "SELECT COUNT(*) FROM outputs", NULL, 0);
    long long wh = db_i64(p->db, "SELECT COALESCE(SUM(wh),0) FROM outputs", NULL, 0);
    long long sum_src = db_i64(p->db, "SELECT COALESCE(SUM(wh),0) FROM source_readings", NULL, 0);
    long long received = db_i64(p->db, "SELECT COALESCE(SUM(amount),0) FROM received", NULL, 0);
    if (wh != sum_src) fail_msg("%s: outputs %lld Wh, its sources' readings %lld Wh", p->id, wh, sum_src);
    json_t *row = by_id(gp, p->id);
    if (jint(row, "readings") != n || jint(row, "outputWh") != wh)
      fail_msg("%s wrote %lld outputs (%lld Wh); the grid booked %lld (%lld Wh)", p->id, n, wh,
               jint(row, "readings"), jint(row, "outputWh"));
    assert_string_equal(jstr(row, "state"), "active");
    long long earned = jint(row, "earned"), paid = jint(row, "paid");
    long long bal = balance_hex(g_addr[1 + i]);
    if (earned <= 0 || earned != paid || paid != received || received != bal)
      fail_msg("%s: earned %lld, paid %lld, received %lld, balance on the node %lld", p->id, earned,
               paid, received, bal);
    assert_int_equal(jint(row, "due"), 0);
    char bech[PG_BECH32_MAX_LEN + 1];
    assert_int_equal(pg_iota_address_encode(hrp, g_addr[1 + i], bech, sizeof bech), 0);
    assert_string_equal(jstr(row, "address"), bech);
    json_t *reg = NULL;
    for (size_t r = 0; r < json_array_size(grid_regs); r++)
      if (strcmp(row_s(json_array_get(grid_regs, r), 0), p->id) == 0) reg = json_array_get(grid_regs, r);
    assert_non_null(reg);
    chan_sum cs;
    fetch_channel(c, row_s(reg, 1), row_s(reg, 2), &cs);
    assert_string_equal(cs.first_id, p->id);
    if (cs.outputs != n || cs.wh != wh || cs.messages != row_i(reg, 4) || cs.messages != jint(row, "messages"))
      fail_msg("%s's channel holds %lld outputs (%lld Wh) in %lld messages; booked %lld (%lld Wh), "
               "%lld messages read", p->id, cs.outputs, cs.wh, cs.messages, n, wh, (long long)row_i(reg, 4));
    assert_string_equal(cs.addresses[0], bech);
    assert_string_equal(cs.addresses[1], "");
    fprintf(stderr, "  %s: %lld outputs, %lld Wh, earned = paid = received = balance = %lld\n",
            p->id, n, wh, earned);
    prod_total += wh;
  }
  if (src_total != prod_total || jint(t, "producedWh") != prod_total)
    fail_msg("sources %lld Wh, producers %lld Wh, grid producedWh %lld", src_total, prod_total,
             jint(t, "producedWh"));

  /* consumers <-> grid, their channels and return channels */
  for (int k = 0; k < NCONS; k++) {
    const ent *e = &g_cons[k];
    long long n = db_i64(e->db, "SELECT COUNT(*) FROM usages", NULL, 0);
    long long wh = db_i64(e->db, "SELECT COALESCE(SUM(wh),0) FROM usages", NULL, 0);
    long long reqs = db_i64(e->db, "SELECT COUNT(*) FROM requests", NULL, 0);
    long long billed = db_i64(e->db, "SELECT COALESCE(SUM(owed),0) FROM requests", NULL, 0);
    long long paid = db_i64(e->db, "SELECT COALESCE(SUM(owed),0) FROM requests WHERE state = 3", NULL, 0);
    json_t *row = by_id(gc, e->id);
    if (jint(row, "readings") != n || jint(row, "usageWh") != wh)
      fail_msg("%s reported %lld usages (%lld Wh); the grid booked %lld (%lld Wh)", e->id, n, wh,
               jint(row, "readings"), jint(row, "usageWh"));
    if (jint(row, "requests") != reqs || jint(row, "billed") != billed || jint(row, "paid") != billed ||
        paid != billed || jint(row, "outstanding") != 0)
      fail_msg("%s: %lld requests, billed %lld, paid %lld; the grid: %lld requests, billed %lld, "
               "paid %lld, outstanding %lld", e->id, reqs, billed, paid, jint(row, "requests"),
               jint(row, "billed"), jint(row, "paid"), jint(row, "outstanding"));
    assert_true(reqs > 0);
    json_t *reg = NULL;
    for (size_t r = 0; r < json_array_size(grid_regs); r++)
      if (strcmp(row_s(json_array_get(grid_regs, r), 0), e->id) == 0) reg = json_array_get(grid_regs, r);
    assert_non_null(reg);
    chan_sum cs;
    fetch_channel(c, row_s(reg, 1), row_s(reg, 2), &cs);
    assert_string_equal(cs.first_id, e->id);
    if (cs.usages != n || cs.wh != wh || cs.messages != row_i(reg, 4))
      fail_msg("%s's channel holds %lld usages (%lld Wh) in %lld messages; booked %lld (%lld Wh), "
               "%lld messages read", e->id, cs.usages, cs.wh, cs.messages, n, wh, (long long)row_i(reg, 4));
    char name[96];
    snprintf(name, sizeof name, "return:%s", e->id);
    json_t *rc = db_rows(g_grid.db, "SELECT name, root, side_key FROM channels ORDER BY name");
    json_t *ret = NULL;
    for (size_t r = 0; r < json_array_size(rc); r++)
      if (strcmp(row_s(json_array_get(rc, r), 0), name) == 0) ret = json_array_get(rc, r);
    if (!ret) fail_msg("the grid has no channel %s", name);
    chan_sum rs;
    fetch_channel(c, row_s(ret, 1), row_s(ret, 2), &rs);
    assert_string_equal(rs.first_id, e->id);
    if (rs.requests != reqs || rs.owed != billed)
      fail_msg("%s's return channel holds %lld requests (%lld owed); billed %lld requests (%lld)",
               e->id, rs.requests, rs.owed, reqs, billed);
    json_decref(rc);
    fprintf(stderr, "  %s: %lld usages, %lld Wh, %lld requests, billed = paid = %lld\n", e->id, n,
            wh, reqs, billed);
    cons_total += wh;
  }
  if (jint(t, "consumedWh") != cons_total)
    fail_msg("consumers %lld Wh, grid consumedWh %lld", cons_total, jint(t, "consumedWh"));
  if (jint(t, "paymentRequests") != jint(t, "paymentsConfirmed") || jint(t, "outstanding") != 0 ||
      jint(t, "payoutsDue") != 0 || jint(t, "paidOut") != jint(t, "distributions"))
    fail_msg("grid totals not final: %s", gr.body);
  json_t *errs = json_object_get(gs, "errors");
  static const char *const bad[] = {"duplicate_readings", "rejected_readings", "unknown_payments",
                                    "payout_conflicts", "rejected_channels", "bad_messages",
                                    "unexpected_messages"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (json_object_get(errs, bad[i])) fail_msg("grid counted %s: %s", bad[i], gr.body);
  for (int k = 0; k < NCONS; k++) {
    json_t *e = db_rows(g_cons[k].db, "SELECT name, value FROM counters ORDER BY name");
    for (size_t r = 0; r < json_array_size(e); r++) {
      const char *nm = row_s(json_array_get(e, r), 0);
      if (strcmp(nm, "duplicate_requests") == 0 || strcmp(nm, "payment_conflicts") == 0 ||
          strcmp(nm, "bad_requests") == 0 || strcmp(nm, "rejected_channels") == 0)
        fail_msg("%s counted %s", g_cons[k].id, nm);
    }
    json_decref(e);
  }

  /* every payment is an included transfer, every reference paid exactly once */
  json_t *bills = db_rows(g_grid.db, "SELECT request_id, reference, owed, paid, payment_msg FROM bills ORDER BY slot");
  assert_int_equal((long long)json_array_size(bills), jint(t, "paymentRequests"));
  for (size_t i = 0; i < json_array_size(bills); i++) {
    json_t *b = json_array_get(bills, i);
    char want_ref[100];
    snprintf(want_ref, sizeof want_ref, "p2pgrid:%s", row_s(b, 0));
    assert_string_equal(row_s(b, 1), want_ref);
    if (row_i(b, 2) != row_i(b, 3)) fail_msg("bill %s: owed %lld, paid %lld", row_s(b, 0), (long long)row_i(b, 2), (long long)row_i(b, 3));
    expect_included_tx(row_s(b, 4), row_s(b, 0));
    int inc = included_under(row_s(b, 1), row_s(b, 4));
    if (inc != 1) fail_msg("reference '%s' has %d included transfers, want exactly 1", row_s(b, 1), inc);
  }
  json_t *batches = db_rows(g_grid.db, "SELECT b.id, b.state, b.msg_id, b.total, r.reference"
                                       " FROM batches b JOIN batch_refs r ON r.batch_id = b.id"
                                       " ORDER BY b.id");
  long long batch_total = 0;
  for (size_t i = 0; i < json_array_size(batches); i++) {
    json_t *b = json_array_get(batches, i);
    char ref[96];
    snprintf(ref, sizeof ref, "%s", row_s(b, 4));
    if (row_i(b, 1) != 2) fail_msg("payout batch %lld is in state %lld", (long long)row_i(b, 0), (long long)row_i(b, 1));
    expect_included_tx(row_s(b, 2), ref);
    int inc = included_under(ref, row_s(b, 2));
    if (inc != 1) fail_msg("payout index '%s' has %d included transfers, want exactly 1", ref, inc);
    batch_total += row_i(b, 3);
  }
  if (batch_total != jint(t, "paidOut")) fail_msg("batches total %lld, paidOut %lld", batch_total, jint(t, "paidOut"));
  fprintf(stderr, "  grid: %lld slots settled, produced %lld Wh, consumed %lld Wh, %lld requests "
                  "paid (%lld), %zu payout batches (%lld)\n",
          jint(t, "slotsSettled"), jint(t, "producedWh"), jint(t, "consumedWh"),
          jint(t, "paymentRequests"), jint(t, "paid"), json_array_size(batches), jint(t, "paidOut"));
  /* a real market ran: slots with every party and energy on both sides */
  long long full = db_i64(g_grid.db,
                          "SELECT COUNT(*) FROM slots WHERE producers = 2 AND consumers = 3 AND supply_wh > 0"
                          " AND demand_wh > 0",
                          NULL, 0);
  if (full < 3) fail_msg("only %lld slots were settled with all parties and energy", full);
  json_decref(bills);
  json_decref(batches);
  json_decref(grid_regs);
  for (int i = 0; i < NPROD; i++) json_decref(src_regs[i]);
  resp_free(&gr), resp_free(&gpr), resp_free(&gcr);
}

/* A client without a certificate (it trusts the CA, nothing more) is refused
 * the operator's lists and sees the grid's status without its payments. */
static void check_stranger(void) {
  harness_tls anon;
  memset(&anon, 0, sizeof anon);
  snprintf(anon.ca, sizeof anon.ca, "%s", g_operator.ca);
  resp r;
  http_as(&g_grid.p, &anon, "GET", "/api/consumers", NULL, NULL, 0, NULL, &r);
  /* the entity APIs name their error codes ({"error":{"code":"forbidden",...}}) */
  json_t *err = json_object_get(r.json, "error");
  const char *code = json_string_value(json_object_get(err, "code"));
  const char *msg = json_string_value(json_object_get(err, "message"));
  if (r.status != 403 || !code || strcmp(code, "forbidden") != 0 || !msg || !*msg)
    fail_msg("GET /api/consumers without a client certificate: status %ld body %s, want 403 "
             "forbidden", r.status, r.body ? r.body : "");
  resp_free(&r);
  http_as(&g_grid.p, &anon, "GET", "/api/status", NULL, NULL, 0, NULL, &r);
  if (r.status != 200 || !json_is_object(r.json))
    fail_msg("GET /api/status without a client certificate: status %ld body %s", r.status,
             r.body ? r.body : "");
  if (json_object_get(r.json, "incoming"))
    fail_msg("GET /api/status without a client certificate shows \"incoming\": %s", r.body);
  if (!json_is_object(json_object_get(r.json, "totals")))
    fail_msg("GET /api/status without a client certificate: no totals: %s", r.body);
  resp_free(&r);
  /* the operator does see it */
  json_t *s = get_json(&g_grid.p, "/api/status", &r);
  if (!json_object_get(s, "incoming")) fail_msg("the operator's /api/status has no \"incoming\": %s", r.body);
  resp_free(&r);
  fprintf(stderr, "  without a certificate: /api/consumers 403, /api/status without \"incoming\"\n");
}

/* A restarted node reports the genesis total in unspent outputs. */
static void check_supply(void) {
  proc_stop(&g_node);
  const char *argv[16];
  node_args(argv);
  proc_start(&g_node, argv);
  char *log = slurp(g_node.log, NULL);
  assert_non_null(log);
  const char *at = strstr(log, "genesis outputs, ");
  if (!at) {
    free(log);
    fail_msg("the restarted node logged no supply line");
  }
  unsigned long long supply = strtoull(at + strlen("genesis outputs, "), NULL, 10);
  free(log);
  unsigned long long want = (1 + NCONS) * FUND;
  if (supply != want) fail_msg("supply after the run: %llu, genesis %llu", supply, want);
  fprintf(stderr, "  supply after restart: %llu (genesis %llu)\n", supply, want);
  proc_stop(&g_node);
}

/* ---- the run ----------------------------------------------------------------------------- */

static int count_in_log(const proc *p, const char *needle) {
  char *s = slurp(p->log, NULL);
  int n = 0;
  for (const char *q = s; q && (q = strstr(q, needle)); q += strlen(needle)) n++;
  free(s);
  return n;
}

/* Settlement lines of the grid's current log with money in them ("...
 * producers earn N" with N > 0). */
static int paid_settlements(const proc *p) {
  char *s = slurp(p->log, NULL);
  int n = 0;
  const char *needle = "producers earn ";
  for (const char *q = s; q && (q = strstr(q, needle)); q += strlen(needle))
    if (q[strlen(needle)] >= '1' && q[strlen(needle)] <= '9') n++;
  free(s);
  return n;
}

static void print_rows(const char *what, const char *db, const char *sql) {
  json_t *rows = db_rows(db, sql);
  char *txt = json_dumps(rows, JSON_COMPACT);
  fprintf(stderr, "  %s: %s\n", what, txt);
  free(txt);
  json_decref(rows);
}

/* kill -9 the grid delay_ms after it logged a settlement with money in it:
 * its payout (and the bills' payment requests) are being sent at that
 * moment. Then restart it from the same config and data dir. */
static void crash_grid(unsigned delay_ms) {
  int before = paid_settlements(&g_grid.p);
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (paid_settlements(&g_grid.p) == before) {
    if (now_ms() > deadline) {
      dump_log(&g_grid.p);
      fail_msg("the grid settled no slot with money within %d ms", DEADLINE_SETTLE_MS);
    }
    sleep_ms(1);
  }
  sleep_ms(delay_ms);
  proc_kill(&g_grid.p);
  fprintf(stderr, "grid killed (-9) %u ms after settling a slot (now slot %llu); restarting\n",
          delay_ms, (unsigned long long)(unix_ms() / SLOT_MS));
  print_rows("payout batches [id, state, msg]", g_grid.db,
             "SELECT id, state, msg_id FROM batches ORDER BY id DESC LIMIT 3");
  print_rows("unsent grid messages", g_grid.db, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL");
  start_ent(&g_grid);
}

/* kill -9 consumer-2 delay_ms after it logged `needle` (a payment request
 * read: its payment is being sent; or a payment sent: it is being
 * recorded), then restart it. */
static void crash_consumer(const char *needle, unsigned delay_ms) {
  ent *e = &g_cons[2];
  int before = count_in_log(&e->p, needle);
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (count_in_log(&e->p, needle) == before) {
    if (now_ms() > deadline) {
      dump_log(&e->p);
      fail_msg("%s logged no '%s' within %d ms", e->id, needle, DEADLINE_SETTLE_MS);
    }
    sleep_ms(1);
  }
  sleep_ms(delay_ms);
  proc_kill(&e->p);
  fprintf(stderr, "%s killed (-9) %u ms after '%s' (slot %llu); restarting\n", e->id, delay_ms,
          needle, (unsigned long long)(unix_ms() / SLOT_MS));
  print_rows("its open requests [id, state (0 new, 1 paying, 2 sent), msg]", e->db,
             "SELECT request_id, state, msg_id FROM requests WHERE state < 3");
  start_ent(e);
}

static void run_case(const char *case_name, int salt, int energy_slots, bool crash) {
  g_case_done = false;
  start_world(case_name, salt, energy_slots);
  wait_active();
  if (crash) {
    /* the delays aim at the middle of the transfer that follows the line */
    crash_grid(15);
    crash_consumer(": payment request ", 4);
    crash_consumer(": paid request ", 0);
    if (unix_ms() >= g_t_end) fprintf(stderr, "note: the crashes happened after the energy phase\n");
  }
  wait_money_settled();

  /* freeze: sources, then (once their readings are aggregated) producers and consumers */
  ent *srcs[NSRC];
  for (int j = 0; j < NSRC; j++) srcs[j] = &g_src[j];
  stop_quiet(srcs, NSRC);
  publisher_stop();
  fprintf(stderr, "sources stopped after %llu ms; %llu MQTT messages published\n",
          (unsigned long long)(now_ms() - g_t0), (unsigned long long)atomic_load(&g_pub.sent));
  char why[300] = "";
  uint64_t deadline = now_ms() + DEADLINE_SETTLE_MS;
  while (!producers_have_all(why, sizeof why)) {
    if (now_ms() > deadline) {
      dump_all_logs();
      fail_msg("producers did not take in all source readings: %s", why);
    }
    sleep_ms(100);
  }
  ent *prods[NPROD], *cons[NCONS];
  for (int i = 0; i < NPROD; i++) prods[i] = &g_prod[i];
  for (int k = 0; k < NCONS; k++) cons[k] = &g_cons[k];
  stop_quiet(prods, NPROD);
  stop_quiet(cons, NCONS);
  fprintf(stderr, "producers and consumers stopped after %llu ms\n",
          (unsigned long long)(now_ms() - g_t0));

  pg_client *c = NULL;
  pg_diag d = {{0}};
  pg_http_client_opts ho = {.base_url = g_node.base, .timeout_ms = 30000};
  if (pg_client_http_new(&ho, &c, &d)) fail_msg("client: %s", d.msg);
  wait_grid_read_all(c);
  check_books(c);
  pg_client_free(c);
  if (!crash) check_stranger();
  proc_stop(&g_grid.p);
  broker_stop();
  check_supply();
  fprintf(stderr, "[%s] done in %llu ms\n", case_name, (unsigned long long)(now_ms() - g_t0));
  g_case_done = true;
}

static void test_grid_run(void **state) {
  (void)state;
  run_case("clean", 1, 5, false);
}

static void test_grid_crash(void **state) {
  (void)state;
  run_case("crash", 2, 7, true);
}

static int case_teardown(void **state) {
  (void)state;
  if (!g_case_done) {
    fprintf(stderr, "---- the case failed; the daemons' logs (kept with PG_KEEP_TMP=1) ----\n");
    dump_all_logs();
  }
  kill_all();
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-gt-XXXXXX")) return -1;
  if (pg_crypto_init() != 0) return -1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  if (access(MOSQUITTO_BIN, X_OK) != 0) {
    fprintf(stderr, "%s is missing\n", MOSQUITTO_BIN);
    return -1;
  }
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
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_grid_run, case_teardown),
      cmocka_unit_test_teardown(test_grid_crash, case_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
