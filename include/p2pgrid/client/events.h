/* p2pgrid/client/events.h — the node's MQTT events (Hornet's MQTT plugin topics,
 * docs/PROTOCOL.md "MQTT events"), seen from both ends:
 *
 *  - pg_mqtt_settings: where the broker is ([mqtt] host, port, client_id,
 *    qos, tls_ca, tls_cert, tls_key), read from an INI section, and a
 *    libmosquitto client made from them (TLS, reconnect with backoff). The
 *    node's publisher (src/node/mqtt.c) and the subscriber below share it.
 *  - pg_events: a small subscriber for the entity daemons. It subscribes to
 *    milestones/confirmed and to addresses/{bech32}/outputs of the addresses
 *    it is told to watch, and makes a file descriptor readable when such an
 *    event arrives, so a daemon waiting in poll() steps at once instead of
 *    at its next tick. Events only wake; every decision is still taken from
 *    the node's REST API, so a lost, forged or repeated event can cost a
 *    step, never a wrong booking. Without a broker nothing changes: the
 *    daemon keeps stepping every tick (polling is the fallback).
 *  - the parsers of what the broker delivers (outside bytes, fuzzed in
 *    fuzz/fuzz_client_events.c).
 *
 * Threads: libmosquitto's network thread runs the subscriber's callbacks;
 * pg_events_* may be called from any one other thread.
 *
 * Ownership: pg_mqtt_settings owns its strings (pg_mqtt_settings_clear; copy
 * deep with pg_mqtt_settings_copy); the mosquitto client of pg_mqtt_client_new
 * is the caller's (pg_mqtt_client_free); pg_events_new's subscriber is the
 * caller's (pg_events_free, NULL ok) and copies the settings it needs. The
 * parsers fill caller structs.
 * Errors: 0 or a negative pg_err (PG_ERR_CONFIG for a bad setting or file,
 * PG_ERR_INVALID for a payload that does not parse, PG_ERR_UNSUPPORTED without
 * libmosquitto, PG_ERR_IO, PG_ERR_NOMEM) with one sentence in the optional
 * pg_diag. A broker that is down is not an error: the connection is retried in
 * the background and counted in pg_events_stats. */
#ifndef P2PGRID_CLIENT_EVENTS_H
#define P2PGRID_CLIENT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"

#define PG_MQTT_DEFAULT_PORT 1883
#define PG_EVENTS_MAX_PAYLOAD 4096 /* a JSON event payload above this is refused */
#define PG_EVENTS_MAX_WATCH 16     /* addresses one subscriber watches */

/* ---- broker settings ------------------------------------------------------ */

typedef struct pg_mqtt_settings {
  char *host;      /* NULL = no broker (no MQTT at all) */
  uint16_t port;   /* 1883 */
  char *client_id; /* NULL = a random id from libmosquitto */
  int qos;         /* 0..2, default 1 */
  char *tls_ca;    /* PEM CA file: TLS on (the broker's certificate is verified) */
  char *tls_cert;  /* PEM client certificate, with tls_key (needs tls_ca) */
  char *tls_key;
} pg_mqtt_settings;

/* Deep copy into dst (zeroed or cleared first); PG_ERR_NOMEM. */
PG_NODISCARD int pg_mqtt_settings_copy(pg_mqtt_settings *dst, const pg_mqtt_settings *src);
/* Frees the strings and zeroes s. NULL ok. */
void pg_mqtt_settings_clear(pg_mqtt_settings *s);
/* Reads [section] host, port, client_id, qos, tls_ca, tls_cert, tls_key into
 * s (s is cleared first; missing host leaves s->host NULL). client_id
 * defaults to default_id (may be NULL). PG_ERR_CONFIG naming the key for a
 * bad value (qos outside 0..2, tls_cert without tls_key or tls_ca, a
 * client_id over 23 characters, a host over 255). */
PG_NODISCARD int pg_mqtt_settings_load(pg_mqtt_settings *s, pg_config *cfg, const char *section,
                                       const char *default_id, pg_diag *d);

struct mosquitto;
/* A libmosquitto client for s with obj as its callback context: TLS from
 * the files (checked now: a missing file is PG_ERR_CONFIG), reconnect delay
 * 1 s doubling to 30 s. Set the callbacks, then pg_mqtt_connect. */
PG_NODISCARD int pg_mqtt_client_new(const pg_mqtt_settings *s, void *obj, struct mosquitto **out,
                                    pg_diag *d);
/* Connects in the background (a broker that is down now is retried with
 * the backoff) and starts libmosquitto's network thread. */
PG_NODISCARD int pg_mqtt_connect(struct mosquitto *m, const pg_mqtt_settings *s, pg_diag *d);
/* Stops the network thread and frees m. NULL ok. */
void pg_mqtt_client_free(struct mosquitto *m);

/* ---- payload parsers (outside bytes) -------------------------------------- */

/* milestones/latest and milestones/confirmed: {"index":u32,"timestamp":u64}
 * (other keys ignored, as Hornet may add some). */
PG_NODISCARD int pg_events_parse_milestone(const void *p, size_t n, uint32_t *index,
                                           uint64_t *timestamp, pg_diag *d);

typedef struct pg_event_output {
  uint8_t output_id[34]; /* transactionId || outputIndex (u16 LE) */
  uint8_t message_id[32];
  bool spent;
  uint32_t ledger_index;
  uint8_t type;          /* 0 single, 1 dust allowance */
  uint8_t address[32];   /* Ed25519 */
  uint64_t amount;
} pg_event_output;

/* outputs/{id}, addresses/.../outputs: {"messageId","transactionId",
 * "outputIndex","isSpent","ledgerIndex","output":{"type","address":{"type":0,
 * "address"},"amount"}}. Strict on what it reads: hex lengths, ranges. */
PG_NODISCARD int pg_events_parse_output(const void *p, size_t n, pg_event_output *o, pg_diag *d);

/* ---- the subscriber -------------------------------------------------------- */

typedef struct pg_events pg_events;

typedef struct pg_events_stats {
  bool connected;           /* subscribed on the broker now */
  uint64_t milestones;      /* milestones/confirmed events accepted */
  uint64_t outputs;         /* address output events accepted */
  uint64_t rejected;        /* payloads that did not parse (ignored) */
  uint64_t wakes;           /* times pg_events_take found something new */
  uint32_t last_milestone;  /* index of the last confirmed milestone event */
} pg_events_stats;

/* Connects to s's broker (s->host required) and subscribes to
 * milestones/confirmed; watch adds addresses. Returns at once (connection
 * in the background). */
PG_NODISCARD int pg_events_new(const pg_mqtt_settings *s, pg_events **out, pg_diag *d);
/* Also wake on addresses/{bech32}/outputs (up to PG_EVENTS_MAX_WATCH;
 * subscribed now and after every reconnect). */
PG_NODISCARD int pg_events_watch(pg_events *e, const char *bech32, pg_diag *d);
/* A file descriptor that is readable while an event is waiting. */
int pg_events_fd(const pg_events *e);
/* Clears the descriptor; true when at least one event had arrived since the
 * last call (and counts a wake). */
bool pg_events_take(pg_events *e);
void pg_events_stats_get(pg_events *e, pg_events_stats *out);
void pg_events_free(pg_events *e); /* NULL ok */

#endif
