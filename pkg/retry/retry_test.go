package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/clock"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestDo(t *testing.T) {
	transient := errors.New("transient")
	fatal := errors.New("fatal")
	tests := []struct {
		name      string
		policy    Policy
		fails     []error // errors of the first attempts; then success
		wantErr   error
		wantCalls int
		wantWaits []time.Duration
	}{
		{name: "first try", wantCalls: 1},
		{name: "exponential and capped", policy: Policy{Initial: 100 * time.Millisecond, Max: 300 * time.Millisecond},
			fails: []error{transient, transient, transient, transient}, wantCalls: 5,
			wantWaits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}},
		{name: "permanent stops at once", fails: []error{transient, Permanent(fatal)}, wantErr: fatal, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "max attempts", policy: Policy{MaxAttempts: 2}, fails: []error{transient, transient, transient},
			wantErr: transient, wantCalls: 2, wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "retry-after longer than back-off wins", fails: []error{After(transient, 7*time.Second)}, wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second}},
		{name: "retry-after is capped", policy: Policy{MaxRetryAfter: 30 * time.Second},
			fails: []error{After(transient, 24*time.Hour)}, wantCalls: 2, wantWaits: []time.Duration{30 * time.Second}},
		{name: "max elapsed", policy: Policy{Initial: time.Second, MaxElapsed: 2500 * time.Millisecond},
			fails: []error{transient, transient, transient, transient}, wantErr: transient, wantCalls: 2,
			wantWaits: []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewAutoFake(t0)
			tc.policy.Clock = clk
			var retried []int
			tc.policy.OnRetry = func(attempt int, err error, wait time.Duration) { retried = append(retried, attempt) }
			calls := 0
			err := Do(context.Background(), tc.policy, func(_ context.Context, attempt int) error {
				calls++
				if attempt != calls {
					t.Fatalf("attempt = %d on call %d", attempt, calls)
				}
				if calls <= len(tc.fails) {
					return tc.fails[calls-1]
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if IsPermanent(err) {
				t.Fatalf("Do returned the Permanent wrapper: %v", err)
			}
			if calls != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", calls, tc.wantCalls)
			}
			got := clk.Sleeps()
			if len(got) != len(tc.wantWaits) {
				t.Fatalf("waits = %v, want %v", got, tc.wantWaits)
			}
			for i := range got {
				if got[i] != tc.wantWaits[i] {
					t.Fatalf("waits = %v, want %v", got, tc.wantWaits)
				}
			}
			if len(retried) != len(tc.wantWaits) {
				t.Fatalf("OnRetry called for attempts %v, want %d calls", retried, len(tc.wantWaits))
			}
		})
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	clk := clock.NewFake(t0) // manual: the wait never fires by itself
	ctx, cancel := context.WithCancel(context.Background())
	transient := errors.New("broker down")
	done := make(chan error, 1)
	go func() {
		done <- Do(ctx, Policy{Clock: clk}, func(context.Context, int) error { return transient })
	}()
	for clk.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, transient) {
		t.Fatalf("err = %v, want context.Canceled joined with the last error", err)
	}
}

func TestJitterStaysInRange(t *testing.T) {
	clk := clock.NewAutoFake(t0)
	n := 0
	_ = Do(context.Background(), Policy{Clock: clk, Initial: time.Second, Max: time.Second, Jitter: 0.5, MaxAttempts: 50},
		func(context.Context, int) error { n++; return errors.New("x") })
	for _, w := range clk.Sleeps() {
		if w < 500*time.Millisecond || w > 1500*time.Millisecond {
			t.Fatalf("wait %v outside 1 s ± 50 %%", w)
		}
	}
	if n != 50 {
		t.Fatalf("calls = %d", n)
	}
}
