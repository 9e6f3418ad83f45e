/* p1.c — DSMR P1 telegrams: CRC, parser and stream splitter (p2pgrid/meter/p1.h).
 *
 * Two passes over one telegram: the first walks the lines through a
 * pg_reader to the '!' line and checks the CRC before any content is
 * believed; the second interprets the data lines. */
#include <string.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/meter/p1.h"
#include "p2pgrid/base/tz.h"

uint16_t pg_p1_crc16(const void *data, size_t len) {
  const uint8_t *p = data;
  uint16_t crc = 0;
  for (size_t i = 0; i < len; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
  }
  return crc;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* n decimal digits at s -> *v; false unless all are digits. */
static bool digits(const char *s, size_t n, int *v) {
  int r = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) return false;
    r = r * 10 + (s[i] - '0');
  }
  *v = r;
  return true;
}

int pg_p1_timestamp(const char *s, size_t n, int64_t *ms) {
  int yy, mo, dd, hh, mi, ss;
  if (n != 13 || !digits(s, 2, &yy) || !digits(s + 2, 2, &mo) || !digits(s + 4, 2, &dd) ||
      !digits(s + 6, 2, &hh) || !digits(s + 8, 2, &mi) || !digits(s + 10, 2, &ss))
    return PG_ERR_INVALID;
  if (s[12] != 'S' && s[12] != 'W') return PG_ERR_INVALID;
  if (!pg_civil_valid(2000 + yy, mo, dd) || hh > 23 || mi > 59 || ss > 59) return PG_ERR_INVALID;
  int64_t local_s = pg_days_from_civil(2000 + yy, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss;
  *ms = (local_s - (s[12] == 'S' ? 7200 : 3600)) * 1000;
  return PG_OK;
}

/* ------------------------------------------------------------------ */
/* Lines                                                               */

typedef struct line {
  const char *s;
  size_t n;     /* without CR LF */
  bool crlf;    /* ended by CR LF (else by the end of the input) */
  int no;       /* 1-based */
} line;

/* The next line of r: printable ASCII up to CR LF. PG_ERR_NOT_FOUND at the
 * end of the input. */
static int next_line(pg_reader *r, line *l, pg_diag *d) {
  if (pg_reader_left(r) == 0) return PG_ERR_NOT_FOUND;
  l->no++;
  l->s = (const char *)r->p + r->pos;
  l->n = 0;
  l->crlf = false;
  for (;;) {
    uint8_t c;
    if (pg_read_u8(r, &c) != PG_OK) return PG_OK; /* ends without CR LF */
    if (c == '\r') {
      uint8_t lf;
      if (pg_read_u8(r, &lf) != PG_OK)
        return pg_fail(d, PG_ERR_TRUNCATED, "line %d: ends after CR (no LF)", l->no);
      if (lf != '\n') return pg_fail(d, PG_ERR_INVALID, "line %d: CR without LF", l->no);
      l->crlf = true;
      return PG_OK;
    }
    if (c == 0 && l->n > 0 && l->s[0] == '!') { /* a NUL after the CRC (DEVICES.md §B3) */
      r->pos--;
      return PG_OK;
    }
    if (c < 0x20 || c > 0x7e)
      return pg_fail(d, PG_ERR_INVALID, "line %d: byte 0x%02x is not printable ASCII", l->no, c);
    if (++l->n > PG_P1_LINE_MAX)
      return pg_fail(d, PG_ERR_TOO_LARGE, "line %d: longer than %d bytes", l->no, PG_P1_LINE_MAX);
  }
}

/* First pass: header, empty line, data lines up to the '!' line; the CRC
 * checked. *body_end gets the offset just past the '!'. */
static int check_frame(const uint8_t *p, size_t len, uint16_t *crc_out, size_t *body_end,
                       pg_diag *d) {
  pg_reader r;
  line l = {0};
  int rc;
  pg_reader_init(&r, p, len);
  if (len == 0 || p[0] != '/')
    return pg_fail(d, PG_ERR_INVALID, "a telegram starts with '/'");
  for (;;) {
    rc = next_line(&r, &l, d);
    if (rc == PG_ERR_NOT_FOUND)
      return pg_fail(d, PG_ERR_TRUNCATED, "telegram ends before its '!' line (%d lines)", l.no);
    if (rc) return rc;
    if (l.no > PG_P1_LINES_MAX)
      return pg_fail(d, PG_ERR_TOO_LARGE, "telegram has more than %d lines", PG_P1_LINES_MAX);
    if (l.n > 0 && l.s[0] == '!') break;
    if (!l.crlf) return pg_fail(d, PG_ERR_TRUNCATED, "line %d: ends early (no CR LF)", l.no);
  }
  size_t bang = (size_t)(l.s - (const char *)p) + 1;
  size_t nd = l.n - 1;
  if (nd == 0)
    return pg_fail(d, PG_ERR_UNSUPPORTED,
                   "telegram has no CRC after '!' (DSMR 2.2/3.0): only DSMR 4 and 5 telegrams, "
                   "which carry a CRC, are read");
  if (nd > 4) return pg_fail(d, PG_ERR_INVALID, "line %d: CRC '%.*s' is not 1-4 hex digits", l.no,
                              (int)(nd > 8 ? 8 : nd), l.s + 1);
  unsigned crc = 0;
  for (size_t i = 0; i < nd; i++) {
    int h = hex_val(l.s[1 + i]);
    if (h < 0) return pg_fail(d, PG_ERR_INVALID, "line %d: CRC '%.*s' is not hex", l.no, (int)nd, l.s + 1);
    crc = crc * 16 + (unsigned)h;
  }
  uint8_t nul;
  if (pg_reader_left(&r) > 0 && (pg_read_u8(&r, &nul) != PG_OK || nul != 0 || pg_reader_left(&r)))
    return pg_fail(d, PG_ERR_INVALID, "bytes after the CRC line");
  uint16_t want = pg_p1_crc16(p, bang);
  if (want != crc)
    return pg_fail(d, PG_ERR_INVALID, "CRC mismatch: telegram says %04X, its bytes give %04X",
                   crc, want);
  *crc_out = (uint16_t)crc;
  *body_end = bang;
  return PG_OK;
}

/* ------------------------------------------------------------------ */
/* Objects                                                             */

typedef struct obis {
  int g[6];
  int n; /* 5 or 6 groups */
} obis;

/* "A-B:C.D.E[.F]" of s[0..n) */
static bool parse_obis(const char *s, size_t n, obis *o) {
  static const char seps[] = {'-', ':', '.', '.', '.'};
  size_t i = 0;
  o->n = 0;
  for (int k = 0; k < 6; k++) {
    if (k > 0) {
      if (i == n && k == 5) break;
      if (i >= n || s[i] != seps[k - 1]) return false;
      i++;
    }
    size_t a = i;
    int v = 0;
    while (i < n && is_digit(s[i]) && i - a < 3) v = v * 10 + (s[i++] - '0');
    if (i == a || v > 255) return false;
    o->g[k] = v;
    o->n = k + 1;
  }
  return i == n && o->n >= 5;
}

static bool obis_is(const obis *o, int a, int b, int c, int dd, int e) {
  return o->g[0] == a && o->g[1] == b && o->g[2] == c && o->g[3] == dd && o->g[4] == e;
}

#define GROUPS_MAX 32
typedef struct groups {
  const char *s[GROUPS_MAX];
  size_t n[GROUPS_MAX];
  int count;
} groups;

/* "ID(..)(..)..." -> id and the groups' contents. */
static int split_line(const line *l, obis *o, groups *g, pg_diag *d) {
  size_t i = 0;
  while (i < l->n && l->s[i] != '(') i++;
  if (i == l->n || !parse_obis(l->s, i, o))
    return pg_fail(d, PG_ERR_INVALID, "line %d: '%.*s' is not OBIS(value)", l->no,
                   (int)(l->n > 40 ? 40 : l->n), l->s);
  g->count = 0;
  while (i < l->n) {
    if (l->s[i] != '(')
      return pg_fail(d, PG_ERR_INVALID, "line %d: text after a ')'", l->no);
    size_t a = ++i;
    while (i < l->n && l->s[i] != ')' && l->s[i] != '(') i++;
    if (i == l->n || l->s[i] != ')')
      return pg_fail(d, PG_ERR_INVALID, "line %d: '(' without ')'", l->no);
    if (g->count == GROUPS_MAX)
      return pg_fail(d, PG_ERR_TOO_LARGE, "line %d: more than %d values", l->no, GROUPS_MAX);
    g->s[g->count] = l->s + a;
    g->n[g->count++] = i - a;
    i++;
  }
  return PG_OK;
}

/* "digits[.ddd]*unit" -> thousandths of unit (exact). */
static int parse_value(const line *l, const char *s, size_t n, const char *unit, int64_t *milli,
                       pg_diag *d) {
  size_t i = 0, ul = strlen(unit);
  int64_t v = 0;
  while (i < n && is_digit(s[i])) {
    if (i >= PG_P1_VALUE_DIGITS)
      return pg_fail(d, PG_ERR_INVALID, "line %d: more than %d digits", l->no, PG_P1_VALUE_DIGITS);
    v = v * 10 + (s[i++] - '0');
  }
  if (i == 0) return pg_fail(d, PG_ERR_INVALID, "line %d: '%.*s' is not a number", l->no, (int)n, s);
  int dec = 0;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && is_digit(s[i])) {
      if (++dec > 3)
        return pg_fail(d, PG_ERR_INVALID,
                       "line %d: '%.*s' has more than 3 decimals (finer than Wh, W or dm3)",
                       l->no, (int)n, s);
      v = v * 10 + (s[i++] - '0');
    }
    if (dec == 0) return pg_fail(d, PG_ERR_INVALID, "line %d: no digit after '.'", l->no);
  }
  for (int k = dec; k < 3; k++) v *= 10;
  if (i >= n || s[i] != '*' || n - i - 1 != ul || memcmp(s + i + 1, unit, ul) != 0)
    return pg_fail(d, PG_ERR_INVALID, "line %d: '%.*s' is not in %s", l->no, (int)n, s, unit);
  *milli = v;
  return PG_OK;
}

