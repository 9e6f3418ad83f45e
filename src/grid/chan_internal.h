/* chan_internal.h — what chan.c (outbox, reading) and chan_flush.c (the
 * outboxes' flush, batched) share. Not part of the grid's API. */
#ifndef PG_GRID_CHAN_INTERNAL_H
#define PG_GRID_CHAN_INTERNAL_H

#include "grid_internal.h"

/* The channel `name`'s state (*ch, may be NULL) and root / side key (*info,
 * may be NULL); *found false (PG_OK) when there is no such channel. */
PG_NODISCARD int pg_chan_load_state(sqlite3 *db, const char *name, pg_mam_channel *ch,
                                    pg_chan_info *info, bool *found, pg_diag *d);
/* Saves ch as `name`'s state: inserted with info (a new channel), else updated. */
PG_NODISCARD int pg_chan_save_state(sqlite3 *db, const char *name, const pg_mam_channel *ch,
                                    const pg_chan_info *info, pg_diag *d);

/* The unsent outbox rows in order: seq, channel and body (created == false:
 * no payload yet) or payload and address (created). */
typedef struct out_row {
  int64_t seq;
  char channel[128];
  char *text; /* body or payload (owned) */
  char address[PG_MAM_HASH_TRYTES + 1];
  bool created;
} out_row;
PG_NODISCARD int pg_chan_unsent_rows(sqlite3 *db, out_row **out, size_t *n, pg_diag *d);
void pg_chan_free_rows(out_row *v, size_t n);

#endif
