package llm

import (
	"sync"
	"time"
)

// breaker is a consecutive-failure circuit breaker: closed until `failures`
// calls in a row fail, then open for `cooldown`, then half-open: exactly one
// probe call is let through; its success closes the circuit, its failure opens
// it for another cool-down.
type breaker struct {
	failures int
	cooldown time.Duration

	mu       sync.Mutex
	state    breakerState
	fails    int
	openedAt time.Time
	probing  bool
}

type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

func (s breakerState) String() string {
	switch s {
	case breakerOpen:
		return "open"
	case breakerHalfOpen:
		return "half-open"
	default:
		return "closed"
	}
}

func newBreaker(failures int, cooldown time.Duration) *breaker {
	return &breaker{failures: failures, cooldown: cooldown}
}

// rejecting reports, without taking the probe slot, whether a call now would be
// refused. Cheap check for the hot path.
func (b *breaker) rejecting(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case breakerOpen:
		return now.Sub(b.openedAt) < b.cooldown
	case breakerHalfOpen:
		return b.probing
	default:
		return false
	}
}

// allow reports whether a call may go out now. In half-open state the first
// caller gets the probe slot and must report its result with record.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerOpen && now.Sub(b.openedAt) >= b.cooldown {
		b.state = breakerHalfOpen
		b.probing = false
	}
	switch b.state {
	case breakerOpen:
		return false
	case breakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	default:
		return true
	}
}

// record reports the outcome of an allowed call.
func (b *breaker) record(now time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.state, b.fails, b.probing = breakerClosed, 0, false
		return
	}
	b.fails++
	if b.state == breakerHalfOpen || b.fails >= b.failures {
		b.state, b.openedAt, b.probing = breakerOpen, now, false
	}
}

// release gives back an allowed call's slot without a verdict (the call never
// went out, e.g. the budget refused it or the stage is shutting down).
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerHalfOpen {
		b.probing = false
	}
}

func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
