/* member.c — a member's own audit (pure): its readings against its lines of
 * the public record, its payment requests against those lines, its
 * payments and payouts on the ledger, and the public totals' money
 * identity. It sees nobody else's items. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

typedef struct maudit {
  const pg_audit_keys *k;
  const pg_audit_facts *f;
  pg_audit_report *r;
  const char **keys[4]; /* readings, aliases, requests, payments */
  pg_audit_lookup readings, aliases, requests, payments;
  int64_t *used_in; /* per facts reading */
  bool *request_seen;
  int64_t earned;
} maudit;

static size_t find_reading(const maudit *m, const char *msg_id) {
  size_t t = pg_audit_lookup_find(&m->readings, msg_id);
  if (t != SIZE_MAX) return t;
  size_t x = pg_audit_lookup_find(&m->aliases, msg_id);
  return x == SIZE_MAX ? SIZE_MAX : pg_audit_lookup_find(&m->readings, m->f->aliases[x].canonical);
}

static int64_t paid_under(const maudit *m, const char *ref) {
  size_t i = pg_audit_lookup_find(&m->payments, ref);
  return i == SIZE_MAX ? 0 : m->f->payments[i].paid;
}

static int maudit_init(maudit *m) {
  const pg_audit_facts *f = m->f;
  size_t n[4] = {f->n_readings, f->n_aliases, f->n_requests, f->n_payments};
  for (int i = 0; i < 4; i++)
    if (!(m->keys[i] = malloc((n[i] + 1) * sizeof *m->keys[i]))) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n[0]; i++) m->keys[0][i] = f->readings[i].msg_id;
  for (size_t i = 0; i < n[1]; i++) m->keys[1][i] = f->aliases[i].alias;
  for (size_t i = 0; i < n[2]; i++) m->keys[2][i] = f->requests[i].request_id;
  for (size_t i = 0; i < n[3]; i++) m->keys[3][i] = f->payments[i].reference;
  int rc = pg_audit_lookup_build(&m->readings, m->keys[0], n[0]);
  if (!rc) rc = pg_audit_lookup_build(&m->aliases, m->keys[1], n[1]);
  if (!rc) rc = pg_audit_lookup_build(&m->requests, m->keys[2], n[2]);
  if (!rc) rc = pg_audit_lookup_build(&m->payments, m->keys[3], n[3]);
  return rc;
}

static void maudit_free(maudit *m) {
  pg_audit_lookup_free(&m->readings), pg_audit_lookup_free(&m->aliases);
  pg_audit_lookup_free(&m->requests), pg_audit_lookup_free(&m->payments);
  for (int i = 0; i < 4; i++) free(m->keys[i]);
  free(m->used_in);
  free(m->request_seen);
}

#define MDIFF(m, k, kind, ...)                                                                \
  do {                                                                                        \
    if (pg_audit_diff_add((m)->r, true, (k), (kind), (m)->k->me.id, __VA_ARGS__)) return PG_ERR_NOMEM; \
  } while (0)

/* The line's readings against the member's channels. */
static int check_line_readings(maudit *m, uint64_t k, const pg_audit_line *L) {
  int64_t wh = 0;
  uint64_t max_slot = 0;
  bool has_price = false, any = false;
  uint64_t price = 0;
  for (size_t i = 0; i < L->n_readings; i++) {
    size_t t = find_reading(m, L->readings[i]);
    if (t == SIZE_MAX) {
      MDIFF(m, k, PG_AUDIT_READING, "slot %llu: your line names reading %.16s…, which is not on"
            " your channels", (unsigned long long)k, L->readings[i]);
      continue;
    }
    const pg_audit_reading *y = &m->f->readings[t];
    if (m->used_in[t] >= 0 && m->used_in[t] != (int64_t)k)
      MDIFF(m, k, PG_AUDIT_READING, "slot %llu: your reading for slot %llu is settled twice (also in"
            " slot %lld)", (unsigned long long)k, (unsigned long long)y->slot, (long long)m->used_in[t]);
    m->used_in[t] = (int64_t)k;
    wh += y->wh;
    if (!any || y->slot >= max_slot) max_slot = y->slot, has_price = y->has_price, price = y->price;
    any = true;
  }
  if (wh != L->wh)
    MDIFF(m, k, PG_AUDIT_READING, "slot %llu: your line settles %lld Wh, your readings on the"
          " Tangle sum to %lld Wh", (unsigned long long)k, (long long)L->wh, (long long)wh);
  if (any && (has_price != L->has_price || (has_price && price != L->price)))
    MDIFF(m, k, PG_AUDIT_READING, "slot %llu: your line's price %llu%s, your reading's %llu%s",
          (unsigned long long)k, (unsigned long long)L->price, L->has_price ? "" : " (none)",
          (unsigned long long)price, has_price ? "" : " (none)");
  return PG_OK;
}

