/* Integration test: `p2pgrid node` as a real child process on 127.0.0.1.
 *
 * Starts the daemon with port 0 and a temporary data dir, reads the chosen
 * port from its log, talks TIP-13 REST over libcurl (JSON drafts without
 * parents/nonce, raw bytes built here), waits with deadlines for milestones,
 * feeds it bad input, stops it with SIGTERM (exit 0), restarts it on the
 * same data and finds everything again. A second node requires proof of work.
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "p2pgrid/hash.h"
#include "p2pgrid/hex.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

/* CHRYSALIS.md 1.2 [checked]: BLAKE2b-256("private-tangle")[0..8] LE */
#define PRIVATE_TANGLE_ID 2321005821356827533ull
#define PRIVATE_TANGLE_ID_STR "2321005821356827533"
#define IDX "p2pgrid-it"
#define DEADLINE_START_MS 60000
#define DEADLINE_CONFIRM_MS 90000
#define DEADLINE_STOP_MS 30000

/* ---- time, files ------------------------------------------------------ */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap(void) {
  struct timespec ts = {0, 50 * 1000000L};
  nanosleep(&ts, NULL);
}

static char g_root[] = "/tmp/p2pgrid-it-XXXXXX";

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 ? 0 : -1;
}

/* Reads a whole (small) file; NUL-terminated, caller frees. */
static char *slurp(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len + 1024 + 1 > cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + len, 1, 1024, f);
    len += r;
    if (r == 0) break;
  }
  fclose(f);
  if (!buf) return NULL;
  buf[len] = '\0';
  if (len_out) *len_out = len;
  return buf;
}

/* ---- child processes -------------------------------------------------- */

typedef struct proc {
  pid_t pid;
  char name[32];
  char data_dir[256];
  char log[300];
  unsigned port;
  char base[64];
  int starts;
} proc;

static proc g_a, g_b;

static void dump_log(const proc *p) {
  char *s = slurp(p->log, NULL);
  if (!s) return;
  size_t n = strlen(s);
  const char *tail = n > 6000 ? s + n - 6000 : s;
  fprintf(stderr, "---- %s log (%s), last part ----\n%s---- end of log ----\n", p->name, p->log,
          tail);
  free(s);
}

/* Starts `p2pgrid node` with the data dir and extra args; waits for its
 * "listening on" line (deadline) and fills port/base. */
static void proc_start(proc *p, const char *const *extra) {
  const char *argv[64];
  int argc = 0;
  p->starts++;
  snprintf(p->log, sizeof p->log, "%s/%s.%d.log", g_root, p->name, p->starts);
  argv[argc++] = P2PGRID_BIN;
  argv[argc++] = "node";
  argv[argc++] = "--data-dir";
  argv[argc++] = p->data_dir;
  argv[argc++] = "--bind";
  argv[argc++] = "127.0.0.1";
  argv[argc++] = "--port";
  argv[argc++] = "0";
  argv[argc++] = "--log-level";
  argv[argc++] = "info";
  for (int i = 0; extra && extra[i]; i++) argv[argc++] = extra[i];
  argv[argc] = NULL;

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    execv(P2PGRID_BIN, (char *const *)argv);
    _exit(127);
  }
  p->pid = pid;
  p->port = 0;
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  const char *needle = "listening on http://127.0.0.1:";
  for (;;) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      p->pid = 0;
      dump_log(p);
      fail_msg("%s exited during start (status 0x%x)", p->name, st);
    }
    char *s = slurp(p->log, NULL);
    char *at = s ? strstr(s, needle) : NULL;
    if (at) {
      char *q = at + strlen(needle);
      unsigned port = 0;
      while (isdigit((unsigned char)*q)) port = port * 10 + (unsigned)(*q++ - '0');
      if (*q == '\n' && port > 0 && port < 65536) p->port = port;
    }
    free(s);
    if (p->port) break;
    if (now_ms() > deadline) {
      dump_log(p);
      fail_msg("%s: no 'listening on' line within %d ms", p->name, DEADLINE_START_MS);
    }
    nap();
  }
  snprintf(p->base, sizeof p->base, "http://127.0.0.1:%u", p->port);
}

/* SIGTERM, then wait (deadline) and require exit status 0. */
static void proc_stop(proc *p) {
  if (p->pid <= 0) return;
  assert_int_equal(kill(p->pid, SIGTERM), 0);
  uint64_t deadline = now_ms() + DEADLINE_STOP_MS;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) break;
    if (now_ms() > deadline) {
      kill(p->pid, SIGKILL);
      waitpid(p->pid, &st, 0);
      p->pid = 0;
      dump_log(p);
      fail_msg("%s did not stop within %d ms of SIGTERM", p->name, DEADLINE_STOP_MS);
    }
    nap();
  }
  p->pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    dump_log(p);
    fail_msg("%s: exit status 0x%x after SIGTERM, want exit 0", p->name, st);
  }
}

