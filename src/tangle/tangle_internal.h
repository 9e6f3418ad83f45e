/* tangle_internal.h — shared between the files of src/tangle that implement
 * include/p2pgrid/tangle/tangle.h (store.c, tangle.c, tips.c, milestone.c). Not a
 * public header: nothing outside src/tangle includes it.
 *
 * Locking: every function here expects the caller to hold t->mu (except the
 * store open/close functions, which run before/after the tangle is shared). */
#ifndef P2PGRID_TANGLE_INTERNAL_H
#define P2PGRID_TANGLE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/tangle/tangle.h"
#include "store.h"

#define PG_TG_LOG "tangle"
#define PG_TG_MRSI_VISIT_CAP 10000 /* DFS cap when computing OMRSI/YMRSI */

/* ---- tangle state (tangle.c) ---------------------------------------------- */

typedef struct pg_tg_state {
  uint32_t lmi; /* latest valid milestone index seen */
  uint64_t lmi_ts;
  uint32_t cmi; /* confirmed (solid, applied) milestone index */
  uint64_t cmi_ts;
  uint8_t cmi_msg[PG_ID_LEN];
  uint64_t messages;
  uint64_t unsolid;
  /* rates: over the interval between the last two confirmations (local clock) */
  uint64_t new_since_confirm;
  uint64_t ref_since_confirm;
  uint64_t last_confirm_ms;
  double rate_mps, rate_rmps, rate_ref;
} pg_tg_state;

typedef struct pg_tg_tip {
  uint8_t id[PG_ID_LEN];
  uint64_t since_ms; /* when it became a tip */
  unsigned approvers;
  uint32_t omrsi, ymrsi;
} pg_tg_tip;

/* A message that became solid in the current submit: applied to the tip set
 * after the transaction commits. */
typedef struct pg_tg_event {
  uint8_t id[PG_ID_LEN];
  uint8_t np;
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  uint32_t omrsi, ymrsi;
} pg_tg_event;

/* A referenced message or a confirmed milestone of the current submit,
 * told to cfg.on_event after commit (collected only when a sink is set). */
typedef struct pg_tg_note {
  uint8_t kind; /* PG_TANGLE_EV_REFERENCED or PG_TANGLE_EV_MILESTONE_CONFIRMED */
  uint8_t np, inclusion, reason;
  uint32_t index;    /* referencing / confirmed milestone */
  uint32_t ms_index; /* REFERENCED: the message's own milestone index, else 0 */
  uint64_t ts;       /* CONFIRMED: timestamp */
  uint8_t id[PG_ID_LEN];
  uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN];
} pg_tg_note;

/* The coordinator's milestone built inside its group commit (milestone.c). */
typedef struct pg_tg_coo pg_tg_coo;

/* One submit waiting for a group commit (tangle.c). Lives on the submitting
 * thread's stack; the leader fills rc, is_new, *d and sets done. */
typedef struct pg_tg_job {
  const uint8_t *bytes;
  size_t len;
  const pg_message *m;
  const uint8_t *id;
  pg_diag *d; /* may be NULL */
  int rc;
  bool is_new, done;
  bool later; /* a later_job of pg_tangle_submit_later / _attach_later (tangle.c) */
  uint32_t lmi_before, lmi_after; /* for the MILESTONE_LATEST event */
  uint64_t lmi_ts_after;
  size_t ev0, ev1;         /* its SOLID events: t->ev[ev0..ev1) */
  size_t note0, note1;     /* its notes: t->notes[note0..note1) */
  struct pg_tg_job *next;
  /* pg_tangle_attach_many: the message is built inside the batch from the
   * item (bytes, m and id then point at buf, pm and item->id) */
  pg_tangle_item *item;
  bool first_item; /* items[0]: nothing before it to follow */
  uint64_t nonce;  /* the built message's nonce */
  pg_buf buf;
  pg_message pm;
  bool has_pm;
  /* pg_tangle_issue_milestone without proof of work: built by
   * pg_tg_coo_build inside the batch (m is a skeleton until then: parents
   * and type) */
  pg_tg_coo *coo;
} pg_tg_job;

struct pg_tangle {
  pthread_mutex_t mu;
  /* group commit (tangle.c): submits queue here; one leader at a time
   * stores a whole queue in one transaction. gc_mu is never taken while
   * holding mu. */
  pthread_mutex_t gc_mu;
  pthread_cond_t gc_cv;      /* a group is done */
  pthread_cond_t gc_lead_cv; /* a submit was queued or gave up (the gathering leader) */
  pg_tg_job *gc_head, *gc_tail;
  size_t gc_queued;          /* jobs in the queue */
  size_t gc_coming;          /* announced submits not queued yet */
  bool gc_leader;
  /* the committer thread (started by the first *_later call) runs the
   * groups that hold later jobs no submitter waits for */
  pthread_cond_t gc_work_cv; /* a leader left later jobs queued, or close */
  size_t gc_later;           /* later jobs in the queue */
  bool gc_committer, gc_stop;
  pthread_t gc_thread;
  uint64_t rng[4];       /* tip selection draws (tips.c), under mu */
  size_t *cand, capcand; /* tips_pick scratch, under mu */
  pthread_mutex_t coo_mu; /* serialises pg_tangle_issue_milestone */
  pg_tangle_config cfg;   /* strings point at the owned copies below */
  char *data_dir, *network_name, *hrp;
  uint64_t network_id;
  const pg_clock *clock;
  pg_tg_store store;
  pg_tg_state st;

