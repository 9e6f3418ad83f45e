/* `p2pgrid audit` throughput. Prints numbers only, never pass/fail:
 *   audit_full_slots_per_s: a full audit (every channel read from the
 *     Tangle, every slot re-settled and compared, every payment and payout
 *     batch looked up) of a full-mode simulation of a small community (3
 *     producers with 2 sources each, 8 households) over a day of 15-minute
 *     slots (argv[1]: hours, default 24), read from the node's data
 *     directory in-process;
 *   audit_messages_per_s: channel messages read and decoded in that audit.
 * The simulation and the export are made with the p2pgrid binary
 * ($P2PGRID, as bench/run sets it; default ./p2pgrid); their time is not
 * counted. Data in /dev/shm when there is one, else TMPDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2pgrid/audit/audit.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/file.h"

#include "util.h"

static int run(char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
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

static int audit_once(const char *dir, double *slots_ps, double *msgs_ps) {
  char exp[600], node[600];
  snprintf(exp, sizeof exp, "%s/export.json", dir);
  snprintf(node, sizeof node, "%s/out/state/node", dir);
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag d = {{0}};
  pg_audit_export e;
  pg_audit_facts f;
  pg_audit_report r;
  pg_client *c = NULL;
  if (pg_read_file_capped(exp, PG_AUDIT_MAX_EXPORT, &buf, &len, &d) ||
      pg_audit_export_parse(buf, len, &e, &d)) {
    fprintf(stderr, "bench_audit: %s: %s\n", exp, d.msg);
    free(buf);
    return -1;
  }
  free(buf);
  int rc = pg_audit_dir_client(node, &c, &d);
  uint64_t t0 = pg_monotonic_ms();
  if (!rc) rc = pg_audit_gather(c, &e, NULL, &f, &d);
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
  pg_client_free(c);
  pg_audit_export_free(&e);
  return rc;
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
  }
  bench_rmtree(dir);
  return rc ? 1 : 0;
}
