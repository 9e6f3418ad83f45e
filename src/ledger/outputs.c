/* outputs.c — the body and answer of POST /api/plugins/data/outputs
 * (p2pgrid/ledger/outputs.h). */
#include "p2pgrid/ledger/outputs.h"

#include <string.h>

static const uint8_t ZERO32[32];

/* ---- the request ---- */

static int req_head_ok(uint32_t budget, size_t count, pg_diag *d) {
  if (budget < PG_OUTPUTS_BUDGET_MIN)
    return pg_fail(d, PG_ERR_INVALID, "outputs: budget of %u bytes (at least %u)",
                   (unsigned)budget, PG_OUTPUTS_BUDGET_MIN);
  if (count < 1 || count > PG_OUTPUTS_MAX_IDS)
    return pg_fail(d, PG_ERR_INVALID, "outputs: %zu ids (1..%d allowed)", count,
                   PG_OUTPUTS_MAX_IDS);
  return PG_OK;
}

int pg_outputs_req_encode(pg_buf *out, const pg_outputs_req *r, pg_diag *d) {
  int rc = req_head_ok(r->budget, r->count, d);
  if (rc) return rc;
  if (!r->ids) return pg_fail(d, PG_ERR_INVALID, "outputs: no ids");
  size_t before = out->len;
  pg_buf_put_u8(out, PG_OUTPUTS_VERSION);
  pg_buf_put_u8(out, r->raw ? PG_OUTPUTS_FLAG_RAW : 0);
  pg_buf_put_u32(out, r->budget);
  pg_buf_put_u16(out, (uint16_t)r->count);
  pg_buf_put(out, r->ids, r->count * PG_OUTPUT_ID_LEN);
  if ((rc = pg_buf_status(out))) {
    out->len = before;
    return pg_fail(d, rc, "outputs: the request does not fit its buffer");
  }
  return PG_OK;
}

int pg_outputs_req_parse(const uint8_t *body, size_t len, pg_outputs_req *r, pg_diag *d) {
  pg_reader rd;
  pg_reader_init(&rd, body, len);
  uint8_t version = 0, flags = 0;
  uint16_t count = 0;
  *r = (pg_outputs_req){0};
  if (pg_read_u8(&rd, &version) || pg_read_u8(&rd, &flags) || pg_read_u32(&rd, &r->budget) ||
      pg_read_u16(&rd, &count))
    return pg_fail(d, PG_ERR_TRUNCATED, "outputs: %zu bytes, shorter than its %d-byte head", len,
                   PG_OUTPUTS_REQ_HEAD_LEN);
  if (version != PG_OUTPUTS_VERSION)
    return pg_fail(d, PG_ERR_INVALID, "outputs: version %u (this node reads version %d)", version,
                   PG_OUTPUTS_VERSION);
  if (flags & ~PG_OUTPUTS_FLAG_RAW)
    return pg_fail(d, PG_ERR_INVALID, "outputs: unknown flags 0x%02x", flags);
  int rc = req_head_ok(r->budget, count, d);
  if (rc) return rc;
  const uint8_t *ids = NULL;
  if (pg_read_view(&rd, (size_t)count * PG_OUTPUT_ID_LEN, &ids))
    return pg_fail(d, PG_ERR_TRUNCATED, "outputs: %u ids of %d bytes announced, %zu bytes left",
                   count, PG_OUTPUT_ID_LEN, pg_reader_left(&rd));
  if (pg_reader_left(&rd))
    return pg_fail(d, PG_ERR_INVALID, "outputs: %zu bytes after its last id", pg_reader_left(&rd));
  r->raw = flags & PG_OUTPUTS_FLAG_RAW;
  r->count = count;
  r->ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids;
  return PG_OK;
}

/* ---- the answer ---- */

