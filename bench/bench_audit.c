/* `p2pgrid audit` throughput. Prints numbers only, never pass/fail:
 *   audit_full_slots_per_s: a full audit (every channel read from the
 *     Tangle, every slot re-settled and compared, every payment and payout
 *     batch looked up) of a full-mode simulation of a small community (3
 *     producers with 2 sources each, 8 households) over a day of 15-minute
 *     slots (argv[1]: hours, default 24), read from the node's data
 *     directory in-process;
 *   audit_messages_per_s: channel messages read and decoded in that audit;
 *   audit_http_find_slots_per_s / audit_http_rest_slots_per_s: the same
 *     audit over HTTP against `p2pgrid node --config node.ini` serving the
 *     run's node directory, with batched lookups (POST
 *     /api/plugins/data/find) and with one GET a lookup (rest_only), each
 *     with the requests the node answered; audit_http_speedup their ratio.
 * The simulation and the export are made with the p2pgrid binary
 * ($P2PGRID, as bench/run sets it; default ./p2pgrid); their time is not
 * counted. Data in /dev/shm when there is one, else TMPDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2pgrid/audit/audit.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/client/client.h"

#include "node_requests.h"
#include "util.h"

static int run(char *const argv[]) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    bench_child_dies_with_parent(parent);
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench_audit: %s %s failed (status 0x%x)\n", argv[0], argv[1], st);
    return -1;
  }
  return 0;
}

static int make_run(const char *bin, const char *dir, int hours) {
  char ini[600], out[600], grid[700], exp[600];
  snprintf(ini, sizeof ini, "%s/scenario.ini", dir);
  FILE *f = fopen(ini, "w");
  if (!f) return -1;
  fprintf(f, "[scenario]\nname = bench-audit\nstart = 2025-06-21\nduration = %dh\nslot = 15m\n"
             "seed = 42\nmode = full\n[site]\nlat = 52.52\nlon = 13.40\ntz = Europe/Berlin\n"
             "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
             "fee_per_kwh = 5Mi\nfee_bp = 100\npayout_min = 1Mi\n"
             "[producers]\ncount = 3\nsources_per_producer = 2\nsolar_share = 0.67\nkwp_min = 3\n"
             "kwp_max = 8\nwind_kw_min = 2\nwind_kw_max = 5\nwind_speed = 6\nask_share = 0.67\n"
             "ask_min = 90Mi\nask_max = 160Mi\n[households]\ncount = 8\nannual_kwh_min = 2500\n"
             "annual_kwh_max = 5000\nnoise = 0.3\nbid_share = 0.75\nbid_min = 200Mi\n"
             "bid_max = 290Mi\n", hours);
  if (fclose(f) != 0) return -1;
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(grid, sizeof grid, "%s/state/grid", out);
  snprintf(exp, sizeof exp, "%s/export.json", dir);
  char *sim[] = {(char *)bin, "sim", ini, "--full", "-q", "-o", out, NULL};
  char *ex[] = {(char *)bin, "grid", "audit-export", "--data-dir", grid, "--out", exp, NULL};
  return run(sim) || run(ex) ? -1 : 0;
}

/* One audit of dir's export through c: slots and channel messages a
 * second. */
static int audit_with(const char *dir, pg_client *c, double *slots_ps, double *msgs_ps) {
  char exp[600];
  snprintf(exp, sizeof exp, "%s/export.json", dir);
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag d = {{0}};
  pg_audit_export e;
  pg_audit_facts f;
  pg_audit_report r;
  if (pg_read_file_capped(exp, PG_AUDIT_MAX_EXPORT, &buf, &len, &d) ||
      pg_audit_export_parse(buf, len, &e, &d)) {
    fprintf(stderr, "bench_audit: %s: %s\n", exp, d.msg);
    free(buf);
    return -1;
  }
  free(buf);
  uint64_t t0 = pg_monotonic_ms();
  int rc = pg_audit_gather(c, &e, NULL, &f, &d);
  if (!rc) {
    rc = pg_audit_compare(&e, &f, &r, &d);
    double secs = (double)(pg_monotonic_ms() - t0) / 1000.0;
    if (secs <= 0) secs = 1e-3;
    if (!rc) {
      *slots_ps = (double)r.n_slots / secs;
      *msgs_ps = (double)f.messages / secs;
      if (r.n_diffs) fprintf(stderr, "bench_audit: %zu differences in a clean run\n", r.n_diffs);
      pg_audit_report_free(&r);
    }
    pg_audit_facts_free(&f);
  }
  if (rc) fprintf(stderr, "bench_audit: %s\n", d.msg);
  pg_audit_export_free(&e);
  return rc;
}