static void proc_kill(proc *p) {
  if (p->pid > 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
  }
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct resp {
  long status;
  char *body;
  size_t len;
  char ctype[128];
  char location[256];
  char allow[128];
  char acao[32];
  json_t *json; /* parsed body if JSON */
} resp;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  resp *r = ud;
  size_t n = size * nmemb;
  char *nb = realloc(r->body, r->len + n + 1);
  if (!nb) return 0;
  memcpy(nb + r->len, p, n);
  r->len += n;
  nb[r->len] = '\0';
  r->body = nb;
  return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
  const char *v = line + nl + 1;
  size_t vl = n - nl - 1;
  while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
  if (vl >= cap) vl = cap - 1;
  memcpy(out, v, vl);
  out[vl] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  resp *r = ud;
  size_t n = size * nmemb;
  header_value(p, n, "Content-Type", r->ctype, sizeof r->ctype);
  header_value(p, n, "Location", r->location, sizeof r->location);
  header_value(p, n, "Allow", r->allow, sizeof r->allow);
  header_value(p, n, "Access-Control-Allow-Origin", r->acao, sizeof r->acao);
  return n;
}

static void resp_free(resp *r) {
  free(r->body);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

/* One request. ctype NULL: no body. hdr: one extra header line or NULL. */
static void http(const proc *p, const char *method, const char *path, const char *ctype,
                 const void *body, size_t len, const char *hdr, resp *r) {
  char url[1024];
  char ct[160];
  struct curl_slist *hs = NULL;
  memset(r, 0, sizeof *r);
  snprintf(url, sizeof url, "%s%s", p->base, path);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (ctype) {
    snprintf(ct, sizeof ct, "Content-Type:%s%s", ctype[0] ? " " : "", ctype);
    hs = curl_slist_append(hs, ct);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  if (hdr) hs = curl_slist_append(hs, hdr);
  if (hs) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    fail_msg("%s %s%s: %s", method, p->base, path, curl_easy_strerror(cc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hs);
  if (r->body && strncmp(r->ctype, "application/json", 16) == 0)
    r->json = json_loadb(r->body, r->len, 0, NULL);
}

static void get(const proc *p, const char *path, resp *r) { http(p, "GET", path, NULL, NULL, 0, NULL, r); }

/* GET expecting 200 and {"data":...}; returns the data (borrowed from r). */
static json_t *get_data(const proc *p, const char *path, resp *r) {
  get(p, path, r);
  if (r->status != 200 || !r->json) fail_msg("GET %s: status %ld body %s", path, r->status, r->body ? r->body : "");
  json_t *d = json_object_get(r->json, "data");
  assert_non_null(d);
  assert_null(json_object_get(r->json, "error"));
  return d;
}

static bool contains_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0) return true;
  return false;
}

/* Checks a 4xx/5xx answer: status, JSON error envelope with code as a
 * string equal to the status, a message, and (optional) a word in it. */
static void expect_error(const resp *r, long status, const char *needle, const char *what) {
  if (r->status != status)
    fail_msg("%s: status %ld, want %ld; body %s", what, r->status, status, r->body ? r->body : "");
  if (strncmp(r->ctype, "application/json", 16) != 0)
    fail_msg("%s: Content-Type '%s', want application/json", what, r->ctype);
  if (!r->json) fail_msg("%s: body is not JSON: %s", what, r->body ? r->body : "");
  json_t *e = json_object_get(r->json, "error");
  if (!json_is_object(e)) fail_msg("%s: no error object: %s", what, r->body);
  json_t *code = json_object_get(e, "code");
  char want[16];
  snprintf(want, sizeof want, "%ld", status);
  if (!json_is_string(code) || strcmp(json_string_value(code), want) != 0)
    fail_msg("%s: error.code must be the string \"%s\": %s", what, want, r->body);
  const char *m = json_string_value(json_object_get(e, "message"));
  if (!m || !*m) fail_msg("%s: empty error message: %s", what, r->body);
  if (needle && !contains_ci(m, needle))
    fail_msg("%s: error message '%s' does not mention '%s'", what, m, needle);
  if (strcmp(r->acao, "*") != 0) fail_msg("%s: no Access-Control-Allow-Origin: *", what);
}

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v)) fail_msg("field '%s' is not a string", k);
  return json_string_value(v);
}

static long long jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v)) fail_msg("field '%s' is not an integer number", k);
  return (long long)json_integer_value(v);
}

static bool is_hex64(const char *s) {
  if (!s || strlen(s) != 64) return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
  return true;
}

/* ---- messages ----------------------------------------------------------- */

#define MAX_MSGS 8

