/* Unit tests for src/mam/state_store.c: the state file of `p2pgrid mam
 * publish`. A new channel is saved at once (mode 0600) and loads back; a
 * missing file is no error; the lock on FILE.lock refuses (or waits for) a
 * second holder; an edited seed, a file that is not a channel state, a
 * directory and an oversized file are refused and left as they are; after a
 * crash between attach and save the used leaf is found at the node and
 * skipped (never signed twice), with a cap on skips and node errors told
 * apart. The node is an in-memory fake of the node access interface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/mam/state_store.h"

#include "test_util_tmpdir.h"
#include "test_util_fake_raw.h"

#define MAXMSG 16

typedef struct fake {
  pg_client base;
  json_t *msgs[MAXMSG];
  uint8_t ids[MAXMSG][PG_ID_LEN];
  size_t n;
  bool down; /* find_index fails as an unreachable node does */
} fake;

static int f_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d) {
  fake *f = (fake *)c;
  if (f->n == MAXMSG) return pg_fail(d, PG_ERR_TOO_LARGE, "fake full");
  f->msgs[f->n] = json_deep_copy(msg);
  memset(f->ids[f->n], 0, PG_ID_LEN);
  f->ids[f->n][0] = (uint8_t)(f->n + 1);
  memcpy(id, f->ids[f->n], PG_ID_LEN);
  f->n++;
  return PG_OK;
}

static int f_find_index(pg_client *c, const uint8_t *index, size_t index_len,
                        uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                        pg_diag *d) {
  fake *f = (fake *)c;
  if (f->down) return pg_fail(d, PG_ERR_HTTP, "connection refused");
  char *hx = pg_hex_dup(index, index_len);
  size_t k = 0, t = 0;
  for (size_t i = 0; i < f->n; i++) {
    const char *mi =
        json_string_value(json_object_get(json_object_get(f->msgs[i], "payload"), "index"));
    if (mi && strcmp(mi, hx) == 0) {
      if (k < max) memcpy(ids[k++], f->ids[i], PG_ID_LEN);
      t++;
    }
  }
  free(hx);
  *count = k;
  *total = t;
  return PG_OK;
}

static int f_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d) {
  fake *f = (fake *)c;
  for (size_t i = 0; i < f->n; i++)
    if (memcmp(f->ids[i], id, PG_ID_LEN) == 0) {
      return tu_raw_of_json(f->msgs[i], out, d);
    }
  return pg_fail(d, PG_ERR_NOT_FOUND, "no such message");
}

static void f_destroy(pg_client *c) {
  fake *f = (fake *)c;
  for (size_t i = 0; i < f->n; i++) json_decref(f->msgs[i]);
}

static const pg_client_ops FAKE_OPS = {
    .kind = "fake", .submit_json = f_submit_json, .find_index = f_find_index,
    .get_raw = f_get_raw, .destroy = f_destroy,
};

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("pg_mam_store");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  return 0;
}

