/* app_util.c — what several subcommands share: --set overrides, loading a
 * config with unknown-key checks, reading a wallet seed, locking a data dir. */
#include <errno.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <sodium.h>

#include "app.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/crypto/slip10.h"

/* Appends item (owned) with its label (owned). */
static int override_push(pg_app_overrides *o, char *item, char *label) {
  char **items = item && label ? realloc(o->items, (o->n + 1) * sizeof *items) : NULL;
  if (items) o->items = items;
  char **labels = items ? realloc(o->labels, (o->n + 1) * sizeof *labels) : NULL;
  if (labels) o->labels = labels;
  if (!items || !labels) {
    free(item);
    free(label);
    return -1;
  }
  o->items[o->n] = item;
  o->labels[o->n++] = label;
  return 0;
}

static char *join(const char *a, const char *sep, const char *b) {
  size_t len = strlen(a) + strlen(sep) + strlen(b) + 1;
  char *s = malloc(len);
  if (s) snprintf(s, len, "%s%s%s", a, sep, b);
  return s;
}

int pg_app_override_add(pg_app_overrides *o, const char *section_key, const char *value) {
  char *item = value[0] ? join(section_key, "=", value) : join(section_key, "", "");
  return override_push(o, item, item ? join("--set ", "", item) : NULL);
}

int pg_app_override_opt(pg_app_overrides *o, const char *option, const char *section_key,
                        const char *value) {
  return override_push(o, join(section_key, "=", value), join(option, " ", value));
}

void pg_app_overrides_free(pg_app_overrides *o) {
  for (size_t i = 0; i < o->n; i++) free(o->items[i]), free(o->labels[i]);
  free(o->items);
  free(o->labels);
  o->items = o->labels = NULL;
  o->n = 0;
}

/* The "section.key" of an override, trimmed (n chars at *k); false when it is
 * not SECTION.KEY=VALUE. */
static bool override_key(const char *item, const char **k, size_t *n) {
  const char *eq = strchr(item, '=');
  if (!eq) return false;
  const char *a = item, *b = eq;
  while (a < b && (*a == ' ' || *a == '\t')) a++;
  while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
  *k = a;
  *n = (size_t)(b - a);
  return *n > 0 && a[*n - 1] != '.';
}

/* Every override SECTION.KEY=VALUE, and no setting given twice. */
static int overrides_check(const char *cmd, const pg_app_overrides *ov) {
  for (size_t i = 0; ov && i < ov->n; i++) {
    const char *ki, *kj;
    size_t ni, nj;
    if (!override_key(ov->items[i], &ki, &ni)) {
      fprintf(stderr, "p2pgrid %s: %s: '%s' is not SECTION.KEY=VALUE\n", cmd, ov->labels[i],
              ov->items[i]);
      return PG_EXIT_USAGE;
    }
    for (size_t j = 0; j < i; j++)
      if (override_key(ov->items[j], &kj, &nj) && ni == nj && memcmp(ki, kj, ni) == 0) {
        fprintf(stderr, "p2pgrid %s: %s and %s set the same setting %.*s; give it once\n", cmd,
                ov->labels[j], ov->labels[i], (int)ni, ki);
        return PG_EXIT_USAGE;
      }
  }
  return PG_EXIT_OK;
}

