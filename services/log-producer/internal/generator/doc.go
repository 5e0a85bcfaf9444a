// Package generator simulates the tutorial's server log: a fixed population of users with
// their own working hours, usual IPs, files, directories and commands, plus injected
// anomaly scenarios that carry their ground truth (Label).
//
// Data flow: New builds the population from the seed (gofakeit and a PCG source, nothing
// global). Next returns events in time order, merging two streams: normal activity, whose
// clock follows the users' working hours (Options.EventsPerSecond == 0, for datasets) or
// a uniform rate (live), and incidents, whose lines are scheduled on a queue when the
// share of anomalous lines falls below Options.AnomalyRate. The same seed and options
// always give the same events. docs/generator.md describes every scenario's exact shape.
package generator
