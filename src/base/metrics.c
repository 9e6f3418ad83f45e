/* metrics.c — Prometheus counters, gauges and histograms (metrics.h). */
#include "p2pgrid/base/metrics.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pg_metric {
  char *name, *help;
  pg_metric_type type;
  size_t nlabels;
  char *label_names[PG_METRICS_MAX_LABELS];
  char **label_values[PG_METRICS_MAX_LABELS];
  size_t label_nvalues[PG_METRICS_MAX_LABELS];
  size_t nseries;
  /* counters and gauges: one value per series (a gauge's int64 stored as
   * its two's complement); histograms: nbuckets + 1 counts per series
   * (the last for +Inf), not cumulative */
  _Atomic uint64_t *vals;
  double *buckets;
  char (*le)[32]; /* the bounds as rendered, made once */
  size_t nbuckets;
  _Atomic uint64_t *sum_bits; /* histograms: the double sum per series, as bits */
  struct pg_metric *next;
};

struct pg_metrics {
  pg_metric *first, *last;
};

pg_metrics *pg_metrics_new(void) { return calloc(1, sizeof(pg_metrics)); }

static void metric_free(pg_metric *f) {
  if (!f) return;
  free(f->name);
  free(f->help);
  for (size_t i = 0; i < f->nlabels; i++) {
    free(f->label_names[i]);
    if (f->label_values[i])
      for (size_t j = 0; j < f->label_nvalues[i]; j++) free(f->label_values[i][j]);
    free(f->label_values[i]);
  }
  free((void *)f->vals);
  free((void *)f->sum_bits);
  free(f->buckets);
  free(f->le);
  free(f);
}

void pg_metrics_free(pg_metrics *m) {
  if (!m) return;
  for (pg_metric *f = m->first, *n; f; f = n) {
    n = f->next;
    metric_free(f);
  }
  free(m);
}

/* ---- checks ---- */

static bool name_ok(const char *s, bool colon) {
  if (!s || !*s) return false;
  for (size_t i = 0; s[i]; i++) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

static bool ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && memcmp(s + a - b, tail, b) == 0;
}

static int check_labels(const pg_metric_desc *desc, size_t *nseries, pg_diag *d) {
  if (desc->nlabels > PG_METRICS_MAX_LABELS || (desc->nlabels && !desc->labels))
    return pg_fail(d, PG_ERR_INVALID, "metric %s: at most %d labels", desc->name,
                   PG_METRICS_MAX_LABELS);
  size_t n = 1;
  for (size_t i = 0; i < desc->nlabels; i++) {
    const pg_metric_label *l = &desc->labels[i];
    if (!name_ok(l->name, false) || strncmp(l->name, "__", 2) == 0)
      return pg_fail(d, PG_ERR_INVALID, "metric %s: bad label name '%s'", desc->name,
                     l->name ? l->name : "(null)");
    if (desc->type == PG_METRIC_HISTOGRAM && strcmp(l->name, "le") == 0)
      return pg_fail(d, PG_ERR_INVALID, "metric %s: a histogram cannot have a label 'le'",
                     desc->name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(desc->labels[j].name, l->name) == 0)
        return pg_fail(d, PG_ERR_INVALID, "metric %s: label '%s' twice", desc->name, l->name);
    if (l->nvalues == 0 || !l->values)
      return pg_fail(d, PG_ERR_INVALID, "metric %s: label '%s' has no values", desc->name,
                     l->name);
    for (size_t j = 0; j < l->nvalues; j++) {
      if (!l->values[j])
        return pg_fail(d, PG_ERR_INVALID, "metric %s: label '%s' value %zu is NULL", desc->name,
                       l->name, j);
      for (size_t k = 0; k < j; k++)
        if (strcmp(l->values[k], l->values[j]) == 0)
          return pg_fail(d, PG_ERR_INVALID, "metric %s: label '%s' lists a value twice",
                         desc->name, l->name);
    }
    if (l->nvalues > PG_METRICS_MAX_SERIES / n)
      return pg_fail(d, PG_ERR_TOO_LARGE, "metric %s: more than %d series", desc->name,
                     PG_METRICS_MAX_SERIES);
    n *= l->nvalues;
  }
  *nseries = n;
  return PG_OK;
}

