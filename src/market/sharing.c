/* sharing.c — the sharing mechanisms of energy communities: static-key,
 * dynamic-key, hierarchical (include/p2pgrid/market/market.h SHARING MECHANISMS
 * has the rules, the rounding and the money; docs/MARKET.md the sources). */
#include <stdlib.h>
#include <string.h>

#include "market_int.h"

bool pg_market_mech_is_sharing(pg_market_mech m) {
  return m == PG_MARKET_STATIC_KEY || m == PG_MARKET_DYNAMIC_KEY || m == PG_MARKET_HIERARCHICAL;
}

uint64_t pg_market_default_community_price(uint64_t import_price, uint64_t export_price) {
  return import_price / 2 + export_price / 2 + (import_price & export_price & 1);
}

int pg_market_participation_split(int64_t wh, const uint8_t *percent, size_t n, int64_t *out,
                                  pg_diag *d) {
  if (wh < 0) return pg_fail(d, PG_ERR_INVALID, "negative energy %lld Wh", (long long)wh);
  if (n && !percent) return pg_fail(d, PG_ERR_INVALID, "participation factors missing");
  unsigned sum = 0;
  for (size_t k = 0; k < n; k++) {
    if (percent[k] < 1 || percent[k] > 100)
      return pg_fail(d, PG_ERR_INVALID, "participation factor %zu: %u%% is not within 1..100%%",
                     k, (unsigned)percent[k]);
    sum += percent[k];
  }
  if (sum > 100)
    return pg_fail(d, PG_ERR_INVALID, "participation factors sum to %u%%, above 100%%", sum);
  for (size_t k = 0; k < n; k++) out[k] = (int64_t)((u128)(uint64_t)wh * percent[k] / 100);
  return PG_OK;
}

/* ---- validation of the sharing inputs ---- */

static uint32_t max_group(const pg_market_slot *s) {
  uint32_t g = 0;
  for (size_t i = 0; i < s->n_consumers; i++)
    if (s->consumers[i].group > g) g = s->consumers[i].group;
  return g;
}

static uint8_t group_rule(const pg_market_slot *s, uint32_t g) {
  return g < s->n_group_rules ? s->group_rules[g] : PG_SHARE_RULE_DYNAMIC;
}

static int check_sharing(const pg_market_slot *s, pg_market_mech mech, pg_diag *d) {
  if (s->community_price > PG_MARKET_MAX_PRICE)
    return pg_fail(d, PG_ERR_TOO_LARGE, "community price %llu above %llu per kWh",
                   (unsigned long long)s->community_price, (unsigned long long)PG_MARKET_MAX_PRICE);
  if (s->n_group_rules && !s->group_rules)
    return pg_fail(d, PG_ERR_INVALID, "group rules missing");
  for (size_t g = 0; g < s->n_group_rules; g++)
    if (s->group_rules[g] > PG_SHARE_RULE_STATIC)
      return pg_fail(d, PG_ERR_INVALID, "group %zu: unknown rule %u", g, s->group_rules[g]);
  uint64_t keys[PG_SHARE_MAX_GROUP + 1] = {0};
  for (size_t i = 0; i < s->n_consumers; i++) {
    const pg_market_consumer *c = &s->consumers[i];
    if (c->key_ppm > PG_SHARE_KEY_ONE)
      return pg_fail(d, PG_ERR_INVALID, "consumer %zu: key of %u ppm above 100%%", i, c->key_ppm);
    uint32_t g = mech == PG_MARKET_HIERARCHICAL ? c->group : 0;
    if (g > PG_SHARE_MAX_GROUP)
      return pg_fail(d, PG_ERR_INVALID, "consumer %zu: group %u above %d", i, g,
                     PG_SHARE_MAX_GROUP);
    keys[g] += c->key_ppm;
    if (keys[g] > PG_SHARE_KEY_ONE && (mech == PG_MARKET_STATIC_KEY ||
                                       (mech == PG_MARKET_HIERARCHICAL &&
                                        group_rule(s, g) == PG_SHARE_RULE_STATIC)))
      return pg_fail(d, PG_ERR_INVALID, "static keys of group %u sum above 100%%", g);
  }
  return PG_OK;
}

/* ---- allocation ---- */

/* the workspace's arrays as the sharing mechanisms use them */
typedef struct share_ws {
  pg_lr_scratch sc;
  u128 *num;
  int64_t *a;    /* allocation per consumer */
  int64_t *w;    /* weights / scratch */
  int64_t *tmp;  /* scratch */
  int64_t *del;  /* delivered per producer */
  int64_t *amt;  /* energy charge per consumer */
  int64_t *fee;  /* fee per consumer */
} share_ws;

