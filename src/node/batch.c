/* batch.c — POST /api/plugins/data/batch: up to 256 data messages in one
 * body (p2pgrid/tangle/batch.h), stored in one transaction
 * (pg_tangle_attach_many), one result per item. docs/PROTOCOL.md has the
 * contract; a route of api.c. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/batch.h"
#include "p2pgrid/tangle/message.h"

/* Where this node takes no batches: 501, and the client posts each message
 * to POST /api/v1/messages instead. false (answer set) then. */
static bool batches_taken(pg_node *n, pg_http_resp *resp) {
  if (n->peers) {
    pg_http_error(resp, 501,
                  "this node is a replica and takes no batches: POST each message to "
                  "/api/v1/messages");
    return false;
  }
  if (n->min_pow_score > 0) {
    pg_http_error(resp, 501,
                  "this node needs proof of work (minimum PoW score %u) and takes no batches: "
                  "POST each message to /api/v1/messages",
                  (unsigned)n->min_pow_score);
    return false;
  }
  return true;
}

static json_t *item_result(int rc, const uint8_t *id, const pg_diag *d) {
  if (rc == PG_OK) return json_pack("{s:o}", "messageId", pg_node_hex_json(id, PG_ID_LEN));
  char code[8];
  snprintf(code, sizeof code, "%u", pg_node_status_for(rc));
  return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
                   d && d->msg[0] ? d->msg : pg_strerror(rc));
}

/* The answer: {"results": [...]} in item order, each counted. */
static void answer(pg_node *n, const pg_tangle_item *it, const pg_diag *diags, size_t count,
                   pg_http_resp *resp) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < count; i++) {
    pg_node_metrics_message(n, it[i].rc == PG_OK                     ? PG_NODE_MSG_STORED
                               : pg_node_status_for(it[i].rc) < 500 ? PG_NODE_MSG_INVALID
                                                                     : PG_NODE_MSG_FAILED);
    if (json_array_append_new(a, item_result(it[i].rc, it[i].id, &diags[i]))) {
      json_decref(a);
      a = NULL;
    }
  }
  json_t *data = a ? json_pack("{s:o}", "results", a) : NULL;
  if (!data) {
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  resp->status = 200;
  resp->data = data;
}

/* Builds each item's indexation payload and stores those that built in one
 * call. An item that failed to build stays out of the tangle's batch, and so
 * does one that follows it: `follows` there always means the item before it
 * in the body (local.c keeps the same rule). */
static void store(pg_node *n, const pg_batch_item *b, size_t count, pg_http_resp *resp) {
  pg_tangle_item *all = calloc(count, sizeof *all), *in = calloc(count, sizeof *in);
  pg_buf *pay = calloc(count, sizeof *pay);
  pg_diag *diags = calloc(count, sizeof *diags);
  size_t *at = calloc(count, sizeof *at), m = 0;
  if (!all || !in || !pay || !diags || !at) {
    pg_http_error(resp, 500, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < count; i++) {
    pg_buf_init(&pay[i], PG_MSG_MAX_LEN);
    all[i] = (pg_tangle_item){.follows = b[i].follows, .d = &diags[i]};
    if (b[i].follows && all[i - 1].rc != PG_OK) /* item 1 never follows (pg_batch_parse) */
      all[i].rc = pg_fail(&diags[i], PG_ERR_STATE, "not attached: the message before it was not");
    else
      all[i].rc = pg_indexation_build(&pay[i], b[i].index, b[i].index_len, b[i].data,
                                      b[i].data_len, &diags[i]);
    if (all[i].rc) continue;
    all[i].payload = pay[i].data;
    all[i].payload_len = pay[i].len;
    in[m] = all[i];
    at[m++] = i;
  }
  int rc = m ? pg_tangle_attach_many(n->tangle, in, m) : PG_OK;
  for (size_t k = 0; rc == PG_OK && k < m; k++) {
    all[at[k]].rc = in[k].rc;
    memcpy(all[at[k]].id, in[k].id, PG_ID_LEN);
  }
  if (rc)
    pg_http_error(resp, 500, "internal error: store the batch: %s", pg_strerror(rc));
  else
    answer(n, all, diags, count, resp);
out:
  for (size_t i = 0; pay && i < count; i++) pg_buf_free(&pay[i]);
  free(all), free(in), free(pay), free(diags), free(at);
}

void pg_node_batch_post(pg_node *n, const pg_http_req *req, const char *const *args,
                        pg_http_resp *resp) {
  (void)args;
  char mt[64];
  const char *t = pg_node_media_type(req->hreq, mt, sizeof mt);
  if (!t || strcmp(t, "application/octet-stream") != 0) {
    pg_http_error(resp, 415, "a batch is sent as application/octet-stream (docs/PROTOCOL.md)");
    pg_node_metrics_message(n, PG_NODE_MSG_INVALID);
    return;
  }
  if (!batches_taken(n, resp)) return;
  pg_batch_item *items = malloc(PG_BATCH_MAX_ITEMS * sizeof *items);
  size_t count = 0;
  pg_diag d = {{0}};
  if (!items) {
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  int rc = pg_batch_parse(req->body, req->body_len, items, &count, &d);
  if (rc) {
    pg_http_error(resp, 400, "invalid batch: %s", d.msg);
    pg_node_metrics_message(n, PG_NODE_MSG_INVALID);
  } else {
    store(n, items, count, resp);
  }
  free(items);
}
