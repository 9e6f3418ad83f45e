/* config.c — INI configuration over inih. See p2pgrid/base/config.h. */
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NAME_MAX_LEN 256    /* section/key names: inih lines are shorter anyway */
#define INIH_SECTION_MAX 49 /* inih's MAX_SECTION (50) less the NUL; not in ini.h */
#define OVERRIDE_MAX 4096   /* one command-line override */
#define ORIGIN_CMDLINE "command line"
#define ORIGIN_SET "program default"

typedef struct entry {
  char *section;
  char *key;
  char *value;
  const char *origin; /* borrowed from pg_config.origins or a static string */
  int line;
  bool used;
  bool resolved; /* pg_config_path_from_file has rewritten the value */
  bool label;    /* origin names the override itself ("--set api.port=x"): no line, no key */
  unsigned seq;  /* the source that set it: 1 = the first file or override applied, ... */
} entry;

struct pg_config {
  entry *e;
  size_t n, cap;
  char **origins; /* owned copies of source names */
  size_t norigins;
  const char *last_origin;
  const char **files; /* origins that are files (pg_config_load_file) */
  size_t nfiles;
  unsigned nsources; /* files, strings and overrides applied so far */
};

/* ---- small string helpers (inputs are bounded C strings) ---- */

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static char *dup_b(const char *s) { return dup_n(s, strnlen(s, OVERRIDE_MAX)); }

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Copies a value for an error message: at most 40 chars, non-printables '?'. */
static void show(const char *v, char out[48]) {
  size_t n = strnlen(v, 41), o = 0;
  for (size_t i = 0; i < n && i < 40; i++) {
    unsigned char c = (unsigned char)v[i];
    out[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
  }
  if (n > 40) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/* ---- the store ---- */

static entry *find(const pg_config *c, const char *section, const char *key) {
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->e[i].section, section) == 0 && strcmp(c->e[i].key, key) == 0) return &c->e[i];
  return NULL;
}

static void entry_free(entry *e) {
  free(e->section);
  free(e->key);
  free(e->value);
}

/* Adds or replaces section/key. Takes ownership of nothing; copies. */
static int put(pg_config *c, const char *section, const char *key, const char *value,
               const char *origin, int line) {
  entry *e = find(c, section, key);
  char *v = dup_b(value);
  if (!v) return PG_ERR_NOMEM;
  if (e) {
    free(e->value);
    e->value = v;
    e->origin = origin;
    e->line = line;
    e->resolved = false;
    e->label = false;
    e->seq = c->nsources;
    return PG_OK;
  }
  int rc = pg_grow(&c->e, &c->cap, c->n + 1, sizeof *c->e, 0);
  entry ne = {dup_b(section), dup_b(key), v, origin, line, false, false, false, c->nsources};
  if (rc || !ne.section || !ne.key) {
    entry_free(&ne);
    return PG_ERR_NOMEM;
  }
  c->e[c->n++] = ne;
  return PG_OK;
}

int pg_config_new(pg_config **out) {
  pg_config *c = calloc(1, sizeof *c);
  if (!c) return PG_ERR_NOMEM;
  *out = c;
  return PG_OK;
}

static void clear_entries(pg_config *c) {
  for (size_t i = 0; i < c->n; i++) entry_free(&c->e[i]);
  free(c->e);
  c->e = NULL;
  c->n = c->cap = 0;
}

void pg_config_free(pg_config *c) {
  if (!c) return;
  clear_entries(c);
  for (size_t i = 0; i < c->norigins; i++) free(c->origins[i]);
  free(c->origins);
  free(c->files);
  free(c);
}

/* Keeps a copy of a source name for the config's lifetime. */
static const char *intern_origin(pg_config *c, const char *name) {
  for (size_t i = 0; i < c->norigins; i++)
    if (strcmp(c->origins[i], name) == 0) return c->origins[i];
  char **o = realloc(c->origins, (c->norigins + 1) * sizeof *o);
  if (!o) return NULL;
  c->origins = o;
  char *s = dup_b(name);
  if (!s) return NULL;
  c->origins[c->norigins++] = s;
  return s;
}

/* ---- parsing with inih ---- */

typedef struct parse_ctx {
  pg_config *stage; /* entries of this source only */
  const char *origin;
  const char *text;
  size_t len, pos;
  int line;     /* number of the line last handed to inih */
  int err;      /* first error found by the reader or the handler */
  int err_line;
  char err_msg[200];
} parse_ctx;

