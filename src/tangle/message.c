/* Chrysalis message codec: TIP-6 message and indexation payload, TIP-7
 * transaction payload, TIP-8 milestone payload (with a structural check of an
 * embedded receipt). All outside bytes are read through pg_reader. */
#include "p2pgrid/tangle/message.h"

#include <stdlib.h>
#include <string.h>

#include "p2pgrid/crypto/hash.h"

#define TOKEN_SUPPLY 2779530283277761ull
#define DUST_ALLOWANCE_MIN 1000000ull
#define MAX_OUTPUT_INDEX 126
#define INPUT_LEN 35
#define OUTPUT_LEN 42
#define SIG_BLOCK_LEN 98
#define RECEIPT_MAX_FUNDS 127

/* Reads a field or fails with PG_ERR_TRUNCATED and a sentence. */
#define RD(fn, r, v, d, ...)                                                                       \
  do {                                                                                             \
    if (fn((r), (v))) return pg_fail((d), PG_ERR_TRUNCATED, __VA_ARGS__);                          \
  } while (0)
#define VIEW(r, n, out, d, ...)                                                                    \
  do {                                                                                             \
    if (pg_read_view((r), (n), (out))) return pg_fail((d), PG_ERR_TRUNCATED, __VA_ARGS__);         \
  } while (0)

int pg_id_cmp(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, PG_ID_LEN); }

void pg_message_id(const uint8_t *bytes, size_t len, uint8_t id[PG_ID_LEN]) {
  pg_blake2b256(bytes, len, id);
}

/* n ids of 32 bytes, strictly ascending. what: "parent", "public key". */
static int check_sorted_ids(const uint8_t *ids, size_t n, const char *ctx, const char *what,
                            pg_diag *d) {
  for (size_t i = 1; i < n; i++) {
    int c = memcmp(ids + 32 * (i - 1), ids + 32 * i, 32);
    if (c == 0)
      return pg_fail(d, PG_ERR_INVALID, "%s%s %zu duplicates %s %zu", ctx, what, i, what, i - 1);
    if (c > 0)
      return pg_fail(d, PG_ERR_INVALID, "%s%ss not sorted: %s %zu < %s %zu", ctx, what, what, i,
                     what, i - 1);
  }
  return PG_OK;
}

/* ---- indexation ---------------------------------------------------------- */

/* r is positioned after the u32 type and bounded to the payload. */
static int parse_indexation(pg_reader *r, pg_indexation *ix, const char *ctx, pg_diag *d) {
  uint16_t ilen;
  RD(pg_read_u16, r, &ilen, d, "%sindexation index length truncated", ctx);
  if (ilen < 1) return pg_fail(d, PG_ERR_INVALID, "%sindexation index is empty; at least 1 byte", ctx);
  if (ilen > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "%sindexation index is %u bytes; at most %d", ctx,
                   (unsigned)ilen, PG_INDEX_MAX_LEN);
  ix->index_len = ilen;
  VIEW(r, ilen, &ix->index, d, "%sindexation index truncated (%u bytes declared)", ctx,
       (unsigned)ilen);
  uint32_t dlen;
  RD(pg_read_u32, r, &dlen, d, "%sindexation data length truncated", ctx);
  ix->data_len = dlen;
  VIEW(r, dlen, &ix->data, d, "%sindexation data truncated (%u bytes declared, %zu left)", ctx,
       (unsigned)dlen, pg_reader_left(r));
  return PG_OK;
}

/* ---- transaction --------------------------------------------------------- */

/* Inputs count and the UTXO inputs: type 0, output index in range, strictly
 * ascending. Sets tx->inputs_count and tx->inputs. */
