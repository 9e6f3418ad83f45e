/* The node's MQTT events through a real broker: a mosquitto started here on
 * a free port, a `p2pgrid node` (its own coordinator, a funded genesis
 * address) publishing to it with [mqtt], and a libmosquitto subscriber on
 * "#" recording everything. Every topic's payload is checked against the
 * node's REST answer for the same thing (milestones, raw messages,
 * metadata, outputs of a real transfer made with `p2pgrid wallet send`).
 * Then the broker goes away: the node keeps confirming milestones and
 * answering at once, counts and logs dropped events, and publishes again
 * when the broker is back on the same port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mosquitto.h>
#include <pthread.h>

#include "harness.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/events.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"

#define DEADLINE_EVENT_MS 30000
#define FUND 10000000ull

/* ---- the subscriber ---------------------------------------------------------------------- */

typedef struct rec {
  char *topic;
  uint8_t *data;
  size_t len;
  bool retained;
} rec;

static struct {
  pthread_mutex_t mu;
  rec *v;
  size_t n, cap;
  struct mosquitto *m;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void on_connect(struct mosquitto *m, void *obj, int rc) {
  (void)obj;
  if (rc == 0) (void)mosquitto_subscribe(m, NULL, "#", 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg) {
  (void)m;
  (void)obj;
  rec r = {.topic = strdup(msg->topic), .len = (size_t)msg->payloadlen, .retained = msg->retain};
  r.data = malloc(r.len + 1);
  if (!r.topic || !r.data) abort();
  memcpy(r.data, msg->payload, r.len);
  r.data[r.len] = 0;
  pthread_mutex_lock(&S.mu);
  if (S.n == S.cap) {
    S.cap = S.cap ? S.cap * 2 : 256;
    S.v = realloc(S.v, S.cap * sizeof *S.v);
    if (!S.v) abort();
  }
  S.v[S.n++] = r;
  pthread_mutex_unlock(&S.mu);
}

static void sub_start(unsigned port) {
  S.m = mosquitto_new(NULL, true, NULL);
  assert_non_null(S.m);
  mosquitto_connect_callback_set(S.m, on_connect);
  mosquitto_message_callback_set(S.m, on_message);
  (void)mosquitto_reconnect_delay_set(S.m, 1, 2, false);
  assert_int_equal(mosquitto_connect_async(S.m, "127.0.0.1", (int)port, 30), MOSQ_ERR_SUCCESS);
  assert_int_equal(mosquitto_loop_start(S.m), MOSQ_ERR_SUCCESS);
}

static void sub_stop(void) {
  if (!S.m) return;
  mosquitto_disconnect(S.m);
  mosquitto_loop_stop(S.m, false);
  mosquitto_destroy(S.m);
  S.m = NULL;
  for (size_t i = 0; i < S.n; i++) free(S.v[i].topic), free(S.v[i].data);
  free(S.v);
  S.v = NULL;
  S.n = S.cap = 0;
}

typedef bool (*rec_pred)(const rec *r, const void *arg);

/* The first record from index `from` on with this topic (and pred), waited
 * for; a copy (free data and topic). */
static rec wait_rec(const char *topic, size_t from, rec_pred pred, const void *arg) {
  uint64_t deadline = now_ms() + DEADLINE_EVENT_MS;
  for (;;) {
    pthread_mutex_lock(&S.mu);
    for (size_t i = from; i < S.n; i++) {
      if (strcmp(S.v[i].topic, topic) != 0 || (pred && !pred(&S.v[i], arg))) continue;
      rec c = {.topic = strdup(S.v[i].topic), .len = S.v[i].len, .retained = S.v[i].retained};
      c.data = malloc(c.len + 1);
      memcpy(c.data, S.v[i].data, c.len + 1);
      pthread_mutex_unlock(&S.mu);
      return c;
    }
    pthread_mutex_unlock(&S.mu);
    if (now_ms() > deadline) fail_msg("no MQTT message on %s within %d ms", topic, DEADLINE_EVENT_MS);
    nap();
  }
}

static size_t rec_count(void) {
  pthread_mutex_lock(&S.mu);
  size_t n = S.n;
  pthread_mutex_unlock(&S.mu);
  return n;
}

static void rec_free(rec *r) {
  free(r->topic);
  free(r->data);
}

static json_t *rec_json(const rec *r) {
  json_error_t e;
  json_t *j = json_loadb((const char *)r->data, r->len, 0, &e);
  if (!j) fail_msg("%s: payload is not JSON: %s", r->topic, e.text);
  return j;
}

/* ---- fixture ----------------------------------------------------------------------------- */

static proc g_broker = {.name = "mosquitto"};
static proc g_node = {.name = "node"};
static proc g_grid = {.name = "grid"};
static char g_dir[64], g_seed_file[200], g_genesis_set[300], g_mqtt_port_set[64];
static uint8_t g_addr[2][32]; /* wallet address 0 (funded), and a receiver */

/* port 0: any; a restart passes the old one, so the grid daemon keeps its node */
static void start_node(const char *queue, unsigned port) {
  char qset[64], pstr[16];
  snprintf(qset, sizeof qset, "mqtt.queue=%s", queue);
  snprintf(pstr, sizeof pstr, "%u", port);
  const char *argv[] = {"--set", "coordinator.enabled=true", "--set", "coordinator.generate=true",
                        "--set", "coordinator.interval=1s",  "--set", "node.min_pow_score=0",
                        "--set", g_genesis_set,              "--set", "mqtt.host=127.0.0.1",
                        "--set", g_mqtt_port_set,            "--set", qset,
                        "--port", pstr,                      NULL};
  proc_start(&g_node, argv);
}

static int group_setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-mqtt-XXXXXX")) return -1;
  mosquitto_lib_init();
  snprintf(g_dir, sizeof g_dir, "%s", g_root);
  uint8_t seed[32];
  char hex[65];
  for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(7 * j + 3);
  for (uint32_t i = 0; i < 2; i++)
    if (pg_iota_keypair(seed, 32, 0, 0, i, NULL, NULL, g_addr[i])) return -1;
  snprintf(g_seed_file, sizeof g_seed_file, "%s/wallet.seed", g_dir);
  FILE *f = fopen(g_seed_file, "w");
  if (!f) return -1;
  pg_hex_encode(seed, 32, hex);
  fprintf(f, "%s\n", hex);
  fclose(f);
  char path[200];
  snprintf(path, sizeof path, "%s/genesis.txt", g_dir);
  f = fopen(path, "w");
  if (!f) return -1;
  pg_hex_encode(g_addr[0], 32, hex);
  fprintf(f, "%s %llu\n", hex, FUND);
  fclose(f);
  snprintf(g_genesis_set, sizeof g_genesis_set, "ledger.genesis_file=%s", path);
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_dir);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  sub_stop();
  if (g_grid.pid > 0) proc_kill(&g_grid);
  if (g_node.pid > 0) proc_kill(&g_node);
  if (g_broker.pid > 0) proc_kill(&g_broker);
  mosquitto_lib_cleanup();
  harness_rmroot();
  return 0;
}

