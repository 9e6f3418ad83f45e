/* Unit tests for the HTTP node client (src/client/http.c) against a canned
 * HTTP/1.1 server run in a thread of this test: TIP-13 answers, node errors,
 * broken answers, size cap, timeout, keep-alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/ledger/outputs.h"
#include "p2pgrid/tangle/batch.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"

#define ASSERT_DIAG(d, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((d).msg, (needle))) fail_msg("diag '%s' lacks '%s'", (d).msg, (needle));          \
  } while (0)

/* TIP-6 example message (CHRYSALIS.md 1.1) and its id. */
static const char *P1 = "210fc7bb818639ac48a4c6afa2f1581a8b9525e20fda68927f2b2ff836f73578";
static const char *P2 = "db0fa54c29f7fd928d92ca43f193dee47f591549f597a811c8fa67ab031ebd9c";
static const char *RAW_HEX =
    "000000000000000002"
    "210fc7bb818639ac48a4c6afa2f1581a8b9525e20fda68927f2b2ff836f73578"
    "db0fa54c29f7fd928d92ca43f193dee47f591549f597a811c8fa67ab031ebd9c"
    "1900000002000000040049" "4f54410b00000068656c6c6f20776f726c64ce6d000000000000";
static const char *MSG_ID = "e4a85f984095b4feb1f9e1c03f5baf2f7f5b28920a99fefb539bc5570567cddb";
static const char *UNREF_ID = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *CONFL_ID = "2222222222222222222222222222222222222222222222222222222222222222";
static const char *BROKEN_ID = "3333333333333333333333333333333333333333333333333333333333333333";
static const char *UNKNOWN_ID = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/* ---- canned server ---- */

#define MAX_CONNS 8
#define CONN_BUF 131072
#define LOG_MAX 256  /* requests whose "METHOD path" the node keeps */
#define BODY_LOG 16  /* request bodies it keeps of each batched read route */
#define FIND_PATH "/api/plugins/data/find"
#define FIND "POST " FIND_PATH

/* POST /api/plugins/data/find: FIND_NONE 404 (no route); FIND_GOOD one real
 * message a key; FIND_LIE the second item's bytes do not hash to its id;
 * FIND_PARTIAL answers only the first key, once (then FIND_GOOD); FIND_TRAILING
 * a byte after the last item; FIND_COUNT0 no items; FIND_NORAW the first
 * item's message without its bytes; FIND_STATUS an error with find_status. */
enum { FIND_NONE, FIND_GOOD, FIND_LIE, FIND_PARTIAL, FIND_TRAILING, FIND_COUNT0, FIND_NORAW,
       FIND_STATUS };

#define OUT_POSTS_MAX 64 /* outputs requests it answers before a 500 (a client in a loop) */
#define REG_MAX 64 /* messages it serves for GET messages/{id}/raw after a GET outputs/{id} */
#define OUTPUTS_PATH "/api/plugins/data/outputs"
#define OUTPUTS "POST " OUTPUTS_PATH

/* POST /api/plugins/data/outputs: OUT_NONE 404 (no route); OUT_GOOD each
 * id's canned_output, as many as the request's budget and outputs_cap (0:
 * no cap) allow; OUT_LIE the second item's bytes do not hash to its message
 * id; OUT_TRUNC the answer's last byte cut; OUT_FLAGS the other raw flag;
 * OUT_TRAILING a byte after the last item; OUT_GENRAW bytes sent with a
 * genesis output; OUT_STATUS an error with outputs_status. After one answer
 * the mode becomes outputs_next, unless that is -1. */
enum { OUT_NONE, OUT_GOOD, OUT_LIE, OUT_TRUNC, OUT_FLAGS, OUT_TRAILING, OUT_GENRAW, OUT_STATUS };

typedef struct conn {
  int fd;
  size_t len;
  char buf[CONN_BUF];
} conn;

/* The first BODY_LOG request bodies of one route (under the server's mu;
 * never freed before the teardown). */
typedef struct body_log {
  int n;
  char *body[BODY_LOG];
  size_t len[BODY_LOG];
} body_log;

static void body_keep(body_log *l, const char *body, size_t len) {
  if (l->n < BODY_LOG && (l->body[l->n] = malloc(len ? len : 1))) {
    memcpy(l->body[l->n], body, len);
    l->len[l->n++] = len;
  }
}

typedef struct server {
  int lfd;
  uint16_t port;
  pthread_t thread;
  atomic_bool stop;
  atomic_int accepted; /* connections accepted so far */
  atomic_int requests;
  atomic_int health_status;
  atomic_int batch_mode; /* POST /api/plugins/data/batch: 0 404, 1 answers, 2 one answer short */
  atomic_int find_mode;   /* FIND_* above */
  atomic_int find_status; /* FIND_STATUS's HTTP status */
  atomic_int outputs_mode;   /* OUT_* above */
  atomic_int outputs_next;   /* the mode after the next answer; -1: stays */
  atomic_int outputs_status; /* OUT_STATUS's HTTP status */
  atomic_int outputs_cap;    /* items an outputs answer holds at most; 0: as the budget allows */
  atomic_int body_max;       /* > 0: a find or outputs POST over this many bytes gets 413 */
  atomic_int outputs_posts;  /* outputs requests so far */
  /* the server thread's own: the messages of the outputs it served by GET,
   * which it then serves by GET messages/{id}/raw (a ring) */
  int nreg;
  uint8_t reg_msg[REG_MAX][PG_ID_LEN];
  uint8_t reg_out[REG_MAX][PG_OUTPUT_ID_LEN];
  pthread_mutex_t mu; /* guards the last request and the logs below */
  int nlog;                     /* requests so far (the first LOG_MAX in log) */
  char log[LOG_MAX][528];       /* "METHOD path" */
  body_log finds, outs;          /* the bodies of the find and outputs requests */
  char last_method[8];
  char last_path[512];
  char last_ctype[128];
  char *last_body;
  size_t last_body_len;
  conn conns[MAX_CONNS];
} server;

static server *g_srv;

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    c += w;
    n -= (size_t)w;
  }
}

static void reply(int fd, int status, const char *ctype, const void *body, size_t len) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: keep-alive\r\n\r\n",
                   status, ctype, len);
  /* one send: head and body in separate small writes would meet Nagle and
   * delayed ACKs (40 ms per request) */
  char *all = malloc((size_t)n + len);
  if (!all) return;
  memcpy(all, head, (size_t)n);
  if (len) memcpy(all + n, body, len);
  write_all(fd, all, (size_t)n + len);
  free(all);
}

static void reply_json(int fd, int status, const char *body) {
  reply(fd, status, "application/json", body, strlen(body));
}

static void reply_error(int fd, int status, const char *msg) {
  char b[1024];
  snprintf(b, sizeof b, "{\"error\":{\"code\":\"%d\",\"message\":\"%s\"}}", status, msg);
  reply_json(fd, status, b);
}

static bool path_is(const char *path, const char *fmt, const char *id) {
  char want[512];
  snprintf(want, sizeof want, fmt, id);
  return strcmp(path, want) == 0;
}

/* The canned node. */
/* A batch's answer: MSG_ID for each item, a 400 for an item whose data is
 * "bad" and a 503 for one that follows it; in batch_mode 2 one answer short. */
static void reply_batch(server *s, int fd, const char *body, size_t blen) {
  static pg_batch_item it[PG_BATCH_MAX_ITEMS];
  static char b[PG_BATCH_MAX_ITEMS * 96 + 64];
  size_t n = 0, len = 0;
  pg_diag d = {{0}};
  if (pg_batch_parse((const uint8_t *)body, blen, it, &n, &d)) {
    reply_error(fd, 400, d.msg);
    return;
  }
  if (atomic_load(&s->batch_mode) == 2) n--;
  len += (size_t)snprintf(b + len, sizeof b - len, "{\"data\":{\"results\":[");
  bool bad = false;
  for (size_t i = 0; i < n; i++) {
    if (it[i].follows && bad)
      len += (size_t)snprintf(b + len, sizeof b - len,
                              ",{\"error\":{\"code\":\"503\",\"message\":\"not stored\"}}");
    if (it[i].follows && bad) continue;
    bad = it[i].data_len == 3 && memcmp(it[i].data, "bad", 3) == 0;
    if (bad)
      len += (size_t)snprintf(b + len, sizeof b - len,
                              "%s{\"error\":{\"code\":\"400\",\"message\":\"bad item\"}}",
                              i ? "," : "");
    else
      len += (size_t)snprintf(b + len, sizeof b - len, "%s{\"messageId\":\"%s\"}", i ? "," : "",
                              MSG_ID);
  }
  snprintf(b + len, sizeof b - len, "]}}");
  reply_json(fd, 200, b);
}

/* A real message under index (parents P1 and P2, data "hi") appended to
 * out, its id into id. Used by the canned node and by the tests. */
static int msg_for(const uint8_t *index, size_t index_len, pg_buf *out, uint8_t id[PG_ID_LEN]) {
  uint8_t parents[2 * PG_ID_LEN];
  pg_diag d = {{0}};
  pg_buf pl;
  pg_buf_init(&pl, PG_MSG_MAX_LEN);
  size_t start = out->len;
  int rc = pg_hex_decode_exact(P1, parents, PG_ID_LEN);
  if (rc == PG_OK) rc = pg_hex_decode_exact(P2, parents + PG_ID_LEN, PG_ID_LEN);
  if (rc == PG_OK) rc = pg_indexation_build(&pl, index, index_len, (const uint8_t *)"hi", 2, &d);
  if (rc == PG_OK) rc = pg_message_build(out, 0, parents, 2, pl.data, pl.len, 7, &d);
  if (rc == PG_OK) pg_message_id(out->data + start, out->len - start, id);
  pg_buf_free(&pl);
  return rc;
}

/* A find's answer in s->find_mode: one message (total 7) for each key; with
 * meta, each referenced by milestone 9 and included. */
static void reply_find(server *s, int fd, const char *body, size_t blen) {
  static pg_find_req r;
  pg_diag d = {{0}};
  int mode = atomic_load(&s->find_mode);
  if (mode == FIND_STATUS) {
    reply_error(fd, atomic_load(&s->find_status), "no finds here");
    return;
  }
  if (pg_find_req_parse((const uint8_t *)body, blen, &r, &d)) {
    reply_error(fd, 400, d.msg);
    return;
  }
  size_t n = mode == FIND_COUNT0 ? 0 : mode == FIND_PARTIAL ? 1 : r.count;
  if (mode == FIND_PARTIAL) atomic_store(&s->find_mode, FIND_GOOD);
  pg_buf out, m;
  pg_buf_init(&out, 4u << 20);
  pg_buf_init(&m, PG_MSG_MAX_LEN);
  pg_find_ans_begin(&out, r.meta);
  const pg_find_meta meta = {.referenced_by = 9, .inclusion = PG_INCL_INCLUDED};
  int rc = PG_OK;
  for (size_t i = 0; rc == PG_OK && i < n; i++) {
    uint8_t id[PG_ID_LEN];
    pg_buf_reset(&m);
    if ((rc = msg_for(r.keys[i].index, r.keys[i].index_len, &m, id))) break;
    if (mode == FIND_LIE && i == 1) m.data[m.len - 1] ^= 1; /* another nonce: another id */
    bool noraw = mode == FIND_NORAW && i == 0;
    pg_find_ans_item(&out, 7, 1);
    pg_find_ans_msg(&out, id, r.meta ? &meta : NULL, noraw ? NULL : m.data, noraw ? 0 : m.len);
  }
  if (mode == FIND_TRAILING) pg_buf_put_u8(&out, 0);
  if (rc == PG_OK) rc = pg_find_ans_end(&out, 0, n);
  if (rc)
    reply_error(fd, 500, "canned node: no answer");
  else
    reply(fd, 200, "application/octet-stream", out.data, out.len);
  pg_buf_free(&m);
  pg_buf_free(&out);
}

/* ---- the canned node's outputs ---- */

/* Output id n of kind: 'F' an output whose message the node has (spent
 * when n is odd), 'N' one whose message it has not got, 'G' a genesis
 * output (no message), anything else ('M') one it does not know. */
