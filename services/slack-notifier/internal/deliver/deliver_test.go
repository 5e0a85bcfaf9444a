package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/retry"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// ledger records how each alert's receipt was settled.
type ledger struct {
	mu      sync.Mutex
	acks    map[string]int
	rejects map[string]error
	settled chan string
}

func newLedger() *ledger {
	return &ledger{acks: map[string]int{}, rejects: map[string]error{}, settled: make(chan string, 10000)}
}

type receipt struct {
	id string
	l  *ledger
}

func (r receipt) Ack(context.Context) error {
	r.l.mu.Lock()
	r.l.acks[r.id]++
	r.l.mu.Unlock()
	r.l.settled <- r.id
	return nil
}

func (r receipt) Reject(_ context.Context, reason error) error {
	r.l.mu.Lock()
	r.l.rejects[r.id] = reason
	r.l.mu.Unlock()
	r.l.settled <- r.id
	return nil
}

// wait blocks until n receipts were settled (the timeout only guards against a hang).
func (l *ledger) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-l.settled:
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d receipts settled", i, n)
		}
	}
}

type answer struct {
	retry bool
	err   error
}

// scripted answers from a script, then success, recording what it was sent and when.
type scripted struct {
	mu      sync.Mutex
	clk     clock.Clock
	answers []answer
	got     []notify.Notification
	at      []time.Time
	route   func(notify.Notification) string
	posted  chan notify.Notification
}

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Notify(_ context.Context, n notify.Notification) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, n)
	if s.clk != nil {
		s.at = append(s.at, s.clk.Now())
	}
	if len(s.answers) == 0 {
		if s.posted != nil {
			s.posted <- n
		}
		return false, nil
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a.retry, a.err
}

type rateLimited time.Duration

func (r rateLimited) Error() string             { return "HTTP 429" }
func (r rateLimited) RetryAfter() time.Duration { return time.Duration(r) }

var (
	transient = answer{true, errors.New("HTTP 500")}
	perm      = answer{false, errors.New("no_service")}
)

func policy() retry.Policy {
	return retry.Policy{Initial: 100 * time.Millisecond, Max: 400 * time.Millisecond, MaxRetryAfter: time.Minute}
}

func note(id string, sev logwardenpb.Severity) notify.Notification {
	return notify.Notification{GroupKey: "fingerprint=" + id, New: 1, Count: 1,
		Alert: &logwardenpb.Alert{Id: id, Fingerprint: id, Severity: sev, Title: "t"}}
}

func TestDeliverRetries(t *testing.T) {
	tests := []struct {
		name      string
		answers   []answer
		wantWaits []time.Duration
		wantErr   string
		wantCalls int
	}{
		{"ok at once", nil, nil, "", 1},
		{"5xx backs off exponentially, capped", []answer{transient, transient, transient, transient, transient},
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}, "", 6},
		{"429 waits Retry-After", []answer{{true, rateLimited(7 * time.Second)}}, []time.Duration{7 * time.Second}, "", 2},
		{"Retry-After: 86400 waits max_retry_after", []answer{{true, rateLimited(24 * time.Hour)}}, []time.Duration{time.Minute}, "", 2},
		{"permanent stops at once", []answer{perm}, nil, "scripted: no_service", 1},
		{"transient then permanent", []answer{transient, perm}, []time.Duration{100 * time.Millisecond}, "scripted: no_service", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewAutoFake(t0)
			s := &scripted{answers: tt.answers}
			p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clk}, s)
			l := newLedger()
			d := p.newDestination("")
			if !d.deliver(context.Background(), &entry{n: note("a", logwardenpb.Severity_SEVERITY_HIGH), receipts: []Receipt{receipt{"a", l}}}) {
				t.Fatal("deliver stopped")
			}
			if fmt.Sprint(clk.Sleeps()) != fmt.Sprint(tt.wantWaits) {
				t.Errorf("waits %v, want %v", clk.Sleeps(), tt.wantWaits)
			}
			if len(s.got) != tt.wantCalls {
				t.Errorf("%d calls, want %d", len(s.got), tt.wantCalls)
			}
			if tt.wantErr == "" && l.acks["a"] != 1 {
				t.Errorf("acks %v, want a acked once", l.acks)
			}
			if tt.wantErr != "" && (l.acks["a"] != 0 || l.rejects["a"] == nil || l.rejects["a"].Error() != tt.wantErr) {
				t.Errorf("acks %v rejects %v, want a rejected with %q", l.acks, l.rejects, tt.wantErr)
			}
		})
	}
}

func TestDeliverStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &scripted{answers: []answer{transient, transient}}
	p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clock.NewAutoFake(t0)}, s)
	l := newLedger()
	if p.newDestination("").deliver(ctx, &entry{n: note("a", 0), receipts: []Receipt{receipt{"a", l}}}) {
		t.Fatal("deliver went on after cancel")
	}
	if len(l.acks)+len(l.rejects) != 0 {
		t.Fatalf("settled despite cancel: %v %v", l.acks, l.rejects)
	}
}

func TestPacing(t *testing.T) {
	clk := clock.NewAutoFake(t0)
	p := New(Options{Group: group.DefaultConfig(), RatePerSecond: 2, Retry: policy(), Clock: clk}, &scripted{})
	d := p.newDestination("")
	l := newLedger()
	for i := range 3 {
		d.deliver(context.Background(), &entry{n: note(fmt.Sprint(i), 0), receipts: []Receipt{receipt{fmt.Sprint(i), l}}})
	}
	if want := "[500ms 500ms]"; fmt.Sprint(clk.Sleeps()) != want { // the first message does not wait
		t.Fatalf("waits %v, want %s", clk.Sleeps(), want)
	}
}

// A transient failure puts the notification back: the next attempt takes the most
// urgent one, here a critical that arrived during the back-off.
func TestRetryTakesTheMostUrgent(t *testing.T) {
	clk := clock.NewAutoFake(t0)
	s := &scripted{clk: clk, answers: []answer{transient}}
	p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clk}, s)
	d := p.newDestination("")
	l := newLedger()
	low := &entry{n: note("low", logwardenpb.Severity_SEVERITY_LOW), receipts: []Receipt{receipt{"low", l}}}
	d.push(t0, []group.Batch[Receipt]{{Notification: note("crit", logwardenpb.Severity_SEVERITY_CRITICAL), Tokens: []Receipt{receipt{"crit", l}}}})
	d.deliver(context.Background(), low)
	d.deliver(context.Background(), d.take())
	var order []string
	for _, n := range s.got {
		order = append(order, n.Alert.GetId())
	}
	if got := strings.Join(order, " "); got != "low crit low" {
		t.Fatalf("attempts %q, want low (failed), crit, low", got)
	}
	if l.acks["crit"] != 1 || l.acks["low"] != 1 {
		t.Fatalf("acks %v", l.acks)
	}
}

func TestQueueOrder(t *testing.T) {
	q := queue{}
	for _, n := range []struct {
		id  string
		sev logwardenpb.Severity
		at  time.Duration
	}{
		{"low-old", logwardenpb.Severity_SEVERITY_LOW, 0},
		{"medium", logwardenpb.Severity_SEVERITY_MEDIUM, time.Second},
		{"critical-new", logwardenpb.Severity_SEVERITY_CRITICAL, 3 * time.Second},
		{"critical-old", logwardenpb.Severity_SEVERITY_CRITICAL, 2 * time.Second},
		{"low-same-time-later", logwardenpb.Severity_SEVERITY_LOW, 0},
	} {
		q.push(&entry{n: note(n.id, n.sev), ready: t0.Add(n.at)})
	}
	var got []string
	for q.Len() > 0 {
		got = append(got, q.pop().n.Alert.GetId())
	}
	if want := "critical-old critical-new medium low-old low-same-time-later"; strings.Join(got, " ") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
}

