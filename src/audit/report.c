/* report.c — the audit's verdict as text (a summary for people), JSON (for
 * machines) and one self-contained HTML page (no script, nothing fetched). */
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

static size_t slots_with_diffs(const pg_audit_report *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_slots; i++) n += r->slots[i].diffs > 0;
  return n;
}

static size_t slotless_diffs(const pg_audit_report *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_diffs; i++) n += !r->diffs[i].has_slot;
  return n;
}

void pg_audit_write_text(const pg_audit_report *r, FILE *f) {
  fprintf(f, "%s audit of %s: %zu slots, %zu channel messages, %zu payment lookups, %zu payout batches\n",
          r->member ? "member" : "full", r->subject, r->n_slots, r->messages, r->payments, r->batches);
  for (size_t i = 0; i < r->n_diffs; i++) {
    const pg_audit_diff *x = &r->diffs[i];
    if (x->has_slot) fprintf(f, "  slot %llu  %-10s %s\n", (unsigned long long)x->slot,
                             pg_audit_kind_name(x->kind), x->text);
    else fprintf(f, "  %-15s %s\n", pg_audit_kind_name(x->kind), x->text);
  }
  for (size_t i = 0; i < r->n_notes; i++) fprintf(f, "  note: %s\n", r->notes[i]);
  if (r->n_diffs == 0)
    fprintf(f, "everything agrees: %zu of %zu slots re-derived from the Tangle alone\n", r->n_slots,
            r->n_slots);
  else
    fprintf(f, "DIFFERENCES: %zu (at %zu of %zu slots%s%zu elsewhere)\n", r->n_diffs,
            slots_with_diffs(r), r->n_slots, ", ", slotless_diffs(r));
}

/* ---- JSON ---- */

static json_t *diff_json(const pg_audit_diff *x) {
  return json_pack("{s:o,s:s,s:s,s:s}", "slot",
                   x->has_slot ? json_integer((json_int_t)x->slot) : json_null(), "kind",
                   pg_audit_kind_name(x->kind), "who", x->who, "text", x->text);
}

static json_t *report_json(const pg_audit_report *r) {
  json_t *slots = json_array(), *diffs = json_array(), *notes = json_array();
  size_t di = 0, j = 0; /* diffs are sorted by slot, slot-less last (pg_audit_report_finish) */
  for (size_t i = 0; slots && i < r->n_slots; i++) {
    const pg_audit_slot_result *s = &r->slots[i];
    json_t *sd = json_array();
    while (j < r->n_diffs && r->diffs[j].has_slot && r->diffs[j].slot < s->slot) j++;
    for (; sd && j < r->n_diffs && r->diffs[j].has_slot && r->diffs[j].slot == s->slot; j++)
      json_array_append_new(sd, diff_json(&r->diffs[j]));
    json_t *o = json_pack("{s:I,s:b,s:I,s:I,s:I,s:I,s:o}", "slot", (json_int_t)s->slot, "agree",
                          s->diffs == 0, "readings", (json_int_t)s->readings, "bills",
                          (json_int_t)s->bills, "payouts", (json_int_t)s->payouts, "lines",
                          (json_int_t)s->lines, "differences", sd ? sd : json_array());
    if (o) json_array_append_new(slots, o);
  }
  for (di = 0; diffs && di < r->n_diffs; di++) json_array_append_new(diffs, diff_json(&r->diffs[di]));
  for (size_t i = 0; notes && i < r->n_notes; i++) json_array_append_new(notes, json_string(r->notes[i]));
  return json_pack("{s:s,s:b,s:b,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I}}", "subject", r->subject, "member",
                   r->member, "agree", r->n_diffs == 0, "slots", slots ? slots : json_array(),
                   "differences", diffs ? diffs : json_array(), "notes",
                   notes ? notes : json_array(), "checked", "slots", (json_int_t)r->n_slots,
                   "messages", (json_int_t)r->messages, "payments", (json_int_t)r->payments,
                   "batches", (json_int_t)r->batches);
}

int pg_audit_write_json(const pg_audit_report *r, FILE *f, pg_diag *d) {
  json_t *j = report_json(r);
  if (!j) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = json_dumpf(j, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? PG_OK : PG_ERR_IO;
  json_decref(j);
  return rc ? pg_fail(d, rc, "cannot write the JSON report") : PG_OK;
}

/* ---- HTML ---- */

static void esc(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
    }
  }
}

static const char css[] =
    ":root{--fg:#1f2328;--mut:#59636e;--bg:#f6f7f9;--card:#fff;--ln:#d8dde3;--ok:#1a7f37;"
    "--bad:#b42318;--badbg:#fdecea}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    "main{max-width:980px;margin:0 auto;padding:16px}"
    "header{padding:8px 0 4px}h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:0 0 8px}"
    ".facts{color:var(--mut);margin:0}"
    "section{background:var(--card);border:1px solid var(--ln);border-radius:10px;padding:16px;"
    "margin:16px 0}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;"
    "background:none;border:0;padding:0}"
    ".card{background:var(--card);border:1px solid var(--ln);border-radius:10px;padding:12px}"
    ".card b{display:block;font-size:1.5em}.card span{color:var(--mut);font-size:.9em}"
    ".verdict.ok b{color:var(--ok)}.verdict.bad b{color:var(--bad)}"
    "table{border-collapse:collapse;width:100%;font-size:.92em}"
    "th,td{padding:5px 8px;border-bottom:1px solid var(--ln);text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr.bad td{background:var(--badbg)}td.ok{color:var(--ok)}td.bad{color:var(--bad);font-weight:600}"
    ".scroll{overflow-x:auto}ul.diffs li{margin:4px 0}.kind{font-weight:600;color:var(--bad)}"
    "footer{color:var(--mut);font-size:.85em;text-align:center;padding:8px}";

