/* Solar generation: sun position, clear sky, clouds, plane of array. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

#define DEG (M_PI / 180.0)

void pg_sun_position(double lat_deg, double lon_deg, int64_t t_ms, pg_sun *out) {
  pg_local_time lt;
  pg_local_time_of(t_ms, PG_TZ_UTC, &lt);
  double hour = (double)lt.ms_of_day / 3600000.0;
  double g = 2 * M_PI / pg_days_in_year(lt.year) * (lt.doy - 1 + (hour - 12) / 24);
  double eot = 229.18 * (0.000075 + 0.001868 * cos(g) - 0.032077 * sin(g) -
                         0.014615 * cos(2 * g) - 0.040849 * sin(2 * g));
  double decl = 0.006918 - 0.399912 * cos(g) + 0.070257 * sin(g) - 0.006758 * cos(2 * g) +
                0.000907 * sin(2 * g) - 0.002697 * cos(3 * g) + 0.00148 * sin(3 * g);
  double tst = hour * 60 + eot + 4 * lon_deg; /* true solar time, minutes */
  double ha = tst / 4 - 180;
  ha = fmod(ha + 540, 360) - 180;
  if (ha < -180) ha += 360;
  double phi = lat_deg * DEG;
  double cz = sin(phi) * sin(decl) + cos(phi) * cos(decl) * cos(ha * DEG);
  if (cz > 1) cz = 1;
  if (cz < -1) cz = -1;
  out->elevation_deg = 90 - acos(cz) / DEG;
  out->declination_deg = decl / DEG;
  out->hour_angle_deg = ha;
  out->eot_min = eot;
}

void pg_clear_sky(double elevation_deg, pg_irradiance *out) {
  out->ghi = out->dni = out->dhi = 0;
  if (elevation_deg <= 0) return;
  double zen = 90 - elevation_deg;
  double cz = sin(elevation_deg * DEG);
  double ghi = 1098 * cz * exp(-0.057 / cz);
  double am = 1 / (cz + 0.50572 * pow(96.07995 - zen, -1.6364));
  double dni = 1353 * pow(0.7, pow(am, 0.678));
  double beam = dni * cz;
  if (beam > 0.95 * ghi) { /* keep some diffuse light */
    beam = 0.95 * ghi;
    dni = beam / cz;
  }
  out->ghi = ghi;
  out->dni = dni;
  out->dhi = ghi - beam;
}

void pg_solar_params_default(pg_solar_params *p) {
  *p = (pg_solar_params){.lat_deg = 52.52,
                         .lon_deg = 13.40,
                         .kwp = 1,
                         .tilt_deg = 30,
                         .azimuth_deg = 0,
                         .performance_ratio = 0.85,
                         .albedo = 0.2,
                         .clouds = true,
                         .clearness = 0.55};
}

static bool in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

int pg_solar_check(const pg_solar_params *p, pg_diag *d) {
  if (!in(p->lat_deg, -90, 90)) return pg_fail(d, PG_ERR_INVALID, "solar: latitude must be -90..90 degrees");
  if (!in(p->lon_deg, -180, 180)) return pg_fail(d, PG_ERR_INVALID, "solar: longitude must be -180..180 degrees");
  if (!in(p->kwp, 1e-6, 1e6)) return pg_fail(d, PG_ERR_INVALID, "solar: kwp must be > 0 and at most 1e6");
  if (!in(p->tilt_deg, 0, 90)) return pg_fail(d, PG_ERR_INVALID, "solar: tilt must be 0..90 degrees");
  if (!in(p->azimuth_deg, -180, 180)) return pg_fail(d, PG_ERR_INVALID, "solar: azimuth must be -180..180 degrees (0 = south)");
  if (!in(p->performance_ratio, 1e-6, 1)) return pg_fail(d, PG_ERR_INVALID, "solar: performance ratio must be in (0, 1]");
  if (!in(p->albedo, 0, 1)) return pg_fail(d, PG_ERR_INVALID, "solar: albedo must be 0..1");
  if (p->clouds && !in(p->clearness, 0.2, 1)) return pg_fail(d, PG_ERR_INVALID, "solar: clearness must be 0.2..1");
  return PG_OK;
}

static const pg_latent_spec cloud_day = {86400000, 0.55, 12};
static const pg_latent_spec cloud_fast = {900000, 0.88, 40};

#define KC_MIN 0.1
#define KC_MAX 1.05

