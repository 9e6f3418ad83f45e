/* p2pgrid sim — run a community-grid scenario (src/sim, sim.h). */
#include <getopt.h>
#include <inttypes.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/sim/sim.h"
#include "p2pgrid/base/timelabel.h"

void pg_cmd_sim_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid sim SCENARIO.ini [options]\n"
          "\n"
          "Simulates a community grid from a scenario file (producers with solar, wind\n"
          "or CSV sources, households; see examples/scenarios/). Full mode runs the real\n"
          "grid, producer, source and consumer code on an in-process node and Tangle on\n"
          "a virtual clock (MAM channels, bills, payments and payouts confirmed by\n"
          "milestones); market-only mode settles the same meters with the same market\n"
          "without the Tangle (thousands of participants over a year).\n"
          "Writes slots.csv, participants.csv, transfers.csv, balances.csv,\n"
          "party_slots.csv (each participant's energy and settlement per slot, up to\n"
          "5,000,000 rows; the input of `p2pgrid invoice` and `p2pgrid dso reconcile`),\n"
          "summary.json and report.html to the output\n"
          "directory. The summary table and\n"
          "the report show amounts in the scenario's [money] currency (e.g. currency =\n"
          "EUR, units_per_currency = 1Gi, decimals = 2), quantities in its [resource]\n"
          "units (kWh; m\xc2\xb3 and L for water) and times in its [site] tz; the CSV and\n"
          "JSON files keep base units (i, Wh or L), slot numbers and UTC.\n"
          "Times in the scenario are UTC; [site] tz (UTC, +HH:MM, or any IANA zone of\n"
          "the system's tz database such as Europe/Vienna) sets the local calendar of\n"
          "the households (day types, hours; DST days have 92 or 100 quarter hours).\n"
          "Meters of kind = dso settle from the grid operator's imported values\n"
          "(p2pgrid dso import).\n"
          "\n"
          "options:\n"
          "      --full               full mode (default for small scenarios)\n"
          "      --market-only        market-only mode\n"
          "  -o, --out DIR            output directory (default out/<scenario name>)\n"
          "  -q, --quiet              no progress and no summary table\n"
          "      --set SECTION.KEY=VALUE  override a scenario setting (repeatable)\n"
          "  -l, --log-level LEVEL    log level (default warn)\n"
          "      --serve [PORT]       full mode: serve the grid's live dashboard and JSON\n"
          "                           API on http://127.0.0.1:PORT/ (default 8080; 0 = any\n"
          "                           free port) while the run goes, and after it until\n"
          "                           Ctrl-C\n"
          "      --pace DURATION      with --serve: wall time per slot (default 1s)\n"
          "      --threads N          market-only: threads computing the meters; full mode:\n"
          "                           threads stepping the households (default 0: the\n"
          "                           online cores); the results do not depend on it\n"
          "  -h, --help               this help\n"
          "\n"
          "The files are written into a temporary directory beside DIR (DIR.partial-PID)\n"
          "and moved into DIR only when the run has finished: SIGINT (Ctrl-C) or SIGTERM\n"
          "during a run prints 'interrupted', removes the temporary directory and exits\n"
          "with 130 (SIGINT) or 143 (SIGTERM); the files of an earlier finished run in\n"
          "DIR stay as they were. A run killed outright (SIGKILL, power cut) leaves its\n"
          "DIR.partial-PID; the next run into DIR removes it once PID is gone.\n"
          "While a full-mode run goes its databases are its process's: another process\n"
          "opening them (p2pgrid backup, audit) gets 'database is locked'.\n"
          "A full-mode run's DIR/state/node holds node.ini and genesis.txt: run\n"
          "`p2pgrid node --config node.ini` there to serve its Tangle over the REST API\n"
          "(p2pgrid audit --node http://127.0.0.1:14265, the explorer, any client).\n"
          "With --serve, Ctrl-C after the run only stops serving.\n"
          "An option given twice, two --set of one setting, --full with --market-only\n"
          "and --serve with --market-only are refused; [scenario] duration must be a\n"
          "whole number of slots.\n"
          "Exit status: 0 ok, 1 failure, 2 bad usage or scenario, 130/143 interrupted.\n");
}

