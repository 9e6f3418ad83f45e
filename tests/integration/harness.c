/* harness.c — see harness.h. */
#include "harness.h"

#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

/* ---- time, files ------------------------------------------------------ */

uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void nap(void) {
  struct timespec ts = {0, 50 * 1000000L};
  nanosleep(&ts, NULL);
}

char g_root[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 ? 0 : -1;
}

int harness_mkroot(const char *tmpl) {
  size_t n = strlen(tmpl);
  if (n >= sizeof g_root) return -1;
  memcpy(g_root, tmpl, n + 1);
  return mkdtemp(g_root) ? 0 : -1;
}

void harness_rmroot(void) {
  if (!getenv("PG_KEEP_TMP")) (void)nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads a whole (small) file; NUL-terminated, caller frees. */
char *slurp(const char *path, size_t *len_out) {
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

void dump_log(const proc *p) {
  char *s = slurp(p->log, NULL);
  if (!s) return;
  size_t n = strlen(s);
  const char *tail = n > 6000 ? s + n - 6000 : s;
  fprintf(stderr, "---- %s log (%s), last part ----\n%s---- end of log ----\n", p->name, p->log,
          tail);
  free(s);
}

void harness_child_dies_with_parent(pid_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(128 + SIGKILL);
}

pid_t spawn_logged(const char *const *argv, const char *log) {
  pid_t parent = getpid();
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    harness_child_dies_with_parent(parent);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  return pid;
}

/* Spawns argv (argv[0] = the binary) logging to a new p->log and waits
 * (deadline) for its "listening on http://127.0.0.1:PORT" line. */
static void spawn_and_wait_listening(proc *p, const char *const *argv) {
  pid_t pid = spawn_logged(argv, p->log);
  p->pid = pid;
  p->port = 0;
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  const char *needles[] = {"listening on http://127.0.0.1:", "listening on https://127.0.0.1:"};
  bool tls = false;
  for (;;) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      p->pid = 0;
      dump_log(p);
      fail_msg("%s exited during start (status 0x%x)", p->name, st);
    }
    char *s = slurp(p->log, NULL);
    for (int k = 0; k < 2 && !p->port; k++) {
      char *at = s ? strstr(s, needles[k]) : NULL;
      if (!at) continue;
      char *q = at + strlen(needles[k]);
      unsigned port = 0;
      while (isdigit((unsigned char)*q)) port = port * 10 + (unsigned)(*q++ - '0');
      if ((*q == '\n' || *q == ' ' || *q == '"') && port > 0 && port < 65536) /* '"': JSON logs */
        p->port = port, tls = k == 1;
    }
    free(s);
    if (p->port) break;
    if (now_ms() > deadline) {
      dump_log(p);
      fail_msg("%s: no 'listening on' line within %d ms", p->name, DEADLINE_START_MS);
    }
    nap();
  }
  snprintf(p->base, sizeof p->base, "%s://127.0.0.1:%u", tls ? "https" : "http", p->port);
}

/* Starts `p2pgrid node` with the data dir and extra args; waits for its
 * "listening on" line (deadline) and fills port/base. */
void proc_start(proc *p, const char *const *extra) {
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
  bool port_given = false; /* a restart passes its old port: --port once */
  for (int i = 0; extra && extra[i]; i++) port_given |= strcmp(extra[i], "--port") == 0;
  if (!port_given) {
    argv[argc++] = "--port";
    argv[argc++] = "0";
  }
  argv[argc++] = "--log-level";
  argv[argc++] = "info";
  for (int i = 0; extra && extra[i]; i++) argv[argc++] = extra[i];
  argv[argc] = NULL;
  spawn_and_wait_listening(p, argv);
}

void proc_start_coordinator(proc *p, const char *genesis_file) {
  char genesis[400];
  snprintf(genesis, sizeof genesis, "ledger.genesis_file=%s", genesis_file);
  const char *argv[] = {"--set", "coordinator.enabled=true", "--set", "coordinator.generate=true",
                        "--set", "coordinator.interval=1s",  "--set", "node.min_pow_score=0",
                        "--set", genesis,                     NULL};
  proc_start(p, argv);
}

/* Starts `p2pgrid CMD --config CONFIG [extra...]` (any subcommand whose
 * configuration serves HTTP, e.g. an entity daemon with [api] port = 0);
 * waits for its "listening on" line (deadline) and fills port/base. */
