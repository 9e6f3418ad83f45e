/* The EV charger (asset.h): sessions (arrival, departure, need), charging
 * only while a car is plugged in, must-run near departure, strategies for
 * the rest, unmet need reported at departure. */
#include <stdlib.h>
#include <string.h>

#include "asset_int.h"

__extension__ typedef unsigned __int128 ev_u128;

void pg_ev_params_default(pg_ev_params *p) {
  memset(p, 0, sizeof *p);
  p->max_w = 11000;
  p->min_w = 1400;
  p->eta_ppm = 950000;
}

static int check_sessions(const pg_ev_session *s, size_t n, pg_diag *d) {
  if (n > PG_ASSET_MAX_SESSIONS)
    return pg_fail(d, PG_ERR_TOO_LARGE, "ev: n_sessions %zu above %d", n, PG_ASSET_MAX_SESSIONS);
  if (n && !s) return pg_fail(d, PG_ERR_INVALID, "ev: n_sessions %zu but no sessions given", n);
  for (size_t i = 0; i < n; i++) {
    if (s[i].arrive_ms >= s[i].depart_ms)
      return pg_fail(d, PG_ERR_INVALID, "ev: session %zu: arrive_ms %lld not before depart_ms %lld",
                     i, (long long)s[i].arrive_ms, (long long)s[i].depart_ms);
    if (s[i].need_wh < 0 || s[i].need_wh > PG_ASSET_MAX_WH)
      return pg_fail(d, PG_ERR_INVALID, "ev: session %zu: need_wh %lld outside 0..2^40", i,
                     (long long)s[i].need_wh);
    if (i && s[i].arrive_ms < s[i - 1].depart_ms)
      return pg_fail(d, PG_ERR_INVALID,
                     "ev: session %zu (arrive_ms %lld) overlaps or precedes session %zu "
                     "(depart_ms %lld): sessions must be sorted and not overlap",
                     i, (long long)s[i].arrive_ms, i - 1, (long long)s[i - 1].depart_ms);
  }
  return PG_OK;
}

static int check_params(const pg_ev_params *p, pg_diag *d) {
  if (!p) return pg_fail(d, PG_ERR_INVALID, "ev: no params given");
  const pg_asset_field f[] = {
      {"max_w", p->max_w, 1, PG_ASSET_MAX_W},
      {"min_w", p->min_w, 0, p->max_w},
      {"eta_ppm", p->eta_ppm, 1, PG_ASSET_PPM},
  };
  int rc = pg_asset_check_fields("ev", f, sizeof f / sizeof f[0], d);
  return rc ? rc : check_sessions(p->sessions, p->n_sessions, d);
}

int pg_asset_ev_init(pg_asset *a, const pg_ev_params *p, pg_asset_strategy s, pg_diag *d) {
  int rc = pg_asset_init_common(a, PG_ASSET_EV, s, check_params(p, d), d);
  if (rc) return rc;
  a->sessions = malloc((p->n_sessions ? p->n_sessions : 1) * sizeof *a->sessions);
  if (!a->sessions) {
    memset(a, 0, sizeof *a);
    return pg_fail(d, PG_ERR_NOMEM, "ev: out of memory for %zu sessions", p->n_sessions);
  }
  if (p->n_sessions) memcpy(a->sessions, p->sessions, p->n_sessions * sizeof *a->sessions);
  a->p.ev = *p;
  a->p.ev.sessions = a->sessions;
  a->session_left_wh = p->n_sessions ? p->sessions[0].need_wh : 0;
  return PG_OK;
}

/* What max power can deliver into the car in after_ms, slot by slot, taking
 * the coming slots to be as long as this one (rounded per slot, as they will
 * be); more than 2^40 reads as 2^40 + 1. */
static int64_t future_wh(const pg_ev_params *p, int64_t after_ms, int64_t slot_ms) {
  int64_t per = pg_asset_ppm_floor(pg_asset_energy_wh(p->max_w, slot_ms), p->eta_ppm);
  int64_t part = pg_asset_ppm_floor(pg_asset_energy_wh(p->max_w, after_ms % slot_ms), p->eta_ppm);
  ev_u128 f = (ev_u128)(after_ms / slot_ms) * (ev_u128)per + (ev_u128)part;
  return f > (ev_u128)PG_ASSET_MAX_WH ? PG_ASSET_MAX_WH + 1 : (int64_t)f;
}

