/* Wallet: key walk, input selection, dust-aware sending, following a
 * transfer to confirmation. Contract in include/p2pgrid/client/wallet.h. */
#include "p2pgrid/client/wallet.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/message_json.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/ledger/transaction.h"

#define MAX_PENDING 64
#define MAX_ADDR_OUTPUTS 1000

typedef struct pending {
  uint8_t msg_id[32]; /* the latest message carrying the transfer */
  uint8_t tx_id[32];
  uint8_t *payload; /* owned: the transaction payload, for reattaching */
  size_t payload_len;
  size_t ninputs;
  uint8_t inputs[PG_TX_MAX_INPUTS][PG_OUTPUT_ID_LEN];
} pending;

/* Derived key pairs kept (a walk of the first addresses runs at every
 * send and balance: each SLIP-10 derivation is an Ed25519 scalar
 * multiplication), direct-mapped by walk position; wiped with the wallet. */
#define KEY_CACHE 32

typedef struct key_slot {
  bool used;
  uint32_t change, index;
  uint8_t sk[64];
  uint8_t address[32];
} key_slot;

struct pg_wallet {
  pg_client *client;
  uint8_t seed[64];
  size_t seed_len;
  uint32_t account;
  unsigned zero_count;
  size_t npending;
  pending pend[MAX_PENDING];
  key_slot keys[KEY_CACHE];
};

int pg_wallet_new(pg_client *c, const uint8_t *seed, size_t seed_len, const pg_wallet_opts *o,
                  pg_wallet **out, pg_diag *d) {
  if (seed_len < 16 || seed_len > 64)
    return pg_fail(d, PG_ERR_INVALID, "a seed is 16 to 64 bytes, not %zu", seed_len);
  pg_wallet *w = calloc(1, sizeof *w);
  if (!w) return PG_ERR_NOMEM;
  w->client = c;
  memcpy(w->seed, seed, seed_len);
  w->seed_len = seed_len;
  w->account = o ? o->account : 0;
  w->zero_count = o && o->zero_count ? o->zero_count : 20;
  *out = w;
  return PG_OK;
}

void pg_wallet_free(pg_wallet *w) {
  if (!w) return;
  for (size_t i = 0; i < w->npending; i++) free(w->pend[i].payload);
  /* the secrets: seed and derived keys. Not all of *w: its pending table
   * (~280 KiB of public transfer data, mostly never touched) would be
   * faulted in page by page just to be zeroed (a simulator closing 1,000
   * wallets spent a third of a second there). */
  sodium_memzero(w->seed, sizeof w->seed);
  sodium_memzero(w->keys, sizeof w->keys);
  free(w);
}

/* The key pair of (change, index): from the cache, else derived into it. */
static int keypair(pg_wallet *w, uint32_t ch, uint32_t ix, uint8_t sk[64], uint8_t address[32]) {
  key_slot *k = &w->keys[((uint64_t)ix * 2 + ch) % KEY_CACHE];
  if (!k->used || k->change != ch || k->index != ix) {
    k->used = false;
    int rc = pg_iota_keypair(w->seed, w->seed_len, w->account, ch, ix, NULL, k->sk, k->address);
    if (rc) return rc;
    k->used = true;
    k->change = ch;
    k->index = ix;
  }
  if (sk) memcpy(sk, k->sk, 64);
  if (address) memcpy(address, k->address, 32);
  return PG_OK;
}

int pg_wallet_walk_address(pg_wallet *w, uint32_t n, uint8_t address[32], uint8_t sk[64],
                           uint32_t *change, uint32_t *index) {
  uint32_t ch = n % 2, ix = n / 2;
  if (change) *change = ch;
  if (index) *index = ix;
  return keypair(w, ch, ix, sk, address);
}

int pg_wallet_address(pg_wallet *w, uint32_t change, uint32_t index, uint8_t address[32]) {
  return keypair(w, change, index, NULL, address);
}

int pg_wallet_balance(pg_wallet *w, uint64_t *balance, pg_diag *d) {
  uint64_t total = 0;
  unsigned zeros = 0;
  for (uint32_t n = 0; zeros < w->zero_count; n++) {
    uint8_t addr[32];
    uint64_t b;
    int rc = pg_wallet_walk_address(w, n, addr, NULL, NULL, NULL);
    if (rc == PG_OK) rc = pg_client_address(w->client, addr, &b, NULL, d);
    if (rc) return rc;
    if (b == 0)
      zeros++;
    else
      total += b;
  }
  *balance = total;
  return PG_OK;
}

static bool is_pending(const pg_wallet *w, const uint8_t oid[PG_OUTPUT_ID_LEN]) {
  for (size_t i = 0; i < w->npending; i++)
    for (size_t k = 0; k < w->pend[i].ninputs; k++)
      if (memcmp(w->pend[i].inputs[k], oid, PG_OUTPUT_ID_LEN) == 0) return true;
  return false;
}

/* The outputs ids[0..count) (those no pending transfer of this object
 * spends, with skip_pending) looked up together (pg_client_outputs_many,
 * no bytes: over HTTP up to 1,000 a request): *got (free with
 * outputs_free), *n of them in the ids' order. */
static int outputs_of(pg_wallet *w, const uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t count,
                      bool skip_pending, pg_client_output_got **got, size_t *n, pg_diag *d) {
  *n = 0;
  *got = calloc(count ? count : 1, sizeof **got);
  if (!*got) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < count; i++)
    if (!skip_pending || !is_pending(w, ids[i])) memcpy((*got)[(*n)++].id, ids[i], PG_OUTPUT_ID_LEN);
  int rc = pg_client_outputs_many(w->client, *got, *n, false, d);
  if (rc) {
    free(*got);
    *got = NULL;
    *n = 0;
  }
  return rc;
}

/* PG_OK when g was found, else g's failure (its diag into d). */
static int output_ok(const pg_client_output_got *g, pg_diag *d) {
  return g->rc ? pg_fail(d, g->rc, "%s", g->d.msg) : PG_OK;
}

static void outputs_free(pg_client_output_got *got, size_t n) {
  for (size_t i = 0; got && i < n; i++) pg_client_output_got_clear(&got[i]);
  free(got);
}

int pg_wallet_history(pg_wallet *w, pg_wallet_history_fn fn, void *ctx, pg_diag *d) {
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = malloc(MAX_ADDR_OUTPUTS * PG_OUTPUT_ID_LEN);
  if (!ids) return PG_ERR_NOMEM;
  int rc = PG_OK;
  unsigned zeros = 0;
  for (uint32_t n = 0; rc == PG_OK && zeros < w->zero_count; n++) {
    uint8_t addr[32];
    uint32_t change, index;
    size_t count = 0, total = 0;
    rc = pg_wallet_walk_address(w, n, addr, NULL, &change, &index);
    if (rc == PG_OK)
      rc = pg_client_address_outputs(w->client, addr, true, ids, MAX_ADDR_OUTPUTS, &count, &total, d);
    if (rc == PG_OK && count == 0) zeros++;
    pg_client_output_got *got = NULL;
    size_t ng = 0;
    if (rc == PG_OK && count) rc = outputs_of(w, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count,
                                              false, &got, &ng, d);
    for (size_t i = 0; rc == PG_OK && i < ng; i++)
      if ((rc = output_ok(&got[i], d)) == PG_OK) rc = fn(ctx, change, index, &got[i].info);
    outputs_free(got, ng);
  }
  free(ids);
  return rc;
}

