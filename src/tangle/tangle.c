/* tangle.c — the Tangle: open/close, entry checks, storage of a message with
 * its child and index rows, the solidifier, reads and status.
 *
 * Solidifier: the all-zero id is the solid entry point (SEP). A message is
 * solid when every parent is the SEP or solid. A message with a missing or
 * unsolid parent is stored with solid = 0; when a message becomes solid, its
 * unsolid children whose parents are now all solid become solid too (a
 * breadth-first work list, no recursion). At most cfg.unsolid_max unsolid
 * messages are kept (a new unsolid message beyond that gets
 * PG_ERR_UNAVAILABLE "solidifier full"); unsolid messages that arrived more
 * than cfg.unsolid_max_age_ms ago are deleted with their child rows (where
 * they are the child) and index rows at the start of every later submit (the
 * coordinator's milestones are submits too). Rows in which a deleted message
 * is the parent belong to its children and stay, so the message can still
 * arrive again later.
 *
 * Every submit is one SQLite transaction: message, child rows, index row, the
 * solidification it causes and any milestone confirmations that follow. The
 * in-memory state (counters, milestone indexes) is restored when the
 * transaction fails; tip-set changes are queued and applied after commit. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/crypto/pow.h"
#include "tangle_internal.h"

void pg_tangle_config_defaults(pg_tangle_config *c) {
  memset(c, 0, sizeof *c);
  c->network_name = "private-tangle";
  c->bech32_hrp = "atoi";
  c->min_pow_score = 0;
  c->tsc_c1 = 8;
  c->tsc_c2 = 13;
  c->tsc_max_depth = 15;
  c->tip_max_children = 2;
  c->tip_max_age_ms = 3000;
  c->unsolid_max = 10000;
  c->unsolid_max_age_ms = 60000;
}

uint64_t pg_network_id(const char *name) {
  uint8_t h[PG_HASH_LEN];
  pg_blake2b256(name, strlen(name), h);
  return pg_le64(h);
}

struct sqlite3 *pg_tangle_db(pg_tangle *t) { return t->store.db; }
const char *pg_tangle_db_path(const pg_tangle *t) { return t->store.path; }

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* One integer from a query without parameters. */
static int scalar(pg_tangle *t, const char *sql, int64_t *out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = PG_OK;
  *out = 0;
  if (sqlite3_prepare_v2(t->store.db, sql, -1, &st, NULL) != SQLITE_OK) {
    rc = pg_tg_db_fail(&t->store, d, sql);
    goto out;
  }
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else if (step != SQLITE_DONE)
    rc = pg_tg_db_fail(&t->store, d, sql);
out:
  sqlite3_finalize(st);
  return rc;
}

/* Timestamp of the milestone in raw bytes (0 if it does not parse). */
static uint64_t raw_ms_timestamp(const uint8_t *raw, size_t len) {
  pg_message m;
  uint64_t ts = 0;
  if (pg_message_parse(raw, len, &m, NULL) == PG_OK) {
    if (m.payload_type == PG_PAYLOAD_MILESTONE) ts = m.u.milestone.timestamp;
    pg_message_clear(&m);
  }
  return ts;
}

/* Latest milestone index/timestamp from the stored valid milestone messages
 * (at least the confirmed one). */
