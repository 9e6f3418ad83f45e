/* p2pgrid/market/tariff.h — a member's month: the monthly items of a community
 * tariff on top of the per-slot settlement (market.h). Pure computation: no
 * I/O, no clocks, no floating point; the same slots always give the same
 * integers. Depends on base only.
 *
 * UNITS as in market.h: energy int64 Wh, money int64 base units, prices
 * base units per kWh; the capacity price is base units per kW of peak demand
 * per month; VAT in basis points (2000 = 20 %). Any other resource
 * (resource.h): Wh reads as its base unit, kWh as its price unit (1000 base
 * units) and kW as the price unit per hour (m³/h for water), so peak_w is
 * base units per hour.
 *
 * CONSUMER MONTH (pg_tariff_consumer_month), from the member's settled slots
 * of one calendar month:
 *   energy     = sum of the slots' energy charges (market `amount`)
 *   fees       = sum of the slots' grid fees (market `fee`)
 *   membership = membership_fee (once per month, also in a month without
 *                consumption: membership is what it pays for)
 *   peak_w     = floor(max usage_wh * 3600000 / slot_ms) (the month's peak
 *                demand, average power of the busiest slot, rounded down)
 *   capacity   = floor(peak_w * capacity_price / 1000)
 *   net        = energy + fees + membership + capacity
 *   vat        = floor(net * vat_bp / 10000)
 *   total      = net + vat
 *   monthly    = membership + capacity + vat: what is billed once for the
 *                month (full mode: the month bill); energy + fees were
 *                billed slot by slot, so total = slot bills + monthly.
 *   savings    = floor(community_wh * grid_fee_reduction_per_kwh / 1000):
 *                the grid-fee reduction on community energy, reported to the
 *                member and never billed nor credited.
 * ROUNDING, "rounding never favours the grid" (market.h): every monthly item
 * is charged to the member and rounded down (peak, capacity, VAT), so
 * vat * 10000 <= net * vat_bp and the total is never above the exact value.
 * Reported savings are rounded down too (a claim made to the member is never
 * overstated).
 *
 * PRODUCER MONTH (pg_tariff_producer_month): a credit note. revenue = sum of
 * the slots' revenues (market `total`); no fees, no VAT (the member's own tax
 * position is not the grid's to state), total = revenue.
 *
 * LIMITS (PG_ERR_TOO_LARGE, the diag names the item): each slot's energy
 * <= PG_MARKET_MAX_WH and money in [0, 2^62]; membership_fee and
 * capacity_price <= PG_TARIFF_MAX_AMOUNT; vat_bp <= 10000; slot_ms >= 1000;
 * and every sum stays below 2^62. PG_ERR_INVALID for negative inputs.
 *
 * Ownership: pg_tariff and pg_tariff_month are values; slots are borrowed for
 * the call; nothing is allocated.
 * Errors: PG_ERR_INVALID, PG_ERR_TOO_LARGE (and PG_ERR_CONFIG from
 * pg_tariff_from_config) with one sentence naming the item in the optional
 * pg_diag; pg_tariff_parse_vat takes none.
 * Threads: none needed (no shared state). */
#ifndef P2PGRID_MARKET_TARIFF_H
#define P2PGRID_MARKET_TARIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_TARIFF_MAX_AMOUNT ((uint64_t)1 << 50) /* membership fee, capacity price */
#define PG_TARIFF_MAX_MONEY ((int64_t)1 << 62)

typedef struct pg_tariff {
  uint64_t membership_fee;             /* per month */
  uint64_t capacity_price;             /* per kW of the month's peak demand */
  uint32_t vat_bp;                     /* 0..10000 */
  uint64_t grid_fee_reduction_per_kwh; /* savings on community energy, reported only */
} pg_tariff;

/* One settled slot of one member (a row of the per-slot annex). */
typedef struct pg_tariff_slot {
  int64_t energy_wh;    /* consumer: usage; producer: output */
  int64_t community_wh; /* from / to the community */
  int64_t amount;       /* consumer: energy charge; producer: revenue */
  int64_t fee;          /* consumer: grid fees; producer: 0 */
} pg_tariff_slot;

typedef struct pg_tariff_month {
  size_t slots;
  int64_t energy_wh, community_wh, utility_wh; /* utility = energy - community */
  int64_t energy;      /* consumer: energy charges; producer: revenue */
  int64_t fees;
  int64_t membership;
  int64_t peak_w;      /* consumer only */
  size_t peak_slot;    /* index of the first slot with the peak (0 without slots) */
  int64_t capacity;
  int64_t net;         /* energy + fees + membership + capacity */
  int64_t vat;
  int64_t total;       /* net + vat */
  int64_t monthly;     /* membership + capacity + vat (billed once per month) */
  int64_t savings;     /* grid-fee reduction, reported only */
} pg_tariff_month;

/* A consumer's month from its n slots (n may be 0: membership only).
 * slot_ms is the slot length. On failure *out is zeroed. */
PG_NODISCARD int pg_tariff_consumer_month(const pg_tariff *t, const pg_tariff_slot *slots,
                                          size_t n, uint64_t slot_ms, pg_tariff_month *out,
                                          pg_diag *d);
/* A producer's credit note from its n slots. */
PG_NODISCARD int pg_tariff_producer_month(const pg_tariff_slot *slots, size_t n,
                                          pg_tariff_month *out, pg_diag *d);

/* Whether t bills anything monthly (a membership fee, a capacity price or
 * VAT): the grid makes month bills, records a tariff and the audit expects
 * month bills only then. */
bool pg_tariff_bills_monthly(const pg_tariff *t);

/* The monthly items alone (membership + capacity + VAT on everything) from
 * the month's sums, for a biller that has kept only those: energy and fees
 * are the month's slot charges, peak_usage_wh the largest slot usage. */
PG_NODISCARD int pg_tariff_monthly(const pg_tariff *t, int64_t energy, int64_t fees,
                                   int64_t peak_usage_wh, uint64_t slot_ms, pg_tariff_month *out,
                                   pg_diag *d);

/* "20%", "20.5%", "7.25 %" or "0": a VAT rate to basis points (at most two
 * decimals, at most 100 %). PG_ERR_INVALID otherwise. */
PG_NODISCARD int pg_tariff_parse_vat(const char *s, uint32_t *out_bp);

/* Reads section `section` ("tariff"): membership_fee, capacity_price,
 * grid_fee_reduction (amounts as pg_money_parse_amount, money.h), vat (percent, as
 * pg_tariff_parse_vat). Missing keys are 0; the diag names the key and the
 * value ("scenario.ini:12: [tariff] vat: '20' is not a percentage ..."). */
typedef struct pg_config pg_config;
PG_NODISCARD int pg_tariff_from_config(pg_config *c, const char *section, pg_tariff *out,
                                       pg_diag *d);

#endif
