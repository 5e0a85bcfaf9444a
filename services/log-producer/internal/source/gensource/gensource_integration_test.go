//go:build integration

package gensource

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

// TestGeneratorToTheBroker publishes 3000 generated events at full speed with a high
// anomaly rate; they arrive keyed by user, parsed, with their labels.
func TestGeneratorToTheBroker(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 6)
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gcfg := DefaultConfig()
	gcfg.Rate, gcfg.Count, gcfg.Seed, gcfg.AnomalyRate = 0, 3000, 11, 0.05
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(t, ctx, gcfg, publish.New(w, publish.Options{Topic: topic}), nil); err != nil {
		t.Fatal(err)
	}
	msgs := kafkatest.ReadN(t, cfg, topic, 3000, 30*time.Second)
	labelled := map[string]int{}
	for _, m := range msgs {
		ev := &logwardenpb.LogEvent{}
		if err := proto.Unmarshal(m.Value, ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetSource() != "generator" || string(m.Key) != ev.GetUser() || ev.GetFields()["parse.format"] != "tutorial" || ev.GetAction() == "" {
			t.Fatalf("key %q event %v", m.Key, ev)
		}
		if l := ev.GetLabel(); l != nil {
			if !l.GetAnomalous() || l.GetIncidentId() == "" {
				t.Fatalf("label %v", l)
			}
			labelled[l.GetScenario()]++
		}
	}
	total := 0
	for _, n := range labelled {
		total += n
	}
	if total < 75 || total > 300 {
		t.Fatalf("%d labelled events of 3000 at 5 %%: %v", total, labelled)
	}
}