static int load_lmi(pg_tangle *t, pg_diag *d) {
  int64_t v;
  sqlite3_stmt *st = NULL;
  int rc, step;
  if ((rc = scalar(t,
                   "SELECT COALESCE(MAX(milestone_index), 0) FROM messages WHERE milestone_index > 0",
                   &v, d)))
    return rc;
  t->st.lmi = (uint32_t)v > t->st.cmi ? (uint32_t)v : t->st.cmi;
  t->st.lmi_ts = t->st.cmi_ts;
  if (t->st.lmi > t->st.cmi) {
    st = NULL;
    if (sqlite3_prepare_v2(t->store.db,
                           "SELECT raw FROM messages WHERE milestone_index = ?1"
                           " AND milestone_index > 0 LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, t->st.lmi) != SQLITE_OK) {
      rc = pg_tg_db_fail(&t->store, d, "reading latest milestone");
    } else if ((step = sqlite3_step(st)) == SQLITE_ROW) {
      t->st.lmi_ts = raw_ms_timestamp(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    } else if (step != SQLITE_DONE) {
      rc = pg_tg_db_fail(&t->store, d, "reading latest milestone");
    }
    sqlite3_finalize(st);
  }
  return rc;
}

static int load_state(pg_tangle *t, pg_diag *d) {
  int64_t v;
  int rc = scalar(t, "SELECT COUNT(*) FROM messages", &v, d);
  if (rc) return rc;
  t->st.messages = (uint64_t)v;
  if ((rc = scalar(t, "SELECT COUNT(*) FROM messages WHERE solid = 0", &v, d))) return rc;
  t->st.unsolid = (uint64_t)v;

  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(t->store.db,
                         "SELECT ms_index, message_id, timestamp FROM milestones "
                         "ORDER BY ms_index DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, "reading milestones");
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW && sqlite3_column_bytes(st, 1) == PG_ID_LEN) {
    t->st.cmi = (uint32_t)sqlite3_column_int64(st, 0);
    memcpy(t->st.cmi_msg, sqlite3_column_blob(st, 1), PG_ID_LEN);
    t->st.cmi_ts = (uint64_t)sqlite3_column_int64(st, 2);
  } else if (step != SQLITE_DONE) {
    rc = pg_tg_db_fail(&t->store, d, "reading milestones");
  }
  sqlite3_finalize(st);
  if (rc) return rc;

  return load_lmi(t, d);
}

int pg_tangle_open(const pg_tangle_config *c, pg_tangle **out, pg_diag *d) {
  *out = NULL;
  if (!c || !c->data_dir || !*c->data_dir) return pg_fail(d, PG_ERR_CONFIG, "tangle: data_dir is required");
  if (c->ms_keys_count > PG_MS_MAX_KEYS)
    return pg_fail(d, PG_ERR_CONFIG, "tangle: at most %d milestone keys", PG_MS_MAX_KEYS);
  if (c->ms_keys_count && (c->ms_threshold < 1 || c->ms_threshold > c->ms_keys_count))
    return pg_fail(d, PG_ERR_CONFIG, "tangle: milestone threshold must be 1..%zu", c->ms_keys_count);
  if (pg_crypto_init() != PG_OK) return pg_fail(d, PG_ERR_CRYPTO, "tangle: libsodium init failed");

  pg_tangle *t = calloc(1, sizeof *t);
  if (!t) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  t->cfg = *c;
  pg_tangle_config def;
  pg_tangle_config_defaults(&def);
  const char *name = c->network_name && *c->network_name ? c->network_name : def.network_name;
  const char *hrp = c->bech32_hrp && *c->bech32_hrp ? c->bech32_hrp : def.bech32_hrp;
  t->data_dir = dup_str(c->data_dir);
  t->network_name = dup_str(name);
  t->hrp = dup_str(hrp);
  if (!t->data_dir || !t->network_name || !t->hrp) {
    free(t->data_dir);
    free(t->network_name);
    free(t->hrp);
    free(t);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  t->cfg.data_dir = t->data_dir;
  t->cfg.network_name = t->network_name;
  t->cfg.bech32_hrp = t->hrp;
  if (!t->cfg.tsc_c1) t->cfg.tsc_c1 = def.tsc_c1;
  if (!t->cfg.tsc_c2) t->cfg.tsc_c2 = def.tsc_c2;
  if (!t->cfg.tsc_max_depth) t->cfg.tsc_max_depth = def.tsc_max_depth;
  if (!t->cfg.tip_max_children) t->cfg.tip_max_children = def.tip_max_children;
  if (!t->cfg.tip_max_age_ms) t->cfg.tip_max_age_ms = def.tip_max_age_ms;
  if (!t->cfg.unsolid_max) t->cfg.unsolid_max = def.unsolid_max;
  if (!t->cfg.unsolid_max_age_ms) t->cfg.unsolid_max_age_ms = def.unsolid_max_age_ms;
  t->clock = c->clock ? c->clock : pg_clock_real();
  t->network_id = pg_network_id(t->network_name);
  pthread_mutex_init(&t->mu, NULL);
  pthread_mutex_init(&t->coo_mu, NULL);
  pthread_mutex_init(&t->gc_mu, NULL);
  pthread_cond_init(&t->gc_cv, NULL);
  pthread_cond_init(&t->gc_work_cv, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->gc_lead_cv, &ca);
  pthread_condattr_destroy(&ca);
  pg_tg_rng_seed(t);

  int rc = pg_tg_store_open(&t->store, t->data_dir, t->network_name, t->cfg.checkpoint_pages,
                            t->cfg.process, d);
  if (rc) goto fail;
  if ((rc = load_state(t, d))) goto fail;
  if ((rc = pg_tg_tips_rebuild(t, d))) goto fail;
  pg_log_info(PG_TG_LOG,
              "opened %s: network %s, %llu messages (%llu unsolid), confirmed milestone %u, %zu tips",
              t->store.path, t->network_name, (unsigned long long)t->st.messages,
              (unsigned long long)t->st.unsolid, t->st.cmi, t->ntips);
  *out = t;
  return PG_OK;
fail:
  pg_tangle_close(t);
  return rc;
}

static void committer_stop(pg_tangle *t);

void pg_tangle_close(pg_tangle *t) {
  if (!t) return;
  committer_stop(t);
  pg_tg_store_close(&t->store);
  pthread_mutex_destroy(&t->mu);
  pthread_mutex_destroy(&t->coo_mu);
  pthread_mutex_destroy(&t->gc_mu);
  pthread_cond_destroy(&t->gc_cv);
  pthread_cond_destroy(&t->gc_lead_cv);
  pthread_cond_destroy(&t->gc_work_cv);
  free(t->tips);
  free(t->cand);
  free(t->ev);
  free(t->notes);
  free(t->data_dir);
  free(t->network_name);
  free(t->hrp);
  free(t);
}

/* ---- submit --------------------------------------------------------------- */

/* Growable list of ids (work lists). */
typedef struct id_list {
  uint8_t (*ids)[PG_ID_LEN];
  size_t n, cap;
} id_list;

static int id_list_push(id_list *l, const uint8_t id[PG_ID_LEN]) {
  if (pg_grow(&l->ids, &l->cap, l->n + 1, sizeof *l->ids, 0)) return PG_ERR_NOMEM;
  memcpy(l->ids[l->n++], id, PG_ID_LEN);
  return PG_OK;
}

static int event_push(pg_tangle *t, const pg_tg_event *e) {
  if (pg_grow(&t->ev, &t->capev, t->nev + 1, sizeof *t->ev, 0)) return PG_ERR_NOMEM;
  t->ev[t->nev++] = *e;
  return PG_OK;
}

int pg_tg_note_push(pg_tangle *t, const pg_tg_note *n) {
  if (pg_grow(&t->notes, &t->capnotes, t->nnotes + 1, sizeof *t->notes, 0)) return PG_ERR_NOMEM;
  t->notes[t->nnotes++] = *n;
  return PG_OK;
}

/* Metadata of a solid message with these parents (not referenced yet). */
static void solid_meta(pg_msg_meta *meta, const uint8_t id[PG_ID_LEN], uint8_t np,
                       const uint8_t (*parents)[PG_ID_LEN]) {
  memset(meta, 0, sizeof *meta);
  memcpy(meta->id, id, PG_ID_LEN);
  meta->parents_count = np;
  memcpy(meta->parents, parents, (size_t)np * PG_ID_LEN);
  meta->solid = true;
}

/* Tells cfg.on_event what the committed submit of (bytes, id) did, in the
 * order tangle.h promises. Lock held. */
static void tell_events(pg_tangle *t, const pg_tg_job *j) {
  pg_tangle_event ev = {.kind = PG_TANGLE_EV_MESSAGE, .id = j->id, .raw = j->bytes,
                        .raw_len = j->len};
  t->cfg.on_event(t->cfg.on_event_ctx, &ev);
  if (j->lmi_after > j->lmi_before) {
    ev = (pg_tangle_event){.kind = PG_TANGLE_EV_MILESTONE_LATEST, .id = j->id,
                           .ms_index = j->lmi_after, .ms_timestamp = j->lmi_ts_after};
    t->cfg.on_event(t->cfg.on_event_ctx, &ev);
  }
  pg_msg_meta meta;
  for (size_t e = j->ev0; e < j->ev1; e++) {
    const pg_tg_event *s = &t->ev[e];
    int score = pg_tg_score(t, s->omrsi, s->ymrsi);
    solid_meta(&meta, s->id, s->np, (const uint8_t(*)[PG_ID_LEN])s->parents);
    meta.should_promote = score == PG_TG_SEMI_LAZY;
    meta.should_reattach = score == PG_TG_LAZY;
    ev = (pg_tangle_event){.kind = PG_TANGLE_EV_SOLID, .id = meta.id, .meta = &meta};
    t->cfg.on_event(t->cfg.on_event_ctx, &ev);
  }
  for (size_t i = j->note0; i < j->note1; i++) {
    const pg_tg_note *n = &t->notes[i];
    if (n->kind == PG_TANGLE_EV_MILESTONE_CONFIRMED) {
      ev = (pg_tangle_event){.kind = PG_TANGLE_EV_MILESTONE_CONFIRMED, .id = n->id,
                             .ms_index = n->index, .ms_timestamp = n->ts};
    } else {
      solid_meta(&meta, n->id, n->np, (const uint8_t(*)[PG_ID_LEN])n->parents);
      meta.referenced_by = n->index;
      meta.milestone_index = n->ms_index;
      meta.inclusion = n->inclusion;
      meta.conflict_reason = n->reason;
      ev = (pg_tangle_event){.kind = PG_TANGLE_EV_REFERENCED, .id = meta.id, .meta = &meta};
    }
    t->cfg.on_event(t->cfg.on_event_ctx, &ev);
  }
}

/* Runs a statement bound to one id that returns no rows. */
static int exec_id(pg_tangle *t, int which, const uint8_t id[PG_ID_LEN], pg_diag *d, const char *what) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, which);
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, what);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_DONE ? PG_OK : pg_tg_db_fail(&t->store, d, what);
}

static int ids_query(pg_tangle *t, int which, const uint8_t id[PG_ID_LEN], int64_t arg2,
                     const void *blob2, id_list *out, pg_diag *d, const char *what);

/* The indexation key a message carries (its own payload's or its
 * transaction's), or NULL. */
static const pg_indexation *message_index(const pg_message *m) {
  if (m->payload_type == PG_PAYLOAD_INDEXATION) return &m->u.indexation;
  if (m->payload_type == PG_PAYLOAD_TRANSACTION && m->u.transaction &&
      m->u.transaction->has_indexation)
    return &m->u.transaction->indexation;
  return NULL;
}

/* Runs a statement with blob ?1 and, when b2 is given, a 32-byte blob ?2,
 * else the integer i2 as ?2. */
static int exec_pair(pg_tangle *t, int which, const uint8_t *b1, size_t len1, const uint8_t *b2,
                     int64_t i2, pg_diag *d, const char *what) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, which);
  if (sqlite3_bind_blob(st, 1, b1, (int)len1, SQLITE_STATIC) != SQLITE_OK ||
      (b2 ? sqlite3_bind_blob(st, 2, b2, PG_ID_LEN, SQLITE_STATIC)
          : sqlite3_bind_int64(st, 2, i2)) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, what);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_DONE ? PG_OK : pg_tg_db_fail(&t->store, d, what);
}

/* What deleting a stored message needs from its row: its rowid, parents
 * and index key, copied out so that no statement stays open meanwhile. */
typedef struct stored_keys {
  int64_t rowid;
  uint8_t np;
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  size_t ix_len; /* 0: no index row */
  uint8_t ix[PG_INDEX_MAX_LEN];
} stored_keys;

