/* export.c — the grid's audit export and a member's keys, parsed strictly
 * into plain structs (p2pgrid/audit/audit.h). Outside bytes: every field is
 * checked for type and range, ids, roots, side keys, addresses and message
 * ids for their form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "p2pgrid/base/json.h"

#define EXPORT_FORMAT "p2pgrid-audit-export/1"
#define KEYS_FORMAT "p2pgrid-member-keys/1"

/* Parses data as a JSON object whose "format" is want; *root owned. */
static int open_doc(const void *data, size_t len, const char *want, json_t **root, pg_diag *d) {
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, root, d);
  if (rc) return rc;
  const char *f = json_string_value(json_object_get(*root, "format"));
  if (!f) rc = pg_fail(d, PG_ERR_INVALID, "no 'format' field: not a %s file", want);
  else if (strcmp(f, want) != 0)
    rc = pg_fail(d, PG_ERR_UNSUPPORTED, "format '%.60s' is not %s", f, want);
  if (rc) {
    json_decref(*root);
    *root = NULL;
  }
  return rc;
}

static int parse_reading(const pg_ajson *j, pg_audit_reading *r) {
  int rc = pg_aj_str(j, "id", false, r->member, sizeof r->member, pg_audit_is_id, "a member id");
  if (!rc) rc = pg_aj_role(j, "kind", &r->kind);
  if (!rc) rc = pg_aj_u64(j, "slot", &r->slot);
  if (!rc) rc = pg_aj_i64(j, "wh", &r->wh);
  if (!rc) rc = pg_aj_price(j, "price", &r->has_price, &r->price);
  if (!rc)
    rc = pg_aj_str(j, "msgId", false, r->msg_id, sizeof r->msg_id, pg_audit_is_msgid,
                   "64 lowercase hex digits");
  return rc;
}

static int parse_bill(const pg_ajson *j, pg_audit_bill *b) {
  int rc = pg_aj_str(j, "requestId", false, b->request_id, sizeof b->request_id, pg_audit_is_id,
                     "a request id");
  char kind[8] = "slot"; /* exports before monthly items had no kind */
  if (!rc) rc = pg_aj_str(j, "kind", true, kind, sizeof kind, NULL, NULL);
  if (!rc && !kind[0]) snprintf(kind, sizeof kind, "slot");
  if (!rc && strcmp(kind, "slot") != 0 && strcmp(kind, "month") != 0)
    rc = pg_aj_fail(j, PG_ERR_INVALID, "field 'kind': '%s' is not slot or month", kind);
  b->month = strcmp(kind, "month") == 0;
  if (!rc)
    rc = pg_aj_str(j, "consumerId", false, b->consumer, sizeof b->consumer, pg_audit_is_id,
                   "a member id");
  if (!rc) rc = pg_aj_i64(j, "usageWh", &b->usage_wh);
  if (!rc) rc = pg_aj_i64(j, "communityWh", &b->community_wh);
  if (!rc) rc = pg_aj_i64(j, "amount", &b->amount);
  if (!rc) rc = pg_aj_i64(j, "fee", &b->fee);
  if (!rc) rc = pg_aj_i64(j, "owed", &b->owed);
  if (!rc) rc = pg_aj_i64(j, "baseline", &b->baseline);
  if (!rc)
    rc = pg_aj_str(j, "reference", false, b->reference, sizeof b->reference, pg_audit_is_reference,
                   "a reference (printable ASCII)");
  if (!rc) rc = pg_aj_i64(j, "paid", &b->paid);
  return rc;
}

static int parse_payout(const pg_ajson *j, pg_audit_payout *p) {
  int rc = pg_aj_str(j, "producerId", false, p->producer, sizeof p->producer, pg_audit_is_id,
                     "a member id");
  if (!rc) rc = pg_aj_i64(j, "outputWh", &p->output_wh);
  if (!rc) rc = pg_aj_i64(j, "communityWh", &p->community_wh);
  if (!rc) rc = pg_aj_i64(j, "amount", &p->amount);
  if (!rc) rc = pg_aj_i64(j, "baseline", &p->baseline);
  if (!rc) rc = pg_aj_str(j, "address", false, p->address, sizeof p->address, NULL, NULL);
  json_t *b = json_object_get(j->o, "batchId");
  p->has_batch = b && !json_is_null(b);
  if (!rc && p->has_batch) rc = pg_aj_i64(j, "batchId", &p->batch_id);
  return rc;
}

