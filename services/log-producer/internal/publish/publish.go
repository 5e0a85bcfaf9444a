package publish

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/retry"
	"github.com/logwarden/logwarden/pkg/utf8safe"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// FieldTimeClamped holds the original time of an event whose time was clamped to the
// window around its receipt (source.Line.MaxPast/MaxFuture).
const FieldTimeClamped = "time.clamped"

// Writer writes messages and returns once Kafka acknowledged them (kafkax.Writer). It
// keeps no reference to the messages after a Write returned nil: their memory is used
// again for later batches.
type Writer interface {
	Write(ctx context.Context, msgs ...kafkax.Message) error
}

// Options of a Publisher.
type Options struct {
	Topic  string
	Parser *logparse.Parser
	// Clock stamps received_at and times the retry waits (default the wall clock).
	Clock clock.Clock
	// NewID makes the ids of lines without IDKey (default: event.NewIDWith the batch's
	// receipt time and crypto/rand entropy, read once per batch).
	NewID func() string
	// MaxMessageBytes is the largest record the topic accepts (max.message.bytes; 0: not
	// checked). An event that would be larger gets its raw line cut to fit, flagged
	// parse.truncated, so one long line can never be refused by Kafka forever.
	MaxMessageBytes int
	// Retry is the back-off between failed writes (default 100 ms doubling to 5 s, until
	// the caller's context ends). Its Clock and OnRetry are set by the Publisher.
	Retry   retry.Policy
	Log     *zap.Logger
	Metrics *Metrics
}

// Publisher parses lines and writes them to the topic; it is the source.Publisher of
// every source. Safe for concurrent use.
type Publisher struct {
	opts   Options
	w      Writer
	arenas sync.Pool // *arena of written batches
}

// New returns a Publisher writing through w.
func New(w Writer, opts Options) *Publisher {
	if opts.Parser == nil {
		opts.Parser = logparse.New(logparse.Options{})
	}
	opts.Clock = clock.OrReal(opts.Clock)
	if opts.Retry.Initial <= 0 {
		opts.Retry.Initial = 100 * time.Millisecond
	}
	if opts.Retry.Max <= 0 {
		opts.Retry.Max = 5 * time.Second
	}
	opts.Retry.Clock = opts.Clock
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Publisher{opts: opts, w: w}
}

// Event builds the LogEvent of one line received at receivedAt.
func (p *Publisher) Event(l source.Line, receivedAt time.Time) *logwardenpb.LogEvent {
	ev := &logwardenpb.LogEvent{}
	p.event(ev, l, receivedAt, timestamppb.New(receivedAt), newEntropy(1))
	return ev
}

// event is Event with receivedAt also as a Timestamp, which the events of one batch share
// (no event's timestamps are ever modified: they are encoded, then dropped), and with the
// batch's random bits for ids; it fills ev, a new event.
func (p *Publisher) event(ev *logwardenpb.LogEvent, l source.Line, receivedAt time.Time, recv *timestamppb.Timestamp, ent *entropy) {
	ev.ReceivedAt, ev.Source, ev.Host, ev.Label = recv, l.Source, l.Host, l.Label
	p.opts.Parser.Parse(l.Text, ev)
	if l.IDKey != "" {
		var at time.Time // lines without a time of their own: ids still stable, not sortable
		if ev.Time != nil {
			at = ev.Time.AsTime()
		}
		sum := sha256.Sum256([]byte(l.IDKey))
		ev.Id = event.NewIDWith(at, [10]byte(sum[:]))
	} else if p.opts.NewID != nil {
		ev.Id = p.opts.NewID()
	} else {
		ev.Id = event.NewIDWith(receivedAt, ent.next())
	}
	switch {
	case !l.Time.IsZero():
		ev.Time = timestamppb.New(l.Time)
	case ev.Time == nil:
		ev.Time = ev.ReceivedAt
	}
	if len(l.Fields) > 0 && ev.Fields == nil {
		ev.Fields = make(map[string]string, len(l.Fields)+1)
	}
	for k, v := range l.Fields {
		ev.Fields[k] = v
	}
	if l.MaxPast > 0 || l.MaxFuture > 0 {
		clampTime(ev, receivedAt, l.MaxPast, l.MaxFuture)
	}
}

// idRandomBytes is the random part of an event id.
const idRandomBytes = 10

// entropy hands out random bits read from crypto/rand once for a batch of ids: one
// read per batch instead of one per event. When it runs dry it reads again.
type entropy struct{ b []byte }

func newEntropy(ids int) *entropy {
	e := &entropy{b: make([]byte, ids*idRandomBytes)}
	_, _ = rand.Read(e.b) // never fails (crypto/rand crashes the program instead)
	return e
}

// next returns the random part of the next id.
func (e *entropy) next() [idRandomBytes]byte {
	if len(e.b) < idRandomBytes {
		*e = *newEntropy(64)
	}
	r := [idRandomBytes]byte(e.b)
	e.b = e.b[idRandomBytes:]
	return r
}

