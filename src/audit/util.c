/* util.c — small shared pieces of the audit: growable arrays, field readers
 * that name the item, validators, difference and note lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "p2pgrid/base/json.h"

void *pg_audit_push(void *v_ptr, size_t *n, size_t *cap, size_t sz) {
  void **v = v_ptr;
  if (*n == *cap) {
    size_t nc = *cap ? 2 * *cap : 8;
    if (nc > SIZE_MAX / sz) return NULL;
    void *nv = realloc(*v, nc * sz);
    if (!nv) return NULL;
    *v = nv;
    *cap = nc;
  }
  char *item = (char *)*v + (*n)++ * sz;
  memset(item, 0, sz);
  return item;
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const pg_audit_lookup_entry *)a)->key, ((const pg_audit_lookup_entry *)b)->key);
}

int pg_audit_lookup_build(pg_audit_lookup *l, const char **keys, size_t n) {
  memset(l, 0, sizeof *l);
  l->e = malloc((n + 1) * sizeof *l->e);
  if (!l->e) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) l->e[i] = (pg_audit_lookup_entry){.key = keys[i], .idx = i};
  if (n) qsort(l->e, n, sizeof *l->e, cmp_entry);
  l->n = n;
  return PG_OK;
}

size_t pg_audit_lookup_find(const pg_audit_lookup *l, const char *s) {
  size_t lo = 0, hi = l->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(l->e[mid].key, s) < 0) lo = mid + 1;
    else hi = mid;
  }
  size_t best = SIZE_MAX;
  for (; lo < l->n && strcmp(l->e[lo].key, s) == 0; lo++)
    if (l->e[lo].idx < best) best = l->e[lo].idx;
  return best;
}

void pg_audit_lookup_free(pg_audit_lookup *l) {
  free(l->e);
  memset(l, 0, sizeof *l);
}

int pg_aj_fail(const pg_ajson *j, int rc, const char *fmt, ...) {
  char msg[sizeof j->d->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return pg_fail(j->d, rc, "%s: %s", j->where, msg);
}

static int wrap(const pg_ajson *j, int rc, const pg_diag *inner) {
  return rc ? pg_aj_fail(j, rc, "%s", inner->msg) : PG_OK;
}

int pg_aj_str(const pg_ajson *j, const char *key, bool optional, char *out, size_t cap,
              bool (*valid)(const char *s, size_t len), const char *what) {
  pg_diag in = {{0}};
  const char *s = NULL;
  size_t len = 0;
  int rc = optional ? pg_json_opt_str(j->o, key, "", &s, &len, &in)
                    : pg_json_get_str(j->o, key, &s, &len, &in);
  if (rc) return wrap(j, rc, &in);
  if (optional && len == 0) {
    out[0] = '\0';
    return PG_OK;
  }
  if (len >= cap) return pg_aj_fail(j, PG_ERR_INVALID, "field '%s': longer than %zu bytes", key, cap - 1);
  if (valid && !valid(s, len)) return pg_aj_fail(j, PG_ERR_INVALID, "field '%s': not %s", key, what);
  memcpy(out, s, len);
  out[len] = '\0';
  return PG_OK;
}

int pg_aj_i64(const pg_ajson *j, const char *key, int64_t *out) {
  pg_diag in = {{0}};
  return wrap(j, pg_json_get_i64(j->o, key, out, &in), &in);
}

int pg_aj_u64(const pg_ajson *j, const char *key, uint64_t *out) {
  pg_diag in = {{0}};
  return wrap(j, pg_json_get_u64(j->o, key, out, &in), &in);
}

int pg_aj_price(const pg_ajson *j, const char *key, bool *has, uint64_t *out) {
  json_t *v = json_object_get(j->o, key);
  *has = v && !json_is_null(v);
  *out = 0;
  if (!*has) return PG_OK;
  return pg_aj_u64(j, key, out);
}

int pg_aj_bool(const pg_ajson *j, const char *key, bool *out) {
  pg_diag in = {{0}};
  return wrap(j, pg_json_get_bool(j->o, key, out, &in), &in);
}

int pg_aj_double(const pg_ajson *j, const char *key, double *out) {
  json_t *v = json_object_get(j->o, key);
  if (!v) return pg_aj_fail(j, PG_ERR_INVALID, "missing field '%s'", key);
  if (json_is_null(v)) {
    *out = 0;
    return PG_OK;
  }
  if (!json_is_number(v))
    return pg_aj_fail(j, PG_ERR_INVALID, "field '%s': expected a number, got %s", key,
                      pg_json_type_name(v));
  *out = json_number_value(v);
  return PG_OK;
}

int pg_aj_array(const pg_ajson *j, const char *key, bool optional, json_t **out) {
  json_t *v = json_object_get(j->o, key);
  if (!v && optional) {
    *out = NULL;
    return PG_OK;
  }
  pg_diag in = {{0}};
  return wrap(j, pg_json_get_array(j->o, key, out, &in), &in);
}

int pg_aj_role(const pg_ajson *j, const char *key, pg_grid_entity *out) {
  char s[16];
  int rc = pg_aj_str(j, key, false, s, sizeof s, NULL, NULL);
  if (rc) return rc;
  if (strcmp(s, "producer") == 0) *out = PG_GRID_ENTITY_PRODUCER;
  else if (strcmp(s, "consumer") == 0) *out = PG_GRID_ENTITY_CONSUMER;
  else if (strcmp(s, "source") == 0) *out = PG_GRID_ENTITY_SOURCE;
  else return pg_aj_fail(j, PG_ERR_INVALID, "field '%s': '%s' is not producer, consumer or source", key, s);
  return PG_OK;
}

bool pg_audit_is_msgid(const char *s, size_t len) {
  if (len != PG_AUDIT_HEX_ID) return false;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

bool pg_audit_is_root(const char *s, size_t len) {
  return len == PG_GRID_TRYTES && pg_grid_is_trytes(s, len);
}

bool pg_audit_is_side_key(const char *s, size_t len) {
  return len >= 1 && len <= PG_GRID_TRYTES && pg_grid_is_trytes(s, len);
}

bool pg_audit_is_address(const char *s, size_t len) {
  char buf[PG_BECH32_MAX_LEN + 1];
  if (len == 0 || len > PG_BECH32_MAX_LEN) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  return pg_grid_is_address(buf);
}

bool pg_audit_is_reference(const char *s, size_t len) {
  if (len == 0 || len > PG_GRID_MAX_REFERENCE) return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

bool pg_audit_is_id(const char *s, size_t len) {
  return pg_grid_is_id(s, len);
}

int pg_audit_channel_parse(const json_t *o, const char *where, pg_audit_channel *c, pg_diag *d) {
  pg_ajson j = {.o = o, .where = where, .d = d};
  if (!json_is_object(o)) return pg_aj_fail(&j, PG_ERR_INVALID, "expected an object");
  int rc = pg_aj_str(&j, "root", false, c->root, sizeof c->root, pg_audit_is_root, "81 trytes");
  if (!rc)
    rc = pg_aj_str(&j, "sideKey", false, c->side_key, sizeof c->side_key, pg_audit_is_side_key,
                   "1..81 trytes");
  json_t *r = json_object_get(o, "registeredMs");
  if (!rc && r) rc = pg_aj_u64(&j, "registeredMs", &c->registered_ms);
  return rc;
}

int pg_audit_totals_parse(const pg_ajson *j, pg_audit_totals *t) {
  static const struct {
    const char *key;
    size_t off;
  } f[] = {
      {"supplyWh", offsetof(pg_audit_totals, supply_wh)},
      {"demandWh", offsetof(pg_audit_totals, demand_wh)},
      {"matchedWh", offsetof(pg_audit_totals, matched_wh)},
      {"importWh", offsetof(pg_audit_totals, import_wh)},
      {"exportWh", offsetof(pg_audit_totals, export_wh)},
      {"consumerPayments", offsetof(pg_audit_totals, consumer_payments)},
      {"producerRevenues", offsetof(pg_audit_totals, producer_revenues)},
      {"fees", offsetof(pg_audit_totals, fees)},
      {"gridIncome", offsetof(pg_audit_totals, grid_income)},
      {"importCost", offsetof(pg_audit_totals, import_cost)},
      {"exportIncome", offsetof(pg_audit_totals, export_income)},
      {"producers", offsetof(pg_audit_totals, producers)},
      {"consumers", offsetof(pg_audit_totals, consumers)},
      {"lateReadings", offsetof(pg_audit_totals, late_readings)},
  };
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < sizeof f / sizeof f[0]; i++)
    rc = pg_aj_i64(j, f[i].key, (int64_t *)((char *)t + f[i].off));
  if (!rc) rc = pg_aj_bool(j, "hasPrice", &t->has_price);
  if (!rc) rc = pg_aj_double(j, "buyPrice", &t->buy_price);
  if (!rc) rc = pg_aj_double(j, "sellPrice", &t->sell_price);
  return rc;
}

static int vadd_text(char ***v, size_t *n, const char *fmt, va_list ap) {
  char buf[PG_AUDIT_TEXT];
  vsnprintf(buf, sizeof buf, fmt, ap);
  char **nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv) return PG_ERR_NOMEM;
  *v = nv;
  nv[*n] = strdup(buf);
  if (!nv[*n]) return PG_ERR_NOMEM;
  (*n)++;
  return PG_OK;
}

int pg_audit_facts_problem(pg_audit_facts *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vadd_text(&f->problems, &f->n_problems, fmt, ap);
  va_end(ap);
  return rc;
}

int pg_audit_note_add(pg_audit_report *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vadd_text(&r->notes, &r->n_notes, fmt, ap);
  va_end(ap);
  return rc;
}

int pg_audit_diff_add(pg_audit_report *r, bool has_slot, uint64_t slot, pg_audit_kind kind,
                      const char *who, const char *fmt, ...) {
  pg_audit_diff *x = realloc(r->diffs, (r->n_diffs + 1) * sizeof *x);
  if (!x) return PG_ERR_NOMEM;
  r->diffs = x;
  x = &r->diffs[r->n_diffs++];
  memset(x, 0, sizeof *x);
  x->has_slot = has_slot;
  x->slot = slot;
  x->kind = kind;
  snprintf(x->who, sizeof x->who, "%s", who ? who : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->text, sizeof x->text, fmt, ap);
  va_end(ap);
  return PG_OK;
}

bool pg_audit_identity_holds(const pg_audit_totals *t) {
  __int128 lhs = t->consumer_payments;
  __int128 rhs = (__int128)t->producer_revenues + t->grid_income + t->import_cost - t->export_income;
  return lhs == rhs;
}

int pg_audit_address_bytes(const char *bech32, uint8_t out[32]) {
  return pg_iota_address_decode(bech32, strlen(bech32), NULL, NULL, 0, out, NULL);
}

const char *pg_audit_kind_name(pg_audit_kind k) {
  static const char *const names[PG_AUDIT_NKIND] = {
      "reading", "settlement", "bill", "request", "payment", "payout", "batch", "record", "channel"};
  return (unsigned)k < PG_AUDIT_NKIND ? names[k] : "?";
}

void pg_audit_facts_free(pg_audit_facts *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_records; i++) {
    for (size_t j = 0; j < f->records[i].n_opened; j++) free(f->records[i].lines[j].readings);
    free(f->records[i].lines);
  }
  for (size_t i = 0; i < f->n_problems; i++) free(f->problems[i]);
  free(f->readings), free(f->aliases), free(f->requests), free(f->records), free(f->payments);
  free(f->transfers), free(f->received), free(f->problems);
  memset(f, 0, sizeof *f);
}

void pg_audit_report_free(pg_audit_report *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_notes; i++) free(r->notes[i]);
  free(r->notes), free(r->slots), free(r->diffs);
  memset(r, 0, sizeof *r);
}