double pg_solar_clear_sky_index(const pg_solar_params *p, uint64_t seed, int64_t t_ms) {
  if (!p->clouds) return 1;
  double z = 0.7 * pg_latent(seed, PG_STREAM_CLOUD_DAY, t_ms, &cloud_day) +
             0.71414284285428499 * pg_latent(seed, PG_STREAM_CLOUD_FAST, t_ms, &cloud_fast);
  double u = pg_phi_cdf(z);
  /* seasonal mean: clearness +- 0.1, clearest in early summer (northern
   * hemisphere), mirrored in the south */
  pg_local_time lt;
  pg_local_time_of(t_ms, PG_TZ_UTC, &lt);
  double season = cos(2 * M_PI * (lt.doy - 172) / 365.25);
  if (p->lat_deg < 0) season = -season;
  double mean = p->clearness + 0.1 * season * (1 - p->clearness) / 0.45;
  if (mean > 0.98) mean = 0.98;
  if (mean < 0.15) mean = 0.15;
  /* kc = KC_MIN + (KC_MAX - KC_MIN) u^gamma has mean KC_MIN + span / (1 + gamma) */
  double gamma = (KC_MAX - KC_MIN) / (mean - KC_MIN) - 1;
  return KC_MIN + (KC_MAX - KC_MIN) * pow(u, gamma);
}

double pg_solar_power_w(const pg_solar_params *p, uint64_t seed, int64_t t_ms) {
  pg_sun sun;
  pg_sun_position(p->lat_deg, p->lon_deg, t_ms, &sun);
  if (sun.elevation_deg <= 0) return 0;
  pg_irradiance cs;
  pg_clear_sky(sun.elevation_deg, &cs);
  double kc = pg_solar_clear_sky_index(p, seed, t_ms);
  double g = kc * cs.ghi;
  /* diffuse fraction: all diffuse under thick cloud, clear-sky share when clear */
  double fd_cs = cs.ghi > 0 ? cs.dhi / cs.ghi : 1;
  double fd = kc <= 0.25 ? 1 : kc >= 0.95 ? fd_cs : 1 + (fd_cs - 1) * (kc - 0.25) / 0.7;
  double beam_h = g * (1 - fd), diff_h = g * fd;
  double cz = sin(sun.elevation_deg * DEG);
  /* angle of incidence (Duffie & Beckman 1.6.2) */
  double phi = p->lat_deg * DEG, dl = sun.declination_deg * DEG, w = sun.hour_angle_deg * DEG;
  double b = p->tilt_deg * DEG, gs = p->azimuth_deg * DEG;
  double caoi = sin(dl) * sin(phi) * cos(b) - sin(dl) * cos(phi) * sin(b) * cos(gs) +
                cos(dl) * cos(phi) * cos(b) * cos(w) +
                cos(dl) * sin(phi) * sin(b) * cos(gs) * cos(w) + cos(dl) * sin(b) * sin(gs) * sin(w);
  if (caoi < 0) caoi = 0;
  double rb = caoi / (cz < 0.05 ? 0.05 : cz);
  if (rb > 10) rb = 10;
  double poa = beam_h * rb + diff_h * (1 + cos(b)) / 2 + g * p->albedo * (1 - cos(b)) / 2;
  double pw = p->kwp * poa * p->performance_ratio; /* kWp at 1000 W/m^2 */
  return pw > 0 ? pw : 0;
}

/* ---- whole days at once (profile.h) ---- */

void pg_sun_days_free(pg_sun_days *s) {
  free(s->elev);
  memset(s, 0, sizeof *s);
}

int pg_sun_days_init(pg_sun_days *s, double lat_deg, double lon_deg, int64_t day0, size_t ndays,
                     pg_diag *d) {
  memset(s, 0, sizeof *s);
  if (ndays == 0 || ndays > 100000) return pg_fail(d, PG_ERR_INVALID, "sun days: 1..100000 days");
  size_t n = ndays * PG_DAY_MINUTES;
  double *m = malloc(11 * n * sizeof *m);
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "sun days: out of memory");
  s->lat_deg = lat_deg, s->lon_deg = lon_deg, s->day0 = day0, s->ndays = ndays;
  s->elev = m, s->decl = m + n, s->ha = m + 2 * n, s->ghi = m + 3 * n, s->dni = m + 4 * n;
  s->dhi = m + 5 * n, s->cz = m + 6 * n, s->sdl = m + 7 * n, s->cdl = m + 8 * n;
  s->cw = m + 9 * n, s->sw = m + 10 * n;
  for (size_t i = 0; i < n; i++) {
    pg_sun sun;
    pg_sun_position(lat_deg, lon_deg,
                    (day0 + (int64_t)(i / PG_DAY_MINUTES)) * 86400000 +
                        (int64_t)(i % PG_DAY_MINUTES) * 60000 + 30000,
                    &sun);
    s->elev[i] = sun.elevation_deg, s->decl[i] = sun.declination_deg, s->ha[i] = sun.hour_angle_deg;
    pg_irradiance cs = {0, 0, 0};
    double dl = sun.declination_deg * DEG, w = sun.hour_angle_deg * DEG;
    if (sun.elevation_deg > 0) {
      pg_clear_sky(sun.elevation_deg, &cs);
      s->cz[i] = sin(sun.elevation_deg * DEG);
      s->sdl[i] = sin(dl), s->cdl[i] = cos(dl), s->cw[i] = cos(w), s->sw[i] = sin(w);
    } else {
      s->cz[i] = s->sdl[i] = s->cdl[i] = s->cw[i] = s->sw[i] = 0;
    }
    s->ghi[i] = cs.ghi, s->dni[i] = cs.dni, s->dhi[i] = cs.dhi;
  }
  return PG_OK;
}

