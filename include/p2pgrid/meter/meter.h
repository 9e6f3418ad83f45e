/* p2pgrid/meter/meter.h — where an entity's energy readings come from: one
 * interface, several implementations (a built-in profile, a CSV file, an
 * MQTT topic on a real broker). A source asks its meter for the energy of
 * each finished slot; a consumer does the same for its usage.
 *
 * Contract:
 * - pg_meter_energy(m, from_ms, to_ms, &wh, d) gives the energy in Wh
 *   (int64, >= 0) over [from_ms, to_ms). It returns:
 *     PG_OK            *wh is the reading for the window (final);
 *     PG_ERR_UNAVAILABLE not known yet (e.g. an MQTT meter has no sample at or
 *                      after to_ms yet); ask again later;
 *     other errors     with a diag naming the problem.
 *   Asking for the same window twice gives the same answer once it is final
 *   (windows are asked in increasing order; a meter may forget data older
 *   than the last window it answered).
 * - Profile and CSV meters are pure functions of time (and their seed/file):
 *   any window, any order, no I/O after creation.
 * - Time is Unix ms.
 *
 * Ownership: a meter from any *_new is the caller's; pg_meter_free releases
 * any implementation (NULL is fine). Constructors copy what they keep of
 * their options.
 * Errors: 0, PG_ERR_UNAVAILABLE (not known yet, see above) or another
 * negative pg_err with one sentence naming the problem in the optional
 * pg_diag; constructors fail with PG_ERR_INVALID, PG_ERR_CONFIG,
 * PG_ERR_UNSUPPORTED (library missing), PG_ERR_IO or PG_ERR_NOMEM.
 * Threads: a meter is used from one thread at a time; the MQTT and P1
 * meters run their own reading thread internally and lock their samples, so
 * their stats may be read meanwhile. */
#ifndef P2PGRID_METER_METER_H
#define P2PGRID_METER_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"

typedef struct pg_meter pg_meter;

typedef struct pg_meter_ops {
  const char *kind; /* "solar", "wind", "household", "csv", "mqtt", ... */
  int (*energy)(pg_meter *m, uint64_t from_ms, uint64_t to_ms, int64_t *wh, pg_diag *d);
  void (*destroy)(pg_meter *m);
} pg_meter_ops;

struct pg_meter {
  const pg_meter_ops *ops;
};

PG_NODISCARD int pg_meter_energy(pg_meter *m, uint64_t from_ms, uint64_t to_ms, int64_t *wh,
                                 pg_diag *d);
const char *pg_meter_kind(const pg_meter *m);
void pg_meter_free(pg_meter *m);

/* ---- MQTT (libmosquitto) ----
 * Subscribes to `topic` on host:port and turns Home Assistant-style state
 * messages into energy:
 *   PG_METER_POWER_W      payload is power in W; energy is the integral of
 *                         the piecewise-constant power (each sample holds
 *                         until the next one) over the window.
 *   PG_METER_ENERGY_WH    payload is a monotonically increasing energy
 *   PG_METER_ENERGY_KWH   counter; the window's energy is the counter
 *                         (linearly interpolated at the window edges)
 *                         at to_ms minus at from_ms. A counter that goes
 *                         down (meter reset) restarts from the new value.
 * A payload is either a bare number ("230.5") or a JSON object; with
 * json_key set the number is taken from that key ({"power": 230.5}).
 * Samples are time-stamped on arrival (the meter's clock). A window is final
 * once a sample at or after to_ms has arrived or to_ms + stale_ms has passed
 * (then the last value holds). Bad payloads are counted and logged, never
 * crash or corrupt the readings.
 *
 * Details of the MQTT meter (src/meter/meter_mqtt.c):
 * - Payloads: a bare number is JSON number syntax ("230.5", "1e3"; no "+",
 *   ".5", "nan", "inf"), optionally surrounded by ASCII whitespace, at most 64
 *   bytes; a JSON object is at most 4096 bytes, without duplicate keys, and
 *   json_key must hold a JSON number (not a string, not null). Values are
 *   rounded to 1e-6 of their unit, must be >= 0 (a negative power or counter
 *   is rejected; "-0" is 0) and at most 1e12 W / 1e12 Wh / 1e9 kWh. With
 *   json_key set a bare number is rejected too.
 * - Arithmetic is exact in integers (uW, uWh, ms). Energy over [a, b) is
 *   round(C(b)) - round(C(a)), where C(t) is the cumulative energy since the
 *   first sample (power: integral of the held power; counters: the sum of
 *   the increases, interpolated linearly between samples and floored to the
 *   uWh) and round is to the nearest Wh, half up. So consecutive windows sum
 *   exactly to their union. Before the first sample C is 0 (no energy). A
 *   counter that goes down contributes 0 at that step and counts on from the
 *   new value. Several samples in the same ms: the first one fixes C at that
 *   ms, later ones count after it.
 * - Finality: a window answered because it went stale writes the held value
 *   down at to_ms, so a later sample cannot change the answer. A meter that
 *   has never received a valid sample answers PG_ERR_UNAVAILABLE, stale or
 *   not.
 * - Memory: at most 100000 samples are kept (the oldest are dropped when
 *   full), and after each answer the samples before that window's from_ms
 *   are dropped; a window that starts at or before dropped data gets
 *   PG_ERR_NOT_FOUND.
 * - A sample stamped earlier than the newest one (the clock went back) is
 *   stamped with the newest one's time. topic must be a single topic (no
 *   '+' or '#' wildcards). The session is clean and the subscription (QoS 1)
 *   is made again on every reconnect (1 s backoff doubling to 16 s). */
