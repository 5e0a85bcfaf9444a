// Package offline runs the detection engine without Kafka: Classify (lines in,
// one JSON verdict per line out), Eval (precision, recall and F1 on a dataset
// written by "log-producer generate") and Templates (one template id per line).
// Each input line is parsed with pkg/logparse and classified by one Engine, in
// order, so the output is deterministic. The optional LLM stage (internal/llm)
// is driven with Consider then Flush.
package offline
