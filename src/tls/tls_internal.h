/* tls_internal.h — what the files of src/tls share (not a public API). */
#ifndef P2PGRID_TLS_INTERNAL_H
#define P2PGRID_TLS_INTERNAL_H

#include <pthread.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "p2pgrid/base/file.h"
#include "p2pgrid/tls/tls.h"

#define TLS_CERT_MAX (64 * 1024) /* bytes of one certificate or request */
#define TLS_SERIAL_LEN 16

/* Reads a certificate: PEM (exactly one CERTIFICATE block) or DER. */
PG_NODISCARD int pg_tls__crt_import(const void *data, size_t len, gnutls_x509_crt_t *out,
                                    pg_diag *d);
/* The member a parsed certificate names (see pg_member_from_cert). */
PG_NODISCARD int pg_tls__member_from_crt(gnutls_x509_crt_t crt, pg_member *out, pg_diag *d);
/* The same names from a request (diags start "request: "): fills id, role,
 * parent, max_w and names only. */
PG_NODISCARD int pg_tls__member_from_crq(gnutls_x509_crq_t crq, pg_member *out, pg_diag *d);
/* [A-Za-z0-9._-]{1,64} */
bool pg_tls__valid_id(const char *s, size_t n);
/* Checks what goes into a certificate; `what` starts the diag. */
PG_NODISCARD int pg_tls__check_opts(const pg_cert_opts *o, const char *what, pg_diag *d);
/* Exports a datum as a malloc'd NUL-terminated string (zeroes and frees the
 * datum when secret). */
PG_NODISCARD int pg_tls__datum_str(gnutls_datum_t *dt, bool secret, char **out, pg_diag *d);
/* A new ECDSA P-256 key: the key (x509) and its PKCS#8 PEM when pem != NULL. */
PG_NODISCARD int pg_tls__new_key(gnutls_x509_privkey_t *key, char **pem, pg_diag *d);
/* Sets the subject (CN id, OU role) and the subjectAltNames of a
 * certificate (crt) or a request (crq; exactly one is non-NULL). */
PG_NODISCARD int pg_tls__set_names(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq,
                                   const pg_cert_opts *o, pg_diag *d);
/* 16 random bytes, first in 01..7f. */
void pg_tls__random_serial(uint8_t serial[TLS_SERIAL_LEN]);

/* ---- the CA (ca.c, ca_store.c) ---- */

typedef struct ca_entry {
  pg_member m;        /* what the certificate says */
  int64_t revoked_at; /* Unix seconds; 0 = not revoked */
  int64_t issued_ns;  /* when issued (file mtime on disk): orders the list */
} ca_entry;

struct pg_ca {
  pthread_mutex_t mu;         /* guards the entries and the files */
  int64_t last_issued_ns;     /* the newest entry's issued_ns: the next is later */
  char *dir;                  /* NULL for an ephemeral CA */
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t xkey;
  gnutls_privkey_t key;       /* over xkey */
  char *cert_pem;
  uint8_t ski[64];            /* subject key id of the CA certificate */
  size_t ski_len;
  ca_entry *v;                /* oldest first */
  size_t n, cap;
};

/* Records a certificate the CA just signed (issued/<serial>.crt on disk). */
PG_NODISCARD int pg_tls__ca_record(pg_ca *ca, gnutls_x509_crt_t crt, const char *pem, pg_diag *d);
/* Signs a member certificate for pub as o says (o checked), records it. */
PG_NODISCARD int pg_tls__ca_sign_member(pg_ca *ca, const pg_cert_opts *o, gnutls_pubkey_t pub,
                                        unsigned days, char **cert_pem, pg_diag *d);
/* Reads issued/ and revoked of a disk CA into ca->v. */
PG_NODISCARD int pg_tls__ca_load(pg_ca *ca, pg_diag *d);
/* Builds the CRL of the revoked entries (caller holds ca->mu). */
PG_NODISCARD int pg_tls__ca_crl_locked(pg_ca *ca, char **pem, pg_diag *d);
/* "<dir>/<name>" into out; PG_ERR_IO when it does not fit. */
PG_NODISCARD int pg_tls__path(char *out, size_t cap, const char *dir, const char *name, pg_diag *d);

#endif
