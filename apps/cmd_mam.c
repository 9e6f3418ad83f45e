/* p2pgrid mam — write and read MAM v0 channels (as @iota/mam.js 1.6.3 makes
 * them) on a Chrysalis node over its REST API.
 *
 *   p2pgrid mam publish --node URL --state FILE [...] MESSAGE
 *   p2pgrid mam read --node URL --root ROOT [...]
 *
 * The channel state file (p2pgrid/mam/state_store.h: locking, loading,
 * atomic saves, crash recovery) holds the seed. It is created on first use (mode
 * 0600), replaced atomically (temp file, fsync, rename, fsync of the
 * directory) and only advanced after the node accepted the message. Two
 * publishers of one state file are serialised by a lock on FILE.lock. Before
 * signing, publish checks that nothing verifies at the channel's current root
 * yet: if something does (an earlier publish attached but was killed before
 * it saved the state), it skips that leaf instead of signing with a one-time
 * key a second time. A state whose seed does not produce its nextRoot
 * (pg_mam_channel_check: edited or corrupted) is refused before anything is
 * signed or the node is asked. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/mam/state_store.h"
#include "p2pgrid/crypto/ternary.h"

#define DEFAULT_SECURITY 2
#define DEFAULT_INTERVAL_MS 1000u
#define MAX_RECOVER 64 /* used leaves skipped in one publish at most */

static void usage_publish(FILE *f) {
  fprintf(f,
          "usage: p2pgrid mam publish --node URL --state FILE [options] MESSAGE\n"
          "\n"
          "Writes MESSAGE as the next message of a MAM v0 channel (byte-identical to\n"
          "@iota/mam.js 1.6.3) and attaches it to the node. The first use of FILE\n"
          "creates the channel: a random 81-tryte seed (libsodium), stored with the\n"
          "channel state in FILE (mode 0600; keep it secret, it signs the channel).\n"
          "Later uses load FILE; the state is saved (atomically) only after the node\n"
          "accepted the message. FILE.lock serialises publishers of one channel.\n"
          "\n"
          "options:\n"
          "  -n, --node URL           the node, e.g. http://127.0.0.1:14265\n"
          "  -s, --state FILE         the channel state file (created if missing)\n"
          "  -m, --mode MODE          public (default), private or restricted\n"
          "  -k, --side-key KEY       restricted mode: 1 to 81 trytes (A-Z, 9)\n"
          "  -S, --security N         1, 2 (default) or 3: signature size and strength\n"
          "  -t, --trytes             MESSAGE is trytes already (else text, converted\n"
          "                           as mam.js TrytesHelper.stringToTrytes does)\n"
          "  -g, --tag TAG            attach tag, up to 27 trytes\n"
          "  -h, --help               this help\n"
          "\n"
          "A FILE may also hold a mam.js channel state whose trees have count > 1\n"
          "leaves: each publish then signs the tree's next leaf ('read' prints them all).\n"
          "With an existing FILE, --mode, --side-key and --security may be left out; if\n"
          "given they must match the channel in FILE. A FILE whose seed does not produce\n"
          "its next root (edited or corrupted) is refused before anything is signed or\n"
          "attached: restore it from a backup, or start a new channel with a new FILE.\n"
          "\n"
          "Prints four lines: root (where this message is read from), address (what\n"
          "the node indexes it under), message_id, next_root (the next message's root).\n"
          "\n"
          "examples:\n"
          "  p2pgrid mam publish --node http://127.0.0.1:14265 --state meter.json \\\n"
          "      --mode restricted --side-key MYSECRET 'output 1234 Wh'\n"
          "  p2pgrid mam publish -n http://127.0.0.1:14265 -s meter.json 'output 99 Wh'\n"
          "  p2pgrid mam publish -n http://127.0.0.1:14265 -s pub.json --trytes HELLOWORLD\n"
          "\n"
          "Exit status: 0 attached and saved, 1 failure (node unreachable or refused,\n"
          "file I/O), 2 bad usage or a state file that is invalid, tampered with or does\n"
          "not fit the options.\n");
}

