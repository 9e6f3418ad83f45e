/* p2pgrid mam — write and read MAM v0 channels (as @iota/mam.js 1.6.3 makes
 * them) on a Chrysalis node over its REST API.
 *
 *   p2pgrid mam publish --node URL --state FILE [...] MESSAGE
 *   p2pgrid mam read --node URL --root ROOT [...]
 *
 * The channel state file holds the seed. It is created on first use (mode
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
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/client.h"
#include "p2pgrid/config.h"
#include "p2pgrid/dirlock.h"
#include "p2pgrid/file.h"
#include "p2pgrid/hex.h"
#include "p2pgrid/mam.h"
#include "p2pgrid/ternary.h"

#define STATE_FILE_MAX (64u * 1024u)
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
          "Reads a MAM v0 channel from ROOT: fetches the message at ROOT (as mam.js\n"
          "mamFetch does: the first message under the root's address that verifies),\n"
          "prints it, and follows its next root until the chain ends.\n"
          "\n"
          "options:\n"
          "  -n, --node URL           the node, e.g. http://127.0.0.1:14265\n"
          "  -r, --root ROOT          81 trytes: the channel's first root, or any later one\n"
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
          "                           messageId, tag, nextRoot, message\n"
          "  -h, --help               this help\n"
          "\n"
          "Each message prints as lines 'root:', 'message_id:', 'tag:' (if any),\n"
          "'next_root:', 'message:', then an empty line.\n"
          "\n"
          "examples:\n"
          "  p2pgrid mam read --node http://127.0.0.1:14265 --root ROOT\n"
          "  p2pgrid mam read -n http://127.0.0.1:14265 -r ROOT --mode restricted \\\n"
          "      --side-key MYSECRET --follow --interval 500ms\n"
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
          "  read      print a channel's messages from a root, optionally following it\n"
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

/* ---- state file ---- */

/* Reads FILE. *exists false (and 0) when it is not there. Exit status style:
 * returns PG_EXIT_*. */
static int read_state(const char *path, pg_mam_channel *ch, bool *exists) {
  int status = PG_EXIT_FAIL;
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag d = {{0}};
  struct stat st;
  *exists = false;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT) return PG_EXIT_OK;
    fprintf(stderr, "p2pgrid mam publish: %s: cannot stat: %s\n", path, strerror(errno));
    return PG_EXIT_FAIL;
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "p2pgrid mam publish: %s: not a regular file\n", path);
    return PG_EXIT_USAGE;
  }
  if (st.st_mode & 077)
    fprintf(stderr,
            "p2pgrid mam publish: warning: %s is readable by others (mode %03o) and holds the "
            "channel seed; use chmod 600\n",
            path, (unsigned)(st.st_mode & 0777));
  int rc = pg_read_file_capped(path, STATE_FILE_MAX, &buf, &len, &d);
  if (rc != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: %s%s\n", d.msg,
            rc == PG_ERR_TOO_LARGE ? ", not a channel state" : "");
    status = rc == PG_ERR_TOO_LARGE ? PG_EXIT_USAGE : PG_EXIT_FAIL;
    goto out;
  }
  if (pg_mam_channel_load(ch, buf, len, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: %s: not a valid channel state: %s\n", path, d.msg);
    status = PG_EXIT_USAGE;
    goto out;
  }
  /* an edited or corrupted seed (or start) would sign on another channel
   * than the one readers follow */
  if (pg_mam_channel_check(ch, &d) != PG_OK) {
    fprintf(stderr,
            "p2pgrid mam publish: %s: the state file's seed does not produce its next root "
            "(%s); the file was edited or corrupted. Nothing was published: restore it from a "
            "backup, or start a new channel with a new state file\n",
            path, d.msg);
    pg_mam_channel_wipe(ch);
    status = PG_EXIT_USAGE;
    goto out;
  }
  *exists = true;
  status = PG_EXIT_OK;
out:
  if (buf) sodium_memzero(buf, len);
  free(buf);
  return status;
}

/* Writes the state to FILE so that a crash leaves either the old or the new
 * file (pg_write_file_atomic: a 0600 temp file beside it, fsync, rename,
 * fsync of the directory). 0 or -1 (said on stderr). */
