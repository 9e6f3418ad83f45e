/* The UTXO ledger: semantic validation (TIP-7, TIP-14, TIP-15) and booking of
 * transactions in white-flag order, inside the Tangle's confirmation
 * transaction. See include/p2pgrid/ledger/ledger.h for the contract. */
#include "p2pgrid/ledger/ledger.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"
#include "ledger_internal.h"

#define GENESIS_TAG "p2pgrid-genesis"
#define SCHEMA_VERSION 1

enum {
  W_GET_OUTPUT,
  W_INSERT_OUTPUT,
  W_SPEND_OUTPUT,
  W_INSERT_TX,
  W_DUST_COUNT,
  W_ALLOWANCE_SUM,
  W_COUNT
};

static const char *const WRITE_SQL[W_COUNT] = {
    [W_GET_OUTPUT] = "SELECT type, address, amount, spent_index FROM ledger_outputs "
                     "WHERE output_id = ?1",
    [W_INSERT_OUTPUT] = "INSERT INTO ledger_outputs(output_id, tx_id, output_index, message_id, "
                        "type, address, amount, booked_index) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
    [W_SPEND_OUTPUT] = "UPDATE ledger_outputs SET spent_index = ?2, spent_tx_id = ?3 "
                       "WHERE output_id = ?1 AND spent_index IS NULL",
    [W_INSERT_TX] = "INSERT INTO ledger_txs(tx_id, message_id, milestone_index) VALUES (?1,?2,?3)",
    [W_DUST_COUNT] = "SELECT COUNT(*) FROM ledger_outputs WHERE address = ?1 AND type = 0 "
                     "AND amount < 1000000 AND spent_index IS NULL",
    [W_ALLOWANCE_SUM] = "SELECT COALESCE(SUM(amount), 0) FROM ledger_outputs WHERE address = ?1 "
                        "AND type = 1 AND spent_index IS NULL",
};

/* The reads that run often, prepared once on the read connection (under
 * rlock) and reset after every use, so no read transaction stays open. */
enum {
  R_OUTPUT,
  R_UNSPENT,
  R_OUTPUTS,
  R_BALANCE,
  R_INCLUDED,
  R_COUNT
};

static const char *const READ_SQL[R_COUNT] = {
    [R_OUTPUT] = "SELECT message_id, type, address, amount, booked_index, spent_index, "
                 "spent_tx_id FROM ledger_outputs WHERE output_id = ?1",
    /* spent_index IS NULL spelled out: it is what lets SQLite use the
     * partial index ledger_outputs_unspent */
    [R_UNSPENT] = "SELECT output_id FROM ledger_outputs WHERE address = ?1 AND spent_index IS NULL"
                  " AND (?2 < 0 OR type = ?2) ORDER BY booked_index, output_id",
    [R_OUTPUTS] = "SELECT output_id FROM ledger_outputs WHERE address = ?1"
                  " AND (?2 < 0 OR type = ?2) ORDER BY booked_index, output_id",
    [R_BALANCE] = "SELECT COALESCE(SUM(amount), 0),"
                  " COALESCE(SUM(CASE WHEN type = 1 THEN amount ELSE 0 END), 0),"
                  " COALESCE(SUM(CASE WHEN type = 0 AND amount < 1000000 THEN 1 ELSE 0 END), 0)"
                  " FROM ledger_outputs WHERE address = ?1 AND spent_index IS NULL",
    [R_INCLUDED] = "SELECT message_id FROM ledger_txs WHERE tx_id = ?1",
};

const char *pg_ledger_unspent_sql(size_t i) {
  const char *const all[] = {READ_SQL[R_UNSPENT], READ_SQL[R_BALANCE], WRITE_SQL[W_DUST_COUNT],
                             WRITE_SQL[W_ALLOWANCE_SUM]};
  return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}

#define SIG_CACHE_SLOTS (1u << 15) /* remembered signatures (sig_valid) */

