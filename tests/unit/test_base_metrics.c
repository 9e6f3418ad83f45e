/* Unit tests for metrics.c: the exposition text of known values, compared
 * byte for byte; escaping; the name rules; updates from many threads. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/metrics.h"

/* Renders m and compares with want exactly. */
static void assert_render(const pg_metrics *m, const char *want) {
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  assert_int_equal(pg_metrics_render(m, &b), PG_OK);
  pg_buf_put_u8(&b, 0);
  assert_string_equal((const char *)b.data, want);
  pg_buf_free(&b);
}

static void test_counter_gauge_text(void **state) {
  (void)state;
  static const char *const outcome[] = {"stored", "duplicate", "invalid"};
  static const char *const kind[] = {"a", "b"};
  pg_metric_label l1[] = {{"outcome", outcome, 3}};
  pg_metric_label l2[] = {{"kind", kind, 2}, {"outcome", outcome, 3}};
  pg_metrics *m = pg_metrics_new();
  assert_non_null(m);
  pg_metric *c = NULL, *g = NULL, *g2 = NULL, *plain = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"p2pgrid_msgs_total", "Messages received.",
                                                        PG_METRIC_COUNTER, l1, 1, NULL, 0},
                                  &c, &d), PG_OK);
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"p2pgrid_index", "Index.", PG_METRIC_GAUGE,
                                                        NULL, 0, NULL, 0},
                                  &g, &d), PG_OK);
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"p2pgrid_two", "Two labels.",
                                                        PG_METRIC_GAUGE, l2, 2, NULL, 0},
                                  &g2, &d), PG_OK);
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"p2pgrid_plain_total", "Plain.",
                                                        PG_METRIC_COUNTER, NULL, 0, NULL, 0},
                                  &plain, &d), PG_OK);
  pg_metric_inc(c, 0);
  pg_metric_inc(c, 0);
  pg_metric_add(c, 2, 40);
  pg_metric_set(g, 0, -7);
  pg_metric_add_gauge(g, 0, 3);
  size_t pos[] = {1, 2};
  size_t s = pg_metric_series(g2, pos);
  assert_int_equal(s, 5);
  pg_metric_set(g2, s, 9);
  pg_metric_set(plain, 0, 5); /* a count kept elsewhere */
  pg_metric_add(plain, 0, UINT64_MAX - 5);
  /* misuse is ignored: out of range, wrong type, NULL */
  pg_metric_inc(c, 3);
  pg_metric_inc(c, SIZE_MAX);
  pg_metric_inc(g, 0);
  pg_metric_inc(NULL, 0);
  pg_metric_observe(c, 0, 1.0);
  assert_int_equal(pg_metric_value(c, 0), 2);
  assert_int_equal(pg_metric_value(g, 0), -4);
  assert_int_equal(pg_metric_value_pos(c, 0, "invalid"), 2);
  assert_true(pg_metric_value_pos(c, 0, "other") == SIZE_MAX);
  size_t bad[] = {2, 0};
  assert_true(pg_metric_series(g2, bad) == SIZE_MAX);
  assert_render(m, "# HELP p2pgrid_msgs_total Messages received.\n"
                   "# TYPE p2pgrid_msgs_total counter\n"
                   "p2pgrid_msgs_total{outcome=\"stored\"} 2\n"
                   "p2pgrid_msgs_total{outcome=\"duplicate\"} 0\n"
                   "p2pgrid_msgs_total{outcome=\"invalid\"} 40\n"
                   "# HELP p2pgrid_index Index.\n"
                   "# TYPE p2pgrid_index gauge\n"
                   "p2pgrid_index -4\n"
                   "# HELP p2pgrid_two Two labels.\n"
                   "# TYPE p2pgrid_two gauge\n"
                   "p2pgrid_two{kind=\"a\",outcome=\"stored\"} 0\n"
                   "p2pgrid_two{kind=\"a\",outcome=\"duplicate\"} 0\n"
                   "p2pgrid_two{kind=\"a\",outcome=\"invalid\"} 0\n"
                   "p2pgrid_two{kind=\"b\",outcome=\"stored\"} 0\n"
                   "p2pgrid_two{kind=\"b\",outcome=\"duplicate\"} 0\n"
                   "p2pgrid_two{kind=\"b\",outcome=\"invalid\"} 9\n"
                   "# HELP p2pgrid_plain_total Plain.\n"
                   "# TYPE p2pgrid_plain_total counter\n"
                   "p2pgrid_plain_total 18446744073709551615\n");
  pg_metrics_free(m);
}

