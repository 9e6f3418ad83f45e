/* invoice.h: the document model and its renderings.
 * - months: "YYYY-MM" parsing; a slot belongs to the month of its local
 *   start (Europe/Berlin: 2025-06-30T22:00Z is already July; March and
 *   October 2025 have 4 quarter hours fewer and more); per-day sums;
 *   slots out of the month or out of order are refused;
 * - the annex CSV: one row per slot, raw integers, the UTC start;
 * - HTML: title, total and VAT formatted, the chart with one bar per day, a
 *   member name with markup escaped, no script; payments with message ids;
 * - PDF: a PDF file, written atomically (no temp file left, an unwritable
 *   path fails naming it);
 * - money formatting (contract C) as the invoices print it;
 * - quantities in the resource's units (kWh and kW for electricity as
 *   before; m³, L/min and L for water, never kWh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/money.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/invoice/invoice.h"
#include "test_util_tmpdir.h"

#define SLOT_MS 900000ULL
/* 2025-06-30T21:45:00Z and 22:00:00Z (local 23:45 on 30 June, 00:00 on 1 July) */
#define S_JUNE_LAST (1751319900000ULL / SLOT_MS)
#define S_JULY_FIRST (1751320800000ULL / SLOT_MS)

static pg_money eur(void) {
  pg_money m;
  pg_money_default(&m);
  snprintf(m.currency, sizeof m.currency, "EUR");
  m.units_per_currency = 1000000000;
  m.decimals = 2;
  return m;
}

static void base(pg_invoice *inv, int month) {
  memset(inv, 0, sizeof *inv);
  snprintf(inv->community, sizeof inv->community, "edge");
  snprintf(inv->member_id, sizeof inv->member_id, "h0001");
  snprintf(inv->member_name, sizeof inv->member_name, "Anna <script>alert(1)</script>");
  inv->year = 2025, inv->month = month, inv->slot_ms = SLOT_MS, inv->tz = PG_TZ_BERLIN;
  inv->tariff = (pg_tariff){.membership_fee = 5000000000, .capacity_price = 2000000000,
                            .vat_bp = 2000, .grid_fee_reduction_per_kwh = 30000000};
}

static void test_month_parse(void **st) {
  (void)st;
  int y = 0, m = 0;
  assert_int_equal(pg_invoice_month_parse("2025-06", &y, &m), PG_OK);
  assert_int_equal(y, 2025);
  assert_int_equal(m, 6);
  const char *bad[] = {"2025-6", "2025-13", "2025-00", "25-06", "2025/06", "2025-06-01", "",
                       "1969-12", "abcd-ef"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pg_invoice_month_parse(bad[i], &y, &m), PG_ERR_INVALID);
}

static void test_build_days(void **st) {
  (void)st;
  pg_invoice inv;
  base(&inv, 6);
  assert_true(pg_invoice_in_month(&inv, S_JUNE_LAST));
  assert_false(pg_invoice_in_month(&inv, S_JULY_FIRST));
  /* 1 June 00:00 local = 31 May 22:00Z */
  uint64_t june1 = 1748728800000ULL / SLOT_MS;
  assert_true(pg_invoice_in_month(&inv, june1));
  assert_false(pg_invoice_in_month(&inv, june1 - 1));
  pg_invoice_slot s[3] = {{june1, {100, 40, 1000, 10}},
                          {june1 + 1, {300, 0, 3000, 0}},
                          {S_JUNE_LAST, {50, 50, 700, 5}}};
  pg_diag d = {{0}};
  assert_int_equal(pg_invoice_build(&inv, s, 3, &d), PG_OK);
  assert_int_equal(inv.days, 30);
  assert_int_equal(inv.day_wh[0], 400);
  assert_int_equal(inv.day_community_wh[0], 40);
  assert_int_equal(inv.day_wh[29], 50);
  assert_int_equal(inv.m.energy, 4700);
  assert_int_equal(inv.m.fees, 15);
  assert_int_equal(inv.m.peak_w, 1200);
  assert_int_equal(inv.m.capacity, 2400000000);
  pg_invoice_free(&inv);

  base(&inv, 6); /* a July slot in June's invoice */
  pg_invoice_slot bad[1] = {{S_JULY_FIRST, {1, 0, 1, 0}}};
  assert_int_equal(pg_invoice_build(&inv, bad, 1, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "not in 2025-06"));
  base(&inv, 6); /* out of order */
  pg_invoice_slot rev[2] = {s[1], s[0]};
  assert_int_equal(pg_invoice_build(&inv, rev, 2, &d), PG_ERR_INVALID);
  base(&inv, 2); /* February 2024 has 29 days */
  inv.year = 2024;
  assert_int_equal(pg_invoice_build(&inv, NULL, 0, &d), PG_OK);
  assert_int_equal(inv.days, 29);
  assert_int_equal(inv.m.total, 6000000000); /* membership + 20 % */
  pg_invoice_free(&inv);
}

