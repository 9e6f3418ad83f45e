/* milestone.c — milestone checks (TIP-8), white-flag confirmation (TIP-2),
 * the inclusion Merkle root (TIP-4) and the coordinator.
 *
 * Confirmation: milestones are applied strictly in index order. When a valid
 * milestone message is solid and its index is confirmed + 1 it is applied in
 * the submit transaction that made it solid; one that arrives early waits
 * (stored, solid or not) and is applied right after its predecessor. The walk
 * is TIP-2's post-order DFS from the milestone over parents in stored order,
 * skipping the SEP and messages already referenced. Each visited message gets
 * referenced_by = index and an inclusion state: NO_TX for messages without a
 * transaction; for transactions the tx_confirm hook decides. Without a hook
 * they are marked CONFLICTING with reason 255 (semanticValidationFailed) and
 * one warning per milestone is logged. The recomputed inclusion Merkle root
 * is compared with the milestone's; a mismatch is logged as an error (the
 * milestone is signed by the coordinator, so it is applied anyway).
 *
 * The coordinator: without proof of work its milestone is built inside the
 * group commit that stores it, and the walk that yields the inclusion
 * Merkle root is the confirmation (confirm_one takes it; one walk); with
 * proof of work the root comes from a dry run first, so the nonce search
 * runs without the lock.
 *
 * Rates (status): messages stored and messages referenced between the last
 * two confirmations, divided by the local-clock time between them. */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/crypto/pow.h"
#include "tangle_internal.h"

static const uint8_t SEP[PG_ID_LEN] = {0};

/* ---- TIP-4 ---------------------------------------------------------------- */

void pg_merkle_root(const uint8_t (*ids)[PG_ID_LEN], size_t n, uint8_t out[PG_ID_LEN]) {
  pg_blake2b h;
  if (n == 0) {
    pg_blake2b256(NULL, 0, out);
    return;
  }
  if (n == 1) {
    static const uint8_t leaf = 0x00;
    pg_blake2b256_init(&h);
    pg_blake2b256_update(&h, &leaf, 1);
    pg_blake2b256_update(&h, ids[0], PG_ID_LEN);
    pg_blake2b256_final(&h, out);
    return;
  }
  size_t k = 1;
  while (k * 2 < n) k *= 2; /* largest power of two below n */
  uint8_t l[PG_ID_LEN], r[PG_ID_LEN];
  static const uint8_t node = 0x01;
  pg_merkle_root(ids, k, l);
  pg_merkle_root(ids + k, n - k, r);
  pg_blake2b256_init(&h);
  pg_blake2b256_update(&h, &node, 1);
  pg_blake2b256_update(&h, l, PG_ID_LEN);
  pg_blake2b256_update(&h, r, PG_ID_LEN);
  pg_blake2b256_final(&h, out);
}

/* ---- TIP-8 checks --------------------------------------------------------- */

static bool key_configured(const pg_tangle *t, const uint8_t *key) {
  for (size_t i = 0; i < t->cfg.ms_keys_count; i++)
    if (memcmp(t->cfg.ms_public_keys[i], key, 32) == 0) return true;
  return false;
}

