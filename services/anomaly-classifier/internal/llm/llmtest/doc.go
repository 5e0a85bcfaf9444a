// Package llmtest is the test double of an OpenAI-compatible model for the llm
// stage: an httptest server speaking POST /v1/chat/completions with scriptable
// behaviours (a sensible model that decides from the events, all-normal, one
// obedient to injected instructions, 429 with Retry-After, 500, slow, hanging,
// garbage, schema-violating answers), counting calls and tokens. It reads the wire format of the prompts (the fenced JSON lines) and
// not the llm package, so it can be used by the engine's tests and eval too.
package llmtest
