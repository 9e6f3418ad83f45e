/* bech32.c — BIP-173 bech32 encode/decode, 8<->5 bit regrouping, TIP-11
 * Ed25519 addresses. See p2pgrid/base/bech32.h for the contract. */
#include "p2pgrid/base/bech32.h"

#include <string.h>

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* CHARSET_REV[c] = value of lowercase char c, or -1. Built on first use would
 * need synchronisation; a constant table avoids that. */
static const int8_t CHARSET_REV[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    15, -1, 10, 17, 21, 20, 26, 30, 7,  5,  -1, -1, -1, -1, -1, -1,
    -1, 29, -1, 24, 13, 25, 9,  8,  23, -1, 18, 22, 31, 27, 19, -1,
    1,  0,  3,  16, 11, 28, 12, 14, 6,  4,  2,  -1, -1, -1, -1, -1,
    -1, 29, -1, 24, 13, 25, 9,  8,  23, -1, 18, 22, 31, 27, 19, -1,
    1,  0,  3,  16, 11, 28, 12, 14, 6,  4,  2,  -1, -1, -1, -1, -1,
};

static uint32_t polymod_step(uint32_t pre) {
  uint32_t b = pre >> 25;
  return ((pre & 0x1ffffffu) << 5) ^ (-((b >> 0) & 1u) & 0x3b6a57b2u) ^
         (-((b >> 1) & 1u) & 0x26508e6du) ^ (-((b >> 2) & 1u) & 0x1ea119fau) ^
         (-((b >> 3) & 1u) & 0x3d4233ddu) ^ (-((b >> 4) & 1u) & 0x2a1462b3u);
}

static char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Checksum state after the expanded HRP (hrp is hlen chars, any case). */
static uint32_t hrp_polymod(const char *hrp, size_t hlen) {
  uint32_t chk = 1;
  for (size_t i = 0; i < hlen; i++) chk = polymod_step(chk) ^ ((uint8_t)to_lower(hrp[i]) >> 5);
  chk = polymod_step(chk);
  for (size_t i = 0; i < hlen; i++) chk = polymod_step(chk) ^ ((uint8_t)to_lower(hrp[i]) & 31u);
  return chk;
}

int pg_bech32_encode(const char *hrp, const uint8_t *data5, size_t n, char *out, size_t outcap) {
  if (!hrp || !out || (n && !data5)) return PG_ERR_INVALID;
  size_t hlen = strnlen(hrp, PG_BECH32_MAX_HRP + 1);
  if (hlen < 1 || hlen > PG_BECH32_MAX_HRP) return PG_ERR_INVALID;
  if (n > PG_BECH32_MAX_LEN - hlen - 1 - PG_BECH32_CHECKSUM_LEN) return PG_ERR_INVALID;
  size_t total = hlen + 1 + n + PG_BECH32_CHECKSUM_LEN;
  if (outcap < total + 1) return PG_ERR_TOO_LARGE;
  for (size_t i = 0; i < hlen; i++) {
    unsigned char c = (unsigned char)hrp[i];
    if (c < 33 || c > 126) return PG_ERR_INVALID;
  }
  for (size_t i = 0; i < n; i++)
    if (data5[i] > 31) return PG_ERR_INVALID;

  uint32_t chk = hrp_polymod(hrp, hlen);
  char *p = out;
  for (size_t i = 0; i < hlen; i++) *p++ = to_lower(hrp[i]);
  *p++ = '1';
  for (size_t i = 0; i < n; i++) {
    chk = polymod_step(chk) ^ data5[i];
    *p++ = CHARSET[data5[i]];
  }
  for (int i = 0; i < PG_BECH32_CHECKSUM_LEN; i++) chk = polymod_step(chk);
  chk ^= 1u;
  for (int i = 0; i < PG_BECH32_CHECKSUM_LEN; i++)
    *p++ = CHARSET[(chk >> (5 * (5 - i))) & 31u];
  *p = '\0';
  return PG_OK;
}