/* known objects, for the duplicate check */
enum { K_VERSION, K_TIME, K_EQUIP, K_IMP1, K_IMP2, K_EXP1, K_EXP2, K_PIMP, K_PEXP, K_COUNT };

typedef struct gas_ch {
  bool value_seen, value_ok, time_ok, type_seen;
  int type;
  int64_t dm3, time_ms;
} gas_ch;

typedef struct parse_state {
  pg_p1_telegram *t;
  unsigned seen; /* 1 << K_* */
  gas_ch gas[5];
} parse_state;

static int one_group(const line *l, const groups *g, pg_diag *d) {
  if (g->count != 1)
    return pg_fail(d, PG_ERR_INVALID, "line %d: %d values where one belongs", l->no, g->count);
  return PG_OK;
}

static int known_kind(const obis *o) {
  if (obis_is(o, 1, 3, 0, 2, 8)) return K_VERSION;
  if (obis_is(o, 0, 0, 1, 0, 0)) return K_TIME;
  if (obis_is(o, 0, 0, 96, 1, 1)) return K_EQUIP;
  if (obis_is(o, 1, 0, 1, 8, 1)) return K_IMP1;
  if (obis_is(o, 1, 0, 1, 8, 2)) return K_IMP2;
  if (obis_is(o, 1, 0, 2, 8, 1)) return K_EXP1;
  if (obis_is(o, 1, 0, 2, 8, 2)) return K_EXP2;
  if (obis_is(o, 1, 0, 1, 7, 0)) return K_PIMP;
  if (obis_is(o, 1, 0, 2, 7, 0)) return K_PEXP;
  return -1;
}

