/* MAM edges: the channel address and attach index (10.9, 10.10), packTrytes /
 * unpackTrytes, the attach data layout, and mam.js's text <-> trytes (10.11). */
#include <stdlib.h>
#include <string.h>

#include "mam_internal.h"

/* ---- address, index ---------------------------------------------------------- */

int pg_mam_address(const char *root, pg_mam_mode mode, char address[PG_MAM_HASH_TRYTES + 1]) {
  if (!root || !address || (unsigned)mode > PG_MAM_RESTRICTED) return PG_ERR_INVALID;
  pg_trit r[MAM_HASH];
  if (mam_trytes_to_trits(root, PG_MAM_HASH_TRYTES, r)) return PG_ERR_INVALID;
  if (mode == PG_MAM_PUBLIC) {
    memcpy(address, root, PG_MAM_HASH_TRYTES);
  } else { /* maskHash: Curl-P-81 absorb 243, squeeze 243 */
    pg_curl c;
    pg_curl_init(&c, 81);
    pg_curl_absorb(&c, r, MAM_HASH);
    pg_curl_rate(&c, r, MAM_HASH);
    pg_trits_to_trytes(r, MAM_HASH, address);
  }
  address[PG_MAM_HASH_TRYTES] = '\0';
  return PG_OK;
}

/* Fewer restricted roots than this are hashed one at a time: a 512-lane
 * Curl-P-81 costs about ten single ones (docs/PERFORMANCE.md, "Curl-P-27
 * transforms"). */
#define ADDRESS_BATCH_MIN 16

/* The wide state and its lanes' trits (the roots in, the addresses out). */
typedef struct address_work {
  pg_curlx x;
  pg_trit t[PG_CURLX_LANES][MAM_HASH];
} address_work;
#define ADDRESS_PENDING 1 /* an item's rc until its lane is done */

/* The addresses of the restricted items idx[0..n) (n <= 512): maskHash in
 * lane j of one wide state; a root that is not 81 trytes gets
 * PG_ERR_INVALID, as from pg_mam_address, and its lane is left out. */
static void address_lanes(address_work *w, pg_mam_address_item *items, const size_t *idx,
                          size_t n) {
  const pg_trit *in[PG_CURLX_LANES];
  pg_trit *out[PG_CURLX_LANES];
  pg_curlx_fill(&w->x, 0, PG_CURL_STATE, 0);
  for (size_t j = 0; j < n; j++) {
    bool ok = mam_trytes_to_trits(items[idx[j]].root, PG_MAM_HASH_TRYTES, w->t[j]) == PG_OK;
    in[j] = out[j] = ok ? w->t[j] : NULL;
    if (!ok) items[idx[j]].rc = PG_ERR_INVALID;
  }
  pg_curlx_load(&w->x, 0, MAM_HASH, in, n);
  pg_curlx_transform(&w->x, 81);
  pg_curlx_store(&w->x, 0, MAM_HASH, out, n);
  for (size_t j = 0; j < n; j++) {
    pg_mam_address_item *it = &items[idx[j]];
    if (!out[j]) continue;
    pg_trits_to_trytes(w->t[j], MAM_HASH, it->address);
    it->address[PG_MAM_HASH_TRYTES] = '\0';
    it->rc = PG_OK;
  }
}

void pg_mam_address_many(pg_mam_address_item *items, size_t n) {
  size_t wide = 0; /* restricted items with a root */
  for (size_t i = 0; i < n; i++) {
    pg_mam_address_item *it = &items[i];
    bool restricted = it->root && it->mode == PG_MAM_RESTRICTED;
    it->rc = restricted ? ADDRESS_PENDING : pg_mam_address(it->root, it->mode, it->address);
    wide += restricted;
  }
  address_work *w = wide >= ADDRESS_BATCH_MIN ? aligned_alloc(64, sizeof *w) : NULL;
  size_t idx[PG_CURLX_LANES], k = 0;
  for (size_t i = 0; i < n; i++) {
    if (items[i].rc != ADDRESS_PENDING) continue;
    if (!w) {
      items[i].rc = pg_mam_address(items[i].root, items[i].mode, items[i].address);
      continue;
    }
    idx[k++] = i;
    if (k == PG_CURLX_LANES) address_lanes(w, items, idx, k), k = 0;
  }
  if (k) address_lanes(w, items, idx, k);
  free(w);
}

void pg_mam_attach_index(const char *address, uint8_t index[PG_HASH_LEN]) {
  pg_blake2b256(address, PG_MAM_HASH_TRYTES, index);
}

/* ---- packTrytes -------------------------------------------------------------- */

