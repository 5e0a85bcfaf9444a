#!/usr/bin/env bash
# Runs every Fuzz target of every module for the given time each (default 10s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t=${1:-10s}
for dir in $(go list -m -f '{{.Dir}}'); do
  (cd "$dir"
   for pkg in $(go list ./...); do
     for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
       echo "== $pkg $f ($t)"
       go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
     done
   done)
done
