/* number.c — decimal numbers with thousands separators (number_internal.h). */
#include <string.h>

#include "number_internal.h"

typedef unsigned __int128 u128;

u128 pg_pow10_u128(unsigned e) {
  u128 p = 1;
  while (e--) p *= 10;
  return p;
}

size_t pg_put_grouped(char *s, size_t n, u128 q, unsigned dec) {
  u128 scale = pg_pow10_u128(dec);
  u128 ip = q / scale, fp = q % scale;
  char digits[48];
  size_t nd = 0;
  do {
    digits[nd++] = (char)('0' + (unsigned)(ip % 10));
    ip /= 10;
  } while (ip);
  while (nd) {
    s[n++] = digits[--nd];
    if (nd && nd % 3 == 0) s[n++] = ',';
  }
  if (dec) {
    s[n++] = '.';
    for (unsigned k = dec; k-- > 0;) s[n + k] = (char)('0' + (unsigned)(fp % 10)), fp /= 10;
    n += dec;
  }
  return n;
}

size_t pg_put_out(const char *s, size_t n, char *buf, size_t cap) {
  if (cap) {
    size_t c = n < cap ? n : cap - 1;
    memcpy(buf, s, c);
    buf[c] = '\0';
  }
  return n;
}
