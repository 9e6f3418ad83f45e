/* Internal to src/mam: trit helpers, pascal coding, masking, keys, Merkle
 * tree and nonce search shared by the MAM files. Not a public contract. */
#ifndef P2PGRID_MAM_INTERNAL_H
#define P2PGRID_MAM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/crypto/curlp.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/crypto/ternary.h"

#define MAM_HASH 243                 /* trits in a hash / key fragment */
#define MAM_NONCE 81                 /* nonce trits */
#define MAM_FRAGS(sec) (27 * (sec))  /* key fragments at a security level */
#define MAM_PASCAL_MAX 52            /* longest pascal code we write or read (13 trytes) */

/* ---- mam_trits.c ---- */

/* Length in trits of pascal(v). */
size_t mam_pascal_len(uint64_t v);
/* Writes pascal(v) (mam_pascal_len(v) trits) and returns its length. */
size_t mam_pascal_encode(uint64_t v, pg_trit *out);
/* Decodes a canonical non-negative pascal code at the start of in[0..n):
 * *v gets the value, *used the trits read. PG_ERR_TRUNCATED if it runs past
 * n, PG_ERR_INVALID if it is not the encoding mam.js would write. */
PG_NODISCARD int mam_pascal_decode(const pg_trit *in, size_t n, uint64_t *v, size_t *used);

/* tritSum table: a + b with 2 -> -1 and -2 -> 1, indexed by a + b + 2. */
extern const pg_trit MAM_TSUM[5];

/* Zeroes n bytes in a way the compiler keeps (p may be NULL). */
void mam_wipe(void *p, size_t n);

/* In-place mask / unmask of n trits with the sponge (section 10.5). */
void mam_mask(pg_curl *s, pg_trit *io, size_t n);
void mam_unmask(pg_curl *s, pg_trit *io, size_t n);

/* checksumSecurity of a 243-trit hash: 1..3, or 0. */
int mam_checksum_security(const pg_trit *hash);

/* H(x): new Curl-27, absorb 243 trits, rate 243. out may equal in. */
void mam_hash(const pg_trit *in, pg_trit *out);
/* Curl-27 over a ‖ b (243 trits each) -> out. */
void mam_hash2(const pg_trit *a, const pg_trit *b, pg_trit *out);

/* Trytes of the alphabet -> trits with validation. */
PG_NODISCARD int mam_trytes_to_trits(const char *s, size_t n, pg_trit *out);

/* ---- mam_message.c ---- */

/* The layout of a created message (CHRYSALIS.md 10.6), trit offsets in P. */
typedef struct mam_plan {
  int sec;
  size_t frags, L, nleaves, nsib, hl;
  size_t off_next, off_nonce, off_sig, off_pas, off_sib, total, padded;
} mam_plan;

/* pg_mam_create_message's checks of channel and message (diag as it gives). */
PG_NODISCARD int mam_create_check(const pg_mam_channel *ch, const char *msg, size_t msg_len,
                                  pg_diag *d);
void mam_create_plan(const pg_mam_channel *ch, size_t msg_len, mam_plan *p);
/* seed, side key (or zeros) and P's clear parts: header, message, pascal(nsib).
 * P holds p->padded zeroed trits. PG_ERR_INVALID on bad trytes. */
PG_NODISCARD int mam_create_inputs(const pg_mam_channel *ch, const char *msg, size_t msg_len,
                                   const mam_plan *p, pg_trit *seed, pg_trit *key, pg_trit *P);
/* Trytes of the finished P into payload (p->padded / 3 + 1 chars, now owned
 * by out), root and next root into out (not the address), and the channel
 * advanced as mam.js does. */
void mam_create_output(pg_mam_channel *ch, const mam_plan *p, const pg_trit *P, char *payload,
                       const pg_trit *root, const pg_trit *next_root, pg_mam_message *out);

/* A payload being parsed: what precedes the sponge (10.8 step 1). */
typedef struct mam_phead {
  pg_trit root[MAM_HASH], key[MAM_HASH];
  pg_trit *P; /* owned: the payload's n trits, unmasked in place */
  size_t n, hl, off_msg, off_nonce, off_sig;
  uint64_t index, L;
} mam_phead;
/* pg_mam_parse_message's checks up to the sponge; on PG_OK h->P is owned
 * (mam_parse_release). */
PG_NODISCARD int mam_parse_begin(const char *payload, size_t payload_len, const char *root,
                                 const char *side_key, size_t side_key_len, mam_phead *h,
                                 pg_diag *d);
void mam_parse_release(mam_phead *h);
/* Step 4: the hmac's security level and room for the signature. */
PG_NODISCARD int mam_parse_security(const mam_phead *h, const pg_trit *hmac, int *sec,
                                    pg_diag *d);
