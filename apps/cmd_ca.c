/* p2pgrid ca — the community CA: init | issue | request | sign | revoke |
 * list | show. Thin: argument parsing and printing around
 * include/p2pgrid/tls/tls.h. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/tls/tls.h"

#define MAX_HOSTS PG_MEMBER_NAMES_MAX
#define CSR_MAX (64 * 1024)

void pg_cmd_ca_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid ca <action> [options]\n"
          "\n"
          "The community's certificate authority: every member (source, producer,\n"
          "consumer, grid, operator) proves who it is with a certificate the CA issued\n"
          "(ECDSA P-256; the id is the CN, the role the OU, the parent and capacity are\n"
          "urn:p2pgrid: URIs). Servers trust DIR/ca.crt and read DIR/crl.pem again\n"
          "within a second after a revocation.\n"
          "\n"
          "actions:\n"
          "  init     --dir DIR [--name NAME] [--days N]\n"
          "           create a CA in DIR (mode 0700): ca.key (0600), ca.crt, crl.pem,\n"
          "           issued/, revoked; NAME defaults to 'p2pgrid community CA',\n"
          "           N to 3650 days\n"
          "  issue    --dir DIR --id ID --role ROLE [--parent ID] [--max-kw KW]\n"
          "           [--host NAME_OR_IP]... [--days N] --out PREFIX\n"
          "           a new key and certificate: PREFIX.key (0600) and PREFIX.crt\n"
          "  request  --id ID --role ROLE [--parent ID] [--max-kw KW] [--host H]...\n"
          "           --out PREFIX\n"
          "           on the device: a new key and a certificate request, PREFIX.key\n"
          "           (0600) and PREFIX.csr, to carry to the CA\n"
          "  sign     --dir DIR --csr FILE [--id ID --role ROLE [--parent ID]] [--days N]\n"
          "           --out FILE.crt\n"
          "           sign a request; --id/--role/--parent must match what it says\n"
          "  revoke   --dir DIR ID\n"
          "           revoke every certificate issued to ID and rewrite DIR/crl.pem\n"
          "  list     --dir DIR [--json]\n"
          "           every certificate the CA issued, oldest first\n"
          "  show     FILE.crt\n"
          "           what a member certificate says (id, role, parent, max kW, hosts,\n"
          "           fingerprint, validity); it is not verified\n"
          "\n"
          "options:\n"
          "  --dir DIR        the CA directory\n"
          "  --id ID          member id: 1 to 64 of A-Z a-z 0-9 . _ -\n"
          "  --role ROLE      source | producer | consumer | grid | operator\n"
          "  --parent ID      a source's producer (required for, and only for, sources)\n"
          "  --max-kw KW      enrolled capacity in kW, up to 3 decimals (stored in W)\n"
          "  --host H         DNS name or IP address the member serves on (repeatable,\n"
          "                   at most %d); grid and producer default to localhost and\n"
          "                   127.0.0.1 when no --host is given\n"
          "  --days N         validity: default 825 (members), 3650 (the CA)\n"
          "  --out PREFIX     where to write; existing files are never overwritten\n"
          "\n"
          "examples:\n"
          "  p2pgrid ca init --dir ca --name 'Sunny Street energy community'\n"
          "  p2pgrid ca issue --dir ca --id grid --role grid --host grid.local --out grid\n"
          "  p2pgrid ca issue --dir ca --id pv-7 --role source --parent prod-1 --max-kw 4.5 --out pv-7\n"
          "  p2pgrid ca request --id house-3 --role consumer --out house-3   (on the device)\n"
          "  p2pgrid ca sign --dir ca --csr house-3.csr --id house-3 --role consumer --out house-3.crt\n"
          "  p2pgrid ca revoke --dir ca pv-7\n",
          MAX_HOSTS);
}

typedef struct copts {
  const char *action, *dir, *name, *id, *role_s, *parent, *out, *csr, *arg;
  const char *hosts[MAX_HOSTS];
  size_t nhosts;
  pg_role role;
  uint64_t max_w;
  unsigned days;
  bool json, has_max, has_days;
} copts;

/* "4.5" kW -> 4500 W: digits, at most 3 decimals, 0 < W <= 10^12. */
static int parse_kw(const char *s, uint64_t *w) {
  uint64_t v = 0;
  int decimals = -1;
  const char *p = s;
  if (!*p) return -1;
  for (; *p; p++) {
    if (*p == '.' && decimals < 0 && p != s && p[1]) {
      decimals = 0;
      continue;
    }
    if (*p < '0' || *p > '9' || decimals == 3 || v > PG_MEMBER_MAX_W) return -1;
    v = v * 10 + (uint64_t)(*p - '0');
    if (decimals >= 0) decimals++;
  }
  for (int i = decimals < 0 ? 0 : decimals; i < 3; i++) v *= 10;
  if (v == 0 || v > PG_MEMBER_MAX_W) return -1;
  *w = v;
  return 0;
}

