/* p2pgrid source|producer|consumer|grid — the entity daemons: one INI file,
 * a node URL, a step every tick until SIGINT/SIGTERM. */
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "app.h"
#include "p2pgrid/base/version.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/client/events.h"
#include "p2pgrid/grid/entity_config.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/metrics.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/base/sdnotify.h"
#include "p2pgrid/base/timelabel.h"

/* SQLite's memory in a source, producer or consumer daemon (db.h) */
#define ENTITY_SQLITE_CAP (1024 * 1024)

typedef enum role { R_SOURCE, R_PRODUCER, R_CONSUMER, R_GRID } role;
static const char *role_names[] = {"source", "producer", "consumer", "grid"};
/* an example config of each role (the --help and error messages name it) */
static const char *role_examples[] = {"examples/grid/source-solar.ini",
                                      "examples/grid/producer-1.ini",
                                      "examples/grid/consumer-1.ini", "examples/grid/grid.ini"};

/* What each daemon does (the first paragraph of its --help). */
static const char *const usage_intro[] = {
    [R_SOURCE] =
        "Runs an energy source (solar panel, wind turbine, any meter): every finished\n"
        "slot it writes one `output` message (kWh) to its own restricted MAM channel,\n"
        "which it registers at its producer ([upstream] url). Readings come from\n"
        "[meter]: a built-in solar or wind profile, a CSV file, or an MQTT topic.\n",
    [R_PRODUCER] =
        "Runs a producer: serves the registration API for its sources ([api]), reads\n"
        "their channels, adds up each slot into its own `output` (with its ask price\n"
        "and payment address) on a channel registered at the grid ([upstream] url),\n"
        "and records what the grid pays it.\n",
    [R_CONSUMER] =
        "Runs a consumer: registers at the grid ([upstream] url), writes one `usage`\n"
        "message per slot from [meter], reads the grid's payment requests on its\n"
        "return channel and pays each from its wallet (a reference inside the\n"
        "transfer), exactly once, and follows it to confirmation.\n",
    [R_GRID] =
        "Runs the grid operator: serves the registration API for producers and\n"
        "consumers and the status API ([api]), reads every registered channel,\n"
        "settles each slot with the market engine ([grid] mechanism and prices) once\n"
        "all reports are in or the grace time has passed, writes payment requests,\n"
        "matches incoming payments by reference and pays producers in batches.\n",
};

static void usage_settings(FILE *f, role r);
static void usage_tail(FILE *f, role r);

static void usage_common(FILE *f, role r) {
  const char *n = role_names[r];
  fprintf(f, "usage: p2pgrid %s --config FILE [--set SECTION.KEY=VALUE ...]\n\n", n);
  fputs(usage_intro[r], f);
  fprintf(f,
          "\noptions:\n"
          "  -c, --config FILE        INI settings (see %s); required\n"
          "  -s, --set SECTION.KEY=VALUE\n"
          "                           override a setting (repeatable)\n"
          "  -l, --log-level LEVEL    error, warn, info or debug\n"
          "      --log-format FORMAT  text (default) or json: one JSON object a line\n"
          "                           (time, level, pid, module, msg) for log shippers;\n"
          "                           same as [%s] log_format\n"
          "      --once               run one step and exit (for scripts and checks)\n"
          "  -h, --help               this help\n"
          "\n"
          "settings:\n"
          "  [%s] id (required: 1..64 of A-Z a-z 0-9 . _ -), name, data_dir (./data/ID),\n"
          "     slot (15m), security (MAM, 2), tick (500ms), retry (2s), log_level,\n"
          "     log_format (text | json)\n"
          "  [node] url (http://127.0.0.1:14265), timeout (60s), ca (a CA file for an\n"
          "     https:// node; [tls] ca), token_file (bearer token for a node that limits POST)\n"
          "  [tls] cert, key (required: this member's certificate and key from\n"
          "     `p2pgrid ca issue`), ca (required: the community CA certificate), crl (the\n"
          "     CA's revocation list, re-read when it changes)\n"
          "  [money] currency (i), units_per_currency (1; with i, Ki, Mi, Gi: 1Gi),\n"
          "     decimals (0..9; 0): how people read amounts in the status and dashboard\n"
          "  [site] tz (UTC; Europe/Berlin or +HH:MM): the zone of times people read\n",
          role_examples[r], n, n);
  usage_settings(f, r);
  usage_tail(f, r);
}

