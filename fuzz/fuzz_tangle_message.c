/* Fuzz target: arbitrary bytes -> pg_message_parse. Whatever parses must
 * re-serialise to the same bytes from its parts (message, indexation and
 * milestone builders) and survive message -> JSON -> draft -> bytes, and
 * pg_message_parents (the store's read of a stored message's parents) must
 * give its parents; on any bytes pg_message_parents either fails with a
 * message and no parents or gives 1..8 sorted, unique ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/message_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "fuzz_tangle_message: check failed: %s (line %d)\n", #c, __LINE__);          \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static void check_parts(const uint8_t *data, size_t size, const pg_message *m) {
  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  pg_diag d;
  CHECK(pg_message_build(&b, m->network_id, m->parents, m->parents_count, m->payload,
                         m->payload_len, m->nonce, &d) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);

  if (m->payload_type == PG_PAYLOAD_INDEXATION) {
    pg_buf_reset(&b);
    const pg_indexation *ix = &m->u.indexation;
    CHECK(pg_indexation_build(&b, ix->index, ix->index_len, ix->data, ix->data_len, &d) == PG_OK);
    CHECK(b.len == m->payload_len && memcmp(b.data, m->payload, b.len) == 0);
  } else if (m->payload_type == PG_PAYLOAD_MILESTONE && m->u.milestone.receipt_len == 0) {
    const pg_milestone *ms = &m->u.milestone;
    pg_milestone_draft dr;
    memset(&dr, 0, sizeof dr);
    dr.index = ms->index;
    dr.timestamp = ms->timestamp;
    dr.parents_count = ms->parents_count;
    memcpy(dr.parents, ms->parents, (size_t)32 * ms->parents_count);
    memcpy(dr.inclusion_merkle_proof, ms->inclusion_merkle_proof, 32);
    dr.next_pow_score = ms->next_pow_score;
    dr.next_pow_score_milestone_index = ms->next_pow_score_milestone_index;
    dr.keys_count = ms->keys_count;
    memcpy(dr.public_keys, ms->public_keys, (size_t)32 * ms->keys_count);
    pg_buf_reset(&b);
    CHECK(pg_milestone_essence(&b, &dr, &d) == PG_OK);
    CHECK(b.len == ms->essence_len && memcmp(b.data, ms->essence, b.len) == 0);
    pg_buf_reset(&b);
    CHECK(pg_milestone_build(&b, &dr, (const uint8_t(*)[64])ms->signatures, &d) == PG_OK);
    CHECK(b.len == m->payload_len && memcmp(b.data, m->payload, b.len) == 0);
  } else if (m->payload_type == PG_PAYLOAD_TRANSACTION) {
    const pg_transaction *tx = m->u.transaction;
    CHECK(tx->inputs_count == tx->unlocks_count);
    CHECK(tx->essence == m->payload + 4);
  }
  pg_buf_free(&b);

  /* payload parsed on its own gives the same result */
  if (m->payload) {
    pg_message p;
    memset(&p, 0, sizeof p);
    CHECK(pg_payload_parse(m->payload, m->payload_len, &p, &d) == PG_OK);
    CHECK(p.payload_type == m->payload_type);
    pg_message_clear(&p);
  }
}

static void check_json(const uint8_t *data, size_t size, const pg_message *m) {
  /* receipts are output-only; huge milestone timestamps become JSON reals */
  if (m->payload_type == PG_PAYLOAD_MILESTONE &&
      (m->u.milestone.receipt_len || m->u.milestone.timestamp > (uint64_t)INT64_MAX))
    return;
  json_t *j = pg_message_to_json(m);
  CHECK(j != NULL);
  char *s = json_dumps(j, JSON_COMPACT);
  CHECK(s != NULL);
  json_error_t e;
  json_t *again = json_loads(s, 0, &e);
  CHECK(again != NULL);
  pg_message_draft dr;
  pg_diag d;
  int rc = pg_message_draft_from_json(again, &dr, &d);
  if (rc != PG_OK) fprintf(stderr, "draft failed: %s\n%s\n", d.msg, s);
  CHECK(rc == PG_OK);
  CHECK(dr.has_network_id && dr.has_nonce && dr.parents_count == m->parents_count);
  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  CHECK(pg_message_build(&b, dr.network_id, &dr.parents[0][0], dr.parents_count, dr.payload.data,
                         dr.payload.len, dr.nonce, &d) == PG_OK);
  CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  pg_buf_free(&b);
  pg_message_draft_clear(&dr);
  json_decref(again);
  free(s);
  json_decref(j);
}

/* pg_message_parents on any bytes; agrees with a successful parse (m). */
static void check_parents(const uint8_t *data, size_t size, const pg_message *m) {
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  uint8_t n = 99;
  pg_diag d;
  pg_diag_clear(&d);
  int rc = pg_message_parents(data, size, parents, &n, &d);
  if (rc != PG_OK) {
    CHECK(m == NULL && n == 0 && rc < 0 && d.msg[0] != '\0');
    return;
  }
  CHECK(n >= 1 && n <= PG_MSG_MAX_PARENTS);
  for (uint8_t i = 1; i < n; i++) CHECK(memcmp(parents[i - 1], parents[i], PG_ID_LEN) < 0);
  if (m) CHECK(m->parents_count == n && memcmp(m->parents, parents, (size_t)n * PG_ID_LEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_message m;
  pg_diag d;
  pg_diag_clear(&d);
  int rc = pg_message_parse(data, size, &m, &d);
  check_parents(data, size, rc == PG_OK ? &m : NULL);
  if (rc != PG_OK) {
    CHECK(d.msg[0] != '\0');
    CHECK(rc < 0);
    /* also exercise the payload parser on the raw bytes */
    pg_message p;
    memset(&p, 0, sizeof p);
    if (pg_payload_parse(data, size, &p, &d) == PG_OK) pg_message_clear(&p);
    return 0;
  }
  check_parts(data, size, &m);
  check_json(data, size, &m);
  pg_message_clear(&m);
  return 0;
}
