/* backup_serve.c — backups written by the daemon that holds the databases,
 * into its own data directory, when `p2pgrid backup` asks through files of
 * that directory; the asker moves the file where it wants. See
 * p2pgrid/base/backup_serve.h. */
#include "p2pgrid/base/backup_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/dirlock.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"

#define PATH_CAP 4096
#define SERVER_POLL_MS 250
#define ASK_POLL_MS 50
#define PROGRESS_MS 5000
#define SMALL_MAX 512 /* a request, a result's head, a marker: more is not one */
#define COPY_CHUNK (1024 * 1024)
#define REQUEST_HEAD "p2pgrid-backup-request 1\n"
#define RESULT_HEAD "p2pgrid-backup-result 1\n"
#define SERVER_HEAD "p2pgrid-backup-server 1\n"

struct pg_backup_server {
  char dir[PATH_CAP];
  char vfs[64];
  bool has_vfs;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
};

static int path_in(char out[PATH_CAP], const char *dir, const char *name, pg_diag *d) {
  if ((size_t)snprintf(out, PATH_CAP, "%s/%s", dir, name) >= PATH_CAP)
    return pg_fail(d, PG_ERR_INVALID, "path too long: %s/%s", dir, name);
  return PG_OK;
}

static bool exists_in(const char *dir, const char *name) {
  char p[PATH_CAP];
  struct stat st;
  return path_in(p, dir, name, NULL) == PG_OK && lstat(p, &st) == 0;
}

static void remove_in(const char *dir, const char *name) {
  char p[PATH_CAP];
  if (path_in(p, dir, name, NULL) == PG_OK) unlink(p);
}

/* dir/name, whole, replacing it (or, without replace, PG_ERR_EXISTS when it
 * is there); mode 0600. */
static int put_in(const char *dir, const char *name, const char *text, bool replace, pg_diag *d) {
  char p[PATH_CAP];
  int rc = path_in(p, dir, name, d);
  return rc ? rc : pg_write_file_atomic(p, text, strlen(text), true, replace, d);
}

/* dir/name's bytes (NUL-terminated, the caller frees), at most SMALL_MAX,
 * from a regular file only: a symlink or a FIFO put there is refused, not
 * followed or waited on. */
static int read_in(const char *dir, const char *name, uint8_t **out, size_t *n, pg_diag *d) {
  char p[PATH_CAP];
  int rc = path_in(p, dir, name, d);
  if (rc) return rc;
  int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "cannot open %s: %s", p, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    rc = pg_fail(d, PG_ERR_INVALID, "%s is not a regular file", p);
  if (!rc) rc = pg_read_fd_capped(fd, p, SMALL_MAX, out, n, d);
  close(fd);
  return rc;
}

