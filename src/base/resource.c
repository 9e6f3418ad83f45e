/* resource.c — the metered resource: presets, config, display (resource.h). */
#include "p2pgrid/base/resource.h"

#include "number_internal.h"

#include <stdio.h>
#include <string.h>

static const pg_resource presets[] = {
    {"electricity", "Wh", "kWh", 1000, "kW", 1000, "kWh"},
    {"heat", "Wh", "kWh", 1000, "kW", 1000, "kWh"},
    {"water", "L", "m\xc2\xb3", 1000, "L/min", 60, "m\xc2\xb3"},
    {"gas", "L", "m\xc2\xb3", 1000, "m\xc2\xb3/h", 1000, "m\xc2\xb3"},
};

void pg_resource_default(pg_resource *r) { *r = presets[0]; }

int pg_resource_preset(const char *name, pg_resource *r) {
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (name && strcmp(presets[i].name, name) == 0) {
      *r = presets[i];
      return PG_OK;
    }
  return PG_ERR_NOT_FOUND;
}

const pg_resource *pg_resource_or_default(const pg_resource *r) {
  return r && r->name[0] ? r : &presets[0];
}

static bool name_ok(const char *s) {
  size_t n = strnlen(s, PG_RESOURCE_NAME_MAX + 1);
  if (n < 1 || n > PG_RESOURCE_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
          s[i] == '-'))
      return false;
  return true;
}

static bool unit_ok(const char *s) {
  size_t n = strnlen(s, PG_RESOURCE_UNIT_MAX + 1);
  if (n < 1 || n > PG_RESOURCE_UNIT_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

/* 1..15 bytes of valid UTF-8, no control characters, none of <>&"'\ */
static bool label_ok(const char *s) {
  size_t n = strnlen(s, PG_RESOURCE_UNIT_MAX + 1);
  if (n < 1 || n > PG_RESOURCE_UNIT_MAX) return false;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f || strchr("<>&\"'\\", (int)c)) return false;
      i++;
      continue;
    }
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (!len || c > 0xf4 || i + len > n) return false;
    uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp < 0xa0))
      return false;
    i += len;
  }
  return true;
}

static bool pow10_ok(uint64_t f) {
  if (f < 1 || f > PG_RESOURCE_FACTOR_MAX) return false;
  while (f % 10 == 0) f /= 10;
  return f == 1;
}

int pg_resource_check(const pg_resource *r, pg_diag *d) {
  if (!name_ok(r->name)) return pg_fail(d, PG_ERR_INVALID, "resource: name is not 1 to 31 of a-z 0-9 _ -");
  if (!unit_ok(r->unit)) return pg_fail(d, PG_ERR_INVALID, "resource: unit is not 1 to 15 of A-Z a-z 0-9 _ . -");
  if (!label_ok(r->display_unit)) return pg_fail(d, PG_ERR_INVALID, "resource: display_unit is not a unit label");
  if (!pow10_ok(r->display_factor))
    return pg_fail(d, PG_ERR_INVALID, "resource: display_factor is not a power of ten from 1 to 10^9");
  if (!label_ok(r->flow_unit)) return pg_fail(d, PG_ERR_INVALID, "resource: flow_unit is not a unit label");
  if (r->flow_factor < 1 || r->flow_factor > PG_RESOURCE_FACTOR_MAX)
    return pg_fail(d, PG_ERR_INVALID, "resource: flow_factor is not between 1 and 10^9");
  if (!label_ok(r->price_unit)) return pg_fail(d, PG_ERR_INVALID, "resource: price_unit is not a unit label");
  return PG_OK;
}

static const char label_what[] =
    "1 to 15 bytes of UTF-8 without control characters or < > & \" ' \\";

/* Reads an optional label key into dst (capacity PG_RESOURCE_UNIT_MAX + 1). */
static int get_label(pg_config *c, const char *section, const char *key, bool plain,
                     char *dst, bool *set, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, section, key, NULL, &v, d);
  if (rc || !v) return rc;
  if (plain ? !unit_ok(v) : !label_ok(v))
    return pg_config_bad_value(c, section, key,
                               plain ? "1 to 15 of A-Z a-z 0-9 _ . -" : label_what, d);
  snprintf(dst, PG_RESOURCE_UNIT_MAX + 1, "%s", v);
  if (set) *set = true;
  return PG_OK;
}

