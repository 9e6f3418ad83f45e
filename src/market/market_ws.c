/* market_ws.c — the settlement workspace's memory (market.h SETTLEMENT
 * WORKSPACE; the layout is in market_int.h). It grows to the largest slot
 * it has settled and never shrinks, so steady-state settlement allocates
 * nothing and touches only pages it has touched before. */
#include <stdlib.h>
#include <string.h>

#include "market_int.h"

void pg_market_ws_release(pg_market_ws *ws) {
  free(ws->rc);
  free(ws->rp);
  free(ws->block);
  memset(ws, 0, sizeof *ws);
}

/* Carves the scratch arrays out of one block (each 64-byte aligned); with
 * base NULL only sums the size. */
static size_t carve(pg_market_ws *w, char *base) {
  size_t c = w->cap_c, p = w->cap_p, n = w->cap_n, at = 0;
#define CARVE(field, count)                                                                      \
  do {                                                                                           \
    if (base) w->field = (void *)(base + at);                                                    \
    at += ((count) * sizeof *w->field + 63) & ~(size_t)63;                                       \
  } while (0)
  CARVE(cw, c);
  CARVE(cm, c);
  CARVE(camt, c);
  CARVE(cfee, c);
  CARVE(pw, p);
  CARVE(pm, p);
  CARVE(pamt, p);
  CARVE(t1, n);
  CARVE(t2, n);
  CARVE(num, n);
  CARVE(pnum, p);
  CARVE(ckey, c);
  CARVE(pkey, p);
  CARVE(bk, c);
  CARVE(ak, p);
  CARVE(sk, n);
  CARVE(hist, (size_t)1 << w->hist_bits);
  CARVE(sc.rem, n);
  CARVE(sc.idx, n);
#undef CARVE
  return at;
}

int pg_market_ws_grow(pg_market_ws *ws, size_t nc, size_t np) {
  if (nc <= ws->cap_c && np <= ws->cap_p && ws->block) return PG_OK;
  pg_market_ws w;
  memset(&w, 0, sizeof w);
  w.cap_c = nc > ws->cap_c ? nc : ws->cap_c;
  w.cap_p = np > ws->cap_p ? np : ws->cap_p;
  if (w.cap_c == 0) w.cap_c = 1;
  if (w.cap_p == 0) w.cap_p = 1;
  w.cap_n = w.cap_c > w.cap_p ? w.cap_c : w.cap_p;
  w.hist_bits = w.cap_n >= PG_WS_WIDE_N ? 16 : 11;
  w.rc = malloc(w.cap_c * sizeof *w.rc);
  w.rp = malloc(w.cap_p * sizeof *w.rp);
  w.block = aligned_alloc(64, carve(&w, NULL));
  if (!w.rc || !w.rp || !w.block) {
    pg_market_ws_release(&w);
    return PG_ERR_NOMEM;
  }
  carve(&w, w.block);
  pg_market_ws_release(ws);
  *ws = w;
  return PG_OK;
}

int pg_market_ws_new(pg_market_ws **out, pg_diag *d) {
  *out = calloc(1, sizeof **out);
  if (!*out) return pg_fail(d, PG_ERR_NOMEM, "out of memory for a settlement workspace");
  return PG_OK;
}

void pg_market_ws_free(pg_market_ws *ws) {
  if (!ws) return;
  pg_market_ws_release(ws);
  free(ws);
}

int pg_market_ws_reserve(pg_market_ws *ws, size_t n_consumers, size_t n_producers, pg_diag *d) {
  if (n_consumers > PG_MARKET_MAX_PARTIES || n_producers > PG_MARKET_MAX_PARTIES)
    return pg_fail(d, PG_ERR_TOO_LARGE, "more than %zu participants on one side",
                   PG_MARKET_MAX_PARTIES);
  if (pg_market_ws_grow(ws, n_consumers, n_producers))
    return pg_fail(d, PG_ERR_NOMEM, "out of memory reserving a workspace for %zu participants",
                   n_consumers + n_producers);
  return PG_OK;
}
