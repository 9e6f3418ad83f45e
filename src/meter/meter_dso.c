/* meter_dso.c — the meter kind "dso": a metering point's grid-operator
 * values (p2pgrid/meter/dso.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meter_internal.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/meter/dso.h"

#define RELOAD_MS 60000

typedef struct dso_meter {
  pg_meter base;
  pg_dso_series s;
  sqlite3 *db; /* NULL for a CSV file */
  char point[PG_DSO_POINT_MAX + 1];
  pg_dso_qty q;
  uint64_t loaded_ms; /* monotonic */
} dso_meter;

static int reload(dso_meter *m, pg_diag *d) {
  pg_dso_series s;
  int rc = pg_dso_series_load(m->db, m->point, m->q, &s, d);
  if (rc) return rc;
  pg_dso_series_free(&m->s);
  m->s = s;
  m->loaded_ms = pg_monotonic_ms();
  return PG_OK;
}

static int dso_energy(pg_meter *base, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  dso_meter *m = (dso_meter *)base;
  if (to > (uint64_t)INT64_MAX || from >= to)
    return pg_fail(d, PG_ERR_INVALID, "dso meter: bad window");
  int64_t missing = 0;
  int rc = pg_dso_series_sum(&m->s, (int64_t)from, (int64_t)to, wh, &missing);
  if (rc == PG_ERR_NOT_FOUND && m->db && pg_monotonic_ms() - m->loaded_ms >= RELOAD_MS) {
    rc = reload(m, d);
    if (rc) return rc;
    rc = pg_dso_series_sum(&m->s, (int64_t)from, (int64_t)to, wh, &missing);
  }
  if (rc == PG_ERR_INVALID)
    return pg_fail(d, rc, "dso meter %s: window [%llu, %llu) is not on the 15-minute grid",
                   m->point, (unsigned long long)from, (unsigned long long)to);
  if (rc == PG_ERR_NOT_FOUND) {
    char iso[32];
    pg_iso8601_utc(missing, iso, sizeof iso);
    return pg_fail(d, PG_ERR_UNAVAILABLE, "dso meter %s: no %s value for the quarter hour at %s",
                   m->point, pg_dso_qty_name(m->q), iso);
  }
  return rc;
}

static void dso_destroy(pg_meter *base) {
  dso_meter *m = (dso_meter *)base;
  pg_dso_series_free(&m->s);
  if (m->db) sqlite3_close(m->db);
  free(m);
}

static const pg_meter_ops dso_ops = {"dso", dso_energy, dso_destroy};

static bool is_sqlite(const char *path) {
  char head[16] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, head, sizeof head);
  close(fd);
  return n == (ssize_t)sizeof head && memcmp(head, "SQLite format 3", 16) == 0;
}

int pg_meter_dso_new(const char *file, const char *point, pg_dso_qty q, pg_meter **out,
                     pg_diag *d) {
  if (!file || !point || !out) return pg_fail(d, PG_ERR_INVALID, "dso meter: no file or point");
  if ((unsigned)q >= PG_DSO_NQTY) return pg_fail(d, PG_ERR_INVALID, "dso meter: unknown quantity");
  if (strlen(point) > PG_DSO_POINT_MAX)
    return pg_fail(d, PG_ERR_INVALID, "dso meter: metering point longer than %d bytes", PG_DSO_POINT_MAX);
  dso_meter *m = calloc(1, sizeof *m);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  m->base.ops = &dso_ops;
  snprintf(m->point, sizeof m->point, "%s", point);
  m->q = q;
  int rc;
  if (is_sqlite(file)) {
    rc = pg_dso_db_open(file, false, &m->db, d);
    if (!rc) rc = reload(m, d);
  } else {
    pg_dso_file f;
    rc = pg_dso_load_csv(file, &f, d);
    if (!rc) rc = pg_dso_series_from_file(&f, point, q, &m->s, d);
    pg_dso_file_free(&f);
  }
  if (!rc && m->s.n == 0)
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "dso meter: %.200s has no values of metering point %s", file,
                 point);
  if (rc) {
    dso_destroy(&m->base);
    return rc;
  }
  *out = &m->base;
  return PG_OK;
}

int pg_meter_dso_from_config(pg_config *c, const char *sec, pg_meter **out, pg_diag *d) {
  const char *file = NULL, *point = NULL, *qty = NULL;
  int rc;
  if ((rc = pg_meter_config_path(c, sec, "file", &file, d)) ||
      (rc = pg_config_require(c, sec, "point", d)) ||
      (rc = pg_config_require(c, sec, "quantity", d)) ||
      (rc = pg_config_get_str(c, sec, "point", NULL, &point, d)) ||
      (rc = pg_config_get_str(c, sec, "quantity", NULL, &qty, d)))
    return rc;
  pg_dso_qty q;
  if (pg_dso_qty_parse(qty, &q) != PG_OK)
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] quantity: '%.40s' is not consumption, generation or allocated",
                   sec, qty);
  pg_diag md = {{0}};
  rc = pg_meter_dso_new(file, point, q, out, &md);
  if (rc && rc != PG_ERR_NOMEM)
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] file: %s", sec, md.msg);
  if (rc) return pg_fail(d, rc, "%s", md.msg);
  return PG_OK;
}
