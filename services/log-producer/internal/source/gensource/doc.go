// Package gensource is the live generator source: it runs the simulated population of
// internal/generator on the real clock and publishes its lines, with their ground-truth
// labels, at a configured rate.
//
// Data flow: generator.Next (events spaced at Rate per second on average, starting now) →
// wait until the event is due → stamp it with the real time, render the tutorial line →
// batch the events already due → Publish → next. Rate 0 publishes as fast as Kafka
// acknowledges, in batches, on a simulated timeline of 5 events/s (stamped with the real time).
package gensource