static int check_desc(const pg_metrics *m, const pg_metric_desc *desc, size_t *nseries,
                      pg_diag *d) {
  if (!desc || !name_ok(desc->name, true))
    return pg_fail(d, PG_ERR_INVALID, "bad metric name '%s'",
                   desc && desc->name ? desc->name : "(null)");
  if (!desc->help) return pg_fail(d, PG_ERR_INVALID, "metric %s: no help text", desc->name);
  if (desc->type != PG_METRIC_COUNTER && desc->type != PG_METRIC_GAUGE &&
      desc->type != PG_METRIC_HISTOGRAM)
    return pg_fail(d, PG_ERR_INVALID, "metric %s: unknown type", desc->name);
  if (desc->type == PG_METRIC_COUNTER && !ends_with(desc->name, "_total"))
    return pg_fail(d, PG_ERR_INVALID, "counter %s: the name must end in _total", desc->name);
  if (desc->type == PG_METRIC_HISTOGRAM) {
    if (desc->nbuckets == 0 || desc->nbuckets > PG_METRICS_MAX_BUCKETS || !desc->buckets)
      return pg_fail(d, PG_ERR_INVALID, "histogram %s: 1..%d buckets", desc->name,
                     PG_METRICS_MAX_BUCKETS);
    for (size_t i = 0; i < desc->nbuckets; i++)
      if (!isfinite(desc->buckets[i]) || (i && desc->buckets[i] <= desc->buckets[i - 1]))
        return pg_fail(d, PG_ERR_INVALID, "histogram %s: bucket bounds must be finite and "
                                          "increasing", desc->name);
  }
  for (const pg_metric *f = m->first; f; f = f->next)
    if (strcmp(f->name, desc->name) == 0)
      return pg_fail(d, PG_ERR_EXISTS, "metric %s added twice", desc->name);
  return check_labels(desc, nseries, d);
}

