/* Simulation report: renders the page (HTML + inline SVG) and writes it
 * atomically. Loading is in report_load.c, the CSV reader in report_csv.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/timelabel.h"
#include "p2pgrid/profile/profile.h"
#include "p2pgrid/sim/report.h"
#include "report_model.h"

/* ---- output helpers */

static void out(pg_buf *o, const char *s) { pg_buf_puts(o, s); }

static void esc(pg_buf *o, const char *s) { pg_buf_html(o, s, 0); }

/* Number with thousands separators and `dec` decimals. */
static void fmt_num(char *b, size_t cap, double v, int dec) {
  char raw[64];
  if (!isfinite(v)) {
    snprintf(b, cap, "\xE2\x80\x94");
    return;
  }
  snprintf(raw, sizeof raw, "%.*f", dec, fabs(v));
  if (strcmp(raw, "0") == 0 || atof(raw) == 0) v = 0;
  const char *dot = strchr(raw, '.');
  size_t ilen = dot ? (size_t)(dot - raw) : strlen(raw);
  size_t k = 0;
  if (v < 0 && k + 1 < cap) b[k++] = '-';
  for (size_t i = 0; i < ilen && k + 2 < cap; i++) {
    b[k++] = raw[i];
    size_t left = ilen - i - 1;
    if (left && left % 3 == 0) b[k++] = ',';
  }
  for (const char *p = dot; p && *p && k + 1 < cap; p++) b[k++] = *p;
  b[k < cap ? k : cap - 1] = 0;
}

static void out_num(pg_buf *o, double v, int dec) {
  char b[80];
  fmt_num(b, sizeof b, v, dec);
  out(o, b);
}

/* ---- time */

typedef struct civil {
  int y, m, d, hh, mm;
} civil;

static civil civil_of(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rem = ms - days * 86400000;
  /* Howard Hinnant's civil_from_days */
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  civil c;
  c.d = (int)(doy - (153 * mp + 2) / 5 + 1);
  c.m = (int)(mp < 10 ? mp + 3 : mp - 9);
  c.y = (int)(yoe + era * 400 + (c.m <= 2));
  c.hh = (int)(rem / 3600000);
  c.mm = (int)(rem / 60000 % 60);
  return c;
}

/* The civil time of t in the run's time zone. */
static civil local_of(const rpt_model *m, int64_t t) {
  return civil_of(t + (int64_t)pg_tz_offset_s(m->tz, t) * 1000);
}

/* A local time label, "2025-06-21 14:15". */
static void out_time(pg_buf *o, const rpt_model *m, int64_t t) {
  char b[PG_TIME_LABEL_MAX];
  (void)pg_time_label(t, m->tz, b, sizeof b);
  out(o, b);
}

/* An amount in the run's currency, "1,234.57 EUR" (letters and digits only). */
static void out_money(pg_buf *o, const rpt_model *m, int64_t v) {
  char b[PG_MONEY_FMT_MAX];
  (void)pg_money_format(&m->money, v, b, sizeof b);
  out(o, b);
}

/* Base units in currency units, for chart geometry only (display). */
static double cur(const rpt_model *m, double units) {
  return units / (double)m->money.units_per_currency;
}

/* How a set of quantities reads: in the display unit with one decimal (kWh,
 * m³), or in the base unit without decimals (L) when the largest is below one
 * display unit ("350 L", not "0.4 m³"). Electricity always reads kWh, as the
 * report did before any other resource. */
typedef struct qunit {
  double div;       /* base units per shown unit */
  const char *unit; /* its name */
  int dec;          /* decimals */
} qunit;

static qunit qty_unit(const rpt_model *m, double max_base) {
  const pg_resource *r = &m->res;
  if (!pg_resource_is_electricity(r) && r->display_factor > 1 &&
      fabs(max_base) < (double)r->display_factor)
    return (qunit){1, r->unit, 0};
  return (qunit){(double)r->display_factor, r->display_unit, 1};
}

/* What the run meters, in running text: "energy" for electricity, else the
 * resource's name ("water"); cap: with a capital letter. */
static void out_noun(pg_buf *o, const rpt_model *m, bool cap) {
  const char *n = pg_resource_is_electricity(&m->res) ? "energy" : m->res.name;
  if (cap && n[0] >= 'a' && n[0] <= 'z') pg_buf_put_u8(o, (uint8_t)(n[0] - 'a' + 'A')), n++;
  esc(o, n);
}

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---- charts */

#define CW 720.0
#define CL 78.0
#define CR 706.0
#define CT 16.0

typedef struct chart {
  pg_buf *o;
  double x0, x1, y0, y1; /* data ranges */
  double l, r, t, b;     /* plot area */
} chart;

static double px(const chart *c, double x) {
  return c->l + (x - c->x0) / (c->x1 - c->x0) * (c->r - c->l);
}
static double py(const chart *c, double y) {
  return c->b - (y - c->y0) / (c->y1 - c->y0) * (c->b - c->t);
}

static double nice_step(double range, int n) {
  if (!(range > 0)) return 1;
  double raw = range / n, p = pow(10, floor(log10(raw))), f = raw / p;
  double s = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return s * p;
}

/* Sets y0, y1 to nice bounds around [lo, hi]; returns the tick step. */
static double nice_range(chart *c, double lo, double hi) {
  if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) {
    double pad = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  double step = nice_step(hi - lo, 5);
  c->y0 = floor(lo / step + 1e-9) * step;
  c->y1 = ceil(hi / step - 1e-9) * step;
  if (c->y1 <= c->y0) c->y1 = c->y0 + step;
  if (!(c->y1 > c->y0)) { /* a tiny range far from zero: beyond double's precision */
    c->y0 = lo - fabs(lo) * 0.01 - 1;
    c->y1 = hi + fabs(hi) * 0.01 + 1;
    step = (c->y1 - c->y0) / 4;
  }
  return step;
}

/* Number of tick steps from lo to hi (bounded: far-off values with a small
 * step would otherwise never advance). */
static int ticks_between(double lo, double hi, double step) {
  double n = floor((hi - lo) / step + 1e-6);
  return !(n >= 0) ? 0 : n > 20 ? 20 : (int)n;
}

/* Tick label: SI suffix above 10,000. */
static void fmt_tick(char *b, size_t cap, double v, double step, double scale) {
  static const char *suf[] = {"", "k", "M", "G", "T"};
  int k = 0;
  while (k < 4 && scale >= 1000) scale /= 1000, v /= 1000, step /= 1000, k++;
  int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  if (dec > 4) dec = 4;
  if (fabs(v) < step * 1e-6) {
    snprintf(b, cap, "0");
    return;
  }
  fmt_num(b, cap, v, dec);
  size_t n = strlen(b);
  snprintf(b + n, cap - n, "%s", suf[k]);
}

static void chart_open(chart *c, pg_buf *o, const char *name, const char *title, double h) {
  c->o = o;
  c->l = CL;
  c->r = CR;
  c->t = CT;
  c->b = h - 50;
  pg_buf_printf(o,
       "<svg class=\"chart\" data-chart=\"%s\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" "
       "role=\"img\" aria-label=\"",
       name, CW, h);
  esc(o, title);
  out(o, "\" xmlns=\"http://www.w3.org/2000/svg\"><title>");
  esc(o, title);
  out(o, "</title>");
}

static void y_axis(chart *c, double step, const char *label) {
  pg_buf *o = c->o;
  double scale = fmax(fabs(c->y0), fabs(c->y1));
  out(o, "<g class=\"grid\">");
  int nt = ticks_between(c->y0, c->y1, step);
  for (int i = 0; i <= nt; i++) {
    double v = c->y0 + i * step;
    char b[64];
    fmt_tick(b, sizeof b, v, step, scale);
    double y = py(c, v);
    pg_buf_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"%s/>", c->l, c->r, y, y,
         fabs(v) < step * 1e-6 ? " class=\"zero\"" : "");
    pg_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"yt\">%s</text>", c->l - 6, y + 4, b);
  }
  out(o, "</g>");
  pg_buf_printf(o,
       "<text class=\"at\" transform=\"translate(16 %.1f) rotate(-90)\" "
       "text-anchor=\"middle\">",
       (c->t + c->b) / 2);
  esc(o, label);
  out(o, "</text>");
}