typedef struct sent {
  char id[65];
  uint8_t raw[512]; /* bytes as built here (raw posts only) */
  size_t raw_len;
  long long ms_index; /* referencedByMilestoneIndex once known */
} sent;

static sent g_msgs[MAX_MSGS];
static size_t g_nmsgs;
static char g_ms1_id[65];
static long long g_confirmed_before_stop;

static void hexs(const char *s, char *out) { pg_hex_encode((const uint8_t *)s, strlen(s), out); }

/* POST a JSON draft (payload only); returns the id. */
static void post_json_data(const proc *p, const char *text, char id[65]) {
  char ih[2 * 64 + 1], dh[2 * 128 + 1], body[800];
  resp r;
  hexs(IDX, ih);
  hexs(text, dh);
  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"%s\"}}", ih, dh);
  http(p, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
  if (r.status != 201 || !r.json) fail_msg("POST json: %ld %s", r.status, r.body ? r.body : "");
  const char *mid = jstr(json_object_get(r.json, "data"), "messageId");
  assert_true(is_hex64(mid));
  char loc[128];
  snprintf(loc, sizeof loc, "/api/v1/messages/%.64s", mid);
  assert_string_equal(r.location, loc);
  memcpy(id, mid, 65);
  resp_free(&r);
}

/* Builds message bytes: network id, parents, indexation payload, nonce. */
static size_t build_msg(uint8_t *out, size_t cap, uint64_t network_id, const uint8_t (*parents)[32],
                        size_t np, const char *index, const char *data, uint64_t nonce) {
  size_t il = strlen(index), dl = strlen(data);
  size_t plen = 4 + 2 + il + 4 + dl;
  size_t n = 8 + 1 + 32 * np + 4 + plen + 8, o = 0;
  assert_true(n <= cap);
  for (int i = 0; i < 8; i++) out[o++] = (uint8_t)(network_id >> (8 * i));
  out[o++] = (uint8_t)np;
  for (size_t i = 0; i < np; i++, o += 32) memcpy(out + o, parents[i], 32);
  for (int i = 0; i < 4; i++) out[o++] = (uint8_t)(plen >> (8 * i));
  out[o++] = 2, out[o++] = 0, out[o++] = 0, out[o++] = 0; /* payload type 2 */
  out[o++] = (uint8_t)il, out[o++] = (uint8_t)(il >> 8);
  memcpy(out + o, index, il), o += il;
  for (int i = 0; i < 4; i++) out[o++] = (uint8_t)(dl >> (8 * i));
  memcpy(out + o, data, dl), o += dl;
  for (int i = 0; i < 8; i++) out[o++] = (uint8_t)(nonce >> (8 * i));
  assert_int_equal(o, n);
  return n;
}

/* Parents from GET /tips (1..8, sorted, lowercase). */
static size_t tips(const proc *p, uint8_t (*ids)[32]) {
  resp r;
  json_t *d = get_data(p, "/api/v1/tips", &r);
  json_t *a = json_object_get(d, "tipMessageIds");
  assert_true(json_is_array(a));
  size_t n = json_array_size(a);
  assert_true(n >= 1 && n <= 8);
  for (size_t i = 0; i < n; i++) {
    const char *h = json_string_value(json_array_get(a, i));
    assert_true(is_hex64(h));
    assert_int_equal(pg_hex_decode_exact(h, ids[i], 32), 0);
    if (i) assert_true(memcmp(ids[i - 1], ids[i], 32) < 0);
  }
  resp_free(&r);
  return n;
}

static void post_raw(const proc *p, const uint8_t *b, size_t n, resp *r) {
  http(p, "POST", "/api/v1/messages", "application/octet-stream", b, n, NULL, r);
}

/* ---- group setup: node A (coordinator, no PoW) ------------------------- */

static const char *const A_ARGS[] = {
    "--set", "coordinator.enabled=true", "--set", "coordinator.generate=true",
    "--set", "coordinator.interval=1s",  "--set", "node.min_pow_score=0",
    "--set", "api.max_body=64k",         NULL,
};

