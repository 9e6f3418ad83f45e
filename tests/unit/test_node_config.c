/* Unit tests for src/node/node_config.c: defaults, examples/node.ini, the
 * coordinator key file, milestone keys and thresholds, the [api] TLS and
 * POST access keys (token file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/node/node.h"
#include "test_util_tmpdir.h"

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("p2pgrid-nodecfg");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  return 0;
}

static pg_config *cfg_of(const char *text) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  if (pg_config_load_string(c, "node.ini", text, strlen(text), &d)) fail_msg("load: %s", d.msg);
  return c;
}

/* Loads text into a fresh node config; returns the status, d gets the text. */
static int load(const char *text, pg_node_config *nc, pg_diag *d) {
  pg_config *c = cfg_of(text);
  pg_node_config_init(nc);
  int rc = pg_node_config_load(nc, c, d);
  pg_config_free(c);
  return rc;
}

static void test_defaults(void **state) {
  (void)state;
  pg_node_config nc;
  pg_diag d = {{0}};
  assert_int_equal(load("", &nc, &d), PG_OK);
  assert_string_equal(nc.network, "private-tangle");
  assert_string_equal(nc.bech32_hrp, "atoi");
  assert_string_equal(nc.data_dir, "./data/node");
  assert_string_equal(nc.bind, "127.0.0.1");
  assert_int_equal(nc.port, 14265);
  assert_int_equal(nc.workers, 0); /* auto: one, four on a replica */
  assert_int_equal(pg_node_workers(&nc), 1);
  assert_int_equal(nc.pow_queue, 0); /* PG_NODE_POW_QUEUE */
  assert_true(nc.max_body > 2 * 32768);
  assert_true(nc.remote_pow);
  assert_false(nc.coo_enabled);
  assert_int_equal(nc.ms_keys_count, 0);
  assert_int_equal(nc.ms_threshold, 1);
  assert_true(nc.dust_protection);
  assert_int_equal(nc.genesis_count, 0);
  assert_null(nc.genesis);
  pg_node_config_clear(&nc);
}

/* examples/node.ini documents every key: it must load with no unknown key,
 * and with its values equal to the built-in defaults. */
static void test_example_file(void **state) {
  (void)state;
  pg_config *c = NULL;
  pg_node_config nc, def;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  if (pg_config_load_file(c, PG_SOURCE_DIR "/examples/node.ini", &d)) fail_msg("%s", d.msg);
  pg_node_config_init(&nc);
  pg_node_config_init(&def);
  if (pg_node_config_load(&nc, c, &d)) fail_msg("%s", d.msg);
  if (pg_config_unused(c, NULL, NULL)) {
    assert_int_equal(pg_config_unused_describe(c, 0, &d), PG_OK);
    fail_msg("examples/node.ini: %s", d.msg);
  }
  assert_string_equal(nc.network, def.network);
  assert_int_equal(nc.min_pow_score, def.min_pow_score);
  assert_int_equal(nc.max_body, def.max_body);
  assert_int_equal(nc.port, def.port);
  assert_int_equal(nc.connection_timeout_s, def.connection_timeout_s);
  assert_int_equal(nc.workers, def.workers);
  assert_int_equal(nc.pow_queue, PG_NODE_POW_QUEUE);
  assert_int_equal(nc.coo_interval_ms, def.coo_interval_ms);
  assert_true(nc.dust_protection);
  /* the example funds the well-known test seed's first address */
  assert_int_equal(nc.genesis_count, 1);
  assert_int_equal(nc.genesis[0].amount, 1000000000);
  assert_int_equal(nc.genesis[0].address[0], 0x45);
  assert_int_equal(nc.genesis[0].address[31], 0xbc);
  pg_node_config_clear(&nc);
  pg_node_config_clear(&def);
  pg_config_free(c);
}

