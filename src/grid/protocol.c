/* protocol.c — grid wire format: channel messages and registration bodies.
 * Pure codec over jansson (via p2pgrid/base/json.h). See p2pgrid/grid/protocol.h. */
#include "p2pgrid/grid/protocol.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/market/market.h"

/* ---------- names ---------- */

const char *pg_grid_entity_name(pg_grid_entity t) {
  switch (t) {
  case PG_GRID_ENTITY_NONE: return "";
  case PG_GRID_ENTITY_SOURCE: return "source";
  case PG_GRID_ENTITY_PRODUCER: return "producer";
  case PG_GRID_ENTITY_CONSUMER: return "consumer";
  }
  return NULL;
}

const char *pg_grid_command_name(pg_grid_command c) {
  switch (c) {
  case PG_GRID_CMD_HELLO: return "hello";
  case PG_GRID_CMD_GOODBYE: return "goodbye";
  case PG_GRID_CMD_OUTPUT: return "output";
  case PG_GRID_CMD_USAGE: return "usage";
  case PG_GRID_CMD_PAYMENT_REQUEST: return "payment-request";
  case PG_GRID_CMD_SETTLEMENT: return "settlement";
  }
  return NULL;
}

/* ---------- validators ---------- */

bool pg_grid_is_id(const char *s, size_t len) {
  if (!s || len < 1 || len > PG_GRID_MAX_ID) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool pg_grid_is_trytes(const char *s, size_t len) {
  if (!s) return false;
  for (size_t i = 0; i < len; i++)
    if (!(s[i] == '9' || (s[i] >= 'A' && s[i] <= 'Z'))) return false;
  return true;
}

static bool is_name(const char *s, size_t len) {
  if (len < 1 || len > PG_GRID_MAX_NAME) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

static bool is_reference(const char *s, size_t len) {
  if (len < 1 || len > PG_GRID_MAX_REFERENCE) return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

/* bounded strlen over a fixed array (structs may come from callers unterminated) */
static size_t field_len(const char *s, size_t cap) {
  const char *z = memchr(s, '\0', cap);
  return z ? (size_t)(z - s) : cap;
}

/* ---------- versions and resources ---------- */

/* hello, output and usage carry a version and a resource */
static bool versioned(pg_grid_command c) {
  return c == PG_GRID_CMD_HELLO || c == PG_GRID_CMD_OUTPUT || c == PG_GRID_CMD_USAGE;
}

static bool is_v2(const pg_grid_msg *m) { return m->version == PG_GRID_VERSION_2; }

/* The resource and unit m carries ("" = version 1's electricity / Wh). */
static const char *msg_resource(const pg_grid_msg *m) {
  size_t n = strnlen(m->resource, sizeof m->resource);
  return n && n < sizeof m->resource ? m->resource : "electricity";
}

static const char *msg_unit(const pg_grid_msg *m) {
  size_t n = strnlen(m->unit, sizeof m->unit);
  return n && n < sizeof m->unit ? m->unit : "Wh";
}

void pg_grid_msg_set_resource(pg_grid_msg *m, const pg_resource *r) {
  if (!m) return;
  r = pg_resource_or_default(r);
  m->version = pg_resource_is_electricity(r) ? PG_GRID_VERSION_1 : PG_GRID_VERSION_2;
  snprintf(m->resource, sizeof m->resource, "%s", r->name);
  snprintf(m->unit, sizeof m->unit, "%s", r->unit);
}

bool pg_grid_msg_is_resource(const pg_grid_msg *m, const pg_resource *r) {
  if (!m) return false;
  r = pg_resource_or_default(r);
  return strcmp(msg_resource(m), r->name) == 0 && strcmp(msg_unit(m), r->unit) == 0;
}

void pg_grid_msg_resource_label(const pg_grid_msg *m, char *out, size_t cap) {
  if (!out || cap == 0) return;
  if (!m) {
    out[0] = '\0';
    return;
  }
  snprintf(out, cap, "%s/%s", msg_resource(m), msg_unit(m));
}

/* The version and resource of a struct (hello, output, usage). */
static int check_version(const pg_grid_msg *m, const char *cmd, pg_diag *d) {
  if (m->version > PG_GRID_VERSION_2)
    return pg_fail(d, PG_ERR_INVALID, "%s: version %u is not supported (1 or 2)", cmd,
                   m->version);
  size_t rn = strnlen(m->resource, sizeof m->resource), un = strnlen(m->unit, sizeof m->unit);
  if (!is_v2(m)) {
    if ((rn && strcmp(msg_resource(m), "electricity") != 0) || (un && strcmp(msg_unit(m), "Wh") != 0))
      return pg_fail(d, PG_ERR_INVALID,
                     "%s: version 1 is electricity in Wh; resource '%.31s' in '%.15s' needs "
                     "version 2",
                     cmd, msg_resource(m), msg_unit(m));
    return PG_OK;
  }
  if (!pg_resource_name_ok(m->resource))
    return pg_fail(d, PG_ERR_INVALID, "%s: 'resource' must be 1..%d characters of [a-z0-9_-]",
                   cmd, PG_RESOURCE_NAME_MAX);
  if (!pg_resource_unit_ok(m->unit))
    return pg_fail(d, PG_ERR_INVALID, "%s: 'unit' must be 1..%d characters of [A-Za-z0-9_.-]",
                   cmd, PG_RESOURCE_UNIT_MAX);
  return PG_OK;
}

/* ---------- kWh <-> Wh ---------- */

int pg_grid_kwh_format(int64_t wh, char *out, size_t cap) {
  if (!out || wh < 0 || wh > PG_GRID_MAX_WH) return PG_ERR_INVALID;
  int64_t whole = wh / 1000, frac = wh % 1000;
  char tmp[PG_GRID_KWH_TEXT];
  int n;
  if (frac == 0) {
    n = snprintf(tmp, sizeof tmp, "%" PRId64, whole);
  } else {
    int digits = 3;
    while (frac % 10 == 0) {
      frac /= 10;
      digits--;
    }
    n = snprintf(tmp, sizeof tmp, "%" PRId64 ".%0*" PRId64, whole, digits, frac);
  }
  if (n < 0 || (size_t)n >= cap) return PG_ERR_TOO_LARGE;
  memcpy(out, tmp, (size_t)n + 1);
  return PG_OK;
}

#define EXP_CLAMP 100000

int pg_grid_kwh_parse(const char *text, size_t len, const char *field, int64_t *wh,
                      pg_diag *d) {
  if (!field) field = "value";
  if (!text || !wh) return pg_fail(d, PG_ERR_INVALID, "'%s': no number", field);
  size_t i = 0;
  bool neg = false;
  if (i < len && text[i] == '-') {
    neg = true;
    i++;
  }
  /* significant digits (leading zeros dropped), at most 40 kept */
  char dig[41];
  size_t nd = 0, over = 0; /* over: digits past the 40 kept (integer part) */
  int64_t frac_digits = 0;
  bool any = false;
  size_t int_start = i;
  while (i < len && text[i] >= '0' && text[i] <= '9') {
    any = true;
    if (nd == 0 && text[i] == '0') {
      /* leading zero */
    } else if (nd < 40) {
      dig[nd++] = text[i];
    } else {
      over++;
    }
    i++;
  }
  if (!any) return pg_fail(d, PG_ERR_INVALID, "'%s' is not a number", field);
  if (i - int_start > 1 && text[int_start] == '0')
    return pg_fail(d, PG_ERR_INVALID, "'%s' is not a JSON number (leading zero)", field);
  if (i < len && text[i] == '.') {
    i++;
    bool fany = false;
    while (i < len && text[i] >= '0' && text[i] <= '9') {
      fany = true;
      if (nd == 0 && text[i] == '0') {
        frac_digits++;
      } else if (nd < 40) {
        dig[nd++] = text[i];
        frac_digits++;
      } else if (text[i] != '0') {
        /* a non-zero digit beyond what we keep: surely too precise */
        return pg_fail(d, PG_ERR_INVALID,
                       "'%s' has more than 3 decimals; at most 3 (Wh precision)", field);
      }
      i++;
    }
    if (!fany) return pg_fail(d, PG_ERR_INVALID, "'%s' is not a JSON number", field);
  }
  int64_t e = 0;
  if (i < len && (text[i] == 'e' || text[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < len && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
    bool eany = false;
    while (i < len && text[i] >= '0' && text[i] <= '9') {
      eany = true;
      if (e < EXP_CLAMP) e = e * 10 + (text[i] - '0');
      i++;
    }
    if (!eany) return pg_fail(d, PG_ERR_INVALID, "'%s' is not a JSON number", field);
    if (eneg) e = -e;
  }
  if (i != len) return pg_fail(d, PG_ERR_INVALID, "'%s' is not a JSON number", field);
  /* strip trailing zeros of the significand */
  int64_t scale = e - frac_digits + (int64_t)over;
  while (nd > 0 && dig[nd - 1] == '0') {
    nd--;
    scale++;
  }
  if (nd == 0) { /* zero, whatever its spelling */
    *wh = 0;
    return PG_OK;
  }
  if (neg) return pg_fail(d, PG_ERR_INVALID, "'%s' must not be negative", field);
  if (scale < -3)
    return pg_fail(d, PG_ERR_INVALID, "'%s' has %" PRId64 " decimals; at most 3 (Wh precision)",
                   field, -scale);
  /* value in Wh = digits * 10^(scale + 3); cap 1e12 Wh has 13 digits */
  int64_t total = (int64_t)nd + scale + 3;
  if (total > 13) goto too_big;
  int64_t v = 0;
  for (size_t k = 0; k < nd; k++) v = v * 10 + (dig[k] - '0');
  for (int64_t k = 0; k < scale + 3; k++) v *= 10;
  if (v > PG_GRID_MAX_WH) goto too_big;
  *wh = v;
  return PG_OK;
too_big:
  return pg_fail(d, PG_ERR_INVALID, "'%s' is over the limit of 1000000000 kWh", field);
}

/* Energy field of obj: a JSON integer (kWh) or a real obeying the kWh rule. */
static int get_kwh(const json_t *obj, const char *cmd, const char *key, int64_t *wh,
                   pg_diag *d) {
  json_t *v = json_object_get(obj, key);
  if (!v) return pg_fail(d, PG_ERR_INVALID, "%s: missing field '%s'", cmd, key);
  pg_diag tmp = {{0}};
  int rc;
  if (json_is_integer(v)) {
    json_int_t n = json_integer_value(v);
    if (n < 0) return pg_fail(d, PG_ERR_INVALID, "%s: '%s' must not be negative", cmd, key);
    if (n > PG_GRID_MAX_WH / 1000)
      return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is over the limit of 1000000000 kWh", cmd,
                     key);
    *wh = (int64_t)n * 1000;
    return PG_OK;
  }
  if (!json_is_real(v))
    return pg_fail(d, PG_ERR_INVALID, "%s: field '%s': expected a number (kWh), got %s", cmd,
                   key, pg_json_type_name(v));
  double x = json_real_value(v);
  if (!isfinite(x))
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is not a finite number", cmd, key);
  /* shortest "%.*e" text that reads back as the same double */
  char text[40];
  for (int p = 0; p <= 17; p++) {
    int n = snprintf(text, sizeof text, "%.*e", p, x);
    if (n < 0 || (size_t)n >= sizeof text)
      return pg_fail(d, PG_ERR_INVALID, "%s: '%s' unreadable", cmd, key);
    if (strtod(text, NULL) == x) break;
  }
  rc = pg_grid_kwh_parse(text, strlen(text), key, wh, &tmp);
  if (rc) return pg_fail(d, rc, "%s: %s", cmd, tmp.msg);
  return PG_OK;
}

/* ---------- JSON field helpers (prefix the command to the getter's diag) ---------- */

static int prefixed(pg_diag *d, int rc, const char *cmd, const pg_diag *tmp) {
  return pg_fail(d, rc, "%s: %s", cmd, tmp->msg);
}

static int get_u64(const json_t *obj, const char *cmd, const char *key, uint64_t max,
                   uint64_t *out, pg_diag *d) {
  pg_diag tmp = {{0}};
  int rc = pg_json_get_u64_range(obj, key, 0, max, out, &tmp);
  return rc ? prefixed(d, rc, cmd, &tmp) : PG_OK;
}

static int opt_u64(const json_t *obj, const char *cmd, const char *key, uint64_t max, bool *has,
                   uint64_t *out, pg_diag *d) {
  json_t *v = json_object_get(obj, key);
  *has = false;
  if (!v || json_is_null(v)) return PG_OK;
  *has = true;
  return get_u64(obj, cmd, key, max, out, d);
}

/* String field copied into out (cap includes the NUL); absent/null -> ""
 * when optional (*len = 0). Validation of the content is the caller's. */
static int get_text(const json_t *obj, const char *cmd, const char *key, bool optional,
                    char *out, size_t cap, size_t *len, pg_diag *d) {
  pg_diag tmp = {{0}};
  const char *s = NULL;
  size_t n = 0;
  int rc = optional ? pg_json_opt_str(obj, key, NULL, &s, &n, &tmp)
                    : pg_json_get_str(obj, key, &s, &n, &tmp);
  if (rc) return prefixed(d, rc, cmd, &tmp);
  if (!s) {
    out[0] = '\0';
    *len = 0;
    return PG_OK;
  }
  if (n >= cap)
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is too long (%zu bytes; at most %zu)", cmd, key,
                   n, cap - 1);
  memcpy(out, s, n);
  out[n] = '\0';
  *len = n;
  return PG_OK;
}

static int check_keys(const json_t *obj, const char *cmd, const char *const *allowed,
                      pg_diag *d) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    bool ok = false;
    for (size_t i = 0; allowed[i]; i++)
      if (strcmp(key, allowed[i]) == 0) ok = true;
    if (!ok) return pg_fail(d, PG_ERR_INVALID, "%s: unknown field '%.64s'", cmd, key);
  }
  return PG_OK;
}

/* ---------- struct validation (shared by parse and serialize) ---------- */

static int check_id(const char *cmd, const char *key, const char *s, pg_diag *d) {
  size_t n = field_len(s, PG_GRID_MAX_ID + 1);
  if (!pg_grid_is_id(s, n))
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' must be 1..%d characters of [A-Za-z0-9._-]",
                   cmd, key, PG_GRID_MAX_ID);
  return PG_OK;
}

