/* meter_csv.c — a meter reading a CSV file: a `time,power_W` series
 * (integrated exactly) or a BDEW standard load profile table. */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/meter/meter_profile.h"


typedef struct csv_meter {
  pg_meter base;
  pg_series *series;     /* time,power_W */
  pg_bdew_table *bdew;   /* or BDEW */
  pg_bdew_eval eval;
  pg_energy_integ integ;
} csv_meter;

void pg_meter_csv_opts_default(pg_meter_csv_opts *o) {
  *o = (pg_meter_csv_opts){.interp = PG_SERIES_STEP,
                           .wrap = true,
                           .annual_kwh = 3500,
                           .dynamise = true,
                           .holidays = true,
                           .tz = PG_TZ_BERLIN};
}

static double bdew_power(const void *ctx, int64_t t) {
  const csv_meter *m = ctx;
  return pg_bdew_power_w(m->bdew, &m->eval, t);
}

static int csv_energy(pg_meter *base, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  csv_meter *m = (csv_meter *)base;
  if (from >= to) return pg_fail(d, PG_ERR_INVALID, "empty window");
  if (to > (uint64_t)INT64_MAX) return pg_fail(d, PG_ERR_INVALID, "window end beyond int64 ms");
  if (m->series)
    *wh = pg_series_cum_wh(m->series, (int64_t)to) - pg_series_cum_wh(m->series, (int64_t)from);
  else
    *wh = pg_energy_integ_wh(&m->integ, (int64_t)from, (int64_t)to);
  return PG_OK;
}

static void csv_destroy(pg_meter *base) {
  csv_meter *m = (csv_meter *)base;
  pg_series_free(m->series);
  free(m->bdew);
  free(m);
}

static const pg_meter_ops csv_ops = {"csv", csv_energy, csv_destroy};

int pg_meter_csv_new(const char *path, const pg_meter_csv_opts *o, pg_meter **out, pg_diag *d) {
  pg_meter_csv_opts def;
  if (!o) {
    pg_meter_csv_opts_default(&def);
    o = &def;
  }
  if (!path) return pg_fail(d, PG_ERR_INVALID, "csv meter: no path");
  uint8_t *buf;
  size_t len;
  int rc = pg_read_file_capped(path, PG_SERIES_MAX_FILE, &buf, &len, d);
  if (rc) return rc;
  csv_meter *m = calloc(1, sizeof *m);
  if (!m) {
    free(buf);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  m->base.ops = &csv_ops;
  size_t skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  if (len - skip >= 7 && memcmp(buf + skip, ",Januar", 7) == 0) {
    if (!(o->annual_kwh > 0 && o->annual_kwh <= 1e9)) {
      rc = pg_fail(d, PG_ERR_INVALID, "csv meter: annual_kwh must be > 0 and at most 1e9");
    } else if (!(m->bdew = malloc(sizeof *m->bdew))) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    } else {
      rc = pg_bdew_parse(buf, len, path, m->bdew, d);
      m->eval = (pg_bdew_eval){o->annual_kwh, o->dynamise, o->holidays, o->tz};
      pg_energy_integ_init(&m->integ, bdew_power, m);
    }
  } else {
    pg_series_opts so = {o->interp, o->wrap};
    rc = pg_series_parse(buf, len, path, &so, &m->series, d);
  }
  free(buf);
  if (rc) {
    csv_destroy(&m->base);
    return rc;
  }
  *out = &m->base;
  return PG_OK;
}
