/* p2pgrid/mam/mam.h — MAM v0 channels exactly as @iota/mam.js 1.6.3 makes them
 * (specs/CHRYSALIS.md section 10): channel state, message creation (byte-
 * identical to mam.js, nonce search order included), parsing/verification,
 * the address and attach-index helpers, the attach data layout, packTrytes,
 * and mam.js's text <-> trytes conversion.
 *
 * Contract:
 * - Trytes are strings over "9ABCDEFGHIJKLMNOPQRSTUVWXYZ" passed with an
 *   explicit length (no NUL needed). Fixed-size outputs are char[82]:
 *   81 trytes + NUL.
 * - Nothing here crashes or reads out of bounds on arbitrary input.
 *
 * Ownership: heap outputs (payloads, messages, texts) belong to the caller
 * and are released with free() or the matching *_free function.
 * Errors: every fallible function returns 0 or a negative pg_err and, when
 * given a pg_diag, names the failure in one sentence; outputs are untouched
 * on failure unless said otherwise.
 * Threads: no global state; distinct objects may be used from distinct
 * threads. A batch of more than 512 starts one thread of its own for half
 * of it and joins it before returning.
 *
 * Cost: a message needs the keys of count + nextCount leaves, each about
 * 54*security scalar Curl-P-27 transforms plus 27 bit-sliced steps shared
 * by 64 key fragments; parsing needs about 54*security scalar transforms and
 * 26 bit-sliced steps. The batch functions below do the same work on 512
 * bit-sliced lanes: 29*27*security + 2 lane-transforms per leaf, about
 * 3,600 per message created and 820 per message parsed at security 2.
 * See bench/bench_mam.c and docs/PERFORMANCE.md ("MAM channels").
 *
 * mam.js behaviours kept on purpose (section 10):
 * - count must be a power of two: mam.js records a wrong sibling for the last
 *   leaf of any other tree (its own parser rejects such messages), so the
 *   channel validation refuses other counts (PG_ERR_UNSUPPORTED).
 * - If count != nextCount, after the tree's last leaf mam.js moves start by
 *   nextCount but builds the next tree with count leaves, so the announced
 *   nextRoot is not the next message's root. This is reproduced (byte
 *   identity), not fixed; keep count == nextCount (the default 1/1).
 * - unpackTrytes skips 5-bit groups > 26 (mam.js pushes `undefined`, which
 *   join("") drops) and stops at an incomplete group. */
#ifndef P2PGRID_MAM_MAM_H
#define P2PGRID_MAM_MAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/crypto/hash.h"

#define PG_MAM_HASH_TRYTES 81   /* seed, root, address, side key (padded) */
#define PG_MAM_MAX_TAG 27       /* attach tag, trytes */
#define PG_MAM_MAX_COUNT 4096   /* cap on count / nextCount (power of two) */
#define PG_MAM_MAX_START 9007199254740991ULL /* 2^53 - 1: JS safe integer */
/* Cap on a message, in trytes (the payload grows by the same amount). */
#define PG_MAM_MAX_MESSAGE (1u << 20)
/* Minimum attach data length accepted by mam.js decodeMessages is 101. */
#define PG_MAM_ATTACH_MIN 101

typedef enum pg_mam_mode {
  PG_MAM_PUBLIC = 0,
  PG_MAM_PRIVATE = 1,
  PG_MAM_RESTRICTED = 2,
} pg_mam_mode;

/* "public" / "private" / "restricted" (static strings; "?" for others). */
const char *pg_mam_mode_name(pg_mam_mode mode);
/* Parses the three names above (exact, lowercase). */
PG_NODISCARD int pg_mam_mode_parse(const char *s, size_t len, pg_mam_mode *mode);

/* Channel state (mam.js IMamChannelState). Plain data: copy it freely. It
 * holds the seed, so wipe it with pg_mam_channel_wipe when done. */
typedef struct pg_mam_channel {
  char seed[PG_MAM_HASH_TRYTES + 1];     /* 81 trytes */
  pg_mam_mode mode;
  char side_key[PG_MAM_HASH_TRYTES + 1]; /* restricted: 81 trytes, '9'-padded; else "" */
  int security;                          /* 1..3 */
  uint64_t start;                        /* first leaf of the current tree */
  uint32_t count;                        /* leaves per tree (power of two) */
  uint32_t next_count;                   /* leaves of the next tree (power of two) */
  uint32_t index;                        /* leaf within the current tree, < count */
  bool has_next_root;                    /* set after the first message */
  char next_root[PG_MAM_HASH_TRYTES + 1];
} pg_mam_channel;

