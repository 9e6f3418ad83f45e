/* ledger_internal.h — the ledger's SQL that reads an address's unspent
 * outputs, for the test that checks SQLite serves each of them from the
 * partial index ledger_outputs_unspent (test_ledger: test_unspent_indexed).
 * Ownership: static strings, never freed.
 * Errors: none; NULL past the last statement.
 * Threads: any. */
#ifndef P2PGRID_LEDGER_INTERNAL_H
#define P2PGRID_LEDGER_INTERNAL_H

#include <stddef.h>

/* The i-th such statement (i from 0), NULL when i is past the last. */
const char *pg_ledger_unspent_sql(size_t i);

#endif
