/* p2pgrid/market/market_config.h — the market's settings read from a
 * configuration: one parser for the grid daemon's [grid] section and a
 * scenario's [market] section, and for the prices members state (asks,
 * bids), so that a value means the same in both places.
 *
 * Values:
 * - prices and amounts: pg_money_parse_amount (money.h): digits with an
 *   optional unit i, Ki, Mi, Gi, exact ("300000000", "300Mi", "0.25Mi");
 *   prices per price unit at most PG_MARKET_MAX_PRICE (settlement refuses
 *   more), payout_min at most 2^53 - 1 (a JavaScript-safe amount).
 * - mechanism: pg_market_mech_parse (default pay-as-clear); fee_bp: digits
 *   0..10000; fee_per_unit (old name fee_per_kwh, not both); community_price
 *   (default pg_market_default_community_price); group_rules: a list of up to
 *   PG_SHARE_MAX_GROUP + 1 of static / dynamic.
 * - export_price must not exceed import_price; fixed_buy_price and
 *   fixed_sell_price of 0 (or missing) become import_price and export_price.
 *
 * Errors: PG_ERR_CONFIG with the diag naming file, line, section and key and
 * the bad value ("grid.ini:7: [grid] import_price: 'lots' is not an amount
 * ..."), as pg_config's getters do; PG_ERR_NOMEM. *out is written only on
 * success.
 *
 * Ownership: none passes; the result is plain data.
 *
 * Threads: as pg_config (not thread-safe: getters mark keys as read). */
#ifndef P2PGRID_MARKET_MARKET_CONFIG_H
#define P2PGRID_MARKET_MARKET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/market/market.h"

typedef struct pg_config pg_config;

#define PG_MARKET_MAX_PAYOUT_MIN 9007199254740991ULL /* 2^53 - 1 */

/* The market keys of one section, listed once: pg_market_config is a
 * struct of them, and the grid operator's options (pg_gridop_opts) and a
 * scenario (pg_scenario) hold them with PG_MARKET_CONFIG_MEMBERS, as
 * `market` (one assignment copies them all) and field by field under the
 * same names (an anonymous struct in a union with it: C11). */
#define PG_MARKET_CONFIG_FIELDS                                                                    \
  pg_market_mech mech;                                                                             \
  uint64_t import_price, export_price; /* utility prices per price unit */                         \
  uint64_t fee_per_kwh, fee_bp;                                                                    \
  uint64_t fixed_buy_price, fixed_sell_price; /* 0 = import / export price */                      \
  uint64_t payout_min;      /* pay a producer once owed at least this */                           \
  uint64_t community_price; /* sharing: per price unit */                                          \
  uint8_t group_rules[PG_SHARE_MAX_GROUP + 1]; /* sharing: hierarchical rules */                   \
  size_t n_group_rules;

typedef struct pg_market_config {
  PG_MARKET_CONFIG_FIELDS
} pg_market_config;

#define PG_MARKET_CONFIG_MEMBERS                                                                   \
  union {                                                                                          \
    pg_market_config market;                                                                       \
    struct {                                                                                       \
      PG_MARKET_CONFIG_FIELDS                                                                      \
    };                                                                                             \
  }

/* What a caller wants when import_price / export_price are missing. */
typedef struct pg_market_config_defaults {
  bool prices_required;                /* the grid daemon: both must be set */
  uint64_t import_price, export_price; /* otherwise these (scenarios) */
} pg_market_config_defaults;

/* Reads the keys above from [section]. */
PG_NODISCARD int pg_market_config_read(pg_config *c, const char *section,
                                       const pg_market_config_defaults *def,
                                       pg_market_config *out, pg_diag *d);

/* One price or amount under key (or its old name alias, may be NULL),
 * at most max: *has false and *out untouched when missing (or, with
 * none_ok, "none" or empty: a member that states no price). */
PG_NODISCARD int pg_market_config_price(pg_config *c, const char *section, const char *key,
                                        const char *alias, uint64_t max, bool none_ok,
                                        bool *has, uint64_t *out, pg_diag *d);

#endif