static void progress(void *ctx, const pg_sim_progress *p) {
  int *last = ctx;
  char iso[32];
  pg_sim_iso(p->sim_ms, iso, sizeof iso);
  double rate = p->wall_ms ? (double)p->done * 1000.0 / (double)p->wall_ms : 0;
  if (isatty(2)) {
    int w = 30, fill = (int)((double)w * (double)p->done / (double)(p->total ? p->total : 1));
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu slots  %s  %.0f slots/s ", fill,
            "##############################", w - fill, "", p->done, p->total, iso, rate);
    if (p->done == p->total) fputc('\n', stderr);
  } else {
    int pct = (int)(100.0 * (double)p->done / (double)(p->total ? p->total : 1));
    if (pct / 10 > *last / 10 || p->done == p->total) {
      fprintf(stderr, "sim: %3d%%  %zu/%zu slots  %s  %.0f slots/s\n", pct, p->done, p->total, iso,
              rate);
      *last = pct;
    }
  }
}

/* One quantity line: label, q base units in the display unit with as many
 * decimals as the display factor has zeros (exact: 12.345 kWh, 1.500 m³). */
static void qty_line(const pg_resource *res, const char *label, int64_t q) {
  int dec = 0;
  for (uint64_t f = res->display_factor; f >= 10; f /= 10) dec++;
  printf("  %-17s %14.*f\n", label, dec, (double)q / (double)res->display_factor);
}

/* The quantity heading: "energy" (electricity) or the resource's name, and
 * the display unit at column 32 (counted in characters, not bytes: m³). */
static void qty_heading(const pg_resource *res) {
  const char *what = pg_resource_is_electricity(res) ? "energy" : res->name;
  size_t w = strlen(what), u = 0;
  for (const char *p = res->display_unit; *p; p++) u += ((unsigned char)*p & 0xC0) != 0x80;
  int pad = w + u < 32 ? (int)(32 - w - u) : 1;
  printf("\n%s%*s%s\n", what, pad, "", res->display_unit);
}

/* One money line: label, amount in the scenario's currency, raw base units. */
static void money_line(const pg_scenario *s, const char *label, int64_t v) {
  char b[PG_MONEY_FMT_MAX];
  (void)pg_money_format(&s->money, v, b, sizeof b);
  printf("  %-17s %18s %20" PRId64 " i\n", label, b, v);
}

/* Issue 17: the assets' KPIs, with and without them (market-only). */
static void flex_table(const pg_scenario *s, const pg_sim_result *r) {
  const pg_sim_flex_kpis *w = &r->flex, *o = r->has_without ? &r->without : NULL;
  printf("\nflexibility            with assets     without\n");
  const char *lab[3] = {"self-sufficiency", "self-consumption", "community share"};
  uint32_t a[3] = {w->self_sufficiency_ppm, w->self_consumption_ppm, w->community_share_ppm};
  uint32_t b[3] = {o ? o->self_sufficiency_ppm : 0, o ? o->self_consumption_ppm : 0,
                   o ? o->community_share_ppm : 0};
  for (int i = 0; i < 3; i++) {
    printf("  %-17s %10.1f %%", lab[i], a[i] / 1e4);
    if (o) printf(" %10.1f %%", b[i] / 1e4);
    printf("\n");
  }
  printf("  %-17s %10.1f kWh", "peak slot import", (double)w->peak_import_wh / 1000);
  if (o) printf(" %8.1f kWh", (double)o->peak_import_wh / 1000);
  printf("\n");
  money_line(s, "savings (with)", w->savings);
  if (o) money_line(s, "savings (without)", o->savings);
  printf("  charged %.1f kWh, discharged %.1f kWh, lost %.1f kWh; EVs %.1f kWh, heat pumps "
         "%.1f kWh; rooftop PV %.1f kWh\n",
         (double)w->charged_wh / 1000, (double)w->discharged_wh / 1000,
         (double)w->loss_wh / 1000, (double)w->ev_wh / 1000, (double)w->heat_pump_wh / 1000,
         (double)w->pv_wh / 1000);
}

