/* test_util_scenario.h — a bundled example scenario for simulator tests:
 * tu_example("austria.ini", sets, &s) loads examples/scenarios/NAME with the
 * "section.key=value" overrides of sets (NULL-ended), reads it into s (every
 * key read) and returns its config (free it after pg_scenario_free). Include
 * after <cmocka.h>. */
#ifndef P2PGRID_TEST_UTIL_SCENARIO_H
#define P2PGRID_TEST_UTIL_SCENARIO_H

#include <stdio.h>
#include <string.h>

#include "p2pgrid/config.h"
#include "p2pgrid/sim.h"

static pg_config *tu_example(const char *name, const char *const *sets, pg_scenario *s) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  char path[512];
  snprintf(path, sizeof path, "%s/examples/scenarios/%s", PG_SOURCE_DIR, name);
  if (pg_config_load_file(c, path, &d)) fail_msg("%s", d.msg);
  for (size_t i = 0; sets && sets[i]; i++) {
    char sec[64], key[64];
    const char *dot = strchr(sets[i], '.'), *eq = strchr(sets[i], '=');
    assert_true(dot && eq && dot < eq && (size_t)(dot - sets[i]) < sizeof sec &&
                (size_t)(eq - dot - 1) < sizeof key);
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - sets[i]), sets[i]);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    assert_int_equal(pg_config_set(c, sec, key, eq + 1), PG_OK);
  }
  if (pg_scenario_from_config(c, s, &d)) fail_msg("%s", d.msg);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  return c;
}

#endif
