/* p2pgrid/sim/report.h — the simulation report: one self-contained HTML page
 * (inline CSS, inline SVG charts, no JavaScript, no network) made from the
 * files a simulation run leaves in its output directory.
 *
 * INPUT (the contract with the simulator), all in out_dir:
 * - slots.csv         slot,start,supply_wh,demand_wh,community_wh,import_wh,
 *                     export_wh,buy_price,sell_price,billed,producer_revenues,
 *                     fees,grid_income   (prices may be empty or decimal)
 * - participants.csv  id,name,role,kind,energy_wh,community_wh,amount,baseline,
 *                     savings            (role producer|consumer)
 * - transfers.csv     slot,time,from,to,amount,reference,message_id (optional;
 *                     may hold only its header)
 * - balances.csv      slot,id,balance    (long format; optional)
 * - summary.json      scenario facts, totals and KPIs; every field optional,
 *                     a present field of the wrong type is an error.
 *                     "resource" (pg_resource_json; absent = electricity)
 *                     names what the *_wh columns count: the page reads
 *                     quantities in its display unit (kWh, m³; the base unit,
 *                     e.g. L, where a chart's, table's or card's largest
 *                     value is below one display unit, except electricity,
 *                     always kWh) and prices per its price unit.
 * - flex_slots.csv    slot,start,soc_ppm,charged_wh,discharged_wh (optional;
 *                     a run with assets, sim.h): with summary.json
 *                     "flexibility" ({"with": {...}, "without": {...}}: the
 *                     KPIs side by side) the page gets a Flexibility section:
 *                     that table and two charts, state-of-charge (the
 *                     batteries' mean SoC per bucket) and shifted-energy
 *                     (charged and discharged per bucket). Its slots must be
 *                     those of slots.csv, in the same order.
 * CSV files are RFC 4180 (quoted fields, "" inside quotes, CRLF or LF, an
 * optional UTF-8 BOM). The header must name every expected column (in any
 * order; extra columns are ignored) and every record must have as many fields
 * as the header. Integers are decimal int64; prices are decimals.
 *
 * OUTPUT: out_dir/report.html, written atomically (temp file + rename): on any
 * failure no report.html is created or replaced. Five charts, each an
 * <svg class="chart" data-chart="..."> named generation-consumption,
 * community-utility, clearing-price, bills and balances (with flex_slots.csv
 * also state-of-charge and shifted-energy). Runs longer than a
 * few hundred slots are aggregated into buckets (per day when the slot length
 * is known) so the page stays small (35,040 slots: well under 2 MB).
 *
 * Errors: 0 or a negative pg_err; the diag names the file and line and the
 * problem, e.g. "slots.csv:12: column 'supply_wh': 'x' is not an integer".
 * Ownership: the page is appended to the caller's pg_buf; the input files
 * are read and released within the call; report.html is written atomically.
 * Threads: none needed (no shared state). */
#ifndef P2PGRID_SIM_REPORT_H
#define P2PGRID_SIM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"

/* Size caps: each input file, and the rendered page. */
#define PG_SIM_REPORT_MAX_FILE ((size_t)1 << 30)
#define PG_SIM_REPORT_MAX_HTML ((size_t)64 << 20)
#define PG_SIM_REPORT_MAX_PARTICIPANTS 100000

/* The contents of the input files (borrowed). NULL data means the file is
 * absent: slots, participants and summary are required; transfers and
 * balances may be absent (treated as empty). */
typedef struct pg_sim_report_files {
  const uint8_t *slots;
  size_t slots_len;
  const uint8_t *participants;
  size_t participants_len;
  const uint8_t *transfers;
  size_t transfers_len;
  const uint8_t *balances;
  size_t balances_len;
  const uint8_t *summary;
  size_t summary_len;
  const uint8_t *flex_slots; /* optional (NULL: none) */
  size_t flex_slots_len;
} pg_sim_report_files;

/* Parses the files and appends the page to out (which should be empty; its
 * limit caps the page). On failure out may hold a partial page. */
PG_NODISCARD int pg_sim_report_render(const pg_sim_report_files *files, pg_buf *out,
                                      pg_diag *d);

/* Reads the files from out_dir and writes out_dir/report.html atomically. */
PG_NODISCARD int pg_sim_report_write(const char *out_dir, pg_diag *d);

#endif
