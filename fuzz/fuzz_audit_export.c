/* Fuzz target: arbitrary bytes as the grid's audit export and as a
 * member's keys (the files `p2pgrid audit` reads). A parse either fails
 * with a diagnostic or gives a struct the comparison can run on (against
 * empty facts) without reading out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "p2pgrid/audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_audit_export e;
  pg_diag d = {{0}};
  if (pg_audit_export_parse(data, size, &e, &d) != PG_OK) {
    if (d.msg[0] == '\0') abort();
  } else {
    pg_audit_facts f = {0};
    pg_audit_report r;
    if (pg_audit_compare(&e, &f, &r, NULL) != PG_OK) abort();
    pg_audit_report_free(&r);
    pg_audit_export_free(&e);
  }
  pg_audit_keys k;
  pg_diag d2 = {{0}};
  if (pg_audit_keys_parse(data, size, &k, &d2) != PG_OK) {
    if (d2.msg[0] == '\0') abort();
  } else {
    pg_audit_keys_free(&k);
  }
  return 0;
}
