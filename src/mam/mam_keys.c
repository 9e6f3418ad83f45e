/* MAM keys, signatures and the Merkle tree (CHRYSALIS.md 10.3, 10.6 step 8,
 * 10.8 step 6).
 *
 * Speed: the Winternitz chains (up to 27 hashes per key fragment, 27 *
 * security fragments per leaf) are independent, so they run 64 at a time on
 * the bit-sliced Curl (one lane per fragment, fragments of consecutive
 * leaves packed into the same batch). Only the sponges that are sequential
 * by nature (subseed, key squeeze, digest absorb) use the scalar Curl. */
#include <stdlib.h>
#include <string.h>

#include "mam_internal.h"

int mam_ws_new(mam_ws **ws) {
  *ws = malloc(sizeof **ws);
  return *ws ? PG_OK : PG_ERR_NOMEM;
}

void mam_ws_free(mam_ws *ws) { free(ws); }

/* ---- bit-sliced chains ----------------------------------------------------- */

/* Capacity trits 243..728 = 0 in every lane: the state of a fresh Curl after
 * absorbing the 243-trit rate. Encoding (lo, hi) = (1, 1) is 0. */
static void capacity_zero(pg_curl64 *s) {
  memset(s->lo + MAM_HASH, 0xff, (PG_CURL_STATE - MAM_HASH) * sizeof s->lo[0]);
  memset(s->hi + MAM_HASH, 0xff, (PG_CURL_STATE - MAM_HASH) * sizeof s->hi[0]);
}

/* Lane k (< nl) gets in[k*243 ..]; other lanes get zeros. */
static void lanes_load(pg_curl64 *s, const pg_trit *in, size_t nl) {
  uint64_t unused = nl >= 64 ? 0 : ~(uint64_t)0 << nl;
  for (size_t i = 0; i < MAM_HASH; i++) {
    uint64_t lo = unused, hi = unused;
    const pg_trit *p = in + i;
    for (size_t k = 0; k < nl; k++, p += MAM_HASH) {
      lo |= (uint64_t)(*p <= 0) << k;
      hi |= (uint64_t)(*p >= 0) << k;
    }
    s->lo[i] = lo;
    s->hi[i] = hi;
  }
  capacity_zero(s);
}

static void lane_get(const pg_curl64 *s, size_t k, pg_trit *out) {
  for (size_t i = 0; i < MAM_HASH; i++)
    out[i] = (pg_trit)((int)((s->hi[i] >> k) & 1) - (int)((s->lo[i] >> k) & 1));
}

/* Lane k (< nl) starts from ws->in[k] and ws->res[k] receives H^want[k] of
 * it (want 0..27). If ck != NULL, lanes with ck[k] != NULL also copy
 * H^(7c) into ck[k] + c * ck_stride for c = 1..3 (signing checkpoints). */
static void chains(mam_ws *ws, size_t nl, pg_trit *const *ck, size_t ck_stride) {
  int steps = 0;
  for (size_t k = 0; k < nl; k++) {
    if (ws->want[k] > steps) steps = ws->want[k];
    if (ws->want[k] == 0) memcpy(ws->res + k * MAM_HASH, ws->in + k * MAM_HASH, MAM_HASH);
  }
  lanes_load(&ws->st, ws->in, nl);
  for (int t = 1; t <= steps; t++) {
    if (t > 1) capacity_zero(&ws->st);
    pg_curl64_transform(&ws->st, 27);
    for (size_t k = 0; k < nl; k++) {
      if (ws->want[k] == t) lane_get(&ws->st, k, ws->res + k * MAM_HASH);
      if (ck && ck[k] && t % MAM_CKPT_STEP == 0 && t < MAM_CKPTS * MAM_CKPT_STEP)
        lane_get(&ws->st, k, ck[k] + (size_t)(t / MAM_CKPT_STEP) * ck_stride);
    }
  }
}

/* ---- keys and leaves --------------------------------------------------------- */

void mam_seed_plus(const pg_trit *seed, uint64_t i, pg_trit *t) {
  memcpy(t, seed, MAM_HASH);
  int carry = 0;
  for (size_t p = 0; p < MAM_HASH && (i > 0 || carry != 0); p++) {
    int digit = (int)(i % 3);
    i /= 3;
    if (digit == 2) {
      digit = -1;
      i++;
    }
    int s = t[p] + digit + carry;
    carry = 0;
    if (s > 1) {
      s -= 3;
      carry = 1;
    } else if (s < -1) {
      s += 3;
      carry = -1;
    }
    t[p] = (pg_trit)s;
  }
}

/* Curl-27 over seed + i, squeezed: the subseed of leaf i. */
static void subseed(const pg_trit *seed, uint64_t i, pg_trit *out) {
  pg_trit t[MAM_HASH];
  mam_seed_plus(seed, i, t);
  pg_curl c;
  pg_curl_init(&c, 27);
  pg_curl_absorb(&c, t, MAM_HASH);
  pg_curl_squeeze(&c, out, MAM_HASH);
}

