/* market_json.c — the slot JSON format (include/p2pgrid/market/market.h) from a
 * buffer already in memory. No I/O. */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/json.h"
#include "p2pgrid/market/market.h"

void pg_market_slot_json_free(pg_market_slot_json *s) {
  if (!s) return;
  free(s->producers);
  free(s->consumers);
  free(s->ids);
  free(s->group_rules);
  memset(s, 0, sizeof *s);
}

/* Re-words a getter's diagnostic with the path of the object it came from. */
static int at(pg_diag *d, int rc, const char *what, size_t i, const pg_diag *inner) {
  if (i == (size_t)-1) return pg_fail(d, rc, "%s: %s", what, inner->msg);
  return pg_fail(d, rc, "%s[%zu]: %s", what, i, inner->msg);
}

static int get_price(const json_t *o, const char *key, bool optional, uint64_t def,
                     uint64_t *out, bool *present, pg_diag *d) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    if (!optional) return pg_fail(d, PG_ERR_INVALID, "missing field '%s'", key);
    *out = def;
    if (present) *present = false;
    return PG_OK;
  }
  int rc = pg_json_get_u64_range(o, key, 0, PG_MARKET_MAX_PRICE, out, d);
  if (rc) return rc;
  if (present) *present = true;
  return PG_OK;
}

/* Renamed fields: `key` (per unit, unit-free) or its old electricity name
 * `alias` (per kWh, Wh); *used gets the one present (key when neither). */
static int pick(const json_t *o, const char *key, const char *alias, const char **used,
                pg_diag *d) {
  bool k = json_object_get(o, key) != NULL, a = json_object_get(o, alias) != NULL;
  if (k && a)
    return pg_fail(d, PG_ERR_INVALID, "'%s' and '%s' (its old name) are the same field; give one",
                   key, alias);
  *used = a ? alias : key;
  return PG_OK;
}

static int get_price_alias(const json_t *o, const char *key, const char *alias, uint64_t def,
                           uint64_t *out, bool *present, pg_diag *d) {
  const char *k = key;
  int rc = pick(o, key, alias, &k, d);
  return rc ? rc : get_price(o, k, true, def, out, present, d);
}

static int get_id(const json_t *o, char *dst, pg_diag *d) {
  const char *s;
  size_t n;
  int rc = pg_json_get_str(o, "id", &s, &n, d);
  if (rc) return rc;
  if (n == 0 || n > PG_MARKET_ID_MAX)
    return pg_fail(d, PG_ERR_INVALID, "field 'id': must be 1..%d bytes", PG_MARKET_ID_MAX);
  memcpy(dst, s, n + 1);
  return PG_OK;
}

static int get_wh(const json_t *o, const char *key, const char *alias, int64_t *out, pg_diag *d) {
  uint64_t v;
  int rc = pick(o, key, alias, &key, d);
  if (!rc) rc = pg_json_get_u64_range(o, key, 0, (uint64_t)PG_MARKET_MAX_WH, &v, d);
  if (rc == PG_OK) *out = (int64_t)v;
  return rc;
}

/* The sharing fields of a consumer: keyPercent | keyPpm, group. */
static int get_share(const json_t *o, pg_market_consumer *c, pg_diag *d) {
  json_t *kp = json_object_get(o, "keyPercent"), *kq = json_object_get(o, "keyPpm");
  uint64_t v = 0;
  int rc = PG_OK;
  if (kp && !json_is_null(kp) && kq && !json_is_null(kq))
    return pg_fail(d, PG_ERR_INVALID, "fields 'keyPercent' and 'keyPpm' are exclusive");
  if (kp && json_is_string(kp)) {
    pg_diag in = {{0}};
    if (pg_market_key_parse(json_string_value(kp), &c->key_ppm, &in))
      return pg_fail(d, PG_ERR_INVALID, "field 'keyPercent': %s", in.msg);
  } else if (kp && !json_is_null(kp)) {
    if ((rc = pg_json_get_u64_range(o, "keyPercent", 0, 100, &v, d))) return rc;
    c->key_ppm = (uint32_t)v * 10000u;
  } else if (kq && !json_is_null(kq)) {
    if ((rc = pg_json_get_u64_range(o, "keyPpm", 0, PG_SHARE_KEY_ONE, &v, d))) return rc;
    c->key_ppm = (uint32_t)v;
  }
  json_t *g = json_object_get(o, "group");
  if (g && !json_is_null(g)) {
    if ((rc = pg_json_get_u64_range(o, "group", 0, PG_SHARE_MAX_GROUP, &v, d))) return rc;
    c->group = (uint32_t)v;
  }
  return PG_OK;
}

