/* p2pgrid grid enrol | quarantine — the operator's commands on a grid's
 * database (they work while the grid runs: SQLite serialises the writers).
 * enrol lets a producer or consumer in: its certificate (verified against
 * the community CA) goes into the grid's enrolment table, the only way to
 * register at the grid. quarantine lists, releases or rejects the readings
 * the grid would not settle as they were. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "p2pgrid/file.h"
#include "p2pgrid/grid.h"

void pg_cmd_grid_enrol_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid grid enrol --config GRID.ini --member FILE.crt [--address ADDR]\n"
          "\n"
          "Enrols a producer or consumer at the grid: its certificate (made by\n"
          "`p2pgrid ca issue` or `ca sign`) must verify against the community CA of the\n"
          "grid's [tls] ca (and not be revoked in [tls] crl); the grid then accepts\n"
          "registrations under the certificate's id from that certificate only. Run it\n"
          "again with a new certificate to renew one. Works while the grid runs.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE     the grid's INI file ([grid] id, data_dir; [tls] ca, crl)\n"
          "  -m, --member FILE     the member's certificate (PEM or DER)\n"
          "  -a, --address ADDR    a producer's payment address (bech32); otherwise the\n"
          "                        address of its first registration is kept\n"
          "  -h, --help            this help\n"
          "\n"
          "Exit status: 0 enrolled, 1 refused or failed, 2 bad usage.\n");
}

/* [grid] id and data_dir (./data/ID when not set) into dd. */
static int grid_dir(const char *cmd, pg_config *cfg, const char **id, char *dd, size_t cap) {
  pg_diag d = {{0}};
  const char *data_dir = NULL;
  if (pg_config_require(cfg, "grid", "id", &d) || pg_config_get_str(cfg, "grid", "id", NULL, id, &d) ||
      pg_config_get_str(cfg, "grid", "data_dir", NULL, &data_dir, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  if (data_dir) snprintf(dd, cap, "%s", data_dir);
  else snprintf(dd, cap, "./data/%s", *id);
  return PG_EXIT_OK;
}

static int enrol(const char *cmd, pg_config *cfg, const char *member, const char *address) {
  pg_diag d = {{0}};
  const char *id = NULL, *ca = NULL, *crl = NULL;
  char dd[600];
  int st = grid_dir(cmd, cfg, &id, dd, sizeof dd);
  if (st != PG_EXIT_OK) return st;
  const char *data_dir = dd;
  if (pg_config_require(cfg, "tls", "ca", &d) ||
      pg_config_get_str(cfg, "tls", "ca", NULL, &ca, &d) ||
      pg_config_get_str(cfg, "tls", "crl", NULL, &crl, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  pg_tls_trust *trust = NULL;
  uint8_t *cert = NULL;
  size_t len = 0;
  pg_member m;
  int status = PG_EXIT_FAIL;
  if (pg_tls_trust_open(ca, crl, &trust, &d) || pg_read_file_capped(member, 64 * 1024, &cert, &len, &d))
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
  else if (pg_grid_enrol(data_dir, trust, cert, len, address, &m, &d))
    fprintf(stderr, "p2pgrid %s: %s: %s\n", cmd, member, d.msg);
  else {
    char fp[65];
    pg_member_fingerprint_hex(&m, fp);
    printf("enrolled %s '%s' at grid '%s' (certificate %.16s..., %s%s)\n", pg_role_name(m.role),
           m.id, id, fp, address ? "paid to " : "", address ? address : "no payment address yet");
    status = PG_EXIT_OK;
  }
  free(cert);
  pg_tls_trust_free(trust);
  return status;
}

int pg_cmd_grid_enrol(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"member", required_argument, NULL, 'm'},
      {"address", required_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *cmd = "grid enrol", *config = NULL, *member = NULL, *address = NULL;
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, ":c:m:a:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c': config = optarg; break;
    case 'm': member = optarg; break;
    case 'a': address = optarg; break;
    case 'h': pg_cmd_grid_enrol_usage(stdout); return PG_EXIT_OK;
    case ':':
      fprintf(stderr, "p2pgrid %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
      return PG_EXIT_USAGE;
    default:
      fprintf(stderr, "p2pgrid %s: unknown option '%s'\n\n", cmd, argv[optind - 1]);
      pg_cmd_grid_enrol_usage(stderr);
      return PG_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid %s: unexpected argument '%s'\n", cmd, argv[optind]);
    return PG_EXIT_USAGE;
  }
  if (!config || !member) {
    fprintf(stderr, "p2pgrid %s: --config GRID.ini and --member FILE.crt are required\n", cmd);
    return PG_EXIT_USAGE;
  }
  pg_config *cfg = NULL;
  pg_app_overrides ov = {0};
  int status = pg_app_config_load(cmd, config, &ov, &cfg);
  if (status == PG_EXIT_OK) status = enrol(cmd, cfg, member, address);
  pg_config_free(cfg);
  return status;
}

/* ---- p2pgrid grid quarantine ---- */

void pg_cmd_grid_quarantine_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid grid quarantine --config GRID.ini list [--all] [--json]\n"
          "       p2pgrid grid quarantine --config GRID.ini release|reject ID\n"
          "\n"
          "The readings the grid did not settle as they came: above the member's enrolled\n"
          "capacity, for a slot outside [now - late_window, now + one slot], priced out of\n"
          "the market's range, or whose bill or payout could not be booked. Each is held\n"
          "with its reason. `release` settles it with the next slot (as a late reading);\n"
          "`reject` keeps it out for good. Both are final and counted.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE   the grid's INI file ([grid] id, data_dir)\n"
          "      --all           list decided readings too\n"
          "      --json          JSON instead of a table\n"
          "  -h, --help          this help\n"
          "\n"
          "Exit status: 0 ok, 1 failed (e.g. no such held reading), 2 bad usage.\n");
}

static void print_quarantine(json_t *arr) {
  printf("%-6s %-20s %-6s %-12s %14s  %-9s %s\n", "ID", "MEMBER", "KIND", "SLOT", "kWh", "STATE",
         "REASON");
  size_t i;
  json_t *r;
  json_array_foreach(arr, i, r) {
    double kwh = (double)json_integer_value(json_object_get(r, "wh")) / 1000.0;
    printf("%-6lld %-20s %-6s %-12lld %14.3f  %-9s %s\n",
           (long long)json_integer_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "member")),
           json_string_value(json_object_get(r, "kind")),
           (long long)json_integer_value(json_object_get(r, "slot")), kwh,
           json_string_value(json_object_get(r, "state")),
           json_string_value(json_object_get(r, "reason")));
  }
  if (json_array_size(arr) == 0) printf("(nothing held)\n");
}

