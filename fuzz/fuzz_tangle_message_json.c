/* Fuzz target: arbitrary bytes -> JSON -> message draft. A draft that is
 * accepted must make a message (with its parents, or a dummy parent) that
 * parses, and that message must survive message -> JSON -> draft unchanged. */
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
      fprintf(stderr, "fuzz_tangle_message_json: check failed: %s (line %d)\n", #c, __LINE__);     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static void round_trip(const uint8_t *bytes, size_t len, const pg_message *m) {
  json_t *j = pg_message_to_json(m);
  CHECK(j != NULL);
  pg_message_draft dr;
  pg_diag d;
  int rc = pg_message_draft_from_json(j, &dr, &d);
  if (rc) fprintf(stderr, "%s\n", d.msg);
  CHECK(rc == PG_OK);
  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  CHECK(pg_message_build(&b, dr.network_id, &dr.parents[0][0], dr.parents_count, dr.payload.data,
                         dr.payload.len, dr.nonce, &d) == PG_OK);
  CHECK(b.len == len && memcmp(b.data, bytes, len) == 0);
  pg_buf_free(&b);
  pg_message_draft_clear(&dr);
  json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t e;
  json_t *j = json_loadb((const char *)data, size, 0, &e);
  if (!j) return 0;
  pg_message_draft dr;
  pg_diag d;
  pg_diag_clear(&d);
  int rc = pg_message_draft_from_json(j, &dr, &d);
  if (rc != PG_OK) {
    CHECK(rc < 0 && d.msg[0] != '\0');
    pg_message_draft_clear(&dr);
    json_decref(j);
    return 0;
  }
  uint8_t dummy[PG_ID_LEN] = {0};
  const uint8_t *parents = dr.parents_count ? &dr.parents[0][0] : dummy;
  size_t np = dr.parents_count ? dr.parents_count : 1;
  pg_message pm;
  memset(&pm, 0, sizeof pm);
  if (dr.payload.len) {
    CHECK(pg_payload_parse(dr.payload.data, dr.payload.len, &pm, &d) == PG_OK);
    /* a milestone's parents are the message's parents */
    if (pm.payload_type == PG_PAYLOAD_MILESTONE && !dr.parents_count) {
      parents = pm.u.milestone.parents;
      np = pm.u.milestone.parents_count;
    }
  }
  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  rc = pg_message_build(&b, dr.network_id, parents, np, dr.payload.data, dr.payload.len, dr.nonce,
                        &d);
  CHECK(rc == PG_OK);
  pg_message m;
  rc = pg_message_parse(b.data, b.len, &m, &d);
  if (rc != PG_OK) {
    /* the only legitimate failure: given parents differ from the milestone's */
    CHECK(pm.payload_type == PG_PAYLOAD_MILESTONE && strstr(d.msg, "milestone parents differ"));
  } else {
    if (m.payload_type != PG_PAYLOAD_MILESTONE || m.u.milestone.timestamp <= (uint64_t)INT64_MAX)
      round_trip(b.data, b.len, &m);
    pg_message_clear(&m);
  }
  if (dr.payload.len) pg_message_clear(&pm);
  pg_buf_free(&b);
  pg_message_draft_clear(&dr);
  json_decref(j);
  return 0;
}
