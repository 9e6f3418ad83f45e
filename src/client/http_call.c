/* http_call.c — single HTTP calls (http_call.h) and the libcurl plumbing
 * that the node client (http.c) shares: global init, common and TLS
 * options, the bearer header, the server's certificate, the mapping of
 * transport and TLS failures to pg_err. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "http_internal.h"
#include "p2pgrid/base/url.h"
#include "p2pgrid/client/http_call.h"

#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_MAX_RESPONSE (1u << 20)
#define WHAT_URL_MAX 160 /* bytes of the URL quoted in a diag */

/* ---- shared libcurl plumbing ---- */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void) { g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

int pg_libcurl_init(pg_diag *d) {
  pthread_once(&g_curl_once, curl_init_once);
  if (g_curl_init_rc != CURLE_OK)
    return pg_fail(d, PG_ERR_HTTP, "libcurl init failed: %s", curl_easy_strerror(g_curl_init_rc));
  return PG_OK;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
  pg_buf *b = userdata;
  size_t n = size * nmemb;
  pg_buf_put(b, ptr, n);
  return pg_buf_status(b) == PG_OK ? n : 0; /* 0 makes libcurl stop with CURLE_WRITE_ERROR */
}

CURLcode pg_libcurl_common(CURL *c, const char *url, long connect_timeout_ms, long timeout_ms,
                           size_t max_response, pg_buf *resp, char *errbuf) {
  CURLcode cc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
  do {                                                                                             \
    if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val);                                        \
  } while (0)
  SETOPT(CURLOPT_URL, url);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_TCP_KEEPIDLE, 30L);
  SETOPT(CURLOPT_TCP_KEEPINTVL, 10L);
  SETOPT(CURLOPT_TCP_NODELAY, 1L);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_response);
  SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT(CURLOPT_WRITEDATA, resp);
  SETOPT(CURLOPT_ERRORBUFFER, errbuf);
#undef SETOPT
  return cc;
}