static void out_id(char kind, unsigned n, uint8_t id[PG_OUTPUT_ID_LEN]) {
  memset(id, 0x5a, PG_OUTPUT_ID_LEN);
  id[0] = (uint8_t)kind;
  id[1] = (uint8_t)(n & 0xff);
  id[2] = (uint8_t)(n >> 8);
  id[32] = (uint8_t)(n % 4); /* the output index, u16 LE */
  id[33] = 0;
}

/* The output the canned node keeps under id into *o and, with raw (may be
 * NULL), the bytes of its message appended (none when the node has not got
 * them): a real message (msg_for under the output id), so its bytes hash to
 * o->message_id. 1 found, 0 no such output, < 0 an error. Used by the node
 * and by the tests. */
static int canned_output(const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *o, pg_buf *raw) {
  memset(o, 0, sizeof *o);
  if (id[0] != 'F' && id[0] != 'N' && id[0] != 'G') return 0;
  unsigned n = id[1] | (unsigned)id[2] << 8;
  memcpy(o->output_id, id, PG_OUTPUT_ID_LEN);
  o->type = (uint8_t)(n / 2 % 2);
  o->amount = 1000 + n;
  memset(o->address, 0xa0 ^ (n & 0xff), 32);
  if (id[0] == 'G') return 1; /* zero message id, booked by milestone 0, unspent */
  o->booked_index = 10 + n;
  if (n % 2) {
    o->spent = true;
    o->spent_index = 20 + n;
    memset(o->spent_tx_id, 0x77, 32);
  }
  pg_buf m;
  pg_buf_init(&m, PG_MSG_MAX_LEN);
  int rc = msg_for(id, PG_OUTPUT_ID_LEN, &m, o->message_id);
  if (rc == PG_OK && raw && id[0] == 'F') {
    pg_buf_put(raw, m.data, m.len);
    rc = pg_buf_status(raw);
  }
  pg_buf_free(&m);
  return rc ? rc : 1;
}

/* The outputs answer in mode (OUT_*) to the request r. */
static void reply_outputs_to(server *s, int fd, int mode, const pg_outputs_req *r) {
  size_t cap = (size_t)atomic_load(&s->outputs_cap), n = 0;
  pg_buf out, m;
  pg_buf_init(&out, 8u << 20);
  pg_buf_init(&m, PG_MSG_MAX_LEN);
  pg_outputs_ans_begin(&out, mode == OUT_FLAGS ? !r->raw : r->raw);
  int rc = PG_OK;
  while (rc == PG_OK && n < r->count && (!cap || n < cap)) {
    pg_output_info o;
    pg_buf_reset(&m);
    int k = canned_output(r->ids[n], &o, r->raw ? &m : NULL);
    if (k < 0) {
      rc = k;
      break;
    }
    if (k == 0) {
      if (n && out.len + 1 > r->budget) break;
      pg_outputs_ans_missing(&out);
      n++;
      continue;
    }
    static const uint8_t zero[PG_ID_LEN];
    if (mode == OUT_GENRAW && memcmp(o.message_id, zero, PG_ID_LEN) == 0) pg_buf_put(&m, "xyz", 3);
    if (mode == OUT_LIE && n == 1 && m.len) m.data[m.len - 1] ^= 1; /* another nonce: another id */
    if (n && out.len + pg_outputs_item_len(r->raw, m.len) > r->budget) break;
    pg_outputs_ans_found(&out, r->raw, &o, m.data, m.len);
    n++;
  }
  if (mode == OUT_TRAILING) pg_buf_put_u8(&out, 0);
  if (rc == PG_OK) rc = pg_outputs_ans_end(&out, 0, n);
  if (rc == PG_OK && mode == OUT_TRUNC) out.len--;
  if (rc)
    reply_error(fd, 500, "canned node: no answer");
  else
    reply(fd, 200, "application/octet-stream", out.data, out.len);
  pg_buf_free(&m);
  pg_buf_free(&out);
}

/* POST /api/plugins/data/outputs. */
static void reply_outputs(server *s, int fd, const char *ctype, const char *body, size_t blen) {
  int mode = atomic_load(&s->outputs_mode);
  int next = atomic_exchange(&s->outputs_next, -1);
  if (next >= 0) atomic_store(&s->outputs_mode, next);
  pg_outputs_req r;
  pg_diag d = {{0}};
  if (atomic_fetch_add(&s->outputs_posts, 1) >= OUT_POSTS_MAX)
    reply_error(fd, 500, "canned node: too many outputs requests");
  else if (mode == OUT_STATUS)
    reply_error(fd, atomic_load(&s->outputs_status), "no outputs here");
  else if (strcmp(ctype, "application/octet-stream") != 0)
    reply_error(fd, 400, "canned node: not application/octet-stream");
  else if (pg_outputs_req_parse((const uint8_t *)body, blen, &r, &d))
    reply_error(fd, 400, d.msg);
  else
    reply_outputs_to(s, fd, mode, &r);
}

/* GET outputs/{id}: canned_output's fields as TIP-13's IOutputResponse
 * (pg_node_output_json); the node then serves the message's bytes. */
static void reply_output_get(server *s, int fd, const char *hex) {
  uint8_t id[PG_OUTPUT_ID_LEN];
  pg_output_info o;
  pg_buf m;
  pg_buf_init(&m, PG_MSG_MAX_LEN);
  int k = -1;
  if (strlen(hex) == 2 * PG_OUTPUT_ID_LEN && pg_hex_decode_exact(hex, id, PG_OUTPUT_ID_LEN) == PG_OK)
    k = canned_output(id, &o, &m);
  if (k == 1 && m.len) {
    memcpy(s->reg_msg[s->nreg % REG_MAX], o.message_id, PG_ID_LEN);
    memcpy(s->reg_out[s->nreg++ % REG_MAX], id, PG_OUTPUT_ID_LEN);
  }
  pg_buf_free(&m);
  if (k <= 0) {
    reply_error(fd, k == 0 ? 404 : 400, k == 0 ? "output not found" : "bad output id");
    return;
  }
  char mid[2 * PG_ID_LEN + 1], tx[2 * PG_ID_LEN + 1], addr[65], stx[65], spent[160] = "", b[1024];
  pg_hex_encode(o.message_id, PG_ID_LEN, mid);
  pg_hex_encode(id, 32, tx);
  pg_hex_encode(o.address, 32, addr);
  pg_hex_encode(o.spent_tx_id, 32, stx);
  if (o.spent)
    snprintf(spent, sizeof spent, "\"milestoneIndexSpent\":%u,\"transactionIdSpent\":\"%s\",",
             (unsigned)o.spent_index, stx);
  snprintf(b, sizeof b,
           "{\"data\":{\"messageId\":\"%s\",\"transactionId\":\"%s\",\"outputIndex\":%u,"
           "\"isSpent\":%s,%s\"output\":{\"type\":%u,\"address\":{\"type\":0,\"address\":\"%s\"},"
           "\"amount\":%llu},\"ledgerIndex\":40}}",
           mid, tx, (unsigned)(id[32] | id[33] << 8), o.spent ? "true" : "false", spent,
           (unsigned)o.type, addr, (unsigned long long)o.amount);
  reply_json(fd, 200, b);
}

/* GET messages/{id}/raw of a message reply_output_get served: its bytes. */
static bool reply_output_raw(server *s, int fd, const char *path) {
  const char *pre = "/api/v1/messages/";
  size_t pl = strlen(pre);
  uint8_t id[PG_ID_LEN];
  if (strncmp(path, pre, pl) != 0 || strlen(path) != pl + 2 * PG_ID_LEN + 4 ||
      strcmp(path + pl + 2 * PG_ID_LEN, "/raw") != 0 ||
      pg_hex_decode(path + pl, 2 * PG_ID_LEN, id, PG_ID_LEN, &(size_t){0}) != PG_OK)
    return false;
  int n = s->nreg < REG_MAX ? s->nreg : REG_MAX;
  for (int i = 0; i < n; i++) {
    if (memcmp(s->reg_msg[i], id, PG_ID_LEN) != 0) continue;
    pg_output_info o;
    pg_buf m;
    pg_buf_init(&m, PG_MSG_MAX_LEN);
    if (canned_output(s->reg_out[i], &o, &m) == 1)
      reply(fd, 200, "application/octet-stream", m.data, m.len);
    else
      reply_error(fd, 500, "canned node: lost the message");
    pg_buf_free(&m);
    return true;
  }
  return false;
}

/* The outputs routes; false when the request is not for them. */
static bool route_outputs(server *s, int fd, const char *method, const char *path,
                          const char *ctype, const char *body, size_t blen) {
  bool get = strcmp(method, "GET") == 0;
  if (!get && strcmp(method, "POST") == 0 && strcmp(path, OUTPUTS_PATH) == 0 &&
      atomic_load(&s->outputs_mode) != OUT_NONE)
    reply_outputs(s, fd, ctype, body, blen);
  else if (get && strncmp(path, "/api/v1/outputs/", 16) == 0)
    reply_output_get(s, fd, path + 16);
  else
    return get && reply_output_raw(s, fd, path);
  return true;
}

