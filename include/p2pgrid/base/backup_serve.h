/* p2pgrid/base/backup_serve.h — backups of a data directory whose databases
 * a running daemon holds for its process (a node daemon's store: no file
 * lock per transaction, base/walbuf.h pg_walbuf_vfs_process), written by
 * the daemon itself when `p2pgrid backup` asks. Another process cannot
 * read such a database while the daemon runs, so the backup is taken
 * inside the daemon's process, as pg_backup_create takes it elsewhere
 * (base/backup.h: the same file, the same checks).
 *
 * The exchange goes through files of the data directory, all named
 * "BACKUP-..." (a prefix pg_backup_create never copies and a restore
 * refuses). The daemon writes nowhere else: a sandboxed service (systemd's
 * ProtectSystem=strict, PrivateTmp) can write only its state directory,
 * and the asker, not the daemon, decides where the file goes.
 * - BACKUP-SERVER: the daemon's marker, written when its server starts
 *   and removed when it stops ("p2pgrid-backup-server 1" and its pid).
 * - BACKUP-REQUEST: the asker's request, made whole under a temporary
 *   name and linked into place (a second asker finds it there):
 *     p2pgrid-backup-request 1\n<32 lowercase hex nonce>\n
 *   The server takes it by renaming it to BACKUP-REQUEST.taken (so a
 *   request is taken by the server or withdrawn by its asker, never both)
 *   and reads it as hostile bytes (pg_backup_request_parse). Every file
 *   of the exchange is read only when it is a regular file (a symlink or a
 *   FIFO put in its place is refused, not followed or waited on).
 * - BACKUP-DATA: the backup the server writes (pg_backup_create_with:
 *   BACKUP-DATA.tmp, then renamed), mode 0600; the asker moves it where it
 *   wants (a rename, or a copy synced and renamed on another file system).
 * - BACKUP-LOCK: held (flock, base/dirlock.h) by the asker from its
 *   request until it has moved the data: one asker at a time.
 * - BACKUP-RESULT: the server's answer, written under a temporary name and
 *   renamed into place:
 *     p2pgrid-backup-result 1\n<the request's nonce>\n<pg_err>\n<message>\n
 * Only who can write the data directory (the daemon's user, root) can ask;
 * nothing crosses a network.
 *
 * Contract:
 * - pg_backup_server_start writes BACKUP-SERVER into data_dir (removing
 *   what a process that died left: a taken request, a result, backup data)
 *   and starts a thread that looks for a request every 250 ms. A request
 *   is served with pg_backup_create_with(data_dir, data_dir/BACKUP-DATA,
 *   vfs): the databases opened through vfs (the VFS the daemon holds them
 *   with; NULL: SQLite's default). One request at a time; the result says
 *   what happened (a bad request: PG_ERR_INVALID and why, also logged).
 *   Each request served or refused is logged ("backup" module).
 * - pg_backup_server_stop (NULL ok) stops the thread, waiting for a
 *   backup under way to finish, then removes BACKUP-SERVER.
 * - pg_backup_ask: when data_dir holds BACKUP-SERVER, asks its daemon for a
 *   backup, waits for the answer (calling progress, may be NULL, about
 *   every 5 s with the bytes written so far), moves BACKUP-DATA (a regular
 *   file, else PG_ERR_INVALID) to out.part (a rename, or a synced copy on
 *   another file system), checks it whole (pg_backup_check; info gets what
 *   it holds) and renames it to out: out is the old file or a checked
 *   backup.
 *   PG_ERR_NOT_FOUND when there is no BACKUP-SERVER, or when nobody took
 *   the request within pickup_ms (the daemon is gone: a kill -9 leaves the
 *   marker; the request is withdrawn): the caller then copies the directory
 *   itself (pg_backup_create). PG_ERR_UNAVAILABLE "a backup of D is under
 *   way" when another asker holds BACKUP-LOCK (a request left by an asker
 *   that died is replaced), or when the daemon stopped before
 *   it answered (its marker gone, or the process it names gone: a kill -9
 *   during the backup). Otherwise the server's result (its pg_err and
 *   message), or the move's or the check's error (PG_ERR_IO naming the
 *   file).
 * - pg_backup_request_parse reads a request's bytes: exactly the two lines
 *   above; anything else PG_ERR_INVALID with the reason.
 *
 * Threads: a server is its own thread; start and stop from one thread.
 * pg_backup_ask and the parser share no state.
 *
 * Ownership: *out of start is the caller's (stop frees it).
 * Errors: 0 or a negative pg_err with one sentence in the optional diag:
 * PG_ERR_IO (naming the file), PG_ERR_NOMEM, PG_ERR_INVALID, as above. */
#ifndef P2PGRID_BASE_BACKUP_SERVE_H
#define P2PGRID_BASE_BACKUP_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/backup.h"
#include "p2pgrid/base/err.h"

#define PG_BACKUP_SERVER_FILE "BACKUP-SERVER"
#define PG_BACKUP_REQUEST_FILE "BACKUP-REQUEST"
#define PG_BACKUP_RESULT_FILE "BACKUP-RESULT"
#define PG_BACKUP_DATA_FILE "BACKUP-DATA"
#define PG_BACKUP_LOCK_FILE "BACKUP-LOCK"
#define PG_BACKUP_NONCE_HEX 32

typedef struct pg_backup_server pg_backup_server;

PG_NODISCARD int pg_backup_server_start(const char *data_dir, const char *vfs,
                                        pg_backup_server **out, pg_diag *d);
void pg_backup_server_stop(pg_backup_server *s);

typedef void (*pg_backup_progress_fn)(void *ctx, uint64_t bytes_so_far);
PG_NODISCARD int pg_backup_ask(const char *data_dir, const char *out, unsigned pickup_ms,
                               pg_backup_progress_fn progress, void *ctx, pg_backup_info *info,
                               pg_diag *d);

typedef struct pg_backup_request {
  char nonce[PG_BACKUP_NONCE_HEX + 1];
} pg_backup_request;
PG_NODISCARD int pg_backup_request_parse(const void *bytes, size_t len, pg_backup_request *r,
                                         pg_diag *d);

#endif
