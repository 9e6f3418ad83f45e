/* JSON forms of Chrysalis messages as TIP-13 and @iota/iota.js 1.8.6 use them.
 * Input: a POSTed message object is turned into a draft whose payload is the
 * serialized binary payload, validated by re-parsing it. Output: parsed
 * messages as JSON objects with keys in the TIP-13 / iota.js order. */
#include "p2pgrid/tangle/message_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"

#define PATH_MAX_LEN 96

/* ---- JSON input helpers -------------------------------------------------- */

/* Field paths only name fields in error messages: a path longer than
 * PATH_MAX_LEN is cut, never overflowed. */
static void join(char *dst, const char *base, const char *key) {
  int n = base[0] ? snprintf(dst, PATH_MAX_LEN, "%s.%s", base, key)
                  : snprintf(dst, PATH_MAX_LEN, "%s", key);
  if (n >= PATH_MAX_LEN) dst[PATH_MAX_LEN - 1] = '\0';
}

static void join_idx(char *dst, const char *base, size_t i) {
  if (snprintf(dst, PATH_MAX_LEN, "%s[%zu]", base, i) >= PATH_MAX_LEN) dst[PATH_MAX_LEN - 1] = '\0';
}

/* A present, non-null member, or NULL. */
static json_t *member(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return v && !json_is_null(v) ? v : NULL;
}

static int need(const json_t *obj, const char *key, const char *path, json_t **out, pg_diag *d) {
  *out = member(obj, key);
  if (!*out) return pg_fail(d, PG_ERR_INVALID, "%s: missing", path);
  return PG_OK;
}

static int j_object(const json_t *v, const char *path, pg_diag *d) {
  if (!json_is_object(v))
    return pg_fail(d, PG_ERR_INVALID, "%s: expected an object, got %s", path, pg_json_type_name(v));
  return PG_OK;
}

static int j_array(const json_t *v, const char *path, size_t max, pg_diag *d) {
  if (!json_is_array(v))
    return pg_fail(d, PG_ERR_INVALID, "%s: expected an array, got %s", path, pg_json_type_name(v));
  if (json_array_size(v) > max)
    return pg_fail(d, PG_ERR_INVALID, "%s: %zu entries; at most %zu", path, json_array_size(v),
                   max);
  return PG_OK;
}

static int j_uint(const json_t *v, const char *path, uint64_t max, uint64_t *out, pg_diag *d) {
  if (!json_is_integer(v))
    return pg_fail(d, PG_ERR_INVALID, "%s: expected an integer, got %s", path,
                   pg_json_type_name(v));
  json_int_t x = json_integer_value(v);
  if (x < 0) return pg_fail(d, PG_ERR_INVALID, "%s: %lld is negative", path, (long long)x);
  if ((uint64_t)x > max)
    return pg_fail(d, PG_ERR_INVALID, "%s: %lld is larger than %" PRIu64, path, (long long)x, max);
  *out = (uint64_t)x;
  return PG_OK;
}

static int get_uint(const json_t *obj, const char *key, const char *base, uint64_t max,
                    uint64_t *out, pg_diag *d) {
  char path[PATH_MAX_LEN];
  join(path, base, key);
  json_t *v;
  int rc = need(obj, key, path, &v, d);
  return rc ? rc : j_uint(v, path, max, out, d);
}

/* Hex string of min..max bytes into out; *n gets the byte count. */
static int j_hex(const json_t *v, const char *path, uint8_t *out, size_t min, size_t max,
                 size_t *n, pg_diag *d) {
  if (!json_is_string(v))
    return pg_fail(d, PG_ERR_INVALID, "%s: expected a hex string, got %s", path,
                   pg_json_type_name(v));
  const char *s = json_string_value(v);
  size_t slen = json_string_length(v);
  if (min == max && slen != 2 * min)
    return pg_fail(d, PG_ERR_INVALID, "%s: not %zu hex characters", path, 2 * min);
  if (slen % 2) return pg_fail(d, PG_ERR_INVALID, "%s: odd number of hex characters", path);
  if (slen / 2 < min || slen / 2 > max)
    return pg_fail(d, PG_ERR_INVALID, "%s: %zu bytes; must be %zu..%zu", path, slen / 2, min, max);
  size_t got = 0;
  if (pg_hex_decode(s, slen, out, max, &got) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "%s: not a hex string", path);
  if (n) *n = got;
  return PG_OK;
}

