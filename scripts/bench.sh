#!/usr/bin/env bash
# `make bench`: the Go benchmarks of every module (hot paths, and Kafka on a real broker),
# then the pipeline load tool (e2e/cmd/pipeline-bench) on the same broker: the Kafka path
# against kcat (librdkafka) on the same lines, latency at rising rates, 1-3 classifiers.
# Uses KAFKA_BROKERS when set, else starts a private broker (scripts/with-kafka.sh).
#
# Environment: BENCHTIME (go test -benchtime, default 2s), BENCH_PIPELINE_ARGS (flags of
# pipeline-bench, e.g. "--rates 500,1000 --step 5s" or "--sections kafka"),
# BENCH_SKIP_GO=1 (only the pipeline).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# kcat is the native client the Kafka path is compared with, in the same run.
if ! command -v kcat >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: installing Debian's kcat" >&2
    (apt-get install -y -qq kcat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq kcat; }) >&2
  fi
  command -v kcat >/dev/null || {
    echo "bench: kcat not found; install it (Debian: apt-get install -y kcat) — make bench compares with it" >&2
    exit 1
  }
fi
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
