package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/retry"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// fakeWriter fails the first `failures` writes, then records messages.
type fakeWriter struct {
	mu       sync.Mutex
	failures int
	calls    int
	written  [][]kafkax.Message
}

func (w *fakeWriter) Write(ctx context.Context, msgs ...kafkax.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	// A Writer keeps nothing of msgs after it returned (their memory is used again).
	kept := make([]kafkax.Message, len(msgs))
	for i, m := range msgs {
		kept[i] = m
		kept[i].Key, kept[i].Value = bytes.Clone(m.Key), bytes.Clone(m.Value)
		kept[i].Headers = make([]kafkax.Header, len(m.Headers))
		for j, h := range m.Headers {
			kept[i].Headers[j] = kafkax.Header{Key: h.Key, Value: bytes.Clone(h.Value)}
		}
	}
	w.written = append(w.written, kept)
	if w.calls <= w.failures {
		return errors.New("broker unavailable")
	}
	return nil
}

func decode(t *testing.T, m kafkax.Message) *logwardenpb.LogEvent {
	t.Helper()
	ev := &logwardenpb.LogEvent{}
	if err := proto.Unmarshal(m.Value, ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestPublishBuildsKeyedParsedEvents(t *testing.T) {
	recv := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	given := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	n := 0
	w := &fakeWriter{}
	p := New(w, Options{Topic: "logs.raw", Clock: clock.NewFake(recv),
		Parser: logparse.New(logparse.Options{Now: func() time.Time { return recv }}),
		NewID:  func() string { n++; return fmt.Sprintf("id%d", n) }})
	label := &logwardenpb.Label{Anomalous: true, Scenario: "brute_force", IncidentId: "inc-1"}
	lines := []source.Line{
		{Text: "[01/Feb/2024 14:46:21] 10.0.0.1 bob failed to log in", Source: "generator", Label: label},
		{Text: "plain words", Source: "file:/var/log/app.log"},
		{Text: "plain words", Source: "http", Host: "web1", Time: given},
		{Text: "Nov 23 23:59:01 db2 CRON[1]: x", Source: "stdin"},
	}
	if err := p.Publish(context.Background(), lines); err != nil {
		t.Fatal(err)
	}
	if len(w.written) != 1 || len(w.written[0]) != 4 {
		t.Fatalf("writes %v", w.written)
	}
	tests := []struct {
		key, source, format string
		time                time.Time
		label               bool
	}{
		{"bob", "generator", "tutorial", time.Date(2024, 2, 1, 14, 46, 21, 0, time.UTC), true},
		{"file:/var/log/app.log", "file:/var/log/app.log", "raw", recv, false},
		{"web1", "http", "raw", given, false},
		{"db2", "stdin", "syslog", time.Date(2026, 11, 23, 23, 59, 1, 0, time.UTC), false},
	}
	for i, tt := range tests {
		m := w.written[0][i]
		ev := decode(t, m)
		if m.Topic != "logs.raw" || string(m.Key) != tt.key || m.Header(kafkax.HeaderEventID) != ev.GetId() ||
			ev.GetId() != fmt.Sprintf("id%d", i+1) || m.Header(kafkax.HeaderSchema) != "logwarden.v1.LogEvent" {
			t.Errorf("message %d: topic %s key %q id header %q event id %q", i, m.Topic, m.Key, m.Header(kafkax.HeaderEventID), ev.GetId())
		}
		if ev.GetSource() != tt.source || ev.GetFields()["parse.format"] != tt.format || !ev.GetTime().AsTime().Equal(tt.time) ||
			!ev.GetReceivedAt().AsTime().Equal(recv) || (ev.GetLabel() != nil) != tt.label || ev.GetRaw() != lines[i].Text {
			t.Errorf("event %d = %v", i, ev)
		}
	}
	if got := decode(t, w.written[0][0]).GetLabel(); !proto.Equal(got, label) {
		t.Errorf("label = %v, want %v", got, label)
	}
}

func TestPublishRetryResendsTheSameIDs(t *testing.T) {
	w := &fakeWriter{failures: 3}
	clk := clock.NewAutoFake(time.Now())
	p := New(w, Options{Topic: "t", Clock: clk})
	if err := p.Publish(context.Background(), []source.Line{{Text: "a", Source: "stdin"}, {Text: "b", Source: "stdin"}}); err != nil {
		t.Fatal(err)
	}
	if w.calls != 4 {
		t.Fatalf("%d writes, want 4", w.calls)
	}
	if got, want := clk.Sleeps(), []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	for _, batch := range w.written[1:] {
		for i, m := range batch {
			if m.Header(kafkax.HeaderEventID) != w.written[0][i].Header(kafkax.HeaderEventID) {
				t.Fatal("a retry changed the event ids")
			}
		}
	}
}

func TestPublishErrorsAndCancel(t *testing.T) {
	w := &fakeWriter{failures: 1 << 30}
	p := New(w, Options{Topic: "t", Clock: clock.NewAutoFake(time.Now()), Retry: retry.Policy{MaxAttempts: 3}})
	if err := p.Publish(context.Background(), []source.Line{{Text: "a", Source: "http"}}); err == nil || w.calls != 3 {
		t.Fatalf("Publish to a failing writer: err %v after %d calls, want 3 failed calls", err, w.calls)
	}
	p = New(w, Options{Topic: "t", Clock: clock.NewFake(time.Now())}) // waits forever: only ctx ends it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Publish(ctx, []source.Line{{Text: "a", Source: "stdin"}}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish after cancel: %v", err)
	}
	if err := p.Publish(context.Background(), nil); err != nil {
		t.Fatal("empty batch:", err)
	}
}

func TestIDKeyMakesIDsDeterministic(t *testing.T) {
	p := New(&fakeWriter{}, Options{Topic: "t"})
	at := time.Now()
	line := "[01/Feb/2024 14:46:21] 10.0.0.1 bob failed to log in"
	a := p.Event(source.Line{Text: line, IDKey: "file:1:2:300"}, at)
	b := p.Event(source.Line{Text: line, IDKey: "file:1:2:300"}, at.Add(time.Hour))
	c := p.Event(source.Line{Text: line, IDKey: "file:1:2:301"}, at)
	d := p.Event(source.Line{Text: line}, at)
	if a.GetId() != b.GetId() || a.GetId() == c.GetId() || a.GetId() == d.GetId() || len(a.GetId()) != 26 {
		t.Fatalf("ids %s %s %s %s", a.GetId(), b.GetId(), c.GetId(), d.GetId())
	}
	// The time part sorts with the line's own time (2024-02-01).
	if e := p.Event(source.Line{Text: line, IDKey: "x"}, at); e.GetId()[:10] != a.GetId()[:10] {
		t.Fatalf("time prefix differs: %s %s", e.GetId(), a.GetId())
	}
}

// Lines without IDKey get ids from random bits read once per batch: all distinct, all
// stamped with the batch's receipt time, also past what one read provided.
func TestBatchIDsAreDistinct(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	p := New(&fakeWriter{}, Options{Topic: "t", Clock: clock.NewFake(at)})
	lines := make([]source.Line, 5000)
	for i := range lines {
		lines[i] = source.Line{Text: "[01/Feb/2024 14:46:21] 10.0.0.1 bob failed to log in"}
	}
	ar, err := p.messages(lines)
	if err != nil {
		t.Fatal(err)
	}
	evs := ar.evs
	want := event.NewIDFrom(at, strings.NewReader(strings.Repeat("\x00", 10)))[:10]
	seen := map[string]bool{}
	for _, ev := range evs {
		if id := ev.GetId(); seen[id] || len(id) != event.IDLen || id[:10] != want {
			t.Fatalf("id %s: repeated or not of %s", id, want)
		}
		seen[ev.GetId()] = true
	}
	e := newEntropy(1)
	a, b, c := e.next(), e.next(), e.next() // one id's worth, then a refill
	if a == b || b == c || a == c {
		t.Fatalf("random parts repeat: %x %x %x", a, b, c)
	}
}

// TestClientTimesAreClampedAndFlagged: a line whose source bounds its time (HTTP ingest)
// gets a time outside the window moved to the bound, the original kept in a field; the
// source's fields are added.
func TestClientTimesAreClampedAndFlagged(t *testing.T) {
	recv := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	p := New(&fakeWriter{}, Options{Topic: "t", Clock: clock.NewFake(recv)})
	far := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		line    source.Line
		want    time.Time
		clamped string
	}{
		{"far future", source.Line{Text: "x", Time: far, MaxPast: time.Hour, MaxFuture: time.Minute}, recv.Add(time.Minute), "9999-12-31T00:00:00Z"},
		{"far past in the line", source.Line{Text: "[01/Feb/2024 14:46:21] 10.0.0.1 bob failed to log in", MaxPast: time.Hour, MaxFuture: time.Minute},
			recv.Add(-time.Hour), "2024-02-01T14:46:21Z"},
		{"inside", source.Line{Text: "x", Time: recv.Add(-time.Minute), MaxPast: time.Hour, MaxFuture: time.Minute}, recv.Add(-time.Minute), ""},
		{"unbounded source", source.Line{Text: "x", Time: far}, far, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.line.Fields = map[string]string{"ingest.client": "shipper-eu"}
			ev := p.Event(tt.line, recv)
			if !ev.GetTime().AsTime().Equal(tt.want) || ev.GetFields()[FieldTimeClamped] != tt.clamped || ev.GetFields()["ingest.client"] != "shipper-eu" {
				t.Fatalf("time %s, fields %v; want %s clamped from %q", ev.GetTime().AsTime(), ev.GetFields(), tt.want, tt.clamped)
			}
		})
	}
}