/* ---- checks ------------------------------------------------------------------------------ */

static bool milestone_above(const rec *r, const void *arg) {
  uint32_t index = 0;
  uint64_t ts = 0;
  return pg_events_parse_milestone(r->data, r->len, &index, &ts, NULL) == PG_OK &&
         index > *(const uint32_t *)arg;
}

/* A milestones/<kind> event above `above` agrees with GET /milestones/{index}. */
static uint32_t check_milestone(const char *topic, uint32_t above, size_t from) {
  rec r = wait_rec(topic, from, milestone_above, &above);
  uint32_t index = 0;
  uint64_t ts = 0;
  pg_diag d = {{0}};
  if (pg_events_parse_milestone(r.data, r.len, &index, &ts, &d)) fail_msg("%s: %s", topic, d.msg);
  json_t *j = rec_json(&r);
  assert_int_equal(json_object_size(j), 2); /* exactly Hornet's {"index","timestamp"} */
  json_decref(j);
  char path[64];
  resp h = {0};
  snprintf(path, sizeof path, "/api/v1/milestones/%u", index);
  json_t *m = get_data(&g_node, path, &h);
  assert_int_equal(jint(m, "index"), index);
  assert_int_equal(jint(m, "timestamp"), (long long)ts);
  resp_free(&h);
  rec_free(&r);
  return index;
}

