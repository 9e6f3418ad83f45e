/* Fuzz target: the grid operator's CSV (pg_dso_parse). A parsed file is
 * checked: rows sorted by (point, start) without repeats, starts on the
 * 15-minute grid, values 0..PG_DSO_MAX_WH or not reported, lines inside the
 * input; a failure leaves nothing behind and says why. Each parsed point's
 * series must sum consistently (pg_dso_series_sum over one and two periods). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/meter/dso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_diag d = {{0}};
  pg_dso_file f;
  if (pg_dso_parse(data, size, "fuzz", &f, &d) != PG_OK) {
    if (f.rows || f.n || !d.msg[0]) abort();
    return 0;
  }
  if (f.n == 0) abort();
  for (size_t i = 0; i < f.n; i++) {
    const pg_dso_row *r = &f.rows[i];
    size_t pl = strlen(r->point);
    if (pl == 0 || pl > PG_DSO_POINT_MAX || r->start_ms % PG_DSO_PERIOD_MS) abort();
    if (r->line < 2 || (size_t)r->line > size) abort();
    for (int q = 0; q < PG_DSO_NQTY; q++)
      if (r->wh[q] != PG_DSO_NONE && (r->wh[q] < 0 || r->wh[q] > PG_DSO_MAX_WH)) abort();
    if (i) {
      int c = strcmp(f.rows[i - 1].point, r->point);
      if (c > 0 || (c == 0 && f.rows[i - 1].start_ms >= r->start_ms)) abort();
    }
    if (i && strcmp(f.rows[i - 1].point, r->point) == 0) continue;
    pg_dso_series s;
    if (pg_dso_series_from_file(&f, r->point, PG_DSO_CONSUMPTION, &s, &d) != PG_OK) abort();
    if (s.n == 0 || s.start_ms[0] != r->start_ms) abort();
    int64_t one = 0, two = 0, next = 0;
    int rc1 = pg_dso_series_sum(&s, r->start_ms, r->start_ms + PG_DSO_PERIOD_MS, &one, NULL);
    if ((rc1 == PG_OK) != (s.wh[0] != PG_DSO_NONE) || (rc1 == PG_OK && one != s.wh[0])) abort();
    int rc2 = pg_dso_series_sum(&s, r->start_ms, r->start_ms + 2 * PG_DSO_PERIOD_MS, &two, NULL);
    int rc3 = pg_dso_series_sum(&s, r->start_ms + PG_DSO_PERIOD_MS,
                                r->start_ms + 2 * PG_DSO_PERIOD_MS, &next, NULL);
    if ((rc2 == PG_OK) != (rc1 == PG_OK && rc3 == PG_OK)) abort();
    if (rc2 == PG_OK && two != one + next) abort();
    pg_dso_series_free(&s);
  }
  pg_dso_file_free(&f);
  return 0;
}