/* mam.js createChannel: seed must be 81 trytes, security 1..3; side_key
 * (len trytes, 1..81) is required for restricted and refused otherwise
 * (pass NULL / 0). The result has start 0, count 1, nextCount 1, index 0. */
PG_NODISCARD int pg_mam_channel_create(pg_mam_channel *ch, const char *seed, pg_mam_mode mode,
                                       const char *side_key, size_t side_key_len, int security,
                                       pg_diag *d);
/* Checks every field (the rules of create plus: count and next_count powers
 * of two <= PG_MAM_MAX_COUNT, index < count, start <= PG_MAM_MAX_START). */
PG_NODISCARD int pg_mam_channel_validate(const pg_mam_channel *ch, pg_diag *d);
/* Fills out[0..n) with uniformly random trytes from libsodium's CSPRNG and
 * NUL-terminates it (out needs n + 1 bytes): channel seeds and side keys.
 * PG_ERR_CRYPTO if libsodium cannot start. */
PG_NODISCARD int pg_mam_random_trytes(char *out, size_t n);
/* Zeroes the whole struct (seed included) in a way the compiler keeps. */
void pg_mam_channel_wipe(pg_mam_channel *ch);
/* Moves ch past one message as pg_mam_create_message does (index, or start
 * after a tree's last leaf) without creating it; next_root is left as it
 * was, as creation never reads it (the message skipped would have set it).
 * So the state of a channel's k-th next message is known before the ones
 * before it are made: they can be created at once, each from its own copy
 * (the grid's record parts, many messages of one channel a slot). */
void pg_mam_channel_skip(pg_mam_channel *ch);

/* Saves the state as a JSON object with mam.js's field names:
 * {"seed","mode","sideKey"(restricted only),"security","start","count",
 *  "nextCount","index","nextRoot"(once set)}. Appended to out. */
PG_NODISCARD int pg_mam_channel_save(const pg_mam_channel *ch, pg_buf *out);
/* Restores from that JSON form (a sideKey shorter than 81 trytes is padded;
 * unknown fields are refused) and validates. *ch is only written on success. */
PG_NODISCARD int pg_mam_channel_load(pg_mam_channel *ch, const void *json, size_t len,
                                     pg_diag *d);

/* Whether the state's seed still produces its nextRoot, the root the last
 * message announced and readers follow: the root of the tree (start + count,
 * nextCount) within a tree (index > 0), or (start - nextCount + count,
 * nextCount) after a tree's last leaf (index 0; mam.js moved start on by
 * nextCount), must equal next_root. PG_OK when it does or when there is no
 * nextRoot yet (nothing published); PG_ERR_STATE naming both roots when they
 * differ (an edited or corrupted state: a message signed from it would start
 * another channel); the errors of pg_mam_channel_validate. Costs one tree of
 * nextCount leaves (see pg_mam_channel_root). */
PG_NODISCARD int pg_mam_channel_check(const pg_mam_channel *ch, pg_diag *d);

/* mam.js channelRoot: the root of the tree (start, count). */
PG_NODISCARD int pg_mam_channel_root(const pg_mam_channel *ch, char root[PG_MAM_HASH_TRYTES + 1]);

/* A created message. payload is owned (NUL-terminated, payload_len trytes). */
typedef struct pg_mam_message {
  char *payload;
  size_t payload_len;
  char root[PG_MAM_HASH_TRYTES + 1];
  char next_root[PG_MAM_HASH_TRYTES + 1];
  char address[PG_MAM_HASH_TRYTES + 1];
} pg_mam_message;
void pg_mam_message_free(pg_mam_message *m); /* frees payload; NULL-safe; idempotent */

/* mam.js createMessage: msg is 1..PG_MAM_MAX_MESSAGE trytes. On success fills
 * *out (caller frees with pg_mam_message_free) and advances *ch as mam.js
 * does (index / start, next_root). On failure *ch is unchanged. */
PG_NODISCARD int pg_mam_create_message(pg_mam_channel *ch, const char *msg, size_t msg_len,
                                       pg_mam_message *out, pg_diag *d);

