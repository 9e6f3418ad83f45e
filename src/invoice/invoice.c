/* The invoice document model and the annex CSV (invoice.h). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/invoice/invoice.h"
#include "p2pgrid/sim/sim.h"

int pg_invoice_month_parse(const char *s, int *year, int *month) {
  if (!s || strlen(s) != 7 || s[4] != '-') return PG_ERR_INVALID;
  for (int i = 0; i < 7; i++)
    if (i != 4 && !isdigit((unsigned char)s[i])) return PG_ERR_INVALID;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0');
  if (y < 1970 || y > 9999 || m < 1 || m > 12) return PG_ERR_INVALID;
  *year = y, *month = m;
  return PG_OK;
}

static int days_in_month(int y, int m) {
  int64_t a = pg_days_from_civil(y, m, 1);
  int64_t b = m == 12 ? pg_days_from_civil(y + 1, 1, 1) : pg_days_from_civil(y, m + 1, 1);
  return (int)(b - a);
}

static void local_of(const pg_invoice *inv, uint64_t slot, pg_local_time *lt) {
  pg_local_time_of((int64_t)(slot * inv->slot_ms), inv->tz, lt);
}

bool pg_invoice_in_month(const pg_invoice *inv, uint64_t slot) {
  pg_local_time lt;
  local_of(inv, slot, &lt);
  return lt.year == inv->year && lt.month == inv->month;
}

void pg_invoice_free(pg_invoice *inv) {
  if (!inv) return;
  free(inv->slots);
  free(inv->day_wh);
  free(inv->day_community_wh);
  free(inv->payments);
  inv->slots = NULL, inv->day_wh = inv->day_community_wh = NULL, inv->payments = NULL;
  inv->n_slots = inv->n_payments = 0;
}

int pg_invoice_build(pg_invoice *inv, const pg_invoice_slot *slots, size_t n, pg_diag *d) {
  inv->slots = NULL, inv->day_wh = inv->day_community_wh = NULL, inv->payments = NULL;
  inv->n_slots = inv->n_payments = 0, inv->paid = 0;
  if (inv->month < 1 || inv->month > 12 || inv->slot_ms < 1000 || inv->slot_ms > 86400000)
    return pg_fail(d, PG_ERR_INVALID, "invoice: bad month or slot length");
  inv->days = days_in_month(inv->year, inv->month);
  inv->slots = malloc((n + 1) * sizeof *inv->slots);
  pg_tariff_slot *v = malloc((n + 1) * sizeof *v);
  inv->day_wh = calloc((size_t)inv->days, sizeof *inv->day_wh);
  inv->day_community_wh = calloc((size_t)inv->days, sizeof *inv->day_community_wh);
  int rc = PG_OK;
  if (!inv->slots || !v || !inv->day_wh || !inv->day_community_wh) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    pg_local_time lt;
    local_of(inv, slots[i].slot, &lt);
    if (lt.year != inv->year || lt.month != inv->month || (i && slots[i].slot <= slots[i - 1].slot)) {
      rc = pg_fail(d, PG_ERR_INVALID, "invoice of %s: slot %" PRIu64 " is not in %04d-%02d or not in order",
                   inv->member_id, slots[i].slot, inv->year, inv->month);
      goto out;
    }
    inv->slots[i] = slots[i];
    v[i] = slots[i].v;
    inv->day_wh[lt.day - 1] += slots[i].v.energy_wh;
    inv->day_community_wh[lt.day - 1] += slots[i].v.community_wh;
  }
  inv->n_slots = n;
  rc = inv->producer ? pg_tariff_producer_month(v, n, &inv->m, d)
                     : pg_tariff_consumer_month(&inv->tariff, v, n, inv->slot_ms, &inv->m, d);
out:
  free(v);
  if (rc) pg_invoice_free(inv);
  return rc;
}

int pg_invoice_add_payment(pg_invoice *inv, const pg_invoice_payment *p, pg_diag *d) {
  pg_invoice_payment *np = realloc(inv->payments, (inv->n_payments + 1) * sizeof *np);
  if (!np) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  inv->payments = np;
  np[inv->n_payments++] = *p;
  inv->paid += p->amount;
  return PG_OK;
}

/* The annex: one row per slot, raw integers (Wh, base units) and the UTC start. */
int pg_invoice_csv(const pg_invoice *inv, pg_buf *out) {
  pg_buf_puts(out, "slot,start,energy_wh,community_wh,utility_wh,amount,fee,total\n");
  for (size_t i = 0; i < inv->n_slots; i++) {
    const pg_invoice_slot *s = &inv->slots[i];
    char iso[32], line[256];
    pg_sim_iso(s->slot * inv->slot_ms, iso, sizeof iso);
    snprintf(line, sizeof line,
             "%" PRIu64 ",%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
             "\n",
             s->slot, iso, s->v.energy_wh, s->v.community_wh, s->v.energy_wh - s->v.community_wh,
             s->v.amount, s->v.fee, s->v.amount + s->v.fee);
    pg_buf_puts(out, line);
  }
  return pg_buf_status(out);
}
