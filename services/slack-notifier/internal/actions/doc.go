// Package actions makes the buttons of the bot's alert messages work: Acknowledge,
// Silence 1h / 24h and Not an issue, received over Slack Socket Mode (no public
// endpoint).
//
// When the bot posts a group's message it records what the buttons act on — an
// ActionTarget keyed by the message's random ref — in a compacted topic that every
// notifier replica follows (Targets), so a click works whichever replica Slack hands
// it to, and after a restart. A click arrives as an interactive envelope (Socket): it
// is acknowledged at once, decoded and checked (DecodeInteraction: one known action id,
// a ref we made, the message it names), checked again against the target (same channel
// and message, not older than the actions' max age) and against who may act (members
// of the message's channel, or an allow-list), and then acted on (Handler):
//
//   - Acknowledge marks the target; the replica that owns the group updates its message
//     in place and holds back its repeats until it closes or gets more severe.
//   - Silence 1h / 24h writes a silence on the alert's rule and entity.
//   - Not an issue writes a feedback record that the classifier consumes.
//
// Every action is logged, counted and answered in the message's thread; a refused or
// invalid click gets a clear log line and, where a person pressed it, an ephemeral
// answer.
package actions
