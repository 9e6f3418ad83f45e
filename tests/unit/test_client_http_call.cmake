# test_client_http_call: pg_http_call against a real pg_httpd server (a
# test-only dependency: pg_client does not link the server).
target_link_libraries(test_client_http_call PRIVATE pg_httpd)
