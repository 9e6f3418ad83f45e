/* MAM batches: pg_mam_create_batch / pg_mam_parse_batch on the 512-lane
 * bit-sliced Curl (crypto/curlp.h pg_curlx). The bytes are those of the single
 * message functions (tests/unit/test_mam_batch.c compares them); only the
 * order of the work changes:
 *
 * - Leaves: one lane per leaf. The key sponge (squeezes), the 27-step chain
 *   of every key fragment and the digest sponge (absorbs) of 512 leaves
 *   advance together, fragment after fragment, and never leave the bit-sliced
 *   form: a squeeze is a copy of the rate rows into the chain state, an absorb
 *   a copy of the chain's rate into the digest state.
 * - Signing: the signing leaves' chains keep checkpoints H^(7c)(r_j) (rows of
 *   the wide state); a signature fragment is at most 6 steps from one, and
 *   each lane stops at its own step through lane masks.
 * - Message sponges: one lane per message, chunk by chunk, with the rate
 *   moved to and from plain trits around each transform (the masks need it).
 * - Nonces: one search per 64-lane word, eight searches per transform.
 * - Parsing: sponges as above, then the verification chains of 512 messages
 *   together (up to 26 steps, each lane captured at its own step).
 * Channels whose trees need more than 512 leaves take the single path. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mam_internal.h"
#include "p2pgrid/base/strhash.h"

#define W PG_CURLX_LANES
#define CAP_ROWS (PG_CURL_STATE - MAM_HASH)

/* ---- lane programs: sponges of many messages -------------------------------- */

enum { OP_ABSORB, OP_MASK, OP_UNMASK, OP_CAPTURE };
typedef struct bop {
  int kind;
  pg_trit *io;        /* MASK / UNMASK: in place; CAPTURE: 243 trits out */
  const pg_trit *src; /* ABSORB */
  size_t len;
} bop;
#define MAX_OPS 8
typedef struct bprog {
  bop op[MAX_OPS];
  size_t nops, at, off;
  pg_trit *save; /* 729 trits: the state after the last op, or NULL */
} bprog;

static void prog_add(bprog *p, int kind, pg_trit *io, const pg_trit *src, size_t len) {
  if (len == 0 && kind != OP_CAPTURE) return; /* absorbing nothing does not transform */
  bop o = {kind, io, src, len};
  p->op[p->nops++] = o;
}

/* n bytes for a multi-megabyte workspace, 64-byte aligned: in whole 2 MiB
 * pages where the kernel offers them (madvise MADV_HUGEPAGE, a hint: a
 * fresh buffer then costs a few faults, not one per 4 KiB page); free(). */
static void *big_alloc(size_t n) {
  const size_t huge = (size_t)2 << 20;
  if (n < huge) return aligned_alloc(64, (n + 63) / 64 * 64); /* a multiple, as C11 asks */
  n = (n + huge - 1) / huge * huge;
  void *p = aligned_alloc(huge, n);
#ifdef MADV_HUGEPAGE
  if (p) (void)madvise(p, n, MADV_HUGEPAGE);
#endif
  return p;
}

typedef struct bx {
  pg_curlx *S, *C, *D, *K; /* sponge, chain, digest, key (or scratch) */
  pg_trit *stage;          /* W * 243 */
  bprog *pr;               /* W lane programs */
  const pg_trit *in[W];
  pg_trit *out[W];
} bx;

static void bx_free(bx *x) {
  if (x->K) mam_wipe(x->K, sizeof *x->K);
  if (x->C) mam_wipe(x->C, sizeof *x->C);
  free(x->S);
  free(x->C);
  free(x->D);
  free(x->K);
  free(x->stage);
  free(x->pr);
}

static int bx_new(bx *x) {
  memset(x, 0, sizeof *x);
  x->S = aligned_alloc(64, sizeof *x->S);
  x->C = aligned_alloc(64, sizeof *x->C);
  x->D = aligned_alloc(64, sizeof *x->D);
  x->K = aligned_alloc(64, sizeof *x->K);
  x->stage = malloc((size_t)W * MAM_HASH);
  x->pr = malloc(W * sizeof *x->pr);
  if (x->S && x->C && x->D && x->K && x->stage && x->pr) return PG_OK;
  bx_free(x);
  return PG_ERR_NOMEM;
}

/* One chunk of lane program p on its staged rate st (the rate before the
 * transform): capture ops first; false when the program has nothing left. */
static bool prog_chunk(bprog *p, pg_trit *st) {
  while (p->at < p->nops && p->op[p->at].kind == OP_CAPTURE) memcpy(p->op[p->at++].io, st, MAM_HASH);
  if (p->at == p->nops) return false;
  bop *o = &p->op[p->at];
  size_t len = o->len - p->off < MAM_HASH ? o->len - p->off : MAM_HASH;
  pg_trit *io = o->io + p->off;
  if (o->kind == OP_ABSORB) {
    memcpy(st, o->src + p->off, len);
  } else if (o->kind == OP_MASK) { /* tritSum, branch-free so that it vectorises */
    for (size_t i = 0; i < len; i++) {
      int plain = io[i], c = plain + st[i];
      io[i] = (pg_trit)(c - 3 * (c > 1) + 3 * (c < -1));
      st[i] = (pg_trit)plain;
    }
  } else {
    for (size_t i = 0; i < len; i++) {
      int c = io[i] - st[i];
      st[i] = io[i] = (pg_trit)(c - 3 * (c > 1) + 3 * (c < -1));
    }
  }
  p->off += len;
  if (p->off == o->len) p->at++, p->off = 0;
  return true;
}

/* Runs the programs of lanes 0..n-1 of x->S from its current state, step by
 * step; a lane whose program ends saves its state (if asked) right after its
 * last transform. The transform after a program's last chunk is skipped when
 * nothing reads it. */
static void run_programs(bx *x, bprog *pr, size_t n) {
  for (;;) {
    bool any = false;
    for (size_t k = 0; k < n; k++) {
      x->out[k] = pr[k].at < pr[k].nops ? x->stage + k * MAM_HASH : NULL;
      any |= x->out[k] != NULL;
    }
    if (!any) return;
    pg_curlx_store(x->S, 0, MAM_HASH, x->out, n);
    bool need = false;
    for (size_t k = 0; k < n; k++) {
      x->in[k] = NULL;
      if (!x->out[k] || !prog_chunk(&pr[k], x->out[k])) continue;
      x->in[k] = x->out[k];
      need |= pr[k].at < pr[k].nops || pr[k].save;
    }
    pg_curlx_load(x->S, 0, MAM_HASH, x->in, n);
    if (!need) continue; /* every lane ran its last chunk and nobody reads the state */
    pg_curlx_transform(x->S, 27);
    bool saves = false;
    for (size_t k = 0; k < n; k++) {
      x->out[k] = x->in[k] && pr[k].at == pr[k].nops ? pr[k].save : NULL;
      saves |= x->out[k] != NULL;
    }
    if (saves) pg_curlx_store(x->S, 0, PG_CURL_STATE, x->out, n);
  }
}

/* ---- lane masks ------------------------------------------------------------------ */

typedef uint64_t lmask[PG_CURLX_WORDS];

static void mask_set(uint64_t *m, size_t lane) { m[lane / 64] |= (uint64_t)1 << (lane % 64); }