static void ctx_error(parse_ctx *x, int err, const char *msg) {
  if (x->err) return;
  x->err = err;
  x->err_line = x->line;
  snprintf(x->err_msg, sizeof x->err_msg, "%s", msg);
}

/* fgets-like reader over x->text. Hands inih one line at a time without its
 * '\n' and without leading whitespace (so nothing is a continuation line).
 * Stops the parse (returns NULL) on a NUL byte or a line that does not fit. */
static char *reader(char *str, int num, void *stream) {
  parse_ctx *x = stream;
  if (x->err || x->pos >= x->len || num < 2) return NULL;
  const char *p = x->text + x->pos;
  size_t left = x->len - x->pos;
  const char *nl = memchr(p, '\n', left);
  size_t linelen = nl ? (size_t)(nl - p) : left;
  x->pos += linelen + (nl ? 1 : 0);
  x->line++;
  if (memchr(p, '\0', linelen)) {
    ctx_error(x, PG_ERR_CONFIG, "NUL byte in line");
    return NULL;
  }
  size_t skip = 0;
  while (skip < linelen && is_space(p[skip])) skip++;
  if (linelen - skip > (size_t)num - 1) {
    char msg[80];
    snprintf(msg, sizeof msg, "line too long (%zu characters, at most %d)", linelen - skip,
             num - 1);
    ctx_error(x, PG_ERR_CONFIG, msg);
    return NULL;
  }
  if (linelen > skip && p[skip] == '[') {
    /* inih silently cuts section names to its buffer; refuse instead */
    const char *end = memchr(p + skip, ']', linelen - skip);
    size_t nlen = end ? (size_t)(end - (p + skip + 1)) : 0;
    if (nlen > INIH_SECTION_MAX) {
      char msg[80];
      snprintf(msg, sizeof msg, "section name too long (%zu characters, at most %d)", nlen,
               INIH_SECTION_MAX);
      ctx_error(x, PG_ERR_CONFIG, msg);
      return NULL;
    }
  }
  memcpy(str, p + skip, linelen - skip);
  str[linelen - skip] = '\0';
  return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  parse_ctx *x = user;
  if (x->err) return 0;
  char msg[200];
  size_t klen = strnlen(name, NAME_MAX_LEN);
  if (klen == 0) {
    ctx_error(x, PG_ERR_CONFIG, "empty key name");
    return 0;
  }
  if (memchr(name, '.', klen)) {
    char shown[48];
    show(name, shown);
    snprintf(msg, sizeof msg, "key '%s' contains '.'", shown);
    ctx_error(x, PG_ERR_CONFIG, msg);
    return 0;
  }
  entry *prev = find(x->stage, section, name);
  if (prev) {
    char s[48], k[48];
    show(section, s);
    show(name, k);
    snprintf(msg, sizeof msg, "[%s] %s: set twice (first on line %d)", s, k, prev->line);
    ctx_error(x, PG_ERR_CONFIG, msg);
    return 0;
  }
  int rc = put(x->stage, section, name, value, x->origin, x->line);
  if (rc) {
    ctx_error(x, rc, "out of memory");
    return 0;
  }
  return 1;
}

static int load_text(pg_config *c, const char *name, const char *text, size_t len, pg_diag *d) {
  parse_ctx x;
  pg_config stage = {0};
  int rc = PG_OK;
  memset(&x, 0, sizeof x);
  const char *origin = intern_origin(c, name);
  if (!origin) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  if (len > PG_CONFIG_MAX_FILE) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: larger than %u bytes", name, PG_CONFIG_MAX_FILE);
    goto out;
  }
  x.stage = &stage;
  x.origin = origin;
  x.text = text;
  x.len = len;
  int bad = ini_parse_stream(reader, &x, handler, &x);
  if (bad < 0 && !x.err) {
    rc = pg_fail(d, PG_ERR_NOMEM, "%s: parser out of memory", name);
    goto out;
  }
  if (x.err && (bad <= 0 || x.err_line <= bad)) {
    rc = pg_fail(d, x.err, "%s:%d: %s", name, x.err_line, x.err_msg);
    goto out;
  }
  if (bad > 0) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s:%d: syntax error (expected [section] or key = value)",
                 name, bad);
    goto out;
  }
  c->nsources++;
  for (size_t i = 0; i < stage.n; i++) {
    rc = put(c, stage.e[i].section, stage.e[i].key, stage.e[i].value, origin, stage.e[i].line);
    if (rc) {
      rc = pg_fail(d, rc, "%s: out of memory", name);
      goto out;
    }
  }
  c->last_origin = origin;