int pg_cmd_grid_quarantine(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
      {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
  };
  const char *cmd = "grid quarantine", *config = NULL;
  bool all = false, as_json = false;
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c': config = optarg; break;
    case 'a': all = true; break;
    case 'j': as_json = true; break;
    case 'h': pg_cmd_grid_quarantine_usage(stdout); return PG_EXIT_OK;
    default:
      fprintf(stderr, "p2pgrid %s: unknown option or missing value '%s'\n\n", cmd, argv[optind - 1]);
      pg_cmd_grid_quarantine_usage(stderr);
      return PG_EXIT_USAGE;
    }
  }
  const char *action = optind < argc ? argv[optind] : NULL;
  bool list = action && strcmp(action, "list") == 0;
  bool decide = action && (strcmp(action, "release") == 0 || strcmp(action, "reject") == 0);
  char *end = NULL;
  long long id = decide && optind + 1 < argc ? strtoll(argv[optind + 1], &end, 10) : 0;
  if (!config || (!list && !decide) || (list && optind + 1 != argc) ||
      (decide && (optind + 2 != argc || !end || *end || id <= 0))) {
    fprintf(stderr, "p2pgrid %s: want --config GRID.ini and one of: list, release ID, reject ID\n", cmd);
    return PG_EXIT_USAGE;
  }
  pg_config *cfg = NULL;
  pg_app_overrides ov = {0};
  int status = pg_app_config_load(cmd, config, &ov, &cfg);
  const char *gid = NULL;
  char dd[600];
  if (status == PG_EXIT_OK) status = grid_dir(cmd, cfg, &gid, dd, sizeof dd);
  if (status == PG_EXIT_OK) {
    pg_diag d = {{0}};
    json_t *arr = NULL;
    if (pg_grid_quarantine(dd, action, list ? (all ? 1 : 0) : id, &arr, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      status = PG_EXIT_FAIL;
    } else if (list && as_json) {
      char *t = json_dumps(arr, JSON_INDENT(2));
      printf("%s\n", t ? t : "[]");
      free(t);
    } else if (list) {
      print_quarantine(arr);
    } else {
      printf("reading %lld %s\n", id, strcmp(action, "release") == 0
                                       ? "released: it is settled with the next slot"
                                       : "rejected: it will not be settled");
    }
    json_decref(arr);
  }
  pg_config_free(cfg);
  return status;
}
