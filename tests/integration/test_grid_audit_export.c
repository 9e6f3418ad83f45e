/* The public settlement record and the audit export (issue 14) with real
 * processes on loopback over mutual TLS: a node with a coordinator, the grid
 * (pay-as-clear, slots of 3 s), producer-0 with one CSV source, consumer-0
 * (a CSV meter, pays its bills). After a few settled slots the grid is
 * restarted with another fee (a second row of the settings history), runs a
 * few slots more, and is stopped; then
 *  - `p2pgrid grid audit-export --config grid.ini --out FILE` (no grid
 *    running) lists every settled slot, and each slot's totals are the ones
 *    the restarted grid serves at /api/slots, its bills and payouts add up to
 *    them, its readings are the members';
 *  - the grid's public record read from the node alone (its root from the
 *    export, GET /api/record and the members' registration answers): a
 *    hello whose certificate's signature binds the root to the grid, then per
 *    settled slot its parts; every line opens with exactly one member's
 *    exported side key, to that member's exported bill / payout and readings,
 *    and each slot's head carries the slot's totals and the settings of the
 *    history row in force;
 *  - `p2pgrid consumer|producer audit-keys` give the same side keys, the
 *    record root and the producer's address;
 *  - the export refuses to overwrite a file without --force, names a missing
 *    database and another role's database, and is mode 0600.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <setjmp.h>
#include <stdarg.h>
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

#include "harness.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/grid/record.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/tls/tls.h"
#include "p2pgrid/crypto/slip10.h"

#define SLOT_MS 3000ULL
#define FUND 2000000000000ULL
#define SLOTS_BEFORE 3 /* settled slots before the restart with another fee */
#define SLOTS_AFTER 3
#define DEADLINE_SLOTS_MS 120000

enum { W_GRID, W_PROD0, W_CONS0, NSEED };
static const bool k_funded[NSEED] = {true, false, true};

static char g_dir[120], g_ca[160];
static proc g_node, g_grid, g_prod, g_src, g_cons;
static harness_tls g_op;
static uint64_t g_t_end;

static void path_of(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", g_dir, name);
}

static void write_seeds(void) {
  char path[300], hex[65], line[100];
  path_of(path, sizeof path, "genesis.txt");
  FILE *g = fopen(path, "w");
  assert_non_null(g);
  for (int i = 0; i < NSEED; i++) {
    uint8_t seed[32], addr[32];
    for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(0x3d * (i + 5) + 11 * j);
    assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, addr), 0);
    pg_hex_encode(seed, 32, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g_dir, i);
    write_file(path, line);
    pg_hex_encode(addr, 32, hex);
    if (k_funded[i]) fprintf(g, "%s %llu\n", hex, FUND);
  }
  fclose(g);
}

static void issue(const char *id, const char *role, const char *parent, harness_tls *out) {
  char prefix[200];
  path_of(prefix, sizeof prefix, id);
  ca_issue(g_ca, id, role, parent, strcmp(role, "source") == 0 ? NULL : "10000", prefix, out);
}

static grid_dirs dirs(void) {
  return (grid_dirs){.dir = g_dir, .ca_dir = g_ca, .node_url = g_node.base, .slot_ms = SLOT_MS};
}

static void write_grid_config(uint64_t fee_per_kwh) {
  char extra[400];
  snprintf(extra, sizeof extra,
           "mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\n"
           "fee_per_kwh = %llu\ngrace = 1500ms\npayout_min = 0\ndust_allowance = 10000000\n"
           "float = 500000000000\n",
           (unsigned long long)fee_per_kwh);
  grid_dirs g = dirs();
  write_entity_config(&g, "grid", "grid", NULL, W_GRID, extra);
}

static void start(proc *p, const char *cmd, const char *id) {
  char cfg[300];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g_dir, id);
  snprintf(p->name, sizeof p->name, "%s", id);
  proc_start_cmd(p, cmd, cfg, NULL);
}

