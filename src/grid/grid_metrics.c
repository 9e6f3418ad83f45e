/* grid_metrics.c — the entities' Prometheus metrics (GET /metrics of every
 * entity daemon; metrics.h renders them). Counters are bumped where the
 * events happen (pg_grid_metrics_count from gridop.c, producer.c, ...);
 * gauges are read at scrape time from the entity's database with a few
 * indexed counts. Labels take values from the fixed lists below only: no
 * member id, no text a member sent. The list with meanings:
 * docs/OPERATIONS.md "Metrics". */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/metrics.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* which roles have a family: bits (1 << pg_grid_entity), grid = bit 0 */
#define R_GRID 1u
#define R_SRC (1u << PG_GRID_ENTITY_SOURCE)
#define R_PRO (1u << PG_GRID_ENTITY_PRODUCER)
#define R_CON (1u << PG_GRID_ENTITY_CONSUMER)
#define R_MEMBERS (R_SRC | R_PRO | R_CON)
#define R_ALL (R_GRID | R_MEMBERS)

enum {
  F_INFO, F_SLOTS_SETTLED, F_SLOTS_REPORTED, F_READINGS, F_BILLS_TOTAL, F_PAY_RECEIVED,
  F_PAY_SENT, F_BATCHES_TOTAL, F_REGISTRATIONS, F_REG_REQUESTS, F_NODE_ERRORS, F_PROBLEMS,
  F_OUTBOX, F_QUARANTINED, F_BILLS, F_PAYOUTS, F_FLOAT, F_FLOAT_MAX, F_MEMBERS, F_REQUESTS,
  F_POLLS, F_COUNT
};

static const char *const role_names[] = {"grid", "source", "producer", "consumer"};
static const char *const reading_outcomes[] = {"accepted", "quarantined", "refused", "duplicate"};
static const char *const batch_outcomes[] = {"sent", "confirmed"};
static const char *const reg_outcomes[] = {"registered", "failed", "refused"};
static const char *const request_outcomes[] = {"accepted", "refused"};
static const char *const bill_states[] = {"open", "paid"};
static const char *const payout_states[] = {"due", "sending", "sent", "confirmed"};
static const char *const member_roles[] = {"source", "producer", "consumer"};
static const char *const member_states[] = {"waiting", "active", "closed", "rejected", "removed"};
static const char *const request_states[] = {"new", "paying", "sent", "confirmed", "refused"};
static const char *const poll_kinds[] = {"payments", "payouts", "bills", "confirmations"};
/* pg_entity_problem's counters, as written in src/grid (anything else: "other") */
static const char *const problem_kinds[] = {
    "node_failures",     "attach_failures",     "read_failures",   "registration_failures",
    "registration_refused", "registration_answers_invalid", "rejected_channels",
    "refused_requests",  "bad_requests",        "payment_failures", "payment_conflicts",
    "payout_failures",   "payout_conflicts",    "payouts_waiting_for_float", "dust_failures",
    "meter_failures",    "other"};
/* the problems that are a failed call to the node */
static const char *const node_kinds[] = {"node_failures", "attach_failures", "read_failures"};

