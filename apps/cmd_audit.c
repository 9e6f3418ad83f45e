/* p2pgrid audit — re-derives the grid's settlements, bills, payments and
 * payouts from the Tangle alone (src/audit, p2pgrid/audit/audit.h) and reports
 * what agrees and what does not. Thin: arguments, files, the node, output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/audit/audit.h"
#include "p2pgrid/base/file.h"

void pg_cmd_audit_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid audit --export FILE --node URL|DIR [options]\n"
          "       p2pgrid audit --member-keys FILE --node URL|DIR [options]\n"
          "\n"
          "Re-derives every decision of the grid from the Tangle alone and compares it\n"
          "with what the operator claims.\n"
          "\n"
          "Full audit (a regulator, or anyone the operator gives its audit export,\n"
          "`p2pgrid grid audit-export`): reads every member channel, return channel and\n"
          "the public settlement record; re-settles every slot with the market code and\n"
          "the configuration in force; compares the readings, prices, totals, every bill,\n"
          "payment request and payout, and the record's lines; re-derives the monthly\n"
          "items (membership, capacity, VAT) of every month bill from the tariff in\n"
          "force; checks every paid bill against confirmed transfers on the ledger and\n"
          "every payout batch against its transaction's outputs.\n"
          "\n"
          "Member audit (a member with its own keys, `p2pgrid consumer audit-keys` or\n"
          "`p2pgrid producer audit-keys`): reads only its own channels, its payment\n"
          "requests and the public record; opens its own lines and checks its readings,\n"
          "its bills, its payments (consumer) and the payouts it received (producer).\n"
          "\n"
          "options:\n"
          "  -e, --export FILE       the grid's audit export (JSON)\n"
          "  -m, --member-keys FILE  a member's keys (JSON) instead of an export\n"
          "  -n, --node URL|DIR      any node: its REST API (http://host:port), or a node's\n"
          "                          data directory read in-process, read-only (e.g. the\n"
          "                          state/node directory of `p2pgrid sim --full`); a\n"
          "                          running node holds its store: give its URL\n"
          "      --ca FILE           CA certificate to verify an https:// node with\n"
          "      --member-ca FILE    the community CA (ca.crt): each member channel's binding\n"
          "                          certificate must be one of its certificates (without\n"
          "                          it the binding signature is checked against the\n"
          "                          certificate the channel's hello carries)\n"
          "      --html FILE         also write a self-contained HTML report\n"
          "      --json              print the result as JSON instead of the text summary\n"
          "      --progress          show a progress bar on stderr (default: when stderr is\n"
          "                          a terminal)\n"
          "  -q, --quiet             print only the verdict line\n"
          "  -h, --help              this help\n"
          "\n"
          "Exit status: 0 everything agrees, 1 a difference was found, 2 bad usage or an\n"
          "I/O problem (a file, the node).\n");
}

typedef struct audit_args {
  const char *export_file, *keys_file, *node, *ca, *member_ca, *html;
  bool json, progress, quiet;
} audit_args;

static int parse_args(int argc, char **argv, audit_args *a) {
  static const struct option opts[] = {
      {"export", required_argument, NULL, 'e'}, {"member-keys", required_argument, NULL, 'm'},
      {"node", required_argument, NULL, 'n'},   {"ca", required_argument, NULL, 'C'},
      {"member-ca", required_argument, NULL, 'M'},
      {"html", required_argument, NULL, 'H'},   {"json", no_argument, NULL, 'J'},
      {"progress", no_argument, NULL, 'P'},     {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  memset(a, 0, sizeof *a);
  a->progress = isatty(STDERR_FILENO);
  optind = 1;
  int c;
  pg_app_opts os = {.cmd = "audit", .longopts = opts};
  while ((c = pg_app_getopt(&os, argc, argv, "e:m:n:qh")) != -1) {
    switch (c) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 'e': a->export_file = optarg; break;
    case 'm': a->keys_file = optarg; break;
    case 'n': a->node = optarg; break;
    case 'C': a->ca = optarg; break;
    case 'M': a->member_ca = optarg; break;
    case 'H': a->html = optarg; break;
    case 'J': a->json = true; break;
    case 'P': a->progress = true; break;
    case 'q': a->quiet = true; break;
    case 'h': pg_cmd_audit_usage(stdout); return -1;
    default: pg_cmd_audit_usage(stderr); return PG_EXIT_USAGE;
    }
  }
  const char *why = optind < argc                    ? "unexpected argument"
                    : !a->node                       ? "--node is required"
                    : !a->export_file == !a->keys_file ? "give exactly one of --export and --member-keys"
                                                     : NULL;
  if (why) {
    fprintf(stderr, "p2pgrid audit: %s%s%s\n", why, optind < argc ? " " : "",
            optind < argc ? argv[optind] : "");
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

static void progress_bar(void *ctx, const char *phase, size_t done, size_t total) {
  (void)ctx;
  const int width = 30;
  int fill = total ? (int)((double)done / (double)total * width) : width;
  fprintf(stderr, "\r%-9s [", phase);
  for (int i = 0; i < width; i++) fputc(i < fill ? '#' : ' ', stderr);
  fprintf(stderr, "] %zu/%zu%s", done, total, done == total ? "\n" : "");
  fflush(stderr);
}

static int open_node(const audit_args *a, pg_client **c) {
  pg_diag d = {{0}};
  int rc;
  if (strncmp(a->node, "http://", 7) == 0 || strncmp(a->node, "https://", 8) == 0) {
    pg_tls_files tls = {.ca_file = a->ca};
    pg_http_client_opts o = {.base_url = a->node, .tls = a->ca ? &tls : NULL,
                             .max_response = 4u << 20};
    rc = pg_client_http_new(&o, c, &d);
  } else {
    rc = pg_audit_dir_client(a->node, c, &d);
  }
  if (rc) fprintf(stderr, "p2pgrid audit: node %s: %s\n", a->node, d.msg);
  return rc ? PG_EXIT_USAGE : PG_EXIT_OK;
}

static int read_claims(const audit_args *a, pg_audit_export *e, pg_audit_keys *k) {
  const char *path = a->export_file ? a->export_file : a->keys_file;
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag d = {{0}};
  if (pg_read_file_capped(path, PG_AUDIT_MAX_EXPORT, &buf, &len, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid audit: %s\n", d.msg); /* the diag names the file */
    return PG_EXIT_USAGE;
  }
  int rc = a->export_file ? pg_audit_export_parse(buf, len, e, &d)
                          : pg_audit_keys_parse(buf, len, k, &d);
  free(buf);
  if (rc) fprintf(stderr, "p2pgrid audit: %s: %s\n", path, d.msg);
  return rc ? PG_EXIT_USAGE : PG_EXIT_OK;
}

