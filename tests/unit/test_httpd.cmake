# test_httpd: the server is tested with plain libcurl (not pg_client, so the
# server's test does not depend on the client) and serves an embedded fixture.
include(${CMAKE_SOURCE_DIR}/cmake/embed.cmake)
pg_embed_assets(test_httpd fixture_assets ${CMAKE_CURRENT_LIST_DIR}/assets_fixture)
target_link_libraries(test_httpd PRIVATE PkgConfig::CURL)
