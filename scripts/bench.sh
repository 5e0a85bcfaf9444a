#!/usr/bin/env bash
# `make bench`: the Go benchmarks of every module (hot paths, and Kafka on a real broker),
# then the pipeline load tool (e2e/cmd/pipeline-bench) on the same broker. Uses
# KAFKA_BROKERS when set, else starts a private broker (scripts/with-kafka.sh).
#
# Environment: BENCHTIME (go test -benchtime, default 2s), BENCH_PIPELINE_ARGS (flags of
# pipeline-bench, e.g. "--rates 500,1000 --step 5s"), BENCH_SKIP_GO=1 (only the pipeline).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bench_all() {
  if [ "${BENCH_SKIP_GO:-}" != 1 ]; then
    for dir in $(go list -m -f '{{.Dir}}'); do
      echo "== go test -bench: ${dir#"$root"/}"
      (cd "$dir" && go test -tags integration -run '^$' -bench . -benchtime "${BENCHTIME:-2s}" ./...)
    done
  fi
  echo "== pipeline-bench"
  # shellcheck disable=SC2086
  (cd e2e && go run ./cmd/pipeline-bench --brokers "$KAFKA_BROKERS" ${BENCH_PIPELINE_ARGS:-})
}
export -f bench_all
export root
scripts/with-kafka.sh bash -c bench_all
