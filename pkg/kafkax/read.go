package kafkax

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/logwarden/logwarden/pkg/retry"
)

// ReadTopic reads topic from the beginning of every partition, without a consumer group,
// until it has n messages or ctx ends, and returns what it read ordered by partition and
// offset. For tests, tools and benchmarks; services consume with a Consumer.
func ReadTopic(ctx context.Context, cfg Config, topic string, n int) ([]Message, error) {
	count := 0
	msgs, err := ReadTopicUntil(ctx, cfg, topic, func(Message) bool { count++; return count >= n })
	if err == nil && len(msgs) < n {
		err = fmt.Errorf("read %s: got %d of %d messages: %w", topic, len(msgs), n, ctx.Err())
	}
	return msgs, err
}

// ReadTopicUntil reads topic like ReadTopic, calling done for each message (serially),
// until done returns true or ctx ends. It returns every message read; it is an error only
// when reading failed, not when ctx ended first (check the messages).
func ReadTopicUntil(ctx context.Context, cfg Config, topic string, done func(Message) bool) ([]Message, error) {
	a, err := NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	parts, err := a.partitions(ctx, topic)
	_ = a.Close()
	if err != nil {
		return nil, err
	}
	d, err := cfg.dialer()
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		out  []Message
		wg   sync.WaitGroup
		errs []error
	)
	for _, p := range parts {
		wg.Add(1)
		go func(part int) {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: cfg.brokers(), Topic: topic, Partition: part, Dialer: d,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, ReadLagInterval: -1,
			})
			defer r.Close()
			for {
				km, err := r.ReadMessage(rctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						mu.Lock()
						errs = append(errs, fmt.Errorf("read %s/%d: %w", topic, part, err))
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				m := fromKafka(km)
				out = append(out, m)
				full := done(m)
				mu.Unlock()
				if full {
					cancel()
					return
				}
			}
		}(p)
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

// ReadPartitionRange calls fn, in offset order, for the messages of one partition from
// offset from (raised to the partition's first retained offset) up to, not including,
// offset to, without a consumer group. It returns how many it read. Services use it to
// rebuild in-memory state from a partition's recent history when they take it over.
func (a *Admin) ReadPartitionRange(ctx context.Context, topic string, partition int, from, to int64, fn func(Message)) (int, error) {
	if from >= to {
		return 0, nil
	}
	resp, err := a.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: {kafka.FirstOffsetOf(partition)}},
	})
	if err != nil {
		return 0, fmt.Errorf("first offset of %s/%d: %w", topic, partition, err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Partition != partition {
			continue
		}
		if p.Error != nil {
			return 0, fmt.Errorf("first offset of %s/%d: %w", topic, partition, p.Error)
		}
		from = max(from, p.FirstOffset)
	}
	if from >= to {
		return 0, nil
	}
	d, err := a.cfg.dialer()
	if err != nil {
		return 0, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: a.cfg.brokers(), Topic: topic, Partition: partition, Dialer: d,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, ReadLagInterval: -1,
	})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		return 0, fmt.Errorf("read %s/%d from %d: %w", topic, partition, from, err)
	}
	n := 0
	for {
		km, err := r.ReadMessage(ctx)
		if err != nil {
			return n, fmt.Errorf("read %s/%d at %d: %w", topic, partition, from+int64(n), err)
		}
		if km.Offset >= to {
			return n, nil
		}
		fn(fromKafka(km))
		n++
		if km.Offset == to-1 {
			return n, nil
		}
	}
}

// Follow reads topic as a table: every partition from its first retained offset, then
// what is appended, until ctx ends, without a consumer group, so every replica of a
// service sees every record (the compacted topics of silences and action targets, the
// feedback topic). fn is called serially, in offset order within a partition; a
// tombstone comes with an empty Value. loaded (may be nil) is called once, as soon as
// every record that was in the topic when Follow started has been passed to fn (at
// once for an empty topic): a service loads its table before it starts working.
//
// It returns nil when ctx ends, else the first read error; the caller may call it
// again, and the records come again from the start (fn must be idempotent).
func (a *Admin) Follow(ctx context.Context, topic string, fn func(Message), loaded func()) error {
	parts, err := a.partitions(ctx, topic)
	if err != nil {
		return err
	}
	// A topic created a moment ago may not have its leaders yet: retry for a while.
	var first, end map[int]int64
	err = retry.Do(ctx, retry.Policy{Initial: 100 * time.Millisecond, Max: time.Second, MaxElapsed: 30 * time.Second},
		func(ctx context.Context, _ int) error {
			var err error
			if first, err = a.listOffsets(ctx, topic, parts, kafka.FirstOffset); err != nil {
				return err
			}
			end, err = a.listOffsets(ctx, topic, parts, kafka.LastOffset)
			return err
		})
	if err != nil {
		return err
	}
	d, err := a.cfg.dialer()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		pending = map[int]int64{} // partition → end offset still to reach
		fired   bool
		wg      sync.WaitGroup
		errc    = make(chan error, 1)
	)
	for _, p := range parts {
		if end[p] > first[p] {
			pending[p] = end[p]
		}
	}
	caughtUp := func() { // with mu held
		if len(pending) == 0 && !fired {
			fired = true
			if loaded != nil {
				loaded()
			}
		}
	}
	mu.Lock()
	caughtUp()
	mu.Unlock()
	for _, p := range parts {
		wg.Add(1)
		go func(part int) { // owned by Follow: stops with rctx, awaited below
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: a.cfg.brokers(), Topic: topic, Partition: part, Dialer: d,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 500 * time.Millisecond, ReadLagInterval: -1,
			})
			defer r.Close()
			if err := r.SetOffset(kafka.FirstOffset); err != nil {
				select {
				case errc <- fmt.Errorf("follow %s/%d: %w", topic, part, err):
				default:
				}
				cancel()
				return
			}
			for {
				km, err := r.ReadMessage(rctx)
				if err != nil {
					if rctx.Err() == nil {
						select {
						case errc <- fmt.Errorf("follow %s/%d: %w", topic, part, err):
						default:
						}
						cancel()
					}
					return
				}
				mu.Lock()
				fn(fromKafka(km))
				if e, ok := pending[part]; ok && km.Offset >= e-1 {
					delete(pending, part)
					caughtUp()
				}
				mu.Unlock()
			}
		}(p)
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// EndOffsets returns the end offset (the offset the next record will get) of each
// partition of topic: a reader that has passed end-1 of every partition has read every
// record written before the call.
func (a *Admin) EndOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	parts, err := a.partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	return a.listOffsets(ctx, topic, parts, kafka.LastOffset)
}

// listOffsets returns the first (kafka.FirstOffset) or end (kafka.LastOffset) offset of
// each partition.
func (a *Admin) listOffsets(ctx context.Context, topic string, parts []int, which int64) (map[int]int64, error) {
	req := make([]kafka.OffsetRequest, len(parts))
	for i, p := range parts {
		req[i] = kafka.OffsetRequest{Partition: p, Timestamp: which}
	}
	resp, err := a.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("offsets of %s: %w", topic, err)
	}
	out := make(map[int]int64, len(parts))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		if which == kafka.FirstOffset {
			out[p.Partition] = p.FirstOffset
		} else {
			out[p.Partition] = p.LastOffset
		}
	}
	if len(out) != len(parts) {
		return nil, fmt.Errorf("offsets of %s: %d of %d partitions answered", topic, len(out), len(parts))
	}
	return out, nil
}
