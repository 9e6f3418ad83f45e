/* p2pgrid/meter/sunspec.h — a pure decoder of SunSpec register images (Modbus
 * holding registers), and the SunSpec meter that polls a device over Modbus
 * TCP (src/meter/sunspec.c, src/meter/meter_sunspec.c).
 * The authority is /work/shared/specs/DEVICES.md Part A (§ numbers below).
 *
 * Contract of the decoder (no I/O, no allocation, any thread):
 * - Registers are host-order uint16_t words as libmodbus returns them;
 *   32/64-bit values take the high word at the lower address (§A1).
 * - pg_sunspec_walk: regs[i] is register base + i. regs[0..1] must be the
 *   marker "SunS" (0x5375 0x6E53, §A2); the chain of (id, L) headers starts
 *   at base + 2 and ends at id 0xFFFF (its L is never read, §A3). An error
 *   names the problem: no marker, the image ends inside the chain
 *   (PG_ERR_TRUNCATED), L = 0, a model past register 65535, more than
 *   PG_SUNSPEC_MAX_MODELS models (PG_ERR_INVALID).
 * - pg_sunspec_decode: block[0] is a model's ID register (offset 0), block[1]
 *   its L; n >= 2 + L registers. Known ids: 1 (common), 101-103 (integer
 *   inverters), 111-113 (float inverters), 201-204 (meters), 124 and 802
 *   (storage); anything else is PG_ERR_UNSUPPORTED. An L too short for the
 *   mandatory points of the model is PG_ERR_INVALID.
 * - A point that is "not implemented" (§A4 sentinels: int16 0x8000, uint16
 *   0xFFFF, acc32 0, float NaN) is absent (has_* false, counter.present
 *   false). A point whose scale factor is not implemented (0x8000) or outside
 *   -10..10, or whose value does not fit an int64 after scaling, is absent
 *   too and its bit is set in `dropped` (a device error, §A4 advice).
 * - Units: power W (int64, rounded half away from zero), energy counters Wh
 *   as int64 = floor(raw x 10^SF), exact (integer arithmetic only). The raw
 *   counter and its SF are kept so a reader can difference counters exactly
 *   across a scale factor and count a wrap (§A5). A float32 counter (models
 *   111-113) is floored to the Wh (exact for the float it is; a float32 only
 *   resolves 2 Wh from 16.8 MWh on, §A5); negative, NaN or >= 2^63 is
 *   refused (absent, dropped bit set).
 * - State of charge (802 SoC, else 124 ChaState) in hundredths of a per cent,
 *   rounded half up: 9537 = 95.37 %.
 * - Several blocks of one kind in a chain: pg_sunspec_decode_image takes the
 *   first inverter (an integer model before a float model), the first meter,
 *   the first storage model (802 before 124) and the first common block.
 *
 * Ownership: the decoder allocates nothing (results go to caller structs); the
 * SunSpec meter copies its options and is freed with pg_meter_free.
 * Errors: the decoder returns PG_ERR_INVALID, PG_ERR_TRUNCATED or
 * PG_ERR_UNSUPPORTED with one sentence in the optional pg_diag (see below); the
 * meter's errors are listed at pg_meter_sunspec_new.
 * Threads: the decoder is pure (any thread); the meter's poller is its own
 * thread, and pg_meter_energy and stats may be called from any one other thread
 * (both take the meter's mutex). */
#ifndef P2PGRID_METER_SUNSPEC_H
#define P2PGRID_METER_SUNSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/meter/meter.h"

#define PG_SUNSPEC_MARKER_HI 0x5375u /* "Su" */
#define PG_SUNSPEC_MARKER_LO 0x6E53u /* "nS" */
#define PG_SUNSPEC_END_ID 0xFFFFu
#define PG_SUNSPEC_MAX_MODELS 64
#define PG_SUNSPEC_NBASES 3
/* Where a map may start, in the order a reader tries them (§A2). */
extern const uint16_t pg_sunspec_bases[PG_SUNSPEC_NBASES]; /* 40000, 0, 50000 */