void proc_start_cmd(proc *p, const char *cmd, const char *config, const char *const *extra) {
  const char *argv[64];
  int argc = 0;
  p->starts++;
  snprintf(p->log, sizeof p->log, "%s/%s.%d.log", g_root, p->name, p->starts);
  argv[argc++] = P2PGRID_BIN;
  argv[argc++] = cmd;
  argv[argc++] = "--config";
  argv[argc++] = config;
  for (int i = 0; extra && extra[i] && argc < 63; i++) argv[argc++] = extra[i];
  argv[argc] = NULL;
  spawn_and_wait_listening(p, argv);
}

unsigned harness_free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
  close(s);
  return ntohs(a.sin_port);
}

static bool accepts(unsigned port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return false;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  close(s);
  return ok;
}

void harness_broker_start(proc *b) {
  char conf[300], text[200];
  if (access(MOSQUITTO_BIN, X_OK) != 0) fail_msg("%s is missing (scripts/bootstrap installs it)", MOSQUITTO_BIN);
  if (!b->port) b->port = harness_free_port();
  b->starts++;
  snprintf(conf, sizeof conf, "%s/%s.conf", g_root, b->name);
  snprintf(text, sizeof text, "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\n",
           b->port);
  FILE *f = fopen(conf, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(conf, 0644);
  snprintf(b->log, sizeof b->log, "%s/%s.%d.log", g_root, b->name, b->starts);
  const char *argv[] = {MOSQUITTO_BIN, "-c", conf, NULL};
  b->pid = spawn_logged(argv, b->log);
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  while (!accepts(b->port)) {
    int st = 0;
    if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
      b->pid = 0;
      dump_log(b);
      fail_msg("mosquitto exited during start (status 0x%x)", st);
    }
    if (now_ms() > deadline) {
      dump_log(b);
      fail_msg("mosquitto does not accept connections on port %u", b->port);
    }
    nap();
  }
  snprintf(b->base, sizeof b->base, "mqtt://127.0.0.1:%u", b->port);
}

/* SIGTERM, then wait (deadline) and require exit status 0. */
void proc_stop(proc *p) {
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

void proc_kill(proc *p) {
  if (p->pid > 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
  }
}

void proc_abort_all(proc *const *all, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (all[i]->pid > 0) {
      dump_log(all[i]);
      proc_kill(all[i]);
    }
}

/* ---- HTTP --------------------------------------------------------------- */

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

void resp_free(resp *r) {
  free(r->body);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

/* One request. ctype NULL: no body. hdr: one extra header line or NULL. */
harness_tls g_tls;

void http(const proc *p, const char *method, const char *path, const char *ctype,
          const void *body, size_t len, const char *hdr, resp *r) {
  http_as(p, &g_tls, method, path, ctype, body, len, hdr, r);
}

int http_try_as(const proc *p, const harness_tls *as, const char *method, const char *path,
                const char *ctype, const void *body, size_t len, const char *hdr, resp *r,
                char *err, size_t cap) {
  char url[1024];
  char ct[160];
  struct curl_slist *hs = NULL;
  memset(r, 0, sizeof *r);
  snprintf(url, sizeof url, "%s%s", p->base, path);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
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
  if (as && as->ca[0]) {
    curl_easy_setopt(c, CURLOPT_CAINFO, as->ca);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
  }
  if (as && as->cert[0]) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, as->cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, as->key);
  }
  char ebuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    snprintf(err, cap, "%s %s%s: %s (%s)", method, p->base, path, curl_easy_strerror(cc), ebuf);
    return -1;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hs);
  if (r->body && strncmp(r->ctype, "application/json", 16) == 0)
    r->json = json_loadb(r->body, r->len, 0, NULL);
  return 0;
}

void http_as(const proc *p, const harness_tls *as, const char *method, const char *path,
             const char *ctype, const void *body, size_t len, const char *hdr, resp *r) {
  char err[600];
  if (http_try_as(p, as, method, path, ctype, body, len, hdr, r, err, sizeof err))
    fail_msg("%s", err);
}

/* Runs argv (argv[0] = P2PGRID_BIN etc.) to completion with its output in log;
 * fails the test unless it exits 0. */
