/* p2pgrid/base/strhash.h — FNV-1a 64: the one non-cryptographic hash of bytes
 * and strings (hash tables keyed by id, per-id seeds of the simulator, ETags
 * of compiled-in assets). Not for anything an attacker may choose to collide
 * where that matters: use BLAKE2b (p2pgrid/crypto/hash.h) there.
 *
 * Ownership: nothing is allocated.
 * Errors: none; the functions never fail.
 * Threads: pure, thread-safe.
 * Stability: the values are
 * part of the simulator's pinned results (seeds): they never change. */
#ifndef P2PGRID_BASE_STRHASH_H
#define P2PGRID_BASE_STRHASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 of p[0..n) (n == 0: the offset basis 0xcbf29ce484222325). */
uint64_t pg_fnv1a64(const void *p, size_t n);
/* FNV-1a 64 of the NUL-terminated s without its NUL (= pg_fnv1a64(s, strlen(s))). */
uint64_t pg_hash_str(const char *s);

#endif
