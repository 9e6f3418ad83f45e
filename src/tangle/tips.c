/* tips.c — uniform random tip selection (TIP-3, CHRYSALIS.md 7).
 *
 * OMRSI/YMRSI of a message: over its parents, a SEP parent counts 0, a
 * parent referenced by milestone k counts k, any other parent counts its own
 * (OMRSI, YMRSI); OMRSI = min, YMRSI = max. Values are stored with the
 * confirmed milestone index they were computed at (mrsi_at = cmi + 1); a
 * stored value is reused only while that index is still current, otherwise
 * the walk goes further down the unreferenced past cone (memoised,
 * iterative, at most PG_TG_MRSI_VISIT_CAP messages: beyond that the message
 * is treated as lazy, OMRSI = YMRSI = 0).
 *
 * Tip set (in memory; linear scans: the set stays small by construction):
 * - a message that becomes solid enters it (unless already lazy) and each of
 *   its parents still in it gains an approver;
 * - a tip leaves after tip_max_children approvers, or once it has at least
 *   one approver and tip_max_age_ms have passed since it became a tip. A tip
 *   with no approver never ages out, so the set cannot run dry while there
 *   are child-less non-lazy messages;
 * - after a milestone confirms, every tip's OMRSI/YMRSI is recomputed and lazy
 *   tips are dropped;
 * - on open it is rebuilt from solid messages without solid children (age
 *   restarts at the open time).
 * Selection hands out non-lazy tips only (the coordinator also takes
 * semi-lazy ones), chosen uniformly at random without repetition, sorted. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/log.h"
#include "tangle_internal.h"

/* ---- memo ----------------------------------------------------------------- */

struct pg_tg_memo_slot {
  uint8_t id[PG_ID_LEN];
  uint32_t o, y;
  bool used;
};

void pg_tg_memo_free(pg_tg_memo *m) {
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}

static size_t memo_hash(const uint8_t id[PG_ID_LEN]) {
  uint64_t h;
  memcpy(&h, id, sizeof h); /* ids are hashes: any 8 bytes are uniform */
  return (size_t)h;
}

static struct pg_tg_memo_slot *memo_find(const pg_tg_memo *m, const uint8_t id[PG_ID_LEN]) {
  if (!m->cap) return NULL;
  for (size_t i = memo_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    struct pg_tg_memo_slot *s = &m->slots[i];
    if (!s->used) return NULL;
    if (memcmp(s->id, id, PG_ID_LEN) == 0) return s;
  }
}

static int memo_put(pg_tg_memo *m, const uint8_t id[PG_ID_LEN], uint32_t o, uint32_t y) {
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct pg_tg_memo_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return PG_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->slots[i].used) continue;
      size_t j = memo_hash(m->slots[i].id) & (cap - 1);
      while (slots[j].used) j = (j + 1) & (cap - 1);
      slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
  }
  size_t i = memo_hash(id) & (m->cap - 1);
  while (m->slots[i].used && memcmp(m->slots[i].id, id, PG_ID_LEN) != 0) i = (i + 1) & (m->cap - 1);
  if (!m->slots[i].used) m->n++;
  memcpy(m->slots[i].id, id, PG_ID_LEN);
  m->slots[i].o = o;
  m->slots[i].y = y;
  m->slots[i].used = true;
  return PG_OK;
}

bool pg_tg_memo_has(const pg_tg_memo *m, const uint8_t id[PG_ID_LEN]) {
  return memo_find(m, id) != NULL;
}

int pg_tg_memo_add(pg_tg_memo *m, const uint8_t id[PG_ID_LEN]) { return memo_put(m, id, 0, 0); }

/* ---- scores and OMRSI/YMRSI ----------------------------------------------- */

int pg_tg_score(const pg_tangle *t, uint32_t omrsi, uint32_t ymrsi) {
  uint32_t lsmi = t->st.cmi;
  uint32_t dy = lsmi > ymrsi ? lsmi - ymrsi : 0;
  uint32_t dox = lsmi > omrsi ? lsmi - omrsi : 0;
  if (dy > t->cfg.tsc_c1 || dox > t->cfg.tsc_max_depth) return PG_TG_LAZY;
  if (dox > t->cfg.tsc_c2) return PG_TG_SEMI_LAZY;
  return PG_TG_NON_LAZY;
}

/* 1: resolved without walking further; 0: walk its parents; <0: error.
 * pre: id's row when the caller has read it already (else NULL). */
