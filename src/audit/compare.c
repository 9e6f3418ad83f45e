/* compare.c — the full audit's comparison (pure: no I/O). Every slot of the
 * export is re-settled with pg_market_settle from the readings as the
 * Tangle has them and the configuration in force; every claimed number is
 * compared with the re-settlement, the record and the ledger facts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "p2pgrid/base/hex.h"

/* ---- the audit's state ---- */

typedef struct audit audit;
static size_t find_reading(const audit *a, const char *msg_id);

typedef struct paid_payout { /* a payout row in a batch, with its re-settled amount */
  int64_t batch_id;
  char producer[PG_GRID_MAX_ID + 1];
  pg_audit_addr address;
  int64_t amount;
  uint64_t slot;
} paid_payout;

typedef struct party {
  char id[PG_GRID_MAX_ID + 1];
  pg_grid_entity kind;
  int64_t wh;
  uint64_t max_slot;
  bool has_price;
  uint64_t price;
  size_t late;
} party;

struct audit {
  const pg_audit_export *e;
  const pg_audit_facts *f;
  pg_audit_report *r;
  const char **reading_keys, **request_keys, **payment_keys;
  pg_audit_lookup readings, requests, payments; /* facts by msg id, request id, reference */
  const char **alias_keys;
  pg_audit_lookup aliases;                      /* facts aliases by alias id */
  int64_t *used_in;                    /* per facts reading: slot it was settled in, -1 */
  bool *request_seen;
  paid_payout *paid;
  size_t n_paid, cap_paid;
  const char *grid_address; /* the export's, else the one payments were looked up for */
  pg_audit_months *months;  /* the monthly items re-derived (months.c) */
};

/* The facts reading with this message id, or another attachment of it. */
static size_t find_reading(const audit *a, const char *msg_id) {
  size_t t = pg_audit_lookup_find(&a->readings, msg_id);
  if (t != SIZE_MAX) return t;
  size_t x = pg_audit_lookup_find(&a->aliases, msg_id);
  return x == SIZE_MAX ? SIZE_MAX : pg_audit_lookup_find(&a->readings, a->f->aliases[x].canonical);
}

static const pg_audit_config *config_for(const pg_audit_export *e, uint64_t k) {
  const pg_audit_config *c = NULL;
  for (size_t i = 0; i < e->n_config; i++)
    if (e->config[i].from_slot <= k) c = &e->config[i];
  return c;
}

static const pg_audit_record *record_for(const pg_audit_facts *f, uint64_t k) {
  size_t lo = 0, hi = f->n_records;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (f->records[mid].slot < k) lo = mid + 1;
    else hi = mid;
  }
  return lo < f->n_records && f->records[lo].slot == k ? &f->records[lo] : NULL;
}

static const pg_audit_member *member_of(const pg_audit_export *e, const char *id) {
  size_t lo = 0, hi = e->n_members;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(e->members[mid].id, id);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid;
    else return &e->members[mid];
  }
  return NULL;
}

static const pg_audit_line *line_of(const pg_audit_record *rec, const char *id) {
  for (size_t i = 0; rec && i < rec->n_opened; i++)
    if (strcmp(rec->lines[i].member, id) == 0) return &rec->lines[i];
  return NULL;
}

static void fmt_price(char *buf, size_t cap, bool has, uint64_t p) {
  if (has) snprintf(buf, cap, "%llu", (unsigned long long)p);
  else snprintf(buf, cap, "none");
}

#define DIFF(a, k, kind, who, ...)                                                     \
  do {                                                                                 \
    if (pg_audit_diff_add((a)->r, true, (k), (kind), (who), __VA_ARGS__)) return PG_ERR_NOMEM; \
  } while (0)

/* ---- readings ---- */

/* The grid's reading x (settled in k) against the member's channel. */
static int check_claimed_reading(audit *a, uint64_t k, const pg_audit_reading *x) {
  size_t t = find_reading(a, x->msg_id);
  if (t == SIZE_MAX) {
    DIFF(a, k, PG_AUDIT_READING, x->member,
         "reading %.16s… of %s (slot %llu, %lld Wh) that the grid settled is not on %s's channels",
         x->msg_id, x->member, (unsigned long long)x->slot, (long long)x->wh, x->member);
    return PG_OK;
  }
  const pg_audit_reading *y = &a->f->readings[t];
  if (strcmp(x->member, y->member) != 0)
    DIFF(a, k, PG_AUDIT_READING, x->member,
         "reading %.16s…: the grid books it for %s, the Tangle has it on %s's channel", x->msg_id,
         x->member, y->member);
  if (x->kind != y->kind)
    DIFF(a, k, PG_AUDIT_READING, x->member, "reading %.16s… of %s: grid's kind %s, Tangle's %s",
         x->msg_id, x->member, pg_grid_entity_name(x->kind), pg_grid_entity_name(y->kind));
  if (x->slot != y->slot)
    DIFF(a, k, PG_AUDIT_READING, x->member, "reading %.16s… of %s: grid's slot %llu, Tangle's %llu",
         x->msg_id, x->member, (unsigned long long)x->slot, (unsigned long long)y->slot);
  if (x->wh != y->wh)
    DIFF(a, k, PG_AUDIT_READING, x->member,
         "reading of %s for slot %llu: grid's %lld Wh, Tangle's %lld Wh (message %.16s…)",
         x->member, (unsigned long long)y->slot, (long long)x->wh, (long long)y->wh, x->msg_id);
  if (x->has_price != y->has_price || (x->has_price && x->price != y->price)) {
    char g[24], tg[24];
    fmt_price(g, sizeof g, x->has_price, x->price);
    fmt_price(tg, sizeof tg, y->has_price, y->price);
    DIFF(a, k, PG_AUDIT_READING, x->member,
         "reading of %s for slot %llu: grid's price %s, Tangle's %s (message %.16s…)", x->member,
         (unsigned long long)y->slot, g, tg, x->msg_id);
  }
  return PG_OK;
}

