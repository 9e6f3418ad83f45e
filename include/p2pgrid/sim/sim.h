/* p2pgrid/sim/sim.h — the community-grid simulator: a scenario (INI) of
 * producers with solar/wind/CSV sources and households, run either
 *   full:        on an in-process node (tangle + ledger, pg_client_local_new)
 *                with the real entities of grid.h (the daemons' code) on a
 *                virtual clock: MAM channels, registrations, settlement,
 *                bills, payments and payouts as real transfers confirmed by
 *                milestones; or
 *   market-only: the same meters and the same settlement (pg_market_settle,
 *                parties in entity-id order like the grid, producer output =
 *                sum of its sources' meter energy) without the Tangle, for
 *                thousands of participants over a year.
 * Deterministic from the scenario seed (splitmix64; never rand()).
 *
 * SCENARIO INI (values are checked; errors name file:line):
 *   [scenario] name (id chars [A-Za-z0-9._-]), start (ISO date/time UTC,
 *              "2025-06-21" or "2025-06-21T00:00:00Z"; aligned to the slot),
 *              duration (1d, 7d, 365d, 36h, ...), slot (15m), seed,
 *              mode (full | market-only; default full up to 50 participants
 *              and 2000 slots, else market-only), ticks (full mode: steps of
 *              the virtual clock per slot, 1..60, default 2)
 *   [site]     lat, lon (degrees), tz (default Europe/Berlin): UTC, +HH:MM /
 *              -HH:MM, or an IANA zone name from the tz database
 *              (Europe/Vienna, America/New_York; tz.h); eu_dst (bool, legacy:
 *              the EU summer-time rule on a fixed offset only). The
 *              generated and the explicit households and csv sources use
 *              this zone unless their section sets tz (or the legacy
 *              utc_offset_min/eu_dst)
 *   [market]   mechanism (fixed|pay-as-clear|pay-as-bid|mmr|sdr, or the sharing
 *              mechanisms static-key|dynamic-key|hierarchical, market.h),
 *              import_price, export_price, fee_per_unit (old name fee_per_kwh),
 *              fixed_buy_price,
 *              fixed_sell_price, payout_min, community_price (sharing: the
 *              price of allocated energy; default (import+export)/2) —
 *              amounts in base units per price unit (per kWh, per m³; resource.h), with
 *              an optional unit suffix
 *              i, Ki, Mi, Gi ("300Mi", "0.25Mi"); fee_bp (0..10000);
 *              group_rules (hierarchical: "dynamic, static", the rule of
 *              group 0, 1, ...; missing groups are dynamic). The same parser
 *              as the grid daemon's [grid] (market_config.h: prices at most
 *              2^30, payout_min at most 2^53 - 1)
 *   [tariff]   membership_fee (per month), capacity_price (per kW, or price unit per hour, of the
 *              month's peak), grid_fee_reduction (per kWh of community
 *              energy, reported as savings), vat ("20%"): the monthly items
 *              of `p2pgrid invoice` (tariff.h); all default 0. Full mode:
 *              the grid bills them once a month ends (pg_gridop_opts.tariff)
 *              and the households pay them; transfers.csv lists those
 *              payments (reference "month") under the month's last slot
 *   [money]    currency, units_per_currency, decimals: how the report and
 *              the CLI show amounts (money.h; default base units "i")
 *   [resource] name (electricity | heat | water | gas | any), unit,
 *              display_unit, display_factor, flow_unit, flow_factor,
 *              price_unit (resource.h; default electricity: Wh, kWh, kW):
 *              quantities in every output are counts of the base unit, the
 *              report shows the display unit
 *   [producers] generated producers (electricity only): count, sources_per_producer,
 *              solar_share (0..1, the share of solar sources; the rest wind),
 *              kwp_min, kwp_max (solar kWp), wind_kw_min, wind_kw_max (rated
 *              kW), wind_speed (Weibull c, m/s), ask_share (0..1, producers
 *              with an asking price), ask_min, ask_max (per kWh)
 *   [households] generated households: count, model (household: the BDEW
 *              electric load; water; heat — profile.h; default by resource:
 *              water for water, heat for heat and gas, else household),
 *              annual_min, annual_max (a year's use in display units: kWh,
 *              m³; old names annual_kwh_min/max; defaults 2000..5000 kWh,
 *              30..90 m³, 8000..20000 kWh_th), noise (0..1), bid_share,
 *              bid_min, bid_max
 *   [producer ID] an explicit producer: name, ask (per kWh; none = no ask)
 *   [source ID]  an explicit source: producer (required: a [producer ID]),
 *              kind and that meter's keys. Kinds by resource: electricity
 *              solar, wind, csv, dso; water well, rain-tank, csv, dso; heat
 *              solar (thermal), boiler, csv, dso; gas csv, dso; any other
 *              resource any of them
 *              (meter_profile.h, dso.h; solar lat/lon default to [site])
 *   [household ID] an explicit household: name, bid, kind (household |
 *              water | heat | csv | dso; default as [households] model; the
 *              kinds the resource allows) and the meter's keys; sharing: key (static
 *              key, "25%", up to 4 decimals; when no member of a static group
 *              has a key, the group's members get equal keys, rounded down),
 *              group (hierarchical, 0..63, default 0), participation (1..100 %,
 *              default 100: the share of its meter taking part in this
 *              community; market-only mode settles that share and reports the
 *              rest as outside_wh)
 * ASSETS (issue 17; electricity only; asset.h's controllers):
 *   [households] pv_share (0..1), pv_kwp_min, pv_kwp_max (3..8: rooftop PV
 *              behind the meter, the solar model at [site]), battery_share,
 *              battery_kwh_min, battery_kwh_max (5..10), battery_kw (default
 *              half the capacity), ev_share, ev_kw (11), heat_pump_share,
 *              heat_kwh (12000: the building's heat a year, profile.h's heat
 *              model, the site's weather), strategy (self-consumption |
 *              surplus-following | price-responsive; default
 *              self-consumption). A share s of n households gives exactly
 *              floor(n s) of them: those with the lowest splitmix64 of (seed,
 *              kind, index), each kind drawn apart; sizes come from each household's own
 *              stream (seed ^ id): a scenario without these keys draws what
 *              it drew before. EV sessions from the same stream: every local
 *              weekday arrival 17:00-19:00, departure next day 07:00-08:00,
 *              need 5-25 kWh. An EV adds 3000 kWh and a heat pump heat_kwh/3
 *              to the household's year (full mode sizes its money by it).
 *   [household ID] pv_kwp, battery_kwh, battery_kw, ev (bool), ev_kw,
 *              heat_pump (bool), heat_kwh, strategy (kinds household, csv,
 *              dso)
 *   [battery ID] a community battery, its own member with its own money:
 *              capacity_kwh (required), power_kw (default half),
 *              strategy (default surplus-following). Two parties: the
 *              consumer ID (kind battery: its charge) and the producer
 *              ID-out (kind battery: its discharge); ID is 1..60 chars. In
 *              full mode they are its own members on the Tangle: the
 *              consumer ID pays for its charge, the producer ID-out (with
 *              one source ID-out-src reading the pre-pass's discharges) is
 *              paid for its discharge.
 *   Each slot: the meters first (household load, rooftop PV, producers),
 *   then the assets in id order — per household heat pump, EV, battery, each
 *   seeing its site's net so far (load - PV + the assets before it);
 *   surplus-following sees the community surplus (producers' output - the
 *   households' readings, the assets stepped before included); then the
 *   community batteries in id order with the community's net as their site.
 *   Price-responsive sees the export price while the community has a
 *   surplus, else the import price, against pg_asset_thresholds of [market]
 *   import/export_price. A household's reading = max(0, load - PV + its
 *   assets' net): a surplus beyond the house is exported outside the
 *   community (its supplier's; counted as exported_wh in assets.csv), never
 *   a producer party. Full mode: a pre-pass steps the same controllers and
 *   the consumers' meters read its per-slot readings, so full ==
 *   market-only slot by slot. A market-only run with assets runs the
 *   scenario a second time without batteries, EVs, heat pumps and community
 *   batteries (rooftop PV kept; no files) for the with/without KPIs
 *   (pg_sim_flex_kpis).
 * Generated ids: producers p001.., their sources p001-s1.., households
 * h0001..; an explicit id must not collide with them.
 *
 * OUTPUTS in out_dir (the contract with sim/report.h): slots.csv,
 * participants.csv, transfers.csv, balances.csv, summary.json (with
 * "timeZone": the [site] tz as pg_tz_name gives it, for local labels); then
 * report.html by pg_sim_report_write. Also party_slots.csv (the input of
 * `p2pgrid invoice` and `p2pgrid dso reconcile`):
 * slot,start,id,role,energy_wh,community_wh,amount,fee,total, one row per
 * participant and slot as settled (a market-only participant without a
 * reading in a slot has none), when participants x slots <= 5,000,000
 * (larger runs leave it out). With assets also assets.csv (id,kind,pv_wh,
 * charged_wh,discharged_wh,loss_wh,ev_wh,heat_pump_wh,exported_wh,
 * unmet_heat_wh,unmet_ev_wh: one row per household with assets and per
 * community battery; kind lists pv, battery, ev, heat-pump or
 * community-battery), flex_slots.csv (slot,start,soc_ppm,charged_wh,
 * discharged_wh,pv_wh,ev_wh,heat_pump_wh,exported_wh: one row per slot,
 * soc_ppm the mean state of charge of the batteries; full mode writes both
 * from its pre-pass), and
 * summary.json "flexibility": {"with": {...}, "without": {...}} with
 * selfSufficiencyPpm, selfConsumptionPpm, communitySharePpm, savings,
 * peakImportWh, pvWh, exportedBehindMeterWh, chargedWh, dischargedWh,
 * lossWh, evWh, heatPumpWh ("without" in market-only). Full mode keeps its node and entity
 * databases in out_dir/state (removed and re-made every run); its node
 * directory, state/node, also holds node.ini and genesis.txt, so that
 * `p2pgrid node --config node.ini` run there serves the run's Tangle.
 *
 * Ownership: pg_scenario_from_config's scenario (which borrows the config: it
 * must outlive the scenario) and pg_sim_run's result own their arrays
 * (pg_scenario_free, pg_sim_result_free); options and callbacks are borrowed
 * for the run; the output files are written under opts.out_dir.
 * Errors: 0 or a negative pg_err with one sentence in the optional pg_diag;
 * scenario errors are PG_ERR_CONFIG naming file:line and key; a run's failure
 * names the slot or file (PG_ERR_IO, PG_ERR_UNAVAILABLE for a missing reading,
 * PG_ERR_NOMEM, and the errors of the modules it drives).
 * Threads: a run is driven from the calling thread, which also calls progress
 * and grid_hook; market-only runs start opts.threads workers of their own and
 * join them before returning. Distinct runs share no state. */
