/* MAM channel I/O over the node access interface: mamAttach, mamFetch
 * (CHRYSALIS.md 10.9, 10.10), and the complete reader (every leaf of every
 * tree, in order: pg_mam_read, pg_mam_fetch_from, pg_mam_fetch_all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mam_internal.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/tangle/message.h"

_Static_assert(PG_ID_LEN == 32, "message ids are 32 bytes");

void pg_mam_fetched_free(pg_mam_fetched *f) {
  if (!f) return;
  free(f->message);
  free(f->other_ids);
  f->message = NULL;
  f->message_len = 0;
  f->other_ids = NULL;
  f->n_other_ids = 0;
}

void pg_mam_fetched_free_all(pg_mam_fetched *list, size_t n) {
  if (!list) return;
  for (size_t i = 0; i < n; i++) pg_mam_fetched_free(&list[i]);
  free(list);
}

#define ATTACH_DATA_MAX (1u << 22)

/* The indexation index and data (data initialised here, the caller frees
 * it) that attach m with tag; the errors in pg_mam_attach's words. */
static int attach_parts(const pg_mam_message *m, const char *tag, size_t tag_len,
                        uint8_t index[PG_HASH_LEN], pg_buf *data, pg_diag *d) {
  pg_buf_init(data, ATTACH_DATA_MAX);
  if (!m || !m->payload) return pg_fail(d, PG_ERR_INVALID, "mam attach: no client or message");
  if (tag_len > PG_MAM_MAX_TAG)
    return pg_fail(d, PG_ERR_INVALID, "mam attach: the tag is longer than 27 trytes");
  pg_mam_attach_index(m->address, index);
  int rc = pg_mam_attach_data(m->payload, m->payload_len, tag, tag_len, data);
  return rc ? pg_fail(d, rc, "mam attach: payload or tag is not trytes") : PG_OK;
}

int pg_mam_attach(pg_client *c, const pg_mam_message *m, const char *tag, size_t tag_len,
                  uint8_t id[32], pg_diag *d) {
  if (!c || !id) return pg_fail(d, PG_ERR_INVALID, "mam attach: no client or message");
  uint8_t index[PG_HASH_LEN];
  pg_buf data;
  int rc = attach_parts(m, tag, tag_len, index, &data, d);
  if (!rc) rc = pg_client_submit_data(c, index, sizeof index, data.data, data.len, id, d);
  pg_buf_free(&data);
  return rc;
}

int pg_mam_attach_many(pg_client *c, pg_mam_attach_item *v, size_t n, pg_diag *d) {
  if (!c || (n && !v)) return pg_fail(d, PG_ERR_INVALID, "mam attach: no client or messages");
  pg_client_data *cd = calloc(n + 1, sizeof *cd);
  uint8_t(*index)[PG_HASH_LEN] = calloc(n + 1, sizeof *index);
  pg_buf *data = calloc(n + 1, sizeof *data);
  int rc = cd && index && data ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    /* an item that cannot be built goes to the node with no index: refused
     * there before any request (so a follower of it is too); its own rc
     * and d are what attach_parts said */
    pg_diag_clear(&v[i].d);
    v[i].rc = attach_parts(v[i].m, NULL, 0, index[i], &data[i], &v[i].d);
    bool ok = v[i].rc == PG_OK;
    cd[i] = (pg_client_data){.index = ok ? index[i] : NULL, .index_len = ok ? PG_HASH_LEN : 0,
                             .data = data[i].data, .data_len = data[i].len,
                             .follows = v[i].follows};
  }
  if (!rc) rc = pg_client_submit_data_many(c, cd, n, d);
  for (size_t i = 0; !rc && i < n; i++) {
    if (!cd[i].index) continue; /* not built: attach_parts's rc and d stay */
    v[i].rc = cd[i].rc;
    v[i].d = cd[i].d;
    if (v[i].rc == PG_OK) memcpy(v[i].id, cd[i].id, 32);
  }
  for (size_t i = 0; data && i < n; i++) pg_buf_free(&data[i]);
  free(cd), free(index), free(data);
  return rc;
}

/* Payload budget of one read: candidates' payloads are kept from the
 * listing pass up to this many trytes, the rest is fetched again when
 * examined (so a root flooded with large junk costs GETs, not memory). */
#define KEEP_TRYTES (8u << 20)

