/* app_tls.c — the [tls] and [api] security settings every entity daemon
 * shares: its member certificate and key, the community CA and CRL, the
 * names it answers to, connection limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "p2pgrid/base/log.h"

int pg_app_tls_load(const char *cmd, pg_config *cfg, pg_app_tls *t) {
  pg_diag d = {{0}};
  memset(t, 0, sizeof *t);
  const char *need[] = {"cert", "key", "ca"};
  for (size_t i = 0; i < 3; i++)
    if (pg_config_require(cfg, "tls", need[i], &d)) {
      fprintf(stderr,
              "p2pgrid %s: %s\n(every entity is a member: [tls] cert, key and ca name the files"
              " `p2pgrid ca issue` wrote; see docs/SECURITY.md)\n",
              cmd, d.msg);
      return PG_EXIT_USAGE;
    }
  uint64_t idle = 0;
  if (pg_config_get_str(cfg, "tls", "cert", NULL, &t->files.cert_file, &d) ||
      pg_config_get_str(cfg, "tls", "key", NULL, &t->files.key_file, &d) ||
      pg_config_get_str(cfg, "tls", "ca", NULL, &t->files.ca_file, &d) ||
      pg_config_get_str(cfg, "tls", "crl", NULL, &t->files.crl_file, &d) ||
      pg_config_get_list(cfg, "api", "hosts", NULL, PG_APP_TLS_HOSTS, &t->hosts, &d) ||
      pg_config_get_u64(cfg, "api", "max_connections", 64, 1, 100000, &t->max_connections, &d) ||
      pg_config_get_u64(cfg, "api", "max_connections_per_client", 16, 1, 100000, &t->per_client,
                        &d) ||
      pg_config_get_duration_ms(cfg, "api", "idle_timeout", 30000, 1000, 3600000, &idle, &d)) {
    fprintf(stderr, "p2pgrid %s: %s\n", cmd, d.msg);
    return PG_EXIT_USAGE;
  }
  t->idle_timeout_s = (unsigned)(idle / 1000);
  if (pg_tls_key_load(t->files.key_file, t->files.cert_file, &t->member, &d) ||
      pg_tls_trust_open(t->files.ca_file, t->files.crl_file, &t->trust, &d)) {
    fprintf(stderr, "p2pgrid %s: [tls] %s\n", cmd, d.msg);
    pg_app_tls_free(t);
    return PG_EXIT_USAGE;
  }
  size_t n = 0;
  const uint8_t *der = pg_tls_key_cert_der(t->member, &n);
  if (pg_member_from_cert(der, n, &t->me, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid %s: [tls] cert %s: %s\n", cmd, t->files.cert_file, d.msg);
    pg_app_tls_free(t);
    return PG_EXIT_USAGE;
  }
  /* the names a client may use for us: [api] hosts, else our certificate's */
  if (t->hosts.n) {
    for (size_t i = 0; i < t->hosts.n; i++) t->host_ptrs[i] = t->hosts.items[i];
    t->nhosts = t->hosts.n;
  } else {
    for (size_t i = 0; i < t->me.nnames && i < PG_APP_TLS_HOSTS; i++)
      t->host_ptrs[i] = t->me.names[i];
    t->nhosts = t->me.nnames < PG_APP_TLS_HOSTS ? t->me.nnames : PG_APP_TLS_HOSTS;
  }
  return PG_EXIT_OK;
}

int pg_app_tls_check_member(const char *cmd, const pg_app_tls *t, const char *id,
                            pg_role role) {
  if (strcmp(t->me.id, id) != 0 || t->me.role != role) {
    fprintf(stderr,
            "p2pgrid %s: [tls] cert %s is for %s '%s', but this is %s '%s'\n", cmd,
            t->files.cert_file, pg_role_name(t->me.role) ? pg_role_name(t->me.role) : "?",
            t->me.id, pg_role_name(role), id);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

void pg_app_tls_free(pg_app_tls *t) {
  pg_tls_key_free(t->member);
  pg_tls_trust_free(t->trust);
  pg_config_list_free(&t->hosts);
  memset(t, 0, sizeof *t);
}