/* Parses array `key` of j: each element an object handed to one() as item
 * i of *v (items of size sz); where names "prefix[i]". */
static int parse_list(const pg_ajson *j, const char *key, bool optional, void *v_ptr, size_t *n,
                      size_t sz, int (*one)(const pg_ajson *j, void *item)) {
  json_t *a = NULL;
  int rc = pg_aj_array(j, key, optional, &a);
  if (rc || !a) return rc;
  size_t cap = 0, i;
  json_t *o;
  json_array_foreach(a, i, o) {
    char where[160];
    snprintf(where, sizeof where, "%s%s%s[%zu]", j->where, j->where[0] ? "." : "", key, i);
    pg_ajson sub = {.o = o, .where = where, .d = j->d};
    if (!json_is_object(o)) return pg_aj_fail(&sub, PG_ERR_INVALID, "expected an object");
    void *item = pg_audit_push(v_ptr, n, &cap, sz);
    if (!item) return pg_fail(j->d, PG_ERR_NOMEM, "out of memory");
    if ((rc = one(&sub, item))) return rc;
  }
  return PG_OK;
}

static int one_reading(const pg_ajson *j, void *item) { return parse_reading(j, item); }
static int one_bill(const pg_ajson *j, void *item) { return parse_bill(j, item); }
static int one_payout(const pg_ajson *j, void *item) { return parse_payout(j, item); }

static int one_slot(const pg_ajson *j, void *item) {
  pg_audit_slot_claim *s = item;
  int rc = pg_aj_u64(j, "slot", &s->slot);
  if (!rc) rc = pg_aj_u64(j, "settledMs", &s->settled_ms);
  if (!rc)
    rc = pg_aj_str(j, "mechanism", false, s->t.mechanism, sizeof s->t.mechanism, NULL, NULL);
  if (!rc) rc = pg_audit_totals_parse(j, &s->t);
  if (!rc)
    rc = parse_list(j, "readings", false, &s->readings, &s->n_readings, sizeof *s->readings,
                    one_reading);
  if (!rc) rc = parse_list(j, "bills", false, &s->bills, &s->n_bills, sizeof *s->bills, one_bill);
  if (!rc)
    rc = parse_list(j, "payouts", false, &s->payouts, &s->n_payouts, sizeof *s->payouts, one_payout);
  return rc;
}

static int one_config(const pg_ajson *j, void *item) {
  pg_audit_config *c = item;
  char mech[32];
  pg_diag in = {{0}};
  int rc = pg_aj_u64(j, "fromSlot", &c->from_slot);
  if (!rc) rc = pg_aj_str(j, "mechanism", false, mech, sizeof mech, NULL, NULL);
  if (!rc && pg_market_mech_parse(mech, &c->mech, &in) != PG_OK)
    rc = pg_aj_fail(j, PG_ERR_INVALID, "%s", in.msg);
  if (!rc) rc = pg_aj_u64(j, "importPrice", &c->import_price);
  if (!rc) rc = pg_aj_u64(j, "exportPrice", &c->export_price);
  if (!rc) rc = pg_aj_u64(j, "feePerKwh", &c->fee_per_kwh);
  if (!rc) rc = pg_aj_u64(j, "feeBp", &c->fee_bp);
  if (!rc) rc = pg_aj_u64(j, "fixedBuyPrice", &c->fixed_buy_price);
  if (!rc) rc = pg_aj_u64(j, "fixedSellPrice", &c->fixed_sell_price);
  return rc;
}

