// Package stdin publishes the lines of a reader (the process's standard input) and ends
// cleanly at EOF once everything read was acknowledged by Kafka.
//
// Data flow: lines are read into a batch; the batch is published when it is full or as
// soon as no more input is immediately buffered (so an interactive line goes out at once
// and a pipe is sent in large batches, without timers).
package stdin