static int get_hex(const json_t *obj, const char *key, const char *base, uint8_t *out, size_t len,
                   pg_diag *d) {
  char path[PATH_MAX_LEN];
  join(path, base, key);
  json_t *v;
  int rc = need(obj, key, path, &v, d);
  return rc ? rc : j_hex(v, path, out, len, len, NULL, d);
}

/* Decimal u64 in a string: digits only, no sign, no overflow. */
static int j_dec_u64(const json_t *v, const char *path, uint64_t *out, pg_diag *d) {
  if (!json_is_string(v))
    return pg_fail(d, PG_ERR_INVALID, "%s: expected a decimal string, got %s", path,
                   pg_json_type_name(v));
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (n == 0 || n > 20) return pg_fail(d, PG_ERR_INVALID, "%s: not a 64-bit decimal number", path);
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return pg_fail(d, PG_ERR_INVALID, "%s: not a decimal number", path);
    unsigned dig = (unsigned)(s[i] - '0');
    if (x > (UINT64_MAX - dig) / 10)
      return pg_fail(d, PG_ERR_INVALID, "%s: larger than 18446744073709551615", path);
    x = x * 10 + dig;
  }
  *out = x;
  return PG_OK;
}

/* Array of 32-byte ids, strictly ascending. Returns the count in *n. */
static int j_id_list(const json_t *arr, const char *path, size_t max, uint8_t (*ids)[32],
                     size_t *n, pg_diag *d) {
  int rc = j_array(arr, path, max, d);
  if (rc) return rc;
  size_t cnt = json_array_size(arr);
  for (size_t i = 0; i < cnt; i++) {
    char p[PATH_MAX_LEN];
    join_idx(p, path, i);
    rc = j_hex(json_array_get(arr, i), p, ids[i], 32, 32, NULL, d);
    if (rc) return rc;
    if (i > 0) {
      int c = memcmp(ids[i - 1], ids[i], 32);
      if (c == 0) return pg_fail(d, PG_ERR_INVALID, "%s: duplicates entry %zu", p, i - 1);
      if (c > 0) return pg_fail(d, PG_ERR_INVALID, "%s: not in ascending order", p);
    }
  }
  *n = cnt;
  return PG_OK;
}

/* ---- payload JSON -> binary ---------------------------------------------- */

static int payload_from_json(const json_t *p, const char *path, bool in_essence, pg_buf *out,
                             pg_diag *d);

static int indexation_from_json(const json_t *p, const char *path, pg_buf *out, pg_diag *d) {
  char fp[PATH_MAX_LEN];
  uint8_t index[PG_INDEX_MAX_LEN];
  size_t ilen = 0;
  json_t *v;
  join(fp, path, "index");
  int rc = need(p, "index", fp, &v, d);
  if (rc) return rc;
  if (json_is_string(v) && json_string_length(v) == 0)
    return pg_fail(d, PG_ERR_INVALID, "%s: empty; at least 1 byte", fp);
  if (json_is_string(v) && json_string_length(v) / 2 > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "%s: %zu bytes; at most %d", fp, json_string_length(v) / 2,
                   PG_INDEX_MAX_LEN);
  rc = j_hex(v, fp, index, 1, PG_INDEX_MAX_LEN, &ilen, d);
  if (rc) return rc;
  join(fp, path, "data");
  v = member(p, "data");
  uint8_t *data = NULL;
  size_t dlen = 0;
  if (v) {
    if (!json_is_string(v))
      return pg_fail(d, PG_ERR_INVALID, "%s: expected a hex string, got %s", fp,
                     pg_json_type_name(v));
    size_t cap = json_string_length(v) / 2;
    if (cap > PG_MSG_MAX_LEN)
      return pg_fail(d, PG_ERR_TOO_LARGE, "%s: %zu bytes; a message holds at most %d", fp, cap,
                     PG_MSG_MAX_LEN);
    data = malloc(cap ? cap : 1);
    if (!data) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", fp);
    rc = j_hex(v, fp, data, 0, cap, &dlen, d);
  }
  if (!rc) rc = pg_indexation_build(out, index, ilen, data, dlen, d);
  free(data);
  return rc;
}