static int one_tariff(const pg_ajson *j, void *item) {
  pg_audit_tariff *t = item;
  char tz[PG_TZ_NAME_MAX + 1];
  uint64_t vat = 0;
  pg_diag in = {{0}};
  int rc = pg_aj_u64(j, "fromSlot", &t->from_slot);
  if (!rc) rc = pg_aj_u64(j, "membershipFee", &t->t.membership_fee);
  if (!rc) rc = pg_aj_u64(j, "capacityPrice", &t->t.capacity_price);
  if (!rc) rc = pg_aj_u64(j, "vatBp", &vat);
  if (!rc && (vat > 10000 || t->t.membership_fee > PG_TARIFF_MAX_AMOUNT ||
              t->t.capacity_price > PG_TARIFF_MAX_AMOUNT))
    rc = pg_aj_fail(j, PG_ERR_INVALID, "a monthly item or the VAT rate is out of range");
  t->t.vat_bp = (uint32_t)vat;
  if (!rc) rc = pg_aj_str(j, "timeZone", false, tz, sizeof tz, NULL, NULL);
  if (!rc && pg_tz_parse(tz, &t->tz, &in) != PG_OK) rc = pg_aj_fail(j, PG_ERR_INVALID, "%s", in.msg);
  return rc;
}

static int one_share_member(const pg_ajson *j, void *item) {
  pg_grid_share_member *m = item;
  char id[PG_GRID_MAX_ID + 1];
  uint64_t key = 0, group = 0, part = 0;
  int rc = pg_aj_str(j, "id", false, id, sizeof id, pg_audit_is_id, "a member id");
  if (!rc) rc = pg_aj_u64(j, "keyPpm", &key);
  if (!rc) rc = pg_aj_u64(j, "group", &group);
  if (!rc) rc = pg_aj_u64(j, "participation", &part);
  if (!rc && (key > PG_SHARE_KEY_ONE || group > PG_SHARE_MAX_GROUP || part < 1 || part > 100))
    rc = pg_aj_fail(j, PG_ERR_INVALID, "key, group or participation out of range");
  if (!rc && !(m->id = strdup(id))) rc = pg_fail(j->d, PG_ERR_NOMEM, "out of memory");
  m->key_ppm = (uint32_t)key, m->group = (uint32_t)group, m->participation = (uint8_t)part;
  return rc;
}

static int one_sharing(const pg_ajson *j, void *item) {
  pg_audit_sharing *s = item;
  int rc = pg_aj_u64(j, "fromSlot", &s->from_slot);
  if (!rc) rc = pg_aj_u64(j, "communityPrice", &s->community_price);
  json_t *r = NULL;
  if (!rc) rc = pg_aj_array(j, "groupRules", false, &r);
  if (!rc && json_array_size(r) > PG_SHARE_MAX_GROUP + 1)
    rc = pg_aj_fail(j, PG_ERR_INVALID, "field 'groupRules': more than %d groups",
                    PG_SHARE_MAX_GROUP + 1);
  for (size_t i = 0; !rc && i < json_array_size(r); i++) {
    const char *v = json_string_value(json_array_get(r, i));
    if (v && strcmp(v, "static") == 0) s->rules[i] = PG_SHARE_RULE_STATIC;
    else if (v && strcmp(v, "dynamic") == 0) s->rules[i] = PG_SHARE_RULE_DYNAMIC;
    else rc = pg_aj_fail(j, PG_ERR_INVALID, "field 'groupRules': not static or dynamic");
    s->n_rules = i + 1;
  }
  if (!rc)
    rc = parse_list(j, "members", false, &s->members, &s->n_members, sizeof *s->members,
                    one_share_member);
  return rc;
}

static int one_channel(const pg_ajson *j, void *item) {
  return pg_audit_channel_parse(j->o, j->where, item, j->d);
}

static int push_address(const pg_ajson *j, pg_audit_member *m, size_t *cap, const char *t,
                        const char *what) {
  if (!t || !pg_audit_is_address(t, strlen(t)))
    return pg_aj_fail(j, PG_ERR_INVALID, "%s: not a bech32 Ed25519 address", what);
  pg_audit_addr *x = pg_audit_push(&m->addresses, &m->n_addresses, cap, sizeof *x);
  if (!x) return pg_fail(j->d, PG_ERR_NOMEM, "out of memory");
  snprintf(*x, sizeof *x, "%s", t);
  return PG_OK;
}

/* What an export's member and a member's keys share: id, role, channels,
 * return channel. */
