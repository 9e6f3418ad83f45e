# test_meter_sunspec_poll plays the device with libmodbus itself (pg_meter
# loads the library on first use, modbus_dl.h, and does not link it).
target_link_libraries(test_meter_sunspec_poll PRIVATE PkgConfig::MODBUS)
