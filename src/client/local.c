/* local.c — the node access interface over an in-process Tangle and ledger.
 *
 * Every call goes through the same entry points the REST API uses
 * (pg_tangle_attach / submit / get_*, pg_ledger_*), so an entity driven through
 * this client sees exactly what it would see over HTTP, minus the transport. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/message_json.h"

typedef struct local_client {
  pg_client base;
  pg_tangle *tangle;
  pg_ledger *ledger;
} local_client;

static local_client *L(pg_client *c) { return (local_client *)c; }

/* Healthy: at least one milestone confirmed, and the latest one known. */
static bool synced(const pg_tangle_status *s) {
  return s->confirmed_milestone_index > 0 &&
         s->confirmed_milestone_index == s->latest_milestone_index;
}

static int l_health(pg_client *c, bool *healthy, pg_diag *d) {
  (void)d;
  pg_tangle_status s;
  pg_tangle_get_status(L(c)->tangle, &s);
  *healthy = synced(&s);
  return PG_OK;
}

static int l_info(pg_client *c, pg_node_info *out, pg_diag *d) {
  pg_tangle_status s;
  pg_tangle_get_status(L(c)->tangle, &s);
  memset(out, 0, sizeof *out);
  size_t nl = strlen(s.network_name), hl = strlen(s.bech32_hrp);
  if (nl > PG_CLIENT_NETWORK_MAX || hl > PG_CLIENT_HRP_MAX)
    return pg_fail(d, PG_ERR_INVALID, "network name or HRP too long");
  memcpy(out->name, "p2pgrid", 8);
  memcpy(out->version, "in-process", 11);
  memcpy(out->network, s.network_name, nl + 1);
  memcpy(out->bech32_hrp, s.bech32_hrp, hl + 1);
  out->network_id = s.network_id;
  out->min_pow_score = s.min_pow_score;
  out->latest_milestone_index = s.latest_milestone_index;
  out->latest_milestone_timestamp = s.latest_milestone_timestamp;
  out->confirmed_milestone_index = s.confirmed_milestone_index;
  out->pruning_index = s.pruning_index;
  out->is_healthy = synced(&s);
  return PG_OK;
}

static int l_tips(pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, pg_diag *d) {
  if (max == 0) {
    *count = 0;
    return PG_OK;
  }
  int rc = pg_tangle_select_tips(L(c)->tangle, ids, max > PG_MSG_MAX_PARENTS ? PG_MSG_MAX_PARENTS : max,
                                 count);
  return rc ? pg_fail(d, rc, "tip selection: %s", pg_strerror(rc)) : PG_OK;
}

static int l_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d) {
  pg_message_draft draft;
  int rc = pg_message_draft_from_json(msg, &draft, d);
  if (rc == PG_OK) rc = pg_tangle_attach(L(c)->tangle, &draft, NULL, id, d);
  pg_message_draft_clear(&draft);
  return rc;
}

static int l_submit_raw(pg_client *c, const uint8_t *bytes, size_t len, uint8_t id[PG_ID_LEN],
                        pg_diag *d) {
  return pg_tangle_submit(L(c)->tangle, bytes, len, id, NULL, d);
}

/* Items already failed (their arguments, or following a failed one) stay
 * out of the tangle's batch, and so does an item that follows one of them:
 * `follows` inside the batch always means the item before it there. */
static void l_submit_data_many(pg_client *c, pg_client_data *v, size_t n) {
  pg_batch_item *b = calloc(n + 1, sizeof *b);
  size_t *at = calloc(n + 1, sizeof *at), m = 0;
  int *rcs = calloc(n + 1, sizeof *rcs);
  uint8_t(*ids)[PG_ID_LEN] = calloc(n + 1, sizeof *ids);
  pg_diag *diags = calloc(n + 1, sizeof *diags);
  bool ok = b && at && rcs && ids && diags;
  for (size_t i = 0; ok && i < n; i++) {
    if (v[i].rc != PG_OK || pg_client_follow_rule(v, i) != PG_OK) continue;
    b[m] = (pg_batch_item){v[i].index, v[i].index_len, v[i].data, v[i].data_len, v[i].follows};
    at[m++] = i;
  }
  if (ok && m) pg_tangle_attach_data_many(L(c)->tangle, b, m, rcs, ids, diags);
  for (size_t k = 0; k < m; k++) {
    pg_client_data *it = &v[at[k]];
    it->rc = rcs[k];
    if (it->rc == PG_OK) memcpy(it->id, ids[k], PG_ID_LEN);
    else it->d = diags[k];
  }
  if (!ok)
    for (size_t i = 0; i < n; i++)
      if (v[i].rc == PG_OK) v[i].rc = pg_fail(&v[i].d, PG_ERR_NOMEM, "out of memory");
  free(b), free(at), free(rcs), free(ids), free(diags);
}

static int not_found(pg_diag *d, const char *what, const uint8_t *id, size_t n) {
  char hex[2 * PG_OUTPUT_ID_LEN + 1];
  pg_hex_encode(id, n, hex);
  return pg_fail(d, PG_ERR_NOT_FOUND, "%s %s not found", what, hex);
}