/* dst rate |= src rate & m (rows 0..242). */
static void rate_or_masked(pg_curlx *dst, const pg_curlx *src, const uint64_t *m) {
  for (size_t i = 0; i < MAM_HASH; i++)
    for (size_t w = 0; w < PG_CURLX_WORDS; w++) {
      dst->lo[i][w] |= src->lo[i][w] & m[w];
      dst->hi[i][w] |= src->hi[i][w] & m[w];
    }
}

static void rate_clear(pg_curlx *s) {
  memset(s->lo, 0, MAM_HASH * sizeof s->lo[0]);
  memset(s->hi, 0, MAM_HASH * sizeof s->hi[0]);
}

/* One step of a hash chain on every lane: H(rate) with a zero capacity. */
static void chain_step(pg_curlx *s) {
  pg_curlx_fill(s, MAM_HASH, CAP_ROWS, 0);
  pg_curlx_transform(s, 27);
}

/* Every lane's rate := H(rate). */
static void hash_rate(pg_curlx *dst, const pg_curlx *src) {
  if (dst != src) pg_curlx_copy_rows(dst, src, 0, MAM_HASH);
  chain_step(dst);
}

/* The rate rows 0..242 of 512 lanes, bit-sliced (a checkpoint). */
typedef struct rate_rows {
  uint64_t lo[MAM_HASH][PG_CURLX_WORDS], hi[MAM_HASH][PG_CURLX_WORDS];
} rate_rows;

/* The first nw words (lanes 0..64 nw - 1) of every rate row. */
static void rate_save(rate_rows *r, const pg_curlx *s, size_t nw) {
  for (size_t i = 0; i < MAM_HASH; i++) {
    memcpy(r->lo[i], s->lo[i], nw * sizeof s->lo[i][0]);
    memcpy(r->hi[i], s->hi[i], nw * sizeof s->hi[i][0]);
  }
}

/* dst rate |= r & m, in the first nw words. */
static void rate_or_saved(pg_curlx *dst, const rate_rows *r, const uint64_t *m, size_t nw) {
  for (size_t i = 0; i < MAM_HASH; i++)
    for (size_t w = 0; w < nw; w++) {
      dst->lo[i][w] |= r->lo[i][w] & m[w];
      dst->hi[i][w] |= r->hi[i][w] & m[w];
    }
}

/* ---- many hash chains of different lengths ----------------------------------- */

/* n chains: out[c] = H^want[c](in[c]) (243 trits each, want 0..27). */
typedef struct chains_ws {
  const pg_trit **in;
  pg_trit **out;
  uint8_t *want;
  uint32_t *order;
} chains_ws;

static void chains_ws_free(chains_ws *cw) {
  free(cw->in), free(cw->out), free(cw->want), free(cw->order);
  memset(cw, 0, sizeof *cw);
}

static int chains_ws_new(chains_ws *cw, size_t n) {
  cw->in = malloc(n * sizeof *cw->in);
  cw->out = malloc(n * sizeof *cw->out);
  cw->want = malloc(n);
  cw->order = malloc(n * sizeof *cw->order);
  if (cw->in && cw->out && cw->want && cw->order) return PG_OK;
  chains_ws_free(cw);
  return PG_ERR_NOMEM;
}

/* Runs the chains sorted by length, 512 at a time, so that a transform
 * rarely carries a lane that is already done; each end is stored at its
 * own step. */
static void run_chains(bx *x, chains_ws *cw, size_t n) {
  size_t at[29] = {0};
  for (size_t c = 0; c < n; c++) at[cw->want[c] + 1]++;
  for (size_t w = 1; w < 29; w++) at[w] += at[w - 1];
  for (size_t c = 0; c < n; c++) cw->order[at[cw->want[c]]++] = (uint32_t)c;
  for (size_t a = 0; a < n; a += W) {
    size_t nl = n - a < W ? n - a : W;
    const uint32_t *ord = cw->order + a;
    int wmax = cw->want[ord[nl - 1]];
    for (size_t k = 0; k < nl; k++) x->in[k] = cw->in[ord[k]];
    pg_curlx_load(x->C, 0, MAM_HASH, x->in, nl);
    for (int t = 0; t <= wmax; t++) {
      if (t > 0) chain_step(x->C);
      bool any = false;
      for (size_t k = 0; k < nl; k++) {
        x->out[k] = cw->want[ord[k]] == t ? cw->out[ord[k]] : NULL;
        any |= x->out[k] != NULL;
      }
      if (any) pg_curlx_store(x->C, 0, MAM_HASH, x->out, nl);
    }
  }
}

/* ---- create ------------------------------------------------------------------ */

typedef struct citem {
  size_t idx; /* in the caller's arrays */
  pg_mam_channel *ch;
  mam_plan pl;
  pg_trit seed[MAM_HASH], key[MAM_HASH], root[MAM_HASH], next_root[MAM_HASH];
  pg_trit hmac[MAM_HASH], state[PG_CURL_STATE];
  pg_trit *P, *addrs;
  char address[PG_MAM_HASH_TRYTES + 1];
  bool hit;   /* its signing leaf's address came from the keys cache */
  bool kept;  /* hit, and its signing checkpoints are kept in its lane (lanekeep) */
  pg_trit *r; /* hit and not kept: the signing leaf's key fragments r_j (frags * 243) */
} citem;

/* A leaf to compute: leaf `leaf` (0..nleaves-1) of item `item`. */
typedef struct leafjob {
  uint32_t item, leaf;
} leafjob;

/* ---- the keys cache ---------------------------------------------------------- */

/* One channel (seed, security): the address of the leaf its next message
 * will sign with (computed by the message before). */
typedef struct keyent {
  char seed[PG_MAM_HASH_TRYTES];
  int sec; /* 0: free */
  uint64_t leaf;
  pg_trit addr[MAM_HASH];
} keyent;

/* The signing checkpoints of the next leaves, kept in their lanes from one
 * call to the next (group b of a security level): when a count-1 channel's
 * next message lands in the same lane of the same group, as the simulator's
 * and the grid's rounds do, it signs from them (at most 6 chain steps a
 * fragment, with the fresh ones) instead of computing its key sponge and
 * chains again (about 15 F steps). A lane's tag says whose checkpoints it
 * holds (seed, security, leaf); moving them to another lane would cost more
 * than they save. Two banks: the last call's (read) and this call's
 * (written), swapped after the group; the read one is wiped then. */
typedef struct lanetag {
  char seed[PG_MAM_HASH_TRYTES];
  int sec; /* 0: nothing kept */
  uint64_t leaf;
} lanetag;

typedef struct lanekeep {
  rate_rows *ck[2]; /* MAM_CKPTS * frags each, as a call's checkpoints */
  lanetag *tag[2];  /* W each */
  size_t frags;
  int cur; /* the bank the last call wrote */
} lanekeep;

#define LANE_GROUPS 64 /* groups of 512 kept per security level (32,768 channels) */

/* The cache also keeps the batch's workspace from call to call (bit-sliced
 * states, signing checkpoints, staging rows: several MB whose fresh pages
 * cost a page fault each per call); it grows to the largest security level
 * seen and is wiped, not freed, at the end of each call. */
