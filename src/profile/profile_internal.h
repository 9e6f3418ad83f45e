/* Internal helpers of the profile module: counter-based random fields. */
#ifndef P2PGRID_PROFILE_INTERNAL_H
#define P2PGRID_PROFILE_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/profile/profile.h"

/* Stream identifiers so different processes of one seed are independent. */
enum {
  PG_STREAM_CLOUD_DAY = 1,
  PG_STREAM_CLOUD_FAST = 2,
  PG_STREAM_WIND_SLOW = 3,
  PG_STREAM_WIND_FAST = 4,
  PG_STREAM_HOUSE_SHIFT = 5,
  PG_STREAM_HOUSE_NOISE = 6,
  PG_STREAM_TEMP_DAY = 7,
  PG_STREAM_TEMP_HOUR = 8,
  PG_STREAM_WATER_SHIFT = 9,
  PG_STREAM_WATER_NOISE = 10,
  PG_STREAM_HEAT_NOISE = 11,
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
/* pg_latent at the minute midpoints of UTC days [day0, day0 + ndays) into
 * out[ndays x 1440], bit-identical, each bucket's sum made once.
 * PG_ERR_NOMEM. */
int pg_latent_days(uint64_t seed, uint64_t stream, const pg_latent_spec *s, int64_t day0,
                   size_t ndays, double *out);
/* Widest SIMD the whole-day paths may use (2 AVX, 1 SSE4.1, 0 portable
 * C; each also needs the CPU to have it). Tests lower it to compare the
 * paths: every one gives the same bits. */
extern int pg_profile_simd_max;
/* Standard normal CDF. */
double pg_phi_cdf(double z);

/* The per-home time shift of a daily shape, in hours: uniform in
 * +-max_min minutes, one draw per (seed, stream). */
double pg_profile_shift_h(uint64_t seed, uint64_t stream, double max_min);
/* Log-normal factor with mean 1: exp(sigma z - sigma^2 / 2), z the latent
 * process of (seed, stream) with 15-minute buckets (phi 0.8, 32 taps). */
double pg_profile_lognormal(uint64_t seed, uint64_t stream, int64_t t_ms, double sigma);

/* The latent process of pg_profile_lognormal (15-minute buckets, phi 0.8,
 * 32 taps). */
extern const pg_latent_spec pg_quarter_hour_noise;

static inline bool pg_in_range(double v, double lo, double hi) {
  return isfinite(v) && v >= lo && v <= hi;
}
/* Day of year (1..366) of a civil date. */
static inline int pg_doy_of(int year, int month, int day) {
  return (int)(pg_days_from_civil(year, month, day) - pg_days_from_civil(year, 1, 1)) + 1;
}
/* Sum of fn over the local calendar days of a year (doy 1..365/366). */
typedef double (*pg_day_fn)(const void *ctx, int year, int month, int day, int doy);
double pg_year_sum(int year, pg_day_fn fn, const void *ctx);
/* A periodic daily shape: 24 values at the half hours (0:30, 1:30, ...),
 * straight lines between them; mean over the day = the table's mean. */
double pg_shape24(const double tab[24], double hour);
double pg_shape24_mean(const double tab[24]);

/* Household water use (water.c), shared with the heat model's hot water:
 * the indoor daily shape of day type k (mean 1) and its daily factor. */
double pg_water_indoor_shape(int k, double hour);
extern const double pg_water_day_factor[3];
/* Noise-free temperature from the local day of year, hour and year length. */
double pg_temperature_at(const pg_temperature_params *p, int doy, double hour, int ndays);

/* CSV lines over untrusted bytes: pg_csv_* in p2pgrid/base/csv.h (src/base/csv.c). */
#include "p2pgrid/base/csv.h"

#endif
