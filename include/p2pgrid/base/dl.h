/* p2pgrid/base/dl.h — libraries only some commands need, loaded on first use.
 *
 * cairo (PDF invoices), libmosquitto (MQTT meters and events) and libmodbus
 * (SunSpec meters) are not linked into the binary: a daemon that never writes
 * a PDF, speaks MQTT or polls Modbus does not map them, which keeps about
 * 3 MiB out of every process's resident memory (docs/PERFORMANCE.md,
 * "Footprint"). The module that uses such a library describes the functions
 * it calls in a table (names and offsets into a struct of function pointers,
 * typed with the library's own header) and calls pg_dl_bind before the first
 * call; the library stays loaded until exit.
 *
 * Errors: PG_ERR_UNSUPPORTED when the library or one of its functions is
 * missing; the diagnostic names the library, the Debian package that has it
 * and dlerror()'s reason. The outcome is remembered: later calls return it
 * again without retrying.
 * Threads: pg_dl_bind is safe to call from any thread, any number of times;
 * the table is filled exactly once, before the first successful return.
 *
 * Ownership: the pg_dl_lib and its table belong to the calling module (static
 * storage); the library is never unloaded, nothing is freed. */
#ifndef P2PGRID_BASE_DL_H
#define P2PGRID_BASE_DL_H

#include <pthread.h>
#include <stddef.h>

#include "p2pgrid/base/err.h"

typedef struct pg_dl_fn {
  const char *name; /* the symbol */
  size_t offset;    /* offsetof its pointer in the table */
} pg_dl_fn;

typedef struct pg_dl_lib {
  const char *soname;  /* "libmosquitto.so.1" */
  const char *package; /* "libmosquitto1": named in the error */
  const char *purpose; /* "MQTT": named in the error */
  const pg_dl_fn *fns;
  size_t n_fns;
  void *table;           /* the struct of function pointers to fill */
  void (*after)(void *table, int *rc); /* optional: runs once after loading (library init) */
  /* state, zero/PTHREAD_ONCE_INIT initialised with the rest: */
  pthread_once_t once;
  int rc;
  char err[200];
} pg_dl_lib;

#define PG_DL_LIB(so, pkg, what, fns_, table_, after_)                                             \
  {.soname = (so), .package = (pkg), .purpose = (what), .fns = (fns_),                             \
   .n_fns = sizeof(fns_) / sizeof((fns_)[0]), .table = (table_), .after = (after_),               \
   .once = PTHREAD_ONCE_INIT}

/* For a library's X-macro list of functions: a table field typed by the
 * library's own declaration, and the table entry that fills it. */
#define PG_DL_FIELD(f) __typeof__(f) *f;
#define PG_DL_ENTRY(T, f) {#f, offsetof(T, f)},

/* Loads lib->soname once and resolves every function into lib->table. */
PG_NODISCARD int pg_dl_bind(pg_dl_lib *lib, pg_diag *d);

#endif