static int check_time(const char *cmd, const char *key, uint64_t t, pg_diag *d) {
  if (t > PG_GRID_MAX_TIME_MS)
    return pg_fail(d, PG_ERR_INVALID,
                   "%s: '%s' %" PRIu64 " is out of range (0..%llu ms, up to year 2100)", cmd, key,
                   t, (unsigned long long)PG_GRID_MAX_TIME_MS);
  return PG_OK;
}

static int check_span(const char *cmd, uint64_t slot, uint64_t start, uint64_t end, pg_diag *d) {
  if (slot > PG_GRID_MAX_SAFE_INT)
    return pg_fail(d, PG_ERR_INVALID, "%s: 'slot' is out of range (0..2^53-1)", cmd);
  int rc = check_time(cmd, "startTime", start, d);
  if (!rc) rc = check_time(cmd, "endTime", end, d);
  if (rc) return rc;
  if (end <= start) return pg_fail(d, PG_ERR_INVALID, "%s: endTime must be after startTime", cmd);
  return PG_OK;
}

/* A quantity: unit NULL = kWh on the wire (version 1), else the base unit. */
static int check_wh(const char *cmd, const char *key, int64_t wh, const char *unit, pg_diag *d) {
  if (wh < 0) return pg_fail(d, PG_ERR_INVALID, "%s: '%s' must not be negative", cmd, key);
  if (wh > PG_GRID_MAX_WH && !unit)
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is over the limit of 1000000000 kWh", cmd, key);
  if (wh > PG_GRID_MAX_WH)
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is over the limit of 1000000000000 %s", cmd, key,
                   unit);
  return PG_OK;
}

static int check_money(const char *cmd, const char *key, uint64_t v, pg_diag *d) {
  if (v > PG_GRID_MAX_SAFE_INT)
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is out of range (0..2^53-1 base units)", cmd, key);
  return PG_OK;
}

/* Validates a bech32 Ed25519 address in s[0..cap) and, when canon is not
 * NULL, writes its lowercase form there. */
static int check_address(const char *cmd, const char *key, const char *s, size_t cap,
                         char *canon, pg_diag *d) {
  size_t n = field_len(s, cap);
  char hrp[PG_BECH32_MAX_HRP + 1];
  uint8_t addr[PG_IOTA_ADDR_LEN];
  pg_diag tmp = {{0}};
  if (n == 0) return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is empty", cmd, key);
  int rc = pg_iota_address_decode(s, n, NULL, hrp, sizeof hrp, addr, &tmp);
  if (rc)
    return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is not a bech32 Ed25519 address: %s", cmd, key,
                   tmp.msg);
  if (canon) {
    char enc[PG_BECH32_MAX_LEN + 1];
    rc = pg_iota_address_encode(hrp, addr, enc, sizeof enc);
    if (rc) return pg_fail(d, rc, "%s: '%s' cannot be re-encoded", cmd, key);
    memcpy(canon, enc, strlen(enc) + 1);
  }
  /* a struct handed to the serialiser must already be canonical */
  if (!canon) {
    for (size_t i = 0; i < n; i++)
      if (s[i] >= 'A' && s[i] <= 'Z')
        return pg_fail(d, PG_ERR_INVALID, "%s: '%s' must be lowercase", cmd, key);
  }
  return PG_OK;
}

bool pg_grid_is_address(const char *s) {
  if (!s) return false;
  size_t n = strlen(s);
  return n > 0 && n <= PG_BECH32_MAX_LEN && check_address("address", "address", s, n + 1, NULL, NULL) == PG_OK;
}

static int check_binding_sizes(const char *who, size_t cert_len, const pg_grid_signature *s,
                               pg_diag *d) {
  if (cert_len > PG_GRID_MAX_CERT)
    return pg_fail(d, PG_ERR_INVALID, "%s: 'certificate' is over %d bytes", who, PG_GRID_MAX_CERT);
  if (s->sig_len > PG_GRID_MAX_SIG || (s->sig_len && s->sig_len < 8))
    return pg_fail(d, PG_ERR_INVALID, "%s: 'signature' must be 8..%d bytes", who, PG_GRID_MAX_SIG);
  return PG_OK;
}

static int check_channel(const char *who, const pg_grid_channel *c, pg_diag *d) {
  size_t n = field_len(c->root, sizeof c->root);
  if (n != PG_GRID_TRYTES || !pg_grid_is_trytes(c->root, n))
    return pg_fail(d, PG_ERR_INVALID, "%s: 'root' must be exactly 81 trytes [9A-Z]", who);
  n = field_len(c->side_key, sizeof c->side_key);
  if (n < 1 || n > PG_GRID_TRYTES || !pg_grid_is_trytes(c->side_key, n))
    return pg_fail(d, PG_ERR_INVALID, "%s: 'sideKey' must be 1..81 trytes [9A-Z]", who);
  return PG_OK;
}

