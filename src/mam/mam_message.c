/* MAM v0 createMessage / parseMessage / channelRoot (CHRYSALIS.md 10.6-10.8). */
#include <stdlib.h>
#include <string.h>

#include "mam_internal.h"

/* Upper bound on a payload we agree to parse, in trytes. */
#define MAX_PAYLOAD ((size_t)PG_MAM_MAX_MESSAGE + 32768)

#define wipe mam_wipe

static size_t log2_pow2(uint32_t n) {
  size_t k = 0;
  while ((1u << k) < n) k++;
  return k;
}

/* Key trits for the sponge: side key (<= 81 trytes, '9'-padded) or zeros. */
static int key_trits(const char *key, size_t len, pg_trit out[MAM_HASH]) {
  memset(out, 0, MAM_HASH);
  if (len == 0) return PG_OK;
  if (!key || len > PG_MAM_HASH_TRYTES) return PG_ERR_INVALID;
  return mam_trytes_to_trits(key, len, out);
}

void pg_mam_message_free(pg_mam_message *m) {
  if (!m) return;
  free(m->payload);
  m->payload = NULL;
  m->payload_len = 0;
}

void pg_mam_parsed_free(pg_mam_parsed *p) {
  if (!p) return;
  free(p->message);
  p->message = NULL;
  p->message_len = 0;
}

int pg_mam_channel_root(const pg_mam_channel *ch, char root[PG_MAM_HASH_TRYTES + 1]) {
  if (!ch || !root) return PG_ERR_INVALID;
  int rc = pg_mam_channel_validate(ch, NULL);
  if (rc) return rc;
  pg_trit seed[MAM_HASH], r[MAM_HASH];
  pg_trit *addrs = malloc((size_t)ch->count * MAM_HASH);
  mam_ws *ws = NULL;
  if (!addrs || mam_ws_new(&ws)) {
    rc = PG_ERR_NOMEM;
    goto out;
  }
  rc = mam_trytes_to_trits(ch->seed, PG_MAM_HASH_TRYTES, seed);
  if (rc) goto out;
  mam_leaves(ws, seed, ch->security, ch->start, ch->count, addrs, SIZE_MAX, NULL);
  mam_merkle(addrs, ch->count, 0, NULL, r);
  pg_trits_to_trytes(r, MAM_HASH, root);
  root[PG_MAM_HASH_TRYTES] = '\0';
out:
  wipe(seed, sizeof seed);
  free(addrs);
  mam_ws_free(ws);
  return rc;
}

int pg_mam_channel_check(const pg_mam_channel *ch, pg_diag *d) {
  int rc = pg_mam_channel_validate(ch, d);
  if (rc || !ch->has_next_root) return rc;
  /* the tree the last message announced: after a tree's last leaf mam.js
   * moved start on by nextCount, within a tree start stayed */
  pg_mam_channel next = *ch;
  if (ch->index == 0 && ch->start < ch->next_count) {
    rc = pg_fail(d, PG_ERR_STATE, "the state has a nextRoot but no message before start %llu",
                 (unsigned long long)ch->start);
    goto out;
  }
  next.start = ch->index == 0 ? ch->start - ch->next_count + ch->count : ch->start + ch->count;
  next.count = ch->next_count;
  next.index = 0;
  char root[PG_MAM_HASH_TRYTES + 1];
  if (next.start > PG_MAM_MAX_START) {
    rc = pg_fail(d, PG_ERR_STATE, "the state's next tree starts beyond 2^53 - 1");
    goto out;
  }
  if ((rc = pg_mam_channel_root(&next, root))) {
    rc = pg_fail(d, rc, "cannot compute the channel's next root");
    goto out;
  }
  if (memcmp(root, ch->next_root, PG_MAM_HASH_TRYTES) != 0)
    rc = pg_fail(d, PG_ERR_STATE,
                 "the seed does not produce the nextRoot %.81s (it gives %.81s for leaves "
                 "%llu..%llu)",
                 ch->next_root, root, (unsigned long long)next.start,
                 (unsigned long long)(next.start + next.count - 1));
out:
  pg_mam_channel_wipe(&next);
  return rc;
}

int mam_create_check(const pg_mam_channel *ch, const char *msg, size_t msg_len, pg_diag *d) {
  int rc = pg_mam_channel_validate(ch, d);
  if (rc) return rc;
  if (msg_len == 0 || msg_len > PG_MAM_MAX_MESSAGE)
    return pg_fail(d, PG_ERR_INVALID, "message must be 1..%u trytes, it is %zu",
                   PG_MAM_MAX_MESSAGE, msg_len);
  if (!msg || !pg_trytes_valid(msg, msg_len))
    return pg_fail(d, PG_ERR_INVALID, "message is not trytes");
  if (ch->start + ch->count + ch->next_count > PG_MAM_MAX_START)
    return pg_fail(d, PG_ERR_STATE, "channel has used all its leaves");
  return PG_OK;
}

