/* p2pgrid/market/market.h — settlement of one time slot of the community grid: who
 * supplied and used how much, at what price, who owes and who is owed. Pure
 * computation: no I/O, no clocks, no randomness; the same slot always settles
 * to the same integers. Depends on base only.
 *
 * UNITS. Energy: int64 Wh (>= 0). Money: int64 base token units. Prices:
 * whole token units per kWh, so the exact value of e Wh at price p is
 * p*e/1000 units, a rational. All arithmetic is exact (128-bit, and 256-bit
 * where a product needs it); there is no floating point in settlement.
 *
 * LIMITS (PG_ERR_TOO_LARGE when exceeded, the diag names the item): each
 * energy and the slot totals S, D <= PG_MARKET_MAX_WH; each price, fee per
 * kWh and fixed rate <= PG_MARKET_MAX_PRICE; at most PG_MARKET_MAX_PARTIES
 * producers and as many consumers. These keep every amount below 2^62.
 *
 * SLOT MODEL. S = total supply (sum of outputs), D = total demand (sum of
 * usages), M = min(S, D), import I = max(D-S, 0), export E = max(S-D, 0).
 * lambda_b = import_price (the utility sells shortfall), lambda_s =
 * export_price (the utility buys surplus); lambda_b >= lambda_s is required
 * (PG_ERR_INVALID otherwise).
 *
 * MECHANISMS.
 * - fixed: every consumer pays fixed_buy_price per kWh of usage, every
 *   producer earns fixed_sell_price per kWh of output (the proof of concept);
 *   the grid keeps the spread and carries the utility imbalance.
 * - pay-as-clear: a double auction. Effective bid of a consumer =
 *   min(bid, lambda_b), lambda_b when it has none (nobody pays the community
 *   more than the utility asks); effective ask of a producer = max(ask,
 *   lambda_s), lambda_s when it has none (nobody sells to the community for
 *   less than the utility pays). Participants with 0 Wh are not in the
 *   books. Asks are sorted ascending, bids descending; ties in price go to
 *   the lower index (order in the slot). The books are matched greedily
 *   while bid >= ask; each match moves min(remaining demand, remaining
 *   supply) Wh, so at most the marginal consumer and the marginal producer
 *   are filled partially (a partial fill trades the rest with the utility).
 *   The utility is the unlimited seller at lambda_b and buyer at lambda_s
 *   behind the community books: energy left unmatched is bought from it at
 *   lambda_b (consumers) or sold to it at lambda_s (producers). Community
 *   price p* = (last matched bid + last matched ask) / 2, over community
 *   matches only (no community match: no community price). Community energy
 *   of every matched participant trades at p* (exact, possibly a half unit
 *   per kWh).
 * - pay-as-bid: the same matching; each match is priced at its consumer's
 *   effective bid (producers receive the bids of the consumers they matched).
 * - mmr: P_mid = (lambda_b+lambda_s)/2. S >= D: consumers pay P_mid per kWh;
 *   producers share P_mid*D + lambda_s*(S-D) pro rata to output. D > S:
 *   producers earn P_mid per kWh; consumers share P_mid*S + lambda_b*(D-S)
 *   pro rata to usage.
 * - sdr (Liu et al., IEEE Trans. Power Systems 32(5), 2017): SDR = S/D.
 *   0 <= SDR <= 1: P_sell = lambda_b*lambda_s / ((lambda_b-lambda_s)*SDR +
 *   lambda_s), P_buy = P_sell*SDR + lambda_b*(1-SDR); SDR > 1: P_sell =
 *   P_buy = lambda_s. Edge cases: D = 0 (SDR infinite, S > 0 or not) is the
 *   SDR > 1 branch: producers earn lambda_s; S = 0 < D: SDR = 0, P_buy =
 *   lambda_b (P_sell = lambda_b, the limit, reported only). lambda_s = 0
 *   makes P_sell = 0. Computed as exact rationals.
 *   In fixed, mmr and sdr each participant's community energy is M shared
 *   pro rata (usage, resp. output), the rest is from/to the utility.
 *
 * FEES (the grid's fees, charged to consumers on top of their energy charge):
 * fee_per_kwh per kWh of the consumer's community-matched energy, plus
 * fee_bp / 10000 of its (rounded) energy charge. Fees never change prices,
 * matching or the energy charges.
 *
 * ROUNDING: one rule, "rounding never favours the grid". Every group amount
 * is computed exactly, rounded as a total against the grid, then split over
 * the group's members by largest remainder (each member gets the floor or the
 * ceiling of its exact share; the extra units go to the largest fractional
 * parts, ties to the lower index), so group totals are exact:
 *   consumers' energy charges: total rounded down;
 *   producers' revenues: total rounded up;
 *   each fee total: rounded down;
 *   utility import cost ceil(lambda_b*I/1000), export income
 *   floor(lambda_s*E/1000).
 * Energy splits (community Wh per participant) use the same largest
 * remainder split of the integer M, so energy sums are exact too.
 *
 * MONEY IDENTITY (exact, every mechanism): grid_income is the grid's balance,
 *   sum(consumer totals) = sum(producer revenues) + grid_income
 *                          + utility_import_cost - utility_export_income.
 * grid_income = fees + the spread (fixed; and unmatched energy in the
 * auctions, which the grid buys at lambda_s and sells at lambda_b) - rounding
 * dust (less than 4 units per slot, always borne by the grid: one rounding each of
 * the two group totals and the two utility amounts). It can be negative
 * (e.g. fixed rates below the utility prices; or a few units of dust).
 *
 * BASELINE: a consumer would pay ceil(lambda_b*usage/1000), a producer would
 * earn floor(lambda_s*output/1000). Savings = baseline - payment
 * (consumers), revenue - baseline (producers). Guarantee: in every mechanism
 * except fixed, each consumer's energy charge <= its baseline and each
 * producer's revenue >= its baseline. Proof: the exact charge c_i <= the
 * exact baseline b_i (shown per mechanism in market.c); a member's rounded
 * share is floor or ceil of its exact share, and the exact share of a total
 * rounded down (up) is <= (>=) the exact amount, so the charge is <= ceil(c_i)
 * <= ceil(b_i), and the revenue is >= floor(r_i) >= floor(b_i). Likewise in
 * the auctions a consumer's charge is <= ceil(its community Wh * effective
 * bid/1000 + its utility Wh * lambda_b/1000) and a producer's revenue >=
 * floor(community Wh * effective ask/1000 + utility Wh * lambda_s/1000):
 * community energy never costs more than the consumer's bid nor earns less
 * than the producer's ask. (Energy is physical: what the community does not
 * match is settled with the utility, whatever the bid or ask.)
 * Fees are on top of these guarantees (they hold for the totals when fees
 * are 0).
 *
 * SLOT JSON (pg_market_slot_from_json; examples/slot.json). Quantities are
 * base units of the resource (Wh for electricity, L for water; resource.h),
 * prices per price unit (1000 base units). The unit-free names output,
 * usage, askPerUnit, bidPerUnit, perUnit, buyPerUnit, sellPerUnit are read
 * like the electricity names below (outputWh, usageWh, askPerKwh, ...), which
 * stay accepted; a field given under both names is refused:
 *   { "producers": [ {"id": "p1", "outputWh": 1200, "askPerKwh": 90}, ... ],
 *     "consumers": [ {"id": "c1", "usageWh": 800, "bidPerKwh": 250}, ... ],
 *     "importPrice": 300, "exportPrice": 80,
 *     "fees": {"perKwh": 5, "percent": 2},            (optional, default 0)
 *     "fixed": {"buyPerKwh": 250, "sellPerKwh": 150}  (optional, default
 *                                                      importPrice/exportPrice),
 *     "communityPrice": 120,                          (sharing; optional, 0)
 *     "groupRules": ["dynamic", "static"] }           (hierarchical; optional)
 * Sharing fields of a consumer (optional): "keyPercent" (a whole number or
 * a string such as "12.5%", pg_market_key_parse) or "keyPpm" (0..10^6),
 * not both; "group" (0..PG_SHARE_MAX_GROUP).
 * ids are strings of 1..63 bytes (not required to be unique; settlement
 * uses the order); askPerKwh/bidPerKwh optional (null = none);
 * percent is a whole percentage 0..100. Unknown keys are ignored. Errors name
 * the field, e.g. "consumers[2]: field 'usageWh': expected an integer, got a
 * string".
 *
 * Ownership: the inputs (pg_market_slot and its arrays) are borrowed for the
 * call; a pg_market_result's arrays are owned (pg_market_result_free) unless a
 * workspace settled it (see SETTLEMENT WORKSPACE); pg_market_kpis and
 * pg_market_slot_json own their arrays (their *_free).
 * Errors: 0 or PG_ERR_INVALID, PG_ERR_TOO_LARGE or PG_ERR_NOMEM, with one
 * sentence naming the item in the optional pg_diag; on failure outputs are
 * zeroed and own nothing.
 * Threads: no global state: distinct results, workspaces and KPIs may be used
 * on distinct threads at once. */