/* A consumer's bill: the request on its return channel against its line. */
static int check_line_bill(maudit *m, uint64_t k, const pg_audit_line *L) {
  if (!L->request_id[0]) {
    if (L->total > 0)
      MDIFF(m, k, PG_AUDIT_BILL, "slot %llu: your line says you owe %lld but names no bill",
            (unsigned long long)k, (long long)L->total);
    return PG_OK;
  }
  size_t q = pg_audit_lookup_find(&m->requests, L->request_id);
  if (q == SIZE_MAX) {
    MDIFF(m, k, PG_AUDIT_REQUEST, "slot %llu: your line names bill %s, which is not on your return"
          " channel", (unsigned long long)k, L->request_id);
    return PG_OK;
  }
  m->request_seen[q] = true;
  const pg_audit_request *r = &m->f->requests[q];
  if ((int64_t)r->owed != L->total)
    MDIFF(m, k, PG_AUDIT_REQUEST, "slot %llu: payment request %s asks %llu, your line says %lld",
          (unsigned long long)k, r->request_id, (unsigned long long)r->owed, (long long)L->total);
  if (r->usage_wh != L->wh)
    MDIFF(m, k, PG_AUDIT_REQUEST, "slot %llu: payment request %s bills %lld Wh, your line %lld Wh",
          (unsigned long long)k, r->request_id, (long long)r->usage_wh, (long long)L->wh);
  if (r->slot != k)
    MDIFF(m, k, PG_AUDIT_REQUEST, "slot %llu: payment request %s names slot %llu",
          (unsigned long long)k, r->request_id, (unsigned long long)r->slot);
  int64_t paid = paid_under(m, r->reference);
  m->r->payments++;
  if (paid < (int64_t)r->owed &&
      pg_audit_note_add(m->r, "slot %llu: request %s: owed %llu, your confirmed payments %lld",
                        (unsigned long long)k, r->request_id, (unsigned long long)r->owed,
                        (long long)paid))
    return PG_ERR_NOMEM;
  return PG_OK;
}

static int member_slot(maudit *m, const pg_audit_record *rec, pg_audit_slot_result *sr) {
  uint64_t k = rec->slot;
  const pg_audit_line *L = &rec->lines[0];
  sr->slot = k, sr->lines = 1, sr->readings = L->n_readings;
  sr->has_price = rec->t.has_price, sr->buy_price = rec->t.buy_price, sr->sell_price = rec->t.sell_price;
  sr->consumer_payments = rec->t.consumer_payments, sr->producer_revenues = rec->t.producer_revenues;
  if (!rec->complete)
    MDIFF(m, k, PG_AUDIT_RECORD, "slot %llu: the public record is incomplete", (unsigned long long)k);
  else if (!pg_audit_identity_holds(&rec->t))
    MDIFF(m, k, PG_AUDIT_SETTLEMENT, "slot %llu: the public totals break the money identity:"
          " consumers pay %lld, producers %lld + grid %lld + import %lld - export %lld",
          (unsigned long long)k, (long long)rec->t.consumer_payments,
          (long long)rec->t.producer_revenues, (long long)rec->t.grid_income,
          (long long)rec->t.import_cost, (long long)rec->t.export_income);
  if (L->role != m->k->me.role)
    MDIFF(m, k, PG_AUDIT_RECORD, "slot %llu: your line names you a %s", (unsigned long long)k,
          pg_grid_entity_name(L->role));
  int rc = check_line_readings(m, k, L);
  if (!rc && m->k->me.role == PG_GRID_ENTITY_CONSUMER) {
    sr->bills = L->request_id[0] != 0;
    rc = check_line_bill(m, k, L);
  }
  if (m->k->me.role == PG_GRID_ENTITY_PRODUCER) m->earned += L->total, sr->payouts = L->total > 0;
  return rc;
}