/* A parsed message. message is owned (NUL-terminated, message_len trytes). */
typedef struct pg_mam_parsed {
  char *message;
  size_t message_len;
  char next_root[PG_MAM_HASH_TRYTES + 1];
  uint32_t index;   /* leaf index within the signer's tree */
  uint32_t siblings; /* sibling count: the signer's tree has 2^siblings leaves */
  int security;     /* 1..3, from the hmac */
} pg_mam_parsed;
void pg_mam_parsed_free(pg_mam_parsed *p); /* NULL-safe; idempotent */

/* mam.js parseMessage. root: 81 trytes. side_key: NULL (or length 0) for
 * public/private, else 1..81 trytes (shorter keys act as '9'-padded).
 * Errors: PG_ERR_INVALID (not trytes, bad pascal header, bad lengths),
 * PG_ERR_TRUNCATED (payload ends inside a part), PG_ERR_CRYPTO (hmac has no
 * valid security level — typical of a wrong side key — or the signature does
 * not lead to root). The diag names which. */
PG_NODISCARD int pg_mam_parse_message(const char *payload, size_t payload_len,
                                      const char *root, const char *side_key,
                                      size_t side_key_len, pg_mam_parsed *out, pg_diag *d);

/* ---- Batches: many channels at once (same bytes as one at a time) ----
 * The simulator and the grid publish and read hundreds of channels per slot;
 * these do the Curl work of up to 512 messages together on the bit-sliced
 * Curl of crypto/curlp.h (pg_curlx): at security 2 about 5-8x (create) and 9-10x
 * (parse) the single functions' rate per core with 512 items, less with
 * fewer (the lanes are 512 whatever the batch; docs/PERFORMANCE.md). Results are
 * byte for byte those of pg_mam_create_message / pg_mam_parse_message on each
 * item in turn (tests/unit/test_mam_batch.c).
 *
 * Per item: rc[i] (rc may be NULL) gets what the single function would
 * return, and out[i] is written only when rc[i] is PG_OK (free it as the
 * single function's output). The return value is PG_OK when every item
 * succeeded, else the error of the lowest failing item, and the diag names
 * it ("item 3: message is not trytes"); other items are still done.
 * PG_ERR_NOMEM for the batch's own memory: about 1 MiB of bit-sliced states
 * plus, while one security level is done, 3.4 MB x security (signing
 * checkpoints when creating, chain ends when parsing), freed on return —
 * Creating also holds every item's payload trits and leaf addresses for the
 * call (about 15 KB per security-2 message). With a pg_mam_keys cache all
 * of it is kept for the next call (grown to the highest security and the
 * largest call seen; the secret parts are wiped at the end of each call;
 * freed by pg_mam_keys_free), plus the signing leaves' key fragments of 512
 * channels (3.4 MB x security, wiped after each use).
 * n may be 0. Nothing is shared between
 * calls: distinct calls may run in distinct threads (a call uses one). */
typedef struct pg_mam_create_item {
  pg_mam_channel *ch; /* advanced as pg_mam_create_message does, on success */
  const char *msg;    /* msg_len trytes */
  size_t msg_len;
} pg_mam_create_item;

/* A cache for pg_mam_create_batch (opaque, owned by the caller, one call
 * at a time): for each count-1 channel it has seen, the address of the leaf
 * the channel's next message signs with, which that message's batch has
 * just computed as its nextRoot (the tree of the next message is that one
 * leaf). Then the next message computes one leaf, not two, and signs from
 * the key fragments (about 40% fewer transforms at security 2); when it
 * comes in the same lane as the channel's message of the call before (a
 * simulator's or grid's rounds: same channels, same order), it signs from
 * the checkpoints that call kept (pg_mam_keys_counts; about 20% fewer
 * again). Entries are
 * keyed by seed, security and leaf index, so a cached address is always the
 * one the seed gives (a state whose nextRoot was edited still gets mam.js's
 * bytes). About 700 bytes per channel, seeds included, plus the batch
 * workspace above (1.2 MiB + 3.4 MB x security): pg_mam_keys_free wipes it. PG_ERR_NOMEM / PG_ERR_INVALID (keys NULL) from _new. */
typedef struct pg_mam_keys pg_mam_keys;
PG_NODISCARD int pg_mam_keys_new(pg_mam_keys **keys);
void pg_mam_keys_free(pg_mam_keys *keys); /* NULL-safe */