#ifndef P2PGRID_SIM_SIM_H
#define P2PGRID_SIM_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/asset/asset.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/market/market.h"
#include "p2pgrid/market/market_config.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/profile/profile.h"
#include "p2pgrid/base/resource.h"
#include "p2pgrid/market/tariff.h"

#define PG_SIM_ID_MAX 64
#define PG_SIM_MAX_PARTICIPANTS 100000
#define PG_SIM_MAX_SLOTS 1000000

typedef enum pg_sim_mode { PG_SIM_AUTO = 0, PG_SIM_FULL, PG_SIM_MARKET_ONLY } pg_sim_mode;

typedef enum pg_sim_meter_kind {
  PG_SIM_SOLAR = 0,
  PG_SIM_WIND,
  PG_SIM_HOUSEHOLD,
  PG_SIM_CSV,
  PG_SIM_CONFIG, /* an explicit section: pg_meter_profile_from_config */
  PG_SIM_WATER,  /* a generated household's water use (profile.h) */
  PG_SIM_HEAT,   /* a generated household's heat use (profile.h) */
  PG_SIM_BATTERY, /* a community battery's parties (no meter: the simulator steps it) */
} pg_sim_meter_kind;

/* Flexible assets behind a household's meter (issue 17; asset.h). A zero
 * size means none. */
