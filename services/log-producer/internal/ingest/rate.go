package ingest

import (
	"math"
	"sync"
	"time"

	"github.com/logwarden/logwarden/pkg/clock"
)

// rates limits each client to a number of lines per second. A client's bucket holds at
// most one second of lines; a request is admitted unless the bucket is in debt and is
// charged all its lines, so the bucket may go into debt: a request is never too large to
// pass, and the client's next request waits until the debt is paid back. Safe for
// concurrent use.
type rates struct {
	perSecond float64
	clock     clock.Clock
	mu        sync.Mutex
	buckets   map[string]*bucket
}

type bucket struct {
	level float64 // lines available; negative: debt
	at    time.Time
}

func newRates(perSecond float64, clk clock.Clock) *rates {
	if perSecond <= 0 {
		return nil
	}
	return &rates{perSecond: perSecond, clock: clock.OrReal(clk), buckets: map[string]*bucket{}}
}

// admit charges n lines to client, or returns how long the client must wait first.
// A nil *rates admits everything.
func (r *rates) admit(client string, n int) (time.Duration, bool) {
	if r == nil {
		return 0, true
	}
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[client]
	if b == nil {
		b = &bucket{level: r.perSecond, at: now}
		r.buckets[client] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.level = math.Min(r.perSecond, b.level+dt*r.perSecond)
		b.at = now
	}
	if b.level < 0 {
		return time.Duration(-b.level / r.perSecond * float64(time.Second)), false
	}
	b.level -= float64(n)
	return 0, true
}