struct pg_ledger {
  bool dust_protection;
  size_t genesis_count;
  pg_genesis_output *genesis;
  sqlite3 *db;  /* the Tangle's connection: writes during confirmation only */
  sqlite3 *rdb; /* our read-only connection */
  sqlite3_stmt *w[W_COUNT];
  pthread_mutex_t rlock; /* serialises use of rdb and r */
  sqlite3_stmt *r[R_COUNT]; /* READ_SQL on rdb, prepared on first use */
  /* signatures already verified (sig_valid): by pg_ledger_apply under the
   * Tangle's lock and by pg_ledger_precheck on submitting threads, each
   * slot read and written under sig_mu (verifications outside it) */
  pthread_mutex_t sig_mu;
  uint8_t (*sig_ok)[32];
  atomic_uint_fast64_t sig_verified; /* Ed25519 verifications run */
  /* digest cache (under rlock): digests[0..ndigests) = D(0)..D(ndigests-1) */
  uint8_t (*digests)[32];
  size_t ndigests, capdigests;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS ledger_outputs ("
    " output_id BLOB PRIMARY KEY, tx_id BLOB NOT NULL, output_index INTEGER NOT NULL,"
    " message_id BLOB NOT NULL, type INTEGER NOT NULL, address BLOB NOT NULL,"
    " amount INTEGER NOT NULL, booked_index INTEGER NOT NULL,"
    " spent_index INTEGER, spent_tx_id BLOB);"
    "CREATE INDEX IF NOT EXISTS ledger_outputs_address ON ledger_outputs(address, type);"
    "CREATE INDEX IF NOT EXISTS ledger_outputs_booked ON ledger_outputs(booked_index);"
    "CREATE INDEX IF NOT EXISTS ledger_outputs_spent ON ledger_outputs(spent_index);"
    /* an address's unspent outputs, in booking order, without reading the
     * table: the grid's address receives a thousand payments a slot and
     * spends them, and every listing, balance and dust count would otherwise
     * read every output the address ever had (spent_index, always NULL
     * here, is a column so that SQLite 3.40 sees the index as covering) */
    "CREATE INDEX IF NOT EXISTS ledger_outputs_unspent ON ledger_outputs"
    "(address, booked_index, output_id, type, amount, spent_index) WHERE spent_index IS NULL;"
    "CREATE TABLE IF NOT EXISTS ledger_txs ("
    " tx_id BLOB PRIMARY KEY, message_id BLOB NOT NULL, milestone_index INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);";

void pg_transaction_id(const uint8_t *payload, size_t len, uint8_t id[32]) {
  pg_blake2b256(payload, len, id);
}

void pg_output_id(const uint8_t tx_id[32], uint16_t index, uint8_t out[PG_OUTPUT_ID_LEN]) {
  memcpy(out, tx_id, 32);
  out[32] = (uint8_t)index;
  out[33] = (uint8_t)(index >> 8);
}

static bool is_dust(uint8_t type, uint64_t amount) {
  return type == 0 && amount < PG_DUST_THRESHOLD;
}

int pg_ledger_new(const pg_ledger_config *c, pg_ledger **out) {
  pg_ledger *l = calloc(1, sizeof *l);
  if (!l) return PG_ERR_NOMEM;
  l->dust_protection = c->dust_protection;
  if (c->genesis_count) {
    l->genesis = malloc(c->genesis_count * sizeof *l->genesis);
    if (!l->genesis) {
      free(l);
      return PG_ERR_NOMEM;
    }
    memcpy(l->genesis, c->genesis, c->genesis_count * sizeof *l->genesis);
    l->genesis_count = c->genesis_count;
  }
  l->sig_ok = calloc(SIG_CACHE_SLOTS, sizeof *l->sig_ok); /* NULL: no cache */
  pthread_mutex_init(&l->rlock, NULL);
  pthread_mutex_init(&l->sig_mu, NULL);
  *out = l;
  return PG_OK;
}

void pg_ledger_free(pg_ledger *l) {
  if (!l) return;
  for (int i = 0; i < W_COUNT; i++) sqlite3_finalize(l->w[i]);
  for (int i = 0; i < R_COUNT; i++) sqlite3_finalize(l->r[i]);
  if (l->rdb) sqlite3_close(l->rdb);
  pthread_mutex_destroy(&l->rlock);
  pthread_mutex_destroy(&l->sig_mu);
  free(l->digests);
  free(l->sig_ok);
  free(l->genesis);
  free(l);
}

/* Hash that identifies a genesis: dust flag excluded (a switch, not state). */
static void genesis_hash(const pg_ledger *l, uint8_t out[32]) {
  pg_blake2b h;
  pg_blake2b256_init(&h);
  pg_blake2b256_update(&h, GENESIS_TAG, sizeof GENESIS_TAG - 1);
  for (size_t i = 0; i < l->genesis_count; i++) {
    uint8_t amt[8];
    pg_put_le64(amt, l->genesis[i].amount);
    pg_blake2b256_update(&h, l->genesis[i].address, 32);
    pg_blake2b256_update(&h, amt, 8);
  }
  pg_blake2b256_final(&h, out);
}

void pg_genesis_tx_id(uint32_t batch, uint8_t out[32]) {
  uint8_t seed[sizeof GENESIS_TAG - 1 + 4];
  memcpy(seed, GENESIS_TAG, sizeof GENESIS_TAG - 1);
  for (int k = 0; k < 4; k++) seed[sizeof GENESIS_TAG - 1 + k] = (uint8_t)(batch >> (8 * k));
  pg_blake2b256(seed, sizeof seed, out);
}

/* Genesis outputs are booked as outputs of pseudo transactions
 * (pg_genesis_tx_id), 126 outputs per batch so every output index stays
 * within the protocol's 0..126. */
static int book_genesis(pg_ledger *l, pg_diag *d) {
  int rc = PG_OK;
  uint64_t total = 0;
  for (size_t i = 0; i < l->genesis_count; i++) {
    if (l->genesis[i].amount == 0 || l->genesis[i].amount > PG_TOKEN_SUPPLY - total)
      return pg_fail(d, PG_ERR_CONFIG,
                     "genesis output %zu: amount must be > 0 and the total at most %llu", i,
                     (unsigned long long)PG_TOKEN_SUPPLY);
    total += l->genesis[i].amount;
  }
  uint8_t zero[32] = {0}, txid[32];
  sqlite3_stmt *st = l->w[W_INSERT_OUTPUT];
  for (size_t i = 0; i < l->genesis_count && rc == PG_OK; i++) {
    uint8_t oid[PG_OUTPUT_ID_LEN];
    if (i % 126 == 0) pg_genesis_tx_id((uint32_t)(i / 126), txid);
    pg_output_id(txid, (uint16_t)(i % 126), oid);
    sqlite3_reset(st);
    sqlite3_bind_blob(st, 1, oid, sizeof oid, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, txid, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)(i % 126));
    sqlite3_bind_blob(st, 4, zero, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, 0);
    sqlite3_bind_blob(st, 6, l->genesis[i].address, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)l->genesis[i].amount);
    sqlite3_bind_int(st, 8, 0);
    if (sqlite3_step(st) != SQLITE_DONE) rc = pg_db_fail(l->db, d, "ledger: booking genesis");
  }
  sqlite3_reset(st);
  return rc;
}