out:
  clear_entries(&stage);
  return rc;
}

int pg_config_load_string(pg_config *c, const char *name, const char *text, size_t len,
                          pg_diag *d) {
  if (!c || (!text && len)) return pg_fail(d, PG_ERR_INVALID, "config: no input");
  return load_text(c, name ? name : "<string>", text ? text : "", len, d);
}

int pg_config_load_file(pg_config *c, const char *path, pg_diag *d) {
  int rc = PG_OK;
  char *buf = NULL;
  size_t len = 0;
  if (!c || !path) return pg_fail(d, PG_ERR_INVALID, "config: no file name");
  FILE *f = fopen(path, "rb");
  if (!f) return pg_fail(d, PG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    rc = pg_fail(d, PG_ERR_IO, "%s: is a directory, not a configuration file", path);
    goto out;
  }
  buf = malloc(PG_CONFIG_MAX_FILE + 1);
  if (!buf) {
    rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  len = fread(buf, 1, PG_CONFIG_MAX_FILE + 1, f);
  if (ferror(f)) {
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    goto out;
  }
  if (len > PG_CONFIG_MAX_FILE) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: larger than %u bytes", path, PG_CONFIG_MAX_FILE);
    goto out;
  }
  rc = load_text(c, path, buf, len, d);
  if (!rc) { /* remember that this origin is a file: paths in it are relative to it */
    const char **nf = realloc(c->files, (c->nfiles + 1) * sizeof *nf);
    if (!nf) rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", path);
    else c->files = nf, c->files[c->nfiles++] = c->last_origin;
  }
out:
  free(buf);
  fclose(f);
  return rc;
}

static void trim(const char **s, size_t *n) {
  while (*n && is_space(**s)) (*s)++, (*n)--;
  while (*n && is_space((*s)[*n - 1])) (*n)--;
}

static int not_override(pg_diag *d, const char *label, const char *shown) {
  if (label) return pg_fail(d, PG_ERR_CONFIG, "%s: '%s' is not SECTION.KEY=VALUE", label, shown);
  return pg_fail(d, PG_ERR_CONFIG, "%s: '%s': expected section.key=value", ORIGIN_CMDLINE, shown);
}

int pg_config_override(pg_config *c, const char *arg, pg_diag *d) {
  return pg_config_override_from(c, arg, NULL, d);
}

int pg_config_override_from(pg_config *c, const char *arg, const char *label, pg_diag *d) {
  int rc = PG_OK;
  char *sec = NULL, *key = NULL, *val = NULL;
  if (!c || !arg) return pg_fail(d, PG_ERR_INVALID, "override: missing");
  const char *origin = label ? intern_origin(c, label) : ORIGIN_CMDLINE;
  if (!origin) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", label);
  size_t alen = strnlen(arg, OVERRIDE_MAX + 1);
  char shown[48];
  show(arg, shown);
  if (alen > OVERRIDE_MAX)
    return pg_fail(d, PG_ERR_CONFIG, "%s: override '%s' too long", origin, shown);
  const char *eq = memchr(arg, '=', alen);
  if (!eq) return not_override(d, label, shown);
  const char *lhs = arg, *rhs = eq + 1;
  size_t llen = (size_t)(eq - arg), rlen = alen - llen - 1;
  trim(&lhs, &llen);
  trim(&rhs, &rlen);
  size_t dot = llen;
  for (size_t i = 0; i < llen; i++)
    if (lhs[i] == '.') dot = i;
  const char *k = dot < llen ? lhs + dot + 1 : lhs;
  size_t klen = dot < llen ? llen - dot - 1 : llen;
  if (klen == 0) return not_override(d, label, shown);
  sec = dup_n(lhs, dot < llen ? dot : 0);
  key = dup_n(k, klen);
  val = dup_n(rhs, rlen);
  if (!sec || !key || !val) {
    rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", origin);
    goto out;
  }
  c->nsources++;
  rc = put(c, sec, key, val, origin, 0);
  if (rc) rc = pg_fail(d, rc, "%s: out of memory", origin);
  else if (label) find(c, sec, key)->label = true;
out:
  free(sec);
  free(key);
  free(val);
  return rc;
}

