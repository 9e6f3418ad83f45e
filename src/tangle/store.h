/* store.h — SQLite storage of the Tangle (internal to src/tangle).
 *
 * <data_dir>/tangle.db, WAL mode. Durability: synchronous=NORMAL for the
 * transaction of an ordinary message (committed to the WAL without fsync: a
 * power cut may lose the last ones, which their senders see as not attached
 * and send again), synchronous=FULL for every transaction that may confirm a
 * milestone (pg_tg_store_set_full around it; SQLite refuses to change the
 * level inside a transaction, so the caller decides before BEGIN): its COMMIT
 * fsyncs the WAL, which makes that milestone, its ledger changes and every
 * earlier commit durable before anyone can read them. Tables:
 *   meta(key, value)            schema version, network name
 *   messages(id PK, raw, arrival_ms, solid, referenced_by, milestone_index,
 *            inclusion, conflict_reason, omrsi, ymrsi, mrsi_at, payload_type)
 *   children(parent, child)     who approves whom (WITHOUT ROWID, keyed by parent);
 *                               a message's parents are read from its raw bytes
 *   indexation(ix, seq, message_id)  indexation index (WITHOUT ROWID, keyed by
 *            ix, seq); seq is the message's rowid: oldest first within an index
 *   milestones(ms_index PK, message_id, timestamp)   confirmed milestones
 * Statements are prepared once at open and cached.
 *
 * Speed (docs/PERFORMANCE.md "Node"): an 8 MiB page cache (SQLite walks
 * the whole cache's hash table at the end of any transaction whose B-tree
 * balancing renumbered a page through its temporary page number, which
 * random message ids make common: 64 MiB made that walk a fifth of the
 * node's CPU), reads through a 256 MiB memory map, a checkpoint every 16384 WAL pages (64 MiB of WAL
 * instead of SQLite's 4 MiB, so a hot page is copied into the database far
 * less often; the WAL file shrinks back at each restart) run by a thread of
 * its own, off the request path (checkpoint.c: the writer's WAL hook wakes
 * it once a cycle and, when it has caught up, copies the last few frames
 * itself so that the next transaction restarts the WAL; at 4 x 16384 pages
 * the writer checkpoints itself, after waiting for a checkpoint of the
 * thread that is still running, so the WAL stays bounded), and
 * WAL writes through the "pg-walbuf" VFS (base/walbuf.h): a commit's frames go to
 * the file in one pwrite() instead of two per page, flushed inside SQLite's
 * write of the commit frame, so ordering, errors and crash behaviour are
 * SQLite's own. */
#ifndef P2PGRID_TANGLE_STORE_H
#define P2PGRID_TANGLE_STORE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/tangle/message.h"

#define PG_TG_SCHEMA_VERSION "2"
/* WAL pages (frames) that wake the checkpoint thread (checkpoint.c). */
#define PG_TG_CKPT_PAGES 16384u

enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_SAVEPOINT,
  ST_ROLLBACK_TO,
  ST_RELEASE,
  ST_INSERT_MSG,
  ST_GET_ROW,
  ST_GET_RAW,
  ST_GET_ROWID_RAW,
  ST_GET_WALK,
  ST_INSERT_CHILD,
  ST_CHILDREN,
  ST_CHILDREN_COUNT,
  ST_UNSOLID_CHILDREN,
  ST_SET_SOLID,
  ST_SET_MRSI,
  ST_SET_REFERENCED,
  ST_INSERT_INDEX,
  ST_FIND_INDEX,
  ST_COUNT_INDEX,
  ST_MS_CANDIDATE,
  ST_INSERT_MILESTONE,
  ST_GET_MILESTONE,
  ST_OLD_UNSOLID,
  ST_DELETE_MSG,
  ST_DELETE_CHILD,
  ST_DELETE_INDEX,
  ST_COUNT
};

typedef struct pg_tg_store {
  sqlite3 *db;
  char *path; /* <data_dir>/tangle.db, owned */
  const char *vfs; /* the VFS every connection of the store opens through */
  sqlite3_stmt *st[ST_COUNT];
  /* checkpoint.c: its own connection and thread */
  sqlite3 *ckpt_db;
  unsigned ckpt_pages;
  pthread_t ckpt_thread;
  bool ckpt_running, ckpt_sync, ckpt_stop; /* ckpt_stop under ckpt_mu */
  pthread_mutex_t ckpt_mu;
  pthread_cond_t ckpt_cv;
  atomic_bool ckpt_due;
  atomic_bool ckpt_caught_up; /* the thread copied this cycle's WAL: the writer ends it */
  atomic_uint_fast64_t ckpt_thread_runs, ckpt_inline; /* checkpoints by the thread, by the writer
                                                          at the hard limit */
  /* WAL frames copied into the database by the thread, by the writer's
   * hook (ending a cycle, or at the hard limit); the highest frame count a
   * checkpoint reported in this WAL cycle */
  atomic_uint_fast64_t ckpt_frames_thread, ckpt_frames_writer;
  atomic_int_fast64_t ckpt_backfilled;
} pg_tg_store;

