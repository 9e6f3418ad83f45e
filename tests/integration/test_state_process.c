/* Integration test: state that one process must not share with another, and
 * state files that must not be misused (issue 13), with real `p2pgrid`
 * processes:
 *  - a second `p2pgrid node` on the data dir of a running one exits 1 with
 *    "data dir DIR in use by pid N" and the first keeps serving (milestones
 *    go on); a second `p2pgrid consumer` on a running consumer's data dir is
 *    refused the same way;
 *  - two `p2pgrid wallet send --no-wait` in a row from one seed both confirm
 *    (the journal beside the seed keeps the second off the first's inputs);
 *  - `p2pgrid wallet new` never overwrites a seed;
 *  - `p2pgrid mam publish` refuses a channel state whose seed was edited,
 *    with a recovery hint, before it signs or contacts the node.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "p2pgrid/base/dirlock.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define FUND 5000000ull /* on each of the seed's first two walk addresses */
#define PAY 1000000ull
#define TARGET "aa00000000000000000000000000000000000000000000000000000000000077"

static proc g_n;
static char g_seed_file[300];

/* ---- helpers -------------------------------------------------------------- */

static void expect_in_log(const char *log, const char *needle) {
  char *s = slurp(log, NULL);
  if (!s || !strstr(s, needle)) fail_msg("%s does not say '%s': %s", log, needle, s ? s : "");
  free(s);
}

static long long confirmed_milestone(const proc *p) {
  resp r;
  json_t *d = get_data(p, "/api/v1/info", &r);
  long long c = jint(d, "confirmedMilestoneIndex");
  resp_free(&r);
  return c;
}

static long long wait_milestone(const proc *p, long long index) {
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  long long c;
  while ((c = confirmed_milestone(p)) < index) {
    if (now_ms() > deadline) {
      dump_log(p);
      fail_msg("no confirmed milestone %lld within %d ms", index, DEADLINE_CONFIRM_MS);
    }
    nap();
  }
  return c;
}

/* The value after "key " on a line of the log (64 hex digits). */
static void log_field(const char *log, const char *key, char out[65]) {
  char *s = slurp(log, NULL);
  const char *p = s ? strstr(s, key) : NULL;
  if (!p) fail_msg("%s: no '%s' line: %s", log, key, s ? s : "");
  p += strlen(key);
  while (*p == ' ') p++;
  memcpy(out, p, 64);
  out[64] = '\0';
  free(s);
  assert_true(is_hex64(out));
}

/* Waits until the message is referenced; true when included. */
static bool wait_included(const proc *p, const char *msg) {
  char path[200];
  snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", msg);
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    resp r;
    json_t *d = get_data(p, path, &r);
    json_t *ms = json_object_get(d, "referencedByMilestoneIndex");
    if (ms && json_integer_value(ms) > 0) {
      const char *state = jstr(d, "ledgerInclusionState");
      bool inc = state && strcmp(state, "included") == 0;
      if (!inc) fprintf(stderr, "message %s: %s\n", msg, state ? state : "?");
      resp_free(&r);
      return inc;
    }
    resp_free(&r);
    if (now_ms() > deadline) fail_msg("message %s not referenced in time", msg);
    nap();
  }
}

static long long balance_of_hex(const proc *p, const char *hex) {
  char path[200];
  snprintf(path, sizeof path, "/api/v1/addresses/ed25519/%s", hex);
  resp r;
  json_t *d = get_data(p, path, &r);
  long long b = jint(d, "balance");
  resp_free(&r);
  return b;
}

/* ---- setup: a seed with two funded addresses, a node with a coordinator -- */

