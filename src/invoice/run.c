/* Invoices of every member of a simulator output (invoice.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invoice_internal.h"
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/csv.h"

#define MAX_FILE ((size_t)1 << 31)

typedef struct member {
  char id[PG_INVOICE_ID_MAX + 1], name[PG_INVOICE_ID_MAX + 1];
  bool producer;
  pg_invoice_slot *slots;
  size_t n, cap;
  pg_invoice_payment *pay;
  size_t npay, paycap;
} member;

struct pg_invoice_set {
  pg_invoice_opts o; /* borrowed strings */
  pg_invoice probe;  /* month, slot_ms, tz: for pg_invoice_in_month */
  member *m;
  size_t n;
  size_t rows; /* party_slots.csv rows in the month */
};
typedef struct pg_invoice_set run;

static int cmp_member(const void *a, const void *b) {
  return strcmp(((const member *)a)->id, ((const member *)b)->id);
}

static member *find(const run *r, const char *id) {
  if (!r->n) return NULL;
  member key;
  snprintf(key.id, sizeof key.id, "%s", id);
  return bsearch(&key, r->m, r->n, sizeof *r->m, cmp_member);
}

void pg_invoice_set_free(pg_invoice_set *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    free(r->m[i].slots);
    free(r->m[i].pay);
  }
  free(r->m);
  free(r);
}


static int load_participants(run *r, const uint8_t *data, size_t len, pg_diag *d) {
  static const char *const cols[] = {"id", "name", "role"};
  pg_csv_table c;
  pg_csv_table_init(&c, "participants.csv", data, len);
  int rc = pg_csv_table_header(&c, cols, 3, d);
  size_t cap = 0;
  while (!rc && (rc = pg_csv_table_next(&c, d)) == 1) {
    rc = PG_OK;
    const char *id = pg_csv_table_get(&c, 0), *role = pg_csv_table_get(&c, 2);
    if (!*id || strlen(id) > PG_INVOICE_ID_MAX) {
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "is not an id of 1..64 bytes", d);
      break;
    }
    if (strcmp(role, "producer") && strcmp(role, "consumer")) {
      rc = pg_csv_table_fail(&c, 2, PG_ERR_INVALID, "is not producer or consumer", d);
      break;
    }
    if (pg_grow(&r->m, &cap, r->n + 1, sizeof *r->m, 0) != PG_OK) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    member *m = &r->m[r->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    snprintf(m->name, sizeof m->name, "%s", pg_csv_table_get(&c, 1));
    m->producer = !strcmp(role, "producer");
  }
  pg_csv_table_free(&c);
  if (rc < 0) return rc;
  if (r->n) qsort(r->m, r->n, sizeof *r->m, cmp_member);
  for (size_t i = 1; i < r->n; i++)
    if (!strcmp(r->m[i].id, r->m[i - 1].id))
      return pg_fail(d, PG_ERR_INVALID, "participants.csv: member %s is listed twice", r->m[i].id);
  return PG_OK;
}

static int push_slot(member *m, const pg_invoice_slot *s, pg_diag *d) {
  if (pg_grow(&m->slots, &m->cap, m->n + 1, sizeof *m->slots, 0) != PG_OK)
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  m->slots[m->n++] = *s;
  return PG_OK;
}

/* party_slots.csv: slot,start,id,role,energy_wh,community_wh,amount,fee,total (by name) */
static int load_members(run *r, const uint8_t *data, size_t len, pg_diag *d) {
  static const char *const cols[] = {"slot", "id", "energy_wh", "community_wh", "amount", "fee"};
  pg_csv_table c;
  pg_csv_table_init(&c, "party_slots.csv", data, len);
  int rc = pg_csv_table_header(&c, cols, 6, d);
  while (!rc && (rc = pg_csv_table_next(&c, d)) == 1) {
    int64_t v[6] = {0};
    rc = PG_OK;
    for (size_t i = 0; !rc && i < 6; i++)
      if (i != 1) rc = pg_csv_table_i64(&c, i, &v[i], d);
    if (rc) break;
    if (v[0] < 0 || (uint64_t)v[0] > UINT64_MAX / r->probe.slot_ms) {
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "is not a slot number", d);
      break;
    }
    if (!pg_invoice_in_month(&r->probe, (uint64_t)v[0])) continue;
    member *m = find(r, pg_csv_table_get(&c, 1));
    if (!m) {
      rc = pg_csv_table_fail(&c, 1, PG_ERR_INVALID, "is not in participants.csv", d);
      break;
    }
    if (m->n && m->slots[m->n - 1].slot >= (uint64_t)v[0]) {
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "repeats or goes back in time for this member", d);
      break;
    }
    pg_invoice_slot s = {.slot = (uint64_t)v[0], .v = {v[2], v[3], v[4], v[5]}};
    rc = push_slot(m, &s, d);
    r->rows++;
  }
  pg_csv_table_free(&c);
  return rc < 0 ? rc : PG_OK;
}