struct pg_mam_keys {
  keyent *e;
  size_t cap, n; /* cap: a power of two, n < cap / 2 */
  bx x;          /* x.S == NULL: not made yet */
  rate_rows *ck; /* ck_frags fragments' checkpoints */
  size_t ck_frags;
  pg_trit *tmp; /* W * 243 */
  pg_trit *r;   /* W * r_frags * 243: cached signing leaves' key fragments */
  size_t r_frags;
  pg_trit *blk; /* blk_size trits: the items' payloads and leaf addresses */
  size_t blk_size;
  struct pg_mam_keys *twin; /* the second thread's cache (create_split), or NULL */
  lanekeep *lk[3][LANE_GROUPS]; /* [security - 1][group]: made on first use */
  pg_mam_keys_counts counts;
};

int pg_mam_keys_new(pg_mam_keys **keys) {
  if (!keys) return PG_ERR_INVALID;
  pg_mam_keys *k = calloc(1, sizeof *k);
  if (k) k->e = calloc(k->cap = 64, sizeof *k->e);
  if (!k || !k->e) {
    free(k);
    return PG_ERR_NOMEM;
  }
  *keys = k;
  return PG_OK;
}

static void lanekeep_free(lanekeep *L) {
  if (!L) return;
  for (int b = 0; b < 2; b++) {
    if (L->ck[b]) mam_wipe(L->ck[b], (size_t)MAM_CKPTS * L->frags * sizeof *L->ck[b]);
    free(L->ck[b]);
    if (L->tag[b]) mam_wipe(L->tag[b], W * sizeof *L->tag[b]);
    free(L->tag[b]);
  }
  free(L);
}

/* Group b's kept lanes at a level of frags fragments (made on first use),
 * or NULL: no cache, past LANE_GROUPS, or out of memory (the items then
 * take the other paths). */
static lanekeep *keys_lanes(pg_mam_keys *keys, int sec, size_t b, size_t frags) {
  if (!keys || sec < 1 || sec > 3 || b >= LANE_GROUPS) return NULL;
  lanekeep **slot = &keys->lk[sec - 1][b];
  if (*slot) return *slot;
  lanekeep *L = calloc(1, sizeof *L);
  if (!L) return NULL;
  L->frags = frags;
  for (int k = 0; k < 2; k++) {
    L->ck[k] = big_alloc((size_t)MAM_CKPTS * frags * sizeof *L->ck[k]);
    L->tag[k] = calloc(W, sizeof *L->tag[k]);
    if (!L->ck[k] || !L->tag[k]) {
      lanekeep_free(L);
      return NULL;
    }
  }
  return *slot = L;
}

void pg_mam_keys_get_counts(const pg_mam_keys *keys, pg_mam_keys_counts *out) {
  memset(out, 0, sizeof *out);
  for (const pg_mam_keys *k = keys; k; k = k->twin) {
    out->fresh += k->counts.fresh;
    out->cached += k->counts.cached;
    out->kept += k->counts.kept;
  }
}

void pg_mam_keys_free(pg_mam_keys *keys) {
  if (!keys) return;
  pg_mam_keys_free(keys->twin);
  for (int s = 0; s < 3; s++)
    for (size_t b = 0; b < LANE_GROUPS; b++) lanekeep_free(keys->lk[s][b]);
  if (keys->x.S) bx_free(&keys->x);
  free(keys->ck);
  free(keys->tmp);
  free(keys->r);
  free(keys->blk);
  mam_wipe(keys->e, keys->cap * sizeof *keys->e);
  free(keys->e);
  free(keys);
}

static keyent *keys_slot(keyent *e, size_t cap, const char *seed, int sec) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)sec;
  for (size_t i = 0; i < PG_MAM_HASH_TRYTES; i++) h = (h ^ (unsigned char)seed[i]) * 1099511628211ull;
  for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
    if (e[i].sec == 0 || (e[i].sec == sec && memcmp(e[i].seed, seed, sizeof e[i].seed) == 0))
      return &e[i];
}

/* The cached address of item c's signing leaf into c->addrs (count 1). */
static bool keys_lookup(pg_mam_keys *keys, citem *c) {
  const pg_mam_channel *ch = c->ch;
  if (!keys || ch->count != 1 || ch->next_count != 1) return false;
  keyent *e = keys_slot(keys->e, keys->cap, ch->seed, ch->security);
  if (e->sec == 0 || e->leaf != ch->start) return false;
  memcpy(c->addrs, e->addr, MAM_HASH);
  return true;
}

/* After a message of a count-1 channel: the next leaf's address is its
 * nextRoot. Best effort (a full cache that cannot grow just misses). */
static void keys_store(pg_mam_keys *keys, const citem *c) {
  const pg_mam_channel *ch = c->ch;
  if (!keys || ch->count != 1 || ch->next_count != 1) return;
  if (2 * (keys->n + 1) > keys->cap) {
    keyent *ne = calloc(2 * keys->cap, sizeof *ne);
    if (!ne) return;
    for (size_t i = 0; i < keys->cap; i++)
      if (keys->e[i].sec) *keys_slot(ne, 2 * keys->cap, keys->e[i].seed, keys->e[i].sec) = keys->e[i];
    mam_wipe(keys->e, keys->cap * sizeof *keys->e);
    free(keys->e);
    keys->e = ne, keys->cap *= 2;
  }
  keyent *e = keys_slot(keys->e, keys->cap, ch->seed, ch->security);
  if (e->sec == 0) keys->n++;
  memcpy(e->seed, ch->seed, sizeof e->seed);
  e->sec = ch->security;
  e->leaf = ch->start;
  memcpy(e->addr, c->next_root, MAM_HASH);
}

/* The cache's rows for the key fragments of 512 signing leaves of frags
 * fragments (kept from call to call: fresh megabytes cost a page fault per
 * page), or NULL (out of memory: the items then take the uncached path). */
static pg_trit *keys_frag_rows(pg_mam_keys *keys, size_t frags) {
  if (keys->r_frags < frags) {
    pg_trit *n = big_alloc((size_t)W * frags * MAM_HASH);
    if (!n) return NULL;
    free(keys->r); /* wiped after its last use */
    keys->r = n, keys->r_frags = frags;
  }
  return keys->r;
}

/* Leaves of up to 512 jobs (lane k = job k): each address into its item's
 * addrs; the checkpoints of lanes 0..nsave-1 (lane g: item g's signing leaf,
 * or its next one to keep) into ck[c * frags + j]. */
static void leaves_pass(bx *x, citem *it, const leafjob *job, size_t nl, size_t nsave,
                        rate_rows *ck, pg_trit *tmp) {
  const size_t frags = it[0].pl.frags, nw = (nsave + 63) / 64;
  for (size_t k = 0; k < nl; k++) {
    citem *c = &it[job[k].item];
    mam_seed_plus(c->seed, c->ch->start + job[k].leaf, tmp + k * MAM_HASH);
    x->in[k] = tmp + k * MAM_HASH;
    x->out[k] = c->addrs + (size_t)job[k].leaf * MAM_HASH;
  }
  pg_curlx_load(x->K, 0, MAM_HASH, x->in, nl);
  chain_step(x->K); /* subseed = Curl(seed + i) */
  chain_step(x->K); /* the key sponge has absorbed the subseed */
  pg_curlx_fill(x->D, 0, PG_CURL_STATE, 0);
  for (size_t j = 0; j < frags; j++) {
    pg_curlx_copy_rows(x->C, x->K, 0, MAM_HASH); /* squeeze fragment j */
    if (nsave) rate_save(&ck[j], x->C, nw);
    for (int t = 1; t <= 27; t++) {
      chain_step(x->C);
      if (nsave && t % MAM_CKPT_STEP == 0 && t < MAM_CKPTS * MAM_CKPT_STEP)
        rate_save(&ck[(size_t)(t / MAM_CKPT_STEP) * frags + j], x->C, nw);
    }
    pg_curlx_copy_rows(x->D, x->C, 0, MAM_HASH); /* digest absorbs H^27(r_j) */
    pg_curlx_transform(x->D, 27);
    if (j + 1 < frags) pg_curlx_transform(x->K, 27);
  }
  hash_rate(x->C, x->D); /* address = H(digest) */
  pg_curlx_store(x->C, 0, MAM_HASH, x->out, nl);
}