static void table(const pg_scenario *s, const pg_sim_result *r, const char *out) {
  const pg_sim_slot *t = &r->total;
  char from[PG_TIME_LABEL_MAX], to[PG_TIME_LABEL_MAX];
  (void)pg_time_label((int64_t)s->start_ms, s->tz, from, sizeof from);
  (void)pg_time_label((int64_t)(s->start_ms + r->n_slots * s->slot_ms), s->tz, to, sizeof to);
  printf("scenario %s: %s, %zu slots of %llu min, %zu producers (%zu sources), %zu households\n",
         s->name, r->mode == PG_SIM_FULL ? "full" : "market-only", r->n_slots,
         (unsigned long long)(s->slot_ms / 60000), s->n_producers, s->n_sources, s->n_households);
  printf("from %s to %s (%s)\n", from, to, pg_tz_name(s->tz));
  const pg_resource *res = pg_resource_or_default(&s->resource);
  qty_heading(res);
  qty_line(res, "produced", t->supply_wh);
  qty_line(res, "consumed", t->demand_wh);
  qty_line(res, "traded locally", t->community_wh);
  qty_line(res, "imported", t->import_wh);
  qty_line(res, "exported", t->export_wh);
  printf("\nmoney (%s)\n", pg_market_mech_name(s->mech));
  money_line(s, "billed", t->billed);
  money_line(s, "paid", r->paid);
  money_line(s, "producer revenues", t->producer_revenues);
  money_line(s, "fees", t->fees);
  money_line(s, "grid income", t->grid_income);
  money_line(s, "utility import", t->import_cost);
  money_line(s, "utility export", t->export_income);
  printf("\nKPIs\n");
  money_line(s, "consumer savings", r->consumer_savings);
  money_line(s, "producer savings", r->producer_savings);
  printf("  Gini of savings   %14.4f\n", (double)r->gini_ppm / 1e6);
  if (r->has_flex) flex_table(s, r);
  if (r->mode == PG_SIM_FULL) {
    printf("\nTangle\n");
    printf("  messages          %14llu\n", (unsigned long long)r->messages);
    printf("  transfers         %14llu\n", (unsigned long long)r->transfers);
    printf("  milestones        %14llu\n", (unsigned long long)r->milestones);
    if (r->outstanding) money_line(s, "bills outstanding", (int64_t)r->outstanding);
  }
  printf("\nwall time %.1f s; output in %s/\n", (double)r->wall_ms / 1000.0, out);
}

/* SIGINT/SIGTERM: the signal, set by the handler; pg_sim_opts.stop. */
static volatile sig_atomic_t sim_stop;
static void on_stop(int sig) { sim_stop = sig; }

/* --serve: the grid's HTTP surface (pg_gridop_http) over the running sim. */
typedef struct serve_ctx {
  int port;
  pg_httpd *h;
} serve_ctx;

/* The simulation's dashboard serves made-up members on loopback only, so it
 * shows the operator's view to whoever asks (a real grid needs the
 * operator's certificate for that). */
static void serve_http(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  pg_httpd_peer op = *req->peer;
  op.verified = true;
  op.why[0] = '\0';
  memset(&op.member, 0, sizeof op.member);
  snprintf(op.member.id, sizeof op.member.id, "simulation");
  op.member.role = PG_ROLE_OPERATOR;
  pg_httpd_req r = *req;
  r.peer = &op;
  pg_gridop_http(ctx, NULL, NULL, &r, resp);
}