int pg_tg_verify_milestone(const pg_tangle *t, const pg_message *m, pg_diag *d) {
  const pg_milestone *ms = &m->u.milestone;
  if (t->cfg.ms_keys_count == 0)
    return pg_fail(d, PG_ERR_CRYPTO, "milestone rejected: this node has no milestone public keys");
  if (ms->index == 0) return pg_fail(d, PG_ERR_CRYPTO, "milestone rejected: index 0");
  if (ms->parents_count != m->parents_count ||
      memcmp(ms->parents, m->parents, (size_t)m->parents_count * PG_ID_LEN) != 0)
    return pg_fail(d, PG_ERR_CRYPTO, "milestone %u rejected: its parents differ from the message's",
                   ms->index);
  if (ms->keys_count < t->cfg.ms_threshold)
    return pg_fail(d, PG_ERR_CRYPTO, "milestone %u rejected: %u signatures, threshold %u", ms->index,
                   ms->keys_count, t->cfg.ms_threshold);
  if (ms->keys_count > t->cfg.ms_keys_count || ms->signatures_count != ms->keys_count)
    return pg_fail(d, PG_ERR_CRYPTO, "milestone %u rejected: %u keys, %u signatures", ms->index,
                   ms->keys_count, ms->signatures_count);
  uint8_t hash[PG_HASH_LEN];
  pg_blake2b256(ms->essence, ms->essence_len, hash);
  for (unsigned i = 0; i < ms->keys_count; i++) {
    const uint8_t *key = ms->public_keys + (size_t)i * 32;
    char hex[17];
    pg_hex_encode(key, 8, hex);
    if (i > 0 && memcmp(key - 32, key, 32) >= 0)
      return pg_fail(d, PG_ERR_CRYPTO, "milestone %u rejected: public keys not sorted and unique",
                     ms->index);
    if (!key_configured(t, key))
      return pg_fail(d, PG_ERR_CRYPTO, "milestone %u rejected: unknown public key %s...", ms->index, hex);
    if (pg_ed25519_verify(key, hash, sizeof hash, ms->signatures + (size_t)i * 64) != PG_OK)
      return pg_fail(d, PG_ERR_CRYPTO, "milestone %u rejected: bad signature for key %s...", ms->index,
                     hex);
  }
  return PG_OK;
}

/* ---- white flag ----------------------------------------------------------- */

typedef struct wf_frame {
  uint8_t id[PG_ID_LEN];
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  uint8_t np, next;
  int payload_type;
  bool root;
  uint8_t *raw; /* a transaction's bytes for the ledger hook (owned), else NULL */
  size_t raw_len;
} wf_frame;

typedef struct wf_result {
  uint8_t (*included)[PG_ID_LEN];
  size_t nincluded, capincluded;
  size_t referenced;
  size_t unhooked; /* transactions marked conflicting for want of a hook */
  bool notes;       /* note every referenced message for the event sink */
  bool dry;         /* the coordinator's dry run: referenced_by is not written */
  pg_tg_memo seen;  /* messages this walk applied (skipped without a row read) */
} wf_result;

static void wf_result_free(wf_result *r) {
  free(r->included);
  pg_tg_memo_free(&r->seen);
}

/* A coordinator's secret key, ordered by its public half. */
typedef struct key_ref {
  const uint8_t *sk;
} key_ref;

static int key_ref_cmp(const void *a, const void *b) {
  const key_ref *x = a, *y = b;
  return memcmp(x->sk + 32, y->sk + 32, 32);
}

/* The coordinator's milestone when it needs no proof of work: built inside
 * its group commit (pg_tg_coo_build), where the white-flag walk that yields
 * its inclusion Merkle root is the confirmation itself; confirm_one takes
 * the walk instead of walking the cone again. */
struct pg_tg_coo {
  pg_milestone_draft ms; /* the root is filled by the walk */
  const key_ref *keys;
  size_t nkeys;
  pg_message skel;       /* parents and type: what store_one reads before the build */
  pg_buf msg;            /* the built message */
  pg_message pm;
  bool has_pm;
  uint8_t id[PG_ID_LEN];
  wf_result walk;        /* the applied cone, until confirm_one takes it */
};

static int set_referenced(pg_tangle *t, const uint8_t id[PG_ID_LEN], uint32_t index, int inclusion,
                          uint8_t reason, pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_SET_REFERENCED);
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 2, index) != SQLITE_OK || sqlite3_bind_int(st, 3, inclusion) != SQLITE_OK ||
      sqlite3_bind_int(st, 4, reason) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, "binding reference");
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_DONE ? PG_OK : pg_tg_db_fail(&t->store, d, "marking referenced");
}

