/* Simulation report: loading the run's files into memory (report_model.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/strhash.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/array.h"
#include "report_model.h"

void rpt_model_free(rpt_model *m) {
  free(m->slots);
  free(m->flex);
  for (size_t i = 0; i < m->nparts; i++) {
    free(m->parts[i].id);
    free(m->parts[i].name);
    free(m->parts[i].kind);
  }
  free(m->parts);
  for (size_t i = 0; i < m->nbal; i++) {
    free(m->bal[i].id);
    free(m->bal[i].v);
  }
  free(m->bal);
  free(m->bal_hash);
  free(m->bucket_of);
  for (size_t i = 0; i < m->ntransfers_kept; i++) {
    for (int k = 0; k < 5; k++) free(m->transfers[i].s[k]);
  }
  free(m->transfers);
  if (m->summary) json_decref(m->summary);
  memset(m, 0, sizeof *m);
}

static int oom(pg_diag *d, const char *file) {
  return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", file);
}

/* ---- slots.csv */

static const char *const slot_cols[] = {"slot", "start", "supply_wh", "demand_wh",
                                        "community_wh", "import_wh", "export_wh",
                                        "buy_price", "sell_price", "billed",
                                        "producer_revenues", "fees", "grid_income"};

static int load_slots(rpt_model *m, const uint8_t *data, size_t len, pg_diag *d) {
  if (!data) return pg_fail(d, PG_ERR_NOT_FOUND, "slots.csv is missing");
  pg_csv_table c;
  pg_csv_table_init(&c, "slots.csv", data, len);
  size_t cap = 0;
  int rc = pg_csv_table_header(&c, slot_cols, 13, d);
  while (rc == PG_OK && (rc = pg_csv_table_next(&c, d)) == 1) {
    rc = PG_OK;
    if (pg_grow(&m->slots, &cap, m->nslots + 1, sizeof *m->slots, 0) != PG_OK) {
      rc = oom(d, "slots.csv");
      break;
    }
    rpt_slot *s = &m->slots[m->nslots];
    int64_t *ints[] = {&s->slot, NULL, &s->supply, &s->demand, &s->community, &s->imp,
                       &s->exp, NULL, NULL, &s->billed, &s->revenues, &s->fees, &s->grid};
    for (size_t i = 0; i < 13 && rc == PG_OK; i++)
      if (ints[i]) rc = pg_csv_table_i64(&c, i, ints[i], d);
    if (rc == PG_OK) rc = pg_csv_table_time(&c, 1, &s->t, d);
    if (rc == PG_OK) rc = pg_csv_table_dec(&c, 7, true, &s->buy, d);
    if (rc == PG_OK) rc = pg_csv_table_dec(&c, 8, true, &s->sell, d);
    if (rc == PG_OK && m->nslots > 0 && s->slot <= m->slots[m->nslots - 1].slot)
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "is not after the previous slot", d);
    if (rc != PG_OK) break;
    m->nslots++;
  }
  pg_csv_table_free(&c);
  if (rc < 0) return rc;
  if (m->nslots == 0) return pg_fail(d, PG_ERR_INVALID, "slots.csv: no slots");
  return PG_OK;
}

/* ---- participants.csv */

static const char *const part_cols[] = {"id",     "name",        "role",
                                        "kind",   "energy_wh",   "community_wh",
                                        "amount", "baseline",    "savings"};

