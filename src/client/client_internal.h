/* client_internal.h — shared between the files of src/client (client.c,
 * local.c, http_batch.c); not a public contract. */
#ifndef P2PGRID_CLIENT_CLIENT_INTERNAL_H
#define P2PGRID_CLIENT_CLIENT_INTERNAL_H

#include <stddef.h>

#include "p2pgrid/client/client.h"

/* pg_client_submit_data_many's follow rule: v[i] follows the item before it
 * and that one was not stored, so v[i] is refused (rc PG_ERR_STATE, in v[i].d);
 * PG_OK otherwise (v[i] untouched). */
int pg_client_follow_rule(pg_client_data *v, size_t i);

/* Submits v[from..n) one by one (pg_client_submit_data), each that is still
 * to submit (rc PG_OK) and passes the follow rule. */
void pg_client_submit_each(pg_client *c, pg_client_data *v, size_t from, size_t n);

/* pg_client_find_many one lookup at a time (find_index, no bytes): each
 * item of v[from..n) still to do (rc PG_OK). */
void pg_client_find_each(pg_client *c, pg_client_found *v, size_t from, size_t n);

/* A copy (malloc'd, into *out) of the len > 0 bytes a node sent as message
 * id: PG_OK; PG_ERR_INVALID when they do not hash to id (BLAKE2b-256: a
 * node's lie; nothing copied); PG_ERR_NOMEM. */
int pg_client_copy_message(const uint8_t *raw, size_t len, const uint8_t id[PG_ID_LEN],
                           uint8_t **out);

/* pg_client_outputs_many one output at a time (output, and get_raw with
 * raw): each item of v[from..n) still to do (rc PG_OK). */
void pg_client_outputs_each(pg_client *c, pg_client_output_got *v, size_t from, size_t n,
                            bool raw);

#endif
