/* Value transfers validated and confirmed per second, in process: signed
 * transaction payloads (one input, one output, one Ed25519 signature each)
 * are attached to a Tangle with the node's ledger as its white-flag hook
 * (min PoW score 0), and the coordinator confirms them with milestones
 * (dry run for the inclusion Merkle root, then white flag: UTXO checks,
 * signature verification, booking). As in the node, a transfer's signature
 * is verified when it is attached (the ledger's submit hook), so the
 * confirmation finds it verified. Printed beside libsodium's raw
 * crypto_sign_verify_detached rate measured in the same run, the limit a
 * transfer's one signature puts on it.
 *
 *   bench_ledger
 *
 * Three sizes: 100, 1000 and 5000 transfers per milestone (2 milestones'
 * worth each). The transfers are signed before the clock starts; the time
 * counts attaching them (tip selection, parse, storage) and confirming them.
 * Prints "name: value unit" lines only, rates per second of this process's
 * CPU time (single-threaded work: the wall time on an idle machine; env
 * PG_BENCH_WALL=1 for wall-clock seconds). Env PG_BENCH_LEDGER_SCALE
 * (default 1) multiplies the sizes. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/tangle.h"
#include "p2pgrid/ledger/transaction.h"

#include "util.h"

#define NKEYS 64
#define AMOUNT 10000000ULL
#define BATCHES 2

/* The clock all figures use: this process's CPU time (one thread does all
 * the work, so on an idle machine it is the wall time, and on a busy one it
 * still counts only our work). PG_BENCH_WALL=1 uses the wall clock. */
static clockid_t bench_clock = CLOCK_PROCESS_CPUTIME_ID;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t SK[NKEYS][64], PK[NKEYS][32], ADDR[NKEYS][32], COO[1][64];

static void make_keys(void) {
  for (int i = 0; i < NKEYS; i++) {
    uint8_t seed[32];
    memset(seed, i + 1, sizeof seed);
    pg_ed25519_from_seed(seed, PK[i], SK[i]);
    pg_blake2b256(PK[i], 32, ADDR[i]);
  }
  uint8_t seed[32], pk[32];
  memset(seed, 0xc0, sizeof seed);
  pg_ed25519_from_seed(seed, pk, COO[0]);
}

/* Raw libsodium Ed25519 verifications per second (32-byte messages, as a
 * transaction's essence hash). */
static double raw_verify_rate(void) {
  enum { N = 256 };
  static uint8_t msg[N][32], sig[N][64];
  for (int i = 0; i < N; i++) {
    randombytes_buf(msg[i], 32);
    crypto_sign_detached(sig[i], NULL, msg[i], 32, SK[i % NKEYS]);
  }
  size_t done = 0, bad = 0;
  double t0 = now_s(), t1;
  do {
    for (int i = 0; i < N; i++)
      bad += crypto_sign_verify_detached(sig[i], msg[i], 32, PK[i % NKEYS]) != 0;
    done += N;
  } while ((t1 = now_s()) - t0 < 1.0);
  if (bad) fprintf(stderr, "bench_ledger: %zu raw verifications failed\n", bad);
  return (double)done / (t1 - t0);
}

typedef struct world {
  char dir[256];
  pg_ledger *l;
  pg_tangle *t;
  size_t n;                 /* transfers = genesis outputs */
  pg_genesis_output *genesis;
  pg_buf *payloads;         /* one signed transaction payload per transfer */
} world;

static void world_free(world *w) {
  pg_tangle_close(w->t);
  pg_ledger_free(w->l);
  if (w->payloads)
    for (size_t i = 0; i < w->n; i++) pg_buf_free(&w->payloads[i]);
  free(w->payloads);
  free(w->genesis);
  if (w->dir[0]) bench_rmtree(w->dir);
}

/* Genesis output i (key i % NKEYS) goes to key (i + 1) % NKEYS. */
static int sign_all(world *w, pg_diag *d) {
  w->payloads = calloc(w->n, sizeof *w->payloads);
  if (!w->payloads) return PG_ERR_NOMEM;
  for (size_t i = 0; i < w->n; i++) {
    pg_tx_input_spec in = {.output_index = (uint16_t)(i % 126)};
    pg_genesis_tx_id((uint32_t)(i / 126), in.tx_id);
    memcpy(in.secret_key, SK[i % NKEYS], 64);
    pg_tx_output_spec out = {.type = 0, .amount = AMOUNT};
    memcpy(out.address, ADDR[(i + 1) % NKEYS], 32);
    pg_buf_init(&w->payloads[i], PG_MSG_MAX_LEN);
    int rc = pg_transaction_build(&w->payloads[i], &in, 1, &out, 1, NULL, 0, NULL, 0, NULL, d);
    if (rc) return rc;
  }
  return PG_OK;
}

