// Package volume holds the detectors of how much is logged, each a small
// detect.Detector running on event time:
//
//   - TemplateRate: per template, the count of the current hour against a seasonal
//     baseline (the same hour of past days, else the template's hourly mean): a
//     spike reports the line that crosses the threshold, a drop reports the hour
//     that ended far below it, the expectation scaled down when all lines were
//     fewer than usual that hour (detached: no line to blame).
//   - ErrorRate: per host (else source), error-level lines per 10 minutes against
//     the host's usual error rate.
//   - Silence: a host or source that used to log regularly and has been silent for
//     many of its usual gaps (ElastAlert's flatline). Judged against the time of
//     the other events of the same partition, so a partition that moved to another
//     replica does not look like silence.
//
// Hours and buckets advance with the events' time (the newest seen), never the
// wall clock, so offline runs are deterministic.
package volume