/* transfers.csv: payments from members to the grid, payouts from the grid */
static int load_transfers(run *r, const uint8_t *data, size_t len, pg_diag *d) {
  static const char *const cols[] = {"slot", "time", "from", "to", "amount", "reference",
                                     "message_id"};
  pg_csv_table c;
  pg_csv_table_init(&c, "transfers.csv", data, len);
  int rc = pg_csv_table_header(&c, cols, 7, d);
  while (!rc && (rc = pg_csv_table_next(&c, d)) == 1) {
    int64_t slot = 0, t = 0, amount = 0;
    rc = PG_OK;
    if ((rc = pg_csv_table_i64(&c, 0, &slot, d)) || (rc = pg_csv_table_time(&c, 1, &t, d)) ||
        (rc = pg_csv_table_i64(&c, 4, &amount, d)))
      break;
    if (slot < 0 || (uint64_t)slot > UINT64_MAX / r->probe.slot_ms) {
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "is not a slot number", d);
      break;
    }
    if (!pg_invoice_in_month(&r->probe, (uint64_t)slot)) continue;
    const char *from = pg_csv_table_get(&c, 2), *to = pg_csv_table_get(&c, 3);
    member *m = !strcmp(to, "grid") ? find(r, from) : !strcmp(from, "grid") ? find(r, to) : NULL;
    if (!m) continue;
    if (pg_grow(&m->pay, &m->paycap, m->npay + 1, sizeof *m->pay, 0) != PG_OK) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    pg_invoice_payment *p = &m->pay[m->npay++];
    memset(p, 0, sizeof *p);
    p->slot = (uint64_t)slot, p->time_ms = (uint64_t)t, p->amount = amount;
    snprintf(p->reference, sizeof p->reference, "%s", pg_csv_table_get(&c, 5));
    snprintf(p->message_id, sizeof p->message_id, "%s", pg_csv_table_get(&c, 6));
  }
  pg_csv_table_free(&c);
  return rc < 0 ? rc : PG_OK;
}

int pg_invoice_set_parse(const pg_invoice_opts *o, const uint8_t *participants, size_t plen,
                         const uint8_t *members, size_t mlen, const uint8_t *transfers,
                         size_t tlen, pg_invoice_set **out, pg_diag *d) {
  *out = NULL;
  if (o->slot_ms < 1000 || o->slot_ms > 86400000 || o->month < 1 || o->month > 12)
    return pg_fail(d, PG_ERR_INVALID, "invoice: bad month or slot length");
  run *r = calloc(1, sizeof *r);
  if (!r) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  r->o = *o;
  r->probe.year = o->year, r->probe.month = o->month, r->probe.slot_ms = o->slot_ms;
  r->probe.tz = o->tz;
  int rc = load_participants(r, participants, plen, d);
  if (!rc) rc = load_members(r, members, mlen, d);
  if (!rc && transfers) rc = load_transfers(r, transfers, tlen, d);
  if (rc) {
    pg_invoice_set_free(r);
    return rc;
  }
  *out = r;
  return PG_OK;
}

size_t pg_invoice_set_count(const pg_invoice_set *s) { return s->n; }
size_t pg_invoice_set_rows(const pg_invoice_set *s) { return s->rows; }
const char *pg_invoice_set_id(const pg_invoice_set *s, size_t i) { return s->m[i].id; }

