/* [tariff] from a configuration (tariff.h); amounts as pg_money_parse_amount. */
#include <stdio.h>
#include <string.h>

#include "market_int.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/market/market.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/market/tariff.h"

static int get_amount(pg_config *c, const char *sec, const char *key, uint64_t max,
                      uint64_t *out, pg_diag *d) {
  return pg_market_cfg_amount(c, sec, key, max, NULL, out, d);
}

int pg_tariff_from_config(pg_config *c, const char *section, pg_tariff *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  int rc;
  if ((rc = get_amount(c, section, "membership_fee", PG_TARIFF_MAX_AMOUNT, &out->membership_fee,
                       d)) ||
      (rc = get_amount(c, section, "capacity_price", PG_TARIFF_MAX_AMOUNT, &out->capacity_price,
                       d)) ||
      (rc = get_amount(c, section, "grid_fee_reduction", PG_MARKET_MAX_PRICE,
                       &out->grid_fee_reduction_per_kwh, d)))
    return rc;
  const char *v = NULL;
  if ((rc = pg_config_get_str(c, section, "vat", NULL, &v, d))) return rc;
  if (v && pg_tariff_parse_vat(v, &out->vat_bp) != PG_OK)
    return pg_config_bad_value(c, section, "vat",
                               "a VAT rate (a percentage 0..100 with at most two decimals, "
                               "e.g. 20% or 7.7%)",
                               d);
  return PG_OK;
}