static bool in_group(const pg_market_consumer *c, long grp) {
  return grp < 0 || c->group == (uint32_t)grp;
}

/* a_i += min(C_i, k_i*R) over the members of group grp (-1: everybody):
 * the exact total floored, split by largest remainder; *given = its sum. */
static int alloc_static(share_ws *w, const pg_market_slot *s, long grp, int64_t R,
                        int64_t *given) {
  size_t nc = s->n_consumers;
  u128 sum = 0;
  for (size_t i = 0; i < nc; i++) {
    const pg_market_consumer *c = &s->consumers[i];
    u128 cap = (u128)(uint64_t)c->usage_wh * PG_SHARE_KEY_ONE;
    u128 share = (u128)c->key_ppm * (uint64_t)R;
    w->num[i] = !in_group(c, grp) ? 0 : share < cap ? share : cap;
    sum += w->num[i];
  }
  uint64_t target = pg_div_floor(sum, PG_SHARE_KEY_ONE);
  int rc = pg_lr_round(&w->sc, w->num, nc, PG_SHARE_KEY_ONE, target, w->tmp);
  if (rc) return rc;
  for (size_t i = 0; i < nc; i++) w->a[i] += w->tmp[i];
  *given = (int64_t)target;
  return PG_OK;
}

/* a_i += C_i * min(1, R/C_g) over the members of group grp (-1: everybody). */
static int alloc_dynamic(share_ws *w, const pg_market_slot *s, long grp, int64_t R,
                         int64_t *given) {
  size_t nc = s->n_consumers;
  int64_t Cg = 0;
  for (size_t i = 0; i < nc; i++) {
    const pg_market_consumer *c = &s->consumers[i];
    w->w[i] = in_group(c, grp) ? c->usage_wh : 0;
    Cg += w->w[i];
  }
  if (Cg <= R) {
    for (size_t i = 0; i < nc; i++) w->a[i] += w->w[i];
    *given = Cg;
    return PG_OK;
  }
  int rc = pg_lr_split(&w->sc, (uint64_t)R, w->w, nc, Cg, w->tmp);
  if (rc) return rc;
  for (size_t i = 0; i < nc; i++) w->a[i] += w->tmp[i];
  *given = R;
  return PG_OK;
}

static int allocate(share_ws *w, const pg_market_slot *s, pg_market_mech mech, int64_t G,
                    int64_t *A) {
  for (size_t i = 0; i < s->n_consumers; i++) w->a[i] = 0;
  if (mech == PG_MARKET_STATIC_KEY) return alloc_static(w, s, -1, G, A);
  if (mech == PG_MARKET_DYNAMIC_KEY) return alloc_dynamic(w, s, -1, G, A);
  int64_t R = G;
  uint32_t last = max_group(s);
  for (uint32_t g = 0; g <= last && s->n_consumers; g++) {
    int64_t got = 0;
    int rc = group_rule(s, g) == PG_SHARE_RULE_STATIC ? alloc_static(w, s, (long)g, R, &got)
                                                      : alloc_dynamic(w, s, (long)g, R, &got);
    if (rc) return rc;
    R -= got;
  }
  *A = G - R;
  return PG_OK;
}

/* ---- money ---- */

static uint64_t producer_price(const pg_market_slot *s, size_t j) {
  const pg_market_producer *p = &s->producers[j];
  return p->has_ask ? p->ask_per_kwh : s->community_price;
}

/* Energy charges (total rounded down, pro rata to a_i), revenues (exact
 * d_j*p_j/1000, total rounded up), fees, totals and baselines. */
static int share_money(share_ws *w, const pg_market_slot *s, pg_market_result *r) {
  size_t nc = s->n_consumers, np = s->n_producers;
  u128 V = 0;
  for (size_t j = 0; j < np; j++) {
    w->num[j] = (u128)producer_price(s, j) * (uint64_t)w->del[j];
    V += w->num[j];
  }
  int rc = pg_lr_round(&w->sc, w->num, np, 1000, pg_div_ceil(V, 1000), w->tmp);
  if (rc) return rc;
  for (size_t j = 0; j < np; j++) {
    pg_market_party *p = &r->producers[j];
    p->amount = p->total = w->tmp[j];
    p->fee = 0;
    p->baseline = (int64_t)pg_div_floor((u128)s->export_price * (uint64_t)w->del[j], 1000);
    p->savings = p->total - p->baseline;
    r->producer_revenues += p->total;
  }
  uint64_t ctot = pg_div_floor(V, 1000);
  if ((rc = pg_lr_split(&w->sc, ctot, w->a, nc, r->matched_wh, w->amt))) return rc;
  if ((rc = pg_market_fees(&w->sc, s, nc, r->matched_wh, w->a, w->amt, (int64_t)ctot, w->fee,
                           w->tmp)))
    return rc;
  for (size_t i = 0; i < nc; i++) {
    pg_market_party *c = &r->consumers[i];
    c->amount = w->amt[i];
    c->fee = w->fee[i];
    c->total = c->amount + c->fee;
    c->baseline = (int64_t)pg_div_ceil((u128)s->import_price * (uint64_t)w->a[i], 1000);
    c->savings = c->baseline - c->total;
    r->fees += c->fee;
    r->consumer_payments += c->total;
  }
  r->has_price = r->matched_wh > 0;
  r->buy_price = r->sell_price =
      r->matched_wh ? (double)V / (double)r->matched_wh : (double)s->community_price;
  return PG_OK;
}

