/* p2pgrid/base/backup.h — one-file backups of a daemon's data directory, taken
 * while the daemon runs, and their checked restore.
 *
 * The backup file is itself an SQLite database (format "p2pgrid-backup",
 * version 1) with exactly three tables:
 *   meta(key, value)                    format, version, created_ms, source
 *   entries(name, kind, size, sha256)   one row per file of the data dir:
 *                                       kind "sqlite" (a database, copied
 *                                       with SQLite's online backup API) or
 *                                       "file" (bytes as they are: keys)
 *   chunks(name, seq, data)             the bytes of each entry in order,
 *                                       seq 0.., each 1..PG_BACKUP_CHUNK bytes
 *
 * Contract:
 * - pg_backup_create copies every regular file at the top of data_dir but
 *   LOCK, PG_BACKUP_MARKER, the names starting with "BACKUP-" (a running
 *   daemon's backup server, base/backup_serve.h) and the -wal/-shm/-journal
 *   companions of databases (their content is in the database's copy). It does not take the directory's lock
 *   (p2pgrid/base/dirlock.h): it is meant to run beside the daemon. A database is
 *   read in one read transaction (a consistent snapshot: WAL lets the daemon
 *   write meanwhile); the snapshots of all databases of the directory are
 *   opened before any is copied, so they are at most moments apart. The file
 *   is written to OUT.tmp (mode 0600: it holds keys), synced, then renamed to
 *   out, so out is either the old file or a whole new backup. A
 *   subdirectory, a symlink or any other non-regular entry, or a name
 *   outside [A-Za-z0-9._-] (or starting with '.'), is refused (PG_ERR_INVALID
 *   naming it) and nothing is written; so is an out whose directory is
 *   data_dir itself (its rename could replace a live database), unless its
 *   name starts with "BACKUP-" (a backup server's, backup_serve.h). PG_ERR_IO / PG_ERR_DB name the file.
 * - pg_backup_check reads a backup as hostile input: the schema must be
 *   exactly the one above (no views, triggers or extra tables), meta format
 *   and version must match, every entry name must be a plain file name as
 *   above (no '/', no "..", not absolute, none of the names not copied), a kind of "sqlite" or "file", its
 *   size at most PG_BACKUP_SQLITE_MAX (databases) or PG_BACKUP_FILE_MAX
 *   (files), its chunks contiguous from 0 and adding up to size, its SHA-256
 *   matching; at most PG_BACKUP_MAX_ENTRIES entries and no chunk without an
 *   entry. Anything else is PG_ERR_INVALID "backup FILE: <what>"
 *   (PG_ERR_TOO_LARGE for an entry over its cap), PG_ERR_IO when it cannot be
 *   opened. pg_backup_check_mem does the same on bytes in memory (the fuzz
 *   target).
 * - pg_backup_restore checks the whole backup first (nothing is written when
 *   it fails), then takes data_dir's lock (PG_ERR_UNAVAILABLE "data dir D in
 *   use by pid N" while a daemon runs on it; data_dir and its parents are
 *   created when missing), refuses a data_dir holding anything but LOCK
 *   unless force (PG_ERR_EXISTS "... is not empty (--force replaces it)"),
 *   writes the entries (files mode 0600) into a new directory beside it
 *   (".NAME.restore-XXXXXX"), checks them again while writing and each
 *   database with PRAGMA integrity_check, syncs, and swaps it with data_dir
 *   in one rename (renameat2 RENAME_EXCHANGE); the old content is then
 *   deleted. On any failure the temporary directory is removed and data_dir
 *   is as it was. The restored directory also holds PG_BACKUP_MARKER
 *   ("RESTORED", one line naming the backup's time): a daemon that finds it
 *   knows its state is older than what it already published (its channels'
 *   next messages may be on the Tangle) and removes it once it has caught up
 *   (grid.h).
 * - info (may be NULL) gets what the backup holds.
 *
 * Threads: no shared state; each call opens its own connections.
 *
 * Ownership: nothing is handed out to free: info (optional) is filled by value;
 * every call opens and closes its own files and connections.
 * Errors: 0 or a negative pg_err (PG_ERR_INVALID, PG_ERR_TOO_LARGE, PG_ERR_IO,
 * PG_ERR_DB, PG_ERR_UNAVAILABLE, PG_ERR_EXISTS, PG_ERR_NOMEM) with one sentence
 * naming the file or entry in the optional pg_diag, as listed above; a failed
 * call leaves out and data_dir as they were. */
#ifndef P2PGRID_BASE_BACKUP_H
#define P2PGRID_BASE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_BACKUP_FORMAT "p2pgrid-backup"
#define PG_BACKUP_VERSION 1
#define PG_BACKUP_MARKER "RESTORED"
#define PG_BACKUP_CHUNK (1024 * 1024)
#define PG_BACKUP_MAX_ENTRIES 256
#define PG_BACKUP_NAME_MAX 128
#define PG_BACKUP_FILE_MAX (16ull * 1024 * 1024)
#define PG_BACKUP_SQLITE_MAX (1ull << 40)

typedef struct pg_backup_info {
  size_t entries;    /* files in the backup */
  size_t databases;  /* of them SQLite databases */
  uint64_t bytes;    /* their sizes added up */
  int64_t created_ms;/* Unix time of the backup */
} pg_backup_info;

PG_NODISCARD int pg_backup_create(const char *data_dir, const char *out, pg_backup_info *info,
                                  pg_diag *d);
/* pg_backup_create with the databases opened through the SQLite VFS named
 * vfs (NULL: the default): the one a daemon holds them with, when it
 * writes the backup itself (base/backup_serve.h). */
PG_NODISCARD int pg_backup_create_with(const char *data_dir, const char *out, const char *vfs,
                                       pg_backup_info *info, pg_diag *d);
PG_NODISCARD int pg_backup_check(const char *file, pg_backup_info *info, pg_diag *d);
PG_NODISCARD int pg_backup_check_mem(const void *bytes, size_t len, pg_backup_info *info,
                                     pg_diag *d);
PG_NODISCARD int pg_backup_restore(const char *file, const char *data_dir, bool force,
                                   pg_backup_info *info, pg_diag *d);

/* True when name is a file name a backup may hold (see above). */
bool pg_backup_name_ok(const char *name);

#endif
