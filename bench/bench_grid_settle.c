/* The grid's settlement alone: slots settled per second with 1,000 members
 * (960 consumers, 40 producers), every reading judged and booked, bills
 * and payment requests queued, payout rows written, in one SQLite
 * transaction per slot (synchronous=FULL, in a temp dir). No Tangle work:
 * readings are put into the grid's database before the measured loop, and
 * the queued payment requests are never published. Prints
 * "grid_settle_<n>: X slots/s (Y us per member)" only.
 * Optional argv[1]: slots to settle (default 40). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/base/log.h"

#define NPROD 40
#define NCONS 960
#define SLOT_MS 900000ULL
#define START_MS 1700000000000ULL

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const pg_diag *d) {
  fprintf(stderr, "bench_grid_settle: %s: %s\n", what, d ? d->msg : "");
  exit(1);
}

/* Enrols and registers a member through the registration API, as the member. */
static void add_member(pg_gridop *g, pg_ca *ca, const char *id, pg_role role, uint64_t t) {
  pg_diag d = {{0}};
  pg_cert_opts co = {.id = id, .role = role, .max_w = 1000000};
  char *kp = NULL, *cp = NULL;
  pg_tls_key *k = NULL;
  if (pg_ca_issue(ca, &co, &kp, &cp, &d) || pg_tls_key_from_pem(kp, cp, &k, &d)) die(id, &d);
  size_t n = 0;
  const uint8_t *der = pg_tls_key_cert_der(k, &n);
  if (pg_gridop_enrol(g, NULL, der, n, NULL, NULL, &d)) die("enrol", &d);
  pg_grid_registration r = {.type = role == PG_ROLE_PRODUCER ? PG_GRID_ENTITY_PRODUCER
                                                             : PG_GRID_ENTITY_CONSUMER};
  snprintf(r.name, sizeof r.name, "%s", id);
  for (int i = 0; i < PG_GRID_TRYTES; i++) r.channel.root[i] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rand() % 27];
  snprintf(r.channel.side_key, sizeof r.channel.side_key, "KEY");
  r.time = t;
  pg_buf b;
  pg_buf_init(&b, 4096);
  if (pg_grid_binding_bytes(id, &r.channel, t, &b, &d) ||
      pg_tls_sign(k, b.data, b.len, r.signature.sig, sizeof r.signature.sig, &r.signature.sig_len, &d))
    die("sign", &d);
  pg_buf_reset(&b);
  if (pg_grid_registration_serialize(&r, &b, &d)) die("body", &d);
  pg_httpd_peer peer = {.tls = true, .has_cert = true, .verified = true, .cert_der = der, .cert_len = n};
  if (pg_member_from_cert(der, n, &peer.member, &d)) die("member", &d);
  char path[96];
  snprintf(path, sizeof path, "/registration/%s", id);
  unsigned st = 0;
  pg_buf resp;
  pg_buf_init(&resp, 4096);
  if (pg_gridop_handle(g, &peer, "PUT", path, b.data, b.len, &st, &resp) || st != 201) die("register", NULL);
  pg_buf_free(&resp);
  pg_buf_free(&b);
  pg_tls_key_free(k);
  pg_tls_free_secret(kp);
  free(cp);
}

