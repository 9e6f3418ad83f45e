/* p2pgrid/grid/entity_config.h — the settings of an entity daemon (source,
 * producer, consumer, grid) read from its INI configuration: everything the
 * entities' options (grid.h) need that is plain configuration. What needs
 * files, keys or connections — [tls], the seed files' contents, [meter],
 * [mqtt], [node] token_file's token — is read by the caller (apps/cmd_entity.c)
 * with the modules that own them; this only reads their paths.
 *
 * Keys (defaults in brackets; docs/CONFIG.md and `p2pgrid ROLE --help`):
 * - [ROLE] id (required, [A-Za-z0-9._-]{1,64}), name, data_dir (./data/ID),
 *   log_level, slot (15m, >= 1s), tick (500ms), retry (2s), security (2);
 * - [node] url (http://127.0.0.1:14265), timeout (60s), ca, token_file;
 * - [api] bind (127.0.0.1), port (grid 8080, producer 8081, else off unless
 *   set; 0 = any free port);
 * - [upstream] url (required but for the grid); [wallet] seed_file,
 *   mnemonic_file (not for a source);
 * - [money], [resource], [site] tz (UTC) into the entity options;
 * - producer, grid: [ROLE] registration_rate (10), max_channels (32);
 * - [producer] ask_per_unit (old name ask_per_kwh; "none" = any price),
 *   grace;
 * - [consumer] bid_per_unit (bid_per_kwh), max_price_per_unit
 *   (max_price_per_kwh), max_monthly, grid_address;
 * - [grid] the market keys (market_config.h, prices required), grace,
 *   dust_allowance, float, default_max_kw, late_window; [tariff];
 *   [sharing] (pg_grid_share_from_config), the static keys of a group
 *   summing to at most 100 %.
 * Prices and amounts use the market's reader (market_config.h: digits or
 * i/Ki/Mi/Gi amounts; prices at most PG_MARKET_MAX_PRICE).
 *
 * Errors: PG_ERR_CONFIG with the diag naming file, line, section and key and
 * the bad value (pg_config's getters), PG_ERR_NOMEM. On failure *out holds
 * nothing to release (it is cleared).
 *
 * Ownership: strings point into cfg (valid while cfg lives and the keys are
 * not replaced); out->share (the [sharing] members, also in out->go) is
 * owned by out: pg_entity_config_clear frees it. The options' client,
 * upstream, key, events and seed fields are left for the caller.
 *
 * Threads: as pg_config (read at start, one thread). */
#ifndef P2PGRID_GRID_ENTITY_CONFIG_H
#define P2PGRID_GRID_ENTITY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/grid/grid.h"

typedef struct pg_config pg_config;

typedef struct pg_entity_config {
  pg_role role;           /* PG_ROLE_SOURCE, _PRODUCER, _CONSUMER or _GRID */
  const char *section;    /* "source", "producer", "consumer", "grid" (static) */
  const char *log_level;  /* [ROLE] log_level; NULL = not set */
  const char *node_url, *node_ca, *token_file; /* [node] url, ca, token_file */
  uint64_t node_timeout_ms;
  const char *bind;       /* [api] bind */
  uint64_t port;          /* [api] port */
  bool api;               /* serve HTTPS: producer, grid, or [api] port set */
  const char *upstream_url;               /* NULL for the grid */
  const char *seed_file, *mnemonic_file;  /* [wallet] (not a source) */
  uint64_t tick_ms;
  pg_entity_opts eo;      /* id, name, data_dir, slot_ms, security, retry_ms,
                             money, resource, tz */
  pg_producer_opts po;    /* producer: ask, grace, limits */
  pg_consumer_opts co;    /* consumer: bid, price checks, grid address */
  pg_gridop_opts go;      /* grid: market, payouts, readings, tariff, sharing */
  pg_grid_share_member *share; /* owned; n_share items (grid) */
  size_t n_share;
  char data_dir_buf[600]; /* ./data/ID when [ROLE] data_dir is missing */
} pg_entity_config;

/* The section name of a role ("source" ... "grid"); NULL for others. */
const char *pg_entity_role_section(pg_role role);

/* Reads the settings of the role from cfg into *out (see above). */
PG_NODISCARD int pg_entity_config_read(pg_config *cfg, pg_role role, pg_entity_config *out,
                                       pg_diag *d);
/* Frees what *c owns and zeroes it; NULL ok. */
void pg_entity_config_clear(pg_entity_config *c);

#endif