static int parse_tx_inputs(pg_reader *r, pg_transaction *tx, pg_diag *d) {
  uint16_t nin;
  RD(pg_read_u16, r, &nin, d, "transaction: inputs count truncated");
  if (nin < 1 || nin > PG_TX_MAX_INPUTS)
    return pg_fail(d, PG_ERR_INVALID, "transaction: %u inputs; must be 1..%d", (unsigned)nin,
                   PG_TX_MAX_INPUTS);
  tx->inputs_count = nin;
  const uint8_t *prev = NULL;
  for (unsigned i = 0; i < nin; i++) {
    const uint8_t *p;
    VIEW(r, INPUT_LEN, &p, d, "transaction: input %u truncated", i);
    if (p[0] != 0)
      return pg_fail(d, PG_ERR_INVALID, "transaction: input %u has type %u; only UTXO input (0) allowed",
                     i, (unsigned)p[0]);
    uint16_t idx = (uint16_t)(p[33] | (p[34] << 8));
    if (idx > MAX_OUTPUT_INDEX)
      return pg_fail(d, PG_ERR_INVALID, "transaction: input %u output index %u; at most %d", i,
                     (unsigned)idx, MAX_OUTPUT_INDEX);
    if (prev) {
      int c = memcmp(prev, p, INPUT_LEN);
      if (c == 0)
        return pg_fail(d, PG_ERR_INVALID, "transaction: input %u duplicates input %u", i, i - 1);
      if (c > 0)
        return pg_fail(d, PG_ERR_INVALID, "transaction: inputs not sorted: input %u < input %u", i,
                       i - 1);
    }
    tx->inputs[i].tx_id = p + 1;
    tx->inputs[i].output_index = idx;
    prev = p;
  }
  return PG_OK;
}

/* Outputs count and the outputs: SigLocked (dust allowance) to Ed25519, amounts
 * within the supply, strictly ascending. Sets tx->outputs_count and tx->outputs. */
static int parse_tx_outputs(pg_reader *r, pg_transaction *tx, pg_diag *d) {
  uint16_t nout;
  RD(pg_read_u16, r, &nout, d, "transaction: outputs count truncated");
  if (nout < 1 || nout > PG_TX_MAX_OUTPUTS)
    return pg_fail(d, PG_ERR_INVALID, "transaction: %u outputs; must be 1..%d", (unsigned)nout,
                   PG_TX_MAX_OUTPUTS);
  tx->outputs_count = nout;
  const uint8_t *prev = NULL;
  uint64_t sum = 0;
  for (unsigned i = 0; i < nout; i++) {
    const uint8_t *p;
    VIEW(r, OUTPUT_LEN, &p, d, "transaction: output %u truncated", i);
    if (p[0] > 1)
      return pg_fail(d, PG_ERR_INVALID, "transaction: output %u has type %u; only 0 and 1 allowed",
                     i, (unsigned)p[0]);
    if (p[1] != 0)
      return pg_fail(d, PG_ERR_INVALID,
                     "transaction: output %u address type %u; only Ed25519 (0) allowed", i,
                     (unsigned)p[1]);
    uint64_t amount = pg_le64(p + 34);
    if (amount == 0)
      return pg_fail(d, PG_ERR_INVALID, "transaction: output %u amount is 0", i);
    if (amount > TOKEN_SUPPLY || sum > TOKEN_SUPPLY - amount)
      return pg_fail(d, PG_ERR_INVALID, "transaction: output amounts exceed the total supply %llu at output %u",
                     (unsigned long long)TOKEN_SUPPLY, i);
    sum += amount;
    if (p[0] == 1 && amount < DUST_ALLOWANCE_MIN)
      return pg_fail(d, PG_ERR_INVALID,
                     "transaction: output %u is a dust allowance of %llu; at least %llu", i,
                     (unsigned long long)amount, (unsigned long long)DUST_ALLOWANCE_MIN);
    if (prev) {
      if (memcmp(prev, p, 34) == 0)
        return pg_fail(d, PG_ERR_INVALID,
                       "transaction: output %u repeats the type and address of output %u", i, i - 1);
      if (memcmp(prev, p, OUTPUT_LEN) > 0)
        return pg_fail(d, PG_ERR_INVALID, "transaction: outputs not sorted: output %u < output %u",
                       i, i - 1);
    }
    tx->outputs[i].type = p[0];
    tx->outputs[i].address = p + 2;
    tx->outputs[i].amount = amount;
    prev = p;
  }
  return PG_OK;
}

/* The essence's optional payload: a length, then nothing or one indexation
 * payload filling it exactly. Sets tx->has_indexation and tx->indexation. */
