/* p2pgrid/profile/profile.h — generation and load models for the simulator and the
 * entities' built-in meters: solar (sun position, clear sky, clouds), wind
 * (correlated Weibull speeds through a power curve), a household load model
 * fitted to the BDEW H25 standard load profile, the BDEW table itself,
 * measured `time,power_W` series loaded from CSV, and for other resources
 * an outdoor temperature, household water and heat use, a well, a boiler and
 * a rain-water tank. Depends on base and libm.
 *
 * UNITS. Time: Unix ms (int64; times before 1970 work). Power: W (double).
 * Energy: Wh (double from the models; int64 from pg_energy_integ, which
 * meters use). Angles: degrees. Other resources use their base unit the
 * same way: a "power" is base units per hour (L/h for water, W for heat),
 * so pg_energy_integ turns it into whole base units (L, Wh_th) unchanged.
 *
 * DETERMINISM. Every random process is a pure function of (seed, time): its
 * value at t is derived from a counter-based hash (splitmix64) of the seed
 * and the time bucket, never from what was asked before, so any order of
 * calls, random access, and any thread give bit-identical results. The
 * model functions below are pure and thread-safe (they read const params).
 *
 * PARSERS. pg_bdew_* and pg_series_* read files from outside: every byte
 * goes through length-checked parsing, sizes and row counts are capped.
 *
 * Ownership: params, tables and results are caller values; what a *_new,
 * *_load or *_parse returns through a pointer is the caller's, freed with
 * its *_free (pg_series_free, pg_rain_tank_free, pg_household_work_free,
 * pg_local_days_free, pg_sun_days_free; NULL or zeroed is fine). Series
 * and calendars made from others copy what they keep.
 * Errors: 0 or PG_ERR_INVALID, PG_ERR_TOO_LARGE, PG_ERR_IO or PG_ERR_NOMEM;
 * a parser's failure writes "name:line: what is wrong" into the optional
 * pg_diag; the model functions cannot fail.
 * Threads: the model functions are pure and thread-safe (see DETERMINISM;
 * one-time tables are set up under pthread_once); made objects are
 * read-only and shareable except where THREADS below says otherwise. */
#ifndef P2PGRID_PROFILE_PROFILE_H
#define P2PGRID_PROFILE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/base/file.h" /* pg_read_file_capped, used by the loaders */
#include "p2pgrid/base/tz.h"   /* pg_tz, pg_local_time_of, civil calendar */

/* ---- calendar ------------------------------------------------------------ */

/* Time zones, pg_local_time_of and the civil calendar: p2pgrid/base/tz.h. */

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
/* The same layout with another value column: header "time,<value_col>"
 * (value_col NULL = power_W as above). The values keep the syntax and limits
 * of power_W (non-negative, up to 9 fraction digits, kept in thousandths, at
 * most 1e9); errors name the column. For values that are not a power (e.g.
 * "rain_mm", an amount per interval) read the samples (pg_series_sample);
 * the power/energy functions below treat the value as if it were W. */
PG_NODISCARD int pg_series_parse_values(const void *data, size_t len, const char *name,
                                        const pg_series_opts *opts, const char *value_col,
                                        pg_series **out, pg_diag *d);
PG_NODISCARD int pg_series_load_values(const char *path, const pg_series_opts *opts,
                                       const char *value_col, pg_series **out, pg_diag *d);
void pg_series_free(pg_series *s); /* NULL is fine */
size_t pg_series_count(const pg_series *s);
/* Sample i (0 <= i < count): its time in ms and its value in thousandths
 * (mW, or thousandths of the value column's unit). false when i is out of range. */
bool pg_series_sample(const pg_series *s, size_t i, int64_t *t_ms, int64_t *milli);
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

/* ---- outdoor temperature ------------------------------------------------- */

/* T(t) = mean - year_amp cos(2 pi (y - coldest_doy + 1) / N)
 *          + day_amp cos(2 pi (h - 15) / 24) + noise_c z(t)
 * with y = local day of year - 1 + h / 24, N days in the local year, h the
 * local hour (the day is warmest at 15:00 local clock time, coldest at 03:00)
 * and z a unit-variance correlated process: sqrt(0.75) x a daily component
 * (AR weight 0.7, weather spells of a few days) + sqrt(0.25) x an hourly one.
 * The noise-free part is pg_temperature_mean_c. Degrees Celsius. */
