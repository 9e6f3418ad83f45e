/* gather.c — the facts: what the Tangle says, read through a pg_client.
 * Channels with pg_mam_fetch_all_many (many at once, breadth first),
 * transfers by their indexation reference
 * and message metadata (inclusion = booked by the ledger). Nothing here
 * judges; compare.c does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tls/tls.h"

#define MAX_UNDER_INDEX 1000 /* a Chrysalis node lists at most 1000 ids */
/* About how many channel messages read_members holds at once (about 600
 * bytes each with their text: some 150 MB at most): a day of slots reads 256
 * channels together, a year 7. */
#define CHANNEL_MESSAGES_HELD (1u << 18)

typedef struct caps {
  size_t aliases, readings, requests, payments, transfers, received;
} caps;

static void progress(const pg_audit_gather_opts *o, const char *phase, size_t done, size_t total) {
  if (o && o->progress) o->progress(o->progress_ctx, phase, done, total);
}

/* One channel message as the grid protocol has it. 1 = not a grid message
 * (counted as a problem by the caller), 0 = parsed, < 0 = out of memory. */
static int decode(const pg_mam_fetched *m, pg_grid_msg *out, pg_diag *d) {
  char *text = NULL;
  size_t len = 0;
  int rc = pg_mam_trytes_to_text(m->message, m->message_len, &text, &len);
  if (rc == PG_ERR_NOMEM) return rc;
  if (!rc) rc = pg_grid_msg_parse(text, len, out, d);
  free(text);
  return rc == PG_ERR_NOMEM ? rc : rc ? 1 : 0;
}

static int add_reading(pg_audit_facts *f, caps *cp, const char *member, const pg_mam_fetched *m,
                       const pg_grid_msg *g) {
  pg_audit_reading *r = pg_audit_push(&f->readings, &f->n_readings, &cp->readings, sizeof *r);
  if (!r) return PG_ERR_NOMEM;
  snprintf(r->member, sizeof r->member, "%s", member);
  pg_hex_encode(m->message_id, 32, r->msg_id);
  for (size_t i = 0; i < m->n_other_ids; i++) {
    pg_audit_alias *a = pg_audit_push(&f->aliases, &f->n_aliases, &cp->aliases, sizeof *a);
    if (!a) return PG_ERR_NOMEM;
    pg_hex_encode(m->other_ids[i], 32, a->alias);
    pg_hex_encode(m->message_id, 32, a->canonical);
  }
  if (g->command == PG_GRID_CMD_OUTPUT) {
    const pg_grid_output *o = &g->u.output;
    r->kind = PG_GRID_ENTITY_PRODUCER, r->slot = o->slot, r->wh = o->output_wh;
    r->has_price = o->has_ask, r->price = o->ask_per_kwh;
    snprintf(r->address, sizeof r->address, "%s", o->payment_address);
  } else {
    const pg_grid_usage *u = &g->u.usage;
    r->kind = PG_GRID_ENTITY_CONSUMER, r->slot = u->slot, r->wh = u->usage_wh;
    r->has_price = u->has_bid, r->price = u->bid_per_kwh;
  }
  return PG_OK;
}

static int add_request(pg_audit_facts *f, caps *cp, const char *member, const pg_mam_fetched *m,
                       const pg_grid_payment_request *p) {
  pg_audit_request *q = pg_audit_push(&f->requests, &f->n_requests, &cp->requests, sizeof *q);
  if (!q) return PG_ERR_NOMEM;
  snprintf(q->member, sizeof q->member, "%s", member);
  q->slot = p->slot, q->owed = p->owed, q->usage_wh = p->usage_wh;
  snprintf(q->request_id, sizeof q->request_id, "%s", p->request_id);
  snprintf(q->address, sizeof q->address, "%s", p->payment_address);
  snprintf(q->reference, sizeof q->reference, "%s", p->reference);
  pg_hex_encode(m->message_id, 32, q->msg_id);
  return PG_OK;
}

/* The channel's first message must bind it to member (docs/SECURITY.md
 * "Channel binding"): a hello naming member, with a member certificate of
 * member's id and role whose key signed the binding of this root and side
 * key; with a trust, that certificate must be the community CA's at the
 * binding's time. Else a problem naming why. */
