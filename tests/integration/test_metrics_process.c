/* GET /metrics of a running grid (issue 19) with real processes on loopback:
 * a node with a coordinator, the grid (pay-as-clear, slots of 3 s),
 * producer-0 with one CSV source, consumer-0 (CSV meter, pays its bills),
 * entities over mutual TLS.
 *  - The attacker first: before any scrape, the node gets junk messages,
 *    posts with a wrong Content-Type and requests for 200 made-up paths
 *    (quotes, newlines, long segments); none of that text may show up in
 *    /metrics (labels come from fixed lists) and the text stays small; the
 *    junk is counted (messages_received_total{outcome="invalid"}, route
 *    "other" 4xx). An entity's /metrics refuses a client without a
 *    certificate and a member that is not the entity (403), like its
 *    /api/status; the node's is open like its GET API.
 *  - `promtool check metrics` (Debian's prometheus package) passes on the
 *    output of the node and of each entity (exit 0, no lint finding).
 *  - Counters move between two scrapes a few slots apart: slots settled,
 *    readings accepted, bills, slots reported, messages stored, confirmed
 *    milestone index, the entities' batches (route batch_post) and
 *    batched lookups (routes find_post and outputs_post); gauges
 *    agree with the status APIs.
 *  - No member id appears in any entity's metrics.
 *  - examples/grafana-dashboard.json parses, and every metric name in its
 *    expressions is a family some daemon exports.
 * Fails without promtool: scripts/bootstrap installs it, and a check that
 * silently skipped would prove nothing.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#ifndef PROMTOOL_BIN
#define PROMTOOL_BIN "/usr/bin/promtool"
#endif

#define SLOT_MS 3000ULL
#define FUND 2000000000000ULL
#define DEADLINE_SLOTS_MS 120000

enum { W_GRID, W_PROD0, W_CONS0, NSEED };

static char g_dir[120], g_ca[160];
static proc g_node, g_grid, g_prod, g_src, g_cons;
static harness_tls g_op, g_cons_tls, g_src_tls;

static grid_dirs dirs(void) {
  return (grid_dirs){.dir = g_dir, .ca_dir = g_ca, .node_url = g_node.base, .slot_ms = SLOT_MS};
}

/* A source's or consumer's certificate that also names 127.0.0.1 (its
 * /metrics is scraped over HTTPS there; only grids and producers get it by
 * default). */
static void issue_served(const char *id, const char *role, const char *parent,
                         harness_tls *out) {
  char prefix[200], log[300];
  snprintf(prefix, sizeof prefix, "%s/%s", g_dir, id);
  snprintf(log, sizeof log, "%s.issue.log", prefix);
  const char *argv[16] = {P2PGRID_BIN, "ca",   "issue", "--dir", g_ca,        "--id",
                          id,          "--role", role,  "--out", prefix, "--host", "127.0.0.1"};
  int n = 13;
  if (parent) argv[n++] = "--parent", argv[n++] = parent;
  else argv[n++] = "--max-kw", argv[n++] = "10000";
  argv[n] = NULL;
  run_ok(argv, log);
  snprintf(out->ca, sizeof out->ca, "%s/ca.crt", g_ca);
  snprintf(out->cert, sizeof out->cert, "%s.crt", prefix);
  snprintf(out->key, sizeof out->key, "%s.key", prefix);
}