static int input_from_json(const json_t *in, const char *path, pg_buf *out, pg_diag *d) {
  int rc = j_object(in, path, d);
  if (rc) return rc;
  uint64_t type, idx;
  uint8_t txid[32];
  if ((rc = get_uint(in, "type", path, 255, &type, d))) return rc;
  if (type != 0)
    return pg_fail(d, PG_ERR_INVALID, "%s.type: %" PRIu64 "; only UTXO input (0) allowed", path,
                   type);
  if ((rc = get_hex(in, "transactionId", path, txid, 32, d))) return rc;
  if ((rc = get_uint(in, "transactionOutputIndex", path, UINT16_MAX, &idx, d))) return rc;
  pg_buf_put_u8(out, 0);
  pg_buf_put(out, txid, 32);
  pg_buf_put_u16(out, (uint16_t)idx);
  return PG_OK;
}

static int output_from_json(const json_t *o, const char *path, pg_buf *out, pg_diag *d) {
  int rc = j_object(o, path, d);
  if (rc) return rc;
  uint64_t type, atype, amount;
  uint8_t addr[32];
  char ap[PATH_MAX_LEN];
  json_t *a;
  if ((rc = get_uint(o, "type", path, 255, &type, d))) return rc;
  if (type > 1)
    return pg_fail(d, PG_ERR_INVALID, "%s.type: %" PRIu64 "; only 0 and 1 allowed", path, type);
  join(ap, path, "address");
  if ((rc = need(o, "address", ap, &a, d))) return rc;
  if ((rc = j_object(a, ap, d))) return rc;
  if ((rc = get_uint(a, "type", ap, 255, &atype, d))) return rc;
  if (atype != 0)
    return pg_fail(d, PG_ERR_INVALID, "%s.type: %" PRIu64 "; only Ed25519 (0) allowed", ap, atype);
  if ((rc = get_hex(a, "address", ap, addr, 32, d))) return rc;
  if ((rc = get_uint(o, "amount", path, UINT64_MAX, &amount, d))) return rc;
  pg_buf_put_u8(out, (uint8_t)type);
  pg_buf_put_u8(out, 0);
  pg_buf_put(out, addr, 32);
  pg_buf_put_u64(out, amount);
  return PG_OK;
}

static int unlock_from_json(const json_t *u, const char *path, pg_buf *out, pg_diag *d) {
  int rc = j_object(u, path, d);
  if (rc) return rc;
  uint64_t type;
  if ((rc = get_uint(u, "type", path, 255, &type, d))) return rc;
  if (type == 0) {
    char sp[PATH_MAX_LEN];
    json_t *s;
    uint64_t stype;
    uint8_t pk[32], sig[64];
    join(sp, path, "signature");
    if ((rc = need(u, "signature", sp, &s, d))) return rc;
    if ((rc = j_object(s, sp, d))) return rc;
    if ((rc = get_uint(s, "type", sp, 255, &stype, d))) return rc;
    if (stype != 0)
      return pg_fail(d, PG_ERR_INVALID, "%s.type: %" PRIu64 "; only Ed25519 (0) allowed", sp,
                     stype);
    if ((rc = get_hex(s, "publicKey", sp, pk, 32, d))) return rc;
    if ((rc = get_hex(s, "signature", sp, sig, 64, d))) return rc;
    pg_buf_put_u8(out, 0);
    pg_buf_put_u8(out, 0);
    pg_buf_put(out, pk, 32);
    pg_buf_put(out, sig, 64);
  } else if (type == 1) {
    uint64_t ref;
    if ((rc = get_uint(u, "reference", path, UINT16_MAX, &ref, d))) return rc;
    pg_buf_put_u8(out, 1);
    pg_buf_put_u16(out, (uint16_t)ref);
  } else {
    return pg_fail(d, PG_ERR_INVALID, "%s.type: %" PRIu64 "; only 0 and 1 allowed", path, type);
  }
  return PG_OK;
}

