/* test_util_fake_raw.h — for the in-memory fakes of the node access
 * interface that keep submitted messages as JSON
 * ({"payload":{"type":2,"index":hex,"data":hex}}): tu_raw_of_json appends
 * the message's bytes (one parent, network id 0, nonce 0) to out, as a
 * node's GET messages/{id}/raw gives them. Include after <cmocka.h>. */
#ifndef P2PGRID_TEST_UTIL_FAKE_RAW_H
#define P2PGRID_TEST_UTIL_FAKE_RAW_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/message.h"

static int tu_raw_of_json(const json_t *msg, pg_buf *out, pg_diag *d) {
  const json_t *pl = json_object_get(msg, "payload");
  const char *ix = json_string_value(json_object_get(pl, "index"));
  const char *data = json_string_value(json_object_get(pl, "data"));
  assert_non_null(ix);
  assert_non_null(data);
  size_t il = 0, dl = 0;
  uint8_t *ib = malloc(strlen(ix) / 2 + 1), *db = malloc(strlen(data) / 2 + 1);
  assert_non_null(ib);
  assert_non_null(db);
  assert_int_equal(pg_hex_decode(ix, strlen(ix), ib, strlen(ix) / 2 + 1, &il), PG_OK);
  assert_int_equal(pg_hex_decode(data, strlen(data), db, strlen(data) / 2 + 1, &dl), PG_OK);
  pg_buf payload;
  pg_buf_init(&payload, PG_MSG_MAX_LEN);
  static const uint8_t parent[PG_ID_LEN] = {1};
  int rc = pg_indexation_build(&payload, ib, il, db, dl, d);
  if (!rc) rc = pg_message_build(out, 0, parent, 1, payload.data, payload.len, 0, d);
  pg_buf_free(&payload);
  free(ib);
  free(db);
  return rc;
}

#endif
