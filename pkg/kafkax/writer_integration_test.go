//go:build integration

package kafkax_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

const smallLimit = 64 << 10 // max.message.bytes of the test topics that check sizing

func newWriter(t *testing.T, cfg kafkax.Config) *kafkax.Writer {
	t.Helper()
	wc := kafkax.DefaultWriterConfig()
	// These tests reason about sizes against topic limits: records of repeated bytes
	// compressed by the default lz4 would fit where they are meant not to.
	wc.Compression = "none"
	w, err := kafkax.NewWriter(cfg, wc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// sized returns n messages of topic with values "<prefix>-<i>-" padded to size bytes,
// all with key (one partition).
func sized(topic, key, prefix string, n, size int) []kafkax.Message {
	out := make([]kafkax.Message, n)
	for i := range out {
		v := []byte(fmt.Sprintf("%s-%d-", prefix, i))
		v = append(v, bytes.Repeat([]byte("x"), max(size-len(v), 0))...)
		out[i] = kafkax.Message{Topic: topic, Key: []byte(key), Value: v}
	}
	return out
}

// readAll reads topic to its end (want messages, not more) and counts each value's prefix
// up to the second '-' (the message id given by sized).
func readCounts(t *testing.T, cfg kafkax.Config, topic string, want int) map[string]int {
	t.Helper()
	msgs := kafkatest.ReadN(t, cfg, topic, want, 30*time.Second)
	// Anything beyond want would be a duplicate: give it a moment to show up.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	all, _ := kafkax.ReadTopicUntil(ctx, cfg, topic, func(kafkax.Message) bool { return false })
	if len(all) > len(msgs) {
		msgs = all
	}
	counts := map[string]int{}
	for _, m := range msgs {
		id := m.Value
		if i := bytes.IndexByte(id, '-'); i >= 0 {
			if j := bytes.IndexByte(id[i+1:], '-'); j >= 0 {
				id = id[:i+1+j]
			}
		}
		counts[string(id)]++
	}
	return counts
}

// The reproduction: 700 verdict-sized messages (1.6 KB, one entity, so one
// partition) are 1.1 MB, above the broker's default max.message.bytes (1 MiB). With
// 4 MiB batches every attempt was refused with MESSAGE_TOO_LARGE, forever. Batches sized
// from the topic's limit write them all, once.
func TestWriterBatchesBelowTheTopicLimit(t *testing.T) {
	cfg := kafkatest.Config(t)
	for _, tc := range []struct {
		name  string
		limit int // 0: the broker's default
		n     int
		size  int
	}{
		{"broker default limit, 700 × 1.6 KB", 0, 700, 1600},
		{"64 KiB topic, 300 × 1 KiB", smallLimit, 300, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 3, MaxMessageBytes: tc.limit})
			w := newWriter(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := w.Write(ctx, sized(topic, "alice", "m", tc.n, tc.size)...); err != nil {
				t.Fatalf("write %d × %d bytes: %v", tc.n, tc.size, err)
			}
			counts := readCounts(t, cfg, topic, tc.n)
			if len(counts) != tc.n {
				t.Fatalf("read %d distinct messages, want %d", len(counts), tc.n)
			}
			for id, c := range counts {
				if c != 1 {
					t.Errorf("%s written %d times", id, c)
				}
			}
		})
	}
}