static int transaction_from_json(const json_t *p, const char *path, pg_buf *out, pg_diag *d) {
  char ep[PATH_MAX_LEN], fp[PATH_MAX_LEN], ip[PATH_MAX_LEN];
  json_t *ess, *arr;
  uint64_t etype;
  join(ep, path, "essence");
  int rc = need(p, "essence", ep, &ess, d);
  if (rc) return rc;
  if ((rc = j_object(ess, ep, d))) return rc;
  if ((rc = get_uint(ess, "type", ep, 255, &etype, d))) return rc;
  if (etype != 0)
    return pg_fail(d, PG_ERR_INVALID, "%s.type: %" PRIu64 "; only 0 is known", ep, etype);
  pg_buf_put_u32(out, PG_PAYLOAD_TRANSACTION);
  pg_buf_put_u8(out, 0);

  join(fp, ep, "inputs");
  if ((rc = need(ess, "inputs", fp, &arr, d))) return rc;
  if ((rc = j_array(arr, fp, PG_TX_MAX_INPUTS, d))) return rc;
  pg_buf_put_u16(out, (uint16_t)json_array_size(arr));
  for (size_t i = 0; i < json_array_size(arr); i++) {
    join_idx(ip, fp, i);
    if ((rc = input_from_json(json_array_get(arr, i), ip, out, d))) return rc;
  }

  join(fp, ep, "outputs");
  if ((rc = need(ess, "outputs", fp, &arr, d))) return rc;
  if ((rc = j_array(arr, fp, PG_TX_MAX_OUTPUTS, d))) return rc;
  pg_buf_put_u16(out, (uint16_t)json_array_size(arr));
  for (size_t i = 0; i < json_array_size(arr); i++) {
    join_idx(ip, fp, i);
    if ((rc = output_from_json(json_array_get(arr, i), ip, out, d))) return rc;
  }

  join(fp, ep, "payload");
  json_t *ep_payload = member(ess, "payload");
  if (!ep_payload) {
    pg_buf_put_u32(out, 0);
  } else {
    pg_buf inner;
    pg_buf_init(&inner, PG_MSG_MAX_LEN);
    rc = payload_from_json(ep_payload, fp, true, &inner, d);
    if (!rc && (rc = pg_buf_status(&inner)))
      rc = pg_fail(d, rc, "%s: %s", fp, pg_strerror(rc));
    if (!rc) {
      pg_buf_put_u32(out, (uint32_t)inner.len);
      pg_buf_put(out, inner.data, inner.len);
    }
    pg_buf_free(&inner);
    if (rc) return rc;
  }

  join(fp, path, "unlockBlocks");
  if ((rc = need(p, "unlockBlocks", fp, &arr, d))) return rc;
  if ((rc = j_array(arr, fp, PG_TX_MAX_INPUTS, d))) return rc;
  pg_buf_put_u16(out, (uint16_t)json_array_size(arr));
  for (size_t i = 0; i < json_array_size(arr); i++) {
    join_idx(ip, fp, i);
    if ((rc = unlock_from_json(json_array_get(arr, i), ip, out, d))) return rc;
  }
  return PG_OK;
}

