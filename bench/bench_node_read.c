/* Channel reads over HTTP: what a grid daemon on another machine does each
 * round. An in-process node (loopback HTTP) holds one MAM message (restricted,
 * security 2) on each of N channels; pg_mam_read_many reads them all through
 * the HTTP client, once with its lookups in batches (POST
 * /api/plugins/data/find: a few requests a round) and once with one GET a
 * lookup and one a message (rest_only: the TIP-13 routes, 2 requests a
 * channel). Prints "name: value unit" lines only: the median wall time of
 * PG_BENCH_ROUNDS (default 3) reads a way, the channels read a second, the
 * HTTP requests a read took (the node's /metrics), at N = 100, 1,000 and
 * 3,000. Loopback has no network latency: across a network each request
 * also costs its round trip, which the request counts multiply.
 *
 *   bench_node_read */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/base/log.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/node/node.h"

#include "node_requests.h"
#include "util.h"

#define MAX_CHANNELS 3000

static char g_tmp[128];

static int start(pg_node **out) {
  pg_node_config c;
  pg_node_config_init(&c);
  char dir[160];
  snprintf(dir, sizeof dir, "%s/node", g_tmp);
  free(c.data_dir);
  c.data_dir = strdup(dir);
  c.port = 0;
  c.min_pow_score = 0;
  pg_diag d = {{0}};
  int rc = pg_node_start(&c, out, &d);
  if (rc) fprintf(stderr, "bench_node_read: node: %s\n", d.msg);
  pg_node_config_clear(&c);
  return rc;
}

/* Channels [from, to) get one message each (created in one batch, attached
 * through the in-process client); rq[i] reads channel i from its root. */
static int fill(pg_node *n, size_t from, size_t to, pg_mam_read_req *rq) {
  size_t k = to - from;
  pg_mam_channel *ch = calloc(k, sizeof *ch);
  pg_mam_create_item *it = calloc(k, sizeof *it);
  pg_mam_message *m = calloc(k, sizeof *m);
  pg_mam_attach_item *at = calloc(k, sizeof *at);
  int *rcs = calloc(k, sizeof *rcs);
  pg_client *c = NULL;
  pg_diag d = {{0}};
  int rc = ch && it && m && at && rcs ? pg_client_local_new(pg_node_tangle(n), NULL, &c, &d)
                                      : PG_ERR_NOMEM;
  for (size_t i = 0; rc == PG_OK && i < k; i++) {
    char seed[82];
    memset(seed, '9', 81), seed[81] = '\0';
    for (size_t j = 0, v = from + i; j < 4; j++, v /= 26) seed[40 + j] = (char)('A' + v % 26);
    rc = pg_mam_channel_create(&ch[i], seed, PG_MAM_RESTRICTED, "KEY", 3, 2, &d);
    if (rc == PG_OK) rc = pg_mam_channel_root(&ch[i], rq[from + i].at.root);
    rq[from + i] = (pg_mam_read_req){.at = rq[from + i].at, .mode = PG_MAM_RESTRICTED,
                                     .side_key = "KEY", .side_key_len = 3, .max = 1};
    it[i] = (pg_mam_create_item){&ch[i], "READING9ONE9KWH9NINETEEN", 24};
  }
  if (rc == PG_OK) rc = pg_mam_create_batch(NULL, it, k, m, rcs, &d);
  for (size_t i = 0; rc == PG_OK && i < k; i++) at[i] = (pg_mam_attach_item){.m = &m[i]};
  if (rc == PG_OK) rc = pg_mam_attach_many(c, at, k, &d);
  for (size_t i = 0; rc == PG_OK && i < k; i++)
    if (at[i].rc) rc = pg_fail(&d, at[i].rc, "attach %zu: %s", i, at[i].d.msg);
  if (rc) fprintf(stderr, "bench_node_read: filling: %s\n", d.msg);
  for (size_t i = 0; m && i < k; i++) pg_mam_message_free(&m[i]);
  for (size_t i = 0; ch && i < k; i++) pg_mam_channel_wipe(&ch[i]);
  pg_client_free(c);
  free(ch), free(it), free(m), free(at), free(rcs);
  return rc;
}

/* The median seconds of `rounds` reads of rq[0..n) and the requests one
 * read took; < 0 when a read failed. */
static double read_rounds(const char *base, bool rest_only, const pg_mam_read_req *rq, size_t n,
                          int rounds, double *reqs) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  if (pg_client_http_new(&(pg_http_client_opts){.base_url = base, .rest_only = rest_only}, &c,
                         &d)) {
    fprintf(stderr, "bench_node_read: client: %s\n", d.msg);
    return -1;
  }
  pg_mam_read_req *r = malloc(n * sizeof *r);
  double t[16], q0 = bench_node_requests(base);
  int done = 0;
  for (; r && done < rounds; done++) {
    memcpy(r, rq, n * sizeof *r);
    double t0 = bench_now_s();
    int rc = pg_mam_read_many(c, r, n, &d);
    t[done] = bench_now_s() - t0;
    size_t got = 0;
    for (size_t i = 0; i < n; i++) got += r[i].n, pg_mam_fetched_free_all(r[i].out, r[i].n);
    if (rc || got != n) {
      fprintf(stderr, "bench_node_read: read %zu of %zu: %s\n", got, n, d.msg);
      break;
    }
  }
  *reqs = (bench_node_requests(base) - q0) / (done ? done : 1);
  free(r);
  pg_client_free(c);
  if (done < rounds) return -1;
  return bench_median(t, rounds);
}

static int measure(const char *base, const pg_mam_read_req *rq, size_t n, int rounds) {
  double qf = 0, qr = 0;
  double tf = read_rounds(base, false, rq, n, rounds, &qf);
  double tr = read_rounds(base, true, rq, n, rounds, &qr);
  if (tf < 0 || tr < 0) return 1;
  printf("node_read_http_find_%zu_channels: %.1f ms a read (%.0f channels/s, %.0f requests)\n", n,
         tf * 1e3, (double)n / tf, qf);
  printf("node_read_http_rest_%zu_channels: %.1f ms a read (%.0f channels/s, %.0f requests)\n", n,
         tr * 1e3, (double)n / tr, qr);
  printf("node_read_http_%zu_channels_speedup: %.2fx\n", n, tr / tf);
  fflush(stdout);
  return 0;
}

int main(void) {
  int rounds = bench_rounds(3);
  pg_log_set_level(PG_LOG_WARN);
  snprintf(g_tmp, sizeof g_tmp, "%s/pg-bench-read-XXXXXX", bench_tmpbase());
  if (!mkdtemp(g_tmp)) return 1;
  static pg_mam_read_req rq[MAX_CHANNELS];
  static const size_t sizes[] = {100, 1000, MAX_CHANNELS};
  pg_node *n = NULL;
  int rc = start(&n);
  char base[64];
  if (rc == PG_OK) snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)pg_node_port(n));
  size_t have = 0;
  for (size_t s = 0; rc == PG_OK && s < sizeof sizes / sizeof sizes[0]; s++) {
    rc = fill(n, have, sizes[s], rq);
    have = sizes[s];
    if (rc == PG_OK) rc = measure(base, rq, have, rounds);
  }
  pg_node_stop(n);
  bench_rmtree(g_tmp);
  return rc ? 1 : 0;
}
