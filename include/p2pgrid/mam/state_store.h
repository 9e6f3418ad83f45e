/* p2pgrid/mam/state_store.h — a MAM channel kept in a state file: the file
 * `p2pgrid mam publish --state FILE` works on, in the JSON form of
 * pg_mam_channel_save (mam.js's channel state, so mam.js states load too).
 *
 * Contract:
 * - Locking: pg_mam_store_open takes an exclusive lock on PATH.lock
 *   (pg_lock_file_take, dirlock.h) for the life of the store, so two
 *   publishers of one file take turns. wait = false fails at once with
 *   PG_ERR_UNAVAILABLE ("PATH.lock is in use by pid N") when another store
 *   holds it; wait = true blocks until it is let go. The kernel drops the
 *   lock when the holder exits, however it exits (also kill -9).
 * - Loading: pg_mam_store_load reads the file (at most PG_MAM_STORE_MAX
 *   bytes), validates it and checks that its seed still produces its
 *   nextRoot (pg_mam_channel_check), before anything is signed. A missing
 *   file is not an error (*exists false).
 * - Saving: pg_mam_store_save replaces the file atomically (a 0600 temp file
 *   beside it, fsync, rename, fsync of the directory: pg_write_file_atomic),
 *   so a crash leaves the old or the new state, never a mix. New files are
 *   mode 0600 (the seed signs the channel).
 * - Crash behaviour: a publisher signs on a copy of the state, attaches,
 *   and saves the advanced state only after the node accepted the message.
 *   A crash between attach and save leaves a file whose current leaf is
 *   already used; pg_mam_store_recover finds such leaves at the node and
 *   moves past them (saving each time) instead of signing with a one-time
 *   key a second time.
 * Errors: 0 or a negative pg_err; the diag names the file (except where
 *   said). Buffers that held the seed are wiped before they are freed; a
 *   channel that fails its check is wiped.
 * Ownership: the store (and its lock) is the caller's, released with
 *   pg_mam_store_close (NULL ok). path is copied. Channels are the caller's
 *   (wipe them with pg_mam_channel_wipe).
 * Threads: a store is used by one thread at a time; distinct stores may
 *   be used from distinct threads (a second store of the same path in the
 *   same process waits for, or is refused by, the first's lock). */
#ifndef P2PGRID_MAM_STATE_STORE_H
#define P2PGRID_MAM_STATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/mam/mam.h"

#define PG_MAM_STORE_MAX (64u * 1024u) /* bytes of a state file */

typedef struct pg_mam_store pg_mam_store;

/* Locks path.lock (see above); *out on PG_OK. PG_ERR_UNAVAILABLE (wait
 * false and held elsewhere), PG_ERR_IO (the lock file's directory is
 * missing or not writable), PG_ERR_NOMEM. */
PG_NODISCARD int pg_mam_store_open(const char *path, bool wait, pg_mam_store **out, pg_diag *d);
void pg_mam_store_close(pg_mam_store *s);
/* The state file's path (as given to open; owned by the store). */
const char *pg_mam_store_path(const pg_mam_store *s);

/* Reads the state into *ch. *exists false (and PG_OK, *ch untouched) when
 * the file is not there. *perm (may be NULL) gets the file's permission
 * bits once it was found (0 otherwise), so that a caller can warn about a
 * seed readable by others (perm & 077), also when the load then fails.
 * Errors: PG_ERR_IO (cannot stat or read), PG_ERR_INVALID (not a regular
 * file; not a valid channel state), PG_ERR_TOO_LARGE (over
 * PG_MAM_STORE_MAX), PG_ERR_STATE (the seed does not produce the nextRoot:
 * an edited or corrupted file; the diag is pg_mam_channel_check's, naming
 * both roots, without the path). *ch is written only on PG_OK with *exists. */
PG_NODISCARD int pg_mam_store_load(pg_mam_store *s, pg_mam_channel *ch, bool *exists,
                                   unsigned *perm, pg_diag *d);

/* Replaces the file with ch (see above). PG_ERR_IO, PG_ERR_NOMEM. */
PG_NODISCARD int pg_mam_store_save(pg_mam_store *s, const pg_mam_channel *ch, pg_diag *d);

/* A new channel with a random seed (pg_mam_random_trytes), saved at once so
 * that it and its root survive a failed attach. side_key as for
 * pg_mam_channel_create. Errors: PG_ERR_CRYPTO (libsodium cannot start),
 * those of pg_mam_channel_create (diag without the path) and of save. *ch
 * is written on PG_OK. */
PG_NODISCARD int pg_mam_store_create(pg_mam_store *s, pg_mam_mode mode, const char *side_key,
                                     size_t side_key_len, int security, pg_mam_channel *ch,
                                     pg_diag *d);

/* Called after each used leaf was skipped and saved: the tree's root and the
 * leaf. */
typedef void (*pg_mam_store_skip_fn)(void *ctx, const char *root, uint32_t leaf);

/* What pg_mam_store_recover did. */
typedef struct pg_mam_recovery {
  unsigned skipped;  /* used leaves moved past (each saved) */
  bool node_failed;  /* the error came from the node lookup (pg_mam_read) */
} pg_mam_recovery;

/* Crash recovery before a publish: while the leaf ch would sign next
 * (tree root, leaf index: the other leaves of a tree of count > 1 do not
 * count) already carries a message that verifies at the node c, advances
 * ch past it (signing a throwaway message on the state: the advance does
 * not depend on the message) and saves. on_skip (may be NULL) hears of
 * each. Errors: those of the node lookup as they are, with its diag
 * (out->node_failed); PG_ERR_STATE after max skips in a row with the next
 * leaf still used; those of pg_mam_create_message and save. ch stays the
 * state last saved. c is borrowed. */
PG_NODISCARD int pg_mam_store_recover(pg_mam_store *s, pg_client *c, pg_mam_channel *ch,
                                      unsigned max, pg_mam_store_skip_fn on_skip, void *ctx,
                                      pg_mam_recovery *out, pg_diag *d);

#endif