/* PG_OK with *k, PG_ERR_NOT_FOUND, or an error. */
static int read_keys(pg_tangle *t, const uint8_t id[PG_ID_LEN], stored_keys *k, pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_GET_ROWID_RAW);
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, "binding id");
  int step = sqlite3_step(st), rc = PG_OK;
  if (step == SQLITE_ROW) {
    const uint8_t *raw = sqlite3_column_blob(st, 1);
    pg_message m;
    k->rowid = sqlite3_column_int64(st, 0);
    if (!raw || pg_message_parse(raw, (size_t)sqlite3_column_bytes(st, 1), &m, NULL) != PG_OK) {
      rc = pg_fail(d, PG_ERR_DB, "tangle db: a stored message does not parse");
    } else {
      const pg_indexation *ix = message_index(&m);
      k->np = m.parents_count;
      memcpy(k->parents, m.parents, (size_t)m.parents_count * PG_ID_LEN);
      k->ix_len = ix ? ix->index_len : 0;
      if (ix) memcpy(k->ix, ix->index, ix->index_len);
      pg_message_clear(&m);
    }
  } else {
    rc = step == SQLITE_DONE ? PG_ERR_NOT_FOUND
                             : pg_tg_db_fail(&t->store, d, "reading a message to delete");
  }
  sqlite3_reset(st);
  return rc;
}

/* Deletes a stored message with its rows in children (as the child) and
 * indexation. Rows where it is the parent belong to its children and stay. */
static int delete_message(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_diag *d) {
  stored_keys k;
  int rc = read_keys(t, id, &k, d);
  if (rc == PG_ERR_NOT_FOUND) return PG_OK;
  for (uint8_t i = 0; i < k.np && rc == PG_OK; i++)
    rc = exec_pair(t, ST_DELETE_CHILD, k.parents[i], PG_ID_LEN, id, 0, d, "deleting a child row");
  if (rc == PG_OK && k.ix_len)
    rc = exec_pair(t, ST_DELETE_INDEX, k.ix, k.ix_len, NULL, k.rowid, d, "deleting an index row");
  if (rc == PG_OK) rc = exec_id(t, ST_DELETE_MSG, id, d, "deleting unsolid message");
  return rc;
}

/* Deletes unsolid messages older than the configured age. */
static int purge_unsolid(pg_tangle *t, uint64_t now, pg_diag *d) {
  if (t->st.unsolid == 0) return PG_OK;
  uint64_t age = t->cfg.unsolid_max_age_ms;
  if (now <= age) return PG_OK;
  id_list old = {0};
  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_OLD_UNSOLID);
  int rc = PG_OK, step;
  if (sqlite3_bind_int64(st, 1, (sqlite3_int64)(now - age)) != SQLITE_OK) {
    rc = pg_tg_db_fail(&t->store, d, "binding age");
    goto out;
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != PG_ID_LEN) continue;
    if ((rc = id_list_push(&old, sqlite3_column_blob(st, 0)))) {
      rc = pg_fail(d, rc, "out of memory");
      goto out;
    }
  }
  sqlite3_reset(st);
  if (step != SQLITE_DONE) {
    rc = pg_tg_db_fail(&t->store, d, "listing old unsolid messages");
    goto out;
  }
  for (size_t i = 0; i < old.n; i++) {
    if ((rc = delete_message(t, old.ids[i], d))) goto out;
    t->st.unsolid--;
    t->st.messages--;
  }
  if (old.n) {
    pg_log_info(PG_TG_LOG, "dropped %zu unsolid message(s) older than %llu ms", old.n,
                (unsigned long long)age);
    rc = load_lmi(t, d); /* a dropped message may have been the latest milestone */
  }
out:
  sqlite3_reset(st);
  free(old.ids);
  return rc;
}

/* Collects the ids a statement returns (first column); binds id as ?1 and,
 * when blob2 is given, a 32-byte blob as ?2, else arg2 as ?2 if >= 0. */
static int ids_query(pg_tangle *t, int which, const uint8_t id[PG_ID_LEN], int64_t arg2,
                     const void *blob2, id_list *out, pg_diag *d, const char *what) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, which);
  int rc = PG_OK, step;
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
      (blob2 && sqlite3_bind_blob(st, 2, blob2, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK) ||
      (!blob2 && arg2 >= 0 && sqlite3_bind_int64(st, 2, arg2) != SQLITE_OK))
    return pg_tg_db_fail(&t->store, d, what);
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != PG_ID_LEN) continue;
    if (id_list_push(out, sqlite3_column_blob(st, 0))) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
  }
  if (rc == PG_OK && step != SQLITE_DONE) rc = pg_tg_db_fail(&t->store, d, what);
  sqlite3_reset(st);
  return rc;
}

static int count_query(pg_tangle *t, int which, const uint8_t *blob1, size_t len1, const void *blob2,
                       int64_t *out, pg_diag *d, const char *what) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, which);
  *out = 0;
  if (sqlite3_bind_blob(st, 1, blob1, (int)len1, SQLITE_STATIC) != SQLITE_OK ||
      (blob2 && sqlite3_bind_blob(st, 2, blob2, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK))
    return pg_tg_db_fail(&t->store, d, what);
  int step = sqlite3_step(st);
  int rc = PG_OK;
  if (step == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else
    rc = pg_tg_db_fail(&t->store, d, what);
  sqlite3_reset(st);
  return rc;
}

static const uint8_t SEP[PG_ID_LEN] = {0};

/* *ready: every parent of the stored message id is the SEP or stored solid. */
static int parents_solid(pg_tangle *t, const uint8_t id[PG_ID_LEN], bool *ready, pg_diag *d) {
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  uint8_t np;
  int rc = pg_tg_get_parents(&t->store, id, parents, &np, d);
  *ready = rc == PG_OK;
  for (uint8_t i = 0; i < np && rc == PG_OK && *ready; i++) {
    if (pg_tg_is_sep(parents[i])) continue;
    pg_tg_row row;
    rc = pg_tg_get_row(&t->store, parents[i], &row, d);
    if (rc == PG_ERR_NOT_FOUND) {
      *ready = false;
      rc = PG_OK;
    } else if (rc == PG_OK && !row.solid) {
      *ready = false;
    }
  }
  return rc;
}

/* Marks an unsolid stored message solid: its event (parents, OMRSI/YMRSI)
 * and whether it is a milestone candidate. */
static int mark_solid(pg_tangle *t, const uint8_t id[PG_ID_LEN], bool *has_ms, pg_diag *d) {
  pg_tg_event ev;
  pg_tg_row row;
  int rc;
  memcpy(ev.id, id, PG_ID_LEN);
  if ((rc = exec_id(t, ST_SET_SOLID, id, d, "marking solid"))) return rc;
  t->st.unsolid--;
  if ((rc = pg_tg_get_parents(&t->store, id, ev.parents, &ev.np, d))) return rc;
  if ((rc = pg_tg_mrsi(t, id, true, NULL, &ev.omrsi, &ev.ymrsi, d))) return rc;
  if ((rc = pg_tg_get_row(&t->store, id, &row, d))) return rc;
  if (row.milestone_index) *has_ms = true;
  if (event_push(t, &ev)) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  return PG_OK;
}

/* Walks from id, which just became solid (stored solid, its event pushed
 * by the caller), to the children that become solid with it, then confirms
 * what milestones that makes possible. has_ms: id is a milestone candidate. */
static int solidify(pg_tangle *t, const uint8_t id[PG_ID_LEN], bool has_ms, pg_diag *d) {
  id_list q = {0}, kids = {0};
  int rc = id_list_push(&q, id);
  if (rc) return pg_fail(d, rc, "out of memory");
  for (size_t i = 0; i < q.n && rc == PG_OK; i++) {
    const uint8_t *cur = q.ids[i];
    if (i > 0 && (rc = mark_solid(t, cur, &has_ms, d))) break;
    kids.n = 0;
    if ((rc = ids_query(t, ST_UNSOLID_CHILDREN, cur, -1, NULL, &kids, d, "listing children"))) break;
    for (size_t k = 0; k < kids.n; k++) {
      bool ready;
      if ((rc = parents_solid(t, kids.ids[k], &ready, d))) break;
      if (ready && id_list_push(&q, kids.ids[k])) {
        rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
        break;
      }
    }
  }
  free(q.ids);
  free(kids.ids);
  if (rc == PG_OK && has_ms) rc = pg_tg_confirm_pending(t, d);
  return rc;
}

/* The index row of the message id whose rowid is seq. */
static int insert_index(pg_tangle *t, const pg_indexation *ix, int64_t seq,
                        const uint8_t id[PG_ID_LEN], pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_INSERT_INDEX);
  if (sqlite3_bind_blob(st, 1, ix->index, (int)ix->index_len, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 2, seq) != SQLITE_OK ||
      sqlite3_bind_blob(st, 3, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, "binding index row");
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_DONE ? PG_OK : pg_tg_db_fail(&t->store, d, "inserting index row");
}

/* OMRSI/YMRSI a message is stored with (mrsi_at 0: not computed). */
typedef struct mrsi_vals {
  uint32_t o, y, at;
} mrsi_vals;

static int store_message(pg_tangle *t, const uint8_t *bytes, size_t len, const pg_message *m,
                         const uint8_t id[PG_ID_LEN], uint64_t now, bool solid,
                         const mrsi_vals *mv, pg_diag *d) {
  uint32_t ms_index = m->payload_type == PG_PAYLOAD_MILESTONE ? m->u.milestone.index : 0;
  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_INSERT_MSG);
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 3, (sqlite3_int64)now) != SQLITE_OK ||
      sqlite3_bind_int(st, 4, solid) != SQLITE_OK ||
      sqlite3_bind_int64(st, 5, ms_index) != SQLITE_OK ||
      sqlite3_bind_int(st, 6, m->payload_type) != SQLITE_OK ||
      sqlite3_bind_int64(st, 7, mv->o) != SQLITE_OK || sqlite3_bind_int64(st, 8, mv->y) != SQLITE_OK ||
      sqlite3_bind_int64(st, 9, mv->at) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, "binding message");
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  if (step != SQLITE_DONE) return pg_tg_db_fail(&t->store, d, "inserting message");
  int64_t rowid = sqlite3_last_insert_rowid(t->store.db);

  int rc = PG_OK;
  for (int i = 0; i < m->parents_count && rc == PG_OK; i++)
    rc = exec_pair(t, ST_INSERT_CHILD, m->parents + (size_t)i * PG_ID_LEN, PG_ID_LEN, id, 0, d,
                   "inserting a child row");
  const pg_indexation *ix = message_index(m);
  if (rc == PG_OK && ix) rc = insert_index(t, ix, rowid, id, d);
  if (rc) return rc;

  t->st.messages++;
  if (!solid) t->st.unsolid++;
  t->st.new_since_confirm++;
  if (ms_index > t->st.lmi) {
    t->st.lmi = ms_index;
    t->st.lmi_ts = m->u.milestone.timestamp;
  }
  return PG_OK;
}