/* Applies one message of the past cone. */
static int wf_apply(pg_tangle *t, uint32_t index, const wf_frame *f, wf_result *res, pg_diag *d) {
  int inclusion = PG_INCL_NO_TX;
  uint8_t reason = 0;
  int rc = PG_OK;
  if (f->payload_type == PG_PAYLOAD_TRANSACTION) {
    inclusion = PG_INCL_CONFLICTING;
    reason = 255;
    if (t->cfg.tx_confirm) {
      pg_message m;
      if (!f->raw) return pg_fail(d, PG_ERR_STATE, "milestone %u: a transaction without its bytes", index);
      rc = pg_message_parse(f->raw, f->raw_len, &m, d);
      if (rc == PG_OK) {
        bool included = false;
        uint8_t why = 255;
        rc = t->cfg.tx_confirm(t->cfg.tx_confirm_ctx, index, f->id, &m, &included, &why);
        pg_message_clear(&m);
        if (rc) {
          rc = pg_fail(d, rc < 0 ? rc : PG_ERR_DB, "ledger hook failed (%s) confirming milestone %u",
                       pg_strerror(rc), index);
        } else if (included) {
          inclusion = PG_INCL_INCLUDED;
          reason = 0;
        } else {
          reason = why;
        }
      } else {
        rc = pg_fail(d, PG_ERR_STATE, "stored message in the cone of milestone %u does not parse", index);
      }
      if (rc) return rc;
    } else {
      res->unhooked++;
    }
  }
  if (pg_tg_memo_add(&res->seen, f->id)) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!res->dry && (rc = set_referenced(t, f->id, index, inclusion, reason, d))) return rc;
  res->referenced++;
  if (res->notes) {
    pg_tg_note n = {.kind = PG_TANGLE_EV_REFERENCED, .np = f->np, .inclusion = (uint8_t)inclusion,
                    .reason = reason, .index = index,
                    .ms_index = f->payload_type == PG_PAYLOAD_MILESTONE ? index : 0};
    memcpy(n.id, f->id, PG_ID_LEN);
    memcpy(n.parents, f->parents, (size_t)f->np * PG_ID_LEN);
    if (pg_tg_note_push(t, &n)) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if (inclusion == PG_INCL_INCLUDED) {
    if (res->nincluded == res->capincluded) {
      size_t cap = res->capincluded ? res->capincluded * 2 : 16;
      void *p = realloc(res->included, cap * PG_ID_LEN);
      if (!p) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
      res->included = p;
      res->capincluded = cap;
    }
    memcpy(res->included[res->nincluded++], f->id, PG_ID_LEN);
  }
  return PG_OK;
}

/* TIP-2 post-order DFS below a (virtual) root with the given parents. */
static int white_flag(pg_tangle *t, uint32_t index, const uint8_t *root_parents, size_t n,
                      wf_result *res, pg_diag *d) {
  wf_frame *stack = malloc(16 * sizeof *stack);
  size_t depth = 0, cap = 16;
  int rc = PG_OK;
  if (!stack) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  memset(&stack[0], 0, sizeof stack[0]);
  stack[0].root = true;
  stack[0].np = (uint8_t)n;
  memcpy(stack[0].parents, root_parents, n * PG_ID_LEN);
  depth = 1;
  while (depth > 0) {
    wf_frame *f = &stack[depth - 1];
    if (f->next < f->np) {
      uint8_t p[PG_ID_LEN];
      memcpy(p, f->parents[f->next++], PG_ID_LEN);
      if (pg_tg_is_sep(p) || pg_tg_memo_has(&res->seen, p)) continue; /* SEP, or applied */
      wf_frame g = {.raw = NULL};
      uint32_t referenced_by = 0;
      /* one lookup: referenced or not, its type, its parents and (for the
       * ledger hook) a transaction's bytes */
      rc = pg_tg_get_walk(&t->store, p, &referenced_by, &g.payload_type, g.parents, &g.np,
                          t->cfg.tx_confirm ? PG_PAYLOAD_TRANSACTION : -1, &g.raw, &g.raw_len, d);
      if (rc == PG_ERR_NOT_FOUND) {
        char hex[2 * PG_ID_LEN + 1];
        pg_hex_encode(p, PG_ID_LEN, hex);
        rc = pg_fail(d, PG_ERR_STATE, "message %s in the past cone of milestone %u is missing", hex,
                     index);
      }
      if (rc) break;
      if (referenced_by) continue;
      if (depth == cap) {
        wf_frame *ns = realloc(stack, cap * 2 * sizeof *ns);
        if (!ns) {
          free(g.raw);
          rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
          break;
        }
        stack = ns;
        cap *= 2;
      }
      memcpy(g.id, p, PG_ID_LEN);
      stack[depth++] = g;
      continue;
    }
    if (f->root) break;
    rc = wf_apply(t, index, f, res, d);
    free(f->raw);
    f->raw = NULL;
    if (rc) break;
    depth--;
  }
  for (size_t i = 0; i < depth; i++) free(stack[i].raw); /* after an error */
  free(stack);
  return rc;
}

