#include "p2pgrid/crypto/slip10.h"

#include <sodium.h>
#include <string.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"

static void split(const uint8_t i[64], pg_slip10_key *out) {
  memcpy(out->priv, i, 32);
  memcpy(out->chain, i + 32, 32);
}

int pg_slip10_master(const uint8_t *seed, size_t len, pg_slip10_key *out) {
  if (len < 16 || len > 64) return PG_ERR_INVALID;
  static const char KEY[] = "ed25519 seed";
  uint8_t i[64];
  crypto_auth_hmacsha512_state st;
  crypto_auth_hmacsha512_init(&st, (const unsigned char *)KEY, sizeof KEY - 1);
  crypto_auth_hmacsha512_update(&st, seed, len);
  crypto_auth_hmacsha512_final(&st, i);
  split(i, out);
  sodium_memzero(i, sizeof i);
  return PG_OK;
}

void pg_slip10_child(const pg_slip10_key *parent, uint32_t segment, pg_slip10_key *out) {
  uint8_t data[1 + 32 + 4], i[64];
  uint32_t hardened = segment | 0x80000000u;
  data[0] = 0;
  memcpy(data + 1, parent->priv, 32);
  for (int k = 0; k < 4; k++) data[33 + k] = (uint8_t)(hardened >> (24 - 8 * k));
  crypto_auth_hmacsha512_state st;
  crypto_auth_hmacsha512_init(&st, parent->chain, 32);
  crypto_auth_hmacsha512_update(&st, data, sizeof data);
  crypto_auth_hmacsha512_final(&st, i);
  split(i, out);
  sodium_memzero(i, sizeof i);
  sodium_memzero(data, sizeof data);
}

int pg_slip10_derive(const uint8_t *seed, size_t len, const uint32_t *path, size_t n,
                     pg_slip10_key *out) {
  pg_slip10_key k;
  int rc = pg_slip10_master(seed, len, &k);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) pg_slip10_child(&k, path[i], &k);
  *out = k;
  sodium_memzero(&k, sizeof k);
  return PG_OK;
}

int pg_iota_keypair(const uint8_t *seed, size_t len, uint32_t account, uint32_t change,
                    uint32_t index, uint8_t pk[32], uint8_t sk[64], uint8_t address[32]) {
  const uint32_t path[5] = {44, PG_IOTA_COIN_TYPE, account, change, index};
  pg_slip10_key k;
  int rc = pg_slip10_derive(seed, len, path, 5, &k);
  if (rc) return rc;
  uint8_t p[32], s[64];
  pg_ed25519_from_seed(k.priv, p, s);
  if (pk) memcpy(pk, p, 32);
  if (sk) memcpy(sk, s, 64);
  if (address) pg_blake2b256(p, 32, address);
  sodium_memzero(s, sizeof s);
  sodium_memzero(&k, sizeof k);
  return PG_OK;
}

void pg_pbkdf2_sha512(const uint8_t *password, size_t plen, const uint8_t *salt, size_t slen,
                      uint32_t rounds, uint8_t *out, size_t out_len) {
  crypto_auth_hmacsha512_state base, st;
  crypto_auth_hmacsha512_init(&base, password, plen);
  for (uint32_t block = 1; out_len > 0; block++) {
    uint8_t u[64], t[64], be[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16),
                                    (uint8_t)(block >> 8), (uint8_t)block};
    st = base;
    crypto_auth_hmacsha512_update(&st, salt, slen);
    crypto_auth_hmacsha512_update(&st, be, 4);
    crypto_auth_hmacsha512_final(&st, u);
    memcpy(t, u, 64);
    for (uint32_t r = 1; r < rounds; r++) {
      st = base;
      crypto_auth_hmacsha512_update(&st, u, 64);
      crypto_auth_hmacsha512_final(&st, u);
      for (int k = 0; k < 64; k++) t[k] ^= u[k];
    }
    size_t n = out_len < 64 ? out_len : 64;
    memcpy(out, t, n);
    out += n;
    out_len -= n;
    sodium_memzero(u, sizeof u);
    sodium_memzero(t, sizeof t);
  }
  sodium_memzero(&base, sizeof base);
  sodium_memzero(&st, sizeof st);
}

void pg_bip39_seed(const char *mnemonic, size_t len, const char *passphrase, uint8_t seed[64]) {
  size_t plen = passphrase ? strlen(passphrase) : 0;
  uint8_t salt[8 + 256];
  if (plen > 256) plen = 256;
  memcpy(salt, "mnemonic", 8);
  if (plen) memcpy(salt + 8, passphrase, plen);
  pg_pbkdf2_sha512((const uint8_t *)mnemonic, len, salt, 8 + plen, 2048, seed, 64);
  sodium_memzero(salt, sizeof salt);
}
