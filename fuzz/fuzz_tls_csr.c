/* Fuzz target: a certificate request (PEM or DER) as `p2pgrid ca sign` gets
 * it from a device. Whatever the CA signs must be a member certificate that
 * names what the request named; every refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/tls/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pg_ca *g_ca; /* one ephemeral CA for the whole run */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_diag d = {{0}};
  if (!g_ca && pg_ca_new_ephemeral("fuzz", &g_ca, &d) != PG_OK) abort();
  char *cert = NULL;
  int rc = pg_ca_sign_request(g_ca, data, size, NULL, 1, &cert, &d);
  if (rc != PG_OK) {
    if (d.msg[0] == '\0' || cert) abort();
    return 0;
  }
  pg_member m;
  if (!cert || pg_member_from_cert(cert, strlen(cert), &m, NULL) != PG_OK) abort();
  free(cert);
  return 0;
}
