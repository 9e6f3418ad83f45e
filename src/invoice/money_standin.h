/* Money formatting for the invoices: money.h (contract C, helper `money`).
 * STAND-IN: until money.h is in the tree, the smallest local version of its
 * contract is declared here and defined in money_standin.c; once the merge
 * brings include/p2pgrid/money.h, both compile to nothing and the real one
 * is used. Delete this file and money_standin.c after the merge. */
#ifndef PG_INVOICE_MONEY_STANDIN_H
#define PG_INVOICE_MONEY_STANDIN_H

#if __has_include("p2pgrid/money.h")
#include "p2pgrid/money.h"
#else
#define PG_INVOICE_MONEY_STANDIN 1
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/config.h"
#include "p2pgrid/err.h"

typedef struct pg_money {
  char currency[16];
  uint64_t units_per_currency;
  unsigned decimals;
} pg_money;
void pg_money_default(pg_money *m);
PG_NODISCARD int pg_money_from_config(pg_config *c, const char *section, pg_money *m, pg_diag *d);
size_t pg_money_format(const pg_money *m, int64_t units, char *buf, size_t cap);
size_t pg_money_format_price(const pg_money *m, uint64_t units_per_kwh, char *buf, size_t cap);
#endif

#endif