static int check_binding(const char *member, pg_grid_entity role, const pg_audit_channel *ch,
                         const pg_mam_fetched *first, pg_tls_trust *trust, pg_audit_facts *f) {
  pg_grid_msg g;
  pg_diag d = {{0}};
  char why[240] = "";
  pg_member m;
  int x = first ? decode(first, &g, &d) : 1;
  if (x < 0) return x;
  const pg_grid_hello *h = &g.u.hello;
  pg_grid_channel gc;
  snprintf(gc.root, sizeof gc.root, "%s", ch->root);
  snprintf(gc.side_key, sizeof gc.side_key, "%s", ch->side_key);
  pg_buf msg;
  pg_buf_init(&msg, 512);
  if (x || g.command != PG_GRID_CMD_HELLO) snprintf(why, sizeof why, "its first message is no hello");
  else if (strcmp(h->registration_id, member) != 0)
    snprintf(why, sizeof why, "its hello names '%s'", h->registration_id);
  else if (!h->cert_len) snprintf(why, sizeof why, "its hello carries no certificate");
  else if (pg_member_from_cert(h->cert, h->cert_len, &m, &d) != PG_OK)
    snprintf(why, sizeof why, "its hello's certificate: %.180s", d.msg);
  else if (strcmp(m.id, member) != 0 ||
           m.role != (role == PG_GRID_ENTITY_PRODUCER   ? PG_ROLE_PRODUCER
                      : role == PG_GRID_ENTITY_CONSUMER ? PG_ROLE_CONSUMER
                                                        : PG_ROLE_SOURCE))
    snprintf(why, sizeof why, "its certificate is of %s (%s)", m.id, pg_role_name(m.role));
  else if (pg_grid_binding_bytes(member, &gc, h->time, &msg, &d) != PG_OK ||
           pg_tls_sig_verify(h->cert, h->cert_len, msg.data, msg.len, h->signature.sig,
                             h->signature.sig_len, &d) != PG_OK)
    snprintf(why, sizeof why, "the binding signature: %.180s", d.msg);
  else if (trust) {
    pg_der der = {.data = h->cert, .len = h->cert_len};
    if (pg_tls_trust_verify(trust, &der, 1, (int64_t)(h->time / 1000), &m, &d) != PG_OK)
      snprintf(why, sizeof why, "its certificate: %.180s", d.msg);
  }
  pg_buf_free(&msg);
  if (!why[0]) return PG_OK;
  return pg_audit_facts_problem(f, "the channel %.12s… of %s is not bound to %s: %s", ch->root,
                                member, member, why);
}

/* One channel to read: whose (the member and its index in the list the
 * progress counts), which, and as what (return: the grid's return channel
 * of a consumer). */
typedef struct chan_job {
  const pg_audit_member *m;
  size_t member;
  const pg_audit_channel *ch;
  bool is_return;
  pg_tls_trust *trust;
} chan_job;

/* Takes the fetched channel r of job j into f (its binding checked first,
 * unless a return channel). */
static int take_channel(const chan_job *j, const pg_mam_fetch_req *r, pg_audit_facts *f,
                        caps *cp) {
  const char *member = j->m->id;
  pg_grid_entity role = j->m->role;
  if (r->rc == PG_ERR_NOMEM) return r->rc;
  if (r->rc)
    return pg_audit_facts_problem(f, "%s channel %.12s… of %s cannot be read: %s",
                                  j->is_return ? "return" : "the", j->ch->root, member,
                                  r->diag.msg);
  const pg_mam_fetched *list = r->out;
  int rc = j->is_return ? PG_OK
                        : check_binding(member, role, j->ch, r->n ? &list[0] : NULL, j->trust, f);
  for (size_t i = 0; !rc && i < r->n; i++) {
    pg_grid_msg g;
    pg_diag md = {{0}};
    int x = decode(&list[i], &g, &md);
    f->messages++;
    if (x < 0) rc = x;
    else if (x == 1)
      rc = pg_audit_facts_problem(f, "message %d of %s's %schannel %.12s… is not a grid message: %s",
                                  (int)i + 1, member, j->is_return ? "return " : "", j->ch->root,
                                  md.msg);
    else if (!j->is_return &&
             ((role == PG_GRID_ENTITY_PRODUCER && g.command == PG_GRID_CMD_OUTPUT) ||
              (role == PG_GRID_ENTITY_CONSUMER && g.command == PG_GRID_CMD_USAGE)))
      rc = add_reading(f, cp, member, &list[i], &g);
    else if (j->is_return && g.command == PG_GRID_CMD_PAYMENT_REQUEST)
      rc = add_request(f, cp, member, &list[i], &g.u.payment_request);
  }
  return rc;
}

