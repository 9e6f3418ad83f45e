/* p2pgrid/profile.h — generation and load models for the simulator and the
 * entities' built-in meters: solar (sun position, clear sky, clouds), wind
 * (correlated Weibull speeds through a power curve), a household load model
 * fitted to the BDEW H25 standard load profile, the BDEW table itself and
 * measured `time,power_W` series loaded from CSV. Depends on base and libm.
 *
 * UNITS. Time: Unix ms (int64; times before 1970 work). Power: W (double).
 * Energy: Wh (double from the models; int64 from pg_energy_integ, which
 * meters use). Angles: degrees.
 *
 * DETERMINISM. Every random process is a pure function of (seed, time): its
 * value at t is derived from a counter-based hash (splitmix64) of the seed
 * and the time bucket, never from what was asked before, so any order of
 * calls, random access, and any thread give bit-identical results. The
 * model functions below are pure and thread-safe (they read const params).
 *
 * PARSERS. pg_bdew_* and pg_series_* read files from outside: every byte
 * goes through length-checked parsing, sizes and row counts are capped, and
 * a failure writes "name:line: what is wrong" into the optional pg_diag. */
#ifndef P2PGRID_PROFILE_H
#define P2PGRID_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/err.h"
#include "p2pgrid/file.h" /* pg_read_file_capped, used by the loaders */

/* ---- calendar ------------------------------------------------------------ */

/* A time zone: fixed offset east of UTC plus, optionally, the EU summer-time
 * rule (+60 min from the last Sunday of March 01:00 UTC to the last Sunday
 * of October 01:00 UTC). */
typedef struct pg_tz {
  int32_t utc_offset_min; /* -720..840 */
  bool eu_dst;
} pg_tz;
#define PG_TZ_UTC ((pg_tz){0, false})
#define PG_TZ_BERLIN ((pg_tz){60, true})

typedef struct pg_local_time {
  int year, month, day; /* month 1..12, day 1..31 */
  int doy;              /* day of year 1..366 */
  int wday;             /* 0 = Sunday .. 6 = Saturday */
  int64_t ms_of_day;    /* 0 .. 86399999 */
} pg_local_time;

void pg_local_time_of(int64_t t_ms, pg_tz tz, pg_local_time *out);
/* Zone names (contract D of issue 15; the tz helper owns these — until its
 * IANA reader lands, src/profile/tz_stub.c accepts "UTC", "Europe/Berlin"
 * and "+HH:MM"/"-HH:MM"). */
PG_NODISCARD int pg_tz_parse(const char *s, pg_tz *out, pg_diag *d);
const char *pg_tz_name(pg_tz tz);               /* "Europe/Berlin", "UTC", "+01:00" */
int32_t pg_tz_offset_s(pg_tz tz, int64_t t_ms); /* UTC offset at that instant */
int pg_days_in_year(int year);
/* Unix day number (days since 1970-01-01) of a civil date (proleptic Gregorian). */
int64_t pg_days_from_civil(int year, int month, int day);

/* BDEW day types. */
typedef enum pg_daytype {
  PG_DAY_WORKDAY = 0,  /* WT */
  PG_DAY_SATURDAY = 1, /* SA */
  PG_DAY_SUNDAY = 2,   /* FT: Sunday or public holiday */
} pg_daytype;

/* Nationwide German public holidays: 1 Jan, Good Friday, Easter Monday,
 * 1 May, Ascension, Whit Monday, 3 Oct, 25 and 26 Dec. */
bool pg_holiday_de(int year, int month, int day);
/* Day type of a civil date. With holidays: public holidays are FT, and 24 and
 * 31 December count as Saturday unless they are Sundays (BDEW rule). */
pg_daytype pg_daytype_of(int year, int month, int day, bool holidays);

/* BDEW dynamisation factor for day of year d (1..366):
 * -3.92e-10 d^4 + 3.2e-7 d^3 - 7.02e-5 d^2 + 2.1e-3 d + 1.24. */
double pg_bdew_dynamisation(int doy);

/* ---- solar --------------------------------------------------------------- */

