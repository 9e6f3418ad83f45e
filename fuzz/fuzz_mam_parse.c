/* Fuzz target: MAM parsing never crashes, whatever the input.
 *
 * Byte 0 selects the path, the rest is the input:
 *   sel % 4 == 0: input as payload trytes (bytes outside [9A-Z] are mapped
 *                 into the alphabet), root of public/2 seed A*81 (10.12);
 *   sel % 4 == 1: same, restricted with side key MYKEY (same root);
 *   sel % 4 == 2: input as attach data -> decode -> parse (public/2 root);
 *   sel % 4 == 3: payload trytes, root of private/1 seed A*81.
 * Every input also goes through unpack, text <-> trytes, and the channel
 * state loader. Seeds in corpus/fuzz_mam_parse/ start with '0'..'3'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/mam.h"
#include "p2pgrid/ternary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ROOT_PUB2[] =
    "POKRBFTSZPVUNXQAUMLXTVQOTIUBDWFTCIJOROUOGCQKVLHGQQABFPBXTL9RKUSHOLONFXTDWAHMDDJRG";
static const char ROOT_PRIV1[] =
    "EHJLCQRXFPRFU9XRIUFIVPMDAJJMELWTAKVGICCPFPHMWIOQZLLHZIHYUGDVO9MCOQB9W9QVWWOUVFKCL";

static void must(int cond) {
  if (!cond) abort();
}

static void parse(const char *t, size_t n, const char *root, const char *key) {
  pg_mam_parsed p = {0};
  pg_diag d = {{0}};
  int rc = pg_mam_parse_message(t, n, root, key, key ? strlen(key) : 0, &p, &d);
  if (rc == PG_OK) {
    must(p.message != NULL && strlen(p.message) == p.message_len);
    must(pg_trytes_valid(p.message, p.message_len) && strlen(p.next_root) == 81);
    must(p.security >= 1 && p.security <= 3);
  } else {
    must(rc < 0 && d.msg[0] != '\0' && p.message == NULL);
  }
  pg_mam_parsed_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  unsigned sel = data[0] % 4;
  const uint8_t *in = data + 1;
  size_t n = size - 1;

  char *t = malloc(n + 1);
  if (!t) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = (char)in[i];
    t[i] = pg_tryte_value(c) >= -13 ? c : PG_TRYTE_ALPHABET[in[i] % 27];
  }
  t[n] = '\0';

  if (sel == 2) {
    char *pl = NULL, tag[PG_MAM_MAX_TAG + 1];
    size_t pll = 0;
    pg_diag d = {{0}};
    if (pg_mam_attach_decode(in, n, &pl, &pll, tag, &d) == PG_OK) {
      must(strlen(tag) <= PG_MAM_MAX_TAG && pg_trytes_valid(pl, pll));
      parse(pl, pll, ROOT_PUB2, NULL);
      free(pl);
    }
  } else {
    parse(t, n, sel == 3 ? ROOT_PRIV1 : ROOT_PUB2, sel == 1 ? "MYKEY" : NULL);
  }

  /* pack / unpack round trip on the mapped trytes (bounded size) */
  size_t m = n < 4096 ? n : 4096;
  uint8_t *pk = malloc(pg_mam_pack_len(m) + 1);
  char *up = malloc(pg_mam_unpack_cap(m) + 1); /* >= cap(pack_len(m)) */
  if (pk && up) {
    size_t un = 0;
    must(pg_mam_pack_trytes(t, m, pk) == PG_OK);
    pg_mam_unpack_trytes(pk, pg_mam_pack_len(m), up, &un);
    must(un == m && memcmp(up, t, m) == 0);
    pg_mam_unpack_trytes(in, m, up, &un); /* raw bytes */
    must(un <= pg_mam_unpack_cap(m));
  }
  free(pk);
  free(up);

  /* text conversions */
  char *o = NULL;
  size_t on = 0;
  if (pg_mam_trytes_to_text(t, n, &o, &on) == PG_OK) free(o);
  if (pg_mam_text_to_trytes((const char *)in, n, &o, &on) == PG_OK) {
    char *back = NULL;
    size_t bn = 0;
    must(pg_mam_trytes_to_text(o, on, &back, &bn) == PG_OK);
    free(back);
    free(o);
  }

  /* channel state loader */
  pg_mam_channel ch;
  pg_diag d = {{0}};
  if (pg_mam_channel_load(&ch, in, n, &d) == PG_OK) must(pg_mam_channel_validate(&ch, NULL) == PG_OK);

  free(t);
  return 0;
}
