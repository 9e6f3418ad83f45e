/* The invoice as PDF through cairo (invoice.h): A4 pages, the same lines as
 * the HTML page, the per-day chart drawn with cairo, payments paginated. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cairo_dl.h"
#include "invoice_internal.h"

#define PAGE_W 595.0 /* A4 in points */
#define PAGE_H 842.0
#define LEFT 50.0
#define RIGHT 545.0
#define BOTTOM 790.0

typedef struct pdf {
  cairo_t *cr;
  double y;
  int page;
  const pg_invoice *inv;
} pdf;

static void font(pdf *p, double size, bool bold, double grey) {
  cairo_select_font_face(p->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(p->cr, size);
  cairo_set_source_rgb(p->cr, grey, grey, grey);
}

static void text(pdf *p, double x, const char *s) {
  cairo_move_to(p->cr, x, p->y);
  cairo_show_text(p->cr, s);
}

static void text_right(pdf *p, double x, const char *s) {
  cairo_text_extents_t e;
  cairo_text_extents(p->cr, s, &e);
  cairo_move_to(p->cr, x - e.x_advance, p->y);
  cairo_show_text(p->cr, s);
}

static void rule(pdf *p, double y, double width) {
  cairo_set_source_rgb(p->cr, 0.55, 0.58, 0.62);
  cairo_set_line_width(p->cr, width);
  cairo_move_to(p->cr, LEFT, y);
  cairo_line_to(p->cr, RIGHT, y);
  cairo_stroke(p->cr);
}

/* a new page when fewer than `need` points are left */
static void room(pdf *p, double need) {
  if (p->y + need <= BOTTOM) return;
  cairo_show_page(p->cr);
  p->page++;
  p->y = 60;
  char b[160];
  font(p, 8, false, 0.35);
  snprintf(b, sizeof b, "%s %04d-%02d, member %s, page %d", inv_kind(p->inv), p->inv->year,
           p->inv->month, p->inv->member_id, p->page);
  text(p, LEFT, b);
  p->y += 20;
}

static void header(pdf *p, const pg_money *money) {
  const pg_invoice *inv = p->inv;
  char per[32], tz[64], b[256];
  (void)money;
  inv_period(inv, per, sizeof per);
  inv_tz_label(inv->tz, tz, sizeof tz);
  p->y = 60;
  font(p, 10, false, 0.35);
  char noun[PG_RESOURCE_NAME_MAX + 1];
  inv_noun(inv, false, noun, sizeof noun);
  snprintf(b, sizeof b, "%s %s community", inv->community, noun);
  text(p, LEFT, b);
  p->y += 26;
  font(p, 20, true, 0.1);
  snprintf(b, sizeof b, "%s \xC2\xB7 %s", inv_kind(inv), per);
  text(p, LEFT, b);
  p->y += 22;
  font(p, 11, false, 0.1);
  snprintf(b, sizeof b, "%s (member %s)", inv->member_name[0] ? inv->member_name : inv->member_id,
           inv->member_id);
  text(p, LEFT, b);
  p->y += 16;
  font(p, 9, false, 0.35);
  snprintf(b, sizeof b, "Period: 1 to %d %s, local time %s; %zu slots of %" PRIu64 " minutes.",
           inv->days, per, tz, inv->n_slots, inv->slot_ms / 60000);
  text(p, LEFT, b);
  p->y += 30;
}

static void lines(pdf *p, const pg_money *money) {
  inv_line l[INV_MAX_LINES];
  size_t n = inv_lines(p->inv, money, l);
  font(p, 12, true, 0.1);
  text(p, LEFT, "Amounts");
  p->y += 18;
  for (size_t i = 0; i < n; i++) {
    char amount[64];
    pg_money_format(money, l[i].amount, amount, sizeof amount);
    bool strong = l[i].kind == INV_TOTAL;
    if (l[i].kind == INV_SUBTOTAL || strong) rule(p, p->y - 11, strong ? 1.2 : 0.6);
    font(p, strong ? 12 : 10, strong, 0.1);
    text(p, LEFT, l[i].label);
    text_right(p, RIGHT, amount);
    font(p, 8.5, false, 0.4);
    text(p, LEFT + 150, l[i].detail);
    p->y += strong ? 22 : 17;
  }
  p->y += 8;
}

static void facts(pdf *p, const pg_money *money) {
  const pg_invoice *inv = p->inv;
  const pg_tariff_month *m = &inv->m;
  char a[96], b[200], noun[PG_RESOURCE_NAME_MAX + 1];
  font(p, 12, true, 0.1);
  inv_noun(inv, true, noun, sizeof noun);
  text(p, LEFT, noun);
  p->y += 17;
  font(p, 9.5, false, 0.15);
  inv_qty(inv, m->energy_wh, a, sizeof a);
  snprintf(b, sizeof b, "%s: %s", inv->producer ? "Produced" : "Used", a);
  text(p, LEFT, b);
  p->y += 14;
  inv_qty(inv, m->community_wh, a, sizeof a);
  snprintf(b, sizeof b, "%s the community: %s", inv->producer ? "To" : "From", a);
  text(p, LEFT, b);
  p->y += 14;
  inv_qty(inv, m->utility_wh, a, sizeof a);
  snprintf(b, sizeof b, "%s the utility: %s", inv->producer ? "To" : "From", a);
  text(p, LEFT, b);
  p->y += 14;
  if (!inv->producer) {
    inv_peak(inv, m->peak_w, a, sizeof a);
    snprintf(b, sizeof b, "Peak demand: %s", a);
    text(p, LEFT, b);
    p->y += 14;
    pg_money_format(money, m->savings, a, sizeof a);
    inv_noun(inv, false, noun, sizeof noun);
    snprintf(b, sizeof b, "Grid-fee reduction on community %s (your saving, not billed): %s", noun,
             a);
    text(p, LEFT, b);
    p->y += 14;
  }
  p->y += 12;
}

static void chart(pdf *p) {
  const pg_invoice *inv = p->inv;
  const double h = 150;
  room(p, h + 50);
  font(p, 12, true, 0.1);
  char b[64];
  inv_noun(inv, true, b, sizeof b);
  snprintf(b + strlen(b), sizeof b - strlen(b), " per day");
  text(p, LEFT, b);
  p->y += 10;
  int64_t top = inv_chart_top(inv);
  double base = p->y + h, x0 = LEFT + 40, bw = (RIGHT - x0) / inv->days;
  for (int i = 0; i < inv->days; i++) {
    double x = x0 + i * bw + bw * 0.12, w = bw * 0.76;
    double hall = (double)inv->day_wh[i] * h / (double)top;
    double hc = (double)inv->day_community_wh[i] * h / (double)top;
    cairo_set_source_rgb(p->cr, 0.71, 0.83, 0.95);
    cairo_rectangle(p->cr, x, base - hall, w, hall);
    cairo_fill(p->cr);
    cairo_set_source_rgb(p->cr, 0.12, 0.44, 0.92);
    cairo_rectangle(p->cr, x, base - hc, w, hc);
    cairo_fill(p->cr);
  }
  cairo_set_source_rgb(p->cr, 0.55, 0.58, 0.62);
  cairo_set_line_width(p->cr, 0.6);
  cairo_move_to(p->cr, x0, base);
  cairo_line_to(p->cr, RIGHT, base);
  cairo_stroke(p->cr);
  font(p, 7.5, false, 0.4);
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  snprintf(b, sizeof b, "%" PRId64 " %s", top / (int64_t)r->display_factor, r->display_unit);
  double y = p->y;
  p->y = y + 8;
  text_right(p, x0 - 4, b);
  p->y = base;
  text_right(p, x0 - 4, "0");
  p->y = base + 11;
  for (int i = 0; i < inv->days; i++)
    if (i == 0 || (i + 1) % 5 == 0) {
      snprintf(b, sizeof b, "%d", i + 1);
      text(p, x0 + i * bw + bw * 0.3, b);
    }
  p->y += 14;
  snprintf(b, sizeof b, "dark: %s the community; light: %s the utility",
           inv->producer ? "to" : "from", inv->producer ? "to" : "from");
  text(p, LEFT, b);
  p->y += 24;
}

static void payments(pdf *p, const pg_money *money) {
  const pg_invoice *inv = p->inv;
  room(p, 60);
  font(p, 12, true, 0.1);
  text(p, LEFT, "Payments");
  p->y += 16;
  if (!inv->n_payments) {
    font(p, 9, false, 0.35);
    text(p, LEFT, "No payments on a Tangle are recorded for this month (a market-only simulation).");
    p->y += 20;
    return;
  }
  for (size_t i = 0; i < inv->n_payments; i++) {
    const pg_invoice_payment *q = &inv->payments[i];
    char t[40], a[64];
    room(p, 12);
    inv_slot_time(inv, q->time_ms, t, sizeof t);
    pg_money_format(money, q->amount, a, sizeof a);
    font(p, 7, false, 0.15);
    text(p, LEFT, t);
    text(p, LEFT + 70, q->reference);
    text(p, LEFT + 130, q->message_id);
    text_right(p, RIGHT, a);
    p->y += 10;
  }
  char a[64];
  pg_money_format(money, inv->paid, a, sizeof a);
  room(p, 16);
  font(p, 10, true, 0.1);
  p->y += 4;
  text(p, LEFT, "Paid");
  text_right(p, RIGHT, a);
  p->y += 16;
  pg_money_format(money, inv->m.total - inv->paid, a, sizeof a);
  font(p, 10, false, 0.1);
  text(p, LEFT, "Balance (total less payments)");
  text_right(p, RIGHT, a);
  p->y += 18;
}

void pg_invoice_pdf_release(void) {
  if (!pg_cairo_loaded()) return;
  cairo_debug_reset_static_data();
  FcFini();
}

int pg_invoice_pdf(const pg_invoice *inv, const pg_money *money, const char *path, pg_diag *d) {
  char tmp[1100];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp) return pg_fail(d, PG_ERR_INVALID, "path too long: %s", path);
  int lrc = pg_cairo_load(d);
  if (lrc) return lrc;
  cairo_surface_t *s = cairo_pdf_surface_create(tmp, PAGE_W, PAGE_H);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return pg_fail(d, PG_ERR_IO, "cannot write %s", tmp);
  }
  char title[160];
  snprintf(title, sizeof title, "%s %04d-%02d %s", inv_kind(inv), inv->year, inv->month,
           inv->member_id);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "p2pgrid invoice");
  pdf p = {.cr = cairo_create(s), .page = 1, .inv = inv};
  header(&p, money);
  lines(&p, money);
  facts(&p, money);
  chart(&p);
  payments(&p, money);
  room(&p, 30);
  font(&p, 8, false, 0.35);
  char b[200];
  snprintf(b, sizeof b, "Per-slot annex: %s-%04d-%02d.csv. Rounding never favours the grid: every "
           "charge is rounded down.", inv->member_id, inv->year, inv->month);
  text(&p, LEFT, b);
  cairo_show_page(p.cr);
  cairo_status_t st = cairo_status(p.cr);
  cairo_destroy(p.cr);
  cairo_surface_finish(s);
  if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(s);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS) {
    remove(tmp);
    return pg_fail(d, PG_ERR_IO, "cannot write %s: %s", path, cairo_status_to_string(st));
  }
  if (rename(tmp, path) != 0) {
    remove(tmp);
    return pg_fail(d, PG_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
  }
  return PG_OK;
}
