/* p2pgrid/tls/tls.h — membership as certificates (GnuTLS): the community CA,
 * member certificates and what we read from them, verification of a peer's
 * certificate against the CA and its revocation list, and signatures with a
 * member's key (the channel binding, docs/SECURITY.md).
 *
 * A member certificate is an X.509 v3 certificate issued by the community
 * CA (ECDSA P-256, SHA-256) whose subject names the member:
 *   CN = the member id ([A-Za-z0-9._-]{1,64}),
 *   OU = the role (source, producer, consumer, grid, operator),
 * with the member's other attributes as URIs in subjectAltName:
 *   urn:p2pgrid:parent:<producer id>   a source's producer (sources only)
 *   urn:p2pgrid:max-w:<watts>          enrolled capacity (decimal, 1..10^12)
 * plus DNS names and IP addresses for members that serve (grid, producer).
 * Every certificate has extendedKeyUsage clientAuth (and serverAuth when it
 * names a host), keyUsage digitalSignature.
 *
 * Serial numbers are 16 random bytes (positive, first byte 01..7f, so the
 * hex is always 32 digits); there is no serial counter file.
 *
 * CA directory (pg_ca_init, mode 0700): ca.key (mode 0600), ca.crt,
 * crl.pem (always present, possibly empty of entries; nextUpdate = the CA's
 * notAfter), issued/<serial-hex>.crt (one file per issued certificate),
 * revoked (one line per revocation: "<serial-hex> <id> <unix-seconds>",
 * absent until the first one). Files are written atomically (temp, fsync,
 * rename, fsync of the dir). A pg_ca reads issued/ and revoked when opened;
 * two processes should not change one CA directory at the same time.
 *
 * Ownership: a pg_ca (pg_ca_close), pg_tls_trust (pg_tls_trust_free) and
 * pg_tls_key (pg_tls_key_free) are the caller's; PEM and DER outputs are
 * malloc'd and the caller's (free(); private keys with pg_tls_free_secret,
 * which wipes them); PEM texts a CA or trust returns are owned by it.
 * Errors: PG_ERR_INVALID for malformed input (the diag names what),
 * PG_ERR_CRYPTO for a refused verification or signature, PG_ERR_IO for
 * files, PG_ERR_EXISTS when pg_ca_init finds a CA already there,
 * PG_ERR_NOT_FOUND for an unknown id (revoke). Diags start with the object
 * ("certificate: ...", "CA: ...", "request: ...").
 *
 * Threads: pg_member_from_cert, pg_tls_sig_verify and pg_ca_* on distinct
 * objects are thread-safe. A pg_tls_trust may be used from many threads at
 * once (it locks internally); a pg_tls_key likewise (read-only after load). */
#ifndef P2PGRID_TLS_TLS_H
#define P2PGRID_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "p2pgrid/base/err.h"

#define PG_MEMBER_ID_MAX 64
#define PG_MEMBER_NAMES_MAX 8   /* DNS names + IP addresses read from a certificate */
#define PG_MEMBER_NAME_LEN 255
#define PG_TLS_SIG_MAX 80        /* an ECDSA P-256 DER signature is at most 72 bytes */
#define PG_MEMBER_MAX_W 1000000000000ULL

typedef enum pg_role {
  PG_ROLE_NONE = 0,
  PG_ROLE_SOURCE = 1,
  PG_ROLE_PRODUCER = 2,
  PG_ROLE_CONSUMER = 3,
  PG_ROLE_GRID = 4,
  PG_ROLE_OPERATOR = 5,
} pg_role;

/* "source", ... ; NULL for NONE or out of range. */
const char *pg_role_name(pg_role r);
/* Exact, lower-case names; PG_ERR_INVALID ("role: 'x' is not one of ...") otherwise. */
PG_NODISCARD int pg_role_parse(const char *s, pg_role *out, pg_diag *d);

