/* p2pgrid/base/config.h — INI configuration (parsed by inih) with command-line
 * overrides, typed getters and detection of keys nothing read.
 *
 * Syntax (inih): "[section]" headers, "key = value" (or "key: value") lines,
 * ';' or '#' comments at line start, " ;" inline comments. Keys before any header
 * belong to section "". Section and key names are case-sensitive; key names
 * may not be empty or contain '.'. Values are taken verbatim after whitespace
 * trimming (no quoting, no escapes). Lines may be indented freely: leading
 * whitespace is removed before inih sees a line, so inih's multi-line
 * continuation never applies (an indented "key = value" is just a key). A
 * line may hold at most 199 characters after its indentation (inih's
 * 200-byte line buffer) and a section name at most 49 (inih's section
 * buffer); longer lines or names, NUL bytes and a key set twice in one
 * source are errors. A source may be at most PG_CONFIG_MAX_FILE bytes. A load
 * that fails leaves the config unchanged.
 *
 * Layering: later loads and overrides replace earlier values of the same
 * section/key. Overrides are "section.key=value": the section is everything
 * before the LAST '.' of the left side ("key=value" without a dot means
 * section ""), so keys cannot contain '.' but sections can ("[source.pv1]").
 *
 * Errors: each names where the value came from:
 *   "node.ini:12: [api] port: 'abc' is not a number between 1 and 65535"
 *   "command line: [api] port: ..."
 *   "node.ini:7: syntax error (expected [section] or key = value)"
 * All fallible functions return 0 or a negative pg_err (PG_ERR_CONFIG for a
 * bad value or syntax, PG_ERR_IO when a file cannot be read, PG_ERR_NOMEM) and
 * write that sentence into the optional pg_diag.
 *
 * Getters: a missing key yields the default and returns 0; a present key must
 * parse completely and lie in [min, max] or the getter fails and leaves *out
 * unchanged. Every getter marks the key as read (also when it fails), which
 * pg_config_unused() uses to report typos. Value types:
 *   integers  decimal digits, optional leading '-' for signed getters
 *   booleans  true/false, yes/no, on/off, 1/0 (any case)
 *   durations a non-negative integer with an optional unit: ms, s, m, h, d
 *             ("500ms", "10s", "2m", "1h", "7d"); no unit means SECONDS.
 *             Returned in milliseconds.
 *   sizes     a non-negative integer with an optional binary suffix k, M, G
 *             (1024-based, any case, optionally followed by "B" or "iB":
 *             "64k", "1M", "2GiB", "512B"); no suffix means bytes.
 *   lists     items separated by ','; whitespace around items trimmed;
 *             empty items dropped ("a, b,,c" -> a, b, c).
 *
 * Ownership: pg_config_new allocates, pg_config_free releases. Strings handed
 * out by getters are owned by the config and stay valid until the key is
 * replaced (a later load/override/set) or the config is freed.
 * Threads: a pg_config is not thread-safe (getters mark keys as read); read
 * it at startup, from one thread. The standalone parsers are pure. */
#ifndef P2PGRID_BASE_CONFIG_H
#define P2PGRID_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_CONFIG_MAX_FILE (1u << 20) /* bytes */

typedef struct pg_config pg_config;

PG_NODISCARD int pg_config_new(pg_config **out);
void pg_config_free(pg_config *c); /* NULL is fine */

/* Loads an INI file. `path` is also the name used in error messages. */
PG_NODISCARD int pg_config_load_file(pg_config *c, const char *path, pg_diag *d);
/* Loads len bytes of INI text (need not be NUL-terminated); `name` (e.g.
 * "node.ini" or "<builtin>") is used in error messages. */
PG_NODISCARD int pg_config_load_string(pg_config *c, const char *name, const char *text,
                                       size_t len, pg_diag *d);
/* Applies one "section.key=value" override (NUL-terminated, e.g. argv[i]).
 * Errors about its value name it "command line: [section] key". */
PG_NODISCARD int pg_config_override(pg_config *c, const char *arg, pg_diag *d);
/* The same, with label (copied; e.g. "--set api.port=x" or "--port x": what
 * the user typed) as the whole place errors name: "--port x: 'x' is not a
 * number between 0 and 65535". label NULL = pg_config_override. */
PG_NODISCARD int pg_config_override_from(pg_config *c, const char *arg, const char *label,
                                         pg_diag *d);
/* Sets a value programmatically (origin "default"). */
PG_NODISCARD int pg_config_set(pg_config *c, const char *section, const char *key,
                               const char *value);

bool pg_config_has(const pg_config *c, const char *section, const char *key);
/* Which source set the key: 0 when missing, else 1 for the first file or
 * override applied, 2 for the next, ... (a later source replaces what an
 * earlier one set: `--set ledger.genesis_file=F` replaces the file's
 * [ledger] genesis). Keys of one source share its rank. */
unsigned pg_config_source_rank(const pg_config *c, const char *section, const char *key);
/* File paths in files are relative to the file: when [section] key holds a
 * relative path and was set by a file loaded with pg_config_load_file from
 * another directory, the value becomes that directory + the path
 * ("data/rain.csv" in examples/scenarios/x.ini reads
 * "examples/scenarios/data/rain.csv"). Absolute paths, values from the
 * command line (--set), from pg_config_load_string or pg_config_set, and a
 * missing key are left as they are; calling it again changes nothing. The
 * key's origin and line stay (errors still name them). PG_ERR_NOMEM. */