int pg_ledger_attach(pg_ledger *l, sqlite3 *db, const char *path, pg_diag *d) {
  int rc = PG_OK;
  char *err = NULL;
  l->db = db;
  if (sqlite3_exec(db, SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
    rc = pg_fail(d, PG_ERR_DB, "ledger: creating tables: %s", err ? err : "?");
    sqlite3_free(err);
    return rc;
  }
  for (int i = 0; i < W_COUNT; i++)
    if (sqlite3_prepare_v3(db, WRITE_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &l->w[i], NULL) !=
        SQLITE_OK)
      return pg_db_fail(db, d, "ledger: preparing statement");

  uint8_t want[32];
  genesis_hash(l, want);
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(db, "SELECT value FROM ledger_meta WHERE key = 'genesis'", -1, &q, NULL) !=
      SQLITE_OK)
    return pg_db_fail(db, d, "ledger: reading genesis");
  int step = sqlite3_step(q);
  if (step == SQLITE_ROW) {
    const void *have = sqlite3_column_blob(q, 0);
    if (sqlite3_column_bytes(q, 0) != 32 || memcmp(have, want, 32) != 0)
      rc = pg_fail(d, PG_ERR_CONFIG,
                   "ledger: the configured genesis differs from the one this data directory "
                   "was created with");
    sqlite3_finalize(q);
    if (rc) return rc;
  } else {
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) return pg_db_fail(db, d, "ledger: reading genesis");
    if (sqlite3_exec(db, "SAVEPOINT ledger_genesis", NULL, NULL, NULL) != SQLITE_OK)
      return pg_db_fail(db, d, "ledger: starting genesis");
    rc = book_genesis(l, d);
    if (rc == PG_OK) {
      sqlite3_stmt *ins = NULL;
      if (sqlite3_prepare_v2(db, "INSERT INTO ledger_meta(key, value) VALUES ('genesis', ?1)", -1,
                             &ins, NULL) != SQLITE_OK)
        rc = pg_db_fail(db, d, "ledger: recording genesis");
      else {
        sqlite3_bind_blob(ins, 1, want, 32, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = pg_db_fail(db, d, "ledger: recording genesis");
        sqlite3_finalize(ins);
      }
    }
    sqlite3_exec(db, rc == PG_OK ? "RELEASE ledger_genesis" : "ROLLBACK TO ledger_genesis; RELEASE ledger_genesis",
                 NULL, NULL, NULL);
    if (rc) return rc;
  }

  /* through the writer's VFS: a store held by its process (tangle.h
   * pg_tangle_config.process) is read by connections of the same kind */
  sqlite3_vfs *vfs = NULL;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK || !vfs)
    return pg_db_fail(db, d, "ledger: the store's VFS");
  if (sqlite3_open_v2(path, &l->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, vfs->zName) !=
      SQLITE_OK)
    return pg_db_fail(l->rdb, d, "ledger: opening read connection");
  sqlite3_busy_timeout(l->rdb, 5000);
  return PG_OK;
}

/* ---- validation ---------------------------------------------------------- */

typedef struct input_state {
  uint8_t oid[PG_OUTPUT_ID_LEN];
  uint8_t type;
  uint8_t address[32];
  uint64_t amount;
} input_state;

/* Per-address dust bookkeeping for one transaction. */
typedef struct dust_delta {
  uint8_t address[32];
  int64_t dust;      /* dust outputs created - consumed */
  int64_t allowance; /* allowance amount created - consumed */
} dust_delta;

static dust_delta *delta_for(dust_delta *ds, size_t *n, const uint8_t address[32]) {
  for (size_t i = 0; i < *n; i++)
    if (memcmp(ds[i].address, address, 32) == 0) return &ds[i];
  dust_delta *x = &ds[(*n)++];
  memset(x, 0, sizeof *x);
  memcpy(x->address, address, 32);
  return x;
}

