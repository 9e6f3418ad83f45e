/* DSMR P1 telegrams from /work/shared/specs/DEVICES.md, for the unit tests
 * and the fuzz target's seeds: the Kaifa E0025 capture of §B4 (CRC 3FB0,
 * checked there against the published CRC) and the invented DSMR 5
 * telegram of §B8 (CRC 66BE). CR LF after every line; the backslash of
 * the §B8 header is data. */
#ifndef P2PGRID_TEST_P1_TELEGRAMS_H
#define P2PGRID_TEST_P1_TELEGRAMS_H

#define P1L(x) x "\r\n"

#define P1_KAIFA_BODY                                                                     \
  P1L("/KFM5KAIFA-METER") P1L("") P1L("1-3:0.2.8(42)") P1L("0-0:1.0.0(160315195248W)")       \
  P1L("0-0:96.1.1(4530303235303030303336313836323135)") P1L("1-0:1.8.1(000234.402*kWh)")     \
  P1L("1-0:1.8.2(000213.314*kWh)") P1L("1-0:2.8.1(000000.000*kWh)")                          \
  P1L("1-0:2.8.2(000000.000*kWh)") P1L("0-0:96.14.0(0002)") P1L("1-0:1.7.0(00.741*kW)")      \
  P1L("1-0:2.7.0(00.000*kW)") P1L("0-0:96.7.21(00009)") P1L("0-0:96.7.9(00005)")             \
  P1L("1-0:99.97.0(1)(0-0:96.7.19)(000101000001W)(2147483647*s)")                            \
  P1L("1-0:32.32.0(00000)") P1L("1-0:32.36.0(00000)") P1L("0-0:96.13.1()")                   \
  P1L("0-0:96.13.0()") P1L("1-0:31.7.0(003*A)") P1L("1-0:21.7.0(00.741*kW)")                 \
  P1L("1-0:22.7.0(00.000*kW)") P1L("0-1:24.1.0(003)")                                        \
  P1L("0-1:96.1.0(4730303139333430323339363231313135)")                                      \
  P1L("0-1:24.2.1(160315190000W)(00426.101*m3)") "!"
#define P1_KAIFA P1_KAIFA_BODY P1L("3FB0")

#define P1_B8_HEAD                                                                       \
  P1L("/XYZ5\\2DEMO-METER-01") P1L("") P1L("1-3:0.2.8(50)") P1L("0-0:1.0.0(240612143015S)")  \
  P1L("0-0:96.1.1(4530303030303030303030303030303031)")
#define P1_B8_REGISTERS                                                                  \
  P1L("1-0:1.8.1(001234.567*kWh)") P1L("1-0:1.8.2(002345.678*kWh)")                          \
  P1L("1-0:2.8.1(000456.789*kWh)") P1L("1-0:2.8.2(001012.345*kWh)")
#define P1_B8_TAIL                                                                       \
  P1L("0-0:96.14.0(0002)") P1L("1-0:1.7.0(00.000*kW)") P1L("1-0:2.7.0(01.844*kW)")           \
  P1L("0-0:96.7.21(00007)") P1L("0-0:96.7.9(00002)")                                         \
  P1L("1-0:99.97.0(1)(0-0:96.7.19)(230105091214W)(0000000412*s)") P1L("1-0:32.32.0(00001)")  \
  P1L("1-0:52.32.0(00000)") P1L("1-0:72.32.0(00000)") P1L("1-0:32.36.0(00000)")              \
  P1L("1-0:52.36.0(00000)") P1L("1-0:72.36.0(00000)") P1L("0-0:96.13.0()")                   \
  P1L("1-0:32.7.0(236.4*V)") P1L("1-0:52.7.0(235.9*V)") P1L("1-0:72.7.0(237.1*V)")           \
  P1L("1-0:31.7.0(003*A)") P1L("1-0:51.7.0(002*A)") P1L("1-0:71.7.0(007*A)")                 \
  P1L("1-0:21.7.0(00.000*kW)") P1L("1-0:41.7.0(00.412*kW)") P1L("1-0:61.7.0(00.000*kW)")     \
  P1L("1-0:22.7.0(00.698*kW)") P1L("1-0:42.7.0(00.000*kW)") P1L("1-0:62.7.0(01.558*kW)")     \
  P1L("0-1:24.1.0(003)") P1L("0-1:96.1.0(4730303030303030303030303030303031)")               \
  P1L("0-1:24.2.1(240612143000S)(03456.789*m3)")
#define P1_B8_BODY P1_B8_HEAD P1_B8_REGISTERS P1_B8_TAIL "!"
#define P1_B8 P1_B8_BODY P1L("66BE")
#define P1_B8_BAD_CRC P1_B8_BODY P1L("67BE")

/* A DSMR 5 telegram stamped t_ms (winter time, UTC+1) with the four energy
 * registers in Wh and its CRC (corrupt: a CRC of other bytes), for tests
 * that play a meter; returns its length. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/meter/p1.h"

static inline size_t p1_test_telegram(char *out, size_t cap, int64_t t_ms, int64_t imp1,
                                      int64_t imp2, int64_t exp1, int64_t exp2, bool corrupt) {
  time_t loc = (time_t)(t_ms / 1000 + 3600);
  struct tm tm;
  gmtime_r(&loc, &tm);
  char body[1024];
  snprintf(body, sizeof body,
           "/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(%02d%02d%02d%02d%02d%02dW)\r\n"
           "0-0:96.1.1(4B384547303034303436333935353037)\r\n"
           "1-0:1.8.1(%06lld.%03lld*kWh)\r\n1-0:1.8.2(%06lld.%03lld*kWh)\r\n"
           "1-0:2.8.1(%06lld.%03lld*kWh)\r\n1-0:2.8.2(%06lld.%03lld*kWh)\r\n0-0:96.14.0(0001)\r\n"
           "1-0:1.7.0(10.800*kW)\r\n1-0:2.7.0(00.000*kW)\r\n0-1:24.1.0(003)\r\n"
           "0-1:24.2.1(%02d%02d%02d%02d0000W)(00012.345*m3)\r\n!",
           tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (long long)(imp1 / 1000), (long long)(imp1 % 1000), (long long)(imp2 / 1000),
           (long long)(imp2 % 1000), (long long)(exp1 / 1000), (long long)(exp1 % 1000),
           (long long)(exp2 / 1000), (long long)(exp2 % 1000), tm.tm_year % 100, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour);
  unsigned crc = pg_p1_crc16(body, strlen(body)) ^ (corrupt ? 0x0101u : 0u);
  return (size_t)snprintf(out, cap, "%s%04X\r\n", body, crc);
}

#endif
