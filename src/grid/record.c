/* record.c — the public settlement record: line keys, sealing and opening,
 * the canonical plaintext, and the split of a slot's record into parts.
 * Pure functions, see p2pgrid/grid/record.h. */
#include "p2pgrid/grid/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/tangle/message.h"

#define MEMBER_CONTEXT "p2pgrid-member-key"

/* ---------- keys ---------- */

int pg_record_member_key(const char *id, const char *side_key, size_t len,
                         uint8_t m[PG_RECORD_KEY]) {
  size_t idn = id ? strlen(id) : 0;
  if (!side_key || !m || idn < 1 || idn > PG_GRID_MAX_ID || len < 1 || len > PG_GRID_TRYTES ||
      !pg_grid_is_trytes(side_key, len))
    return PG_ERR_INVALID;
  char s[PG_GRID_TRYTES];
  memset(s, '9', sizeof s);
  memcpy(s, side_key, len);
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, PG_RECORD_KEY);
  crypto_generichash_update(&h, (const uint8_t *)MEMBER_CONTEXT, strlen(MEMBER_CONTEXT));
  crypto_generichash_update(&h, (const uint8_t *)s, sizeof s);
  crypto_generichash_update(&h, (const uint8_t *)id, idn); /* two members never share m */
  crypto_generichash_final(&h, m, PG_RECORD_KEY);
  return PG_OK;
}

void pg_record_slot_keys(const uint8_t m[PG_RECORD_KEY], uint64_t slot, pg_record_keys *out) {
  uint8_t msg[sizeof "settlement" - 1 + 8];
  memcpy(msg, "settlement", sizeof "settlement" - 1);
  pg_put_le64(msg + sizeof "settlement" - 1, slot);
  crypto_generichash(out->key, sizeof out->key, msg, sizeof msg, m, PG_RECORD_KEY);
  crypto_generichash(out->tag, sizeof out->tag, (const uint8_t *)"tag", 3, out->key,
                     sizeof out->key);
  crypto_generichash(out->nonce, sizeof out->nonce, (const uint8_t *)"nonce", 5, out->key,
                     sizeof out->key);
}

/* ---------- plaintext ---------- */

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

void pg_record_plain_sort(pg_record_plain *p) {
  if (p->n_readings > 1 && p->n_readings <= PG_RECORD_MAX_READINGS)
    qsort(p->readings, p->n_readings, sizeof p->readings[0], cmp_id);
}

static bool safe_int(int64_t v) { return v >= 0 && (uint64_t)v <= PG_GRID_MAX_SAFE_INT; }

static int plain_validate(const pg_record_plain *p, pg_diag *d) {
  if (!pg_grid_is_id(p->id, strnlen(p->id, sizeof p->id)) || strnlen(p->id, sizeof p->id) > PG_GRID_MAX_ID)
    return pg_fail(d, PG_ERR_INVALID, "line: 'id' is not a member id");
  if (p->role != PG_GRID_ENTITY_PRODUCER && p->role != PG_GRID_ENTITY_CONSUMER)
    return pg_fail(d, PG_ERR_INVALID, "line: 'role' must be producer or consumer");
  if (p->n_readings > PG_RECORD_MAX_READINGS)
    return pg_fail(d, PG_ERR_INVALID, "line: %zu readings; at most %d", p->n_readings,
                   PG_RECORD_MAX_READINGS);
  for (size_t i = 1; i < p->n_readings; i++)
    if (memcmp(p->readings[i - 1], p->readings[i], 32) >= 0)
      return pg_fail(d, PG_ERR_INVALID, "line: readings are not sorted and distinct");
  if (!safe_int(p->wh) || !safe_int(p->community_wh) || !safe_int(p->amount) ||
      !safe_int(p->fee) || !safe_int(p->total) || !safe_int(p->baseline) ||
      (p->has_price && p->price > PG_GRID_MAX_SAFE_INT))
    return pg_fail(d, PG_ERR_INVALID, "line: a number is outside 0..2^53-1");
  size_t rn = strnlen(p->request_id, sizeof p->request_id);
  if (rn > PG_GRID_MAX_ID || (rn && !pg_grid_is_id(p->request_id, rn)))
    return pg_fail(d, PG_ERR_INVALID, "line: 'requestId' is not a request id");
  return PG_OK;
}

