/* p2pgrid/grid/protocol.h — the grid's wire format as a pure codec: channel
 * messages (hello, goodbye, output, usage, payment-request) and the
 * registration API bodies. No I/O. docs/PROTOCOL.md is the prose version.
 *
 * Ownership: structs own no heap memory (fixed, NUL-terminated arrays),
 * except a settlement record's box and lines (pg_grid_settlement_free);
 * serialisers append to the caller's pg_buf.
 * Errors: PG_ERR_INVALID (or PG_ERR_NOMEM) with one sentence naming the
 * command and field in the optional pg_diag; serialisers also return the
 * buffer's sticky error. Details below.
 * Threads: a pure codec without shared state; any thread.
 *
 * Contract:
 * - Parsers take bytes with an explicit length (not NUL-terminated), run them
 *   through pg_json_parse (duplicate keys, "\u0000" and trailing garbage are
 *   rejected) and then validate every field strictly: unknown fields are
 *   rejected, every required field must be present with the right JSON type
 *   and range. On failure they return PG_ERR_INVALID (or PG_ERR_NOMEM) and
 *   write one sentence into the optional pg_diag that starts with the command
 *   (or "registration") and names the field, e.g.
 *   "output: 'output' has 4 decimals; at most 3 (Wh precision)".
 *   On failure *out is unspecified (zeroed or partly filled); it owns nothing.
 * - Structs own no heap memory: every string is a fixed, NUL-terminated array.
 * - Serialisers validate the struct first (PG_ERR_INVALID with a diag if it
 *   would not parse back) and append canonical compact JSON to a pg_buf: fixed
 *   key order as in docs/PROTOCOL.md, optional fields only when present, no
 *   whitespace. Output errors are the buffer's sticky error (PG_ERR_TOO_LARGE).
 *   On failure out->len is back where it was.
 * - Round trip: for every struct s that validates, parse(serialize(s)) == s
 *   (pg_grid_msg_equal) and serialize(parse(x)) is byte-identical to
 *   serialize(s).
 *
 * Versions and units (docs/PROTOCOL.md "Versions"): hello, output and usage
 * come in two versions. Version 1 (no "version" field) is the original
 * message: electricity, Wh inside, kWh on the wire as a JSON number with at
 * most 3 decimals, prices "askPerKwh"/"bidPerKwh". Version 2 carries
 * "version":2, "resource" and "unit" (resource.h names), quantities as JSON
 * integers of the base unit (0 ..= PG_GRID_MAX_WH, no fractions, exponents,
 * negatives or strings) and prices "askPerUnit"/"bidPerUnit" (base token
 * units per price unit = per 1000 base units). A field of the other version
 * is refused naming it. Inside, every quantity is an int64_t count of the
 * base unit in the same fields for both versions (output_wh, usage_wh: Wh
 * for electricity, L for water, ...) and prices stay in ask_per_kwh /
 * bid_per_kwh (per price unit; per kWh for electricity). goodbye and
 * payment-request have no version; a payment-request's "usage" is in price
 * units (kWh, m³) with the kWh rule below. Money in base token units
 * (uint64_t) everywhere; times in Unix milliseconds.
 *
 * kWh rule (exactness): jansson reads JSON reals as IEEE doubles. An integer
 * token n means n * 1000 Wh. A real token x is accepted iff x is the double
 * nearest to some decimal k/1000 (k an integer); then the value is exactly k
 * Wh. Within the cap (1e12 Wh < 2^53) different k give different doubles, so
 * the mapping is exact and injective. The diag for a rejected real counts the
 * decimals of its shortest round-tripping form ("has 4 decimals"). On output
 * Wh are printed as the shortest exact decimal: 1500 -> 1.5, 2000 -> 2,
 * 1 -> 0.001, 0 -> 0 (never an exponent, never trailing zeros). */
#ifndef P2PGRID_GRID_PROTOCOL_H
#define P2PGRID_GRID_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/base/resource.h"