static int group_setup(void **state) {
  (void)state;
  if (!mkdtemp(g_root)) return -1;
  if (pg_crypto_init() != 0) return -1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  snprintf(g_a.name, sizeof g_a.name, "node-a");
  snprintf(g_a.data_dir, sizeof g_a.data_dir, "%s/a", g_root);
  snprintf(g_b.name, sizeof g_b.name, "node-b");
  snprintf(g_b.data_dir, sizeof g_b.data_dir, "%s/b", g_root);
  fprintf(stderr, "temporary directory %s\n", g_root);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  proc_kill(&g_a);
  proc_kill(&g_b);
  curl_global_cleanup();
  if (!getenv("PG_KEEP_TMP")) (void)nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_start_info_health(void **state) {
  (void)state;
  proc_start(&g_a, A_ARGS);
  resp r;
  json_t *d = get_data(&g_a, "/api/v1/info", &r);
  assert_string_equal(jstr(d, "name"), "p2pgrid");
  assert_true(strlen(jstr(d, "version")) > 0);
  assert_string_equal(jstr(d, "networkId"), "private-tangle");
  assert_string_equal(jstr(d, "bech32HRP"), "atoi");
  assert_int_equal(jint(d, "minPoWScore"), 0);
  assert_true(json_is_boolean(json_object_get(d, "isHealthy")));
  (void)jint(d, "latestMilestoneIndex");
  (void)jint(d, "confirmedMilestoneIndex");
  assert_int_equal(jint(d, "pruningIndex"), 0);
  assert_true(json_is_number(json_object_get(d, "messagesPerSecond")));
  assert_true(json_is_number(json_object_get(d, "referencedMessagesPerSecond")));
  assert_true(json_is_number(json_object_get(d, "referencedRate")));
  json_t *f = json_object_get(d, "features");
  assert_true(json_is_array(f));
  assert_string_equal(json_string_value(json_array_get(f, 0)), "PoW");
  assert_string_equal(r.acao, "*");
  resp_free(&r);

  /* the coordinator issues milestone 1 at start: /health turns 200 */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    get(&g_a, "/health", &r);
    long st = r.status;
    if (st != 200 && st != 503) fail_msg("/health answered %ld", st);
    if (st == 503) expect_error(&r, 503, "healthy", "/health before milestone");
    resp_free(&r);
    if (st == 200) break;
    if (now_ms() > deadline) {
      dump_log(&g_a);
      fail_msg("/health not 200 within %d ms", DEADLINE_CONFIRM_MS);
    }
    nap();
  }
  d = get_data(&g_a, "/api/v1/info", &r);
  assert_true(jint(d, "confirmedMilestoneIndex") >= 1);
  assert_true(json_is_true(json_object_get(d, "isHealthy")));
  resp_free(&r);

  d = get_data(&g_a, "/api/v1/milestones/1", &r);
  assert_int_equal(jint(d, "index"), 1);
  assert_true(is_hex64(jstr(d, "messageId")));
  assert_true(jint(d, "timestamp") > 1600000000);
  memcpy(g_ms1_id, jstr(d, "messageId"), 65);
  resp_free(&r);

  char path[160];
  snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_ms1_id);
  d = get_data(&g_a, path, &r);
  assert_int_equal(jint(d, "milestoneIndex"), 1);
  assert_int_equal(jint(d, "referencedByMilestoneIndex"), 1);
  resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/messages/%.64s", g_ms1_id);
  d = get_data(&g_a, path, &r);
  assert_int_equal(jint(json_object_get(d, "payload"), "type"), 1);
  assert_string_equal(jstr(d, "networkId"), PRIVATE_TANGLE_ID_STR);
  resp_free(&r);

  /* CORS preflight */
  http(&g_a, "OPTIONS", "/api/v1/messages", NULL, NULL, 0,
       "Access-Control-Request-Method: POST", &r);
  assert_int_equal(r.status, 204);
  assert_string_equal(r.acao, "*");
  resp_free(&r);
}