static void start_world(void) {
  snprintf(g_dir, sizeof g_dir, "%s/metrics", g_root);
  assert_int_equal(mkdir(g_dir, 0755), 0);
  snprintf(g_ca, sizeof g_ca, "%s/ca", g_dir);
  ca_init(g_ca);
  grid_dirs g = dirs();
  grid_issue(&g, "grid", "grid", NULL, NULL);
  grid_issue(&g, "operator", "operator", NULL, &g_op);
  grid_issue(&g, "producer-0", "producer", NULL, NULL);
  issue_served("source-0", "source", "producer-0", &g_src_tls);
  issue_served("consumer-0", "consumer", NULL, &g_cons_tls);
  g_tls = g_op;
  grid_write_wallets(&g, NSEED, 1u << W_GRID | 1u << W_CONS0, FUND, 0x4b);
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  char genesis[300], meter[400], csv[300];
  snprintf(genesis, sizeof genesis, "%s/genesis.txt", g_dir);
  proc_start_coordinator(&g_node, genesis);
  uint64_t t_end = (wall_ms() / SLOT_MS + 400) * SLOT_MS;
  snprintf(csv, sizeof csv, "%s/source-0.csv", g_dir);
  write_csv_meter(csv, SLOT_MS, t_end, 3000000, 1000000);
  snprintf(csv, sizeof csv, "%s/consumer-0.csv", g_dir);
  write_csv_meter(csv, SLOT_MS, t_end, 2000000, 700000);
  g = dirs();
  write_entity_config(&g, "grid", "grid", NULL, W_GRID,
                      "mechanism = pay-as-clear\nimport_price = 300000000\n"
                      "export_price = 80000000\nfee_per_kwh = 5000000\ngrace = 1500ms\n"
                      "payout_min = 0\ndust_allowance = 10000000\nfloat = 500000000000\n");
  grid_enrol(&g, "producer-0", NULL);
  grid_enrol(&g, "consumer-0", NULL);
  grid_start(&g, &g_grid, "grid", "grid");
  write_entity_config(&g, "producer", "producer-0", g_grid.base, W_PROD0,
                      "ask_per_kwh = 90000000\ngrace = 1s\n");
  grid_start(&g, &g_prod, "producer", "producer-0");
  snprintf(meter, sizeof meter, "\n[meter]\nkind = csv\npath = %s/source-0.csv\nwrap = false\n",
           g_dir);
  write_entity_config(&g, "source", "source-0", g_prod.base, -1, meter);
  grid_start(&g, &g_src, "source", "source-0");
  snprintf(meter, sizeof meter,
           "bid_per_kwh = 250000000\n\n[meter]\nkind = csv\npath = %s/consumer-0.csv\n"
           "wrap = false\n",
           g_dir);
  write_entity_config(&g, "consumer", "consumer-0", g_grid.base, W_CONS0, meter);
  grid_start(&g, &g_cons, "consumer", "consumer-0");
}

/* ---- the text format ---- */

/* promtool check metrics < the text: exit 0 and no finding printed. */
static void promtool_ok(const char *name, const char *text) {
  char file[300], log[300], cmd[900];
  snprintf(file, sizeof file, "%s/%s.metrics.txt", g_dir, name);
  snprintf(log, sizeof log, "%s/%s.promtool.log", g_dir, name);
  write_file(file, text);
  snprintf(cmd, sizeof cmd, "exec %s check metrics < '%s'", PROMTOOL_BIN, file);
  const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
  int st = run_status(argv, log);
  size_t len = 0;
  char *out = slurp(log, &len);
  if (st != 0 || len != 0) fail_msg("promtool check metrics on %s: exit %d: %s", name, st, out);
  free(out);
}

/* ---- the attacker first ---- */

