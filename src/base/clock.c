#include "p2pgrid/base/clock.h"

#include <errno.h>
#include <time.h>

static uint64_t real_now(const pg_clock *c) {
  (void)c;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const pg_clock REAL = {real_now};

const pg_clock *pg_clock_real(void) { return &REAL; }

uint64_t pg_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void pg_sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t virtual_now(const pg_clock *c) {
  const pg_vclock *v = (const pg_vclock *)c;
  return atomic_load(&v->now);
}

void pg_vclock_init(pg_vclock *v, uint64_t start_ms) {
  v->base.now_ms = virtual_now;
  atomic_store(&v->now, start_ms);
}

void pg_vclock_set(pg_vclock *v, uint64_t ms) { atomic_store(&v->now, ms); }

void pg_vclock_advance(pg_vclock *v, uint64_t ms) { atomic_fetch_add(&v->now, ms); }
