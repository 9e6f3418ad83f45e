/* Fuzz target: a backup request as a daemon's backup server reads it from
 * its data dir (pg_backup_request_parse, base/backup_serve.h). A request
 * that passes must hold an absolute path without control characters and a
 * 32-digit lowercase hex nonce. Seeds: a real request and damaged copies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/backup_serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_backup_request r;
  pg_diag d = {{0}};
  if (pg_backup_request_parse(data, size, &r, &d) == PG_OK) {
    size_t n = strlen(r.out);
    if (n == 0 || n > PG_BACKUP_PATH_MAX || r.out[0] != '/' || strlen(r.nonce) != PG_BACKUP_NONCE_HEX)
      abort();
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)r.out[i] < 0x20 || r.out[i] == 0x7f) abort();
  } else if (!d.msg[0]) {
    abort(); /* every refusal says why */
  }
  return 0;
}