typedef enum pg_meter_mqtt_kind {
  PG_METER_POWER_W = 0,
  PG_METER_ENERGY_WH = 1,
  PG_METER_ENERGY_KWH = 2,
} pg_meter_mqtt_kind;

typedef struct pg_meter_mqtt_opts {
  const char *host;      /* required */
  uint16_t port;         /* 0 = 1883 */
  const char *topic;     /* required */
  pg_meter_mqtt_kind kind;
  const char *json_key;  /* NULL = bare number payloads (JSON objects then refused) */
  const char *client_id; /* NULL = generated */
  const char *username, *password; /* NULL = none */
  uint64_t stale_ms;     /* 0 = 60000 */
  const struct pg_clock *clock; /* NULL = real clock */
} pg_meter_mqtt_opts;

PG_NODISCARD int pg_meter_mqtt_new(const pg_meter_mqtt_opts *o, pg_meter **out, pg_diag *d);
/* Counters of an MQTT meter (for status APIs and tests): samples accepted,
 * payloads rejected, re-subscriptions after the first one (= successful
 * reconnects), and connected = connected with the subscription acknowledged.
 * PG_ERR_INVALID when m is not an MQTT meter. Thread-safe. */
typedef struct pg_meter_mqtt_stats {
  uint64_t samples, rejected, reconnects;
  bool connected;
} pg_meter_mqtt_stats;
PG_NODISCARD int pg_meter_mqtt_stats_get(pg_meter *m, pg_meter_mqtt_stats *out);

/* ---- DSMR P1 (src/meter/meter_p1.c, telegrams: p2pgrid/meter/p1.h) ----
 * Reads the smart meter's P1 telegrams from a TCP dongle (host:port; the
 * bridge serves the raw byte stream) or a serial device (115200 8N1, raw;
 * bytes are masked to 7 bits, so a 7E1 meter reads too). A background
 * thread reads, finds telegrams (resynchronising on '/'), checks their CRC
 * and keeps (telegram time, import, export) with import = 1.8.1 + 1.8.2 and
 * export = 2.8.1 + 2.8.2 in Wh. A telegram is used only with its timestamp
 * and all four registers.
 * - Energy over [from, to) is C(to) - C(from), C(B) = the counters of the
 *   last telegram stamped at or before B (the telegram's own clock): the
 *   energy between a boundary and the next telegram belongs to the next
 *   slot, so consecutive windows sum exactly to their union and a gap loses
 *   nothing (the next telegram's counters settle it). Before the first
 *   telegram C is that telegram's value (nothing is counted before the
 *   meter was first read). quantity import: Δimport; export: Δexport; net:
 *   max(0, Δimport - Δexport) per window.
 * - Finality: PG_OK once a telegram stamped at or after `to` has arrived; or,
 *   with none, once the clock (opts.clock) passes to + stale_ms: the window is
 *   then answered with the held counters and `to` becomes a fence (telegrams
 *   stamped at or before it are refused as late; their energy arrives with
 *   the next one). PG_ERR_UNAVAILABLE otherwise, and always before the first
 *   valid telegram. PG_ERR_NOT_FOUND for a window starting before data
 *   already forgotten (the meter keeps what windows from the last `from`
 *   on need; at most 100000 distinct readings).
 * - Refused (counted, logged, never booked): CRC or parse failures, a
 *   telegram without time or registers, a time not after the newest one
 *   (late), a register smaller than the newest (a meter swap or a fault:
 *   quarantined; restart the daemon after a swap).
 * - Transport: reconnect after an error, end of stream or idle_ms without a
 *   byte, backoff 1 s doubling to 5 min (with jitter), back to 1 s after a
 *   valid telegram; SO_KEEPALIVE on TCP. Thread-safe like the MQTT meter. */
