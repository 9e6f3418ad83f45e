#include "p2pgrid/base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_buf_init(pg_buf *b, size_t limit) {
  memset(b, 0, sizeof *b);
  b->limit = limit;
}

void pg_buf_free(pg_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void pg_buf_reset(pg_buf *b) {
  b->len = 0;
  b->err = PG_OK;
}

int pg_buf_status(const pg_buf *b) { return b->err; }

uint8_t *pg_buf_extend(pg_buf *b, size_t n) {
  if (b->err) return NULL;
  if (n > b->limit - b->len) {
    b->err = PG_ERR_TOO_LARGE;
    return NULL;
  }
  size_t need = b->len + n;
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->limit) cap = b->limit;
    uint8_t *p = realloc(b->data, cap ? cap : 1);
    if (!p) {
      b->err = PG_ERR_NOMEM;
      return NULL;
    }
    b->data = p;
    b->cap = cap;
  }
  uint8_t *out = b->data + b->len;
  b->len = need;
  return out;
}

void pg_buf_put(pg_buf *b, const void *p, size_t n) {
  uint8_t *dst = pg_buf_extend(b, n);
  if (dst && n) memcpy(dst, p, n);
}

void pg_buf_put_u8(pg_buf *b, uint8_t v) { pg_buf_put(b, &v, 1); }

void pg_buf_put_u16(pg_buf *b, uint16_t v) {
  uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  pg_buf_put(b, t, 2);
}

int pg_buf_set_u16(pg_buf *b, size_t at, uint16_t v) {
  if (at > b->len || b->len - at < 2) return PG_ERR_INVALID;
  b->data[at] = (uint8_t)v;
  b->data[at + 1] = (uint8_t)(v >> 8);
  return PG_OK;
}

void pg_buf_put_u32(pg_buf *b, uint32_t v) {
  uint8_t t[4];
  for (int i = 0; i < 4; i++) t[i] = (uint8_t)(v >> (8 * i));
  pg_buf_put(b, t, 4);
}

void pg_buf_put_u64(pg_buf *b, uint64_t v) {
  uint8_t t[8];
  pg_put_le64(t, v);
  pg_buf_put(b, t, 8);
}

void pg_buf_puts(pg_buf *b, const char *s) { pg_buf_put(b, s, strlen(s)); }

void pg_buf_take(pg_buf *b, uint8_t **out, size_t *out_len) {
  *out = b->data;
  *out_len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
}

void pg_reader_init(pg_reader *r, const void *p, size_t len) {
  r->p = p;
  r->len = p ? len : 0;
  r->pos = 0;
}

int pg_read_view(pg_reader *r, size_t n, const uint8_t **out) {
  if (n > r->len - r->pos) return PG_ERR_TRUNCATED;
  *out = r->p + r->pos;
  r->pos += n;
  return PG_OK;
}

int pg_read_copy(pg_reader *r, void *out, size_t n) {
  const uint8_t *p;
  int rc = pg_read_view(r, n, &p);
  if (rc == PG_OK && n) memcpy(out, p, n);
  return rc;
}

static int read_le(pg_reader *r, size_t n, uint64_t *v) {
  const uint8_t *p;
  int rc = pg_read_view(r, n, &p);
  if (rc) return rc;
  uint64_t x = 0;
  for (size_t i = n; i-- > 0;) x = (x << 8) | p[i];
  *v = x;
  return PG_OK;
}

int pg_read_u8(pg_reader *r, uint8_t *v) {
  uint64_t x;
  int rc = read_le(r, 1, &x);
  if (!rc) *v = (uint8_t)x;
  return rc;
}

int pg_read_u16(pg_reader *r, uint16_t *v) {
  uint64_t x;
  int rc = read_le(r, 2, &x);
  if (!rc) *v = (uint16_t)x;
  return rc;
}

int pg_read_u32(pg_reader *r, uint32_t *v) {
  uint64_t x;
  int rc = read_le(r, 4, &x);
  if (!rc) *v = (uint32_t)x;
  return rc;
}

int pg_read_u64(pg_reader *r, uint64_t *v) { return read_le(r, 8, v); }

void pg_buf_printf(pg_buf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    pg_buf_put(b, tmp, (size_t)n);
    return;
  }
  uint8_t *p = pg_buf_extend(b, (size_t)n + 1);
  if (!p) return;
  va_start(ap, fmt);
  vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len--; /* the NUL */
}

void pg_buf_html(pg_buf *b, const char *s, size_t max) {
  size_t n = strlen(s);
  bool cut = max && n > max;
  if (cut) {
    n = max;
    while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80) n--;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    switch (c) {
    case '&': pg_buf_puts(b, "&amp;"); break;
    case '<': pg_buf_puts(b, "&lt;"); break;
    case '>': pg_buf_puts(b, "&gt;"); break;
    case '"': pg_buf_puts(b, "&quot;"); break;
    case '\'': pg_buf_puts(b, "&#39;"); break;
    default: pg_buf_put_u8(b, (uint8_t)c < 0x20 || c == 0x7f ? (uint8_t)' ' : (uint8_t)c);
    }
  }
  if (cut) pg_buf_puts(b, "\xE2\x80\xA6");
}