int pg_grid_msg_validate(const pg_grid_msg *m, pg_diag *d) {
  if (!m) return pg_fail(d, PG_ERR_INVALID, "no message");
  const char *cmd = pg_grid_command_name(m->command);
  if (!cmd) return pg_fail(d, PG_ERR_INVALID, "unknown command %d", (int)m->command);
  int rc = versioned(m->command) ? check_version(m, cmd, d) : PG_OK;
  if (rc) return rc;
  const char *unit = is_v2(m) ? msg_unit(m) : NULL;
  switch (m->command) {
  case PG_GRID_CMD_HELLO: {
    const pg_grid_hello *h = &m->u.hello;
    rc = check_id(cmd, "registrationId", h->registration_id, d);
    if (rc) return rc;
    size_t n = field_len(h->name, sizeof h->name);
    if (n > PG_GRID_MAX_NAME || (n > 0 && !is_name(h->name, n)))
      return pg_fail(d, PG_ERR_INVALID,
                     "%s: 'name' must be 1..%d bytes without control characters", cmd,
                     PG_GRID_MAX_NAME);
    if (h->type != PG_GRID_ENTITY_NONE && !pg_grid_entity_name(h->type))
      return pg_fail(d, PG_ERR_INVALID, "%s: 'type' is not a known entity type", cmd);
    rc = check_binding_sizes(cmd, h->cert_len, &h->signature, d);
    if (!rc && (h->cert_len == 0) != (h->signature.sig_len == 0))
      rc = pg_fail(d, PG_ERR_INVALID, "%s: 'certificate' and 'signature' go together", cmd);
    return rc ? rc : check_time(cmd, "time", h->time, d);
  }
  case PG_GRID_CMD_GOODBYE:
    rc = check_id(cmd, "registrationId", m->u.goodbye.registration_id, d);
    return rc ? rc : check_time(cmd, "time", m->u.goodbye.time, d);
  case PG_GRID_CMD_OUTPUT: {
    const pg_grid_output *o = &m->u.output;
    rc = check_span(cmd, o->slot, o->start_time, o->end_time, d);
    if (!rc) rc = check_wh(cmd, "output", o->output_wh, unit, d);
    if (!rc && o->has_ask)
      rc = check_money(cmd, unit ? "askPerUnit" : "askPerKwh", o->ask_per_kwh, d);
    if (!rc && field_len(o->payment_address, sizeof o->payment_address) > 0)
      rc = check_address(cmd, "paymentAddress", o->payment_address, sizeof o->payment_address,
                         NULL, d);
    return rc;
  }
  case PG_GRID_CMD_USAGE: {
    const pg_grid_usage *u = &m->u.usage;
    rc = check_span(cmd, u->slot, u->start_time, u->end_time, d);
    if (!rc) rc = check_wh(cmd, "usage", u->usage_wh, unit, d);
    if (!rc && u->has_bid)
      rc = check_money(cmd, unit ? "bidPerUnit" : "bidPerKwh", u->bid_per_kwh, d);
    return rc;
  }
  case PG_GRID_CMD_PAYMENT_REQUEST: {
    const pg_grid_payment_request *p = &m->u.payment_request;
    if (p->slot > PG_GRID_MAX_SAFE_INT)
      return pg_fail(d, PG_ERR_INVALID, "%s: 'slot' is out of range (0..2^53-1)", cmd);
    rc = check_id(cmd, "requestId", p->request_id, d);
    if (!rc) rc = check_money(cmd, "owed", p->owed, d);
    if (!rc) rc = check_wh(cmd, "usage", p->usage_wh, NULL, d);
    if (!rc)
      rc = check_address(cmd, "paymentIdOrAddress", p->payment_address,
                         sizeof p->payment_address, NULL, d);
    if (!rc) {
      size_t n = field_len(p->reference, sizeof p->reference);
      if (!is_reference(p->reference, n))
        rc = pg_fail(d, PG_ERR_INVALID, "%s: 'reference' must be 1..%d bytes of printable ASCII",
                     cmd, PG_GRID_MAX_REFERENCE);
    }
    return rc;
  }
  case PG_GRID_CMD_SETTLEMENT:
    return pg_fail(d, PG_ERR_UNSUPPORTED,
                   "settlement: not a pg_grid_msg; use pg_grid_settlement_validate");
  }
  return pg_fail(d, PG_ERR_INVALID, "unknown command %d", (int)m->command);
}

/* ---------- parsing ---------- */

static int get_signature(const json_t *j, const char *cmd, pg_grid_signature *out, pg_diag *d);
static int get_certificate(const json_t *j, const char *cmd, uint8_t *cert, size_t *cert_len,
                           pg_diag *d);
static void put_signature_field(pg_buf *b, const pg_grid_signature *s);
static void put_certificate_field(pg_buf *b, const uint8_t *cert, size_t len);
static bool sig_eq(const pg_grid_signature *a, const pg_grid_signature *b);

/* "version", "resource", "unit" and the price fields of both versions are
 * allowed here; parse_version refuses those of the other version. */
static const char *const k_hello[] = {"command", "version", "resource", "unit",
                                      "registrationId", "name", "type", "time",
                                      "certificate", "signature", NULL};
static const char *const k_goodbye[] = {"command", "registrationId", "time", NULL};
static const char *const k_output[] = {"command", "version", "resource", "unit", "slot",
                                       "startTime", "endTime", "output", "askPerKwh",
                                       "askPerUnit", "paymentAddress", NULL};
static const char *const k_usage[] = {"command", "version", "resource", "unit", "slot",
                                      "startTime", "endTime", "usage", "bidPerKwh",
                                      "bidPerUnit", NULL};
static const char *const k_payreq[] = {"command", "slot", "requestId", "owed", "usage",
                                       "paymentIdOrAddress", "reference", NULL};

static int parse_entity(const char *who, const char *s, size_t n, bool optional,
                        pg_grid_entity *out, pg_diag *d) {
  if (optional && !s) {
    *out = PG_GRID_ENTITY_NONE;
    return PG_OK;
  }
  static const pg_grid_entity all[] = {PG_GRID_ENTITY_SOURCE, PG_GRID_ENTITY_PRODUCER,
                                       PG_GRID_ENTITY_CONSUMER};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *name = pg_grid_entity_name(all[i]);
    if (n == strlen(name) && memcmp(s, name, n) == 0) {
      *out = all[i];
      return PG_OK;
    }
  }
  return pg_fail(d, PG_ERR_INVALID,
                 "%s: 'type' must be \"source\", \"producer\" or \"consumer\", not '%.32s'", who,
                 s);
}

static int parse_span(const json_t *j, const char *cmd, uint64_t *slot, uint64_t *start,
                      uint64_t *end, pg_diag *d) {
  int rc = get_u64(j, cmd, "slot", PG_GRID_MAX_SAFE_INT, slot, d);
  if (!rc) rc = get_u64(j, cmd, "startTime", PG_GRID_MAX_TIME_MS, start, d);
  if (!rc) rc = get_u64(j, cmd, "endTime", PG_GRID_MAX_TIME_MS, end, d);
  return rc;
}

/* present and not null */
static bool has_field(const json_t *j, const char *key) {
  json_t *v = json_object_get(j, key);
  return v && !json_is_null(v);
}

/* "version" (absent: 1) and, for version 2, "resource" and "unit" into m;
 * a field of the other version is refused naming it. */
static int parse_version(const json_t *j, const char *cmd, pg_grid_msg *m, pg_diag *d) {
  static const char *const pairs[][2] = {{"askPerKwh", "askPerUnit"},
                                         {"bidPerKwh", "bidPerUnit"},
                                         {NULL, "resource"},
                                         {NULL, "unit"}};
  uint64_t v = PG_GRID_VERSION_1;
  size_t n = 0;
  int rc = has_field(j, "version") ? get_u64(j, cmd, "version", PG_GRID_MAX_SAFE_INT, &v, d)
                                   : PG_OK;
  if (rc) return rc;
  if (v != PG_GRID_VERSION_1 && v != PG_GRID_VERSION_2)
    return pg_fail(d, PG_ERR_INVALID, "%s: version %" PRIu64 " is not supported (1 or 2)", cmd, v);
  m->version = (unsigned)v;
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    if (v == PG_GRID_VERSION_2 && pairs[i][0] && has_field(j, pairs[i][0]))
      return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is a version 1 field; version 2 uses '%s'",
                     cmd, pairs[i][0], pairs[i][1]);
    if (v == PG_GRID_VERSION_1 && has_field(j, pairs[i][1]))
      return pg_fail(d, PG_ERR_INVALID, "%s: '%s' is a version 2 field (with \"version\":2)%s%s",
                     cmd, pairs[i][1], pairs[i][0] ? "; version 1 uses " : "",
                     pairs[i][0] ? pairs[i][0] : "");
  }
  if (v == PG_GRID_VERSION_1) {
    snprintf(m->resource, sizeof m->resource, "electricity");
    snprintf(m->unit, sizeof m->unit, "Wh");
    return PG_OK;
  }
  rc = get_text(j, cmd, "resource", false, m->resource, sizeof m->resource, &n, d);
  if (!rc) rc = get_text(j, cmd, "unit", false, m->unit, sizeof m->unit, &n, d);
  return rc ? rc : check_version(m, cmd, d);
}

/* A quantity: version 1 kWh (get_kwh); version 2 a JSON integer count of
 * the base unit (no fraction, exponent, sign or string). */
static int get_quantity(const json_t *obj, const pg_grid_msg *m, const char *cmd,
                        const char *key, int64_t *out, pg_diag *d) {
  if (!is_v2(m)) return get_kwh(obj, cmd, key, out, d);
  json_t *v = json_object_get(obj, key);
  if (!v) return pg_fail(d, PG_ERR_INVALID, "%s: missing field '%s'", cmd, key);
  if (!json_is_integer(v))
    return pg_fail(d, PG_ERR_INVALID,
                   "%s: field '%s': expected an integer count of %s (version 2), got %s", cmd, key,
                   msg_unit(m), json_is_real(v) ? "a fraction or exponent" : pg_json_type_name(v));
  *out = (int64_t)json_integer_value(v);
  return check_wh(cmd, key, *out, msg_unit(m), d);
}

