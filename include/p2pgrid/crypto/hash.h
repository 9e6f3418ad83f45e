/* p2pgrid/crypto/hash.h — BLAKE2b-256 (unkeyed, 32-byte digest) over libsodium.
 *
 * Ownership: digests go to caller buffers; a pg_blake2b state is the caller's
 * storage (nothing allocated).
 * Errors: pg_crypto_init returns PG_ERR_CRYPTO when libsodium cannot
 * initialise; hashing cannot fail.
 * Threads: pg_crypto_init is idempotent and thread-safe; hashing from any
 * thread, one pg_blake2b state per thread at a time. */
#ifndef P2PGRID_CRYPTO_HASH_H
#define P2PGRID_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PG_HASH_LEN 32

/* Must be called once before any crypto use (idempotent, thread-safe).
 * Returns 0, or PG_ERR_CRYPTO if libsodium cannot initialise. */
int pg_crypto_init(void);

void pg_blake2b256(const void *data, size_t len, uint8_t out[PG_HASH_LEN]);

/* Incremental form. The state is opaque storage big enough for libsodium's. */
typedef struct pg_blake2b {
  _Alignas(64) unsigned char opaque[384];
} pg_blake2b;
void pg_blake2b256_init(pg_blake2b *h);
void pg_blake2b256_update(pg_blake2b *h, const void *data, size_t len);
void pg_blake2b256_final(pg_blake2b *h, uint8_t out[PG_HASH_LEN]);

#endif
