# logwarden: every entry point. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SERVICES := log-producer anomaly-classifier slack-notifier
BIN := bin
FUZZTIME ?= 10s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the three services into bin/
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do (cd services/$$s && go build -o ../../$(BIN)/$$s ./cmd/$$s) || exit 1; echo "built $(BIN)/$$s"; done

.PHONY: run
run: ## the whole pipeline locally: Kafka, generator at 5 events/s, classifier, notifier (Ctrl-C stops all)
	@scripts/run.sh

.PHONY: test
test: ## proto check, lint, unit + integration tests (-race where code starts goroutines) on a real Kafka broker it starts and stops
	@scripts/test.sh

.PHONY: lint
lint: ## gofmt, go vet, staticcheck and deadcode (tool versions pinned in scripts/tools/go.mod)
	@scripts/lint.sh

.PHONY: proto
proto: ## regenerate pkg/logwardenpb from proto/ (Debian protoc + pinned protoc-gen-go)
	@scripts/proto.sh

.PHONY: kafka-up
kafka-up: ## start a local Kafka 4.x (KRaft) on 127.0.0.1:9092 (KAFKA_PORT to change)
	@scripts/kafka/kafka.sh up

.PHONY: kafka-down
kafka-down: ## stop the local Kafka (data kept; `scripts/kafka/kafka.sh reset` deletes it)
	@scripts/kafka/kafka.sh down

.PHONY: bench
bench: ## Go benchmarks of every module, then the pipeline load tool (rates, latency percentiles, 1-3 classifiers)
	@scripts/bench.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	@scripts/fuzz.sh $(FUZZTIME)

.PHONY: loghub-ga
loghub-ga: ## template grouping accuracy vs Drain3 on Loghub samples (Python venv under .cache/)
	@scripts/loghub-ga/run.sh