// TestEventsFitTheTopic: with MaxMessageBytes, a line too long for the topic is cut (on a
// character boundary) so its record fits, and flagged parse.truncated; others are left.
func TestEventsFitTheTopic(t *testing.T) {
	w := &fakeWriter{}
	const limit = 4096
	p := New(w, Options{Topic: "t", MaxMessageBytes: limit, Parser: logparse.New(logparse.Options{MaxLineBytes: 64 << 10})})
	long := strings.Repeat("é", 10000) // 20,000 bytes
	if err := p.Publish(context.Background(), []source.Line{{Text: long, Source: "stdin"}, {Text: "short", Source: "stdin"}}); err != nil {
		t.Fatal(err)
	}
	cut, short := w.written[0][0], w.written[0][1]
	if recordSize(cut) > limit || len(cut.Value) < limit/2 {
		t.Fatalf("record of %d bytes for a limit of %d", recordSize(cut), limit)
	}
	ev := decode(t, cut)
	if !utf8.ValidString(ev.GetRaw()) || !strings.HasPrefix(long, ev.GetRaw()) || ev.GetFields()["parse.truncated"] != "true" {
		t.Fatalf("cut event: %d bytes of raw, fields %v", len(ev.GetRaw()), ev.GetFields())
	}
	if ev := decode(t, short); ev.GetRaw() != "short" || ev.GetFields()["parse.truncated"] != "" {
		t.Fatalf("short event changed: %v", ev)
	}
}