static bool has_referenced(const rec *r, const void *arg) {
  (void)arg;
  return strstr((const char *)r->data, "\"referencedByMilestoneIndex\"") != NULL;
}

static bool meta_of(const rec *r, const void *arg) {
  return strstr((const char *)r->data, (const char *)arg) != NULL && has_referenced(r, NULL);
}

/* The referenced metadata events of id equal GET .../metadata. */
static void check_metadata(const char *id) {
  char topic[128], path[128];
  snprintf(topic, sizeof topic, "messages/%s/metadata", id);
  rec r = wait_rec(topic, 0, has_referenced, NULL);
  rec all = wait_rec("messages/referenced", 0, meta_of, id);
  json_t *ev = rec_json(&r), *ev2 = rec_json(&all);
  resp h = {0};
  snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", id);
  json_t *rest = get_data(&g_node, path, &h);
  if (!json_equal(ev, rest) || !json_equal(ev2, rest)) {
    char *a = json_dumps(ev, JSON_COMPACT), *b = json_dumps(rest, JSON_COMPACT);
    fail_msg("metadata event %s differs from REST %s", a, b);
  }
  json_decref(ev);
  json_decref(ev2);
  resp_free(&h);
  rec_free(&r);
  rec_free(&all);
}

/* A raw event equals GET /messages/{id}/raw. */
static void check_raw(const rec *r, const char *id) {
  char path[128];
  resp h = {0};
  snprintf(path, sizeof path, "/api/v1/messages/%s/raw", id);
  get(&g_node, path, &h);
  assert_int_equal(h.status, 200);
  assert_int_equal(r->len, h.len);
  assert_memory_equal(r->data, h.body, h.len);
  resp_free(&h);
}

static bool same_bytes_as(const rec *r, const void *arg) {
  const rec *want = arg;
  return r->len == want->len && memcmp(r->data, want->data, r->len) == 0;
}