static int member_common(const pg_ajson *j, pg_audit_member *m) {
  int rc = pg_aj_str(j, "id", false, m->id, sizeof m->id, pg_audit_is_id, "a member id");
  if (!rc) rc = pg_aj_role(j, "role", &m->role);
  if (!rc)
    rc = parse_list(j, "channels", false, &m->channels, &m->n_channels, sizeof *m->channels,
                    one_channel);
  json_t *r = json_object_get(j->o, "return");
  m->has_return = r && !json_is_null(r);
  if (!rc && m->has_return) {
    char where[200];
    snprintf(where, sizeof where, "%s%sreturn", j->where, j->where[0] ? "." : "");
    rc = pg_audit_channel_parse(r, where, &m->ret, j->d);
  }
  return rc;
}

static int one_member(const pg_ajson *j, void *item) {
  pg_audit_member *m = item;
  json_t *a = NULL;
  int rc = member_common(j, m);
  if (!rc) rc = pg_aj_array(j, "addresses", true, &a);
  size_t i, cap = 0;
  json_t *s;
  json_array_foreach(a, i, s) {
    char what[32];
    snprintf(what, sizeof what, "addresses[%zu]", i);
    if (!rc) rc = push_address(j, m, &cap, json_string_value(s), what);
  }
  return rc;
}

static int one_batch(const pg_ajson *j, void *item) {
  pg_audit_batch *b = item;
  int rc = pg_aj_i64(j, "id", &b->id);
  if (!rc)
    rc = pg_aj_str(j, "msgId", true, b->msg_id, sizeof b->msg_id, pg_audit_is_msgid,
                   "64 lowercase hex digits");
  if (!rc) rc = pg_aj_i64(j, "total", &b->total);
  if (!rc) rc = pg_aj_i64(j, "outputs", &b->outputs);
  json_t *st = json_object_get(j->o, "state");
  const char *s = json_string_value(st);
  if (!rc && json_is_integer(st)) rc = pg_aj_i64(j, "state", &b->state);
  else if (!rc && s && strcmp(s, "sending") == 0) b->state = 0;
  else if (!rc && s && strcmp(s, "sent") == 0) b->state = 1;
  else if (!rc && s && strcmp(s, "confirmed") == 0) b->state = 2;
  else if (!rc)
    rc = pg_aj_fail(j, PG_ERR_INVALID, "field 'state': not sending, sent, confirmed or 0..2");
  return rc;
}

static int cmp_config(const void *a, const void *b) {
  const pg_audit_config *x = a, *y = b;
  return x->from_slot < y->from_slot ? -1 : x->from_slot > y->from_slot;
}
static int cmp_tariff(const void *a, const void *b) {
  const pg_audit_tariff *x = a, *y = b;
  return x->from_slot < y->from_slot ? -1 : x->from_slot > y->from_slot;
}
static int cmp_sharing(const void *a, const void *b) {
  const pg_audit_sharing *x = a, *y = b;
  return x->from_slot < y->from_slot ? -1 : x->from_slot > y->from_slot;
}
static int cmp_slot(const void *a, const void *b) {
  const pg_audit_slot_claim *x = a, *y = b;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}
static int cmp_member(const void *a, const void *b) {
  return strcmp(((const pg_audit_member *)a)->id, ((const pg_audit_member *)b)->id);
}

static int parse_grid(const json_t *root, pg_audit_export *e, pg_diag *d) {
  json_t *g = json_object_get(root, "grid");
  pg_ajson j = {.o = g, .where = "grid", .d = d};
  if (!json_is_object(g)) return pg_fail(d, PG_ERR_INVALID, "missing object 'grid'");
  int rc = pg_aj_str(&j, "id", false, e->grid_id, sizeof e->grid_id, pg_audit_is_id, "an id");
  if (!rc)
    rc = pg_aj_str(&j, "address", true, e->grid_address, sizeof e->grid_address,
                   pg_audit_is_address, "a bech32 Ed25519 address");
  if (!rc)
    rc = pg_aj_str(&j, "recordRoot", true, e->record_root, sizeof e->record_root, pg_audit_is_root,
                   "81 trytes");
  if (!rc && json_object_get(g, "slotMs")) rc = pg_aj_u64(&j, "slotMs", &e->slot_ms);
  return rc;
}