int pg_resource_from_config(pg_config *c, const char *section, pg_resource *out, pg_diag *d) {
  pg_resource r;
  const char *name = NULL;
  int rc = pg_config_get_str(c, section, "name", "electricity", &name, d);
  if (rc) return rc;
  if (!name_ok(name)) return pg_config_bad_value(c, section, "name", "1 to 31 of a-z 0-9 _ -", d);
  bool preset = pg_resource_preset(name, &r) == PG_OK;
  bool unit_set = false, disp_set = false, flow_set = false, price_set = false;
  if (!preset) {
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", name);
    r.display_factor = 1;
    r.flow_factor = 1;
    if (!pg_config_has(c, section, "unit"))
      return pg_fail(d, PG_ERR_CONFIG,
                     "[%s] unit: required: resource '%s' is not a preset (electricity, heat, "
                     "water, gas), so its base unit must be set",
                     section, name);
  }
  rc = get_label(c, section, "unit", true, r.unit, &unit_set, d);
  if (!rc) rc = get_label(c, section, "display_unit", false, r.display_unit, &disp_set, d);
  if (!rc) rc = get_label(c, section, "flow_unit", false, r.flow_unit, &flow_set, d);
  if (!rc) rc = get_label(c, section, "price_unit", false, r.price_unit, &price_set, d);
  if (!rc) rc = pg_config_get_u64(c, section, "display_factor", r.display_factor, 1,
                                  PG_RESOURCE_FACTOR_MAX, &r.display_factor, d);
  if (!rc && !pow10_ok(r.display_factor))
    return pg_config_bad_value(c, section, "display_factor", "a power of ten from 1 to 10^9", d);
  if (!rc) rc = pg_config_get_u64(c, section, "flow_factor", r.flow_factor, 1,
                                  PG_RESOURCE_FACTOR_MAX, &r.flow_factor, d);
  if (rc) return rc;
  if (!preset && !disp_set) snprintf(r.display_unit, sizeof r.display_unit, "%s", r.unit);
  if (!preset && !flow_set) {
    if (strlen(r.unit) + 2 > PG_RESOURCE_UNIT_MAX)
      return pg_config_bad_value(c, section, "flow_unit",
                                 "set (the default '<unit>/h' is longer than 15 bytes)", d);
    size_t u = strlen(r.unit);
    memcpy(r.flow_unit, r.unit, u);
    memcpy(r.flow_unit + u, "/h", 3);
  }
  bool derive_price = !preset || unit_set || disp_set || pg_config_has(c, section, "display_factor");
  if (!price_set && derive_price) {
    if (r.display_factor == PG_RESOURCE_PRICE_BASE)
      snprintf(r.price_unit, sizeof r.price_unit, "%s", r.display_unit);
    else if (strlen(r.unit) + 5 <= PG_RESOURCE_UNIT_MAX)
{
      memcpy(r.price_unit, "1000 ", 5);
      memcpy(r.price_unit + 5, r.unit, strlen(r.unit) + 1);
    }
    else
      return pg_config_bad_value(c, section, "price_unit",
                                 "set (the default '1000 <unit>' is longer than 15 bytes)", d);
  }
  rc = pg_resource_check(&r, d);
  if (rc) return rc;
  *out = r;
  return PG_OK;
}

bool pg_resource_same(const pg_resource *a, const pg_resource *b) {
  a = pg_resource_or_default(a);
  b = pg_resource_or_default(b);
  return strcmp(a->name, b->name) == 0 && strcmp(a->unit, b->unit) == 0;
}

bool pg_resource_is_electricity(const pg_resource *r) {
  r = pg_resource_or_default(r);
  return strcmp(r->name, "electricity") == 0 && strcmp(r->unit, "Wh") == 0;
}

