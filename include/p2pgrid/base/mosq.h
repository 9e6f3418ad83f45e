/* p2pgrid/base/mosq.h — libmosquitto, loaded on first use (dl.h).
 *
 * Include this instead of <mosquitto.h>: the mosquitto_* functions the
 * project calls are then calls through a table that pg_mosq_load fills
 * (once, and mosquitto_lib_init with it). Call pg_mosq_load before the first
 * mosquitto_* call of a code path; it fails with PG_ERR_UNSUPPORTED and a
 * diagnostic naming the package when libmosquitto1 is not installed.
 * A function not listed in PG_MOSQ_FNS is not available: add it there.
 * Ownership: the function table is static, filled once, never freed; what
 * the mosquitto_* calls create is the caller's, as libmosquitto documents.
 * Errors: pg_mosq_load returns PG_ERR_UNSUPPORTED with the package named in
 * the optional pg_diag; the mosquitto_* calls return libmosquitto's codes.
 * Threads: as dl.h; the functions as libmosquitto documents them. */
#ifndef P2PGRID_BASE_MOSQ_H
#define P2PGRID_BASE_MOSQ_H

#include <mosquitto.h>

#include "p2pgrid/base/dl.h"
#include "p2pgrid/base/err.h"

#define PG_MOSQ_FNS(X)                                                                             \
  X(mosquitto_connack_string)                                                                      \
  X(mosquitto_connect_async)                                                                       \
  X(mosquitto_connect_callback_set)                                                                \
  X(mosquitto_destroy)                                                                             \
  X(mosquitto_disconnect)                                                                          \
  X(mosquitto_disconnect_callback_set)                                                             \
  X(mosquitto_lib_init)                                                                            \
  X(mosquitto_loop_start)                                                                          \
  X(mosquitto_loop_stop)                                                                           \
  X(mosquitto_message_callback_set)                                                                \
  X(mosquitto_new)                                                                                 \
  X(mosquitto_publish)                                                                             \
  X(mosquitto_publish_callback_set)                                                                \
  X(mosquitto_reconnect_delay_set)                                                                 \
  X(mosquitto_strerror)                                                                            \
  X(mosquitto_sub_topic_check)                                                                     \
  X(mosquitto_subscribe)                                                                           \
  X(mosquitto_subscribe_callback_set)                                                              \
  X(mosquitto_tls_set)                                                                             \
  X(mosquitto_username_pw_set)

typedef struct pg_mosq_fns {
  PG_MOSQ_FNS(PG_DL_FIELD)
} pg_mosq_fns;
extern pg_mosq_fns pg_mosq;

/* Loads libmosquitto and runs mosquitto_lib_init, once. */
PG_NODISCARD int pg_mosq_load(pg_diag *d);

#ifndef PG_MOSQ_LOADER
#define mosquitto_connack_string (pg_mosq.mosquitto_connack_string)
#define mosquitto_connect_async (pg_mosq.mosquitto_connect_async)
#define mosquitto_connect_callback_set (pg_mosq.mosquitto_connect_callback_set)
#define mosquitto_destroy (pg_mosq.mosquitto_destroy)
#define mosquitto_disconnect (pg_mosq.mosquitto_disconnect)
#define mosquitto_disconnect_callback_set (pg_mosq.mosquitto_disconnect_callback_set)
#define mosquitto_lib_init (pg_mosq.mosquitto_lib_init)
#define mosquitto_loop_start (pg_mosq.mosquitto_loop_start)
#define mosquitto_loop_stop (pg_mosq.mosquitto_loop_stop)
#define mosquitto_message_callback_set (pg_mosq.mosquitto_message_callback_set)
#define mosquitto_new (pg_mosq.mosquitto_new)
#define mosquitto_publish (pg_mosq.mosquitto_publish)
#define mosquitto_publish_callback_set (pg_mosq.mosquitto_publish_callback_set)
#define mosquitto_reconnect_delay_set (pg_mosq.mosquitto_reconnect_delay_set)
#define mosquitto_strerror (pg_mosq.mosquitto_strerror)
#define mosquitto_sub_topic_check (pg_mosq.mosquitto_sub_topic_check)
#define mosquitto_subscribe (pg_mosq.mosquitto_subscribe)
#define mosquitto_subscribe_callback_set (pg_mosq.mosquitto_subscribe_callback_set)
#define mosquitto_tls_set (pg_mosq.mosquitto_tls_set)
#define mosquitto_username_pw_set (pg_mosq.mosquitto_username_pw_set)
#endif

#endif