/* How the cache's calls signed their messages, since pg_mam_keys_new:
 * fresh = the signing leaf computed in the call (a first message, or a
 * channel the cache did not know), cached = its address from the cache and
 * its key and chains computed again, kept = signed from the checkpoints the
 * call before kept in the message's lane (a count-1 channel in the same
 * place of a batch of the same security level as in the call before: a
 * simulator's or grid's rounds). The cache keeps those checkpoints, 3.4 MB x
 * security per 512 lanes in two banks, from call to call (they sign the
 * channel's next message, as its seed does); pg_mam_keys_free wipes them. */
typedef struct pg_mam_keys_counts {
  uint64_t fresh, cached, kept;
} pg_mam_keys_counts;
void pg_mam_keys_get_counts(const pg_mam_keys *keys, pg_mam_keys_counts *out);

/* One message on each of n channels; keys: NULL or a cache kept from call
 * to call (the simulator's slots). More than one pass of 512 lanes (n >
 * 512, every item passing the checks) runs as two batches on two threads,
 * the channels split by their seed, the second with a cache of its own
 * inside keys (made on first use, freed with it); the bytes are the one
 * thread's. The channels must be distinct objects:
 * an item whose ch was given by an earlier item fails (PG_ERR_INVALID) —
 * two messages of one channel need two calls (the second signs the leaf the
 * first one announced). */
PG_NODISCARD int pg_mam_create_batch(pg_mam_keys *keys, const pg_mam_create_item *items,
                                     size_t n, pg_mam_message *out, int *rc, pg_diag *d);

typedef struct pg_mam_parse_item {
  const char *payload; /* payload_len trytes */
  size_t payload_len;
  const char *root;     /* 81 trytes */
  const char *side_key; /* as for pg_mam_parse_message */
  size_t side_key_len;
} pg_mam_parse_item;

/* pg_mam_parse_message on each of n payloads; more than 512 run as two
 * halves on two threads (the results are one thread's). */
PG_NODISCARD int pg_mam_parse_batch(const pg_mam_parse_item *items, size_t n,
                                    pg_mam_parsed *out, int *rc, pg_diag *d);

/* mam.js decodeAddress: public -> root, else trytes(Curl-P-81(root)). */
PG_NODISCARD int pg_mam_address(const char *root, pg_mam_mode mode,
                                char address[PG_MAM_HASH_TRYTES + 1]);
/* pg_mam_address of many roots at once: each item's rc and address as
 * pg_mam_address's for its root and mode. The restricted ones go 512 at a
 * time through the bit-sliced Curl-P-81 (crypto/curlp.h pg_curlx) when
 * there are enough to pay for a wide transform, else (or when its state
 * cannot be allocated) one by one: the addresses are the same either way
 * (test_mam_codec). */
typedef struct pg_mam_address_item {
  const char *root; /* in: 81 trytes (else rc = PG_ERR_INVALID) */
  pg_mam_mode mode; /* in */
  int rc;           /* out */
  char address[PG_MAM_HASH_TRYTES + 1]; /* out, when rc == PG_OK */
} pg_mam_address_item;
void pg_mam_address_many(pg_mam_address_item *items, size_t n);
/* Indexation index = BLAKE2b-256 of the 81 address chars. */
void pg_mam_attach_index(const char *address, uint8_t index[PG_HASH_LEN]);

/* packTrytes: 5 bits per tryte (alphabet index, MSB first), padded with 1
 * bits to whole bytes. out needs pg_mam_pack_len(n) bytes. */
size_t pg_mam_pack_len(size_t ntrytes);
PG_NODISCARD int pg_mam_pack_trytes(const char *trytes, size_t n, uint8_t *out);
/* unpackTrytes: out needs n*8/5 chars (no NUL written); *out_len gets the count. */
size_t pg_mam_unpack_cap(size_t nbytes);
void pg_mam_unpack_trytes(const uint8_t *bytes, size_t n, char *out, size_t *out_len);

/* mamAttach data: [packed tag length] packed tag, packed payload. tag: NULL
 * or up to 27 trytes (length 0 = no tag). Appended to out. */
PG_NODISCARD int pg_mam_attach_data(const char *payload, size_t payload_len, const char *tag,
                                    size_t tag_len, pg_buf *out);