static int audit_once(const char *dir, double *slots_ps, double *msgs_ps) {
  char node[600];
  snprintf(node, sizeof node, "%s/out/state/node", dir);
  pg_client *c = NULL;
  pg_diag d = {{0}};
  int rc = pg_audit_dir_client(node, &c, &d);
  if (rc) fprintf(stderr, "bench_audit: %s\n", d.msg);
  else rc = audit_with(dir, c, slots_ps, msgs_ps);
  pg_client_free(c);
  return rc;
}

/* A free TCP port on 127.0.0.1 (bound, then let go). */
static unsigned free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  unsigned port = 0;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &al) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* `p2pgrid node --config node.ini` in the run's node directory (what a
 * full-mode sim leaves there); its pid, base URL in base once healthy. */
static pid_t serve_node(const char *bin, const char *dir, char *base, size_t cap) {
  char node[600], port[16];
  snprintf(node, sizeof node, "%s/out/state/node", dir);
  unsigned p = free_port();
  snprintf(port, sizeof port, "%u", p);
  snprintf(base, cap, "http://127.0.0.1:%u", p);
  char log[640];
  snprintf(log, sizeof log, "%s/node.log", dir);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0 || p == 0) return -1;
  if (pid == 0) {
    bench_child_dies_with_parent(parent);
    if (!freopen(log, "w", stderr) || chdir(node) != 0) _exit(127);
    execl(bin, bin, "node", "--config", "node.ini", "--bind", "127.0.0.1", "--port", port,
          (char *)NULL);
    _exit(127);
  }
  pg_client *c = NULL;
  bool up = false; /* answering (not "healthy": its last milestone is the run's, long ago) */
  pg_diag d = {{0}};
  pg_node_info info;
  if (pg_client_http_new(&(pg_http_client_opts){.base_url = base}, &c, &d) == PG_OK)
    for (int i = 0; i < 200 && !(up = pg_client_info(c, &info, &d) == PG_OK); i++)
      usleep(50 * 1000);
  pg_client_free(c);
  if (up) return pid;
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  uint8_t *text = NULL;
  size_t len = 0;
  if (pg_read_file_capped(log, 4096, &text, &len, NULL) != PG_OK) len = 0;
  fprintf(stderr, "bench_audit: the node of the run did not come up: %.*s\n", (int)len,
          text ? (const char *)text : "");
  free(text);
  return -1;
}

/* The audit over HTTP, with batched lookups and with GETs only
 * (rest_only): slots a second and the node's requests an audit. */
static int audit_http(const char *dir, const char *base, bool rest_only, double *slots_ps,
                      double *reqs) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  double mps = 0;
  if (pg_client_http_new(&(pg_http_client_opts){.base_url = base, .rest_only = rest_only}, &c,
                         &d)) {
    fprintf(stderr, "bench_audit: %s\n", d.msg);
    return -1;
  }
  double q0 = bench_node_requests(base);
  int rc = audit_with(dir, c, slots_ps, &mps);
  *reqs = bench_node_requests(base) - q0;
  pg_client_free(c);
  return rc;
}

static int http_runs(const char *bin, const char *dir) {
  char base[64];
  pid_t node = serve_node(bin, dir, base, sizeof base);
  if (node < 0) return -1;
  double fs = 0, fq = 0, rs = 0, rq = 0;
  int rc = audit_http(dir, base, false, &fs, &fq);
  if (!rc) rc = audit_http(dir, base, true, &rs, &rq);
  kill(node, SIGTERM);
  waitpid(node, NULL, 0);
  if (rc) return rc;
  printf("audit_http_find_slots_per_s: %.1f slots/s (%.0f requests)\n", fs, fq);
  printf("audit_http_rest_slots_per_s: %.1f slots/s (%.0f requests)\n", rs, rq);
  printf("audit_http_speedup: %.2fx\n", fs / rs);
  return 0;
}

int main(int argc, char **argv) {
  int hours = argc > 1 ? atoi(argv[1]) : 24;
  if (hours < 1) hours = 24;
  const char *bin = getenv("P2PGRID");
  if (!bin || !*bin) bin = "./p2pgrid";
  char dir[512];
  snprintf(dir, sizeof dir, "%s/bench_audit_XXXXXX", bench_tmpbase());
  if (!mkdtemp(dir)) return 1;
  double sps = 0, mps = 0;
  int rc = make_run(bin, dir, hours);
  if (!rc) rc = audit_once(dir, &sps, &mps);
  if (!rc) {
    printf("audit_full_slots_per_s: %.1f slots/s\n", sps);
    printf("audit_messages_per_s: %.0f messages/s\n", mps);
    fflush(stdout);
    rc = http_runs(bin, dir);
  }
  bench_rmtree(dir);
  return rc ? 1 : 0;
}
