/* node.c — node life cycle: Tangle, HTTP API, coordinator thread, health. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt.h"
#include "node_internal.h"
#include "p2pgrid/base/backup_serve.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/walbuf.h"

static void wipe(void *p, size_t n) {
  volatile uint8_t *v = p;
  while (n--) *v++ = 0;
}

static void coo_issue(pg_node *n) {
  pg_diag d = {{0}};
  uint32_t index = 0;
  uint64_t t0 = pg_monotonic_ms();
  int rc = pg_tangle_issue_milestone(n->tangle, (const uint8_t(*)[64])n->coo_keys,
                                     n->coo_keys_count, &n->stopping, &index, &d);
  if (rc == PG_ERR_CANCELLED || atomic_load(&n->stopping)) return;
  if (rc) {
    pg_log_warn("coordinator", "cannot issue a milestone: %s", d.msg[0] ? d.msg : pg_strerror(rc));
    return;
  }
  n->coo_issued++;
  unsigned long long ms = (unsigned long long)(pg_monotonic_ms() - t0);
  if (n->coo_issued == 1 || index % 100 == 0)
    pg_log_info("coordinator", "issued milestone %u (%llu ms)", (unsigned)index, ms);
  else
    pg_log_debug("coordinator", "issued milestone %u (%llu ms)", (unsigned)index, ms);
}

static void *coo_main(void *arg) {
  pg_node *n = arg;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    if (atomic_load(&n->stopping)) break;
    coo_issue(n);
    /* fixed rate: next = previous deadline + interval, never in the past */
    uint64_t ns = (uint64_t)next.tv_nsec + (n->coo_interval_ms % 1000) * 1000000ull;
    next.tv_sec += (time_t)(n->coo_interval_ms / 1000 + ns / 1000000000ull);
    next.tv_nsec = (long)(ns % 1000000000ull);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
      next = now;
    pthread_mutex_lock(&n->coo_mu);
    while (!atomic_load(&n->stopping)) {
      int rc = pthread_cond_timedwait(&n->coo_cv, &n->coo_mu, &next);
      if (rc == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&n->coo_mu);
  }
  return NULL;
}

static int coo_start(pg_node *n, pg_diag *d) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) return pg_fail(d, PG_ERR_NOMEM, "coordinator: no condattr");
  int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(&n->coo_cv, &ca);
  pthread_condattr_destroy(&ca);
  if (rc != 0) return pg_fail(d, PG_ERR_NOMEM, "coordinator: cannot create condition variable");
  if (pthread_mutex_init(&n->coo_mu, NULL) != 0) {
    pthread_cond_destroy(&n->coo_cv);
    return pg_fail(d, PG_ERR_NOMEM, "coordinator: cannot create mutex");
  }
  n->coo_sync_init = true;
  if (pthread_create(&n->coo_thread, NULL, coo_main, n) != 0)
    return pg_fail(d, PG_ERR_NOMEM, "coordinator: cannot start thread");
  n->coo_running = true;
  return PG_OK;
}

static void coo_stop(pg_node *n) {
  if (n->coo_sync_init) {
    pthread_mutex_lock(&n->coo_mu);
    atomic_store(&n->stopping, true);
    pthread_cond_broadcast(&n->coo_cv);
    pthread_mutex_unlock(&n->coo_mu);
  }
  if (n->coo_running) pthread_join(n->coo_thread, NULL);
  n->coo_running = false;
  if (n->coo_sync_init) {
    pthread_cond_destroy(&n->coo_cv);
    pthread_mutex_destroy(&n->coo_mu);
    n->coo_sync_init = false;
  }
}

/* A replica's follower (peers.c); before the API, which forwards to it. */
static int start_peers(pg_node *n, const pg_node_config *c, pg_diag *d) {
  pg_peers_config pc = {.urls = (const char *const *)c->peer_urls,
                        .count = c->peer_count,
                        .ca_file = c->peer_ca_file,
                        .bearer = c->peer_bearer,
                        .poll_ms = c->peer_poll_ms,
                        .refuse_ms = c->peer_refuse_ms,
                        .max_backoff_ms = c->peer_max_backoff_ms,
                        .network = c->network};
  return pg_peers_start(&pc, n->tangle, &n->stopping, &n->peers, d);
}

