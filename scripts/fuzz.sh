#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME (default 10s) each, one at a
# time (go test -fuzz takes one target per run). Fails on the first crasher;
# the failing input is saved under the package's testdata/fuzz by go test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
found=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found + 1))
    echo "== $dir $target ($fuzztime)"
    go test "./$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
  done
done < <(find . -name '*_test.go' -not -path './.git/*' | sort)
echo "fuzzed $found targets"