int pg_config_set(pg_config *c, const char *section, const char *key, const char *value) {
  if (!c || !section || !key || !value || !*key) return PG_ERR_INVALID;
  return put(c, section, key, value, ORIGIN_SET, 0);
}

int pg_config_path_from_file(pg_config *c, const char *section, const char *key) {
  entry *e = c ? find(c, section, key) : NULL;
  if (!e || e->resolved || !e->value[0] || e->value[0] == '/') return PG_OK;
  bool file = false;
  for (size_t i = 0; i < c->nfiles && !file; i++) file = c->files[i] == e->origin;
  const char *slash = file ? strrchr(e->origin, '/') : NULL;
  if (!slash) return PG_OK; /* not from a file, or a file in the working directory */
  size_t dn = (size_t)(slash - e->origin) + 1, vn = strlen(e->value);
  char *v = malloc(dn + vn + 1);
  if (!v) return PG_ERR_NOMEM;
  memcpy(v, e->origin, dn);
  memcpy(v + dn, e->value, vn + 1);
  free(e->value);
  e->value = v;
  e->resolved = true;
  return PG_OK;
}

bool pg_config_has(const pg_config *c, const char *section, const char *key) {
  return c && find(c, section, key) != NULL;
}

unsigned pg_config_source_rank(const pg_config *c, const char *section, const char *key) {
  const entry *e = c ? find(c, section, key) : NULL;
  return e ? (e->seq ? e->seq : 1) : 0;
}

/* ---- typed getters ---- */

/* "node.ini:12: [api] port" / "command line: [api] port" / "x.ini: port" */
static void where(const pg_config *c, const entry *e, const char *section, const char *key,
                  char *out, size_t cap) {
  const char *origin = e ? e->origin : (c->last_origin ? c->last_origin : "configuration");
  char line[16] = "", s[48], k[48];
  if (e && e->label) { /* "--set api.port=x": the override names the key itself */
    snprintf(out, cap, "%s", origin);
    return;
  }
  if (e && e->line > 0) snprintf(line, sizeof line, ":%d", e->line);
  show(section, s);
  if (!key) { /* the section itself: the file of its first key */
    for (size_t i = 0; i < c->n; i++)
      if (strcmp(c->e[i].section, section) == 0 && !c->e[i].label) {
        origin = c->e[i].origin;
        break;
      }
    snprintf(out, cap, "%s: [%s]", origin, s);
    return;
  }
  show(key, k);
  if (section[0])
    snprintf(out, cap, "%s%s: [%s] %s", origin, line, s, k);
  else
    snprintf(out, cap, "%s%s: %s", origin, line, k);
}

static int bad_value(pg_diag *d, const pg_config *c, const entry *e, const char *what) {
  char w[160], v[48];
  where(c, e, e->section, e->key, w, sizeof w);
  show(e->value, v);
  return pg_fail(d, PG_ERR_CONFIG, "%s: '%s' is not %s", w, v, what);
}

void pg_config_where(const pg_config *c, const char *section, const char *key, char *out,
                     size_t cap) {
  if (!c) {
    snprintf(out, cap, "configuration: [%.48s] %.48s", section, key ? key : "");
    return;
  }
  where(c, key ? find(c, section, key) : NULL, section, key, out, cap);
}

/* Looks up and marks as read. */
static entry *lookup(pg_config *c, const char *section, const char *key) {
  entry *e = c ? find(c, section, key) : NULL;
  if (e) e->used = true;
  return e;
}

int pg_config_bad_value(pg_config *c, const char *section, const char *key, const char *what,
                        pg_diag *d) {
  entry *e = lookup(c, section, key);
  if (!e) return pg_fail(d, PG_ERR_CONFIG, "[%s] %s: is not %s", section, key, what);
  return bad_value(d, c, e, what);
}

int pg_config_require(pg_config *c, const char *section, const char *key, pg_diag *d) {
  if (lookup(c, section, key)) return PG_OK;
  char w[160];
  if (!c) return pg_fail(d, PG_ERR_INVALID, "config: none");
  where(c, NULL, section, key, w, sizeof w);
  return pg_fail(d, PG_ERR_CONFIG, "%s: required setting missing", w);
}