#define PG_GRID_TRYTES 81        /* root: exactly; sideKey: 1..81 */
#define PG_GRID_MAX_ID 64        /* registrationId, requestId: 1..64 of [A-Za-z0-9._-] */
#define PG_GRID_MAX_NAME 64      /* name: 1..64 bytes of UTF-8, no control characters */
#define PG_GRID_MAX_REFERENCE 64 /* reference: 1..64 bytes of printable ASCII 0x20..0x7e */
/* Quantity cap: 1e12 base units (inclusive): 1e9 kWh = 1e12 Wh. */
#define PG_GRID_MAX_WH 1000000000000LL
/* Times: 0 ..= 4102444800000 (2100-01-01T00:00:00Z), Unix ms. */
#define PG_GRID_MAX_TIME_MS 4102444800000ULL
/* slot, money (owed, prices): 0 ..= 2^53 - 1 (exact in JavaScript). */
#define PG_GRID_MAX_SAFE_INT 9007199254740991ULL
/* Largest message or body a parser accepts, bytes. */
#define PG_GRID_MAX_JSON 4096
/* Channel binding (docs/PROTOCOL.md "Channel binding"): a member
 * certificate (DER, sent base64) and an ECDSA signature (DER, sent hex). */
#define PG_GRID_MAX_CERT 1200
#define PG_GRID_MAX_SIG 80

typedef enum pg_grid_entity {
  PG_GRID_ENTITY_NONE = 0, /* hello without "type" */
  PG_GRID_ENTITY_SOURCE = 1,
  PG_GRID_ENTITY_PRODUCER = 2,
  PG_GRID_ENTITY_CONSUMER = 3,
} pg_grid_entity;

typedef enum pg_grid_command {
  PG_GRID_CMD_HELLO = 1,
  PG_GRID_CMD_GOODBYE = 2,
  PG_GRID_CMD_OUTPUT = 3,
  PG_GRID_CMD_USAGE = 4,
  PG_GRID_CMD_PAYMENT_REQUEST = 5,
  PG_GRID_CMD_SETTLEMENT = 6, /* the public record: pg_grid_settlement_* below */
} pg_grid_command;

/* Wire names: "source", "producer", "consumer" ("" for NONE, NULL if invalid);
 * "hello", "goodbye", "output", "usage", "payment-request", "settlement".
 * Static strings. */
const char *pg_grid_entity_name(pg_grid_entity t);
const char *pg_grid_command_name(pg_grid_command c);

/* A member's signature binding a channel to it: by the key of its
 * certificate over pg_grid_binding_bytes(id, root, sideKey, time). */
typedef struct pg_grid_signature {
  uint8_t sig[PG_GRID_MAX_SIG]; /* DER ECDSA signature */
  size_t sig_len;               /* 0 = absent */
} pg_grid_signature;

typedef struct pg_grid_hello {
  char registration_id[PG_GRID_MAX_ID + 1];
  char name[PG_GRID_MAX_NAME + 1]; /* "" when absent */
  pg_grid_entity type;             /* NONE when absent */
  uint64_t time;                   /* ms; also the binding's time */
  /* optional, together: the member certificate and its binding signature */
  uint8_t cert[PG_GRID_MAX_CERT];  /* "certificate": base64 of the DER */
  size_t cert_len;                 /* 0 = absent */
  pg_grid_signature signature;     /* "signature": hex */
} pg_grid_hello;

typedef struct pg_grid_goodbye {
  char registration_id[PG_GRID_MAX_ID + 1];
  uint64_t time;
} pg_grid_goodbye;

/* startTime < endTime; both in the time range. */
typedef struct pg_grid_output {
  uint64_t slot;
  uint64_t start_time, end_time;
  int64_t output_wh; /* base units of the message's resource, 0 ..= PG_GRID_MAX_WH */
  bool has_ask;
  uint64_t ask_per_kwh; /* base token units per price unit (kWh, m³), when has_ask:
                           "askPerKwh" (v1) / "askPerUnit" (v2) */
  /* TIP-11 Ed25519 bech32 address, lowercase; "" when absent */
  char payment_address[PG_BECH32_MAX_LEN + 1];
} pg_grid_output;

typedef struct pg_grid_usage {
  uint64_t slot;
  uint64_t start_time, end_time;
  int64_t usage_wh; /* base units of the message's resource, 0 ..= PG_GRID_MAX_WH */
  bool has_bid;
  uint64_t bid_per_kwh; /* per price unit: "bidPerKwh" (v1) / "bidPerUnit" (v2) */
} pg_grid_usage;

