#!/usr/bin/python3
"""A SunSpec device for integration/meter_sunspec: a real pymodbus Modbus TCP
server on 127.0.0.1 holding, from register 40000, "SunS", the common model 1
(L 66) and an integer inverter model 103 (L 50, W and WH with their scale
factors, as in DEVICES.md §A8), then the end marker. The test moves the
lifetime energy counter WH (acc32 at 40070 + 24, WH_SF 0) by writing those two
registers (function 16) itself.

usage: sunspec_server.py PORT WH   (WH: the counter's start value, Wh)
Reads at 0 and 50000 get "illegal data address" like a real device's.
Exits 77 when pymodbus (or the pyserial its server imports) is missing (the test skips then)."""
import sys

try:
    from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                    ModbusSlaveContext)
    from pymodbus.server import StartTcpServer
except ImportError as e:  # pymodbus itself, or pyserial its server imports
    sys.stderr.write(f"sunspec_server.py: cannot import pymodbus's server: {e} "
                     "(apt-get install python3-pymodbus python3-serial-asyncio, or scripts/bootstrap)\n")
    sys.exit(77)

BASE = 40000


def chars(text, regs):
    raw = text.encode("ascii").ljust(2 * regs, b"\0")
    return [raw[2 * i] << 8 | raw[2 * i + 1] for i in range(regs)]


def image(wh):
    common = [1, 66] + chars("p2pgrid test", 16) + chars("SunSpec 103", 16) \
        + chars("", 8) + chars("1.0", 8) + chars("IT-0001", 16) + [1, 0]
    inv = [0xFFFF] * 52
    inv[0:2] = [103, 50]
    inv[2:7] = [1234, 412, 409, 413, 0xFFFE]        # A, AphA..C, A_SF
    inv[14:16] = [2500, 0]                          # W 2500, W_SF 0
    inv[16:18] = [5000, 0xFFFE]                     # Hz
    inv[18:24] = [0x8000] * 6
    inv[24:27] = [wh >> 16 & 0xFFFF, wh & 0xFFFF, 0]  # WH, WH_SF 0
    inv[38] = 4                                     # MPPT
    return [0x5375, 0x6E53] + common + inv + [0xFFFF, 0]


def main():
    port, wh = int(sys.argv[1]), int(sys.argv[2])
    block = ModbusSequentialDataBlock(BASE, image(wh))
    slave = ModbusSlaveContext(hr=block, zero_mode=True)
    context = ModbusServerContext(slaves=slave, single=True)
    StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