static int resolve(pg_tangle *t, const uint8_t id[PG_ID_LEN], pg_tg_memo *memo,
                   const pg_tg_row *pre, uint32_t *o, uint32_t *y, bool *solid, pg_diag *d) {
  if (pg_tg_is_sep(id)) {
    *o = *y = 0;
    return 1;
  }
  struct pg_tg_memo_slot *s = memo_find(memo, id);
  if (s) {
    *o = s->o;
    *y = s->y;
    return 1;
  }
  pg_tg_row row;
  int rc = PG_OK;
  if (pre)
    row = *pre;
  else
    rc = pg_tg_get_row(&t->store, id, &row, d);
  if (rc == PG_ERR_NOT_FOUND) { /* only below unsolid messages: as lazy as can be */
    *o = *y = 0;
    return 1;
  }
  if (rc) return rc;
  *solid = row.solid;
  if (row.referenced_by) {
    *o = *y = row.referenced_by;
    return 1;
  }
  if (row.solid && row.mrsi_at == t->st.cmi + 1) {
    *o = row.omrsi;
    *y = row.ymrsi;
    return 1;
  }
  return 0;
}

typedef struct frame {
  uint8_t id[PG_ID_LEN];
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  uint8_t np, next;
  bool solid;
  uint32_t o, y;
} frame;

static void fold(frame *f, uint32_t o, uint32_t y) {
  if (o < f->o) f->o = o;
  if (y > f->y) f->y = y;
}

typedef struct frame_stack {
  frame *f;
  size_t n, cap, visits;
  const pg_tg_row *root_rows; /* rows of the root frame's parents, or NULL */
} frame_stack;

/* Pushes a frame for id (copied first: id may point into the stack). 1 when
 * the visit cap is hit. */
static int push_frame(pg_tangle *t, frame_stack *s, const uint8_t id[PG_ID_LEN], bool solid,
                      pg_diag *d) {
  uint8_t copy[PG_ID_LEN];
  memcpy(copy, id, PG_ID_LEN);
  if (++s->visits > PG_TG_MRSI_VISIT_CAP) {
    pg_log_warn(PG_TG_LOG, "OMRSI/YMRSI walk exceeded %d messages; treating as lazy",
                PG_TG_MRSI_VISIT_CAP);
    return 1;
  }
  if (pg_grow(&s->f, &s->cap, s->n + 1, sizeof *s->f, 0))
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  frame *f = &s->f[s->n++];
  memcpy(f->id, copy, PG_ID_LEN);
  f->next = 0;
  f->solid = solid;
  f->o = UINT32_MAX;
  f->y = 0;
  return pg_tg_get_parents(&t->store, f->id, f->parents, &f->np, d);
}

/* Walks the frames on s down to the root frame; *o, *y get the root's values.
 * PG_OK, 1 when the visit cap was hit (*o = *y = 0), or an error. */
static int walk(pg_tangle *t, frame_stack *s, bool write_back, pg_tg_memo *memo, uint32_t *o,
                uint32_t *y, pg_diag *d) {
  int rc = PG_OK;
  while (rc == PG_OK) {
    frame *f = &s->f[s->n - 1];
    if (f->next < f->np) {
      const pg_tg_row *pre = s->n == 1 && s->root_rows ? &s->root_rows[f->next] : NULL;
      const uint8_t *p = f->parents[f->next++];
      uint32_t po, py;
      bool psolid = false;
      rc = resolve(t, p, memo, pre, &po, &py, &psolid, d);
      if (rc == 1) {
        fold(f, po, py);
        rc = PG_OK;
      } else if (rc == 0) {
        rc = push_frame(t, s, p, psolid, d);
      }
      continue;
    }
    /* every parent folded: finish this frame */
    uint32_t fo = f->o == UINT32_MAX ? 0 : f->o, fy = f->y;
    if (memo_put(memo, f->id, fo, fy)) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    if (write_back && f->solid && (rc = pg_tg_set_mrsi(&t->store, f->id, fo, fy, t->st.cmi + 1, d)))
      break;
    if (--s->n == 0) {
      *o = fo;
      *y = fy;
      break;
    }
    fold(&s->f[s->n - 1], fo, fy);
  }
  if (rc == 1) *o = *y = 0;
  return rc;
}

