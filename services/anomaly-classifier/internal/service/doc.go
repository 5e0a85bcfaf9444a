// Package service is the classifier's Kafka side. Run is the whole service: from a
// Config it builds the engine, the LLM stage, the Kafka admin client, the batch
// handler and the ops server, then Consume runs the loops (consumer, LLM second
// opinions, idle opinion drainer, rule reloads) under one errgroup until ctx ends.
//
// Data flow per batch, in fetch order:
//
//	record ─► decode (protobuf | shipper JSON | text) ─► dedup by event id ─► engine.Process ─► llm.Consider
//	       └► undecodable: dead letter on <input>.dlq with the reason
//	outputs: Verdict per event (logs.verdicts, key = entity), each alert (alerts, key = entity)
//
// A partition new to this instance first has its state rebuilt from its history
// (the same decode and dedup, outputs discarded). Second opinions come back later
// on the LLM stage's channel; they are drained without blocking at every batch and
// by an idle drainer, and published as an upgraded verdict (plus an "llm" alert
// when the model found the event anomalous). The consumer never waits for the model.
package service
