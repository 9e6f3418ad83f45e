/* backup.c — one-file backups of a data directory and their checked restore.
 * See p2pgrid/base/backup.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2 */
#endif
#include "p2pgrid/base/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "p2pgrid/base/db.h"
#include "p2pgrid/base/dirlock.h"

#define PATH_CAP 4096

static const char k_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE entries(name TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL);"
    "CREATE TABLE chunks(name TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(name, seq));";

/* What sqlite_schema must hold, exactly (type, name, sql; NULL sql for the
 * automatic indexes). */
static const struct {
  const char *type, *name, *sql;
} k_objects[] = {
    {"table", "meta", "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"},
    {"index", "sqlite_autoindex_meta_1", NULL},
    {"table", "entries",
     "CREATE TABLE entries(name TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,"
     " sha256 BLOB NOT NULL)"},
    {"index", "sqlite_autoindex_entries_1", NULL},
    {"table", "chunks",
     "CREATE TABLE chunks(name TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,"
     " PRIMARY KEY(name, seq))"},
    {"index", "sqlite_autoindex_chunks_1", NULL},
};
#define N_OBJECTS (sizeof k_objects / sizeof k_objects[0])

bool pg_backup_name_ok(const char *name) {
  size_t n = name ? strnlen(name, PG_BACKUP_NAME_MAX + 1) : 0;
  if (n == 0 || n > PG_BACKUP_NAME_MAX || name[0] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Not copied: the lock, the companions of a database, the restore marker
 * (a restore writes its own) and a backup server's files
 * (backup_serve.h). */
static bool skipped(const char *name) {
  return strcmp(name, "LOCK") == 0 || strcmp(name, PG_BACKUP_MARKER) == 0 ||
         strncmp(name, "BACKUP-", 7) == 0 || ends_with(name, "-wal") || ends_with(name, "-shm") ||
         ends_with(name, "-journal");
}

static int path_join(char *out, const char *dir, const char *name, pg_diag *d) {
  if ((size_t)snprintf(out, PATH_CAP, "%s/%s", dir, name) >= PATH_CAP)
    return pg_fail(d, PG_ERR_INVALID, "path too long: %s/%s", dir, name);
  return PG_OK;
}

static int64_t unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fsync_path(const char *path, pg_diag *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return pg_fail(d, PG_ERR_IO, "cannot sync %s: %s", path, strerror(e));
  }
  close(fd);
  return PG_OK;
}

/* ---- the entries of a data directory ---- */

typedef struct entry {
  char name[PG_BACKUP_NAME_MAX + 1];
  bool is_db;
  sqlite3 *src; /* a database's connection, in a read transaction */
} entry;

typedef struct entry_list {
  entry v[PG_BACKUP_MAX_ENTRIES];
  size_t n;
} entry_list;

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* With vfs (NULL: a plain read of the header): a database this process
 * holds with POSIX locks (pg_walbuf_vfs_process) must not be opened and
 * closed by a descriptor of ours, since closing any descriptor of a file
 * drops every lock the process has on it; SQLite keeps its own descriptor
 * of such a file open until the process's last connection to it closes. */
static int is_sqlite_file(const char *path, const char *vfs, off_t size, bool *yes, pg_diag *d) {
  if (vfs) {
    sqlite3 *db = NULL;
    *yes = size > 0 &&
           sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) == SQLITE_OK &&
           sqlite3_exec(db, "SELECT COUNT(*) FROM sqlite_schema", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return PG_OK;
  }
  static const char magic[16] = "SQLite format 3";
  char head[16] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  ssize_t r = read(fd, head, sizeof head);
  close(fd);
  *yes = r == (ssize_t)sizeof head && memcmp(head, magic, sizeof magic) == 0;
  return PG_OK;
}

static int list_dir(const char *dir, const char *vfs, entry_list *l, pg_diag *d) {
  DIR *dh = opendir(dir);
  if (!dh) return pg_fail(d, PG_ERR_IO, "cannot read data dir %s: %s", dir, strerror(errno));
  int rc = PG_OK;
  struct dirent *de;
  char path[PATH_CAP];
  l->n = 0;
  while (!rc && (de = readdir(dh))) {
    const char *nm = de->d_name;
    if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || skipped(nm)) continue;
    struct stat st;
    if ((rc = path_join(path, dir, nm, d))) break;
    if (lstat(path, &st) != 0) {
      if (errno == ENOENT) continue; /* gone meanwhile (a temporary file) */
      rc = pg_fail(d, PG_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      rc = pg_fail(d, PG_ERR_INVALID, "%s is not a regular file (a data dir holds files only)", path);
    } else if (!pg_backup_name_ok(nm)) {
      rc = pg_fail(d, PG_ERR_INVALID, "%s: a name a backup cannot hold (A-Z a-z 0-9 . _ -)", path);
    } else if (l->n == PG_BACKUP_MAX_ENTRIES) {
      rc = pg_fail(d, PG_ERR_TOO_LARGE, "data dir %s: more than %d files", dir,
                   PG_BACKUP_MAX_ENTRIES);
    } else {
      entry *e = &l->v[l->n];
      memset(e, 0, sizeof *e);
      memcpy(e->name, nm, strlen(nm) + 1); /* checked: at most PG_BACKUP_NAME_MAX */
      rc = is_sqlite_file(path, vfs, st.st_size, &e->is_db, d);
      if (!rc) l->n++;
    }
  }
  closedir(dh);
  if (!rc && l->n == 0) rc = pg_fail(d, PG_ERR_NOT_FOUND, "data dir %s holds no files", dir);
  if (!rc) qsort(l->v, l->n, sizeof l->v[0], cmp_entry);
  return rc;
}

static void close_sources(entry_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    if (!l->v[i].src) continue;
    sqlite3_exec(l->v[i].src, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(l->v[i].src);
    l->v[i].src = NULL;
  }
}

/* Opens every database and starts a read transaction on each, before any is
 * copied: the snapshots are taken together. */
static int open_sources(const char *dir, entry_list *l, const char *vfs, pg_diag *d) {
  char path[PATH_CAP];
  for (size_t i = 0; i < l->n; i++) {
    entry *e = &l->v[i];
    if (!e->is_db) continue;
    int rc = path_join(path, dir, e->name, d);
    if (rc) return rc;
    if (sqlite3_open_v2(path, &e->src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(e->src, 10000) != SQLITE_OK ||
        sqlite3_exec(e->src, "BEGIN; SELECT COUNT(*) FROM sqlite_schema", NULL, NULL, NULL) !=
            SQLITE_OK)
      return pg_db_fail(e->src, d, "cannot read database %s", path);
  }
  return PG_OK;
}

/* ---- writing a backup ---- */

typedef struct writer {
  sqlite3 *db;
  const char *out;
  sqlite3_stmt *chunk, *entry;
  uint8_t *buf;
  pg_backup_info info;
} writer;

/* Stores the bytes of the open file fd as entry name (chunks, size, hash). */
static int put_fd(writer *w, int fd, const char *name, const char *kind, uint64_t cap,
                  const char *path, pg_diag *d) {
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  uint64_t size = 0;
  int64_t seq = 0;
  for (;;) {
    size_t got = 0;
    while (got < PG_BACKUP_CHUNK) {
      ssize_t r = read(fd, w->buf + got, PG_BACKUP_CHUNK - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return pg_fail(d, PG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
      if (r == 0) break;
      got += (size_t)r;
    }
    if (got == 0) break;
    size += got;
    if (size > cap) return pg_fail(d, PG_ERR_TOO_LARGE, "%s: larger than %llu bytes", path,
                                   (unsigned long long)cap);
    crypto_hash_sha256_update(&h, w->buf, got);
    sqlite3_reset(w->chunk);
    sqlite3_bind_text(w->chunk, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(w->chunk, 2, seq++);
    sqlite3_bind_blob(w->chunk, 3, w->buf, (int)got, SQLITE_STATIC);
    if (sqlite3_step(w->chunk) != SQLITE_DONE) return pg_db_fail(w->db, d, "cannot write %s", w->out);
    if (got < PG_BACKUP_CHUNK) break;
  }
  uint8_t sum[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, sum);
  sqlite3_reset(w->entry);
  sqlite3_bind_text(w->entry, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(w->entry, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(w->entry, 3, (sqlite3_int64)size);
  sqlite3_bind_blob(w->entry, 4, sum, sizeof sum, SQLITE_TRANSIENT);
  if (sqlite3_step(w->entry) != SQLITE_DONE) return pg_db_fail(w->db, d, "cannot write %s", w->out);
  w->info.entries++;
  w->info.bytes += size;
  return PG_OK;
}

static int put_path(writer *w, const char *path, const char *name, const char *kind,
                    uint64_t cap, pg_diag *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  int rc = put_fd(w, fd, name, kind, cap, path, d);
  close(fd);
  return rc;
}

/* A database: its snapshot copied with the online backup API into a
 * temporary file beside the backup, then stored. */
static int put_db(writer *w, entry *e, pg_diag *d) {
  char tmp[PATH_CAP];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%s", w->out, e->name) >= sizeof tmp)
    return pg_fail(d, PG_ERR_INVALID, "path too long: %s", w->out);
  unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
  close(fd);
  sqlite3 *dst = NULL;
  int rc = PG_OK;
  if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_exec(dst, "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK) {
    rc = pg_db_fail(dst, d, "cannot open %s", tmp);
  } else {
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", e->src, "main");
    int s = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b) sqlite3_backup_finish(b);
    if (s != SQLITE_DONE) rc = pg_db_fail(dst, d, "cannot copy database %s", e->name);
  }
  if (dst && sqlite3_close(dst) != SQLITE_OK && !rc) rc = pg_db_fail(dst, d, "cannot close %s", tmp);
  if (!rc) rc = put_path(w, tmp, e->name, "sqlite", PG_BACKUP_SQLITE_MAX, d);
  if (!rc) w->info.databases++;
  unlink(tmp);
  return rc;
}

static int put_meta(writer *w, const char *key, const char *value, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(w->db, "INSERT INTO meta(key, value) VALUES (?1, ?2)", -1, &st, NULL) !=
      SQLITE_OK)
    return pg_db_fail(w->db, d, "cannot write %s", w->out);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  return s == SQLITE_DONE ? PG_OK : pg_db_fail(w->db, d, "cannot write %s", w->out);
}

static int write_all(writer *w, const char *dir, entry_list *l, pg_diag *d) {
  char path[PATH_CAP], num[32];
  int rc = PG_OK;
  if (sqlite3_exec(w->db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN", NULL, NULL,
                   NULL) != SQLITE_OK ||
      sqlite3_exec(w->db, k_schema, NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(w->db, "INSERT INTO chunks(name, seq, data) VALUES (?1, ?2, ?3)", -1,
                         &w->chunk, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(w->db, "INSERT INTO entries(name, kind, size, sha256) VALUES (?1,?2,?3,?4)",
                         -1, &w->entry, NULL) != SQLITE_OK)
    return pg_db_fail(w->db, d, "cannot write %s", w->out);
  for (size_t i = 0; !rc && i < l->n; i++) {
    if (l->v[i].is_db) {
      rc = put_db(w, &l->v[i], d);
    } else if (!(rc = path_join(path, dir, l->v[i].name, d))) {
      rc = put_path(w, path, l->v[i].name, "file", PG_BACKUP_FILE_MAX, d);
      if (rc == PG_ERR_IO && errno == ENOENT) rc = PG_OK; /* removed meanwhile */
    }
  }
  w->info.created_ms = unix_ms();
  snprintf(num, sizeof num, "%d", PG_BACKUP_VERSION);
  if (!rc) rc = put_meta(w, "format", PG_BACKUP_FORMAT, d);
  if (!rc) rc = put_meta(w, "version", num, d);
  snprintf(num, sizeof num, "%lld", (long long)w->info.created_ms);
  if (!rc) rc = put_meta(w, "created_ms", num, d);
  if (!rc) rc = put_meta(w, "source", dir, d);
  if (!rc && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = pg_db_fail(w->db, d, "cannot write %s", w->out);
  return rc;
}

int pg_backup_create(const char *data_dir, const char *out, pg_backup_info *info, pg_diag *d) {
  return pg_backup_create_with(data_dir, out, NULL, info, d);
}

/* Whether out would land in data_dir itself (its directory is data_dir)
 * under a name a backup copies: its rename could replace a live database,
 * and the next backup would copy it. A "BACKUP-" name (a daemon's own
 * backup server, backup_serve.h) is neither. */
static bool inside(const char *data_dir, const char *out) {
  char copy[PATH_CAP], a[PATH_MAX], b[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", out);
  const char *base = strrchr(out, '/');
  base = base ? base + 1 : out;
  if (skipped(base)) return false;
  return realpath(data_dir, a) && realpath(dirname(copy), b) && strcmp(a, b) == 0;
}

int pg_backup_create_with(const char *data_dir, const char *out, const char *vfs,
                          pg_backup_info *info, pg_diag *d) {
  if (!data_dir || !*data_dir || !out || !*out)
    return pg_fail(d, PG_ERR_INVALID, "backup: a data dir and an output file are needed");
  if (inside(data_dir, out))
    return pg_fail(d, PG_ERR_INVALID, "backup: %s is in the data dir %s it would copy: write it"
                   " elsewhere", out, data_dir);
  entry_list *l = calloc(1, sizeof *l);
  writer w = {.out = out};
  char tmp[PATH_CAP];
  if (!l || !(w.buf = malloc(PG_BACKUP_CHUNK))) {
    free(l);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  int rc = list_dir(data_dir, vfs, l, d);
  if (!rc && (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp)
    rc = pg_fail(d, PG_ERR_INVALID, "path too long: %s", out);
  if (!rc) rc = open_sources(data_dir, l, vfs, d);
  bool made = false;
  if (!rc) {
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) rc = pg_fail(d, PG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    else close(fd), made = true;
  }
  if (!rc && sqlite3_open_v2(tmp, &w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
                 SQLITE_OK)
    rc = pg_db_fail(w.db, d, "cannot open %s", tmp);
  if (!rc) rc = write_all(&w, data_dir, l, d);
  sqlite3_finalize(w.chunk);
  sqlite3_finalize(w.entry);
  if (w.db && sqlite3_close(w.db) != SQLITE_OK && !rc) rc = pg_db_fail(w.db, d, "cannot close %s", tmp);
  close_sources(l);
  if (!rc) rc = fsync_path(tmp, d);
  if (!rc && rename(tmp, out) != 0)
    rc = pg_fail(d, PG_ERR_IO, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
  if (!rc) {
    char dcopy[PATH_CAP];
    snprintf(dcopy, sizeof dcopy, "%s", out);
    rc = fsync_path(dirname(dcopy), d);
  }
  if (rc && made) unlink(tmp);
  if (!rc && info) *info = w.info;
  free(w.buf);
  free(l);
  return rc;
}

/* ---- reading a backup (hostile input) ---- */

typedef int (*sink_fn)(void *ctx, const char *name, const char *kind, const uint8_t *p, size_t n,
                       bool last, pg_diag *d);

static int bad(pg_diag *d, const char *file, const char *fmt, ...) PG_PRINTF(3, 4);
static int bad(pg_diag *d, const char *file, const char *fmt, ...) {
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap); /* a copy first: an argument may be d->msg */
  va_end(ap);
  return pg_fail(d, PG_ERR_INVALID, "backup %.200s: %s", file, what);
}

/* The schema, exactly; then meta. */
static int check_shape(sqlite3 *db, const char *file, pg_backup_info *info, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK)
    return bad(d, file, "not a p2pgrid backup (%s)", sqlite3_errmsg(db));
  size_t seen = 0;
  int s, rc = PG_OK;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    const char *n = (const char *)sqlite3_column_text(st, 1);
    const char *q = (const char *)sqlite3_column_text(st, 2);
    bool ok = false;
    for (size_t i = 0; i < N_OBJECTS && !ok; i++)
      ok = t && n && strcmp(t, k_objects[i].type) == 0 && strcmp(n, k_objects[i].name) == 0 &&
           (k_objects[i].sql ? q && strcmp(q, k_objects[i].sql) == 0 : !q);
    if (!ok) rc = bad(d, file, "unexpected schema object '%.64s'", n ? n : "?");
    seen++;
  }
  if (!rc && s != SQLITE_DONE) rc = bad(d, file, "unreadable (%s)", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  if (!rc && seen != N_OBJECTS) rc = bad(d, file, "not a p2pgrid backup (%s schema)", "incomplete");
  if (rc) return rc;
  if (sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key = 'format'),"
                             " (SELECT value FROM meta WHERE key = 'version'),"
                             " (SELECT value FROM meta WHERE key = 'created_ms')",
                         -1, &st, NULL) != SQLITE_OK)
    return bad(d, file, "unreadable meta (%s)", sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *f = (const char *)sqlite3_column_text(st, 0);
    const char *v = (const char *)sqlite3_column_text(st, 1);
    char want[16];
    snprintf(want, sizeof want, "%d", PG_BACKUP_VERSION);
    if (!f || strcmp(f, PG_BACKUP_FORMAT) != 0)
      rc = bad(d, file, "not a p2pgrid backup (format %.32s)", f ? f : "missing");
    else if (!v || strcmp(v, want) != 0)
      rc = bad(d, file, "version %.16s is not supported", v ? v : "missing");
    if (info) info->created_ms = sqlite3_column_int64(st, 2);
  } else {
    rc = bad(d, file, "unreadable meta (%s)", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

/* One entry's chunks: contiguous, within the cap, adding up to size, with
 * the stated hash; each chunk handed to sink (when set). */
static int check_chunks(sqlite3 *db, sqlite3_stmt *st, const char *file, const char *name,
                        const char *kind, int64_t size, const uint8_t *sum, sink_fn sink,
                        void *ctx, pg_diag *d) {
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int64_t want_seq = 0, have = 0;
  int s, rc = PG_OK;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(st, 0);
    const uint8_t *p = sqlite3_column_blob(st, 1);
    int n = sqlite3_column_bytes(st, 1);
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || seq != want_seq)
      rc = bad(d, file, "entry '%s': chunk %lld missing", name, (long long)want_seq);
    else if (sqlite3_column_type(st, 1) != SQLITE_BLOB || n <= 0 || n > PG_BACKUP_CHUNK)
      rc = bad(d, file, "entry '%s': chunk %lld has a bad size", name, (long long)seq);
    else if ((have += n) > size)
      rc = bad(d, file, "entry '%s': more bytes than its size %lld", name, (long long)size);
    else {
      crypto_hash_sha256_update(&h, p, (size_t)n);
      if (sink) rc = sink(ctx, name, kind, p, (size_t)n, false, d);
    }
    want_seq++;
  }
  if (!rc && s != SQLITE_DONE)
    rc = bad(d, file, "entry '%s': unreadable chunk %lld", name, (long long)want_seq);
  sqlite3_reset(st);
  if (rc) return rc;
  (void)db;
  if (have != size)
    return bad(d, file, "entry '%s': %lld bytes short of its size", name, (long long)(size - have));
  uint8_t got[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, got);
  if (sodium_memcmp(got, sum, sizeof got) != 0)
    return bad(d, file, "entry '%s': SHA-256 mismatch", name);
  return sink ? sink(ctx, name, kind, NULL, 0, true, d) : PG_OK;
}

/* One row of entries: a plain name, a known kind, a size within its cap. */
static int check_entry_row(sqlite3_stmt *st, const char *file, pg_diag *d) {
  const char *name = (const char *)sqlite3_column_text(st, 0);
  const char *kind = (const char *)sqlite3_column_text(st, 1);
  int64_t size = sqlite3_column_int64(st, 2);
  if (sqlite3_column_type(st, 0) != SQLITE_TEXT || !pg_backup_name_ok(name) || skipped(name))
    return bad(d, file, "entry name '%.80s' is not a plain file name", name ? name : "");
  bool db = kind && strcmp(kind, "sqlite") == 0;
  if (!db && !(kind && strcmp(kind, "file") == 0))
    return bad(d, file, "entry '%s': unknown kind", name);
  if (sqlite3_column_type(st, 2) != SQLITE_INTEGER || size < 0)
    return bad(d, file, "entry '%s': bad size %lld", name, (long long)size);
  if ((uint64_t)size > (db ? PG_BACKUP_SQLITE_MAX : PG_BACKUP_FILE_MAX))
    return pg_fail(d, PG_ERR_TOO_LARGE, "backup %s: entry '%s' of %lld bytes is over the cap", file,
                   name, (long long)size);
  if (sqlite3_column_type(st, 3) != SQLITE_BLOB ||
      sqlite3_column_bytes(st, 3) != crypto_hash_sha256_BYTES)
    return bad(d, file, "entry '%s': no SHA-256", name);
  return PG_OK;
}

static int walk(sqlite3 *db, const char *file, sink_fn sink, void *ctx, pg_backup_info *info,
                pg_diag *d) {
  int rc = check_shape(db, file, info, d);
  int64_t orphans = 0, n = 0;
  if (!rc) rc = pg_db_i64(db, "SELECT COUNT(*) FROM entries", 0, 0, &n, d);
  if (!rc && n > PG_BACKUP_MAX_ENTRIES)
    return pg_fail(d, PG_ERR_TOO_LARGE, "backup %s: %lld entries, more than %d", file, (long long)n,
                   PG_BACKUP_MAX_ENTRIES);
  if (!rc && n == 0) return bad(d, file, "no entries");
  if (!rc)
    rc = pg_db_i64(db, "SELECT COUNT(*) FROM chunks WHERE name NOT IN (SELECT name FROM entries)",
                   0, 0, &orphans, d);
  if (!rc && orphans) return bad(d, file, "%lld chunks belong to no entry", (long long)orphans);
  if (rc) return rc == PG_ERR_DB ? bad(d, file, "unreadable (%s)", d->msg) : rc;
  sqlite3_stmt *es = NULL, *cs = NULL;
  if (sqlite3_prepare_v2(db, "SELECT name, kind, size, sha256 FROM entries ORDER BY name", -1, &es,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT seq, data FROM chunks WHERE name = ?1 ORDER BY seq", -1, &cs,
                         NULL) != SQLITE_OK)
    rc = bad(d, file, "unreadable (%s)", sqlite3_errmsg(db));
  pg_backup_info got = {0};
  int s = SQLITE_DONE;
  while (!rc && (s = sqlite3_step(es)) == SQLITE_ROW) {
    rc = check_entry_row(es, file, d);
    if (rc) break;
    char name[PG_BACKUP_NAME_MAX + 1], kind[8];
    uint8_t sum[crypto_hash_sha256_BYTES];
    snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(es, 0));
    snprintf(kind, sizeof kind, "%s", (const char *)sqlite3_column_text(es, 1));
    memcpy(sum, sqlite3_column_blob(es, 3), sizeof sum);
    int64_t size = sqlite3_column_int64(es, 2);
    rc = check_chunks(db, cs, file, name, kind, size, sum, sink, ctx, d);
    got.entries++;
    got.databases += strcmp(kind, "sqlite") == 0;
    got.bytes += (uint64_t)size;
  }
  if (!rc && s != SQLITE_DONE) rc = bad(d, file, "unreadable entries (%s)", sqlite3_errmsg(db));
  sqlite3_finalize(es);
  sqlite3_finalize(cs);
  if (!rc && info) got.created_ms = info->created_ms, *info = got;
  return rc;
}

/* A connection that reads a hostile file: defensive, no trusted schema, a
 * length limit just above a chunk, then SQLite's own check. */
static int harden(sqlite3 *db, const char *file, pg_diag *d) {
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, PG_BACKUP_CHUNK + 4096);
  sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 100000);
  sqlite3_stmt *st = NULL;
  int rc = PG_OK;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    rc = bad(d, file, "not a readable SQLite file (%s)", sqlite3_errmsg(db));
  else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
    rc = bad(d, file, "damaged: %.120s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return rc;
}

static int open_backup(const char *file, sqlite3 **db, pg_diag *d) {
  struct stat st;
  if (stat(file, &st) != 0) return pg_fail(d, PG_ERR_IO, "cannot open %s: %s", file, strerror(errno));
  if (!S_ISREG(st.st_mode)) return pg_fail(d, PG_ERR_IO, "%s is not a regular file", file);
  if (sqlite3_open_v2(file, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    int rc = pg_db_fail(*db, d, "cannot open %s", file);
    sqlite3_close(*db);
    *db = NULL;
    return rc;
  }
  return harden(*db, file, d);
}

int pg_backup_check(const char *file, pg_backup_info *info, pg_diag *d) {
  sqlite3 *db = NULL;
  int rc = open_backup(file, &db, d);
  if (!rc) rc = walk(db, file, NULL, NULL, info, d);
  sqlite3_close(db);
  return rc;
}

int pg_backup_check_mem(const void *bytes, size_t len, pg_backup_info *info, pg_diag *d) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  unsigned char *copy = sqlite3_malloc64(len ? len : 1);
  int rc = PG_OK;
  if (!copy) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!rc) memcpy(copy, bytes, len);
  if (!rc && sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
                                 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) !=
                 SQLITE_OK)
    rc = bad(d, "(memory)", "not a readable SQLite file");
  if (!rc) rc = harden(db, "(memory)", d);
  if (!rc) rc = walk(db, "(memory)", NULL, NULL, info, d);
  sqlite3_close(db);
  return rc;
}

/* ---- restore ---- */

typedef struct restorer {
  const char *dir; /* the temporary directory written */
  int fd;
  char path[PATH_CAP];
} restorer;

static int write_sink(void *ctx, const char *name, const char *kind, const uint8_t *p, size_t n,
                      bool last, pg_diag *d) {
  restorer *r = ctx;
  (void)kind;
  if (r->fd < 0) {
    int rc = path_join(r->path, r->dir, name, d);
    if (rc) return rc;
    r->fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (r->fd < 0) return pg_fail(d, PG_ERR_IO, "cannot create %s: %s", r->path, strerror(errno));
  }
  while (n > 0) {
    ssize_t w = write(r->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return pg_fail(d, PG_ERR_IO, "cannot write %s: %s", r->path, strerror(errno));
    p += w, n -= (size_t)w;
  }
  if (!last) return PG_OK;
  int rc = fsync(r->fd) == 0
               ? PG_OK
               : pg_fail(d, PG_ERR_IO, "cannot sync %s: %s", r->path, strerror(errno));
  close(r->fd);
  r->fd = -1;
  return rc;
}

static int integrity(const char *path, pg_diag *d) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = PG_OK;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    rc = pg_db_fail(db, d, "cannot check restored database %s", path);
  else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
    rc = pg_fail(d, PG_ERR_INVALID, "restored database %s is damaged: %.120s", path,
                 (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

static int check_restored_dbs(sqlite3 *bk, const char *dir, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  char path[PATH_CAP];
  int rc = PG_OK;
  if (sqlite3_prepare_v2(bk, "SELECT name FROM entries WHERE kind = 'sqlite'", -1, &st, NULL) !=
      SQLITE_OK)
    return pg_db_fail(bk, d, "cannot read %s", "backup");
  while (!rc && sqlite3_step(st) == SQLITE_ROW) {
    rc = path_join(path, dir, (const char *)sqlite3_column_text(st, 0), d);
    if (!rc) rc = integrity(path, d);
  }
  sqlite3_finalize(st);
  return rc;
}

/* PG_BACKUP_MARKER: tells the daemon that starts on the directory that its
 * state is older than what it published (backup.h). */
static int write_marker(sqlite3 *bk, const char *dir, pg_diag *d) {
  char path[PATH_CAP], text[96];
  int64_t created = 0;
  int rc = pg_db_i64(bk, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'created_ms'", 0, 0,
                     &created, d);
  if (!rc) rc = path_join(path, dir, PG_BACKUP_MARKER, d);
  if (rc) return rc;
  int n = snprintf(text, sizeof text, "restored from a backup taken at %lld ms (Unix time)\n",
                   (long long)created);
  restorer r = {.dir = dir, .fd = -1};
  return write_sink(&r, PG_BACKUP_MARKER, "file", (const uint8_t *)text, (size_t)n, true, d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)f;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_tree(const char *dir) { (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Whether dir holds anything but LOCK. */
static int dir_empty(const char *dir, bool *empty, pg_diag *d) {
  DIR *dh = opendir(dir);
  if (!dh) return pg_fail(d, PG_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
  struct dirent *de;
  *empty = true;
  while ((de = readdir(dh)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "LOCK"))
      *empty = false;
  closedir(dh);
  return PG_OK;
}

/* The new directory beside data_dir: PARENT/.NAME.restore-XXXXXX. */
static int make_temp_dir(const char *data_dir, char *tmp, char *parent, pg_diag *d) {
  char a[PATH_CAP], b[PATH_CAP];
  snprintf(a, sizeof a, "%s", data_dir);
  snprintf(b, sizeof b, "%s", data_dir);
  const char *base = basename(a), *par = dirname(b);
  snprintf(parent, PATH_CAP, "%s", par);
  if ((size_t)snprintf(tmp, PATH_CAP, "%s/.%s.restore-XXXXXX", par, base) >= PATH_CAP)
    return pg_fail(d, PG_ERR_INVALID, "path too long: %s", data_dir);
  if (!mkdtemp(tmp))
    return pg_fail(d, PG_ERR_IO, "cannot create a directory beside %s: %s", data_dir,
                   strerror(errno));
  return PG_OK;
}

static int restore_into(sqlite3 *bk, const char *file, const char *data_dir, bool force,
                        pg_diag *d) {
  pg_dirlock *lock = NULL;
  int rc = pg_dirlock_take(data_dir, &lock, d);
  bool empty = true;
  if (!rc) rc = dir_empty(data_dir, &empty, d);
  if (!rc && !empty && !force)
    rc = pg_fail(d, PG_ERR_EXISTS, "data dir %s is not empty (--force replaces it)", data_dir);
  char tmp[PATH_CAP], parent[PATH_CAP];
  bool made = false;
  if (!rc) rc = make_temp_dir(data_dir, tmp, parent, d);
  made = !rc;
  restorer r = {.dir = tmp, .fd = -1};
  if (!rc) rc = walk(bk, file, write_sink, &r, NULL, d);
  if (r.fd >= 0) close(r.fd);
  if (!rc) rc = check_restored_dbs(bk, tmp, d);
  if (!rc) rc = write_marker(bk, tmp, d);
  if (!rc) rc = fsync_path(tmp, d);
  if (!rc && renameat2(AT_FDCWD, tmp, AT_FDCWD, data_dir, RENAME_EXCHANGE) != 0)
    rc = pg_fail(d, PG_ERR_IO, "cannot swap %s into %s: %s", tmp, data_dir, strerror(errno));
  if (!rc) rc = fsync_path(parent, d);
  if (made) rm_tree(tmp); /* the old content after the swap, else the half-written one */
  pg_dirlock_release(lock);
  return rc;
}

int pg_backup_restore(const char *file, const char *data_dir, bool force, pg_backup_info *info,
                      pg_diag *d) {
  if (!file || !*file || !data_dir || !*data_dir)
    return pg_fail(d, PG_ERR_INVALID, "restore: a backup file and a data dir are needed");
  sqlite3 *db = NULL;
  int rc = open_backup(file, &db, d);
  if (!rc) rc = walk(db, file, NULL, NULL, info, d); /* all checked before anything is written */
  if (!rc) rc = restore_into(db, file, data_dir, force, d);
  sqlite3_close(db);
  return rc;
}
