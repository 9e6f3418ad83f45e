/* Fuzz target: decode arbitrary bytes as bech32; whatever decodes must
 * re-encode to the same string (lowercased), and the byte-level and TIP-11
 * decoders must agree with the 5-bit decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/bech32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  char hrp[PG_BECH32_MAX_HRP + 1], enc[PG_BECH32_MAX_LEN + 1];
  uint8_t d5[PG_BECH32_MAX_DATA5], bytes[PG_BECH32_MAX_BYTES];
  size_t n5 = 0, nb = 0;
  pg_diag d;

  int rc = pg_bech32_decode(s, size, hrp, sizeof hrp, d5, sizeof d5, &n5, &d);
  if (rc == PG_OK) {
    if (pg_bech32_encode(hrp, d5, n5, enc, sizeof enc) != PG_OK) abort();
    if (strlen(enc) != size) abort();
    for (size_t i = 0; i < size; i++) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
      if (enc[i] != c) abort();
    }
  } else if (d.msg[0] == '\0') {
    abort(); /* every failure must say why */
  }

  d.msg[0] = '\0';
  int rcb = pg_bech32_decode_bytes(s, size, hrp, sizeof hrp, bytes, sizeof bytes, &nb, &d);
  if (rcb == PG_OK) {
    if (rc != PG_OK) abort();
    if (pg_bech32_encode_bytes(hrp, bytes, nb, enc, sizeof enc) != PG_OK) abort();
    if (strlen(enc) != size) abort();
  } else if (d.msg[0] == '\0') {
    abort();
  }

  uint8_t addr[PG_IOTA_ADDR_LEN];
  if (pg_iota_address_decode(s, size, NULL, hrp, sizeof hrp, addr, &d) == PG_OK) {
    if (rcb != PG_OK || nb != 1 + PG_IOTA_ADDR_LEN) abort();
    if (pg_iota_address_encode(hrp, addr, enc, sizeof enc) != PG_OK) abort();
  }

  /* also treat the input as raw bytes to encode */
  if (size <= PG_BECH32_MAX_BYTES) {
    rc = pg_bech32_encode_bytes("fz", data, size, enc, sizeof enc);
    if (rc == PG_OK) {
      if (pg_bech32_decode_bytes(enc, strlen(enc), hrp, sizeof hrp, bytes, sizeof bytes, &nb,
                                 NULL) != PG_OK)
        abort();
      if (nb != size || (size && memcmp(bytes, data, size) != 0)) abort();
    }
  }
  return 0;
}
