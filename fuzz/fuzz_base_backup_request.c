/* Fuzz target: a backup request as a daemon's backup server reads it from
 * its data dir (pg_backup_request_parse, base/backup_serve.h). A request
 * that passes must hold a 32-digit lowercase hex nonce. Seeds: a real
 * request and damaged copies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/backup_serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_backup_request r;
  pg_diag d = {{0}};
  if (pg_backup_request_parse(data, size, &r, &d) == PG_OK) {
    if (strlen(r.nonce) != PG_BACKUP_NONCE_HEX) abort();
    for (size_t i = 0; i < PG_BACKUP_NONCE_HEX; i++)
      if (!((r.nonce[i] >= '0' && r.nonce[i] <= '9') || (r.nonce[i] >= 'a' && r.nonce[i] <= 'f')))
        abort();
  } else if (!d.msg[0]) {
    abort(); /* every refusal says why */
  }
  return 0;
}
