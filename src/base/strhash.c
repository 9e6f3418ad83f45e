/* strhash.c — FNV-1a 64 (p2pgrid/base/strhash.h). */
#include "p2pgrid/base/strhash.h"

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

uint64_t pg_fnv1a64(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = FNV_BASIS;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * FNV_PRIME;
  return h;
}

uint64_t pg_hash_str(const char *s) {
  uint64_t h = FNV_BASIS;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * FNV_PRIME;
  return h;
}
