/* node_json.c — JSON shapes the REST API (api.c) and the MQTT events
 * (mqtt.c) both send: message metadata and output responses, as iota.js
 * 1.8.6 (IMessageMetadata, IOutputResponse) and Hornet's MQTT plugin have
 * them. */
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/base/hex.h"

json_t *pg_node_hex_json(const uint8_t *p, size_t n) {
  char buf[2 * 64 + 1];
  if (n > 64) return NULL;
  pg_hex_encode(p, n, buf);
  return json_string(buf);
}

json_t *pg_node_hex_list_json(const uint8_t *items, size_t n, size_t each) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, pg_node_hex_json(items + i * each, each)) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

json_t *pg_node_ids_json(const uint8_t (*ids)[PG_ID_LEN], size_t n) {
  return pg_node_hex_list_json(n ? ids[0] : NULL, n, PG_ID_LEN);
}

static const char *inclusion_name(int incl) {
  switch (incl) {
  case PG_INCL_INCLUDED:
    return "included";
  case PG_INCL_CONFLICTING:
    return "conflicting";
  default:
    return "noTransaction";
  }
}

json_t *pg_node_meta_json(const pg_msg_meta *m) {
  size_t np = m->parents_count <= PG_MSG_MAX_PARENTS ? m->parents_count : PG_MSG_MAX_PARENTS;
  json_t *o = json_object();
  json_t *parents = pg_node_ids_json((const uint8_t(*)[PG_ID_LEN])m->parents, np);
  if (!o || !parents) {
    json_decref(o);
    json_decref(parents);
    return NULL;
  }
  int e = 0;
  e |= json_object_set_new(o, "messageId", pg_node_hex_json(m->id, PG_ID_LEN));
  e |= json_object_set_new(o, "parentMessageIds", parents);
  e |= json_object_set_new(o, "isSolid", json_boolean(m->solid));
  if (m->referenced_by)
    e |= json_object_set_new(o, "referencedByMilestoneIndex", json_integer(m->referenced_by));
  if (m->milestone_index)
    e |= json_object_set_new(o, "milestoneIndex", json_integer(m->milestone_index));
  if (m->referenced_by) {
    e |= json_object_set_new(o, "ledgerInclusionState", json_string(inclusion_name(m->inclusion)));
    if (m->inclusion == PG_INCL_CONFLICTING)
      e |= json_object_set_new(o, "conflictReason", json_integer(m->conflict_reason));
  } else {
    e |= json_object_set_new(o, "shouldPromote", json_boolean(m->should_promote));
    e |= json_object_set_new(o, "shouldReattach", json_boolean(m->should_reattach));
  }
  if (e) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static json_t *output_body_json(const pg_output_info *o) {
  json_t *addr = json_object();
  json_t *out = json_object();
  if (!addr || !out) goto fail;
  if (json_object_set_new(addr, "type", json_integer(0)) ||
      json_object_set_new(addr, "address", pg_node_hex_json(o->address, 32)))
    goto fail;
  if (json_object_set_new(out, "type", json_integer(o->type)) ||
      json_object_set_new(out, "address", addr))
    goto fail;
  addr = NULL;
  if (json_object_set_new(out, "amount", json_integer((json_int_t)o->amount))) goto fail;
  return out;
fail:
  json_decref(addr);
  json_decref(out);
  return NULL;
}

json_t *pg_node_output_json(const pg_output_info *o, bool spent, bool spent_details,
                            uint32_t ledger_index) {
  json_t *obj = json_object();
  json_t *out = output_body_json(o);
  int e = !obj || !out;
  if (!e) {
    uint16_t index = (uint16_t)(o->output_id[32] | (o->output_id[33] << 8));
    e |= json_object_set_new(obj, "messageId", pg_node_hex_json(o->message_id, PG_ID_LEN));
    e |= json_object_set_new(obj, "transactionId", pg_node_hex_json(o->output_id, 32));
    e |= json_object_set_new(obj, "outputIndex", json_integer(index));
    e |= json_object_set_new(obj, "isSpent", json_boolean(spent));
    if (spent && spent_details) {
      e |= json_object_set_new(obj, "milestoneIndexSpent", json_integer(o->spent_index));
      e |= json_object_set_new(obj, "transactionIdSpent", pg_node_hex_json(o->spent_tx_id, 32));
    }
    e |= json_object_set_new(obj, "output", out);
    out = NULL;
    e |= json_object_set_new(obj, "ledgerIndex", json_integer(ledger_index));
  }
  json_decref(out);
  if (e) {
    json_decref(obj);
    obj = NULL;
  }
  return obj;
}