static int add_to_party(party **v, size_t *n, size_t *cap, const pg_audit_reading *y, uint64_t k) {
  party *p = NULL;
  bool fresh = false;
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*v)[i].id, y->member) == 0) p = &(*v)[i];
  if (!p) {
    p = pg_audit_push(v, n, cap, sizeof *p);
    if (!p) return PG_ERR_NOMEM;
    snprintf(p->id, sizeof p->id, "%s", y->member);
    p->kind = y->kind;
    fresh = true;
  }
  p->wh += y->wh;
  if (y->slot < k) p->late++;
  if (fresh || y->slot >= p->max_slot) { /* the latest reading's price, as the grid's */
    p->max_slot = y->slot;
    p->has_price = y->has_price;
    p->price = y->price;
  }
  return PG_OK;
}

/* Adds Tangle reading t (msg id) to the slot's parties once; a reading
 * settled in two slots is a difference. */
static int use_reading(audit *a, uint64_t k, size_t t, party **v, size_t *n, size_t *cap) {
  const pg_audit_reading *y = &a->f->readings[t];
  if (a->used_in[t] == (int64_t)k) return PG_OK;
  if (a->used_in[t] >= 0) {
    DIFF(a, k, PG_AUDIT_READING, y->member,
         "reading of %s for slot %llu (message %.16s…) is settled twice: in slot %lld and in slot %llu",
         y->member, (unsigned long long)y->slot, y->msg_id, (long long)a->used_in[t],
         (unsigned long long)k);
    return PG_OK;
  }
  a->used_in[t] = (int64_t)k;
  if (y->kind == PG_GRID_ENTITY_CONSUMER &&
      pg_audit_months_reading(a->months, k, y->member, y->slot, y->wh))
    return PG_ERR_NOMEM;
  return add_to_party(v, n, cap, y, k);
}

static int cmp_party(const void *x, const void *y) {
  return strcmp(((const party *)x)->id, ((const party *)y)->id);
}

/* The slot's parties from the Tangle: the readings the grid claims and those
 * the record's lines name. */
static int slot_parties(audit *a, const pg_audit_slot_claim *s, const pg_audit_record *rec,
                        party **v, size_t *n) {
  size_t cap = 0;
  uint64_t k = s->slot;
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < s->n_readings; i++) {
    rc = check_claimed_reading(a, k, &s->readings[i]);
    size_t t = find_reading(a, s->readings[i].msg_id);
    if (!rc && t != SIZE_MAX) rc = use_reading(a, k, t, v, n, &cap);
  }
  for (size_t l = 0; !rc && rec && l < rec->n_opened; l++) {
    const pg_audit_line *L = &rec->lines[l];
    for (size_t i = 0; !rc && i < L->n_readings; i++) {
      bool claimed = false;
      for (size_t j = 0; j < s->n_readings && !claimed; j++)
        claimed = strcmp(s->readings[j].msg_id, L->readings[i]) == 0;
      if (!claimed)
        rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_RECORD, L->member,
                               "the record's line of %s names reading %.16s… that the grid's export"
                               " does not settle in slot %llu",
                               L->member, L->readings[i], (unsigned long long)k);
      size_t t = find_reading(a, L->readings[i]);
      if (!rc && t == SIZE_MAX && !claimed)
        rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_READING, L->member,
                               "reading %.16s… named in the record's line of %s is not on its channels",
                               L->readings[i], L->member);
      if (!rc && t != SIZE_MAX) rc = use_reading(a, k, t, v, n, &cap);
    }
  }
  if (!rc && *n) qsort(*v, *n, sizeof **v, cmp_party);
  return rc;
}

/* ---- totals ---- */

static int cmp_num(audit *a, uint64_t k, pg_audit_kind kind, const char *src, const char *what,
                   int64_t grid, int64_t tangle) {
  if (grid != tangle)
    DIFF(a, k, kind, "grid", "slot %llu: %s %s: %s %lld, re-settled from the Tangle %lld",
         (unsigned long long)k, src, what, src, (long long)grid, (long long)tangle);
  return PG_OK;
}

static int same_double(double x, double y) {
  return memcmp(&x, &y, sizeof x) == 0 || x == y;
}

/* A slot's totals t (the grid's export, or the record: src) against the
 * re-settlement res over np producers and nc consumers with `late` late
 * readings. */
