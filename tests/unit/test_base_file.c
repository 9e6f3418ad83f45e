/* pg_read_file_capped and pg_write_file_atomic (p2pgrid/base/file.h). */
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

#include "p2pgrid/base/file.h"
#include "test_util_tmpdir.h"

static char *g_dir;

static void path_of(char *out, size_t cap, const char *name) {
  if ((size_t)snprintf(out, cap, "%s/%s", g_dir, name) >= cap) fail_msg("path too long");
}

static void test_read(void **state) {
  (void)state;
  char p[128];
  path_of(p, sizeof p, "a.txt");
  pg_diag d = {{0}};
  assert_int_equal(pg_write_file_atomic(p, "hello", 5, false, true, &d), PG_OK);
  uint8_t *data = NULL;
  size_t len = 0;
  assert_int_equal(pg_read_file_capped(p, 5, &data, &len, &d), PG_OK);
  assert_int_equal(len, 5);
  assert_string_equal((char *)data, "hello"); /* NUL-terminated */
  free(data);
  assert_int_equal(pg_read_file_capped(p, 4, &data, &len, &d), PG_ERR_TOO_LARGE);
  assert_non_null(strstr(d.msg, "larger than 4 bytes"));
  assert_null(data);
  assert_int_equal(pg_read_file_capped(g_dir, 100, &data, &len, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "is a directory"));
  path_of(p, sizeof p, "missing");
  assert_int_equal(pg_read_file_capped(p, 100, &data, &len, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "missing: cannot open"));
  /* a file larger than the first buffer grows to it */
  size_t big = 300000;
  char *text = malloc(big);
  assert_non_null(text);
  for (size_t i = 0; i < big; i++) text[i] = (char)('a' + i % 26);
  path_of(p, sizeof p, "big");
  assert_int_equal(pg_write_file_atomic(p, text, big, false, true, &d), PG_OK);
  assert_int_equal(pg_read_file_capped(p, big, &data, &len, &d), PG_OK);
  assert_int_equal(len, big);
  assert_memory_equal(data, text, big);
  assert_int_equal(data[big], 0);
  free(data);
  path_of(p, sizeof p, "empty");
  assert_int_equal(pg_write_file_atomic(p, "", 0, false, true, &d), PG_OK);
  assert_int_equal(pg_read_file_capped(p, 0, &data, &len, &d), PG_OK);
  assert_int_equal(len, 0);
  free(data);
  free(text);
}

static void test_write(void **state) {
  (void)state;
  char p[128];
  path_of(p, sizeof p, "secret.key");
  pg_diag d = {{0}};
  assert_int_equal(pg_write_file_atomic(p, "k1", 2, true, false, &d), PG_OK);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* no overwrite: refused, the old content stays */
  assert_int_equal(pg_write_file_atomic(p, "k2", 2, true, false, &d), PG_ERR_EXISTS);
  uint8_t *data = NULL;
  size_t len = 0;
  assert_int_equal(pg_read_file_capped(p, 10, &data, &len, &d), PG_OK);
  assert_string_equal((char *)data, "k1");
  free(data);
  /* replace */
  assert_int_equal(pg_write_file_atomic(p, "k3", 2, false, true, &d), PG_OK);
  assert_int_equal(pg_read_file_capped(p, 10, &data, &len, &d), PG_OK);
  assert_string_equal((char *)data, "k3");
  free(data);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  /* no temporary file is left behind, also after a failure */
  char cmd[200];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep tmp)\"", g_dir);
  assert_int_equal(system(cmd), 0);
  path_of(p, sizeof p, "no-such-dir/x");
  assert_int_equal(pg_write_file_atomic(p, "x", 1, false, true, &d), PG_ERR_IO);
}

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("p2pgrid-file");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_read), cmocka_unit_test(test_write)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