CURLcode pg_libcurl_tls(CURL *c, const pg_tls_files *tls, bool want_peer_cert) {
  CURLcode cc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
  do {                                                                                             \
    if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val);                                        \
  } while (0)
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  if (tls && tls->ca_file) {
    SETOPT(CURLOPT_CAINFO, tls->ca_file);
    SETOPT(CURLOPT_CAPATH, (char *)NULL); /* our CA only, not the system's as well */
  }
  if (tls && tls->cert_file) {
    SETOPT(CURLOPT_SSLCERT, tls->cert_file);
    SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (tls && tls->key_file) {
    SETOPT(CURLOPT_SSLKEY, tls->key_file);
    SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (tls && tls->crl_file) SETOPT(CURLOPT_CRLFILE, tls->crl_file);
  if (want_peer_cert) SETOPT(CURLOPT_CERTINFO, 1L);
#undef SETOPT
  return cc;
}

int pg_libcurl_bearer(struct curl_slist **hdrs, const char *token, const char *what, pg_diag *d) {
  size_t n = strlen(token);
  if (n == 0 || n > PG_BEARER_MAX)
    return pg_fail(d, PG_ERR_INVALID, "%s: the bearer token must be 1..%d bytes", what,
                   PG_BEARER_MAX);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
      return pg_fail(d, PG_ERR_INVALID,
                     "%s: the bearer token holds a space, control or non-ASCII byte", what);
  char line[PG_BEARER_MAX + 32];
  snprintf(line, sizeof line, "Authorization: Bearer %s", token);
  struct curl_slist *t = curl_slist_append(*hdrs, line);
  memset(line, 0, sizeof line);
  if (!t) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
  *hdrs = t;
  return PG_OK;
}

int pg_libcurl_peer_cert(CURL *c, uint8_t **der, size_t *len, const char *what, pg_diag *d) {
  *der = NULL;
  *len = 0;
  struct curl_certinfo *ci = NULL;
  if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
    return PG_OK; /* not TLS */
  const char *pem = NULL;
  for (const struct curl_slist *l = ci->certinfo[0]; l && !pem; l = l->next)
    if (strncmp(l->data, "Cert:", 5) == 0) pem = l->data + 5;
  if (!pem) return pg_fail(d, PG_ERR_HTTP, "%s: TLS: libcurl gave no server certificate", what);
  gnutls_datum_t in = {(unsigned char *)pem, (unsigned)strlen(pem)}, out = {NULL, 0};
  int g = gnutls_pem_base64_decode2("CERTIFICATE", &in, &out);
  if (g < 0 || out.size == 0) {
    gnutls_free(out.data);
    return pg_fail(d, PG_ERR_HTTP, "%s: TLS: cannot read the server certificate (%s)", what,
                   g < 0 ? gnutls_strerror(g) : "empty");
  }
  *der = malloc(out.size);
  if (*der) {
    memcpy(*der, out.data, out.size);
    *len = out.size;
  }
  gnutls_free(out.data);
  return *der ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
}

static bool contains(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

/* What went wrong, for libcurl's TLS failures (why = libcurl's text); NULL
 * for the others. */
static const char *tls_problem(CURLcode cc, const char *why) {
  switch (cc) {
  case CURLE_PEER_FAILED_VERIFICATION: return "server certificate not trusted";
  case CURLE_SSL_ISSUER_ERROR: return "server certificate not issued by the expected CA";
  case CURLE_SSL_CERTPROBLEM: return "our client certificate or key cannot be used";
  case CURLE_SSL_CACERT_BADFILE: return "the CA file cannot be used";
  case CURLE_SSL_CRL_BADFILE: return "the CRL file cannot be used";
  case CURLE_SSL_CLIENTCERT: return "client certificate required by the server";
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return "server key is not the pinned one";
  case CURLE_SSL_INVALIDCERTSTATUS: return "server certificate status is invalid";
  case CURLE_SSL_CONNECT_ERROR:
    if (contains(why, "alert") && contains(why, "ertificate"))
      return "client certificate refused by the server";
    return "handshake failed";
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED: return "failed";
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    /* a TLS 1.3 server refuses a client certificate after our side of the
     * handshake is done: the alert arrives with the answer */
    if (contains(why, "TLS") && contains(why, "alert")) return "the server ended the session";
    return NULL;
  default: return NULL;
  }
}

int pg_libcurl_perform(CURL *c, const pg_buf *resp, size_t max_response, const char *errbuf,
                       const char *what, const char *where, long *status, pg_diag *d) {
  const char *to = where ? " to " : "";
  if (!where) where = "";
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    const char *tls = tls_problem(cc, why);
    if (tls) return pg_fail(d, PG_ERR_HTTP, "%s%s%s: TLS: %s (%s)", what, to, where, tls, why);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
      return pg_fail(d, PG_ERR_TIMEOUT, "%s%s%s: timed out: %s", what, to, where, why);
    case CURLE_OUT_OF_MEMORY: return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
    case CURLE_FILESIZE_EXCEEDED:
      return pg_fail(d, PG_ERR_TOO_LARGE, "%s: response larger than %zu bytes", what,
                     max_response);
    case CURLE_WRITE_ERROR:
      if (pg_buf_status(resp) == PG_ERR_TOO_LARGE)
        return pg_fail(d, PG_ERR_TOO_LARGE, "%s: response larger than %zu bytes", what,
                       max_response);
      if (pg_buf_status(resp) == PG_ERR_NOMEM)
        return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
      return pg_fail(d, PG_ERR_HTTP, "%s%s%s: %s", what, to, where, why);
    default: return pg_fail(d, PG_ERR_HTTP, "%s%s%s: %s", what, to, where, why);
    }
  }
  long code = 0;
  if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code < 100)
    return pg_fail(d, PG_ERR_HTTP, "%s: no HTTP status", what);
  *status = code;
  return PG_OK;
}

/* ---- pg_http_call ---- */

static bool method_ok(const char *m) {
  if (!m || !*m || strlen(m) > 16) return false;
  for (const char *p = m; *p; p++)
    if (*p < 'A' || *p > 'Z') return false;
  return true;
}

void pg_http_result_free(pg_http_result *r) {
  if (!r) return;
  free(r->body);
  free(r->peer_der);
  memset(r, 0, sizeof *r);
}

/* The request headers of a call: Content-Type and no "Expect" when a body
 * is sent, the bearer token. */