static int check_totals(audit *a, uint64_t k, const char *src, pg_audit_kind kind,
                        const pg_audit_totals *t, const pg_market_result *res, int64_t np,
                        int64_t nc, int64_t late) {
  const char *mech = pg_market_mech_name(res->mech);
  if (strcmp(t->mechanism, mech) != 0)
    DIFF(a, k, kind, "grid", "slot %llu: %s mechanism '%s', configuration in force '%s'",
         (unsigned long long)k, src, t->mechanism, mech);
  const struct {
    const char *name;
    int64_t g, x;
  } v[] = {
      {"supply (Wh)", t->supply_wh, res->supply_wh},
      {"demand (Wh)", t->demand_wh, res->demand_wh},
      {"matched energy (Wh)", t->matched_wh, res->matched_wh},
      {"import (Wh)", t->import_wh, res->import_wh},
      {"export (Wh)", t->export_wh, res->export_wh},
      {"consumer payments", t->consumer_payments, res->consumer_payments},
      {"producer revenues", t->producer_revenues, res->producer_revenues},
      {"fees", t->fees, res->fees},
      {"grid income", t->grid_income, res->grid_income},
      {"import cost", t->import_cost, res->utility_import_cost},
      {"export income", t->export_income, res->utility_export_income},
      {"producers", t->producers, np},
      {"consumers", t->consumers, nc},
      {"late readings", t->late_readings, late},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (cmp_num(a, k, kind, src, v[i].name, v[i].g, v[i].x)) return PG_ERR_NOMEM;
  if (t->has_price != res->has_price)
    DIFF(a, k, kind, "grid", "slot %llu: %s says %s community price, the re-settlement %s",
         (unsigned long long)k, src, t->has_price ? "a" : "no", res->has_price ? "has one" : "has none");
  else if (t->has_price && !same_double(t->buy_price, res->buy_price))
    DIFF(a, k, kind, "grid", "slot %llu: %s buy price %.17g, re-settled from the Tangle %.17g",
         (unsigned long long)k, src, t->buy_price, res->buy_price);
  else if (t->has_price && !same_double(t->sell_price, res->sell_price))
    DIFF(a, k, kind, "grid", "slot %llu: %s sell price %.17g, re-settled from the Tangle %.17g",
         (unsigned long long)k, src, t->sell_price, res->sell_price);
  return PG_OK;
}

static int check_record_config(audit *a, uint64_t k, const pg_audit_record *rec,
                               const pg_audit_config *c) {
  const pg_audit_config *x = &rec->config;
  if (x->mech != c->mech || x->import_price != c->import_price ||
      x->export_price != c->export_price || x->fee_per_kwh != c->fee_per_kwh ||
      x->fee_bp != c->fee_bp || x->fixed_buy_price != c->fixed_buy_price ||
      x->fixed_sell_price != c->fixed_sell_price)
    DIFF(a, k, PG_AUDIT_RECORD, "grid",
         "slot %llu: the record's configuration (%s, import %llu, export %llu, fee %llu/kWh + %llu bp)"
         " is not the export's history (%s, import %llu, export %llu, fee %llu/kWh + %llu bp)",
         (unsigned long long)k, pg_market_mech_name(x->mech), (unsigned long long)x->import_price,
         (unsigned long long)x->export_price, (unsigned long long)x->fee_per_kwh,
         (unsigned long long)x->fee_bp, pg_market_mech_name(c->mech),
         (unsigned long long)c->import_price, (unsigned long long)c->export_price,
         (unsigned long long)c->fee_per_kwh, (unsigned long long)c->fee_bp);
  return PG_OK;
}

/* ---- the parties' money ---- */

#define CMP_FIELD(a, k, kind, who, what, src, g, x)                                            \
  do {                                                                                         \
    if ((int64_t)(g) != (int64_t)(x))                                                          \
      DIFF(a, k, kind, who, "slot %llu: %s of %s: %s %lld, re-settled from the Tangle %lld",   \
           (unsigned long long)(k), what, who, src, (long long)(g), (long long)(x));           \
  } while (0)

/* A party's record line against its re-settlement. */
static int check_line(audit *a, uint64_t k, const pg_audit_record *rec, const party *p,
                      const pg_market_party *m, const char *request_id) {
  const pg_audit_line *L = line_of(rec, p->id);
  if (!rec || !rec->complete) return PG_OK;
  if (!L) {
    DIFF(a, k, PG_AUDIT_RECORD, p->id, "slot %llu: the record has no line that %s's side keys open",
         (unsigned long long)k, p->id);
    return PG_OK;
  }
  const char *src = "the record's line";
  CMP_FIELD(a, k, PG_AUDIT_RECORD, p->id, "energy (Wh)", src, L->wh, p->wh);
  CMP_FIELD(a, k, PG_AUDIT_RECORD, p->id, "community energy (Wh)", src, L->community_wh, m->community_wh);
  CMP_FIELD(a, k, PG_AUDIT_RECORD, p->id, "energy charge", src, L->amount, m->amount);
  CMP_FIELD(a, k, PG_AUDIT_RECORD, p->id, "fee", src, L->fee, m->fee);
  CMP_FIELD(a, k, PG_AUDIT_RECORD, p->id, "total", src, L->total, m->total);
  CMP_FIELD(a, k, PG_AUDIT_RECORD, p->id, "baseline", src, L->baseline, m->baseline);
  if (L->has_price != p->has_price || (L->has_price && L->price != p->price)) {
    char g[24], x[24];
    fmt_price(g, sizeof g, L->has_price, L->price);
    fmt_price(x, sizeof x, p->has_price, p->price);
    DIFF(a, k, PG_AUDIT_RECORD, p->id, "slot %llu: price of %s: the record's line %s, Tangle's reading %s",
         (unsigned long long)k, p->id, g, x);
  }
  if (strcmp(L->request_id, request_id) != 0)
    DIFF(a, k, PG_AUDIT_RECORD, p->id, "slot %llu: bill of %s: the record's line names request '%s',"
         " the grid's export '%s'", (unsigned long long)k, p->id, L->request_id, request_id);
  return PG_OK;
}

/* The payment request on the consumer's return channel. */
static int check_request(audit *a, uint64_t k, const pg_audit_bill *b, const party *p,
                         const pg_market_party *m) {
  size_t i = pg_audit_lookup_find(&a->requests, b->request_id);
  if (i == SIZE_MAX) {
    DIFF(a, k, PG_AUDIT_REQUEST, p->id, "slot %llu: bill %s of %s has no payment request on its"
         " return channel", (unsigned long long)k, b->request_id, p->id);
    return PG_OK;
  }
  a->request_seen[i] = true;
  const pg_audit_request *q = &a->f->requests[i];
  const char *src = "the payment request";
  if (strcmp(q->member, p->id) != 0)
    DIFF(a, k, PG_AUDIT_REQUEST, p->id, "slot %llu: request %s of %s is on %s's return channel",
         (unsigned long long)k, b->request_id, p->id, q->member);
  CMP_FIELD(a, k, PG_AUDIT_REQUEST, p->id, "slot", src, q->slot, k);
  CMP_FIELD(a, k, PG_AUDIT_REQUEST, p->id, "amount owed", src, q->owed, m->total);
  CMP_FIELD(a, k, PG_AUDIT_REQUEST, p->id, "usage (Wh)", src, q->usage_wh, p->wh);
  if (strcmp(q->address, a->grid_address) != 0)
    DIFF(a, k, PG_AUDIT_REQUEST, p->id, "slot %llu: request %s of %s asks payment to %s, not the"
         " grid's address %s", (unsigned long long)k, b->request_id, p->id, q->address,
         a->grid_address);
  if (strcmp(q->reference, b->reference) != 0)
    DIFF(a, k, PG_AUDIT_REQUEST, p->id, "slot %llu: request %s of %s: grid's reference '%s',"
         " Tangle's '%s'", (unsigned long long)k, b->request_id, p->id, b->reference, q->reference);
  return PG_OK;
}

/* What the ledger shows paid under the bill's reference. */
static int check_payment(audit *a, uint64_t k, const pg_audit_bill *b, const pg_market_party *m) {
  size_t i = pg_audit_lookup_find(&a->payments, b->reference);
  int64_t on_ledger = i == SIZE_MAX ? 0 : a->f->payments[i].paid;
  a->r->payments++;
  if (b->paid != on_ledger)
    DIFF(a, k, PG_AUDIT_PAYMENT, b->consumer, "slot %llu: bill %s of %s: grid's paid %lld, the"
         " ledger's confirmed transfers to the grid under '%s' %lld", (unsigned long long)k,
         b->request_id, b->consumer, (long long)b->paid, b->reference, (long long)on_ledger);
  else if (b->paid >= b->owed && on_ledger < m->total)
    DIFF(a, k, PG_AUDIT_PAYMENT, b->consumer, "slot %llu: bill %s of %s is marked paid, but the"
         " ledger's transfers (%lld) do not cover the re-settled %lld", (unsigned long long)k,
         b->request_id, b->consumer, (long long)on_ledger, (long long)m->total);
  return PG_OK;
}

static int check_consumer(audit *a, const pg_audit_slot_claim *s, const pg_audit_record *rec,
                          const party *p, const pg_market_party *m, bool *billed) {
  uint64_t k = s->slot;
  const pg_audit_bill *b = NULL;
  for (size_t i = 0; i < s->n_bills; i++)
    if (!s->bills[i].month && strcmp(s->bills[i].consumer, p->id) == 0) {
      if (b)
        DIFF(a, k, PG_AUDIT_BILL, p->id, "slot %llu: %s has two bills (%s and %s)",
             (unsigned long long)k, p->id, b->request_id, s->bills[i].request_id);
      else b = &s->bills[i], billed[i] = true;
    }
  if (!b && m->total > 0)
    DIFF(a, k, PG_AUDIT_BILL, p->id, "slot %llu: %s owes %lld by the re-settlement, the grid has no bill",
         (unsigned long long)k, p->id, (long long)m->total);
  if (b) {
    const char *src = "grid's bill";
    CMP_FIELD(a, k, PG_AUDIT_BILL, p->id, "usage (Wh)", src, b->usage_wh, p->wh);
    CMP_FIELD(a, k, PG_AUDIT_BILL, p->id, "community energy (Wh)", src, b->community_wh, m->community_wh);
    CMP_FIELD(a, k, PG_AUDIT_BILL, p->id, "energy charge", src, b->amount, m->amount);
    CMP_FIELD(a, k, PG_AUDIT_BILL, p->id, "fee", src, b->fee, m->fee);
    CMP_FIELD(a, k, PG_AUDIT_BILL, p->id, "amount owed", src, b->owed, m->total);
    CMP_FIELD(a, k, PG_AUDIT_BILL, p->id, "baseline", src, b->baseline, m->baseline);
    if (check_request(a, k, b, p, m) || check_payment(a, k, b, m)) return PG_ERR_NOMEM;
  }
  if (pg_audit_months_charge(a->months, k, p->id, m->amount, m->fee)) return PG_ERR_NOMEM;
  return check_line(a, k, rec, p, m, b ? b->request_id : "");
}

static bool member_has_address(const pg_audit_export *e, const char *id, const char *addr) {
  const pg_audit_member *mb = member_of(e, id);
  for (size_t i = 0; mb && i < mb->n_addresses; i++)
    if (strcmp(mb->addresses[i], addr) == 0) return true;
  return false;
}

static int check_producer(audit *a, const pg_audit_slot_claim *s, const pg_audit_record *rec,
                          const party *p, const pg_market_party *m, bool *paid_out) {
  uint64_t k = s->slot;
  const pg_audit_payout *o = NULL;
  for (size_t i = 0; i < s->n_payouts; i++)
    if (strcmp(s->payouts[i].producer, p->id) == 0) o = &s->payouts[i], paid_out[i] = true;
  if (!o && m->total > 0)
    DIFF(a, k, PG_AUDIT_PAYOUT, p->id, "slot %llu: %s earns %lld by the re-settlement, the grid"
         " has no payout", (unsigned long long)k, p->id, (long long)m->total);
  if (o) {
    const char *src = "grid's payout";
    CMP_FIELD(a, k, PG_AUDIT_PAYOUT, p->id, "output (Wh)", src, o->output_wh, p->wh);
    CMP_FIELD(a, k, PG_AUDIT_PAYOUT, p->id, "community energy (Wh)", src, o->community_wh, m->community_wh);
    CMP_FIELD(a, k, PG_AUDIT_PAYOUT, p->id, "amount", src, o->amount, m->total);
    CMP_FIELD(a, k, PG_AUDIT_PAYOUT, p->id, "baseline", src, o->baseline, m->baseline);
    if (!member_has_address(a->e, p->id, o->address))
      DIFF(a, k, PG_AUDIT_PAYOUT, p->id, "slot %llu: payout of %s goes to %s, not an address of %s",
           (unsigned long long)k, p->id, o->address, p->id);
    if (o->has_batch) {
      paid_payout *x = pg_audit_push(&a->paid, &a->n_paid, &a->cap_paid, sizeof *x);
      if (!x) return PG_ERR_NOMEM;
      x->batch_id = o->batch_id, x->amount = m->total, x->slot = k;
      snprintf(x->producer, sizeof x->producer, "%s", p->id);
      snprintf(x->address, sizeof x->address, "%s", o->address);
    }
  }
  return check_line(a, k, rec, p, m, "");
}

/* Bills and payouts of the slot that belong to nobody the re-settlement has. */
static int check_strays(audit *a, const pg_audit_slot_claim *s, const bool *billed,
                        const bool *paid_out) {
  for (size_t i = 0; i < s->n_bills; i++)
    if (!billed[i] && !s->bills[i].month) /* month bills: check_month_bills */
      DIFF(a, s->slot, PG_AUDIT_BILL, s->bills[i].consumer, "slot %llu: bill %s of %s (%lld) has no"
           " reading of %s on the Tangle behind it", (unsigned long long)s->slot,
           s->bills[i].request_id, s->bills[i].consumer, (long long)s->bills[i].owed,
           s->bills[i].consumer);
  for (size_t i = 0; i < s->n_payouts; i++)
    if (!paid_out[i])
      DIFF(a, s->slot, PG_AUDIT_PAYOUT, s->payouts[i].producer, "slot %llu: payout of %lld to %s has"
           " no reading of %s on the Tangle behind it", (unsigned long long)s->slot,
           (long long)s->payouts[i].amount, s->payouts[i].producer, s->payouts[i].producer);
  return PG_OK;
}

/* ---- one slot ---- */

typedef struct market_in {
  pg_market_producer *mp;
  pg_market_consumer *mc;
  size_t np, nc;
  int64_t late;
} market_in;

/* The sharing settings in force at slot k (NULL: none). */
static const pg_audit_sharing *sharing_for(const pg_audit_export *e, uint64_t k) {
  const pg_audit_sharing *s = NULL;
  for (size_t i = 0; i < e->n_sharing; i++)
    if (e->sharing[i].from_slot <= k) s = &e->sharing[i];
  return s;
}

/* The market's parties; sh: the sharing members' keys, groups and
 * participation applied as the grid applies them (NULL: none). */
static int build_market(const party *v, size_t n, const pg_audit_sharing *sh, market_in *in) {
  memset(in, 0, sizeof *in);
  in->mp = calloc(n + 1, sizeof *in->mp);
  in->mc = calloc(n + 1, sizeof *in->mc);
  if (!in->mp || !in->mc) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    in->late += (int64_t)v[i].late;
    if (v[i].kind == PG_GRID_ENTITY_PRODUCER) {
      in->mp[in->np++] = (pg_market_producer){.id = v[i].id, .output_wh = v[i].wh,
                                              .ask_per_kwh = v[i].price, .has_ask = v[i].has_price};
    } else {
      pg_market_consumer *c = &in->mc[in->nc++];
      *c = (pg_market_consumer){.id = v[i].id, .usage_wh = v[i].wh, .bid_per_kwh = v[i].price,
                                .has_bid = v[i].has_price};
      if (sh) pg_grid_share_apply(sh->members, sh->n_members, c);
    }
  }
  return PG_OK;
}