static int load_parts(rpt_model *m, const uint8_t *data, size_t len, pg_diag *d) {
  if (!data) return pg_fail(d, PG_ERR_NOT_FOUND, "participants.csv is missing");
  pg_csv_table c;
  pg_csv_table_init(&c, "participants.csv", data, len);
  size_t cap = 0;
  int rc = pg_csv_table_header(&c, part_cols, 9, d);
  size_t outside = c.nf; /* optional column (newer runs): its index, nf = absent */
  for (size_t j = 0; rc == PG_OK && j < c.nf; j++)
    if (strcmp(c.f[j].p, "outside_wh") == 0) outside = j;
  while (rc == PG_OK && (rc = pg_csv_table_next(&c, d)) == 1) {
    rc = PG_OK;
    if (m->nparts == PG_SIM_REPORT_MAX_PARTICIPANTS) {
      rc = pg_fail(d, PG_ERR_TOO_LARGE, "participants.csv:%ld: more than %d participants",
                   c.c.line, PG_SIM_REPORT_MAX_PARTICIPANTS);
      break;
    }
    if (pg_grow(&m->parts, &cap, m->nparts + 1, sizeof *m->parts, 0) != PG_OK) {
      rc = oom(d, "participants.csv");
      break;
    }
    rpt_part *p = &m->parts[m->nparts];
    memset(p, 0, sizeof *p);
    const char *role = pg_csv_table_get(&c, 2);
    if (strcmp(role, "producer") == 0) {
      p->producer = true;
    } else if (strcmp(role, "consumer") != 0) {
      rc = pg_csv_table_fail(&c, 2, PG_ERR_INVALID, "is not producer or consumer", d);
      break;
    }
    if (!*pg_csv_table_get(&c, 0)) {
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "is empty", d);
      break;
    }
    int64_t *ints[] = {&p->energy, &p->community, &p->amount, &p->baseline, &p->savings};
    for (size_t i = 0; i < 5 && rc == PG_OK; i++) rc = pg_csv_table_i64(&c, 4 + i, ints[i], d);
    if (rc == PG_OK && outside < c.nf && !pg_parse_i64(c.f[outside].p, c.f[outside].len, &p->outside))
      rc = pg_fail(d, PG_ERR_INVALID, "participants.csv:%ld: column 'outside_wh': not an integer",
                   c.c.line);
    if (rc == PG_OK && p->outside < 0)
      rc = pg_fail(d, PG_ERR_INVALID, "participants.csv:%ld: column 'outside_wh': negative",
                   c.c.line);
    if (rc != PG_OK) break;
    p->id = strdup(pg_csv_table_get(&c, 0));
    p->name = strdup(pg_csv_table_get(&c, 1));
    p->kind = strdup(pg_csv_table_get(&c, 3));
    m->nparts++; /* counted before the check so rpt_model_free frees them */
    if (!p->id || !p->name || !p->kind) {
      rc = oom(d, "participants.csv");
      break;
    }
  }
  pg_csv_table_free(&c);
  return rc < 0 ? rc : PG_OK;
}

/* ---- transfers.csv: counted and summed; the first few kept for a table */

static const char *const tr_cols[] = {"slot", "time", "from", "to",
                                      "amount", "reference", "message_id"};

static int load_transfers(rpt_model *m, const uint8_t *data, size_t len, pg_diag *d) {
  if (!data) return PG_OK;
  pg_csv_table c;
  pg_csv_table_init(&c, "transfers.csv", data, len);
  int rc = pg_csv_table_header(&c, tr_cols, 7, d);
  if (rc == PG_OK) {
    m->transfers = calloc(RPT_KEEP_TRANSFERS, sizeof *m->transfers);
    if (!m->transfers) rc = oom(d, "transfers.csv");
  }
  while (rc == PG_OK && (rc = pg_csv_table_next(&c, d)) == 1) {
    rc = PG_OK;
    int64_t slot, amount;
    if ((rc = pg_csv_table_i64(&c, 0, &slot, d)) != PG_OK) break;
    if ((rc = pg_csv_table_i64(&c, 4, &amount, d)) != PG_OK) break;
    if (amount < 0) {
      rc = pg_csv_table_fail(&c, 4, PG_ERR_INVALID, "is negative", d);
      break;
    }
    m->ntransfers++;
    if (m->transfer_total <= INT64_MAX - amount) m->transfer_total += amount;
    if (m->ntransfers_kept < RPT_KEEP_TRANSFERS) {
      rpt_transfer *t = &m->transfers[m->ntransfers_kept++];
      t->slot = slot;
      t->amount = amount;
      static const size_t cols[5] = {1, 2, 3, 5, 6};
      for (int k = 0; k < 5; k++) {
        t->s[k] = strdup(pg_csv_table_get(&c, cols[k]));
        if (!t->s[k]) rc = oom(d, "transfers.csv");
      }
      if (rc != PG_OK) break;
    }
  }
  pg_csv_table_free(&c);
  return rc < 0 ? rc : PG_OK;
}

/* ---- balances.csv: bucketed per id (last value of each bucket) */