/* communityPrice and groupRules of the slot. */
static int get_sharing(const json_t *root, pg_market_slot_json *s, pg_diag *d) {
  int rc = get_price(root, "communityPrice", true, 0, &s->slot.community_price, NULL, d);
  if (rc) return rc;
  json_t *gr = json_object_get(root, "groupRules");
  if (!gr || json_is_null(gr)) return PG_OK;
  if (!json_is_array(gr))
    return pg_fail(d, PG_ERR_INVALID, "field 'groupRules': expected an array, got %s",
                   pg_json_type_name(gr));
  size_t n = json_array_size(gr);
  if (n > PG_SHARE_MAX_GROUP + 1)
    return pg_fail(d, PG_ERR_TOO_LARGE, "field 'groupRules': more than %d groups",
                   PG_SHARE_MAX_GROUP + 1);
  s->group_rules = malloc(n ? n : 1);
  if (!s->group_rules) return pg_fail(d, PG_ERR_NOMEM, "out of memory for group rules");
  for (size_t g = 0; g < n; g++) {
    pg_diag in = {{0}};
    const char *v = json_string_value(json_array_get(gr, g)); /* NULL when not a string */
    if (pg_market_share_rule_parse(v, &s->group_rules[g], &in))
      return pg_fail(d, PG_ERR_INVALID, "groupRules[%zu]: expected \"static\" or \"dynamic\"", g);
  }
  s->slot.group_rules = s->group_rules;
  s->slot.n_group_rules = n;
  return PG_OK;
}

