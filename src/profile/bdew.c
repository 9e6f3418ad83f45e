/* BDEW standard load profile tables (h25.csv layout) and their evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

static const char *const months[12] = {"Januar", "Februar", "M\xC3\xA4rz", "April",
                                       "Mai",    "Juni",    "Juli",        "August",
                                       "September", "Oktober", "November", "Dezember"};

#define NCOL 37

static int parse(pg_csv *c, const char *name, pg_bdew_table *out, pg_diag *d) {
  pg_csv_field f[NCOL];
  size_t n;
  char show[64];
  int rc;
  int type_of[36];

  /* line 1: months */
  if ((rc = pg_csv_record(c, f, NCOL, &n, d)) != PG_OK)
    return rc == PG_ERR_NOT_FOUND ? pg_fail(d, PG_ERR_TRUNCATED, "%s: empty file", name) : rc;
  if (n != NCOL)
    return pg_fail(d, PG_ERR_INVALID, "%s:1: expected 37 columns (an empty cell and 3 per month)", name);
  if (f[0].len != 0) return pg_fail(d, PG_ERR_INVALID, "%s:1: the first cell must be empty", name);
  for (int col = 0; col < 36; col++) {
    if (!pg_csv_eq(f[col + 1], months[col / 3])) {
      pg_csv_show(f[col + 1], show, sizeof show);
      return pg_fail(d, PG_ERR_INVALID, "%s:1: column %d: expected month '%s', found '%s'", name,
                     col + 2, col / 3 == 2 ? "Maerz" : months[col / 3], show);
    }
  }
  /* line 2: day types */
  if ((rc = pg_csv_record(c, f, NCOL, &n, d)) != PG_OK)
    return rc == PG_ERR_NOT_FOUND ? pg_fail(d, PG_ERR_TRUNCATED, "%s:2: missing the day-type line", name) : rc;
  if (n != NCOL)
    return pg_fail(d, PG_ERR_INVALID, "%s:2: expected 37 columns", name);
  if (!pg_csv_eq(f[0], "[kWh]")) return pg_fail(d, PG_ERR_INVALID, "%s:2: the first cell must be [kWh]", name);
  for (int m = 0; m < 12; m++) {
    bool seen[3] = {false, false, false};
    for (int j = 0; j < 3; j++) {
      pg_csv_field t = f[1 + 3 * m + j];
      int k = pg_csv_eq(t, "WT") ? 0 : pg_csv_eq(t, "SA") ? 1 : pg_csv_eq(t, "FT") ? 2 : -1;
      if (k < 0) {
        pg_csv_show(t, show, sizeof show);
        return pg_fail(d, PG_ERR_INVALID, "%s:2: column %d: day type '%s' is not SA, FT or WT", name, 2 + 3 * m + j, show);
      }
      if (seen[k])
        return pg_fail(d, PG_ERR_INVALID, "%s:2: column %d: day type repeated within month %d", name, 2 + 3 * m + j, m + 1);
      seen[k] = true;
      type_of[3 * m + j] = k;
    }
  }
  /* 96 quarter hours */
  pg_bdew_table *t = calloc(1, sizeof *t);
  if (!t) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  for (int q = 0; q < 96; q++) {
    if ((rc = pg_csv_record(c, f, NCOL, &n, d)) != PG_OK) {
      free(t);
      return rc == PG_ERR_NOT_FOUND
                 ? pg_fail(d, PG_ERR_TRUNCATED, "%s:%ld: ends after %d of 96 quarter hours", name, c->line, q)
                 : rc;
    }
    if (n != NCOL) {
      free(t);
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: expected 37 columns", name, c->line);
    }
    char want[48];
    int a = q * 15, b = (q + 1) * 15 % 1440;
    snprintf(want, sizeof want, "%02d:%02d-%02d:%02d", a / 60, a % 60, b / 60, b % 60);
    if (!pg_csv_eq(f[0], want)) {
      pg_csv_show(f[0], show, sizeof show);
      free(t);
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: expected quarter hour '%s', found '%s'", name, c->line, want, show);
    }
    for (int col = 0; col < 36; col++) {
      int64_t milli;
      if (pg_csv_decimal_milli(f[col + 1], &milli) != PG_OK || milli > 1000000000) {
        pg_csv_show(f[col + 1], show, sizeof show);
        free(t);
        return pg_fail(d, PG_ERR_INVALID,
                       "%s:%ld: column %d: '%s' is not a non-negative decimal number (at most 10^6)",
                       name, c->line, col + 2, show);
      }
      /* kWh per quarter hour per 1e6 kWh/a -> mean W per 1000 kWh/a */
      t->w[col / 3][type_of[col]][q] = 4.0 * (double)milli / 1000.0;
    }
  }
  rc = pg_csv_record(c, f, NCOL, &n, d); /* blank lines are skipped */
  if (rc == PG_OK)
    rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: unexpected data after the 96 quarter hours", name, c->line);
  if (rc != PG_ERR_NOT_FOUND) {
    free(t);
    return rc;
  }
  memcpy(out, t, sizeof *t);
  free(t);
  return PG_OK;
}

int pg_bdew_parse(const void *data, size_t len, const char *name, pg_bdew_table *out,
                  pg_diag *d) {
  if (!name) name = "<bdew>";
  if (len > PG_BDEW_MAX_FILE)
    return pg_fail(d, PG_ERR_TOO_LARGE, "%s: larger than %u bytes", name, PG_BDEW_MAX_FILE);
  pg_csv c;
  pg_csv_init(&c, data, len, name, 1024);
  int rc = parse(&c, name, out, d);
  pg_csv_free(&c);
  return rc;
}

int pg_bdew_load(const char *path, pg_bdew_table *out, pg_diag *d) {
  uint8_t *buf;
  size_t len;
  int rc = pg_read_file_capped(path, PG_BDEW_MAX_FILE, &buf, &len, d);
  if (rc != PG_OK) return rc;
  rc = pg_bdew_parse(buf, len, path, out, d);
  free(buf);
  return rc;
}

double pg_bdew_power_w(const pg_bdew_table *t, const pg_bdew_eval *e, int64_t t_ms) {
  pg_local_time lt;
  pg_local_time_of(t_ms, e->tz, &lt);
  pg_daytype k = pg_daytype_of(lt.year, lt.month, lt.day, e->holidays);
  int q = (int)(lt.ms_of_day / 900000);
  double p = t->w[lt.month - 1][k][q] * e->annual_kwh / 1000;
  if (e->dynamise) p *= pg_bdew_dynamisation(lt.doy);
  return p;
}
