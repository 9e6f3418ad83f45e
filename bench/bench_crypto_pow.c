/* PoW and Curl-P throughput. Prints "name: value unit" lines only. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/crypto/curlp.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/crypto/pow.h"

#include "util.h"

typedef struct timer_arg {
  atomic_bool *flag;
  double seconds;
} timer_arg;

static void *cancel_after(void *p) {
  timer_arg *a = p;
  struct timespec ts = {(time_t)a->seconds, (long)((a->seconds - (double)(time_t)a->seconds) * 1e9)};
  nanosleep(&ts, NULL);
  atomic_store(a->flag, true);
  return NULL;
}

/* Nonce trials per second with `threads` threads over about `seconds`. */
static double pow_rate(unsigned threads, double seconds) {
  uint8_t digest[PG_HASH_LEN];
  pg_blake2b256("p2pgrid bench", 13, digest);
  atomic_bool flag;
  atomic_init(&flag, false);
  timer_arg ta = {&flag, seconds};
  pthread_t t;
  if (pthread_create(&t, NULL, cancel_after, &ta) != 0) return 0;
  pg_pow_opts o = {.threads = threads, .cancel = &flag, .start_nonce = 0};
  uint64_t nonce = 0, trials = 0;
  double t0 = bench_now_s();
  int rc = pg_pow_search_digest(digest, PG_CURL_HASH, &o, &nonce, &trials);
  double dt = bench_now_s() - t0;
  pthread_join(t, NULL);
  (void)rc; /* PG_ERR_CANCELLED: 243 zeros is never reached */
  return (double)trials / dt;
}

static double curl_rate(int rounds, double seconds) {
  pg_curl c;
  pg_curl_init(&c, rounds);
  for (int i = 0; i < PG_CURL_STATE; i++) c.state[i] = (pg_trit)(i % 3 - 1);
  uint64_t n = 0;
  double t0 = bench_now_s(), dt;
  do {
    for (int k = 0; k < 256; k++) pg_curl_transform(&c);
    n += 256;
    dt = bench_now_s() - t0;
  } while (dt < seconds);
  volatile pg_trit sink = c.state[0];
  (void)sink;
  return (double)n / dt;
}

static double curl64_rate(int rounds, double seconds) {
  static pg_curl64 s;
  for (int i = 0; i < PG_CURL_STATE; i++) pg_curl64_set_all(&s, (size_t)i, (pg_trit)(i % 3 - 1));
  uint64_t n = 0;
  double t0 = bench_now_s(), dt;
  do {
    for (int k = 0; k < 64; k++) pg_curl64_transform(&s, rounds);
    n += 64;
    dt = bench_now_s() - t0;
  } while (dt < seconds);
  volatile uint64_t sink = s.lo[0];
  (void)sink;
  return (double)n / dt;
}

int main(void) {
  if (pg_crypto_init() != 0) return 1;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned all = ncpu > 0 ? (unsigned)ncpu : 1;
  printf("curl_p27_scalar: %.0f transforms/s\n", curl_rate(27, 1.0));
  printf("curl_p81_scalar: %.0f transforms/s\n", curl_rate(81, 1.0));
  printf("curl_p81_bitsliced64: %.0f transforms/s\n", curl64_rate(81, 1.0));
  static const char *const engines[] = {"sse2", "avx2", "avx512"};
  for (size_t i = 0; i < sizeof engines / sizeof *engines; i++) {
    if (pg_pow_set_engine(engines[i]) != 0) continue;
    printf("pow_threads_1_%s: %.0f trials/s\n", engines[i], pow_rate(1, 1.0));
  }
  if (pg_pow_set_engine("auto") != 0) return 1;
  printf("pow_threads_1: %.0f trials/s\n", pow_rate(1, 2.5));
  printf("pow_threads_all: %.0f trials/s\n", pow_rate(all, 2.5));
  printf("pow_threads_all_count: %u threads\n", all);
  printf("pow_lanes_per_transform: %u nonces\n", pg_pow_lanes());
  return 0;
}
