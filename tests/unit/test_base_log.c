/* Unit tests for log.c: format, levels, truncation, scrubbing, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "p2pgrid/base/log.h"

static pg_vclock vclock;

/* Reads everything written to f since the last rewind and resets it. */
static char *drain(FILE *f, size_t *len) {
  fflush(f);
  long n = ftell(f);
  assert_true(n >= 0);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  rewind(f);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  rewind(f);
  assert_int_equal(ftruncate(fileno(f), 0), 0);
  if (len) *len = (size_t)n;
  return s;
}

static int setup(void **state) {
  FILE *f = tmpfile();
  if (!f) return -1;
  pg_vclock_init(&vclock, 1795521600123ull); /* 2026-11-24T12:00:00.123Z */
  pg_log_set_clock(&vclock.base);
  pg_log_set_output(f);
  pg_log_set_level(PG_LOG_INFO);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  pg_log_set_format(PG_LOG_TEXT);
  pg_log_set_output(NULL);
  pg_log_set_clock(NULL);
  pg_log_set_level(PG_LOG_INFO);
  fclose(*state);
  return 0;
}

static void test_format(void **state) {
  FILE *f = *state;
  pg_log(PG_LOG_INFO, "node", "listening on %s:%d", "127.0.0.1", 14265);
  pg_log_warn("grid", "slot %u late", 7u);
  pg_log_error("api", "boom");
  char *s = drain(f, NULL);
  assert_string_equal(s, "2026-11-24T12:00:00.123Z INFO  node: listening on 127.0.0.1:14265\n"
                         "2026-11-24T12:00:00.123Z WARN  grid: slot 7 late\n"
                         "2026-11-24T12:00:00.123Z ERROR api: boom\n");
  free(s);
  pg_vclock_advance(&vclock, 1000 * 86400 + 877); /* next day, .000 */
  pg_log_set_level(PG_LOG_DEBUG);
  pg_log_debug("sim", "x");
  pg_log(PG_LOG_DEBUG, NULL, "no module");
  s = drain(f, NULL);
  assert_string_equal(s, "2026-11-25T12:00:01.000Z DEBUG sim: x\n"
                         "2026-11-25T12:00:01.000Z DEBUG -: no module\n");
  free(s);
}

static int evaluated;
static int side_effect(void) { return ++evaluated; }

static void test_levels(void **state) {
  FILE *f = *state;
  pg_log_set_level(PG_LOG_WARN);
  evaluated = 0;
  pg_log_info("m", "%d", side_effect());
  pg_log_debug("m", "%d", side_effect());
  pg_log(PG_LOG_INFO, "m", "dropped");
  assert_int_equal(evaluated, 0);
  pg_log_warn("m", "%d", side_effect());
  assert_int_equal(evaluated, 1);
  char *s = drain(f, NULL);
  assert_non_null(strstr(s, "WARN  m: 1\n"));
  assert_null(strstr(s, "dropped"));
  free(s);
  assert_true(pg_log_enabled(PG_LOG_ERROR));
  assert_false(pg_log_enabled(PG_LOG_INFO));

  pg_log_level l;
  assert_int_equal(pg_log_level_parse("DEBUG", &l), PG_OK);
  assert_int_equal(l, PG_LOG_DEBUG);
  assert_int_equal(pg_log_level_parse("warning", &l), PG_OK);
  assert_int_equal(l, PG_LOG_WARN);
  assert_int_equal(pg_log_level_parse("Error", &l), PG_OK);
  assert_int_equal(l, PG_LOG_ERROR);
  assert_int_equal(pg_log_level_parse("verbose", &l), PG_ERR_INVALID);
  assert_int_equal(pg_log_level_parse("", &l), PG_ERR_INVALID);
  assert_int_equal(pg_log_level_parse("infoinfoinfoinfoinfo", &l), PG_ERR_INVALID);
  pg_diag d = {{0}};
  assert_int_equal(pg_log_set_level_str("info", &d), PG_OK);
  assert_int_equal(pg_log_get_level(), PG_LOG_INFO);
  assert_int_equal(pg_log_set_level_str("loud", &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "unknown log level 'loud' (use error, warn, info or debug)");
  assert_int_equal(pg_log_get_level(), PG_LOG_INFO);
  assert_string_equal(pg_log_level_name(PG_LOG_WARN), "warn");
}

static void test_scrub_and_truncate(void **state) {
  FILE *f = *state;
  pg_log_info("peer", "name=%s", "evil\nFAKE ERROR line\x1b[31m\tok");
  pg_log_info("peer", "nul=%c.", 0);
  char *s = drain(f, NULL);
  assert_string_equal(s, "2026-11-24T12:00:00.123Z INFO  peer: name=evil?FAKE ERROR line?[31m\tok\n"
                         "2026-11-24T12:00:00.123Z INFO  peer: nul=?.\n");
  free(s);

  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  pg_log_info("m", "%s", big);
  size_t len = 0;
  s = drain(f, &len);
  assert_int_equal(len, PG_LOG_LINE_MAX - 1);
  assert_int_equal(s[len - 1], '\n');
  assert_memory_equal(s + len - 4, "...", 3);
  assert_null(memchr(s, '\n', len - 1));
  free(s);
}

#define THREADS 4
#define LINES 300

static void *writer(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < LINES; i++) pg_log_info("t", "thread %d line %d %s", id, i, "payload-payload");
  return NULL;
}