typedef struct pg_grid_payment_request {
  uint64_t slot;
  char request_id[PG_GRID_MAX_ID + 1];
  uint64_t owed;    /* base units */
  int64_t usage_wh; /* base units billed, 0 ..= PG_GRID_MAX_WH (price units on the wire) */
  char payment_address[PG_BECH32_MAX_LEN + 1]; /* required, lowercase */
  char reference[PG_GRID_MAX_REFERENCE + 1];   /* indexation index for the transfer */
} pg_grid_payment_request;

/* Message versions (hello, output, usage). */
#define PG_GRID_VERSION_1 1u /* the original messages: electricity in Wh */
#define PG_GRID_VERSION_2 2u /* "version":2 with "resource" and "unit" */

typedef struct pg_grid_msg {
  pg_grid_command command;
  /* hello, output, usage: the version and what the quantities count.
   * version 0 or 1 = version 1: resource and unit "" or "electricity"/"Wh";
   * version 2: a resource name (1..31 of [a-z0-9_-]) and its base unit
   * (1..15 of [A-Za-z0-9_.-]). The parser fills 1 or 2 and both names
   * ("electricity"/"Wh" for version 1); pg_grid_msg_set_resource fills them
   * for a writer. Unused (0 and "") for the other commands. */
  unsigned version;
  char resource[PG_RESOURCE_NAME_MAX + 1];
  char unit[PG_RESOURCE_UNIT_MAX + 1];
  union {
    pg_grid_hello hello;
    pg_grid_goodbye goodbye;
    pg_grid_output output;
    pg_grid_usage usage;
    pg_grid_payment_request payment_request;
  } u;
} pg_grid_msg;

/* Parses one channel message from data[0..len). A "settlement" (it owns an
 * array, so it is not a pg_grid_msg) is refused here with PG_ERR_UNSUPPORTED
 * and a diag naming pg_grid_settlement_parse; pg_grid_peek_command tells a
 * reader of the record channel which parser to use. */
PG_NODISCARD int pg_grid_msg_parse(const void *data, size_t len, pg_grid_msg *out, pg_diag *d);
/* Checks a struct against the same rules the parser applies. */
PG_NODISCARD int pg_grid_msg_validate(const pg_grid_msg *m, pg_diag *d);
/* Appends the canonical JSON of m to out. */
PG_NODISCARD int pg_grid_msg_serialize(const pg_grid_msg *m, pg_buf *out, pg_diag *d);
/* Field-by-field equality of the active member (strings compared as strings;
 * optional values compared only when present). */
bool pg_grid_msg_equal(const pg_grid_msg *a, const pg_grid_msg *b);

/* How a writer of resource r (NULL or zeroed = electricity) marks m:
 * version 1 with "electricity"/"Wh" for electricity in Wh
 * (pg_resource_is_electricity: the original bytes), else version 2 with r's
 * name and base unit. */
void pg_grid_msg_set_resource(pg_grid_msg *m, const pg_resource *r);
/* True when hello/output/usage m counts r's resource in r's base unit
 * (pg_resource_same; version 1 = electricity in Wh). */
bool pg_grid_msg_is_resource(const pg_grid_msg *m, const pg_resource *r);
/* "water/L": the resource and unit m carries (version 1: "electricity/Wh"),
 * NUL-terminated, truncated to cap. */
void pg_grid_msg_resource_label(const pg_grid_msg *m, char *out, size_t cap);

/* The "command" of a JSON object in data[0..len) (at most
 * PG_GRID_MAX_SETTLEMENT_JSON bytes), without checking the rest:
 * PG_ERR_INVALID when there is no known command. */
PG_NODISCARD int pg_grid_peek_command(const void *data, size_t len, pg_grid_command *out,
                                      pg_diag *d);

/* ---- the public settlement record (docs/PROTOCOL.md "Settlement record") ----
 * One slot's record is one or more messages ("parts") on the grid's public
 * "record" channel:
 *   {"command":"settlement","slot":k,"part":p,"parts":n,
 *    part 1 only: "settledAt","mechanism","config":{...},"hasPrice",
 *                 "buyPrice","sellPrice","totals":{...},
 *    every part:  "lines":[{"tag":"<32 hex>","box":"<hex>"},...]}
 * Keys in exactly that order when serialised; the parser takes any order but
 * refuses unknown and missing fields, and fields of part 1 in later parts.
 * Lines are sorted by tag, strictly ascending (no duplicates) within a part;
 * the parts of a slot continue the order (the audit checks across parts).
 * Unlike the other structs a settlement owns heap memory (the lines and
 * their boxes): release it with pg_grid_settlement_free, also after a failed
 * parse. */