static int bal_find(rpt_model *m, const char *id, size_t *out, pg_diag *d) {
  if (2 * (m->nbal + 1) > m->bal_hcap) {
    size_t ncap = m->bal_hcap ? m->bal_hcap * 2 : 64;
    size_t *h = malloc(ncap * sizeof *h);
    if (!h) return oom(d, "balances.csv");
    for (size_t i = 0; i < ncap; i++) h[i] = SIZE_MAX;
    for (size_t i = 0; i < m->nbal; i++) {
      size_t j = (size_t)pg_hash_str(m->bal[i].id) & (ncap - 1);
      while (h[j] != SIZE_MAX) j = (j + 1) & (ncap - 1);
      h[j] = i;
    }
    free(m->bal_hash);
    m->bal_hash = h;
    m->bal_hcap = ncap;
  }
  size_t j = (size_t)pg_hash_str(id) & (m->bal_hcap - 1);
  while (m->bal_hash[j] != SIZE_MAX) {
    if (strcmp(m->bal[m->bal_hash[j]].id, id) == 0) {
      *out = m->bal_hash[j];
      return PG_OK;
    }
    j = (j + 1) & (m->bal_hcap - 1);
  }
  if (m->nbal == PG_SIM_REPORT_MAX_PARTICIPANTS)
    return pg_fail(d, PG_ERR_TOO_LARGE, "balances.csv: more than %d ids",
                   PG_SIM_REPORT_MAX_PARTICIPANTS);
  if (pg_grow(&m->bal, &m->bal_cap, m->nbal + 1, sizeof *m->bal, 0) != PG_OK)
    return oom(d, "balances.csv");
  rpt_balance *b = &m->bal[m->nbal];
  memset(b, 0, sizeof *b);
  b->id = strdup(id);
  b->v = malloc(m->nbuckets * sizeof *b->v);
  if (!b->id || !b->v) {
    free(b->id);
    free(b->v);
    return oom(d, "balances.csv");
  }
  for (size_t i = 0; i < m->nbuckets; i++) b->v[i] = NAN;
  m->bal_hash[j] = m->nbal;
  *out = m->nbal++;
  return PG_OK;
}

static size_t bucket_of_slot(const rpt_model *m, int64_t slot) {
  /* lower bound in the (ascending) slot numbers, clamped */
  size_t lo = 0, hi = m->nslots;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->slots[mid].slot < slot) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= m->nslots) lo = m->nslots - 1;
  return m->bucket_of[lo];
}

static const char *const bal_cols[] = {"slot", "id", "balance"};

static int load_balances(rpt_model *m, const uint8_t *data, size_t len, pg_diag *d) {
  if (!data) return PG_OK;
  pg_csv_table c;
  pg_csv_table_init(&c, "balances.csv", data, len);
  int rc = pg_csv_table_header(&c, bal_cols, 3, d);
  size_t last = SIZE_MAX;
  while (rc == PG_OK && (rc = pg_csv_table_next(&c, d)) == 1) {
    int64_t slot, bal;
    if ((rc = pg_csv_table_i64(&c, 0, &slot, d)) != PG_OK) break;
    if ((rc = pg_csv_table_i64(&c, 2, &bal, d)) != PG_OK) break;
    const char *id = pg_csv_table_get(&c, 1);
    if (!*id) {
      rc = pg_csv_table_fail(&c, 1, PG_ERR_INVALID, "is empty", d);
      break;
    }
    size_t k = 0;
    /* rows often repeat the same ids in order: try the one after the last */
    if (last != SIZE_MAX && last + 1 < m->nbal && strcmp(m->bal[last + 1].id, id) == 0) {
      k = last + 1;
    } else if ((rc = bal_find(m, id, &k, d)) != PG_OK) {
      break;
    }
    last = k;
    m->bal[k].v[bucket_of_slot(m, slot)] = (double)bal;
  }
  pg_csv_table_free(&c);
  if (rc < 0) return rc;
  /* a balance persists until it changes */
  for (size_t i = 0; i < m->nbal; i++)
    for (size_t b = 1; b < m->nbuckets; b++)
      if (isnan(m->bal[i].v[b])) m->bal[i].v[b] = m->bal[i].v[b - 1];
  return PG_OK;
}

/* ---- summary.json: checked once, read with rpt_sum_* later */

static const char *const sum_strs[] = {"scenario", "mode", "mechanism", "start", "end",
                                       "timeZone"};
static const char *const sum_nums[] = {
    "slots", "slotMs", "wallMs", "participants.producers", "participants.sources",
    "participants.consumers", "energy.producedWh", "energy.consumedWh",
    "energy.communityWh", "energy.importedWh", "energy.exportedWh", "money.billed",
    "money.paid", "money.producerRevenues", "money.fees", "money.gridIncome",
    "money.importCost", "money.exportIncome", "kpis.consumerSavings", "kpis.producerSavings",
    "kpis.giniPpm", "tangle.messages", "tangle.transfers", "tangle.milestones",
    "importPrice", "exportPrice", "market.importPrice", "market.exportPrice"};

/* The value at a dotted path, or NULL; sets *bad to the object that is not
 * an object on the way (for messages). */
