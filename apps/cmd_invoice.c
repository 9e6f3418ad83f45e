/* p2pgrid invoice — monthly invoices of the members (src/invoice, invoice.h). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pgrid/base/money.h"
#include "app.h"
#include "p2pgrid/invoice/invoice.h"
#include "p2pgrid/sim/sim.h"

void pg_cmd_invoice_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid invoice --month YYYY-MM (--sim-out DIR | --grid-db FILE)\n"
          "                       --config SCENARIO.ini --out DIR [--member ID]\n"
          "\n"
          "Writes the monthly invoice of every member of a simulator run: per member\n"
          "ID-YYYY-MM.html (one self-contained page to read or print, with a chart of\n"
          "each day), ID-YYYY-MM.pdf (the same through cairo) and ID-YYYY-MM.csv (every\n"
          "slot of the month as settled, base units), and index.html listing\n"
          "them. Consumers get an invoice: the community energy and grid fees of their\n"
          "slots, the monthly membership fee, the capacity charge on the month's peak\n"
          "demand and VAT ([tariff] of the scenario); producers a credit note of their\n"
          "revenue. Every charge is rounded down (rounding never favours the grid). A\n"
          "month is the calendar month in the community's time zone ([site] tz). In a\n"
          "full-mode run the invoice lists every payment with its Tangle message id.\n"
          "\n"
          "options:\n"
          "  -m, --month YYYY-MM      the month (required)\n"
          "  -s, --sim-out DIR        output directory of `p2pgrid sim`, or\n"
          "  -g, --grid-db FILE       a grid operator's database (grid.db in its data\n"
          "                           directory; read-only): its settled slots, bills,\n"
          "                           payments and payouts with their Tangle message ids\n"
          "  -c, --config FILE        the scenario that run used: its [tariff], [site] tz,\n"
          "                           [money] and [resource] (required)\n"
          "  -o, --out DIR            where to write the invoices (required; created)\n"
          "      --member ID          only this member's documents (no index.html)\n"
          "      --set SECTION.KEY=VALUE  override a scenario setting (repeatable)\n"
          "  -q, --quiet              no progress and no summary\n"
          "  -h, --help               this help\n"
          "\n"
          "Exit status: 0 ok, 1 failure (e.g. no slot of the run in that month), 2 bad\n"
          "usage or configuration.\n");
}

static void progress(void *ctx, size_t done, size_t total, const char *member) {
  (void)ctx;
  if (isatty(2)) {
    fprintf(stderr, "\rinvoice: %zu/%zu %-20s", done, total, member);
    if (done == total) fputc('\n', stderr);
  } else if (done == total || done % 100 == 0) {
    fprintf(stderr, "invoice: %zu/%zu members\n", done, total);
  }
}

typedef struct args {
  const char *month, *sim_out, *grid_db, *config, *out, *member;
  bool quiet;
  pg_app_overrides ov;
} args;

static int parse_args(int argc, char **argv, args *a) {
  enum { OPT_MEMBER = 1000, OPT_SET };
  static const struct option longs[] = {
      {"month", required_argument, NULL, 'm'},  {"sim-out", required_argument, NULL, 's'},
      {"grid-db", required_argument, NULL, 'g'},
      {"config", required_argument, NULL, 'c'}, {"out", required_argument, NULL, 'o'},
      {"member", required_argument, NULL, OPT_MEMBER}, {"set", required_argument, NULL, OPT_SET},
      {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  optind = 1;
  int c;
  pg_app_opts os = {.cmd = "invoice", .longopts = longs,
                    .repeatable = (const int[]){OPT_SET, 0}};
  while ((c = pg_app_getopt(&os, argc, argv, "m:s:g:c:o:qh")) != -1) {
    switch (c) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 'g': a->grid_db = optarg; break;
    case 'm': a->month = optarg; break;
    case 's': a->sim_out = optarg; break;
    case 'c': a->config = optarg; break;
    case 'o': a->out = optarg; break;
    case 'q': a->quiet = true; break;
    case OPT_MEMBER: a->member = optarg; break;
    case OPT_SET:
      if (pg_app_override_add(&a->ov, optarg, "") != 0) return PG_EXIT_FAIL;
      break;
    case 'h': pg_cmd_invoice_usage(stdout); return -1;
    default: pg_cmd_invoice_usage(stderr); return PG_EXIT_USAGE;
    }
  }
  const char *missing = !a->month ? "--month" : !a->sim_out && !a->grid_db ? "--sim-out or --grid-db"
                      : !a->config ? "--config" : !a->out ? "--out" : NULL;
  if (optind < argc) {
    fprintf(stderr, "p2pgrid invoice: unexpected argument '%s'\n", argv[optind]);
    return PG_EXIT_USAGE;
  }
  if (missing) {
    fprintf(stderr, "p2pgrid invoice: %s is required (see p2pgrid invoice --help)\n", missing);
    return PG_EXIT_USAGE;
  }
  if (a->sim_out && a->grid_db) {
    fprintf(stderr, "p2pgrid invoice: give --sim-out or --grid-db, not both\n");
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

static void summary(const pg_invoice_summary *s, const pg_money *m, const char *out) {
  char t[64], b[64], mo[64], c[64];
  pg_money_format(m, s->total, t, sizeof t);
  pg_money_format(m, s->slot_bills, b, sizeof b);
  pg_money_format(m, s->monthly, mo, sizeof mo);
  pg_money_format(m, s->credits, c, sizeof c);
  printf("%zu invoices: total %s (slot bills %s + monthly items %s)\n", s->invoices, t, b, mo);
  printf("%zu credit notes: total %s\n", s->credit_notes, c);
  printf("raw: total=%" PRId64 " slot_bills=%" PRId64 " monthly=%" PRId64 " credits=%" PRId64
         " paid=%" PRId64 "\n",
         s->total, s->slot_bills, s->monthly, s->credits, s->paid);
  printf("invoices: %s/index.html\n", out);
}

int pg_cmd_invoice(int argc, char **argv) {
  args a = {0};
  int st = parse_args(argc, argv, &a);
  if (st) {
    pg_app_overrides_free(&a.ov);
    return st < 0 ? PG_EXIT_OK : st;
  }
  pg_invoice_opts o = {.sim_out = a.sim_out, .grid_db = a.grid_db, .out_dir = a.out,
                       .member = a.member};
  if (pg_invoice_month_parse(a.month, &o.year, &o.month) != PG_OK) {
    fprintf(stderr, "p2pgrid invoice: --month '%s' is not a month YYYY-MM (e.g. 2025-06)\n",
            a.month);
    pg_app_overrides_free(&a.ov);
    return PG_EXIT_USAGE;
  }
  pg_config *cfg = NULL;
  st = pg_app_config_load("invoice", a.config, &a.ov, &cfg);
  pg_app_overrides_free(&a.ov);
  if (st) return st;
  pg_scenario s;
  pg_money money;
  pg_diag d = {{0}};
  bool have_s = false;
  if (pg_scenario_from_config(cfg, &s, &d) != PG_OK ||
      !(have_s = true) || pg_money_from_config(cfg, "money", &money, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid invoice: %s\n", d.msg);
    st = PG_EXIT_USAGE;
    goto done;
  }
  if ((st = pg_app_config_unused("invoice", cfg)) != PG_EXIT_OK) goto done;
  o.slot_ms = s.slot_ms, o.tz = s.tz, o.tariff = s.tariff, o.money = &money;
  o.resource = s.resource;
  o.community = s.name;
  if (!a.quiet) o.progress = progress;
  pg_invoice_summary sum;
  if (pg_invoice_run_sim(&o, &sum, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid invoice: %s\n", d.msg);
    st = PG_EXIT_FAIL;
    goto done;
  }
  if (!a.quiet) summary(&sum, &money, a.out);
  st = PG_EXIT_OK;
done:
  if (have_s) pg_scenario_free(&s);
  pg_config_free(cfg);
  return st;
}