#define PG_GRID_MAX_SETTLEMENT_JSON 32768 /* a Tangle message holds no more */
#define PG_GRID_MAX_SETTLEMENT_PARTS 4096 /* per slot */
#define PG_GRID_MAX_SETTLEMENT_LINES 2048 /* per part (32 KiB of JSON hold fewer) */
#define PG_GRID_RECORD_TAG 16             /* tag bytes (32 hex digits) */
#define PG_GRID_RECORD_MAX_BOX 16384      /* box bytes: 17 ..= this (MAC + plain) */

typedef struct pg_grid_settle_config {
  uint64_t import_price, export_price, fee_per_kwh, fee_bp, fixed_buy_price, fixed_sell_price;
} pg_grid_settle_config;

/* Slot totals as pg_market_result and the grid's slots table hold them.
 * Every value 0 ..= 2^53-1 except grid_income (|grid_income| <= 2^53-1). */
typedef struct pg_grid_settle_totals {
  int64_t supply_wh, demand_wh, matched_wh, import_wh, export_wh;
  int64_t consumer_payments, producer_revenues, fees, grid_income, import_cost, export_income;
  int64_t producers, consumers, late_readings;
} pg_grid_settle_totals;

typedef struct pg_grid_record_line {
  uint8_t tag[PG_GRID_RECORD_TAG];
  uint8_t *box; /* owned, box_len bytes */
  size_t box_len;
} pg_grid_record_line;

typedef struct pg_grid_settlement {
  uint64_t slot;  /* 0 ..= 2^53-1 */
  uint32_t part;  /* 1 ..= parts */
  uint32_t parts; /* 1 ..= PG_GRID_MAX_SETTLEMENT_PARTS */
  /* part 1 only (zero in the others) */
  uint64_t settled_at; /* ms */
  int mechanism;       /* a pg_market_mech, named by pg_market_mech_name */
  pg_grid_settle_config config;
  bool has_price;
  double buy_price, sell_price; /* finite, 0 ..= 2^53; written "%.17g" */
  pg_grid_settle_totals totals;
  /* every part */
  pg_grid_record_line *lines; /* owned, n_lines entries */
  size_t n_lines;             /* 0 ..= PG_GRID_MAX_SETTLEMENT_LINES */
} pg_grid_settlement;

/* Parses data[0..len) (at most PG_GRID_MAX_SETTLEMENT_JSON bytes) into *out
 * (zeroed first; free it with pg_grid_settlement_free whatever the result). */
PG_NODISCARD int pg_grid_settlement_parse(const void *data, size_t len, pg_grid_settlement *out,
                                          pg_diag *d);
PG_NODISCARD int pg_grid_settlement_validate(const pg_grid_settlement *s, pg_diag *d);
/* Appends the canonical JSON of s to out (validated first). */
PG_NODISCARD int pg_grid_settlement_serialize(const pg_grid_settlement *s, pg_buf *out,
                                              pg_diag *d);
/* Field-by-field equality (the part-1 fields only when part == 1). */
bool pg_grid_settlement_equal(const pg_grid_settlement *a, const pg_grid_settlement *b);
/* Frees the lines; NULL-safe, idempotent (leaves an empty struct). */
void pg_grid_settlement_free(pg_grid_settlement *s);

/* kWh <-> Wh at the edges. pg_grid_kwh_format writes the canonical number
 * text (NUL-terminated) of wh (0 ..= PG_GRID_MAX_WH) into out (capacity cap,
 * PG_GRID_KWH_TEXT is enough). pg_grid_kwh_parse applies the kWh rule to
 * number text (a JSON number token, len bytes) and is what the message parser
 * uses for reals; field names the field in the diag. */
#define PG_GRID_KWH_TEXT 24
PG_NODISCARD int pg_grid_kwh_format(int64_t wh, char *out, size_t cap);
PG_NODISCARD int pg_grid_kwh_parse(const char *text, size_t len, const char *field,
                                   int64_t *wh, pg_diag *d);

/* ---- registration API ----
 * PUT /registration/{id}            body: pg_grid_registration
 * DELETE /registration/{id}/{sideKey}
 * A consumer's PUT is answered with its return channel (pg_grid_channel). */

