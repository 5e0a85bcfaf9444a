// Package service is the classifier's Kafka side: a batch handler that turns
// consumed records into verdicts, alerts and dead letters, and the loops that
// run it (consumer, LLM second opinions, rule reloads).
//
// Data flow per batch, in fetch order:
//
//	record ─► decode (protobuf | shipper JSON | text) ─► engine.Process ─► llm.Consider
//	       └► undecodable: dead letter on <input>.dlq with the reason
//	outputs: Verdict per event (logs.verdicts, key = entity), each alert (alerts, key = entity)
//
// Second opinions come back later on the LLM stage's channel; they are drained
// without blocking at every batch and by an idle drainer, and published as an
// upgraded verdict (plus an "llm" alert when the model found the event
// anomalous). The consumer never waits for the model.
package service
