/* dso_internal.h — shared by dso.c and dso_store.c (not a public contract). */
#ifndef P2PGRID_DSO_INTERNAL_H
#define P2PGRID_DSO_INTERNAL_H

#include <string.h>

/* The last max bytes of a file name for a message (a pg_diag holds 256): the
 * end of a path says which file, its start rarely does. */
static inline const char *dso_tail(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  return !s ? "" : n > max ? s + n - max : s;
}

#endif
