// Package service is the log-producer service: Run builds the Kafka writer, the
// publisher, the configured sources and the ops server from Options and runs them until
// ctx ends or every source is done.
//
// Data flow: each source.Source (generator, file tail, stdin, HTTP ingest) hands batches
// of lines to the one publish.Publisher → parse → LogEvent → Kafka (acks=all) → the
// source acts on the acknowledgement. The ops server (/healthz, /readyz, /metrics) has its
// own port; the HTTP ingest API has another.
package service
