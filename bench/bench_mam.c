/* MAM throughput: messages created and parsed per second, restricted mode,
 * count 1 (one leaf per message, the default), one message at a time
 * (pg_mam_create_message / pg_mam_parse_message) and in batches of 16, 128
 * and 512 channels (pg_mam_create_batch without and with its keys cache,
 * pg_mam_parse_batch), security 1-3;
 * the Curl transforms they are made of (scalar, 64 lanes, 512 lanes in each
 * build the CPU has), the transforms one message costs, and the rate those
 * allow. Prints "name: value unit" lines only; times are the process's CPU
 * time (one thread, so "per core" even on a busy machine).
 * Optional argv[1]: seconds per measurement (default 1); argv[2]: only
 * that security level and batches of 512 (quick before/after runs). With PG_MAMJS_OUT
 * naming a file of bench/mam_js.js output (bench/run does this), also the
 * ratio of each rate to mam.js's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/crypto/curlp.h"
#include "p2pgrid/mam/mam.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char SEED[] =
    "SEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEED9";
/* a typical source message: {"command":"output",...} as trytes */
static const char TEXT[] = "{\"command\":\"output\",\"startTime\":1700000000000,"
                           "\"endTime\":1700000900000,\"output\":1234}";

static double lane_rate; /* widest 512-lane transforms/s x 512 */

/* mam.js's rate for a line name of bench/mam_js.js, or 0. */
static double mamjs_rate(const char *name) {
  const char *path = getenv("PG_MAMJS_OUT");
  FILE *f = path ? fopen(path, "r") : NULL;
  if (!f) return 0;
  char line[256];
  double v = 0;
  size_t n = strlen(name);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, name, n) == 0 && line[n] == ':') v = atof(line + n + 1);
  fclose(f);
  return v;
}

static void print_rate(const char *what, int sec, const char *suffix, double rate) {
  printf("mam_restricted_sec%d_%s%s: %.2f msg/s\n", sec, what, suffix, rate);
  char js[64];
  snprintf(js, sizeof js, "mamjs_restricted_sec%d_%s", sec, what);
  double r = mamjs_rate(js);
  if (r > 0) printf("mam_restricted_sec%d_%s%s_vs_mamjs: %.0f x\n", sec, what, suffix, rate / r);
}

/* Curl-P-27 transforms of one message (count 1, restricted, L message
 * trits), counted as the code does them. Batch: lane transforms of the
 * 512-lane Curl (one lane of one transform = 1), with signing's steps (at
 * most 6 per fragment) and the nonce's one 64-lane round (about 1.1 on
 * average) taken as they are in full batches. Single: scalar transforms plus
 * 64-lane transforms. */
static void transform_counts(int sec, size_t L) {
  const size_t F = 27 * (size_t)sec;
  size_t leaf = 29 * F + 2; /* subseed 1, key 1 + F - 1, 27F chain steps, F digest, address 1 */
  size_t front = 3 + (243 + L + 242) / 243; /* key, root, header, masked nextRoot ‖ message */
  size_t create = 2 * leaf + 6 * F + front + 1 + F + 64 + 3; /* + sign, nonce mask, signature
                                                                * mask, nonce, address (81 rounds) */
  /* sponge; chains sorted by length (13 steps on average) + digest; address */
  size_t parse = 5 + (L + 242) / 243 + F + 13 * F + F + 1;
  /* with the keys cache, the channel in the same lane as in the call before
   * (kept: pg_mam_keys_counts): one leaf and the signature from the
   * checkpoints that call kept (at most 6 steps a fragment, as a fresh
   * leaf's); before lanes were kept: the signing leaf's key sponge (F + 1)
   * and its chains sorted by length (14 - h_j: 14 on average) instead */
  size_t create_keys = leaf + 6 * F + front + 1 + F + 64 + 3;
  printf("mam_restricted_sec%d_create_transforms: %zu lane-transforms/msg\n", sec, create);
  printf("mam_restricted_sec%d_create_keys_transforms: %zu lane-transforms/msg\n", sec,
         create_keys);
  printf("mam_restricted_sec%d_create_keys_limit: %.0f msg/s\n", sec,
         lane_rate / (double)create_keys);
  printf("mam_restricted_sec%d_parse_transforms: %zu lane-transforms/msg\n", sec, parse);
  printf("mam_restricted_sec%d_create_limit: %.0f msg/s\n", sec, lane_rate / (double)create);
  printf("mam_restricted_sec%d_parse_limit: %.0f msg/s\n", sec, lane_rate / (double)parse);
  size_t cs = 2 * (2 * F + 4) + front + F + 2 + 3, c64 = (2 * F + 63) / 64 * 27 + (F + 63) / 64 * 6 + 1;
  size_t ps = 5 + (L + 242) / 243 + (F + 1) + F + 1, p64 = (F + 63) / 64 * 26;
  printf("mam_restricted_sec%d_create_single_transforms: %zu scalar + %zu 64-lane/msg\n", sec, cs,
         c64);
  printf("mam_restricted_sec%d_parse_single_transforms: %zu scalar + %zu 64-lane/msg\n", sec, ps,
         p64);
}