static const pg_metric_spec fams[F_COUNT] = {
    [F_INFO] = {"p2pgrid_entity_info", "1, with the daemon's role as a label.",
                PG_METRIC_GAUGE, "role", role_names, N(role_names)},
    [F_SLOTS_SETTLED] = {"p2pgrid_grid_slots_settled_total", "Slots settled.",
                         PG_METRIC_COUNTER},
    [F_SLOTS_REPORTED] = {"p2pgrid_entity_slots_reported_total",
                          "Slots whose reading (output or usage) was queued for the Tangle.",
                          PG_METRIC_COUNTER},
    [F_READINGS] = {"p2pgrid_entity_readings_total",
                    "Readings read from members' channels, by outcome.", PG_METRIC_COUNTER,
                    "outcome", reading_outcomes, N(reading_outcomes)},
    [F_BILLS_TOTAL] = {"p2pgrid_grid_bills_total",
                       "Payment requests (bills) issued to consumers.", PG_METRIC_COUNTER},
    [F_PAY_RECEIVED] = {"p2pgrid_entity_payments_received_total",
                        "Payments found on the Tangle and booked (grid: from consumers; "
                        "producer: payouts of the grid).",
                        PG_METRIC_COUNTER},
    [F_PAY_SENT] = {"p2pgrid_consumer_payments_sent_total",
                    "Payments sent for the grid's payment requests.", PG_METRIC_COUNTER},
    [F_BATCHES_TOTAL] = {"p2pgrid_grid_payout_batches_total",
                         "Payout batches to producers, by outcome.", PG_METRIC_COUNTER,
                         "outcome", batch_outcomes, N(batch_outcomes)},
    [F_REGISTRATIONS] = {"p2pgrid_entity_registrations_total",
                         "Registrations of our channel upstream, by outcome.", PG_METRIC_COUNTER,
                         "outcome", reg_outcomes, N(reg_outcomes)},
    [F_REG_REQUESTS] = {"p2pgrid_entity_registration_requests_total",
                        "Registration requests answered by our registration API, by outcome.",
                        PG_METRIC_COUNTER, "outcome", request_outcomes, N(request_outcomes)},
    [F_NODE_ERRORS] = {"p2pgrid_entity_node_errors_total",
                       "Calls to the node that failed (reads, attaches, lookups, transfers).",
                       PG_METRIC_COUNTER},
    [F_PROBLEMS] = {"p2pgrid_entity_problems_total",
                    "Problems logged at warn (the status API's errors), by kind.",
                    PG_METRIC_COUNTER, "kind", problem_kinds, N(problem_kinds)},
    [F_OUTBOX] = {"p2pgrid_entity_outbox_pending",
                  "Messages queued or created but not yet attached.", PG_METRIC_GAUGE},
    [F_QUARANTINED] = {"p2pgrid_grid_quarantined_readings",
                       "Readings held in the quarantine now.", PG_METRIC_GAUGE},
    [F_BILLS] = {"p2pgrid_grid_bills", "Bills by state (open: paid less than owed).",
                 PG_METRIC_GAUGE, "state", bill_states, N(bill_states)},
    [F_PAYOUTS] = {"p2pgrid_grid_payouts",
                   "Producers' payouts per slot by state (due: not in a batch yet; sending, "
                   "sent, confirmed: their batch's state).",
                   PG_METRIC_GAUGE, "state", payout_states, N(payout_states)},
    [F_FLOAT] = {"p2pgrid_grid_float_balance",
                 "What payouts may still use: payments received plus the float, less what "
                 "batches carry (base token units).",
                 PG_METRIC_GAUGE},
    [F_FLOAT_MAX] = {"p2pgrid_grid_float_max", "The configured float (base token units).",
                     PG_METRIC_GAUGE},
    [F_MEMBERS] = {"p2pgrid_entity_registered_channels",
                   "Channels registered at this entity, by member role and state.",
                   PG_METRIC_GAUGE, "role", member_roles, N(member_roles), "state", member_states,
                   N(member_states)},
    [F_REQUESTS] = {"p2pgrid_consumer_payment_requests",
                    "The grid's payment requests by state.", PG_METRIC_GAUGE, "state",
                    request_states, N(request_states)},
    [F_POLLS] = {"p2pgrid_entity_polls_total",
                 "Times the daemon asked its node for what it waits for, by what (grid: "
                 "payments on its address and confirmations of its payouts; producer: "
                 "payouts; consumer: bills on its return channel and confirmations of its "
                 "payments).",
                 PG_METRIC_COUNTER, "of", poll_kinds, N(poll_kinds)},
};

/* which roles export a family */
static const unsigned fam_roles[F_COUNT] = {
    [F_INFO] = R_ALL,
    [F_SLOTS_SETTLED] = R_GRID,
    [F_SLOTS_REPORTED] = R_MEMBERS,
    [F_READINGS] = R_GRID | R_PRO,
    [F_BILLS_TOTAL] = R_GRID,
    [F_PAY_RECEIVED] = R_GRID | R_PRO,
    [F_PAY_SENT] = R_CON,
    [F_BATCHES_TOTAL] = R_GRID,
    [F_REGISTRATIONS] = R_MEMBERS,
    [F_REG_REQUESTS] = R_GRID | R_PRO,
    [F_NODE_ERRORS] = R_ALL,
    [F_PROBLEMS] = R_ALL,
    [F_OUTBOX] = R_ALL,
    [F_QUARANTINED] = R_GRID,
    [F_BILLS] = R_GRID,
    [F_PAYOUTS] = R_GRID,
    [F_FLOAT] = R_GRID,
    [F_FLOAT_MAX] = R_GRID,
    [F_MEMBERS] = R_GRID | R_PRO,
    [F_REQUESTS] = R_CON,
    [F_POLLS] = R_GRID | R_PRO | R_CON,
};