/* Adds amount to the output for (type, address), appending it if new. The
 * caller keeps *n below PG_TX_MAX_OUTPUTS. */
static void spec_add(pg_tx_output_spec *spec, size_t *n, uint8_t type, const uint8_t address[32],
                     uint64_t amount) {
  size_t k;
  for (k = 0; k < *n; k++)
    if (spec[k].type == type && memcmp(spec[k].address, address, 32) == 0) break;
  if (k == *n) {
    spec[k].type = type;
    memcpy(spec[k].address, address, 32);
    spec[k].amount = 0;
    (*n)++;
  }
  spec[k].amount += amount;
}

/* Merges outputs to the same (type, address) and checks them. */
static int merge_outputs(const pg_wallet_output *outs, size_t n, pg_tx_output_spec *spec,
                         size_t *nspec, uint64_t *required, pg_diag *d) {
  *nspec = 0;
  *required = 0;
  if (n < 1 || n > PG_WALLET_MAX_OUTPUTS)
    return pg_fail(d, PG_ERR_INVALID, "a transfer pays 1 to %d outputs, not %zu",
                   PG_WALLET_MAX_OUTPUTS, n);
  for (size_t i = 0; i < n; i++) {
    if (outs[i].amount == 0) return pg_fail(d, PG_ERR_INVALID, "output %zu: amount is 0", i);
    if (outs[i].amount > PG_TOKEN_SUPPLY - *required)
      return pg_fail(d, PG_ERR_INVALID, "outputs add up to more than the total supply");
    if (outs[i].dust_allowance && outs[i].amount < PG_DUST_ALLOWANCE_MIN)
      return pg_fail(d, PG_ERR_INVALID,
                     "output %zu: a dust allowance output needs at least 1000000, not %llu", i,
                     (unsigned long long)outs[i].amount);
    *required += outs[i].amount;
    spec_add(spec, nspec, outs[i].dust_allowance ? 1 : 0, outs[i].address, outs[i].amount);
  }
  return PG_OK;
}

static int check_dust_receivers(pg_wallet *w, const pg_tx_output_spec *spec, size_t n,
                                pg_diag *d) {
  for (size_t i = 0; i < n; i++) {
    if (spec[i].type != 0 || spec[i].amount >= PG_DUST_THRESHOLD) continue;
    uint64_t b;
    bool allowed;
    int rc = pg_client_address(w->client, spec[i].address, &b, &allowed, d);
    if (rc) return rc;
    if (!allowed) {
      char hex[65];
      pg_hex_encode(spec[i].address, 32, hex);
      return pg_fail(d, PG_ERR_UNAVAILABLE,
                     "address %s cannot receive a dust output of %llu (< 1000000): it has no "
                     "free dust allowance (TIP-15)",
                     hex, (unsigned long long)spec[i].amount);
    }
  }
  return PG_OK;
}

/* Records a submitted transfer; its payload copy was made before the submit
 * (see pg_wallet_send), so this cannot fail. The caller checked that a slot
 * is free. */
static void remember(pg_wallet *w, const uint8_t msg_id[32], uint8_t *payload_copy, size_t len,
                     const pg_tx_input_spec *in, size_t nin) {
  pending *p = &w->pend[w->npending];
  p->payload = payload_copy;
  p->payload_len = len;
  memcpy(p->msg_id, msg_id, 32);
  pg_transaction_id(payload_copy, len, p->tx_id);
  p->ninputs = nin;
  for (size_t i = 0; i < nin; i++) pg_output_id(in[i].tx_id, in[i].output_index, p->inputs[i]);
  w->npending++;
}

static pending *find_pending(pg_wallet *w, const uint8_t msg_id[32]) {
  for (size_t i = 0; i < w->npending; i++)
    if (memcmp(w->pend[i].msg_id, msg_id, 32) == 0) return &w->pend[i];
  return NULL;
}

static pending *find_pending_tx(pg_wallet *w, const uint8_t tx_id[32]) {
  for (size_t i = 0; i < w->npending; i++)
    if (memcmp(w->pend[i].tx_id, tx_id, 32) == 0) return &w->pend[i];
  return NULL;
}

static void forget(pg_wallet *w, pending *p) {
  free(p->payload);
  size_t i = (size_t)(p - w->pend);
  memmove(&w->pend[i], &w->pend[i + 1], (w->npending - i - 1) * sizeof *p);
  w->npending--;
}

/* A free slot in the pending set. When it is full, the transfers the node
 * has booked or can never book (a caller that does not follow its sweeps
 * or its dust allowance: nothing else forgets them) are forgotten first,
 * as pg_wallet_follow would; PG_ERR_UNAVAILABLE when all of them are
 * still unconfirmed (or the node cannot say). All are looked at once, so
 * this costs up to 64 lookups each time the set fills, not each send. */
static int pending_full(pg_wallet *w, pg_diag *d) {
  for (size_t i = w->npending == MAX_PENDING ? w->npending : 0; i-- > 0;) {
    pending *p = &w->pend[i];
    pg_wallet_transfer t = {.ninputs = p->ninputs};
    memcpy(t.msg_id, p->msg_id, 32);
    memcpy(t.tx_id, p->tx_id, 32);
    memcpy(t.inputs, p->inputs, p->ninputs * PG_OUTPUT_ID_LEN);
    pg_wallet_transfer_state st = PG_TRANSFER_PENDING;
    if (pg_wallet_transfer_check(w, &t, &st, NULL) != PG_OK) break; /* the node cannot say */
    if (st == PG_TRANSFER_INCLUDED || st == PG_TRANSFER_CONFLICTING) forget(w, p);
  }
  if (w->npending < MAX_PENDING) return PG_OK;
  return pg_fail(d, PG_ERR_UNAVAILABLE,
                 "%d transfers of this wallet are unconfirmed: follow them "
                 "(pg_wallet_follow) before sending more",
                 MAX_PENDING);
}

/* Posts {"payload": <payload JSON>} and lets the node fill the rest. */
static int submit_payload(pg_wallet *w, const uint8_t *payload, size_t len, uint8_t msg_id[32],
                          pg_diag *d) {
  pg_message m;
  int rc = pg_payload_parse(payload, len, &m, d);
  if (rc) return rc;
  json_t *pj = pg_payload_to_json(&m);
  pg_message_clear(&m);
  json_t *body = pj ? json_pack("{s:o}", "payload", pj) : NULL;
  if (!body) return PG_ERR_NOMEM;
  rc = pg_client_submit_json(w->client, body, msg_id, d);
  json_decref(body);
  return rc;
}

/* Builds and signs the payload, submits it and remembers its inputs as
 * pending. The caller checked that a pending slot is free. */