static void route(server *s, int fd, const char *method, const char *path, const char *ctype,
                  const char *body, size_t blen) {
  char b[4096];
  int bmax = atomic_load(&s->body_max);
  if (bmax > 0 && blen > (size_t)bmax && strcmp(method, "POST") == 0 &&
      (strcmp(path, FIND_PATH) == 0 || strcmp(path, OUTPUTS_PATH) == 0)) {
    reply_error(fd, 413, "request body too large (canned api.max_body)");
    return;
  }
  if (route_outputs(s, fd, method, path, ctype, body, blen)) return;
  bool get = strcmp(method, "GET") == 0;
  if (get && strcmp(path, "/health") == 0) {
    reply(fd, s->health_status, "text/plain", "", 0);
  } else if (get && strcmp(path, "/api/v1/info") == 0) {
    reply_json(fd, 200,
               "{\"data\":{\"name\":\"HORNET\",\"version\":\"1.0.0\",\"isHealthy\":true,"
               "\"networkId\":\"testnet7\",\"bech32HRP\":\"atoi\",\"minPoWScore\":4000,"
               "\"messagesPerSecond\":1.5,\"referencedMessagesPerSecond\":1.2,"
               "\"referencedRate\":80.5,\"latestMilestoneTimestamp\":1609950538,"
               "\"latestMilestoneIndex\":82847,\"confirmedMilestoneIndex\":82846,"
               "\"pruningIndex\":0,\"features\":[\"PoW\"]}}");
  } else if (get && strcmp(path, "/api/v1/tips") == 0) {
    snprintf(b, sizeof b, "{\"data\":{\"tipMessageIds\":[\"%s\",\"%s\"]}}", P1, P2);
    reply_json(fd, 200, b);
  } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/messages") == 0) {
    if (strcmp(ctype, "application/octet-stream") == 0) {
      if (blen == 110)
        reply_error(fd, 400, "invalid message: proof of work score 0.1 below 4000");
      else
        reply_error(fd, 415, "unsupported content type");
    } else if (blen > 0 && body[0] == '{' && strstr(body, "\"tooBig\"")) {
      reply_error(fd, 413, "request body too large");
    } else if (blen > 0 && strstr(body, "\"busy\"")) {
      reply_error(fd, 503, "no tips available");
    } else {
      snprintf(b, sizeof b, "{\"data\":{\"messageId\":\"%s\"}}", MSG_ID);
      reply_json(fd, 201, b);
    }
  } else if (get && path_is(path, "/api/v1/messages/%s", MSG_ID)) {
    snprintf(b, sizeof b,
             "{\"data\":{\"networkId\":\"0\",\"parentMessageIds\":[\"%s\",\"%s\"],"
             "\"payload\":{\"type\":2,\"index\":\"494f5441\",\"data\":\"68656c6c6f20776f726c64\"},"
             "\"nonce\":\"28110\"}}",
             P1, P2);
    reply_json(fd, 200, b);
  } else if (get && path_is(path, "/api/v1/messages/%s/raw", MSG_ID)) {
    uint8_t raw[110];
    size_t n = 0;
    if (pg_hex_decode(RAW_HEX, strlen(RAW_HEX), raw, sizeof raw, &n) != PG_OK) n = 0;
    reply(fd, 200, "application/octet-stream", raw, n);
  } else if (get && path_is(path, "/api/v1/messages/%s/metadata", MSG_ID)) {
    snprintf(b, sizeof b,
             "{\"data\":{\"messageId\":\"%s\",\"parentMessageIds\":[\"%s\",\"%s\"],"
             "\"isSolid\":true,\"referencedByMilestoneIndex\":7,"
             "\"ledgerInclusionState\":\"noTransaction\"}}",
             MSG_ID, P1, P2);
    reply_json(fd, 200, b);
  } else if (get && path_is(path, "/api/v1/messages/%s/metadata", UNREF_ID)) {
    snprintf(b, sizeof b,
             "{\"data\":{\"messageId\":\"%s\",\"parentMessageIds\":[\"%s\"],"
             "\"isSolid\":false,\"shouldPromote\":false,\"shouldReattach\":true}}",
             UNREF_ID, P1);
    reply_json(fd, 200, b);
  } else if (get && path_is(path, "/api/v1/messages/%s/metadata", CONFL_ID)) {
    snprintf(b, sizeof b,
             "{\"data\":{\"messageId\":\"%s\",\"parentMessageIds\":[\"%s\"],"
             "\"isSolid\":true,\"referencedByMilestoneIndex\":9,\"milestoneIndex\":null,"
             "\"ledgerInclusionState\":\"conflicting\",\"conflictReason\":3}}",
             CONFL_ID, P1);
    reply_json(fd, 200, b);
  } else if (get && path_is(path, "/api/v1/messages/%s/metadata", BROKEN_ID)) {
    snprintf(b, sizeof b,
             "{\"data\":{\"messageId\":\"%s\",\"parentMessageIds\":[\"%s\"],"
             "\"isSolid\":\"yes\"}}",
             BROKEN_ID, P1);
    reply_json(fd, 200, b);
  } else if (get && path_is(path, "/api/v1/messages/%s", BROKEN_ID)) {
    reply(fd, 200, "application/json", "this is not json", 16);
  } else if (get && path_is(path, "/api/v1/messages/%s/children", BROKEN_ID)) {
    reply_json(fd, 200, "{\"error\":{\"code\":\"500\",\"message\":\"sneaky\"}}");
  } else if (get && path_is(path, "/api/v1/messages/%s/raw", BROKEN_ID)) {
    reply(fd, 500, "text/plain", "internal\nboom", 13);
  } else if (get && path_is(path, "/api/v1/messages/%s/children", MSG_ID)) {
    snprintf(b, sizeof b,
             "{\"data\":{\"messageId\":\"%s\",\"maxResults\":1000,\"count\":3,"
             "\"childrenMessageIds\":[\"%s\",\"%s\",\"%s\"]}}",
             MSG_ID, P1, P2, UNREF_ID);
    reply_json(fd, 200, b);
  } else if (get && strcmp(path, "/api/v1/messages?index=494f5441") == 0) {
    snprintf(b, sizeof b,
             "{\"data\":{\"index\":\"494f5441\",\"maxResults\":1000,\"count\":2,"
             "\"messageIds\":[\"%s\",\"%s\"]}}",
             MSG_ID, UNREF_ID);
    reply_json(fd, 200, b);
  } else if (get && strcmp(path, "/api/v1/messages?index=00") == 0) {
    reply_json(fd, 200, "{\"data\":{\"index\":\"00\",\"maxResults\":1000,\"count\":0,"
                        "\"messageIds\":[]}}");
  } else if (get && strcmp(path, "/api/v1/messages?index=bad0") == 0) {
    reply_json(fd, 200, "{\"data\":{\"index\":\"bad0\",\"maxResults\":1000,\"count\":1,"
                        "\"messageIds\":[\"XYZ\"]}}");
  } else if (get && strcmp(path, "/api/v1/milestones/5") == 0) {
    snprintf(b, sizeof b,
             "{\"data\":{\"index\":5,\"messageId\":\"%s\",\"timestamp\":1609950538}}", MSG_ID);
    reply_json(fd, 200, b);
  } else if (get && strcmp(path, "/api/v1/milestones/7") == 0) {
    /* bigger than a small response cap */
    static char big[8192];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"data\":{}}", 11);
    reply(fd, 200, "application/json", big, sizeof big);
  } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/plugins/data/batch") == 0 &&
             atomic_load(&s->batch_mode) > 0) {
    reply_batch(s, fd, body, blen);
  } else if (strcmp(method, "POST") == 0 && strcmp(path, FIND_PATH) == 0 &&
             atomic_load(&s->find_mode) != FIND_NONE) {
    reply_find(s, fd, body, blen);
  } else if (get && strcmp(path, "/api/v1/milestones/8") == 0) {
    struct timespec ts = {0, 400 * 1000 * 1000};
    nanosleep(&ts, NULL);
    reply_json(fd, 200, "{\"data\":{}}");
  } else if (get && strncmp(path, "/api/v1/milestones/", 19) == 0) {
    reply_error(fd, 404, "milestone not found");
  } else if (get && strncmp(path, "/api/v1/messages/", 17) == 0) {
    reply_error(fd, 404, "message not found");
  } else {
    reply_error(fd, 404, "no such route");
  }
}

/* Handles every complete request in c->buf; returns false to close. */
static bool serve_buffer(server *s, conn *c) {
  for (;;) {
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return c->len < CONN_BUF;
    size_t head_len = (size_t)(end - c->buf) + 4;
    char method[8] = {0}, path[512] = {0}, ctype[128] = {0};
    size_t clen = 0;
    /* request line */
    char *line_end = memmem(c->buf, head_len, "\r\n", 2);
    char line[700];
    size_t ll = (size_t)(line_end - c->buf);
    if (ll >= sizeof line) return false;
    memcpy(line, c->buf, ll);
    line[ll] = '\0';
    if (sscanf(line, "%7s %511s", method, path) != 2) return false;
    /* headers */
    char *p = line_end + 2;
    while (p < c->buf + head_len - 2) {
      char *e = memmem(p, (size_t)(c->buf + head_len - p), "\r\n", 2);
      if (!e) break;
      size_t hl = (size_t)(e - p);
      if (hl > 15 && strncasecmp(p, "Content-Length:", 15) == 0) clen = strtoul(p + 15, NULL, 10);
      if (hl > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
        const char *v = p + 13;
        while (*v == ' ') v++;
        size_t vl = (size_t)(e - v);
        if (vl >= sizeof ctype) vl = sizeof ctype - 1;
        memcpy(ctype, v, vl);
        ctype[vl] = '\0';
      }
      p = e + 2;
    }
    if (head_len + clen > CONN_BUF) return false;
    if (c->len < head_len + clen) return true; /* wait for the body */
    char *body = malloc(clen + 1);
    if (!body) return false;
    memcpy(body, c->buf + head_len, clen);
    body[clen] = '\0';
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_method, sizeof s->last_method, "%s", method);
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    snprintf(s->last_ctype, sizeof s->last_ctype, "%s", ctype);
    free(s->last_body);
    s->last_body = body;
    s->last_body_len = clen;
    if (s->nlog < LOG_MAX) snprintf(s->log[s->nlog], sizeof s->log[0], "%s %s", method, path);
    s->nlog++;
    if (strcmp(path, FIND_PATH) == 0) body_keep(&s->finds, body, clen);
    if (strcmp(path, OUTPUTS_PATH) == 0) body_keep(&s->outs, body, clen);
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->requests, 1);
    route(s, c->fd, method, path, ctype, body, clen);
    size_t used = head_len + clen;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
  }
}

static void *server_main(void *arg) {
  server *s = arg;
  while (!atomic_load(&s->stop)) {
    struct pollfd pf[MAX_CONNS + 1];
    int map[MAX_CONNS + 1];
    int n = 0;
    pf[n].fd = s->lfd;
    pf[n].events = POLLIN;
    map[n++] = -1;
    for (int i = 0; i < MAX_CONNS; i++)
      if (s->conns[i].fd >= 0) {
        pf[n].fd = s->conns[i].fd;
        pf[n].events = POLLIN;
        map[n++] = i;
      }
    int r = poll(pf, (nfds_t)n, 50);
    if (r <= 0) continue;
    for (int k = 0; k < n; k++) {
      if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (map[k] < 0) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        atomic_fetch_add(&s->accepted, 1);
        int slot = -1;
        for (int i = 0; i < MAX_CONNS; i++)
          if (s->conns[i].fd < 0) {
            slot = i;
            break;
          }
        if (slot < 0) {
          close(fd);
          continue;
        }
        s->conns[slot].fd = fd;
        s->conns[slot].len = 0;
        continue;
      }
      conn *c = &s->conns[map[k]];
      ssize_t got = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
      if (got <= 0 || (c->len += (size_t)got, !serve_buffer(s, c))) {
        close(c->fd);
        c->fd = -1;
      }
    }
  }
  return NULL;
}

static int server_setup(void **state) {
  server *s = calloc(1, sizeof *s);
  assert_non_null(s);
  for (int i = 0; i < MAX_CONNS; i++) s->conns[i].fd = -1;
  pthread_mutex_init(&s->mu, NULL);
  atomic_store(&s->health_status, 200);
  atomic_store(&s->outputs_next, -1);
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s->lfd >= 0);
  int one = 1;
  setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s->lfd, 16), 0);
  socklen_t al = sizeof a;
  assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
  g_srv = s;
  *state = s;
  return 0;
}

static int server_teardown(void **state) {
  server *s = *state;
  atomic_store(&s->stop, true);
  pthread_join(s->thread, NULL);
  for (int i = 0; i < MAX_CONNS; i++)
    if (s->conns[i].fd >= 0) close(s->conns[i].fd);
  close(s->lfd);
  free(s->last_body);
  for (int i = 0; i < s->finds.n; i++) free(s->finds.body[i]);
  for (int i = 0; i < s->outs.n; i++) free(s->outs.body[i]);
  pthread_mutex_destroy(&s->mu);
  free(s);
  g_srv = NULL;
  return 0;
}

static pg_client *client_for(const server *s, unsigned timeout_ms, size_t max_response) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)s->port);
  pg_http_client_opts o = {.base_url = url, .timeout_ms = timeout_ms, .max_response = max_response};
  pg_client *c = NULL;
  pg_diag d = {{0}};
  if (pg_client_http_new(&o, &c, &d) != PG_OK) fail_msg("client: %s", d.msg);
  assert_string_equal(pg_client_kind(c), "http");
  return c;
}

static void id_from(const char *hex, uint8_t id[PG_ID_LEN]) {
  assert_int_equal(pg_hex_decode_exact(hex, id, PG_ID_LEN), PG_OK);
}

static void assert_id(const uint8_t id[PG_ID_LEN], const char *hex) {
  char h[2 * PG_ID_LEN + 1];
  pg_hex_encode(id, PG_ID_LEN, h);
  assert_string_equal(h, hex);
}

/* ---- find helpers ---- */

/* A lookup of a string literal's bytes. */
#define KEY(str, m) {.index = (const uint8_t *)(str), .index_len = sizeof(str) - 1, .max = (m)}

/* The node's request count, a mark for log_count. */
static int log_mark(server *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->nlog;
  pthread_mutex_unlock(&s->mu);
  if (n >= LOG_MAX) fail_msg("the canned node's request log is full");
  return n;
}

/* The requests the node got since mark whose "METHOD path" starts with what. */
static int log_count(server *s, int mark, const char *what) {
  int k = 0;
  pthread_mutex_lock(&s->mu);
  int n = s->nlog < LOG_MAX ? s->nlog : LOG_MAX;
  for (int i = mark; i < n; i++) k += strncmp(s->log[i], what, strlen(what)) == 0;
  pthread_mutex_unlock(&s->mu);
  return k;
}

