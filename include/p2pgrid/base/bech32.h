/* p2pgrid/base/bech32.h — BIP-173 bech32 (checksum constant 1; NOT bech32m) and the
 * TIP-11 IOTA address form built on it.
 *
 * Contract:
 * - Strings to decode come with an explicit length and are never read past it;
 *   they need not be NUL-terminated and may contain any bytes (rejected).
 * - Decoding accepts all-lowercase or all-uppercase input, rejects mixed case,
 *   characters outside 33..126, a missing separator, an empty HRP, a data part
 *   shorter than the 6-character checksum, non-charset data characters, a bad
 *   checksum and strings longer than 90 characters. The HRP written out is
 *   lowercase. On failure a pg_diag (optional) gets one sentence naming the
 *   problem and the function returns PG_ERR_INVALID (malformed input) or
 *   PG_ERR_TOO_LARGE (an output buffer is too small).
 * - Encoding always produces lowercase, NUL-terminated text. An uppercase HRP
 *   is lowercased before the checksum is computed (BIP-173).
 * - No function allocates; all output goes to caller-provided buffers.
 * - 5-bit values ("data5") are bytes holding 0..31.
 *
 * TIP-11: an Ed25519 address is the byte string 0x00 || 32-byte BLAKE2b-256
 * hash of the public key, converted 8->5 bits with padding and encoded with
 * the network's HRP ("iota" mainnet, "atoi" testnet).
 *
 * Ownership: no function allocates; input strings are read within their length,
 * all output goes to caller-provided buffers.
 * Errors: 0, PG_ERR_INVALID (malformed input or argument) or PG_ERR_TOO_LARGE
 * (an output buffer too small); the decoders write one sentence into their
 * optional pg_diag, the encoders and pg_bech32_convert_bits take none (their
 * inputs are the caller's own).
 * Threads: pure functions without shared state; any thread. */
#ifndef P2PGRID_BASE_BECH32_H
#define P2PGRID_BASE_BECH32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_BECH32_MAX_LEN 90     /* whole string, without NUL */
#define PG_BECH32_MAX_HRP 83     /* HRP length (1..83) */
#define PG_BECH32_CHECKSUM_LEN 6 /* checksum characters */
/* Most 5-bit data values a valid string can carry: 90 - 1 (hrp) - 1 - 6. */
#define PG_BECH32_MAX_DATA5 82
/* Most bytes a valid string can carry after 5->8 conversion. */
#define PG_BECH32_MAX_BYTES 51

#define PG_IOTA_ADDR_ED25519 0x00     /* TIP-11 address type byte */
#define PG_IOTA_ADDR_LEN 32           /* Ed25519 address hash length */
/* Characters after the "1" of an Ed25519 address: 53 data + 6 checksum, so
 * "iota1..." is 64 characters long. */
#define PG_IOTA_BECH32_TAIL 59

/* Encodes hrp (1..83 chars in 33..126, NUL-terminated, trusted) and n 5-bit
 * values as "hrp1<data><checksum>" into out (capacity outcap, NUL included).
 * PG_ERR_INVALID: bad HRP, a value > 31, or the result would exceed 90 chars.
 * PG_ERR_TOO_LARGE: outcap too small (need strlen(hrp) + 1 + n + 6 + 1). */
PG_NODISCARD int pg_bech32_encode(const char *hrp, const uint8_t *data5, size_t n, char *out,
                                  size_t outcap);

/* Decodes str[0..len). Writes the lowercase HRP (NUL-terminated) into hrp_out
 * (capacity hrpcap) and the 5-bit data without checksum into data5_out
 * (capacity cap values); *n gets the count. hrp_out may be NULL (hrpcap 0). */
PG_NODISCARD int pg_bech32_decode(const char *str, size_t len, char *hrp_out, size_t hrpcap,
                                  uint8_t *data5_out, size_t cap, size_t *n, pg_diag *d);

/* Regroups inlen values of `frombits` bits into values of `tobits` bits
 * (1 <= bits <= 8). With pad, leftover bits are zero-padded into one last
 * value; without pad (decoding), PG_ERR_INVALID when the leftover is 5 or more
 * bits ("more than 4 bits of padding") or is not all zero. PG_ERR_INVALID also
 * when an input value does not fit in frombits. PG_ERR_TOO_LARGE when out
 * (capacity outcap) is too small. */
PG_NODISCARD int pg_bech32_convert_bits(const uint8_t *in, size_t inlen, int frombits,
                                        int tobits, bool pad, uint8_t *out, size_t outcap,
                                        size_t *outlen);

/* Encodes n bytes (converted 8->5 with padding). Errors as pg_bech32_encode. */
PG_NODISCARD int pg_bech32_encode_bytes(const char *hrp, const uint8_t *bytes, size_t n,
                                        char *out, size_t outcap);

/* Decodes str[0..len) and converts the data 5->8 (strict padding rules). */
PG_NODISCARD int pg_bech32_decode_bytes(const char *str, size_t len, char *hrp_out,
                                        size_t hrpcap, uint8_t *bytes_out, size_t cap,
                                        size_t *n, pg_diag *d);

/* TIP-11: encodes the Ed25519 address addr (32 bytes) with hrp into out
 * (capacity >= strlen(hrp) + 59 + 1). */
PG_NODISCARD int pg_iota_address_encode(const char *hrp, const uint8_t addr[PG_IOTA_ADDR_LEN],
                                        char *out, size_t outcap);

/* TIP-11: decodes str[0..len) as an Ed25519 address. If hrp is non-NULL the
 * string's HRP must equal it (e.g. "atoi"), otherwise any HRP is accepted and,
 * if hrp_out is non-NULL, written there. Rejects other address types and any
 * length other than 1 + 32 bytes. */
PG_NODISCARD int pg_iota_address_decode(const char *str, size_t len, const char *hrp,
                                        char *hrp_out, size_t hrpcap,
                                        uint8_t addr[PG_IOTA_ADDR_LEN], pg_diag *d);

#endif
