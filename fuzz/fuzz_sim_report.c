/* Fuzz target: the simulation report's readers (RFC 4180 CSV, numbers,
 * times, summary.json) and the page renderer. The input is split at '\f'
 * (form feed) into slots.csv, participants.csv, transfers.csv, balances.csv,
 * summary.json and flex_slots.csv; a missing part is an absent file. A rendered page must
 * be a whole document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/sim/report.h"

/* Every coordinate attribute and path is plain numbers (no nan, no inf).
 * Text from the files is escaped, so a raw '"' only ends our attributes. */
static void check_coords(const uint8_t *p, size_t n) {
  static const char *const attrs[] = {" x=\"", " y=\"", " x1=\"", " x2=\"", " y1=\"",
                                      " y2=\"", " width=\"", " height=\"", " d=\""};
  for (size_t a = 0; a < sizeof attrs / sizeof *attrs; a++) {
    size_t k = strlen(attrs[a]);
    for (const uint8_t *q = p; (q = memmem(q, n - (size_t)(q - p), attrs[a], k)) != NULL;) {
      q += k;
      while (q < p + n && *q != '"') {
        if (!strchr("0123456789.-MLHVZ %", *q)) abort();
        q++;
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[6] = {0};
  size_t len[6] = {0};
  size_t start = 0;
  for (int i = 0; i < 6 && start <= size; i++) {
    const uint8_t *ff = memchr(data + start, '\f', size - start);
    size_t end = ff ? (size_t)(ff - data) : size;
    part[i] = size ? data + start : (const uint8_t *)"";
    len[i] = end - start;
    start = end + 1;
    if (!ff) break;
  }
  pg_sim_report_files f = {part[0], len[0], part[1], len[1], part[2], len[2],
                           part[3], len[3], part[4], len[4], part[5], len[5]};
  pg_buf out;
  pg_buf_init(&out, (size_t)8 << 20);
  pg_diag d;
  int rc = pg_sim_report_render(&f, &out, &d);
  if (rc == PG_OK) {
    static const char tail[] = "</html>\n";
    if (out.len < sizeof tail - 1 ||
        memcmp(out.data + out.len - (sizeof tail - 1), tail, sizeof tail - 1) != 0)
      abort();
    if (memchr(out.data, 0, out.len)) abort(); /* no NUL in the page */
    check_coords(out.data, out.len);
  } else if (!d.msg[0]) {
    abort(); /* a failure always says why */
  }
  pg_buf_free(&out);
  return 0;
}