/* Months with a daylight-saving change (Europe/Berlin): March 2025 has one
 * day of 92 quarter hours, October 2025 one of 100. */
static void test_dst_months(void **st) {
  (void)st;
  pg_invoice inv;
  const int month[2] = {3, 10};
  const size_t want[2] = {31 * 96 - 4, 31 * 96 + 4};
  const uint64_t from[2] = {1740700800000ULL / SLOT_MS, 1759190400000ULL / SLOT_MS}; /* -1 day */
  for (int k = 0; k < 2; k++) {
    base(&inv, month[k]);
    size_t n = 0;
    for (uint64_t s = from[k]; s < from[k] + 33 * 96; s++) n += pg_invoice_in_month(&inv, s);
    assert_int_equal(n, want[k]);
  }
}

static void build_june_of(pg_invoice *inv, const char *resource) {
  base(inv, 6);
  if (resource) assert_int_equal(pg_resource_preset(resource, &inv->resource), PG_OK);
  pg_invoice_slot s[2] = {{S_JUNE_LAST - 1, {500, 200, 100000000, 1000000}},
                          {S_JUNE_LAST, {1250, 1000, 250000000, 2500000}}};
  assert_int_equal(pg_invoice_build(inv, s, 2, NULL), PG_OK);
  pg_invoice_payment p = {.slot = S_JUNE_LAST, .time_ms = (S_JUNE_LAST + 1) * SLOT_MS,
                          .amount = 252500000, .reference = "bill"};
  memset(p.message_id, 'a', 64);
  assert_int_equal(pg_invoice_add_payment(inv, &p, NULL), PG_OK);
}

static void build_june(pg_invoice *inv) { build_june_of(inv, NULL); }

static void test_csv(void **st) {
  (void)st;
  pg_invoice inv;
  build_june(&inv);
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  assert_int_equal(pg_invoice_csv(&inv, &b), PG_OK);
  pg_buf_put_u8(&b, 0);
  assert_string_equal((char *)b.data,
                      "slot,start,energy_wh,community_wh,utility_wh,amount,fee,total\n"
                      "1945910,2025-06-30T21:30:00Z,500,200,300,100000000,1000000,101000000\n"
                      "1945911,2025-06-30T21:45:00Z,1250,1000,250,250000000,2500000,252500000\n");
  pg_buf_free(&b);
  pg_invoice_free(&inv);
}

/* energy 350000000 + fees 3500000 + membership 5e9 + capacity 5000 W * 2e9 / 1000
 * = 15353500000 net; VAT 3070700000; total 18424200000 = "18.42 EUR" */