// clampTime moves ev's time into [receivedAt−past, receivedAt+future] (a zero bound is
// open) and records the original when it moved it.
func clampTime(ev *logwardenpb.LogEvent, receivedAt time.Time, past, future time.Duration) {
	t := ev.GetTime().AsTime()
	var to time.Time
	switch {
	case past > 0 && t.Before(receivedAt.Add(-past)):
		to = receivedAt.Add(-past)
	case future > 0 && t.After(receivedAt.Add(future)):
		to = receivedAt.Add(future)
	default:
		return
	}
	if ev.Fields == nil {
		ev.Fields = map[string]string{}
	}
	ev.Fields[FieldTimeClamped] = t.UTC().Format(time.RFC3339Nano)
	ev.Time = timestamppb.New(to)
}

// messages builds the events of lines (ids assigned now) and encodes them for the topic,
// all with one kafkax.Encoder, in the memory of an arena (a new one or one a written
// batch gave back).
func (p *Publisher) messages(lines []source.Line) (*arena, error) {
	now := p.opts.Clock.Now()
	text := 0
	for _, l := range lines {
		text += len(l.Text)
	}
	a, _ := p.arenas.Get().(*arena)
	if a == nil {
		a = &arena{}
	}
	// An encoded event is about three times its line (the raw line, the fields parsed
	// out of it, ids and times): sized so, the encoder's buffer is allocated once.
	a.reset(now, len(lines), 3*text/max(len(lines), 1)+64)
	formats := formatCounts{}
	recv := timestamppb.New(now)
	ent := newEntropy(len(lines))
	for i, l := range lines {
		ev := a.event(i)
		p.event(ev, l, now, recv, ent)
		m, err := p.message(a.enc, ev)
		if err != nil {
			return nil, err
		}
		formats.add(ev.GetFields()[logparse.FieldFormat])
		a.evs, a.msgs = append(a.evs, ev), append(a.msgs, m)
	}
	if len(lines) > 0 {
		p.opts.Metrics.parsed(lines[0].Source, len(lines), formats)
	}
	return a, nil
}

// arena is the memory of one batch: its events, their encoding and messages. Once Kafka
// acknowledged the batch nothing refers to it, and the next batch is built in it: most of
// the producer's garbage otherwise.
type arena struct {
	events []logwardenpb.LogEvent // all in one allocation
	evs    []*logwardenpb.LogEvent
	msgs   []kafkax.Message
	enc    *kafkax.Encoder
}

func (a *arena) reset(now time.Time, n, size int) {
	if cap(a.events) < n {
		a.events = make([]logwardenpb.LogEvent, n)
		a.evs, a.msgs = make([]*logwardenpb.LogEvent, 0, n), make([]kafkax.Message, 0, n)
	}
	a.events, a.evs, a.msgs = a.events[:n], a.evs[:0], a.msgs[:0]
	if a.enc == nil {
		a.enc = kafkax.NewEncoder(now, n, size)
	} else {
		a.enc.Reset(now, n, size)
	}
}

// event returns the arena's i-th event, empty but for its fields map, cleared (the parser
// fills it again). Its time is not kept: an event without one of its own gets the batch's
// receipt time, and a line without a time would keep the previous event's.
func (a *arena) event(i int) *logwardenpb.LogEvent {
	ev := &a.events[i]
	fields := ev.Fields
	ev.Reset()
	if fields != nil {
		clear(fields)
		ev.Fields = fields
	}
	return ev
}

// formatCounts counts a batch's lines by detected format (a batch has one or a few).
type formatCounts []struct {
	format string
	n      int
}

func (f *formatCounts) add(format string) {
	for i := range *f {
		if (*f)[i].format == format {
			(*f)[i].n++
			return
		}
	}
	*f = append(*f, struct {
		format string
		n      int
	}{format, 1})
}

// recordOverhead bounds what a record batch of one record adds to its key, value and
// headers (batch header 61 bytes, record lengths and deltas as varints).
const recordOverhead = 128

// truncatedFlagBytes is room for the parse.truncated field a cut event gains.
const truncatedFlagBytes = 64