static int check_parties(audit *a, const pg_audit_slot_claim *s, const pg_audit_record *rec,
                         const party *v, size_t n, const pg_market_result *res) {
  bool *billed = calloc(s->n_bills + 1, sizeof *billed);
  bool *paid_out = calloc(s->n_payouts + 1, sizeof *paid_out);
  int rc = billed && paid_out ? PG_OK : PG_ERR_NOMEM;
  size_t ip = 0, ic = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    if (v[i].kind == PG_GRID_ENTITY_PRODUCER)
      rc = check_producer(a, s, rec, &v[i], &res->producers[ip++], paid_out);
    else
      rc = check_consumer(a, s, rec, &v[i], &res->consumers[ic++], billed);
  }
  if (!rc) rc = check_strays(a, s, billed, paid_out);
  free(billed);
  free(paid_out);
  return rc;
}

static int settle_slot(audit *a, const pg_audit_slot_claim *s, const pg_audit_record *rec,
                       const pg_audit_config *c, const party *v, size_t n,
                       pg_audit_slot_result *sr) {
  uint64_t k = s->slot;
  market_in in;
  const pg_audit_sharing *sh = pg_market_mech_is_sharing(c->mech) ? sharing_for(a->e, k) : NULL;
  int rc = build_market(v, n, sh, &in);
  pg_market_slot ms = {.producers = in.mp, .n_producers = in.np, .consumers = in.mc,
                       .n_consumers = in.nc, .import_price = c->import_price,
                       .export_price = c->export_price, .fee_per_kwh = c->fee_per_kwh,
                       .fee_bp = c->fee_bp, .fixed_buy_price = c->fixed_buy_price,
                       .fixed_sell_price = c->fixed_sell_price,
                       .community_price = sh ? sh->community_price : 0,
                       .group_rules = sh ? sh->rules : NULL, .n_group_rules = sh ? sh->n_rules : 0};
  pg_market_result res;
  memset(&res, 0, sizeof res);
  pg_diag md = {{0}};
  int mrc = rc ? rc : pg_market_settle(&ms, c->mech, &res, &md);
  if (!rc && mrc == PG_ERR_NOMEM) rc = PG_ERR_NOMEM;
  else if (!rc && mrc)
    rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_SETTLEMENT, "grid",
                           "slot %llu: the Tangle's readings cannot be settled with the"
                           " configuration in force: %s", (unsigned long long)k, md.msg);
  if (!rc && !mrc) {
    sr->has_price = res.has_price, sr->buy_price = res.buy_price, sr->sell_price = res.sell_price;
    sr->consumer_payments = res.consumer_payments, sr->producer_revenues = res.producer_revenues;
    rc = check_totals(a, k, "grid's", PG_AUDIT_SETTLEMENT, &s->t, &res, (int64_t)in.np,
                      (int64_t)in.nc, in.late);
    if (!rc && rec && rec->complete)
      rc = check_totals(a, k, "the record's", PG_AUDIT_RECORD, &rec->t, &res, (int64_t)in.np,
                        (int64_t)in.nc, in.late);
    if (!rc) rc = check_parties(a, s, rec, v, n, &res);
  }
  if (!mrc) pg_market_result_free(&res);
  free(in.mp);
  free(in.mc);
  return rc;
}