/* Reads the three files of the run's directory and parses them. */
static int load(const pg_invoice_opts *o, pg_invoice_set **out, pg_diag *d) {
  const char *names[] = {"participants.csv", "party_slots.csv", "transfers.csv"};
  uint8_t *data[3] = {NULL, NULL, NULL};
  size_t len[3] = {0, 0, 0};
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < 3; i++) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", o->sim_out, names[i]);
    if (access(p, F_OK) != 0) {
      if (i == 2) continue; /* no transfers: no payments */
      rc = pg_fail(d, PG_ERR_NOT_FOUND, "%s is missing%s", p,
                   i == 1 ? " (the simulator writes it when participants x slots <= 5,000,000)"
                          : " (not a simulator output directory?)");
      break;
    }
    rc = pg_read_file_capped(p, MAX_FILE, &data[i], &len[i], d);
  }
  if (!rc)
    rc = pg_invoice_set_parse(o, data[0], len[0], data[1], len[1], data[2], len[2], out, d);
  for (size_t i = 0; i < 3; i++) free(data[i]);
  return rc;
}

static int write_buf(const char *dir, const char *name, pg_buf *b, pg_diag *d) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int rc = pg_buf_status(b);
  if (rc) return pg_fail(d, rc, "%s: the document is too large", p);
  return pg_write_file_atomic(p, b->data, b->len, false, true, d);
}

int pg_invoice_set_get(const pg_invoice_set *r, size_t i, pg_invoice *inv, pg_diag *d) {
  const pg_invoice_opts *o = &r->o;
  const member *m = &r->m[i];
  memset(inv, 0, sizeof *inv);
  snprintf(inv->community, sizeof inv->community, "%s", o->community ? o->community : "");
  snprintf(inv->member_id, sizeof inv->member_id, "%s", m->id);
  snprintf(inv->member_name, sizeof inv->member_name, "%s", m->name);
  inv->producer = m->producer;
  inv->year = o->year, inv->month = o->month, inv->slot_ms = o->slot_ms, inv->tz = o->tz;
  inv->tariff = o->tariff;
  inv->resource = o->resource;
  int rc = pg_invoice_build(inv, m->slots, m->n, d);
  for (size_t k = 0; !rc && k < m->npay; k++) rc = pg_invoice_add_payment(inv, &m->pay[k], d);
  if (rc) pg_invoice_free(inv);
  return rc;
}

static int write_member(const pg_invoice_opts *o, const pg_invoice_set *r, size_t i,
                        pg_invoice *inv, pg_diag *d) {
  int rc = pg_invoice_set_get(r, i, inv, d);
  if (rc) return rc;
  const member *m = &r->m[i];
  char base[PG_INVOICE_ID_MAX + 16], name[PG_INVOICE_ID_MAX + 24];
  snprintf(base, sizeof base, "%s-%04d-%02d", m->id, o->year, o->month);
  pg_buf b;
  pg_buf_init(&b, (size_t)256 << 20);
  rc = pg_invoice_html(inv, o->money, &b);
  snprintf(name, sizeof name, "%s.html", base);
  if (!rc) rc = write_buf(o->out_dir, name, &b, d);
  else rc = pg_fail(d, rc, "%s: cannot render the invoice", name);
  pg_buf_reset(&b);
  if (!rc) rc = pg_invoice_csv(inv, &b);
  snprintf(name, sizeof name, "%s.csv", base);
  if (!rc) rc = write_buf(o->out_dir, name, &b, d);
  pg_buf_free(&b);
  char path[1200];
  snprintf(path, sizeof path, "%s/%s.pdf", o->out_dir, base);
  if (!rc) rc = pg_invoice_pdf(inv, o->money, path, d);
  if (rc) pg_invoice_free(inv);
  return rc;
}

