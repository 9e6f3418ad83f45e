/* p2pgrid/base/db.h — SQLite helpers that never hide an error: every call returns
 * a status, and a query's value is an out-parameter, never the error read as
 * a number. Used by every module that keeps state in SQLite.
 *
 * Errors: failures are PG_ERR_DB with "<what>: <SQLite's message>" in the diag
 * (or PG_ERR_IO / PG_ERR_CONFIG for the directory in pg_db_open).
 *
 * Ownership: pg_db_open's connection is the caller's (sqlite3_close);
 * so is pg_db_prepare's statement (sqlite3_finalize), except that
 * pg_db_step_done and pg_db_i64 finalize the statement they are given or
 * make, also on failure.
 *
 * Fault injection (test builds only, compiled with PG_FAULT_INJECTION):
 * with P2PGRID_DB_FAULT="<sql substring>[:<times>]" in the environment,
 * the first <times> (default 1; 0 = every) pg_db_prepare calls whose SQL
 * contains the substring fail with PG_ERR_DB "injected fault". With
 * P2PGRID_WAL_SYNC_STALL_MS=<ms> (1..10000) every sync of a WAL opened
 * through base/walbuf.h sleeps that long first (a slow disk, a starved
 * checkpoint thread). Release builds have no such hook.
 *
 * Threads: as SQLite's connections (the callers open them FULLMUTEX). */
#ifndef P2PGRID_BASE_DB_H
#define P2PGRID_BASE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "p2pgrid/base/err.h"

/* SQLite's process-wide settings, once, before SQLite starts (later calls
 * do nothing): memory statistics off, unless pg_db_memory_cap asked for a
 * cap first (the cap needs them). With them on, every allocation of every
 * connection takes one global mutex, which threads working on different
 * databases (the simulator's members, the node's committer and its HTTP
 * threads) contend for. pg_db_open, pg_db_open_sole, pg_walbuf_vfs and
 * pg_db_memory_cap call it; a program calls it first when it may use
 * SQLite another way before them. */
void pg_db_setup(void);

/* Creates dir (and its parents, mode 0700) when missing, opens dir/file
 * (created if missing) in WAL mode with synchronous=FULL, foreign keys on,
 * temporary tables and savepoint journals in memory (never a temporary
 * file) and a busy timeout of busy_ms, then runs schema (may be NULL) in
 * one transaction: all of its statements or none. */
PG_NODISCARD int pg_db_open(const char *dir, const char *file, const char *schema,
                            unsigned busy_ms, sqlite3 **out, pg_diag *d);
/* pg_db_open for a database that this connection alone uses while it is
 * open (a simulated member's): locking_mode=EXCLUSIVE set before WAL mode,
 * so the WAL index lives in the connection's memory (no -shm file) and no
 * file lock is taken or released after the first transaction, and the WAL
 * written through pg-walbuf (base/walbuf.h: one write a commit). Any other
 * connection, in this process or another, gets "database is locked" until
 * this one is closed. Crash behaviour is WAL's: a kill -9 loses nothing
 * that committed (at synchronous=FULL; the simulation turns it OFF). */
PG_NODISCARD int pg_db_open_sole(const char *dir, const char *file, const char *schema,
                                 sqlite3 **out, pg_diag *d);
/* pg_db_open or pg_db_open_sole (sole), or held by this process (process),
 * with a page size for a new
 * database: page_size 0 is SQLite's 4096, else a power of two from 512 to
 * 65536 (other values: PG_ERR_CONFIG before anything is opened). A
 * database that exists keeps the page size it was made with. Small pages
 * suit a database of small rows written a few at a time (a member's: each
 * commit writes its dirty pages whole; docs/PERFORMANCE.md). */
typedef struct pg_db_open_opts {
  unsigned busy_ms; /* ignored when sole (no busy wait) */
  bool sole;
  /* The database is this process's alone while any connection of the
   * process has it open (base/walbuf.h, pg_walbuf_vfs_process): other
   * connections of this process share it as usual, another process's
   * open gets "database is locked", and no file lock is taken per
   * transaction. Open every connection of the process to it this way. */
  bool process;
  unsigned page_size;
} pg_db_open_opts;
PG_NODISCARD int pg_db_open_with(const char *dir, const char *file, const char *schema,
                                 const pg_db_open_opts *o, sqlite3 **out, pg_diag *d);
/* Caps the memory SQLite holds in this process (page caches give pages back
 * before it grows past bytes; 0 = no cap). Process-wide: a daemon whose
 * databases are small (a source, producer or consumer) calls it once at
 * start, so its page cache does not fill to SQLite's default 2 MiB per
 * connection over hours (docs/PERFORMANCE.md, "Footprint"). SQLite keeps a
 * cap only with its memory statistics on, so a cap must come before the
 * first database is opened (pg_db_setup); later, PG_ERR_STATE and no cap. */
PG_NODISCARD int pg_db_memory_cap(int64_t bytes, pg_diag *d);
/* The one way to report a failed SQLite call: PG_ERR_DB with "<fmt ...>:
 * <sqlite3_errmsg(db)>" ("no database" when db is NULL) in d. Returns
 * PG_ERR_DB so a caller writes `return pg_db_fail(db, d, "x write");`. */
int pg_db_fail(sqlite3 *db, pg_diag *d, const char *fmt, ...) PG_PRINTF(3, 4);
/* Runs SQL without results. */
PG_NODISCARD int pg_db_exec(sqlite3 *db, const char *sql, pg_diag *d);
PG_NODISCARD int pg_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, pg_diag *d);
/* Steps st once, wants SQLITE_DONE ("<what>: ..." otherwise), finalizes it. */
PG_NODISCARD int pg_db_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, pg_diag *d);
/* BEGIN IMMEDIATE / COMMIT (rolls back when COMMIT fails) / ROLLBACK (never
 * fails loudly; a no-op outside a transaction). */
PG_NODISCARD int pg_db_begin(sqlite3 *db, pg_diag *d);
PG_NODISCARD int pg_db_commit(sqlite3 *db, pg_diag *d);
void pg_db_rollback(sqlite3 *db);
/* SAVEPOINT name (an identifier of the caller's, at most 64 characters),
 * and its end: rolled back to when rc is an error, then released. The end
 * returns rc, or the release's error (in d) when rc was PG_OK; with rc an
 * error d keeps the caller's sentence. */
PG_NODISCARD int pg_db_savepoint(sqlite3 *db, const char *name, pg_diag *d);
PG_NODISCARD int pg_db_savepoint_end(sqlite3 *db, const char *name, int rc, pg_diag *d);
/* The first column of the first row of sql as an integer (?1 bound to arg
 * when the statement has a parameter): *out = def when there is no row or
 * the value is NULL. */
PG_NODISCARD int pg_db_i64(sqlite3 *db, const char *sql, int64_t arg, int64_t def, int64_t *out,
                           pg_diag *d);
/* The same on a statement the caller prepared (or keeps cached): binds ?1
 * when it has one, steps once, reads; st stays the caller's (not reset,
 * not finalized). */
PG_NODISCARD int pg_db_stmt_i64(sqlite3 *db, sqlite3_stmt *st, int64_t arg, int64_t def,
                                int64_t *out, pg_diag *d);

#endif
