/* json.c — jansson glue: parse with diagnostics, typed getters, dump to pg_buf.
 * See p2pgrid/base/json.h for the contract. */
#include "p2pgrid/base/json.h"

#include <string.h>

#include "p2pgrid/base/hex.h"

const char *pg_json_type_name(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a real number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "an unknown value";
}

int pg_json_parse(const void *data, size_t len, int flags, json_t **out, pg_diag *d) {
  json_error_t err;
  if (!out || (!data && len)) return pg_fail(d, PG_ERR_INVALID, "JSON: no input");
  json_t *j = json_loadb(data ? data : "", len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
  if (!j) {
    if (json_error_code(&err) == json_error_out_of_memory)
      return pg_fail(d, PG_ERR_NOMEM, "JSON: out of memory");
    return pg_fail(d, PG_ERR_INVALID, "JSON line %d column %d: %s", err.line, err.column,
                   err.text);
  }
  if ((flags & PG_JSON_OBJECT) && !json_is_object(j)) {
    int rc = pg_fail(d, PG_ERR_INVALID, "JSON: expected an object at the top level, got %s",
                     pg_json_type_name(j));
    json_decref(j);
    return rc;
  }
  *out = j;
  return PG_OK;
}

/* Looks key up. Returns 0 with *v set (NULL when absent or null and
 * allow_missing), or an error naming the field. */
static int lookup(const json_t *obj, const char *key, bool allow_missing, json_t **v,
                  pg_diag *d) {
  if (!json_is_object(obj))
    return pg_fail(d, PG_ERR_INVALID, "field '%s': container is %s, not an object", key,
                   obj ? pg_json_type_name(obj) : "missing");
  json_t *x = json_object_get(obj, key);
  if (x && json_is_null(x) && allow_missing) x = NULL;
  if (!x && !allow_missing) return pg_fail(d, PG_ERR_INVALID, "missing field '%s'", key);
  *v = x;
  return PG_OK;
}

static int wrong_type(pg_diag *d, const char *key, const char *want, const json_t *v) {
  return pg_fail(d, PG_ERR_INVALID, "field '%s': expected %s, got %s", key, want,
                 pg_json_type_name(v));
}

static int get_string(const json_t *obj, const char *key, bool optional, const char **out,
                      size_t *len, pg_diag *d) {
  json_t *v = NULL;
  int rc = lookup(obj, key, optional, &v, d);
  if (rc || !v) return rc;
  if (!json_is_string(v)) return wrong_type(d, key, "a string", v);
  *out = json_string_value(v);
  if (len) *len = json_string_length(v);
  return PG_OK;
}

int pg_json_get_str(const json_t *obj, const char *key, const char **out, size_t *len,
                    pg_diag *d) {
  return get_string(obj, key, false, out, len, d);
}

int pg_json_opt_str(const json_t *obj, const char *key, const char *def, const char **out,
                    size_t *len, pg_diag *d) {
  const char *s = def;
  size_t n = def ? strlen(def) : 0; /* def is the caller's own string */
  int rc = get_string(obj, key, true, &s, &n, d);
  if (rc) return rc;
  *out = s;
  if (len) *len = n;
  return PG_OK;
}

static int get_int(const json_t *obj, const char *key, bool optional, json_int_t *out,
                   bool *found, pg_diag *d) {
  json_t *v = NULL;
  int rc = lookup(obj, key, optional, &v, d);
  if (rc) return rc;
  *found = v != NULL;
  if (!v) return PG_OK;
  if (!json_is_integer(v)) return wrong_type(d, key, "an integer", v);
  *out = json_integer_value(v);
  return PG_OK;
}

int pg_json_get_i64(const json_t *obj, const char *key, int64_t *out, pg_diag *d) {
  json_int_t v = 0;
  bool found = false;
  int rc = get_int(obj, key, false, &v, &found, d);
  if (rc) return rc;
  *out = (int64_t)v;
  return PG_OK;
}

static int u64_in_range(const char *key, json_int_t v, uint64_t min, uint64_t max, uint64_t *out,
                        pg_diag *d) {
  if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
    return pg_fail(d, PG_ERR_INVALID, "field '%s': %lld is not between %llu and %llu", key,
                   (long long)v, (unsigned long long)min, (unsigned long long)max);
  *out = (uint64_t)v;
  return PG_OK;
}

int pg_json_get_u64_range(const json_t *obj, const char *key, uint64_t min, uint64_t max,
                          uint64_t *out, pg_diag *d) {
  json_int_t v = 0;
  bool found = false;
  int rc = get_int(obj, key, false, &v, &found, d);
  if (rc) return rc;
  return u64_in_range(key, v, min, max, out, d);
}

int pg_json_get_u64(const json_t *obj, const char *key, uint64_t *out, pg_diag *d) {
  return pg_json_get_u64_range(obj, key, 0, UINT64_MAX, out, d);
}

int pg_json_get_u32(const json_t *obj, const char *key, uint32_t *out, pg_diag *d) {
  uint64_t v = 0;
  int rc = pg_json_get_u64_range(obj, key, 0, UINT32_MAX, &v, d);
  if (rc) return rc;
  *out = (uint32_t)v;
  return PG_OK;
}

int pg_json_opt_u64(const json_t *obj, const char *key, uint64_t def, uint64_t *out,
                    pg_diag *d) {
  json_int_t v = 0;
  bool found = false;
  int rc = get_int(obj, key, true, &v, &found, d);
  if (rc) return rc;
  if (!found) {
    *out = def;
    return PG_OK;
  }
  return u64_in_range(key, v, 0, UINT64_MAX, out, d);
}

int pg_json_get_u64_str(const json_t *obj, const char *key, uint64_t *out, pg_diag *d) {
  const char *s = NULL;
  size_t n = 0;
  int rc = pg_json_get_str(obj, key, &s, &n, d);
  if (rc) return rc;
  if (n == 0) return pg_fail(d, PG_ERR_INVALID, "field '%s': empty string, expected digits", key);
  if (n > 20)
    return pg_fail(d, PG_ERR_INVALID, "field '%s': %zu characters is too long for a 64-bit number",
                   key, n);
  if (n > 1 && s[0] == '0')
    return pg_fail(d, PG_ERR_INVALID, "field '%s': leading zeros are not allowed", key);
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return pg_fail(d, PG_ERR_INVALID, "field '%s': character %zu is not a decimal digit", key,
                     i);
    unsigned dig = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - dig) / 10)
      return pg_fail(d, PG_ERR_INVALID, "field '%s': number does not fit in 64 bits", key);
    v = v * 10 + dig;
  }
  *out = v;
  return PG_OK;
}