int pg_market_slot_from_json(const void *data, size_t len, pg_market_slot_json *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  pg_market_slot_json s;
  memset(&s, 0, sizeof s);
  json_t *root = NULL, *ps = NULL, *cs = NULL, *fees = NULL, *fixed = NULL;
  pg_diag in = {{0}};
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, &root, d);
  if (rc) return rc;
  if ((rc = pg_json_get_array(root, "producers", &ps, d)) ||
      (rc = pg_json_get_array(root, "consumers", &cs, d)))
    goto fail;
  size_t np = json_array_size(ps), nc = json_array_size(cs);
  if (np > PG_MARKET_MAX_PARTIES || nc > PG_MARKET_MAX_PARTIES) {
    rc = pg_fail(d, PG_ERR_TOO_LARGE, "field '%s': more than %zu entries",
                 np > PG_MARKET_MAX_PARTIES ? "producers" : "consumers", PG_MARKET_MAX_PARTIES);
    goto fail;
  }
  s.producers = calloc(np ? np : 1, sizeof *s.producers);
  s.consumers = calloc(nc ? nc : 1, sizeof *s.consumers);
  s.ids = malloc((np + nc ? np + nc : 1) * (PG_MARKET_ID_MAX + 1));
  if (!s.producers || !s.consumers || !s.ids) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory for %zu participants", np + nc);
    goto fail;
  }
  for (size_t i = 0; i < np; i++) {
    json_t *o = json_array_get(ps, i);
    pg_market_producer *p = &s.producers[i];
    char *id = s.ids + i * (PG_MARKET_ID_MAX + 1);
    if (!json_is_object(o)) {
      rc = pg_fail(d, PG_ERR_INVALID, "producers[%zu]: expected an object", i);
      goto fail;
    }
    if ((rc = get_id(o, id, &in)) || (rc = get_wh(o, "output", "outputWh", &p->output_wh, &in)) ||
        (rc = get_price_alias(o, "askPerUnit", "askPerKwh", 0, &p->ask_per_kwh, &p->has_ask, &in))) {
      rc = at(d, rc, "producers", i, &in);
      goto fail;
    }
    p->id = id;
  }
  for (size_t i = 0; i < nc; i++) {
    json_t *o = json_array_get(cs, i);
    pg_market_consumer *c = &s.consumers[i];
    char *id = s.ids + (np + i) * (PG_MARKET_ID_MAX + 1);
    if (!json_is_object(o)) {
      rc = pg_fail(d, PG_ERR_INVALID, "consumers[%zu]: expected an object", i);
      goto fail;
    }
    if ((rc = get_id(o, id, &in)) || (rc = get_wh(o, "usage", "usageWh", &c->usage_wh, &in)) ||
        (rc = get_price_alias(o, "bidPerUnit", "bidPerKwh", 0, &c->bid_per_kwh, &c->has_bid, &in)) ||
        (rc = get_share(o, c, &in))) {
      rc = at(d, rc, "consumers", i, &in);
      goto fail;
    }
    c->id = id;
  }
  pg_market_slot *sl = &s.slot;
  if ((rc = get_price(root, "importPrice", false, 0, &sl->import_price, NULL, d)) ||
      (rc = get_price(root, "exportPrice", false, 0, &sl->export_price, NULL, d)))
    goto fail;
  if (sl->import_price < sl->export_price) {
    rc = pg_fail(d, PG_ERR_INVALID,
                 "field 'importPrice': %llu is below exportPrice %llu (need import >= export)",
                 (unsigned long long)sl->import_price, (unsigned long long)sl->export_price);
    goto fail;
  }
  fees = json_object_get(root, "fees");
  if (fees && !json_is_null(fees)) {
    uint64_t pct = 0;
    if (!json_is_object(fees)) {
      rc = pg_fail(d, PG_ERR_INVALID, "field 'fees': expected an object");
      goto fail;
    }
    json_t *pv = json_object_get(fees, "percent");
    bool has_pct = pv && !json_is_null(pv);
    if ((rc = get_price_alias(fees, "perUnit", "perKwh", 0, &sl->fee_per_kwh, NULL, &in)) ||
        (has_pct && (rc = pg_json_get_u64_range(fees, "percent", 0, 100, &pct, &in)))) {
      rc = at(d, rc, "fees", (size_t)-1, &in);
      goto fail;
    }
    sl->fee_bp = pct * 100;
  }
  sl->fixed_buy_price = sl->import_price;
  sl->fixed_sell_price = sl->export_price;
  fixed = json_object_get(root, "fixed");
  if (fixed && !json_is_null(fixed)) {
    if (!json_is_object(fixed)) {
      rc = pg_fail(d, PG_ERR_INVALID, "field 'fixed': expected an object");
      goto fail;
    }
    if ((rc = get_price_alias(fixed, "buyPerUnit", "buyPerKwh", sl->import_price, &sl->fixed_buy_price, NULL,
                        &in)) ||
        (rc = get_price_alias(fixed, "sellPerUnit", "sellPerKwh", sl->export_price, &sl->fixed_sell_price, NULL,
                        &in))) {
      rc = at(d, rc, "fixed", (size_t)-1, &in);
      goto fail;
    }
  }
  if ((rc = get_sharing(root, &s, d))) goto fail;
  sl->producers = s.producers;
  sl->n_producers = np;
  sl->consumers = s.consumers;
  sl->n_consumers = nc;
  json_decref(root);
  *out = s;
  return PG_OK;
fail:
  json_decref(root);
  pg_market_slot_json_free(&s);
  return rc;
}
