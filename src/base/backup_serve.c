/* backup_serve.c — backups written by the daemon that holds the databases,
 * when `p2pgrid backup` asks through files of the data directory. See
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

#include "p2pgrid/base/log.h"

#define PATH_CAP 4096
#define SERVER_POLL_MS 250
#define ASK_POLL_MS 50
#define PROGRESS_MS 5000
#define REQUEST_MAX 8192 /* more is not a request */
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

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Writes text to dir/name through dir/name.tmp.<pid> and a rename (or,
 * with exclusive, a link that fails with PG_ERR_EXISTS when name is there). */
static int put_file(const char *dir, const char *name, const char *text, bool exclusive,
                    pg_diag *d) {
  char path[PATH_CAP], tmp[PATH_CAP + 32];
  int rc = path_in(path, dir, name, d);
  if (rc) return rc;
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
  int e = errno;
  close(fd);
  if (!ok) rc = pg_fail(d, PG_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
  else if (exclusive && link(tmp, path) != 0)
    rc = errno == EEXIST ? PG_ERR_EXISTS : pg_fail(d, PG_ERR_IO, "cannot link %s: %s", path, strerror(errno));
  else if (!exclusive && rename(tmp, path) != 0)
    rc = pg_fail(d, PG_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
  unlink(tmp); /* after a link or a failure; gone after a rename */
  return rc;
}

/* Reads at most cap - 1 bytes of path (NUL-terminated); *n its length. */
static int read_small(const char *path, char *buf, size_t cap, size_t *n, pg_diag *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? PG_ERR_NOT_FOUND : pg_fail(d, PG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, cap - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
    if (got == cap - 1) break;
  }
  close(fd);
  buf[got] = '\0';
  *n = got;
  return PG_OK;
}

/* ---- the request ---- */

static bool path_char_ok(unsigned char c) { return c >= 0x20 && c != 0x7f; }

int pg_backup_request_parse(const void *bytes, size_t len, pg_backup_request *r, pg_diag *d) {
  const char *p = bytes;
  memset(r, 0, sizeof *r);
  size_t hl = sizeof REQUEST_HEAD - 1;
  if (len < hl || memcmp(p, REQUEST_HEAD, hl) != 0)
    return pg_fail(d, PG_ERR_INVALID, "backup request: not a p2pgrid-backup-request 1");
  p += hl, len -= hl;
  const char *nl = memchr(p, '\n', len);
  if (!nl) return pg_fail(d, PG_ERR_INVALID, "backup request: no output path line");
  size_t pl = (size_t)(nl - p);
  if (pl == 0 || p[0] != '/') return pg_fail(d, PG_ERR_INVALID, "backup request: the output path is not absolute");
  if (pl > PG_BACKUP_PATH_MAX)
    return pg_fail(d, PG_ERR_INVALID, "backup request: the output path is over %d bytes", PG_BACKUP_PATH_MAX);
  for (size_t i = 0; i < pl; i++)
    if (!path_char_ok((unsigned char)p[i]))
      return pg_fail(d, PG_ERR_INVALID, "backup request: a control character in the output path");
  if (p[pl - 1] == '/') return pg_fail(d, PG_ERR_INVALID, "backup request: the output path names a directory");
  memcpy(r->out, p, pl);
  p = nl + 1, len -= pl + 1;
  if (len != PG_BACKUP_NONCE_HEX + 1 || p[PG_BACKUP_NONCE_HEX] != '\n')
    return pg_fail(d, PG_ERR_INVALID, "backup request: the nonce line is not %d hex digits", PG_BACKUP_NONCE_HEX);
  for (size_t i = 0; i < PG_BACKUP_NONCE_HEX; i++) {
    char c = p[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return pg_fail(d, PG_ERR_INVALID, "backup request: the nonce is not lowercase hex");
  }
  memcpy(r->nonce, p, PG_BACKUP_NONCE_HEX);
  return PG_OK;
}

/* ---- the server ---- */

static void answer(pg_backup_server *s, const char *nonce, int rc, const char *msg) {
  char text[PATH_CAP + 512];
  char clean[PATH_CAP];
  snprintf(clean, sizeof clean, "%s", msg);
  for (char *c = clean; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  snprintf(text, sizeof text, RESULT_HEAD "%s\n%d\n%s\n", nonce, rc, clean);
  pg_diag d = {{0}};
  if (put_file(s->dir, PG_BACKUP_RESULT_FILE, text, false, &d) != PG_OK)
    pg_log_warn("backup", "cannot answer a backup request: %s", d.msg);
}

/* Takes a request (renamed away from its asker first), reads, checks and
 * serves it. */
static void serve_one(pg_backup_server *s) {
  char req[PATH_CAP], taken[PATH_CAP];
  if (path_in(req, s->dir, PG_BACKUP_REQUEST_FILE, NULL) ||
      path_in(taken, s->dir, PG_BACKUP_REQUEST_FILE ".taken", NULL))
    return;
  if (rename(req, taken) != 0) return; /* none, or withdrawn */
  char *buf = malloc(REQUEST_MAX);
  size_t n = 0;
  pg_diag d = {{0}};
  pg_backup_request r;
  int rc = buf ? read_small(taken, buf, REQUEST_MAX, &n, &d) : pg_fail(&d, PG_ERR_NOMEM, "out of memory");
  unlink(taken);
  if (!rc && n == REQUEST_MAX - 1) rc = pg_fail(&d, PG_ERR_INVALID, "backup request: over %d bytes", REQUEST_MAX - 2);
  if (!rc) rc = pg_backup_request_parse(buf, n, &r, &d);
  free(buf);
  if (rc) {
    pg_log_warn("backup", "a backup request in %s refused: %s", s->dir, d.msg);
    answer(s, "-", rc, d.msg);
    return;
  }
  pg_log_info("backup", "writing a backup of %s to %s", s->dir, r.out);
  pg_backup_info info = {0};
  rc = pg_backup_create_with(s->dir, r.out, s->has_vfs ? s->vfs : NULL, &info, &d);
  if (rc) {
    pg_log_warn("backup", "the backup of %s to %s failed: %s", s->dir, r.out, d.msg);
    answer(s, r.nonce, rc, d.msg);
    return;
  }
  char msg[200];
  snprintf(msg, sizeof msg, "%zu files (%zu databases), %llu bytes", info.entries, info.databases,
           (unsigned long long)info.bytes);
  pg_log_info("backup", "backup of %s written to %s: %s", s->dir, r.out, msg);
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

static void remove_in(const char *dir, const char *name) {
  char p[PATH_CAP];
  if (path_in(p, dir, name, NULL) == PG_OK) unlink(p);
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
  char text[64];
  snprintf(text, sizeof text, SERVER_HEAD "pid %ld\n", (long)getpid());
  int rc = put_file(s->dir, PG_BACKUP_SERVER_FILE, text, false, d);
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

static bool exists_in(const char *dir, const char *name) {
  char p[PATH_CAP];
  struct stat st;
  return path_in(p, dir, name, NULL) == PG_OK && lstat(p, &st) == 0;
}

/* The pid BACKUP-SERVER names (0 when it names none). */
static long server_pid(const char *dir) {
  char path[PATH_CAP], buf[128];
  size_t n = 0;
  if (path_in(path, dir, PG_BACKUP_SERVER_FILE, NULL) || read_small(path, buf, sizeof buf, &n, NULL))
    return 0;
  const char *p = strstr(buf, "\npid ");
  long pid = p ? strtol(p + 5, NULL, 10) : 0;
  return pid > 0 ? pid : 0;
}

/* Whether the daemon that took the request is still there: its marker,
 * and its process (a kill -9 leaves the marker). */
static bool server_alive(const char *dir, long pid) {
  if (!exists_in(dir, PG_BACKUP_SERVER_FILE)) return false;
  return pid == 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

static int absolute(const char *out, char abs[PATH_CAP], pg_diag *d) {
  if (out[0] == '/') {
    if (strlen(out) >= PATH_CAP) return pg_fail(d, PG_ERR_INVALID, "path too long: %s", out);
    strcpy(abs, out);
    return PG_OK;
  }
  char cwd[PATH_CAP];
  if (!getcwd(cwd, sizeof cwd)) return pg_fail(d, PG_ERR_IO, "cannot read the working directory: %s", strerror(errno));
  if ((size_t)snprintf(abs, PATH_CAP, "%s/%s", cwd, out) >= PATH_CAP)
    return pg_fail(d, PG_ERR_INVALID, "path too long: %s/%s", cwd, out);
  return PG_OK;
}

/* Places the request (PG_ERR_UNAVAILABLE when another one waits). */
static int place_request(const char *dir, const char *abs, const char *nonce, pg_diag *d) {
  char text[PATH_CAP + 128];
  snprintf(text, sizeof text, REQUEST_HEAD "%s\n%s\n", abs, nonce);
  pg_backup_request check;
  int rc = pg_backup_request_parse(text, strlen(text), &check, d); /* what the server will read */
  if (rc) return rc;
  remove_in(dir, PG_BACKUP_RESULT_FILE); /* an answer nobody read */
  rc = put_file(dir, PG_BACKUP_REQUEST_FILE, text, true, d);
  if (rc == PG_ERR_EXISTS)
    return pg_fail(d, PG_ERR_UNAVAILABLE, "a backup of %s is under way (%s/%s is there)", dir, dir,
                   PG_BACKUP_REQUEST_FILE);
  return rc;
}

/* Waits until the server took the request; withdraws it after pickup_ms. */
static int await_pickup(const char *dir, unsigned pickup_ms, pg_diag *d) {
  char req[PATH_CAP], gone[PATH_CAP];
  int rc = path_in(req, dir, PG_BACKUP_REQUEST_FILE, d);
  if (!rc) rc = path_in(gone, dir, PG_BACKUP_REQUEST_FILE ".withdrawn", d);
  if (rc) return rc;
  uint64_t until = mono_ms() + pickup_ms;
  while (exists_in(dir, PG_BACKUP_REQUEST_FILE)) {
    if (mono_ms() >= until) {
      if (rename(req, gone) != 0) break; /* taken meanwhile */
      unlink(gone);
      return pg_fail(d, PG_ERR_NOT_FOUND, "no daemon took the backup request in %s within %u ms",
                     dir, pickup_ms);
    }
    sleep_ms(ASK_POLL_MS);
  }
  return PG_OK;
}

static int read_result(const char *dir, const char *nonce, bool *have, int *code, char *msg,
                       size_t cap, pg_diag *d) {
  char path[PATH_CAP], buf[PATH_CAP + 512];
  size_t n = 0;
  int rc = path_in(path, dir, PG_BACKUP_RESULT_FILE, d);
  if (!rc) rc = read_small(path, buf, sizeof buf, &n, d);
  if (rc == PG_ERR_NOT_FOUND) return PG_OK;
  if (rc) return rc;
  size_t hl = sizeof RESULT_HEAD - 1;
  char *p = buf + hl, *e1 = NULL, *e2 = NULL, *e3 = NULL;
  if (n < hl || memcmp(buf, RESULT_HEAD, hl) != 0 || !(e1 = strchr(p, '\n')) ||
      !(e2 = strchr(e1 + 1, '\n')) || !(e3 = strchr(e2 + 1, '\n')))
    return PG_OK; /* not whole: it is renamed into place whole, so not ours */
  *e1 = *e2 = *e3 = '\0';
  if (strcmp(p, nonce) != 0 && strcmp(p, "-") != 0) return PG_OK;
  unlink(path);
  *have = true;
  *code = atoi(e1 + 1);
  if (*code > 0 || *code < -1000) *code = PG_ERR_INVALID;
  snprintf(msg, cap, "%s", e2 + 1);
  return PG_OK;
}

int pg_backup_ask(const char *data_dir, const char *out, unsigned pickup_ms,
                  pg_backup_progress_fn progress, void *ctx, pg_backup_info *info, pg_diag *d) {
  if (!data_dir || !*data_dir || !out || !*out)
    return pg_fail(d, PG_ERR_INVALID, "backup: a data dir and an output file are needed");
  if (!exists_in(data_dir, PG_BACKUP_SERVER_FILE))
    return pg_fail(d, PG_ERR_NOT_FOUND, "%s has no backup server", data_dir);
  char abs[PATH_CAP], tmp[PATH_CAP + 8], nonce[PG_BACKUP_NONCE_HEX + 1];
  uint8_t raw[PG_BACKUP_NONCE_HEX / 2];
  randombytes_buf(raw, sizeof raw);
  for (size_t i = 0; i < sizeof raw; i++) snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
  long pid = server_pid(data_dir);
  int rc = absolute(out, abs, d);
  if (!rc) rc = place_request(data_dir, abs, nonce, d);
  if (!rc) rc = await_pickup(data_dir, pickup_ms, d);
  if (rc) return rc;
  snprintf(tmp, sizeof tmp, "%s.tmp", abs);
  uint64_t next = mono_ms() + PROGRESS_MS;
  bool have = false;
  int code = PG_OK;
  char msg[PATH_CAP];
  while (!rc && !have) {
    rc = read_result(data_dir, nonce, &have, &code, msg, sizeof msg, d);
    if (rc || have) break;
    if (!server_alive(data_dir, pid)) {
      rc = read_result(data_dir, nonce, &have, &code, msg, sizeof msg, d); /* it may have just answered */
      if (!rc && !have)
        rc = pg_fail(d, PG_ERR_UNAVAILABLE, "the daemon of %s stopped before it wrote the backup", data_dir);
      break;
    }
    if (progress && mono_ms() >= next) {
      struct stat st;
      progress(ctx, stat(tmp, &st) == 0 ? (uint64_t)st.st_size : 0);
      next = mono_ms() + PROGRESS_MS;
    }
    sleep_ms(ASK_POLL_MS * 2);
  }
  if (rc) return rc;
  if (code != PG_OK) return pg_fail(d, code, "%s", msg);
  return pg_backup_check(abs, info, d);
}