// Beyond the limit the least urgent notifications fold into one overflow entry that
// carries all their receipts.
func TestQueueFolds(t *testing.T) {
	q := queue{limit: 5, dest: "#alerts"}
	l := newLedger()
	folded := 0
	for i := range 20 {
		sev := logwardenpb.Severity_SEVERITY_LOW
		if i%5 == 0 {
			sev = logwardenpb.Severity_SEVERITY_HIGH
		}
		n := note(fmt.Sprint(i), sev)
		n.New, n.Count = 2, 3
		folded += q.push(&entry{n: n, ready: t0, receipts: []Receipt{receipt{fmt.Sprint(i, "a"), l}, receipt{fmt.Sprint(i, "b"), l}}})
	}
	if q.Len() != 5 || folded != 16 {
		t.Fatalf("len %d folded %d, want 5 and 16", q.Len(), folded)
	}
	receipts := 0
	var overflow *entry
	var first []string
	for q.Len() > 0 {
		e := q.pop()
		receipts += len(e.receipts)
		if e.n.Overflow != nil {
			overflow = e
			continue
		}
		first = append(first, e.n.Alert.GetId())
	}
	if receipts != 40 {
		t.Fatalf("%d receipts queued, want 40: an alert's accounting was lost", receipts)
	}
	if strings.Join(first, " ") != "0 5 10 15" {
		t.Errorf("sent on their own: %v, want the four high ones", first)
	}
	o := overflow.n.Overflow
	if overflow.n.GroupKey != "overflow/#alerts" || o.Notifications != 16 || o.Alerts != 32 || overflow.n.Count != 48 ||
		o.BySeverity[logwardenpb.Severity_SEVERITY_LOW] != 32 || o.Titles["t"] != 32 || len(overflow.receipts) != 32 {
		t.Errorf("overflow %+v %+v", overflow.n, o)
	}
	// A failed overflow message that comes back merges with the newer one.
	q.push(overflow)
	for i := range 10 {
		q.push(&entry{n: note(fmt.Sprint("x", i), logwardenpb.Severity_SEVERITY_LOW), ready: t0, receipts: []Receipt{receipt{fmt.Sprint("x", i), l}}})
	}
	overflows, receipts := 0, 0
	for q.Len() > 0 {
		e := q.pop()
		receipts += len(e.receipts)
		if e.n.Overflow != nil {
			overflows++
		}
	}
	if overflows != 1 || receipts != 42 {
		t.Fatalf("%d overflow messages and %d receipts, want 1 and 42", overflows, receipts)
	}
}

