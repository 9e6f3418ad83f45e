/* p2pgrid/crypto/slip10.h — SLIP-10 Ed25519 key derivation (hardened only), as
 * @iota/crypto.js Slip0010 does it, and the IOTA BIP-44 path
 * m/44'/4218'/account'/change'/index'. Uses libsodium's HMAC-SHA512.
 *
 * Ownership: keys and seeds are caller buffers (nothing allocated);
 * intermediate secrets are wiped; outputs are the caller's to wipe.
 * Errors: pg_slip10_master, pg_slip10_derive and pg_iota_keypair return
 * PG_ERR_INVALID for a seed under 16 or over 64 bytes (no diag); the rest
 * cannot fail.
 * Threads: pure functions over libsodium (initialised by pg_crypto_init); any
 * thread. */
#ifndef P2PGRID_CRYPTO_SLIP10_H
#define P2PGRID_CRYPTO_SLIP10_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_IOTA_COIN_TYPE 4218u

typedef struct pg_slip10_key {
  uint8_t priv[32];  /* Ed25519 seed (RFC 8032) */
  uint8_t chain[32];
} pg_slip10_key;

/* Master key from seed bytes (iota.js Ed25519Seed: 32 bytes, or the 64-byte
 * BIP-39 seed). PG_ERR_INVALID for a seed under 16 or over 64 bytes. */
PG_NODISCARD int pg_slip10_master(const uint8_t *seed, size_t len, pg_slip10_key *out);
/* Hardened child: segment is the index without the 0x80000000 bit (it is added). */
void pg_slip10_child(const pg_slip10_key *parent, uint32_t segment, pg_slip10_key *out);
/* Derives along a path of segments (each hardened). */
PG_NODISCARD int pg_slip10_derive(const uint8_t *seed, size_t len, const uint32_t *path, size_t n,
                                  pg_slip10_key *out);

/* m/44'/4218'/account'/change'/index' -> Ed25519 key pair and address
 * (BLAKE2b-256 of the public key). Any output pointer may be NULL. */
PG_NODISCARD int pg_iota_keypair(const uint8_t *seed, size_t len, uint32_t account, uint32_t change,
                                 uint32_t index, uint8_t pk[32], uint8_t sk[64], uint8_t address[32]);

/* BIP-39 seed from a mnemonic sentence, as @iota/iota.js
 * Ed25519Seed.fromMnemonic does: PBKDF2-HMAC-SHA512(sentence,
 * "mnemonic" || passphrase, 2048 rounds) -> 64 bytes. The sentence is used as
 * given (words separated by single spaces; non-ASCII text must already be in
 * NFKD form); words are not checked against a word list. passphrase may be
 * NULL. */
void pg_bip39_seed(const char *mnemonic, size_t len, const char *passphrase, uint8_t seed[64]);

/* PBKDF2 with HMAC-SHA512 (RFC 8018), out_len <= 64 * UINT32_MAX. */
void pg_pbkdf2_sha512(const uint8_t *password, size_t plen, const uint8_t *salt, size_t slen,
                      uint32_t rounds, uint8_t *out, size_t out_len);

#endif
