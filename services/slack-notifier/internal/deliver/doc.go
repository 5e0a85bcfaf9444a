// Package deliver owns the notification pipeline: alerts in, grouping (package group),
// throttling per destination, sending through a Sink, and the one place that retries:
// rate limits wait the server's delay, transient failures back off exponentially
// (capped) until the context ends, permanent failures are handed back for the DLQ.
package deliver