int pg_config_get_str(pg_config *c, const char *section, const char *key, const char *def,
                      const char **out, pg_diag *d) {
  (void)d;
  entry *e = lookup(c, section, key);
  *out = e ? e->value : def;
  return PG_OK;
}

static bool parse_i64(const char *s, int64_t *out) {
  size_t n = strnlen(s, 64);
  bool neg = n && s[0] == '-';
  uint64_t v;
  if (!pg_parse_u64(s + neg, n - neg, 0, &v)) return false;
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return false;
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
  }
  return true;
}

/* " between A and B", " of at least A" or "" */
static void range_u64(char *out, size_t cap, uint64_t min, uint64_t max,
                      void (*fmt)(char *, size_t, uint64_t)) {
  char a[32], b[32];
  fmt(a, sizeof a, min);
  fmt(b, sizeof b, max);
  if (max < UINT64_MAX)
    snprintf(out, cap, " between %s and %s", a, b);
  else if (min > 0)
    snprintf(out, cap, " of at least %s", a);
  else
    out[0] = '\0';
}

static void fmt_plain(char *out, size_t cap, uint64_t v) {
  snprintf(out, cap, "%llu", (unsigned long long)v);
}

/* A unit suffix and what one of it is in the base unit. */
typedef struct unit_mul {
  const char *unit;
  uint64_t mul;
} unit_mul;

/* v in the first of u (largest first) that divides it, else v and base_unit. */
static void fmt_units(char *out, size_t cap, uint64_t v, const unit_mul *u, size_t n,
                      const char *base_unit) {
  for (size_t i = 0; i < n; i++) {
    if (v && v % u[i].mul == 0) {
      snprintf(out, cap, "%llu%s", (unsigned long long)(v / u[i].mul), u[i].unit);
      return;
    }
  }
  snprintf(out, cap, "%llu%s", (unsigned long long)v, base_unit);
}

static void fmt_duration(char *out, size_t cap, uint64_t ms) {
  static const unit_mul u[] = {{"d", 86400000u}, {"h", 3600000u}, {"m", 60000u}, {"s", 1000u}};
  fmt_units(out, cap, ms, u, sizeof u / sizeof u[0], "ms");
}

static void fmt_size(char *out, size_t cap, uint64_t v) {
  static const unit_mul u[] = {{"G", 1u << 30}, {"M", 1u << 20}, {"k", 1u << 10}};
  fmt_units(out, cap, v, u, sizeof u / sizeof u[0], "");
}

int pg_config_get_i64(pg_config *c, const char *section, const char *key, int64_t def,
                      int64_t min, int64_t max, int64_t *out, pg_diag *d) {
  entry *e = lookup(c, section, key);
  int64_t v;
  if (!e) {
    *out = def;
    return PG_OK;
  }
  if (!parse_i64(e->value, &v) || v < min || v > max) {
    char what[96];
    snprintf(what, sizeof what, "a number between %lld and %lld", (long long)min, (long long)max);
    return bad_value(d, c, e, what);
  }
  *out = v;
  return PG_OK;
}

int pg_config_get_u64(pg_config *c, const char *section, const char *key, uint64_t def,
                      uint64_t min, uint64_t max, uint64_t *out, pg_diag *d) {
  entry *e = lookup(c, section, key);
  uint64_t v;
  if (!e) {
    *out = def;
    return PG_OK;
  }
  if (!pg_parse_u64(e->value, strnlen(e->value, 64), 0, &v) || v < min || v > max) {
    char what[96], r[80];
    range_u64(r, sizeof r, min, max, fmt_plain);
    snprintf(what, sizeof what, "a number%s", r[0] ? r : " (digits only)");
    return bad_value(d, c, e, what);
  }
  *out = v;
  return PG_OK;
}

int pg_config_alias(pg_config *c, const char *section, const char *key, const char *alias,
                    const char **used, pg_diag *d) {
  bool has_key = pg_config_has(c, section, key), has_alias = pg_config_has(c, section, alias);
  *used = has_alias && !has_key ? alias : key;
  if (!has_key || !has_alias) return PG_OK;
  char w[160];
  pg_config_where(c, section, key, w, sizeof w);
  lookup(c, section, key);
  lookup(c, section, alias);
  return pg_fail(d, PG_ERR_CONFIG,
                 "%s and %.48s (its old name) are the same setting; set only one", w, alias);
}