static void usage_read(FILE *f) {
  fprintf(f,
          "usage: p2pgrid mam read --node URL --root ROOT [options]\n"
          "\n"
          "Reads a MAM v0 channel from ROOT and prints every message, in order. A\n"
          "channel is a chain of Merkle trees; a tree of count leaves holds up to count\n"
          "messages, all under the tree's root (mam.js createChannel/createMessage with\n"
          "count > 1). read prints every leaf of a tree in leaf order, and only then\n"
          "follows the next root the messages announce, until the chain ends. (mam.js\n"
          "1.6.3 mamFetchAll prints one message per tree, whichever the node lists first,\n"
          "and loses the others.) A leaf that is not attached (yet) stops the reading\n"
          "there, even when later leaves are: nothing is skipped, and stderr says where\n"
          "to resume (--root and --leaf). Messages under a root's address\n"
          "that do not verify (tampered, forged, wrong key) are skipped and counted on\n"
          "stderr; the same message attached twice is printed once.\n"
          "\n"
          "options:\n"
          "  -n, --node URL           the node, e.g. http://127.0.0.1:14265\n"
          "  -r, --root ROOT          81 trytes: the channel's first root, or any later one\n"
          "  -L, --leaf N             start at leaf N of the tree at ROOT (default 0), to\n"
          "                           resume where an earlier read stopped\n"
          "  -m, --mode MODE          public (default), private or restricted\n"
          "  -k, --side-key KEY       restricted mode: the channel's side key\n"
          "  -f, --follow             at the end of the chain, keep polling for new\n"
          "                           messages until SIGINT or SIGTERM\n"
          "  -i, --interval TIME      polling interval with --follow: 500ms, 2s, ...\n"
          "                           (default 1s; no unit means seconds)\n"
          "  -l, --limit N            stop after N messages\n"
          "  -t, --trytes             print messages as trytes (else as text, converted\n"
          "                           as mam.js TrytesHelper.stringFromTrytes does)\n"
          "  -j, --json               one JSON object per message and line: root,\n"
          "                           messageId, tag, nextRoot, message, leaf, count\n"
          "  -h, --help               this help\n"
          "\n"
          "Each message prints as lines 'root:', 'leaf: I of COUNT', 'message_id:',\n"
          "'tag:' (if any), 'next_root:', 'message:', then an empty line.\n"
          "\n"
          "examples:\n"
          "  p2pgrid mam read --node http://127.0.0.1:14265 --root ROOT\n"
          "  p2pgrid mam read -n http://127.0.0.1:14265 -r ROOT --mode restricted \\\n"
          "      --side-key MYSECRET --follow --interval 500ms\n"
          "  p2pgrid mam read -n http://127.0.0.1:14265 -r ROOT --leaf 2\n"
          "\n"
          "Exit status: 0 ok (also after SIGINT/SIGTERM with --follow), 1 failure\n"
          "(node unreachable; no message at ROOT), 2 bad usage.\n");
}

void pg_cmd_mam_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid mam publish --node URL --state FILE [options] MESSAGE\n"
          "       p2pgrid mam read --node URL --root ROOT [options]\n"
          "\n"
          "MAM v0 channels, compatible with @iota/mam.js 1.6.3 (public, private and\n"
          "restricted modes), on any Chrysalis node with the REST API v1.\n"
          "\n"
          "  publish   write the next message of a channel kept in a state file\n"
          "  read      print every message of a channel from a root (all leaves of\n"
          "            trees of count > 1, in order), optionally following it\n"
          "\n"
          "'p2pgrid mam publish --help' and 'p2pgrid mam read --help' explain each.\n"
          "\n"
          "example:\n"
          "  p2pgrid mam publish -n http://127.0.0.1:14265 -s chan.json 'hello'\n"
          "  p2pgrid mam read -n http://127.0.0.1:14265 -r <root printed by publish>\n");
}

/* ---- shared helpers ---- */

static bool is_help(const char *a) {
  return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0;
}

/* Checks a side key given on the command line against the mode. */
static int check_side_key(const char *who, pg_mam_mode mode, const char *key) {
  size_t len = key ? strlen(key) : 0;
  if (mode == PG_MAM_RESTRICTED) {
    if (!key) {
      fprintf(stderr, "p2pgrid mam %s: restricted mode needs --side-key\n", who);
      return -1;
    }
    if (len == 0 || len > PG_MAM_HASH_TRYTES || !pg_trytes_valid(key, len)) {
      fprintf(stderr,
              "p2pgrid mam %s: bad side key '%.100s': it must be 1 to 81 trytes "
              "(letters A-Z and 9)\n",
              who, key);
      return -1;
    }
  } else if (key) {
    fprintf(stderr, "p2pgrid mam %s: --side-key is only used in restricted mode (the mode is %s; "
                    "add --mode restricted)\n",
            who, pg_mam_mode_name(mode));
    return -1;
  }
  return 0;
}

static int parse_mode(const char *who, const char *s, pg_mam_mode *mode) {
  if (pg_mam_mode_parse(s, strlen(s), mode) != PG_OK) {
    fprintf(stderr, "p2pgrid mam %s: bad mode '%.40s': use public, private or restricted\n", who,
            s);
    return -1;
  }
  return 0;
}