/* How many bodies l has kept so far. */
static int body_mark(server *s, const body_log *l) {
  pthread_mutex_lock(&s->mu);
  int n = l->n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* The k-th (0-based) body l kept, of a `what` request; fails the test when
 * there is none. */
static const uint8_t *body_at(server *s, const body_log *l, int k, const char *what, size_t *len) {
  pthread_mutex_lock(&s->mu);
  int n = l->n;
  const uint8_t *b = k < n ? (const uint8_t *)l->body[k] : NULL;
  *len = k < n ? l->len[k] : 0;
  pthread_mutex_unlock(&s->mu);
  if (!b) fail_msg("%s request %d not seen (%d seen)", what, k + 1, n);
  return b;
}

static int find_mark(server *s) { return body_mark(s, &s->finds); }

/* Parses the node's k-th find request (0-based) into r (its keys view the
 * kept body). */
static void find_req_at(server *s, int k, pg_find_req *r) {
  size_t len = 0;
  const uint8_t *b = body_at(s, &s->finds, k, "find", &len);
  pg_diag d = {{0}};
  if (pg_find_req_parse(b, len, r, &d)) fail_msg("find request %d: %s", k + 1, d.msg);
}

/* Key k of r is f's index. */
static void assert_key(const pg_find_req *r, size_t k, const pg_client_found *f) {
  assert_true(k < r->count);
  assert_int_equal(r->keys[k].index_len, f->index_len);
  assert_memory_equal(r->keys[k].index, f->index, f->index_len);
}

/* f holds the canned node's answer to its index: one id (total 7), the
 * message msg_for builds, with its very bytes (or none when sent is false). */
static void assert_found(const pg_client_found *f, bool sent) {
  if (f->rc != PG_OK) fail_msg("lookup failed (%d): %s", f->rc, f->d.msg);
  assert_int_equal(f->count, 1);
  assert_int_equal(f->total, 7);
  pg_buf m;
  pg_buf_init(&m, PG_MSG_MAX_LEN);
  uint8_t id[PG_ID_LEN];
  assert_int_equal(msg_for(f->index, f->index_len, &m, id), PG_OK);
  uint8_t bytes[PG_MSG_MAX_LEN];
  size_t len = m.len;
  memcpy(bytes, m.data, len);
  pg_buf_free(&m);
  assert_non_null(f->ids);
  assert_memory_equal(f->ids[0], id, PG_ID_LEN);
  assert_non_null(f->raw);
  assert_non_null(f->raw_len);
  if (!sent) {
    assert_null(f->raw[0]);
    assert_int_equal(f->raw_len[0], 0);
    return;
  }
  assert_non_null(f->raw[0]);
  assert_int_equal(f->raw_len[0], len);
  assert_memory_equal(f->raw[0], bytes, len);
}

/* f was answered by a GET messages?index= of the canned node: "IOTA" lists
 * MSG_ID and UNREF_ID, "\0" nothing; never any bytes. */
static void assert_found_by_get(const pg_client_found *f) {
  if (f->rc != PG_OK) fail_msg("lookup failed (%d): %s", f->rc, f->d.msg);
  assert_null(f->raw);
  assert_null(f->raw_len);
  bool iota = f->index_len == 4 && memcmp(f->index, "IOTA", 4) == 0;
  assert_int_equal(f->count, iota ? 2 : 0);
  assert_int_equal(f->total, iota ? 2 : 0);
  if (!iota) return;
  assert_id(f->ids[0], MSG_ID);
  assert_id(f->ids[1], UNREF_ID);
}

/* f failed with a bad answer to the find route, why in its diag, nothing
 * left in it. */
static void assert_bad_find(const pg_client_found *f, const char *why) {
  assert_int_equal(f->rc, PG_ERR_HTTP);
  ASSERT_DIAG(f->d, "bad answer to POST /api/plugins/data/find");
  ASSERT_DIAG(f->d, why);
  assert_null(f->ids);
  assert_null(f->raw);
  assert_int_equal(f->count, 0);
}

static void clear_all(pg_client_found *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pg_client_found_clear(&v[i]);
    assert_null(v[i].ids);
    assert_null(v[i].raw);
    assert_int_equal(v[i].count, 0);
  }
}

/* A client with the find options. */
static pg_client *client_find(const server *s, bool rest_only, size_t max_response) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)s->port);
  pg_http_client_opts o = {.base_url = url, .max_response = max_response, .rest_only = rest_only};
  pg_client *c = NULL;
  pg_diag d = {{0}};
  if (pg_client_http_new(&o, &c, &d) != PG_OK) fail_msg("client: %s", d.msg);
  return c;
}

/* ---- outputs helpers ---- */

static int out_mark(server *s) { return body_mark(s, &s->outs); }

/* Parses the node's k-th outputs request (0-based) into r (its ids view
 * the kept body). */
static void out_req_at(server *s, int k, pg_outputs_req *r) {
  size_t len = 0;
  const uint8_t *b = body_at(s, &s->outs, k, "outputs", &len);
  pg_diag d = {{0}};
  if (pg_outputs_req_parse(b, len, r, &d)) fail_msg("outputs request %d: %s", k + 1, d.msg);
}

/* The node's outputs request k asked for the ids of v[from..from+count),
 * with raw and budget. */
static void assert_out_req(server *s, int k, const pg_client_output_got *v, size_t from,
                           size_t count, bool raw, uint32_t budget) {
  pg_outputs_req r;
  out_req_at(s, k, &r);
  assert_int_equal(r.count, count);
  assert_int_equal(r.raw, raw);
  assert_int_equal(r.budget, budget);
  for (size_t i = 0; i < count; i++)
    assert_memory_equal(r.ids[i], v[from + i].id, PG_OUTPUT_ID_LEN);
}

/* n lookups into v, item i of output id (kinds[i], i) (out_id), every
 * output full of junk but raw (pg_client_outputs_many must reset them). */
static void got_init(pg_client_output_got *v, const char *kinds, size_t n) {
  for (size_t i = 0; i < n; i++) {
    memset(&v[i], 0xee, sizeof v[i]);
    v[i].raw = NULL;
    out_id(kinds[i], (unsigned)i, v[i].id);
  }
}

static void assert_info(const pg_output_info *a, const pg_output_info *b) {
  assert_memory_equal(a->output_id, b->output_id, PG_OUTPUT_ID_LEN);
  assert_memory_equal(a->message_id, b->message_id, PG_ID_LEN);
  assert_int_equal(a->type, b->type);
  assert_memory_equal(a->address, b->address, 32);
  assert_true(a->amount == b->amount);
  assert_int_equal(a->booked_index, b->booked_index);
  assert_int_equal(a->spent, b->spent);
  assert_int_equal(a->spent_index, b->spent_index);
  assert_memory_equal(a->spent_tx_id, b->spent_tx_id, 32);
}

/* g holds what the canned node keeps under its id: the fields (booked_index
 * only when booked: GET outputs/{id} has none) and, with raw, the very
 * bytes of its message, which hash to its id (none, raw_rc
 * PG_ERR_NOT_FOUND, for a genesis output or one whose message the node has
 * not got); PG_ERR_NOT_FOUND naming the output for one it does not know. */
static void assert_got(const pg_client_output_got *g, bool raw, bool booked) {
  static uint8_t bytes[PG_MSG_MAX_LEN];
  pg_output_info want;
  pg_buf m;
  pg_buf_init(&m, PG_MSG_MAX_LEN);
  int k = canned_output(g->id, &want, &m);
  size_t len = m.len;
  if (len) memcpy(bytes, m.data, len);
  pg_buf_free(&m);
  assert_true(k >= 0);
  char hex[2 * PG_OUTPUT_ID_LEN + 1];
  pg_hex_encode(g->id, PG_OUTPUT_ID_LEN, hex);
  if (k == 0) {
    assert_int_equal(g->rc, PG_ERR_NOT_FOUND);
    ASSERT_DIAG(g->d, hex);
    assert_null(g->raw);
    assert_int_equal(g->raw_len, 0);
    return;
  }
  if (g->rc != PG_OK) fail_msg("output %s failed (%d): %s", hex, g->rc, g->d.msg);
  if (!booked) want.booked_index = 0;
  assert_info(&g->info, &want);
  if (raw && len) {
    if (g->raw_rc != PG_OK) fail_msg("output %s: no bytes (%d): %s", hex, g->raw_rc, g->d.msg);
    assert_non_null(g->raw);
    assert_int_equal(g->raw_len, len);
    assert_memory_equal(g->raw, bytes, len);
    uint8_t id[PG_ID_LEN];
    pg_message_id(g->raw, g->raw_len, id);
    assert_memory_equal(id, g->info.message_id, PG_ID_LEN);
    return;
  }
  if (raw) assert_int_equal(g->raw_rc, PG_ERR_NOT_FOUND);
  assert_null(g->raw);
  assert_int_equal(g->raw_len, 0);
}

static void assert_got_all(const pg_client_output_got *v, size_t n, bool raw, bool booked) {
  for (size_t i = 0; i < n; i++) assert_got(&v[i], raw, booked);
}

/* g failed with a bad answer to the outputs route, why in its diag, and
 * kept nothing. */
static void assert_bad_outputs(const pg_client_output_got *g, const char *why) {
  static const pg_output_info zero;
  assert_int_equal(g->rc, PG_ERR_HTTP);
  ASSERT_DIAG(g->d, "bad answer to POST " OUTPUTS_PATH);
  ASSERT_DIAG(g->d, why);
  assert_null(g->raw);
  assert_int_equal(g->raw_len, 0);
  assert_info(&g->info, &zero);
}

static void clear_got(pg_client_output_got *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t id[PG_OUTPUT_ID_LEN];
    memcpy(id, v[i].id, sizeof id);
    pg_client_output_got_clear(&v[i]);
    assert_null(v[i].raw);
    assert_int_equal(v[i].raw_len, 0);
    assert_int_equal(v[i].rc, PG_OK);
    assert_memory_equal(v[i].id, id, sizeof id);
  }
}

/* pg_client_outputs_many(c, v, n, raw) on fresh items of kinds; the
 * requests it made since then: *posts to the outputs route, *gets GETs of
 * outputs, *raws GETs of messages (each may be NULL). */
static void outputs_call(server *s, pg_client *c, pg_client_output_got *v, const char *kinds,
                         size_t n, bool raw, int *posts, int *gets, int *raws) {
  pg_diag d = {{0}};
  got_init(v, kinds, n);
  int mark = log_mark(s);
  assert_int_equal(pg_client_outputs_many(c, v, n, raw, &d), PG_OK);
  int p = log_count(s, mark, OUTPUTS), g = log_count(s, mark, "GET /api/v1/outputs/"),
      r = log_count(s, mark, "GET /api/v1/messages/");
  assert_int_equal(log_count(s, mark, ""), p + g + r); /* nothing else */
  if (posts) *posts = p;
  if (gets) *gets = g;
  if (raws) *raws = r;
}

/* ---- tests ---- */