static int parse_tx_essence_payload(pg_reader *r, pg_transaction *tx, pg_diag *d) {
  uint32_t plen;
  RD(pg_read_u32, r, &plen, d, "transaction: essence payload length truncated");
  tx->has_indexation = false;
  if (plen > 0) {
    const uint8_t *pp;
    VIEW(r, plen, &pp, d, "transaction: essence payload length %u exceeds the %zu bytes left",
         (unsigned)plen, pg_reader_left(r));
    pg_reader sub;
    pg_reader_init(&sub, pp, plen);
    uint32_t ptype;
    RD(pg_read_u32, &sub, &ptype, d, "transaction: essence payload type truncated");
    if (ptype != PG_PAYLOAD_INDEXATION)
      return pg_fail(d, PG_ERR_INVALID,
                     "transaction: essence payload type %u; only indexation (2) allowed",
                     (unsigned)ptype);
    int rc = parse_indexation(&sub, &tx->indexation, "transaction: essence ", d);
    if (rc) return rc;
    if (pg_reader_left(&sub))
      return pg_fail(d, PG_ERR_INVALID,
                     "transaction: essence indexation payload leaves %zu of its %u bytes unused",
                     pg_reader_left(&sub), (unsigned)plen);
    tx->has_indexation = true;
  }
  return PG_OK;
}

/* Unlock blocks, one per input: Ed25519 signature blocks (no two alike) or
 * references to an earlier signature block. Sets tx->unlocks_count and tx->unlocks. */
static int parse_tx_unlocks(pg_reader *r, pg_transaction *tx, pg_diag *d) {
  uint16_t nun;
  RD(pg_read_u16, r, &nun, d, "transaction: unlock blocks count truncated");
  if (nun != tx->inputs_count)
    return pg_fail(d, PG_ERR_INVALID, "transaction: %u unlock blocks for %u inputs", (unsigned)nun,
                   (unsigned)tx->inputs_count);
  tx->unlocks_count = nun;
  const uint8_t *sigblk[PG_TX_MAX_INPUTS];
  for (unsigned i = 0; i < nun; i++) {
    const uint8_t *start = r->p + r->pos;
    uint8_t type;
    RD(pg_read_u8, r, &type, d, "transaction: unlock block %u truncated", i);
    pg_unlock_block *u = &tx->unlocks[i];
    memset(u, 0, sizeof *u);
    u->type = type;
    sigblk[i] = NULL;
    if (type == 0) {
      uint8_t st;
      RD(pg_read_u8, r, &st, d, "transaction: unlock block %u signature type truncated", i);
      if (st != 0)
        return pg_fail(d, PG_ERR_INVALID,
                       "transaction: unlock block %u signature type %u; only Ed25519 (0) allowed",
                       i, (unsigned)st);
      VIEW(r, 32, &u->public_key, d, "transaction: unlock block %u public key truncated", i);
      VIEW(r, 64, &u->signature, d, "transaction: unlock block %u signature truncated", i);
      for (unsigned j = 0; j < i; j++)
        if (sigblk[j] && memcmp(sigblk[j], start, SIG_BLOCK_LEN) == 0)
          return pg_fail(d, PG_ERR_INVALID,
                         "transaction: signature unlock block %u duplicates block %u", i, j);
      sigblk[i] = start;
    } else if (type == 1) {
      uint16_t ref;
      RD(pg_read_u16, r, &ref, d, "transaction: unlock block %u reference truncated", i);
      if (ref >= i)
        return pg_fail(d, PG_ERR_INVALID,
                       "transaction: reference unlock block %u points at block %u; must be earlier",
                       i, (unsigned)ref);
      if (tx->unlocks[ref].type != 0)
        return pg_fail(d, PG_ERR_INVALID,
                       "transaction: reference unlock block %u points at block %u, which is not a signature block",
                       i, (unsigned)ref);
      u->reference = ref;
    } else {
      return pg_fail(d, PG_ERR_INVALID, "transaction: unlock block %u has unknown type %u", i,
                     (unsigned)type);
    }
  }
  return PG_OK;
}