/* The settings of the role beyond the keys every daemon has. */
static void usage_settings(FILE *f, role r) {
  const char *n = role_names[r];
  fprintf(f, "  [mqtt] host, port (1883), client_id, qos (1), tls_ca, tls_cert, tls_key: the\n"
             "     broker of the node's events (off unless host is set); then a confirmed\n"
             "     milestone%s makes the next step run at once instead of at the next\n"
             "     tick, and look at once for what it otherwise polls for after a gap\n",
          r == R_GRID ? " or a payment to the grid's address\n    " : "");
  if (r != R_GRID) fprintf(f, "  [upstream] url: the %s's registration API (required)\n",
                           r == R_SOURCE ? "producer" : "grid");
  if (r == R_PRODUCER || r == R_GRID)
    fprintf(f, "  [api] bind (127.0.0.1), port (%s; 0 = any free port)\n",
            r == R_GRID ? "8080" : "8081");
  else
    fprintf(f, "  [api] port: serve GET /api/status there (off unless set), bind\n");
  fprintf(f, "  [api] hosts (the names in Host; default: those of [tls] cert),\n"
             "     max_connections (64), max_connections_per_client (16), idle_timeout (30s)\n");
  if (r == R_PRODUCER || r == R_GRID)
    fprintf(f, "  [%s] registration_rate (10 requests per member and minute),\n"
               "     max_channels (32 per member)\n", n);
  if (r != R_SOURCE) fprintf(f, "  [wallet] seed_file (hex) or mnemonic_file (BIP-39); or P2PGRID_SEED\n");
  if (r == R_SOURCE || r == R_CONSUMER)
    fprintf(f, "  [meter] kind = solar | wind | household | water | heat | well | rain-tank |\n"
               "     boiler | csv | dso | mqtt | p1 | sunspec, and its keys (docs/CONFIG.md)\n");
  fprintf(f, "  [resource] name (electricity | heat | water | gas | any name with a unit;\n"
             "     electricity), unit, display_unit, display_factor, flow_unit, flow_factor,\n"
             "     price_unit (docs/CONFIG.md): what the community meters and trades; every\n"
             "     member of a grid must name the same resource and unit\n");
  if (r == R_PRODUCER)
    fprintf(f, "  [producer] ask_per_unit (alias ask_per_kwh; base units per price unit:\n"
               "     per kWh, per m³; none = any price), grace (slot/2)\n"
               "  The producer looks for payouts on its payment address every tick while\n"
               "  they come and at each slot's start, then, while none comes, less often:\n"
               "  after 1 s, 2 s, 4 s ... up to every 30 s (an eighth of a slot at most,\n"
               "  never under 1 s).\n");
  if (r == R_PRODUCER || r == R_CONSUMER)
    fprintf(f, "\n`p2pgrid %s audit-keys --config FILE` writes this member's keys for an audit\n"
               "of its own record (see its --help).\n", n);
  if (r == R_CONSUMER)
    fprintf(f, "  [consumer] bid_per_unit (alias bid_per_kwh; base units per price unit;\n"
               "     none = the utility price), max_price_per_unit (alias max_price_per_kwh:\n"
               "     refuse payment requests above usage x this, fees included; none = no\n"
               "     price check), grid_address (refuse requests to any other address; none =\n"
               "     the first request's address is kept), max_monthly (pay a month bill, a\n"
               "     request for 0 usage: membership, capacity, VAT, up to this; none = only\n"
               "     when there is no max_price_per_unit)\n"
               "  The consumer reads its payment requests every tick while they come and at\n"
               "  each slot's start, then, while none comes, less often: after 1 s, 2 s, 4 s\n"
               "  ... up to every 30 s (an eighth of a slot at most); it looks at a payment\n"
               "  it sent from the next tick on by the same rule until it is confirmed.\n");
  if (r == R_GRID)
    fprintf(f,
            "  [grid] mechanism (fixed | pay-as-clear | pay-as-bid | mmr | sdr; pay-as-clear),\n"
            "     import_price, export_price (utility prices per price unit, required),\n"
            "     fee_per_unit (alias fee_per_kwh),\n"
            "     fee_bp, fixed_buy_price, fixed_sell_price, grace (slot/2), payout_min\n"
            "     (1000000, also the least: smaller payouts wait, TIP-15 dust),\n"
            "     dust_allowance (10000000; 0 = none), default_max_kw (100: the capacity of\n"
            "     a member whose certificate states none), late_window (96 slots: older\n"
            "     readings are quarantined), float (10000000000: payouts never exceed the\n"
            "     payments received plus this), tz (UTC: the community's time zone, UTC,\n"
            "     Europe/Berlin or +HH:MM, whose calendar months the tariff bills)\n"
            "  [tariff] membership_fee (per month), capacity_price (per kW of the month's\n"
            "     peak demand), vat (e.g. 20%%), grid_fee_reduction (per kWh, reported only):\n"
            "     once a month ends each consumer gets one more payment request for them\n"
            "  The grid scans its address for payments every tick while they come and at\n"
            "  each slot's start, then, while none comes, less often: after 0.5 s, 1 s,\n"
            "  2 s ... up to every 30 s (an eighth of a slot at most), and always just\n"
            "  before it pays producers or sweeps its address; it looks at a payout it\n"
            "  sent from the next tick on by the same rule until it is confirmed.\n"
            "\nHTTPS with client certificates (docs/SECURITY.md): PUT and DELETE\n"
            "/registration/{id} (enrolled members, with their own certificate), GET\n"
            "/api/status, /api/slots?from=&to=, /api/config (anyone: community totals),\n"
            "/api/me and a member's own /api/producers|consumers/{id}/slots, and for the\n"
            "operator also /api/producers, /api/consumers, /api/enrolments, /api/log;\n"
            "the live dashboard at https://HOST:PORT/. GET /api/events?limit=N: recent\n"
            "events (settlements for anyone, a member's own too, all for the operator).\n"
            "/api/quarantine (operator) lists readings held back.\n"
            "\n`p2pgrid grid enrol --config FILE --member CERT` enrols a producer or\n"
            "consumer; `p2pgrid grid quarantine --config FILE list|release ID|reject ID`\n"
            "decides about readings held back; `p2pgrid grid audit-export --config FILE`\n"
            "writes the audit export for `p2pgrid audit` (see their --help).\n"
            "GET /api/record (anyone) gives the root of the public settlement record.\n");
}