// A message larger than its topic accepts fails alone, as ErrMessageTooLarge; every other
// message of the same Write is written, once.
func TestWriterTooLargeMessageFailsAlone(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 2, MaxMessageBytes: smallLimit})
	other := kafkatest.NewTopic(t, cfg, 1)
	w := newWriter(t, cfg)
	msgs := sized(topic, "alice", "m", 20, 1000)
	huge := kafkax.Message{Topic: topic, Key: []byte("alice"), Value: bytes.Repeat([]byte("h"), 100<<10)}
	msgs = append(msgs[:10], append([]kafkax.Message{huge}, msgs[10:]...)...)
	msgs = append(msgs, sized(other, "bob", "o", 5, 1000)...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := w.Write(ctx, msgs...)
	var we *kafkax.WriteError
	if !errors.As(err, &we) || len(we.Errs) != len(msgs) {
		t.Fatalf("Write = %v, want a *WriteError for %d messages", err, len(msgs))
	}
	for i, e := range we.Errs {
		if i == 10 {
			var tl *kafkax.MessageTooLargeError
			if !errors.Is(e, kafkax.ErrMessageTooLarge) || !errors.As(e, &tl) || tl.Limit != smallLimit || tl.Topic != topic {
				t.Errorf("error of the huge message = %v, want too large for %s (limit %d)", e, topic, smallLimit)
			}
			continue
		}
		if e != nil {
			t.Errorf("message %d: %v, want written", i, e)
		}
	}
	again, rejected := kafkax.Unwritten(msgs, err)
	if len(again) != 0 || len(rejected) != 1 {
		t.Errorf("Unwritten: %d to write again, %d rejected; want 0 and 1", len(again), len(rejected))
	}
	if counts := readCounts(t, cfg, topic, 20); len(counts) != 20 {
		t.Errorf("%s has %d distinct messages, want 20", topic, len(counts))
	}
	if counts := readCounts(t, cfg, other, 5); len(counts) != 5 {
		t.Errorf("%s has %d distinct messages, want 5", other, len(counts))
	}
}

// The broker's own MESSAGE_TOO_LARGE (a topic limit lowered after the writer read it):
// the refused batch is split, everything that fits is written once, and only the message
// too large on its own fails. The next write reads the new limit.
func TestWriterSplitsABatchTheBrokerRefuses(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 1, MaxMessageBytes: smallLimit})
	w := newWriter(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Write(ctx, sized(topic, "k", "first", 1, 100)...); err != nil {
		t.Fatal(err) // the writer has read the 64 KiB limit
	}
	const lowered = 16 << 10
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second, Transport: tr}
	resp, err := client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
		Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: "max.message.bytes", Value: strconv.Itoa(lowered), ConfigOperation: kafka.ConfigOperationSet}},
	}}})
	if err != nil || resp.Resources[0].Error != nil {
		t.Fatalf("lower max.message.bytes: %v %v", err, resp)
	}
	msgs := sized(topic, "k", "m", 40, 1000)
	msgs = append(msgs, kafkax.Message{Topic: topic, Key: []byte("k"), Value: bytes.Repeat([]byte("h"), 20<<10)})
	err = w.Write(ctx, msgs...)
	var we *kafkax.WriteError
	if !errors.As(err, &we) {
		t.Fatalf("Write = %v, want a *WriteError", err)
	}
	for i, e := range we.Errs {
		switch {
		case i == 40 && !errors.Is(e, kafkax.ErrMessageTooLarge):
			t.Errorf("the 20 KiB message: %v, want too large", e)
		case i < 40 && e != nil:
			t.Errorf("message %d: %v, want written", i, e)
		}
	}
	// The limit is read again: a message above the new limit is refused before sending.
	err = w.Write(ctx, kafkax.Message{Topic: topic, Key: []byte("k"), Value: bytes.Repeat([]byte("h"), 20<<10)})
	var tl *kafkax.MessageTooLargeError
	if !errors.As(err, &tl) || tl.Limit != lowered || tl.Broker != nil {
		t.Errorf("after the split, Write = %v; want refused before sending, limit %d", err, lowered)
	}
	counts := readCounts(t, cfg, topic, 41)
	if len(counts) != 41 {
		t.Errorf("%d distinct messages, want 41", len(counts))
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("%s written %d times", id, c)
		}
	}
}