static int known_object(parse_state *ps, int k, const line *l, const groups *g, pg_diag *d) {
  pg_p1_telegram *t = ps->t;
  int rc = one_group(l, g, d);
  if (rc) return rc;
  const char *s = g->s[0];
  size_t n = g->n[0];
  int v;
  switch (k) {
  case K_VERSION:
    if (n != 2 || !digits(s, n, &v))
      return pg_fail(d, PG_ERR_INVALID, "line %d: version '%.*s' is not two digits", l->no,
                     (int)(n > 20 ? 20 : n), s);
    if (v / 10 != 4 && v / 10 != 5)
      return pg_fail(d, PG_ERR_UNSUPPORTED, "line %d: P1 version %.*s: only DSMR 4 and 5 are read",
                     l->no, (int)n, s);
    t->version = v;
    return PG_OK;
  case K_TIME:
    if (pg_p1_timestamp(s, n, &t->time_ms) != PG_OK)
      return pg_fail(d, PG_ERR_INVALID, "line %d: timestamp '%.*s' is not YYMMDDhhmmss + S or W",
                     l->no, (int)(n > 20 ? 20 : n), s);
    t->has_time = true;
    return PG_OK;
  case K_EQUIP:
    if (n > 96) return pg_fail(d, PG_ERR_TOO_LARGE, "line %d: equipment id longer than 96", l->no);
    for (size_t i = 0; i < n; i++)
      if (hex_val(s[i]) < 0)
        return pg_fail(d, PG_ERR_INVALID, "line %d: equipment id is not hex", l->no);
    memcpy(t->equipment_id, s, n);
    t->equipment_id[n] = '\0';
    return PG_OK;
  case K_IMP1: case K_IMP2: case K_EXP1: case K_EXP2: {
    int64_t *dst = k == K_IMP1 ? &t->import_wh[0] : k == K_IMP2 ? &t->import_wh[1]
                   : k == K_EXP1 ? &t->export_wh[0] : &t->export_wh[1];
    bool *has = k == K_IMP1 ? &t->has_import[0] : k == K_IMP2 ? &t->has_import[1]
                : k == K_EXP1 ? &t->has_export[0] : &t->has_export[1];
    rc = parse_value(l, s, n, "kWh", dst, d);
    *has = rc == PG_OK;
    return rc;
  }
  default: { /* K_PIMP, K_PEXP */
    int64_t *dst = k == K_PIMP ? &t->power_import_w : &t->power_export_w;
    rc = parse_value(l, s, n, "kW", dst, d);
    if (k == K_PIMP) t->has_power_import = rc == PG_OK;
    else t->has_power_export = rc == PG_OK;
    return rc;
  }
  }
}

