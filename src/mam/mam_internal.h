/* Internal to src/mam: trit helpers, pascal coding, masking, keys, Merkle
 * tree and nonce search shared by the MAM files. Not a public contract. */
#ifndef P2PGRID_MAM_INTERNAL_H
#define P2PGRID_MAM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/curl.h"
#include "p2pgrid/mam.h"
#include "p2pgrid/ternary.h"

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

#endif