/* Reads the channels of jobs[0..n) in groups of `group`, each group's
 * channels together, breadth first (pg_mam_fetch_all_many: over HTTP a
 * few requests a tree step, not two a message), and takes them in order. */
static int read_jobs(pg_client *c, const chan_job *jobs, size_t n, size_t group,
                     const pg_audit_gather_opts *o, size_t members, pg_audit_facts *f, caps *cp) {
  pg_mam_fetch_req *r = calloc(group ? group : 1, sizeof *r);
  if (!r) return PG_ERR_NOMEM;
  int rc = PG_OK;
  for (size_t at = 0; !rc && at < n; at += group) {
    size_t k = n - at < group ? n - at : group;
    for (size_t i = 0; i < k; i++) {
      const pg_audit_channel *ch = jobs[at + i].ch;
      r[i] = (pg_mam_fetch_req){.root = ch->root, .mode = PG_MAM_RESTRICTED,
                                .side_key = ch->side_key, .side_key_len = strlen(ch->side_key)};
    }
    if (pg_mam_fetch_all_many(c, r, k, NULL) != PG_OK) {
      /* each channel's failure is in its rc: a problem of the facts */
    }
    for (size_t i = 0; i < k; i++) {
      if (!rc && (at + i == 0 || jobs[at + i].member != jobs[at + i - 1].member))
        progress(o, "channels", jobs[at + i].member, members);
      if (!rc) rc = take_channel(&jobs[at + i], &r[i], f, cp);
      pg_mam_fetched_free_all(r[i].out, r[i].n);
    }
  }
  free(r);
  return rc;
}

/* The channels of members[0..n) in order, each member's own and then its
 * return channel; *out owned. */
static int list_jobs(const pg_audit_member *members, size_t n, pg_tls_trust *trust,
                     chan_job **out, size_t *count) {
  size_t total = 0, k = 0;
  for (size_t i = 0; i < n; i++) total += members[i].n_channels + members[i].has_return;
  chan_job *jobs = calloc(total ? total : 1, sizeof *jobs);
  if (!jobs) return PG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    const pg_audit_member *m = &members[i];
    for (size_t j = 0; j < m->n_channels; j++)
      jobs[k++] = (chan_job){m, i, &m->channels[j], false, trust};
    if (m->has_return) jobs[k++] = (chan_job){m, i, &m->ret, true, NULL};
  }
  *out = jobs;
  *count = total;
  return PG_OK;
}

/* Every channel of members[0..n) (see read_jobs). slots: how many slots
 * the channels hold, about: a group's messages are held at once, so a
 * long history reads fewer channels together. */
static int read_members(pg_client *c, const pg_audit_member *members, size_t n, size_t slots,
                        const pg_audit_gather_opts *o, pg_audit_facts *f, caps *cp) {
  chan_job *jobs = NULL;
  size_t count = 0;
  int rc = list_jobs(members, n, o ? o->trust : NULL, &jobs, &count);
  size_t group = (CHANNEL_MESSAGES_HELD / (slots + 1));
  group = group < 1 ? 1 : group > PG_FIND_MAX_KEYS ? PG_FIND_MAX_KEYS : group;
  if (!rc) rc = read_jobs(c, jobs, count, group, o, n, f, cp);
  free(jobs);
  progress(o, "channels", n, n);
  return rc;
}

/* The sum of the outputs to `to` of included transactions among fd's
 * messages (each transaction once; a message's bytes and metadata from fd
 * when it has them, else GETs). */
