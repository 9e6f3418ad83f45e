/* sunspec_internal.h — the pure counter arithmetic of the SunSpec meter,
 * exposed for unit tests and the fuzz target (not a public contract; the
 * rules are documented in sunspec.h under "The meter"). */
#ifndef P2PGRID_SUNSPEC_INTERNAL_H
#define P2PGRID_SUNSPEC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/meter/sunspec.h"

#define PG_SUNSPEC_E10 10000000000LL /* units of 1e-10 Wh in one Wh */
#define PG_SUNSPEC_CUM_MAX_WH 1000000000000LL /* 1e12 Wh: what the series holds (uWh) */

/* The cumulative energy of a polled counter, exact in 1e-10 Wh (enough for
 * any SF down to -10). */
typedef struct pg_sunspec_acc {
  bool has_prev;
  pg_sunspec_counter prev;
  uint64_t prev_ms;
  __int128 cum; /* 1e-10 Wh since the first reading */
} pg_sunspec_acc;

typedef enum pg_sunspec_step {
  PG_SUNSPEC_STEP_FIRST = 0, /* the baseline */
  PG_SUNSPEC_STEP_COUNT = 1, /* counted on (also 0 steps) */
  PG_SUNSPEC_STEP_WRAP = 2,  /* an acc32 wrap, counted mod 2^32 */
  PG_SUNSPEC_STEP_RESET = 3, /* a decrease that is no wrap, or a step taking the
                                cumulative energy over PG_SUNSPEC_CUM_MAX_WH: 0
                                added, new baseline */
} pg_sunspec_step;

/* Adds a present counter read at t_ms (non-decreasing); max_w (1..1e12)
 * bounds a plausible wrap. */
pg_sunspec_step pg_sunspec_acc_add(pg_sunspec_acc *a, const pg_sunspec_counter *c, uint64_t t_ms,
                                   int64_t max_w);
/* The cumulative energy floored to the uWh (what the sample series takes). */
int64_t pg_sunspec_acc_uwh(const pg_sunspec_acc *a);

#endif