static void test_histogram_text(void **state) {
  (void)state;
  static const char *const route[] = {"info", "tips"};
  pg_metric_label l[] = {{"route", route, 2}};
  static const double b[] = {0.005, 0.1, 1, 2.5};
  pg_metrics *m = pg_metrics_new();
  pg_metric *h = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"p2pgrid_seconds", "Latency.",
                                                        PG_METRIC_HISTOGRAM, l, 1, b, 4},
                                  &h, &d), PG_OK);
  pg_metric_observe(h, 1, 0.005); /* on a bound: counts in that bucket (le) */
  pg_metric_observe(h, 1, 0.05);
  pg_metric_observe(h, 1, 2);
  pg_metric_observe(h, 1, 7.25);
  pg_metric_observe(h, 1, NAN); /* ignored */
  pg_metric_observe(h, 1, INFINITY);
  assert_render(m, "# HELP p2pgrid_seconds Latency.\n"
                   "# TYPE p2pgrid_seconds histogram\n"
                   "p2pgrid_seconds_bucket{route=\"info\",le=\"0.005\"} 0\n"
                   "p2pgrid_seconds_bucket{route=\"info\",le=\"0.1\"} 0\n"
                   "p2pgrid_seconds_bucket{route=\"info\",le=\"1\"} 0\n"
                   "p2pgrid_seconds_bucket{route=\"info\",le=\"2.5\"} 0\n"
                   "p2pgrid_seconds_bucket{route=\"info\",le=\"+Inf\"} 0\n"
                   "p2pgrid_seconds_sum{route=\"info\"} 0\n"
                   "p2pgrid_seconds_count{route=\"info\"} 0\n"
                   "p2pgrid_seconds_bucket{route=\"tips\",le=\"0.005\"} 1\n"
                   "p2pgrid_seconds_bucket{route=\"tips\",le=\"0.1\"} 2\n"
                   "p2pgrid_seconds_bucket{route=\"tips\",le=\"1\"} 2\n"
                   "p2pgrid_seconds_bucket{route=\"tips\",le=\"2.5\"} 3\n"
                   "p2pgrid_seconds_bucket{route=\"tips\",le=\"+Inf\"} 4\n"
                   "p2pgrid_seconds_sum{route=\"tips\"} 9.305\n"
                   "p2pgrid_seconds_count{route=\"tips\"} 4\n");
  pg_metrics_free(m);
  /* without labels: le alone */
  m = pg_metrics_new();
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"x_seconds", "X.", PG_METRIC_HISTOGRAM,
                                                        NULL, 0, b, 1},
                                  &h, &d), PG_OK);
  pg_metric_observe(h, 0, 0.25);
  assert_render(m, "# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
                   "x_seconds_bucket{le=\"0.005\"} 0\nx_seconds_bucket{le=\"+Inf\"} 1\n"
                   "x_seconds_sum 0.25\nx_seconds_count 1\n");
  pg_metrics_free(m);
}

static void test_escaping(void **state) {
  (void)state;
  static const char *const v[] = {"a\\b", "say \"hi\"", "two\nlines"};
  pg_metric_label l[] = {{"what", v, 3}};
  pg_metrics *m = pg_metrics_new();
  pg_metric *g = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"esc", "Back\\slash, \"quotes\" and\nnewline.",
                                                        PG_METRIC_GAUGE, l, 1, NULL, 0},
                                  &g, &d), PG_OK);
  pg_metric_set(g, 2, 1);
  /* HELP escapes \ and newline only; label values also " */
  assert_render(m, "# HELP esc Back\\\\slash, \"quotes\" and\\nnewline.\n"
                   "# TYPE esc gauge\n"
                   "esc{what=\"a\\\\b\"} 0\n"
                   "esc{what=\"say \\\"hi\\\"\"} 0\n"
                   "esc{what=\"two\\nlines\"} 1\n");
  pg_metrics_free(m);
}

