/* The EV charger, cases computed by hand (asset.h): must-run in the last
 * slots, unmet need at departure, price shifting, surplus and min_w, partly
 * plugged slots, and every refusal of init. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/asset/asset.h"

#define HOUR 3600000

static pg_asset make(const pg_ev_session *s, size_t n, pg_asset_strategy st) {
  pg_ev_params p;
  pg_ev_params_default(&p);
  p.sessions = s, p.n_sessions = n;
  pg_asset a;
  pg_diag d = {{0}};
  if (pg_asset_ev_init(&a, &p, st, &d)) fail_msg("init: %s", d.msg);
  return a;
}

static pg_asset_out step(pg_asset *a, int64_t start, int64_t slot_ms, int64_t site_net,
                         uint64_t price) {
  pg_asset_in in = {.start_ms = start, .slot_ms = slot_ms, .site_net_wh = site_net,
                    .community_surplus_wh = -site_net > 0 ? -site_net : 0,
                    .price_per_kwh = price};
  pg_asset_out o;
  pg_diag d = {{0}};
  if (pg_asset_step(a, &in, &o, &d)) fail_msg("step: %s", d.msg);
  assert_int_equal(o.charge_wh, o.delivered_wh + o.loss_wh);
  return o;
}

static void must_run_in_last_slots(void **st) {
  (void)st;
  /* 11 kW, eta 95 %, hourly slots: a full slot delivers floor(11000 x 0.95)
   * = 10450 Wh. Plugged 0..4 h wanting 40000 Wh, no surplus:
   *   slot 0: after it 3 h = 31350 -> must 8650: ceil(8650 / 0.95) = 9106
   *           (delivers floor(8650.7) = 8650), left 31350
   *   slots 1..3: after 2, 1, 0 h = 20900, 10450, 0 -> 10450 each: full
   *           power, 11000 Wh (10450 / 0.95 = 11000 exactly)
   * and nothing unmet at departure (4 h = the end of slot 3). */
  pg_ev_session s = {0, 4 * HOUR, 40000};
  pg_asset a = make(&s, 1, PG_ASSET_SELF_CONSUMPTION);
  int64_t want[4] = {9106, 11000, 11000, 11000}, got[4] = {8650, 10450, 10450, 10450};
  for (int i = 0; i < 4; i++) {
    pg_asset_out o = step(&a, i * (int64_t)HOUR, HOUR, 500, 0);
    assert_int_equal(o.charge_wh, want[i]);
    assert_int_equal(o.delivered_wh, got[i]);
    assert_int_equal(o.unmet_wh, 0);
    if (i < 3) assert_int_equal(o.stored_wh, 40000 - 31350 + 10450 * i);
  }
  assert_int_equal(a.next_session, 1);
  pg_asset_out o = step(&a, 4 * (int64_t)HOUR, HOUR, 500, 0);
  assert_int_equal(o.charge_wh, 0);
  assert_int_equal(o.stored_wh, 0);
  pg_asset_free(&a);
  assert_null(a.sessions);
}

static void unmet_at_departure(void **st) {
  (void)st;
  /* 50000 Wh in 4 h: full power throughout, 4 x 10450 = 41800 delivered,
   * 8200 unmet, reported in the slot of departure only */
  pg_ev_session s = {0, 4 * HOUR, 50000};
  pg_asset a = make(&s, 1, PG_ASSET_SURPLUS_FOLLOWING);
  for (int i = 0; i < 4; i++) {
    pg_asset_out o = step(&a, i * (int64_t)HOUR, HOUR, 0, 0);
    assert_int_equal(o.charge_wh, 11000);
    assert_int_equal(o.unmet_wh, i == 3 ? 8200 : 0);
  }
  pg_asset_free(&a);
  /* a session that departed before the slot the caller steps next is
   * reported there: 10000 Wh never delivered */
  pg_ev_session two[2] = {{0, HOUR, 10000}, {2 * (int64_t)HOUR, 3 * (int64_t)HOUR, 0}};
  a = make(two, 2, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, 5 * (int64_t)HOUR, HOUR, 0, 0);
  assert_int_equal(o.unmet_wh, 10000);
  assert_int_equal(o.charge_wh, 0);
  assert_int_equal(a.next_session, 2);
  pg_asset_free(&a);
}

static void price_shifts_into_cheap_slot(void **st) {
  (void)st;
  /* 20000 Wh in 4 h, cheap (<= 100) only in slot 0: full power there
   * (10450 delivered, left 9550); slots 1, 2: what is left fits later, so
   * nothing; slot 3: must, ceil(9550 / 0.95) = ceil(10052.6) = 10053. */
  pg_ev_session s = {0, 4 * HOUR, 20000};
  pg_asset a = make(&s, 1, PG_ASSET_PRICE_RESPONSIVE);
  a.charge_below = 100;
  uint64_t price[4] = {100, 300, 300, 300};
  int64_t want[4] = {11000, 0, 0, 10053};
  for (int i = 0; i < 4; i++) {
    pg_asset_out o = step(&a, i * (int64_t)HOUR, HOUR, 0, price[i]);
    assert_int_equal(o.charge_wh, want[i]);
    assert_int_equal(o.unmet_wh, 0);
  }
  assert_int_equal(a.session_left_wh, 0);
  pg_asset_free(&a);
}