/* SHARING MECHANISMS (energy communities; docs/MARKET.md has the sources).
 * Not auctions: a slot's community generation G = S (sum of outputs) is
 * allocated to the consumers by keys, per slot, with a_i <= C_i (usage) and
 * sum a_i <= G. Source tags [..] refer to the spec digest
 * (shared specs ENERGY-SHARING.md §0; formulas F1..F6 of its §7.1).
 * - static-key (Austria "statisch" [A1, A2, A6], F1): a_i = min(C_i,
 *   k_i*G) with k_i = key_ppm / 10^6. The unused share of a key is NOT
 *   passed to the other members: it is community surplus (single round).
 *   Open question 1 (sum of keys < 100%): allowed, the unkeyed part is
 *   surplus; a sum above 100% is PG_ERR_INVALID.
 * - dynamic-key (Austria "dynamisch" [A1, A2, A18], F3): a_i = C_i *
 *   min(1, G/C), 0 when C = 0; keys and groups are ignored.
 * - hierarchical (Portugal/Luxembourg priority groups [P3, L1, L2], F5,
 *   reading E7a): consumers are grouped by `group` (0 first, then 1, ...);
 *   R = G; each group in turn allocates R with its rule, group_rules[g]
 *   (PG_SHARE_RULE_STATIC: a_i = min(C_i, k_i*R), k_i = key_ppm / 10^6 of
 *   what reaches the group, keys of a group sum to <= 100%; absent or
 *   PG_SHARE_RULE_DYNAMIC: a_i = C_i * min(1, R/C_g)); R -= the group's
 *   allocation; what is left after the last group is surplus. One round per
 *   group (open question 11: E7a, not E7b). group <= PG_SHARE_MAX_GROUP.
 * Producers: the community surplus S = G - sum a_i is attributed to the
 * producers pro rata to output (S_j = S*G_j/G, the EDA identity [A17], F6;
 * open question 2: also for static keys); producer j delivers
 * d_j = G_j - S_j to the community (community_wh) and exports S_j to its
 * supplier (utility_wh).
 * Energy rounding (spec §7.12, ours: no source defines one): each split is
 * computed exactly, its total rounded down to whole Wh (a static key's total
 * sum min(C_i, k_i*G) is floored; a pro rata total is the exact integer G or
 * C), then split by largest remainder (every member gets the floor or the
 * ceiling of its exact share; ties to the lower index). So a_i <= C_i,
 * sum a_i <= G, S_j <= G_j, sum d_j = sum a_i, and the worked examples
 * E1, E4, E5a/b, E6a/b, E7a/c, E8 come out to the Wh
 * (tests/unit/test_market_sharing.c).
 * Money: producer j's price p_j is its ask when has_ask (per-producer
 * price), otherwise the slot's community_price. Every consumer's allocation
 * comes from the producers pro rata to their deliveries, so consumer i's
 * exact charge is a_i * V / (1000 * A) with V = sum d_j*p_j and A =
 * sum a_i; producer j's exact revenue is d_j*p_j/1000. Consumers' total
 * rounded down, producers' total rounded up (ROUNDING above; the grid bears
 * at most one unit per slot), fees as for the market (on community_wh).
 * Residual import C_i - a_i (consumer utility_wh) and surplus S_j (producer
 * utility_wh) are the members' business with their own suppliers: reported,
 * never billed, so utility_import_cost = utility_export_income = 0 while
 * import_wh = sum (C_i - a_i) and export_wh = S. matched_wh = A.
 * Baselines: a consumer's baseline is ceil(lambda_b * a_i / 1000) (what its
 * allocated energy would have cost from its supplier), a producer's is
 * floor(lambda_s * d_j / 1000); savings as for the market. The charge is at
 * most ceil(a_i * max p_j / 1000) (before fees).
 * PARTICIPATION (Austria, up to five communities per metering point
 * [A4, A8, A15-A17], F7): pg_market_participation_split scales a meter's
 * energy per community before settlement; each community settles its
 * slice independently; the unassigned rest stays with the supplier. */