static void start_world(void) {
  snprintf(g_dir, sizeof g_dir, "%s/audit", g_root);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  snprintf(g_ca, sizeof g_ca, "%s/ca", g_dir);
  ca_init(g_ca);
  issue("grid", "grid", NULL, NULL);
  issue("operator", "operator", NULL, &g_op);
  issue("producer-0", "producer", NULL, NULL);
  issue("source-0", "source", "producer-0", NULL);
  issue("consumer-0", "consumer", NULL, NULL);
  g_tls = g_op;
  write_seeds();
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  char genesis[300], meter[400], csv[300];
  path_of(genesis, sizeof genesis, "genesis.txt");
  proc_start_coordinator(&g_node, genesis);
  g_t_end = (wall_ms() / SLOT_MS + 400) * SLOT_MS;
  path_of(csv, sizeof csv, "source-0.csv");
  write_csv_meter(csv, SLOT_MS, g_t_end, 3000000, 1000000);
  path_of(csv, sizeof csv, "consumer-0.csv");
  write_csv_meter(csv, SLOT_MS, g_t_end, 2000000, 700000);
  write_grid_config(5000000);
  grid_dirs g = dirs();
  grid_enrol(&g, "producer-0", NULL);
  grid_enrol(&g, "consumer-0", NULL);
  start(&g_grid, "grid", "grid");
  g = dirs();
  write_entity_config(&g, "producer", "producer-0", g_grid.base, W_PROD0,
                      "ask_per_kwh = 90000000\ngrace = 1s\n");
  start(&g_prod, "producer", "producer-0");
  snprintf(meter, sizeof meter, "\n[meter]\nkind = csv\npath = %s/source-0.csv\nwrap = false\n",
           g_dir);
  write_entity_config(&g, "source", "source-0", g_prod.base, -1, meter);
  start(&g_src, "source", "source-0");
  snprintf(meter, sizeof meter,
           "bid_per_kwh = 250000000\n\n[meter]\nkind = csv\npath = %s/consumer-0.csv\nwrap = false\n",
           g_dir);
  write_entity_config(&g, "consumer", "consumer-0", g_grid.base, W_CONS0, meter);
  start(&g_cons, "consumer", "consumer-0");
}

static json_int_t jint_of(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v)) fail_msg("no integer '%s'", k);
  return json_integer_value(v);
}

/* Waits until the grid has settled at least n slots in which both members
 * had readings and billed something. */
static void wait_settled(int n) {
  uint64_t deadline = now_ms() + DEADLINE_SLOTS_MS;
  for (;;) {
    resp r;
    http(&g_grid, "GET", "/api/slots", NULL, NULL, 0, NULL, &r);
    int busy = 0;
    for (size_t i = 0; r.json && i < json_array_size(r.json); i++) {
      json_t *s = json_array_get(r.json, i);
      busy += jint_of(s, "producers") > 0 && jint_of(s, "consumers") > 0 && jint_of(s, "billed") > 0;
    }
    resp_free(&r);
    if (busy >= n) return;
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("the grid settled %d busy slots, want %d", busy, n);
    }
    nap();
  }
}

/* Runs `p2pgrid args...` to the end: its exit status; its output in *out
 * (caller frees, may be NULL). */