static int command_of(const char *cs, size_t cn, pg_grid_command *out, pg_diag *d) {
  static const pg_grid_command cmds[] = {PG_GRID_CMD_HELLO,  PG_GRID_CMD_GOODBYE,
                                         PG_GRID_CMD_OUTPUT, PG_GRID_CMD_USAGE,
                                         PG_GRID_CMD_PAYMENT_REQUEST, PG_GRID_CMD_SETTLEMENT};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    const char *name = pg_grid_command_name(cmds[i]);
    if (cn == strlen(name) && memcmp(cs, name, cn) == 0) {
      *out = cmds[i];
      return PG_OK;
    }
  }
  return pg_fail(d, PG_ERR_INVALID, "unknown command '%.32s'", cs);
}

static int parse_body(const json_t *j, pg_grid_msg *m, pg_diag *d) {
  pg_diag tmp = {{0}};
  const char *cs = NULL;
  size_t cn = 0, n = 0;
  int rc = pg_json_get_str(j, "command", &cs, &cn, &tmp);
  if (rc) return pg_fail(d, rc, "message: %s", tmp.msg);
  rc = command_of(cs, cn, &m->command, d);
  if (rc) return rc;
  const char *cmd = pg_grid_command_name(m->command);

  switch (m->command) {
  case PG_GRID_CMD_HELLO: {
    pg_grid_hello *h = &m->u.hello;
    rc = check_keys(j, cmd, k_hello, d);
    if (!rc) rc = parse_version(j, cmd, m, d);
    if (!rc) rc = get_text(j, cmd, "registrationId", false, h->registration_id,
                           sizeof h->registration_id, &n, d);
    if (!rc) rc = get_text(j, cmd, "name", true, h->name, sizeof h->name, &n, d);
    if (!rc && json_object_get(j, "name") && !json_is_null(json_object_get(j, "name")) && n == 0)
      rc = pg_fail(d, PG_ERR_INVALID, "%s: 'name' must not be empty", cmd);
    if (!rc) {
      const char *ts = NULL;
      size_t tn = 0;
      rc = pg_json_opt_str(j, "type", NULL, &ts, &tn, &tmp);
      if (rc) rc = prefixed(d, rc, cmd, &tmp);
      else rc = parse_entity(cmd, ts, tn, true, &h->type, d);
    }
    if (!rc) rc = get_u64(j, cmd, "time", PG_GRID_MAX_TIME_MS, &h->time, d);
    if (!rc) rc = get_certificate(j, cmd, h->cert, &h->cert_len, d);
    if (!rc) rc = get_signature(j, cmd, &h->signature, d);
    break;
  }
  case PG_GRID_CMD_GOODBYE: {
    pg_grid_goodbye *g = &m->u.goodbye;
    rc = check_keys(j, cmd, k_goodbye, d);
    if (!rc) rc = get_text(j, cmd, "registrationId", false, g->registration_id,
                           sizeof g->registration_id, &n, d);
    if (!rc) rc = get_u64(j, cmd, "time", PG_GRID_MAX_TIME_MS, &g->time, d);
    break;
  }
  case PG_GRID_CMD_OUTPUT: {
    pg_grid_output *o = &m->u.output;
    rc = check_keys(j, cmd, k_output, d);
    if (!rc) rc = parse_version(j, cmd, m, d);
    if (!rc) rc = parse_span(j, cmd, &o->slot, &o->start_time, &o->end_time, d);
    if (!rc) rc = get_quantity(j, m, cmd, "output", &o->output_wh, d);
    if (!rc)
      rc = opt_u64(j, cmd, is_v2(m) ? "askPerUnit" : "askPerKwh", PG_GRID_MAX_SAFE_INT,
                   &o->has_ask, &o->ask_per_kwh, d);
    if (!rc) rc = get_text(j, cmd, "paymentAddress", true, o->payment_address,
                           sizeof o->payment_address, &n, d);
    if (!rc && json_object_get(j, "paymentAddress") &&
        !json_is_null(json_object_get(j, "paymentAddress")))
      rc = check_address(cmd, "paymentAddress", o->payment_address, sizeof o->payment_address,
                         o->payment_address, d);
    break;
  }
  case PG_GRID_CMD_USAGE: {
    pg_grid_usage *u = &m->u.usage;
    rc = check_keys(j, cmd, k_usage, d);
    if (!rc) rc = parse_version(j, cmd, m, d);
    if (!rc) rc = parse_span(j, cmd, &u->slot, &u->start_time, &u->end_time, d);
    if (!rc) rc = get_quantity(j, m, cmd, "usage", &u->usage_wh, d);
    if (!rc)
      rc = opt_u64(j, cmd, is_v2(m) ? "bidPerUnit" : "bidPerKwh", PG_GRID_MAX_SAFE_INT,
                   &u->has_bid, &u->bid_per_kwh, d);
    break;
  }
  case PG_GRID_CMD_PAYMENT_REQUEST: {
    pg_grid_payment_request *p = &m->u.payment_request;
    rc = check_keys(j, cmd, k_payreq, d);
    if (!rc) rc = get_u64(j, cmd, "slot", PG_GRID_MAX_SAFE_INT, &p->slot, d);
    if (!rc) rc = get_text(j, cmd, "requestId", false, p->request_id, sizeof p->request_id, &n, d);
    if (!rc) rc = get_u64(j, cmd, "owed", PG_GRID_MAX_SAFE_INT, &p->owed, d);
    if (!rc) rc = get_kwh(j, cmd, "usage", &p->usage_wh, d);
    if (!rc) rc = get_text(j, cmd, "paymentIdOrAddress", false, p->payment_address,
                           sizeof p->payment_address, &n, d);
    if (!rc) rc = check_address(cmd, "paymentIdOrAddress", p->payment_address,
                                sizeof p->payment_address, p->payment_address, d);
    if (!rc) rc = get_text(j, cmd, "reference", false, p->reference, sizeof p->reference, &n, d);
    break;
  }
  case PG_GRID_CMD_SETTLEMENT:
    return pg_fail(d, PG_ERR_UNSUPPORTED,
                   "settlement: a record message; parse it with pg_grid_settlement_parse");
  }
  if (rc) return rc;
  return pg_grid_msg_validate(m, d); /* the rules on the values themselves */
}

static int parse_object(const void *data, size_t len, const char *who, json_t **j, pg_diag *d) {
  if (len > PG_GRID_MAX_JSON)
    return pg_fail(d, PG_ERR_INVALID, "%s: %zu bytes; at most %d", who, len, PG_GRID_MAX_JSON);
  pg_diag tmp = {{0}};
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, j, &tmp);
  return rc ? pg_fail(d, rc, "%s: %s", who, tmp.msg) : PG_OK;
}

int pg_grid_msg_parse(const void *data, size_t len, pg_grid_msg *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "message: no output");
  json_t *j = NULL;
  memset(out, 0, sizeof *out);
  int rc = parse_object(data, len, "message", &j, d);
  if (rc) return rc;
  rc = parse_body(j, out, d);
  json_decref(j);
  return rc;
}

/* ---------- serialisation ---------- */

/* Length of the well-formed UTF-8 sequence starting at p (p[0] >= 0x80), or 0
 * when it is malformed (bad lead, truncated, overlong, surrogate, > U+10FFFF). */
static size_t utf8_seq(const unsigned char *p) {
  unsigned char c = p[0];
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

/* A JSON string literal of the NUL-terminated s: '"' and '\' escaped,
 * control characters as \u00XX, malformed UTF-8 replaced by \ufffd (so the
 * output is valid JSON whatever s holds). */
static void put_json_string(pg_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  pg_buf_put_u8(b, '"');
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      pg_buf_put_u8(b, '\\');
      pg_buf_put_u8(b, c);
      p++;
    } else if (c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      pg_buf_put(b, esc, sizeof esc);
      p++;
    } else if (c < 0x80) {
      pg_buf_put_u8(b, c);
      p++;
    } else {
      size_t n = utf8_seq(p);
      if (n) {
        pg_buf_put(b, p, n);
        p += n;
      } else {
        pg_buf_puts(b, "\\ufffd");
        p++;
      }
    }
  }
  pg_buf_put_u8(b, '"');
}

/* ,"key": — first member of an object omits the comma */
static void put_key(pg_buf *b, const char *key, bool first) {
  if (!first) pg_buf_put_u8(b, ',');
  put_json_string(b, key);
  pg_buf_put_u8(b, ':');
}

static void put_str_field(pg_buf *b, const char *key, const char *v, bool first) {
  put_key(b, key, first);
  put_json_string(b, v);
}

static void put_u64_field(pg_buf *b, const char *key, uint64_t v) {
  char num[24];
  put_key(b, key, false);
  int n = snprintf(num, sizeof num, "%" PRIu64, v);
  pg_buf_put(b, num, (size_t)n);
}

static void put_kwh_field(pg_buf *b, const char *key, int64_t wh) {
  char num[PG_GRID_KWH_TEXT];
  put_key(b, key, false);
  if (pg_grid_kwh_format(wh, num, sizeof num) != PG_OK) {
    /* validated beforehand; mark the buffer as failed should it ever happen */
    b->err = b->err ? b->err : PG_ERR_INVALID;
    return;
  }
  pg_buf_puts(b, num);
}

static void put_i64_field(pg_buf *b, const char *key, int64_t v, bool first);

/* A quantity: kWh (version 1) or an integer of the base unit (version 2). */
static void put_quantity(pg_buf *b, const pg_grid_msg *m, const char *key, int64_t q) {
  if (is_v2(m))
    put_i64_field(b, key, q, false);
  else
    put_kwh_field(b, key, q);
}

static int finish(pg_buf *out, size_t start) {
  int rc = pg_buf_status(out);
  if (rc) {
    out->len = start;
  }
  return rc;
}

