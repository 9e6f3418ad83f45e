/* p2pgrid/base/metrics.h — Prometheus metrics: counters, gauges and histograms
 * with labels, rendered in the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Usage:
 *   static const char *const outcome[] = {"stored", "duplicate", "invalid"};
 *   pg_metric_label l = {"outcome", outcome, 3};
 *   pg_metrics *m = pg_metrics_new();
 *   pg_metric *msgs = NULL;
 *   if (pg_metrics_add(m, &(pg_metric_desc){.name = "p2pgrid_node_messages_total",
 *                      .help = "Messages received", .type = PG_METRIC_COUNTER,
 *                      .labels = &l, .nlabels = 1}, &msgs, &d)) ...
 *   pg_metric_inc(msgs, 0);                  // outcome="stored"
 *   pg_buf out; pg_buf_init(&out, 1 << 20);
 *   if (pg_metrics_render(m, &out)) ...      // "# HELP ...\n# TYPE ...\n..."
 *   pg_metrics_free(m);
 *
 * Contract:
 * - Cardinality is fixed when a family is added: every label has a fixed
 *   list of values (code literals, never taken from outside input), and a
 *   family has one series per combination of them (at most
 *   PG_METRICS_MAX_SERIES). A series is named by its index: the label
 *   values' positions in mixed radix, the first label most significant
 *   (pg_metric_series computes it). An index out of range is ignored (a
 *   caller bug must not take a daemon down), so is a NULL metric.
 * - Names are checked when a family is added (PG_ERR_INVALID naming the
 *   problem): metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 *   [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", each label's values
 *   distinct, a counter's name ends in
 *   "_total", a histogram has no label "le" and 1..PG_METRICS_MAX_BUCKETS
 *   strictly increasing finite bucket bounds; a name used twice is
 *   PG_ERR_EXISTS. HELP text and label values may be any bytes: they are
 *   escaped when rendered (HELP: \\ and \n; label values: \\, \" and \n).
 * - Values: counters are uint64 and only go up (pg_metric_add, or
 *   pg_metric_set from a monotonic source); gauges are
 *   int64 (pg_metric_set, pg_metric_add_gauge); histograms count
 *   observations of a double into their buckets (le = upper bound,
 *   cumulative when rendered, plus +Inf, _sum and _count). Non-finite
 *   observations are ignored.
 * - Rendering: families in the order they were added, series in index
 *   order, one HELP and one TYPE line per family, samples without
 *   timestamps, numbers as integers or with the shortest %g form that
 *   reads back to the same double. A histogram's _count is its +Inf
 *   bucket (the buckets are read without a lock, so a scrape during
 *   observations may see a _sum that lags its _count by those
 *   observations).
 *
 * Ownership: pg_metrics_new returns an owned registry; families belong to
 * it (pg_metrics_free frees them; a pg_metric pointer is valid until then).
 * Descriptions, label lists and bucket arrays are copied.
 *
 * Threads: pg_metrics_add must not race with anything else on the same
 * registry (add every family at start). After that, every update
 * (pg_metric_inc/add/set/observe) is lock-free (C11 atomics, relaxed) and
 * may come from any thread, also during pg_metrics_render, which may itself
 * run on several threads at once.
 *
 * Errors: pg_metrics_new returns NULL when out of memory; pg_metrics_add
 * returns PG_ERR_INVALID, PG_ERR_EXISTS or PG_ERR_NOMEM with one sentence in
 * the optional pg_diag; pg_metrics_render returns the buffer's sticky error;
 * updates never fail (see Values). */
#ifndef P2PGRID_BASE_METRICS_H
#define P2PGRID_BASE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

#define PG_METRICS_MAX_LABELS 3
#define PG_METRICS_MAX_SERIES 256
#define PG_METRICS_MAX_BUCKETS 24

/* The content type of the text format, for the Content-Type header. */
#define PG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef enum pg_metric_type {
  PG_METRIC_COUNTER = 1,
  PG_METRIC_GAUGE = 2,
  PG_METRIC_HISTOGRAM = 3,
} pg_metric_type;

typedef struct pg_metric_label {
  const char *name;
  const char *const *values;
  size_t nvalues; /* >= 1 */
} pg_metric_label;

typedef struct pg_metric_desc {
  const char *name;
  const char *help;
  pg_metric_type type;
  const pg_metric_label *labels; /* nlabels of them (0..PG_METRICS_MAX_LABELS) */
  size_t nlabels;
  const double *buckets; /* histograms: upper bounds, increasing */
  size_t nbuckets;
} pg_metric_desc;

typedef struct pg_metrics pg_metrics;
typedef struct pg_metric pg_metric;

/* NULL when out of memory. */
pg_metrics *pg_metrics_new(void);
void pg_metrics_free(pg_metrics *m); /* NULL ok */

/* Adds a family; *out (may be NULL) gets it. Errors: PG_ERR_INVALID (a bad
 * name or description, d names it), PG_ERR_EXISTS, PG_ERR_TOO_LARGE (more
 * than PG_METRICS_MAX_SERIES series), PG_ERR_NOMEM. */
PG_NODISCARD int pg_metrics_add(pg_metrics *m, const pg_metric_desc *desc, pg_metric **out,
                                pg_diag *d);

/* One family as a line of a static table (at most two labels; l2 NULL =
 * one label, l1 NULL = none; buckets for histograms). */
typedef struct pg_metric_spec {
  const char *name, *help;
  pg_metric_type type;
  const char *l1;
  const char *const *v1;
  size_t n1;
  const char *l2;
  const char *const *v2;
  size_t n2;
  const double *buckets;
  size_t nbuckets;
} pg_metric_spec;
/* pg_metrics_add of a spec. */
PG_NODISCARD int pg_metrics_add_spec(pg_metrics *m, const pg_metric_spec *s, pg_metric **out,
                                     pg_diag *d);

/* The series index of the label values at positions pos[0..nlabels) (each
 * below its label's nvalues; else SIZE_MAX, which updates ignore). */
size_t pg_metric_series(const pg_metric *f, const size_t *pos);
/* The position of value among label `label`'s values, or SIZE_MAX. */
size_t pg_metric_value_pos(const pg_metric *f, size_t label, const char *value);

/* Counters. */
void pg_metric_inc(pg_metric *f, size_t series);
void pg_metric_add(pg_metric *f, size_t series, uint64_t n);
/* Gauges; pg_metric_set also sets a counter whose count is kept elsewhere
 * (a monotonic number read at scrape time, e.g. a server's requests). */
void pg_metric_set(pg_metric *f, size_t series, int64_t v);
void pg_metric_add_gauge(pg_metric *f, size_t series, int64_t delta);
/* Histograms. */
void pg_metric_observe(pg_metric *f, size_t series, double v);

/* The current value of a counter or gauge series (tests, and callers that
 * derive one number from another); 0 for an index out of range. */
int64_t pg_metric_value(const pg_metric *f, size_t series);

/* Monotonic seconds (CLOCK_MONOTONIC) for durations to observe:
 * pg_metric_observe(h, s, pg_metrics_now() - t0). */
double pg_metrics_now(void);

/* Appends the exposition text of every family to out. Returns out's status
 * (PG_ERR_TOO_LARGE when its limit was reached). */
PG_NODISCARD int pg_metrics_render(const pg_metrics *m, pg_buf *out);

#endif