static json_t *sum_at(json_t *root, const char *path, const char **bad) {
  char part[64];
  json_t *j = root;
  *bad = NULL;
  while (j) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof part) return NULL;
    memcpy(part, path, n);
    part[n] = 0;
    if (!json_is_object(j)) {
      *bad = pg_json_type_name(j);
      return NULL;
    }
    j = json_object_get(j, part);
    if (!dot) return j;
    path = dot + 1;
  }
  return NULL;
}

bool rpt_sum_num(const rpt_model *m, const char *path, double *out) {
  const char *bad;
  json_t *j = m->summary ? sum_at(m->summary, path, &bad) : NULL;
  if (!j || !json_is_number(j)) return false;
  *out = json_number_value(j);
  return true;
}

const char *rpt_sum_str(const rpt_model *m, const char *path) {
  const char *bad;
  json_t *j = m->summary ? sum_at(m->summary, path, &bad) : NULL;
  return j && json_is_string(j) ? json_string_value(j) : NULL;
}

bool rpt_sum_int(const rpt_model *m, const char *path, int64_t *out) {
  const char *bad;
  json_t *j = m->summary ? sum_at(m->summary, path, &bad) : NULL;
  if (j && json_is_integer(j)) {
    *out = (int64_t)json_integer_value(j);
    return true;
  }
  double v;
  if (!rpt_sum_num(m, path, &v) || !(v > -9.2e18 && v < 9.2e18)) return false;
  *out = (int64_t)llround(v);
  return true;
}

/* "moneyFormat": {"currency", "unitsPerCurrency", "decimals"}, "resource"
 * (pg_resource_json) and "timeZone" (all optional: base units, electricity
 * and UTC). */
static int load_display(rpt_model *m, pg_diag *d) {
  pg_money_default(&m->money);
  m->tz = PG_TZ_UTC;
  snprintf(m->tz_name, sizeof m->tz_name, "UTC");
  json_t *mf = json_object_get(m->summary, "moneyFormat");
  pg_diag jd = {{0}};
  if (mf && !json_is_null(mf)) {
    const char *cur = NULL;
    uint64_t upc = 0, dec = 0;
    if (!json_is_object(mf))
      return pg_fail(d, PG_ERR_INVALID, "summary.json: field 'moneyFormat': expected an object");
    if (pg_json_get_str(mf, "currency", &cur, NULL, &jd) ||
        pg_json_get_u64_range(mf, "unitsPerCurrency", 1, PG_MONEY_MAX_UNITS_PER_CURRENCY, &upc,
                              &jd) ||
        pg_json_get_u64_range(mf, "decimals", 0, PG_MONEY_MAX_DECIMALS, &dec, &jd))
      return pg_fail(d, PG_ERR_INVALID, "summary.json: moneyFormat: %s", jd.msg);
    pg_money mo;
    pg_money_default(&mo);
    snprintf(mo.currency, sizeof mo.currency, "%.15s", cur);
    mo.units_per_currency = upc;
    mo.decimals = (unsigned)dec;
    if (strlen(cur) > 15 || pg_money_check(&mo, &jd))
      return pg_fail(d, PG_ERR_INVALID, "summary.json: moneyFormat: %s",
                     strlen(cur) > 15 ? "currency is longer than 15 letters" : jd.msg);
    m->money = mo;
  }
  pg_resource_default(&m->res);
  json_t *res = json_object_get(m->summary, "resource");
  if (res && !json_is_null(res) && pg_resource_from_json(res, &m->res, &jd))
    return pg_fail(d, PG_ERR_INVALID, "summary.json: %s", jd.msg);
  const char *tz = rpt_sum_str(m, "timeZone");
  if (tz) {
    if (pg_tz_parse(tz, &m->tz, &jd))
      return pg_fail(d, PG_ERR_INVALID, "summary.json: field 'timeZone': %s", jd.msg);
    snprintf(m->tz_name, sizeof m->tz_name, "%s", pg_tz_name(m->tz));
  }
  return PG_OK;
}

static int load_summary(rpt_model *m, const uint8_t *data, size_t len, pg_diag *d) {
  if (!data) return pg_fail(d, PG_ERR_NOT_FOUND, "summary.json is missing");
  pg_diag jd = {{0}};
  int rc = pg_json_parse(data, len, PG_JSON_OBJECT, &m->summary, &jd);
  if (rc != PG_OK) return pg_fail(d, rc, "summary.json: %s", jd.msg);
  const char *bad;
  for (size_t i = 0; i < sizeof sum_strs / sizeof *sum_strs; i++) {
    json_t *j = sum_at(m->summary, sum_strs[i], &bad);
    if (j && !json_is_string(j) && !json_is_null(j))
      return pg_fail(d, PG_ERR_INVALID, "summary.json: field '%s': expected a string, got %s",
                     sum_strs[i], pg_json_type_name(j));
  }
  for (size_t i = 0; i < sizeof sum_nums / sizeof *sum_nums; i++) {
    json_t *j = sum_at(m->summary, sum_nums[i], &bad);
    if (bad)
      return pg_fail(d, PG_ERR_INVALID, "summary.json: field '%s': expected an object on the way, got %s",
                     sum_nums[i], bad);
    if (j && !json_is_null(j) && (!json_is_number(j) || !isfinite(json_number_value(j))))
      return pg_fail(d, PG_ERR_INVALID, "summary.json: field '%s': expected a number, got %s",
                     sum_nums[i], pg_json_type_name(j));
  }
  return load_display(m, d);
}