/* X axis over buckets 0..n-1 (x from -0.5 to n-0.5), labelled with times. */
static void time_axis(chart *c, const rpt_model *m) {
  pg_buf *o = c->o;
  size_t n = m->nbuckets;
  int64_t t0 = m->slots[0].t, t1 = m->slots[m->nslots - 1].t;
  bool hours = t1 - t0 <= 2 * 86400000LL;
  size_t ticks = n < 6 ? n : 6;
  pg_buf_printf(o, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", c->l, c->r,
       c->b, c->b);
  for (size_t i = 0; i < ticks; i++) {
    size_t b = ticks > 1 ? i * (n - 1) / (ticks - 1) : 0;
    double x = px(c, (double)b - 0.5);
    civil cv = local_of(m, m->slots[b * m->bucket_len].t);
    pg_buf_printf(o, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x, x,
         c->b, c->b + 5);
    const char *anchor = x > c->r - 40 ? " style=\"text-anchor:end\"" : "";
    if (hours)
      pg_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"xt\"%s>%02d:%02d</text>", x, c->b + 20,
           anchor, cv.hh, cv.mm);
    else
      pg_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"xt\"%s>%d %s</text>", x, c->b + 20,
           anchor, cv.d, month_names[cv.m - 1]);
  }
  civil a = local_of(m, t0), z = local_of(m, t1);
  pg_buf_printf(o, "<text class=\"at\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time (",
       (c->l + c->r) / 2, c->b + 42);
  esc(o, m->tz_name);
  if (a.y == z.y && a.m == z.m && a.d == z.d)
    pg_buf_printf(o, "), %d %s %d", a.d, month_names[a.m - 1], a.y);
  else
    pg_buf_printf(o, "), %d %s %d \xE2\x80\x93 %d %s %d", a.d, month_names[a.m - 1], a.y, z.d,
         month_names[z.m - 1], z.y);
  out(o, "</text>");
}

/* A step line through v[0..n) (bucket i spans x in [i-0.5, i+0.5]), broken
 * at NaN. */
static void step_line(chart *c, const double *v, size_t n, const char *cls, const char *color,
                      const char *dash) {
  pg_buf *o = c->o;
  pg_buf_printf(o, "<path class=\"%s\" fill=\"none\" stroke=\"%s\"%s%s%s d=\"", cls, color,
       dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
  bool pen = false;
  for (size_t i = 0; i < n; i++) {
    if (isnan(v[i])) {
      pen = false;
      continue;
    }
    double y = py(c, v[i]);
    if (pen)
      pg_buf_printf(o, "V%.1fH%.1f", y, px(c, (double)i + 0.5));
    else
      pg_buf_printf(o, "M%.1f %.1fH%.1f", px(c, (double)i - 0.5), y, px(c, (double)i + 0.5));
    pen = true;
  }
  out(o, "\"/>");
}

/* Area between lower lo[] (NULL = 0) and upper hi[] as steps. */
static void step_area(chart *c, const double *lo, const double *hi, size_t n, const char *color,
                      double opacity) {
  pg_buf *o = c->o;
  pg_buf_printf(o, "<path class=\"area\" fill=\"%s\" fill-opacity=\"%.2f\" stroke=\"none\" d=\"", color,
       opacity);
  for (size_t i = 0; i < n; i++) {
    double y = py(c, hi[i]);
    pg_buf_printf(o, "%s%.1f %.1fL%.1f %.1f", i ? "L" : "M", px(c, (double)i - 0.5), y,
         px(c, (double)i + 0.5), y);
  }
  for (size_t i = n; i-- > 0;) {
    double y = py(c, lo ? lo[i] : 0);
    pg_buf_printf(o, "L%.1f %.1fL%.1f %.1f", px(c, (double)i + 0.5), y, px(c, (double)i - 0.5), y);
  }
  out(o, "Z\"/>");
}

static void chart_close(chart *c) {
  pg_buf_printf(c->o, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
       c->l, c->t, c->r - c->l, c->b - c->t);
  out(c->o, "</svg>");
}

typedef struct legend_item {
  const char *color, *label;
  int style; /* 0 line, 1 area, 2 dashed line */
} legend_item;

static void legend(pg_buf *o, const legend_item *it, size_t n) {
  out(o, "<ul class=\"legend\">");
  for (size_t i = 0; i < n; i++) {
    pg_buf_printf(o, "<li><span class=\"sw%s\" style=\"--c:%s\"></span>",
         it[i].style == 1 ? " a" : it[i].style == 2 ? " d" : "", it[i].color);
    esc(o, it[i].label);
    out(o, "</li>");
  }
  out(o, "</ul>");
}

typedef struct series {
  double *gen, *con, *com, *imp, *exp, *nexp, *stack, *buy, *sell;
  qunit q; /* of the quantities (gen ... stack) */
} series;

/* Bucket unit text for quantity axes ("kWh per slot"). */
static void energy_unit(const rpt_model *m, const series *s, char *b, size_t cap) {
  const char *u = s->q.unit;
  if (m->bucket_kind == RPT_BUCKET_SLOT)
    snprintf(b, cap, "%s per slot", u);
  else if (m->bucket_kind == RPT_BUCKET_DAYS && m->bucket_days == 1)
    snprintf(b, cap, "%s per day", u);
  else if (m->bucket_kind == RPT_BUCKET_DAYS)
    snprintf(b, cap, "%s per %zu days", u, m->bucket_days);
  else
    snprintf(b, cap, "%s per %zu slots", u, m->bucket_len);
}

static void series_free(series *s) {
  free(s->gen);
  free(s->con);
  free(s->com);
  free(s->imp);
  free(s->exp);
  free(s->nexp);
  free(s->stack);
  free(s->buy);
  free(s->sell);
}

static int series_make(const rpt_model *m, series *s) {
  size_t n = m->nbuckets;
  double **all[] = {&s->gen, &s->con, &s->com, &s->imp, &s->exp,
                    &s->nexp, &s->stack, &s->buy, &s->sell};
  for (size_t i = 0; i < 9; i++)
    if (!(*all[i] = calloc(n, sizeof(double)))) return PG_ERR_NOMEM;
  size_t *nb = calloc(n, sizeof *nb), *ns = calloc(n, sizeof *ns);
  if (!nb || !ns) {
    free(nb);
    free(ns);
    return PG_ERR_NOMEM;
  }
  /* the largest bucket picks the unit; then the sums in it (slot by slot) */
  for (size_t i = 0; i < m->nslots; i++) {
    const rpt_slot *sl = &m->slots[i];
    size_t b = m->bucket_of[i];
    s->gen[b] += (double)sl->supply, s->con[b] += (double)sl->demand;
    s->stack[b] += (double)(sl->community + sl->imp), s->exp[b] += (double)sl->exp;
  }
  double hi = 0;
  for (size_t b = 0; b < n; b++)
    hi = fmax(hi, fmax(fmax(fabs(s->gen[b]), fabs(s->con[b])),
                       fmax(fabs(s->stack[b]), fabs(s->exp[b]))));
  s->q = qty_unit(m, hi);
  for (size_t b = 0; b < n; b++) s->gen[b] = s->con[b] = s->stack[b] = s->exp[b] = 0;
  for (size_t i = 0; i < m->nslots; i++) {
    const rpt_slot *sl = &m->slots[i];
    size_t b = m->bucket_of[i];
    s->gen[b] += sl->supply / s->q.div;
    s->con[b] += sl->demand / s->q.div;
    s->com[b] += sl->community / s->q.div;
    s->imp[b] += sl->imp / s->q.div;
    s->exp[b] += sl->exp / s->q.div;
    if (!isnan(sl->buy)) s->buy[b] += cur(m, sl->buy), nb[b]++;
    if (!isnan(sl->sell)) s->sell[b] += cur(m, sl->sell), ns[b]++;
  }
  for (size_t b = 0; b < n; b++) {
    s->buy[b] = nb[b] ? s->buy[b] / nb[b] : NAN;
    s->sell[b] = ns[b] ? s->sell[b] / ns[b] : NAN;
    s->nexp[b] = -s->exp[b];
    s->stack[b] = s->com[b] + s->imp[b];
  }
  free(nb);
  free(ns);
  return PG_OK;
}

static void minmax(const double *v, size_t n, double *lo, double *hi) {
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i])) {
      if (v[i] < *lo) *lo = v[i];
      if (v[i] > *hi) *hi = v[i];
    }
}

