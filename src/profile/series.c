/* Measured power series from `time,power_W` CSV files, exactly integrated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

typedef __int128 i128;

struct pg_series {
  pg_series_opts o;
  size_t n;
  int64_t *t;    /* ms, strictly increasing */
  int64_t *p;    /* mW */
  i128 *cum;     /* 2 x mW*ms from t[0] to t[i]; cum[n] = total over [t0, end) */
  int64_t end;   /* end of the covered span */
};

#define UNITS_PER_WH ((i128)7200000000) /* 2 x 3.6e9 mW*ms */
#define MAX_ABS_MS ((int64_t)1 << 50)   /* about 35000 years */
#define MAX_GAP_MS ((int64_t)1 << 40)   /* keeps every product below 2^126 */

static i128 floor_div128(i128 a, i128 b) {
  i128 q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

enum { TIME_AUTO, TIME_S, TIME_MS };

/* Header "time,<value column>": the first column time, time_s or time_ms;
 * the value column power_W (vcol NULL; also power_w) or exactly vcol. */
static int parse_header(const pg_csv_field *f, size_t k, const char *name, long ln, const char *vcol,
                        int *tmode, pg_diag *d) {
  const char *want = vcol ? vcol : "power_W";
  if (k != 2)
    return pg_fail(d, PG_ERR_INVALID, "%s:%ld: header must be 'time,%s'", name, ln, want);
  if (pg_csv_eq(f[0], "time")) *tmode = TIME_AUTO;
  else if (pg_csv_eq(f[0], "time_s")) *tmode = TIME_S;
  else if (pg_csv_eq(f[0], "time_ms")) *tmode = TIME_MS;
  else return pg_fail(d, PG_ERR_INVALID, "%s:%ld: header must be 'time,%s' (first column time, time_s or time_ms)", name, ln, want);
  if (vcol ? !pg_csv_eq(f[1], vcol) : !pg_csv_eq(f[1], "power_W") && !pg_csv_eq(f[1], "power_w"))
    return pg_fail(d, PG_ERR_INVALID, "%s:%ld: header must be 'time,%s' (second column %s)", name, ln, want, want);
  return PG_OK;
}

void pg_series_free(pg_series *s) {
  if (!s) return;
  free(s->t);
  free(s->p);
  free(s->cum);
  free(s);
}

int pg_series_parse(const void *data, size_t len, const char *name, const pg_series_opts *opts,
                    pg_series **out, pg_diag *d) {
  return pg_series_parse_values(data, len, name, opts, NULL, out, d);
}

int pg_series_parse_values(const void *data, size_t len, const char *name,
                           const pg_series_opts *opts, const char *vcol, pg_series **out,
                           pg_diag *d) {
  if (!name) name = "<series>";
  if (len > PG_SERIES_MAX_FILE)
    return pg_fail(d, PG_ERR_TOO_LARGE, "%s: larger than %u bytes", name, PG_SERIES_MAX_FILE);
  pg_csv c;
  pg_csv_init(&c, data, len, name, PG_SERIES_MAX_LINE);
  pg_csv_field f[2];
  char show[64];
  size_t k;
  int tmode = TIME_AUTO;
  int rc = pg_csv_record(&c, f, 2, &k, d);
  if (rc == PG_ERR_NOT_FOUND)
    rc = pg_fail(d, PG_ERR_TRUNCATED, "%s: empty file (expected a header time,%s)", name,
                 vcol ? vcol : "power_W");
  if (rc == PG_OK) rc = parse_header(f, k, name, c.line, vcol, &tmode, d);
  if (rc != PG_OK) {
    pg_csv_free(&c);
    return rc;
  }
  const char *noun = vcol ? vcol : "power", *unit = vcol ? "" : " of W";

  pg_series *s = calloc(1, sizeof *s);
  if (!s) rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  else if ((s->o = opts ? *opts : (pg_series_opts){PG_SERIES_STEP, false}).interp != PG_SERIES_STEP &&
           s->o.interp != PG_SERIES_LINEAR)
    rc = pg_fail(d, PG_ERR_INVALID, "%s: unknown interpolation", name);
  if (rc) goto fail;
  size_t cap = 0;
  while ((rc = pg_csv_record(&c, f, 2, &k, d)) == PG_OK) {
    if (k != 2) {
      rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: expected 2 columns (time,%s), found %s", name, c.line,
                   vcol ? vcol : "power_W", k > 2 ? "more" : "1");
      goto fail;
    }
    int64_t t;
    bool ok;
    if (tmode == TIME_AUTO && f[0].len > 10 && f[0].p[4] == '-') {
      ok = pg_iso8601_parse_utc(f[0].p, f[0].len, &t) == PG_OK;
    } else {
      uint64_t u = 0;
      ok = pg_parse_u64(f[0].p, f[0].len, 16, &u); /* 16 digits: no overflow below */
      t = (int64_t)u;
      if (ok && (tmode == TIME_S || (tmode == TIME_AUTO && t < 100000000000))) t *= 1000;
    }
    if (!ok || t > MAX_ABS_MS) {
      pg_csv_show(f[0], show, sizeof show);
      rc = pg_fail(d, PG_ERR_INVALID,
                   "%s:%ld: time '%s' is not ISO-8601 UTC (2025-01-01T00:15:00Z) or Unix %s", name,
                   c.line, show, tmode == TIME_S ? "seconds" : tmode == TIME_MS ? "ms" : "seconds/ms");
      goto fail;
    }
    int64_t mw;
    if (f[1].len > 0 && f[1].p[0] == '-') {
      pg_csv_show(f[1], show, sizeof show);
      rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: %s '%s' is negative", name, c.line, noun, show);
      goto fail;
    }
    if (pg_csv_decimal_milli(f[1], &mw) != PG_OK || mw > (int64_t)(PG_SERIES_MAX_W * 1000)) {
      pg_csv_show(f[1], show, sizeof show);
      rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: %s '%s' is not a decimal number%s (0..1e9)", name,
                   c.line, noun, show, unit);
      goto fail;
    }
    if (s->n > 0 && t <= s->t[s->n - 1]) {
      rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: time is not after the previous line's", name, c.line);
      goto fail;
    }
    if (s->n > 0 && t - s->t[s->n - 1] > MAX_GAP_MS) {
      rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: more than 34 years after the previous sample", name, c.line);
      goto fail;
    }
    if (s->n == cap) {
      if (cap == PG_SERIES_MAX_ROWS) {
        rc = pg_fail(d, PG_ERR_TOO_LARGE, "%s:%ld: more than %u samples", name, c.line, PG_SERIES_MAX_ROWS);
        goto fail;
      }
      size_t cap_p = cap;
      if (pg_grow(&s->t, &cap, s->n + 1, sizeof *s->t, PG_SERIES_MAX_ROWS) != PG_OK ||
          pg_grow(&s->p, &cap_p, s->n + 1, sizeof *s->p, PG_SERIES_MAX_ROWS) != PG_OK) {
        rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
      }
    }
    s->t[s->n] = t;
    s->p[s->n] = mw;
    s->n++;
  }
  if (rc != PG_ERR_NOT_FOUND) goto fail;
  pg_csv_free(&c);
  if (s->n < 2) {
    rc = pg_fail(d, PG_ERR_TRUNCATED, "%s: needs at least 2 samples, has %zu", name, s->n);
    goto fail;
  }
  s->cum = malloc((s->n + 1) * sizeof *s->cum);
  if (!s->cum) {
    rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
    goto fail;
  }
  s->cum[0] = 0;
  for (size_t i = 0; i + 1 < s->n; i++) {
    i128 dt = s->t[i + 1] - s->t[i];
    s->cum[i + 1] = s->cum[i] + (s->o.interp == PG_SERIES_STEP ? 2 * (i128)s->p[i] * dt
                                                              : ((i128)s->p[i] + s->p[i + 1]) * dt);
  }
  if (s->o.interp == PG_SERIES_STEP) {
    int64_t last = s->t[s->n - 1] - s->t[s->n - 2];
    s->end = s->t[s->n - 1] + last;
    s->cum[s->n] = s->cum[s->n - 1] + 2 * (i128)s->p[s->n - 1] * last;
  } else {
    s->end = s->t[s->n - 1];
    s->cum[s->n] = s->cum[s->n - 1];
  }
  *out = s;
  return PG_OK;
