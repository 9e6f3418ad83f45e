/* Fuzz target: arbitrary bytes as tryte chars and as trits must never crash
 * the decoders; whatever decodes re-encodes to the same input; and every byte
 * string survives an encode/decode round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/crypto/ternary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MAX_IN) size = MAX_IN;
  static uint8_t bytes[MAX_IN], back[MAX_IN];
  static pg_trit trits[6 * MAX_IN];
  static char trytes[2 * MAX_IN];

  /* 1. input as tryte chars */
  const char *s = (const char *)data;
  bool valid = pg_trytes_valid(s, size);
  int rc = pg_trytes_to_trits(s, size, trits);
  if ((rc == PG_OK) != valid) abort();
  if (rc == PG_OK) {
    pg_trits_to_trytes(trits, 3 * size, trytes);
    if (memcmp(trytes, s, size) != 0) abort();
  }
  rc = pg_b1t6_decode_trytes(s, size, bytes);
  if (rc == PG_OK) {
    pg_b1t6_encode_trytes(bytes, size / 2, trytes);
    if (memcmp(trytes, s, size) != 0) abort();
    /* the trits form agrees */
    if (pg_trytes_to_trits(s, size, trits) != PG_OK) abort();
    if (pg_b1t6_decode(trits, 3 * size, back) != PG_OK) abort();
    if (memcmp(back, bytes, size / 2) != 0) abort();
  }

  /* 2. input bytes as raw trits (mostly out of range) and as trits mod 3 */
  rc = pg_b1t6_decode((const pg_trit *)data, size, bytes);
  if (rc == PG_OK) {
    pg_b1t6_encode(bytes, size / 6, trits);
    if (memcmp(trits, data, size) != 0) abort();
  }
  for (size_t i = 0; i < size; i++) trits[i] = (pg_trit)((int)(data[i] % 3) - 1);
  rc = pg_b1t6_decode(trits, size - size % 6, bytes);
  if (rc == PG_OK) {
    pg_b1t6_encode(bytes, size / 6, trits + 3 * MAX_IN);
    if (memcmp(trits + 3 * MAX_IN, trits, size - size % 6) != 0) abort();
  }

  /* 3. input as bytes: round trips */
  pg_b1t6_encode(data, size, trits);
  if (pg_b1t6_decode(trits, 6 * size, back) != PG_OK) abort();
  if (size && memcmp(back, data, size) != 0) abort();
  pg_b1t6_encode_trytes(data, size, trytes);
  if (!pg_trytes_valid(trytes, 2 * size)) abort();
  if (pg_b1t6_decode_trytes(trytes, 2 * size, back) != PG_OK) abort();
  if (size && memcmp(back, data, size) != 0) abort();
  return 0;
}