#ifndef P2PGRID_MARKET_MARKET_H
#define P2PGRID_MARKET_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

#define PG_MARKET_MAX_WH ((int64_t)1 << 40)      /* per participant and per slot total */
#define PG_MARKET_MAX_PRICE ((uint64_t)1 << 30)  /* token units per kWh */
#define PG_MARKET_MAX_PARTIES ((size_t)1 << 22)  /* per side */
#define PG_MARKET_ID_MAX 63

typedef enum pg_market_mech {
  PG_MARKET_FIXED = 0,
  PG_MARKET_PAY_AS_CLEAR,
  PG_MARKET_PAY_AS_BID,
  PG_MARKET_MMR,
  PG_MARKET_SDR,
  PG_MARKET_STATIC_KEY,   /* sharing mechanisms (above) */
  PG_MARKET_DYNAMIC_KEY,
  PG_MARKET_HIERARCHICAL,
} pg_market_mech;
#define PG_MARKET_NMECH 5     /* the trading mechanisms, 0..4 */
#define PG_MARKET_NMECH_ALL 8 /* trading and sharing mechanisms */

/* Rules of a hierarchical group (pg_market_slot.group_rules). */
enum { PG_SHARE_RULE_DYNAMIC = 0, PG_SHARE_RULE_STATIC = 1 };
#define PG_SHARE_MAX_GROUP 63
#define PG_SHARE_KEY_ONE 1000000u /* key_ppm of 100% */

