package llm

import "time"

// Clock is the stage's view of time: budget windows, cache expiry, the breaker's
// cool-down, linger and retry waits all go through it, so tests drive them with a
// fake clock instead of sleeping. Per-attempt HTTP timeouts are real deadlines.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock is the real clock.
func SystemClock() Clock { return systemClock{} }
