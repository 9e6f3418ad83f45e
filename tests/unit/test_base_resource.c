/* Unit tests for resource.c: presets, the [resource] section, display and
 * the JSON form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/resource.h"

static int load(const char *text, pg_resource *r, pg_diag *d) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  int rc = pg_config_load_string(c, "r.ini", text, strlen(text), d);
  if (rc == PG_OK) rc = pg_resource_from_config(c, "resource", r, d);
  pg_config_free(c);
  return rc;
}

static void expect_fmt(const pg_resource *r, int64_t q, bool base, const char *want) {
  char b[PG_RESOURCE_FMT_MAX];
  size_t n = base ? pg_resource_format_base(r, q, b, sizeof b) : pg_resource_format(r, q, b, sizeof b);
  if (strcmp(b, want) != 0) fail_msg("format %lld: '%s', want '%s'", (long long)q, b, want);
  assert_int_equal(n, strlen(want));
}

static void test_default_is_electricity(void **st) {
  (void)st;
  pg_resource r, zero;
  memset(&zero, 0, sizeof zero);
  pg_resource_default(&r);
  assert_string_equal(r.name, "electricity");
  assert_string_equal(r.unit, "Wh");
  assert_string_equal(r.display_unit, "kWh");
  assert_int_equal(r.display_factor, 1000);
  assert_string_equal(r.price_unit, "kWh");
  assert_int_equal(pg_resource_check(&r, NULL), PG_OK);
  assert_true(pg_resource_is_electricity(&zero));
  assert_true(pg_resource_is_electricity(NULL));
  assert_true(pg_resource_same(&zero, &r));
  assert_string_equal(pg_resource_or_default(&zero)->name, "electricity");
  pg_resource e;
  pg_diag d = {0};
  assert_int_equal(load("[other]\nx = 1\n", &e, &d), PG_OK);
  assert_memory_equal(&e, &r, sizeof r);
}

static void test_presets(void **st) {
  (void)st;
  pg_resource w, h;
  assert_int_equal(pg_resource_preset("water", &w), PG_OK);
  assert_string_equal(w.unit, "L");
  assert_string_equal(w.display_unit, "m\xc2\xb3");
  assert_string_equal(w.flow_unit, "L/min");
  assert_int_equal(w.flow_factor, 60);
  assert_false(pg_resource_is_electricity(&w));
  assert_int_equal(pg_resource_preset("heat", &h), PG_OK);
  assert_false(pg_resource_same(&h, NULL)); /* same unit, other resource */
  assert_false(pg_resource_same(&w, &h));
  assert_int_equal(pg_resource_preset("steam", &h), PG_ERR_NOT_FOUND);
  assert_string_equal(h.name, "heat"); /* unchanged */
}

static void test_format(void **st) {
  (void)st;
  pg_resource w, e;
  assert_int_equal(pg_resource_preset("water", &w), PG_OK);
  pg_resource_default(&e);
  expect_fmt(&w, 1500, false, "1.5 m\xc2\xb3");
  expect_fmt(&w, 1234567, false, "1,234.567 m\xc2\xb3");
  expect_fmt(&w, 1, false, "0.001 m\xc2\xb3");
  expect_fmt(&w, 0, false, "0 m\xc2\xb3");
  expect_fmt(&w, -2000, false, "-2 m\xc2\xb3");
  expect_fmt(&w, 1234500, true, "1,234,500 L");
  expect_fmt(&e, 12345, false, "12.345 kWh");
  expect_fmt(NULL, INT64_MIN, true, "-9,223,372,036,854,775,808 Wh");
  /* the number under both, with every decimal of the factor */
  char f[PG_RESOURCE_FMT_MAX];
  assert_int_equal(pg_resource_format_scaled(1750, 1000, "m3", true, f, sizeof f), 8);
  assert_string_equal(f, "1.750 m3");
  (void)pg_resource_format_scaled(0, 1000, "kW", true, f, sizeof f);
  assert_string_equal(f, "0.000 kW");
  (void)pg_resource_format_scaled(-1234567, 1000, "kW", true, f, sizeof f);
  assert_string_equal(f, "-1,234.567 kW");
  (void)pg_resource_format_scaled(1234, 60, "L", true, f, sizeof f); /* not a power of ten */
  assert_string_equal(f, "1,234 L");
  char b[6];
  assert_int_equal(pg_resource_format(&e, 12345, b, sizeof b), strlen("12.345 kWh"));
  assert_string_equal(b, "12.34");
}