typedef struct pg_sunspec_model {
  uint16_t id, len; /* len = L, body registers */
  uint32_t addr;    /* register of the ID */
} pg_sunspec_model;

typedef struct pg_sunspec_chain {
  uint32_t base; /* register of the marker */
  size_t n;
  pg_sunspec_model models[PG_SUNSPEC_MAX_MODELS];
} pg_sunspec_chain;

/* True when r[0..1] is the "SunS" marker. */
bool pg_sunspec_is_marker(const uint16_t r[2]);
PG_NODISCARD int pg_sunspec_walk(const uint16_t *regs, size_t n, uint32_t base,
                                 pg_sunspec_chain *out, pg_diag *d);
/* The first model of the chain with an id in [lo, hi], or NULL. */
const pg_sunspec_model *pg_sunspec_find(const pg_sunspec_chain *c, uint16_t lo, uint16_t hi);

typedef enum pg_sunspec_class {
  PG_SUNSPEC_COMMON = 1,
  PG_SUNSPEC_INVERTER = 2,
  PG_SUNSPEC_METER = 3,
  PG_SUNSPEC_STORAGE = 4,
} pg_sunspec_class;

/* Bits of pg_sunspec_values.dropped. */
enum {
  PG_SUNSPEC_DROP_W = 1u << 0,
  PG_SUNSPEC_DROP_WH = 1u << 1,
  PG_SUNSPEC_DROP_WH_EXP = 1u << 2,
  PG_SUNSPEC_DROP_WH_IMP = 1u << 3,
  PG_SUNSPEC_DROP_SOC = 1u << 4,
};

/* An accumulator: raw (acc32, or 0 for a float), 10^sf Wh per raw unit,
 * bits = 32 for acc32 (it wraps at 2^32), 0 for a float32 counter; wh =
 * floor(raw x 10^sf) (a float: floor of its value). */
typedef struct pg_sunspec_counter {
  bool present;
  uint8_t bits;
  int8_t sf;
  uint64_t raw;
  int64_t wh;
} pg_sunspec_counter;

typedef struct pg_sunspec_values {
  uint16_t model;
  pg_sunspec_class cls;
  bool has_w;
  int64_t w;                  /* inverter/meter AC power; 802: DC battery power (sign: §A7) */
  pg_sunspec_counter wh;      /* inverters: lifetime AC energy WH */
  pg_sunspec_counter wh_exp;  /* meters: TotWhExp */
  pg_sunspec_counter wh_imp;  /* meters: TotWhImp */
  bool has_soc;
  int64_t soc_cpct;           /* storage: hundredths of a per cent */
  char mn[33], md[33], sn[33]; /* common: manufacturer, model, serial ('?' for bytes outside ASCII 0x20-0x7E) */
  unsigned dropped;           /* PG_SUNSPEC_DROP_* */
} pg_sunspec_values;

PG_NODISCARD int pg_sunspec_decode(const uint16_t *block, size_t n, pg_sunspec_values *out,
                                   pg_diag *d);

/* A whole image: walk + decode of the first block of each class. has_*
 * false when the chain has no block of that class; a known block that fails
 * to decode fails the image. */
typedef struct pg_sunspec_device {
  pg_sunspec_chain chain;
  bool has_common, has_inverter, has_meter, has_storage;
  pg_sunspec_values common, inverter, meter, storage;
} pg_sunspec_device;

PG_NODISCARD int pg_sunspec_decode_image(const uint16_t *regs, size_t n, uint32_t base,
                                         pg_sunspec_device *out, pg_diag *d);

/* Scales raw by 10^sf (-10..10) into floor(raw x 10^sf); PG_ERR_INVALID for
 * an sf out of range, PG_ERR_TOO_LARGE when it exceeds INT64_MAX. */
PG_NODISCARD int pg_sunspec_scale_floor(uint64_t raw, int sf, int64_t *out);

