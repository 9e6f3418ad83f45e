/* dso_reconcile.c — the grid operator's values against our own readings
 * (p2pgrid/meter/dso.h): member map and the per-slot comparison. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/meter/dso.h"

#define MAP_MAX_FILE (4u << 20)
#define MAP_MAX_MEMBERS 100000u

static bool id_ok(const char *p, size_t n) {
  if (n < 1 || n > PG_DSO_POINT_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
          ch == '.' || ch == '_' || ch == '-'))
      return false;
  }
  return true;
}

/* Fills m from its three parts; what names the place for messages. */
static int member_set(pg_dso_member *m, pg_csv_field id, pg_csv_field pt, pg_csv_field q,
                      const char *what, pg_diag *d) {
  char show[64], qs[16];
  memset(m, 0, sizeof *m);
  if (!id_ok(id.p, id.len)) {
    pg_csv_show(id, show, sizeof show);
    return pg_fail(d, PG_ERR_INVALID, "%s: member '%s' is not 1..64 letters, digits, '.', '_' or '-'",
                   what, show);
  }
  if (!id_ok(pt.p, pt.len)) {
    pg_csv_show(pt, show, sizeof show);
    return pg_fail(d, PG_ERR_INVALID, "%s: metering point '%s' is not 1..64 letters, digits, '.', '_' or '-'",
                   what, show);
  }
  memcpy(m->id, id.p, id.len);
  memcpy(m->point, pt.p, pt.len);
  m->q = PG_DSO_CONSUMPTION;
  if (q.len == 0) return PG_OK;
  snprintf(qs, sizeof qs, "%.*s", (int)(q.len < 15 ? q.len : 15), q.p);
  if (q.len >= 15 || pg_dso_qty_parse(qs, &m->q) != PG_OK) {
    pg_csv_show(q, show, sizeof show);
    return pg_fail(d, PG_ERR_INVALID, "%s: quantity '%s' is not consumption, generation or allocated",
                   what, show);
  }
  return PG_OK;
}

int pg_dso_map_entry(const char *spec, pg_dso_member *out, pg_diag *d) {
  const char *eq = spec ? strchr(spec, '=') : NULL;
  if (!eq) return pg_fail(d, PG_ERR_INVALID, "'%.80s' is not MEMBER=POINT[:QUANTITY]", spec ? spec : "");
  const char *colon = strchr(eq + 1, ':');
  pg_csv_field id = {spec, (size_t)(eq - spec)};
  pg_csv_field pt = {eq + 1, colon ? (size_t)(colon - eq - 1) : strlen(eq + 1)};
  pg_csv_field q = {colon ? colon + 1 : "", colon ? strlen(colon + 1) : 0};
  if (colon && q.len == 0) return pg_fail(d, PG_ERR_INVALID, "'%.80s': no quantity after ':'", spec);
  char what[120];
  snprintf(what, sizeof what, "map entry '%.80s'", spec);
  return member_set(out, id, pt, q, what, d);
}

int pg_dso_map_parse(const void *data, size_t len, const char *name, pg_dso_member **out,
                     size_t *n, pg_diag *d) {
  *out = NULL;
  *n = 0;
  if (len > MAP_MAX_FILE) return pg_fail(d, PG_ERR_TOO_LARGE, "%s: larger than %u bytes", name, MAP_MAX_FILE);
  pg_csv c;
  pg_csv_init(&c, data, len, name, 1024);
  size_t ln;
  pg_csv_field f[4];
  c.sep = pg_csv_sniff_sep(&c);
  int rc = pg_csv_record(&c, f, 3, &ln, d);
  if (rc == PG_ERR_NOT_FOUND)
    rc = pg_fail(d, PG_ERR_TRUNCATED, "%s: empty (expected member,metering_point[,quantity])", name);
  size_t ncol = ln;
  if (!rc && ((ncol != 2 && ncol != 3) || !pg_csv_eq(f[0], "member") ||
              !pg_csv_eq(f[1], "metering_point") || (ncol == 3 && !pg_csv_eq(f[2], "quantity"))))
    rc = pg_fail(d, PG_ERR_INVALID, "%s:%ld: the header must be member,metering_point[,quantity]",
                 name, c.line);
  if (rc) {
    pg_csv_free(&c);
    return rc;
  }
  pg_dso_member *m = NULL;
  size_t cap = 0;
  size_t k;
  while (!rc && (rc = pg_csv_record(&c, f, 3, &k, d)) == PG_OK) {
    char what[300];
    snprintf(what, sizeof what, "%.200s:%ld", name, c.line);
    if (k != ncol) {
      rc = pg_fail(d, PG_ERR_INVALID, "%s: %zu fields, the header has %zu", what, k > 3 ? 4 : k, ncol);
      break;
    }
    if ((rc = pg_grow(&m, &cap, *n + 1, sizeof *m, MAP_MAX_MEMBERS)) != PG_OK) {
      rc = pg_fail(d, rc, "%s: %s", what, rc == PG_ERR_TOO_LARGE ? "too many members" : "out of memory");
      break;
    }
    rc = member_set(&m[*n], f[0], f[1], ncol == 3 ? f[2] : (pg_csv_field){"", 0}, what, d);
    for (size_t i = 0; !rc && i < *n; i++)
      if (strcmp(m[i].id, m[*n].id) == 0)
        rc = pg_fail(d, PG_ERR_INVALID, "%s: member %s is mapped twice", what, m[i].id);
    if (!rc) (*n)++;
  }
  if (rc == PG_ERR_NOT_FOUND) rc = *n ? PG_OK : pg_fail(d, PG_ERR_TRUNCATED, "%s: no members", name);
  pg_csv_free(&c);
  if (rc) {
    free(m);
    *n = 0;
    return rc;
  }
  *out = m;
  return PG_OK;
}

