/* test_audit_compare.c — the audit's comparison engine on hand-built claims
 * and Tangle facts: a consistent slot agrees, and every kind of difference
 * (reading, settlement, bill, request, payment, payout, batch, record,
 * channel) is reported at its slot only, naming who and both values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/audit/audit.h"
#include "p2pgrid/base/bech32.h"

#define K 10 /* the slot */

typedef struct fx {
  pg_audit_export e;
  pg_audit_facts f;
  pg_audit_member members[2];
  pg_audit_channel ch[2];
  pg_audit_addr p1_addr;
  pg_audit_config cfg;
  pg_audit_slot_claim slots[2];
  pg_audit_reading claimed[4], tangle[4];
  pg_audit_bill bill;
  pg_audit_payout payout;
  pg_audit_batch batch;
  pg_audit_request req;
  pg_audit_payment pay;
  pg_audit_transfer tr;
  pg_audit_record rec[2];
  pg_audit_line lines[2];
  pg_audit_msgid line_readings[2][2];
  pg_audit_report r;
} fx;

static void addr_of(uint8_t b, char *out) {
  uint8_t a[32];
  memset(a, b, sizeof a);
  assert_int_equal(pg_iota_address_encode("atoi", a, out, PG_BECH32_MAX_LEN + 1), PG_OK);
}

static void msgid(char c, pg_audit_msgid out) {
  memset(out, c, PG_AUDIT_HEX_ID);
  out[PG_AUDIT_HEX_ID] = '\0';
}

static void reading(pg_audit_reading *r, const char *who, pg_grid_entity kind, int64_t wh,
                    uint64_t price, char id) {
  memset(r, 0, sizeof *r);
  snprintf(r->member, sizeof r->member, "%s", who);
  r->kind = kind, r->slot = K, r->wh = wh, r->has_price = true, r->price = price;
  msgid(id, r->msg_id);
}

static void totals_from(pg_audit_totals *t, const pg_market_result *m) {
  snprintf(t->mechanism, sizeof t->mechanism, "%s", pg_market_mech_name(m->mech));
  t->supply_wh = m->supply_wh, t->demand_wh = m->demand_wh, t->matched_wh = m->matched_wh;
  t->import_wh = m->import_wh, t->export_wh = m->export_wh;
  t->consumer_payments = m->consumer_payments, t->producer_revenues = m->producer_revenues;
  t->fees = m->fees, t->grid_income = m->grid_income, t->import_cost = m->utility_import_cost;
  t->export_income = m->utility_export_income, t->producers = 1, t->consumers = 1;
  t->has_price = m->has_price, t->buy_price = m->buy_price, t->sell_price = m->sell_price;
}

static void line_from(pg_audit_line *L, const char *who, pg_grid_entity role, const pg_audit_reading *y,
                      const pg_market_party *m, pg_audit_msgid *ids, const char *req) {
  memset(L, 0, sizeof *L);
  snprintf(L->member, sizeof L->member, "%s", who);
  L->role = role;
  snprintf(ids[0], sizeof ids[0], "%s", y->msg_id);
  L->readings = ids, L->n_readings = 1;
  L->wh = y->wh, L->has_price = true, L->price = y->price;
  L->community_wh = m->community_wh, L->amount = m->amount, L->fee = m->fee;
  L->total = m->total, L->baseline = m->baseline;
  snprintf(L->request_id, sizeof L->request_id, "%s", req);
}

/* One producer p1 (1000 Wh, ask 100) and one consumer c1 (800 Wh, bid
 * 280) in slot K, settled pay-as-clear; everything consistent. */
