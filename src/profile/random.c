/* Counter-based random fields: splitmix64 of (seed, stream, bucket). */
#include <math.h>

#include "profile_internal.h"

uint64_t pg_profile_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t pg_profile_key(uint64_t seed, uint64_t stream) {
  return pg_profile_mix(pg_profile_mix(seed ^ 0x6A09E667F3BCC908ull) ^
                        (stream * 0x9E3779B97F4A7C15ull));
}

/* Unit-variance, zero-mean innovation: sum of four 16-bit uniforms. */
static double innovation(uint64_t key, int64_t n) {
  uint64_t h = pg_profile_at(key, n);
  double s = 0;
  for (int i = 0; i < 4; i++) s += ((double)((h >> (16 * i)) & 0xFFFF) + 0.5) / 65536.0;
  return (s - 2.0) * 1.7320508075688772; /* var of the sum is 4/12 */
}

double pg_latent(uint64_t seed, uint64_t stream, int64_t t_ms, const pg_latent_spec *s) {
  uint64_t key = pg_profile_key(seed, stream);
  double pos = (double)t_ms / (double)s->bucket_ms - 0.5;
  double fl = floor(pos);
  int64_t n0 = (int64_t)fl;
  double f = pos - fl;
  int taps = s->taps > 64 ? 64 : s->taps;
  double norm = sqrt((1 - s->phi * s->phi) / (1 - pow(s->phi, 2.0 * taps)));
  /* e[i] = innovation(n0 + 1 - i), i = 0..taps */
  double z0 = 0, z1 = 0, rho = 0, w = norm;
  double prev_e = innovation(key, n0 + 1);
  for (int j = 0; j < taps; j++) {
    double e = innovation(key, n0 - j);
    z1 += w * prev_e;
    z0 += w * e;
    if (j + 1 < taps) rho += w * w * s->phi;
    prev_e = e;
    w *= s->phi;
  }
  double a = 1 - f, b = f;
  double sd = sqrt(a * a + b * b + 2 * a * b * rho);
  return (a * z0 + b * z1) / sd;
}

double pg_phi_cdf(double z) { return 0.5 * erfc(-z / 1.4142135623730951); }

double pg_profile_shift_h(uint64_t seed, uint64_t stream, double max_min) {
  if (!(max_min > 0)) return 0;
  uint64_t r = pg_profile_at(pg_profile_key(seed, stream), 0);
  double u = ((double)(r >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
  return (2 * u - 1) * max_min / 60;
}

static const pg_latent_spec quarter_hour_noise = {900000, 0.8, 32};

double pg_profile_lognormal(uint64_t seed, uint64_t stream, int64_t t_ms, double sigma) {
  if (!(sigma > 0)) return 1;
  double z = pg_latent(seed, stream, t_ms, &quarter_hour_noise);
  return exp(sigma * z - 0.5 * sigma * sigma);
}

double pg_shape24(const double tab[24], double hour) {
  double pos = hour - 0.5, fl = floor(pos), f = pos - fl;
  int i = (int)fl % 24;
  if (i < 0) i += 24;
  return tab[i] * (1 - f) + tab[(i + 1) % 24] * f;
}

double pg_shape24_mean(const double tab[24]) {
  double s = 0;
  for (int i = 0; i < 24; i++) s += tab[i];
  return s / 24;
}
