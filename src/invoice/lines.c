/* The invoice's lines and labels (invoice_internal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "invoice_internal.h"

static const char *const month_names[12] = {"January", "February", "March",     "April",
                                            "May",     "June",     "July",      "August",
                                            "September", "October", "November", "December"};

void inv_kwh(int64_t wh, char *buf, size_t cap) {
  uint64_t a = wh < 0 ? (uint64_t)(-(wh + 1)) + 1 : (uint64_t)wh;
  char digits[32], grouped[48];
  int nd = snprintf(digits, sizeof digits, "%" PRIu64, a / 1000);
  size_t g = 0;
  for (int i = 0; i < nd; i++) {
    if (i && (nd - i) % 3 == 0) grouped[g++] = ',';
    grouped[g++] = digits[i];
  }
  grouped[g] = '\0';
  snprintf(buf, cap, "%s%s.%03" PRIu64 " kWh", wh < 0 ? "-" : "", grouped, a % 1000);
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
  char a[48], b[48], det[160];
  size_t n = 0;
  inv_kwh(m->community_wh, a, sizeof a);
  inv_kwh(m->energy_wh, b, sizeof b);
  if (inv->producer) {
    snprintf(det, sizeof det, "%s of %s produced", a, b);
    add(out, &n, INV_ITEM, "Energy delivered to the community", det, m->energy);
    add(out, &n, INV_TOTAL, "Total credited to you", "", m->total);
    return n;
  }
  snprintf(det, sizeof det, "%s used, %s of it from the community", b, a);
  add(out, &n, INV_ITEM, "Energy", det, m->energy);
  add(out, &n, INV_ITEM, "Grid fees", "on community energy, per slot", m->fees);
  add(out, &n, INV_ITEM, "Membership fee", "one month", m->membership);
  char price[48], peak[48];
  pg_money_format(money, (int64_t)inv->tariff.capacity_price, price, sizeof price);
  inv_kwh(m->peak_w, peak, sizeof peak); /* W with three decimals of kW */
  char *sp = strstr(peak, " kWh");
  if (sp) snprintf(sp, sizeof peak - (size_t)(sp - peak), " kW");
  snprintf(det, sizeof det, "peak %s x %s per kW", peak, price);
  add(out, &n, INV_ITEM, "Capacity charge", det, m->capacity);
  add(out, &n, INV_SUBTOTAL, "Net amount", "", m->net);
  snprintf(det, sizeof det, "%u.%02u %% of the net amount", inv->tariff.vat_bp / 100,
           inv->tariff.vat_bp % 100);
  add(out, &n, INV_TAX, "VAT", det, m->vat);
  add(out, &n, INV_TOTAL, "Total", "", m->total);
  return n;
}

int64_t inv_chart_top(const pg_invoice *inv) {
  int64_t max = 1, top = 1000;
  for (int i = 0; i < inv->days; i++)
    if (inv->day_wh[i] > max) max = inv->day_wh[i];
  while (top < max && top < INT64_MAX / 5) { /* 1, 2, 5 x 10^k kWh */
    int64_t t = top;
    while (t >= 10) t /= 10;
    top = t == 2 ? top / 2 * 5 : top * 2;
  }
  return top;
}
