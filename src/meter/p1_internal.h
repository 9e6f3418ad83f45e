/* p1_internal.h — the pure reading series behind the P1 meter (not a public
 * contract; unit tests and the fuzz target use it). The rules are those of
 * meter.h's "DSMR P1" section. */
#ifndef P2PGRID_P1_INTERNAL_H
#define P2PGRID_P1_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/meter/meter.h"

#define PG_P1_RING_CAP 100000 /* distinct readings kept */

typedef struct pg_p1_reading {
  int64_t t_ms;     /* the telegram's time */
  int64_t imp, exp; /* Wh: 1.8.1 + 1.8.2, 2.8.1 + 2.8.2 */
} pg_p1_reading;

/* Readings whose counters differ from the previous one (a telegram with the
 * same counters only moves newest_ms), in a ring; newest_ms is the newest
 * telegram time or fence. */
typedef struct pg_p1_series {
  pg_p1_reading *ring; /* owned */
  size_t cap, head, n;
  bool any;            /* a reading ever arrived */
  bool forgot;         /* readings were dropped */
  int64_t newest_ms;
} pg_p1_series;

/* Outcome of pg_p1_series_add */
enum { PG_P1_ADDED = 0, PG_P1_LATE = 1, PG_P1_REGRESSION = 2 };

PG_NODISCARD int pg_p1_series_init(pg_p1_series *s, size_t cap);
void pg_p1_series_free(pg_p1_series *s);
/* Adds a telegram's reading: PG_P1_LATE when t_ms <= newest_ms,
 * PG_P1_REGRESSION when a counter is below the newest reading's; nothing is
 * stored then. */
int pg_p1_series_add(pg_p1_series *s, int64_t t_ms, int64_t imp, int64_t exp);
/* Energy of [from, to) for quantity q, as meter.h says, given now. */
PG_NODISCARD int pg_p1_series_energy(pg_p1_series *s, pg_meter_p1_quantity q, uint64_t from_ms,
                                     uint64_t to_ms, uint64_t now_ms, uint64_t stale_ms,
                                     int64_t *wh, pg_diag *d);

#endif