/* An output event on topic equals GET /outputs/{id} but for ledgerIndex. */
static void check_output(const char *topic, bool spent, char out_id[69]) {
  rec r = wait_rec(topic, 0, NULL, NULL);
  pg_event_output o;
  pg_diag d = {{0}};
  if (pg_events_parse_output(r.data, r.len, &o, &d)) fail_msg("%s: %s", topic, d.msg);
  assert_int_equal(o.spent, spent);
  json_t *ev = rec_json(&r);
  pg_hex_encode(o.output_id, 34, out_id);
  char path[128];
  resp h = {0};
  snprintf(path, sizeof path, "/api/v1/outputs/%s", out_id);
  json_t *rest = get_data(&g_node, path, &h);
  const char *keys[] = {"messageId", "transactionId", "outputIndex", "output"};
  for (size_t i = 0; i < 4; i++)
    if (!json_equal(json_object_get(ev, keys[i]), json_object_get(rest, keys[i])))
      fail_msg("%s: %s differs from GET %s", topic, keys[i], path);
  assert_true(o.ledger_index >= 1 && o.ledger_index <= jint(rest, "ledgerIndex"));
  json_decref(ev);
  resp_free(&h);
  rec_free(&r);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_events(void **state) {
  (void)state;
  harness_broker_start(&g_broker);
  snprintf(g_mqtt_port_set, sizeof g_mqtt_port_set, "mqtt.port=%u", g_broker.port);
  sub_start(g_broker.port);
  start_node("10000", 0);

  /* milestones: confirmed and latest, both as REST has them */
  uint32_t ms = check_milestone("milestones/confirmed", 0, 0);
  check_milestone("milestones/latest", 0, 0);

  /* an indexation message: messages and messages/indexation/{hex} carry its bytes */
  const char *body = "{\"payload\":{\"type\":2,\"index\":\"7032706772696421\",\"data\":\"6869\"}}";
  resp h = {0};
  http(&g_node, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &h);
  assert_int_equal(h.status, 201);
  char id[65];
  snprintf(id, sizeof id, "%s", jstr(json_object_get(h.json, "data"), "messageId"));
  resp_free(&h);
  rec ix = wait_rec("messages/indexation/7032706772696421", 0, NULL, NULL);
  check_raw(&ix, id);
  rec all = wait_rec("messages", 0, same_bytes_as, &ix);
  rec_free(&all);
  rec_free(&ix);
  check_metadata(id);

  /* a transfer: output events of the new outputs and of the spent genesis output */
  char b32[2][PG_BECH32_MAX_LEN + 1], hex[65], log[200], amount[32];
  for (int i = 0; i < 2; i++) assert_int_equal(pg_iota_address_encode("atoi", g_addr[i], b32[i], sizeof b32[i]), 0);
  snprintf(log, sizeof log, "%s/send.log", g_dir);
  snprintf(amount, sizeof amount, "%llu", 3000000ull);
  const char *argv[] = {P2PGRID_BIN, "wallet", "send", "--seed-file", g_seed_file, "--node", g_node.base,
                        "--to", b32[1], "--amount", amount, "--timeout", "60", NULL};
  run_ok(argv, log);
  char topic[200], out_id[69];
  snprintf(topic, sizeof topic, "addresses/%s/outputs", b32[1]);
  check_output(topic, false, out_id);
  pg_hex_encode(g_addr[1], 32, hex);
  snprintf(topic, sizeof topic, "addresses/ed25519/%s/outputs", hex);
  check_output(topic, false, out_id);
  snprintf(topic, sizeof topic, "outputs/%s", out_id);
  check_output(topic, false, out_id);
  /* the genesis output of address 0 is spent: an event with isSpent true */
  pg_hex_encode(g_addr[0], 32, hex);
  snprintf(topic, sizeof topic, "addresses/ed25519/%s/outputs", hex);
  bool spent_seen = false;
  uint64_t deadline = now_ms() + DEADLINE_EVENT_MS;
  while (!spent_seen && now_ms() < deadline) {
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n && !spent_seen; i++)
      spent_seen = strcmp(S.v[i].topic, topic) == 0 && strstr((char *)S.v[i].data, "\"isSpent\":true");
    pthread_mutex_unlock(&S.mu);
    if (!spent_seen) nap();
  }
  assert_true(spent_seen);
  /* transactions/{txId}/included-message: the raw bytes of the message REST names */
  char tx[65];
  memcpy(tx, out_id, 64);
  tx[64] = 0;
  snprintf(topic, sizeof topic, "transactions/%s/included-message", tx);
  rec inc = wait_rec(topic, 0, NULL, NULL);
  char msg_id[65];
  snprintf(topic, sizeof topic, "/api/v1/outputs/%s", out_id);
  json_t *o = get_data(&g_node, topic, &h);
  snprintf(msg_id, sizeof msg_id, "%s", jstr(o, "messageId"));
  resp_free(&h);
  check_raw(&inc, msg_id);
  rec_free(&inc);
  /* the retained milestones reach a subscriber that comes later */
  (void)ms;
}

/* ---- the entity daemons' subscriber --------------------------------------------------------- */


/* The grid's /api/status (no envelope), as the operator. */
static json_t *grid_status(resp *h) {
  get(&g_grid, "/api/status", h);
  if (h->status != 200 || !json_is_object(h->json))
    fail_msg("grid GET /api/status: status %ld body %s", h->status, h->body ? h->body : "");
  return h->json;
}

static json_t *grid_events(resp *h) {
  json_t *st = grid_status(h);
  json_t *ev = json_object_get(st, "events");
  if (!json_is_object(ev)) fail_msg("the grid's status has no \"events\" object");
  return ev;
}

/* Waits until the grid's events.KEY >= want; returns the status's events. */
static void wait_grid_events(const char *key, long long want) {
  uint64_t deadline = now_ms() + DEADLINE_EVENT_MS;
  for (;;) {
    resp h = {0};
    long long v = jint(grid_events(&h), key);
    resp_free(&h);
    if (v >= want) return;
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      fail_msg("the grid's events.%s is %lld, want at least %lld", key, v, want);
    }
    nap();
  }
}