size_t pg_resource_format_scaled(int64_t q, uint64_t factor, const char *label,
                                 bool all_decimals, char *buf, size_t cap) {
  char s[PG_RESOURCE_FMT_MAX + 64];
  size_t n = 0;
  unsigned dec = 0;
  for (uint64_t f = factor; f >= 10 && f % 10 == 0; f /= 10) dec++;
  if (dec > 18 || pg_pow10_u128(dec) != factor) dec = 0; /* not a power of ten: units */
  uint64_t mag = q < 0 ? (uint64_t)0 - (uint64_t)q : (uint64_t)q;
  if (q < 0) s[n++] = '-';
  n = pg_put_grouped(s, n, mag, dec);
  if (dec && !all_decimals) { /* drop trailing fraction zeros, and the point */
    while (s[n - 1] == '0') n--;
    if (s[n - 1] == '.') n--;
  }
  int k = snprintf(s + n, sizeof s - n, " %s", label ? label : "");
  n += (size_t)(k > 0 ? k : 0);
  return pg_put_out(s, n, buf, cap);
}

size_t pg_resource_format(const pg_resource *r, int64_t q, char *buf, size_t cap) {
  r = pg_resource_or_default(r);
  return pg_resource_format_scaled(q, pow10_ok(r->display_factor) ? r->display_factor : 1,
                                   r->display_unit, false, buf, cap);
}

size_t pg_resource_format_base(const pg_resource *r, int64_t q, char *buf, size_t cap) {
  r = pg_resource_or_default(r);
  return pg_resource_format_scaled(q, 1, r->unit, false, buf, cap);
}

json_t *pg_resource_json(const pg_resource *r) {
  r = pg_resource_or_default(r);
  return json_pack("{sssssssIsssIss}", "name", r->name, "unit", r->unit, "displayUnit",
                   r->display_unit, "displayFactor", (json_int_t)r->display_factor, "flowUnit",
                   r->flow_unit, "flowFactor", (json_int_t)r->flow_factor, "priceUnit",
                   r->price_unit);
}

static int json_text(const json_t *j, const char *key, char *dst, size_t cap, pg_diag *d) {
  const json_t *v = json_object_get(j, key);
  if (!json_is_string(v) || json_string_length(v) >= cap)
    return pg_fail(d, PG_ERR_INVALID, "resource: '%s' is not a string of at most %zu bytes", key,
                   cap - 1);
  memcpy(dst, json_string_value(v), json_string_length(v) + 1);
  return PG_OK;
}

static int json_factor(const json_t *j, const char *key, uint64_t *out, pg_diag *d) {
  const json_t *v = json_object_get(j, key);
  if (!json_is_integer(v) || json_integer_value(v) < 1 ||
      (uint64_t)json_integer_value(v) > PG_RESOURCE_FACTOR_MAX)
    return pg_fail(d, PG_ERR_INVALID, "resource: '%s' is not an integer from 1 to 10^9", key);
  *out = (uint64_t)json_integer_value(v);
  return PG_OK;
}

int pg_resource_from_json(const json_t *j, pg_resource *out, pg_diag *d) {
  pg_resource r;
  memset(&r, 0, sizeof r);
  if (!json_is_object(j)) return pg_fail(d, PG_ERR_INVALID, "resource: not an object");
  int rc = json_text(j, "name", r.name, sizeof r.name, d);
  if (!rc) rc = json_text(j, "unit", r.unit, sizeof r.unit, d);
  if (!rc) rc = json_text(j, "displayUnit", r.display_unit, sizeof r.display_unit, d);
  if (!rc) rc = json_factor(j, "displayFactor", &r.display_factor, d);
  if (!rc) rc = json_text(j, "flowUnit", r.flow_unit, sizeof r.flow_unit, d);
  if (!rc) rc = json_factor(j, "flowFactor", &r.flow_factor, d);
  if (!rc) rc = json_text(j, "priceUnit", r.price_unit, sizeof r.price_unit, d);
  if (!rc) rc = pg_resource_check(&r, d);
  if (rc) return rc;
  *out = r;
  return PG_OK;
}

bool pg_resource_name_ok(const char *s) { return s && name_ok(s); }

bool pg_resource_unit_ok(const char *s) { return s && unit_ok(s); }