void pg_outputs_ans_begin(pg_buf *out, bool raw) {
  pg_buf_put_u8(out, PG_OUTPUTS_VERSION);
  pg_buf_put_u8(out, raw ? PG_OUTPUTS_FLAG_RAW : 0);
  pg_buf_put_u16(out, 0); /* the count, set by pg_outputs_ans_end */
}

size_t pg_outputs_item_len(bool raw, size_t raw_len) {
  return PG_OUTPUTS_FOUND_LEN + (raw ? 4 + raw_len : 0);
}

void pg_outputs_ans_found(pg_buf *out, bool raw, const pg_output_info *o, const uint8_t *raw_bytes,
                          size_t raw_len) {
  pg_buf_put_u8(out, 1);
  pg_buf_put(out, o->message_id, PG_ID_LEN);
  pg_buf_put_u8(out, o->type);
  pg_buf_put(out, o->address, 32);
  pg_buf_put_u64(out, o->amount);
  pg_buf_put_u32(out, o->booked_index);
  pg_buf_put_u8(out, o->spent ? 1 : 0);
  pg_buf_put_u32(out, o->spent ? o->spent_index : 0);
  pg_buf_put(out, o->spent ? o->spent_tx_id : ZERO32, 32);
  if (!raw) return;
  pg_buf_put_u32(out, (uint32_t)raw_len);
  if (raw_len) pg_buf_put(out, raw_bytes, raw_len);
}

void pg_outputs_ans_missing(pg_buf *out) { pg_buf_put_u8(out, 0); }

int pg_outputs_ans_end(pg_buf *out, size_t start, size_t count) {
  int rc = pg_buf_status(out);
  if (rc) return rc;
  if (count > PG_OUTPUTS_MAX_IDS || start > out->len ||
      out->len - start < PG_OUTPUTS_ANS_HEAD_LEN) /* start + 4 could wrap */
    return PG_ERR_INVALID;
  return pg_buf_set_u16(out, start + 2, (uint16_t)count);
}

/* The fields of a found item i into *o (output_id set by the caller). */
static int read_fields(pg_reader *rd, size_t i, pg_output_info *o, pg_diag *d) {
  const uint8_t *mid = NULL, *addr = NULL, *stx = NULL;
  uint8_t spent = 0;
  if (pg_read_view(rd, PG_ID_LEN, &mid) || pg_read_u8(rd, &o->type) ||
      pg_read_view(rd, 32, &addr) || pg_read_u64(rd, &o->amount) ||
      pg_read_u32(rd, &o->booked_index) || pg_read_u8(rd, &spent) ||
      pg_read_u32(rd, &o->spent_index) || pg_read_view(rd, 32, &stx))
    return pg_fail(d, PG_ERR_TRUNCATED, "outputs item %zu: truncated in its fields", i + 1);
  if (o->type > 1)
    return pg_fail(d, PG_ERR_INVALID, "outputs item %zu: output type %u (0 or 1)", i + 1, o->type);
  if (o->amount < 1 || o->amount > PG_TOKEN_SUPPLY)
    return pg_fail(d, PG_ERR_INVALID, "outputs item %zu: amount %llu (1..%llu)", i + 1,
                   (unsigned long long)o->amount, (unsigned long long)PG_TOKEN_SUPPLY);
  if (spent > 1)
    return pg_fail(d, PG_ERR_INVALID, "outputs item %zu: spent flag %u (0 or 1)", i + 1, spent);
  if (spent && o->spent_index == 0)
    return pg_fail(d, PG_ERR_INVALID, "outputs item %zu: spent at milestone 0", i + 1);
  if (!spent && (o->spent_index || memcmp(stx, ZERO32, 32) != 0))
    return pg_fail(d, PG_ERR_INVALID,
                   "outputs item %zu: unspent, with a spent index or spending transaction", i + 1);
  memcpy(o->message_id, mid, PG_ID_LEN);
  memcpy(o->address, addr, 32);
  memcpy(o->spent_tx_id, stx, 32);
  o->spent = spent;
  return PG_OK;
}

