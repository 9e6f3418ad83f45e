/* Fuzz target: arbitrary bytes -> slot JSON -> every mechanism (trading and
 * sharing). A rejected input must say why; an accepted slot must settle (or
 * be refused only for exceeding the slot totals, or, sharing, for static
 * keys above 100 %), with the money identity and energy balance
 * holding exactly. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/market/market.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "fuzz_market_slot: check failed: %s (line %d)\n", #c, __LINE__);            \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_market_slot_json sj;
  pg_diag d;
  pg_diag_clear(&d);
  int rc = pg_market_slot_from_json(data, size, &sj, &d);
  if (rc != PG_OK) {
    CHECK(rc < 0 && d.msg[0] != '\0');
    return 0;
  }
  CHECK(sj.slot.import_price >= sj.slot.export_price);
  for (int m = 0; m < PG_MARKET_NMECH_ALL; m++) {
    bool sharing = pg_market_mech_is_sharing((pg_market_mech)m);
    pg_market_result r;
    rc = pg_market_settle(&sj.slot, (pg_market_mech)m, &r, &d);
    if (rc != PG_OK) {
      CHECK((rc == PG_ERR_TOO_LARGE && strstr(d.msg, "total")) ||
            (sharing && rc == PG_ERR_INVALID && strstr(d.msg, "sum above 100%")));
      continue;
    }
    int64_t pay = 0, rev = 0, cwh = 0, pwh = 0;
    for (size_t i = 0; i < r.n_consumers; i++) {
      if (sharing) CHECK(r.consumers[i].community_wh <= sj.slot.consumers[i].usage_wh);
      pay += r.consumers[i].total;
      cwh += r.consumers[i].community_wh;
      CHECK(r.consumers[i].community_wh + r.consumers[i].utility_wh ==
            sj.slot.consumers[i].usage_wh);
    }
    for (size_t j = 0; j < r.n_producers; j++) {
      rev += r.producers[j].total;
      pwh += r.producers[j].community_wh;
      CHECK(r.producers[j].community_wh + r.producers[j].utility_wh ==
            sj.slot.producers[j].output_wh);
      if (m != PG_MARKET_FIXED && !sharing)
        CHECK(r.producers[j].total >= r.producers[j].baseline);
    }
    CHECK(pay == r.consumer_payments && rev == r.producer_revenues);
    CHECK(cwh == r.matched_wh && pwh == r.matched_wh);
    if (sharing) CHECK(r.matched_wh <= r.supply_wh && r.utility_import_cost == 0);
    CHECK(pay == rev + r.grid_income + r.utility_import_cost - r.utility_export_income);
    pg_market_result_free(&r);
  }
  pg_market_slot_json_free(&sj);
  return 0;
}