static void test_submit_and_confirm(void **state) {
  (void)state;
  resp r;
  char path[256];
  /* three JSON drafts without networkId, parents, nonce */
  for (int i = 0; i < 3; i++) {
    char text[64];
    snprintf(text, sizeof text, "json message %d", i);
    post_json_data(&g_a, text, g_msgs[g_nmsgs++].id);
  }
  /* one raw message built here on the node's tips */
  uint8_t parents[8][32];
  size_t np = tips(&g_a, parents);
  sent *s = &g_msgs[g_nmsgs++];
  s->raw_len = build_msg(s->raw, sizeof s->raw, PRIVATE_TANGLE_ID, (const uint8_t(*)[32])parents,
                         np, IDX, "raw message", 0);
  post_raw(&g_a, s->raw, s->raw_len, &r);
  if (r.status != 201) fail_msg("POST raw: %ld %s", r.status, r.body ? r.body : "");
  uint8_t want[32];
  char want_hex[65];
  pg_blake2b256(s->raw, s->raw_len, want);
  pg_hex_encode(want, 32, want_hex);
  assert_string_equal(jstr(json_object_get(r.json, "data"), "messageId"), want_hex);
  memcpy(s->id, want_hex, 65);
  resp_free(&r);
  /* posting the same bytes again is fine (idempotent) */
  post_raw(&g_a, s->raw, s->raw_len, &r);
  assert_int_equal(r.status, 201);
  assert_string_equal(jstr(json_object_get(r.json, "data"), "messageId"), want_hex);
  resp_free(&r);

  /* the JSON form of a draft message: filled network id, parents, nonce */
  snprintf(path, sizeof path, "/api/v1/messages/%.64s", g_msgs[0].id);
  json_t *d = get_data(&g_a, path, &r);
  assert_string_equal(jstr(d, "networkId"), PRIVATE_TANGLE_ID_STR);
  (void)jstr(d, "nonce");
  json_t *pa = json_object_get(d, "parentMessageIds");
  assert_true(json_is_array(pa) && json_array_size(pa) >= 1 && json_array_size(pa) <= 8);
  json_t *pl = json_object_get(d, "payload");
  assert_int_equal(jint(pl, "type"), 2);
  char ih[129], dh[129];
  hexs(IDX, ih);
  hexs("json message 0", dh);
  assert_string_equal(jstr(pl, "index"), ih);
  assert_string_equal(jstr(pl, "data"), dh);
  resp_free(&r);

  /* raw read-back is byte-identical, without envelope */
  snprintf(path, sizeof path, "/api/v1/messages/%.64s/raw", s->id);
  get(&g_a, path, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "application/octet-stream");
  assert_int_equal(r.len, s->raw_len);
  assert_memory_equal(r.body, s->raw, s->raw_len);
  resp_free(&r);

  /* children of the raw message's first parent include it */
  char p0[65];
  pg_hex_encode(parents[0], 32, p0);
  snprintf(path, sizeof path, "/api/v1/messages/%.64s/children", p0);
  d = get_data(&g_a, path, &r);
  assert_string_equal(jstr(d, "messageId"), p0);
  assert_int_equal(jint(d, "maxResults"), 1000);
  json_t *ch = json_object_get(d, "childrenMessageIds");
  assert_int_equal(jint(d, "count"), (long long)json_array_size(ch));
  bool found = false;
  for (size_t i = 0; i < json_array_size(ch); i++)
    if (strcmp(json_string_value(json_array_get(ch, i)), s->id) == 0) found = true;
  assert_true(found);
  resp_free(&r);

  /* wait (deadline) until milestones reference every message */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    size_t done = 0;
    for (size_t i = 0; i < g_nmsgs; i++) {
      snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_msgs[i].id);
      d = get_data(&g_a, path, &r);
      assert_string_equal(jstr(d, "messageId"), g_msgs[i].id);
      assert_true(json_is_array(json_object_get(d, "parentMessageIds")));
      assert_true(json_is_boolean(json_object_get(d, "isSolid")));
      json_t *ref = json_object_get(d, "referencedByMilestoneIndex");
      if (ref) {
        assert_true(json_is_integer(ref));
        g_msgs[i].ms_index = json_integer_value(ref);
        assert_true(g_msgs[i].ms_index >= 1);
        assert_string_equal(jstr(d, "ledgerInclusionState"), "noTransaction");
        assert_null(json_object_get(d, "shouldPromote"));
        assert_null(json_object_get(d, "shouldReattach"));
        assert_null(json_object_get(d, "conflictReason"));
        assert_true(json_is_true(json_object_get(d, "isSolid")));
        done++;
      } else {
        assert_null(json_object_get(d, "ledgerInclusionState"));
        assert_true(json_is_boolean(json_object_get(d, "shouldPromote")));
        assert_true(json_is_boolean(json_object_get(d, "shouldReattach")));
      }
      resp_free(&r);
    }
    if (done == g_nmsgs) break;
    if (now_ms() > deadline) {
      dump_log(&g_a);
      fail_msg("only %zu of %zu messages referenced within %d ms", done, g_nmsgs,
               DEADLINE_CONFIRM_MS);
    }
    nap();
  }

  /* index lookup finds all four */
  snprintf(path, sizeof path, "/api/v1/messages?index=%s", ih);
  d = get_data(&g_a, path, &r);
  assert_string_equal(jstr(d, "index"), ih);
  assert_int_equal(jint(d, "maxResults"), 1000);
  assert_int_equal(jint(d, "count"), (long long)g_nmsgs);
  json_t *ids = json_object_get(d, "messageIds");
  assert_int_equal(json_array_size(ids), g_nmsgs);
  for (size_t i = 0; i < g_nmsgs; i++) {
    bool f = false;
    for (size_t k = 0; k < json_array_size(ids); k++)
      if (strcmp(json_string_value(json_array_get(ids, k)), g_msgs[i].id) == 0) f = true;
    assert_true(f);
  }
  resp_free(&r);
  /* an index nobody used: 200, count 0 */
  d = get_data(&g_a, "/api/v1/messages?index=00ff", &r);
  assert_int_equal(jint(d, "count"), 0);
  resp_free(&r);
}