static void surplus_and_min_power(void **st) {
  (void)st;
  /* min 1.4 kW x 1 h = 1400 Wh: a surplus of 1000 does not start the
   * charger, 2000 is taken whole; not plugged -> nothing */
  pg_ev_session s = {HOUR, 100 * (int64_t)HOUR, 30000};
  pg_asset a = make(&s, 1, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, 0, HOUR, -5000, 0);
  assert_int_equal(o.charge_wh, 0);
  o = step(&a, HOUR, HOUR, -1000, 0);
  assert_int_equal(o.charge_wh, 0);
  o = step(&a, 2 * (int64_t)HOUR, HOUR, -2000, 0);
  assert_int_equal(o.charge_wh, 2000);
  assert_int_equal(o.delivered_wh, 1900);
  assert_int_equal(o.stored_wh, 1900);
  pg_asset_free(&a);
  /* a need of 95 Wh is finished below min_w: ceil(95 / 0.95) = 100 */
  pg_ev_session small = {0, 100 * (int64_t)HOUR, 95};
  a = make(&small, 1, PG_ASSET_SELF_CONSUMPTION);
  o = step(&a, 0, HOUR, -5000, 0);
  assert_int_equal(o.charge_wh, 100);
  assert_int_equal(o.delivered_wh, 95);
  assert_int_equal(o.soc_ppm, 1000000);
  pg_asset_free(&a);
}

static void partly_plugged_slots(void **st) {
  (void)st;
  /* arrives at 0:30, leaves at 1:45, wants 30000 Wh: slot 0 has 30 min
   * plugged (5500 Wh at 11 kW), slot 1 has 45 min (8250 Wh): delivered
   * floor(5500 x 0.95) = 5225 and floor(8250 x 0.95) = 7837, unmet 16938 */
  pg_ev_session s = {HOUR / 2, HOUR + 3 * HOUR / 4, 30000};
  pg_asset a = make(&s, 1, PG_ASSET_SELF_CONSUMPTION);
  pg_asset_out o = step(&a, 0, HOUR, 0, 0);
  assert_int_equal(o.charge_wh, 5500);
  o = step(&a, HOUR, HOUR, 0, 0);
  assert_int_equal(o.charge_wh, 8250);
  assert_int_equal(o.unmet_wh, 30000 - 5225 - 7837);
  pg_asset_free(&a);
  /* two short sessions in one slot, each 20 min (3666 Wh max), each wanting
   * 1900: ceil(1900 / 0.95) = 2000 each, one slot takes 4000 */
  pg_ev_session two[2] = {{0, HOUR / 3, 1900}, {HOUR / 2, 5 * HOUR / 6, 1900}};
  a = make(two, 2, PG_ASSET_SELF_CONSUMPTION);
  o = step(&a, 0, HOUR, 0, 0);
  assert_int_equal(o.charge_wh, 4000);
  assert_int_equal(o.delivered_wh, 3800);
  assert_int_equal(o.unmet_wh, 0);
  assert_int_equal(a.next_session, 2);
  pg_asset_free(&a);
}

static void refusals(void **st) {
  (void)st;
  pg_ev_params p;
  pg_ev_session s[3] = {{0, HOUR, 100}, {2 * HOUR, 3 * HOUR, 100}, {4 * HOUR, 5 * HOUR, 1}};
  struct { int field; const char *word; } cases[] = {
      {0, "max_w"}, {1, "min_w"}, {2, "eta_ppm"}, {3, "sessions must be sorted"},
      {4, "arrive_ms"}, {5, "need_wh"}, {6, "n_sessions"}, {7, "no sessions"}, {8, "max_w"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pg_ev_params_default(&p);
    pg_ev_session t[3];
    memcpy(t, s, sizeof t);
    p.sessions = t, p.n_sessions = 3;
    switch (cases[i].field) {
    case 0: p.max_w = 0; break;
    case 1: p.min_w = p.max_w + 1; break;
    case 2: p.eta_ppm = 0; break;
    case 3: t[2].arrive_ms = 3 * HOUR - 1; break; /* overlaps session 1 */
    case 4: t[1].depart_ms = t[1].arrive_ms; break;
    case 5: t[0].need_wh = -1; break;
    case 6: p.n_sessions = PG_ASSET_MAX_SESSIONS + 1; break;
    case 7: p.sessions = NULL; break;
    case 8: p.max_w = PG_ASSET_MAX_W + 1; break;
    }
    pg_asset a;
    pg_diag d = {{0}};
    int rc = pg_asset_ev_init(&a, &p, PG_ASSET_SELF_CONSUMPTION, &d);
    assert_true(rc == PG_ERR_INVALID || rc == PG_ERR_TOO_LARGE);
    if (!strstr(d.msg, cases[i].word)) fail_msg("%zu: %s", i, d.msg);
    assert_null(a.sessions);
  }
  /* the overlap names both sessions */
  pg_ev_params_default(&p);
  s[2].arrive_ms = 3 * HOUR - 1;
  p.sessions = s, p.n_sessions = 3;
  pg_asset a;
  pg_diag d = {{0}};
  assert_int_equal(pg_asset_ev_init(&a, &p, PG_ASSET_SELF_CONSUMPTION, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "session 2"));
  assert_non_null(strstr(d.msg, "session 1"));
  /* sessions are copied: the caller's array may go */
  s[2].arrive_ms = 4 * HOUR;
  assert_int_equal(pg_asset_ev_init(&a, &p, PG_ASSET_SELF_CONSUMPTION, &d), PG_OK);
  s[0].need_wh = 999999;
  assert_int_equal(a.session_left_wh, 100);
  pg_asset_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(must_run_in_last_slots),  cmocka_unit_test(unmet_at_departure),
      cmocka_unit_test(price_shifts_into_cheap_slot), cmocka_unit_test(surplus_and_min_power),
      cmocka_unit_test(partly_plugged_slots),    cmocka_unit_test(refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
