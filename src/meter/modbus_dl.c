/* modbus_dl.c — libmodbus loaded on first use (modbus_dl.h). */
#define PG_MODBUS_LOADER
#include "modbus_dl.h"

#include <stddef.h>

pg_modbus_fns pg_modbus;

#define ENTRY(f) PG_DL_ENTRY(pg_modbus_fns, f)
static const pg_dl_fn fns[] = {PG_MODBUS_FNS(ENTRY)};

static pg_dl_lib lib = PG_DL_LIB("libmodbus.so.5", "libmodbus5", "SunSpec meters (Modbus)", fns, &pg_modbus, NULL);

int pg_modbus_load(pg_diag *d) { return pg_dl_bind(&lib, d); }