static void test_values(void **state) {
  (void)state;
  pg_node_config nc;
  pg_diag d = {{0}};
  assert_int_equal(load("[node]\nnetwork = testnet7\nmin_pow_score = 4000\nlog_level = debug\n"
                        "[api]\nport = 0\nmax_body = 128k\nremote_pow = no\nconnection_timeout = 2m\n"
                        "workers = 3\npow_queue = 5\n"
                        "[tips]\nmax_age = 1500ms\n[solidifier]\nmax_unsolid = 5\n",
                        &nc, &d),
                   PG_OK);
  assert_string_equal(nc.network, "testnet7");
  assert_int_equal(nc.min_pow_score, 4000);
  assert_true(nc.has_log_level);
  assert_int_equal(nc.port, 0);
  assert_int_equal(nc.max_body, 128 * 1024);
  assert_false(nc.remote_pow);
  assert_int_equal(nc.connection_timeout_s, 120);
  assert_int_equal(pg_node_workers(&nc), 3);
  assert_int_equal(nc.pow_queue, 5);
  assert_int_equal(nc.tip_max_age_ms, 1500);
  assert_int_equal(nc.unsolid_max, 5);
  pg_node_config_clear(&nc);

  assert_int_equal(load("[node]\nbech32_hrp = ATOI\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "bech32_hrp"));
  pg_node_config_clear(&nc);
  assert_int_equal(load("[api]\nport = 70000\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "node.ini:2"));
  pg_node_config_clear(&nc);
  assert_int_equal(load("[node]\nlog_level = loud\n", &nc, &d), PG_ERR_CONFIG);
  pg_node_config_clear(&nc);
  assert_int_equal(load("[api]\npow_queue = 0\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "pow_queue"));
  pg_node_config_clear(&nc);
  assert_int_equal(load("[api]\nworkers = 257\n", &nc, &d), PG_ERR_CONFIG);
  pg_node_config_clear(&nc);
}

static void test_coordinator_key_file(void **state) {
  (void)state;
  char text[1024], path[300];
  pg_node_config nc;
  pg_diag d = {{0}};
  snprintf(path, sizeof path, "%s/sub/coo.key", g_dir);
  snprintf(text, sizeof text, "[coordinator]\nenabled = true\nseed_file = %s\n", path);
  /* missing file without generate */
  assert_int_equal(load(text, &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "generate"));
  pg_node_config_clear(&nc);

  snprintf(text, sizeof text, "[coordinator]\nenabled = true\ngenerate = true\nseed_file = %s\n",
           path);
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.coo_keys_count, 1);
  assert_int_equal(nc.ms_keys_count, 1);
  assert_memory_equal(nc.ms_public_keys[0], nc.coo_secret_keys[0] + 32, 32);
  uint8_t pk[32];
  memcpy(pk, nc.ms_public_keys[0], 32);
  pg_node_config_clear(&nc);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* the second load reads the same key */
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.coo_keys_count, 1);
  assert_memory_equal(nc.ms_public_keys[0], pk, 32);
  pg_node_config_clear(&nc);

  /* threshold above the number of coordinator keys */
  snprintf(text, sizeof text,
           "[coordinator]\nenabled = true\nseed_file = %s\n[milestones]\nthreshold = 2\n"
           "public_keys = %064d\n",
           path, 7);
  assert_int_equal(load(text, &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "threshold"));
  pg_node_config_clear(&nc);

  /* inline seeds; duplicates collapse; a bad one is named */
  snprintf(text, sizeof text, "[coordinator]\nenabled = true\nseeds = %064d, %064d\n", 1, 2);
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.coo_keys_count, 2);
  assert_int_equal(nc.ms_keys_count, 2);
  pg_node_config_clear(&nc);
  snprintf(text, sizeof text, "[coordinator]\nenabled = true\nseeds = %064d,%064d\n", 1, 1);
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.coo_keys_count, 1);
  pg_node_config_clear(&nc);
  assert_int_equal(load("[coordinator]\nenabled = true\nseeds = abc\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "seed"));
  pg_node_config_clear(&nc);

  /* a key file with garbage names file and line */
  char bad[300];
  snprintf(bad, sizeof bad, "%s/bad.key", g_dir);
  FILE *f = fopen(bad, "w");
  assert_non_null(f);
  fputs("# comment\n\nnot-a-seed\n", f);
  fclose(f);
  snprintf(text, sizeof text, "[coordinator]\nenabled = true\nseed_file = %s\n", bad);
  assert_int_equal(load(text, &nc, &d), PG_ERR_CONFIG);
  char want[320];
  snprintf(want, sizeof want, "%s:3", bad);
  if (!strstr(d.msg, want)) fail_msg("'%s' lacks '%s'", d.msg, want);
  pg_node_config_clear(&nc);
}

static void test_milestone_keys(void **state) {
  (void)state;
  pg_node_config nc;
  pg_diag d = {{0}};
  char text[512];
  snprintf(text, sizeof text, "[milestones]\npublic_keys = %064d,%064d\nthreshold = 2\n", 1, 2);
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.ms_keys_count, 2);
  assert_int_equal(nc.ms_threshold, 2);
  assert_false(nc.coo_enabled);
  pg_node_config_clear(&nc);
  assert_int_equal(load("[milestones]\npublic_keys = 12\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "public_keys"));
  pg_node_config_clear(&nc);

  /* more keys than fit on a line: a file */
  char path[300];
  snprintf(path, sizeof path, "%s/ms.keys", g_dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (int i = 1; i <= 5; i++) fprintf(f, "# key %d\n%064d\n", i, i);
  fclose(f);
  snprintf(text, sizeof text, "[milestones]\npublic_keys = %064d\npublic_keys_file = %s\nthreshold = 3\n",
           9, path);
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.ms_keys_count, 6);
  assert_int_equal(nc.ms_threshold, 3);
  pg_node_config_clear(&nc);
}

/* CHRYSALIS.md 9.2: seed 000102..1f, m/44'/4218'/0'/0'/0' */
#define TEST_BECH "atoi1qpzh8vqfphemeqpk3kgx04e7gec4sk5h5277d3x63da606sc5fumccppzax"
#define TEST_HEX "4573b0090df3bc80368d9067d73e4671585a97a2bde6c4da8b7ba7ea18a279bc"

static void expect_config_error(const char *text, const char *needle) {
  pg_node_config nc;
  pg_diag d = {{0}};
  int rc = load(text, &nc, &d);
  pg_node_config_clear(&nc);
  if (rc != PG_ERR_CONFIG) fail_msg("'%s' loaded (rc %d), want a config error", text, rc);
  if (!strstr(d.msg, needle)) fail_msg("error '%s' does not mention '%s'", d.msg, needle);
}

static void test_ledger(void **state) {
  (void)state;
  pg_node_config nc;
  pg_diag d = {{0}};
  if (load("[ledger]\ndust_protection = false\ngenesis = " TEST_BECH ":5, " TEST_HEX ":7\n", &nc, &d))
    fail_msg("%s", d.msg);
  assert_false(nc.dust_protection);
  assert_int_equal(nc.genesis_count, 2);
  assert_memory_equal(nc.genesis[0].address, nc.genesis[1].address, 32);
  assert_int_equal(nc.genesis[0].amount, 5);
  assert_int_equal(nc.genesis[1].amount, 7);
  pg_node_config_clear(&nc);

  /* a file: whitespace or ':' between address and amount, comments, blank lines */
  char path[300], text[600];
  snprintf(path, sizeof path, "%s/genesis.txt", g_dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "# genesis\n\n%s 1000\n  %s\t2000\r\n%s:3000\n", TEST_BECH, TEST_HEX, TEST_HEX);
  fclose(f);
  snprintf(text, sizeof text, "[ledger]\ngenesis = %s:1\ngenesis_file = %s\n", TEST_HEX, path);
  if (load(text, &nc, &d)) fail_msg("%s", d.msg);
  assert_int_equal(nc.genesis_count, 4);
  assert_int_equal(nc.genesis[0].amount, 1);
  assert_int_equal(nc.genesis[3].amount, 3000);
  pg_node_config_clear(&nc);

  /* errors name the item or the file line */
  expect_config_error("[ledger]\ngenesis = " TEST_BECH "\n", "genesis item 1");
  expect_config_error("[ledger]\ngenesis = " TEST_HEX ":0\n", "amount");
  expect_config_error("[ledger]\ngenesis = " TEST_HEX ":12x\n", "amount");
  expect_config_error("[ledger]\ngenesis = " TEST_HEX ":99999999999999999999999\n", "amount");
  expect_config_error("[ledger]\ngenesis = " TEST_HEX ":2779530283277761, " TEST_HEX ":1\n",
                      "supply");
  expect_config_error("[ledger]\ngenesis = 4573b0:5\n", "genesis item 1");
  /* TIP-11 vector with the mainnet HRP on an "atoi" node */
  expect_config_error(
      "[ledger]\ngenesis = iota1qrhacyfwlcnzkvzteumekfkrrwks98mpdm37cj4xx3drvmjvnep6xqgyzyx:5\n",
      "'atoi'");
  expect_config_error("[ledger]\ngenesis = " TEST_HEX "x:5\n", "genesis item 1");
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "# ok\n%s 1\n%s one\n", TEST_HEX, TEST_HEX);
  fclose(f);
  snprintf(text, sizeof text, "[ledger]\ngenesis_file = %s\n", path);
  char want[320];
  snprintf(want, sizeof want, "%s:3:", path);
  expect_config_error(text, want);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "# nothing\n");
  fclose(f);
  expect_config_error(text, "no genesis entry");
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

static void test_api_access(void **state) {
  (void)state;
  char text[1024], path[300];
  pg_node_config nc;
  pg_diag d = {{0}};
  assert_int_equal(load("", &nc, &d), PG_OK);
  assert_null(nc.tls_cert);
  assert_null(nc.post_ca);
  assert_int_equal(nc.post_token_count, 0);
  pg_node_config_clear(&nc);

  /* TLS files: together; client certificates need TLS; a CRL needs its CA */
  assert_int_equal(load("[api]\ntls_cert = a.crt\ntls_key = a.key\npost_ca = ca.crt\n"
                        "post_crl = crl.pem\n", &nc, &d),
                   PG_OK);
  assert_string_equal(nc.tls_cert, "a.crt");
  assert_string_equal(nc.tls_key, "a.key");
  assert_string_equal(nc.post_ca, "ca.crt");
  assert_string_equal(nc.post_crl, "crl.pem");
  pg_node_config_clear(&nc);
  assert_int_equal(load("[api]\ntls_cert = a.crt\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "[api] tls_cert and tls_key go together (tls_key is not set)"));
  pg_node_config_clear(&nc);
  assert_int_equal(load("[api]\npost_ca = ca.crt\n", &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "[api] post_ca needs tls_cert and tls_key"));
  pg_node_config_clear(&nc);
  assert_int_equal(load("[api]\ntls_cert = a.crt\ntls_key = a.key\npost_crl = crl.pem\n", &nc,
                        &d),
                   PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "post_crl needs post_ca"));
  pg_node_config_clear(&nc);
  /* an empty value unsets */
  assert_int_equal(load("[api]\ntls_cert =\ntls_key =\npost_tokens_file =\n", &nc, &d), PG_OK);
  assert_null(nc.tls_cert);
  assert_int_equal(nc.post_token_count, 0);
  pg_node_config_clear(&nc);

  /* tokens: one per line, comments, blank lines, duplicates once */
  snprintf(path, sizeof path, "%s/tokens", g_dir);
  write_file(path, "# POST tokens\n\n  wallet-0123456789abcdef  \r\nmeter-fedcba9876543210\n"
                   "wallet-0123456789abcdef\n",
             0600);
  snprintf(text, sizeof text, "[api]\npost_tokens_file = %s\n", path);
  assert_int_equal(load(text, &nc, &d), PG_OK);
  assert_int_equal(nc.post_token_count, 2);
  uint8_t h[32];
  pg_blake2b256("wallet-0123456789abcdef", 23, h);
  assert_memory_equal(nc.post_token_hashes[0], h, 32);
  pg_blake2b256("meter-fedcba9876543210", 22, h);
  assert_memory_equal(nc.post_token_hashes[1], h, 32);
  pg_node_config_clear(&nc);

  write_file(path, "# tokens\nshort\n", 0600);
  assert_int_equal(load(text, &nc, &d), PG_ERR_CONFIG);
  assert_non_null(
      strstr(d.msg, "tokens:2: a token must be 16 to 1024 characters (this one has 5)"));
  pg_node_config_clear(&nc);
  write_file(path, "good-token-0123456789\nbad token with spaces\n", 0600);
  assert_int_equal(load(text, &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "tokens:2: a token must be printable ASCII without spaces"));
  assert_null(strstr(d.msg, "bad token")); /* a diag never quotes a secret */
  pg_node_config_clear(&nc);
  write_file(path, "# nothing yet\n\n", 0600);
  assert_int_equal(load(text, &nc, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "no token in the file"));
  pg_node_config_clear(&nc);
  snprintf(text, sizeof text, "[api]\npost_tokens_file = %s/none\n", g_dir);
  assert_int_equal(load(text, &nc, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "cannot open"));
  pg_node_config_clear(&nc);
}

#define PK_LINE "[milestones]\npublic_keys = " \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"

/* [peers]: URLs, timings; a replica needs milestone keys and runs no
 * coordinator. */
static void test_peers(void **state) {
  (void)state;
  pg_node_config nc;
  pg_diag d = {{0}};
  assert_int_equal(load("", &nc, &d), PG_OK);
  assert_int_equal(nc.peer_count, 0);
  assert_int_equal(nc.peer_poll_ms, 1000);
  assert_int_equal(nc.peer_refuse_ms, 3600000);
  pg_node_config_clear(&nc);

  assert_int_equal(load(PK_LINE "[peers]\nurls = http://a:14265, https://b.example:443/\n"
                                "poll_interval = 250ms\nrefuse_for = 10m\nmax_backoff = 5s\n",
                        &nc, &d),
                   PG_OK);
  assert_int_equal(nc.peer_count, 2);
  assert_string_equal(nc.peer_urls[0], "http://a:14265");
  assert_string_equal(nc.peer_urls[1], "https://b.example:443/");
  assert_int_equal(nc.peer_poll_ms, 250);
  assert_int_equal(nc.peer_refuse_ms, 600000);
  assert_int_equal(nc.peer_max_backoff_ms, 5000);
  assert_null(nc.peer_ca_file);
  assert_int_equal(pg_node_workers(&nc), 4); /* a replica's POSTs wait for a peer */
  pg_node_config_clear(&nc);

  char tok[300], text[600];
  snprintf(tok, sizeof tok, "%s/peer.token", g_dir);
  FILE *f = fopen(tok, "w");
  assert_non_null(f);
  fputs("# the coordinator's POST token\n\n  peer-token-0123456789abcdef  \n", f);
  fclose(f);
  snprintf(text, sizeof text, PK_LINE "[peers]\nurls = http://a:1\ntoken_file = %s\n", tok);
  assert_int_equal(load(text, &nc, &d), PG_OK);
  assert_string_equal(nc.peer_bearer, "peer-token-0123456789abcdef");
  pg_node_config_clear(&nc);
  f = fopen(tok, "w");
  assert_non_null(f);
  fputs("# nothing\n", f);
  fclose(f);
  expect_config_error(text, "no token in the file");

  expect_config_error("[peers]\nurls = http://a:1\n", "needs [milestones] public_keys");
  expect_config_error(PK_LINE "[peers]\nurls = ftp://a:1\n", "not an http:// or https:// URL");
  expect_config_error(PK_LINE "[peers]\nurls = http://\n", "not an http:// or https:// URL");
  expect_config_error(PK_LINE "[peers]\nurls = http://a:1\n[coordinator]\nenabled = true\n"
                             "seeds = 0101010101010101010101010101010101010101010101010101010101010101\n",
                     "runs no coordinator");
  expect_config_error(PK_LINE "[peers]\nurls = http://a:1\npoll_interval = 1ms\n", "poll_interval");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_example_file),
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_coordinator_key_file),
      cmocka_unit_test(test_milestone_keys),
      cmocka_unit_test(test_ledger),
      cmocka_unit_test(test_api_access),
      cmocka_unit_test(test_peers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