static int save_state(const char *path, const pg_mam_channel *ch) {
  int ret = -1;
  pg_diag d = {{0}};
  pg_buf b;
  pg_buf_init(&b, STATE_FILE_MAX);
  if (pg_mam_channel_save(ch, &b) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: cannot encode the channel state\n");
    goto out;
  }
  pg_buf_put_u8(&b, '\n');
  if (pg_buf_status(&b) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: out of memory\n");
    goto out;
  }
  if (pg_write_file_atomic(path, b.data, b.len, true, true, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: cannot save the channel state: %s\n", d.msg);
    goto out;
  }
  ret = 0;
out:
  if (b.data) sodium_memzero(b.data, b.cap);
  pg_buf_free(&b);
  return ret;
}

/* Takes an exclusive lock on FILE.lock (p2pgrid/dirlock.h), waiting for
 * another publish of the same FILE to finish. NULL on failure (said on
 * stderr). */
static pg_dirlock *lock_state(const char *path) {
  pg_dirlock *l = NULL;
  pg_diag d = {{0}};
  char *lp = malloc(strlen(path) + sizeof ".lock");
  if (!lp) {
    fprintf(stderr, "p2pgrid mam publish: out of memory\n");
    return NULL;
  }
  memcpy(lp, path, strlen(path));
  memcpy(lp + strlen(path), ".lock", sizeof ".lock");
  int rc = pg_lock_file_take(lp, false, &l, &d);
  if (rc == PG_ERR_UNAVAILABLE) {
    fprintf(stderr, "p2pgrid mam publish: %s is in use by another publish (%s); waiting\n", path,
            d.msg);
    rc = pg_lock_file_take(lp, true, &l, &d);
  }
  if (rc != PG_OK) fprintf(stderr, "p2pgrid mam publish: cannot lock %s: %s\n", path, d.msg);
  free(lp);
  return l;
}

static int random_seed(char seed[PG_MAM_HASH_TRYTES + 1]) {
  return pg_mam_random_trytes(seed, PG_MAM_HASH_TRYTES) == PG_OK ? 0 : -1;
}

/* ---- publish ---- */

static int cmd_publish(int argc, char **argv) {
  static const struct option opts[] = {
      {"node", required_argument, NULL, 'n'},   {"state", required_argument, NULL, 's'},
      {"mode", required_argument, NULL, 'm'},   {"side-key", required_argument, NULL, 'k'},
      {"security", required_argument, NULL, 'S'}, {"trytes", no_argument, NULL, 't'},
      {"tag", required_argument, NULL, 'g'},    {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int status = PG_EXIT_USAGE;
  const char *node = NULL, *path = NULL, *side_key = NULL, *tag = NULL;
  bool mode_set = false, as_trytes = false;
  pg_mam_mode mode = PG_MAM_PUBLIC;
  int security = 0; /* 0 = not given */
  char *msg = NULL;
  size_t msg_len = 0;
  pg_dirlock *lock = NULL;
  pg_client *client = NULL;
  pg_mam_channel ch, next;
  pg_mam_message m;
  pg_diag d = {{0}};
  int opt;

  memset(&ch, 0, sizeof ch);
  memset(&next, 0, sizeof next);
  memset(&m, 0, sizeof m);
  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":n:s:m:k:S:tg:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'n': node = optarg; break;
    case 's': path = optarg; break;
    case 'm':
      if (parse_mode("publish", optarg, &mode)) goto out;
      mode_set = true;
      break;
    case 'k': side_key = optarg; break;
    case 'S':
      if (strlen(optarg) != 1 || optarg[0] < '1' || optarg[0] > '3') {
        fprintf(stderr, "p2pgrid mam publish: bad security '%.20s': use 1, 2 or 3\n", optarg);
        goto out;
      }
      security = optarg[0] - '0';
      break;
    case 't': as_trytes = true; break;
    case 'g': tag = optarg; break;
    case 'h':
      usage_publish(stdout);
      status = PG_EXIT_OK;
      goto out;
    case ':':
      fprintf(stderr, "p2pgrid mam publish: option '%s' needs a value\n\n", argv[optind - 1]);
      usage_publish(stderr);
      goto out;
    default:
      fprintf(stderr, "p2pgrid mam publish: unknown option '%s'\n\n", argv[optind - 1]);
      usage_publish(stderr);
      goto out;
    }
  }
  if (!node || !path) {
    fprintf(stderr, "p2pgrid mam publish: %s is required\n\n",
            !node ? "--node URL" : "--state FILE");
    usage_publish(stderr);
    goto out;
  }
  if (optind != argc - 1) {
    fprintf(stderr, "p2pgrid mam publish: %s\n\n",
            optind == argc ? "MESSAGE is missing" : "give exactly one MESSAGE (quote it)");
    usage_publish(stderr);
    goto out;
  }
  if (tag && (strlen(tag) > PG_MAM_MAX_TAG || !pg_trytes_valid(tag, strlen(tag)))) {
    fprintf(stderr, "p2pgrid mam publish: bad tag '%.60s': up to 27 trytes (A-Z, 9)\n", tag);
    goto out;
  }
  /* the message */
  {
    const char *text = argv[optind];
    size_t tl = strlen(text);
    if (tl == 0) {
      fprintf(stderr, "p2pgrid mam publish: MESSAGE is empty\n");
      goto out;
    }
    if (as_trytes) {
      if (!pg_trytes_valid(text, tl)) {
        fprintf(stderr, "p2pgrid mam publish: --trytes: MESSAGE must be trytes (A-Z and 9)\n");
        goto out;
      }
      msg = malloc(tl + 1);
      if (!msg) {
        fprintf(stderr, "p2pgrid mam publish: out of memory\n");
        status = PG_EXIT_FAIL;
        goto out;
      }
      memcpy(msg, text, tl + 1);
      msg_len = tl;
    } else if (pg_mam_text_to_trytes(text, tl, &msg, &msg_len) != PG_OK) {
      fprintf(stderr, "p2pgrid mam publish: MESSAGE is not valid UTF-8 text (or use --trytes)\n");
      goto out;
    }
    if (msg_len > PG_MAM_MAX_MESSAGE) {
      fprintf(stderr, "p2pgrid mam publish: MESSAGE is %zu trytes, more than the %u allowed\n",
              msg_len, PG_MAM_MAX_MESSAGE);
      goto out;
    }
  }
  if (side_key && check_side_key("publish", PG_MAM_RESTRICTED, side_key)) goto out;
  if ((status = open_client("publish", node, &client)) != PG_EXIT_OK) goto out;
  status = PG_EXIT_FAIL;

  lock = lock_state(path);
  if (!lock) goto out;

  bool exists = false;
  if ((status = read_state(path, &ch, &exists)) != PG_EXIT_OK) goto out;
  status = PG_EXIT_USAGE;
  if (!exists) {
    char seed[PG_MAM_HASH_TRYTES + 1];
    if (check_side_key("publish", mode, side_key)) goto out;
    if (random_seed(seed)) {
      fprintf(stderr, "p2pgrid mam publish: libsodium cannot be initialised\n");
      status = PG_EXIT_FAIL;
      goto out;
    }
    int rc = pg_mam_channel_create(&ch, seed, mode, side_key, side_key ? strlen(side_key) : 0,
                                   security ? security : DEFAULT_SECURITY, &d);
    sodium_memzero(seed, sizeof seed);
    if (rc != PG_OK) {
      fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
      goto out;
    }
    /* saved now so that the channel (and its root) survives a failed attach */
    if (save_state(path, &ch)) {
      status = PG_EXIT_FAIL;
      goto out;
    }
    fprintf(stderr,
            "p2pgrid mam publish: created channel state %s (%s, security %d); it holds the "
            "seed: keep it secret\n",
            path, pg_mam_mode_name(ch.mode), ch.security);
  } else {
    if (mode_set && mode != ch.mode) {
      fprintf(stderr,
              "p2pgrid mam publish: --mode %s does not match the channel in %s (%s); omit it or "
              "use another --state file\n",
              pg_mam_mode_name(mode), path, pg_mam_mode_name(ch.mode));
      goto out;
    }
    if (security && security != ch.security) {
      fprintf(stderr,
              "p2pgrid mam publish: --security %d does not match the channel in %s (security "
              "%d); omit it or use another --state file\n",
              security, path, ch.security);
      goto out;
    }
    if (side_key) {
      size_t kl = strlen(side_key);
      char padded[PG_MAM_HASH_TRYTES + 1];
      if (ch.mode != PG_MAM_RESTRICTED) {
        fprintf(stderr,
                "p2pgrid mam publish: --side-key given but the channel in %s is %s (side keys "
                "are for restricted channels)\n",
                path, pg_mam_mode_name(ch.mode));
        goto out;
      }
      memset(padded, '9', PG_MAM_HASH_TRYTES);
      memcpy(padded, side_key, kl);
      padded[PG_MAM_HASH_TRYTES] = '\0';
      if (memcmp(padded, ch.side_key, PG_MAM_HASH_TRYTES) != 0) {
        fprintf(stderr,
                "p2pgrid mam publish: --side-key does not match the side key of the channel in "
                "%s; omit it or use another --state file\n",
                path);
        goto out;
      }
    }
  }
  status = PG_EXIT_FAIL;

  /* A leaf that already carries a verifying message must not sign again. */
  const char *key = ch.mode == PG_MAM_RESTRICTED ? ch.side_key : NULL;
  size_t klen = ch.mode == PG_MAM_RESTRICTED ? PG_MAM_HASH_TRYTES : 0;
  for (int tries = 0;; tries++) {
    char root[PG_MAM_HASH_TRYTES + 1];
    pg_mam_fetched f;
    memset(&f, 0, sizeof f);
    if (pg_mam_channel_root(&ch, root) != PG_OK) {
      fprintf(stderr, "p2pgrid mam publish: %s: cannot compute the channel root\n", path);
      goto out;
    }
    int rc = pg_mam_fetch(client, root, ch.mode, key, klen, &f, &d);
    if (rc == PG_ERR_NOT_FOUND) break;
    if (rc != PG_OK) {
      report_node_error("publish", node, "looking up the channel's current root", rc, &d);
      goto out;
    }
    pg_mam_fetched_free(&f);
    if (tries >= MAX_RECOVER) {
      fprintf(stderr, "p2pgrid mam publish: more than %d used roots in a row; giving up\n",
              MAX_RECOVER);
      goto out;
    }
    /* the advance does not depend on the message: sign a throwaway one */
    pg_mam_message skip;
    memset(&skip, 0, sizeof skip);
    if (pg_mam_create_message(&ch, "9", 1, &skip, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
      goto out;
    }
    pg_mam_message_free(&skip);
    if (save_state(path, &ch)) goto out;
    fprintf(stderr,
            "p2pgrid mam publish: root %s already has a message (an earlier publish attached it "
            "but did not save %s); moved on to the next root\n",
            root, path);
  }

  next = ch;
  if (pg_mam_create_message(&next, msg, msg_len, &m, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid mam publish: %s\n", d.msg);
    goto out;
  }
  uint8_t id[32];
  int rc = pg_mam_attach(client, &m, tag, tag ? strlen(tag) : 0, id, &d);
  if (rc != PG_OK) {
    report_node_error("publish", node, "attaching the message", rc, &d);
    fprintf(stderr, "p2pgrid mam publish: %s is unchanged\n", path);
    goto out;
  }
  char idhex[65];
  pg_hex_encode(id, 32, idhex);
  if (save_state(path, &next)) {
    fprintf(stderr,
            "p2pgrid mam publish: message %s is attached but %s was not updated; the next "
            "publish will notice and move on\n",
            idhex, path);
    goto out;
  }
  printf("root: %s\naddress: %s\nmessage_id: %s\nnext_root: %s\n", m.root, m.address, idhex,
         m.next_root);
  status = fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_FAIL;
out:
  pg_mam_message_free(&m);
  pg_mam_channel_wipe(&ch);
  pg_mam_channel_wipe(&next);
  pg_client_free(client);
  pg_dirlock_release(lock);
  free(msg);
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
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s%}", "root", f->root, "messageId", idhex,
                          "tag", f->tag, "nextRoot", f->next_root, "message", body, blen);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!s)
      ret = -1;
    else
      printf("%s\n", s);
    free(s);
    json_decref(o);
  } else {
    printf("root: %s\nmessage_id: %s\n", f->root, idhex);
    if (f->tag[0]) printf("tag: %s\n", f->tag);
    printf("next_root: %s\nmessage: ", f->next_root);
    fwrite(body, 1, blen, stdout);
    printf("\n\n");
  }
  free(text);
  if (fflush(stdout) != 0) ret = -1;
  return ret;
}

