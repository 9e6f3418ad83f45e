/* dirlock.c — exclusive locks on data directories and state files
 * (p2pgrid/base/dirlock.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/dirlock.h"

struct pg_dirlock {
  int fd;
};

/* mkdir -p with mode 0700 for the components it creates. */
static int make_dirs(const char *dir, pg_diag *d) {
  char p[PATH_MAX];
  size_t n = strlen(dir);
  if (n == 0) return pg_fail(d, PG_ERR_INVALID, "data dir: empty path");
  if (n >= sizeof p) return pg_fail(d, PG_ERR_IO, "data dir %s: path too long", dir);
  memcpy(p, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
      return pg_fail(d, PG_ERR_IO, "data dir %s: cannot create %s: %s", dir, p, strerror(errno));
    p[i] = c;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return pg_fail(d, PG_ERR_IO, "data dir %s: not a directory", dir);
  return PG_OK;
}

/* The pid the holder wrote into the lock file, 0 when there is none yet. */
static long holder_pid(int fd) {
  char buf[32];
  ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
  if (r <= 0) return 0;
  buf[r] = '\0';
  char *end = NULL;
  long pid = strtol(buf, &end, 10);
  return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/* Opens and locks path. PG_ERR_UNAVAILABLE with *holder (0 = unknown) when
 * another holder has it and !wait; the diag is the caller's to write then. */
static int take(const char *path, bool wait, pg_dirlock **out, long *holder, pg_diag *d) {
  int rc = PG_OK;
  *out = NULL;
  *holder = 0;
  pg_dirlock *l = calloc(1, sizeof *l);
  if (!l) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (l->fd < 0) {
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    goto out;
  }
  int r;
  while ((r = flock(l->fd, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR) {
  }
  if (r != 0) {
    if (errno == EWOULDBLOCK) {
      *holder = holder_pid(l->fd);
      rc = PG_ERR_UNAVAILABLE;
    } else {
      rc = pg_fail(d, PG_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
    }
    goto out;
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, pid, (size_t)n, 0) != n) {
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot write the pid: %s", path, strerror(errno));
    goto out;
  }
  *out = l;
  l = NULL;
out:
  pg_dirlock_release(l);
  return rc;
}

int pg_dirlock_take(const char *dir, pg_dirlock **out, pg_diag *d) {
  char path[PATH_MAX];
  long holder = 0;
  *out = NULL;
  int rc = make_dirs(dir, d);
  if (rc) return rc;
  if ((size_t)snprintf(path, sizeof path, "%s/LOCK", dir) >= sizeof path)
    return pg_fail(d, PG_ERR_IO, "data dir %s: path too long", dir);
  rc = take(path, false, out, &holder, d);
  if (rc == PG_ERR_UNAVAILABLE && holder)
    return pg_fail(d, rc, "data dir %s in use by pid %ld", dir, holder);
  if (rc == PG_ERR_UNAVAILABLE)
    return pg_fail(d, rc, "data dir %s in use by another process", dir);
  return rc;
}

int pg_lock_file_take(const char *path, bool wait, pg_dirlock **out, pg_diag *d) {
  long holder = 0;
  int rc = take(path, wait, out, &holder, d);
  if (rc == PG_ERR_UNAVAILABLE && holder)
    return pg_fail(d, rc, "%s is in use by pid %ld", path, holder);
  if (rc == PG_ERR_UNAVAILABLE) return pg_fail(d, rc, "%s is in use by another process", path);
  return rc;
}

void pg_dirlock_release(pg_dirlock *l) {
  if (!l) return;
  if (l->fd >= 0) close(l->fd); /* closing the last descriptor drops the lock */
  free(l);
}