static int milestone_from_json(const json_t *p, const char *path, pg_buf *out, pg_diag *d) {
  pg_milestone_draft ms;
  memset(&ms, 0, sizeof ms);
  char fp[PATH_MAX_LEN];
  uint64_t v = 0;
  json_t *arr;
  int rc;
  if ((rc = get_uint(p, "index", path, UINT32_MAX, &v, d))) return rc;
  ms.index = (uint32_t)v;
  if ((rc = get_uint(p, "timestamp", path, UINT64_MAX, &ms.timestamp, d))) return rc;
  join(fp, path, "parentMessageIds");
  if ((rc = need(p, "parentMessageIds", fp, &arr, d))) return rc;
  size_t n = 0;
  if ((rc = j_id_list(arr, fp, PG_MSG_MAX_PARENTS, ms.parents, &n, d))) return rc;
  if (n == 0) return pg_fail(d, PG_ERR_INVALID, "%s: empty; at least 1 parent", fp);
  ms.parents_count = (uint8_t)n;
  if ((rc = get_hex(p, "inclusionMerkleProof", path, ms.inclusion_merkle_proof, 32, d))) return rc;
  if ((rc = get_uint(p, "nextPoWScore", path, UINT32_MAX, &v, d))) return rc;
  ms.next_pow_score = (uint32_t)v;
  if ((rc = get_uint(p, "nextPoWScoreMilestoneIndex", path, UINT32_MAX, &v, d))) return rc;
  ms.next_pow_score_milestone_index = (uint32_t)v;
  join(fp, path, "publicKeys");
  if ((rc = need(p, "publicKeys", fp, &arr, d))) return rc;
  if ((rc = j_id_list(arr, fp, PG_MS_MAX_KEYS, ms.public_keys, &n, d))) return rc;
  if (n == 0) return pg_fail(d, PG_ERR_INVALID, "%s: empty; at least 1 key", fp);
  ms.keys_count = (uint8_t)n;
  join(fp, path, "receipt");
  if (member(p, "receipt"))
    return pg_fail(d, PG_ERR_UNSUPPORTED, "%s: receipts are not supported; use null", fp);
  join(fp, path, "signatures");
  if ((rc = need(p, "signatures", fp, &arr, d))) return rc;
  if ((rc = j_array(arr, fp, PG_MS_MAX_KEYS, d))) return rc;
  if (json_array_size(arr) != ms.keys_count)
    return pg_fail(d, PG_ERR_INVALID, "%s: %zu signatures for %u public keys", fp,
                   json_array_size(arr), (unsigned)ms.keys_count);
  uint8_t sigs[PG_MS_MAX_KEYS][64];
  for (size_t i = 0; i < json_array_size(arr); i++) {
    char ip[PATH_MAX_LEN];
    join_idx(ip, fp, i);
    if ((rc = j_hex(json_array_get(arr, i), ip, sigs[i], 64, 64, NULL, d))) return rc;
  }
  pg_diag inner;
  pg_diag_clear(&inner);
  rc = pg_milestone_build(out, &ms, (const uint8_t(*)[64])sigs, &inner);
  if (rc) return pg_fail(d, rc, "%s: %s", path, inner.msg);
  return PG_OK;
}

static int payload_from_json(const json_t *p, const char *path, bool in_essence, pg_buf *out,
                             pg_diag *d) {
  int rc = j_object(p, path, d);
  if (rc) return rc;
  uint64_t type;
  char tp[PATH_MAX_LEN];
  join(tp, path, "type");
  if ((rc = get_uint(p, "type", path, UINT32_MAX, &type, d))) return rc;
  if (in_essence && type != PG_PAYLOAD_INDEXATION)
    return pg_fail(d, PG_ERR_INVALID, "%s: %" PRIu64 "; only indexation (2) allowed here", tp,
                   type);
  switch (type) {
  case PG_PAYLOAD_INDEXATION: return indexation_from_json(p, path, out, d);
  case PG_PAYLOAD_TRANSACTION: return transaction_from_json(p, path, out, d);
  case PG_PAYLOAD_MILESTONE: return milestone_from_json(p, path, out, d);
  case PG_PAYLOAD_RECEIPT:
    return pg_fail(d, PG_ERR_INVALID, "%s: 3 (receipt) is only allowed inside a milestone", tp);
  case PG_PAYLOAD_TREASURY_TX:
    return pg_fail(d, PG_ERR_INVALID,
                   "%s: 4 (treasury transaction) is only allowed inside a receipt", tp);
  default: return pg_fail(d, PG_ERR_INVALID, "%s: unknown payload type %" PRIu64, tp, type);
  }
}

