/* MAM channel state: create (mam.js createChannel/validateModeKey),
 * validation, wipe, and the JSON save/restore form (CHRYSALIS.md 10.2). */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "mam_internal.h"
#include "p2pgrid/base/json.h"

static const char *const MODE_NAMES[3] = {"public", "private", "restricted"};

const char *pg_mam_mode_name(pg_mam_mode mode) {
  return (unsigned)mode < 3 ? MODE_NAMES[mode] : "?";
}

int pg_mam_mode_parse(const char *s, size_t len, pg_mam_mode *mode) {
  if (!s || !mode) return PG_ERR_INVALID;
  for (int m = 0; m < 3; m++) {
    if (strlen(MODE_NAMES[m]) == len && memcmp(MODE_NAMES[m], s, len) == 0) {
      *mode = (pg_mam_mode)m;
      return PG_OK;
    }
  }
  return PG_ERR_INVALID;
}

static bool is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* validateModeKey plus our storage rule (restricted keys are kept padded). */
int mam_check_mode_key(pg_mam_mode mode, const char *key, size_t len, pg_diag *d) {
  if ((unsigned)mode > PG_MAM_RESTRICTED)
    return pg_fail(d, PG_ERR_INVALID, "the mode must be public, private or restricted");
  if (mode == PG_MAM_RESTRICTED) {
    if (len == 0) return pg_fail(d, PG_ERR_INVALID, "restricted mode needs a side key");
    if (!key || !pg_trytes_valid(key, len))
      return pg_fail(d, PG_ERR_INVALID, "the side key must be trytes");
    if (len > PG_MAM_HASH_TRYTES)
      return pg_fail(d, PG_ERR_INVALID, "the side key must be at most 81 trytes");
  } else if (len != 0) {
    return pg_fail(d, PG_ERR_INVALID, "a side key is only used in restricted mode");
  }
  return PG_OK;
}

int pg_mam_channel_create(pg_mam_channel *ch, const char *seed, pg_mam_mode mode,
                          const char *side_key, size_t side_key_len, int security,
                          pg_diag *d) {
  if (!ch) return pg_fail(d, PG_ERR_INVALID, "no channel");
  if (!seed || strnlen(seed, PG_MAM_HASH_TRYTES + 1) != PG_MAM_HASH_TRYTES ||
      !pg_trytes_valid(seed, PG_MAM_HASH_TRYTES))
    return pg_fail(d, PG_ERR_INVALID, "the seed must be 81 trytes");
  if (security < 1 || security > 3)
    return pg_fail(d, PG_ERR_INVALID, "security must be between 1 and 3, it is %d", security);
  int rc = mam_check_mode_key(mode, side_key, side_key_len, d);
  if (rc) return rc;
  pg_mam_channel c;
  memset(&c, 0, sizeof c);
  memcpy(c.seed, seed, PG_MAM_HASH_TRYTES);
  c.mode = mode;
  if (mode == PG_MAM_RESTRICTED) {
    memset(c.side_key, '9', PG_MAM_HASH_TRYTES);
    memcpy(c.side_key, side_key, side_key_len);
  }
  c.security = security;
  c.start = 0;
  c.count = 1;
  c.next_count = 1;
  c.index = 0;
  *ch = c;
  pg_mam_channel_wipe(&c);
  return PG_OK;
}

static bool trytes81(const char *s) {
  return strnlen(s, PG_MAM_HASH_TRYTES + 1) == PG_MAM_HASH_TRYTES &&
         pg_trytes_valid(s, PG_MAM_HASH_TRYTES);
}

