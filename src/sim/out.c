/* Simulator output files: the contract with sim/report.h. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/db.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/sim/sim.h"
#include "sim_internal.h"

#if defined(__has_include)
#if __has_include("p2pgrid/sim/report.h")
#include "p2pgrid/sim/report.h"
#define PG_SIM_HAVE_REPORT 1
#endif
#endif

static FILE *open_tmp(const char *dir, const char *name, pg_diag *d) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s.tmp", dir, name);
  FILE *f = fopen(p, "w");
  if (!f) pg_fail(d, PG_ERR_IO, "cannot write %s: %s", p, strerror(errno));
  return f;
}

static int close_tmp(FILE *f, const char *dir, const char *name, bool ok, pg_diag *d) {
  char p[1200], q[1200];
  snprintf(p, sizeof p, "%s/%s.tmp", dir, name);
  snprintf(q, sizeof q, "%s/%s", dir, name);
  bool err = ferror(f) != 0;
  if (fclose(f) != 0) err = true;
  if (!ok || err) {
    remove(p);
    return ok ? pg_fail(d, PG_ERR_IO, "cannot write %s", p) : PG_OK;
  }
  if (rename(p, q) != 0) return pg_fail(d, PG_ERR_IO, "cannot rename %s: %s", p, strerror(errno));
  return PG_OK;
}

int pg_sim_out_open(pg_sim_out *o, const char *dir, uint64_t slot_ms, bool party_slots,
                    pg_diag *d) {
  memset(o, 0, sizeof *o);
  snprintf(o->dir, sizeof o->dir, "%s", dir);
  o->slot_ms = slot_ms;
  o->transfers = open_tmp(dir, "transfers.csv", d);
  if (!o->transfers) return PG_ERR_IO;
  o->balances = open_tmp(dir, "balances.csv", d);
  if (o->balances && party_slots) o->party_slots = open_tmp(dir, "party_slots.csv", d);
  if (!o->balances || (party_slots && !o->party_slots)) {
    (void)close_tmp(o->transfers, dir, "transfers.csv", false, NULL);
    if (o->balances) (void)close_tmp(o->balances, dir, "balances.csv", false, NULL);
    return PG_ERR_IO;
  }
  fputs("slot,time,from,to,amount,reference,message_id\n", o->transfers);
  fputs("slot,id,balance\n", o->balances);
  if (o->party_slots)
    fputs("slot,start,id,role,energy_wh,community_wh,amount,fee,total\n", o->party_slots);
  return PG_OK;
}

/* Decimal digits of v at *p (what %PRId64 prints), *p moved past them. */
static void put_i64(char **p, int64_t v) {
  char t[24];
  int n = 0;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do t[n++] = (char)('0' + u % 10); while ((u /= 10) != 0);
  if (v < 0) *(*p)++ = '-';
  while (n) *(*p)++ = t[--n];
}

static void put_str(char **p, const char *s, size_t n) {
  memcpy(*p, s, n);
  *p += n;
}

void pg_sim_out_party_slot(pg_sim_out *o, uint64_t slot, const char *id, bool producer,
                           int64_t energy_wh, const pg_market_party *p) {
  if (!o || !o->party_slots) return;
  /* one row per participant and slot (millions): the slot's time made once
   * per slot, the row built in place — the bytes fprintf would write */
  if (!o->iso_ok || o->iso_slot != slot) {
    pg_sim_iso(slot * o->slot_ms, o->iso, sizeof o->iso);
    o->iso_slot = slot, o->iso_ok = true;
  }
  size_t idn = strlen(id), ison = strlen(o->iso);
  char line[320], *q = line;
  if (idn > 128 || slot > (uint64_t)INT64_MAX) {
    fprintf(o->party_slots,
            "%" PRIu64 ",%s,%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
            slot, o->iso, id, producer ? "producer" : "consumer", energy_wh, p->community_wh,
            p->amount, p->fee, p->total);
    return;
  }
  put_i64(&q, (int64_t)slot);
  *q++ = ',';
  put_str(&q, o->iso, ison);
  *q++ = ',';
  put_str(&q, id, idn);
  put_str(&q, producer ? ",producer," : ",consumer,", 10);
  const int64_t v[5] = {energy_wh, p->community_wh, p->amount, p->fee, p->total};
  for (int k = 0; k < 5; k++) {
    put_i64(&q, v[k]);
    *q++ = k < 4 ? ',' : '\n';
  }
  fwrite(line, 1, (size_t)(q - line), o->party_slots);
}

