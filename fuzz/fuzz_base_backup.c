/* Fuzz target: a backup file as restore reads it (pg_backup_check_mem): the
 * schema, meta, entry names, kinds, sizes, chunks and hashes of hostile
 * bytes. A backup that passes must name only plain files within the caps.
 * Seeds: a real backup of a small data dir and damaged copies of it. */
#include <stdint.h>
#include <stdlib.h>

#include "p2pgrid/base/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_backup_info info = {0};
  pg_diag d = {{0}};
  if (pg_backup_check_mem(data, size, &info, &d) == PG_OK) {
    if (info.entries == 0 || info.entries > PG_BACKUP_MAX_ENTRIES || info.databases > info.entries)
      abort();
  } else if (!d.msg[0]) {
    abort(); /* every refusal says why */
  }
  return 0;
}