/* Steps 6-8 from the leaf the signature gives (calc, overwritten): siblings,
 * root check, and the outputs. */
PG_NODISCARD int mam_parse_finish(const mam_phead *h, int sec, pg_trit *calc,
                                  pg_mam_parsed *out, pg_diag *d);

/* The leaf index a payload claims in its clear header (0..UINT32_MAX; not
 * verified: parsing does that). PG_ERR_INVALID / PG_ERR_TRUNCATED when the
 * header does not decode. */
PG_NODISCARD int mam_peek_index(const char *payload, size_t payload_len, uint64_t *index);

/* ---- mam_channel.c ---- */

/* mam.js validateModeKey (key of len trytes, len 0 = none). */
PG_NODISCARD int mam_check_mode_key(pg_mam_mode mode, const char *key, size_t len, pg_diag *d);

/* ---- mam_keys.c ---- */

/* Scratch for bit-sliced hash chains, leaf generation and the nonce search
 * (heap, about 55 KiB; nothing is allocated inside the loops). */
typedef struct mam_ws {
  pg_curl64 st;                    /* chain / search state */
  pg_curl64 out;                   /* transformed copy (nonce search) */
  pg_trit in[64 * MAM_HASH];       /* lane inputs */
  pg_trit res[64 * MAM_HASH];      /* lane results */
  int want[64];                    /* per-lane step count */
} mam_ws;
PG_NODISCARD int mam_ws_new(mam_ws **ws);
void mam_ws_free(mam_ws *ws);

/* Signing checkpoints: H^(7c)(r_j) for c = 0..3, so a signature fragment is
 * at most 6 hashes from one of them. */
#define MAM_CKPT_STEP 7
#define MAM_CKPTS 4
#define MAM_CKPT_TRITS(sec) ((size_t)MAM_CKPTS * MAM_FRAGS((size_t)(sec)) * MAM_HASH)

/* seed + i in balanced ternary (trit 0 least significant, wrapping at 243
 * trits): what a leaf's subseed hashes. */
void mam_seed_plus(const pg_trit *seed, uint64_t i, pg_trit *out);
/* Tryte j (-13..13) of a hash. */
int mam_hmac_tryte(const pg_trit *hmac, size_t j);

/* Leaf addresses of leaves first..first+n-1 of the seed (243 trits each,
 * into addrs). If sign_leaf < n, that leaf's checkpoints are saved into ckpt
 * (MAM_CKPT_TRITS(security) trits: checkpoint c of fragment j at
 * (c * 27 * security + j) * 243) for mam_sign. */
void mam_leaves(mam_ws *ws, const pg_trit *seed, int security, uint64_t first, size_t n,
                pg_trit *addrs, size_t sign_leaf, pg_trit *ckpt);
/* Signature fragments sig_j = H^(13 - h_j)(k_j) from the checkpoints. */
void mam_sign(mam_ws *ws, int security, const pg_trit *hmac, const pg_trit *ckpt,
              pg_trit *sig);
/* Leaf address from a signature: H(Curl-27 over ‖_j H^(h_j + 13)(sig_j)). */
void mam_sig_address(mam_ws *ws, int security, const pg_trit *hmac, const pg_trit *sig,
                     pg_trit *leaf);

/* Root of a Merkle tree over n (power of two) leaves; the leaves array is
 * overwritten. If sib != NULL, the log2(n) siblings of leaf `index`, leaf
 * upward, are written there first. */
void mam_merkle(pg_trit *leaves, size_t n, size_t index, pg_trit *sib, pg_trit *root);
/* Root from a leaf and its siblings (mam.js MerkleTree.root). */
void mam_merkle_fold(const pg_trit *leaf, const pg_trit *sib, size_t nsib, uint64_t index,
                     pg_trit *root);

/* ---- mam_nonce.c ---- */

/* mam.js HammingDiver.search(state, security, 81, 0): writes the 81 nonce
 * trits. PG_ERR_POW if the counter space ran out (never in practice). */
PG_NODISCARD int mam_nonce_search(mam_ws *ws, const pg_trit *state729, int security,
                                  pg_trit *nonce);

/* ---- mam_nonce.c ---- */

/* n searches at once, one per 64-lane word of the wide states (base and out
 * are scratch): item i searches from states[i] (729 trits) at security
 * sec[i] exactly as mam_nonce_search and writes nonces[i] (81 trits) and
 * rc[i]. */
void mam_nonce_search_many(pg_curlx *base, pg_curlx *out, const pg_trit *const *states,
                           const int *sec, size_t n, pg_trit *const *nonces, int *rc);

#endif
