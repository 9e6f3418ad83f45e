/* test_audit_dir.c — the read-only client over a node's data directory
 * answers exactly what the in-process client answers over the same Tangle
 * and ledger (messages, metadata, JSON, the indexation index, milestones,
 * outputs), refuses every write, and leaves the database untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2pgrid/audit/audit.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/ledger/ledger.h"
#include "tangle_test_util.h"

static void test_same_answers(void **state) {
  (void)state;
  tt_fixture f;
  memset(&f, 0, sizeof f);
  f.dir = tt_mkdtemp();
  pg_vclock_init(&f.clock, TT_START_MS);
  tt_config(&f.cfg, f.dir, &f.clock, 1);
  uint8_t addr[32], sk[64], pk[32];
  memset(addr, 0x5a, sizeof addr);
  tt_key(0, pk, sk);
  pg_genesis_output g = {.amount = 5000000};
  memcpy(g.address, addr, 32);
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = 1, .genesis = &g};
  pg_ledger *l = NULL;
  assert_int_equal(pg_ledger_new(&lc, &l), PG_OK);
  f.cfg.tx_confirm = pg_ledger_apply, f.cfg.tx_confirm_ctx = l;
  f.t = tt_open(&f.cfg);
  pg_diag d = {{0}};
  assert_int_equal(pg_ledger_attach(l, pg_tangle_db(f.t), pg_tangle_db_path(f.t), &d), PG_OK);
  uint8_t id[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f.t, &TT_SEP, 1, "p2pgrid:ref-1", "hello", id), PG_OK);
  uint32_t ms = 0;
  assert_int_equal(pg_tangle_issue_milestone(f.t, (const uint8_t(*)[64])sk, 1, NULL, &ms, &d), PG_OK);

  pg_client *lc_ = NULL, *dc = NULL;
  assert_int_equal(pg_client_local_new(f.t, l, &lc_, &d), PG_OK);
  char db[600];
  snprintf(db, sizeof db, "%s/tangle.db", f.dir);
  struct stat before, after;
  assert_int_equal(stat(db, &before), 0);
  assert_int_equal(pg_audit_dir_client(f.dir, &dc, &d), PG_OK);

  uint8_t a[8][PG_ID_LEN], b[8][PG_ID_LEN];
  size_t na, nb, ta, tb;
  const char *ix = "p2pgrid:ref-1";
  assert_int_equal(pg_client_find_index(lc_, (const uint8_t *)ix, strlen(ix), a, 8, &na, &ta, &d), PG_OK);
  assert_int_equal(pg_client_find_index(dc, (const uint8_t *)ix, strlen(ix), b, 8, &nb, &tb, &d), PG_OK);
  assert_int_equal(na, 1);
  assert_int_equal(nb, na);
  assert_memory_equal(a[0], b[0], PG_ID_LEN);
  pg_msg_meta ma, mb;
  assert_int_equal(pg_client_get_meta(lc_, id, &ma, &d), PG_OK);
  assert_int_equal(pg_client_get_meta(dc, id, &mb, &d), PG_OK);
  assert_int_equal(mb.referenced_by, ma.referenced_by);
  assert_true(mb.referenced_by > 0);
  assert_int_equal(mb.inclusion, ma.inclusion);
  assert_int_equal(mb.parents_count, ma.parents_count);
  json_t *ja = NULL, *jb = NULL;
  assert_int_equal(pg_client_get_json(lc_, id, &ja, &d), PG_OK);
  assert_int_equal(pg_client_get_json(dc, id, &jb, &d), PG_OK);
  assert_true(json_equal(ja, jb));
  json_decref(ja), json_decref(jb);
  pg_milestone_info ia, ib;
  assert_int_equal(pg_client_milestone(lc_, ms, &ia, &d), PG_OK);
  assert_int_equal(pg_client_milestone(dc, ms, &ib, &d), PG_OK);
  assert_memory_equal(ia.message_id, ib.message_id, PG_ID_LEN);
  assert_int_equal(pg_client_milestone(dc, ms + 1, &ib, &d), PG_ERR_NOT_FOUND);
  uint8_t oa[4][PG_OUTPUT_ID_LEN], ob[4][PG_OUTPUT_ID_LEN];
  assert_int_equal(pg_client_address_outputs(lc_, addr, true, oa, 4, &na, &ta, &d), PG_OK);
  assert_int_equal(pg_client_address_outputs(dc, addr, true, ob, 4, &nb, &tb, &d), PG_OK);
  assert_int_equal(na, 1);
  assert_int_equal(nb, 1);
  assert_memory_equal(oa[0], ob[0], PG_OUTPUT_ID_LEN);
  pg_output_info xa, xb;
  assert_int_equal(pg_client_output(lc_, oa[0], &xa, &d), PG_OK);
  assert_int_equal(pg_client_output(dc, ob[0], &xb, &d), PG_OK);
  assert_int_equal(xb.amount, xa.amount);
  assert_memory_equal(xb.address, xa.address, 32);
  pg_node_info ni;
  assert_int_equal(pg_client_info(dc, &ni, &d), PG_OK);
  assert_string_equal(ni.network, "private-tangle");
  assert_int_equal(ni.confirmed_milestone_index, ms);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  uint8_t none[PG_ID_LEN] = {1};
  assert_int_equal(pg_client_get_raw(dc, none, &raw, &d), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_client_get_raw(dc, id, &raw, &d), PG_OK);
  /* no writes: posting is refused, the file is untouched */
  uint8_t out[PG_ID_LEN];
  assert_int_equal(pg_client_submit_raw(dc, raw.data, raw.len, out, &d), PG_ERR_UNSUPPORTED);
  assert_int_equal(pg_client_submit_data(dc, (const uint8_t *)"x", 1, NULL, 0, out, &d),
                   PG_ERR_UNSUPPORTED);
  pg_buf_free(&raw);
  pg_client_free(dc);
  assert_int_equal(stat(db, &after), 0);
  assert_int_equal(after.st_size, before.st_size);
  assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  /* not a node's data dir */
  assert_int_equal(pg_audit_dir_client("/nonexistent-p2pgrid", &dc, &d), PG_ERR_NOT_FOUND);
  pg_client_free(lc_);
  pg_ledger_free(l);
  pg_tangle_close(f.t);
  tt_rmrf(f.dir);
}

