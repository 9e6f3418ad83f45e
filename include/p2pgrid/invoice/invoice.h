/* p2pgrid/invoice/invoice.h — monthly invoices of the community's members: the
 * document model (a member's month: line items from tariff.h, a per-day
 * chart, the per-slot annex, the payments that settled it) and its renderings:
 * HTML (self-contained, print-friendly, the chart as inline SVG, no script),
 * PDF (cairo; the same content, the chart drawn with cairo) and the annex CSV.
 *
 * INPUTS. A simulator output directory (sim.h: party_slots.csv, participants.csv,
 * transfers.csv, summary.json) with the scenario it ran (its [tariff], zone,
 * [money]). A month is the calendar month in the community's time zone: a
 * slot belongs to the month of the local date at its start.
 *
 * MONEY. Every amount is an exact integer of base units (tariff.h); the
 * documents print them with pg_money_format (money.h), raw base units stay
 * in the annex CSV.
 *
 * QUANTITIES are integers of the resource's base unit (resource.h; the
 * scenario's [resource], electricity when absent): the documents read them
 * in its display unit with every decimal of the base unit ("1,234.567 kWh",
 * "12.345 m³"), the peak in its flow unit (and per hour of the price unit,
 * which the capacity price is per, when that differs: "12.500 L/min (0.750
 * m³/h)"), and name the resource ("Water", "water community"); the annex
 * CSV keeps the base unit under its energy_wh etc. columns.
 *
 * Ownership: a pg_invoice and a pg_invoice_set own their arrays
 * (pg_invoice_free, pg_invoice_set_free); options, slots and payments are
 * borrowed for the call; HTML and CSV are appended to the caller's pg_buf, PDFs
 * written to files.
 * Errors: 0 or a negative pg_err, the diag names the file (and line) and the
 * problem.
 * Threads: no shared state of ours; the PDF writer uses cairo's process-wide
 * font caches, which pg_invoice_pdf_release drops only when no PDF is being
 * written. */
#ifndef P2PGRID_INVOICE_INVOICE_H
#define P2PGRID_INVOICE_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/base/tz.h"
#include "p2pgrid/base/resource.h"
#include "p2pgrid/market/tariff.h"

#define PG_INVOICE_ID_MAX 64
#define PG_INVOICE_MSG_ID_MAX 64 /* hex message id */

/* One settled slot of the member (annex row). */
typedef struct pg_invoice_slot {
  uint64_t slot;  /* absolute slot number (start / slot_ms) */
  pg_tariff_slot v;
} pg_invoice_slot;

/* One payment that settled part of the month (full mode; a ledger transfer). */
typedef struct pg_invoice_payment {
  uint64_t slot;
  uint64_t time_ms;
  int64_t amount;
  char reference[40];
  char message_id[PG_INVOICE_MSG_ID_MAX + 1]; /* "" when not on a Tangle */
} pg_invoice_payment;

typedef struct pg_invoice {
  char community[PG_INVOICE_ID_MAX + 1];
  char member_id[PG_INVOICE_ID_MAX + 1], member_name[PG_INVOICE_ID_MAX + 1];
  bool producer; /* a credit note */
  int year, month;
  int days;            /* days in the month */
  uint64_t slot_ms;
  pg_tz tz;
  pg_tariff tariff;
  pg_resource resource; /* what energy_wh etc. count (zero = electricity) */
  pg_tariff_month m;   /* the month's figures (tariff.h) */
  pg_invoice_slot *slots; /* owned, in slot order */
  size_t n_slots;
  int64_t *day_wh;       /* owned, days entries: energy per local day */
  int64_t *day_community_wh;
  pg_invoice_payment *payments; /* owned */
  size_t n_payments;
  int64_t paid;          /* sum of the payments */
} pg_invoice;

/* "2025-06" -> 2025, 6. PG_ERR_INVALID otherwise. */
PG_NODISCARD int pg_invoice_month_parse(const char *s, int *year, int *month);

/* Fills inv from its identity fields (community, member_id, member_name,
 * producer, year, month, slot_ms, tz, tariff, resource: set them first) and n slots
 * (copied; every slot must lie in the month, in increasing order): the
 * month's figures and the per-day sums. Free with pg_invoice_free. */
PG_NODISCARD int pg_invoice_build(pg_invoice *inv, const pg_invoice_slot *slots, size_t n,
                                  pg_diag *d);