static int l_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d) {
  pg_buf tmp;
  pg_buf_init(&tmp, PG_MSG_MAX_LEN);
  int rc = pg_tangle_get_raw(L(c)->tangle, id, &tmp);
  if (rc == PG_OK) {
    size_t before = out->len;
    pg_buf_put(out, tmp.data, tmp.len);
    rc = pg_buf_status(out);
    if (rc) out->len = before;
  }
  pg_buf_free(&tmp);
  if (rc == PG_ERR_NOT_FOUND) return not_found(d, "message", id, PG_ID_LEN);
  return rc ? pg_fail(d, rc, "reading a message: %s", pg_strerror(rc)) : PG_OK;
}

static int l_get_meta(pg_client *c, const uint8_t id[PG_ID_LEN], pg_msg_meta *out, pg_diag *d) {
  int rc = pg_tangle_get_meta(L(c)->tangle, id, out);
  if (rc == PG_ERR_NOT_FOUND) return not_found(d, "message", id, PG_ID_LEN);
  return rc ? pg_fail(d, rc, "reading metadata: %s", pg_strerror(rc)) : PG_OK;
}

static int l_children(pg_client *c, const uint8_t id[PG_ID_LEN], uint8_t (*ids)[PG_ID_LEN],
                      size_t max, size_t *count, size_t *total, pg_diag *d) {
  int rc = pg_tangle_children(L(c)->tangle, id, max, ids, count, total);
  return rc ? pg_fail(d, rc, "reading children: %s", pg_strerror(rc)) : PG_OK;
}

static int l_find_index(pg_client *c, const uint8_t *index, size_t index_len,
                        uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                        pg_diag *d) {
  int rc = pg_tangle_find_index(L(c)->tangle, index, index_len, max, ids, count, total);
  return rc ? pg_fail(d, rc, "index lookup: %s", pg_strerror(rc)) : PG_OK;
}

static int l_milestone(pg_client *c, uint32_t index, pg_milestone_info *out, pg_diag *d) {
  int rc = pg_tangle_milestone(L(c)->tangle, index, out);
  if (rc == PG_ERR_NOT_FOUND) return pg_fail(d, rc, "milestone %u not found", (unsigned)index);
  return rc ? pg_fail(d, rc, "reading milestone %u: %s", (unsigned)index, pg_strerror(rc)) : PG_OK;
}

static int need_ledger(local_client *l, pg_diag *d) {
  return l->ledger ? PG_OK : pg_fail(d, PG_ERR_UNSUPPORTED, "this in-process node has no ledger");
}

static int l_address(pg_client *c, const uint8_t address[32], uint64_t *balance,
                     bool *dust_allowed, pg_diag *d) {
  int rc = need_ledger(L(c), d);
  if (rc == PG_OK && (rc = pg_ledger_balance(L(c)->ledger, address, balance, dust_allowed)))
    rc = pg_fail(d, rc, "reading a balance: %s", pg_strerror(rc));
  return rc;
}

static int l_address_outputs(pg_client *c, const uint8_t address[32], bool include_spent,
                             uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max, size_t *count,
                             size_t *total, pg_diag *d) {
  int rc = need_ledger(L(c), d);
  if (rc == PG_OK &&
      (rc = pg_ledger_address_outputs(L(c)->ledger, address, -1, include_spent, max, ids, count,
                                      total)))
    rc = pg_fail(d, rc, "reading address outputs: %s", pg_strerror(rc));
  return rc;
}

static int l_output(pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *out,
                    pg_diag *d) {
  int rc = need_ledger(L(c), d);
  if (rc) return rc;
  rc = pg_ledger_output(L(c)->ledger, id, out);
  if (rc == PG_ERR_NOT_FOUND) return not_found(d, "output", id, PG_OUTPUT_ID_LEN);
  return rc ? pg_fail(d, rc, "reading an output: %s", pg_strerror(rc)) : PG_OK;
}

static void l_destroy(pg_client *c) { free(c); }

static const pg_client_ops LOCAL_OPS = {
    .kind = "in-process",
    .health = l_health,
    .info = l_info,
    .tips = l_tips,
    .submit_json = l_submit_json,
    .submit_raw = l_submit_raw,
    .submit_data_many = l_submit_data_many,
    .get_raw = l_get_raw,
    .get_meta = l_get_meta,
    .children = l_children,
    .find_index = l_find_index,
    .milestone = l_milestone,
    .address = l_address,
    .address_outputs = l_address_outputs,
    .output = l_output,
    .destroy = l_destroy,
};

int pg_client_local_new(pg_tangle *t, pg_ledger *l, pg_client **out, pg_diag *d) {
  if (!t) return pg_fail(d, PG_ERR_INVALID, "in-process client: no Tangle");
  local_client *c = calloc(1, sizeof *c);
  if (!c) return PG_ERR_NOMEM;
  c->base.ops = &LOCAL_OPS;
  c->tangle = t;
  c->ledger = l;
  *out = &c->base;
  return PG_OK;
}
