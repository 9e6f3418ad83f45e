/* p2pgrid/base/par.h — run one function over the indices 0..n-1 on a few
 * threads: the full simulator steps its households this way (each has its
 * own database, wallet and meter; the node they share is thread-safe).
 *
 * Indices are handed out in ascending order from one shared counter, so a
 * slow item does not hold up the others. The calling thread is one of the
 * workers; when a thread cannot be started the others (at least the caller)
 * take its share. Which thread runs an index is not fixed: fn must give the
 * same results whichever thread calls it.
 *
 * Ownership: nothing is kept after the call; ctx is the caller's.
 * Errors: fn returns PG_OK or a pg_err and writes its pg_diag (one per
 * thread, cleared before the first item). After a failure no new index is
 * handed out; indices already started finish. pg_par_for returns the error
 * of the lowest failed index, its sentence in d; items above it may have
 * run, items below it all ran.
 * Threads: pg_par_for itself may be called from any thread; fn runs on up to
 * `threads` threads at once (its worker number 0..threads-1 tells which:
 * one thread per worker number at a time, e.g. for per-thread scratch). */
#ifndef P2PGRID_BASE_PAR_H
#define P2PGRID_BASE_PAR_H

#include <stddef.h>

#include "p2pgrid/base/err.h"

#define PG_PAR_THREADS_MAX 256 /* = PG_SIM_THREADS_MAX: the simulator's --threads */

typedef int (*pg_par_fn)(void *ctx, unsigned worker, size_t i, pg_diag *d);

/* fn(ctx, worker, i, d) for every i in [0, n) on min(threads, n) threads
 * (threads 0 or 1: all on the caller, in order; above PG_PAR_THREADS_MAX:
 * that many). */
PG_NODISCARD int pg_par_for(size_t n, unsigned threads, pg_par_fn fn, void *ctx, pg_diag *d);

#endif