/* Unpacks a message's bytes as mam.js decodeMessages does (an indexation
 * payload's data): PG_ERR_NOT_FOUND when it is not a MAM attachment. */
static int payload_of(const uint8_t *raw, size_t len, char **payload, size_t *plen,
                      char tag[PG_MAM_MAX_TAG + 1]) {
  pg_message m;
  int rc = pg_message_parse(raw, len, &m, NULL);
  if (rc == PG_OK) {
    if (m.payload_type != PG_PAYLOAD_INDEXATION || m.u.indexation.data_len == 0)
      rc = PG_ERR_NOT_FOUND;
    else
      rc = pg_mam_attach_decode(m.u.indexation.data, m.u.indexation.data_len, payload, plen, tag,
                                NULL);
    pg_message_clear(&m);
  }
  return rc == PG_OK || rc == PG_ERR_NOMEM ? rc : PG_ERR_NOT_FOUND;
}

/* GET id and unpack it (payload_of): PG_ERR_NOT_FOUND also when it cannot
 * be read. The message's bytes, not its JSON: no hex to encode (the
 * in-process node) or decode. */
static int load_payload(pg_client *c, const uint8_t id[PG_ID_LEN], char **payload, size_t *plen,
                        char tag[PG_MAM_MAX_TAG + 1]) {
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  int rc = pg_client_get_raw(c, id, &raw, NULL);
  if (rc == PG_OK) rc = payload_of(raw.data, raw.len, payload, plen, tag);
  pg_buf_free(&raw);
  return rc == PG_OK || rc == PG_ERR_NOMEM ? rc : PG_ERR_NOT_FOUND;
}

/* A parse's result (rc, *p) as a verified message: on success *out is
 * filled and takes p's message. */
static int verified(int rc, pg_mam_parsed *p, const char *root, const char *tag,
                    pg_mam_fetched *out) {
  if (rc) return rc == PG_ERR_NOMEM ? rc : PG_ERR_NOT_FOUND;
  memcpy(out->root, root, PG_MAM_HASH_TRYTES);
  out->root[PG_MAM_HASH_TRYTES] = '\0';
  out->message = p->message;
  out->message_len = p->message_len;
  p->message = NULL;
  memcpy(out->next_root, p->next_root, sizeof out->next_root);
  snprintf(out->tag, sizeof out->tag, "%s", tag);
  out->leaf = p->index;
  out->count = p->siblings < 32 ? (uint32_t)1 << p->siblings : 0;
  return PG_OK;
}

/* Verifies payload against root; on success fills *out (message owned). */
static int verify(const char *payload, size_t plen, const char *root, const char *key,
                  size_t klen, const char *tag, pg_mam_fetched *out) {
  pg_mam_parsed p = {0};
  int rc = pg_mam_parse_message(payload, plen, root, key, klen, &p, NULL);
  return verified(rc, &p, root, tag, out);
}

/* The attach index of root in mode, and up to PG_MAM_FETCH_MAX_IDS ids
 * under it (*ids owned). known: root's address in mode if the caller has it
 * (pg_mam_read_many), else NULL. */
static int list_ids(pg_client *c, const char *root, pg_mam_mode mode, const char *known,
                    uint8_t (**ids)[PG_ID_LEN], size_t *count, size_t *total, pg_diag *d) {
  char address[PG_MAM_HASH_TRYTES + 1];
  if (known)
    memcpy(address, known, sizeof address);
  else if (!root || pg_mam_address(root, mode, address))
    return pg_fail(d, PG_ERR_INVALID, "mam read: the root must be 81 trytes");
  uint8_t index[PG_HASH_LEN];
  pg_mam_attach_index(address, index);
  *ids = malloc(PG_MAM_FETCH_MAX_IDS * sizeof **ids);
  if (!*ids) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = pg_client_find_index(c, index, sizeof index, *ids, PG_MAM_FETCH_MAX_IDS, count, total, d);
  if (rc) {
    free(*ids);
    *ids = NULL;
  }
  return rc;
}

