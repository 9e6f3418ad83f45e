/* A Tangle with its own ledger: the one wiring of the node and the
 * simulator (pg_ledger_open_tangle, p2pgrid/ledger/ledger.h). */
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/tangle.h"

int pg_ledger_open_tangle(const pg_ledger_config *lc, pg_tangle_config *tc, pg_ledger **l,
                          pg_tangle **t, pg_diag *d) {
  pg_ledger *led = NULL;
  pg_tangle *tan = NULL;
  *l = NULL;
  *t = NULL;
  int rc = pg_ledger_new(lc, &led);
  if (rc) return pg_fail(d, rc, "cannot create the ledger: %s", pg_strerror(rc));
  /* the confirmation hook must be known to the Tangle when it opens */
  tc->tx_confirm = pg_ledger_apply;
  tc->tx_confirm_ctx = led;
  tc->tx_precheck = pg_ledger_precheck; /* signatures verified on the submitting threads */
  tc->tx_precheck_ctx = led;
  rc = pg_tangle_open(tc, &tan, d);
  if (!rc) rc = pg_ledger_attach(led, pg_tangle_db(tan), pg_tangle_db_path(tan), d);
  if (rc) {
    pg_ledger_free(led); /* first: its statements are on the Tangle's database */
    pg_tangle_close(tan);
    return rc;
  }
  *l = led;
  *t = tan;
  return PG_OK;
}