/* Applies milestone `index` whose message is ms_id. */
static int confirm_one(pg_tangle *t, uint32_t index, const uint8_t ms_id[PG_ID_LEN], pg_diag *d) {
  uint8_t *raw = NULL;
  size_t len = 0;
  pg_message m;
  bool parsed = false;
  wf_result res = {.notes = t->cfg.on_event != NULL};
  int rc = pg_tg_get_raw(&t->store, ms_id, &raw, &len, d);
  if (rc) goto out;
  if ((rc = pg_message_parse(raw, len, &m, d))) goto out;
  parsed = true;
  if (m.payload_type != PG_PAYLOAD_MILESTONE) {
    rc = pg_fail(d, PG_ERR_STATE, "milestone candidate %u is not a milestone", index);
    goto out;
  }
  pg_tg_coo *c = t->coo_walked;
  if (c && c->ms.index == index && memcmp(c->id, ms_id, PG_ID_LEN) == 0) {
    res = c->walk; /* this transaction applied the cone while building it */
    memset(&c->walk, 0, sizeof c->walk);
    t->coo_walked = NULL;
  } else if ((rc = white_flag(t, index, m.parents, m.parents_count, &res, d))) {
    goto out;
  }
  wf_frame self = {.payload_type = PG_PAYLOAD_MILESTONE};
  memcpy(self.id, ms_id, PG_ID_LEN);
  self.np = m.parents_count;
  memcpy(self.parents, m.parents, (size_t)m.parents_count * PG_ID_LEN);
  if ((rc = wf_apply(t, index, &self, &res, d))) goto out;

  uint8_t root[PG_ID_LEN];
  pg_merkle_root((const uint8_t(*)[PG_ID_LEN])res.included, res.nincluded, root);
  if (memcmp(root, m.u.milestone.inclusion_merkle_proof, PG_ID_LEN) != 0)
    pg_log_error(PG_TG_LOG,
                 "milestone %u: inclusion Merkle root differs from ours (%zu included): the local "
                 "ledger disagrees with the coordinator's",
                 index, res.nincluded);
  if (res.unhooked)
    pg_log_warn(PG_TG_LOG,
                "milestone %u: no ledger hook, %zu transaction(s) marked conflicting (reason 255)",
                index, res.unhooked);

  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_INSERT_MILESTONE);
  if (sqlite3_bind_int64(st, 1, index) != SQLITE_OK ||
      sqlite3_bind_blob(st, 2, ms_id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 3, (sqlite3_int64)m.u.milestone.timestamp) != SQLITE_OK) {
    rc = pg_tg_db_fail(&t->store, d, "binding milestone");
    goto out;
  }
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  if (step != SQLITE_DONE) {
    rc = pg_tg_db_fail(&t->store, d, "recording milestone");
    goto out;
  }

  pg_tg_state *s = &t->st;
  s->cmi = index;
  s->cmi_ts = m.u.milestone.timestamp;
  memcpy(s->cmi_msg, ms_id, PG_ID_LEN);
  if (index > s->lmi) {
    s->lmi = index;
    s->lmi_ts = s->cmi_ts;
  }
  uint64_t now = pg_tg_now(t);
  s->ref_since_confirm += res.referenced;
  if (s->last_confirm_ms == 0 || now < s->last_confirm_ms) {
    s->last_confirm_ms = now;
    s->new_since_confirm = 0;
    s->ref_since_confirm = 0;
  } else if (now > s->last_confirm_ms) {
    double secs = (double)(now - s->last_confirm_ms) / 1000.0;
    s->rate_mps = (double)s->new_since_confirm / secs;
    s->rate_rmps = (double)s->ref_since_confirm / secs;
    s->rate_ref = s->new_since_confirm ? 100.0 * (double)s->ref_since_confirm / (double)s->new_since_confirm
                                       : 0.0;
    s->last_confirm_ms = now;
    s->new_since_confirm = 0;
    s->ref_since_confirm = 0;
  } /* same millisecond: the next interval covers both */
  t->ev_confirmed = true;
  if (res.notes) {
    pg_tg_note n = {.kind = PG_TANGLE_EV_MILESTONE_CONFIRMED, .index = index,
                    .ts = m.u.milestone.timestamp};
    memcpy(n.id, ms_id, PG_ID_LEN);
    if (pg_tg_note_push(t, &n)) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  pg_log_info(PG_TG_LOG, "milestone %u confirmed: %zu message(s) referenced, %zu transaction(s) included",
              index, res.referenced, res.nincluded);
out:
  if (parsed) pg_message_clear(&m);
  free(raw);
  wf_result_free(&res);
  return rc;
}