int pg_mam_channel_validate(const pg_mam_channel *ch, pg_diag *d) {
  if (!ch) return pg_fail(d, PG_ERR_INVALID, "no channel");
  if (!trytes81(ch->seed)) return pg_fail(d, PG_ERR_INVALID, "the seed must be 81 trytes");
  if ((unsigned)ch->mode > PG_MAM_RESTRICTED)
    return pg_fail(d, PG_ERR_INVALID, "the mode must be public, private or restricted");
  size_t klen = strnlen(ch->side_key, PG_MAM_HASH_TRYTES + 1);
  if (ch->mode == PG_MAM_RESTRICTED) {
    if (!trytes81(ch->side_key))
      return pg_fail(d, PG_ERR_INVALID, "a restricted channel's side key must be 81 trytes");
  } else if (klen != 0) {
    return pg_fail(d, PG_ERR_INVALID, "a side key is only used in restricted mode");
  }
  if (ch->security < 1 || ch->security > 3)
    return pg_fail(d, PG_ERR_INVALID, "security must be between 1 and 3, it is %d", ch->security);
  if (!is_pow2(ch->count) || ch->count > PG_MAM_MAX_COUNT)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "count must be a power of two up to %d, it is %u",
                   PG_MAM_MAX_COUNT, ch->count);
  if (!is_pow2(ch->next_count) || ch->next_count > PG_MAM_MAX_COUNT)
    return pg_fail(d, PG_ERR_UNSUPPORTED,
                   "nextCount must be a power of two up to %d, it is %u", PG_MAM_MAX_COUNT,
                   ch->next_count);
  if (ch->index >= ch->count)
    return pg_fail(d, PG_ERR_INVALID, "index %u is not below count %u", ch->index, ch->count);
  if (ch->start > PG_MAM_MAX_START)
    return pg_fail(d, PG_ERR_INVALID, "start is beyond 2^53 - 1");
  if (ch->has_next_root && !trytes81(ch->next_root))
    return pg_fail(d, PG_ERR_INVALID, "nextRoot must be 81 trytes");
  return PG_OK;
}

void pg_mam_channel_wipe(pg_mam_channel *ch) {
  if (!ch) return;
  volatile unsigned char *p = (volatile unsigned char *)ch;
  for (size_t i = 0; i < sizeof *ch; i++) p[i] = 0;
}

/* ---- JSON ----------------------------------------------------------------- */

static int set_new(json_t *o, const char *k, json_t *v) {
  return v && json_object_set_new(o, k, v) == 0 ? PG_OK : PG_ERR_NOMEM;
}

int pg_mam_channel_save(const pg_mam_channel *ch, pg_buf *out) {
  if (!out) return PG_ERR_INVALID;
  int rc = pg_mam_channel_validate(ch, NULL);
  if (rc) return rc;
  json_t *o = json_object();
  if (!o) return PG_ERR_NOMEM;
  rc = set_new(o, "seed", json_stringn(ch->seed, PG_MAM_HASH_TRYTES));
  if (!rc) rc = set_new(o, "mode", json_string(pg_mam_mode_name(ch->mode)));
  if (!rc && ch->mode == PG_MAM_RESTRICTED)
    rc = set_new(o, "sideKey", json_stringn(ch->side_key, PG_MAM_HASH_TRYTES));
  if (!rc) rc = set_new(o, "security", json_integer(ch->security));
  if (!rc) rc = set_new(o, "start", json_integer((json_int_t)ch->start));
  if (!rc) rc = set_new(o, "count", json_integer(ch->count));
  if (!rc) rc = set_new(o, "nextCount", json_integer(ch->next_count));
  if (!rc) rc = set_new(o, "index", json_integer(ch->index));
  if (!rc && ch->has_next_root)
    rc = set_new(o, "nextRoot", json_stringn(ch->next_root, PG_MAM_HASH_TRYTES));
  if (!rc) rc = pg_json_dump(o, out);
  /* the dump holds the seed; jansson's copy is freed below (not wiped) */
  json_decref(o);
  return rc;
}

static const char *const KNOWN[] = {"seed",  "mode",      "sideKey", "security", "start",
                                    "count", "nextCount", "index",   "nextRoot"};

