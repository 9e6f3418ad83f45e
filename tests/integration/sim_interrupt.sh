#!/usr/bin/env bash
# integration/sim_interrupt — `p2pgrid sim` stopped by SIGINT and by SIGTERM
# during a run (issue 20): it says "interrupted" on stderr, exits 130 / 143,
# and the finished output of an earlier run in the same directory is left
# byte for byte as it was, with no half-written file or directory beside it.
#
#   tests/integration/sim_interrupt.sh P2PGRID_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
demo=$src/examples/scenarios/demo.ini
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" sim "$demo" --market-only -q -o out/run || fail "the first (finished) run failed"
(cd out/run && find . -type f | sort | xargs sha256sum) >before.sum
[ -s out/run/summary.json ] || fail "the first run wrote no summary.json"

for sig in INT TERM; do
  # a year of slots: long enough to be stopped in the middle
  "$bin" sim "$demo" --market-only --set scenario.duration=365d -o out/run 2>err.txt >/dev/null &
  pid=$!
  for _ in $(seq 100); do # until the run is under way (its progress lines)
    grep -q "slots" err.txt 2>/dev/null && break
    sleep 0.05
  done
  kill -s "$sig" "$pid"
  rc=0
  wait "$pid" || rc=$?
  pid=
  want=130
  [ "$sig" = TERM ] && want=143
  [ "$rc" = "$want" ] || fail "SIG$sig: exit status $rc, expected $want; stderr: $(tail -n 3 err.txt)"
  grep -q "interrupted" err.txt || fail "SIG$sig: stderr does not say interrupted: $(tail -n 3 err.txt)"
  (cd out/run && find . -type f | sort | xargs sha256sum) >after.sum
  cmp -s before.sum after.sum || fail "SIG$sig changed the earlier output: $(diff before.sum after.sum)"
  left=$(ls -A out | grep -v '^run$')
  [ -z "$left" ] || fail "SIG$sig left $left beside the output"
  echo "ok: SIG$sig -> $rc, $(grep interrupted err.txt)"
done

# a run killed with SIGKILL cannot clean up: the next run into the same
# directory removes its work directory (its process is gone), and leaves the
# one of a run still going (here: this shell's own pid)
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -p "out/run.partial-$dead/sub" "out/run.partial-$$" out/run.partial-x
echo half >"out/run.partial-$dead/sub/slots.csv"
# a finished run replaces the earlier output
"$bin" sim "$demo" --market-only -q --set scenario.duration=2d -o out/run 2>err.txt || fail "the last run failed"
[ ! -e "out/run.partial-$dead" ] || fail "the work directory of a killed run (pid $dead) is still there"
grep -q "run.partial-$dead" err.txt || fail "the removal of run.partial-$dead was not said: $(cat err.txt)"
[ -d "out/run.partial-$$" ] || fail "the work directory of a live process ($$) was removed"
[ -d out/run.partial-x ] || fail "a directory not named by a pid was removed"
echo "ok: a killed run's work directory removed: $(grep -m1 partial err.txt)"
rmdir "out/run.partial-$$" out/run.partial-x
grep -q '"slots": 192' out/run/summary.json || fail "the last run's summary.json is not in place"
[ -z "$(ls -A out | grep -v '^run$')" ] || fail "a finished run left $(ls -A out) beside the output"
echo "ok: a finished run replaces the output"
