#!/usr/bin/env bash
# Runs a command with a real Kafka broker: the one in KAFKA_BROKERS when set, else a
# private broker this script starts on KAFKA_TEST_PORT (default 19092, so a broker you run
# on 9092 with `make kafka-up` is left alone) and stops, data deleted, when the command ends.
# When the broker cannot be started the command does not run and this script fails with
# the reason: tests that need Kafka never skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${KAFKA_BROKERS:-}" ]; then
  echo "with-kafka: using KAFKA_BROKERS=$KAFKA_BROKERS" >&2
  exec "$@"
fi
export KAFKA_PORT=${KAFKA_TEST_PORT:-19092}
stop() { "$root/scripts/kafka/kafka.sh" reset >/dev/null 2>&1 || true; }
trap stop EXIT
trap 'exit 130' INT TERM
if ! "$root/scripts/kafka/kafka.sh" up; then
  echo "with-kafka: FAILED to start Kafka on 127.0.0.1:$KAFKA_PORT (see above); tests that need Kafka cannot run" >&2
  exit 1
fi
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
"$@"
