/* Internal to src/invoice: the document's lines, shared by HTML and PDF. */
#ifndef PG_INVOICE_INTERNAL_H
#define PG_INVOICE_INTERNAL_H

#include "p2pgrid/base/money.h"
#include "p2pgrid/invoice/invoice.h"

enum { INV_ITEM = 0, INV_SUBTOTAL, INV_TAX, INV_TOTAL };
#define INV_MAX_LINES 8

typedef struct inv_line {
  int kind;
  char label[64];
  char detail[160];
  int64_t amount;
} inv_line;

/* The invoice's lines in print order (items, net, VAT, total); returns n. */
size_t inv_lines(const pg_invoice *inv, const pg_money *money, inv_line out[INV_MAX_LINES]);
/* q base units in the invoice's display unit with every decimal of the base
 * unit: "1,234.567 kWh" (exact, from Wh), "12.345 m³" (from L). */
void inv_qty(const pg_invoice *inv, int64_t q, char *buf, size_t cap);
/* The peak (base units per hour) as read on the invoice: electricity "1234 W"
 * (as always), else in the flow unit, rounded down to 3 decimals, and in
 * price units per hour when the flow unit is not 1000 base units per hour:
 * "12.500 L/min (0.750 m³/h)". */
void inv_peak(const pg_invoice *inv, int64_t peak, char *buf, size_t cap);
/* What the capacity price is per: the flow unit when it is 1000 base units
 * per hour (kW, m³/h), else "<price unit>/h". */
void inv_capacity_unit(const pg_invoice *inv, char *buf, size_t cap);
/* "energy" (electricity) or the resource's name; capital: "Energy", "Water". */
void inv_noun(const pg_invoice *inv, bool capital, char *buf, size_t cap);
/* "June 2025" */
void inv_period(const pg_invoice *inv, char *buf, size_t cap);
/* "Invoice" or "Credit note" */
const char *inv_kind(const pg_invoice *inv);
/* The zone as people read it. STAND-IN for pg_tz_name (contract D). */
void inv_tz_label(pg_tz tz, char *buf, size_t cap);
/* "2025-06-21 14:15" local time of a slot start */
void inv_slot_time(const pg_invoice *inv, uint64_t ms, char *buf, size_t cap);
/* The chart's scale: the smallest 1, 2 or 5 x 10^k display units (kWh, m³; in
 * base units) >= every day */
int64_t inv_chart_top(const pg_invoice *inv);

#endif