int pg_mam_fetch(pg_client *c, const char *root, pg_mam_mode mode, const char *side_key,
                 size_t side_key_len, pg_mam_fetched *out, pg_diag *d) {
  if (!c || !out) return pg_fail(d, PG_ERR_INVALID, "mam fetch: no client or output");
  int rc = mam_check_mode_key(mode, side_key, side_key_len, d);
  if (rc) return rc;
  uint8_t(*ids)[PG_ID_LEN] = NULL;
  size_t count = 0, total = 0;
  rc = list_ids(c, root, mode, NULL, &ids, &count, &total, d);
  if (rc) return rc;
  rc = PG_ERR_NOT_FOUND;
  for (size_t i = 0; i < count && rc == PG_ERR_NOT_FOUND; i++) {
    char *payload = NULL, tag[PG_MAM_MAX_TAG + 1];
    size_t plen = 0;
    rc = load_payload(c, ids[i], &payload, &plen, tag); /* unreadable: skipped, as mam.js */
    if (rc) continue;
    pg_mam_fetched f = {0};
    rc = verify(payload, plen, root, side_key, side_key_len, tag, &f);
    free(payload);
    if (rc == PG_OK) {
      memcpy(f.message_id, ids[i], PG_ID_LEN);
      *out = f;
    }
  }
  if (rc == PG_ERR_NOT_FOUND)
    pg_fail(d, rc, "mam fetch: none of the %zu messages under the root's index verifies", count);
  else if (rc == PG_ERR_NOMEM)
    pg_fail(d, rc, "out of memory");
  free(ids);
  return rc;
}

/* ---- complete reading ---- */

int pg_mam_cursor_init(pg_mam_cursor *cur, const char *root) {
  if (!cur || !root) return PG_ERR_INVALID;
  size_t len = strnlen(root, PG_MAM_HASH_TRYTES + 1);
  if (len != PG_MAM_HASH_TRYTES || !pg_trytes_valid(root, len)) return PG_ERR_INVALID;
  memcpy(cur->root, root, PG_MAM_HASH_TRYTES + 1);
  cur->leaf = 0;
  return PG_OK;
}

/* One candidate under a root's index: its id, the leaf it claims, and its
 * payload while the budget lasts (NULL: fetch it again). */
typedef struct cand {
  uint8_t id[PG_ID_LEN];
  uint32_t leaf;
  char *payload;
  size_t plen;
  char tag[PG_MAM_MAX_TAG + 1];
  bool checked; /* parsed already (pg_mam_read_many): prc and parsed */
  int prc;
  pg_mam_parsed parsed;
} cand;

static int cand_cmp(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->leaf != y->leaf) return x->leaf < y->leaf ? -1 : 1;
  return memcmp(x->id, y->id, PG_ID_LEN);
}

static void cands_free(cand *cs, size_t n) {
  for (size_t i = 0; i < n; i++) free(cs[i].payload), pg_mam_parsed_free(&cs[i].parsed);
  free(cs);
}

/* The ids under root's index (its address known or NULL, as list_ids'):
 * listed now, or what pg_client_find_many found (pre, NULL: list now; its
 * ids stay pre's). */
static int listed_ids(pg_client *c, const char *root, pg_mam_mode mode, const char *known,
                      const pg_client_found *pre, uint8_t (**ids)[PG_ID_LEN], size_t *count,
                      size_t *total, pg_diag *d) {
  if (!pre) return list_ids(c, root, mode, known, ids, count, total, d);
  if (pre->rc) return pg_fail(d, pre->rc, "%s", pre->d.msg);
  *ids = pre->ids;
  *count = pre->count;
  *total = pre->total;
  return PG_OK;
}

/* Lists the candidates of leaves >= from under root's index (listed_ids'
 * known and pre), sorted by (leaf, id); a message's bytes come from pre
 * when it has them, else from a GET. */