int pg_node_start(const pg_node_config *c, pg_node **out, pg_diag *d) {
  int rc = PG_OK;
  *out = NULL;
  if (!c->network || !c->bech32_hrp || !c->data_dir || !c->bind)
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pg_node *n = calloc(1, sizeof *n);
  if (!n) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  atomic_init(&n->stopping, false);
  n->clock = c->clock ? c->clock : pg_clock_real();
  n->max_body = c->max_body;
  n->remote_pow = c->remote_pow;
  n->money = c->money;
  n->tz = c->tz;
  n->min_pow_score = c->min_pow_score;
  n->coo_enabled = c->coo_enabled;
  n->coo_interval_ms = c->coo_interval_ms ? c->coo_interval_ms : 5000;
  n->expects_milestones = c->coo_enabled || c->ms_keys_count > 0;
  n->max_milestone_age_ms = c->max_milestone_age_ms;
  if (n->max_milestone_age_ms == 0)
    n->max_milestone_age_ms = c->coo_enabled ? 3 * n->coo_interval_ms + 5000 : 300000;

  pg_tangle_config tc;
  pg_tangle_config_defaults(&tc);
  tc.data_dir = c->data_dir;
  tc.network_name = c->network;
  tc.bech32_hrp = c->bech32_hrp;
  tc.min_pow_score = c->min_pow_score;
  tc.ms_keys_count = c->ms_keys_count;
  memcpy(tc.ms_public_keys, c->ms_public_keys, sizeof tc.ms_public_keys);
  tc.ms_threshold = c->ms_threshold ? c->ms_threshold : 1;
  tc.tsc_c1 = c->tsc_c1;
  tc.tsc_c2 = c->tsc_c2;
  tc.tsc_max_depth = c->tsc_max_depth;
  tc.tip_max_children = c->tip_max_children;
  tc.tip_max_age_ms = c->tip_max_age_ms;
  tc.unsolid_max = c->unsolid_max;
  tc.unsolid_max_age_ms = c->unsolid_max_age_ms;
  tc.pow_threads = c->pow_threads;
  tc.clock = c->clock;
  /* the store is the node's alone while it runs: no file lock per
   * transaction (about 10 us a message over HTTP, docs/PERFORMANCE.md
   * "Node"); `p2pgrid backup` asks the node to write its backups
   * (n->backups below, base/backup_serve.h) */
  tc.process = true;
  if (c->tx_confirm) {
    tc.tx_confirm = c->tx_confirm;
    tc.tx_confirm_ctx = c->tx_confirm_ctx;
  }
  if (c->mqtt.host) {
    if ((rc = pg_node_mqtt_new(&c->mqtt, c->mqtt_queue, c->bech32_hrp, &n->mqtt, d))) goto fail;
    tc.on_event = pg_node_mqtt_event;
    tc.on_event_ctx = n->mqtt;
  }
  if (c->tx_confirm) {
    rc = pg_tangle_open(&tc, &n->tangle, d);
  } else {
    /* the node's own ledger, attached before any milestone (the
     * coordinator starts below) */
    pg_ledger_config lc = {.dust_protection = c->dust_protection,
                           .genesis_count = c->genesis_count,
                           .genesis = c->genesis};
    rc = pg_ledger_open_tangle(&lc, &tc, &n->ledger, &n->tangle, d);
  }
  if (rc) goto fail;
  if (n->ledger) {
    uint64_t supply = 0;
    if (pg_ledger_supply(n->ledger, &supply) == PG_OK)
      pg_log_info("ledger",
                  "%zu genesis outputs, %llu base units in unspent outputs, dust protection %s",
                  c->genesis_count, (unsigned long long)supply,
                  c->dust_protection ? "on" : "off");
  }
  if ((rc = pg_backup_server_start(c->data_dir, pg_walbuf_vfs_process(), &n->backups, d)))
    goto fail;
  if (c->tangle_opened && (rc = c->tangle_opened(c->tangle_opened_ctx, n->tangle, d))) goto fail;
  if (n->mqtt && (rc = pg_node_mqtt_start(n->mqtt, n->tangle, n->ledger, d))) goto fail;

  if (c->coo_enabled) {
    n->coo_keys_count = c->coo_keys_count;
    n->coo_keys = calloc(c->coo_keys_count ? c->coo_keys_count : 1, 64);
    if (!n->coo_keys) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      goto fail;
    }
    memcpy(n->coo_keys, c->coo_secret_keys, c->coo_keys_count * 64);
  }

  if (c->peer_count && (rc = start_peers(n, c, d))) goto fail;
  if ((rc = pg_node_http_start(n, c, d))) goto fail;

  pg_tangle_status st;
  pg_tangle_get_status(n->tangle, &st);
  pg_log_info("node", "network %s (id %llu), min PoW score %u, %llu messages, milestone %u, data in %s",
              c->network, (unsigned long long)st.network_id, (unsigned)c->min_pow_score,
              (unsigned long long)st.messages, (unsigned)st.confirmed_milestone_index, c->data_dir);
  if (c->coo_enabled) {
    for (size_t i = 0; i < n->coo_keys_count; i++) {
      char pk[65];
      pg_hex_encode(n->coo_keys[i] + 32, 32, pk);
      pg_log_info("coordinator", "enabled, interval %llu ms, public key %s",
                  (unsigned long long)n->coo_interval_ms, pk);
    }
    if ((rc = coo_start(n, d))) goto fail;
  }
  *out = n;
  return PG_OK;
