/* httpd_internal.h — shared between the files of src/httpd (not a public contract). */
#ifndef P2PGRID_HTTPD_INTERNAL_H
#define P2PGRID_HTTPD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "p2pgrid/httpd/httpd.h"

struct MHD_Connection;

#define PG_HTTPD_HDR_MAX 8
#define PG_HTTPD_HOSTS_MAX 16
#define PG_HTTPD_HOST_LEN 256

enum { BODY_NONE, BODY_OWNED, BODY_STATIC, BODY_EMPTY, BODY_ERROR };

struct pg_httpd_resp {
  const pg_httpd *srv;
  const pg_httpd_req *req; /* NULL when answering before the request was complete */
  pg_httpd_later *later;    /* set by pg_httpd_defer: the answer comes through it */
  unsigned status;
  int kind;   /* BODY_* */
  void *data; /* BODY_OWNED: malloc'd; BODY_STATIC: borrowed */
  size_t len;
  char ctype[128]; /* Content-Type of the body, "" = none */
  char code[48];   /* BODY_ERROR: "" = the server's name for status */
  char message[320];
  size_t nhdr;
  struct {
    char name[64];
    char value[448];
  } hdr[PG_HTTPD_HDR_MAX];
};

void pg_httpd_resp_init(pg_httpd_resp *resp, const pg_httpd *srv, const pg_httpd_req *req);
/* Frees what resp owns. */
void pg_httpd_resp_clear(pg_httpd_resp *resp);

/* ---- httpd_tls.c ---- */

/* Reads tls_cert_file and tls_key_file (capped reads) into malloc'd PEM
 * strings and checks them: a certificate, an unencrypted key, the key of the
 * certificate. PG_ERR_CONFIG naming the file and what is wrong. On failure
 * both outputs are NULL. Free the key with pg_httpd_free_secret. */
PG_NODISCARD int pg_httpd_tls_load(const char *cert_file, const char *key_file, char **cert_pem,
                                   char **key_pem, pg_diag *d);
/* Wipes and frees a NUL-terminated secret; NULL is a no-op. */
void pg_httpd_free_secret(char *s);
/* Fills *p for a request on conn: the client address and, for a TLS
 * connection, the client certificate and its verification against trust
 * (may be NULL: nothing verifies). */
void pg_httpd_peer_fill(struct MHD_Connection *conn, bool tls, pg_tls_trust *trust,
                        pg_httpd_peer *p);
/* A configured host name without "[...]" into out; false when empty or too long. */
bool pg_httpd_host_copy(const char *name, char out[PG_HTTPD_HOST_LEN]);
/* Whether the Host header value (NULL = none) names one of hosts. */
bool pg_httpd_host_allowed(const char *value, const char (*hosts)[PG_HTTPD_HOST_LEN],
                           size_t nhosts);

#endif
