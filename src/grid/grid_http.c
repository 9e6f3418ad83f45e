/* grid_http.c — the grid's HTTP API and dashboard as one handler, used by
 * the `p2pgrid grid` daemon and by `p2pgrid sim --serve`; and the
 * registration API over HTTP for any entity that serves one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/web/web.h"

void pg_registration_http(pg_registration_handler h, void *ctx, const pg_httpd_req *req,
                          pg_httpd_resp *resp) {
  unsigned status = 500;
  pg_buf out;
  pg_buf_init(&out, 64 * 1024);
  int rc = h(ctx, req->peer, req->method, req->path, req->body, req->body_len, &status, &out);
  if (rc)
    pg_httpd_error(resp, 500, NULL, "registration failed");
  else if (out.len)
    pg_httpd_resp_copy(resp, status, "application/json", out.data, out.len);
  else
    pg_httpd_resp_empty(resp, status);
  pg_buf_free(&out);
}

/* ?from=&to= of a slot route; false after answering 400. */
static bool parse_range(const pg_httpd_req *req, pg_httpd_resp *resp, uint64_t *from,
                        uint64_t *to) {
  const char *f = pg_httpd_query(req, "from"), *t = pg_httpd_query(req, "to");
  if ((f && !pg_parse_u64(f, strlen(f), 0, from)) ||
      (t && !pg_parse_u64(t, strlen(t), 0, to))) {
    pg_httpd_error(resp, 400, NULL, "from and to must be slot numbers (non-negative integers)");
    return false;
  }
  if (*from > *to) {
    pg_httpd_error(resp, 400, NULL, "from (%llu) is after to (%llu)", (unsigned long long)*from,
                   (unsigned long long)*to);
    return false;
  }
  return true;
}

#define PG_WEB_ID_MAX 64
/* "/api/producers/{id}/slots" or "/api/consumers/{id}/slots": the id
 * (1..64 bytes, no '/') into id. */
static bool entity_slots_path(const char *path, char id[PG_WEB_ID_MAX + 1], bool *is_producer) {
  const char *rest;
  if (strncmp(path, "/api/producers/", 15) == 0) {
    rest = path + 15;
    *is_producer = true;
  } else if (strncmp(path, "/api/consumers/", 15) == 0) {
    rest = path + 15;
    *is_producer = false;
  } else {
    return false;
  }
  const char *slash = strchr(rest, '/');
  size_t n = slash ? (size_t)(slash - rest) : 0;
  if (!slash || n == 0 || n > PG_WEB_ID_MAX || strcmp(slash, "/slots") != 0) return false;
  memcpy(id, rest, n);
  id[n] = '\0';
  return true;
}

/* {"lines":[...]}: the newest n lines of this process's log. */
static int log_json(uint64_t n, json_t **out, pg_diag *d) {
  size_t cap = (size_t)PG_LOG_TAIL_MAX * 400 + 1;
  char *buf = malloc(cap);
  json_t *arr = json_array();
  if (!buf || !arr) {
    free(buf);
    json_decref(arr);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  pg_log_tail(buf, cap, (size_t)n);
  for (char *p = buf; *p;) {
    char *nl = strchr(p, '\n');
    size_t l = nl ? (size_t)(nl - p) : strlen(p);
    json_t *s = json_stringn(p, l); /* NULL for invalid UTF-8 */
    if (!s) {
      json_decref(s);
      s = json_string("(unprintable line)");
    }
    json_array_append_new(arr, s);
    p += l + (nl ? 1 : 0);
  }
  free(buf);
  *out = json_pack("{s:o}", "lines", arr);
  return *out ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
}

/* ---- who sees what (docs/SECURITY.md) ---- */

typedef enum viewer { VIEW_PUBLIC, VIEW_MEMBER, VIEW_OPERATOR } viewer;

static viewer viewer_of(const pg_httpd_req *req) {
  const pg_httpd_peer *p = req->peer;
  if (!p || !p->verified) return VIEW_PUBLIC;
  if (p->member.role == PG_ROLE_OPERATOR || p->member.role == PG_ROLE_GRID) return VIEW_OPERATOR;
  return VIEW_MEMBER;
}

static const char *viewer_name(viewer v) {
  return v == VIEW_OPERATOR ? "operator" : v == VIEW_MEMBER ? "member" : "public";
}

static void forbid(pg_gridop *g, const pg_httpd_req *req, pg_httpd_resp *resp, const char *what) {
  pg_gridop_count(g, "refused_reads");
  const pg_httpd_peer *p = req->peer;
  if (p && p->verified)
    pg_httpd_error(resp, 403, NULL, "%s: '%s' may see only its own data", what, p->member.id);
  else
    pg_httpd_error(resp, 403, NULL,
                   "%s: members only (a member certificate of this community%s%s)", what,
                   p && p->why[0] ? "; " : "", p && p->why[0] ? p->why : "");
}

/* Keeps the rows of arr whose "id" is id (a member's own row). */
static void only_own(json_t *arr, const char *id) {
  for (size_t i = json_array_size(arr); i-- > 0;) {
    const char *rid = json_string_value(json_object_get(json_array_get(arr, i), "id"));
    if (!rid || strcmp(rid, id) != 0) json_array_remove(arr, i);
  }
}

/* /api/status: the community aggregates for everyone; recent payments,
 * payouts and error texts (which name members) for the operator only. */
static int status_for(pg_gridop *g, const pg_httpd *srv, viewer v, json_t **out, pg_diag *d) {
  int rc = pg_gridop_status(g, out, d);
  if (rc) return rc;
  if (v != VIEW_OPERATOR) {
    json_object_del(*out, "incoming");
    json_object_del(*out, "payouts");
    json_object_del(*out, "lastError");
    json_object_del(*out, "errors");
    return PG_OK;
  }
  if (srv) {
    pg_httpd_stats st;
    pg_httpd_get_stats(srv, &st);
    json_object_set_new(*out, "http",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "connections", (json_int_t)st.connections,
                                  "handshakeFailures", (json_int_t)st.handshake_failures,
                                  "requests", (json_int_t)st.requests, "refusedHost",
                                  (json_int_t)st.refused_host, "unverifiedPeers",
                                  (json_int_t)st.peers_unverified));
  }
  return PG_OK;
}