static int open_client(const char *who, const char *url, pg_client **c) {
  pg_diag d = {{0}};
  pg_http_client_opts o = {.base_url = url, .timeout_ms = 30000};
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
    fprintf(stderr, "p2pgrid mam %s: bad node URL '%.200s': it must start with http:// or "
                    "https://\n",
            who, url);
    return PG_EXIT_USAGE;
  }
  if (pg_client_http_new(&o, c, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid mam %s: node %s: %s\n", who, url, d.msg);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

/* Says why a client call failed in a way that names the node. */
static void report_node_error(const char *who, const char *url, const char *what, int rc,
                              const pg_diag *d) {
  if (rc == PG_ERR_HTTP || rc == PG_ERR_TIMEOUT)
    fprintf(stderr, "p2pgrid mam %s: cannot reach the node at %s (%s): %s\n", who, url, what,
            d->msg);
  else
    fprintf(stderr, "p2pgrid mam %s: %s failed at the node %s: %s\n", who, what, url, d->msg);
}

/* ---- state file (p2pgrid/mam/state_store.h) ---- */

/* Says why the state file could not be loaded; PG_EXIT_* for rc. */
static int report_load_error(const char *path, int rc, const pg_diag *d) {
  if (rc == PG_ERR_STATE) {
    fprintf(stderr,
            "p2pgrid mam publish: %s: the state file's seed does not produce its next root "
            "(%s); the file was edited or corrupted. Nothing was published: restore it from a "
            "backup, or start a new channel with a new state file\n",
            path, d->msg);
    return PG_EXIT_USAGE;
  }
  fprintf(stderr, "p2pgrid mam publish: %s\n", d->msg);
  return rc == PG_ERR_IO || rc == PG_ERR_NOMEM ? PG_EXIT_FAIL : PG_EXIT_USAGE;
}

/* Reads FILE. *exists false (and 0) when it is not there. PG_EXIT_*. */
static int read_state(pg_mam_store *st, pg_mam_channel *ch, bool *exists) {
  pg_diag d = {{0}};
  unsigned perm = 0;
  int rc = pg_mam_store_load(st, ch, exists, &perm, &d);
  if (perm & 077)
    fprintf(stderr,
            "p2pgrid mam publish: warning: %s is readable by others (mode %03o) and holds the "
            "channel seed; use chmod 600\n",
            pg_mam_store_path(st), perm);
  return rc == PG_OK ? PG_EXIT_OK : report_load_error(pg_mam_store_path(st), rc, &d);
}

/* Saves the state (atomically). 0 or -1 (said on stderr). */
static int save_state(pg_mam_store *st, const pg_mam_channel *ch) {
  pg_diag d = {{0}};
  if (pg_mam_store_save(st, ch, &d) == PG_OK) return 0;
  fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
  return -1;
}

/* Takes the lock on FILE.lock, waiting for another publish of the same FILE
 * to finish. NULL on failure (said on stderr). */
static pg_mam_store *lock_state(const char *path) {
  pg_mam_store *st = NULL;
  pg_diag d = {{0}};
  int rc = pg_mam_store_open(path, false, &st, &d);
  if (rc == PG_ERR_UNAVAILABLE) {
    fprintf(stderr, "p2pgrid mam publish: %s is in use by another publish (%s); waiting\n", path,
            d.msg);
    rc = pg_mam_store_open(path, true, &st, &d);
  }
  if (rc != PG_OK) fprintf(stderr, "p2pgrid mam publish: cannot lock %s: %s\n", path, d.msg);
  return st;
}

/* ---- publish ---- */

typedef struct publish_opts {
  const char *node, *path, *side_key, *tag;
  bool mode_set, as_trytes;
  pg_mam_mode mode;
  int security; /* 0 = not given */
  char *msg;    /* the message as trytes (owned) */
  size_t msg_len;
} publish_opts;

/* MESSAGE -> o->msg (trytes). PG_EXIT_* (said on stderr). */
static int publish_message_arg(publish_opts *o, const char *text) {
  size_t tl = strlen(text);
  if (tl == 0) {
    fprintf(stderr, "p2pgrid mam publish: MESSAGE is empty\n");
    return PG_EXIT_USAGE;
  }
  if (o->as_trytes) {
    if (!pg_trytes_valid(text, tl)) {
      fprintf(stderr, "p2pgrid mam publish: --trytes: MESSAGE must be trytes (A-Z and 9)\n");
      return PG_EXIT_USAGE;
    }
    o->msg = malloc(tl + 1);
    if (!o->msg) {
      fprintf(stderr, "p2pgrid mam publish: out of memory\n");
      return PG_EXIT_FAIL;
    }
    memcpy(o->msg, text, tl + 1);
    o->msg_len = tl;
  } else if (pg_mam_text_to_trytes(text, tl, &o->msg, &o->msg_len) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: MESSAGE is not valid UTF-8 text (or use --trytes)\n");
    return PG_EXIT_USAGE;
  }
  if (o->msg_len > PG_MAM_MAX_MESSAGE) {
    fprintf(stderr, "p2pgrid mam publish: MESSAGE is %zu trytes, more than the %u allowed\n",
            o->msg_len, PG_MAM_MAX_MESSAGE);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

/* The command line of publish. *done (with the status) after --help or an
 * error. */
static int parse_publish(int argc, char **argv, publish_opts *o, bool *done) {
  static const struct option opts[] = {
      {"node", required_argument, NULL, 'n'},   {"state", required_argument, NULL, 's'},
      {"mode", required_argument, NULL, 'm'},   {"side-key", required_argument, NULL, 'k'},
      {"security", required_argument, NULL, 'S'}, {"trytes", no_argument, NULL, 't'},
      {"tag", required_argument, NULL, 'g'},    {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int opt;
  *done = true;
  opterr = 0;
  optind = 1;
  pg_app_opts os = {.cmd = "mam publish", .longopts = opts};
  while ((opt = pg_app_getopt(&os, argc, argv, ":n:s:m:k:S:tg:h")) != -1) {
    switch (opt) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 'n': o->node = optarg; break;
    case 's': o->path = optarg; break;
    case 'm':
      if (parse_mode("publish", optarg, &o->mode)) return PG_EXIT_USAGE;
      o->mode_set = true;
      break;
    case 'k': o->side_key = optarg; break;
    case 'S':
      if (strlen(optarg) != 1 || optarg[0] < '1' || optarg[0] > '3') {
        fprintf(stderr, "p2pgrid mam publish: --security: bad security '%.20s': use 1, 2 or 3\n",
                optarg);
        return PG_EXIT_USAGE;
      }
      o->security = optarg[0] - '0';
      break;
    case 't': o->as_trytes = true; break;
    case 'g': o->tag = optarg; break;
    case 'h':
      usage_publish(stdout);
      return PG_EXIT_OK;
    case ':':
      fprintf(stderr, "p2pgrid mam publish: option '%s' needs a value\n\n", argv[optind - 1]);
      usage_publish(stderr);
      return PG_EXIT_USAGE;
    default:
      fprintf(stderr, "p2pgrid mam publish: unknown option '%s'\n\n", argv[optind - 1]);
      usage_publish(stderr);
      return PG_EXIT_USAGE;
    }
  }
  if (!o->node || !o->path) {
    fprintf(stderr, "p2pgrid mam publish: %s is required\n\n",
            !o->node ? "--node URL" : "--state FILE");
    usage_publish(stderr);
    return PG_EXIT_USAGE;
  }
  if (optind != argc - 1) {
    fprintf(stderr, "p2pgrid mam publish: %s\n\n",
            optind == argc ? "MESSAGE is missing" : "give exactly one MESSAGE (quote it)");
    usage_publish(stderr);
    return PG_EXIT_USAGE;
  }
  const char *tag = o->tag;
  if (tag && (strlen(tag) > PG_MAM_MAX_TAG || !pg_trytes_valid(tag, strlen(tag)))) {
    fprintf(stderr, "p2pgrid mam publish: bad tag '%.60s': up to 27 trytes (A-Z, 9)\n", tag);
    return PG_EXIT_USAGE;
  }
  int status = publish_message_arg(o, argv[optind]);
  if (status != PG_EXIT_OK) return status;
  if (o->side_key && check_side_key("publish", PG_MAM_RESTRICTED, o->side_key))
    return PG_EXIT_USAGE;
  *done = false;
  return PG_EXIT_OK;
}

/* A new channel in FILE (saved at once, so that it and its root survive a
 * failed attach). PG_EXIT_*. */
static int create_channel(pg_mam_store *st, const publish_opts *o, pg_mam_channel *ch) {
  pg_diag d = {{0}};
  if (check_side_key("publish", o->mode, o->side_key)) return PG_EXIT_USAGE;
  int rc = pg_mam_store_create(st, o->mode, o->side_key, o->side_key ? strlen(o->side_key) : 0,
                               o->security ? o->security : DEFAULT_SECURITY, ch, &d);
  if (rc != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
    return rc == PG_ERR_CRYPTO || rc == PG_ERR_IO || rc == PG_ERR_NOMEM ? PG_EXIT_FAIL
                                                                        : PG_EXIT_USAGE;
  }
  fprintf(stderr,
          "p2pgrid mam publish: created channel state %s (%s, security %d); it holds the "
          "seed: keep it secret\n",
          o->path, pg_mam_mode_name(ch->mode), ch->security);
  return PG_EXIT_OK;
}

/* --mode, --security and --side-key, when given, must match the channel in
 * FILE. PG_EXIT_*. */
static int check_channel_opts(const publish_opts *o, const pg_mam_channel *ch) {
  if (o->mode_set && o->mode != ch->mode) {
    fprintf(stderr,
            "p2pgrid mam publish: --mode %s does not match the channel in %s (%s); omit it or "
            "use another --state file\n",
            pg_mam_mode_name(o->mode), o->path, pg_mam_mode_name(ch->mode));
    return PG_EXIT_USAGE;
  }
  if (o->security && o->security != ch->security) {
    fprintf(stderr,
            "p2pgrid mam publish: --security %d does not match the channel in %s (security "
            "%d); omit it or use another --state file\n",
            o->security, o->path, ch->security);
    return PG_EXIT_USAGE;
  }
  if (!o->side_key) return PG_EXIT_OK;
  if (ch->mode != PG_MAM_RESTRICTED) {
    fprintf(stderr,
            "p2pgrid mam publish: --side-key given but the channel in %s is %s (side keys "
            "are for restricted channels)\n",
            o->path, pg_mam_mode_name(ch->mode));
    return PG_EXIT_USAGE;
  }
  char padded[PG_MAM_HASH_TRYTES + 1];
  memset(padded, '9', PG_MAM_HASH_TRYTES);
  memcpy(padded, o->side_key, strlen(o->side_key));
  padded[PG_MAM_HASH_TRYTES] = '\0';
  if (memcmp(padded, ch->side_key, PG_MAM_HASH_TRYTES) != 0) {
    fprintf(stderr,
            "p2pgrid mam publish: --side-key does not match the side key of the channel in "
            "%s; omit it or use another --state file\n",
            o->path);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

static void said_skip(void *ctx, const char *root, uint32_t leaf) {
  fprintf(stderr,
          "p2pgrid mam publish: root %s already has a message at leaf %u (an earlier publish "
          "attached it but did not save %s); moved on to the next leaf\n",
          root, (unsigned)leaf, (const char *)ctx);
}

/* A leaf that already carries a verifying message (an earlier publish
 * attached it but was killed before it saved FILE) must not sign again:
 * moves past such leaves, saving FILE each time (pg_mam_store_recover).
 * PG_EXIT_*. */
static int skip_used_leaves(pg_mam_store *st, pg_client *client, const publish_opts *o,
                            pg_mam_channel *ch) {
  pg_diag d = {{0}};
  pg_mam_recovery r;
  int rc = pg_mam_store_recover(st, client, ch, MAX_RECOVER, said_skip, (void *)o->path, &r, &d);
  if (rc == PG_OK) return PG_EXIT_OK;
  if (r.node_failed)
    report_node_error("publish", o->node, "looking up the channel's current root", rc, &d);
  else
    fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
  return PG_EXIT_FAIL;
}

/* Signs the message on a copy of the state, attaches it, then saves the
 * advanced state and prints what readers need. PG_EXIT_*. */
static int sign_attach_save(pg_mam_store *st, pg_client *client, const publish_opts *o,
                            const pg_mam_channel *ch) {
  pg_mam_channel next = *ch;
  pg_mam_message m;
  pg_diag d = {{0}};
  int status = PG_EXIT_FAIL;
  memset(&m, 0, sizeof m);
  if (pg_mam_create_message(&next, o->msg, o->msg_len, &m, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
    goto out;
  }
  uint8_t id[32];
  int rc = pg_mam_attach(client, &m, o->tag, o->tag ? strlen(o->tag) : 0, id, &d);
  if (rc != PG_OK) {
    report_node_error("publish", o->node, "attaching the message", rc, &d);
    fprintf(stderr, "p2pgrid mam publish: %s is unchanged\n", o->path);
    goto out;
  }
  char idhex[65];
  pg_hex_encode(id, 32, idhex);
  if (save_state(st, &next)) {
    fprintf(stderr,
            "p2pgrid mam publish: message %s is attached but %s was not updated; the next "
            "publish will notice and move on\n",
            idhex, o->path);
    goto out;
  }
  printf("root: %s\naddress: %s\nmessage_id: %s\nnext_root: %s\n", m.root, m.address, idhex,
         m.next_root);
  status = fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_FAIL;
out:
  pg_mam_message_free(&m);
  pg_mam_channel_wipe(&next);
  return status;
}

static int cmd_publish(int argc, char **argv) {
  publish_opts o = {.mode = PG_MAM_PUBLIC};
  pg_mam_store *st = NULL;
  pg_client *client = NULL;
  pg_mam_channel ch;
  bool done = false, exists = false;
  memset(&ch, 0, sizeof ch);
  int status = parse_publish(argc, argv, &o, &done);
  if (done) goto out;
  if ((status = open_client("publish", o.node, &client)) != PG_EXIT_OK) goto out;
  status = PG_EXIT_FAIL;
  st = lock_state(o.path);
  if (!st) goto out;
  if ((status = read_state(st, &ch, &exists)) != PG_EXIT_OK) goto out;
  status = exists ? check_channel_opts(&o, &ch) : create_channel(st, &o, &ch);
  if (status != PG_EXIT_OK) goto out;
  status = skip_used_leaves(st, client, &o, &ch);
  if (status == PG_EXIT_OK) status = sign_attach_save(st, client, &o, &ch);
out:
  pg_mam_channel_wipe(&ch);
  pg_client_free(client);
  pg_mam_store_close(st);
  free(o.msg);
  return status;
}

/* ---- read ---- */

static int print_message(const pg_mam_fetched *f, bool as_trytes, bool as_json) {
  char *text = NULL;
  size_t tlen = 0;
  const char *body = f->message;
  size_t blen = f->message_len;
  if (!as_trytes) {
    if (pg_mam_trytes_to_text(f->message, f->message_len, &text, &tlen) != PG_OK) return -1;
    body = text;
    blen = tlen;
  }
  char idhex[65];
  pg_hex_encode(f->message_id, 32, idhex);
  int ret = 0;
  if (as_json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s%, s:I, s:I}", "root", f->root, "messageId",
                          idhex, "tag", f->tag, "nextRoot", f->next_root, "message", body, blen,
                          "leaf", (json_int_t)f->leaf, "count", (json_int_t)f->count);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!s)
      ret = -1;
    else
      printf("%s\n", s);
    free(s);
    json_decref(o);
  } else {
    printf("root: %s\nleaf: %u of %u\nmessage_id: %s\n", f->root, (unsigned)f->leaf,
           (unsigned)f->count, idhex);
    if (f->tag[0]) printf("tag: %s\n", f->tag);
    printf("next_root: %s\nmessage: ", f->next_root);
    fwrite(body, 1, blen, stdout);
    printf("\n\n");
  }
  free(text);
  if (fflush(stdout) != 0) ret = -1;
  return ret;
}

/* Explains why nothing verified at the cursor, from what the read saw. */
static void explain_not_found(const char *url, const pg_mam_cursor *at, pg_mam_mode mode,
                              const pg_mam_read_info *info) {
  char where[160] = "";
  if (at->leaf) snprintf(where, sizeof where, " leaf %u of", (unsigned)at->leaf);
  if (info->listed == 0)
    fprintf(stderr, "p2pgrid mam read: no message at%s root %s (%s mode; nothing under its "
                    "address at %s)\n",
            where, at->root, pg_mam_mode_name(mode), url);
  else if (info->later && !info->unverified && !info->unreadable)
    fprintf(stderr,
            "p2pgrid mam read: no message at%s root %s: leaf %u is not attached (yet) and %zu "
            "message%s of later leaves wait for it at %s\n",
            where, at->root, (unsigned)at->leaf, info->later, info->later == 1 ? "" : "s", url);
  else if (info->earlier && !info->unverified && !info->unreadable)
    fprintf(stderr,
            "p2pgrid mam read: no message at%s root %s: leaf %u is not attached (yet); the %zu "
            "message%s under its address at %s %s of earlier leaves\n",
            where, at->root, (unsigned)at->leaf, info->earlier, info->earlier == 1 ? "" : "s",
            url, info->earlier == 1 ? "is" : "are");
  else
    fprintf(stderr,
            "p2pgrid mam read: no message at%s root %s: %zu message%s under its address at %s, "
            "none verifies in %s mode%s (wrong root, --mode or --side-key, or tampered)\n",
            where, at->root, info->listed, info->listed == 1 ? "" : "s", url,
            pg_mam_mode_name(mode), mode == PG_MAM_RESTRICTED ? " with this side key" : "");
}

/* Says (on stderr) what a read left out at a root that has messages. */
static void report_left_out(const pg_mam_cursor *at, const pg_mam_read_info *info) {
  if (info->unverified)
    fprintf(stderr,
            "p2pgrid mam read: root %s: %zu message%s under its address %s not verify "
            "(tampered, forged or another channel's; skipped)\n",
            at->root, info->unverified, info->unverified == 1 ? "" : "s",
            info->unverified == 1 ? "does" : "do");
  if (info->conflicts)
    fprintf(stderr,
            "p2pgrid mam read: root %s: %zu other message%s signed with a leaf already read "
            "(the channel's owner used a one-time key twice; the lowest message id is kept)\n",
            at->root, info->conflicts, info->conflicts == 1 ? "" : "s");
}

/* Says where a read stopped at a missing leaf while later leaves are there. */
static void report_gap(const pg_mam_cursor *at, const pg_mam_read_info *info) {
  fprintf(stderr,
          "p2pgrid mam read: leaf %u of the tree at root %s is not attached (yet); %zu "
          "message%s of later leaves wait for it (resume with --root %s --leaf %u)\n",
          (unsigned)at->leaf, at->root, info->later, info->later == 1 ? "" : "s", at->root,
          (unsigned)at->leaf);
}

/* Waits up to ms for SIGINT/SIGTERM (blocked by the caller). true if one came. */
static bool wait_stop(const sigset_t *set, uint64_t ms) {
  struct timespec now, end;
  clock_gettime(CLOCK_MONOTONIC, &now);
  end.tv_sec = now.tv_sec + (time_t)(ms / 1000);
  end.tv_nsec = now.tv_nsec + (long)(ms % 1000) * 1000000L;
  if (end.tv_nsec >= 1000000000L) {
    end.tv_sec++;
    end.tv_nsec -= 1000000000L;
  }
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec left = {end.tv_sec - now.tv_sec, end.tv_nsec - now.tv_nsec};
    if (left.tv_nsec < 0) {
      left.tv_sec--;
      left.tv_nsec += 1000000000L;
    }
    if (left.tv_sec < 0) {
      left.tv_sec = 0;
      left.tv_nsec = 0;
    }
    int sig = sigtimedwait(set, NULL, &left);
    if (sig > 0) return true;
    if (errno == EAGAIN) return false;
    if (errno != EINTR) return false;
  }
}

typedef struct read_opts {
  const char *node, *side_key;
  pg_mam_cursor start;
  pg_mam_mode mode;
  bool follow, as_trytes, as_json;
  uint64_t interval_ms;
  unsigned long long limit; /* 0 = none */
} read_opts;

/* A positive count or index from an option; -1 (said) when it is not one. */
static int parse_count(const char *what, const char *s, bool zero_ok, unsigned long long max,
                       unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end || s[0] < '0' || s[0] > '9' || (v == 0 && !zero_ok) || v > max) {
    fprintf(stderr, "p2pgrid mam read: bad %s '%.40s': use a %s number\n", what, s,
            zero_ok ? "non-negative" : "positive");
    return -1;
  }
  *out = v;
  return 0;
}

/* The command line of read. *done (with the status) after --help or an
 * error. */
static int parse_read(int argc, char **argv, read_opts *o, bool *done) {
  static const struct option opts[] = {
      {"node", required_argument, NULL, 'n'},     {"root", required_argument, NULL, 'r'},
      {"mode", required_argument, NULL, 'm'},     {"side-key", required_argument, NULL, 'k'},
      {"follow", no_argument, NULL, 'f'},         {"interval", required_argument, NULL, 'i'},
      {"limit", required_argument, NULL, 'l'},    {"trytes", no_argument, NULL, 't'},
      {"json", no_argument, NULL, 'j'},           {"leaf", required_argument, NULL, 'L'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
  };
  const char *root = NULL;
  unsigned long long leaf = 0;
  int opt;
  *done = true;
  opterr = 0;
  optind = 1;
  pg_app_opts os = {.cmd = "mam read", .longopts = opts};
  while ((opt = pg_app_getopt(&os, argc, argv, ":n:r:m:k:fi:l:tjL:h")) != -1) {
    switch (opt) {
    case PG_APP_OPT_BAD: return PG_EXIT_USAGE;
    case 'n': o->node = optarg; break;
    case 'r': root = optarg; break;
    case 'm':
      if (parse_mode("read", optarg, &o->mode)) return PG_EXIT_USAGE;
      break;
    case 'k': o->side_key = optarg; break;
    case 'f': o->follow = true; break;
    case 'i':
      if (pg_config_parse_duration_ms(optarg, &o->interval_ms) != PG_OK || o->interval_ms == 0 ||
          o->interval_ms > 86400000ull) {
        fprintf(stderr,
                "p2pgrid mam read: bad interval '%.40s': use e.g. 500ms, 2s or 1m (at most 1d)\n",
                optarg);
        return PG_EXIT_USAGE;
      }
      break;
    case 'l':
      if (parse_count("limit", optarg, false, ULLONG_MAX, &o->limit)) return PG_EXIT_USAGE;
      break;
    case 'L':
      if (parse_count("leaf", optarg, true, PG_MAM_MAX_COUNT - 1, &leaf)) return PG_EXIT_USAGE;
      break;
    case 't': o->as_trytes = true; break;
    case 'j': o->as_json = true; break;
    case 'h':
      usage_read(stdout);
      return PG_EXIT_OK;
    case ':':
      fprintf(stderr, "p2pgrid mam read: option '%s' needs a value\n\n", argv[optind - 1]);
      usage_read(stderr);
      return PG_EXIT_USAGE;
    default:
      fprintf(stderr, "p2pgrid mam read: unknown option '%s'\n\n", argv[optind - 1]);
      usage_read(stderr);
      return PG_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid mam read: unexpected argument '%s'\n\n", argv[optind]);
    usage_read(stderr);
    return PG_EXIT_USAGE;
  }
  if (!o->node || !root) {
    fprintf(stderr, "p2pgrid mam read: %s is required\n\n", !o->node ? "--node URL" : "--root ROOT");
    usage_read(stderr);
    return PG_EXIT_USAGE;
  }
  size_t rlen = strlen(root);
  if (pg_mam_cursor_init(&o->start, root) != PG_OK) {
    if (rlen != PG_MAM_HASH_TRYTES)
      fprintf(stderr, "p2pgrid mam read: bad root: it must be 81 trytes, it has %zu characters\n",
              rlen);
    else
      fprintf(stderr, "p2pgrid mam read: bad root: it must be trytes (letters A-Z and 9)\n");
    return PG_EXIT_USAGE;
  }
  o->start.leaf = (uint32_t)leaf;
  if (check_side_key("read", o->mode, o->side_key)) return PG_EXIT_USAGE;
  *done = false;
  return PG_EXIT_OK;
}

/* Reads and prints from o->start: tree after tree, every leaf in order
 * (pg_mam_read), until a leaf is missing (or, with --follow, until a stop
 * signal). PG_EXIT_*. */
static int read_loop(pg_client *client, const read_opts *o, const sigset_t *stop_sigs) {
  pg_mam_cursor cur = o->start;
  size_t klen = o->side_key ? strlen(o->side_key) : 0;
  unsigned long long got = 0;
  bool warned = false, stopped = false, waiting = false, gap_said = false;
  pg_diag d = {{0}};
  for (;;) {
    pg_mam_fetched *fs = NULL;
    size_t n = 0;
    pg_mam_read_info info;
    pg_mam_cursor next;
    size_t max = o->limit ? (size_t)(o->limit - got) : 0;
    int rc = pg_mam_read(client, &cur, o->mode, o->side_key, klen, max, &fs, &n, &next, &info, &d);
    if (rc == PG_OK) {
      warned = false;
      int pr = 0;
      if (n) report_left_out(&cur, &info);
      for (size_t i = 0; i < n && !pr; i++) pr = print_message(&fs[i], o->as_trytes, o->as_json);
      pg_mam_fetched_free_all(fs, n);
      if (pr) {
        fprintf(stderr, "p2pgrid mam read: cannot print a message (out of memory or stdout "
                        "closed)\n");
        return PG_EXIT_FAIL;
      }
      if (n) gap_said = false;
      got += n;
      cur = next;
      if (o->limit && got >= o->limit) break;
      if (info.stop == PG_MAM_STOP_TREE_END) {
        if (o->follow && wait_stop(stop_sigs, 0)) {
          stopped = true;
          break;
        }
        continue;
      }
      if (got == 0 && !o->follow) {
        explain_not_found(o->node, &cur, o->mode, &info);
        return PG_EXIT_FAIL;
      }
      if (info.later && !gap_said) {
        report_gap(&cur, &info);
        gap_said = true;
      }
      if (!o->follow) break;
      if (got == 0 && !waiting) {
        fprintf(stderr, "p2pgrid mam read: no message at root %s yet; polling every %" PRIu64
                        " ms\n", cur.root, o->interval_ms);
        waiting = true;
      }
    } else if (!o->follow || (rc != PG_ERR_HTTP && rc != PG_ERR_TIMEOUT && rc != PG_ERR_UNAVAILABLE)) {
      report_node_error("read", o->node, "fetching a message", rc, &d);
      return PG_EXIT_FAIL;
    } else if (!warned) {
      report_node_error("read", o->node, "fetching a message", rc, &d);
      fprintf(stderr, "p2pgrid mam read: retrying every %" PRIu64 " ms\n", o->interval_ms);
      warned = true;
    }
    if (wait_stop(stop_sigs, o->interval_ms)) {
      stopped = true;
      break;
    }
  }
  if (o->follow)
    fprintf(stderr, "p2pgrid mam read: %s after %llu message%s; next root %s, leaf %u\n",
            stopped ? "stopped" : "done", got, got == 1 ? "" : "s", cur.root, (unsigned)cur.leaf);
  return PG_EXIT_OK;
}

static int cmd_read(int argc, char **argv) {
  read_opts o = {.mode = PG_MAM_PUBLIC, .interval_ms = DEFAULT_INTERVAL_MS};
  pg_client *client = NULL;
  bool done = false;
  int status = parse_read(argc, argv, &o, &done);
  if (done) return status;
  if ((status = open_client("read", o.node, &client)) != PG_EXIT_OK) goto out;
  status = PG_EXIT_FAIL;
  sigset_t stop_sigs;
  sigemptyset(&stop_sigs);
  sigaddset(&stop_sigs, SIGINT);
  sigaddset(&stop_sigs, SIGTERM);
  if (o.follow && sigprocmask(SIG_BLOCK, &stop_sigs, NULL) != 0) {
    fprintf(stderr, "p2pgrid mam read: cannot block signals\n");
    goto out;
  }
  status = read_loop(client, &o, &stop_sigs);
out:
  pg_client_free(client);
  return status;
}

/* The subcommands of `p2pgrid mam`. */
static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  void (*usage)(FILE *f);
} subcommands[] = {
    {"publish", cmd_publish, usage_publish},
    {"read", cmd_read, usage_read},
};
#define NSUB (sizeof subcommands / sizeof subcommands[0])

static size_t find_sub(const char *name) {
  size_t i = 0;
  while (i < NSUB && strcmp(subcommands[i].name, name) != 0) i++;
  return i;
}

int pg_cmd_mam(int argc, char **argv) {
  if (argc < 2) {
    pg_cmd_mam_usage(stderr);
    return PG_EXIT_USAGE;
  }
  if (is_help(argv[1])) {
    size_t k = argc > 2 ? find_sub(argv[2]) : NSUB;
    if (k < NSUB)
      subcommands[k].usage(stdout);
    else
      pg_cmd_mam_usage(stdout);
    return PG_EXIT_OK;
  }
  size_t k = find_sub(argv[1]);
  if (k < NSUB) return subcommands[k].run(argc - 1, argv + 1);
  fprintf(stderr, "p2pgrid mam: unknown subcommand '%s'\n\n", argv[1]);
  pg_cmd_mam_usage(stderr);
  return PG_EXIT_USAGE;
}
