/* Issue 18: the grid's reads of open readings use the partial index
 * readings_open_party, so their cost follows the readings still open, not
 * every reading of the day (without it the record's lines and the parties
 * of a slot walked the whole table, late in a day of 1,000 homes 10 % of a
 * round); the status's last payments, the payouts due and a payout
 * batch's outputs use their indexes too, and so do every entity's
 * outbox reads (its unsent rows, not every message it sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/grid/grid_internal.h"

/* The plan of sql on a schema, one detail a line. */
static void plan_on(const char *schema, const char *sql, char *out, size_t cap) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, schema, NULL, NULL, NULL), SQLITE_OK);
  char q[2048];
  snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
  size_t len = 0;
  out[0] = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    int w = snprintf(out + len, cap - len, "%s\n", (const char *)sqlite3_column_text(st, 3));
    assert_true(w > 0 && (size_t)w < cap - len);
    len += (size_t)w;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The plan of sql on the grid's schema. */
static void plan_of(const char *sql, char *out, size_t cap) { plan_on(pg_gridop_schema, sql, out, cap); }

static void test_open_readings_of_a_party(void **state) {
  (void)state;
  char plan[1024];
  plan_of(pg_grid_sql_party_open_readings, plan, sizeof plan);
  if (!strstr(plan, "USING INDEX readings_open_party (entity_id=? AND slot<?)"))
    fail_msg("plan: %s", plan);
}

static void test_open_parties(void **state) {
  (void)state;
  char plan[1024];
  plan_of(pg_grid_sql_open_parties, plan, sizeof plan);
  if (!strstr(plan, "readings_open_party") || strstr(plan, "TEMP B-TREE"))
    fail_msg("plan: %s", plan);
}

/* the status's last ten payments: newest first through incoming_seen, not
 * a sort of every payment received (1,000 a slot) */
static void test_recent_payments(void **state) {
  (void)state;
  char plan[1024];
  plan_of(pg_grid_sql_recent_payments, plan, sizeof plan);
  if (!strstr(plan, "USING INDEX incoming_seen") || strstr(plan, "TEMP B-TREE"))
    fail_msg("plan: %s", plan);
}

/* the producers due a payout: only the rows not yet in a batch, already
 * grouped by the index (not every payout row ever made) */
static void test_due_payouts(void **state) {
  (void)state;
  char plan[1024];
  plan_of(pg_grid_sql_due_payouts, plan, sizeof plan);
  if (!strstr(plan, "SCAN p USING INDEX payouts_due") || strstr(plan, "TEMP B-TREE"))
    fail_msg("plan: %s", plan);
}

/* A payout batch's outputs (when it is sent) and their count (when it is
 * made) are read by the batch's id: the index of batched payouts, not a
 * scan of every payout ever made (40 a slot: a year is 1.4 million). */
static void test_batch_reads(void **state) {
  (void)state;
  char plan[1024];
  plan_of(pg_grid_sql_batch_outputs, plan, sizeof plan);
  if (!strstr(plan, "USING COVERING INDEX payouts_batch (batch_id=?)") || strstr(plan, "TEMP B-TREE"))
    fail_msg("plan: %s", plan);
  plan_of(pg_grid_sql_batch_set_total, plan, sizeof plan);
  if (!strstr(plan, "USING COVERING INDEX payouts_batch (batch_id=?)"))
    fail_msg("plan: %s", plan);
}

/* Every entity's outbox: its unsent rows (each flush) and the move of an
 * older outbox's created payloads (each open) read the unsent rows only,
 * not every message the entity ever sent (a grid: 1,000 a slot). */
static void test_outbox_reads(void **state) {
  (void)state;
  char plan[1024];
  plan_on(pg_entity_schema, pg_chan_sql_unsent, plan, sizeof plan);
  if (!strstr(plan, "SCAN o USING INDEX outbox_unsent") || strstr(plan, "TEMP B-TREE") ||
      !strstr(plan, "SEARCH m USING INTEGER PRIMARY KEY"))
    fail_msg("plan: %s", plan);
  const char *moves[] = {"INSERT OR REPLACE INTO outbox_made SELECT seq, payload, address FROM"
                         " outbox WHERE msg_id IS NULL AND payload IS NOT NULL",
                         "UPDATE outbox SET payload = NULL, address = NULL WHERE msg_id IS NULL"
                         " AND payload IS NOT NULL"};
  for (size_t i = 0; i < 2; i++) {
    assert_non_null(strstr(pg_entity_schema, moves[i])); /* what every open runs */
    plan_on(pg_entity_schema, moves[i], plan, sizeof plan);
    if (!strstr(plan, "SCAN outbox USING INDEX outbox_unsent")) fail_msg("plan: %s", plan);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_readings_of_a_party),
      cmocka_unit_test(test_open_parties),
      cmocka_unit_test(test_recent_payments),
      cmocka_unit_test(test_due_payouts),
      cmocka_unit_test(test_batch_reads),
      cmocka_unit_test(test_outbox_reads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