static int query_u64(sqlite3_stmt *st, const uint8_t address[32], uint64_t *out) {
  sqlite3_reset(st);
  sqlite3_bind_blob(st, 1, address, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_ROW ? PG_OK : PG_ERR_DB;
  if (rc == PG_OK) *out = (uint64_t)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc;
}

/* TIP-15: for every address the transaction touches with dust or allowance,
 * unspent dust after booking <= min(allowance after booking / 100000, 100). */
static int check_dust(pg_ledger *l, const pg_transaction *tx, const input_state *in, bool *ok) {
  dust_delta ds[PG_TX_MAX_INPUTS + PG_TX_MAX_OUTPUTS];
  size_t n = 0;
  for (size_t i = 0; i < tx->inputs_count; i++) {
    if (is_dust(in[i].type, in[i].amount)) delta_for(ds, &n, in[i].address)->dust--;
    if (in[i].type == 1) delta_for(ds, &n, in[i].address)->allowance -= (int64_t)in[i].amount;
  }
  for (size_t i = 0; i < tx->outputs_count; i++) {
    const pg_output *o = &tx->outputs[i];
    if (is_dust(o->type, o->amount)) delta_for(ds, &n, o->address)->dust++;
    if (o->type == 1) delta_for(ds, &n, o->address)->allowance += (int64_t)o->amount;
  }
  *ok = true;
  for (size_t i = 0; i < n && *ok; i++) {
    /* only addresses that gain dust or lose allowance can break the rule */
    if (ds[i].dust <= 0 && ds[i].allowance >= 0) continue;
    uint64_t dust, allowance;
    if (query_u64(l->w[W_DUST_COUNT], ds[i].address, &dust) ||
        query_u64(l->w[W_ALLOWANCE_SUM], ds[i].address, &allowance))
      return PG_ERR_DB;
    int64_t dust_after = (int64_t)dust + ds[i].dust;
    int64_t allow_after = (int64_t)allowance + ds[i].allowance;
    int64_t allowed = allow_after / (int64_t)PG_DUST_DIVISOR;
    if (allowed > PG_DUST_MAX_PER_ADDRESS) allowed = PG_DUST_MAX_PER_ADDRESS;
    if (dust_after > allowed) *ok = false;
  }
  return PG_OK;
}

/* Verified signatures, remembered: a transfer's signature is verified when
 * it is submitted (pg_ledger_precheck), and a milestone's white flag may
 * run twice (a coordinator that searches a nonce makes a dry run for the
 * Merkle root first); a valid signature stays valid, so later runs find it
 * here instead of verifying again. Direct-mapped by a digest of (public
 * key, essence hash, signature); a collision only evicts (the signature is
 * verified again). Only successes are stored: a hit is exactly "this
 * verification returned PG_OK before". */

static void sig_digest(const pg_unlock_block *sb, const uint8_t hash[32], uint8_t out[32]) {
  pg_blake2b h;
  pg_blake2b256_init(&h);
  pg_blake2b256_update(&h, sb->public_key, 32);
  pg_blake2b256_update(&h, hash, 32);
  pg_blake2b256_update(&h, sb->signature, 64);
  pg_blake2b256_final(&h, out);
}

static bool sig_valid(pg_ledger *l, const pg_unlock_block *sb, const uint8_t hash[32]) {
  uint8_t key[32];
  sig_digest(sb, hash, key);
  size_t slot = ((size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16) & (SIG_CACHE_SLOTS - 1);
  pthread_mutex_lock(&l->sig_mu);
  bool hit = l->sig_ok && memcmp(l->sig_ok[slot], key, 32) == 0;
  pthread_mutex_unlock(&l->sig_mu);
  if (hit) return true;
  atomic_fetch_add_explicit(&l->sig_verified, 1, memory_order_relaxed);
  if (pg_ed25519_verify(sb->public_key, hash, 32, sb->signature) != PG_OK) return false;
  pthread_mutex_lock(&l->sig_mu);
  if (l->sig_ok) memcpy(l->sig_ok[slot], key, 32);
  pthread_mutex_unlock(&l->sig_mu);
  return true;
}

/* Signature blocks pg_ledger_precheck verifies at most in one message: a
 * message of anybody's making costs a submitting thread a bounded amount of
 * work before any of its inputs is known to exist (the white flag looks its
 * inputs up first); our wallets sign a transfer once per address. */
#define PRECHECK_MAX_SIGS 4

void pg_ledger_precheck(void *ctx, const pg_message *m) {
  pg_ledger *l = ctx;
  if (m->payload_type != PG_PAYLOAD_TRANSACTION || !m->u.transaction) return;
  const pg_transaction *tx = m->u.transaction;
  uint8_t hash[32];
  pg_blake2b256(tx->essence, tx->essence_len, hash);
  unsigned sigs = 0;
  for (size_t i = 0; i < tx->inputs_count && sigs < PRECHECK_MAX_SIGS; i++) {
    if (tx->unlocks[i].type != 0) continue;
    sigs++;
    if (!sig_valid(l, &tx->unlocks[i], hash)) return; /* the white flag refuses it anyway */
  }
}

uint64_t pg_ledger_signatures_verified(pg_ledger *l) {
  return (uint64_t)atomic_load_explicit(&l->sig_verified, memory_order_relaxed);
}

/* Checks signature block `sb` for an input locked to `address`. */
static bool unlock_ok(pg_ledger *l, const pg_unlock_block *sb, const uint8_t address[32],
                      const uint8_t hash[32]) {
  uint8_t addr[32];
  pg_blake2b256(sb->public_key, 32, addr);
  if (memcmp(addr, address, 32) != 0) return false;
  return sig_valid(l, sb, hash);
}

/* Returns PG_OK with *reason = 0 when valid, or PG_OK with a conflict reason,
 * or a negative error on a storage failure. Fills in[]. */
static int validate(pg_ledger *l, uint32_t ms, const pg_transaction *tx, input_state *in,
                    uint8_t *reason) {
  sqlite3_stmt *get = l->w[W_GET_OUTPUT];
  uint64_t sum_in = 0, sum_out = 0;
  *reason = PG_CONFLICT_NONE;
  for (size_t i = 0; i < tx->inputs_count; i++) {
    pg_output_id(tx->inputs[i].tx_id, tx->inputs[i].output_index, in[i].oid);
    sqlite3_reset(get);
    sqlite3_bind_blob(get, 1, in[i].oid, PG_OUTPUT_ID_LEN, SQLITE_STATIC);
    int step = sqlite3_step(get);
    if (step == SQLITE_DONE) {
      *reason = PG_CONFLICT_INPUT_NOT_FOUND;
      break;
    }
    if (step != SQLITE_ROW || sqlite3_column_bytes(get, 1) != 32) {
      sqlite3_reset(get);
      return PG_ERR_DB;
    }
    in[i].type = (uint8_t)sqlite3_column_int(get, 0);
    memcpy(in[i].address, sqlite3_column_blob(get, 1), 32);
    in[i].amount = (uint64_t)sqlite3_column_int64(get, 2);
    if (sqlite3_column_type(get, 3) != SQLITE_NULL) {
      uint32_t spent = (uint32_t)sqlite3_column_int64(get, 3);
      *reason = spent == ms ? PG_CONFLICT_INPUT_SPENT_IN_MILESTONE : PG_CONFLICT_INPUT_SPENT;
      break;
    }
    sum_in += in[i].amount; /* amounts <= supply: 127 of them cannot overflow */
  }
  sqlite3_reset(get);
  if (*reason) return PG_OK;

  for (size_t i = 0; i < tx->outputs_count; i++) sum_out += tx->outputs[i].amount;
  if (sum_in != sum_out) {
    *reason = PG_CONFLICT_SUM_MISMATCH;
    return PG_OK;
  }

  uint8_t hash[32];
  pg_blake2b256(tx->essence, tx->essence_len, hash);
  for (size_t i = 0; i < tx->inputs_count; i++) {
    const pg_unlock_block *u = &tx->unlocks[i];
    if (u->type == 1) u = &tx->unlocks[u->reference]; /* syntax checked: an earlier signature */
    if (u->type != 0 || !unlock_ok(l, u, in[i].address, hash)) {
      *reason = PG_CONFLICT_INVALID_SIGNATURE;
      return PG_OK;
    }
  }

  if (l->dust_protection) {
    bool ok;
    int rc = check_dust(l, tx, in, &ok);
    if (rc) return rc;
    if (!ok) *reason = PG_CONFLICT_INVALID_DUST;
  }
  return PG_OK;
}

static int book(pg_ledger *l, uint32_t ms, const uint8_t msg_id[PG_ID_LEN], const pg_message *m,
                const input_state *in) {
  const pg_transaction *tx = m->u.transaction;
  uint8_t txid[32];
  pg_transaction_id(m->payload, m->payload_len, txid);
  sqlite3_stmt *spend = l->w[W_SPEND_OUTPUT], *ins = l->w[W_INSERT_OUTPUT], *itx = l->w[W_INSERT_TX];
  for (size_t i = 0; i < tx->inputs_count; i++) {
    sqlite3_reset(spend);
    sqlite3_bind_blob(spend, 1, in[i].oid, PG_OUTPUT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(spend, 2, ms);
    sqlite3_bind_blob(spend, 3, txid, 32, SQLITE_STATIC);
    if (sqlite3_step(spend) != SQLITE_DONE || sqlite3_changes(l->db) != 1) return PG_ERR_DB;
  }
  sqlite3_reset(spend);
  for (size_t i = 0; i < tx->outputs_count; i++) {
    uint8_t oid[PG_OUTPUT_ID_LEN];
    pg_output_id(txid, (uint16_t)i, oid);
    sqlite3_reset(ins);
    sqlite3_bind_blob(ins, 1, oid, sizeof oid, SQLITE_STATIC);
    sqlite3_bind_blob(ins, 2, txid, 32, SQLITE_STATIC);
    sqlite3_bind_int(ins, 3, (int)i);
    sqlite3_bind_blob(ins, 4, msg_id, PG_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_int(ins, 5, tx->outputs[i].type);
    sqlite3_bind_blob(ins, 6, tx->outputs[i].address, 32, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, (sqlite3_int64)tx->outputs[i].amount);
    sqlite3_bind_int64(ins, 8, ms);
    if (sqlite3_step(ins) != SQLITE_DONE) return PG_ERR_DB;
  }
  sqlite3_reset(ins);
  sqlite3_reset(itx);
  sqlite3_bind_blob(itx, 1, txid, 32, SQLITE_STATIC);
  sqlite3_bind_blob(itx, 2, msg_id, PG_ID_LEN, SQLITE_STATIC);
  sqlite3_bind_int64(itx, 3, ms);
  int step = sqlite3_step(itx);
  sqlite3_reset(itx);
  return step == SQLITE_DONE ? PG_OK : PG_ERR_DB;
}

int pg_ledger_apply(void *ctx, uint32_t milestone_index, const uint8_t msg_id[PG_ID_LEN],
                    const pg_message *m, bool *included, uint8_t *conflict_reason) {
  pg_ledger *l = ctx;
  *included = false;
  *conflict_reason = PG_CONFLICT_SEMANTIC;
  if (!l->db) return PG_ERR_STATE;
  if (m->payload_type != PG_PAYLOAD_TRANSACTION || !m->u.transaction) return PG_OK;
  const pg_transaction *tx = m->u.transaction;
  input_state in[PG_TX_MAX_INPUTS];
  uint8_t reason;
  int rc = validate(l, milestone_index, tx, in, &reason);
  if (rc) {
    pg_log(PG_LOG_ERROR, "ledger", "validating a transaction: %s", sqlite3_errmsg(l->db));
    return rc;
  }
  if (reason == PG_CONFLICT_NONE) {
    rc = book(l, milestone_index, msg_id, m, in);
    if (rc) {
      pg_log(PG_LOG_ERROR, "ledger", "booking a transaction: %s", sqlite3_errmsg(l->db));
      return rc;
    }
    *included = true;
  }
  *conflict_reason = reason;
  return PG_OK;
}

/* ---- reads ---------------------------------------------------------------- */

static int prepare_read(pg_ledger *l, const char *sql, sqlite3_stmt **st) {
  if (!l->rdb) return PG_ERR_STATE;
  return sqlite3_prepare_v2(l->rdb, sql, -1, st, NULL) == SQLITE_OK ? PG_OK : PG_ERR_DB;
}

/* The cached statement of read r (rlock held); give it back with read_done. */
static int read_stmt(pg_ledger *l, int r, sqlite3_stmt **st) {
  *st = NULL;
  if (!l->r[r]) {
    int rc = prepare_read(l, READ_SQL[r], &l->r[r]);
    if (rc) return rc;
  }
  *st = l->r[r];
  return PG_OK;
}

/* Ends a cached read (its read transaction with it) and unlocks rlock. */
static void read_done(pg_ledger *l, sqlite3_stmt *st) {
  if (st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  pthread_mutex_unlock(&l->rlock);
}

bool pg_ledger_output_row(sqlite3_stmt *st, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *o) {
  if (sqlite3_column_bytes(st, 0) != 32 || sqlite3_column_bytes(st, 2) != 32) return false;
  memset(o, 0, sizeof *o);
  memcpy(o->output_id, id, PG_OUTPUT_ID_LEN);
  memcpy(o->message_id, sqlite3_column_blob(st, 0), 32);
  o->type = (uint8_t)sqlite3_column_int(st, 1);
  memcpy(o->address, sqlite3_column_blob(st, 2), 32);
  o->amount = (uint64_t)sqlite3_column_int64(st, 3);
  o->booked_index = (uint32_t)sqlite3_column_int64(st, 4);
  o->spent = sqlite3_column_type(st, 5) != SQLITE_NULL;
  if (o->spent) {
    o->spent_index = (uint32_t)sqlite3_column_int64(st, 5);
    if (sqlite3_column_count(st) > 6 && sqlite3_column_bytes(st, 6) == 32)
      memcpy(o->spent_tx_id, sqlite3_column_blob(st, 6), 32);
  }
  return true;
}

int pg_ledger_output(pg_ledger *l, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *o) {
  sqlite3_stmt *st = NULL;
  pthread_mutex_lock(&l->rlock);
  int rc = read_stmt(l, R_OUTPUT, &st);
  if (rc) goto out;
  sqlite3_bind_blob(st, 1, id, PG_OUTPUT_ID_LEN, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_DONE) {
    rc = PG_ERR_NOT_FOUND;
    goto out;
  }
  if (step != SQLITE_ROW || !pg_ledger_output_row(st, id, o)) rc = PG_ERR_DB;
out:
  read_done(l, st);
  return rc;
}

int pg_ledger_balance(pg_ledger *l, const uint8_t address[32], uint64_t *balance,
                      bool *dust_allowed) {
  sqlite3_stmt *st = NULL;
  pthread_mutex_lock(&l->rlock);
  int rc = read_stmt(l, R_BALANCE, &st);
  if (rc) goto out;
  sqlite3_bind_blob(st, 1, address, 32, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    rc = PG_ERR_DB;
    goto out;
  }
  *balance = (uint64_t)sqlite3_column_int64(st, 0);
  if (dust_allowed) {
    uint64_t allowed = (uint64_t)sqlite3_column_int64(st, 1) / PG_DUST_DIVISOR;
    if (allowed > PG_DUST_MAX_PER_ADDRESS) allowed = PG_DUST_MAX_PER_ADDRESS;
    *dust_allowed = !l->dust_protection || allowed > (uint64_t)sqlite3_column_int64(st, 2);
  }
out:
  read_done(l, st);
  return rc;
}

int pg_ledger_address_outputs(pg_ledger *l, const uint8_t address[32], int type, bool include_spent,
                              size_t max, uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t *count,
                              size_t *total) {
  sqlite3_stmt *st = NULL;
  *count = *total = 0;
  pthread_mutex_lock(&l->rlock);
  int rc = read_stmt(l, include_spent ? R_OUTPUTS : R_UNSPENT, &st);
  if (rc) goto out;
  sqlite3_bind_blob(st, 1, address, 32, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, type);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*count < max && sqlite3_column_bytes(st, 0) == PG_OUTPUT_ID_LEN)
      memcpy(ids[(*count)++], sqlite3_column_blob(st, 0), PG_OUTPUT_ID_LEN);
    (*total)++;
  }
  if (step != SQLITE_DONE) rc = PG_ERR_DB;
out:
  read_done(l, st);
  return rc;
}

int pg_ledger_included_message(pg_ledger *l, const uint8_t tx_id[32], uint8_t msg_id[PG_ID_LEN]) {
  sqlite3_stmt *st = NULL;
  pthread_mutex_lock(&l->rlock);
  int rc = read_stmt(l, R_INCLUDED, &st);
  if (rc) goto out;
  sqlite3_bind_blob(st, 1, tx_id, 32, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PG_ID_LEN)
    memcpy(msg_id, sqlite3_column_blob(st, 0), PG_ID_LEN);
  else
    rc = step == SQLITE_DONE ? PG_ERR_NOT_FOUND : PG_ERR_DB;
out:
  read_done(l, st);
  return rc;
}

static int collect_ids(sqlite3 *db, const char *sql, uint32_t index, uint8_t (**out)[PG_OUTPUT_ID_LEN],
                       size_t *n) {
  sqlite3_stmt *st = NULL;
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return PG_ERR_DB;
  sqlite3_bind_int64(st, 1, index);
  int rc = PG_OK, step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != PG_OUTPUT_ID_LEN) continue;
    if (pg_grow(out, &cap, *n + 1, sizeof **out, 0)) {
      rc = PG_ERR_NOMEM;
      break;
    }
    memcpy((*out)[(*n)++], sqlite3_column_blob(st, 0), PG_OUTPUT_ID_LEN);
  }
  if (rc == PG_OK && step != SQLITE_DONE) rc = PG_ERR_DB;
  sqlite3_finalize(st);
  if (rc) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int pg_ledger_milestone_changes(pg_ledger *l, uint32_t index, uint8_t (**created)[PG_OUTPUT_ID_LEN],
                                size_t *ncreated, uint8_t (**consumed)[PG_OUTPUT_ID_LEN],
                                size_t *nconsumed) {
  if (!l->rdb) return PG_ERR_STATE;
  pthread_mutex_lock(&l->rlock);
  int rc = collect_ids(l->rdb,
                       "SELECT output_id FROM ledger_outputs WHERE booked_index = ?1 ORDER BY output_id",
                       index, created, ncreated);
  if (rc == PG_OK) {
    rc = collect_ids(l->rdb,
                     "SELECT output_id FROM ledger_outputs WHERE spent_index = ?1 ORDER BY output_id",
                     index, consumed, nconsumed);
    if (rc) {
      free(*created);
      *created = NULL;
      *ncreated = 0;
    }
  }
  pthread_mutex_unlock(&l->rlock);
  return rc;
}

int pg_ledger_supply(pg_ledger *l, uint64_t *supply) {
  sqlite3_stmt *st = NULL;
  pthread_mutex_lock(&l->rlock);
  int rc = prepare_read(
      l, "SELECT COALESCE(SUM(amount), 0) FROM ledger_outputs WHERE spent_index IS NULL", &st);
  if (rc == PG_OK) {
    if (sqlite3_step(st) == SQLITE_ROW)
      *supply = (uint64_t)sqlite3_column_int64(st, 0);
    else
      rc = PG_ERR_DB;
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&l->rlock);
  return rc;
}

int pg_ledger_output_counts(pg_ledger *l, uint64_t *unspent, uint64_t *spent) {
  sqlite3_stmt *st = NULL;
  pthread_mutex_lock(&l->rlock);
  int rc = prepare_read(l,
                        "SELECT (SELECT COUNT(*) FROM ledger_outputs WHERE spent_index IS NULL),"
                        " (SELECT COUNT(*) FROM ledger_outputs WHERE spent_index IS NOT NULL)",
                        &st);
  if (rc == PG_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      *unspent = (uint64_t)sqlite3_column_int64(st, 0);
      *spent = (uint64_t)sqlite3_column_int64(st, 1);
    } else {
      rc = PG_ERR_DB;
    }
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&l->rlock);
  return rc;
}

/* ---- digest (see ledger.h) --------------------------------------------- */

#define DIGEST_TAG "p2pgrid-ledger-digest"

enum { DG_MS, DG_CREATED, DG_CONSUMED, DG_COUNT };

static const char *const DIGEST_SQL[DG_COUNT] = {
    [DG_MS] = "SELECT message_id FROM milestones WHERE ms_index = ?1",
    [DG_CREATED] = "SELECT output_id, type, address, amount FROM ledger_outputs"
                   " WHERE booked_index = ?1 ORDER BY output_id",
    [DG_CONSUMED] = "SELECT output_id FROM ledger_outputs WHERE spent_index = ?1"
                    " ORDER BY output_id",
};

static void put_le32(uint8_t p[4], uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Hashes u32le count || the rows of st (bound to index): each output id (34),
 * and with full, type (1) || address (32) || u64le amount. The count comes
 * first, so the rows are read twice (cheap: an indexed range). */
static int digest_rows(pg_blake2b *h, sqlite3_stmt *st, uint32_t index, bool full) {
  int rc = PG_OK;
  for (int pass = 0; pass < 2 && rc == PG_OK; pass++) {
    uint32_t n = 0;
    int step;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, index);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      if (sqlite3_column_bytes(st, 0) != PG_OUTPUT_ID_LEN ||
          (full && sqlite3_column_bytes(st, 2) != 32)) {
        rc = PG_ERR_DB;
        break;
      }
      n++;
      if (pass == 0) continue;
      pg_blake2b256_update(h, sqlite3_column_blob(st, 0), PG_OUTPUT_ID_LEN);
      if (!full) continue;
      uint8_t rest[1 + 32 + 8];
      rest[0] = (uint8_t)sqlite3_column_int(st, 1);
      memcpy(rest + 1, sqlite3_column_blob(st, 2), 32);
      pg_put_le64(rest + 33, (uint64_t)sqlite3_column_int64(st, 3));
      pg_blake2b256_update(h, rest, sizeof rest);
    }
    if (rc == PG_OK && step != SQLITE_DONE) rc = PG_ERR_DB;
    if (rc == PG_OK && pass == 0 && index > 0) { /* the genesis has no count */
      uint8_t c[4];
      put_le32(c, n);
      pg_blake2b256_update(h, c, 4);
    }
  }
  sqlite3_reset(st);
  return rc;
}

