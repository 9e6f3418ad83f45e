#include "p2pgrid/ledger/transaction.h"

#include <stdlib.h>
#include <string.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/tangle/message.h"

typedef struct ser_input {
  uint8_t bytes[35];
  const uint8_t *sk;
} ser_input;

typedef struct ser_output {
  uint8_t bytes[42];
} ser_output;

static int cmp_input(const void *a, const void *b) {
  return memcmp(((const ser_input *)a)->bytes, ((const ser_input *)b)->bytes, 35);
}

static int cmp_output(const void *a, const void *b) {
  return memcmp(((const ser_output *)a)->bytes, ((const ser_output *)b)->bytes, 42);
}

int pg_transaction_build(pg_buf *out, const pg_tx_input_spec *inputs, size_t ninputs,
                         const pg_tx_output_spec *outputs, size_t noutputs, const uint8_t *index,
                         size_t index_len, const uint8_t *data, size_t data_len,
                         uint8_t essence_hash[32], pg_diag *d) {
  if (ninputs < 1 || ninputs > PG_TX_MAX_INPUTS)
    return pg_fail(d, PG_ERR_INVALID, "a transaction needs 1 to 127 inputs, not %zu", ninputs);
  if (noutputs < 1 || noutputs > PG_TX_MAX_OUTPUTS)
    return pg_fail(d, PG_ERR_INVALID, "a transaction needs 1 to 127 outputs, not %zu", noutputs);
  if (index_len > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "indexation index is %zu bytes; at most 64", index_len);

  int rc = PG_OK;
  ser_input in[PG_TX_MAX_INPUTS];
  ser_output outs[PG_TX_MAX_OUTPUTS];
  for (size_t i = 0; i < ninputs; i++) {
    in[i].bytes[0] = 0;
    memcpy(in[i].bytes + 1, inputs[i].tx_id, 32);
    in[i].bytes[33] = (uint8_t)inputs[i].output_index;
    in[i].bytes[34] = (uint8_t)(inputs[i].output_index >> 8);
    in[i].sk = inputs[i].secret_key;
  }
  for (size_t i = 0; i < noutputs; i++) {
    if (outputs[i].amount == 0)
      return pg_fail(d, PG_ERR_INVALID, "output %zu: amount must be > 0", i);
    if (outputs[i].type > 1)
      return pg_fail(d, PG_ERR_INVALID, "output %zu: unknown output type %u", i, outputs[i].type);
    outs[i].bytes[0] = outputs[i].type;
    outs[i].bytes[1] = 0; /* Ed25519 address */
    memcpy(outs[i].bytes + 2, outputs[i].address, 32);
    pg_put_le64(outs[i].bytes + 34, outputs[i].amount);
  }
  qsort(in, ninputs, sizeof *in, cmp_input);
  qsort(outs, noutputs, sizeof *outs, cmp_output);

  size_t start = out->len;
  pg_buf_put_u32(out, PG_PAYLOAD_TRANSACTION);
  size_t essence_at = out->len;
  pg_buf_put_u8(out, 0); /* essence type */
  pg_buf_put_u16(out, (uint16_t)ninputs);
  for (size_t i = 0; i < ninputs; i++) pg_buf_put(out, in[i].bytes, 35);
  pg_buf_put_u16(out, (uint16_t)noutputs);
  for (size_t i = 0; i < noutputs; i++) pg_buf_put(out, outs[i].bytes, 42);
  if (index_len) {
    pg_buf_put_u32(out, (uint32_t)(4 + 2 + index_len + 4 + data_len));
    rc = pg_indexation_build(out, index, index_len, data, data_len, d);
    if (rc) return rc;
  } else {
    pg_buf_put_u32(out, 0);
  }
  if ((rc = pg_buf_status(out))) return pg_fail(d, rc, "transaction too large");

  uint8_t hash[32];
  pg_blake2b256(out->data + essence_at, out->len - essence_at, hash);
  if (essence_hash) memcpy(essence_hash, hash, 32);

  pg_buf_put_u16(out, (uint16_t)ninputs);
  for (size_t i = 0; i < ninputs; i++) {
    size_t first = i;
    for (size_t j = 0; j < i; j++)
      if (memcmp(in[j].sk + 32, in[i].sk + 32, 32) == 0) {
        first = j;
        break;
      }
    if (first < i) {
      pg_buf_put_u8(out, 1); /* reference block */
      pg_buf_put_u16(out, (uint16_t)first);
    } else {
      uint8_t sig[64];
      pg_ed25519_sign(in[i].sk, hash, 32, sig);
      pg_buf_put_u8(out, 0); /* signature block */
      pg_buf_put_u8(out, 0); /* Ed25519 */
      pg_buf_put(out, in[i].sk + 32, 32);
      pg_buf_put(out, sig, 64);
    }
  }
  if ((rc = pg_buf_status(out))) {
    out->len = start;
    return pg_fail(d, rc, "transaction too large");
  }
  return PG_OK;
}