PG_NODISCARD int pg_config_path_from_file(pg_config *c, const char *section, const char *key);
/* Where a key's value comes from, for error sentences of callers that parse
 * values themselves: "node.ini:12: [api] port", "command line: [api] port",
 * or "<last file>: [api] port" when the key is missing; key NULL: the
 * section, "node.ini: [api]" (the file of its first key, else the last file). Does not mark it read. */
void pg_config_where(const pg_config *c, const char *section, const char *key, char *out,
                     size_t cap);
/* Fails with "<origin>: [section] key: required setting missing" (origin is
 * the last file loaded, or "configuration") unless the key is present. */
PG_NODISCARD int pg_config_require(pg_config *c, const char *section, const char *key,
                                   pg_diag *d);

/* *out = value, or def (may be NULL) when missing. */
PG_NODISCARD int pg_config_get_str(pg_config *c, const char *section, const char *key,
                                   const char *def, const char **out, pg_diag *d);
PG_NODISCARD int pg_config_get_i64(pg_config *c, const char *section, const char *key,
                                   int64_t def, int64_t min, int64_t max, int64_t *out,
                                   pg_diag *d);
PG_NODISCARD int pg_config_get_u64(pg_config *c, const char *section, const char *key,
                                   uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
                                   pg_diag *d);
PG_NODISCARD int pg_config_get_int(pg_config *c, const char *section, const char *key, int def,
                                   int min, int max, int *out, pg_diag *d);
PG_NODISCARD int pg_config_get_bool(pg_config *c, const char *section, const char *key,
                                    bool def, bool *out, pg_diag *d);
PG_NODISCARD int pg_config_get_duration_ms(pg_config *c, const char *section, const char *key,
                                           uint64_t def_ms, uint64_t min_ms, uint64_t max_ms,
                                           uint64_t *out_ms, pg_diag *d);
PG_NODISCARD int pg_config_get_size(pg_config *c, const char *section, const char *key,
                                    uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
                                    pg_diag *d);

/* Renamed keys: `key` is the current name of a setting, `alias` its old
 * name, still accepted (fee_per_unit / fee_per_kwh). pg_config_alias sets
 * *used to the name that is set: key, or alias when only alias is, or key
 * when neither is (so a getter of *used gives the default). Both set is
 * PG_ERR_CONFIG naming both: "grid.ini:7: [grid] fee_per_unit and
 * fee_per_kwh (its old name) are the same setting; set only one" (both are
 * marked read). pg_config_get_u64_alias is pg_config_get_u64 of that key
 * (its errors name the key as written in the file). */
PG_NODISCARD int pg_config_alias(pg_config *c, const char *section, const char *key,
                                 const char *alias, const char **used, pg_diag *d);
PG_NODISCARD int pg_config_get_u64_alias(pg_config *c, const char *section, const char *key,
                                         const char *alias, uint64_t def, uint64_t min,
                                         uint64_t max, uint64_t *out, pg_diag *d);

/* A list of strings owned by the caller: free with pg_config_list_free. */
typedef struct pg_config_list {
  char **items;
  size_t n;
} pg_config_list;
/* Splits the value (or def, which may be NULL = empty, when missing). At most
 * max_items items (0 = no limit) or the getter fails. */
PG_NODISCARD int pg_config_get_list(pg_config *c, const char *section, const char *key,
                                    const char *def, size_t max_items, pg_config_list *out,
                                    pg_diag *d);
void pg_config_list_free(pg_config_list *l);

/* Standalone parsers behind the getters (s is trusted-length NUL-terminated
 * text such as a config value); PG_ERR_INVALID when s is not of the form. */
PG_NODISCARD int pg_config_parse_bool(const char *s, bool *out);
PG_NODISCARD int pg_config_parse_duration_ms(const char *s, uint64_t *out_ms);
PG_NODISCARD int pg_config_parse_size(const char *s, uint64_t *out);

/* For callers that parse a value themselves: fails with PG_ERR_CONFIG and
 * "<origin>:<line>: [section] key: '<value>' is not <what>" (marks the key
 * as read; "[section] key: is not <what>" when the key is missing). */
PG_NODISCARD int pg_config_bad_value(pg_config *c, const char *section, const char *key,
                                     const char *what, pg_diag *d);

/* Calls fn for every key that no getter and no pg_config_require has read
 * (pg_config_has does not count as reading), in load order, and returns how
 * many there were. origin and line say where the value was set (line 0 for
 * overrides and pg_config_set). fn may be NULL (just count). */
typedef void (*pg_config_unused_fn)(void *ctx, const char *origin, int line,
                                    const char *section, const char *key);
size_t pg_config_unused(const pg_config *c, pg_config_unused_fn fn, void *ctx);

/* Formats the n-th (0-based) unused key as "node.ini:12: [api] prot: unknown
 * setting" into d; returns PG_ERR_NOT_FOUND when there is no such key. */
PG_NODISCARD int pg_config_unused_describe(const pg_config *c, size_t n, pg_diag *d);

#endif
