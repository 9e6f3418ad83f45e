/* Internal to src/base/tz.c and tzif.c: the loaded zone and the POSIX rule. */
#ifndef P2PGRID_TZ_INTERNAL_H
#define P2PGRID_TZ_INTERNAL_H

#include "p2pgrid/base/tz.h"

#define TZ_ABBR_MAX 15
#define TZ_OFF_MAX 93599 /* |UT offset| <= 25:59:59 (RFC 8536 3.2) */

/* One date of a POSIX rule: 'J' n = Julian day 1..365 without Feb 29,
 * 'N' n = zero-based day 0..365, 'M' = day wd (0 Sunday) of week w (1..5,
 * 5 = last) of month m. */
typedef struct tz_rule_date {
  char kind;
  int n, m, w, wd;
} tz_rule_date;

typedef struct tz_rule {
  int32_t std_off, dst_off; /* seconds east of UTC */
  bool has_dst;
  tz_rule_date start, end;
  int32_t start_time, end_time; /* local seconds of the day, -167h..167h */
  char std_abbr[TZ_ABBR_MAX + 1], dst_abbr[TZ_ABBR_MAX + 1];
} tz_rule;

typedef struct tz_type {
  int32_t off;
  bool isdst;
  uint8_t abbr; /* index into abbrs */
} tz_type;

struct pg_tz_zone {
  char name[PG_TZ_NAME_MAX + 1];
  size_t n_trans, n_types, n_chars;
  int64_t *trans;   /* seconds, strictly ascending */
  uint8_t *tidx;    /* type of each transition */
  tz_type *types;
  char *abbrs;      /* NUL-separated, last byte NUL */
  bool has_rule;    /* footer TZ string present and non-empty */
  tz_rule rule;
  struct pg_tz_zone *next; /* process cache list */
};

/* Parses a POSIX TZ string of len bytes; false when malformed. */
bool tz_rule_parse(const char *s, size_t len, tz_rule *r);
/* State of the rule at t_s: offset, whether DST, and the next change
 * (INT64_MAX when none). */
void tz_rule_lookup(const tz_rule *r, int64_t t_s, int32_t *off, bool *isdst, int64_t *next_s);
int64_t tz_floor_div(int64_t a, int64_t b);

#endif