static int list_candidates(pg_client *c, const char *root, pg_mam_mode mode, const char *known,
                           const pg_client_found *pre, uint32_t from, cand **out, size_t *nout,
                           pg_mam_read_info *info, pg_diag *d) {
  uint8_t(*ids)[PG_ID_LEN] = NULL;
  size_t count = 0, total = 0, n = 0, kept = 0;
  int rc = listed_ids(c, root, mode, known, pre, &ids, &count, &total, d);
  if (rc) return rc;
  info->listed = total;
  cand *cs = count ? calloc(count, sizeof *cs) : NULL;
  if (count && !cs) rc = PG_ERR_NOMEM;
  for (size_t i = 0; !rc && i < count; i++) {
    cand *k = &cs[n];
    uint64_t leaf = 0;
    if (pre && pre->raw && pre->raw[i])
      rc = payload_of(pre->raw[i], pre->raw_len[i], &k->payload, &k->plen, k->tag);
    else
      rc = load_payload(c, ids[i], &k->payload, &k->plen, k->tag);
    if (rc == PG_ERR_NOMEM) break;
    rc = PG_OK;
    if (!k->payload || mam_peek_index(k->payload, k->plen, &leaf) != PG_OK) {
      info->unreadable++;
    } else if (leaf < from) {
      info->earlier++;
    } else {
      memcpy(k->id, ids[i], PG_ID_LEN);
      k->leaf = (uint32_t)leaf;
      if (kept + k->plen <= KEEP_TRYTES) {
        kept += k->plen;
      } else {
        free(k->payload);
        k->payload = NULL;
      }
      n++;
      continue;
    }
    free(k->payload);
    k->payload = NULL;
  }
  if (!pre) free(ids);
  if (rc) {
    cands_free(cs, n);
    return pg_fail(d, rc, "out of memory");
  }
  if (n) qsort(cs, n, sizeof *cs, cand_cmp);
  *out = cs;
  *nout = n;
  return PG_OK;
}

/* Verifies candidate k for leaf `leaf` of a tree at root: PG_OK and *f, or
 * PG_ERR_NOT_FOUND (does not verify, or is no leaf `leaf` of a tree). */
static int verify_cand(pg_client *c, cand *k, const char *root, uint32_t leaf, const char *key,
                       size_t klen, pg_mam_fetched *f) {
  int rc;
  if (k->checked) { /* parsed with the others (pg_mam_read_many) */
    k->checked = false;
    rc = verified(k->prc, &k->parsed, root, k->tag, f);
    pg_mam_parsed_free(&k->parsed);
  } else {
    char *fetched = NULL;
    if (!k->payload) {
      char tag[PG_MAM_MAX_TAG + 1];
      size_t plen = 0;
      rc = load_payload(c, k->id, &fetched, &plen, tag);
      if (rc) return rc;
      if (plen != k->plen) {
        free(fetched);
        return PG_ERR_NOT_FOUND;
      }
    }
    rc = verify(k->payload ? k->payload : fetched, k->plen, root, key, klen, k->tag, f);
    free(fetched);
  }
  if (rc) return rc;
  if (f->leaf != leaf || f->count == 0 || f->leaf >= f->count) {
    pg_mam_fetched_free(f);
    return PG_ERR_NOT_FOUND;
  }
  memcpy(f->message_id, k->id, PG_ID_LEN);
  return PG_OK;
}

static bool same_message(const pg_mam_fetched *a, const pg_mam_fetched *b) {
  return a->message_len == b->message_len && memcmp(a->message, b->message, a->message_len) == 0 &&
         memcmp(a->next_root, b->next_root, PG_MAM_HASH_TRYTES) == 0 && a->count == b->count;
}

/* The message of leaf `leaf` from candidates cs[0..n) (all claiming it, in
 * id order): the first that verifies, its duplicates' ids collected, other
 * verifying messages counted as conflicts. PG_ERR_NOT_FOUND when none. */
static int pick_leaf(pg_client *c, cand *cs, size_t n, const char *root, uint32_t leaf,
                     const char *key, size_t klen, pg_mam_fetched *out, pg_mam_read_info *info) {
  bool have = false;
  for (size_t i = 0; i < n; i++) {
    pg_mam_fetched f = {0};
    int rc = verify_cand(c, &cs[i], root, leaf, key, klen, &f);
    if (rc == PG_ERR_NOMEM) {
      if (have) pg_mam_fetched_free(out);
      return rc;
    }
    if (rc) {
      info->unverified++;
      continue;
    }
    if (!have) {
      *out = f;
      have = true;
      continue;
    }
    if (!same_message(out, &f)) {
      info->conflicts++;
    } else {
      uint8_t(*ni)[PG_ID_LEN] = realloc(out->other_ids, (out->n_other_ids + 1) * sizeof *ni);
      if (!ni) {
        pg_mam_fetched_free(&f);
        pg_mam_fetched_free(out);
        return PG_ERR_NOMEM;
      }
      memcpy(ni[out->n_other_ids++], f.message_id, PG_ID_LEN);
      out->other_ids = ni;
      info->duplicates++;
    }
    pg_mam_fetched_free(&f);
  }
  return have ? PG_OK : PG_ERR_NOT_FOUND;
}

