/* p2pgrid market — settle one slot from a slot JSON file with a chosen
 * mechanism and print the settlement (table or --json). Thin: reading the
 * file and printing around include/p2pgrid/market/market.h. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/market/market.h"
#include "p2pgrid/base/resource.h"

#define MAX_INPUT ((size_t)256 << 20)

void pg_cmd_market_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid market settle --mechanism M --input SLOT.json [--json] [--money SPEC]\n"
          "                              [--resource NAME]\n"
          "\n"
          "Settles one time slot of the community grid: energy from and to the community\n"
          "and the utility, what each consumer owes and each producer earns (integer\n"
          "token units), the grid's fee income and the utility's share, and every\n"
          "participant's savings against buying everything at the import price and\n"
          "selling everything at the export price.\n"
          "\n"
          "options:\n"
          "  --mechanism M   fixed | pay-as-clear | pay-as-bid | mmr | sdr (trading), or\n"
          "                  static-key | dynamic-key | hierarchical (energy-community\n"
          "                  sharing: generation allocated by keys, allocated energy paid\n"
          "                  at communityPrice or the producer's ask; the residual import\n"
          "                  and the surplus are reported in 'utility Wh', not billed)\n"
          "  --input FILE    the slot as JSON ('-' reads standard input); see\n"
          "                  examples/slot.json and include/p2pgrid/market/market.h\n"
          "  --json          print the settlement as JSON instead of a table (amounts\n"
          "                  always in base units)\n"
          "  --resource NAME what the slot's quantities count: electricity (default, Wh,\n"
          "                  prices per kWh), heat (Wh), water or gas (L, prices per m3);\n"
          "                  the table's units (the JSON keeps its *Wh names)\n"
          PG_APP_MONEY_HELP
          "\n"
          "example:\n"
          "  p2pgrid market settle --mechanism sdr --input examples/slot.json\n"
          "  p2pgrid market settle --mechanism hierarchical --input examples/slot-sharing.json\n");
}

static int read_input(const char *path, char **out, size_t *out_len) {
  pg_diag d = {{0}};
  uint8_t *buf = NULL;
  int rc = strcmp(path, "-") == 0
               ? pg_read_fd_capped(STDIN_FILENO, "stdin", MAX_INPUT, &buf, out_len, &d)
               : pg_read_file_capped(path, MAX_INPUT, &buf, out_len, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid market: %s\n", d.msg);
    return -1;
  }
  *out = (char *)buf;
  return 0;
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

/* How the table reads: money and the resource's units. */
typedef struct show {
  const pg_money *m;
  const pg_resource *r;
} show;

/* A price per price unit in the currency (a decimal price rounded to a whole base unit). */
static const char *price(const show *sh, double v, char *b, size_t cap) {
  (void)pg_money_format_price_per(sh->m, v > 0 ? (uint64_t)llround(v) : 0, sh->r->price_unit, b,
                                  cap);
  return b;
}

/* One party's row: quantities in base units, money in the currency. */
static void party_row(const pg_money *m, const char *role, const char *id, int64_t wh,
                      const pg_market_party *p) {
  const int64_t v[5] = {p->amount, p->fee, p->total, p->baseline, p->savings};
  char b[5][PG_MONEY_FMT_MAX];
  for (int k = 0; k < 5; k++) (void)pg_money_format(m, v[k], b[k], sizeof b[k]);
  printf("%-8s %-16s %12lld %12lld %12lld %16s %14s %16s %16s %16s\n", role, or_dash(id),
         (long long)wh, (long long)p->community_wh, (long long)p->utility_wh, b[0], b[1], b[2], b[3],
         b[4]);
}

