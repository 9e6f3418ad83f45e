/* share_config.c — the [sharing] section of a grid configuration: each key
 * a member id, each value its settings for the sharing mechanisms
 * (docs/CONFIG.md):
 *   [sharing]
 *   bakery = participation 60%
 *   flat-1 = key 25%, group 1
 * Items: "key P%" (a static key, market.h pg_market_key_parse), "group N"
 * (0..PG_SHARE_MAX_GROUP), "participation P%" (1..100). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/grid/grid.h"

typedef struct collect_ctx {
  const char *section;
  char **keys;
  size_t n, cap;
  bool oom;
} collect_ctx;

static void collect(void *ctx, const char *origin, int line, const char *section,
                    const char *key) {
  (void)origin, (void)line;
  collect_ctx *c = ctx;
  if (c->oom || strcmp(section, c->section) != 0) return;
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->keys[i], key) == 0) return; /* set twice: one member */
  if (pg_grow(&c->keys, &c->cap, c->n + 1, sizeof *c->keys, 0)) {
    c->oom = true;
    return;
  }
  if (!(c->keys[c->n] = strdup(key))) c->oom = true;
  else c->n++;
}

/* One item "name value" of a member's settings. */
static int parse_item(const char *item, pg_grid_share_member *m, pg_diag *d) {
  const char *sp = strchr(item, ' ');
  if (!sp)
    return pg_fail(d, PG_ERR_INVALID, "'%s' is not 'key P%%', 'group N' or 'participation P%%'",
                   item);
  size_t n = (size_t)(sp - item);
  const char *v = sp;
  while (*v == ' ') v++;
  if (n == 3 && strncmp(item, "key", 3) == 0) return pg_market_key_parse(v, &m->key_ppm, d);
  char *end;
  errno = 0;
  unsigned long x = strtoul(v, &end, 10);
  bool num = end != v && !errno && *v >= '0' && *v <= '9';
  if (n == 5 && strncmp(item, "group", 5) == 0) {
    if (!num || *end || x > PG_SHARE_MAX_GROUP)
      return pg_fail(d, PG_ERR_INVALID, "group '%s' is not 0..%d", v, PG_SHARE_MAX_GROUP);
    m->group = (uint32_t)x;
    return PG_OK;
  }
  if (n == 13 && strncmp(item, "participation", 13) == 0) {
    if (!num || (*end && strcmp(end, "%") != 0) || x < 1 || x > 100)
      return pg_fail(d, PG_ERR_INVALID, "participation '%s' is not 1..100%%", v);
    m->participation = (uint8_t)x;
    return PG_OK;
  }
  return pg_fail(d, PG_ERR_INVALID, "unknown item '%.*s' (key, group, participation)", (int)n,
                 item);
}

static int parse_member(pg_config *c, const char *sec, const char *id, pg_grid_share_member *m,
                        pg_diag *d) {
  pg_config_list l = {0};
  int rc = pg_config_get_list(c, sec, id, NULL, 3, &l, d);
  if (rc) return rc;
  m->participation = 100;
  for (size_t i = 0; i < l.n && !rc; i++) {
    pg_diag in = {{0}};
    if ((rc = parse_item(l.items[i], m, &in)))
      rc = pg_fail(d, PG_ERR_CONFIG, "[%s] %s: %s", sec, id, in.msg);
  }
  pg_config_list_free(&l);
  return rc;
}

int pg_grid_share_from_config(pg_config *c, const char *sec, pg_grid_share_member **out,
                              size_t *n_out, pg_diag *d) {
  *out = NULL;
  *n_out = 0;
  collect_ctx cc = {.section = sec};
  pg_config_unused(c, collect, &cc);
  int rc = cc.oom ? pg_fail(d, PG_ERR_NOMEM, "out of memory") : PG_OK;
  pg_grid_share_member *m = calloc(cc.n ? cc.n : 1, sizeof *m);
  if (!rc && !m) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t done = 0;
  for (; !rc && done < cc.n; done++) {
    m[done].id = cc.keys[done];
    cc.keys[done] = NULL; /* owned by m now */
    rc = parse_member(c, sec, m[done].id, &m[done], d);
  }
  for (size_t i = 0; i < cc.n; i++) free(cc.keys[i]);
  free(cc.keys);
  if (rc) {
    pg_grid_share_free(m, done);
    return rc;
  }
  *out = m;
  *n_out = cc.n;
  return PG_OK;
}

void pg_grid_share_free(pg_grid_share_member *m, size_t n) {
  for (size_t i = 0; m && i < n; i++) free((char *)m[i].id);
  free(m);
}

void pg_grid_share_apply(const pg_grid_share_member *m, size_t n, pg_market_consumer *c) {
  for (size_t k = 0; k < n; k++) {
    if (!m[k].id || !c->id || strcmp(m[k].id, c->id) != 0) continue;
    c->key_ppm = m[k].key_ppm;
    c->group = m[k].group;
    int64_t part = c->usage_wh;
    if (m[k].participation < 100 &&
        pg_market_participation_split(c->usage_wh, &m[k].participation, 1, &part, NULL) == PG_OK)
      c->usage_wh = part;
    return;
  }
}