/* One month bill against the monthly items re-derived. */
static int check_month_bill(audit *a, uint64_t k, const pg_audit_bill *b,
                            const pg_audit_month_bill *x) {
  party p = {.kind = PG_GRID_ENTITY_CONSUMER};
  snprintf(p.id, sizeof p.id, "%s", x->consumer);
  pg_market_party m = {.amount = x->amount, .fee = x->fee, .total = x->owed};
  const char *src = "grid's month bill";
  CMP_FIELD(a, k, PG_AUDIT_BILL, p.id, "membership and capacity", src, b->amount, x->amount);
  CMP_FIELD(a, k, PG_AUDIT_BILL, p.id, "VAT", src, b->fee, x->fee);
  CMP_FIELD(a, k, PG_AUDIT_BILL, p.id, "amount owed", src, b->owed, x->owed);
  int rc = check_request(a, k, b, &p, &m);
  return rc ? rc : check_payment(a, k, b, &m);
}

/* The month bills of slot k against the monthly items re-derived from the
 * Tangle (months.c): each expected one billed once with its amounts, its
 * payment request and payment checked as a slot bill's; none left over. */
static int check_month_bills(audit *a, const pg_audit_slot_claim *s) {
  uint64_t k = s->slot;
  pg_audit_month_bill *want = NULL;
  size_t n = 0;
  pg_diag md = {{0}};
  int rc = pg_audit_months_due(a->months, k, &want, &n, &md);
  if (rc == PG_ERR_NOMEM) return rc;
  if (rc)
    return pg_audit_diff_add(a->r, true, k, PG_AUDIT_BILL, "grid",
                             "slot %llu: the monthly items cannot be computed: %s",
                             (unsigned long long)k, md.msg);
  bool *seen = calloc(s->n_bills + 1, sizeof *seen);
  if (!seen) rc = PG_ERR_NOMEM;
  for (size_t w = 0; !rc && w < n; w++) {
    const pg_audit_month_bill *x = &want[w];
    const pg_audit_bill *b = NULL;
    for (size_t i = 0; i < s->n_bills && !b; i++)
      if (s->bills[i].month && !seen[i] && strcmp(s->bills[i].consumer, x->consumer) == 0)
        b = &s->bills[i], seen[i] = true;
    if (!b) {
      rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_BILL, x->consumer,
                             "slot %llu: %s owes %lld of monthly items by the Tangle, the grid has"
                             " no month bill", (unsigned long long)k, x->consumer,
                             (long long)x->owed);
      continue;
    }
    rc = check_month_bill(a, k, b, x);
  }
  for (size_t i = 0; !rc && i < s->n_bills; i++)
    if (s->bills[i].month && !seen[i])
      rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_BILL, s->bills[i].consumer,
                             "slot %llu: month bill %s of %s (%lld) is not owed by the Tangle's"
                             " readings and the tariff in force", (unsigned long long)k,
                             s->bills[i].request_id, s->bills[i].consumer,
                             (long long)s->bills[i].owed);
  free(seen);
  free(want);
  return rc;
}