/* The clear-sky index's daily parameter (pg_solar_clear_sky_index). */
static double kc_gamma(const pg_solar_params *p, int64_t day) {
  pg_local_time lt;
  pg_local_time_of(day * 86400000, PG_TZ_UTC, &lt);
  double season = cos(2 * M_PI * (lt.doy - 172) / 365.25);
  if (p->lat_deg < 0) season = -season;
  double mean = p->clearness + 0.1 * season * (1 - p->clearness) / 0.45;
  if (mean > 0.98) mean = 0.98;
  if (mean < 0.15) mean = 0.15;
  return (KC_MAX - KC_MIN) / (mean - KC_MIN) - 1;
}

typedef struct panel {
  double sphi, cphi, sb, cb, sgs, cgs;
} panel;

/* pg_solar_power_w after the sun position, at sample i of sun, index kc. */
static double panel_w(const pg_solar_params *p, const panel *q, const pg_sun_days *s, size_t i,
                      double kc) {
  double ghi = s->ghi[i], dhi = s->dhi[i];
  double g = kc * ghi;
  double fd_cs = ghi > 0 ? dhi / ghi : 1;
  double fd = kc <= 0.25 ? 1 : kc >= 0.95 ? fd_cs : 1 + (fd_cs - 1) * (kc - 0.25) / 0.7;
  double beam_h = g * (1 - fd), diff_h = g * fd;
  double cz = s->cz[i];
  double sdl = s->sdl[i], cdl = s->cdl[i], cw = s->cw[i], sw = s->sw[i];
  double caoi = sdl * q->sphi * q->cb - sdl * q->cphi * q->sb * q->cgs + cdl * q->cphi * q->cb * cw +
                cdl * q->sphi * q->sb * q->cgs * cw + cdl * q->sb * q->sgs * sw;
  if (caoi < 0) caoi = 0;
  double rb = caoi / (cz < 0.05 ? 0.05 : cz);
  if (rb > 10) rb = 10;
  double poa = beam_h * rb + diff_h * (1 + q->cb) / 2 + g * p->albedo * (1 - q->cb) / 2;
  double pw = p->kwp * poa * p->performance_ratio;
  return pw > 0 ? pw : 0;
}

#define SOLAR_BLOCK 8 /* days a pass: the cloud scratch stays small */

int pg_solar_days_w(const pg_solar_params *p, uint64_t seed, const pg_sun_days *s, double *out,
                    pg_diag *d) {
  if (p->lat_deg != s->lat_deg || p->lon_deg != s->lon_deg)
    return pg_fail(d, PG_ERR_INVALID, "solar days: the panel's site is not the sun table's");
  double *zd = NULL;
  if (p->clouds && !(zd = malloc(SOLAR_BLOCK * PG_DAY_MINUTES * sizeof *zd)))
    return pg_fail(d, PG_ERR_NOMEM, "solar days: out of memory");
  double phi = p->lat_deg * DEG, b = p->tilt_deg * DEG, gs = p->azimuth_deg * DEG;
  panel q = {sin(phi), cos(phi), sin(b), cos(b), sin(gs), cos(gs)};
  for (size_t b0 = 0; b0 < s->ndays; b0 += SOLAR_BLOCK) {
    size_t nb = s->ndays - b0 < SOLAR_BLOCK ? s->ndays - b0 : SOLAR_BLOCK;
    int64_t day = s->day0 + (int64_t)b0;
    double *o = out + b0 * PG_DAY_MINUTES, *zf = o;
    if (p->clouds && (pg_latent_days(seed, PG_STREAM_CLOUD_DAY, &cloud_day, day, nb, zd) ||
                      pg_latent_days(seed, PG_STREAM_CLOUD_FAST, &cloud_fast, day, nb, zf))) {
      free(zd);
      return pg_fail(d, PG_ERR_NOMEM, "solar days: out of memory");
    }
    for (size_t dd = 0; dd < nb; dd++) {
      double gamma = p->clouds ? kc_gamma(p, day + (int64_t)dd) : 0;
      for (size_t i = dd * PG_DAY_MINUTES; i < (dd + 1) * PG_DAY_MINUTES; i++) {
        size_t si = b0 * PG_DAY_MINUTES + i; /* in the sun table */
        if (s->elev[si] <= 0) {
          o[i] = 0;
          continue;
        }
        double kc = 1;
        if (p->clouds) {
          double z = 0.7 * zd[i] + 0.71414284285428499 * zf[i];
          kc = KC_MIN + (KC_MAX - KC_MIN) * pow(pg_phi_cdf(z), gamma);
        }
        o[i] = panel_w(p, &q, s, si, kc);
      }
    }
  }
  free(zd);
  return PG_OK;
}
