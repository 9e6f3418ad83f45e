/* Internal to src/invoice: the document's lines, shared by HTML and PDF. */
#ifndef PG_INVOICE_INTERNAL_H
#define PG_INVOICE_INTERNAL_H

#include "p2pgrid/money.h"
#include "p2pgrid/invoice.h"

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
/* "1,234.567 kWh" (exact, from Wh) */
void inv_kwh(int64_t wh, char *buf, size_t cap);
/* "June 2025" */
void inv_period(const pg_invoice *inv, char *buf, size_t cap);
/* "Invoice" or "Credit note" */
const char *inv_kind(const pg_invoice *inv);
/* The zone as people read it. STAND-IN for pg_tz_name (contract D). */
void inv_tz_label(pg_tz tz, char *buf, size_t cap);
/* "2025-06-21 14:15" local time of a slot start */
void inv_slot_time(const pg_invoice *inv, uint64_t ms, char *buf, size_t cap);
/* The chart's scale: the smallest 1, 2 or 5 x 10^k kWh (in Wh) >= every day */
int64_t inv_chart_top(const pg_invoice *inv);

#endif