static int audit_slot(audit *a, const pg_audit_slot_claim *s, pg_audit_slot_result *sr) {
  uint64_t k = s->slot;
  const pg_audit_record *rec = record_for(a->f, k);
  const pg_audit_config *c = config_for(a->e, k);
  sr->slot = k;
  sr->readings = s->n_readings, sr->bills = s->n_bills, sr->payouts = s->n_payouts;
  sr->lines = rec ? rec->n_opened : 0;
  int rc = PG_OK;
  if (a->e->record_root[0] && !rec)
    rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_RECORD, "grid",
                           "slot %llu: no settlement record on the Tangle", (unsigned long long)k);
  else if (rec && !rec->complete)
    rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_RECORD, "grid",
                           "slot %llu: the settlement record is incomplete (a part is missing)",
                           (unsigned long long)k);
  if (!rc && rec && rec->complete && rec->n_opened < rec->n_lines)
    rc = pg_audit_diff_add(a->r, true, k, PG_AUDIT_RECORD, "grid",
                           "slot %llu: %zu of the record's %zu lines open with no member's side key",
                           (unsigned long long)k, rec->n_lines - rec->n_opened, rec->n_lines);
  if (rc) return rc;
  if (!c)
    return pg_audit_diff_add(a->r, true, k, PG_AUDIT_SETTLEMENT, "grid",
                             "slot %llu: no configuration in force (the history starts later)",
                             (unsigned long long)k);
  if (rec && rec->complete && (rc = check_record_config(a, k, rec, c))) return rc;
  party *v = NULL;
  size_t n = 0;
  rc = slot_parties(a, s, rec, &v, &n);
  if (!rc) rc = settle_slot(a, s, rec, c, v, n, sr);
  if (!rc) rc = check_month_bills(a, s);
  free(v);
  return rc;
}

/* ---- after the slots: batches, strays, problems ---- */