static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  x->cfg = (pg_audit_config){.from_slot = 0, .mech = PG_MARKET_PAY_AS_CLEAR, .import_price = 300,
                             .export_price = 80, .fee_per_kwh = 5, .fee_bp = 100,
                             .fixed_buy_price = 300, .fixed_sell_price = 80};
  reading(&x->tangle[0], "c1", PG_GRID_ENTITY_CONSUMER, 800, 280, 'b');
  reading(&x->tangle[1], "p1", PG_GRID_ENTITY_PRODUCER, 1000, 100, 'a');
  x->claimed[0] = x->tangle[0], x->claimed[1] = x->tangle[1];
  pg_market_producer mp = {.output_wh = 1000, .ask_per_kwh = 100, .has_ask = true};
  pg_market_consumer mc = {.usage_wh = 800, .bid_per_kwh = 280, .has_bid = true};
  pg_market_slot ms = {.producers = &mp, .n_producers = 1, .consumers = &mc, .n_consumers = 1,
                       .import_price = 300, .export_price = 80, .fee_per_kwh = 5, .fee_bp = 100,
                       .fixed_buy_price = 300, .fixed_sell_price = 80};
  pg_market_result m;
  assert_int_equal(pg_market_settle(&ms, PG_MARKET_PAY_AS_CLEAR, &m, NULL), PG_OK);
  addr_of(7, x->e.grid_address);
  addr_of(9, x->p1_addr);
  snprintf(x->e.grid_id, sizeof x->e.grid_id, "grid");
  memset(x->e.record_root, 'A', PG_GRID_TRYTES);
  /* members */
  snprintf(x->members[0].id, sizeof x->members[0].id, "c1");
  x->members[0].role = PG_GRID_ENTITY_CONSUMER;
  snprintf(x->members[1].id, sizeof x->members[1].id, "p1");
  x->members[1].role = PG_GRID_ENTITY_PRODUCER;
  x->members[1].addresses = &x->p1_addr, x->members[1].n_addresses = 1;
  x->e.members = x->members, x->e.n_members = 2;
  x->e.config = &x->cfg, x->e.n_config = 1;
  /* the claims of slot K */
  pg_audit_slot_claim *s = &x->slots[0];
  s->slot = K, s->readings = x->claimed, s->n_readings = 2;
  totals_from(&s->t, &m);
  pg_audit_bill *b = &x->bill;
  snprintf(b->request_id, sizeof b->request_id, "10-1-abc");
  snprintf(b->consumer, sizeof b->consumer, "c1");
  snprintf(b->reference, sizeof b->reference, "p2pgrid:10-1-abc");
  b->usage_wh = 800, b->community_wh = m.consumers[0].community_wh, b->amount = m.consumers[0].amount;
  b->fee = m.consumers[0].fee, b->owed = m.consumers[0].total, b->baseline = m.consumers[0].baseline;
  b->paid = b->owed;
  s->bills = b, s->n_bills = 1;
  pg_audit_payout *p = &x->payout;
  snprintf(p->producer, sizeof p->producer, "p1");
  p->output_wh = 1000, p->community_wh = m.producers[0].community_wh;
  p->amount = m.producers[0].total, p->baseline = m.producers[0].baseline;
  snprintf(p->address, sizeof p->address, "%s", x->p1_addr);
  p->has_batch = true, p->batch_id = 1;
  s->payouts = p, s->n_payouts = 1;
  x->e.slots = x->slots, x->e.n_slots = 1;
  x->batch = (pg_audit_batch){.id = 1, .total = p->amount, .outputs = 1, .state = 2};
  msgid('c', x->batch.msg_id);
  x->e.batches = &x->batch, x->e.n_batches = 1;
  /* the facts */
  x->f.readings = x->tangle, x->f.n_readings = 2;
  x->req = (pg_audit_request){.slot = K, .owed = (uint64_t)b->owed, .usage_wh = 800};
  snprintf(x->req.member, sizeof x->req.member, "c1");
  snprintf(x->req.request_id, sizeof x->req.request_id, "%s", b->request_id);
  snprintf(x->req.reference, sizeof x->req.reference, "%s", b->reference);
  snprintf(x->req.address, sizeof x->req.address, "%s", x->e.grid_address);
  x->f.requests = &x->req, x->f.n_requests = 1;
  snprintf(x->pay.reference, sizeof x->pay.reference, "%s", b->reference);
  x->pay.paid = b->owed, x->pay.transfers = 1;
  x->f.payments = &x->pay, x->f.n_payments = 1;
  x->tr = (pg_audit_transfer){.batch_id = 1, .found = true, .included = true, .n_outputs = 2};
  memset(x->tr.outputs[0].address, 9, 32);
  x->tr.outputs[0].amount = (uint64_t)p->amount;
  memset(x->tr.outputs[1].address, 7, 32); /* the remainder to the grid */
  x->tr.outputs[1].amount = 12345;
  x->f.transfers = &x->tr, x->f.n_transfers = 1;
  pg_audit_record *rec = &x->rec[0];
  rec->slot = K, rec->complete = true, rec->config = x->cfg, rec->t = s->t;
  line_from(&x->lines[0], "c1", PG_GRID_ENTITY_CONSUMER, &x->tangle[0], &m.consumers[0],
            x->line_readings[0], b->request_id);
  line_from(&x->lines[1], "p1", PG_GRID_ENTITY_PRODUCER, &x->tangle[1], &m.producers[0],
            x->line_readings[1], "");
  rec->lines = x->lines, rec->n_lines = rec->n_opened = 2;
  x->f.records = x->rec, x->f.n_records = 1;
  pg_market_result_free(&m);
  *state = x;
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  pg_audit_report_free(&x->r);
  free(x);
  return 0;
}

