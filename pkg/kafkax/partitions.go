package kafkax

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	meta "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/logwarden/logwarden/pkg/clock"
)

// partitionCache answers the metadata lookup kafka-go's Writer makes for every message it
// writes (to count the topic's partitions for the balancer) from a response it keeps for
// ttl, and passes every other request through. kafka.Transport answers that lookup from
// its own metadata cache too, but rebuilds a filtered response each time: about 6 % of the
// producer's CPU. A partition added to a topic is seen within ttl, as within the
// transport's own MetadataTTL. Responses are shared read-only; errors are never kept.
type partitionCache struct {
	next  kafka.RoundTripper
	ttl   time.Duration
	clock clock.Clock

	mu     sync.Mutex
	topics map[string]cachedMetadata
}

type cachedMetadata struct {
	resp *meta.Response
	at   time.Time
}

func newPartitionCache(next kafka.RoundTripper, ttl time.Duration, c clock.Clock) *partitionCache {
	return &partitionCache{next: next, ttl: ttl, clock: clock.OrReal(c), topics: make(map[string]cachedMetadata)}
}

// RoundTrip implements kafka.RoundTripper.
func (p *partitionCache) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	m, ok := req.(*meta.Request)
	if !ok || len(m.TopicNames) != 1 || m.AllowAutoTopicCreation {
		return p.next.RoundTrip(ctx, addr, req)
	}
	topic := m.TopicNames[0]
	now := p.clock.Now()
	p.mu.Lock()
	c, hit := p.topics[topic]
	p.mu.Unlock()
	if hit && now.Sub(c.at) < p.ttl {
		return c.resp, nil
	}
	r, err := p.next.RoundTrip(ctx, addr, req)
	if err != nil {
		return r, err
	}
	if mr, ok := r.(*meta.Response); ok && cacheable(mr, topic) {
		p.mu.Lock()
		p.topics[topic] = cachedMetadata{resp: mr, at: now}
		p.mu.Unlock()
	}
	return r, nil
}

// cacheable reports whether r describes topic without error and with partitions.
func cacheable(r *meta.Response, topic string) bool {
	for _, t := range r.Topics {
		if t.Name == topic {
			return t.ErrorCode == 0 && len(t.Partitions) > 0
		}
	}
	return false
}