static int batch_expected(const audit *a, int64_t id, pg_audit_output *exp, size_t *n,
                          int64_t *sum) {
  *n = 0;
  *sum = 0;
  for (size_t i = 0; i < a->n_paid; i++) {
    if (a->paid[i].batch_id != id) continue;
    uint8_t addr[32];
    if (pg_audit_address_bytes(a->paid[i].address, addr) != PG_OK) continue;
    size_t j = 0;
    while (j < *n && memcmp(exp[j].address, addr, 32) != 0) j++;
    if (j == *n) {
      if (*n == PG_AUDIT_MAX_BATCH_OUTPUTS) return PG_ERR_TOO_LARGE;
      memcpy(exp[j].address, addr, 32);
      exp[j].amount = 0;
      (*n)++;
    }
    exp[j].amount += (uint64_t)a->paid[i].amount;
    *sum += a->paid[i].amount;
  }
  return PG_OK;
}

static int check_batch(audit *a, const pg_audit_batch *b, const pg_audit_transfer *t,
                       const uint8_t grid[32]) {
  char who[PG_GRID_MAX_ID + 1];
  snprintf(who, sizeof who, "batch %lld", (long long)b->id);
  pg_audit_report *r = a->r;
  r->batches++;
  if (!t || !t->found)
    return pg_audit_diff_add(r, false, 0, PG_AUDIT_BATCH, who, "payout batch %lld: message %.16s…"
                             " is not on the Tangle", (long long)b->id, b->msg_id);
  if (!t->included)
    return pg_audit_diff_add(r, false, 0, PG_AUDIT_BATCH, who, "payout batch %lld: message %.16s…"
                             " is not a transaction the ledger included", (long long)b->id, b->msg_id);
  pg_audit_output exp[PG_AUDIT_MAX_BATCH_OUTPUTS];
  size_t n = 0;
  int64_t sum = 0;
  if (batch_expected(a, b->id, exp, &n, &sum))
    return pg_audit_diff_add(r, false, 0, PG_AUDIT_BATCH, who, "payout batch %lld: more than %d"
                             " addresses", (long long)b->id, PG_AUDIT_MAX_BATCH_OUTPUTS);
  for (size_t j = 0; j < n; j++) {
    uint64_t got = 0;
    for (size_t o = 0; o < t->n_outputs; o++)
      if (memcmp(t->outputs[o].address, exp[j].address, 32) == 0) got += t->outputs[o].amount;
    if (got != exp[j].amount) {
      char hex[65];
      pg_hex_encode(exp[j].address, 32, hex);
      if (pg_audit_diff_add(r, false, 0, PG_AUDIT_BATCH, who, "payout batch %lld: address %.16s…"
                            " is owed %llu by the re-settled payouts, the transaction pays %llu",
                            (long long)b->id, hex, (unsigned long long)exp[j].amount,
                            (unsigned long long)got))
        return PG_ERR_NOMEM;
    }
  }
  for (size_t o = 0; o < t->n_outputs; o++) {
    bool known = memcmp(t->outputs[o].address, grid, 32) == 0; /* the remainder */
    for (size_t j = 0; j < n && !known; j++) known = memcmp(t->outputs[o].address, exp[j].address, 32) == 0;
    char hex[65];
    pg_hex_encode(t->outputs[o].address, 32, hex);
    if (!known && pg_audit_diff_add(r, false, 0, PG_AUDIT_BATCH, who, "payout batch %lld pays %llu"
                                    " to %.16s…, which no payout row names", (long long)b->id,
                                    (unsigned long long)t->outputs[o].amount, hex))
      return PG_ERR_NOMEM;
  }
  if (b->total != sum)
    return pg_audit_diff_add(r, false, 0, PG_AUDIT_BATCH, who, "payout batch %lld: grid's total"
                             " %lld, re-settled payouts %lld", (long long)b->id, (long long)b->total,
                             (long long)sum);
  return PG_OK;
}

static int check_batches(audit *a) {
  uint8_t grid[32] = {0};
  if (pg_audit_address_bytes(a->grid_address, grid) != PG_OK) memset(grid, 0, sizeof grid);
  for (size_t i = 0; i < a->e->n_batches; i++) {
    const pg_audit_batch *b = &a->e->batches[i];
    if (!b->msg_id[0]) continue; /* not sent yet */
    const pg_audit_transfer *t = NULL;
    for (size_t j = 0; j < a->f->n_transfers && !t; j++)
      if (a->f->transfers[j].batch_id == b->id) t = &a->f->transfers[j];
    int rc = check_batch(a, b, t, grid);
    if (rc) return rc;
  }
  return PG_OK;
}

static int check_leftovers(audit *a) {
  const pg_audit_export *e = a->e;
  const pg_audit_facts *f = a->f;
  uint64_t last = e->n_slots ? e->slots[e->n_slots - 1].slot : 0;
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < f->n_readings; i++)
    if (a->used_in[i] < 0 && e->n_slots && f->readings[i].slot <= last)
      rc = pg_audit_note_add(a->r, "reading of %s for slot %llu (%lld Wh, message %.16s…) is on the"
                             " Tangle but in no settlement (quarantined by the grid, or ignored)",
                             f->readings[i].member, (unsigned long long)f->readings[i].slot,
                             (long long)f->readings[i].wh, f->readings[i].msg_id);
  for (size_t i = 0; !rc && i < f->n_requests; i++)
    if (!a->request_seen[i])
      rc = pg_audit_diff_add(a->r, true, f->requests[i].slot, PG_AUDIT_REQUEST, f->requests[i].member,
                             "slot %llu: payment request %s of %llu to %s is on the Tangle, the"
                             " grid's export has no such bill", (unsigned long long)f->requests[i].slot,
                             f->requests[i].request_id, (unsigned long long)f->requests[i].owed,
                             f->requests[i].member);
  for (size_t i = 0; !rc && i < f->n_records; i++) {
    bool known = false;
    for (size_t j = 0; j < e->n_slots && !known; j++) known = e->slots[j].slot == f->records[i].slot;
    if (!known)
      rc = pg_audit_diff_add(a->r, true, f->records[i].slot, PG_AUDIT_RECORD, "grid",
                             "slot %llu: a settlement record is on the Tangle, the export has no"
                             " such slot", (unsigned long long)f->records[i].slot);
  }
  for (size_t i = 0; !rc && i < f->n_problems; i++)
    rc = pg_audit_diff_add(a->r, false, 0, PG_AUDIT_CHANNEL, "", "%s", f->problems[i]);
  return rc;
}