/* The shortest text that reads back as v; "+Inf", "-Inf", "NaN". */
static void fmt_double(double v, char *out, size_t cap) {
  if (isnan(v)) {
    snprintf(out, cap, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    snprintf(out, cap, "%.0f", v);
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(out, cap, "%.*g", p, v);
    if (strtod(out, NULL) == v) return;
  }
}

/* ---- building ---- */

static int copy_labels(pg_metric *f, const pg_metric_desc *desc) {
  f->nlabels = desc->nlabels;
  for (size_t i = 0; i < desc->nlabels; i++) {
    const pg_metric_label *l = &desc->labels[i];
    f->label_names[i] = strdup(l->name);
    f->label_values[i] = calloc(l->nvalues, sizeof(char *));
    if (!f->label_names[i] || !f->label_values[i]) return PG_ERR_NOMEM;
    f->label_nvalues[i] = l->nvalues;
    for (size_t j = 0; j < l->nvalues; j++)
      if (!(f->label_values[i][j] = strdup(l->values[j]))) return PG_ERR_NOMEM;
  }
  return PG_OK;
}

int pg_metrics_add(pg_metrics *m, const pg_metric_desc *desc, pg_metric **out, pg_diag *d) {
  if (out) *out = NULL;
  size_t nseries = 0;
  int rc = check_desc(m, desc, &nseries, d);
  if (rc) return rc;
  pg_metric *f = calloc(1, sizeof *f);
  if (!f) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  f->type = desc->type;
  f->nseries = nseries;
  f->name = strdup(desc->name);
  f->help = strdup(desc->help);
  rc = f->name && f->help ? copy_labels(f, desc) : PG_ERR_NOMEM;
  size_t per = 1;
  if (!rc && desc->type == PG_METRIC_HISTOGRAM) {
    f->nbuckets = desc->nbuckets;
    per = desc->nbuckets + 1;
    f->buckets = malloc(desc->nbuckets * sizeof(double));
    f->le = calloc(desc->nbuckets + 1, sizeof *f->le);
    f->sum_bits = calloc(nseries, sizeof *f->sum_bits);
    if (!f->buckets || !f->le || !f->sum_bits) {
      rc = PG_ERR_NOMEM;
    } else {
      memcpy(f->buckets, desc->buckets, desc->nbuckets * sizeof(double));
      for (size_t i = 0; i < desc->nbuckets; i++) fmt_double(desc->buckets[i], f->le[i], 32);
      snprintf(f->le[desc->nbuckets], 32, "+Inf");
    }
  }
  if (!rc && !(f->vals = calloc(nseries * per, sizeof *f->vals))) rc = PG_ERR_NOMEM;
  if (rc) {
    metric_free(f);
    return pg_fail(d, rc, "out of memory");
  }
  if (m->last) m->last->next = f;
  else m->first = f;
  m->last = f;
  if (out) *out = f;
  return PG_OK;
}

int pg_metrics_add_spec(pg_metrics *m, const pg_metric_spec *s, pg_metric **out, pg_diag *d) {
  pg_metric_label l[2] = {{s->l1, s->v1, s->n1}, {s->l2, s->v2, s->n2}};
  pg_metric_desc desc = {.name = s->name, .help = s->help, .type = s->type, .labels = l,
                         .nlabels = s->l2 ? 2 : s->l1 ? 1 : 0, .buckets = s->buckets,
                         .nbuckets = s->nbuckets};
  return pg_metrics_add(m, &desc, out, d);
}

size_t pg_metric_series(const pg_metric *f, const size_t *pos) {
  if (!f) return SIZE_MAX;
  size_t idx = 0;
  for (size_t i = 0; i < f->nlabels; i++) {
    if (pos[i] >= f->label_nvalues[i]) return SIZE_MAX;
    idx = idx * f->label_nvalues[i] + pos[i];
  }
  return idx;
}

size_t pg_metric_value_pos(const pg_metric *f, size_t label, const char *value) {
  if (!f || label >= f->nlabels || !value) return SIZE_MAX;
  for (size_t j = 0; j < f->label_nvalues[label]; j++)
    if (strcmp(f->label_values[label][j], value) == 0) return j;
  return SIZE_MAX;
}

/* ---- updates ---- */

static bool usable(const pg_metric *f, size_t series, pg_metric_type type) {
  return f && f->type == type && series < f->nseries;
}

void pg_metric_inc(pg_metric *f, size_t series) { pg_metric_add(f, series, 1); }

void pg_metric_add(pg_metric *f, size_t series, uint64_t n) {
  if (usable(f, series, PG_METRIC_COUNTER))
    atomic_fetch_add_explicit(&f->vals[series], n, memory_order_relaxed);
}

void pg_metric_set(pg_metric *f, size_t series, int64_t v) {
  if (usable(f, series, PG_METRIC_GAUGE) || usable(f, series, PG_METRIC_COUNTER))
    atomic_store_explicit(&f->vals[series], (uint64_t)v, memory_order_relaxed);
}

void pg_metric_add_gauge(pg_metric *f, size_t series, int64_t delta) {
  if (usable(f, series, PG_METRIC_GAUGE))
    atomic_fetch_add_explicit(&f->vals[series], (uint64_t)delta, memory_order_relaxed);
}

static uint64_t bits_of(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}

static double double_of(uint64_t b) {
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}

void pg_metric_observe(pg_metric *f, size_t series, double v) {
  if (!usable(f, series, PG_METRIC_HISTOGRAM) || !isfinite(v)) return;
  size_t i = 0;
  while (i < f->nbuckets && v > f->buckets[i]) i++;
  atomic_fetch_add_explicit(&f->vals[series * (f->nbuckets + 1) + i], 1, memory_order_relaxed);
  uint64_t old = atomic_load_explicit(&f->sum_bits[series], memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&f->sum_bits[series], &old,
                                                bits_of(double_of(old) + v),
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

int64_t pg_metric_value(const pg_metric *f, size_t series) {
  if (!f || f->type == PG_METRIC_HISTOGRAM || series >= f->nseries) return 0;
  return (int64_t)atomic_load_explicit(&((pg_metric *)f)->vals[series], memory_order_relaxed);
}

double pg_metrics_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rendering ---- */

/* Appends s with \\, \n (and with quote, \") escaped. */
static void put_escaped(pg_buf *b, const char *s, bool quote) {
  size_t plain = strcspn(s, quote ? "\\\n\"" : "\\\n");
  pg_buf_put(b, s, plain); /* the common case: nothing to escape */
  for (s += plain; *s; s++) {
    if (*s == '\\') pg_buf_puts(b, "\\\\");
    else if (*s == '\n') pg_buf_puts(b, "\\n");
    else if (quote && *s == '"') pg_buf_puts(b, "\\\"");
    else pg_buf_put_u8(b, (uint8_t)*s);
  }
}

/* {a="x",b="y"[,le="..."]} of series idx; nothing without labels or le. */
static void put_labels(pg_buf *b, const pg_metric *f, size_t idx, const char *le) {
  if (!f->nlabels && !le) return;
  size_t pos[PG_METRICS_MAX_LABELS];
  for (size_t i = f->nlabels; i-- > 0;) {
    pos[i] = idx % f->label_nvalues[i];
    idx /= f->label_nvalues[i];
  }
  pg_buf_put_u8(b, '{');
  for (size_t i = 0; i < f->nlabels; i++) {
    if (i) pg_buf_put_u8(b, ',');
    pg_buf_puts(b, f->label_names[i]);
    pg_buf_puts(b, "=\"");
    put_escaped(b, f->label_values[i][pos[i]], true);
    pg_buf_put_u8(b, '"');
  }
  if (le) {
    pg_buf_puts(b, f->nlabels ? ",le=\"" : "le=\"");
    pg_buf_puts(b, le);
    pg_buf_put_u8(b, '"');
  }
  pg_buf_put_u8(b, '}');
}

static void put_sample(pg_buf *b, const pg_metric *f, const char *suffix, size_t idx,
                       const char *le, const char *value) {
  pg_buf_puts(b, f->name);
  pg_buf_puts(b, suffix);
  put_labels(b, f, idx, le);
  pg_buf_put_u8(b, ' ');
  pg_buf_puts(b, value);
  pg_buf_put_u8(b, '\n');
}

static void render_histogram(const pg_metric *f, size_t s, pg_buf *b) {
  char num[40];
  uint64_t cum = 0;
  _Atomic uint64_t *row = &f->vals[s * (f->nbuckets + 1)];
  for (size_t i = 0; i <= f->nbuckets; i++) {
    cum += atomic_load_explicit(&row[i], memory_order_relaxed);
    snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
    put_sample(b, f, "_bucket", s, f->le[i], num);
  }
  fmt_double(double_of(atomic_load_explicit(&f->sum_bits[s], memory_order_relaxed)), num,
             sizeof num);
  put_sample(b, f, "_sum", s, NULL, num);
  snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
  put_sample(b, f, "_count", s, NULL, num);
}

static const char *type_name(pg_metric_type t) {
  return t == PG_METRIC_COUNTER ? "counter" : t == PG_METRIC_GAUGE ? "gauge" : "histogram";
}

int pg_metrics_render(const pg_metrics *m, pg_buf *b) {
  for (const pg_metric *f = m->first; f; f = f->next) {
    pg_buf_puts(b, "# HELP ");
    pg_buf_puts(b, f->name);
    pg_buf_put_u8(b, ' ');
    put_escaped(b, f->help, false);
    pg_buf_puts(b, "\n# TYPE ");
    pg_buf_puts(b, f->name);
    pg_buf_put_u8(b, ' ');
    pg_buf_puts(b, type_name(f->type));
    pg_buf_put_u8(b, '\n');
    for (size_t s = 0; s < f->nseries; s++) {
      if (f->type == PG_METRIC_HISTOGRAM) {
        render_histogram(f, s, b);
        continue;
      }
      char num[32];
      uint64_t v = atomic_load_explicit(&f->vals[s], memory_order_relaxed);
      if (f->type == PG_METRIC_GAUGE) snprintf(num, sizeof num, "%lld", (long long)(int64_t)v);
      else snprintf(num, sizeof num, "%llu", (unsigned long long)v);
      put_sample(b, f, "", s, NULL, num);
    }
  }
  return pg_buf_status(b);
}