typedef struct pg_sim_assets {
  double pv_kwp;                  /* rooftop PV (the solar model at [site]) */
  double battery_kwh, battery_kw; /* home battery */
  bool ev;                        /* an EV charger with generated sessions */
  double ev_kw;                   /* its power (default 11) */
  bool heat_pump;                 /* a heat pump with its building's heat demand */
  double heat_kwh;                /* that building's heat a year (kWh_th) */
  pg_asset_strategy strategy;
} pg_sim_assets;

/* A community battery ([battery ID]): its own member with its own money. */
typedef struct pg_sim_battery {
  char id[PG_SIM_ID_MAX + 1];
  double capacity_kwh, power_kw;
  pg_asset_strategy strategy;
} pg_sim_battery;

typedef struct pg_sim_source {
  char id[PG_SIM_ID_MAX + 1];
  size_t producer; /* index into producers */
  pg_sim_meter_kind kind;
  char kind_name[16]; /* solar | wind | csv */
  char section[80];   /* PG_SIM_CONFIG: the config section */
  pg_solar_params solar;
  pg_wind_params wind;
  uint64_t seed;
} pg_sim_source;

typedef struct pg_sim_producer {
  char id[PG_SIM_ID_MAX + 1], name[PG_SIM_ID_MAX + 1];
  bool has_ask;
  uint64_t ask;
  bool battery; /* a community battery's producer side ID-out (no sources) */
} pg_sim_producer;