static void test_info_health_tips(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_node_info info;
  assert_int_equal(pg_client_info(c, &info, &d), PG_OK);
  assert_string_equal(info.name, "HORNET");
  assert_string_equal(info.version, "1.0.0");
  assert_true(info.is_healthy);
  assert_string_equal(info.network, "testnet7");
  /* CHRYSALIS.md 1.2 [checked]: testnet7 -> 14379272398717627559 */
  assert_true(info.network_id == 14379272398717627559ull);
  assert_string_equal(info.bech32_hrp, "atoi");
  assert_int_equal(info.min_pow_score, 4000);
  assert_int_equal(info.latest_milestone_index, 82847);
  assert_int_equal(info.confirmed_milestone_index, 82846);
  assert_true(info.latest_milestone_timestamp == 1609950538ull);

  bool healthy = false;
  assert_int_equal(pg_client_health(c, &healthy, &d), PG_OK);
  assert_true(healthy);
  atomic_store(&s->health_status, 503);
  assert_int_equal(pg_client_health(c, &healthy, &d), PG_OK);
  assert_false(healthy);
  atomic_store(&s->health_status, 500);
  assert_int_equal(pg_client_health(c, &healthy, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "HTTP 500 from GET /health");
  atomic_store(&s->health_status, 200);

  uint8_t tips[8][PG_ID_LEN];
  size_t n = 0;
  assert_int_equal(pg_client_tips(c, tips, 8, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_id(tips[0], P1);
  assert_id(tips[1], P2);
  assert_int_equal(pg_client_tips(c, tips, 1, &n, &d), PG_OK); /* capped, not an error */
  assert_int_equal(n, 1);
  pg_client_free(c);
}

static void test_submit(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  uint8_t id[PG_ID_LEN];

  /* sendData-style draft: exactly what iota.js posts */
  assert_int_equal(pg_client_submit_data(c, (const uint8_t *)"IOTA", 4,
                                         (const uint8_t *)"hello world", 11, id, &d),
                   PG_OK);
  assert_id(id, MSG_ID);
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_method, "POST");
  assert_string_equal(s->last_path, "/api/v1/messages");
  assert_string_equal(s->last_ctype, "application/json");
  assert_string_equal(s->last_body,
                      "{\"payload\":{\"type\":2,\"index\":\"494f5441\",\"data\":"
                      "\"68656c6c6f20776f726c64\"}}");
  pthread_mutex_unlock(&s->mu);

  /* any JSON object */
  json_t *msg = json_pack("{s:[s,s],s:{s:i,s:s}}", "parentMessageIds", P1, P2, "payload", "type", 2,
                          "index", "00");
  assert_int_equal(pg_client_submit_json(c, msg, id, &d), PG_OK);
  json_decref(msg);
  assert_id(id, MSG_ID);

  /* raw bytes go as octet-stream; the node's 400 text comes back */
  uint8_t raw[110];
  size_t rn = 0;
  assert_int_equal(pg_hex_decode(RAW_HEX, strlen(RAW_HEX), raw, sizeof raw, &rn), PG_OK);
  assert_int_equal(rn, 110);
  assert_int_equal(pg_client_submit_raw(c, raw, rn, id, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "HTTP 400 from POST /api/v1/messages: invalid message: proof of "
                             "work score 0.1 below 4000");
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_ctype, "application/octet-stream");
  assert_int_equal(s->last_body_len, 110);
  assert_memory_equal(s->last_body, raw, 110);
  pthread_mutex_unlock(&s->mu);
  assert_int_equal(pg_client_submit_raw(c, raw, 60, id, &d), PG_ERR_UNSUPPORTED); /* 415 */

  /* 413 and 503 */
  msg = json_pack("{s:b}", "tooBig", 1);
  assert_int_equal(pg_client_submit_json(c, msg, id, &d), PG_ERR_TOO_LARGE);
  ASSERT_DIAG(d, "HTTP 413 from POST /api/v1/messages: request body too large");
  json_decref(msg);
  msg = json_pack("{s:b}", "busy", 1);
  assert_int_equal(pg_client_submit_json(c, msg, id, &d), PG_ERR_UNAVAILABLE);
  ASSERT_DIAG(d, "HTTP 503");
  ASSERT_DIAG(d, "no tips available");
  json_decref(msg);

  /* a batch to a node without the batch route (404): posted one by one, and
   * no batch tried again on this client; a bad item is refused before any
   * request, the item that follows it is not sent, the next one is */
  int before = atomic_load(&s->requests);
  pg_client_data v[3] = {
      {.index = (const uint8_t *)"", .index_len = 0},
      {.index = (const uint8_t *)"IOTA", .index_len = 4, .follows = true},
      {.index = (const uint8_t *)"IOTA", .index_len = 4, .data = (const uint8_t *)"hi",
       .data_len = 2},
  };
  assert_int_equal(pg_client_submit_data_many(c, v, 3, &d), PG_OK);
  assert_int_equal(v[0].rc, PG_ERR_INVALID);
  ASSERT_DIAG(v[0].d, "index must be 1..64 bytes");
  assert_int_equal(v[1].rc, PG_ERR_STATE);
  assert_int_equal(v[2].rc, PG_OK);
  assert_id(v[2].id, MSG_ID);
  assert_int_equal(atomic_load(&s->requests), before + 2); /* the batch's 404, then the item */
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_body, "{\"payload\":{\"type\":2,\"index\":\"494f5441\",\"data\":\"6869\"}}");
  pthread_mutex_unlock(&s->mu);
  before = atomic_load(&s->requests);
  atomic_store(&s->batch_mode, 1); /* too late for this client: it took the 404 for good */
  v[0].index = (const uint8_t *)"IOTA";
  v[0].index_len = 4;
  assert_int_equal(pg_client_submit_data_many(c, v, 3, &d), PG_OK);
  assert_int_equal(atomic_load(&s->requests), before + 3);
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_path, "/api/v1/messages");
  pthread_mutex_unlock(&s->mu);

  /* argument checks happen before any request */
  before = atomic_load(&s->requests);
  assert_int_equal(pg_client_submit_data(c, (const uint8_t *)"", 0, NULL, 0, id, &d),
                   PG_ERR_INVALID);
  uint8_t long_index[65] = {0};
  assert_int_equal(pg_client_submit_data(c, long_index, 65, NULL, 0, id, &d), PG_ERR_INVALID);
  static uint8_t huge[PG_MSG_MAX_LEN + 1];
  assert_int_equal(pg_client_submit_raw(c, huge, sizeof huge, id, &d), PG_ERR_TOO_LARGE);
  json_t *arr = json_array();
  assert_int_equal(pg_client_submit_json(c, arr, id, &d), PG_ERR_INVALID);
  json_decref(arr);
  assert_int_equal(atomic_load(&s->requests), before);
  pg_client_free(c);
}

/* A node with the batch route: one request for the items, each item's
 * answer (an id or its error) to its item; an answer that does not hold one
 * result per item fails every item of the batch. */
static void test_batches(void **state) {
  server *s = *state;
  atomic_store(&s->batch_mode, 1);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_data v[4] = {
      {.index = (const uint8_t *)"IOTA", .index_len = 4, .data = (const uint8_t *)"a", .data_len = 1},
      {.index = (const uint8_t *)"IOTA", .index_len = 4, .data = (const uint8_t *)"bad", .data_len = 3},
      {.index = (const uint8_t *)"IOTA", .index_len = 4, .data = (const uint8_t *)"c", .data_len = 1,
       .follows = true},
      {.index = (const uint8_t *)"IOTA", .index_len = 4},
  };
  int before = atomic_load(&s->requests);
  assert_int_equal(pg_client_submit_data_many(c, v, 4, &d), PG_OK);
  assert_int_equal(atomic_load(&s->requests), before + 1);
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_path, "/api/plugins/data/batch");
  assert_string_equal(s->last_ctype, "application/octet-stream");
  pg_batch_item it[PG_BATCH_MAX_ITEMS];
  size_t n = 0;
  assert_int_equal(pg_batch_parse((const uint8_t *)s->last_body, s->last_body_len, it, &n, &d),
                   PG_OK);
  pthread_mutex_unlock(&s->mu);
  assert_int_equal(n, 4);
  assert_true(it[2].follows);
  assert_int_equal(v[0].rc, PG_OK);
  assert_id(v[0].id, MSG_ID);
  assert_int_equal(v[1].rc, PG_ERR_INVALID);
  ASSERT_DIAG(v[1].d, "POST /api/plugins/data/batch refused it (400): bad item");
  assert_int_equal(v[2].rc, PG_ERR_UNAVAILABLE); /* it follows the refused one */
  assert_int_equal(v[3].rc, PG_OK);

  atomic_store(&s->batch_mode, 2);
  assert_int_equal(pg_client_submit_data_many(c, v, 4, &d), PG_OK);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(v[i].rc, PG_ERR_HTTP);
    ASSERT_DIAG(v[i].d, "bad answer to POST /api/plugins/data/batch");
    ASSERT_DIAG(v[i].d, "not an array of 4 answers");
  }
  pg_client_free(c);
}

