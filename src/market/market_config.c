/* The market keys of a configuration (market_config.h): one parser for the
 * grid daemon's [grid] and a scenario's [market], and members' prices. */
#include <stdio.h>
#include <string.h>

#include "market_int.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/market/market_config.h"

int pg_market_cfg_amount(pg_config *c, const char *sec, const char *key, uint64_t max,
                         bool *has, uint64_t *out, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, sec, key, NULL, &v, d);
  if (has) *has = false;
  if (rc || !v) return rc;
  uint64_t a = 0;
  if (pg_money_parse_amount(v, &a) == PG_OK && a <= max) {
    *out = a;
    if (has) *has = true;
    return PG_OK;
  }
  char what[160];
  snprintf(what, sizeof what,
           "an amount of at most %llu base units (digits with an optional unit i, Ki, Mi, Gi, "
           "e.g. 300Mi)",
           (unsigned long long)max);
  return pg_config_bad_value(c, sec, key, what, d);
}

int pg_market_config_price(pg_config *c, const char *section, const char *key, const char *alias,
                           uint64_t max, bool none_ok, bool *has, uint64_t *out, pg_diag *d) {
  const char *k = key, *v = NULL;
  *has = false;
  int rc = alias ? pg_config_alias(c, section, key, alias, &k, d) : PG_OK;
  if (!rc && none_ok) rc = pg_config_get_str(c, section, k, NULL, &v, d);
  if (rc || (none_ok && v && (!*v || strcmp(v, "none") == 0))) return rc;
  return pg_market_cfg_amount(c, section, k, max, has, out, d);
}

/* An amount with a default when missing. */
static int amount(pg_config *c, const char *sec, const char *key, uint64_t def, uint64_t max,
                  uint64_t *out, pg_diag *d) {
  *out = def;
  return pg_market_cfg_amount(c, sec, key, max, NULL, out, d);
}

static int read_mech(pg_config *c, const char *sec, pg_market_config *m, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, sec, "mechanism", "pay-as-clear", &v, d);
  if (rc || pg_market_mech_parse(v, &m->mech, NULL) == PG_OK) return rc;
  return pg_config_bad_value(c, sec, "mechanism",
                             "a mechanism: fixed, pay-as-clear, pay-as-bid, mmr, sdr, "
                             "static-key, dynamic-key or hierarchical",
                             d);
}

/* import_price, export_price (required or defaulted), export <= import. */
static int read_utility(pg_config *c, const char *sec, const pg_market_config_defaults *def,
                        pg_market_config *m, pg_diag *d) {
  const uint64_t mp = PG_MARKET_MAX_PRICE;
  int rc = PG_OK;
  if (def->prices_required) {
    if (!rc) rc = pg_config_require(c, sec, "import_price", d);
    if (!rc) rc = pg_config_require(c, sec, "export_price", d);
  }
  if (!rc) rc = amount(c, sec, "import_price", def->import_price, mp, &m->import_price, d);
  if (!rc) rc = amount(c, sec, "export_price", def->export_price, mp, &m->export_price, d);
  if (!rc && m->export_price > m->import_price) {
    char what[96];
    snprintf(what, sizeof what, "at most import_price (%llu): it must not exceed import_price",
             (unsigned long long)m->import_price);
    rc = pg_config_bad_value(c, sec, "export_price", what, d);
  }
  return rc;
}

/* community_price and group_rules of the sharing mechanisms. */
static int read_sharing(pg_config *c, const char *sec, pg_market_config *m, pg_diag *d) {
  uint64_t def = pg_market_default_community_price(m->import_price, m->export_price);
  int rc = amount(c, sec, "community_price", def, PG_MARKET_MAX_PRICE, &m->community_price, d);
  pg_config_list l = {0};
  if (!rc) rc = pg_config_get_list(c, sec, "group_rules", NULL, PG_SHARE_MAX_GROUP + 1, &l, d);
  for (size_t g = 0; !rc && g < l.n; g++)
    if (pg_market_share_rule_parse(l.items[g], &m->group_rules[g], NULL) != PG_OK)
      rc = pg_config_bad_value(c, sec, "group_rules", "a list of static or dynamic", d);
  m->n_group_rules = l.n;
  pg_config_list_free(&l);
  return rc;
}

int pg_market_config_read(pg_config *c, const char *section, const pg_market_config_defaults *def,
                          pg_market_config *out, pg_diag *d) {
  const uint64_t mp = PG_MARKET_MAX_PRICE;
  pg_market_config m;
  memset(&m, 0, sizeof m);
  bool has = false;
  int rc = read_mech(c, section, &m, d);
  if (!rc) rc = read_utility(c, section, def, &m, d);
  if (!rc) rc = pg_market_config_price(c, section, "fee_per_unit", "fee_per_kwh", mp, false, &has,
                                       &m.fee_per_kwh, d);
  if (!rc) rc = pg_config_get_u64(c, section, "fee_bp", 0, 0, 10000, &m.fee_bp, d);
  if (!rc) rc = amount(c, section, "fixed_buy_price", 0, mp, &m.fixed_buy_price, d);
  if (!rc) rc = amount(c, section, "fixed_sell_price", 0, mp, &m.fixed_sell_price, d);
  if (!rc)
    rc = amount(c, section, "payout_min", 0, PG_MARKET_MAX_PAYOUT_MIN, &m.payout_min, d);
  if (!rc) rc = read_sharing(c, section, &m, d);
  if (rc) return rc;
  if (!m.fixed_buy_price) m.fixed_buy_price = m.import_price;
  if (!m.fixed_sell_price) m.fixed_sell_price = m.export_price;
  *out = m;
  return PG_OK;
}
