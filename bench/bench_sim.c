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
 *     else TMPDIR.
 *   sim_full_<n>_<slots>slots_s: full mode on a generated community of n
 *     households and 40 producers (120 sources) over 15-minute slots: wall
 *     seconds, slots/s, microseconds per participant-slot, the setup and
 *     the cost of each slot after the first (CPU beside wall). argv[2]:
 *     households (default 100), argv[3]: slots (default 16; 96 prints
 *     sim_full_<n>_day_s; other counts also print sim_full_<n>_day_extrapolated_s,
 *     setup + 96 x the measured per-slot time, labelled as such). The day of 1,000 households is
 *     `bench_sim 0 1000 96` (argv[1] 0 runs only this one): minutes of CPU,
 *     so `make bench` runs the small community and docs/PERFORMANCE.md
 *     gives the growth with members. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/sim/sim.h"

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

/* Wall time when the first and the last slot were done (progress). */
typedef struct full_marks {
  uint64_t first_ms, last_ms;
  double cpu0, first_cpu, last_cpu; /* process CPU seconds */
  double q_cpu[5];                  /* CPU when each quarter of the slots was done */
} full_marks;

static void full_progress(void *ctx, const pg_sim_progress *p) {
  full_marks *m = ctx;
  double c = cpu_s();
  if (p->done == 1) m->first_ms = p->wall_ms, m->first_cpu = c;
  m->last_ms = p->wall_ms, m->last_cpu = c;
  for (size_t q = 0; q <= 4; q++) /* quarter 0: the first slot */
    if (p->done == (q ? (p->total * q + 3) / 4 : 1)) m->q_cpu[q] = c;
}

/* Full mode on a generated community: nh households, 40 producers, `slots`
 * 15-minute slots; prints seconds, slots/s and us per participant-slot, and
 * apart the setup (members, channels, meters: until the first slot is done)
 * and the cost of each later slot. */
/* The databases a full run left in dir/state (its default state
 * directory): what a community's machines keep on disk after the run. */
static void print_state_sizes(int nh, const char *dir) {
  char state[600];
  snprintf(state, sizeof state, "%s/state", dir);
  bench_db_bytes b;
  if (bench_db_sizes(state, &b) != 0) return;
  const double mb = 1024.0 * 1024.0;
  const char *names[] = {"household", "producer", "source"};
  char each[3][64];
  for (int k = 0; k < 3; k++)
    snprintf(each[k], sizeof each[k], "%u %ss %.1f KiB each", b.files[2 + k], names[k],
             b.files[2 + k] ? (double)b.bytes[2 + k] / 1024.0 / b.files[2 + k] : 0.0);
  printf("sim_full_%d_state_mb: %.1f MiB on disk after the run (node %.1f, grid %.1f; %s, %s,"
         " %s)\n",
         nh, (double)b.total / mb, (double)b.bytes[0] / mb, (double)b.bytes[1] / mb, each[0],
         each[1], each[2]);
}

