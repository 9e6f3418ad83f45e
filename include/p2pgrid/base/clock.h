/* p2pgrid/base/clock.h — a clock interface with a real and a virtual
 * implementation. Everything that needs "now" takes a const pg_clock*; a
 * simulation passes a virtual one and advances it.
 *
 * Ownership: pg_clock_real's clock is static (never freed); a pg_vclock is the
 * caller's own struct (nothing allocated).
 * Errors: none: no function here can fail.
 * Threads: all functions may be called from any thread; a pg_vclock is atomic,
 * so one thread may advance it while others read it. */
#ifndef P2PGRID_BASE_CLOCK_H
#define P2PGRID_BASE_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct pg_clock {
  uint64_t (*now_ms)(const struct pg_clock *c); /* Unix time in ms */
} pg_clock;

static inline uint64_t pg_clock_now(const pg_clock *c) { return c->now_ms(c); }

/* Wall clock (CLOCK_REALTIME). Static; never freed. */
const pg_clock *pg_clock_real(void);
/* Monotonic milliseconds for measuring durations. */
uint64_t pg_monotonic_ms(void);
/* Sleeps ms milliseconds of real time (again after a signal cuts it short). */
void pg_sleep_ms(uint64_t ms);

/* A virtual clock: time moves only when told to. Thread-safe. */
typedef struct pg_vclock {
  pg_clock base; /* pass &v->base where a pg_clock* is wanted */
  _Atomic uint64_t now;
} pg_vclock;

void pg_vclock_init(pg_vclock *v, uint64_t start_ms);
void pg_vclock_set(pg_vclock *v, uint64_t ms);
void pg_vclock_advance(pg_vclock *v, uint64_t ms);

#endif