/* TIP-7 transaction payload; r is positioned after the u32 type. The essence
 * (type, inputs, outputs, payload) is recorded as a view for signing. */
static int parse_transaction(pg_reader *r, pg_transaction *tx, pg_diag *d) {
  const uint8_t *ess = r->p + r->pos;
  size_t ess_pos = r->pos;
  uint8_t etype;
  RD(pg_read_u8, r, &etype, d, "transaction: essence type truncated");
  if (etype != 0)
    return pg_fail(d, PG_ERR_INVALID, "transaction: essence type %u; only 0 is known",
                   (unsigned)etype);
  int rc = parse_tx_inputs(r, tx, d);
  if (rc) return rc;
  rc = parse_tx_outputs(r, tx, d);
  if (rc) return rc;
  rc = parse_tx_essence_payload(r, tx, d);
  if (rc) return rc;
  tx->essence = ess;
  tx->essence_len = r->pos - ess_pos;
  return parse_tx_unlocks(r, tx, d);
}

/* ---- milestone ----------------------------------------------------------- */

/* Structural check of a receipt payload (type 3) with its treasury
 * transaction (type 4). r is bounded to the receipt. */
static int parse_receipt(pg_reader *r, pg_diag *d) {
  uint32_t type, migrated_at;
  uint8_t final;
  uint16_t nfunds;
  RD(pg_read_u32, r, &type, d, "milestone: receipt type truncated");
  if (type != PG_PAYLOAD_RECEIPT)
    return pg_fail(d, PG_ERR_INVALID, "milestone: receipt payload type %u; must be 3",
                   (unsigned)type);
  RD(pg_read_u32, r, &migrated_at, d, "milestone: receipt migratedAt truncated");
  RD(pg_read_u8, r, &final, d, "milestone: receipt final flag truncated");
  if (final > 1)
    return pg_fail(d, PG_ERR_INVALID, "milestone: receipt final flag is %u; must be 0 or 1",
                   (unsigned)final);
  RD(pg_read_u16, r, &nfunds, d, "milestone: receipt funds count truncated");
  if (nfunds < 1 || nfunds > RECEIPT_MAX_FUNDS)
    return pg_fail(d, PG_ERR_INVALID, "milestone: receipt has %u funds; must be 1..%d",
                   (unsigned)nfunds, RECEIPT_MAX_FUNDS);
  for (unsigned i = 0; i < nfunds; i++) {
    const uint8_t *p;
    VIEW(r, 49 + 33 + 8, &p, d, "milestone: receipt fund %u truncated", i);
    if (p[49] != 0)
      return pg_fail(d, PG_ERR_INVALID, "milestone: receipt fund %u address type %u; must be 0", i,
                     (unsigned)p[49]);
  }
  uint32_t tlen;
  RD(pg_read_u32, r, &tlen, d, "milestone: receipt transaction length truncated");
  const uint8_t *tp;
  VIEW(r, tlen, &tp, d, "milestone: receipt transaction length %u exceeds the %zu bytes left",
       (unsigned)tlen, pg_reader_left(r));
  pg_reader t;
  pg_reader_init(&t, tp, tlen);
  uint8_t in_type, out_type;
  const uint8_t *ms_id;
  uint64_t amount;
  RD(pg_read_u32, &t, &type, d, "milestone: treasury transaction type truncated");
  if (type != PG_PAYLOAD_TREASURY_TX)
    return pg_fail(d, PG_ERR_INVALID, "milestone: receipt transaction type %u; must be 4",
                   (unsigned)type);
  RD(pg_read_u8, &t, &in_type, d, "milestone: treasury input truncated");
  if (in_type != 1)
    return pg_fail(d, PG_ERR_INVALID, "milestone: treasury input type %u; must be 1",
                   (unsigned)in_type);
  VIEW(&t, 32, &ms_id, d, "milestone: treasury input milestone id truncated");
  RD(pg_read_u8, &t, &out_type, d, "milestone: treasury output truncated");
  if (out_type != 2)
    return pg_fail(d, PG_ERR_INVALID, "milestone: treasury output type %u; must be 2",
                   (unsigned)out_type);
  RD(pg_read_u64, &t, &amount, d, "milestone: treasury output amount truncated");
  if (pg_reader_left(&t))
    return pg_fail(d, PG_ERR_INVALID, "milestone: treasury transaction leaves %zu bytes unused",
                   pg_reader_left(&t));
  return PG_OK;
}