/* Explains why nothing verified at root: how many candidates there were. */
static void explain_not_found(pg_client *c, const char *url, const char *root, pg_mam_mode mode) {
  char address[PG_MAM_HASH_TRYTES + 1];
  uint8_t index[32];
  uint8_t(*ids)[PG_ID_LEN] = malloc(PG_MAM_FETCH_MAX_IDS * sizeof *ids);
  size_t count = 0, total = 0;
  pg_diag d = {{0}};
  int rc = PG_ERR_NOMEM;
  if (ids && pg_mam_address(root, mode, address) == PG_OK) {
    pg_mam_attach_index(address, index);
    rc = pg_client_find_index(c, index, sizeof index, ids, PG_MAM_FETCH_MAX_IDS, &count, &total,
                              &d);
  }
  free(ids);
  if (rc != PG_OK || total == 0)
    fprintf(stderr, "p2pgrid mam read: no message at root %s (%s mode; nothing under its address "
                    "at %s)\n",
            root, pg_mam_mode_name(mode), url);
  else
    fprintf(stderr,
            "p2pgrid mam read: no message at root %s: %zu message%s under its address at %s, "
            "none verifies in %s mode%s (wrong root, --mode or --side-key, or tampered)\n",
            root, total, total == 1 ? "" : "s", url, pg_mam_mode_name(mode),
            mode == PG_MAM_RESTRICTED ? " with this side key" : "");
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

static int cmd_read(int argc, char **argv) {
  static const struct option opts[] = {
      {"node", required_argument, NULL, 'n'},     {"root", required_argument, NULL, 'r'},
      {"mode", required_argument, NULL, 'm'},     {"side-key", required_argument, NULL, 'k'},
      {"follow", no_argument, NULL, 'f'},         {"interval", required_argument, NULL, 'i'},
      {"limit", required_argument, NULL, 'l'},    {"trytes", no_argument, NULL, 't'},
      {"json", no_argument, NULL, 'j'},           {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int status = PG_EXIT_USAGE;
  const char *node = NULL, *root = NULL, *side_key = NULL;
  pg_mam_mode mode = PG_MAM_PUBLIC;
  bool follow = false, as_trytes = false, as_json = false;
  uint64_t interval_ms = DEFAULT_INTERVAL_MS;
  unsigned long long limit = 0;
  pg_client *client = NULL;
  pg_diag d = {{0}};
  int opt;

  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":n:r:m:k:fi:l:tjh", opts, NULL)) != -1) {
    switch (opt) {
    case 'n': node = optarg; break;
    case 'r': root = optarg; break;
    case 'm':
      if (parse_mode("read", optarg, &mode)) goto out;
      break;
    case 'k': side_key = optarg; break;
    case 'f': follow = true; break;
    case 'i':
      if (pg_config_parse_duration_ms(optarg, &interval_ms) != PG_OK || interval_ms == 0 ||
          interval_ms > 86400000ull) {
        fprintf(stderr,
                "p2pgrid mam read: bad interval '%.40s': use e.g. 500ms, 2s or 1m (at most 1d)\n",
                optarg);
        goto out;
      }
      break;
    case 'l': {
      char *end = NULL;
      errno = 0;
      limit = strtoull(optarg, &end, 10);
      if (errno || !end || *end || optarg[0] < '0' || optarg[0] > '9' || limit == 0) {
        fprintf(stderr, "p2pgrid mam read: bad limit '%.40s': use a positive number\n", optarg);
        goto out;
      }
      break;
    }
    case 't': as_trytes = true; break;
    case 'j': as_json = true; break;
    case 'h':
      usage_read(stdout);
      status = PG_EXIT_OK;
      goto out;
    case ':':
      fprintf(stderr, "p2pgrid mam read: option '%s' needs a value\n\n", argv[optind - 1]);
      usage_read(stderr);
      goto out;
    default:
      fprintf(stderr, "p2pgrid mam read: unknown option '%s'\n\n", argv[optind - 1]);
      usage_read(stderr);
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid mam read: unexpected argument '%s'\n\n", argv[optind]);
    usage_read(stderr);
    goto out;
  }
  if (!node || !root) {
    fprintf(stderr, "p2pgrid mam read: %s is required\n\n", !node ? "--node URL" : "--root ROOT");
    usage_read(stderr);
    goto out;
  }
  size_t rlen = strlen(root);
  if (rlen != PG_MAM_HASH_TRYTES || !pg_trytes_valid(root, rlen)) {
    if (rlen != PG_MAM_HASH_TRYTES)
      fprintf(stderr, "p2pgrid mam read: bad root: it must be 81 trytes, it has %zu characters\n",
              rlen);
    else
      fprintf(stderr, "p2pgrid mam read: bad root: it must be trytes (letters A-Z and 9)\n");
    goto out;
  }
  if (check_side_key("read", mode, side_key)) goto out;
  if ((status = open_client("read", node, &client)) != PG_EXIT_OK) goto out;
  status = PG_EXIT_FAIL;

  sigset_t stop_sigs;
  sigemptyset(&stop_sigs);
  sigaddset(&stop_sigs, SIGINT);
  sigaddset(&stop_sigs, SIGTERM);
  if (follow && sigprocmask(SIG_BLOCK, &stop_sigs, NULL) != 0) {
    fprintf(stderr, "p2pgrid mam read: cannot block signals\n");
    goto out;
  }

  char cur[PG_MAM_HASH_TRYTES + 1];
  memcpy(cur, root, sizeof cur);
  size_t klen = side_key ? strlen(side_key) : 0;
  unsigned long long got = 0;
  bool warned = false, stopped = false, waiting = false;
  for (;;) {
    pg_mam_fetched f;
    memset(&f, 0, sizeof f);
    int rc = pg_mam_fetch(client, cur, mode, side_key, klen, &f, &d);
    if (rc == PG_OK) {
      warned = false;
      int pr = print_message(&f, as_trytes, as_json);
      memcpy(cur, f.next_root, sizeof cur);
      pg_mam_fetched_free(&f);
      if (pr) {
        fprintf(stderr, "p2pgrid mam read: cannot print a message (out of memory or stdout "
                        "closed)\n");
        goto out;
      }
      got++;
      if (limit && got >= limit) break;
      if (follow && wait_stop(&stop_sigs, 0)) {
        stopped = true;
        break;
      }
      continue;
    }
    if (rc == PG_ERR_NOT_FOUND) {
      if (!follow) {
        if (got == 0) {
          explain_not_found(client, node, cur, mode);
          goto out;
        }
        break;
      }
      if (got == 0 && !waiting) {
        fprintf(stderr, "p2pgrid mam read: no message at root %s yet; polling every %" PRIu64
                        " ms\n", cur, interval_ms);
        waiting = true;
      }
    } else if (!follow || (rc != PG_ERR_HTTP && rc != PG_ERR_TIMEOUT && rc != PG_ERR_UNAVAILABLE)) {
      report_node_error("read", node, "fetching a message", rc, &d);
      goto out;
    } else if (!warned) {
      report_node_error("read", node, "fetching a message", rc, &d);
      fprintf(stderr, "p2pgrid mam read: retrying every %" PRIu64 " ms\n", interval_ms);
      warned = true;
    }
    if (wait_stop(&stop_sigs, interval_ms)) {
      stopped = true;
      break;
    }
  }
  if (follow)
    fprintf(stderr, "p2pgrid mam read: %s after %llu message%s; next root %s\n",
            stopped ? "stopped" : "done", got, got == 1 ? "" : "s", cur);
  status = PG_EXIT_OK;
out:
  pg_client_free(client);
  return status;
}

int pg_cmd_mam(int argc, char **argv) {
  if (argc < 2) {
    pg_cmd_mam_usage(stderr);
    return PG_EXIT_USAGE;
  }
  if (is_help(argv[1])) {
    if (argc > 2 && strcmp(argv[2], "publish") == 0)
      usage_publish(stdout);
    else if (argc > 2 && strcmp(argv[2], "read") == 0)
      usage_read(stdout);
    else
      pg_cmd_mam_usage(stdout);
    return PG_EXIT_OK;
  }
  if (strcmp(argv[1], "publish") == 0) return cmd_publish(argc - 1, argv + 1);
  if (strcmp(argv[1], "read") == 0) return cmd_read(argc - 1, argv + 1);
  fprintf(stderr, "p2pgrid mam: unknown subcommand '%s'\n\n", argv[1]);
  pg_cmd_mam_usage(stderr);
  return PG_EXIT_USAGE;
}
