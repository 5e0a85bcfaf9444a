// Package kafkax is logwarden's only door to Kafka (segmentio/kafka-go). Everything else
// speaks in Message values and never imports kafka-go.
//
// Data flows through it in one direction per service:
//
//	Consumer (group, fetch) ──► handler ──► outputs ──► Writer (acks=all, sync) ──► commit
//
// A Consumer commits a message's offset only after the handler finished with it and every
// output it returned (verdicts, alerts, dead letters) was acknowledged by all in-sync
// replicas: at-least-once. Run handles batches synchronously; RunAsync lets a handler
// acknowledge each message later (the notifier acks an alert once Slack accepted the
// notification that covers it) and commits, per partition, only below the lowest message
// still in flight. Poison input is not an error: the handler returns DeadLetter(m, …) as an
// output, the record lands on <topic>.dlq with the reason and original coordinates, and
// the loop goes on.
package kafkax