int run_status(const char *const *argv, const char *log) {
  pid_t pid = spawn_logged(argv, log);
  uint64_t deadline = now_ms() + DEADLINE_RUN_MS;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    assert_int_equal(r, 0);
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("%s %s did not finish within %d ms", argv[0], argv[1] ? argv[1] : "",
               DEADLINE_RUN_MS);
    }
    struct timespec ts = {0, 2000000}; /* 2 ms: callers time what follows an exit */
    nanosleep(&ts, NULL);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void run_ok(const char *const *argv, const char *log) {
  pid_t pid = spawn_logged(argv, log);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char *s = slurp(log, NULL);
    fail_msg("%s %s: exit status 0x%x: %s", argv[0], argv[1] ? argv[1] : "", st, s ? s : "");
  }
}

void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) fail_msg("cannot write %s", path);
  fputs(text, f);
  if (fclose(f) != 0) fail_msg("cannot write %s", path);
}

void ca_init(const char *dir) {
  char log[400];
  snprintf(log, sizeof log, "%s.init.log", dir);
  const char *argv[] = {P2PGRID_BIN, "ca", "init", "--dir", dir, "--name", "Test community", NULL};
  run_ok(argv, log);
}

void ca_issue(const char *dir, const char *id, const char *role, const char *parent,
              const char *max_kw, const char *prefix, harness_tls *out) {
  char log[400];
  snprintf(log, sizeof log, "%s.issue.log", prefix);
  const char *argv[16] = {P2PGRID_BIN, "ca", "issue", "--dir", dir, "--id", id, "--role", role,
                          "--out", prefix};
  int n = 11;
  if (parent) argv[n++] = "--parent", argv[n++] = parent;
  if (max_kw) argv[n++] = "--max-kw", argv[n++] = max_kw;
  argv[n] = NULL;
  run_ok(argv, log);
  if (out) {
    snprintf(out->ca, sizeof out->ca, "%s/ca.crt", dir);
    snprintf(out->cert, sizeof out->cert, "%s.crt", prefix);
    snprintf(out->key, sizeof out->key, "%s.key", prefix);
  }
}

void get(const proc *p, const char *path, resp *r) {
  http(p, "GET", path, NULL, NULL, 0, NULL, r);
}

/* GET expecting 200 and {"data":...}; returns the data (borrowed from r). */
json_t *get_data(const proc *p, const char *path, resp *r) {
  get(p, path, r);
  if (r->status != 200 || !r->json)
    fail_msg("GET %s: status %ld body %s", path, r->status, r->body ? r->body : "");
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
void expect_error(const resp *r, long status, const char *needle, const char *what) {
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

const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v)) fail_msg("field '%s' is not a string", k);
  return json_string_value(v);
}

long long jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v)) fail_msg("field '%s' is not an integer number", k);
  return (long long)json_integer_value(v);
}

bool is_hex64(const char *s) {
  if (!s || strlen(s) != 64) return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
  return true;
}

/* ---- Tangle ----------------------------------------------------------- */

size_t tips(const proc *p, uint8_t (*ids)[32], bool check_order) {
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
    if (check_order && i) assert_true(memcmp(ids[i - 1], ids[i], 32) < 0);
  }
  resp_free(&r);
  return n;
}

long long confirmed_index(const proc *p) {
  resp r;
  json_t *d = get_data(p, "/api/v1/info", &r);
  long long c = jint(d, "confirmedMilestoneIndex");
  resp_free(&r);
  return c;
}

long long wait_confirmed(const proc *p, long long index) {
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  long long c;
  while ((c = confirmed_index(p)) < index) {
    if (now_ms() > deadline) {
      dump_log(p);
      fail_msg("%s: no confirmed milestone %lld within %d ms (at %lld)", p->name, index,
               DEADLINE_CONFIRM_MS, c);
    }
    nap();
  }
  return c;
}

bool log_has(const proc *p, const char *needle) {
  char *s = slurp(p->log, NULL);
  bool has = s && strstr(s, needle);
  free(s);
  return has;
}

/* ---- a grid of entity daemons ------------------------------------------ */

uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void write_entity_config(const grid_dirs *g, const char *role, const char *id,
                         const char *upstream, int seed, const char *extra) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s.ini", g->dir, id);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "[%s]\nid = %s\ndata_dir = %s/%s\nslot = %llums\ntick = 100ms\nretry = 500ms\n"
             "security = 1\nlog_level = info\n%s\n",
          role, id, g->dir, id, (unsigned long long)g->slot_ms, extra ? extra : "");
  fprintf(f, "[tls]\ncert = %s/%s.crt\nkey = %s/%s.key\nca = %s/ca.crt\ncrl = %s/crl.pem\n\n",
          g->dir, id, g->dir, id, g->ca_dir, g->ca_dir);
  fprintf(f, "[node]\nurl = %s\ntimeout = 30s\n\n[api]\nbind = 127.0.0.1\nport = 0\n", g->node_url);
  if (upstream) fprintf(f, "\n[upstream]\nurl = %s\n", upstream);
  if (seed >= 0) fprintf(f, "\n[wallet]\nseed_file = %s/wallet-%d.seed\n", g->dir, seed);
  fclose(f);
}

void write_csv_meter(const char *path, uint64_t slot_ms, uint64_t t_end_ms, double watts,
                     double step) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "time_ms,power_W\n");
  for (uint64_t k = wall_ms() / slot_ms - 20; k < t_end_ms / slot_ms; k++)
    fprintf(f, "%llu,%.0f\n", (unsigned long long)(k * slot_ms), watts + (double)(k % 5) * step);
  fclose(f);
}

void grid_issue(const grid_dirs *g, const char *id, const char *role, const char *parent,
                harness_tls *out) {
  char prefix[400];
  snprintf(prefix, sizeof prefix, "%s/%s", g->dir, id);
  bool member = strcmp(role, "producer") == 0 || strcmp(role, "consumer") == 0;
  ca_issue(g->ca_dir, id, role, parent, member ? "10000" : NULL, prefix, out);
}

void grid_write_wallets(const grid_dirs *g, int n, uint64_t funded, uint64_t amount, uint8_t salt) {
  char path[400], hex[65], line[80];
  snprintf(path, sizeof path, "%s/genesis.txt", g->dir);
  FILE *gen = fopen(path, "w");
  assert_non_null(gen);
  for (int i = 0; i < n; i++) {
    uint8_t seed[32], addr[32];
    for (int j = 0; j < 32; j++) seed[j] = (uint8_t)(salt * (i + 1) + 11 * j);
    assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, addr), 0);
    pg_hex_encode(seed, 32, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g->dir, i);
    write_file(path, line);
    pg_hex_encode(addr, 32, hex);
    if (funded >> i & 1) fprintf(gen, "%s %llu\n", hex, (unsigned long long)amount);
  }
  fclose(gen);
}

void grid_start(const grid_dirs *g, proc *p, const char *cmd, const char *id) {
  char cfg[400];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g->dir, id);
  snprintf(p->name, sizeof p->name, "%s", id);
  proc_start_cmd(p, cmd, cfg, NULL);
}

void grid_enrol(const grid_dirs *g, const char *id, const char *address) {
  char cfg[400], crt[400], log[400];
  snprintf(cfg, sizeof cfg, "%s/grid.ini", g->dir);
  snprintf(crt, sizeof crt, "%s/%s.crt", g->dir, id);
  snprintf(log, sizeof log, "%s/enrol-%s.log", g->dir, id);
  const char *argv[] = {P2PGRID_BIN, "grid", "enrol", "--config", cfg, "--member", crt,
                        address ? "--address" : NULL, address, NULL};
  run_ok(argv, log);
}

/* ---- metrics ---- */

char *get_metrics(const proc *p, const harness_tls *as) {
  resp r;
  http_as(p, as, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
  if (r.status != 200) fail_msg("%s /metrics: %ld %s", p->name, r.status, r.body ? r.body : "");
  if (!strstr(r.ctype, "text/plain") || !strstr(r.ctype, "version=0.0.4"))
    fail_msg("%s /metrics: Content-Type %s", p->name, r.ctype);
  char *body = r.body;
  r.body = NULL;
  resp_free(&r);
  return body;
}

double metric_sample(const char *text, const char *series) {
  size_t n = strlen(series);
  for (const char *p = text; p && *p;) {
    if (strncmp(p, series, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    p = strchr(p, '\n');
    if (p) p++;
  }
  fail_msg("no sample %s in:\n%s", series, text);
  return 0;
}
