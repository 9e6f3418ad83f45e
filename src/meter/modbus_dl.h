/* modbus_dl.h — libmodbus, loaded on first use (p2pgrid/base/dl.h): only a
 * SunSpec meter speaks Modbus, so other daemons do not map it. Include
 * instead of <modbus.h>; call pg_modbus_load before the first modbus_* call. */
#ifndef P2PGRID_METER_MODBUS_DL_H
#define P2PGRID_METER_MODBUS_DL_H

#include <modbus.h>

#include "p2pgrid/base/dl.h"

#define PG_MODBUS_FNS(X)                                                                           \
  X(modbus_close)                                                                                  \
  X(modbus_connect)                                                                                \
  X(modbus_free)                                                                                   \
  X(modbus_new_tcp_pi)                                                                             \
  X(modbus_read_registers)                                                                         \
  X(modbus_set_error_recovery)                                                                     \
  X(modbus_set_response_timeout)                                                                   \
  X(modbus_set_slave)                                                                              \
  X(modbus_strerror)

typedef struct pg_modbus_fns {
  PG_MODBUS_FNS(PG_DL_FIELD)
} pg_modbus_fns;
extern pg_modbus_fns pg_modbus;

/* Loads libmodbus.so.5 once; PG_ERR_UNSUPPORTED naming libmodbus5 when absent. */
PG_NODISCARD int pg_modbus_load(pg_diag *d);

#ifndef PG_MODBUS_LOADER
#define modbus_close (pg_modbus.modbus_close)
#define modbus_connect (pg_modbus.modbus_connect)
#define modbus_free (pg_modbus.modbus_free)
#define modbus_new_tcp_pi (pg_modbus.modbus_new_tcp_pi)
#define modbus_read_registers (pg_modbus.modbus_read_registers)
#define modbus_set_error_recovery (pg_modbus.modbus_set_error_recovery)
#define modbus_set_response_timeout (pg_modbus.modbus_set_response_timeout)
#define modbus_set_slave (pg_modbus.modbus_set_slave)
#define modbus_strerror (pg_modbus.modbus_strerror)
#endif

#endif