/* D(index) from D(index-1) (prev, NULL for 0) and the stored rows. */
static int digest_one(sqlite3_stmt *const *st, uint32_t index, const uint8_t *prev,
                      uint8_t out[32]) {
  pg_blake2b h;
  uint8_t le[4];
  pg_blake2b256_init(&h);
  pg_blake2b256_update(&h, DIGEST_TAG, sizeof DIGEST_TAG - 1);
  put_le32(le, index);
  pg_blake2b256_update(&h, le, 4);
  if (index == 0) {
    int rc = digest_rows(&h, st[DG_CREATED], 0, true);
    if (rc == PG_OK) pg_blake2b256_final(&h, out);
    return rc;
  }
  sqlite3_stmt *ms = st[DG_MS];
  sqlite3_reset(ms);
  sqlite3_bind_int64(ms, 1, index);
  int step = sqlite3_step(ms);
  int rc = step == SQLITE_ROW    ? PG_OK
           : step == SQLITE_DONE ? PG_ERR_NOT_FOUND
                                 : PG_ERR_DB;
  if (rc == PG_OK && sqlite3_column_bytes(ms, 0) != PG_ID_LEN) rc = PG_ERR_DB;
  if (rc == PG_OK) {
    pg_blake2b256_update(&h, prev, 32);
    pg_blake2b256_update(&h, sqlite3_column_blob(ms, 0), PG_ID_LEN);
  }
  sqlite3_reset(ms);
  if (rc == PG_OK) rc = digest_rows(&h, st[DG_CREATED], index, true);
  if (rc == PG_OK) rc = digest_rows(&h, st[DG_CONSUMED], index, false);
  if (rc == PG_OK) pg_blake2b256_final(&h, out);
  return rc;
}

