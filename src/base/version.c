/* version.c — the build's version (p2pgrid/base/version.h). */
#include "p2pgrid/base/version.h"

#ifndef PG_VERSION
#define PG_VERSION "0.0.0"
#endif

const char *pg_version(void) { return PG_VERSION; }