static int alpha_index(char c) {
  if (c == '9') return 0;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 1;
  return -1;
}

size_t pg_mam_pack_len(size_t ntrytes) { return (5 * ntrytes + 7) / 8; }

int pg_mam_pack_trytes(const char *trytes, size_t n, uint8_t *out) {
  if (n > 0 && (!trytes || !out || !pg_trytes_valid(trytes, n))) return PG_ERR_INVALID;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 5) | (uint32_t)alpha_index(trytes[i]);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (bits > 0) out[o++] = (uint8_t)((acc << (8 - bits)) | ((1u << (8 - bits)) - 1));
  return PG_OK;
}

size_t pg_mam_unpack_cap(size_t nbytes) { return nbytes / 5 * 8 + (nbytes % 5) * 8 / 5; }

void pg_mam_unpack_trytes(const uint8_t *bytes, size_t n, char *out, size_t *out_len) {
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      uint32_t g = (acc >> bits) & 31;
      if (g <= 26) out[o++] = PG_TRYTE_ALPHABET[g];
    }
    acc &= (1u << bits) - 1;
  }
  *out_len = o;
}

/* ---- attach data --------------------------------------------------------------- */

int pg_mam_attach_data(const char *payload, size_t payload_len, const char *tag, size_t tag_len,
                       pg_buf *out) {
  /* the trytes themselves are checked as they are packed */
  if (!out || tag_len > PG_MAM_MAX_TAG || (tag_len && !tag) || (payload_len && !payload))
    return PG_ERR_INVALID;
  size_t tl = pg_mam_pack_len(tag_len), pl = pg_mam_pack_len(payload_len);
  size_t before = out->len;
  uint8_t *p = pg_buf_extend(out, 1 + tl + pl);
  if (!p) return pg_buf_status(out);
  p[0] = (uint8_t)tl;
  int rc = pg_mam_pack_trytes(tag, tag_len, p + 1);
  if (!rc) rc = pg_mam_pack_trytes(payload, payload_len, p + 1 + tl);
  if (rc) out->len = before;
  return rc;
}

int pg_mam_attach_decode(const uint8_t *data, size_t len, char **payload, size_t *payload_len,
                         char tag[PG_MAM_MAX_TAG + 1], pg_diag *d) {
  if (!payload || !payload_len || !tag) return pg_fail(d, PG_ERR_INVALID, "no output");
  if (!data || len < PG_MAM_ATTACH_MIN)
    return pg_fail(d, PG_ERR_INVALID, "attach data of %zu bytes is too short (need > 100)", len);
  size_t tl = data[0];
  if (1 + tl > len) return pg_fail(d, PG_ERR_TRUNCATED, "packed tag runs past the data");
  char tbuf[256 * 8 / 5 + 1];
  size_t tn;
  pg_mam_unpack_trytes(data + 1, tl, tbuf, &tn);
  if (tn > PG_MAM_MAX_TAG) return pg_fail(d, PG_ERR_INVALID, "tag of %zu trytes is too long", tn);
  size_t pn = len - 1 - tl;
  char *p = malloc(pg_mam_unpack_cap(pn) + 1);
  if (!p) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t plen;
  pg_mam_unpack_trytes(data + 1 + tl, pn, p, &plen);
  p[plen] = '\0';
  memcpy(tag, tbuf, tn);
  tag[tn] = '\0';
  *payload = p;
  *payload_len = plen;
  return PG_OK;
}

/* ---- text <-> trytes --------------------------------------------------------- */

