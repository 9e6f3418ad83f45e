/* TZif reader (RFC 8536) and POSIX TZ strings (the files' footer). Every
 * byte comes from outside: counts are checked against the bytes present
 * before anything is read, and every value against its range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz_internal.h"

/* ---- POSIX TZ strings ----------------------------------------------------- */

typedef struct rd {
  const char *p, *end;
} rd;

static bool at(const rd *r, char c) { return r->p < r->end && *r->p == c; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static bool num(rd *r, int max_digits, int lo, int hi, int *out) {
  int v = 0, n = 0;
  while (r->p < r->end && is_digit(*r->p) && n < max_digits) v = v * 10 + (*r->p++ - '0'), n++;
  if (n == 0 || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* "CET" or "<+0530>": 3..TZ_ABBR_MAX characters. */
static bool abbr(rd *r, char out[TZ_ABBR_MAX + 1]) {
  size_t n = 0;
  if (at(r, '<')) {
    r->p++;
    while (r->p < r->end && *r->p != '>') {
      char c = *r->p;
      if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-') || n >= TZ_ABBR_MAX) return false;
      out[n++] = c, r->p++;
    }
    if (!at(r, '>')) return false;
    r->p++;
  } else {
    while (r->p < r->end && is_alpha(*r->p)) {
      if (n >= TZ_ABBR_MAX) return false;
      out[n++] = *r->p++;
    }
  }
  out[n] = '\0';
  return n >= 3;
}

/* [+-]hh[:mm[:ss]] in seconds, hh <= max_h. */
static bool hms(rd *r, int max_h, int32_t *out) {
  int sign = 1, h, m = 0, s = 0;
  if (at(r, '+') || at(r, '-')) sign = *r->p++ == '-' ? -1 : 1;
  if (!num(r, 3, 0, max_h, &h)) return false;
  if (at(r, ':')) {
    r->p++;
    if (!num(r, 2, 0, 59, &m)) return false;
    if (at(r, ':')) {
      r->p++;
      if (!num(r, 2, 0, 59, &s)) return false;
    }
  }
  *out = sign * (h * 3600 + m * 60 + s);
  return true;
}

static bool rule_date(rd *r, tz_rule_date *dt, int32_t *time) {
  *dt = (tz_rule_date){0};
  if (at(r, 'J')) {
    r->p++;
    dt->kind = 'J';
    if (!num(r, 3, 1, 365, &dt->n)) return false;
  } else if (at(r, 'M')) {
    r->p++;
    dt->kind = 'M';
    if (!num(r, 2, 1, 12, &dt->m) || !at(r, '.')) return false;
    r->p++;
    if (!num(r, 1, 1, 5, &dt->w) || !at(r, '.')) return false;
    r->p++;
    if (!num(r, 1, 0, 6, &dt->wd)) return false;
  } else {
    dt->kind = 'N';
    if (!num(r, 3, 0, 365, &dt->n)) return false;
  }
  *time = 7200;
  if (at(r, '/')) {
    r->p++;
    return hms(r, 167, time);
  }
  return true;
}

bool tz_rule_parse(const char *s, size_t len, tz_rule *out) {
  rd r = {s, s + len};
  tz_rule x = {0};
  int32_t v;
  if (!abbr(&r, x.std_abbr) || !hms(&r, 24, &v)) return false;
  x.std_off = -v; /* POSIX offsets count west */
  if (r.p < r.end) {
    x.has_dst = true;
    if (!abbr(&r, x.dst_abbr)) return false;
    x.dst_off = x.std_off + 3600;
    if (r.p < r.end && !at(&r, ',')) {
      if (!hms(&r, 24, &v)) return false;
      x.dst_off = -v;
    }
    if (at(&r, ',')) {
      r.p++;
      if (!rule_date(&r, &x.start, &x.start_time) || !at(&r, ',')) return false;
      r.p++;
      if (!rule_date(&r, &x.end, &x.end_time)) return false;
    } else { /* POSIX leaves it to the implementation; glibc's default */
      x.start = (tz_rule_date){'M', 0, 3, 2, 0};
      x.end = (tz_rule_date){'M', 0, 11, 1, 0};
      x.start_time = x.end_time = 7200;
    }
  }
  if (r.p != r.end) return false;
  *out = x;
  return true;
}

static int64_t month_days(int y, int m) {
  int64_t a = pg_days_from_civil(y, m, 1);
  int64_t b = m == 12 ? pg_days_from_civil(y + 1, 1, 1) : pg_days_from_civil(y, m + 1, 1);
  return b - a;
}

/* Unix day of a rule date in year y. */
static int64_t date_day(int y, const tz_rule_date *dt) {
  int64_t jan1 = pg_days_from_civil(y, 1, 1);
  if (dt->kind == 'J') {
    bool leap = pg_days_in_year(y) == 366;
    return jan1 + dt->n - 1 + (leap && dt->n >= 60);
  }
  if (dt->kind == 'N') return jan1 + dt->n;
  int64_t first = pg_days_from_civil(y, dt->m, 1);
  int64_t wd0 = ((first + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
  int64_t day = ((dt->wd - wd0) % 7 + 7) % 7 + 7 * (dt->w - 1);
  while (day >= month_days(y, dt->m)) day -= 7;
  return first + day;
}

int64_t tz_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void tz_rule_lookup(const tz_rule *r, int64_t t_s, int32_t *off, bool *isdst, int64_t *next_s) {
  if (!r->has_dst) {
    *off = r->std_off, *isdst = false, *next_s = INT64_MAX;
    return;
  }
  int y0, m0, d0;
  pg_civil_from_days(tz_floor_div(t_s, 86400), &y0, &m0, &d0);
  /* the changes of the years around t, in order (stable: a year's end before
   * the next year's start at the same instant, so all-year DST stays DST) */
  int64_t at_s[10];
  bool to_dst[10];
  size_t n = 0;
  for (int y = y0 - 2; y <= y0 + 2; y++) {
    int64_t s = date_day(y, &r->start) * 86400 + r->start_time - r->std_off;
    int64_t e = date_day(y, &r->end) * 86400 + r->end_time - r->dst_off;
    for (int k = 0; k < 2; k++) {
      int64_t v = k ? e : s;
      size_t i = n++;
      while (i > 0 && at_s[i - 1] > v) at_s[i] = at_s[i - 1], to_dst[i] = to_dst[i - 1], i--;
      at_s[i] = v, to_dst[i] = k == 0;
    }
  }
  bool dst = !to_dst[0];
  *next_s = INT64_MAX;
  for (size_t i = 0; i < n; i++) {
    if (at_s[i] <= t_s) {
      dst = to_dst[i];
    } else {
      *next_s = at_s[i];
      break;
    }
  }
  *isdst = dst;
  *off = dst ? r->dst_off : r->std_off;
}

/* ---- TZif ----------------------------------------------------------------- */

typedef struct tzif_hdr {
  char version; /* 0, '2', '3', '4' */
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_hdr;

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

#define HDR_LEN 44u
#define MAX_COUNT 100000u /* far above any real zone; keeps sizes small */

/* The v1 header of a v2+ file only sizes the block skipped (strict false). */
static int header(const uint8_t *p, size_t len, const char *name, bool strict, tzif_hdr *h,
                  pg_diag *d) {
  if (len < HDR_LEN) return pg_fail(d, PG_ERR_TRUNCATED, "%s: TZif: file ends inside a header", name);
  if (memcmp(p, "TZif", 4) != 0)
    return pg_fail(d, PG_ERR_INVALID, "%s: not a TZif file (no \"TZif\" magic)", name);
  h->version = (char)p[4];
  if (h->version != 0 && h->version != '2' && h->version != '3' && h->version != '4')
    return pg_fail(d, PG_ERR_INVALID, "%s: TZif: unknown version byte 0x%02x", name, p[4]);
  uint32_t *f[6] = {&h->isutcnt, &h->isstdcnt, &h->leapcnt, &h->timecnt, &h->typecnt, &h->charcnt};
  for (int i = 0; i < 6; i++) {
    *f[i] = be32(p + 20 + 4 * i);
    if (*f[i] > MAX_COUNT) return pg_fail(d, PG_ERR_INVALID, "%s: TZif: count too large", name);
  }
  if (!strict) return PG_OK;
  if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0)
    return pg_fail(d, PG_ERR_INVALID, "%s: TZif: needs 1..256 time types and abbreviations",
                   name);
  if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
    return pg_fail(d, PG_ERR_INVALID, "%s: TZif: UT/standard indicator counts differ from types",
                   name);
  return PG_OK;
}

static size_t block_len(const tzif_hdr *h, size_t tsize) {
  return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
         (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Reads the data block at p (tsize 4 or 8 bytes a time) into z. */
static int block(const uint8_t *p, const tzif_hdr *h, size_t tsize, const char *name,
                 pg_tz_zone *z, pg_diag *d) {
  z->n_trans = h->timecnt, z->n_types = h->typecnt, z->n_chars = h->charcnt;
  z->trans = malloc((h->timecnt ? h->timecnt : 1) * sizeof *z->trans);
  z->tidx = malloc(h->timecnt ? h->timecnt : 1);
  z->types = malloc(h->typecnt * sizeof *z->types);
  z->abbrs = malloc(h->charcnt);
  if (!z->trans || !z->tidx || !z->types || !z->abbrs)
    return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  for (size_t i = 0; i < h->timecnt; i++, p += tsize) {
    z->trans[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
    if (i && z->trans[i] <= z->trans[i - 1])
      return pg_fail(d, PG_ERR_INVALID, "%s: TZif: transition times not ascending", name);
  }
  for (size_t i = 0; i < h->timecnt; i++, p++) {
    if (*p >= h->typecnt)
      return pg_fail(d, PG_ERR_INVALID, "%s: TZif: transition to unknown type %u", name, *p);
    z->tidx[i] = *p;
  }
  for (size_t i = 0; i < h->typecnt; i++, p += 6) {
    int32_t off = (int32_t)be32(p);
    if (off < -TZ_OFF_MAX || off > TZ_OFF_MAX || p[4] > 1 || p[5] >= h->charcnt)
      return pg_fail(d, PG_ERR_INVALID, "%s: TZif: time type %zu out of range", name, i);
    z->types[i] = (tz_type){off, p[4] == 1, p[5]};
  }
  memcpy(z->abbrs, p, h->charcnt);
  if (z->abbrs[h->charcnt - 1] != '\0')
    return pg_fail(d, PG_ERR_INVALID, "%s: TZif: abbreviations not NUL-terminated", name);
  p += h->charcnt + (size_t)h->leapcnt * (tsize + 4);
  for (size_t i = 0; i < (size_t)h->isstdcnt + h->isutcnt; i++)
    if (p[i] > 1) return pg_fail(d, PG_ERR_INVALID, "%s: TZif: indicator not 0 or 1", name);
  return PG_OK;
}

static int footer(const uint8_t *p, size_t len, const char *name, pg_tz_zone *z, pg_diag *d) {
  if (len < 2 || p[0] != '\n')
    return pg_fail(d, PG_ERR_TRUNCATED, "%s: TZif: missing footer (TZ string)", name);
  const uint8_t *nl = memchr(p + 1, '\n', len - 1);
  if (!nl) return pg_fail(d, PG_ERR_TRUNCATED, "%s: TZif: footer not terminated", name);
  size_t n = (size_t)(nl - (p + 1));
  if (n == 0) return PG_OK;
  if (!tz_rule_parse((const char *)p + 1, n, &z->rule))
    return pg_fail(d, PG_ERR_INVALID, "%s: TZif: bad TZ string \"%.*s\" in the footer", name,
                   (int)(n < 60 ? n : 60), (const char *)p + 1);
  z->has_rule = true;
  return PG_OK;
}

void pg_tz_zone_free(pg_tz_zone *z) {
  if (!z) return;
  free(z->trans);
  free(z->tidx);
  free(z->types);
  free(z->abbrs);
  free(z);
}

int pg_tzif_parse(const void *data, size_t len, const char *name, pg_tz_zone **out,
                  pg_diag *d) {
  const uint8_t *p = data;
  tzif_hdr h;
  *out = NULL;
  if (!name || strlen(name) > PG_TZ_NAME_MAX)
    return pg_fail(d, PG_ERR_INVALID, "time zone name missing or too long");
  bool v1_only = len < 5 || p[4] == 0;
  int rc = header(p, len, name, v1_only, &h, d);
  if (rc) return rc;
  size_t tsize = 4, off = HDR_LEN;
  if (h.version) { /* skip the v1 block: v2+ data follows with 64-bit times */
    size_t skip = block_len(&h, 4);
    if (skip > len - off) return pg_fail(d, PG_ERR_TRUNCATED, "%s: TZif: v1 data cut short", name);
    off += skip;
    if ((rc = header(p + off, len - off, name, true, &h, d))) return rc;
    off += HDR_LEN;
    tsize = 8;
  }
  if (h.leapcnt)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "%s: zones with leap seconds (right/...) are not "
                   "supported", name);
  size_t need = block_len(&h, tsize);
  if (need > len - off) return pg_fail(d, PG_ERR_TRUNCATED, "%s: TZif: data cut short", name);
  pg_tz_zone *z = calloc(1, sizeof *z);
  if (!z) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  snprintf(z->name, sizeof z->name, "%s", name);
  if ((rc = block(p + off, &h, tsize, name, z, d))) goto fail;
  off += need;
  if (h.version && (rc = footer(p + off, len - off, name, z, d))) goto fail;
  *out = z;
  return PG_OK;
fail:
  pg_tz_zone_free(z);
  return rc;
}