/* Sun position (NOAA low-precision formulas: fractional-year series for the
 * declination and the equation of time, hour angle from true solar time). */
typedef struct pg_sun {
  double elevation_deg;   /* above the horizon; negative at night */
  double declination_deg;
  double hour_angle_deg;  /* 0 at solar noon, negative before */
  double eot_min;         /* equation of time, minutes */
} pg_sun;
void pg_sun_position(double lat_deg, double lon_deg, int64_t t_ms, pg_sun *out);

typedef struct pg_solar_params {
  double lat_deg, lon_deg; /* site; -90..90, -180..180 */
  double kwp;              /* panel capacity, kWp, > 0 */
  double tilt_deg;         /* 0 (flat) .. 90 */
  double azimuth_deg;      /* panel facing: 0 south, +90 west, -90 east (-180..180) */
  double performance_ratio;/* (0, 1] */
  double albedo;           /* ground reflectance 0..1 */
  bool clouds;             /* false: clear sky every day */
  double clearness;        /* mean clear-sky index of the cloud process, 0.2..1 */
} pg_solar_params;

/* Berlin (52.52 N, 13.40 E), 1 kWp, 30 deg tilt facing south, PR 0.85,
 * albedo 0.2, clouds on with clearness 0.55 (about 950-1050 kWh/kWp a year). */
void pg_solar_params_default(pg_solar_params *p);
/* PG_ERR_INVALID with the field named when a value is out of range/not finite. */
PG_NODISCARD int pg_solar_check(const pg_solar_params *p, pg_diag *d);

/* Clear-sky irradiance on the horizontal at a sun elevation: global by
 * Haurwitz (1098 cos z exp(-0.057 / cos z)), direct normal by Meinel with
 * the Kasten-Young air mass (1353 * 0.7^(AM^0.678)), diffuse the rest. W/m^2. */
typedef struct pg_irradiance {
  double ghi, dni, dhi;
} pg_irradiance;
void pg_clear_sky(double elevation_deg, pg_irradiance *out);

/* Clear-sky index of the cloud process at t (1 without clouds): a latent
 * Gaussian field (a daily and a 15-minute component, each a moving-average
 * AR(1)-like process of hashed innovations, interpolated between bucket
 * centres with unit variance kept) mapped onto [0.1, 1.05] with the mean
 * `clearness`, lower in winter than in summer. */
double pg_solar_clear_sky_index(const pg_solar_params *p, uint64_t seed, int64_t t_ms);
/* AC power in W: plane-of-array irradiance (beam by angle of incidence, sky
 * diffuse isotropic, ground reflected) x kWp x PR; 0 at night. */
double pg_solar_power_w(const pg_solar_params *p, uint64_t seed, int64_t t_ms);

/* ---- wind ---------------------------------------------------------------- */

typedef struct pg_wind_params {
  double weibull_k;   /* shape, 1..5 */
  double weibull_c;   /* scale, m/s, > 0 */
  double cut_in;      /* m/s */
  double rated_speed; /* m/s, > cut_in */
  double cut_out;     /* m/s, > rated_speed */
  double rated_kw;    /* kW, > 0 */
} pg_wind_params;
/* k 2, c 6 m/s, cut-in 3, rated 12, cut-out 25 m/s, 10 kW. */
void pg_wind_params_default(pg_wind_params *p);
PG_NODISCARD int pg_wind_check(const pg_wind_params *p, pg_diag *d);
/* Wind speed in m/s at t: Weibull(k, c) marginal of a latent Gaussian field
 * (6-hour synoptic and 15-minute components) — correlated in time, random
 * access deterministic in (seed, t). */
double pg_wind_speed(const pg_wind_params *p, uint64_t seed, int64_t t_ms);
/* Power curve: 0 below cut_in and from cut_out on; rated from rated_speed;
 * between, rated * (v^3 - cut_in^3) / (rated_speed^3 - cut_in^3). W. */
double pg_wind_curve_w(const pg_wind_params *p, double v);
double pg_wind_power_w(const pg_wind_params *p, uint64_t seed, int64_t t_ms);

