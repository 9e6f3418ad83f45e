/* app_util.c — what several subcommands share: --set overrides, loading a
 * config with unknown-key checks, reading a wallet seed, locking a data dir. */
#include <errno.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/crypto/slip10.h"

int pg_app_override_add(pg_app_overrides *o, const char *section_key, const char *value) {
  size_t len = strlen(section_key) + 1 + strlen(value) + 1;
  char *s = malloc(len);
  char **items = realloc(o->items, (o->n + 1) * sizeof *items);
  if (!s || !items) {
    free(s);
    if (items) o->items = items;
    return -1;
  }
  o->items = items;
  if (value[0] || !strchr(section_key, '='))
    snprintf(s, len, "%s=%s", section_key, value);
  else
    snprintf(s, len, "%s", section_key); /* already "section.key=value" */
  o->items[o->n++] = s;
  return 0;
}

void pg_app_overrides_free(pg_app_overrides *o) {
  for (size_t i = 0; i < o->n; i++) free(o->items[i]);
  free(o->items);
  o->items = NULL;
  o->n = 0;
}

int pg_app_config_load(const char *cmd, const char *path, const pg_app_overrides *ov,
                       pg_config **out) {
  pg_config *cfg = NULL;
  pg_diag d = {{0}};
  *out = NULL;
  if (pg_config_new(&cfg) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: out of memory\n", cmd);
    return PG_EXIT_FAIL;
  }
  if (path && pg_config_load_file(cfg, path, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    pg_config_free(cfg);
    return PG_EXIT_USAGE;
  }
  for (size_t i = 0; ov && i < ov->n; i++) {
    if (pg_config_override(cfg, ov->items[i], &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      pg_config_free(cfg);
      return PG_EXIT_USAGE;
    }
  }
  *out = cfg;
  return PG_EXIT_OK;
}

int pg_app_config_unused(const char *cmd, pg_config *cfg) {
  size_t n = pg_config_unused(cfg, NULL, NULL);
  pg_diag d = {{0}};
  for (size_t i = 0; i < n; i++)
    if (pg_config_unused_describe(cfg, i, &d) == PG_OK) fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
  return n ? PG_EXIT_USAGE : PG_EXIT_OK;
}

/* A BIP-39 sentence from a file: words joined by single spaces. */
static int load_mnemonic(const char *cmd, const char *path, uint8_t seed[64], size_t *len) {
  char norm[1024];
  uint8_t *text = NULL;
  size_t n = 0, k = 0, words = 0;
  pg_diag d = {{0}};
  if (pg_read_file_capped(path, sizeof norm - 1, &text, &n, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    bool space = text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r';
    if (space) continue;
    if (i > 0 && k > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n' ||
                           text[i - 1] == '\r'))
      norm[k++] = ' ';
    if (k == 0 || norm[k - 1] == ' ') words++;
    norm[k++] = (char)text[i];
  }
  sodium_memzero(text, n);
  free(text);
  if (words != 12 && words != 15 && words != 18 && words != 21 && words != 24) {
    fprintf(stderr, "p2pgrid %s: %s: a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words, not %zu\n",
            cmd, path, words);
    sodium_memzero(norm, sizeof norm);
    return -1;
  }
  pg_bip39_seed(norm, k, NULL, seed);
  sodium_memzero(norm, sizeof norm);
  *len = 64;
  return 0;
}

int pg_app_load_seed(const char *cmd, const char *seed_file, const char *mnemonic_file,
                     uint8_t seed[64], size_t *len) {
  if (mnemonic_file) return load_mnemonic(cmd, mnemonic_file, seed, len);
  uint8_t *text = NULL;
  size_t text_len = 0;
  const char *src = getenv("P2PGRID_SEED");
  if (seed_file) {
    pg_diag d = {{0}};
    if (pg_read_file_capped(seed_file, 4096, &text, &text_len, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
      return -1;
    }
    src = (const char *)text;
  } else if (!src) {
    fprintf(stderr, "p2pgrid %s: no seed: give a seed file, a mnemonic file or set P2PGRID_SEED\n",
            cmd);
    return -1;
  }
  size_t n = strcspn(src, "\r\n \t");
  int rc = pg_hex_decode(src, n, seed, 64, len);
  if (text) sodium_memzero(text, text_len);
  free(text);
  if (rc || *len < 16) {
    fprintf(stderr, "p2pgrid %s: the seed%s%s must be 32 to 128 hex characters (16-64 bytes)\n",
            cmd, seed_file ? " in " : "", seed_file ? seed_file : "");
    return -1;
  }
  return 0;
}

int pg_app_lock_data_dir(const char *cmd, const char *dir, pg_dirlock **lock) {
  pg_diag d = {{0}};
  if (pg_dirlock_take(dir, lock, &d) == PG_OK) return PG_EXIT_OK;
  fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
  return PG_EXIT_FAIL;
}

int pg_app_log_format(const char *cmd, pg_config *cfg, const char *sec, const char *opt) {
  pg_diag d = {{0}};
  const char *f = NULL;
  if (pg_config_get_str(cfg, sec, "log_format", NULL, &f, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  if (opt) f = opt;
  if (f && pg_log_set_format_str(f, &d) != PG_OK) {
    if (opt) fprintf(stderr, "p2pgrid %s: --log-format: %s\n", cmd, d.msg);
    else fprintf(stderr, "p2pgrid %s: [%s] log_format: %s\n", cmd, sec, d.msg);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

void pg_app_url_public(const char *url, char *out, size_t cap) {
  const char *scheme = url ? strstr(url, "://") : NULL;
  const char *host = scheme ? scheme + 3 : url ? url : "";
  const char *end = host + strcspn(host, "/?#");
  const char *at = memchr(host, '@', (size_t)(end - host));
  if (at) snprintf(out, cap, "%.*s%s", (int)(host - (url ? url : "")), url ? url : "", at + 1);
  else snprintf(out, cap, "%s", url ? url : "");
}

int pg_app_money(const char *cmd, const char *spec, pg_money *out) {
  pg_money_default(out);
  if (!spec) return PG_EXIT_OK;
  pg_config *cfg = NULL;
  pg_diag d = {{0}};
  int st;
  const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (c1 && c2 && !strchr(c2 + 1, ':') && access(spec, F_OK) != 0) {
    char text[320];
    int n = snprintf(text, sizeof text,
                     "[money]\ncurrency = %.*s\nunits_per_currency = %.*s\ndecimals = %s\n",
                     (int)(c1 - spec), spec, (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
    if (n < 0 || (size_t)n >= sizeof text || pg_config_new(&cfg) != PG_OK ||
        pg_config_load_string(cfg, "--money", text, (size_t)n, &d) != PG_OK) {
      fprintf(stderr, "p2pgrid %s: --money: '%s' is not CURRENCY:UNITS:DECIMALS%s%s\n", cmd, spec,
              d.msg[0] ? ": " : "", d.msg);
      pg_config_free(cfg);
      return PG_EXIT_USAGE;
    }
  } else if ((st = pg_app_config_load(cmd, spec, NULL, &cfg)) != PG_EXIT_OK) {
    return st;
  }
  st = PG_EXIT_OK;
  if (pg_money_from_config(cfg, "money", out, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: --money: %s\n", cmd, d.msg);
    st = PG_EXIT_USAGE;
  }
  pg_config_free(cfg);
  return st;
}