/* Adds a payment (copied). */
PG_NODISCARD int pg_invoice_add_payment(pg_invoice *inv, const pg_invoice_payment *p,
                                        pg_diag *d);
void pg_invoice_free(pg_invoice *inv);

/* True when the slot's start lies in the invoice's month (local time). */
bool pg_invoice_in_month(const pg_invoice *inv, uint64_t slot);

/* Renderings; `money` is money.h's pg_money (declared here only). */
typedef struct pg_money pg_money;
PG_NODISCARD int pg_invoice_html(const pg_invoice *inv, const pg_money *money, pg_buf *out);
PG_NODISCARD int pg_invoice_csv(const pg_invoice *inv, pg_buf *out);
/* Writes the PDF to path (atomically: temp file + rename). */
PG_NODISCARD int pg_invoice_pdf(const pg_invoice *inv, const pg_money *money, const char *path,
                                pg_diag *d);

/* Releases the font caches cairo and fontconfig keep for the process (call
 * once no PDF is being written, e.g. before exit, so leak checkers stay
 * quiet); later PDFs load them again. */
void pg_invoice_pdf_release(void);

/* ---- a run: every member of a simulator output ---- */

typedef struct pg_invoice_opts {
  const char *sim_out;   /* simulator output directory, or: */
  const char *grid_db;   /* a grid operator's database (grid.db), read-only */
  const char *out_dir;   /* created if missing */
  const char *member;    /* NULL = every member */
  int year, month;
  uint64_t slot_ms;      /* from the scenario */
  pg_tz tz;
  pg_tariff tariff;
  pg_resource resource;  /* the scenario's [resource] (zero = electricity) */
  const pg_money *money;
  const char *community; /* scenario name */
  void (*progress)(void *ctx, size_t done, size_t total, const char *member);
  void *progress_ctx;
} pg_invoice_opts;

typedef struct pg_invoice_summary {
  size_t invoices;       /* consumers' invoices written */
  size_t credit_notes;   /* producers' */
  int64_t total;         /* sum of the consumers' invoice totals */
  int64_t slot_bills;    /* sum of their slot bills (energy + fees) in the month */
  int64_t monthly;       /* sum of their monthly items */
  int64_t paid;          /* sum of their payments listed (full mode) */
  int64_t credits;       /* sum of the producers' credit notes */
} pg_invoice_summary;

/* The members of a simulator output with their slots and payments in the
 * month, parsed from the bytes of participants.csv, party_slots.csv and
 * transfers.csv (NULL: no payments); o's month, slot_ms and tz select the
 * slots (o's other fields are kept for pg_invoice_set_get; strings
 * borrowed). Errors name the file and line. */
typedef struct pg_invoice_set pg_invoice_set;
PG_NODISCARD int pg_invoice_set_parse(const pg_invoice_opts *o, const uint8_t *participants,
                                      size_t plen, const uint8_t *members, size_t mlen,
                                      const uint8_t *transfers, size_t tlen,
                                      pg_invoice_set **out, pg_diag *d);
size_t pg_invoice_set_count(const pg_invoice_set *s); /* members, in id order */
size_t pg_invoice_set_rows(const pg_invoice_set *s);  /* member-slots in the month */
const char *pg_invoice_set_id(const pg_invoice_set *s, size_t i);
/* Builds member i's invoice (pg_invoice_free). */
PG_NODISCARD int pg_invoice_set_get(const pg_invoice_set *s, size_t i, pg_invoice *inv,
                                    pg_diag *d);
void pg_invoice_set_free(pg_invoice_set *s);
/* The same from a grid operator's database (path, opened read-only, read in
 * one transaction): members with settled readings, their slot bills and
 * payouts, the payments received for their slot and month bills (a month
 * bill under the last slot of the month it bills) and the confirmed payout
 * batches, each with its Tangle message id. */
PG_NODISCARD int pg_invoice_load_grid_db(const pg_invoice_opts *o, const char *path,
                                         pg_invoice_set **out, pg_diag *d);

/* Writes out_dir/ID-YYYY-MM.{html,pdf,csv} per member and out_dir/index.html
 * (all members only), from o->grid_db when set, else from o->sim_out. PG_ERR_NOT_FOUND when --member names nobody or the
 * month has no slot of the run. */
PG_NODISCARD int pg_invoice_run_sim(const pg_invoice_opts *o, pg_invoice_summary *sum,
                                    pg_diag *d);

#endif
