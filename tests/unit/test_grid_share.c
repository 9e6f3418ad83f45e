/* The [sharing] section of a grid configuration (grid.h
 * pg_grid_share_from_config): members with key, group and participation,
 * defaults, and errors that name the member and the item. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/grid/grid.h"

static pg_config *load(const char *text) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  if (pg_config_load_string(c, "grid.ini", text, strlen(text), &d)) fail_msg("%s", d.msg);
  return c;
}

static void test_members(void **state) {
  (void)state;
  pg_config *c = load("[grid]\nmechanism = hierarchical\n"
                      "[sharing]\nbakery = participation 60%\n"
                      "flat-1 = key 25%, group 1\n"
                      "flat-2 = group 2, key 12.5%, participation 40\n"
                      "school = \n");
  pg_grid_share_member *m = NULL;
  size_t n = 0;
  pg_diag d = {{0}};
  if (pg_grid_share_from_config(c, "sharing", &m, &n, &d)) fail_msg("%s", d.msg);
  assert_int_equal(n, 4);
  assert_string_equal(m[0].id, "bakery");
  assert_int_equal(m[0].participation, 60);
  assert_int_equal(m[0].key_ppm, 0);
  assert_string_equal(m[1].id, "flat-1");
  assert_int_equal(m[1].key_ppm, 250000);
  assert_int_equal(m[1].group, 1);
  assert_int_equal(m[1].participation, 100);
  assert_int_equal(m[2].key_ppm, 125000);
  assert_int_equal(m[2].group, 2);
  assert_int_equal(m[2].participation, 40);
  assert_int_equal(m[3].participation, 100);
  /* every member key was read: nothing left for the unknown-setting check */
  pg_config_list l = {0};
  assert_int_equal(pg_config_get_list(c, "grid", "mechanism", NULL, 0, &l, &d), PG_OK);
  pg_config_list_free(&l);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  pg_grid_share_free(m, n);
  pg_config_free(c);
  /* no section: no members */
  c = load("[grid]\nx = 1\n");
  assert_int_equal(pg_grid_share_from_config(c, "sharing", &m, &n, &d), PG_OK);
  assert_int_equal(n, 0);
  pg_grid_share_free(m, n);
  pg_config_free(c);
}

static void test_errors(void **state) {
  (void)state;
  struct {
    const char *text, *want;
  } cases[] = {
      {"[sharing]\na = key 101%\n", "[sharing] a: key '101%'"},
      {"[sharing]\na = participation 0%\n", "[sharing] a: participation '0%'"},
      {"[sharing]\na = participation 60 %\n", "[sharing] a: participation"},
      {"[sharing]\na = group 64\n", "[sharing] a: group '64'"},
      {"[sharing]\na = group -1\n", "[sharing] a: group"},
      {"[sharing]\na = weight 3\n", "[sharing] a: unknown item 'weight'"},
      {"[sharing]\na = key\n", "[sharing] a: 'key' is not"},
      {"[sharing]\na = key 1%, group 1, participation 5, key 2%\n", "[sharing] a"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    pg_config *c = load(cases[i].text);
    pg_grid_share_member *m = (pg_grid_share_member *)1;
    size_t n = 7;
    pg_diag d = {{0}};
    int rc = pg_grid_share_from_config(c, "sharing", &m, &n, &d);
    if (rc == PG_OK) fail_msg("case %zu accepted", i);
    if (!strstr(d.msg, cases[i].want))
      fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
    assert_null(m);
    assert_int_equal(n, 0);
    pg_config_free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_members),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
