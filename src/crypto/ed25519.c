#include "p2pgrid/crypto/ed25519.h"

#include <sodium.h>

void pg_ed25519_from_seed(const uint8_t seed[PG_ED25519_SEED_LEN], uint8_t pk[PG_ED25519_PK_LEN],
                          uint8_t sk[PG_ED25519_SK_LEN]) {
  crypto_sign_ed25519_seed_keypair(pk, sk, seed);
}

void pg_ed25519_sign(const uint8_t sk[PG_ED25519_SK_LEN], const void *msg, size_t len,
                     uint8_t sig[PG_ED25519_SIG_LEN]) {
  crypto_sign_ed25519_detached(sig, NULL, msg, len, sk);
}

int pg_ed25519_verify(const uint8_t pk[PG_ED25519_PK_LEN], const void *msg, size_t len,
                      const uint8_t sig[PG_ED25519_SIG_LEN]) {
  return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0 ? PG_OK : PG_ERR_CRYPTO;
}