/* /metrics, logs, state, systemd, exit status. */
static void usage_tail(FILE *f, role r) {
  const char *n = role_names[r];
  fprintf(f,
          "\nGET /metrics on the [api] port: Prometheus text format 0.0.4 (%s;\n"
          "docs/OPERATIONS.md lists them). Like /api/status it answers only the entity\n"
          "itself or an operator (client certificate of the CA): give Prometheus an\n"
          "operator certificate.\n",
          r == R_GRID ? "slots settled,\nreadings by outcome, quarantine, bills, payments, "
                        "payouts, float,\nregistrations, node errors"
          : r == R_PRODUCER ? "slots reported,\nits sources' readings by outcome, payments "
                              "received, registrations,\nnode errors"
          : r == R_CONSUMER ? "slots reported,\npayment requests, payments sent, "
                              "registrations, node errors"
                            : "slots reported,\nregistrations, node errors");
  fprintf(f,
          "\nLogs go to stderr; SIGINT or SIGTERM stops it cleanly. All state is in\n"
          "SQLite under data_dir: a restart (also after kill -9) resumes without losing\n"
          "or repeating a reading or a payment.\n"
          "Under systemd (unit p2pgrid-%s@NAME, Type=notify, config\n"
          "/etc/p2pgrid/%s/NAME.ini): READY=1 once it serves, STATUS= when a step fails\n"
          "or recovers, WATCHDOG=1 at half of WatchdogSec, STOPPING=1.\n"
          "Exit status: 0 after a clean stop, 1 on failure, 2 for bad usage or configuration.\n",
          n, n);
}

void pg_cmd_source_usage(FILE *f) { usage_common(f, R_SOURCE); }
void pg_cmd_producer_usage(FILE *f) { usage_common(f, R_PRODUCER); }
void pg_cmd_consumer_usage(FILE *f) { usage_common(f, R_CONSUMER); }
void pg_cmd_grid_usage(FILE *f) { usage_common(f, R_GRID); }

typedef struct daemon {
  role r;
  void *entity;
  pg_httpd *http;
  const char *node_url; /* [node] url, for the dashboard's explorer links */
  const char *id;
} daemon_t;

static int status_of(daemon_t *dm, json_t **out, pg_diag *d) {
  switch (dm->r) {
  case R_SOURCE: return pg_source_status(dm->entity, out, d);
  case R_PRODUCER: return pg_producer_status(dm->entity, out, d);
  case R_CONSUMER: return pg_consumer_status(dm->entity, out, d);
  default: return pg_gridop_status(dm->entity, out, d);
  }
}

static int metrics_of(daemon_t *dm, pg_buf *out, pg_diag *d) {
  switch (dm->r) {
  case R_SOURCE: return pg_source_metrics(dm->entity, out, d);
  case R_PRODUCER: return pg_producer_metrics(dm->entity, out, d);
  case R_CONSUMER: return pg_consumer_metrics(dm->entity, out, d);
  default: return pg_gridop_metrics(dm->entity, out, d);
  }
}

/* GET or HEAD by the entity itself or an operator (its status and metrics
 * are their business); otherwise resp holds the 405 or 403. */
static bool own_read(const daemon_t *dm, const pg_httpd_req *req, pg_httpd_resp *resp) {
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    if (pg_httpd_resp_header(resp, "Allow", "GET, HEAD") != PG_OK) pg_log_debug("http", "no Allow header");
    pg_httpd_error(resp, 405, NULL, "%s is read-only: use GET", req->path);
    return false;
  }
  const pg_httpd_peer *peer = req->peer;
  if (!peer->verified ||
      (strcmp(peer->member.id, dm->id) != 0 && peer->member.role != PG_ROLE_OPERATOR)) {
    pg_httpd_error(resp, 403, NULL, "%s: only '%s' itself or an operator may read it (%s)",
                   req->path, dm->id, peer->verified ? peer->member.id : peer->why);
    return false;
  }
  return true;
}