static void bench_full_community(int nh, int slots) {
  char ini[1024];
  snprintf(ini, sizeof ini,
           "[scenario]\nname = bench-full\nstart = 2025-06-21\nduration = %dm\nslot = 15m\n"
           "seed = 1\nmode = full\n"
           "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
           "fee_per_kwh = 5Mi\nfee_bp = 100\npayout_min = 1Mi\n"
           "[producers]\ncount = 40\nsources_per_producer = 3\nsolar_share = 0.75\n"
           "kwp_min = 10\nkwp_max = 60\nwind_kw_min = 10\nwind_kw_max = 50\n"
           "[households]\ncount = %d\n",
           slots * 15, nh);
  pg_config *c = NULL;
  pg_diag d = {{0}};
  pg_scenario s;
  if (pg_config_new(&c) != PG_OK || pg_config_load_string(c, "bench-full", ini, strlen(ini), &d) ||
      pg_scenario_from_config(c, &s, &d)) {
    fprintf(stderr, "bench_sim full community: %s\n", d.msg);
    pg_config_free(c);
    return;
  }
  pg_config_free(c);
  char dir[512];
  snprintf(dir, sizeof dir, "%s/bench_simfull_XXXXXX", bench_tmpbase());
  if (!mkdtemp(dir)) {
    pg_scenario_free(&s);
    return;
  }
  full_marks mk = {.cpu0 = cpu_s()};
  pg_sim_opts o = {.mode = PG_SIM_FULL, .out_dir = dir, .progress = full_progress,
                   .progress_ctx = &mk};
  pg_sim_result r;
  uint64_t t0 = pg_monotonic_ms();
  int rc = pg_sim_run(&s, &o, &r, &d);
  double secs = (double)(pg_monotonic_ms() - t0) / 1000.0;
  if (rc) {
    fprintf(stderr, "bench_sim full community: %s\n", d.msg);
  } else {
    size_t n = s.n_households + s.n_producers;
    double ps = secs > 0 ? secs : 1e-3;
    char span[32]; /* "day" for 96 slots, else the slots */
    if (slots == 96) snprintf(span, sizeof span, "day");
    else snprintf(span, sizeof span, "%dslots", slots);
    printf("sim_full_%d_%s_s: %.1f s (%zu participants, %zu slots, %llu messages, %.1f s CPU)\n",
           nh, span, secs, n, r.n_slots, (unsigned long long)r.messages, cpu_s() - mk.cpu0);
    printf("sim_full_%d_slots_per_s: %.2f slots/s\n", nh, (double)r.n_slots / ps);
    printf("sim_full_%d_outstanding: %lld base units (bills unpaid after the drain; 0: all paid)\n",
           nh, (long long)r.outstanding);
    printf("sim_full_%d_us_per_participant_slot: %.0f us\n", nh,
           ps * 1e6 / ((double)n * (double)(r.n_slots ? r.n_slots : 1)));
    if (r.n_slots > 1) {
      double per = (double)(mk.last_ms - mk.first_ms) / (double)(r.n_slots - 1);
      double cper = (mk.last_cpu - mk.first_cpu) * 1000.0 / (double)(r.n_slots - 1);
      printf("sim_full_%d_setup_s: %.1f s (until the first slot is settled; %.1f s CPU)\n", nh,
             (double)mk.first_ms / 1000.0, mk.first_cpu - mk.cpu0);
      printf("sim_full_%d_ms_per_slot: %.0f ms (%.0f us per participant-slot, after the first;"
             " %.0f ms CPU)\n", nh, per, per * 1000.0 / (double)n, cper);
      if (r.n_slots >= 8) { /* growth over the run: CPU per slot in each quarter */
        double qs[4];
        for (size_t q = 0; q < 4; q++) {
          size_t a = q ? (r.n_slots * q + 3) / 4 : 1, b = (r.n_slots * (q + 1) + 3) / 4;
          qs[q] = b > a ? (mk.q_cpu[q + 1] - mk.q_cpu[q]) * 1000.0 / (double)(b - a) : 0;
        }
        printf("sim_full_%d_cpu_ms_per_slot_by_quarter: %.0f / %.0f / %.0f / %.0f ms (the run's"
               " four quarters of slots, after the first: growth over the run)\n",
               nh, qs[0], qs[1], qs[2], qs[3]);
      }
      if (slots != 96) /* what a day would take at this run's rates (not a day's run) */
        printf("sim_full_%d_day_extrapolated_s: %.1f s (setup + 96 x the per-slot time over %zu"
               " slots, not measured over a day; %.1f s CPU)\n",
               nh, (double)mk.first_ms / 1000.0 + 96.0 * per / 1000.0, r.n_slots,
               mk.first_cpu - mk.cpu0 + 96.0 * cper / 1000.0);
    }
    print_state_sizes(nh, dir);
    pg_sim_result_free(&r);
  }
  pg_scenario_free(&s);
  bench_rmtree(dir);
}

int main(int argc, char **argv) {
  pg_log_set_level(PG_LOG_ERROR);
  int days = argc > 1 ? atoi(argv[1]) : 365;
  bool only_full = argc > 1 && days == 0;
  if (days < 1 || days > 400) days = 365;
  if (argc > 2 && strcmp(argv[2], "market") == 0) {
    market_only(days);
    return 0;
  }
  int full_nh = argc > 2 ? atoi(argv[2]) : 100;
  int full_slots = argc > 3 ? atoi(argv[3]) : 16;
  if (full_nh < 1 || full_nh > 100000) full_nh = 100;
  if (full_slots < 1 || full_slots > 96 * 366) full_slots = 16;
  if (only_full) {
    bench_full_community(full_nh, full_slots);
    return 0;
  }
  market_only(days);
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
  bench_full_community(full_nh, full_slots);
  return 0;
}