static void test_messages(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  uint8_t id[PG_ID_LEN];
  id_from(MSG_ID, id);

  /* raw: appended to the caller's buffer, BLAKE2b of it is the id */
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  pg_buf_put_u8(&raw, 0xaa);
  assert_int_equal(pg_client_get_raw(c, id, &raw, &d), PG_OK);
  assert_int_equal(raw.len, 111);
  uint8_t got[PG_ID_LEN];
  pg_message_id(raw.data + 1, raw.len - 1, got);
  assert_memory_equal(got, id, PG_ID_LEN);
  pg_buf_free(&raw);
  pg_buf_init(&raw, 50); /* too small: error, length unchanged */
  assert_int_equal(pg_client_get_raw(c, id, &raw, &d), PG_ERR_TOO_LARGE);
  assert_int_equal(raw.len, 0);
  assert_int_equal(pg_buf_status(&raw), PG_OK); /* no sticky error left behind */
  pg_buf_free(&raw);

  /* JSON */
  json_t *j = NULL;
  assert_int_equal(pg_client_get_json(c, id, &j, &d), PG_OK);
  assert_string_equal(json_string_value(json_object_get(j, "nonce")), "28110");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(j, "payload"), "index")), "494f5441");
  json_decref(j);

  /* metadata: referenced, unreferenced, conflicting */
  pg_msg_meta m;
  assert_int_equal(pg_client_get_meta(c, id, &m, &d), PG_OK);
  assert_memory_equal(m.id, id, PG_ID_LEN);
  assert_int_equal(m.parents_count, 2);
  assert_id(m.parents[1], P2);
  assert_true(m.solid);
  assert_int_equal(m.referenced_by, 7);
  assert_int_equal(m.inclusion, PG_INCL_NO_TX);
  assert_int_equal(m.milestone_index, 0);
  uint8_t other[PG_ID_LEN];
  id_from(UNREF_ID, other);
  assert_int_equal(pg_client_get_meta(c, other, &m, &d), PG_OK);
  assert_int_equal(m.parents_count, 1);
  assert_false(m.solid);
  assert_int_equal(m.referenced_by, 0);
  assert_int_equal(m.inclusion, PG_INCL_UNKNOWN);
  assert_false(m.should_promote);
  assert_true(m.should_reattach);
  id_from(CONFL_ID, other);
  assert_int_equal(pg_client_get_meta(c, other, &m, &d), PG_OK);
  assert_int_equal(m.inclusion, PG_INCL_CONFLICTING);
  assert_int_equal(m.conflict_reason, 3);
  assert_int_equal(m.referenced_by, 9);

  /* children */
  uint8_t ids[4][PG_ID_LEN];
  size_t n = 0, total = 0;
  assert_int_equal(pg_client_children(c, id, ids, 2, &n, &total, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(total, 3);
  assert_id(ids[0], P1);

  /* find by index */
  assert_int_equal(pg_client_find_index(c, (const uint8_t *)"IOTA", 4, ids, 4, &n, &total, &d),
                   PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(total, 2);
  assert_id(ids[0], MSG_ID);
  assert_id(ids[1], UNREF_ID);
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_path, "/api/v1/messages?index=494f5441");
  pthread_mutex_unlock(&s->mu);
  assert_int_equal(pg_client_find_index(c, (const uint8_t *)"\0", 1, ids, 4, &n, &total, &d),
                   PG_OK);
  assert_int_equal(n, 0);
  assert_int_equal(total, 0);

  /* milestone */
  pg_milestone_info ms;
  assert_int_equal(pg_client_milestone(c, 5, &ms, &d), PG_OK);
  assert_int_equal(ms.index, 5);
  assert_memory_equal(ms.message_id, id, PG_ID_LEN);
  assert_true(ms.timestamp == 1609950538ull);
  pg_client_free(c);
}

static void test_errors(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  uint8_t id[PG_ID_LEN];
  json_t *j = NULL;
  pg_msg_meta m;
  pg_milestone_info ms;

  /* 404 with the node's text */
  id_from(UNKNOWN_ID, id);
  assert_int_equal(pg_client_get_json(c, id, &j, &d), PG_ERR_NOT_FOUND);
  assert_null(j);
  char want[256];
  snprintf(want, sizeof want, "HTTP 404 from GET /api/v1/messages/%s: message not found",
           UNKNOWN_ID);
  assert_string_equal(d.msg, want);
  assert_int_equal(pg_client_get_meta(c, id, &m, &d), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_client_milestone(c, 6, &ms, &d), PG_ERR_NOT_FOUND);
  assert_string_equal(d.msg, "HTTP 404 from GET /api/v1/milestones/6: milestone not found");

  /* answers that break TIP-13 */
  id_from(BROKEN_ID, id);
  assert_int_equal(pg_client_get_json(c, id, &j, &d), PG_ERR_HTTP); /* not JSON */
  ASSERT_DIAG(d, "bad answer to GET /api/v1/messages/");
  assert_int_equal(pg_client_get_meta(c, id, &m, &d), PG_ERR_HTTP); /* isSolid a string */
  ASSERT_DIAG(d, "isSolid");
  size_t n = 0, total = 0;
  uint8_t ids[2][PG_ID_LEN];
  assert_int_equal(pg_client_children(c, id, ids, 2, &n, &total, &d), PG_ERR_HTTP); /* 200 + error */
  ASSERT_DIAG(d, "sneaky");
  pg_buf raw;
  pg_buf_init(&raw, 1024);
  assert_int_equal(pg_client_get_raw(c, id, &raw, &d), PG_ERR_HTTP); /* 500 text body */
  ASSERT_DIAG(d, "HTTP 500 from GET");
  ASSERT_DIAG(d, "internal?boom"); /* the newline never reaches the diag */
  pg_buf_free(&raw);
  assert_int_equal(pg_client_find_index(c, (const uint8_t *)"\xba\xd0", 2, ids, 2, &n, &total, &d),
                   PG_ERR_HTTP);
  ASSERT_DIAG(d, "messageIds");
  pg_client_free(c);

  /* response cap */
  c = client_for(s, 0, 4096);
  assert_int_equal(pg_client_milestone(c, 7, &ms, &d), PG_ERR_TOO_LARGE);
  ASSERT_DIAG(d, "larger than 4096 bytes");
  assert_int_equal(pg_client_milestone(c, 5, &ms, &d), PG_OK); /* the handle still works */
  pg_client_free(c);

  /* timeout */
  c = client_for(s, 100, 0);
  assert_int_equal(pg_client_milestone(c, 8, &ms, &d), PG_ERR_TIMEOUT);
  ASSERT_DIAG(d, "GET /api/v1/milestones/8");
  pg_client_free(c);

  /* nobody listening */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  close(fd); /* bound, never listened: connections are refused */
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
  pg_http_client_opts o = {.base_url = url};
  assert_int_equal(pg_client_http_new(&o, &c, &d), PG_OK);
  pg_node_info info;
  assert_int_equal(pg_client_info(c, &info, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "GET /api/v1/info to http://127.0.0.1:");
  pg_client_free(c);

  /* bad options */
  o.base_url = "ftp://x";
  assert_int_equal(pg_client_http_new(&o, &c, &d), PG_ERR_INVALID);
  o.base_url = NULL;
  assert_int_equal(pg_client_http_new(&o, &c, &d), PG_ERR_INVALID);
  pg_client_free(NULL);
  assert_string_equal(pg_client_kind(NULL), "none");
}

static void test_keep_alive(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  int before = atomic_load(&s->accepted);
  uint8_t id[PG_ID_LEN];
  pg_node_info info;
  for (int i = 0; i < 50; i++) {
    assert_int_equal(pg_client_info(c, &info, &d), PG_OK);
    assert_int_equal(pg_client_submit_data(c, (const uint8_t *)"k", 1, NULL, 0, id, &d), PG_OK);
  }
  /* error answers keep the connection too */
  id_from(UNKNOWN_ID, id);
  pg_msg_meta m;
  assert_int_equal(pg_client_get_meta(c, id, &m, &d), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_client_info(c, &info, &d), PG_OK);
  assert_int_equal(atomic_load(&s->accepted) - before, 1);
  pthread_mutex_lock(&s->mu);
  assert_string_equal(s->last_body, "");
  pthread_mutex_unlock(&s->mu);
  pg_client_free(c);
}

/* want_meta: the request says so, and each message comes with the
 * node's metadata; without the route there is none (NULL: GET it). */
static void test_find_many_meta(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_GOOD);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_found v[2] = {KEY("IOTA", 10), KEY("k2", 10)};
  v[0].want_meta = v[1].want_meta = true;
  int fmark = find_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
  pg_find_req r;
  find_req_at(s, fmark, &r);
  assert_true(r.meta);
  for (int i = 0; i < 2; i++) {
    assert_found(&v[i], true);
    assert_non_null(v[i].meta);
    assert_memory_equal(v[i].meta[0].id, v[i].ids[0], PG_ID_LEN);
    assert_int_equal(v[i].meta[0].referenced_by, 9);
    assert_int_equal(v[i].meta[0].inclusion, PG_INCL_INCLUDED);
  }
  clear_all(v, 2);
  v[0].want_meta = false; /* a different flag: its own request */
  fmark = find_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
  assert_int_equal(find_mark(s) - fmark, 2);
  assert_null(v[0].meta);
  assert_non_null(v[1].meta);
  clear_all(v, 2);
  atomic_store(&s->find_mode, FIND_NONE);
  v[0].want_meta = true;
  assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
  assert_null(v[0].meta); /* GETs: no metadata */
  assert_int_equal(v[0].rc, PG_OK);
  clear_all(v, 2);
  pg_client_free(c);
}

/* A node with the find route: one request for the lookups (those refused
 * before it left out), each lookup with its message's id and very bytes. */
static void test_find_many(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_GOOD);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_found v[4] = {KEY("IOTA", 10), KEY("", 10), KEY("k2", 10), KEY("\x00\xff", 10)};
  int mark = log_mark(s), fmark = find_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 4, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 1);
  assert_int_equal(log_count(s, mark, FIND), 1);
  char ctype[128];
  pthread_mutex_lock(&s->mu);
  snprintf(ctype, sizeof ctype, "%s", s->last_ctype);
  pthread_mutex_unlock(&s->mu);
  assert_string_equal(ctype, "application/octet-stream");
  pg_find_req r;
  find_req_at(s, fmark, &r);
  assert_int_equal(r.count, 3);
  assert_int_equal(r.max, 10);
  assert_int_equal(r.budget, 1u << 20); /* the client's max_response */
  assert_key(&r, 0, &v[0]);
  assert_key(&r, 1, &v[2]);
  assert_key(&r, 2, &v[3]);
  assert_int_equal(v[1].rc, PG_ERR_INVALID);
  ASSERT_DIAG(v[1].d, "index must be 1..64 bytes");
  assert_null(v[1].ids);
  assert_found(&v[0], true);
  assert_found(&v[2], true);
  assert_found(&v[3], true);
  pg_message m; /* a real message, under its key */
  assert_int_equal(pg_message_parse(v[0].raw[0], v[0].raw_len[0], &m, &d), PG_OK);
  assert_int_equal(m.payload_type, PG_PAYLOAD_INDEXATION);
  assert_int_equal(m.u.indexation.index_len, 4);
  assert_memory_equal(m.u.indexation.index, "IOTA", 4);
  pg_message_clear(&m);
  clear_all(v, 4);

  /* the first item's message without its bytes: its id, raw[0] NULL */
  atomic_store(&s->find_mode, FIND_NORAW);
  assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
  assert_found(&v[0], false);
  assert_int_equal(v[1].rc, PG_ERR_INVALID);
  clear_all(v, 2);
  pg_client_free(c);
}

/* More than 256 lookups go in requests of 256 keys; a lookup with another
 * max starts a request of its own. */
static void test_find_many_split(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_GOOD);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  enum { N = 301 };
  static char keys[N][24];
  static pg_client_found v[N];
  for (size_t i = 0; i < N; i++) {
    snprintf(keys[i], sizeof keys[i], "k%03zu", i);
    v[i] = (pg_client_found){.index = (const uint8_t *)keys[i], .index_len = 4,
                             .max = i < 300 ? 5 : 6};
  }
  int mark = log_mark(s), fmark = find_mark(s);
  assert_int_equal(pg_client_find_many(c, v, N, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 3);
  assert_int_equal(log_count(s, mark, FIND), 3);
  pg_find_req r;
  find_req_at(s, fmark, &r);
  assert_int_equal(r.count, 256);
  assert_int_equal(r.max, 5);
  assert_key(&r, 0, &v[0]);
  assert_key(&r, 255, &v[255]);
  find_req_at(s, fmark + 1, &r);
  assert_int_equal(r.count, 44);
  assert_key(&r, 0, &v[256]);
  assert_key(&r, 43, &v[299]);
  find_req_at(s, fmark + 2, &r);
  assert_int_equal(r.count, 1);
  assert_int_equal(r.max, 6);
  assert_key(&r, 0, &v[300]);
  for (size_t i = 0; i < N; i++) assert_found(&v[i], true);
  clear_all(v, N);
  pg_client_free(c);
}

/* A node whose bytes do not hash to the id it lists: every lookup of that
 * request fails (those answered before the lie too) and keeps nothing; the
 * route stays in use. */
/* The same for find: 256 keys over the node's api.max_body (413), then
 * requests of half as many keys, kept; a node that refuses a request of
 * one key gets GETs for good. */
static void test_find_many_body_cap(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_GOOD);
  atomic_store(&s->body_max, 10 + 130 * 5); /* 128 keys of 4 bytes fit, 256 do not */
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  enum { N = 301 };
  static char keys[N][24];
  static pg_client_found v[N];
  for (size_t i = 0; i < N; i++) {
    snprintf(keys[i], sizeof keys[i], "k%03zu", i);
    v[i] = (pg_client_found){.index = (const uint8_t *)keys[i], .index_len = 4, .max = 5};
  }
  int mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, N, &d), PG_OK);
  assert_int_equal(log_count(s, mark, FIND), 1 + 3); /* 256 refused; 128, 128, 45 */
  for (size_t i = 0; i < N; i++) assert_found(&v[i], true);
  clear_all(v, N);
  mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, N, &d), PG_OK);
  assert_int_equal(log_count(s, mark, FIND), 3); /* the cap is kept */
  for (size_t i = 0; i < N; i++) assert_found(&v[i], true);
  clear_all(v, N);
  atomic_store(&s->body_max, 10); /* not even one key */
  pg_client_found g[2] = {KEY("IOTA", 5), KEY("\0", 5)};
  for (int call = 0; call < 2; call++) {
    mark = log_mark(s);
    assert_int_equal(pg_client_find_many(c, g, 2, &d), PG_OK);
    assert_int_equal(log_count(s, mark, FIND), call ? 0 : 8); /* 128, 64, ... 1; then none */
    assert_int_equal(log_count(s, mark, "GET /api/v1/messages?index="), 2);
    assert_found_by_get(&g[0]);
    assert_found_by_get(&g[1]);
    clear_all(g, 2);
  }
  atomic_store(&s->body_max, 0);
  pg_client_free(c);
}

static void test_find_many_lying(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_LIE);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_found v[3] = {KEY("a", 3), KEY("b", 3), KEY("c", 3)};
  int mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 1); /* no GETs, no second try */
  for (size_t i = 0; i < 3; i++) {
    assert_int_not_equal(v[i].rc, PG_OK);
    assert_bad_find(&v[i], "item 2: the bytes of message 1 are not its id's");
  }
  clear_all(v, 3);
  clear_all(v, 3); /* twice is fine */

  atomic_store(&s->find_mode, FIND_GOOD);
  mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
  assert_int_equal(log_count(s, mark, FIND), 1);
  for (size_t i = 0; i < 3; i++) assert_found(&v[i], true);
  clear_all(v, 3);
  pg_client_free(c);
}

/* A node that answers only the first key is asked again for the others. */
static void test_find_many_partial(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_PARTIAL);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_found v[3] = {KEY("one", 2), KEY("two", 2), KEY("three", 2)};
  int mark = log_mark(s), fmark = find_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 2);
  assert_int_equal(log_count(s, mark, FIND), 2);
  pg_find_req r;
  find_req_at(s, fmark, &r);
  assert_int_equal(r.count, 3);
  find_req_at(s, fmark + 1, &r);
  assert_int_equal(r.count, 2);
  assert_int_equal(r.max, 2);
  assert_key(&r, 0, &v[1]);
  assert_key(&r, 1, &v[2]);
  for (size_t i = 0; i < 3; i++) assert_found(&v[i], true);
  clear_all(v, 3);
  pg_client_free(c);
}

