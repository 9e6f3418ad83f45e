/* p2pgrid node — runs the node daemon until SIGINT/SIGTERM. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/base/version.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/base/sdnotify.h"
#include "p2pgrid/tangle/tangle.h"

void pg_cmd_node_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid node [--config FILE] [options]\n"
          "\n"
          "Runs a Chrysalis node: the Tangle (SQLite under data_dir), the REST API v1\n"
          "(/api/v1/..., /health), for p2pgrid's daemons batches of up to 256 data\n"
          "messages (POST /api/plugins/data/batch) and of up to 256 index lookups\n"
          "with their messages (POST /api/plugins/data/find), of up to 1,000 output\n"
          "lookups with their messages (POST /api/plugins/data/outputs; docs/PROTOCOL.md)\n"
          "and, with\n"
          "[coordinator] enabled = true, the coordinator of a private network. Logs go\n"
          "to stderr; SIGINT or SIGTERM stops it cleanly.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE        INI settings (every key and default: examples/node.ini);\n"
          "                           without it all defaults apply\n"
          "  -d, --data-dir DIR       same as --set node.data_dir=DIR\n"
          "  -b, --bind ADDR          same as --set api.bind=ADDR\n"
          "  -p, --port PORT          same as --set api.port=PORT (0 = any free port; the\n"
          "                           log line 'listening on http(s)://ADDR:PORT' names it)\n"
          "  -l, --log-level LEVEL    error, warn, info or debug\n"
          "      --log-format FORMAT  text (default) or json: one JSON object a line\n"
          "                           (time, level, pid, module, msg) for log shippers;\n"
          "                           same as --set node.log_format=FORMAT\n"
          "  -s, --set SECTION.KEY=VALUE\n"
          "                           override any setting (repeatable)\n"
          "  -h, --help               this help\n"
          "\n"
          "HTTPS and who may POST ([api] keys; details in examples/node.ini):\n"
          "  tls_cert, tls_key        PEM certificate and key: serve HTTPS only\n"
          "  post_tokens_file         POST needs 'Authorization: Bearer <a token of the file>'\n"
          "  post_ca, post_crl        ... or, over HTTPS, a client certificate of this CA\n"
          "                           (revocations in post_crl apply without a restart)\n"
          "  Without credentials a POST gets 401, with refused ones 403; GET stays open.\n"
          "\n"
          "A replica ([peers] keys; details in examples/node.ini):\n"
          "  urls = http://a:14265, https://b:14265\n"
          "                           follow these nodes (ours or any Chrysalis node): fetch\n"
          "                           their milestones and the messages of their past cones,\n"
          "                           check everything here (PoW, milestone signatures\n"
          "                           against [milestones] public_keys, which a replica\n"
          "                           needs, ledger) and store it; no coordinator. POSTs are\n"
          "                           forwarded to the peers. A peer that serves anything\n"
          "                           invalid is refused (logged 'refusing peer URL: WHY').\n"
          "  poll_interval, refuse_for, max_backoff, ca_file, token_file (bearer token\n"
          "                           for peers that limit POST)\n"
          "  Status: GET /api/plugins/peers; compare nodes with\n"
          "  GET /api/plugins/ledger/digest/{milestone index}.\n"
          "Events ([mqtt] keys; off unless host is set): the node publishes the topics\n"
          "of Hornet's MQTT plugin (milestones/latest, milestones/confirmed, messages,\n"
          "messages/indexation/{hex}, messages/{id}/metadata, messages/referenced,\n"
          "outputs/{id}, addresses/{bech32}/outputs, addresses/ed25519/{hex}/outputs,\n"
          "transactions/{id}/included-message) to a broker such as mosquitto, for\n"
          "@iota/mqtt.js clients (docs/PROTOCOL.md):\n"
          "  host, port (1883)        the broker\n"
          "  client_id (p2pgrid-node), qos (0..2, 1)\n"
          "  tls_ca, tls_cert, tls_key  TLS to the broker (CA; client certificate)\n"
          "  queue (10000)            events held while the broker is slow or away;\n"
          "                           beyond it the oldest are dropped, counted, logged\n"
          "Display ([money], [site]): currency, units_per_currency (1Gi), decimals and\n"
          "  tz: how the explorer shows amounts and times (GET /api/plugins/display);\n"
          "  the API stays in base units (i).\n"
          "Metrics: GET /metrics in the Prometheus text format 0.0.4 (messages posted by\n"
          "  outcome, milestone indexes, tips, ledger outputs, API latency by route and\n"
          "  status class, PoW jobs, MQTT and peers; docs/OPERATIONS.md lists them). Open\n"
          "  like the rest of the GET API: no labels from requests, no member data.\n"
          "\n"
          "Command-line options override the file. Unknown settings are errors.\n"
          "One process per data directory: the node holds an exclusive lock on\n"
          "DATA_DIR/LOCK (with its pid) while it runs; a second node on the same\n"
          "directory stops at once with 'data dir DIR in use by pid N' (status 1).\n"
          "The kernel drops the lock when the node exits, also after kill -9.\n"
          "A start refused (a bad option or setting, a port in use) leaves no data\n"
          "directory, LOCK or key file behind that it created.\n"
          "An option given twice, or an option and a --set of the same setting, is\n"
          "refused naming both.\n"
          "The node keeps a UTXO ledger; its genesis comes from [ledger] genesis or\n"
          "genesis_file and must stay the same for a data directory.\n"
          "Under systemd (unit p2pgrid-node.service, Type=notify): READY=1 once the API\n"
          "listens, STATUS= with port, milestones and health, WATCHDOG=1 at half of\n"
          "WatchdogSec, STOPPING=1; libsystemd is loaded only when NOTIFY_SOCKET is set.\n"
          "Exit status: 0 after a clean stop, 1 if the node fails, 2 for bad usage or\n"
          "configuration (including a genesis that differs from the data directory's).\n");
}

/* The settings of a node: the log level first (so key generation etc. log
 * at it), then the data directory locked before anything in it is opened or
 * created (the config load may generate the coordinator key there; a failed
 * start removes what the take created, pg_app_data_dir_release; an empty
 * data_dir is left to the config load to report), then the config. */