typedef enum pg_meter_p1_quantity {
  PG_METER_P1_IMPORT = 0,
  PG_METER_P1_EXPORT = 1,
  PG_METER_P1_NET = 2,
} pg_meter_p1_quantity;

typedef struct pg_meter_p1_opts {
  const char *host;   /* TCP: host and port (both required) ... */
  uint16_t port;
  const char *device; /* ... or a serial device (exactly one of the two) */
  pg_meter_p1_quantity quantity;
  uint64_t stale_ms;  /* 0 = 60000 */
  uint64_t idle_ms;   /* 0 = 60000 */
  const struct pg_clock *clock; /* NULL = real clock */
} pg_meter_p1_opts;

PG_NODISCARD int pg_meter_p1_new(const pg_meter_p1_opts *o, pg_meter **out, pg_diag *d);
/* Counters (thread-safe): telegrams used, rejected (CRC, parse, incomplete),
 * late (time not advancing or behind a fence), regressions (a register went
 * down), reconnects (connections after the first), connected, and the
 * newest telegram's time (0 = none). PG_ERR_INVALID when m is not P1. */
typedef struct pg_meter_p1_stats {
  uint64_t telegrams, rejected, late, regressions, reconnects;
  bool connected;
  int64_t newest_ms;
} pg_meter_p1_stats;
PG_NODISCARD int pg_meter_p1_stats_get(pg_meter *m, pg_meter_p1_stats *out);

/* ---- From a config section ----
 * Creates the meter an entity's [meter] section describes:
 *   kind = solar | wind | household | csv | water | heat | well | rain-tank
 *          | boiler | mqtt | dso | p1 | sunspec
 * plus the kind's keys (documented in docs/CONFIG.md and the example
 * configs). seed mixes into the profile's random processes so two meters of
 * the same kind differ. The diag names the file:line of a bad key.
 *   kind = mqtt: host (required), port (default 1883), topic (required),
 *   unit = power_w | energy_wh | energy_kwh (required), json_key, client_id,
 *   username, password_file (the whole file, one trailing newline removed,
 *   at most 1024 bytes, one line; needs username), stale (duration, default
 *   60s). A `password` key is refused: passwords never live in the INI.
 *   kind = p1: host + port (TCP) or device (serial), quantity = import |
 *   export | net (required), stale (duration, default 60s), idle (duration,
 *   default 60s).
 *   solar/wind/household/csv: pg_meter_profile_from_config (meter_profile.h).
 *   dso: file, point, quantity: pg_meter_dso_from_config (dso.h).
 *   kind = sunspec: host (required), port (502), unit_id (1), quantity =
 *   inverter | export | import (required), poll (1s), timeout (2s), stale
 *   (60s), max_w (10000000): pg_meter_sunspec_new (sunspec.h).
 * PG_ERR_CONFIG for a bad or unknown kind or value, PG_ERR_IO for an
 * unreadable password file. */
PG_NODISCARD int pg_meter_from_config(pg_config *cfg, const char *section, uint64_t seed,
                                      pg_meter **out, pg_diag *d);

#endif
