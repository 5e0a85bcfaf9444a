package kafkax

import (
	"sort"
	"sync"

	"github.com/segmentio/kafka-go"
)

// tracker knows, per partition, which fetched offsets are still in flight, so that only
// offsets below the lowest unfinished message are committed.
type tracker struct {
	mu    sync.Mutex
	parts map[topicPartition]*partitionTrack
	n     int
}

type topicPartition struct {
	topic     string
	partition int
}

type trackEntry struct {
	offset int64
	done   bool
}

type partitionTrack struct {
	queue     []trackEntry // ascending offsets; head is the lowest not yet popped
	lastDone  int64        // highest offset popped as done; -1 before any
	committed int64        // next offset last committed; -1 before any
}

func newTracker() *tracker {
	return &tracker{parts: make(map[topicPartition]*partitionTrack)}
}

func (t *tracker) add(m Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := topicPartition{m.Topic, m.Partition}
	p := t.parts[k]
	if p == nil {
		p = &partitionTrack{lastDone: -1, committed: -1}
		t.parts[k] = p
	}
	e := trackEntry{offset: m.Offset}
	if n := len(p.queue); n == 0 || p.queue[n-1].offset <= m.Offset {
		p.queue = append(p.queue, e)
	} else {
		// An earlier offset again: the partition was reassigned and rewound (kafka-go #1398).
		i := sort.Search(n, func(i int) bool { return p.queue[i].offset > m.Offset })
		p.queue = append(p.queue, trackEntry{})
		copy(p.queue[i+1:], p.queue[i:])
		p.queue[i] = e
	}
	t.n++
}

func (t *tracker) done(m Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[topicPartition{m.Topic, m.Partition}]
	if p == nil {
		return
	}
	i := sort.Search(len(p.queue), func(i int) bool { return p.queue[i].offset >= m.Offset })
	for ; i < len(p.queue) && p.queue[i].offset == m.Offset; i++ {
		if !p.queue[i].done {
			p.queue[i].done = true
			t.n--
			break
		}
	}
	for len(p.queue) > 0 && p.queue[0].done {
		if p.queue[0].offset > p.lastDone {
			p.lastDone = p.queue[0].offset
		}
		p.queue = p.queue[1:]
	}
	if len(p.queue) == 0 {
		p.queue = nil // let the backing array go
	}
}

func (t *tracker) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// committable returns, per partition with progress, a message whose offset+1 is the next
// offset to read: everything below it is done. kafka-go commits Offset+1.
func (t *tracker) committable() []kafka.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []kafka.Message
	for k, p := range t.parts {
		if p.lastDone < 0 {
			continue
		}
		next := p.lastDone + 1
		if len(p.queue) > 0 && p.queue[0].offset < next {
			next = p.queue[0].offset
		}
		if next <= p.committed {
			continue
		}
		out = append(out, kafka.Message{Topic: k.topic, Partition: k.partition, Offset: next - 1})
	}
	return out
}

func (t *tracker) committed(msgs []kafka.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		if p := t.parts[topicPartition{m.Topic, m.Partition}]; p != nil && m.Offset+1 > p.committed {
			p.committed = m.Offset + 1
		}
	}
}
