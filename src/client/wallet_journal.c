/* wallet_journal.c — a wallet's journal of its pending transfers
 * (p2pgrid/client/wallet_journal.h): one JSON file per seed, written
 * atomically, kept under a lock file while a send runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/dirlock.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/client/wallet_journal.h"

#define JOURNAL_MAX (4u << 20) /* 64 transfers of 127 inputs fit with room */

static int parse_entry(const json_t *e, pg_wallet_transfer *t, pg_diag *d) {
  json_t *ins = NULL;
  memset(t, 0, sizeof *t);
  int rc = pg_json_get_hex(e, "message", t->msg_id, 32, d);
  if (rc == PG_OK) rc = pg_json_get_hex(e, "transaction", t->tx_id, 32, d);
  if (rc == PG_OK) rc = pg_json_get_array(e, "inputs", &ins, d);
  if (rc) return rc;
  size_t n = json_array_size(ins);
  if (n < 1 || n > PG_TX_MAX_INPUTS)
    return pg_fail(d, PG_ERR_INVALID, "'inputs' holds %zu ids, not 1 to %d", n, PG_TX_MAX_INPUTS);
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(ins, i));
    if (!s || strlen(s) != 2 * PG_OUTPUT_ID_LEN ||
        pg_hex_decode_exact(s, t->inputs[i], PG_OUTPUT_ID_LEN) != PG_OK)
      return pg_fail(d, PG_ERR_INVALID, "input %zu is not a 68-digit hex output id", i);
  }
  t->ninputs = n;
  return PG_OK;
}

int pg_wallet_journal_load(const char *path, pg_wallet_journal_list *j, pg_diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  json_t *root = NULL, *arr = NULL;
  struct stat st;
  memset(j, 0, sizeof *j);
  if (stat(path, &st) != 0 && errno == ENOENT) return PG_OK; /* nothing pending yet */
  int rc = pg_read_file_capped(path, JOURNAL_MAX, &buf, &len, d);
  if (rc == PG_OK) rc = pg_json_parse(buf, len, PG_JSON_OBJECT, &root, d);
  if (rc == PG_OK) rc = pg_json_get_array(root, "pending", &arr, d);
  size_t n = rc == PG_OK ? json_array_size(arr) : 0;
  if (rc == PG_OK && n > PG_WALLET_JOURNAL_MAX)
    rc = pg_fail(d, PG_ERR_INVALID, "more than %d pending transfers", PG_WALLET_JOURNAL_MAX);
  for (size_t i = 0; rc == PG_OK && i < n; i++) {
    rc = parse_entry(json_array_get(arr, i), &j->t[i], d);
    if (rc) {
      pg_diag inner = *d;
      rc = pg_fail(d, rc, "pending transfer %zu: %s", i, inner.msg);
    }
  }
  if (rc == PG_OK) j->n = n;
  if (rc) {
    pg_diag inner = *d;
    rc = pg_fail(d, rc, "%s: not a wallet journal: %s", path, inner.msg);
  }
  json_decref(root);
  free(buf);
  return rc;
}

static json_t *hex_string(const uint8_t *p, size_t n) {
  char hex[2 * PG_OUTPUT_ID_LEN + 1];
  pg_hex_encode(p, n, hex);
  return json_stringn(hex, 2 * n);
}

static json_t *entry_json(const pg_wallet_transfer *t) {
  json_t *ins = json_array();
  for (size_t i = 0; ins && i < t->ninputs; i++)
    if (json_array_append_new(ins, hex_string(t->inputs[i], PG_OUTPUT_ID_LEN)) != 0) {
      json_decref(ins);
      ins = NULL;
    }
  if (!ins) return NULL;
  return json_pack("{s:o, s:o, s:o}", "message", hex_string(t->msg_id, 32), "transaction",
                   hex_string(t->tx_id, 32), "inputs", ins);
}