/* What a member certificate says. Owns no memory. */
typedef struct pg_member {
  char id[PG_MEMBER_ID_MAX + 1];
  pg_role role;
  char parent[PG_MEMBER_ID_MAX + 1]; /* "" unless a source's producer is named */
  uint64_t max_w;                    /* 0 = none stated */
  uint8_t fingerprint[32];           /* SHA-256 of the certificate's DER */
  char serial[41];                   /* lower-case hex, no leading "00" bytes stripped */
  int64_t not_before, not_after;     /* Unix seconds */
  size_t nnames;
  char names[PG_MEMBER_NAMES_MAX][PG_MEMBER_NAME_LEN + 1]; /* DNS names and IPs (text) */
} pg_member;

/* Reads a member certificate (PEM, one "CERTIFICATE" block, or DER) without
 * verifying it: PG_ERR_INVALID when it does not parse or does not name a
 * member (no CN, a CN that is not an id, no or an unknown OU role, a parent
 * on a non-source, a malformed p2pgrid URI, more than one of a kind).
 * A parser of outside bytes (fuzz/fuzz_tls_cert.c). */
PG_NODISCARD int pg_member_from_cert(const void *data, size_t len, pg_member *out, pg_diag *d);
/* The fingerprint as 64 lower-case hex digits + NUL. */
void pg_member_fingerprint_hex(const pg_member *m, char out[65]);

/* ---- the CA ---- */

typedef struct pg_ca pg_ca;

/* What to put into a certificate (issue, request, sign). */
typedef struct pg_cert_opts {
  const char *id;          /* required */
  pg_role role;            /* required */
  const char *parent;      /* required for a source, refused for others */
  uint64_t max_w;          /* 0 = none */
  const char *const *hosts;/* DNS names or IP literals (serverAuth); may be NULL */
  size_t nhosts;           /* at most PG_MEMBER_NAMES_MAX */
  unsigned days;           /* validity; 0 = 825 */
} pg_cert_opts;

/* Creates DIR (mode 0700 if missing) with a new CA named `name` (the CA
 * certificate's CN, e.g. "Sunny Street energy community"), valid `days`
 * (0 = 3650). PG_ERR_EXISTS when DIR/ca.key exists. */
PG_NODISCARD int pg_ca_init(const char *dir, const char *name, unsigned days, pg_diag *d);
/* Opens the CA of DIR (reads ca.key and ca.crt). */
PG_NODISCARD int pg_ca_open(const char *dir, pg_ca **out, pg_diag *d);
/* A CA that lives in memory only (the simulator's): nothing on disk. */
PG_NODISCARD int pg_ca_new_ephemeral(const char *name, pg_ca **out, pg_diag *d);
void pg_ca_close(pg_ca *ca);

/* The CA certificate as PEM (owned by ca, NUL-terminated). */
const char *pg_ca_cert_pem(const pg_ca *ca);

/* Makes a new key pair (ECDSA P-256) and a certificate for it: *key_pem and
 * *cert_pem are malloc'd NUL-terminated PEM (caller frees; the key with
 * pg_tls_free_secret). Recorded in issued/ (a disk CA). */
PG_NODISCARD int pg_ca_issue(pg_ca *ca, const pg_cert_opts *o, char **key_pem, char **cert_pem,
                             pg_diag *d);
/* On a device: a new key pair and a certificate request (PKCS#10) naming
 * id, role, parent, max_w and hosts as above. */
PG_NODISCARD int pg_csr_make(const pg_cert_opts *o, char **key_pem, char **csr_pem, pg_diag *d);
/* Signs a certificate request (PEM or DER). What the certificate says comes
 * from the request; `expect` (may be NULL) is what the operator says it must
 * be: id and role (and parent when given) must then match, else
 * PG_ERR_INVALID naming the difference. The request's own signature is
 * checked (PG_ERR_CRYPTO). */
PG_NODISCARD int pg_ca_sign_request(pg_ca *ca, const void *csr, size_t len,
                                    const pg_cert_opts *expect, unsigned days, char **cert_pem,
                                    pg_diag *d);
/* Revokes every certificate issued to id that is not revoked yet and
 * rewrites crl.pem. *count (may be NULL) = how many. PG_ERR_NOT_FOUND when
 * the CA issued nothing to id. */
PG_NODISCARD int pg_ca_revoke(pg_ca *ca, const char *id, unsigned *count, pg_diag *d);
/* [{"serial","id","role","parent","maxW","notAfter" (Unix s),"fingerprint",
 *   "revoked" (bool),"revokedAt" (Unix s or null)}], oldest first. */
