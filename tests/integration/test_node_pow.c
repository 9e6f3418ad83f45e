/* Remote proof of work does not hold the node's API (issue 18).
 *
 * A node in-process (real HTTP on 127.0.0.1, one HTTP worker, one PoW
 * thread) with a minimum PoW score no search can reach in the test's time:
 * a POSTed draft without a nonce starts a PoW job that runs until the node
 * stops. The attacker sends such drafts.
 * - While a job runs, GET /api/v1/info and GET /metrics are answered
 *   (before, the job ran on the HTTP worker: with one worker nothing else
 *   was answered until it ended).
 * - At most [api] pow_queue drafts wait behind the running one; the next
 *   gets 503 at once, naming the queue, counted as refused in /metrics.
 * - Stopping the node answers every running and waiting job with 503 and
 *   returns promptly. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/node/node.h"
#include "../unit/test_util_tmpdir.h"
#include "inproc_node.h"

static char *g_dir;

static const char DRAFT[] = "{\"payload\":{\"type\":2,\"index\":\"706f77\",\"data\":\"6869\"}}";

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("p2pgrid-pow");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  return 0;
}

/* A node whose PoW never ends within the test: one HTTP worker, one PoW
 * thread, [api] keys of ini. */
static pg_node *start_node(const char *name, const char *ini, char *base, size_t cap) {
  char text[1024];
  snprintf(text, sizeof text,
           "min_pow_score = 4000000000\n[api]\nport = 0\nworkers = 1\npow_threads = 1\n%s", ini);
  return tn_start_node(g_dir, name, text, base, cap);
}

typedef struct call {
  const char *base;
  pthread_t th;
  long status;
  char body[512];
  int rc;
} call;

static long post_draft(const char *base, unsigned timeout_ms, char *body, size_t cap, int *rc) {
  char url[128];
  snprintf(url, sizeof url, "%s/api/v1/messages", base);
  pg_http_call_opts o = {.method = "POST", .url = url, .body = DRAFT, .body_len = strlen(DRAFT),
                         .timeout_ms = timeout_ms};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  *rc = pg_http_call(&o, &r, &d);
  long status = r.status;
  snprintf(body, cap, "%s", *rc ? d.msg : r.body ? r.body : "");
  pg_http_result_free(&r);
  return status;
}

/* A draft that needs PoW, posted from its own thread: answered when the
 * node gives up (stop), so no timeout short of a minute. */
static void *post_main(void *p) {
  call *c = p;
  c->status = post_draft(c->base, 60000, c->body, sizeof c->body, &c->rc);
  return NULL;
}

static long get(const char *base, const char *path, unsigned timeout_ms, char *body, size_t cap) {
  char url[128];
  snprintf(url, sizeof url, "%s%s", base, path);
  pg_http_call_opts o = {.method = "GET", .url = url, .timeout_ms = timeout_ms,
                         .max_response = 4u << 20};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  if (pg_http_call(&o, &r, &d)) fail_msg("GET %s: %s", path, d.msg);
  long status = r.status;
  if (body) snprintf(body, cap, "%s", r.body ? r.body : "");
  pg_http_result_free(&r);
  return status;
}

/* The value of the metric line that starts with `series ` (-1 if none). */
static double metric(const char *base, const char *series) {
  static char text[1 << 20];
  assert_int_equal(get(base, "/metrics", 5000, text, sizeof text), 200);
  char want[160];
  snprintf(want, sizeof want, "\n%s ", series);
  const char *p = strstr(text, want);
  return p ? atof(p + strlen(want)) : -1;
}

/* Waits up to 20 s until the metric reaches at least v. */
static void await_metric(const char *base, const char *series, double v) {
  for (int i = 0; i < 400; i++) {
    if (metric(base, series) >= v) return;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  fail_msg("%s did not reach %g", series, v);
}

static void start_posts(call *c, size_t n, const char *base) {
  for (size_t i = 0; i < n; i++) {
    c[i] = (call){.base = base};
    assert_int_equal(pthread_create(&c[i].th, NULL, post_main, &c[i]), 0);
  }
}

/* Stops the node: every PoW request is answered 503, soon. */
static void stop_and_join(pg_node *n, call *c, size_t nc) {
  uint64_t t0 = pg_monotonic_ms();
  pg_node_stop(n);
  for (size_t i = 0; i < nc; i++) {
    assert_int_equal(pthread_join(c[i].th, NULL), 0);
    if (c[i].rc) fail_msg("post %zu: %s", i, c[i].body);
    if (c[i].status != 503) fail_msg("post %zu: %ld %s", i, c[i].status, c[i].body);
  }
  uint64_t took = pg_monotonic_ms() - t0;
  if (took > 20000) fail_msg("stopping took %llu ms", (unsigned long long)took);
}

/* A node (its [api] keys in ini) whose PoW thread is busy with c[0]'s draft. */
static pg_node *busy_node(const char *name, const char *ini, char *base, size_t cap, call *c) {
  pg_node *n = start_node(name, ini, base, cap);
  start_posts(c, 1, base);
  await_metric(base, "p2pgrid_node_pow_jobs_running", 1);
  return n;
}

static void test_pow_does_not_hold_the_api(void **state) {
  (void)state;
  char base[64], body[4096];
  call c[1];
  pg_node *n = busy_node("held", "", base, sizeof base, c);
  /* the PoW job runs: the one HTTP worker still answers */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(get(base, "/api/v1/info", 5000, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"minPoWScore\":4000000000"));
  }
  stop_and_join(n, c, 1);
}

static void test_pow_queue_is_bounded(void **state) {
  (void)state;
  char base[64], body[1024];
  call c[3];
  pg_node *n = busy_node("bounded", "pow_queue = 2\n", base, sizeof base, c);
  start_posts(c + 1, 2, base);
  await_metric(base, "p2pgrid_node_pow_jobs_queued", 2);
  /* one more: refused at once, naming the queue */
  int rc = 0;
  long st = post_draft(base, 5000, body, sizeof body, &rc);
  if (rc) fail_msg("refused post: %s", body);
  if (st != 503 || !strstr(body, "proof-of-work queue is full"))
    fail_msg("refused post: %ld %s", st, body);
  assert_true(metric(base, "p2pgrid_node_pow_jobs_total{outcome=\"refused\"}") == 1);
  assert_true(metric(base, "p2pgrid_node_pow_jobs_running") == 1);
  assert_true(metric(base, "p2pgrid_node_pow_jobs_queued") == 2);
  stop_and_join(n, c, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pow_does_not_hold_the_api),
      cmocka_unit_test(test_pow_queue_is_bounded),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