// Outputs of one batch spread over partitions: one partition's batch is larger than the
// topic accepts, another's fits, and one output is too large on its own. Every output
// that fits is written exactly once (a retry re-writing the whole batch duplicated the
// partitions that had succeeded, forever), the too-large one lands on <topic>.dlq, and
// the input is committed. The dead letter is trimmed to the 64 KiB dead-letter topic.
func TestConsumerWritesEachOutputOnce(t *testing.T) {
	cfg := kafkatest.Config(t)
	in := kafkatest.NewTopic(t, cfg, 1)
	out := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 3, MaxMessageBytes: smallLimit})
	admin := kafkatest.Admin(t, cfg)
	if err := admin.EnsureTopics(context.Background(), kafkax.TopicSpec{Name: kafkax.DLQTopic(out), Partitions: 1, MaxMessageBytes: smallLimit}); err != nil {
		t.Fatal(err)
	}
	produce(t, cfg, in, 0, 1)
	w := newWriter(t, cfg)
	group := kafkatest.UniqueName("g")
	c := newConsumer(t, cfg, testConsumerConfig(group, in), w)
	outs := append(sized(out, "alice", "a", 100, 1000), sized(out, "bob", "b", 10, 1000)...)
	huge := kafkax.Message{Topic: out, Key: []byte("carol"), Value: bytes.Repeat([]byte("h"), 100<<10),
		Headers: []kafkax.Header{{Key: kafkax.HeaderEventID, Value: []byte("verdict-huge")}}}
	outs = append(outs, huge)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.Run(ctx, func(ctx context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
		defer cancel() // one batch; Run finishes it and commits
		return outs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counts := readCounts(t, cfg, out, 110)
	if len(counts) != 110 {
		t.Errorf("%d distinct outputs, want 110", len(counts))
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("output %s written %d times", id, n)
		}
	}
	dl, err := kafkax.DecodeDeadLetter(kafkatest.ReadN(t, cfg, kafkax.DLQTopic(out), 1, 20*time.Second)[0])
	if err != nil {
		t.Fatal(err)
	}
	if dl.GetTopic() != out || dl.GetOffset() != -1 || dl.GetService() != group || string(dl.GetKey()) != "carol" ||
		dl.GetOriginalValueSize() != 100<<10 || len(dl.GetValue()) == 0 || !strings.Contains(dl.GetError(), "larger than "+out+" accepts") {
		t.Errorf("dead letter = topic %s offset %d service %s key %q original_value_size %d value %d bytes, error %q",
			dl.GetTopic(), dl.GetOffset(), dl.GetService(), dl.GetKey(), dl.GetOriginalValueSize(), len(dl.GetValue()), dl.GetError())
	}
	offs, err := admin.CommittedOffsets(context.Background(), group, in)
	if err != nil || offs[0] != 1 {
		t.Errorf("committed %v (%v), want partition 0 at 1", offs, err)
	}
}