static int build_and_submit(pg_wallet *w, const pg_tx_input_spec *in, size_t nin,
                            const pg_tx_output_spec *spec, size_t nspec,
                            const pg_wallet_send_opts *o, uint8_t msg_id[32], uint8_t tx_id[32],
                            pg_diag *d) {
  pg_buf payload;
  pg_buf_init(&payload, PG_MSG_MAX_LEN);
  int rc = pg_transaction_build(&payload, in, nin, spec, nspec, o ? o->index : NULL,
                                o && o->index ? o->index_len : 0, o ? o->data : NULL,
                                o ? o->data_len : 0, NULL, d);
  uint8_t mid[32];
  uint8_t *copy = NULL;
  if (rc == PG_OK && !(copy = malloc(payload.len))) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (rc == PG_OK) {
    memcpy(copy, payload.data, payload.len);
    rc = submit_payload(w, payload.data, payload.len, mid, d);
  }
  if (rc == PG_OK) {
    if (msg_id) memcpy(msg_id, mid, 32);
    if (tx_id) pg_transaction_id(payload.data, payload.len, tx_id);
    remember(w, mid, copy, payload.len, in, nin);
    copy = NULL;
  }
  free(copy);
  pg_buf_free(&payload);
  return rc;
}

static int check_reference(const pg_wallet_send_opts *o, pg_diag *d) {
  if (o && o->index && (o->index_len < 1 || o->index_len > PG_INDEX_MAX_LEN))
    return pg_fail(d, PG_ERR_INVALID, "payment reference index must be 1..64 bytes");
  return PG_OK;
}

typedef struct selection {
  pg_tx_input_spec in[PG_TX_MAX_INPUTS];
  uint64_t amount[PG_TX_MAX_INPUTS];
  size_t nin;
  uint64_t consumed;
  uint8_t last_address[32];
} selection;

#define MAX_SCAN_OUTPUTS 65536 /* outputs of one address looked at by a send */

/* With every input slot taken and the amount not covered: o replaces the
 * smallest input when it is larger (so a transfer from an address full of
 * small payments still finds its large outputs). */
static void swap_smallest(selection *sel, const uint8_t id[PG_OUTPUT_ID_LEN], const uint8_t sk[64],
                          const uint8_t addr[32], uint64_t amount) {
  size_t m = 0;
  for (size_t i = 1; i < sel->nin; i++)
    if (sel->amount[i] < sel->amount[m]) m = i;
  if (amount <= sel->amount[m]) return;
  pg_tx_input_spec *in = &sel->in[m];
  memcpy(in->tx_id, id, 32);
  in->output_index = (uint16_t)(id[32] | id[33] << 8);
  memcpy(in->secret_key, sk, 64);
  sel->consumed = sel->consumed - sel->amount[m] + amount;
  sel->amount[m] = amount;
  memcpy(sel->last_address, addr, 32);
}

/* The outputs of one address, looked up as they are visited: over HTTP a
 * chunk at a time in the direction of the visit (one request where there
 * were up to 128), in-process one at a time as before (a lookup costs the
 * same alone, and a send stops as soon as its inputs cover the amount). */
#define SELECT_CHUNK 128

typedef struct output_cache {
  pg_wallet *w;
  const uint8_t (*ids)[PG_OUTPUT_ID_LEN];
  size_t count, chunk;
  pg_client_output_got *got; /* count entries by index, with chunk > 1 */
  bool *have;
  pg_client_output_got one; /* chunk 1 */
} output_cache;

static int cache_init(output_cache *oc, pg_wallet *w, const uint8_t (*ids)[PG_OUTPUT_ID_LEN],
                      size_t count, pg_diag *d) {
  size_t b = pg_client_outputs_batch(w->client);
  *oc = (output_cache){.w = w, .ids = ids, .count = count,
                       .chunk = b < SELECT_CHUNK ? b : SELECT_CHUNK};
  if (oc->chunk == 1 || !count) return PG_OK;
  oc->got = calloc(count, sizeof *oc->got);
  oc->have = calloc(count, sizeof *oc->have);
  return oc->got && oc->have ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
}

static void cache_free(output_cache *oc) {
  free(oc->got);
  free(oc->have);
}

/* Looks up output i and up to chunk - 1 more not looked up yet that follow
 * it in the direction step (+1 or -1), skipping pending ones. */
static int cache_fill(output_cache *oc, size_t i, int step, pg_diag *d) {
  pg_client_output_got tmp[SELECT_CHUNK];
  size_t at[SELECT_CHUNK], n = 0;
  for (size_t k = i; k < oc->count && n < oc->chunk; k += (size_t)(ptrdiff_t)step) {
    if (oc->have[k] || (k != i && is_pending(oc->w, oc->ids[k]))) continue;
    memcpy(tmp[n].id, oc->ids[k], PG_OUTPUT_ID_LEN);
    at[n++] = k;
  }
  int rc = pg_client_outputs_many(oc->w->client, tmp, n, false, d);
  for (size_t k = 0; rc == PG_OK && k < n; k++) {
    oc->got[at[k]] = tmp[k];
    oc->have[at[k]] = true;
  }
  return rc;
}

/* Output i (visited in the direction step) into *o; its lookup's failure
 * as the call's. */
static int cache_get(output_cache *oc, size_t i, int step, const pg_output_info **o,
                     pg_diag *d) {
  pg_client_output_got *g = &oc->one;
  if (oc->chunk == 1) {
    g->rc = pg_client_output(oc->w->client, oc->ids[i], &g->info, d);
    if (g->rc) return g->rc;
  } else {
    int rc = oc->have[i] ? PG_OK : cache_fill(oc, i, step, d);
    if (rc) return rc;
    g = &oc->got[i];
    if (g->rc) return pg_fail(d, g->rc, "%s", g->d.msg);
  }
  *o = &g->info;
  return PG_OK;
}

/* Adds the unspent, not pending outputs of one address to sel until
 * sel->consumed >= need, oldest first; past PG_TX_MAX_INPUTS inputs larger
 * outputs (newest first) replace the smallest ones taken. *done = covered. */
