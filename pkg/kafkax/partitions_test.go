package kafkax

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	meta "github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/produce"

	"github.com/logwarden/logwarden/pkg/clock"
)

// countingTripper answers metadata requests with partitions partitions of every topic
// asked (or fails while err is set) and counts what it was asked.
type countingTripper struct {
	calls      map[string]int
	partitions int
	err        error
}

func (c *countingTripper) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	switch r := req.(type) {
	case *meta.Request:
		c.calls["metadata"]++
		if c.err != nil {
			return nil, c.err
		}
		resp := &meta.Response{}
		for _, t := range r.TopicNames {
			mt := meta.ResponseTopic{Name: t}
			for i := range c.partitions {
				mt.Partitions = append(mt.Partitions, meta.ResponsePartition{PartitionIndex: int32(i)})
			}
			resp.Topics = append(resp.Topics, mt)
		}
		return resp, nil
	case *produce.Request:
		c.calls["produce"]++
		return &produce.Response{}, nil
	}
	return nil, errors.New("unexpected request")
}

func TestPartitionCache(t *testing.T) {
	next := &countingTripper{calls: map[string]int{}, partitions: 6}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := newPartitionCache(next, time.Second, clk)
	ctx := context.Background()
	partitions := func(topic string) int {
		t.Helper()
		r, err := p.RoundTrip(ctx, nil, &meta.Request{TopicNames: []string{topic}})
		if err != nil {
			t.Fatal(err)
		}
		for _, mt := range r.(*meta.Response).Topics {
			if mt.Name == topic {
				return len(mt.Partitions)
			}
		}
		t.Fatalf("no %s in the response", topic)
		return 0
	}
	for range 1000 {
		if n := partitions("logs.raw"); n != 6 {
			t.Fatalf("%d partitions", n)
		}
	}
	if next.calls["metadata"] != 1 {
		t.Fatalf("1000 lookups asked the transport %d times, want once", next.calls["metadata"])
	}
	partitions("alerts")
	if next.calls["metadata"] != 2 {
		t.Fatalf("another topic: %d metadata requests, want 2", next.calls["metadata"])
	}

	// A partition added is seen once the entry is older than the ttl.
	next.partitions = 8
	clk.Advance(999 * time.Millisecond)
	if n := partitions("logs.raw"); n != 6 {
		t.Fatalf("within the ttl: %d partitions, want the cached 6", n)
	}
	clk.Advance(time.Millisecond)
	if n := partitions("logs.raw"); n != 8 {
		t.Fatalf("after the ttl: %d partitions, want 8", n)
	}

	// Errors are not kept: the next lookup asks again.
	clk.Advance(time.Second)
	next.err = errors.New("broker down")
	if _, err := p.RoundTrip(ctx, nil, &meta.Request{TopicNames: []string{"logs.raw"}}); err == nil {
		t.Fatal("the transport's error was not returned")
	}
	next.err = nil
	before := next.calls["metadata"]
	partitions("logs.raw")
	if next.calls["metadata"] != before+1 {
		t.Fatal("a failed lookup was cached")
	}

	// A topic without partitions (not created yet) is asked for again.
	next.partitions = 0
	before = next.calls["metadata"]
	partitions("new")
	partitions("new")
	if next.calls["metadata"] != before+2 {
		t.Fatal("a topic without partitions was cached")
	}
	next.partitions = 8

	// Everything else passes through, every time.
	before = next.calls["metadata"]
	for range 3 {
		if _, err := p.RoundTrip(ctx, nil, &meta.Request{TopicNames: []string{"logs.raw"}, AllowAutoTopicCreation: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.RoundTrip(ctx, nil, &meta.Request{TopicNames: []string{"a", "b"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.RoundTrip(ctx, nil, &produce.Request{Topics: []produce.RequestTopic{{Topic: "logs.raw"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if next.calls["metadata"] != before+6 || next.calls["produce"] != 3 {
		t.Fatalf("pass-through: %v", next.calls)
	}
}