static int cmp_ours(const void *a, const void *b) {
  const pg_dso_ours *x = a, *y = b;
  int c = strcmp(x->member, y->member);
  if (c) return c;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static const pg_dso_ours *find_ours(const pg_dso_ours *o, size_t n, const char *m, int64_t slot) {
  pg_dso_ours key = {.slot = slot};
  snprintf(key.member, sizeof key.member, "%s", m);
  return bsearch(&key, o, n, sizeof *o, cmp_ours);
}

static void bprintf(pg_buf *b, const char *fmt, ...) PG_PRINTF(2, 3);
static void bprintf(pg_buf *b, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pg_buf_puts(b, line);
}

static void num_or_empty(int64_t v, char *buf, size_t cap) {
  if (v == PG_DSO_NONE) buf[0] = 0;
  else snprintf(buf, cap, "%lld", (long long)v);
}

/* One member over slots [s0, s1]. */
static int reconcile_member(sqlite3 *db, const pg_dso_member *m, uint64_t slot_ms, int64_t s0,
                            int64_t s1, const pg_dso_ours *ours, size_t n, int64_t tol,
                            pg_buf *csv, pg_dso_reconcile_result *r, pg_diag *d) {
  pg_dso_series s;
  int rc = pg_dso_series_load(db, m->point, m->q, &s, d);
  if (rc) return rc;
  for (int64_t k = s0; k <= s1; k++) {
    int64_t dso = PG_DSO_NONE, our = PG_DSO_NONE, v;
    if (pg_dso_series_sum(&s, k * (int64_t)slot_ms, (k + 1) * (int64_t)slot_ms, &v, NULL) == PG_OK)
      dso = v;
    const pg_dso_ours *o = find_ours(ours, n, m->id, k);
    if (o) our = o->wh;
    if (dso == PG_DSO_NONE && our == PG_DSO_NONE) continue;
    bool both = dso != PG_DSO_NONE && our != PG_DSO_NONE;
    int64_t diff = both ? our - dso : 0, mag = diff < 0 ? -diff : diff;
    bool beyond = !both || mag > tol;
    if (both) {
      r->slots++;
      if (mag > r->largest_wh || !r->largest_member[0]) {
        if (mag > r->largest_wh) r->largest_wh = mag;
        snprintf(r->largest_member, sizeof r->largest_member, "%s", m->id);
        r->largest_slot = k;
      }
    }
    if (beyond) r->differing++;
    if (!both) r->missing++;
    if (both && diff == 0) continue;
    char iso[32], a[24], b[24], c[24];
    pg_iso8601_utc(k * (int64_t)slot_ms, iso, sizeof iso);
    num_or_empty(dso, a, sizeof a);
    num_or_empty(our, b, sizeof b);
    num_or_empty(both ? diff : PG_DSO_NONE, c, sizeof c);
    bprintf(csv, "%s,%s,%s,%lld,%s,%s,%s,%s,%d\n", m->id, m->point, pg_dso_qty_name(m->q),
            (long long)k, iso, a, b, c, beyond ? 1 : 0);
  }
  pg_dso_series_free(&s);
  return pg_buf_status(csv) ? pg_fail(d, pg_buf_status(csv), "reconcile: the report is too large") : PG_OK;
}

int pg_dso_reconcile(sqlite3 *db, const pg_dso_member *map, size_t nmap, uint64_t slot_ms,
                     pg_dso_ours *ours, size_t n, int64_t tolerance_wh, pg_buf *csv,
                     pg_dso_reconcile_result *r, pg_diag *d) {
  *r = (pg_dso_reconcile_result){0};
  if (slot_ms == 0 || slot_ms % PG_DSO_PERIOD_MS || slot_ms > 86400000)
    return pg_fail(d, PG_ERR_INVALID, "reconcile: a slot of %llu ms is not a multiple of 15 minutes",
                   (unsigned long long)slot_ms);
  if (tolerance_wh < 0) return pg_fail(d, PG_ERR_INVALID, "reconcile: negative tolerance");
  pg_buf_puts(csv, "member,metering_point,quantity,slot,start,dso_wh,our_wh,diff_wh,beyond_tolerance\n");
  if (n == 0) return pg_fail(d, PG_ERR_NOT_FOUND, "reconcile: none of our readings to compare");
  qsort(ours, n, sizeof *ours, cmp_ours);
  int64_t s0 = ours[0].slot, s1 = ours[0].slot;
  for (size_t i = 1; i < n; i++) {
    if (ours[i].slot < s0) s0 = ours[i].slot;
    if (ours[i].slot > s1) s1 = ours[i].slot;
  }
  if (s0 < 0 || s1 > INT64_MAX / (int64_t)slot_ms - 1)
    return pg_fail(d, PG_ERR_INVALID, "reconcile: slot numbers out of range");
  r->members = nmap;
  for (size_t i = 0; i < nmap; i++) {
    int rc = reconcile_member(db, &map[i], slot_ms, s0, s1, ours, n, tolerance_wh, csv, r, d);
    if (rc) return rc;
  }
  return PG_OK;
}
