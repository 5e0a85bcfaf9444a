// Package source is the port every input of the producer plugs into. A Source reads log
// lines from somewhere (the generator, followed files, stdin, the HTTP ingest API) and
// hands them in batches to a Publisher, which returns once Kafka acknowledged them; the
// source acts only on that acknowledgement (saves a file position, answers 202, exits).
package source

import (
	"context"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Line is one log line as a source read it.
type Line struct {
	Text string
	// Source names where it came from: "generator", "file:/var/log/auth.log", "stdin",
	// "http" or the source an HTTP client gave.
	Source string
	// Host, when the source knows it (an HTTP client's "host"); the parser may fill it.
	Host string
	// Time, when the source knows when the event happened (an HTTP client's "time"); it
	// wins over a time parsed from the line.
	Time time.Time
	// Label is the generator's ground truth.
	Label *logwardenpb.Label
	// IDKey, when set, makes the event id deterministic: derived from this key (e.g. the
	// file and byte offset of the line, or an ingest request id and the line's index) and
	// the time parsed from the line, so a line published again (after a crash, or a
	// client's retry) gets the same id and downstream dedup drops the copy.
	IDKey string
	// Fields are added to the event's fields (the source's own facts about the line,
	// e.g. which authenticated client sent it).
	Fields map[string]string
	// MaxPast and MaxFuture, when not zero, bound the event's time around its receipt:
	// an earlier or later time is clamped to the bound and the original is kept in
	// fields["time.clamped"] (for sources whose times a client controls).
	MaxPast, MaxFuture time.Duration
}

// Publisher writes lines to Kafka. Publish returns nil once Kafka acknowledged every line.
// It retries a failed write with the same event ids until ctx ends (then it returns an
// error wrapping ctx's), and returns at once when a failure is permanent.
type Publisher interface {
	Publish(ctx context.Context, lines []Line) error
}

// Preparer is a Publisher that can parse and encode a batch apart from writing it, so a
// source may prepare its next lines while the previous batch is being written.
// Prepare(lines) then Send(ctx) is Publish(ctx, lines); lines may be reused once Prepare
// returned. A nil Prepared (and no error) means there was nothing to write.
type Preparer interface {
	Prepare(lines []Line) (Prepared, error)
}

// Prepared is a batch ready to be written; Send behaves as Publish.
type Prepared interface {
	Send(ctx context.Context) error
}

// Starter is a Prepared batch whose write can begin while earlier batches are still being
// written: the lines of batches started one after the other keep that order per key.
// Start begins the write and returns a func that waits for it and behaves as Send; it
// must be called.
type Starter interface {
	Start(ctx context.Context) (finish func() error)
}

// Source reads lines and publishes them until it is done (stdin at EOF, a generator with
// a count) or ctx ends; Run returns nil after a clean stop.
type Source interface {
	// Name is the source's name in configuration and logs: generator, file, stdin, http.
	Name() string
	Run(ctx context.Context, pub Publisher) error
}
