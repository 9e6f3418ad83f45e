/* HTTP ingest: data messages posted to a real `p2pgrid node` (min_pow_score
 * 0, coordinator every second) through the HTTP node client, one keep-alive
 * connection per client, with 1, 2 and 8 clients. Prints "name: value unit"
 * lines only: messages/s per run and the CPU time (user + system, from
 * /proc/<pid>/stat) per message of the node and of the clients (this
 * process), which a busy machine disturbs less than the rate, the messages
 * one store transaction held (the node's /metrics: committed messages over
 * commits, coordinator milestones included), and the rate
 * that CPU cost allows on all online cores (cores * 1e6 / (node + client
 * us/message): the ceiling when nothing else runs).
 *
 *   bench_client_ingest [P2PGRID_BINARY]
 *
 * The binary comes from argv[1], else $P2PGRID, else ../p2pgrid next to this
 * program (build/<preset>/bench/ -> build/<preset>/p2pgrid). Env
 * PG_BENCH_SECONDS (default 5) caps each run's time, PG_BENCH_MESSAGES
 * (default 20000) its message count, PG_BENCH_WORKERS (default: the node's
 * own default) the node's HTTP thread pool (api.workers). Each message is the JSON draft
 * {"payload":{"type":2,"index":hex,"data":hex}}: the node fills network id,
 * parents (tip selection) and nonce, then validates and stores it.
 * Then 1 and 8 clients again with the same messages in batches
 * (pg_client_submit_data_many: POST /api/plugins/data/batch, one store
 * transaction a batch), PG_BENCH_BATCH (default 64, at most 256) a batch,
 * printed as client_ingest_http_batch<N>_*. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/client/client.h"

#include "util.h"

typedef struct node_proc {
  pid_t pid;
  int err_fd;
  char dir[64];
  char url[128];
  pthread_t drain;
  bool draining;
} node_proc;

static void *drain_main(void *p) {
  node_proc *n = p;
  char buf[4096];
  while (read(n->err_fd, buf, sizeof buf) > 0) {
  }
  return NULL;
}

static void node_stop(node_proc *n) {
  if (n->pid > 0) {
    kill(n->pid, SIGTERM);
    int status = 0;
    double end = bench_now_s() + 10;
    while (waitpid(n->pid, &status, WNOHANG) == 0) {
      if (bench_now_s() > end) {
        kill(n->pid, SIGKILL);
        (void)waitpid(n->pid, &status, 0);
        break;
      }
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    n->pid = 0;
  }
  if (n->draining) pthread_join(n->drain, NULL);
  n->draining = false;
  if (n->err_fd >= 0) close(n->err_fd);
  n->err_fd = -1;
  if (n->dir[0]) bench_rmtree(n->dir);
  n->dir[0] = '\0';
}

/* Starts the node and reads its URL from "listening on http://..." on stderr. */
static int node_start(const char *bin, node_proc *n) {
  memset(n, 0, sizeof *n);
  n->err_fd = -1;
  snprintf(n->dir, sizeof n->dir, "/tmp/p2pgrid-bench-XXXXXX");
  if (!mkdtemp(n->dir)) {
    fprintf(stderr, "bench_client_ingest: mkdtemp: %s\n", strerror(errno));
    n->dir[0] = '\0';
    return -1;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  char *argv[] = {(char *)bin,
                  "node",
                  "--data-dir",
                  n->dir,
                  "--port",
                  "0",
                  "--log-level",
                  "info",
                  "--set",
                  "node.min_pow_score=0",
                  "--set",
                  "coordinator.enabled=true",
                  "--set",
                  "coordinator.generate=true",
                  "--set",
                  "coordinator.interval=1s",
                  NULL,
                  NULL,
                  NULL};
  char workers[64];
  const char *w = getenv("PG_BENCH_WORKERS");
  if (w && *w) {
    snprintf(workers, sizeof workers, "api.workers=%s", w);
    argv[16] = "--set";
    argv[17] = workers;
  }
  /* fork, not posix_spawn: the child must ask to die with this process */
  pid_t parent = getpid();
  fflush(NULL);
  n->pid = fork();
  if (n->pid == 0) {
    bench_child_dies_with_parent(parent);
    int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);
    if (in >= 0 && out >= 0 && dup2(in, 0) == 0 && dup2(out, 1) == 1 && dup2(p[1], 2) == 2)
      execv(bin, argv);
    static const char msg[] = "bench_client_ingest: cannot exec the node\n";
    (void)!write(p[1], msg, sizeof msg - 1);
    _exit(127);
  }
  int rc = n->pid < 0 ? errno : 0;
  close(p[1]);
  n->err_fd = p[0];
  if (rc != 0) {
    fprintf(stderr, "bench_client_ingest: cannot start %s: %s\n", bin, strerror(rc));
    n->pid = 0;
    return -1;
  }
  char log[16384];
  size_t len = 0;
  double end = bench_now_s() + 30;
  while (bench_now_s() < end) {
    struct pollfd pf = {.fd = n->err_fd, .events = POLLIN};
    if (poll(&pf, 1, 100) <= 0) continue;
    ssize_t r = read(n->err_fd, log + len, sizeof log - 1 - len);
    if (r <= 0) break;
    len += (size_t)r;
    log[len] = '\0';
    const char *m = strstr(log, "listening on http://");
    if (m) {
      m += strlen("listening on ");
      size_t k = strcspn(m, " \r\n\t");
      if (m[k] == '\0') continue; /* the line is not complete yet */
      if (k >= sizeof n->url) break;
      memcpy(n->url, m, k);
      n->url[k] = '\0';
      if (pthread_create(&n->drain, NULL, drain_main, n) == 0) n->draining = true;
      return 0;
    }
    if (len + 1 >= sizeof log) len = 0; /* keep reading; the line comes early */
  }
  fprintf(stderr, "bench_client_ingest: the node did not report its URL; log:\n%s\n", log);
  return -1;
}

