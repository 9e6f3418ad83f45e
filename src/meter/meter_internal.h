/* meter_internal.h — the pure parts of the MQTT meter, exposed for unit
 * tests and the fuzz target (not a public contract).
 *
 * Values are integers in micro units: power in uW, energy counters in uWh
 * (a kWh payload is converted: 1 kWh = 1e9 uWh). No floating point touches a
 * reading after the payload text is parsed. */
#ifndef P2PGRID_METER_INTERNAL_H
#define P2PGRID_METER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/meter/meter.h"

#define PG_METER_BARE_MAX 64      /* bytes of a bare-number payload */
#define PG_METER_JSON_MAX 4096    /* bytes of a JSON object payload */
#define PG_METER_MICRO_MAX 1000000000000000000LL /* 1e12 W or Wh (1e9 kWh) */
#define PG_METER_RING_CAP 100000  /* samples an MQTT meter keeps (oldest dropped) */

/* Parses one MQTT payload (len bytes, need not be NUL-terminated):
 *   json_key == NULL: a bare number in JSON number syntax
 *     (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), optionally surrounded
 *     by ASCII whitespace, at most PG_METER_BARE_MAX bytes;
 *   json_key != NULL: a JSON object (at most PG_METER_JSON_MAX bytes, no
 *     duplicate keys) whose member json_key is a JSON number.
 * The value is rounded to 1e-6 of the payload unit (half up), converted to
 * micro units (kWh x 1000), and must lie in [0, PG_METER_MICRO_MAX]; "-0" is
 * 0. NaN, infinities, strings, negatives and anything else are refused with
 * PG_ERR_INVALID (PG_ERR_TOO_LARGE for oversize payloads) and a diag. */
PG_NODISCARD int pg_meter_parse_payload(const void *data, size_t len, pg_meter_mqtt_kind kind,
                                        const char *json_key, int64_t *micro, pg_diag *d);

/* One stored sample: arrival time, value (uW or uWh), and the cumulative
 * energy at t_ms since the series began (power: uW*ms; counters: uWh, with
 * counter drops contributing 0). */
typedef struct pg_meter_sample {
  uint64_t t_ms;
  int64_t v;
  __int128 cum;
} pg_meter_sample;

/* A time series of samples in a bounded ring. Times are non-decreasing (a
 * sample older than the newest is stamped with the newest's time). When the
 * ring is full the oldest sample is dropped and remembered as `base`, so the
 * cumulative energy stays known for every t > base.t_ms. */
typedef struct pg_meter_series {
  pg_meter_mqtt_kind kind;
  pg_meter_sample *ring; /* owned */
  size_t cap, head, n;
  bool has_base;
  pg_meter_sample base;
  uint64_t dropped; /* samples dropped because the ring was full */
} pg_meter_series;

PG_NODISCARD int pg_meter_series_init(pg_meter_series *s, pg_meter_mqtt_kind kind, size_t cap);
void pg_meter_series_free(pg_meter_series *s);
/* Appends a sample (v in micro units, 0..PG_METER_MICRO_MAX). */
void pg_meter_series_add(pg_meter_series *s, uint64_t t_ms, int64_t v);
/* Energy over [from_ms, to_ms) in Wh, as meter.h defines it, given the time
 * now. A window with no sample at or after to_ms becomes final at
 * to_ms + stale_ms: the newest value is then written down as a sample at
 * to_ms (so later samples cannot change the answer). Wh are computed as
 * round(cum(to)) - round(cum(from)) where cum(t) is the exact cumulative energy
 * (uW*ms or uWh, integer; interpolation between counter samples floors to a
 * uWh) and round is to the nearest Wh, half up: consecutive windows thus sum
 * exactly to their union. Returns PG_ERR_UNAVAILABLE (not final, or no sample
 * at all yet), PG_ERR_NOT_FOUND when from_ms lies at or before data already
 * dropped. On PG_OK, samples no longer needed for windows starting at or after
 * from_ms are forgotten. */
PG_NODISCARD int pg_meter_series_energy(pg_meter_series *s, uint64_t from_ms, uint64_t to_ms,
                                        uint64_t now_ms, uint64_t stale_ms, int64_t *wh,
                                        pg_diag *d);
/* Samples currently held in the ring. */
size_t pg_meter_series_len(const pg_meter_series *s);

/* A required file path of a meter section ("path", "file"): relative to the
 * config file that sets it (pg_config_path_from_file). */
PG_NODISCARD int pg_meter_config_path(pg_config *c, const char *sec, const char *key,
                                      const char **out, pg_diag *d);

#endif
