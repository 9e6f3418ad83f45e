/* sunspec.c — the pure SunSpec decoder (sunspec.h; DEVICES.md Part A). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "p2pgrid/meter/sunspec.h"

const uint16_t pg_sunspec_bases[PG_SUNSPEC_NBASES] = {40000, 0, 50000};

bool pg_sunspec_is_marker(const uint16_t r[2]) {
  return r && r[0] == PG_SUNSPEC_MARKER_HI && r[1] == PG_SUNSPEC_MARKER_LO;
}

int pg_sunspec_walk(const uint16_t *regs, size_t n, uint32_t base, pg_sunspec_chain *out,
                    pg_diag *d) {
  if (!out || (!regs && n)) return pg_fail(d, PG_ERR_INVALID, "sunspec: no image");
  memset(out, 0, sizeof *out);
  out->base = base;
  if (n < 2)
    return pg_fail(d, PG_ERR_TRUNCATED, "sunspec: image of %zu registers has no room for the marker", n);
  if (!pg_sunspec_is_marker(regs))
    return pg_fail(d, PG_ERR_INVALID, "sunspec: no 'SunS' marker at %u (found %04X %04X)",
                   (unsigned)base, regs[0], regs[1]);
  size_t off = 2; /* index into regs */
  for (;;) {
    uint32_t addr = base + (uint32_t)off;
    if (off >= n)
      return pg_fail(d, PG_ERR_TRUNCATED, "sunspec: the chain runs past the image at %u (no end marker)",
                     (unsigned)addr);
    uint16_t id = regs[off];
    if (id == PG_SUNSPEC_END_ID) return PG_OK;
    if (out->n >= PG_SUNSPEC_MAX_MODELS)
      return pg_fail(d, PG_ERR_INVALID, "sunspec: more than %d models in the chain",
                     PG_SUNSPEC_MAX_MODELS);
    if (off + 1 >= n)
      return pg_fail(d, PG_ERR_TRUNCATED, "sunspec: model %u at %u has no length in the image",
                     id, (unsigned)addr);
    uint16_t len = regs[off + 1];
    if (len == 0)
      return pg_fail(d, PG_ERR_INVALID, "sunspec: model %u at %u has length 0", id,
                     (unsigned)addr);
    if (addr + 2u + len > 65536u)
      return pg_fail(d, PG_ERR_INVALID, "sunspec: model %u at %u (L %u) runs past register 65535",
                     id, (unsigned)addr, len);
    out->models[out->n++] = (pg_sunspec_model){id, len, addr};
    off += 2u + len;
  }
}

const pg_sunspec_model *pg_sunspec_find(const pg_sunspec_chain *c, uint16_t lo, uint16_t hi) {
  if (!c) return NULL;
  for (size_t i = 0; i < c->n; i++)
    if (c->models[i].id >= lo && c->models[i].id <= hi) return &c->models[i];
  return NULL;
}

/* ---- scaling ------------------------------------------------------------- */

static const uint64_t k_pow10[11] = {1ull,         10ull,         100ull,        1000ull,
                                     10000ull,     100000ull,     1000000ull,    10000000ull,
                                     100000000ull, 1000000000ull, 10000000000ull};

int pg_sunspec_scale_floor(uint64_t raw, int sf, int64_t *out) {
  if (sf < -10 || sf > 10) return PG_ERR_INVALID;
  uint64_t v;
  if (sf >= 0) {
    if (raw > (uint64_t)INT64_MAX / k_pow10[sf]) return PG_ERR_TOO_LARGE;
    v = raw * k_pow10[sf];
  } else {
    v = raw / k_pow10[-sf];
  }
  if (v > (uint64_t)INT64_MAX) return PG_ERR_TOO_LARGE;
  *out = (int64_t)v;
  return PG_OK;
}

/* raw x 10^sf rounded half away from zero (|raw| < 2^31, so no overflow). */
static int64_t scale_round(int64_t raw, int sf) {
  if (sf >= 0) return raw * (int64_t)k_pow10[sf];
  int64_t p = (int64_t)k_pow10[-sf];
  int64_t q = (raw < 0 ? -raw : raw);
  q = (q + p / 2) / p;
  return raw < 0 ? -q : q;
}

