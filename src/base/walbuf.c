/* walbuf.c — an SQLite VFS that writes each WAL commit in one system call.
 * See p2pgrid/base/walbuf.h.
 *
 * SQLite appends a commit to the WAL as frames, each a 24-byte header and a
 * page, every one its own write(): about 20 pwrite() calls for one Tangle
 * message, 6 to 10 for an entity's transaction, which cost several times
 * the bytes they carry. This VFS wraps the default
 * one and, for WAL files only, gathers contiguous writes in a buffer that it
 * writes out with one pwrite():
 * - when the page after a commit frame's header is written (a header whose
 *   "database size after commit" field is not 0), inside that same xWrite,
 *   so a failure is returned to SQLite exactly as before and the frames are
 *   in the file before SQLite syncs (synchronous=FULL) and before it
 *   publishes the commit in the wal-index;
 * - before any other operation on the file (read, sync, size, truncate,
 *   close, file control, shared-memory calls), a write that is not
 *   contiguous, and when the buffer would pass WB_MAX bytes.
 * Only appends are buffered (a write at or past the end of what this
 * generation of the WAL holds; a write at offset 0 starts a generation).
 * Anything SQLite writes over existing bytes — a page rewritten in place
 * within a transaction, frame headers whose checksums it rewrites after the
 * commit frame — goes to the file at once, after what was buffered.
 * So every byte a reader or a recovery can see is written in the same order
 * as without the buffer; a crash (kill -9) before the flush loses only a
 * commit that had not returned yet. Other files (database, journals) are the
 * default VFS's own objects, untouched. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/walbuf.h"

#define WB_NAME "pg-walbuf"
#define WB_PROCESS_NAME "pg-walbuf-process" /* over SQLite's "unix-excl" */
/* Flush before this many bytes are waiting: the unix VFS writes at most
 * 128 KiB - 1 per pwrite() (it masks the length with 0x1ffff), so one
 * xWrite of the whole buffer must stay below 128 KiB. */
#define WB_MAX (120u << 10)
#define WB_FRAME_HDR 24
#define WB_WAL_HDR 32

typedef struct wb_file {
  sqlite3_file base; /* pMethods = &wb_methods */
  sqlite3_file *real;
  unsigned char *buf;
  size_t len, cap;
  sqlite3_int64 off; /* file offset of buf[0] */
  sqlite3_int64 end; /* end of the furthest write of this WAL generation */
  bool commit_next;  /* the last write was a commit frame's header */
} wb_file;

static sqlite3_vfs wb_vfs, wb_process_vfs;
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;
static int wb_status = SQLITE_ERROR, wb_process_status = SQLITE_ERROR;

#define REAL(f) (((wb_file *)(f))->real)
#define RM(f) (REAL(f)->pMethods)

static int wb_flush(wb_file *w) {
  if (w->len == 0) return SQLITE_OK;
  int rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
  w->len = 0;
  w->commit_next = false;
  return rc;
}

/* For the methods that cannot report an error: the buffer is empty there
 * in practice (a commit flushes itself); say so if it was not. */
static void wb_flush_void(wb_file *w) {
  int rc = wb_flush(w);
  if (rc != SQLITE_OK) pg_log_error("db", "WAL write failed (SQLite code %d)", rc);
}

static int wb_close(sqlite3_file *f) {
  wb_file *w = (wb_file *)f;
  int rc = wb_flush(w);
  int rc2 = RM(f)->xClose(REAL(f));
  free(w->buf);
  w->buf = NULL;
  w->cap = 0;
  return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xRead(REAL(f), p, n, off);
}

