/* dl.c — optional libraries loaded on first use (dl.h). */
#include "p2pgrid/base/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* pthread_once gives no argument to its routine: the library being bound is
 * handed over in this thread-local for the duration of the call. */
static _Thread_local pg_dl_lib *binding;

static void bind_once(void) {
  pg_dl_lib *lib = binding;
  void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    snprintf(lib->err, sizeof lib->err, "%s", why ? why : "not found");
    lib->rc = PG_ERR_UNSUPPORTED;
    return;
  }
  for (size_t i = 0; i < lib->n_fns; i++) {
    void *sym = dlsym(h, lib->fns[i].name);
    if (!sym) {
      snprintf(lib->err, sizeof lib->err, "it has no function %s", lib->fns[i].name);
      lib->rc = PG_ERR_UNSUPPORTED;
      return; /* stays loaded: harmless, and dlclose of a half-used library is not */
    }
    /* POSIX: a function's address comes back from dlsym as void* */
    memcpy((char *)lib->table + lib->fns[i].offset, &sym, sizeof sym);
  }
  lib->rc = PG_OK;
  if (lib->after) lib->after(lib->table, &lib->rc);
  if (lib->rc) snprintf(lib->err, sizeof lib->err, "its initialisation failed");
}

int pg_dl_bind(pg_dl_lib *lib, pg_diag *d) {
  binding = lib;
  int rc = pthread_once(&lib->once, bind_once);
  binding = NULL;
  if (rc) return pg_fail(d, PG_ERR_UNSUPPORTED, "%s: cannot load %s", lib->purpose, lib->soname);
  if (lib->rc)
    return pg_fail(d, lib->rc, "%s needs %s (Debian package %s): %s", lib->purpose, lib->soname,
                   lib->package, lib->err);
  return PG_OK;
}
