/* p2pgrid demo — the bundled scenario examples/scenarios/demo.ini in full
 * mode: a day of a small community grid on an in-process node and Tangle. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/sim/sim.h"

#ifndef PG_DEMO_SCENARIO
#define PG_DEMO_SCENARIO "examples/scenarios/demo.ini"
#endif

void pg_cmd_demo_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid demo [options]\n"
          "\n"
          "Runs the bundled scenario %s in full mode:\n"
          "one day of 15-minute slots of a small community grid (3 producers with\n"
          "solar and wind sources, 8 households) on a node in this process, with its\n"
          "own coordinator issuing milestones on a virtual clock. The real grid,\n"
          "producer, source and consumer code reports readings over MAM channels,\n"
          "settles every slot, bills the households, which pay with real transfers,\n"
          "and pays the producers out. Prints a summary table and where the report is\n"
          "(out/demo/report.html, with slots.csv, participants.csv, transfers.csv,\n"
          "balances.csv, summary.json).\n"
          "Like p2pgrid sim %s --full, which keeps the\n"
          "databases in out/demo/state.\n"
          "\n"
          "options:\n"
          "  -s, --scenario FILE      another scenario file\n"
          "  -o, --out DIR            output directory (default out/<scenario name>)\n"
          "      --state DIR          node and entity databases (default: a directory\n"
          "                           in /dev/shm, removed at the end, when there is one:\n"
          "                           the entities commit with fsync, which on a disk\n"
          "                           makes the demo several times slower; else\n"
          "                           out/<scenario name>/state)\n"
          "  -q, --quiet              no progress and no summary table\n"
          "  -l, --log-level LEVEL    log level (default warn)\n"
          "  -h, --help               this help\n",
          PG_DEMO_SCENARIO, PG_DEMO_SCENARIO);
}

int pg_cmd_demo(int argc, char **argv) {
  static const struct option opts[] = {
      {"scenario", required_argument, NULL, 's'}, {"out", required_argument, NULL, 'o'},
      {"quiet", no_argument, NULL, 'q'},          {"log-level", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},           {"state", required_argument, NULL, 'T'},
      {NULL, 0, NULL, 0},
  };
  const char *scenario = PG_DEMO_SCENARIO, *out = NULL, *level = "warn", *state = NULL;
  bool quiet = false;
  int ch;
  pg_diag d = {{0}};
  pg_app_opts os = {.cmd = "demo", .longopts = opts};
  opterr = 0;
  optind = 1;
  while ((ch = pg_app_getopt(&os, argc, argv, ":s:o:ql:h")) != -1) {
    switch (ch) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 's': scenario = optarg; break;
    case 'o': out = optarg; break;
    case 'T': state = optarg; break;
    case 'q': quiet = true; break;
    case 'l': level = optarg; break;
    case 'h': pg_cmd_demo_usage(stdout); return PG_EXIT_OK;
    case ':':
      fprintf(stderr, "p2pgrid demo: option '%s' needs a value\n\n", argv[optind - 1]);
      pg_cmd_demo_usage(stderr);
      return PG_EXIT_USAGE;
    default:
      fprintf(stderr, "p2pgrid demo: unknown option '%s'\n\n", argv[optind - 1]);
      pg_cmd_demo_usage(stderr);
      return PG_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid demo: unexpected argument '%s'\n\n", argv[optind]);
    pg_cmd_demo_usage(stderr);
    return PG_EXIT_USAGE;
  }
  if (pg_log_set_level_str(level, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid demo: --log-level: %s\n", d.msg);
    return PG_EXIT_USAGE;
  }
#ifdef PG_DEMO_SCENARIO_FALLBACK
  if (strcmp(scenario, PG_DEMO_SCENARIO) == 0 && access(scenario, R_OK) != 0)
    scenario = PG_DEMO_SCENARIO_FALLBACK;
#endif
  if (access(scenario, R_OK) != 0) {
    fprintf(stderr, "p2pgrid demo: cannot read %s (run it from the source tree, or pass --scenario)\n",
            scenario);
    return PG_EXIT_USAGE;
  }
  char tmp[] = "/dev/shm/p2pgrid-demo-XXXXXX";
  bool made = false;
  struct stat sb;
  if (!state && stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0 &&
      mkdtemp(tmp)) {
    state = tmp;
    made = true;
  }
  int st = pg_sim_main("demo", scenario, PG_SIM_FULL, out, state, quiet, NULL, -1, 0);
  if (made) pg_remove_tree(tmp);
  return st;
}