int pg_grid_msg_serialize(const pg_grid_msg *m, pg_buf *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "no output buffer");
  int rc = pg_grid_msg_validate(m, d);
  if (rc) return rc;
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "output buffer already failed");
  size_t start = out->len;
  pg_buf_put_u8(out, '{');
  put_str_field(out, "command", pg_grid_command_name(m->command), true);
  if (versioned(m->command) && is_v2(m)) {
    put_u64_field(out, "version", PG_GRID_VERSION_2);
    put_str_field(out, "resource", m->resource, false);
    put_str_field(out, "unit", m->unit, false);
  }
  switch (m->command) {
  case PG_GRID_CMD_HELLO:
    put_str_field(out, "registrationId", m->u.hello.registration_id, false);
    if (m->u.hello.name[0]) put_str_field(out, "name", m->u.hello.name, false);
    if (m->u.hello.type != PG_GRID_ENTITY_NONE)
      put_str_field(out, "type", pg_grid_entity_name(m->u.hello.type), false);
    put_u64_field(out, "time", m->u.hello.time);
    if (m->u.hello.cert_len) put_certificate_field(out, m->u.hello.cert, m->u.hello.cert_len);
    if (m->u.hello.signature.sig_len) put_signature_field(out, &m->u.hello.signature);
    break;
  case PG_GRID_CMD_GOODBYE:
    put_str_field(out, "registrationId", m->u.goodbye.registration_id, false);
    put_u64_field(out, "time", m->u.goodbye.time);
    break;
  case PG_GRID_CMD_OUTPUT:
    put_u64_field(out, "slot", m->u.output.slot);
    put_u64_field(out, "startTime", m->u.output.start_time);
    put_u64_field(out, "endTime", m->u.output.end_time);
    put_quantity(out, m, "output", m->u.output.output_wh);
    if (m->u.output.has_ask)
      put_u64_field(out, is_v2(m) ? "askPerUnit" : "askPerKwh", m->u.output.ask_per_kwh);
    if (m->u.output.payment_address[0])
      put_str_field(out, "paymentAddress", m->u.output.payment_address, false);
    break;
  case PG_GRID_CMD_USAGE:
    put_u64_field(out, "slot", m->u.usage.slot);
    put_u64_field(out, "startTime", m->u.usage.start_time);
    put_u64_field(out, "endTime", m->u.usage.end_time);
    put_quantity(out, m, "usage", m->u.usage.usage_wh);
    if (m->u.usage.has_bid)
      put_u64_field(out, is_v2(m) ? "bidPerUnit" : "bidPerKwh", m->u.usage.bid_per_kwh);
    break;
  case PG_GRID_CMD_PAYMENT_REQUEST:
    put_u64_field(out, "slot", m->u.payment_request.slot);
    put_str_field(out, "requestId", m->u.payment_request.request_id, false);
    put_u64_field(out, "owed", m->u.payment_request.owed);
    put_kwh_field(out, "usage", m->u.payment_request.usage_wh);
    put_str_field(out, "paymentIdOrAddress", m->u.payment_request.payment_address, false);
    put_str_field(out, "reference", m->u.payment_request.reference, false);
    break;
  case PG_GRID_CMD_SETTLEMENT: /* refused by pg_grid_msg_validate */
    break;
  }
  pg_buf_put_u8(out, '}');
  rc = finish(out, start);
  return rc ? pg_fail(d, rc, "%s: output buffer full", pg_grid_command_name(m->command)) : PG_OK;
}

static bool str_eq(const char *a, const char *b, size_t cap) {
  size_t na = field_len(a, cap), nb = field_len(b, cap);
  return na == nb && memcmp(a, b, na) == 0;
}

/* Same version (0 = 1) and resource (version 1: electricity in Wh). */
static bool version_eq(const pg_grid_msg *a, const pg_grid_msg *b) {
  return is_v2(a) == is_v2(b) && strcmp(msg_resource(a), msg_resource(b)) == 0 &&
         strcmp(msg_unit(a), msg_unit(b)) == 0;
}

bool pg_grid_msg_equal(const pg_grid_msg *a, const pg_grid_msg *b) {
  if (!a || !b || a->command != b->command) return false;
  if (versioned(a->command) && !version_eq(a, b)) return false;
  switch (a->command) {
  case PG_GRID_CMD_HELLO: {
    const pg_grid_hello *x = &a->u.hello, *y = &b->u.hello;
    return str_eq(x->registration_id, y->registration_id, sizeof x->registration_id) &&
           str_eq(x->name, y->name, sizeof x->name) && x->type == y->type && x->time == y->time &&
           x->cert_len == y->cert_len && memcmp(x->cert, y->cert, x->cert_len) == 0 &&
           sig_eq(&x->signature, &y->signature);
  }
  case PG_GRID_CMD_GOODBYE:
    return str_eq(a->u.goodbye.registration_id, b->u.goodbye.registration_id,
                  sizeof a->u.goodbye.registration_id) &&
           a->u.goodbye.time == b->u.goodbye.time;
  case PG_GRID_CMD_OUTPUT: {
    const pg_grid_output *x = &a->u.output, *y = &b->u.output;
    return x->slot == y->slot && x->start_time == y->start_time && x->end_time == y->end_time &&
           x->output_wh == y->output_wh && x->has_ask == y->has_ask &&
           (!x->has_ask || x->ask_per_kwh == y->ask_per_kwh) &&
           str_eq(x->payment_address, y->payment_address, sizeof x->payment_address);
  }
  case PG_GRID_CMD_USAGE: {
    const pg_grid_usage *x = &a->u.usage, *y = &b->u.usage;
    return x->slot == y->slot && x->start_time == y->start_time && x->end_time == y->end_time &&
           x->usage_wh == y->usage_wh && x->has_bid == y->has_bid &&
           (!x->has_bid || x->bid_per_kwh == y->bid_per_kwh);
  }
  case PG_GRID_CMD_PAYMENT_REQUEST: {
    const pg_grid_payment_request *x = &a->u.payment_request, *y = &b->u.payment_request;
    return x->slot == y->slot && str_eq(x->request_id, y->request_id, sizeof x->request_id) &&
           x->owed == y->owed && x->usage_wh == y->usage_wh &&
           str_eq(x->payment_address, y->payment_address, sizeof x->payment_address) &&
           str_eq(x->reference, y->reference, sizeof x->reference);
  }
  case PG_GRID_CMD_SETTLEMENT:
    return false;
  }
  return false;
}

/* ---------- channel binding fields ---------- */

#define BINDING_CONTEXT "p2pgrid/channel-binding/v1"

/* "signature": hex of 8..PG_GRID_MAX_SIG bytes (optional). */
static int get_signature(const json_t *j, const char *cmd, pg_grid_signature *out, pg_diag *d) {
  char hex[2 * PG_GRID_MAX_SIG + 1];
  size_t n = 0;
  int rc = get_text(j, cmd, "signature", true, hex, sizeof hex, &n, d);
  out->sig_len = 0;
  if (rc || n == 0) return rc;
  size_t len = 0;
  if (n < 16 || pg_hex_decode(hex, n, out->sig, sizeof out->sig, &len) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "%s: 'signature' must be 16..%d hex digits (an even number)",
                   cmd, 2 * PG_GRID_MAX_SIG);
  out->sig_len = len;
  return PG_OK;
}

