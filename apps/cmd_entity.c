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
#include "p2pgrid/base/file.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/client/events.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/metrics.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/base/sdnotify.h"
#include "p2pgrid/base/timelabel.h"

/* SQLite's memory in a source, producer or consumer daemon (db.h) */
#define ENTITY_SQLITE_CAP (1024 * 1024)

typedef enum role { R_SOURCE, R_PRODUCER, R_CONSUMER, R_GRID } role;
static const char *role_names[] = {"source", "producer", "consumer", "grid"};

static void usage_common(FILE *f, role r) {
  const char *n = role_names[r];
  fprintf(f, "usage: p2pgrid %s --config FILE [--set SECTION.KEY=VALUE ...]\n\n", n);
  switch (r) {
  case R_SOURCE:
    fprintf(f,
            "Runs an energy source (solar panel, wind turbine, any meter): every finished\n"
            "slot it writes one `output` message (kWh) to its own restricted MAM channel,\n"
            "which it registers at its producer ([upstream] url). Readings come from\n"
            "[meter]: a built-in solar or wind profile, a CSV file, or an MQTT topic.\n");
    break;
  case R_PRODUCER:
    fprintf(f,
            "Runs a producer: serves the registration API for its sources ([api]), reads\n"
            "their channels, adds up each slot into its own `output` (with its ask price\n"
            "and payment address) on a channel registered at the grid ([upstream] url),\n"
            "and records what the grid pays it.\n");
    break;
  case R_CONSUMER:
    fprintf(f,
            "Runs a consumer: registers at the grid ([upstream] url), writes one `usage`\n"
            "message per slot from [meter], reads the grid's payment requests on its\n"
            "return channel and pays each from its wallet (a reference inside the\n"
            "transfer), exactly once, and follows it to confirmation.\n");
    break;
  case R_GRID:
    fprintf(f,
            "Runs the grid operator: serves the registration API for producers and\n"
            "consumers and the status API ([api]), reads every registered channel,\n"
            "settles each slot with the market engine ([grid] mechanism and prices) once\n"
            "all reports are in or the grace time has passed, writes payment requests,\n"
            "matches incoming payments by reference and pays producers in batches.\n");
    break;
  }
  fprintf(f,
          "\noptions:\n"
          "  -c, --config FILE        INI settings (see examples/%s.ini); required\n"
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
          n, n, n);
  fprintf(f, "  [mqtt] host, port (1883), client_id, qos (1), tls_ca, tls_cert, tls_key: the\n"
             "     broker of the node's events; then a confirmed milestone%s makes the\n"
             "     next step run at once instead of at the next tick (off unless host is set)\n",
          r == R_GRID ? " or a payment to the\n     grid's address" : "");
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
               "     per kWh, per m³; none = any price), grace (slot/2)\n");
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
               "     when there is no max_price_per_unit)\n");
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

/* An optional price ("none" or absent = none) under key or its old name
 * alias (pg_config_alias). */
static int get_u64_opt(pg_config *cfg, const char *sec, const char *key, const char *alias,
                       bool *has, uint64_t *v, pg_diag *d) {
  const char *s = NULL;
  *has = false;
  int rc = alias ? pg_config_alias(cfg, sec, key, alias, &key, d) : PG_OK;
  if (!rc) rc = pg_config_get_str(cfg, sec, key, NULL, &s, d);
  if (rc || !s || !*s || strcmp(s, "none") == 0) return rc;
  *has = true;
  return pg_config_get_u64(cfg, sec, key, 0, 0, 9007199254740991ULL, v, d);
}

static pg_role role_of(role r) {
  switch (r) {
  case R_SOURCE: return PG_ROLE_SOURCE;
  case R_PRODUCER: return PG_ROLE_PRODUCER;
  case R_CONSUMER: return PG_ROLE_CONSUMER;
  default: return PG_ROLE_GRID;
  }
}