typedef struct pg_temperature_params {
  double mean_c;     /* annual mean, -40..40 */
  double year_amp_c; /* half the summer-winter swing, 0..40 */
  double day_amp_c;  /* half the afternoon-night swing, 0..20 */
  double noise_c;    /* standard deviation of the weather noise, 0..15 K */
  int coldest_doy;   /* day of year of the coldest day, 1..366 */
} pg_temperature_params;
/* Berlin-like: mean 10, year amplitude 9.5, day amplitude 4, noise 2.5 K,
 * coldest around 15 January. */
void pg_temperature_params_default(pg_temperature_params *p);
PG_NODISCARD int pg_temperature_check(const pg_temperature_params *p, pg_diag *d);
/* Pure in (p, tz, seed, t); the seed drives only the weather noise, so every
 * model given the same seed and tz sees the same weather. */
double pg_temperature_c(const pg_temperature_params *p, pg_tz tz, uint64_t seed, int64_t t_ms);
double pg_temperature_mean_c(const pg_temperature_params *p, pg_tz tz, int64_t t_ms);

/* ---- household water use (litres) ---------------------------------------- */

/* Flow in L/h (the water meter's "power"; its energy is litres):
 *   indoor(t) = A_in(year) x day_factor(day type) x season(doy) x shape_k(h)
 *   garden(t) = A_g(year) x garden_season(doy) x garden_shape(h)
 * shape_k: hourly table (mean 1, linear between half hours) per day type:
 * workdays with a morning peak 6-8 and an evening peak 18-22 and a night
 * minimum around 3:00; Saturdays and Sundays/holidays with a later, larger
 * morning peak (8-11). day_factor: 1 workday, 1.06 Saturday, 1.08 Sunday.
 * season: 1 + 0.06 cos(2 pi (doy - 196) / N) (a little more in summer).
 * garden_season: sin^2 between 15 April (doy 105) and 30 September (doy
 * 273), 0 the rest of the year, largest in early July; garden_shape: watering
 * 19-22 h and a little 6-8 h. A_in and A_g are set per calendar year so that
 * the noise-free sum over the year's local days (24 h each) is exactly
 * (1 - garden_share) x annual_l indoors and garden_share x annual_l in the
 * garden. Noise as in the household model: a per-home shift of the daily
 * shapes (uniform +-shift_max_min) and a log-normal factor with mean 1
 * (sigma `noise`, 15-minute correlated). */
typedef struct pg_water_use_params {
  double annual_l;      /* litres a year, 1..1e12 */
  double garden_share;  /* 0..1 */
  pg_tz tz;             /* local calendar; default Europe/Berlin */
  bool holidays;        /* German public holidays count as Sundays */
  double noise;         /* 0..1 */
  double shift_max_min; /* 0..120 */
} pg_water_use_params;
/* 45,000 L/a (a 1-2 person home), garden 0.1, Europe/Berlin, holidays on,
 * noise 0.4, shift 30 min. */
void pg_water_use_params_default(pg_water_use_params *p);

typedef struct pg_water_use {
  pg_water_use_params p;
  double norm_in[PG_HOUSEHOLD_YEARS]; /* A_in of 1970..2199 (L/h) */
  double norm_g[PG_HOUSEHOLD_YEARS];  /* A_g (L/h) */
} pg_water_use;
PG_NODISCARD int pg_water_use_init(pg_water_use *w, const pg_water_use_params *p, pg_diag *d);
/* Flow in L/h at t; seed drives the noise. */
double pg_water_use_lph(const pg_water_use *w, uint64_t seed, int64_t t_ms);
/* Noise-free litres of a local calendar day (indoor + garden). */
double pg_water_use_day_l(const pg_water_use *w, int year, int month, int day);

/* ---- household heat use (Wh of heat) ------------------------------------- */

