/* The simulation report: a small run renders five drawn charts, text from
 * the files is escaped, empty transfers and missing prices are fine, bad
 * input is refused with file:line and leaves no report.html, and a year of
 * 15-minute slots stays small and quick. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/sim/report.h"
#include "test_util_tmpdir.h"

static char *dir;

static void put(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  p[n] = 0;
  fclose(f);
  if (len) *len = (size_t)n;
  return p;
}

static bool exists(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

static int setup(void **st) {
  (void)st;
  dir = tu_mktmp("pg_sim_report");
  return 0;
}

static int teardown(void **st) {
  (void)st;
  if (getenv("PG_SIM_REPORT_KEEP")) { /* to look at the pages */
    printf("  kept %s\n", dir);
    free(dir);
    return 0;
  }
  tu_rmrf(dir);
  return 0;
}

static const char slots_csv[] =
    "slot,start,supply_wh,demand_wh,community_wh,import_wh,export_wh,buy_price,sell_price,"
    "billed,producer_revenues,fees,grid_income\r\n"
    "0,2025-06-01T00:00:00Z,0,400,0,400,0,,,120,0,0,0\r\n"
    "1,2025-06-01T00:15:00Z,300,400,300,100,0,165.5,150,96,45,1,0\r\n"
    "2,2025-06-01T00:30:00Z,900,400,400,0,500,120,120,48,60,1,2\r\n"
    "3,2025-06-01T00:45:00Z,500,500,500,0,0,,,60,60,0,0\r\n";

static const char parts_csv[] =
    "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings\n"
    "c1,\"<b>&\"\"x\"\"\",consumer,household,1700,1200,324,510,186\n"
    "c2,\"Smith, Anna\",consumer,household,0,0,0,0,0\n"
    "p1,Solar roof,producer,solar,1700,1200,165,96,69\n";

static const char bal_csv[] = "slot,id,balance\n"
                              "0,c1,1000\n0,p1,0\n1,c1,880\n1,p1,45\n2,c1,784\n2,p1,105\n"
                              "3,c1,736\n3,p1,165\n";

static const char summary_json[] =
    "{\"scenario\":\"tiny <test>\",\"mode\":\"market-only\",\"start\":\"2025-06-01T00:00:00Z\","
    "\"end\":\"2025-06-01T01:00:00Z\",\"slots\":4,\"slotMs\":900000,"
    "\"participants\":{\"producers\":1,\"sources\":0,\"consumers\":2},"
    "\"energy\":{\"producedWh\":1700,\"consumedWh\":1700,\"communityWh\":1200,"
    "\"importedWh\":500,\"exportedWh\":500},"
    "\"money\":{\"billed\":324,\"paid\":324,\"producerRevenues\":165,\"fees\":2,"
    "\"gridIncome\":2,\"importCost\":150,\"exportIncome\":40},"
    "\"kpis\":{\"consumerSavings\":186,\"producerSavings\":69,\"giniPpm\":120000},"
    "\"wallMs\":12}";

