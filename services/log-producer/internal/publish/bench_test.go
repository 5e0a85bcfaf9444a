package publish

import (
	"context"
	"testing"

	"github.com/logwarden/logwarden/pkg/kafkax"

	"github.com/logwarden/logwarden/services/log-producer/internal/generator"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// BenchmarkPrepare measures parsing and encoding generated tutorial lines into messages
// (what the producer does for every line before the writer sends it), in batches of 2,000
// written to a writer that discards them (so that batches reuse their memory).
func BenchmarkPrepare(b *testing.B) {
	g, err := generator.New(generator.Options{Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 2000
	lines := make([]source.Line, batch)
	for i := range lines {
		lines[i] = source.Line{Text: g.Next().Line(), Source: "stdin"}
	}
	p := New(discard{}, Options{Topic: "logs.raw"})
	ctx := context.Background()
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		if err := p.Publish(ctx, lines); err != nil {
			b.Fatal(err)
		}
		events += batch
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

type discard struct{}

func (discard) Write(context.Context, ...kafkax.Message) error { return nil }
