# The meters of the new kinds live in pg_meter (src/meter/meter_profile.c).
target_link_libraries(test_profile_supply PRIVATE pg_meter)
