/* log.c — levelled, thread-safe line logging. See p2pgrid/base/log.h. */
#include "p2pgrid/base/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = PG_LOG_INFO;
static atomic_int g_format = PG_LOG_TEXT;
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

void pg_log_set_format(pg_log_format f) {
  atomic_store(&g_format, f == PG_LOG_JSON ? PG_LOG_JSON : PG_LOG_TEXT);
}

pg_log_format pg_log_get_format(void) { return (pg_log_format)atomic_load(&g_format); }

int pg_log_format_parse(const char *s, pg_log_format *out) {
  if (!s || !out) return PG_ERR_INVALID;
  if (strnlen(s, 8) >= 8) return PG_ERR_INVALID;
  if (ieq(s, "text")) *out = PG_LOG_TEXT;
  else if (ieq(s, "json")) *out = PG_LOG_JSON;
  else return PG_ERR_INVALID;
  return PG_OK;
}

int pg_log_set_format_str(const char *s, pg_diag *d) {
  pg_log_format f;
  if (pg_log_format_parse(s, &f) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "unknown log format '%.32s' (use text or json)", s ? s : "");
  pg_log_set_format(f);
  return PG_OK;
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

/* ---- JSON lines ---- */

/* The length of the valid UTF-8 sequence at p (n bytes left), 0 if none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (c >= 0xF5 || len == 0 || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (len == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))) return 0;
  if (len == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))) return 0;
  return len;
}

/* Appends s as the inside of a JSON string to out[*len..cap): quotes,
 * backslashes and control characters escaped, invalid UTF-8 as U+FFFD.
 * Stops before a piece that would not fit with 3 bytes to spare, then
 * writes "..." there; false when it was cut. */
static bool json_escape(char *out, size_t *len, size_t cap, const char *s) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  while (n > 0) {
    char piece[8];
    size_t pl = 0, used = 1;
    unsigned c = *p;
    if (c == '"' || c == '\\') piece[pl++] = '\\', piece[pl++] = (char)c;
    else if (c == '\n') memcpy(piece, "\\n", 2), pl = 2;
    else if (c == '\t') memcpy(piece, "\\t", 2), pl = 2;
    else if (c == '\r') memcpy(piece, "\\r", 2), pl = 2;
    else if (c < 0x20 || c == 0x7f) {
      memcpy(piece, "\\u00", 4);
      piece[4] = hex[c >> 4], piece[5] = hex[c & 15], pl = 6;
    } else if (c < 0x80) piece[pl++] = (char)c;
    else if ((used = utf8_len(p, n)) > 0) memcpy(piece, p, used), pl = used;
    else memcpy(piece, "\\ufffd", 6), pl = 6, used = 1;
    if (*len + pl + 3 > cap) {
      memcpy(out + *len, "...", 3);
      *len += 3;
      return false;
    }
    memcpy(out + *len, piece, pl);
    *len += pl;
    p += used, n -= used;
  }
  return true;
}

/* One JSON object and '\n' in line (PG_LOG_LINE_MAX bytes): time, level,
 * pid, module, msg (cut messages end in "..."). Returns its length. */
static size_t json_line(char *line, const struct tm *tm, uint64_t ms, pg_log_level level,
                        const char *module, const char *msg, bool cut) {
  char mod[65];
  snprintf(mod, sizeof mod, "%.64s", module ? module : "-");
  int n = snprintf(line, PG_LOG_LINE_MAX,
                   "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\",\"level\":\"%s\",\"pid\":%ld,"
                   "\"module\":\"",
                   tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
                   tm->tm_sec, (unsigned)(ms % 1000), pg_log_level_name(level), (long)getpid());
  size_t len = n > 0 ? (size_t)n : 0;
  const size_t tail = 3; /* "}\n and room kept after the message */
  (void)json_escape(line, &len, PG_LOG_LINE_MAX - tail - 16, mod);
  memcpy(line + len, "\",\"msg\":\"", 9);
  len += 9;
  if (!json_escape(line, &len, PG_LOG_LINE_MAX - tail, msg)) cut = false; /* "..." written */
  if (cut && len + 3 + tail <= PG_LOG_LINE_MAX) memcpy(line + len, "...", 3), len += 3;
  memcpy(line + len, "\"}\n", 3);
  return len + 3;
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
  va_list ap2;
  va_copy(ap2, ap);
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
  if (pg_log_get_format() == PG_LOG_JSON) {
    char msg[PG_LOG_LINE_MAX], js[PG_LOG_LINE_MAX];
    int m = vsnprintf(msg, sizeof msg, fmt, ap2);
    if (m < 0) msg[0] = '\0';
    size_t jl = json_line(js, &tm, ms, level, module, msg, m >= (int)sizeof msg);
    fwrite(js, 1, jl, f); /* one locked stdio call per line */
  } else {
    fwrite(line, 1, len, f); /* one locked stdio call per line */
  }
  va_end(ap2);
  tail_push(line, len - 1); /* the tail keeps the text form (status pages) */
}

void pg_log(pg_log_level level, const char *module, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pg_logv(level, module, fmt, ap);
  va_end(ap);
}
