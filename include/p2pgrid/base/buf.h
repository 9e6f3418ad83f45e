/* p2pgrid/base/buf.h — a capped, growable byte writer and a bounds-checked reader.
 *
 * Every byte that comes from the network or a file is read through pg_reader;
 * nothing is ever read past its end. All integers are little-endian.
 *
 * pg_buf owns its memory (pg_buf_free releases it). It grows as needed but never
 * beyond `limit` bytes; the first failing write sets a sticky error, later
 * writes do nothing, and pg_buf_status() reports it, so a serializer can write
 * a whole structure and check once.
 *
 * Ownership: pg_buf owns data until pg_buf_free, or until pg_buf_take hands it
 * to the caller (who free()s it). pg_reader owns nothing: it and the views it
 * gives (pg_read_view) point into the caller's bytes, which must outlive them.
 * Errors: writers never return errors: the first failure (PG_ERR_TOO_LARGE past
 * limit, PG_ERR_NOMEM) is kept in err and read with pg_buf_status. Readers
 * return PG_ERR_TRUNCATED and consume nothing. No pg_diag: the caller names the
 * field.
 * Threads: no shared state; a pg_buf or pg_reader is used by one thread at a
 * time. */
#ifndef P2PGRID_BASE_BUF_H
#define P2PGRID_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

typedef struct pg_buf {
  uint8_t *data; /* owned; NULL until the first write */
  size_t len;
  size_t cap;
  size_t limit; /* hard cap on len */
  int err;      /* sticky: first error, or PG_OK */
} pg_buf;

void pg_buf_init(pg_buf *b, size_t limit);
void pg_buf_free(pg_buf *b);
void pg_buf_reset(pg_buf *b); /* len = 0, err = OK; keeps memory */
PG_NODISCARD int pg_buf_status(const pg_buf *b);
/* Makes room for n more bytes and returns a pointer to them (len += n), or NULL
 * (sticky error set). The bytes are uninitialised. */
uint8_t *pg_buf_extend(pg_buf *b, size_t n);
void pg_buf_put(pg_buf *b, const void *p, size_t n);
void pg_buf_put_u8(pg_buf *b, uint8_t v);
void pg_buf_put_u16(pg_buf *b, uint16_t v);
void pg_buf_put_u32(pg_buf *b, uint32_t v);
void pg_buf_put_u64(pg_buf *b, uint64_t v);
/* Overwrites the two bytes at offset at with v (little endian), e.g. a
 * count written as a placeholder before what it counts: PG_OK, or
 * PG_ERR_INVALID (b unchanged) when they are not both inside b. */
PG_NODISCARD int pg_buf_set_u16(pg_buf *b, size_t at, uint16_t v);
/* Appends a NUL-terminated string without its NUL. */
void pg_buf_puts(pg_buf *b, const char *s);
/* printf into b (no NUL stored); a failure is kept as for every write. */
void pg_buf_printf(pg_buf *b, const char *fmt, ...) PG_PRINTF(2, 3);
/* HTML-escapes s into b (text and attribute values alike; control bytes
 * become spaces); at most max bytes of s when max > 0, cut at a UTF-8
 * boundary and followed by an ellipsis. */
void pg_buf_html(pg_buf *b, const char *s, size_t max);
/* Steals the data: *out = data, *out_len = len; b is left empty. */
void pg_buf_take(pg_buf *b, uint8_t **out, size_t *out_len);

typedef struct pg_reader {
  const uint8_t *p;
  size_t len;
  size_t pos;
} pg_reader;

void pg_reader_init(pg_reader *r, const void *p, size_t len);
static inline size_t pg_reader_left(const pg_reader *r) { return r->len - r->pos; }
/* Each returns PG_ERR_TRUNCATED (consuming nothing) if too few bytes remain. */
PG_NODISCARD int pg_read_u8(pg_reader *r, uint8_t *v);
PG_NODISCARD int pg_read_u16(pg_reader *r, uint16_t *v);
PG_NODISCARD int pg_read_u32(pg_reader *r, uint32_t *v);
PG_NODISCARD int pg_read_u64(pg_reader *r, uint64_t *v);
PG_NODISCARD int pg_read_copy(pg_reader *r, void *out, size_t n);
/* Points *out at the next n bytes inside the reader's input (no copy). */
PG_NODISCARD int pg_read_view(pg_reader *r, size_t n, const uint8_t **out);

/* Little-endian helpers for fixed offsets in already-checked memory. */
static inline uint64_t pg_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static inline void pg_put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
