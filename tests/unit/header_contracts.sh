#!/bin/sh
# tests/unit/header_contracts.sh — every public header states its contract.
#
#   tests/unit/header_contracts.sh INCLUDE_DIR
#
# Each include/p2pgrid/<module>/<name>.h must open (line 1) with a comment
# block whose lines include, each at the start of a comment line (" * "):
#   " * Ownership: ..."  who allocates and who frees what (or: nothing is owned)
#   " * Errors: ..."     how failures are reported (return codes, pg_diag)
#   " * Threads: ..."    what may be called concurrently
# with text after the colon. The rule is for the top comment only: a marker
# further down the file does not count. Headers must sit in a module folder
# (include/p2pgrid/<module>/), never directly in include/p2pgrid/.
# Before the real headers the script checks itself on made-up headers, so a
# checker that stopped failing would fail here. Exit 0 when all hold, else 1
# with one line per missing marker: "FILE: no 'Threads:' line in the top comment".
set -u

# check_one FILE: prints what FILE lacks; returns 1 when something is missing.
check_one() {
  awk -v f="$1" '
    NR == 1 && $0 !~ /^\/\*/ { print f ": does not open with a comment (line 1)"; bad = 1; exit }
    { top = top "\n" $0 }
    /\*\// { exit }
    END {
      if (bad) exit 1
      n = split("Ownership Errors Threads", k, " ")
      for (i = 1; i <= n; i++)
        if (top !~ ("\n(/\\*| \\*) " k[i] ": *[^ \n]"))
          { print f ": no \047" k[i] ":\047 line in the top comment"; miss = 1 }
      exit miss
    }' "$1"
}

fail=0
# self-test: a good header passes, each missing marker is caught.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf '/* x.h — a thing.\n * Ownership: none.\n * Errors: none.\n * Threads: any. */\n' >"$tmp/good.h"
printf '/* x.h — a thing.\n * Ownership: none.\n * Errors: none. */\n/* Threads: any. */\n' >"$tmp/late.h"
printf '/* x.h — a thing.\n * Ownership: none.\n * Threads: any. Errors: mid-line. */\n' >"$tmp/midline.h"
printf '#pragma once\n/* Ownership: a.\n * Errors: b.\n * Threads: c. */\n' >"$tmp/nocomment.h"
printf '/* x.h\n * Ownership:\n * Errors: b.\n * Threads: c. */\n' >"$tmp/empty.h"
check_one "$tmp/good.h" >/dev/null || { echo "self-test: a complete header was refused"; fail=1; }
for h in late midline nocomment empty; do
  if check_one "$tmp/$h.h" >/dev/null; then echo "self-test: $h.h was accepted"; fail=1; fi
done

dir=${1:?usage: header_contracts.sh INCLUDE_DIR}
[ -d "$dir/p2pgrid" ] || { echo "$dir/p2pgrid: no such directory"; exit 1; }
for h in "$dir"/p2pgrid/*.h; do
  [ -e "$h" ] && { echo "$h: a public header outside a module folder"; fail=1; }
done
count=0
for h in "$dir"/p2pgrid/*/*.h; do
  count=$((count + 1))
  check_one "$h" || fail=1
done
[ "$count" -gt 0 ] || { echo "$dir/p2pgrid: no headers found"; fail=1; }
[ "$fail" -eq 0 ] && echo "header_contracts: $count public headers state ownership, errors and threads"
exit "$fail"