/* /api/me: who the certificate says we are, our enrolment and registration. */
static int me_json(pg_gridop *g, const pg_httpd_req *req, json_t **out, pg_diag *d) {
  const pg_member *m = &req->peer->member;
  char fp[65];
  pg_member_fingerprint_hex(m, fp);
  json_t *en = NULL, *rows = NULL;
  int rc = pg_gridop_enrolments(g, m->id, &en, d);
  if (!rc) rc = m->role == PG_ROLE_PRODUCER ? pg_gridop_producers(g, &rows, d)
                                            : pg_gridop_consumers(g, &rows, d);
  if (!rc) {
    only_own(rows, m->id);
    *out = json_pack("{s:s,s:s,s:s?,s:I,s:s,s:O?,s:O?}", "id", m->id, "role",
                     pg_role_name(m->role), "parent", m->parent[0] ? m->parent : NULL, "maxW",
                     (json_int_t)m->max_w, "fingerprint", fp, "enrolment",
                     json_array_get(en, 0), "registration", json_array_get(rows, 0));
    if (!*out) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  json_decref(en);
  json_decref(rows);
  return rc;
}

/* The list routes; false when the route is not one of them. *answered:
 * resp is set already (a refusal or a bad range); else *j or *rc is. */
static bool api_lists(pg_gridop *g, const pg_httpd_req *req, pg_httpd_resp *resp, viewer v,
                      json_t **j, bool *answered, int *rc, pg_diag *d) {
  char id[PG_WEB_ID_MAX + 1];
  bool is_producer = false;
  uint64_t from = 0, to = UINT64_MAX;
  const char *path = req->path;
  if (strcmp(path, "/api/producers") == 0 || strcmp(path, "/api/consumers") == 0) {
    if (v == VIEW_PUBLIC) return forbid(g, req, resp, path), *answered = true;
    *rc = path[5] == 'p' ? pg_gridop_producers(g, j, d) : pg_gridop_consumers(g, j, d);
    if (!*rc && v == VIEW_MEMBER) only_own(*j, req->peer->member.id);
  } else if (strcmp(path, "/api/enrolments") == 0) {
    if (v != VIEW_OPERATOR) return forbid(g, req, resp, path), *answered = true;
    *rc = pg_gridop_enrolments(g, NULL, j, d);
  } else if (strcmp(path, "/api/quarantine") == 0) {
    if (v != VIEW_OPERATOR) return forbid(g, req, resp, path), *answered = true;
    *rc = pg_gridop_quarantine(g, j, d);
  } else if (strcmp(path, "/api/slots") == 0) {
    if (!parse_range(req, resp, &from, &to)) return *answered = true;
    *rc = pg_gridop_slots(g, from, to, j, d);
  } else if (entity_slots_path(path, id, &is_producer)) {
    if (v == VIEW_PUBLIC || (v == VIEW_MEMBER && strcmp(id, req->peer->member.id) != 0))
      return forbid(g, req, resp, path), *answered = true;
    if (!parse_range(req, resp, &from, &to)) return *answered = true;
    *rc = is_producer ? pg_gridop_producer_slots(g, id, from, to, j, d)
                      : pg_gridop_consumer_slots(g, id, from, to, j, d);
  } else {
    return false;
  }
  return true;
}

/* /api/events?limit=N (default 30): what this viewer may see of the
 * recent events; false after answering 400. */
static bool events_json(pg_gridop *g, const pg_httpd_req *req, pg_httpd_resp *resp, viewer v,
                        json_t **j, int *rc, pg_diag *d) {
  uint64_t n = 30;
  const char *ls = pg_httpd_query(req, "limit");
  if (ls && (!pg_parse_u64(ls, strlen(ls), 0, &n) || n == 0 || n > PG_EVENTS_MAX)) {
    pg_httpd_error(resp, 400, NULL, "limit must be 1..%d, not '%s'", PG_EVENTS_MAX, ls);
    return false;
  }
  pg_events_scope scope = v == VIEW_OPERATOR ? PG_EVENTS_ALL
                          : v == VIEW_MEMBER ? PG_EVENTS_MEMBER
                                             : PG_EVENTS_PUBLIC;
  *rc = pg_gridop_events(g, scope, v == VIEW_MEMBER ? req->peer->member.id : NULL, (unsigned)n, j,
                         d);
  return true;
}

void pg_gridop_http(pg_gridop *g, const char *node_url, const pg_httpd *srv,
                    const pg_httpd_req *req, pg_httpd_resp *resp) {
  pg_diag d = {{0}};
  if (strncmp(req->path, "/registration/", 14) == 0) {
    pg_registration_http(pg_gridop_handle, g, req, resp);
    return;
  }
  bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  bool api = strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0;
  if (!get) {
    if (pg_httpd_resp_header(resp, "Allow", "GET, HEAD") != PG_OK) pg_log_debug("http", "no Allow header");
    pg_httpd_error(resp, 405, NULL, "%s is read-only: use GET", req->path);
    return;
  }
  if (!api) {
    pg_web_dashboard_serve(req->path, resp); /* the dashboard (web/dashboard) */
    return;
  }
  viewer v = viewer_of(req);
  json_t *j = NULL;
  int rc = PG_OK;
  bool answered = false;
  if (api_lists(g, req, resp, v, &j, &answered, &rc, &d)) {
    if (answered) return;
  } else if (strcmp(req->path, "/api/status") == 0) {
    rc = status_for(g, srv, v, &j, &d);
  } else if (strcmp(req->path, "/api/record") == 0) {
    rc = pg_gridop_record(g, &j, &d); /* public: the record is for everyone */
  } else if (strcmp(req->path, "/api/me") == 0) {
    if (v == VIEW_PUBLIC) return forbid(g, req, resp, req->path);
    rc = me_json(g, req, &j, &d);
  } else if (strcmp(req->path, "/api/config") == 0) {
    const pg_httpd_peer *p = req->peer;
    j = json_pack("{s:s?,s:{s:s,s:s?}}", "nodeUrl", node_url, "viewer", "role", viewer_name(v),
                  "id", p && p->verified ? p->member.id : NULL);
    rc = j ? PG_OK : pg_fail(&d, PG_ERR_NOMEM, "out of memory");
  } else if (strcmp(req->path, "/api/events") == 0) {
    if (!events_json(g, req, resp, v, &j, &rc, &d)) return;
  } else if (strcmp(req->path, "/api/log") == 0) {
    if (v != VIEW_OPERATOR) return forbid(g, req, resp, req->path);
    uint64_t n = 50;
    const char *ls = pg_httpd_query(req, "lines");
    if (ls && (!pg_parse_u64(ls, strlen(ls), 0, &n) || n == 0 || n > PG_LOG_TAIL_MAX)) {
      pg_httpd_error(resp, 400, NULL, "lines must be 1..%d", PG_LOG_TAIL_MAX);
      return;
    }
    rc = log_json(n, &j, &d);
  } else {
    pg_httpd_error(resp, 404, NULL, "no such path: %s", req->path);
    return;
  }
  if (rc)
    pg_httpd_error(resp, 500, NULL, "%s", d.msg);
  else
    pg_httpd_resp_json(resp, 200, j);
}
