// Package stats learns per-user baselines online and reports deviations:
// the first login source network (/16 of an IPv4 address, the address itself
// otherwise) a user was seen with, the first time a user runs a command or opens
// a directory, activity at an hour of day far from the user's own usual hours,
// and per-action rate spikes against the user's own history (EWMA of events per
// 10-minute bucket). Nothing is reported while a user is in warm-up (fewer than
// WarmupEvents events or first seen less than WarmupSpan ago), so a cold start
// stays quiet. Memory is bounded: at most MaxEntities users (least recently seen
// evicted) and bounded sets per user. All time comes from the caller.
package stats
