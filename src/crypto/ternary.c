/* Balanced trits, trytes and b1t6 (TIP-5). See p2pgrid/crypto/ternary.h. */
#include "p2pgrid/crypto/ternary.h"

const char PG_TRYTE_ALPHABET[28] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ";

int pg_tryte_value(char c) {
  if (c == '9') return 0;
  if (c >= 'A' && c <= 'M') return c - 'A' + 1;
  if (c >= 'N' && c <= 'Z') return c - 'N' - 13;
  return PG_TRYTE_INVALID;
}

/* Without a branch a character, so the compiler runs it many bytes at a
 * time: a record part is some 64,000 trytes, checked before it is packed. */
bool pg_trytes_valid(const char *s, size_t n) {
  unsigned bad = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    bad |= (unsigned)(c != '9') & (unsigned)((unsigned char)(c - 'A') > 25);
  }
  return bad == 0;
}

/* Balanced trits of a tryte value -13..13, least significant first. */
static void tryte_to_trits(int v, pg_trit *t) {
  for (int k = 0; k < 3; k++) {
    int r = ((v % 3) + 3) % 3; /* 0, 1, 2 */
    if (r == 2) r = -1;
    t[k] = (pg_trit)r;
    v = (v - r) / 3;
  }
}

int pg_trytes_to_trits(const char *trytes, size_t n, pg_trit *trits) {
  for (size_t i = 0; i < n; i++) {
    int v = pg_tryte_value(trytes[i]);
    if (v < -13) return PG_ERR_INVALID;
    tryte_to_trits(v, trits + 3 * i);
  }
  return PG_OK;
}

static char tryte_char(int v) { return PG_TRYTE_ALPHABET[v < 0 ? v + 27 : v]; }

/* Branch-free so that it vectorises (a payload is thousands of trytes): the
 * alphabet is '9' for 0, 'A' + v - 1 for 1..13 and 'N' + v + 13 for -13..-1;
 * out-of-range trits (a sum outside -13..13) give '9'. */
void pg_trits_to_trytes(const pg_trit *trits, size_t ntrits, char *trytes) {
  const size_t n = ntrits / 3;
  for (size_t i = 0; i < n; i++) {
    int v = trits[3 * i] + 3 * trits[3 * i + 1] + 9 * trits[3 * i + 2];
    int c = 64 + v + 27 * (v < 0);
    c = v == 0 || v < -13 || v > 13 ? '9' : c;
    trytes[i] = (char)c;
  }
}

/* An int8 value v as two balanced trytes: v = lo + 27 * hi, lo and hi in -13..13. */
static void b1t6_split(uint8_t byte, int *lo, int *hi) {
  int v = (int)(int8_t)byte;
  int w = v + 364; /* 236..491 */
  *lo = w % 27 - 13;
  *hi = w / 27 - 13;
}

void pg_b1t6_encode(const uint8_t *bytes, size_t n, pg_trit *trits) {
  for (size_t i = 0; i < n; i++) {
    int lo, hi;
    b1t6_split(bytes[i], &lo, &hi);
    tryte_to_trits(lo, trits + 6 * i);
    tryte_to_trits(hi, trits + 6 * i + 3);
  }
}

void pg_b1t6_encode_trytes(const uint8_t *bytes, size_t n, char *trytes) {
  for (size_t i = 0; i < n; i++) {
    int lo, hi;
    b1t6_split(bytes[i], &lo, &hi);
    trytes[2 * i] = tryte_char(lo);
    trytes[2 * i + 1] = tryte_char(hi);
  }
}

int pg_b1t6_decode(const pg_trit *trits, size_t ntrits, uint8_t *bytes) {
  if (ntrits % 6 != 0) return PG_ERR_INVALID;
  for (size_t i = 0; i < ntrits / 6; i++) {
    const pg_trit *t = trits + 6 * i;
    int v = 0;
    for (int k = 5; k >= 0; k--) {
      if (t[k] < -1 || t[k] > 1) return PG_ERR_INVALID;
      v = 3 * v + t[k];
    }
    if (v < -128 || v > 127) return PG_ERR_INVALID;
    bytes[i] = (uint8_t)(int8_t)v;
  }
  return PG_OK;
}

int pg_b1t6_decode_trytes(const char *trytes, size_t n, uint8_t *bytes) {
  if (n % 2 != 0) return PG_ERR_INVALID;
  for (size_t i = 0; i < n / 2; i++) {
    int lo = pg_tryte_value(trytes[2 * i]);
    int hi = pg_tryte_value(trytes[2 * i + 1]);
    if (lo < -13 || hi < -13) return PG_ERR_INVALID;
    int v = lo + 27 * hi;
    if (v < -128 || v > 127) return PG_ERR_INVALID;
    bytes[i] = (uint8_t)(int8_t)v;
  }
  return PG_OK;
}
