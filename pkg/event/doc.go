// Package event holds small domain helpers over the generated logwardenpb types: the
// entity an event is keyed by on Kafka, and event ids. No I/O, no package state.
package event