static void serve_hook(void *ctx, pg_gridop *g, int phase) {
  serve_ctx *sc = ctx;
  if (phase == PG_SIM_GRID_OPEN) {
    pg_httpd_opts ho = {.port = (uint16_t)sc->port, .max_body = 8192, .handler = serve_http,
                        .ctx = g, .error_code = pg_httpd_code_named, .cors = false,
                        .log_name = "sim"};
    pg_diag d = {{0}};
    if (pg_httpd_start(&ho, &sc->h, &d) != PG_OK)
      fprintf(stderr, "p2pgrid sim: --serve: %s (running without the dashboard)\n", d.msg);
    else
      fprintf(stderr, "dashboard: listening on http://127.0.0.1:%u/\n", (unsigned)pg_httpd_port(sc->h));
  } else if (phase == PG_SIM_GRID_END && sc->h) {
    fprintf(stderr, "run finished; the dashboard stays at http://127.0.0.1:%u/ until Ctrl-C\n",
            (unsigned)pg_httpd_port(sc->h));
    while (!sim_stop) {
      struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000000L};
      nanosleep(&ts, NULL);
    }
    sim_stop = 0; /* the run is over: this Ctrl-C only stops serving */
  } else if (phase == PG_SIM_GRID_CLOSE) {
    pg_httpd_stop(sc->h);
    sc->h = NULL;
  }
}

/* --threads (pg_sim_opts.threads; 0 = the online cores) */
static size_t sim_threads;

int pg_sim_main(const char *cmd, const char *path, int mode_i, const char *out_dir,
                const char *state_dir, bool quiet, const struct pg_app_overrides *ov,
                int serve_port, uint64_t pace_ms) {
  pg_sim_mode mode = (pg_sim_mode)mode_i;
  pg_config *cfg = NULL;
  int st = pg_app_config_load(cmd, path, ov, &cfg);
  if (st) return st;
  pg_scenario s;
  pg_diag d = {{0}};
  if (pg_scenario_from_config(cfg, &s, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    pg_config_free(cfg);
    return PG_EXIT_USAGE;
  }
  if ((st = pg_app_config_unused(cmd, cfg)) != PG_EXIT_OK) goto done;
  char dflt[300];
  if (!out_dir) {
    snprintf(dflt, sizeof dflt, "out/%s", s.name);
    out_dir = dflt;
  }
  int last = -1;
  pg_sim_opts o = {.mode = mode, .out_dir = out_dir, .state_dir = state_dir, .write_files = true, .write_report = true,
                   .progress = quiet ? NULL : progress, .progress_ctx = &last,
                   .threads = sim_threads};
  serve_ctx sc = {.port = serve_port};
  if (serve_port >= 0) {
    if (pg_scenario_mode(&s) == PG_SIM_MARKET_ONLY && mode != PG_SIM_FULL) {
      fprintf(stderr, "p2pgrid %s: --serve needs full mode (the grid runs only there)\n", cmd);
      st = PG_EXIT_USAGE;
      goto done;
    }
    o.mode = PG_SIM_FULL;
    o.grid_hook = serve_hook;
    o.grid_hook_ctx = &sc;
    o.pace_ms = pace_ms;
  }
  struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESTART}, old_int, old_term;
  sigemptyset(&sa.sa_mask);
  sim_stop = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  o.stop = &sim_stop;
  pg_sim_result r;
  int rc = pg_sim_run(&s, &o, &r, &d);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (rc == PG_ERR_CANCELLED) {
    int sig = sim_stop ? (int)sim_stop : SIGINT;
    fprintf(stderr, "\np2pgrid %s: interrupted (%s); nothing written to %s/\n", cmd,
            sig == SIGTERM ? "SIGTERM" : "SIGINT", out_dir);
    st = 128 + sig;
    goto done;
  }
  if (rc != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    st = PG_EXIT_FAIL;
    goto done;
  }
  if (!quiet) table(&s, &r, out_dir);
  if (!pg_sim_report_available())
    fprintf(stderr, "p2pgrid %s: report.html not written (report writer not built in)\n", cmd);
  else if (!quiet)
    printf("report: %s/report.html\n", out_dir);
  pg_sim_result_free(&r);
  st = PG_EXIT_OK;
done:
  pg_scenario_free(&s);
  pg_config_free(cfg);
  return st;
}