/* 0-n:24.1.0 device type and 0-n:24.2.1 (TST)(value*m3); a bad value or
 * time only makes the channel unusable. */
static int gas_object(parse_state *ps, const obis *o, const line *l, const groups *g, pg_diag *d) {
  gas_ch *ch = &ps->gas[o->g[1]];
  if (o->g[2] == 24 && o->g[3] == 1 && o->g[4] == 0) {
    int v;
    if (ch->type_seen) return pg_fail(d, PG_ERR_INVALID, "line %d: duplicate object 0-%d:24.1.0", l->no, o->g[1]);
    ch->type_seen = true;
    ch->type = g->count == 1 && g->n[0] <= 3 && g->n[0] > 0 && digits(g->s[0], g->n[0], &v) ? v : -1;
    return PG_OK;
  }
  if (ch->value_seen) return pg_fail(d, PG_ERR_INVALID, "line %d: duplicate object 0-%d:24.2.1", l->no, o->g[1]);
  ch->value_seen = true;
  if (g->count != 2) return PG_OK;
  pg_diag ignore;
  ch->time_ok = pg_p1_timestamp(g->s[0], g->n[0], &ch->time_ms) == PG_OK;
  ch->value_ok = parse_value(l, g->s[1], g->n[1], "m3", &ch->dm3, &ignore) == PG_OK;
  return PG_OK;
}

static void pick_gas(parse_state *ps) {
  int found = 0;
  for (int n = 1; n <= 4; n++) {
    gas_ch *ch = &ps->gas[n];
    if (!ch->value_seen || (ch->type_seen && ch->type != 3)) continue;
    if (++found > 1 || !ch->value_ok || !ch->time_ok) {
      ps->t->has_gas = false;
      if (found > 1) return;
      continue;
    }
    ps->t->has_gas = true;
    ps->t->gas_dm3 = ch->dm3;
    ps->t->gas_time_ms = ch->time_ms;
    ps->t->gas_channel = n;
  }
}