#define C_GEN "#e69f00"
#define C_CON "#0072b2"
#define C_COM "#009e73"
#define C_IMP "#d55e00"
#define C_EXP "#56b4e9"
#define C_BUY "#cc79a7"
#define C_SELL "#009e73"

static void chart_gen_con(pg_buf *o, const rpt_model *m, const series *s) {
  chart c;
  size_t n = m->nbuckets;
  char unit[48];
  energy_unit(m, s, unit, sizeof unit);
  chart_open(&c, o, "generation-consumption", "Generation and consumption", 320);
  c.x0 = -0.5;
  c.x1 = (double)n - 0.5;
  double lo = 0, hi = 0;
  minmax(s->gen, n, &lo, &hi);
  minmax(s->con, n, &lo, &hi);
  double step = nice_range(&c, lo, hi);
  y_axis(&c, step, unit);
  time_axis(&c, m);
  step_area(&c, NULL, s->gen, n, C_GEN, 0.18);
  step_line(&c, s->gen, n, "line", C_GEN, NULL);
  step_line(&c, s->con, n, "line", C_CON, NULL);
  chart_close(&c);
  legend_item it[] = {{C_GEN, "Generation (producers and sources)", 0},
                      {C_CON, "Consumption", 0}};
  legend(o, it, 2);
}

static void chart_com_util(pg_buf *o, const rpt_model *m, const series *s) {
  chart c;
  size_t n = m->nbuckets;
  char unit[48], title[64];
  energy_unit(m, s, unit, sizeof unit);
  snprintf(title, sizeof title, "Community and utility %s",
           pg_resource_is_electricity(&m->res) ? "energy" : m->res.name);
  chart_open(&c, o, "community-utility", title, 320);
  c.x0 = -0.5;
  c.x1 = (double)n - 0.5;
  double lo = 0, hi = 0;
  minmax(s->stack, n, &lo, &hi);
  minmax(s->nexp, n, &lo, &hi);
  double step = nice_range(&c, lo, hi);
  y_axis(&c, step, unit);
  time_axis(&c, m);
  step_area(&c, NULL, s->com, n, C_COM, 0.85);
  step_area(&c, s->com, s->stack, n, C_IMP, 0.75);
  step_area(&c, NULL, s->nexp, n, C_EXP, 0.85);
  chart_close(&c);
  legend_item it[] = {{C_COM, "Community (traded locally)", 1},
                      {C_IMP, "Imported from the utility", 1},
                      {C_EXP, "Exported to the utility (below zero)", 1}};
  legend(o, it, 3);
}

static bool utility_price(const rpt_model *m, bool import, double *p) {
  if (rpt_sum_num(m, import ? "importPrice" : "exportPrice", p)) return true;
  if (rpt_sum_num(m, import ? "market.importPrice" : "market.exportPrice", p)) return true;
  double money, wh;
  if (rpt_sum_num(m, import ? "money.importCost" : "money.exportIncome", &money) &&
      rpt_sum_num(m, import ? "energy.importedWh" : "energy.exportedWh", &wh) && wh > 0) {
    *p = money / (wh / 1000.0);
    return isfinite(*p);
  }
  return false;
}

static void chart_price(pg_buf *o, const rpt_model *m, const series *s) {
  chart c;
  size_t n = m->nbuckets;
  chart_open(&c, o, "clearing-price", "Community clearing price", 320);
  c.x0 = -0.5;
  c.x1 = (double)n - 0.5;
  double lo = INFINITY, hi = -INFINITY, pi = NAN, pe = NAN;
  minmax(s->buy, n, &lo, &hi);
  minmax(s->sell, n, &lo, &hi);
  bool has_i = utility_price(m, true, &pi), has_e = utility_price(m, false, &pe);
  pi = cur(m, pi), pe = cur(m, pe);
  if (has_i) lo = fmin(lo, pi), hi = fmax(hi, pi);
  if (has_e) lo = fmin(lo, pe), hi = fmax(hi, pe);
  if (lo > 0 && isfinite(lo)) lo = 0;
  double step = nice_range(&c, lo, hi);
  char unit[48];
  snprintf(unit, sizeof unit, "%s per %s", m->money.currency, m->res.price_unit);
  y_axis(&c, step, unit);
  time_axis(&c, m);
  legend_item it[4];
  size_t k = 0;
  if (has_i) {
    double y = py(&c, pi);
    pg_buf_printf(o,
         "<line class=\"ref\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
         "stroke-dasharray=\"6 4\"/>",
         c.l, c.r, y, y, C_IMP);
    it[k++] = (legend_item){C_IMP, "Utility import price", 2};
  }
  if (has_e) {
    double y = py(&c, pe);
    pg_buf_printf(o,
         "<line class=\"ref\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
         "stroke-dasharray=\"2 4\"/>",
         c.l, c.r, y, y, C_EXP);
    it[k++] = (legend_item){C_EXP, "Utility export price", 2};
  }
  step_line(&c, s->sell, n, "line wide", C_SELL, NULL);
  step_line(&c, s->buy, n, "line", C_BUY, "5 2");
  bool any = false;
  for (size_t i = 0; i < n && !any; i++) any = !isnan(s->buy[i]) || !isnan(s->sell[i]);
  if (!any)
    pg_buf_printf(o, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no community "
            "price in this run</text>",
         (c.l + c.r) / 2, (c.t + c.b) / 2);
  chart_close(&c);
  it[k++] = (legend_item){C_SELL, "Community sell price (producers)", 0};
  it[k++] = (legend_item){C_BUY, "Community buy price (consumers)", 2};
  legend(o, it, k);
  if (m->bucket_kind != RPT_BUCKET_SLOT)
    out(o, "<p class=\"cap\">Prices are averaged over the slots of each bucket that had a "
           "community price; gaps mean none had one.</p>");
  else
    out(o, "<p class=\"cap\">Gaps: slots without a community price.</p>");
}