/* ---- settle ---- */

static int share_fill(share_ws *w, const pg_market_slot *s, pg_market_mech mech, int64_t G,
                      pg_market_result *r) {
  int64_t A = 0;
  int rc = allocate(w, s, mech, G, &A);
  if (rc) return rc;
  size_t nc = s->n_consumers, np = s->n_producers;
  for (size_t j = 0; j < np; j++) w->w[j] = s->producers[j].output_wh;
  /* the surplus G - A by producer, pro rata to output (F6) */
  if ((rc = pg_lr_split(&w->sc, (uint64_t)(G - A), w->w, np, G, w->tmp))) return rc;
  for (size_t j = 0; j < np; j++) {
    w->del[j] = w->w[j] - w->tmp[j];
    r->producers[j].community_wh = w->del[j];
    r->producers[j].utility_wh = w->tmp[j];
  }
  for (size_t i = 0; i < nc; i++) {
    r->consumers[i].community_wh = w->a[i];
    r->consumers[i].utility_wh = s->consumers[i].usage_wh - w->a[i];
    r->import_wh += r->consumers[i].utility_wh;
  }
  r->matched_wh = A;
  r->export_wh = G - A;
  if ((rc = share_money(w, s, r))) return rc;
  r->grid_income = r->consumer_payments - r->producer_revenues; /* no utility amounts */
  return PG_OK;
}

int pg_market_share_settle(pg_market_ws *ws, const pg_market_slot *s, pg_market_result *r,
                           pg_diag *d) {
  int rc = check_sharing(s, r->mech, d);
  if (rc) return rc;
  share_ws w = {ws->sc, ws->num, ws->cm, ws->t1, ws->t2, ws->pm, ws->camt, ws->cfee};
  if ((rc = share_fill(&w, s, r->mech, r->supply_wh, r)))
    return pg_fail(d, rc, "internal rounding error");
  return PG_OK;
}

/* ---- parsing of keys and rules (config, JSON) ---- */

int pg_market_key_parse(const char *s, uint32_t *ppm, pg_diag *d) {
  const char *p = s ? s : "";
  uint64_t v = 0;
  int digits = 0, decimals = -1;
  for (; *p && *p != '%'; p++) {
    if (*p == '.' && decimals < 0 && digits > 0) {
      decimals = 0;
      continue;
    }
    if (*p < '0' || *p > '9' || decimals >= 4 || digits >= 3) goto bad;
    v = v * 10 + (uint64_t)(*p - '0');
    if (decimals >= 0) decimals++;
    else digits++;
  }
  if (digits == 0 || decimals == 0 || (*p == '%' && p[1] != '\0')) goto bad;
  for (int k = decimals < 0 ? 0 : decimals; k < 4; k++) v *= 10;
  if (v > PG_SHARE_KEY_ONE) goto bad; /* v is in 1/10000 %, i.e. ppm */
  *ppm = (uint32_t)v;
  return PG_OK;
bad:
  return pg_fail(d, PG_ERR_INVALID,
                 "key '%s' is not a percentage 0..100 with at most 4 decimals (e.g. 12.5%%)",
                 s ? s : "(null)");
}

int pg_market_share_rule_parse(const char *s, uint8_t *rule, pg_diag *d) {
  if (s && strcmp(s, "dynamic") == 0) *rule = PG_SHARE_RULE_DYNAMIC;
  else if (s && strcmp(s, "static") == 0) *rule = PG_SHARE_RULE_STATIC;
  else
    return pg_fail(d, PG_ERR_INVALID, "group rule '%s' is neither 'static' nor 'dynamic'",
                   s ? s : "(null)");
  return PG_OK;
}
