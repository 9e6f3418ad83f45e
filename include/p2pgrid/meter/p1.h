/* p2pgrid/meter/p1.h — DSMR P1 telegrams (the smart meter's customer port):
 * the CRC, a pure parser of one telegram, and a stream splitter that finds
 * telegrams in a byte stream (serial line or a TCP dongle). The authority is
 * /work/shared/specs/DEVICES.md Part B (and Part C for streams).
 *
 * Ownership: no allocation; parsed values are copied into the caller's
 * pg_p1_telegram; a pg_p1_stream is the caller's struct.
 * Threads: pure, no globals: any thread; a pg_p1_stream is used by one
 * thread at a time.
 *
 * Contract:
 * - Every byte is read through a bounds-checked pg_reader; nothing is read
 *   past len.
 * - pg_p1_parse takes exactly one telegram: '/' header CR LF, CR LF, data
 *   lines "OBIS(value[*unit])..." each ending CR LF, then '!' and the CRC:
 *   1-4 hex digits (either case; some devices drop leading zeros), optionally
 *   CR LF and one NUL after it, nothing else. The CRC is CRC-16/ARC
 *   (pg_p1_crc16) over the bytes from '/' through '!' as received.
 * - DSMR 4 and 5 only: a telegram without a CRC ('!' CR LF, DSMR 2.2/3.0)
 *   is refused with PG_ERR_UNSUPPORTED (no integrity check: never settled
 *   on), as is a 1-3:0.2.8 version other than 4x/5x.
 * - Values are exact integers: "000234.402*kWh" is 234402 Wh, "01.844*kW"
 *   1844 W, "03456.789*m3" 3456789 dm3. At most 3 decimals and 12 integer
 *   digits; a value of a known object with another unit, or with more
 *   decimals, is refused (PG_ERR_INVALID) — no rounding ever.
 * - Known objects (each at most once, or the telegram is refused): 1-3:0.2.8
 *   version, 0-0:1.0.0 timestamp, 0-0:96.1.1 equipment id (hex, at most 96
 *   digits), 1-0:1.8.1/1.8.2 import, 1-0:2.8.1/2.8.2 export, 1-0:1.7.0 /
 *   2.7.0 power. Unknown objects are checked for syntax and skipped. An
 *   optional ".255"-style sixth group of the id is accepted.
 * - Timestamps "YYMMDDhhmmssX": year 20YY, X = 'S' (summer, UTC+2) or 'W'
 *   (winter, UTC+1); -> Unix ms.
 * - Gas (optional): 0-n:24.2.1(TST)(value*m3) of a channel n (1-4) whose
 *   0-n:24.1.0 device type is 003 or absent. A bad gas capture time, a second
 *   gas channel or a wrong unit leaves has_gas false and keeps the rest.
 * - Caps: PG_P1_TELEGRAM_MAX bytes in all, PG_P1_LINE_MAX per line (a text
 *   message of 1024 characters fits), PG_P1_LINES_MAX lines. Bytes must be
 *   printable ASCII apart from CR LF (a 7E1 meter behind an 8N1 bridge is
 *   repaired by the stream, which masks bit 7).
 *
 * Errors: PG_ERR_INVALID (CRC mismatch, syntax, units, duplicates),
 * PG_ERR_TRUNCATED (ends early), PG_ERR_TOO_LARGE (caps),
 * PG_ERR_UNSUPPORTED (no CRC, other version); the diag names the line. */
#ifndef P2PGRID_METER_P1_H
#define P2PGRID_METER_P1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_P1_TELEGRAM_MAX 8192 /* bytes of one telegram ('/' .. CRC line) */
#define PG_P1_LINE_MAX 2200     /* bytes of one line without CR LF */
#define PG_P1_LINES_MAX 256     /* lines of one telegram */
#define PG_P1_VALUE_DIGITS 12   /* integer digits of a value */

typedef struct pg_p1_telegram {
  char header[64];    /* identification after '/', NUL-terminated (cut at 63) */
  int version;        /* 1-3:0.2.8 (40, 42, 50, ...), 0 when absent */
  bool has_time;
  int64_t time_ms;    /* 0-0:1.0.0 as Unix ms */
  char equipment_id[97]; /* 0-0:96.1.1 as sent (hex digits), "" when absent */
  bool has_import[2], has_export[2], has_power_import, has_power_export;
  int64_t import_wh[2];  /* 1-0:1.8.1, 1-0:1.8.2 (tariff 1, 2) */
  int64_t export_wh[2];  /* 1-0:2.8.1, 1-0:2.8.2 */
  int64_t power_import_w, power_export_w; /* 1-0:1.7.0, 1-0:2.7.0 */
  bool has_gas;
  int64_t gas_dm3;      /* 0-n:24.2.1, m3 x 1000 */
  int64_t gas_time_ms;  /* its own capture time */
  int gas_channel;      /* n */
  uint16_t crc;         /* as sent (and verified) */
} pg_p1_telegram;

/* CRC-16/ARC: poly 0xA001 reflected, init 0, no final XOR ("123456789" ->
 * 0xBB3D). */
uint16_t pg_p1_crc16(const void *data, size_t len);

/* Parses one telegram (len bytes from its '/'). On success *out is filled;
 * on failure *out is zeroed and d names the problem. */
PG_NODISCARD int pg_p1_parse(const void *data, size_t len, pg_p1_telegram *out, pg_diag *d);

/* "YYMMDDhhmmssX" (13 bytes) -> Unix ms; PG_ERR_INVALID for a bad date,
 * time or flag. */
PG_NODISCARD int pg_p1_timestamp(const char *s, size_t n, int64_t *ms);

/* ---- Finding telegrams in a byte stream ----
 * Bytes are masked to 7 bits (DEVICES.md §B9). Bytes before a '/' are
 * skipped (counted in skipped); a '/' before the current telegram's '!'
 * drops the partial telegram and starts a new one (counted in partial); a
 * telegram longer than PG_P1_TELEGRAM_MAX is dropped (overflows) and the
 * stream waits for the next '/'. A candidate ends at the LF after its '!'
 * (or, when no LF comes within 8 bytes of the '!', is dropped as partial).
 * Candidates are handed to on_frame unparsed. Not thread-safe per stream;
 * no allocation. */
typedef struct pg_p1_stream {
  uint8_t buf[PG_P1_TELEGRAM_MAX];
  size_t len;      /* bytes of the current candidate */
  size_t bang;     /* index of '!' + 1, 0 while not seen */
  uint64_t skipped, partial, overflows, frames;
} pg_p1_stream;

typedef void (*pg_p1_frame_fn)(void *ctx, const uint8_t *frame, size_t len);
void pg_p1_stream_init(pg_p1_stream *s);
/* Drops a partial telegram (after a reconnect: the next bytes start anew). */
void pg_p1_stream_reset(pg_p1_stream *s);
void pg_p1_stream_feed(pg_p1_stream *s, const void *data, size_t len, pg_p1_frame_fn on_frame,
                       void *ctx);

#endif