/* Stores one new message (inside the batch transaction): solid right away
 * when every parent is, with its OMRSI/YMRSI, then the children it makes
 * solid and the milestones that follow. */
static int store_one(pg_tangle *t, pg_tg_job *j, uint64_t now, pg_diag *d) {
  const pg_message *m = j->m; /* a coordinator job's skeleton until it is built */
  pg_tg_row rows[PG_MSG_MAX_PARENTS]; /* the parents' rows, reused for OMRSI/YMRSI */
  bool solid = true;
  int rc = PG_OK;
  for (int i = 0; i < m->parents_count && solid; i++) {
    const uint8_t *p = m->parents + (size_t)i * PG_ID_LEN;
    if (pg_tg_is_sep(p)) continue;
    rc = pg_tg_get_row(&t->store, p, &rows[i], d);
    if (rc == PG_ERR_NOT_FOUND || (rc == PG_OK && !rows[i].solid))
      solid = false;
    else if (rc)
      return rc;
  }
  if (!solid && j->coo) return pg_fail(d, PG_ERR_STATE, "coordinator: a parent is not solid");
  if (!solid && t->st.unsolid >= t->cfg.unsolid_max)
    return pg_fail(d, PG_ERR_UNAVAILABLE, "solidifier full (%llu unsolid messages waiting for parents)",
                   (unsigned long long)t->st.unsolid);
  mrsi_vals mv = {0, 0, 0};
  pg_tg_event ev;
  if (solid) {
    bool complete;
    if ((rc = pg_tg_mrsi_new(t, j->id, m->parents, m->parents_count, rows, &mv.o, &mv.y,
                             &complete, d)))
      return rc;
    mv.at = complete ? t->st.cmi + 1 : 0;
    /* the coordinator's milestone: its parents' values before it walks */
    if (j->coo && (rc = pg_tg_coo_build(t, j, d))) return rc;
    m = j->m;
    memcpy(ev.id, j->id, PG_ID_LEN);
    ev.np = m->parents_count;
    memcpy(ev.parents, m->parents, (size_t)m->parents_count * PG_ID_LEN);
    ev.omrsi = mv.o;
    ev.ymrsi = mv.y;
  }
  if ((rc = store_message(t, j->bytes, j->len, m, j->id, now, solid, &mv, d))) return rc;
  if (!solid) return PG_OK;
  if (event_push(t, &ev)) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  return solidify(t, j->id, m->payload_type == PG_PAYLOAD_MILESTONE, d);
}

/* ---- group commit ----------------------------------------------------------
 * Submits queue up (gc_mu); whoever finds no leader becomes it, takes the
 * queue (up to BATCH_MAX) and stores it in ONE transaction under mu, each
 * message inside its own savepoint so a refused one leaves the others alone.
 * Every submitter is answered only after that COMMIT: what pg_tangle_submit
 * reports stored is committed (WAL; see store.h for fsync). Submits that
 * arrive meanwhile form the next group. A submitter announces itself when it
 * starts (pg_tangle_submit; pg_tangle_attach when it does no proof of work);
 * a new leader waits at most GC_WAIT_US for announced ones still on their way
 * to the queue, so concurrent submits share a commit. A lone submitter never
 * waits. */
#define BATCH_MAX 64
#define GC_WAIT_US 300
#define BATCH_RESTART 1 /* the batch needs synchronous=FULL: run it again */

static void batch_rollback(pg_tangle *t) {
  if (sqlite3_get_autocommit(t->store.db)) return;
  pg_diag ignored;
  if (pg_tg_exec(&t->store, ST_ROLLBACK, &ignored))
    pg_log_error(PG_TG_LOG, "rollback failed: %s", ignored.msg);
}

/* One job inside the open batch transaction. BATCH_RESTART when it would
 * need synchronous=FULL and full is off; a negative error aborts the batch. */
static int batch_job(pg_tangle *t, pg_tg_job *j, bool full, bool single, uint64_t now, pg_diag *d) {
  pg_tg_row row;
  j->ev0 = j->ev1 = t->nev;
  j->note0 = j->note1 = t->nnotes;
  j->lmi_before = j->lmi_after = t->st.lmi;
  j->is_new = false;
  int rc = j->coo ? PG_ERR_NOT_FOUND : pg_tg_get_row(&t->store, j->id, &row, d); /* coo: new */
  if (rc == PG_OK) return j->rc = PG_OK; /* already stored: idempotent */
  if (rc != PG_ERR_NOT_FOUND) return rc;
  /* Durability: a transaction that may confirm a milestone commits with
   * synchronous=FULL (store.h). Confirmation happens only in solidify()
   * walking to a milestone, i.e. when this message is a milestone or has
   * children that arrived before it. */
  if (!full) {
    int64_t waiting = 0;
    if ((rc = count_query(t, ST_CHILDREN_COUNT, j->id, PG_ID_LEN, NULL, &waiting, d,
                          "counting children")))
      return rc;
    if (waiting > 0) return BATCH_RESTART;
  }
  pg_tg_state saved = t->st;
  bool confirmed = t->ev_confirmed;
  if (!single && (rc = pg_tg_exec(&t->store, ST_SAVEPOINT, d))) return rc;
  j->rc = store_one(t, j, now, j->d);
  t->coo_walked = NULL; /* taken by the confirmation, or rolled back with the job */
  if (j->rc == PG_OK) {
    j->is_new = true;
    j->ev1 = t->nev;
    j->note1 = t->nnotes;
    j->lmi_after = t->st.lmi;
    j->lmi_ts_after = t->st.lmi_ts;
    return single ? PG_OK : pg_tg_exec(&t->store, ST_RELEASE, d);
  }
  if (single) return j->rc; /* the caller rolls the whole transaction back */
  t->st = saved;
  t->nev = j->ev0;
  t->nnotes = j->note0;
  t->ev_confirmed = confirmed;
  if ((rc = pg_tg_exec(&t->store, ST_ROLLBACK_TO, d)) || (rc = pg_tg_exec(&t->store, ST_RELEASE, d)))
    return rc;
  return PG_OK;
}

/* ---- attach many --------------------------------------------------------
 * pg_tangle_attach_many's messages are built inside the batch (mu held), so
 * each can take the messages stored just before it as parents. */