static int take_from_address(pg_wallet *w, const uint8_t addr[32], const uint8_t sk[64],
                             uint64_t need, selection *sel, bool *had_outputs, bool *done,
                             pg_diag *d) {
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
  size_t count = 0;
  int rc = pg_client_address_outputs_all(w->client, addr, false, MAX_ADDR_OUTPUTS,
                                         MAX_SCAN_OUTPUTS, &ids, &count, d);
  if (rc == PG_ERR_NOMEM) return rc;
  *had_outputs = rc == PG_OK && count > 0;
  bool full = false;
  output_cache oc = {0};
  if (rc == PG_OK) rc = cache_init(&oc, w, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count, d);
  /* from where the input slots ran out the rest is visited newest first: a
   * large output (the remainder of the last transfer) sits at the end, behind
   * any number of small payments */
  size_t swap_from = count;
  for (size_t j = 0; rc == PG_OK && j < count && !*done; j++) {
    size_t i = j < swap_from ? j : count - 1 - (j - swap_from);
    if (is_pending(w, ids[i])) continue;
    const pg_output_info *o = NULL;
    rc = cache_get(&oc, i, j < swap_from ? 1 : -1, &o, d);
    if (rc) break;
    /* a dust allowance output stays: spending it could leave the address
     * with more dust than it may hold (TIP-15 conflict 6) */
    if (o->spent || o->amount == 0 || o->type != 0) continue;
    if (sel->nin == PG_TX_MAX_INPUTS) {
      if (!full) swap_from = j + 1;
      full = true;
      swap_smallest(sel, ids[i], sk, addr, o->amount);
    } else {
      pg_tx_input_spec *in = &sel->in[sel->nin];
      memcpy(in->tx_id, ids[i], 32);
      in->output_index = (uint16_t)(ids[i][32] | ids[i][33] << 8);
      memcpy(in->secret_key, sk, 64);
      sel->amount[sel->nin++] = o->amount;
      sel->consumed += o->amount;
      memcpy(sel->last_address, addr, 32);
    }
    *done = sel->consumed >= need;
  }
  if (!rc && full && !*done)
    rc = pg_fail(d, PG_ERR_UNAVAILABLE, "the transfer would need more than %d inputs",
                 PG_TX_MAX_INPUTS);
  cache_free(&oc);
  free(ids);
  return rc;
}

/* A remainder r on address a is acceptable when it is 0, not dust, or a may
 * hold one more dust output. */
static int remainder_ok(pg_wallet *w, const selection *sel, uint64_t required, bool *ok,
                        pg_diag *d) {
  uint64_t r = sel->consumed - required;
  *ok = true;
  if (r == 0 || r >= PG_DUST_THRESHOLD) return PG_OK;
  uint64_t b;
  return pg_client_address(w->client, sel->last_address, &b, ok, d);
}

int pg_wallet_send(pg_wallet *w, const pg_wallet_output *outs, size_t n,
                   const pg_wallet_send_opts *o, uint8_t msg_id[32], uint8_t tx_id[32],
                   pg_diag *d) {
  pg_tx_output_spec spec[PG_TX_MAX_OUTPUTS];
  size_t nspec;
  uint64_t required;
  int rc = merge_outputs(outs, n, spec, &nspec, &required, d);
  if (rc) return rc;
  if ((rc = check_reference(o, d))) return rc;
  /* Everything that can fail after the submit is settled before it: a
   * transfer on the Tangle that the caller is told failed, and whose inputs
   * are not held back, would be spent again by the next send. */
  if ((rc = pending_full(w, d))) return rc;
  rc = check_dust_receivers(w, spec, nspec, d);
  if (rc) return rc;

  selection *sel = calloc(1, sizeof *sel);
  if (!sel) return PG_ERR_NOMEM;
  bool covered = false, rem_ok = false;
  unsigned zeros = 0;
  for (uint32_t k = 0; zeros < 5 && !(covered && rem_ok); k++) { /* iota.js zeroCount 5 */
    uint8_t addr[32], sk[64];
    bool had = false;
    rc = pg_wallet_walk_address(w, k, addr, sk, NULL, NULL);
    if (rc == PG_OK) {
      /* once covered, more inputs are taken only to grow a dust remainder */
      bool enough = false;
      uint64_t need = covered ? sel->consumed + PG_DUST_THRESHOLD : required;
      rc = take_from_address(w, addr, sk, need, sel, &had, &enough, d);
      covered = sel->consumed >= required;
    }
    sodium_memzero(sk, sizeof sk);
    if (rc) goto out;
    if (!had) zeros++;
    if (covered) {
      rc = remainder_ok(w, sel, required, &rem_ok, d);
      if (rc) goto out;
    }
  }
  if (!covered) {
    rc = pg_fail(d, PG_ERR_UNAVAILABLE, "not enough funds: have %llu available, need %llu",
                 (unsigned long long)sel->consumed, (unsigned long long)required);
    goto out;
  }
  if (!rem_ok) {
    rc = pg_fail(d, PG_ERR_UNAVAILABLE,
                 "the remainder of %llu would be a dust output on an address without dust "
                 "allowance (TIP-15); send a different amount or add a dust allowance",
                 (unsigned long long)(sel->consumed - required));
    goto out;
  }
  uint64_t rem = sel->consumed - required;
  if (rem) spec_add(spec, &nspec, 0, sel->last_address, rem);
  rc = build_and_submit(w, sel->in, sel->nin, spec, nspec, o, msg_id, tx_id, d);
out:
  sodium_memzero(sel, sizeof *sel);
  free(sel);
  return rc;
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

/* A message without payload whose parents are the transfer and current tips. */
static int promote(pg_wallet *w, const uint8_t msg_id[32], pg_diag *d) {
  uint8_t ids[PG_MSG_MAX_PARENTS][32];
  size_t count = 0;
  int rc = pg_client_tips(w->client, ids + 1, PG_MSG_MAX_PARENTS - 1, &count, d);
  if (rc) return rc;
  memcpy(ids[0], msg_id, 32);
  count++;
  qsort(ids, count, 32, cmp_id);
  json_t *parents = json_array();
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    if (kept && memcmp(ids[i], ids[i - 1], 32) == 0) continue;
    char hex[65];
    pg_hex_encode(ids[i], 32, hex);
    json_array_append_new(parents, json_string(hex));
    kept++;
  }
  json_t *body = json_pack("{s:o}", "parentMessageIds", parents);
  uint8_t pid[32];
  rc = body ? pg_client_submit_json(w->client, body, pid, d) : PG_ERR_NOMEM;
  json_decref(body);
  return rc;
}

/* Reattaches a message this wallet object did not send: the same payload in
 * a new message on fresh tips. */
static int reattach_any(pg_wallet *w, const uint8_t msg_id[32], uint8_t new_id[32], pg_diag *d) {
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  pg_message m;
  int rc = pg_client_get_raw(w->client, msg_id, &raw, d);
  if (rc == PG_OK) rc = pg_message_parse(raw.data, raw.len, &m, d);
  if (rc == PG_OK) {
    if (m.payload_type == PG_PAYLOAD_TRANSACTION)
      rc = submit_payload(w, m.payload, m.payload_len, new_id, d);
    else
      rc = pg_fail(d, PG_ERR_STATE, "the message to reattach holds no transaction");
    pg_message_clear(&m);
  }
  pg_buf_free(&raw);
  return rc;
}

/* The id of the transaction msg_id carries; *has_tx false when it carries none. */
static int message_tx_id(pg_wallet *w, const uint8_t msg_id[32], uint8_t tx_id[32], bool *has_tx,
                         pg_diag *d) {
  pg_buf raw;
  pg_message m;
  *has_tx = false;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  int rc = pg_client_get_raw(w->client, msg_id, &raw, d);
  if (rc == PG_OK) rc = pg_message_parse(raw.data, raw.len, &m, d);
  if (rc == PG_OK) {
    if (m.payload_type == PG_PAYLOAD_TRANSACTION) {
      pg_transaction_id(m.payload, m.payload_len, tx_id);
      *has_tx = true;
    }
    pg_message_clear(&m);
  }
  pg_buf_free(&raw);
  return rc;
}

