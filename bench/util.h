/* Helpers shared by the benchmarks (not a module: compiled into each one). */
#ifndef P2PGRID_BENCH_UTIL_H
#define P2PGRID_BENCH_UTIL_H

#include <stdint.h>
#include <sys/types.h>

/* In a child just forked by parent (its getpid() taken before the fork):
 * SIGKILL when the parent dies (PR_SET_PDEATHSIG, Linux), so a benchmark
 * killed mid-run leaves no node running; a child orphaned before the prctl
 * _exits (137). The signal comes when the forking *thread* ends: fork from
 * the main thread (every benchmark here does). */
void bench_child_dies_with_parent(pid_t parent);

/* Seconds on the monotonic clock. */
double bench_now_s(void);

/* PG_BENCH_ROUNDS when it is 1..16, else fallback: how many times a
 * benchmark repeats a measurement to take the median. */
int bench_rounds(int fallback);

/* The median of v[0..n) (n >= 1; v is sorted in place). */
double bench_median(double *v, int n);

/* Where a benchmark keeps its scratch state: /dev/shm when writable (so disk
 * speed does not enter the figures), else $TMPDIR, else /tmp. */
const char *bench_tmpbase(void);

/* Removes dir and everything below it (symlinks not followed); best effort. */
void bench_rmtree(const char *dir);

/* The bytes of every file below dir, and by kind of database (the file's
 * name up to its first '.': its -wal and -shm files count with it): 0 the
 * node's (tangle), 1 the grid's, 2 households' (consumer), 3 producers', 4
 * sources'; files: how many .db files of each. 0, or nftw's -1. */
typedef struct bench_db_bytes {
  uint64_t total;
  uint64_t bytes[5];
  unsigned files[5];
} bench_db_bytes;
int bench_db_sizes(const char *dir, bench_db_bytes *out);

#endif
