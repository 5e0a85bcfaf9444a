//go:build integration

package kafkax_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

type coord struct {
	part int
	off  int64
}

// produce writes n messages with values "m-<i>", keys spread over the partitions.
func produce(t *testing.T, cfg kafkax.Config, topic string, from, n int) {
	t.Helper()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	msgs := make([]kafkax.Message, 0, n)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, kafkax.Message{Topic: topic, Key: []byte(fmt.Sprintf("k-%d", i)), Value: []byte(fmt.Sprintf("m-%d", i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Write(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func testConsumerConfig(group, topic string) kafkax.ConsumerConfig {
	cc := kafkax.DefaultConsumerConfig(group, topic)
	cc.BatchSize = 10
	cc.SessionTimeout = 6 * time.Second
	cc.RebalanceTimeout = 6 * time.Second
	cc.HeartbeatInterval = 500 * time.Millisecond
	cc.CommitInterval = 100 * time.Millisecond
	cc.ShutdownGrace = 2 * time.Second
	return cc
}

func newConsumer(t *testing.T, cfg kafkax.Config, cc kafkax.ConsumerConfig, w *kafkax.Writer) *kafkax.Consumer {
	t.Helper()
	c, err := kafkax.NewConsumer(cfg, cc, w, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// endOffsets are the offsets a fully committed group has: one past the last message.
func assertCommittedToEnd(t *testing.T, cfg kafkax.Config, group, topic string, seen map[coord]int) {
	t.Helper()
	want := map[int]int64{}
	for c := range seen {
		if c.off+1 > want[c.part] {
			want[c.part] = c.off + 1
		}
	}
	got, err := kafkatest.Admin(t, cfg).CommittedOffsets(context.Background(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, off := range want {
		if got[p] != off {
			t.Errorf("partition %d committed at %d, want %d (end)", p, got[p], off)
		}
	}
}

// A handler that fails stops its member without committing the failed batch; the next
// member gets exactly the uncommitted messages, and nothing committed comes back.
func TestConsumerRedeliversExactlyUncommittedAfterHandlerFailure(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	group := kafkatest.UniqueName("g")
	const total = 300
	produce(t, cfg, topic, 0, total)

	committed := map[coord]int{} // messages of batches that returned without error
	var failed []coord
	boom := errors.New("handler failure")
	handled := 0
	a := newConsumer(t, cfg, testConsumerConfig(group, topic), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := a.Run(ctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
		if handled >= 100 {
			for _, m := range batch {
				failed = append(failed, coord{m.Partition, m.Offset})
			}
			return nil, boom
		}
		for _, m := range batch {
			committed[coord{m.Partition, m.Offset}]++
		}
		handled += len(batch)
		return nil, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the handler's error", err)
	}
	if len(committed) < 100 || len(failed) == 0 {
		t.Fatalf("first member handled %d, failed %d; want ≥100 and >0", len(committed), len(failed))
	}

	second := map[coord]int{}
	want := total - len(committed)
	b := newConsumer(t, cfg, testConsumerConfig(group, topic), nil)
	bctx, bcancel := context.WithCancel(ctx)
	var mu sync.Mutex
	err = b.Run(bctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			second[coord{m.Partition, m.Offset}]++
		}
		if len(second) >= want {
			bcancel()
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for c := range committed {
		if second[c] > 0 {
			t.Errorf("committed message %v came back", c)
		}
	}
	for _, c := range failed {
		if second[c] == 0 {
			t.Errorf("message %v of the failed batch was not redelivered", c)
		}
	}
	all := map[coord]int{}
	for c := range committed {
		all[c]++
	}
	for c, n := range second {
		all[c]++
		if n > 1 {
			t.Errorf("message %v delivered %d times to the second member", c, n)
		}
	}
	if len(all) != total {
		t.Fatalf("saw %d distinct messages, want %d (lost some)", len(all), total)
	}
	assertCommittedToEnd(t, cfg, group, topic, all)
}

// A member closed midway (acks only the first 20 messages of each partition, then stops)
// commits exactly those; the next member starts right after them.
func TestConsumerClosedMidwayLosesNothing(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	group := kafkatest.UniqueName("g")
	const total = 300
	produce(t, cfg, topic, 0, total)

	acked := map[coord]bool{}
	var mu sync.Mutex
	cc := testConsumerConfig(group, topic)
	cc.ShutdownGrace = 300 * time.Millisecond
	a := newConsumer(t, cfg, cc, nil)
	actx, acancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer acancel()
	seen := 0
	err := a.RunAsync(actx, func(ctx context.Context, m kafkax.Message, ack kafkax.Ack) error {
		mu.Lock()
		defer mu.Unlock()
		seen++
		if m.Offset < 20 {
			if err := ack(ctx); err != nil {
				return err
			}
			acked[coord{m.Partition, m.Offset}] = true
		}
		if seen >= total { // everything fetched; the rest stays unacknowledged
			acancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	offs, err := kafkatest.Admin(t, cfg).CommittedOffsets(context.Background(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 3; p++ {
		if offs[p] != 20 {
			t.Errorf("partition %d committed at %d, want 20", p, offs[p])
		}
	}

	second := map[coord]int{}
	want := total - len(acked)
	b := newConsumer(t, cfg, testConsumerConfig(group, topic), nil)
	bctx, bcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer bcancel()
	err = b.RunAsync(bctx, func(ctx context.Context, m kafkax.Message, ack kafkax.Ack) error {
		mu.Lock()
		defer mu.Unlock()
		second[coord{m.Partition, m.Offset}]++
		if len(second) >= want {
			defer bcancel()
		}
		return ack(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != want {
		t.Fatalf("second member got %d messages, want %d", len(second), want)
	}
	for c := range second {
		if acked[c] {
			t.Errorf("acknowledged and committed message %v came back", c)
		}
		if c.off < 20 {
			t.Errorf("message %v below the committed offset was redelivered", c)
		}
	}
	all := map[coord]int{}
	for c := range second {
		all[c] = 1
	}
	for c := range acked {
		all[c] = 1
	}
	if len(all) != total {
		t.Fatalf("saw %d distinct messages, want %d", len(all), total)
	}
	assertCommittedToEnd(t, cfg, group, topic, all)
}

// Two members split 6 partitions; when one leaves, the other takes all 6 and continues
// from the committed offsets.
func TestConsumerGroupSplitsPartitionsAndTakesOverOnLeave(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 6)
	group := kafkatest.UniqueName("g")

	handler := func(mb *member) kafkax.BatchHandler {
		return func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
			mb.mu.Lock()
			defer mb.mu.Unlock()
			for _, m := range batch {
				mb.parts[m.Partition] = time.Now()
				mb.seen[coord{m.Partition, m.Offset}]++
			}
			return nil, nil
		}
	}
	a, b := newMember(), newMember()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx, bcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	runMember := func(c context.Context, mb *member) {
		defer wg.Done()
		if err := newConsumer(t, cfg, testConsumerConfig(group, topic), nil).Run(c, handler(mb)); err != nil {
			t.Errorf("member: %v", err)
		}
	}
	wg.Add(2)
	go runMember(ctx, a)
	go runMember(bctx, b)

	// Phase 1: trickle messages until both members have had some, then a settled round.
	produced := 0
	splitAt := time.Time{}
	for ctx.Err() == nil {
		produce(t, cfg, topic, produced, 60)
		produced += 60
		a.mu.Lock()
		na := len(a.seen)
		a.mu.Unlock()
		b.mu.Lock()
		nb := len(b.seen)
		b.mu.Unlock()
		if na > 0 && nb > 0 && splitAt.IsZero() {
			splitAt = time.Now()
		}
		if !splitAt.IsZero() && time.Since(splitAt) > 2*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mark := time.Now()
	produce(t, cfg, topic, produced, 600)
	produced += 600
	waitFor(t, ctx, func() bool { return distinct(a, b) >= produced }, "all phase-1 messages consumed")

	recent := func(mb *member) map[int]bool {
		mb.mu.Lock()
		defer mb.mu.Unlock()
		out := map[int]bool{}
		for p, at := range mb.parts {
			if at.After(mark) {
				out[p] = true
			}
		}
		return out
	}
	pa, pb := recent(a), recent(b)
	if len(pa) == 0 || len(pb) == 0 || len(pa)+len(pb) != 6 {
		t.Fatalf("after settling, members own %v and %v; want a split of the 6 partitions", pa, pb)
	}
	for p := range pa {
		if pb[p] {
			t.Fatalf("partition %d consumed by both members after settling", p)
		}
	}

	// Phase 2: b leaves cleanly; a takes all 6 partitions from the committed offsets.
	bcancel()
	time.Sleep(200 * time.Millisecond)
	commits, err := kafkatest.Admin(t, cfg).CommittedOffsets(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	first := map[int]int64{} // lowest offset a gets per former-b partition in phase 2
	mark2 := time.Now()
	produce(t, cfg, topic, produced, 600)
	produced += 600
	waitFor(t, ctx, func() bool { return distinct(a, b) >= produced }, "all phase-2 messages consumed")
	a.mu.Lock()
	for c := range a.seen {
		if pb[c.part] {
			if f, ok := first[c.part]; !ok || c.off < f {
				first[c.part] = c.off
			}
		}
	}
	owns := 0
	for _, at := range a.parts {
		if at.After(mark2) {
			owns++
		}
	}
	a.mu.Unlock()
	if owns != 6 {
		t.Fatalf("after b left, a consumed from %d partitions, want 6", owns)
	}
	for p := range pb {
		if first[p] != commits[p] {
			t.Errorf("partition %d: a started at offset %d, want b's committed offset %d", p, first[p], commits[p])
		}
	}
	cancel()
	wg.Wait()
}

type member struct {
	mu    sync.Mutex
	parts map[int]time.Time // partition → last time a message of it arrived
	seen  map[coord]int
}

func newMember() *member { return &member{parts: map[int]time.Time{}, seen: map[coord]int{}} }

// distinct counts the messages the members saw between them, each once.
func distinct(ms ...*member) int {
	all := map[coord]bool{}
	for _, m := range ms {
		m.mu.Lock()
		for c := range m.seen {
			all[c] = true
		}
		m.mu.Unlock()
	}
	return len(all)
}

func waitFor(t *testing.T, ctx context.Context, cond func() bool, what string) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting: %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Random bytes go to the dead-letter topic with the reason and their coordinates; the loop
// goes on with the next message.
func TestConsumerDeadLettersUndecodableAndContinues(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 1)
	if err := kafkatest.Admin(t, cfg).EnsureTopics(context.Background(), kafkax.TopicSpec{Name: kafkax.DLQTopic(topic), Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	group := kafkatest.UniqueName("g")
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	good, _ := kafkax.NewProtoMessage(topic, "u1", "e1", &logwardenpb.LogEvent{Id: "e1", Raw: "ok"})
	good2, _ := kafkax.NewProtoMessage(topic, "u1", "e2", &logwardenpb.LogEvent{Id: "e2", Raw: "ok"})
	junk := kafkax.Message{Topic: topic, Key: []byte("u1"), Value: []byte{0xff, 0xfe, 0x01, 0x02, 0x03}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Write(ctx, good, junk, good2); err != nil {
		t.Fatal(err)
	}

	var decoded []string
	c := newConsumer(t, cfg, testConsumerConfig(group, topic), w)
	rctx, rcancel := context.WithCancel(ctx)
	err = c.Run(rctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
		var outs []kafkax.Message
		for _, m := range batch {
			ev := &logwardenpb.LogEvent{}
			if err := proto.Unmarshal(m.Value, ev); err != nil {
				outs = append(outs, kafkax.DeadLetter(m, "test", fmt.Errorf("not a LogEvent: %w", err)))
				continue
			}
			decoded = append(decoded, ev.GetId())
		}
		if len(decoded) == 2 {
			rcancel()
		}
		return outs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(decoded) != 2 || decoded[0] != "e1" || decoded[1] != "e2" {
		t.Fatalf("decoded %v, want [e1 e2]", decoded)
	}
	dls := kafkatest.ReadN(t, cfg, kafkax.DLQTopic(topic), 1, 20*time.Second)
	dl, err := kafkax.DecodeDeadLetter(dls[0])
	if err != nil {
		t.Fatal(err)
	}
	if dl.GetTopic() != topic || dl.GetPartition() != 0 || dl.GetOffset() != 1 || string(dl.GetValue()) != string(junk.Value) ||
		dl.GetService() != "test" || dl.GetError() == "" {
		t.Fatalf("dead letter = %v", dl)
	}
	offs, err := kafkatest.Admin(t, cfg).CommittedOffsets(context.Background(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if offs[0] != 3 {
		t.Fatalf("committed offset %d, want 3 (all three handled)", offs[0])
	}
}

// RunPrepared prepares the next batch while the handler works on one, hands every batch
// its own preparation, and commits what was handled.
func TestRunPreparedPreparesNextBatchWhileHandling(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	group := kafkatest.UniqueName("g")
	const total = 200
	produce(t, cfg, topic, 0, total)

	c := newConsumer(t, cfg, testConsumerConfig(group, topic), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	prepared := make(chan struct{}, 1000) // one value per prepared batch
	seen := map[coord]int{}
	var overlapped bool
	err := kafkax.RunPrepared(rctx, c, func(batch []kafkax.Message) []string {
		vals := make([]string, len(batch))
		for i, m := range batch {
			vals[i] = string(m.Value)
		}
		prepared <- struct{}{}
		return vals
	}, func(_ context.Context, batch []kafkax.Message, vals []string) ([]kafkax.Message, error) {
		if len(vals) != len(batch) {
			t.Fatalf("batch of %d handed %d prepared values", len(batch), len(vals))
		}
		for i, m := range batch {
			if vals[i] != string(m.Value) {
				t.Errorf("%s: prepared %q, record %q", m, vals[i], m.Value)
			}
			seen[coord{m.Partition, m.Offset}]++
		}
		<-prepared // this batch's
		if len(seen) < total && !overlapped {
			// The next batch is prepared while this one is still being handled.
			select {
			case <-prepared:
				prepared <- struct{}{} // its own, for when it is handled
				overlapped = true
			case <-time.After(20 * time.Second):
				t.Error("the next batch was not prepared while this one was handled")
			}
		}
		if len(seen) >= total {
			stop()
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !overlapped {
		t.Error("no batch was prepared while another was handled")
	}
	if len(seen) != total {
		t.Fatalf("saw %d distinct messages, want %d", len(seen), total)
	}
	assertCommittedToEnd(t, cfg, group, topic, seen)
}