static int parse_days(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = s[0] >= '0' && s[0] <= '9' ? strtoul(s, &end, 10) : 0;
  if (errno || v < 1 || v > 36500 || *end) {
    fprintf(stderr, "p2pgrid ca: --days: '%s' is not a whole number of days 1..36500\n", s);
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

static int parse_opt(int c, copts *o) {
  pg_diag d = {{0}};
  switch (c) {
  case 'd': o->dir = optarg; break;
  case 'n': o->name = optarg; break;
  case 'i': o->id = optarg; break;
  case 'p': o->parent = optarg; break;
  case 'o': o->out = optarg; break;
  case 'c': o->csr = optarg; break;
  case 'j': o->json = true; break;
  case 'r':
    o->role_s = optarg;
    if (pg_role_parse(optarg, &o->role, &d)) {
      fprintf(stderr, "p2pgrid ca: --role: %s\n", d.msg);
      return -1;
    }
    break;
  case 'k':
    if (parse_kw(optarg, &o->max_w)) {
      fprintf(stderr, "p2pgrid ca: --max-kw: '%s' is not kW above 0 with at most 3 decimals\n",
              optarg);
      return -1;
    }
    o->has_max = true;
    break;
  case 'H':
    if (o->nhosts == MAX_HOSTS) {
      fprintf(stderr, "p2pgrid ca: at most %d --host\n", MAX_HOSTS);
      return -1;
    }
    o->hosts[o->nhosts++] = optarg;
    break;
  case 'D':
    if (parse_days(optarg, &o->days)) return -1;
    o->has_days = true;
    break;
  case 'h': pg_cmd_ca_usage(stdout); exit(PG_EXIT_OK);
  default: return -1;
  }
  return 0;
}

static int parse_args(int argc, char **argv, copts *o) {
  static const struct option opts[] = {
      {"dir", required_argument, 0, 'd'},    {"name", required_argument, 0, 'n'},
      {"id", required_argument, 0, 'i'},     {"role", required_argument, 0, 'r'},
      {"parent", required_argument, 0, 'p'}, {"max-kw", required_argument, 0, 'k'},
      {"host", required_argument, 0, 'H'},   {"days", required_argument, 0, 'D'},
      {"out", required_argument, 0, 'o'},    {"csr", required_argument, 0, 'c'},
      {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  optind = 1;
  int c;
  pg_app_opts os = {.cmd = "ca", .longopts = opts, .repeatable = (const int[]){'H', 0}};
  while ((c = pg_app_getopt(&os, argc, argv, "h")) != -1)
    if (c == PG_APP_OPT_BAD || parse_opt(c, o)) return -1;
  if (optind >= argc) {
    fprintf(stderr, "p2pgrid ca: which action? (init, issue, request, sign, revoke, list, show)\n");
    return -1;
  }
  o->action = argv[optind++];
  if (optind < argc) o->arg = argv[optind++];
  if (optind < argc) {
    fprintf(stderr, "p2pgrid ca: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  return 0;
}

/* Options an action takes: a string of the short codes above. */
static int check_allowed(const copts *o, const char *allowed, bool takes_arg) {
  struct {
    char c;
    bool set;
    const char *name;
  } all[] = {{'d', o->dir, "--dir"},         {'n', o->name, "--name"},
             {'i', o->id, "--id"},           {'r', o->role_s, "--role"},
             {'p', o->parent, "--parent"},   {'k', o->has_max, "--max-kw"},
             {'H', o->nhosts > 0, "--host"}, {'D', o->has_days, "--days"},
             {'o', o->out, "--out"},         {'c', o->csr, "--csr"},
             {'j', o->json, "--json"}};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (all[i].set && !strchr(allowed, all[i].c)) {
      fprintf(stderr, "p2pgrid ca %s: %s does not apply here\n", o->action, all[i].name);
      return -1;
    }
  if (o->arg && !takes_arg) {
    fprintf(stderr, "p2pgrid ca %s: unexpected argument '%s'\n", o->action, o->arg);
    return -1;
  }
  return 0;
}

static int need(const copts *o, const char *v, const char *what) {
  if (v) return 0;
  fprintf(stderr, "p2pgrid ca %s: %s is required\n", o->action, what);
  return -1;
}

static int status_of(int rc) { return rc == PG_ERR_INVALID ? PG_EXIT_USAGE : PG_EXIT_FAIL; }

/* PREFIX + ext into buf; refuses an existing file. */
static int out_path(const copts *o, const char *ext, char *buf, size_t cap) {
  if (snprintf(buf, cap, "%s%s", o->out, ext) >= (int)cap) {
    fprintf(stderr, "p2pgrid ca %s: --out: path too long\n", o->action);
    return -1;
  }
  if (access(buf, F_OK) == 0) {
    fprintf(stderr, "p2pgrid ca %s: %s exists already (refusing to overwrite)\n", o->action, buf);
    return -1;
  }
  return 0;
}

static int write_out(const copts *o, const char *path, const char *text, bool secret) {
  pg_diag d = {{0}};
  if (pg_write_file_atomic(path, text, strlen(text), secret, false, &d) == PG_OK) return 0;
  fprintf(stderr, "p2pgrid ca %s: %s\n", o->action, d.msg);
  return -1;
}

static void fill_cert_opts(copts *o, pg_cert_opts *c) {
  static const char *const defaults[] = {"localhost", "127.0.0.1"};
  bool serves = o->role == PG_ROLE_GRID || o->role == PG_ROLE_PRODUCER;
  *c = (pg_cert_opts){.id = o->id, .role = o->role, .parent = o->parent, .max_w = o->max_w,
                      .hosts = o->hosts, .nhosts = o->nhosts, .days = o->days};
  if (serves && o->nhosts == 0) {
    c->hosts = defaults;
    c->nhosts = 2;
  }
}

static int cmd_init(copts *o) {
  pg_diag d = {{0}};
  if (check_allowed(o, "dnD", false) || need(o, o->dir, "--dir DIR")) return PG_EXIT_USAGE;
  const char *name = o->name ? o->name : "p2pgrid community CA";
  int rc = pg_ca_init(o->dir, name, o->days, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid ca init: %s\n", d.msg);
    return status_of(rc);
  }
  printf("CA '%s' created in %s (ca.key is secret; members trust %s/ca.crt)\n", name, o->dir,
         o->dir);
  return PG_EXIT_OK;
}

static int open_ca(const copts *o, pg_ca **ca) {
  pg_diag d = {{0}};
  if (pg_ca_open(o->dir, ca, &d) == PG_OK) return 0;
  fprintf(stderr, "p2pgrid ca %s: %s\n", o->action, d.msg);
  return -1;
}

/* issue (with --dir) and request (without): key + certificate or request. */
static int cmd_make(copts *o, bool issue) {
  char key_path[4096], out_file[4096];
  char *key = NULL, *pem = NULL;
  pg_ca *ca = NULL;
  pg_cert_opts c;
  pg_diag d = {{0}};
  if (check_allowed(o, issue ? "dirpkHDo" : "irpkHo", false) ||
      (issue && need(o, o->dir, "--dir DIR")) || need(o, o->id, "--id ID") ||
      need(o, o->role_s, "--role ROLE") || need(o, o->out, "--out PREFIX") ||
      out_path(o, ".key", key_path, sizeof key_path) ||
      out_path(o, issue ? ".crt" : ".csr", out_file, sizeof out_file))
    return PG_EXIT_USAGE;
  fill_cert_opts(o, &c);
  if (issue && open_ca(o, &ca)) return PG_EXIT_FAIL;
  int rc = issue ? pg_ca_issue(ca, &c, &key, &pem, &d) : pg_csr_make(&c, &key, &pem, &d);
  int status = status_of(rc);
  if (rc) {
    fprintf(stderr, "p2pgrid ca %s: %s\n", o->action, d.msg);
    goto out;
  }
  status = PG_EXIT_FAIL;
  if (write_out(o, key_path, key, true) || write_out(o, out_file, pem, false)) goto out;
  printf("%s written: %s (secret, mode 0600) and %s\n", issue ? "certificate" : "request",
         key_path, out_file);
  for (size_t i = 0; i < c.nhosts; i++) printf("  host %s\n", c.hosts[i]);
  status = PG_EXIT_OK;
out:
  pg_tls_free_secret(key);
  free(pem);
  pg_ca_close(ca);
  return status;
}

static int cmd_sign(copts *o) {
  uint8_t *csr = NULL;
  size_t len = 0;
  char *pem = NULL;
  pg_ca *ca = NULL;
  pg_diag d = {{0}};
  if (check_allowed(o, "dcirpDo", false) || need(o, o->dir, "--dir DIR") ||
      need(o, o->csr, "--csr FILE") || need(o, o->out, "--out FILE.crt"))
    return PG_EXIT_USAGE;
  if ((o->id && !o->role_s) || (o->role_s && !o->id) || (o->parent && !o->id)) {
    fprintf(stderr, "p2pgrid ca sign: --id and --role go together (--parent with them)\n");
    return PG_EXIT_USAGE;
  }
  if (access(o->out, F_OK) == 0) {
    fprintf(stderr, "p2pgrid ca sign: %s exists already (refusing to overwrite)\n", o->out);
    return PG_EXIT_USAGE;
  }
  int status = PG_EXIT_FAIL;
  pg_cert_opts expect = {.id = o->id, .role = o->role, .parent = o->parent};
  if (pg_read_file_capped(o->csr, CSR_MAX, &csr, &len, &d)) {
    fprintf(stderr, "p2pgrid ca sign: %s\n", d.msg);
    goto out;
  }
  if (open_ca(o, &ca)) goto out;
  int rc = pg_ca_sign_request(ca, csr, len, o->id ? &expect : NULL, o->days, &pem, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid ca sign: %s: %s\n", o->csr, d.msg);
    goto out;
  }
  if (write_out(o, o->out, pem, false)) goto out;
  pg_member m;
  if (pg_member_from_cert(pem, strlen(pem), &m, &d) == PG_OK)
    printf("certificate for '%s' (%s) written to %s\n", m.id, pg_role_name(m.role), o->out);
  status = PG_EXIT_OK;
out:
  free(csr);
  free(pem);
  pg_ca_close(ca);
  return status;
}

static int cmd_revoke(copts *o) {
  pg_ca *ca = NULL;
  pg_diag d = {{0}};
  unsigned n = 0;
  if (check_allowed(o, "d", true) || need(o, o->dir, "--dir DIR") || need(o, o->arg, "the ID"))
    return PG_EXIT_USAGE;
  if (open_ca(o, &ca)) return PG_EXIT_FAIL;
  int rc = pg_ca_revoke(ca, o->arg, &n, &d);
  pg_ca_close(ca);
  if (rc) {
    fprintf(stderr, "p2pgrid ca revoke: %s\n", d.msg);
    return rc == PG_ERR_INVALID ? PG_EXIT_USAGE : PG_EXIT_FAIL;
  }
  if (n == 0)
    printf("'%s' had no certificate left to revoke (all revoked already)\n", o->arg);
  else
    printf("revoked %u certificate%s of '%s'; servers reading %s/crl.pem refuse %s within a second\n",
           n, n == 1 ? "" : "s", o->arg, o->dir, n == 1 ? "it" : "them");
  return PG_EXIT_OK;
}

static void fmt_kw(uint64_t w, char *buf, size_t cap) {
  if (!w) {
    snprintf(buf, cap, "-");
    return;
  }
  int n = snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(w / 1000),
                   (unsigned long long)(w % 1000));
  while (n > 0 && buf[n - 1] == '0') buf[--n] = '\0';
  if (n > 0 && buf[n - 1] == '.') buf[--n] = '\0';
}

static void fmt_time(int64_t t, char *buf, size_t cap, bool date_only) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) ||
      !strftime(buf, cap, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(buf, cap, "?");
}

static const char *jstr(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "-";
}

static void print_table(json_t *a) {
  size_t i;
  json_t *e;
  int64_t now = (int64_t)time(NULL);
  printf("%-24s %-9s %-16s %10s  %-10s  %-18s %s\n", "ID", "ROLE", "PARENT", "MAX kW",
         "EXPIRES", "STATUS", "SERIAL");
  json_array_foreach(a, i, e) {
    char kw[32], exp[32], st[40];
    json_t *ma = json_object_get(e, "maxW"), *rv = json_object_get(e, "revokedAt");
    int64_t na = json_integer_value(json_object_get(e, "notAfter"));
    fmt_kw(json_is_integer(ma) ? (uint64_t)json_integer_value(ma) : 0, kw, sizeof kw);
    fmt_time(na, exp, sizeof exp, true);
    if (json_is_integer(rv)) {
      char at[32];
      fmt_time(json_integer_value(rv), at, sizeof at, true);
      snprintf(st, sizeof st, "revoked %s", at);
    } else {
      snprintf(st, sizeof st, "%s", na < now ? "expired" : "valid");
    }
    printf("%-24s %-9s %-16s %10s  %-10s  %-18s %s\n", jstr(e, "id"), jstr(e, "role"),
           jstr(e, "parent"), kw, exp, st, jstr(e, "serial"));
  }
  if (json_array_size(a) == 0) printf("(no certificates issued yet)\n");
}

static int cmd_list(copts *o) {
  pg_ca *ca = NULL;
  json_t *a = NULL;
  pg_diag d = {{0}};
  if (check_allowed(o, "dj", false) || need(o, o->dir, "--dir DIR")) return PG_EXIT_USAGE;
  if (open_ca(o, &ca)) return PG_EXIT_FAIL;
  int rc = pg_ca_list(ca, &a, &d);
  pg_ca_close(ca);
  if (rc) {
    fprintf(stderr, "p2pgrid ca list: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  if (o->json) {
    json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
  } else {
    print_table(a);
  }
  json_decref(a);
  return PG_EXIT_OK;
}

static int cmd_show(copts *o) {
  uint8_t *data = NULL;
  size_t len = 0;
  pg_member m;
  pg_diag d = {{0}};
  if (check_allowed(o, "", true) || need(o, o->arg, "FILE.crt")) return PG_EXIT_USAGE;
  if (pg_read_file_capped(o->arg, 64 * 1024, &data, &len, &d) ||
      pg_member_from_cert(data, len, &m, &d)) {
    fprintf(stderr, "p2pgrid ca show: %s: %s\n", o->arg, d.msg);
    free(data);
    return PG_EXIT_FAIL;
  }
  free(data);
  char fp[65], kw[32], nb[32], na[32];
  pg_member_fingerprint_hex(&m, fp);
  fmt_kw(m.max_w, kw, sizeof kw);
  fmt_time(m.not_before, nb, sizeof nb, false);
  fmt_time(m.not_after, na, sizeof na, false);
  printf("id           %s\nrole         %s\nparent       %s\nmax kW       %s\n", m.id,
         pg_role_name(m.role), m.parent[0] ? m.parent : "-", kw);
  printf("hosts        ");
  for (size_t i = 0; i < m.nnames; i++) printf("%s%s", i ? " " : "", m.names[i]);
  printf("%s\nfingerprint  %s (SHA-256)\nserial       %s\nvalid        %s to %s\n",
         m.nnames ? "" : "-", fp, m.serial, nb, na);
  return PG_EXIT_OK;
}

static int cmd_issue(copts *o) { return cmd_make(o, true); }
static int cmd_request(copts *o) { return cmd_make(o, false); }

/* The actions of `p2pgrid ca`. */
static const struct {
  const char *name;
  int (*run)(copts *o);
} actions[] = {
    {"init", cmd_init}, {"issue", cmd_issue}, {"request", cmd_request}, {"sign", cmd_sign},
    {"revoke", cmd_revoke}, {"list", cmd_list}, {"show", cmd_show},
};

int pg_cmd_ca(int argc, char **argv) {
  copts o;
  memset(&o, 0, sizeof o);
  if (parse_args(argc, argv, &o)) return PG_EXIT_USAGE;
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (!strcmp(o.action, actions[i].name)) return actions[i].run(&o);
  fprintf(stderr,
          "p2pgrid ca: unknown action '%s' (init, issue, request, sign, revoke, list, show)\n",
          o.action);
  return PG_EXIT_USAGE;
}