/* Whether the transaction has been booked, through whichever message carried
 * it (the one followed, a reattachment of ours or anybody's, or the original
 * after we reattached): its first output then exists and names that
 * message, which goes to booked_by. */
static int tx_booked(pg_wallet *w, const uint8_t tx_id[32], bool *booked, uint8_t booked_by[32],
                     pg_diag *d) {
  uint8_t oid[PG_OUTPUT_ID_LEN];
  pg_output_info out;
  *booked = false;
  memcpy(oid, tx_id, 32);
  oid[32] = oid[33] = 0;
  int rc = pg_client_output(w->client, oid, &out, d);
  if (rc == PG_ERR_NOT_FOUND) return PG_OK;
  if (rc) return rc;
  *booked = true;
  memcpy(booked_by, out.message_id, 32);
  return PG_OK;
}

int pg_wallet_follow(pg_wallet *w, const uint8_t msg_id[32], const pg_wallet_follow_opts *o,
                     uint8_t final_id[32], pg_diag *d) {
  uint64_t timeout = o && o->timeout_ms ? o->timeout_ms : 60000;
  uint64_t poll = o && o->poll_ms ? o->poll_ms : 200;
  uint64_t deadline = pg_monotonic_ms() + timeout;
  uint8_t cur[32], tx_id[32], booked_by[32];
  bool has_tx = false, booked = false;
  memcpy(cur, msg_id, 32);
  /* Our transfer, found by message id or, when the caller passes an earlier
   * message of it (we reattached since), by transaction id. */
  pending *p = find_pending(w, msg_id);
  int rc = PG_OK;
  if (p) {
    memcpy(tx_id, p->tx_id, 32);
    has_tx = true;
  } else {
    rc = message_tx_id(w, msg_id, tx_id, &has_tx, d);
    if (rc) return rc;
    if (has_tx && (p = find_pending_tx(w, tx_id))) memcpy(cur, p->msg_id, 32); /* latest carrier */
  }
  for (;;) {
    pg_msg_meta m;
    rc = pg_client_get_meta(w->client, cur, &m, d);
    if (rc) return rc;
    if (m.referenced_by) {
      if (final_id) memcpy(final_id, cur, 32);
      if (m.inclusion == PG_INCL_CONFLICTING && has_tx) {
        rc = tx_booked(w, tx_id, &booked, booked_by, d);
        if (rc) return rc; /* keep the pending inputs: we do not know yet */
      }
      if (p) forget(w, p);
      if (booked) {
        if (final_id) memcpy(final_id, booked_by, 32);
        return PG_OK;
      }
      if (m.inclusion == PG_INCL_INCLUDED) return PG_OK;
      if (m.inclusion == PG_INCL_CONFLICTING)
        return pg_fail(d, PG_ERR_STATE, "the transfer conflicted (reason %u) in milestone %u",
                       m.conflict_reason, m.referenced_by);
      return pg_fail(d, PG_ERR_STATE, "message %u holds no transaction", m.referenced_by);
    }
    if (pg_monotonic_ms() >= deadline)
      return pg_fail(d, PG_ERR_TIMEOUT, "the transfer was not confirmed within %llu ms",
                     (unsigned long long)timeout);
    if (m.should_reattach) {
      /* a lazy message may carry a transfer already booked through another one */
      if (has_tx && (rc = tx_booked(w, tx_id, &booked, booked_by, d))) return rc;
      if (booked) {
        if (final_id) memcpy(final_id, booked_by, 32);
        if (p) forget(w, p);
        return PG_OK;
      }
      uint8_t nid[32];
      rc = p && p->payload ? submit_payload(w, p->payload, p->payload_len, nid, d)
                           : reattach_any(w, cur, nid, d);
      if (rc) return rc;
      memcpy(cur, nid, 32);
      if (p) memcpy(p->msg_id, nid, 32);
    } else if (m.should_promote) {
      rc = promote(w, cur, d);
      if (rc) return rc;
    }
    pg_sleep_ms(poll);
  }
}

/* ---- Transfers of other objects: journals ---- */

int pg_wallet_pending_transfer(pg_wallet *w, const uint8_t msg_id[32], pg_wallet_transfer *out) {
  const pending *p = find_pending(w, msg_id);
  if (!p) return PG_ERR_NOT_FOUND;
  memset(out, 0, sizeof *out);
  memcpy(out->msg_id, p->msg_id, 32);
  memcpy(out->tx_id, p->tx_id, 32);
  out->ninputs = p->ninputs;
  memcpy(out->inputs, p->inputs, p->ninputs * PG_OUTPUT_ID_LEN);
  return PG_OK;
}

int pg_wallet_track(pg_wallet *w, const pg_wallet_transfer *t, pg_diag *d) {
  if (t->ninputs < 1 || t->ninputs > PG_TX_MAX_INPUTS)
    return pg_fail(d, PG_ERR_INVALID, "a transfer spends 1 to %d outputs, not %zu",
                   PG_TX_MAX_INPUTS, t->ninputs);
  if (find_pending_tx(w, t->tx_id)) return PG_OK;
  int rc = pending_full(w, NULL);
  if (rc)
    return pg_fail(d, rc,
                   "%d transfers of this wallet are unconfirmed: wait for them to confirm "
                   "before sending more",
                   MAX_PENDING);
  pending *p = &w->pend[w->npending++];
  memset(p, 0, sizeof *p); /* no payload: a reattachment reads it from the node */
  memcpy(p->msg_id, t->msg_id, 32);
  memcpy(p->tx_id, t->tx_id, 32);
  p->ninputs = t->ninputs;
  memcpy(p->inputs, t->inputs, t->ninputs * PG_OUTPUT_ID_LEN);
  return PG_OK;
}

int pg_wallet_transfer_check(pg_wallet *w, const pg_wallet_transfer *t,
                             pg_wallet_transfer_state *st, pg_diag *d) {
  bool spent = false, booked = false;
  uint8_t by[32];
  int rc = PG_OK;
  *st = PG_TRANSFER_PENDING;
  /* inputs first: booking spends them in the same milestone, so spent and
   * then not booked means spent by another transaction */
  for (size_t i = 0; rc == PG_OK && i < t->ninputs && !spent; i++) {
    pg_output_info o;
    rc = pg_client_output(w->client, t->inputs[i], &o, d);
    if (rc == PG_ERR_NOT_FOUND) rc = PG_OK, spent = true; /* cannot be booked either */
    else if (rc == PG_OK) spent = o.spent;
  }
  if (rc == PG_OK) rc = tx_booked(w, t->tx_id, &booked, by, d);
  if (rc) return rc;
  if (booked) {
    *st = PG_TRANSFER_INCLUDED;
    return PG_OK;
  }
  if (spent) {
    *st = PG_TRANSFER_CONFLICTING;
    return PG_OK;
  }
  pg_msg_meta m;
  rc = pg_client_get_meta(w->client, t->msg_id, &m, d);
  if (rc == PG_ERR_NOT_FOUND) {
    *st = PG_TRANSFER_UNKNOWN;
    return PG_OK;
  }
  if (rc) return rc;
  if (m.referenced_by)
    *st = m.inclusion == PG_INCL_INCLUDED ? PG_TRANSFER_INCLUDED : PG_TRANSFER_CONFLICTING;
  return PG_OK;
}