static int get_hex(const json_t *obj, const char *key, uint8_t *out, size_t cap, bool exact,
                   size_t *n, pg_diag *d) {
  const char *s = NULL;
  size_t len = 0, got = 0;
  int rc = pg_json_get_str(obj, key, &s, &len, d);
  if (rc) return rc;
  if (exact && len != 2 * cap)
    return pg_fail(d, PG_ERR_INVALID,
                   "field '%s': expected %zu hex characters (%zu bytes), got %zu characters", key,
                   2 * cap, cap, len);
  if (len % 2)
    return pg_fail(d, PG_ERR_INVALID, "field '%s': odd number of hex characters (%zu)", key, len);
  if (len / 2 > cap)
    return pg_fail(d, PG_ERR_TOO_LARGE, "field '%s': %zu bytes of hex, at most %zu allowed", key,
                   len / 2, cap);
  /* check every char first so *out is untouched on failure */
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return pg_fail(d, PG_ERR_INVALID, "field '%s': character %zu is not a hex digit", key, i);
  }
  rc = pg_hex_decode(s, len, out, cap, &got);
  if (rc) return pg_fail(d, rc, "field '%s': invalid hex", key);
  if (n) *n = got;
  return PG_OK;
}

int pg_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n, pg_diag *d) {
  return get_hex(obj, key, out, n, true, NULL, d);
}

int pg_json_get_hex_var(const json_t *obj, const char *key, uint8_t *out, size_t cap,
                        size_t *n, pg_diag *d) {
  return get_hex(obj, key, out, cap, false, n, d);
}

static int get_bool(const json_t *obj, const char *key, bool optional, bool def, bool *out,
                    pg_diag *d) {
  json_t *v = NULL;
  int rc = lookup(obj, key, optional, &v, d);
  if (rc) return rc;
  if (!v) {
    *out = def;
    return PG_OK;
  }
  if (!json_is_boolean(v)) return wrong_type(d, key, "a boolean", v);
  *out = json_is_true(v);
  return PG_OK;
}

int pg_json_get_bool(const json_t *obj, const char *key, bool *out, pg_diag *d) {
  return get_bool(obj, key, false, false, out, d);
}

int pg_json_opt_bool(const json_t *obj, const char *key, bool def, bool *out, pg_diag *d) {
  return get_bool(obj, key, true, def, out, d);
}

int pg_json_get_object(const json_t *obj, const char *key, json_t **out, pg_diag *d) {
  json_t *v = NULL;
  int rc = lookup(obj, key, false, &v, d);
  if (rc) return rc;
  if (!json_is_object(v)) return wrong_type(d, key, "an object", v);
  *out = v;
  return PG_OK;
}

int pg_json_get_array(const json_t *obj, const char *key, json_t **out, pg_diag *d) {
  json_t *v = NULL;
  int rc = lookup(obj, key, false, &v, d);
  if (rc) return rc;
  if (!json_is_array(v)) return wrong_type(d, key, "an array", v);
  *out = v;
  return PG_OK;
}

static int dump_cb(const char *buffer, size_t size, void *data) {
  pg_buf *b = data;
  pg_buf_put(b, buffer, size);
  return pg_buf_status(b) ? -1 : 0;
}

int pg_json_dump(const json_t *j, pg_buf *out) {
  if (!j || !out) return PG_ERR_INVALID;
  int st = pg_buf_status(out);
  if (st) return st;
  size_t start = out->len;
  if (json_dump_callback(j, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
    out->len = start; /* drop the partial text */
    st = pg_buf_status(out);
    return st ? st : PG_ERR_INVALID;
  }
  return PG_OK;
}