static int node_settings(pg_config *cfg, pg_node_config *nc, pg_app_data_dir *dd) {
  pg_diag d = {{0}};
  const char *lvl = NULL, *dir = NULL;
  if (pg_config_get_str(cfg, "node", "log_level", NULL, &lvl, &d) == PG_OK && lvl &&
      pg_log_set_level_str(lvl, &d) != PG_OK) {
    char where[200];
    pg_config_where(cfg, "node", "log_level", where, sizeof where);
    fprintf(stderr, "p2pgrid node: %s: %s\n", where, d.msg);
    return PG_EXIT_USAGE;
  }
  int st = pg_app_log_format("node", cfg, "node", NULL);
  if (st != PG_EXIT_OK) return st;
  if (pg_config_get_str(cfg, "node", "data_dir", nc->data_dir, &dir, &d) == PG_OK && dir &&
      dir[0]) {
    st = pg_app_data_dir_take("node", dir, dd);
    if (st != PG_EXIT_OK) return st;
  }
  if (pg_node_config_load(nc, cfg, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid node: %s\n", d.msg);
    return PG_EXIT_USAGE;
  }
  return pg_app_config_unused("node", cfg);
}

/* The version and what this node is (never a secret: no seed, key or
 * token, only whether there are some). */
static void log_summary(const pg_node_config *nc, pg_node *node) {
  pg_log_info("node", "p2pgrid %s: role node, network %s (HRP %s), data dir %s, API %s://%s:%u, "
              "TLS %s, POST %s, coordinator %s, peers %zu, MQTT %s, log format %s",
              pg_version(), nc->network, nc->bech32_hrp, nc->data_dir,
              nc->tls_cert ? "https" : "http", nc->bind, (unsigned)pg_node_port(node),
              nc->tls_cert ? "on" : "off",
              nc->post_token_count ? "with tokens" : nc->post_ca ? "with client certificates" : "open",
              nc->coo_enabled ? "on" : "off", nc->peer_count, nc->mqtt.host ? nc->mqtt.host : "off",
              pg_log_get_format() == PG_LOG_JSON ? "json" : "text");
}

/* STATUS= for systemd: the port, the milestones and health. Reading the
 * Tangle's status takes its lock, so a node whose store hangs stops here and
 * its watchdog fires. */
static void node_status(pg_node *node, bool ready) {
  pg_tangle_status st;
  pg_diag d = {{0}};
  char s[160];
  pg_tangle_get_status(pg_node_tangle(node), &st);
  snprintf(s, sizeof s, "API on port %u; confirmed milestone %u of %u; %llu messages; %s",
           (unsigned)pg_node_port(node), (unsigned)st.confirmed_milestone_index,
           (unsigned)st.latest_milestone_index, (unsigned long long)st.messages,
           pg_node_is_healthy(node) ? "healthy" : "not healthy (GET /health says why)");
  if ((ready ? pg_sd_ready(s, &d) : pg_sd_status(s, &d)) != PG_OK ||
      pg_sd_watchdog(&d) != PG_OK)
    pg_log_warn("node", "systemd: %s", d.msg);
}

/* Serves until SIGINT or SIGTERM (blocked in sigs) and returns it; under
 * systemd tells it the node is ready (the API listens once pg_node_start has
 * returned) and wakes at half the watchdog period to say it still runs. */
static int serve(pg_node *node, const sigset_t *sigs) {
  pg_diag d = {{0}};
  uint64_t half_ms = 0;
  if (pg_sd_watchdog_ms(&half_ms, &d) != PG_OK) pg_log_warn("node", "systemd: %s", d.msg);
  node_status(node, true);
  for (;;) {
    int sig;
    if (half_ms == 0) {
      if (sigwait(sigs, &sig) == 0) return sig;
      continue;
    }
    struct timespec ts = {.tv_sec = (time_t)(half_ms / 1000), .tv_nsec = (long)(half_ms % 1000) * 1000000L};
    sig = sigtimedwait(sigs, NULL, &ts);
    if (sig > 0) return sig;
    node_status(node, false);
  }
}

int pg_cmd_node(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"data-dir", required_argument, NULL, 'd'},
      {"bind", required_argument, NULL, 'b'},
      {"port", required_argument, NULL, 'p'},
      {"log-level", required_argument, NULL, 'l'},
      {"log-format", required_argument, NULL, 'F'},
      {"set", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int status = PG_EXIT_USAGE;
  const char *config_path = NULL;
  pg_app_overrides ov = {0};
  pg_config *cfg = NULL;
  pg_node_config nc;
  pg_node *node = NULL;
  pg_app_data_dir dd = {0};
  pg_diag d = {{0}};
  int ch, rc = 0;
  pg_app_opts os = {.cmd = "node", .longopts = opts, .repeatable = (const int[]){'s', 0}};

  pg_node_config_init(&nc);
  opterr = 0;
  optind = 1;
  while ((ch = pg_app_getopt(&os, argc, argv, ":c:d:b:p:l:F:s:h")) != -1) {
    switch (ch) {
    case 'c': config_path = optarg; break;
    case 'd': rc = pg_app_override_opt(&ov, "--data-dir", "node.data_dir", optarg); break;
    case 'b': rc = pg_app_override_opt(&ov, "--bind", "api.bind", optarg); break;
    case 'p': rc = pg_app_override_opt(&ov, "--port", "api.port", optarg); break;
    case 'l': rc = pg_app_override_opt(&ov, "--log-level", "node.log_level", optarg); break;
    case 'F': rc = pg_app_override_opt(&ov, "--log-format", "node.log_format", optarg); break;
    case 's': rc = pg_app_override_add(&ov, optarg, ""); break;
    case PG_APP_OPT_BAD: goto out;
    case 'h':
      pg_cmd_node_usage(stdout);
      status = PG_EXIT_OK;
      goto out;
    case ':':
      fprintf(stderr, "p2pgrid node: option '%s' needs a value\n\n", argv[optind - 1]);
      pg_cmd_node_usage(stderr);
      goto out;
    default:
      fprintf(stderr, "p2pgrid node: unknown option '%s'\n\n", argv[optind - 1]);
      pg_cmd_node_usage(stderr);
      goto out;
    }
    if (rc) {
      fprintf(stderr, "p2pgrid node: out of memory\n");
      status = PG_EXIT_FAIL;
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid node: unexpected argument '%s'\n\n", argv[optind]);
    pg_cmd_node_usage(stderr);
    goto out;
  }

  status = pg_app_config_load("node", config_path, &ov, &cfg);
  if (status != PG_EXIT_OK) goto out;
  status = PG_EXIT_USAGE;
  status = node_settings(cfg, &nc, &dd);
  if (status != PG_EXIT_OK) goto out;

  /* Signals: blocked in every thread (threads inherit the mask), taken with
   * sigwait by this one. */
  sigset_t stop_sigs;
  sigemptyset(&stop_sigs);
  sigaddset(&stop_sigs, SIGINT);
  sigaddset(&stop_sigs, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL) != 0) {
    fprintf(stderr, "p2pgrid node: cannot block signals\n");
    status = PG_EXIT_FAIL;
    goto out;
  }
  signal(SIGPIPE, SIG_IGN);

  rc = pg_node_start(&nc, &node, &d);
  if (rc != PG_OK) {
    pg_log_error("node", "cannot start: %s", d.msg);
    /* a configuration that does not fit the data (e.g. another [ledger]
     * genesis than the one the data dir was created with) is a usage error */
    status = rc == PG_ERR_CONFIG ? PG_EXIT_USAGE : PG_EXIT_FAIL;
    goto out;
  }
  pg_app_data_dir_keep(&dd); /* started: its data stays */
  log_summary(&nc, node);
  pg_node_config_clear(&nc); /* wipes the coordinator seeds from this copy */
  pg_log_info("node", "p2pgrid %s running (pid %ld); stop with SIGINT or SIGTERM",
              pg_version(), (long)getpid());
  int sig = serve(node, &stop_sigs);
  pg_log_info("node", "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (pg_sd_stopping(sig == SIGINT ? "SIGINT received, stopping" : "SIGTERM received, stopping",
                     &d) != PG_OK)
    pg_log_warn("node", "systemd: %s", d.msg);
  pg_node_stop(node);
  node = NULL;
  pg_log_info("node", "stopped");
  status = PG_EXIT_OK;
out:
  pg_node_stop(node);
  pg_node_config_clear(&nc);
  pg_config_free(cfg);
  pg_app_overrides_free(&ov);
  pg_app_data_dir_release(&dd); /* last: the node is stopped and its files closed */
  return status;
}
