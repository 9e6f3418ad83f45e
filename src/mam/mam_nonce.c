/* MAM nonce search in mam.js's exact order (CHRYSALIS.md 10.7).
 *
 * mam.js's HammingDiver keeps the state bit-sliced in 64 lanes that differ
 * only in trits 0..3 (fixed lane patterns); one round increments the shared
 * counter (trits 54..80), transforms all lanes at once and takes the first
 * lane that meets the security rule, where lane 0 means "not found". The
 * bit-sliced Curl of crypto/curlp.h uses the same lane encoding, so the patterns load
 * as they are and the search costs one 64-lane transform per round. */
#include <string.h>

#include "mam_internal.h"

static const uint64_t LANE_LO[4] = {0xDB6DB6DB6DB6DB6DULL, 0xF1F8FC7E3F1F8FC7ULL,
                                    0x7FFFE00FFFFC01FFULL, 0xFFC0000007FFFFFFULL};
static const uint64_t LANE_HI[4] = {0xB6DB6DB6DB6DB6DBULL, 0x8FC7E3F1F8FC7E3FULL,
                                    0xFFC01FFFF803FFFFULL, 0x003FFFFFFFFFFFFFULL};

#define COUNTER_FROM 54
#define COUNTER_LEN 27

static void set_all(pg_curl64 *s, size_t i, pg_trit t) {
  s->lo[i] = t <= 0 ? ~(uint64_t)0 : 0;
  s->hi[i] = t >= 0 ? ~(uint64_t)0 : 0;
}

/* Trit i of lane k, decoded. */
static int lane_trit(const pg_curl64 *s, unsigned k, size_t i) {
  return (int)((s->hi[i] >> k) & 1) - (int)((s->lo[i] >> k) & 1);
}

/* HammingDiver.check: the first lane whose hash has security level exactly
 * `security` (cumulative sums over 81-trit thirds: zero at the last, non-zero
 * before), or 0 when none does or lane 0 does. */
static unsigned first_lane(const pg_curl64 *s, int security) {
  for (unsigned k = 0; k < 64; k++) {
    int sum = 0;
    bool ok = true;
    for (int level = 1; level <= security; level++) {
      for (size_t i = (size_t)(level - 1) * 81; i < (size_t)level * 81; i++) sum += lane_trit(s, k, i);
      if (sum == 0 && level < security) {
        ok = false;
        break;
      }
    }
    if (ok && sum == 0) return k;
  }
  return 0;
}

int mam_nonce_search(mam_ws *ws, const pg_trit *state729, int security, pg_trit *nonce) {
  pg_curl64 *base = &ws->st, *out = &ws->out;
  for (size_t i = 0; i < PG_CURL_STATE; i++) set_all(base, i, state729[i]);
  for (size_t t = 0; t < 4; t++) {
    base->lo[t] = LANE_LO[t];
    base->hi[t] = LANE_HI[t];
  }
  pg_trit ctr[COUNTER_LEN];
  memcpy(ctr, state729 + COUNTER_FROM, sizeof ctr);
  for (;;) {
    /* +1 in balanced ternary, trit 54 least significant, before each test */
    size_t i = 0;
    for (; i < COUNTER_LEN; i++) {
      if (ctr[i] < 1) {
        ctr[i]++;
        break;
      }
      ctr[i] = -1;
    }
    /* mam.js widens its counter after 3^27 rounds; unreachable in practice */
    if (i == COUNTER_LEN) return PG_ERR_POW;
    for (size_t j = 0; j <= i; j++) set_all(base, COUNTER_FROM + j, ctr[j]);
    pg_curl64_transform_copy(base, out, 27);
    unsigned lane = first_lane(out, security);
    if (lane > 0) {
      memcpy(nonce, state729, MAM_NONCE);
      for (size_t t = 0; t < 4; t++) nonce[t] = (pg_trit)lane_trit(base, lane, t);
      memcpy(nonce + COUNTER_FROM, ctr, sizeof ctr);
      return PG_OK;
    }
  }
}

/* ---- many searches at once ------------------------------------------------- */

/* Sum of the trits of rows [a, b) of lane k, from the lane bits of 64-row
 * blocks (pos[blk][k], neg[blk][k]). */
static int rows_sum(uint64_t (*pos)[64], uint64_t (*neg)[64], size_t k, size_t a, size_t b) {
  int sum = 0;
  for (size_t blk = a / 64; blk * 64 < b; blk++) {
    size_t lo = blk * 64 > a ? 0 : a - blk * 64, hi = b - blk * 64 >= 64 ? 64 : b - blk * 64;
    uint64_t m = (hi == 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1);
    sum += __builtin_popcountll(pos[blk][k] & m) - __builtin_popcountll(neg[blk][k] & m);
  }
  return sum;
}