#define MANY_GROUP 256

static void select_locked(pg_tangle *t, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count);

static void item_unbuild(pg_tg_job *j) {
  if (j->has_pm) pg_message_clear(&j->pm);
  j->has_pm = false;
  pg_buf_reset(&j->buf);
}

/* The parents of jobs[i]: up to two messages stored before it in this batch
 * and one tip, or up to 8 tips for the first; sorted, unique. */
static size_t item_parents(pg_tangle *t, pg_tg_job **jobs, size_t i,
                           uint8_t (*p)[PG_ID_LEN]) {
  size_t np = 0;
  for (size_t k = i; k-- > 0 && np < 2;)
    if (jobs[k]->rc == PG_OK && jobs[k]->has_pm) memcpy(p[np++], jobs[k]->item->id, PG_ID_LEN);
  if (np == 0) {
    select_locked(t, p, PG_MSG_MAX_PARENTS, &np);
  } else {
    size_t nt = 0;
    pg_tg_tips_pick(t, false, &p[np], 1, &nt);
    np += nt;
  }
  return pg_tg_sort_unique(p, np);
}

/* An item that follows one not stored: refused, not built. */
static int refuse_follower(pg_tangle_item *it) {
  return it->rc = pg_fail(it->d, PG_ERR_STATE, "not attached: the message before it was not");
}

/* Builds jobs[i]'s message from its item; PG_OK to store it, else its rc is
 * set (an item that follows a refused one is not built). */
static int item_build(pg_tangle *t, pg_tg_job **jobs, size_t i) {
  pg_tg_job *j = jobs[i];
  pg_tangle_item *it = j->item;
  item_unbuild(j);
  j->is_new = false;
  bool prev_ok = i > 0 ? jobs[i - 1]->rc == PG_OK : j->first_item || (it - 1)->rc == PG_OK;
  if (it->follows && !prev_ok) return j->rc = refuse_follower(it);
  uint8_t parents[PG_MSG_MAX_PARENTS + 2][PG_ID_LEN];
  size_t np = item_parents(t, jobs, i, parents);
  int rc = pg_message_build(&j->buf, t->network_id, &parents[0][0], np,
                            it->payload_len ? it->payload : NULL, it->payload_len, j->nonce,
                            it->d);
  if (!rc) rc = pg_buf_status(&j->buf);
  if (!rc) rc = pg_message_parse(j->buf.data, j->buf.len, &j->pm, it->d);
  if (rc) return j->rc = rc;
  j->has_pm = true;
  if (j->pm.payload_type == PG_PAYLOAD_MILESTONE)
    return j->rc = pg_fail(it->d, PG_ERR_INVALID, "attach: a milestone is issued, not attached");
  pg_message_id(j->buf.data, j->buf.len, it->id);
  j->bytes = j->buf.data;
  j->len = j->buf.len;
  j->m = &j->pm;
  j->id = it->id;
  return PG_OK;
}

/* Stores jobs[0..n) in one transaction; BATCH_RESTART or an error that
 * fails every job (in d), else PG_OK with each job's own rc. */
static int batch_try(pg_tangle *t, pg_tg_job **jobs, size_t n, bool full, pg_diag *d) {
  pg_tg_state saved = t->st;
  t->nev = 0;
  t->nnotes = 0;
  t->ev_confirmed = false;
  int rc = pg_tg_exec(&t->store, ST_BEGIN, d);
  uint64_t now = pg_tg_now(t);
  if (rc == PG_OK) rc = purge_unsolid(t, now, d);
  for (size_t i = 0; i < n && rc == PG_OK; i++)
    if (!jobs[i]->item || item_build(t, jobs, i) == PG_OK)
      rc = batch_job(t, jobs[i], full, n == 1, now, d);
  if (rc == PG_OK) rc = pg_tg_exec(&t->store, ST_COMMIT, d);
  if (rc != PG_OK) {
    batch_rollback(t);
    t->st = saved;
    t->nev = 0;
    t->nnotes = 0;
    t->ev_confirmed = false;
    return rc;
  }
  t->n_commits++;
  for (size_t i = 0; i < n; i++) t->n_committed += jobs[i]->is_new && jobs[i]->rc == PG_OK;
  if (t->ev_confirmed && !full) /* cannot happen: see batch_job */
    pg_log_error(PG_TG_LOG, "a milestone was confirmed by a commit without synchronous=FULL");
  pg_tg_tips_apply_events(t);
  if (t->ev_confirmed) pg_tg_tips_refresh(t);
  if (t->cfg.on_event)
    for (size_t i = 0; i < n; i++)
      if (jobs[i]->is_new && jobs[i]->rc == PG_OK) tell_events(t, jobs[i]);
  t->nev = 0;
  t->nnotes = 0;
  return PG_OK;
}

/* Runs one group (mu held): FULL from the start when it holds a milestone,
 * and once more with FULL when a message turns out to have waiting children. */
static void run_batch(pg_tangle *t, pg_tg_job **jobs, size_t n) {
  bool full = false;
  for (size_t i = 0; i < n; i++)
    if (jobs[i]->m && jobs[i]->m->payload_type == PG_PAYLOAD_MILESTONE) full = true;
  pg_diag bd;
  pg_diag_clear(&bd);
  int rc;
  for (;;) {
    for (size_t i = 0; i < n; i++) jobs[i]->rc = PG_OK;
    if (full && (rc = pg_tg_store_set_full(&t->store, true, &bd))) break;
    rc = batch_try(t, jobs, n, full, &bd);
    if (full) {
      pg_diag ignored;
      if (pg_tg_store_set_full(&t->store, false, &ignored))
        pg_log_error(PG_TG_LOG, "cannot return to synchronous=NORMAL: %s", ignored.msg);
    }
    if (rc != BATCH_RESTART || full) break;
    full = true;
  }
  if (rc == BATCH_RESTART) rc = pg_fail(&bd, PG_ERR_STATE, "tangle: group commit did not settle");
  if (rc == PG_OK) return;
  for (size_t i = 0; i < n; i++) {
    jobs[i]->is_new = false;
    if (n > 1 || jobs[i]->rc == PG_OK) {
      jobs[i]->rc = rc;
      if (jobs[i]->d) *jobs[i]->d = bd;
    }
  }
}

/* A submit on its way to the queue (+1), or one that got there or gave up (-1). */
static void gc_announce(pg_tangle *t, int delta) {
  pthread_mutex_lock(&t->gc_mu);
  t->gc_coming = (size_t)((long)t->gc_coming + delta);
  if (delta < 0) pthread_cond_signal(&t->gc_lead_cv);
  pthread_mutex_unlock(&t->gc_mu);
}

/* The new leader's bounded wait for announced submits (gc_mu held). */
static void gc_gather(pg_tangle *t) {
  if (t->gc_coming == 0 || t->gc_queued >= BATCH_MAX) return;
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_nsec += GC_WAIT_US * 1000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  while (t->gc_coming > 0 && t->gc_queued < BATCH_MAX)
    if (pthread_cond_timedwait(&t->gc_lead_cv, &t->gc_mu, &dl) == ETIMEDOUT) break;
}

/* ---- later jobs ----------------------------------------------------------
 * pg_tangle_submit_later / _attach_later: a job on the heap that owns its
 * bytes (or payload), queued like a submit; whoever leads its group calls
 * done after the COMMIT and frees it. */
typedef struct later_job {
  pg_tg_job job; /* first: a pg_tg_job with later set is a later_job */
  pg_tangle_item item; /* attach_later: the payload, built at the commit */
  pg_message m;        /* submit_later: parsed from bytes */
  bool has_m;
  uint8_t id[PG_ID_LEN];
  uint8_t *bytes; /* owned: the message (submit) or the payload (attach) */
  pg_diag d;
  pg_tangle_done_fn done;
  void *ctx;
} later_job;

static void later_free(later_job *l) {
  if (l->job.item) {
    item_unbuild(&l->job);
    pg_buf_free(&l->job.buf);
  }
  if (l->has_m) pg_message_clear(&l->m);
  free(l->bytes);
  free(l);
}

/* Tells the caller of a later job how it went, then frees it (no lock held). */
static void later_finish(pg_tg_job *j) {
  later_job *l = (later_job *)j;
  const uint8_t *id = j->item ? l->item.id : l->id;
  l->done(l->ctx, j->rc, id, j->rc == PG_OK && j->is_new, &l->d);
  later_free(l);
}

