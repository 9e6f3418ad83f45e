/* resume.c — what lets a grid resume from a backup (an older database than
 * what it already published) without billing or paying twice:
 *  - its bill references and payout indexes are derived from a key of its
 *    wallet seed (pg_grid_ref_key, pg_grid_ref_tag) instead of drawn at
 *    random, so re-settling a slot after a restore makes the same request id
 *    and reference (the consumer's payment matches it; a repeated request is
 *    ignored by the consumer), and the next payout batch id has the index the
 *    lost batch of that id had;
 *  - pg_payout_adopt finds a payout transaction of ours already under the
 *    index of the next batch id and books it as that batch, with what it paid
 *    each address as a credit; pg_payout_apply_credits assigns the payout rows
 *    that re-settlement makes again to it (oldest first, while they fit), so
 *    they are not paid a second time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "grid_internal.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/client/wallet.h"

const char pg_payout_credit_schema[] =
    "CREATE TABLE IF NOT EXISTS payout_credits(batch_id INTEGER NOT NULL, address TEXT NOT NULL,"
    " amount_left INTEGER NOT NULL, PRIMARY KEY(batch_id, address));";

int pg_grid_ref_key(const uint8_t *seed, size_t seed_len, uint8_t key[32], pg_diag *d) {
  static const char label[] = "p2pgrid grid references v1";
  if (!seed || seed_len < crypto_generichash_KEYBYTES_MIN ||
      seed_len > crypto_generichash_KEYBYTES_MAX)
    return pg_fail(d, PG_ERR_CONFIG, "grid: the wallet seed must be 16..64 bytes");
  if (crypto_generichash(key, 32, (const uint8_t *)label, sizeof label - 1, seed, seed_len) != 0)
    return pg_fail(d, PG_ERR_CRYPTO, "grid: cannot derive the reference key");
  return PG_OK;
}

void pg_grid_ref_tag(const uint8_t key[32], const char *what, char hex[17]) {
  uint8_t tag[8];
  (void)crypto_generichash(tag, sizeof tag, (const uint8_t *)what, strlen(what), key, 32);
  pg_hex_encode(tag, sizeof tag, hex);
}

/* The message mid when it carries a transaction under index ref, signed by
 * our address and not conflicting: its outputs to others in *outs (n). */
static int payout_of(pg_client *c, const uint8_t mid[32], const char *ref, const uint8_t ours[32],
                     pg_buf *raw, pg_wallet_output *outs, size_t *n, bool *match) {
  pg_msg_meta meta;
  pg_diag cd = {{0}};
  pg_message m;
  *match = false;
  *n = 0;
  pg_buf_reset(raw);
  if (pg_client_get_meta(c, mid, &meta, &cd) != PG_OK) return PG_ERR_UNAVAILABLE;
  if (meta.inclusion == PG_INCL_CONFLICTING) return PG_OK;
  if (pg_client_get_raw(c, mid, raw, &cd) != PG_OK) return PG_ERR_UNAVAILABLE;
  if (pg_message_parse(raw->data, raw->len, &m, NULL) != PG_OK) return PG_OK; /* junk */
  const pg_transaction *tx = m.payload_type == PG_PAYLOAD_TRANSACTION ? m.u.transaction : NULL;
  bool signed_by_us = false;
  for (uint16_t u = 0; tx && u < tx->unlocks_count && !signed_by_us; u++) {
    uint8_t a[32];
    if (tx->unlocks[u].type != 0) continue;
    pg_blake2b256(tx->unlocks[u].public_key, 32, a);
    signed_by_us = memcmp(a, ours, 32) == 0;
  }
  if (tx && signed_by_us && tx->has_indexation && tx->indexation.index_len == strlen(ref) &&
      memcmp(tx->indexation.index, ref, strlen(ref)) == 0) {
    *match = true;
    for (uint16_t j = 0; j < tx->outputs_count && *n < PG_WALLET_MAX_OUTPUTS; j++) {
      if (memcmp(tx->outputs[j].address, ours, 32) == 0) continue; /* our remainder */
      memcpy(outs[*n].address, tx->outputs[j].address, 32);
      outs[*n].amount = tx->outputs[j].amount;
      (*n)++;
    }
  }
  pg_message_clear(&m);
  return PG_OK;
}

/* Books the found transfer as batch id: state sent (followed to
 * confirmation as any batch), its index, a credit per address. */
static int book_adopted(sqlite3 *db, int64_t id, const char *ref, const uint8_t mid[32],
                        const pg_wallet_output *outs, size_t n, const char *hrp, uint64_t now,
                        pg_diag *d) {
  char hex[65];
  pg_hex_encode(mid, 32, hex);
  int64_t total = 0;
  for (size_t i = 0; i < n; i++) total += (int64_t)outs[i].amount;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "INSERT INTO batches(id, state, total, outputs, msg_id, created_ms)"
                           " VALUES (?1, 1, ?2, ?3, ?4, ?5)", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, total);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
  sqlite3_bind_text(st, 4, hex, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
  rc = pg_stmt_step_done(db, st, "batches write", d);
  if (!rc)
    rc = pg_stmt_get(db, "INSERT INTO batch_refs(batch_id, reference) VALUES (?1, ?2)", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
  rc = pg_stmt_step_done(db, st, "batch_refs write", d);
  for (size_t i = 0; !rc && i < n; i++) {
    char a[PG_BECH32_MAX_LEN + 1];
    if (pg_iota_address_encode(hrp, outs[i].address, a, sizeof a) != PG_OK)
      return pg_fail(d, PG_ERR_STATE, "payout %lld: an address does not encode", (long long)id);
    rc = pg_stmt_get(db, "INSERT INTO payout_credits(batch_id, address, amount_left) VALUES"
                         " (?1, ?2, ?3) ON CONFLICT DO UPDATE SET amount_left = amount_left + ?3",
                     &st, d);
    if (rc) break;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)outs[i].amount);
    rc = pg_stmt_step_done(db, st, "payout_credits write", d);
  }
  return rc;
}

