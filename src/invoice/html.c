/* The invoice as one self-contained, print-friendly HTML page (invoice.h):
 * inline CSS, the per-day chart as inline SVG, no script, no network. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "invoice_internal.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/csv.h"

static void esc(pg_buf *o, const char *s) { pg_buf_html(o, s, 0); }

static void money_td(pg_buf *o, const pg_money *money, int64_t v, const char *attrs) {
  char b[64];
  pg_money_format(money, v, b, sizeof b);
  pg_buf_printf(o, "<td class=\"num\"%s>", attrs);
  esc(o, b);
  pg_buf_puts(o, "</td>");
}

static const char CSS[] =
    "body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;max-width:52rem;margin:2rem auto;"
    "padding:0 1rem}h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}"
    ".muted{color:#57606a}table{border-collapse:collapse;width:100%}td,th{padding:.35rem .5rem;"
    "border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}.num{text-align:right;"
    "white-space:nowrap;font-variant-numeric:tabular-nums}tr.subtotal td{border-top:2px solid "
    "#8c959f}tr.total td{font-weight:700;font-size:1.1rem;border-top:2px solid #1b1f24}"
    ".facts td:first-child{color:#57606a;width:40%}svg.chart{width:100%;height:auto;"
    "display:block}ul.legend{list-style:none;padding:0;display:flex;gap:1.2rem;color:#57606a}"
    ".sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}"
    "code{font-size:.85em;word-break:break-all}"
    "@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}"
    "table,svg{break-inside:avoid}}";

static void head(pg_buf *o, const pg_invoice *inv) {
  char per[32], tz[64];
  inv_period(inv, per, sizeof per);
  inv_tz_label(inv->tz, tz, sizeof tz);
  pg_buf_puts(o, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
  pg_buf_printf(o, "%s %s ", inv_kind(inv), per);
  esc(o, inv->member_name[0] ? inv->member_name : inv->member_id);
  pg_buf_puts(o, " \xE2\x80\x94 ");
  esc(o, inv->community);
  pg_buf_printf(o, "</title><style>%s</style></head>\n<body>\n<header><p class=\"muted\">", CSS);
  char noun[PG_RESOURCE_NAME_MAX + 1];
  inv_noun(inv, false, noun, sizeof noun);
  esc(o, inv->community);
  pg_buf_puts(o, " "), esc(o, noun);
  pg_buf_printf(o, " community</p><h1>%s \xC2\xB7 %s</h1><p>", inv_kind(inv), per);
  esc(o, inv->member_name[0] ? inv->member_name : inv->member_id);
  pg_buf_puts(o, " <span class=\"muted\">(member ");
  esc(o, inv->member_id);
  pg_buf_printf(o, ")</span></p><p class=\"muted\">Period: 1 to %d %s, local time %s; "
              "%zu slots of %" PRIu64 " minutes.</p></header>\n",
           inv->days, per, tz, inv->n_slots, inv->slot_ms / 60000);
}

static void lines_table(pg_buf *o, const pg_invoice *inv, const pg_money *money) {
  inv_line l[INV_MAX_LINES];
  size_t n = inv_lines(inv, money, l);
  pg_buf_puts(o, "<h2>Amounts</h2>\n<table class=\"lines\"><tbody>\n");
  for (size_t i = 0; i < n; i++) {
    const char *cls = l[i].kind == INV_TOTAL ? "total" : l[i].kind == INV_SUBTOTAL ? "subtotal"
                                                       : l[i].kind == INV_TAX      ? "tax"
                                                                                   : "item";
    pg_buf_printf(o, "<tr class=\"%s\"><td>", cls);
    esc(o, l[i].label);
    pg_buf_puts(o, "</td><td class=\"muted\">");
    esc(o, l[i].detail);
    pg_buf_puts(o, "</td>");
    money_td(o, money, l[i].amount,
             l[i].kind == INV_TOTAL ? " id=\"total\"" : l[i].kind == INV_TAX ? " id=\"vat\"" : "");
    pg_buf_puts(o, "</tr>\n");
  }
  pg_buf_puts(o, "</tbody></table>\n");
}

static void facts(pg_buf *o, const pg_invoice *inv, const pg_money *money) {
  const pg_tariff_month *m = &inv->m;
  char a[64], noun[PG_RESOURCE_NAME_MAX + 1];
  inv_noun(inv, true, noun, sizeof noun);
  pg_buf_puts(o, "<h2>"), esc(o, noun), pg_buf_puts(o, "</h2>\n<table class=\"facts\"><tbody>\n");
  inv_qty(inv, m->energy_wh, a, sizeof a);
  pg_buf_printf(o, "<tr><td>%s</td><td class=\"num\">%s</td></tr>\n",
           inv->producer ? "Produced" : "Used", a);
  inv_qty(inv, m->community_wh, a, sizeof a);
  pg_buf_printf(o, "<tr><td>%s the community</td><td class=\"num\">%s</td></tr>\n",
           inv->producer ? "To" : "From", a);
  inv_qty(inv, m->utility_wh, a, sizeof a);
  pg_buf_printf(o, "<tr><td>%s the utility</td><td class=\"num\">%s</td></tr>\n",
           inv->producer ? "To" : "From", a);
  if (!inv->producer) {
    char t[40], peak[96];
    inv_slot_time(inv, inv->n_slots ? inv->slots[m->peak_slot].slot * inv->slot_ms : 0, t,
                  sizeof t);
    inv_peak(inv, m->peak_w, peak, sizeof peak);
    pg_buf_puts(o, "<tr><td>Peak demand</td><td class=\"num\">"), esc(o, peak);
    pg_buf_printf(o, "%s%s</td></tr>\n", inv->n_slots ? " at " : "", inv->n_slots ? t : "");
    pg_money_format(money, m->savings, a, sizeof a);
    inv_noun(inv, false, noun, sizeof noun);
    pg_buf_puts(o, "<tr><td>Grid-fee reduction on community "), esc(o, noun);
    pg_buf_puts(o, " (your saving, already in lower grid charges; not billed)</td><td class=\"num\" "
                   "id=\"savings\">");
    esc(o, a);
    pg_buf_puts(o, "</td></tr>\n");
  }
  pg_buf_puts(o, "</tbody></table>\n");
}

/* Per-day bars: community part (dark) on the utility part (light). */
static void chart(pg_buf *o, const pg_invoice *inv) {
  const int W = 720, H = 220, L = 48, B = 24, T = 10;
  int64_t top = inv_chart_top(inv);
  const pg_resource *r = pg_resource_or_default(&inv->resource);
  double bw = (double)(W - L - 8) / inv->days;
  char noun[PG_RESOURCE_NAME_MAX + 1], cap[PG_RESOURCE_NAME_MAX + 1];
  inv_noun(inv, false, noun, sizeof noun);
  inv_noun(inv, true, cap, sizeof cap);
  pg_buf_puts(o, "<h2>"), esc(o, cap);
  pg_buf_printf(o, " per day</h2>\n<svg class=\"chart\" data-chart=\"daily\" viewBox=\"0 0 %d "
              "%d\" role=\"img\" aria-label=\"", W, H);
  esc(o, noun), pg_buf_puts(o, " per day\">\n");
  pg_buf_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8c959f\"/>", L, H - B, W - 8,
           H - B);
  pg_buf_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">"
              "%" PRId64 " ", L - 4, T + 8, top / (int64_t)r->display_factor);
  esc(o, r->display_unit), pg_buf_puts(o, "</text>");
  pg_buf_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">0"
              "</text>\n", L - 4, H - B);
  for (int i = 0; i < inv->days; i++) {
    double x = L + i * bw + bw * 0.12, w = bw * 0.76;
    double hall = (double)inv->day_wh[i] * (H - B - T) / (double)top;
    double hc = (double)inv->day_community_wh[i] * (H - B - T) / (double)top;
    pg_buf_printf(o, "<rect class=\"day\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#b6d4f2\"><title>day %d: %" PRId64 " %s, %" PRId64
                " %s from the community</title></rect>",
             x, H - B - hall, w, hall, i + 1, inv->day_wh[i], r->unit, inv->day_community_wh[i],
             r->unit);
    pg_buf_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1f6feb\"/>", x,
             H - B - hc, w, hc);
    if ((i + 1) % 5 == 0 || i == 0)
      pg_buf_printf(o, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                  "fill=\"#57606a\">%d</text>", x + w / 2, H - 8, i + 1);
    pg_buf_puts(o, "\n");
  }
  pg_buf_printf(o, "</svg>\n<ul class=\"legend\"><li><span class=\"sw\" style=\"background:#1f6feb\">"
              "</span>%s the community</li><li><span class=\"sw\" style=\"background:#b6d4f2\">"
              "</span>%s the utility</li></ul>\n",
           inv->producer ? "to" : "from", inv->producer ? "to" : "from");
}