// partialWriter answers its first write with a WriteError: message 0 written, message 1
// failed for now, message 2 too large by 1,000 bytes; it then accepts everything.
type partialWriter struct {
	fakeWriter
}

func (w *partialWriter) Write(ctx context.Context, msgs ...kafkax.Message) error {
	w.mu.Lock()
	first := w.calls == 0
	w.mu.Unlock()
	_ = w.fakeWriter.Write(ctx, msgs...)
	if !first {
		return nil
	}
	size := int64(len(msgs[2].Value))
	return &kafkax.WriteError{Errs: []error{nil, errors.New("leader moved"),
		&kafkax.MessageTooLargeError{Topic: "t", Size: size, Max: size - 1000, Limit: int(size)}}}
}

// TestPublishRetriesOnlyWhatFailed: after a partial write only the unwritten messages are
// sent again, with their ids; the one too large for the topic is cut to fit and flagged.
func TestPublishRetriesOnlyWhatFailed(t *testing.T) {
	w := &partialWriter{}
	p := New(w, Options{Topic: "t", Clock: clock.NewAutoFake(time.Now())})
	long := strings.Repeat("y", 5000)
	lines := []source.Line{{Text: "written", Source: "stdin"}, {Text: "retried", Source: "stdin"}, {Text: long, Source: "stdin"}}
	if err := p.Publish(context.Background(), lines); err != nil {
		t.Fatal(err)
	}
	if len(w.written) != 2 || len(w.written[1]) != 2 {
		t.Fatalf("writes of %d batches, second of %d messages; want the 2 unwritten again", len(w.written), len(w.written[1]))
	}
	if w.written[1][0].Header(kafkax.HeaderEventID) != w.written[0][1].Header(kafkax.HeaderEventID) ||
		w.written[1][1].Header(kafkax.HeaderEventID) != w.written[0][2].Header(kafkax.HeaderEventID) {
		t.Fatal("a retry changed the event ids")
	}
	cut := decode(t, w.written[1][1])
	if len(w.written[1][1].Value) > len(w.written[0][2].Value)-1000 || cut.GetFields()["parse.truncated"] != "true" || !strings.HasPrefix(long, cut.GetRaw()) {
		t.Fatalf("too-large event resent with %d bytes (was %d), fields %v", len(w.written[1][1].Value), len(w.written[0][2].Value), cut.GetFields())
	}
}