void mam_leaves(mam_ws *ws, const pg_trit *seed, int security, uint64_t first, size_t n,
                pg_trit *addrs, size_t sign_leaf, pg_trit *ckpt) {
  const size_t frags = MAM_FRAGS((size_t)security), total = n * frags;
  pg_curl kc, dc; /* key squeeze of the current leaf; digest of the current leaf */
  pg_trit tmp[MAM_HASH];
  pg_trit *cap[64];
  pg_curl_init(&kc, 27);
  pg_curl_init(&dc, 27);
  for (size_t base = 0; base < total; base += 64) {
    size_t nl = total - base < 64 ? total - base : 64;
    bool any_cap = false;
    for (size_t k = 0; k < nl; k++) {
      size_t f = base + k, leaf = f / frags, j = f % frags;
      pg_trit *in = ws->in + k * MAM_HASH;
      if (j == 0) {
        subseed(seed, first + leaf, tmp);
        pg_curl_init(&kc, 27);
        pg_curl_absorb(&kc, tmp, MAM_HASH);
      }
      pg_curl_squeeze(&kc, in, MAM_HASH);
      ws->want[k] = 27; /* digest fragment = H^27(r_j) */
      cap[k] = NULL;
      if (leaf == sign_leaf) {
        memcpy(ckpt + j * MAM_HASH, in, MAM_HASH); /* checkpoint 0: r_j */
        cap[k] = ckpt + j * MAM_HASH;
        any_cap = true;
      }
    }
    chains(ws, nl, any_cap ? cap : NULL, frags * MAM_HASH);
    for (size_t k = 0; k < nl; k++) {
      size_t f = base + k, leaf = f / frags, j = f % frags;
      if (j == 0) pg_curl_init(&dc, 27);
      pg_curl_absorb(&dc, ws->res + k * MAM_HASH, MAM_HASH);
      if (j == frags - 1) {
        pg_curl_rate(&dc, tmp, MAM_HASH);
        mam_hash(tmp, addrs + leaf * MAM_HASH);
      }
    }
  }
  memset(tmp, 0, sizeof tmp);
  memset(kc.state, 0, sizeof kc.state);
}

int mam_hmac_tryte(const pg_trit *hmac, size_t j) {
  return hmac[3 * j] + 3 * hmac[3 * j + 1] + 9 * hmac[3 * j + 2];
}

void mam_sign(mam_ws *ws, int security, const pg_trit *hmac, const pg_trit *ckpt,
              pg_trit *sig) {
  const size_t frags = MAM_FRAGS((size_t)security);
  for (size_t base = 0; base < frags; base += 64) {
    size_t nl = frags - base < 64 ? frags - base : 64;
    for (size_t k = 0; k < nl; k++) {
      size_t j = base + k;
      /* sig_j = H^(13 - h)(k_j) = H^(14 - h)(r_j), 14 - h in 1..27: start from
       * the nearest checkpoint H^(7c)(r_j) below it, at most 6 steps away */
      int w = 14 - mam_hmac_tryte(hmac, j);
      int c = w / MAM_CKPT_STEP < MAM_CKPTS ? w / MAM_CKPT_STEP : MAM_CKPTS - 1;
      memcpy(ws->in + k * MAM_HASH, ckpt + ((size_t)c * frags + j) * MAM_HASH, MAM_HASH);
      ws->want[k] = w - c * MAM_CKPT_STEP;
    }
    chains(ws, nl, NULL, 0);
    memcpy(sig + base * MAM_HASH, ws->res, nl * MAM_HASH);
  }
  memset(ws->in, 0, sizeof ws->in);
  memset(ws->res, 0, sizeof ws->res);
}

void mam_sig_address(mam_ws *ws, int security, const pg_trit *hmac, const pg_trit *sig,
                     pg_trit *leaf) {
  const size_t frags = MAM_FRAGS((size_t)security);
  pg_curl dc;
  pg_curl_init(&dc, 27);
  for (size_t base = 0; base < frags; base += 64) {
    size_t nl = frags - base < 64 ? frags - base : 64;
    memcpy(ws->in, sig + base * MAM_HASH, nl * MAM_HASH);
    for (size_t k = 0; k < nl; k++) ws->want[k] = mam_hmac_tryte(hmac, base + k) + 13;
    chains(ws, nl, NULL, 0);
    pg_curl_absorb(&dc, ws->res, nl * MAM_HASH);
  }
  pg_trit digest[MAM_HASH];
  pg_curl_rate(&dc, digest, MAM_HASH);
  mam_hash(digest, leaf);
}

/* ---- Merkle tree -------------------------------------------------------------- */

void mam_merkle(pg_trit *leaves, size_t n, size_t index, pg_trit *sib, pg_trit *root) {
  size_t w = n, idx = index, s = 0;
  while (w > 1) {
    if (sib) memcpy(sib + s * MAM_HASH, leaves + (idx ^ 1) * MAM_HASH, MAM_HASH);
    s++;
    for (size_t i = 0; i < w / 2; i++)
      mam_hash2(leaves + 2 * i * MAM_HASH, leaves + (2 * i + 1) * MAM_HASH, leaves + i * MAM_HASH);
    w /= 2;
    idx /= 2;
  }
  memcpy(root, leaves, MAM_HASH);
}

void mam_merkle_fold(const pg_trit *leaf, const pg_trit *sib, size_t nsib, uint64_t index,
                     pg_trit *root) {
  pg_trit h[MAM_HASH];
  memcpy(h, leaf, MAM_HASH);
  for (size_t k = 0; k < nsib; k++) {
    /* mam.js tests (1 << k) & index on 32-bit ints: no bit beyond 31 */
    bool right = k < 32 && ((index >> k) & 1);
    const pg_trit *s = sib + k * MAM_HASH;
    if (right)
      mam_hash2(s, h, h);
    else
      mam_hash2(h, s, h);
  }
  memcpy(root, h, MAM_HASH);
}
