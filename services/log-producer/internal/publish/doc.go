// Package publish turns the lines every source reads into LogEvent records on logs.raw.
//
// Data flow: a source hands a batch of Lines to Publisher.Publish; each line gets an event
// id, its receive time and source, is parsed by pkg/logparse, keyed by event.EntityKey and
// encoded with the standard headers (kafkax.NewProtoMessage); the batch is written with
// acks=all and Publish returns only once Kafka acknowledged all of it. Sources act on that
// acknowledgement: the file tail saves its position, HTTP ingest answers 202, stdin exits.
// Publish builds the messages once and retries a failed write through pkg/retry until its
// context ends, so a retry re-sends the same event ids and the classifier can drop the
// duplicates. Lines from clients (HTTP ingest) get their time clamped to a window around
// their receipt and carry the source's own fields (source.Line).
package publish