/* Power in W (heat; the meter's energy is Wh_th):
 *   space(t) = A_sh(N) x E[max(0, base - T(t))] x setback(h)
 *   water(t) = A_hw(year) x day_factor x (1 + 0.15 cos(2 pi (doy - coldest_doy) / N)) x shape_k(h)
 * T is pg_temperature_c with seed `weather_seed` (not the meter's seed): all
 * buildings and boilers of a site given the same weather_seed see the same
 * weather. E[.] is the expectation over the weather noise (Gaussian, sigma
 * temp.noise_c) around the noise-free temperature: normalisation uses it,
 * the power at t uses the noisy T(t) itself. setback(h) = 1 - setback between
 * 22:00 and 06:00 local. Hot water follows the water model's indoor shape
 * and day factors (holidays on), more in winter (cold inlet water).
 * A_sh depends only on the year's length N (365/366), A_hw on the calendar
 * year: the NOISE-FREE annual sum (noise 0) of each calendar year's local
 * days is annual_kwh (space heating (1 - hot_water_share), hot water the
 * rest; numerically, at 10-minute resolution: within 0.1 %). With weather
 * noise a single year's sum scatters by a few per cent around annual_kwh
 * (cold and mild winters) — its expectation is annual_kwh. A multiplicative
 * log-normal factor with mean 1 (sigma `noise`, 15-minute correlated, driven
 * by the meter's seed) is the building's own variation. */
typedef struct pg_heat_use_params {
  double annual_kwh;       /* kWh of heat a year, 0.001..1e9 */
  double hot_water_share;  /* 0..1 */
  double base_temp_c;      /* heating limit, -20..30 */
  double setback;          /* night setback depth 0..1 (0.2: 80 % from 22 to 6) */
  pg_temperature_params temp;
  uint64_t weather_seed;   /* seed of the temperature noise */
  pg_tz tz;
  double noise;            /* 0..1 */
} pg_heat_use_params;
/* 12,000 kWh/a, hot water 0.2, base 15 C, setback 0.2, Berlin temperature
 * (pg_temperature_params_default), weather_seed 0, Europe/Berlin, noise 0.1. */
void pg_heat_use_params_default(pg_heat_use_params *p);

typedef struct pg_heat_use {
  pg_heat_use_params p;
  double norm_sh[2];                  /* A_sh for 365 and 366 days (W per K) */
  double norm_hw[PG_HOUSEHOLD_YEARS]; /* A_hw of 1970..2199 (W) */
} pg_heat_use;
PG_NODISCARD int pg_heat_use_init(pg_heat_use *h, const pg_heat_use_params *p, pg_diag *d);
/* Heat power in W at t; seed drives the building's own noise. */
double pg_heat_use_w(const pg_heat_use *h, uint64_t seed, int64_t t_ms);

/* ---- supplies: well and boiler ------------------------------------------- */

/* A well pump: pump_l_per_min x 60 x duty_eff L/h while the local clock is in
 * [from_min, to_min) (minutes after midnight; from > to wraps over midnight,
 * from == to is all day), 0 otherwise. duty_eff = min(1, duty x (1 +
 * summer_boost x s(doy))), s = (1 - cos(2 pi (doy - 15) / N)) / 2: 0 in
 * mid-January, 1 in mid-July. Deterministic (no noise). */
typedef struct pg_well_params {
  double pump_l_per_min; /* > 0, at most 1e6 */
  int from_min, to_min;  /* 0..1440 */
  double duty;           /* 0..1 */
  double summer_boost;   /* 0..10 */
  pg_tz tz;
} pg_well_params;
/* 20 L/min from 06:00 to 22:00, duty 0.5, summer_boost 0, Europe/Berlin. */
void pg_well_params_default(pg_well_params *p);
PG_NODISCARD int pg_well_check(const pg_well_params *p, pg_diag *d);
double pg_well_lph(const pg_well_params *p, int64_t t_ms);

/* A weather-controlled boiler (heat supply of a community):
 *   W = min(capacity_kw x 1000, heat_loss_w_per_k x max(0, base - T(t)))
 *       + hot_water_kw x 1000
 * with T = pg_temperature_c(temp, tz, weather_seed, t). hot_water_kw is a
 * constant base on top of the space-heating capacity (its own water heater). */
typedef struct pg_boiler_params {
  double capacity_kw;       /* > 0, at most 1e6 */
  double heat_loss_w_per_k; /* the community's heat demand coefficient, 0..1e9 */
  double base_temp_c;       /* -20..30 */
  double hot_water_kw;      /* 0..1e6 */
  pg_temperature_params temp;
  uint64_t weather_seed;
  pg_tz tz;
} pg_boiler_params;
/* 50 kW, 2000 W/K, base 15 C, hot water 2 kW, Berlin temperature, weather
 * seed 0, Europe/Berlin. */
