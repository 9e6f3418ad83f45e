/* The battery, cases computed by hand (asset.h), the common parts (strategy
 * names, thresholds, step input checks) and every refusal of init. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/asset/asset.h"

#define HOUR 3600000
#define QUARTER 900000

static pg_asset make(const pg_battery_params *p, pg_asset_strategy s) {
  pg_asset a;
  pg_diag d = {{0}};
  if (pg_asset_battery_init(&a, p, s, &d)) fail_msg("init: %s", d.msg);
  return a;
}

static pg_asset_out step(pg_asset *a, int64_t slot_ms, int64_t site_net, int64_t community,
                         uint64_t price) {
  pg_asset_in in = {.start_ms = 0, .slot_ms = slot_ms, .site_net_wh = site_net,
                    .community_surplus_wh = community, .price_per_kwh = price};
  pg_asset_out o;
  pg_diag d = {{0}};
  if (pg_asset_step(a, &in, &o, &d)) fail_msg("step: %s", d.msg);
  return o;
}

static void absorbs_one_slots_surplus(void **st) {
  (void)st;
  /* default: 10 kWh, 5 kW, eta 95 %, at 50 % = 5000 Wh, band 1000..9500.
   * 2000 Wh surplus in an hour (5 kW x 1 h = 5000 Wh allowed): all taken,
   * stored +floor(2000 x 0.95) = +1900, loss 100; 6900 Wh = 69 %. */
  pg_battery_params p;
  pg_battery_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  assert_int_equal(a.stored_wh, 5000);
  pg_asset_out o = step(&a, HOUR, -2000, 0, 0);
  assert_int_equal(o.charge_wh, 2000);
  assert_int_equal(o.loss_wh, 100);
  assert_int_equal(o.discharge_wh, 0);
  assert_int_equal(o.stored_wh, 6900);
  assert_int_equal(o.soc_ppm, 690000);
  assert_int_equal(pg_asset_net_wh(&o), 2000);
}

static void hits_soc_max_mid_slot(void **st) {
  (void)st;
  /* at 90 % = 9000 Wh, soc_max 95 % = 9500: room 500 Wh. 3000 Wh surplus:
   * the least charge that fills it is ceil(500 / 0.95) = ceil(526.3) = 527,
   * floor(527 x 0.95) = floor(500.65) = 500 stored, loss 27; the rest of the
   * surplus is left to the site. A second slot takes nothing. */
  pg_battery_params p;
  pg_battery_params_default(&p);
  p.soc_initial_ppm = 900000;
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, HOUR, -3000, 0, 0);
  assert_int_equal(o.charge_wh, 527);
  assert_int_equal(o.loss_wh, 27);
  assert_int_equal(o.stored_wh, 9500);
  assert_int_equal(o.soc_ppm, 950000);
  o = step(&a, HOUR, -3000, 0, 0);
  assert_int_equal(o.charge_wh, 0);
  assert_int_equal(o.stored_wh, 9500);
}

static void power_limit_per_slot(void **st) {
  (void)st;
  /* 5 kW x 15 min = 1250 Wh at most; floor(1250 x 0.95) = floor(1187.5) =
   * 1187 stored, loss 63. A 3 kW battery over 10 min 1 s: 3000 x 601000 /
   * 3600000 = 500.83 -> 500 Wh. */
  pg_battery_params p;
  pg_battery_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, QUARTER, -4000, 0, 0);
  assert_int_equal(o.charge_wh, 1250);
  assert_int_equal(o.loss_wh, 63);
  assert_int_equal(o.stored_wh, 6187);
  p.max_charge_w = 3000;
  a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  o = step(&a, 601000, -4000, 0, 0);
  assert_int_equal(o.charge_wh, 500);
}

static void discharge_covers_import(void **st) {
  (void)st;
  /* 950 Wh import: draws ceil(950 / 0.95) = 1000 Wh, loss 50. */
  pg_battery_params p;
  pg_battery_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, HOUR, 950, 0, 0);
  assert_int_equal(o.discharge_wh, 950);
  assert_int_equal(o.charge_wh, 0);
  assert_int_equal(o.loss_wh, 50);
  assert_int_equal(o.stored_wh, 4000);
  assert_int_equal(pg_asset_net_wh(&o), -950);
  /* at 12 % = 1200 Wh, soc_min 10 % = 1000: 200 Wh above it deliver
   * floor(200 x 0.95) = 190 Wh (drawing ceil(190 / 0.95) = 200), loss 10 */
  p.soc_initial_ppm = 120000;
  a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  o = step(&a, HOUR, 3000, 0, 0);
  assert_int_equal(o.discharge_wh, 190);
  assert_int_equal(o.loss_wh, 10);
  assert_int_equal(o.stored_wh, 1000);
  o = step(&a, HOUR, 3000, 0, 0);
  assert_int_equal(o.discharge_wh, 0);
  assert_int_equal(o.stored_wh, 1000);
}

