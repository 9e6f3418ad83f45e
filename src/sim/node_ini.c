/* node_ini.c — a full-mode run's node directory made servable: the
 * genesis and the coordinator's public key it was made with, and a
 * node.ini that names them (paths relative to the directory, which moves
 * with the run's output), so `p2pgrid node --config node.ini` run there
 * serves the run's Tangle over the REST API (an audit over HTTP, the
 * explorer, any Chrysalis client). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/hex.h"
#include "sim_internal.h"

int pg_sim_write_node_ini(const char *node_dir, const uint8_t pk[32],
                          const pg_genesis_output *g, size_t n, uint32_t min_pow_score,
                          pg_diag *d) {
  char path[PATH_MAX], hex[65];
  pg_buf b;
  pg_buf_init(&b, 1u << 26);
  for (size_t i = 0; i < n; i++) {
    pg_hex_encode(g[i].address, 32, hex);
    pg_buf_printf(&b, "%s %llu\n", hex, (unsigned long long)g[i].amount);
  }
  snprintf(path, sizeof path, "%s/genesis.txt", node_dir);
  int rc = pg_buf_status(&b) ? pg_fail(d, PG_ERR_NOMEM, "out of memory")
                             : pg_write_file_atomic(path, b.data, b.len, false, true, d);
  pg_buf_reset(&b);
  pg_hex_encode(pk, 32, hex);
  pg_buf_printf(&b,
                "; Written by `p2pgrid sim --full`: this run's Tangle, served by a node of its\n"
                "; own (an audit over HTTP, the explorer, any Chrysalis client). From this\n"
                "; directory (the paths below are relative to it):\n"
                ";   p2pgrid node --config node.ini\n"
                "; There is no coordinator: nothing new is confirmed.\n"
                "[node]\ndata_dir = .\nmin_pow_score = %u\n"
                "[milestones]\npublic_keys = %s\n"
                "[ledger]\ngenesis_file = genesis.txt\n",
                (unsigned)min_pow_score, hex);
  snprintf(path, sizeof path, "%s/node.ini", node_dir);
  if (!rc)
    rc = pg_buf_status(&b) ? pg_fail(d, PG_ERR_NOMEM, "out of memory")
                           : pg_write_file_atomic(path, b.data, b.len, false, true, d);
  pg_buf_free(&b);
  return rc;
}