static int push(pg_mam_fetched **list, size_t *len, size_t *cap, pg_mam_fetched *f) {
  if (*len == *cap) {
    size_t nc = *cap ? 2 * *cap : 8;
    pg_mam_fetched *nl = realloc(*list, nc * sizeof *nl);
    if (!nl) return PG_ERR_NOMEM;
    *list = nl;
    *cap = nc;
  }
  (*list)[(*len)++] = *f;
  return PG_OK;
}

/* Walks the sorted candidates leaf by leaf from at->leaf (see pg_mam_read). */
static int walk(pg_client *c, cand *cs, size_t nc, const pg_mam_cursor *at, const char *key,
                size_t klen, size_t max, pg_mam_fetched **out, size_t *n, pg_mam_cursor *next,
                pg_mam_read_info *info) {
  size_t i = 0, cap = 0;
  pg_mam_cursor cur = *at;
  info->stop = PG_MAM_STOP_MISSING;
  while (i < nc) {
    if (max && *n == max) {
      info->stop = PG_MAM_STOP_LIMIT;
      break;
    }
    if (cs[i].leaf != cur.leaf) break; /* a gap: later leaves wait */
    size_t j = i;
    while (j < nc && cs[j].leaf == cur.leaf) j++;
    pg_mam_fetched f = {0};
    int rc = pick_leaf(c, cs + i, j - i, at->root, cur.leaf, key, klen, &f, info);
    i = j;
    if (rc == PG_ERR_NOT_FOUND) break; /* none of the leaf's candidates verifies */
    if (!rc && (rc = push(out, n, &cap, &f)) != PG_OK) pg_mam_fetched_free(&f);
    if (rc) return rc;
    info->count = f.count;
    if (f.leaf == f.count - 1) { /* the tree's last leaf: on to the next tree */
      memcpy(cur.root, f.next_root, sizeof cur.root);
      cur.leaf = 0;
      info->stop = PG_MAM_STOP_TREE_END;
      break;
    }
    cur.leaf++;
  }
  if (info->stop == PG_MAM_STOP_MISSING && max && *n == max) info->stop = PG_MAM_STOP_LIMIT;
  info->later = nc - i; /* not examined: after a gap, the tree's end or max */
  *next = cur;
  return PG_OK;
}

/* pg_mam_read's two halves: the candidates at the cursor's root (listed,
 * loaded, sorted; its address known or NULL, as list_ids'), then the walk
 * over them. */
static int read_list(pg_client *c, const pg_mam_cursor *at, pg_mam_mode mode, const char *side_key,
                     size_t side_key_len, const char *known, const pg_client_found *pre,
                     cand **cs, size_t *nc, pg_mam_read_info *info, pg_diag *d) {
  *cs = NULL;
  *nc = 0;
  if (!c || !at) return pg_fail(d, PG_ERR_INVALID, "mam read: no client, cursor or output");
  int rc = mam_check_mode_key(mode, side_key, side_key_len, d);
  if (rc) return rc;
  memset(info, 0, sizeof *info);
  return list_candidates(c, at->root, mode, known, pre, at->leaf, cs, nc, info, d);
}

static int read_walk(pg_client *c, cand *cs, size_t nc, const pg_mam_cursor *at,
                     const char *side_key, size_t side_key_len, size_t max, pg_mam_fetched **out,
                     size_t *n, pg_mam_cursor *next, pg_mam_read_info *info, pg_diag *d) {
  pg_mam_fetched *list = NULL;
  size_t len = 0;
  pg_mam_cursor at_copy = *at; /* next may be at */
  int rc = walk(c, cs, nc, &at_copy, side_key, side_key_len, max, &list, &len, next, info);
  if (rc) {
    pg_mam_fetched_free_all(list, len);
    return pg_fail(d, rc, "out of memory");
  }
  *out = list;
  *n = len;
  return PG_OK;
}