/* GET /metrics: Prometheus text (pg_*_metrics). */
static void serve_metrics(daemon_t *dm, const pg_httpd_req *req, pg_httpd_resp *resp) {
  if (!own_read(dm, req, resp)) return;
  pg_diag d = {{0}};
  pg_buf b;
  pg_buf_init(&b, 1u << 20);
  if (metrics_of(dm, &b, &d) != PG_OK) {
    pg_buf_free(&b);
    pg_httpd_error(resp, 500, NULL, "metrics: %s", d.msg);
    return;
  }
  uint8_t *p = NULL;
  size_t len = 0;
  pg_buf_take(&b, &p, &len);
  pg_httpd_resp_take(resp, 200, PG_METRICS_CONTENT_TYPE, p, len);
}

/* The routes: GET /metrics; the grid's whole HTTP API and dashboard
 * (pg_gridop_http); a producer's registration API; everyone's GET
 * /api/status. */
static void handle(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  daemon_t *dm = ctx;
  pg_diag d = {{0}};
  if (strcmp(req->path, "/metrics") == 0) {
    serve_metrics(dm, req, resp);
    return;
  }
  if (dm->r == R_GRID) {
    pg_gridop_http(dm->entity, dm->node_url, dm->http, req, resp);
    return;
  }
  if (dm->r == R_PRODUCER && strncmp(req->path, "/registration/", 14) == 0) {
    pg_registration_http(pg_producer_handle, dm->entity, req, resp);
    return;
  }
  if (strcmp(req->path, "/api/status") != 0) {
    pg_httpd_error(resp, 404, NULL, "no such path: %s", req->path);
    return;
  }
  if (!own_read(dm, req, resp)) return;
  json_t *j = NULL;
  if (status_of(dm, &j, &d) != PG_OK)
    pg_httpd_error(resp, 500, NULL, "%s", d.msg);
  else
    pg_httpd_resp_json(resp, 200, j);
}

static pg_role role_of(role r) {
  switch (r) {
  case R_SOURCE: return PG_ROLE_SOURCE;
  case R_PRODUCER: return PG_ROLE_PRODUCER;
  case R_CONSUMER: return PG_ROLE_CONSUMER;
  default: return PG_ROLE_GRID;
  }
}

/* [node] ca (a CA for an https:// node other than [tls] ca) and token_file
 * (a bearer token for a node that limits who may POST). */
