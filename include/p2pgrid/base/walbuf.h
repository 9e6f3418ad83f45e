/* p2pgrid/base/walbuf.h — the "pg-walbuf" SQLite VFS: the default VFS with
 * each WAL commit written in one pwrite() instead of two per page (a frame
 * header and its page). The Tangle store opens through it, and sole
 * databases (base/db.h). Its twin "pg-walbuf-process" (below) stands on
 * SQLite's unix-excl VFS instead, for databases held by their process.
 *
 * Opening every database through it (pg_db_open, session 17) saved no
 * CPU that could be measured, and readers of a served simulation then saw
 * "database disk image is malformed". The cause was this VFS's: when a
 * commit frame's header still fitted the buffer and its page did not, the
 * flush that made room cleared the "commit" mark and the page stayed
 * buffered while SQLite published the commit (a reader's short read of
 * the WAL; a kill -9 then lost a commit that had returned). Fixed, with
 * test_commit_at_the_buffer_edge; pg_db_open stays on the default VFS.
 *
 * What it keeps: ordering, errors and crash behaviour are SQLite's own. A
 * commit's frames are gathered in a buffer and written inside SQLite's own
 * write of the page after the commit frame's header, so the write's result
 * is what SQLite sees, and the frames are in the file before SQLite syncs
 * (synchronous=FULL) and before it publishes the commit in the wal-index:
 * a commit that returned survives kill -9 (test_base_walbuf,
 * integration/node_kill_ingest). Writes over existing bytes, and every
 * other operation on the file (read, sync, size, truncate, locks,
 * shared memory), flush what is buffered first. Database files and
 * journals are the default VFS's own objects, untouched; connections
 * through it and through the default VFS share a database as usual.
 *
 * Errors: a failed write of the buffer is the failing xWrite's (or sync's,
 * read's...) SQLite error, as the default VFS would have returned it; one
 * that only a void method met (shared-memory barrier, unmap) is logged.
 * pg_walbuf_vfs gives NULL when the VFS could not be registered.
 * Ownership: the VFS is registered once per process, on first use, and
 * never unregistered; a buffer belongs to its open WAL file.
 * Threads: safe; the buffer is per open file (per connection). */
#ifndef P2PGRID_BASE_WALBUF_H
#define P2PGRID_BASE_WALBUF_H

/* The VFS's name for sqlite3_open_v2, registering it on the first call;
 * NULL (the default VFS) if it could not be registered. */
const char *pg_walbuf_vfs(void);

/* "pg-walbuf-process": the same over SQLite's "unix-excl" VFS, for a
 * database that this process alone uses while it runs (the simulator's
 * embedded node and entities). The first lock of a database file takes it
 * for the process (one fcntl, kept until the process's last connection to
 * it closes): another process's open gets "database is locked". The WAL
 * index lives in this process's memory (no -shm file), shared by every
 * connection of the process to that database, which lock among themselves
 * in memory: no file lock is taken or released per transaction (the
 * default VFS takes six per write transaction and two to four per read,
 * each a system call). WAL, its crash behaviour and this VFS's buffering
 * are as above. NULL if it could not be registered. */
const char *pg_walbuf_vfs_process(void);

#endif
