/* The heat pump, cases computed by hand (asset.h): a cold day held in the
 * band at COP(0 °C), demand it cannot keep up with, running into a surplus
 * or a cheap slot up to band_max, standing loss pro rata, refusals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/asset/asset.h"

#define HOUR 3600000

static pg_asset make(const pg_heat_pump_params *p, pg_asset_strategy s) {
  pg_asset a;
  pg_diag d = {{0}};
  if (pg_asset_heat_pump_init(&a, p, s, &d)) fail_msg("init: %s", d.msg);
  return a;
}

static pg_asset_out step(pg_asset *a, int64_t slot_ms, double t, int64_t demand,
                         int64_t site_net, uint64_t price) {
  pg_asset_in in = {.slot_ms = slot_ms, .t_out_c = t, .heat_demand_wh = demand,
                    .site_net_wh = site_net, .price_per_kwh = price};
  pg_asset_out o;
  pg_diag d = {{0}};
  int64_t before = a->stored_wh;
  if (pg_asset_step(a, &in, &o, &d)) fail_msg("step: %s", d.msg);
  assert_int_equal(o.heat_wh, o.stored_wh - before + o.heat_loss_wh + o.demand_met_wh);
  assert_int_equal(o.demand_met_wh + o.unmet_wh, demand);
  return o;
}

static void cop_curve(void **st) {
  (void)st;
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  assert_true(fabs(pg_heat_pump_cop(&p, 0) - 3.2) < 1e-12);
  assert_true(fabs(pg_heat_pump_cop(&p, 10) - 4.0) < 1e-12);
  assert_true(pg_heat_pump_cop(&p, -30) == 1.0); /* 0.8 -> 1 */
  assert_true(pg_heat_pump_cop(&p, 100) == 8.0); /* 11.2 -> 8 */
  assert_true(pg_heat_pump_cop(&p, NAN) == 1.0);
}

static void cold_day_at_band_min(void **st) {
  (void)st;
  /* default: 3 kW, store 12000 Wh_th, band 3600..10800, 0.5 %/h. At band_min
   * (3600), 0 °C (COP 3.2), demand 6000 Wh_th in an hour: loss ceil(3600 x
   * 0.005) = 18, so 6000 + 18 = 6018 Wh_th must come in: ceil(6018 / 3.2) =
   * ceil(1880.6) = 1881 Wh, heat floor(1881 x 3.2) = floor(6019.2) = 6019,
   * store 3600 - 18 + 6019 - 6000 = 3601. */
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  p.store_initial_ppm = 300000;
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, HOUR, 0.0, 6000, 1000, 0);
  assert_int_equal(o.charge_wh, 1881);
  assert_int_equal(o.heat_wh, 6019);
  assert_int_equal(o.heat_loss_wh, 18);
  assert_int_equal(o.demand_met_wh, 6000);
  assert_int_equal(o.unmet_wh, 0);
  assert_int_equal(o.stored_wh, 3601);
  assert_int_equal(o.soc_ppm, 300083);
  assert_int_equal(o.loss_wh, 0);
  assert_int_equal(o.discharge_wh, 0);
}

static void held_in_band_all_day(void **st) {
  (void)st;
  /* from 60 % (7200), 2500 Wh_th an hour at 0 °C: the store falls freely to
   * the band, then the pump holds it there (never below, less than one
   * COP's worth above: the least whole Wh of electricity) */
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_PRICE_RESPONSIVE);
  int ran = 0;
  for (int h = 0; h < 24; h++) {
    pg_asset_out o = step(&a, HOUR, 0.0, 2500, 0, 1000);
    assert_true(o.stored_wh >= 3600);
    if (o.charge_wh) {
      ran++;
      assert_true(o.stored_wh < 3600 + 4);
      assert_true(o.charge_wh < 3000);
    }
  }
  assert_true(ran >= 20);
}

static void cannot_keep_up(void **st) {
  (void)st;
  /* -15 °C: COP 3.2 - 1.2 = 2.0; 3 kW x 1 h = 6000 Wh_th at most. 10000
   * Wh_th demand from 3600: 3600 - 18 + 6000 = 9582 met, 418 unmet, the
   * store empty (never negative); the next slot starts from 0 (no loss). */
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  p.store_initial_ppm = 300000;
  pg_asset a = make(&p, PG_ASSET_SURPLUS_FOLLOWING);
  pg_asset_out o = step(&a, HOUR, -15.0, 10000, 0, 0);
  assert_int_equal(o.charge_wh, 3000);
  assert_int_equal(o.heat_wh, 6000);
  assert_int_equal(o.demand_met_wh, 9582);
  assert_int_equal(o.unmet_wh, 418);
  assert_int_equal(o.stored_wh, 0);
  o = step(&a, HOUR, -15.0, 7000, 0, 0);
  assert_int_equal(o.heat_loss_wh, 0);
  assert_int_equal(o.unmet_wh, 1000);
  assert_int_equal(o.stored_wh, 0);
}