static bool sf_ok(uint16_t w) {
  int16_t s = (int16_t)w;
  return w != 0x8000u && s >= -10 && s <= 10;
}

static uint32_t u32_at(const uint16_t *b, size_t off) {
  return ((uint32_t)b[off] << 16) | b[off + 1];
}

static float f32_at(const uint16_t *b, size_t off) {
  uint32_t u = u32_at(b, off);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* int16 power with its SF. */
static void power_i16(const uint16_t *b, size_t off, size_t sf_off, pg_sunspec_values *v) {
  if (b[off] == 0x8000u) return;
  if (!sf_ok(b[sf_off])) {
    v->dropped |= PG_SUNSPEC_DROP_W;
    return;
  }
  v->w = scale_round((int16_t)b[off], (int16_t)b[sf_off]);
  v->has_w = true;
}

/* acc32 with its SF. */
static void counter_acc32(const uint16_t *b, size_t off, size_t sf_off, pg_sunspec_counter *c,
                          unsigned *dropped, unsigned bit) {
  uint32_t raw = u32_at(b, off);
  if (raw == 0) return; /* not implemented (§A5: a real 0 cannot be told apart) */
  int64_t wh;
  if (!sf_ok(b[sf_off]) || pg_sunspec_scale_floor(raw, (int16_t)b[sf_off], &wh) != PG_OK) {
    *dropped |= bit;
    return;
  }
  *c = (pg_sunspec_counter){true, 32, (int8_t)(int16_t)b[sf_off], raw, wh};
}

static void power_f32(const uint16_t *b, size_t off, pg_sunspec_values *v) {
  float f = f32_at(b, off);
  if (isnan(f)) return;
  if (!isfinite(f) || fabsf(f) >= 9.0e18f) {
    v->dropped |= PG_SUNSPEC_DROP_W;
    return;
  }
  v->w = (int64_t)llroundf(f); /* half away from zero */
  v->has_w = true;
}

static void counter_f32(const uint16_t *b, size_t off, pg_sunspec_counter *c, unsigned *dropped,
                        unsigned bit) {
  float f = f32_at(b, off);
  if (isnan(f)) return;
  /* 9223372036854775808 = 2^63 is exact in float */
  if (!isfinite(f) || f < 0.0f || f >= 9223372036854775808.0f) {
    *dropped |= bit;
    return;
  }
  int64_t wh = (int64_t)floorf(f);
  *c = (pg_sunspec_counter){true, 0, 0, 0, wh};
}

static void soc_u16(const uint16_t *b, size_t off, size_t sf_off, pg_sunspec_values *v) {
  if (b[off] == 0xFFFFu) return;
  if (!sf_ok(b[sf_off])) {
    v->dropped |= PG_SUNSPEC_DROP_SOC;
    return;
  }
  int e = (int16_t)b[sf_off] + 2; /* per cent -> hundredths: -8..12 */
  if (e > 10)
    v->soc_cpct = (int64_t)b[off] * (int64_t)k_pow10[10] * (int64_t)k_pow10[e - 10];
  else
    v->soc_cpct = scale_round(b[off], e);
  v->has_soc = true;
}

static void string_at(const uint16_t *b, size_t off, size_t regs, char *out) {
  size_t k = 0;
  for (size_t i = 0; i < regs; i++) {
    uint8_t c[2] = {(uint8_t)(b[off + i] >> 8), (uint8_t)(b[off + i] & 0xFF)};
    for (int j = 0; j < 2; j++) {
      if (c[j] == 0) goto end;
      out[k++] = c[j] >= 0x20 && c[j] < 0x7F ? (char)c[j] : '?';
    }
  }
end:
  while (k > 0 && out[k - 1] == ' ') k--;
  out[k] = '\0';
}

/* ---- models ----------------------------------------------------------------- */

/* Minimum L (mandatory points present) and class of a known model; 0 = unknown. */
static uint16_t min_len(uint16_t id, pg_sunspec_class *cls) {
  if (id == 1) return *cls = PG_SUNSPEC_COMMON, 65;
  if (id >= 101 && id <= 103) return *cls = PG_SUNSPEC_INVERTER, 50;
  if (id >= 111 && id <= 113) return *cls = PG_SUNSPEC_INVERTER, 60;
  if (id >= 201 && id <= 204) return *cls = PG_SUNSPEC_METER, 105;
  if (id == 124) return *cls = PG_SUNSPEC_STORAGE, 24;
  if (id == 802) return *cls = PG_SUNSPEC_STORAGE, 55; /* up to SoC_SF at off 56 */
  return 0;
}

int pg_sunspec_decode(const uint16_t *b, size_t n, pg_sunspec_values *v, pg_diag *d) {
  if (!v || (!b && n)) return pg_fail(d, PG_ERR_INVALID, "sunspec: no block");
  memset(v, 0, sizeof *v);
  if (n < 2) return pg_fail(d, PG_ERR_TRUNCATED, "sunspec: a block needs its ID and L");
  uint16_t id = b[0], len = b[1];
  pg_sunspec_class cls = 0;
  uint16_t need = min_len(id, &cls);
  if (!need) return pg_fail(d, PG_ERR_UNSUPPORTED, "sunspec: model %u is not one we decode", id);
  if (n < 2u + (size_t)len)
    return pg_fail(d, PG_ERR_TRUNCATED, "sunspec: model %u has L %u but only %zu registers given",
                   id, len, n - 2);
  if (len < need)
    return pg_fail(d, PG_ERR_INVALID, "sunspec: model %u has L %u, shorter than its %u mandatory registers",
                   id, len, need);
  v->model = id;
  v->cls = cls;
  size_t end = 2u + len; /* registers of the block */
  if (id == 1) {
    string_at(b, 2, 16, v->mn);
    string_at(b, 18, 16, v->md);
    string_at(b, 50, 16, v->sn);
  } else if (id <= 103) {
    power_i16(b, 14, 15, v);
    counter_acc32(b, 24, 26, &v->wh, &v->dropped, PG_SUNSPEC_DROP_WH);
  } else if (id <= 113) {
    power_f32(b, 22, v);
    counter_f32(b, 32, &v->wh, &v->dropped, PG_SUNSPEC_DROP_WH);
  } else if (id == 124) {
    soc_u16(b, 8, 22, v);
  } else if (id <= 204) {
    power_i16(b, 18, 22, v);
    counter_acc32(b, 38, 54, &v->wh_exp, &v->dropped, PG_SUNSPEC_DROP_WH_EXP);
    counter_acc32(b, 46, 54, &v->wh_imp, &v->dropped, PG_SUNSPEC_DROP_WH_IMP);
  } else { /* 802: SoC_SF at 56 is mandatory, W_SF at 63 optional */
    soc_u16(b, 11, 56, v);
    if (end > 63) power_i16(b, 47, 63, v);
  }
  return PG_OK;
}

/* ---- a whole image ------------------------------------------------------- */

static int decode_into(const uint16_t *regs, const pg_sunspec_chain *c, const pg_sunspec_model *m,
                       bool *has, pg_sunspec_values *v, pg_diag *d) {
  if (!m) return PG_OK;
  size_t off = m->addr - c->base;
  int rc = pg_sunspec_decode(regs + off, 2u + m->len, v, d);
  if (rc) return rc;
  *has = true;
  return PG_OK;
}

int pg_sunspec_decode_image(const uint16_t *regs, size_t n, uint32_t base, pg_sunspec_device *out,
                            pg_diag *d) {
  if (!out) return pg_fail(d, PG_ERR_INVALID, "sunspec: no output");
  memset(out, 0, sizeof *out);
  int rc = pg_sunspec_walk(regs, n, base, &out->chain, d);
  if (rc) return rc;
  const pg_sunspec_chain *c = &out->chain;
  const pg_sunspec_model *inv = pg_sunspec_find(c, 101, 103);
  if (!inv) inv = pg_sunspec_find(c, 111, 113);
  const pg_sunspec_model *sto = pg_sunspec_find(c, 802, 802);
  if (!sto) sto = pg_sunspec_find(c, 124, 124);
  if ((rc = decode_into(regs, c, pg_sunspec_find(c, 1, 1), &out->has_common, &out->common, d)) ||
      (rc = decode_into(regs, c, inv, &out->has_inverter, &out->inverter, d)) ||
      (rc = decode_into(regs, c, pg_sunspec_find(c, 201, 204), &out->has_meter, &out->meter, d)) ||
      (rc = decode_into(regs, c, sto, &out->has_storage, &out->storage, d)))
    return rc;
  return PG_OK;
}

/* ---- the meter's cumulative counter (sunspec_internal.h) ----------------- */

#include "sunspec_internal.h"

/* A counter's value in 1e-10 Wh. */
static __int128 counter_e10(const pg_sunspec_counter *c) {
  if (c->bits == 0) return (__int128)c->wh * PG_SUNSPEC_E10;
  __int128 v = c->raw;
  int e = c->sf + 10; /* 0..20 */
  for (int i = 0; i < e; i++) v *= 10;
  return v;
}

/* The step from the previous reading to c in 1e-10 Wh (>= 0) and its kind. */
static pg_sunspec_step acc_step(const pg_sunspec_acc *a, const pg_sunspec_counter *c,
                                uint64_t t_ms, int64_t max_w, __int128 *add) {
  pg_sunspec_step st = PG_SUNSPEC_STEP_COUNT;
  *add = 0;
  if (!a->has_prev) {
    st = PG_SUNSPEC_STEP_FIRST;
  } else if (c->bits == 32 && a->prev.bits == 32 && c->sf == a->prev.sf) {
    uint64_t cur = c->raw, prev = a->prev.raw, step;
    if (cur >= prev) {
      step = cur - prev;
    } else {
      step = cur + (1ull << 32) - prev;
      uint64_t dt = t_ms > a->prev_ms ? t_ms - a->prev_ms : 0;
      if (dt > 10000000000000ull) dt = 10000000000000ull;
      if (max_w < 1) max_w = 1;
      if (max_w > 1000000000000LL) max_w = 1000000000000LL;
      pg_sunspec_counter one = *c;
      one.raw = step;
      /* step Wh <= max_w x dt / 3.6e6, in 1e-10 Wh units times 3.6e6 */
      bool top = prev >= (1ull << 32) - (1ull << 28);
      bool plausible = counter_e10(&one) * 3600000 <= (__int128)max_w * dt * PG_SUNSPEC_E10;
      st = top && plausible ? PG_SUNSPEC_STEP_WRAP : PG_SUNSPEC_STEP_RESET;
      if (st == PG_SUNSPEC_STEP_RESET) step = 0;
    }
    pg_sunspec_counter one = *c;
    one.raw = step;
    *add = counter_e10(&one);
  } else {
    __int128 diff = counter_e10(c) - counter_e10(&a->prev);
    if (diff >= 0)
      *add = diff;
    else
      st = PG_SUNSPEC_STEP_RESET;
  }
  return st;
}

pg_sunspec_step pg_sunspec_acc_add(pg_sunspec_acc *a, const pg_sunspec_counter *c, uint64_t t_ms,
                                   int64_t max_w) {
  __int128 add;
  pg_sunspec_step st = acc_step(a, c, t_ms, max_w, &add);
  if (a->cum + add > (__int128)PG_SUNSPEC_CUM_MAX_WH * PG_SUNSPEC_E10) {
    st = PG_SUNSPEC_STEP_RESET; /* a lying device: never past what the series holds */
    add = 0;
  }
  a->cum += add;
  a->has_prev = true;
  a->prev = *c;
  if (t_ms > a->prev_ms) a->prev_ms = t_ms;
  return st;
}

int64_t pg_sunspec_acc_uwh(const pg_sunspec_acc *a) { return (int64_t)(a->cum / 10000); }
