/* meter.c — the meter interface's dispatch and pg_meter_from_config. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/file.h"
#include "p2pgrid/meter/meter.h"

/* The profile and CSV meters (meter_profile.c, meter_csv.c on pg_profile). */
#include "p2pgrid/meter/meter_profile.h"
/* The grid operator's values (meter_dso.c). */
#include "p2pgrid/meter/dso.h"
/* SunSpec over Modbus TCP (meter_sunspec.c). */
#include "p2pgrid/meter/sunspec.h"

#define PASSWORD_FILE_MAX 1024

int pg_meter_energy(pg_meter *m, uint64_t from_ms, uint64_t to_ms, int64_t *wh, pg_diag *d) {
  if (!m || !m->ops || !m->ops->energy || !wh) return pg_fail(d, PG_ERR_INVALID, "no meter");
  if (from_ms >= to_ms)
    return pg_fail(d, PG_ERR_INVALID, "meter window [%llu, %llu) is empty",
                   (unsigned long long)from_ms, (unsigned long long)to_ms);
  int64_t v = 0;
  int rc = m->ops->energy(m, from_ms, to_ms, &v, d);
  if (rc != PG_OK) return rc;
  if (v < 0)
    return pg_fail(d, PG_ERR_INVALID, "%s meter gave a negative energy (%lld Wh)",
                   pg_meter_kind(m), (long long)v);
  *wh = v;
  return PG_OK;
}

const char *pg_meter_kind(const pg_meter *m) {
  return m && m->ops && m->ops->kind ? m->ops->kind : "unknown";
}

void pg_meter_free(pg_meter *m) {
  if (m && m->ops && m->ops->destroy) m->ops->destroy(m);
}

/* "<file>:<line>: [section] key" for a key's diagnostics. config.h has no
 * public way to ask where a key was set, so this provokes the getter's own
 * message (an i64 range that nothing satisfies) and keeps its location part,
 * "...: [section] key" before ": '<value>' is not ...". */
static void key_where(pg_config *cfg, const char *section, const char *key, char *out,
                      size_t cap) {
  pg_diag t = {{0}};
  int64_t dummy;
  char needle[96];
  snprintf(out, cap, "[%.48s] %.48s", section, key);
  if (pg_config_get_i64(cfg, section, key, 0, 1, 0, &dummy, &t) == PG_OK) return;
  if (section[0])
    snprintf(needle, sizeof needle, "] %.48s: '", key);
  else
    snprintf(needle, sizeof needle, ": %.48s: '", key);
  char *p = strstr(t.msg, needle);
  if (!p) return;
  p[strlen(needle) - 3] = '\0'; /* cut before ": '" */
  snprintf(out, cap, "%s", t.msg);
}

/* Reads the password: the whole file, one trailing "\n" or "\r\n" removed. */
static int read_password(const char *path, const char *where, char *out, size_t cap,
                         pg_diag *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return pg_fail(d, PG_ERR_IO, "%s: cannot open '%.100s': %s", where, path, strerror(errno));
  struct stat st;
  int rc = PG_OK;
  size_t len = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = pg_fail(d, PG_ERR_IO, "%s: '%.100s' is not a regular file", where, path);
    goto out;
  }
  uint8_t *buf = NULL;
  rc = pg_read_fd_capped(fd, where, cap - 1, &buf, &len, d);
  if (rc == PG_ERR_TOO_LARGE)
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: '%.100s' is longer than %zu bytes", where, path, cap - 1);
  if (rc) goto out;
  memcpy(out, buf, len);
  explicit_bzero(buf, len);
  free(buf);
  if (len && out[len - 1] == '\n') len--;
  if (len && out[len - 1] == '\r') len--;
  out[len] = '\0';
  if (len == 0) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: '%.100s' is empty", where, path);
    goto out;
  }
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
      rc = pg_fail(d, PG_ERR_CONFIG,
                   "%s: '%.100s' holds a control character (one line, the password only)",
                   where, path);
      goto out;
    }
  }
out:
  close(fd);
  if (rc) explicit_bzero(out, cap);
  return rc;
}