void pg_sim_out_balance(pg_sim_out *o, uint64_t slot, const char *id, int64_t balance) {
  fprintf(o->balances, "%" PRIu64 ",%s,%" PRId64 "\n", slot, id, balance);
}

void pg_sim_out_transfer(pg_sim_out *o, uint64_t slot, uint64_t time_ms, const char *from,
                         const char *to, int64_t amount, const char *reference,
                         const char *message_id) {
  char iso[32];
  pg_sim_iso(time_ms, iso, sizeof iso);
  fprintf(o->transfers, "%" PRIu64 ",%s,%s,%s,%" PRId64 ",%s,%s\n", slot, iso, from, to, amount,
          reference ? reference : "", message_id ? message_id : "");
}

int pg_sim_out_close(pg_sim_out *o, bool ok, pg_diag *d) {
  int rc = close_tmp(o->transfers, o->dir, "transfers.csv", ok, d);
  int rc2 = close_tmp(o->balances, o->dir, "balances.csv", ok, rc ? NULL : d);
  int rc3 = o->party_slots
                ? close_tmp(o->party_slots, o->dir, "party_slots.csv", ok, rc || rc2 ? NULL : d)
                : PG_OK;
  return rc ? rc : rc2 ? rc2 : rc3;
}

/* CSV field: quoted when it holds a comma, quote or newline */
static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* summary.json "flexibility": one side of the with/without KPIs. */
static json_t *flex_json(const pg_sim_flex_kpis *k) {
  return json_pack("{sIsIsIsIsIsIsIsIsIsIsIsI}", "selfSufficiencyPpm",
                   (json_int_t)k->self_sufficiency_ppm, "selfConsumptionPpm",
                   (json_int_t)k->self_consumption_ppm, "communitySharePpm",
                   (json_int_t)k->community_share_ppm, "savings", (json_int_t)k->savings,
                   "peakImportWh", (json_int_t)k->peak_import_wh, "pvWh", (json_int_t)k->pv_wh,
                   "exportedBehindMeterWh", (json_int_t)k->exported_wh, "chargedWh",
                   (json_int_t)k->charged_wh, "dischargedWh", (json_int_t)k->discharged_wh,
                   "lossWh", (json_int_t)k->loss_wh, "evWh", (json_int_t)k->ev_wh,
                   "heatPumpWh", (json_int_t)k->heat_pump_wh);
}

