/* Fuzz target: arbitrary bytes -> pg_outputs_req_parse and
 * pg_outputs_ans_parse (the request and answer bodies of
 * POST /api/plugins/data/outputs, p2pgrid/ledger/outputs.h).
 * The whole input is parsed as a request: one that parses has no flag but
 * raw, a budget of at least PG_OUTPUTS_BUDGET_MIN, 1..1,000 ids viewing the
 * input right after the head and nothing after them, and encodes again to
 * the very same bytes.
 * The answer: the input's first byte gives the raw flag (bit 0), the next two
 * the ids asked (u16 LE modulo 1,002, so 0 and 1,001 too), the ids are the
 * input's bytes over and over, and the rest is the answer's body. An answer
 * that parses has 1..asked items (asked 1..1,000), flags that are the
 * request's, found items whose output_id is the asked id and whose fields can
 * be (type 0..1, amount 1..PG_TOKEN_SUPPLY, a spent output at index >= 1, an
 * unspent one with zero spent index and transaction), raw bytes only with
 * raw, at most PG_MSG_MAX_LEN, viewing the body, never for a zero messageId,
 * missing items with nothing set, and is written again by the
 * pg_outputs_ans_* writer to the very same bytes. The whole input is parsed
 * as an answer too, to 1,000 ids, with raw and without: at most one succeeds.
 * What does not parse gives no ids or items and a message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/ledger/outputs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "fuzz_ledger_outputs: check failed: %s (line %d)\n", #c, __LINE__);          \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static const uint8_t ZERO[64];

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size) {
  return n == 0 || (p && p >= data && p + n <= data + size);
}

static void fuzz_req(const uint8_t *data, size_t size) {
  pg_outputs_req r = {.count = 99, .ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])data};
  pg_diag d = {{0}};
  if (pg_outputs_req_parse(data, size, &r, &d) != PG_OK) {
    CHECK(r.count == 0 && r.ids == NULL && d.msg[0]);
    return;
  }
  CHECK(size >= PG_OUTPUTS_REQ_HEAD_LEN && data[0] == PG_OUTPUTS_VERSION);
  CHECK((data[1] & ~PG_OUTPUTS_FLAG_RAW) == 0);
  CHECK(r.raw == ((data[1] & PG_OUTPUTS_FLAG_RAW) != 0));
  CHECK(r.budget >= PG_OUTPUTS_BUDGET_MIN);
  CHECK(r.count >= 1 && r.count <= PG_OUTPUTS_MAX_IDS);
  CHECK((const uint8_t *)r.ids == data + PG_OUTPUTS_REQ_HEAD_LEN);
  CHECK(size == PG_OUTPUTS_REQ_HEAD_LEN + r.count * PG_OUTPUT_ID_LEN);
  CHECK(inside((const uint8_t *)r.ids, r.count * PG_OUTPUT_ID_LEN, data, size));
  pg_buf b;
  pg_buf_init(&b, size + 1);
  CHECK(pg_outputs_req_encode(&b, &r, &d) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  pg_buf_free(&b);
}

/* Item i of an answer that parsed, checked and written again to b. */
static void check_item(const pg_outputs_item *it, const uint8_t id[PG_OUTPUT_ID_LEN], bool raw,
                       const uint8_t *body, size_t len, pg_buf *b) {
  if (!it->found) {
    static const pg_output_info none;
    CHECK(memcmp(&it->info, &none, sizeof none) == 0);
    CHECK(it->raw == NULL && it->raw_len == 0);
    pg_outputs_ans_missing(b);
    return;
  }
  const pg_output_info *o = &it->info;
  CHECK(memcmp(o->output_id, id, PG_OUTPUT_ID_LEN) == 0);
  CHECK(o->type <= 1);
  CHECK(o->amount >= 1 && o->amount <= PG_TOKEN_SUPPLY);
  if (o->spent)
    CHECK(o->spent_index >= 1);
  else
    CHECK(o->spent_index == 0 && memcmp(o->spent_tx_id, ZERO, 32) == 0);
  CHECK(it->raw_len <= PG_MSG_MAX_LEN);
  CHECK(raw || it->raw_len == 0);
  CHECK((it->raw == NULL) == (it->raw_len == 0));
  CHECK(inside(it->raw, it->raw_len, body, len));
  CHECK(it->raw_len == 0 || memcmp(o->message_id, ZERO, PG_ID_LEN) != 0);
  pg_outputs_ans_found(b, raw, o, it->raw, it->raw_len);
}

/* 1 when body parses as the answer to `asked` ids (ids) with raw. */
static int fuzz_ans(const uint8_t *body, size_t len, const uint8_t (*ids)[PG_OUTPUT_ID_LEN],
                    size_t asked, bool raw) {
  static pg_outputs_item items[PG_OUTPUTS_MAX_IDS + 1];
  size_t n = 99;
  pg_diag d = {{0}};
  if (pg_outputs_ans_parse(body, len, ids, asked, raw, items, &n, &d) != PG_OK) {
    CHECK(n == 0 && d.msg[0]);
    return 0;
  }
  CHECK(asked >= 1 && asked <= PG_OUTPUTS_MAX_IDS);
  CHECK(n >= 1 && n <= asked);
  CHECK(len >= PG_OUTPUTS_ANS_HEAD_LEN && body[0] == PG_OUTPUTS_VERSION);
  CHECK(body[1] == (raw ? PG_OUTPUTS_FLAG_RAW : 0));
  CHECK((size_t)(body[2] | body[3] << 8) == n);
  pg_buf b;
  pg_buf_init(&b, len + 1);
  pg_outputs_ans_begin(&b, raw);
  for (size_t i = 0; i < n; i++) check_item(&items[i], ids[i], raw, body, len, &b);
  CHECK(pg_outputs_ans_end(&b, 0, n) == PG_OK);
  CHECK(b.len == len && memcmp(b.data, body, len) == 0);
  pg_buf_free(&b);
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t ids[PG_OUTPUTS_MAX_IDS + 1][PG_OUTPUT_ID_LEN];
  fuzz_req(data, size);
  /* the input's bytes over and over as ids (zero without input) */
  uint8_t *p = &ids[0][0];
  size_t have = size < sizeof ids ? size : sizeof ids;
  memset(p, 0, sizeof ids);
  if (have) memcpy(p, data, have);
  for (; have && have < sizeof ids; have *= 2)
    memcpy(p + have, p, have < sizeof ids - have ? have : sizeof ids - have);
  const uint8_t(*cids)[PG_OUTPUT_ID_LEN] = (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids;
  /* the whole input as an answer, to 1,000 ids */
  int plain = fuzz_ans(data, size, cids, PG_OUTPUTS_MAX_IDS, false);
  int with_raw = fuzz_ans(data, size, cids, PG_OUTPUTS_MAX_IDS, true);
  CHECK(!(plain && with_raw));
  /* the input as raw flag, ids asked and body */
  if (size < 3) return 0;
  bool raw = data[0] & 1;
  size_t asked = (size_t)(data[1] | data[2] << 8) % (PG_OUTPUTS_MAX_IDS + 2);
  /* an exact copy of the body, so ASan sees a read past its end */
  size_t len = size - 3;
  uint8_t *body = malloc(len ? len : 1);
  if (!body) return 0;
  if (len) memcpy(body, data + 3, len);
  fuzz_ans(body, len, cids, asked, raw);
  free(body);
  return 0;
}
