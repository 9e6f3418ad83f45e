/* Fuzz target: the exposition text of p2pgrid/base/metrics.h with arbitrary help
 * text and label values. The input is split at NUL bytes: the first part is
 * the help text, the next (up to 4) the values of one label; a family that
 * is refused (a value twice, none) must be refused without rendering
 * anything. Checks on what is rendered: every line ends in '\n' and no
 * line holds a raw newline of the input (so the text has exactly the lines
 * expected), the HELP line unescapes to the help text, every sample's label
 * value unescapes to its value, in order, and the value written is read
 * back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VALUES 4

/* Unescapes s[0..n) (\\, \n and, with quote, \") into out; false on a
 * lone backslash or an escape the format does not have. */
static int unescape(const char *s, size_t n, char *out, int quote) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\') {
      if (s[i] == '\n' || (quote && s[i] == '"')) return 0;
      out[o++] = s[i];
      continue;
    }
    if (++i == n) return 0;
    if (s[i] == '\\') out[o++] = '\\';
    else if (s[i] == 'n') out[o++] = '\n';
    else if (quote && s[i] == '"') out[o++] = '"';
    else return 0;
  }
  out[o] = '\0';
  return 1;
}

static const char *check_help(const char *t, const char *help, char *tmp) {
  static const char pre[] = "# HELP fz ";
  if (strncmp(t, pre, sizeof pre - 1) != 0) abort();
  t += sizeof pre - 1;
  const char *nl = strchr(t, '\n');
  if (!nl || !unescape(t, (size_t)(nl - t), tmp, 0) || strcmp(tmp, help) != 0) abort();
  t = nl + 1;
  static const char type[] = "# TYPE fz gauge\n";
  if (strncmp(t, type, sizeof type - 1) != 0) abort();
  return t + sizeof type - 1;
}

/* fz{v="<escaped value>"} <i> for each value, then the end of the text. */
static void check_samples(const char *t, const char *const *values, size_t n, char *tmp) {
  for (size_t i = 0; i < n; i++) {
    static const char pre[] = "fz{v=\"";
    if (strncmp(t, pre, sizeof pre - 1) != 0) abort();
    t += sizeof pre - 1;
    const char *end = t;
    while (*end && *end != '\n' && !(*end == '"' && end[1] == '}'))
      end += *end == '\\' && end[1] ? 2 : 1;
    if (*end != '"' || !unescape(t, (size_t)(end - t), tmp, 1) || strcmp(tmp, values[i]) != 0)
      abort();
    char num[32];
    snprintf(num, sizeof num, "\"} %zu\n", i);
    if (strncmp(end, num, strlen(num)) != 0) abort();
    t = end + strlen(num);
  }
  if (*t) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *copy = malloc(size + 1), *tmp = malloc(size + 1);
  if (!copy || !tmp) abort();
  memcpy(copy, data, size);
  copy[size] = '\0';
  const char *help = copy, *values[MAX_VALUES];
  size_t n = 0;
  for (size_t pos = strlen(copy); pos < size && n < MAX_VALUES;) {
    pos++; /* past the NUL */
    values[n++] = copy + pos;
    pos += strlen(copy + pos);
  }
  pg_metrics *m = pg_metrics_new();
  if (!m) abort();
  pg_metric_label l = {"v", values, n};
  pg_metric *f = NULL;
  pg_diag d;
  int rc = pg_metrics_add(m, &(pg_metric_desc){.name = "fz", .help = help,
                                               .type = PG_METRIC_GAUGE, .labels = &l,
                                               .nlabels = 1},
                          &f, &d);
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  if (rc == PG_OK) {
    for (size_t i = 0; i < n; i++) pg_metric_set(f, i, (int64_t)i);
    if (pg_metrics_render(m, &b) != PG_OK) abort();
    pg_buf_put_u8(&b, 0);
    const char *t = check_help((const char *)b.data, help, tmp);
    check_samples(t, values, n, tmp);
  } else {
    /* refused: no values, or one twice */
    int twice = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < i; j++) twice |= strcmp(values[i], values[j]) == 0;
    if (n > 0 && !twice) abort();
    if (pg_metrics_render(m, &b) != PG_OK || b.len != 0) abort();
  }
  pg_buf_free(&b);
  pg_metrics_free(m);
  free(copy);
  free(tmp);
  return 0;
}