static bool is_nonce(const char *p) {
  for (size_t i = 0; i < PG_BACKUP_NONCE_HEX; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return false;
  return true;
}

int pg_backup_request_parse(const void *bytes, size_t len, pg_backup_request *r, pg_diag *d) {
  const char *p = bytes;
  memset(r, 0, sizeof *r);
  size_t hl = sizeof REQUEST_HEAD - 1;
  if (len < hl || memcmp(p, REQUEST_HEAD, hl) != 0)
    return pg_fail(d, PG_ERR_INVALID, "backup request: not a p2pgrid-backup-request 1");
  p += hl, len -= hl;
  if (len != PG_BACKUP_NONCE_HEX + 1 || p[PG_BACKUP_NONCE_HEX] != '\n' || !is_nonce(p))
    return pg_fail(d, PG_ERR_INVALID, "backup request: the nonce line is not %d lowercase hex digits",
                   PG_BACKUP_NONCE_HEX);
  memcpy(r->nonce, p, PG_BACKUP_NONCE_HEX);
  return PG_OK;
}

/* ---- the server ---- */

static void answer(pg_backup_server *s, const char *nonce, int rc, const char *msg) {
  char text[sizeof RESULT_HEAD + PG_BACKUP_NONCE_HEX + sizeof ((pg_diag *)0)->msg + 32];
  int n = snprintf(text, sizeof text, RESULT_HEAD "%s\n%d\n", nonce, rc);
  for (const char *c = msg; *c && (size_t)n < sizeof text - 2; c++)
    text[n++] = *c == '\n' || *c == '\r' ? ' ' : *c;
  text[n++] = '\n';
  text[n] = '\0';
  pg_diag d = {{0}};
  if (put_in(s->dir, PG_BACKUP_RESULT_FILE, text, true, &d) != PG_OK)
    pg_log_warn("backup", "cannot answer a backup request: %s", d.msg);
}

/* Takes a request (renamed away from its asker first), reads, checks and
 * serves it. */
static void serve_one(pg_backup_server *s) {
  char req[PATH_CAP], taken[PATH_CAP], data[PATH_CAP];
  if (path_in(req, s->dir, PG_BACKUP_REQUEST_FILE, NULL) ||
      path_in(taken, s->dir, PG_BACKUP_REQUEST_FILE ".taken", NULL) ||
      path_in(data, s->dir, PG_BACKUP_DATA_FILE, NULL))
    return;
  if (rename(req, taken) != 0) return; /* none, or withdrawn */
  uint8_t *buf = NULL;
  size_t n = 0;
  pg_diag d = {{0}};
  pg_backup_request r;
  int rc = read_in(s->dir, PG_BACKUP_REQUEST_FILE ".taken", &buf, &n, &d);
  unlink(taken);
  if (!rc) rc = pg_backup_request_parse(buf, n, &r, &d);
  free(buf);
  if (rc) {
    pg_log_warn("backup", "a backup request in %s refused: %s", s->dir, d.msg);
    answer(s, "-", rc, d.msg);
    return;
  }
  pg_log_info("backup", "writing a backup of %s", s->dir);
  unlink(data); /* one an asker never took */
  pg_backup_info info = {0};
  rc = pg_backup_create_with(s->dir, data, s->has_vfs ? s->vfs : NULL, &info, &d);
  if (rc) {
    pg_log_warn("backup", "the backup of %s failed: %s", s->dir, d.msg);
    answer(s, r.nonce, rc, d.msg);
    return;
  }
  char msg[200];
  snprintf(msg, sizeof msg, "%zu files (%zu databases), %llu bytes", info.entries, info.databases,
           (unsigned long long)info.bytes);
  pg_log_info("backup", "backup of %s written: %s", s->dir, msg);
  answer(s, r.nonce, PG_OK, msg);
}

static void *server_main(void *arg) {
  pg_backup_server *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    pthread_mutex_unlock(&s->mu);
    serve_one(s);
    pthread_mutex_lock(&s->mu);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += SERVER_POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    if (!s->stop) pthread_cond_timedwait(&s->cv, &s->mu, &ts);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

int pg_backup_server_start(const char *data_dir, const char *vfs, pg_backup_server **out,
                           pg_diag *d) {
  *out = NULL;
  pg_backup_server *s = calloc(1, sizeof *s);
  if (!s) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if ((size_t)snprintf(s->dir, sizeof s->dir, "%s", data_dir) >= sizeof s->dir - 64 ||
      (vfs && (size_t)snprintf(s->vfs, sizeof s->vfs, "%s", vfs) >= sizeof s->vfs)) {
    free(s);
    return pg_fail(d, PG_ERR_INVALID, "backup server: path too long: %s", data_dir);
  }
  s->has_vfs = vfs != NULL;
  /* what a process that died left behind */
  remove_in(s->dir, PG_BACKUP_REQUEST_FILE ".taken");
  remove_in(s->dir, PG_BACKUP_RESULT_FILE);
  remove_in(s->dir, PG_BACKUP_DATA_FILE);
  remove_in(s->dir, PG_BACKUP_DATA_FILE ".tmp");
  char text[64];
  snprintf(text, sizeof text, SERVER_HEAD "pid %ld\n", (long)getpid());
  int rc = put_in(s->dir, PG_BACKUP_SERVER_FILE, text, true, d);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (!rc && pthread_create(&s->th, NULL, server_main, s) != 0) {
    remove_in(s->dir, PG_BACKUP_SERVER_FILE);
    rc = pg_fail(d, PG_ERR_NOMEM, "backup server: cannot start its thread");
  }
  if (rc) {
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return rc;
  }
  *out = s;
  return PG_OK;
}

void pg_backup_server_stop(pg_backup_server *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stop = true;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->th, NULL);
  remove_in(s->dir, PG_BACKUP_SERVER_FILE);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

/* ---- asking ---- */

/* The pid BACKUP-SERVER names (0 when it names none). */
static long server_pid(const char *dir) {
  uint8_t *buf = NULL;
  size_t n = 0;
  if (read_in(dir, PG_BACKUP_SERVER_FILE, &buf, &n, NULL)) return 0;
  const char *p = strstr((const char *)buf, "\npid ");
  long pid = p ? strtol(p + 5, NULL, 10) : 0;
  free(buf);
  return pid > 0 ? pid : 0;
}

/* Whether the daemon that took the request is still there: its marker,
 * and its process (a kill -9 leaves the marker). */
static bool server_alive(const char *dir, long pid) {
  if (!exists_in(dir, PG_BACKUP_SERVER_FILE)) return false;
  return pid == 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* Places the request. The caller holds BACKUP-LOCK, so a request already
 * there is one whose asker died before the daemon took it: replaced. */
static int place_request(const char *dir, const char *nonce, pg_diag *d) {
  char text[sizeof REQUEST_HEAD + PG_BACKUP_NONCE_HEX + 2];
  snprintf(text, sizeof text, REQUEST_HEAD "%s\n", nonce);
  remove_in(dir, PG_BACKUP_RESULT_FILE); /* an answer nobody read */
  int rc = put_in(dir, PG_BACKUP_REQUEST_FILE, text, false, d);
  if (rc == PG_ERR_EXISTS) {
    remove_in(dir, PG_BACKUP_REQUEST_FILE);
    rc = put_in(dir, PG_BACKUP_REQUEST_FILE, text, false, d);
  }
  return rc;
}

/* Waits until the server took the request; withdraws it after pickup_ms. */
static int await_pickup(const char *dir, unsigned pickup_ms, pg_diag *d) {
  char req[PATH_CAP], gone[PATH_CAP];
  int rc = path_in(req, dir, PG_BACKUP_REQUEST_FILE, d);
  if (!rc) rc = path_in(gone, dir, PG_BACKUP_REQUEST_FILE ".withdrawn", d);
  if (rc) return rc;
  uint64_t until = pg_monotonic_ms() + pickup_ms;
  while (exists_in(dir, PG_BACKUP_REQUEST_FILE)) {
    if (pg_monotonic_ms() >= until) {
      if (rename(req, gone) != 0) break; /* taken meanwhile */
      unlink(gone);
      return pg_fail(d, PG_ERR_NOT_FOUND, "no daemon took the backup request in %s within %u ms",
                     dir, pickup_ms);
    }
    pg_sleep_ms(ASK_POLL_MS);
  }
  return PG_OK;
}

/* The answer to nonce, once it is there (*have). */
static void read_result(const char *dir, const char *nonce, bool *have, int *code, char *msg,
                        size_t cap) {
  uint8_t *buf = NULL;
  size_t n = 0;
  if (read_in(dir, PG_BACKUP_RESULT_FILE, &buf, &n, NULL)) return; /* not yet */
  size_t hl = sizeof RESULT_HEAD - 1;
  char *p = (char *)buf + hl, *e1 = NULL, *e2 = NULL, *e3 = NULL;
  if (n > hl && memcmp(buf, RESULT_HEAD, hl) == 0 && (e1 = strchr(p, '\n')) &&
      (e2 = strchr(e1 + 1, '\n')) && (e3 = strchr(e2 + 1, '\n'))) {
    *e1 = *e2 = *e3 = '\0';
    if (strcmp(p, nonce) == 0 || strcmp(p, "-") == 0) {
      remove_in(dir, PG_BACKUP_RESULT_FILE);
      *have = true;
      *code = atoi(e1 + 1);
      if (*code > 0 || *code < -1000) *code = PG_ERR_INVALID;
      snprintf(msg, cap, "%s", e2 + 1);
    }
  }
  free(buf);
}

/* Waits for the server's answer; *code and msg are it. */
static int await_result(const char *dir, const char *nonce, long pid, pg_backup_progress_fn progress,
                        void *ctx, int *code, char *msg, size_t cap, pg_diag *d) {
  char tmp[PATH_CAP];
  int rc = path_in(tmp, dir, PG_BACKUP_DATA_FILE ".tmp", d);
  uint64_t next = pg_monotonic_ms() + PROGRESS_MS;
  bool have = false;
  while (!rc) {
    read_result(dir, nonce, &have, code, msg, cap);
    if (have) return PG_OK;
    if (!server_alive(dir, pid)) {
      read_result(dir, nonce, &have, code, msg, cap); /* it may have just answered */
      return have ? PG_OK
                  : pg_fail(d, PG_ERR_UNAVAILABLE,
                            "the daemon of %s stopped before it wrote the backup", dir);
    }
    if (progress && pg_monotonic_ms() >= next) {
      struct stat st;
      progress(ctx, stat(tmp, &st) == 0 ? (uint64_t)st.st_size : 0);
      next = pg_monotonic_ms() + PROGRESS_MS;
    }
    pg_sleep_ms(ASK_POLL_MS * 2);
  }
  return rc;
}

/* Copies src (not a symlink) to the new file dst (mode 0600, synced). */
static int copy_file(const char *src, const char *dst, pg_diag *d) {
  int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = PG_OK;
  char *buf = malloc(COPY_CHUNK);
  if (in < 0) rc = pg_fail(d, PG_ERR_IO, "cannot open %s: %s", src, strerror(errno));
  else if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
    rc = pg_fail(d, PG_ERR_IO, "cannot create %s: %s", dst, strerror(errno));
  else if (!buf) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (ssize_t r; !rc && (r = read(in, buf, COPY_CHUNK)) != 0;) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || write(out, buf, (size_t)r) != r)
      rc = pg_fail(d, PG_ERR_IO, "cannot copy %s to %s: %s", src, dst, strerror(errno));
  }
  if (!rc && fsync(out) != 0) rc = pg_fail(d, PG_ERR_IO, "cannot sync %s: %s", dst, strerror(errno));
  if (out >= 0 && close(out) != 0 && !rc)
    rc = pg_fail(d, PG_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
  if (in >= 0) close(in);
  free(buf);
  return rc;
}

/* Moves the server's BACKUP-DATA (a regular file) to out.part (renamed,
 * or copied across file systems), checks it whole, then renames it to
 * out: out is the old file or a checked backup. */
static int take_data(const char *dir, const char *out, pg_backup_info *info, pg_diag *d) {
  char data[PATH_CAP], part[PATH_CAP + 8];
  struct stat st;
  int rc = path_in(data, dir, PG_BACKUP_DATA_FILE, d);
  if (rc) return rc;
  if (lstat(data, &st) != 0 || !S_ISREG(st.st_mode))
    return pg_fail(d, PG_ERR_INVALID, "%s is missing or not a regular file", data);
  if ((size_t)snprintf(part, sizeof part, "%s.part", out) >= sizeof part)
    return pg_fail(d, PG_ERR_INVALID, "path too long: %s", out);
  unlink(part);
  if (rename(data, part) != 0) {
    if (errno != EXDEV) return pg_fail(d, PG_ERR_IO, "cannot move %s to %s: %s", data, part, strerror(errno));
    rc = copy_file(data, part, d);
    unlink(data);
    if (rc) return rc;
  }
  rc = pg_backup_check(part, info, d);
  if (!rc && rename(part, out) != 0)
    rc = pg_fail(d, PG_ERR_IO, "cannot rename %s to %s: %s", part, out, strerror(errno));
  if (rc) unlink(part);
  return rc;
}

int pg_backup_ask(const char *data_dir, const char *out, unsigned pickup_ms,
                  pg_backup_progress_fn progress, void *ctx, pg_backup_info *info, pg_diag *d) {
  if (!data_dir || !*data_dir || !out || !*out)
    return pg_fail(d, PG_ERR_INVALID, "backup: a data dir and an output file are needed");
  if (!exists_in(data_dir, PG_BACKUP_SERVER_FILE))
    return pg_fail(d, PG_ERR_NOT_FOUND, "%s has no backup server", data_dir);
  char nonce[PG_BACKUP_NONCE_HEX + 1], msg[sizeof d->msg];
  uint8_t raw[PG_BACKUP_NONCE_HEX / 2];
  randombytes_buf(raw, sizeof raw);
  pg_hex_encode(raw, sizeof raw, nonce);
  /* one asker at a time, from its request until it has taken the data */
  char lpath[PATH_CAP];
  pg_dirlock *lock = NULL;
  int rc = path_in(lpath, data_dir, PG_BACKUP_LOCK_FILE, d);
  if (!rc && (rc = pg_lock_file_take(lpath, false, &lock, d)) == PG_ERR_UNAVAILABLE)
    return pg_fail(d, PG_ERR_UNAVAILABLE, "a backup of %s is under way (%s)", data_dir, d->msg);
  long pid = server_pid(data_dir);
  int code = PG_OK;
  if (!rc) rc = place_request(data_dir, nonce, d);
  if (!rc) rc = await_pickup(data_dir, pickup_ms, d);
  if (!rc) rc = await_result(data_dir, nonce, pid, progress, ctx, &code, msg, sizeof msg, d);
  if (!rc && code != PG_OK) rc = pg_fail(d, code, "%s", msg);
  if (!rc) rc = take_data(data_dir, out, info, d);
  pg_dirlock_release(lock);
  return rc;
}
