/* explorer.c — the node's read-only extras for the Tangle explorer
 * (web/explorer, served at /explorer by http.c):
 *
 *   GET /api/plugins/mam/fetch?root=&mode=&sideKey=&limit=
 *     reads a MAM v0 channel from root through an in-process client on this
 *     node's Tangle (pg_mam_fetch: the Curl-P signature of every message is
 *     checked against its root, so only verified messages are returned) and
 *     follows nextRoot: {"data":{"root","mode","address","messages":[{index,
 *     messageId,root,nextRoot,tag,trytes,text,verified}],"complete","note"}}.
 *     An empty chain says why in "note" (nothing at the root's address, or
 *     messages there that do not verify: wrong mode or side key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"

#define MAM_FETCH_DEFAULT 20
#define MAM_FETCH_MAX 200

static bool all_trytes(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(s[i] == '9' || (s[i] >= 'A' && s[i] <= 'Z'))) return false;
  return true;
}

static const char *arg(const pg_http_req *req, const char *key) {
  return pg_httpd_query_value(req->hreq, key);
}

static json_t *fetched_json(const pg_mam_fetched *f, size_t i) {
  char idhex[65];
  pg_hex_encode(f->message_id, 32, idhex);
  char *text = NULL;
  size_t text_len = 0;
  json_t *jt = json_null();
  if (pg_mam_trytes_to_text(f->message, f->message_len, &text, &text_len) == PG_OK) {
    json_t *s = json_stringn(text, text_len);
    if (s) {
      json_decref(jt);
      jt = s;
    }
  }
  free(text);
  return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s%,s:o,s:b}", "index", (json_int_t)i, "messageId",
                   idhex, "root", f->root, "nextRoot", f->next_root, "tag", f->tag, "trytes",
                   f->message, f->message_len, "text", jt, "verified", 1);
}

void pg_node_mam_fetch(pg_node *n, const pg_http_req *req, const char *const *args,
                       pg_http_resp *resp) {
  (void)args;
  const char *root = arg(req, "root"), *mode_s = arg(req, "mode"), *key = arg(req, "sideKey"),
             *limit_s = arg(req, "limit");
  if (!root || strlen(root) != PG_MAM_HASH_TRYTES || !all_trytes(root, PG_MAM_HASH_TRYTES)) {
    pg_http_error(resp, 400, "root must be 81 trytes (A-Z and 9)");
    return;
  }
  pg_mam_mode mode = PG_MAM_PUBLIC;
  if (mode_s && *mode_s && pg_mam_mode_parse(mode_s, strlen(mode_s), &mode) != PG_OK) {
    pg_http_error(resp, 400, "mode must be public, private or restricted");
    return;
  }
  size_t key_len = key ? strlen(key) : 0;
  if (mode == PG_MAM_RESTRICTED) {
    if (key_len == 0 || key_len > PG_MAM_HASH_TRYTES || !all_trytes(key, key_len)) {
      pg_http_error(resp, 400, "restricted mode needs sideKey: 1 to 81 trytes (A-Z and 9)");
      return;
    }
  } else if (key_len) {
    pg_http_error(resp, 400, "sideKey is only used in restricted mode (mode=%s)",
                  pg_mam_mode_name(mode));
    return;
  } else {
    key = NULL;
  }
  unsigned long limit = MAM_FETCH_DEFAULT;
  if (limit_s && *limit_s) {
    char *end = NULL;
    limit = strtoul(limit_s, &end, 10);
    if (*end || limit_s[0] == '-' || limit == 0 || limit > MAM_FETCH_MAX) {
      pg_http_error(resp, 400, "limit must be 1..%d", MAM_FETCH_MAX);
      return;
    }
  }
  pg_client *c = NULL;
  pg_diag d;
  pg_diag_clear(&d);
  if (pg_client_local_new(n->tangle, n->ledger, &c, &d) != PG_OK) {
    pg_http_error(resp, 500, "internal error: %s", d.msg);
    return;
  }
  char address[PG_MAM_HASH_TRYTES + 1] = "";
  if (pg_mam_address(root, mode, address) != PG_OK) address[0] = '\0';
  json_t *list = json_array();
  char cur[PG_MAM_HASH_TRYTES + 1];
  memcpy(cur, root, sizeof cur);
  bool complete = false;
  const char *note = NULL;
  char why[320] = "";
  for (size_t i = 0; i < limit; i++) {
    pg_mam_fetched f;
    memset(&f, 0, sizeof f);
    pg_diag_clear(&d);
    int rc = pg_mam_fetch(c, cur, mode, key, key_len, &f, &d);
    if (rc == PG_ERR_NOT_FOUND) {
      complete = true;
      break;
    }
    if (rc) {
      snprintf(why, sizeof why, "stopped: %.250s", d.msg);
      break;
    }
    json_array_append_new(list, fetched_json(&f, i));
    memcpy(cur, f.next_root, sizeof cur);
    pg_mam_fetched_free(&f);
  }
  if (json_array_size(list) == 0 && !why[0]) {
    /* nothing verified: say whether there is anything at the address at all */
    uint8_t index[PG_HASH_LEN];
    uint8_t ids[1][PG_ID_LEN];
    size_t count = 0, total = 0;
    pg_mam_attach_index(address, index);
    pg_diag_clear(&d);
    if (address[0] &&
        pg_client_find_index(c, index, sizeof index, ids, 1, &count, &total, &d) == PG_OK &&
        total > 0)
      snprintf(why, sizeof why,
               "%zu message(s) at this root's address, but none verifies with mode %s and this "
               "side key: wrong side key or mode?",
               total, pg_mam_mode_name(mode));
    else
      snprintf(why, sizeof why,
               "no message at this root's address (mode %s): nothing published there yet, or "
               "a wrong root or mode",
               pg_mam_mode_name(mode));
  }
  if (why[0]) note = why;
  pg_client_free(c);
  json_t *data = json_pack("{s:s,s:s,s:s,s:o,s:b,s:s?,s:s}", "root", root, "mode",
                           pg_mam_mode_name(mode), "address", address, "messages", list,
                           "complete", complete, "note", note, "nextRoot", cur);
  if (!data) {
    pg_http_error(resp, 500, "internal error: out of memory");
    return;
  }
  resp->status = 200;
  resp->data = data;
}
