package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
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
	// file and byte offset of the line) and the time parsed from the line, so a line read
	// again after a crash gets the same id and downstream dedup drops the copy.
	IDKey string
}

// Writer writes messages and returns once Kafka acknowledged them (kafkax.Writer).
type Writer interface {
	Write(ctx context.Context, msgs ...kafkax.Message) error
}

// Options of a Publisher.
type Options struct {
	Topic  string
	Parser *logparse.Parser
	// Now stamps received_at (default time.Now).
	Now func() time.Time
	// NewID makes event ids (default event.NewID).
	NewID func() string
	// RetryMin and RetryMax bound the backoff of PublishRetry (default 100 ms and 5 s).
	RetryMin, RetryMax time.Duration
	Log                *zap.Logger
	Metrics            *Metrics
}

// Publisher parses lines and writes them to the topic. Safe for concurrent use.
type Publisher struct {
	opts Options
	w    Writer
}

// New returns a Publisher writing through w.
func New(w Writer, opts Options) *Publisher {
	if opts.Parser == nil {
		opts.Parser = logparse.New(logparse.Options{})
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = event.NewID
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 100 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Publisher{opts: opts, w: w}
}

// Event builds the LogEvent of one line.
func (p *Publisher) Event(l Line, receivedAt time.Time) *logwardenpb.LogEvent {
	ev := &logwardenpb.LogEvent{
		Id:         p.opts.NewID(),
		ReceivedAt: timestamppb.New(receivedAt),
		Source:     l.Source,
		Host:       l.Host,
		Label:      l.Label,
	}
	p.opts.Parser.Parse(l.Text, ev)
	if l.IDKey != "" {
		var at time.Time // lines without a time of their own: ids still stable, not sortable
		if ev.Time != nil {
			at = ev.Time.AsTime()
		}
		sum := sha256.Sum256([]byte(l.IDKey))
		ev.Id = event.NewIDFrom(at, bytes.NewReader(sum[:]))
	}
	switch {
	case !l.Time.IsZero():
		ev.Time = timestamppb.New(l.Time)
	case ev.Time == nil:
		ev.Time = ev.ReceivedAt
	}
	return ev
}

// Messages encodes lines as messages for the topic (ids assigned now).
func (p *Publisher) Messages(lines []Line) ([]kafkax.Message, error) {
	now := p.opts.Now()
	msgs := make([]kafkax.Message, 0, len(lines))
	for _, l := range lines {
		ev := p.Event(l, now)
		m, err := kafkax.NewProtoMessage(p.opts.Topic, event.EntityKey(ev), ev.GetId(), ev)
		if err != nil {
			return nil, err
		}
		p.opts.Metrics.parsed(l.Source, ev.GetFields()[logparse.FieldFormat])
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// Publish writes lines once and returns when Kafka acknowledged all of them, or the error.
func (p *Publisher) Publish(ctx context.Context, lines []Line) error {
	if len(lines) == 0 {
		return nil
	}
	msgs, err := p.Messages(lines)
	if err != nil {
		return err
	}
	if err := p.w.Write(ctx, msgs...); err != nil {
		p.opts.Metrics.failed(lines[0].Source)
		return fmt.Errorf("publish %d lines to %s: %w", len(lines), p.opts.Topic, err)
	}
	p.opts.Metrics.published(lines[0].Source, len(lines))
	return nil
}

// PublishRetry is Publish for sources that cannot hand the lines back (stdin, file tail,
// generator): it retries the same messages with exponential backoff until Kafka
// acknowledges them or ctx ends (then it returns ctx's error).
func (p *Publisher) PublishRetry(ctx context.Context, lines []Line) error {
	if len(lines) == 0 {
		return nil
	}
	msgs, err := p.Messages(lines)
	if err != nil {
		return err
	}
	backoff := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		err := p.w.Write(ctx, msgs...)
		if err == nil {
			p.opts.Metrics.published(lines[0].Source, len(lines))
			return nil
		}
		p.opts.Metrics.failed(lines[0].Source)
		if ctx.Err() != nil {
			return fmt.Errorf("publish %d lines to %s: %w", len(lines), p.opts.Topic, errors.Join(ctx.Err(), err))
		}
		p.opts.Log.Warn("publish failed, retrying", zap.String("source", lines[0].Source),
			zap.Int("lines", len(lines)), zap.Int("attempt", attempt), zap.Duration("backoff", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %d lines to %s: %w", len(lines), p.opts.Topic, errors.Join(ctx.Err(), err))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.opts.RetryMax)
	}
}

// Metrics counts what the producer reads and publishes. A nil *Metrics counts nothing.
type Metrics struct {
	lines    *prometheus.CounterVec
	formats  *prometheus.CounterVec
	failures *prometheus.CounterVec
	events   *prometheus.CounterVec
}

// NewMetrics registers the producer's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_producer_lines_total", Help: "Lines parsed, by source kind.",
		}, []string{"source"}),
		formats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_producer_parsed_total", Help: "Lines parsed, by detected format.",
		}, []string{"format"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_producer_publish_failures_total", Help: "Failed writes of a batch to Kafka (before any retry), by source kind.",
		}, []string{"source"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_producer_events_published_total", Help: "Events acknowledged by Kafka, by source kind.",
		}, []string{"source"}),
	}
	if reg != nil {
		reg.MustRegister(m.lines, m.formats, m.failures, m.events)
	}
	return m
}

// sourceKind keeps label cardinality bounded: "file:/var/log/x" counts as "file".
func sourceKind(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i]
		}
	}
	switch s {
	case "generator", "stdin", "http":
		return s
	}
	return "other"
}

func (m *Metrics) parsed(source, format string) {
	if m == nil {
		return
	}
	m.lines.WithLabelValues(sourceKind(source)).Inc()
	m.formats.WithLabelValues(format).Inc()
}

func (m *Metrics) failed(source string) {
	if m != nil {
		m.failures.WithLabelValues(sourceKind(source)).Inc()
	}
}

func (m *Metrics) published(source string, n int) {
	if m != nil {
		m.events.WithLabelValues(sourceKind(source)).Add(float64(n))
	}
}
