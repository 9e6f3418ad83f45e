/* MAM channel I/O over the node access interface: mamAttach, mamFetch,
 * mamFetchAll (CHRYSALIS.md 10.9, 10.10). */
#include <stdlib.h>
#include <string.h>

#include "mam_internal.h"
#include "p2pgrid/client.h"
#include "p2pgrid/hex.h"

_Static_assert(PG_ID_LEN == 32, "message ids are 32 bytes");

void pg_mam_fetched_free(pg_mam_fetched *f) {
  if (!f) return;
  free(f->message);
  f->message = NULL;
  f->message_len = 0;
}

void pg_mam_fetched_free_all(pg_mam_fetched *list, size_t n) {
  if (!list) return;
  for (size_t i = 0; i < n; i++) pg_mam_fetched_free(&list[i]);
  free(list);
}

int pg_mam_attach(pg_client *c, const pg_mam_message *m, const char *tag, size_t tag_len,
                  uint8_t id[32], pg_diag *d) {
  if (!c || !m || !m->payload || !id) return pg_fail(d, PG_ERR_INVALID, "mam attach: no client or message");
  if (tag_len > PG_MAM_MAX_TAG)
    return pg_fail(d, PG_ERR_INVALID, "mam attach: the tag is longer than 27 trytes");
  uint8_t index[PG_HASH_LEN];
  pg_mam_attach_index(m->address, index);
  pg_buf data;
  pg_buf_init(&data, 1u << 22);
  int rc = pg_mam_attach_data(m->payload, m->payload_len, tag, tag_len, &data);
  if (rc) {
    rc = pg_fail(d, rc, "mam attach: payload or tag is not trytes");
  } else {
    rc = pg_client_submit_data(c, index, sizeof index, data.data, data.len, id, d);
  }
  pg_buf_free(&data);
  return rc;
}

/* decodeMessages for one message JSON: 0 and *out filled if it verifies. */
static int try_message(const json_t *msg, const char *root, const char *key, size_t klen,
                       pg_mam_fetched *out) {
  const json_t *pl = json_object_get(msg, "payload");
  const json_t *type = json_object_get(pl, "type");
  const char *hex = json_string_value(json_object_get(pl, "data"));
  if (!json_is_integer(type) || json_integer_value(type) != 2 || !hex || !*hex)
    return PG_ERR_NOT_FOUND;
  size_t hl = strlen(hex), n = 0;
  uint8_t *bytes = malloc(hl / 2 + 1);
  if (!bytes) return PG_ERR_NOMEM;
  int rc = pg_hex_decode(hex, hl, bytes, hl / 2 + 1, &n);
  char *payload = NULL;
  size_t plen = 0;
  char tag[PG_MAM_MAX_TAG + 1];
  if (!rc) rc = pg_mam_attach_decode(bytes, n, &payload, &plen, tag, NULL);
  free(bytes);
  if (rc) return rc == PG_ERR_NOMEM ? rc : PG_ERR_NOT_FOUND;
  pg_mam_parsed p = {0};
  rc = pg_mam_parse_message(payload, plen, root, key, klen, &p, NULL);
  free(payload);
  if (rc) return rc == PG_ERR_NOMEM ? rc : PG_ERR_NOT_FOUND;
  memcpy(out->root, root, PG_MAM_HASH_TRYTES);
  out->root[PG_MAM_HASH_TRYTES] = '\0';
  out->message = p.message;
  out->message_len = p.message_len;
  memcpy(out->next_root, p.next_root, sizeof out->next_root);
  memcpy(out->tag, tag, sizeof out->tag);
  return PG_OK;
}

int pg_mam_fetch(pg_client *c, const char *root, pg_mam_mode mode, const char *side_key,
                 size_t side_key_len, pg_mam_fetched *out, pg_diag *d) {
  if (!c || !out) return pg_fail(d, PG_ERR_INVALID, "mam fetch: no client or output");
  int rc = mam_check_mode_key(mode, side_key, side_key_len, d);
  if (rc) return rc;
  char address[PG_MAM_HASH_TRYTES + 1];
  if (!root || pg_mam_address(root, mode, address))
    return pg_fail(d, PG_ERR_INVALID, "mam fetch: the root must be 81 trytes");
  uint8_t index[PG_HASH_LEN];
  pg_mam_attach_index(address, index);
  uint8_t(*ids)[PG_ID_LEN] = malloc(PG_MAM_FETCH_MAX_IDS * sizeof *ids);
  if (!ids) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t count = 0, total = 0;
  rc = pg_client_find_index(c, index, sizeof index, ids, PG_MAM_FETCH_MAX_IDS, &count, &total, d);
  if (rc) goto out;
  rc = PG_ERR_NOT_FOUND;
  for (size_t i = 0; i < count && rc == PG_ERR_NOT_FOUND; i++) {
    json_t *msg = NULL;
    if (pg_client_get_json(c, ids[i], &msg, NULL) != PG_OK) continue; /* skipped, as mam.js */
    pg_mam_fetched f;
    memset(&f, 0, sizeof f);
    rc = try_message(msg, root, side_key, side_key_len, &f);
    json_decref(msg);
    if (rc == PG_OK) {
      memcpy(f.message_id, ids[i], PG_ID_LEN);
      *out = f;
    }
  }
  if (rc == PG_ERR_NOT_FOUND)
    pg_fail(d, rc, "mam fetch: none of the %zu messages under the root's index verifies", count);
  else if (rc == PG_ERR_NOMEM)
    pg_fail(d, rc, "out of memory");
out:
  free(ids);
  return rc;
}

int pg_mam_fetch_all(pg_client *c, const char *root, pg_mam_mode mode, const char *side_key,
                     size_t side_key_len, size_t limit, pg_mam_fetched **out, size_t *n,
                     pg_diag *d) {
  if (!out || !n || !root) return pg_fail(d, PG_ERR_INVALID, "mam fetch all: no root or output");
  pg_mam_fetched *list = NULL;
  size_t len = 0, cap = 0;
  char cur[PG_MAM_HASH_TRYTES + 1];
  memcpy(cur, root, strnlen(root, PG_MAM_HASH_TRYTES));
  cur[strnlen(root, PG_MAM_HASH_TRYTES)] = '\0';
  int rc = PG_OK;
  while (limit == 0 || len < limit) {
    pg_mam_fetched f;
    memset(&f, 0, sizeof f);
    rc = pg_mam_fetch(c, cur, mode, side_key, side_key_len, &f, d);
    if (rc) break;
    if (len == cap) {
      size_t nc = cap ? 2 * cap : 8;
      pg_mam_fetched *nl = realloc(list, nc * sizeof *nl);
      if (!nl) {
        pg_mam_fetched_free(&f);
        rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
        break;
      }
      list = nl;
      cap = nc;
    }
    list[len++] = f;
    memcpy(cur, f.next_root, sizeof cur);
  }
  if (rc == PG_ERR_NOT_FOUND || rc == PG_OK) {
    pg_diag_clear(d);
    *out = list;
    *n = len;
    return PG_OK;
  }
  pg_mam_fetched_free_all(list, len);
  return rc;
}