void mam_create_plan(const pg_mam_channel *ch, size_t msg_len, mam_plan *p) {
  p->sec = ch->security;
  p->frags = MAM_FRAGS((size_t)p->sec);
  p->L = 3 * msg_len;
  p->nleaves = (size_t)ch->count + ch->next_count;
  p->nsib = log2_pow2(ch->count);
  p->hl = mam_pascal_len(ch->index) + mam_pascal_len(p->L);
  p->off_next = p->hl;
  p->off_nonce = p->hl + MAM_HASH + p->L;
  p->off_sig = p->off_nonce + MAM_NONCE;
  p->off_pas = p->off_sig + p->frags * MAM_HASH;
  p->off_sib = p->off_pas + mam_pascal_len(p->nsib);
  p->total = p->off_sib + p->nsib * MAM_HASH;
  p->padded = (p->total + 2) / 3 * 3;
}

int mam_create_inputs(const pg_mam_channel *ch, const char *msg, size_t msg_len,
                      const mam_plan *p, pg_trit *seed, pg_trit *key, pg_trit *P) {
  if (mam_trytes_to_trits(ch->seed, PG_MAM_HASH_TRYTES, seed) ||
      key_trits(ch->side_key, strlen(ch->side_key), key) ||
      mam_trytes_to_trits(msg, msg_len, P + p->hl + MAM_HASH))
    return PG_ERR_INVALID;
  size_t h = mam_pascal_encode(ch->index, P);
  (void)mam_pascal_encode(p->L, P + h);
  (void)mam_pascal_encode(p->nsib, P + p->off_pas);
  return PG_OK;
}

void pg_mam_channel_skip(pg_mam_channel *ch) {
  if (ch->index == ch->count - 1) {
    ch->start += ch->next_count;
    ch->index = 0;
  } else {
    ch->index++;
  }
}

void mam_create_output(pg_mam_channel *ch, const mam_plan *p, const pg_trit *P, char *payload,
                       const pg_trit *root, const pg_trit *next_root, pg_mam_message *out) {
  pg_trits_to_trytes(P, p->padded, payload);
  payload[p->padded / 3] = '\0';
  pg_trits_to_trytes(root, MAM_HASH, out->root);
  out->root[PG_MAM_HASH_TRYTES] = '\0';
  pg_trits_to_trytes(next_root, MAM_HASH, out->next_root);
  out->next_root[PG_MAM_HASH_TRYTES] = '\0';
  out->payload = payload;
  out->payload_len = p->padded / 3;
  /* 12. state */
  pg_mam_channel_skip(ch);
  memcpy(ch->next_root, out->next_root, sizeof ch->next_root);
  ch->has_next_root = true;
}