/* Runs the comparison and checks: n differences, all at slot K (or
 * slot-less when slotless), the first of `kind` and mentioning needle. */
static void expect(fx *x, size_t n, pg_audit_kind kind, bool slotless, const char *needle) {
  pg_audit_report_free(&x->r);
  pg_diag d = {{0}};
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, &d), PG_OK);
  for (size_t i = 0; i < x->r.n_diffs; i++) printf("  # %s\n", x->r.diffs[i].text);
  assert_int_equal(x->r.n_diffs, n);
  if (!n) return;
  assert_int_equal(x->r.diffs[0].kind, kind);
  assert_int_equal(x->r.diffs[0].has_slot, !slotless);
  if (!slotless) {
    assert_int_equal(x->r.diffs[0].slot, K);
    assert_int_equal(x->r.slots[0].diffs, n);
  }
  if (needle) assert_non_null(strstr(x->r.diffs[0].text, needle));
}

static void test_clean(void **state) {
  fx *x = *state;
  expect(x, 0, 0, false, NULL);
  assert_int_equal(x->r.n_slots, 1);
  assert_int_equal(x->r.batches, 1);
  assert_int_equal(x->r.payments, 1);
  assert_int_equal(x->r.n_notes, 0);
}

static void test_reading_wh(void **state) {
  fx *x = *state;
  x->claimed[1].wh = 1100; /* the grid says more than the producer's channel */
  expect(x, 1, PG_AUDIT_READING, false, "grid's 1100 Wh, Tangle's 1000 Wh");
}

static void test_reading_price(void **state) {
  fx *x = *state;
  x->claimed[0].price = 290;
  expect(x, 1, PG_AUDIT_READING, false, "grid's price 290, Tangle's 280");
}

static void test_reading_missing(void **state) {
  fx *x = *state;
  msgid('d', x->claimed[0].msg_id); /* a reading nobody wrote */
  x->line_readings[0][0][0] = 'd';  /* (and no record either) */
  x->rec[0].n_opened = x->rec[0].n_lines = 1, x->rec[0].lines = &x->lines[1];
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_true(x->r.n_diffs >= 1);
  assert_int_equal(x->r.diffs[0].kind, PG_AUDIT_READING);
  assert_non_null(strstr(x->r.diffs[0].text, "is not on c1's channels"));
  for (size_t i = 0; i < x->r.n_diffs; i++) /* the rest: this slot, or the batch it pays */
    assert_true(x->r.diffs[i].has_slot ? x->r.diffs[i].slot == K : x->r.diffs[i].kind == PG_AUDIT_BATCH);
  assert_int_equal(x->r.n_notes, 1); /* c1's real reading was settled nowhere */
}

/* The grid names another attachment of the same message (a re-attach after
 * a crash): the same reading, no difference. */