int pg_tg_mrsi(pg_tangle *t, const uint8_t id[PG_ID_LEN], bool write_back, pg_tg_memo *memo,
               uint32_t *o, uint32_t *y, pg_diag *d) {
  pg_tg_memo local = {0};
  if (!memo) memo = &local;
  frame_stack s = {0};
  bool solid = false;
  int rc = resolve(t, id, memo, NULL, o, y, &solid, d);
  if (rc != 0) goto out; /* resolved (1) or error */
  rc = push_frame(t, &s, id, solid, d);
  if (rc == PG_OK) rc = walk(t, &s, write_back, memo, o, y, d);
out:
  if (rc == 1) rc = PG_OK;
  free(s.f);
  pg_tg_memo_free(&local);
  return rc;
}

int pg_tg_mrsi_new(pg_tangle *t, const uint8_t id[PG_ID_LEN], const uint8_t *parents, uint8_t np,
                   const pg_tg_row *rows, uint32_t *o, uint32_t *y, bool *complete, pg_diag *d) {
  pg_tg_memo memo = {0};
  frame_stack s = {.root_rows = rows};
  *complete = false;
  int rc = PG_OK;
  s.f = malloc(16 * sizeof *s.f);
  if (!s.f) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  s.cap = 16;
  s.n = 1;
  s.visits = 1; /* the message itself, as push_frame would count it */
  frame *f = &s.f[0];
  memcpy(f->id, id, PG_ID_LEN);
  memcpy(f->parents, parents, (size_t)np * PG_ID_LEN);
  f->np = np;
  f->next = 0;
  f->solid = false; /* not stored yet: the caller stores its values */
  f->o = UINT32_MAX;
  f->y = 0;
  rc = walk(t, &s, true, &memo, o, y, d);
  if (rc == PG_OK) *complete = true;
  if (rc == 1) rc = PG_OK;
  free(s.f);
  pg_tg_memo_free(&memo);
  return rc;
}

/* xoshiro256** (tip selection draws; seeded from libsodium at open). */
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void pg_tg_rng_seed(pg_tangle *t) { randombytes_buf(t->rng, sizeof t->rng); }

static uint64_t rng_next(pg_tangle *t) {
  uint64_t *s = t->rng;
  uint64_t r = rotl(s[1] * 5, 7) * 9, u = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= u;
  s[3] = rotl(s[3], 45);
  return r;
}

/* Uniform in [0, n) without modulo bias; n > 0. */
static size_t rng_uniform(pg_tangle *t, size_t n) {
  uint64_t lim = UINT64_MAX - UINT64_MAX % n, r;
  do r = rng_next(t);
  while (r >= lim);
  return (size_t)(r % n);
}

/* ---- the tip set ---------------------------------------------------------- */

static long tip_find(const pg_tangle *t, const uint8_t id[PG_ID_LEN]) {
  for (size_t i = 0; i < t->ntips; i++)
    if (memcmp(t->tips[i].id, id, PG_ID_LEN) == 0) return (long)i;
  return -1;
}

static void tip_remove(pg_tangle *t, size_t i) { t->tips[i] = t->tips[--t->ntips]; }

static void tip_add(pg_tangle *t, const uint8_t id[PG_ID_LEN], uint32_t o, uint32_t y, uint64_t now) {
  if (tip_find(t, id) >= 0) return;
  if (pg_grow(&t->tips, &t->captips, t->ntips + 1, sizeof *t->tips, 0)) {
    pg_log_error(PG_TG_LOG, "out of memory growing the tip set");
    return;
  }
  pg_tg_tip *tp = &t->tips[t->ntips++];
  memcpy(tp->id, id, PG_ID_LEN);
  tp->since_ms = now;
  tp->approvers = 0;
  tp->omrsi = o;
  tp->ymrsi = y;
}

void pg_tg_tips_apply_events(pg_tangle *t) {
  uint64_t now = pg_tg_now(t);
  for (size_t e = 0; e < t->nev; e++) {
    const pg_tg_event *ev = &t->ev[e];
    for (int p = 0; p < ev->np; p++) {
      long i = tip_find(t, ev->parents[p]);
      if (i < 0) continue;
      if (++t->tips[i].approvers >= t->cfg.tip_max_children) tip_remove(t, (size_t)i);
    }
    if (pg_tg_score(t, ev->omrsi, ev->ymrsi) != PG_TG_LAZY) tip_add(t, ev->id, ev->omrsi, ev->ymrsi, now);
  }
}