static void path_of(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", g_dir, name);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = calloc(1, 1 << 17);
  assert_non_null(buf);
  size_t n = fread(buf, 1, (1 << 17) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void spill(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_create_load(void **state) {
  (void)state;
  char p[300];
  path_of(p, sizeof p, "new.json");
  pg_mam_store *st = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_store_open(p, false, &st, &d), PG_OK);
  assert_string_equal(pg_mam_store_path(st), p);
  pg_mam_channel ch, back;
  bool exists = true;
  unsigned perm = 77;
  assert_int_equal(pg_mam_store_load(st, &ch, &exists, &perm, &d), PG_OK);
  assert_false(exists);
  assert_int_equal(perm, 0);
  assert_int_equal(pg_mam_store_create(st, PG_MAM_RESTRICTED, "KEY", 3, 1, &ch, &d), PG_OK);
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(pg_mam_store_load(st, &back, &exists, &perm, &d), PG_OK);
  assert_true(exists);
  assert_int_equal(perm, 0600);
  assert_memory_equal(&ch, &back, sizeof ch);
  assert_int_equal(back.mode, PG_MAM_RESTRICTED);
  assert_int_equal(back.security, 1);
  /* a bad side key creates nothing */
  char q[300];
  path_of(q, sizeof q, "refused.json");
  pg_mam_store *st2 = NULL;
  assert_int_equal(pg_mam_store_open(q, false, &st2, &d), PG_OK);
  assert_int_not_equal(pg_mam_store_create(st2, PG_MAM_PUBLIC, "KEY", 3, 2, &ch, &d), PG_OK);
  assert_int_not_equal(access(q, F_OK), 0);
  pg_mam_store_close(st2);
  pg_mam_channel_wipe(&ch);
  pg_mam_channel_wipe(&back);
  pg_mam_store_close(st);
}

static void test_lock(void **state) {
  (void)state;
  char p[300], lp[320];
  path_of(p, sizeof p, "locked.json");
  snprintf(lp, sizeof lp, "%s.lock", p);
  pg_mam_store *a = NULL, *b = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_mam_store_open(p, false, &a, &d), PG_OK);
  assert_int_equal(access(lp, F_OK), 0);
  assert_int_equal(pg_mam_store_open(p, false, &b, &d), PG_ERR_UNAVAILABLE);
  assert_null(b);
  assert_non_null(strstr(d.msg, "in use"));
  pg_mam_store_close(a);
  assert_int_equal(pg_mam_store_open(p, false, &b, &d), PG_OK);
  pg_mam_store_close(b);
  /* the lock file's directory must exist */
  char bad[320];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.json", g_dir);
  assert_int_equal(pg_mam_store_open(bad, true, &b, &d), PG_ERR_IO);
  pg_mam_store_close(NULL);
}

static void test_refused_files(void **state) {
  (void)state;
  char p[300];
  pg_diag d = {{0}};
  pg_mam_store *st = NULL;
  pg_mam_channel ch;
  bool exists = true;
  unsigned perm = 0;
  memset(&ch, 0x5a, sizeof ch);
  pg_mam_channel before = ch;

  /* an edited seed: refused (PG_ERR_STATE), the file untouched */
  path_of(p, sizeof p, "tampered.json");
  assert_int_equal(pg_mam_store_open(p, false, &st, &d), PG_OK);
  pg_mam_channel good;
  assert_int_equal(pg_mam_store_create(st, PG_MAM_PUBLIC, NULL, 0, 1, &good, &d), PG_OK);
  pg_mam_message m;
  memset(&m, 0, sizeof m);
  assert_int_equal(pg_mam_create_message(&good, "HELLO", 5, &m, &d), PG_OK);
  pg_mam_message_free(&m);
  assert_int_equal(pg_mam_store_save(st, &good, &d), PG_OK);
  char *text = slurp(p);
  char *seed = strstr(text, "\"seed\":\"");
  assert_non_null(seed);
  seed[8] = seed[8] == 'A' ? 'B' : 'A';
  spill(p, text);
  assert_int_equal(pg_mam_store_load(st, &ch, &exists, &perm, &d), PG_ERR_STATE);
  assert_false(exists);
  assert_memory_equal(&ch, &before, sizeof ch);
  char *now = slurp(p);
  assert_string_equal(now, text);
  free(now);
  free(text);
  pg_mam_channel_wipe(&good);
  pg_mam_store_close(st);

  /* not a channel state; readable by others (perm says so) */
  path_of(p, sizeof p, "junk.json");
  spill(p, "{\"seed\":1}\n");
  assert_int_equal(chmod(p, 0644), 0);
  assert_int_equal(pg_mam_store_open(p, false, &st, &d), PG_OK);
  assert_int_equal(pg_mam_store_load(st, &ch, &exists, &perm, &d), PG_ERR_INVALID);
  assert_int_equal(perm, 0644);
  assert_non_null(strstr(d.msg, "not a valid channel state"));
  assert_non_null(strstr(d.msg, p));
  pg_mam_store_close(st);

  /* a directory */
  path_of(p, sizeof p, "dir.json");
  assert_int_equal(mkdir(p, 0700), 0);
  assert_int_equal(pg_mam_store_open(p, false, &st, &d), PG_OK);
  assert_int_equal(pg_mam_store_load(st, &ch, &exists, NULL, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "not a regular file"));
  pg_mam_store_close(st);

  /* too large */
  path_of(p, sizeof p, "big.json");
  char *big = malloc(PG_MAM_STORE_MAX + 2);
  assert_non_null(big);
  memset(big, ' ', PG_MAM_STORE_MAX + 1);
  big[PG_MAM_STORE_MAX + 1] = '\0';
  spill(p, big);
  free(big);
  assert_int_equal(pg_mam_store_open(p, false, &st, &d), PG_OK);
  assert_int_equal(pg_mam_store_load(st, &ch, &exists, NULL, &d), PG_ERR_TOO_LARGE);
  assert_non_null(strstr(d.msg, "not a channel state"));
  assert_false(exists);
  assert_memory_equal(&ch, &before, sizeof ch);
  pg_mam_store_close(st);
}

/* Signs text on a copy, attaches it; saves only when save is set. */
static void publish(pg_mam_store *st, fake *f, pg_mam_channel *ch, const char *text, bool save,
                    pg_mam_message *out) {
  pg_diag d = {{0}};
  pg_mam_channel next = *ch;
  uint8_t id[32];
  memset(out, 0, sizeof *out);
  assert_int_equal(pg_mam_create_message(&next, text, strlen(text), out, &d), PG_OK);
  assert_int_equal(pg_mam_attach(&f->base, out, NULL, 0, id, &d), PG_OK);
  if (save) {
    assert_int_equal(pg_mam_store_save(st, &next, &d), PG_OK);
    *ch = next;
  }
}

typedef struct skips {
  unsigned n;
  char root[82];
  uint32_t leaf;
} skips;

static void on_skip(void *ctx, const char *root, uint32_t leaf) {
  skips *s = ctx;
  s->n++;
  snprintf(s->root, sizeof s->root, "%s", root);
  s->leaf = leaf;
}

static void test_crash_recovery(void **state) {
  (void)state;
  fake f;
  memset(&f, 0, sizeof f);
  f.base.ops = &FAKE_OPS;
  char p[300];
  path_of(p, sizeof p, "crash.json");
  pg_mam_store *st = NULL;
  pg_diag d = {{0}};
  pg_mam_channel ch;
  pg_mam_recovery r;
  skips sk = {0};
  assert_int_equal(pg_mam_store_open(p, false, &st, &d), PG_OK);
  assert_int_equal(pg_mam_store_create(st, PG_MAM_PRIVATE, NULL, 0, 1, &ch, &d), PG_OK);
  /* nothing used yet: nothing skipped, the file unchanged */
  char *before = slurp(p);
  assert_int_equal(pg_mam_store_recover(st, &f.base, &ch, 4, on_skip, &sk, &r, &d), PG_OK);
  assert_int_equal(r.skipped, 0);
  assert_int_equal(sk.n, 0);
  char *after = slurp(p);
  assert_string_equal(before, after);
  free(after);
  free(before);

  pg_mam_message m1, m2, m3;
  publish(st, &f, &ch, "ONE", true, &m1);
  /* killed after the attach of TWO, before its save */
  publish(st, &f, &ch, "TWO", false, &m2);
  pg_mam_channel stale = ch;
  bool exists = false;
  assert_int_equal(pg_mam_store_load(st, &ch, &exists, NULL, &d), PG_OK);
  assert_memory_equal(&ch, &stale, sizeof ch);

  /* a node that cannot be reached: told apart, nothing changes */
  f.down = true;
  assert_int_equal(pg_mam_store_recover(st, &f.base, &ch, 4, on_skip, &sk, &r, &d), PG_ERR_HTTP);
  assert_true(r.node_failed);
  assert_memory_equal(&ch, &stale, sizeof ch);
  f.down = false;

  /* a cap of 0 skips: the used leaf is refused, not signed */
  assert_int_equal(pg_mam_store_recover(st, &f.base, &ch, 0, on_skip, &sk, &r, &d), PG_ERR_STATE);
  assert_false(r.node_failed);
  assert_non_null(strstr(d.msg, "used leaves"));
  assert_memory_equal(&ch, &stale, sizeof ch);

  assert_int_equal(pg_mam_store_recover(st, &f.base, &ch, 4, on_skip, &sk, &r, &d), PG_OK);
  assert_int_equal(r.skipped, 1);
  assert_int_equal(sk.n, 1);
  assert_string_equal(sk.root, m2.root);
  /* the skip was saved: a reload is past TWO's leaf */
  pg_mam_channel saved;
  assert_int_equal(pg_mam_store_load(st, &saved, &exists, NULL, &d), PG_OK);
  assert_memory_equal(&saved, &ch, sizeof ch);
  /* THREE signs the leaf TWO announced: readers go on */
  publish(st, &f, &ch, "THREE", true, &m3);
  assert_string_equal(m3.root, m2.next_root);
  assert_string_not_equal(m3.root, m2.root);

  pg_mam_message_free(&m1);
  pg_mam_message_free(&m2);
  pg_mam_message_free(&m3);
  pg_mam_channel_wipe(&ch);
  pg_mam_channel_wipe(&saved);
  pg_mam_channel_wipe(&stale);
  pg_mam_store_close(st);
  f_destroy(&f.base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_load),
      cmocka_unit_test(test_lock),
      cmocka_unit_test(test_refused_files),
      cmocka_unit_test(test_crash_recovery),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
