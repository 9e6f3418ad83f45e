/* p2pgrid dso — the grid operator's 15-minute values: import CSV files into a
 * database, show what is there, reconcile them with our own meters' readings
 * (a grid database or a simulator output directory). Thin: include/p2pgrid/meter/dso.h
 * does the work. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/meter/dso.h"
#include "p2pgrid/base/file.h"

static void usage_import(FILE *f) {
  fprintf(f,
          "usage: p2pgrid dso import --db FILE [--allow-gaps] CSV...\n"
          "\n"
          "Imports the grid operator's 15-minute values (one line per metering point and\n"
          "quarter hour: metering_point,start,consumption_kwh,generation_kwh,allocated_kwh;\n"
          "_wh columns, EDA meter codes as column names, ';' and a decimal comma are read\n"
          "too; docs/CONFIG.md \"Grid-operator data\") into the database FILE (created when\n"
          "missing), all files in one transaction: a malformed line, a period given twice,\n"
          "a value that differs from one imported before or a missing quarter hour inside\n"
          "a metering point's range stops the import with the file and line, and nothing\n"
          "is stored. Importing a file again changes nothing.\n"
          "\n"
          "options:\n"
          "  --db FILE      the database (SQLite)\n"
          "  --allow-gaps   import even when quarter hours are missing, and list them\n");
}

static void usage_show(FILE *f) {
  fprintf(f,
          "usage: p2pgrid dso show --db FILE [--point P]\n"
          "\n"
          "Prints per metering point the quarter hours stored, the first and last one,\n"
          "the sums of consumption, generation and allocated energy and the quarter\n"
          "hours missing, then every gap.\n");
}

static void usage_reconcile(FILE *f) {
  fprintf(f,
          "usage: p2pgrid dso reconcile --db FILE (--grid-db FILE | --sim-out DIR)\n"
          "                             (--map FILE | --member ID=POINT[:QUANTITY]...)\n"
          "                             [--tolerance-wh N] --out FILE.csv\n"
          "\n"
          "Compares the grid operator's energy of each mapped member and slot with our\n"
          "own meters' readings: the readings table of a grid daemon's database, or the\n"
          "per-slot energies (party_slots.csv) of a simulator output directory. Slots run\n"
          "from the first to the last slot of our readings; a slot's grid-operator value\n"
          "is the sum of its quarter hours. Writes every slot that differs to FILE.csv\n"
          "(member,metering_point,quantity,slot,start,dso_wh,our_wh,diff_wh,\n"
          "beyond_tolerance; a missing value is empty) and prints a summary.\n"
          "\n"
          "options:\n"
          "  --db FILE            the imported values (p2pgrid dso import)\n"
          "  --grid-db FILE       the grid daemon's grid.db (its slot length is read there)\n"
          "  --sim-out DIR        a simulator output directory (summary.json, party_slots.csv)\n"
          "  --map FILE           CSV member,metering_point[,quantity] (quantity:\n"
          "                       consumption (default), generation or allocated)\n"
          "  --member ID=POINT[:QUANTITY]  one mapping (repeatable; with or without --map)\n"
          "  --tolerance-wh N     differences of at most N Wh are not counted (default 0)\n"
          "  --out FILE.csv       the report of differences\n"
          "\n"
          "Exit status 1 when a slot differs by more than the tolerance or one side has\n"
          "no value for it.\n");
}

void pg_cmd_dso_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid dso import|show|reconcile [options]\n"
          "\n"
          "The grid operator's official 15-minute values per metering point (as the\n"
          "Austrian EDA sends them to an energy community): import them, look at them,\n"
          "and reconcile them with our own meters. Settle from them with meters of\n"
          "kind = dso (file, point, quantity) in a scenario or an entity's [meter].\n"
          "\n");
  usage_import(f);
  fputc('\n', f);
  usage_show(f);
  fputc('\n', f);
  usage_reconcile(f);
}

static void kwh(int64_t wh, char *buf, size_t cap) {
  snprintf(buf, cap, "%lld.%03lld", (long long)(wh / 1000), (long long)(wh % 1000));
}

static void print_gaps(const pg_dso_gap *g, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char a[32], b[32];
    pg_iso8601_utc(g[i].from_ms, a, sizeof a);
    pg_iso8601_utc(g[i].to_ms, b, sizeof b);
    printf("gap: %s %s .. %s (%lld quarter hours missing)\n", g[i].point, a, b,
           (long long)((g[i].to_ms - g[i].from_ms) / PG_DSO_PERIOD_MS));
  }
}

static int do_import(const char *db_path, bool allow_gaps, char **files, int n) {
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  if (pg_dso_db_open(db_path, true, &db, &d)) {
    fprintf(stderr, "p2pgrid dso import: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  pg_dso_import_result r;
  int rc = pg_dso_import(db, (const char *const *)files, (size_t)n, allow_gaps, &r, &d);
  sqlite3_close(db);
  if (rc) {
    fprintf(stderr, "p2pgrid dso import: %s; nothing imported\n", d.msg);
    return PG_EXIT_FAIL;
  }
  printf("imported %zu file%s: %zu lines, %zu new quarter hours, %zu already there\n", r.files,
         r.files == 1 ? "" : "s", r.rows, r.added, r.unchanged);
  print_gaps(r.gaps, r.n_gaps);
  pg_dso_import_result_free(&r);
  return PG_EXIT_OK;
}

static int do_show(const char *db_path, const char *point) {
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  pg_dso_point_info *pi = NULL;
  pg_dso_gap *g = NULL;
  size_t n = 0, ng = 0;
  int status = PG_EXIT_FAIL;
  if (pg_dso_db_open(db_path, false, &db, &d) || pg_dso_points(db, point, &pi, &n, &d) ||
      pg_dso_gaps(db, point, &g, &ng, &d)) {
    fprintf(stderr, "p2pgrid dso show: %s\n", d.msg);
    goto out;
  }
  printf("%-34s %8s %-20s %-20s %14s %14s %14s %8s\n", "metering point", "periods", "first",
         "last", "consumed kWh", "generated kWh", "allocated kWh", "missing");
  for (size_t i = 0; i < n; i++) {
    char a[32], b[32], c[32], e[32], f[32];
    pg_iso8601_utc(pi[i].first_ms, a, sizeof a);
    pg_iso8601_utc(pi[i].last_ms, b, sizeof b);
    kwh(pi[i].sum_wh[0], c, sizeof c);
    kwh(pi[i].sum_wh[1], e, sizeof e);
    kwh(pi[i].sum_wh[2], f, sizeof f);
    printf("%-34s %8lld %-20s %-20s %14s %14s %14s %8lld\n", pi[i].point, (long long)pi[i].periods,
           a, b, c, e, f, (long long)pi[i].missing);
  }
  print_gaps(g, ng);
  status = PG_EXIT_OK;
out:
  free(pi);
  free(g);
  if (db) sqlite3_close(db);
  return status;
}

typedef struct reconcile_args {
  const char *db, *grid_db, *sim_out, *map, *out;
  char **members;
  size_t n_members;
  int64_t tolerance;
} reconcile_args;

static int load_map(const reconcile_args *a, pg_dso_member **m, size_t *n, pg_diag *d) {
  int rc = PG_OK;
  *m = NULL;
  *n = 0;
  if (a->map) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc = pg_read_file_capped(a->map, 4u << 20, &buf, &len, d))) return rc;
    rc = pg_dso_map_parse(buf, len, a->map, m, n, d);
    free(buf);
    if (rc) return rc;
  }
  pg_dso_member *x = realloc(*m, (*n + a->n_members + 1) * sizeof *x);
  if (!x) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  *m = x;
  for (size_t i = 0; i < a->n_members && !rc; i++) {
    rc = pg_dso_map_entry(a->members[i], &x[*n], d);
    for (size_t k = 0; !rc && k < *n; k++)
      if (strcmp(x[k].id, x[*n].id) == 0)
        rc = pg_fail(d, PG_ERR_INVALID, "member %s is mapped twice", x[k].id);
    if (!rc) (*n)++;
  }
  return rc;
}

static int do_reconcile(const reconcile_args *a) {
  pg_diag d = {{0}};
  sqlite3 *db = NULL;
  pg_dso_member *map = NULL;
  pg_dso_ours *ours = NULL;
  size_t nmap = 0, n = 0;
  uint64_t slot_ms = 0;
  pg_buf csv;
  pg_buf_init(&csv, (size_t)1 << 30);
  pg_dso_reconcile_result r;
  int status = PG_EXIT_FAIL, rc = load_map(a, &map, &nmap, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid dso reconcile: %s\n", d.msg);
    status = PG_EXIT_USAGE;
    goto out;
  }
  if (!rc) rc = pg_dso_db_open(a->db, false, &db, &d);
  if (!rc) rc = a->grid_db ? pg_dso_ours_from_grid(a->grid_db, &ours, &n, &slot_ms, &d)
                           : pg_dso_ours_from_sim(a->sim_out, &ours, &n, &slot_ms, &d);
  if (!rc) rc = pg_dso_reconcile(db, map, nmap, slot_ms, ours, n, a->tolerance, &csv, &r, &d);
  if (!rc) rc = pg_write_file_atomic(a->out, csv.data, csv.len, false, true, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid dso reconcile: %s\n", d.msg);
    goto out;
  }
  char iso[32] = "-";
  if (r.largest_member[0]) pg_iso8601_utc(r.largest_slot * (int64_t)slot_ms, iso, sizeof iso);
  printf("members: %zu\nslots compared: %zu\ndiffering slots: %zu (beyond %lld Wh; %zu with a "
         "value missing on one side)\nlargest difference: %lld Wh (%s, slot %lld, %s)\nreport: %s\n",
         r.members, r.slots, r.differing, (long long)a->tolerance, r.missing,
         (long long)r.largest_wh, r.largest_member[0] ? r.largest_member : "-",
         (long long)r.largest_slot, iso, a->out);
  status = r.differing ? PG_EXIT_FAIL : PG_EXIT_OK;
out:
  pg_buf_free(&csv);
  free(map);
  free(ours);
  if (db) sqlite3_close(db);
  return status;
}

static int usage_error(void (*u)(FILE *), const char *msg) {
  fprintf(stderr, "p2pgrid dso: %s\n\n", msg);
  u(stderr);
  return PG_EXIT_USAGE;
}

/* The actions of `p2pgrid dso`, by their help (the options are shared). */
static const struct {
  const char *name;
  void (*usage)(FILE *f);
} actions[] = {{"import", usage_import}, {"show", usage_show}, {"reconcile", usage_reconcile}};