static bool is_commit_header(const void *p, int n, sqlite3_int64 off) {
  const unsigned char *h = p;
  return n == WB_FRAME_HDR && off >= WB_WAL_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int wb_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  wb_file *w = (wb_file *)f;
  int rc;
  /* This write is the commit frame's page: it goes out before returning,
   * also when the buffer had to be flushed to make room for it (that flush
   * clears commit_next; SQLite publishes the commit once this returns). */
  bool commit_page = w->commit_next;
  if (off == 0) w->end = 0; /* the WAL header: a new generation */
  bool append = off >= w->end;
  if (w->len && (!append || off != w->off + (sqlite3_int64)w->len ||
                 w->len + (size_t)n > WB_MAX) &&
      (rc = wb_flush(w)) != SQLITE_OK)
    return rc;
  if (off + n > w->end) w->end = off + n;
  if (!append || (size_t)n > WB_MAX) return RM(f)->xWrite(REAL(f), p, n, off);
  if (w->len + (size_t)n > w->cap) {
    size_t cap = w->cap ? w->cap : 32u << 10;
    while (cap < w->len + (size_t)n) cap *= 2;
    unsigned char *nb = realloc(w->buf, cap);
    if (!nb) { /* write through: slower, never wrong */
      if ((rc = wb_flush(w)) != SQLITE_OK) return rc;
      return RM(f)->xWrite(REAL(f), p, n, off);
    }
    w->buf = nb;
    w->cap = cap;
  }
  if (w->len == 0) w->off = off;
  memcpy(w->buf + w->len, p, (size_t)n);
  w->len += (size_t)n;
  if (is_commit_header(p, n, off)) {
    w->commit_next = true;
    return SQLITE_OK;
  }
  return commit_page ? wb_flush(w) : SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size) {
  wb_file *w = (wb_file *)f;
  int rc = wb_flush(w);
  if (size < w->end) w->end = size;
  return rc != SQLITE_OK ? rc : RM(f)->xTruncate(REAL(f), size);
}

#ifdef PG_FAULT_INJECTION
/* Test builds: P2PGRID_WAL_SYNC_STALL_MS makes every WAL sync sleep that
 * long first (a slow disk, a starved checkpoint thread: SQLite holds its
 * checkpoint lock across the WAL sync of a checkpoint). */
static void sync_stall(void) {
  const char *e = getenv("P2PGRID_WAL_SYNC_STALL_MS");
  long ms = e ? strtol(e, NULL, 10) : 0;
  if (ms > 0 && ms <= 10000) pg_sleep_ms((uint64_t)ms);
}
#endif

static int wb_sync(sqlite3_file *f, int flags) {
#ifdef PG_FAULT_INJECTION
  sync_stall();
#endif
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xSync(REAL(f), flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size) {
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xFileSize(REAL(f), size);
}

static int wb_lock(sqlite3_file *f, int level) { return RM(f)->xLock(REAL(f), level); }
static int wb_unlock(sqlite3_file *f, int level) { return RM(f)->xUnlock(REAL(f), level); }
static int wb_check_reserved(sqlite3_file *f, int *out) {
  return RM(f)->xCheckReservedLock(REAL(f), out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg) {
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xFileControl(REAL(f), op, arg);
}

static int wb_sector_size(sqlite3_file *f) { return RM(f)->xSectorSize(REAL(f)); }
static int wb_device_chars(sqlite3_file *f) { return RM(f)->xDeviceCharacteristics(REAL(f)); }

static int wb_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xShmMap(REAL(f), pg, sz, extend, pp);
}

static int wb_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xShmLock(REAL(f), offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *f) {
  wb_flush_void((wb_file *)f);
  RM(f)->xShmBarrier(REAL(f));
}

static int wb_shm_unmap(sqlite3_file *f, int del) {
  wb_flush_void((wb_file *)f);
  return RM(f)->xShmUnmap(REAL(f), del);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  int rc = wb_flush((wb_file *)f);
  return rc != SQLITE_OK ? rc : RM(f)->xFetch(REAL(f), off, n, pp);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return RM(f)->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods wb_methods = {
    3,           wb_close,        wb_read,          wb_write,          wb_truncate,
    wb_sync,     wb_file_size,    wb_lock,          wb_unlock,         wb_check_reserved,
    wb_file_control, wb_sector_size, wb_device_chars, wb_shm_map,      wb_shm_lock,
    wb_shm_barrier, wb_shm_unmap, wb_fetch,         wb_unfetch,
};

/* The VFS a wrapper stands on: pAppData of ours. */
#define UNDER(v) ((sqlite3_vfs *)(v)->pAppData)

/* A WAL file is wrapped; anything else is the underlying VFS's own object,
 * opened in place (szOsFile covers both) through that VFS, under its own
 * name: "unix-excl" marks a database file for process-wide locking. */
static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out) {
  sqlite3_vfs *real = UNDER(vfs);
  if (!(flags & SQLITE_OPEN_WAL)) return real->xOpen(real, name, f, flags, out);
  wb_file *w = (wb_file *)f;
  memset(w, 0, sizeof *w);
  w->real = (sqlite3_file *)(w + 1);
  int rc = real->xOpen(real, name, w->real, flags, out);
  /* pMethods NULL tells SQLite not to call xClose on a failed open */
  w->base.pMethods = rc == SQLITE_OK && w->real->pMethods ? &wb_methods : NULL;
  return rc;
}

static int wb_delete(sqlite3_vfs *v, const char *name, int sync) {
  return UNDER(v)->xDelete(UNDER(v), name, sync);
}
static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
  return UNDER(v)->xAccess(UNDER(v), name, flags, out);
}
static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
  return UNDER(v)->xFullPathname(UNDER(v), name, n, out);
}
static void *wb_dlopen(sqlite3_vfs *v, const char *name) {
  return UNDER(v)->xDlOpen(UNDER(v), name);
}
static void wb_dlerror(sqlite3_vfs *v, int n, char *msg) { UNDER(v)->xDlError(UNDER(v), n, msg); }
static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
  return UNDER(v)->xDlSym(UNDER(v), h, sym);
}
static void wb_dlclose(sqlite3_vfs *v, void *h) { UNDER(v)->xDlClose(UNDER(v), h); }
static int wb_randomness(sqlite3_vfs *v, int n, char *out) {
  return UNDER(v)->xRandomness(UNDER(v), n, out);
}
static int wb_sleep(sqlite3_vfs *v, int us) { return UNDER(v)->xSleep(UNDER(v), us); }
static int wb_current_time(sqlite3_vfs *v, double *out) {
  return UNDER(v)->xCurrentTime(UNDER(v), out);
}
static int wb_last_error(sqlite3_vfs *v, int n, char *out) {
  return UNDER(v)->xGetLastError ? UNDER(v)->xGetLastError(UNDER(v), n, out) : 0;
}
static int wb_current_time64(sqlite3_vfs *v, sqlite3_int64 *out) {
  sqlite3_vfs *real = UNDER(v);
  if (real->iVersion >= 2 && real->xCurrentTimeInt64) return real->xCurrentTimeInt64(real, out);
  double d = 0;
  int rc = real->xCurrentTime(real, &d);
  *out = (sqlite3_int64)(d * 86400000.0);
  return rc;
}

