/* file.c — capped whole-file reads and atomic writes (p2pgrid/base/file.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/file.h"

int pg_read_fd_capped(int fd, const char *name, size_t cap, uint8_t **out, size_t *len,
                      pg_diag *d) {
  *out = NULL;
  *len = 0;
  int rc = PG_OK;
  size_t have = 0, alloc = cap < 65536 ? cap + 1 : 65536;
  uint8_t *buf = malloc(alloc);
  if (!buf) rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  while (!rc) {
    if (have == alloc) {
      if (have > cap) break;
      size_t na = alloc > cap / 2 ? cap + 1 : alloc * 2;
      uint8_t *nb = realloc(buf, na);
      if (!nb) {
        rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
        break;
      }
      buf = nb, alloc = na;
    }
    ssize_t r = read(fd, buf + have, alloc - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) rc = pg_fail(d, PG_ERR_IO, "%s: cannot read: %s", name, strerror(errno));
    if (r <= 0) break;
    have += (size_t)r;
  }
  if (!rc && have > cap) rc = pg_fail(d, PG_ERR_TOO_LARGE, "%s: larger than %zu bytes", name, cap);
  if (!rc && have == alloc) {
    uint8_t *nb = realloc(buf, have + 1);
    if (!nb) rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
    else buf = nb;
  }
  if (rc) {
    if (buf) memset(buf, 0, have < alloc ? have : alloc);
    free(buf);
    return rc;
  }
  buf[have] = '\0';
  *out = buf;
  *len = have;
  return PG_OK;
}

int pg_read_file_capped(const char *path, size_t cap, uint8_t **out, size_t *len, pg_diag *d) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int e = errno;
    close(fd);
    return pg_fail(d, PG_ERR_IO, "%s: %s", path,
                   S_ISDIR(st.st_mode) ? "is a directory" : strerror(e));
  }
  int rc = pg_read_fd_capped(fd, path, cap, out, len, d);
  close(fd);
  return rc;
}

/* fsync of the directory that holds path. */
static int sync_dir(const char *path, pg_diag *d) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, sizeof dir, ".");
  } else if (slash == path) {
    snprintf(dir, sizeof dir, "/");
  } else {
    if ((size_t)(slash - path) >= sizeof dir)
      return pg_fail(d, PG_ERR_IO, "%s: path too long", path);
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
  int rc = PG_OK;
  if (fsync(fd) != 0 && errno != EINVAL)
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot fsync directory: %s", dir, strerror(errno));
  close(fd);
  return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int pg_write_file_atomic(const char *path, const void *data, size_t len, bool secret, bool replace,
                      pg_diag *d) {
  char tmp[PATH_MAX];
  int rc = PG_OK, fd = -1;
  bool made = false;
  if (!path || !path[0] || (!data && len)) return pg_fail(d, PG_ERR_INVALID, "file: no path");
  if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
    return pg_fail(d, PG_ERR_IO, "%s: path too long", path);
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  made = true;
  if (fchmod(fd, secret ? 0600 : 0644) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    goto out;
  }
  int c = close(fd);
  fd = -1;
  if (c != 0) {
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    goto out;
  }
  if (replace) {
    if (rename(tmp, path) != 0) {
      rc = pg_fail(d, PG_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
      goto out;
    }
    made = false;
  } else if (link(tmp, path) != 0) {
    rc = errno == EEXIST ? pg_fail(d, PG_ERR_EXISTS, "%s: exists already (not overwritten)", path)
                         : pg_fail(d, PG_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    goto out;
  }
  rc = sync_dir(path, d);
out:
  if (fd >= 0) close(fd);
  if (made) (void)unlink(tmp);
  return rc;
}

int pg_read_secret_line(const char *path, char **out, pg_diag *d) {
  *out = NULL;
  uint8_t *text = NULL;
  size_t len = 0;
  int rc = pg_read_file_capped(path, 1023, &text, &len, d);
  if (rc) return rc;
  /* the first line that is neither empty nor a '#' comment, trimmed */
  char *line = (char *)text, *end = NULL;
  while (*line) {
    end = line + strcspn(line, "\r\n");
    while (line < end && (*line == ' ' || *line == '\t')) line++;
    while (end > line && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (end > line && *line != '#') break;
    line += strcspn(line, "\r\n");
    line += strspn(line, "\r\n");
  }
  if (!*line || end <= line) rc = pg_fail(d, PG_ERR_INVALID, "%s: no token in the file", path);
  if (!rc) {
    *out = strndup(line, (size_t)(end - line));
    if (!*out) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  volatile uint8_t *v = text;
  for (size_t i = 0; i < len; i++) v[i] = 0;
  free(text);
  return rc;
}

void pg_free_secret(char *s) {
  if (!s) return;
  volatile char *v = s;
  for (size_t i = 0; v[i]; i++) v[i] = 0;
  free(s);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)f;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void pg_remove_tree(const char *path) {
  if (path && path[0]) (void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int pg_mkdir_p(const char *dir, unsigned mode, pg_diag *d) {
  size_t n = dir ? strlen(dir) : 0;
  if (n == 0) return pg_fail(d, PG_ERR_CONFIG, "directory path is empty");
  char *tmp = malloc(n + 1);
  if (!tmp) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  memcpy(tmp, dir, n + 1);
  int rc = PG_OK;
  for (size_t i = 1; i <= n && !rc; i++) {
    if (tmp[i] != '/' && tmp[i] != 0) continue;
    char c = tmp[i];
    tmp[i] = 0;
    struct stat st;
    if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
      rc = pg_fail(d, PG_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
    else if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
      rc = pg_fail(d, PG_ERR_IO, "%s: not a directory", tmp);
    tmp[i] = c;
  }
  free(tmp);
  return rc;
}

int pg_mkdir_parent(const char *path, unsigned mode, pg_diag *d) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  if (!slash || slash == path) return PG_OK;
  size_t n = (size_t)(slash - path);
  char *dir = malloc(n + 1);
  if (!dir) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  memcpy(dir, path, n);
  dir[n] = 0;
  int rc = pg_mkdir_p(dir, mode, d);
  free(dir);
  return rc;
}