static int mqtt_from_config(pg_config *cfg, const char *s, pg_meter **out, pg_diag *d) {
  pg_meter_mqtt_opts o = {0};
  const char *unit = NULL, *password_file = NULL;
  char where[200];
  int port = 1883, rc;
  if ((rc = pg_config_require(cfg, s, "host", d)) || (rc = pg_config_require(cfg, s, "topic", d)) ||
      (rc = pg_config_require(cfg, s, "unit", d)))
    return rc;
  if ((rc = pg_config_get_str(cfg, s, "host", NULL, &o.host, d)) ||
      (rc = pg_config_get_int(cfg, s, "port", 1883, 1, 65535, &port, d)) ||
      (rc = pg_config_get_str(cfg, s, "topic", NULL, &o.topic, d)) ||
      (rc = pg_config_get_str(cfg, s, "unit", NULL, &unit, d)) ||
      (rc = pg_config_get_str(cfg, s, "json_key", NULL, &o.json_key, d)) ||
      (rc = pg_config_get_str(cfg, s, "client_id", NULL, &o.client_id, d)) ||
      (rc = pg_config_get_str(cfg, s, "username", NULL, &o.username, d)) ||
      (rc = pg_config_get_str(cfg, s, "password_file", NULL, &password_file, d)) ||
      (rc = pg_config_get_duration_ms(cfg, s, "stale", 60000, 1, 7ull * 86400000, &o.stale_ms,
                                      d)))
    return rc;
  o.port = (uint16_t)port;
  if (pg_config_has(cfg, s, "password")) {
    key_where(cfg, s, "password", where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG,
                   "%s: passwords are not read from the configuration; put it in a file and "
                   "set password_file",
                   where);
  }
  if (strcmp(unit, "power_w") == 0) {
    o.kind = PG_METER_POWER_W;
  } else if (strcmp(unit, "energy_wh") == 0) {
    o.kind = PG_METER_ENERGY_WH;
  } else if (strcmp(unit, "energy_kwh") == 0) {
    o.kind = PG_METER_ENERGY_KWH;
  } else {
    key_where(cfg, s, "unit", where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG, "%s: '%.40s' is not power_w, energy_wh or energy_kwh",
                   where, unit);
  }
  struct {
    const char *key, *val;
  } nonempty[] = {{"host", o.host}, {"topic", o.topic}, {"json_key", o.json_key},
                  {"client_id", o.client_id}, {"username", o.username},
                  {"password_file", password_file}};
  for (size_t i = 0; i < sizeof nonempty / sizeof nonempty[0]; i++) {
    if (nonempty[i].val && !nonempty[i].val[0]) {
      key_where(cfg, s, nonempty[i].key, where, sizeof where);
      return pg_fail(d, PG_ERR_CONFIG, "%s: must not be empty", where);
    }
  }
  char password[PASSWORD_FILE_MAX + 1];
  if (password_file) {
    key_where(cfg, s, "password_file", where, sizeof where);
    if (!o.username)
      return pg_fail(d, PG_ERR_CONFIG, "%s: a password needs a username (set username)", where);
    rc = read_password(password_file, where, password, sizeof password, d);
    if (rc) return rc;
    o.password = password;
  }
  pg_diag md = {{0}};
  rc = pg_meter_mqtt_new(&o, out, &md);
  if (password_file) explicit_bzero(password, sizeof password);
  if (rc) {
    char sec[64];
    snprintf(sec, sizeof sec, "[%.48s]", s);
    return pg_fail(d, rc == PG_ERR_INVALID ? PG_ERR_CONFIG : rc, "%s: %s", sec, md.msg);
  }
  return PG_OK;
}

/* kind = p1: host + port (TCP) or device (serial); quantity; stale; idle. */
static int p1_from_config(pg_config *cfg, const char *s, pg_meter **out, pg_diag *d) {
  pg_meter_p1_opts o = {0};
  const char *quantity = NULL;
  char where[200];
  int port = 0, rc;
  if ((rc = pg_config_require(cfg, s, "quantity", d)) ||
      (rc = pg_config_get_str(cfg, s, "host", NULL, &o.host, d)) ||
      (rc = pg_config_get_int(cfg, s, "port", 0, 1, 65535, &port, d)) ||
      (rc = pg_config_get_str(cfg, s, "device", NULL, &o.device, d)) ||
      (rc = pg_config_get_str(cfg, s, "quantity", NULL, &quantity, d)) ||
      (rc = pg_config_get_duration_ms(cfg, s, "stale", 60000, 1, 7ull * 86400000, &o.stale_ms,
                                      d)) ||
      (rc = pg_config_get_duration_ms(cfg, s, "idle", 60000, 1000, 86400000, &o.idle_ms, d)))
    return rc;
  o.port = (uint16_t)port;
  if ((o.host != NULL) == (o.device != NULL) || (o.host && !port) || (!o.host && port)) {
    key_where(cfg, s, o.device ? "device" : o.host ? "host" : "kind", where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG,
                   "%s: a p1 meter reads either host and port (a TCP dongle) or device (a serial "
                   "port), not both or neither",
                   where);
  }
  if (strcmp(quantity, "import") == 0) {
    o.quantity = PG_METER_P1_IMPORT;
  } else if (strcmp(quantity, "export") == 0) {
    o.quantity = PG_METER_P1_EXPORT;
  } else if (strcmp(quantity, "net") == 0) {
    o.quantity = PG_METER_P1_NET;
  } else {
    key_where(cfg, s, "quantity", where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG, "%s: '%.40s' is not import, export or net", where, quantity);
  }
  if ((o.host && !o.host[0]) || (o.device && !o.device[0])) {
    key_where(cfg, s, o.host ? "host" : "device", where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG, "%s: must not be empty", where);
  }
  pg_diag md = {{0}};
  rc = pg_meter_p1_new(&o, out, &md);
  if (rc)
    return pg_fail(d, rc == PG_ERR_INVALID ? PG_ERR_CONFIG : rc, "[%.48s]: %s", s, md.msg);
  return PG_OK;
}