static void test_threads(void **state) {
  FILE *f = *state;
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  size_t len = 0;
  char *s = drain(f, &len);
  int lines = 0, seen[THREADS] = {0};
  for (char *p = s, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
    *nl = '\0';
    int id = -1, n = -1;
    char tail[32] = "";
    if (sscanf(p, "2026-11-24T12:00:00.123Z INFO  t: thread %d line %d %31s", &id, &n, tail) != 3)
      fail_msg("garbled line: %s", p);
    assert_string_equal(tail, "payload-payload");
    assert_true(id >= 0 && id < THREADS);
    assert_int_equal(n, seen[id]); /* each thread's lines in order */
    seen[id]++;
    lines++;
  }
  assert_int_equal(lines, THREADS * LINES);
  free(s);
}

/* Each line of s parsed as one JSON object with exactly the five fields;
 * returns the number of lines; msgs[i] gets a copy of line i's msg. */
static size_t json_lines(const char *s, char **msgs, size_t max) {
  size_t n = 0;
  while (*s) {
    const char *nl = strchr(s, '\n');
    assert_non_null(nl);
    assert_true((size_t)(nl - s + 1) <= PG_LOG_LINE_MAX);
    json_error_t err;
    json_t *o = json_loadb(s, (size_t)(nl - s), 0, &err);
    if (!o) fail_msg("not JSON (%s): %.*s", err.text, (int)(nl - s), s);
    assert_int_equal(json_object_size(o), 5);
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-11-24T12:00:00.123Z");
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), (json_int_t)getpid());
    assert_non_null(json_string_value(json_object_get(o, "level")));
    assert_non_null(json_string_value(json_object_get(o, "module")));
    if (n < max) msgs[n] = strdup(json_string_value(json_object_get(o, "msg")));
    json_decref(o);
    n++;
    s = nl + 1;
  }
  return n;
}

static void test_json(void **state) {
  FILE *f = *state;
  assert_int_equal(pg_log_set_format_str("JSON", NULL), PG_OK);
  assert_int_equal(pg_log_get_format(), PG_LOG_JSON);
  pg_diag d = {{0}};
  assert_int_equal(pg_log_set_format_str("xml", &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "unknown log format 'xml' (use text or json)");
  assert_int_equal(pg_log_get_format(), PG_LOG_JSON);
  pg_log(PG_LOG_INFO, "node", "listening on %s:%d", "127.0.0.1", 14265);
  char *s = drain(f, NULL);
  char expect[200];
  snprintf(expect, sizeof expect,
           "{\"time\":\"2026-11-24T12:00:00.123Z\",\"level\":\"info\",\"pid\":%ld,"
           "\"module\":\"node\",\"msg\":\"listening on 127.0.0.1:14265\"}\n", (long)getpid());
  assert_string_equal(s, expect);
  free(s);
  /* quotes, backslashes, control characters, a forged second line, bad UTF-8 */
  pg_log_warn("gr\"id\n", "a \"quote\" \\ back\nslash\r\t\x01\x1b[31m\x7f}\n{\"level\":\"error\"}");
  pg_log_error("api", "caf\xc3\xa9 \xff\xfe half \xe2\x82 end \xed\xa0\x80 \xf0\x9f\x94\x8c");
  s = drain(f, NULL);
  char *msgs[4] = {0};
  assert_int_equal(json_lines(s, msgs, 4), 2);
  assert_string_equal(msgs[0], "a \"quote\" \\ back\nslash\r\t\x01\x1b[31m\x7f}\n{\"level\":\"error\"}");
  assert_string_equal(msgs[1], "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd half \xef\xbf\xbd\xef\xbf\xbd end "
                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x94\x8c");
  assert_non_null(strstr(s, "\"module\":\"gr\\\"id\\n\""));
  free(s);
  /* long messages (also all escapes) are cut to one line ending in "..." */
  char big[3 * PG_LOG_LINE_MAX];
  memset(big, '\n', sizeof big - 1);
  big[sizeof big - 1] = 0;
  pg_log_info("x", "%s", big);
  memset(big, 'a', sizeof big - 1);
  pg_log_info("x", "%s", big);
  s = drain(f, NULL);
  assert_int_equal(json_lines(s, msgs + 2, 2), 2);
  for (int i = 2; i < 4; i++) {
    size_t l = strlen(msgs[i]);
    assert_true(l > 300 && l < PG_LOG_LINE_MAX);
    assert_string_equal(msgs[i] + l - 3, "...");
  }
  free(s);
  for (int i = 0; i < 4; i++) free(msgs[i]);
  /* the tail keeps the text form */
  char tail[512];
  pg_log_info("tailmod", "in the tail");
  assert_int_equal(pg_log_tail(tail, sizeof tail, 1), 1);
  assert_non_null(strstr(tail, "INFO  tailmod: in the tail"));
  free(drain(f, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scrub_and_truncate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
