// Package engine classifies log events: template (internal/template) → rules
// (internal/rules) → per-user statistics (internal/stats) → fusion into one
// Verdict per event, plus Alerts for alert-worthy findings.
//
// Fusion: score = 1 − Π(1 − finding score) (findings of independent detectors
// reinforce each other), severity = the highest finding severity, anomalous when
// score ≥ 0.5. Template signals (first-seen template, rare template) score 0.2
// and first-seen command/directory 0.3, so none of them alone makes an event
// anomalous; rules and the other statistics do.
//
// Alerts: one per finding of severity ≥ medium, at most one per fingerprint
// (detector/rule + entity) per alert cooldown; the alert id is derived from the
// fingerprint and the id of the event that opened the episode, so a redelivered
// event yields the same alert id. Time comes only from the events.
package engine