/* "certificate": standard base64 (with padding) of 1..PG_GRID_MAX_CERT bytes. */
static int get_certificate(const json_t *j, const char *cmd, uint8_t *cert, size_t *cert_len,
                           pg_diag *d) {
  pg_diag tmp = {{0}};
  const char *s = NULL;
  size_t n = 0, len = 0;
  *cert_len = 0;
  int rc = pg_json_opt_str(j, "certificate", NULL, &s, &n, &tmp);
  if (rc) return prefixed(d, rc, cmd, &tmp);
  if (!s) return PG_OK;
  if (n == 0 || n > sodium_base64_ENCODED_LEN(PG_GRID_MAX_CERT, sodium_base64_VARIANT_ORIGINAL) ||
      sodium_base642bin(cert, PG_GRID_MAX_CERT, s, n, NULL, &len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len == 0)
    return pg_fail(d, PG_ERR_INVALID,
                   "%s: 'certificate' must be base64 (with padding) of at most %d bytes", cmd,
                   PG_GRID_MAX_CERT);
  *cert_len = len;
  return PG_OK;
}

static void put_signature_field(pg_buf *b, const pg_grid_signature *s) {
  char hex[2 * PG_GRID_MAX_SIG + 1];
  pg_hex_encode(s->sig, s->sig_len, hex);
  put_str_field(b, "signature", hex, false);
}

static void put_certificate_field(pg_buf *b, const uint8_t *cert, size_t len) {
  char b64[sodium_base64_ENCODED_LEN(PG_GRID_MAX_CERT, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, cert, len, sodium_base64_VARIANT_ORIGINAL);
  put_str_field(b, "certificate", b64, false);
}

static bool sig_eq(const pg_grid_signature *a, const pg_grid_signature *b) {
  return a->sig_len == b->sig_len && memcmp(a->sig, b->sig, a->sig_len) == 0;
}

static int binding_bytes(const char *id, const char *root, const char *side_key, uint8_t mode,
                         uint64_t time_ms, pg_buf *out, pg_diag *d) {
  size_t idn = strlen(id), skn = strlen(side_key);
  pg_buf_put(out, BINDING_CONTEXT, sizeof BINDING_CONTEXT); /* with its NUL */
  pg_buf_put_u8(out, (uint8_t)idn);
  pg_buf_put(out, id, idn);
  pg_buf_put(out, root, PG_GRID_TRYTES);
  pg_buf_put_u8(out, (uint8_t)skn);
  pg_buf_put(out, side_key, skn);
  pg_buf_put_u8(out, mode);
  for (int i = 7; i >= 0; i--) pg_buf_put_u8(out, (uint8_t)(time_ms >> (8 * i)));
  int rc = pg_buf_status(out);
  return rc ? pg_fail(d, rc, "binding: output buffer full") : PG_OK;
}

int pg_grid_binding_bytes(const char *id, const pg_grid_channel *c, uint64_t time_ms,
                          pg_buf *out, pg_diag *d) {
  size_t idn = id ? strlen(id) : 0;
  if (!pg_grid_is_id(id, idn)) return pg_fail(d, PG_ERR_INVALID, "binding: invalid id");
  int rc = c ? check_channel("binding", c, d) : pg_fail(d, PG_ERR_INVALID, "binding: no channel");
  if (rc) return rc;
  return binding_bytes(id, c->root, c->side_key, (uint8_t)PG_GRID_MODE_RESTRICTED, time_ms, out, d);
}

int pg_grid_binding_bytes_public(const char *id, const char *root, uint64_t time_ms, pg_buf *out,
                                 pg_diag *d) {
  size_t idn = id ? strlen(id) : 0;
  if (!pg_grid_is_id(id, idn)) return pg_fail(d, PG_ERR_INVALID, "binding: invalid id");
  if (!root || strlen(root) != PG_GRID_TRYTES || !pg_grid_is_trytes(root, PG_GRID_TRYTES))
    return pg_fail(d, PG_ERR_INVALID, "binding: 'root' must be exactly 81 trytes [9A-Z]");
  return binding_bytes(id, root, "", (uint8_t)PG_GRID_MODE_PUBLIC, time_ms, out, d);
}

/* ---------- registration ---------- */

static const char *const k_reg[] = {"name",      "type", "root",           "sideKey",
                                    "mode",      "time", "signature",      "paymentAddress",
                                    NULL};
static const char *const k_chan[] = {"root", "sideKey", NULL};

static int validate_registration(const pg_grid_registration *r, pg_diag *d) {
  size_t n = field_len(r->name, sizeof r->name);
  if (!is_name(r->name, n))
    return pg_fail(d, PG_ERR_INVALID,
                   "registration: 'name' must be 1..%d bytes without control characters",
                   PG_GRID_MAX_NAME);
  if (r->type == PG_GRID_ENTITY_NONE || !pg_grid_entity_name(r->type))
    return pg_fail(d, PG_ERR_INVALID,
                   "registration: 'type' must be \"source\", \"producer\" or \"consumer\"");
  if (r->mode != PG_GRID_MODE_RESTRICTED)
    return pg_fail(d, PG_ERR_INVALID, "registration: only mode \"restricted\" is supported");
  int rc = check_binding_sizes("registration", 0, &r->signature, d);
  if (!rc && (r->time == 0) != (r->signature.sig_len == 0))
    rc = pg_fail(d, PG_ERR_INVALID, "registration: 'time' and 'signature' go together");
  if (!rc && r->time) rc = check_time("registration", "time", r->time, d);
  if (!rc && field_len(r->payment_address, sizeof r->payment_address) > 0)
    rc = check_address("registration", "paymentAddress", r->payment_address,
                       sizeof r->payment_address, NULL, d);
  return rc ? rc : check_channel("registration", &r->channel, d);
}

static int parse_channel_fields(const json_t *j, const char *who, pg_grid_channel *c,
                                pg_diag *d) {
  size_t n = 0;
  int rc = get_text(j, who, "root", false, c->root, sizeof c->root, &n, d);
  if (!rc) rc = get_text(j, who, "sideKey", false, c->side_key, sizeof c->side_key, &n, d);
  return rc ? rc : check_channel(who, c, d);
}

int pg_grid_registration_parse(const void *data, size_t len, pg_grid_registration *out,
                               pg_diag *d) {
  const char *who = "registration";
  if (!out) return pg_fail(d, PG_ERR_INVALID, "registration: no output");
  memset(out, 0, sizeof *out);
  json_t *j = NULL;
  int rc = parse_object(data, len, who, &j, d);
  if (rc) return rc;
  size_t n = 0;
  rc = check_keys(j, who, k_reg, d);
  if (!rc) rc = get_text(j, who, "name", false, out->name, sizeof out->name, &n, d);
  if (!rc) {
    pg_diag tmp = {{0}};
    const char *ts = NULL;
    size_t tn = 0;
    rc = pg_json_get_str(j, "type", &ts, &tn, &tmp);
    if (rc) rc = prefixed(d, rc, who, &tmp);
    else rc = parse_entity(who, ts, tn, false, &out->type, d);
  }
  if (!rc) rc = parse_channel_fields(j, who, &out->channel, d);
  if (!rc) {
    pg_diag tmp = {{0}};
    const char *ms = NULL;
    size_t mn = 0;
    rc = pg_json_opt_str(j, "mode", NULL, &ms, &mn, &tmp);
    if (rc) rc = prefixed(d, rc, who, &tmp);
    else if (ms && !(mn == 10 && memcmp(ms, "restricted", 10) == 0))
      rc = pg_fail(d, PG_ERR_INVALID,
                   "registration: 'mode' must be \"restricted\" (the only mode supported), not "
                   "'%.32s'",
                   ms);
    out->mode = PG_GRID_MODE_RESTRICTED;
  }
  if (!rc && json_object_get(j, "time") && !json_is_null(json_object_get(j, "time")))
    rc = get_u64(j, who, "time", PG_GRID_MAX_TIME_MS, &out->time, d);
  if (!rc) rc = get_signature(j, who, &out->signature, d);
  if (!rc) rc = get_text(j, who, "paymentAddress", true, out->payment_address,
                         sizeof out->payment_address, &n, d);
  if (!rc && n > 0)
    rc = check_address(who, "paymentAddress", out->payment_address, sizeof out->payment_address,
                       out->payment_address, d);
  if (!rc) rc = validate_registration(out, d);
  json_decref(j);
  return rc;
}

int pg_grid_registration_serialize(const pg_grid_registration *r, pg_buf *out, pg_diag *d) {
  if (!r || !out) return pg_fail(d, PG_ERR_INVALID, "registration: no input or output");
  int rc = validate_registration(r, d);
  if (rc) return rc;
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "output buffer already failed");
  size_t start = out->len;
  pg_buf_put_u8(out, '{');
  put_str_field(out, "name", r->name, true);
  put_str_field(out, "type", pg_grid_entity_name(r->type), false);
  put_str_field(out, "root", r->channel.root, false);
  put_str_field(out, "sideKey", r->channel.side_key, false);
  put_str_field(out, "mode", "restricted", false);
  if (r->time) put_u64_field(out, "time", r->time);
  if (r->signature.sig_len) put_signature_field(out, &r->signature);
  if (r->payment_address[0]) put_str_field(out, "paymentAddress", r->payment_address, false);
  pg_buf_put_u8(out, '}');
  rc = finish(out, start);
  return rc ? pg_fail(d, rc, "registration: output buffer full") : PG_OK;
}

int pg_grid_channel_parse(const void *data, size_t len, pg_grid_channel *out, pg_diag *d) {
  const char *who = "channel";
  if (!out) return pg_fail(d, PG_ERR_INVALID, "channel: no output");
  memset(out, 0, sizeof *out);
  json_t *j = NULL;
  int rc = parse_object(data, len, who, &j, d);
  if (rc) return rc;
  rc = check_keys(j, who, k_chan, d);
  if (!rc) rc = parse_channel_fields(j, who, out, d);
  json_decref(j);
  return rc;
}

int pg_grid_channel_serialize(const pg_grid_channel *c, pg_buf *out, pg_diag *d) {
  if (!c || !out) return pg_fail(d, PG_ERR_INVALID, "channel: no input or output");
  int rc = check_channel("channel", c, d);
  if (rc) return rc;
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "output buffer already failed");
  size_t start = out->len;
  pg_buf_put_u8(out, '{');
  put_str_field(out, "root", c->root, true);
  put_str_field(out, "sideKey", c->side_key, false);
  pg_buf_put_u8(out, '}');
  rc = finish(out, start);
  return rc ? pg_fail(d, rc, "channel: output buffer full") : PG_OK;
}

int pg_grid_registration_path(const char *path, size_t len, char id[PG_GRID_MAX_ID + 1],
                              char side_key[PG_GRID_TRYTES + 1], pg_diag *d) {
  static const char prefix[] = "/registration/";
  const size_t pn = sizeof prefix - 1;
  if (!path || !id || !side_key || len < pn || memcmp(path, prefix, pn) != 0)
    return pg_fail(d, PG_ERR_NOT_FOUND, "path: expected /registration/{id}[/{sideKey}]");
  const char *rest = path + pn;
  size_t rn = len - pn;
  const char *slash = memchr(rest, '/', rn);
  size_t idn = slash ? (size_t)(slash - rest) : rn;
  if (!pg_grid_is_id(rest, idn))
    return pg_fail(d, PG_ERR_INVALID,
                   "path: registration id must be 1..%d characters of [A-Za-z0-9._-]",
                   PG_GRID_MAX_ID);
  size_t kn = 0;
  const char *key = NULL;
  if (slash) {
    key = slash + 1;
    kn = rn - idn - 1;
    if (kn < 1 || kn > PG_GRID_TRYTES || !pg_grid_is_trytes(key, kn))
      return pg_fail(d, PG_ERR_INVALID, "path: sideKey must be 1..81 trytes [9A-Z]");
  }
  memcpy(id, rest, idn);
  id[idn] = '\0';
  if (kn) memcpy(side_key, key, kn);
  side_key[kn] = '\0';
  return PG_OK;
}

int pg_grid_error_serialize(const char *code, const char *message, pg_buf *out) {
  if (!code || !message || !out) return PG_ERR_INVALID;
  int rc = pg_buf_status(out);
  if (rc) return rc;
  size_t start = out->len;
  pg_buf_puts(out, "{\"error\":{");
  put_str_field(out, "code", code, true);
  put_str_field(out, "message", message, false);
  pg_buf_puts(out, "}}");
  return finish(out, start);
}

/* ---------- command peek ---------- */

int pg_grid_peek_command(const void *data, size_t len, pg_grid_command *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "message: no output");
  if (len > PG_GRID_MAX_SETTLEMENT_JSON)
    return pg_fail(d, PG_ERR_INVALID, "message: %zu bytes; at most %d", len,
                   PG_GRID_MAX_SETTLEMENT_JSON);
  json_t *j = NULL;
  pg_diag tmp = {{0}};
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, &j, &tmp);
  if (rc) return pg_fail(d, rc, "message: %s", tmp.msg);
  const char *cs = NULL;
  size_t cn = 0;
  rc = pg_json_get_str(j, "command", &cs, &cn, &tmp);
  if (rc) rc = pg_fail(d, rc, "message: %s", tmp.msg);
  else rc = command_of(cs, cn, out, d);
  json_decref(j);
  return rc;
}

