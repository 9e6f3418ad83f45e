/* node_config.c — the node's settings from a pg_config (INI + overrides),
 * including coordinator key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/base/timelabel.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/node/node.h"

#define KEY_FILE_MAX 65536
#define TOKEN_MIN 16   /* bytes of a POST bearer token */
#define TOKEN_MAX 1024 /* the client's cap (PG_BEARER_MAX) */
#define TOKENS_MAX 1024

static int set_str(char **dst, const char *v) {
  char *s = strdup(v ? v : "");
  if (!s) return PG_ERR_NOMEM;
  free(*dst);
  *dst = s;
  return PG_OK;
}

unsigned pg_node_workers(const pg_node_config *c) {
  return c->workers ? c->workers : c->peer_count ? 4 : 1;
}

void pg_node_config_init(pg_node_config *c) {
  memset(c, 0, sizeof *c);
  c->network = strdup("private-tangle");
  c->bech32_hrp = strdup("atoi");
  c->data_dir = strdup("./data/node");
  c->min_pow_score = 100;
  c->log_level = 2; /* info */
  c->bind = strdup("127.0.0.1");
  c->port = PG_NODE_DEFAULT_PORT;
  c->workers = 0; /* auto: pg_node_workers */
  c->max_body = 96 * 1024;
  c->remote_pow = true;
  pg_money_default(&c->money);
  c->tz = PG_TZ_UTC;
  c->connection_timeout_s = 30;
  c->max_connections = 256;
  c->coo_interval_ms = 5000;
  c->ms_threshold = 1;
  c->dust_protection = true;
  c->peer_poll_ms = 1000;
  c->peer_refuse_ms = 3600000;
  c->peer_max_backoff_ms = 60000;
  c->mqtt.port = PG_MQTT_DEFAULT_PORT;
  c->mqtt.qos = 1;
  c->mqtt_queue = 10000;
}

void pg_node_config_clear(pg_node_config *c) {
  if (!c) return;
  free(c->network);
  free(c->bech32_hrp);
  free(c->data_dir);
  free(c->bind);
  free(c->genesis);
  free(c->tls_cert);
  free(c->tls_key);
  free(c->post_ca);
  free(c->post_crl);
  for (size_t i = 0; i < c->peer_count; i++) free(c->peer_urls[i]);
  free(c->peer_urls);
  free(c->peer_ca_file);
  pg_free_secret(c->peer_bearer);
  if (c->post_token_hashes) {
    volatile uint8_t *t = (volatile uint8_t *)c->post_token_hashes;
    for (size_t i = 0; i < c->post_token_count * 32; i++) t[i] = 0;
    free(c->post_token_hashes);
  }
  pg_mqtt_settings_clear(&c->mqtt);
  volatile uint8_t *p = (volatile uint8_t *)c->coo_secret_keys;
  for (size_t i = 0; i < sizeof c->coo_secret_keys; i++) p[i] = 0;
  memset(c, 0, sizeof *c);
}

/* Reads a string key into *dst (kept when missing). */
static int get_str(pg_config *cfg, const char *sec, const char *key, char **dst, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(cfg, sec, key, NULL, &v, d);
  if (rc) return rc;
  if (!v) return PG_OK;
  if (set_str(dst, v)) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  return PG_OK;
}

static int get_uint(pg_config *cfg, const char *sec, const char *key, uint64_t min, uint64_t max,
                    unsigned *dst, pg_diag *d) {
  uint64_t v = 0;
  int rc = pg_config_get_u64(cfg, sec, key, *dst, min, max, &v, d);
  if (rc) return rc;
  *dst = (unsigned)v;
  return PG_OK;
}

static int get_dur(pg_config *cfg, const char *sec, const char *key, uint64_t min, uint64_t max,
                   unsigned *dst_ms, pg_diag *d) {
  uint64_t v = 0;
  int rc = pg_config_get_duration_ms(cfg, sec, key, *dst_ms, min, max, &v, d);
  if (rc) return rc;
  *dst_ms = (unsigned)v;
  return PG_OK;
}