typedef struct pg_sim_household {
  char id[PG_SIM_ID_MAX + 1], name[PG_SIM_ID_MAX + 1];
  pg_sim_meter_kind kind;
  char kind_name[16]; /* household | water | heat | csv | dso */
  char section[80];
  pg_household_params params; /* PG_SIM_HOUSEHOLD */
  pg_water_use_params water;  /* PG_SIM_WATER */
  pg_heat_use_params heat;    /* PG_SIM_HEAT */
  double annual_units;        /* a year's use in price units (1000 base units: kWh, m³) */
  bool has_bid;
  uint64_t bid;
  uint64_t seed;
  uint32_t key_ppm;      /* sharing: static key (ppm) */
  uint32_t group;        /* hierarchical: priority group */
  uint8_t participation; /* percent of its meter in this community, 1..100 */
  pg_sim_assets assets;  /* behind its meter (electricity only) */
} pg_sim_household;

typedef struct pg_scenario {
  char name[PG_SIM_ID_MAX + 1];
  char origin[256]; /* the file it came from */
  uint64_t start_ms, duration_ms, slot_ms, seed;
  size_t slots;
  pg_sim_mode mode; /* as configured (AUTO = by size) */
  size_t ticks;     /* full mode: clock steps per slot ([scenario] ticks, default 2) */
  double lat, lon;
  pg_tz tz;
  PG_MARKET_CONFIG_MEMBERS; /* [market] (market_config.h) */
  pg_tariff tariff; /* [tariff]: monthly items of the invoices (tariff.h) */
  pg_money money; /* [money]: display of amounts (report, CLI); never used to bill */
  pg_resource resource; /* [resource]: what is metered and traded (resource.h) */
  pg_sim_producer *producers; /* sorted by id */
  size_t n_producers;
  pg_sim_source *sources; /* sorted by id */
  size_t n_sources;
  pg_sim_household *households; /* sorted by id */
  size_t n_households;
  pg_sim_battery *batteries; /* [battery ID], sorted by id */
  size_t n_batteries;
  pg_config *cfg; /* borrowed from the loader: explicit meter sections */
} pg_scenario;

