#!/usr/bin/env bash
# integration/cli_careless — the command line tried as a careless user would
# (issue 20): every case runs the real binary and checks the exit status, that
# stderr names the real cause and echoes the bad value, and that a refused
# start leaves nothing behind.
#
#   tests/integration/cli_careless.sh P2PGRID_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fails=0
demo=$src/examples/scenarios/demo.ini
nodeini=$src/examples/node.ini

bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect STATUS 'SUBSTRING'... -- COMMAND...: exit status STATUS and every
# substring in stderr
expect() {
  local want=$1 subs=()
  shift
  while [ "$1" != -- ]; do subs+=("$1"); shift; done
  shift
  local rc=0
  timeout 20 "$@" >"$tmp/.stdout" 2>"$tmp/err" </dev/null || rc=$?
  local what="p2pgrid ${*:2}"
  [ "$rc" = "$want" ] || bad "$what: exit status $rc, expected $want; stderr: $(head -c 600 "$tmp/err")"
  for s in "${subs[@]}"; do
    grep -qF -- "$s" "$tmp/err" || bad "$what: stderr lacks '$s': $(head -c 600 "$tmp/err")"
  done
  echo "ok: $what -> $(head -n 1 "$tmp/err")"
}
# absent PATH WHAT: nothing at PATH
absent() { [ ! -e "$1" ] || bad "$2 left $1 behind: $(ls -la "$1" 2>&1 | head -n 5)"; }

mkdir adir
printf 'abc\n' >odd.seed
printf '0011\n' >short.seed
printf '00zz00112233445566778899aabbccdd\n' >nothex.seed

# ---- errors name the real cause and echo the bad value ----
expect 2 "adir" "is a directory" -- "$bin" sim adir
expect 2 "adir" "is a directory" -- "$bin" node -c adir
expect 2 "adir" "is a directory" -- "$bin" wallet address --hrp atoi --seed-file adir
expect 2 "adir" "is a directory" -- "$bin" wallet address --hrp atoi --mnemonic-file adir
expect 2 "odd.seed" "odd number of hex characters" -- "$bin" wallet address --hrp atoi --seed-file odd.seed
grep -q abc "$tmp/err" && bad "the seed's characters were printed (a secret)"
expect 2 "short.seed" "2 bytes" "16 to 64 bytes" -- "$bin" wallet address --hrp atoi --seed-file short.seed
expect 2 "nothex.seed" "not a hex character" -- "$bin" wallet address --hrp atoi --seed-file nothex.seed
P2PGRID_SEED=abc expect 2 "P2PGRID_SEED" "odd number of hex characters" -- "$bin" wallet address --hrp atoi
# a --set value is named as given, not a line of the file
expect 2 "--set scenario.slot=abc" "'abc' is not a duration" -- "$bin" sim "$demo" --set scenario.slot=abc
grep -q "demo.ini" "$tmp/err" && bad "--set scenario.slot=abc named the scenario file"
expect 2 "--set scenario.start=2025-13-01" -- "$bin" sim "$demo" --set scenario.start=2025-13-01
expect 2 "--set market.mechanism=foo" -- "$bin" sim "$demo" --set market.mechanism=foo
expect 2 "--set scenario.nosuch=1" "unknown setting" -- "$bin" sim "$demo" --set scenario.nosuch=1
expect 2 "--set" "'foo'" "SECTION.KEY=VALUE" -- "$bin" sim "$demo" --set foo
expect 2 "--port abc" "'abc'" -- "$bin" node -c "$nodeini" -d fresh-port -p abc
absent fresh-port "node --port abc"
expect 2 "--set api.port=99999" "'99999'" -- "$bin" node -c "$nodeini" -d fresh-set --set api.port=99999
absent fresh-set "node --set api.port=99999"
expect 2 "--log-level foo" -- "$bin" node -d fresh-lvl -l foo
absent fresh-lvl "node --log-level foo"
expect 2 "--set ledger.genesis=junk" "'junk'" -- "$bin" node -d fresh-gen/a/b --set ledger.genesis=junk
absent fresh-gen "node --set ledger.genesis=junk (checked after the data dir is locked)"
expect 2 "nonexist" -- "$bin" node -d fresh-gf --set ledger.genesis_file=nonexist
absent fresh-gf "node --set ledger.genesis_file=nonexist"
expect 2 "--set api.port=abc" -- "$bin" grid -c "$src/examples/grid/grid.ini" \
  --set "grid.data_dir=$tmp/fresh-grid" --set api.port=abc
absent fresh-grid "grid --set api.port=abc"
expect 2 "no-such.key" -- "$bin" grid -c "$src/examples/grid/grid.ini" \
  --set "grid.data_dir=$tmp/fresh-grid2" --set tls.key=no-such.key
absent fresh-grid2 "grid --set tls.key=no-such.key (checked after the data dir is locked)"
expect 2 "--security" "'7'" -- "$bin" mam publish -n http://127.0.0.1:1 \
  -s fresh-mam.json -S 7 hello
absent fresh-mam.json "mam publish -S 7"
absent fresh-mam.json.lock "mam publish -S 7"

