/* pow.c — remote proof of work on the node's own thread (node_internal.h).
 *
 * A POSTed draft without a nonce waits here, its connection suspended
 * (pg_node_later), until the PoW thread attaches it: the HTTP workers never
 * search for a nonce, so a search that takes long (a high minimum score, a
 * big message) or many of them hold one thread, not the API. The queue is
 * bounded: beyond it a draft is refused with 503 at once and counted. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

typedef struct pow_job {
  struct pow_job *next;
  pg_message_draft draft; /* owned */
  pg_node_later *l;
} pow_job;

struct pg_node_pow {
  pg_node *n;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* a job came, or the queue closed */
  pow_job *head, *tail;
  size_t queued, cap;
  bool closed; /* no job is taken any more */
  pthread_t th;
};

static void run_job(pg_node *n, pow_job *j) {
  uint8_t id[PG_ID_LEN];
  pg_diag d = {{0}};
  int rc;
  if (atomic_load(&n->stopping)) {
    rc = pg_fail(&d, PG_ERR_CANCELLED, "the node is stopping: proof of work not done");
  } else {
    double t0 = pg_node_metrics_pow_start(n);
    rc = pg_tangle_attach(n->tangle, &j->draft, &n->stopping, id, &d);
    pg_node_metrics_pow_end(n, t0, rc == PG_OK);
  }
  pg_node_answer_later(j->l, rc, id, &d);
  pg_message_draft_clear(&j->draft);
  free(j);
}

static void *pow_main(void *arg) {
  pg_node_pow *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->head && !q->closed) pthread_cond_wait(&q->cv, &q->mu);
    pow_job *j = q->head;
    if (!j) break; /* closed, and every job answered */
    q->head = j->next;
    if (!q->head) q->tail = NULL;
    q->queued--;
    pg_node_metrics_pow_queued(q->n, -1);
    pthread_mutex_unlock(&q->mu);
    run_job(q->n, j); /* after a close: answered 503 without a search */
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

int pg_node_pow_start(pg_node *n, size_t cap, pg_diag *d) {
  pg_node_pow *q = calloc(1, sizeof *q);
  if (!q) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  q->n = n;
  q->cap = cap;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  if (pthread_create(&q->th, NULL, pow_main, q) != 0) {
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
    return pg_fail(d, PG_ERR_IO, "cannot start the proof-of-work thread");
  }
  n->pow = q;
  return PG_OK;
}

int pg_node_pow_submit(pg_node *n, pg_message_draft *draft, pg_node_later *l, pg_diag *d) {
  pg_node_pow *q = n->pow;
  if (!q) return pg_fail(d, PG_ERR_UNAVAILABLE, "this node does no proof of work now");
  pow_job *j = malloc(sizeof *j);
  if (!j) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&q->mu);
  int rc = PG_OK;
  if (q->closed)
    rc = pg_fail(d, PG_ERR_CANCELLED, "the node is stopping: proof of work not done");
  else if (q->queued >= q->cap)
    rc = pg_fail(d, PG_ERR_UNAVAILABLE,
                 "the node's proof-of-work queue is full (%zu drafts waiting, [api] pow_queue): "
                 "retry later or send the message with its nonce",
                 q->queued);
  if (rc) {
    pthread_mutex_unlock(&q->mu);
    free(j);
    if (rc == PG_ERR_UNAVAILABLE) pg_node_metrics_pow_refused(n);
    return rc;
  }
  *j = (pow_job){.draft = *draft, .l = l};
  memset(draft, 0, sizeof *draft); /* moved: the caller's clear frees nothing */
  pg_buf_init(&draft->payload, PG_MSG_MAX_LEN);
  if (q->tail)
    q->tail->next = j;
  else
    q->head = j;
  q->tail = j;
  q->queued++;
  pg_node_metrics_pow_queued(n, 1);
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return PG_OK;
}

void pg_node_pow_stop(pg_node *n) {
  pg_node_pow *q = n->pow;
  if (!q) return;
  pthread_mutex_lock(&q->mu);
  bool was_closed = q->closed; /* then joined already */
  q->closed = true;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  if (!was_closed) pthread_join(q->th, NULL); /* every job taken before the close is answered */
}

void pg_node_pow_free(pg_node *n) {
  pg_node_pow *q = n->pow;
  if (!q) return;
  pg_node_pow_stop(n);
  n->pow = NULL;
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  free(q);
}