/* The decoding side of mamFetch: data must be > 100 bytes, the packed tag
 * must fit and unpack to <= 27 trytes. *payload (owned, NUL-terminated) and
 * tag (NUL-terminated, "" when absent) are written on success. */
PG_NODISCARD int pg_mam_attach_decode(const uint8_t *data, size_t len, char **payload,
                                      size_t *payload_len, char tag[PG_MAM_MAX_TAG + 1],
                                      pg_diag *d);

/* mam.js TrytesHelper.stringToTrytes on UTF-8 text: chars >= U+007F become
 * "\uXXXX" (UTF-16 units, lowercase hex), then 2 trytes per char.
 * PG_ERR_INVALID on invalid UTF-8. *out is owned and NUL-terminated. */
PG_NODISCARD int pg_mam_text_to_trytes(const char *text, size_t len, char **out,
                                       size_t *out_len);
/* mam.js TrytesHelper.stringFromTrytes, producing UTF-8 (lone surrogates
 * become U+FFFD; a "\u" escape with no hex digits gives U+0000 as in JS, so
 * the output may hold NULs: use *out_len). PG_ERR_INVALID on non-trytes. */
PG_NODISCARD int pg_mam_trytes_to_text(const char *trytes, size_t len, char **out,
                                       size_t *out_len);

/* ---- Channel I/O over a node (mam.js mamAttach / mamFetch / mamFetchAll) ----
 * Uses the node access interface of p2pgrid/client/client.h; c is borrowed. */

typedef struct pg_client pg_client;

/* mamAttach: submits {"payload":{"type":2,"index":hex(attach index of
 * m->address),"data":hex(attach data)}}; the node fills the rest. tag: NULL
 * or <= 27 trytes. id (32 bytes) gets the message id. */
PG_NODISCARD int pg_mam_attach(pg_client *c, const pg_mam_message *m, const char *tag,
                               size_t tag_len, uint8_t id[32], pg_diag *d);

/* One message for pg_mam_attach_many (no tag). */
typedef struct pg_mam_attach_item {
  const pg_mam_message *m;
  bool follows;  /* not attached (PG_ERR_STATE) unless the item before it was */
  uint8_t id[32]; /* out: the message id when rc is PG_OK */
  int rc;         /* out */
  pg_diag d;      /* out: why rc is not PG_OK (pg_mam_attach's words) */
} pg_mam_attach_item;

/* pg_mam_attach without a tag for v[0..n) in order, each with its own rc,
 * through pg_client_submit_data_many (an in-process node stores them
 * together). Returns PG_OK once every item has its rc; PG_ERR_INVALID (no
 * item touched) without a client or items, PG_ERR_NOMEM. */
PG_NODISCARD int pg_mam_attach_many(pg_client *c, pg_mam_attach_item *v, size_t n, pg_diag *d);

/* A message read from a channel. message and other_ids are owned. */
typedef struct pg_mam_fetched {
  char root[PG_MAM_HASH_TRYTES + 1];
  char *message;
  size_t message_len;
  char next_root[PG_MAM_HASH_TRYTES + 1];
  char tag[PG_MAM_MAX_TAG + 1];
  uint8_t message_id[32];
  uint32_t leaf;  /* its leaf index in the tree of root */
  uint32_t count; /* leaves in that tree (2^siblings); 0 if over 2^31 (pg_mam_fetch only) */
  /* The complete reader only: the ids of other attachments of the very same
   * message (a re-attach after a crash, or anyone replaying the payload);
   * message_id is the lowest of all. NULL / 0 when there are none. */
  uint8_t (*other_ids)[32];
  size_t n_other_ids;
} pg_mam_fetched;
void pg_mam_fetched_free(pg_mam_fetched *f); /* NULL-safe; idempotent */

/* Most messages looked at under one index (a Chrysalis node lists up to 1000). */
#define PG_MAM_FETCH_MAX_IDS 1000

/* mamFetch: finds the messages under the attach index of root's address, in
 * the node's order, and returns the first whose data is > 100 bytes, unpacks,
 * and verifies against root (others, and ids that cannot be read, are
 * skipped). side_key as for pg_mam_channel_create (required for restricted,
 * refused otherwise). PG_ERR_NOT_FOUND when nothing verifies; errors of the
 * index lookup are returned as they are. With trees of count > 1 this is ONE
 * of the tree's messages (whichever the node lists first): read a channel
 * with pg_mam_read / pg_mam_fetch_all instead. */
