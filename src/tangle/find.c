/* find.c — the body and answer of POST /api/plugins/data/find
 * (p2pgrid/tangle/find.h). */
#include "p2pgrid/tangle/find.h"

#include <string.h>

#include "p2pgrid/tangle/message.h"

/* ---- the request ---- */

static int req_head_ok(uint32_t budget, unsigned max, size_t count, pg_diag *d) {
  if (budget < PG_FIND_BUDGET_MIN)
    return pg_fail(d, PG_ERR_INVALID, "find: budget of %u bytes (at least %u)", (unsigned)budget,
                   PG_FIND_BUDGET_MIN);
  if (max < 1 || max > PG_FIND_MAX_IDS)
    return pg_fail(d, PG_ERR_INVALID, "find: max of %u ids (1..%d allowed)", max, PG_FIND_MAX_IDS);
  if (count < 1 || count > PG_FIND_MAX_KEYS)
    return pg_fail(d, PG_ERR_INVALID, "find: %zu keys (1..%d allowed)", count, PG_FIND_MAX_KEYS);
  return PG_OK;
}

static int key_ok(const pg_find_key *k, size_t i, pg_diag *d) {
  if (k->index_len < 1 || k->index_len > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "find key %zu: index of %zu bytes (1..%d allowed)", i + 1,
                   k->index_len, PG_INDEX_MAX_LEN);
  if (!k->index) return pg_fail(d, PG_ERR_INVALID, "find key %zu: no index bytes", i + 1);
  return PG_OK;
}

int pg_find_req_encode(pg_buf *out, const pg_find_req *r, pg_diag *d) {
  int rc = req_head_ok(r->budget, r->max, r->count, d);
  for (size_t i = 0; rc == PG_OK && i < r->count; i++) rc = key_ok(&r->keys[i], i, d);
  if (rc) return rc;
  size_t before = out->len;
  pg_buf_put_u8(out, PG_FIND_VERSION);
  pg_buf_put_u8(out, r->meta ? PG_FIND_FLAG_META : 0);
  pg_buf_put_u32(out, r->budget);
  pg_buf_put_u16(out, (uint16_t)r->max);
  pg_buf_put_u16(out, (uint16_t)r->count);
  for (size_t i = 0; i < r->count; i++) {
    pg_buf_put_u8(out, (uint8_t)r->keys[i].index_len);
    pg_buf_put(out, r->keys[i].index, r->keys[i].index_len);
  }
  if ((rc = pg_buf_status(out))) {
    out->len = before;
    return pg_fail(d, rc, "find: the request does not fit its buffer");
  }
  return PG_OK;
}

int pg_find_req_parse(const uint8_t *body, size_t len, pg_find_req *r, pg_diag *d) {
  pg_reader rd;
  pg_reader_init(&rd, body, len);
  uint8_t version = 0, flags = 0;
  uint16_t max = 0, count = 0;
  r->count = 0;
  if (pg_read_u8(&rd, &version) || pg_read_u8(&rd, &flags) || pg_read_u32(&rd, &r->budget) ||
      pg_read_u16(&rd, &max) || pg_read_u16(&rd, &count))
    return pg_fail(d, PG_ERR_TRUNCATED, "find: %zu bytes, shorter than its %d-byte head", len,
                   PG_FIND_REQ_HEAD_LEN);
  if (version != PG_FIND_VERSION)
    return pg_fail(d, PG_ERR_INVALID, "find: version %u (this node reads version %d)", version,
                   PG_FIND_VERSION);
  if (flags & ~PG_FIND_FLAG_META)
    return pg_fail(d, PG_ERR_INVALID, "find: unknown flags 0x%02x", flags);
  r->meta = flags & PG_FIND_FLAG_META;
  int rc = req_head_ok(r->budget, max, count, d);
  for (size_t i = 0; rc == PG_OK && i < count; i++) {
    uint8_t il = 0;
    pg_find_key *k = &r->keys[i];
    if (pg_read_u8(&rd, &il)) {
      rc = pg_fail(d, PG_ERR_TRUNCATED, "find key %zu: truncated before its index", i + 1);
      break;
    }
    *k = (pg_find_key){.index_len = il};
    if (il >= 1 && il <= PG_INDEX_MAX_LEN && pg_read_view(&rd, il, &k->index))
      rc = pg_fail(d, PG_ERR_TRUNCATED, "find key %zu: %u index bytes announced, %zu left", i + 1,
                   il, pg_reader_left(&rd));
    else
      rc = key_ok(k, i, d);
  }
  if (rc == PG_OK && pg_reader_left(&rd))
    rc = pg_fail(d, PG_ERR_INVALID, "find: %zu bytes after its last key", pg_reader_left(&rd));
  if (rc == PG_OK) {
    r->max = max;
    r->count = count;
  }
  return rc;
}