int pg_config_get_u64_alias(pg_config *c, const char *section, const char *key, const char *alias,
                            uint64_t def, uint64_t min, uint64_t max, uint64_t *out, pg_diag *d) {
  const char *k = key;
  int rc = pg_config_alias(c, section, key, alias, &k, d);
  return rc ? rc : pg_config_get_u64(c, section, k, def, min, max, out, d);
}

int pg_config_get_int(pg_config *c, const char *section, const char *key, int def, int min,
                      int max, int *out, pg_diag *d) {
  int64_t v = 0;
  int rc = pg_config_get_i64(c, section, key, def, min, max, &v, d);
  if (rc) return rc;
  *out = (int)v;
  return PG_OK;
}

int pg_config_parse_bool(const char *s, bool *out) {
  static const struct { const char *s; bool v; } names[] = {
      {"true", true}, {"yes", true}, {"on", true},   {"1", true},
      {"false", false}, {"no", false}, {"off", false}, {"0", false}};
  char low[8];
  size_t n = s ? strnlen(s, sizeof low) : sizeof low;
  if (n >= sizeof low) return PG_ERR_INVALID;
  for (size_t i = 0; i <= n; i++) low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(low, names[i].s) == 0) {
      *out = names[i].v;
      return PG_OK;
    }
  }
  return PG_ERR_INVALID;
}

int pg_config_get_bool(pg_config *c, const char *section, const char *key, bool def, bool *out,
                       pg_diag *d) {
  entry *e = lookup(c, section, key);
  bool v;
  if (!e) {
    *out = def;
    return PG_OK;
  }
  if (pg_config_parse_bool(e->value, &v))
    return bad_value(d, c, e, "a boolean (true/false, yes/no, on/off, 1/0)");
  *out = v;
  return PG_OK;
}

/* Splits s into leading digits and a suffix; both must be present as required. */
static bool split_number(const char *s, size_t n, uint64_t *num, const char **suffix,
                         size_t *slen) {
  size_t i = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  if (!pg_parse_u64(s, i, 0, num)) return false;
  *suffix = s + i;
  *slen = n - i;
  return true;
}

static bool suffix_is(const char *s, size_t n, const char *want) {
  size_t w = strlen(want);
  if (n != w) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != want[i]) return false;
  }
  return true;
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
  if (b && a > UINT64_MAX / b) return false;
  *out = a * b;
  return true;
}

/* Digits and one of the n unit suffixes (any case), scaled by its mul. */
static int parse_units(const char *s, const unit_mul *units, size_t n, uint64_t *out) {
  uint64_t v, r;
  const char *suf;
  size_t slen;
  if (!s) return PG_ERR_INVALID;
  if (!split_number(s, strnlen(s, 64), &v, &suf, &slen)) return PG_ERR_INVALID;
  for (size_t i = 0; i < n; i++) {
    if (suffix_is(suf, slen, units[i].unit)) {
      if (!mul_ok(v, units[i].mul, &r)) return PG_ERR_INVALID;
      *out = r;
      return PG_OK;
    }
  }
  return PG_ERR_INVALID;
}

int pg_config_parse_duration_ms(const char *s, uint64_t *out_ms) {
  static const unit_mul units[] = {
      {"", 1000u}, {"ms", 1u}, {"s", 1000u}, {"m", 60000u}, {"h", 3600000u}, {"d", 86400000u}};
  return parse_units(s, units, sizeof units / sizeof units[0], out_ms);
}

int pg_config_parse_size(const char *s, uint64_t *out) {
  static const unit_mul units[] = {
      {"", 1u},          {"b", 1u},          {"k", 1u << 10},     {"kb", 1u << 10},
      {"kib", 1u << 10}, {"m", 1u << 20},    {"mb", 1u << 20},    {"mib", 1u << 20},
      {"g", 1u << 30},   {"gb", 1u << 30},   {"gib", 1u << 30}};
  return parse_units(s, units, sizeof units / sizeof units[0], out);
}

/* A value with units (parse) in [min, max]; the diagnostic names the range
 * (fmt) as "<noun><range> <examples>". */