int pg_mam_create_message(pg_mam_channel *ch, const char *msg, size_t msg_len,
                          pg_mam_message *out, pg_diag *d) {
  if (!ch || !out) return pg_fail(d, PG_ERR_INVALID, "no channel or output");
  int rc = mam_create_check(ch, msg, msg_len, d);
  if (rc) return rc;
  mam_plan pl;
  mam_create_plan(ch, msg_len, &pl);
  const int sec = pl.sec;

  pg_trit seed[MAM_HASH], key[MAM_HASH], root[MAM_HASH], next_root[MAM_HASH];
  pg_trit hmac[MAM_HASH];
  char address[PG_MAM_HASH_TRYTES + 1];
  pg_curl S;
  mam_ws *ws = NULL;
  pg_trit *addrs = malloc(pl.nleaves * MAM_HASH);
  pg_trit *ckpt = malloc(MAM_CKPT_TRITS(sec));
  pg_trit *P = calloc(pl.padded, 1);
  char *payload = malloc(pl.padded / 3 + 1);
  if (!addrs || !ckpt || !P || !payload || mam_ws_new(&ws)) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (mam_create_inputs(ch, msg, msg_len, &pl, seed, key, P)) {
    rc = pg_fail(d, PG_ERR_INVALID, "bad trytes in channel or message");
    goto out;
  }

  /* 1. trees: leaves start..start+count-1 and the next count */
  mam_leaves(ws, seed, sec, ch->start, pl.nleaves, addrs, ch->index, ckpt);
  mam_merkle(addrs, ch->count, ch->index, P + pl.off_sib, root);
  mam_merkle(addrs + (size_t)ch->count * MAM_HASH, ch->next_count, 0, NULL, next_root);

  /* 3-5. header, sponge, masked nextRoot ‖ message */
  pg_curl_init(&S, 27);
  pg_curl_absorb(&S, key, MAM_HASH);
  pg_curl_absorb(&S, root, MAM_HASH);
  pg_curl_absorb(&S, P, pl.hl);
  memcpy(P + pl.off_next, next_root, MAM_HASH);
  mam_mask(&S, P + pl.off_next, MAM_HASH + pl.L);

  /* 6. nonce */
  rc = mam_nonce_search(ws, S.state, sec, P + pl.off_nonce);
  if (rc) {
    rc = pg_fail(d, rc, "nonce search exhausted its counter");
    goto out;
  }
  mam_mask(&S, P + pl.off_nonce, MAM_NONCE);

  /* 7-9. hmac, signature, siblings */
  pg_curl_rate(&S, hmac, MAM_HASH);
  mam_sign(ws, sec, hmac, ckpt, P + pl.off_sig);
  mam_mask(&S, P + pl.off_sig, pl.total - pl.off_sig);

  /* 10-12. trytes, address, state */
  char rtry[PG_MAM_HASH_TRYTES + 1];
  pg_trits_to_trytes(root, MAM_HASH, rtry);
  rtry[PG_MAM_HASH_TRYTES] = '\0';
  rc = pg_mam_address(rtry, ch->mode, address);
  if (rc) goto out;
  mam_create_output(ch, &pl, P, payload, root, next_root, out);
  memcpy(out->address, address, sizeof address);
  payload = NULL;
  rc = PG_OK;
out:
  wipe(seed, sizeof seed);
  wipe(ckpt, ckpt ? MAM_CKPT_TRITS(sec) : 0);
  wipe(ws, ws ? sizeof *ws : 0);
  wipe(S.state, sizeof S.state);
  free(addrs);
  free(ckpt);
  free(P);
  free(payload);
  mam_ws_free(ws);
  return rc;
}

int mam_parse_begin(const char *payload, size_t payload_len, const char *root,
                    const char *side_key, size_t side_key_len, mam_phead *h, pg_diag *d) {
  memset(h, 0, sizeof *h);
  if (!root || mam_trytes_to_trits(root, PG_MAM_HASH_TRYTES, h->root))
    return pg_fail(d, PG_ERR_INVALID, "root is not 81 trytes");
  if (side_key_len > PG_MAM_HASH_TRYTES || key_trits(side_key, side_key_len, h->key))
    return pg_fail(d, PG_ERR_INVALID, "side key is not 0..81 trytes");
  if (payload_len == 0) return pg_fail(d, PG_ERR_TRUNCATED, "empty payload");
  if (payload_len > MAX_PAYLOAD)
    return pg_fail(d, PG_ERR_TOO_LARGE, "payload of %zu trytes is over the limit", payload_len);
  if (!payload) return pg_fail(d, PG_ERR_INVALID, "no payload");

  int rc;
  const size_t n = 3 * payload_len;
  pg_trit *P = malloc(n);
  if (!P) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (mam_trytes_to_trits(payload, payload_len, P)) {
    rc = pg_fail(d, PG_ERR_INVALID, "payload is not trytes");
    goto fail;
  }
  /* 1. header */
  size_t u1, u2;
  rc = mam_pascal_decode(P, n, &h->index, &u1);
  if (rc) {
    rc = pg_fail(d, rc, "bad pascal code for the index");
    goto fail;
  }
  rc = mam_pascal_decode(P + u1, n - u1, &h->L, &u2);
  if (rc) {
    rc = pg_fail(d, rc, "bad pascal code for the message length");
    goto fail;
  }
  if (h->index > UINT32_MAX || h->L % 3 != 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "bad header: index %llu, message length %llu trits",
                 (unsigned long long)h->index, (unsigned long long)h->L);
    goto fail;
  }
  h->hl = u1 + u2;
  if (h->L > n || n - h->hl < MAM_HASH + MAM_NONCE + h->L) {
    rc = pg_fail(d, PG_ERR_TRUNCATED, "payload ends inside the message or nonce");
    goto fail;
  }
  h->P = P;
  h->n = n;
  h->off_msg = h->hl + MAM_HASH;
  h->off_nonce = h->off_msg + h->L;
  h->off_sig = h->off_nonce + MAM_NONCE;
  return PG_OK;
fail:
  free(P);
  return rc;
}