/* Electricity for session s in this slot (the plugged part of it); *budget
 * is the surplus left for the surplus strategies. */
static int64_t session_charge(const pg_asset *a, const pg_asset_in *in, const pg_ev_session *s,
                              int64_t *budget) {
  const pg_ev_params *p = &a->p.ev;
  int64_t end = in->start_ms + in->slot_ms;
  int64_t plugged = pg_asset_min64(s->depart_ms, end) - pg_asset_max64(s->arrive_ms, in->start_ms);
  int64_t max_e = pg_asset_energy_wh(p->max_w, plugged);
  int64_t min_e = pg_asset_energy_wh(p->min_w, plugged);
  int64_t full_e = pg_asset_min64(pg_asset_ppm_input(a->session_left_wh, p->eta_ppm), max_e);
  /* must-run: what max power cannot deliver after this slot, now */
  int64_t after = s->depart_ms > end ? s->depart_ms - end : 0;
  int64_t must = a->session_left_wh - future_wh(p, after, in->slot_ms);
  int64_t e = must > 0 ? pg_asset_min64(pg_asset_ppm_input(must, p->eta_ppm), full_e) : 0;
  if (e > 0) e = pg_asset_max64(e, pg_asset_min64(min_e, full_e));
  int64_t opp;
  if (a->strategy == PG_ASSET_PRICE_RESPONSIVE)
    opp = in->price_per_kwh <= a->charge_below ? full_e : 0;
  else
    opp = pg_asset_min64(*budget, full_e);
  if (opp < min_e && opp < full_e) opp = 0; /* below the charger's minimum: no start */
  e = pg_asset_max64(e, opp);
  if (a->strategy != PG_ASSET_PRICE_RESPONSIVE) *budget -= pg_asset_min64(*budget, e);
  return e;
}

static void next_session(pg_asset *a) {
  a->next_session++;
  a->session_left_wh =
      a->next_session < a->p.ev.n_sessions ? a->sessions[a->next_session].need_wh : 0;
}

/* stored_wh: delivered so far into the car plugged in at the slot's end;
 * soc_ppm: that as a share of its need (0 when no car is plugged in) */
static void ev_state(const pg_asset *a, int64_t end, pg_asset_out *out) {
  if (a->next_session >= a->p.ev.n_sessions) return;
  const pg_ev_session *s = &a->sessions[a->next_session];
  if (s->arrive_ms >= end) return;
  out->stored_wh = s->need_wh - a->session_left_wh;
  out->soc_ppm = s->need_wh ? pg_asset_fill_ppm(out->stored_wh, s->need_wh) : PG_ASSET_PPM;
}

int pg_asset_ev_step(pg_asset *a, const pg_asset_in *in, pg_asset_out *out, pg_diag *d) {
  const pg_ev_params *p = &a->p.ev;
  if (p->max_w <= 0 || p->eta_ppm == 0 || (p->n_sessions && !a->sessions))
    return pg_fail(d, PG_ERR_STATE, "ev: not initialised");
  int64_t end = in->start_ms + in->slot_ms, budget = pg_asset_surplus_wh(a, in);
  while (a->next_session < p->n_sessions) {
    const pg_ev_session *s = &a->sessions[a->next_session];
    if (s->arrive_ms >= end) break;
    if (s->depart_ms > in->start_ms) {
      int64_t e = session_charge(a, in, s, &budget);
      int64_t got = pg_asset_ppm_floor(e, p->eta_ppm);
      a->session_left_wh -= got;
      out->charge_wh += e;
      out->delivered_wh += got;
    }
    if (s->depart_ms > end) break;
    out->unmet_wh += a->session_left_wh; /* departs in this slot (or departed before it) */
    next_session(a);
  }
  out->loss_wh = out->charge_wh - out->delivered_wh;
  ev_state(a, end, out);
  return PG_OK;
}