/* A node without the find route answering status: one POST, then a GET
 * messages?index= a lookup (no bytes), and never a find again. */
static void find_fallback(server *s, int status) {
  atomic_store(&s->find_mode, status == 404 ? FIND_NONE : FIND_STATUS);
  atomic_store(&s->find_status, status);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_found v[3] = {KEY("IOTA", 5), KEY("\0", 5), KEY("", 5)};
  int mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 3);
  assert_int_equal(log_count(s, mark, FIND), 1);
  assert_int_equal(log_count(s, mark, "GET /api/v1/messages?index=494f5441"), 1);
  assert_int_equal(log_count(s, mark, "GET /api/v1/messages?index=00"), 1);
  assert_found_by_get(&v[0]);
  assert_found_by_get(&v[1]);
  assert_int_equal(v[2].rc, PG_ERR_INVALID);
  clear_all(v, 3);

  atomic_store(&s->find_mode, FIND_GOOD); /* too late for this client: it took the answer for good */
  mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 2);
  assert_int_equal(log_count(s, mark, FIND), 0);
  assert_int_equal(log_count(s, mark, "GET /api/v1/messages?index="), 2);
  assert_found_by_get(&v[0]);
  assert_found_by_get(&v[1]);
  clear_all(v, 2);
  pg_client_free(c);
}

static void test_find_many_fallback(void **state) {
  static const int statuses[] = {401, 403, 404, 405, 415, 501};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
    find_fallback(*state, statuses[i]);
}

/* rest_only, or a max_response too small for a find answer: GETs only. */
static void test_find_many_rest_only(void **state) {
  server *s = *state;
  atomic_store(&s->find_mode, FIND_GOOD);
  pg_diag d = {{0}};
  pg_client_found v[2] = {KEY("IOTA", 5), KEY("\0", 5)};
  for (int k = 0; k < 2; k++) {
    pg_client *c = k == 0 ? client_find(s, true, 0) : client_find(s, false, PG_FIND_BUDGET_MIN - 1);
    for (int call = 0; call < 2; call++) {
      int mark = log_mark(s);
      assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
      assert_int_equal(log_count(s, mark, ""), 2);
      assert_int_equal(log_count(s, mark, FIND), 0);
      assert_int_equal(log_count(s, mark, "GET /api/v1/messages?index="), 2);
      assert_found_by_get(&v[0]);
      assert_found_by_get(&v[1]);
      clear_all(v, 2);
    }
    pg_client_free(c);
  }
  /* room for the smallest budget: a find */
  pg_client *c = client_find(s, false, PG_FIND_BUDGET_MIN);
  int mark = log_mark(s), fmark = find_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 2, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 1);
  pg_find_req r;
  find_req_at(s, fmark, &r);
  assert_int_equal(r.budget, PG_FIND_BUDGET_MIN);
  assert_found(&v[0], true);
  assert_found(&v[1], true);
  clear_all(v, 2);
  pg_client_free(c);
}

/* An answer that breaks the format fails every lookup of its request as a
 * bad answer, a node error with its status; neither turns the route off. */
static void test_find_many_malformed(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  pg_client_found v[3] = {KEY("a", 1), KEY("b", 1), KEY("c", 1)};
  static const struct {
    int mode;
    const char *why;
  } cases[] = {
      {FIND_TRAILING, "1 bytes after its last item"},
      {FIND_COUNT0, "0 items to 3 keys asked"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    atomic_store(&s->find_mode, cases[k].mode);
    int mark = log_mark(s);
    assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
    assert_int_equal(log_count(s, mark, ""), 1);
    for (size_t i = 0; i < 3; i++) assert_bad_find(&v[i], cases[k].why);
    clear_all(v, 3);
  }

  atomic_store(&s->find_mode, FIND_STATUS);
  atomic_store(&s->find_status, 503);
  int mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
  assert_int_equal(log_count(s, mark, ""), 1);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(v[i].rc, PG_ERR_UNAVAILABLE);
    ASSERT_DIAG(v[i].d, "HTTP 503 from POST /api/plugins/data/find");
    ASSERT_DIAG(v[i].d, "no finds here");
  }
  clear_all(v, 3);

  atomic_store(&s->find_mode, FIND_GOOD);
  mark = log_mark(s);
  assert_int_equal(pg_client_find_many(c, v, 3, &d), PG_OK);
  assert_int_equal(log_count(s, mark, FIND), 1);
  for (size_t i = 0; i < 3; i++) assert_found(&v[i], true);
  clear_all(v, 3);
  pg_client_free(c);
}

/* A node with the outputs route: one request for the lookups, each with
 * the node's very fields and, when asked, the bytes of its message; an
 * output it does not know fails with PG_ERR_NOT_FOUND naming it; a genesis
 * output and one whose message the node did not send (rawLength 0) have no
 * bytes (raw_rc PG_ERR_NOT_FOUND). */
static void test_outputs_many(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_GOOD);
  pg_client *c = client_for(s, 0, 0);
  pg_diag d = {{0}};
  static const char kinds[] = "FFMGNFF";
  enum { N = sizeof kinds - 1 };
  pg_client_output_got v[N];
  static const uint8_t zero[PG_ID_LEN];
  for (int pass = 0; pass < 2; pass++) {
    bool raw = pass == 0;
    int posts = 0, omark = out_mark(s);
    outputs_call(s, c, v, kinds, N, raw, &posts, NULL, NULL);
    assert_int_equal(posts, 1);
    char ctype[128];
    pthread_mutex_lock(&s->mu);
    snprintf(ctype, sizeof ctype, "%s", s->last_ctype);
    pthread_mutex_unlock(&s->mu);
    assert_string_equal(ctype, "application/octet-stream");
    assert_out_req(s, omark, v, 0, N, raw, 1u << 20); /* the budget: the client's max_response */
    assert_got_all(v, N, raw, true);
    /* what the kinds promise, spelled out */
    assert_false(v[0].info.spent);
    assert_true(v[1].info.spent);
    assert_int_equal(v[1].info.spent_index, 21);
    assert_int_equal(v[1].info.booked_index, 11);
    assert_int_equal(v[2].rc, PG_ERR_NOT_FOUND);
    ASSERT_DIAG(v[2].d, "not found");
    assert_int_equal(v[3].rc, PG_OK); /* the genesis output */
    assert_memory_equal(v[3].info.message_id, zero, PG_ID_LEN);
    assert_int_equal(v[4].rc, PG_OK);
    assert_memory_not_equal(v[4].info.message_id, zero, PG_ID_LEN);
    if (raw) {
      for (size_t i = 0; i < N; i++)
        if (i != 2 && i != 3 && i != 4) assert_int_equal(v[i].raw_rc, PG_OK);
      assert_int_equal(v[3].raw_rc, PG_ERR_NOT_FOUND);
      assert_int_equal(v[4].raw_rc, PG_ERR_NOT_FOUND);
      ASSERT_DIAG(v[4].d, "the node sent none");
      assert_non_null(v[0].raw);
    }
    clear_got(v, N);
    clear_got(v, N); /* twice is fine */
  }

  /* nothing to look up: no request; no items or no client: refused */
  int mark = log_mark(s);
  assert_int_equal(pg_client_outputs_many(c, v, 0, true, &d), PG_OK);
  assert_int_equal(pg_client_outputs_many(c, NULL, 1, true, &d), PG_ERR_INVALID);
  assert_int_equal(pg_client_outputs_many(NULL, v, 1, true, &d), PG_ERR_INVALID);
  assert_int_equal(log_count(s, mark, ""), 0);
  pg_client_output_got_clear(NULL);
  pg_client_free(c);
}

/* Outputs whose message the node has not got: rawLength 0 over the route,
 * a 404 over GET messages/{id}/raw; either way the fields, and raw_rc
 * PG_ERR_NOT_FOUND with nothing kept. */
static void test_outputs_many_noraw(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_GOOD);
  pg_client *c = client_for(s, 0, 0);
  pg_client *rest = client_find(s, true, 0);
  pg_client_output_got v[3];
  int posts = 0, gets = 0, raws = 0;
  outputs_call(s, c, v, "NNG", 3, true, &posts, &gets, &raws);
  assert_int_equal(posts, 1);
  assert_int_equal(gets + raws, 0);
  assert_got_all(v, 3, true, true);
  for (size_t i = 0; i < 3; i++) assert_int_equal(v[i].raw_rc, PG_ERR_NOT_FOUND);
  clear_got(v, 3);
  outputs_call(s, rest, v, "NNG", 3, true, &posts, &gets, &raws);
  assert_int_equal(posts, 0);
  assert_int_equal(gets, 3);
  assert_int_equal(raws, 2); /* not for the genesis output */
  assert_got_all(v, 3, true, false);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(v[i].raw_rc, PG_ERR_NOT_FOUND);
    ASSERT_DIAG(v[i].d, "HTTP 404 from GET /api/v1/messages/");
  }
  assert_int_equal(v[2].raw_rc, PG_ERR_NOT_FOUND);
  clear_got(v, 3);
  pg_client_free(rest);
  pg_client_free(c);
}

/* kinds for n lookups: mostly outputs with their messages, every 97th one
 * the node does not know, every 250th a genesis output, every 101st one
 * without its message. */
static const char *many_kinds(size_t n) {
  static char k[1100];
  assert_true(n < sizeof k);
  for (size_t i = 0; i < n; i++)
    k[i] = i % 97 == 5 ? 'M' : i % 250 == 7 ? 'G' : i % 101 == 9 ? 'N' : 'F';
  k[n] = '\0';
  return k;
}

/* More than 1,000 lookups go in requests of 1,000 ids. */
static void test_outputs_many_split(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_GOOD);
  pg_client *c = client_for(s, 0, 0);
  enum { N = 1003 };
  static pg_client_output_got v[N];
  for (int pass = 0; pass < 2; pass++) {
    int posts = 0, omark = out_mark(s);
    outputs_call(s, c, v, many_kinds(N), N, pass == 0, &posts, NULL, NULL);
    assert_int_equal(posts, 2);
    assert_out_req(s, omark, v, 0, 1000, pass == 0, 1u << 20);
    assert_out_req(s, omark + 1, v, 1000, 3, pass == 0, 1u << 20);
    assert_got_all(v, N, pass == 0, true);
    clear_got(v, N);
  }
  pg_client_free(c);
}

/* A node that answers fewer ids than asked (its cap, or the budget) is asked
 * again for the rest, right after the last one answered, until every
 * lookup is filled. */
static void test_outputs_many_partial(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_GOOD);
  atomic_store(&s->outputs_cap, 2);
  pg_client *c = client_for(s, 0, 0);
  pg_client_output_got v[5];
  int posts = 0, omark = out_mark(s);
  outputs_call(s, c, v, "FMGNF", 5, true, &posts, NULL, NULL);
  assert_int_equal(posts, 3);
  assert_out_req(s, omark, v, 0, 5, true, 1u << 20);
  assert_out_req(s, omark + 1, v, 2, 3, true, 1u << 20);
  assert_out_req(s, omark + 2, v, 4, 1, true, 1u << 20);
  assert_got_all(v, 5, true, true);
  clear_got(v, 5);
  atomic_store(&s->outputs_cap, 0);
  pg_client_free(c);

  /* the least budget: about 260 of these items an answer */
  c = client_find(s, false, PG_OUTPUTS_BUDGET_MIN);
  enum { N = 1003 };
  static pg_client_output_got w[N];
  omark = out_mark(s);
  outputs_call(s, c, w, many_kinds(N), N, true, &posts, NULL, NULL);
  assert_true(posts >= 4 && posts <= BODY_LOG);
  size_t from = 0;
  for (int k = 0; k < posts; k++) {
    pg_outputs_req r;
    out_req_at(s, omark + k, &r);
    size_t at = from;
    while (at < N && memcmp(w[at].id, r.ids[0], PG_OUTPUT_ID_LEN) != 0) at++;
    if (at == N || (k > 0 && at == from))
      fail_msg("request %d does not go on where the last ended", k + 1);
    if (k == 0) assert_int_equal(at, 0);
    assert_out_req(s, omark + k, w, at, N - at < 1000 ? N - at : 1000, true, PG_OUTPUTS_BUDGET_MIN);
    from = at;
  }
  assert_got_all(w, N, true, true);
  clear_got(w, N);
  pg_client_free(c);
}