static void put_int(pg_buf *b, const char *key, int64_t v) {
  char num[48];
  int n = snprintf(num, sizeof num, ",\"%s\":%" PRId64, key, v);
  pg_buf_put(b, num, (size_t)n);
}

int pg_record_plain_serialize(const pg_record_plain *p, pg_buf *out, pg_diag *d) {
  int rc = p && out ? plain_validate(p, d) : pg_fail(d, PG_ERR_INVALID, "line: no input");
  if (rc) return rc;
  size_t start = out->len;
  pg_buf_puts(out, "{\"id\":\"");
  pg_buf_puts(out, p->id);
  pg_buf_puts(out, "\",\"role\":\"");
  pg_buf_puts(out, pg_grid_entity_name(p->role));
  pg_buf_puts(out, "\",\"readings\":[");
  for (size_t i = 0; i < p->n_readings; i++) {
    char hex[65];
    pg_hex_encode(p->readings[i], 32, hex);
    pg_buf_puts(out, i ? ",\"" : "\"");
    pg_buf_puts(out, hex);
    pg_buf_put_u8(out, '"');
  }
  pg_buf_put_u8(out, ']');
  put_int(out, "wh", p->wh);
  if (p->has_price) put_int(out, "price", (int64_t)p->price);
  else pg_buf_puts(out, ",\"price\":null");
  put_int(out, "communityWh", p->community_wh);
  put_int(out, "amount", p->amount);
  put_int(out, "fee", p->fee);
  put_int(out, "total", p->total);
  put_int(out, "baseline", p->baseline);
  pg_buf_puts(out, ",\"requestId\":");
  if (p->request_id[0]) {
    pg_buf_put_u8(out, '"');
    pg_buf_puts(out, p->request_id);
    pg_buf_put_u8(out, '"');
  } else {
    pg_buf_puts(out, "null");
  }
  pg_buf_put_u8(out, '}');
  rc = pg_buf_status(out);
  if (rc) {
    out->len = start;
    return pg_fail(d, rc, "line: output buffer full");
  }
  return PG_OK;
}

static int plain_fields(const json_t *j, pg_record_plain *p, pg_diag *d) {
  const char *s = NULL;
  size_t n = 0;
  json_t *a = NULL, *v = NULL;
  if (pg_json_get_str(j, "id", &s, &n, d) || n > PG_GRID_MAX_ID) return PG_ERR_INVALID;
  memcpy(p->id, s, n);
  if (pg_json_get_str(j, "role", &s, &n, d)) return PG_ERR_INVALID;
  p->role = strcmp(s, "producer") == 0   ? PG_GRID_ENTITY_PRODUCER
            : strcmp(s, "consumer") == 0 ? PG_GRID_ENTITY_CONSUMER
                                         : PG_GRID_ENTITY_NONE;
  if (pg_json_get_array(j, "readings", &a, d)) return PG_ERR_INVALID;
  if (json_array_size(a) > PG_RECORD_MAX_READINGS)
    return pg_fail(d, PG_ERR_INVALID, "too many readings");
  p->n_readings = json_array_size(a);
  for (size_t i = 0; i < p->n_readings; i++) {
    const char *h = json_string_value(json_array_get(a, i));
    if (!h || strlen(h) != 64 || pg_hex_decode_exact(h, p->readings[i], 32))
      return pg_fail(d, PG_ERR_INVALID, "readings[%zu] is not a message id", i);
  }
  v = json_object_get(j, "price");
  p->has_price = v && !json_is_null(v);
  if (p->has_price && pg_json_get_u64(j, "price", &p->price, d)) return PG_ERR_INVALID;
  if (pg_json_get_i64(j, "wh", &p->wh, d) ||
      pg_json_get_i64(j, "communityWh", &p->community_wh, d) ||
      pg_json_get_i64(j, "amount", &p->amount, d) || pg_json_get_i64(j, "fee", &p->fee, d) ||
      pg_json_get_i64(j, "total", &p->total, d) ||
      pg_json_get_i64(j, "baseline", &p->baseline, d) ||
      pg_json_opt_str(j, "requestId", "", &s, &n, d) || n > PG_GRID_MAX_ID)
    return PG_ERR_INVALID;
  memcpy(p->request_id, s, n);
  return PG_OK;
}