int pg_tg_confirm_pending(pg_tangle *t, pg_diag *d) {
  for (;;) {
    uint32_t next = t->st.cmi + 1;
    sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_MS_CANDIDATE);
    if (sqlite3_bind_int64(st, 1, next) != SQLITE_OK) return pg_tg_db_fail(&t->store, d, "binding index");
    int step = sqlite3_step(st);
    uint8_t id[PG_ID_LEN];
    if (step == SQLITE_DONE) {
      sqlite3_reset(st);
      return PG_OK;
    }
    if (step != SQLITE_ROW || sqlite3_column_bytes(st, 0) != PG_ID_LEN) {
      int rc = pg_tg_db_fail(&t->store, d, "looking up milestone");
      sqlite3_reset(st);
      return rc;
    }
    memcpy(id, sqlite3_column_blob(st, 0), PG_ID_LEN);
    sqlite3_reset(st);
    int rc = confirm_one(t, next, id, d);
    if (rc) return rc;
  }
}

/* ---- coordinator ---------------------------------------------------------- */

/* Builds, does PoW for and submits a message; id_out gets its id. */
static int submit_built(pg_tangle *t, const uint8_t *parents, size_t np, const uint8_t *payload,
                        size_t payload_len, atomic_bool *cancel, uint8_t id_out[PG_ID_LEN], pg_diag *d) {
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  int rc = pg_message_build(&msg, t->network_id, parents, np, payload, payload_len, 0, d);
  if (rc == PG_OK && t->cfg.min_pow_score > 0) {
    pg_pow_opts opts = {.threads = t->cfg.pow_threads, .cancel = cancel, .start_nonce = 0};
    uint64_t nonce;
    rc = pg_pow_search(msg.data, msg.len, t->cfg.min_pow_score, &opts, &nonce, NULL);
    if (rc) rc = pg_fail(d, rc, "proof of work: %s", pg_strerror(rc));
  }
  if (rc == PG_OK) rc = pg_tangle_submit(t, msg.data, msg.len, id_out, NULL, d);
  pg_buf_free(&msg);
  return rc;
}

/* The signed milestone payload of ms (its root filled in) into out; n keys,
 * at most PG_MS_MAX_KEYS (pg_tangle_issue_milestone checks). */
static int ms_payload(pg_buf *out, const pg_milestone_draft *ms, const key_ref *keys, size_t n,
                      pg_diag *d) {
  pg_buf essence;
  pg_buf_init(&essence, PG_MSG_MAX_LEN);
  uint8_t sigs[PG_MS_MAX_KEYS][64];
  int rc = pg_milestone_essence(&essence, ms, d);
  if (rc == PG_OK) {
    uint8_t hash[PG_HASH_LEN];
    pg_blake2b256(essence.data, essence.len, hash);
    for (size_t i = 0; i < n; i++) pg_ed25519_sign(keys[i].sk, hash, sizeof hash, sigs[i]);
    rc = pg_milestone_build(out, ms, (const uint8_t(*)[64])sigs, d);
  }
  pg_buf_free(&essence);
  return rc;
}

/* Inclusion Merkle root for a milestone with these parents: a white-flag
 * dry run inside a savepoint that is rolled back (the ledger hook books into
 * the same database, so its writes vanish too). It does not mark messages
 * referenced: the walk's own set of applied messages (wf_result.seen) is
 * what skips them, in the real run too. Lock held. */
