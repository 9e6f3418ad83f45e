#!/usr/bin/env bash
# integration/help_paths — every file of the source tree that a --help names
# (examples/..., docs/..., include/..., systemd/..., ...) exists (issue 20).
# Collects the help of the binary, of every command and of every action.
#
#   tests/integration/help_paths.sh P2PGRID_BINARY SOURCE_DIR
set -uo pipefail
bin=$1
src=$2
helps=$(mktemp)
trap 'rm -f "$helps"' EXIT

"$bin" --help >>"$helps" 2>&1
commands=$("$bin" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}')
[ -n "$commands" ] || { echo "FAIL: no command listed by p2pgrid --help" >&2; exit 1; }
for c in $commands; do
  "$bin" "$c" --help >>"$helps" 2>&1
  "$bin" help "$c" >>"$helps" 2>&1
done
# actions of the commands that have some (each takes --help of its own)
for ca in "mam publish" "mam read" "grid enrol" "grid quarantine" "grid audit-export" \
          "consumer audit-keys" "producer audit-keys" "dso import" "dso show" "dso reconcile" \
          "market settle" "wallet new" "ca init"; do
  # shellcheck disable=SC2086
  "$bin" $ca --help >>"$helps" 2>&1
done

fails=0
paths=$(grep -oE '(examples|docs|include|systemd|debian|packaging|scripts|web|tests)/[A-Za-z0-9_./{}-]*' "$helps" |
        sed -E 's/[.,;:)]+$//' | sort -u)
[ -n "$paths" ] || { echo "FAIL: no path found in the help texts" >&2; exit 1; }
for p in $paths; do
  if [ -e "$src/$p" ]; then
    echo "ok: $p"
  else
    echo "FAIL: a --help names $p, which is not in the source tree" >&2
    grep -n -- "$p" "$helps" | head -n 3 >&2
    fails=$((fails + 1))
  fi
done
echo "$(echo "$paths" | wc -l) path(s), $fails missing"
[ "$fails" = 0 ]
