/* MAM throughput: messages created and parsed per second, restricted mode,
 * security 1 and 2, count 1 (one leaf per message, the default), plus the
 * Curl transforms they are made of. Prints "name: value unit" lines only.
 * Optional argv[1]: seconds per measurement (default 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/curl.h"
#include "p2pgrid/mam.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define MAX_KEEP 64

static int bench_security(int sec, double secs) {
  const char *seed = "SEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEED9";
  /* a typical source message: {"command":"output",...} as trytes */
  const char *text = "{\"command\":\"output\",\"startTime\":1700000000000,"
                     "\"endTime\":1700000900000,\"output\":1234}";
  char *msg = NULL;
  size_t msg_len = 0;
  if (pg_mam_text_to_trytes(text, strlen(text), &msg, &msg_len)) return 1;
  pg_mam_channel ch;
  pg_diag d = {{0}};
  if (pg_mam_channel_create(&ch, seed, PG_MAM_RESTRICTED, "SIDEKEY", 7, sec, &d)) {
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
  double parse_rate = (double)parsed / (t - t0);

  printf("mam_restricted_sec%d_create: %.2f msg/s\n", sec, create_rate);
  printf("mam_restricted_sec%d_parse: %.2f msg/s\n", sec, parse_rate);
  printf("mam_restricted_sec%d_payload: %zu trytes\n", sec, keep[0].payload_len);
  for (size_t i = 0; i < MAX_KEEP; i++) pg_mam_message_free(&keep[i]);
  pg_mam_channel_wipe(&ch);
  free(msg);
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
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  if (secs <= 0) secs = 1.0;
  if (pg_crypto_init()) return 1;
  bench_curl(secs);
  for (int sec = 1; sec <= 2; sec++)
    if (bench_security(sec, secs)) return 1;
  return 0;
}