static void test_html(void **st) {
  (void)st;
  pg_invoice inv;
  build_june(&inv);
  assert_int_equal(inv.m.total, 18424200000);
  pg_money m = eur();
  pg_buf b;
  pg_buf_init(&b, 1 << 22);
  assert_int_equal(pg_invoice_html(&inv, &m, &b), PG_OK);
  pg_buf_put_u8(&b, 0);
  const char *h = (const char *)b.data;
  assert_non_null(strstr(h, "<title>Invoice June 2025 Anna &lt;script&gt;"));
  assert_null(strstr(h, "<script"));
  assert_non_null(strstr(h, "id=\"total\">18.42 EUR<"));
  assert_non_null(strstr(h, "id=\"vat\">3.07 EUR<"));
  assert_non_null(strstr(h, "id=\"paid\">0.25 EUR<"));
  assert_non_null(strstr(h, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
  assert_non_null(strstr(h, "data-chart=\"daily\""));
  size_t bars = 0;
  for (const char *p = h; (p = strstr(p, "<rect class=\"day\"")); p++) bars++;
  assert_int_equal(bars, 30);
  assert_non_null(strstr(h, "h0001-2025-06.csv"));
  pg_buf_free(&b);
  /* a credit note */
  pg_invoice_free(&inv);
  base(&inv, 6);
  inv.producer = true;
  pg_invoice_slot s[1] = {{S_JUNE_LAST, {3000, 2000, 700000000, 0}}};
  assert_int_equal(pg_invoice_build(&inv, s, 1, NULL), PG_OK);
  pg_buf_init(&b, 1 << 22);
  assert_int_equal(pg_invoice_html(&inv, &m, &b), PG_OK);
  pg_buf_put_u8(&b, 0);
  assert_non_null(strstr((char *)b.data, "Credit note"));
  assert_non_null(strstr((char *)b.data, "id=\"total\">0.70 EUR<"));
  pg_buf_free(&b);
  pg_invoice_free(&inv);
}

/* June's invoice as HTML, with resource r (NULL: electricity, the default). */
static char *june_html(const char *r) {
  pg_invoice inv;
  build_june_of(&inv, r);
  pg_money m = eur();
  pg_buf b;
  pg_buf_init(&b, 1 << 22);
  assert_int_equal(pg_invoice_html(&inv, &m, &b), PG_OK);
  pg_buf_put_u8(&b, 0);
  pg_invoice_free(&inv);
  return (char *)b.data;
}

static void expect_in(const char *h, const char *want) {
  if (!strstr(h, want)) fail_msg("'%s' not in the invoice", want);
}

/* Quantities read in the resource's units: electricity as it always read
 * (kWh, kW, W); water in m³, its peak in L/min and in m³/h (what the
 * capacity price is per), the days' tooltips in L, never kWh; gas (flow unit
 * m³/h = the price's unit per hour) without the second figure. */
static void test_resource_units(void **st) {
  (void)st;
  char *h = june_html(NULL);
  expect_in(h, "1.750 kWh used, 1.200 kWh of it from the community");
  expect_in(h, "peak 5.000 kW x 2.00 EUR per kW");
  expect_in(h, "Peak demand</td><td class=\"num\">5000 W at 2025-06-30 23:45<");
  expect_in(h, "edge energy community");
  expect_in(h, "<h2>Energy per day</h2>");
  expect_in(h, "day 30: 1750 Wh, 1200 Wh from the community");
  expect_in(h, "(energy in Wh, amounts in base units)");
  free(h);
  h = june_html("water");
  expect_in(h, "edge water community");
  expect_in(h, "<td>Water</td><td class=\"muted\">1.750 m\xc2\xb3 used, 1.200 m\xc2\xb3 of it "
               "from the community");
  expect_in(h, "on community water, per slot");
  expect_in(h, "peak 83.333 L/min (5.000 m\xc2\xb3/h) x 2.00 EUR per m\xc2\xb3/h");
  expect_in(h, "id=\"total\">18.42 EUR<"); /* the same arithmetic */
  expect_in(h, "<tr><td>From the utility</td><td class=\"num\">0.550 m\xc2\xb3</td>");
  expect_in(h, "Peak demand</td><td class=\"num\">83.333 L/min (5.000 m\xc2\xb3/h) at ");
  expect_in(h, "<h2>Water per day</h2>");
  expect_in(h, ">2 m\xc2\xb3</text>"); /* the chart scale over 1,750 L */
  expect_in(h, "day 30: 1750 L, 1200 L from the community");
  expect_in(h, "(water in L, amounts in base units)");
  assert_null(strstr(h, "kW"));
  assert_null(strstr(h, "Wh"));
  assert_null(strstr(h, "nergy"));
  free(h);
  h = june_html("gas");
  expect_in(h, "peak 5.000 m\xc2\xb3/h x 2.00 EUR per m\xc2\xb3/h");
  expect_in(h, "Peak demand</td><td class=\"num\">5.000 m\xc2\xb3/h at ");
  free(h);
}

static void test_pdf(void **st) {
  (void)st;
  char *dir = tu_mktmp("pg-invoice-unit");
  char path[128], tmp[140];
  snprintf(path, sizeof path, "%s/x.pdf", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  pg_invoice inv;
  build_june(&inv);
  pg_money m = eur();
  pg_diag d = {{0}};
  assert_int_equal(pg_invoice_pdf(&inv, &m, path, &d), PG_OK);
  uint8_t *data = NULL;
  size_t len = 0;
  assert_int_equal(pg_read_file_capped(path, 1 << 24, &data, &len, &d), PG_OK);
  assert_true(len > 1000);
  assert_memory_equal(data, "%PDF-", 5);
  free(data);
  assert_int_not_equal(access(tmp, F_OK), 0);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.pdf", dir);
  assert_int_equal(pg_invoice_pdf(&inv, &m, bad, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "no/such/dir"));
  pg_invoice_free(&inv);
  pg_invoice_pdf_release();
  tu_rmrf(dir);
}

static void test_money(void **st) {
  (void)st;
  pg_money m = eur();
  char b[64];
  pg_money_format(&m, 1234567890123, b, sizeof b);
  assert_string_equal(b, "1,234.57 EUR");
  pg_money_format(&m, -50000000, b, sizeof b);
  assert_string_equal(b, "-0.05 EUR");
  pg_money_format(&m, 4999999, b, sizeof b);
  assert_string_equal(b, "0.00 EUR");
  pg_money_format(&m, 5000000, b, sizeof b);
  assert_string_equal(b, "0.01 EUR");
  pg_money_format_price(&m, 300000000, b, sizeof b);
  assert_string_equal(b, "0.3000 EUR/kWh");
  pg_money_default(&m);
  pg_money_format(&m, 2343151525, b, sizeof b);
  assert_string_equal(b, "2,343,151,525 i");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_month_parse), cmocka_unit_test(test_build_days),
      cmocka_unit_test(test_csv),         cmocka_unit_test(test_html),
      cmocka_unit_test(test_pdf),         cmocka_unit_test(test_money),
      cmocka_unit_test(test_dst_months),  cmocka_unit_test(test_resource_units),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
