#define _XOPEN_SOURCE 700
#include "util.h"

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

void bench_child_dies_with_parent(pid_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(128 + SIGKILL);
}

void bench_rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

const char *bench_tmpbase(void) {
  struct stat sb;
  if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  const char *t = getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

/* nftw has no context: the sizes being summed (one walk at a time) */
static bench_db_bytes *g_sum;

static int size_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  if (flag != FTW_F) return 0;
  const char *base = path + ftw->base;
  size_t n = strcspn(base, ".");
  uint64_t b = (uint64_t)sb->st_size;
  g_sum->total += b;
  static const char *const roles[] = {"tangle", "grid", "consumer", "producer", "source"};
  for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
    if (strlen(roles[i]) != n || strncmp(base, roles[i], n) != 0) continue;
    g_sum->bytes[i] += b;
    if (strcmp(base + n, ".db") == 0) g_sum->files[i]++;
  }
  return 0;
}

int bench_db_sizes(const char *dir, bench_db_bytes *out) {
  memset(out, 0, sizeof *out);
  g_sum = out;
  int rc = nftw(dir, size_one, 16, FTW_PHYS);
  g_sum = NULL;
  return rc;
}

double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_rounds(int fallback) {
  const char *env = getenv("PG_BENCH_ROUNDS");
  int r = env ? atoi(env) : fallback;
  return r >= 1 && r <= 16 ? r : fallback;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}