/* ---- report assembly ---- */

static int cmp_diff(const void *x, const void *y) {
  const pg_audit_diff *a = x, *b = y;
  if (a->has_slot != b->has_slot) return a->has_slot ? -1 : 1;
  if (a->slot != b->slot) return a->slot < b->slot ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void pg_audit_report_finish(pg_audit_report *r) {
  /* stable: a slot's differences keep the order they were found in */
  for (size_t i = 0; i < r->n_diffs; i++) r->diffs[i].seq = i;
  if (r->n_diffs) qsort(r->diffs, r->n_diffs, sizeof *r->diffs, cmp_diff);
  for (size_t i = 0; i < r->n_slots; i++) r->slots[i].diffs = 0;
  for (size_t i = 0; i < r->n_diffs; i++) { /* slots are in ascending order */
    if (!r->diffs[i].has_slot) continue;
    size_t lo = 0, hi = r->n_slots;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (r->slots[mid].slot < r->diffs[i].slot) lo = mid + 1;
      else hi = mid;
    }
    if (lo < r->n_slots && r->slots[lo].slot == r->diffs[i].slot) r->slots[lo].diffs++;
  }
}

static int audit_init(audit *a, const pg_audit_export *e, const pg_audit_facts *f,
                      pg_audit_report *r) {
  memset(a, 0, sizeof *a);
  a->e = e, a->f = f, a->r = r;
  a->grid_address = e->grid_address[0] ? e->grid_address : f->grid_address;
  if (!e->grid_address[0] &&
      pg_audit_diff_add(r, false, 0, PG_AUDIT_SETTLEMENT, "grid", "the export names no payment"
                        " address of the grid; payments were looked up for %s, the address the"
                        " payment requests name", f->grid_address[0] ? f->grid_address : "(none)"))
    return PG_ERR_NOMEM;
  size_t nr = f->n_readings, nq = f->n_requests, np = f->n_payments;
  a->reading_keys = malloc((nr + 1) * sizeof *a->reading_keys);
  a->request_keys = malloc((nq + 1) * sizeof *a->request_keys);
  a->payment_keys = malloc((np + 1) * sizeof *a->payment_keys);
  a->alias_keys = malloc((f->n_aliases + 1) * sizeof *a->alias_keys);
  a->used_in = malloc((nr + 1) * sizeof *a->used_in);
  a->request_seen = calloc(nq + 1, sizeof *a->request_seen);
  r->slots = calloc(e->n_slots + 1, sizeof *r->slots);
  if (!a->reading_keys || !a->request_keys || !a->payment_keys || !a->alias_keys || !a->used_in ||
      !a->request_seen || !r->slots)
    return PG_ERR_NOMEM;
  for (size_t i = 0; i < nr; i++) a->reading_keys[i] = f->readings[i].msg_id, a->used_in[i] = -1;
  for (size_t i = 0; i < nq; i++) a->request_keys[i] = f->requests[i].request_id;
  for (size_t i = 0; i < np; i++) a->payment_keys[i] = f->payments[i].reference;
  for (size_t i = 0; i < f->n_aliases; i++) a->alias_keys[i] = f->aliases[i].alias;
  int rc = pg_audit_months_new(e, &a->months);
  if (!rc) rc = pg_audit_lookup_build(&a->readings, a->reading_keys, nr);
  if (!rc) rc = pg_audit_lookup_build(&a->requests, a->request_keys, nq);
  if (!rc) rc = pg_audit_lookup_build(&a->payments, a->payment_keys, np);
  if (!rc) rc = pg_audit_lookup_build(&a->aliases, a->alias_keys, f->n_aliases);
  return rc;
}

static void audit_free(audit *a) {
  pg_audit_lookup_free(&a->readings), pg_audit_lookup_free(&a->requests), pg_audit_lookup_free(&a->payments);
  pg_audit_lookup_free(&a->aliases);
  free(a->reading_keys), free(a->request_keys), free(a->payment_keys), free(a->alias_keys);
  free(a->used_in), free(a->request_seen), free(a->paid);
  pg_audit_months_free(a->months);
}

int pg_audit_compare(const pg_audit_export *e, const pg_audit_facts *f, pg_audit_report *out,
                     pg_diag *d) {
  memset(out, 0, sizeof *out);
  snprintf(out->subject, sizeof out->subject, "%s", e->grid_id);
  out->messages = f->messages;
  audit a;
  int rc = audit_init(&a, e, f, out);
  for (size_t i = 0; !rc && i < e->n_slots; i++) {
    rc = audit_slot(&a, &e->slots[i], &out->slots[i]);
    out->n_slots = i + 1;
  }
  if (!rc) rc = check_batches(&a);
  if (!rc) rc = check_leftovers(&a);
  out->requests = f->n_requests;
  audit_free(&a);
  if (rc) {
    pg_audit_report_free(out);
    return pg_fail(d, rc, "audit: %s", rc == PG_ERR_NOMEM ? "out of memory" : pg_strerror(rc));
  }
  pg_audit_report_finish(out);
  return PG_OK;
}