/* All leaves of ng items: the signing leaves first (lane = item, with
 * checkpoints), then the others, 512 to a pass. keep (every item a count-1
 * channel, and a bank to write): the next leaves in a pass of their own,
 * lane = item, their checkpoints into keep. */
static int group_leaves(bx *x, citem *it, size_t ng, rate_rows *ck, bool *ck_used,
                        rate_rows *keep, pg_trit *tmp) {
  size_t total = ng, nsign = 0;
  for (size_t g = 0; g < ng; g++) total += it[g].pl.nleaves - 1, nsign |= !it[g].hit;
  nsign = nsign ? ng : 0; /* all signing leaves cached: no signing pass */
  *ck_used |= nsign > 0;
  leafjob *job = malloc(total * sizeof *job);
  if (!job) return PG_ERR_NOMEM;
  size_t n = nsign;
  for (size_t g = 0; g < ng; g++) {
    if (nsign) job[g].item = (uint32_t)g, job[g].leaf = it[g].ch->index;
    for (size_t leaf = 0; leaf < it[g].pl.nleaves; leaf++)
      if (leaf != it[g].ch->index) job[n].item = (uint32_t)g, job[n++].leaf = (uint32_t)leaf;
  }
  if (keep) { /* n = nsign + ng */
    if (nsign) leaves_pass(x, it, job, nsign, nsign, ck, tmp);
    leaves_pass(x, it, job + nsign, ng, ng, keep, tmp);
  } else {
    for (size_t a = 0; a < n; a += W)
      leaves_pass(x, it, job + a, n - a < W ? n - a : W, a == 0 ? nsign : 0, ck, tmp);
  }
  free(job);
  return PG_OK;
}

/* For the items whose signing leaf was cached: its key fragments r_j only
 * (subseed and key sponge, lane = item), into it[g].r. */
static void group_keys(bx *x, citem *it, size_t ng, pg_trit *tmp) {
  const size_t frags = it[0].pl.frags;
  for (size_t g = 0; g < ng; g++) {
    x->in[g] = NULL;
    if (!it[g].r) continue;
    mam_seed_plus(it[g].seed, it[g].ch->start + it[g].ch->index, tmp + g * MAM_HASH);
    x->in[g] = tmp + g * MAM_HASH;
  }
  pg_curlx_load(x->K, 0, MAM_HASH, x->in, ng);
  chain_step(x->K);
  chain_step(x->K);
  for (size_t j = 0; j < frags; j++) {
    for (size_t g = 0; g < ng; g++) x->out[g] = it[g].r ? it[g].r + j * MAM_HASH : NULL;
    pg_curlx_store(x->K, 0, MAM_HASH, x->out, ng);
    if (j + 1 < frags) pg_curlx_transform(x->K, 27);
  }
}

/* Signature fragments of the cached items: sig_j = H^(14 - h_j)(r_j), the
 * chains of all of them sorted by length. */
static int group_sign_cached(bx *x, citem *it, size_t ng) {
  const size_t frags = it[0].pl.frags;
  size_t n = 0;
  for (size_t g = 0; g < ng; g++) n += it[g].r ? frags : 0;
  if (n == 0) return PG_OK;
  chains_ws cw;
  if (chains_ws_new(&cw, n)) return PG_ERR_NOMEM;
  n = 0;
  for (size_t g = 0; g < ng; g++)
    for (size_t j = 0; it[g].r && j < frags; j++, n++) {
      cw.in[n] = it[g].r + j * MAM_HASH;
      cw.out[n] = it[g].P + it[g].pl.off_sig + j * MAM_HASH;
      cw.want[n] = (uint8_t)(14 - mam_hmac_tryte(it[g].hmac, j));
    }
  run_chains(x, &cw, n);
  chains_ws_free(&cw);
  return PG_OK;
}

/* Signature fragments of the group's items (lanes 0..ng-1) into P from the
 * checkpoints (this call's ck, or for kept items the lanes' kck):
 * sig_j = H^(14 - h_j)(r_j), at most 6 steps from checkpoint
 * min((14 - h_j) / 7, 3). Items with r are signed by group_sign_cached. */
static void group_sign(bx *x, citem *it, size_t ng, const rate_rows *ck, const rate_rows *kck) {
  const size_t frags = it[0].pl.frags, nw = (ng + 63) / 64;
  for (size_t j = 0; j < frags; j++) {
    lmask mc[MAM_CKPTS], mk[MAM_CKPTS], ms[MAM_CKPT_STEP];
    memset(mc, 0, sizeof mc);
    memset(mk, 0, sizeof mk);
    memset(ms, 0, sizeof ms);
    int maxs = 0;
    bool anyk = false;
    for (size_t g = 0; g < ng; g++) {
      if (it[g].r) continue;
      int w = 14 - mam_hmac_tryte(it[g].hmac, j);
      int c = w / MAM_CKPT_STEP < MAM_CKPTS ? w / MAM_CKPT_STEP : MAM_CKPTS - 1;
      int st = w - c * MAM_CKPT_STEP;
      mask_set(it[g].kept ? mk[c] : mc[c], g);
      anyk |= it[g].kept;
      mask_set(ms[st], g);
      if (st > maxs) maxs = st;
    }
    rate_clear(x->C);
    for (int c = 0; c < MAM_CKPTS; c++) {
      rate_or_saved(x->C, &ck[(size_t)c * frags + j], mc[c], nw);
      if (anyk) rate_or_saved(x->C, &kck[(size_t)c * frags + j], mk[c], nw);
    }
    rate_clear(x->D);
    rate_or_masked(x->D, x->C, ms[0]);
    for (int s = 1; s <= maxs; s++) {
      chain_step(x->C);
      rate_or_masked(x->D, x->C, ms[s]);
    }
    for (size_t g = 0; g < ng; g++)
      x->out[g] = it[g].r ? NULL : it[g].P + it[g].pl.off_sig + j * MAM_HASH;
    pg_curlx_store(x->D, 0, MAM_HASH, x->out, ng);
  }
}

/* Address of each item (private / restricted: Curl-P-81 of the root), 512
 * at a time. */
static void group_addresses(bx *x, citem *it, size_t ng) {
  for (size_t g = 0; g < ng; g++) x->in[g] = it[g].root, x->out[g] = x->stage + g * MAM_HASH;
  pg_curlx_load(x->C, 0, MAM_HASH, x->in, ng);
  pg_curlx_fill(x->C, MAM_HASH, CAP_ROWS, 0);
  pg_curlx_transform(x->C, 81);
  pg_curlx_store(x->C, 0, MAM_HASH, x->out, ng);
  for (size_t g = 0; g < ng; g++) {
    char *a = it[g].address;
    if (it[g].ch->mode == PG_MAM_PUBLIC)
      pg_trits_to_trytes(it[g].root, MAM_HASH, a);
    else
      pg_trits_to_trytes(x->stage + g * MAM_HASH, MAM_HASH, a);
    a[PG_MAM_HASH_TRYTES] = '\0';
  }
}

