/* peers.h — a replica node follows other nodes (src/node/peers.c; not a
 * public header). See node.h "Replica" for the behaviour.
 *
 * Threads: one follower thread owns one pg_client per peer; the HTTP threads
 * call pg_peers_forward and pg_peers_status_json (each forward makes its own
 * client). The peer table (state, counters, reasons) is under one mutex.
 * Everything fetched goes through pg_tangle_submit, which checks syntax,
 * network id, PoW and milestone signatures against this node's own keys and
 * applies the ledger; the follower trusts nothing else a peer says. */
#ifndef P2PGRID_NODE_PEERS_H
#define P2PGRID_NODE_PEERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/tangle.h"

typedef struct pg_peers pg_peers;

typedef struct pg_peers_config {
  const char *const *urls; /* base URLs, "http(s)://host:port" */
  size_t count;            /* 1..PG_NODE_MAX_PEERS */
  const char *ca_file;     /* https peers: CA file (NULL = system CAs) */
  const char *bearer;      /* token sent to every peer (NULL = none); copied */
  uint64_t poll_ms;        /* between polls of a caught-up replica */
  uint64_t refuse_ms;      /* how long a peer that served something invalid is left alone */
  uint64_t max_backoff_ms; /* cap of the backoff of a peer that is down */
  const char *network;     /* ours: a peer on another network is refused */
} pg_peers_config;

/* Starts the follower thread on t (borrowed; must outlive the peers).
 * stopping (borrowed) ends it early when set. */
PG_NODISCARD int pg_peers_start(const pg_peers_config *c, pg_tangle *t, atomic_bool *stopping,
                                pg_peers **out, pg_diag *d);
/* Wakes and joins the thread (an HTTP call in flight ends at its timeout),
 * frees everything. NULL ok. */
void pg_peers_stop(pg_peers *p);

/* POST /messages on a replica: hands the message (a JSON draft j, or complete
 * bytes raw/len when j is NULL) to the first usable peer that takes it, then
 * fetches it (and what of its past cone is missing) from that peer so it is
 * known here at once. id gets the peer's message id. A peer's 400 answer
 * (PG_ERR_INVALID, its sentence in d) is final; otherwise the next peer is
 * tried; PG_ERR_UNAVAILABLE when none took it. */
PG_NODISCARD int pg_peers_forward(pg_peers *p, const json_t *j, const uint8_t *raw, size_t len,
                                  uint8_t id[PG_ID_LEN], pg_diag *d);

/* {"peers":[{url, state, confirmedMilestoneIndex, milestones, messages,
 * failures, refusals, lastError, refusedFor}], "refusals", "syncedMilestoneIndex"}
 * (new reference; NULL on OOM). */
json_t *pg_peers_status_json(pg_peers *p);

#endif
