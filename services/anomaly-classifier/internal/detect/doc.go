// Package detect is the contract between the engine and its detectors.
//
// The engine (internal/engine) runs a list of Detectors on every event, in order, as
// Alertmanager runs its notification stages: each Detector looks at an Event (the
// parsed LogEvent, its clamped time, its template) and the Detections of the
// detectors before it, and appends its own. The engine then fuses the findings into
// one Verdict and turns alert-worthy Detections into Alerts (grouping, cooldown,
// ids). A detector is a small type in its own package (rules, stats, novelty,
// volume) with its thresholds in its own config; swapping one (a Sigma engine for
// the rules) means passing another Detector.
//
// The package also holds what detectors share: Sanitize and Clip for reasons, and
// Gen, a bounded map that forgets the least recently used keys.
package detect