static int paid_to(pg_client *c, const pg_client_found *fd, const uint8_t to[32], int64_t *sum,
                   size_t *transfers) {
  size_t n = fd->count;
  uint8_t(*seen)[32] = calloc(n + 1, sizeof *seen);
  if (!seen) return PG_ERR_NOMEM;
  size_t nseen = 0;
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  *sum = 0, *transfers = 0;
  for (size_t i = 0; i < n; i++) {
    pg_msg_meta meta;
    pg_message m;
    pg_buf_reset(&raw);
    bool sent = fd->raw && fd->raw[i];
    if (fd->meta)
      meta = fd->meta[i];
    else if (pg_client_get_meta(c, fd->ids[i], &meta, NULL) != PG_OK)
      continue;
    if (meta.inclusion != PG_INCL_INCLUDED ||
        (!sent && pg_client_get_raw(c, fd->ids[i], &raw, NULL) != PG_OK) ||
        pg_message_parse(sent ? fd->raw[i] : raw.data, sent ? fd->raw_len[i] : raw.len, &m,
                         NULL) != PG_OK)
      continue;
    if (m.payload_type == PG_PAYLOAD_TRANSACTION) {
      uint8_t txid[32];
      pg_transaction_id(m.payload, m.payload_len, txid);
      bool dup = false;
      for (size_t j = 0; j < nseen && !dup; j++) dup = memcmp(seen[j], txid, 32) == 0;
      if (!dup) {
        memcpy(seen[nseen++], txid, 32);
        int64_t s = 0;
        for (uint16_t o = 0; o < m.u.transaction->outputs_count; o++)
          if (memcmp(m.u.transaction->outputs[o].address, to, 32) == 0)
            s += (int64_t)m.u.transaction->outputs[o].amount;
        if (s > 0) *sum += s, (*transfers)++;
      }
    }
    pg_message_clear(&m);
  }
  pg_buf_free(&raw);
  free(seen);
  return PG_OK;
}

/* What the ledger shows paid to `to` under reference ref, found as fd
 * (references are unique per bill; a repeated one is looked up again,
 * compare.c uses the first). */
static int take_payment(pg_client *c, const char *ref, const pg_client_found *fd,
                        const uint8_t to[32], pg_audit_facts *f, caps *cp) {
  int rc = PG_OK;
  if (fd->rc)
    rc = pg_audit_facts_problem(f, "the transfers under reference '%s' cannot be looked up: %s", ref,
                                fd->d.msg);
  else if (fd->total > fd->count)
    rc = pg_audit_facts_problem(f, "reference '%s' holds %zu messages; only the first %zu were read",
                                ref, fd->total, fd->count);
  pg_audit_payment *p = NULL;
  if (!rc) p = pg_audit_push(&f->payments, &f->n_payments, &cp->payments, sizeof *p);
  if (!rc && !p) rc = PG_ERR_NOMEM;
  if (p) {
    snprintf(p->reference, sizeof p->reference, "%s", ref);
    rc = paid_to(c, fd, to, &p->paid, &p->transfers);
  }
  return rc;
}

/* take_payment for refs[0..n) in order, their references looked up 256 at
 * a time (pg_client_find_many: over HTTP one request, with the messages'
 * bytes). slot[i]: the slot of refs[i] for the progress (NULL: none). */
static int lookup_payments(pg_client *c, const char *const *refs, const size_t *slot, size_t n,
                           const uint8_t to[32], const pg_audit_gather_opts *o, size_t slots,
                           pg_audit_facts *f, caps *cp) {
  pg_client_found *fd = calloc(PG_FIND_MAX_KEYS, sizeof *fd);
  int rc = fd ? PG_OK : PG_ERR_NOMEM;
  for (size_t at = 0; !rc && at < n; at += PG_FIND_MAX_KEYS) {
    size_t k = n - at < PG_FIND_MAX_KEYS ? n - at : PG_FIND_MAX_KEYS;
    if (slot) progress(o, "payments", slot[at], slots);
    for (size_t i = 0; i < k; i++)
      fd[i] = (pg_client_found){.index = (const uint8_t *)refs[at + i],
                                .index_len = strlen(refs[at + i]), .max = MAX_UNDER_INDEX,
                                .want_meta = true};
    if ((rc = pg_client_find_many(c, fd, k, NULL)) != PG_OK) break;
    for (size_t i = 0; i < k; i++) {
      if (!rc) rc = take_payment(c, refs[at + i], &fd[i], to, f, cp);
      pg_client_found_clear(&fd[i]);
    }
  }
  free(fd);
  return rc;
}