static void payments(pg_buf *o, const pg_invoice *inv, const pg_money *money) {
  pg_buf_puts(o, "<h2>Payments</h2>\n");
  if (!inv->n_payments) {
    pg_buf_puts(o, "<p class=\"muted\">No payments on a Tangle are recorded for this month "
                   "(a market-only simulation).</p>\n");
    return;
  }
  pg_buf_puts(o, "<table class=\"payments\"><thead><tr><th>Time</th><th>Reference</th>"
                 "<th>Tangle message</th><th class=\"num\">Amount</th></tr></thead><tbody>\n");
  for (size_t i = 0; i < inv->n_payments; i++) {
    const pg_invoice_payment *p = &inv->payments[i];
    char t[40];
    inv_slot_time(inv, p->time_ms, t, sizeof t);
    pg_buf_printf(o, "<tr><td>%s</td><td>", t);
    esc(o, p->reference);
    pg_buf_puts(o, "</td><td><code>");
    esc(o, p->message_id);
    pg_buf_puts(o, "</code></td>");
    money_td(o, money, p->amount, "");
    pg_buf_puts(o, "</tr>\n");
  }
  pg_buf_puts(o, "<tr class=\"subtotal\"><td colspan=\"3\">Paid</td>");
  money_td(o, money, inv->paid, " id=\"paid\"");
  pg_buf_puts(o, "</tr>\n<tr><td colspan=\"3\">Balance (total less payments)</td>");
  money_td(o, money, inv->m.total - inv->paid, " id=\"balance\"");
  pg_buf_puts(o, "</tr>\n</tbody></table>\n");
}

int pg_invoice_html(const pg_invoice *inv, const pg_money *money, pg_buf *o) {
  head(o, inv);
  lines_table(o, inv, money);
  facts(o, inv, money);
  chart(o, inv);
  payments(o, inv, money);
  pg_buf_printf(o, "<h2>Annex</h2>\n<p>Every slot of the month, as settled: <a href=\"");
  esc(o, inv->member_id);
  pg_buf_printf(o, "-%04d-%02d.csv\">", inv->year, inv->month);
  esc(o, inv->member_id);
  char noun[PG_RESOURCE_NAME_MAX + 1];
  inv_noun(inv, false, noun, sizeof noun);
  pg_buf_printf(o, "-%04d-%02d.csv</a> (", inv->year, inv->month);
  esc(o, noun), pg_buf_puts(o, " in "), esc(o, pg_resource_or_default(&inv->resource)->unit);
  pg_buf_puts(o, ", amounts in base units). Rounding never favours the grid: every charge is "
                 "rounded down.</p>\n</body></html>\n");
  return pg_buf_status(o);
}