/* The default community price of scenarios and the grid daemon:
 * floor((import_price + export_price) / 2). */
uint64_t pg_market_default_community_price(uint64_t import_price, uint64_t export_price);

/* True for static-key, dynamic-key and hierarchical. */
bool pg_market_mech_is_sharing(pg_market_mech m);

/* A static key as a percentage: "25", "25%", "12.5%", "33.3333%" (0..100,
 * at most 4 decimals, exact) into parts per million. */
PG_NODISCARD int pg_market_key_parse(const char *s, uint32_t *ppm, pg_diag *d);
/* "static" or "dynamic" into PG_SHARE_RULE_*. */
PG_NODISCARD int pg_market_share_rule_parse(const char *s, uint8_t *rule, pg_diag *d);

/* "fixed", "pay-as-clear", "pay-as-bid", "mmr", "sdr", "static-key",
 * "dynamic-key", "hierarchical"; NULL for others. */
const char *pg_market_mech_name(pg_market_mech m);
/* Parses one of those names (exact match). */
PG_NODISCARD int pg_market_mech_parse(const char *s, pg_market_mech *out, pg_diag *d);

typedef struct pg_market_producer {
  const char *id;       /* borrowed, may be NULL; not used by settlement */
  int64_t output_wh;    /* >= 0 */
  uint64_t ask_per_kwh; /* used when has_ask */
  bool has_ask;
} pg_market_producer;

typedef struct pg_market_consumer {
  const char *id;       /* borrowed, may be NULL */
  int64_t usage_wh;     /* >= 0 */
  uint64_t bid_per_kwh; /* used when has_bid */
  bool has_bid;
  uint32_t key_ppm;     /* static key (sharing): share of the generation, ppm */
  uint32_t group;       /* hierarchical: priority group, 0 first */
} pg_market_consumer;