static int world_open(world *w, size_t n, pg_diag *d) {
  memset(w, 0, sizeof *w);
  snprintf(w->dir, sizeof w->dir, "%s/pg-bench-ledger-XXXXXX", bench_tmpbase());
  if (!mkdtemp(w->dir)) {
    w->dir[0] = '\0';
    return pg_fail(d, PG_ERR_IO, "mkdtemp failed");
  }
  w->n = n;
  w->genesis = calloc(n, sizeof *w->genesis);
  if (!w->genesis) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    memcpy(w->genesis[i].address, ADDR[i % NKEYS], 32);
    w->genesis[i].amount = AMOUNT;
  }
  pg_ledger_config lc = {.dust_protection = true, .genesis_count = n, .genesis = w->genesis};
  int rc = pg_ledger_new(&lc, &w->l);
  if (rc) return rc;
  pg_tangle_config tc;
  pg_tangle_config_defaults(&tc);
  tc.data_dir = w->dir;
  tc.ms_keys_count = 1;
  memcpy(tc.ms_public_keys[0], COO[0] + 32, 32);
  tc.ms_threshold = 1;
  tc.tx_confirm = pg_ledger_apply; /* as pg_ledger_open_tangle wires the node's */
  tc.tx_confirm_ctx = w->l;
  tc.tx_precheck = pg_ledger_precheck;
  tc.tx_precheck_ctx = w->l;
  if ((rc = pg_tangle_open(&tc, &w->t, d))) return rc;
  if ((rc = pg_ledger_attach(w->l, pg_tangle_db(w->t), pg_tangle_db_path(w->t), d))) return rc;
  uint32_t index;
  if ((rc = pg_tangle_issue_milestone(w->t, (const uint8_t(*)[64])COO, 1, NULL, &index, d)))
    return rc;
  return sign_all(w, d);
}

/* Attaches transfers [from, to) on tips, as POST /messages does. */
static int attach_range(world *w, size_t from, size_t to, pg_diag *d) {
  uint64_t net = pg_network_id("private-tangle");
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  int rc = PG_OK;
  for (size_t i = from; i < to && rc == PG_OK; i++) {
    uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
    size_t np = 0;
    pg_buf_reset(&msg);
    if ((rc = pg_tangle_select_tips(w->t, parents, PG_MSG_MAX_PARENTS, &np))) break;
    rc = pg_message_build(&msg, net, &parents[0][0], np, w->payloads[i].data, w->payloads[i].len,
                          0, d);
    if (rc == PG_OK) rc = pg_tangle_submit(w->t, msg.data, msg.len, NULL, NULL, d);
  }
  pg_buf_free(&msg);
  return rc;
}

/* Whether transfer i's genesis input is spent. */
static bool spent(world *w, size_t i) {
  uint8_t txid[32], oid[PG_OUTPUT_ID_LEN];
  pg_genesis_tx_id((uint32_t)(i / 126), txid);
  pg_output_id(txid, (uint16_t)(i % 126), oid);
  pg_output_info o;
  return pg_ledger_output(w->l, oid, &o) == PG_OK && o.spent;
}

/* Transfers per second (attach + confirm) and confirmation alone; -1 on failure. */
static int run(size_t per_ms, double *total_rate, double *confirm_rate) {
  world w;
  pg_diag d = {{0}};
  size_t n = per_ms * BATCHES;
  int rc = world_open(&w, n, &d);
  double t_attach = 0, t_confirm = 0;
  for (size_t b = 0; b < BATCHES && rc == PG_OK; b++) {
    double t0 = now_s();
    rc = attach_range(&w, b * per_ms, (b + 1) * per_ms, &d);
    double t1 = now_s();
    uint32_t index;
    if (rc == PG_OK)
      rc = pg_tangle_issue_milestone(w.t, (const uint8_t(*)[64])COO, 1, NULL, &index, &d);
    t_attach += t1 - t0;
    t_confirm += now_s() - t1;
  }
  /* messages the last milestone's tips did not reach: more milestones */
  for (int extra = 0; rc == PG_OK && extra < 8 && !spent(&w, n - 1); extra++) {
    double t0 = now_s();
    uint32_t index;
    rc = pg_tangle_issue_milestone(w.t, (const uint8_t(*)[64])COO, 1, NULL, &index, &d);
    t_confirm += now_s() - t0;
  }
  size_t confirmed = 0;
  for (size_t i = 0; rc == PG_OK && i < n; i++) confirmed += spent(&w, i);
  if (rc == PG_OK && confirmed != n)
    fprintf(stderr, "bench_ledger: %zu of %zu transfers confirmed\n", confirmed, n);
  if (rc) fprintf(stderr, "bench_ledger: %s\n", d.msg[0] ? d.msg : pg_strerror(rc));
  world_free(&w);
  if (rc || confirmed == 0) return -1;
  *total_rate = (double)confirmed / (t_attach + t_confirm);
  *confirm_rate = (double)confirmed / t_confirm;
  return 0;
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const char *sc = getenv("PG_BENCH_LEDGER_SCALE");
  double scale = sc ? atof(sc) : 1.0;
  if (scale <= 0) scale = 1.0;
  const char *wall = getenv("PG_BENCH_WALL");
  if (wall && strcmp(wall, "1") == 0) bench_clock = CLOCK_MONOTONIC;
  make_keys();
  printf("ledger_ed25519_raw_verify: %.0f verifications/s\n", raw_verify_rate());
  fflush(stdout);
  static const size_t sizes[] = {100, 1000, 5000};
  int status = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t per_ms = (size_t)((double)sizes[i] * scale);
    if (per_ms < 1) per_ms = 1;
    double total, confirm;
    if (run(per_ms, &total, &confirm) != 0) {
      status = 1;
      continue;
    }
    printf("ledger_transfers_%zu_per_milestone: %.0f transfers/s\n", per_ms, total);
    printf("ledger_transfers_%zu_per_milestone_confirm_only: %.0f transfers/s\n", per_ms, confirm);
    fflush(stdout);
  }
  return status;
}
