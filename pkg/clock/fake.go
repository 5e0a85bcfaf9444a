package clock

import (
	"sync"
	"time"
)

// Fake is a clock for tests. A manual fake (NewFake) fires After channels only when
// Advance passes their deadline; an auto fake (NewAutoFake) treats every After as a
// sleep: it moves time forward by d and fires at once, so back-offs and Retry-After
// waits take no real time. Every After duration is recorded (Sleeps). Safe for
// concurrent use.
type Fake struct {
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

// NewFake is a manual fake clock at start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// NewAutoFake is an auto-advancing fake clock at start.
func NewAutoFake(start time.Time) *Fake { return &Fake{now: start, auto: true} }

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After records d and returns a channel that fires at now+d.
func (c *Fake) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	ch := make(chan time.Time, 1)
	if c.auto {
		if d > 0 {
			c.now = c.now.Add(d)
		}
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
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

// Set moves time to t (forward or back) and fires the channels that are due.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.fireLocked()
}

func (c *Fake) fireLocked() {
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
func (c *Fake) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Waiters is the number of After channels not yet fired.
func (c *Fake) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
