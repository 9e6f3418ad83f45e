/* p2pgrid/base/money.h — money people can read: a configured currency over the
 * integer base units ("i") that the ledger moves, formatted for display with
 * exact integer arithmetic (no floating point anywhere), and the exact parser
 * of amounts with unit suffixes ("300Mi") that configurations accept.
 *
 * A pg_money says how many base units make one unit of the currency and how
 * many decimals a person sees: {"EUR", 1000000000, 2} shows 2,343,151,525 i
 * as "2.34 EUR". The default is {"i", 1, 0}: base units, as before.
 *
 * DISPLAY ONLY. Formatting rounds half away from zero to the shown decimals;
 * nothing billed is ever computed from a formatted string (billing rounds by
 * market.h ROUNDING, in base units). Raw values stay in JSON and CSV.
 *
 * Config section (any name; "money" by convention), every key optional:
 *   currency            1..15 letters A-Z a-z                 (default i)
 *   units_per_currency  an amount (below), 1..2^53-1           (default 1)
 *   decimals            0..9                                    (default 0)
 *
 * Amounts: digits with an optional fraction and an optional unit suffix i (1),
 * Ki (1e3), Mi (1e6), Gi (1e9), case as written: "300000000", "300Mi",
 * "0.25Mi", "1Gi", "7i". The value must be a whole number of base units
 * ("0.5i" is not) and fit uint64_t.
 *
 * Threads: all functions are pure (no shared state).
 *
 * Ownership: pg_money is a value (fixed arrays, nothing to free); pg_money_json
 * returns a new reference the caller json_decref()s; the formatters write
 * caller buffers.
 * Errors: pg_money_from_config returns PG_ERR_CONFIG and pg_money_check
 * PG_ERR_INVALID, each with one sentence naming the key or field in the
 * optional pg_diag (m unchanged on failure); pg_money_parse_amount returns
 * PG_ERR_INVALID without a diag; the formatters cannot fail. */
#ifndef P2PGRID_BASE_MONEY_H
#define P2PGRID_BASE_MONEY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"

#define PG_MONEY_MAX_UNITS_PER_CURRENCY 9007199254740991ULL /* 2^53-1: exact in JS */
#define PG_MONEY_MAX_DECIMALS 9u
/* Enough for any formatted amount or price with a 15-letter currency. */
#define PG_MONEY_FMT_MAX 80

typedef struct pg_money {
  char currency[16];           /* "EUR"; default "i" (base units) */
  uint64_t units_per_currency; /* 1000000000 for 1 EUR = 1 Gi; default 1 */
  unsigned decimals;           /* shown decimals, 0..9; default 0 */
} pg_money;

void pg_money_default(pg_money *m);

/* Reads [section] currency, units_per_currency, decimals (missing keys keep
 * the defaults). On failure m is unchanged and d names file, line and key:
 * "grid.ini:7: [money] currency: 'E-U' is not 1 to 15 letters A-Z or a-z". */
PG_NODISCARD int pg_money_from_config(pg_config *c, const char *section, pg_money *m,
                                      pg_diag *d);

/* PG_ERR_INVALID (with the field named) unless m is in range. */
PG_NODISCARD int pg_money_check(const pg_money *m, pg_diag *d);

/* "1,234.57 EUR", "-0.05 EUR", "2,343,151,525 i": thousands separated by ',',
 * '.' before the decimals, '-' for negative amounts (an amount that rounds to
 * zero is shown without a sign); rounds half away from zero (display only).
 * Returns the length of the full text (snprintf-like: output is truncated to
 * cap - 1 bytes and always NUL-terminated when cap > 0). A pg_money that fails
 * pg_money_check is formatted as the default (base units). */
size_t pg_money_format(const pg_money *m, int64_t units, char *buf, size_t cap);

/* A price per kWh: "0.3000 EUR/kWh". Shows decimals + 2 digits, but never
 * more than a base unit can resolve (ceil(log10(units_per_currency)) digits),
 * so base units show "300,000,000 i/kWh". Same rounding and return value. */
size_t pg_money_format_price(const pg_money *m, uint64_t units_per_kwh, char *buf, size_t cap);

/* The same for a price per `unit` (a resource's price unit, resource.h):
 * "1.5000 EUR/m³". unit NULL = "kWh". */
size_t pg_money_format_price_per(const pg_money *m, uint64_t units_per_unit, const char *unit,
                                 char *buf, size_t cap);

/* Parses an amount (see above). PG_ERR_INVALID when s is not one. */
PG_NODISCARD int pg_money_parse_amount(const char *s, uint64_t *out);

/* {"currency": "EUR", "unitsPerCurrency": 1000000000, "decimals": 2} (a new
 * reference, NULL when out of memory): what browser apps format with Intl. */
json_t *pg_money_json(const pg_money *m);

#endif
