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

// Follow passes every record already in a compacted topic before it reports the topic
// loaded, tombstones included (empty value), then keeps passing what is appended.
func TestFollow(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 3, ReplicationFactor: 1, Compact: true})
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write := func(from, n int, tombstone bool) {
		t.Helper()
		var msgs []kafkax.Message
		for i := from; i < from+n; i++ {
			m := kafkax.Message{Topic: topic, Key: []byte(fmt.Sprintf("k-%d", i))}
			if !tombstone {
				m.Value = []byte(fmt.Sprintf("v-%d", i))
			}
			msgs = append(msgs, m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Write(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 30, false)
	write(0, 5, true)

	var mu sync.Mutex
	table := map[string]string{}
	seen := 0
	atLoad := -1
	loaded := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- kafkatest.Admin(t, cfg).Follow(ctx, topic, func(m kafkax.Message) {
			mu.Lock()
			defer mu.Unlock()
			seen++
			if len(m.Value) == 0 {
				delete(table, string(m.Key))
				return
			}
			table[string(m.Key)] = string(m.Value)
		}, func() {
			atLoad = seen // under Follow's lock: fn is not running
			close(loaded)
		})
	}()
	select {
	case <-loaded:
	case <-time.After(30 * time.Second):
		t.Fatal("never loaded")
	}
	mu.Lock()
	if atLoad != 35 || len(table) != 25 || table["k-29"] != "v-29" || table["k-0"] != "" {
		t.Fatalf("at load: %d records seen, %d keys; want 35 records and 25 keys", atLoad, len(table))
	}
	mu.Unlock()

	write(100, 3, false)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(table)
		mu.Unlock()
		if n == 28 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("appended records not followed: %d keys", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow after cancel: %v", err)
	}
}

// An empty topic is loaded at once.
func TestFollowEmpty(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 2, ReplicationFactor: 1, Compact: true, Retention: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	loaded := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- kafkatest.Admin(t, cfg).Follow(ctx, topic, func(kafkax.Message) { t.Error("a record in an empty topic") }, func() { close(loaded) })
	}()
	select {
	case <-loaded:
	case <-ctx.Done():
		t.Fatalf("empty topic never loaded: %v", <-done)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
