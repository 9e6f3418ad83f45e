#!/usr/bin/env bash
# integration/grid_start — examples/grid/start supervises: a daemon killed
# with SIGKILL is started again while the other daemons keep running (same
# pids), and TERM to the script stops every daemon, also when it arrives
# while the script polls the grid's status.
#
#   tests/integration/grid_start.sh P2PGRID_BINARY EXAMPLES_GRID_DIR
#
# Runs a copy of examples/grid in a temporary directory (its run/ folder is
# written there, not in the source tree). The example uses fixed ports
# (14265, 8080, 8081): ctest holds a resource lock for them.
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
start_pid=

fail() {
  echo "FAIL: $*" >&2
  echo "---- start's output" >&2
  cat "$tmp/start.out" >&2 || true
  for f in "$tmp"/run/*.log; do
    echo "---- $f (tail)" >&2
    tail -n 15 "$f" >&2 || true
  done
  exit 1
}

# pids of the daemons started from $tmp (their cwd), as "cmd pid" lines
daemons() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$tmp" ] || continue
    local cmd
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in
    "$bin "*) echo "$(echo "$cmd" | awk '{print $2"/"$4}') ${p#/proc/}" ;;
    esac
  done | sort
}
pid_of() { daemons | awk -v k="$1" '$1 == k {print $2}'; }

cleanup() {
  if [ -n "$start_pid" ] && kill -0 "$start_pid" 2>/dev/null; then
    kill -TERM "$start_pid" 2>/dev/null || true
    wait "$start_pid" 2>/dev/null || true
  fi
  local rest
  rest=$(daemons | awk '{print $2}')
  if [ -n "$rest" ]; then kill -9 $rest 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

for port in 14265 8080 8081; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "FAIL: port $port is in use; examples/grid/start needs 14265, 8080 and 8081" >&2
    exit 1
  fi
done

cp "$src"/*.ini "$src"/start "$tmp"/
tmp=$(cd "$tmp" && pwd -P)
P2PGRID=$bin "$tmp/start" >"$tmp/start.out" 2>&1 &
start_pid=$!

op=(curl -sf --max-time 5 --cacert "$tmp/run/ca/ca.crt" --cert "$tmp/run/operator.crt"
    --key "$tmp/run/operator.key")
up() { # waits until the grid's status answers
  for _ in $(seq 600); do
    "${op[@]}" https://127.0.0.1:8080/api/status >/dev/null 2>&1 && return 0
    kill -0 "$start_pid" 2>/dev/null || fail "start exited early"
    sleep 0.2
  done
  return 1
}
up || fail "the grid never answered"
# every daemon of the example is running
for k in node/node.ini grid/grid.ini producer/producer-1.ini source/source-solar.ini \
         source/source-wind.ini consumer/consumer-1.ini consumer/consumer-2.ini; do
  for _ in $(seq 300); do [ -n "$(pid_of "$k")" ] && break; sleep 0.2; done
  [ -n "$(pid_of "$k")" ] || fail "$k is not running"
done
before=$(daemons)
grid_pid=$(pid_of grid/grid.ini)
echo "running: $(echo "$before" | tr '\n' ' ')"

kill -9 "$grid_pid"
for _ in $(seq 300); do
  g=$(pid_of grid/grid.ini)
  [ -n "$g" ] && [ "$g" != "$grid_pid" ] && break
  sleep 0.2
done
g=$(pid_of grid/grid.ini)
[ -n "$g" ] && [ "$g" != "$grid_pid" ] || fail "the grid was not started again after kill -9"
grep -q "grid exited (status 137)" "$tmp/start.out" || fail "start did not report the grid's exit"
up || fail "the restarted grid does not answer"
# the others kept running: the same pids as before the kill
after=$(daemons)
for k in node/node.ini producer/producer-1.ini source/source-solar.ini source/source-wind.ini \
         consumer/consumer-1.ini consumer/consumer-2.ini; do
  b=$(echo "$before" | awk -v k="$k" '$1 == k {print $2}')
  a=$(echo "$after" | awk -v k="$k" '$1 == k {print $2}')
  [ "$a" = "$b" ] || fail "$k was restarted too (pid $b -> ${a:-none})"
done
kill -0 "$start_pid" 2>/dev/null || fail "start exited after the grid was killed"
echo "grid restarted (pid $grid_pid -> $g); node, producer, sources and consumers kept running"

# TERM while the script polls the grid's status, not while it sleeps between
# polls: the grid is stopped (SIGSTOP) so the poll hangs in curl, the sleeper
# is gone. start must still end with 143 and stop every daemon (a stop that
# read the finished sleeper's pid as live exited 1 under set -e).
kill -STOP "$g"
# The script may be in a poll right now (one that began while the restarted
# grid was coming up ends just after `up` saw it answer, or hangs on the
# stopped grid until curl's 5 s --max-time): its sleeper comes after that.
sl=
for _ in $(seq 75); do
  sl=$(pgrep -P "$start_pid" -x sleep || true)
  [ -n "$sl" ] && break
  sleep 0.2
done
[ -n "$sl" ] || { kill -CONT "$g"; fail "start has no sleeper between status polls"; }
kill "$sl"
sleep 1
kill -TERM "$start_pid"
sleep 0.5
kill -CONT "$g"
rc=0
wait "$start_pid" || rc=$?
start_pid=
[ "$rc" = 143 ] || fail "start exited with $rc after TERM (expected 143)"
left=$(daemons)
[ -z "$left" ] || fail "daemons still running after start stopped: $left"
echo "TERM stopped every daemon"
