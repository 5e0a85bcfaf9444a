// Package retry is the one retry loop of the services: Kafka writes and fetches, the
// producer's publish, Slack and webhook deliveries and LLM calls all retry through Do.
//
// The schedule is cenkalti/backoff/v5's ExponentialBackOff and permanent errors are its
// PermanentError (backoff.Permanent), so a failure is classified where it happens and
// retried here. The loop itself is ours and not backoff.Retry because every wait must go
// through an injected clock.Clock (tests drive group waits, budgets and Retry-After with a
// fake clock instead of sleeping; backoff.Retry only uses real timers) and because a
// server's Retry-After is a duration that must be honoured and capped (backoff.RetryAfter
// takes whole seconds and is never capped: a 429 with "Retry-After: 86400" would stall a
// service for a day).
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/logwarden/logwarden/pkg/clock"
)

// Policy is an exponential back-off: Initial, then ×Multiplier per failure up to Max,
// each wait randomised by ±Jitter. Zero values take the defaults in the field comments.
type Policy struct {
	Initial    time.Duration // first wait (100 ms)
	Max        time.Duration // longest wait between attempts (5 s)
	Multiplier float64       // growth per failure (2)
	Jitter     float64       // randomisation factor in [0, 1) (0: exact waits)
	// MaxAttempts stops after this many calls of the operation (0: until ctx ends).
	MaxAttempts int
	// MaxElapsed stops once this much clock time has passed since the first attempt (0: no limit).
	MaxElapsed time.Duration
	// MaxRetryAfter caps a server's Retry-After (0: not capped). The wait after a
	// throttled attempt is max(back-off, min(Retry-After, MaxRetryAfter)).
	MaxRetryAfter time.Duration
	// Clock times the waits (the wall clock when nil).
	Clock clock.Clock
	// OnRetry, when set, is called before each wait with the attempt that failed
	// (1-based), its error and the wait: the place to log and count retries.
	OnRetry func(attempt int, err error, wait time.Duration)
}

// Permanent marks err as not worth retrying: Do returns it (unwrapped) at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return backoff.Permanent(err)
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *backoff.PermanentError
	return errors.As(err, &p)
}

// Throttled is an error that carries the server's requested delay (HTTP 429 or 503
// with Retry-After). Errors of other packages qualify by having the method.
type Throttled interface {
	error
	RetryAfter() time.Duration
}

type throttled struct {
	err   error
	after time.Duration
}

func (t *throttled) Error() string             { return t.err.Error() }
func (t *throttled) Unwrap() error             { return t.err }
func (t *throttled) RetryAfter() time.Duration { return t.after }

// After wraps err with the delay the server asked for.
func After(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &throttled{err: err, after: d}
}

// RetryAfter returns the delay carried by err or any error it wraps.
func RetryAfter(err error) (time.Duration, bool) {
	var t interface{ RetryAfter() time.Duration }
	if errors.As(err, &t) {
		return max(t.RetryAfter(), 0), true
	}
	return 0, false
}

// Do calls op until it returns nil or a Permanent error, the attempts or the elapsed
// time run out, or ctx ends. It returns nil, the permanent error (unwrapped), the last
// error once the attempts or time ran out, or ctx's error joined with the last error.
// op receives the 1-based attempt number.
func Do(ctx context.Context, p Policy, op func(ctx context.Context, attempt int) error) error {
	clk := clock.OrReal(p.Clock)
	sched := p.schedule()
	start := clk.Now()
	for attempt := 1; ; attempt++ {
		err := op(ctx, attempt)
		if err == nil {
			return nil
		}
		var perm *backoff.PermanentError
		if errors.As(err, &perm) {
			return perm.Unwrap()
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		if p.MaxAttempts > 0 && attempt >= p.MaxAttempts {
			return err
		}
		wait := sched.NextBackOff()
		if ra, ok := RetryAfter(err); ok {
			if p.MaxRetryAfter > 0 {
				ra = min(ra, p.MaxRetryAfter)
			}
			wait = max(wait, ra)
		}
		if p.MaxElapsed > 0 && clk.Now().Add(wait).Sub(start) > p.MaxElapsed {
			return fmt.Errorf("gave up after %d attempts in %s: %w", attempt, clk.Now().Sub(start).Round(time.Millisecond), err)
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, wait)
		}
		if serr := clock.Sleep(ctx, clk, wait); serr != nil {
			return errors.Join(serr, err)
		}
	}
}

func (p Policy) schedule() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.Initial
	if b.InitialInterval <= 0 {
		b.InitialInterval = 100 * time.Millisecond
	}
	b.MaxInterval = p.Max
	if b.MaxInterval <= 0 {
		b.MaxInterval = 5 * time.Second
	}
	b.MaxInterval = max(b.MaxInterval, b.InitialInterval)
	b.Multiplier = p.Multiplier
	if b.Multiplier < 1 {
		b.Multiplier = 2
	}
	b.RandomizationFactor = min(max(p.Jitter, 0), 0.99)
	b.Reset()
	return b
}
