/* p2pgrid demo — an embedded node with its coordinator, real messages sent
 * over its real REST API, confirmed by real milestones. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/client.h"
#include "p2pgrid/clock.h"
#include "p2pgrid/config.h"
#include "p2pgrid/hex.h"
#include "p2pgrid/log.h"
#include "p2pgrid/node.h"

#define DEMO_INDEX "p2pgrid-demo"
#define MAX_MESSAGES 1000

void pg_cmd_demo_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid demo [options]\n"
          "\n"
          "Starts a node in this process with its own coordinator (a new key, one\n"
          "milestone per second) on a free port of 127.0.0.1, sends indexation messages\n"
          "through its REST API, waits until milestones reference them, prints what the\n"
          "API reports for each, and stops.\n"
          "\n"
          "options:\n"
          "  -d, --data-dir DIR       keep the Tangle in DIR (default: a temporary\n"
          "                           directory, removed at the end)\n"
          "  -n, --messages N         messages to send (default 5, at most %d)\n"
          "      --min-pow-score N    PoW score the node requires (default 0); the node\n"
          "                           does the proof of work for the messages\n"
          "  -t, --timeout SECONDS    give up waiting for milestones after this long\n"
          "                           (default 60)\n"
          "  -l, --log-level LEVEL    node log level (default warn)\n"
          "  -h, --help               this help\n",
          MAX_MESSAGES);
}

/* ---- temporary data directory ----------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 ? 0 : -1;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

typedef struct demo_msg {
  char id[2 * 32 + 1];
  long referenced_by;
  char state[32];
} demo_msg;

static const char *inclusion_name(int incl) {
  switch (incl) {
  case PG_INCL_NO_TX: return "noTransaction";
  case PG_INCL_INCLUDED: return "included";
  case PG_INCL_CONFLICTING: return "conflicting";
  default: return "?";
  }
}

int pg_cmd_demo(int argc, char **argv) {
  static const struct option opts[] = {
      {"data-dir", required_argument, NULL, 'd'},
      {"messages", required_argument, NULL, 'n'},
      {"min-pow-score", required_argument, NULL, 'P'},
      {"timeout", required_argument, NULL, 't'},
      {"log-level", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int status = PG_EXIT_USAGE, ch;
  const char *data_dir = NULL, *log_level = "warn", *min_pow = "0";
  long nmsg = 5, timeout_s = 60;
  char tmpdir[] = "/tmp/p2pgrid-demo-XXXXXX";
  bool made_tmp = false;
  pg_config *cfg = NULL;
  pg_node_config nc;
  pg_node *node = NULL;
  pg_client *cl = NULL;
  pg_diag d = {{0}};
  demo_msg *msgs = NULL;
  uint8_t (*ids)[PG_ID_LEN] = NULL;
  char *end = NULL;

  pg_node_config_init(&nc);
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, ":d:n:t:l:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'd': data_dir = optarg; break;
    case 'n':
      nmsg = strtol(optarg, &end, 10);
      if (*optarg == '\0' || *end || nmsg < 1 || nmsg > MAX_MESSAGES) {
        fprintf(stderr, "p2pgrid demo: --messages wants 1..%d, got '%s'\n", MAX_MESSAGES, optarg);
        goto out;
      }
      break;
    case 'P': min_pow = optarg; break;
    case 't':
      timeout_s = strtol(optarg, &end, 10);
      if (*optarg == '\0' || *end || timeout_s < 1 || timeout_s > 86400) {
        fprintf(stderr, "p2pgrid demo: --timeout wants 1..86400 seconds, got '%s'\n", optarg);
        goto out;
      }
      break;
    case 'l': log_level = optarg; break;
    case 'h':
      pg_cmd_demo_usage(stdout);
      status = PG_EXIT_OK;
      goto out;
    case ':':
      fprintf(stderr, "p2pgrid demo: option '%s' needs a value\n\n", argv[optind - 1]);
      pg_cmd_demo_usage(stderr);
      goto out;
    default:
      fprintf(stderr, "p2pgrid demo: unknown option '%s'\n\n", argv[optind - 1]);
      pg_cmd_demo_usage(stderr);
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid demo: unexpected argument '%s'\n\n", argv[optind]);
    pg_cmd_demo_usage(stderr);
    goto out;
  }
  if (pg_log_set_level_str(log_level, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid demo: --log-level: %s\n", d.msg);
    goto out;
  }

  status = PG_EXIT_FAIL;
  signal(SIGPIPE, SIG_IGN);
  uint64_t t0 = pg_monotonic_ms();
  if (!data_dir) {
    if (!mkdtemp(tmpdir)) {
      fprintf(stderr, "p2pgrid demo: cannot create a temporary directory: %s\n", strerror(errno));
      goto out;
    }
    made_tmp = true;
    data_dir = tmpdir;
  }

  /* the node, from the same settings the daemon reads */
  if (pg_config_new(&cfg) != PG_OK) goto oom;
  if (pg_config_set(cfg, "node", "data_dir", data_dir) || pg_config_set(cfg, "api", "port", "0") ||
      pg_config_set(cfg, "api", "bind", "127.0.0.1") ||
      pg_config_set(cfg, "node", "min_pow_score", min_pow) ||
      pg_config_set(cfg, "coordinator", "enabled", "true") ||
      pg_config_set(cfg, "coordinator", "generate", "true") ||
      pg_config_set(cfg, "coordinator", "interval", "1s"))
    goto oom;
  if (pg_node_config_load(&nc, cfg, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid demo: %s\n", d.msg);
    status = PG_EXIT_USAGE;
    goto out;
  }
  if (pg_node_start(&nc, &node, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid demo: cannot start the node: %s\n", d.msg);
    goto out;
  }
  pg_node_config_clear(&nc);

  /* everything below goes through the node's REST API */
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)pg_node_port(node));
  pg_http_client_opts co = {.base_url = base};
  if (pg_client_http_new(&co, &cl, &d) != PG_OK) goto client_fail;
  pg_node_info info;
  if (pg_client_info(cl, &info, &d) != PG_OK) goto client_fail;
  printf("node     %s %s at %s\n", info.name, info.version, base);
  printf("network  %s (id %llu, bech32 %s), min PoW score %u, data in %s\n", info.network,
         (unsigned long long)info.network_id, info.bech32_hrp, (unsigned)info.min_pow_score,
         data_dir);

  msgs = calloc((size_t)nmsg, sizeof *msgs);
  ids = calloc((size_t)nmsg, PG_ID_LEN);
  if (!msgs || !ids) goto oom;
  printf("\nsending %ld indexation messages (index \"%s\") with POST /api/v1/messages\n", nmsg,
         DEMO_INDEX);
  for (long i = 0; i < nmsg; i++) {
    char text[128];
    int tl = snprintf(text, sizeof text, "{\"reading\":%ld,\"wh\":%ld,\"t\":%llu}", i + 1,
                      1000 + 37 * i, (unsigned long long)pg_clock_now(pg_clock_real()));
    if (pg_client_submit_data(cl, (const uint8_t *)DEMO_INDEX, strlen(DEMO_INDEX),
                              (const uint8_t *)text, (size_t)tl, ids[i], &d) != PG_OK)
      goto client_fail;
    pg_hex_encode(ids[i], PG_ID_LEN, msgs[i].id);
    printf("  sent %s  %s\n", msgs[i].id, text);
  }

  /* wait until milestones reference every message (deadline, polling) */
  printf("\nwaiting for milestones (GET /api/v1/messages/{id}/metadata)\n");
  uint64_t deadline = pg_monotonic_ms() + (uint64_t)timeout_s * 1000;
  long pending = nmsg;
  while (pending > 0) {
    for (long i = 0; i < nmsg; i++) {
      if (msgs[i].referenced_by > 0) continue;
      pg_msg_meta m;
      if (pg_client_get_meta(cl, ids[i], &m, &d) != PG_OK) goto client_fail;
      if (m.referenced_by > 0) {
        msgs[i].referenced_by = m.referenced_by;
        snprintf(msgs[i].state, sizeof msgs[i].state, "%s", inclusion_name(m.inclusion));
        printf("  %s  referencedByMilestoneIndex %ld  ledgerInclusionState %s\n", msgs[i].id,
               msgs[i].referenced_by, msgs[i].state);
        pending--;
      }
    }
    if (pending == 0) break;
    if (pg_monotonic_ms() > deadline) {
      fprintf(stderr, "p2pgrid demo: %ld of %ld messages still unreferenced after %ld s\n",
              pending, nmsg, timeout_s);
      goto out;
    }
    sleep_ms(100);
  }

  /* read back by index, and the milestone that confirmed the last one */
  uint8_t found[16][PG_ID_LEN];
  size_t count = 0, total = 0;
  if (pg_client_find_index(cl, (const uint8_t *)DEMO_INDEX, strlen(DEMO_INDEX), found, 16, &count,
                           &total, &d) != PG_OK)
    goto client_fail;
  if (pg_client_info(cl, &info, &d) != PG_OK) goto client_fail;
  pg_milestone_info mi;
  if (pg_client_milestone(cl, info.confirmed_milestone_index, &mi, &d) != PG_OK) goto client_fail;
  char mid[2 * PG_ID_LEN + 1];
  pg_hex_encode(mi.message_id, PG_ID_LEN, mid);
  printf("\nGET /api/v1/messages?index=... finds %zu message(s) under \"%s\"\n", total, DEMO_INDEX);
  printf("latest confirmed milestone %u: message %s, timestamp %llu\n", (unsigned)mi.index, mid,
         (unsigned long long)mi.timestamp);
  printf("\nsummary: %ld messages sent and confirmed, %u milestones, wall time %.1f s\n", nmsg,
         (unsigned)info.confirmed_milestone_index, (double)(pg_monotonic_ms() - t0) / 1000.0);
  status = PG_EXIT_OK;
  goto out;

client_fail:
  fprintf(stderr, "p2pgrid demo: %s\n", d.msg);
  goto out;
oom:
  fprintf(stderr, "p2pgrid demo: out of memory\n");
out:
  pg_client_free(cl);
  pg_node_stop(node);
  pg_node_config_clear(&nc);
  pg_config_free(cfg);
  free(msgs);
  free(ids);
  if (made_tmp) (void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return status;
}