/* Trees, sponges up to the nonce (saved in it[g].state). */
static void group_front(bx *x, citem *it, size_t ng) {
  bprog *pr = x->pr;
  for (size_t g = 0; g < ng; g++) {
    citem *c = &it[g];
    const pg_mam_channel *ch = c->ch;
    mam_merkle(c->addrs, ch->count, ch->index, c->P + c->pl.off_sib, c->root);
    mam_merkle(c->addrs + (size_t)ch->count * MAM_HASH, ch->next_count, 0, NULL, c->next_root);
    memcpy(c->P + c->pl.off_next, c->next_root, MAM_HASH);
    memset(&pr[g], 0, sizeof pr[g]);
    prog_add(&pr[g], OP_ABSORB, NULL, c->key, MAM_HASH);
    prog_add(&pr[g], OP_ABSORB, NULL, c->root, MAM_HASH);
    prog_add(&pr[g], OP_ABSORB, NULL, c->P, c->pl.hl);
    prog_add(&pr[g], OP_MASK, c->P + c->pl.off_next, NULL, MAM_HASH + c->pl.L);
    pr[g].save = c->state;
  }
  pg_curlx_fill(x->S, 0, PG_CURL_STATE, 0);
  run_programs(x, pr, ng);
}

/* From the nonces on: mask the nonce, hmac, sign, mask the rest. */
static int group_back(bx *x, citem *it, size_t ng, const rate_rows *ck, const rate_rows *kck) {
  bprog *pr = x->pr;
  for (size_t g = 0; g < ng; g++) {
    x->in[g] = it[g].state;
    memset(&pr[g], 0, sizeof pr[g]);
    prog_add(&pr[g], OP_MASK, it[g].P + it[g].pl.off_nonce, NULL, MAM_NONCE);
    prog_add(&pr[g], OP_CAPTURE, it[g].hmac, NULL, 0);
  }
  pg_curlx_load(x->S, 0, PG_CURL_STATE, x->in, ng);
  run_programs(x, pr, ng);
  group_sign(x, it, ng, ck, kck);
  if (group_sign_cached(x, it, ng)) return PG_ERR_NOMEM;
  for (size_t g = 0; g < ng; g++) {
    memset(&pr[g], 0, sizeof pr[g]);
    prog_add(&pr[g], OP_MASK, it[g].P + it[g].pl.off_sig, NULL, it[g].pl.total - it[g].pl.off_sig);
  }
  run_programs(x, pr, ng);
  return PG_OK;
}

static bool count1(const pg_mam_channel *ch) { return ch->count == 1 && ch->next_count == 1; }

/* Whether lane g of L holds the checkpoints of c's signing leaf. */
static bool lane_holds(const lanekeep *L, size_t g, const citem *c) {
  const lanetag *t = &L->tag[L->cur][g];
  return t->sec == c->ch->security && t->leaf == c->ch->start && count1(c->ch) &&
         memcmp(t->seed, c->ch->seed, sizeof t->seed) == 0;
}

/* How each item signs (fresh, cached: r, kept) and the rows r of the cached
 * ones; the counts. */
static pg_trit *group_paths(pg_mam_keys *keys, const lanekeep *L, citem *it, size_t ng) {
  const size_t frags = it[0].pl.frags;
  size_t nr = 0;
  for (size_t g = 0; g < ng; g++) {
    it[g].hit = keys_lookup(keys, &it[g]);
    it[g].kept = it[g].hit && L && lane_holds(L, g, &it[g]);
    nr += it[g].hit && !it[g].kept;
  }
  pg_trit *r = nr ? keys_frag_rows(keys, frags) : NULL;
  for (size_t g = 0; g < ng; g++) {
    it[g].hit = it[g].kept || (it[g].hit && r);
    it[g].r = it[g].hit && !it[g].kept ? r + g * frags * MAM_HASH : NULL;
    if (keys) {
      keys->counts.kept += it[g].kept;
      keys->counts.cached += it[g].r != NULL;
      keys->counts.fresh += !it[g].hit;
    }
  }
  return r;
}

/* After a group: the bank written (its tags: the items made, each with
 * the leaf its next message signs with) becomes the one read; the one read
 * is wiped. wrote: the next leaves' checkpoints were saved; rc: the
 * outcomes by caller's index (an item not made did not advance its
 * channel: its lane keeps nothing). */
static void lanes_turn(lanekeep *L, const citem *it, size_t ng, const int *rc, bool wrote) {
  lanetag *nt = L->tag[1 - L->cur];
  memset(nt, 0, W * sizeof *nt);
  for (size_t g = 0; wrote && g < ng; g++) {
    if (rc[it[g].idx] != PG_OK) continue;
    memcpy(nt[g].seed, it[g].ch->seed, sizeof nt[g].seed);
    nt[g].sec = it[g].ch->security;
    nt[g].leaf = it[g].ch->start; /* advanced by the message: its next signing leaf */
  }
  mam_wipe(L->ck[L->cur], (size_t)MAM_CKPTS * L->frags * sizeof *L->ck[L->cur]);
  mam_wipe(L->tag[L->cur], W * sizeof *L->tag[L->cur]);
  L->cur = 1 - L->cur;
}

/* One group: up to 512 items of one security level; L: its kept lanes or NULL. */
static void create_group(bx *x, pg_mam_keys *keys, lanekeep *L, citem *it, size_t ng,
                         rate_rows *ck, bool *ck_used, pg_mam_message *out, int *rc,
                         pg_trit *tmp) {
  const size_t frags = it[0].pl.frags;
  pg_trit *r = group_paths(keys, L, it, ng);
  bool keep = L != NULL;
  for (size_t g = 0; keep && g < ng; g++) keep = count1(it[g].ch);
  rate_rows *kck = L ? L->ck[L->cur] : NULL;
  int err = group_leaves(x, it, ng, ck, ck_used, keep ? L->ck[1 - L->cur] : NULL, tmp);
  const pg_trit *st[W];
  pg_trit *nonce[W];
  int sec[W], nrc[W];
  if (!err) {
    if (r) group_keys(x, it, ng, tmp);
    group_front(x, it, ng);
    for (size_t g = 0; g < ng; g++) {
      st[g] = it[g].state;
      nonce[g] = it[g].P + it[g].pl.off_nonce;
      sec[g] = it[g].pl.sec;
    }
    mam_nonce_search_many(x->S, x->C, st, sec, ng, nonce, nrc);
    err = group_back(x, it, ng, ck, kck);
  }
  if (r) mam_wipe(r, ng * frags * MAM_HASH);
  if (err) {
    for (size_t g = 0; g < ng; g++) rc[it[g].idx] = err;
    if (L) lanes_turn(L, it, ng, rc, false);
    return;
  }
  group_addresses(x, it, ng);
  for (size_t g = 0; g < ng; g++) {
    citem *c = &it[g];
    pg_mam_message *m = &out[c->idx];
    rc[c->idx] = nrc[g];
    if (nrc[g]) continue;
    char *payload = malloc(c->pl.padded / 3 + 1);
    if (!payload) {
      rc[c->idx] = PG_ERR_NOMEM;
      continue;
    }
    mam_create_output(c->ch, &c->pl, c->P, payload, c->root, c->next_root, m);
    memcpy(m->address, c->address, sizeof c->address);
    keys_store(keys, c);
  }
  if (L) lanes_turn(L, it, ng, rc, keep);
}