int pg_payout_adopt(sqlite3 *db, pg_client *c, int64_t id, const char *ref, const uint8_t ours[32],
                    const char *hrp, uint64_t now, bool *adopted, pg_diag *d) {
  enum { MAXIDS = 64 };
  uint8_t ids[MAXIDS][32];
  size_t n = 0, total = 0;
  *adopted = false;
  pg_diag cd = {{0}};
  if (pg_client_find_index(c, (const uint8_t *)ref, strlen(ref), ids, MAXIDS, &n, &total, &cd) !=
      PG_OK)
    return pg_fail(d, PG_ERR_UNAVAILABLE, "payout %lld lookup: %s", (long long)id, cd.msg);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  pg_wallet_output outs[PG_WALLET_MAX_OUTPUTS];
  size_t no = 0;
  int rc = PG_OK;
  bool match = false;
  size_t i = 0;
  for (; i < n && !rc && !match; i++) rc = payout_of(c, ids[i], ref, ours, &raw, outs, &no, &match);
  pg_buf_free(&raw);
  if (rc)
    return pg_fail(d, rc, "payout %lld: a message under its index cannot be read", (long long)id);
  if (!match) return PG_OK;
  rc = pg_grid_begin(db, d);
  if (!rc) rc = book_adopted(db, id, ref, ids[i - 1], outs, no, hrp, now, d);
  if (!rc) rc = pg_grid_commit(db, d);
  else pg_db_rollback(db);
  *adopted = !rc;
  return rc;
}

/* The unbatched payout rows to address a, oldest first, assigned to batch
 * while they fit in *left. */
static int apply_one(sqlite3 *db, int64_t batch, const char *a, int64_t *left, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT slot, producer_id, amount FROM payouts WHERE batch_id IS NULL"
                           " AND address = ?1 ORDER BY slot, producer_id", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
  struct row { int64_t slot, amount; char producer[PG_GRID_MAX_ID + 1]; } v[64];
  size_t n = 0;
  int64_t sum = 0;
  while (n < 64 && sqlite3_step(st) == SQLITE_ROW) {
    int64_t amt = sqlite3_column_int64(st, 2);
    if (sum + amt > *left) break;
    v[n].slot = sqlite3_column_int64(st, 0);
    snprintf(v[n].producer, sizeof v[n].producer, "%s", (const char *)sqlite3_column_text(st, 1));
    v[n++].amount = amt;
    sum += amt;
  }
  pg_stmt_put(st);
  for (size_t i = 0; !rc && i < n; i++) {
    rc = pg_stmt_get(db, "UPDATE payouts SET batch_id = ?1 WHERE slot = ?2 AND producer_id = ?3",
                     &st, d);
    if (rc) break;
    sqlite3_bind_int64(st, 1, batch);
    sqlite3_bind_int64(st, 2, v[i].slot);
    sqlite3_bind_text(st, 3, v[i].producer, -1, SQLITE_TRANSIENT);
    rc = pg_stmt_step_done(db, st, "payouts write", d);
  }
  *left -= sum;
  return rc;
}

int pg_payout_apply_credits(sqlite3 *db, size_t *assigned, pg_diag *d) {
  *assigned = 0;
  int64_t open = 0;
  int rc = pg_db_i64(db, "SELECT COUNT(*) FROM payout_credits WHERE amount_left > 0", 0, 0, &open, d);
  if (rc || open == 0) return rc;
  rc = pg_grid_begin(db, d);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_stmt_get(db, "SELECT batch_id, address, amount_left FROM payout_credits"
                         " WHERE amount_left > 0 ORDER BY batch_id, address LIMIT 128", &st, d);
  struct credit { int64_t batch, left; char address[PG_BECH32_MAX_LEN + 1]; } *v = NULL;
  size_t n = 0;
  if (!rc && !(v = calloc(128, sizeof *v))) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  while (!rc && n < 128 && sqlite3_step(st) == SQLITE_ROW) {
    v[n].batch = sqlite3_column_int64(st, 0);
    snprintf(v[n].address, sizeof v[n].address, "%s", (const char *)sqlite3_column_text(st, 1));
    v[n++].left = sqlite3_column_int64(st, 2);
  }
  if (st) pg_stmt_put(st);
  for (size_t i = 0; !rc && i < n; i++) {
    int64_t before = v[i].left;
    rc = apply_one(db, v[i].batch, v[i].address, &v[i].left, d);
    if (rc || v[i].left == before) continue;
    *assigned += 1;
    rc = pg_stmt_get(db, "UPDATE payout_credits SET amount_left = ?3 WHERE batch_id = ?1 AND"
                         " address = ?2", &st, d);
    if (rc) break;
    sqlite3_bind_int64(st, 1, v[i].batch);
    sqlite3_bind_text(st, 2, v[i].address, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, v[i].left);
    rc = pg_stmt_step_done(db, st, "payout_credits write", d);
  }
  free(v);
  if (!rc) rc = pg_grid_commit(db, d);
  else pg_db_rollback(db);
  return rc;
}
