// Package sigma loads Sigma detection and correlation rules (the SigmaHQ format,
// specification 2.x) and evaluates them natively on Events.
//
// Data flow: Load reads YAML documents (one rule per document, multi-document files for
// correlations), checks each against the fields and log sources the caller's taxonomy
// produces (Options), and compiles the detections once: values become case-insensitive
// literal, prefix, suffix, substring or wildcard matchers (regular expressions only for
// the re modifier), conditions become a small expression tree, and every rule gets
// "anchors" — literals that must occur in some field for it to match — which feed one
// multi-pattern matcher per log source and field (a trie behind a bitmap of the anchors'
// first bytes, see ac.go). Ruleset.Match runs those matchers over an Event's values and
// fully evaluates only the rules whose anchors occurred (plus the few without anchors).
//
// A rule that uses something this evaluator does not support (an unknown field for its log
// source, an unknown modifier, a log source the taxonomy never produces, a correlation type
// or condition that cannot run on a stream) is skipped with one Problem naming the file
// and the reason; a malformed rule (YAML error, missing condition, undefined identifier,
// invalid regular expression) is an error reported as file:line: message.
//
// Correlation rules (event_count, value_count, temporal) are evaluated by Correlator,
// which keeps bounded sliding windows per rule and group (see window.go).
package sigma