int pg_mam_read(pg_client *c, const pg_mam_cursor *at, pg_mam_mode mode, const char *side_key,
                size_t side_key_len, size_t max, pg_mam_fetched **out, size_t *n,
                pg_mam_cursor *next, pg_mam_read_info *info, pg_diag *d) {
  if (!out || !n || !next) return pg_fail(d, PG_ERR_INVALID, "mam read: no client, cursor or output");
  pg_mam_read_info local;
  if (!info) info = &local;
  cand *cs = NULL;
  size_t nc = 0;
  int rc = read_list(c, at, mode, side_key, side_key_len, NULL, NULL, &cs, &nc, info, d);
  if (!rc) rc = read_walk(c, cs, nc, at, side_key, side_key_len, max, out, n, next, info, d);
  cands_free(cs, nc);
  return rc;
}

/* Fewer first-leaf candidates than this over all the channels are checked
 * one at a time by the walk (a 512-lane parse batch of a few messages is
 * slower than those few alone: docs/PERFORMANCE.md, "MAM channels"). */
#define PARSE_BATCH_MIN 8

/* The candidates of each channel's first leaf (the cursor's, payload kept)
 * parsed together; the walk takes their results instead of parsing. A
 * parse the batch could not do (its memory) is left to the walk. */
static void check_first_leaves(pg_mam_read_req *r, cand **cs, const size_t *nc, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; !r[i].rc && j < nc[i] && cs[i][j].leaf == r[i].at.leaf; j++)
      k += cs[i][j].payload != NULL;
  if (k < PARSE_BATCH_MIN) return;
  pg_mam_parse_item *items = malloc(k * sizeof *items);
  pg_mam_parsed *out = calloc(k, sizeof *out);
  int *prc = malloc(k * sizeof *prc);
  cand **who = malloc(k * sizeof *who);
  if (items && out && prc && who) {
    k = 0;
    for (size_t i = 0; i < n; i++) {
      for (size_t j = 0; !r[i].rc && j < nc[i] && cs[i][j].leaf == r[i].at.leaf; j++) {
        if (!cs[i][j].payload) continue;
        items[k] = (pg_mam_parse_item){cs[i][j].payload, cs[i][j].plen, r[i].at.root,
                                       r[i].side_key, r[i].side_key_len};
        prc[k] = PG_ERR_NOMEM; /* not done */
        who[k++] = &cs[i][j];
      }
    }
    if (pg_mam_parse_batch(items, k, out, prc, NULL) != PG_OK) {
      /* the failing items are in prc */
    }
    for (size_t i = 0; i < k; i++) {
      if (prc[i] == PG_ERR_NOMEM) continue;
      who[i]->checked = true;
      who[i]->prc = prc[i];
      who[i]->parsed = out[i]; /* written only on success */
    }
  }
  free(items), free(out), free(prc), free(who);
}

/* Every channel's index looked up together (pg_client_find_many: over
 * HTTP a few requests, with the messages' bytes), from the addresses in ad;
 * NULL when that could not be done (each channel then looks its own up). */
static pg_client_found *find_all(pg_client *c, const pg_mam_address_item *ad, size_t n) {
  pg_client_found *f = calloc(n ? n : 1, sizeof *f);
  uint8_t(*index)[PG_HASH_LEN] = malloc((n ? n : 1) * sizeof *index);
  bool ok = f && index;
  for (size_t i = 0; ok && i < n; i++) {
    if (!ad[i].rc) pg_mam_attach_index(ad[i].address, index[i]);
    f[i] = (pg_client_found){.index = ad[i].rc ? NULL : index[i], .index_len = PG_HASH_LEN,
                             .max = PG_MAM_FETCH_MAX_IDS};
  }
  if (ok && pg_client_find_many(c, f, n, NULL) != PG_OK) ok = false;
  free(index); /* the lookups are done: nothing points at it now */
  if (ok) return f;
  free(f);
  return NULL;
}

