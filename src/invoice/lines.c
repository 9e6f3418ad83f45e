/* The invoice's lines and labels (invoice_internal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "invoice_internal.h"

static const char *const month_names[12] = {"January", "February", "March",     "April",
                                            "May",     "June",     "July",      "August",
                                            "September", "October", "November", "December"};

/* q / factor (a power of ten) with all its decimals, ',' groups, " unit". */
static void fixed(int64_t q, uint64_t factor, const char *unit, char *buf, size_t cap) {
  (void)pg_resource_format_scaled(q, factor, unit, true, buf, cap);
}

void inv_qty(const pg_invoice *inv, int64_t q, char *buf, size_t cap) {
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  fixed(q, r->display_factor, r->display_unit, buf, cap);
}

void inv_capacity_unit(const pg_invoice *inv, char *buf, size_t cap) {
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  if (r->flow_factor == PG_RESOURCE_PRICE_BASE) snprintf(buf, cap, "%s", r->flow_unit);
  else snprintf(buf, cap, "%s/h", r->price_unit);
}

void inv_peak(const pg_invoice *inv, int64_t peak, char *buf, size_t cap) {
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  if (pg_resource_is_electricity(r)) {
    snprintf(buf, cap, "%" PRId64 " W", peak);
    return;
  }
  /* thousandths of a flow unit, rounded down (peak < 2^52: no overflow) */
  int64_t milli = (int64_t)((__int128)peak * 1000 / (__int128)r->flow_factor);
  fixed(milli, 1000, r->flow_unit, buf, cap);
  if (r->flow_factor == PG_RESOURCE_PRICE_BASE) return;
  char per[PG_RESOURCE_UNIT_MAX + 4], alt[64];
  inv_capacity_unit(inv, per, sizeof per);
  fixed(peak, PG_RESOURCE_PRICE_BASE, per, alt, sizeof alt);
  size_t n = strlen(buf);
  if (n < cap) snprintf(buf + n, cap - n, " (%s)", alt);
}

void inv_noun(const pg_invoice *inv, bool capital, char *buf, size_t cap) {
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  snprintf(buf, cap, "%s", pg_resource_is_electricity(r) ? "energy" : r->name);
  if (capital && buf[0] >= 'a' && buf[0] <= 'z') buf[0] = (char)(buf[0] - 'a' + 'A');
}

void inv_period(const pg_invoice *inv, char *buf, size_t cap) {
  snprintf(buf, cap, "%s %04d", month_names[(inv->month - 1) % 12], inv->year);
}

const char *inv_kind(const pg_invoice *inv) { return inv->producer ? "Credit note" : "Invoice"; }

void inv_tz_label(pg_tz tz, char *buf, size_t cap) { snprintf(buf, cap, "%s", pg_tz_name(tz)); }

void inv_slot_time(const pg_invoice *inv, uint64_t ms, char *buf, size_t cap) {
  pg_local_time lt;
  pg_local_time_of((int64_t)ms, inv->tz, &lt);
  int64_t min = lt.ms_of_day / 60000;
  snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d", lt.year, lt.month, lt.day, (int)(min / 60),
           (int)(min % 60));
}

static void add(inv_line *out, size_t *n, int kind, const char *label, const char *detail,
                int64_t amount) {
  inv_line *l = &out[(*n)++];
  l->kind = kind;
  snprintf(l->label, sizeof l->label, "%s", label);
  snprintf(l->detail, sizeof l->detail, "%s", detail);
  l->amount = amount;
}

size_t inv_lines(const pg_invoice *inv, const pg_money *money, inv_line out[INV_MAX_LINES]) {
  const pg_tariff_month *m = &inv->m;
  char a[48], b[48], det[160], noun[PG_RESOURCE_NAME_MAX + 1], cap[PG_RESOURCE_NAME_MAX + 1],
      label[64];
  size_t n = 0;
  inv_qty(inv, m->community_wh, a, sizeof a);
  inv_qty(inv, m->energy_wh, b, sizeof b);
  inv_noun(inv, false, noun, sizeof noun);
  inv_noun(inv, true, cap, sizeof cap);
  if (inv->producer) {
    snprintf(det, sizeof det, "%s of %s produced", a, b);
    snprintf(label, sizeof label, "%s delivered to the community", cap);
    add(out, &n, INV_ITEM, label, det, m->energy);
    add(out, &n, INV_TOTAL, "Total credited to you", "", m->total);
    return n;
  }
  snprintf(det, sizeof det, "%s used, %s of it from the community", b, a);
  add(out, &n, INV_ITEM, cap, det, m->energy);
  snprintf(det, sizeof det, "on community %s, per slot", noun);
  add(out, &n, INV_ITEM, "Grid fees", det, m->fees);
  add(out, &n, INV_ITEM, "Membership fee", "one month", m->membership);
  char price[48], peak[80], per[PG_RESOURCE_UNIT_MAX + 4];
  pg_money_format(money, (int64_t)inv->tariff.capacity_price, price, sizeof price);
  inv_capacity_unit(inv, per, sizeof per);
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  if (pg_resource_is_electricity(r)) fixed(m->peak_w, 1000, per, peak, sizeof peak); /* kW */
  else inv_peak(inv, m->peak_w, peak, sizeof peak);
  snprintf(det, sizeof det, "peak %s x %s per %s", peak, price, per);
  add(out, &n, INV_ITEM, "Capacity charge", det, m->capacity);
  add(out, &n, INV_SUBTOTAL, "Net amount", "", m->net);
  snprintf(det, sizeof det, "%u.%02u %% of the net amount", inv->tariff.vat_bp / 100,
           inv->tariff.vat_bp % 100);
  add(out, &n, INV_TAX, "VAT", det, m->vat);
  add(out, &n, INV_TOTAL, "Total", "", m->total);
  return n;
}

int64_t inv_chart_top(const pg_invoice *inv) {
  int64_t max = 1, top = (int64_t)pg_resource_or_default(&inv->resource)->display_factor;
  for (int i = 0; i < inv->days; i++)
    if (inv->day_wh[i] > max) max = inv->day_wh[i];
  while (top < max && top < INT64_MAX / 5) { /* 1, 2, 5 x 10^k display units */
    int64_t t = top;
    while (t >= 10) t /= 10;
    top = t == 2 ? top / 2 * 5 : top * 2;
  }
  return top;
}