static bool has_key(const uint8_t (*keys)[32], size_t n, const uint8_t *k) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(keys[i], k, 32) == 0) return true;
  return false;
}

/* Adds the seed (64 hex chars at s, length n) to the coordinator keys. */
static int add_seed(pg_node_config *c, const char *s, size_t n, const char *where, pg_diag *d) {
  uint8_t seed[32], pk[32], sk[64];
  size_t got = 0;
  if (n != 64 || pg_hex_decode(s, n, seed, sizeof seed, &got) != PG_OK || got != 32)
    return pg_fail(d, PG_ERR_CONFIG, "%s: a coordinator seed must be 64 hex characters (32 bytes)",
                   where);
  pg_ed25519_from_seed(seed, pk, sk);
  int rc = PG_OK;
  for (size_t i = 0; i < c->coo_keys_count; i++)
    if (memcmp(c->coo_secret_keys[i] + 32, pk, 32) == 0) goto out; /* duplicate */
  if (c->coo_keys_count >= PG_MS_MAX_KEYS) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: more than %d coordinator keys", where, PG_MS_MAX_KEYS);
    goto out;
  }
  memcpy(c->coo_secret_keys[c->coo_keys_count++], sk, 64);
out:
  memset(seed, 0, sizeof seed);
  memset(sk, 0, sizeof sk);
  return rc;
}

static int generate_key_file(const char *path, pg_diag *d) {
  uint8_t seed[32], pk[32], sk[64];
  char hex[65], pkhex[65], text[256];
  int rc = PG_OK;
  if ((rc = pg_mkdir_parent(path, 0755, d))) return rc;
  size_t got = 0;
  while (got < sizeof seed) {
    ssize_t r = getrandom(seed + got, sizeof seed - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      rc = pg_fail(d, PG_ERR_IO, "no randomness for a coordinator seed: %s", strerror(errno));
      goto out;
    }
    got += (size_t)r;
  }
  pg_ed25519_from_seed(seed, pk, sk);
  pg_hex_encode(seed, 32, hex);
  pg_hex_encode(pk, 32, pkhex);
  int len = snprintf(text, sizeof text,
                     "# p2pgrid coordinator key: Ed25519 seed (hex). Keep it secret.\n"
                     "# public key %s\n%s\n",
                     pkhex, hex);
  /* whole or not at all (temp, fsync, link, directory fsync): a power cut
   * never leaves an empty key file behind; an existing file is kept */
  if (len < 0 || (size_t)len >= sizeof text) {
    rc = pg_fail(d, PG_ERR_IO, "%s: key text too long", path);
    goto out;
  }
  rc = pg_write_file_atomic(path, text, (size_t)len, true, false, d);
  if (rc) goto out;
  pg_log_info("node", "generated coordinator key file %s, public key %s", path, pkhex);
out:
  memset(text, 0, sizeof text);
  memset(seed, 0, sizeof seed);
  memset(sk, 0, sizeof sk);
  memset(hex, 0, sizeof hex);
  return rc;
}

typedef int (*line_fn)(pg_node_config *c, const char *s, size_t n, const char *where, pg_diag *d);

/* Key files: one 64-hex key per line; blank lines and '#' comments skipped.
 * secret: warn when others may read it, and wipe the buffer. At least one
 * key is required. */
static int load_key_file(pg_node_config *c, const char *path, bool secret, line_fn fn,
                         const char *noun, pg_diag *d) {
  int rc = PG_OK;
  uint8_t *buf = NULL;
  size_t len = 0, keys = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    goto out;
  }
  if (secret && (st.st_mode & 077))
    pg_log_warn("node", "%s: this secret %s file is readable by others (mode %03o); use chmod 600",
                path, noun, (unsigned)(st.st_mode & 0777));
  rc = pg_read_fd_capped(fd, path, KEY_FILE_MAX, &buf, &len, d);
  if (rc == PG_ERR_TOO_LARGE) rc = PG_ERR_CONFIG; /* a key file is configuration */
  if (rc) goto out;
  int line = 0;
  for (size_t pos = 0; pos < len;) {
    size_t end = pos;
    while (end < len && buf[end] != '\n') end++;
    line++;
    size_t a = pos, b = end;
    while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r')) a++;
    while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r')) b--;
    if (a < b && buf[a] != '#') {
      char where[300];
      snprintf(where, sizeof where, "%s:%d", path, line);
      rc = fn(c, (const char *)buf + a, b - a, where, d);
      if (rc) goto out;
      keys++;
    }
    pos = end + 1;
  }
  if (keys == 0) rc = pg_fail(d, PG_ERR_CONFIG, "%s: no %s in the file", path, noun);
