/* p2pgrid wallet — new | address | balance | send | sweep | history, against any
 * Chrysalis node URL. Thin: argument parsing around include/p2pgrid/client/wallet.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/client/wallet.h"
#include "p2pgrid/client/wallet_journal.h"

#define MAX_PAY PG_WALLET_MAX_OUTPUTS

void pg_cmd_wallet_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid wallet <action> [options]\n"
          "\n"
          "A wallet for any Chrysalis node: the same seed gives the same addresses as\n"
          "@iota/iota.js (Ed25519Seed, m/44'/4218'/account'/change'/index').\n"
          "\n"
          "actions:\n"
          "  new       write a new random seed (32 bytes, hex) to --seed-file (mode 0600)\n"
          "  address   print addresses (bech32; the HRP comes from --node or --hrp)\n"
          "  balance   confirmed balance over the wallet's addresses\n"
          "  send      pay --to ADDRESS --amount N (repeat both for batched payouts)\n"
          "  sweep     consolidate the wallet's outputs, dust first, into one output on\n"
          "            --to (default: the first address); dust allowance outputs stay\n"
          "  history   every output (spent or not) on the wallet's addresses\n"
          "\n"
          "options:\n"
          "  --seed-file FILE   the seed (hex, one line); or set P2PGRID_SEED=<hex>\n"
          "  --mnemonic-file F  a BIP-39 sentence instead (iota.js Ed25519Seed.fromMnemonic)\n"
          "  --node URL         node REST API, default http://127.0.0.1:14265\n"
          "  --account N        BIP-44 account (default 0)\n"
          "  --hrp HRP          bech32 prefix when no node is asked (default atoi)\n"
          "  --count N          address: how many to print (default 1)\n"
          "  --index N          address: first index (default 0)\n"
          "  --change 0|1       address: external (0, default) or internal (1)\n"
          "  --to ADDRESS       send: bech32 or 64-hex Ed25519 address (repeatable); sweep: target\n"
          "  --amount N         send: base token units for the --to before it\n"
          "  --dust-allowance   send: make the outputs dust allowance outputs (>= 1000000)\n"
          "  --reference TEXT   send: payment reference (indexation index inside the transaction)\n"
          "  --data TEXT        send: data carried with the reference\n"
          "  --max-inputs N     sweep: outputs to consume at most, 2..127 (default 127)\n"
          "  --no-wait          send, sweep: do not follow the transfer to confirmation\n"
          "  --timeout SECONDS  send, sweep: how long to wait for confirmation (default 60)\n"
          "  --journal FILE     send, sweep: the journal of pending transfers (default: the\n"
          "                     seed or mnemonic file's name + .pending)\n"
          PG_APP_MONEY_HELP
          "                     balance: \"2.34 EUR (2343151525 i)\" instead of the bare number;\n"
          "                     history: the amount in the currency too\n"
          "\n"
          "Pending transfers: send and sweep record each transfer they submit (message,\n"
          "transaction, the outputs it spends) in the journal, written atomically, and\n"
          "hold JOURNAL.lock while they choose inputs and submit, so a second send from\n"
          "the same seed (also right after 'send --no-wait') never spends an output a\n"
          "pending transfer spends; it waits for the lock, then asks the node about each\n"
          "journal entry and drops the ones that are confirmed, conflicting or unknown\n"
          "to the node. With P2PGRID_SEED and no --journal there is no journal.\n"
          "\n"
          "examples:\n"
          "  p2pgrid wallet new --seed-file alice.seed\n"
          "  p2pgrid wallet address --seed-file alice.seed --node http://127.0.0.1:14265\n"
          "  p2pgrid wallet send --seed-file alice.seed --to atoi1q... --amount 1000000\n"
          "  p2pgrid wallet sweep --seed-file alice.seed\n");
}

typedef struct wopts {
  const char *action, *seed_file, *mnemonic_file, *node, *hrp, *reference, *data, *journal;
  const char *money_spec; /* --money: balance and history also in a currency */
  pg_money money;
  uint32_t account, count, index, change;
  bool dust_allowance, no_wait;
  uint64_t timeout_s, max_inputs;
  size_t npay;
  const char *to[MAX_PAY];
  uint64_t amount[MAX_PAY];
  bool has_amount[MAX_PAY];
} wopts;

