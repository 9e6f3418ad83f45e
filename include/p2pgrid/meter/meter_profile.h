/* p2pgrid/meter/meter_profile.h — meters built on the profile models (profile.h)
 * and on CSV files: pure functions of time and seed/file, any window in any
 * order, no I/O after creation (the pg_meter contract in meter.h).
 *
 * Energy of a window [from, to) in Wh: the models' power is integrated
 * numerically (midpoint of each minute) and rounded through a cumulative
 * reading (pg_energy_integ in profile.h), so consecutive windows sum exactly
 * to the energy of their union. A `time,power_W` CSV meter is integrated
 * exactly in integers (pg_series_cum_wh). Windows beyond int64 ms are
 * refused with PG_ERR_INVALID.
 *
 * Ownership: each constructor copies its parameters; *out is freed with
 * pg_meter_free.
 *
 * Errors: the constructors return PG_ERR_INVALID (bad parameters), PG_ERR_IO or
 * PG_ERR_TOO_LARGE (a CSV file), PG_ERR_NOMEM, with one sentence in the
 * optional pg_diag; energy as meter.h.
 * Threads: these meters hold no shared state and do no I/O after creation; each
 * is used by one thread at a time (meter.h). */
#ifndef P2PGRID_METER_METER_PROFILE_H
#define P2PGRID_METER_METER_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/profile/profile.h"

/* kind "solar", "wind", "household". The params are checked (PG_ERR_INVALID
 * with the field named). */
PG_NODISCARD int pg_meter_solar_new(const pg_solar_params *p, uint64_t seed, pg_meter **out,
                                    pg_diag *d);
PG_NODISCARD int pg_meter_wind_new(const pg_wind_params *p, uint64_t seed, pg_meter **out,
                                   pg_diag *d);
PG_NODISCARD int pg_meter_household_new(const pg_household_params *p, uint64_t seed,
                                        pg_meter **out, pg_diag *d);

/* Meters of other resources, in the resource's base unit (pg_resource):
 * kind "water" (household water use, L), "heat" (household heat use, Wh of
 * heat), "well" (L), "boiler" (Wh of heat) on the models of profile.h, each
 * integrated like the models above (their L/h or W through pg_energy_integ);
 * "rain-tank" (L) answers from its exact simulation (pg_rain_tank_cum_l).
 * Solar thermal is kind "solar" with kwp as the collector's peak thermal kW
 * (its Wh are then heat). Well, boiler and the tank have no noise of their
 * own (no seed); heat and boiler take their weather from weather_seed. */
PG_NODISCARD int pg_meter_water_use_new(const pg_water_use_params *p, uint64_t seed,
                                        pg_meter **out, pg_diag *d);
PG_NODISCARD int pg_meter_heat_use_new(const pg_heat_use_params *p, uint64_t seed, pg_meter **out,
                                       pg_diag *d);
PG_NODISCARD int pg_meter_well_new(const pg_well_params *p, pg_meter **out, pg_diag *d);
PG_NODISCARD int pg_meter_boiler_new(const pg_boiler_params *p, pg_meter **out, pg_diag *d);
/* Reads the `time,rain_mm` file at path (pg_series_load_values, STEP) and
 * simulates the tank (pg_rain_tank_new). */
PG_NODISCARD int pg_meter_rain_tank_new(const char *path, const pg_rain_tank_params *p,
                                        pg_meter **out, pg_diag *d);
/* The tank behind a rain-tank meter (NULL for any other meter): its level
 * and period totals. */
const pg_rain_tank *pg_meter_rain_tank_of(const pg_meter *m);

/* kind "csv". The file's layout is detected from its first line: the BDEW
 * layout (profile.h; evaluated with annual_kwh, dynamise, holidays, tz) or
 * `time,power_W` (evaluated with interp and wrap). */
typedef struct pg_meter_csv_opts {
  pg_series_interp interp; /* time,power_W files */
  bool wrap;               /* time,power_W files: repeat the series */
  double annual_kwh;       /* BDEW files: > 0 */
  bool dynamise;           /* BDEW files */
  bool holidays;           /* BDEW files */
  pg_tz tz;                /* BDEW files */
} pg_meter_csv_opts;
/* STEP, wrap on; BDEW: 3500 kWh/a, dynamise, holidays, Europe/Berlin. */
void pg_meter_csv_opts_default(pg_meter_csv_opts *o);
PG_NODISCARD int pg_meter_csv_new(const char *path, const pg_meter_csv_opts *o, pg_meter **out,
                                  pg_diag *d);

/* Creates a solar, wind, household, csv, water, heat, well, rain-tank, boiler
 * or dso meter from a config section (`kind` as read from its "kind" key).
 * Keys (all optional unless marked; defaults of pg_*_params_default):
 *   solar:     lat, lon (degrees), kwp, tilt, azimuth (0 south, 90 west),
 *              performance_ratio, albedo, clouds (bool), clearness
 *   wind:      weibull_k, weibull_c (m/s), cut_in, rated_speed, cut_out
 *              (m/s), rated_kw
 *   household: annual_kwh, tz, holidays (bool), noise, shift_min
 *   csv:       path (required), interp (step | linear), wrap (bool),
 *              annual_kwh, dynamise (bool), holidays (bool), tz
 *   water:     annual_l (L/a), garden_share, tz, holidays (bool), noise,
 *              shift_min
 *   heat:      annual_kwh (kWh_th/a), hot_water_share, base_temp_c,
 *              setback, noise, tz, + the temperature keys
 *   well:      pump_l_per_min, from, to ("HH:MM" or an hour 0..24), duty,
 *              summer_boost, tz
 *   rain-tank: path (required; `time,rain_mm`), roof_m2, runoff,
 *              capacity_l, draw_l_per_min, initial_l, wrap (bool)
 *   boiler:    capacity_kw, heat_loss_w_per_k, base_temp_c, hot_water_kw,
 *              tz, + the temperature keys
 *   temperature keys (heat, boiler): temp_mean_c, temp_year_amp_c,
 *              temp_day_amp_c, temp_noise_c, coldest_doy (1..366),
 *              weather_seed (integer; the same for a site's meters)
 *   dso:       file, point, quantity (pg_meter_dso_from_config, dso.h)
 * tz: UTC, +HH:MM or an IANA zone (pg_tz_parse); or, legacy, utc_offset_min
 * (minutes east) and eu_dst (bool, default true) for a fixed offset with the
 * EU rule — not both. Default: the built-in Europe/Berlin rule (PG_TZ_BERLIN). 
 * Decimal values are plain decimals ("52.52", "-13.4"). Defaults are those
 * of pg_*_params_default / pg_meter_csv_opts_default. PG_ERR_CONFIG with
 * "[section] key: ..." for a bad value; PG_ERR_INVALID for an unknown kind. */
PG_NODISCARD int pg_meter_profile_from_config(pg_config *cfg, const char *section,
                                              const char *kind, uint64_t seed, pg_meter **out,
                                              pg_diag *d);
/* Whether pg_meter_profile_from_config makes kind (dso aside): solar, wind,
 * household, csv, water, heat, well, rain-tank, boiler. */
bool pg_meter_profile_kind(const char *kind);

#endif