out:
  if (buf) {
    if (secret) memset(buf, 0, len);
    free(buf);
  }
  close(fd);
  return rc;
}

static int load_coordinator(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  int rc;
  const char *seed_file = NULL;
  bool generate = false;
  pg_config_list seeds = {0};
  char def_path[4096];

  if ((rc = pg_config_get_bool(cfg, "coordinator", "enabled", c->coo_enabled, &c->coo_enabled, d)))
    return rc;
  if ((rc = pg_config_get_duration_ms(cfg, "coordinator", "interval", c->coo_interval_ms, 100,
                                      86400000ull, &c->coo_interval_ms, d)))
    return rc;
  if ((rc = pg_config_get_bool(cfg, "coordinator", "generate", false, &generate, d))) return rc;
  if ((rc = pg_config_get_str(cfg, "coordinator", "seed_file", NULL, &seed_file, d))) return rc;
  if ((rc = pg_config_get_list(cfg, "coordinator", "seeds", NULL, PG_MS_MAX_KEYS, &seeds, d)))
    return rc;
  if (!c->coo_enabled) goto out;

  c->coo_keys_count = 0;
  for (size_t i = 0; i < seeds.n; i++) {
    rc = add_seed(c, seeds.items[i], strlen(seeds.items[i]), "[coordinator] seeds", d);
    if (rc) goto out;
  }
  if (!seed_file && (generate || seeds.n == 0)) {
    int n = snprintf(def_path, sizeof def_path, "%s/coordinator.key", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof def_path) {
      rc = pg_fail(d, PG_ERR_CONFIG, "[node] data_dir: path too long");
      goto out;
    }
    seed_file = def_path;
  }
  if (seed_file) {
    if (access(seed_file, F_OK) != 0 && errno == ENOENT) {
      if (!generate) {
        rc = pg_fail(d, PG_ERR_CONFIG,
                     "[coordinator] seed_file %s does not exist (set generate = true to create it)",
                     seed_file);
        goto out;
      }
      if ((rc = generate_key_file(seed_file, d))) goto out;
    }
    if ((rc = load_key_file(c, seed_file, true, add_seed, "key", d))) goto out;
  }
  if (c->coo_keys_count == 0) {
    rc = pg_fail(d, PG_ERR_CONFIG, "[coordinator] enabled but no seeds (set seed_file or seeds)");
    goto out;
  }
out:
  pg_config_list_free(&seeds);
  return rc;
}

static int add_public_key(pg_node_config *c, const char *s, size_t n, const char *where,
                          pg_diag *d) {
  uint8_t pk[32];
  size_t got = 0;
  if (n != 64 || pg_hex_decode(s, n, pk, sizeof pk, &got) != PG_OK || got != 32)
    return pg_fail(d, PG_ERR_CONFIG, "%s: '%.*s' is not a 64-character hex public key", where,
                   (int)(n > 80 ? 80 : n), s);
  if (has_key((const uint8_t(*)[32])c->ms_public_keys, c->ms_keys_count, pk)) return PG_OK;
  if (c->ms_keys_count >= PG_MS_MAX_KEYS)
    return pg_fail(d, PG_ERR_CONFIG, "%s: more than %d milestone public keys", where,
                   PG_MS_MAX_KEYS);
  memcpy(c->ms_public_keys[c->ms_keys_count++], pk, 32);
  return PG_OK;
}

