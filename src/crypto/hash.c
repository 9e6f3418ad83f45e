#include "p2pgrid/crypto/hash.h"

#include <sodium.h>

#include "p2pgrid/base/err.h"

_Static_assert(sizeof(crypto_generichash_blake2b_state) <= sizeof(pg_blake2b),
               "pg_blake2b too small for libsodium's state");

int pg_crypto_init(void) { return sodium_init() < 0 ? PG_ERR_CRYPTO : PG_OK; }

void pg_blake2b256(const void *data, size_t len, uint8_t out[PG_HASH_LEN]) {
  crypto_generichash_blake2b(out, PG_HASH_LEN, data, len, NULL, 0);
}

void pg_blake2b256_init(pg_blake2b *h) {
  crypto_generichash_blake2b_init((crypto_generichash_blake2b_state *)h->opaque, NULL, 0,
                                  PG_HASH_LEN);
}

void pg_blake2b256_update(pg_blake2b *h, const void *data, size_t len) {
  crypto_generichash_blake2b_update((crypto_generichash_blake2b_state *)h->opaque, data, len);
}

void pg_blake2b256_final(pg_blake2b *h, uint8_t out[PG_HASH_LEN]) {
  crypto_generichash_blake2b_final((crypto_generichash_blake2b_state *)h->opaque, out, PG_HASH_LEN);
}