/* [SECTION] registration_rate, max_channels: limits of a registration API. */
static int read_limits(pg_config *cfg, const char *sec, pg_registry_limits *l, pg_diag *d) {
  uint64_t rate = 0, chans = 0;
  int rc = pg_config_get_u64(cfg, sec, "registration_rate", 10, 1, 10000, &rate, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "max_channels", 32, 1, 1000000, &chans, d);
  l->rate_per_min = (unsigned)rate;
  l->max_channels = (unsigned)chans;
  return rc;
}

/* [node] ca (a CA for an https:// node other than [tls] ca) and token_file
 * (a bearer token for a node that limits who may POST). */
static int node_access(const char *cmd, pg_config *cfg, pg_tls_files *t, char **bearer) {
  const char *ca = NULL, *tf = NULL;
  pg_diag d = {{0}};
  if (pg_config_get_str(cfg, "node", "ca", NULL, &ca, &d) ||
      pg_config_get_str(cfg, "node", "token_file", NULL, &tf, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  if (ca) t->ca_file = ca;
  if (!tf) return PG_EXIT_OK;
  if (pg_read_secret_line(tf, bearer, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: [node] token_file: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

/* [grid] community_price and group_rules of the sharing mechanisms. */
static int read_grid_sharing(pg_config *cfg, const char *sec, pg_gridop_opts *go, pg_diag *d) {
  uint64_t def = pg_market_default_community_price(go->import_price, go->export_price);
  int rc = pg_config_get_u64(cfg, sec, "community_price", def, 0, PG_MARKET_MAX_PRICE,
                             &go->community_price, d);
  pg_config_list l = {0};
  if (!rc) rc = pg_config_get_list(cfg, sec, "group_rules", NULL, PG_SHARE_MAX_GROUP + 1, &l, d);
  for (size_t g = 0; !rc && g < l.n; g++)
    rc = pg_market_share_rule_parse(l.items[g], &go->group_rules[g], d);
  go->n_group_rules = l.n;
  pg_config_list_free(&l);
  return rc;
}

/* [sharing]: the members' keys, groups and participation (grid.h); the
 * static keys of a group must not sum above 100 %. */
static int read_sharing(pg_config *cfg, pg_gridop_opts *go, pg_grid_share_member **m,
                        size_t *nm, pg_diag *d) {
  int rc = pg_grid_share_from_config(cfg, "sharing", m, nm, d);
  if (rc) return rc;
  size_t n = *nm;
  go->share = *m;
  go->n_share = n;
  uint64_t sum[PG_SHARE_MAX_GROUP + 1] = {0};
  for (size_t i = 0; i < n; i++) {
    uint32_t g = go->mech == PG_MARKET_HIERARCHICAL ? (*m)[i].group : 0;
    bool stat = go->mech == PG_MARKET_STATIC_KEY ||
                (go->mech == PG_MARKET_HIERARCHICAL && g < go->n_group_rules &&
                 go->group_rules[g] == PG_SHARE_RULE_STATIC);
    if (stat && (sum[g] += (*m)[i].key_ppm) > PG_SHARE_KEY_ONE)
      return pg_fail(d, PG_ERR_CONFIG, "[sharing]: the static keys of group %u sum above 100%%", g);
  }
  return PG_OK;
}

/* [grid]: mechanism, prices, fees, grace, payouts, reading bounds, float. */
static int read_grid_opts(pg_config *cfg, const char *sec, pg_gridop_opts *go, pg_diag *d) {
  const char *mech = NULL;
  int rc = pg_config_get_str(cfg, sec, "mechanism", "pay-as-clear", &mech, d);
  if (!rc) rc = pg_market_mech_parse(mech, &go->mech, d);
  if (!rc) rc = pg_config_require(cfg, sec, "import_price", d);
  if (!rc) rc = pg_config_require(cfg, sec, "export_price", d);
  const uint64_t price_max = 1ULL << 30, safe_max = 9007199254740991ULL;
  if (!rc) rc = pg_config_get_u64(cfg, sec, "import_price", 0, 0, price_max, &go->import_price, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "export_price", 0, 0, price_max, &go->export_price, d);
  if (!rc)
    rc = pg_config_get_u64_alias(cfg, sec, "fee_per_unit", "fee_per_kwh", 0, 0, price_max,
                                 &go->fee_per_kwh, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "fee_bp", 0, 0, 10000, &go->fee_bp, d);
  if (!rc)
    rc = pg_config_get_u64(cfg, sec, "fixed_buy_price", 0, 0, price_max, &go->fixed_buy_price, d);
  if (!rc)
    rc = pg_config_get_u64(cfg, sec, "fixed_sell_price", 0, 0, price_max, &go->fixed_sell_price, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "payout_min", 0, 0, safe_max, &go->payout_min, d);
  if (!rc)
    rc = pg_config_get_u64(cfg, sec, "dust_allowance", 10000000, 0, 1000000000000ULL,
                           &go->dust_allowance, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "float", 10000000000ULL, 0, safe_max, &go->float_max, d);
  if (!rc) rc = pg_config_get_duration_ms(cfg, sec, "grace", 0, 0, 7ULL * 86400000, &go->grace_ms, d);
  if (!rc)
    rc = pg_config_get_u64(cfg, sec, "default_max_kw", 100, 1, 1000000000, &go->default_max_w, d);
  if (!rc)
    rc = pg_config_get_duration_ms(cfg, sec, "late_window", 0, 0, 366ULL * 86400000,
                                   &go->late_window_ms, d);
  go->default_max_w *= 1000; /* kW -> W */
  go->has_float = true;
  if (!rc) rc = read_grid_sharing(cfg, sec, go, d);
  if (rc) {
    char msg[sizeof d->msg];
    snprintf(msg, sizeof msg, "%s", d->msg);
    rc = pg_fail(d, rc, "[grid] %s", msg);
  }
  return rc;
}

/* [tariff] (tariff.h): the monthly items (their months: [site] tz). */
static int read_grid_tariff(pg_config *cfg, pg_gridop_opts *go, pg_diag *d) {
  return pg_tariff_from_config(cfg, "tariff", &go->tariff, d);
}

/* The settings of the role's own section (and the registration limits of
 * the roles that serve registrations). */
static int read_role_opts(pg_config *cfg, role r, const char *sec, pg_producer_opts *po,
                          pg_consumer_opts *co, pg_gridop_opts *go, pg_diag *d) {
  pg_registry_limits limits = {0};
  int rc = PG_OK;
  if (r == R_PRODUCER || r == R_GRID) rc = read_limits(cfg, sec, &limits, d);
  po->limits = go->limits = limits;
  if (!rc && r == R_PRODUCER) {
    rc = get_u64_opt(cfg, sec, "ask_per_unit", "ask_per_kwh", &po->has_ask, &po->ask_per_kwh, d);
    if (!rc) rc = pg_config_get_duration_ms(cfg, sec, "grace", 0, 0, 7ULL * 86400000, &po->grace_ms, d);
  }
  if (!rc && r == R_CONSUMER) {
    rc = get_u64_opt(cfg, sec, "bid_per_unit", "bid_per_kwh", &co->has_bid, &co->bid_per_kwh, d);
    if (!rc)
      rc = get_u64_opt(cfg, sec, "max_price_per_unit", "max_price_per_kwh", &co->has_max_price,
                       &co->max_price_per_kwh, d);
    if (!rc)
      rc = get_u64_opt(cfg, sec, "max_monthly", NULL, &co->has_max_monthly, &co->max_monthly, d);
    if (!rc) rc = pg_config_get_str(cfg, sec, "grid_address", NULL, &co->grid_address, d);
  }
  if (!rc && r == R_GRID) rc = read_grid_opts(cfg, sec, go, d);
  if (!rc && r == R_GRID) rc = read_grid_tariff(cfg, go, d);
  return rc;
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
 * once); returns the stop signal received, or 0. */
static int wait_next(const sigset_t *sigs, int sigfd, pg_events *ev, uint64_t tick_ms) {
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
  if (n > 0 && (p[1].revents & POLLIN)) (void)pg_events_take(ev);
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
              pg_node_version(), sec, dm->id, data_dir, node, up, api, tls->files.ca_file,
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

int pg_cmd_entity(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
      {"log-level", required_argument, NULL, 'l'}, {"once", no_argument, NULL, 'o'},
      {"log-format", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
  };
  role r;
  const char *cmd = argv[0];
  if (strcmp(cmd, "grid") == 0 && argc > 1 && strcmp(argv[1], "enrol") == 0)
    return pg_cmd_grid_enrol(argc - 1, argv + 1);
  if (strcmp(cmd, "grid") == 0 && argc > 1 && strcmp(argv[1], "quarantine") == 0)
    return pg_cmd_grid_quarantine(argc - 1, argv + 1);
  if (strcmp(cmd, "grid") == 0 && argc > 1 && strcmp(argv[1], "audit-export") == 0)
    return pg_cmd_grid_audit_export(argc - 1, argv + 1);
  if ((strcmp(cmd, "consumer") == 0 || strcmp(cmd, "producer") == 0) && argc > 1 &&
      strcmp(argv[1], "audit-keys") == 0)
    return pg_cmd_audit_keys(cmd, argc - 1, argv + 1);
  if (strcmp(cmd, "source") == 0) r = R_SOURCE;
  else if (strcmp(cmd, "producer") == 0) r = R_PRODUCER;
  else if (strcmp(cmd, "consumer") == 0) r = R_CONSUMER;
  else r = R_GRID;
  const char *sec = role_names[r];
  int status = PG_EXIT_USAGE, ch, rc = 0;
  const char *config_path = NULL, *level = NULL, *format = NULL;
  bool once = false;
  pg_app_overrides ov = {0};
  pg_config *cfg = NULL;
  pg_client *client = NULL;
  pg_registrar *up = NULL;
  pg_meter *meter = NULL;
  pg_events *events = NULL;
  pg_grid_share_member *share = NULL; /* [sharing] (grid) */
  size_t n_share = 0;
  int sigfd = -1;
  daemon_t dm = {.r = r};
  pg_dirlock *dirlock = NULL;
  pg_app_tls tls;
  memset(&tls, 0, sizeof tls);
  char *bearer = NULL;
  uint8_t seed[64];
  size_t seed_len = 0;
  pg_diag d = {{0}};
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, ":c:s:l:F:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c': config_path = optarg; break;
    case 'l': level = optarg; break;
    case 'F': format = optarg; break;
    case 'o': once = true; break;
    case 's':
      if (!strchr(optarg, '=')) {
        fprintf(stderr, "p2pgrid %s: --set wants SECTION.KEY=VALUE, got '%s'\n", cmd, optarg);
        goto out;
      }
      rc = pg_app_override_add(&ov, optarg, "");
      break;
    case 'h':
      usage_common(stdout, r);
      status = PG_EXIT_OK;
      goto out;
    case ':':
      fprintf(stderr, "p2pgrid %s: option '%s' needs a value\n\n", cmd, argv[optind - 1]);
      usage_common(stderr, r);
      goto out;
    default:
      fprintf(stderr, "p2pgrid %s: unknown option '%s'\n\n", cmd, argv[optind - 1]);
      usage_common(stderr, r);
      goto out;
    }
    if (rc) {
      fprintf(stderr, "p2pgrid %s: out of memory\n", cmd);
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid %s: unexpected argument '%s'\n", cmd, argv[optind]);
    goto out;
  }
  if (!config_path) {
    fprintf(stderr, "p2pgrid %s: --config FILE is required (see examples/%s.ini)\n", cmd, sec);
    goto out;
  }
  /* blocked before any thread starts (MQTT meter, events), so that only
   * the loop below takes them */
  sigset_t stop_sigs;
  sigemptyset(&stop_sigs);
  sigaddset(&stop_sigs, SIGINT);
  sigaddset(&stop_sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
  status = pg_app_config_load(cmd, config_path, &ov, &cfg);
  if (status != PG_EXIT_OK) goto out;
  status = PG_EXIT_USAGE;

  const char *id = NULL, *name = NULL, *data_dir = NULL, *node_url = NULL, *up_url = NULL,
             *bind = NULL, *lvl = NULL;
  uint64_t slot_ms = 0, tick_ms = 0, retry_ms = 0, timeout_ms = 0, port = 0;
  int security = 2;
  bool api = r == R_PRODUCER || r == R_GRID;
  char dd[600];
  if (pg_config_require(cfg, sec, "id", &d) || pg_config_get_str(cfg, sec, "id", NULL, &id, &d) ||
      pg_config_get_str(cfg, sec, "name", NULL, &name, &d) ||
      pg_config_get_str(cfg, sec, "data_dir", NULL, &data_dir, &d) ||
      pg_config_get_str(cfg, sec, "log_level", NULL, &lvl, &d) ||
      pg_config_get_duration_ms(cfg, sec, "slot", 15 * 60 * 1000, 1000, 7ULL * 86400000, &slot_ms, &d) ||
      pg_config_get_duration_ms(cfg, sec, "tick", 500, 1, 60000, &tick_ms, &d) ||
      pg_config_get_duration_ms(cfg, sec, "retry", 2000, 1, 3600000, &retry_ms, &d) ||
      pg_config_get_int(cfg, sec, "security", 2, 1, 3, &security, &d) ||
      pg_config_get_str(cfg, "node", "url", "http://127.0.0.1:14265", &node_url, &d) ||
      pg_config_get_duration_ms(cfg, "node", "timeout", 60000, 100, 600000, &timeout_ms, &d) ||
      pg_config_get_str(cfg, "api", "bind", "127.0.0.1", &bind, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    goto out;
  }
  {
    const char *ps = NULL;
    if (pg_config_get_str(cfg, "api", "port", NULL, &ps, &d) == PG_OK && ps) api = true;
    if (pg_config_get_u64(cfg, "api", "port", r == R_GRID ? 8080 : r == R_PRODUCER ? 8081 : 0, 0,
                          65535, &port, &d)) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      goto out;
    }
  }
  if (level) lvl = level;
  if (lvl && pg_log_set_level_str(lvl, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: log level: %s\n", cmd, d.msg);
    goto out;
  }
  if ((status = pg_app_log_format(cmd, cfg, sec, format)) != PG_EXIT_OK) goto out;
  status = PG_EXIT_USAGE;
  if (slot_ms < 1000 || tick_ms == 0) {
    fprintf(stderr, "p2pgrid %s: [%s] slot must be at least 1s and tick more than 0\n", cmd, sec);
    goto out;
  }
  if (!data_dir) {
    snprintf(dd, sizeof dd, "./data/%s", id);
    data_dir = dd;
  }
  if ((status = pg_app_lock_data_dir(cmd, data_dir, &dirlock)) != PG_EXIT_OK ||
      (status = pg_app_tls_load(cmd, cfg, &tls)) != PG_EXIT_OK ||
      (status = pg_app_tls_check_member(cmd, &tls, id, role_of(r))) != PG_EXIT_OK)
    goto out;
  status = PG_EXIT_USAGE;
  if (r != R_GRID) {
    if (pg_config_require(cfg, "upstream", "url", &d) ||
        pg_config_get_str(cfg, "upstream", "url", NULL, &up_url, &d) ||
        pg_registrar_http_new(up_url, &tls.files,
                              r == R_SOURCE ? PG_ROLE_PRODUCER : PG_ROLE_GRID,
                              r == R_SOURCE ? tls.me.parent : NULL, &up, &d)) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      goto out;
    }
  }
  if (r != R_SOURCE) {
    const char *sf = NULL, *mf = NULL;
    if (pg_config_get_str(cfg, "wallet", "seed_file", NULL, &sf, &d) ||
        pg_config_get_str(cfg, "wallet", "mnemonic_file", NULL, &mf, &d)) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      goto out;
    }
    if (pg_app_load_seed(cmd, sf, mf, seed, &seed_len)) goto out;
  }
  if (r == R_SOURCE || r == R_CONSUMER) {
    uint64_t ms = 0;
    for (const char *p = id; *p; p++) ms = ms * 131 + (unsigned char)*p;
    if (pg_meter_from_config(cfg, "meter", ms, &meter, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      goto out;
    }
  }
  pg_entity_opts eo = {.id = id, .name = name, .data_dir = data_dir, .slot_ms = slot_ms,
                       .security = security, .upstream = up, .retry_ms = retry_ms,
                       .key = tls.member};
  if (pg_money_from_config(cfg, "money", &eo.money, &d) ||
      pg_resource_from_config(cfg, "resource", &eo.resource, &d) ||
      pg_tz_from_config(cfg, "site", "tz", "UTC", &eo.tz, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    goto out;
  }
  pg_producer_opts po = {0};
  pg_consumer_opts co = {0};
  pg_gridop_opts go = {0};
  if (read_role_opts(cfg, r, sec, &po, &co, &go, &d) ||
      (r == R_GRID && read_sharing(cfg, &go, &share, &n_share, &d))) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    goto out;
  }
  if (start_events(cmd, cfg, &events) != PG_EXIT_OK) goto out;
  eo.events = events;
  if (pg_app_config_unused(cmd, cfg) != PG_EXIT_OK) goto out;

  pg_tls_files node_tls = tls.files;
  if (node_access(cmd, cfg, &node_tls, &bearer) != PG_EXIT_OK) goto out;
  pg_http_client_opts ho = {.base_url = node_url, .timeout_ms = (unsigned)timeout_ms,
                            .tls = &node_tls, .bearer = bearer};
  if (pg_client_http_new(&ho, &client, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: [node] url: %s\n", cmd, d.msg);
    goto out;
  }
  eo.client = client;
  dm.node_url = node_url;
  dm.id = id;
  status = PG_EXIT_FAIL;
  /* a member's database is small: keep SQLite's cache small too (the grid's
   * books serve every member and keep SQLite's default) */
  if (r != R_GRID) pg_db_memory_cap(ENTITY_SQLITE_CAP);
  switch (r) {
  case R_SOURCE: rc = pg_source_open(&eo, meter, (pg_source **)&dm.entity, &d); break;
  case R_PRODUCER:
    po.seed = seed, po.seed_len = seed_len;
    rc = pg_producer_open(&eo, &po, (pg_producer **)&dm.entity, &d);
    break;
  case R_CONSUMER:
    co.seed = seed, co.seed_len = seed_len;
    rc = pg_consumer_open(&eo, &co, meter, (pg_consumer **)&dm.entity, &d);
    break;
  case R_GRID:
    go.seed = seed, go.seed_len = seed_len;
    rc = pg_gridop_open(&eo, &go, (pg_gridop **)&dm.entity, &d);
    break;
  }
  sodium_memzero(seed, sizeof seed);
  if (rc) {
    pg_log_error(sec, "cannot start: %s", d.msg);
    if (rc == PG_ERR_CONFIG) status = PG_EXIT_USAGE;
    goto out;
  }

  signal(SIGPIPE, SIG_IGN);
  if (events) sigfd = signalfd(-1, &stop_sigs, SFD_CLOEXEC);
  bool watching = false;

  if (api) {
    pg_httpd_opts hopts = {.bind = bind, .port = (uint16_t)port, .max_body = 8192,
                           .handler = handle, .ctx = &dm, .error_code = pg_httpd_code_named,
                           .log_name = sec, .tls_cert_file = tls.files.cert_file,
                           .tls_key_file = tls.files.key_file, .trust = tls.trust,
                           .hosts = tls.host_ptrs, .nhosts = tls.nhosts,
                           .max_connections = (unsigned)tls.max_connections,
                           .per_ip_connections = (unsigned)tls.per_client,
                           .connection_timeout_s = tls.idle_timeout_s};
    if (pg_httpd_start(&hopts, &dm.http, &d) != PG_OK) {
      pg_log_error(sec, "cannot serve HTTPS on %s:%llu: %s", bind, (unsigned long long)port, d.msg);
      goto out;
    }
    pg_log_info(sec, "listening on https://%s:%u (mutual TLS, CA %s)", bind,
                (unsigned)pg_httpd_port(dm.http), tls.files.ca_file);
  }
  log_summary(&dm, &tls, data_dir, up_url, api ? bind : NULL, r == R_GRID ? &go : NULL, slot_ms);
  pg_log_info(sec, "%s '%s' running (pid %ld, node %s, slots of %llu ms); stop with SIGINT or SIGTERM",
              sec, id, (long)getpid(), node_url, (unsigned long long)slot_ms);
  int last_rc = PG_OK;
  entity_notify(sec, id, true, PG_OK, &d, &last_rc, &tick_ms);
  for (;;) {
    switch (r) {
    case R_SOURCE: rc = pg_source_step(dm.entity, &d); break;
    case R_PRODUCER: rc = pg_producer_step(dm.entity, &d); break;
    case R_CONSUMER: rc = pg_consumer_step(dm.entity, &d); break;
    case R_GRID: rc = pg_gridop_step(dm.entity, &d); break;
    }
    if (rc == PG_ERR_CONFIG || (rc && once)) {
      pg_log_error(sec, "stopping: %s", d.msg);
      goto out;
    }
    /* a storage failure (a full disk, a locked or failing database) is
     * rolled back where it happened: say so and try again next tick */
    if (rc) pg_log_error(sec, "step failed, retrying: %s", d.msg);
    if (!watching) watching = watch_own_address(&dm, events, sec);
    if (once) break;
    entity_notify(sec, id, false, rc, &d, &last_rc, &tick_ms);
    int sig = wait_next(&stop_sigs, sigfd, events, tick_ms);
    if (sig == SIGINT || sig == SIGTERM) {
      pg_log_info(sec, "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      if (pg_sd_stopping(sig == SIGINT ? "SIGINT received, stopping" : "SIGTERM received, stopping",
                         &d) != PG_OK)
        pg_log_warn(sec, "systemd: %s", d.msg);
      break;
    }
  }
  status = PG_EXIT_OK;
out:
  pg_httpd_stop(dm.http);
  if (dm.entity) {
    switch (r) {
    case R_SOURCE: pg_source_close(dm.entity); break;
    case R_PRODUCER: pg_producer_close(dm.entity); break;
    case R_CONSUMER: pg_consumer_close(dm.entity); break;
    case R_GRID: pg_gridop_close(dm.entity); break;
    }
    if (status == PG_EXIT_OK) pg_log_info(sec, "stopped");
  }
  pg_meter_free(meter);
  pg_grid_share_free(share, n_share);
  pg_events_free(events);
  if (sigfd >= 0) close(sigfd);
  pg_registrar_free(up);
  pg_app_tls_free(&tls);
  if (bearer) sodium_memzero(bearer, strlen(bearer));
  free(bearer);
  pg_client_free(client);
  pg_config_free(cfg);
  pg_app_overrides_free(&ov);
  sodium_memzero(seed, sizeof seed);
  pg_dirlock_release(dirlock);
  return status;
}