int pg_wallet_journal_save(const char *path, const pg_wallet_journal_list *j, pg_diag *d) {
  int rc = PG_OK;
  pg_buf b;
  pg_buf_init(&b, JOURNAL_MAX);
  json_t *arr = json_array();
  json_t *root = arr ? json_pack("{s:o}", "pending", arr) : NULL;
  if (!root) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; rc == PG_OK && i < j->n; i++) {
    json_t *e = entry_json(&j->t[i]);
    if (!e || json_array_append_new(arr, e) != 0) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if (rc == PG_OK) {
    if (pg_json_dump(root, &b) == PG_OK) pg_buf_put_u8(&b, '\n');
    if (b.len == 0 || pg_buf_status(&b) != PG_OK)
      rc = pg_fail(d, PG_ERR_NOMEM, "%s: cannot encode the journal", path);
  }
  if (rc == PG_OK) rc = pg_write_file_atomic(path, b.data, b.len, false, true, d);
  json_decref(root);
  pg_buf_free(&b);
  return rc;
}

void pg_wallet_journal_remove(pg_wallet_journal_list *j, size_t i) {
  if (i >= j->n) return;
  memmove(&j->t[i], &j->t[i + 1], (j->n - i - 1) * sizeof j->t[0]);
  j->n--;
}

struct pg_wallet_journal {
  char *path;
  pg_dirlock *lock; /* on path + ".lock" */
  pg_wallet_journal_list list;
};

const char *pg_wallet_journal_path(const pg_wallet_journal *j) { return j->path; }

void pg_wallet_journal_close(pg_wallet_journal *j) {
  if (!j) return;
  pg_dirlock_release(j->lock);
  free(j->path);
  free(j);
}

/* Keeps the entries the node still has pending (tracked by w), drops the
 * rest and writes the file when it changed. */
static int reconcile(pg_wallet_journal *j, pg_wallet *w, pg_wallet_journal_dropped dropped,
                     void *ctx, pg_diag *d) {
  size_t before = j->list.n;
  for (size_t i = 0; i < j->list.n;) {
    const pg_wallet_transfer *t = &j->list.t[i];
    pg_wallet_transfer_state st;
    int rc = pg_wallet_transfer_check(w, t, &st, d);
    if (rc == PG_OK && st == PG_TRANSFER_PENDING) rc = pg_wallet_track(w, t, d);
    if (rc) return rc;
    if (st == PG_TRANSFER_PENDING) {
      i++;
      continue;
    }
    if (st != PG_TRANSFER_INCLUDED && dropped) dropped(ctx, t->msg_id, st);
    pg_wallet_journal_remove(&j->list, i);
  }
  return j->list.n != before ? pg_wallet_journal_save(j->path, &j->list, d) : PG_OK;
}

int pg_wallet_journal_open(const char *path, pg_wallet *w, pg_wallet_journal_dropped dropped,
                           void *ctx, pg_wallet_journal **out, pg_diag *d) {
  *out = NULL;
  size_t n = strlen(path);
  pg_wallet_journal *j = calloc(1, sizeof *j);
  char *lock_path = j ? malloc(n + sizeof ".lock") : NULL;
  if (j) j->path = strdup(path);
  if (!lock_path || !j->path) {
    free(lock_path);
    pg_wallet_journal_close(j);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  memcpy(lock_path, path, n);
  memcpy(lock_path + n, ".lock", sizeof ".lock");
  int rc = pg_lock_file_take(lock_path, true, &j->lock, d);
  free(lock_path);
  if (rc == PG_OK) rc = pg_wallet_journal_load(j->path, &j->list, d);
  if (rc == PG_OK) rc = reconcile(j, w, dropped, ctx, d);
  if (rc) {
    pg_wallet_journal_close(j);
    return rc;
  }
  *out = j;
  return PG_OK;
}

int pg_wallet_journal_add(pg_wallet_journal *j, pg_wallet *w, const uint8_t msg_id[32], pg_diag *d) {
  if (j->list.n == PG_WALLET_JOURNAL_MAX)
    return pg_fail(d, PG_ERR_UNAVAILABLE, "%s: journal full (%d pending transfers)", j->path,
                   PG_WALLET_JOURNAL_MAX);
  int rc = pg_wallet_pending_transfer(w, msg_id, &j->list.t[j->list.n]);
  if (rc) return pg_fail(d, rc, "the transfer just sent is not pending in this wallet");
  j->list.n++;
  rc = pg_wallet_journal_save(j->path, &j->list, d);
  if (rc) j->list.n--; /* the file still says what it said */
  return rc;
}