static int call_headers(const pg_http_call_opts *o, bool sends_body, const char *what,
                        struct curl_slist **hdrs, pg_diag *d) {
  if (sends_body) {
    char line[160];
    snprintf(line, sizeof line, "Content-Type: %s",
             o->content_type ? o->content_type : "application/json");
    struct curl_slist *t = curl_slist_append(*hdrs, line);
    if (t) *hdrs = t;
    if (t && (t = curl_slist_append(*hdrs, "Expect:"))) *hdrs = t;
    if (!t) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
  }
  return o->bearer ? pg_libcurl_bearer(hdrs, o->bearer, what, d) : PG_OK;
}

/* Method and body options. */
static CURLcode call_method(CURL *c, const pg_http_call_opts *o, bool sends_body) {
  CURLcode cc = CURLE_OK;
  if (strcmp(o->method, "GET") == 0 && !sends_body) {
    cc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(o->method, "HEAD") == 0 && !sends_body) {
    cc = curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    cc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    if (sends_body) {
      if (cc == CURLE_OK) cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body ? o->body : "");
      if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    }
  }
  return cc;
}

/* Moves the answer of a performed call into out. */
static int take_answer(CURL *c, const pg_http_call_opts *o, long status, pg_buf *resp,
                       const char *what, pg_http_result *out, pg_diag *d) {
  if (o->want_peer_cert) {
    int rc = pg_libcurl_peer_cert(c, &out->peer_der, &out->peer_der_len, what, d);
    if (rc) return rc;
  }
  uint8_t *p = NULL;
  size_t len = 0;
  pg_buf_take(resp, &p, &len);
  char *body = realloc(p, len + 1);
  if (!body) {
    free(p);
    return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
  }
  body[len] = '\0';
  const char *ct = NULL;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
    snprintf(out->content_type, sizeof out->content_type, "%s", ct);
  out->status = status;
  out->body = body;
  out->len = len;
  return PG_OK;
}

int pg_http_call(const pg_http_call_opts *o, pg_http_result *out, pg_diag *d) {
  if (out) memset(out, 0, sizeof *out);
  if (!o || !out || !method_ok(o->method))
    return pg_fail(d, PG_ERR_INVALID, "HTTP call: the method must be an upper-case token");
  if (!o->url || !pg_url_http_ok(o->url))
    return pg_fail(d, PG_ERR_INVALID,
                   "%s %.*s: the URL must start with http:// or https:// and hold no spaces",
                   o->method, WHAT_URL_MAX, o->url ? o->url : "(none)");
  int rc = pg_libcurl_init(d);
  if (rc) return rc;

  char what[WHAT_URL_MAX + 40];
  snprintf(what, sizeof what, "%s %.*s%s", o->method, WHAT_URL_MAX, o->url,
           strlen(o->url) > WHAT_URL_MAX ? "..." : "");
  const size_t max = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE;
  const long timeout = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  const long connect = o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  pg_buf resp;
  pg_buf_init(&resp, max);
  CURL *c = curl_easy_init();
  if (!c) {
    rc = pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", what);
    goto done;
  }
  CURLcode cc = pg_libcurl_common(c, o->url, connect, timeout, max, &resp, errbuf);
  if (cc == CURLE_OK) cc = pg_libcurl_tls(c, o->tls, o->want_peer_cert);
  bool sends_body = o->body_len || strcmp(o->method, "POST") == 0 ||
                    strcmp(o->method, "PUT") == 0 || strcmp(o->method, "PATCH") == 0;
  if ((rc = call_headers(o, sends_body, what, &hdrs, d))) goto done;
  if (cc == CURLE_OK) cc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  if (cc == CURLE_OK) cc = call_method(c, o, sends_body);
  if (cc != CURLE_OK) {
    rc = pg_fail(d, PG_ERR_HTTP, "%s: libcurl option: %s", what, curl_easy_strerror(cc));
    goto done;
  }
  long status = 0;
  if ((rc = pg_libcurl_perform(c, &resp, max, errbuf, what, NULL, &status, d))) goto done;
  rc = take_answer(c, o, status, &resp, what, out, d);
done:
  if (c) curl_easy_cleanup(c);
  curl_slist_free_all(hdrs); /* the bearer line: libcurl's copy, not wiped */
  pg_buf_free(&resp);
  if (rc) pg_http_result_free(out);
  return rc;
}
