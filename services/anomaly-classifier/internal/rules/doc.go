// Package rules loads detection rules from YAML and evaluates them on events.
//
// A rule is a set of field conditions (equals, in, contains, glob, regex on
// raw, user, ip, host, action, target, template and fields.X), all of which must
// hold, plus an optional threshold: count ≥ N matching events within a sliding
// window W per entity (user, ip, host or entity), optionally counting distinct
// targets. The format is documented in docs/rules.md; the shipped default is
// default.yaml (embedded). Parse checks everything up front and reports errors
// as file:line: message; unknown keys are errors.
//
// Windows (sliding-window state of threshold rules) live in Windows, keyed by
// rule id, so a reloaded rule set keeps the state of rules whose id is unchanged.
package rules
