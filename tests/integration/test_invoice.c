/* test_invoice.c — `p2pgrid invoice` end to end on a market-only simulation
 * across a month boundary (2025-06-29 .. 2025-07-01, Europe/Berlin):
 *   - June's and July's invoices are written for every member (HTML, PDF,
 *     CSV annex, index.html); their slots split the run at local midnight;
 *   - each consumer's total and VAT, recomputed here from its annex and the
 *     tariff (independent integer arithmetic), are what `pdftotext` finds in
 *     its PDF and what its HTML page shows;
 *   - the slot bills of all invoices of a month equal the month's bills in
 *     slots.csv, and June + July equal the run's total in summary.json;
 *   - errors: a bad month (exit 2), a month without slots (exit 1), an
 *     unknown member, a directory without party_slots.csv, all naming the
 *     problem;
 *   - full mode (real entities paying on an in-process Tangle), 2025-06-30
 *     20:00Z for 4 hours: the grid bills June's monthly items (membership,
 *     capacity, VAT) once, in the first slot of July, and the consumers pay
 *     them; June's invoices list every payment the grid's ledger received for
 *     June (grid.db bills: June's slot bills and the month bills) with its
 *     Tangle message id, and the sum of their totals equals those payments;
 *     July's (not over) list its slot bills' payments, its monthly items
 *     still to be billed;
 *   - examples/scenarios/austria.ini settles a year in market-only mode and
 *     June's invoices of all its members check out as above. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "harness.h"

/* tariff of the scenario below */
#define MEMBERSHIP 5000000000LL /* 5Gi */
#define CAPACITY 2000000000LL   /* 2Gi per kW */
#define VAT_BP 2000
#define SLOT_MS 900000LL

static char g_ini[300], g_sim[300];
static const char *const MONEY[] = {"--set", "money.currency=EUR", "--set",
                                    "money.units_per_currency=1Gi", "--set", "money.decimals=2"};

static int setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-invoice-XXXXXX")) return -1;
  snprintf(g_ini, sizeof g_ini, "%s/scenario.ini", g_root);
  write_file(g_ini, "[scenario]\nname = edge\nstart = 2025-06-29\nduration = 3d\nslot = 15m\n"
                    "seed = 7\nmode = market-only\n"
                    "[site]\nlat = 48.2\nlon = 16.37\ntz = Europe/Berlin\n"
                    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\n"
                    "export_price = 80Mi\nfee_per_kwh = 5Mi\nfee_bp = 100\n"
                    "[tariff]\nmembership_fee = 5Gi\ncapacity_price = 2Gi\nvat = 20%\n"
                    "grid_fee_reduction = 30Mi\n"
                    "[producers]\ncount = 2\nsources_per_producer = 1\n"
                    "[households]\ncount = 4\n");
  snprintf(g_sim, sizeof g_sim, "%s/sim", g_root);
  char log[400];
  snprintf(log, sizeof log, "%s/sim.log", g_root);
  const char *sim[] = {P2PGRID_BIN, "sim", g_ini, "-q", "-o", g_sim, NULL};
  run_ok(sim, log);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

/* p2pgrid invoice --month M --sim-out g_sim --config g_ini --out OUT [extra] [money] */
static int invoice(const char *month, const char *sim_out, const char *out, const char *extra1,
                   const char *extra2, const char *log) {
  const char *argv[24] = {P2PGRID_BIN, "invoice", "--month", month, "--sim-out", sim_out,
                          "--config",  g_ini,     "--out",   out};
  int n = 10;
  if (extra1) argv[n++] = extra1;
  if (extra2) argv[n++] = extra2;
  for (size_t i = 0; i < 6; i++) argv[n++] = MONEY[i];
  argv[n] = NULL;
  return run_status(argv, log);
}

