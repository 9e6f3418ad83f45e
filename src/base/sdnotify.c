/* sdnotify.c — readiness, status and watchdog for systemd (sdnotify.h),
 * through libsystemd loaded on first use (dl.h). */
#include "p2pgrid/base/sdnotify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/dl.h"

#define SD_FNS(X) X(sd_notify) X(sd_watchdog_enabled)
typedef struct sd_fns {
  SD_FNS(PG_DL_FIELD)
} sd_fns;
static sd_fns sd;
#define SD_ENTRY(f) PG_DL_ENTRY(sd_fns, f)
static const pg_dl_fn fns[] = {SD_FNS(SD_ENTRY)};
static pg_dl_lib lib = PG_DL_LIB("libsystemd.so.0", "libsystemd0", "systemd notification", fns,
                                 &sd, NULL);

#define STATUS_MAX 200

bool pg_sd_enabled(void) {
  const char *s = getenv("NOTIFY_SOCKET");
  return s && *s;
}

/* "STATUS=" + status as one line of at most STATUS_MAX bytes, cut before a
 * UTF-8 character that would not fit whole; out has room for it. */
static void put_status(char *out, const char *status) {
  size_t len = strlen(status);
  if (len > STATUS_MAX) {
    len = STATUS_MAX;
    while (len > 0 && ((unsigned char)status[len] & 0xc0) == 0x80) len--;
  }
  memcpy(out, "STATUS=", 7);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)status[i];
    out[7 + i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
  }
  out[7 + len] = '\0';
}

/* Sends "head\nSTATUS=status" (either part may be absent). */
static int send_state(const char *head, const char *status, pg_diag *d) {
  if (!pg_sd_enabled()) return PG_OK;
  int rc = pg_dl_bind(&lib, d);
  if (rc) return rc;
  char msg[32 + STATUS_MAX]; /* "STOPPING=1\nSTATUS=" and the status */
  size_t n = head ? (size_t)snprintf(msg, 16, "%s%s", head, status ? "\n" : "") : 0;
  if (status) put_status(msg + n, status);
  else msg[n] = '\0';
  int r = sd.sd_notify(0, msg);
  if (r < 0)
    return pg_fail(d, PG_ERR_IO, "cannot notify systemd at NOTIFY_SOCKET=%s: %s",
                   getenv("NOTIFY_SOCKET"), strerror(-r));
  if (r == 0) return pg_fail(d, PG_ERR_IO, "cannot notify systemd: NOTIFY_SOCKET is unset");
  return PG_OK;
}

int pg_sd_ready(const char *status, pg_diag *d) { return send_state("READY=1", status, d); }

int pg_sd_status(const char *status, pg_diag *d) {
  return send_state(NULL, status ? status : "", d);
}

int pg_sd_stopping(const char *status, pg_diag *d) { return send_state("STOPPING=1", status, d); }

int pg_sd_watchdog_ms(uint64_t *half_ms, pg_diag *d) {
  *half_ms = 0;
  if (!pg_sd_enabled()) return PG_OK;
  int rc = pg_dl_bind(&lib, d);
  if (rc) return rc;
  uint64_t usec = 0;
  int r = sd.sd_watchdog_enabled(0, &usec);
  if (r < 0)
    return pg_fail(d, PG_ERR_INVALID, "WATCHDOG_USEC=%s (WATCHDOG_PID=%s) is not a watchdog period: %s",
                   getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID") ? getenv("WATCHDOG_PID") : "unset",
                   strerror(-r));
  if (r == 0) return PG_OK;
  *half_ms = usec / 2000;
  if (*half_ms == 0) *half_ms = 1;
  return PG_OK;
}

int pg_sd_watchdog(pg_diag *d) {
  static uint64_t last_ms;
  static bool sent;
  uint64_t half = 0;
  int rc = pg_sd_watchdog_ms(&half, d);
  if (rc || half == 0) return rc;
  uint64_t now = pg_monotonic_ms();
  if (sent && now - last_ms < half) return PG_OK;
  rc = send_state("WATCHDOG=1", NULL, d);
  if (rc) return rc;
  last_ms = now;
  sent = true;
  return PG_OK;
}
