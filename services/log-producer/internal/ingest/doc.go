// Package ingest is the HTTP ingest source: POST /v1/logs takes a batch of lines and
// answers 202 only once Kafka acknowledged every one of them.
//
// Data flow: body (bounded by MaxBodyBytes → 413) → lines, as text/plain (one event per
// line) or application/x-ndjson ({"message","host","source","time"} per line; the first
// bad line → 400 naming it) → Publisher.Publish with a timeout (Kafka unavailable → 503
// with Retry-After; the client still has the batch and retries) → 202 {"accepted": n}.
// Nothing is accepted partially: a request is published whole or refused whole.
package ingest