static void card(FILE *f, const char *cls, const char *value, const char *label) {
  fprintf(f, "<div class=\"card%s%s\"><b>", cls ? " " : "", cls ? cls : "");
  esc(f, value);
  fputs("</b><span>", f);
  esc(f, label);
  fputs("</span></div>", f);
}

static void html_diffs(FILE *f, const pg_audit_report *r) {
  fputs("<section><h2>Differences</h2>", f);
  if (!r->n_diffs) fputs("<p>None: every claim agrees with the Tangle.</p>", f);
  else fputs("<ul class=\"diffs\">", f);
  for (size_t i = 0; i < r->n_diffs; i++) {
    const pg_audit_diff *x = &r->diffs[i];
    fputs("<li>", f);
    if (x->has_slot) fprintf(f, "<a href=\"#slot-%llu\">slot %llu</a> ", (unsigned long long)x->slot,
                             (unsigned long long)x->slot);
    fprintf(f, "<span class=\"kind\">%s</span> ", pg_audit_kind_name(x->kind));
    esc(f, x->text);
    fputs("</li>", f);
  }
  if (r->n_diffs) fputs("</ul>", f);
  fputs("</section>", f);
}

static void html_slots(FILE *f, const pg_audit_report *r) {
  fputs("<section><h2>Slots</h2><div class=\"scroll\"><table><thead><tr><th class=\"n\">slot</th>"
        "<th>verdict</th><th class=\"n\">readings</th><th class=\"n\">bills</th>"
        "<th class=\"n\">payouts</th><th class=\"n\">record lines</th><th class=\"n\">buy price</th>"
        "<th class=\"n\">consumers pay</th><th class=\"n\">producers earn</th></tr></thead><tbody>", f);
  for (size_t i = 0; i < r->n_slots; i++) {
    const pg_audit_slot_result *s = &r->slots[i];
    bool bad = s->diffs > 0;
    fprintf(f, "<tr id=\"slot-%llu\"%s data-diffs=\"%zu\"><td class=\"n\">%llu</td>",
            (unsigned long long)s->slot, bad ? " class=\"bad\"" : "", s->diffs,
            (unsigned long long)s->slot);
    if (bad) fprintf(f, "<td class=\"bad\">%zu difference%s</td>", s->diffs, s->diffs == 1 ? "" : "s");
    else fputs("<td class=\"ok\">agrees</td>", f);
    fprintf(f, "<td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
               "<td class=\"n\">%zu</td>", s->readings, s->bills, s->payouts, s->lines);
    int dec = s->buy_price == (double)(int64_t)s->buy_price ? 0 : 1;
    if (s->has_price) fprintf(f, "<td class=\"n\">%.*f</td>", dec, s->buy_price);
    else fputs("<td class=\"n\">\xE2\x80\x94</td>", f);
    fprintf(f, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>",
            (long long)s->consumer_payments, (long long)s->producer_revenues);
  }
  fputs("</tbody></table></div></section>", f);
}

int pg_audit_write_html(const pg_audit_report *r, FILE *f, pg_diag *d) {
  char b[64];
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>p2pgrid audit: ", f);
  esc(f, r->subject);
  fprintf(f, "</title><style>%s</style></head><body><main><header><h1>%s audit: ", css,
          r->member ? "Member" : "Grid");
  esc(f, r->subject);
  fputs("</h1><p class=\"facts\">Every number below was re-derived from the Tangle alone"
        " (the members' channels, the public record, the ledger) and compared with the"
        " operator's claims.</p></header><section class=\"cards\">", f);
  bool ok = r->n_diffs == 0;
  snprintf(b, sizeof b, "%s", ok ? "agrees" : "differs");
  card(f, ok ? "verdict ok" : "verdict bad", b, ok ? "everything checked agrees" : "see the differences");
  snprintf(b, sizeof b, "%zu", r->n_slots);
  card(f, NULL, b, "slots re-settled");
  snprintf(b, sizeof b, "%zu", slots_with_diffs(r));
  card(f, NULL, b, "slots with differences");
  snprintf(b, sizeof b, "%zu", r->n_diffs);
  card(f, NULL, b, "differences");
  snprintf(b, sizeof b, "%zu", r->messages);
  card(f, NULL, b, "channel messages read");
  snprintf(b, sizeof b, "%zu / %zu", r->payments, r->batches);
  card(f, NULL, b, "payments / payout batches checked");
  fputs("</section>", f);
  html_diffs(f, r);
  if (r->n_notes) {
    fputs("<section><h2>Notes</h2><ul>", f);
    for (size_t i = 0; i < r->n_notes; i++) fputs("<li>", f), esc(f, r->notes[i]), fputs("</li>", f);
    fputs("</ul></section>", f);
  }
  html_slots(f, r);
  fputs("<footer>p2pgrid audit</footer></main></body></html>\n", f);
  return ferror(f) ? pg_fail(d, PG_ERR_IO, "cannot write the HTML report") : PG_OK;
}