static int group_setup(void **state) {
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (pg_crypto_init() != 0 || harness_mkroot("/tmp/p2pgrid-state-XXXXXX") != 0) return -1;
  uint8_t seed[32], a0[32], a1[32];
  char hex[65], line[200], genesis[300];
  for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(0x5a + 3 * j);
  /* walk addresses 0 (0'/0') and 1 (1'/0'): a send takes inputs in that order */
  if (pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, a0) ||
      pg_iota_keypair(seed, 32, 0, 1, 0, NULL, NULL, a1))
    return -1;
  snprintf(g_seed_file, sizeof g_seed_file, "%s/wallet.seed", g_root);
  pg_hex_encode(seed, 32, hex);
  snprintf(line, sizeof line, "%s\n", hex);
  write_file(g_seed_file, line);
  snprintf(genesis, sizeof genesis, "%s/genesis.txt", g_root);
  FILE *f = fopen(genesis, "w");
  if (!f) return -1;
  pg_hex_encode(a0, 32, hex);
  fprintf(f, "%s %llu\n", hex, FUND);
  pg_hex_encode(a1, 32, hex);
  fprintf(f, "%s %llu\n", hex, FUND);
  fclose(f);

  snprintf(g_n.name, sizeof g_n.name, "node");
  snprintf(g_n.data_dir, sizeof g_n.data_dir, "%s/node", g_root);
  proc_start_coordinator(&g_n, genesis);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  proc_kill(&g_n);
  curl_global_cleanup();
  harness_rmroot();
  return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_second_node_refused(void **state) {
  (void)state;
  long long before = wait_milestone(&g_n, 1);
  char log[400], expect[400];
  snprintf(log, sizeof log, "%s/node-second.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "node", "--data-dir", g_n.data_dir, "--port", "0",
                        "--set", "coordinator.enabled=true", "--set", "coordinator.generate=true",
                        "--set", "node.min_pow_score=0", NULL};
  assert_int_equal(run_status(argv, log), 1);
  snprintf(expect, sizeof expect, "data dir %s in use by pid %ld", g_n.data_dir, (long)g_n.pid);
  expect_in_log(log, expect);
  /* the first one is untouched: it answers and its milestones go on */
  assert_int_equal(kill(g_n.pid, 0), 0);
  wait_milestone(&g_n, before + 2);
  resp r;
  get(&g_n, "/health", &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

static void test_second_consumer_refused(void **state) {
  (void)state;
  char ca[300], prefix[300], cfg[300], csv[300], dir[300], log[400], expect[500];
  snprintf(ca, sizeof ca, "%s/ca", g_root);
  ca_init(ca);
  snprintf(prefix, sizeof prefix, "%s/consumer-1", g_root);
  ca_issue(ca, "consumer-1", "consumer", NULL, NULL, prefix, NULL);
  snprintf(csv, sizeof csv, "%s/consumer-1.csv", g_root);
  write_file(csv, "time_ms,power_W\n0,1000\n60000,1000\n");
  char seed_file[300];
  snprintf(seed_file, sizeof seed_file, "%s/consumer-1.seed", g_root);
  write_file(seed_file, "1111111111111111111111111111111111111111111111111111111111111111\n");
  snprintf(dir, sizeof dir, "%s/consumer-1", g_root);
  snprintf(cfg, sizeof cfg, "%s/consumer-1.ini", g_root);
  FILE *f = fopen(cfg, "w");
  assert_non_null(f);
  /* the grid is not there: the consumer keeps retrying its registration */
  fprintf(f,
          "[consumer]\nid = consumer-1\ndata_dir = %s\nslot = 60s\ntick = 100ms\nretry = 1s\n\n"
          "[meter]\nkind = csv\npath = %s\nwrap = true\n\n"
          "[tls]\ncert = %s.crt\nkey = %s.key\nca = %s/ca.crt\ncrl = %s/crl.pem\n\n"
          "[node]\nurl = %s\n\n[api]\nbind = 127.0.0.1\nport = 0\n\n"
          "[upstream]\nurl = https://127.0.0.1:1\n\n[wallet]\nseed_file = %s\n",
          dir, csv, prefix, prefix, ca, ca, g_n.base, seed_file);
  fclose(f);
  proc c1 = {0};
  snprintf(c1.name, sizeof c1.name, "consumer-1");
  proc_start_cmd(&c1, "consumer", cfg, NULL);

  snprintf(log, sizeof log, "%s/consumer-second.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "consumer", "--config", cfg, NULL};
  assert_int_equal(run_status(argv, log), 1);
  snprintf(expect, sizeof expect, "p2pgrid consumer: data dir %s in use by pid %ld", dir,
           (long)c1.pid);
  expect_in_log(log, expect);
  assert_int_equal(kill(c1.pid, 0), 0); /* the first one runs on */
  /* after kill -9 of the first, the directory is free again */
  proc_kill(&c1);
  pg_dirlock *l = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_dirlock_take(dir, &l, &d), PG_OK);
  pg_dirlock_release(l);
}

static void send_no_wait(int k, char msg[65]) {
  char log[400];
  snprintf(log, sizeof log, "%s/send-%d.log", g_root, k);
  const char *argv[] = {P2PGRID_BIN, "wallet", "send", "--seed-file", g_seed_file, "--node",
                        g_n.base, "--to", TARGET, "--amount", "1000000", "--no-wait", NULL};
  run_ok(argv, log);
  log_field(log, "message", msg);
}

static void test_two_quick_sends_confirm(void **state) {
  (void)state;
  char m1[65], m2[65], m3[65], journal[400], log[400];
  long long start = confirmed_milestone(&g_n);
  send_no_wait(1, m1);
  send_no_wait(2, m2);
  /* both went out before a milestone could confirm the first (when the
   * machine is not very slow): the second took the other genesis output and
   * the journal holds both. When a milestone came between and confirmed the
   * first, the second send dropped it from the journal, as it must. */
  bool ms_between = confirmed_milestone(&g_n) > start;
  snprintf(journal, sizeof journal, "%s.pending", g_seed_file);
  char *j = slurp(journal, NULL);
  assert_non_null(j);
  bool has1 = strstr(j, m1) != NULL, has2 = strstr(j, m2) != NULL;
  free(j);
  assert_true(has2);
  if (!has1) {
    fprintf(stderr, "note: a milestone came between the two sends\n");
    assert_true(ms_between);
  }
  assert_true(wait_included(&g_n, m1));
  assert_true(wait_included(&g_n, m2));
  assert_int_equal(balance_of_hex(&g_n, TARGET), 2 * (long long)PAY);
  /* a third send (following to confirmation) drops the confirmed entries
   * and spends the remainders */
  snprintf(log, sizeof log, "%s/send-3.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "wallet", "send", "--seed-file", g_seed_file, "--node",
                        g_n.base, "--to", TARGET, "--amount", "1000000", NULL};
  run_ok(argv, log);
  log_field(log, "message", m3);
  expect_in_log(log, "confirmed");
  j = slurp(journal, NULL);
  assert_non_null(j);
  assert_null(strstr(j, m1));
  assert_null(strstr(j, m2));
  free(j);
  assert_int_equal(balance_of_hex(&g_n, TARGET), 3 * (long long)PAY);
  /* `wallet new` never replaces a seed */
  snprintf(log, sizeof log, "%s/new.log", g_root);
  const char *nargv[] = {P2PGRID_BIN, "wallet", "new", "--seed-file", g_seed_file, NULL};
  assert_int_equal(run_status(nargv, log), 1);
  expect_in_log(log, "refusing to overwrite a seed");
}

static void test_tampered_channel_refused(void **state) {
  (void)state;
  char st[300], log[400];
  snprintf(st, sizeof st, "%s/channel.json", g_root);
  snprintf(log, sizeof log, "%s/mam-1.log", g_root);
  const char *argv[] = {P2PGRID_BIN, "mam", "publish", "--node", g_n.base, "--state", st,
                        "first", NULL};
  run_ok(argv, log);
  /* edit one tryte of the seed */
  size_t len = 0;
  char *s = slurp(st, &len);
  assert_non_null(s);
  char *seed = strstr(s, "\"seed\":\"");
  assert_non_null(seed);
  seed += 8;
  seed[0] = seed[0] == 'A' ? 'B' : 'A';
  write_file(st, s);
  const char *urls[] = {g_n.base, "http://127.0.0.1:1"}; /* the second: never contacted */
  for (int i = 0; i < 2; i++) {
    snprintf(log, sizeof log, "%s/mam-tampered-%d.log", g_root, i);
    const char *targv[] = {P2PGRID_BIN, "mam", "publish", "--node", urls[i], "--state", st,
                           "second", NULL};
    assert_int_equal(run_status(targv, log), 2);
    expect_in_log(log, "the state file's seed does not produce its next root");
    expect_in_log(log, "restore it from a backup, or start a new channel with a new state file");
    char *now = slurp(st, NULL);
    assert_non_null(now);
    assert_string_equal(now, s); /* nothing advanced, nothing published */
    free(now);
  }
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_second_node_refused),
      cmocka_unit_test(test_second_consumer_refused),
      cmocka_unit_test(test_two_quick_sends_confirm),
      cmocka_unit_test(test_tampered_channel_refused),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
