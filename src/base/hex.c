#include "p2pgrid/base/hex.h"

#include <stdlib.h>
#include <string.h>

static const char HEX[] = "0123456789abcdef";

void pg_hex_encode(const uint8_t *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = HEX[in[i] >> 4];
    out[2 * i + 1] = HEX[in[i] & 15];
  }
  out[2 * n] = '\0';
}

char *pg_hex_dup(const uint8_t *in, size_t n) {
  char *s = malloc(2 * n + 1);
  if (s) pg_hex_encode(in, n, s);
  return s;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int pg_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *out_len) {
  if (slen % 2) return PG_ERR_INVALID;
  if (slen / 2 > outcap) return PG_ERR_TOO_LARGE;
  for (size_t i = 0; i < slen / 2; i++) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return PG_ERR_INVALID;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  if (out_len) *out_len = slen / 2;
  return PG_OK;
}

int pg_hex_decode_exact(const char *s, uint8_t *out, size_t n) {
  if (!s || strlen(s) != 2 * n) return PG_ERR_INVALID;
  return pg_hex_decode(s, 2 * n, out, n, NULL);
}