static int run_cli(const char *const *args, char **out) {
  static int runs;
  char log[300];
  snprintf(log, sizeof log, "%s/cli-%d.log", g_dir, ++runs);
  const char *argv[16] = {P2PGRID_BIN};
  int n = 1;
  while (args[n - 1] && n < 15) argv[n] = args[n - 1], n++;
  argv[n] = NULL;
  pid_t pid = spawn_logged(argv, log);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (out) *out = slurp(log, NULL);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static json_t *load_json(const char *path) {
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  if (!j) fail_msg("%s: %s (line %d)", path, e.text, e.line);
  return j;
}

/* ---- the export against the grid's API ---- */

static void check_slots_against_api(json_t *ex) {
  json_t *slots = json_object_get(ex, "slots");
  size_t n = json_array_size(slots);
  assert_true(n >= SLOTS_BEFORE + SLOTS_AFTER);
  json_int_t last = jint_of(json_array_get(slots, n - 1), "slot");
  char path[100];
  snprintf(path, sizeof path, "/api/slots?from=0&to=%lld", (long long)last);
  resp r;
  http(&g_grid, "GET", path, NULL, NULL, 0, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(json_array_size(r.json), n); /* every settled slot, once */
  static const char *const same[][2] = {
      {"slot", "slot"},           {"supplyWh", "supplyWh"},   {"demandWh", "demandWh"},
      {"matchedWh", "communityWh"}, {"consumerPayments", "billed"},
      {"producerRevenues", "producerRevenues"}, {"fees", "fees"}, {"gridIncome", "gridIncome"},
      {"producers", "producers"}, {"consumers", "consumers"}, {"lateReadings", "lateReadings"}};
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(slots, i), *a = json_array_get(r.json, i);
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
      if (jint_of(e, same[k][0]) != jint_of(a, same[k][1]))
        fail_msg("slot %lld: export %s %lld, API %s %lld", (long long)jint_of(e, "slot"),
                 same[k][0], (long long)jint_of(e, same[k][0]), same[k][1],
                 (long long)jint_of(a, same[k][1]));
    json_int_t owed = 0, paid_out = 0;
    json_t *b = json_object_get(e, "bills"), *p = json_object_get(e, "payouts");
    for (size_t k = 0; k < json_array_size(b); k++) owed += jint_of(json_array_get(b, k), "owed");
    for (size_t k = 0; k < json_array_size(p); k++)
      paid_out += jint_of(json_array_get(p, k), "amount");
    assert_int_equal(owed, jint_of(e, "consumerPayments"));
    assert_int_equal(paid_out, jint_of(e, "producerRevenues"));
    assert_true(json_is_boolean(json_object_get(e, "hasPrice")));
  }
  resp_free(&r);
  /* the members' own views agree: consumer-0's bills, producer-0's payouts */
  json_int_t billed = 0, earned = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(slots, i);
    json_t *b = json_object_get(e, "bills"), *p = json_object_get(e, "payouts");
    for (size_t k = 0; k < json_array_size(b); k++) billed += jint_of(json_array_get(b, k), "owed");
    for (size_t k = 0; k < json_array_size(p); k++) earned += jint_of(json_array_get(p, k), "amount");
  }
  snprintf(path, sizeof path, "/api/consumers/consumer-0/slots?from=0&to=%lld", (long long)last);
  http(&g_grid, "GET", path, NULL, NULL, 0, NULL, &r);
  json_int_t api_billed = 0, api_earned = 0;
  for (size_t i = 0; i < json_array_size(r.json); i++)
    api_billed += jint_of(json_array_get(r.json, i), "billed");
  resp_free(&r);
  snprintf(path, sizeof path, "/api/producers/producer-0/slots?from=0&to=%lld", (long long)last);
  http(&g_grid, "GET", path, NULL, NULL, 0, NULL, &r);
  for (size_t i = 0; i < json_array_size(r.json); i++)
    api_earned += jint_of(json_array_get(r.json, i), "amount");
  resp_free(&r);
  assert_int_equal(billed, api_billed);
  assert_int_equal(earned, api_earned);
  assert_true(billed > 0 && earned > 0);
}

/* ---- the record on the Tangle against the export ---- */

typedef struct member_keys {
  const char *id, *role;
  uint8_t m[8][32]; /* one per exported channel */
  size_t n;
} member_keys;

static void keys_of(json_t *ex, member_keys *mk, size_t *n) {
  json_t *members = json_object_get(ex, "members");
  *n = json_array_size(members);
  assert_int_equal(*n, 2);
  for (size_t i = 0; i < *n; i++) {
    json_t *m = json_array_get(members, i);
    mk[i].id = jstr(m, "id");
    mk[i].role = jstr(m, "role");
    json_t *ch = json_object_get(m, "channels");
    assert_true(json_array_size(ch) >= 1 && json_array_size(ch) <= 8);
    mk[i].n = json_array_size(ch);
    for (size_t k = 0; k < mk[i].n; k++) {
      const char *sk = jstr(json_array_get(ch, k), "sideKey");
      assert_int_equal(pg_record_member_key(mk[i].id, sk, strlen(sk), mk[i].m[k]), PG_OK);
    }
  }
}

/* The hello: the grid's certificate and its signature over the binding of
 * the record root. */
static void check_hello(const char *text, size_t len, const char *root) {
  pg_grid_msg h;
  pg_diag d = {{0}};
  if (pg_grid_msg_parse(text, len, &h, &d)) fail_msg("record hello: %s", d.msg);
  assert_int_equal(h.command, PG_GRID_CMD_HELLO);
  assert_string_equal(h.u.hello.registration_id, "grid");
  assert_true(h.u.hello.cert_len > 0);
  pg_buf b;
  pg_buf_init(&b, 512);
  assert_int_equal(pg_grid_binding_bytes_public("grid", root, h.u.hello.time, &b, NULL), PG_OK);
  if (pg_tls_sig_verify(h.u.hello.cert, h.u.hello.cert_len, b.data, b.len, h.u.hello.signature.sig,
                        h.u.hello.signature.sig_len, &d))
    fail_msg("record hello binding: %s", d.msg);
  /* and not for another root */
  pg_buf_reset(&b);
  char other[82];
  memcpy(other, root, 82);
  other[0] = other[0] == 'A' ? 'B' : 'A';
  assert_int_equal(pg_grid_binding_bytes_public("grid", other, h.u.hello.time, &b, NULL), PG_OK);
  assert_int_not_equal(pg_tls_sig_verify(h.u.hello.cert, h.u.hello.cert_len, b.data, b.len,
                                         h.u.hello.signature.sig, h.u.hello.signature.sig_len, NULL),
                       PG_OK);
  pg_buf_free(&b);
}