/* Reads a scenario from a loaded config (file + overrides). The config must
 * outlive the scenario (explicit meters read their sections at run time);
 * keys are marked read so pg_config_unused finds typos. */
PG_NODISCARD int pg_scenario_from_config(pg_config *cfg, pg_scenario *out, pg_diag *d);
void pg_scenario_free(pg_scenario *s);
/* The mode a run uses: the configured one, or by size when AUTO. */
pg_sim_mode pg_scenario_mode(const pg_scenario *s);
/* Whether any household has an asset or the scenario a community battery. */
bool pg_scenario_has_assets(const pg_scenario *s);

/* ---- a run ---- */

typedef struct pg_sim_progress {
  size_t done, total;   /* slots */
  uint64_t sim_ms;      /* simulated time */
  uint64_t wall_ms;     /* since the start */
} pg_sim_progress;
typedef void (*pg_sim_progress_fn)(void *ctx, const pg_sim_progress *p);

typedef struct pg_sim_opts {
  pg_sim_mode mode;        /* AUTO = pg_scenario_mode */
  /* required. The run writes into OUT.partial-PID beside it and moves the
   * files into out_dir (created if missing) only once it has finished: a
   * failed or stopped run leaves out_dir as it was (an earlier run's files
   * untouched) and removes the temporary directory. */
  const char *out_dir;
  bool write_files;        /* the CSV/JSON outputs (and the report) */
  bool write_report;       /* call pg_sim_report_write (when available) */
  size_t ticks_per_slot;   /* full mode: clock ticks per slot; 0 = the scenario's */
  const char *state_dir;   /* full mode: node and entity databases; NULL = out_dir/state */
  pg_sim_progress_fn progress;
  void *progress_ctx;
  /* full mode: called with the grid operator once it is open (phase
   * PG_SIM_GRID_OPEN), after the run's books are collected (PG_SIM_GRID_END;
   * may block, e.g. to keep serving the dashboard until the user stops it)
   * and just before it is closed (PG_SIM_GRID_CLOSE). `p2pgrid sim --serve`
   * serves pg_gridop_http over it. NULL = none. */
  void (*grid_hook)(void *ctx, pg_gridop *g, int phase);
  void *grid_hook_ctx;
  uint64_t pace_ms;        /* full mode: at least this much wall time per slot (0 = flat out) */
  /* market-only: threads computing the meters' energies (each meter's on
   * one thread; the market settles slot after slot). Full mode: the
   * households go in this many parts, each stepped, its messages created
   * and attached on a thread of its own (the sources and producers step
   * on as many threads). 0 =
   * the online cores (1 below 64 meters or households); at most
   * PG_SIM_THREADS_MAX. The results do not depend on it (market-only:
   * byte-identical outputs for any count; full mode: the same settlement,
   * bills and payments, other message ids). */
  size_t threads;
  /* set (to the signal) by a SIGINT/SIGTERM handler: the run stops before
   * its next slot with PG_ERR_CANCELLED "interrupted"; NULL = never */
  volatile sig_atomic_t *stop;
} pg_sim_opts;
#define PG_SIM_THREADS_MAX 256
enum { PG_SIM_GRID_OPEN = 0, PG_SIM_GRID_END = 1, PG_SIM_GRID_CLOSE = 2 };

typedef struct pg_sim_slot {
  uint64_t slot; /* absolute slot number (start / slot_ms) */
  int64_t supply_wh, demand_wh, community_wh, import_wh, export_wh;
  int64_t billed, producer_revenues, fees, grid_income, import_cost, export_income;
  bool has_price;
  double buy_price, sell_price;
} pg_sim_slot;