int pg_audit_export_parse(const void *data, size_t len, pg_audit_export *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  json_t *root = NULL;
  int rc = open_doc(data, len, EXPORT_FORMAT, &root, d);
  if (rc) return rc;
  pg_ajson j = {.o = root, .where = "export", .d = d};
  rc = pg_aj_u64(&j, "exportedAt", &out->exported_ms);
  if (!rc) rc = parse_grid(root, out, d);
  j.where = "";
  if (!rc)
    rc = parse_list(&j, "config", false, &out->config, &out->n_config, sizeof *out->config,
                    one_config);
  if (!rc)
    rc = parse_list(&j, "tariffs", true, &out->tariffs, &out->n_tariffs, sizeof *out->tariffs,
                    one_tariff);
  if (!rc)
    rc = parse_list(&j, "sharing", true, &out->sharing, &out->n_sharing, sizeof *out->sharing,
                    one_sharing);
  if (!rc)
    rc = parse_list(&j, "members", false, &out->members, &out->n_members, sizeof *out->members,
                    one_member);
  if (!rc)
    rc = parse_list(&j, "slots", false, &out->slots, &out->n_slots, sizeof *out->slots, one_slot);
  if (!rc)
    rc = parse_list(&j, "batches", false, &out->batches, &out->n_batches, sizeof *out->batches,
                    one_batch);
  if (!rc && out->n_config == 0)
    rc = pg_fail(d, PG_ERR_INVALID, "config: the history is empty (no mechanism to settle with)");
  json_decref(root);
  if (rc) {
    pg_audit_export_free(out);
    return rc;
  }
  qsort(out->config, out->n_config, sizeof *out->config, cmp_config);
  if (out->n_tariffs) qsort(out->tariffs, out->n_tariffs, sizeof *out->tariffs, cmp_tariff);
  if (out->n_sharing) qsort(out->sharing, out->n_sharing, sizeof *out->sharing, cmp_sharing);
  qsort(out->slots, out->n_slots, sizeof *out->slots, cmp_slot);
  qsort(out->members, out->n_members, sizeof *out->members, cmp_member);
  for (size_t i = 1; i < out->n_members; i++)
    if (strcmp(out->members[i - 1].id, out->members[i].id) == 0) {
      rc = pg_fail(d, PG_ERR_INVALID, "members: '%s' is listed twice", out->members[i].id);
      pg_audit_export_free(out);
      return rc;
    }
  return PG_OK;
}

void pg_audit_export_free(pg_audit_export *e) {
  if (!e) return;
  for (size_t i = 0; i < e->n_slots; i++) {
    free(e->slots[i].readings), free(e->slots[i].bills), free(e->slots[i].payouts);
  }
  for (size_t i = 0; i < e->n_members; i++) {
    free(e->members[i].channels), free(e->members[i].addresses);
  }
  for (size_t i = 0; i < e->n_sharing; i++) {
    for (size_t k = 0; k < e->sharing[i].n_members; k++) free((char *)e->sharing[i].members[k].id);
    free(e->sharing[i].members);
  }
  free(e->config), free(e->tariffs), free(e->sharing), free(e->members), free(e->slots);
  free(e->batches);
  memset(e, 0, sizeof *e);
}

int pg_audit_keys_parse(const void *data, size_t len, pg_audit_keys *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  json_t *root = NULL;
  int rc = open_doc(data, len, KEYS_FORMAT, &root, d);
  if (rc) return rc;
  pg_ajson j = {.o = root, .where = "member keys", .d = d};
  rc = member_common(&j, &out->me);
  json_t *a = json_object_get(root, "address");
  size_t cap = 0;
  if (!rc && a && !json_is_null(a)) rc = push_address(&j, &out->me, &cap, json_string_value(a), "address");
  if (!rc)
    rc = pg_aj_str(&j, "recordRoot", true, out->record_root, sizeof out->record_root,
                   pg_audit_is_root, "81 trytes");
  json_decref(root);
  if (rc) pg_audit_keys_free(out);
  return rc;
}

void pg_audit_keys_free(pg_audit_keys *k) {
  if (!k) return;
  free(k->me.channels);
  free(k->me.addresses);
  memset(k, 0, sizeof *k);
}