/* first_lane for the 64 lanes of word w of s. */
static unsigned first_lane_word(const pg_curlx *s, size_t w, int security) {
  uint64_t pos[4][64], neg[4][64];
  size_t rows = (size_t)security * 81;
  for (size_t blk = 0; blk * 64 < rows; blk++)
    pg_curlx_lane_bits(s, w, blk * 64, rows - blk * 64 < 64 ? rows - blk * 64 : 64, pos[blk],
                       neg[blk]);
  for (unsigned k = 0; k < 64; k++) {
    int sum = 0;
    bool ok = true;
    for (int level = 1; level <= security; level++) {
      sum += rows_sum(pos, neg, k, (size_t)(level - 1) * 81, (size_t)level * 81);
      if (sum == 0 && level < security) {
        ok = false;
        break;
      }
    }
    if (ok && sum == 0) return k;
  }
  return 0;
}

typedef struct nslot {
  size_t item; /* SIZE_MAX: free */
  pg_trit ctr[COUNTER_LEN];
} nslot;

static void slot_load(pg_curlx *base, size_t w, const pg_trit *st, nslot *sl, size_t item) {
  for (size_t i = 0; i < PG_CURL_STATE; i++) {
    base->lo[i][w] = st[i] <= 0 ? ~(uint64_t)0 : 0;
    base->hi[i][w] = st[i] >= 0 ? ~(uint64_t)0 : 0;
  }
  for (size_t t = 0; t < 4; t++) {
    base->lo[t][w] = LANE_LO[t];
    base->hi[t][w] = LANE_HI[t];
  }
  memcpy(sl->ctr, st + COUNTER_FROM, sizeof sl->ctr);
  sl->item = item;
}

/* +1 on the slot's counter and its rows; false when it ran out. */
static bool slot_step(pg_curlx *base, size_t w, nslot *sl) {
  size_t i = 0;
  for (; i < COUNTER_LEN; i++) {
    if (sl->ctr[i] < 1) {
      sl->ctr[i]++;
      break;
    }
    sl->ctr[i] = -1;
  }
  if (i == COUNTER_LEN) return false;
  for (size_t j = 0; j <= i; j++) {
    base->lo[COUNTER_FROM + j][w] = sl->ctr[j] <= 0 ? ~(uint64_t)0 : 0;
    base->hi[COUNTER_FROM + j][w] = sl->ctr[j] >= 0 ? ~(uint64_t)0 : 0;
  }
  return true;
}

void mam_nonce_search_many(pg_curlx *base, pg_curlx *out, const pg_trit *const *states,
                           const int *sec, size_t n, pg_trit *const *nonces, int *rc) {
  nslot slot[PG_CURLX_WORDS];
  size_t next = 0, busy = 0;
  for (size_t w = 0; w < PG_CURLX_WORDS; w++) {
    slot[w].item = SIZE_MAX;
    if (next < n) slot_load(base, w, states[next], &slot[w], next), next++, busy++;
  }
  while (busy > 0) {
    for (size_t w = 0; w < PG_CURLX_WORDS; w++) {
      if (slot[w].item == SIZE_MAX || slot_step(base, w, &slot[w])) continue;
      rc[slot[w].item] = PG_ERR_POW; /* mam.js widens its counter here; unreachable */
      slot[w].item = SIZE_MAX, busy--;
    }
    pg_curlx_copy_rows(out, base, 0, PG_CURL_STATE);
    pg_curlx_transform(out, 27);
    for (size_t w = 0; w < PG_CURLX_WORDS; w++) {
      size_t it = slot[w].item;
      if (it == SIZE_MAX) continue;
      unsigned lane = first_lane_word(out, w, sec[it]);
      if (lane == 0) continue;
      memcpy(nonces[it], states[it], MAM_NONCE);
      for (size_t t = 0; t < 4; t++)
        nonces[it][t] = (pg_trit)((int)((LANE_HI[t] >> lane) & 1) - (int)((LANE_LO[t] >> lane) & 1));
      memcpy(nonces[it] + COUNTER_FROM, slot[w].ctr, sizeof slot[w].ctr);
      rc[it] = PG_OK;
      slot[w].item = SIZE_MAX, busy--;
      if (next < n) slot_load(base, w, states[next], &slot[w], next), next++, busy++;
    }
  }
}
