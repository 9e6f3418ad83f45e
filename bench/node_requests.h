/* node_requests.h — for the benchmarks that talk to a node over HTTP (not
 * in util.c: it needs pg_client's pg_http_call, which not every benchmark
 * links). Include after the standard headers. */
#ifndef P2PGRID_BENCH_NODE_REQUESTS_H
#define P2PGRID_BENCH_NODE_REQUESTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/client/http_call.h"

/* The requests the node at base has answered with a 2xx so far, every
 * route but /metrics (from its /metrics); -1 when it cannot be read. */
static inline double bench_node_requests(const char *base) {
  char url[128];
  snprintf(url, sizeof url, "%s/metrics", base);
  pg_http_result r = {0};
  pg_diag d = {{0}};
  if (pg_http_call(&(pg_http_call_opts){.method = "GET", .url = url}, &r, &d)) return -1;
  double sum = 0;
  const char *key = "p2pgrid_node_api_request_duration_seconds_count{route=\"";
  for (const char *p = r.body; p && (p = strstr(p, key)); p++) {
    const char *route = p + strlen(key), *v = strstr(route, "\"} ");
    if (strncmp(route, "metrics", 7) != 0 && v && strncmp(v - 3, "2xx", 3) == 0) sum += atof(v + 3);
  }
  pg_http_result_free(&r);
  return sum;
}

#endif
