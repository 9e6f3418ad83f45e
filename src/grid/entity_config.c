/* The settings of an entity daemon from its configuration
 * (p2pgrid/grid/entity_config.h): one reader per section. */
#include <stdio.h>
#include <string.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/base/resource.h"
#include "p2pgrid/base/tz.h"
#include "p2pgrid/grid/entity_config.h"
#include "p2pgrid/market/market_config.h"
#include "p2pgrid/market/tariff.h"

#define WEEK_MS (7ULL * 86400000)
#define SAFE_MAX 9007199254740991ULL /* 2^53 - 1 */

const char *pg_entity_role_section(pg_role role) {
  switch (role) {
  case PG_ROLE_SOURCE: return "source";
  case PG_ROLE_PRODUCER: return "producer";
  case PG_ROLE_CONSUMER: return "consumer";
  case PG_ROLE_GRID: return "grid";
  default: return NULL;
  }
}

/* [ROLE] id, name, data_dir, log_level, slot, tick, retry, security. */
static int read_own(pg_config *cfg, const char *sec, pg_entity_config *ec, pg_diag *d) {
  pg_entity_opts *eo = &ec->eo;
  int rc = pg_config_require(cfg, sec, "id", d);
  if (!rc) rc = pg_config_get_str(cfg, sec, "id", NULL, &eo->id, d);
  if (!rc) rc = pg_config_get_str(cfg, sec, "name", NULL, &eo->name, d);
  if (!rc) rc = pg_config_get_str(cfg, sec, "data_dir", NULL, &eo->data_dir, d);
  if (!rc) rc = pg_config_get_str(cfg, sec, "log_level", NULL, &ec->log_level, d);
  if (!rc)
    rc = pg_config_get_duration_ms(cfg, sec, "slot", 15 * 60 * 1000, 1000, WEEK_MS, &eo->slot_ms,
                                   d);
  if (!rc) rc = pg_config_get_duration_ms(cfg, sec, "tick", 500, 1, 60000, &ec->tick_ms, d);
  if (!rc)
    rc = pg_config_get_duration_ms(cfg, sec, "retry", 2000, 1, 3600000, &eo->retry_ms, d);
  if (!rc) rc = pg_config_get_int(cfg, sec, "security", 2, 1, 3, &eo->security, d);
  if (rc) return rc;
  if (eo->slot_ms < 1000 || ec->tick_ms == 0)
    return pg_fail(d, PG_ERR_CONFIG, "[%s] slot must be at least 1s and tick more than 0", sec);
  if (!eo->data_dir) {
    snprintf(ec->data_dir_buf, sizeof ec->data_dir_buf, "./data/%s", eo->id);
    eo->data_dir = ec->data_dir_buf;
  }
  return PG_OK;
}

/* [node], [api], [upstream], [wallet]: where it talks to and with what. */
static int read_access(pg_config *cfg, pg_entity_config *ec, pg_diag *d) {
  pg_role r = ec->role;
  const char *ps = NULL;
  int rc = pg_config_get_str(cfg, "node", "url", "http://127.0.0.1:14265", &ec->node_url, d);
  if (!rc)
    rc = pg_config_get_duration_ms(cfg, "node", "timeout", 60000, 100, 600000,
                                   &ec->node_timeout_ms, d);
  if (!rc) rc = pg_config_get_str(cfg, "api", "bind", "127.0.0.1", &ec->bind, d);
  if (!rc) rc = pg_config_get_str(cfg, "api", "port", NULL, &ps, d);
  ec->api = r == PG_ROLE_PRODUCER || r == PG_ROLE_GRID || ps;
  if (!rc)
    rc = pg_config_get_u64(cfg, "api", "port",
                           r == PG_ROLE_GRID ? 8080 : r == PG_ROLE_PRODUCER ? 8081 : 0, 0, 65535,
                           &ec->port, d);
  if (!rc && r != PG_ROLE_GRID) rc = pg_config_require(cfg, "upstream", "url", d);
  if (!rc && r != PG_ROLE_GRID)
    rc = pg_config_get_str(cfg, "upstream", "url", NULL, &ec->upstream_url, d);
  if (!rc && r != PG_ROLE_SOURCE)
    rc = pg_config_get_str(cfg, "wallet", "seed_file", NULL, &ec->seed_file, d);
  if (!rc && r != PG_ROLE_SOURCE)
    rc = pg_config_get_str(cfg, "wallet", "mnemonic_file", NULL, &ec->mnemonic_file, d);
  if (!rc) rc = pg_config_get_str(cfg, "node", "ca", NULL, &ec->node_ca, d);
  if (!rc) rc = pg_config_get_str(cfg, "node", "token_file", NULL, &ec->token_file, d);
  return rc;
}

/* [SECTION] registration_rate, max_channels: limits of a registration API. */
static int read_limits(pg_config *cfg, const char *sec, pg_registry_limits *l, pg_diag *d) {
  uint64_t rate = 0, chans = 0;
  int rc = pg_config_get_u64(cfg, sec, "registration_rate", 10, 1, 10000, &rate, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "max_channels", 32, 1, 1000000, &chans, d);
  l->rate_per_min = (unsigned)rate;
  l->max_channels = (unsigned)chans;
  return rc;
}

/* [producer] ask_per_unit, grace. */
static int read_producer(pg_config *cfg, const char *sec, pg_producer_opts *po, pg_diag *d) {
  int rc = pg_market_config_price(cfg, sec, "ask_per_unit", "ask_per_kwh", PG_MARKET_MAX_PRICE,
                                  true, &po->has_ask, &po->ask_per_kwh, d);
  if (!rc) rc = pg_config_get_duration_ms(cfg, sec, "grace", 0, 0, WEEK_MS, &po->grace_ms, d);
  return rc;
}