static void print_table(const pg_market_slot *s, const pg_market_result *r, const show *sh) {
  const pg_money *m = sh->m;
  const char *u = sh->r->unit;
  char p1[PG_MONEY_FMT_MAX], p2[PG_MONEY_FMT_MAX], p3[PG_MONEY_FMT_MAX], p4[PG_MONEY_FMT_MAX];
  printf("mechanism %s: supply %lld %s, demand %lld %s, community %lld %s, import %lld %s, "
         "export %lld %s\n",
         pg_market_mech_name(r->mech), (long long)r->supply_wh, u, (long long)r->demand_wh, u,
         (long long)r->matched_wh, u, (long long)r->import_wh, u, (long long)r->export_wh, u);
  if (pg_market_mech_is_sharing(r->mech))
    printf("sharing: allocated %lld %s, residual import %lld %s and surplus %lld %s are the "
           "members' business with their suppliers (not billed here)\n",
           (long long)r->matched_wh, u, (long long)r->import_wh, u, (long long)r->export_wh, u);
  price(sh, (double)s->import_price, p3, sizeof p3);
  price(sh, (double)s->export_price, p4, sizeof p4);
  if (r->has_price)
    printf("prices: buy %s, sell %s (import %s, export %s)\n",
           price(sh, r->buy_price, p1, sizeof p1), price(sh, r->sell_price, p2, sizeof p2), p3, p4);
  else
    printf("prices: no community match (import %s, export %s)\n", p3, p4);
  char h[3][128];
  const char *noun = pg_resource_is_electricity(sh->r) ? "energy" : sh->r->name;
  snprintf(h[0], sizeof h[0], "%.20s %s", noun, u);
  snprintf(h[1], sizeof h[1], "community %s", u);
  snprintf(h[2], sizeof h[2], "utility %s", u);
  printf("\n%-8s %-16s %12s %12s %12s %16s %14s %16s %16s %16s\n", "role", "id", h[0], h[1],
         h[2], pg_resource_is_electricity(sh->r) ? "energy" : "charge", "fee", "total", "baseline",
         "savings");
  for (size_t i = 0; i < r->n_consumers; i++)
    party_row(m, "consumer", s->consumers[i].id, s->consumers[i].usage_wh, &r->consumers[i]);
  for (size_t j = 0; j < r->n_producers; j++)
    party_row(m, "producer", s->producers[j].id, s->producers[j].output_wh, &r->producers[j]);
  const int64_t t[6] = {r->consumer_payments, r->producer_revenues, r->grid_income,
                        r->fees,              r->utility_import_cost, r->utility_export_income};
  char b[6][PG_MONEY_FMT_MAX];
  for (int k = 0; k < 6; k++) (void)pg_money_format(m, t[k], b[k], sizeof b[k]);
  printf("\nconsumers pay %s = producers earn %s + grid income %s (fees %s) + utility "
         "import cost %s - utility export income %s\n",
         b[0], b[1], b[2], b[3], b[4], b[5]);
}

static json_t *party_json(const char *id, int64_t wh, const pg_market_party *p) {
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "id", id ? json_string(id) : json_null());
  json_object_set_new(o, "energyWh", json_integer(wh));
  json_object_set_new(o, "communityWh", json_integer(p->community_wh));
  json_object_set_new(o, "utilityWh", json_integer(p->utility_wh));
  json_object_set_new(o, "amount", json_integer(p->amount));
  json_object_set_new(o, "fee", json_integer(p->fee));
  json_object_set_new(o, "total", json_integer(p->total));
  json_object_set_new(o, "baseline", json_integer(p->baseline));
  json_object_set_new(o, "savings", json_integer(p->savings));
  return o;
}

static int print_json(const pg_market_slot *s, const pg_market_result *r) {
  json_t *o = json_object(), *cs = json_array(), *ps = json_array();
  int rc = -1;
  if (!o || !cs || !ps) goto out;
  json_object_set_new(o, "mechanism", json_string(pg_market_mech_name(r->mech)));
  json_object_set_new(o, "supplyWh", json_integer(r->supply_wh));
  json_object_set_new(o, "demandWh", json_integer(r->demand_wh));
  json_object_set_new(o, "communityWh", json_integer(r->matched_wh));
  json_object_set_new(o, "importWh", json_integer(r->import_wh));
  json_object_set_new(o, "exportWh", json_integer(r->export_wh));
  json_object_set_new(o, "buyPricePerKwh", r->has_price ? json_real(r->buy_price) : json_null());
  json_object_set_new(o, "sellPricePerKwh", r->has_price ? json_real(r->sell_price) : json_null());
  json_object_set_new(o, "consumerPayments", json_integer(r->consumer_payments));
  json_object_set_new(o, "producerRevenues", json_integer(r->producer_revenues));
  json_object_set_new(o, "fees", json_integer(r->fees));
  json_object_set_new(o, "gridIncome", json_integer(r->grid_income));
  json_object_set_new(o, "utilityImportCost", json_integer(r->utility_import_cost));
  json_object_set_new(o, "utilityExportIncome", json_integer(r->utility_export_income));
  for (size_t i = 0; i < r->n_consumers; i++)
    json_array_append_new(cs, party_json(s->consumers[i].id, s->consumers[i].usage_wh,
                                         &r->consumers[i]));
  for (size_t j = 0; j < r->n_producers; j++)
    json_array_append_new(ps, party_json(s->producers[j].id, s->producers[j].output_wh,
                                         &r->producers[j]));
  json_object_set(o, "consumers", cs);
  json_object_set(o, "producers", ps);
  if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0) {
    putchar('\n');
    rc = 0;
  }
