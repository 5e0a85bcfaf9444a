package llmtest

import (
	"sync"
	"time"
)

// Clock is a fake clock for the stage. A manual clock fires After channels only
// when Advance passes their deadline; an auto clock (NewAutoClock) treats every
// After as a sleep: it moves time forward by d and fires at once, so retry
// back-offs and Retry-After waits take no real time. Every After duration is
// recorded (Sleeps).
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waiters []waiter
	sleeps  []time.Duration
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock is a manual clock at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// NewAutoClock is an auto-advancing clock at start.
func NewAutoClock(start time.Time) *Clock { return &Clock{now: start, auto: true} }

// Now is the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After records d and returns a channel that fires at now+d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	ch := make(chan time.Time, 1)
	if c.auto {
		c.now = c.now.Add(d)
		c.fireLocked()
		ch <- c.now
		return ch
	}
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves time forward and fires the channels that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

func (c *Clock) fireLocked() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// Sleeps are the durations passed to After, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Waiters is the number of After channels not yet fired.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