/* ---- Dust management: sweep, dust allowance, output counts ---- */

/* The output ids of an address, as many as the node lists (*ids malloc'd). */
static int list_outputs(pg_wallet *w, const uint8_t addr[32], bool include_spent,
                        uint8_t (**ids)[PG_OUTPUT_ID_LEN], size_t *count, size_t *total,
                        pg_diag *d) {
  size_t cap = MAX_ADDR_OUTPUTS;
  for (;;) {
    uint8_t(*buf)[PG_OUTPUT_ID_LEN] = malloc(cap * PG_OUTPUT_ID_LEN);
    if (!buf) return PG_ERR_NOMEM;
    int rc = pg_client_address_outputs(w->client, addr, include_spent, buf, cap, count, total, d);
    /* the node may list fewer than it counts (a cap of its own): then we
     * work with what it lists */
    if (rc == PG_OK && *count == cap && *total > cap) {
      free(buf);
      cap = *total;
      continue;
    }
    if (rc) {
      free(buf);
      return rc;
    }
    *ids = buf;
    return PG_OK;
  }
}

typedef struct sweep_cand {
  uint8_t oid[PG_OUTPUT_ID_LEN];
  uint64_t amount;
  uint32_t n; /* walk position of its address */
  bool on_to; /* it sits on the sweep's target address */
} sweep_cand;

static int cmp_cand(const void *a, const void *b) {
  const sweep_cand *x = a, *y = b;
  if (x->amount != y->amount) return x->amount < y->amount ? -1 : 1;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  return memcmp(x->oid, y->oid, PG_OUTPUT_ID_LEN);
}

/* Every unspent SigLockedSingleOutput of the walked addresses that is not
 * pending in this object. */
static int sweep_candidates(pg_wallet *w, const uint8_t to[32], sweep_cand **out, size_t *nout,
                            pg_diag *d) {
  sweep_cand *c = NULL;
  size_t n = 0, cap = 0;
  unsigned zeros = 0;
  int rc = PG_OK;
  for (uint32_t k = 0; rc == PG_OK && zeros < w->zero_count; k++) {
    uint8_t addr[32];
    uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
    size_t count = 0, total = 0;
    rc = pg_wallet_address(w, k % 2, k / 2, addr);
    if (rc == PG_OK) rc = list_outputs(w, addr, false, &ids, &count, &total, d);
    if (rc) break;
    if (count == 0) zeros++;
    pg_client_output_got *got = NULL;
    size_t ng = 0;
    rc = outputs_of(w, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count, true, &got, &ng, d);
    for (size_t i = 0; rc == PG_OK && i < ng; i++) {
      const pg_output_info *o = &got[i].info;
      if ((rc = output_ok(&got[i], d)) || o->spent || o->type != 0 || o->amount == 0) continue;
      if (n == cap) {
        size_t ncap = cap ? 2 * cap : 64;
        sweep_cand *g = realloc(c, ncap * sizeof *g);
        if (!g) {
          rc = PG_ERR_NOMEM;
          break;
        }
        c = g;
        cap = ncap;
      }
      memcpy(c[n].oid, got[i].id, PG_OUTPUT_ID_LEN);
      c[n].amount = o->amount;
      c[n].n = k;
      c[n].on_to = memcmp(addr, to, 32) == 0;
      n++;
    }
    outputs_free(got, ng);
    free(ids);
  }
  if (rc) {
    free(c);
    return rc;
  }
  *out = c;
  *nout = n;
  return PG_OK;
}

/* The inputs of one sweep transfer out of the sorted candidates c[0..nc):
 * the k smallest, then (big > 0) the big largest in place of the largest
 * taken. */
static const sweep_cand *sweep_pick(const sweep_cand *c, size_t nc, size_t k, size_t big, size_t i) {
  return i < k - big ? &c[i] : &c[nc - (i - (k - big)) - 1];
}

static int sweep_submit(pg_wallet *w, const uint8_t target[32], const sweep_cand *c, size_t nc,
                        size_t k, size_t big, uint64_t sum, const pg_wallet_send_opts *o,
                        uint8_t msg_id[32], uint8_t tx_id[32], pg_diag *d) {
  pg_tx_input_spec *in = calloc(k, sizeof *in);
  if (!in) return PG_ERR_NOMEM;
  int rc = PG_OK;
  for (size_t i = 0; rc == PG_OK && i < k; i++) {
    const sweep_cand *x = sweep_pick(c, nc, k, big, i);
    memcpy(in[i].tx_id, x->oid, 32);
    in[i].output_index = (uint16_t)(x->oid[32] | x->oid[33] << 8);
    rc = pg_wallet_walk_address(w, x->n, NULL, in[i].secret_key, NULL, NULL);
  }
  pg_tx_output_spec out = {.type = 0, .amount = sum};
  memcpy(out.address, target, 32);
  if (rc == PG_OK) rc = build_and_submit(w, in, k, &out, 1, o, msg_id, tx_id, d);
  sodium_memzero(in, k * sizeof *in);
  free(in);
  return rc;
}

/* One sweep transfer from the sorted candidates c[0..*nc) (see
 * pg_wallet_sweep); on success the outputs it spends leave c, as a pending
 * transfer's outputs leave the next call's candidates. */
static int sweep_from(pg_wallet *w, const uint8_t target[32], sweep_cand *c, size_t *ncp,
                      size_t max_inputs, const pg_wallet_send_opts *o, uint8_t msg_id[32],
                      uint8_t tx_id[32], size_t *swept, pg_diag *d) {
  size_t nc = *ncp;
  if (nc < 2)
    return pg_fail(d, PG_ERR_NOT_FOUND,
                   "nothing to sweep: the wallet has %zu spendable output%s (dust allowance "
                   "outputs and outputs of unconfirmed transfers are left alone)",
                   nc, nc == 1 ? "" : "s");
  size_t k = nc < max_inputs ? nc : max_inputs;
  int to_allowed = -1; /* unknown */
  for (size_t big = 0;; big++) { /* taken: c[0 .. k-big) and c[nc-big .. nc) */
    uint64_t sum = 0;
    bool takes_dust_from_to = false;
    for (size_t i = 0; i < k; i++) {
      const sweep_cand *x = sweep_pick(c, nc, k, big, i);
      sum += x->amount;
      takes_dust_from_to |= x->on_to && x->amount < PG_DUST_THRESHOLD;
    }
    /* a dust output on the target is fine when the target loses at least
     * one dust output in the same transaction (its dust count does not grow) */
    bool ok = sum >= PG_DUST_THRESHOLD || takes_dust_from_to;
    if (!ok && to_allowed < 0) {
      uint64_t b;
      bool allowed = false;
      int rc = pg_client_address(w->client, target, &b, &allowed, d);
      if (rc) return rc;
      to_allowed = allowed;
    }
    if (ok || to_allowed == 1) {
      int rc = sweep_submit(w, target, c, nc, k, big, sum, o, msg_id, tx_id, d);
      if (rc) return rc;
      if (swept) *swept = k;
      memmove(c, c + (k - big), (nc - k) * sizeof *c); /* what is left: c[k-big .. nc-big) */
      *ncp = nc - k;
      return PG_OK;
    }
    if (big == k || nc == k) { /* no larger output left to swap in */
      char hex[65];
      pg_hex_encode(target, 32, hex);
      return pg_fail(d, PG_ERR_UNAVAILABLE,
                     "the sweep would create a dust output of %llu (< 1000000) on %s, which has "
                     "no free dust allowance (TIP-15)",
                     (unsigned long long)sum, hex);
    }
  }
}

