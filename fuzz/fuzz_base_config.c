/* Fuzz target: parse arbitrary INI text from memory, then read every key
 * found with every typed getter. Input after a line "--" is a list of
 * command-line overrides, one per line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct keys {
  char *sec[64];
  char *key[64];
  size_t n;
} keys;

static void collect(void *ctx, const char *origin, int line, const char *section,
                    const char *key) {
  keys *k = ctx;
  (void)origin;
  (void)line;
  if (k->n == 64) return;
  k->sec[k->n] = strdup(section);
  k->key[k->n] = strdup(key);
  if (!k->sec[k->n] || !k->key[k->n]) abort();
  k->n++;
}

static void read_all(pg_config *c, const char *s, const char *k) {
  pg_diag d;
  const char *str;
  int64_t i64;
  uint64_t u64;
  int i;
  bool b;
  pg_config_list l;
#define CHECK(call)                                             \
  do {                                                          \
    d.msg[0] = '\0';                                            \
    int rc_ = (call);                                           \
    if (rc_ != PG_OK && d.msg[0] == '\0') abort();              \
  } while (0)
  CHECK(pg_config_get_str(c, s, k, NULL, &str, &d));
  CHECK(pg_config_get_i64(c, s, k, 0, INT64_MIN, INT64_MAX, &i64, &d));
  CHECK(pg_config_get_u64(c, s, k, 0, 1, 65535, &u64, &d));
  CHECK(pg_config_get_int(c, s, k, 0, -5, 5, &i, &d));
  CHECK(pg_config_get_bool(c, s, k, false, &b, &d));
  CHECK(pg_config_get_duration_ms(c, s, k, 0, 0, UINT64_MAX, &u64, &d));
  CHECK(pg_config_get_duration_ms(c, s, k, 0, 1000, 3600000, &u64, &d));
  CHECK(pg_config_get_size(c, s, k, 0, 0, 1u << 20, &u64, &d));
  d.msg[0] = '\0';
  if (pg_config_get_list(c, s, k, NULL, 4, &l, &d) == PG_OK) {
    for (size_t j = 0; j < l.n; j++)
      if (l.items[j][0] == '\0') abort(); /* empty items are dropped */
    pg_config_list_free(&l);
  } else if (d.msg[0] == '\0') {
    abort();
  }
  CHECK(pg_config_require(c, s, k, &d));
#undef CHECK
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  size_t tlen = size;
  const uint8_t *ov = NULL;
  size_t ovlen = 0;
  for (size_t i = 0; i + 4 <= size; i++) {
    if (memcmp(data + i, "\n--\n", 4) == 0) {
      tlen = i + 1;
      ov = data + i + 4;
      ovlen = size - i - 4;
      break;
    }
  }
  pg_config *c = NULL;
  pg_diag d;
  if (pg_config_new(&c) != PG_OK) return 0;
  d.msg[0] = '\0';
  if (pg_config_load_string(c, "fuzz.ini", text, tlen, &d) != PG_OK && d.msg[0] == '\0') abort();

  /* overrides: each line as a NUL-terminated string */
  while (ov && ovlen) {
    const uint8_t *nl = memchr(ov, '\n', ovlen);
    size_t n = nl ? (size_t)(nl - ov) : ovlen;
    char *arg = malloc(n + 1);
    if (!arg) abort();
    memcpy(arg, ov, n);
    arg[n] = '\0';
    d.msg[0] = '\0';
    if (pg_config_override(c, arg, &d) != PG_OK && d.msg[0] == '\0') abort();
    free(arg);
    ov += n + (nl ? 1 : 0);
    ovlen -= n + (nl ? 1 : 0);
  }

  keys k = {{0}, {0}, 0};
  size_t unused = pg_config_unused(c, collect, &k);
  if (unused < k.n) abort();
  for (size_t i = 0; i < k.n; i++) {
    if (!pg_config_has(c, k.sec[i], k.key[i])) abort();
    read_all(c, k.sec[i], k.key[i]);
  }
  size_t left = unused - k.n; /* keys beyond the 64 collected */
  if (pg_config_unused(c, NULL, NULL) != left) abort();
  for (size_t i = 0; i < left && i < 3; i++)
    if (pg_config_unused_describe(c, i, &d) != PG_OK) abort();
  if (pg_config_unused_describe(c, left, &d) != PG_ERR_NOT_FOUND) abort();
  read_all(c, "api", "port"); /* absent keys take defaults */
  for (size_t i = 0; i < k.n; i++) {
    free(k.sec[i]);
    free(k.key[i]);
  }
  pg_config_free(c);
  return 0;
}