/* Registers name over the VFS called under (NULL: the default); SQLITE_OK
 * or SQLite's error (SQLITE_ERROR when there is no such VFS). */
static int wb_register_one(sqlite3_vfs *out, const char *name, const char *under) {
  sqlite3_vfs *real = sqlite3_vfs_find(under);
  if (!real) return SQLITE_ERROR;
  int sz = (int)sizeof(wb_file) + real->szOsFile;
  *out = (sqlite3_vfs){
      .iVersion = 2,
      .szOsFile = sz > real->szOsFile ? sz : real->szOsFile,
      .mxPathname = real->mxPathname,
      .zName = name,
      .pAppData = real,
      .xOpen = wb_open,
      .xDelete = wb_delete,
      .xAccess = wb_access,
      .xFullPathname = wb_full_pathname,
      .xDlOpen = wb_dlopen,
      .xDlError = wb_dlerror,
      .xDlSym = wb_dlsym,
      .xDlClose = wb_dlclose,
      .xRandomness = wb_randomness,
      .xSleep = wb_sleep,
      .xCurrentTime = wb_current_time,
      .xGetLastError = wb_last_error,
      .xCurrentTimeInt64 = wb_current_time64,
  };
  return sqlite3_vfs_register(out, 0);
}

static void wb_register(void) {
  pg_db_setup(); /* before sqlite3_vfs_find starts SQLite */
  wb_status = wb_register_one(&wb_vfs, WB_NAME, NULL);
  wb_process_status = wb_register_one(&wb_process_vfs, WB_PROCESS_NAME, "unix-excl");
}

const char *pg_walbuf_vfs(void) {
  pthread_once(&wb_once, wb_register);
  return wb_status == SQLITE_OK ? WB_NAME : NULL;
}

const char *pg_walbuf_vfs_process(void) {
  pthread_once(&wb_once, wb_register);
  return wb_process_status == SQLITE_OK ? WB_PROCESS_NAME : NULL;
}
