/* p2pgrid/audit/audit.h — `p2pgrid audit`: re-derives the grid's settlements,
 * bills, payments and payouts from the Tangle alone and compares them with
 * what the operator claims.
 *
 * Three parts, each usable alone:
 *   1. Claims: the grid's audit export (docs/PROTOCOL.md "Audit export",
 *      `p2pgrid grid audit-export`) or a member's keys (`p2pgrid consumer
 *      audit-keys`), parsed strictly into plain structs (pg_audit_export_parse,
 *      pg_audit_keys_parse). The audit treats them as the operator's word.
 *   2. Facts: what the Tangle says, read through any node (pg_client: HTTP,
 *      or pg_audit_dir_client over a node's data directory, read-only):
 *      every reading on the members' channels, every payment request on the
 *      return channels, the public settlement record opened with the side
 *      keys, the transfers under every bill's reference and every payout
 *      batch's transaction (pg_audit_gather, pg_audit_member_gather).
 *   3. Comparison (pure, no I/O): pg_audit_compare re-settles every slot with
 *      pg_market_settle from the Tangle's readings and the configuration in
 *      force, and lists each difference as one sentence naming what, who,
 *      the grid's value and the Tangle's value; pg_audit_member_compare does
 *      the same for one member's own items.
 * Reports: pg_audit_write_text / _json / _html.
 *
 * Ownership: every struct owns its arrays; free with the matching *_free
 * (NULL-safe, idempotent on a zeroed struct). Strings are fixed arrays.
 * Errors: 0 or a negative pg_err with one sentence in pg_diag; a
 * difference between claims and facts is never an error, it is a result.
 * Threads: no global state; distinct objects may be used from distinct
 * threads. */
#ifndef P2PGRID_AUDIT_AUDIT_H
#define P2PGRID_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/grid/protocol.h"
#include "p2pgrid/market/market.h"
#include "p2pgrid/market/tariff.h"
#include "p2pgrid/base/tz.h"

#define PG_AUDIT_HEX_ID 64         /* message ids as 64 lowercase hex digits */
#define PG_AUDIT_MAX_EXPORT (256u << 20) /* largest export file read */
#define PG_AUDIT_MAX_BATCH_OUTPUTS 127

typedef char pg_audit_msgid[PG_AUDIT_HEX_ID + 1];
typedef char pg_audit_addr[PG_BECH32_MAX_LEN + 1];

/* ---- claims: the audit export (contract C) ---- */

typedef struct pg_audit_reading {
  char member[PG_GRID_MAX_ID + 1];
  pg_grid_entity kind;   /* PRODUCER (output) or CONSUMER (usage) */
  uint64_t slot;
  int64_t wh;
  bool has_price;
  uint64_t price;        /* ask / bid per kWh */
  pg_audit_msgid msg_id;
  pg_audit_addr address; /* facts only: an output's paymentAddress ("" = none) */
} pg_audit_reading;

typedef struct pg_audit_bill {
  char request_id[PG_GRID_MAX_ID + 1];
  bool month; /* kind "month": the monthly items of the month before the slot */
  char consumer[PG_GRID_MAX_ID + 1];
  int64_t usage_wh, community_wh, amount, fee, owed, baseline, paid;
  char reference[PG_GRID_MAX_REFERENCE + 1];
} pg_audit_bill;

typedef struct pg_audit_payout {
  char producer[PG_GRID_MAX_ID + 1];
  int64_t output_wh, community_wh, amount, baseline;
  pg_audit_addr address;
  bool has_batch;
  int64_t batch_id;
} pg_audit_payout;

/* A slot's numbers (the export's slot row, or the record's part 1). */
typedef struct pg_audit_totals {
  char mechanism[16];
  int64_t supply_wh, demand_wh, matched_wh, import_wh, export_wh;
  int64_t consumer_payments, producer_revenues, fees, grid_income, import_cost, export_income;
  int64_t producers, consumers, late_readings;
  bool has_price;
  double buy_price, sell_price;
} pg_audit_totals;

typedef struct pg_audit_slot_claim {
  uint64_t slot, settled_ms;
  pg_audit_totals t;
  pg_audit_reading *readings; /* settled in this slot */
  size_t n_readings;
  pg_audit_bill *bills;
  size_t n_bills;
  pg_audit_payout *payouts;
  size_t n_payouts;
} pg_audit_slot_claim;

typedef struct pg_audit_config {
  uint64_t from_slot;
  pg_market_mech mech;
  uint64_t import_price, export_price, fee_per_kwh, fee_bp, fixed_buy_price, fixed_sell_price;
} pg_audit_config;