static void test_config(void **st) {
  (void)st;
  pg_resource r;
  pg_diag d = {0};
  assert_int_equal(load("[resource]\nname = water\n", &r, &d), PG_OK);
  assert_string_equal(r.price_unit, "m\xc2\xb3");
  assert_int_equal(load("[resource]\nname = heat\ndisplay_unit = MWh\ndisplay_factor = 1000000\n",
                        &r, &d),
                   PG_OK);
  assert_string_equal(r.display_unit, "MWh");
  assert_string_equal(r.price_unit, "1000 Wh");
  expect_fmt(&r, 2500000, false, "2.5 MWh");
  assert_int_equal(load("[resource]\nname = air\nunit = L\ndisplay_unit = m3\n"
                        "display_factor = 1000\n",
                        &r, &d),
                   PG_OK);
  assert_string_equal(r.flow_unit, "L/h");
  assert_int_equal(r.flow_factor, 1);
  assert_string_equal(r.price_unit, "m3");
  assert_int_equal(load("[resource]\nname = grain\nunit = kg\n", &r, &d), PG_OK);
  assert_string_equal(r.display_unit, "kg");
  assert_string_equal(r.price_unit, "1000 kg");
}

static void expect_bad(const char *text, const char *needle) {
  pg_resource r;
  pg_resource_default(&r);
  pg_diag d = {0};
  int rc = load(text, &r, &d);
  assert_int_not_equal(rc, PG_OK);
  if (!strstr(d.msg, needle)) fail_msg("diag '%s' lacks '%s'", d.msg, needle);
  assert_string_equal(r.name, "electricity"); /* unchanged */
}

static void test_config_refused(void **st) {
  (void)st;
  expect_bad("[resource]\nname = Water\n", "[resource] name: 'Water'");
  expect_bad("[resource]\nname = steam\n", "[resource] unit: required");
  expect_bad("[resource]\nname = water\nunit = l i\n", "[resource] unit: 'l i'");
  expect_bad("[resource]\nname = water\ndisplay_factor = 60\n", "power of ten");
  expect_bad("[resource]\nname = water\ndisplay_factor = 10000000000\n", "display_factor");
  expect_bad("[resource]\nname = water\ndisplay_unit = <b>\n", "[resource] display_unit");
  expect_bad("[resource]\nname = water\nflow_unit = \xff\xfe\n", "[resource] flow_unit");
  expect_bad("[resource]\nname = water\nflow_factor = 0\n", "flow_factor");
  expect_bad("[resource]\nname = x\nunit = abcdefghijklmn\n", "flow_unit");
}

static void test_json_round_trip(void **st) {
  (void)st;
  pg_resource w, back;
  assert_int_equal(pg_resource_preset("gas", &w), PG_OK);
  json_t *j = pg_resource_json(&w);
  assert_non_null(j);
  assert_int_equal(pg_resource_from_json(j, &back, NULL), PG_OK);
  assert_memory_equal(&w, &back, sizeof w);
  pg_diag d = {0};
  json_object_set_new(j, "displayFactor", json_integer(7));
  assert_int_equal(pg_resource_from_json(j, &back, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "display_factor"));
  json_object_del(j, "unit");
  assert_int_equal(pg_resource_from_json(j, &back, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "'unit'"));
  json_decref(j);
  assert_int_equal(pg_resource_from_json(NULL, &back, NULL), PG_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_is_electricity), cmocka_unit_test(test_presets),
      cmocka_unit_test(test_format),                 cmocka_unit_test(test_config),
      cmocka_unit_test(test_config_refused),         cmocka_unit_test(test_json_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
