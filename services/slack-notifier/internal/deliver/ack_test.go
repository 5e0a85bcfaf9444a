package deliver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// updating records posts and in-place updates apart.
type updating struct {
	mu      sync.Mutex
	posts   []notify.Notification
	updates []notify.Notification
	sent    chan notify.Notification
}

func (u *updating) Name() string { return "updating" }
func (u *updating) Notify(_ context.Context, n notify.Notification) (bool, error) {
	u.mu.Lock()
	u.posts = append(u.posts, n)
	u.mu.Unlock()
	u.sent <- n
	return false, nil
}
func (u *updating) Update(_ context.Context, n notify.Notification) (bool, error) {
	u.mu.Lock()
	u.updates = append(u.updates, n)
	u.mu.Unlock()
	u.sent <- n
	return false, nil
}

type acked struct {
	mu   sync.Mutex
	refs map[string]logwardenpb.Severity
}

func (a *acked) Acknowledged(ref string) (logwardenpb.Severity, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.refs[ref]
	return s, ok
}

// An acknowledged group's follow-ups only update its message in place (their alerts
// are acknowledged once the update is accepted) until an alert more severe than the
// acknowledged state arrives: that one is posted. Refresh re-renders the message.
func TestAcknowledgedGroups(t *testing.T) {
	clk := clock.NewAutoFake(t0)
	u := &updating{sent: make(chan notify.Notification, 10)}
	acks := &acked{refs: map[string]logwardenpb.Severity{}}
	p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clk, Acks: acks}, u)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	l := newLedger()
	add := func(id string, sev logwardenpb.Severity) notify.Notification {
		t.Helper()
		if err := p.Add(ctx, &logwardenpb.Alert{Id: id, Fingerprint: "fp", Entity: "alice", Severity: sev}, receipt{id, l}); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-u.sent:
			return n
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: nothing sent", id)
		}
		return notify.Notification{}
	}
	first := add("1", logwardenpb.Severity_SEVERITY_HIGH)
	if first.Update || first.Ref == "" {
		t.Fatalf("first message %+v", first)
	}
	acks.mu.Lock()
	acks.refs[first.Ref] = logwardenpb.Severity_SEVERITY_HIGH
	acks.mu.Unlock()
	if !p.Refresh(first.GroupKey, first.Ref) {
		t.Fatal("refresh refused")
	}
	if n := <-u.sent; !n.Update || n.Ref != first.Ref || n.New != 0 {
		t.Fatalf("refresh sent %+v", n)
	}
	if n := add("2", logwardenpb.Severity_SEVERITY_HIGH); !n.Update || n.Count != 2 || n.New != 1 {
		t.Fatalf("acknowledged follow-up %+v, want an in-place update counting 2", n)
	}
	if n := add("3", logwardenpb.Severity_SEVERITY_CRITICAL); n.Update {
		t.Fatalf("escalated follow-up not posted: %+v", n)
	}
	p.Refresh(first.GroupKey, "an-older-message") // not the group's message: nothing
	p.Refresh("no-such-group", first.Ref)
	l.wait(t, 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.posts) != 2 || len(u.updates) != 2 {
		t.Fatalf("%d posts, %d updates; want 2 and 2", len(u.posts), len(u.updates))
	}
	for _, id := range []string{"1", "2", "3"} {
		if l.acks[id] != 1 {
			t.Errorf("alert %s acked %d times", id, l.acks[id])
		}
	}
}

// A sink without in-place updates settles an update without a request.
func TestUpdateWithoutUpdater(t *testing.T) {
	s := &scripted{}
	p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clock.NewAutoFake(t0)}, s)
	d := p.newDestination("")
	l := newLedger()
	n := note("x", logwardenpb.Severity_SEVERITY_LOW)
	n.Update = true
	if !d.deliver(context.Background(), &entry{n: n, receipts: []Receipt{receipt{"x", l}}}) {
		t.Fatal("deliver stopped")
	}
	if len(s.got) != 0 || l.acks["x"] != 1 {
		t.Fatalf("%d requests, ack %d", len(s.got), l.acks["x"])
	}
}

// In-place updates are never folded into an "N more alerts" message: they announce
// nothing, and their group's people already acted on it.
func TestQueueNeverFoldsUpdates(t *testing.T) {
	q := queue{limit: 2}
	for _, id := range []string{"a", "b", "c"} {
		n := note(id, logwardenpb.Severity_SEVERITY_LOW)
		n.Update = true
		if folded := q.push(&entry{n: n, ready: t0}); folded != 0 {
			t.Fatalf("update %s folded", id)
		}
	}
	if q.Len() != 3 || q.overflow != nil {
		t.Fatalf("%d queued, overflow %v", q.Len(), q.overflow != nil)
	}
	if folded := q.push(&entry{n: note("d", logwardenpb.Severity_SEVERITY_LOW), ready: t0}); folded != 1 || q.overflow == nil {
		t.Fatalf("a normal notification beyond the bound: folded %d", folded)
	}
}