void pg_boiler_params_default(pg_boiler_params *p);
PG_NODISCARD int pg_boiler_check(const pg_boiler_params *p, pg_diag *d);
double pg_boiler_w(const pg_boiler_params *p, int64_t t_ms);

/* ---- supply: rain-water tank --------------------------------------------- */

/* A tank filled from a roof by a rainfall series (`time,rain_mm`: mm fallen
 * in the interval that starts at that time and lasts until the next sample;
 * the last sample lasts as long as the one before it — the STEP layout of
 * pg_series, parsed with value_col "rain_mm"), supplying at most
 * draw_l_per_min while it holds water.
 *
 * Exact integer simulation, once, on the series' own steps (in mL): step i
 * of length D ms brings I_i = F(i+1) - F(i) mL, F(i) = floor(roof x runoff x
 * (rain before step i in um)), rain spread evenly over the step. Supplied
 * during the first tau ms of a step, from level L0:
 *   S(tau) = min(floor(R tau / 60000), L0 + floor(I tau / D))  (R mL/min)
 * (draw at full rate until the tank runs dry, then what flows in); at the
 * step's end the level is L0 + I - S(D), and what exceeds the capacity
 * overflows. Thus, per step and exactly to the mL:
 *   inflow = supplied + overflow + (level_end - level_start).
 * Without wrap the tank starts at initial_l at the first sample, supplies
 * nothing before it, and after the series' end draws its remaining level dry
 * at the draw rate. With wrap the series repeats, and the level follows the
 * periodic steady state: periods are simulated from initial_l until the level
 * at a period's end equals its start (a tank that runs dry or overflows once a
 * year gets there in two periods); at most 64 periods (or 2e7 steps) — then
 * the last period's start level is used and the level jumps back at each
 * wrap by the drift pg_rain_tank_period reports. */
typedef struct pg_rain_tank_params {
  double roof_m2;        /* collecting area, > 0, at most 1e6 */
  double runoff;         /* runoff coefficient 0..1 */
  double capacity_l;     /* > 0, at most 1e9 */
  double draw_l_per_min; /* >= 0, at most 1e6 */
  double initial_l;      /* 0..capacity_l */
  bool wrap;             /* repeat the series */
} pg_rain_tank_params;
/* 100 m^2, runoff 0.8, 5000 L, 10 L/min, empty, wrap on. */
void pg_rain_tank_params_default(pg_rain_tank_params *p);
#define PG_RAIN_MAX_MM 10000 /* per sample */

typedef struct pg_rain_tank pg_rain_tank; /* immutable; thread-safe reads */
/* Simulates the tank on a parsed rain series (only read during the call).
 * PG_ERR_INVALID naming the field or the sample for a bad value. */
PG_NODISCARD int pg_rain_tank_new(const pg_rain_tank_params *p, const pg_series *rain,
                                  pg_rain_tank **out, pg_diag *d);
void pg_rain_tank_free(pg_rain_tank *t); /* NULL is fine */
/* mL supplied from the series start to t (negative before it when
 * wrapping); monotone; a window's litres are round(cum(b)/1000) -
 * round(cum(a)/1000) (pg_rain_tank_cum_l). */
int64_t pg_rain_tank_cum_ml(const pg_rain_tank *t, int64_t t_ms);
int64_t pg_rain_tank_cum_l(const pg_rain_tank *t, int64_t t_ms);
/* mL in the tank at t. */
int64_t pg_rain_tank_level_ml(const pg_rain_tank *t, int64_t t_ms);
/* The simulated period (the series' span; with wrap the steady-state one). */
typedef struct pg_rain_tank_totals {
  int64_t inflow_ml, supplied_ml, overflow_ml; /* over the period */
  int64_t level_start_ml, level_end_ml;
  int periods; /* periods simulated to find the start level (1 without wrap) */
} pg_rain_tank_totals;
void pg_rain_tank_period(const pg_rain_tank *t, pg_rain_tank_totals *out);

/* ---- whole UTC days at once (the simulator's fast path) ------------------ */