PG_NODISCARD int pg_mam_fetch(pg_client *c, const char *root, pg_mam_mode mode,
                              const char *side_key, size_t side_key_len, pg_mam_fetched *out,
                              pg_diag *d);

/* ---- Complete reading (goes beyond mam.js 1.6.3) ----
 * A tree of count leaves carries up to count messages. They share the tree's
 * root (so one address, one attach index), each is signed by its own leaf
 * (its index 0..count-1 is in the message, the tree size follows from the
 * signature's sibling count) and each announces the same next root, the root
 * of the next tree. mam.js mamFetchAll takes the first message the node
 * lists at a root and jumps to its nextRoot: of a count-4 tree it returns one
 * message and loses three. The reader below returns every leaf, in leaf
 * order, and only then follows nextRoot.
 *
 * A reader's position is a cursor {root, leaf}: the tree it is in and the
 * next leaf to read there. A leaf that is not attached (yet) stops the
 * reader there, even when later leaves are: leaves are never skipped, and the
 * same cursor resumes once the leaf arrives. After the tree's last leaf
 * (leaf == count - 1) the cursor is {nextRoot of that leaf, 0}.
 *
 * At one leaf: the candidates that claim that leaf (the leaf index is in the
 * clear header; candidates of leaves before the cursor are not verified) are
 * verified in message-id order; the first (lowest id) that verifies is the
 * leaf's message. Other attachments of the very same message are counted once
 * (other_ids); a different message that also verifies for the same leaf (its
 * one-time key used twice by the channel's owner) is left out and counted as
 * a conflict. The choice depends only on what is attached, not on the node's
 * listing order, so two nodes with the same messages give the same reading.
 * Cost: one index lookup and one message GET per candidate at the root per
 * call, and one signature check per examined candidate. */

typedef struct pg_mam_cursor {
  char root[PG_MAM_HASH_TRYTES + 1]; /* 81 trytes: the tree being read */
  uint32_t leaf;                     /* the next leaf to read in it (0: none yet) */
} pg_mam_cursor;

/* {root, 0}. PG_ERR_INVALID unless root is 81 trytes (root: NUL-terminated). */
PG_NODISCARD int pg_mam_cursor_init(pg_mam_cursor *cur, const char *root);

/* Why a read stopped. */
typedef enum pg_mam_stop {
  PG_MAM_STOP_MISSING = 0, /* the leaf at the cursor is not there (yet) */
  PG_MAM_STOP_TREE_END,    /* the tree's last leaf was read; the cursor is the next root */
  PG_MAM_STOP_LIMIT,       /* max messages were read */
} pg_mam_stop;

/* What one read saw under the root's index (for reports and logs). */
typedef struct pg_mam_read_info {
  pg_mam_stop stop;
  size_t listed;      /* message ids under the index (the node's total) */
  size_t unreadable;  /* ids not returned, not indexation, not MAM attach data */
  size_t earlier;     /* candidates of leaves before the cursor (not verified) */
  size_t unverified;  /* candidates of the leaves examined that do not verify:
                       * tampered, forged, another channel, wrong key */
  size_t duplicates;  /* extra attachments of a returned message (other_ids) */
  size_t conflicts;   /* other messages signed by a returned leaf (left out) */
  size_t later;       /* candidates of leaves after where reading stopped */
  uint32_t count;     /* leaves in the tree (from the last message read; 0: none) */
} pg_mam_read_info;

/* Reads the tree at->root from leaf at->leaf on: every verified message in
 * leaf order, stopping at the first missing leaf, after the tree's last leaf,
 * or after max messages (0 = no limit). *out (array of *n, owned: release with
 * pg_mam_fetched_free_all; NULL when *n is 0) and *next (the cursor after
 * the last message returned; *at when none) are written on PG_OK, which is
 * also the answer when nothing is there yet (*n == 0). info (may be NULL)
 * says what was seen and why reading stopped. Errors: PG_ERR_INVALID (bad
 * cursor, mode/key), PG_ERR_NOMEM, and the index lookup's errors as they are
 * (a message GET that fails counts as unreadable). side_key as for
 * pg_mam_fetch. next may be at. */
PG_NODISCARD int pg_mam_read(pg_client *c, const pg_mam_cursor *at, pg_mam_mode mode,
                             const char *side_key, size_t side_key_len, size_t max,
                             pg_mam_fetched **out, size_t *n, pg_mam_cursor *next,
                             pg_mam_read_info *info, pg_diag *d);