# ---- a read-only file system is named as such ----
if unshare -Urm true 2>/dev/null; then
  mkdir ro
  unshare -Urm sh -c "mount -t tmpfs -o ro none '$tmp/ro' && \
    '$bin' sim '$demo' --market-only -q -o '$tmp/ro/out'" 2>"$tmp/err" && bad "sim wrote to a read-only file system"
  grep -q "Read-only file system" "$tmp/err" || bad "sim -o on a read-only fs: $(cat "$tmp/err")"
  grep -q "$tmp/ro/out" "$tmp/err" || bad "sim -o on a read-only fs does not name the directory: $(cat "$tmp/err")"
  unshare -Urm sh -c "mount -t tmpfs -o ro none '$tmp/ro' && \
    '$bin' wallet new --seed-file '$tmp/ro/a.seed'" 2>"$tmp/err" && bad "wallet new wrote to a read-only fs"
  grep -q "Read-only file system" "$tmp/err" || bad "wallet new on a read-only fs: $(cat "$tmp/err")"
  echo "ok: read-only file system named"
else
  echo "skip: no user namespaces (unshare -Urm) for the read-only file system cases"
fi

# ---- repeated or contradictory options ----
expect 2 "--full" "--market-only" -- "$bin" sim "$demo" --full --market-only -o two-modes
absent two-modes "sim --full --market-only"
expect 2 "--out" "'a'" "'b'" -- "$bin" sim "$demo" -o a -o b
absent a "sim -o a -o b"
absent b "sim -o a -o b"
expect 2 "--serve" "--market-only" -- "$bin" sim "$demo" --market-only --serve 0
expect 2 "--pace" "--serve" -- "$bin" sim "$demo" --pace 2s
expect 2 "unexpected argument" "second.ini" -- "$bin" sim "$demo" second.ini
expect 2 "--set scenario.slot=5m" "--set scenario.slot=10m" -- \
  "$bin" sim "$demo" --set scenario.slot=5m --set scenario.slot=10m
expect 2 "--port" "'0'" "'1'" -- "$bin" node -d fresh-2p -p 0 -p 1
absent fresh-2p "node -p 0 -p 1"
expect 2 "--data-dir" "'d1'" "'d2'" -- "$bin" node -d d1 --data-dir d2 -p 0
absent d1 "node -d d1 --data-dir d2"
absent d2 "node -d d1 --data-dir d2"
expect 2 "--port 0" "--set api.port=2" -- "$bin" node -d fresh-ps -p 0 --set api.port=2
absent fresh-ps "node -p 1 --set api.port=2"
expect 2 "--config" -- "$bin" node -c "$nodeini" -c "$nodeini" -d fresh-2c -p 0
expect 2 "--config" -- "$bin" grid -c "$src/examples/grid/grid.ini" -c x.ini
expect 2 "--seed-file" "--mnemonic-file" -- "$bin" wallet address --hrp atoi --seed-file a --mnemonic-file b
expect 2 "--node" -- "$bin" wallet balance --node http://a --node http://b --seed-file odd.seed
expect 2 "--export" "--member-keys" -- "$bin" audit --export a --member-keys b --node x
expect 2 "--sim-out" "--grid-db" -- "$bin" invoice --month 2025-06 --sim-out a --grid-db b \
  --config "$demo" --out inv
absent inv "invoice --sim-out --grid-db"
expect 2 "--mechanism" -- "$bin" market settle --mechanism sdr --mechanism fixed \
  --input "$src/examples/slot.json"
expect 2 "--dir" -- "$bin" ca init --dir c1 --dir c2
absent c1 "ca init --dir c1 --dir c2"
expect 2 "--state" -- "$bin" mam publish -n http://127.0.0.1:1 -s a.json -s b.json hi
expect 2 "--check" "--out" -- "$bin" backup --check a --out b
expect 2 "--in" -- "$bin" restore --in a --in b --data-dir r
absent r "restore --in a --in b"

# ---- a duration that is not a whole number of slots ----
expect 2 "duration" "70m" "15m" "whole number of slots" -- \
  "$bin" sim "$demo" --market-only --set scenario.duration=70m -o frac
absent frac "sim with a fractional duration"

# ---- --set ledger.genesis_file=F replaces the file's genesis = ... ----
# (examples/node.ini: 1 output of 1000000000 on the test seed's address)
printf '# one output\n%s 5000000\n' "$(printf '11%.0s' $(seq 32))" >genesis.txt
# run_node LOG ARGS...: starts the node with stderr to LOG (a log of its own:
# grepping a log an earlier run left could signal a child not yet exec'd, and
# the shell's child would then run this script's EXIT trap), waits until it
# runs, stops it with SIGTERM and expects a clean exit
run_node() {
  local log=$1 rc=0
  shift
  "$bin" node -c "$nodeini" -p 0 -l info "$@" >/dev/null 2>"$log" &
  local pid=$!
  for _ in $(seq 600); do
    grep -q "running (pid $pid)" "$log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || bad "node $*: exit status $rc after SIGTERM; log: $(tail -n 3 "$log")"
}
run_node node1.log -d gen-node --set "ledger.genesis_file=$tmp/genesis.txt"
grep -q "ledger: 1 genesis outputs, 5000000 base units" node1.log ||
  bad "--set ledger.genesis_file did not replace the genesis of node.ini: $(grep -m1 genesis node1.log)"
echo "ok: --set ledger.genesis_file replaces: $(grep -o 'ledger: .*base units' node1.log)"
run_node node2.log -d gen-node2 --set "ledger.genesis=$(printf '22%.0s' $(seq 32)):7000000"
grep -q "ledger: 1 genesis outputs, 7000000 base units" node2.log ||
  bad "--set ledger.genesis did not replace the genesis of node.ini: $(grep -m1 genesis node2.log)"
echo "ok: --set ledger.genesis replaces: $(grep -o 'ledger: .*base units' node2.log)"

echo "$fails failure(s)"
[ "$fails" = 0 ]
