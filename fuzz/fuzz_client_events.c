/* Fuzz target: the parsers of what an MQTT broker delivers to the entity
 * daemons' event subscriber (include/p2pgrid/client/events.h).
 * 1. The input as a milestones/confirmed payload: success gives values that,
 *    written back as {"index","timestamp"}, parse to the same values;
 *    failure has a diag.
 * 2. The input as an output payload: success gives an amount in 1..supply,
 *    a type 0 or 1, an output index 0..126, and the values written back in
 *    the node's shape parse to the same struct; failure has a diag. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/client/events.h"
#include "p2pgrid/base/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_milestone(const uint8_t *data, size_t size) {
  uint32_t index = 0, index2 = 0;
  uint64_t ts = 0, ts2 = 0;
  pg_diag d = {{0}};
  if (pg_events_parse_milestone(data, size, &index, &ts, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  char buf[96];
  int n = snprintf(buf, sizeof buf, "{\"index\":%" PRIu32 ",\"timestamp\":%" PRIu64 "}", index, ts);
  if (n <= 0 || (size_t)n >= sizeof buf) abort();
  if (pg_events_parse_milestone(buf, (size_t)n, &index2, &ts2, &d) != PG_OK) abort();
  if (index2 != index || ts2 != ts) abort();
}

static void fuzz_output(const uint8_t *data, size_t size) {
  pg_event_output o, o2;
  pg_diag d = {{0}};
  if (pg_events_parse_output(data, size, &o, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
    return;
  }
  unsigned index = (unsigned)o.output_id[32] | (unsigned)o.output_id[33] << 8;
  if (o.amount < 1 || o.amount > 2779530283277761ULL || o.type > 1 || index > 126) abort();
  char mid[65], tx[65], addr[65], buf[512];
  pg_hex_encode(o.message_id, 32, mid);
  pg_hex_encode(o.output_id, 32, tx);
  pg_hex_encode(o.address, 32, addr);
  int n = snprintf(buf, sizeof buf,
                   "{\"messageId\":\"%s\",\"transactionId\":\"%s\",\"outputIndex\":%u,"
                   "\"isSpent\":%s,\"ledgerIndex\":%" PRIu32 ",\"output\":{\"type\":%u,"
                   "\"address\":{\"type\":0,\"address\":\"%s\"},\"amount\":%" PRIu64 "}}",
                   mid, tx, index, o.spent ? "true" : "false", o.ledger_index, (unsigned)o.type,
                   addr, o.amount);
  if (n <= 0 || (size_t)n >= sizeof buf) abort();
  if (pg_events_parse_output(buf, (size_t)n, &o2, &d) != PG_OK) abort();
  if (memcmp(&o, &o2, sizeof o) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_milestone(data, size);
  fuzz_output(data, size);
  return 0;
}
