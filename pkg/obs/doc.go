// Package obs is a service's operations side: the zap logger built from LogConfig (key
// "log": LOG_LEVEL, LOG_FORMAT), a Prometheus registry with the Go and process
// collectors, and the HTTP server of /healthz (the process runs), /readyz (a readiness
// check such as "Kafka answers") and /metrics, on which a service mounts its own
// handlers. The server binds in NewServer and stops gracefully when Run's context ends.
package obs