static void junk_at_node(void) {
  resp r;
  static const char junk[] = "{\"parentMessageIds\":[\"zz\"]}";
  for (int i = 0; i < 3; i++) {
    http(&g_node, "POST", "/api/v1/messages", "application/json", junk, sizeof junk - 1, NULL, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
  }
  http(&g_node, "POST", "/api/v1/messages", "application/octet-stream", "\x01\x02", 2, NULL, &r);
  assert_int_equal(r.status, 400);
  resp_free(&r);
  /* a message already stored, posted again: duplicate */
  json_t *ms = get_data(&g_node, "/api/v1/milestones/1", &r);
  char path[160];
  snprintf(path, sizeof path, "/api/v1/messages/%s/raw", jstr(ms, "messageId"));
  resp_free(&r);
  resp raw;
  get(&g_node, path, &raw);
  assert_int_equal(raw.status, 200);
  http(&g_node, "POST", "/api/v1/messages", "application/octet-stream", raw.body, raw.len, NULL,
       &r);
  assert_int_equal(r.status, 201);
  resp_free(&r);
  resp_free(&raw);
  http(&g_node, "POST", "/api/v1/messages", "text/evil\"label", "x", 1, NULL, &r);
  assert_int_equal(r.status, 415);
  resp_free(&r);
  for (int i = 0; i < 200; i++) {
    char bad[200];
    snprintf(bad, sizeof bad, "/api/v1/evil%%22%%0Aroute_%d%s/%%7Bx%%7D", i,
             i % 2 ? "/very-long-segment-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" : "");
    http(&g_node, "GET", bad, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
  }
}

static void check_node_clean(const char *text) {
  assert_null(strstr(text, "evil"));
  assert_null(strstr(text, "route_"));
  assert_null(strstr(text, "very-long"));
  assert_true(strlen(text) < 200000);
  assert_true(metric_sample(text, "p2pgrid_node_messages_received_total{outcome=\"invalid\"}") >= 5);
  assert_true(metric_sample(text, "p2pgrid_node_messages_received_total{outcome=\"duplicate\"}") >= 1);
  assert_true(metric_sample(text, "p2pgrid_node_api_request_duration_seconds_count{route=\"other\","
                           "status=\"4xx\"}") >= 200);
}

static void check_entity_access(void) {
  resp r;
  /* no certificate: refused like /api/status */
  harness_tls none = {0};
  snprintf(none.ca, sizeof none.ca, "%s", g_op.ca);
  http_as(&g_src, &none, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
  assert_int_equal(r.status, 403);
  resp_free(&r);
  /* another member: refused */
  http_as(&g_src, &g_cons_tls, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
  assert_int_equal(r.status, 403);
  resp_free(&r);
  http_as(&g_grid, &g_cons_tls, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
  assert_int_equal(r.status, 403);
  resp_free(&r);
  /* read-only */
  http_as(&g_cons, &g_cons_tls, "POST", "/metrics", "text/plain", "x", 1, NULL, &r);
  assert_int_equal(r.status, 405);
  resp_free(&r);
  /* the entity itself */
  free(get_metrics(&g_src, &g_src_tls));
  free(get_metrics(&g_cons, &g_cons_tls));
}

/* ---- the run ---- */

static void wait_slots_settled(double at_least) {
  uint64_t deadline = now_ms() + DEADLINE_SLOTS_MS;
  for (;;) {
    char *t = get_metrics(&g_grid, &g_op);
    double v = metric_sample(t, "p2pgrid_grid_slots_settled_total");
    double bills = metric_sample(t, "p2pgrid_grid_bills_total");
    free(t);
    if (v >= at_least && bills >= 1) return;
    if (now_ms() > deadline) fail_msg("the grid settled %.0f slots, waited for %.0f", v, at_least);
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
  }
}

typedef struct scrape_set {
  char *node, *grid, *prod, *src, *cons;
} scrape_set;

static void scrape_all(scrape_set *s) {
  s->node = get_metrics(&g_node, NULL);
  s->grid = get_metrics(&g_grid, &g_op);
  s->prod = get_metrics(&g_prod, &g_op);
  s->src = get_metrics(&g_src, &g_op);
  s->cons = get_metrics(&g_cons, &g_op);
}

static void free_set(scrape_set *s) {
  free(s->node), free(s->grid), free(s->prod), free(s->src), free(s->cons);
}

#define MOVED(a, b, series)                                                                  \
  do {                                                                                       \
    double x_ = metric_sample(a, series), y_ = metric_sample(b, series);                                   \
    if (!(y_ > x_)) fail_msg("%s did not move: %.0f then %.0f", series, x_, y_);             \
  } while (0)

static void check_moved(const scrape_set *a, const scrape_set *b) {
  MOVED(a->node, b->node, "p2pgrid_node_messages_received_total{outcome=\"stored\"}");
  MOVED(a->node, b->node, "p2pgrid_node_milestone_index{kind=\"confirmed\"}");
  MOVED(a->node, b->node, "p2pgrid_node_messages");
  MOVED(a->node, b->node, "p2pgrid_node_store_commits_total");
  MOVED(a->node, b->node, "p2pgrid_node_store_committed_messages_total");
  MOVED(a->node, b->node,
        "p2pgrid_node_api_request_duration_seconds_count{route=\"messages_post\",status=\"2xx\"}");
  /* the entities publish their channels' messages in batches */
  MOVED(a->node, b->node,
        "p2pgrid_node_api_request_duration_seconds_count{route=\"batch_post\",status=\"2xx\"}");
  /* ... and read their members' channels with batched lookups */
  MOVED(a->node, b->node,
        "p2pgrid_node_api_request_duration_seconds_count{route=\"find_post\",status=\"2xx\"}");
  /* ... and the grid looks the payments to it up with batched output
   * lookups (one request a scan that finds new ones: by now it has, though
   * not necessarily between these two scrapes) */
  const char *outputs_post =
      "p2pgrid_node_api_request_duration_seconds_count{route=\"outputs_post\",status=\"2xx\"}";
  if (!(metric_sample(b->node, outputs_post) > 0)) fail_msg("%s is 0", outputs_post);
  MOVED(a->grid, b->grid, "p2pgrid_grid_slots_settled_total");
  MOVED(a->grid, b->grid, "p2pgrid_entity_readings_total{outcome=\"accepted\"}");
  MOVED(a->grid, b->grid, "p2pgrid_grid_bills_total");
  MOVED(a->prod, b->prod, "p2pgrid_entity_readings_total{outcome=\"accepted\"}");
  MOVED(a->prod, b->prod, "p2pgrid_entity_slots_reported_total");
  MOVED(a->src, b->src, "p2pgrid_entity_slots_reported_total");
  MOVED(a->cons, b->cons, "p2pgrid_entity_slots_reported_total");
  /* each daemon polls for what it waits for at least at every slot's start
   * (and a consumer looks at every payment it sent) */
  MOVED(a->grid, b->grid, "p2pgrid_entity_polls_total{of=\"payments\"}");
  MOVED(a->prod, b->prod, "p2pgrid_entity_polls_total{of=\"payouts\"}");
  MOVED(a->cons, b->cons, "p2pgrid_entity_polls_total{of=\"bills\"}");
  MOVED(a->cons, b->cons, "p2pgrid_entity_polls_total{of=\"confirmations\"}");
}

/* Gauges read from the stores agree with the status APIs of the moment
 * (bills: the grid's totals; channels: its producers and consumers). */
static void check_gauges(const scrape_set *s) {
  assert_int_equal(metric_sample(s->grid, "p2pgrid_entity_info{role=\"grid\"}"), 1);
  assert_int_equal(metric_sample(s->cons, "p2pgrid_entity_info{role=\"consumer\"}"), 1);
  assert_int_equal(metric_sample(s->grid, "p2pgrid_entity_registered_channels{role=\"producer\","
                                   "state=\"active\"}"), 1);
  assert_int_equal(metric_sample(s->grid, "p2pgrid_entity_registered_channels{role=\"consumer\","
                                   "state=\"active\"}"), 1);
  assert_int_equal(metric_sample(s->prod, "p2pgrid_entity_registered_channels{role=\"source\","
                                   "state=\"active\"}"), 1);
  assert_int_equal(metric_sample(s->grid, "p2pgrid_grid_float_max"), 500000000000.0);
  /* payments received + the float - payouts batched: above 0 while the
   * consumer pays more than the producer earns (the grid keeps the fees) */
  assert_true(metric_sample(s->grid, "p2pgrid_grid_float_balance") > 0);
  assert_int_equal(metric_sample(s->grid, "p2pgrid_grid_quarantined_readings"), 0);
  assert_int_equal(metric_sample(s->src, "p2pgrid_entity_registrations_total{outcome=\"registered\"}"),
                   1);
  assert_int_equal(metric_sample(s->cons, "p2pgrid_entity_registrations_total{outcome=\"registered\"}"),
                   1);
  assert_true(metric_sample(s->grid, "p2pgrid_entity_registration_requests_total{outcome=\"accepted\"}")
              >= 2);
  /* a coordinator without peers, no MQTT */
  assert_int_equal(metric_sample(s->node, "p2pgrid_node_peers"), 0);
  assert_int_equal(metric_sample(s->node, "p2pgrid_node_healthy"), 1);
  assert_true(metric_sample(s->node, "p2pgrid_node_ledger_outputs{state=\"unspent\"}") >= 2);
  resp r;
  http(&g_grid, "GET", "/api/status", NULL, NULL, 0, NULL, &r);
  json_t *totals = json_object_get(r.json, "totals");
  double bills = metric_sample(s->grid, "p2pgrid_grid_bills{state=\"open\"}") +
                 metric_sample(s->grid, "p2pgrid_grid_bills{state=\"paid\"}");
  assert_true(bills <= (double)jint(totals, "paymentRequests"));
  assert_true(bills >= 1);
  resp_free(&r);
  static const char *const ids[] = {"producer-0", "consumer-0", "source-0", "operator"};
  const char *texts[] = {s->grid, s->prod, s->src, s->cons};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++)
      if (strstr(texts[i], ids[j])) fail_msg("member id %s in metrics:\n%s", ids[j], texts[i]);
}

/* ---- the example dashboard ---- */

/* Every p2pgrid_* name in s (suffixes of histograms stripped) must be a
 * "# TYPE name" of one of the texts. */
static void check_expr(const char *expr, const scrape_set *s, int *names) {
  const char *texts[] = {s->node, s->grid, s->prod, s->src, s->cons};
  for (const char *p = strstr(expr, "p2pgrid_"); p; p = strstr(p, "p2pgrid_")) {
    char name[128];
    size_t n = 0;
    while ((isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':') && n + 1 < sizeof name)
      name[n] = p[n], n++;
    name[n] = '\0';
    p += n;
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    char want[160];
    bool found = false;
    for (int k = -1; k < 3 && !found; k++) {
      char base[128];
      snprintf(base, sizeof base, "%s", name);
      if (k >= 0) {
        size_t bl = strlen(base), sl = strlen(suffixes[k]);
        if (bl <= sl || strcmp(base + bl - sl, suffixes[k]) != 0) continue;
        base[bl - sl] = '\0';
      }
      snprintf(want, sizeof want, "# TYPE %s ", base);
      for (size_t t = 0; t < 5 && !found; t++) found = strstr(texts[t], want) != NULL;
    }
    if (!found) fail_msg("the dashboard names %s, which no daemon exports", name);
    (*names)++;
  }
}

static void walk_exprs(json_t *j, const scrape_set *s, int *exprs, int *names) {
  const char *key;
  json_t *v;
  size_t i;
  if (json_is_object(j)) {
    json_object_foreach(j, key, v) {
      if (strcmp(key, "expr") == 0 && json_is_string(v)) {
        check_expr(json_string_value(v), s, names);
        (*exprs)++;
      } else {
        walk_exprs(v, s, exprs, names);
      }
    }
  } else if (json_is_array(j)) {
    json_array_foreach(j, i, v) walk_exprs(v, s, exprs, names);
  }
}

static void check_dashboard(const scrape_set *s) {
  json_error_t err;
  json_t *j = json_load_file(PG_SOURCE_DIR "/examples/grafana-dashboard.json", 0, &err);
  if (!j) fail_msg("grafana-dashboard.json: line %d: %s", err.line, err.text);
  int exprs = 0, names = 0;
  walk_exprs(j, s, &exprs, &names);
  assert_true(exprs >= 10);
  assert_true(names >= exprs);
  json_decref(j);
}

static void test_metrics(void **state) {
  (void)state;
  start_world();
  junk_at_node();
  char *t = get_metrics(&g_node, NULL); /* open, like the GET API */
  check_node_clean(t);
  free(t);
  check_entity_access();
  wait_slots_settled(2);
  scrape_set a, b;
  scrape_all(&a);
  promtool_ok("node", a.node);
  promtool_ok("grid", a.grid);
  promtool_ok("producer", a.prod);
  promtool_ok("source", a.src);
  promtool_ok("consumer", a.cons);
  check_gauges(&a);
  wait_slots_settled(metric_sample(a.grid, "p2pgrid_grid_slots_settled_total") + 3);
  scrape_all(&b);
  check_moved(&a, &b);
  promtool_ok("node-2", b.node);
  promtool_ok("grid-2", b.grid);
  check_dashboard(&b);
  free_set(&a);
  free_set(&b);
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_node};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) proc_stop(all[i]);
}

static int teardown(void **state) {
  (void)state;
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_node};
  proc_abort_all(all, sizeof all / sizeof all[0]);
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  return harness_mkroot("/tmp/p2pgrid-metrics-XXXXXX");
}

static int group_teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

int main(void) {
  if (access(PROMTOOL_BIN, X_OK) != 0) {
    fprintf(stderr, "FAIL: no %s (Debian package prometheus; scripts/bootstrap installs it)\n",
            PROMTOOL_BIN);
    return 1;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_metrics, teardown)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