/* nextPoWScoreMilestoneIndex is 0 without a nextPoWScore, else after index. */
static int check_next_pow(uint32_t index, uint32_t score, uint32_t score_index, pg_diag *d) {
  if (score == 0 && score_index != 0)
    return pg_fail(d, PG_ERR_INVALID,
                   "milestone: nextPoWScoreMilestoneIndex is %u but nextPoWScore is 0; must be 0",
                   (unsigned)score_index);
  if (score != 0 && score_index <= index)
    return pg_fail(d, PG_ERR_INVALID,
                   "milestone: nextPoWScoreMilestoneIndex %u must be greater than index %u",
                   (unsigned)score_index, (unsigned)index);
  return PG_OK;
}

static int parse_milestone(pg_reader *r, pg_milestone *ms, pg_diag *d) {
  const uint8_t *ess = r->p + r->pos;
  size_t ess_pos = r->pos;
  RD(pg_read_u32, r, &ms->index, d, "milestone: index truncated");
  RD(pg_read_u64, r, &ms->timestamp, d, "milestone: timestamp truncated");
  RD(pg_read_u8, r, &ms->parents_count, d, "milestone: parents count truncated");
  if (ms->parents_count < 1 || ms->parents_count > PG_MSG_MAX_PARENTS)
    return pg_fail(d, PG_ERR_INVALID, "milestone: %u parents; must be 1..%d",
                   (unsigned)ms->parents_count, PG_MSG_MAX_PARENTS);
  VIEW(r, (size_t)32 * ms->parents_count, &ms->parents, d, "milestone: parents truncated");
  int rc = check_sorted_ids(ms->parents, ms->parents_count, "milestone: ", "parent", d);
  if (rc) return rc;
  VIEW(r, 32, &ms->inclusion_merkle_proof, d, "milestone: inclusion merkle proof truncated");
  RD(pg_read_u32, r, &ms->next_pow_score, d, "milestone: nextPoWScore truncated");
  RD(pg_read_u32, r, &ms->next_pow_score_milestone_index, d,
     "milestone: nextPoWScoreMilestoneIndex truncated");
  rc = check_next_pow(ms->index, ms->next_pow_score, ms->next_pow_score_milestone_index, d);
  if (rc) return rc;
  RD(pg_read_u8, r, &ms->keys_count, d, "milestone: keys count truncated");
  if (ms->keys_count < 1 || ms->keys_count > PG_MS_MAX_KEYS)
    return pg_fail(d, PG_ERR_INVALID, "milestone: %u public keys; must be 1..%d",
                   (unsigned)ms->keys_count, PG_MS_MAX_KEYS);
  VIEW(r, (size_t)32 * ms->keys_count, &ms->public_keys, d, "milestone: public keys truncated");
  rc = check_sorted_ids(ms->public_keys, ms->keys_count, "milestone: ", "public key", d);
  if (rc) return rc;
  RD(pg_read_u32, r, &ms->receipt_len, d, "milestone: receipt length truncated");
  ms->receipt = NULL;
  if (ms->receipt_len > 0) {
    VIEW(r, ms->receipt_len, &ms->receipt, d,
         "milestone: receipt length %u exceeds the %zu bytes left", (unsigned)ms->receipt_len,
         pg_reader_left(r));
    pg_reader sub;
    pg_reader_init(&sub, ms->receipt, ms->receipt_len);
    rc = parse_receipt(&sub, d);
    if (rc) return rc;
    if (pg_reader_left(&sub))
      return pg_fail(d, PG_ERR_INVALID, "milestone: receipt leaves %zu of its %u bytes unused",
                     pg_reader_left(&sub), (unsigned)ms->receipt_len);
  }
  ms->essence = ess;
  ms->essence_len = r->pos - ess_pos;
  RD(pg_read_u8, r, &ms->signatures_count, d, "milestone: signatures count truncated");
  if (ms->signatures_count != ms->keys_count)
    return pg_fail(d, PG_ERR_INVALID, "milestone: %u signatures for %u public keys",
                   (unsigned)ms->signatures_count, (unsigned)ms->keys_count);
  VIEW(r, (size_t)64 * ms->signatures_count, &ms->signatures, d,
       "milestone: signatures truncated");
  return PG_OK;
}