/* ---- household load (fitted to BDEW H25) --------------------------------- */

/* Model, per day type k (from the local calendar) in W per 1000 kWh/a:
 *   P0 = sum_{i<5} sum_{j<17} c[k][i][j] S_i(x) F_j(h)
 * S = 1, cos/sin(2 pi x), cos/sin(4 pi x), x = (doy - 0.5) / days in year;
 * F = 1, cos/sin(2 pi n h / 24), n = 1..8, h = local hour of day.
 * The coefficients are a 2-D Fourier fit of the H25 table (made by
 * src/profile/fit/fit_h25.c). P = P0 x dynamisation(doy) x norm(year) x
 * annual_kwh / 1000, where norm makes the noise-free annual sum of every
 * calendar year exactly annual_kwh. Noise: a per-house time shift of the
 * daily shape (uniform in +-shift_max_min) and a multiplicative log-normal
 * factor with mean 1 (sigma `noise`, 15-minute correlated process). */
typedef struct pg_household_params {
  double annual_kwh;    /* > 0 */
  pg_tz tz;             /* calendar of the day types; default Europe/Berlin */
  bool holidays;        /* German public holidays count as Sundays */
  double noise;         /* sigma of the log-normal factor, 0..1; 0 = none */
  double shift_max_min; /* 0..120 */
} pg_household_params;
/* 3500 kWh/a, Europe/Berlin, holidays on, noise 0.3, shift 30 min. */
void pg_household_params_default(pg_household_params *p);

#define PG_HOUSEHOLD_YEAR0 1970
#define PG_HOUSEHOLD_YEARS 230 /* norm(year) precomputed for 1970..2199 */
typedef struct pg_household {
  pg_household_params p;
  double norm[PG_HOUSEHOLD_YEARS];
} pg_household;

/* Checks p and precomputes the yearly normalisation. */
PG_NODISCARD int pg_household_init(pg_household *h, const pg_household_params *p, pg_diag *d);
/* Power in W at t; seed drives the noise (unused when noise = 0 and shift = 0). */
double pg_household_power_w(const pg_household *h, uint64_t seed, int64_t t_ms);
/* Noise-free energy in Wh of a local calendar day (sum over the day). */
double pg_household_day_wh(const pg_household *h, int year, int month, int day);

/* ---- BDEW standard load profile tables ----------------------------------- */

/* Layout of h25.csv, p25.csv, s25.csv, g25.csv: line 1 "", then 36 German
 * month names (Januar..Dezember, three columns each); line 2 "[kWh]", then
 * the day type of each column (SA, FT, WT, each once per month); then 96
 * lines "HH:MM-HH:MM" (00:00-00:15 .. 23:45-00:00) with 36 non-negative
 * decimals: kWh of that quarter hour for 1,000,000 kWh/a. CRLF accepted. */
#define PG_BDEW_MAX_FILE (1u << 20)
typedef struct pg_bdew_table {
  double w[12][3][96]; /* mean power in W per 1000 kWh/a: 4 x the file's value */
} pg_bdew_table;

PG_NODISCARD int pg_bdew_parse(const void *data, size_t len, const char *name,
                               pg_bdew_table *out, pg_diag *d);
PG_NODISCARD int pg_bdew_load(const char *path, pg_bdew_table *out, pg_diag *d);

typedef struct pg_bdew_eval {
  double annual_kwh; /* scale: the table is per 1000 kWh/a x annual_kwh / 1000 */
  bool dynamise;     /* multiply by pg_bdew_dynamisation (H25, P25, S25: yes; G25: no) */
  bool holidays;
  pg_tz tz;
} pg_bdew_eval;
/* Power in W at t by the BDEW method: the table value of the local month,
 * day type and quarter hour, optionally dynamised (not renormalised). */
double pg_bdew_power_w(const pg_bdew_table *t, const pg_bdew_eval *e, int64_t t_ms);

/* ---- measured series: `time,power_W` CSV --------------------------------- */