/* One row of the messages table (without raw). */
typedef struct pg_tg_row {
  bool solid;
  uint32_t referenced_by;
  uint32_t milestone_index; /* candidate index of a valid milestone message, else 0 */
  int inclusion;
  uint8_t conflict_reason;
  uint64_t arrival_ms;
  int payload_type;
  uint32_t omrsi, ymrsi;
  uint32_t mrsi_at; /* confirmed milestone index + 1 when omrsi/ymrsi were computed; 0 = never */
} pg_tg_row;

/* Opens (creating dir and schema) <dir>/tangle.db in WAL mode; refuses a db
 * made for another network (PG_ERR_CONFIG). process: the database is this
 * process's alone while it is open (pg_tangle_config.process). */
PG_NODISCARD int pg_tg_store_open(pg_tg_store *s, const char *dir, const char *network,
                                  unsigned ckpt_pages, bool process, pg_diag *d);
void pg_tg_store_close(pg_tg_store *s);
/* The cached statement, reset and with bindings cleared. */
sqlite3_stmt *pg_tg_stmt(pg_tg_store *s, int which);
/* PG_ERR_DB with sqlite's message ("what: message") in d. */
int pg_tg_db_fail(pg_tg_store *s, pg_diag *d, const char *what);
/* Runs a statement that takes no arguments and returns no rows. */
PG_NODISCARD int pg_tg_exec(pg_tg_store *s, int which, pg_diag *d);
/* PRAGMA synchronous=FULL (full) or back to NORMAL for the transactions
 * that follow; outside a transaction only (else PG_ERR_DB). */
PG_NODISCARD int pg_tg_store_set_full(pg_tg_store *s, bool full, pg_diag *d);
/* PG_OK, PG_ERR_NOT_FOUND or PG_ERR_DB. */
PG_NODISCARD int pg_tg_get_row(pg_tg_store *s, const uint8_t id[PG_ID_LEN], pg_tg_row *r, pg_diag *d);
/* Parents in stored (sorted) order. An unknown id gives *n = 0. */
PG_NODISCARD int pg_tg_get_parents(pg_tg_store *s, const uint8_t id[PG_ID_LEN],
                                   uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN], uint8_t *n,
                                   pg_diag *d);
/* What a milestone's walk reads of a message, in one lookup: the milestone
 * that referenced it (*referenced_by, 0: none yet) and its payload type;
 * when it is not referenced yet, its parents and, when its payload type is
 * raw_of_type (-1: never), a malloc'd copy of its bytes (*raw, *len; NULL,
 * 0 otherwise; the caller frees). The bytes of a referenced message are
 * not read. PG_ERR_NOT_FOUND, PG_ERR_DB (also a stored message whose
 * parents do not parse), PG_ERR_NOMEM. */
PG_NODISCARD int pg_tg_get_walk(pg_tg_store *s, const uint8_t id[PG_ID_LEN],
                                uint32_t *referenced_by, int *payload_type,
                                uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN], uint8_t *np,
                                int raw_of_type, uint8_t **raw, size_t *len, pg_diag *d);
/* Raw bytes into a malloc'd copy (*bytes; caller frees). PG_ERR_NOT_FOUND if unknown. */
PG_NODISCARD int pg_tg_get_raw(pg_tg_store *s, const uint8_t id[PG_ID_LEN], uint8_t **bytes,
                               size_t *len, pg_diag *d);
/* checkpoint.c: starts the checkpoint thread on s (open) for every
 * ckpt_pages WAL pages (0 = PG_TG_CKPT_PAGES); stop joins it and closes its
 * connection (safe on a store it never started). */
PG_NODISCARD int pg_tg_ckpt_start(pg_tg_store *s, unsigned ckpt_pages, pg_diag *d);
void pg_tg_ckpt_stop(pg_tg_store *s);
PG_NODISCARD int pg_tg_set_mrsi(pg_tg_store *s, const uint8_t id[PG_ID_LEN], uint32_t o, uint32_t y,
                                uint32_t at, pg_diag *d);

#endif