/* The lowest failing item and its diagnosis. */
typedef struct firstfail {
  size_t i;
  pg_diag d;
} firstfail;

static void note_fail(firstfail *f, size_t i, const pg_diag *d, int rc) {
  if (i >= f->i) return;
  f->i = i;
  if (d && d->msg[0]) {
    f->d = *d;
  } else {
    snprintf(f->d.msg, sizeof f->d.msg, "%s",
             rc == PG_ERR_NOMEM ? "out of memory"
             : rc == PG_ERR_POW ? "nonce search exhausted its counter"
                                : "failed");
  }
}

static int finish_batch(const int *rc, size_t n, int *rc_out, const firstfail *f, pg_diag *d) {
  if (rc_out) memcpy(rc_out, rc, n * sizeof *rc);
  if (f->i == SIZE_MAX) return PG_OK;
  return pg_fail(d, rc[f->i], "item %zu: %s", f->i, f->d.msg);
}

static int cmp_chan(const void *a, const void *b) {
  const pg_mam_create_item *x = *(const pg_mam_create_item *const *)a,
                           *y = *(const pg_mam_create_item *const *)b;
  if (x->ch != y->ch) return (uintptr_t)x->ch < (uintptr_t)y->ch ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* Checks every item; rc[i] and f say which fail. A channel given twice:
 * the later items fail (their messages would use the same leaf). */
static int create_checks(const pg_mam_create_item *items, size_t n, int *rc, firstfail *f) {
  const pg_mam_create_item **by = malloc(n * sizeof *by);
  if (!by) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    pg_diag di = {{0}};
    by[i] = &items[i];
    rc[i] = items[i].ch ? mam_create_check(items[i].ch, items[i].msg, items[i].msg_len, &di)
                        : pg_fail(&di, PG_ERR_INVALID, "no channel");
    if (rc[i]) note_fail(f, i, &di, rc[i]);
  }
  qsort(by, n, sizeof *by, cmp_chan);
  for (size_t k = 1; k < n; k++) {
    if (!by[k]->ch || by[k]->ch != by[k - 1]->ch) continue;
    size_t i = (size_t)(by[k] - items);
    pg_diag di;
    rc[i] = pg_fail(&di, PG_ERR_INVALID, "its channel is also item %zu's",
                    (size_t)(by[k - 1] - items));
    note_fail(f, i, &di, rc[i]);
  }
  free(by);
  return PG_OK;
}

static void citem_free(citem *c) {
  mam_wipe(c->seed, sizeof c->seed);
  c->P = c->addrs = NULL;
}

/* One block for every item's payload trits and leaf addresses (the
 * cache's, grown if needed, or a fresh one: thousands of separate buffers
 * made the allocator return and fetch pages on every call). */
static pg_trit *items_block(pg_mam_keys *keys, size_t size) {
  if (!keys) return big_alloc(size ? size : 1);
  if (keys->blk_size < size) {
    pg_trit *b = big_alloc(size);
    if (!b) return NULL;
    free(keys->blk);
    keys->blk = b, keys->blk_size = size;
  }
  return keys->blk;
}

/* Plans, inputs and buffers of the items that passed the checks, by
 * security level: m[sec] items of it, *blk their block. */
static int create_items(pg_mam_keys *keys, const pg_mam_create_item *items, size_t n, int *rc,
                        firstfail *f, citem *it, size_t m[4], pg_trit **blk) {
  size_t total = 0, size = 0;
  for (int sec = 1; sec <= 3; sec++) {
    for (size_t i = 0; i < n; i++) {
      if (rc[i] || items[i].ch->security != sec) continue;
      citem *c = &it[total++];
      c->idx = i;
      c->ch = items[i].ch;
      mam_create_plan(c->ch, items[i].msg_len, &c->pl);
      size += c->pl.padded + c->pl.nleaves * MAM_HASH;
      m[sec]++;
    }
  }
  if (!(*blk = items_block(keys, size))) return PG_ERR_NOMEM;
  pg_trit *b = *blk;
  size_t keep = 0;
  for (size_t k = 0; k < total; k++) {
    citem *c = &it[keep];
    if (k != keep) *c = it[k];
    const pg_mam_create_item *ci = &items[c->idx];
    c->P = b, c->addrs = b + c->pl.padded;
    b += c->pl.padded + c->pl.nleaves * MAM_HASH;
    memset(c->P, 0, c->pl.padded);
    if (mam_create_inputs(ci->ch, ci->msg, ci->msg_len, &c->pl, c->seed, c->key, c->P)) {
      rc[c->idx] = PG_ERR_INVALID; /* checked above: not reached */
      note_fail(f, c->idx, NULL, rc[c->idx]);
      citem_free(c);
      m[ci->ch->security]--;
      continue;
    }
    keep++;
  }
  return PG_OK;
}

/* The checkpoints and staging rows of a level of frags fragments: the
 * cache's (grown if needed) or, without a cache, fresh ones. */
static int level_ws(pg_mam_keys *keys, size_t frags, rate_rows **ck, pg_trit **tmp) {
  const size_t ckb = (size_t)MAM_CKPTS * frags * sizeof **ck, tb = (size_t)W * MAM_HASH;
  if (!keys) {
    *ck = big_alloc(ckb);
    *tmp = malloc(tb);
    if (*ck && *tmp) return PG_OK;
    free(*ck), free(*tmp);
    return PG_ERR_NOMEM;
  }
  if (keys->ck_frags < frags) {
    rate_rows *n = big_alloc(ckb);
    if (!n) return PG_ERR_NOMEM;
    free(keys->ck); /* wiped after its last use */
    keys->ck = n, keys->ck_frags = frags;
  }
  if (!keys->tmp && !(keys->tmp = malloc(tb))) return PG_ERR_NOMEM;
  *ck = keys->ck, *tmp = keys->tmp;
  return PG_OK;
}

/* Items [0, m) of one security level, 512 at a time. */
static int create_level(bx *x, pg_mam_keys *keys, citem *it, size_t m, pg_mam_message *out,
                        int *rc) {
  const size_t frags = it[0].pl.frags;
  rate_rows *ck;
  pg_trit *tmp;
  if (level_ws(keys, frags, &ck, &tmp)) return PG_ERR_NOMEM;
  bool ck_used = false; /* untouched (all signing leaves cached): no pages to wipe */
  for (size_t a = 0; a < m; a += W)
    create_group(x, keys, keys_lanes(keys, it[0].pl.sec, a / W, frags), it + a,
                 m - a < W ? m - a : W, ck, &ck_used, out, rc, tmp);
  if (ck_used) mam_wipe(ck, (size_t)MAM_CKPTS * frags * sizeof *ck);
  mam_wipe(tmp, (size_t)W * MAM_HASH);
  if (!keys) free(ck), free(tmp);
  return PG_OK;
}

/* The bit-sliced states of a call: the cache's, made once, or fresh ones. */
static int batch_bx(pg_mam_keys *keys, bx **x, bx *own) {
  if (!keys) {
    *x = own;
    return bx_new(own);
  }
  if (!keys->x.S && bx_new(&keys->x)) {
    memset(&keys->x, 0, sizeof keys->x); /* bx_new freed what it made */
    return PG_ERR_NOMEM;
  }
  *x = &keys->x;
  return PG_OK;
}

