#!/usr/bin/env bash
# `make run`: the whole pipeline on this machine, no Docker.
#
#   local Kafka (scripts/kafka/kafka.sh, unless KAFKA_BROKERS is set)
#   → log-producer (generator, 5 events/s, RUN_ANOMALY_RATE anomalies)
#   → anomaly-classifier (RUN_CLASSIFIERS replicas, one consumer group)
#   → slack-notifier (Slack when SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN is set in .env or
#     the environment, otherwise alerts are printed here)
#
# The services read ./.env like they do under compose; this script sets only what a local
# run needs (brokers, ports, rate). Service logs go to .cache/run/<service>.log; this
# terminal shows the alerts and a status line every RUN_STATUS_EVERY seconds.
# Ctrl-C stops the services (SIGTERM: they finish in-flight work and commit), then the
# broker if this script started it. Nothing is left running.
#
# Environment: RUN_RATE (events/s, default 5), RUN_ANOMALY_RATE (default 0.05),
# RUN_OPENER (the scenario injected first so an alert shows within seconds, default
# sensitive_file_burst; empty = none),
# RUN_CLASSIFIERS (default 1), RUN_GROUP_WAIT (notifier group_wait, default 2s),
# RUN_STATUS_EVERY (default 30), KAFKA_PORT (default 9092), KAFKA_BROKERS (use a running
# broker instead of starting one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

rate=${RUN_RATE:-5}
anomaly_rate=${RUN_ANOMALY_RATE:-0.05}
opener=${RUN_OPENER-sensitive_file_burst}
classifiers=${RUN_CLASSIFIERS:-1}
group_wait=${RUN_GROUP_WAIT:-2s}
status_every=${RUN_STATUS_EVERY:-30}
port=${KAFKA_PORT:-9092}
rundir="$root/.cache/run"
bin="$root/bin"
mkdir -p "$rundir" "$bin"

say() { printf '\033[1mrun:\033[0m %s\n' "$*" >&2; }

pids=()
started_kafka=0
cleanup() {
  trap - INT TERM EXIT
  say "stopping…"
  # Reverse order: the producer stops first, the notifier last, so in-flight alerts land.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  if [ "$started_kafka" = 1 ]; then
    KAFKA_PORT=$port scripts/kafka/kafka.sh down >&2 || true
  fi
  say "stopped; logs in ${rundir#"$root"/}/"
}
trap cleanup EXIT
trap 'exit 0' INT TERM # Ctrl-C is how a run ends: not an error

if [ -z "${KAFKA_BROKERS:-}" ]; then
  if ! KAFKA_PORT=$port scripts/kafka/kafka.sh status >/dev/null 2>&1; then
    started_kafka=1
  fi
  KAFKA_PORT=$port scripts/kafka/kafka.sh up >&2
  export KAFKA_BROKERS=127.0.0.1:$port
fi
say "Kafka at $KAFKA_BROKERS"

say "building the services into bin/"
for s in log-producer anomaly-classifier slack-notifier; do
  (cd "services/$s" && go build -o "$bin/$s" "./cmd/$s")
done

start() { # name logfile command…
  local name=$1 log=$2
  shift 2
  "$@" >>"$log" 2>&1 &
  pids+=($!)
  say "started $name (pid $!, log ${log#"$root"/})"
}

# The notifier prints alerts on stdout: that is this terminal; its log goes to a file.
GROUP_WAIT=$group_wait HTTP_ADDR=127.0.0.1:8083 \
  "$bin/slack-notifier" run 2>>"$rundir/slack-notifier.log" &
pids+=($!)
say "started slack-notifier (pid $!, log .cache/run/slack-notifier.log)"
if [ -z "${SLACK_WEBHOOK_URL:-}${SLACK_BOT_TOKEN:-}" ] && ! grep -Eq '^(SLACK_WEBHOOK_URL|SLACK_BOT_TOKEN)=.+' .env 2>/dev/null; then
  say "no SLACK_WEBHOOK_URL in .env: alerts are printed here"
fi

for i in $(seq 1 "$classifiers"); do
  HTTP_ADDR=127.0.0.1:$((8082 + (i - 1) * 10)) \
    start "anomaly-classifier #$i" "$rundir/anomaly-classifier-$i.log" "$bin/anomaly-classifier" run
done

SOURCES=generator GENERATOR_RATE=$rate GENERATOR_ANOMALY_RATE=$anomaly_rate GENERATOR_OPENER=$opener HTTP_ADDR=127.0.0.1:9081 \
  start log-producer "$rundir/log-producer.log" "$bin/log-producer" run

say "generating $rate events/s with ${anomaly_rate} anomalies; alerts appear below (Ctrl-C stops everything)"
t0=$SECONDS
while :; do
  sleep 1
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      say "a service exited (pid $p); see .cache/run/*.log"
      exit 1
    fi
  done
  if [ "$status_every" -gt 0 ] && [ $(((SECONDS - t0) % status_every)) -eq 0 ]; then
    produced=$(curl -fsS http://127.0.0.1:9081/metrics 2>/dev/null | awk '/^logwarden_kafka_messages_produced_total/ {s += $2} END {print s + 0}')
    say "$((SECONDS - t0))s: $produced events produced"
  fi
done