static int member_leftovers(maudit *m, uint64_t last) {
  const pg_audit_facts *f = m->f;
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < f->n_readings; i++)
    if (m->used_in[i] < 0 && f->readings[i].slot <= last)
      rc = pg_audit_note_add(m->r, "your reading for slot %llu (%lld Wh) is in no settlement"
                             " (quarantined by the grid, or ignored)",
                             (unsigned long long)f->readings[i].slot, (long long)f->readings[i].wh);
  for (size_t i = 0; !rc && i < f->n_requests; i++)
    if (!m->request_seen[i])
      rc = pg_audit_diff_add(m->r, true, f->requests[i].slot, PG_AUDIT_REQUEST, m->k->me.id,
                             "slot %llu: payment request %s asks %llu, but no line of the public"
                             " record stands behind it", (unsigned long long)f->requests[i].slot,
                             f->requests[i].request_id, (unsigned long long)f->requests[i].owed);
  if (!rc && m->k->me.role == PG_GRID_ENTITY_PRODUCER && !m->k->me.n_addresses)
    rc = pg_audit_note_add(m->r, "your keys name no payment address: the payouts you received"
                           " were not looked up");
  else if (!rc && m->k->me.role == PG_GRID_ENTITY_PRODUCER) {
    int64_t got = 0;
    size_t n = 0;
    for (size_t i = 0; i < f->n_received; i++)
      if (strncmp(f->received[i].reference, "p2pgrid:payout:", 15) == 0) got += (int64_t)f->received[i].amount, n++;
    rc = pg_audit_note_add(m->r, "you earned %lld by the record's lines; %zu payouts brought %lld to"
                           " your address (payouts wait until at least 1 Mi is owed)",
                           (long long)m->earned, n, (long long)got);
    if (!rc && got > m->earned)
      rc = pg_audit_note_add(m->r, "you received %lld more than the record's lines show",
                             (long long)(got - m->earned));
  }
  for (size_t i = 0; !rc && i < f->n_problems; i++)
    rc = pg_audit_diff_add(m->r, false, 0, PG_AUDIT_CHANNEL, m->k->me.id, "%s", f->problems[i]);
  return rc;
}

int pg_audit_member_compare(const pg_audit_keys *k, const pg_audit_facts *f, pg_audit_report *out,
                            pg_diag *d) {
  memset(out, 0, sizeof *out);
  out->member = true;
  snprintf(out->subject, sizeof out->subject, "%s", k->me.id);
  out->messages = f->messages, out->requests = f->n_requests;
  maudit m = {.k = k, .f = f, .r = out};
  m.used_in = malloc((f->n_readings + 1) * sizeof *m.used_in);
  m.request_seen = calloc(f->n_requests + 1, sizeof *m.request_seen);
  out->slots = calloc(f->n_records + 1, sizeof *out->slots);
  int rc = m.used_in && m.request_seen && out->slots ? maudit_init(&m) : PG_ERR_NOMEM;
  for (size_t i = 0; !rc && i < f->n_readings; i++) m.used_in[i] = -1;
  uint64_t last = 0;
  for (size_t i = 0; !rc && i < f->n_records; i++) {
    const pg_audit_record *rec = &f->records[i];
    if (rec->slot > last) last = rec->slot;
    if (rec->n_opened == 0) continue; /* not ours */
    rc = member_slot(&m, rec, &out->slots[out->n_slots++]);
  }
  if (!rc) rc = member_leftovers(&m, last);
  maudit_free(&m);
  if (rc) {
    pg_audit_report_free(out);
    return pg_fail(d, rc, "member audit: out of memory");
  }
  pg_audit_report_finish(out);
  return PG_OK;
}
