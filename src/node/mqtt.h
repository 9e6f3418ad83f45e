/* mqtt.h — the node's MQTT event publisher (src/node/mqtt.c); internal to
 * src/node. Topics and payloads are Hornet's MQTT plugin's (docs/PROTOCOL.md
 * "MQTT events").
 *
 * Life: new (before the Tangle opens; pg_node_mqtt_event is the Tangle's
 * on_event sink and only queues), start (after the ledger is attached: the
 * publisher thread and the broker connection), free (stops both).
 *
 * Never stalls the node: the sink copies the event into a bounded queue under
 * the publisher's own mutex and returns; when the queue is full the oldest
 * event is dropped and counted. The publisher thread formats and publishes
 * while connected, waits (queueing) while the broker is away (libmosquitto
 * reconnects with backoff 1..30 s), and logs drops at most every 10 s. */
#ifndef P2PGRID_NODE_MQTT_H
#define P2PGRID_NODE_MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/client/events.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/tangle.h"

typedef struct pg_node_mqtt pg_node_mqtt;

/* s->host must be set. queue: events held at most (0 = 10000). */
PG_NODISCARD int pg_node_mqtt_new(const pg_mqtt_settings *s, size_t queue, const char *hrp,
                                  pg_node_mqtt **out, pg_diag *d);
/* The Tangle's event sink (ctx = the pg_node_mqtt). */
void pg_node_mqtt_event(void *ctx, const pg_tangle_event *ev);
/* Starts the publisher thread and the connection. t and l (l may be NULL: no
 * output events) are borrowed until pg_node_mqtt_free. */
PG_NODISCARD int pg_node_mqtt_start(pg_node_mqtt *m, pg_tangle *t, pg_ledger *l, pg_diag *d);
/* Stops (what is still queued is dropped and counted) and frees. NULL ok. */
void pg_node_mqtt_free(pg_node_mqtt *m);
/* Counters; see pg_node_mqtt_stats in node.h. */
void pg_node_mqtt_get_stats(pg_node_mqtt *m, bool *connected, uint64_t *published,
                            uint64_t *dropped, uint64_t *queued);

#endif
