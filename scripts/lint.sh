#!/usr/bin/env bash
# go vet (with and without the integration tag) and a gofmt check over every module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bad=$(git ls-files -co --exclude-standard '*.go' | grep -v '\.pb\.go$' | xargs -r gofmt -l)
if [ -n "$bad" ]; then
  echo "gofmt would change:" >&2
  echo "$bad" >&2
  exit 1
fi
for dir in $(go list -m -f '{{.Dir}}'); do
  (cd "$dir" && go vet ./... && go vet -tags integration ./...)
done
echo "lint: ok"
