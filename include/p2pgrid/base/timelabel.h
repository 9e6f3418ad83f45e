/* p2pgrid/base/timelabel.h — times people read instead of slot numbers: a slot's
 * start (or any instant) as local date and time of a community's zone,
 * "2025-06-21 14:15". Part of pg_base (beside tz.h).
 *
 * Seconds are shown only when the instant is not on a whole minute
 * ("2025-06-21 14:15:07"). Where the local time occurs twice (the hour
 * repeated when summer time ends) the UTC offset follows, so both readings
 * stay distinct: "2025-10-26 02:15 +02:00" and "2025-10-26 02:15 +01:00".
 * Raw slot numbers and UTC times stay in JSON and CSV.
 *
 * Ownership: labels go to caller buffers; nothing is allocated.
 * Errors: none: the functions cannot fail. They return the length of the
 * full label (snprintf-like: output truncated to cap - 1 bytes and
 * NUL-terminated when cap > 0).
 * Threads: pure functions; any thread. */
#ifndef P2PGRID_BASE_TIMELABEL_H
#define P2PGRID_BASE_TIMELABEL_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/tz.h"

#define PG_TIME_LABEL_MAX 40 /* enough for any label */

/* The local time of t_ms in tz. */
size_t pg_time_label(int64_t t_ms, pg_tz tz, char *buf, size_t cap);
/* The start of slot `slot` (slot * slot_ms since 1970, as the grid counts). */
size_t pg_slot_label(int64_t slot, uint64_t slot_ms, pg_tz tz, char *buf, size_t cap);

#endif