// A foreign client writes a 1,048,400-byte record (it fits the input topic's default
// limit) that the handler cannot use. Its dead letter, value and all, is larger than the
// dead-letter topic accepts: it is trimmed to fit (original_value_size says how large the
// value was), and the loop goes on to the next record. Both Run and RunAsync.
func TestConsumerDeadLettersARecordOfAboutOneMiB(t *testing.T) {
	cfg := kafkatest.Config(t)
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			topic := kafkatest.NewTopic(t, cfg, 1)
			admin := kafkatest.Admin(t, cfg)
			if err := admin.EnsureTopics(context.Background(), kafkax.TopicSpec{Name: kafkax.DLQTopic(topic), Partitions: 1}); err != nil {
				t.Fatal(err)
			}
			const bigSize = 1_048_400
			big := bytes.Repeat([]byte{0xc3}, bigSize) // not UTF-8, not protobuf
			tr := &kafka.Transport{}                   // not kafka.DefaultTransport: its metadata may predate the topic
			defer tr.CloseIdleConnections()
			foreign := &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: topic, BatchBytes: 2 << 20, BatchTimeout: time.Millisecond,
				RequiredAcks: kafka.RequireAll, Transport: tr}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := foreign.WriteMessages(ctx, kafka.Message{Key: []byte("mallory"), Value: big}); err != nil {
				t.Fatalf("foreign write of %d bytes: %v", bigSize, err)
			}
			if err := foreign.WriteMessages(ctx, kafka.Message{Key: []byte("alice"), Value: []byte("ok")}); err != nil {
				t.Fatal(err)
			}
			foreign.Close()

			w := newWriter(t, cfg)
			group := kafkatest.UniqueName("g")
			c := newConsumer(t, cfg, testConsumerConfig(group, topic), w)
			var mu sync.Mutex
			var handled []string
			rctx, rcancel := context.WithCancel(ctx)
			outputs := func(m kafkax.Message) []kafkax.Message {
				mu.Lock()
				defer mu.Unlock()
				if string(m.Value) == "ok" {
					handled = append(handled, "ok")
					rcancel()
					return nil
				}
				handled = append(handled, "big")
				return []kafkax.Message{kafkax.DeadLetter(m, "test", errors.New("not a LogEvent"))}
			}
			var err error
			if async {
				err = c.RunAsync(rctx, func(ctx context.Context, m kafkax.Message, ack kafkax.Ack) error {
					return ack(ctx, outputs(m)...)
				})
			} else {
				err = c.Run(rctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
					var outs []kafkax.Message
					for _, m := range batch {
						outs = append(outs, outputs(m)...)
					}
					return outs, nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(handled) != 2 || handled[1] != "ok" {
				t.Fatalf("handled %v, want [big ok]", handled)
			}
			dl, err := kafkax.DecodeDeadLetter(kafkatest.ReadN(t, cfg, kafkax.DLQTopic(topic), 1, 20*time.Second)[0])
			if err != nil {
				t.Fatal(err)
			}
			if dl.GetOriginalValueSize() != bigSize || len(dl.GetValue()) == 0 || len(dl.GetValue()) >= bigSize ||
				!bytes.Equal(dl.GetValue(), big[:len(dl.GetValue())]) || dl.GetError() != "not a LogEvent" || dl.GetOffset() != 0 {
				t.Errorf("dead letter: original_value_size %d, value %d bytes, error %q, offset %d",
					dl.GetOriginalValueSize(), len(dl.GetValue()), dl.GetError(), dl.GetOffset())
			}
			offs, err := admin.CommittedOffsets(context.Background(), group, topic)
			if err != nil || offs[0] != 2 {
				t.Errorf("committed %v (%v), want partition 0 at 2", offs, err)
			}
		})
	}
}

// Writes started one after the other keep their order in a partition (while one is being
// sent the next is sent to the partitions the first is done with): many small batches of
// two writes to one key, the first's records all before the second's.
func TestStartedWritesKeepTheirOrder(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	wc := kafkax.DefaultWriterConfig()
	wc.BatchSize = 50 // many requests per write, so that interleaving would show
	w, err := kafkax.NewWriter(cfg, wc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	ctx := context.Background()
	var msgs [][]kafkax.Message
	for _, prefix := range []string{"a", "b", "c"} {
		m := sized(topic, "k", prefix, 1000, 100)
		// Other keys, so that the writes also have partitions of their own.
		m = append(m, sized(topic, "other-"+prefix, prefix+"o", 500, 100)...)
		msgs = append(msgs, m)
	}
	var pending []*kafkax.Pending
	for _, m := range msgs {
		pending = append(pending, w.Start(ctx, m...))
	}
	for i, p := range pending {
		if err := p.Wait(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	got := kafkatest.ReadN(t, cfg, topic, 4500, 30*time.Second)
	var order []string // the key "k"'s values in partition order
	for _, m := range got {
		if string(m.Key) == "k" {
			order = append(order, string(m.Value[:bytes.IndexByte(m.Value, '-')]))
		}
	}
	want := strings.Repeat("a ", 1000) + strings.Repeat("b ", 1000) + strings.Repeat("c ", 1000)
	if len(order) != 3000 || strings.Join(order, " ")+" " != want {
		t.Fatalf("key k: %d records, out of order (first of each: a %d, b %d, c %d)", len(order),
			slices.Index(order, "a"), slices.Index(order, "b"), slices.Index(order, "c"))
	}
}
