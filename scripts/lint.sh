#!/usr/bin/env bash
# `make lint`: gofmt, go vet, staticcheck (with and without the integration tag) over every
# module, and deadcode over the whole workspace (tests and integration tests count as
# callers). The tools' versions are pinned in scripts/tools/go.mod; they are built once
# into .cache/bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/.cache/bin"

bad=$(git ls-files -co --exclude-standard '*.go' | grep -v '\.pb\.go$' | xargs -r gofmt -l)
if [ -n "$bad" ]; then
  echo "gofmt would change:" >&2
  echo "$bad" >&2
  exit 1
fi

# Built binaries and other large blobs do not belong in the repository (make build
# writes to bin/, which is ignored): any tracked ELF file or file over 2 MB fails.
big=$(git ls-files -z | python3 -c '
import os, sys
for f in sys.stdin.buffer.read().split(b"\0"):
    if f and os.path.isfile(f):
        with open(f, "rb") as h:
            if h.read(4) == b"\x7fELF" or os.path.getsize(f) > 2 << 20:
                print(f.decode())
')
if [ -n "$big" ]; then
  echo "lint: binaries or files over 2 MB are tracked (build outputs go to bin/):" >&2
  echo "$big" >&2
  exit 1
fi

mkdir -p "$bin"
(cd scripts/tools && GOWORK=off go build -o "$bin/" honnef.co/go/tools/cmd/staticcheck golang.org/x/tools/cmd/deadcode) ||
  { echo "lint: building staticcheck/deadcode from scripts/tools/go.mod failed" >&2; exit 1; }

failed=0
for dir in $(go list -m -f '{{.Dir}}'); do
  rel=${dir#"$root"/}
  (cd "$dir" && go vet ./... && go vet -tags integration ./...) || { echo "lint: go vet failed in $rel" >&2; failed=1; }
  (cd "$dir" && "$bin/staticcheck" ./... && "$bin/staticcheck" -tags integration ./...) ||
    { echo "lint: staticcheck failed in $rel" >&2; failed=1; }
done

# Functions no main, test or integration test of any module reaches.
dead=$("$bin/deadcode" -test -tags integration $(go list -m -f '{{.Path}}/...'))
if [ -n "$dead" ]; then
  echo "lint: unreachable code (delete it, or use it):" >&2
  echo "$dead" >&2
  failed=1
fi
[ $failed -eq 0 ] || exit 1
echo "lint: ok"