/* ---------- the settlement record ---------- */

#define SETTLE "settlement"
#define MAX_PRICE_DOUBLE 9007199254740992.0 /* 2^53 */

static const char *const k_settle_all[] = {"command", "slot", "part", "parts", "settledAt",
                                           "mechanism", "config", "hasPrice", "buyPrice",
                                           "sellPrice", "totals", "lines", NULL};
static const char *const k_settle_more[] = {"command", "slot", "part", "parts", "lines", NULL};
static const char *const k_config[] = {"importPrice", "exportPrice", "feePerKwh", "feeBp",
                                       "fixedBuyPrice", "fixedSellPrice", NULL};
static const char *const k_totals[] = {"supplyWh", "demandWh", "matchedWh", "importWh",
                                       "exportWh", "consumerPayments", "producerRevenues",
                                       "fees", "gridIncome", "importCost", "exportIncome",
                                       "producers", "consumers", "lateReadings", NULL};
static const char *const k_line[] = {"tag", "box", NULL};

/* The config / totals fields as arrays in the key order above. */
static uint64_t *config_field(pg_grid_settle_config *c, size_t i) {
  uint64_t *f[] = {&c->import_price,  &c->export_price,    &c->fee_per_kwh,
                   &c->fee_bp,        &c->fixed_buy_price, &c->fixed_sell_price};
  return f[i];
}

static int64_t *totals_field(pg_grid_settle_totals *t, size_t i) {
  int64_t *f[] = {&t->supply_wh, &t->demand_wh, &t->matched_wh, &t->import_wh, &t->export_wh,
                  &t->consumer_payments, &t->producer_revenues, &t->fees, &t->grid_income,
                  &t->import_cost, &t->export_income, &t->producers, &t->consumers,
                  &t->late_readings};
  return f[i];
}

#define N_CONFIG 6
#define N_TOTALS 14
#define GRID_INCOME_FIELD 8

static bool price_ok(double x) {
  return isfinite(x) && x >= 0 && !signbit(x) && x <= MAX_PRICE_DOUBLE;
}

static int validate_head(const pg_grid_settlement *s, pg_diag *d) {
  int rc = check_time(SETTLE, "settledAt", s->settled_at, d);
  if (rc) return rc;
  if (!pg_market_mech_name((pg_market_mech)s->mechanism))
    return pg_fail(d, PG_ERR_INVALID, "settlement: 'mechanism' is not a known mechanism");
  pg_grid_settle_config c = s->config;
  for (size_t i = 0; i < N_CONFIG; i++)
    if (*config_field(&c, i) > PG_GRID_MAX_SAFE_INT)
      return pg_fail(d, PG_ERR_INVALID, "settlement: config '%s' is out of range (0..2^53-1)",
                     k_config[i]);
  if (c.fee_bp > 10000) return pg_fail(d, PG_ERR_INVALID, "settlement: 'feeBp' is over 10000");
  if (!price_ok(s->buy_price) || !price_ok(s->sell_price))
    return pg_fail(d, PG_ERR_INVALID,
                   "settlement: 'buyPrice' and 'sellPrice' must be finite numbers 0..2^53");
  pg_grid_settle_totals t = s->totals;
  for (size_t i = 0; i < N_TOTALS; i++) {
    int64_t v = *totals_field(&t, i);
    int64_t lo = i == GRID_INCOME_FIELD ? -(int64_t)PG_GRID_MAX_SAFE_INT : 0;
    if (v < lo || v > (int64_t)PG_GRID_MAX_SAFE_INT)
      return pg_fail(d, PG_ERR_INVALID, "settlement: totals '%s' is out of range", k_totals[i]);
  }
  return PG_OK;
}

static int validate_lines(const pg_grid_settlement *s, pg_diag *d) {
  if (s->n_lines > PG_GRID_MAX_SETTLEMENT_LINES)
    return pg_fail(d, PG_ERR_INVALID, "settlement: %zu lines in a part; at most %d", s->n_lines,
                   PG_GRID_MAX_SETTLEMENT_LINES);
  if (s->n_lines && !s->lines) return pg_fail(d, PG_ERR_INVALID, "settlement: no lines array");
  for (size_t i = 0; i < s->n_lines; i++) {
    const pg_grid_record_line *l = &s->lines[i];
    if (!l->box || l->box_len <= 16 || l->box_len > PG_GRID_RECORD_MAX_BOX)
      return pg_fail(d, PG_ERR_INVALID, "settlement: lines[%zu] 'box' must be 17..%d bytes", i,
                     PG_GRID_RECORD_MAX_BOX);
    if (i > 0 && memcmp(s->lines[i - 1].tag, l->tag, PG_GRID_RECORD_TAG) >= 0)
      return pg_fail(d, PG_ERR_INVALID,
                     "settlement: lines[%zu] is not after lines[%zu] (sorted by tag, no repeats)",
                     i, i - 1);
  }
  return PG_OK;
}

int pg_grid_settlement_validate(const pg_grid_settlement *s, pg_diag *d) {
  if (!s) return pg_fail(d, PG_ERR_INVALID, "settlement: none");
  if (s->slot > PG_GRID_MAX_SAFE_INT)
    return pg_fail(d, PG_ERR_INVALID, "settlement: 'slot' is out of range (0..2^53-1)");
  if (s->parts < 1 || s->parts > PG_GRID_MAX_SETTLEMENT_PARTS || s->part < 1 ||
      s->part > s->parts)
    return pg_fail(d, PG_ERR_INVALID, "settlement: 'part' must be 1..'parts' and 'parts' 1..%d",
                   PG_GRID_MAX_SETTLEMENT_PARTS);
  int rc = s->part == 1 ? validate_head(s, d) : PG_OK;
  return rc ? rc : validate_lines(s, d);
}

void pg_grid_settlement_free(pg_grid_settlement *s) {
  if (!s) return;
  for (size_t i = 0; s->lines && i < s->n_lines; i++) free(s->lines[i].box);
  free(s->lines);
  s->lines = NULL;
  s->n_lines = 0;
}

static int get_price(const json_t *j, const char *key, double *out, pg_diag *d) {
  json_t *v = json_object_get(j, key);
  if (!v) return pg_fail(d, PG_ERR_INVALID, "settlement: missing field '%s'", key);
  if (json_is_integer(v)) *out = (double)json_integer_value(v);
  else if (json_is_real(v)) *out = json_real_value(v);
  else
    return pg_fail(d, PG_ERR_INVALID, "settlement: field '%s': expected a number, got %s", key,
                   pg_json_type_name(v));
  return PG_OK;
}

static int get_object(const json_t *j, const char *key, const char *const *keys, json_t **out,
                      pg_diag *d) {
  pg_diag tmp = {{0}};
  int rc = pg_json_get_object(j, key, out, &tmp);
  if (rc) return prefixed(d, rc, SETTLE, &tmp);
  return check_keys(*out, SETTLE, keys, d);
}

static int parse_head(const json_t *j, pg_grid_settlement *s, pg_diag *d) {
  pg_diag tmp = {{0}};
  const char *ms = NULL;
  json_t *c = NULL, *t = NULL;
  int rc = get_u64(j, SETTLE, "settledAt", PG_GRID_MAX_TIME_MS, &s->settled_at, d);
  if (!rc && pg_json_get_str(j, "mechanism", &ms, NULL, &tmp)) rc = prefixed(d, PG_ERR_INVALID, SETTLE, &tmp);
  pg_market_mech mech = PG_MARKET_FIXED;
  if (!rc && pg_market_mech_parse(ms, &mech, &tmp)) rc = prefixed(d, PG_ERR_INVALID, SETTLE, &tmp);
  s->mechanism = (int)mech;
  if (!rc) rc = get_object(j, "config", k_config, &c, d);
  for (size_t i = 0; !rc && i < N_CONFIG; i++)
    rc = get_u64(c, SETTLE, k_config[i], PG_GRID_MAX_SAFE_INT, config_field(&s->config, i), d);
  if (!rc && pg_json_get_bool(j, "hasPrice", &s->has_price, &tmp))
    rc = prefixed(d, PG_ERR_INVALID, SETTLE, &tmp);
  if (!rc) rc = get_price(j, "buyPrice", &s->buy_price, d);
  if (!rc) rc = get_price(j, "sellPrice", &s->sell_price, d);
  if (!rc) rc = get_object(j, "totals", k_totals, &t, d);
  for (size_t i = 0; !rc && i < N_TOTALS; i++)
    if (pg_json_get_i64(t, k_totals[i], totals_field(&s->totals, i), &tmp))
      rc = prefixed(d, PG_ERR_INVALID, SETTLE, &tmp);
  return rc;
}

static int parse_line(const json_t *v, size_t i, pg_grid_record_line *l, pg_diag *d) {
  pg_diag tmp = {{0}};
  const char *box = NULL;
  size_t n = 0, got = 0;
  if (!json_is_object(v))
    return pg_fail(d, PG_ERR_INVALID, "settlement: lines[%zu] is not an object", i);
  int rc = check_keys(v, SETTLE, k_line, d);
  if (rc) return rc;
  if (pg_json_get_hex(v, "tag", l->tag, sizeof l->tag, &tmp))
    return pg_fail(d, PG_ERR_INVALID, "settlement: lines[%zu]: %s", i, tmp.msg);
  if (pg_json_get_str(v, "box", &box, &n, &tmp))
    return pg_fail(d, PG_ERR_INVALID, "settlement: lines[%zu]: %s", i, tmp.msg);
  if (n < 34 || n > 2 * PG_GRID_RECORD_MAX_BOX || n % 2)
    return pg_fail(d, PG_ERR_INVALID, "settlement: lines[%zu] 'box' must be 34..%d hex digits", i,
                   2 * PG_GRID_RECORD_MAX_BOX);
  l->box = malloc(n / 2);
  if (!l->box) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (pg_hex_decode(box, n, l->box, n / 2, &got) != PG_OK || got != n / 2)
    return pg_fail(d, PG_ERR_INVALID, "settlement: lines[%zu] 'box' is not hex", i);
  l->box_len = got;
  return PG_OK;
}

