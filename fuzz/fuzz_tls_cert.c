/* Fuzz target: read arbitrary bytes as a member certificate (PEM or DER).
 * Whatever is accepted must name a member that pg_member_from_cert would
 * have written itself (valid id, known role, parent only on a source, names
 * within bounds); every refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/tls/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);
  if (n < 1 || n > max) abort();
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_member m, again;
  pg_diag d = {{0}};
  int rc = pg_member_from_cert(data, size, &m, &d);
  if (rc != PG_OK) {
    if (rc != PG_ERR_INVALID || d.msg[0] == '\0') abort();
    return 0;
  }
  check_id(m.id, PG_MEMBER_ID_MAX);
  if (!pg_role_name(m.role)) abort();
  if (m.parent[0]) {
    check_id(m.parent, PG_MEMBER_ID_MAX);
    if (m.role != PG_ROLE_SOURCE) abort();
  }
  if (m.max_w > PG_MEMBER_MAX_W || m.nnames > PG_MEMBER_NAMES_MAX) abort();
  for (size_t i = 0; i < m.nnames; i++)
    if (strnlen(m.names[i], PG_MEMBER_NAME_LEN + 1) > PG_MEMBER_NAME_LEN || !m.names[i][0]) abort();
  size_t sl = strnlen(m.serial, sizeof m.serial);
  if (sl == 0 || sl % 2 || sl >= sizeof m.serial) abort();
  char fp[65];
  pg_member_fingerprint_hex(&m, fp);
  if (strlen(fp) != 64) abort();
  /* reading is deterministic */
  if (pg_member_from_cert(data, size, &again, &d) != PG_OK || memcmp(&m, &again, sizeof m) != 0)
    abort();
  return 0;
}
