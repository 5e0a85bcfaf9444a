// Package e2e runs the three logwarden services as real processes against a real Kafka
// broker and a local stand-in for Slack's incoming webhook. It holds the harness (build
// the binaries, start and kill processes, the fake Slack) used by the end-to-end test
// (pipeline_integration_test.go) and by the load tool (cmd/pipeline-bench, `make bench`).
package e2e