static int parse_u64(const char *what, const char *s, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  if (!s[0] || s[0] == '-') goto bad;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max) goto bad;
  *out = v;
  return 0;
bad:
  fprintf(stderr, "p2pgrid wallet: %s: '%s' is not a whole number up to %llu\n", what, s,
          (unsigned long long)max);
  return -1;
}

static int parse_args(int argc, char **argv, wopts *o) {
  enum { O_SEED = 256, O_MNEMONIC, O_NODE, O_ACCOUNT, O_HRP, O_COUNT, O_INDEX, O_CHANGE, O_TO, O_AMOUNT,
         O_DUST, O_REF, O_DATA, O_NOWAIT, O_TIMEOUT, O_MAXIN, O_JOURNAL, O_MONEY };
  static const struct option opts[] = {
      {"seed-file", required_argument, 0, O_SEED}, {"node", required_argument, 0, O_NODE},
      {"mnemonic-file", required_argument, 0, O_MNEMONIC},
      {"account", required_argument, 0, O_ACCOUNT}, {"hrp", required_argument, 0, O_HRP},
      {"count", required_argument, 0, O_COUNT},     {"index", required_argument, 0, O_INDEX},
      {"change", required_argument, 0, O_CHANGE},   {"to", required_argument, 0, O_TO},
      {"amount", required_argument, 0, O_AMOUNT},   {"dust-allowance", no_argument, 0, O_DUST},
      {"reference", required_argument, 0, O_REF},   {"data", required_argument, 0, O_DATA},
      {"no-wait", no_argument, 0, O_NOWAIT},        {"timeout", required_argument, 0, O_TIMEOUT},
      {"max-inputs", required_argument, 0, O_MAXIN},
      {"journal", required_argument, 0, O_JOURNAL}, {"money", required_argument, 0, O_MONEY},
      {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
  o->node = "http://127.0.0.1:14265";
  o->hrp = NULL;
  o->count = 1;
  o->timeout_s = 60;
  optind = 1;
  int c;
  uint64_t v;
  pg_app_opts os = {.cmd = "wallet", .longopts = opts,
                    .repeatable = (const int[]){O_TO, O_AMOUNT, 0}};
  while ((c = pg_app_getopt(&os, argc, argv, "h")) != -1) {
    switch (c) {
    case O_SEED: o->seed_file = optarg; break;
    case O_MNEMONIC: o->mnemonic_file = optarg; break;
    case O_NODE: o->node = optarg; break;
    case O_HRP: o->hrp = optarg; break;
    case O_REF: o->reference = optarg; break;
    case O_DATA: o->data = optarg; break;
    case O_JOURNAL: o->journal = optarg; break;
    case O_MONEY: o->money_spec = optarg; break;
    case O_DUST: o->dust_allowance = true; break;
    case O_NOWAIT: o->no_wait = true; break;
    case O_ACCOUNT: if (parse_u64("--account", optarg, 0x7fffffff, &v)) return -1; o->account = (uint32_t)v; break;
    case O_COUNT: if (parse_u64("--count", optarg, 1000, &v)) return -1; o->count = (uint32_t)v; break;
    case O_INDEX: if (parse_u64("--index", optarg, 0x7fffffff, &v)) return -1; o->index = (uint32_t)v; break;
    case O_CHANGE: if (parse_u64("--change", optarg, 1, &v)) return -1; o->change = (uint32_t)v; break;
    case O_TIMEOUT: if (parse_u64("--timeout", optarg, 86400, &v)) return -1; o->timeout_s = v; break;
    case O_MAXIN:
      if (parse_u64("--max-inputs", optarg, 127, &v)) return -1;
      if (v == 1) {
        fprintf(stderr, "p2pgrid wallet: --max-inputs: a sweep takes 2 to 127 outputs\n");
        return -1;
      }
      o->max_inputs = v;
      break;
    case O_TO:
      if (o->npay == MAX_PAY) {
        fprintf(stderr, "p2pgrid wallet: at most %d --to per transfer\n", MAX_PAY);
        return -1;
      }
      o->to[o->npay++] = optarg;
      break;
    case O_AMOUNT:
      if (o->npay == 0 || o->has_amount[o->npay - 1]) {
        fprintf(stderr, "p2pgrid wallet: each --amount follows its --to\n");
        return -1;
      }
      if (parse_u64("--amount", optarg, UINT64_MAX, &o->amount[o->npay - 1])) return -1;
      o->has_amount[o->npay - 1] = true;
      break;
    case 'h': pg_cmd_wallet_usage(stdout); exit(PG_EXIT_OK);
    default: return -1;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "p2pgrid wallet: which action? (new, address, balance, send, sweep, history)\n");
    return -1;
  }
  if (pg_app_opt_conflict(&os, O_SEED, O_MNEMONIC)) return -1;
  o->action = argv[optind];
  if (optind + 1 < argc) {
    fprintf(stderr, "p2pgrid wallet: unexpected argument '%s'\n", argv[optind + 1]);
    return -1;
  }
  bool sweep = !strcmp(o->action, "sweep");
  if (sweep && o->npay > 1) {
    fprintf(stderr, "p2pgrid wallet sweep: at most one --to\n");
    return -1;
  }
  for (size_t i = 0; i < o->npay && !sweep; i++)
    if (!o->has_amount[i]) {
      fprintf(stderr, "p2pgrid wallet: --to %s has no --amount\n", o->to[i]);
      return -1;
    }
  return 0;
}

static int cmd_new(const wopts *o) {
  if (!o->seed_file) {
    fprintf(stderr, "p2pgrid wallet new: --seed-file FILE is required\n");
    return PG_EXIT_USAGE;
  }
  uint8_t seed[32];
  char hex[65];
  randombytes_buf(seed, sizeof seed);
  pg_hex_encode(seed, sizeof seed, hex);
  sodium_memzero(seed, sizeof seed);
  size_t n = strlen(hex);
  hex[n] = '\n';
  /* whole or not at all, also across a power cut; never over an existing seed */
  pg_diag d = {{0}};
  int rc = pg_write_file_atomic(o->seed_file, hex, n + 1, true, false, &d);
  sodium_memzero(hex, sizeof hex);
  if (rc != PG_OK) {
    fprintf(stderr, "p2pgrid wallet new: %s%s\n", d.msg,
            rc == PG_ERR_EXISTS ? " (refusing to overwrite a seed)" : "");
    return PG_EXIT_FAIL;
  }
  printf("seed written to %s (keep it secret; it controls the funds)\n", o->seed_file);
  return PG_EXIT_OK;
}

/* Reads the seed from --mnemonic-file, --seed-file or P2PGRID_SEED. */
static int load_seed(const wopts *o, uint8_t seed[64], size_t *len) {
  return pg_app_load_seed("wallet", o->seed_file, o->mnemonic_file, seed, len);
}

static int parse_address(const char *s, const char *hrp, uint8_t out[32]) {
  pg_diag d = {{0}};
  if (strlen(s) == 64 && pg_hex_decode_exact(s, out, 32) == PG_OK) return 0;
  if (pg_iota_address_decode(s, strlen(s), hrp, NULL, 0, out, &d) == PG_OK) return 0;
  fprintf(stderr, "p2pgrid wallet: address '%s': %s\n", s,
          d.msg[0] ? d.msg : "not a bech32 or 64-hex address");
  return -1;
}

/* ---- the journal of pending transfers (p2pgrid/client/wallet_journal.h) ---- */

typedef struct journal {
  pg_wallet_journal *j; /* NULL = none */
} journal;

static void journal_dropped(void *ctx, const uint8_t msg_id[32], pg_wallet_transfer_state st) {
  char hex[65];
  pg_hex_encode(msg_id, 32, hex);
  fprintf(stderr, "p2pgrid wallet %s: earlier transfer %s %s; its outputs are free again\n",
          (const char *)ctx, hex, st == PG_TRANSFER_CONFLICTING ? "conflicted" : "is unknown to the node");
}

/* Opens the journal of o (waiting for another send of the same seed), which
 * hands the still pending transfers to w. 0 or -1 (printed). */
static int journal_open(const char *who, const wopts *o, pg_wallet *w, journal *jn) {
  pg_diag d = {{0}};
  char path[PATH_MAX];
  const char *base = o->mnemonic_file ? o->mnemonic_file : o->seed_file;
  if (!o->journal && !base) {
    fprintf(stderr, "p2pgrid wallet %s: note: no journal of pending transfers (the seed comes from "
                    "P2PGRID_SEED); give --journal FILE so that sends in quick succession never "
                    "spend the same outputs\n", who);
    return 0;
  }
  int n = o->journal ? snprintf(path, sizeof path, "%s", o->journal)
                     : snprintf(path, sizeof path, "%s.pending", base);
  if (n < 0 || (size_t)n >= sizeof path) {
    fprintf(stderr, "p2pgrid wallet %s: journal path too long\n", who);
    return -1;
  }
  if (pg_wallet_journal_open(path, w, journal_dropped, (void *)who, &jn->j, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid wallet %s: %s\n", who, d.msg);
    return -1;
  }
  return 0;
}

/* Records the transfer just submitted as msg_id. 0 or -1 (printed). */
static int journal_add(const char *who, journal *jn, pg_wallet *w, const uint8_t msg_id[32]) {
  pg_diag d = {{0}};
  if (!jn->j || pg_wallet_journal_add(jn->j, w, msg_id, &d) == PG_OK) return 0;
  fprintf(stderr, "p2pgrid wallet %s: the transfer was submitted but not recorded in %s: %s\n", who,
          pg_wallet_journal_path(jn->j), d.msg);
  return -1;
}

/* Lets the next send in (idempotent). */
static void journal_close(journal *jn) {
  pg_wallet_journal_close(jn->j);
  jn->j = NULL;
}

typedef struct history_ctx {
  const char *hrp;
  const pg_money *money; /* NULL: base units only */
  unsigned n;
} history_ctx;

static int print_output(void *ctx, uint32_t change, uint32_t index, const pg_output_info *o) {
  history_ctx *h = ctx;
  char b32[96], oid[2 * PG_OUTPUT_ID_LEN + 1], msg[65];
  if (pg_iota_address_encode(h->hrp, o->address, b32, sizeof b32)) b32[0] = 0;
  pg_hex_encode(o->output_id, PG_OUTPUT_ID_LEN, oid);
  pg_hex_encode(o->message_id, 32, msg);
  char cur[PG_MONEY_FMT_MAX + 2] = "";
  if (h->money) {
    cur[0] = ' ', cur[1] = ' ';
    (void)pg_money_format(h->money, (int64_t)o->amount, cur + 2, sizeof cur - 2);
  }
  printf("%u'/%u'  %s  %20llu%s  %-6s %s  output %s  message %s\n", change, index, b32,
         (unsigned long long)o->amount, cur, o->type ? "allow" : "single",
         o->spent ? "spent  " : "unspent", oid, msg);
  h->n++;
  return 0;
}

/* What an action works with (pg_cmd_wallet opens it). */
typedef struct wctx {
  wopts *o;
  pg_wallet *w;
  const char *hrp;
  journal *jn;
} wctx;

static int act_address(wctx *x) {
  const wopts *o = x->o;
  for (uint32_t i = 0; i < o->count; i++) {
    uint8_t addr[32];
    char b32[96], hex[65];
    if (pg_wallet_address(x->w, o->change, o->index + i, addr) ||
        pg_iota_address_encode(x->hrp, addr, b32, sizeof b32)) {
      fprintf(stderr, "p2pgrid wallet: cannot derive address %u\n", o->index + i);
      return PG_EXIT_FAIL;
    }
    pg_hex_encode(addr, 32, hex);
    printf("%u'/%u'  %s  %s\n", o->change, o->index + i, b32, hex);
  }
  return PG_EXIT_OK;
}

static int act_balance(wctx *x) {
  uint64_t b;
  pg_diag d = {{0}};
  if (pg_wallet_balance(x->w, &b, &d)) {
    fprintf(stderr, "p2pgrid wallet balance: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  if (x->o->money_spec) {
    char cur[PG_MONEY_FMT_MAX];
    (void)pg_money_format(&x->o->money, (int64_t)b, cur, sizeof cur);
    printf("%s (%llu i)\n", cur, (unsigned long long)b);
  } else {
    printf("%llu\n", (unsigned long long)b);
  }
  return PG_EXIT_OK;
}

static int act_history(wctx *x) {
  pg_diag d = {{0}};
  history_ctx h = {x->hrp, x->o->money_spec ? &x->o->money : NULL, 0};
  if (pg_wallet_history(x->w, print_output, &h, &d)) {
    fprintf(stderr, "p2pgrid wallet history: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  if (h.n == 0) printf("no outputs on this wallet's addresses\n");
  return PG_EXIT_OK;
}

/* After a send or sweep: journals the message and, unless --no-wait,
 * follows it to confirmation. PG_EXIT_*. */
static int journal_and_follow(const char *what, wctx *x, const uint8_t mid[32]) {
  pg_diag d = {{0}};
  uint8_t fin[32];
  char mhex[65];
  if (journal_add(what, x->jn, x->w, mid)) return PG_EXIT_FAIL;
  journal_close(x->jn);
  if (x->o->no_wait) return PG_EXIT_OK;
  pg_wallet_follow_opts fo = {.timeout_ms = x->o->timeout_s * 1000};
  if (pg_wallet_follow(x->w, mid, &fo, fin, &d)) {
    fprintf(stderr, "p2pgrid wallet %s: %s\n", what, d.msg);
    return PG_EXIT_FAIL;
  }
  pg_hex_encode(fin, 32, mhex);
  printf("confirmed   %s\n", mhex);
  return PG_EXIT_OK;
}

static int act_sweep(wctx *x) {
  const wopts *o = x->o;
  pg_diag d = {{0}};
  uint8_t to[32], mid[32], tid[32];
  char mhex[65], thex[65];
  size_t swept = 0;
  if (o->npay && parse_address(o->to[0], x->hrp, to)) return PG_EXIT_USAGE;
  if (journal_open("sweep", o, x->w, x->jn)) return PG_EXIT_FAIL;
  int rc = pg_wallet_sweep(x->w, o->npay ? to : NULL, (size_t)o->max_inputs, NULL, mid, tid,
                           &swept, &d);
  if (rc == PG_ERR_NOT_FOUND) {
    printf("%s\n", d.msg);
    return PG_EXIT_OK;
  }
  if (rc) {
    fprintf(stderr, "p2pgrid wallet sweep: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  pg_hex_encode(mid, 32, mhex);
  pg_hex_encode(tid, 32, thex);
  printf("swept %zu outputs\ntransaction %s\nmessage     %s\n", swept, thex, mhex);
  fflush(stdout);
  return journal_and_follow("sweep", x, mid);
}

static int act_send(wctx *x) {
  const wopts *o = x->o;
  pg_diag d = {{0}};
  pg_wallet_output outs[MAX_PAY];
  for (size_t i = 0; i < o->npay; i++) {
    if (parse_address(o->to[i], x->hrp, outs[i].address)) return PG_EXIT_USAGE;
    outs[i].amount = o->amount[i];
    outs[i].dust_allowance = o->dust_allowance;
  }
  pg_wallet_send_opts so = {0};
  if (o->reference) {
    so.index = (const uint8_t *)o->reference;
    so.index_len = strlen(o->reference);
    so.data = (const uint8_t *)o->data;
    so.data_len = o->data ? strlen(o->data) : 0;
  }
  uint8_t mid[32], tid[32];
  char mhex[65], thex[65];
  if (journal_open("send", o, x->w, x->jn)) return PG_EXIT_FAIL;
  if (pg_wallet_send(x->w, outs, o->npay, &so, mid, tid, &d)) {
    fprintf(stderr, "p2pgrid wallet send: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  pg_hex_encode(mid, 32, mhex);
  pg_hex_encode(tid, 32, thex);
  printf("transaction %s\nmessage     %s\n", thex, mhex);
  fflush(stdout);
  return journal_and_follow("send", x, mid);
}

/* The actions; new needs no node and no seed (run NULL: cmd_new). */
static const struct {
  const char *name;
  int (*run)(wctx *x);
} actions[] = {
    {"new", NULL},          {"address", act_address}, {"balance", act_balance},
    {"send", act_send},     {"history", act_history}, {"sweep", act_sweep},
};

int pg_cmd_wallet(int argc, char **argv) {
  wopts o;
  memset(&o, 0, sizeof o);
  if (parse_args(argc, argv, &o)) return PG_EXIT_USAGE;
  int ms = pg_app_money("wallet", o.money_spec, &o.money);
  if (ms != PG_EXIT_OK) return ms;
  if (pg_crypto_init()) return PG_EXIT_FAIL;
  size_t k = 0;
  while (k < sizeof actions / sizeof actions[0] && strcmp(o.action, actions[k].name) != 0) k++;
  if (k == sizeof actions / sizeof actions[0]) {
    fprintf(stderr, "p2pgrid wallet: unknown action '%s' (new, address, balance, send, sweep, history)\n",
            o.action);
    return PG_EXIT_USAGE;
  }
  if (!actions[k].run) return cmd_new(&o);
  if (!strcmp(o.action, "send") && o.npay == 0) {
    fprintf(stderr, "p2pgrid wallet send: give at least one --to ADDRESS --amount N\n");
    return PG_EXIT_USAGE;
  }
  uint8_t seed[64];
  size_t seed_len;
  if (load_seed(&o, seed, &seed_len)) return PG_EXIT_USAGE;

  int status = PG_EXIT_FAIL;
  pg_diag d = {{0}};
  pg_client *c = NULL;
  pg_wallet *w = NULL;
  journal jn;
  memset(&jn, 0, sizeof jn);
  pg_node_info info;
  char hrp[PG_CLIENT_HRP_MAX + 1];
  pg_http_client_opts ho = {.base_url = o.node};
  bool offline = !strcmp(o.action, "address") && o.hrp;
  snprintf(hrp, sizeof hrp, "%s", o.hrp ? o.hrp : "atoi");
  if (pg_client_http_new(&ho, &c, &d) || (!offline && pg_client_info(c, &info, &d)) ||
      pg_wallet_new(c, seed, seed_len, &(pg_wallet_opts){.account = o.account}, &w, &d)) {
    fprintf(stderr, "p2pgrid wallet: %s\n", d.msg);
    goto out;
  }
  if (!offline) snprintf(hrp, sizeof hrp, "%s", info.bech32_hrp);
  wctx x = {.o = &o, .w = w, .hrp = hrp, .jn = &jn};
  status = actions[k].run(&x);
out:
  journal_close(&jn);
  sodium_memzero(seed, sizeof seed);
  pg_wallet_free(w);
  pg_client_free(c);
  return status;
}
