/* harness.h — shared by the integration tests that drive real `p2pgrid`
 * child processes (test_node_process.c, test_ledger_process.c,
 * test_grid_process.c): a temporary root directory, starting a node (or an
 * entity daemon) on port 0 and reading the port from its log, stopping it
 * with SIGTERM, libcurl requests and checks of the JSON answers. Failures
 * end the current cmocka test (fail_msg / assert_*).
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#ifndef P2PGRID_IT_HARNESS_H
#define P2PGRID_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* CHRYSALIS.md 1.2 [checked]: BLAKE2b-256("private-tangle")[0..8] LE */
#define PRIVATE_TANGLE_ID 2321005821356827533ull
#define DEADLINE_START_MS 60000
#define DEADLINE_RUN_MS 300000 /* a command run to its end (run_status) */
#define DEADLINE_CONFIRM_MS 90000
#define DEADLINE_STOP_MS 30000

/* ---- time, files ------------------------------------------------------ */

/* The temporary root directory (logs, data dirs), made by harness_mkroot. */
extern char g_root[64];

/* Makes g_root from a mkdtemp template such as "/tmp/p2pgrid-it-XXXXXX";
 * 0 or -1. */
int harness_mkroot(const char *tmpl);
/* Removes g_root and everything in it, unless PG_KEEP_TMP is set. */
void harness_rmroot(void);

uint64_t now_ms(void);  /* monotonic */
uint64_t wall_ms(void); /* Unix time in ms */
void nap(void);        /* 50 ms */
/* Reads a whole (small) file; NUL-terminated, caller frees. */
char *slurp(const char *path, size_t *len_out);
/* Writes text to path (replacing it); fails the test when it cannot. */
void write_file(const char *path, const char *text);

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

/* Prints the last part of the process's current log to stderr. */
void dump_log(const proc *p);
/* In a child just forked by parent (its getpid() taken before the fork):
 * the child gets SIGKILL when the parent dies (PR_SET_PDEATHSIG; Linux), so
 * a test process killed (a ctest timeout, kill -9) leaves no daemon
 * running; a child whose parent died before the prctl (getppid() no longer
 * parent) _exits at once (status 137). Caveat: the signal comes when the
 * *thread* that forked ends, not the process: fork only from the main
 * thread (every caller in tests/integration does) or from a thread that
 * outlives the child. Survives execv (not for set-uid binaries). */
void harness_child_dies_with_parent(pid_t parent);
/* Forks and execs argv[0] (argv NULL-terminated) with stdout and stderr
 * into the file log; returns the child's pid. The child dies with this
 * process (harness_child_dies_with_parent): call it from the main thread. */
pid_t spawn_logged(const char *const *argv, const char *log);
/* Starts `p2pgrid node` with the data dir and extra args; waits for its
 * "listening on" line (deadline) and fills port/base. */
void proc_start(proc *p, const char *const *extra);
/* proc_start of a node that is its own coordinator (a milestone a second,
 * no PoW) with the genesis of genesis_file. */
void proc_start_coordinator(proc *p, const char *genesis_file);
/* Starts `p2pgrid CMD --config CONFIG [extra...]` (e.g. an entity daemon
 * whose [api] port is 0) the same way: a new log p->log (name.N.log), the
 * "listening on" line awaited (deadline), port/base filled. */
void proc_start_cmd(proc *p, const char *cmd, const char *config, const char *const *extra);
/* SIGTERM, then wait (deadline) and require exit status 0. */
void proc_stop(proc *p);
void proc_kill(proc *p);
/* A teardown's end: for each process still running, its log to stderr and
 * SIGKILL. */
void proc_abort_all(proc *const *all, size_t n);

/* ---- an MQTT broker -------------------------------------------------------- */

#define MOSQUITTO_BIN "/usr/sbin/mosquitto" /* installed by scripts/bootstrap */

/* A TCP port on 127.0.0.1 that was free a moment ago. */
unsigned harness_free_port(void);
/* Starts mosquitto (anonymous, no persistence) on 127.0.0.1:b->port (0: a
 * free port is chosen and kept, so a restart reuses it), its log in
 * g_root/NAME.N.log and its config beside; waits (deadline) until it
 * accepts connections. Stop it with proc_stop / proc_kill. */
void harness_broker_start(proc *b);

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

void resp_free(resp *r);

/* Who a request is from over TLS: the CA to verify the server with and our
 * certificate and key (each "" = none). */
typedef struct harness_tls {
  char ca[300], cert[300], key[300];
} harness_tls;
/* The identity http() uses (empty by default: plain HTTP needs none). */
extern harness_tls g_tls;
/* http() as `as` (may be NULL: no CA, no certificate). */
void http_as(const proc *p, const harness_tls *as, const char *method, const char *path,
             const char *ctype, const void *body, size_t len, const char *hdr, resp *r);
/* The same, returning -1 with the transport error in err instead of failing
 * (for requests that must not get an answer). */
int http_try_as(const proc *p, const harness_tls *as, const char *method, const char *path,
                const char *ctype, const void *body, size_t len, const char *hdr, resp *r,
                char *err, size_t cap);

/* ---- a grid of entity daemons ------------------------------------------ */

/* Where a test's daemons live: dir holds ID.ini, ID.crt/.key (from
 * ca_issue with prefix dir/ID), wallet-N.seed and the data dirs; ca_dir is
 * the CA (ca.crt, crl.pem); node_url the node; slot_ms the slot length. */
