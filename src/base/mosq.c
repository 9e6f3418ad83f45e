/* mosq.c — libmosquitto loaded on first use (mosq.h). */
#define PG_MOSQ_LOADER
#include "p2pgrid/base/mosq.h"

#include <stddef.h>

#include "p2pgrid/base/dl.h"

pg_mosq_fns pg_mosq;

#define ENTRY(f) PG_DL_ENTRY(pg_mosq_fns, f)
static const pg_dl_fn fns[] = {PG_MOSQ_FNS(ENTRY)};

static void lib_init(void *table, int *rc) {
  int mrc = ((pg_mosq_fns *)table)->mosquitto_lib_init();
  if (mrc != MOSQ_ERR_SUCCESS) *rc = PG_ERR_IO;
}

static pg_dl_lib lib = PG_DL_LIB("libmosquitto.so.1", "libmosquitto1", "MQTT", fns, &pg_mosq, lib_init);

int pg_mosq_load(pg_diag *d) { return pg_dl_bind(&lib, d); }
