# test_httpd_tls: HTTPS is tested with the project's client (pg_http_call
# with pg_tls_files), a test-only dependency: pg_httpd does not link pg_client.
target_link_libraries(test_httpd_tls PRIVATE pg_client pg_tls)
