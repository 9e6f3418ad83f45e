/* Simulator throughput. Prints numbers only, never pass/fail:
 *   sim_market_only_participant_slots_per_s: market-only, 1000 households
 *     and 40 producers (120 sources) over a year of 15-minute slots
 *     (argv[1]: days, default 365) on ONE thread, and beside it
 *     sim_market_only_all_cores_participant_slots_per_s (--threads 0: the
 *     online cores), each with the seconds the run took; then
 *     sim_market_only_scaling_<n>h: 100, 1000 and 4000 households (4 sources
 *     per 100) over min(days, 30) days on all cores.
 *     argv[2] "market": only the market-only lines.
 *   sim_full_demo_slots_per_s: full mode (real entities on an in-process
 *     Tangle) on examples/scenarios/demo.ini (a day, 3 producers, 8
 *     households); node and entity databases in /dev/shm when there is one,
 *     else TMPDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/clock.h"
#include "p2pgrid/config.h"
#include "p2pgrid/log.h"
#include "p2pgrid/sim.h"

#include "util.h"

/* CPU seconds of the process (all threads): beside the wall time, the
 * figure a busy machine disturbs less */
static double last_cpu_s;
static double cpu_s(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
         (double)u.ru_stime.tv_usec / 1e6;
}

static int run(pg_config *c, pg_sim_mode mode, size_t threads, const char *label, double *rate_ps,
               double *secs_out) {
  pg_scenario s;
  pg_diag d = {{0}};
  if (pg_scenario_from_config(c, &s, &d) != PG_OK) {
    fprintf(stderr, "bench_sim %s: %s\n", label, d.msg);
    return -1;
  }
  char dir[512];
  snprintf(dir, sizeof dir, "%s/bench_sim_XXXXXX", bench_tmpbase());
  if (!mkdtemp(dir)) {
    pg_scenario_free(&s);
    return -1;
  }
  pg_sim_opts o = {.mode = mode, .out_dir = dir, .threads = threads};
  pg_sim_result r;
  uint64_t t0 = pg_monotonic_ms();
  double c0 = cpu_s();
  int rc = pg_sim_run(&s, &o, &r, &d);
  double secs = (double)(pg_monotonic_ms() - t0) / 1000.0;
  last_cpu_s = cpu_s() - c0;
  if (rc) {
    fprintf(stderr, "bench_sim %s: %s\n", label, d.msg);
  } else {
    *rate_ps = (double)r.n_slots / (secs > 0 ? secs : 1e-3);
    if (mode == PG_SIM_MARKET_ONLY) *rate_ps *= (double)(s.n_households + s.n_producers);
    if (secs_out) *secs_out = secs;
    pg_sim_result_free(&r);
  }
  pg_scenario_free(&s);
  bench_rmtree(dir);
  return rc ? -1 : 0;
}

/* The market-only scenario: nh households, np producers of 3 sources. */
static int market_config(int days, int nh, int np, pg_config **out) {
  char ini[1024];
  snprintf(ini, sizeof ini,
           "[scenario]\nname = bench\nstart = 2025-01-01\nduration = %dd\nslot = 15m\nseed = 1\n"
           "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
           "fee_per_kwh = 5Mi\nfee_bp = 100\n"
           "[producers]\ncount = %d\nsources_per_producer = 3\nsolar_share = 0.75\n"
           "kwp_min = 10\nkwp_max = 60\nwind_kw_min = 10\nwind_kw_max = 50\n"
           "[households]\ncount = %d\n",
           days, np, nh);
  pg_diag d = {{0}};
  *out = NULL;
  if (pg_config_new(out) != PG_OK) return -1;
  if (pg_config_load_string(*out, "bench", ini, strlen(ini), &d) != PG_OK) {
    fprintf(stderr, "bench_sim: %s\n", d.msg);
    return -1;
  }
  return 0;
}

/* market-only: one thread beside all cores at 1,040 participants, then the
 * growth with the community's size */
static void market_only(int days) {
  pg_config *c = NULL;
  double rate1 = 0, secs1 = 0, rate_all = 0, secs_all = 0;
  double year_slots = 365.0 * 96 * 1040;
  if (market_config(days, 1000, 40, &c) == 0 &&
      run(c, PG_SIM_MARKET_ONLY, 1, "market-only", &rate1, &secs1) == 0)
    printf("sim_market_only_participant_slots_per_s: %.0f participant-slots/s (1040 participants, "
           "%d days, 1 thread: %.2f s, cpu %.2f s; a year %.1f s)\n",
           rate1, days, secs1, last_cpu_s, year_slots / rate1);
  if (c && run(c, PG_SIM_MARKET_ONLY, 0, "market-only", &rate_all, &secs_all) == 0)
    printf("sim_market_only_all_cores_participant_slots_per_s: %.0f participant-slots/s (%ld cores: "
           "%.2f s, cpu %.2f s; a year %.1f s; %.2fx one thread)\n",
           rate_all, sysconf(_SC_NPROCESSORS_ONLN), secs_all, last_cpu_s, year_slots / rate_all,
           rate1 > 0 ? rate_all / rate1 : 0);
  pg_config_free(c);
  int sd = days < 30 ? days : 30;
  static const int sizes[] = {100, 1000, 4000};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    int nh = sizes[k], np = nh / 25;
    double rate = 0, secs = 0;
    if (market_config(sd, nh, np, &c) == 0 &&
        run(c, PG_SIM_MARKET_ONLY, 0, "market-only", &rate, &secs) == 0)
      printf("sim_market_only_scaling_%dh: %.0f participant-slots/s (%d households, %d producers, "
             "%d days, all cores: %.2f s, cpu %.2f s; %.2f us, cpu %.2f us per participant-slot)\n",
             nh, rate, nh, np, sd, secs, last_cpu_s, 1e6 / rate,
             1e6 * last_cpu_s / (rate * secs));
    pg_config_free(c);
    c = NULL;
  }
}

int main(int argc, char **argv) {
  pg_log_set_level(PG_LOG_ERROR);
  int days = argc > 1 ? atoi(argv[1]) : 365;
  if (days < 1 || days > 400) days = 365;
  market_only(days);
  if (argc > 2 && strcmp(argv[2], "market") == 0) return 0;
  pg_config *c = NULL;
  pg_diag d = {{0}};
  double rate = 0;
  /* the demo scenario, next to this file in the source tree */
  char path[1024];
  snprintf(path, sizeof path, "%s", __FILE__);
  char *slash = strrchr(path, '/');
  if (slash) snprintf(slash, sizeof path - (size_t)(slash - path), "/../examples/scenarios/demo.ini");
  else snprintf(path, sizeof path, "examples/scenarios/demo.ini");
  if (pg_config_new(&c) == PG_OK && pg_config_load_file(c, path, &d) == PG_OK) {
    if (run(c, PG_SIM_FULL, 0, "full", &rate, NULL) == 0)
      printf("sim_full_demo_slots_per_s: %.1f slots/s (demo.ini, state in %s)\n", rate, bench_tmpbase());
  } else {
    fprintf(stderr, "bench_sim: %s\n", d.msg);
  }
  pg_config_free(c);
  return 0;
}
