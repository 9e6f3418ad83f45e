/* Fuzz target: the invoice reader of a simulator output (participants.csv,
 * party_slots.csv, transfers.csv; include/p2pgrid/invoice/invoice.h) and the documents
 * built from it. The input is split at '\f' (form feed) into the three files
 * (a missing transfers part: no payments). June 2025 in Europe/Berlin,
 * 15-minute slots. Every member's invoice that builds renders as HTML and
 * CSV; the HTML is a whole document; the tariff's identity holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/money.h"
#include "p2pgrid/invoice/invoice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[3] = {NULL, NULL, NULL};
  size_t len[3] = {0, 0, 0};
  size_t start = 0;
  for (int i = 0; i < 3 && start <= size; i++) {
    const uint8_t *ff = start < size ? memchr(data + start, '\f', size - start) : NULL;
    size_t end = ff ? (size_t)(ff - data) : size;
    part[i] = size ? data + start : (const uint8_t *)"";
    len[i] = end - start;
    start = end + 1;
    if (!ff) break;
  }
  if (!part[1]) return 0;
  pg_money money;
  pg_money_default(&money);
  pg_invoice_opts o = {.year = 2025, .month = 6, .slot_ms = 900000, .tz = PG_TZ_BERLIN,
                       .tariff = {.membership_fee = 5000, .capacity_price = 2000, .vat_bp = 2000,
                                  .grid_fee_reduction_per_kwh = 30},
                       .money = &money, .community = "fuzz"};
  pg_invoice_set *s = NULL;
  if (pg_invoice_set_parse(&o, part[0], len[0], part[1], len[1], part[2], len[2], &s, NULL) != PG_OK)
    return 0;
  for (size_t i = 0; i < pg_invoice_set_count(s); i++) {
    pg_invoice inv;
    if (pg_invoice_set_get(s, i, &inv, NULL) != PG_OK) continue;
    if (!inv.producer && inv.m.total != inv.m.energy + inv.m.fees + inv.m.monthly) abort();
    pg_buf b;
    pg_buf_init(&b, (size_t)64 << 20);
    if (pg_invoice_html(&inv, &money, &b) == PG_OK) {
      static const char end[] = "</body></html>\n";
      if (b.len < sizeof end || memcmp(b.data + b.len - (sizeof end - 1), end, sizeof end - 1))
        abort();
    }
    pg_buf_reset(&b);
    if (pg_invoice_csv(&inv, &b) != PG_OK && b.len < b.limit / 2) abort();
    pg_buf_free(&b);
    pg_invoice_free(&inv);
  }
  pg_invoice_set_free(s);
  return 0;
}
