/* p2pgrid/base/file.h — whole-file reads with a cap and atomic whole-file writes:
 * the one place that touches files byte by byte for the other modules; and
 * mkdir -p (pg_mkdir_p, pg_mkdir_parent).
 *
 * Contract:
 * - pg_read_file_capped reads the regular file path (at most cap bytes) into
 *   *out (malloc'd, caller frees; NUL-terminated after *len bytes for
 *   convenience, the NUL not counted). PG_ERR_IO names the file and the
 *   system error ("is a directory" for a directory), PG_ERR_TOO_LARGE says
 *   "larger than <cap> bytes". Memory grows with the file, not with cap.
 *   The buffer of a failed read is zeroed before it is freed (keys).
 * - pg_read_fd_capped is the same read from an open descriptor (stdin, or a
 *   file the caller has opened and checked itself, e.g. its mode); name is
 *   what the errors call it. The caller keeps and closes fd.
 * - pg_write_file_atomic writes len bytes to path so that path holds either
 *   the old content or the whole new one, also across a power cut: a
 *   temporary file in the same directory (mode 0600 when secret, else 0644),
 *   fsync, then rename over path (replace) or link to path (!replace:
 *   PG_ERR_EXISTS when path exists, nothing written), then fsync of the
 *   directory. PG_ERR_IO otherwise; the temporary file never stays.
 *
 * Threads: both are safe from any thread (no shared state).
 *
 * Ownership: the buffers of pg_read_file_capped and pg_read_secret_line are
 * malloc'd and the caller's: free() the first, pg_free_secret the second.
 * Errors: 0 or PG_ERR_IO, PG_ERR_TOO_LARGE, PG_ERR_EXISTS, PG_ERR_INVALID or
 * PG_ERR_NOMEM, with one sentence naming the file in the optional pg_diag; on
 * failure *out is NULL. */
#ifndef P2PGRID_BASE_FILE_H
#define P2PGRID_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

PG_NODISCARD int pg_read_file_capped(const char *path, size_t cap, uint8_t **out, size_t *len,
                                     pg_diag *d);
PG_NODISCARD int pg_read_fd_capped(int fd, const char *name, size_t cap, uint8_t **out,
                                   size_t *len, pg_diag *d);
/* The first line of path (at most 1023 bytes) that is neither empty nor a
 * '#' comment, trimmed of blanks: a secret such as a bearer token. *out is
 * malloc'd (caller frees, wiping it); the file's buffer is wiped.
 * PG_ERR_INVALID "PATH: no token in the file" when there is none. */
PG_NODISCARD int pg_read_secret_line(const char *path, char **out, pg_diag *d);
/* Overwrites the NUL-terminated secret s with zeros and frees it. NULL ok. */
void pg_free_secret(char *s);
/* rm -rf path: removes path and, when it is a directory, everything under
 * it (symlinks themselves, never what they point to); best effort (what
 * cannot be removed stays). NULL or "" does nothing. */
void pg_remove_tree(const char *path);
PG_NODISCARD int pg_write_file_atomic(const char *path, const void *data, size_t len, bool secret,
                                      bool replace, pg_diag *d);

/* mkdir -p: the parts that do not exist are created with mode; PG_ERR_IO
 * names the part that cannot be made or is not a directory, PG_ERR_CONFIG an
 * empty path. Any length (the path is copied to the heap). */
PG_NODISCARD int pg_mkdir_p(const char *dir, unsigned mode, pg_diag *d);
/* pg_mkdir_p of the directory part of the file path path (nothing when path
 * has no '/' or only a leading one): "dir/sub/key.hex" makes dir/sub. */
PG_NODISCARD int pg_mkdir_parent(const char *path, unsigned mode, pg_diag *d);

#endif
