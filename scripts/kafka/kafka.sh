#!/usr/bin/env bash
# Starts and stops a single-node Apache Kafka broker (KRaft, broker+controller) from
# Apache Kafka's own jars, resolved from Maven Central by Maven. Needs Java 17 and Maven.
#
#   scripts/kafka/kafka.sh up       fetch (once), format (once), start, wait until ready
#   scripts/kafka/kafka.sh down     stop the broker started by `up` (data kept)
#   scripts/kafka/kafka.sh status   say whether it runs
#   scripts/kafka/kafka.sh reset    stop and delete its data
#
# Environment: KAFKA_PORT (default 9092; the controller listens on KAFKA_PORT+1),
# KAFKA_HEAP (default -Xmx512m), KAFKA_READY_TIMEOUT seconds (default 90).
# Everything lives under .cache/ (git-ignored): jars in .cache/kafka-<version>/libs,
# data in .cache/kafka-data-<port>, the broker log in .cache/kafka-<port>.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="$root/.cache"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
port=${KAFKA_PORT:-9092}
cport=$((port + 1))
libs="$cache/kafka-$version/libs"
data="$cache/kafka-data-$port"
logfile="$cache/kafka-$port.log"
pidfile="$cache/kafka-$port.pid"
props="$cache/kafka-$port.properties"
ready_timeout=${KAFKA_READY_TIMEOUT:-90}

die() { echo "kafka: $*" >&2; exit 1; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v java >/dev/null || die "java not found: install Java 17 (the broker runs on the JVM)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (it fetches Kafka $version from Maven Central)"
  echo "kafka: fetching Apache Kafka $version jars from Maven Central into $libs"
  rm -rf "$libs"
  mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >"$cache/kafka-fetch.log" 2>&1 \
    || { tail -20 "$cache/kafka-fetch.log" >&2; die "maven could not resolve org.apache.kafka:kafka_2.13:$version (log: $cache/kafka-fetch.log)"; }
  [ -f "$libs/kafka_2.13-$version.jar" ] || die "kafka_2.13-$version.jar missing after fetch"
  touch "$libs/.complete"
}

write_config() {
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=24
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=4
EOF
  cat >"$cache/kafka-log4j2.yaml" <<EOF
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka
        level: WARN
      - name: org.apache.kafka
        level: WARN
      - name: kafka.server.KafkaServer
        level: INFO
EOF
}

java_args() {
  # shellcheck disable=SC2206
  local heap=(${KAFKA_HEAP:--Xmx512m -Xms128m})
  jargs=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$cache/kafka-log4j2.yaml"
    -cp "$libs/*")
}

wait_ready() {
  local deadline=$((SECONDS + ready_timeout)) pid=$1
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -30 "$logfile" >&2
      die "broker exited during start-up (log: $logfile)"
    fi
    if (cd "$root/pkg" && GOWORK=off go run ./cmd/kafka-ready -brokers "127.0.0.1:$port" -timeout 2s) >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  tail -30 "$logfile" >&2
  die "broker on 127.0.0.1:$port not ready after ${ready_timeout}s (log: $logfile)"
}

up() {
  if pid=$(running_pid); then
    echo "kafka: already running on 127.0.0.1:$port (pid $pid)"
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is taken by another process; set KAFKA_PORT to a free port"
  fi
  mkdir -p "$cache"
  fetch
  write_config
  if [ ! -f "$data/meta.properties" ]; then
    local cluster
    java_args
    cluster=$("${jargs[@]}" kafka.tools.StorageTool random-uuid 2>>"$logfile" | tail -1)
    "${jargs[@]}" kafka.tools.StorageTool format -t "$cluster" -c "$props" --ignore-formatted >>"$logfile" 2>&1 \
      || { tail -20 "$logfile" >&2; die "formatting $data failed (log: $logfile)"; }
  fi
  echo "kafka: starting Apache Kafka $version on 127.0.0.1:$port (log: $logfile)"
  java_args
  # setsid: its own session and process group, so it outlives this shell and `down` can
  # signal the whole group.
  setsid "${jargs[@]}" kafka.Kafka "$props" >>"$logfile" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidfile"
  # Compile the readiness probe while the JVM starts.
  (cd "$root/pkg" && GOWORK=off go build -o /dev/null ./cmd/kafka-ready) || die "building the readiness probe failed"
  wait_ready "$pid"
  echo "kafka: ready on 127.0.0.1:$port (pid $pid)"
}

down() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile"
    echo "kafka: not running on port $port"
    return 0
  fi
  # setsid made the broker a process-group leader: signal the whole group.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka: broker did not stop within 30s; killing it" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "kafka: stopped (port $port)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status)
    if pid=$(running_pid); then echo "kafka: running on 127.0.0.1:$port (pid $pid)"; else echo "kafka: not running on port $port"; exit 1; fi ;;
  reset) down; rm -rf "$data"; echo "kafka: data deleted ($data)" ;;
  fetch) mkdir -p "$cache"; fetch ;;
  *) echo "usage: $0 up|down|status|reset|fetch" >&2; exit 2 ;;
esac