/* A node whose bytes do not hash to the message id it gives: every lookup
 * of that request fails (the one answered before the lie too, and those not
 * answered) and keeps nothing; the other requests' lookups do not; the
 * route stays in use. */
static void test_outputs_many_lying(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_LIE);
  atomic_store(&s->outputs_next, OUT_GOOD);
  atomic_store(&s->outputs_cap, 2);
  pg_client *c = client_for(s, 0, 0);
  pg_client_output_got v[4];
  int posts = 0;
  outputs_call(s, c, v, "FFFF", 4, true, &posts, NULL, NULL);
  assert_int_equal(posts, 1); /* no GETs, no second try */
  for (size_t i = 0; i < 4; i++)
    assert_bad_outputs(&v[i], "item 2: the message bytes are not its id's");
  clear_got(v, 4);
  atomic_store(&s->outputs_cap, 0);
  outputs_call(s, c, v, "FFFF", 4, true, &posts, NULL, NULL);
  assert_int_equal(posts, 1);
  assert_got_all(v, 4, true, true);
  clear_got(v, 4);

  enum { N = 1001 };
  static pg_client_output_got w[N];
  atomic_store(&s->outputs_mode, OUT_LIE);
  atomic_store(&s->outputs_next, OUT_GOOD);
  outputs_call(s, c, w, many_kinds(N), N, true, &posts, NULL, NULL);
  assert_int_equal(posts, 2);
  for (size_t i = 0; i < 1000; i++)
    assert_bad_outputs(&w[i], "item 2: the message bytes are not its id's");
  assert_got(&w[1000], true, true);
  clear_got(w, N);
  pg_client_free(c);
}

/* An answer that breaks the format fails every lookup of its request as a
 * bad answer, keeping nothing; the route stays in use. */
static void test_outputs_many_malformed(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_client_output_got v[3];
  static const struct {
    int mode;
    bool raw;
    const char *why;
  } cases[] = {
      {OUT_TRUNC, true, "outputs item 3: "},
      {OUT_TRUNC, false, "outputs item 3: truncated in its fields"},
      {OUT_FLAGS, true, "flags 0x00 to a request of flags 0x01"},
      {OUT_FLAGS, false, "flags 0x01 to a request of flags 0x00"},
      {OUT_TRAILING, true, "1 bytes after its last item"},
      {OUT_GENRAW, true, "outputs item 2: message bytes for a genesis output"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    atomic_store(&s->outputs_mode, cases[k].mode);
    int posts = 0;
    outputs_call(s, c, v, "FGF", 3, cases[k].raw, &posts, NULL, NULL);
    assert_int_equal(posts, 1);
    for (size_t i = 0; i < 3; i++) assert_bad_outputs(&v[i], cases[k].why);
    clear_got(v, 3);
  }
  atomic_store(&s->outputs_mode, OUT_GOOD);
  int posts = 0;
  outputs_call(s, c, v, "FGF", 3, true, &posts, NULL, NULL);
  assert_int_equal(posts, 1);
  assert_got_all(v, 3, true, true);
  clear_got(v, 3);
  pg_client_free(c);
}

/* A node whose api.max_body is under a full request (413): the same ids
 * again in requests of half as many, remembered for later calls; one that
 * refuses a request of a single id gets GETs for good. */
static void test_outputs_many_body_cap(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  atomic_store(&s->outputs_mode, OUT_GOOD);
  atomic_store(&s->body_max, 8 + 300 * PG_OUTPUT_ID_LEN); /* 250 ids fit, 500 do not */
  enum { N = 1003 };
  static pg_client_output_got w[N];
  int posts = 0, gets = 0;
  outputs_call(s, c, w, many_kinds(N), N, true, &posts, &gets, NULL);
  assert_int_equal(posts, 2 + 5); /* 1,000 and 500 refused; 4 x 250 and 3 */
  assert_int_equal(gets, 0);
  assert_got_all(w, N, true, true);
  clear_got(w, N);
  assert_int_equal(pg_client_outputs_batch(c), 250);
  outputs_call(s, c, w, many_kinds(N), N, true, &posts, &gets, NULL);
  assert_int_equal(posts, 5); /* the cap is kept */
  assert_got_all(w, N, true, true);
  clear_got(w, N);
  atomic_store(&s->body_max, 8); /* not even one id */
  pg_client_output_got v[3];
  outputs_call(s, c, v, "FGF", 3, true, &posts, &gets, NULL);
  assert_int_equal(posts, 8); /* 250, 125, 62, 31, 15, 7, 3, 1 */
  assert_int_equal(gets, 3);
  clear_got(v, 3);
  assert_int_equal(pg_client_outputs_batch(c), 1);
  outputs_call(s, c, v, "FGF", 3, true, &posts, &gets, NULL);
  assert_int_equal(posts, 0);
  clear_got(v, 3);
  atomic_store(&s->body_max, 0);
  pg_client_free(c);
}

/* A node error that does not say "no such route" fails the request's
 * lookups with its status and text, and the next call posts again. */
static void test_outputs_many_errors(void **state) {
  server *s = *state;
  pg_client *c = client_for(s, 0, 0);
  pg_client_output_got v[3];
  static const int statuses[] = {400, 500, 503}; /* 413: test_outputs_many_body_cap */
  for (size_t k = 0; k < sizeof statuses / sizeof statuses[0]; k++) {
    atomic_store(&s->outputs_mode, OUT_STATUS);
    atomic_store(&s->outputs_status, statuses[k]);
    int posts = 0;
    outputs_call(s, c, v, "FMG", 3, true, &posts, NULL, NULL);
    assert_int_equal(posts, 1); /* and no GET */
    char want[64];
    snprintf(want, sizeof want, "HTTP %d from POST %s", statuses[k], OUTPUTS_PATH);
    for (size_t i = 0; i < 3; i++) {
      assert_int_equal(v[i].rc, pg_client_http_status_err(statuses[k]));
      ASSERT_DIAG(v[i].d, want);
      ASSERT_DIAG(v[i].d, "no outputs here");
      assert_null(v[i].raw);
    }
    clear_got(v, 3);
    atomic_store(&s->outputs_mode, OUT_GOOD);
    outputs_call(s, c, v, "FMG", 3, true, &posts, NULL, NULL);
    assert_int_equal(posts, 1);
    assert_got_all(v, 3, true, true);
    clear_got(v, 3);
  }
  pg_client_free(c);
}

/* b as a lookup through the route gave a: the same but for booked_index,
 * which GET outputs/{id} does not give, and the diags. */
static void assert_same_got(const pg_client_output_got *a, const pg_client_output_got *b) {
  assert_memory_equal(a->id, b->id, PG_OUTPUT_ID_LEN);
  assert_int_equal(a->rc, b->rc);
  assert_int_equal(a->raw_rc, b->raw_rc);
  pg_output_info bi = b->info;
  bi.booked_index = 0;
  assert_info(&a->info, &bi);
  assert_int_equal(a->raw_len, b->raw_len);
  assert_int_equal(a->raw == NULL, b->raw == NULL);
  if (a->raw) assert_memory_equal(a->raw, b->raw, a->raw_len);
}

/* A node without the outputs route answering status: one POST, then GET
 * outputs/{id} a lookup and GET messages/{id}/raw for each message, with
 * the route's results (ref, raw); never a POST again. */
static void outputs_fallback(server *s, int status, const pg_client_output_got *ref) {
  static const char kinds[] = "FFMGNF";
  enum { N = sizeof kinds - 1 };
  atomic_store(&s->outputs_mode, status == 404 ? OUT_NONE : OUT_STATUS);
  atomic_store(&s->outputs_status, status);
  pg_client *c = client_for(s, 0, 0);
  pg_client_output_got v[N];
  int posts = 0, gets = 0, raws = 0;
  outputs_call(s, c, v, kinds, N, true, &posts, &gets, &raws);
  assert_int_equal(posts, 1);
  assert_int_equal(gets, N);
  assert_int_equal(raws, 4); /* not for the genesis output nor the unknown one */
  assert_got_all(v, N, true, false);
  for (size_t i = 0; i < N; i++) assert_same_got(&v[i], &ref[i]);
  clear_got(v, N);

  /* too late for this client: it took the answer for good */
  atomic_store(&s->outputs_mode, OUT_GOOD);
  outputs_call(s, c, v, kinds, N, true, &posts, &gets, &raws);
  assert_int_equal(posts, 0);
  assert_int_equal(gets, N);
  assert_int_equal(raws, 4);
  for (size_t i = 0; i < N; i++) assert_same_got(&v[i], &ref[i]);
  clear_got(v, N);
  outputs_call(s, c, v, kinds, N, false, &posts, &gets, &raws);
  assert_int_equal(posts + raws, 0);
  assert_int_equal(gets, N);
  assert_got_all(v, N, false, false);
  clear_got(v, N);
  pg_client_free(c);
}

static void test_outputs_many_fallback(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_GOOD);
  pg_client *c = client_for(s, 0, 0);
  pg_client_output_got ref[6];
  int posts = 0;
  outputs_call(s, c, ref, "FFMGNF", 6, true, &posts, NULL, NULL);
  assert_int_equal(posts, 1);
  pg_client_free(c);
  static const int statuses[] = {401, 403, 404, 405, 415, 501};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
    outputs_fallback(s, statuses[i], ref);
  clear_got(ref, 6);

  /* the route gone after a partial answer: GETs for the rest */
  atomic_store(&s->outputs_mode, OUT_GOOD);
  atomic_store(&s->outputs_cap, 2);
  atomic_store(&s->outputs_next, OUT_NONE);
  c = client_for(s, 0, 0);
  pg_client_output_got v[6];
  int gets = 0, raws = 0, omark = out_mark(s);
  outputs_call(s, c, v, "FFMGNF", 6, true, &posts, &gets, &raws);
  assert_int_equal(posts, 2);
  assert_out_req(s, omark + 1, v, 2, 4, true, 1u << 20);
  assert_int_equal(gets, 4);
  assert_int_equal(raws, 2);
  assert_got_all(v, 2, true, true);
  assert_got_all(v + 2, 4, true, false);
  clear_got(v, 6);
  atomic_store(&s->outputs_cap, 0);
  pg_client_free(c);
}

/* rest_only, or a max_response under the least budget: GETs only, from
 * the start; the least budget itself: the route. */
static void test_outputs_many_rest_only(void **state) {
  server *s = *state;
  atomic_store(&s->outputs_mode, OUT_GOOD);
  pg_client_output_got v[6];
  int posts = 0, gets = 0, raws = 0;
  for (int k = 0; k < 2; k++) {
    pg_client *c =
        k == 0 ? client_find(s, true, 0) : client_find(s, false, PG_OUTPUTS_BUDGET_MIN - 1);
    for (int call = 0; call < 2; call++) {
      outputs_call(s, c, v, "FFMGNF", 6, true, &posts, &gets, &raws);
      assert_int_equal(posts, 0);
      assert_int_equal(gets, 6);
      assert_int_equal(raws, 4);
      assert_got_all(v, 6, true, false);
      clear_got(v, 6);
    }
    pg_client_free(c);
  }
  pg_client *c = client_find(s, false, PG_OUTPUTS_BUDGET_MIN);
  int omark = out_mark(s);
  outputs_call(s, c, v, "FFMGNF", 6, true, &posts, &gets, &raws);
  assert_int_equal(posts, 1);
  assert_int_equal(gets + raws, 0);
  assert_out_req(s, omark, v, 0, 6, true, PG_OUTPUTS_BUDGET_MIN);
  assert_got_all(v, 6, true, true);
  clear_got(v, 6);
  pg_client_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_info_health_tips, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_submit, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_batches, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_messages, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_errors, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_keep_alive, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_meta, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_split, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_lying, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_body_cap, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_partial, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_fallback, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_rest_only, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_find_many_malformed, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_noraw, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_split, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_partial, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_lying, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_malformed, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_errors, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_body_cap, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_fallback, server_setup, server_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_many_rest_only, server_setup, server_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
