/* p2pgrid/grid/record.h — the grid's public settlement record as pure
 * functions (no I/O, no clock): the keys of a member's line, sealing and
 * opening a line, the canonical plaintext of a line, and the split of one
 * slot's record into parts that each fit one Tangle message. The grid writes
 * the record with these functions and `p2pgrid audit` reads it with them.
 * docs/PROTOCOL.md "Settlement record" is the prose version.
 *
 * Keys (S = the side key of the member's channel registration current when
 * the slot was settled, as its 81-tryte ASCII string; a shorter key is
 * '9'-padded to 81 as MAM pads it):
 *   m     = BLAKE2b-256("p2pgrid-member-key" || S || id)   (id: the member's
 *           registration id, so members who share a side key still have
 *           their own keys and tags)
 *   k_s   = BLAKE2b-256(key = m, msg = "settlement" || u64le slot)
 *   tag   = BLAKE2b-128(key = k_s, msg = "tag")
 *   nonce = BLAKE2b-192(key = k_s, msg = "nonce")
 *   box   = crypto_secretbox_easy(plain, nonce, k_s)   (XSalsa20-Poly1305)
 * A member (who knows S) or an auditor given S finds its line by tag and
 * opens it; anyone else sees a random-looking tag and box. k_s differs per
 * slot, so tags do not link a member's lines across slots.
 *
 * Plaintext (canonical JSON, keys in this order, no spaces):
 *   {"id":"<member id>","role":"producer"|"consumer","readings":["<msg id
 *    hex>",...],"wh":i,"price":i|null,"communityWh":i,"amount":i,"fee":i,
 *    "total":i,"baseline":i,"requestId":"<bill request id>"|null}
 * readings sorted ascending (no repeats), every integer 0 ..= 2^53-1.
 *
 * Ownership: outputs that own memory (a sealed line's box, pg_record_parts)
 * are released with the free function named; the rest go to caller buffers.
 * Errors: fallible functions return 0 or a negative pg_err and write one
 * sentence into the optional pg_diag.
 * Threads: nothing here keeps state, so every function is thread-safe. */
#ifndef P2PGRID_GRID_RECORD_H
#define P2PGRID_GRID_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/grid/protocol.h"

#define PG_RECORD_KEY 32    /* m and k_s */
#define PG_RECORD_NONCE 24
#define PG_RECORD_MAC 16
/* Readings committed to in one line: a party with more open readings than
 * this in a slot is quarantined by the grid instead of settled. */
#define PG_RECORD_MAX_READINGS 128
/* Longest plaintext (a line with PG_RECORD_MAX_READINGS readings and the
 * longest id, request id and integers is 8939 bytes). */
#define PG_RECORD_MAX_PLAIN 9216
/* The security level of the grid's record channel. */
#define PG_RECORD_SECURITY 2

/* A line's keys for one slot. */
typedef struct pg_record_keys {
  uint8_t key[PG_RECORD_KEY];
  uint8_t tag[PG_GRID_RECORD_TAG];
  uint8_t nonce[PG_RECORD_NONCE];
} pg_record_keys;

/* m of member id (1..PG_GRID_MAX_ID bytes) from a side key of len (1..81)
 * trytes. PG_ERR_INVALID otherwise. */
PG_NODISCARD int pg_record_member_key(const char *id, const char *side_key, size_t len,
                                      uint8_t m[PG_RECORD_KEY]);
/* k_s, tag and nonce of slot for member key m. */
void pg_record_slot_keys(const uint8_t m[PG_RECORD_KEY], uint64_t slot, pg_record_keys *out);

/* A line's plaintext. */
typedef struct pg_record_plain {
  char id[PG_GRID_MAX_ID + 1];
  pg_grid_entity role; /* PG_GRID_ENTITY_PRODUCER or _CONSUMER */
  size_t n_readings;   /* 0 ..= PG_RECORD_MAX_READINGS */
  uint8_t readings[PG_RECORD_MAX_READINGS][32]; /* message ids, sorted ascending */
  int64_t wh;          /* sum of the readings' Wh */
  bool has_price;      /* the ask / bid the market used */
  uint64_t price;
  int64_t community_wh, amount, fee, total, baseline; /* pg_market_party */
  char request_id[PG_GRID_MAX_ID + 1]; /* the consumer's bill; "" = none */
} pg_record_plain;

/* Sorts p's readings ascending (the order the plaintext needs). */
void pg_record_plain_sort(pg_record_plain *p);
/* Canonical plaintext of p (validated first: id, role, sorted distinct
 * readings, ranges) appended to out. */
PG_NODISCARD int pg_record_plain_serialize(const pg_record_plain *p, pg_buf *out, pg_diag *d);
/* Parses a plaintext; only the canonical form is accepted (what
 * pg_record_plain_serialize writes, byte for byte). */
PG_NODISCARD int pg_record_plain_parse(const void *data, size_t len, pg_record_plain *out,
                                       pg_diag *d);

/* Seals p for member key m and slot into *out (tag and an owned box: free
 * out->box with free(), or the settlement holding it with
 * pg_grid_settlement_free). */
PG_NODISCARD int pg_record_seal(const uint8_t m[PG_RECORD_KEY], uint64_t slot,
                                const pg_record_plain *p, pg_grid_record_line *out, pg_diag *d);
/* Opens line l of slot with member key m: PG_ERR_NOT_FOUND when its tag is
 * not the member's tag for the slot, PG_ERR_CRYPTO when the box does not
 * authenticate (another key, a changed byte), PG_ERR_INVALID when the
 * plaintext is not canonical. */
PG_NODISCARD int pg_record_open(const uint8_t m[PG_RECORD_KEY], uint64_t slot,
                                const pg_grid_record_line *l, pg_record_plain *out, pg_diag *d);
/* The index of the line tagged tag in s (lines sorted by tag), or -1. */
long pg_record_find(const pg_grid_settlement *s, const uint8_t tag[PG_GRID_RECORD_TAG]);

/* Largest JSON text (bytes, ASCII) of one record message such that its MAM
 * message (count 1, the given security) in a MAM attach indexation payload
 * fits a Tangle message of PG_MSG_MAX_LEN bytes with 8 parents. Computed from
 * the MAM layout and the message layout, see record.c. */
size_t pg_record_part_max_json(int security);

/* The messages of one slot's record: parts[i] is the canonical JSON of part
 * i + 1 (owned; pg_record_parts_free). */
typedef struct pg_record_parts {
  pg_buf *part;
  size_t n;
} pg_record_parts;
void pg_record_parts_free(pg_record_parts *p);

/* Builds the parts of a slot's record from head (slot and part-1 fields;
 * its part, parts and lines are ignored) and lines[0..n) (sorted by tag in
 * place; a repeated tag is PG_ERR_INVALID). Each part holds as many lines as
 * fit in max_json bytes (0 = pg_record_part_max_json(PG_RECORD_SECURITY));
 * PG_ERR_TOO_LARGE when one line alone does not fit. A slot without lines
 * has one part with "lines":[]. */
PG_NODISCARD int pg_record_build_parts(const pg_grid_settlement *head, pg_grid_record_line *lines,
                                       size_t n, size_t max_json, pg_record_parts *out,
                                       pg_diag *d);

#endif