static void write_fixture(void) {
  put("slots.csv", slots_csv);
  put("participants.csv", parts_csv);
  put("transfers.csv", "slot,time,from,to,amount,reference,message_id\n");
  put("balances.csv", bal_csv);
  put("summary.json", summary_json);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

static const char *const charts[5] = {"generation-consumption", "community-utility",
                                      "clearing-price", "bills", "balances"};

/* Each chart's <svg> ... </svg> holds a drawn element. */
static void check_charts(const char *html) {
  assert_int_equal(count(html, "<svg class=\"chart\""), 5);
  for (int i = 0; i < 5; i++) {
    char key[96];
    snprintf(key, sizeof key, "<svg class=\"chart\" data-chart=\"%s\"", charts[i]);
    const char *s = strstr(html, key);
    assert_non_null(s);
    const char *e = strstr(s, "</svg>");
    assert_non_null(e);
    size_t n = (size_t)(e - s);
    char *chunk = strndup(s, n);
    bool drawn = strstr(chunk, "<path") || strstr(chunk, "<rect class=\"amt\"") ||
                 strstr(chunk, "<polyline");
    if (!drawn) fail_msg("chart %s has nothing drawn", charts[i]);
    free(chunk);
  }
}

/* Writes the report of the files in dir and returns it (five charts checked). */
static char *render(void) {
  pg_diag d = {{0}};
  int rc = pg_sim_report_write(dir, &d);
  if (rc) fail_msg("report: %s", d.msg);
  char *html = slurp("report.html", NULL);
  assert_non_null(html);
  check_charts(html);
  return html;
}

static void test_small(void **st) {
  (void)st;
  write_fixture();
  char *html = render();
  /* escaped, never raw */
  assert_non_null(strstr(html, "&lt;b&gt;&amp;&quot;x&quot;"));
  assert_null(strstr(html, "<b>&\"x\""));
  assert_non_null(strstr(html, "tiny &lt;test&gt;"));
  assert_non_null(strstr(html, "Smith, Anna"));
  /* no JavaScript, nothing external */
  assert_null(strstr(html, "<script"));
  assert_null(strstr(html, "href"));
  assert_null(strstr(html, "src="));
  assert_null(strstr(html, "url("));
  assert_null(strstr(html, "@import"));
  assert_non_null(strstr(html, "No value transfers"));
  assert_non_null(strstr(html, "Produced</th><td class=\"n\">1.7<"));
  /* without moneyFormat and timeZone: base units and UTC */
  assert_non_null(strstr(html, "Consumer savings</th><td class=\"n\">186 i<"));
  assert_non_null(strstr(html, "from 2025-06-01 00:00 to 2025-06-01 01:00 (UTC)"));
  assert_non_null(strstr(html, "Gini coefficient of savings</th><td class=\"n\">0.120<"));
  assert_non_null(strstr(html, "Wall time</th><td class=\"n\">0.01<"));
  free(html);
}

/* moneyFormat and timeZone: amounts in the currency, local times, never
 * slot numbers or raw units where a person reads them. */
static void test_currency_and_local_time(void **st) {
  (void)st;
  write_fixture();
  char sum[sizeof summary_json + 200];
  snprintf(sum, sizeof sum, "%.*s,\"timeZone\":\"Europe/Berlin\",\"moneyFormat\":{\"currency\":"
           "\"EUR\",\"unitsPerCurrency\":100,\"decimals\":2}}",
           (int)strlen(summary_json) - 1, summary_json);
  put("summary.json", sum);
  put("transfers.csv", "slot,time,from,to,amount,reference,message_id\n"
                       "1,2025-06-01T00:16:40Z,c1,grid,123456,bill,00ff\n");
  char *html = render();
  assert_non_null(strstr(html, "Consumer savings</th><td class=\"n\">1.86 EUR<"));
  assert_non_null(strstr(html, "Billed to consumers</th><td class=\"n\">3.24 EUR<"));
  assert_non_null(strstr(html, "<b>1.86 EUR</b><span>saved by consumers"));
  assert_non_null(strstr(html, "from 2025-06-01 02:00 to 2025-06-01 03:00 (Europe/Berlin)"));
  /* participants: amount, baseline, savings */
  assert_non_null(strstr(html, "<td class=\"n\">3.24 EUR</td><td class=\"n\">5.10 EUR</td>"
                               "<td class=\"n\">1.86 EUR</td>"));
  /* the transfer: local slot start and time, amount in EUR */
  assert_non_null(strstr(html, "<tr><td>2025-06-01 02:15</td><td>2025-06-01 02:16:40</td>"
                               "<td>c1</td><td>grid</td><td class=\"n\">1,234.56 EUR</td>"));
  /* charts: currency axes, local clock on the time axis */
  assert_non_null(strstr(html, "EUR per kWh"));
  assert_non_null(strstr(html, "balance, EUR"));
  assert_non_null(strstr(html, ">02:15</text>"));
  assert_non_null(strstr(html, "time (Europe/Berlin)"));
  assert_null(strstr(html, "tokens"));
  assert_null(strstr(html, "(UTC)"));
  free(html);
}

static void test_missing_prices_no_optional_files(void **st) {
  (void)st;
  write_fixture();
  put("slots.csv",
      "slot,start,supply_wh,demand_wh,community_wh,import_wh,export_wh,buy_price,sell_price,"
      "billed,producer_revenues,fees,grid_income\n"
      "0,2025-06-01T00:00:00Z,0,400,0,400,0,,,120,0,0,0\n"
      "1,2025-06-01T00:15:00Z,0,400,0,400,0,,,120,0,0,0\n");
  put("summary.json", "{\"scenario\":\"no prices\"}");
  char path[512];
  snprintf(path, sizeof path, "%s/transfers.csv", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/balances.csv", dir);
  unlink(path);
  pg_diag d = {{0}};
  int rc = pg_sim_report_write(dir, &d);
  if (rc) fail_msg("report: %s", d.msg);
  char *html = slurp("report.html", NULL);
  assert_non_null(html);
  assert_int_equal(count(html, "<svg class=\"chart\""), 5);
  assert_non_null(strstr(html, "no community price"));
  free(html);
}

static void expect_fail(const char *file, const char *text, const char *msg) {
  write_fixture();
  char path[512];
  snprintf(path, sizeof path, "%s/report.html", dir);
  unlink(path);
  put(file, text);
  pg_diag d = {{0}};
  int rc = pg_sim_report_write(dir, &d);
  assert_int_not_equal(rc, 0);
  if (!strstr(d.msg, msg)) fail_msg("expected '%s' in '%s'", msg, d.msg);
  printf("  refused: %s\n", d.msg);
  assert_false(exists("report.html"));
}

static void test_malformed(void **st) {
  (void)st;
  expect_fail("slots.csv",
              "slot,start,supply_wh,demand_wh,community_wh,import_wh,export_wh,buy_price,"
              "sell_price,billed,producer_revenues,fees,grid_income\n"
              "0,2025-06-01T00:00:00Z,0,400,0,400,0,,,120,0,0,0\n"
              "1,2025-06-01T00:15:00Z,x,400,0,400,0,,,120,0,0,0\n",
              "slots.csv:3: column 'supply_wh': 'x' is not an integer");
  expect_fail("slots.csv", "slot,start\n0,2025-06-01T00:00:00Z\n",
              "slots.csv:1: header has no column 'supply_wh'");
  expect_fail("participants.csv",
              "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings\n"
              "c1,\"open,consumer,household,1,1,1,1,1\n",
              "participants.csv:2: quoted field not closed");
  expect_fail("participants.csv",
              "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings\n"
              "c1,A,prosumer,household,1,1,1,1,1\n",
              "participants.csv:2: column 'role': 'prosumer' is not producer or consumer");
  expect_fail("balances.csv", "slot,id,balance\n0,c1,1\n1,c1\n",
              "balances.csv:3: 2 fields, the header has 3");
  expect_fail("slots.csv",
              "slot,start,supply_wh,demand_wh,community_wh,import_wh,export_wh,buy_price,"
              "sell_price,billed,producer_revenues,fees,grid_income\n"
              "0,2025-06-01T00:00:00Z,0,400,0,400,0,1.2.3,,120,0,0,0\n",
              "slots.csv:2: column 'buy_price': '1.2.3' is not a number");
  expect_fail("summary.json", "{\"energy\":{\"producedWh\":\"lots\"}}",
              "summary.json: field 'energy.producedWh': expected a number");
  expect_fail("summary.json", "{\"scenario\":", "summary.json: JSON");
  expect_fail("summary.json", "{\"timeZone\":\"Mars/Base\"}", "summary.json: field 'timeZone'");
  expect_fail("summary.json", "{\"timeZone\":7}", "summary.json: field 'timeZone'");
  expect_fail("summary.json",
              "{\"moneyFormat\":{\"currency\":\"EUR\",\"unitsPerCurrency\":100,\"decimals\":10}}",
              "summary.json: moneyFormat: field 'decimals'");
  expect_fail("summary.json",
              "{\"moneyFormat\":{\"currency\":\"E U\",\"unitsPerCurrency\":100,\"decimals\":1}}",
              "summary.json: moneyFormat: money: currency");
  expect_fail("summary.json",
              "{\"moneyFormat\":{\"currency\":\"EUR\",\"unitsPerCurrency\":0,\"decimals\":1}}",
              "summary.json: moneyFormat: field 'unitsPerCurrency'");
  expect_fail("summary.json", "{\"moneyFormat\":\"EUR\"}", "summary.json: field 'moneyFormat'");
  expect_fail("summary.json", "{\"resource\":{\"name\":\"water\"}}",
              "summary.json: resource: 'unit' is not a string");
  expect_fail("summary.json", "{\"resource\":\"water\"}", "summary.json: resource: not an object");
  expect_fail("summary.json",
              "{\"resource\":{\"name\":\"water\",\"unit\":\"L\",\"displayUnit\":\"<b>\","
              "\"displayFactor\":1000,\"flowUnit\":\"L/min\",\"flowFactor\":60,"
              "\"priceUnit\":\"m3\"}}",
              "summary.json: resource: ");
  /* a previous report survives a failed run */
  write_fixture();
  pg_diag d;
  assert_int_equal(pg_sim_report_write(dir, &d), 0);
  put("slots.csv", "garbage\n");
  assert_int_not_equal(pg_sim_report_write(dir, &d), 0);
  size_t len;
  char *html = slurp("report.html", &len);
  assert_non_null(html);
  assert_non_null(strstr(html, "</html>"));
  free(html);
}

/* A sharing mechanism: the allocation chart and table per member, with the
 * optional outside_wh column (participation below 100 %). */
static void test_sharing(void **st) {
  (void)st;
  write_fixture();
  put("participants.csv",
      "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings,outside_wh\n"
      "c1,Bakery,consumer,household,1700,1200,324,510,186,1000\n"
      "c2,Flat,consumer,household,0,0,0,0,0,0\n"
      "p1,Solar roof,producer,solar,1700,1200,165,96,69,0\n");
  char sum[sizeof summary_json + 64];
  snprintf(sum, sizeof sum, "{\"mechanism\":\"dynamic-key\",%s", summary_json + 1);
  put("summary.json", sum);
  pg_diag d = {{0}};
  if (pg_sim_report_write(dir, &d)) fail_msg("report: %s", d.msg);
  char *html = slurp("report.html", NULL);
  assert_non_null(html);
  assert_int_equal(count(html, "data-chart=\"allocation\""), 1);
  assert_non_null(strstr(html, "Allocation per member"));
  /* Bakery: meter 2.7 kWh, 1.7 in this community, 1.2 allocated, 1.5 residual, 44.4 % */
  assert_non_null(strstr(html, "<tr><td>Bakery</td><td class=\"n\">2.7</td><td class=\"n\">1.7"
                               "</td><td class=\"n\">1.2</td><td class=\"n\">1.5</td>"
                               "<td class=\"n\">44.4 %"));
  free(html);
  /* a trading mechanism: no allocation section */
  write_fixture();
  assert_int_equal(pg_sim_report_write(dir, &d), 0);
  html = slurp("report.html", NULL);
  assert_null(strstr(html, "Allocation per member"));
  free(html);
  expect_fail("participants.csv",
              "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings,outside_wh\n"
              "c1,A,consumer,household,1,1,1,1,1,-5\n",
              "participants.csv:2: column 'outside_wh': negative");
}

/* A run whose summary.json names water: every quantity, axis, header and
 * tooltip in litres or m³ (small ones in litres), prices per m³, never kWh;
 * without "resource" the same files read as electricity (test_small). */
static void test_water(void **st) {
  (void)st;
  write_fixture();
  char sum[sizeof summary_json + 400];
  snprintf(sum, sizeof sum,
           "{\"mechanism\":\"dynamic-key\",\"resource\":{\"name\":\"water\",\"unit\":\"L\","
           "\"displayUnit\":\"m\xc2\xb3\",\"displayFactor\":1000,\"flowUnit\":\"L/min\","
           "\"flowFactor\":60,\"priceUnit\":\"m\xc2\xb3\"},%s",
           summary_json + 1);
  put("summary.json", sum);
  put("participants.csv",
      "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings,outside_wh\n"
      "c1,Bakery,consumer,water,700,200,324,510,186,100\n"
      "c2,Flat,consumer,water,0,0,0,0,0,0\n"
      "p1,Well,producer,well,1700,1200,165,96,69,0\n");
  pg_diag d = {{0}};
  if (pg_sim_report_write(dir, &d)) fail_msg("report: %s", d.msg);
  char *html = slurp("report.html", NULL);
  assert_non_null(html);
  assert_int_equal(count(html, "<svg class=\"chart\""), 6); /* with the allocation */
  static const char *const want[] = {
      /* totals of 1.7 m³ and more in m³, one decimal */
      "Produced</th><td class=\"n\">1.7</td><td>m\xc2\xb3<",
      "<b>1.2 m\xc2\xb3</b><span>traded in the community",
      "<tr><th colspan=\"3\">Water</th></tr>",
      "<th class=\"n\">Water, m\xc2\xb3</th>",
      /* slots of at most 900 L and members below 1 m³: litres */
      ">L per slot</text>",
      ">L over the run</text>",
      "Bakery: 200 L allocated</title>",
      "<th class=\"n\">Consumption, L</th>",
      "<tr><td>Bakery</td><td class=\"n\">800</td><td class=\"n\">700"
      "</td><td class=\"n\">200</td><td class=\"n\">600</td>",
      "Paid for allocated water",
      "Community and utility water",
      ">i per m\xc2\xb3</text>",
      "base units (i; quantities in L, also in the columns named *_wh)",
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (!strstr(html, want[i])) fail_msg("not in the water report: %s", want[i]);
  assert_null(strstr(html, "kW"));
  assert_null(strstr(html, "energy"));
  assert_null(strstr(html, "Energy"));
  free(html);
}

static void test_big(void **st) {
  (void)st;
  enum { N = 35040, P = 30 };
  char path[512];
  snprintf(path, sizeof path, "%s/slots.csv", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fprintf(f, "slot,start,supply_wh,demand_wh,community_wh,import_wh,export_wh,buy_price,"
             "sell_price,billed,producer_revenues,fees,grid_income\n");
  int64_t t0 = 1735689600; /* 2025-01-01 */
  for (int i = 0; i < N; i++) {
    time_t t = (time_t)(t0 + (int64_t)i * 900);
    struct tm tm;
    gmtime_r(&t, &tm);
    int hod = tm.tm_hour;
    int64_t sup = (hod >= 6 && hod < 20) ? 2000 + (i * 37) % 3000 : 0;
    int64_t dem = 1500 + (i * 53) % 2000;
    int64_t com = sup < dem ? sup : dem;
    if (sup > 0)
      fprintf(f, "%d,%04d-%02d-%02dT%02d:%02d:00Z,%lld,%lld,%lld,%lld,%lld,%d.5,%d,%lld,%lld,1,0\n",
              i, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
              (long long)sup, (long long)dem, (long long)com, (long long)(dem - com),
              (long long)(sup - com), 150 + i % 20, 140 + i % 10, (long long)dem / 5,
              (long long)com / 8);
    else
      fprintf(f, "%d,%04d-%02d-%02dT%02d:%02d:00Z,0,%lld,0,%lld,0,,,%lld,0,0,0\n", i,
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
              (long long)dem, (long long)dem, (long long)dem / 4);
  }
  assert_int_equal(fclose(f), 0);
  snprintf(path, sizeof path, "%s/participants.csv", dir);
  f = fopen(path, "wb");
  fprintf(f, "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings\n");
  for (int p = 0; p < P; p++)
    fprintf(f, "id%d,Participant %d,%s,%s,%d,%d,%d,%d,%d\n", p, p,
            p % 3 ? "consumer" : "producer", p % 3 ? "household" : "solar", 1000000 + p,
            500000, 90000 + p * 100, 100000 + p * 120, 10000 + p * 20);
  fclose(f);
  snprintf(path, sizeof path, "%s/balances.csv", dir);
  f = fopen(path, "wb");
  fprintf(f, "slot,id,balance\n");
  for (int i = 0; i < N; i++)
    for (int p = 0; p < P; p++)
      fprintf(f, "%d,id%d,%lld\n", i, p,
              (long long)(p % 3 ? 1000000 - (int64_t)i * (p + 1) : (int64_t)i * (p + 2)));
  fclose(f);
  snprintf(path, sizeof path, "%s/transfers.csv", dir);
  f = fopen(path, "wb");
  fprintf(f, "slot,time,from,to,amount,reference,message_id\n");
  for (int i = 0; i < 2000; i++)
    fprintf(f, "%d,2025-01-01T00:00:00Z,id1,id0,%d,\"bill, slot %d\",%064x\n", i, 100 + i, i, i);
  fclose(f);
  put("summary.json", "{\"scenario\":\"year\",\"mode\":\"market-only\",\"slots\":35040,"
                      "\"slotMs\":900000,\"tangle\":{\"messages\":1,\"transfers\":2,"
                      "\"milestones\":3}}");
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pg_diag d = {{0}};
  int rc = pg_sim_report_write(dir, &d);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (rc) fail_msg("report: %s", d.msg);
  size_t len;
  char *html = slurp("report.html", &len);
  assert_non_null(html);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("  35,040 slots x %d participants: report.html %zu bytes in %.2f s\n", P, len, s);
  assert_true(len < 2 * 1024 * 1024);
  check_charts(html);
  assert_non_null(strstr(html, "kWh per day"));
  assert_non_null(strstr(html, "The 20 balances that moved most, of 30."));
  free(html);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_small, setup, teardown),
      cmocka_unit_test_setup_teardown(test_currency_and_local_time, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_prices_no_optional_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sharing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_water, setup, teardown),
      cmocka_unit_test_setup_teardown(test_big, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
