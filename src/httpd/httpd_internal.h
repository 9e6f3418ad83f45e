/* httpd_internal.h — shared between the files of src/httpd (not a public contract). */
#ifndef P2PGRID_HTTPD_INTERNAL_H
#define P2PGRID_HTTPD_INTERNAL_H

#include <stddef.h>

#include "p2pgrid/httpd.h"

#define PG_HTTPD_HDR_MAX 8

enum { BODY_NONE, BODY_OWNED, BODY_STATIC, BODY_EMPTY, BODY_ERROR };

struct pg_httpd_resp {
  const pg_httpd *srv;
  const pg_httpd_req *req; /* NULL when answering before the request was complete */
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

#endif