/* ---- payload / message --------------------------------------------------- */

int pg_payload_parse(const uint8_t *bytes, size_t len, pg_message *m, pg_diag *d) {
  pg_reader r;
  pg_reader_init(&r, bytes, len);
  uint32_t type;
  if (pg_read_u32(&r, &type))
    return pg_fail(d, PG_ERR_TRUNCATED, "payload of %zu bytes is too short for its type", len);
  if (len > UINT32_MAX) return pg_fail(d, PG_ERR_TOO_LARGE, "payload of %zu bytes is too large", len);
  int rc = PG_OK;
  const char *name = "";
  pg_transaction *tx = NULL;
  pg_indexation ix;
  pg_milestone ms;
  switch (type) {
  case PG_PAYLOAD_INDEXATION:
    name = "indexation";
    memset(&ix, 0, sizeof ix);
    rc = parse_indexation(&r, &ix, "", d);
    break;
  case PG_PAYLOAD_TRANSACTION:
    name = "transaction";
    tx = calloc(1, sizeof *tx);
    if (!tx) return pg_fail(d, PG_ERR_NOMEM, "out of memory parsing a transaction");
    rc = parse_transaction(&r, tx, d);
    break;
  case PG_PAYLOAD_MILESTONE:
    name = "milestone";
    memset(&ms, 0, sizeof ms);
    rc = parse_milestone(&r, &ms, d);
    break;
  case PG_PAYLOAD_RECEIPT:
    return pg_fail(d, PG_ERR_INVALID,
                   "payload type 3 (receipt) is only allowed inside a milestone");
  case PG_PAYLOAD_TREASURY_TX:
    return pg_fail(d, PG_ERR_INVALID,
                   "payload type 4 (treasury transaction) is only allowed inside a receipt");
  default:
    return pg_fail(d, PG_ERR_INVALID, "unknown payload type %u", (unsigned)type);
  }
  if (rc == PG_OK && pg_reader_left(&r))
    rc = pg_fail(d, PG_ERR_INVALID, "%s payload leaves %zu of its %zu bytes unused", name,
                 pg_reader_left(&r), len);
  if (rc) {
    free(tx);
    return rc;
  }
  m->payload_type = (int)type;
  m->payload = bytes;
  m->payload_len = (uint32_t)len;
  if (type == PG_PAYLOAD_INDEXATION)
    m->u.indexation = ix;
  else if (type == PG_PAYLOAD_MILESTONE)
    m->u.milestone = ms;
  else
    m->u.transaction = tx;
  return PG_OK;
}

/* A message's parents after its network id: the count (1..8), then the
 * parents, present, sorted and unique. The one reader of that part for
 * pg_message_parse and pg_message_parents. */
static int read_parents(pg_reader *r, uint8_t *count, const uint8_t **parents, pg_diag *d) {
  RD(pg_read_u8, r, count, d, "parents count truncated");
  if (*count < 1 || *count > PG_MSG_MAX_PARENTS)
    return pg_fail(d, PG_ERR_INVALID, "%u parents; must be 1..%d", (unsigned)*count, PG_MSG_MAX_PARENTS);
  VIEW(r, (size_t)32 * *count, parents, d, "%u parents declared but the message ends early",
       (unsigned)*count);
  return check_sorted_ids(*parents, *count, "", "parent", d);
}

int pg_message_parents(const uint8_t *bytes, size_t len, uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN],
                       uint8_t *n, pg_diag *d) {
  *n = 0;
  if (len < 9) return pg_fail(d, PG_ERR_TRUNCATED, "message is %zu bytes; parents count missing", len);
  pg_reader r;
  pg_reader_init(&r, bytes + 8, len - 8); /* after the network id */
  uint8_t count;
  const uint8_t *p;
  int rc = read_parents(&r, &count, &p, d);
  if (rc) return rc;
  memcpy(parents, p, (size_t)32 * count);
  *n = count;
  return PG_OK;
}

