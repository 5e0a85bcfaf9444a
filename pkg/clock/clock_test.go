package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestFakeManualFiresOnlyWhenDue(t *testing.T) {
	c := NewFake(t0)
	ch := c.After(time.Second)
	select {
	case <-ch:
		t.Fatal("fired before Advance")
	default:
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-ch:
		t.Fatal("fired 1 ms early")
	default:
	}
	c.Advance(time.Millisecond)
	select {
	case got := <-ch:
		if !got.Equal(t0.Add(time.Second)) {
			t.Fatalf("fired with %v, want %v", got, t0.Add(time.Second))
		}
	default:
		t.Fatal("not fired at its deadline")
	}
	if c.Waiters() != 0 {
		t.Fatalf("waiters = %d after firing", c.Waiters())
	}
}

func TestFakeAutoAdvancesAndRecords(t *testing.T) {
	c := NewAutoFake(t0)
	<-c.After(2 * time.Second)
	<-c.After(3 * time.Second)
	if got := c.Now(); !got.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("now = %v, want t0+5s", got)
	}
	s := c.Sleeps()
	if len(s) != 2 || s[0] != 2*time.Second || s[1] != 3*time.Second {
		t.Fatalf("sleeps = %v", s)
	}
}

func TestSleepStopsOnContext(t *testing.T) {
	c := NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Sleep(ctx, c, time.Hour) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), c, 0); err != nil {
		t.Fatalf("Sleep(0) = %v", err)
	}
}
