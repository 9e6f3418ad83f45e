/* cairo_dl.c — cairo loaded on first use (cairo_dl.h). */
#define PG_CAIRO_LOADER
#include "cairo_dl.h"

#include <stdatomic.h>
#include <stddef.h>

pg_cairo_fns pg_cairo;
static atomic_int loaded;

#define ENTRY(f) PG_DL_ENTRY(pg_cairo_fns, f)
static const pg_dl_fn fns[] = {PG_CAIRO_FNS(ENTRY)};

static pg_dl_lib lib = PG_DL_LIB("libcairo.so.2", "libcairo2", "PDF invoices", fns, &pg_cairo, NULL);

int pg_cairo_load(pg_diag *d) {
  int rc = pg_dl_bind(&lib, d);
  if (!rc) atomic_store(&loaded, 1);
  return rc;
}

int pg_cairo_loaded(void) { return atomic_load(&loaded); }