static void test_reading_alias(void **state) {
  fx *x = *state;
  pg_audit_alias al;
  msgid('e', al.alias);
  snprintf(al.canonical, sizeof al.canonical, "%s", x->tangle[1].msg_id);
  x->f.aliases = &al, x->f.n_aliases = 1;
  snprintf(x->claimed[1].msg_id, sizeof x->claimed[1].msg_id, "%s", al.alias);
  snprintf(x->line_readings[1][0], sizeof x->line_readings[1][0], "%s", al.alias);
  expect(x, 0, 0, false, NULL);
  x->f.n_aliases = 0; /* without the alias: not on the channel */
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_true(x->r.n_diffs > 0);
  assert_non_null(strstr(x->r.diffs[0].text, "is not on p1's channels"));
  x->f.aliases = NULL;
}

static void test_reading_twice(void **state) {
  fx *x = *state;
  x->slots[1] = x->slots[0];
  x->slots[1].slot = K + 1;
  x->slots[1].n_bills = x->slots[1].n_payouts = 0; /* only the reading again */
  x->slots[1].readings = &x->claimed[1], x->slots[1].n_readings = 1;
  x->e.n_slots = 2;
  x->e.record_root[0] = '\0';
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_int_equal(x->r.slots[0].diffs, 0);
  assert_true(x->r.slots[1].diffs >= 1);
  assert_non_null(strstr(x->r.diffs[0].text, "settled twice"));
}

static void test_settlement_totals(void **state) {
  fx *x = *state;
  x->slots[0].t.consumer_payments += 3;
  expect(x, 1, PG_AUDIT_SETTLEMENT, false, "consumer payments");
}

static void test_settlement_price(void **state) {
  fx *x = *state;
  x->slots[0].t.buy_price += 1;
  expect(x, 1, PG_AUDIT_SETTLEMENT, false, "buy price");
}

static void test_settlement_config(void **state) {
  fx *x = *state;
  x->cfg.fee_bp = 200; /* the history says another fee: everything moves */
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_true(x->r.n_diffs > 3);
  assert_int_equal(x->r.diffs[0].kind, PG_AUDIT_RECORD); /* the record's config first */
  for (size_t i = 0; i < x->r.n_diffs; i++) assert_true(x->r.diffs[i].has_slot);
}

static void test_bill_owed(void **state) {
  fx *x = *state;
  x->bill.owed += 1000;
  expect(x, 1, PG_AUDIT_BILL, false, "amount owed of c1: grid's bill");
}

static void test_bill_missing(void **state) {
  fx *x = *state;
  x->slots[0].n_bills = 0;
  /* the request is then a stray on the Tangle and the line names a bill */
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_int_equal(x->r.diffs[0].kind, PG_AUDIT_BILL);
  assert_non_null(strstr(x->r.diffs[0].text, "the grid has no bill"));
  for (size_t i = 0; i < x->r.n_diffs; i++) assert_int_equal(x->r.diffs[i].slot, K);
}

static void test_bill_stray(void **state) {
  fx *x = *state;
  snprintf(x->bill.consumer, sizeof x->bill.consumer, "c9");
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  bool stray = false;
  for (size_t i = 0; i < x->r.n_diffs; i++) stray |= strstr(x->r.diffs[i].text, "no reading of c9") != NULL;
  assert_true(stray);
}

static void test_request(void **state) {
  fx *x = *state;
  x->req.owed += 7;
  expect(x, 1, PG_AUDIT_REQUEST, false, "the payment request");
  x->req.owed -= 7;
  addr_of(3, x->req.address);
  expect(x, 1, PG_AUDIT_REQUEST, false, "not the grid's address");
  snprintf(x->req.request_id, sizeof x->req.request_id, "other");
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_int_equal(x->r.n_diffs, 2); /* none for the bill, and one stray request */
  assert_non_null(strstr(x->r.diffs[0].text, "no payment request"));
  assert_non_null(strstr(x->r.diffs[1].text, "no such bill"));
}

static void test_payment(void **state) {
  fx *x = *state;
  x->pay.paid = 1; /* the ledger shows less than the grid books */
  expect(x, 1, PG_AUDIT_PAYMENT, false, "the ledger's confirmed transfers");
  x->f.n_payments = 0;
  expect(x, 1, PG_AUDIT_PAYMENT, false, "grid's paid");
}