int pg_sim_write_summary(const pg_scenario *s, const pg_sim_result *r, const char *dir,
                         pg_diag *d) {
  FILE *f = open_tmp(dir, "slots.csv", d);
  if (!f) return PG_ERR_IO;
  fputs("slot,start,supply_wh,demand_wh,community_wh,import_wh,export_wh,buy_price,sell_price,"
        "billed,producer_revenues,fees,grid_income\n",
        f);
  for (size_t i = 0; i < r->n_slots; i++) {
    const pg_sim_slot *o = &r->slots[i];
    char iso[32];
    pg_sim_iso(o->slot * s->slot_ms, iso, sizeof iso);
    fprintf(f, "%" PRIu64 ",%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", o->slot,
            iso, o->supply_wh, o->demand_wh, o->community_wh, o->import_wh, o->export_wh);
    if (o->has_price) fprintf(f, "%.1f,%.1f,", o->buy_price, o->sell_price);
    else fputs(",,", f);
    fprintf(f, "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n", o->billed,
            o->producer_revenues, o->fees, o->grid_income);
  }
  int rc = close_tmp(f, dir, "slots.csv", true, d);
  if (rc) return rc;
  f = open_tmp(dir, "participants.csv", d);
  if (!f) return PG_ERR_IO;
  fputs("id,name,role,kind,energy_wh,community_wh,amount,baseline,savings,outside_wh\n", f);
  for (size_t i = 0; i < r->n_parties; i++) {
    const pg_sim_party *p = &r->parties[i];
    csv_str(f, p->id);
    fputc(',', f);
    csv_str(f, p->name);
    fprintf(f, ",%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
            p->producer ? "producer" : "consumer", p->kind, p->energy_wh, p->community_wh,
            p->producer ? p->amount : p->paid, p->baseline, p->savings, p->outside_wh);
  }
  rc = close_tmp(f, dir, "participants.csv", true, d);
  if (rc) return rc;

  json_t *j = json_object();
  char a[32], b[32];
  pg_sim_iso(s->start_ms, a, sizeof a);
  pg_sim_iso(s->start_ms + r->n_slots * s->slot_ms, b, sizeof b);
  json_object_set_new(j, "scenario", json_string(s->name));
  json_object_set_new(j, "mode", json_string(r->mode == PG_SIM_FULL ? "full" : "market-only"));
  json_object_set_new(j, "mechanism", json_string(pg_market_mech_name(s->mech)));
  if (pg_market_mech_is_sharing(s->mech))
    json_object_set_new(j, "communityPrice", json_integer((json_int_t)s->community_price));
  json_object_set_new(j, "start", json_string(a));
  json_object_set_new(j, "end", json_string(b));
  json_object_set_new(j, "slots", json_integer((json_int_t)r->n_slots));
  json_object_set_new(j, "slotMs", json_integer((json_int_t)s->slot_ms));
  /* how people read amounts and times (the values here stay base units and UTC) */
  json_object_set_new(j, "timeZone", json_string(pg_tz_name(s->tz)));
  json_object_set_new(j, "moneyFormat", pg_money_json(&s->money));
  json_object_set_new(j, "resource", pg_resource_json(&s->resource));
  json_object_set_new(j, "participants",
                      json_pack("{sIsIsI}", "producers", (json_int_t)s->n_producers, "sources",
                                (json_int_t)s->n_sources, "consumers",
                                (json_int_t)s->n_households));
  const pg_sim_slot *t = &r->total;
  json_object_set_new(j, "energy",
                      json_pack("{sIsIsIsIsI}", "producedWh", (json_int_t)t->supply_wh,
                                "consumedWh", (json_int_t)t->demand_wh, "communityWh",
                                (json_int_t)t->community_wh, "importedWh",
                                (json_int_t)t->import_wh, "exportedWh", (json_int_t)t->export_wh));
  json_object_set_new(j, "money",
                      json_pack("{sIsIsIsIsIsIsI}", "billed", (json_int_t)t->billed, "paid",
                                (json_int_t)r->paid, "producerRevenues",
                                (json_int_t)t->producer_revenues, "fees", (json_int_t)t->fees,
                                "gridIncome", (json_int_t)t->grid_income, "importCost",
                                (json_int_t)t->import_cost, "exportIncome",
                                (json_int_t)t->export_income));
  json_object_set_new(j, "kpis",
                      json_pack("{sIsIsI}", "consumerSavings", (json_int_t)r->consumer_savings,
                                "producerSavings", (json_int_t)r->producer_savings, "giniPpm",
                                (json_int_t)r->gini_ppm));
  if (r->mode == PG_SIM_FULL)
    json_object_set_new(j, "tangle",
                        json_pack("{sIsIsI}", "messages", (json_int_t)r->messages, "transfers",
                                  (json_int_t)r->transfers, "milestones",
                                  (json_int_t)r->milestones));
  json_object_set_new(j, "tariff",
                      json_pack("{sIsIsIsI}", "membershipFee",
                                (json_int_t)s->tariff.membership_fee, "capacityPrice",
                                (json_int_t)s->tariff.capacity_price, "vatBp",
                                (json_int_t)s->tariff.vat_bp, "gridFeeReduction",
                                (json_int_t)s->tariff.grid_fee_reduction_per_kwh));
  if (r->has_flex) {
    json_t *fx = json_object();
    json_object_set_new(fx, "with", flex_json(&r->flex));
    if (r->has_without) json_object_set_new(fx, "without", flex_json(&r->without));
    json_object_set_new(j, "flexibility", fx);
  }
  if (r->missing_readings)
    json_object_set_new(j, "missingReadings", json_integer((json_int_t)r->missing_readings));
  json_object_set_new(j, "wallMs", json_integer((json_int_t)r->wall_ms));
  char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(j);
  if (!txt) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  f = open_tmp(dir, "summary.json", d);
  if (!f) {
    free(txt);
    return PG_ERR_IO;
  }
  fputs(txt, f);
  fputc('\n', f);
  free(txt);
  return close_tmp(f, dir, "summary.json", true, d);
}

bool pg_sim_report_available(void) {
#ifdef PG_SIM_HAVE_REPORT
  return true;
#else
  return false;
#endif
}

int pg_sim_report(const char *dir, pg_diag *d) {
#ifdef PG_SIM_HAVE_REPORT
  return pg_sim_report_write(dir, d);
#else
  (void)dir;
  return pg_fail(d, PG_ERR_UNSUPPORTED, "the HTML report is not built in");
#endif
}

/* ---- the run's temporary directory, moved into place on success ---- */