/* slot's entry of the export (NULL when absent) */
static json_t *export_slot(json_t *ex, uint64_t slot) {
  json_t *slots = json_object_get(ex, "slots");
  for (size_t i = 0; i < json_array_size(slots); i++)
    if ((uint64_t)jint_of(json_array_get(slots, i), "slot") == slot) return json_array_get(slots, i);
  return NULL;
}

/* The export's row of arr whose key is id (NULL when none). */
static json_t *row_of(json_t *arr, const char *key, const char *id) {
  for (size_t i = 0; i < json_array_size(arr); i++)
    if (strcmp(jstr(json_array_get(arr, i), key), id) == 0) return json_array_get(arr, i);
  return NULL;
}

/* An opened line against the export: the bill or payout, the readings. */
static void check_line(json_t *es, const member_keys *mk, const pg_record_plain *p) {
  assert_string_equal(p->id, mk->id);
  bool consumer = strcmp(mk->role, "consumer") == 0;
  assert_int_equal(p->role, consumer ? PG_GRID_ENTITY_CONSUMER : PG_GRID_ENTITY_PRODUCER);
  json_t *row = consumer ? row_of(json_object_get(es, "bills"), "consumerId", mk->id)
                         : row_of(json_object_get(es, "payouts"), "producerId", mk->id);
  if (row) {
    assert_int_equal(p->total, jint_of(row, consumer ? "owed" : "amount"));
    assert_int_equal(p->community_wh, jint_of(row, "communityWh"));
    assert_int_equal(p->baseline, jint_of(row, "baseline"));
    assert_int_equal(p->wh, jint_of(row, consumer ? "usageWh" : "outputWh"));
    if (consumer) assert_string_equal(p->request_id, jstr(row, "requestId"));
  } else {
    assert_int_equal(p->total, 0);
    assert_string_equal(p->request_id, "");
  }
  /* the readings: the export's readings of this member in this slot */
  json_t *rd = json_object_get(es, "readings");
  size_t want = 0;
  json_int_t wh = 0;
  for (size_t i = 0; i < json_array_size(rd); i++) {
    json_t *r = json_array_get(rd, i);
    if (strcmp(jstr(r, "id"), mk->id) != 0) continue;
    want++;
    wh += jint_of(r, "wh");
    uint8_t id[32];
    assert_int_equal(pg_hex_decode_exact(jstr(r, "msgId"), id, 32), PG_OK);
    bool found = false;
    for (size_t k = 0; k < p->n_readings; k++) found |= memcmp(p->readings[k], id, 32) == 0;
    assert_true(found);
  }
  assert_int_equal(p->n_readings, want);
  assert_int_equal(p->wh, wh);
}

/* The settings row of the history in force at slot. */
static json_t *config_at(json_t *ex, uint64_t slot) {
  json_t *cfg = json_object_get(ex, "config"), *at = NULL;
  for (size_t i = 0; i < json_array_size(cfg); i++)
    if ((uint64_t)jint_of(json_array_get(cfg, i), "fromSlot") <= slot) at = json_array_get(cfg, i);
  assert_non_null(at);
  return at;
}

static void check_head(json_t *ex, json_t *es, const pg_grid_settlement *s) {
  assert_int_equal(s->totals.supply_wh, jint_of(es, "supplyWh"));
  assert_int_equal(s->totals.consumer_payments, jint_of(es, "consumerPayments"));
  assert_int_equal(s->totals.producer_revenues, jint_of(es, "producerRevenues"));
  assert_int_equal(s->totals.grid_income, jint_of(es, "gridIncome"));
  assert_int_equal(s->settled_at, jint_of(es, "settledMs"));
  json_t *c = config_at(ex, s->slot);
  assert_int_equal(s->config.fee_per_kwh, jint_of(c, "feePerKwh"));
  assert_int_equal(s->config.import_price, jint_of(c, "importPrice"));
  assert_int_equal((json_int_t)s->n_lines, jint_of(es, "producers") + jint_of(es, "consumers"));
}