void mam_parse_release(mam_phead *h) {
  free(h->P);
  h->P = NULL;
}

int mam_parse_security(const mam_phead *h, const pg_trit *hmac, int *sec, pg_diag *d) {
  /* 4. security */
  *sec = mam_checksum_security(hmac);
  if (*sec == 0)
    return pg_fail(d, PG_ERR_CRYPTO,
                   "hmac has no valid security level (wrong side key or root, or a damaged payload)");
  if (h->n - h->off_sig < MAM_FRAGS((size_t)*sec) * MAM_HASH)
    return pg_fail(d, PG_ERR_TRUNCATED, "payload ends inside the signature");
  return PG_OK;
}

int mam_parse_finish(const mam_phead *h, int sec, pg_trit *calc, pg_mam_parsed *out,
                     pg_diag *d) {
  const pg_trit *P = h->P;
  const size_t n = h->n, sig_len = MAM_FRAGS((size_t)sec) * MAM_HASH;
  uint64_t nsib;
  size_t u3;
  const size_t off_pas = h->off_sig + sig_len;
  int rc = mam_pascal_decode(P + off_pas, n - off_pas, &nsib, &u3);
  if (rc) return pg_fail(d, rc, "bad pascal code for the sibling count");
  if (nsib > (n - off_pas - u3) / MAM_HASH)
    return pg_fail(d, PG_ERR_TRUNCATED, "payload ends inside the siblings");
  if (nsib > 0) mam_merkle_fold(calc, P + off_pas + u3, (size_t)nsib, h->index, calc);
  /* 8. */
  if (memcmp(calc, h->root, MAM_HASH) != 0)
    return pg_fail(d, PG_ERR_CRYPTO, "signature does not match the root");
  char *msg = malloc(h->L / 3 + 1);
  if (!msg) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pg_trits_to_trytes(P + h->off_msg, h->L, msg);
  msg[h->L / 3] = '\0';
  out->message = msg;
  out->message_len = h->L / 3;
  pg_trits_to_trytes(P + h->hl, MAM_HASH, out->next_root);
  out->next_root[PG_MAM_HASH_TRYTES] = '\0';
  out->index = (uint32_t)h->index;
  out->siblings = (uint32_t)nsib; /* nsib < n / 243, so it fits */
  out->security = sec;
  return PG_OK;
}

int pg_mam_parse_message(const char *payload, size_t payload_len, const char *root,
                         const char *side_key, size_t side_key_len, pg_mam_parsed *out,
                         pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "no output");
  mam_phead h;
  int rc = mam_parse_begin(payload, payload_len, root, side_key, side_key_len, &h, d);
  if (rc) return rc;
  mam_ws *ws = NULL;
  if (mam_ws_new(&ws)) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    goto out;
  }
  pg_trit *P = h.P;
  /* 2-3. sponge, unmask nextRoot, message, nonce */
  pg_curl S;
  pg_curl_init(&S, 27);
  pg_curl_absorb(&S, h.key, MAM_HASH);
  pg_curl_absorb(&S, h.root, MAM_HASH);
  pg_curl_absorb(&S, P, h.hl);
  mam_unmask(&S, P + h.hl, MAM_HASH);
  mam_unmask(&S, P + h.off_msg, h.L);
  mam_unmask(&S, P + h.off_nonce, MAM_NONCE);
  pg_trit hmac[MAM_HASH], calc[MAM_HASH];
  pg_curl_rate(&S, hmac, MAM_HASH);
  int sec;
  rc = mam_parse_security(&h, hmac, &sec, d);
  if (rc) goto out;
  /* 5-7. signature -> leaf, siblings -> root */
  mam_unmask(&S, P + h.off_sig, h.n - h.off_sig);
  mam_sig_address(ws, sec, hmac, P + h.off_sig, calc);
  rc = mam_parse_finish(&h, sec, calc, out, d);
out:
  mam_parse_release(&h);
  mam_ws_free(ws);
  return rc;
}

int mam_peek_index(const char *payload, size_t payload_len, uint64_t *index) {
  /* the index is the first pascal code of the clear header: at most
   * MAM_PASCAL_MAX trits, so 18 trytes are enough to decode it */
  pg_trit t[3 * 18];
  size_t nt = payload_len < 18 ? payload_len : 18;
  if (!payload || !index || mam_trytes_to_trits(payload, nt, t)) return PG_ERR_INVALID;
  size_t used = 0;
  int rc = mam_pascal_decode(t, 3 * nt, index, &used);
  if (!rc && *index > UINT32_MAX) rc = PG_ERR_INVALID;
  return rc;
}