typedef struct worker {
  const char *url;
  int id;
  unsigned batch; /* 0: one POST /api/v1/messages each; else items a batch */
  unsigned max_messages;
  double seconds;
  unsigned done;
  int rc;
  pg_diag d;
} worker;

enum { MAX_BATCH = 256 };

/* The worker's messages in batches of w->batch (POST /api/plugins/data/batch). */
static void worker_batches(worker *w, pg_client *c, const char *index, size_t il) {
  static _Thread_local char data[MAX_BATCH][64];
  static _Thread_local pg_client_data v[MAX_BATCH];
  double end = bench_now_s() + w->seconds;
  for (unsigned i = 0; i < w->max_messages && bench_now_s() <= end;) {
    unsigned n = w->max_messages - i < w->batch ? w->max_messages - i : w->batch;
    for (unsigned k = 0; k < n; k++) {
      int dl = snprintf(data[k], sizeof data[k], "message %u of worker %d", i + k, w->id);
      v[k] = (pg_client_data){.index = (const uint8_t *)index, .index_len = il,
                              .data = (const uint8_t *)data[k], .data_len = (size_t)dl};
    }
    if ((w->rc = pg_client_submit_data_many(c, v, n, &w->d))) return;
    for (unsigned k = 0; k < n; k++) {
      if ((w->rc = v[k].rc)) {
        w->d = v[k].d;
        return;
      }
      w->done++;
    }
    i += n;
  }
}

static void *worker_main(void *p) {
  worker *w = p;
  pg_client *c = NULL;
  pg_http_client_opts o = {.base_url = w->url};
  w->rc = pg_client_http_new(&o, &c, &w->d);
  if (w->rc) return NULL;
  char index[32];
  int il = snprintf(index, sizeof index, "bench-ingest-%d", w->id);
  if (w->batch) {
    worker_batches(w, c, index, (size_t)il);
    pg_client_free(c);
    return NULL;
  }
  double end = bench_now_s() + w->seconds;
  for (unsigned i = 0; i < w->max_messages; i++) {
    char data[64];
    int dl = snprintf(data, sizeof data, "message %u of worker %d", i, w->id);
    uint8_t id[PG_ID_LEN];
    w->rc = pg_client_submit_data(c, (const uint8_t *)index, (size_t)il, (const uint8_t *)data,
                                  (size_t)dl, id, &w->d);
    if (w->rc) break;
    w->done++;
    if ((i & 63) == 0 && bench_now_s() > end) break;
  }
  pg_client_free(c);
  return NULL;
}

/* libcurl's write callback: the body into a pg_buf. */
static size_t metrics_body(char *p, size_t size, size_t n, void *ud) {
  pg_buf *b = ud;
  pg_buf_put(b, p, size * n);
  return pg_buf_status(b) == PG_OK ? size * n : 0;
}

/* The node's store counters (/metrics): transactions and the new messages
 * they stored; false when they cannot be read. */
static bool store_counters(const char *url, double *commits, double *committed) {
  char u[256];
  snprintf(u, sizeof u, "%s/metrics", url);
  pg_buf b;
  pg_buf_init(&b, 4u << 20);
  CURL *h = curl_easy_init();
  bool ok = h != NULL;
  if (ok) {
    curl_easy_setopt(h, CURLOPT_URL, u);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, metrics_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    ok = curl_easy_perform(h) == CURLE_OK;
    curl_easy_cleanup(h);
  }
  pg_buf_put_u8(&b, 0);
  const char *text = (const char *)b.data;
  ok = ok && pg_buf_status(&b) == PG_OK;
  const char *a = ok ? strstr(text, "\np2pgrid_node_store_commits_total ") : NULL;
  const char *c = a ? strstr(text, "\np2pgrid_node_store_committed_messages_total ") : NULL;
  ok = a && c && sscanf(strchr(a + 1, ' '), "%lf", commits) == 1 &&
       sscanf(strchr(c + 1, ' '), "%lf", committed) == 1;
  pg_buf_free(&b);
  return ok;
}

/* CPU seconds (user + system) the process has used so far; < 0 if unknown. */
static double proc_cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Messages per second with `threads` clients (one connection each); *cpu_us
 * gets the node's CPU time per message (user + system), *client_us the
 * clients' (this process), < 0 if unknown. */