/* Every bill's payment of the export, in slot order. */
static int lookup_bills(pg_client *c, const pg_audit_export *e, const uint8_t to[32],
                        const pg_audit_gather_opts *o, pg_audit_facts *f, caps *cp) {
  size_t n = 0, k = 0;
  for (size_t i = 0; i < e->n_slots; i++) n += e->slots[i].n_bills;
  const char **refs = calloc(n + 1, sizeof *refs);
  size_t *slot = calloc(n + 1, sizeof *slot);
  int rc = refs && slot ? PG_OK : PG_ERR_NOMEM;
  for (size_t i = 0; !rc && i < e->n_slots; i++)
    for (size_t j = 0; j < e->slots[i].n_bills; j++, k++)
      refs[k] = e->slots[i].bills[j].reference, slot[k] = i;
  if (!rc) rc = lookup_payments(c, refs, slot, n, to, o, e->n_slots, f, cp);
  free(refs), free(slot);
  return rc;
}

/* A payout batch's message: found, included, its outputs. */
static int read_batch(pg_client *c, const pg_audit_batch *b, pg_audit_facts *f, caps *cp) {
  pg_audit_transfer *t = pg_audit_push(&f->transfers, &f->n_transfers, &cp->transfers, sizeof *t);
  if (!t) return PG_ERR_NOMEM;
  t->batch_id = b->id;
  uint8_t id[32];
  if (pg_hex_decode_exact(b->msg_id, id, 32) != PG_OK) return PG_OK;
  pg_msg_meta meta;
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  pg_message m;
  if (pg_client_get_meta(c, id, &meta, NULL) == PG_OK &&
      pg_client_get_raw(c, id, &raw, NULL) == PG_OK &&
      pg_message_parse(raw.data, raw.len, &m, NULL) == PG_OK) {
    t->found = true;
    t->included = meta.inclusion == PG_INCL_INCLUDED && m.payload_type == PG_PAYLOAD_TRANSACTION;
    if (m.payload_type == PG_PAYLOAD_TRANSACTION) {
      const pg_transaction *tx = m.u.transaction;
      for (uint16_t o = 0; o < tx->outputs_count && t->n_outputs < PG_AUDIT_MAX_BATCH_OUTPUTS; o++) {
        memcpy(t->outputs[t->n_outputs].address, tx->outputs[o].address, 32);
        t->outputs[t->n_outputs++].amount = tx->outputs[o].amount;
      }
    }
    pg_message_clear(&m);
  }
  pg_buf_free(&raw);
  return PG_OK;
}

int pg_audit_gather(pg_client *c, const pg_audit_export *e, const pg_audit_gather_opts *o,
                    pg_audit_facts *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  caps cp = {0};
  pg_node_info info;
  int rc = pg_client_info(c, &info, d);
  if (!rc) rc = read_members(c, e->members, e->n_members, e->n_slots, o, out, &cp);
  if (!rc && e->record_root[0])
    rc = pg_audit_read_record(c, e->record_root, e->members, e->n_members, out, d);
  uint8_t grid[32] = {0};
  snprintf(out->grid_address, sizeof out->grid_address, "%s",
           e->grid_address[0] ? e->grid_address : out->n_requests ? out->requests[0].address : "");
  if (!rc && out->grid_address[0] && pg_audit_address_bytes(out->grid_address, grid) != PG_OK)
    rc = pg_fail(d, PG_ERR_INVALID, "the grid's address %s does not decode", out->grid_address);
  if (!rc) rc = lookup_bills(c, e, grid, o, out, &cp);
  for (size_t i = 0; !rc && i < e->n_batches; i++)
    if (e->batches[i].msg_id[0]) rc = read_batch(c, &e->batches[i], out, &cp);
  progress(o, "payments", e->n_slots, e->n_slots);
  if (rc == PG_ERR_NOMEM) rc = pg_fail(d, rc, "out of memory");
  if (rc) pg_audit_facts_free(out);
  return rc;
}

