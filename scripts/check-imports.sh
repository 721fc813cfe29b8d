#!/usr/bin/env bash
# Enforces the one-way import rule of ARCHITECTURE.md:
#   gateway -> {sn, coap, lwm2m, stomp, adapters} -> {codec, core}
# - codec/... imports nothing from the module except codec/... itself;
# - core/... imports only core/...;
# - adapters/..., sn, coap, lwm2m, stomp never import gateway/...;
# - a protocol folder never imports another protocol folder;
# - internal/testkit is imported by tests only.
# Prints every violation and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
status=0

violations() { # $1 = package pattern, $2 = regexp of forbidden import paths (relative to module)
  go list -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}' "$1" 2>/dev/null |
    while read -r pkg imports; do
      for imp in $imports; do
        case "$imp" in "$mod"/*) ;; *) continue ;; esac
        rel=${imp#"$mod"/}
        if [[ "$rel" =~ $2 ]]; then echo "${pkg#"$mod"/} imports $rel"; fi
      done
    done
}

check() { # $1 = package pattern, $2 = forbidden regexp, $3 = rule
  local out
  out=$(violations "$1" "$2")
  if [ -n "$out" ]; then
    echo "import rule broken ($3):"
    echo "$out" | sed 's/^/  /'
    status=1
  fi
}

protocols='^(sn|coap|lwm2m|stomp)(/|$)'
check ./codec/... '^(gateway|adapters|core|sn|coap|lwm2m|stomp|configs|scripts)(/|$)' 'codec imports nothing above it'
check ./core/... '^(gateway|adapters|codec|sn|coap|lwm2m|stomp|configs|scripts)(/|$)' 'core imports only core'
check ./adapters/... "^gateway(/|\$)|$protocols" 'adapters know neither gateway nor a protocol folder'
for p in sn coap lwm2m stomp; do
  others=$(echo "sn coap lwm2m stomp" | tr ' ' '\n' | grep -vx "$p" | paste -sd'|')
  check "./$p/..." "^gateway(/|\$)|^($others)(/|\$)" "$p imports neither gateway nor another protocol"
done
# internal/testkit is for tests: no package's own (non-test) imports name it.
prod=$(go list -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' ./... 2>/dev/null | awk -v t="$mod/internal/testkit" '{ for (i = 2; i <= NF; i++) if ($i == t) print $1 }')
if [ -n "$prod" ]; then
  echo "import rule broken (internal/testkit only from tests):"
  echo "$prod" | sed "s|^$mod/|  |"
  status=1
fi
[ "$status" -eq 0 ] && echo "import directions ok"
exit "$status"