static void check_record(json_t *ex) {
  const char *root = jstr(json_object_get(ex, "grid"), "recordRoot");
  assert_int_equal(strlen(root), 81);
  member_keys mk[2];
  size_t nm = 0;
  keys_of(ex, mk, &nm);
  pg_client *c = NULL;
  pg_diag d = {{0}};
  pg_http_client_opts co = {.base_url = g_node.base};
  assert_int_equal(pg_client_http_new(&co, &c, &d), PG_OK);
  pg_mam_fetched *f = NULL;
  size_t nf = 0;
  if (pg_mam_fetch_all(c, root, PG_MAM_PUBLIC, NULL, 0, 0, &f, &nf, &d))
    fail_msg("record: %s", d.msg);
  size_t slots_seen = 0, lines = 0;
  for (size_t i = 0; i < nf; i++) {
    char *text = NULL;
    size_t tl = 0;
    assert_int_equal(pg_mam_trytes_to_text(f[i].message, f[i].message_len, &text, &tl), PG_OK);
    if (i == 0) {
      check_hello(text, tl, root);
      free(text);
      continue;
    }
    pg_grid_settlement s;
    if (pg_grid_settlement_parse(text, tl, &s, &d)) fail_msg("record %zu: %s", i, d.msg);
    free(text);
    json_t *es = export_slot(ex, s.slot);
    if (!es) { /* settled after the export (the grid ran on for the API check) */
      pg_grid_settlement_free(&s);
      continue;
    }
    assert_int_equal(s.parts, 1); /* two members: one part */
    check_head(ex, es, &s);
    slots_seen++;
    for (size_t l = 0; l < s.n_lines; l++, lines++) {
      int opened = 0;
      for (size_t m = 0; m < nm; m++)
        for (size_t k = 0; k < mk[m].n; k++) {
          pg_record_plain p;
          int rc = pg_record_open(mk[m].m[k], s.slot, &s.lines[l], &p, &d);
          if (rc == PG_ERR_NOT_FOUND) continue;
          if (rc) fail_msg("slot %llu line %zu: %s", (unsigned long long)s.slot, l, d.msg);
          check_line(es, &mk[m], &p);
          opened++;
        }
      assert_int_equal(opened, 1);
    }
    pg_grid_settlement_free(&s);
  }
  assert_int_equal(slots_seen, json_array_size(json_object_get(ex, "slots")));
  fprintf(stderr, "  record: %zu messages, %zu slots, %zu lines opened\n", nf, slots_seen, lines);
  pg_mam_fetched_free_all(f, nf);
  pg_client_free(c);
}

/* ---- the members' keys ---- */

static void check_member_keys(json_t *ex, const char *role, const char *id) {
  char cfg[300], out[300];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g_dir, id);
  snprintf(out, sizeof out, "%s/%s-keys.json", g_dir, id);
  const char *args[] = {role, "audit-keys", "--config", cfg, "--out", out, NULL};
  assert_int_equal(run_cli(args, NULL), 0);
  json_t *k = load_json(out);
  assert_string_equal(jstr(k, "format"), "p2pgrid-member-keys/1");
  assert_string_equal(jstr(k, "id"), id);
  assert_string_equal(jstr(k, "recordRoot"), jstr(json_object_get(ex, "grid"), "recordRoot"));
  json_t *m = row_of(json_object_get(ex, "members"), "id", id);
  assert_non_null(m);
  json_t *ch = json_array_get(json_object_get(m, "channels"), 0);
  json_t *mine = json_array_get(json_object_get(k, "channels"), 0);
  assert_string_equal(jstr(mine, "root"), jstr(ch, "root"));
  assert_string_equal(jstr(mine, "sideKey"), jstr(ch, "sideKey"));
  if (strcmp(role, "consumer") == 0) {
    json_t *r = json_object_get(k, "return"), *er = json_object_get(m, "return");
    assert_string_equal(jstr(r, "root"), jstr(er, "root"));
    assert_string_equal(jstr(r, "sideKey"), jstr(er, "sideKey"));
  } else {
    json_t *addrs = json_object_get(m, "addresses");
    assert_true(json_array_size(addrs) >= 1);
    assert_string_equal(jstr(k, "address"), json_string_value(json_array_get(addrs, 0)));
  }
  json_decref(k);
}