/* ---- The meter (kind = sunspec) --------------------------------------------
 * A background thread polls the device over Modbus TCP (libmodbus) every
 * poll_ms: it finds the map (§A2: 40000, 0, 50000), walks the chain and
 * picks the model of `quantity`, then reads that whole block in one request
 * each poll (value and SF together, §A4). A block whose id changed, or a
 * read error, drops the connection; it reconnects and discovers again with a
 * backoff of 1 s doubling to 16 s.
 * The counter becomes a cumulative energy: a step under the same SF adds
 * cur - prev; a decrease is a wrap only for an acc32 whose previous value was
 * in the top 1/16 of its range and whose wrapped step is at most max_w x the
 * time since the previous poll (then it adds (cur - prev) mod 2^32); any other
 * decrease is a reset or a swapped meter: it adds 0 and counts on from the
 * new value (logged, counted in stats.resets). A step across a changed SF is
 * the difference of the two readings (a decrease is a reset). A counter that
 * is not implemented (acc32 0, §A5) is no reading. A step that would take
 * the energy counted since the meter started past 1e12 Wh (a lying device;
 * what the sample series holds) is refused like a reset.
 * Energy over a window, finality and staleness are exactly the MQTT counter
 * meter's (meter.h): the cumulative counter is linearly interpolated between
 * polls at the window's edges, each edge rounded to the Wh; a window is final
 * once a poll at or after its end succeeded or stale_ms after its end (then
 * the last value holds); no successful poll ever: PG_ERR_UNAVAILABLE; the
 * ring's memory limit and PG_ERR_NOT_FOUND are the MQTT meter's too.
 * The device is not trusted: every answer goes through the decoder above;
 * a block longer than one request (125 registers) is refused.
 * pg_meter_sunspec_new: PG_ERR_INVALID for bad options (no host, unit_id
 * not 1-247 or 255, max_w not 1..1e12, timeout over 60 s, poll over 1 h),
 * PG_ERR_NOMEM, PG_ERR_IO (no thread). It returns at once; the device may be
 * away (it is retried). pg_meter_free stops the poller within one response
 * timeout.
 * Thread-safety: pg_meter_energy and stats may be called from any one thread
 * while the poller runs; both take the meter's mutex. */
typedef enum pg_sunspec_quantity {
  PG_SUNSPEC_Q_INVERTER = 0, /* 101-103 WH, else 111-113 WH */
  PG_SUNSPEC_Q_EXPORT = 1,   /* 201-204 TotWhExp */
  PG_SUNSPEC_Q_IMPORT = 2,   /* 201-204 TotWhImp */
} pg_sunspec_quantity;

typedef struct pg_meter_sunspec_opts {
  const char *host;       /* required */
  uint16_t port;          /* 0 = 502 */
  int unit_id;            /* 0 = 1; 1..247 (255 for TCP gateways) */
  pg_sunspec_quantity quantity;
  uint64_t poll_ms;       /* 0 = 1000 */
  uint64_t timeout_ms;    /* response (and connect) timeout; 0 = 2000 */
  uint64_t stale_ms;      /* 0 = 60000 */
  int64_t max_w;          /* wrap plausibility; 0 = 10 MW */
  const struct pg_clock *clock; /* NULL = real clock */
} pg_meter_sunspec_opts;

PG_NODISCARD int pg_meter_sunspec_new(const pg_meter_sunspec_opts *o, pg_meter **out,
                                      pg_diag *d);

/* Counters of a SunSpec meter: successful polls, failed polls (read or
 * decode), connects after the first one, counter resets seen, wraps
 * counted, connected = a model is found and being polled; model = its id.
 * PG_ERR_INVALID when m is not a SunSpec meter. Thread-safe. */
typedef struct pg_meter_sunspec_stats {
  uint64_t polls, failed, reconnects, resets, wraps;
  bool connected;
  uint16_t model;
} pg_meter_sunspec_stats;
PG_NODISCARD int pg_meter_sunspec_stats_get(pg_meter *m, pg_meter_sunspec_stats *out);

#endif