int pg_record_plain_parse(const void *data, size_t len, pg_record_plain *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "line: no output");
  memset(out, 0, sizeof *out);
  if (!data || len > PG_RECORD_MAX_PLAIN)
    return pg_fail(d, PG_ERR_INVALID, "line: %zu bytes; at most %d", len, PG_RECORD_MAX_PLAIN);
  json_t *j = NULL;
  pg_diag tmp = {{0}};
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, &j, &tmp);
  if (!rc) rc = plain_fields(j, out, &tmp);
  json_decref(j);
  if (rc) return pg_fail(d, PG_ERR_INVALID, "line: %s", tmp.msg[0] ? tmp.msg : "bad field");
  /* only the canonical bytes: the same plaintext has one spelling */
  pg_buf back;
  pg_buf_init(&back, PG_RECORD_MAX_PLAIN);
  rc = pg_record_plain_serialize(out, &back, d);
  if (!rc && (back.len != len || memcmp(back.data, data, len) != 0))
    rc = pg_fail(d, PG_ERR_INVALID, "line: the plaintext is not in canonical form");
  pg_buf_free(&back);
  return rc;
}

/* ---------- seal / open ---------- */

int pg_record_seal(const uint8_t m[PG_RECORD_KEY], uint64_t slot, const pg_record_plain *p,
                   pg_grid_record_line *out, pg_diag *d) {
  if (!m || !out) return pg_fail(d, PG_ERR_INVALID, "line: no key or output");
  memset(out, 0, sizeof *out);
  pg_buf plain;
  pg_buf_init(&plain, PG_RECORD_MAX_PLAIN);
  int rc = pg_record_plain_serialize(p, &plain, d);
  if (rc) {
    pg_buf_free(&plain);
    return rc;
  }
  pg_record_keys k;
  pg_record_slot_keys(m, slot, &k);
  out->box = malloc(plain.len + PG_RECORD_MAC);
  if (!out->box) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  } else {
    crypto_secretbox_easy(out->box, plain.data, plain.len, k.nonce, k.key);
    out->box_len = plain.len + PG_RECORD_MAC;
    memcpy(out->tag, k.tag, sizeof out->tag);
  }
  sodium_memzero(&k, sizeof k);
  sodium_memzero(plain.data, plain.len);
  pg_buf_free(&plain);
  return rc;
}

int pg_record_open(const uint8_t m[PG_RECORD_KEY], uint64_t slot, const pg_grid_record_line *l,
                   pg_record_plain *out, pg_diag *d) {
  if (!m || !l || !out) return pg_fail(d, PG_ERR_INVALID, "line: no key, line or output");
  if (!l->box || l->box_len <= PG_RECORD_MAC || l->box_len > PG_RECORD_MAX_PLAIN + PG_RECORD_MAC)
    return pg_fail(d, PG_ERR_INVALID, "line: a box of %zu bytes cannot hold a line", l->box_len);
  pg_record_keys k;
  pg_record_slot_keys(m, slot, &k);
  int rc = PG_OK;
  uint8_t *plain = NULL;
  if (sodium_memcmp(k.tag, l->tag, sizeof k.tag) != 0) {
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "line: the tag is not this member's for slot %" PRIu64, slot);
  } else if (!(plain = malloc(l->box_len - PG_RECORD_MAC))) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  } else if (crypto_secretbox_open_easy(plain, l->box, l->box_len, k.nonce, k.key) != 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "line: the box does not open with this member's key");
  } else {
    rc = pg_record_plain_parse(plain, l->box_len - PG_RECORD_MAC, out, d);
  }
  sodium_memzero(&k, sizeof k);
  if (plain) {
    sodium_memzero(plain, l->box_len - PG_RECORD_MAC);
    free(plain);
  }
  return rc;
}

