//go:build integration

package stdin

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

// TestStdinToTheBroker pipes lines in; when Run returns at EOF every line is on the topic,
// keyed by its entity.
func TestStdinToTheBroker(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var in strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&in, "[24/Nov/2026 06:%02d:%02d] 10.1.0.%d user%d executed command 'ls %d'\n", i/60%60, i%60, i%250, i%7, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := New(strings.NewReader(in.String()), Config{BatchLines: 128}).Run(ctx, publish.New(w, publish.Options{Topic: topic})); err != nil {
		t.Fatal(err)
	}
	msgs := kafkatest.ReadN(t, cfg, topic, 1000, 30*time.Second)
	seen := map[string]bool{}
	for _, m := range msgs {
		ev := &logwardenpb.LogEvent{}
		if err := proto.Unmarshal(m.Value, ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetSource() != "stdin" || string(m.Key) != ev.GetUser() || ev.GetAction() != "command" || m.Header(kafkax.HeaderEventID) != ev.GetId() {
			t.Fatalf("key %q event %v", m.Key, ev)
		}
		seen[ev.GetTarget()] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct lines on the topic, want 1000", len(seen))
	}
}