/* ---- buckets */

static void make_buckets(rpt_model *m) {
  size_t n = m->nslots;
  double slot_ms;
  size_t k = 1;
  m->bucket_kind = RPT_BUCKET_SLOT;
  if (n > RPT_MAX_POINTS) {
    if (rpt_sum_num(m, "slotMs", &slot_ms) && slot_ms >= 1000 && slot_ms <= 86400000.0 &&
        fmod(86400000.0, slot_ms) == 0) {
      size_t per_day = (size_t)(86400000.0 / slot_ms);
      size_t days = (n + per_day - 1) / per_day;
      size_t ndays = (days + RPT_MAX_POINTS - 1) / RPT_MAX_POINTS;
      k = per_day * ndays;
      m->bucket_kind = RPT_BUCKET_DAYS;
      m->bucket_days = ndays;
    } else {
      k = (n + RPT_MAX_POINTS - 1) / RPT_MAX_POINTS;
      m->bucket_kind = RPT_BUCKET_SLOTS;
    }
  }
  m->bucket_len = k;
  m->nbuckets = (n + k - 1) / k;
}

/* ---- flex_slots.csv (optional): one row per slot of slots.csv */

static const char *const flex_cols[] = {"slot", "soc_ppm", "charged_wh", "discharged_wh"};

static int load_flex(rpt_model *m, const uint8_t *data, size_t len, pg_diag *d) {
  if (!data) return PG_OK;
  m->flex = calloc(m->nslots + 1, sizeof *m->flex);
  if (!m->flex) return oom(d, "flex_slots.csv");
  pg_csv_table c;
  pg_csv_table_init(&c, "flex_slots.csv", data, len);
  size_t n = 0;
  int rc = pg_csv_table_header(&c, flex_cols, 4, d);
  while (rc == PG_OK && (rc = pg_csv_table_next(&c, d)) == 1) {
    rc = PG_OK;
    if (n == m->nslots) {
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "more rows than slots.csv has slots", d);
      break;
    }
    rpt_flex *x = &m->flex[n];
    int64_t *ints[] = {&x->slot, &x->soc_ppm, &x->charged, &x->discharged};
    for (size_t i = 0; i < 4 && rc == PG_OK; i++) rc = pg_csv_table_i64(&c, i, ints[i], d);
    if (rc == PG_OK && x->slot != m->slots[n].slot)
      rc = pg_csv_table_fail(&c, 0, PG_ERR_INVALID, "is not the slot of slots.csv's row", d);
    if (rc != PG_OK) break;
    n++;
  }
  pg_csv_table_free(&c);
  if (rc < 0) return rc;
  if (n != m->nslots)
    return pg_fail(d, PG_ERR_INVALID, "flex_slots.csv: %zu rows for %zu slots", n, m->nslots);
  return PG_OK;
}

int rpt_model_load(rpt_model *m, const pg_sim_report_files *f, pg_diag *d) {
  memset(m, 0, sizeof *m);
  int rc;
  if ((rc = load_summary(m, f->summary, f->summary_len, d)) != PG_OK) return rc;
  if ((rc = load_slots(m, f->slots, f->slots_len, d)) != PG_OK) return rc;
  if ((rc = load_parts(m, f->participants, f->participants_len, d)) != PG_OK) return rc;
  if ((rc = load_transfers(m, f->transfers, f->transfers_len, d)) != PG_OK) return rc;
  if ((rc = load_flex(m, f->flex_slots, f->flex_slots_len, d)) != PG_OK) return rc;
  make_buckets(m);
  m->bucket_of = malloc(m->nslots * sizeof *m->bucket_of);
  if (!m->bucket_of) return oom(d, "slots.csv");
  for (size_t i = 0; i < m->nslots; i++) m->bucket_of[i] = i / m->bucket_len;
  return load_balances(m, f->balances, f->balances_len, d);
}