static void check_data_intact(const proc *p) {
  resp r;
  char path[256];
  for (size_t i = 0; i < g_nmsgs; i++) {
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_msgs[i].id);
    json_t *d = get_data(p, path, &r);
    assert_int_equal(jint(d, "referencedByMilestoneIndex"), g_msgs[i].ms_index);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/messages/%.64s", g_msgs[i].id);
    (void)get_data(p, path, &r);
    resp_free(&r);
    if (g_msgs[i].raw_len) {
      snprintf(path, sizeof path, "/api/v1/messages/%.64s/raw", g_msgs[i].id);
      get(p, path, &r);
      assert_int_equal(r.status, 200);
      assert_int_equal(r.len, g_msgs[i].raw_len);
      assert_memory_equal(r.body, g_msgs[i].raw, r.len);
      resp_free(&r);
    }
  }
  char ih[129];
  hexs(IDX, ih);
  snprintf(path, sizeof path, "/api/v1/messages?index=%s", ih);
  json_t *d = get_data(p, path, &r);
  assert_int_equal(jint(d, "count"), (long long)g_nmsgs);
  resp_free(&r);
  d = get_data(p, "/api/v1/milestones/1", &r);
  assert_string_equal(jstr(d, "messageId"), g_ms1_id);
  resp_free(&r);
}

static void test_bad_input(void **state) {
  (void)state;
  resp r;
  char body[4096];
  char ih[129];
  hexs(IDX, ih);
  const char *J = "application/json";

  http(&g_a, "POST", "/api/v1/messages", J, "{\"payload\": {", 13, NULL, &r);
  expect_error(&r, 400, "JSON", "malformed JSON");
  resp_free(&r);

  http(&g_a, "POST", "/api/v1/messages", J, "[1,2]", 5, NULL, &r);
  expect_error(&r, 400, NULL, "JSON array instead of object");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"payload\":{\"type\":\"two\",\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "type", "payload type as a string");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"networkId\":123,\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "networkId", "networkId as a number");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"zz\",\"data\":\"00\"}}");
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "index", "bad hex in payload index");
  resp_free(&r);

  /* nine parents */
  size_t o = (size_t)snprintf(body, sizeof body, "{\"parentMessageIds\":[");
  for (int i = 0; i < 9; i++)
    o += (size_t)snprintf(body + o, sizeof body - o, "%s\"%064x\"", i ? "," : "", i + 1);
  snprintf(body + o, sizeof body - o, "],\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "parent", "nine parents");
  resp_free(&r);

  http(&g_a, "POST", "/api/v1/messages", J, "{\"payload\":{\"type\":7}}", 22, NULL, &r);
  expect_error(&r, 400, "type", "unknown payload type");
  resp_free(&r);

  snprintf(body, sizeof body, "{\"networkId\":\"1\",\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_a, "POST", "/api/v1/messages", J, body, strlen(body), NULL, &r);
  expect_error(&r, 400, "network", "foreign network id (JSON)");
  resp_free(&r);

  /* body over api.max_body (64k here): refused with 413, announced by
   * Content-Length (the client waits for 100-continue) and sent outright */
  size_t big_len = 70 * 1024;
  char *big = malloc(big_len);
  assert_non_null(big);
  memset(big, ' ', big_len);
  big[0] = '{';
  big[big_len - 1] = '}';
  http(&g_a, "POST", "/api/v1/messages", J, big, big_len, "Expect: 100-continue", &r);
  expect_error(&r, 413, "limit", "body over max_body (Expect: 100-continue)");
  resp_free(&r);
  http(&g_a, "POST", "/api/v1/messages", J, big, big_len, "Expect:", &r);
  expect_error(&r, 413, "limit", "body over max_body");
  resp_free(&r);
  free(big);

  /* raw: garbage, wrong network, trailing bytes, unknown payload type */
  http(&g_a, "POST", "/api/v1/messages", "application/octet-stream", "garbage!", 8, NULL, &r);
  expect_error(&r, 400, NULL, "raw garbage");
  resp_free(&r);
  uint8_t parents[8][32], m[600];
  size_t np = tips(&g_a, parents);
  size_t n = build_msg(m, sizeof m, 42, (const uint8_t(*)[32])parents, np, IDX, "x", 0);
  post_raw(&g_a, m, n, &r);
  expect_error(&r, 400, "network", "raw foreign network id");
  resp_free(&r);
  n = build_msg(m, sizeof m, PRIVATE_TANGLE_ID, (const uint8_t(*)[32])parents, np, IDX, "x", 0);
  m[n] = 0;
  post_raw(&g_a, m, n + 1, &r);
  expect_error(&r, 400, NULL, "raw trailing byte");
  resp_free(&r);
  m[9 + 32 * np + 4] = 9; /* payload type 9 */
  post_raw(&g_a, m, n, &r);
  expect_error(&r, 400, NULL, "raw unknown payload type");
  resp_free(&r);
  http(&g_a, "POST", "/api/v1/messages", "application/octet-stream", "", 0, NULL, &r);
  expect_error(&r, 400, NULL, "raw empty");
  resp_free(&r);

  /* content types */
  http(&g_a, "POST", "/api/v1/messages", "text/plain", "hello", 5, NULL, &r);
  expect_error(&r, 415, "Content-Type", "text/plain");
  resp_free(&r);
  http(&g_a, "POST", "/api/v1/messages", "", "hello", 5, NULL, &r);
  expect_error(&r, 415, "Content-Type", "no Content-Type");
  resp_free(&r);

  /* ids, indexes, milestones, routes, methods */
  get(&g_a, "/api/v1/messages/zz", &r);
  expect_error(&r, 400, "message id", "bad hex id");
  resp_free(&r);
  get(&g_a, "/api/v1/messages/ABCDEF0123/metadata", &r);
  expect_error(&r, 400, "message id", "short id");
  resp_free(&r);
  const char *unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const char *suffixes[] = {"", "/metadata", "/raw", "/children"};
  for (int i = 0; i < 4; i++) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s%s", unknown, suffixes[i]);
    get(&g_a, path, &r);
    expect_error(&r, 404, "not found", path);
    resp_free(&r);
  }
  get(&g_a, "/api/v1/messages?index=zz", &r);
  expect_error(&r, 400, "hex", "index not hex");
  resp_free(&r);
  char longix[2 * 65 + 32];
  snprintf(longix, sizeof longix, "/api/v1/messages?index=");
  for (int i = 0; i < 65; i++) strcat(longix, "ab");
  get(&g_a, longix, &r);
  expect_error(&r, 400, "64", "index of 65 bytes");
  resp_free(&r);
  get(&g_a, "/api/v1/messages", &r);
  expect_error(&r, 400, "index", "index missing");
  resp_free(&r);
  get(&g_a, "/api/v1/milestones/abc", &r);
  expect_error(&r, 400, "milestone index", "milestone index not a number");
  resp_free(&r);
  get(&g_a, "/api/v1/milestones/4000000000", &r);
  expect_error(&r, 404, "not found", "unknown milestone");
  resp_free(&r);
  get(&g_a, "/api/v1/nothing", &r);
  expect_error(&r, 404, "route", "unknown route");
  resp_free(&r);
  get(&g_a, "/", &r);
  expect_error(&r, 404, NULL, "root");
  resp_free(&r);
  http(&g_a, "DELETE", "/api/v1/info", NULL, NULL, 0, NULL, &r);
  expect_error(&r, 405, "DELETE", "DELETE /info");
  assert_non_null(strstr(r.allow, "GET"));
  resp_free(&r);
  http(&g_a, "PUT", "/api/v1/messages", J, "{}", 2, NULL, &r);
  expect_error(&r, 405, NULL, "PUT /messages");
  resp_free(&r);

  /* still serving, data intact */
  resp_free(&r);
  (void)get_data(&g_a, "/api/v1/info", &r);
  resp_free(&r);
  check_data_intact(&g_a);
  post_json_data(&g_a, "after bad input", g_msgs[g_nmsgs].id);
  g_nmsgs++;
  /* wait for it to be referenced too, so the restart test can compare */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_msgs[g_nmsgs - 1].id);
    json_t *d = get_data(&g_a, path, &r);
    json_t *ref = json_object_get(d, "referencedByMilestoneIndex");
    if (ref) g_msgs[g_nmsgs - 1].ms_index = json_integer_value(ref);
    resp_free(&r);
    if (ref) break;
    if (now_ms() > deadline) fail_msg("message after bad input not referenced in time");
    nap();
  }
}