static int write_outputs(const audit_args *a, const pg_audit_report *r) {
  pg_diag d = {{0}};
  if (a->json) {
    if (pg_audit_write_json(r, stdout, &d)) {
      fprintf(stderr, "p2pgrid audit: %s\n", d.msg);
      return PG_EXIT_USAGE;
    }
  } else if (a->quiet) {
    printf("%s: %zu differences over %zu slots\n", r->n_diffs ? "DIFFERENCES" : "agrees",
           r->n_diffs, r->n_slots);
  } else {
    pg_audit_write_text(r, stdout);
  }
  if (!a->html) return PG_EXIT_OK;
  FILE *f = fopen(a->html, "w");
  int rc = f ? pg_audit_write_html(r, f, &d) : pg_fail(&d, PG_ERR_IO, "cannot create the file");
  if (f && fclose(f) != 0 && !rc) rc = pg_fail(&d, PG_ERR_IO, "cannot write the file");
  if (rc) fprintf(stderr, "p2pgrid audit: %s: %s\n", a->html, d.msg);
  return rc ? PG_EXIT_USAGE : PG_EXIT_OK;
}

int pg_cmd_audit(int argc, char **argv) {
  audit_args a;
  int st = parse_args(argc, argv, &a);
  if (st < 0) return PG_EXIT_OK;
  if (st) return st;
  pg_audit_export e = {0};
  pg_audit_keys k = {0};
  pg_audit_facts facts = {0};
  pg_audit_report r = {0};
  pg_client *c = NULL;
  pg_tls_trust *trust = NULL;
  pg_diag d = {{0}};
  st = read_claims(&a, &e, &k);
  if (!st && a.member_ca && pg_tls_trust_open(a.member_ca, NULL, &trust, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid audit: %s: %s\n", a.member_ca, d.msg);
    st = PG_EXIT_USAGE;
  }
  if (!st) st = open_node(&a, &c);
  if (!st) {
    pg_audit_gather_opts go = {.progress = a.progress ? progress_bar : NULL, .trust = trust};
    int rc = a.export_file ? pg_audit_gather(c, &e, &go, &facts, &d)
                           : pg_audit_member_gather(c, &k, &go, &facts, &d);
    if (!rc)
      rc = a.export_file ? pg_audit_compare(&e, &facts, &r, &d)
                         : pg_audit_member_compare(&k, &facts, &r, &d);
    if (rc) fprintf(stderr, "p2pgrid audit: %s\n", d.msg);
    st = rc ? PG_EXIT_USAGE : write_outputs(&a, &r);
    if (!st && r.n_diffs) st = PG_EXIT_FAIL;
  }
  pg_audit_report_free(&r);
  pg_audit_facts_free(&facts);
  pg_client_free(c);
  pg_tls_trust_free(trust);
  pg_audit_export_free(&e);
  pg_audit_keys_free(&k);
  return st;
}