static void test_payout(void **state) {
  fx *x = *state;
  x->payout.amount += 5; /* the batch still pays the re-settled amount: only the slot */
  expect(x, 1, PG_AUDIT_PAYOUT, false, "amount of p1: grid's payout");
  x->payout.amount -= 5;
  addr_of(4, x->payout.address);
  pg_audit_report_free(&x->r);
  assert_int_equal(pg_audit_compare(&x->e, &x->f, &x->r, NULL), PG_OK);
  assert_non_null(strstr(x->r.diffs[0].text, "not an address of p1"));
}

static void test_payout_missing(void **state) {
  fx *x = *state;
  x->slots[0].n_payouts = 0;
  x->e.n_batches = 0;
  expect(x, 1, PG_AUDIT_PAYOUT, false, "has no payout");
}

static void test_batch(void **state) {
  fx *x = *state;
  x->tr.outputs[0].amount -= 1;
  expect(x, 1, PG_AUDIT_BATCH, true, "the transaction pays");
  x->tr.outputs[0].amount += 1;
  x->tr.included = false;
  expect(x, 1, PG_AUDIT_BATCH, true, "not a transaction the ledger included");
  x->tr.found = false;
  expect(x, 1, PG_AUDIT_BATCH, true, "is not on the Tangle");
  x->tr.found = x->tr.included = true;
  memset(x->tr.outputs[1].address, 5, 32); /* money to someone no row names */
  expect(x, 1, PG_AUDIT_BATCH, true, "which no payout row names");
}

static void test_record_line(void **state) {
  fx *x = *state;
  x->lines[1].total += 2;
  expect(x, 1, PG_AUDIT_RECORD, false, "total of p1: the record's line");
  x->lines[1].total -= 2;
  x->rec[0].t.fees += 1;
  expect(x, 1, PG_AUDIT_RECORD, false, "the record's fees");
  x->rec[0].t.fees -= 1;
  x->rec[0].complete = false;
  expect(x, 1, PG_AUDIT_RECORD, false, "incomplete");
  x->rec[0].complete = true;
  x->rec[0].n_lines = 3;
  expect(x, 1, PG_AUDIT_RECORD, false, "open with no member's side key");
  x->rec[0].n_lines = 2;
  x->f.n_records = 0;
  expect(x, 1, PG_AUDIT_RECORD, false, "no settlement record");
}

static void test_channel_problem(void **state) {
  fx *x = *state;
  char *p = strdup("the channel AAAA… of c1 cannot be read: not found");
  x->f.problems = &p, x->f.n_problems = 1;
  expect(x, 1, PG_AUDIT_CHANNEL, true, "cannot be read");
  free(p);
  x->f.problems = NULL, x->f.n_problems = 0;
}

static void test_reports(void **state) {
  fx *x = *state;
  x->bill.owed += 1;
  expect(x, 1, PG_AUDIT_BILL, false, NULL);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(pg_audit_write_json(&x->r, f, NULL), PG_OK);
  fclose(f);
  json_error_t je;
  json_t *j = json_loads(buf, 0, &je);
  assert_non_null(j);
  assert_true(json_is_false(json_object_get(j, "agree")));
  json_t *s0 = json_array_get(json_object_get(j, "slots"), 0);
  assert_int_equal(json_integer_value(json_object_get(s0, "slot")), K);
  assert_int_equal(json_array_size(json_object_get(s0, "differences")), 1);
  json_decref(j);
  free(buf);
  f = open_memstream(&buf, &len);
  assert_int_equal(pg_audit_write_html(&x->r, f, NULL), PG_OK);
  fclose(f);
  assert_non_null(strstr(buf, "<tr id=\"slot-10\" class=\"bad\" data-diffs=\"1\">"));
  assert_non_null(strstr(buf, "amount owed of c1"));
  assert_null(strstr(buf, "<script"));
  free(buf);
  f = open_memstream(&buf, &len);
  pg_audit_write_text(&x->r, f);
  fclose(f);
  assert_non_null(strstr(buf, "DIFFERENCES: 1 (at 1 of 1 slots"));
  free(buf);
}