static void surplus_and_price_up_to_band_max(void **st) {
  (void)st;
  /* 10 °C: COP 4.0. From 50 % (6000), demand 1000, loss 30: 4970 without
   * heat, band_max 10800 leaves 5830 Wh_th: floor(5830 / 4) = 1457 Wh,
   * heat 5828, store 10798. A 2000 Wh surplus: 1457; a 1000 Wh one: 1000. */
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  p.store_initial_ppm = 500000;
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, HOUR, 10.0, 1000, -2000, 0);
  assert_int_equal(o.charge_wh, 1457);
  assert_int_equal(o.heat_wh, 5828);
  assert_int_equal(o.stored_wh, 10798);
  a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  o = step(&a, HOUR, 10.0, 1000, -1000, 0);
  assert_int_equal(o.charge_wh, 1000);
  /* price-responsive: at or below charge_below up to band_max, above it
   * nothing (the store is above the band) */
  a = make(&p, PG_ASSET_PRICE_RESPONSIVE);
  a.charge_below = 100;
  o = step(&a, HOUR, 10.0, 1000, 0, 101);
  assert_int_equal(o.charge_wh, 0);
  assert_int_equal(o.stored_wh, 4970);
  a = make(&p, PG_ASSET_PRICE_RESPONSIVE);
  a.charge_below = 100;
  o = step(&a, HOUR, 10.0, 1000, 0, 100);
  assert_int_equal(o.charge_wh, 1457);
  /* never past the store: band up to 100 %, full, 60 Wh lost in an hour:
   * floor(60 / 4) = 15 Wh brings exactly 60 back */
  p.band_max_ppm = 1000000, p.store_initial_ppm = 1000000;
  a = make(&p, PG_ASSET_SURPLUS_FOLLOWING);
  pg_asset_in in = {.slot_ms = HOUR, .t_out_c = 10.0, .community_surplus_wh = 100000};
  pg_diag d = {{0}};
  assert_int_equal(pg_asset_step(&a, &in, &o, &d), PG_OK);
  assert_int_equal(o.charge_wh, 15);
  assert_int_equal(o.stored_wh, 12000);
}

static void standing_loss_pro_rata(void **st) {
  (void)st;
  /* 7200 Wh_th at 0.5 %/h: 36 an hour, 9 a quarter hour, 6 in 10 minutes;
   * 7 min: 7200 x 0.005 x 7 / 60 = 4.2 -> 5 (rounded up: never creates heat) */
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  int64_t ms[4] = {HOUR, HOUR / 4, HOUR / 6, 7 * 60000}, want[4] = {36, 9, 6, 5};
  for (int i = 0; i < 4; i++) {
    pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
    pg_asset_out o = step(&a, ms[i], 5.0, 0, 0, 0);
    assert_int_equal(o.heat_loss_wh, want[i]);
    assert_int_equal(o.stored_wh, 7200 - want[i]);
  }
}

#define REFUSE(field, value, word)                                                    \
  do {                                                                                \
    pg_heat_pump_params q = p;                                                        \
    q.field = value;                                                                  \
    pg_diag d = {{0}};                                                                \
    pg_asset a;                                                                       \
    assert_int_equal(pg_asset_heat_pump_init(&a, &q, PG_ASSET_SELF_CONSUMPTION, &d), \
                     PG_ERR_INVALID);                                                 \
    if (!strstr(d.msg, word)) fail_msg("%s: %s", #field, d.msg);                      \
  } while (0)

static void refusals(void **st) {
  (void)st;
  pg_heat_pump_params p;
  pg_heat_pump_params_default(&p);
  REFUSE(max_w, 0, "max_w");
  REFUSE(max_w, PG_ASSET_MAX_W + 1, "max_w");
  REFUSE(store_wh, 0, "store_wh");
  REFUSE(store_wh, PG_ASSET_MAX_WH + 1, "store_wh");
  REFUSE(band_min_ppm, 900000, "band_min_ppm");
  REFUSE(band_max_ppm, 1000001, "band_max_ppm");
  REFUSE(store_initial_ppm, 1000001, "store_initial_ppm");
  REFUSE(loss_ppm_per_hour, 1000001, "loss_ppm_per_hour");
  REFUSE(cop_a, NAN, "cop_a");
  REFUSE(cop_b, INFINITY, "cop_b");
  p.store_wh = 1, p.band_min_ppm = 1, p.band_max_ppm = 2;
  REFUSE(store_wh, 1, "no whole Wh");
  /* a negative demand is refused and changes nothing */
  pg_heat_pump_params_default(&p);
  pg_asset a = make(&p, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_in in = {.slot_ms = HOUR, .heat_demand_wh = -1};
  pg_asset_out o;
  pg_diag d = {{0}};
  assert_int_equal(pg_asset_step(&a, &in, &o, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "heat_demand_wh"));
  assert_int_equal(a.stored_wh, 7200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cop_curve),      cmocka_unit_test(cold_day_at_band_min),
      cmocka_unit_test(held_in_band_all_day), cmocka_unit_test(cannot_keep_up),
      cmocka_unit_test(surplus_and_price_up_to_band_max),
      cmocka_unit_test(standing_loss_pro_rata), cmocka_unit_test(refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
