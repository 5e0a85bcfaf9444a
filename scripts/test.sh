#!/usr/bin/env bash
# `make test`: generated code fresh, lint, a GOWORK=off build of every service, then the
# unit and integration tests of every module against a real broker (scripts/with-kafka.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s\n' "$*"; }

step "protobuf code is up to date"
scripts/proto.sh check

step "lint"
scripts/lint.sh

step "go.mod files are tidy; each service builds on its own (GOWORK=off)"
for m in $(go list -m -f '{{.Dir}}'); do
  (cd "$m" && GOWORK=off go mod tidy -diff >/dev/null) || {
    echo "${m#"$root"/}: go.mod/go.sum not tidy; run: (cd ${m#"$root"/} && GOWORK=off go mod tidy)" >&2
    exit 1
  }
done
for s in services/*/; do
  (cd "$s" && GOWORK=off go build -o /dev/null ./...)
done
echo "ok"

step "unit + integration tests (real Kafka)"
modules=$(go list -m -f '{{.Dir}}')
# Packages whose own code starts goroutines (go statements, errgroup's Go) run under the race detector; the rest without
# it (it costs build and run time where it cannot find anything).
split_packages() {
  race=() plain=()
  local ip dir files
  while IFS='|' read -r ip dir files; do
    if [ -n "$files" ] && (cd "$dir" && grep -qE '^[[:space:]]*go (func|[[:alnum:]_.]+\()|\.Go\(func' $files); then
      race+=("$ip")
    else
      plain+=("$ip")
    fi
  done < <(go list -tags integration -f '{{.ImportPath}}|{{.Dir}}|{{join .GoFiles " "}}' ./...)
}
run_tests() {
  local failed=0
  for dir in $modules; do
    echo "-- ${dir#"$root"/}"
    (
      cd "$dir"
      split_packages
      rc=0
      if [ ${#race[@]} -gt 0 ]; then
        go test -race -tags integration -count=1 -timeout 10m ${GOTESTFLAGS:-} "${race[@]}" || rc=1
      fi
      if [ ${#plain[@]} -gt 0 ]; then
        go test -tags integration -count=1 -timeout 10m ${GOTESTFLAGS:-} "${plain[@]}" || rc=1
      fi
      exit $rc
    ) || failed=1
  done
  return $failed
}
export -f split_packages
export -f run_tests
export modules root
scripts/with-kafka.sh bash -c run_tests