static int get_scaled(pg_config *c, const char *section, const char *key, uint64_t def,
                      uint64_t min, uint64_t max, uint64_t *out, pg_diag *d,
                      int (*parse)(const char *, uint64_t *),
                      void (*fmt)(char *, size_t, uint64_t), const char *noun,
                      const char *examples) {
  entry *e = lookup(c, section, key);
  uint64_t v;
  if (!e) {
    *out = def;
    return PG_OK;
  }
  if (parse(e->value, &v) || v < min || v > max) {
    char what[160], r[80];
    range_u64(r, sizeof r, min, max, fmt);
    snprintf(what, sizeof what, "%s%s %s", noun, r, examples);
    return bad_value(d, c, e, what);
  }
  *out = v;
  return PG_OK;
}

int pg_config_get_duration_ms(pg_config *c, const char *section, const char *key,
                              uint64_t def_ms, uint64_t min_ms, uint64_t max_ms,
                              uint64_t *out_ms, pg_diag *d) {
  return get_scaled(c, section, key, def_ms, min_ms, max_ms, out_ms, d,
                    pg_config_parse_duration_ms, fmt_duration, "a duration",
                    "(e.g. 500ms, 10s, 2m, 1h; no unit = seconds)");
}

int pg_config_get_size(pg_config *c, const char *section, const char *key, uint64_t def,
                       uint64_t min, uint64_t max, uint64_t *out, pg_diag *d) {
  return get_scaled(c, section, key, def, min, max, out, d, pg_config_parse_size, fmt_size,
                    "a size", "(e.g. 512, 64k, 1M, 2G)");
}

void pg_config_list_free(pg_config_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

static int split_list(const char *s, size_t max_items, pg_config_list *out, size_t *too_many) {
  pg_config_list l = {NULL, 0};
  int rc = PG_OK;
  size_t n = strnlen(s, PG_CONFIG_MAX_FILE), start = 0;
  *too_many = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && s[i] != ',' && s[i] != '\n') continue;
    const char *item = s + start;
    size_t ilen = i - start;
    start = i + 1;
    trim(&item, &ilen);
    if (!ilen) continue;
    if (max_items && l.n == max_items) {
      *too_many = 1;
      rc = PG_ERR_CONFIG;
      goto out;
    }
    char **items = realloc(l.items, (l.n + 1) * sizeof *items);
    if (!items) {
      rc = PG_ERR_NOMEM;
      goto out;
    }
    l.items = items;
    if (!(l.items[l.n] = dup_n(item, ilen))) {
      rc = PG_ERR_NOMEM;
      goto out;
    }
    l.n++;
  }
out:
  if (rc)
    pg_config_list_free(&l);
  else
    *out = l;
  return rc;
}

int pg_config_get_list(pg_config *c, const char *section, const char *key, const char *def,
                       size_t max_items, pg_config_list *out, pg_diag *d) {
  entry *e = lookup(c, section, key);
  const char *s = e ? e->value : (def ? def : "");
  size_t too_many = 0;
  int rc = split_list(s, max_items, out, &too_many);
  if (rc == PG_ERR_NOMEM) return pg_fail(d, rc, "config: out of memory");
  if (rc) {
    char what[64];
    snprintf(what, sizeof what, "a list of at most %zu items", max_items);
    if (e) return bad_value(d, c, e, what);
    return pg_fail(d, rc, "[%s] %s: default has more than %zu items", section, key, max_items);
  }
  return PG_OK;
}

size_t pg_config_unused(const pg_config *c, pg_config_unused_fn fn, void *ctx) {
  size_t count = 0;
  for (size_t i = 0; c && i < c->n; i++) {
    const entry *e = &c->e[i];
    if (e->used) continue;
    count++;
    if (fn) fn(ctx, e->origin, e->line, e->section, e->key);
  }
  return count;
}

int pg_config_unused_describe(const pg_config *c, size_t n, pg_diag *d) {
  for (size_t i = 0; c && i < c->n; i++) {
    const entry *e = &c->e[i];
    if (e->used) continue;
    if (n-- == 0) {
      char w[160];
      where(c, e, e->section, e->key, w, sizeof w);
      return pg_fail(d, PG_OK, "%s: unknown setting", w);
    }
  }
  return PG_ERR_NOT_FOUND;
}