static void index_row(pg_buf *ix, const pg_invoice *inv, const pg_money *money) {
  char total[64], base[PG_INVOICE_ID_MAX + 16];
  pg_money_format(money, inv->m.total, total, sizeof total);
  snprintf(base, sizeof base, "%s-%04d-%02d", inv->member_id, inv->year, inv->month);
  pg_buf_puts(ix, "<tr><td><a href=\"");
  pg_buf_html(ix, base, 0);
  pg_buf_puts(ix, ".html\">");
  pg_buf_html(ix, inv->member_id, 0);
  pg_buf_puts(ix, "</a></td><td>");
  pg_buf_html(ix, inv->member_name, 0);
  pg_buf_printf(ix, "</td><td>%s</td><td class=\"num\">", inv_kind(inv));
  pg_buf_html(ix, total, 0);
  pg_buf_puts(ix, "</td><td><a href=\"");
  pg_buf_html(ix, base, 0);
  pg_buf_puts(ix, ".pdf\">PDF</a> \xC2\xB7 <a href=\"");
  pg_buf_html(ix, base, 0);
  pg_buf_puts(ix, ".csv\">annex</a></td></tr>\n");
}

static void index_head(pg_buf *ix, const pg_invoice_opts *o) {
  pg_buf_puts(ix, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                  "Invoices ");
  pg_buf_printf(ix, "%04d-%02d ", o->year, o->month);
  pg_buf_html(ix, o->community ? o->community : "", 0);
  pg_buf_puts(ix, "</title><style>body{font:14px/1.45 system-ui,sans-serif;max-width:52rem;"
                  "margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}"
                  "td,th{padding:.3rem .5rem;border-bottom:1px solid #d0d7de;text-align:left}"
                  ".num{text-align:right;font-variant-numeric:tabular-nums}</style></head><body>"
                  "<h1>Invoices ");
  pg_buf_printf(ix, "%04d-%02d", o->year, o->month);
  pg_buf_puts(ix, "</h1>\n<table><thead><tr><th>Member</th><th>Name</th><th>Document</th>"
                  "<th class=\"num\">Total</th><th>Files</th></tr></thead><tbody>\n");
}

int pg_invoice_run_sim(const pg_invoice_opts *o, pg_invoice_summary *sum, pg_diag *d) {
  memset(sum, 0, sizeof *sum);
  pg_invoice_set *r = NULL;
  const char *src = o->grid_db ? o->grid_db : o->sim_out;
  int rc = o->grid_db ? pg_invoice_load_grid_db(o, o->grid_db, &r, d) : load(o, &r, d);
  if (!rc && !r->rows)
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "%s: no slot settled in %04d-%02d", src, o->year, o->month);
  if (!rc && o->member && !find(r, o->member))
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "%s: no member %s", src, o->member);
  if (!rc) rc = pg_mkdir_p(o->out_dir, 0755, d);
  pg_buf ix;
  pg_buf_init(&ix, (size_t)64 << 20);
  if (!rc) index_head(&ix, o);
  for (size_t i = 0; !rc && i < r->n; i++) {
    const member *m = &r->m[i];
    if (o->member && strcmp(o->member, m->id)) continue;
    pg_invoice inv;
    if ((rc = write_member(o, r, i, &inv, d))) break;
    index_row(&ix, &inv, o->money);
    if (m->producer) {
      sum->credit_notes++;
      sum->credits += inv.m.total;
    } else {
      sum->invoices++;
      sum->total += inv.m.total;
      sum->slot_bills += inv.m.energy + inv.m.fees;
      sum->monthly += inv.m.monthly;
      sum->paid += inv.paid;
    }
    pg_invoice_free(&inv);
    if (o->progress) o->progress(o->progress_ctx, i + 1, r->n, m->id);
  }
  if (!rc && !o->member) {
    char t[64];
    pg_money_format(o->money, sum->total, t, sizeof t);
    pg_buf_puts(&ix, "</tbody><tfoot><tr><td colspan=\"3\">Total of the invoices</td>"
                     "<td class=\"num\" id=\"total\">");
    pg_buf_html(&ix, t, 0);
    pg_buf_puts(&ix, "</td><td></td></tr></tfoot></table></body></html>\n");
    rc = write_buf(o->out_dir, "index.html", &ix, d);
  }
  pg_buf_free(&ix);
  pg_invoice_set_free(r);
  pg_invoice_pdf_release();
  return rc;
}