int pg_mam_channel_load(pg_mam_channel *ch, const void *json, size_t len, pg_diag *d) {
  if (!ch) return pg_fail(d, PG_ERR_INVALID, "no channel");
  json_t *o = NULL;
  int rc = pg_json_parse(json, len, PG_JSON_OBJECT, &o, d);
  if (rc) return rc;
  pg_mam_channel c;
  memset(&c, 0, sizeof c);
  const char *key;
  json_t *val;
  json_object_foreach(o, key, val) {
    bool known = false;
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) known |= strcmp(key, KNOWN[i]) == 0;
    if (!known) {
      rc = pg_fail(d, PG_ERR_INVALID, "unknown field '%.64s'", key);
      goto out;
    }
  }
  const char *s;
  size_t n;
  uint64_t v;
  if ((rc = pg_json_get_str(o, "seed", &s, &n, d))) goto out;
  if (n != PG_MAM_HASH_TRYTES || !pg_trytes_valid(s, n)) {
    rc = pg_fail(d, PG_ERR_INVALID, "field 'seed': must be 81 trytes");
    goto out;
  }
  memcpy(c.seed, s, n);
  if ((rc = pg_json_get_str(o, "mode", &s, &n, d))) goto out;
  if (pg_mam_mode_parse(s, n, &c.mode)) {
    rc = pg_fail(d, PG_ERR_INVALID, "field 'mode': must be public, private or restricted");
    goto out;
  }
  if ((rc = pg_json_opt_str(o, "sideKey", NULL, &s, &n, d))) goto out;
  if ((rc = mam_check_mode_key(c.mode, s, s ? n : 0, d))) goto out;
  if (c.mode == PG_MAM_RESTRICTED) {
    memset(c.side_key, '9', PG_MAM_HASH_TRYTES);
    memcpy(c.side_key, s, n);
  }
  if ((rc = pg_json_get_u64_range(o, "security", 1, 3, &v, d))) goto out;
  c.security = (int)v;
  if ((rc = pg_json_get_u64_range(o, "start", 0, PG_MAM_MAX_START, &c.start, d))) goto out;
  if ((rc = pg_json_get_u64_range(o, "count", 1, PG_MAM_MAX_COUNT, &v, d))) goto out;
  c.count = (uint32_t)v;
  if ((rc = pg_json_get_u64_range(o, "nextCount", 1, PG_MAM_MAX_COUNT, &v, d))) goto out;
  c.next_count = (uint32_t)v;
  if ((rc = pg_json_get_u64_range(o, "index", 0, PG_MAM_MAX_COUNT - 1, &v, d))) goto out;
  c.index = (uint32_t)v;
  if ((rc = pg_json_opt_str(o, "nextRoot", NULL, &s, &n, d))) goto out;
  if (s) {
    if (n != PG_MAM_HASH_TRYTES || !pg_trytes_valid(s, n)) {
      rc = pg_fail(d, PG_ERR_INVALID, "field 'nextRoot': must be 81 trytes");
      goto out;
    }
    memcpy(c.next_root, s, n);
    c.has_next_root = true;
  }
  if ((rc = pg_mam_channel_validate(&c, d))) goto out;
  *ch = c;
out:
  pg_mam_channel_wipe(&c);
  json_decref(o);
  return rc;
}

int pg_mam_random_trytes(char *out, size_t n) {
  static const char alphabet[] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (sodium_init() < 0) return PG_ERR_CRYPTO;
  /* bytes drawn a buffer at a time (one system call, not one a tryte);
   * those of 243 and above are dropped so that v % 27 stays uniform */
  uint8_t buf[128];
  size_t i = 0;
  while (i < n) {
    randombytes_buf(buf, sizeof buf);
    for (size_t k = 0; k < sizeof buf && i < n; k++)
      if (buf[k] < 243) out[i++] = alphabet[buf[k] % 27];
  }
  sodium_memzero(buf, sizeof buf);
  out[n] = '\0';
  return PG_OK;
}