/* Queues j (gc_mu held; j was announced). */
static void gc_enqueue(pg_tangle *t, pg_tg_job *j) {
  j->next = NULL;
  if (t->gc_tail)
    t->gc_tail->next = j;
  else
    t->gc_head = j;
  t->gc_tail = j;
  t->gc_queued++;
  t->gc_coming--;
  /* the committer is not woken here: with a leader at work, the leader
   * wakes it when it leaves later jobs queued; with none, the later job's
   * caller leads (later_queue) */
  if (j->later) t->gc_later++;
  pthread_cond_signal(&t->gc_lead_cv);
}

/* Leads one group (gc_mu held on entry and return, no leader before):
 * takes the queue, stores it under mu, answers its later jobs and marks
 * the others done. */
static void gc_lead(pg_tangle *t) {
  pg_tg_job *batch[BATCH_MAX];
  t->gc_leader = true;
  gc_gather(t);
  size_t n = 0;
  while (t->gc_head && n < BATCH_MAX) {
    batch[n] = t->gc_head;
    t->gc_head = t->gc_head->next;
    t->gc_queued--;
    if (batch[n++]->later) t->gc_later--;
  }
  if (!t->gc_head) t->gc_tail = NULL;
  pthread_mutex_unlock(&t->gc_mu);
  pthread_mutex_lock(&t->mu);
  run_batch(t, batch, n);
  pthread_mutex_unlock(&t->mu);
  for (size_t i = 0; i < n; i++)
    if (batch[i]->later) {
      later_finish(batch[i]);
      batch[i] = NULL;
    }
  pthread_mutex_lock(&t->gc_mu);
  for (size_t i = 0; i < n; i++)
    if (batch[i]) batch[i]->done = true;
  t->gc_leader = false;
  pthread_cond_broadcast(&t->gc_cv);
  if (t->gc_later) pthread_cond_signal(&t->gc_work_cv);
}

/* Queues j (announced by the caller) and waits until a leader (possibly
 * this thread) has run it. */
static void group_submit(pg_tangle *t, pg_tg_job *j) {
  pthread_mutex_lock(&t->gc_mu);
  gc_enqueue(t, j);
  while (!j->done) {
    if (t->gc_leader)
      pthread_cond_wait(&t->gc_cv, &t->gc_mu);
    else
      gc_lead(t);
  }
  pthread_mutex_unlock(&t->gc_mu);
}

int pg_tg_submit_job(pg_tangle *t, pg_tg_job *j) {
  gc_announce(t, +1);
  group_submit(t, j);
  return j->rc;
}

/* The committer: leads whenever later jobs wait and nobody leads; at close
 * it runs what is queued, then ends. */
static void *committer_main(void *arg) {
  pg_tangle *t = arg;
  pthread_setname_np(pthread_self(), "tangle-commit"); /* else the creator's name */
  pthread_mutex_lock(&t->gc_mu);
  for (;;) {
    if (t->gc_later && !t->gc_leader)
      gc_lead(t);
    else if (t->gc_stop && !t->gc_later)
      break;
    else
      pthread_cond_wait(&t->gc_work_cv, &t->gc_mu);
  }
  pthread_mutex_unlock(&t->gc_mu);
  return NULL;
}

static void committer_stop(pg_tangle *t) {
  pthread_mutex_lock(&t->gc_mu);
  t->gc_stop = true;
  bool join = t->gc_committer;
  pthread_cond_signal(&t->gc_work_cv);
  pthread_mutex_unlock(&t->gc_mu);
  if (join) pthread_join(t->gc_thread, NULL);
}

/* Queues an announced later job, starting the committer the first time;
 * on failure l is freed and done never called. */
static int later_queue(pg_tangle *t, later_job *l, pg_tangle_done_fn done, void *ctx,
                       pg_diag *d) {
  l->done = done;
  l->ctx = ctx;
  l->job.later = true;
  l->job.d = &l->d;
  pthread_mutex_lock(&t->gc_mu);
  int rc = PG_OK;
  if (t->gc_stop)
    rc = pg_fail(d, PG_ERR_STATE, "tangle: closing");
  else if (!t->gc_committer && pthread_create(&t->gc_thread, NULL, committer_main, t) != 0)
    rc = pg_fail(d, PG_ERR_UNAVAILABLE, "tangle: cannot start the committer thread");
  if (rc) {
    t->gc_coming--;
    pthread_cond_signal(&t->gc_lead_cv);
    pthread_mutex_unlock(&t->gc_mu);
    later_free(l);
    return rc;
  }
  t->gc_committer = true;
  gc_enqueue(t, &l->job);
  /* Nobody storing: store it now on this thread (no hand-over to the
   * committer and back for a lone message); done runs before we return. */
  if (!t->gc_leader) gc_lead(t);
  pthread_mutex_unlock(&t->gc_mu);
  return PG_OK;
}

/* The tx_precheck hook for a transaction message (caller's thread, no lock). */
static void precheck(pg_tangle *t, const pg_message *m) {
  if (t->cfg.tx_precheck && m->payload_type == PG_PAYLOAD_TRANSACTION)
    t->cfg.tx_precheck(t->cfg.tx_precheck_ctx, m);
}

/* PG_ERR_NETWORK_ID unless id is this network's. */
static int network_check(const pg_tangle *t, uint64_t id, pg_diag *d) {
  if (id == t->network_id) return PG_OK;
  return pg_fail(d, PG_ERR_NETWORK_ID, "network id %llu is not this network's (%llu, '%s')",
                 (unsigned long long)id, (unsigned long long)t->network_id, t->network_name);
}

/* What a draft may give: this network's id, at most 8 parents. */
static int draft_checks(const pg_tangle *t, const pg_message_draft *draft, pg_diag *d) {
  if (draft->has_network_id && network_check(t, draft->network_id, d)) return PG_ERR_NETWORK_ID;
  if (draft->parents_count > PG_MSG_MAX_PARENTS)
    return pg_fail(d, PG_ERR_INVALID, "too many parents (%u, at most 8)",
                   (unsigned)draft->parents_count);
  return PG_OK;
}

/* The entry checks on parsed bytes: network id, PoW, milestone signatures. */
static int entry_checks(const pg_tangle *t, const uint8_t *bytes, size_t len, const pg_message *m,
                        pg_diag *d) {
  if (network_check(t, m->network_id, d)) return PG_ERR_NETWORK_ID;
  if (!pg_pow_valid(bytes, len, t->cfg.min_pow_score))
    return pg_fail(d, PG_ERR_POW, "proof of work below the minimum score %u (score %.1f)",
                   t->cfg.min_pow_score, pg_pow_score(bytes, len));
  if (m->payload_type == PG_PAYLOAD_MILESTONE) return pg_tg_verify_milestone(t, m, d);
  return PG_OK;
}

int pg_tangle_check(pg_tangle *t, const uint8_t *bytes, size_t len, pg_diag *d) {
  pg_message m;
  int rc = pg_message_parse(bytes, len, &m, d);
  if (rc) return rc;
  rc = entry_checks(t, bytes, len, &m, d);
  pg_message_clear(&m);
  return rc;
}

/* pg_tangle_submit for a caller that has announced itself (gc_announce). */
static int submit_announced(pg_tangle *t, const uint8_t *bytes, size_t len,
                            uint8_t id_out[PG_ID_LEN], bool *is_new, pg_diag *d) {
  pg_message m;
  uint8_t id[PG_ID_LEN];
  if (is_new) *is_new = false;
  int rc = pg_message_parse(bytes, len, &m, d);
  if (rc) {
    gc_announce(t, -1);
    return rc;
  }
  pg_message_id(bytes, len, id);
  if (id_out) memcpy(id_out, id, PG_ID_LEN);
  if ((rc = entry_checks(t, bytes, len, &m, d))) {
    gc_announce(t, -1);
    goto out;
  }
  precheck(t, &m);
  pg_tg_job job = {.bytes = bytes, .len = len, .m = &m, .id = id, .d = d};
  group_submit(t, &job);
  rc = job.rc;
  if (is_new) *is_new = rc == PG_OK && job.is_new;
out:
  pg_message_clear(&m);
  return rc;
}