/* ---- the answer ---- */

void pg_find_ans_begin(pg_buf *out, bool meta) {
  pg_buf_put_u8(out, PG_FIND_VERSION);
  pg_buf_put_u8(out, meta ? PG_FIND_FLAG_META : 0);
  pg_buf_put_u16(out, 0); /* the count, set by pg_find_ans_end */
}

size_t pg_find_msg_len(bool meta, size_t raw_len) {
  return PG_FIND_MSG_HEAD_LEN + (meta ? PG_FIND_META_LEN : 0) + raw_len;
}

void pg_find_ans_item(pg_buf *out, uint32_t total, unsigned listed) {
  pg_buf_put_u32(out, total);
  pg_buf_put_u16(out, (uint16_t)listed);
}

void pg_find_ans_msg(pg_buf *out, const uint8_t id[32], const pg_find_meta *meta,
                     const uint8_t *raw, size_t raw_len) {
  pg_buf_put(out, id, PG_ID_LEN);
  if (meta) {
    pg_buf_put_u32(out, meta->referenced_by);
    pg_buf_put_u8(out, meta->inclusion);
    pg_buf_put_u8(out, meta->conflict_reason);
  }
  pg_buf_put_u32(out, (uint32_t)raw_len);
  if (raw_len) pg_buf_put(out, raw, raw_len);
}

int pg_find_ans_end(pg_buf *out, size_t start, size_t count) {
  int rc = pg_buf_status(out);
  if (rc) return rc;
  if (count > PG_FIND_MAX_KEYS || start > out->len || out->len - start < PG_FIND_ANS_HEAD_LEN)
    return PG_ERR_INVALID;
  return pg_buf_set_u16(out, start + 2, (uint16_t)count);
}

/* Reads item i's head and walks its messages (checking them); it->msgs then
 * views exactly those bytes. */