int pg_cmd_sim(int argc, char **argv) {
  static const struct option opts[] = {
      {"full", no_argument, NULL, 'F'},        {"market-only", no_argument, NULL, 'M'},
      {"out", required_argument, NULL, 'o'},   {"quiet", no_argument, NULL, 'q'},
      {"set", required_argument, NULL, 'S'},   {"log-level", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},        {"state", required_argument, NULL, 'T'},
      {"serve", optional_argument, NULL, 'V'}, {"pace", required_argument, NULL, 'P'},
      {"threads", required_argument, NULL, 'N'}, {NULL, 0, NULL, 0},
  };
  pg_app_overrides ov = {0};
  pg_sim_mode mode = PG_SIM_AUTO;
  const char *out = NULL, *level = "warn", *state = NULL;
  bool quiet = false;
  int ch, st = PG_EXIT_USAGE, serve = -1;
  uint64_t pace = 1000;
  pg_diag d = {{0}};
  pg_app_opts os = {.cmd = "sim", .longopts = opts, .repeatable = (const int[]){'S', 0}};
  opterr = 0;
  optind = 1;
  sim_threads = 0;
  while ((ch = pg_app_getopt(&os, argc, argv, ":o:ql:h")) != -1) {
    switch (ch) {
    case PG_APP_OPT_BAD: goto out;
    case 'F': mode = PG_SIM_FULL; break;
    case 'M': mode = PG_SIM_MARKET_ONLY; break;
    case 'o': out = optarg; break;
    case 'T': state = optarg; break;
    case 'V': {
      const char *p = optarg;
      if (!p && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') p = argv[optind++];
      char *end = NULL;
      long v = p ? strtol(p, &end, 10) : 8080;
      if ((p && *end) || v < 0 || v > 65535) {
        fprintf(stderr, "p2pgrid sim: --serve: '%s' is not a port (0..65535)\n", p);
        goto out;
      }
      serve = (int)v;
      break;
    }
    case 'P':
      if (pg_config_parse_duration_ms(optarg, &pace) != PG_OK) {
        fprintf(stderr, "p2pgrid sim: --pace: '%s' is not a duration (e.g. 500ms, 2s)\n", optarg);
        goto out;
      }
      break;
    case 'N': {
      char *end = NULL;
      long v = strtol(optarg, &end, 10);
      if (*optarg < '0' || *optarg > '9' || *end || v < 0 || v > PG_SIM_THREADS_MAX) {
        fprintf(stderr, "p2pgrid sim: --threads: '%s' is not a thread count (0..%d, 0 = the cores)\n",
                optarg, PG_SIM_THREADS_MAX);
        goto out;
      }
      sim_threads = (size_t)v;
      break;
    }
    case 'q': quiet = true; break;
    case 'S':
      if (pg_app_override_add(&ov, optarg, "") != 0) goto out;
      break;
    case 'l': level = optarg; break;
    case 'h':
      pg_cmd_sim_usage(stdout);
      st = PG_EXIT_OK;
      goto out;
    case ':':
      fprintf(stderr, "p2pgrid sim: option '%s' needs a value\n\n", argv[optind - 1]);
      pg_cmd_sim_usage(stderr);
      goto out;
    default:
      fprintf(stderr, "p2pgrid sim: unknown option '%s'\n\n", argv[optind - 1]);
      pg_cmd_sim_usage(stderr);
      goto out;
    }
  }
  if (optind + 1 < argc) {
    fprintf(stderr, "p2pgrid sim: unexpected argument '%s' (one SCENARIO.ini)\n", argv[optind + 1]);
    goto out;
  }
  if (optind + 1 != argc) {
    fprintf(stderr, "p2pgrid sim: expected one SCENARIO.ini\n\n");
    pg_cmd_sim_usage(stderr);
    goto out;
  }
  if (pg_app_opt_conflict(&os, 'F', 'M') || pg_app_opt_conflict(&os, 'V', 'M') ||
      pg_app_opt_needs(&os, 'P', 'V'))
    goto out;
  if (pg_log_set_level_str(level, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid sim: --log-level: %s\n", d.msg);
    goto out;
  }
  st = pg_sim_main("sim", argv[optind], mode, out, state, quiet, &ov, serve, serve >= 0 ? pace : 0);
out:
  pg_app_overrides_free(&ov);
  return st;
}
