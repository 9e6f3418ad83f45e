# test_meter_mqtt plays the device with libmosquitto itself (pg_meter loads
# the library on first use, p2pgrid/base/mosq.h, and does not link it).
target_link_libraries(test_meter_mqtt PRIVATE PkgConfig::MOSQUITTO)
