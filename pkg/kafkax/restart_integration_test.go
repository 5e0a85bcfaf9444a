//go:build integration

package kafkax_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

// A broker restart in the middle of consuming and producing delays the pipeline; every
// input still produces its output and the group ends committed at the end of the input.
func TestConsumerAndWriterSurviveBrokerRestart(t *testing.T) {
	broker := kafkatest.StartBroker(t)
	cfg := broker.Config()
	in := kafkatest.NewTopic(t, cfg, 3)
	out := kafkatest.NewTopic(t, cfg, 3)
	group := kafkatest.UniqueName("g")
	const total = 400
	produce(t, cfg, in, 0, total/2)

	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cc := testConsumerConfig(group, in)
	c := newConsumer(t, cfg, cc, w)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	var mu sync.Mutex
	handled := map[string]bool{}
	restartOnce := sync.Once{}
	restarted := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
			outs := make([]kafkax.Message, 0, len(batch))
			mu.Lock()
			for _, m := range batch {
				handled[string(m.Value)] = true
				outs = append(outs, kafkax.Message{Topic: out, Key: m.Key, Value: m.Value})
			}
			n := len(handled)
			mu.Unlock()
			if n >= total/4 {
				restartOnce.Do(func() {
					// Stop the broker while this batch's outputs are still to be written.
					broker.Stop()
					go func() {
						time.Sleep(2 * time.Second)
						broker.Start()
						close(restarted)
					}()
				})
			}
			return outs, nil
		})
	}()
	select {
	case <-restarted:
	case <-ctx.Done():
		t.Fatal("broker was never restarted")
	}
	produce(t, cfg, in, total/2, total/2)

	want := make([]string, total)
	for i := range want {
		want[i] = fmt.Sprintf("m-%d", i)
	}
	seen := kafkatest.ReadDistinct(t, cfg, out, want, 90*time.Second)
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("all %d outputs written; %d duplicates from redelivery", total, dups)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A broker that is down for several seconds while the members wait for messages makes
// kafka-go report fetch and group errors. Both loops keep retrying instead of returning
// them, and consume what arrives once the broker is back.
func TestConsumerWaitsOutBrokerOutage(t *testing.T) {
	broker := kafkatest.StartBroker(t)
	cfg := broker.Config()
	in := kafkatest.NewTopic(t, cfg, 2)
	const first, total = 50, 100
	produce(t, cfg, in, 0, first)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]map[string]bool{"sync": {}, "async": {}}
	count := func(loop string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen[loop])
	}
	record := func(loop string, m kafkax.Message) {
		mu.Lock()
		seen[loop][string(m.Value)] = true
		mu.Unlock()
	}

	syncC := newConsumer(t, cfg, testConsumerConfig(kafkatest.UniqueName("g-sync"), in), nil)
	asyncC := newConsumer(t, cfg, testConsumerConfig(kafkatest.UniqueName("g-async"), in), nil)
	syncDone := make(chan error, 1)
	asyncDone := make(chan error, 1)
	go func() {
		syncDone <- syncC.Run(ctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
			for _, m := range batch {
				record("sync", m)
			}
			return nil, nil
		})
	}()
	go func() {
		asyncDone <- asyncC.RunAsync(ctx, func(ctx context.Context, m kafkax.Message, ack kafkax.Ack) error {
			record("async", m)
			return ack(ctx)
		})
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case err := <-syncDone:
				t.Fatalf("%s: Run returned during the outage: %v", what, err)
			case err := <-asyncDone:
				t.Fatalf("%s: RunAsync returned during the outage: %v", what, err)
			case <-ctx.Done():
				t.Fatalf("%s: timed out (sync %d, async %d)", what, count("sync"), count("async"))
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitFor("first messages", func() bool { return count("sync") == first && count("async") == first })

	broker.Stop()
	// Longer than kafka-go's MaxAttempts of reconnects at ReadBackoffMax, so errors surface.
	waitFor("outage", func() bool {
		select {
		case <-time.After(10 * time.Second):
			return true
		case <-ctx.Done():
			return true
		}
	})
	broker.Start()
	produce(t, cfg, in, first, total-first)
	waitFor("messages after the outage", func() bool { return count("sync") == total && count("async") == total })
	cancel()
	if err := <-syncDone; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-asyncDone; err != nil {
		t.Errorf("RunAsync: %v", err)
	}
}