// TestPublishGivesUpOnWhatCannotFit: a message too large even without its line is a
// permanent error at once, not a retry until the context ends.
func TestPublishGivesUpOnWhatCannotFit(t *testing.T) {
	w := &tooLargeWriter{}
	p := New(w, Options{Topic: "t", Clock: clock.NewFake(time.Now())}) // a retry would wait forever
	err := p.Publish(context.Background(), []source.Line{{Text: "short", Source: "stdin"}})
	if err == nil || !errors.Is(err, kafkax.ErrMessageTooLarge) {
		t.Fatalf("err = %v, want a permanent too-large error", err)
	}
}

type tooLargeWriter struct{}

func (tooLargeWriter) Write(_ context.Context, msgs ...kafkax.Message) error {
	errs := make([]error, len(msgs))
	for i := range msgs {
		errs[i] = &kafkax.MessageTooLargeError{Topic: "t", Size: 10000, Max: 100, Limit: 200}
	}
	return &kafkax.WriteError{Errs: errs}
}

// A written batch's memory builds the next batch: its events start empty (no field, time
// or line of the events before), and times the parser fills are never shared between
// events (events without a time of their own share the batch's receipt time).
func TestReusedBatchMemoryStartsClean(t *testing.T) {
	w := &fakeWriter{}
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	p := New(w, Options{Topic: "t", Clock: clock.NewFake(at), Parser: logparse.New(logparse.Options{MaxLineBytes: 60})})
	batches := [][]string{
		{"[01/Feb/2024 14:46:21] 10.0.0.1 bob failed to log in " + strings.Repeat("x", 80), "[01/Feb/2024 14:46:22] 10.0.0.2 ann logged in successfully"},
		{"no time here", "none here either"},
		{"[01/Feb/2024 14:46:23] 10.0.0.3 cy logged in successfully", "[01/Feb/2024 14:46:24] 10.0.0.4 dee logged in successfully"},
	}
	for _, texts := range batches {
		lines := make([]source.Line, len(texts))
		for i, s := range texts {
			lines[i] = source.Line{Text: s, Source: "stdin"}
		}
		if err := p.Publish(context.Background(), lines); err != nil {
			t.Fatal(err)
		}
	}
	last := w.written[len(w.written)-1]
	for i, m := range last {
		ev := decode(t, m)
		if ev.GetRaw() != batches[2][i] || len(ev.GetFields()) != 1 || ev.GetFields()[logparse.FieldFormat] != logparse.FormatTutorial {
			t.Errorf("event %d: raw %q fields %v", i, ev.GetRaw(), ev.GetFields())
		}
		if want := time.Date(2024, 2, 1, 14, 46, 23+i, 0, time.UTC); !ev.GetTime().AsTime().Equal(want) || !ev.GetReceivedAt().AsTime().Equal(at) {
			t.Errorf("event %d: time %s received %s, want %s %s", i, ev.GetTime().AsTime(), ev.GetReceivedAt().AsTime(), want, at)
		}
	}
	for i, m := range w.written[1] {
		if ev := decode(t, m); !ev.GetTime().AsTime().Equal(at) || ev.GetUser() != "" {
			t.Errorf("untimed event %d: time %s user %q", i, ev.GetTime().AsTime(), ev.GetUser())
		}
	}
}