static void price_responsive(void **st) {
  (void)st;
  /* import 300, export 90: third = 70, charge at or below 160, discharge at
   * or above 230; spread 70. With min_spread 100 the battery does nothing. */
  uint64_t cb, da;
  pg_asset_thresholds(300, 90, &cb, &da);
  assert_int_equal(cb, 160);
  assert_int_equal(da, 230);
  pg_battery_params p;
  pg_battery_params_default(&p);
  p.min_spread = 100;
  pg_asset a = make(&p, PG_ASSET_PRICE_RESPONSIVE);
  a.charge_below = cb, a.discharge_above = da;
  pg_asset_out o = step(&a, HOUR, -2000, 0, 50);
  assert_int_equal(o.charge_wh + o.discharge_wh, 0);
  o = step(&a, HOUR, 2000, 0, 400);
  assert_int_equal(o.charge_wh + o.discharge_wh, 0);
  assert_int_equal(o.stored_wh, 5000);
  /* min_spread 70: at 160 full power in (5000 Wh; room 4500 -> ceil(4500 /
   * 0.95) = 4737), at 200 nothing, at 230 full power out (5000 Wh, draws
   * ceil(5000 / 0.95) = 5264 of 9500). */
  p.min_spread = 70;
  a = make(&p, PG_ASSET_PRICE_RESPONSIVE);
  a.charge_below = cb, a.discharge_above = da;
  o = step(&a, HOUR, 0, 0, 160);
  assert_int_equal(o.charge_wh, 4737);
  assert_int_equal(o.stored_wh, 9500);
  o = step(&a, HOUR, 0, 0, 200);
  assert_int_equal(o.charge_wh + o.discharge_wh, 0);
  o = step(&a, HOUR, 0, 0, 230);
  assert_int_equal(o.discharge_wh, 5000);
  assert_int_equal(o.stored_wh, 9500 - 5264);
  /* thresholds never set: it never discharges, charges only at price 0 */
  a = make(&p, PG_ASSET_PRICE_RESPONSIVE);
  o = step(&a, HOUR, 0, 0, UINT64_MAX);
  assert_int_equal(o.discharge_wh, 0);
  o = step(&a, HOUR, 0, 0, 0);
  assert_int_equal(o.charge_wh, 4737);
}

static void surplus_following(void **st) {
  (void)st;
  /* the community's surplus, not the site's: 1000 Wh in while the site
   * imports; no discharge while the community exports; with none, the site's
   * 500 Wh import is covered (draws ceil(500 / 0.95) = 527). */
  pg_battery_params p;
  pg_battery_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_SURPLUS_FOLLOWING);
  pg_asset_out o = step(&a, HOUR, 500, 1000, 0);
  assert_int_equal(o.charge_wh, 1000);
  assert_int_equal(o.stored_wh, 5950);
  o = step(&a, HOUR, -3000, 0, 0);
  assert_int_equal(o.charge_wh + o.discharge_wh, 0);
  o = step(&a, HOUR, 500, 0, 0);
  assert_int_equal(o.discharge_wh, 500);
  assert_int_equal(o.stored_wh, 5950 - 527);
  /* self-consumption ignores the community */
  a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  o = step(&a, HOUR, 0, 4000, 0);
  assert_int_equal(o.charge_wh + o.discharge_wh, 0);
}

static void strategies_and_thresholds(void **st) {
  (void)st;
  pg_asset_strategy s;
  for (int i = 0; i < 3; i++) {
    const char *n = pg_asset_strategy_name((pg_asset_strategy)i);
    assert_non_null(n);
    assert_int_equal(pg_asset_strategy_parse(n, &s), PG_OK);
    assert_int_equal(s, i);
  }
  assert_null(pg_asset_strategy_name((pg_asset_strategy)3));
  assert_string_equal(pg_asset_strategy_name(PG_ASSET_SURPLUS_FOLLOWING), "surplus-following");
  assert_int_equal(pg_asset_strategy_parse("Self-Consumption", &s), PG_ERR_INVALID);
  assert_int_equal(pg_asset_strategy_parse(NULL, &s), PG_ERR_INVALID);
  uint64_t cb, da;
  pg_asset_thresholds(90, 300, &cb, &da); /* either order */
  assert_int_equal(cb, 160);
  assert_int_equal(da, 230);
  pg_asset_thresholds(100, 100, &cb, &da);
  assert_int_equal(cb, 100);
  assert_int_equal(da, 100);
  pg_asset_thresholds(UINT64_MAX, 0, &cb, &da);
  assert_true(cb < da);
}

