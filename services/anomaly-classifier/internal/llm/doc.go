// Package llm is the anomaly-classifier's optional, budgeted LLM second opinion.
//
// The cheap stages (templates, rules, statistics) decide every event; this stage
// only adds judgement where they are unsure, at a bounded cost, and never on the
// consumer's hot path:
//
//	engine ── Consider(verdict, newTemplate) ──► queue (bounded; full → dropped, counted)
//	   ▲            │ cache hit: merged at once          │
//	   │            ▼                                    ▼ batch_size / linger
//	   │       Skipped | Queued | Cached | Degraded    Run: budget → breaker → HTTP (retries, Retry-After)
//	   │                                                 │
//	   └──── Merge(verdict, opinion) ◄── Results() ◄─────┘ (Flush for offline, in input order)
//
// Consider is non-blocking and does no I/O: a candidate (fused score inside the
// uncertain band, or the first occurrence of a template) is answered from the
// per-template cache, parked behind a pending request on the same template, or
// copied into the queue; when the breaker is open, the budget is spent or the
// queue is full the verdict is marked degraded instead. Run batches the queue
// into chat-completion requests, one entity (and host) per request, an event whose
// text reads like instructions alone and uncached; answers are validated against
// a JSON schema; every event is JSON-encoded and fenced between markers carrying
// a random per-request token. Merge can only add a finding (detector "llm") and
// raise severity, score or anomalous: an answer cannot clear or lower what the
// rules and statistics found, whatever the log line told the model.
//
// The package llmtest provides an OpenAI-compatible fake server; tests drive time
// with pkg/clock's fakes.
// See docs/llm.md for the knobs, metrics and the wiring in the engine.
package llm