static int load_milestone_keys(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  pg_config_list keys = {0};
  const char *keys_file = NULL;
  int rc = pg_config_get_list(cfg, "milestones", "public_keys", NULL, PG_MS_MAX_KEYS, &keys, d);
  if (rc) return rc;
  if ((rc = pg_config_get_str(cfg, "milestones", "public_keys_file", NULL, &keys_file, d)))
    goto out;
  if (keys.n || keys_file) c->ms_keys_count = 0;
  for (size_t i = 0; i < keys.n; i++) {
    rc = add_public_key(c, keys.items[i], strlen(keys.items[i]), "[milestones] public_keys", d);
    if (rc) goto out;
  }
  if (keys_file && (rc = load_key_file(c, keys_file, false, add_public_key, "key", d))) goto out;
  if ((rc = get_uint(cfg, "milestones", "threshold", 1, PG_MS_MAX_KEYS, &c->ms_threshold, d)))
    goto out;
  for (size_t i = 0; c->coo_enabled && i < c->coo_keys_count; i++) {
    const uint8_t *pk = c->coo_secret_keys[i] + 32;
    if (has_key((const uint8_t(*)[32])c->ms_public_keys, c->ms_keys_count, pk)) continue;
    if (c->ms_keys_count >= PG_MS_MAX_KEYS) {
      rc = pg_fail(d, PG_ERR_CONFIG, "[milestones] more than %d public keys", PG_MS_MAX_KEYS);
      goto out;
    }
    memcpy(c->ms_public_keys[c->ms_keys_count++], pk, 32);
  }
  if (c->ms_keys_count && c->ms_threshold > c->ms_keys_count) {
    rc = pg_fail(d, PG_ERR_CONFIG, "[milestones] threshold %u exceeds the %zu public keys",
                 c->ms_threshold, c->ms_keys_count);
    goto out;
  }
  if (c->coo_enabled && c->coo_keys_count < c->ms_threshold) {
    rc = pg_fail(d, PG_ERR_CONFIG,
                 "[milestones] threshold %u needs at least that many coordinator seeds (have %zu)",
                 c->ms_threshold, c->coo_keys_count);
    goto out;
  }
out:
  pg_config_list_free(&keys);
  return rc;
}

/* ---- [ledger] ----------------------------------------------------------- */

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* One genesis entry s[0..n): "<address><sep><amount>" with sep ':' or
 * whitespace; address bech32 (node HRP) or 64 hex. */