static int dry_run_root(pg_tangle *t, uint32_t index, const uint8_t *parents, size_t np,
                        uint8_t root[PG_ID_LEN], pg_diag *d) {
  wf_result res = {.dry = true};
  int rc = pg_tg_exec(&t->store, ST_SAVEPOINT, d);
  if (rc) return rc;
  rc = white_flag(t, index, parents, np, &res, d);
  if (rc == PG_OK) pg_merkle_root((const uint8_t(*)[PG_ID_LEN])res.included, res.nincluded, root);
  pg_diag ignored;
  if (pg_tg_exec(&t->store, ST_ROLLBACK_TO, &ignored) || pg_tg_exec(&t->store, ST_RELEASE, &ignored)) {
    if (rc == PG_OK) rc = pg_fail(d, PG_ERR_DB, "%s", ignored.msg);
  }
  wf_result_free(&res);
  return rc;
}

/* With proof of work: the root from a dry run (lock held only for it), then
 * the message is signed, its nonce searched without the lock, and it is
 * submitted; its confirmation walks the cone again. */
static int issue_walked_twice(pg_tangle *t, pg_milestone_draft *ms, const key_ref *keys, size_t n,
                              atomic_bool *cancel, pg_diag *d) {
  pthread_mutex_lock(&t->mu);
  int rc = dry_run_root(t, ms->index, &ms->parents[0][0], ms->parents_count,
                        ms->inclusion_merkle_proof, d);
  pthread_mutex_unlock(&t->mu);
  pg_buf payload;
  pg_buf_init(&payload, PG_MSG_MAX_LEN);
  if (rc == PG_OK) rc = ms_payload(&payload, ms, keys, n, d);
  uint8_t id[PG_ID_LEN];
  if (rc == PG_OK)
    rc = submit_built(t, &ms->parents[0][0], ms->parents_count, payload.data, payload.len, cancel,
                      id, d);
  pg_buf_free(&payload);
  return rc;
}

int pg_tg_coo_build(pg_tangle *t, pg_tg_job *j, pg_diag *d) {
  pg_tg_coo *c = j->coo;
  if (t->st.cmi + 1 != c->ms.index)
    return pg_fail(d, PG_ERR_STATE, "coordinator: milestone %u is no longer next (confirmed %u)",
                   c->ms.index, t->st.cmi);
  /* built once: a batch with a milestone is FULL from the start, never re-run */
  c->walk = (wf_result){.notes = t->cfg.on_event != NULL};
  int rc = white_flag(t, c->ms.index, &c->ms.parents[0][0], c->ms.parents_count, &c->walk, d);
  if (rc) return rc;
  pg_merkle_root((const uint8_t(*)[PG_ID_LEN])c->walk.included, c->walk.nincluded,
                 c->ms.inclusion_merkle_proof);
  pg_buf payload;
  pg_buf_init(&payload, PG_MSG_MAX_LEN);
  rc = ms_payload(&payload, &c->ms, c->keys, c->nkeys, d);
  if (rc == PG_OK)
    rc = pg_message_build(&c->msg, t->network_id, &c->ms.parents[0][0], c->ms.parents_count,
                          payload.data, payload.len, 0, d);
  pg_buf_free(&payload);
  if (rc == PG_OK) rc = pg_message_parse(c->msg.data, c->msg.len, &c->pm, d);
  if (rc) return rc;
  c->has_pm = true;
  if ((rc = pg_tg_verify_milestone(t, &c->pm, d))) return rc; /* what a submit checks */
  pg_message_id(c->msg.data, c->msg.len, c->id);
  j->bytes = c->msg.data;
  j->len = c->msg.len;
  j->m = &c->pm;
  j->id = c->id;
  t->coo_walked = c;
  return PG_OK;
}

/* Without proof of work: the milestone is built and stored in one group
 * commit, its cone walked once (pg_tg_coo_build). */
static int issue_walked_once(pg_tangle *t, const pg_milestone_draft *ms, const key_ref *keys,
                             size_t n, pg_diag *d) {
  pg_tg_coo c = {.ms = *ms, .keys = keys, .nkeys = n};
  c.skel = (pg_message){.network_id = t->network_id, .parents_count = ms->parents_count,
                        .parents = &c.ms.parents[0][0], .payload_type = PG_PAYLOAD_MILESTONE};
  pg_buf_init(&c.msg, PG_MSG_MAX_LEN);
  pg_tg_job j = {.m = &c.skel, .id = c.id, .d = d, .coo = &c};
  int rc = pg_tg_submit_job(t, &j);
  if (c.has_pm) pg_message_clear(&c.pm);
  pg_buf_free(&c.msg);
  wf_result_free(&c.walk);
  return rc;
}