struct pg_grid_metrics {
  pg_metrics *reg;
  pg_metric *f[F_COUNT]; /* NULL: not a family of this role */
  unsigned role_bit;
};

static unsigned role_bit(pg_grid_entity type) {
  return type == PG_GRID_ENTITY_SOURCE || type == PG_GRID_ENTITY_PRODUCER ||
                 type == PG_GRID_ENTITY_CONSUMER
             ? 1u << type
             : R_GRID;
}

int pg_grid_metrics_new(pg_grid_entity type, pg_grid_metrics **out, pg_diag *d) {
  *out = NULL;
  pg_grid_metrics *m = calloc(1, sizeof *m);
  if (!m || !(m->reg = pg_metrics_new())) {
    free(m);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  m->role_bit = role_bit(type);
  /* the info family has one series: this daemon's role */
  const char *const *role = &role_names[m->role_bit == R_GRID ? 0 : (size_t)type];
  int rc = PG_OK;
  for (size_t i = 0; i < F_COUNT && !rc; i++) {
    if (!(fam_roles[i] & m->role_bit)) continue;
    pg_metric_spec spec = fams[i];
    if (i == F_INFO) spec.v1 = role, spec.n1 = 1;
    rc = pg_metrics_add_spec(m->reg, &spec, &m->f[i], d);
  }
  if (rc) {
    pg_grid_metrics_free(m);
    return rc;
  }
  pg_metric_set(m->f[F_INFO], 0, 1);
  *out = m;
  return PG_OK;
}

void pg_grid_metrics_free(pg_grid_metrics *m) {
  if (!m) return;
  pg_metrics_free(m->reg);
  free(m);
}

void pg_grid_metrics_count(pg_grid_metrics *m, pg_grid_metric_event ev) {
  if (!m) return;
  static const struct {
    int fam;
    size_t series;
  } map[PG_GM_EVENTS] = {
      [PG_GM_SLOT_SETTLED] = {F_SLOTS_SETTLED, 0},
      [PG_GM_SLOT_REPORTED] = {F_SLOTS_REPORTED, 0},
      [PG_GM_READING_ACCEPTED] = {F_READINGS, 0},
      [PG_GM_READING_QUARANTINED] = {F_READINGS, 1},
      [PG_GM_READING_REFUSED] = {F_READINGS, 2},
      [PG_GM_READING_DUPLICATE] = {F_READINGS, 3},
      [PG_GM_BILL] = {F_BILLS_TOTAL, 0},
      [PG_GM_PAYMENT_RECEIVED] = {F_PAY_RECEIVED, 0},
      [PG_GM_PAYMENT_SENT] = {F_PAY_SENT, 0},
      [PG_GM_PAYOUT_SENT] = {F_BATCHES_TOTAL, 0},
      [PG_GM_PAYOUT_CONFIRMED] = {F_BATCHES_TOTAL, 1},
      [PG_GM_REGISTERED] = {F_REGISTRATIONS, 0},
      [PG_GM_REGISTRATION_FAILED] = {F_REGISTRATIONS, 1},
      [PG_GM_REGISTRATION_REFUSED] = {F_REGISTRATIONS, 2},
      [PG_GM_REG_REQUEST_ACCEPTED] = {F_REG_REQUESTS, 0},
      [PG_GM_REG_REQUEST_REFUSED] = {F_REG_REQUESTS, 1},
      [PG_GM_POLL_PAYMENTS] = {F_POLLS, 0},
      [PG_GM_POLL_PAYOUTS] = {F_POLLS, 1},
      [PG_GM_POLL_BILLS] = {F_POLLS, 2},
      [PG_GM_POLL_CONFIRMATIONS] = {F_POLLS, 3},
  };
  if ((unsigned)ev >= PG_GM_EVENTS) return;
  pg_metric_inc(m->f[map[ev].fam], map[ev].series);
}

void pg_grid_metrics_problem(pg_grid_metrics *m, const char *counter) {
  if (!m || !counter) return;
  size_t pos = pg_metric_value_pos(m->f[F_PROBLEMS], 0, counter);
  pg_metric_inc(m->f[F_PROBLEMS], pos != SIZE_MAX ? pos : N(problem_kinds) - 1);
  for (size_t i = 0; i < N(node_kinds); i++)
    if (strcmp(counter, node_kinds[i]) == 0) pg_metric_inc(m->f[F_NODE_ERRORS], 0);
}

/* ---- gauges at scrape time ---- */

/* f[series] = the one integer of sql. */
static int gauge_sql(pg_grid_metrics *m, int f, size_t series, sqlite3 *db, const char *sql,
                     pg_diag *d) {
  if (!m->f[f]) return PG_OK;
  int64_t v = 0;
  int rc = pg_db_i64(db, sql, 0, 0, &v, d);
  if (!rc) pg_metric_set(m->f[f], series, v);
  return rc;
}

/* f by the (a, b) rows of sql "SELECT a, b, COUNT(*) ... GROUP BY a, b" (two
 * labels, a = row of the first, b of the second; one label: b = 0). Series
 * not in the answer are 0; codes outside the lists are not shown. */
static int gauge_rows(pg_grid_metrics *m, int f, sqlite3 *db, const char *sql, int a0,
                      size_t na, size_t nb, pg_diag *d) {
  if (!m->f[f]) return PG_OK;
  int64_t counts[16 * 8] = {0};
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, sql, &st, d);
  if (rc) return rc;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t a = sqlite3_column_int64(st, 0) - a0, b = sqlite3_column_int64(st, 1);
    if (a >= 0 && (size_t)a < na && b >= 0 && (size_t)b < nb) counts[a * nb + b] =
        sqlite3_column_int64(st, 2);
  }
  if (s != SQLITE_DONE) rc = pg_db_fail(db, d, "metrics");
  pg_stmt_put(st);
  for (size_t i = 0; !rc && i < na * nb; i++) pg_metric_set(m->f[f], i, counts[i]);
  return rc;
}

