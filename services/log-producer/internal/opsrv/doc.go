// Package opsrv is the service's operations side: the zap logger and the HTTP server of
// /healthz (alive), /readyz (a readiness check, e.g. Kafka answers) and /metrics
// (Prometheus), on which other handlers (the ingest API) are mounted.
//
// It has the API planned for pkg/obs (LogConfig, NewLogger, NewRegistry, NewServer), which
// had not landed when this service was wired; switching to pkg/obs is an import change.
package opsrv