static int sunspec_from_config(pg_config *cfg, const char *s, pg_meter **out, pg_diag *d) {
  pg_meter_sunspec_opts o = {0};
  const char *q = NULL;
  char where[200];
  int port = 502, rc;
  int64_t max_w = 10000000;
  if ((rc = pg_config_require(cfg, s, "host", d)) ||
      (rc = pg_config_require(cfg, s, "quantity", d)) ||
      (rc = pg_config_get_str(cfg, s, "host", NULL, &o.host, d)) ||
      (rc = pg_config_get_int(cfg, s, "port", 502, 1, 65535, &port, d)) ||
      (rc = pg_config_get_int(cfg, s, "unit_id", 1, 1, 255, &o.unit_id, d)) ||
      (rc = pg_config_get_str(cfg, s, "quantity", NULL, &q, d)) ||
      (rc = pg_config_get_duration_ms(cfg, s, "poll", 1000, 100, 3600000, &o.poll_ms, d)) ||
      (rc = pg_config_get_duration_ms(cfg, s, "timeout", 2000, 100, 60000, &o.timeout_ms, d)) ||
      (rc = pg_config_get_duration_ms(cfg, s, "stale", 60000, 1, 7ull * 86400000, &o.stale_ms,
                                      d)) ||
      (rc = pg_config_get_i64(cfg, s, "max_w", 10000000, 1, 1000000000000LL, &max_w, d)))
    return rc;
  o.port = (uint16_t)port;
  o.max_w = max_w;
  if (strcmp(q, "inverter") == 0) {
    o.quantity = PG_SUNSPEC_Q_INVERTER;
  } else if (strcmp(q, "export") == 0) {
    o.quantity = PG_SUNSPEC_Q_EXPORT;
  } else if (strcmp(q, "import") == 0) {
    o.quantity = PG_SUNSPEC_Q_IMPORT;
  } else {
    key_where(cfg, s, "quantity", where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG, "%s: '%.40s' is not inverter, export or import", where, q);
  }
  if (!o.host[0] || (o.unit_id > 247 && o.unit_id != 255)) {
    const char *key = o.host[0] ? "unit_id" : "host";
    key_where(cfg, s, key, where, sizeof where);
    return pg_fail(d, PG_ERR_CONFIG, "%s: %s", where,
                   o.host[0] ? "must be 1-247 or 255" : "must not be empty");
  }
  pg_diag md = {{0}};
  rc = pg_meter_sunspec_new(&o, out, &md);
  if (rc)
    return pg_fail(d, rc == PG_ERR_INVALID ? PG_ERR_CONFIG : rc, "[%.48s]: %s", s, md.msg);
  return PG_OK;
}

int pg_meter_from_config(pg_config *cfg, const char *section, uint64_t seed, pg_meter **out,
                         pg_diag *d) {
  const char *kind = NULL;
  char where[200];
  int rc;
  (void)seed; /* used by the profile meters only */
  if (!cfg || !section || !out) return pg_fail(d, PG_ERR_INVALID, "meter: no configuration");
  *out = NULL;
  if ((rc = pg_config_require(cfg, section, "kind", d))) return rc;
  if ((rc = pg_config_get_str(cfg, section, "kind", NULL, &kind, d))) return rc;
  if (strcmp(kind, "mqtt") == 0) return mqtt_from_config(cfg, section, out, d);
  if (strcmp(kind, "dso") == 0) return pg_meter_dso_from_config(cfg, section, out, d);
  if (strcmp(kind, "p1") == 0) return p1_from_config(cfg, section, out, d);
  if (strcmp(kind, "sunspec") == 0) return sunspec_from_config(cfg, section, out, d);
  if (pg_meter_profile_kind(kind)) return pg_meter_profile_from_config(cfg, section, kind, seed, out, d);
  key_where(cfg, section, "kind", where, sizeof where);
  return pg_fail(d, PG_ERR_CONFIG,
                 "%s: unknown meter kind '%.40s' (use solar, wind, household, csv, water, heat, well, rain-tank, boiler, mqtt, dso, p1 or sunspec)",
                 where, kind);
}