static void test_restart(void **state) {
  (void)state;
  resp r;
  json_t *d = get_data(&g_a, "/api/v1/info", &r);
  g_confirmed_before_stop = jint(d, "confirmedMilestoneIndex");
  resp_free(&r);
  proc_stop(&g_a);

  proc_start(&g_a, A_ARGS);
  check_data_intact(&g_a);
  d = get_data(&g_a, "/api/v1/info", &r);
  assert_true(jint(d, "confirmedMilestoneIndex") >= g_confirmed_before_stop);
  resp_free(&r);
  /* the coordinator goes on from where it was, with the same key */
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    d = get_data(&g_a, "/api/v1/info", &r);
    long long c = jint(d, "confirmedMilestoneIndex");
    resp_free(&r);
    if (c > g_confirmed_before_stop) break;
    if (now_ms() > deadline) {
      dump_log(&g_a);
      fail_msg("no new milestone after restart within %d ms", DEADLINE_CONFIRM_MS);
    }
    nap();
  }
  /* and new messages still get confirmed */
  char id[65];
  post_json_data(&g_a, "after restart", id);
  deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", id);
    d = get_data(&g_a, path, &r);
    bool ref = json_object_get(d, "referencedByMilestoneIndex") != NULL;
    resp_free(&r);
    if (ref) break;
    if (now_ms() > deadline) fail_msg("message after restart not referenced in time");
    nap();
  }
  proc_stop(&g_a);
}

