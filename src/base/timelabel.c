/* Local-time labels of instants and slots (see p2pgrid/base/timelabel.h). */
#include "p2pgrid/base/timelabel.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* True when another instant has the same local time as t (a repeated hour):
 * any other offset seen within 3 h either side that maps the same local time
 * back onto an instant carrying that offset. */
static bool ambiguous(pg_tz tz, int64_t t_ms, int32_t off) {
  static const int64_t probe[] = {-3 * 3600000LL, 3 * 3600000LL};
  int64_t local = t_ms + (int64_t)off * 1000;
  for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
    int32_t o2 = pg_tz_offset_s(tz, t_ms + probe[i]);
    if (o2 == off) continue;
    int64_t t2 = local - (int64_t)o2 * 1000;
    if (t2 != t_ms && pg_tz_offset_s(tz, t2) == o2) return true;
  }
  return false;
}

size_t pg_time_label(int64_t t_ms, pg_tz tz, char *buf, size_t cap) {
  pg_local_time lt;
  pg_local_time_of(t_ms, tz, &lt);
  int32_t off = pg_tz_offset_s(tz, t_ms);
  int64_t s = lt.ms_of_day / 1000;
  char out[PG_TIME_LABEL_MAX + 24];
  int n = snprintf(out, sizeof out, "%04d-%02d-%02d %02d:%02d", lt.year, lt.month, lt.day,
                   (int)(s / 3600), (int)(s / 60 % 60));
  if (n > 0 && lt.ms_of_day % 60000 != 0)
    n += snprintf(out + n, sizeof out - (size_t)n, ":%02d", (int)(s % 60));
  if (n > 0 && ambiguous(tz, t_ms, off)) {
    int32_t a = off < 0 ? -off : off;
    n += snprintf(out + n, sizeof out - (size_t)n, " %c%02d:%02d", off < 0 ? '-' : '+',
                  (int)(a / 3600), (int)(a / 60 % 60));
  }
  size_t len = n > 0 ? (size_t)n : 0;
  if (cap) {
    size_t c = len < cap ? len : cap - 1;
    memcpy(buf, out, c);
    buf[c] = '\0';
  }
  return len;
}

size_t pg_slot_label(int64_t slot, uint64_t slot_ms, pg_tz tz, char *buf, size_t cap) {
  return pg_time_label((int64_t)((uint64_t)slot * slot_ms), tz, buf, cap);
}