static int digest_grow(pg_ledger *l, size_t want) {
  return pg_grow(&l->digests, &l->capdigests, want, sizeof *l->digests, 0) ? PG_ERR_NOMEM : PG_OK;
}

int pg_ledger_digest(pg_ledger *l, uint32_t index, uint8_t out[32]) {
  sqlite3_stmt *st[DG_COUNT] = {0};
  int rc = PG_OK;
  pthread_mutex_lock(&l->rlock);
  if (index < l->ndigests) {
    memcpy(out, l->digests[index], 32);
    goto out;
  }
  if (!l->rdb) {
    rc = PG_ERR_STATE;
    goto out;
  }
  for (int i = 0; i < DG_COUNT && rc == PG_OK; i++)
    if (sqlite3_prepare_v2(l->rdb, DIGEST_SQL[i], -1, &st[i], NULL) != SQLITE_OK) rc = PG_ERR_DB;
  /* one read transaction: every milestone up to index from the same snapshot */
  if (rc == PG_OK && sqlite3_exec(l->rdb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) rc = PG_ERR_DB;
  if (rc) goto out;
  for (size_t i = l->ndigests; i <= index && rc == PG_OK; i++) {
    if ((rc = digest_grow(l, i + 1))) break;
    rc = digest_one(st, (uint32_t)i, i ? l->digests[i - 1] : NULL, l->digests[i]);
    if (rc == PG_OK) l->ndigests = i + 1;
  }
  sqlite3_exec(l->rdb, "COMMIT", NULL, NULL, NULL);
  if (rc == PG_OK) memcpy(out, l->digests[index], 32);
out:
  for (int i = 0; i < DG_COUNT; i++) sqlite3_finalize(st[i]);
  pthread_mutex_unlock(&l->rlock);
  return rc;
}