/* The monthly items in force from from_slot and the zone of the months
 * (export "tariffs", the grid's tariff_history). */
typedef struct pg_audit_tariff {
  uint64_t from_slot;
  pg_tariff t;
  pg_tz tz;
} pg_audit_tariff;

/* The sharing settings in force from from_slot (export "sharing", the
 * grid's sharing_history): community price, the rule of each hierarchical
 * group, each member's key, group and participation. */
typedef struct pg_audit_sharing {
  uint64_t from_slot;
  uint64_t community_price;
  uint8_t rules[PG_SHARE_MAX_GROUP + 1];
  size_t n_rules;
  pg_grid_share_member *members; /* owned, ids owned */
  size_t n_members;
} pg_audit_sharing;

typedef struct pg_audit_channel {
  char root[PG_GRID_TRYTES + 1];
  char side_key[PG_GRID_TRYTES + 1];
  uint64_t registered_ms;
} pg_audit_channel;

typedef struct pg_audit_member {
  char id[PG_GRID_MAX_ID + 1];
  pg_grid_entity role; /* PRODUCER, CONSUMER (SOURCE: listed, not settled) */
  pg_audit_channel *channels;
  size_t n_channels;
  bool has_return;
  pg_audit_channel ret;
  pg_audit_addr *addresses;
  size_t n_addresses;
} pg_audit_member;

typedef struct pg_audit_batch {
  int64_t id;
  pg_audit_msgid msg_id; /* "" = not sent */
  int64_t total, outputs;
  int64_t state; /* 0 sending, 1 sent, 2 confirmed ("state" as a name or a number) */
} pg_audit_batch;

typedef struct pg_audit_export {
  uint64_t exported_ms;
  char grid_id[PG_GRID_MAX_ID + 1];
  pg_audit_addr grid_address;            /* "" = not given (a difference) */
  char record_root[PG_GRID_TRYTES + 1]; /* "" = no record channel */
  uint64_t slot_ms;                      /* 0 = not given */
  pg_audit_config *config;               /* sorted by from_slot */
  size_t n_config;
  pg_audit_tariff *tariffs;              /* sorted by from_slot; none = no monthly items */
  size_t n_tariffs;
  pg_audit_sharing *sharing;             /* sorted by from_slot */
  size_t n_sharing;
  pg_audit_member *members;              /* sorted by id */
  size_t n_members;
  pg_audit_slot_claim *slots;            /* sorted by slot */
  size_t n_slots;
  pg_audit_batch *batches;
  size_t n_batches;
} pg_audit_export;

/* Parses the export (format "p2pgrid-audit-export/1") from len bytes.
 * Strict: every field of the contract with its type and range, ids, roots,
 * side keys, addresses and message ids checked; unknown fields ignored (a
 * newer grid may add some). Errors name the item, e.g.
 * "slots[3].bills[0]: field 'owed': expected an integer, got a string". */
PG_NODISCARD int pg_audit_export_parse(const void *data, size_t len, pg_audit_export *out,
                                       pg_diag *d);
void pg_audit_export_free(pg_audit_export *e);

/* A member's keys ("p2pgrid-member-keys/1"): the member as the export
 * lists it (its "address", when it has one, is me.addresses[0]) and the
 * root of the grid's record channel. */
typedef struct pg_audit_keys {
  pg_audit_member me;
  char record_root[PG_GRID_TRYTES + 1]; /* "" = none */
} pg_audit_keys;
PG_NODISCARD int pg_audit_keys_parse(const void *data, size_t len, pg_audit_keys *out,
                                     pg_diag *d);
void pg_audit_keys_free(pg_audit_keys *k);

/* ---- facts: what the Tangle says ---- */

/* A payment request read from a consumer's return channel. */
typedef struct pg_audit_request {
  char member[PG_GRID_MAX_ID + 1];
  uint64_t slot;
  char request_id[PG_GRID_MAX_ID + 1];
  uint64_t owed;
  int64_t usage_wh;
  pg_audit_addr address;
  char reference[PG_GRID_MAX_REFERENCE + 1];
  pg_audit_msgid msg_id;
} pg_audit_request;

/* A record line opened with a member's side key. */
typedef struct pg_audit_line {
  char member[PG_GRID_MAX_ID + 1];
  pg_grid_entity role;
  pg_audit_msgid *readings;
  size_t n_readings;
  int64_t wh;
  bool has_price;
  uint64_t price;
  int64_t community_wh, amount, fee, total, baseline;
  char request_id[PG_GRID_MAX_ID + 1]; /* "" = null */
} pg_audit_line;