/* ---- a member's own facts ---- */

/* Transfers to the member's address whose reference is a grid payout. */
static int gather_received(pg_client *c, const char *address, pg_audit_facts *f, caps *cp) {
  uint8_t a[32];
  if (pg_audit_address_bytes(address, a) != PG_OK)
    return pg_audit_facts_problem(f, "address %s does not decode", address);
  enum { MAXO = 4096 };
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = malloc(MAXO * sizeof *ids);
  if (!ids) return PG_ERR_NOMEM;
  size_t n = 0, total = 0;
  pg_diag cd = {{0}};
  int rc = PG_OK;
  if (pg_client_address_outputs(c, a, true, ids, MAXO, &n, &total, &cd) != PG_OK)
    rc = pg_audit_facts_problem(f, "the outputs of %s cannot be read: %s", address, cd.msg);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  for (size_t i = 0; !rc && i < n; i++) {
    pg_output_info oi;
    pg_message m;
    pg_buf_reset(&raw);
    if (pg_client_output(c, ids[i], &oi, NULL) != PG_OK ||
        pg_client_get_raw(c, oi.message_id, &raw, NULL) != PG_OK ||
        pg_message_parse(raw.data, raw.len, &m, NULL) != PG_OK)
      continue;
    if (m.payload_type == PG_PAYLOAD_TRANSACTION && m.u.transaction->has_indexation) {
      const pg_indexation *ix = &m.u.transaction->indexation;
      pg_audit_received *x = pg_audit_push(&f->received, &f->n_received, &cp->received, sizeof *x);
      if (!x) rc = PG_ERR_NOMEM;
      else {
        size_t l = ix->index_len < PG_GRID_MAX_REFERENCE ? ix->index_len : PG_GRID_MAX_REFERENCE;
        memcpy(x->reference, ix->index, l);
        x->reference[l] = '\0';
        x->amount = oi.amount;
        pg_hex_encode(oi.message_id, 32, x->msg_id);
      }
    }
    pg_message_clear(&m);
  }
  pg_buf_free(&raw);
  free(ids);
  return rc;
}

/* The payment of each payment request of f (a member's return channel), in
 * order: the references of consecutive requests to one address looked up
 * together (lookup_payments); a request whose address does not decode
 * gets no payment looked up (as before: the comparison finds it unpaid). */
static int lookup_requests(pg_client *c, const pg_audit_gather_opts *o, pg_audit_facts *f,
                           caps *cp) {
  size_t n = f->n_requests;
  const char **refs = calloc(n + 1, sizeof *refs);
  if (!refs) return PG_ERR_NOMEM;
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < n;) {
    uint8_t grid[32];
    const char *addr = f->requests[i].address;
    size_t k = 0, j = i;
    for (; j < n && strcmp(f->requests[j].address, addr) == 0; j++)
      refs[k++] = f->requests[j].reference; /* f->requests stays put: payments grow */
    if (pg_audit_address_bytes(addr, grid) == PG_OK)
      rc = lookup_payments(c, refs, NULL, k, grid, o, 0, f, cp);
    i = j;
  }
  free(refs);
  return rc;
}

int pg_audit_member_gather(pg_client *c, const pg_audit_keys *k, const pg_audit_gather_opts *o,
                           pg_audit_facts *out, pg_diag *d) {
  memset(out, 0, sizeof *out);
  caps cp = {0};
  pg_node_info info;
  int rc = pg_client_info(c, &info, d);
  const pg_audit_member *me = &k->me;
  if (!rc) rc = read_members(c, me, 1, 0, o, out, &cp);
  if (!rc && k->record_root[0]) rc = pg_audit_read_record(c, k->record_root, me, 1, out, d);
  if (!rc) rc = lookup_requests(c, o, out, &cp);
  if (!rc && me->role == PG_GRID_ENTITY_PRODUCER && me->n_addresses)
    rc = gather_received(c, me->addresses[0], out, &cp);
  if (rc == PG_ERR_NOMEM) rc = pg_fail(d, rc, "out of memory");
  if (rc) pg_audit_facts_free(out);
  return rc;
}
