/* Fuzz target: parse arbitrary bytes as a grid channel message, a
 * registration body, a return-channel body, a registration answer, a
 * settlement record message, a record line's plaintext and a registration
 * path. Whatever
 * parses must serialise, parse back equal, and serialise to the same bytes;
 * every failure must come with a diagnostic. Channel messages of both
 * versions (1: electricity in kWh; 2: any resource in base-unit integers)
 * also round-trip when re-marked as version 2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/grid/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_bytes_equal(const pg_buf *a, const pg_buf *b) {
  if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0)) abort();
}

/* hello, output, usage: version 1 is electricity in Wh, version 2 names its
 * resource; the same message re-marked as version 2 (any resource may be
 * written so) serialises, parses back equal and as version 2. */
static void check_versions(const pg_grid_msg *m) {
  if (m->command != PG_GRID_CMD_HELLO && m->command != PG_GRID_CMD_OUTPUT &&
      m->command != PG_GRID_CMD_USAGE)
    return;
  if (m->version == PG_GRID_VERSION_1 &&
      (strcmp(m->resource, "electricity") != 0 || strcmp(m->unit, "Wh") != 0))
    abort();
  if (m->version != PG_GRID_VERSION_1 && (m->version != PG_GRID_VERSION_2 || !m->resource[0]))
    abort();
  pg_grid_msg v2 = *m, back;
  v2.version = PG_GRID_VERSION_2;
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  if (pg_grid_msg_serialize(&v2, &b, NULL) != PG_OK) abort();
  if (pg_grid_msg_parse(b.data, b.len, &back, NULL) != PG_OK) abort();
  if (!pg_grid_msg_equal(&v2, &back) || back.version != PG_GRID_VERSION_2) abort();
  if (m->version == PG_GRID_VERSION_1 && pg_grid_msg_equal(m, &back)) abort();
  pg_buf_free(&b);
}

