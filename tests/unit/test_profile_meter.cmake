# meter_profile.c (compiled into the test) makes dso meters too: pg_meter
# brings meter_dso.c and the store.
target_link_libraries(test_profile_meter PRIVATE pg_meter)