/* Item i (for id) into *it. */
static int read_item(pg_reader *rd, size_t i, const uint8_t id[PG_OUTPUT_ID_LEN], bool raw,
                     pg_outputs_item *it, pg_diag *d) {
  uint8_t found = 0;
  memset(it, 0, sizeof *it);
  if (pg_read_u8(rd, &found))
    return pg_fail(d, PG_ERR_TRUNCATED, "outputs item %zu: truncated before its head", i + 1);
  if (found > 1)
    return pg_fail(d, PG_ERR_INVALID, "outputs item %zu: found flag %u (0 or 1)", i + 1, found);
  if (!found) return PG_OK;
  int rc = read_fields(rd, i, &it->info, d);
  if (rc) return rc;
  memcpy(it->info.output_id, id, PG_OUTPUT_ID_LEN);
  it->found = true;
  if (!raw) return PG_OK;
  uint32_t rl = 0;
  if (pg_read_u32(rd, &rl))
    return pg_fail(d, PG_ERR_TRUNCATED, "outputs item %zu: truncated before its rawLength", i + 1);
  if (rl > PG_MSG_MAX_LEN)
    return pg_fail(d, PG_ERR_TOO_LARGE, "outputs item %zu: a message of %u bytes (at most %d)",
                   i + 1, (unsigned)rl, PG_MSG_MAX_LEN);
  if (rl && memcmp(it->info.message_id, ZERO32, 32) == 0)
    return pg_fail(d, PG_ERR_INVALID, "outputs item %zu: message bytes for a genesis output",
                   i + 1);
  if (rl && pg_read_view(rd, rl, &it->raw))
    return pg_fail(d, PG_ERR_TRUNCATED, "outputs item %zu: %u message bytes announced, %zu left",
                   i + 1, (unsigned)rl, pg_reader_left(rd));
  it->raw_len = rl;
  return PG_OK;
}

int pg_outputs_ans_parse(const uint8_t *body, size_t len, const uint8_t (*ids)[PG_OUTPUT_ID_LEN],
                         size_t asked, bool raw, pg_outputs_item *items, size_t *n, pg_diag *d) {
  *n = 0;
  pg_reader rd;
  pg_reader_init(&rd, body, len);
  uint8_t version = 0, flags = 0;
  uint16_t count = 0;
  if (pg_read_u8(&rd, &version) || pg_read_u8(&rd, &flags) || pg_read_u16(&rd, &count))
    return pg_fail(d, PG_ERR_TRUNCATED,
                   "outputs answer: %zu bytes, shorter than its %d-byte head", len,
                   PG_OUTPUTS_ANS_HEAD_LEN);
  if (version != PG_OUTPUTS_VERSION)
    return pg_fail(d, PG_ERR_INVALID, "outputs answer: version %u (this client reads version %d)",
                   version, PG_OUTPUTS_VERSION);
  if (flags != (raw ? PG_OUTPUTS_FLAG_RAW : 0))
    return pg_fail(d, PG_ERR_INVALID,
                   "outputs answer: flags 0x%02x to a request of flags 0x%02x", flags,
                   raw ? PG_OUTPUTS_FLAG_RAW : 0);
  if (count < 1 || count > asked || asked > PG_OUTPUTS_MAX_IDS)
    return pg_fail(d, PG_ERR_INVALID, "outputs answer: %u items to %zu ids asked", count, asked);
  int rc = PG_OK;
  for (size_t i = 0; rc == PG_OK && i < count; i++)
    rc = read_item(&rd, i, ids[i], raw, &items[i], d);
  if (rc == PG_OK && pg_reader_left(&rd))
    rc = pg_fail(d, PG_ERR_INVALID, "outputs answer: %zu bytes after its last item",
                 pg_reader_left(&rd));
  if (rc == PG_OK) *n = count;
  return rc;
}
