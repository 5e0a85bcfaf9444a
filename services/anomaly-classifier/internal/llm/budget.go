package llm

import (
	"sync"
	"time"
)

// budget enforces requests per sliding minute and tokens per sliding hour. Tokens
// are unknown before a call, so a call reserves an estimate (prompt/4 + max output)
// and settles to the reported usage afterwards.
type budget struct {
	maxRequests int // per minute, 0 = unlimited
	maxTokens   int // per hour, 0 = unlimited

	mu       sync.Mutex
	requests []time.Time   // start times within the last minute, oldest first
	tokens   []tokenCharge // charges within the last hour, oldest first
	used     int           // sum of tokens[].n
	nextID   uint64
}

type tokenCharge struct {
	id uint64
	at time.Time
	n  int
}

// reservation is a token charge to settle once usage is known; id 0 = none.
type reservation struct{ id uint64 }

func newBudget(maxRequestsPerMinute, maxTokensPerHour int) *budget {
	return &budget{maxRequests: maxRequestsPerMinute, maxTokens: maxTokensPerHour}
}

func (b *budget) expire(now time.Time) {
	i := 0
	for i < len(b.requests) && now.Sub(b.requests[i]) >= time.Minute {
		i++
	}
	b.requests = b.requests[i:]
	j := 0
	for j < len(b.tokens) && now.Sub(b.tokens[j].at) >= time.Hour {
		b.used -= b.tokens[j].n
		j++
	}
	b.tokens = b.tokens[j:]
}

// exhausted reports, without charging, whether a call now would be refused. It is
// the cheap check on the hot path.
func (b *budget) exhausted(now time.Time) bool {
	if b.maxRequests == 0 && b.maxTokens == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(now)
	return (b.maxRequests > 0 && len(b.requests) >= b.maxRequests) ||
		(b.maxTokens > 0 && b.used >= b.maxTokens)
}

// reserve charges one request and estimate tokens, or reports false without
// charging anything when either budget would be exceeded.
func (b *budget) reserve(now time.Time, estimate int) (reservation, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(now)
	if b.maxRequests > 0 && len(b.requests) >= b.maxRequests {
		return reservation{}, false
	}
	if b.maxTokens > 0 && b.used+estimate > b.maxTokens {
		return reservation{}, false
	}
	if b.maxRequests > 0 { // an unlimited budget keeps no history
		b.requests = append(b.requests, now)
	}
	if b.maxTokens == 0 {
		return reservation{}, true
	}
	b.nextID++
	b.tokens = append(b.tokens, tokenCharge{id: b.nextID, at: now, n: estimate})
	b.used += estimate
	return reservation{id: b.nextID}, true
}

// settle replaces a reservation's estimate by the tokens actually used.
func (b *budget) settle(r reservation, actual int) {
	if r.id == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// A charge that already left the window needs no settling.
	for i := range b.tokens {
		if b.tokens[i].id == r.id {
			b.used += actual - b.tokens[i].n
			b.tokens[i].n = actual
			return
		}
	}
}