/* ---- the member audit ---- */

static void member_keys(pg_audit_keys *k, const char *id, pg_grid_entity role) {
  memset(k, 0, sizeof *k);
  snprintf(k->me.id, sizeof k->me.id, "%s", id);
  k->me.role = role;
}

static void test_member(void **state) {
  fx *x = *state;
  pg_audit_keys k;
  member_keys(&k, "c1", PG_GRID_ENTITY_CONSUMER);
  /* what c1 sees: its reading, its request, its own line only */
  pg_audit_facts f = {0};
  f.readings = &x->tangle[0], f.n_readings = 1;
  f.requests = &x->req, f.n_requests = 1;
  f.payments = &x->pay, f.n_payments = 1;
  pg_audit_record rec = x->rec[0];
  rec.lines = &x->lines[0], rec.n_opened = 1;
  f.records = &rec, f.n_records = 1;
  pg_audit_report r;
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_int_equal(r.n_diffs, 0);
  assert_int_equal(r.n_slots, 1);
  assert_true(r.member);
  pg_audit_report_free(&r);
  x->req.owed += 1; /* billed more than the line */
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_int_equal(r.n_diffs, 1);
  assert_non_null(strstr(r.diffs[0].text, "your line says"));
  pg_audit_report_free(&r);
  x->req.owed -= 1;
  x->lines[0].wh += 10; /* the line settles more than the channel says */
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_true(r.n_diffs >= 1);
  assert_non_null(strstr(r.diffs[0].text, "your readings on the Tangle sum to 800 Wh"));
  pg_audit_report_free(&r);
  x->lines[0].wh -= 10;
  rec.t.grid_income += 1; /* public totals that do not add up */
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_int_equal(r.n_diffs, 1);
  assert_non_null(strstr(r.diffs[0].text, "money identity"));
  pg_audit_report_free(&r);
  rec.t.grid_income -= 1;
  rec.n_opened = 0; /* no line: the request stands on nothing */
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_int_equal(r.n_slots, 0);
  assert_int_equal(r.n_diffs, 1);
  assert_non_null(strstr(r.diffs[0].text, "no line of the public record"));
  assert_int_equal(r.n_notes, 1);
  pg_audit_report_free(&r);
}

static void test_member_producer(void **state) {
  fx *x = *state;
  pg_audit_keys k;
  member_keys(&k, "p1", PG_GRID_ENTITY_PRODUCER);
  k.me.addresses = &x->p1_addr, k.me.n_addresses = 1;
  pg_audit_facts f = {0};
  f.readings = &x->tangle[1], f.n_readings = 1;
  pg_audit_record rec = x->rec[0];
  rec.lines = &x->lines[1], rec.n_opened = 1;
  f.records = &rec, f.n_records = 1;
  pg_audit_received got = {.amount = (uint64_t)x->lines[1].total};
  snprintf(got.reference, sizeof got.reference, "p2pgrid:payout:1-00");
  f.received = &got, f.n_received = 1;
  pg_audit_report r;
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_int_equal(r.n_diffs, 0);
  assert_int_equal(r.n_notes, 1);
  assert_non_null(strstr(r.notes[0], "1 payouts brought"));
  pg_audit_report_free(&r);
  k.me.n_addresses = 0; /* no address: says so instead of a count */
  assert_int_equal(pg_audit_member_compare(&k, &f, &r, NULL), PG_OK);
  assert_int_equal(r.n_diffs, 0);
  assert_non_null(strstr(r.notes[0], "name no payment address"));
  pg_audit_report_free(&r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_clean),           T(test_reading_wh),       T(test_reading_price),
      T(test_reading_missing), T(test_reading_alias),    T(test_reading_twice),    T(test_settlement_totals),
      T(test_settlement_price), T(test_settlement_config), T(test_bill_owed),
      T(test_bill_missing),    T(test_bill_stray),       T(test_request),
      T(test_payment),         T(test_payout),           T(test_payout_missing),
      T(test_batch),           T(test_record_line),      T(test_channel_problem),
      T(test_reports),         T(test_member),           T(test_member_producer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
