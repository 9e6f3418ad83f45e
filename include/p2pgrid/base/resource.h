/* p2pgrid/base/resource.h — the metered resource a community trades: electricity,
 * water, heat, gas or any named quantity. Units are configuration, not code:
 * every quantity inside p2pgrid is an integer count of the resource's BASE
 * UNIT (Wh, L, ...), stored and sent as such; a person reads it in the
 * DISPLAY UNIT (kWh = 1000 Wh, m³ = 1000 L); capacities are in the FLOW UNIT
 * (kW = 1000 Wh per hour, L/min = 60 L per hour). Prices are base token units
 * per PRICE UNIT, which is always 1000 base units (per kWh, per m³): the
 * market's arithmetic (market.h) is unit-free and divides by 1000.
 *
 * Presets (pg_resource_preset):
 *   name         unit  display   factor  flow    flow_factor  price unit
 *   electricity  Wh    kWh       1000    kW      1000         kWh
 *   heat         Wh    kWh       1000    kW      1000         kWh
 *   water        L     m³        1000    L/min   60           m³
 *   gas          L     m³        1000    m³/h    1000         m³
 * A zeroed pg_resource (name "") means electricity: every option struct that
 * embeds one keeps its old meaning when left zero.
 *
 * Config section (any name; "resource" by convention), every key optional:
 *   name            1..31 of [a-z0-9_-]; a preset name fills the other keys
 *                   (default electricity); any other name needs unit
 *   unit            base unit, 1..15 of [A-Za-z0-9_.-] (Wh, L, kg)
 *   display_unit    1..15 bytes of UTF-8 without control characters or
 *                   <>&"'\ (m³, kWh); default: the preset's, else unit
 *   display_factor  base units per display unit, a power of ten 1..10^9
 *   flow_unit       as display_unit (kW, L/min); default: the preset's, else
 *                   "<unit>/h"
 *   flow_factor     base units per hour per flow unit, 1..10^9
 *   price_unit      as display_unit: the name of 1000 base units in prices;
 *                   default display_unit when display_factor is 1000, else
 *                   "1000 <unit>"
 *
 * Threads: all functions are pure.
 *
 * Ownership: pg_resource is a value (fixed arrays, nothing to free);
 * pg_resource_or_default returns its argument or a static default; the
 * formatters write caller buffers.
 * Errors: pg_resource_check returns PG_ERR_INVALID and pg_resource_from_config
 * PG_ERR_CONFIG, each with one sentence naming the key in the optional pg_diag;
 * pg_resource_preset returns PG_ERR_NOT_FOUND for an unknown name; the
 * predicates and formatters cannot fail. */
#ifndef P2PGRID_BASE_RESOURCE_H
#define P2PGRID_BASE_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"

#define PG_RESOURCE_NAME_MAX 31
#define PG_RESOURCE_UNIT_MAX 15
#define PG_RESOURCE_FACTOR_MAX 1000000000ULL
/* Base units in a price unit: prices are per 1000 base units. */
#define PG_RESOURCE_PRICE_BASE 1000u
/* Enough for any pg_resource_format* text. */
#define PG_RESOURCE_FMT_MAX 64

typedef struct pg_resource {
  char name[PG_RESOURCE_NAME_MAX + 1];
  char unit[PG_RESOURCE_UNIT_MAX + 1];
  char display_unit[PG_RESOURCE_UNIT_MAX + 1];
  uint64_t display_factor;
  char flow_unit[PG_RESOURCE_UNIT_MAX + 1];
  uint64_t flow_factor;
  char price_unit[PG_RESOURCE_UNIT_MAX + 1];
} pg_resource;

/* Electricity (Wh, kWh, kW). */
void pg_resource_default(pg_resource *r);
/* Fills r with the preset of that name; PG_ERR_NOT_FOUND (r unchanged) when
 * there is none. */
PG_NODISCARD int pg_resource_preset(const char *name, pg_resource *r);
/* r itself when it is set (name not empty), else the electricity preset
 * (a static, never NULL). */
const pg_resource *pg_resource_or_default(const pg_resource *r);

/* A valid name (1..31 of [a-z0-9_-]) / base unit (1..15 of [A-Za-z0-9_.-]):
 * s NUL-terminated within its PG_RESOURCE_*_MAX + 1 bytes (the channel
 * protocol checks the names a message carries with them). */
bool pg_resource_name_ok(const char *s);
bool pg_resource_unit_ok(const char *s);

/* PG_ERR_INVALID (with the field named) unless every field is valid. */
PG_NODISCARD int pg_resource_check(const pg_resource *r, pg_diag *d);

/* Reads the section (see above). On failure r is unchanged and d names file,
 * line and key. */
PG_NODISCARD int pg_resource_from_config(pg_config *c, const char *section, pg_resource *r,
                                         pg_diag *d);

/* True when a and b trade the same thing: same name and base unit (what a
 * grid compares with a channel's hello and readings). NULL or zeroed =
 * electricity. */
bool pg_resource_same(const pg_resource *a, const pg_resource *b);
/* True for electricity in Wh: the resource of the original (version 1)
 * channel messages. */
bool pg_resource_is_electricity(const pg_resource *r);

/* Display form of q base units: "1,234.5 m³" — the exact decimal (trailing
 * fraction zeros dropped), thousands separated by ','. _base: "1,234,500 L".
 * Return the length of the full text; snprintf-like truncation. */
size_t pg_resource_format(const pg_resource *r, int64_t q, char *buf, size_t cap);
size_t pg_resource_format_base(const pg_resource *r, int64_t q, char *buf, size_t cap);

/* The number under both: q / factor (a power of ten up to 10^18; any other
 * factor counts as 1) as an exact decimal with ',' groups, then " label".
 * all_decimals: every decimal of the factor ("1.750 m³", "0.000 kW");
 * else trailing fraction zeros dropped ("1.75 m³", "0 kW"). */
size_t pg_resource_format_scaled(int64_t q, uint64_t factor, const char *label,
                                 bool all_decimals, char *buf, size_t cap);

/* {"name","unit","displayUnit","displayFactor","flowUnit","flowFactor",
 * "priceUnit"} (a new reference; NULL when out of memory). */
json_t *pg_resource_json(const pg_resource *r);
/* The inverse, strict: every field present with its type and valid
 * (pg_resource_check). PG_ERR_INVALID naming the field. */
PG_NODISCARD int pg_resource_from_json(const json_t *j, pg_resource *r, pg_diag *d);

#endif