PG_NODISCARD int pg_ca_list(pg_ca *ca, json_t **out, pg_diag *d);

/* The CA's current CRL as PEM (malloc'd, caller frees): what crl.pem holds
 * for a disk CA; for an ephemeral CA the only way to get it (pass it to
 * pg_tls_trust_from_pem). */
PG_NODISCARD int pg_ca_crl_pem(pg_ca *ca, char **crl_pem, pg_diag *d);

/* Frees a secret string (key PEM): zeroes it first. NULL is a no-op. */
void pg_tls_free_secret(char *s);

/* ---- verifying peers ---- */

/* The trust of a server or client: the CA certificate (PEM file) and
 * optionally the CA's CRL (PEM file). The CRL file is read again when its
 * modification time or size changes (checked at most once a second), so a
 * revocation takes effect without a restart; a CRL that does not verify
 * against the CA is refused (the previous one stays in force, logged). */
typedef struct pg_tls_trust pg_tls_trust;
PG_NODISCARD int pg_tls_trust_open(const char *ca_file, const char *crl_file, pg_tls_trust **out,
                                   pg_diag *d);
/* The same from memory (no reload): crl_pem may be NULL. */
PG_NODISCARD int pg_tls_trust_from_pem(const char *ca_pem, const char *crl_pem,
                                       pg_tls_trust **out, pg_diag *d);
void pg_tls_trust_free(pg_tls_trust *t);
/* The CA certificate PEM (owned by t). */
const char *pg_tls_trust_ca_pem(const pg_tls_trust *t);

/* Verifies a peer's certificate chain (DER certificates, leaf first, as a
 * TLS handshake delivers them) at Unix time now_s against the CA and the
 * current CRL, and reads the member from the leaf. PG_ERR_CRYPTO with one of
 * these diags: "no client certificate", "certificate not issued by this
 * community's CA", "certificate revoked", "certificate expired",
 * "certificate not yet valid", "certificate is not for client use";
 * PG_ERR_INVALID when the leaf is not a member certificate. */
typedef struct pg_der {
  const uint8_t *data;
  size_t len;
} pg_der;
PG_NODISCARD int pg_tls_trust_verify(pg_tls_trust *t, const pg_der *chain, size_t n,
                                     int64_t now_s, pg_member *out, pg_diag *d);

/* ---- a member's key ---- */

typedef struct pg_tls_key pg_tls_key;
/* Loads a private key (PEM, unencrypted) and, optionally, the certificate
 * that goes with it (cert_file may be NULL): PG_ERR_INVALID when the
 * certificate's public key is not the key's. */
PG_NODISCARD int pg_tls_key_load(const char *key_file, const char *cert_file, pg_tls_key **out,
                                 pg_diag *d);
PG_NODISCARD int pg_tls_key_from_pem(const char *key_pem, const char *cert_pem, pg_tls_key **out,
                                     pg_diag *d);
void pg_tls_key_free(pg_tls_key *k);
/* The certificate loaded with the key as DER (NULL/0 when none). */
const uint8_t *pg_tls_key_cert_der(const pg_tls_key *k, size_t *len);
/* ECDSA-SHA256 signature of msg (deterministic, RFC 6979): DER into sig
 * (cap bytes, PG_TLS_SIG_MAX is enough), its length in *sig_len. */
PG_NODISCARD int pg_tls_sign(const pg_tls_key *k, const void *msg, size_t len, uint8_t *sig,
                             size_t cap, size_t *sig_len, pg_diag *d);
/* Checks a signature made by the key of the certificate cert (DER):
 * PG_OK or PG_ERR_CRYPTO ("signature does not verify"); PG_ERR_INVALID for
 * a certificate that does not parse. Does not verify the certificate. */
PG_NODISCARD int pg_tls_sig_verify(const uint8_t *cert_der, size_t cert_len, const void *msg,
                                   size_t len, const uint8_t *sig, size_t sig_len, pg_diag *d);

/* PEM -> DER of the first CERTIFICATE block (malloc'd, caller frees). */
PG_NODISCARD int pg_tls_pem_to_der(const char *pem, size_t len, uint8_t **der, size_t *der_len,
                                   pg_diag *d);

#endif
