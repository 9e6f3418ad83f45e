# bench/targets.awk — the figures of issue 18's targets out of a bench/run
# output ("name: value unit ..." lines), each beside its target, so a run
# ends with what it says about them. A report, not a test: nothing fails.
#
#   awk -f bench/targets.awk bench-output.txt
#
# A figure the run did not print (a benchmark that could not run) shows as
# "not measured".

function num(s) { gsub(/,/, "", s); return s + 0 }
function have(k) { return (k in v) }
function fmt(x, d) { return have(x) ? sprintf("%." d "f", v[x]) : "not measured" }
function grp(x,   s, r) { # 12345.6 -> "12,346"
  s = sprintf("%.0f", x); r = ""
  while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  return s r
}
function rate(k) { return have(k) ? grp(v[k]) : "not measured" }
# verdict: "met" / "not met" for a figure k against limit lim (le: at most)
function verdict(k, lim, le) {
  if (!have(k)) return ""
  return ((le && v[k] <= lim) || (!le && v[k] >= lim)) ? " met" : " not met"
}
function all_le(a, b, c, lim) {
  if (!have(a) || !have(b) || !have(c)) return ""
  return (v[a] <= lim && v[b] <= lim && v[c] <= lim) ? " met" : " not met"
}

/^[a-z0-9_.-]+: / {
  k = $1; sub(/:$/, "", k)
  v[k] = num($2)
  if (k == "sim_market_only_participant_slots_per_s" && match($0, /a year [0-9.]+ s/))
    v["year_1"] = num(substr($0, RSTART + 7, RLENGTH - 9))
  if (k == "sim_market_only_all_cores_participant_slots_per_s" && match($0, /a year [0-9.]+ s/))
    v["year_all"] = num(substr($0, RSTART + 7, RLENGTH - 9))
}

END {
  print ""
  print "== issue 18: this run's figures against the targets (a report: nothing fails) =="
  printf "market-only year, 1,040 participants, one thread: %s s (target <= 10 s:%s); on all cores %s s\n",
         fmt("year_1", 1), verdict("year_1", 10, 1), fmt("year_all", 1)
  printf "one slot of 100k + 100k: fixed %s, mmr %s, sdr %s ms (target <= 5 ms:%s)\n",
         fmt("market_settle_fixed_100k", 2), fmt("market_settle_mmr_100k", 2),
         fmt("market_settle_sdr_100k", 2),
         all_le("market_settle_fixed_100k", "market_settle_mmr_100k", "market_settle_sdr_100k", 5)
  a = "market_settle_pay-as-clear_100k"; b = "market_settle_pay-as-bid_100k"
  printf "  auctions: pay-as-clear %s, pay-as-bid %s ms (target <= 10 ms:%s)\n", fmt(a, 2), fmt(b, 2),
         all_le(a, b, a, 10)
  c = "mam_restricted_sec2_create_batch512_keys"; p = "mam_restricted_sec2_parse_batch512"
  x = ""
  if (have(c "_vs_mamjs") && have(p "_vs_mamjs"))
    x = (v[c "_vs_mamjs"] >= 1000 && v[p "_vs_mamjs"] >= 1000) ? " met" : " not met"
  printf "MAM security 2, 512 channels a batch, one core: create %s/s (target >= 10,000:%s), %s x mam.js; parse %s/s (target >= 20,000:%s), %s x mam.js (target >= 1,000 x:%s)\n", rate(c), verdict(c, 10000, 0), rate(c "_vs_mamjs"), rate(p), verdict(p, 20000, 0), rate(p "_vs_mamjs"), x
  i1 = "client_ingest_http_1_client"; i2 = "client_ingest_http_2_clients"; i8 = "client_ingest_http_8_clients"
  printf "node ingest over HTTP: 1 client %s (target >= 10,000:%s), 2 clients %s, 8 clients %s messages/s (target >= 10,000:%s)\n",
         rate(i1), verdict(i1, 10000, 0), rate(i2), rate(i8), verdict(i8, 10000, 0)
  b1 = "client_ingest_http_batch64_1_client"; b8 = "client_ingest_http_batch64_8_clients"
  printf "  in batches of 64 (POST /api/plugins/data/batch, what p2pgrid's own daemons send): 1 client %s (target >= 10,000:%s), 8 clients %s messages/s (target >= 10,000:%s)\n",
         rate(b1), verdict(b1, 10000, 0), rate(b8), verdict(b8, 10000, 0)
  t = "ledger_transfers_1000_per_milestone"
  printf "value transfers validated and confirmed: %s/s at 1,000 a milestone (target >= 5,000:%s), beside %s raw Ed25519 verifications/s\n",
         rate(t), verdict(t, 5000, 0), rate("ledger_ed25519_raw_verify")
  if (have("sim_full_1000_day_s"))
    printf "full-mode day of 1,000 homes: %s s (target <= 60 s:%s)\n", fmt("sim_full_1000_day_s", 1),
           verdict("sim_full_1000_day_s", 60, 1)
  else
    print "full-mode day of 1,000 homes: not run by make bench (bench/bench_sim 0 1000 96, minutes; target <= 60 s)"
  s = "footprint_source_solar_peak_rss"; w = "footprint_source_wind_peak_rss"; k = "footprint_consumer_1_peak_rss"
  src = have(s) && have(w) ? (v[s] > v[w] ? s : w) : s
  printf "peak RSS over 24 slots of 5 s: source %s MiB (target <= 8 MiB:%s), consumer %s MiB (target <= 16 MiB:%s); the linked libraries alone %s MiB\n",
         fmt(src, 1), verdict(src, 8, 1), fmt(k, 1), verdict(k, 16, 1), fmt("footprint_floor_peak_rss", 1)
}