/* Grouped horizontal bars: amount vs baseline per participant. */
static void chart_bills(pg_buf *o, const rpt_model *m) {
  size_t idx[RPT_MAX_BARS];
  size_t nsel = 0, ncons = 0;
  for (int prod = 0; prod < 2; prod++)
    for (size_t i = 0; i < m->nparts && nsel < RPT_MAX_BARS; i++)
      if (m->parts[i].producer == (prod == 1)) {
        idx[nsel++] = i;
        if (!prod) ncons++;
      }
  const double row = 30, gap = 22;
  size_t nsections = (ncons > 0) + (nsel > ncons);
  double h = CT + (double)nsel * row + (double)nsections * gap + 50;
  if (h < 140) h = 140;
  chart c;
  chart_open(&c, o, "bills", "Bills and savings against the baseline", h);
  c.l = 170;
  c.r = CW - 72;
  double lo = 0, hi = 0;
  for (size_t k = 0; k < nsel; k++) {
    const rpt_part *p = &m->parts[idx[k]];
    lo = fmin(lo, fmin(cur(m, (double)p->amount), cur(m, (double)p->baseline)));
    hi = fmax(hi, fmax(cur(m, (double)p->amount), cur(m, (double)p->baseline)));
  }
  /* x is the value axis here: reuse y helpers by swapping via a second chart */
  chart v = c;
  double step = nice_range(&v, lo, hi);
  c.x0 = v.y0;
  c.x1 = v.y1;
  double scale = fmax(fabs(c.x0), fabs(c.x1));
  out(o, "<g class=\"grid\">");
  int nt = ticks_between(c.x0, c.x1, step);
  for (int i = 0; i <= nt; i++) {
    double x = c.x0 + i * step;
    char b[64];
    fmt_tick(b, sizeof b, x, step, scale);
    double X = px(&c, x);
    pg_buf_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"%s/>", X, X, c.t, c.b,
         fabs(x) < step * 1e-6 ? " class=\"zero\"" : "");
    pg_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"xt\">%s</text>", X, c.b + 20, b);
  }
  out(o, "</g>");
  pg_buf_printf(o, "<text class=\"at\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s (consumers: "
          "bill; producers: revenue)</text>",
       (c.l + c.r) / 2, c.b + 42, m->money.currency);
  double y = c.t, x0 = px(&c, 0);
  for (size_t k = 0; k < nsel; k++) {
    if (k == 0 || k == ncons) {
      pg_buf_printf(o, "<text class=\"sec\" x=\"8\" y=\"%.1f\">%s</text>", y + 15,
           k < ncons ? "Consumers" : "Producers");
      y += gap;
    }
    const rpt_part *p = &m->parts[idx[k]];
    out(o, "<g class=\"bar\">");
    pg_buf_printf(o, "<text class=\"yt\" x=\"%.1f\" y=\"%.1f\">", c.l - 6, y + 17);
    pg_buf_html(o, p->name[0] ? p->name : p->id, 22);
    out(o, "</text>");
    double xa = px(&c, cur(m, (double)p->amount)), xb = px(&c, cur(m, (double)p->baseline));
    pg_buf_printf(o,
         "<rect class=\"amt\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"11\" fill=\"%s\">"
         "<title>",
         fmin(x0, xa), y + 3, fmax(fabs(xa - x0), 1), p->producer ? C_GEN : C_CON);
    esc(o, p->name);
    pg_buf_printf(o, ": %s ", p->producer ? "revenue" : "bill");
    out_money(o, m, p->amount);
    pg_buf_printf(o, " (%" PRId64 " i)</title></rect>", p->amount);
    pg_buf_printf(o,
         "<rect class=\"base\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"11\" fill=\"#999\">"
         "<title>baseline ",
         fmin(x0, xb), y + 15, fmax(fabs(xb - x0), 1));
    out_money(o, m, p->baseline);
    pg_buf_printf(o, " (%" PRId64 " i)</title></rect>", p->baseline);
    pg_buf_printf(o, "<text class=\"sv\" x=\"%.1f\" y=\"%.1f\">%s", fmax(xa, xb) + 4, y + 17,
         p->savings > 0 ? "+" : "");
    out_money(o, m, p->savings);
    out(o, "</text>");
    out(o, "</g>");
    y += row;
  }
  if (nsel == 0)
    pg_buf_printf(o, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
            "participants</text>",
         (c.l + c.r) / 2, (c.t + c.b) / 2);
  chart_close(&c);
  legend_item it[] = {{C_CON, "Consumer bill", 1},
                      {C_GEN, "Producer revenue", 1},
                      {"#999", "Baseline (utility only)", 1}};
  legend(o, it, 3);
  out(o, "<p class=\"cap\">The amount after the bars is the saving against the baseline.");
  if (m->nparts > nsel) pg_buf_printf(o, " Showing %zu of %zu participants.", nsel, m->nparts);
  out(o, "</p>");
}

static const char *const palette[10] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00",
                                        "#56b4e9", "#8c6d31", "#7f7f7f", "#6a3d9a", "#b2182b"};

static const char *bal_label(const rpt_model *m, const char *id) {
  for (size_t i = 0; i < m->nparts; i++)
    if (strcmp(m->parts[i].id, id) == 0 && m->parts[i].name[0]) return m->parts[i].name;
  return id;
}

static void chart_balances(pg_buf *o, const rpt_model *m) {
  size_t n = m->nbuckets, nsel = 0;
  size_t sel[RPT_MAX_LINES];
  double span[RPT_MAX_LINES];
  /* the lines that move most */
  for (size_t i = 0; i < m->nbal; i++) {
    double lo = INFINITY, hi = -INFINITY;
    minmax(m->bal[i].v, n, &lo, &hi);
    double sp = isfinite(lo) ? hi - lo : -1;
    size_t k = nsel < RPT_MAX_LINES ? nsel++ : RPT_MAX_LINES;
    while (k > 0 && span[k - 1] < sp) {
      if (k < RPT_MAX_LINES) sel[k] = sel[k - 1], span[k] = span[k - 1];
      k--;
    }
    if (k < RPT_MAX_LINES) sel[k] = i, span[k] = sp;
  }
  chart c;
  chart_open(&c, o, "balances", "Balances over time", 340);
  c.x0 = -0.5;
  c.x1 = (double)n - 0.5;
  double lo = INFINITY, hi = -INFINITY;
  double *vs[RPT_MAX_LINES] = {0}; /* the selected lines in currency units */
  for (size_t k = 0; k < nsel; k++) {
    vs[k] = malloc(n * sizeof *vs[k]);
    if (!vs[k]) {
      o->err = o->err ? o->err : PG_ERR_NOMEM;
      for (size_t j = 0; j < k; j++) free(vs[j]);
      return;
    }
    for (size_t b = 0; b < n; b++) vs[k][b] = cur(m, m->bal[sel[k]].v[b]);
    minmax(vs[k], n, &lo, &hi);
  }
  if (!isfinite(lo)) lo = 0, hi = 1;
  double step = nice_range(&c, lo, hi);
  char unit[48];
  snprintf(unit, sizeof unit, "balance, %s", m->money.currency);
  y_axis(&c, step, unit);
  time_axis(&c, m);
  legend_item it[RPT_MAX_LINES];
  static const char *dashes[2] = {NULL, "6 3"};
  for (size_t k = 0; k < nsel; k++) {
    step_line(&c, vs[k], n, "line", palette[k % 10], dashes[k / 10 % 2]);
    free(vs[k]);
    it[k] = (legend_item){palette[k % 10], bal_label(m, m->bal[sel[k]].id), k >= 10 ? 2 : 0};
  }
  if (nsel == 0)
    pg_buf_printf(o, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no balances "
            "recorded</text>",
         (c.l + c.r) / 2, (c.t + c.b) / 2);
  chart_close(&c);
  legend(o, it, nsel);
  if (m->nbal > nsel)
    pg_buf_printf(o, "<p class=\"cap\">The %zu balances that moved most, of %zu.</p>", nsel, m->nbal);
}

/* ---- tables and page */

