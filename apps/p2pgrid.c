/* p2pgrid — one binary, many subcommands. Adding a command: write
 * apps/cmd_<name>.c with run/usage functions, declare them in app.h, and add
 * one line to `commands` below. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "p2pgrid/base/version.h"

static int cmd_version(int argc, char **argv);
static void cmd_version_usage(FILE *f);
static int cmd_help(int argc, char **argv);
static void cmd_help_usage(FILE *f);

static const pg_app_cmd commands[] = {
    {"node", "run a Chrysalis node (REST API v1, optional coordinator)", pg_cmd_node,
     pg_cmd_node_usage},
    {"demo", "simulate a day of a small community grid on an in-process Tangle", pg_cmd_demo,
     pg_cmd_demo_usage},
    {"sim", "simulate a community grid scenario (full on a Tangle, or market-only)", pg_cmd_sim,
     pg_cmd_sim_usage},
    {"wallet", "seeds, addresses, balances and transfers against any node", pg_cmd_wallet,
     pg_cmd_wallet_usage},
    {"mam", "publish and read MAM channels (mam.js 1.6.3) on a node", pg_cmd_mam, pg_cmd_mam_usage},
    {"grid", "run the grid operator: registrations, settlement, billing, payouts", pg_cmd_entity,
     pg_cmd_grid_usage},
    {"producer", "run a producer: aggregates its sources, reports to the grid", pg_cmd_entity,
     pg_cmd_producer_usage},
    {"source", "run an energy source: one output reading per slot (profile, CSV, MQTT)",
     pg_cmd_entity, pg_cmd_source_usage},
    {"consumer", "run a consumer: reports usage, pays the grid's requests", pg_cmd_entity,
     pg_cmd_consumer_usage},
    {"ca", "the community CA: member certificates, requests, revocation", pg_cmd_ca,
     pg_cmd_ca_usage},
    {"audit", "re-derive the grid's settlements, bills and payouts from the Tangle alone",
     pg_cmd_audit, pg_cmd_audit_usage},
    {"invoice", "monthly invoices of the members (HTML, PDF, per-slot CSV)", pg_cmd_invoice,
     pg_cmd_invoice_usage},
    {"market", "settle one slot with a market mechanism (no node needed)", pg_cmd_market,
     pg_cmd_market_usage},
    {"dso", "import, show and reconcile the grid operator's 15-minute values", pg_cmd_dso,
     pg_cmd_dso_usage},
    {"backup", "a one-file backup of a daemon's data directory, taken while it runs",
     pg_cmd_backup, pg_cmd_backup_usage},
    {"restore", "restore a backup into a data directory (checked, all or nothing)",
     pg_cmd_restore, pg_cmd_restore_usage},
    {"version", "print the version", cmd_version, cmd_version_usage},
    {"help", "explain a command", cmd_help, cmd_help_usage},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid <command> [options]\n"
          "\n"
          "p2pgrid %s: a peer-to-peer energy grid on a Chrysalis (IOTA) Tangle.\n"
          "\n"
          "commands:\n",
          pg_version());
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "'p2pgrid help <command>' or 'p2pgrid <command> --help' explains a command.\n"
          "Exit status: 0 ok, 1 failure, 2 bad usage or configuration.\n");
}

static const pg_app_cmd *find(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static bool is_help(const char *a) {
  return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

static int cmd_version(int argc, char **argv) {
  if (argc > 1 && is_help(argv[1])) {
    cmd_version_usage(stdout);
    return PG_EXIT_OK;
  }
  if (argc > 1) {
    fprintf(stderr, "p2pgrid version: unexpected argument '%s'\n", argv[1]);
    return PG_EXIT_USAGE;
  }
  printf("p2pgrid %s\n", pg_version());
  return PG_EXIT_OK;
}

static void cmd_version_usage(FILE *f) {
  fprintf(f, "usage: p2pgrid version\n\nPrints the p2pgrid version.\n");
}

static int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    usage(stdout);
    return PG_EXIT_OK;
  }
  if (is_help(argv[1])) {
    cmd_help_usage(stdout);
    return PG_EXIT_OK;
  }
  const pg_app_cmd *c = find(argv[1]);
  if (!c) {
    fprintf(stderr, "p2pgrid help: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return PG_EXIT_USAGE;
  }
  c->usage(stdout);
  return PG_EXIT_OK;
}

static void cmd_help_usage(FILE *f) {
  fprintf(f, "usage: p2pgrid help [<command>]\n\nLists the commands, or explains one.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return PG_EXIT_USAGE;
  }
  if (is_help(argv[1])) {
    usage(stdout);
    return PG_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
    return cmd_version(1, argv + 1);
  const pg_app_cmd *c = find(argv[1]);
  if (!c) {
    fprintf(stderr, "p2pgrid: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return PG_EXIT_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
