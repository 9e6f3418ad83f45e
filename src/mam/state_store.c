/* A MAM channel in a state file: lock, load and check, atomic save, create,
 * crash recovery (p2pgrid/mam/state_store.h). */
#include "p2pgrid/mam/state_store.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/dirlock.h"
#include "p2pgrid/base/file.h"

struct pg_mam_store {
  pg_dirlock *lock;
  char *path;
};

int pg_mam_store_open(const char *path, bool wait, pg_mam_store **out, pg_diag *d) {
  if (!path || !*path || !out) return pg_fail(d, PG_ERR_INVALID, "no state file path");
  size_t n = strlen(path);
  pg_mam_store *s = calloc(1, sizeof *s);
  char *lp = malloc(n + sizeof ".lock");
  if (s) s->path = malloc(n + 1);
  if (!s || !lp || !s->path) {
    free(lp);
    pg_mam_store_close(s);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  memcpy(s->path, path, n + 1);
  memcpy(lp, path, n);
  memcpy(lp + n, ".lock", sizeof ".lock");
  int rc = pg_lock_file_take(lp, wait, &s->lock, d);
  free(lp);
  if (rc != PG_OK) {
    pg_mam_store_close(s);
    return rc;
  }
  *out = s;
  return PG_OK;
}

void pg_mam_store_close(pg_mam_store *s) {
  if (!s) return;
  pg_dirlock_release(s->lock);
  free(s->path);
  free(s);
}

const char *pg_mam_store_path(const pg_mam_store *s) { return s->path; }

/* Parses and checks the bytes of the file into *ch (wiped on failure). */
static int load_bytes(const char *path, const uint8_t *buf, size_t len, pg_mam_channel *ch,
                      pg_diag *d) {
  pg_diag in = {{0}};
  if (pg_mam_channel_load(ch, buf, len, &in) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "%s: not a valid channel state: %s", path, in.msg);
  /* an edited or corrupted seed (or start) would sign on another channel
   * than the one readers follow */
  int rc = pg_mam_channel_check(ch, d);
  if (rc != PG_OK) pg_mam_channel_wipe(ch);
  return rc == PG_OK ? PG_OK : PG_ERR_STATE;
}

int pg_mam_store_load(pg_mam_store *s, pg_mam_channel *ch, bool *exists, unsigned *perm,
                      pg_diag *d) {
  struct stat st;
  uint8_t *buf = NULL;
  size_t len = 0;
  *exists = false;
  if (perm) *perm = 0;
  if (stat(s->path, &st) != 0) {
    if (errno == ENOENT) return PG_OK;
    return pg_fail(d, PG_ERR_IO, "%s: cannot stat: %s", s->path, strerror(errno));
  }
  if (perm) *perm = (unsigned)(st.st_mode & 0777);
  if (!S_ISREG(st.st_mode)) return pg_fail(d, PG_ERR_INVALID, "%s: not a regular file", s->path);
  int rc = pg_read_file_capped(s->path, PG_MAM_STORE_MAX, &buf, &len, d);
  if (rc == PG_ERR_TOO_LARGE) {
    char msg[sizeof d->msg];
    snprintf(msg, sizeof msg, "%s", d ? d->msg : "");
    pg_fail(d, rc, "%s, not a channel state", msg);
  }
  if (rc == PG_OK) {
    pg_mam_channel tmp;
    rc = load_bytes(s->path, buf, len, &tmp, d);
    if (rc == PG_OK) *ch = tmp;
    pg_mam_channel_wipe(&tmp);
    *exists = rc == PG_OK;
  }
  if (buf) sodium_memzero(buf, len);
  free(buf);
  return rc;
}

int pg_mam_store_save(pg_mam_store *s, const pg_mam_channel *ch, pg_diag *d) {
  pg_buf b;
  pg_buf_init(&b, PG_MAM_STORE_MAX);
  int rc = pg_mam_channel_save(ch, &b);
  if (rc != PG_OK) {
    rc = pg_fail(d, rc, "%s: cannot encode the channel state", s->path);
    goto out;
  }
  pg_buf_put_u8(&b, '\n');
  if ((rc = pg_buf_status(&b)) != PG_OK) {
    rc = pg_fail(d, rc, "%s: out of memory", s->path);
    goto out;
  }
  pg_diag in = {{0}};
  rc = pg_write_file_atomic(s->path, b.data, b.len, true, true, &in);
  if (rc != PG_OK) rc = pg_fail(d, rc, "cannot save the channel state: %s", in.msg);
out:
  if (b.data) sodium_memzero(b.data, b.cap);
  pg_buf_free(&b);
  return rc;
}

int pg_mam_store_create(pg_mam_store *s, pg_mam_mode mode, const char *side_key,
                        size_t side_key_len, int security, pg_mam_channel *ch, pg_diag *d) {
  char seed[PG_MAM_HASH_TRYTES + 1];
  pg_mam_channel tmp;
  if (pg_mam_random_trytes(seed, PG_MAM_HASH_TRYTES) != PG_OK)
    return pg_fail(d, PG_ERR_CRYPTO, "libsodium cannot be initialised");
  int rc = pg_mam_channel_create(&tmp, seed, mode, side_key, side_key_len, security, d);
  sodium_memzero(seed, sizeof seed);
  if (rc == PG_OK) rc = pg_mam_store_save(s, &tmp, d);
  if (rc == PG_OK) *ch = tmp;
  pg_mam_channel_wipe(&tmp);
  return rc;
}

/* Whether the leaf ch signs next already carries a verifying message at the
 * node; root gets the tree's root. Errors of the lookup as they are. */
static int leaf_used(pg_client *c, const pg_mam_channel *ch, char root[PG_MAM_HASH_TRYTES + 1],
                     bool *used, bool *at_node, pg_diag *d) {
  const char *key = ch->mode == PG_MAM_RESTRICTED ? ch->side_key : NULL;
  size_t klen = ch->mode == PG_MAM_RESTRICTED ? PG_MAM_HASH_TRYTES : 0;
  pg_mam_cursor at = {.leaf = ch->index};
  pg_mam_fetched *f = NULL;
  size_t n = 0;
  pg_mam_cursor next;
  int rc = pg_mam_channel_root(ch, at.root);
  if (rc != PG_OK) return pg_fail(d, rc, "cannot compute the channel root");
  memcpy(root, at.root, sizeof at.root);
  rc = pg_mam_read(c, &at, ch->mode, key, klen, 1, &f, &n, &next, NULL, d);
  *at_node = rc != PG_OK;
  if (rc != PG_OK) return rc;
  pg_mam_fetched_free_all(f, n);
  *used = n > 0;
  return PG_OK;
}

int pg_mam_store_recover(pg_mam_store *s, pg_client *c, pg_mam_channel *ch, unsigned max,
                         pg_mam_store_skip_fn on_skip, void *ctx, pg_mam_recovery *out,
                         pg_diag *d) {
  pg_mam_recovery r = {0};
  int rc = PG_OK;
  for (;;) {
    char root[PG_MAM_HASH_TRYTES + 1];
    bool used = false;
    uint32_t leaf = ch->index;
    rc = leaf_used(c, ch, root, &used, &r.node_failed, d);
    if (rc != PG_OK) break;
    if (!used) break;
    if (r.skipped >= max) {
      rc = pg_fail(d, PG_ERR_STATE, "%s: more than %u used leaves in a row; giving up", s->path,
                   max);
      break;
    }
    pg_mam_channel next = *ch;
    pg_mam_message skip;
    memset(&skip, 0, sizeof skip);
    rc = pg_mam_create_message(&next, "9", 1, &skip, d);
    pg_mam_message_free(&skip);
    if (rc == PG_OK) rc = pg_mam_store_save(s, &next, d);
    if (rc == PG_OK) *ch = next;
    pg_mam_channel_wipe(&next);
    if (rc != PG_OK) break;
    r.skipped++;
    if (on_skip) on_skip(ctx, root, leaf);
  }
  if (out) *out = r;
  return rc;
}