/* Node B: min PoW score 1000, no coordinator. */
static void test_pow_node(void **state) {
  (void)state;
  static const char *const B_ARGS[] = {"--set", "node.min_pow_score=1000", NULL};
  static const char *const B_NOPOW_ARGS[] = {"--set", "node.min_pow_score=1000", "--set",
                                             "api.remote_pow=false", NULL};
  resp r;
  proc_start(&g_b, B_ARGS);
  json_t *d = get_data(&g_b, "/api/v1/info", &r);
  assert_int_equal(jint(d, "minPoWScore"), 1000);
  resp_free(&r);
  /* no coordinator and no milestone keys: healthy while running */
  get(&g_b, "/health", &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);

  uint8_t parents[8][32], m[600];
  size_t np = tips(&g_b, parents);
  size_t n = build_msg(m, sizeof m, PRIVATE_TANGLE_ID, (const uint8_t(*)[32])parents, np, IDX,
                       "no work done", 0);
  post_raw(&g_b, m, n, &r);
  expect_error(&r, 400, "proof of work", "raw message with nonce 0 on a PoW node");
  resp_free(&r);

  /* the node does the PoW for a draft */
  char id[65];
  post_json_data(&g_b, "node did the work", id);
  char path[160];
  snprintf(path, sizeof path, "/api/v1/messages/%.64s", id);
  d = get_data(&g_b, path, &r);
  assert_string_equal(jstr(d, "networkId"), PRIVATE_TANGLE_ID_STR);
  resp_free(&r);
  proc_stop(&g_b);

  /* same data without remote PoW: drafts without nonce get 503 */
  proc_start(&g_b, B_NOPOW_ARGS);
  d = get_data(&g_b, "/api/v1/info", &r);
  assert_int_equal(json_array_size(json_object_get(d, "features")), 0);
  resp_free(&r);
  char ih[129], body[400];
  hexs(IDX, ih);
  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"00\"}}", ih);
  http(&g_b, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
  expect_error(&r, 503, "proof of work", "draft without nonce, remote PoW off");
  resp_free(&r);
  post_raw(&g_b, m, n, &r);
  expect_error(&r, 400, "proof of work", "raw nonce 0, remote PoW off");
  resp_free(&r);
  (void)get_data(&g_b, path, &r); /* the earlier message survived the restart */
  resp_free(&r);
  proc_stop(&g_b);
}

/* Configuration errors: exit status 2 and a message naming file and line. */
static void test_bad_config(void **state) {
  (void)state;
  char ini[300], cmd[1200];
  snprintf(ini, sizeof ini, "%s/bad.ini", g_root);
  FILE *f = fopen(ini, "w");
  assert_non_null(f);
  fputs("[node]\nnetwork = private-tangle\n[api]\nport = notaport\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' node --config '%s' --data-dir '%s/c' 2>'%s/bad.out'",
           P2PGRID_BIN, ini, g_root, g_root);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "%s/bad.out", g_root);
  char *out = slurp(cmd, NULL);
  assert_non_null(out);
  char want[320];
  snprintf(want, sizeof want, "%s:4:", ini);
  if (!strstr(out, want) || !strstr(out, "port")) fail_msg("config error '%s' lacks '%s'", out, want);
  free(out);

  f = fopen(ini, "w");
  assert_non_null(f);
  fputs("[api]\nprot = 1\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' node --config '%s' --data-dir '%s/c' 2>'%s/bad.out'",
           P2PGRID_BIN, ini, g_root, g_root);
  st = system(cmd);
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "%s/bad.out", g_root);
  out = slurp(cmd, NULL);
  assert_non_null(out);
  if (!strstr(out, "prot")) fail_msg("unknown key not named: '%s'", out);
  free(out);

  snprintf(cmd, sizeof cmd, "'%s' node --config '%s/missing.ini' 2>'%s/bad.out'", P2PGRID_BIN,
           g_root, g_root);
  st = system(cmd);
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "'%s' frobnicate 2>/dev/null", P2PGRID_BIN);
  st = system(cmd);
  assert_int_equal(WEXITSTATUS(st), 2);
  snprintf(cmd, sizeof cmd, "'%s' --help >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
  snprintf(cmd, sizeof cmd, "'%s' help node >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
  snprintf(cmd, sizeof cmd, "'%s' node --help >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
  snprintf(cmd, sizeof cmd, "'%s' version >/dev/null", P2PGRID_BIN);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_info_health),
      cmocka_unit_test(test_submit_and_confirm),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_pow_node),
      cmocka_unit_test(test_bad_config),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