int pg_app_config_load(const char *cmd, const char *path, const pg_app_overrides *ov,
                       pg_config **out) {
  pg_config *cfg = NULL;
  pg_diag d = {{0}};
  *out = NULL;
  int st = overrides_check(cmd, ov);
  if (st != PG_EXIT_OK) return st;
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
    if (pg_config_override_from(cfg, ov->items[i], ov->labels[i], &d) != PG_OK) {
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

/* A secret file (a seed, a mnemonic) of at most 4 KiB: *text malloc'd,
 * wiped and freed by the caller (pg_free_secret). -1 (printed) otherwise:
 * "p2pgrid CMD: FILE: is a directory", "...: No such file or directory". */
static int read_secret(const char *cmd, const char *path, char **text) {
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag d = {{0}};
  if (pg_read_file_capped(path, 4096, &buf, &len, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return -1;
  }
  *text = (char *)buf;
  return 0;
}

/* A BIP-39 sentence from a file: words joined by single spaces. */
static int load_mnemonic(const char *cmd, const char *path, uint8_t seed[64], size_t *len) {
  char *text = NULL, norm[1024];
  if (read_secret(cmd, path, &text)) return -1;
  size_t n = strlen(text), k = 0, words = 0;
  for (size_t i = 0; i < n; i++) {
    bool space = text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r';
    if (space) continue;
    if (k + 2 >= sizeof norm) { /* never cut a secret short without a word */
      pg_free_secret(text);
      sodium_memzero(norm, sizeof norm);
      fprintf(stderr, "p2pgrid %s: %s: too long for a BIP-39 mnemonic (over %zu characters)\n",
              cmd, path, sizeof norm - 2);
      return -1;
    }
    if (i > 0 && k > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n' ||
                           text[i - 1] == '\r'))
      norm[k++] = ' ';
    if (k == 0 || norm[k - 1] == ' ') words++;
    norm[k++] = (char)text[i];
  }
  pg_free_secret(text);
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

/* What is wrong with n hex characters of a seed, never the characters (a
 * secret): NULL when nothing. */
static const char *seed_problem(const char *s, size_t n, char *buf, size_t cap) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      snprintf(buf, cap, "character %zu is not a hex character", i + 1);
      return buf;
    }
  }
  if (n % 2) snprintf(buf, cap, "odd number of hex characters (%zu)", n);
  else if (n < 32 || n > 128)
    snprintf(buf, cap, "%zu bytes (%zu hex characters); a seed is 16 to 64 bytes (32 to 128 hex "
             "characters)", n / 2, n);
  else return NULL;
  return buf;
}

int pg_app_load_seed(const char *cmd, const char *seed_file, const char *mnemonic_file,
                     uint8_t seed[64], size_t *len) {
  if (mnemonic_file) return load_mnemonic(cmd, mnemonic_file, seed, len);
  char *text = NULL;
  const char *src = getenv("P2PGRID_SEED");
  if (seed_file) {
    if (read_secret(cmd, seed_file, &text)) return -1;
    src = text;
  } else if (!src) {
    fprintf(stderr, "p2pgrid %s: no seed: give a seed file, a mnemonic file or set P2PGRID_SEED\n",
            cmd);
    return -1;
  }
  size_t n = strcspn(src, "\r\n \t");
  char why[128];
  const char *bad = seed_problem(src, n, why, sizeof why);
  int rc = bad ? -1 : pg_hex_decode(src, n, seed, 64, len);
  pg_free_secret(text);
  if (bad || rc) {
    fprintf(stderr, "p2pgrid %s: the seed in %s: %s\n", cmd, seed_file ? seed_file : "P2PGRID_SEED",
            bad ? bad : "not hex");
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

/* The topmost missing directory of dir ("a" for "a/b/c" when "a" is
 * missing), malloc'd, or NULL when dir exists. */
static char *first_missing(const char *dir) {
  struct stat st;
  if (stat(dir, &st) == 0) return NULL;
  char *p = strdup(dir);
  if (!p) return NULL;
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    bool missing = stat(p, &st) != 0;
    *s = '/';
    if (missing) {
      *s = '\0';
      return p;
    }
  }
  return p;
}

int pg_app_data_dir_take(const char *cmd, const char *dir, pg_app_data_dir *dd) {
  memset(dd, 0, sizeof *dd);
  char lock_file[4200];
  struct stat st;
  dd->made = first_missing(dir);
  snprintf(lock_file, sizeof lock_file, "%s/LOCK", dir);
  if (!dd->made && stat(lock_file, &st) != 0) dd->lock_file = strdup(lock_file);
  int status = pg_app_lock_data_dir(cmd, dir, &dd->lock);
  if (status != PG_EXIT_OK) {
    free(dd->made); /* not taken: a directory made by the failed take stays empty */
    free(dd->lock_file);
    memset(dd, 0, sizeof *dd);
  }
  return status;
}

void pg_app_data_dir_keep(pg_app_data_dir *dd) {
  free(dd->made);
  free(dd->lock_file);
  dd->made = dd->lock_file = NULL;
}

void pg_app_data_dir_release(pg_app_data_dir *dd) {
  if (dd->made) pg_remove_tree(dd->made);
  else if (dd->lock_file) (void)unlink(dd->lock_file);
  pg_app_data_dir_keep(dd);
  pg_dirlock_release(dd->lock); /* last: nobody else started in between */
  dd->lock = NULL;
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
    char where[200];
    pg_config_where(cfg, sec, "log_format", where, sizeof where);
    if (opt) fprintf(stderr, "p2pgrid %s: --log-format: %s\n", cmd, d.msg);
    else fprintf(stderr, "p2pgrid %s: %s: %s\n", cmd, where, d.msg);
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
