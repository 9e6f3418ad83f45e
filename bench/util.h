/* Helpers shared by the benchmarks (not a module: compiled into each one). */
#ifndef P2PGRID_BENCH_UTIL_H
#define P2PGRID_BENCH_UTIL_H

/* Where a benchmark keeps its scratch state: /dev/shm when writable (so disk
 * speed does not enter the figures), else $TMPDIR, else /tmp. */
const char *bench_tmpbase(void);

/* Removes dir and everything below it (symlinks not followed); best effort. */
void bench_rmtree(const char *dir);

#endif