void pg_tg_tips_refresh(pg_tangle *t) {
  pg_tg_memo memo = {0};
  for (size_t i = 0; i < t->ntips;) {
    pg_tg_tip *tp = &t->tips[i];
    uint32_t o, y;
    pg_diag d;
    if (pg_tg_mrsi(t, tp->id, false, &memo, &o, &y, &d) != PG_OK) {
      pg_log_warn(PG_TG_LOG, "refreshing a tip's score: %s", d.msg);
      i++;
      continue;
    }
    tp->omrsi = o;
    tp->ymrsi = y;
    if (pg_tg_score(t, o, y) == PG_TG_LAZY)
      tip_remove(t, i);
    else
      i++;
  }
  pg_tg_memo_free(&memo);
}

void pg_tg_tips_sweep(pg_tangle *t) {
  uint64_t now = pg_tg_now(t);
  for (size_t i = 0; i < t->ntips;) {
    const pg_tg_tip *tp = &t->tips[i];
    if (tp->approvers > 0 && now >= tp->since_ms && now - tp->since_ms >= t->cfg.tip_max_age_ms)
      tip_remove(t, i);
    else
      i++;
  }
}

int pg_tg_tips_rebuild(pg_tangle *t, pg_diag *d) {
  static const char sql[] =
      "SELECT id FROM messages m WHERE solid = 1 AND NOT EXISTS (SELECT 1 FROM children e"
      " JOIN messages c ON c.id = e.child WHERE e.parent = m.id AND c.solid = 1)";
  sqlite3_stmt *st = NULL;
  uint8_t (*ids)[PG_ID_LEN] = NULL;
  size_t n = 0, cap = 0;
  int rc = PG_OK, step;
  t->ntips = 0;
  if (sqlite3_prepare_v2(t->store.db, sql, -1, &st, NULL) != SQLITE_OK)
    return pg_tg_db_fail(&t->store, d, "listing tips");
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != PG_ID_LEN) continue;
    if (pg_grow(&ids, &cap, n + 1, sizeof *ids, 0)) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      goto out;
    }
    memcpy(ids[n++], sqlite3_column_blob(st, 0), PG_ID_LEN);
  }
  if (step != SQLITE_DONE) {
    rc = pg_tg_db_fail(&t->store, d, "listing tips");
    goto out;
  }
  uint64_t now = pg_tg_now(t);
  pg_tg_memo memo = {0};
  for (size_t i = 0; i < n && rc == PG_OK; i++) {
    uint32_t o, y;
    rc = pg_tg_mrsi(t, ids[i], false, &memo, &o, &y, d);
    if (rc == PG_OK && pg_tg_score(t, o, y) != PG_TG_LAZY) tip_add(t, ids[i], o, y, now);
  }
  pg_tg_memo_free(&memo);
out:
  sqlite3_finalize(st);
  free(ids);
  return rc;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, PG_ID_LEN); }

size_t pg_tg_sort_unique(uint8_t (*ids)[PG_ID_LEN], size_t n) {
  qsort(ids, n, PG_ID_LEN, id_cmp);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (k == 0 || memcmp(ids[k - 1], ids[i], PG_ID_LEN) != 0) memmove(ids[k++], ids[i], PG_ID_LEN);
  return k;
}

void pg_tg_tips_pick(pg_tangle *t, bool include_semi, uint8_t (*ids)[PG_ID_LEN], size_t max,
                     size_t *count) {
  *count = 0;
  if (t->ntips > t->capcand) {
    size_t *p = realloc(t->cand, t->ntips * sizeof *p);
    if (!p) return;
    t->cand = p;
    t->capcand = t->ntips;
  }
  size_t *cand = t->cand;
  size_t nc = 0;
  for (size_t i = 0; i < t->ntips; i++) {
    int s = pg_tg_score(t, t->tips[i].omrsi, t->tips[i].ymrsi);
    if (s == PG_TG_NON_LAZY || (include_semi && s == PG_TG_SEMI_LAZY)) cand[nc++] = i;
  }
  size_t k = nc < max ? nc : max;
  for (size_t i = 0; i < k; i++) { /* partial Fisher-Yates */
    size_t j = i + rng_uniform(t, nc - i);
    size_t tmp = cand[i];
    cand[i] = cand[j];
    cand[j] = tmp;
    memcpy(ids[i], t->tips[cand[i]].id, PG_ID_LEN);
  }
  qsort(ids, k, PG_ID_LEN, id_cmp);
  *count = k;
}

size_t pg_tg_tips_count(const pg_tangle *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->ntips; i++)
    if (pg_tg_score(t, t->tips[i].omrsi, t->tips[i].ymrsi) != PG_TG_LAZY) n++;
  return n;
}
