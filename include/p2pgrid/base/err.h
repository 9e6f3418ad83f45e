/* p2pgrid/base/err.h — one error enum for the whole project, and a diagnostic
 * buffer that lets a parser say exactly what was wrong.
 *
 * Errors: every fallible function returns int: 0 (PG_OK) on success or one
 * of the negative pg_err values. Results must not be ignored (PG_NODISCARD).
 * Functions that parse outside bytes take an optional pg_diag* (may be NULL)
 * and, on failure, write one human-readable sentence naming the problem.
 *
 * Ownership: a pg_diag is a fixed buffer in the caller's memory; pg_strerror
 * returns static text.
 * Threads: pg_fail and pg_diag_clear write only the pg_diag they are given,
 * pg_strerror is pure: any thread, one pg_diag per call chain. */
#ifndef P2PGRID_BASE_ERR_H
#define P2PGRID_BASE_ERR_H

#include <stddef.h>

#define PG_NODISCARD __attribute__((warn_unused_result))
#define PG_PRINTF(a, b) __attribute__((format(printf, a, b)))

typedef enum pg_err {
  PG_OK = 0,
  PG_ERR_NOMEM = -1,       /* allocation failed */
  PG_ERR_INVALID = -2,     /* malformed input or argument */
  PG_ERR_TRUNCATED = -3,   /* input ended early */
  PG_ERR_TOO_LARGE = -4,   /* a size cap was exceeded */
  PG_ERR_NOT_FOUND = -5,   /* no such item */
  PG_ERR_EXISTS = -6,      /* item already present */
  PG_ERR_IO = -7,          /* file or socket error */
  PG_ERR_DB = -8,          /* storage (SQLite) error */
  PG_ERR_CRYPTO = -9,      /* signature/key failure */
  PG_ERR_POW = -10,        /* proof of work below the required score */
  PG_ERR_NETWORK_ID = -11, /* message for another network */
  PG_ERR_CANCELLED = -12,  /* operation cancelled */
  PG_ERR_UNSUPPORTED = -13,/* valid but not supported here */
  PG_ERR_CONFIG = -14,     /* bad configuration */
  PG_ERR_UNAVAILABLE = -15,/* cannot do it now (no tips, not synced, busy) */
  PG_ERR_TIMEOUT = -16,    /* deadline passed */
  PG_ERR_HTTP = -17,       /* transport or HTTP-level failure */
  PG_ERR_STATE = -18,      /* call not valid in the current state */
} pg_err;

/* Static English text for a pg_err value ("unknown error" for others). */
const char *pg_strerror(int err);

/* A short sentence describing the last failure. Always NUL-terminated. */
typedef struct pg_diag {
  char msg[256];
} pg_diag;

/* Writes a message into d (no-op when d is NULL) and returns err, so a
 * failing path can be written as: return pg_fail(d, PG_ERR_INVALID, "...").
 * d->msg may be one of the arguments (context added to a reason):
 * pg_fail(d, rc, "household %s: %s", id, d->msg). */
int pg_fail(pg_diag *d, int err, const char *fmt, ...) PG_PRINTF(3, 4);

/* Clears d (no-op when NULL). */
void pg_diag_clear(pg_diag *d);

#endif