/* pg_mam_read on many channels at once (a grid reads a thousand a slot):
 * the same results as pg_mam_read on each request in turn (the node is
 * only read), with the signature checks of every channel's candidates for
 * its cursor's leaf done together by pg_mam_parse_batch (with fewer than 8
 * such candidates in all, one at a time). Per request: at, mode, side_key,
 * side_key_len and max as pg_mam_read's arguments; rc and diag get what it
 * would return, and out / n / next / info what it would write (out owned:
 * pg_mam_fetched_free_all; next is at when rc fails). Returns PG_OK when
 * every request succeeded, else the lowest failing one's error, which d
 * names ("channel 3: ..."); PG_ERR_NOMEM for its own memory (then no
 * request is done); PG_ERR_INVALID for reqs NULL with n > 0. n may be 0.
 * Threads: as pg_mam_read (one call uses c from one thread). */
typedef struct pg_mam_read_req {
  pg_mam_cursor at;
  pg_mam_mode mode;
  const char *side_key;
  size_t side_key_len;
  size_t max;
  int rc;
  pg_diag diag;
  pg_mam_fetched *out;
  size_t n;
  pg_mam_cursor next;
  pg_mam_read_info info;
} pg_mam_read_req;
PG_NODISCARD int pg_mam_read_many(pg_client *c, pg_mam_read_req *reqs, size_t n, pg_diag *d);

/* The whole channel from *cur on: pg_mam_read tree after tree, following
 * nextRoot after each tree's last leaf, until a leaf is missing or `limit`
 * messages (0 = no limit) are read, or the channel leads back to a root it
 * already read (a cycle only its owner can sign; reading stops there). *cur
 * is advanced past what is returned, so calling again later resumes without
 * loss or repetition. *out / *n as for pg_mam_read. On an error the messages
 * read before it are still in *out / *n (free them) and *cur is after them. */
PG_NODISCARD int pg_mam_fetch_from(pg_client *c, pg_mam_cursor *cur, pg_mam_mode mode,
                                   const char *side_key, size_t side_key_len, size_t limit,
                                   pg_mam_fetched **out, size_t *n, pg_diag *d);

/* mamFetchAll made complete: pg_mam_fetch_from from {root, 0}. Unlike mam.js
 * (one message per tree) it returns every message of trees of count > 1, in
 * order. *out (array of *n, owned, release with pg_mam_fetched_free_all) may
 * be empty. Any error frees what was gathered and is returned; a caller that
 * wants to keep partial progress uses pg_mam_fetch_from. */
PG_NODISCARD int pg_mam_fetch_all(pg_client *c, const char *root, pg_mam_mode mode,
                                  const char *side_key, size_t side_key_len, size_t limit,
                                  pg_mam_fetched **out, size_t *n, pg_diag *d);
void pg_mam_fetched_free_all(pg_mam_fetched *list, size_t n);

/* pg_mam_fetch_all on many channels at once, breadth first: each round
 * reads the next tree of every channel not done yet with one
 * pg_mam_read_many (over HTTP a few requests a round for hundreds of
 * channels, not two a message), so the messages, their order and each
 * channel's end (a missing leaf, `limit`, a cycle) are pg_mam_fetch_all's.
 * Per request: root, mode, side_key, side_key_len and limit as its
 * arguments; rc and diag get what it would return, out / n what it would
 * write (out owned: pg_mam_fetched_free_all; NULL and 0 when rc fails).
 * Returns PG_OK when every request succeeded, else the lowest failing one's
 * error, which d names ("channel 3: ..."); PG_ERR_NOMEM for its own memory
 * (then every request not done has that rc); PG_ERR_INVALID for reqs NULL
 * with n > 0. n may be 0. Threads: as pg_mam_read_many. */
typedef struct pg_mam_fetch_req {
  const char *root; /* 81 trytes, NUL-terminated */
  pg_mam_mode mode;
  const char *side_key;
  size_t side_key_len;
  size_t limit;
  int rc;
  pg_diag diag;
  pg_mam_fetched *out;
  size_t n;
} pg_mam_fetch_req;
PG_NODISCARD int pg_mam_fetch_all_many(pg_client *c, pg_mam_fetch_req *reqs, size_t n,
                                       pg_diag *d);

#endif
