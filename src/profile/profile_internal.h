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

/* CSV lines over untrusted bytes: pg_csv_* in p2pgrid/csv.h (src/base/csv.c). */
#include "p2pgrid/csv.h"

#endif
