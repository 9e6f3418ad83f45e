/* A member's month: monthly tariff items over the settled slots (tariff.h). */
#include <ctype.h>
#include <string.h>

#include "p2pgrid/market/market.h"
#include "p2pgrid/market/tariff.h"

__extension__ typedef unsigned __int128 t_u128;

static int check_slots(const pg_tariff_slot *s, size_t n, pg_diag *d) {
  if (n && !s) return pg_fail(d, PG_ERR_INVALID, "tariff: no slots given");
  for (size_t i = 0; i < n; i++) {
    if (s[i].energy_wh < 0 || s[i].community_wh < 0 || s[i].amount < 0 || s[i].fee < 0)
      return pg_fail(d, PG_ERR_INVALID, "tariff: slot %zu has a negative value", i);
    if (s[i].energy_wh > PG_MARKET_MAX_WH || s[i].community_wh > s[i].energy_wh)
      return pg_fail(d, PG_ERR_INVALID,
                     "tariff: slot %zu: community energy above its energy, or energy too large", i);
    if (s[i].amount > PG_TARIFF_MAX_MONEY || s[i].fee > PG_TARIFF_MAX_MONEY)
      return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: slot %zu: amount too large", i);
  }
  return PG_OK;
}

/* sums of the slots; PG_ERR_TOO_LARGE past 2^62 */
static int sum_slots(const pg_tariff_slot *s, size_t n, pg_tariff_month *m, pg_diag *d) {
  for (size_t i = 0; i < n; i++) {
    m->energy_wh += s[i].energy_wh;
    m->community_wh += s[i].community_wh;
    m->energy += s[i].amount;
    m->fees += s[i].fee;
    if (m->energy_wh > PG_TARIFF_MAX_MONEY || m->energy > PG_TARIFF_MAX_MONEY ||
        m->fees > PG_TARIFF_MAX_MONEY)
      return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: the month's sums are too large");
  }
  m->slots = n;
  m->utility_wh = m->energy_wh - m->community_wh;
  return PG_OK;
}

bool pg_tariff_bills_monthly(const pg_tariff *t) {
  return t->membership_fee || t->capacity_price || t->vat_bp;
}

int pg_tariff_monthly(const pg_tariff *t, int64_t energy, int64_t fees, int64_t peak_usage_wh,
                      uint64_t slot_ms, pg_tariff_month *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  if (!t) return pg_fail(d, PG_ERR_INVALID, "tariff: no tariff given");
  if (t->vat_bp > 10000) return pg_fail(d, PG_ERR_INVALID, "tariff: VAT above 100 %%");
  if (t->membership_fee > PG_TARIFF_MAX_AMOUNT || t->capacity_price > PG_TARIFF_MAX_AMOUNT ||
      t->grid_fee_reduction_per_kwh > PG_MARKET_MAX_PRICE)
    return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: a fee or price is too large");
  if (slot_ms < 1000) return pg_fail(d, PG_ERR_INVALID, "tariff: slot length below one second");
  if (energy < 0 || fees < 0 || peak_usage_wh < 0)
    return pg_fail(d, PG_ERR_INVALID, "tariff: negative charges or usage");
  if (energy > PG_TARIFF_MAX_MONEY || fees > PG_TARIFF_MAX_MONEY ||
      peak_usage_wh > PG_MARKET_MAX_WH)
    return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: charges or usage too large");
  out->energy = energy, out->fees = fees;
  out->membership = (int64_t)t->membership_fee;
  /* peak_w <= 2^40 * 3.6e6 / 1000 < 2^52; capacity <= 2^52 * 2^50 / 1000 < 2^93: u128 */
  t_u128 peak = (t_u128)(uint64_t)peak_usage_wh * 3600000u / slot_ms;
  out->peak_w = (int64_t)peak;
  t_u128 cap = peak * t->capacity_price / 1000u;
  if (cap > (t_u128)PG_TARIFF_MAX_MONEY)
    return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: the capacity charge is too large");
  out->capacity = (int64_t)cap;
  t_u128 net = (t_u128)energy + (t_u128)fees + (t_u128)out->membership + cap;
  if (net > (t_u128)PG_TARIFF_MAX_MONEY)
    return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: the month's total is too large");
  out->net = (int64_t)net;
  out->vat = (int64_t)(net * t->vat_bp / 10000u); /* rounded down: never against the member */
  out->total = out->net + out->vat;
  out->monthly = out->membership + out->capacity + out->vat;
  return PG_OK;
}

int pg_tariff_consumer_month(const pg_tariff *t, const pg_tariff_slot *slots, size_t n,
                             uint64_t slot_ms, pg_tariff_month *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  pg_tariff_month sums = {0};
  int rc = check_slots(slots, n, d);
  if (!rc) rc = sum_slots(slots, n, &sums, d);
  if (rc) return rc;
  int64_t peak = 0;
  size_t peak_slot = 0;
  for (size_t i = 0; i < n; i++)
    if (slots[i].energy_wh > peak) peak = slots[i].energy_wh, peak_slot = i;
  rc = pg_tariff_monthly(t, sums.energy, sums.fees, peak, slot_ms, out, d);
  if (rc) return rc;
  out->slots = sums.slots;
  out->energy_wh = sums.energy_wh, out->community_wh = sums.community_wh;
  out->utility_wh = sums.utility_wh;
  out->peak_slot = peak_slot;
  t_u128 sav = (t_u128)(uint64_t)sums.community_wh * t->grid_fee_reduction_per_kwh / 1000u;
  if (sav > (t_u128)PG_TARIFF_MAX_MONEY) {
    memset(out, 0, sizeof *out);
    return pg_fail(d, PG_ERR_TOO_LARGE, "tariff: the grid-fee savings are too large");
  }
  out->savings = (int64_t)sav;
  return PG_OK;
}

int pg_tariff_producer_month(const pg_tariff_slot *slots, size_t n, pg_tariff_month *out,
                             pg_diag *d) {
  memset(out, 0, sizeof *out);
  int rc = check_slots(slots, n, d);
  if (!rc) rc = sum_slots(slots, n, out, d);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  if (out->fees) {
    memset(out, 0, sizeof *out);
    return pg_fail(d, PG_ERR_INVALID, "tariff: a producer's slot carries a fee");
  }
  out->net = out->total = out->energy;
  return PG_OK;
}

int pg_tariff_parse_vat(const char *s, uint32_t *out_bp) {
  if (!s || !isdigit((unsigned char)*s)) return PG_ERR_INVALID;
  uint64_t whole = 0, frac = 0;
  unsigned nfrac = 0;
  while (isdigit((unsigned char)*s)) {
    whole = whole * 10 + (uint64_t)(*s++ - '0');
    if (whole > 100) return PG_ERR_INVALID;
  }
  if (*s == '.') {
    s++;
    if (!isdigit((unsigned char)*s)) return PG_ERR_INVALID;
    while (isdigit((unsigned char)*s)) {
      if (++nfrac > 2) return PG_ERR_INVALID;
      frac = frac * 10 + (uint64_t)(*s++ - '0');
    }
  }
  if (nfrac == 1) frac *= 10;
  while (*s == ' ') s++;
  if (*s == '%') s++;
  else if (whole || frac) return PG_ERR_INVALID; /* only "0" may go without a percent sign */
  if (*s) return PG_ERR_INVALID;
  uint64_t bp = whole * 100 + frac;
  if (bp > 10000) return PG_ERR_INVALID;
  *out_bp = (uint32_t)bp;
  return PG_OK;
}