static double run(const char *url, pid_t node, int threads, unsigned batch, unsigned max_messages,
                  double seconds, double *cpu_us, double *client_us, double *per_commit) {
  double c0 = 0, m0 = 0, c1 = 0, m1 = 0;
  bool counted = store_counters(url, &c0, &m0);
  double cpu0 = proc_cpu_s(node), self0 = proc_cpu_s(getpid());
  worker w[8];
  pthread_t t[8];
  if (threads > 8) threads = 8;
  double t0 = bench_now_s();
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){.url = url, .id = i, .batch = batch,
                    .max_messages = max_messages / (unsigned)threads, .seconds = seconds};
    if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0) return -1;
  }
  unsigned total = 0;
  int failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += w[i].done;
    if (w[i].rc) {
      fprintf(stderr, "bench_client_ingest: client %d after %u messages: %s\n", i, w[i].done,
              w[i].d.msg);
      failed = 1;
    }
  }
  double dt = bench_now_s() - t0;
  double cpu1 = proc_cpu_s(node), self1 = proc_cpu_s(getpid());
  *cpu_us = cpu0 >= 0 && cpu1 >= 0 && total ? (cpu1 - cpu0) * 1e6 / total : -1;
  *client_us = self0 >= 0 && self1 >= 0 && total ? (self1 - self0) * 1e6 / total : -1;
  counted = counted && store_counters(url, &c1, &m1) && c1 > c0;
  *per_commit = counted ? (m1 - m0) / (c1 - c0) : -1;
  if (failed && total == 0) return -1;
  return (double)total / dt;
}

/* One run, printed as name_*; non-zero when it failed. */
static int report(const char *url, pid_t node, int clients, unsigned batch, unsigned messages,
                  double seconds, const char *name) {
  double cpu = -1, client = -1, per_commit = -1;
  double r = run(url, node, clients, batch, messages, seconds, &cpu, &client, &per_commit);
  if (r < 0) return 1;
  printf("%s: %.0f messages/s\n", name, r);
  if (cpu >= 0) printf("%s_node_cpu: %.1f us/message\n", name, cpu);
  if (client >= 0) printf("%s_client_cpu: %.1f us/message\n", name, client);
  if (per_commit > 0) /* group commit: the messages one store transaction held */
    printf("%s_messages_per_commit: %.2f\n", name, per_commit);
  if (cpu > 0 && client >= 0) /* the rate all cores would give at that CPU cost */
    printf("%s_cpu_bound: %.0f messages/s\n", name,
           (double)sysconf(_SC_NPROCESSORS_ONLN) * 1e6 / (cpu + client));
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  char def[PATH_MAX];
  const char *bin = argc > 1 ? argv[1] : getenv("P2PGRID");
  if (!bin) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(def, sizeof def, "%.4000s/../p2pgrid", self);
    bin = def;
  }
  if (access(bin, X_OK) != 0) {
    fprintf(stderr, "bench_client_ingest: %s is not executable (pass the p2pgrid path)\n", bin);
    return 1;
  }
  const char *s = getenv("PG_BENCH_SECONDS");
  const char *m = getenv("PG_BENCH_MESSAGES");
  double seconds = s ? atof(s) : 5.0;
  unsigned messages = m ? (unsigned)strtoul(m, NULL, 10) : 20000;
  const char *bs = getenv("PG_BENCH_BATCH");
  unsigned batch = bs ? (unsigned)strtoul(bs, NULL, 10) : 64;
  if (batch < 1 || batch > MAX_BATCH) batch = 64;
  if (seconds <= 0) seconds = 5.0;
  if (messages == 0) messages = 20000;
  signal(SIGPIPE, SIG_IGN);

  node_proc n;
  if (node_start(bin, &n) != 0) {
    node_stop(&n);
    return 1;
  }
  /* warm-up: the first milestone and the connection */
  pg_client *c = NULL;
  pg_http_client_opts o = {.base_url = n.url};
  pg_diag d = {{0}};
  bool healthy = false;
  if (pg_client_http_new(&o, &c, &d) == PG_OK) {
    double end = bench_now_s() + 30;
    while (bench_now_s() < end && !(pg_client_health(c, &healthy, &d) == PG_OK && healthy)) {
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    pg_client_free(c);
  }
  int status = 0;
  static const struct {
    int clients;
    bool batched;
  } runs[] = {{1, false}, {2, false}, {8, false}, {1, true}, {8, true}};
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    int k = runs[i].clients;
    char name[64];
    if (runs[i].batched)
      snprintf(name, sizeof name, "client_ingest_http_batch%u_%d_%s", batch, k,
               k == 1 ? "client" : "clients");
    else
      snprintf(name, sizeof name, "client_ingest_http_%d_%s", k, k == 1 ? "client" : "clients");
    if (report(n.url, n.pid, k, runs[i].batched ? batch : 0, messages, seconds, name)) status = 1;
  }
  node_stop(&n);
  return status;
}