static int read_item(pg_reader *rd, size_t i, unsigned max, bool meta, pg_find_item *it,
                     pg_diag *d) {
  uint16_t listed = 0;
  it->meta = meta;
  if (pg_read_u32(rd, &it->total) || pg_read_u16(rd, &listed))
    return pg_fail(d, PG_ERR_TRUNCATED, "find item %zu: truncated in its head", i + 1);
  if (listed > max || listed > it->total)
    return pg_fail(d, PG_ERR_INVALID, "find item %zu: %u ids listed (max %u, total %u)", i + 1,
                   listed, max, (unsigned)it->total);
  it->listed = listed;
  size_t from = rd->pos;
  for (size_t k = 0; k < listed; k++) {
    const uint8_t *id = NULL, *raw = NULL;
    uint32_t rl = 0, by = 0;
    uint8_t incl = 0, reason = 0;
    if (pg_read_view(rd, PG_ID_LEN, &id) ||
        (it->meta && (pg_read_u32(rd, &by) || pg_read_u8(rd, &incl) || pg_read_u8(rd, &reason))) ||
        pg_read_u32(rd, &rl))
      return pg_fail(d, PG_ERR_TRUNCATED, "find item %zu: message %zu truncated in its head",
                     i + 1, k + 1);
    if (incl > 3 || (by == 0) != (incl == 0) || (reason && incl != 3))
      return pg_fail(d, PG_ERR_INVALID,
                     "find item %zu: message %zu: inclusion %u, conflict %u, referenced by %u",
                     i + 1, k + 1, incl, reason, (unsigned)by);
    if (rl > PG_MSG_MAX_LEN)
      return pg_fail(d, PG_ERR_TOO_LARGE, "find item %zu: message %zu of %u bytes (at most %d)",
                     i + 1, k + 1, (unsigned)rl, PG_MSG_MAX_LEN);
    if (rl == 0 && i > 0)
      return pg_fail(d, PG_ERR_INVALID, "find item %zu: message %zu without its bytes", i + 1,
                     k + 1);
    if (rl && pg_read_view(rd, rl, &raw))
      return pg_fail(d, PG_ERR_TRUNCATED,
                     "find item %zu: message %zu: %u bytes announced, %zu left", i + 1, k + 1,
                     (unsigned)rl, pg_reader_left(rd));
  }
  pg_reader_init(&it->msgs, rd->p + from, rd->pos - from);
  return PG_OK;
}

int pg_find_ans_parse(const uint8_t *body, size_t len, size_t asked, unsigned max, bool meta,
                      pg_find_item items[PG_FIND_MAX_KEYS], size_t *n, pg_diag *d) {
  *n = 0;
  pg_reader rd;
  pg_reader_init(&rd, body, len);
  uint8_t version = 0, flags = 0;
  uint16_t count = 0;
  if (pg_read_u8(&rd, &version) || pg_read_u8(&rd, &flags) || pg_read_u16(&rd, &count))
    return pg_fail(d, PG_ERR_TRUNCATED, "find answer: %zu bytes, shorter than its %d-byte head",
                   len, PG_FIND_ANS_HEAD_LEN);
  if (version != PG_FIND_VERSION)
    return pg_fail(d, PG_ERR_INVALID, "find answer: version %u (this client reads version %d)",
                   version, PG_FIND_VERSION);
  if (flags != (meta ? PG_FIND_FLAG_META : 0))
    return pg_fail(d, PG_ERR_INVALID, "find answer: flags 0x%02x to a request of flags 0x%02x",
                   flags, meta ? PG_FIND_FLAG_META : 0);
  if (count < 1 || count > asked || asked > PG_FIND_MAX_KEYS)
    return pg_fail(d, PG_ERR_INVALID, "find answer: %u items to %zu keys asked", count, asked);
  int rc = PG_OK;
  for (size_t i = 0; rc == PG_OK && i < count; i++)
    rc = read_item(&rd, i, max, meta, &items[i], d);
  if (rc == PG_OK && pg_reader_left(&rd))
    rc = pg_fail(d, PG_ERR_INVALID, "find answer: %zu bytes after its last item",
                 pg_reader_left(&rd));
  if (rc == PG_OK) *n = count;
  return rc;
}

int pg_find_item_next(pg_find_item *it, pg_find_msg *m) {
  uint32_t rl = 0;
  m->meta = (pg_find_meta){0};
  if (pg_read_view(&it->msgs, PG_ID_LEN, &m->id) ||
      (it->meta &&
       (pg_read_u32(&it->msgs, &m->meta.referenced_by) || pg_read_u8(&it->msgs, &m->meta.inclusion) ||
        pg_read_u8(&it->msgs, &m->meta.conflict_reason))) ||
      pg_read_u32(&it->msgs, &rl))
    return PG_ERR_NOT_FOUND;
  m->raw_len = rl;
  m->raw = NULL;
  if (rl && pg_read_view(&it->msgs, rl, &m->raw)) return PG_ERR_NOT_FOUND;
  return PG_OK;
}
