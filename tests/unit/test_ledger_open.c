/* Unit tests for pg_ledger_open_tangle (src/ledger/ledger_tangle.c): the one
 * wiring of a Tangle with its own ledger used by the node and the simulator.
 * The ledger books the genesis, is the Tangle's confirmation and submit
 * hooks, opens
 * again on the same data; a different genesis is refused and leaves nothing
 * open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/tangle.h"

#include "test_util_tmpdir.h"

static void test_open_reopen(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_ledger_open");
  pg_genesis_output g[2];
  memset(g, 0, sizeof g);
  memset(g[0].address, 1, 32);
  g[0].amount = 10000000;
  memset(g[1].address, 2, 32);
  g[1].amount = 5000000;
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = 2, .genesis = g};
  pg_tangle_config tc;
  pg_tangle_config_defaults(&tc);
  tc.data_dir = dir;
  tc.tx_confirm = NULL;
  pg_ledger *l = NULL;
  pg_tangle *t = NULL;
  pg_diag d = {{0}};
  if (pg_ledger_open_tangle(&lc, &tc, &l, &t, &d) != PG_OK) fail_msg("open: %s", d.msg);
  assert_non_null(l);
  assert_non_null(t);
  /* the ledger is the Tangle's confirmation hook */
  assert_true(tc.tx_confirm == pg_ledger_apply);
  assert_ptr_equal(tc.tx_confirm_ctx, l);
  /* and its submit hook: signatures verified on the submitting threads */
  assert_true(tc.tx_precheck == pg_ledger_precheck);
  assert_ptr_equal(tc.tx_precheck_ctx, l);
  uint64_t supply = 0, b = 0;
  bool dust = true;
  assert_int_equal(pg_ledger_supply(l, &supply), PG_OK);
  assert_int_equal(supply, 15000000);
  assert_int_equal(pg_ledger_balance(l, g[1].address, &b, &dust), PG_OK);
  assert_int_equal(b, 5000000);
  pg_ledger_free(l);
  pg_tangle_close(t);

  /* the same data opens again with the same genesis */
  if (pg_ledger_open_tangle(&lc, &tc, &l, &t, &d) != PG_OK) fail_msg("reopen: %s", d.msg);
  assert_int_equal(pg_ledger_supply(l, &supply), PG_OK);
  assert_int_equal(supply, 15000000);
  pg_ledger_free(l);
  pg_tangle_close(t);

  /* another genesis: refused, nothing left open */
  g[1].amount = 6000000;
  l = (pg_ledger *)&lc;
  t = (pg_tangle *)&tc;
  assert_int_equal(pg_ledger_open_tangle(&lc, &tc, &l, &t, &d), PG_ERR_CONFIG);
  assert_null(l);
  assert_null(t);
  /* and the data still opens with its own genesis */
  g[1].amount = 5000000;
  if (pg_ledger_open_tangle(&lc, &tc, &l, &t, &d) != PG_OK) fail_msg("open again: %s", d.msg);
  pg_ledger_free(l);
  pg_tangle_close(t);
  tu_rmrf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_reopen),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
