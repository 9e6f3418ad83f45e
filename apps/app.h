/* apps/app.h — subcommands of the p2pgrid binary. Each command lives in its
 * own apps/cmd_<name>.c and is listed once in the table in apps/p2pgrid.c.
 * run() gets argv with argv[0] = the command name and returns the exit status
 * (0 ok, 1 runtime failure, 2 usage or configuration error); usage() prints
 * the command's help to f. */
#ifndef P2PGRID_APP_H
#define P2PGRID_APP_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/dirlock.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/tls/tls.h"

typedef struct pg_app_cmd {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
  void (*usage)(FILE *f);
} pg_app_cmd;

#define PG_EXIT_OK 0
#define PG_EXIT_FAIL 1
#define PG_EXIT_USAGE 2

int pg_cmd_node(int argc, char **argv);
void pg_cmd_node_usage(FILE *f);
int pg_cmd_demo(int argc, char **argv);
void pg_cmd_demo_usage(FILE *f);
int pg_cmd_mam(int argc, char **argv);
void pg_cmd_mam_usage(FILE *f);
int pg_cmd_wallet(int argc, char **argv);
void pg_cmd_wallet_usage(FILE *f);
int pg_cmd_market(int argc, char **argv);
void pg_cmd_market_usage(FILE *f);
int pg_cmd_sim(int argc, char **argv);
void pg_cmd_sim_usage(FILE *f);
int pg_cmd_ca(int argc, char **argv);
void pg_cmd_ca_usage(FILE *f);
int pg_cmd_backup(int argc, char **argv);
void pg_cmd_backup_usage(FILE *f);
int pg_cmd_restore(int argc, char **argv);
void pg_cmd_restore_usage(FILE *f);
int pg_cmd_audit(int argc, char **argv);
void pg_cmd_audit_usage(FILE *f);
int pg_cmd_invoice(int argc, char **argv);
void pg_cmd_invoice_usage(FILE *f);
int pg_cmd_dso(int argc, char **argv);
void pg_cmd_dso_usage(FILE *f);

int pg_cmd_entity(int argc, char **argv); /* source, producer, consumer, grid */
void pg_cmd_source_usage(FILE *f);
void pg_cmd_producer_usage(FILE *f);
void pg_cmd_consumer_usage(FILE *f);
void pg_cmd_grid_usage(FILE *f);
int pg_cmd_grid_enrol(int argc, char **argv); /* p2pgrid grid enrol */
void pg_cmd_grid_enrol_usage(FILE *f);
int pg_cmd_grid_quarantine(int argc, char **argv); /* p2pgrid grid quarantine */
void pg_cmd_grid_quarantine_usage(FILE *f);
int pg_cmd_grid_audit_export(int argc, char **argv); /* p2pgrid grid audit-export */
void pg_cmd_grid_audit_export_usage(FILE *f);
/* p2pgrid consumer|producer audit-keys (role "consumer" or "producer") */
int pg_cmd_audit_keys(const char *role, int argc, char **argv);
void pg_cmd_audit_keys_usage(FILE *f, const char *role);

/* ---- shared helpers (app_util.c) ---- */


/* "section.key=value" overrides from --set and option shortcuts, each with
 * the words the user typed ("--set api.port=1", "--port 1") that errors name. */
typedef struct pg_app_overrides {
  char **items;
  char **labels;
  size_t n;
} pg_app_overrides;
/* Adds a --set argument: section_key "section.key=value" as typed and value
 * "", or section_key "section.key" and its value. -1 when out of memory. */
int pg_app_override_add(pg_app_overrides *o, const char *section_key, const char *value);
/* Adds an option shortcut for a setting: option "--port", section_key
 * "api.port", value "1" (labelled "--port 1"). -1 when out of memory. */
int pg_app_override_opt(pg_app_overrides *o, const char *option, const char *section_key,
                        const char *value);
void pg_app_overrides_free(pg_app_overrides *o);
/* Loads path (may be NULL) and applies the overrides; prints the error
 * ("p2pgrid CMD: file:line: ...", "p2pgrid CMD: --set a.b=x: ...") and
 * returns an exit status otherwise. An override that is not
 * SECTION.KEY=VALUE, and two overrides of one setting ("--port 1" and
 * "--set api.port=2"), are refused naming both (PG_EXIT_USAGE). */
int pg_app_config_load(const char *cmd, const char *path, const pg_app_overrides *ov,
                       pg_config **out);
/* --money SPEC of the CLI tables: "CURRENCY:UNITS_PER_CURRENCY:DECIMALS"
 * ("EUR:1Gi:2"), or an INI file (a scenario, node or entity config) whose
 * [money] section is read; NULL = base units. PG_EXIT_OK, or PG_EXIT_USAGE
 * after printing "p2pgrid CMD: --money: ..." . */
int pg_app_money(const char *cmd, const char *spec, pg_money *out);
#define PG_APP_MONEY_HELP                                                                  \
  "  --money SPEC       show amounts in a currency: CURRENCY:UNITS:DECIMALS (EUR:1Gi:2)\n" \
  "                     or a config file with [money] (a scenario, node or entity .ini)\n"
/* Prints every key no getter read ("unknown setting") and returns
 * PG_EXIT_USAGE if there was one, else PG_EXIT_OK. */
int pg_app_config_unused(const char *cmd, pg_config *cfg);
/* A wallet seed from mnemonic_file (BIP-39), seed_file (hex) or the
 * P2PGRID_SEED environment variable, in that order. 0 or -1 (printed). */