typedef enum pg_grid_mode {
  PG_GRID_MODE_RESTRICTED = 0, /* the only mode a registration may have; the default */
  PG_GRID_MODE_PUBLIC = 1,     /* only the grid's own record channel (its binding) */
} pg_grid_mode;

typedef struct pg_grid_channel {
  char root[PG_GRID_TRYTES + 1];     /* exactly 81 trytes */
  char side_key[PG_GRID_TRYTES + 1]; /* 1..81 trytes */
} pg_grid_channel;

typedef struct pg_grid_registration {
  char name[PG_GRID_MAX_NAME + 1]; /* required */
  pg_grid_entity type;             /* required: never NONE */
  pg_grid_channel channel;         /* "root", "sideKey" */
  pg_grid_mode mode;               /* "mode", default restricted */
  /* optional (required by a registry that checks members): "time" (ms) and
   * "signature" (hex) of the channel binding, by the key of the
   * certificate the request is made with */
  uint64_t time;
  pg_grid_signature signature;
  /* optional: where a producer wants to be paid (lowercase bech32) */
  char payment_address[PG_BECH32_MAX_LEN + 1];
} pg_grid_registration;

/* The bytes a channel binding signs (appended to out):
 *   "p2pgrid/channel-binding/v1" 0x00, u8 len(id), id, the 81-tryte root,
 *   u8 len(sideKey), sideKey, u8 mode (0 = restricted), u64 time (big-endian).
 * PG_ERR_INVALID for an invalid id, root or side key. */
PG_NODISCARD int pg_grid_binding_bytes(const char *id, const pg_grid_channel *c, uint64_t time_ms,
                                       pg_buf *out, pg_diag *d);
/* The binding of a public channel (the grid's "record" channel): the same
 * layout with an empty side key (u8 0) and mode 1 (public). */
PG_NODISCARD int pg_grid_binding_bytes_public(const char *id, const char *root, uint64_t time_ms,
                                              pg_buf *out, pg_diag *d);

PG_NODISCARD int pg_grid_registration_parse(const void *data, size_t len,
                                            pg_grid_registration *out, pg_diag *d);
PG_NODISCARD int pg_grid_registration_serialize(const pg_grid_registration *r, pg_buf *out,
                                                pg_diag *d);
/* Return channel body {"root","sideKey"}. */
PG_NODISCARD int pg_grid_channel_parse(const void *data, size_t len, pg_grid_channel *out,
                                       pg_diag *d);
PG_NODISCARD int pg_grid_channel_serialize(const pg_grid_channel *c, pg_buf *out, pg_diag *d);

/* The registration answer: {"root","sideKey"} of a consumer's return
 * channel (absent for producers) and "record", the root of the grid's
 * public record channel (absent from a grid that has none). "{}" when
 * neither. */
typedef struct pg_grid_reg_answer {
  bool has_return;
  pg_grid_channel ret;
  char record[PG_GRID_TRYTES + 1]; /* "" = absent; else exactly 81 trytes */
} pg_grid_reg_answer;
PG_NODISCARD int pg_grid_reg_answer_parse(const void *data, size_t len, pg_grid_reg_answer *out,
                                          pg_diag *d);
PG_NODISCARD int pg_grid_reg_answer_serialize(const pg_grid_reg_answer *a, pg_buf *out,
                                              pg_diag *d);

/* Splits a request path (len bytes, no query string) of the registration API:
 * "/registration/{id}" (side_key set to "") or "/registration/{id}/{sideKey}".
 * id must be a valid registration id, sideKey 1..81 trytes. */
PG_NODISCARD int pg_grid_registration_path(const char *path, size_t len,
                                           char id[PG_GRID_MAX_ID + 1],
                                           char side_key[PG_GRID_TRYTES + 1], pg_diag *d);

/* Error body {"error":{"code":code,"message":message}}; code is a trusted
 * short token ("invalid", "not_found", ...), message any NUL-terminated
 * text (escaped as needed; malformed UTF-8, e.g. a diagnostic cut in the
 * middle of a character, becomes U+FFFD so the body is always valid JSON). */
PG_NODISCARD int pg_grid_error_serialize(const char *code, const char *message, pg_buf *out);

/* Field validators, shared with the daemons. */
bool pg_grid_is_id(const char *s, size_t len);
bool pg_grid_is_trytes(const char *s, size_t len);
/* A lowercase TIP-11 bech32 Ed25519 address (NUL-terminated). */
bool pg_grid_is_address(const char *s);

#endif