/* Layout: a header line "time,power_W" (the first column may instead be
 * named time_s or time_ms to force Unix seconds or ms), then one sample a
 * line: time, power in W (non-negative decimal, up to 9 fraction digits,
 * kept in mW). Time is ISO-8601 UTC "2025-01-01T00:15:00Z" (optional .fff,
 * "Z" or "+00:00") or an integer: under "time" values below 10^11 are Unix
 * seconds, others ms. Times strictly increasing; at least 2 samples.
 * Empty lines are ignored; CRLF accepted; at most PG_SERIES_MAX_FILE bytes,
 * PG_SERIES_MAX_ROWS samples, PG_SERIES_MAX_LINE bytes a line. */
#define PG_SERIES_MAX_FILE (64u << 20)
#define PG_SERIES_MAX_ROWS 4000000u
#define PG_SERIES_MAX_LINE 256u
#define PG_SERIES_MAX_W 1e9 /* per sample */

typedef enum pg_series_interp {
  PG_SERIES_STEP = 0,  /* a sample holds until the next one */
  PG_SERIES_LINEAR = 1 /* straight lines between samples */
} pg_series_interp;

typedef struct pg_series_opts {
  pg_series_interp interp;
  /* false: power is 0 outside [start, end); true: the series repeats with
   * period end - start. end = last time (LINEAR) or last time + the last
   * spacing (STEP: the last sample holds as long as the one before it). */
  bool wrap;
} pg_series_opts;

typedef struct pg_series pg_series; /* immutable after parse; thread-safe reads */

/* opts may be NULL (STEP, no wrap). *out is owned by the caller. */
PG_NODISCARD int pg_series_parse(const void *data, size_t len, const char *name,
                                 const pg_series_opts *opts, pg_series **out, pg_diag *d);
PG_NODISCARD int pg_series_load(const char *path, const pg_series_opts *opts, pg_series **out,
                                pg_diag *d);
void pg_series_free(pg_series *s); /* NULL is fine */
size_t pg_series_count(const pg_series *s);
int64_t pg_series_start_ms(const pg_series *s);
int64_t pg_series_end_ms(const pg_series *s);
double pg_series_power_w(const pg_series *s, int64_t t_ms);
/* Exact integral of the interpolant over [from, to) in Wh (0 when to <= from). */
double pg_series_energy_wh(const pg_series *s, int64_t from_ms, int64_t to_ms);
/* Cumulative energy from the series start (from the first period's start
 * when wrapping; negative before it) rounded to the nearest Wh, computed in
 * exact integer arithmetic: cum(b) - cum(a) is a window's energy, and
 * consecutive windows sum exactly to their union. */
int64_t pg_series_cum_wh(const pg_series *s, int64_t t_ms);

/* ---- integer energy of a power function ---------------------------------- */

/* Turns a power function into Wh per window such that consecutive windows
 * sum exactly to their union. Power is sampled at the midpoint of each
 * minute (cells aligned to the Unix epoch; the midpoint rule, exact for
 * power that is constant per minute) and integrated per UTC day. A reading
 * at t is R(t) = sum of round(day energy) over earlier days + round(energy
 * from the day's start to t), and a window [a, b) gets R(b) - R(a) (each
 * window is within 1 Wh of the integral plus 0.5 Wh per midnight it
 * crosses). The function must return finite, non-negative W. The struct
 * keeps the last day's cumulative curve as a cache (not thread-safe; the
 * answers do not depend on it). */
typedef double (*pg_power_fn)(const void *ctx, int64_t t_ms);
typedef struct pg_energy_integ {
  pg_power_fn fn;
  const void *ctx;
  bool valid;
  int64_t day;       /* UTC day of cum[] */
  double cum[1441];  /* Wh from the day's start to minute i */
} pg_energy_integ;
void pg_energy_integ_init(pg_energy_integ *g, pg_power_fn fn, const void *ctx);
/* Wh over [from, to); 0 when to <= from. */
int64_t pg_energy_integ_wh(pg_energy_integ *g, int64_t from_ms, int64_t to_ms);

#endif