/* One slot's inputs. The arrays are borrowed (may be NULL when the count is 0). */
typedef struct pg_market_slot {
  const pg_market_producer *producers;
  size_t n_producers;
  const pg_market_consumer *consumers;
  size_t n_consumers;
  uint64_t import_price;     /* lambda_b, per kWh */
  uint64_t export_price;     /* lambda_s, per kWh; <= import_price */
  uint64_t fee_per_kwh;      /* on community-matched energy */
  uint64_t fee_bp;           /* basis points of the energy charge, 0..10000 */
  uint64_t fixed_buy_price;  /* `fixed`: consumers' rate per kWh */
  uint64_t fixed_sell_price; /* `fixed`: producers' rate per kWh */
  uint64_t community_price;  /* sharing: price of shared energy per kWh */
  const uint8_t *group_rules; /* hierarchical: rule of group g (borrowed) */
  size_t n_group_rules;       /* groups >= this count are dynamic */
} pg_market_slot;

/* One participant's settlement. For consumers: `amount` is the energy
 * charge, `fee` the grid fees, `total` = amount + fee (what it pays),
 * savings = baseline - total. For producers: `amount` = `total` = revenue,
 * fee = 0, savings = total - baseline. */
typedef struct pg_market_party {
  int64_t community_wh; /* from (consumer) / to (producer) the community */
  int64_t utility_wh;   /* from / to the utility, as settled */
  int64_t amount;
  int64_t fee;
  int64_t total;
  int64_t baseline;
  int64_t savings;
} pg_market_party;

typedef struct pg_market_result {
  pg_market_mech mech;
  int64_t supply_wh, demand_wh;
  int64_t matched_wh;            /* community-matched energy (M; <= M in the auctions) */
  int64_t import_wh, export_wh;  /* I, E */
  int64_t consumer_payments;     /* sum of consumer totals */
  int64_t producer_revenues;     /* sum of producer totals */
  int64_t fees;                  /* sum of consumer fees (part of grid_income) */
  int64_t grid_income;           /* the grid's balance, see MONEY IDENTITY */
  int64_t utility_import_cost;   /* ceil(lambda_b*I/1000) */
  int64_t utility_export_income; /* floor(lambda_s*E/1000) */
  /* Nominal prices per kWh, for display only (never used in settlement):
   * fixed: the rates; pay-as-clear: p* (both; has_price false without a
   * community match); pay-as-bid: the volume-weighted average matched bid;
   * mmr/sdr: the mechanism's buy and sell prices. */
  bool has_price;
  double buy_price, sell_price;
  pg_market_party *consumers; /* owned, n_consumers entries in slot order */
  size_t n_consumers;
  pg_market_party *producers; /* owned, n_producers entries */
  size_t n_producers;
} pg_market_result;

/* Settles a slot. On success *out is filled (free with pg_market_result_free);
 * on failure *out is zeroed and nothing is owned. Errors: PG_ERR_INVALID
 * (negative energy, lambda_b < lambda_s, fee_bp > 10000, bad mech),
 * PG_ERR_TOO_LARGE (limits above), PG_ERR_NOMEM. */
PG_NODISCARD int pg_market_settle(const pg_market_slot *slot, pg_market_mech mech,
                                  pg_market_result *out, pg_diag *d);
void pg_market_result_free(pg_market_result *r);

/* SETTLEMENT WORKSPACE: the memory of settling (scratch and the result
 * arrays) kept from slot to slot, so settling many slots allocates nothing
 * once the workspace has seen the largest slot (it grows to the largest
 * counts it has settled, never shrinks). Results are identical to
 * pg_market_settle, field by field (tests/unit/test_market_ws.c).
 * Ownership: the caller owns the workspace (pg_market_ws_free); a result
 * settled by pg_market_ws_settle borrows its consumers/producers arrays from
 * the workspace: they stay valid until the next pg_market_ws_settle or
 * pg_market_ws_reserve on it or pg_market_ws_free, and must never be passed
 * to pg_market_result_free (copy them to keep them).
 * Threads: a workspace is used by one thread at a time; different workspaces
 * settle concurrently (settlement has no global state). */
typedef struct pg_market_ws pg_market_ws;