/* One slot's public settlement record, as found on the record channel. */
typedef struct pg_audit_record {
  uint64_t slot;
  bool complete;           /* every part 1..n was found */
  uint64_t settled_ms;
  pg_audit_config config;  /* from_slot unused */
  pg_audit_totals t;
  size_t n_lines;          /* lines in the record (opened or not) */
  pg_audit_line *lines;    /* those the auditor could open */
  size_t n_opened;
} pg_audit_record;

/* What the ledger shows under one bill's reference: included transfers'
 * outputs to the grid's address. */
typedef struct pg_audit_payment {
  char reference[PG_GRID_MAX_REFERENCE + 1];
  int64_t paid;
  size_t transfers;
} pg_audit_payment;

typedef struct pg_audit_output {
  uint8_t address[32];
  uint64_t amount;
} pg_audit_output;

/* A payout batch's message on the Tangle. */
typedef struct pg_audit_transfer {
  int64_t batch_id;
  bool found;     /* the message is on the node */
  bool included;  /* a transaction the ledger booked (milestone, no conflict) */
  size_t n_outputs;
  pg_audit_output outputs[PG_AUDIT_MAX_BATCH_OUTPUTS];
} pg_audit_transfer;

/* A transfer a member received (member audit of a producer). */
typedef struct pg_audit_received {
  pg_audit_msgid msg_id;
  char reference[PG_GRID_MAX_REFERENCE + 1];
  uint64_t amount;
} pg_audit_received;

/* Another attachment of the very same channel message (a re-attach after a
 * crash): a claim naming it names the message `canonical`. */
typedef struct pg_audit_alias {
  pg_audit_msgid alias, canonical;
} pg_audit_alias;

typedef struct pg_audit_facts {
  pg_audit_reading *readings; /* every reading on the members' channels */
  size_t n_readings;
  pg_audit_alias *aliases;
  size_t n_aliases;
  pg_audit_request *requests;
  size_t n_requests;
  pg_audit_record *records;   /* sorted by slot */
  size_t n_records;
  pg_audit_payment *payments;
  size_t n_payments;
  pg_audit_transfer *transfers;
  size_t n_transfers;
  pg_audit_received *received;
  size_t n_received;
  pg_audit_addr grid_address; /* the grid's address payments were looked up for:
                                 the export's, else the payment requests' */
  char **problems;            /* what could not be read (each a sentence) */
  size_t n_problems;
  size_t messages;            /* channel messages read */
} pg_audit_facts;
void pg_audit_facts_free(pg_audit_facts *f);
/* Adds a problem sentence (printf). PG_ERR_NOMEM. */
PG_NODISCARD int pg_audit_facts_problem(pg_audit_facts *f, const char *fmt, ...) PG_PRINTF(2, 3);

/* Progress of a long audit: done of total steps (channels, slots). */
typedef void (*pg_audit_progress_fn)(void *ctx, const char *phase, size_t done, size_t total);

typedef struct pg_tls_trust pg_tls_trust;
typedef struct pg_audit_gather_opts {
  pg_audit_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  /* The community CA (may be NULL): with it a channel's binding certificate
   * must verify against the CA at the binding's time. Without it the
   * binding is checked as far as the channel itself proves it. */
  pg_tls_trust *trust;
} pg_audit_gather_opts;

/* Reads every channel the export names (members', return channels, the
 * record) through c with pg_mam_fetch_all, opens the record's lines with the
 * members' side keys, looks up every bill's reference and every batch's
 * message. Every member channel must be bound to its member: its first
 * message a hello naming the member, with a member certificate of the
 * member's id and role whose key signed the channel binding (and, with
 * o->trust, a certificate of the community CA). A channel or message that
 * cannot be read, or is not bound, is a problem in
 * out->problems (and a difference in the report), not an error; errors are
 * PG_ERR_NOMEM and a node that cannot be reached at all (PG_ERR_HTTP...). */
PG_NODISCARD int pg_audit_gather(pg_client *c, const pg_audit_export *e,
                                 const pg_audit_gather_opts *o, pg_audit_facts *out, pg_diag *d);
/* The same for one member's keys: its channels, its return channel, the
 * record (its own lines only) and, for a producer, what its address received. */
PG_NODISCARD int pg_audit_member_gather(pg_client *c, const pg_audit_keys *k,
                                        const pg_audit_gather_opts *o, pg_audit_facts *out,
                                        pg_diag *d);

/* ---- comparison (pure) ---- */