  pg_tg_tip *tips;
  size_t ntips, captips;

  pg_tg_event *ev;
  size_t nev, capev;
  bool ev_confirmed; /* a milestone was confirmed in the current submit */

  uint64_t n_commits, n_committed; /* groups committed, new messages they stored (under mu) */

  pg_tg_note *notes; /* for cfg.on_event only */
  size_t nnotes, capnotes;

  /* the coordinator job whose build applied its milestone's cone in the
   * running batch, until that milestone's confirmation takes the walk (mu) */
  pg_tg_coo *coo_walked;
};

static inline uint64_t pg_tg_now(const pg_tangle *t) { return pg_clock_now(t->clock); }
static inline bool pg_tg_is_sep(const uint8_t id[PG_ID_LEN]) {
  for (int i = 0; i < PG_ID_LEN; i++)
    if (id[i]) return false;
  return true;
}

/* ---- tips and OMRSI/YMRSI (tips.c) ---------------------------------------- */

enum { PG_TG_LAZY = 0, PG_TG_SEMI_LAZY = 1, PG_TG_NON_LAZY = 2 };

/* A small id -> (omrsi, ymrsi) memo (open addressing, insert/lookup only). */
typedef struct pg_tg_memo {
  struct pg_tg_memo_slot *slots;
  size_t cap, n;
} pg_tg_memo;
void pg_tg_memo_free(pg_tg_memo *m);
/* As a set of ids: membership, and adding (PG_ERR_NOMEM). */
bool pg_tg_memo_has(const pg_tg_memo *m, const uint8_t id[PG_ID_LEN]);
PG_NODISCARD int pg_tg_memo_add(pg_tg_memo *m, const uint8_t id[PG_ID_LEN]);

int pg_tg_score(const pg_tangle *t, uint32_t omrsi, uint32_t ymrsi);
/* OMRSI/YMRSI of id against the current confirmed index. write_back stores
 * recomputed values (only inside a write transaction). memo may be NULL. */
PG_NODISCARD int pg_tg_mrsi(pg_tangle *t, const uint8_t id[PG_ID_LEN], bool write_back,
                            pg_tg_memo *memo, uint32_t *o, uint32_t *y, pg_diag *d);
/* OMRSI/YMRSI of a message that is not stored yet, from its parents; writes
 * back recomputed values of its ancestors (inside a write transaction).
 * rows: the parents' rows as just read (entry i for parent i; unused for the
 * SEP), or NULL to read them. *complete false when the walk hit the visit cap
 * (values 0: store them with mrsi_at 0, as for any message whose walk
 * stopped there). */
PG_NODISCARD int pg_tg_mrsi_new(pg_tangle *t, const uint8_t id[PG_ID_LEN], const uint8_t *parents,
                                uint8_t np, const pg_tg_row *rows, uint32_t *o, uint32_t *y,
                                bool *complete, pg_diag *d);
/* Seeds the tip selection generator (open). */
void pg_tg_rng_seed(pg_tangle *t);
/* Applies the pending events (after commit). */
void pg_tg_tips_apply_events(pg_tangle *t);
/* Recomputes tip scores after a confirmation and drops lazy tips. */
void pg_tg_tips_refresh(pg_tangle *t);
/* Builds the tip set from the store (open). */
PG_NODISCARD int pg_tg_tips_rebuild(pg_tangle *t, pg_diag *d);
/* Sorts ids and removes duplicates (a message's parents); the new count. */
size_t pg_tg_sort_unique(uint8_t (*ids)[PG_ID_LEN], size_t n);
/* Up to max random unique tips, sorted; include_semi adds semi-lazy tips
 * (coordinator). *count may be 0 (no fallback here). */
void pg_tg_tips_pick(pg_tangle *t, bool include_semi, uint8_t (*ids)[PG_ID_LEN], size_t max,
                     size_t *count);
/* Drops tips past their age rule. */
void pg_tg_tips_sweep(pg_tangle *t);
/* Tracked tips that are not lazy (non-lazy + semi-lazy). */
size_t pg_tg_tips_count(const pg_tangle *t);

/* ---- milestones (milestone.c) --------------------------------------------- */

/* Stateless checks of a parsed milestone message against the configured keys:
 * parents, index, key subset, threshold, signatures. PG_ERR_CRYPTO if bad. */
PG_NODISCARD int pg_tg_verify_milestone(const pg_tangle *t, const pg_message *m, pg_diag *d);
/* Confirms every solid milestone that is next in line (inside the submit
 * transaction). */
PG_NODISCARD int pg_tg_confirm_pending(pg_tangle *t, pg_diag *d);
/* Builds job j's milestone inside its batch (mu held, in the transaction,
 * before the message is stored): the white-flag walk of its cone, which is
 * that milestone's confirmation (kept in t->coo_walked for confirm_one), its
 * inclusion Merkle root, the signed message, the checks a submit makes. On
 * success j's bytes, m and id point at the built message. */
PG_NODISCARD int pg_tg_coo_build(pg_tangle *t, pg_tg_job *j, pg_diag *d);

/* ---- solidifier/store glue (tangle.c) ------------------------------------- */

/* Runs job j in a group commit and waits for it; its rc. */
PG_NODISCARD int pg_tg_submit_job(pg_tangle *t, pg_tg_job *j);
/* Appends a note for the event sink (PG_ERR_NOMEM). */
PG_NODISCARD int pg_tg_note_push(pg_tangle *t, const pg_tg_note *n);

#endif
