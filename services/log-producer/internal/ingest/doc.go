// Package ingest is the HTTP ingest source: POST /v1/logs on its own listener (never the
// ops port) takes a batch of lines and answers 202 only once Kafka acknowledged every one.
//
// Data flow: authenticate (bearer token from a file, constant-time; optional client
// certificate) → a slot among ingest.max_in_flight_requests (else 429) → Content-Type,
// charset and Content-Encoding (identity or gzip, else 415) → the body into one buffer
// covered by ingest.max_in_flight_bytes (else 429), at most max_body_bytes decoded (413)
// → refuse binary bodies (415) → check every line (NDJSON strictly: exact keys, no
// duplicates; the first bad line → 400 naming it) → publish in chunks of at most 500
// lines or 1 MiB, each line with an event id derived from the client, the request's
// Idempotency-Key (or a digest of the body) and the line number → 202 {"accepted": n}.
//
// Every refusal (4xx) happens before anything is published. A 503 (Kafka did not
// acknowledge in time) may leave earlier chunks written; the same request sent again
// publishes the same event ids, which the classifier drops as duplicates.
package ingest