int pg_tangle_submit(pg_tangle *t, const uint8_t *bytes, size_t len, uint8_t id_out[PG_ID_LEN],
                     bool *is_new, pg_diag *d) {
  gc_announce(t, +1);
  return submit_announced(t, bytes, len, id_out, is_new, d);
}

/* ---- attach --------------------------------------------------------------- */

static void select_locked(pg_tangle *t, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count) {
  pg_tg_tips_sweep(t);
  pg_tg_tips_pick(t, false, ids, max, count);
  if (*count == 0) {
    memcpy(ids[0], t->st.cmi ? t->st.cmi_msg : SEP, PG_ID_LEN);
    *count = 1;
  }
}

int pg_tangle_select_tips(pg_tangle *t, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count) {
  *count = 0;
  if (max == 0) return PG_ERR_INVALID;
  if (max > PG_MSG_MAX_PARENTS) max = PG_MSG_MAX_PARENTS;
  pthread_mutex_lock(&t->mu);
  select_locked(t, ids, max, count);
  pthread_mutex_unlock(&t->mu);
  return PG_OK;
}

int pg_tangle_attach(pg_tangle *t, const pg_message_draft *draft, atomic_bool *cancel,
                     uint8_t id_out[PG_ID_LEN], pg_diag *d) {
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  size_t np = draft->parents_count;
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  int rc = PG_OK;
  /* announced early (group commit) unless proof of work makes it slow */
  bool early = draft->has_nonce || t->cfg.min_pow_score == 0;
  if (early) gc_announce(t, +1);
  if ((rc = draft_checks(t, draft, d))) goto out;
  if (np) {
    memcpy(parents, draft->parents, np * PG_ID_LEN);
  } else {
    pthread_mutex_lock(&t->mu);
    select_locked(t, parents, PG_MSG_MAX_PARENTS, &np);
    pthread_mutex_unlock(&t->mu);
  }
  const uint8_t *payload = draft->payload.len ? draft->payload.data : NULL;
  uint64_t nonce = draft->has_nonce ? draft->nonce : 0;
  if ((rc = pg_message_build(&msg, t->network_id, &parents[0][0], np, payload, draft->payload.len,
                             nonce, d)))
    goto out;
  if (!draft->has_nonce && t->cfg.min_pow_score > 0) {
    pg_pow_opts opts = {.threads = t->cfg.pow_threads, .cancel = cancel, .start_nonce = 0};
    rc = pg_pow_search(msg.data, msg.len, t->cfg.min_pow_score, &opts, &nonce, NULL);
    if (rc) {
      rc = pg_fail(d, rc, "proof of work: %s", pg_strerror(rc));
      goto out;
    }
  }
  if (!early) gc_announce(t, +1);
  early = false; /* submit_announced takes the announcement over */
  rc = submit_announced(t, msg.data, msg.len, id_out, NULL, d);
out:
  if (early) gc_announce(t, -1);
  pg_buf_free(&msg);
  return rc;
}