/* The grid's scans of its address for payments (its metrics). */
static double grid_scans(void) {
  char *t = get_metrics(&g_grid, &g_tls);
  double v = metric_sample(t, "p2pgrid_entity_polls_total{of=\"payments\"}");
  free(t);
  return v;
}

/* A grid daemon with [mqtt] and a 30 s tick: its steps come from events.
 * wakes counts the waits that an event ended, so wakes > 0 within a few
 * seconds shows steps triggered by events, not by the tick. Each wake
 * makes the next step scan the grid's address for payments, whatever the
 * scan's gap (without the wake: gaps of 0.5, 1, 2, 4, 7.5 s). */
static void test_entity_events(void **state) {
  (void)state;
  char ca[200], prefix[200], log[200], extra[400], b32[PG_BECH32_MAX_LEN + 1];
  snprintf(ca, sizeof ca, "%s/ca", g_dir);
  ca_init(ca);
  snprintf(prefix, sizeof prefix, "%s/grid", g_dir);
  ca_issue(ca, "grid", "grid", NULL, NULL, prefix, NULL);
  snprintf(prefix, sizeof prefix, "%s/operator", g_dir);
  ca_issue(ca, "operator", "operator", NULL, NULL, prefix, &g_tls);
  snprintf(prefix, sizeof prefix, "%s/wallet-1.seed", g_dir);
  FILE *f = fopen(prefix, "w");
  assert_non_null(f);
  fprintf(f, "%s\n", "1111111111111111111111111111111111111111111111111111111111111111");
  fclose(f);
  snprintf(extra, sizeof extra,
           "import_price = 300000000\nexport_price = 80000000\n"
           "[mqtt]\nhost = 127.0.0.1\nport = %u\nqos = 1\n",
           g_broker.port);
  grid_dirs g = {.dir = g_dir, .ca_dir = ca, .node_url = g_node.base, .slot_ms = 60000};
  write_entity_config(&g, "grid", "grid", NULL, 1, extra);
  snprintf(prefix, sizeof prefix, "%s/grid.ini", g_dir);
  const char *slow[] = {"--set", "grid.tick=30s", NULL};
  proc_start_cmd(&g_grid, "grid", prefix, slow);

  /* milestones wake it (a milestone a second, a tick of 30 s) */
  wait_grid_events("milestones", 3);
  wait_grid_events("wakes", 3);
  resp h = {0};
  json_t *ev = grid_events(&h);
  assert_true(json_is_true(json_object_get(ev, "connected")));
  assert_int_equal(jint(ev, "rejected"), 0);
  resp_free(&h);
  json_t *st = grid_status(&h);
  snprintf(b32, sizeof b32, "%s", jstr(st, "address"));
  resp_free(&h);
  /* the grid's last milestone event, then the node's index: an event is
   * only published for a confirmed milestone, so the one seen first is never
   * ahead of the index read after it (the other order races a new milestone) */
  ev = grid_events(&h);
  long long last = jint(ev, "lastMilestone");
  resp_free(&h);
  json_t *info = get_data(&g_node, "/api/v1/info", &h);
  long long cmi = jint(info, "confirmedMilestoneIndex");
  resp_free(&h);
  assert_true(last >= 1 && last <= cmi);

  /* a payment to the grid's address: an output event on its address topic */
  snprintf(log, sizeof log, "%s/send-grid.log", g_dir);
  const char *argv[] = {P2PGRID_BIN, "wallet", "send", "--seed-file", g_seed_file, "--node", g_node.base,
                        "--to", b32, "--amount", "1000000", "--timeout", "60", NULL};
  run_ok(argv, log);
  wait_grid_events("outputs", 1);

  /* ten wakes (a milestone a second): a scan after each */
  long long w0 = jint(grid_events(&h), "wakes");
  resp_free(&h);
  double s0 = grid_scans();
  wait_grid_events("wakes", w0 + 10);
  double s1 = grid_scans();
  long long w1 = jint(grid_events(&h), "wakes");
  resp_free(&h);
  if (s1 - s0 < (double)(w1 - w0) - 2)
    fail_msg("%.0f scans of the grid's address after %lld wakes", s1 - s0, w1 - w0);
}