static const char css[] =
    ":root{--fg:#1d2430;--mut:#5b6573;--bg:#f6f7f9;--card:#fff;--ln:#e2e5ea}"
    "*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:var(--fg);background:var(--bg)}"
    "main{max-width:980px;margin:0 auto;padding:16px}"
    "header{padding:8px 0 4px}h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:0 0 "
    "8px}"
    ".facts{color:var(--mut);margin:0}"
    "section{background:var(--card);border:1px solid var(--ln);border-radius:10px;padding:16px;"
    "margin:16px 0}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;"
    "background:none;border:0;padding:0}"
    ".card{background:var(--card);border:1px solid var(--ln);border-radius:10px;padding:12px;"
    "min-width:0;overflow-wrap:anywhere}"
    ".card b{display:block;font-size:1.5em}.card span{color:var(--mut);font-size:.9em}"
    "table{border-collapse:collapse;width:100%;font-size:.92em}"
    "th,td{padding:5px 8px;border-bottom:1px solid var(--ln);text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".scroll{overflow-x:auto}"
    "svg.chart{display:block;width:100%;height:auto;font-size:14px;overflow:hidden}"
    "svg .grid line{stroke:#e6e8ec}svg .grid line.zero{stroke:#9aa3ad}"
    "svg .axis{stroke:#9aa3ad}svg .frame{fill:none;stroke:#c9ced6}"
    "svg text{fill:var(--mut)}svg .yt{text-anchor:end}svg .xt{text-anchor:middle}"
    "svg .at{fill:var(--fg)}svg .sec{fill:var(--fg);font-weight:600}"
    "svg .line{stroke-width:2;stroke-linejoin:round;stroke-linecap:round}"
    "svg .wide{stroke-width:4;stroke-opacity:.7}svg .ref{stroke-width:1.5}svg .sv{font-size:12px}svg .note{font-style:italic}"
    ".legend{list-style:none;padding:0;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;"
    "font-size:.9em}"
    ".sw{display:inline-block;width:18px;height:0;border-top:3px solid var(--c);"
    "vertical-align:middle;margin-right:6px}"
    ".sw.a{height:12px;border:0;background:var(--c)}.sw.d{border-top-style:dashed}"
    ".cap{color:var(--mut);font-size:.88em;margin:6px 0 0}"
    "footer{color:var(--mut);font-size:.85em;text-align:center;padding:8px}"
    "@media (max-width:600px){main{padding:8px}section{padding:10px;margin:10px 0}"
    "svg.chart{font-size:21px}svg.chart[data-chart=bills]{font-size:16px}svg .sv{font-size:15px}"
    "svg.chart .at{font-size:17px}"
    "h1{font-size:1.3em}.cards{grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:8px}"
    ".card b{font-size:1.25em}}";

static void row_num(pg_buf *o, const char *label, const char *unit, bool has, double v,
                    int dec) {
  out(o, "<tr><th>");
  esc(o, label);
  out(o, "</th><td class=\"n\">");
  if (has) out_num(o, v, dec);
  else out(o, "\xE2\x80\x94");
  out(o, "</td><td>"), esc(o, unit), out(o, "</td></tr>");
}

/* A row straight from summary.json, divided by div. */
static void row_sum(pg_buf *o, const rpt_model *m, const char *label, const char *unit,
                    const char *path, double div, int dec) {
  double v = 0;
  bool has = rpt_sum_num(m, path, &v);
  row_num(o, label, unit, has, v / div, dec);
}

/* Summary number, else a fallback computed from the CSV files. */
static bool sum_or(const rpt_model *m, const char *path, bool has_fb, double fb, double *v) {
  if (rpt_sum_num(m, path, v)) return true;
  *v = fb;
  return has_fb;
}

/* A money row: the amount in the currency (summary value, else fallback). */
static void row_money(pg_buf *o, const rpt_model *m, const char *label, const char *path,
                      bool has_fb, int64_t fb) {
  int64_t v = fb;
  bool has = (path && rpt_sum_int(m, path, &v)) || has_fb;
  out(o, "<tr><th>");
  esc(o, label);
  out(o, "</th><td class=\"n\">");
  if (has) out_money(o, m, v);
  else out(o, "\xE2\x80\x94");
  out(o, "</td><td></td></tr>");
}

static void card(pg_buf *o, const char *value, const char *label) {
  out(o, "<div class=\"card\"><b>");
  out(o, value);
  out(o, "</b><span>");
  out(o, label);
  out(o, "</span></div>");
}

static bool is_sharing(const char *mech) {
  return mech && (strcmp(mech, "static-key") == 0 || strcmp(mech, "dynamic-key") == 0 ||
                  strcmp(mech, "hierarchical") == 0);
}

/* Sharing mechanisms: per member, its meter's consumption split into the
 * energy allocated by the community, the residual from its supplier, and
 * (participation below 100 %) the part outside this community. */
static void chart_allocation(pg_buf *o, const rpt_model *m) {
  size_t idx[RPT_MAX_BARS], nsel = 0;
  double hi = 0;
  for (size_t i = 0; i < m->nparts && nsel < RPT_MAX_BARS; i++)
    if (!m->parts[i].producer) {
      idx[nsel++] = i;
      hi = fmax(hi, (double)(m->parts[i].energy + m->parts[i].outside));
    }
  qunit q = qty_unit(m, hi);
  hi /= q.div;
  const double row = 22;
  double h = CT + (double)nsel * row + 60;
  if (h < 140) h = 140;
  chart c;
  chart_open(&c, o, "allocation", "Allocation per member", h);
  c.l = 170;
  c.r = CW - 24;
  chart v = c;
  double step = nice_range(&v, 0, hi > 0 ? hi : 1);
  c.x0 = v.y0;
  c.x1 = v.y1;
  out(o, "<g class=\"grid\">");
  int nt = ticks_between(c.x0, c.x1, step);
  for (int i = 0; i <= nt; i++) {
    double x = c.x0 + i * step, X = px(&c, x);
    char b[64];
    fmt_tick(b, sizeof b, x, step, fmax(fabs(c.x0), fabs(c.x1)));
    pg_buf_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", X, X, c.t, c.b);
    pg_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"xt\">%s</text>", X, c.b + 20, b);
  }
  pg_buf_printf(o, "</g><text class=\"at\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
           (c.l + c.r) / 2, c.b + 42);
  esc(o, q.unit);
  out(o, " over the run</text>");
  double y = c.t + 4;
  for (size_t k = 0; k < nsel; k++, y += row) {
    const rpt_part *p = &m->parts[idx[k]];
    double seg[3] = {(double)p->community / q.div, (double)(p->energy - p->community) / q.div,
                     (double)p->outside / q.div};
    static const char *const col[3] = {C_COM, C_IMP, "#999"};
    static const char *const what[3] = {"allocated", "residual from the supplier",
                                        "outside this community"};
    pg_buf_printf(o, "<g class=\"bar\"><text class=\"yt\" x=\"%.1f\" y=\"%.1f\">", c.l - 6, y + 12);
    pg_buf_html(o, p->name[0] ? p->name : p->id, 22);
    out(o, "</text>");
    double x = 0;
    for (int j = 0; j < 3; j++) {
      if (seg[j] <= 0) continue;
      pg_buf_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\"><title>",
           px(&c, x), y + 1, fmax(px(&c, x + seg[j]) - px(&c, x), 0.5), col[j]);
      esc(o, p->name[0] ? p->name : p->id);
      pg_buf_printf(o, ": %.*f ", q.dec, seg[j]);
      esc(o, q.unit);
      pg_buf_printf(o, " %s</title></rect>", what[j]);
      x += seg[j];
    }
    out(o, "</g>");
  }
  chart_close(&c);
  legend_item it[] = {{C_COM, "Allocated by the community", 1},
                      {C_IMP, "Residual from the supplier", 1},
                      {"#999", "Outside this community (participation)", 1}};
  legend(o, it, 3);
  size_t ncons = 0;
  for (size_t i = 0; i < m->nparts; i++) ncons += !m->parts[i].producer;
  if (ncons > nsel)
    pg_buf_printf(o, "<p class=\"cap\">Showing the first %zu of %zu members.</p>", nsel, ncons);
}

/* A table header cell "<label>, <unit>" (numbers). */
static void th_unit(pg_buf *o, const char *label, const qunit *q) {
  out(o, "<th class=\"n\">"), esc(o, label), out(o, ", "), esc(o, q->unit), out(o, "</th>");
}

