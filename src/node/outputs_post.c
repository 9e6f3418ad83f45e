/* outputs_post.c — POST /api/plugins/data/outputs: up to 1,000 output
 * lookups in one body (p2pgrid/ledger/outputs.h), answered with each
 * output's fields and, when asked, the bytes of the message that made it,
 * as far as the answer's budget goes. A read: open to everyone, as the GETs
 * it stands for (http.c), and served by replicas too. docs/PROTOCOL.md has
 * the contract; a route of api.c. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/ledger/outputs.h"

/* The most answer bytes this node builds for one request, whatever the
 * client's budget: the answer is held in memory until sent. */
#define OUTPUTS_CAP (4u << 20)

static const uint8_t ZERO_ID[PG_ID_LEN];

/* Writes the item of id to out, unless it would take out past budget (and
 * it is not the first: that one always fits, PG_OUTPUTS_ITEM_MAX <
 * PG_OUTPUTS_BUDGET_MIN). false (out as before) when it does not fit or on
 * a lookup's failure (*rc). */
static bool write_item(pg_node *n, const uint8_t id[PG_OUTPUT_ID_LEN], bool raw, size_t budget,
                       pg_buf *msg, pg_buf *out, int *rc) {
  pg_output_info o;
  *rc = pg_ledger_output(n->ledger, id, &o);
  if (*rc == PG_ERR_NOT_FOUND) {
    *rc = PG_OK;
    if (out->len + 1 > budget) return false;
    pg_outputs_ans_missing(out);
    return true;
  }
  if (*rc) return false;
  msg->len = 0;
  if (raw && memcmp(o.message_id, ZERO_ID, PG_ID_LEN) != 0) {
    int r = pg_tangle_get_raw(n->tangle, o.message_id, msg);
    if (r == PG_ERR_NOT_FOUND) msg->len = 0; /* sent as "no message" */
    else if (r) return *rc = r, false;
  }
  if (out->len + pg_outputs_item_len(raw, msg->len) > budget) return false;
  pg_outputs_ans_found(out, raw, &o, msg->data, msg->len);
  return true;
}

/* The answer to r: as many ids' items as fit, in order. */
static void answer(pg_node *n, const pg_outputs_req *r, size_t budget, pg_http_resp *resp) {
  pg_buf out, msg;
  pg_buf_init(&out, OUTPUTS_CAP + PG_OUTPUTS_ITEM_MAX);
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  pg_outputs_ans_begin(&out, r->raw);
  size_t done = 0;
  int rc = PG_OK;
  while (done < r->count && write_item(n, r->ids[done], r->raw, budget, &msg, &out, &rc)) done++;
  if (!rc && done == 0) rc = PG_ERR_INVALID; /* cannot be: the first item always fits */
  if (!rc) rc = pg_outputs_ans_end(&out, 0, done);
  if (rc) {
    pg_http_error(resp, pg_node_status_for(rc) < 500 ? 500 : pg_node_status_for(rc),
                  "internal error: output %zu: %s", done + 1, pg_strerror(rc));
  } else {
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    pg_buf_take(&out, &resp->raw, &resp->raw_len);
  }
  pg_buf_free(&msg);
  pg_buf_free(&out);
}

void pg_node_outputs_post(pg_node *n, const pg_http_req *req, const char *const *args,
                          pg_http_resp *resp) {
  (void)args;
  char mt[64];
  const char *t = pg_node_media_type(req->hreq, mt, sizeof mt);
  if (!t || strcmp(t, "application/octet-stream") != 0) {
    pg_http_error(resp, 415, "an outputs request is sent as application/octet-stream "
                             "(docs/PROTOCOL.md)");
    return;
  }
  if (!pg_node_need_ledger(n, resp)) return;
  pg_outputs_req r;
  pg_diag d = {{0}};
  if (pg_outputs_req_parse(req->body, req->body_len, &r, &d) != PG_OK) {
    pg_http_error(resp, 400, "invalid outputs request: %s", d.msg);
    return;
  }
  answer(n, &r, r.budget < OUTPUTS_CAP ? r.budget : OUTPUTS_CAP, resp);
}