/* A store held by another process (a running node daemon: tangle.h
 * pg_tangle_config.process) is refused with what to do instead. */
static void test_held_by_a_running_node(void **state) {
  tt_fixture f = *(tt_fixture *)*state; /* its dir removed by tt_teardown */
  f.cfg.process = true;
  int ready[2], done[2];
  assert_int_equal(pipe(ready), 0);
  assert_int_equal(pipe(done), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* "the node" */
    pg_tangle *t = NULL;
    pg_diag cd = {{0}};
    char c = pg_tangle_open(&f.cfg, &t, &cd) == PG_OK ? 'y' : 'n';
    uint8_t id[PG_ID_LEN];
    if (c == 'y' && tt_submit_ix(t, &TT_SEP, 1, "p2pgrid:held", "x", id) != PG_OK) c = 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    if (read(done[0], &c, 1) != 1) _exit(3);
    pg_tangle_close(t);
    _exit(0);
  }
  char c = 0;
  assert_int_equal(read(ready[0], &c, 1), 1);
  assert_int_equal(c, 'y');
  pg_client *dc = NULL;
  pg_diag d = {{0}};
  int rc = pg_audit_dir_client(f.dir, &dc, &d);
  assert_int_equal(write(done[1], "x", 1), 1);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_int_equal(rc, PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "held by a running node"));
  assert_non_null(strstr(d.msg, "--node http://"));
  /* once the node is gone the directory is read */
  assert_int_equal(pg_audit_dir_client(f.dir, &dc, &d), PG_OK);
  pg_client_free(dc);
  close(ready[0]), close(ready[1]), close(done[0]), close(done[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_same_answers),
                                     cmocka_unit_test_setup_teardown(test_held_by_a_running_node, tt_setup, tt_teardown)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