static int node_access(const char *cmd, const pg_entity_config *ec, pg_tls_files *t,
                       char **bearer) {
  pg_diag d = {{0}};
  if (ec->node_ca) t->ca_file = ec->node_ca;
  if (!ec->token_file) return PG_EXIT_OK;
  if (pg_read_secret_line(ec->token_file, bearer, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: [node] token_file: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

/* [mqtt]: the node's events through a broker (docs/CONFIG.md); *out stays
 * NULL without [mqtt] host. The connection is made in the background. */
static int start_events(const char *cmd, pg_config *cfg, pg_events **out) {
  pg_mqtt_settings ms = {0};
  pg_diag d = {{0}};
  int status = PG_EXIT_OK;
  *out = NULL;
  if (pg_mqtt_settings_load(&ms, cfg, "mqtt", NULL, &d) != PG_OK ||
      (ms.host && pg_events_new(&ms, out, &d) != PG_OK)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    status = PG_EXIT_USAGE;
  }
  pg_mqtt_settings_clear(&ms);
  return status;
}

/* Wakes on outputs to the entity's own address too (the grid's, where
 * payments arrive), once its status names one (after a step has asked the
 * node for the HRP); true when done or nothing to do. */
static bool watch_own_address(daemon_t *dm, pg_events *ev, const char *sec) {
  json_t *st = NULL;
  pg_diag d = {{0}};
  if (!ev || dm->r != R_GRID) return true;
  if (status_of(dm, &st, &d) != PG_OK) return false;
  const char *a = json_string_value(json_object_get(st, "address"));
  bool done = a && *a;
  if (done && pg_events_watch(ev, a, &d) != PG_OK) pg_log_warn(sec, "events: %s", d.msg);
  json_decref(st);
  return done;
}

/* Waits a tick, or less when an event arrives (then the next step runs at
 * once, *woke set); returns the stop signal received, or 0. */
static int wait_next(const sigset_t *sigs, int sigfd, pg_events *ev, uint64_t tick_ms,
                     bool *woke) {
  *woke = false;
  if (!ev || sigfd < 0) {
    struct timespec ts = {.tv_sec = (time_t)(tick_ms / 1000), .tv_nsec = (long)(tick_ms % 1000) * 1000000L};
    int sig = sigtimedwait(sigs, NULL, &ts);
    return sig > 0 ? sig : 0;
  }
  struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = pg_events_fd(ev), .events = POLLIN}};
  int n = poll(p, 2, (int)tick_ms);
  struct signalfd_siginfo si;
  if (n > 0 && (p[0].revents & POLLIN) && read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
    return (int)si.ssi_signo;
  if (n > 0 && (p[1].revents & POLLIN)) *woke = pg_events_take(ev);
  return 0;
}

/* The version and what this daemon is (never a secret: no seed, key or
 * token; a URL without its user:password). bind NULL: no API. */
static void log_summary(const daemon_t *dm, const pg_app_tls *tls, const char *data_dir,
                        const char *up_url, const char *bind, const pg_gridop_opts *go,
                        uint64_t slot_ms) {
  const char *sec = role_names[dm->r];
  char node[256], up[256], api[300] = "off", grid[160] = "";
  pg_app_url_public(dm->node_url, node, sizeof node);
  pg_app_url_public(up_url ? up_url : "-", up, sizeof up);
  if (bind && dm->http) snprintf(api, sizeof api, "https://%s:%u", bind, (unsigned)pg_httpd_port(dm->http));
  if (go)
    snprintf(grid, sizeof grid, ", mechanism %s, import %llu, export %llu per price unit",
             pg_market_mech_name(go->mech), (unsigned long long)go->import_price,
             (unsigned long long)go->export_price);
  pg_log_info(sec, "p2pgrid %s: role %s, id %s, data dir %s, node %s, upstream %s, API %s, TLS on "
              "(mutual, CA %s), slots of %llu ms%s, log format %s",
              pg_version(), sec, dm->id, data_dir, node, up, api, tls->files.ca_file,
              (unsigned long long)slot_ms, grid, pg_log_get_format() == PG_LOG_JSON ? "json" : "text");
}

/* systemd (sdnotify.h): READY=1 once the entity is open and serves (rc =
 * PG_OK before the first step), then after each step the outcome as
 * STATUS= when it changes and WATCHDOG=1 at half its period. *wait_ms, the
 * tick, shrinks to that half when it is longer. */
static void entity_notify(const char *sec, const char *id, bool ready, int rc, const pg_diag *sd,
                          int *last_rc, uint64_t *wait_ms) {
  pg_diag d = {{0}};
  char s[sizeof sd->msg + 32]; /* sent cut to 200 bytes (sdnotify.h) */
  int st = PG_OK;
  if (ready || rc != *last_rc) {
    if (rc) snprintf(s, sizeof s, "step failed, retrying: %s", sd->msg);
    else snprintf(s, sizeof s, "%s '%s' running", sec, id);
    st = ready ? pg_sd_ready(s, &d) : pg_sd_status(s, &d);
    *last_rc = rc;
  }
  uint64_t half = 0;
  if (!st) st = pg_sd_watchdog_ms(&half, &d);
  if (!st && half) st = pg_sd_watchdog(&d);
  if (half && half < *wait_ms) *wait_ms = half;
  if (st) pg_log_warn(sec, "systemd: %s", d.msg);
}

/* ---- the daemon: command line, start, loop, stop ---- */

/* The command line of a daemon. */
typedef struct entity_args {
  const char *config_path, *level, *format;
  bool once;
  pg_app_overrides ov;
} entity_args;

/* Everything a running daemon holds (released by run_free). */
typedef struct run {
  role r;
  const char *cmd, *sec;
  daemon_t dm;
  pg_config *cfg;
  pg_entity_config ec;
  pg_client *client;
  pg_registrar *up;
  pg_meter *meter;
  pg_events *events;
  int sigfd;
  pg_app_data_dir dirlock;
  pg_app_tls tls;
  char *bearer;
  uint8_t seed[64];
  size_t seed_len;
  sigset_t stop_sigs;
} run_t;

/* Parses the options; *done (with the status) after --help or an error. */
static int parse_args(const char *cmd, role r, int argc, char **argv, entity_args *a, bool *done) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
      {"log-level", required_argument, NULL, 'l'}, {"once", no_argument, NULL, 'o'},
      {"log-format", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
  };
  int ch, rc = 0;
  *done = true;
  pg_app_opts os = {.cmd = cmd, .longopts = opts, .repeatable = (const int[]){'s', 0}};
  opterr = 0;
  optind = 1;
  while ((ch = pg_app_getopt(&os, argc, argv, ":c:s:l:F:h")) != -1) {
    switch (ch) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 'c': a->config_path = optarg; break;
    case 'l': a->level = optarg; break;
    case 'F': a->format = optarg; break;
    case 'o': a->once = true; break;
    case 's':
      if (!strchr(optarg, '=')) {
        fprintf(stderr, "p2pgrid %s: --set wants SECTION.KEY=VALUE, got '%s'\n", cmd, optarg);
        return PG_EXIT_USAGE;
      }
      rc = pg_app_override_add(&a->ov, optarg, "");
      break;
    case 'h':
      usage_common(stdout, r);
      return PG_EXIT_OK;
    case ':':
      fprintf(stderr, "p2pgrid %s: option '%s' needs a value\n\n", cmd, argv[optind - 1]);
      usage_common(stderr, r);
      return PG_EXIT_USAGE;
    default:
      fprintf(stderr, "p2pgrid %s: unknown option '%s'\n\n", cmd, argv[optind - 1]);
      usage_common(stderr, r);
      return PG_EXIT_USAGE;
    }
    if (rc) {
      fprintf(stderr, "p2pgrid %s: out of memory\n", cmd);
      return PG_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid %s: unexpected argument '%s'\n", cmd, argv[optind]);
    return PG_EXIT_USAGE;
  }
  if (!a->config_path) {
    fprintf(stderr, "p2pgrid %s: --config FILE is required (see %s)\n", cmd, role_examples[r]);
    return PG_EXIT_USAGE;
  }
  *done = false;
  return PG_EXIT_OK;
}

/* The configuration (p2pgrid/grid/entity_config.h) and the log settings.
 * PG_EXIT_*. */
static int configure(run_t *R, const entity_args *a) {
  pg_diag d = {{0}};
  int status = pg_app_config_load(R->cmd, a->config_path, &a->ov, &R->cfg);
  if (status != PG_EXIT_OK) return status;
  if (pg_entity_config_read(R->cfg, role_of(R->r), &R->ec, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", R->cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  const char *lvl = a->level ? a->level : R->ec.log_level;
  if (lvl && pg_log_set_level_str(lvl, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: log level: %s\n", R->cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  return pg_app_log_format(R->cmd, R->cfg, R->sec, a->format);
}

/* The files and connections the configuration names: data dir lock, TLS,
 * upstream, wallet seed, meter, events, node client. PG_EXIT_*. */
static int prepare(run_t *R) {
  const char *cmd = R->cmd;
  pg_entity_config *ec = &R->ec;
  pg_diag d = {{0}};
  int status;
  if ((status = pg_app_data_dir_take(cmd, ec->eo.data_dir, &R->dirlock)) != PG_EXIT_OK ||
      (status = pg_app_tls_load(cmd, R->cfg, &R->tls)) != PG_EXIT_OK ||
      (status = pg_app_tls_check_member(cmd, &R->tls, ec->eo.id, role_of(R->r))) != PG_EXIT_OK)
    return status;
  if (R->r != R_GRID &&
      pg_registrar_http_new(ec->upstream_url, &R->tls.files,
                            R->r == R_SOURCE ? PG_ROLE_PRODUCER : PG_ROLE_GRID,
                            R->r == R_SOURCE ? R->tls.me.parent : NULL, &R->up, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  if (R->r != R_SOURCE &&
      pg_app_load_seed(cmd, ec->seed_file, ec->mnemonic_file, R->seed, &R->seed_len))
    return PG_EXIT_USAGE;
  if (R->r == R_SOURCE || R->r == R_CONSUMER) {
    uint64_t ms = 0;
    for (const char *p = ec->eo.id; *p; p++) ms = ms * 131 + (unsigned char)*p;
    if (pg_meter_from_config(R->cfg, "meter", ms, &R->meter, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      return PG_EXIT_USAGE;
    }
  }
  if ((status = start_events(cmd, R->cfg, &R->events)) != PG_EXIT_OK ||
      (status = pg_app_config_unused(cmd, R->cfg)) != PG_EXIT_OK)
    return status;
  pg_tls_files node_tls = R->tls.files;
  if ((status = node_access(cmd, ec, &node_tls, &R->bearer)) != PG_EXIT_OK) return status;
  pg_http_client_opts ho = {.base_url = ec->node_url, .timeout_ms = (unsigned)ec->node_timeout_ms,
                            .tls = &node_tls, .bearer = R->bearer};
  if (pg_client_http_new(&ho, &R->client, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: [node] url: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

/* Opens the entity of the role. PG_EXIT_*. */
static int open_entity(run_t *R) {
  pg_entity_config *ec = &R->ec;
  pg_entity_opts eo = ec->eo;
  pg_diag d = {{0}};
  int rc = PG_OK;
  eo.upstream = R->up;
  eo.key = R->tls.member;
  eo.events = R->events;
  eo.client = R->client;
  R->dm.node_url = ec->node_url;
  R->dm.id = eo.id;
  /* a member's database is small: keep SQLite's cache small too (the grid's
   * books serve every member and keep SQLite's default) */
  if (R->r != R_GRID && pg_db_memory_cap(ENTITY_SQLITE_CAP, &d) != PG_OK) {
    pg_log_warn("entity", "%s", d.msg);
    d.msg[0] = '\0';
  }
  switch (R->r) {
  case R_SOURCE: rc = pg_source_open(&eo, R->meter, (pg_source **)&R->dm.entity, &d); break;
  case R_PRODUCER:
    ec->po.seed = R->seed, ec->po.seed_len = R->seed_len;
    rc = pg_producer_open(&eo, &ec->po, (pg_producer **)&R->dm.entity, &d);
    break;
  case R_CONSUMER:
    ec->co.seed = R->seed, ec->co.seed_len = R->seed_len;
    rc = pg_consumer_open(&eo, &ec->co, R->meter, (pg_consumer **)&R->dm.entity, &d);
    break;
  case R_GRID:
    ec->go.seed = R->seed, ec->go.seed_len = R->seed_len;
    rc = pg_gridop_open(&eo, &ec->go, (pg_gridop **)&R->dm.entity, &d);
    break;
  }
  sodium_memzero(R->seed, sizeof R->seed);
  if (!rc) return PG_EXIT_OK;
  pg_log_error(R->sec, "cannot start: %s", d.msg);
  return rc == PG_ERR_CONFIG ? PG_EXIT_USAGE : PG_EXIT_FAIL;
}

/* The HTTPS API of the role (when it has one). PG_EXIT_*. */
static int serve(run_t *R) {
  const pg_entity_config *ec = &R->ec;
  const pg_app_tls *tls = &R->tls;
  pg_diag d = {{0}};
  if (!ec->api) return PG_EXIT_OK;
  pg_httpd_opts hopts = {.bind = ec->bind, .port = (uint16_t)ec->port, .max_body = 8192,
                         .handler = handle, .ctx = &R->dm, .error_code = pg_httpd_code_named,
                         .log_name = R->sec, .tls_cert_file = tls->files.cert_file,
                         .tls_key_file = tls->files.key_file, .trust = tls->trust,
                         .hosts = tls->host_ptrs, .nhosts = tls->nhosts,
                         .max_connections = (unsigned)tls->max_connections,
                         .per_ip_connections = (unsigned)tls->per_client,
                         .connection_timeout_s = tls->idle_timeout_s};
  if (pg_httpd_start(&hopts, &R->dm.http, &d) != PG_OK) {
    pg_log_error(R->sec, "cannot serve HTTPS on %s:%llu: %s", ec->bind,
                 (unsigned long long)ec->port, d.msg);
    return PG_EXIT_FAIL;
  }
  pg_log_info(R->sec, "listening on https://%s:%u (mutual TLS, CA %s)", ec->bind,
              (unsigned)pg_httpd_port(R->dm.http), tls->files.ca_file);
  return PG_EXIT_OK;
}

static int step_of(run_t *R, pg_diag *d) {
  switch (R->r) {
  case R_SOURCE: return pg_source_step(R->dm.entity, d);
  case R_PRODUCER: return pg_producer_step(R->dm.entity, d);
  case R_CONSUMER: return pg_consumer_step(R->dm.entity, d);
  default: return pg_gridop_step(R->dm.entity, d);
  }
}

/* An event woke the daemon: what it polls for (payments, payouts, bills,
 * confirmations) is looked for at the next step, whatever the poll's gap. */
static void wake_of(run_t *R) {
  switch (R->r) {
  case R_SOURCE: break;
  case R_PRODUCER: pg_producer_wake(R->dm.entity); break;
  case R_CONSUMER: pg_consumer_wake(R->dm.entity); break;
  default: pg_gridop_wake(R->dm.entity); break;
  }
}

/* A step every tick (sooner on an event) until SIGINT/SIGTERM, or one step
 * with once. PG_EXIT_*. */
static int loop(run_t *R, bool once) {
  const char *sec = R->sec, *id = R->ec.eo.id;
  uint64_t tick_ms = R->ec.tick_ms, slot_ms = R->ec.eo.slot_ms;
  pg_diag d = {{0}};
  bool watching = false;
  int last_rc = PG_OK;
  log_summary(&R->dm, &R->tls, R->ec.eo.data_dir, R->ec.upstream_url,
              R->ec.api ? R->ec.bind : NULL, R->r == R_GRID ? &R->ec.go : NULL, slot_ms);
  pg_log_info(sec, "%s '%s' running (pid %ld, node %s, slots of %llu ms); stop with SIGINT or SIGTERM",
              sec, id, (long)getpid(), R->ec.node_url, (unsigned long long)slot_ms);
  entity_notify(sec, id, true, PG_OK, &d, &last_rc, &tick_ms);
  for (;;) {
    int rc = step_of(R, &d);
    if (rc == PG_ERR_CONFIG || (rc && once)) {
      pg_log_error(sec, "stopping: %s", d.msg);
      return PG_EXIT_FAIL;
    }
    /* a storage failure (a full disk, a locked or failing database) is
     * rolled back where it happened: say so and try again next tick */
    if (rc) pg_log_error(sec, "step failed, retrying: %s", d.msg);
    if (!watching) watching = watch_own_address(&R->dm, R->events, sec);
    if (once) return PG_EXIT_OK;
    entity_notify(sec, id, false, rc, &d, &last_rc, &tick_ms);
    bool woke = false;
    int sig = wait_next(&R->stop_sigs, R->sigfd, R->events, tick_ms, &woke);
    if (woke) wake_of(R);
    if (sig == SIGINT || sig == SIGTERM) {
      pg_log_info(sec, "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      if (pg_sd_stopping(sig == SIGINT ? "SIGINT received, stopping" : "SIGTERM received, stopping",
                         &d) != PG_OK)
        pg_log_warn(sec, "systemd: %s", d.msg);
      return PG_EXIT_OK;
    }
  }
}

static void run_free(run_t *R, int status) {
  pg_httpd_stop(R->dm.http);
  if (R->dm.entity) {
    switch (R->r) {
    case R_SOURCE: pg_source_close(R->dm.entity); break;
    case R_PRODUCER: pg_producer_close(R->dm.entity); break;
    case R_CONSUMER: pg_consumer_close(R->dm.entity); break;
    case R_GRID: pg_gridop_close(R->dm.entity); break;
    }
    if (status == PG_EXIT_OK) pg_log_info(R->sec, "stopped");
  }
  pg_meter_free(R->meter);
  pg_entity_config_clear(&R->ec);
  pg_events_free(R->events);
  if (R->sigfd >= 0) close(R->sigfd);
  pg_registrar_free(R->up);
  pg_app_tls_free(&R->tls);
  if (R->bearer) sodium_memzero(R->bearer, strlen(R->bearer));
  free(R->bearer);
  pg_client_free(R->client);
  pg_config_free(R->cfg);
  sodium_memzero(R->seed, sizeof R->seed);
  pg_app_data_dir_release(&R->dirlock); /* a failed start leaves no data dir it made */
}

static int run_grid_enrol(const char *cmd, int argc, char **argv) {
  (void)cmd;
  return pg_cmd_grid_enrol(argc, argv);
}
static int run_grid_quarantine(const char *cmd, int argc, char **argv) {
  (void)cmd;
  return pg_cmd_grid_quarantine(argc, argv);
}
static int run_grid_audit_export(const char *cmd, int argc, char **argv) {
  (void)cmd;
  return pg_cmd_grid_audit_export(argc, argv);
}

/* The daemons' tool subcommands: `p2pgrid ROLE SUB ...`. */
static const struct {
  const char *cmd, *sub;
  int (*run)(const char *cmd, int argc, char **argv);
} tools[] = {
    {"grid", "enrol", run_grid_enrol},
    {"grid", "quarantine", run_grid_quarantine},
    {"grid", "audit-export", run_grid_audit_export},
    {"consumer", "audit-keys", pg_cmd_audit_keys},
    {"producer", "audit-keys", pg_cmd_audit_keys},
};

int pg_cmd_entity(int argc, char **argv) {
  const char *cmd = argv[0];
  for (size_t i = 0; argc > 1 && i < sizeof tools / sizeof tools[0]; i++)
    if (strcmp(cmd, tools[i].cmd) == 0 && strcmp(argv[1], tools[i].sub) == 0)
      return tools[i].run(cmd, argc - 1, argv + 1);
  role r = R_GRID;
  for (role k = R_SOURCE; k < R_GRID; k++)
    if (strcmp(cmd, role_names[k]) == 0) r = k;
  entity_args a = {0};
  run_t R = {.r = r, .cmd = cmd, .sec = role_names[r], .dm = {.r = r}, .sigfd = -1};
  memset(&R.tls, 0, sizeof R.tls);
  bool done = false;
  int status = parse_args(cmd, r, argc, argv, &a, &done);
  if (done) goto out;
  /* blocked before any thread starts (MQTT meter, events), so that only
   * the loop below takes them */
  sigemptyset(&R.stop_sigs);
  sigaddset(&R.stop_sigs, SIGINT);
  sigaddset(&R.stop_sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &R.stop_sigs, NULL);
  if ((status = configure(&R, &a)) != PG_EXIT_OK || (status = prepare(&R)) != PG_EXIT_OK ||
      (status = open_entity(&R)) != PG_EXIT_OK)
    goto out;
  pg_app_data_dir_keep(&R.dirlock); /* opened: its data stays */
  signal(SIGPIPE, SIG_IGN);
  if (R.events) R.sigfd = signalfd(-1, &R.stop_sigs, SFD_CLOEXEC);
  if ((status = serve(&R)) == PG_EXIT_OK) status = loop(&R, a.once);
out:
  run_free(&R, status);
  pg_app_overrides_free(&a.ov);
  return status;
}