static void test_names_refused(void **state) {
  (void)state;
  static const char *const one[] = {"x"};
  static const char *const many[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                                     "11", "12", "13", "14", "15", "16"};
  static const double inc[] = {1, 2}, dec[] = {2, 1};
  double inf[] = {1, INFINITY};
  pg_metric_label le[] = {{"le", one, 1}};
  pg_metric_label dunder[] = {{"__x", one, 1}};
  pg_metric_label badl[] = {{"a-b", one, 1}};
  pg_metric_label twice[] = {{"a", one, 1}, {"a", one, 1}};
  pg_metric_label empty[] = {{"a", one, 0}};
  static const char *const dup[] = {"x", "y", "x"};
  pg_metric_label dupl[] = {{"a", dup, 3}};
  pg_metric_label big[] = {{"a", many, 17}, {"b", many, 16}};
  pg_metrics *m = pg_metrics_new();
  pg_diag d = {{0}};
  struct {
    pg_metric_desc desc;
    int rc;
    const char *why;
  } cases[] = {
      {{"1abc", "h", PG_METRIC_GAUGE, NULL, 0, NULL, 0}, PG_ERR_INVALID, "bad metric name"},
      {{"a-b", "h", PG_METRIC_GAUGE, NULL, 0, NULL, 0}, PG_ERR_INVALID, "bad metric name"},
      {{"", "h", PG_METRIC_GAUGE, NULL, 0, NULL, 0}, PG_ERR_INVALID, "bad metric name"},
      {{"c", "h", PG_METRIC_COUNTER, NULL, 0, NULL, 0}, PG_ERR_INVALID, "must end in _total"},
      {{"g", NULL, PG_METRIC_GAUGE, NULL, 0, NULL, 0}, PG_ERR_INVALID, "no help"},
      {{"h", "h", PG_METRIC_HISTOGRAM, le, 1, inc, 2}, PG_ERR_INVALID, "label 'le'"},
      {{"h", "h", PG_METRIC_HISTOGRAM, NULL, 0, dec, 2}, PG_ERR_INVALID, "increasing"},
      {{"h", "h", PG_METRIC_HISTOGRAM, NULL, 0, inf, 2}, PG_ERR_INVALID, "finite"},
      {{"h", "h", PG_METRIC_HISTOGRAM, NULL, 0, NULL, 0}, PG_ERR_INVALID, "buckets"},
      {{"g", "h", PG_METRIC_GAUGE, dunder, 1, NULL, 0}, PG_ERR_INVALID, "bad label name"},
      {{"g", "h", PG_METRIC_GAUGE, badl, 1, NULL, 0}, PG_ERR_INVALID, "bad label name"},
      {{"g", "h", PG_METRIC_GAUGE, twice, 2, NULL, 0}, PG_ERR_INVALID, "twice"},
      {{"g", "h", PG_METRIC_GAUGE, empty, 1, NULL, 0}, PG_ERR_INVALID, "no values"},
      {{"g", "h", PG_METRIC_GAUGE, dupl, 1, NULL, 0}, PG_ERR_INVALID, "a value twice"},
      {{"g", "h", PG_METRIC_GAUGE, big, 2, NULL, 0}, PG_ERR_TOO_LARGE, "series"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pg_metric *f = (pg_metric *)1;
    d.msg[0] = 0;
    assert_int_equal(pg_metrics_add(m, &cases[i].desc, &f, &d), cases[i].rc);
    assert_null(f);
    assert_non_null(strstr(d.msg, cases[i].why));
  }
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"ok:name_total", "h", PG_METRIC_COUNTER,
                                                        NULL, 0, NULL, 0},
                                  NULL, &d), PG_OK);
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"ok:name_total", "h", PG_METRIC_COUNTER,
                                                        NULL, 0, NULL, 0},
                                  NULL, &d), PG_ERR_EXISTS);
  /* nothing refused was rendered */
  assert_render(m, "# HELP ok:name_total h\n# TYPE ok:name_total counter\nok:name_total 0\n");
  pg_metrics_free(m);
}

static void test_render_cap(void **state) {
  (void)state;
  pg_metrics *m = pg_metrics_new();
  pg_diag d = {{0}};
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"g", "a gauge", PG_METRIC_GAUGE, NULL, 0,
                                                        NULL, 0},
                                  NULL, &d), PG_OK);
  pg_buf b;
  pg_buf_init(&b, 10);
  assert_int_equal(pg_metrics_render(m, &b), PG_ERR_TOO_LARGE);
  pg_buf_free(&b);
  pg_metrics_free(m);
}

typedef struct {
  pg_metric *c, *h;
} shared;

static void *hammer(void *arg) {
  shared *s = arg;
  for (int i = 0; i < 100000; i++) {
    pg_metric_inc(s->c, (size_t)(i & 1));
    pg_metric_observe(s->h, 0, 0.5);
  }
  return NULL;
}

/* Updates from 4 threads while another renders: no count lost. */
static void test_threads(void **state) {
  (void)state;
  static const char *const v[] = {"a", "b"};
  pg_metric_label l[] = {{"k", v, 2}};
  static const double bk[] = {1};
  pg_metrics *m = pg_metrics_new();
  shared s = {0};
  pg_diag d = {{0}};
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"c_total", "c", PG_METRIC_COUNTER, l, 1,
                                                        NULL, 0},
                                  &s.c, &d), PG_OK);
  assert_int_equal(pg_metrics_add(m, &(pg_metric_desc){"h_seconds", "h", PG_METRIC_HISTOGRAM,
                                                        NULL, 0, bk, 1},
                                  &s.h, &d), PG_OK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
  for (int i = 0; i < 20; i++) {
    pg_buf b;
    pg_buf_init(&b, 1 << 16);
    assert_int_equal(pg_metrics_render(m, &b), PG_OK);
    pg_buf_free(&b);
  }
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(pg_metric_value(s.c, 0), 200000);
  assert_int_equal(pg_metric_value(s.c, 1), 200000);
  assert_render(m, "# HELP c_total c\n# TYPE c_total counter\nc_total{k=\"a\"} 200000\n"
                   "c_total{k=\"b\"} 200000\n# HELP h_seconds h\n# TYPE h_seconds histogram\n"
                   "h_seconds_bucket{le=\"1\"} 400000\nh_seconds_bucket{le=\"+Inf\"} 400000\n"
                   "h_seconds_sum 200000\nh_seconds_count 400000\n");
  pg_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counter_gauge_text), cmocka_unit_test(test_histogram_text),
      cmocka_unit_test(test_escaping),           cmocka_unit_test(test_names_refused),
      cmocka_unit_test(test_render_cap),         cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
