/* p2pgrid/base/json.h — thin glue over jansson: parsing with a useful diagnostic,
 * typed field getters that name the field on failure, compact dumping.
 *
 * Contract:
 * - Parsing rejects duplicate object keys and "\u0000" in strings (so every
 *   JSON string is also a valid C string), and trailing garbage.
 * - Getters take a JSON object `obj` (anything else -> PG_ERR_INVALID) and a
 *   trusted, NUL-terminated field name. A missing required field is
 *   PG_ERR_INVALID ("missing field 'x'"); a wrong type or an out-of-range value
 *   is PG_ERR_INVALID; a value that does not fit the caller's buffer is
 *   PG_ERR_TOO_LARGE. Optional getters ("opt") treat a missing field and a
 *   JSON null alike: the default is stored and 0 returned.
 * - On failure, outputs are left unchanged.
 *
 * Errors: every fallible function returns 0 or a negative pg_err and, on
 * failure, writes one sentence into the optional pg_diag naming the field and
 * the problem, e.g. "field 'amount': expected an integer, got a string".
 * Ownership: pg_json_parse gives the caller a new reference (json_decref
 * it). Strings and objects returned by getters are borrowed from obj and
 * live as long as obj does.
 * Threads: no state of its own; a json_t (with what is borrowed from it)
 * is used by one thread at a time, as jansson requires. */
#ifndef P2PGRID_BASE_JSON_H
#define P2PGRID_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

/* pg_json_parse flags */
#define PG_JSON_OBJECT 0x1 /* the root must be an object */

/* Parses len bytes (need not be NUL-terminated). On a syntax error the diag
 * reads "JSON line L column C: <what>". *out gets a new reference. */
PG_NODISCARD int pg_json_parse(const void *data, size_t len, int flags, json_t **out,
                               pg_diag *d);

/* String field. *len (optional) gets its length in bytes (no NULs inside). */
PG_NODISCARD int pg_json_get_str(const json_t *obj, const char *key, const char **out,
                                 size_t *len, pg_diag *d);
/* Optional string: missing or null -> *out = def (may be NULL), *len = def's length. */
PG_NODISCARD int pg_json_opt_str(const json_t *obj, const char *key, const char *def,
                                 const char **out, size_t *len, pg_diag *d);

/* JSON integers (not reals, not strings). jansson holds at most INT64_MAX. */
PG_NODISCARD int pg_json_get_i64(const json_t *obj, const char *key, int64_t *out, pg_diag *d);
PG_NODISCARD int pg_json_get_u64(const json_t *obj, const char *key, uint64_t *out, pg_diag *d);
PG_NODISCARD int pg_json_get_u32(const json_t *obj, const char *key, uint32_t *out, pg_diag *d);
/* Integer in [min, max]. */
PG_NODISCARD int pg_json_get_u64_range(const json_t *obj, const char *key, uint64_t min,
                                       uint64_t max, uint64_t *out, pg_diag *d);
PG_NODISCARD int pg_json_opt_u64(const json_t *obj, const char *key, uint64_t def,
                                 uint64_t *out, pg_diag *d);

/* Unsigned decimal in a JSON string, e.g. "18446744073709551615": 1..20
 * digits, no sign, no spaces, no leading zeros (except "0"), no overflow. */
PG_NODISCARD int pg_json_get_u64_str(const json_t *obj, const char *key, uint64_t *out,
                                     pg_diag *d);

/* Hex string (either case, no "0x") decoding to exactly n bytes. */
PG_NODISCARD int pg_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n,
                                 pg_diag *d);
/* Hex string decoding to at most cap bytes; *n gets the count. */
PG_NODISCARD int pg_json_get_hex_var(const json_t *obj, const char *key, uint8_t *out,
                                     size_t cap, size_t *n, pg_diag *d);

PG_NODISCARD int pg_json_get_bool(const json_t *obj, const char *key, bool *out, pg_diag *d);
PG_NODISCARD int pg_json_opt_bool(const json_t *obj, const char *key, bool def, bool *out,
                                  pg_diag *d);

/* Object / array fields; *out is borrowed. */
PG_NODISCARD int pg_json_get_object(const json_t *obj, const char *key, json_t **out,
                                    pg_diag *d);
PG_NODISCARD int pg_json_get_array(const json_t *obj, const char *key, json_t **out,
                                   pg_diag *d);

/* What j is, for messages: "an object", "an array", "a string", "an
 * integer", "a real number", "a boolean" or "null". */
const char *pg_json_type_name(const json_t *j);

/* Appends the compact serialisation of j (any JSON value; object keys in
 * insertion order; no NUL terminator) to out. On failure out->len is back
 * where it was and the result is out's sticky error (e.g. PG_ERR_TOO_LARGE
 * when the buffer's limit is hit) or PG_ERR_INVALID if jansson refuses j. */
PG_NODISCARD int pg_json_dump(const json_t *j, pg_buf *out);

#endif
