/* pg_dl_bind (p2pgrid/base/dl.h): a library that loads fills its table once and
 * later calls are no-ops; a missing library or function is an error that
 * names the library, its Debian package and the missing piece, and stays
 * that error; the optional libraries are not mapped until first use. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/dl.h"
#include "p2pgrid/base/mosq.h"

#define M_FNS(X) X(cos) X(sqrt)
typedef struct m_fns {
  M_FNS(PG_DL_FIELD)
} m_fns;
#define M_ENTRY(f) PG_DL_ENTRY(m_fns, f)
static const pg_dl_fn m_list[] = {M_FNS(M_ENTRY)};

static void test_loads_and_fills(void **state) {
  (void)state;
  static m_fns t;
  static pg_dl_lib lib = PG_DL_LIB("libm.so.6", "libc6", "maths", m_list, &t, NULL);
  pg_diag d = {{0}};
  assert_int_equal(pg_dl_bind(&lib, &d), PG_OK);
  assert_non_null(t.cos);
  assert_true(t.sqrt(81.0) == 9.0);
  assert_true(t.cos(0.0) == 1.0);
  assert_int_equal(pg_dl_bind(&lib, &d), PG_OK); /* once: still fine */
}

static void test_missing_library_named(void **state) {
  (void)state;
  static m_fns t;
  static pg_dl_lib lib =
      PG_DL_LIB("libp2pgrid-no-such.so.9", "libnosuch9", "frobbing", m_list, &t, NULL);
  pg_diag d = {{0}};
  assert_int_equal(pg_dl_bind(&lib, &d), PG_ERR_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "frobbing needs libp2pgrid-no-such.so.9"));
  assert_non_null(strstr(d.msg, "Debian package libnosuch9"));
  assert_null(t.cos);
  pg_diag d2 = {{0}};
  assert_int_equal(pg_dl_bind(&lib, &d2), PG_ERR_UNSUPPORTED); /* remembered */
  assert_string_equal(d.msg, d2.msg);
}

#define BAD_FNS(X) X(cos) X(pg_no_such_function)
typedef struct bad_fns {
  double (*cos)(double);
  void (*pg_no_such_function)(void);
} bad_fns;
#define BAD_ENTRY(f) PG_DL_ENTRY(bad_fns, f)
static const pg_dl_fn bad_list[] = {BAD_FNS(BAD_ENTRY)};

static void test_missing_function_named(void **state) {
  (void)state;
  static bad_fns t;
  static pg_dl_lib lib = PG_DL_LIB("libm.so.6", "libc6", "maths", bad_list, &t, NULL);
  pg_diag d = {{0}};
  assert_int_equal(pg_dl_bind(&lib, &d), PG_ERR_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "has no function pg_no_such_function"));
}

static int mapped(const char *name) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  char line[512];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) found = strstr(line, name) != NULL;
  fclose(f);
  return found;
}

/* libmosquitto is not mapped before pg_mosq_load and is after it. */
static void test_mosquitto_on_first_use(void **state) {
  (void)state;
  if (mapped("/proc/self/maps") < 0) skip();
  assert_int_equal(mapped("libmosquitto"), 0);
  pg_diag d = {{0}};
  assert_int_equal(pg_mosq_load(&d), PG_OK);
  assert_int_equal(mapped("libmosquitto"), 1);
  assert_int_equal(mosquitto_sub_topic_check("a/b"), MOSQ_ERR_SUCCESS);
  assert_int_not_equal(mosquitto_sub_topic_check("a/#/b"), MOSQ_ERR_SUCCESS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loads_and_fills),
      cmocka_unit_test(test_missing_library_named),
      cmocka_unit_test(test_missing_function_named),
      cmocka_unit_test(test_mosquitto_on_first_use),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