/* The models above evaluated at the 1440 minute midpoints of a run of UTC
 * days, t = day x 86400000 + i x 60000 + 30000 (i = 0..1439) — the samples
 * pg_energy_integ takes — into out[(day - day0) x 1440 + i]. The work that
 * does not change within a day (calendar and time zone, day type, season,
 * sun position, the random fields' 15-minute buckets) is done once per day
 * or bucket, the sums in blocks of minutes; every value is BIT-IDENTICAL to
 * the per-sample function at that t (same operations in the same order; a
 * test compares them over years, DST days and holidays).
 *
 * THREADS. pg_local_days and pg_sun_days are read-only once made and may be
 * shared by any number of threads; a pg_household_work is scratch for one
 * thread at a time. ERRORS: PG_ERR_NOMEM; PG_ERR_INVALID when the model's
 * zone or site is not the calendar's. */
#define PG_DAY_MINUTES 1440

typedef struct pg_local_date {
  int year, month, day, doy, ndays; /* ndays: days in the year */
  pg_daytype type[2];               /* without and with German holidays */
} pg_local_date;

/* The local calendar of UTC days [day0, day0 + ndays) in a zone. */
typedef struct pg_local_days {
  pg_tz tz;
  int64_t day0;
  size_t ndays;
  bool whole_minutes;   /* every offset whole minutes (else the models go sample by sample) */
  int64_t lday0;        /* first local day touched (Unix day number) */
  size_t nlocal;        /* local days touched */
  uint32_t *at;         /* [ndays x 1440]: (local day - lday0) x 1440 + local minute */
  pg_local_date *dates; /* [nlocal] */
} pg_local_days;
PG_NODISCARD int pg_local_days_init(pg_local_days *c, pg_tz tz, int64_t day0, size_t ndays,
                                    pg_diag *d);
void pg_local_days_free(pg_local_days *c); /* zeroed; a zeroed one is fine */

/* Scratch of the household model (its daily-shape tables, about 1.5 MB). */
typedef struct pg_household_work pg_household_work;
PG_NODISCARD int pg_household_work_new(pg_household_work **out, pg_diag *d);
void pg_household_work_free(pg_household_work *w); /* NULL is fine */
/* pg_household_power_w over the days of c (h's zone must be c's). */
PG_NODISCARD int pg_household_days_w(const pg_household *h, uint64_t seed,
                                     const pg_local_days *c, pg_household_work *w, double *out,
                                     pg_diag *d);

/* Sun position and clear sky of a site at every minute midpoint of UTC days
 * [day0, day0 + ndays), shared by the site's solar models. */
typedef struct pg_sun_days {
  double lat_deg, lon_deg;
  int64_t day0;
  size_t ndays;
  double *elev, *decl, *ha; /* pg_sun fields, degrees */
  double *ghi, *dni, *dhi;  /* pg_clear_sky of elev */
  /* daylight samples (elev > 0; 0 at night): sin(elev), sin/cos of the
   * declination and of the hour angle, in radians as pg_solar_power_w takes them */
  double *cz, *sdl, *cdl, *cw, *sw;
} pg_sun_days;
PG_NODISCARD int pg_sun_days_init(pg_sun_days *s, double lat_deg, double lon_deg, int64_t day0,
                                  size_t ndays, pg_diag *d);
void pg_sun_days_free(pg_sun_days *s); /* zeroed; a zeroed one is fine */
/* pg_solar_power_w over the days of sun (p's lat/lon must be sun's). */
PG_NODISCARD int pg_solar_days_w(const pg_solar_params *p, uint64_t seed, const pg_sun_days *sun,
                                 double *out, pg_diag *d);
/* pg_wind_power_w over UTC days [day0, day0 + ndays). */
PG_NODISCARD int pg_wind_days_w(const pg_wind_params *p, uint64_t seed, int64_t day0,
                                size_t ndays, double *out, pg_diag *d);

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
/* The same Wh for n consecutive windows [from + k len, from + (k + 1) len)
 * straight from the samples of UTC days [day0, day0 + ndays) as the
 * pg_*_days_w functions give them (w[(day - day0) x 1440 + i]): every
 * window's days must be among them, except that a window may end at the
 * midnight after the last. cum: the caller's scratch of ndays x 1441
 * doubles (the days' cumulative curves). PG_ERR_INVALID (len <= 0). */
PG_NODISCARD int pg_energy_windows_wh(const double *w, int64_t day0, size_t ndays, int64_t from_ms,
                                      int64_t len_ms, size_t n, double *cum, int64_t *out,
                                      pg_diag *d);

#endif