/* End of a call: a cache's states are wiped (key and chain rows), others freed. */
static void batch_bx_done(pg_mam_keys *keys, bx *x) {
  if (!keys) {
    bx_free(x);
    return;
  }
  mam_wipe(x->K, sizeof *x->K);
  mam_wipe(x->C, sizeof *x->C);
}

/* The batch on one thread: rc[0..n) and f as create_checks sets them,
 * then what creation adds. PG_ERR_NOMEM when it could not start (no
 * channel touched, rc unset). */
static int create_run(pg_mam_keys *keys, const pg_mam_create_item *items, size_t n,
                      pg_mam_message *out, int *rc, firstfail *f) {
  citem *it = calloc(n, sizeof *it);
  bx own, *x = NULL;
  if (!it || batch_bx(keys, &x, &own)) {
    free(it);
    return PG_ERR_NOMEM;
  }
  int err = create_checks(items, n, rc, f);
  if (err) {
    batch_bx_done(keys, x);
    free(it);
    return err;
  }
  size_t m[4] = {0, 0, 0, 0}, total = 0;
  pg_trit *blk = NULL;
  err = create_items(keys, items, n, rc, f, it, m, &blk);
  total = m[1] + m[2] + m[3];
  for (size_t k = 0; err && k < total; k++) rc[it[k].idx] = err;
  for (size_t a = 0, sec = 1; !err && sec <= 3; a += m[sec], sec++) {
    if (m[sec] == 0 || create_level(x, keys, it + a, m[sec], out, rc) == PG_OK) continue;
    for (size_t k = a; k < a + m[sec]; k++) rc[it[k].idx] = PG_ERR_NOMEM;
  }
  for (size_t k = 0; k < total; k++) {
    if (rc[it[k].idx]) note_fail(f, it[k].idx, NULL, rc[it[k].idx]);
    citem_free(&it[k]);
  }
  if (!keys) free(blk);
  batch_bx_done(keys, x);
  free(it);
  return PG_OK;
}

/* Half of a split batch: its items (part index -> batch index in map). */
typedef struct part {
  pg_mam_keys *keys;
  pg_mam_create_item *items;
  size_t *map;
  pg_mam_message *out;
  int *rc;
  size_t n;
  firstfail f;
  int err;
} part;

static void *part_run(void *arg) {
  part *p = arg;
  p->err = create_run(p->keys, p->items, p->n, p->out, p->rc, &p->f);
  return NULL;
}

/* The two halves' results as the whole batch's (out, rc, f). */
static void split_merge(part *p, pg_mam_message *out, int *rc, firstfail *f) {
  for (int s = 0; s < 2; s++) {
    for (size_t k = 0; k < p[s].n; k++) {
      size_t i = p[s].map[k];
      rc[i] = p[s].err ? p[s].err : p[s].rc[k];
      if (rc[i] == PG_OK) out[i] = p[s].out[k];
    }
    if (p[s].err) note_fail(f, p[s].map[0], NULL, p[s].err);
    else if (p[s].f.i != SIZE_MAX) note_fail(f, p[s].map[p[s].f.i], &p[s].f.d, rc[p[s].map[p[s].f.i]]);
  }
}

/* More than one pass of W lanes: the channels split in two by their seed
 * (so each half's cache keeps seeing its channels), each half a batch of
 * its own, the second on a thread of its own with keys' twin cache. The
 * bytes are the single thread's: a batch is a pure function of the
 * channels and messages. A batch with an item the checks refuse, or whose
 * split cannot be made, runs whole on this thread (its messages name the
 * items by their index in the whole batch). */
static int create_split(pg_mam_keys *keys, const pg_mam_create_item *items, size_t n,
                        pg_mam_message *out, int *rc, firstfail *f) {
  firstfail pre = {SIZE_MAX, {{0}}};
  int err = create_checks(items, n, rc, &pre);
  if (err || pre.i != SIZE_MAX) return create_run(keys, items, n, out, rc, f);
  if (keys && !keys->twin && pg_mam_keys_new(&keys->twin) != PG_OK) keys->twin = NULL;
  part p[2] = {{.keys = keys, .f = {SIZE_MAX, {{0}}}},
               {.keys = keys ? keys->twin : NULL, .f = {SIZE_MAX, {{0}}}}};
  bool ok = !keys || keys->twin;
  for (int s = 0; ok && s < 2; s++) {
    p[s].items = malloc(n * sizeof *p[s].items);
    p[s].map = malloc(n * sizeof *p[s].map);
    p[s].out = calloc(n, sizeof *p[s].out);
    p[s].rc = malloc(n * sizeof *p[s].rc);
    ok = p[s].items && p[s].map && p[s].out && p[s].rc;
  }
  for (size_t i = 0; ok && i < n; i++) {
    part *h = &p[pg_fnv1a64(items[i].ch->seed, PG_MAM_HASH_TRYTES) & 1];
    h->items[h->n] = items[i];
    h->map[h->n++] = i;
  }
  if (ok && p[0].n && p[1].n) {
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, part_run, &p[1]) == 0;
    part_run(&p[0]);
    if (threaded) pthread_join(th, NULL);
    else part_run(&p[1]);
    split_merge(p, out, rc, f);
  } else {
    err = create_run(keys, items, n, out, rc, f);
  }
  for (int s = 0; s < 2; s++) free(p[s].items), free(p[s].map), free(p[s].out), free(p[s].rc);
  return err;
}

int pg_mam_create_batch(pg_mam_keys *keys, const pg_mam_create_item *items, size_t n,
                        pg_mam_message *out, int *rc_out, pg_diag *d) {
  if (n == 0) return PG_OK;
  if (!items || !out) return pg_fail(d, PG_ERR_INVALID, "no items or outputs");
  firstfail f = {SIZE_MAX, {{0}}};
  int *rc = malloc(n * sizeof *rc);
  int err = rc ? PG_OK : PG_ERR_NOMEM;
  if (!err) err = n > W ? create_split(keys, items, n, out, rc, &f) : create_run(keys, items, n, out, rc, &f);
  if (err) {
    free(rc);
    return pg_fail(d, err, "out of memory for a batch of %zu messages", n);
  }
  err = finish_batch(rc, n, rc_out, &f, d);
  free(rc);
  return err;
}

/* ---- parse ------------------------------------------------------------------- */

typedef struct pitem {
  size_t idx;
  mam_phead h;
  pg_trit hmac[MAM_HASH], calc[MAM_HASH];
  int sec;
} pitem;

/* Sponges of up to 512 payloads: unmask everything, capture the hmac. */
static void parse_sponges(bx *x, pitem *it, size_t ng) {
  bprog *pr = x->pr;
  for (size_t g = 0; g < ng; g++) {
    mam_phead *h = &it[g].h;
    memset(&pr[g], 0, sizeof pr[g]);
    prog_add(&pr[g], OP_ABSORB, NULL, h->key, MAM_HASH);
    prog_add(&pr[g], OP_ABSORB, NULL, h->root, MAM_HASH);
    prog_add(&pr[g], OP_ABSORB, NULL, h->P, h->hl);
    prog_add(&pr[g], OP_UNMASK, h->P + h->hl, NULL, MAM_HASH);
    prog_add(&pr[g], OP_UNMASK, h->P + h->off_msg, NULL, h->L);
    prog_add(&pr[g], OP_UNMASK, h->P + h->off_nonce, NULL, MAM_NONCE);
    prog_add(&pr[g], OP_CAPTURE, it[g].hmac, NULL, 0);
    prog_add(&pr[g], OP_UNMASK, h->P + h->off_sig, NULL, h->n - h->off_sig);
  }
  pg_curlx_fill(x->S, 0, PG_CURL_STATE, 0);
  run_programs(x, pr, ng);
}