typedef struct batch {
  pg_mam_channel *ch;
  pg_mam_create_item *ci;
  pg_mam_parse_item *pi;
  pg_mam_message *msg;
  pg_mam_parsed *parsed;
  int *rc;
} batch;

static void batch_free(batch *b, size_t n) {
  for (size_t i = 0; b->msg && i < n; i++) pg_mam_message_free(&b->msg[i]);
  free(b->ch), free(b->ci), free(b->pi), free(b->msg), free(b->parsed), free(b->rc);
}

/* Create and parse in batches of n channels (seeds differ in one tryte);
 * creation without and with the keys cache (pg_mam_keys: after the first
 * call, each message computes one leaf instead of two). */
static int bench_batch(int sec, size_t n, const char *msg, size_t msg_len, double secs) {
  pg_mam_keys *keys = NULL;
  batch b = {calloc(n, sizeof *b.ch), calloc(n, sizeof *b.ci), calloc(n, sizeof *b.pi),
             calloc(n, sizeof *b.msg), calloc(n, sizeof *b.parsed), calloc(n, sizeof *b.rc)};
  pg_diag d = {{0}};
  int err = 1;
  if (!b.ch || !b.ci || !b.pi || !b.msg || !b.parsed || !b.rc) goto out;
  for (size_t i = 0; i < n; i++) {
    char seed[PG_MAM_HASH_TRYTES + 1];
    memcpy(seed, SEED, sizeof seed);
    seed[i % 81] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(i / 81 + 1) % 27];
    seed[(i / 81 + 40) % 81] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26];
    if (pg_mam_channel_create(&b.ch[i], seed, PG_MAM_RESTRICTED, "SIDEKEY", 7, sec, &d)) goto out;
    pg_mam_create_item it = {&b.ch[i], msg, msg_len};
    b.ci[i] = it;
  }
  double create_rate[2];
  if (pg_mam_keys_new(&keys)) goto out;
  for (int cached = 0; cached < 2; cached++) {
    size_t made = 0;
    if (cached) { /* fill the cache */
      for (size_t i = 0; i < n; i++) pg_mam_message_free(&b.msg[i]);
      if (pg_mam_create_batch(keys, b.ci, n, b.msg, b.rc, &d)) goto out;
    }
    double t0 = now(), t;
    do {
      for (size_t i = 0; i < n; i++) pg_mam_message_free(&b.msg[i]);
      if (pg_mam_create_batch(cached ? keys : NULL, b.ci, n, b.msg, b.rc, &d)) goto out;
      made += n;
      t = now();
    } while (t - t0 < secs);
    create_rate[cached] = (double)made / (t - t0);
  }
  pg_mam_keys_counts kc;
  pg_mam_keys_get_counts(keys, &kc);
  uint64_t signed_n = kc.fresh + kc.cached + kc.kept;
  if (n == 512 && signed_n)
    printf("mam_restricted_sec%d_create_batch512_keys_kept_share: %.1f %% (signed from kept "
           "lanes; %llu fresh, %llu from cached addresses)\n",
           sec, 100.0 * (double)kc.kept / (double)signed_n, (unsigned long long)kc.fresh,
           (unsigned long long)kc.cached);
  for (size_t i = 0; i < n; i++) {
    pg_mam_parse_item it = {b.msg[i].payload, b.msg[i].payload_len, b.msg[i].root, "SIDEKEY", 7};
    b.pi[i] = it;
  }
  size_t parsed = 0;
  double t0 = now(), t;
  do {
    if (pg_mam_parse_batch(b.pi, n, b.parsed, b.rc, &d)) goto out;
    for (size_t i = 0; i < n; i++) pg_mam_parsed_free(&b.parsed[i]);
    parsed += n;
    t = now();
  } while (t - t0 < secs);
  char suffix[32];
  const double rates[3] = {create_rate[0], create_rate[1], (double)parsed / (t - t0)};
  static const char *const what[3] = {"create", "create", "parse"}, *const tail[3] = {"", "_keys", ""};
  for (int k = 0; k < 3; k++) {
    snprintf(suffix, sizeof suffix, "_batch%zu%s", n, tail[k]);
    print_rate(what[k], sec, suffix, rates[k]);
    if (n != 512) continue;
    /* the same run's cost in widest 512-lane transforms (steady on a busy machine) */
    printf("mam_restricted_sec%d_%s%s_lane_transform_equivalents: %.0f /msg\n", sec, what[k],
           suffix, lane_rate / rates[k]);
    if (sec == 2) /* what these replace: idle machine, make bench at 336576c */
      printf("mam_restricted_sec2_%s%s_was: %.0f msg/s\n", what[k], suffix,
             (const double[3]){7426, 9608, 23511}[k]);
  }
  err = 0;
