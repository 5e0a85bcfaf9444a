// Package novelty holds the detectors of things not seen before, each a small
// detect.Detector:
//
//   - Templates: a kind of line (template) new against what was learnt, scored by
//     the line's own level. An error-level template that is not yet accepted makes
//     its lines anomalous (the first one alerts); a new info-level template is a low
//     finding and an LLM candidate. A template is accepted once it was seen in
//     accept_hours distinct hours or accept_days distinct days (routine), when it
//     was learnt from known-good logs, or when a person accepts it (Accept).
//   - Rare: a template rare on one host or source although the host is busy.
//   - Commands: an executable never run anywhere in the fleet, or a command shape
//     (the command line with its values masked) never run by this user: low
//     findings and LLM candidates, with the user's usual executables in the reason.
//
// State is bounded (detect.Gen) and can be saved and restored (internal/state).
package novelty
