/* gather_record.c — the grid's public settlement record (docs/PROTOCOL.md
 * "Settlement record") read from its channel, parts joined per slot, the
 * lines opened with the side keys the auditor holds (grid/record.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "p2pgrid/grid/record.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"

typedef struct rkeys {      /* one per member channel */
  const pg_audit_member **owner;
  uint8_t (*m)[PG_RECORD_KEY];
  size_t n;
} rkeys;

/* The record of slot k in f (added when new). */
static pg_audit_record *record_slot(pg_audit_facts *f, uint64_t k, size_t *cap) {
  for (size_t i = f->n_records; i > 0; i--)
    if (f->records[i - 1].slot == k) return &f->records[i - 1];
  pg_audit_record *r = pg_audit_push(&f->records, &f->n_records, cap, sizeof *r);
  if (r) r->slot = k;
  return r;
}

static void head_from(pg_audit_record *r, const pg_grid_settlement *s) {
  r->settled_ms = s->settled_at;
  r->config.mech = (pg_market_mech)s->mechanism;
  r->config.import_price = s->config.import_price;
  r->config.export_price = s->config.export_price;
  r->config.fee_per_kwh = s->config.fee_per_kwh;
  r->config.fee_bp = s->config.fee_bp;
  r->config.fixed_buy_price = s->config.fixed_buy_price;
  r->config.fixed_sell_price = s->config.fixed_sell_price;
  pg_audit_totals *t = &r->t;
  const char *mech = pg_market_mech_name((pg_market_mech)s->mechanism);
  snprintf(t->mechanism, sizeof t->mechanism, "%s", mech ? mech : "?");
  const pg_grid_settle_totals *x = &s->totals;
  t->supply_wh = x->supply_wh, t->demand_wh = x->demand_wh, t->matched_wh = x->matched_wh;
  t->import_wh = x->import_wh, t->export_wh = x->export_wh;
  t->consumer_payments = x->consumer_payments, t->producer_revenues = x->producer_revenues;
  t->fees = x->fees, t->grid_income = x->grid_income, t->import_cost = x->import_cost;
  t->export_income = x->export_income, t->producers = x->producers, t->consumers = x->consumers;
  t->late_readings = x->late_readings;
  t->has_price = s->has_price, t->buy_price = s->buy_price, t->sell_price = s->sell_price;
}

static int line_from(pg_audit_line *L, const pg_record_plain *p) {
  snprintf(L->member, sizeof L->member, "%s", p->id);
  L->role = p->role;
  L->wh = p->wh, L->has_price = p->has_price, L->price = p->price;
  L->community_wh = p->community_wh, L->amount = p->amount, L->fee = p->fee;
  L->total = p->total, L->baseline = p->baseline;
  snprintf(L->request_id, sizeof L->request_id, "%s", p->request_id);
  L->readings = calloc(p->n_readings + 1, sizeof *L->readings);
  if (!L->readings) return PG_ERR_NOMEM;
  for (size_t i = 0; i < p->n_readings; i++) pg_hex_encode(p->readings[i], 32, L->readings[i]);
  L->n_readings = p->n_readings;
  return PG_OK;
}

/* Opens the lines of part s that any key opens into r. */
static int open_lines(pg_audit_record *r, size_t *cap, const pg_grid_settlement *s,
                      const rkeys *k, pg_audit_facts *f) {
  pg_record_plain *p = malloc(sizeof *p);
  if (!p) return PG_ERR_NOMEM;
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < k->n; i++) {
    pg_record_keys sk;
    pg_record_slot_keys(k->m[i], s->slot, &sk);
    long at = pg_record_find(s, sk.tag);
    if (at < 0) continue;
    pg_diag od = {{0}};
    if (pg_record_open(k->m[i], s->slot, &s->lines[at], p, &od) != PG_OK) {
      rc = pg_audit_facts_problem(f, "slot %llu: the record's line of %s does not open with its"
                                  " side key: %s", (unsigned long long)s->slot, k->owner[i]->id, od.msg);
      continue;
    }
    if (strcmp(p->id, k->owner[i]->id) != 0 || p->role != k->owner[i]->role) {
      rc = pg_audit_facts_problem(f, "slot %llu: the record's line under %s's key names %s (%s)",
                                  (unsigned long long)s->slot, k->owner[i]->id, p->id,
                                  pg_grid_entity_name(p->role));
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < r->n_opened && !dup; j++) dup = strcmp(r->lines[j].member, p->id) == 0;
    if (dup) continue; /* two channels of one member: the same line */
    pg_audit_line *L = pg_audit_push(&r->lines, &r->n_opened, cap, sizeof *L);
    rc = L ? line_from(L, p) : PG_ERR_NOMEM;
  }
  free(p);
  return rc;
}