fail:
  pg_node_stop(n);
  return rc;
}

void pg_node_stop(pg_node *n) {
  if (!n) return;
  atomic_store(&n->stopping, true);
  coo_stop(n);
  pg_node_http_stop(n);
  pg_peers_stop(n->peers); /* after the API: no forward is running any more */
  pg_node_mqtt_free(n->mqtt); /* nothing submits any more; it reads the Tangle and ledger */
  pg_backup_server_stop(n->backups); /* waits for a backup under way */
  /* coordinator and HTTP are stopped, so no confirmation can run any more;
   * the ledger goes first because its statements live on the Tangle's
   * connection, which cannot close while they exist */
  pg_ledger_free(n->ledger);
  pg_tangle_close(n->tangle);
  if (n->coo_keys) {
    wipe(n->coo_keys, n->coo_keys_count * 64);
    free(n->coo_keys);
  }
  free(n);
}

uint16_t pg_node_port(const pg_node *n) { return n->port; }
pg_tangle *pg_node_tangle(pg_node *n) { return n->tangle; }
pg_ledger *pg_node_ledger(pg_node *n) { return n->ledger; }

/* See node.h "Health". *why (optional) gets the reason when unhealthy. */
bool pg_node_health(pg_node *n, const char **why) {
  static const char *const reasons[] = {
      "node is shutting down",
      "no confirmed milestone yet",
      "not synced: confirmed milestone is behind the latest",
      "the last confirmed milestone is too old",
  };
  const char *r = NULL;
  if (atomic_load(&n->stopping)) {
    r = reasons[0];
  } else if (n->expects_milestones) {
    pg_tangle_status st;
    pg_tangle_get_status(n->tangle, &st);
    uint64_t now = pg_clock_now(n->clock);
    uint64_t ts_ms = st.confirmed_milestone_timestamp * 1000;
    if (st.confirmed_milestone_index == 0)
      r = reasons[1];
    else if (st.confirmed_milestone_index < st.latest_milestone_index)
      r = reasons[2];
    else if (now > ts_ms && now - ts_ms > n->max_milestone_age_ms)
      r = reasons[3];
  }
  if (why) *why = r;
  return r == NULL;
}

bool pg_node_is_healthy(pg_node *n) { return pg_node_health(n, NULL); }

void pg_node_get_mqtt_stats(pg_node *n, pg_node_mqtt_stats *out) {
  memset(out, 0, sizeof *out);
  if (!n->mqtt) return;
  out->enabled = true;
  pg_node_mqtt_get_stats(n->mqtt, &out->connected, &out->published, &out->dropped, &out->queued);
}
