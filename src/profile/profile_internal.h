/* Internal helpers of the profile module: counter-based random fields. */
#ifndef P2PGRID_PROFILE_INTERNAL_H
#define P2PGRID_PROFILE_INTERNAL_H

#include <stdint.h>

/* Stream identifiers so different processes of one seed are independent. */
enum {
  PG_STREAM_CLOUD_DAY = 1,
  PG_STREAM_CLOUD_FAST = 2,
  PG_STREAM_WIND_SLOW = 3,
  PG_STREAM_WIND_FAST = 4,
  PG_STREAM_HOUSE_SHIFT = 5,
  PG_STREAM_HOUSE_NOISE = 6,
};

/* A latent, approximately standard normal process sampled at bucket
 * centres: value(n) = sum_{j<taps} w_j e(n - j), w_j proportional to phi^j
 * with sum w_j^2 = 1, e(n) hashed unit-variance innovations (Irwin-Hall of
 * four uniforms). Between centres the two neighbours are interpolated
 * linearly and rescaled to unit variance. */
typedef struct pg_latent_spec {
  int64_t bucket_ms;
  double phi;
  int taps; /* <= 64 */
} pg_latent_spec;

uint64_t pg_profile_mix(uint64_t z);
/* Key of (seed, stream): the start of a splitmix64 sequence. */
uint64_t pg_profile_key(uint64_t seed, uint64_t stream);
/* n-th output of the splitmix64 sequence started at key. */
static inline uint64_t pg_profile_at(uint64_t key, int64_t n) {
  return pg_profile_mix(key + (uint64_t)n * 0x9E3779B97F4A7C15ull);
}
double pg_latent(uint64_t seed, uint64_t stream, int64_t t_ms, const pg_latent_spec *s);
/* Standard normal CDF. */
double pg_phi_cdf(double z);

/* ---- CSV lines over untrusted bytes (csv.c) ---- */
#include <stdbool.h>
#include <stddef.h>

#include "p2pgrid/buf.h"

typedef struct pg_csv_field {
  const char *p;
  size_t len;
} pg_csv_field;

/* Walks lines of data[0..len) through a pg_reader. */
typedef struct pg_csv {
  pg_reader r;
  const char *name;
  size_t max_line;
  long line; /* 1-based number of the line last returned */
} pg_csv;

void pg_csv_init(pg_csv *c, const void *data, size_t len, const char *name, size_t max_line);
/* Next line (without CR/LF): PG_OK with *out and *n set, PG_ERR_NOT_FOUND at the
 * end, PG_ERR_TOO_LARGE (diag) for an over-long line or PG_ERR_INVALID for a
 * NUL byte. A UTF-8 BOM before line 1 is skipped. */
int pg_csv_next(pg_csv *c, const char **out, size_t *n, pg_diag *d);
/* Splits a line at ',' into at most max fields; returns the count, or
 * max + 1 when there are more. */
size_t pg_csv_split(const char *line, size_t n, pg_csv_field *f, size_t max);
bool pg_csv_eq(pg_csv_field f, const char *s);
/* Non-negative decimal such as 123 or 123.456 (at most 12 integer and 9 fraction
 * digits). *milli = value in thousandths, rounded half up. */
int pg_csv_decimal_milli(pg_csv_field f, int64_t *milli);
/* Copies a field for an error message, shortened and with bytes outside
 * printable ASCII replaced by '?'. */
void pg_csv_show(pg_csv_field f, char *out, size_t cap);

#endif
