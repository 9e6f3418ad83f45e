/* audit_internal.h — shared inside src/audit. */
#ifndef P2PGRID_AUDIT_INTERNAL_H
#define P2PGRID_AUDIT_INTERNAL_H

#include <jansson.h>

#include "p2pgrid/audit/audit.h"

/* Growable array: *v holds *n items of size sz, capacity in *cap. Returns
 * a pointer to a new zeroed item, or NULL when out of memory. */
void *pg_audit_push(void *v_ptr, size_t *n, size_t *cap, size_t sz);

/* A sorted index over n strings keys[i] (borrowed; they must outlive it). */
typedef struct pg_audit_lookup_entry {
  const char *key;
  size_t idx;
} pg_audit_lookup_entry;
typedef struct pg_audit_lookup {
  pg_audit_lookup_entry *e;
  size_t n;
} pg_audit_lookup;
PG_NODISCARD int pg_audit_lookup_build(pg_audit_lookup *l, const char **keys, size_t n);
/* The lowest i with keys[i] equal to s, or SIZE_MAX. */
size_t pg_audit_lookup_find(const pg_audit_lookup *l, const char *s);
void pg_audit_lookup_free(pg_audit_lookup *l);

/* Field readers over a JSON object that name the item (where) and the field
 * on failure: "where: field 'x': ...". */
typedef struct pg_ajson {
  const json_t *o;
  const char *where;
  pg_diag *d;
} pg_ajson;
PG_NODISCARD int pg_aj_str(const pg_ajson *j, const char *key, bool optional, char *out,
                           size_t cap, bool (*valid)(const char *s, size_t len), const char *what);
PG_NODISCARD int pg_aj_i64(const pg_ajson *j, const char *key, int64_t *out);
PG_NODISCARD int pg_aj_u64(const pg_ajson *j, const char *key, uint64_t *out);
PG_NODISCARD int pg_aj_price(const pg_ajson *j, const char *key, bool *has, uint64_t *out);
PG_NODISCARD int pg_aj_bool(const pg_ajson *j, const char *key, bool *out);
PG_NODISCARD int pg_aj_double(const pg_ajson *j, const char *key, double *out);
PG_NODISCARD int pg_aj_array(const pg_ajson *j, const char *key, bool optional, json_t **out);
PG_NODISCARD int pg_aj_role(const pg_ajson *j, const char *key, pg_grid_entity *out);
PG_NODISCARD int pg_aj_fail(const pg_ajson *j, int rc, const char *fmt, ...) PG_PRINTF(3, 4);

/* Validators for pg_aj_str. */
bool pg_audit_is_id(const char *s, size_t len);
bool pg_audit_is_msgid(const char *s, size_t len);
bool pg_audit_is_root(const char *s, size_t len);
bool pg_audit_is_side_key(const char *s, size_t len);
bool pg_audit_is_address(const char *s, size_t len);
bool pg_audit_is_reference(const char *s, size_t len);

/* A member's channel {"root","sideKey",...} (registeredMs optional). */
PG_NODISCARD int pg_audit_channel_parse(const json_t *o, const char *where, pg_audit_channel *c,
                                        pg_diag *d);
/* The totals of a slot (export slot row or record part 1; same names). */
PG_NODISCARD int pg_audit_totals_parse(const pg_ajson *j, pg_audit_totals *t);

/* Appends a difference to a report (printf). PG_ERR_NOMEM. */
PG_NODISCARD int pg_audit_diff_add(pg_audit_report *r, bool has_slot, uint64_t slot,
                                   pg_audit_kind kind, const char *who, const char *fmt, ...)
    PG_PRINTF(6, 7);
PG_NODISCARD int pg_audit_note_add(pg_audit_report *r, const char *fmt, ...) PG_PRINTF(2, 3);

/* Sorts the differences (stable, by slot; slot-less last) and counts them
 * per slot. */
void pg_audit_report_finish(pg_audit_report *r);

/* The money identity of a slot's totals holds (market.h). */
bool pg_audit_identity_holds(const pg_audit_totals *t);

/* Bech32 address -> its 32 Ed25519 bytes. */
PG_NODISCARD int pg_audit_address_bytes(const char *bech32, uint8_t out[32]);

/* The record channel at root into f->records (sorted by slot), each line
 * opened with the side key of any channel of members[0..n) (gather_record.c). */
PG_NODISCARD int pg_audit_read_record(pg_client *c, const char *root,
                                      const pg_audit_member *members, size_t n,
                                      pg_audit_facts *f, pg_diag *d);

/* ---- months (months.c): the monthly items re-derived ----
 * Fed in slot order: every consumer reading settled in slot k (its own slot
 * and Wh) and every consumer's re-settled charges of slot k; then, once per
 * slot, pg_audit_months_due gives the month bills the grid must make at k
 * (at the first settled slot of a new month, for the month before, to every
 * consumer with a reading in it whose monthly items are above 0). */
typedef struct pg_audit_months pg_audit_months;
typedef struct pg_audit_month_bill {
  char consumer[PG_GRID_MAX_ID + 1];
  int64_t amount, fee, owed; /* membership + capacity, VAT, their sum */
} pg_audit_month_bill;
PG_NODISCARD int pg_audit_months_new(const pg_audit_export *e, pg_audit_months **out);
void pg_audit_months_free(pg_audit_months *m);
PG_NODISCARD int pg_audit_months_reading(pg_audit_months *m, uint64_t k, const char *id,
                                         uint64_t slot, int64_t wh);
PG_NODISCARD int pg_audit_months_charge(pg_audit_months *m, uint64_t k, const char *id,
                                        int64_t amount, int64_t fee);
/* *out (free) holds *n bills, in no particular order. */
PG_NODISCARD int pg_audit_months_due(pg_audit_months *m, uint64_t k, pg_audit_month_bill **out,
                                     size_t *n, pg_diag *d);

#endif