int pg_mam_read_many(pg_client *c, pg_mam_read_req *reqs, size_t n, pg_diag *d) {
  if (n && !reqs) return pg_fail(d, PG_ERR_INVALID, "mam read many: no requests");
  cand **cs = calloc(n ? n : 1, sizeof *cs);
  size_t *nc = calloc(n ? n : 1, sizeof *nc);
  pg_mam_address_item *ad = calloc(n ? n : 1, sizeof *ad);
  if (!cs || !nc || !ad) {
    free(cs), free(nc), free(ad);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++)
    ad[i] = (pg_mam_address_item){.root = reqs[i].at.root, .mode = reqs[i].mode};
  pg_mam_address_many(ad, n); /* the channels' addresses together */
  pg_client_found *found = c ? find_all(c, ad, n) : NULL;
  for (size_t i = 0; i < n; i++) {
    pg_mam_read_req *r = &reqs[i];
    r->out = NULL, r->n = 0, r->next = r->at;
    memset(&r->diag, 0, sizeof r->diag);
    r->rc = read_list(c, &r->at, r->mode, r->side_key, r->side_key_len,
                      ad[i].rc ? NULL : ad[i].address, found && !ad[i].rc ? &found[i] : NULL,
                      &cs[i], &nc[i], &r->info, &r->diag);
    if (found) pg_client_found_clear(&found[i]); /* the payloads are the candidates' now */
  }
  free(ad), free(found);
  check_first_leaves(reqs, cs, nc, n);
  size_t failed = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    pg_mam_read_req *r = &reqs[i];
    if (!r->rc)
      r->rc = read_walk(c, cs[i], nc[i], &r->at, r->side_key, r->side_key_len, r->max, &r->out,
                        &r->n, &r->next, &r->info, &r->diag);
    cands_free(cs[i], nc[i]);
    if (r->rc && failed == SIZE_MAX) failed = i;
  }
  free(cs), free(nc);
  if (failed == SIZE_MAX) return PG_OK;
  return pg_fail(d, reqs[failed].rc, "channel %zu: %s", failed, reqs[failed].diag.msg);
}

/* A channel read tree after tree (pg_mam_fetch_from, pg_mam_fetch_all_many):
 * where it is, and Brent's cycle check over its roots. */
typedef struct fetch_state {
  pg_mam_cursor cur;
  char saved[PG_MAM_HASH_TRYTES + 1];
  size_t steps, power, cap;
  bool done;
} fetch_state;

static void fetch_begin(fetch_state *s, const pg_mam_cursor *at) {
  memset(s, 0, sizeof *s);
  s->cur = *at;
  memcpy(s->saved, at->root, sizeof s->saved);
  s->power = 1;
}

/* One read's messages part[0..np) (taken: part is freed), which ended at
 * next for reason stop, appended to *out / *n; s moves to next, and is done
 * when reading ends there: not at a tree's end, `limit` (0: none) reached,
 * or back at a root already read (a cycle only the channel's owner can
 * sign). PG_ERR_NOMEM (done, the messages not appended freed) or PG_OK. */
static int fetch_step(fetch_state *s, pg_mam_fetched *part, size_t np, const pg_mam_cursor *next,
                      pg_mam_stop stop, size_t limit, pg_mam_fetched **out, size_t *n) {
  s->cur = *next;
  size_t i = 0;
  while (i < np && push(out, n, &s->cap, &part[i]) == PG_OK) i++;
  for (size_t k = i; k < np; k++) pg_mam_fetched_free(&part[k]);
  free(part);
  if (i < np) {
    s->done = true;
    return PG_ERR_NOMEM;
  }
  if (stop != PG_MAM_STOP_TREE_END || (limit && *n >= limit) ||
      memcmp(s->saved, s->cur.root, PG_MAM_HASH_TRYTES) == 0) {
    s->done = true;
    return PG_OK;
  }
  if (++s->steps == s->power) {
    memcpy(s->saved, s->cur.root, sizeof s->saved);
    s->power *= 2;
    s->steps = 0;
  }
  return PG_OK;
}

int pg_mam_fetch_from(pg_client *c, pg_mam_cursor *cur, pg_mam_mode mode, const char *side_key,
                      size_t side_key_len, size_t limit, pg_mam_fetched **out, size_t *n,
                      pg_diag *d) {
  if (!cur || !out || !n) return pg_fail(d, PG_ERR_INVALID, "mam fetch: no cursor or output");
  *out = NULL;
  *n = 0;
  fetch_state s;
  fetch_begin(&s, cur);
  int rc = PG_OK;
  while (!s.done) {
    pg_mam_fetched *part = NULL;
    size_t np = 0;
    pg_mam_cursor next;
    pg_mam_read_info info;
    rc = pg_mam_read(c, &s.cur, mode, side_key, side_key_len, limit ? limit - *n : 0, &part, &np,
                     &next, &info, d);
    if (rc) break;
    if ((rc = fetch_step(&s, part, np, &next, info.stop, limit, out, n))) {
      pg_fail(d, rc, "out of memory");
      break;
    }
  }
  *cur = s.cur;
  return rc;
}

