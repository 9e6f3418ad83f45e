/* p2pgrid/base/sdnotify.h — a daemon tells systemd how it is doing (sd_notify(3)).
 *
 * A unit with Type=notify (the units in systemd/) has systemd set $NOTIFY_SOCKET;
 * then these calls send READY=1, STATUS=..., WATCHDOG=1 and STOPPING=1
 * through libsystemd's sd_notify, and libsystemd (Debian package
 * libsystemd0) is loaded on the first such call (p2pgrid/base/dl.h). Without
 * $NOTIFY_SOCKET every call does nothing and returns PG_OK, and libsystemd is
 * never mapped: a daemon started by hand, by a test or by examples/grid/start
 * pays nothing for it.
 *
 * Watchdog: with WatchdogSec= systemd sets $WATCHDOG_USEC (and $WATCHDOG_PID,
 * checked by libsystemd). pg_sd_watchdog_ms gives half of that period; the
 * main loop waits at most that long between two calls of pg_sd_watchdog,
 * which sends WATCHDOG=1 when half the period has passed since it last did.
 *
 * Status texts: one line each; a newline or other control character in it is
 * sent as a space (a STATUS= value cannot hold one), and it is cut at 200
 * bytes.
 *
 * Errors: PG_ERR_UNSUPPORTED when libsystemd0 is not installed (the message
 * names the package), PG_ERR_IO when sending fails, PG_ERR_INVALID when
 * $WATCHDOG_USEC is not a number; each message names the variable or the
 * reason. A daemon logs them and goes on: systemd acts on its own timeouts.
 * Threads: pg_sd_ready, pg_sd_status and pg_sd_stopping may be called from
 * any thread; pg_sd_watchdog remembers when it last sent and must be called
 * from one thread only (the main loop).
 *
 * Ownership: nothing to free: the texts are copied into the message;
 * libsystemd, once loaded, stays loaded. */
#ifndef P2PGRID_BASE_SDNOTIFY_H
#define P2PGRID_BASE_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

/* True when $NOTIFY_SOCKET is set (the process runs under a Type=notify
 * unit); nothing is loaded. */
bool pg_sd_enabled(void);

/* READY=1 and STATUS=status (status may be NULL). */
PG_NODISCARD int pg_sd_ready(const char *status, pg_diag *d);
/* STATUS=status. */
PG_NODISCARD int pg_sd_status(const char *status, pg_diag *d);
/* STOPPING=1 and STATUS=status (may be NULL). */
PG_NODISCARD int pg_sd_stopping(const char *status, pg_diag *d);

/* *half_ms = half the watchdog period ($WATCHDOG_USEC / 2, at least 1 ms),
 * or 0 when there is no watchdog for this process (no $NOTIFY_SOCKET, no
 * $WATCHDOG_USEC, or $WATCHDOG_PID names another process). */
PG_NODISCARD int pg_sd_watchdog_ms(uint64_t *half_ms, pg_diag *d);
/* WATCHDOG=1 if the watchdog is on and half its period has passed since the
 * last one this process sent (the first call always sends). */
PG_NODISCARD int pg_sd_watchdog(pg_diag *d);

#endif