static void table_allocation(pg_buf *o, const rpt_model *m) {
  double hi = 0;
  for (size_t i = 0; i < m->nparts; i++)
    if (!m->parts[i].producer) hi = fmax(hi, (double)(m->parts[i].energy + m->parts[i].outside));
  qunit q = qty_unit(m, hi);
  out(o, "<div class=\"scroll\"><table><tr><th>Member</th>");
  th_unit(o, "Consumption", &q), th_unit(o, "In this community", &q);
  th_unit(o, "Allocated", &q), th_unit(o, "Residual", &q);
  out(o, "<th class=\"n\">Covered</th><th class=\"n\">Paid for allocated "), out_noun(o, m, false);
  out(o, "</th></tr>");
  for (size_t i = 0; i < m->nparts; i++) {
    const rpt_part *p = &m->parts[i];
    if (p->producer) continue;
    int64_t meter = p->energy + p->outside;
    out(o, "<tr><td>"), esc(o, p->name[0] ? p->name : p->id);
    out(o, "</td><td class=\"n\">"), out_num(o, (double)meter / q.div, q.dec);
    out(o, "</td><td class=\"n\">"), out_num(o, (double)p->energy / q.div, q.dec);
    out(o, "</td><td class=\"n\">"), out_num(o, (double)p->community / q.div, q.dec);
    out(o, "</td><td class=\"n\">"), out_num(o, (double)(meter - p->community) / q.div, q.dec);
    double cov = meter > 0 ? 100.0 * (double)p->community / (double)meter : 0.0;
    pg_buf_printf(o, "</td><td class=\"n\">%.1f %%", cov);
    out(o, "</td><td class=\"n\">"), out_money(o, m, p->amount);
    out(o, "</td></tr>");
  }
  out(o, "</table></div><p class=\"cap\">Residual = consumption minus allocated "), out_noun(o, m, false);
  out(o, ": what the member's own supplier delivers and bills (not part of these accounts).</p>");
}

/* The participants and transfers tables and the footer. */
static void tables(pg_buf *o, const rpt_model *m) {
  /* participants */
  double hi = 0;
  for (size_t i = 0; i < m->nparts; i++)
    hi = fmax(hi, fmax(fabs((double)m->parts[i].energy), fabs((double)m->parts[i].community)));
  qunit q = qty_unit(m, hi);
  pg_buf_printf(o, "<section><h2>Participants (%zu)</h2><div class=\"scroll\"><table><tr><th>Id</th>"
          "<th>Name</th><th>Role</th><th>Kind</th><th class=\"n\">", m->nparts);
  out_noun(o, m, true), out(o, ", "), esc(o, q.unit), out(o, "</th>");
  th_unit(o, "Community", &q);
  out(o, "<th class=\"n\">Amount</th><th class=\"n\">Baseline</th><th class=\"n\">Savings</th></tr>");
  for (size_t i = 0; i < m->nparts; i++) {
    const rpt_part *p = &m->parts[i];
    out(o, "<tr><td>"), esc(o, p->id), out(o, "</td><td>"), esc(o, p->name);
    pg_buf_printf(o, "</td><td>%s</td><td>", p->producer ? "producer" : "consumer");
    esc(o, p->kind);
    out(o, "</td><td class=\"n\">"), out_num(o, (double)p->energy / q.div, q.dec);
    out(o, "</td><td class=\"n\">"), out_num(o, (double)p->community / q.div, q.dec);
    out(o, "</td><td class=\"n\">"), out_money(o, m, p->amount);
    out(o, "</td><td class=\"n\">"), out_money(o, m, p->baseline);
    out(o, "</td><td class=\"n\">"), out_money(o, m, p->savings);
    out(o, "</td></tr>");
  }
  out(o, "</table></div></section>");

  /* transfers */
  out(o, "<section><h2>Transfers</h2>");
  if (m->ntransfers == 0) {
    out(o, "<p>No value transfers in this run.</p>");
  } else {
    out(o, "<div class=\"scroll\"><table><tr><th>Slot</th><th>Time</th>"
           "<th>From</th><th>To</th><th class=\"n\">Amount</th><th>Reference</th>"
           "<th>Message</th></tr>");
    for (size_t i = 0; i < m->ntransfers_kept; i++) {
      const rpt_transfer *t = &m->transfers[i];
      int64_t tt, k = t->slot - m->slots[0].slot; /* slots.csv: consecutive slots */
      out(o, "<tr><td>");
      if (k >= 0 && (uint64_t)k < m->nslots && m->slots[k].slot == t->slot)
        out_time(o, m, m->slots[k].t); /* the slot's start */
      else
        pg_buf_printf(o, "%" PRId64, t->slot);
      out(o, "</td><td>");
      if (pg_iso8601_parse_utc(t->s[0], strlen(t->s[0]), &tt) == PG_OK) out_time(o, m, tt);
      else esc(o, t->s[0]);
      out(o, "</td><td>"), esc(o, t->s[1]), out(o, "</td><td>");
      esc(o, t->s[2]), out(o, "</td><td class=\"n\">"), out_money(o, m, t->amount);
      out(o, "</td><td>"), esc(o, t->s[3]), out(o, "</td><td>"), pg_buf_html(o, t->s[4], 16);
      out(o, "</td></tr>");
    }
    out(o, "</table></div>");
    if (m->ntransfers > m->ntransfers_kept)
      pg_buf_printf(o, "<p class=\"cap\">The first %zu of %" PRIu64 " transfers.</p>", m->ntransfers_kept,
           m->ntransfers);
  }
  out(o, "</section><footer>Generated by p2pgrid from the run's CSV and JSON files. "
         "Times are local (");
  esc(o, m->tz_name);
  out(o, "); the CSV and JSON files keep slot numbers, UTC times and base units (i");
  if (!pg_resource_is_electricity(&m->res)) {
    out(o, "; quantities in "), esc(o, m->res.unit);
    out(o, ", also in the columns named *_wh");
  }
  out(o, ").</footer></main></body></html>\n");
}

/* ---- flexibility: summary.json "flexibility" and flex_slots.csv */

#define C_CHG "#009e73"
#define C_DIS "#d55e00"

/* One KPI with and without the assets; kind 0 ppm as %, 1 money, 2 Wh. */
static void flex_row(pg_buf *o, const rpt_model *m, const char *label, const char *key,
                     int kind) {
  out(o, "<tr><th>");
  esc(o, label);
  out(o, "</th>");
  for (int i = 0; i < 2; i++) {
    char path[96];
    snprintf(path, sizeof path, "flexibility.%s.%s", i ? "without" : "with", key);
    int64_t v = 0;
    out(o, "<td class=\"n\">");
    if (!rpt_sum_int(m, path, &v)) out(o, "\xE2\x80\x94");
    else if (kind == 0) out_num(o, (double)v / 10000.0, 1), out(o, " %");
    else if (kind == 1) out_money(o, m, v);
    else out_num(o, (double)v / 1000.0, 1), out(o, " kWh");
    out(o, "</td>");
  }
  out(o, "</tr>");
}

static void table_flex(pg_buf *o, const rpt_model *m) {
  out(o, "<div class=\"tw\"><table class=\"flex\"><tr><th></th><th>with assets</th>"
         "<th>without</th></tr>");
  flex_row(o, m, "Self-sufficiency", "selfSufficiencyPpm", 0);
  flex_row(o, m, "Self-consumption", "selfConsumptionPpm", 0);
  flex_row(o, m, "Community share", "communitySharePpm", 0);
  flex_row(o, m, "Members' savings", "savings", 1);
  flex_row(o, m, "Peak import (one slot)", "peakImportWh", 2);
  flex_row(o, m, "Rooftop PV", "pvWh", 2);
  flex_row(o, m, "Charged into batteries", "chargedWh", 2);
  flex_row(o, m, "Discharged from batteries", "dischargedWh", 2);
  flex_row(o, m, "EV charging", "evWh", 2);
  flex_row(o, m, "Heat pumps", "heatPumpWh", 2);
  out(o, "</table></div>");
}

