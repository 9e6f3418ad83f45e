/* log.c — levelled, thread-safe line logging. See p2pgrid/log.h. */
#include "p2pgrid/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static atomic_int g_level = PG_LOG_INFO;
static _Atomic(FILE *) g_out = NULL;          /* NULL: stderr */
static _Atomic(const pg_clock *) g_clock = NULL; /* NULL: real clock */

void pg_log_set_level(pg_log_level level) {
  if (level < PG_LOG_ERROR) level = PG_LOG_ERROR;
  if (level > PG_LOG_DEBUG) level = PG_LOG_DEBUG;
  atomic_store(&g_level, (int)level);
}

pg_log_level pg_log_get_level(void) { return (pg_log_level)atomic_load(&g_level); }

static bool ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (x != y) return false;
  }
  return *a == *b;
}

int pg_log_level_parse(const char *s, pg_log_level *out) {
  static const struct { const char *name; pg_log_level level; } names[] = {
      {"error", PG_LOG_ERROR}, {"warn", PG_LOG_WARN},   {"warning", PG_LOG_WARN},
      {"info", PG_LOG_INFO},   {"debug", PG_LOG_DEBUG},
  };
  if (!s || !out) return PG_ERR_INVALID;
  if (strnlen(s, 16) >= 16) return PG_ERR_INVALID;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (ieq(s, names[i].name)) {
      *out = names[i].level;
      return PG_OK;
    }
  }
  return PG_ERR_INVALID;
}

int pg_log_set_level_str(const char *s, pg_diag *d) {
  pg_log_level l;
  if (pg_log_level_parse(s, &l) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "unknown log level '%.32s' (use error, warn, info or debug)",
                   s ? s : "");
  pg_log_set_level(l);
  return PG_OK;
}

const char *pg_log_level_name(pg_log_level level) {
  switch (level) {
  case PG_LOG_ERROR: return "error";
  case PG_LOG_WARN: return "warn";
  case PG_LOG_INFO: return "info";
  case PG_LOG_DEBUG: return "debug";
  }
  return "?";
}

static const char *level_tag(pg_log_level level) {
  switch (level) {
  case PG_LOG_ERROR: return "ERROR";
  case PG_LOG_WARN: return "WARN ";
  case PG_LOG_INFO: return "INFO ";
  case PG_LOG_DEBUG: return "DEBUG";
  }
  return "?????";
}

void pg_log_set_output(FILE *f) { atomic_store(&g_out, f); }
void pg_log_set_clock(const pg_clock *c) { atomic_store(&g_clock, c); }

/* Replaces control characters (except tab) in p[0..n) with '?'. */
static void scrub(char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) p[i] = '?';
  }
}

/* ---- the in-memory tail (pg_log_tail) ---- */

#define TAIL_LINES PG_LOG_TAIL_MAX
#define TAIL_WIDTH 400 /* bytes kept of a line (longer ones are cut) */
static pthread_mutex_t g_tail_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_tail[TAIL_LINES][TAIL_WIDTH];
static unsigned short g_tail_len[TAIL_LINES];
static size_t g_tail_next; /* lines written so far */

static void tail_push(const char *line, size_t len) {
  if (len >= TAIL_WIDTH) len = TAIL_WIDTH - 1;
  pthread_mutex_lock(&g_tail_mu);
  size_t slot = g_tail_next % TAIL_LINES;
  memcpy(g_tail[slot], line, len);
  g_tail[slot][len] = '\0';
  g_tail_len[slot] = (unsigned short)len;
  g_tail_next++;
  pthread_mutex_unlock(&g_tail_mu);
}

size_t pg_log_tail(char *out, size_t cap, size_t max_lines) {
  if (!out || cap == 0) return 0;
  out[0] = '\0';
  if (max_lines > TAIL_LINES) max_lines = TAIL_LINES;
  size_t used = 0, lines = 0;
  pthread_mutex_lock(&g_tail_mu);
  size_t have = g_tail_next < TAIL_LINES ? g_tail_next : TAIL_LINES;
  size_t n = have < max_lines ? have : max_lines;
  /* the newest n lines that fit, oldest first: count back what fits */
  size_t first = g_tail_next - n, need = 0;
  while (first < g_tail_next) {
    need = 0;
    for (size_t i = first; i < g_tail_next; i++) need += g_tail_len[i % TAIL_LINES] + 1u;
    if (need < cap) break;
    first++;
  }
  for (size_t i = first; i < g_tail_next; i++) {
    size_t slot = i % TAIL_LINES, l = g_tail_len[slot];
    memcpy(out + used, g_tail[slot], l);
    used += l;
    out[used++] = '\n';
    lines++;
  }
  out[used] = '\0';
  pthread_mutex_unlock(&g_tail_mu);
  return lines;
}

void pg_logv(pg_log_level level, const char *module, const char *fmt, va_list ap) {
  if (!pg_log_enabled(level)) return;
  const pg_clock *clk = atomic_load(&g_clock);
  if (!clk) clk = pg_clock_real();
  uint64_t ms = pg_clock_now(clk);
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  char line[PG_LOG_LINE_MAX];
  size_t len = 0;
  if (!gmtime_r(&secs, &tm)) memset(&tm, 0, sizeof tm);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ %s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, (unsigned)(ms % 1000), level_tag(level));
  if (n < 0) return;
  len = (size_t)n;
  size_t head = len;
  /* room left for text: keep 1 byte for '\n' and 1 for NUL */
  n = snprintf(line + len, sizeof line - len - 1, "%.64s: ", module ? module : "-");
  if (n > 0) len += (size_t)n < sizeof line - len - 1 ? (size_t)n : sizeof line - len - 2;
  n = vsnprintf(line + len, sizeof line - len - 1, fmt, ap);
  if (n > 0) {
    if ((size_t)n >= sizeof line - len - 1) { /* cut: end in "..." */
      len = sizeof line - 2;
      memcpy(line + len - 3, "...", 3);
    } else {
      len += (size_t)n;
    }
  }
  scrub(line + head, len - head);
  line[len++] = '\n';
  FILE *f = atomic_load(&g_out);
  if (!f) f = stderr;
  fwrite(line, 1, len, f); /* one locked stdio call per line */
  tail_push(line, len - 1);
}

void pg_log(pg_log_level level, const char *module, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pg_logv(level, module, fmt, ap);
  va_end(ap);
}
