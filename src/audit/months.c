/* months.c — the monthly items of a tariff re-derived from the Tangle
 * (audit_internal.h "months"): per consumer and month the re-settled slot
 * charges and the largest reading, and at the first settled slot of a new
 * month the month bills the grid must have made for the month before, as
 * gridop.c bill_months makes them with pg_tariff_monthly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

typedef struct acc {
  char id[PG_GRID_MAX_ID + 1];
  int64_t month; /* year * 12 + month - 1, local */
  int64_t energy, fees, peak_wh;
  bool reading;
} acc;

struct pg_audit_months {
  const pg_audit_export *e;
  acc *v;
  size_t n, cap;
  size_t *slots; /* open addressing over v: index + 1, 0 = empty */
  size_t nslots;
  int64_t prev; /* month of the last settled slot under a tariff, -1 */
};

static uint64_t hash(const char *id, int64_t month) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)month;
  for (; *id; id++) h = (h ^ (unsigned char)*id) * 1099511628211ULL;
  return h;
}

static int rehash(pg_audit_months *m, size_t nslots) {
  size_t *s = calloc(nslots, sizeof *s);
  if (!s) return PG_ERR_NOMEM;
  for (size_t i = 0; i < m->n; i++) {
    size_t h = (size_t)(hash(m->v[i].id, m->v[i].month) & (nslots - 1));
    while (s[h]) h = (h + 1) & (nslots - 1);
    s[h] = i + 1;
  }
  free(m->slots);
  m->slots = s, m->nslots = nslots;
  return PG_OK;
}

/* The entry of (id, month), made when missing; NULL when out of memory. */
static acc *entry(pg_audit_months *m, const char *id, int64_t month) {
  size_t h = 0;
  if (m->nslots)
    for (h = (size_t)(hash(id, month) & (m->nslots - 1)); m->slots[h];
         h = (h + 1) & (m->nslots - 1)) {
      acc *x = &m->v[m->slots[h] - 1];
      if (x->month == month && strcmp(x->id, id) == 0) return x;
    }
  if (2 * (m->n + 1) > m->nslots && rehash(m, m->nslots ? m->nslots * 2 : 64)) return NULL;
  acc *x = pg_audit_push(&m->v, &m->n, &m->cap, sizeof *x);
  if (!x) return NULL;
  snprintf(x->id, sizeof x->id, "%s", id);
  x->month = month;
  for (h = (size_t)(hash(id, month) & (m->nslots - 1)); m->slots[h]; h = (h + 1) & (m->nslots - 1))
    ;
  m->slots[h] = m->n;
  return x;
}

/* Drops the entries of months before `month` (billed or never to be). */
static int prune(pg_audit_months *m, int64_t month) {
  size_t w = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->v[i].month >= month) m->v[w++] = m->v[i];
  m->n = w;
  return m->nslots ? rehash(m, m->nslots) : PG_OK;
}

/* The tariff in force at slot k (NULL: none, or nothing billed monthly). */
static const pg_audit_tariff *tariff_for(const pg_audit_export *e, uint64_t k) {
  const pg_audit_tariff *t = NULL;
  for (size_t i = 0; i < e->n_tariffs; i++)
    if (e->tariffs[i].from_slot <= k) t = &e->tariffs[i];
  if (t && !pg_tariff_bills_monthly(&t->t)) t = NULL;
  return t;
}

static int64_t month_of(const pg_audit_export *e, const pg_audit_tariff *t, uint64_t slot) {
  pg_local_time lt;
  pg_local_time_of((int64_t)(slot * e->slot_ms), t->tz, &lt);
  return (int64_t)lt.year * 12 + lt.month - 1;
}

int pg_audit_months_new(const pg_audit_export *e, pg_audit_months **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return PG_ERR_NOMEM;
  (*out)->e = e;
  (*out)->prev = -1;
  return PG_OK;
}

void pg_audit_months_free(pg_audit_months *m) {
  if (!m) return;
  free(m->v), free(m->slots), free(m);
}

int pg_audit_months_reading(pg_audit_months *m, uint64_t k, const char *id, uint64_t slot,
                            int64_t wh) {
  const pg_audit_tariff *t = tariff_for(m->e, k);
  if (!t || !m->e->slot_ms) return PG_OK;
  acc *x = entry(m, id, month_of(m->e, t, slot));
  if (!x) return PG_ERR_NOMEM;
  x->reading = true;
  if (wh > x->peak_wh) x->peak_wh = wh;
  return PG_OK;
}

int pg_audit_months_charge(pg_audit_months *m, uint64_t k, const char *id, int64_t amount,
                           int64_t fee) {
  const pg_audit_tariff *t = tariff_for(m->e, k);
  if (!t || !m->e->slot_ms || (!amount && !fee)) return PG_OK;
  acc *x = entry(m, id, month_of(m->e, t, k));
  if (!x) return PG_ERR_NOMEM;
  x->energy += amount, x->fees += fee;
  return PG_OK;
}

int pg_audit_months_due(pg_audit_months *m, uint64_t k, pg_audit_month_bill **out, size_t *n,
                        pg_diag *d) {
  *out = NULL, *n = 0;
  const pg_audit_tariff *t = tariff_for(m->e, k);
  if (!t || !m->e->slot_ms) { /* the grid keeps no month without a tariff */
    m->prev = -1;
    return PG_OK;
  }
  int64_t cur = month_of(m->e, t, k), prev = m->prev;
  m->prev = cur;
  if (prev < 0 || prev == cur) return PG_OK;
  size_t cap = 0;
  for (size_t i = 0; i < m->n; i++) {
    const acc *x = &m->v[i];
    if (x->month != prev || !x->reading) continue;
    pg_tariff_month tm;
    int rc = pg_tariff_monthly(&t->t, x->energy, x->fees, x->peak_wh, m->e->slot_ms, &tm, d);
    if (rc) return rc;
    if (tm.monthly <= 0) continue;
    pg_audit_month_bill *b = pg_audit_push(out, n, &cap, sizeof *b);
    if (!b) return PG_ERR_NOMEM;
    snprintf(b->consumer, sizeof b->consumer, "%s", x->id);
    b->amount = tm.membership + tm.capacity, b->fee = tm.vat, b->owed = tm.monthly;
  }
  return prune(m, prev + 1);
}