/* ---- draft --------------------------------------------------------------- */

void pg_message_draft_clear(pg_message_draft *draft) {
  if (!draft) return;
  pg_buf_free(&draft->payload);
  memset(draft, 0, sizeof *draft);
  pg_buf_init(&draft->payload, PG_MSG_MAX_LEN);
}

static bool empty_string(const json_t *v) { return json_is_string(v) && json_string_length(v) == 0; }

int pg_message_draft_from_json(const json_t *obj, pg_message_draft *draft, pg_diag *d) {
  memset(draft, 0, sizeof *draft);
  pg_buf_init(&draft->payload, PG_MSG_MAX_LEN);
  if (!obj || !json_is_object(obj))
    return pg_fail(d, PG_ERR_INVALID, "message: expected an object, got %s",
                   obj ? pg_json_type_name(obj) : "nothing");
  int rc;
  json_t *v = member(obj, "networkId");
  if (v && !empty_string(v)) {
    if ((rc = j_dec_u64(v, "networkId", &draft->network_id, d))) return rc;
    draft->has_network_id = true;
  }
  v = member(obj, "parentMessageIds");
  if (v) {
    size_t n = 0;
    if ((rc = j_id_list(v, "parentMessageIds", PG_MSG_MAX_PARENTS, draft->parents, &n, d)))
      return rc;
    draft->parents_count = (uint8_t)n;
  }
  v = member(obj, "nonce");
  if (v && !empty_string(v)) {
    if ((rc = j_dec_u64(v, "nonce", &draft->nonce, d))) return rc;
    draft->has_nonce = true;
  }
  v = member(obj, "payload");
  if (v) {
    if ((rc = payload_from_json(v, "payload", false, &draft->payload, d))) return rc;
    if ((rc = pg_buf_status(&draft->payload)))
      return pg_fail(d, rc, "payload: %s", pg_strerror(rc));
    size_t parents = draft->parents_count ? draft->parents_count : 1;
    size_t total = 8 + 1 + 32 * parents + 4 + draft->payload.len + 8;
    if (total > PG_MSG_MAX_LEN)
      return pg_fail(d, PG_ERR_TOO_LARGE, "message would be %zu bytes; at most %d", total,
                     PG_MSG_MAX_LEN);
    pg_message m;
    memset(&m, 0, sizeof m);
    m.payload_type = PG_PAYLOAD_NONE;
    pg_diag inner;
    pg_diag_clear(&inner);
    rc = pg_payload_parse(draft->payload.data, draft->payload.len, &m, &inner);
    if (rc) return pg_fail(d, rc, "payload: %s", inner.msg);
    pg_message_clear(&m);
  }
  return PG_OK;
}

/* ---- binary -> JSON ------------------------------------------------------ */

static void put(json_t *o, const char *k, json_t *v, bool *ok) {
  if (json_object_set_new(o, k, v)) *ok = false;
}

static void push(json_t *a, json_t *v, bool *ok) {
  if (json_array_append_new(a, v)) *ok = false;
}

static json_t *jhex(const uint8_t *p, size_t n) {
  char *s = pg_hex_dup(p, n);
  if (!s) return NULL;
  json_t *j = json_stringn_nocheck(s, 2 * n);
  free(s);
  return j;
}