/* Next code point of valid UTF-8 at s[*i..n), or -1. */
static long utf8_next(const unsigned char *s, size_t n, size_t *i) {
  unsigned char c = s[*i];
  if (c < 0x80) {
    (*i)++;
    return c;
  }
  int extra;
  long cp, min;
  if ((c & 0xE0) == 0xC0) {
    extra = 1, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3, cp = c & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (n - *i <= (size_t)extra) return -1;
  for (int k = 1; k <= extra; k++) {
    unsigned char b = s[*i + (size_t)k];
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += (size_t)extra + 1;
  return cp;
}

static char *put_unit(char *o, unsigned v) { /* one JS char code < 729 */
  *o++ = PG_TRYTE_ALPHABET[v % 27];
  *o++ = PG_TRYTE_ALPHABET[v / 27];
  return o;
}

static char *put_escape(char *o, unsigned u) { /* "\uXXXX", lowercase hex */
  static const char HEX[] = "0123456789abcdef";
  o = put_unit(o, '\\');
  o = put_unit(o, 'u');
  for (int sh = 12; sh >= 0; sh -= 4) o = put_unit(o, (unsigned char)HEX[(u >> sh) & 15]);
  return o;
}

int pg_mam_text_to_trytes(const char *text, size_t len, char **out, size_t *out_len) {
  if (!out || !out_len || (len && !text)) return PG_ERR_INVALID;
  const unsigned char *s = (const unsigned char *)text;
  size_t need = 0;
  for (size_t i = 0; i < len;) {
    long cp = utf8_next(s, len, &i);
    if (cp < 0) return PG_ERR_INVALID;
    need += cp < 0x7F ? 2 : cp < 0x10000 ? 12 : 24;
  }
  char *buf = malloc(need + 1), *o = buf;
  if (!buf) return PG_ERR_NOMEM;
  for (size_t i = 0; i < len;) {
    long cp = utf8_next(s, len, &i);
    if (cp < 0x7F) {
      o = put_unit(o, (unsigned)cp);
    } else if (cp < 0x10000) {
      o = put_escape(o, (unsigned)cp);
    } else {
      unsigned v = (unsigned)cp - 0x10000;
      o = put_escape(o, 0xD800 + (v >> 10));
      o = put_escape(o, 0xDC00 + (v & 0x3FF));
    }
  }
  *o = '\0';
  *out = buf;
  *out_len = need;
  return PG_OK;
}

static bool js_word(unsigned u) { /* regex \w */
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_';
}

static int hexval(unsigned u) {
  if (u >= '0' && u <= '9') return (int)(u - '0');
  if (u >= 'a' && u <= 'f') return (int)(u - 'a' + 10);
  if (u >= 'A' && u <= 'F') return (int)(u - 'A' + 10);
  return -1;
}

/* Number.parseInt(4 \w chars, 16), with NaN as 0 (String.fromCharCode(NaN)). */
static unsigned js_parse_hex4(const uint16_t *w) {
  size_t i = 0;
  if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) i = 2;
  unsigned v = 0;
  for (; i < 4 && hexval(w[i]) >= 0; i++) v = v * 16 + (unsigned)hexval(w[i]);
  return v;
}

static unsigned char *put_utf8(unsigned char *o, unsigned long cp) {
  if (cp < 0x80) {
    *o++ = (unsigned char)cp;
  } else if (cp < 0x800) {
    *o++ = (unsigned char)(0xC0 | (cp >> 6));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (unsigned char)(0xE0 | (cp >> 12));
    *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (unsigned char)(0xF0 | (cp >> 18));
    *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  }
  return o;
}

int pg_mam_trytes_to_text(const char *trytes, size_t len, char **out, size_t *out_len) {
  if (!out || !out_len || (len && !trytes) || !pg_trytes_valid(trytes, len)) return PG_ERR_INVALID;
  while (len > 0 && trytes[len - 1] == '9') len--;
  size_t nu = (len + 1) / 2; /* an odd tail gets a '9' */
  uint16_t *u = malloc((nu ? nu : 1) * sizeof *u);
  unsigned char *buf = malloc(3 * nu + 1);
  if (!u || !buf) {
    free(u);
    free(buf);
    return PG_ERR_NOMEM;
  }
  for (size_t k = 0; k < nu; k++) {
    int a = alpha_index(trytes[2 * k]);
    int b = 2 * k + 1 < len ? alpha_index(trytes[2 * k + 1]) : 0;
    u[k] = (uint16_t)(a + 27 * b);
  }
  /* undo \uXXXX (JS /\\u(\w{4})/gi), in place: the result never grows */
  size_t m = 0;
  for (size_t k = 0; k < nu;) {
    if (u[k] == '\\' && k + 5 < nu && (u[k + 1] == 'u' || u[k + 1] == 'U') &&
        js_word(u[k + 2]) && js_word(u[k + 3]) && js_word(u[k + 4]) && js_word(u[k + 5])) {
      u[m++] = (uint16_t)js_parse_hex4(u + k + 2);
      k += 6;
    } else {
      u[m++] = u[k++];
    }
  }
  /* UTF-16 -> UTF-8; a unit takes at most 3 bytes, a pair 4 */
  unsigned char *o = buf;
  for (size_t k = 0; k < m; k++) {
    unsigned long c = u[k];
    if (c >= 0xD800 && c <= 0xDBFF && k + 1 < m && u[k + 1] >= 0xDC00 && u[k + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (u[k + 1] - 0xDC00u);
      k++;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;
    }
    o = put_utf8(o, c);
  }
  *o = '\0';
  free(u);
  *out = (char *)buf;
  *out_len = (size_t)(o - buf);
  return PG_OK;
}