static int read_gauges(pg_entity *e, sqlite3 *db, pg_diag *d) {
  pg_grid_metrics *m = e->metrics;
  int64_t pending = 0;
  int rc = pg_chan_pending(db, &pending, d);
  if (!rc) pg_metric_set(m->f[F_OUTBOX], 0, pending);
  if (!rc)
    rc = gauge_sql(m, F_QUARANTINED, 0, db, "SELECT COUNT(*) FROM quarantine WHERE state = 'held'",
                   d);
  if (!rc)
    rc = gauge_rows(m, F_BILLS, db,
                    "SELECT 0, 0, bills - bills_paid FROM grid_totals UNION ALL"
                    " SELECT 1, 0, bills_paid FROM grid_totals", 0, 2, 1, d);
  if (!rc)
    rc = gauge_rows(m, F_PAYOUTS, db,
                    "SELECT state + 1, 0, SUM(payouts) FROM payout_totals GROUP BY state",
                    0, 4, 1, d);
  if (!rc)
    rc = gauge_rows(m, F_MEMBERS, db,
                    "SELECT type, state, COUNT(*) FROM registrations GROUP BY type, state",
                    PG_GRID_ENTITY_SOURCE, 3, 5, d);
  if (!rc)
    rc = gauge_rows(m, F_REQUESTS, db,
                    "SELECT state, 0, COUNT(*) FROM requests GROUP BY state", 0, 5, 1, d);
  return rc;
}

int pg_entity_metrics(pg_entity *e, sqlite3 *db, const int64_t *float_balance,
                      uint64_t float_max, pg_buf *out, pg_diag *d) {
  if (!e->metrics) return pg_fail(d, PG_ERR_STATE, "%s: no metrics", e->role);
  int rc = read_gauges(e, db, d);
  if (rc) return rc;
  if (float_balance) {
    pg_metric_set(e->metrics->f[F_FLOAT], 0, *float_balance);
    pg_metric_set(e->metrics->f[F_FLOAT_MAX], 0, (int64_t)float_max);
  }
  rc = pg_metrics_render(e->metrics->reg, out);
  return rc ? pg_fail(d, rc, "%s: metrics text: %s", e->role, pg_strerror(rc)) : PG_OK;
}

int pg_entity_member_metrics(pg_entity *e, pthread_mutex_t *mu, sqlite3 *db, pg_buf *out,
                             pg_diag *d) {
  pthread_mutex_lock(mu);
  int rc = pg_entity_metrics(e, db, NULL, 0, out, d);
  pthread_mutex_unlock(mu);
  return rc;
}