int pg_mam_fetch_all(pg_client *c, const char *root, pg_mam_mode mode, const char *side_key,
                     size_t side_key_len, size_t limit, pg_mam_fetched **out, size_t *n,
                     pg_diag *d) {
  if (!out || !n || !root) return pg_fail(d, PG_ERR_INVALID, "mam fetch all: no root or output");
  pg_mam_cursor cur;
  if (pg_mam_cursor_init(&cur, root) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "mam fetch all: the root must be 81 trytes");
  pg_mam_fetched *list = NULL;
  size_t len = 0;
  int rc = pg_mam_fetch_from(c, &cur, mode, side_key, side_key_len, limit, &list, &len, d);
  if (rc) {
    pg_mam_fetched_free_all(list, len);
    return rc;
  }
  pg_diag_clear(d);
  *out = list;
  *n = len;
  return PG_OK;
}

/* ---- many channels, breadth first ---- */

/* Takes round result rr into request r (state s): its messages appended,
 * and whether the channel goes on (fetch_step). */
static void fetch_take(pg_mam_fetch_req *r, fetch_state *s, pg_mam_read_req *rr) {
  if (rr->rc) {
    r->rc = rr->rc;
    r->diag = rr->diag;
    s->done = true;
    return;
  }
  int rc = fetch_step(s, rr->out, rr->n, &rr->next, rr->info.stop, r->limit, &r->out, &r->n);
  rr->out = NULL; /* taken */
  if (rc) r->rc = pg_fail(&r->diag, rc, "out of memory");
}

/* One round: the next tree of every channel not done. */
static void fetch_round(pg_client *c, pg_mam_fetch_req *reqs, fetch_state *st, size_t n,
                        pg_mam_read_req *rr, size_t *at, bool *more) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (st[i].done) continue;
    pg_mam_fetch_req *r = &reqs[i];
    rr[m] = (pg_mam_read_req){.at = st[i].cur, .mode = r->mode, .side_key = r->side_key,
                              .side_key_len = r->side_key_len,
                              .max = r->limit ? r->limit - r->n : 0};
    rr[m].rc = pg_fail(&rr[m].diag, PG_ERR_NOMEM, "out of memory"); /* unless it is read */
    at[m++] = i;
  }
  *more = m > 0;
  if (pg_mam_read_many(c, rr, m, NULL) != PG_OK) {
    /* each channel's failure is in its rc */
  }
  for (size_t k = 0; k < m; k++) fetch_take(&reqs[at[k]], &st[at[k]], &rr[k]);
}

int pg_mam_fetch_all_many(pg_client *c, pg_mam_fetch_req *reqs, size_t n, pg_diag *d) {
  if (n && !reqs) return pg_fail(d, PG_ERR_INVALID, "mam fetch all many: no requests");
  fetch_state *st = calloc(n ? n : 1, sizeof *st);
  pg_mam_read_req *rr = calloc(n ? n : 1, sizeof *rr);
  size_t *at = calloc(n ? n : 1, sizeof *at);
  int rc = st && rr && at ? PG_OK : PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    pg_mam_fetch_req *r = &reqs[i];
    pg_mam_cursor start;
    r->out = NULL, r->n = 0, r->rc = PG_OK;
    memset(&r->diag, 0, sizeof r->diag);
    if (rc) {
      r->rc = pg_fail(&r->diag, rc, "out of memory");
    } else if (!r->root || pg_mam_cursor_init(&start, r->root) != PG_OK) {
      r->rc = pg_fail(&r->diag, PG_ERR_INVALID, "mam fetch all: the root must be 81 trytes");
      st[i].done = true;
    } else {
      fetch_begin(&st[i], &start);
    }
  }
  for (bool more = rc == PG_OK; more;) fetch_round(c, reqs, st, n, rr, at, &more);
  size_t failed = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    pg_mam_fetch_req *r = &reqs[i];
    if (r->rc) {
      pg_mam_fetched_free_all(r->out, r->n);
      r->out = NULL, r->n = 0;
      if (failed == SIZE_MAX) failed = i;
    }
  }
  free(st), free(rr), free(at);
  if (failed == SIZE_MAX) return PG_OK;
  return pg_fail(d, reqs[failed].rc, "channel %zu: %s", failed, reqs[failed].diag.msg);
}
