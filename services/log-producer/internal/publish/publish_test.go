package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
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
	w.written = append(w.written, msgs)
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
	p := New(w, Options{Topic: "logs.raw", Now: func() time.Time { return recv },
		Parser: logparse.New(logparse.Options{Now: func() time.Time { return recv }}),
		NewID:  func() string { n++; return fmt.Sprintf("id%d", n) }})
	label := &logwardenpb.Label{Anomalous: true, Scenario: "brute_force", IncidentId: "inc-1"}
	lines := []Line{
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
	p := New(w, Options{Topic: "t", RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	if err := p.PublishRetry(context.Background(), []Line{{Text: "a", Source: "stdin"}, {Text: "b", Source: "stdin"}}); err != nil {
		t.Fatal(err)
	}
	if w.calls != 4 {
		t.Fatalf("%d writes, want 4", w.calls)
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
	p := New(w, Options{Topic: "t", RetryMin: time.Millisecond})
	if err := p.Publish(context.Background(), []Line{{Text: "a", Source: "http"}}); err == nil || w.calls != 1 {
		t.Fatalf("Publish to a failing writer: err %v after %d calls, want one failed call", err, w.calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.PublishRetry(ctx, []Line{{Text: "a", Source: "stdin"}}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("PublishRetry after cancel: %v", err)
	}
	if err := p.Publish(context.Background(), nil); err != nil {
		t.Fatal("empty batch:", err)
	}
}

func TestGraceOutlivesItsParent(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	g, cancel := Grace(parent, time.Hour)
	defer cancel()
	cancelParent()
	if g.Err() != nil {
		t.Fatal("grace context ended with its parent")
	}
	cancel()
	if g.Err() == nil {
		t.Fatal("grace context not ended by its cancel")
	}

	parent2, cancelParent2 := context.WithCancel(context.Background())
	g2, cancel2 := Grace(parent2, time.Nanosecond)
	defer cancel2()
	cancelParent2()
	<-g2.Done() // ends shortly after the parent; a hang fails the test by timeout
}

func TestIDKeyMakesIDsDeterministic(t *testing.T) {
	p := New(&fakeWriter{}, Options{Topic: "t"})
	at := time.Now()
	line := "[01/Feb/2024 14:46:21] 10.0.0.1 bob failed to log in"
	a := p.Event(Line{Text: line, IDKey: "file:1:2:300"}, at)
	b := p.Event(Line{Text: line, IDKey: "file:1:2:300"}, at.Add(time.Hour))
	c := p.Event(Line{Text: line, IDKey: "file:1:2:301"}, at)
	d := p.Event(Line{Text: line}, at)
	if a.GetId() != b.GetId() || a.GetId() == c.GetId() || a.GetId() == d.GetId() || len(a.GetId()) != 26 {
		t.Fatalf("ids %s %s %s %s", a.GetId(), b.GetId(), c.GetId(), d.GetId())
	}
	// The time part sorts with the line's own time (2024-02-01).
	if e := p.Event(Line{Text: line, IDKey: "x"}, at); e.GetId()[:10] != a.GetId()[:10] {
		t.Fatalf("time prefix differs: %s %s", e.GetId(), a.GetId())
	}
}