/* One message of the record channel. */
static int take_message(const pg_mam_fetched *m, const rkeys *k, pg_audit_facts *f,
                        size_t *rcap, size_t **lcaps, uint32_t **seen) {
  char *text = NULL;
  size_t len = 0;
  int rc = pg_mam_trytes_to_text(m->message, m->message_len, &text, &len);
  if (rc) return rc == PG_ERR_NOMEM ? rc : pg_audit_facts_problem(f, "record: a message is not text");
  pg_grid_command cmd;
  pg_grid_settlement s;
  memset(&s, 0, sizeof s);
  pg_diag pd = {{0}};
  if (pg_grid_peek_command(text, len, &cmd, &pd) != PG_OK) {
    rc = pg_audit_facts_problem(f, "record: a message is not a grid message: %s", pd.msg);
  } else if (cmd == PG_GRID_CMD_SETTLEMENT) {
    if (pg_grid_settlement_parse(text, len, &s, &pd) != PG_OK) {
      rc = pg_audit_facts_problem(f, "record: a settlement message does not parse: %s", pd.msg);
    } else {
      size_t before = f->n_records;
      pg_audit_record *r = record_slot(f, s.slot, rcap);
      if (!r) rc = PG_ERR_NOMEM;
      if (!rc && f->n_records != before) { /* per record: line capacity and parts seen */
        size_t *nl = realloc(*lcaps, f->n_records * sizeof *nl);
        uint32_t *ns = realloc(*seen, f->n_records * sizeof *ns);
        if (nl) *lcaps = nl;
        if (ns) *seen = ns;
        if (!nl || !ns) rc = PG_ERR_NOMEM;
        else (*lcaps)[f->n_records - 1] = 0, (*seen)[f->n_records - 1] = 0;
      }
      size_t ri = r ? (size_t)(r - f->records) : 0;
      if (!rc && s.part == 1) head_from(r, &s);
      if (!rc) {
        (*seen)[ri] += 1;
        r->complete = (*seen)[ri] == s.parts; /* parts are read in order */
        r->n_lines += s.n_lines;
        rc = open_lines(r, &(*lcaps)[ri], &s, k, f);
      }
    }
  }
  pg_grid_settlement_free(&s);
  free(text);
  return rc;
}

static int cmp_record(const void *a, const void *b) {
  const pg_audit_record *x = a, *y = b;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* The member key of every channel of members[0..n). */
static int member_keys(const pg_audit_member *members, size_t n, rkeys *k) {
  size_t nk = 0;
  for (size_t i = 0; i < n; i++) nk += members[i].n_channels;
  k->m = calloc(nk + 1, sizeof *k->m);
  k->owner = calloc(nk + 1, sizeof *k->owner);
  if (!k->m || !k->owner) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < members[i].n_channels; j++, k->n++) {
      const char *sk = members[i].channels[j].side_key;
      k->owner[k->n] = &members[i];
      if (pg_record_member_key(members[i].id, sk, strlen(sk), k->m[k->n]) != PG_OK)
        memset(k->m[k->n], 0, PG_RECORD_KEY);
    }
  return PG_OK;
}

int pg_audit_read_record(pg_client *c, const char *root, const pg_audit_member *members, size_t n_members,
                         pg_audit_facts *f, pg_diag *d) {
  rkeys k = {0};
  pg_mam_fetched *list = NULL;
  size_t n = 0, rcap = f->n_records, *lcaps = NULL;
  uint32_t *seen = NULL;
  pg_diag fd = {{0}};
  int rc = member_keys(members, n_members, &k);
  if (!rc) rc = pg_mam_fetch_all(c, root, PG_MAM_PUBLIC, NULL, 0, 0, &list, &n, &fd);
  if (rc && rc != PG_ERR_NOMEM)
    rc = pg_audit_facts_problem(f, "the record channel %.12s… cannot be read: %s", root, fd.msg);
  for (size_t i = 0; !rc && i < n; i++) {
    f->messages++;
    rc = take_message(&list[i], &k, f, &rcap, &lcaps, &seen);
  }
  pg_mam_fetched_free_all(list, n);
  free(lcaps), free(seen), free(k.m), free(k.owner);
  if (!rc && f->n_records) qsort(f->records, f->n_records, sizeof *f->records, cmp_record);
  return rc ? pg_fail(d, rc, "out of memory") : PG_OK;
}