static int add_genesis(pg_node_config *c, const char *s, size_t n, const char *where,
                       pg_diag *d) {
  size_t a = 0, b = n;
  while (a < b && is_space(s[a])) a++;
  while (b > a && is_space(s[b - 1])) b--;
  size_t sep = a;
  while (sep < b && s[sep] != ':' && !is_space(s[sep])) sep++;
  if (sep == b)
    return pg_fail(d, PG_ERR_CONFIG, "%s: '%.*s' is not '<address> <amount>' (or address:amount)",
                   where, (int)(b - a > 100 ? 100 : b - a), s + a);
  const char *as = s + a;
  size_t al = sep - a;
  size_t v = sep + 1;
  while (v < b && is_space(s[v])) v++;
  if (s[sep] != ':' && v < b && s[v] == ':') { /* "addr : amount" */
    v++;
    while (v < b && is_space(s[v])) v++;
  }
  const char *vs = s + v;
  size_t vl = b - v;

  uint8_t addr[32];
  bool hex = al == 64;
  for (size_t i = 0; hex && i < al; i++)
    hex = (as[i] >= '0' && as[i] <= '9') || (as[i] >= 'a' && as[i] <= 'f') ||
          (as[i] >= 'A' && as[i] <= 'F');
  if (hex) {
    size_t got = 0;
    if (pg_hex_decode(as, al, addr, sizeof addr, &got) != PG_OK || got != 32)
      return pg_fail(d, PG_ERR_CONFIG, "%s: bad hex address '%.*s'", where, (int)al, as);
  } else {
    char hrp[PG_BECH32_MAX_HRP + 1];
    pg_diag bd = {{0}};
    if (pg_iota_address_decode(as, al, NULL, hrp, sizeof hrp, addr, &bd) != PG_OK)
      return pg_fail(d, PG_ERR_CONFIG,
                     "%s: '%.*s' is neither a bech32 address nor 64 hex characters: %s", where,
                     (int)(al > 100 ? 100 : al), as, bd.msg);
    if (strcmp(hrp, c->bech32_hrp) != 0)
      return pg_fail(d, PG_ERR_CONFIG,
                     "%s: address '%.*s' has HRP '%s' but this node's [node] bech32_hrp is '%s'",
                     where, (int)(al > 100 ? 100 : al), as, hrp, c->bech32_hrp);
  }

  uint64_t amount = 0;
  bool ok = vl >= 1 && vl <= 20;
  for (size_t i = 0; ok && i < vl; i++) {
    if (vs[i] < '0' || vs[i] > '9' || amount > (UINT64_MAX - 9) / 10) {
      ok = false;
      break;
    }
    amount = amount * 10 + (uint64_t)(vs[i] - '0');
  }
  if (!ok || amount == 0 || amount > PG_TOKEN_SUPPLY)
    return pg_fail(d, PG_ERR_CONFIG,
                   "%s: amount '%.*s' must be a whole number of base units from 1 to %llu", where,
                   (int)(vl > 40 ? 40 : vl), vs, (unsigned long long)PG_TOKEN_SUPPLY);
  uint64_t total = 0;
  for (size_t i = 0; i < c->genesis_count; i++) total += c->genesis[i].amount;
  if (amount > PG_TOKEN_SUPPLY - total)
    return pg_fail(d, PG_ERR_CONFIG,
                   "%s: the genesis total would exceed the token supply of %llu (already %llu, "
                   "adding %llu)",
                   where, (unsigned long long)PG_TOKEN_SUPPLY, (unsigned long long)total,
                   (unsigned long long)amount);
  pg_genesis_output *g = realloc(c->genesis, (c->genesis_count + 1) * sizeof *g);
  if (!g) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  c->genesis = g;
  memcpy(g[c->genesis_count].address, addr, 32);
  g[c->genesis_count].amount = amount;
  c->genesis_count++;
  return PG_OK;
}

static int load_ledger(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  pg_config_list items = {0};
  const char *file = NULL;
  int rc = pg_config_get_bool(cfg, "ledger", "dust_protection", c->dust_protection,
                              &c->dust_protection, d);
  if (rc) return rc;
  if ((rc = pg_config_get_list(cfg, "ledger", "genesis", NULL, 0, &items, d))) return rc;
  if ((rc = pg_config_get_str(cfg, "ledger", "genesis_file", NULL, &file, d))) goto out;
  /* a later source replaces what an earlier one set (examples/node.ini):
   * --set ledger.genesis_file=F replaces the file's genesis = ..., as
   * --set ledger.genesis=... does; "genesis_file =" names no file */
  unsigned rank_items = pg_config_source_rank(cfg, "ledger", "genesis"),
           rank_file = pg_config_source_rank(cfg, "ledger", "genesis_file");
  size_t n_items = rank_file > rank_items ? 0 : items.n;
  if (rank_items > rank_file || (file && !file[0])) file = NULL;
  if (rank_items || rank_file) {
    free(c->genesis);
    c->genesis = NULL;
    c->genesis_count = 0;
  }
  char place[200];
  pg_config_where(cfg, "ledger", "genesis", place, sizeof place);
  for (size_t i = 0; i < n_items; i++) {
    char where[240];
    /* "node.ini:179: [ledger] genesis item 1" / "--set ledger.genesis=x: [ledger] genesis item 1" */
    snprintf(where, sizeof where, strstr(place, "] genesis") ? "%s item %zu" : "%s: [ledger] genesis item %zu",
             place, i + 1);
    if ((rc = add_genesis(c, items.items[i], strlen(items.items[i]), where, d))) goto out;
  }
  if (file && (rc = load_key_file(c, file, false, add_genesis, "genesis entry", d))) goto out;
out:
  pg_config_list_free(&items);
  return rc;
}

