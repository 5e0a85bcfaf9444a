// Package engine classifies log events: it mines the event's template
// (internal/template), runs a list of detectors (internal/detect.Detector: new and
// rare templates, rules, per-user baselines, command novelty, template rates, error
// bursts, silence), fuses their findings into one Verdict and turns alert-worthy
// detections into Alerts.
//
// Fusion: score = 1 − Π(1 − finding score) over the event's findings (independent
// detectors reinforce each other), severity = the highest finding severity,
// anomalous when score ≥ 0.5. Low findings (≤ 0.3) never make an event anomalous
// alone. Detached detections (about another host or an hour that ended) alert but
// do not touch the event's verdict.
//
// Alerts: one per detection of severity ≥ medium, at most one per fingerprint
// (detector/rule/key) per episode; the alert id is derived from the fingerprint and
// the id of the event that opened the episode, so a redelivered event yields the same
// alert id. A rule alerting about many members of one group (addresses on one host)
// folds them into storm alerts with counts. Time comes only from the events, clamped
// around received_at.
package engine