fail:
  pg_csv_free(&c);
  pg_series_free(s);
  return rc;
}

int pg_series_load(const char *path, const pg_series_opts *opts, pg_series **out, pg_diag *d) {
  return pg_series_load_values(path, opts, NULL, out, d);
}

int pg_series_load_values(const char *path, const pg_series_opts *opts, const char *value_col,
                          pg_series **out, pg_diag *d) {
  uint8_t *buf;
  size_t len;
  int rc = pg_read_file_capped(path, PG_SERIES_MAX_FILE, &buf, &len, d);
  if (rc != PG_OK) return rc;
  rc = pg_series_parse_values(buf, len, path, opts, value_col, out, d);
  free(buf);
  return rc;
}

size_t pg_series_count(const pg_series *s) { return s->n; }
bool pg_series_sample(const pg_series *s, size_t i, int64_t *t_ms, int64_t *milli) {
  if (i >= s->n) return false;
  *t_ms = s->t[i];
  *milli = s->p[i];
  return true;
}
int64_t pg_series_start_ms(const pg_series *s) { return s->t[0]; }
int64_t pg_series_end_ms(const pg_series *s) { return s->end; }

/* Segment i with t[i] <= t < t[i+1] (i = n-1 for the STEP tail). */
static size_t segment(const pg_series *s, int64_t t) {
  size_t lo = 0, hi = s->n; /* t[lo] <= t < t[hi] (t[n] = +inf) */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->t[mid] <= t) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Maps t into [t0, end); *k = number of whole periods (0 without wrap).
 * Returns false when t is outside the span and not wrapping (*before tells
 * which side). */
