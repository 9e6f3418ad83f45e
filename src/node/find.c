/* find.c — POST /api/plugins/data/find: up to 256 index lookups in one body
 * (p2pgrid/tangle/find.h), answered with each lookup's ids and the bytes of
 * the messages they name (and, when asked, each one's metadata), as far as
 * the answer's budget goes. A read: open
 * to everyone, as the GETs it stands for (http.c), and served by replicas
 * too. docs/PROTOCOL.md has the contract; a route of api.c. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"

/* The most answer bytes this node builds for one request, whatever the
 * client's budget: the answer is held in memory until sent. */
#define FIND_CAP (4u << 20)

typedef struct find_job {
  pg_node *n;
  size_t budget;             /* answer bytes */
  uint8_t (*ids)[PG_ID_LEN]; /* PG_FIND_MAX_IDS of them */
  pg_buf raw;                /* one message's bytes */
} find_job;

/* The metadata of id for an answer with meta. */
static int meta_of(pg_node *n, const uint8_t id[PG_ID_LEN], pg_find_meta *out) {
  pg_msg_meta m;
  int rc = pg_tangle_get_confirmation(n->tangle, id, &m);
  if (rc) return rc;
  *out = (pg_find_meta){.referenced_by = m.referenced_by,
                        .inclusion = m.referenced_by ? (uint8_t)m.inclusion : 0,
                        .conflict_reason = m.referenced_by ? m.conflict_reason : 0};
  return PG_OK;
}

/* Writes key k's item to out (with each message's metadata when meta).
 * The first item is always written, leaving out the bytes of messages that
 * do not fit the budget; a later one only whole: false (out as before)
 * when it does not fit. *rc: a lookup's failure. */
static bool write_item(find_job *j, const pg_find_key *k, unsigned max, bool meta, bool first,
                       pg_buf *out, int *rc) {
  size_t count = 0, total = 0, before = out->len, head = pg_find_msg_len(meta, 0);
  *rc = pg_tangle_find_index(j->n->tangle, k->index, k->index_len, max, j->ids, &count, &total);
  if (*rc) return false;
  if (out->len + PG_FIND_ITEM_HEAD_LEN + count * head > j->budget && !first) return false;
  pg_find_ans_item(out, total > UINT32_MAX ? UINT32_MAX : (uint32_t)total, (unsigned)count);
  size_t left_after = count * head; /* the heads still to write */
  for (size_t i = 0; i < count; i++) {
    left_after -= head;
    pg_find_meta fm = {0};
    int r = pg_tangle_get_raw(j->n->tangle, j->ids[i], &j->raw);
    if (r == PG_OK && meta) r = meta_of(j->n, j->ids[i], &fm);
    bool fits = r == PG_OK && out->len + head + j->raw.len + left_after <= j->budget;
    if (r != PG_OK && r != PG_ERR_NOT_FOUND) {
      *rc = r;
      out->len = before;
      return false;
    }
    if (!fits && !first) {
      out->len = before;
      return false;
    }
    pg_find_ans_msg(out, j->ids[i], meta ? &fm : NULL, fits ? j->raw.data : NULL,
                    fits ? j->raw.len : 0);
  }
  return true;
}

/* The answer to r: as many keys' items as fit, in order. */
static void answer(find_job *j, const pg_find_req *r, pg_http_resp *resp) {
  pg_buf out;
  pg_buf_init(&out, FIND_CAP + PG_MSG_MAX_LEN);
  pg_find_ans_begin(&out, r->meta);
  size_t done = 0;
  int rc = PG_OK;
  while (done < r->count && write_item(j, &r->keys[done], r->max, r->meta, done == 0, &out, &rc))
    done++;
  if (!rc) rc = pg_find_ans_end(&out, 0, done);
  if (rc) {
    pg_http_error(resp, pg_node_status_for(rc) < 500 ? 500 : pg_node_status_for(rc),
                  "internal error: find key %zu: %s", done + 1, pg_strerror(rc));
  } else {
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    pg_buf_take(&out, &resp->raw, &resp->raw_len);
  }
  pg_buf_free(&out);
}

void pg_node_find_post(pg_node *n, const pg_http_req *req, const char *const *args,
                       pg_http_resp *resp) {
  (void)args;
  char mt[64];
  const char *t = pg_node_media_type(req->hreq, mt, sizeof mt);
  if (!t || strcmp(t, "application/octet-stream") != 0) {
    pg_http_error(resp, 415, "a find request is sent as application/octet-stream "
                             "(docs/PROTOCOL.md)");
    return;
  }
  pg_find_req *r = malloc(sizeof *r);
  find_job j = {.n = n, .ids = malloc(PG_FIND_MAX_IDS * sizeof *j.ids)};
  pg_buf_init(&j.raw, PG_MSG_MAX_LEN);
  pg_diag d = {{0}};
  if (!r || !j.ids) {
    pg_http_error(resp, 500, "out of memory");
  } else if (pg_find_req_parse(req->body, req->body_len, r, &d) != PG_OK) {
    pg_http_error(resp, 400, "invalid find request: %s", d.msg);
  } else {
    j.budget = r->budget < FIND_CAP ? r->budget : FIND_CAP;
    answer(&j, r, resp);
  }
  pg_buf_free(&j.raw);
  free(j.ids);
  free(r);
}