/* pg_tangle_submit_later of malloc'd bytes it takes (freed on every path). */
static int submit_later_take(pg_tangle *t, uint8_t *bytes, size_t len, pg_tangle_done_fn done,
                             void *ctx, pg_diag *d) {
  later_job *l = calloc(1, sizeof *l);
  if (!l) {
    free(bytes);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  l->bytes = bytes;
  gc_announce(t, +1);
  int rc = pg_message_parse(bytes, len, &l->m, d);
  if (rc == PG_OK) {
    l->has_m = true;
    pg_message_id(bytes, len, l->id);
    rc = entry_checks(t, bytes, len, &l->m, d);
  }
  if (rc) {
    gc_announce(t, -1);
    later_free(l);
    return rc;
  }
  precheck(t, &l->m);
  l->job.bytes = bytes;
  l->job.len = len;
  l->job.m = &l->m;
  l->job.id = l->id;
  return later_queue(t, l, done, ctx, d);
}

int pg_tangle_submit_later(pg_tangle *t, const uint8_t *bytes, size_t len,
                           pg_tangle_done_fn done, void *ctx, pg_diag *d) {
  if (!t || !bytes || !done) return pg_fail(d, PG_ERR_INVALID, "submit: no message or no callback");
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  memcpy(copy, bytes, len);
  return submit_later_take(t, copy, len, done, ctx, d);
}

/* attach_later of a draft without parents: built at the commit. */
static int attach_later_item(pg_tangle *t, const pg_message_draft *draft, pg_tangle_done_fn done,
                             void *ctx, pg_diag *d) {
  later_job *l = calloc(1, sizeof *l);
  size_t n = draft->payload.len;
  if (!l || !(l->bytes = malloc(n ? n : 1))) {
    gc_announce(t, -1);
    free(l);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if (n) memcpy(l->bytes, draft->payload.data, n);
  l->item = (pg_tangle_item){.payload = n ? l->bytes : NULL, .payload_len = n, .d = &l->d};
  l->job.item = &l->item;
  l->job.first_item = true; /* follows nothing */
  l->job.nonce = draft->has_nonce ? draft->nonce : 0;
  pg_buf_init(&l->job.buf, PG_MSG_MAX_LEN);
  return later_queue(t, l, done, ctx, d);
}

int pg_tangle_attach_later(pg_tangle *t, const pg_message_draft *draft, pg_tangle_done_fn done,
                           void *ctx, pg_diag *d) {
  if (!t || !draft || !done) return pg_fail(d, PG_ERR_INVALID, "attach: no draft or no callback");
  size_t np = draft->parents_count;
  if (t->cfg.min_pow_score > 0 && (!draft->has_nonce || np == 0))
    return pg_fail(d, PG_ERR_UNSUPPORTED,
                   "attach: a draft that needs proof of work or tip selection under it is "
                   "attached now (pg_tangle_attach)");
  int rc = draft_checks(t, draft, d);
  if (rc) return rc;
  if (np == 0) {
    gc_announce(t, +1);
    return attach_later_item(t, draft, done, ctx, d);
  }
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  rc = pg_message_build(&msg, t->network_id, &draft->parents[0][0], np,
                        draft->payload.len ? draft->payload.data : NULL, draft->payload.len,
                        draft->has_nonce ? draft->nonce : 0, d);
  if (rc) {
    pg_buf_free(&msg);
    return rc;
  }
  uint8_t *bytes = NULL;
  size_t len = 0;
  pg_buf_take(&msg, &bytes, &len); /* the job takes the built message */
  return submit_later_take(t, bytes, len, done, ctx, d);
}

/* The proof-of-work path: each item through pg_tangle_attach. */
static void attach_each(pg_tangle *t, pg_tangle_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pg_tangle_item *it = &items[i];
    if (it->follows && i > 0 && items[i - 1].rc != PG_OK) {
      refuse_follower(it);
      continue;
    }
    pg_message_draft dr;
    memset(&dr, 0, sizeof dr);
    pg_buf_init(&dr.payload, PG_MSG_MAX_LEN);
    pg_buf_put(&dr.payload, it->payload, it->payload_len);
    it->rc = pg_buf_status(&dr.payload);
    if (it->rc) pg_fail(it->d, it->rc, "attach: the payload does not fit a message");
    else it->rc = pg_tangle_attach(t, &dr, NULL, it->id, it->d);
    pg_buf_free(&dr.payload);
  }
}

int pg_tangle_attach_many(pg_tangle *t, pg_tangle_item *items, size_t n) {
  if (!t || (n && !items)) return PG_ERR_INVALID;
  for (size_t i = 0; i < n; i++)
    if (items[i].payload_len && !items[i].payload) return PG_ERR_INVALID;
  if (t->cfg.min_pow_score > 0) {
    attach_each(t, items, n);
    return PG_OK;
  }
  pg_tg_job *jobs = calloc(n < MANY_GROUP ? n + 1 : MANY_GROUP, sizeof *jobs);
  pg_tg_job *ptr[MANY_GROUP];
  if (!jobs) {
    for (size_t i = 0; i < n; i++) items[i].rc = pg_fail(items[i].d, PG_ERR_NOMEM, "out of memory");
    return PG_OK;
  }
  for (size_t at = 0; at < n; at += MANY_GROUP) {
    size_t g = n - at < MANY_GROUP ? n - at : MANY_GROUP;
    for (size_t k = 0; k < g; k++) {
      ptr[k] = &jobs[k];
      jobs[k].item = &items[at + k];
      jobs[k].first_item = at + k == 0;
      jobs[k].d = items[at + k].d;
      pg_buf_init(&jobs[k].buf, PG_MSG_MAX_LEN);
    }
    pthread_mutex_lock(&t->mu);
    run_batch(t, ptr, g);
    pthread_mutex_unlock(&t->mu);
    for (size_t k = 0; k < g; k++) {
      items[at + k].rc = jobs[k].rc;
      item_unbuild(&jobs[k]);
      pg_buf_free(&jobs[k].buf);
      memset(&jobs[k], 0, sizeof jobs[k]);
    }
  }
  free(jobs);
  return PG_OK;
}

/* ---- reads ---------------------------------------------------------------- */

int pg_tangle_get_raw(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_buf *out) {
  uint8_t *raw = NULL;
  size_t len = 0;
  pthread_mutex_lock(&t->mu);
  int rc = pg_tg_get_raw(&t->store, id, &raw, &len, NULL);
  pthread_mutex_unlock(&t->mu);
  if (rc) return rc;
  pg_buf_reset(out);
  pg_buf_put(out, raw, len);
  free(raw);
  return pg_buf_status(out);
}

/* The confirmation fields of m from its row (the rest of m untouched). */
static void confirmation_of(const pg_tg_row *row, pg_msg_meta *m) {
  m->solid = row->solid;
  m->referenced_by = row->referenced_by;
  m->milestone_index = row->milestone_index && row->referenced_by == row->milestone_index
                           ? row->milestone_index
                           : 0;
  m->inclusion = row->referenced_by ? row->inclusion : PG_INCL_UNKNOWN;
  m->conflict_reason = row->conflict_reason;
  m->arrival_ms = row->arrival_ms;
}

int pg_tangle_get_confirmation(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_msg_meta *m) {
  pg_tg_row row;
  memset(m, 0, sizeof *m);
  memcpy(m->id, id, PG_ID_LEN);
  pthread_mutex_lock(&t->mu);
  int rc = pg_tg_get_row(&t->store, id, &row, NULL);
  pthread_mutex_unlock(&t->mu);
  if (rc == PG_OK) confirmation_of(&row, m);
  return rc;
}

int pg_tangle_get_meta(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_msg_meta *m) {
  pg_tg_row row;
  memset(m, 0, sizeof *m);
  memcpy(m->id, id, PG_ID_LEN);
  pthread_mutex_lock(&t->mu);
  int rc = pg_tg_get_row(&t->store, id, &row, NULL);
  if (rc) goto out;
  if ((rc = pg_tg_get_parents(&t->store, id, m->parents, &m->parents_count, NULL))) goto out;
  confirmation_of(&row, m);
  if (!row.referenced_by && row.solid) {
    uint32_t o, y;
    pg_tg_memo memo = {0};
    rc = pg_tg_mrsi(t, id, false, &memo, &o, &y, NULL);
    pg_tg_memo_free(&memo);
    if (rc) goto out;
    int score = pg_tg_score(t, o, y);
    m->should_promote = score == PG_TG_SEMI_LAZY;
    m->should_reattach = score == PG_TG_LAZY;
  }
out:
  pthread_mutex_unlock(&t->mu);
  return rc;
}

int pg_tangle_children(pg_tangle *t, const uint8_t id[PG_ID_LEN], size_t max,
                       uint8_t (*ids)[PG_ID_LEN], size_t *count, size_t *total) {
  id_list l = {0};
  int64_t n = 0;
  *count = 0;
  *total = 0;
  pthread_mutex_lock(&t->mu);
  int rc = count_query(t, ST_CHILDREN_COUNT, id, PG_ID_LEN, NULL, &n, NULL, "counting children");
  if (rc == PG_OK && max)
    rc = ids_query(t, ST_CHILDREN, id, (int64_t)(max > INT32_MAX ? INT32_MAX : max), NULL, &l, NULL,
                   "listing children");
  pthread_mutex_unlock(&t->mu);
  if (rc == PG_OK) {
    for (size_t i = 0; i < l.n && i < max; i++) memcpy(ids[i], l.ids[i], PG_ID_LEN);
    *count = l.n < max ? l.n : max;
    *total = (size_t)n;
  }
  free(l.ids);
  return rc;
}

/* The index's messages in arrival order (up to max) and how many it has
 * in all: the count is a query of its own only when the list stopped at
 * max (one read transaction, not two, for an index of a few messages: a
 * channel's next leaf, read for every channel every round). */
int pg_tangle_find_index(pg_tangle *t, const uint8_t *index, size_t index_len, size_t max,
                         uint8_t (*ids)[PG_ID_LEN], size_t *count, size_t *total) {
  *count = 0;
  *total = 0;
  if (index_len == 0 || index_len > PG_INDEX_MAX_LEN) return PG_OK;
  int64_t n = 0;
  size_t got = 0, rows = 0;
  bool all = false; /* every row of the index was stepped */
  int rc = PG_OK;
  pthread_mutex_lock(&t->mu);
  if (max) {
    sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_FIND_INDEX);
    int step = SQLITE_DONE;
    if (sqlite3_bind_blob(st, 1, index, (int)index_len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max)) != SQLITE_OK) {
      rc = PG_ERR_DB;
    } else {
      while (got < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        if (sqlite3_column_bytes(st, 0) != PG_ID_LEN) continue;
        memcpy(ids[got++], sqlite3_column_blob(st, 0), PG_ID_LEN);
      }
      if (got < max && step != SQLITE_DONE) rc = PG_ERR_DB;
      all = got < max && step == SQLITE_DONE && rows < (size_t)INT32_MAX;
    }
    sqlite3_reset(st);
  }
  if (rc == PG_OK && all)
    n = (int64_t)rows;
  else if (rc == PG_OK)
    rc = count_query(t, ST_COUNT_INDEX, index, index_len, NULL, &n, NULL, "counting index");
  pthread_mutex_unlock(&t->mu);
  if (rc == PG_OK) {
    *count = got;
    *total = (size_t)n;
  }
  return rc;
}

int pg_tangle_milestone(pg_tangle *t, uint32_t index, pg_milestone_info *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&t->mu);
  sqlite3_stmt *st = pg_tg_stmt(&t->store, ST_GET_MILESTONE);
  int rc = PG_OK;
  if (sqlite3_bind_int64(st, 1, index) != SQLITE_OK) {
    rc = PG_ERR_DB;
  } else {
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PG_ID_LEN) {
      out->index = index;
      memcpy(out->message_id, sqlite3_column_blob(st, 0), PG_ID_LEN);
      out->timestamp = (uint64_t)sqlite3_column_int64(st, 1);
    } else if (step == SQLITE_DONE) {
      rc = PG_ERR_NOT_FOUND;
    } else {
      rc = PG_ERR_DB;
    }
  }
  sqlite3_reset(st);
  pthread_mutex_unlock(&t->mu);
  return rc;
}

void pg_tangle_get_status(pg_tangle *t, pg_tangle_status *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_lock(&t->mu);
  pg_tg_tips_sweep(t);
  s->network_name = t->network_name;
  s->network_id = t->network_id;
  s->bech32_hrp = t->hrp;
  s->min_pow_score = t->cfg.min_pow_score;
  s->latest_milestone_index = t->st.lmi;
  s->latest_milestone_timestamp = t->st.lmi_ts;
  s->confirmed_milestone_index = t->st.cmi;
  s->confirmed_milestone_timestamp = t->st.cmi_ts;
  s->pruning_index = 0;
  s->messages = t->st.messages;
  s->unsolid = t->st.unsolid;
  s->tips = pg_tg_tips_count(t);
  s->messages_per_second = t->st.rate_mps;
  s->referenced_messages_per_second = t->st.rate_rmps;
  s->referenced_rate = t->st.rate_ref;
  s->checkpoints = atomic_load(&t->store.ckpt_thread_runs);
  s->checkpoints_inline = atomic_load(&t->store.ckpt_inline);
  s->checkpoint_frames = atomic_load(&t->store.ckpt_frames_thread);
  s->checkpoint_frames_writer = atomic_load(&t->store.ckpt_frames_writer);
  s->commits = t->n_commits;
  s->committed = t->n_committed;
  pthread_mutex_unlock(&t->mu);
}