typedef struct pg_sim_party {
  char id[PG_SIM_ID_MAX + 1], name[PG_SIM_ID_MAX + 1];
  bool producer;
  char kind[16];            /* solar | wind | mixed | household | csv */
  int64_t energy_wh, community_wh;
  int64_t outside_wh;       /* consumer: its meter's energy outside this community
                             * (participation < 100 %: its supplier's) */
  int64_t amount;           /* consumer: billed (paid + outstanding); producer: earned */
  int64_t paid;             /* consumer: paid; producer: received */
  int64_t baseline, savings;
} pg_sim_party;

/* Flexibility KPIs of a run (issue 17): with use = the members' metered use
 * - the community batteries' charge + rooftop PV used behind the meters and
 * gen = the producers' output - the community batteries' discharge + rooftop
 * PV: self-sufficiency = 1 - import / use; self-consumption = 1 - (export +
 * PV surplus leaving from behind the meters) / gen; community share =
 * community / metered use; savings = members' savings (consumers +
 * producers, market.h); peak import = the largest slot's import. ppm; Wh;
 * base units. */
typedef struct pg_sim_flex_kpis {
  uint32_t self_sufficiency_ppm, self_consumption_ppm, community_share_ppm;
  int64_t savings, peak_import_wh;
  int64_t pv_wh, exported_wh, charged_wh, discharged_wh, loss_wh, ev_wh, heat_pump_wh;
} pg_sim_flex_kpis;

typedef struct pg_sim_result {
  pg_sim_mode mode;
  size_t n_slots;
  pg_sim_slot *slots;
  size_t n_parties; /* producers (id order) then consumers (id order) */
  pg_sim_party *parties;
  pg_sim_slot total; /* sums (slot = count) */
  int64_t paid;      /* consumers' payments received by the grid (full), = billed (market-only) */
  int64_t consumer_savings, producer_savings;
  uint32_t gini_ppm;
  /* market-only: (participant, slot) pairs whose meter had no reading
   * (PG_ERR_UNAVAILABLE, e.g. a quarter hour the grid operator did not send):
   * settled as 0 Wh and left out of party_slots.csv */
  uint64_t missing_readings;
  /* full mode */
  uint64_t messages, transfers, milestones;
  uint64_t supply_before, supply_after;
  int64_t outstanding;     /* bills not paid after the drain (0 normally) */
  int64_t payouts_due;     /* producer payouts not sent (below payout_min) */
  uint64_t wall_ms;
  /* issue 17: a scenario with assets; without = the same scenario without
   * batteries, EVs and heat pumps (market-only, has_without) */
  bool has_flex, has_without;
  pg_sim_flex_kpis flex, without;
} pg_sim_result;

/* Runs the scenario. On success *out is filled (pg_sim_result_free). */
PG_NODISCARD int pg_sim_run(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *out,
                            pg_diag *d);
void pg_sim_result_free(pg_sim_result *r);

/* Writes the output files (slots.csv, participants.csv, summary.json; the
 * streamed transfers.csv, balances.csv and party_slots.csv come from the run) for a result; pg_sim_run calls it when
 * write_files is set. */
PG_NODISCARD int pg_sim_write_summary(const pg_scenario *s, const pg_sim_result *r,
                                      const char *out_dir, pg_diag *d);

/* report.html from the output files (sim/report.h); PG_ERR_UNSUPPORTED when
 * the report writer is not built in. pg_sim_run calls it when write_report. */
bool pg_sim_report_available(void);
PG_NODISCARD int pg_sim_report(const char *out_dir, pg_diag *d);

/* splitmix64 step and a deterministic stream */
uint64_t pg_sim_splitmix64(uint64_t *state);
/* "2025-06-21T00:00:00Z" of Unix ms (buf >= 21 bytes). */
void pg_sim_iso(uint64_t ms, char *buf, size_t cap);

#endif