static void fuzz_msg(const uint8_t *data, size_t size) {
  pg_grid_msg m, back;
  pg_diag d = {{0}};
  if (pg_grid_msg_parse(data, size, &m, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  pg_buf b1, b2;
  pg_buf_init(&b1, 1 << 16);
  pg_buf_init(&b2, 1 << 16);
  if (pg_grid_msg_validate(&m, NULL) != PG_OK) abort();
  if (pg_grid_msg_serialize(&m, &b1, NULL) != PG_OK) abort();
  if (pg_grid_msg_parse(b1.data, b1.len, &back, NULL) != PG_OK) abort();
  if (!pg_grid_msg_equal(&m, &back)) abort();
  if (pg_grid_msg_serialize(&back, &b2, NULL) != PG_OK) abort();
  check_bytes_equal(&b1, &b2);
  check_versions(&m);
  pg_buf_free(&b1);
  pg_buf_free(&b2);
}

static void fuzz_registration(const uint8_t *data, size_t size) {
  pg_grid_registration r, r2;
  pg_diag d = {{0}};
  if (pg_grid_registration_parse(data, size, &r, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  if (pg_grid_registration_serialize(&r, &b, NULL) != PG_OK) abort();
  if (pg_grid_registration_parse(b.data, b.len, &r2, NULL) != PG_OK) abort();
  if (strcmp(r.name, r2.name) || r.type != r2.type || r.mode != r2.mode ||
      strcmp(r.channel.root, r2.channel.root) || strcmp(r.channel.side_key, r2.channel.side_key) ||
      r.time != r2.time || r.signature.sig_len != r2.signature.sig_len ||
      memcmp(r.signature.sig, r2.signature.sig, r.signature.sig_len) ||
      strcmp(r.payment_address, r2.payment_address))
    abort();
  /* the binding bytes of whatever parses are well defined */
  pg_buf bb;
  pg_buf_init(&bb, 1024);
  if (pg_grid_binding_bytes("fuzz", &r.channel, r.time, &bb, NULL) != PG_OK) abort();
  pg_buf_free(&bb);
  pg_buf_free(&b);
}

static void fuzz_channel(const uint8_t *data, size_t size) {
  pg_grid_channel c, c2;
  pg_diag d = {{0}};
  if (pg_grid_channel_parse(data, size, &c, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  if (pg_grid_channel_serialize(&c, &b, NULL) != PG_OK) abort();
  if (pg_grid_channel_parse(b.data, b.len, &c2, NULL) != PG_OK) abort();
  if (strcmp(c.root, c2.root) || strcmp(c.side_key, c2.side_key)) abort();
  pg_buf_free(&b);
}

static void fuzz_settlement(const uint8_t *data, size_t size) {
  pg_grid_settlement s, back;
  pg_diag d = {{0}};
  pg_grid_command c;
  bool peek = pg_grid_peek_command(data, size, &c, NULL) == PG_OK;
  if (pg_grid_settlement_parse(data, size, &s, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    pg_grid_settlement_free(&s);
    return;
  }
  if (!peek || c != PG_GRID_CMD_SETTLEMENT) abort();
  pg_buf b1, b2;
  pg_buf_init(&b1, PG_GRID_MAX_SETTLEMENT_JSON * 2);
  pg_buf_init(&b2, PG_GRID_MAX_SETTLEMENT_JSON * 2);
  if (pg_grid_settlement_serialize(&s, &b1, NULL) != PG_OK) abort();
  if (pg_grid_settlement_parse(b1.data, b1.len, &back, NULL) != PG_OK) abort();
  if (!pg_grid_settlement_equal(&s, &back)) abort();
  if (pg_grid_settlement_serialize(&back, &b2, NULL) != PG_OK) abort();
  check_bytes_equal(&b1, &b2);
  /* a line is never opened by a key it was not sealed for */
  uint8_t m[PG_RECORD_KEY] = {0};
  pg_record_plain p;
  for (size_t i = 0; i < s.n_lines; i++)
    if (pg_record_open(m, s.slot, &s.lines[i], &p, NULL) == PG_OK) abort();
  pg_grid_settlement_free(&s);
  pg_grid_settlement_free(&back);
  pg_buf_free(&b1);
  pg_buf_free(&b2);
}

static void fuzz_plain(const uint8_t *data, size_t size) {
  pg_record_plain p;
  pg_diag d = {{0}};
  if (pg_record_plain_parse(data, size, &p, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  /* only the canonical text parses: it serialises to itself */
  pg_buf b;
  pg_buf_init(&b, PG_RECORD_MAX_PLAIN);
  if (pg_record_plain_serialize(&p, &b, NULL) != PG_OK) abort();
  if (b.len != size || memcmp(b.data, data, size) != 0) abort();
  pg_buf_free(&b);
}

static void fuzz_answer(const uint8_t *data, size_t size) {
  pg_grid_reg_answer a, a2;
  pg_diag d = {{0}};
  if (pg_grid_reg_answer_parse(data, size, &a, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  if (pg_grid_reg_answer_serialize(&a, &b, NULL) != PG_OK) abort();
  if (pg_grid_reg_answer_parse(b.data, b.len, &a2, NULL) != PG_OK) abort();
  if (a.has_return != a2.has_return || strcmp(a.record, a2.record) ||
      (a.has_return && (strcmp(a.ret.root, a2.ret.root) || strcmp(a.ret.side_key, a2.ret.side_key))))
    abort();
  pg_buf_free(&b);
}

static void fuzz_kwh_text(const uint8_t *data, size_t size) {
  int64_t wh = -1;
  pg_diag d = {{0}};
  if (pg_grid_kwh_parse((const char *)data, size, "x", &wh, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  if (wh < 0 || wh > PG_GRID_MAX_WH) abort();
  char txt[PG_GRID_KWH_TEXT];
  int64_t back = -1;
  if (pg_grid_kwh_format(wh, txt, sizeof txt) != PG_OK) abort();
  if (pg_grid_kwh_parse(txt, strlen(txt), "x", &back, NULL) != PG_OK || back != wh) abort();
}

static void fuzz_path(const uint8_t *data, size_t size) {
  char id[PG_GRID_MAX_ID + 1], key[PG_GRID_TRYTES + 1];
  pg_diag d = {{0}};
  if (pg_grid_registration_path((const char *)data, size, id, key, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  if (!pg_grid_is_id(id, strlen(id)) || !pg_grid_is_trytes(key, strlen(key))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_msg(data, size);
  fuzz_registration(data, size);
  fuzz_channel(data, size);
  fuzz_answer(data, size);
  fuzz_settlement(data, size);
  fuzz_plain(data, size);
  fuzz_kwh_text(data, size);
  fuzz_path(data, size);
  return 0;
}
