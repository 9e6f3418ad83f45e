/* par.c — pg_par_for (p2pgrid/base/par.h). */
#include "p2pgrid/base/par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct par_run {
  size_t n;
  pg_par_fn fn;
  void *ctx;
  atomic_size_t next;   /* the next index to hand out */
  atomic_bool stop;     /* a failure: hand out no more */
  pthread_mutex_t mu;   /* guards the first failure below */
  size_t fail_i;        /* lowest failed index (SIZE_MAX: none) */
  int fail_rc;
  pg_diag fail_d;
} par_run;

typedef struct par_worker {
  par_run *r;
  unsigned id;
} par_worker;

static void note_failure(par_run *r, size_t i, int rc, const pg_diag *d) {
  pthread_mutex_lock(&r->mu);
  if (i < r->fail_i) {
    r->fail_i = i;
    r->fail_rc = rc;
    r->fail_d = *d;
  }
  pthread_mutex_unlock(&r->mu);
  atomic_store(&r->stop, true);
}

static void *work(void *arg) {
  par_worker *w = arg;
  par_run *r = w->r;
  pg_diag d = {{0}};
  while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
    size_t i = atomic_fetch_add(&r->next, 1);
    if (i >= r->n) break;
    int rc = r->fn(r->ctx, w->id, i, &d);
    if (rc != PG_OK) note_failure(r, i, rc, &d);
  }
  return NULL;
}

int pg_par_for(size_t n, unsigned threads, pg_par_fn fn, void *ctx, pg_diag *d) {
  if (n == 0) return PG_OK;
  if (!fn) return pg_fail(d, PG_ERR_INVALID, "no function to run");
  if (threads > PG_PAR_THREADS_MAX) threads = PG_PAR_THREADS_MAX;
  if (threads > n) threads = (unsigned)n;
  if (threads == 0) threads = 1;
  par_run r = {.n = n, .fn = fn, .ctx = ctx, .fail_i = SIZE_MAX};
  atomic_init(&r.next, 0);
  atomic_init(&r.stop, false);
  pthread_mutex_init(&r.mu, NULL);
  par_worker w[PG_PAR_THREADS_MAX];
  pthread_t th[PG_PAR_THREADS_MAX];
  unsigned started = 1; /* worker 0 is this thread */
  for (unsigned k = 0; k < threads; k++) w[k] = (par_worker){&r, k};
  for (; started < threads; started++)
    if (pthread_create(&th[started], NULL, work, &w[started]) != 0) break;
  work(&w[0]);
  for (unsigned k = 1; k < started; k++) pthread_join(th[k], NULL);
  pthread_mutex_destroy(&r.mu);
  if (r.fail_i == SIZE_MAX) return PG_OK;
  if (d) *d = r.fail_d;
  return r.fail_rc;
}