/* ---- [api] TLS and POST access ------------------------------------------ */

/* A file name key: "" (e.g. --set api.tls_cert=) unsets it. */
static int get_path(pg_config *cfg, const char *key, char **dst, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(cfg, "api", key, NULL, &v, d);
  if (rc || !v) return rc;
  free(*dst);
  *dst = NULL;
  if (!*v) return PG_OK;
  if (!(*dst = strdup(v))) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  return PG_OK;
}

/* One token of post_tokens_file: kept as its BLAKE2b-256 digest. */
static int add_token(pg_node_config *c, const char *s, size_t n, const char *where, pg_diag *d) {
  if (n < TOKEN_MIN || n > TOKEN_MAX)
    return pg_fail(d, PG_ERR_CONFIG, "%s: a token must be %d to %d characters (this one has %zu)",
                   where, TOKEN_MIN, TOKEN_MAX, n);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return pg_fail(d, PG_ERR_CONFIG,
                     "%s: a token must be printable ASCII without spaces (byte %zu is not)",
                     where, i + 1);
  uint8_t h[32];
  pg_blake2b256(s, n, h);
  for (size_t i = 0; i < c->post_token_count; i++)
    if (memcmp(c->post_token_hashes[i], h, 32) == 0) return PG_OK; /* listed twice */
  if (c->post_token_count >= TOKENS_MAX)
    return pg_fail(d, PG_ERR_CONFIG, "%s: more than %d tokens", where, TOKENS_MAX);
  uint8_t(*t)[32] = realloc(c->post_token_hashes, (c->post_token_count + 1) * sizeof *t);
  if (!t) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  c->post_token_hashes = t;
  memcpy(t[c->post_token_count++], h, 32);
  return PG_OK;
}

static int load_api_access(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  const char *tokens = NULL;
  int rc;
  if ((rc = get_path(cfg, "tls_cert", &c->tls_cert, d)) ||
      (rc = get_path(cfg, "tls_key", &c->tls_key, d)) ||
      (rc = get_path(cfg, "post_ca", &c->post_ca, d)) ||
      (rc = get_path(cfg, "post_crl", &c->post_crl, d)) ||
      (rc = pg_config_get_str(cfg, "api", "post_tokens_file", NULL, &tokens, d)))
    return rc;
  if (!c->tls_cert != !c->tls_key)
    return pg_fail(d, PG_ERR_CONFIG, "[api] tls_cert and tls_key go together (%s is not set)",
                   c->tls_cert ? "tls_key" : "tls_cert");
  if (c->post_ca && !c->tls_cert)
    return pg_fail(d, PG_ERR_CONFIG,
                   "[api] post_ca needs tls_cert and tls_key (client certificates come over TLS)");
  if (c->post_crl && !c->post_ca)
    return pg_fail(d, PG_ERR_CONFIG, "[api] post_crl needs post_ca (the CA it belongs to)");
  if (tokens) {
    if (c->post_token_hashes) {
      memset(c->post_token_hashes, 0, c->post_token_count * 32);
      free(c->post_token_hashes);
    }
    c->post_token_hashes = NULL;
    c->post_token_count = 0;
    if (*tokens && (rc = load_key_file(c, tokens, true, add_token, "token", d))) return rc;
  }
  return PG_OK;
}

/* ---- [peers] (a replica) -------------------------------------------------- */

static bool is_http_url(const char *u) {
  return (strncmp(u, "http://", 7) == 0 && u[7]) || (strncmp(u, "https://", 8) == 0 && u[8]);
}

/* [peers] token_file: the bearer token for peers that limit POST. */
static int load_peer_token(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  const char *tf = NULL;
  int rc = pg_config_get_str(cfg, "peers", "token_file", NULL, &tf, d);
  if (rc || !tf || !*tf) return rc;
  char *tok = NULL;
  pg_diag sd = {{0}};
  if ((rc = pg_read_secret_line(tf, &tok, &sd)))
    return pg_fail(d, rc == PG_ERR_NOMEM ? rc : PG_ERR_CONFIG, "[peers] token_file: %s", sd.msg);
  pg_free_secret(c->peer_bearer);
  c->peer_bearer = tok;
  return PG_OK;
}

