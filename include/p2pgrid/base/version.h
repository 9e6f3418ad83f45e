/* p2pgrid/base/version.h — the version of this build, as the project's
 * CMakeLists.txt sets it: printed by `p2pgrid --version` and the daemons'
 * start lines and served by the node's GET /api/v1/info.
 *
 * Ownership: a static string.
 * Errors: none.
 * Threads: any thread. */
#ifndef P2PGRID_BASE_VERSION_H
#define P2PGRID_BASE_VERSION_H

/* "MAJOR.MINOR.PATCH", e.g. "0.1.0". */
const char *pg_version(void);

#endif
