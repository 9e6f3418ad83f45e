/* p2pgrid/crypto/ed25519.h — Ed25519 over libsodium.
 * A secret key is 64 bytes: the 32-byte RFC 8032 seed followed by the public key
 * (the same layout as libsodium and iota.js).
 *
 * Ownership: keys, messages and signatures are caller buffers; nothing is
 * allocated. Secret keys are the caller's to wipe.
 * Errors: only pg_ed25519_verify can fail: PG_ERR_CRYPTO for a signature that
 * does not verify (no diag; the caller names what was signed). pg_crypto_init
 * (hash.h) must have run.
 * Threads: libsodium's functions are thread-safe once initialised; any thread. */
#ifndef P2PGRID_CRYPTO_ED25519_H
#define P2PGRID_CRYPTO_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_ED25519_PK_LEN 32
#define PG_ED25519_SK_LEN 64
#define PG_ED25519_SEED_LEN 32
#define PG_ED25519_SIG_LEN 64

void pg_ed25519_from_seed(const uint8_t seed[PG_ED25519_SEED_LEN], uint8_t pk[PG_ED25519_PK_LEN],
                          uint8_t sk[PG_ED25519_SK_LEN]);
void pg_ed25519_sign(const uint8_t sk[PG_ED25519_SK_LEN], const void *msg, size_t len,
                     uint8_t sig[PG_ED25519_SIG_LEN]);
/* 0 if valid, PG_ERR_CRYPTO otherwise. */
PG_NODISCARD int pg_ed25519_verify(const uint8_t pk[PG_ED25519_PK_LEN], const void *msg, size_t len,
                                   const uint8_t sig[PG_ED25519_SIG_LEN]);

#endif