static int load_peers(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  pg_config_list urls = {0};
  int rc = pg_config_get_list(cfg, "peers", "urls", NULL, PG_NODE_MAX_PEERS, &urls, d);
  if (rc) return rc;
  if ((rc = load_peer_token(c, cfg, d))) goto out;
  if ((rc = pg_config_get_duration_ms(cfg, "peers", "poll_interval", c->peer_poll_ms, 50,
                                      3600000, &c->peer_poll_ms, d)) ||
      (rc = pg_config_get_duration_ms(cfg, "peers", "refuse_for", c->peer_refuse_ms, 1000,
                                      86400000ull * 365, &c->peer_refuse_ms, d)) ||
      (rc = pg_config_get_duration_ms(cfg, "peers", "max_backoff", c->peer_max_backoff_ms, 100,
                                      86400000, &c->peer_max_backoff_ms, d)) ||
      (rc = get_str(cfg, "peers", "ca_file", &c->peer_ca_file, d)))
    goto out;
  if (c->peer_ca_file && !c->peer_ca_file[0]) {
    free(c->peer_ca_file);
    c->peer_ca_file = NULL;
  }
  for (size_t i = 0; i < urls.n; i++)
    if (!is_http_url(urls.items[i])) {
      rc = pg_fail(d, PG_ERR_CONFIG, "[peers] urls: '%.100s' is not an http:// or https:// URL",
                   urls.items[i]);
      goto out;
    }
  if (urls.n) {
    for (size_t i = 0; i < c->peer_count; i++) free(c->peer_urls[i]);
    free(c->peer_urls);
    c->peer_urls = urls.items; /* the list's strings move into the config */
    c->peer_count = urls.n;
    urls.items = NULL;
    urls.n = 0;
  }
  if (c->peer_count && c->coo_enabled)
    rc = pg_fail(d, PG_ERR_CONFIG,
                 "[peers] urls and [coordinator] enabled: a replica runs no coordinator");
  else if (c->peer_count && c->ms_keys_count == 0)
    rc = pg_fail(d, PG_ERR_CONFIG,
                 "[peers] urls needs [milestones] public_keys: a replica checks every milestone "
                 "against its own keys");
out:
  pg_config_list_free(&urls);
  return rc;
}

static bool valid_hrp(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 83) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 33 || s[i] > 126 || (s[i] >= 'A' && s[i] <= 'Z')) return false;
  return true;
}

