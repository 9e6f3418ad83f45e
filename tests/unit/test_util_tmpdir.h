/* test_util_tmpdir.h — temporary directories for tests that write files:
 * tu_mktmp("pg_sim") makes $TMPDIR/pg_sim_XXXXXX (or /tmp), tu_rmrf removes
 * it recursively and frees the path (NULL: nothing). Include after <cmocka.h>. */
#ifndef P2PGRID_TEST_UTIL_TMPDIR_H
#define P2PGRID_TEST_UTIL_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static char *tu_mktmp(const char *prefix) {
  const char *base = getenv("TMPDIR");
  char t[512];
  snprintf(t, sizeof t, "%s/%s_XXXXXX", base && *base ? base : "/tmp", prefix);
  char *p = mkdtemp(t);
  assert_non_null(p);
  return strdup(p);
}

static void tu_rmrf(char *dir) {
  if (!dir) return; /* a set-up that failed before making it */
  nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

#endif