int pg_bech32_decode(const char *str, size_t len, char *hrp_out, size_t hrpcap,
                     uint8_t *data5_out, size_t cap, size_t *n, pg_diag *d) {
  if (!str && len) return pg_fail(d, PG_ERR_INVALID, "bech32: no input");
  if (len > PG_BECH32_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "bech32: too long (%zu characters, at most %d allowed)",
                   len, PG_BECH32_MAX_LEN);
  bool lower = false, upper = false;
  size_t sep = len; /* position of the last '1' */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)str[i];
    if (c < 33 || c > 126)
      return pg_fail(d, PG_ERR_INVALID, "bech32: invalid character 0x%02x at position %zu", c, i);
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
    if (c == '1') sep = i;
  }
  if (lower && upper) return pg_fail(d, PG_ERR_INVALID, "bech32: mixed upper and lower case");
  if (sep == len) return pg_fail(d, PG_ERR_INVALID, "bech32: no separator '1'");
  if (sep == 0) return pg_fail(d, PG_ERR_INVALID, "bech32: empty human-readable part");
  if (len - sep - 1 < PG_BECH32_CHECKSUM_LEN)
    return pg_fail(d, PG_ERR_INVALID,
                   "bech32: data part too short (%zu characters, the checksum alone needs %d)",
                   len - sep - 1, PG_BECH32_CHECKSUM_LEN);

  size_t ndata = len - sep - 1 - PG_BECH32_CHECKSUM_LEN;
  uint32_t chk = hrp_polymod(str, sep);
  for (size_t i = sep + 1; i < len; i++) {
    int v = CHARSET_REV[(unsigned char)str[i] & 127];
    if (v < 0)
      return pg_fail(d, PG_ERR_INVALID, "bech32: invalid data character '%c' at position %zu",
                     str[i], i);
    chk = polymod_step(chk) ^ (uint32_t)v;
  }
  if (chk != 1u) return pg_fail(d, PG_ERR_INVALID, "bech32: bad checksum");

  if (hrp_out && hrpcap < sep + 1)
    return pg_fail(d, PG_ERR_TOO_LARGE, "bech32: human-readable part too long (%zu characters)",
                   sep);
  if (ndata > cap)
    return pg_fail(d, PG_ERR_TOO_LARGE, "bech32: too much data (%zu values, room for %zu)", ndata,
                   cap);
  if (hrp_out) {
    for (size_t i = 0; i < sep; i++) hrp_out[i] = to_lower(str[i]);
    hrp_out[sep] = '\0';
  }
  for (size_t i = 0; i < ndata; i++)
    data5_out[i] = (uint8_t)CHARSET_REV[(unsigned char)str[sep + 1 + i] & 127];
  if (n) *n = ndata;
  return PG_OK;
}

