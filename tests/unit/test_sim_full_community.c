/* Issue 18: full mode at a community's size. A generated community of 50
 * households and 6 producers (18 sources) runs a few slots on the in-process
 * Tangle and settles exactly as market-only, slot by slot and per member,
 * with every bill paid and the ledger's supply unchanged. (The larger sizes
 * are bench_sim's; this keeps the path that grows with members tested.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/config.h"
#include "p2pgrid/log.h"
#include "p2pgrid/sim.h"
#include "test_util_tmpdir.h"

static const char *COMMUNITY =
    "[scenario]\nname = community\nstart = 2025-06-21T09:00:00Z\nduration = 1h\nslot = 15m\n"
    "seed = 18\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "fee_per_kwh = 5Mi\nfee_bp = 100\npayout_min = 1Mi\n"
    "[producers]\ncount = 6\nsources_per_producer = 3\nsolar_share = 0.75\nkwp_min = 5\n"
    "kwp_max = 30\nwind_kw_min = 5\nwind_kw_max = 20\nask_share = 0.5\nask_min = 90Mi\n"
    "ask_max = 160Mi\n"
    "[households]\ncount = 50\nbid_share = 0.5\nbid_min = 200Mi\nbid_max = 290Mi\n";

static void run(pg_sim_mode mode, char **dir, pg_sim_result *r) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  if (pg_config_load_string(c, "community.ini", COMMUNITY, strlen(COMMUNITY), &d) != PG_OK)
    fail_msg("%s", d.msg);
  pg_scenario s;
  if (pg_scenario_from_config(c, &s, &d) != PG_OK) fail_msg("%s", d.msg);
  *dir = tu_mktmp("pg_simfc");
  pg_sim_opts o = {.mode = mode, .out_dir = *dir};
  if (pg_sim_run(&s, &o, r, &d) != PG_OK) fail_msg("run: %s", d.msg);
  pg_scenario_free(&s);
  pg_config_free(c);
}

static void test_community_full_equals_market(void **state) {
  (void)state;
  char *d1, *d2;
  pg_sim_result m, f;
  run(PG_SIM_MARKET_ONLY, &d1, &m);
  run(PG_SIM_FULL, &d2, &f);
  assert_int_equal(m.n_parties, 56);
  assert_int_equal(m.n_slots, 4);
  assert_int_equal(m.n_slots, f.n_slots);
  for (size_t i = 0; i < m.n_slots; i++) {
    const pg_sim_slot *x = &m.slots[i], *y = &f.slots[i];
    assert_int_equal(x->slot, y->slot);
    assert_int_equal(x->supply_wh, y->supply_wh);
    assert_int_equal(x->demand_wh, y->demand_wh);
    assert_int_equal(x->community_wh, y->community_wh);
    assert_int_equal(x->billed, y->billed);
    assert_int_equal(x->producer_revenues, y->producer_revenues);
    assert_int_equal(x->fees, y->fees);
    assert_int_equal(x->grid_income, y->grid_income);
  }
  assert_int_equal(m.n_parties, f.n_parties);
  for (size_t i = 0; i < m.n_parties; i++) {
    assert_string_equal(m.parties[i].id, f.parties[i].id);
    assert_int_equal(m.parties[i].energy_wh, f.parties[i].energy_wh);
    assert_int_equal(m.parties[i].community_wh, f.parties[i].community_wh);
    assert_int_equal(m.parties[i].amount, f.parties[i].amount);
  }
  assert_true(m.total.supply_wh > 0 && m.total.community_wh > 0);
  /* paid on the Tangle: every bill, nothing minted */
  assert_int_equal(f.paid, f.total.billed);
  assert_int_equal(f.outstanding, 0);
  assert_int_equal(f.supply_before, f.supply_after);
  assert_true(f.transfers >= 50 && f.milestones > 0);
  pg_sim_result_free(&m);
  pg_sim_result_free(&f);
  tu_rmrf(d1);
  tu_rmrf(d2);
}

int main(void) {
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_community_full_equals_market)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
