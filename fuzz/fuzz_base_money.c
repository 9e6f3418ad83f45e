/* Fuzz target: the [money] section and amounts of p2pgrid/base/money.h. The input
 * is INI text (a [money] section, or anything); its first line is also tried
 * as an amount ("300Mi"). Checks: a parsed amount prints and parses back to
 * the same value; a pg_money read from the config formats amounts and prices
 * (taken from the input's bytes) within PG_MONEY_FMT_MAX, NUL-terminated,
 * ending in the currency, with a '-' only for negative amounts, grouped by 3. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_amount(const uint8_t *data, size_t size) {
  char s[64];
  size_t n = 0;
  while (n < size && n < sizeof s - 1 && data[n] != '\n' && data[n] != '\0') n++;
  memcpy(s, data, n);
  s[n] = '\0';
  uint64_t v = 0, w = 0;
  if (pg_money_parse_amount(s, &v) != PG_OK) return;
  char back[32];
  snprintf(back, sizeof back, "%llu", (unsigned long long)v);
  if (pg_money_parse_amount(back, &w) != PG_OK || w != v) abort();
}

/* The text of one formatted amount: digits grouped by 3 with ',', at most one
 * '.', a leading '-' only when negative, then " " currency [suffix]. */
static void check_text(const pg_money *m, const char *b, size_t n, int64_t v, const char *suffix) {
  if (n >= PG_MONEY_FMT_MAX || strlen(b) != n) abort();
  char tail[32];
  snprintf(tail, sizeof tail, " %s%s", m->currency, suffix);
  size_t t = strlen(tail);
  if (n <= t || strcmp(b + n - t, tail) != 0) abort();
  size_t i = 0, end = n - t;
  if (b[0] == '-') {
    if (v >= 0) abort();
    i = 1;
  }
  size_t digits = 0; /* since the last ',' or the start of the integer part */
  for (; i < end && b[i] != '.'; i++) {
    if (b[i] == ',') {
      if (digits == 0 || digits > 3) abort();
      digits = 0;
    } else if (b[i] >= '0' && b[i] <= '9') {
      digits++;
    } else {
      abort();
    }
  }
  if (digits == 0 || digits > 3) abort();
  for (i = i < end ? i + 1 : i; i < end; i++)
    if (b[i] < '0' || b[i] > '9') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_amount(data, size);
  pg_config *c = NULL;
  if (pg_config_new(&c) != PG_OK) abort();
  pg_diag d;
  pg_money m;
  if (pg_config_load_string(c, "fuzz.ini", (const char *)data, size, &d) == PG_OK) {
    d.msg[0] = '\0';
    if (pg_money_from_config(c, "money", &m, &d) == PG_OK) {
      if (pg_money_check(&m, NULL) != PG_OK) abort();
      for (size_t k = 0; k + 8 <= size && k < 64; k += 8) {
        int64_t v;
        memcpy(&v, data + k, 8);
        char b[PG_MONEY_FMT_MAX];
        check_text(&m, b, pg_money_format(&m, v, b, sizeof b), v, "");
        check_text(&m, b, pg_money_format_price(&m, (uint64_t)v, b, sizeof b), 0, "/kWh");
      }
      char b[PG_MONEY_FMT_MAX];
      check_text(&m, b, pg_money_format(&m, INT64_MIN, b, sizeof b), INT64_MIN, "");
      check_text(&m, b, pg_money_format(&m, INT64_MAX, b, sizeof b), INT64_MAX, "");
    } else if (d.msg[0] == '\0') {
      abort(); /* a failure always says why */
    }
  }
  pg_config_free(c);
  return 0;
}