int pg_node_config_load(pg_node_config *c, pg_config *cfg, pg_diag *d) {
  int rc;
  uint64_t u = 0;
  const char *lvl = NULL;
  if (!c->network || !c->bech32_hrp || !c->data_dir || !c->bind)
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");

  /* [node] */
  if ((rc = get_str(cfg, "node", "network", &c->network, d))) return rc;
  if (c->network[0] == '\0' || strlen(c->network) > 255)
    return pg_fail(d, PG_ERR_CONFIG, "[node] network: must be 1..255 characters");
  if ((rc = get_str(cfg, "node", "bech32_hrp", &c->bech32_hrp, d))) return rc;
  if (!valid_hrp(c->bech32_hrp))
    return pg_fail(d, PG_ERR_CONFIG,
                   "[node] bech32_hrp: '%.90s' must be 1..83 printable lowercase characters",
                   c->bech32_hrp);
  if ((rc = get_str(cfg, "node", "data_dir", &c->data_dir, d))) return rc;
  if (c->data_dir[0] == '\0') return pg_fail(d, PG_ERR_CONFIG, "[node] data_dir: empty");
  if ((rc = pg_config_get_u64(cfg, "node", "min_pow_score", c->min_pow_score, 0, UINT32_MAX, &u, d)))
    return rc;
  c->min_pow_score = (uint32_t)u;
  if ((rc = pg_config_get_duration_ms(cfg, "node", "max_milestone_age", c->max_milestone_age_ms, 0,
                                      86400000ull * 365, &c->max_milestone_age_ms, d)))
    return rc;
  if ((rc = pg_config_get_str(cfg, "node", "log_level", NULL, &lvl, d))) return rc;
  if (lvl) {
    pg_log_level l;
    if (pg_log_level_parse(lvl, &l) != PG_OK)
      return pg_fail(d, PG_ERR_CONFIG, "[node] log_level: unknown level '%.40s' (use error, warn, info or debug)",
                     lvl);
    c->has_log_level = true;
    c->log_level = (int)l;
  }

  /* [api] */
  if ((rc = get_str(cfg, "api", "bind", &c->bind, d))) return rc;
  if ((rc = pg_config_get_u64(cfg, "api", "port", c->port, 0, 65535, &u, d))) return rc;
  c->port = (uint16_t)u;
  if ((rc = get_uint(cfg, "api", "workers", 0, 256, &c->workers, d))) return rc;
  if ((rc = pg_config_get_size(cfg, "api", "max_body", c->max_body, 1024, 64ull << 20, &u, d)))
    return rc;
  c->max_body = (size_t)u;
  if ((rc = pg_config_get_bool(cfg, "api", "remote_pow", c->remote_pow, &c->remote_pow, d))) return rc;
  if ((rc = get_uint(cfg, "api", "pow_threads", 0, 1024, &c->pow_threads, d))) return rc;
  if ((rc = get_uint(cfg, "api", "pow_queue", 1, 4096, &c->pow_queue, d))) return rc;
  if ((rc = pg_config_get_duration_ms(cfg, "api", "connection_timeout",
                                      (uint64_t)c->connection_timeout_s * 1000, 1000, 3600000, &u, d)))
    return rc;
  c->connection_timeout_s = (unsigned)(u / 1000);
  if ((rc = get_uint(cfg, "api", "max_connections", 1, 65535, &c->max_connections, d))) return rc;
  if ((rc = load_api_access(c, cfg, d))) return rc;

  /* [coordinator], [milestones] */
  if ((rc = load_coordinator(c, cfg, d))) return rc;
  if ((rc = load_milestone_keys(c, cfg, d))) return rc;

  /* [ledger] (after [node]: bech32 addresses need the HRP) */
  if ((rc = load_ledger(c, cfg, d))) return rc;

  /* [peers] (after [coordinator] and [milestones]: a replica needs keys, no coordinator) */
  if ((rc = load_peers(c, cfg, d))) return rc;

  /* [tips], [solidifier] */
  if ((rc = get_uint(cfg, "tips", "c1", 0, 1000, &c->tsc_c1, d))) return rc;
  if ((rc = get_uint(cfg, "tips", "c2", 0, 1000, &c->tsc_c2, d))) return rc;
  if ((rc = get_uint(cfg, "tips", "max_depth", 0, 1000, &c->tsc_max_depth, d))) return rc;
  if ((rc = get_uint(cfg, "tips", "max_children", 0, 1000, &c->tip_max_children, d))) return rc;
  if ((rc = get_dur(cfg, "tips", "max_age", 0, 86400000, &c->tip_max_age_ms, d))) return rc;
  if ((rc = pg_config_get_u64(cfg, "solidifier", "max_unsolid", c->unsolid_max, 0, 10000000, &u, d)))
    return rc;
  c->unsolid_max = (size_t)u;
  if ((rc = get_dur(cfg, "solidifier", "max_age", 0, 86400000, &c->unsolid_max_age_ms, d))) return rc;

  /* [mqtt] events (src/node/mqtt.c) */
  if ((rc = pg_mqtt_settings_load(&c->mqtt, cfg, "mqtt", "p2pgrid-node", d))) return rc;
  if ((rc = pg_config_get_u64(cfg, "mqtt", "queue", c->mqtt_queue, 16, 10000000, &u, d))) return rc;
  c->mqtt_queue = (size_t)u;

  /* [money], [site] tz: the explorer's display */
  if ((rc = pg_money_from_config(cfg, "money", &c->money, d))) return rc;
  return pg_tz_from_config(cfg, "site", "tz", "UTC", &c->tz, d);
}