#define REFUSE(field, value, word)                                                 \
  do {                                                                             \
    pg_battery_params q = p;                                                       \
    q.field = value;                                                               \
    pg_diag d = {{0}};                                                             \
    pg_asset a;                                                                    \
    assert_int_equal(pg_asset_battery_init(&a, &q, PG_ASSET_SELF_CONSUMPTION, &d), \
                     PG_ERR_INVALID);                                              \
    if (!strstr(d.msg, word)) fail_msg("%s: %s", #field, d.msg);                   \
    assert_int_equal(a.kind, 0);                                                   \
    assert_null(a.sessions);                                                       \
  } while (0)

static void refusals(void **st) {
  (void)st;
  pg_battery_params p;
  pg_battery_params_default(&p);
  REFUSE(capacity_wh, 0, "capacity_wh");
  REFUSE(capacity_wh, PG_ASSET_MAX_WH + 1, "capacity_wh");
  REFUSE(max_charge_w, 0, "max_charge_w");
  REFUSE(max_charge_w, PG_ASSET_MAX_W + 1, "max_charge_w");
  REFUSE(max_discharge_w, -1, "max_discharge_w");
  REFUSE(eta_charge_ppm, 0, "eta_charge_ppm");
  REFUSE(eta_charge_ppm, 1000001, "eta_charge_ppm");
  REFUSE(eta_discharge_ppm, 0, "eta_discharge_ppm");
  REFUSE(soc_min_ppm, 950000, "soc_min_ppm");
  REFUSE(soc_max_ppm, 1000001, "soc_max_ppm");
  REFUSE(soc_initial_ppm, 50000, "soc_initial_ppm");
  REFUSE(soc_initial_ppm, 960000, "soc_initial_ppm");
  p.capacity_wh = 1, p.soc_min_ppm = 1, p.soc_max_ppm = 2, p.soc_initial_ppm = 1;
  REFUSE(capacity_wh, 1, "no whole Wh"); /* band [1, 0] */
  pg_battery_params_default(&p);
  pg_diag d = {{0}};
  pg_asset a;
  assert_int_equal(pg_asset_battery_init(&a, &p, (pg_asset_strategy)7, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "strategy 7"));
  assert_int_equal(pg_asset_battery_init(&a, NULL, PG_ASSET_SELF_CONSUMPTION, &d),
                   PG_ERR_INVALID);
}

static void step_refusals(void **st) {
  (void)st;
  pg_battery_params p;
  pg_battery_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_in ok = {.slot_ms = HOUR}, in;
  pg_asset_out o;
  pg_diag d = {{0}};
  struct { pg_asset_in in; const char *word; } bad[] = {
      {{.slot_ms = -HOUR}, "slot_ms"},
      {{.slot_ms = 0}, "slot_ms"},
      {{.slot_ms = PG_ASSET_MAX_SLOT_MS + 1}, "slot_ms"},
      {{.slot_ms = HOUR, .start_ms = INT64_MAX - 10}, "start_ms"},
      {{.slot_ms = HOUR, .heat_demand_wh = -1}, "heat_demand_wh"},
      {{.slot_ms = HOUR, .community_surplus_wh = -1}, "community_surplus_wh"},
      {{.slot_ms = HOUR, .site_net_wh = -PG_ASSET_MAX_WH - 1}, "site_net_wh"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    in = bad[i].in;
    assert_int_equal(pg_asset_step(&a, &in, &o, &d), PG_ERR_INVALID);
    if (!strstr(d.msg, bad[i].word)) fail_msg("%zu: %s", i, d.msg);
  }
  assert_int_equal(a.stored_wh, 5000);
  assert_int_equal(pg_asset_step(&a, &ok, &o, &d), PG_OK);
  pg_asset z;
  memset(&z, 0, sizeof z);
  assert_int_equal(pg_asset_step(&z, &ok, &o, &d), PG_ERR_STATE);
  pg_asset_free(&a);
  assert_int_equal(a.stored_wh, 0);
  pg_asset_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(absorbs_one_slots_surplus), cmocka_unit_test(hits_soc_max_mid_slot),
      cmocka_unit_test(power_limit_per_slot),      cmocka_unit_test(discharge_covers_import),
      cmocka_unit_test(price_responsive),          cmocka_unit_test(surplus_following),
      cmocka_unit_test(strategies_and_thresholds), cmocka_unit_test(refusals),
      cmocka_unit_test(step_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
