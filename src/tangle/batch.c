/* batch.c — the data batch body (p2pgrid/tangle/batch.h) and its store
 * (pg_tangle_attach_data_many, tangle.h). */
#include "p2pgrid/tangle/batch.h"

#include <stdlib.h>
#include <string.h>

#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/tangle.h"

size_t pg_batch_item_len(size_t index_len, size_t data_len) { return 6 + index_len + data_len; }

/* The checks an item must pass wherever it is; i is 0-based. */
static int item_ok(const pg_batch_item *it, size_t i, pg_diag *d) {
  if (it->index_len < 1 || it->index_len > PG_INDEX_MAX_LEN || !it->index)
    return pg_fail(d, PG_ERR_INVALID, "batch item %zu: index of %zu bytes (1..%d allowed)", i + 1,
                   it->index_len, PG_INDEX_MAX_LEN);
  if (it->data_len > PG_MSG_MAX_LEN)
    return pg_fail(d, PG_ERR_TOO_LARGE, "batch item %zu: %zu data bytes (at most %d allowed)",
                   i + 1, it->data_len, PG_MSG_MAX_LEN);
  if (it->data_len && !it->data)
    return pg_fail(d, PG_ERR_INVALID, "batch item %zu: no data bytes", i + 1);
  if (i == 0 && it->follows)
    return pg_fail(d, PG_ERR_INVALID, "batch item 1 follows, but nothing comes before it");
  return PG_OK;
}

static int count_ok(size_t n, pg_diag *d) {
  if (n < 1 || n > PG_BATCH_MAX_ITEMS)
    return pg_fail(d, PG_ERR_INVALID, "batch of %zu items (1..%d allowed)", n, PG_BATCH_MAX_ITEMS);
  return PG_OK;
}

int pg_batch_encode(pg_buf *out, const pg_batch_item *items, size_t n, pg_diag *d) {
  int rc = count_ok(n, d);
  for (size_t i = 0; rc == PG_OK && i < n; i++) rc = item_ok(&items[i], i, d);
  if (rc) return rc;
  size_t before = out->len;
  pg_buf_put_u8(out, PG_BATCH_VERSION);
  pg_buf_put_u16(out, (uint16_t)n);
  for (size_t i = 0; i < n; i++) {
    pg_buf_put_u8(out, items[i].follows ? 1 : 0);
    pg_buf_put_u8(out, (uint8_t)items[i].index_len);
    pg_buf_put(out, items[i].index, items[i].index_len);
    pg_buf_put_u32(out, (uint32_t)items[i].data_len);
    if (items[i].data_len) pg_buf_put(out, items[i].data, items[i].data_len);
  }
  if ((rc = pg_buf_status(out))) {
    out->len = before;
    return pg_fail(d, rc, "batch: the body does not fit its buffer");
  }
  return PG_OK;
}

static int read_item(pg_reader *r, size_t i, pg_batch_item *it, pg_diag *d) {
  uint8_t flags = 0, il = 0;
  uint32_t dl = 0;
  if (pg_read_u8(r, &flags) || pg_read_u8(r, &il))
    return pg_fail(d, PG_ERR_TRUNCATED, "batch item %zu: truncated before its index", i + 1);
  if (flags & ~1u)
    return pg_fail(d, PG_ERR_INVALID, "batch item %zu: unknown flags 0x%02x", i + 1, flags);
  *it = (pg_batch_item){.index_len = il, .follows = flags & 1};
  if (il < 1 || il > PG_INDEX_MAX_LEN) return item_ok(it, i, d);
  if (pg_read_view(r, il, &it->index) || pg_read_u32(r, &dl))
    return pg_fail(d, PG_ERR_TRUNCATED, "batch item %zu: truncated in its index", i + 1);
  it->data_len = dl;
  if (dl > PG_MSG_MAX_LEN) return item_ok(it, i, d);
  if (dl && pg_read_view(r, dl, &it->data))
    return pg_fail(d, PG_ERR_TRUNCATED, "batch item %zu: %u data bytes announced, %zu left", i + 1,
                   dl, pg_reader_left(r));
  return item_ok(it, i, d);
}

int pg_batch_parse(const uint8_t *body, size_t len, pg_batch_item items[PG_BATCH_MAX_ITEMS],
                   size_t *n, pg_diag *d) {
  *n = 0;
  pg_reader r;
  pg_reader_init(&r, body, len);
  uint8_t version = 0;
  uint16_t count = 0;
  if (pg_read_u8(&r, &version) || pg_read_u16(&r, &count))
    return pg_fail(d, PG_ERR_TRUNCATED, "batch: %zu bytes, shorter than its %d-byte head", len,
                   PG_BATCH_HEAD_LEN);
  if (version != PG_BATCH_VERSION)
    return pg_fail(d, PG_ERR_INVALID, "batch: version %u (this node reads version %d)", version,
                   PG_BATCH_VERSION);
  int rc = count_ok(count, d);
  for (size_t i = 0; rc == PG_OK && i < count; i++) rc = read_item(&r, i, &items[i], d);
  if (rc == PG_OK && pg_reader_left(&r))
    rc = pg_fail(d, PG_ERR_INVALID, "batch: %zu bytes after its last item", pg_reader_left(&r));
  if (rc == PG_OK) *n = count;
  return rc;
}

/* Each item's payload into pay[i]; those that built go to in[] (their
 * index in items at at[]), the others and their followers get their rc. */
static size_t build_items(const pg_batch_item *b, size_t n, int *rcs, pg_diag *diags,
                          pg_buf *pay, pg_tangle_item *in, size_t *at) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    pg_diag *d = diags ? &diags[i] : NULL;
    pg_buf_init(&pay[i], PG_MSG_MAX_LEN);
    if (b[i].follows && i > 0 && rcs[i - 1] != PG_OK)
      rcs[i] = pg_fail(d, PG_ERR_STATE, "not attached: the message before it was not");
    else
      rcs[i] = pg_indexation_build(&pay[i], b[i].index, b[i].index_len, b[i].data,
                                   b[i].data_len, d);
    if (rcs[i]) continue;
    in[m] = (pg_tangle_item){.payload = pay[i].data, .payload_len = pay[i].len,
                             .follows = b[i].follows, .d = d};
    at[m++] = i;
  }
  return m;
}

int pg_tangle_attach_data_many(pg_tangle *t, const pg_batch_item *items, size_t n, int *rcs,
                               uint8_t (*ids)[PG_ID_LEN], pg_diag *diags) {
  pg_tangle_item *in = calloc(n + 1, sizeof *in);
  pg_buf *pay = calloc(n + 1, sizeof *pay);
  size_t *at = calloc(n + 1, sizeof *at), m = 0;
  int rc = in && pay && at ? PG_OK : PG_ERR_NOMEM;
  if (rc) {
    for (size_t i = 0; i < n; i++) rcs[i] = pg_fail(diags ? &diags[i] : NULL, rc, "out of memory");
  } else {
    m = build_items(items, n, rcs, diags, pay, in, at);
    rc = m ? pg_tangle_attach_many(t, in, m) : PG_OK;
  }
  for (size_t k = 0; k < m; k++) {
    size_t i = at[k];
    rcs[i] = rc ? pg_fail(diags ? &diags[i] : NULL, rc, "attach: %s", pg_strerror(rc)) : in[k].rc;
    if (rcs[i] == PG_OK) memcpy(ids[i], in[k].id, PG_ID_LEN);
  }
  for (size_t i = 0; pay && i < n; i++) pg_buf_free(&pay[i]);
  free(in), free(pay), free(at);
  return rc;
}