static int data_line(parse_state *ps, const line *l, pg_diag *d) {
  obis o;
  groups g = {0};
  int rc = split_line(l, &o, &g, d);
  if (rc) return rc;
  int k = known_kind(&o);
  if (k >= 0) {
    if (ps->seen & (1u << k))
      return pg_fail(d, PG_ERR_INVALID, "line %d: duplicate object %.*s", l->no,
                     (int)(strchr(l->s, '(') - l->s), l->s);
    ps->seen |= 1u << k;
    return known_object(ps, k, l, &g, d);
  }
  if (o.g[0] == 0 && o.g[1] >= 1 && o.g[1] <= 4 && o.g[2] == 24 &&
      ((o.g[3] == 2 && o.g[4] == 1) || (o.g[3] == 1 && o.g[4] == 0)))
    return gas_object(ps, &o, l, &g, d);
  return PG_OK; /* unknown objects are skipped (DEVICES.md §B9) */
}

int pg_p1_parse(const void *data, size_t len, pg_p1_telegram *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "no telegram");
  memset(out, 0, sizeof *out);
  if (!data && len) return pg_fail(d, PG_ERR_INVALID, "no telegram");
  if (len > PG_P1_TELEGRAM_MAX)
    return pg_fail(d, PG_ERR_TOO_LARGE, "telegram of %zu bytes is longer than %d", len,
                   PG_P1_TELEGRAM_MAX);
  uint16_t crc = 0;
  size_t body = 0;
  int rc = check_frame(data, len, &crc, &body, d);
  if (rc) return rc;
  parse_state ps = {.t = out};
  pg_reader r;
  line l = {0};
  pg_reader_init(&r, data, body - 1); /* up to, not including, '!' */
  rc = next_line(&r, &l, d);
  if (rc == PG_OK) {
    size_t hn = l.n - 1 < sizeof out->header - 1 ? l.n - 1 : sizeof out->header - 1;
    memcpy(out->header, l.s + 1, hn);
    if (l.n < 2) rc = pg_fail(d, PG_ERR_INVALID, "line 1: the header has no identification");
  }
  if (rc == PG_OK && (next_line(&r, &l, d) != PG_OK || l.n != 0))
    rc = pg_fail(d, PG_ERR_INVALID, "line 2: the header is followed by an empty line");
  while (rc == PG_OK && (rc = next_line(&r, &l, d)) == PG_OK) rc = data_line(&ps, &l, d);
  if (rc == PG_ERR_NOT_FOUND) rc = PG_OK;
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  pick_gas(&ps);
  out->crc = crc;
  return PG_OK;
}

/* ------------------------------------------------------------------ */
/* Stream                                                              */

#define AFTER_BANG_MAX 8 /* "XXXX" CR LF and a NUL fit */

void pg_p1_stream_init(pg_p1_stream *s) { memset(s, 0, sizeof *s); }

void pg_p1_stream_reset(pg_p1_stream *s) {
  if (s->len) s->partial++;
  s->len = 0;
  s->bang = 0;
}

void pg_p1_stream_feed(pg_p1_stream *s, const void *data, size_t len, pg_p1_frame_fn on_frame,
                       void *ctx) {
  pg_reader r;
  uint8_t c;
  pg_reader_init(&r, data, len);
  while (pg_read_u8(&r, &c) == PG_OK) {
    c &= 0x7f;
    if (c == '/') {
      if (s->bang) { /* the last CRC came without its line end */
        s->frames++;
        on_frame(ctx, s->buf, s->len);
      } else if (s->len) {
        s->partial++;
      }
      s->len = 0;
      s->bang = 0;
    } else if (s->len == 0) {
      s->skipped++;
      continue;
    }
    if (s->len == sizeof s->buf) {
      s->overflows++;
      s->len = 0;
      s->bang = 0;
      continue;
    }
    s->buf[s->len++] = c;
    if (c == '!' && s->bang == 0) {
      s->bang = s->len;
    } else if (s->bang && c == '\n') {
      s->frames++;
      on_frame(ctx, s->buf, s->len);
      s->len = 0;
      s->bang = 0;
    } else if (s->bang && s->len - s->bang > AFTER_BANG_MAX) {
      s->partial++;
      s->len = 0;
      s->bang = 0;
    }
  }
}