/* Leaves from the signatures of up to 512 payloads of one security level:
 * H(digest of H^(h_j + 13)(sig_j)); the chains' ends go to res (ng * frags
 * * 243 trits), from where the digests absorb them. */
static void parse_leaves(bx *x, pitem **it, size_t ng, pg_trit *res, chains_ws *cw) {
  const size_t frags = MAM_FRAGS((size_t)it[0]->sec), total = ng * frags;
  for (size_t c = 0; c < total; c++) {
    const pitem *p = it[c / frags];
    cw->in[c] = p->h.P + p->h.off_sig + (c % frags) * MAM_HASH;
    cw->out[c] = res + c * MAM_HASH;
    cw->want[c] = (uint8_t)(mam_hmac_tryte(p->hmac, c % frags) + 13);
  }
  run_chains(x, cw, total);
  pg_curlx_fill(x->D, 0, PG_CURL_STATE, 0);
  for (size_t j = 0; j < frags; j++) {
    for (size_t g = 0; g < ng; g++) x->in[g] = res + (g * frags + j) * MAM_HASH;
    pg_curlx_load(x->D, 0, MAM_HASH, x->in, ng);
    pg_curlx_transform(x->D, 27);
  }
  hash_rate(x->C, x->D);
  for (size_t g = 0; g < ng; g++) x->out[g] = it[g]->calc;
  pg_curlx_store(x->C, 0, MAM_HASH, x->out, ng);
}

/* Verification of the items that passed the security check, in groups of
 * one security level. */
static void parse_verify(bx *x, pitem *it, size_t m, pg_mam_parsed *out, int *rc, firstfail *f) {
  pitem *by[W];
  for (int sec = 1; sec <= 3; sec++) {
    const size_t frags = MAM_FRAGS((size_t)sec);
    size_t ng = 0, cap = 0;
    for (size_t k = 0; k < m; k++) cap += it[k].sec == sec;
    if (cap == 0) continue;
    cap = cap < W ? cap : W;
    pg_trit *res = malloc(cap * frags * MAM_HASH);
    chains_ws cw = {0};
    bool ok = res && chains_ws_new(&cw, cap * frags) == PG_OK;
    for (size_t k = 0; k <= m; k++) {
      if (k < m && it[k].sec == sec) by[ng++] = &it[k];
      if (ng < W && (k < m || ng == 0)) continue;
      if (ok) parse_leaves(x, by, ng, res, &cw);
      for (size_t g = 0; g < ng; g++) {
        pg_diag di = {{0}};
        pitem *p = by[g];
        rc[p->idx] = ok ? mam_parse_finish(&p->h, sec, p->calc, &out[p->idx], &di)
                        : pg_fail(&di, PG_ERR_NOMEM, "out of memory");
        if (rc[p->idx]) note_fail(f, p->idx, &di, rc[p->idx]);
      }
      ng = 0;
    }
    free(res);
    chains_ws_free(&cw);
  }
}

/* The parse batch on one thread: rc[0..n) and f (indexes within items).
 * PG_ERR_NOMEM when it could not start (rc unset). */
static int parse_run(const pg_mam_parse_item *items, size_t n, pg_mam_parsed *out, int *rc,
                     firstfail *f) {
  pitem *it = calloc(n, sizeof *it);
  bx x;
  if (!it || bx_new(&x)) {
    free(it);
    return PG_ERR_NOMEM;
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const pg_mam_parse_item *pi = &items[i];
    pg_diag di = {{0}};
    rc[i] = mam_parse_begin(pi->payload, pi->payload_len, pi->root, pi->side_key,
                            pi->side_key_len, &it[m].h, &di);
    if (rc[i]) {
      note_fail(f, i, &di, rc[i]);
      continue;
    }
    it[m++].idx = i;
  }
  for (size_t a = 0; a < m; a += W) parse_sponges(&x, it + a, m - a < W ? m - a : W);
  size_t keep = 0;
  for (size_t k = 0; k < m; k++) {
    pg_diag di = {{0}};
    size_t i = it[k].idx;
    rc[i] = mam_parse_security(&it[k].h, it[k].hmac, &it[k].sec, &di);
    if (rc[i]) {
      note_fail(f, i, &di, rc[i]);
      mam_parse_release(&it[k].h);
      continue;
    }
    it[keep++] = it[k];
  }
  parse_verify(&x, it, keep, out, rc, f);
  for (size_t k = 0; k < keep; k++) mam_parse_release(&it[k].h);
  bx_free(&x);
  free(it);
  return PG_OK;
}

/* The second half of a split parse batch, on its own thread. */
typedef struct parse_half {
  const pg_mam_parse_item *items;
  size_t n;
  pg_mam_parsed *out;
  int *rc;
  firstfail f;
  int err;
} parse_half;

static void *parse_half_run(void *arg) {
  parse_half *h = arg;
  h->err = parse_run(h->items, h->n, h->out, h->rc, &h->f);
  return NULL;
}

/* More than one pass of W lanes: the items' two halves on two threads
 * (parsing is a pure function of each item: the results are one thread's). */
static int parse_split(const pg_mam_parse_item *items, size_t n, pg_mam_parsed *out, int *rc,
                       firstfail *f) {
  size_t a = n / 2;
  parse_half h = {items + a, n - a, out + a, rc + a, {SIZE_MAX, {{0}}}, PG_OK};
  pthread_t th;
  if (pthread_create(&th, NULL, parse_half_run, &h) != 0) return parse_run(items, n, out, rc, f);
  int err = parse_run(items, a, out, rc, f);
  pthread_join(th, NULL);
  if (h.err)
    for (size_t i = a; i < n; i++) rc[i] = h.err;
  if (h.err) note_fail(f, a, NULL, h.err);
  else if (h.f.i != SIZE_MAX) note_fail(f, a + h.f.i, &h.f.d, rc[a + h.f.i]);
  for (size_t i = 0; err && i < a; i++) rc[i] = err;
  if (err) note_fail(f, 0, NULL, err);
  return PG_OK;
}

int pg_mam_parse_batch(const pg_mam_parse_item *items, size_t n, pg_mam_parsed *out,
                       int *rc_out, pg_diag *d) {
  if (n == 0) return PG_OK;
  if (!items || !out) return pg_fail(d, PG_ERR_INVALID, "no items or outputs");
  firstfail f = {SIZE_MAX, {{0}}};
  int *rc = malloc(n * sizeof *rc);
  int err = rc ? PG_OK : PG_ERR_NOMEM;
  if (!err) err = n > W ? parse_split(items, n, out, rc, &f) : parse_run(items, n, out, rc, &f);
  if (err) {
    free(rc);
    return pg_fail(d, err, "out of memory for a batch of %zu payloads", n);
  }
  err = finish_batch(rc, n, rc_out, &f, d);
  free(rc);
  return err;
}
