/* p2pgrid grid enrol | quarantine | audit-export, and p2pgrid consumer|producer
 * audit-keys — the operator's (and members') commands on a database
 * database (they work while the grid runs: SQLite serialises the writers).
 * enrol lets a producer or consumer in: its certificate (verified against
 * the community CA) goes into the grid's enrolment table, the only way to
 * register at the grid. quarantine lists, releases or rejects the readings
 * the grid would not settle as they were. audit-export writes the grid's
 * claim for `p2pgrid audit`; audit-keys a member's keys to its own record. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/grid/grid.h"

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

/* [section] id and data_dir (./data/ID when not set) into dd. */
static int section_dir(const char *cmd, pg_config *cfg, const char *sec, const char **id, char *dd,
                       size_t cap) {
  pg_diag d = {{0}};
  const char *data_dir = NULL;
  if (pg_config_require(cfg, sec, "id", &d) || pg_config_get_str(cfg, sec, "id", NULL, id, &d) ||
      pg_config_get_str(cfg, sec, "data_dir", NULL, &data_dir, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  if (data_dir) snprintf(dd, cap, "%s", data_dir);
  else snprintf(dd, cap, "./data/%s", *id);
  return PG_EXIT_OK;
}

static int grid_dir(const char *cmd, pg_config *cfg, const char **id, char *dd, size_t cap) {
  return section_dir(cmd, cfg, "grid", id, dd, cap);
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
  pg_app_opts os = {.cmd = cmd, .longopts = opts};
  while ((ch = pg_app_getopt(&os, argc, argv, ":c:m:a:h")) != -1) {
    switch (ch) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
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
          "  -c, --config FILE   the grid's INI file ([grid] id, data_dir; [resource]: the\n"
          "                      unit of the quantities, kWh when absent)\n"
          "      --all           list decided readings too\n"
          "      --json          JSON instead of a table\n"
          "  -h, --help          this help\n"
          "\n"
          "Exit status: 0 ok, 1 failed (e.g. no such held reading), 2 bad usage.\n");
}

/* The held readings; quantities ("wh": base units) in the grid's [resource]
 * display unit with every decimal of the base unit (kWh with 3 decimals). */
static void print_quarantine(json_t *arr, const pg_resource *res) {
  int dec = 0, pad = 14;
  for (uint64_t f = res->display_factor; f >= 10; f /= 10) dec++;
  for (const char *p = res->display_unit; *p; p++) pad -= ((unsigned char)*p & 0xC0) != 0x80;
  printf("%-6s %-20s %-6s %-12s %*s%s  %-9s %s\n", "ID", "MEMBER", "KIND", "SLOT", pad > 0 ? pad : 0,
         "", res->display_unit, "STATE", "REASON");
  size_t i;
  json_t *r;
  json_array_foreach(arr, i, r) {
    double q = (double)json_integer_value(json_object_get(r, "wh")) / (double)res->display_factor;
    printf("%-6lld %-20s %-6s %-12lld %14.*f  %-9s %s\n",
           (long long)json_integer_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "member")),
           json_string_value(json_object_get(r, "kind")),
           (long long)json_integer_value(json_object_get(r, "slot")), dec, q,
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
  pg_app_opts os = {.cmd = cmd, .longopts = opts};
  while ((ch = pg_app_getopt(&os, argc, argv, ":c:h")) != -1) {
    switch (ch) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
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
  pg_resource res;
  pg_resource_default(&res);
  if (status == PG_EXIT_OK) {
    pg_diag d = {{0}};
    if (pg_resource_from_config(cfg, "resource", &res, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      status = PG_EXIT_USAGE;
    }
  }
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
      print_quarantine(arr, &res);
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

/* ---- audit-export / audit-keys ---- */

void pg_cmd_grid_audit_export_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid grid audit-export (--config GRID.ini | --data-dir DIR) [--out FILE]\n"
          "                                 [--force]\n"
          "\n"
          "Writes the grid's audit export (JSON, format p2pgrid-audit-export/1,\n"
          "docs/PROTOCOL.md \"Audit export\"): the grid's id, payment address and public\n"
          "record root, the history of its settlement settings, every member with its\n"
          "channels and their side keys, every settled slot with its readings, bills and\n"
          "payouts, and the payout batches. `p2pgrid audit` checks it against the\n"
          "Tangle. Reads the grid's database only (read-only; the grid may be running).\n"
          "The file holds every member's side keys: it is written with mode 0600.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE     the grid's INI file ([grid] id, data_dir)\n"
          "  -d, --data-dir DIR    the grid's data directory (instead of --config)\n"
          "  -o, --out FILE        write here (atomically); default standard output\n"
          "  -f, --force           replace FILE when it exists\n"
          "  -h, --help            this help\n"
          "\n"
          "Exit status: 0 written, 1 failed (no grid database, a database of another\n"
          "role, FILE exists), 2 bad usage.\n");
}

void pg_cmd_audit_keys_usage(FILE *f, const char *role) {
  fprintf(f,
          "usage: p2pgrid %s audit-keys (--config %s.ini | --data-dir DIR) [--out FILE]\n"
          "                               [--force]\n"
          "\n"
          "Writes this member's keys for an audit of its own bills, payments and the\n"
          "grid's public prices (JSON, format p2pgrid-member-keys/1): its id, its\n"
          "channel's root and side key, %s, and the grid's record root\n"
          "(from the registration answer). Give it to `p2pgrid audit`, or to someone you\n"
          "want to let read your channel and open your lines of the settlement record.\n"
          "Reads the database only. Mode 0600: the side key opens your readings.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE     the %s's INI file ([%s] id, data_dir)\n"
          "  -d, --data-dir DIR    its data directory (instead of --config)\n"
          "  -o, --out FILE        write here (atomically); default standard output\n"
          "  -f, --force           replace FILE when it exists\n"
          "  -h, --help            this help\n"
          "\n"
          "Exit status: 0 written, 1 failed (no database, another role's database, FILE\n"
          "exists), 2 bad usage.\n",
          role, role,
          strcmp(role, "consumer") == 0 ? "the return channel the grid writes its requests on"
                                        : "its payment address",
          role, role);
}

/* JSON to standard output, or atomically to path (mode 0600; refused when
 * it exists unless force). */
static int write_json(const char *cmd, json_t *j, const char *path, bool force) {
  char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  if (!text) {
    fprintf(stderr, "p2pgrid %s: out of memory\n", cmd);
    return PG_EXIT_FAIL;
  }
  int status = PG_EXIT_OK;
  if (!path) {
    printf("%s\n", text);
  } else {
    pg_diag d = {{0}};
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = pg_write_file_atomic(path, text, n + 1, true, force, &d);
    text[n] = '\0';
    if (rc == PG_ERR_EXISTS)
      fprintf(stderr, "p2pgrid %s: %s exists; use --force to replace it\n", cmd, path);
    else if (rc)
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    status = rc ? PG_EXIT_FAIL : PG_EXIT_OK;
  }
  free(text);
  return status;
}

typedef struct audit_args {
  const char *config, *data_dir, *out;
  bool force;
} audit_args;

/* Options of audit-export and audit-keys; PG_EXIT_OK to go on, -1 after
 * --help, else the exit status. */
static int audit_options(const char *cmd, int argc, char **argv, audit_args *a,
                         void (*usage)(FILE *, const char *), const char *role) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"data-dir", required_argument, NULL, 'd'},
      {"out", required_argument, NULL, 'o'},    {"force", no_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  int ch;
  opterr = 0;
  optind = 1;
  pg_app_opts os = {.cmd = cmd, .longopts = opts};
  while ((ch = pg_app_getopt(&os, argc, argv, ":c:d:o:fh")) != -1) {
    switch (ch) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 'c': a->config = optarg; break;
    case 'd': a->data_dir = optarg; break;
    case 'o': a->out = optarg; break;
    case 'f': a->force = true; break;
    case 'h': usage(stdout, role); return -1;
    default:
      fprintf(stderr, "p2pgrid %s: unknown option or missing value '%s'\n\n", cmd, argv[optind - 1]);
      usage(stderr, role);
      return PG_EXIT_USAGE;
    }
  }
  if (optind != argc || (!a->config) == (!a->data_dir)) {
    fprintf(stderr, "p2pgrid %s: want exactly one of --config FILE and --data-dir DIR\n", cmd);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

/* The data directory: --data-dir, or [sec] data_dir / ./data/ID of --config. */
static int audit_dir(const char *cmd, const audit_args *a, const char *sec, char *dd, size_t cap) {
  if (a->data_dir) {
    snprintf(dd, cap, "%s", a->data_dir);
    return PG_EXIT_OK;
  }
  pg_config *cfg = NULL;
  pg_app_overrides ov = {0};
  const char *id = NULL;
  int status = pg_app_config_load(cmd, a->config, &ov, &cfg);
  if (status == PG_EXIT_OK) status = section_dir(cmd, cfg, sec, &id, dd, cap);
  pg_config_free(cfg);
  return status;
}

static void export_usage(FILE *f, const char *role) {
  (void)role;
  pg_cmd_grid_audit_export_usage(f);
}

int pg_cmd_grid_audit_export(int argc, char **argv) {
  const char *cmd = "grid audit-export";
  audit_args a = {0};
  char dd[600];
  int status = audit_options(cmd, argc, argv, &a, export_usage, "grid");
  if (status) return status < 0 ? PG_EXIT_OK : status;
  status = audit_dir(cmd, &a, "grid", dd, sizeof dd);
  if (status) return status;
  pg_diag d = {{0}};
  json_t *j = NULL;
  if (pg_gridop_audit_export(dd, pg_clock_now(pg_clock_real()), &j, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_FAIL;
  }
  status = write_json(cmd, j, a.out, a.force);
  json_decref(j);
  return status;
}

int pg_cmd_audit_keys(const char *role, int argc, char **argv) {
  char cmd[32], dd[600];
  snprintf(cmd, sizeof cmd, "%s audit-keys", role);
  audit_args a = {0};
  int status = audit_options(cmd, argc, argv, &a, pg_cmd_audit_keys_usage, role);
  if (status) return status < 0 ? PG_EXIT_OK : status;
  status = audit_dir(cmd, &a, role, dd, sizeof dd);
  if (status) return status;
  pg_diag d = {{0}};
  json_t *j = NULL;
  if (pg_member_audit_keys(dd, role, &j, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_FAIL;
  }
  status = write_json(cmd, j, a.out, a.force);
  json_decref(j);
  return status;
}