/* Up to `transfers` sweeps in a row, the outputs listed once: the same
 * transfers as that many calls of pg_wallet_sweep (smallest first over
 * what the earlier ones left). */
static int sweep_rounds(pg_wallet *w, const uint8_t to[32], size_t max_inputs, size_t transfers,
                        const pg_wallet_send_opts *o, uint8_t msg_id[32], uint8_t tx_id[32],
                        size_t *made, size_t *swept, pg_diag *d) {
  if (made) *made = 0;
  if (swept) *swept = 0;
  if (max_inputs == 0) max_inputs = PG_TX_MAX_INPUTS;
  if (max_inputs < 2 || max_inputs > PG_TX_MAX_INPUTS)
    return pg_fail(d, PG_ERR_INVALID, "a sweep takes 2 to %d inputs, not %zu", PG_TX_MAX_INPUTS,
                   max_inputs);
  int rc = check_reference(o, d);
  if (rc == PG_OK) rc = pending_full(w, d);
  if (rc) return rc;
  uint8_t target[32];
  if (to)
    memcpy(target, to, 32);
  else if ((rc = pg_wallet_address(w, 0, 0, target)))
    return rc;
  sweep_cand *c = NULL;
  size_t nc = 0;
  if ((rc = sweep_candidates(w, target, &c, &nc, d))) return rc;
  /* Smallest first: every dust output comes before every other output, so
   * the sweep removes as much dust as it can. When what it takes stays below
   * 1 Mi and the target may not receive a dust output, the largest outputs
   * replace the largest taken, one at a time, until the sum is no longer dust. */
  if (nc) qsort(c, nc, sizeof *c, cmp_cand);
  for (size_t t = 0; t < transfers; t++) {
    size_t k = 0;
    if (t > 0 && (rc = pending_full(w, d))) break;
    if ((rc = sweep_from(w, target, c, &nc, max_inputs, o, msg_id, tx_id, &k, d))) break;
    if (made) (*made)++;
    if (swept) *swept += k;
  }
  free(c);
  return rc;
}

int pg_wallet_sweep(pg_wallet *w, const uint8_t to[32], size_t max_inputs,
                    const pg_wallet_send_opts *o, uint8_t msg_id[32], uint8_t tx_id[32],
                    size_t *swept, pg_diag *d) {
  size_t k = 0;
  int rc = sweep_rounds(w, to, max_inputs, 1, o, msg_id, tx_id, NULL, &k, d);
  if (rc == PG_OK && swept) *swept = k;
  return rc;
}

int pg_wallet_sweep_many(pg_wallet *w, const uint8_t to[32], size_t max_inputs, size_t transfers,
                         size_t *made, size_t *swept, pg_diag *d) {
  size_t m = 0, k = 0;
  int rc = sweep_rounds(w, to, max_inputs, transfers, NULL, NULL, NULL, &m, &k, d);
  if (made) *made = m;
  if (swept) *swept = k;
  return rc;
}

/* Whether a transfer pending in this object creates a dust allowance output
 * on addr; *msg_id gets its latest message. */
static bool pending_allowance(const pg_wallet *w, const uint8_t addr[32], uint8_t msg_id[32]) {
  for (size_t i = 0; i < w->npending; i++) {
    pg_message m;
    if (!w->pend[i].payload) continue; /* tracked (pg_wallet_track): outputs unknown here */
    if (pg_payload_parse(w->pend[i].payload, w->pend[i].payload_len, &m, NULL)) continue;
    bool hit = false;
    const pg_transaction *tx = m.u.transaction;
    for (size_t k = 0; tx && !hit && k < tx->outputs_count; k++)
      hit = tx->outputs[k].type == 1 && memcmp(tx->outputs[k].address, addr, 32) == 0;
    pg_message_clear(&m);
    if (hit) {
      if (msg_id) memcpy(msg_id, w->pend[i].msg_id, 32);
      return true;
    }
  }
  return false;
}

int pg_wallet_ensure_dust_allowance(pg_wallet *w, uint32_t change, uint32_t index,
                                    uint64_t amount, bool *created, uint8_t msg_id[32],
                                    pg_diag *d) {
  if (created) *created = false;
  if (amount < PG_DUST_ALLOWANCE_MIN)
    return pg_fail(d, PG_ERR_INVALID,
                   "a dust allowance output needs at least 1000000, not %llu",
                   (unsigned long long)amount);
  uint8_t addr[32];
  int rc = pg_wallet_address(w, change, index, addr);
  if (rc) return rc;
  if (pending_allowance(w, addr, msg_id)) return PG_OK; /* already on its way */

  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
  size_t count = 0, total = 0;
  if ((rc = list_outputs(w, addr, false, &ids, &count, &total, d))) return rc;
  uint64_t allowance = 0;
  pg_client_output_got *got = NULL;
  size_t ng = 0;
  rc = outputs_of(w, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count, true, &got, &ng, d);
  for (size_t i = 0; rc == PG_OK && i < ng; i++) {
    const pg_output_info *o = &got[i].info;
    if ((rc = output_ok(&got[i], d)) == PG_OK && !o->spent && o->type == 1) allowance += o->amount;
  }
  outputs_free(got, ng);
  free(ids);
  if (rc || allowance >= amount) return rc;

  pg_wallet_output out = {.amount = amount, .dust_allowance = true};
  memcpy(out.address, addr, 32);
  rc = pg_wallet_send(w, &out, 1, NULL, msg_id, NULL, d);
  if (rc == PG_OK && created) *created = true;
  return rc;
}

int pg_wallet_count_outputs(pg_wallet *w, uint32_t change, uint32_t index, size_t *outputs,
                            size_t *dust, pg_diag *d) {
  uint8_t addr[32];
  int rc = pg_wallet_address(w, change, index, addr);
  if (rc) return rc;
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
  size_t count = 0, total = 0, ndust = 0;
  if ((rc = list_outputs(w, addr, false, &ids, &count, &total, d))) return rc;
  /* the outputs looked up together (over HTTP one request for up to 1,000;
   * it was one GET each: a grid's address holds up to 512 and is counted
   * every few seconds) */
  pg_client_output_got *got = NULL;
  size_t ng = 0;
  if (dust) rc = outputs_of(w, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count, false, &got, &ng, d);
  for (size_t i = 0; rc == PG_OK && i < ng; i++) {
    const pg_output_info *o = &got[i].info;
    rc = output_ok(&got[i], d);
    if (rc == PG_OK && !o->spent && o->type == 0 && o->amount < PG_DUST_THRESHOLD) ndust++;
  }
  outputs_free(got, ng);
  free(ids);
  if (rc) return rc;
  if (outputs) *outputs = total > count ? total : count;
  if (dust) *dust = ndust;
  return PG_OK;
}