/* "raw: total=T slot_bills=B monthly=M credits=C" from the command's output */
static long long raw_sums(const char *log, long long *total, long long *bills,
                          long long *monthly) {
  char *s = slurp(log, NULL);
  assert_non_null(s);
  const char *r = strstr(s, "raw: total=");
  assert_non_null(r);
  long long c, paid;
  assert_int_equal(sscanf(r, "raw: total=%lld slot_bills=%lld monthly=%lld credits=%lld paid=%lld",
                          total, bills, monthly, &c, &paid), 5);
  free(s);
  return paid;
}

/* "1,234.57 EUR" of base units with 1 EUR = 1e9, half away from zero */
static void eur(long long units, char *buf, size_t cap) {
  long long cents = (units + 5000000) / 10000000;
  long long whole = cents / 100;
  char digits[32], grouped[48];
  int nd = snprintf(digits, sizeof digits, "%lld", whole);
  size_t g = 0;
  for (int i = 0; i < nd; i++) {
    if (i && (nd - i) % 3 == 0) grouped[g++] = ',';
    grouped[g++] = digits[i];
  }
  grouped[g] = '\0';
  snprintf(buf, cap, "%s.%02lld EUR", grouped, cents % 100);
}

typedef struct expect {
  long long slots, bills, total, vat, first_slot, last_slot;
} expect;

typedef struct tariff {
  long long membership, capacity_per_kw, vat_bp;
} tariff;
static const tariff EDGE = {MEMBERSHIP, CAPACITY, VAT_BP}; /* g_ini's */

/* The member's month recomputed from its annex and the tariff. */
static expect from_annex(const char *path, const tariff *t) {
  char *s = slurp(path, NULL);
  assert_non_null(s);
  expect e = {0};
  long long energy = 0, fees = 0, peak = 0;
  char *save = NULL, *line = strtok_r(s, "\n", &save); /* the header */
  assert_non_null(line);
  while ((line = strtok_r(NULL, "\n", &save))) {
    long long slot, wh, comm, util, amount, fee, total;
    char start[32];
    assert_int_equal(sscanf(line, "%lld,%31[^,],%lld,%lld,%lld,%lld,%lld,%lld", &slot, start, &wh,
                            &comm, &util, &amount, &fee, &total), 8);
    assert_int_equal(wh, comm + util);
    assert_int_equal(total, amount + fee);
    if (!e.slots) e.first_slot = slot;
    e.last_slot = slot;
    e.slots++;
    energy += amount, fees += fee;
    if (wh > peak) peak = wh;
  }
  free(s);
  long long peak_w = peak * 3600000 / SLOT_MS;
  long long capacity = peak_w * t->capacity_per_kw / 1000;
  long long net = energy + fees + t->membership + capacity;
  e.bills = energy + fees;
  e.vat = net * t->vat_bp / 10000;
  e.total = net + e.vat;
  return e;
}