typedef enum pg_audit_kind {
  PG_AUDIT_READING = 0, /* a reading the grid claims vs the member's channel */
  PG_AUDIT_SETTLEMENT,  /* totals and prices of a slot */
  PG_AUDIT_BILL,        /* a bill vs the re-settlement */
  PG_AUDIT_REQUEST,     /* a payment request on a return channel */
  PG_AUDIT_PAYMENT,     /* payments on the ledger */
  PG_AUDIT_PAYOUT,      /* a payout row vs the re-settlement */
  PG_AUDIT_BATCH,       /* a payout batch's transaction */
  PG_AUDIT_RECORD,      /* the public record */
  PG_AUDIT_CHANNEL,     /* a channel or message that could not be read */
  PG_AUDIT_NKIND
} pg_audit_kind;
/* "reading", "settlement", "bill", "request", "payment", "payout", "batch",
 * "record", "channel". */
const char *pg_audit_kind_name(pg_audit_kind k);

#define PG_AUDIT_TEXT 400
typedef struct pg_audit_diff {
  bool has_slot;  /* false: not a slot's (a batch, a channel) */
  uint64_t slot;
  pg_audit_kind kind;
  char who[PG_GRID_MAX_ID + 1]; /* member id, "grid", or "batch N" */
  char text[PG_AUDIT_TEXT];     /* one sentence: what, who, grid's value, Tangle's value */
  size_t seq;                   /* order found in (within a slot) */
} pg_audit_diff;

typedef struct pg_audit_slot_result {
  uint64_t slot;
  size_t readings, bills, payouts, lines; /* items checked */
  size_t diffs;                           /* differences at this slot */
  bool has_price;
  double buy_price, sell_price;           /* re-settled */
  int64_t consumer_payments, producer_revenues;
} pg_audit_slot_result;

typedef struct pg_audit_report {
  bool member;                /* a member audit */
  char subject[PG_GRID_MAX_ID + 1]; /* grid id or member id */
  pg_audit_slot_result *slots;
  size_t n_slots;
  pg_audit_diff *diffs;       /* in slot order, slot-less ones last */
  size_t n_diffs;
  char **notes;               /* facts worth knowing that are not differences */
  size_t n_notes;
  size_t batches, payments, requests, messages; /* items checked */
} pg_audit_report;
void pg_audit_report_free(pg_audit_report *r);

/* Compares the export with the facts (see the file comment). out is filled
 * on PG_OK (free with pg_audit_report_free); errors only PG_ERR_NOMEM and
 * PG_ERR_INVALID (an export whose configuration cannot settle a slot is a
 * difference at that slot, not an error). */
PG_NODISCARD int pg_audit_compare(const pg_audit_export *e, const pg_audit_facts *f,
                                  pg_audit_report *out, pg_diag *d);
/* A member's own items: its readings vs its record lines, its payment
 * requests vs its lines, its payments (consumer) and payouts received
 * (producer) on the ledger, the record's totals (money identity). */
PG_NODISCARD int pg_audit_member_compare(const pg_audit_keys *k, const pg_audit_facts *f,
                                         pg_audit_report *out, pg_diag *d);

/* ---- reports ---- */

/* A summary on f: one line per slot with differences, every difference,
 * and the verdict. */
void pg_audit_write_text(const pg_audit_report *r, FILE *f);
/* {"subject","member","agree","slots":[{"slot","agree","differences":[...]}],
 *  "differences":[{"slot"|null,"kind","who","text"}],"notes":[...],"checked":{...}} */
PG_NODISCARD int pg_audit_write_json(const pg_audit_report *r, FILE *f, pg_diag *d);
/* One self-contained HTML page (no script, no fetch): summary, the per-slot
 * table, every difference highlighted. */
PG_NODISCARD int pg_audit_write_html(const pg_audit_report *r, FILE *f, pg_diag *d);

/* ---- a node's data directory, read-only ---- */

/* A pg_client over DIR/tangle.db (a `p2pgrid node` data dir, or the
 * state/node dir of a finished `p2pgrid sim --mode full`), opened with
 * SQLite read-only and query_only, so it never writes (a running node may
 * keep writing; the audit sees what was committed). Serves get_raw,
 * get_json, get_meta, find_index, milestone, info, output and
 * address_outputs; the others fail with PG_ERR_UNSUPPORTED. PG_ERR_NOT_FOUND when there is no
 * tangle.db, PG_ERR_CONFIG when its schema is not the one this code reads. */
PG_NODISCARD int pg_audit_dir_client(const char *dir, pg_client **out, pg_diag *d);

#endif
