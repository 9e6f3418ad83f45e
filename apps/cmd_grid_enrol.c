/* p2pgrid grid enrol — the operator lets a producer or consumer in: its
 * certificate (verified against the community CA) goes into the grid's
 * enrolment table, the only way to register at the grid. */
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

static int enrol(const char *cmd, pg_config *cfg, const char *member, const char *address) {
  pg_diag d = {{0}};
  const char *id = NULL, *data_dir = NULL, *ca = NULL, *crl = NULL;
  if (pg_config_require(cfg, "grid", "id", &d) ||
      pg_config_get_str(cfg, "grid", "id", NULL, &id, &d) ||
      pg_config_get_str(cfg, "grid", "data_dir", NULL, &data_dir, &d) ||
      pg_config_require(cfg, "tls", "ca", &d) ||
      pg_config_get_str(cfg, "tls", "ca", NULL, &ca, &d) ||
      pg_config_get_str(cfg, "tls", "crl", NULL, &crl, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  char dd[600];
  if (!data_dir) {
    snprintf(dd, sizeof dd, "./data/%s", id);
    data_dir = dd;
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