/* ---- the command's refusals ---- */

static void check_refusals(const char *out) {
  char cfg[300], cons_dir[300], *log = NULL;
  snprintf(cfg, sizeof cfg, "%s/grid.ini", g_dir);
  snprintf(cons_dir, sizeof cons_dir, "%s/consumer-0", g_dir);
  struct stat st;
  assert_int_equal(stat(out, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* it holds every side key */
  const char *again[] = {"grid", "audit-export", "--config", cfg, "--out", out, NULL};
  assert_int_equal(run_cli(again, &log), 1);
  assert_non_null(strstr(log, "--force"));
  free(log);
  const char *forced[] = {"grid", "audit-export", "--config", cfg, "--out", out, "--force", NULL};
  assert_int_equal(run_cli(forced, NULL), 0);
  const char *role[] = {"grid", "audit-export", "--data-dir", cons_dir, NULL};
  assert_int_equal(run_cli(role, &log), 1);
  assert_non_null(strstr(log, "consumer's database"));
  free(log);
  const char *none[] = {"grid", "audit-export", "--data-dir", "/nonexistent/p2pgrid", NULL};
  assert_int_equal(run_cli(none, &log), 1);
  assert_non_null(strstr(log, "no grid database"));
  free(log);
  const char *both[] = {"grid", "audit-export", NULL};
  assert_int_equal(run_cli(both, NULL), 2);
}

static void test_audit_export(void **state) {
  (void)state;
  uint64_t t0 = now_ms();
  start_world();
  resp r;
  harness_tls stranger;
  memset(&stranger, 0, sizeof stranger); /* the CA to trust the server, no certificate */
  snprintf(stranger.ca, sizeof stranger.ca, "%s", g_op.ca);
  http_as(&g_grid, &stranger, "GET", "/api/record", NULL, NULL, 0, NULL, &r); /* public */
  assert_int_equal(r.status, 200);
  char root[82];
  snprintf(root, sizeof root, "%s", jstr(r.json, "root"));
  resp_free(&r);
  wait_settled(SLOTS_BEFORE);
  /* another fee from the next slot on: a second row of the history */
  proc_stop(&g_grid);
  write_grid_config(7000000);
  start(&g_grid, "grid", "grid");
  wait_settled(SLOTS_BEFORE + SLOTS_AFTER);
  proc_stop(&g_grid);
  char out[300], cfg[300];
  snprintf(out, sizeof out, "%s/audit-export.json", g_dir);
  snprintf(cfg, sizeof cfg, "%s/grid.ini", g_dir);
  const char *args[] = {"grid", "audit-export", "--config", cfg, "--out", out, NULL};
  assert_int_equal(run_cli(args, NULL), 0); /* the grid is not running */
  start(&g_grid, "grid", "grid");
  json_t *ex = load_json(out);
  assert_string_equal(jstr(ex, "format"), "p2pgrid-audit-export/1");
  json_t *grid = json_object_get(ex, "grid");
  assert_string_equal(jstr(grid, "recordRoot"), root);
  assert_int_equal(jint_of(grid, "slotMs"), SLOT_MS);
  assert_true(pg_grid_is_address(jstr(grid, "address")));
  json_t *config = json_object_get(ex, "config");
  assert_int_equal(json_array_size(config), 2);
  assert_int_equal(jint_of(json_array_get(config, 0), "feePerKwh"), 5000000);
  assert_int_equal(jint_of(json_array_get(config, 1), "feePerKwh"), 7000000);
  assert_true(jint_of(json_array_get(config, 1), "fromSlot") >
              jint_of(json_array_get(config, 0), "fromSlot"));
  check_slots_against_api(ex);
  check_record(ex);
  check_member_keys(ex, "consumer", "consumer-0");
  check_member_keys(ex, "producer", "producer-0");
  check_refusals(out);
  json_decref(ex);
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_node};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) proc_stop(all[i]);
  fprintf(stderr, "grid audit export: %.1f s\n", (double)(now_ms() - t0) / 1000.0);
}

static int teardown(void **state) {
  (void)state;
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_node};
  proc_abort_all(all, sizeof all / sizeof all[0]);
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  return harness_mkroot("/tmp/p2pgrid-audit-XXXXXX");
}

static int group_teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_audit_export, teardown)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