int pg_message_parse(const uint8_t *bytes, size_t len, pg_message *m, pg_diag *d) {
  if (len > PG_MSG_MAX_LEN)
    return pg_fail(d, PG_ERR_TOO_LARGE, "message is %zu bytes; at most %d", len, PG_MSG_MAX_LEN);
  if (len < PG_MSG_MIN_LEN)
    return pg_fail(d, PG_ERR_TRUNCATED, "message is %zu bytes; at least %d", len, PG_MSG_MIN_LEN);
  pg_message t;
  memset(&t, 0, sizeof t);
  t.payload_type = PG_PAYLOAD_NONE;
  pg_reader r;
  pg_reader_init(&r, bytes, len);
  RD(pg_read_u64, &r, &t.network_id, d, "network id truncated");
  int rc = read_parents(&r, &t.parents_count, &t.parents, d);
  if (rc) return rc;
  uint32_t plen;
  RD(pg_read_u32, &r, &plen, d, "payload length truncated");
  if (pg_reader_left(&r) < 8 || plen > pg_reader_left(&r) - 8)
    return pg_fail(d, PG_ERR_TRUNCATED, "payload length %u exceeds the %zu bytes left before the nonce",
                   (unsigned)plen, pg_reader_left(&r) >= 8 ? pg_reader_left(&r) - 8 : 0);
  if (plen > 0) {
    const uint8_t *p;
    VIEW(&r, plen, &p, d, "payload truncated");
    rc = pg_payload_parse(p, plen, &t, d);
    if (rc) return rc;
  }
  if (pg_read_u64(&r, &t.nonce)) {
    rc = pg_fail(d, PG_ERR_TRUNCATED, "nonce truncated");
    goto fail;
  }
  if (pg_reader_left(&r)) {
    rc = pg_fail(d, PG_ERR_INVALID, "%zu bytes after the nonce", pg_reader_left(&r));
    goto fail;
  }
  if (t.payload_type == PG_PAYLOAD_MILESTONE &&
      (t.u.milestone.parents_count != t.parents_count ||
       memcmp(t.u.milestone.parents, t.parents, (size_t)32 * t.parents_count) != 0)) {
    rc = pg_fail(d, PG_ERR_INVALID, "milestone parents differ from the message parents");
    goto fail;
  }
  *m = t;
  return PG_OK;
fail:
  pg_message_clear(&t);
  return rc;
}

void pg_message_clear(pg_message *m) {
  if (!m) return;
  if (m->payload_type == PG_PAYLOAD_TRANSACTION) free(m->u.transaction);
  memset(m, 0, sizeof *m);
  m->payload_type = PG_PAYLOAD_NONE;
}

/* ---- building ------------------------------------------------------------ */

int pg_message_build(pg_buf *out, uint64_t network_id, const uint8_t *parents,
                     size_t parents_count, const uint8_t *payload, size_t payload_len,
                     uint64_t nonce, pg_diag *d) {
  if (parents_count < 1 || parents_count > PG_MSG_MAX_PARENTS)
    return pg_fail(d, PG_ERR_INVALID, "%zu parents; must be 1..%d", parents_count,
                   PG_MSG_MAX_PARENTS);
  int rc = check_sorted_ids(parents, parents_count, "", "parent", d);
  if (rc) return rc;
  if (payload_len > 0 && !payload) return pg_fail(d, PG_ERR_INVALID, "payload missing");
  size_t total = 8 + 1 + 32 * parents_count + 4 + 8;
  if (payload_len > PG_MSG_MAX_LEN - total)
    return pg_fail(d, PG_ERR_TOO_LARGE, "message would be %zu bytes; at most %d",
                   total + payload_len, PG_MSG_MAX_LEN);
  pg_buf_put_u64(out, network_id);
  pg_buf_put_u8(out, (uint8_t)parents_count);
  pg_buf_put(out, parents, 32 * parents_count);
  pg_buf_put_u32(out, (uint32_t)payload_len);
  if (payload_len) pg_buf_put(out, payload, payload_len);
  pg_buf_put_u64(out, nonce);
  rc = pg_buf_status(out);
  if (rc) {
    return pg_fail(d, rc, "cannot write the message: %s", pg_strerror(rc));
  }
  return PG_OK;
}

