package deliver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// mutes silences entities from a time on.
type mutes struct {
	mu   sync.Mutex
	from map[string]time.Time
}

func (m *mutes) Muted(a *logwardenpb.Alert, now time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.from[a.GetEntity()]
	return "s-" + a.GetEntity(), ok && !now.Before(at)
}

// A silenced alert is acknowledged and never posted, whether the silence existed when
// it arrived or was made while its group waited; other alerts are posted.
func TestMutedAlertsAreAckedNotPosted(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &scripted{posted: make(chan notify.Notification, 10)}
	m := &mutes{from: map[string]time.Time{"alice": t0}}
	p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clk, Mute: m}, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	l := newLedger()
	add := func(id, entity string) {
		t.Helper()
		if err := p.Add(ctx, &logwardenpb.Alert{Id: id, Fingerprint: entity, Entity: entity, Severity: logwardenpb.Severity_SEVERITY_HIGH}, receipt{id, l}); err != nil {
			t.Fatal(err)
		}
	}
	add("a1", "alice") // silenced on arrival
	l.wait(t, 1)
	add("b1", "bob") // waits group_wait (10s); silenced meanwhile
	add("c1", "carol")
	// Both groups open (Add only queues): the clock must not move before carol's group
	// waits, or its group_wait would start after the advance.
	for testutil.ToFloat64(p.o.Metrics.Groups) < 2 || clk.Waiters() < 1 {
		time.Sleep(time.Millisecond)
	}
	m.mu.Lock()
	m.from["bob"] = t0.Add(5 * time.Second)
	m.mu.Unlock()
	clk.Advance(10 * time.Second)
	select {
	case n := <-s.posted:
		if n.Alert.GetId() != "c1" {
			t.Fatalf("posted %s", n.Alert.GetId())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("carol's alert not posted")
	}
	l.wait(t, 2)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) != 1 || l.acks["a1"] != 1 || l.acks["b1"] != 1 || l.acks["c1"] != 1 {
		t.Fatalf("%d posts; acks %v", len(s.got), l.acks)
	}
	if got := testutil.ToFloat64(p.o.Metrics.Silenced); got != 2 {
		t.Fatalf("silenced counter %v, want 2", got)
	}
}