long pg_record_find(const pg_grid_settlement *s, const uint8_t tag[PG_GRID_RECORD_TAG]) {
  size_t lo = 0, hi = s && tag ? s->n_lines : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(s->lines[mid].tag, tag, PG_GRID_RECORD_TAG);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/* ---------- the size bound of a part ----------
 * A record message travels as (docs/PROTOCOL.md, specs/CHRYSALIS.md 10):
 *   JSON text, N ASCII bytes -> 2N trytes (mam.js stringToTrytes) -> the MAM
 *   message of count 1: pascal(index 0) + pascal(L) + nextRoot (243) +
 *   L = 6N trits + nonce (81) + signature (27 * security * 243) +
 *   pascal(0 siblings) trits, rounded up to trytes -> packTrytes (5 bits a
 *   tryte) after one tag-length byte (no tag) -> the data of an indexation
 *   payload (type 4, index length 2, 32-byte index, data length 4) -> a
 *   message (network id 8, parent count 1, 8 parents of 32, payload length
 *   4, nonce 8) of at most PG_MSG_MAX_LEN bytes. */

/* Trits of mam.js's pascal code of v (see src/mam/mam_trits.c). */
static size_t pascal_trits(uint64_t v) {
  if (v == 0) return 4;
  size_t k = 1;
  uint64_t lim = 1;
  while (v > lim) {
    lim = 3 * lim + 1;
    k++;
  }
  k = (k + 2) / 3 * 3;
  return k + k / 3;
}

static size_t message_bytes(size_t json_bytes, int security) {
  size_t L = 6 * json_bytes;
  size_t trits = pascal_trits(0) + pascal_trits(L) + 243 + L + 81 +
                 (size_t)27 * (size_t)security * 243 + pascal_trits(0);
  size_t trytes = (trits + 2) / 3;
  size_t data = 1 + pg_mam_pack_len(trytes);
  size_t payload = 4 + 2 + 32 + 4 + data;
  return 8 + 1 + (size_t)PG_MSG_MAX_PARENTS * PG_ID_LEN + 4 + payload + 8;
}

size_t pg_record_part_max_json(int security) {
  if (security < 1 || security > 3) return 0;
  size_t lo = 0, hi = PG_MSG_MAX_LEN; /* message_bytes(hi) > PG_MSG_MAX_LEN */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (message_bytes(mid, security) <= PG_MSG_MAX_LEN) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* ---------- parts ---------- */

void pg_record_parts_free(pg_record_parts *p) {
  if (!p) return;
  for (size_t i = 0; p->part && i < p->n; i++) pg_buf_free(&p->part[i]);
  free(p->part);
  p->part = NULL;
  p->n = 0;
}

static int cmp_line(const void *a, const void *b) {
  return memcmp(((const pg_grid_record_line *)a)->tag, ((const pg_grid_record_line *)b)->tag,
                PG_GRID_RECORD_TAG);
}

/* JSON bytes of an empty part (worst-case part numbers). */
static int empty_part_len(const pg_grid_settlement *head, bool first, size_t *len, pg_diag *d) {
  pg_grid_settlement s = *head;
  s.lines = NULL;
  s.n_lines = 0;
  s.parts = PG_GRID_MAX_SETTLEMENT_PARTS;
  s.part = first ? 1 : PG_GRID_MAX_SETTLEMENT_PARTS;
  pg_buf b;
  pg_buf_init(&b, PG_GRID_MAX_SETTLEMENT_JSON);
  int rc = pg_grid_settlement_serialize(&s, &b, d);
  *len = b.len;
  pg_buf_free(&b);
  return rc;
}

/* Where each part starts: starts[0..*nparts) into lines. */
static int split(const pg_grid_record_line *lines, size_t n, size_t h1, size_t hn, size_t max,
                 size_t *starts, size_t *nparts, pg_diag *d) {
  size_t np = 1, cur = h1, count = 0;
  starts[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t cost = 51 + 2 * lines[i].box_len + (count ? 1 : 0);
    if (cur + cost > max || count == PG_GRID_MAX_SETTLEMENT_LINES) {
      if (count == 0)
        return pg_fail(d, PG_ERR_TOO_LARGE, "record: a line of %zu bytes does not fit a part",
                       lines[i].box_len);
      if (np == PG_GRID_MAX_SETTLEMENT_PARTS)
        return pg_fail(d, PG_ERR_TOO_LARGE, "record: more than %d parts",
                       PG_GRID_MAX_SETTLEMENT_PARTS);
      starts[np++] = i;
      cur = hn;
      count = 0;
      cost = 51 + 2 * lines[i].box_len;
      if (cur + cost > max)
        return pg_fail(d, PG_ERR_TOO_LARGE, "record: a line of %zu bytes does not fit a part",
                       lines[i].box_len);
    }
    cur += cost;
    count++;
  }
  *nparts = np;
  return PG_OK;
}

static int write_parts(const pg_grid_settlement *head, pg_grid_record_line *lines, size_t n,
                       const size_t *starts, size_t np, size_t max, pg_record_parts *out,
                       pg_diag *d) {
  out->part = calloc(np, sizeof *out->part);
  if (!out->part) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  out->n = np;
  int rc = PG_OK;
  for (size_t p = 0; p < np && !rc; p++) {
    pg_grid_settlement s = *head;
    size_t end = p + 1 < np ? starts[p + 1] : n;
    s.part = (uint32_t)(p + 1);
    s.parts = (uint32_t)np;
    s.lines = end > starts[p] ? lines + starts[p] : NULL; /* borrowed */
    s.n_lines = end - starts[p];
    pg_buf_init(&out->part[p], PG_GRID_MAX_SETTLEMENT_JSON);
    rc = pg_grid_settlement_serialize(&s, &out->part[p], d);
    if (!rc && out->part[p].len > max)
      rc = pg_fail(d, PG_ERR_TOO_LARGE, "record: part %zu is %zu bytes, over %zu", p + 1,
                   out->part[p].len, max);
  }
  return rc;
}

int pg_record_build_parts(const pg_grid_settlement *head, pg_grid_record_line *lines, size_t n,
                          size_t max_json, pg_record_parts *out, pg_diag *d) {
  if (!head || !out || (n && !lines)) return pg_fail(d, PG_ERR_INVALID, "record: no input");
  memset(out, 0, sizeof *out);
  size_t max = max_json ? max_json : pg_record_part_max_json(PG_RECORD_SECURITY);
  if (n > 1) qsort(lines, n, sizeof *lines, cmp_line);
  for (size_t i = 1; i < n; i++)
    if (memcmp(lines[i - 1].tag, lines[i].tag, PG_GRID_RECORD_TAG) == 0)
      return pg_fail(d, PG_ERR_INVALID, "record: two lines of slot %" PRIu64 " share a tag",
                     head->slot);
  size_t h1 = 0, hn = 0, np = 0;
  size_t *starts = malloc((n ? n : 1) * sizeof *starts);
  if (!starts) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pg_grid_settlement h = *head;
  h.part = h.parts = 1;
  int rc = empty_part_len(&h, true, &h1, d);
  if (!rc) rc = empty_part_len(&h, false, &hn, d);
  if (!rc) rc = split(lines, n, h1, hn, max, starts, &np, d);
  if (!rc) rc = write_parts(&h, lines, n, starts, np, max, out, d);
  free(starts);
  if (rc) pg_record_parts_free(out);
  return rc;
}
