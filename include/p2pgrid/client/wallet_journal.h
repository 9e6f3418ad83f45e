/* p2pgrid/client/wallet_journal.h — a wallet's journal of its pending
 * transfers, shared by the processes that send from one seed.
 *
 * A JSON file (the CLI's default: the seed file's name + ".pending") lists
 * the transfers sent and not yet seen confirmed or conflicting, with the
 * outputs each spends:
 *
 *   {"pending":[{"message":"<hex32>","transaction":"<hex32>",
 *                "inputs":["<hex34>", ...]}, ...]}
 *
 * pg_wallet_journal_open holds the lock file PATH.lock until close, so a
 * second sender of the same seed waits; it asks the node about each entry,
 * hands the pending ones to the wallet (pg_wallet_track: their outputs stay
 * untouched) and drops the others. The file is always written atomically.
 *
 * Ownership: open's journal is the caller's (pg_wallet_journal_close; NULL
 * ok); it borrows nothing after open returns. load/save work on a caller's
 * struct.
 * Errors: PG_ERR_IO (lock, read, write), PG_ERR_TOO_LARGE (over 4 MiB),
 * PG_ERR_INVALID ("PATH: not a wallet journal: ..." naming the entry and the
 * problem), PG_ERR_UNAVAILABLE (the journal holds 64 transfers) and the
 * wallet's errors, each with a diag; stored data is left as it was.
 * Threads: one thread at a time per journal; other processes are kept out by
 * the lock file. */
#ifndef P2PGRID_CLIENT_WALLET_JOURNAL_H
#define P2PGRID_CLIENT_WALLET_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/client/wallet.h"

#define PG_WALLET_JOURNAL_MAX 64 /* = the wallet's pending limit */

typedef struct pg_wallet_journal_list {
  size_t n;
  pg_wallet_transfer t[PG_WALLET_JOURNAL_MAX];
} pg_wallet_journal_list;

/* Reads path into *j (a missing file is an empty journal). */
PG_NODISCARD int pg_wallet_journal_load(const char *path, pg_wallet_journal_list *j, pg_diag *d);
/* Writes *j to path atomically. */
PG_NODISCARD int pg_wallet_journal_save(const char *path, const pg_wallet_journal_list *j,
                                        pg_diag *d);
/* Removes entry i (keeps the order of the others). */
void pg_wallet_journal_remove(pg_wallet_journal_list *j, size_t i);

typedef struct pg_wallet_journal pg_wallet_journal;
/* Called by open for each entry dropped because the node found it
 * conflicting or does not know it (st); its outputs are free again. */
typedef void (*pg_wallet_journal_dropped)(void *ctx, const uint8_t msg_id[32],
                                          pg_wallet_transfer_state st);
/* Locks path (waiting for another holder), reads it and reconciles it with
 * the node through w, as above; writes it back when entries were dropped.
 * On failure nothing is held. */
PG_NODISCARD int pg_wallet_journal_open(const char *path, pg_wallet *w,
                                        pg_wallet_journal_dropped dropped, void *ctx,
                                        pg_wallet_journal **out, pg_diag *d);
/* Records the transfer w just submitted as msg_id and writes the file. */
PG_NODISCARD int pg_wallet_journal_add(pg_wallet_journal *j, pg_wallet *w,
                                       const uint8_t msg_id[32], pg_diag *d);
/* The journal's file. */
const char *pg_wallet_journal_path(const pg_wallet_journal *j);
/* Lets the next sender in. */
void pg_wallet_journal_close(pg_wallet_journal *j);

#endif