typedef struct grid_dirs {
  const char *dir, *ca_dir, *node_url;
  uint64_t slot_ms;
} grid_dirs;
/* dir/ID.ini for `p2pgrid ROLE`: [role] id, data_dir dir/ID, slot, tick
 * 100ms, retry 500ms, security 1, then extra lines; [tls] of the member id;
 * [node] url; [api] on 127.0.0.1, any port; [upstream] url unless NULL;
 * [wallet] dir/wallet-SEED.seed unless seed < 0. */
void write_entity_config(const grid_dirs *g, const char *role, const char *id,
                         const char *upstream, int seed, const char *extra);
/* A CSV meter at path: watts + (slot % 5) * step per slot, from 20 slots
 * ago to t_end_ms (Unix ms). */
void write_csv_meter(const char *path, uint64_t slot_ms, uint64_t t_end_ms, double watts,
                     double step);
/* p2pgrid grid enrol --config dir/grid.ini --member dir/ID.crt
 * [--address address]; fails the test unless it exits 0. */
void grid_enrol(const grid_dirs *g, const char *id, const char *address);
/* ca_issue from ca_dir with prefix dir/ID (what write_entity_config names);
 * producers and consumers enrolled with 10 MW (the tests' meters run at
 * megawatts). out may be NULL. */
void grid_issue(const grid_dirs *g, const char *id, const char *role, const char *parent,
                harness_tls *out);
/* n wallets: dir/wallet-I.seed (seed bytes salt * (I + 1) + 11 * j) and
 * dir/genesis.txt funding wallet I with amount when bit I of funded is set
 * (for proc_start_coordinator). */
void grid_write_wallets(const grid_dirs *g, int n, uint64_t funded, uint64_t amount, uint8_t salt);
/* proc_start_cmd of `p2pgrid CMD --config dir/ID.ini`, p->name = id. */
void grid_start(const grid_dirs *g, proc *p, const char *cmd, const char *id);

/* ---- scenarios shared by tests ----------------------------------------- */

/* A full-mode run across a month boundary with monthly items: 2025-06-30
 * 20:00Z for 4 h in Europe/Berlin, one wind producer, three households; the
 * grid bills June's membership, capacity and VAT in July's first slot
 * (integration/invoice and integration/audit). */
#define HARNESS_MONTH_EDGE_INI                                                      \
  "[scenario]\nname = month-edge\nstart = 2025-06-30T20:00:00Z\nduration = 4h\n" \
  "slot = 15m\nseed = 5\nmode = full\n"                                            \
  "[site]\nlat = 48.2\nlon = 16.37\ntz = Europe/Berlin\n"                          \
  "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\n"                     \
  "export_price = 80Mi\nfee_per_kwh = 5Mi\npayout_min = 1Mi\n"                     \
  "[tariff]\nmembership_fee = 5Gi\ncapacity_price = 2Gi\nvat = 20%\n"              \
  "[producers]\ncount = 1\nsources_per_producer = 1\nsolar_share = 0\n"           \
  "wind_kw_min = 3\nwind_kw_max = 5\n[households]\ncount = 3\n"

/* ---- the community CA (p2pgrid ca) ------------------------------------ */

/* Runs argv to completion (output into log) within DEADLINE_RUN_MS (killed
 * and failed after); the exit status (128 + signal when killed by one). */
int run_status(const char *const *argv, const char *log);
/* Runs argv to completion (output into log); fails unless it exits 0. */
void run_ok(const char *const *argv, const char *log);
/* p2pgrid ca init --dir dir */
void ca_init(const char *dir);
/* p2pgrid ca issue --dir dir --id id --role role [--parent parent]
 * [--max-kw max_kw] --out prefix; out (may be NULL) gets the CA,
 * certificate and key paths. */
void ca_issue(const char *dir, const char *id, const char *role, const char *parent,
              const char *max_kw, const char *prefix, harness_tls *out);
/* One request. ctype NULL: no body. hdr: one extra header line or NULL. */
void http(const proc *p, const char *method, const char *path, const char *ctype,
          const void *body, size_t len, const char *hdr, resp *r);
void get(const proc *p, const char *path, resp *r);
/* GET expecting 200 and {"data":...}; returns the data (borrowed from r). */
json_t *get_data(const proc *p, const char *path, resp *r);
/* Checks a 4xx/5xx answer: status, JSON error envelope with code as a
 * string equal to the status, a message, and (optional) a word in it. */
void expect_error(const resp *r, long status, const char *needle, const char *what);

/* ---- metrics (GET /metrics, Prometheus text) --------------------------- */

/* GET /metrics of p as `as` (NULL: no certificate); requires 200 and the
 * text format 0.0.4 content type; the body (caller frees). */
char *get_metrics(const proc *p, const harness_tls *as);
/* The value of the sample named exactly series ("name" or
 * "name{a=\"x\"}") in text; fails the test when it is missing. */
double metric_sample(const char *text, const char *series);

/* ---- JSON fields -------------------------------------------------------- */

const char *jstr(json_t *o, const char *k);
long long jint(json_t *o, const char *k);
bool is_hex64(const char *s); /* 64 lowercase hex digits */

/* ---- Tangle ----------------------------------------------------------- */

/* confirmedMilestoneIndex of GET /api/v1/info. */
long long confirmed_index(const proc *p);
/* Waits (DEADLINE_CONFIRM_MS) until p has confirmed milestone index;
 * returns the confirmed index then. */
long long wait_confirmed(const proc *p, long long index);
/* True when p's current log contains needle. */
bool log_has(const proc *p, const char *needle);

/* Parents from GET /tips (1..8 ids of 64 lowercase hex digits) into ids;
 * with check_order, also requires them sorted and unique. */
size_t tips(const proc *p, uint8_t (*ids)[32], bool check_order);

#endif