static bool dropped_logged(void) {
  char *s = slurp(g_node.log, NULL);
  bool yes = s && strstr(s, "event(s) dropped") && strstr(s, "lost the broker");
  free(s);
  return yes;
}

static void test_broker_down_up(void **state) {
  (void)state;
  /* a small queue, so an outage of a few milestones overflows it */
  proc_stop(&g_node);
  start_node("16", g_node.port);
  uint32_t before = check_milestone("milestones/confirmed", 0, rec_count());
  proc_stop(&g_broker);

  /* the node keeps confirming and answering without the broker */
  resp h = {0};
  json_t *info = get_data(&g_node, "/api/v1/info", &h);
  long long cmi0 = jint(info, "confirmedMilestoneIndex");
  resp_free(&h);
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  long long cmi = cmi0;
  while (cmi < cmi0 + 4) {
    uint64_t t0 = now_ms();
    const char *body = "{\"payload\":{\"type\":2,\"index\":\"6f7574616765\",\"data\":\"\"}}";
    http(&g_node, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &h);
    assert_int_equal(h.status, 201);
    resp_free(&h);
    info = get_data(&g_node, "/api/v1/info", &h);
    cmi = jint(info, "confirmedMilestoneIndex");
    assert_true(json_is_true(json_object_get(info, "isHealthy")));
    resp_free(&h);
    if (now_ms() - t0 > 2000) fail_msg("the node took %llu ms to answer without a broker",
                                       (unsigned long long)(now_ms() - t0));
    if (now_ms() > deadline) fail_msg("no milestone confirmed without a broker");
    nap();
  }
  /* the grid daemon keeps running and answering without the broker */
  deadline = now_ms() + DEADLINE_EVENT_MS;
  for (;;) {
    json_t *ev = grid_events(&h);
    bool connected = json_is_true(json_object_get(ev, "connected"));
    resp_free(&h);
    if (!connected) break;
    if (now_ms() > deadline) fail_msg("the grid still says it is connected to a stopped broker");
    nap();
  }
  json_t *ev = grid_events(&h);
  long long wakes = jint(ev, "wakes");
  resp_free(&h);
  deadline = now_ms() + DEADLINE_EVENT_MS;
  while (!dropped_logged()) {
    if (now_ms() > deadline) {
      dump_log(&g_node);
      fail_msg("the node did not log lost events");
    }
    nap();
  }
  /* its metrics (issue 19) count the loss */
  char *m = get_metrics(&g_node, NULL);
  assert_true(metric_sample(m, "p2pgrid_node_mqtt_dropped_total") > 0);
  assert_int_equal(metric_sample(m, "p2pgrid_node_mqtt_connected"), 0);
  free(m);

  /* the broker is back on the same port: events flow again */
  size_t from = rec_count();
  harness_broker_start(&g_broker);
  check_milestone("milestones/confirmed", (uint32_t)cmi, from);
  deadline = now_ms() + DEADLINE_EVENT_MS;
  for (;;) {
    char *s = slurp(g_node.log, NULL);
    bool yes = s && strstr(s, "reconnected to broker");
    free(s);
    if (yes) break;
    if (now_ms() > deadline) fail_msg("the node did not say it reconnected");
    nap();
  }
  /* the grid subscribes again and events wake it again */
  wait_grid_events("wakes", wakes + 2);
  ev = grid_events(&h);
  assert_true(json_is_true(json_object_get(ev, "connected")));
  resp_free(&h);
  m = get_metrics(&g_node, NULL);
  assert_int_equal(metric_sample(m, "p2pgrid_node_mqtt_connected"), 1);
  assert_true(metric_sample(m, "p2pgrid_node_mqtt_published_total") > 0);
  free(m);
  (void)before;
  proc_stop(&g_grid);
  proc_stop(&g_node);
  proc_stop(&g_broker);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_events),
      cmocka_unit_test(test_entity_events),
      cmocka_unit_test(test_broker_down_up),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
