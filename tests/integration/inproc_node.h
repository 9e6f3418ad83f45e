/* inproc_node.h — a p2pgrid node in the test's own process (pg_node: a real
 * HTTP server on 127.0.0.1 at an ephemeral port), for tests that drive its
 * API with pg_client or pg_http_call. Include after <cmocka.h>.
 *
 *   pg_node *n = tn_start_node(dir, "name", "min_pow_score = 0\n[api]\nport = 0\n",
 *                              base, sizeof base);
 *   ... base is "http://127.0.0.1:<port>" ...
 *   pg_node_stop(n);
 *
 * The node's INI is "[node]\ndata_dir = <dir>/<name>\n" followed by ini (more
 * [node] keys first, then other sections; [api] port = 0 for an ephemeral
 * port). Any failure fails the test. */
#ifndef P2PGRID_TEST_INPROC_NODE_H
#define P2PGRID_TEST_INPROC_NODE_H

#include <stdio.h>
#include <string.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/node/node.h"

static pg_node *tn_start_node(const char *dir, const char *name, const char *ini, char *base,
                              size_t cap) {
  pg_config *cfg = NULL;
  pg_diag d = {{0}};
  char text[2048];
  snprintf(text, sizeof text, "[node]\ndata_dir = %s/%s\n%s", dir, name, ini);
  assert_int_equal(pg_config_new(&cfg), PG_OK);
  if (pg_config_load_string(cfg, "node.ini", text, strlen(text), &d)) fail_msg("%s", d.msg);
  pg_node_config nc;
  pg_node_config_init(&nc);
  if (pg_node_config_load(&nc, cfg, &d)) fail_msg("config: %s", d.msg);
  pg_config_free(cfg);
  pg_node *n = NULL;
  if (pg_node_start(&nc, &n, &d)) fail_msg("start: %s", d.msg);
  pg_node_config_clear(&nc);
  snprintf(base, cap, "http://127.0.0.1:%u", (unsigned)pg_node_port(n));
  return n;
}

#endif