/* Removes OUT.partial-PID beside out_dir[0..n) for every PID that names no
 * process any more: the work directory of a run killed with SIGKILL (or a
 * power cut), which could not clean up after itself. A live PID's (another
 * run into the same directory) stays, as does anything else. */
static void remove_stale_work_dirs(const char *out_dir, size_t n) {
  size_t slash = n;
  while (slash > 0 && out_dir[slash - 1] != '/') slash--;
  char parent[1024], prefix[300];
  if (slash >= sizeof parent || n - slash + 10 >= sizeof prefix) return;
  snprintf(parent, sizeof parent, "%.*s", slash ? (int)slash : 1, slash ? out_dir : ".");
  int plen = snprintf(prefix, sizeof prefix, "%.*s.partial-", (int)(n - slash), out_dir + slash);
  DIR *dh = opendir(parent);
  if (!dh) return;
  struct dirent *e;
  while ((e = readdir(dh)) != NULL) {
    uint64_t pid;
    const char *tail = e->d_name + plen;
    if (strncmp(e->d_name, prefix, (size_t)plen) != 0 ||
        !pg_parse_u64(tail, strlen(tail), 10, &pid) || pid == 0 || pid > INT32_MAX ||
        (pid_t)pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue;
    char path[1400];
    snprintf(path, sizeof path, "%s%s%s", parent, slash ? "" : "/", e->d_name);
    pg_remove_tree(path);
    pg_log_warn("sim", "removed %s, the work directory of a run that was killed (process %" PRIu64
                " is gone)", path, pid);
  }
  closedir(dh);
}

int pg_sim_work_dir(const char *out_dir, char *work, size_t cap, pg_diag *d) {
  size_t n = strlen(out_dir);
  while (n > 1 && out_dir[n - 1] == '/') n--;
  remove_stale_work_dirs(out_dir, n);
  struct stat st;
  if (stat(out_dir, &st) == 0 && !S_ISDIR(st.st_mode))
    return pg_fail(d, PG_ERR_IO, "%s: exists and is not a directory", out_dir);
  int k = snprintf(work, cap, "%.*s.partial-%ld", (int)n, out_dir, (long)getpid());
  if (k < 0 || (size_t)k >= cap) return pg_fail(d, PG_ERR_IO, "%s: path too long", out_dir);
  pg_remove_tree(work); /* of an earlier process with our pid, killed */
  return pg_mkdir_p(work, 0755, d);
}

/* work/name into out/name; a directory already there is moved into work
 * first (removed with work). */
static int publish_one(const char *work, const char *out, const char *name, bool dir,
                       pg_diag *d) {
  char from[1200], to[1200], old[1300];
  snprintf(from, sizeof from, "%s/%s", work, name);
  snprintf(to, sizeof to, "%s/%s", out, name);
  struct stat st;
  if (dir && lstat(to, &st) == 0) {
    snprintf(old, sizeof old, "%s/.old-%s", work, name);
    if (rename(to, old) != 0)
      return pg_fail(d, PG_ERR_IO, "cannot move %s aside: %s", to, strerror(errno));
  }
  if (rename(from, to) != 0)
    return pg_fail(d, PG_ERR_IO, "cannot move %s to %s: %s", from, to, strerror(errno));
  return PG_OK;
}

int pg_sim_publish(const char *work, const char *out_dir, pg_diag *d) {
  struct stat st;
  if (stat(out_dir, &st) != 0) {
    if (rename(work, out_dir) == 0) return PG_OK;
    return pg_fail(d, PG_ERR_IO, "cannot move %s to %s: %s", work, out_dir, strerror(errno));
  }
  DIR *dh = opendir(work);
  if (!dh) return pg_fail(d, PG_ERR_IO, "%s: cannot open: %s", work, strerror(errno));
  int rc = PG_OK;
  bool wrote[3] = {false, false, false};
  static const char *const runs[3] = {"party_slots.csv", "assets.csv", "flex_slots.csv"};
  struct dirent *e;
  while (!rc && (e = readdir(dh))) {
    if (e->d_name[0] == '.') continue;
    for (int i = 0; i < 3; i++) wrote[i] |= strcmp(e->d_name, runs[i]) == 0;
    bool isdir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      char p[1200];
      snprintf(p, sizeof p, "%s/%s", work, e->d_name);
      isdir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
    }
    rc = publish_one(work, out_dir, e->d_name, isdir, d);
  }
  closedir(dh);
  for (int i = 0; !rc && i < 3; i++) { /* never leave one of another run */
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", out_dir, runs[i]);
    if (!wrote[i]) (void)remove(p);
  }
  pg_remove_tree(work);
  return rc;
}