/* Integers above INT64_MAX (possible only for u64 fields like a milestone
 * timestamp) cannot be JSON integers in jansson; they become reals. */
static json_t *ju64(uint64_t v) {
  return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

static json_t *jdec(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%" PRIu64, v);
  return json_string(b);
}

static json_t *finish(json_t *o, bool ok) {
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *id_list(const uint8_t *ids, size_t n) {
  json_t *a = json_array();
  bool ok = true;
  for (size_t i = 0; i < n; i++) push(a, jhex(ids + 32 * i, 32), &ok);
  return finish(a, ok && a);
}

static json_t *indexation_json(const pg_indexation *ix) {
  json_t *o = json_object();
  bool ok = true;
  put(o, "type", json_integer(PG_PAYLOAD_INDEXATION), &ok);
  put(o, "index", jhex(ix->index, ix->index_len), &ok);
  put(o, "data", jhex(ix->data, ix->data_len), &ok);
  return finish(o, ok);
}

static json_t *address_json(const uint8_t *addr) {
  json_t *o = json_object();
  bool ok = true;
  put(o, "type", json_integer(0), &ok);
  put(o, "address", jhex(addr, 32), &ok);
  return finish(o, ok);
}

static json_t *transaction_json(const pg_transaction *tx) {
  bool ok = true;
  json_t *inputs = json_array();
  for (unsigned i = 0; i < tx->inputs_count; i++) {
    json_t *in = json_object();
    put(in, "type", json_integer(0), &ok);
    put(in, "transactionId", jhex(tx->inputs[i].tx_id, 32), &ok);
    put(in, "transactionOutputIndex", json_integer(tx->inputs[i].output_index), &ok);
    push(inputs, in, &ok);
  }
  json_t *outputs = json_array();
  for (unsigned i = 0; i < tx->outputs_count; i++) {
    json_t *out = json_object();
    put(out, "type", json_integer(tx->outputs[i].type), &ok);
    put(out, "address", address_json(tx->outputs[i].address), &ok);
    put(out, "amount", ju64(tx->outputs[i].amount), &ok);
    push(outputs, out, &ok);
  }
  json_t *ess = json_object();
  put(ess, "type", json_integer(0), &ok);
  put(ess, "inputs", inputs, &ok);
  put(ess, "outputs", outputs, &ok);
  put(ess, "payload", tx->has_indexation ? indexation_json(&tx->indexation) : json_null(), &ok);
  json_t *unlocks = json_array();
  for (unsigned i = 0; i < tx->unlocks_count; i++) {
    const pg_unlock_block *u = &tx->unlocks[i];
    json_t *ub = json_object();
    put(ub, "type", json_integer(u->type), &ok);
    if (u->type == 0) {
      json_t *sig = json_object();
      put(sig, "type", json_integer(0), &ok);
      put(sig, "publicKey", jhex(u->public_key, 32), &ok);
      put(sig, "signature", jhex(u->signature, 64), &ok);
      put(ub, "signature", sig, &ok);
    } else {
      put(ub, "reference", json_integer(u->reference), &ok);
    }
    push(unlocks, ub, &ok);
  }
  json_t *o = json_object();
  put(o, "type", json_integer(PG_PAYLOAD_TRANSACTION), &ok);
  put(o, "essence", ess, &ok);
  put(o, "unlockBlocks", unlocks, &ok);
  return finish(o, ok);
}

/* Receipt bytes were validated by the parser; any read failure here means
 * they were not, and yields NULL. */
static json_t *receipt_json(const uint8_t *bytes, size_t len) {
  pg_reader r;
  pg_reader_init(&r, bytes, len);
  uint32_t type, migrated, tlen;
  uint8_t final, in_type, out_type;
  uint16_t nfunds;
  uint64_t amount;
  const uint8_t *ms_id;
  if (pg_read_u32(&r, &type) || pg_read_u32(&r, &migrated) || pg_read_u8(&r, &final) ||
      pg_read_u16(&r, &nfunds))
    return NULL;
  bool ok = true;
  json_t *funds = json_array();
  for (unsigned i = 0; i < nfunds && ok; i++) {
    const uint8_t *p;
    if (pg_read_view(&r, 49 + 33 + 8, &p)) {
      ok = false;
      break;
    }
    json_t *f = json_object();
    put(f, "tailTransactionHash", jhex(p, 49), &ok);
    put(f, "address", address_json(p + 50), &ok);
    put(f, "deposit", ju64(pg_le64(p + 82)), &ok);
    push(funds, f, &ok);
  }
  if (!ok || pg_read_u32(&r, &tlen) || pg_read_u32(&r, &type) || pg_read_u8(&r, &in_type) ||
      pg_read_view(&r, 32, &ms_id) || pg_read_u8(&r, &out_type) || pg_read_u64(&r, &amount)) {
    json_decref(funds);
    return NULL;
  }
  json_t *input = json_object(), *output = json_object(), *tx = json_object();
  put(input, "type", json_integer(in_type), &ok);
  put(input, "milestoneId", jhex(ms_id, 32), &ok);
  put(output, "type", json_integer(out_type), &ok);
  put(output, "amount", ju64(amount), &ok);
  put(tx, "type", json_integer(PG_PAYLOAD_TREASURY_TX), &ok);
  put(tx, "input", input, &ok);
  put(tx, "output", output, &ok);
  json_t *o = json_object();
  put(o, "type", json_integer(PG_PAYLOAD_RECEIPT), &ok);
  put(o, "migratedAt", json_integer(migrated), &ok);
  put(o, "final", json_boolean(final), &ok);
  put(o, "funds", funds, &ok);
  put(o, "transaction", tx, &ok);
  return finish(o, ok);
}

static json_t *milestone_json(const pg_milestone *ms) {
  bool ok = true;
  json_t *o = json_object();
  put(o, "type", json_integer(PG_PAYLOAD_MILESTONE), &ok);
  put(o, "index", json_integer(ms->index), &ok);
  put(o, "timestamp", ju64(ms->timestamp), &ok);
  put(o, "parentMessageIds", id_list(ms->parents, ms->parents_count), &ok);
  put(o, "inclusionMerkleProof", jhex(ms->inclusion_merkle_proof, 32), &ok);
  put(o, "nextPoWScore", json_integer(ms->next_pow_score), &ok);
  put(o, "nextPoWScoreMilestoneIndex", json_integer(ms->next_pow_score_milestone_index), &ok);
  put(o, "publicKeys", id_list(ms->public_keys, ms->keys_count), &ok);
  put(o, "receipt", ms->receipt ? receipt_json(ms->receipt, ms->receipt_len) : json_null(), &ok);
  json_t *sigs = json_array();
  for (unsigned i = 0; i < ms->signatures_count; i++)
    push(sigs, jhex(ms->signatures + 64 * i, 64), &ok);
  put(o, "signatures", sigs, &ok);
  return finish(o, ok);
}

json_t *pg_payload_to_json(const pg_message *m) {
  switch (m->payload_type) {
  case PG_PAYLOAD_INDEXATION: return indexation_json(&m->u.indexation);
  case PG_PAYLOAD_TRANSACTION:
    return m->u.transaction ? transaction_json(m->u.transaction) : NULL;
  case PG_PAYLOAD_MILESTONE: return milestone_json(&m->u.milestone);
  default: return json_null();
  }
}

json_t *pg_message_to_json(const pg_message *m) {
  bool ok = true;
  json_t *o = json_object();
  put(o, "networkId", jdec(m->network_id), &ok);
  put(o, "parentMessageIds", id_list(m->parents, m->parents_count), &ok);
  put(o, "payload", pg_payload_to_json(m), &ok);
  put(o, "nonce", jdec(m->nonce), &ok);
  return finish(o, ok);
}