/* The batteries' mean SoC and the energy they shifted, per bucket. */
static void chart_flex(pg_buf *o, const rpt_model *m) {
  size_t n = m->nbuckets;
  double *soc = calloc(n + 1, sizeof *soc), *ch = calloc(n + 1, sizeof *ch);
  double *dis = calloc(n + 1, sizeof *dis);
  size_t *cnt = calloc(n + 1, sizeof *cnt);
  if (!soc || !ch || !dis || !cnt) {
    o->err = o->err ? o->err : PG_ERR_NOMEM;
    free(soc), free(ch), free(dis), free(cnt);
    return;
  }
  double hi = 0;
  for (size_t i = 0; i < m->nslots; i++) {
    size_t b = m->bucket_of[i];
    soc[b] += (double)m->flex[i].soc_ppm / 10000.0, cnt[b]++;
    ch[b] += (double)m->flex[i].charged, dis[b] -= (double)m->flex[i].discharged;
  }
  for (size_t b = 0; b < n; b++) hi = fmax(hi, fmax(ch[b], -dis[b]));
  series q = {.q = qty_unit(m, hi)};
  for (size_t b = 0; b < n; b++)
    soc[b] = cnt[b] ? soc[b] / (double)cnt[b] : NAN, ch[b] /= q.q.div, dis[b] /= q.q.div;
  chart c;
  chart_open(&c, o, "state-of-charge", "Mean state of charge of the batteries", 260);
  c.x0 = -0.5, c.x1 = (double)n - 0.5;
  y_axis(&c, nice_range(&c, 0, 100), "%");
  time_axis(&c, m);
  step_line(&c, soc, n, "line", C_CHG, NULL);
  chart_close(&c);
  char unit[48];
  energy_unit(m, &q, unit, sizeof unit);
  chart_open(&c, o, "shifted-energy", "Energy shifted by the batteries", 300);
  c.x0 = -0.5, c.x1 = (double)n - 0.5;
  double lo = 0, top = 0;
  minmax(ch, n, &lo, &top);
  minmax(dis, n, &lo, &top);
  y_axis(&c, nice_range(&c, lo, top), unit);
  time_axis(&c, m);
  step_area(&c, NULL, ch, n, C_CHG, 0.8);
  step_area(&c, NULL, dis, n, C_DIS, 0.8);
  chart_close(&c);
  legend_item it[] = {{C_CHG, "Charged (from the surplus)", 1},
                      {C_DIS, "Discharged (below zero)", 1}};
  legend(o, it, 2);
  free(soc), free(ch), free(dis), free(cnt);
}

static void section_flex(pg_buf *o, const rpt_model *m) {
  if (!json_is_object(json_object_get(m->summary, "flexibility"))) return;
  out(o, "<section><h2>Flexibility: with and without the assets</h2>");
  table_flex(o, m);
  if (m->flex) chart_flex(o, m);
  out(o, "</section>");
}

/* The run's energy figures (the summary's, else the sums over the slots) and
 * the exact money sums over the slots, shared by the cards and the summary. */
typedef struct page_totals {
  double prod, cons, com, imp, exp;
  bool hprod, hcons, hcom, himp, hexp;
  int64_t mtot[9]; /* money: exact sums (indices 5..8) */
} page_totals;

static void page_totals_make(const rpt_model *m, page_totals *t) {
  double tot[5] = {0};
  memset(t, 0, sizeof *t);
  for (size_t i = 0; i < m->nslots; i++) {
    const rpt_slot *s = &m->slots[i];
    tot[0] += (double)s->supply, tot[1] += (double)s->demand, tot[2] += (double)s->community;
    tot[3] += (double)s->imp, tot[4] += (double)s->exp;
    t->mtot[5] += s->billed, t->mtot[6] += s->revenues, t->mtot[7] += s->fees,
        t->mtot[8] += s->grid;
  }
  t->hprod = sum_or(m, "energy.producedWh", true, tot[0], &t->prod);
  t->hcons = sum_or(m, "energy.consumedWh", true, tot[1], &t->cons);
  t->hcom = sum_or(m, "energy.communityWh", true, tot[2], &t->com);
  t->himp = sum_or(m, "energy.importedWh", true, tot[3], &t->imp);
  t->hexp = sum_or(m, "energy.exportedWh", true, tot[4], &t->exp);
}