int pg_bech32_convert_bits(const uint8_t *in, size_t inlen, int frombits, int tobits, bool pad,
                           uint8_t *out, size_t outcap, size_t *outlen) {
  if (frombits < 1 || frombits > 8 || tobits < 1 || tobits > 8 || (inlen && !in))
    return PG_ERR_INVALID;
  const uint32_t maxv = (1u << tobits) - 1u;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < inlen; i++) {
    if ((uint32_t)in[i] >> frombits) return PG_ERR_INVALID;
    acc = ((acc << frombits) | in[i]) & 0xffffu; /* keep only bits not yet emitted */
    bits += frombits;
    while (bits >= tobits) {
      bits -= tobits;
      if (o >= outcap) return PG_ERR_TOO_LARGE;
      out[o++] = (uint8_t)((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits) {
      if (o >= outcap) return PG_ERR_TOO_LARGE;
      out[o++] = (uint8_t)((acc << (tobits - bits)) & maxv);
    }
  } else if (bits >= frombits || ((acc << (tobits - bits)) & maxv)) {
    return PG_ERR_INVALID;
  }
  if (outlen) *outlen = o;
  return PG_OK;
}

int pg_bech32_encode_bytes(const char *hrp, const uint8_t *bytes, size_t n, char *out,
                           size_t outcap) {
  uint8_t data5[PG_BECH32_MAX_DATA5];
  size_t n5 = 0;
  if (n > PG_BECH32_MAX_BYTES) return PG_ERR_INVALID;
  int rc = pg_bech32_convert_bits(bytes, n, 8, 5, true, data5, sizeof data5, &n5);
  if (rc) return rc == PG_ERR_TOO_LARGE ? PG_ERR_INVALID : rc;
  return pg_bech32_encode(hrp, data5, n5, out, outcap);
}

int pg_bech32_decode_bytes(const char *str, size_t len, char *hrp_out, size_t hrpcap,
                           uint8_t *bytes_out, size_t cap, size_t *n, pg_diag *d) {
  uint8_t data5[PG_BECH32_MAX_DATA5];
  size_t n5 = 0, nb = 0;
  int rc = pg_bech32_decode(str, len, hrp_out, hrpcap, data5, sizeof data5, &n5, d);
  if (rc) return rc;
  rc = pg_bech32_convert_bits(data5, n5, 5, 8, false, bytes_out, cap, &nb);
  if (rc == PG_ERR_TOO_LARGE)
    return pg_fail(d, rc, "bech32: data is %zu bytes, room for %zu", n5 * 5 / 8, cap);
  if (rc)
    return pg_fail(d, rc, "bech32: invalid padding (%zu data characters do not form whole bytes)",
                   n5);
  if (n) *n = nb;
  return PG_OK;
}

int pg_iota_address_encode(const char *hrp, const uint8_t addr[PG_IOTA_ADDR_LEN], char *out,
                           size_t outcap) {
  uint8_t raw[1 + PG_IOTA_ADDR_LEN];
  if (!addr) return PG_ERR_INVALID;
  raw[0] = PG_IOTA_ADDR_ED25519;
  memcpy(raw + 1, addr, PG_IOTA_ADDR_LEN);
  return pg_bech32_encode_bytes(hrp, raw, sizeof raw, out, outcap);
}

int pg_iota_address_decode(const char *str, size_t len, const char *hrp, char *hrp_out,
                           size_t hrpcap, uint8_t addr[PG_IOTA_ADDR_LEN], pg_diag *d) {
  char h[PG_BECH32_MAX_HRP + 1];
  uint8_t raw[PG_BECH32_MAX_BYTES];
  size_t n = 0;
  int rc = pg_bech32_decode_bytes(str, len, h, sizeof h, raw, sizeof raw, &n, d);
  if (rc) return rc;
  size_t hlen = strnlen(h, sizeof h);
  if (hrp) {
    size_t want = strnlen(hrp, PG_BECH32_MAX_HRP + 1);
    if (want != hlen || memcmp(h, hrp, hlen) != 0)
      return pg_fail(d, PG_ERR_INVALID, "address: human-readable part is '%s', expected '%.*s'",
                     h, (int)(want > PG_BECH32_MAX_HRP ? PG_BECH32_MAX_HRP : want), hrp);
  }
  if (n < 1) return pg_fail(d, PG_ERR_INVALID, "address: empty");
  if (raw[0] != PG_IOTA_ADDR_ED25519)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "address: unsupported address type %u (only 0, Ed25519)",
                   raw[0]);
  if (n != 1 + PG_IOTA_ADDR_LEN)
    return pg_fail(d, PG_ERR_INVALID, "address: Ed25519 address is %zu bytes, expected %d", n - 1,
                   PG_IOTA_ADDR_LEN);
  if (hrp_out) {
    if (hrpcap < hlen + 1)
      return pg_fail(d, PG_ERR_TOO_LARGE, "address: human-readable part too long");
    memcpy(hrp_out, h, hlen + 1);
  }
  memcpy(addr, raw + 1, PG_IOTA_ADDR_LEN);
  return PG_OK;
}