/* slots.csv (of the run in dir) bills of the slots whose start is in [from_slot, to_slot] */
static long long slots_billed(const char *dir, long long from_slot, long long to_slot) {
  char p[400];
  snprintf(p, sizeof p, "%s/slots.csv", dir);
  char *s = slurp(p, NULL);
  assert_non_null(s);
  long long sum = 0;
  char *save = NULL, *line = strtok_r(s, "\n", &save); /* the header */
  while ((line = strtok_r(NULL, "\n", &save))) {
    long long slot = atoll(line);
    const char *f = line; /* billed is the 10th column */
    for (int i = 0; i < 9 && f; i++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
    assert_non_null(f);
    if (slot >= from_slot && slot <= to_slot) sum += atoll(f);
  }
  free(s);
  return sum;
}

static bool file_has(const char *path, const char *needle) {
  char *s = slurp(path, NULL);
  bool has = s && strstr(s, needle);
  free(s);
  return has;
}

static void test_months(void **state) {
  (void)state;
  static const char *const consumers[] = {"h0001", "h0002", "h0003", "h0004"};
  /* local midnight 2025-07-01 in Berlin (summer time) is 2025-06-30T22:00Z */
  const long long july_first = 1751320800000LL / SLOT_MS;
  long long sum_bills[2] = {0}, grand = 0;
  for (int k = 0; k < 2; k++) {
    const char *month = k ? "2025-07" : "2025-06";
    char out[400], log[450];
    snprintf(out, sizeof out, "%s/inv-%s", g_root, month);
    snprintf(log, sizeof log, "%s.log", out);
    assert_int_equal(invoice(month, g_sim, out, NULL, NULL, log), 0);
    long long total, bills, monthly;
    raw_sums(log, &total, &bills, &monthly);
    long long my_total = 0, my_bills = 0;
    for (size_t i = 0; i < 4; i++) {
      char p[600], text[600];
      snprintf(p, sizeof p, "%s/%s-%s.csv", out, consumers[i], month);
      expect e = from_annex(p, &EDGE);
      /* June: 29 June 00:00Z .. 30 June 21:45Z; July: from 30 June 22:00Z */
      if (k == 0) assert_true(e.last_slot == july_first - 1);
      else assert_true(e.first_slot == july_first);
      my_total += e.total, my_bills += e.bills;
      char want_total[64], want_vat[64];
      eur(e.total, want_total, sizeof want_total);
      eur(e.vat, want_vat, sizeof want_vat);
      snprintf(p, sizeof p, "%s/%s-%s.pdf", out, consumers[i], month);
      snprintf(text, sizeof text, "%s/%s-%s.txt", out, consumers[i], month);
      const char *pdf[] = {PDFTOTEXT_BIN, "-layout", p, text, NULL};
      run_ok(pdf, log);
      assert_true(file_has(text, "Total"));
      if (!file_has(text, want_total) || !file_has(text, want_vat) || !file_has(text, consumers[i]))
        fail_msg("%s: the PDF text lacks total %s or VAT %s", p, want_total, want_vat);
      snprintf(p, sizeof p, "%s/%s-%s.html", out, consumers[i], month);
      char needle[128];
      snprintf(needle, sizeof needle, "id=\"total\">%s<", want_total);
      if (!file_has(p, needle)) fail_msg("%s: no %s", p, needle);
      assert_true(file_has(p, "<svg class=\"chart\" data-chart=\"daily\""));
    }
    assert_int_equal(total, my_total);
    assert_int_equal(bills, my_bills);
    assert_int_equal(total, bills + monthly);
    sum_bills[k] = bills;
    grand += bills;
    /* the month's bills in the simulator's outputs */
    long long want = k ? slots_billed(g_sim, july_first, 1LL << 40)
                       : slots_billed(g_sim, 0, july_first - 1);
    assert_int_equal(bills, want);
    char ix[500];
    snprintf(ix, sizeof ix, "%s/index.html", out);
    assert_true(file_has(ix, "p001-") && file_has(ix, "h0004-"));
  }
  char p[400];
  snprintf(p, sizeof p, "%s/summary.json", g_sim);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  assert_non_null(j);
  assert_int_equal(grand, json_integer_value(json_object_get(json_object_get(j, "money"), "billed")));
  json_decref(j);
  assert_true(sum_bills[0] > 0 && sum_bills[1] > 0);
}

static void test_member_and_errors(void **state) {
  (void)state;
  char out[400], log[450], p[600];
  snprintf(out, sizeof out, "%s/one", g_root);
  snprintf(log, sizeof log, "%s/one.log", g_root);
  assert_int_equal(invoice("2025-06", g_sim, out, "--member", "h0002", log), 0);
  snprintf(p, sizeof p, "%s/h0002-2025-06.pdf", out);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/h0001-2025-06.pdf", out);
  assert_int_not_equal(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/index.html", out);
  assert_int_not_equal(stat(p, &st), 0);

  assert_int_equal(invoice("2025-13", g_sim, out, NULL, NULL, log), 2);
  assert_true(file_has(log, "--month '2025-13' is not a month"));
  assert_int_equal(invoice("2025-05", g_sim, out, NULL, NULL, log), 1);
  assert_true(file_has(log, "no slot settled in 2025-05"));
  assert_int_equal(invoice("2025-06", g_sim, out, "--member", "h9999", log), 1);
  assert_true(file_has(log, "no member h9999"));
  assert_int_equal(invoice("2025-06", g_root, out, NULL, NULL, log), 1);
  assert_true(file_has(log, "participants.csv is missing"));
  const char *noargs[] = {P2PGRID_BIN, "invoice", "--month", "2025-06", NULL};
  assert_int_equal(run_status(noargs, log), 2);
  assert_true(file_has(log, "--sim-out or --grid-db is required"));
}

static long long db_i64(sqlite3 *db, const char *sql, long long arg) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, arg);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void test_full_mode(void **state) {
  (void)state;
  char ini[400], sim[400], log[450];
  snprintf(ini, sizeof ini, "%s/full.ini", g_root);
  write_file(ini, HARNESS_MONTH_EDGE_INI);
  snprintf(sim, sizeof sim, "%s/full", g_root);
  snprintf(log, sizeof log, "%s/full-sim.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "sim", ini, "-q", "-o", sim, NULL};
  run_ok(argv, log);
  char dbp[500];
  snprintf(dbp, sizeof dbp, "%s/state/grid/grid.db", sim);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(dbp, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  const long long july_first = 1751320800000LL / SLOT_MS; /* 2025-06-30T22:00Z */
  static const char *const consumers[] = {"h0001", "h0002", "h0003"};
  for (int k = 0; k < 2; k++) {
    const char *month = k ? "2025-07" : "2025-06";
    char out[400], ilog[450];
    snprintf(out, sizeof out, "%s/full-inv-%s", g_root, month);
    snprintf(ilog, sizeof ilog, "%s.log", out);
    const char *ia[] = {P2PGRID_BIN, "invoice", "--month", month, "--sim-out", sim, "--config", ini,
                        "--out", out, NULL};
    run_ok(ia, ilog);
    long long total, bills, monthly;
    long long paid = raw_sums(ilog, &total, &bills, &monthly);
    /* the same invoices from the grid's own database */
    char gout[450], glog[500];
    snprintf(gout, sizeof gout, "%s-griddb", out);
    snprintf(glog, sizeof glog, "%s.log", gout);
    const char *ga[] = {P2PGRID_BIN, "invoice", "--month", month, "--grid-db", dbp, "--config", ini,
                        "--out", gout, NULL};
    run_ok(ga, glog);
    long long gtotal, gbills, gmonthly;
    assert_int_equal(raw_sums(glog, &gtotal, &gbills, &gmonthly), paid);
    assert_int_equal(gtotal, total);
    assert_int_equal(gbills, bills);
    assert_int_equal(gmonthly, monthly);
    /* what the ledger received for the month: June's slot bills and the
     * month bills issued in July's first slot; July's slot bills */
    const char *which = k ? "kind = 'slot' AND slot >= ?1"
                          : "(kind = 'slot' AND slot < ?1) OR (kind = 'month' AND slot = ?1)";
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COALESCE(SUM(MIN(paid, owed)), 0) FROM bills WHERE %s", which);
    long long ledger = db_i64(db, sql, july_first);
    snprintf(sql, sizeof sql,
             "SELECT COALESCE(SUM(owed), 0) FROM bills WHERE kind = 'slot' AND slot %s ?1",
             k ? ">=" : "<");
    long long owed = db_i64(db, sql, july_first);
    assert_true(ledger > 0);
    assert_int_equal(paid, ledger);
    assert_int_equal(bills, owed);
    assert_int_equal(total, bills + monthly);
    if (k == 0) {
      assert_int_equal(total, paid); /* every item of June billed and paid */
      assert_int_equal(db_i64(db, "SELECT COUNT(*) FROM bills WHERE kind = 'month' AND slot = ?1",
                              july_first), 3);
    } else {
      assert_int_equal(paid, bills); /* July's monthly items come with August */
    }
    /* every payment of the month, by its Tangle message id, on its member's invoice */
    snprintf(sql, sizeof sql, "SELECT consumer_id, payment_msg FROM bills WHERE paid > 0 AND (%s)",
             which);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, july_first);
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *who = (const char *)sqlite3_column_text(st, 0);
      const char *msg = (const char *)sqlite3_column_text(st, 1);
      assert_non_null(msg);
      char html[600];
      snprintf(html, sizeof html, "%s/%s-%s.html", out, who, month);
      if (!file_has(html, msg)) fail_msg("%s: no payment message %s", html, msg);
      snprintf(html, sizeof html, "%s/%s-%s.html", gout, who, month);
      if (!file_has(html, msg)) fail_msg("%s: no payment message %s", html, msg);
      n++;
    }
    sqlite3_finalize(st);
    assert_true(n > 0);
    for (size_t i = 0; i < 3; i++) {
      char html[600];
      snprintf(html, sizeof html, "%s/%s-%s.html", out, consumers[i], month);
      assert_true(file_has(html, "id=\"paid\""));
    }
  }
  sqlite3_close(db);
}

/* The Austrian-style example (examples/scenarios/austria.ini: dynamic key,
 * 15-minute slots in Europe/Vienna, community price, a member at 60 %
 * participation, a monthly fee and VAT) settles a whole year in market-only
 * mode, and June's invoices come out of it: every member's total recomputed
 * from its annex is in its PDF (pdftotext) and its HTML page, and June's slot
 * bills of all invoices are the bills of June's slots (Vienna's month). */
static void test_austria_year(void **state) {
  (void)state;
  const char *ini = PG_SOURCE_DIR "/examples/scenarios/austria.ini";
  char sim[400], out[400], log[450];
  snprintf(sim, sizeof sim, "%s/austria", g_root);
  snprintf(out, sizeof out, "%s/austria-inv", g_root);
  snprintf(log, sizeof log, "%s/austria-sim.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "sim", ini, "-q", "-o", sim, NULL};
  run_ok(argv, log);
  char p[600], text[600];
  snprintf(p, sizeof p, "%s/summary.json", sim);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "slots")), 365 * 96);
  assert_string_equal(json_string_value(json_object_get(j, "timeZone")), "Europe/Vienna");
  json_decref(j);
  snprintf(log, sizeof log, "%s/austria-inv.log", g_root);
  const char *inv[] = {P2PGRID_BIN, "invoice", "--month", "2025-06", "--sim-out", sim,
                       "--config", ini, "--out", out, NULL};
  assert_int_equal(run_status(inv, log), 0);
  long long total, bills, monthly;
  raw_sums(log, &total, &bills, &monthly);
  const tariff at = {2000000000LL, 0, 2000}; /* austria.ini [tariff] */
  long long my_total = 0, my_bills = 0;
  for (int i = 0; i <= 19; i++) {
    char id[16];
    if (i < 19) snprintf(id, sizeof id, "h%04d", i + 1);
    else snprintf(id, sizeof id, "bakery");
    snprintf(p, sizeof p, "%s/%s-2025-06.csv", out, id);
    expect e = from_annex(p, &at);
    assert_int_equal(e.slots, 30 * 96); /* June has no clock change */
    my_total += e.total, my_bills += e.bills;
    char want[64];
    eur(e.total, want, sizeof want);
    snprintf(p, sizeof p, "%s/%s-2025-06.pdf", out, id);
    snprintf(text, sizeof text, "%s/%s-2025-06.txt", out, id);
    const char *pdf[] = {PDFTOTEXT_BIN, "-layout", p, text, NULL};
    run_ok(pdf, log);
    if (!file_has(text, want) || !file_has(text, id)) fail_msg("%s: no total %s", p, want);
    snprintf(p, sizeof p, "%s/%s-2025-06.html", out, id);
    char needle[128];
    snprintf(needle, sizeof needle, "id=\"total\">%s<", want);
    if (!file_has(p, needle)) fail_msg("%s: no %s", p, needle);
  }
  assert_int_equal(total, my_total);
  assert_int_equal(bills, my_bills);
  assert_int_equal(monthly, total - bills);
  /* June in Vienna: 2025-05-31T22:00Z .. 2025-06-30T21:45Z */
  const long long june = 1748728800000LL / SLOT_MS, july = 1751320800000LL / SLOT_MS;
  assert_int_equal(bills, slots_billed(sim, june, july - 1));
  assert_true(bills > 0);
}