/* The document head and the page header: title, mode, market, period, slots, participants. */
static void page_header(pg_buf *o, const rpt_model *m) {
  const char *scen = rpt_sum_str(m, "scenario"), *mode = rpt_sum_str(m, "mode");
  const char *start = rpt_sum_str(m, "start"), *end = rpt_sum_str(m, "end");
  out(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<title>p2pgrid simulation report");
  if (scen) out(o, ": "), esc(o, scen);
  out(o, "</title><style>");
  out(o, css);
  out(o, "</style></head><body><main><header><h1>Simulation report");
  if (scen) out(o, ": "), esc(o, scen);
  out(o, "</h1><p class=\"facts\">");
  const char *mech = rpt_sum_str(m, "mechanism");
  if (mode) out(o, "mode <b>"), esc(o, mode), out(o, "</b> \xC2\xB7 ");
  if (mech) out(o, "market <b>"), esc(o, mech), out(o, "</b> \xC2\xB7 ");
  int64_t ta = m->slots[0].t, tz = m->slots[m->nslots - 1].t;
  if (start && !(pg_iso8601_parse_utc(start, strlen(start), &ta) == PG_OK)) ta = m->slots[0].t;
  if (end && !(pg_iso8601_parse_utc(end, strlen(end), &tz) == PG_OK)) tz = m->slots[m->nslots - 1].t;
  out(o, "from "), out_time(o, m, ta), out(o, " to "), out_time(o, m, tz);
  out(o, " ("), esc(o, m->tz_name), out(o, ")");
  double v, sm;
  out(o, " \xC2\xB7 "), out_num(o, sum_or(m, "slots", true, (double)m->nslots, &v) ? v : 0, 0);
  out(o, " slots");
  if (rpt_sum_num(m, "slotMs", &sm) && sm > 0) pg_buf_printf(o, " of %g min", sm / 60000.0);
  double np, ns, nc;
  bool hp = rpt_sum_num(m, "participants.producers", &np),
       hs = rpt_sum_num(m, "participants.sources", &ns),
       hc = rpt_sum_num(m, "participants.consumers", &nc);
  if (hp || hs || hc) {
    out(o, " \xC2\xB7 ");
    if (hp) out_num(o, np, 0), out(o, " producers");
    if (hs) out(o, hp ? ", " : ""), out_num(o, ns, 0), out(o, " sources");
    if (hc) out(o, hp || hs ? ", " : ""), out_num(o, nc, 0), out(o, " consumers");
  }
  out(o, "</p></header>");
}

/* The key figures as cards: community energy, self-sufficiency, self-consumption, savings. */
static void page_cards(pg_buf *o, const rpt_model *m, const page_totals *t) {
  out(o, "<section class=\"cards\">");
  char b[96];
  qunit q = qty_unit(m, t->com);
  fmt_num(b, sizeof b, t->com / q.div, q.dec);
  snprintf(b + strlen(b), sizeof b - strlen(b), " %s", q.unit);
  card(o, b, "traded in the community");
  if (t->hcons && t->cons > 0) {
    snprintf(b, sizeof b, "%.1f %%", 100.0 * t->com / t->cons);
    card(o, b, "self-sufficiency (community / consumption)");
  }
  if (t->hprod && t->prod > 0) {
    snprintf(b, sizeof b, "%.1f %%", 100.0 * t->com / t->prod);
    card(o, b, "self-consumption (community / generation)");
  }
  int64_t csi;
  if (rpt_sum_int(m, "kpis.consumerSavings", &csi)) {
    (void)pg_money_format(&m->money, csi, b, sizeof b);
    card(o, b, "saved by consumers");
  }
  out(o, "</section>");
}

/* The summary table: energy, money, key figures, Tangle, run. */
static void page_summary(pg_buf *o, const rpt_model *m, const page_totals *t) {
  out(o, "<section><h2>Summary</h2><div class=\"scroll\"><table>");
  out(o, "<tr><th colspan=\"3\">"), out_noun(o, m, true), out(o, "</th></tr>");
  qunit q = qty_unit(m, fmax(fmax(fmax(fabs(t->prod), fabs(t->cons)),
                                  fmax(fabs(t->com), fabs(t->imp))),
                             fabs(t->exp)));
  row_num(o, "Produced", q.unit, t->hprod, t->prod / q.div, q.dec);
  row_num(o, "Consumed", q.unit, t->hcons, t->cons / q.div, q.dec);
  row_num(o, "Community", q.unit, t->hcom, t->com / q.div, q.dec);
  row_num(o, "Imported from the utility", q.unit, t->himp, t->imp / q.div, q.dec);
  row_num(o, "Exported to the utility", q.unit, t->hexp, t->exp / q.div, q.dec);
  out(o, "<tr><th colspan=\"3\">Money</th></tr>");
  static const struct {
    const char *path, *label;
    int fb;
  } money[] = {{"money.billed", "Billed to consumers", 5},
               {"money.paid", "Paid", -1},
               {"money.producerRevenues", "Producer revenues", 6},
               {"money.fees", "Fees", 7},
               {"money.gridIncome", "Grid operator income", 8},
               {"money.importCost", "Import cost", -1},
               {"money.exportIncome", "Export income", -1}};
  for (size_t i = 0; i < sizeof money / sizeof *money; i++)
    row_money(o, m, money[i].label, money[i].path, money[i].fb >= 0,
              money[i].fb >= 0 ? t->mtot[money[i].fb] : 0);
  out(o, "<tr><th colspan=\"3\">Key figures</th></tr>");
  row_money(o, m, "Consumer savings", "kpis.consumerSavings", false, 0);
  row_money(o, m, "Producer savings", "kpis.producerSavings", false, 0);
  row_sum(o, m, "Gini coefficient of savings", "0 = equal, 1 = unequal", "kpis.giniPpm", 1e6, 3);
  double tm, v;
  if (rpt_sum_num(m, "tangle.messages", &tm) || rpt_sum_num(m, "tangle.transfers", &v) ||
      rpt_sum_num(m, "tangle.milestones", &v)) {
    out(o, "<tr><th colspan=\"3\">Tangle</th></tr>");
    row_sum(o, m, "Messages", "", "tangle.messages", 1, 0);
    row_sum(o, m, "Value transfers", "", "tangle.transfers", 1, 0);
    row_sum(o, m, "Milestones", "", "tangle.milestones", 1, 0);
  }
  out(o, "<tr><th colspan=\"3\">Run</th></tr>");
  row_sum(o, m, "Wall time", "s", "wallMs", 1000, 2);
  row_num(o, "Transfers in transfers.csv", "", true, (double)m->ntransfers, 0);
  row_money(o, m, "Amount transferred", NULL, true, m->transfer_total);
  out(o, "</table></div></section>");
}

/* The chart sections over the slots. PG_ERR_NOMEM (also left in o->err) when
 * the series cannot be built; the page then stops there. */
static int page_charts(pg_buf *o, const rpt_model *m) {
  series s = {0};
  if (series_make(m, &s) != PG_OK) {
    o->err = o->err ? o->err : PG_ERR_NOMEM;
    series_free(&s);
    return PG_ERR_NOMEM;
  }
  out(o, "<section><h2>Generation and consumption</h2>");
  chart_gen_con(o, m, &s);
  out(o, "</section><section><h2>Community and utility "), out_noun(o, m, false), out(o, "</h2>");
  chart_com_util(o, m, &s);
  out(o, "</section><section><h2>Clearing price</h2>");
  chart_price(o, m, &s);
  if (is_sharing(rpt_sum_str(m, "mechanism"))) {
    out(o, "</section><section><h2>Allocation per member</h2>");
    chart_allocation(o, m);
    table_allocation(o, m);
  }
  out(o, "</section><section><h2>Bills and savings</h2>");
  chart_bills(o, m);
  out(o, "</section><section><h2>Balances</h2>");
  chart_balances(o, m);
  out(o, "</section>");
  series_free(&s);
  return PG_OK;
}

static void page(pg_buf *o, const rpt_model *m) {
  page_totals t;
  page_totals_make(m, &t);
  page_header(o, m);
  page_cards(o, m, &t);
  page_summary(o, m, &t);
  if (page_charts(o, m) != PG_OK) return;
  section_flex(o, m);
  tables(o, m);
}

int pg_sim_report_render(const pg_sim_report_files *files, pg_buf *o, pg_diag *d) {
  rpt_model m;
  int rc = rpt_model_load(&m, files, d);
  if (rc == PG_OK) {
    page(o, &m);
    rc = pg_buf_status(o);
    if (rc != PG_OK) pg_fail(d, rc, "report.html: %s", pg_strerror(rc));
  }
  rpt_model_free(&m);
  return rc;
}

/* ---- files */

static int read_opt(const char *dir, const char *name, bool required, uint8_t **data,
                    size_t *len, pg_diag *d) {
  char path[4096];
  *data = NULL;
  *len = 0;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return pg_fail(d, PG_ERR_INVALID, "%s: path too long", name);
  struct stat st;
  if (stat(path, &st) != 0 && errno == ENOENT) {
    if (required) return pg_fail(d, PG_ERR_NOT_FOUND, "%s: no such file", path);
    return PG_OK;
  }
  int rc = pg_read_file_capped(path, PG_SIM_REPORT_MAX_FILE, data, len, d);
  if (rc == PG_OK && !*data) {
    /* an empty file: give the parsers a valid pointer */
    *data = malloc(1);
    if (!*data) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", name);
  }
  return rc;
}

static int write_atomic(const char *dir, const uint8_t *data, size_t len, pg_diag *d) {
  char path[4096], tmp[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/report.html", dir) >= sizeof path ||
      (size_t)snprintf(tmp, sizeof tmp, "%s/.report.html.XXXXXX", dir) >= sizeof tmp)
    return pg_fail(d, PG_ERR_INVALID, "report.html: path too long");
  int fd = mkstemp(tmp);
  if (fd < 0) return pg_fail(d, PG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  size_t off = 0;
  int rc = PG_OK;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = pg_fail(d, PG_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
      break;
    }
    off += (size_t)n;
  }
  if (rc == PG_OK && fchmod(fd, 0644) != 0)
    rc = pg_fail(d, PG_ERR_IO, "%s: chmod failed: %s", tmp, strerror(errno));
  if (rc == PG_OK && fsync(fd) != 0)
    rc = pg_fail(d, PG_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
  if (close(fd) != 0 && rc == PG_OK)
    rc = pg_fail(d, PG_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
  if (rc == PG_OK && rename(tmp, path) != 0)
    rc = pg_fail(d, PG_ERR_IO, "%s: cannot rename to report.html: %s", tmp, strerror(errno));
  if (rc != PG_OK) unlink(tmp);
  return rc;
}

int pg_sim_report_write(const char *out_dir, pg_diag *d) {
  static const char *const names[6] = {"slots.csv",    "participants.csv", "transfers.csv",
                                       "balances.csv", "summary.json",     "flex_slots.csv"};
  static const bool required[6] = {true, true, false, false, true, false};
  uint8_t *data[6] = {0};
  size_t len[6] = {0};
  int rc = PG_OK;
  if (!out_dir) return pg_fail(d, PG_ERR_INVALID, "no output directory");
  for (int i = 0; i < 6 && rc == PG_OK; i++)
    rc = read_opt(out_dir, names[i], required[i], &data[i], &len[i], d);
  pg_buf o;
  pg_buf_init(&o, PG_SIM_REPORT_MAX_HTML);
  if (rc == PG_OK) {
    pg_sim_report_files f = {data[0], len[0], data[1], len[1], data[2], len[2],
                             data[3], len[3], data[4], len[4], data[5], len[5]};
    rc = pg_sim_report_render(&f, &o, d);
  }
  if (rc == PG_OK) rc = write_atomic(out_dir, o.data, o.len, d);
  pg_buf_free(&o);
  for (int i = 0; i < 6; i++) free(data[i]);
  return rc;
}
