/* test_util_rng.h — the deterministic generator of the property tests
 * (splitmix64; never rand()). Each test file defines its own seed:
 *   #define TU_RNG_SEED 0x9e3779b97f4a7c15ull
 *   #include "test_util_rng.h"
 * and gets rnd() and below(n) over a file-local state. */
#ifndef P2PGRID_TEST_UTIL_RNG_H
#define P2PGRID_TEST_UTIL_RNG_H

#include <stdint.h>

static uint64_t rng_state = TU_RNG_SEED;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

#endif