/* Issue 16 from the command line: examples/scenarios/water.ini in full mode
 * (channels in litres, payments, milestones) over the end of June, its June
 * invoices in m³ and litres, never kWh; `market settle --resource water`. */
static void test_water(void **state) {
  (void)state;
  const char *ini = PG_SOURCE_DIR "/examples/scenarios/water.ini";
  char sim[400], out[400], log[450], p[600];
  snprintf(sim, sizeof sim, "%s/water", g_root);
  snprintf(out, sizeof out, "%s/water-inv", g_root);
  snprintf(log, sizeof log, "%s/water-sim.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "sim", ini, "-q", "--full", "-o", sim,
                        "--set", "scenario.start=2025-06-29", "--set", "scenario.duration=2d",
                        "--set", "households.count=6", NULL};
  run_ok(argv, log);
  snprintf(p, sizeof p, "%s/summary.json", sim);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "mode")), "full");
  json_t *res = json_object_get(j, "resource");
  assert_string_equal(json_string_value(json_object_get(res, "unit")), "L");
  json_t *m = json_object_get(j, "money");
  assert_true(json_integer_value(json_object_get(m, "billed")) > 0);
  assert_int_equal(json_integer_value(json_object_get(m, "paid")),
                   json_integer_value(json_object_get(m, "billed")));
  json_decref(j);
  snprintf(log, sizeof log, "%s/water-inv.log", g_root);
  const char *inv[] = {P2PGRID_BIN, "invoice", "--month", "2025-06", "--sim-out", sim,
                       "--config", ini, "--out", out, NULL};
  assert_int_equal(run_status(inv, log), 0);
  snprintf(p, sizeof p, "%s/h0001-2025-06.html", out);
  if (!file_has(p, "m\xc2\xb3") || file_has(p, "kWh")) fail_msg("%s: not in m3", p);
  snprintf(p, sizeof p, "%s/h0001-2025-06.pdf", out);
  char text[600];
  snprintf(text, sizeof text, "%s/h0001-2025-06.txt", out);
  const char *pdf[] = {PDFTOTEXT_BIN, "-layout", p, text, NULL};
  run_ok(pdf, log);
  if (!file_has(text, "m\xc2\xb3") || file_has(text, "kWh")) fail_msg("%s: not in m3", p);
  /* one slot settled by hand, in litres */
  snprintf(log, sizeof log, "%s/market.log", g_root);
  const char *mk[] = {P2PGRID_BIN, "market", "settle", "--mechanism", "sdr", "--input",
                      PG_SOURCE_DIR "/examples/slot.json", "--resource", "water", NULL};
  run_ok(mk, log);
  if (!file_has(log, "supply 3700 L, demand 5000 L") || file_has(log, "Wh"))
    fail_msg("%s: not in litres", log);
  const char *bad[] = {P2PGRID_BIN, "market", "settle", "--mechanism", "sdr", "--input",
                       PG_SOURCE_DIR "/examples/slot.json", "--resource", "steam", NULL};
  assert_int_equal(run_status(bad, log), 2);
  if (!file_has(log, "--resource 'steam' is not")) fail_msg("%s: no error", log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_water),
      cmocka_unit_test(test_months),
      cmocka_unit_test(test_member_and_errors),
      cmocka_unit_test(test_full_mode),
      cmocka_unit_test(test_austria_year),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