/* The readings of slots [0, nslots) as the grid books them, straight into its database. */
static void put_readings(const char *db_path, uint64_t k0, int nslots) {
  sqlite3 *db = NULL;
  if (sqlite3_open(db_path, &db) != SQLITE_OK) die("open", NULL);
  sqlite3_busy_timeout(db, 10000);
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  /* the node's HRP, as the grid remembers it after asking once */
  sqlite3_exec(db, "INSERT OR REPLACE INTO kv(key, value) VALUES ('hrp', 'atoi')", NULL, NULL, NULL);
  sqlite3_stmt *st = NULL;
  sqlite3_prepare_v2(db, "INSERT INTO readings(entity_id, kind, slot, wh, price, address, msg_id,"
                         " received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)", -1, &st, NULL);
  for (int s = 0; s < nslots; s++)
    for (int i = 0; i < NPROD + NCONS; i++) {
      char id[32];
      bool prod = i < NPROD;
      snprintf(id, sizeof id, prod ? "producer-%d" : "consumer-%d", prod ? i : i - NPROD);
      sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(st, 2, prod ? PG_GRID_ENTITY_PRODUCER : PG_GRID_ENTITY_CONSUMER);
      sqlite3_bind_int64(st, 3, (sqlite3_int64)(k0 + (uint64_t)s));
      sqlite3_bind_int64(st, 4, prod ? 5000 + rand() % 20000 : rand() % 900);
      if (rand() % 3) sqlite3_bind_int64(st, 5, 80000000 + rand() % 200000000);
      else sqlite3_bind_null(st, 5);
      if (prod) sqlite3_bind_text(st, 6, "atoi1qqqssrckr5jzkv3egpr5u42uvd48z7rls6xefxaz4xct00k9enfa5f8kcfx", -1, SQLITE_STATIC);
      else sqlite3_bind_null(st, 6);
      /* a message id of its own per reading (the settlement record lists them) */
      char mid[65];
      snprintf(mid, sizeof mid, "%08x%08x%048d", (unsigned)s, (unsigned)i, 0);
      sqlite3_bind_text(st, 7, mid, -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) != SQLITE_DONE) die("readings", NULL);
      sqlite3_reset(st);
    }
  sqlite3_finalize(st);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) die("commit", NULL);
  sqlite3_close(db);
}

int main(int argc, char **argv) {
  int nslots = argc > 1 ? atoi(argv[1]) : 40;
  if (nslots <= 0) nslots = 40;
  pg_log_set_level(PG_LOG_ERROR);
  char dir[64] = "/tmp/p2pgrid-bench-settle-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp", NULL);
  pg_diag d = {{0}};
  pg_vclock clock;
  pg_vclock_init(&clock, START_MS);
  pg_client *c = NULL;
  pg_http_client_opts ho = {.base_url = "http://127.0.0.1:9"}; /* never called */
  if (pg_client_http_new(&ho, &c, &d)) die("client", &d);
  uint8_t seed[32] = {9};
  char gdir[128];
  snprintf(gdir, sizeof gdir, "%s/grid", dir);
  pg_entity_opts eo = {.id = "grid", .data_dir = gdir, .client = c, .clock = &clock.base,
                       .slot_ms = SLOT_MS};
  pg_gridop_opts go = {.mech = PG_MARKET_PAY_AS_CLEAR, .import_price = 300000000,
                       .export_price = 80000000, .fee_per_kwh = 5000000, .seed = seed,
                       .seed_len = 32, .limits = {.rate_per_min = 100000, .max_channels = 10}};
  pg_gridop *g = NULL;
  if (pg_gridop_open(&eo, &go, &g, &d)) die("grid", &d);
  pg_ca *ca = NULL;
  if (pg_ca_new_ephemeral("bench", &ca, &d)) die("CA", &d);
  for (int i = 0; i < NPROD + NCONS; i++) {
    char id[32];
    bool prod = i < NPROD;
    snprintf(id, sizeof id, prod ? "producer-%d" : "consumer-%d", prod ? i : i - NPROD);
    add_member(g, ca, id, prod ? PG_ROLE_PRODUCER : PG_ROLE_CONSUMER, START_MS);
  }
  uint64_t k0 = START_MS / SLOT_MS;
  char db_path[160];
  snprintf(db_path, sizeof db_path, "%s/grid.db", gdir);
  put_readings(db_path, k0, nslots);
  /* the first settlement call fixes next_slot at the current slot */
  if (pg_gridop_settle_due(g, &d)) die("settle", &d);
  pg_vclock_set(&clock, (k0 + (uint64_t)nslots) * SLOT_MS + SLOT_MS / 2 + 1);
  double t0 = now();
  if (pg_gridop_settle_due(g, &d)) die("settle", &d);
  double t = now() - t0;
  int members = NPROD + NCONS;
  printf("grid_settle_%d: %.1f slots/s (%.1f us per member; %d slots, bills and payment"
         " requests queued, payout rows)\n",
         members, nslots / t, t / nslots / members * 1e6, nslots);
  pg_gridop_close(g);
  pg_ca_close(ca);
  pg_client_free(c);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "bench_grid_settle: could not remove %s\n", dir);
  return 0;
}
