#include "p2pgrid/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pg_strerror(int err) {
  switch (err) {
  case PG_OK: return "ok";
  case PG_ERR_NOMEM: return "out of memory";
  case PG_ERR_INVALID: return "invalid input";
  case PG_ERR_TRUNCATED: return "input truncated";
  case PG_ERR_TOO_LARGE: return "too large";
  case PG_ERR_NOT_FOUND: return "not found";
  case PG_ERR_EXISTS: return "already exists";
  case PG_ERR_IO: return "I/O error";
  case PG_ERR_DB: return "storage error";
  case PG_ERR_CRYPTO: return "cryptographic check failed";
  case PG_ERR_POW: return "insufficient proof of work";
  case PG_ERR_NETWORK_ID: return "wrong network id";
  case PG_ERR_CANCELLED: return "cancelled";
  case PG_ERR_UNSUPPORTED: return "not supported";
  case PG_ERR_CONFIG: return "bad configuration";
  case PG_ERR_UNAVAILABLE: return "unavailable";
  case PG_ERR_TIMEOUT: return "timed out";
  case PG_ERR_HTTP: return "HTTP error";
  case PG_ERR_STATE: return "invalid state";
  default: return "unknown error";
  }
}

int pg_fail(pg_diag *d, int err, const char *fmt, ...) {
  if (d) {
    /* formatted aside first: an argument may be d->msg itself (a reason
     * given more context), and vsnprintf's output may not overlap it */
    char msg[sizeof d->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(d->msg, msg, sizeof msg);
  }
  return err;
}

void pg_diag_clear(pg_diag *d) {
  if (d) d->msg[0] = '\0';
}