out:
  json_decref(cs);
  json_decref(ps);
  json_decref(o);
  return rc;
}

int pg_cmd_market(int argc, char **argv) {
  enum { O_MECH = 256, O_INPUT, O_JSON, O_MONEY, O_RESOURCE };
  static const struct option opts[] = {{"mechanism", required_argument, 0, O_MECH},
                                       {"input", required_argument, 0, O_INPUT},
                                       {"json", no_argument, 0, O_JSON},
                                       {"money", required_argument, 0, O_MONEY},
                                       {"resource", required_argument, 0, O_RESOURCE},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *mech_s = NULL, *input = NULL, *money_spec = NULL, *resource_s = NULL;
  bool json = false;
  optind = 1;
  int c;
  pg_app_opts os = {.cmd = "market", .longopts = opts};
  while ((c = pg_app_getopt(&os, argc, argv, "h")) != -1) {
    switch (c) {
    case O_MECH: mech_s = optarg; break;
    case O_INPUT: input = optarg; break;
    case O_JSON: json = true; break;
    case O_MONEY: money_spec = optarg; break;
    case O_RESOURCE: resource_s = optarg; break;
    case 'h': pg_cmd_market_usage(stdout); return PG_EXIT_OK;
    default: return PG_EXIT_USAGE;
    }
  }
  if (optind >= argc || strcmp(argv[optind], "settle") != 0) {
    fprintf(stderr, optind < argc ? "p2pgrid market: unknown action '%s' (settle)\n"
                                  : "p2pgrid market: which action? (settle)%s\n",
            optind < argc ? argv[optind] : "");
    return PG_EXIT_USAGE;
  }
  if (optind + 1 < argc) {
    fprintf(stderr, "p2pgrid market: unexpected argument '%s'\n", argv[optind + 1]);
    return PG_EXIT_USAGE;
  }
  if (!mech_s || !input) {
    fprintf(stderr, "p2pgrid market settle: --mechanism and --input are required\n");
    return PG_EXIT_USAGE;
  }
  pg_money money;
  int ms = pg_app_money("market", money_spec, &money);
  if (ms != PG_EXIT_OK) return ms;
  pg_resource res;
  pg_resource_default(&res);
  if (resource_s && pg_resource_preset(resource_s, &res) != PG_OK) {
    fprintf(stderr, "p2pgrid market: --resource '%s' is not electricity, heat, water or gas\n",
            resource_s);
    return PG_EXIT_USAGE;
  }
  show sh = {&money, &res};
  pg_diag d = {{0}};
  pg_market_mech mech;
  if (pg_market_mech_parse(mech_s, &mech, &d)) {
    fprintf(stderr, "p2pgrid market: %s\n", d.msg);
    return PG_EXIT_USAGE;
  }
  char *data = NULL;
  size_t len = 0;
  if (read_input(input, &data, &len)) return PG_EXIT_FAIL;
  int status = PG_EXIT_FAIL;
  pg_market_slot_json sj;
  pg_market_result r;
  memset(&r, 0, sizeof r);
  if (pg_market_slot_from_json(data, len, &sj, &d)) {
    fprintf(stderr, "p2pgrid market: %s: %s\n", input, d.msg);
    status = PG_EXIT_USAGE;
    goto out;
  }
  int rc = pg_market_settle(&sj.slot, mech, &r, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid market: %s: %s\n", input, d.msg);
    status = rc == PG_ERR_NOMEM ? PG_EXIT_FAIL : PG_EXIT_USAGE;
  } else if (json) {
    status = print_json(&sj.slot, &r) ? PG_EXIT_FAIL : PG_EXIT_OK;
  } else {
    print_table(&sj.slot, &r, &sh);
    status = PG_EXIT_OK;
  }
  pg_market_result_free(&r);
  pg_market_slot_json_free(&sj);
out:
  free(data);
  return status;
}