static bool map_time(const pg_series *s, int64_t t, int64_t *tm, i128 *k, bool *before) {
  int64_t t0 = s->t[0];
  *k = 0;
  if (s->o.wrap) {
    int64_t per = s->end - t0;
    i128 off = (i128)t - t0;
    i128 kk = floor_div128(off, per);
    *k = kk;
    *tm = (int64_t)(t0 + (off - kk * per));
    return true;
  }
  *before = t < t0;
  *tm = t;
  return t >= t0 && t < s->end;
}

double pg_series_power_w(const pg_series *s, int64_t t) {
  int64_t tm;
  i128 k;
  bool before;
  if (!map_time(s, t, &tm, &k, &before)) return 0;
  size_t i = segment(s, tm);
  if (s->o.interp == PG_SERIES_STEP || i + 1 >= s->n) return (double)s->p[i] / 1000;
  double f = (double)(tm - s->t[i]) / (double)(s->t[i + 1] - s->t[i]);
  return ((double)s->p[i] + f * (double)(s->p[i + 1] - s->p[i])) / 1000;
}

/* 2 x mW*ms from t[0] to t (floor of the exact value: monotone). */
static i128 cum_units(const pg_series *s, int64_t t) {
  int64_t tm;
  i128 k;
  bool before;
  if (!map_time(s, t, &tm, &k, &before)) return before ? 0 : s->cum[s->n];
  size_t i = segment(s, tm);
  i128 tau = tm - s->t[i];
  i128 part;
  if (s->o.interp == PG_SERIES_STEP || i + 1 >= s->n) {
    part = 2 * (i128)s->p[i] * tau;
  } else {
    i128 dt = s->t[i + 1] - s->t[i];
    part = floor_div128(2 * (i128)s->p[i] * tau * dt + ((i128)s->p[i + 1] - s->p[i]) * tau * tau, dt);
  }
  return (i128)k * s->cum[s->n] + s->cum[i] + part;
}

double pg_series_energy_wh(const pg_series *s, int64_t from, int64_t to) {
  if (to <= from) return 0;
  i128 e = cum_units(s, to) - cum_units(s, from);
  return (double)e / 7.2e9;
}

int64_t pg_series_cum_wh(const pg_series *s, int64_t t) {
  return (int64_t)floor_div128(cum_units(s, t) + UNITS_PER_WH / 2, UNITS_PER_WH);
}