/* An empty workspace (no memory reserved yet). PG_ERR_NOMEM. */
PG_NODISCARD int pg_market_ws_new(pg_market_ws **out, pg_diag *d);
/* Frees the workspace and every array it lent; NULL is ignored. */
void pg_market_ws_free(pg_market_ws *ws);
/* Reserves room for slots of up to n_consumers and n_producers (optional:
 * pg_market_ws_settle grows as needed). Invalidates results it lent.
 * PG_ERR_TOO_LARGE above PG_MARKET_MAX_PARTIES, PG_ERR_NOMEM (the workspace
 * then keeps its previous capacity). */
PG_NODISCARD int pg_market_ws_reserve(pg_market_ws *ws, size_t n_consumers, size_t n_producers,
                                      pg_diag *d);
/* Settles a slot like pg_market_settle, every mechanism, into *out whose
 * party arrays belong to ws (above). Same errors; on failure *out is zeroed
 * and the workspace stays usable. */
PG_NODISCARD int pg_market_ws_settle(pg_market_ws *ws, const pg_market_slot *slot,
                                     pg_market_mech mech, pg_market_result *out, pg_diag *d);

/* Participation factors: out[k] = floor(wh * percent[k] / 100), the slice of
 * one meter's slot energy taking part in community k (never more than wh in
 * all; the rest stays with the supplier). PG_ERR_INVALID when wh < 0, a
 * percent is outside 1..100 or they sum above 100. */
PG_NODISCARD int pg_market_participation_split(int64_t wh, const uint8_t *percent, size_t n,
                                               int64_t *out, pg_diag *d);

/* KPIs over a run of slots with the same participants (same counts; index i
 * is the same participant in every slot). */
typedef struct pg_market_kpis {
  size_t n_consumers, n_producers;
  size_t slots;
  int64_t demand_wh, supply_wh, community_wh;
  int64_t consumer_bills, consumer_baseline; /* sums over the run */
  int64_t producer_revenues, producer_baseline;
  int64_t total_savings;    /* consumers' + producers' savings */
  int64_t *consumer_bill;   /* owned, per consumer: sum of totals */
  int64_t *consumer_savings;
  int64_t *producer_revenue;
  int64_t *producer_savings;
} pg_market_kpis;

PG_NODISCARD int pg_market_kpis_init(pg_market_kpis *k, size_t n_consumers, size_t n_producers);
/* Adds one settled slot; PG_ERR_INVALID if its counts differ, PG_ERR_TOO_LARGE
 * if a run sum would overflow int64 (k is then unchanged). */
PG_NODISCARD int pg_market_kpis_add(pg_market_kpis *k, const pg_market_result *r);
void pg_market_kpis_free(pg_market_kpis *k);
/* Self-sufficiency = community energy consumed / demand; self-consumption =
 * community energy consumed / production; in parts per million, rounded
 * down; 0 when the denominator is 0. */
uint32_t pg_market_kpis_self_sufficiency_ppm(const pg_market_kpis *k);
uint32_t pg_market_kpis_self_consumption_ppm(const pg_market_kpis *k);
/* Fairness: the Gini coefficient (ppm, rounded down) of every participant's
 * (consumers then producers) run savings shifted by the smallest, x_i = s_i -
 * min s, so negative savings are allowed: G = sum_i sum_j |x_i-x_j| /
 * (2 n sum x). 0 when all savings are equal or there are no participants. */
PG_NODISCARD int pg_market_gini_ppm(const int64_t *savings, size_t n, uint32_t *out);
PG_NODISCARD int pg_market_kpis_gini_ppm(const pg_market_kpis *k, uint32_t *out);

/* Slot JSON (format above) from an in-memory buffer. On success *out owns its
 * arrays and ids (free with pg_market_slot_json_free); on failure nothing is
 * owned and the diag names the field. */
typedef struct pg_market_slot_json {
  pg_market_slot slot;
  pg_market_producer *producers; /* owned; slot.producers points here */
  pg_market_consumer *consumers;
  char *ids;                     /* owned storage for every id */
  uint8_t *group_rules;          /* owned; slot.group_rules points here */
} pg_market_slot_json;

PG_NODISCARD int pg_market_slot_from_json(const void *data, size_t len, pg_market_slot_json *out,
                                          pg_diag *d);
void pg_market_slot_json_free(pg_market_slot_json *s);

#endif
