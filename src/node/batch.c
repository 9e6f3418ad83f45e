/* batch.c — POST /api/plugins/data/batch: up to 256 data messages in one
 * body (p2pgrid/tangle/batch.h), stored in one transaction
 * (pg_tangle_attach_data_many), one result per item. docs/PROTOCOL.md has the
 * contract; a route of api.c. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
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
static void answer(pg_node *n, const int *rcs, const uint8_t (*ids)[PG_ID_LEN],
                   const pg_diag *diags, size_t count, pg_http_resp *resp) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < count; i++) {
    pg_node_metrics_message(n, rcs[i] == PG_OK                     ? PG_NODE_MSG_STORED
                               : pg_node_status_for(rcs[i]) < 500 ? PG_NODE_MSG_INVALID
                                                                   : PG_NODE_MSG_FAILED);
    if (json_array_append_new(a, item_result(rcs[i], ids[i], &diags[i]))) {
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

/* Stores the items in one transaction (pg_tangle_attach_data_many) and
 * answers each. */
static void store(pg_node *n, const pg_batch_item *b, size_t count, pg_http_resp *resp) {
  int *rcs = calloc(count, sizeof *rcs);
  uint8_t(*ids)[PG_ID_LEN] = calloc(count, sizeof *ids);
  pg_diag *diags = calloc(count, sizeof *diags);
  int rc = rcs && ids && diags ? pg_tangle_attach_data_many(n->tangle, b, count, rcs, ids, diags)
                               : PG_ERR_NOMEM;
  if (rc)
    pg_http_error(resp, 500, "internal error: store the batch: %s", pg_strerror(rc));
  else
    answer(n, rcs, (const uint8_t(*)[PG_ID_LEN])ids, diags, count, resp);
  free(rcs), free(ids), free(diags);
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