int pg_indexation_build(pg_buf *out, const uint8_t *index, size_t index_len, const uint8_t *data,
                        size_t data_len, pg_diag *d) {
  if (index_len < 1 || index_len > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "indexation index is %zu bytes; must be 1..%d", index_len,
                   PG_INDEX_MAX_LEN);
  if (data_len > UINT32_MAX)
    return pg_fail(d, PG_ERR_TOO_LARGE, "indexation data is %zu bytes; too large", data_len);
  if (data_len && !data) return pg_fail(d, PG_ERR_INVALID, "indexation data missing");
  pg_buf_put_u32(out, PG_PAYLOAD_INDEXATION);
  pg_buf_put_u16(out, (uint16_t)index_len);
  pg_buf_put(out, index, index_len);
  pg_buf_put_u32(out, (uint32_t)data_len);
  if (data_len) pg_buf_put(out, data, data_len);
  int rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "cannot write the indexation payload: %s", pg_strerror(rc));
  return PG_OK;
}

static int check_ms_draft(const pg_milestone_draft *ms, pg_diag *d) {
  if (ms->parents_count < 1 || ms->parents_count > PG_MSG_MAX_PARENTS)
    return pg_fail(d, PG_ERR_INVALID, "milestone: %u parents; must be 1..%d",
                   (unsigned)ms->parents_count, PG_MSG_MAX_PARENTS);
  int rc = check_sorted_ids(&ms->parents[0][0], ms->parents_count, "milestone: ", "parent", d);
  if (rc) return rc;
  if (ms->keys_count < 1 || ms->keys_count > PG_MS_MAX_KEYS)
    return pg_fail(d, PG_ERR_INVALID, "milestone: %u public keys; must be 1..%d",
                   (unsigned)ms->keys_count, PG_MS_MAX_KEYS);
  rc = check_sorted_ids(&ms->public_keys[0][0], ms->keys_count, "milestone: ", "public key", d);
  if (rc) return rc;
  return check_next_pow(ms->index, ms->next_pow_score, ms->next_pow_score_milestone_index, d);
}

static void put_ms_essence(pg_buf *out, const pg_milestone_draft *ms) {
  pg_buf_put_u32(out, ms->index);
  pg_buf_put_u64(out, ms->timestamp);
  pg_buf_put_u8(out, ms->parents_count);
  pg_buf_put(out, ms->parents, (size_t)32 * ms->parents_count);
  pg_buf_put(out, ms->inclusion_merkle_proof, 32);
  pg_buf_put_u32(out, ms->next_pow_score);
  pg_buf_put_u32(out, ms->next_pow_score_milestone_index);
  pg_buf_put_u8(out, ms->keys_count);
  pg_buf_put(out, ms->public_keys, (size_t)32 * ms->keys_count);
  pg_buf_put_u32(out, 0); /* no receipt */
}

int pg_milestone_essence(pg_buf *out, const pg_milestone_draft *ms, pg_diag *d) {
  int rc = check_ms_draft(ms, d);
  if (rc) return rc;
  put_ms_essence(out, ms);
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "cannot write the milestone essence: %s", pg_strerror(rc));
  return PG_OK;
}

int pg_milestone_build(pg_buf *out, const pg_milestone_draft *ms, const uint8_t (*signatures)[64],
                       pg_diag *d) {
  int rc = check_ms_draft(ms, d);
  if (rc) return rc;
  if (!signatures) return pg_fail(d, PG_ERR_INVALID, "milestone: signatures missing");
  pg_buf_put_u32(out, PG_PAYLOAD_MILESTONE);
  put_ms_essence(out, ms);
  pg_buf_put_u8(out, ms->keys_count);
  pg_buf_put(out, signatures, (size_t)64 * ms->keys_count);
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "cannot write the milestone: %s", pg_strerror(rc));
  return PG_OK;
}