/* ---- Finding an earlier transfer by its payment reference ---- */

/* The walked addresses (the walk as in pg_wallet_history: it ends after
 * zero_count addresses that never had an output). */
static int walked_addresses(pg_wallet *w, uint8_t (**out)[32], size_t *nout, pg_diag *d) {
  uint8_t(*a)[32] = NULL;
  size_t n = 0, cap = 0;
  unsigned zeros = 0;
  int rc = PG_OK;
  for (uint32_t k = 0; zeros < w->zero_count; k++) {
    uint8_t addr[32], one[1][PG_OUTPUT_ID_LEN];
    size_t count = 0, total = 0;
    rc = pg_wallet_address(w, k % 2, k / 2, addr);
    if (rc == PG_OK)
      rc = pg_client_address_outputs(w->client, addr, true, one, 1, &count, &total, d);
    if (rc) break;
    if (count == 0) zeros++;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 32;
      uint8_t(*g)[32] = realloc(a, ncap * 32);
      if (!g) {
        rc = PG_ERR_NOMEM;
        break;
      }
      a = g;
      cap = ncap;
    }
    memcpy(a[n++], addr, 32);
  }
  if (rc) {
    free(a);
    return rc;
  }
  *out = a;
  *nout = n;
  return PG_OK;
}

/* Whether the message carries a transaction with this reference and an
 * output of amount (0 = any) to `to`, signed by one of the mine[] addresses
 * (loaded on first need into *mine / *nmine). */
/* Takes a transfer of ours found unconfirmed on the node (sent by an earlier
 * wallet object, e.g. before a crash) into the pending set, so its inputs are
 * not spent again by the next send. Without a free slot it is left out (the
 * next send may then conflict with it, which pg_wallet_follow reports). */
static void adopt_pending(pg_wallet *w, const uint8_t msg_id[32], const pg_message *m) {
  const pg_transaction *tx = m->u.transaction;
  uint8_t tx_id[32];
  pg_transaction_id(m->payload, m->payload_len, tx_id);
  if (find_pending(w, msg_id) || find_pending_tx(w, tx_id) || w->npending == MAX_PENDING) return;
  uint8_t *copy = malloc(m->payload_len);
  if (!copy) return;
  memcpy(copy, m->payload, m->payload_len);
  pending *p = &w->pend[w->npending++];
  p->payload = copy;
  p->payload_len = m->payload_len;
  memcpy(p->msg_id, msg_id, 32);
  memcpy(p->tx_id, tx_id, 32);
  p->ninputs = tx->inputs_count;
  for (size_t i = 0; i < tx->inputs_count; i++)
    pg_output_id(tx->inputs[i].tx_id, tx->inputs[i].output_index, p->inputs[i]);
}

/* Whether msg_id is a transfer signed by us that carries index and pays
 * amount to `to`; adopt: take it into the pending set when it is. */
static int is_our_transfer(pg_wallet *w, const uint8_t msg_id[32], const uint8_t *index,
                           size_t index_len, const uint8_t to[32], uint64_t amount, bool adopt,
                           uint8_t (**mine)[32], size_t *nmine, bool *match, pg_diag *d) {
  *match = false;
  pg_buf raw;
  pg_message m;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  int rc = pg_client_get_raw(w->client, msg_id, &raw, d);
  if (rc == PG_OK) rc = pg_message_parse(raw.data, raw.len, &m, d);
  if (rc) {
    pg_buf_free(&raw);
    return rc;
  }
  const pg_transaction *tx = m.payload_type == PG_PAYLOAD_TRANSACTION ? m.u.transaction : NULL;
  bool pays = tx && tx->has_indexation && tx->indexation.index_len == index_len &&
              memcmp(tx->indexation.index, index, index_len) == 0;
  bool out_ok = false;
  for (size_t i = 0; pays && !out_ok && i < tx->outputs_count; i++)
    out_ok = memcmp(tx->outputs[i].address, to, 32) == 0 &&
             (amount == 0 || tx->outputs[i].amount == amount);
  if (pays && out_ok && !*mine) rc = walked_addresses(w, mine, nmine, d);
  for (size_t i = 0; rc == PG_OK && pays && out_ok && !*match && i < tx->unlocks_count; i++) {
    if (tx->unlocks[i].type != 0) continue; /* references point at signature blocks */
    uint8_t signer[32];
    pg_blake2b256(tx->unlocks[i].public_key, 32, signer);
    for (size_t k = 0; !*match && k < *nmine; k++) *match = memcmp((*mine)[k], signer, 32) == 0;
  }
  if (rc == PG_OK && *match && adopt) adopt_pending(w, msg_id, &m);
  pg_message_clear(&m);
  pg_buf_free(&raw);
  return rc;
}

int pg_wallet_find_transfer(pg_wallet *w, const uint8_t *index, size_t index_len,
                            const uint8_t to[32], uint64_t amount, uint8_t msg_id[32],
                            bool *found, pg_diag *d) {
  *found = false;
  if (!index || index_len < 1 || index_len > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "payment reference index must be 1..64 bytes");
  if (!to) return pg_fail(d, PG_ERR_INVALID, "no receiving address given");
  enum { MAX_IDS = 1000 }; /* a node's maxResults (Hornet's and ours) */
  uint8_t(*ids)[PG_ID_LEN] = malloc(MAX_IDS * PG_ID_LEN);
  if (!ids) return PG_ERR_NOMEM;
  uint8_t(*mine)[32] = NULL;
  size_t nmine = 0, count = 0, total = 0;
  bool have_pending = false;
  uint8_t pending_id[32];
  int rc = pg_client_find_index(w->client, index, index_len, ids, MAX_IDS, &count, &total, d);
  for (size_t i = 0; rc == PG_OK && i < count; i++) {
    pg_msg_meta meta;
    bool match = false;
    rc = pg_client_get_meta(w->client, ids[i], &meta, d);
    if (rc) break;
    bool referenced = meta.referenced_by != 0;
    if (referenced && meta.inclusion != PG_INCL_INCLUDED) continue; /* conflicted (or no tx) */
    if (!referenced && have_pending) continue; /* one pending carrier is enough */
    rc = is_our_transfer(w, ids[i], index, index_len, to, amount, !referenced, &mine, &nmine,
                         &match, d);
    if (rc || !match) continue;
    if (referenced) { /* confirmed: the best answer */
      *found = true;
      if (msg_id) memcpy(msg_id, ids[i], 32);
      break;
    }
    have_pending = true;
    memcpy(pending_id, ids[i], 32);
  }
  if (rc == PG_OK && !*found && have_pending) {
    *found = true;
    if (msg_id) memcpy(msg_id, pending_id, 32);
  }
  free(mine);
  free(ids);
  return rc;
}