// recordSize is an upper bound of m's size as a record batch of its own.
func recordSize(m kafkax.Message) int {
	n := recordOverhead + len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

// message encodes ev; when MaxMessageBytes is set and the record would exceed it, the raw
// line is cut by the excess.
func (p *Publisher) message(enc *kafkax.Encoder, ev *logwardenpb.LogEvent) (kafkax.Message, error) {
	m, err := enc.Message(p.opts.Topic, event.EntityKey(ev), ev.GetId(), ev)
	if err != nil || p.opts.MaxMessageBytes <= 0 || recordSize(m) <= p.opts.MaxMessageBytes {
		return m, err
	}
	return p.shrink(ev, recordSize(m)-p.opts.MaxMessageBytes)
}

// shrink cuts ev's raw line by at least by bytes (on a character boundary), flags it
// parse.truncated and encodes it again; it fails when the line is not long enough.
func (p *Publisher) shrink(ev *logwardenpb.LogEvent, by int) (kafkax.Message, error) {
	keep := len(ev.GetRaw()) - by - truncatedFlagBytes
	if keep <= 0 {
		return kafkax.Message{}, fmt.Errorf("event %s: %d bytes too large for %s even without its line", ev.GetId(), by, p.opts.Topic)
	}
	ev.Raw = utf8safe.Clip(ev.GetRaw(), keep)
	if ev.Fields == nil {
		ev.Fields = map[string]string{}
	}
	ev.Fields[logparse.FieldTruncated] = "true"
	return kafkax.NewProtoMessage(p.opts.Topic, event.EntityKey(ev), ev.GetId(), ev)
}

// Publish encodes lines once and writes them until Kafka acknowledged all of them: a
// failed write is retried with back-off until ctx ends, sending again only the messages
// that were not written, with the same event ids. A message the writer refuses as too
// large for the topic is cut to the size it names and sent again. Publish returns nil,
// the error wrapping ctx's, or a permanent error at once. It is Prepare then Send.
func (p *Publisher) Publish(ctx context.Context, lines []source.Line) error {
	b, err := p.Prepare(lines)
	if err != nil || b == nil {
		return err
	}
	return b.Send(ctx)
}

// Prepare parses and encodes lines (ids assigned now) without writing them; the batch's
// Send writes them as Publish does. A source can prepare its next lines while the
// previous batch is being written. Nothing to publish gives a nil batch and no error.
func (p *Publisher) Prepare(lines []source.Line) (source.Prepared, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	a, err := p.messages(lines)
	if err != nil {
		return nil, fmt.Errorf("publish %d lines to %s: %w", len(lines), p.opts.Topic, err)
	}
	return &batch{p: p, src: lines[0].Source, lines: len(lines), evs: a.evs, msgs: a.msgs, arena: a}, nil
}

// batch is lines made into events and messages by Prepare.
type batch struct {
	p     *Publisher
	src   string
	lines int
	evs   []*logwardenpb.LogEvent
	msgs  []kafkax.Message
	arena *arena // given back once written
}

// starter is a Writer whose writes can overlap, in order (kafkax.Writer).
type starter interface {
	Start(ctx context.Context, msgs ...kafkax.Message) *kafkax.Pending
}

// Start begins writing the batch and returns a func that waits for it and behaves as
// Send: with a kafkax.Writer the batch's messages keep their order per key after those of
// the batches started before, while those are still being written.
func (b *batch) Start(ctx context.Context) func() error {
	st, ok := b.p.w.(starter)
	if !ok {
		return func() error { return b.Send(ctx) }
	}
	first := st.Start(ctx, b.msgs...)
	return func() error { return b.send(ctx, first) }
}

// Send writes the batch until Kafka acknowledged all of it (see Publish).
func (b *batch) Send(ctx context.Context) error { return b.send(ctx, nil) }

// send is Send with the first attempt, when set, already begun.
func (b *batch) send(ctx context.Context, first *kafkax.Pending) error {
	p, src, evs, msgs := b.p, b.src, b.evs, b.msgs
	policy := p.opts.Retry
	policy.OnRetry = func(attempt int, err error, wait time.Duration) {
		p.opts.Log.Warn("publish failed, retrying with the same event ids", zap.String("source", src),
			zap.Int("lines", b.lines), zap.Int("attempt", attempt), zap.Duration("backoff", wait), zap.Error(err))
	}
	err := retry.Do(ctx, policy, func(ctx context.Context, _ int) error {
		var err error
		if first != nil {
			err, first = first.Wait(), nil
		} else {
			err = p.w.Write(ctx, msgs...)
		}
		if err == nil {
			return nil
		}
		p.opts.Metrics.failed(src)
		var we *kafkax.WriteError
		if !errors.As(err, &we) || len(we.Errs) != len(msgs) {
			return err // nothing known to be written: all again
		}
		var againEvs []*logwardenpb.LogEvent
		var again []kafkax.Message
		for i, e := range we.Errs {
			if e == nil { // written
				continue
			}
			m := msgs[i]
			if tl := (*kafkax.MessageTooLargeError)(nil); errors.As(e, &tl) {
				var serr error
				if m, serr = p.shrink(evs[i], int(tl.Size-tl.Max)); serr != nil {
					return retry.Permanent(fmt.Errorf("%w: %w", serr, e))
				}
			}
			againEvs, again = append(againEvs, evs[i]), append(again, m)
		}
		evs, msgs = againEvs, again
		return err
	})
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = errors.Join(ctx.Err(), err)
		}
		return fmt.Errorf("publish %d lines to %s: %w", b.lines, p.opts.Topic, err)
	}
	p.opts.Metrics.published(src, b.lines)
	// Every message is acknowledged: nothing refers to the batch's memory any more (after
	// a failed write kafka-go may still, so that arena is left to the GC).
	p.arenas.Put(b.arena)
	b.arena = nil
	return nil
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
			Name: "logwarden_producer_publish_failures_total", Help: "Failed writes of a batch to Kafka (each attempt), by source kind.",
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

func (m *Metrics) parsed(source string, n int, formats formatCounts) {
	if m == nil {
		return
	}
	m.lines.WithLabelValues(sourceKind(source)).Add(float64(n))
	for _, f := range formats {
		m.formats.WithLabelValues(f.format).Add(float64(f.n))
	}
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
