/* test_util_scenario.h — a bundled example scenario for simulator tests:
 * tu_example("austria.ini", sets, &s) loads examples/scenarios/NAME with the
 * "section.key=value" overrides of sets (NULL-ended), reads it into s (every
 * key read) and returns its config (free it after pg_scenario_free).
 * tu_scenario_refused(text, want, i) checks that the scenario text (as
 * "x.ini") is refused with PG_ERR_CONFIG and a message holding want (case i
 * in the failure). Include after <cmocka.h>. */
#ifndef P2PGRID_TEST_UTIL_SCENARIO_H
#define P2PGRID_TEST_UTIL_SCENARIO_H

#include <stdio.h>
#include <string.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/sim/sim.h"

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

static void tu_scenario_refused(const char *text, const char *want, size_t i) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  assert_int_equal(pg_config_load_string(c, "x.ini", text, strlen(text), &d), PG_OK);
  pg_scenario s;
  assert_int_equal(pg_scenario_from_config(c, &s, &d), PG_ERR_CONFIG);
  if (!strstr(d.msg, want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, want);
  pg_config_free(c);
}

#endif
