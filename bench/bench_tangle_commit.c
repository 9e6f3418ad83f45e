/* The store's cost per message against the messages per transaction: the
 * limit of a node whose one committer stores what its HTTP threads queued
 * (pg_tangle_attach_later), without HTTP. For each group size g in
 * 1, 2, 4, 8, 16, 64 a fresh tangle (in /tmp, where the ingest benchmark
 * keeps its node's data) stores N data messages (the ingest benchmark's indexation
 * payloads) through pg_tangle_attach_many, g per call: one transaction of g
 * messages each, parents chosen as the committer chooses them. Prints the
 * process CPU time per message and the messages/s one core allows.
 *
 *   bench_tangle_commit [N]      (default 20000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/base/log.h"
#include "p2pgrid/tangle/tangle.h"

#include "util.h"

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stores n messages, g per transaction, into a fresh tangle; CPU us/message. */
static int run(size_t n, size_t g, double *us) {
  char dir[256];
  snprintf(dir, sizeof dir, "/tmp/pg-bench-commit-XXXXXX");
  if (!mkdtemp(dir)) return PG_ERR_IO;
  pg_tangle_config tc;
  pg_tangle_config_defaults(&tc);
  tc.data_dir = dir;
  pg_tangle *t = NULL;
  pg_diag d = {{0}};
  int rc = pg_tangle_open(&tc, &t, &d);
  pg_buf pay[64];
  pg_tangle_item it[64];
  for (size_t k = 0; k < g; k++) pg_buf_init(&pay[k], PG_MSG_MAX_LEN);
  double t0 = cpu_s();
  for (size_t at = 0; rc == PG_OK && at < n; at += g) {
    for (size_t k = 0; k < g && rc == PG_OK; k++) {
      char data[64];
      int dl = snprintf(data, sizeof data, "message %zu of the commit benchmark", at + k);
      pg_buf_reset(&pay[k]);
      rc = pg_indexation_build(&pay[k], (const uint8_t *)"bench-commit", 12,
                               (const uint8_t *)data, (size_t)dl, NULL);
      it[k] = (pg_tangle_item){.payload = pay[k].data, .payload_len = pay[k].len};
    }
    if (rc == PG_OK) rc = pg_tangle_attach_many(t, it, g);
    for (size_t k = 0; k < g && rc == PG_OK; k++) rc = it[k].rc;
  }
  *us = (cpu_s() - t0) * 1e6 / (double)n;
  for (size_t k = 0; k < g; k++) pg_buf_free(&pay[k]);
  pg_tangle_close(t);
  bench_rmtree(dir);
  if (rc) fprintf(stderr, "bench_tangle_commit: %s\n", d.msg[0] ? d.msg : pg_strerror(rc));
  return rc;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
  if (n == 0) {
    fprintf(stderr, "usage: bench_tangle_commit [N]   (N > 0 messages per group size)\n");
    return 2;
  }
  pg_log_set_level(PG_LOG_ERROR);
  static const size_t sizes[] = {1, 2, 4, 8, 16, 64};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    double us = 0;
    if (run(n, sizes[i], &us)) return 1;
    printf("tangle_commit_%zu_per_tx: %.1f us/message\n", sizes[i], us);
    printf("tangle_commit_%zu_per_tx_one_core: %.0f messages/s\n", sizes[i], 1e6 / us);
    fflush(stdout);
  }
  return 0;
}
