/* fit_h25 — fits the household model's coefficients to the BDEW H25 table.
 * Not part of the library (pg_module globs only the .c files directly in src/profile). Build and
 * run by hand:
 *   cc -O2 -o /tmp/fit_h25 src/profile/fit/fit_h25.c -lm
 *   /tmp/fit_h25 ../shared/data/bdew/h25.csv S N > coefficients
 * Model per day type k (WT, SA, FT), in W per 1000 kWh/a before dynamisation:
 *   P_k(x, h) = sum_i sum_j c[k][i][j] S_i(x) F_j(h)
 * S: 1, cos(2 pi i x), sin(2 pi i x), i = 1..S, x = fraction of the year;
 * F: 1, cos(2 pi n h / 24), sin(2 pi n h / 24), n = 1..N, h = hour of day.
 * The table holds 12 months x 96 quarter hours of averages; the discrete
 * Fourier projection of those averages, divided by the sinc factors of the
 * averaging (1/12 year, 1/96 day), gives a continuous model whose month and
 * quarter-hour averages reproduce the projection exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double tab[12][3][96]; /* W per 1000 kWh/a */

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int S = atoi(argv[2]), N = atoi(argv[3]);
  FILE *f = fopen(argv[1], "r");
  if (!f) return 1;
  char line[4096];
  int col_type[36];
  if (!fgets(line, sizeof line, f) || !fgets(line, sizeof line, f)) return 1;
  {
    char *p = strchr(line, ',');
    for (int c = 0; c < 36; c++) {
      p++;
      col_type[c] = !strncmp(p, "WT", 2) ? 0 : !strncmp(p, "SA", 2) ? 1 : 2;
      p = strchr(p, ',');
      if (!p && c < 35) return 1;
    }
  }
  for (int q = 0; q < 96; q++) {
    if (!fgets(line, sizeof line, f)) return 1;
    char *p = strchr(line, ',');
    for (int c = 0; c < 36; c++) {
      double v = strtod(p + 1, &p);
      tab[c / 3][col_type[c]][q] = 4.0 * v;
    }
  }
  fclose(f);
  int ns = 2 * S + 1, nf = 2 * N + 1;
  printf("/* S=%d N=%d */\n", S, N);
  double tot_se = 0, tot_ss = 0, tot_mean = 0;
  for (int k = 0; k < 3; k++) {
    static double c[16][64];
    for (int i = 0; i < ns; i++)
      for (int j = 0; j < nf; j++) {
        int hi = (i + 1) / 2, hj = (j + 1) / 2;
        double acc = 0, ns2 = 0, nf2 = 0;
        for (int m = 0; m < 12; m++) {
          double x = (m + 0.5) / 12.0;
          double s = i == 0 ? 1 : (i & 1) ? cos(2 * M_PI * hi * x) : sin(2 * M_PI * hi * x);
          ns2 += s * s;
          for (int q = 0; q < 96; q++) {
            double h = (q + 0.5) / 4.0;
            double fv = j == 0 ? 1 : (j & 1) ? cos(2 * M_PI * hj * h / 24) : sin(2 * M_PI * hj * h / 24);
            if (m == 0) nf2 += fv * fv;
            acc += tab[m][k][q] * s * fv;
          }
        }
        double v = acc / (ns2 * nf2);
        if (hi) v /= sin(M_PI * hi / 12) / (M_PI * hi / 12);
        if (hj) v /= sin(M_PI * hj / 96) / (M_PI * hj / 96);
        c[i][j] = v;
      }
    /* quality: model's month/qh averages vs the table (average over the cell
     * by fine numeric integration) */
    double se = 0, mean = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (int m = 0; m < 12; m++)
      for (int q = 0; q < 96; q++) {
        double acc = 0;
        int n = 0;
        for (int a = 0; a < 8; a++)
          for (int b = 0; b < 8; b++) {
            double x = (m + (a + 0.5) / 8) / 12.0, h = (q + (b + 0.5) / 8) / 4.0;
            double v = 0;
            for (int i = 0; i < ns; i++) {
              int hi = (i + 1) / 2;
              double s = i == 0 ? 1 : (i & 1) ? cos(2 * M_PI * hi * x) : sin(2 * M_PI * hi * x);
              for (int j = 0; j < nf; j++) {
                int hj = (j + 1) / 2;
                double fv = j == 0 ? 1 : (j & 1) ? cos(2 * M_PI * hj * h / 24) : sin(2 * M_PI * hj * h / 24);
                v += c[i][j] * s * fv;
              }
            }
            acc += v;
            n++;
          }
        double y = acc / n, t = tab[m][k][q];
        se += (y - t) * (y - t);
        mean += t;
        sx += t; sy += y; sxx += t * t; syy += y * y; sxy += t * y;
      }
    double nn = 12 * 96;
    double r = (sxy - sx * sy / nn) / sqrt((sxx - sx * sx / nn) * (syy - sy * sy / nn));
    fprintf(stderr, "type %d: nrmse %.4f corr %.5f\n", k, sqrt(se / nn) / (mean / nn), r);
    tot_se += se; tot_mean += mean; tot_ss += nn;
    printf("  { /* %s */\n", k == 0 ? "WT" : k == 1 ? "SA" : "FT");
    for (int i = 0; i < ns; i++) {
      printf("    {");
      for (int j = 0; j < nf; j++) printf("%s%.4f", j ? ", " : "", c[i][j]);
      printf("},\n");
    }
    printf("  },\n");
  }
  fprintf(stderr, "all: nrmse %.4f\n", sqrt(tot_se / tot_ss) / (tot_mean / tot_ss));
  return 0;
}
