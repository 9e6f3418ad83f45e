/* p2pgrid/base/dirlock.h — one process per data directory (or per state file):
 * an exclusive lock that the kernel drops when the holder exits, however it
 * exits (also kill -9), so a lock is never left stale.
 *
 * Contract:
 * - pg_dirlock_take locks the data directory dir through the lock file
 *   dir/LOCK. dir is created first (mode 0700, with its missing parents)
 *   when it does not exist. The lock file keeps the holder's pid (decimal
 *   and a newline), written once the lock is held; the file itself stays
 *   after release (its content is only informative, the kernel lock is what
 *   counts).
 *   A directory locked by another process (or by another pg_dirlock of this
 *   one) fails at once with PG_ERR_UNAVAILABLE and the diag
 *   "data dir DIR in use by pid N" ("... in use by another process" while
 *   the holder has not written its pid yet). PG_ERR_IO names the file and
 *   the system error; PG_ERR_NOMEM.
 * - pg_lock_file_take locks any lock file path (created mode 0600 if
 *   missing; its directory must exist) the same way: wait = false fails at
 *   once with PG_ERR_UNAVAILABLE and "PATH is in use by pid N"; wait = true
 *   blocks until the holder lets go.
 * - *out (owned by the caller) is released with pg_dirlock_release, which
 *   also accepts NULL. The lock is flock(2) on a descriptor opened
 *   O_CLOEXEC: a program started with exec does not inherit it; a child of
 *   fork shares it until the child exits or releases.
 *
 * Threads: take and release are safe from any thread (no shared state).
 *
 * Ownership: *out is the caller's; pg_dirlock_release (NULL ok) drops the lock
 * and frees it.
 * Errors: 0, PG_ERR_UNAVAILABLE (held elsewhere), PG_ERR_IO or PG_ERR_NOMEM,
 * with one sentence naming the directory or file (and the holder's pid) in the
 * optional pg_diag, as above. */
#ifndef P2PGRID_BASE_DIRLOCK_H
#define P2PGRID_BASE_DIRLOCK_H

#include <stdbool.h>

#include "p2pgrid/base/err.h"

typedef struct pg_dirlock pg_dirlock;

PG_NODISCARD int pg_dirlock_take(const char *dir, pg_dirlock **out, pg_diag *d);
PG_NODISCARD int pg_lock_file_take(const char *path, bool wait, pg_dirlock **out, pg_diag *d);
void pg_dirlock_release(pg_dirlock *l);

#endif