int pg_tangle_issue_milestone(pg_tangle *t, const uint8_t (*secret_keys)[64], size_t keys_count,
                              atomic_bool *cancel, uint32_t *index_out, pg_diag *d) {
  if (index_out) *index_out = 0;
  if (keys_count == 0 || keys_count > PG_MS_MAX_KEYS)
    return pg_fail(d, PG_ERR_INVALID, "coordinator: need 1..%d secret keys", PG_MS_MAX_KEYS);
  key_ref keys[PG_MS_MAX_KEYS];
  for (size_t i = 0; i < keys_count; i++) keys[i].sk = secret_keys[i];
  qsort(keys, keys_count, sizeof keys[0], key_ref_cmp);
  for (size_t i = 1; i < keys_count; i++)
    if (memcmp(keys[i - 1].sk + 32, keys[i].sk + 32, 32) == 0)
      return pg_fail(d, PG_ERR_INVALID, "coordinator: the same key is given twice");

  pg_milestone_draft ms;
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  size_t np = 0;
  int rc = PG_OK;
  memset(&ms, 0, sizeof ms);

  pthread_mutex_lock(&t->coo_mu);
  pthread_mutex_lock(&t->mu);
  if (t->st.lmi > t->st.cmi) {
    rc = pg_fail(d, PG_ERR_UNAVAILABLE,
                 "coordinator: milestone %u is stored but not confirmed yet (confirmed %u)", t->st.lmi,
                 t->st.cmi);
    pthread_mutex_unlock(&t->mu);
    goto out;
  }
  uint32_t index = t->st.cmi + 1;
  pg_tg_tips_sweep(t);
  pg_tg_tips_pick(t, true, parents, PG_MSG_MAX_PARENTS - 1, &np);
  memcpy(parents[np++], t->st.cmi ? t->st.cmi_msg : SEP, PG_ID_LEN);
  uint64_t prev_ts = t->st.cmi_ts;
  pthread_mutex_unlock(&t->mu);
  np = pg_tg_sort_unique(parents, np);

  if (np < 2) {
    /* Only one possible parent (a new network): add a small indexation
     * message so the milestone gets the two parents iota.js's decoder needs. */
    static const char tag[] = "p2pgrid-coordinator";
    pg_buf ix;
    pg_buf_init(&ix, PG_MSG_MAX_LEN);
    rc = pg_indexation_build(&ix, (const uint8_t *)tag, sizeof tag - 1, NULL, 0, d);
    if (rc == PG_OK) rc = submit_built(t, &parents[0][0], np, ix.data, ix.len, cancel, parents[np], d);
    pg_buf_free(&ix);
    if (rc) goto out;
    np = pg_tg_sort_unique(parents, np + 1);
  }

  ms.index = index;
  uint64_t now_s = pg_tg_now(t) / 1000;
  ms.timestamp = now_s > prev_ts ? now_s : prev_ts;
  ms.parents_count = (uint8_t)np;
  memcpy(ms.parents, parents, np * PG_ID_LEN);
  ms.keys_count = (uint8_t)keys_count;
  for (size_t i = 0; i < keys_count; i++) memcpy(ms.public_keys[i], keys[i].sk + 32, 32);
  rc = t->cfg.min_pow_score == 0 ? issue_walked_once(t, &ms, keys, keys_count, d)
                                 : issue_walked_twice(t, &ms, keys, keys_count, cancel, d);
  if (rc) goto out;
  pthread_mutex_lock(&t->mu);
  bool confirmed = t->st.cmi >= index;
  pthread_mutex_unlock(&t->mu);
  if (!confirmed) {
    rc = pg_fail(d, PG_ERR_STATE, "coordinator: milestone %u was stored but not confirmed", index);
    goto out;
  }
  if (index_out) *index_out = index;
out:
  pthread_mutex_unlock(&t->coo_mu);
  return rc;
}
