package deliver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/sink"
)

// fakeClock advances by exactly the duration asked for, at once: waits are recorded,
// never slept.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

type answer struct {
	retry bool
	err   error
}

type scripted struct {
	mu      sync.Mutex
	answers []answer
	got     []notify.Notification
}

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Notify(_ context.Context, n notify.Notification) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, n)
	if len(s.answers) == 0 {
		return false, nil
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a.retry, a.err
}

var (
	transient = answer{true, errors.New("HTTP 500")}
	perm      = answer{false, errors.New("no_service")}
)

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		answers   []answer
		wantWaits []time.Duration
		wantErr   bool
		wantCalls int
	}{
		{"ok at once", nil, nil, false, 1},
		{"5xx backs off exponentially, capped", []answer{transient, transient, transient, transient, transient},
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}, false, 6},
		{"429 waits Retry-After", []answer{{true, &sink.RateLimitedError{After: 7 * time.Second}}}, []time.Duration{7 * time.Second}, false, 2},
		{"permanent stops at once", []answer{perm}, nil, true, 1},
		{"transient then permanent", []answer{transient, perm}, []time.Duration{100 * time.Millisecond}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(0, 0)}
			s := &scripted{answers: tt.answers}
			p := New(Options{Group: group.DefaultConfig(), BackoffMin: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond, Clock: clk}, s)
			err := p.deliver(context.Background(), notify.Notification{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if fmt.Sprint(clk.waits) != fmt.Sprint(tt.wantWaits) {
				t.Errorf("waits %v, want %v", clk.waits, tt.wantWaits)
			}
			if len(s.got) != tt.wantCalls {
				t.Errorf("%d calls, want %d", len(s.got), tt.wantCalls)
			}
		})
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &scripted{answers: []answer{transient, transient}}
	p := New(Options{Group: group.DefaultConfig(), Clock: &fakeClock{}}, s)
	if err := p.deliver(ctx, notify.Notification{}); err == nil {
		t.Fatal("delivered despite cancel")
	}
}

func TestRateLimit(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	p := New(Options{Group: group.DefaultConfig(), RatePerSecond: 2, Clock: clk}, &scripted{})
	for range 3 {
		if err := p.deliver(context.Background(), notify.Notification{}); err != nil {
			t.Fatal(err)
		}
	}
	want := "[500ms 500ms]" // the first message does not wait
	if fmt.Sprint(clk.waits) != want {
		t.Fatalf("waits %v, want %s", clk.waits, want)
	}
}

// Run: every added alert comes back in exactly one Done, duplicates through dup.
func TestRunAcksEachAlertOnce(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	var mu sync.Mutex
	acked := map[int]int{}
	var dups int
	done := make(chan struct{}, 100)
	const n = 50
	s := &scripted{answers: []answer{transient, perm}}
	p := New(Options{Group: group.DefaultConfig(), Clock: clk, Done: func(_ context.Context, b group.Batch, err error) {
		mu.Lock()
		for _, tk := range b.Tokens {
			acked[tk.(int)]++
		}
		mu.Unlock()
		done <- struct{}{}
	}}, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	for i := range n {
		a := &logwardenpb.Alert{Id: fmt.Sprint(i), Fingerprint: fmt.Sprint("fp", i%5)}
		if err := p.Add(ctx, a, i, nil); err != nil {
			t.Fatal(err)
		}
	}
	dupc := make(chan struct{}, 1)
	if err := p.Add(ctx, &logwardenpb.Alert{Id: "0", Fingerprint: "fp0"}, -1, func() { dups++; dupc <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	<-dupc
	for {
		mu.Lock()
		total := 0
		for _, c := range acked {
			total += c
		}
		mu.Unlock()
		if total == n {
			break
		}
		<-done
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if acked[i] != 1 {
			t.Errorf("alert %d acked %d times", i, acked[i])
		}
	}
	if dups != 1 || acked[-1] != 0 {
		t.Errorf("dups %d, redelivery acked in a batch %d", dups, acked[-1])
	}
}