/* [consumer] bid_per_unit, max_price_per_unit, max_monthly, grid_address. */
static int read_consumer(pg_config *cfg, const char *sec, pg_consumer_opts *co, pg_diag *d) {
  int rc = pg_market_config_price(cfg, sec, "bid_per_unit", "bid_per_kwh", PG_MARKET_MAX_PRICE,
                                  true, &co->has_bid, &co->bid_per_kwh, d);
  if (!rc)
    rc = pg_market_config_price(cfg, sec, "max_price_per_unit", "max_price_per_kwh", SAFE_MAX,
                                true, &co->has_max_price, &co->max_price_per_kwh, d);
  if (!rc)
    rc = pg_market_config_price(cfg, sec, "max_monthly", NULL, SAFE_MAX, true,
                                &co->has_max_monthly, &co->max_monthly, d);
  if (!rc) rc = pg_config_get_str(cfg, sec, "grid_address", NULL, &co->grid_address, d);
  return rc;
}

/* [grid]: the market keys (market_config.h), then payouts, reading bounds,
 * float. */
static int read_grid(pg_config *cfg, const char *sec, pg_gridop_opts *go, pg_diag *d) {
  static const pg_market_config_defaults def = {.prices_required = true};
  pg_market_config m;
  int rc = pg_market_config_read(cfg, sec, &def, &m, d);
  if (rc) return rc;
  go->market = m;
  rc = pg_config_get_u64(cfg, sec, "dust_allowance", 10000000, 0, 1000000000000ULL,
                         &go->dust_allowance, d);
  if (!rc) rc = pg_config_get_u64(cfg, sec, "float", 10000000000ULL, 0, SAFE_MAX, &go->float_max, d);
  if (!rc) rc = pg_config_get_duration_ms(cfg, sec, "grace", 0, 0, WEEK_MS, &go->grace_ms, d);
  if (!rc)
    rc = pg_config_get_u64(cfg, sec, "default_max_kw", 100, 1, 1000000000, &go->default_max_w, d);
  if (!rc)
    rc = pg_config_get_duration_ms(cfg, sec, "late_window", 0, 0, 366ULL * 86400000,
                                   &go->late_window_ms, d);
  go->default_max_w *= 1000; /* kW -> W */
  go->has_float = true;
  /* [tariff] (tariff.h): the monthly items (their months: [site] tz) */
  if (!rc) rc = pg_tariff_from_config(cfg, "tariff", &go->tariff, d);
  return rc;
}

/* [sharing]: the members' keys, groups and participation (grid.h); the
 * static keys of a group must not sum above 100 %. */
static int read_sharing(pg_config *cfg, pg_entity_config *ec, pg_diag *d) {
  pg_gridop_opts *go = &ec->go;
  int rc = pg_grid_share_from_config(cfg, "sharing", &ec->share, &ec->n_share, d);
  if (rc) return rc;
  const pg_grid_share_member *m = ec->share;
  go->share = m;
  go->n_share = ec->n_share;
  uint64_t sum[PG_SHARE_MAX_GROUP + 1] = {0};
  for (size_t i = 0; i < ec->n_share; i++) {
    uint32_t g = go->mech == PG_MARKET_HIERARCHICAL ? m[i].group : 0;
    bool stat = go->mech == PG_MARKET_STATIC_KEY ||
                (go->mech == PG_MARKET_HIERARCHICAL && g < go->n_group_rules &&
                 go->group_rules[g] == PG_SHARE_RULE_STATIC);
    if (stat && (sum[g] += m[i].key_ppm) > PG_SHARE_KEY_ONE)
      return pg_fail(d, PG_ERR_CONFIG, "[sharing]: the static keys of group %u sum above 100%%", g);
  }
  return PG_OK;
}

/* The settings of the role's own section (and the registration limits of
 * the roles that serve registrations). */
static int read_role(pg_config *cfg, pg_entity_config *ec, pg_diag *d) {
  const char *sec = ec->section;
  pg_registry_limits limits = {0};
  int rc = PG_OK;
  if (ec->role == PG_ROLE_PRODUCER || ec->role == PG_ROLE_GRID)
    rc = read_limits(cfg, sec, &limits, d);
  ec->po.limits = ec->go.limits = limits;
  if (!rc && ec->role == PG_ROLE_PRODUCER) rc = read_producer(cfg, sec, &ec->po, d);
  if (!rc && ec->role == PG_ROLE_CONSUMER) rc = read_consumer(cfg, sec, &ec->co, d);
  if (!rc && ec->role == PG_ROLE_GRID) rc = read_grid(cfg, sec, &ec->go, d);
  if (!rc && ec->role == PG_ROLE_GRID) rc = read_sharing(cfg, ec, d);
  return rc;
}

int pg_entity_config_read(pg_config *cfg, pg_role role, pg_entity_config *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  out->role = role;
  out->section = pg_entity_role_section(role);
  if (!out->section) return pg_fail(d, PG_ERR_INVALID, "no entity of role %d", (int)role);
  int rc = read_own(cfg, out->section, out, d);
  if (!rc) rc = read_access(cfg, out, d);
  if (!rc) rc = pg_money_from_config(cfg, "money", &out->eo.money, d);
  if (!rc) rc = pg_resource_from_config(cfg, "resource", &out->eo.resource, d);
  if (!rc) rc = pg_tz_from_config(cfg, "site", "tz", "UTC", &out->eo.tz, d);
  if (!rc) rc = read_role(cfg, out, d);
  if (rc) pg_entity_config_clear(out);
  return rc;
}

void pg_entity_config_clear(pg_entity_config *c) {
  if (!c) return;
  pg_grid_share_free(c->share, c->n_share);
  memset(c, 0, sizeof *c);
}
