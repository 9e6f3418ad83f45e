#!/bin/sh
# docs_links.sh ROOT — the documentation's links hold:
#  1. every relative link [text](target) in README.md, docs/*.md and
#     docs/internals/*.md names a file or directory that exists (resolved
#     from the linking file's directory; "#anchor" parts and http(s):,
#     mailto: links are not checked);
#  2. every module src/<m>/ has its page docs/internals/<m>.md, listed in
#     docs/internals/README.md;
#  3. every public header include/p2pgrid/<m>/*.h is linked from its
#     module's page.
# Prints one line per problem and exits 1 if there is any.
set -u
root=${1:-$(dirname "$0")/../..}
cd "$root" || { echo "docs_links: cannot enter $root"; exit 1; }
bad=0
fail() { echo "docs_links: $*"; bad=1; }
tab=$(printf '\t')

for f in README.md docs/*.md docs/internals/*.md; do
  [ -f "$f" ] || continue
  dir=$(dirname "$f")
  # [text](target) and [text](target "title") outside ``` blocks:
  # "line<TAB>target" per link
  links=$(awk '/^[ \t]*```/ { fence = !fence; next }
  !fence {
    s = $0
    while (match(s, /\]\([^)]*\)/)) {
      t = substr(s, RSTART + 2, RLENGTH - 3)
      sub(/[ \t].*$/, "", t)
      print NR "\t" t
      s = substr(s, RSTART + RLENGTH)
    }
  }' "$f")
  while IFS="$tab" read -r line target; do
    case "$target" in
      ''|'#'*|http://*|https://*|mailto:*) continue ;;
    esac
    path=${target%%#*}
    [ -n "$path" ] || continue
    [ -e "$dir/$path" ] || fail "$f:$line: link to '$target': no such file ($dir/$path)"
  done <<LINKS
$links
LINKS
done

for d in src/*/; do
  m=$(basename "$d")
  page=docs/internals/$m.md
  if [ ! -f "$page" ]; then
    fail "module src/$m has no page $page"
    continue
  fi
  grep -q "]($m\.md)" docs/internals/README.md 2>/dev/null ||
    fail "docs/internals/README.md does not link $m.md"
  for h in include/p2pgrid/"$m"/*.h; do
    [ -f "$h" ] || continue
    grep -q "](\.\./\.\./$h)" "$page" ||
      fail "$page does not link its public header $h"
  done
done

[ "$bad" -eq 0 ] && echo "docs_links: ok"
exit "$bad"