int pg_cmd_dso(int argc, char **argv) {
  enum { O_DB = 256, O_GAPS, O_POINT, O_GRID_DB, O_SIM, O_MAP, O_MEMBER, O_TOL, O_OUT };
  static const struct option opts[] = {
      {"db", required_argument, 0, O_DB},         {"allow-gaps", no_argument, 0, O_GAPS},
      {"point", required_argument, 0, O_POINT},   {"grid-db", required_argument, 0, O_GRID_DB},
      {"sim-out", required_argument, 0, O_SIM},   {"map", required_argument, 0, O_MAP},
      {"member", required_argument, 0, O_MEMBER}, {"tolerance-wh", required_argument, 0, O_TOL},
      {"out", required_argument, 0, O_OUT},       {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  reconcile_args ra = {0};
  const char *point = NULL, *action = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
  bool allow_gaps = false, help = false;
  char *members[256];
  void (*u)(FILE *) = action ? NULL : pg_cmd_dso_usage;
  for (size_t i = 0; action && i < sizeof actions / sizeof actions[0]; i++)
    if (strcmp(action, actions[i].name) == 0) u = actions[i].usage;
  if (action && !u) return usage_error(pg_cmd_dso_usage, "unknown action (import, show, reconcile)");
  optind = action ? 2 : 1;
  int c;
  pg_app_opts os = {.cmd = "dso", .longopts = opts, .repeatable = (const int[]){O_MEMBER, 0}};
  while ((c = pg_app_getopt(&os, argc, argv, "h")) != -1) {
    switch (c) {
    case O_DB: ra.db = optarg; break;
    case O_GAPS: allow_gaps = true; break;
    case O_POINT: point = optarg; break;
    case O_GRID_DB: ra.grid_db = optarg; break;
    case O_SIM: ra.sim_out = optarg; break;
    case O_MAP: ra.map = optarg; break;
    case O_MEMBER:
      if (ra.n_members == sizeof members / sizeof members[0])
        return usage_error(u, "too many --member options (use --map)");
      members[ra.n_members++] = optarg;
      break;
    case O_TOL: {
      pg_csv_field f = {optarg, strlen(optarg)};
      if (pg_csv_decimal_fixed(f, '.', 0, PG_DSO_MAX_WH, &ra.tolerance) != PG_CSV_DEC_OK)
        return usage_error(u, "--tolerance-wh wants a whole number of Wh");
      break;
    }
    case O_OUT: ra.out = optarg; break;
    case 'h': help = true; break;
    default: return PG_EXIT_USAGE;
    }
  }
  ra.members = members;
  if (help) {
    u(stdout);
    return PG_EXIT_OK;
  }
  if (!action) return usage_error(u, "which action? (import, show, reconcile)");
  if (!ra.db) return usage_error(u, "--db is required");
  if (u == usage_import) {
    if (optind >= argc) return usage_error(u, "which CSV files?");
    return do_import(ra.db, allow_gaps, argv + optind, argc - optind);
  }
  if (optind < argc) return usage_error(u, "unexpected argument");
  if (u == usage_show) return do_show(ra.db, point);
  if (!ra.grid_db == !ra.sim_out) return usage_error(u, "give one of --grid-db and --sim-out");
  if (!ra.map && !ra.n_members) return usage_error(u, "give --map or --member");
  if (!ra.out) return usage_error(u, "--out is required");
  return do_reconcile(&ra);
}