static int parse_lines(const json_t *j, pg_grid_settlement *s, pg_diag *d) {
  pg_diag tmp = {{0}};
  json_t *a = NULL;
  int rc = pg_json_get_array(j, "lines", &a, &tmp);
  if (rc) return prefixed(d, rc, SETTLE, &tmp);
  size_t n = json_array_size(a);
  if (n > PG_GRID_MAX_SETTLEMENT_LINES)
    return pg_fail(d, PG_ERR_INVALID, "settlement: %zu lines in a part; at most %d", n,
                   PG_GRID_MAX_SETTLEMENT_LINES);
  if (n == 0) return PG_OK;
  s->lines = calloc(n, sizeof *s->lines);
  if (!s->lines) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n && !rc; i++) {
    rc = parse_line(json_array_get(a, i), i, &s->lines[i], d);
    s->n_lines = i + 1; /* what was allocated is freed by pg_grid_settlement_free */
  }
  return rc;
}

int pg_grid_settlement_parse(const void *data, size_t len, pg_grid_settlement *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "settlement: no output");
  memset(out, 0, sizeof *out);
  if (len > PG_GRID_MAX_SETTLEMENT_JSON)
    return pg_fail(d, PG_ERR_INVALID, "settlement: %zu bytes; at most %d", len,
                   PG_GRID_MAX_SETTLEMENT_JSON);
  json_t *j = NULL;
  pg_diag tmp = {{0}};
  const char *cs = NULL;
  size_t cn = 0;
  uint64_t part = 0, parts = 0;
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, &j, &tmp);
  if (rc) return pg_fail(d, rc, "settlement: %s", tmp.msg);
  rc = pg_json_get_str(j, "command", &cs, &cn, &tmp);
  if (rc) rc = prefixed(d, rc, SETTLE, &tmp);
  else if (cn != strlen(SETTLE) || memcmp(cs, SETTLE, cn) != 0)
    rc = pg_fail(d, PG_ERR_INVALID, "settlement: 'command' is '%.32s', not \"settlement\"", cs);
  if (!rc) rc = get_u64(j, SETTLE, "slot", PG_GRID_MAX_SAFE_INT, &out->slot, d);
  if (!rc) rc = get_u64(j, SETTLE, "part", PG_GRID_MAX_SETTLEMENT_PARTS, &part, d);
  if (!rc) rc = get_u64(j, SETTLE, "parts", PG_GRID_MAX_SETTLEMENT_PARTS, &parts, d);
  out->part = (uint32_t)part;
  out->parts = (uint32_t)parts;
  if (!rc) rc = check_keys(j, SETTLE, part == 1 ? k_settle_all : k_settle_more, d);
  if (!rc && part == 1) rc = parse_head(j, out, d);
  if (!rc) rc = parse_lines(j, out, d);
  if (!rc) rc = pg_grid_settlement_validate(out, d);
  json_decref(j);
  return rc;
}

static void put_i64_field(pg_buf *b, const char *key, int64_t v, bool first) {
  char num[24];
  put_key(b, key, first);
  int n = snprintf(num, sizeof num, "%" PRId64, v);
  pg_buf_put(b, num, (size_t)n);
}

static void put_double_field(pg_buf *b, const char *key, double v) {
  char num[40];
  put_key(b, key, false);
  int n = snprintf(num, sizeof num, "%.17g", v);
  pg_buf_put(b, num, (size_t)n);
}

static void put_settlement_head(pg_buf *out, const pg_grid_settlement *s) {
  put_u64_field(out, "settledAt", s->settled_at);
  put_str_field(out, "mechanism", pg_market_mech_name((pg_market_mech)s->mechanism), false);
  put_key(out, "config", false);
  pg_buf_put_u8(out, '{');
  pg_grid_settle_config c = s->config;
  for (size_t i = 0; i < N_CONFIG; i++)
    put_i64_field(out, k_config[i], (int64_t)*config_field(&c, i), i == 0);
  pg_buf_put_u8(out, '}');
  put_key(out, "hasPrice", false);
  pg_buf_puts(out, s->has_price ? "true" : "false");
  put_double_field(out, "buyPrice", s->buy_price);
  put_double_field(out, "sellPrice", s->sell_price);
  put_key(out, "totals", false);
  pg_buf_put_u8(out, '{');
  pg_grid_settle_totals t = s->totals;
  for (size_t i = 0; i < N_TOTALS; i++) put_i64_field(out, k_totals[i], *totals_field(&t, i), i == 0);
  pg_buf_put_u8(out, '}');
}

int pg_grid_settlement_serialize(const pg_grid_settlement *s, pg_buf *out, pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "no output buffer");
  int rc = pg_grid_settlement_validate(s, d);
  if (rc) return rc;
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "output buffer already failed");
  size_t start = out->len;
  pg_buf_put_u8(out, '{');
  put_str_field(out, "command", SETTLE, true);
  put_u64_field(out, "slot", s->slot);
  put_u64_field(out, "part", s->part);
  put_u64_field(out, "parts", s->parts);
  if (s->part == 1) put_settlement_head(out, s);
  put_key(out, "lines", false);
  pg_buf_put_u8(out, '[');
  for (size_t i = 0; i < s->n_lines && pg_buf_status(out) == PG_OK; i++) {
    char tag[2 * PG_GRID_RECORD_TAG + 1];
    pg_hex_encode(s->lines[i].tag, PG_GRID_RECORD_TAG, tag);
    if (i) pg_buf_put_u8(out, ',');
    pg_buf_puts(out, "{\"tag\":\"");
    pg_buf_puts(out, tag);
    pg_buf_puts(out, "\",\"box\":\"");
    char *hex = pg_buf_status(out) ? NULL : (char *)pg_buf_extend(out, 2 * s->lines[i].box_len + 1);
    if (hex) {
      pg_hex_encode(s->lines[i].box, s->lines[i].box_len, hex);
      out->len--; /* drop the NUL */
    }
    pg_buf_puts(out, "\"}");
  }
  pg_buf_puts(out, "]}");
  rc = finish(out, start);
  return rc ? pg_fail(d, rc, "settlement: output buffer full") : PG_OK;
}

bool pg_grid_settlement_equal(const pg_grid_settlement *a, const pg_grid_settlement *b) {
  if (!a || !b || a->slot != b->slot || a->part != b->part || a->parts != b->parts ||
      a->n_lines != b->n_lines)
    return false;
  if (a->part == 1 &&
      (a->settled_at != b->settled_at || a->mechanism != b->mechanism ||
       memcmp(&a->config, &b->config, sizeof a->config) != 0 || a->has_price != b->has_price ||
       a->buy_price != b->buy_price || a->sell_price != b->sell_price ||
       memcmp(&a->totals, &b->totals, sizeof a->totals) != 0))
    return false;
  for (size_t i = 0; i < a->n_lines; i++) {
    const pg_grid_record_line *x = &a->lines[i], *y = &b->lines[i];
    if (memcmp(x->tag, y->tag, sizeof x->tag) != 0 || x->box_len != y->box_len ||
        memcmp(x->box, y->box, x->box_len) != 0)
      return false;
  }
  return true;
}

/* ---------- the registration answer ---------- */

static const char *const k_answer[] = {"root", "sideKey", "record", NULL};

static int check_record_root(const char *who, const char *r, pg_diag *d) {
  size_t n = field_len(r, PG_GRID_TRYTES + 1);
  if (n != 0 && (n != PG_GRID_TRYTES || !pg_grid_is_trytes(r, n)))
    return pg_fail(d, PG_ERR_INVALID, "%s: 'record' must be exactly 81 trytes [9A-Z]", who);
  return PG_OK;
}

int pg_grid_reg_answer_parse(const void *data, size_t len, pg_grid_reg_answer *out, pg_diag *d) {
  const char *who = "answer";
  if (!out) return pg_fail(d, PG_ERR_INVALID, "answer: no output");
  memset(out, 0, sizeof *out);
  json_t *j = NULL;
  size_t n = 0;
  int rc = parse_object(data, len, who, &j, d);
  if (rc) return rc;
  rc = check_keys(j, who, k_answer, d);
  out->has_return = json_object_get(j, "root") || json_object_get(j, "sideKey");
  if (!rc && out->has_return) rc = parse_channel_fields(j, who, &out->ret, d);
  if (!rc) rc = get_text(j, who, "record", true, out->record, sizeof out->record, &n, d);
  if (!rc) rc = check_record_root(who, out->record, d);
  json_decref(j);
  return rc;
}

int pg_grid_reg_answer_serialize(const pg_grid_reg_answer *a, pg_buf *out, pg_diag *d) {
  if (!a || !out) return pg_fail(d, PG_ERR_INVALID, "answer: no input or output");
  int rc = a->has_return ? check_channel("answer", &a->ret, d) : PG_OK;
  if (!rc) rc = check_record_root("answer", a->record, d);
  if (rc) return rc;
  rc = pg_buf_status(out);
  if (rc) return pg_fail(d, rc, "output buffer already failed");
  size_t start = out->len;
  bool first = true;
  pg_buf_put_u8(out, '{');
  if (a->has_return) {
    put_str_field(out, "root", a->ret.root, true);
    put_str_field(out, "sideKey", a->ret.side_key, false);
    first = false;
  }
  if (a->record[0]) put_str_field(out, "record", a->record, first);
  pg_buf_put_u8(out, '}');
  rc = finish(out, start);
  return rc ? pg_fail(d, rc, "answer: output buffer full") : PG_OK;
}