int pg_app_load_seed(const char *cmd, const char *seed_file, const char *mnemonic_file,
                     uint8_t seed[64], size_t *len);

/* One process per data directory: takes the lock of dir (p2pgrid/base/dirlock.h;
 * creates dir if missing) into *lock (release with pg_dirlock_release).
 * PG_EXIT_OK, or PG_EXIT_FAIL after printing "p2pgrid CMD: data dir DIR in
 * use by pid N" (or the I/O problem). */
int pg_app_lock_data_dir(const char *cmd, const char *dir, pg_dirlock **lock);
/* A daemon's data directory while it starts: locked like
 * pg_app_lock_data_dir, remembering what the lock created (the directory
 * and its missing parents, or only DIR/LOCK), so that a start that fails
 * leaves nothing behind. */
typedef struct pg_app_data_dir {
  pg_dirlock *lock;
  char *made;      /* the topmost directory created by the take, or NULL */
  char *lock_file; /* DIR/LOCK when the take created it in an existing DIR, or NULL */
} pg_app_data_dir;
int pg_app_data_dir_take(const char *cmd, const char *dir, pg_app_data_dir *dd);
/* The daemon started: what it made stays. */
void pg_app_data_dir_keep(pg_app_data_dir *dd);
/* Releases the lock; before, unless kept, removes what the take made (with
 * whatever the failed start wrote into a directory it made). */
void pg_app_data_dir_release(pg_app_data_dir *dd);

/* The log format: opt (--log-format; NULL = none) or else [sec] log_format
 * ("text" or "json", p2pgrid/base/log.h). PG_EXIT_OK, or PG_EXIT_USAGE after
 * printing "p2pgrid CMD: ..." for an unknown format. */
int pg_app_log_format(const char *cmd, pg_config *cfg, const char *sec, const char *opt);
/* url without "user:password@" (for logs: never a secret); cut to cap. */
void pg_app_url_public(const char *url, char *out, size_t cap);

/* ---- options (opts.c): each option once, pairs that exclude each other ----
 * Use pg_app_getopt instead of getopt_long: it returns PG_APP_OPT_BAD after
 * printing "p2pgrid CMD: --port given twice ('0' and '1'); give it once" for
 * a second use of an option that is not in repeatable. */
#define PG_APP_OPT_BAD (-2)
#define PG_APP_OPTS_MAX 64
typedef struct pg_app_opts {
  const char *cmd;               /* "sim", "wallet" (messages) */
  const struct option *longopts; /* the getopt_long table (names for messages) */
  const int *repeatable;         /* option values that may repeat, 0-terminated; NULL = none */
  size_t n;
  int ch[PG_APP_OPTS_MAX];
  const char *val[PG_APP_OPTS_MAX]; /* optarg, NULL for a flag */
} pg_app_opts;
int pg_app_getopt(pg_app_opts *o, int argc, char **argv, const char *shortopts);
/* optarg of option ch if it was given ("" for a flag), else NULL. */
const char *pg_app_opt_given(const pg_app_opts *o, int ch);
/* "--full and --market-only exclude each other; give one": PG_EXIT_USAGE
 * (printed) when both a and b were given, else PG_EXIT_OK. */
int pg_app_opt_conflict(const pg_app_opts *o, int a, int b);
/* "--pace needs --serve": PG_EXIT_USAGE (printed) when a was given without b. */
int pg_app_opt_needs(const pg_app_opts *o, int a, int b);
/* "--port" (or "-p" when ch has no long name) into buf. */
const char *pg_app_opt_name(const pg_app_opts *o, int ch, char *buf, size_t cap);

/* ---- [tls] of the entity daemons (app_tls.c) ---- */
#define PG_APP_TLS_HOSTS 16
typedef struct pg_app_tls {
  pg_tls_files files;        /* [tls] cert, key, ca, crl (borrowed from the config) */
  pg_tls_key *member;        /* our key and certificate */
  pg_tls_trust *trust;       /* the community CA and its CRL (reloaded on change) */
  pg_member me;              /* what our certificate says */
  pg_config_list hosts;      /* [api] hosts */
  const char *host_ptrs[PG_APP_TLS_HOSTS];
  size_t nhosts;             /* the Host names we answer to: [api] hosts, else our certificate's */
  uint64_t max_connections;  /* [api] max_connections (64) */
  uint64_t per_client;       /* [api] max_connections_per_client (16) */
  unsigned idle_timeout_s;   /* [api] idle_timeout (30s) */
} pg_app_tls;
/* Reads [tls] and the [api] limits, loads key, certificate and trust;
 * prints the problem and returns an exit status. */
int pg_app_tls_load(const char *cmd, pg_config *cfg, pg_app_tls *t);
/* Our certificate must name id and role (exit status; printed). */
int pg_app_tls_check_member(const char *cmd, const pg_app_tls *t, const char *id, pg_role role);
void pg_app_tls_free(pg_app_tls *t);

/* cmd_sim.c: loads the scenario, runs it (mode: pg_sim_mode as int), prints
 * progress and the summary table; returns an exit status. serve_port >= 0
 * serves the grid's dashboard and API on 127.0.0.1:serve_port (0 = any free
 * port) while it runs, pacing slots to pace_ms of wall time each, and after
 * the run until SIGINT/SIGTERM. */
int pg_sim_main(const char *cmd, const char *path, int mode, const char *out_dir,
                const char *state_dir, bool quiet, const struct pg_app_overrides *ov,
                int serve_port, uint64_t pace_ms);

#endif