out:
  pg_mam_keys_free(keys);
  if (err) fprintf(stderr, "bench_mam: batch of %zu: %s\n", n, d.msg);
  for (size_t i = 0; b.ch && i < n; i++) pg_mam_channel_wipe(&b.ch[i]);
  batch_free(&b, n);
  return err;
}

#define MAX_KEEP 64

static int bench_single(int sec, const char *msg, size_t msg_len, double secs) {
  pg_mam_channel ch;
  pg_diag d = {{0}};
  if (pg_mam_channel_create(&ch, SEED, PG_MAM_RESTRICTED, "SIDEKEY", 7, sec, &d)) {
    fprintf(stderr, "%s\n", d.msg);
    return 1;
  }
  pg_mam_message keep[MAX_KEEP];
  memset(keep, 0, sizeof keep);
  size_t made = 0;
  double t0 = now(), t;
  do {
    pg_mam_message *m = &keep[made % MAX_KEEP];
    pg_mam_message_free(m);
    if (pg_mam_create_message(&ch, msg, msg_len, m, &d)) {
      fprintf(stderr, "%s\n", d.msg);
      return 1;
    }
    made++;
    t = now();
  } while (t - t0 < secs || made < 3);
  double create_rate = (double)made / (t - t0);

  size_t parsed = 0, have = made < MAX_KEEP ? made : MAX_KEEP;
  t0 = now();
  do {
    pg_mam_message *m = &keep[parsed % have];
    pg_mam_parsed p = {0};
    if (pg_mam_parse_message(m->payload, m->payload_len, m->root, "SIDEKEY", 7, &p, &d)) {
      fprintf(stderr, "%s\n", d.msg);
      return 1;
    }
    pg_mam_parsed_free(&p);
    parsed++;
    t = now();
  } while (t - t0 < secs || parsed < 3);
  print_rate("create", sec, "", create_rate);
  print_rate("parse", sec, "", (double)parsed / (t - t0));
  printf("mam_restricted_sec%d_payload: %zu trytes\n", sec, keep[0].payload_len);
  for (size_t i = 0; i < MAX_KEEP; i++) pg_mam_message_free(&keep[i]);
  pg_mam_channel_wipe(&ch);
  return 0;
}

static void bench_curl(double secs) {
  pg_curl c;
  pg_curl_init(&c, 27);
  size_t n = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < 100; i++) pg_curl_transform(&c);
    n += 100;
    t = now();
  } while (t - t0 < secs);
  printf("curl27_scalar_transform: %.0f /s\n", (double)n / (t - t0));

  static pg_curl64 s;
  memset(&s, 0xff, sizeof s);
  n = 0;
  t0 = now();
  do {
    for (int i = 0; i < 10; i++) pg_curl64_transform(&s, 27);
    n += 10;
    t = now();
  } while (t - t0 < secs);
  printf("curl27_64lane_transform: %.0f /s\n", (double)n / (t - t0));
  printf("curl27_64lane_lane_transforms: %.0f /s\n", 64.0 * (double)n / (t - t0));

  pg_curlx *x = aligned_alloc(64, sizeof *x);
  if (!x) return;
  pg_curlx_fill(x, 0, PG_CURL_STATE, 0);
  for (int impl = PG_CURLX_PORTABLE; impl <= PG_CURLX_AVX512; impl++) {
    if (!pg_curlx_impl_supported((pg_curlx_impl)impl)) continue;
    n = 0;
    t0 = now();
    do {
      for (int i = 0; i < 10; i++)
        if (pg_curlx_transform_with(x, 27, (pg_curlx_impl)impl)) break;
      n += 10;
      t = now();
    } while (t - t0 < secs);
    const char *name = pg_curlx_impl_name((pg_curlx_impl)impl);
    double r = (double)n / (t - t0);
    printf("curl27_512lane_%s_transform: %.0f /s\n", name, r);
    printf("curl27_512lane_%s_lane_transforms: %.0f /s\n", name, r * PG_CURLX_LANES);
    lane_rate = r * PG_CURLX_LANES; /* the last is the widest */
  }
  printf("curl27_512lane_auto: %s\n", pg_curlx_impl_name(PG_CURLX_AUTO));
  free(x);
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  if (secs <= 0) secs = 1.0;
  int only = argc > 2 ? atoi(argv[2]) : 0;
  if (pg_crypto_init()) return 1;
  bench_curl(secs);
  char *msg = NULL;
  size_t msg_len = 0;
  if (pg_mam_text_to_trytes(TEXT, strlen(TEXT), &msg, &msg_len)) return 1;
  static const size_t sizes[] = {16, 128, 512};
  for (int sec = 1; sec <= 3; sec++) {
    if (only) {
      if (sec == only && bench_batch(sec, 512, msg, msg_len, secs)) return 1;
      continue;
    }
    if (bench_single(sec, msg, msg_len, secs)) return 1;
    transform_counts(sec, 3 * msg_len);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
      if (bench_batch(sec, sizes[k], msg, msg_len, secs)) return 1;
  }
  free(msg);
  return 0;
}