// The flood of issue #10: 120 low/medium alerts, then a critical one, at the default
// 1 message/s. The critical is the first message, sent when its group_wait ends; the
// junk that the rate cannot post within slack.overflow_after is one "N more alerts"
// message; every alert is acknowledged exactly once.
func TestFloodCriticalFirst(t *testing.T) {
	clk := clock.NewAutoFake(t0)
	s := &scripted{clk: clk}
	p := New(Options{Group: group.DefaultConfig(), RatePerSecond: 1, OverflowAfter: 30 * time.Second, Retry: policy(), Clock: clk}, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newLedger()
	for i := range 120 {
		sev := logwardenpb.Severity_SEVERITY_LOW
		if i%2 == 1 {
			sev = logwardenpb.Severity_SEVERITY_MEDIUM
		}
		id := fmt.Sprint("junk-", i)
		a := &logwardenpb.Alert{Id: id, Fingerprint: id, Severity: sev, Title: "junk", Count: 1, FirstSeen: timestamppb.New(t0), LastSeen: timestamppb.New(t0)}
		if err := p.Add(ctx, a, receipt{id, l}); err != nil {
			t.Fatal(err)
		}
	}
	crit := &logwardenpb.Alert{Id: "crit", Fingerprint: "crit", Severity: logwardenpb.Severity_SEVERITY_CRITICAL, Title: "real", Count: 1,
		FirstSeen: timestamppb.New(t0.Add(time.Second)), LastSeen: timestamppb.New(t0.Add(time.Second))}
	if err := p.Add(ctx, crit, receipt{"crit", l}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	l.wait(t, 121)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got[0].Alert.GetId() != "crit" || !s.at[0].Equal(t0.Add(10*time.Second)) {
		t.Fatalf("first post %s at t0+%v, want the critical at t0+10s (group_wait)", s.got[0].Alert.GetId(), s.at[0].Sub(t0))
	}
	overflows, covered := 0, 0
	for _, n := range s.got {
		if n.Overflow != nil {
			overflows++
			covered += n.Overflow.Alerts
		} else {
			covered += n.New
		}
	}
	if len(s.got) != 30 || overflows != 1 || covered != 121 {
		t.Fatalf("%d posts (%d overflow) covering %d alerts, want 30 posts, 1 overflow, 121 alerts", len(s.got), overflows, covered)
	}
	for id, n := range l.acks {
		if n != 1 {
			t.Errorf("%s acked %d times", id, n)
		}
	}
	if len(l.acks) != 121 || len(l.rejects) != 0 {
		t.Fatalf("%d acked, %d rejected, want 121 and 0", len(l.acks), len(l.rejects))
	}
	t.Logf("critical posted %v after it arrived; %d posts in %v for 121 alerts", s.at[0].Sub(t0), len(s.got), s.at[len(s.at)-1].Sub(t0))
}

type router struct{ *scripted }

func (r router) Destination(n notify.Notification) string { return r.route(n) }

// While one destination waits out a 429 (Retry-After: 86400, capped), another keeps
// posting. The clock is never advanced: the waiting destination stays asleep.
func TestDestinationsArePacedApart(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &scripted{clk: clk, answers: []answer{{true, rateLimited(24 * time.Hour)}}, posted: make(chan notify.Notification, 10),
		route: func(n notify.Notification) string {
			if n.Alert.GetSeverity() == logwardenpb.Severity_SEVERITY_CRITICAL {
				return "#oncall"
			}
			return "#alerts"
		}}
	cfg := group.DefaultConfig()
	cfg.Wait = 0
	p := New(Options{Group: cfg, RatePerSecond: 1, Retry: policy(), Clock: clk}, router{s})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	l := newLedger()
	if err := p.Add(ctx, &logwardenpb.Alert{Id: "low", Fingerprint: "low", Severity: logwardenpb.Severity_SEVERITY_LOW}, receipt{"low", l}); err != nil {
		t.Fatal(err)
	}
	for clk.Waiters() < 1 { // #alerts got its 429 and sleeps
		time.Sleep(time.Millisecond)
	}
	if err := p.Add(ctx, &logwardenpb.Alert{Id: "crit", Fingerprint: "crit", Severity: logwardenpb.Severity_SEVERITY_CRITICAL}, receipt{"crit", l}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-s.posted:
		if n.Alert.GetId() != "crit" {
			t.Fatalf("posted %s", n.Alert.GetId())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("#oncall waited for #alerts' rate limit")
	}
	l.wait(t, 1)
	if waits := clk.Sleeps(); len(waits) == 0 || waits[0] != time.Minute {
		t.Errorf("waits %v, want the 24h Retry-After capped to 1m", waits)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.acks["low"] != 0 || l.acks["crit"] != 1 {
		t.Fatalf("acks %v: want crit acked, low (never delivered) not", l.acks)
	}
}

// Run: every added alert is settled exactly once; a redelivered id is acked at once;
// a permanent failure rejects the alerts of its notification.
func TestRunSettlesEachAlertOnce(t *testing.T) {
	clk := clock.NewAutoFake(t0)
	s := &scripted{answers: []answer{transient, perm}}
	p := New(Options{Group: group.DefaultConfig(), Retry: policy(), Clock: clk}, s)
	ctx, cancel := context.WithCancel(context.Background())
	l := newLedger()
	const n = 50
	for i := range n {
		a := &logwardenpb.Alert{Id: fmt.Sprint(i), Fingerprint: fmt.Sprint("fp", i%5)}
		if err := p.Add(ctx, a, receipt{fmt.Sprint(i), l}); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	l.wait(t, n)
	if err := p.Add(ctx, &logwardenpb.Alert{Id: "0", Fingerprint: "fp0"}, receipt{"dup", l}); err != nil {
		t.Fatal(err)
	}
	l.wait(t, 1)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for i := range n {
		id := fmt.Sprint(i)
		if l.acks[id] > 1 || (l.acks[id] == 1) == (l.rejects[id] != nil) {
			t.Errorf("alert %s: acked %d, rejected %v", id, l.acks[id], l.rejects[id])
		}
		if l.rejects[id] != nil {
			rejected++
		}
	}
	if rejected != n/5 || l.acks["dup"] != 1 {
		t.Errorf("%d rejected (want one group of %d), dup acked %d", rejected, n/5, l.acks["dup"])
	}
}
