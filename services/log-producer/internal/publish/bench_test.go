package publish

import (
	"testing"

	"github.com/logwarden/logwarden/services/log-producer/internal/generator"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// BenchmarkPrepare measures parsing and encoding generated tutorial lines into messages
// (what the producer does for every line before kafka-go writes it), in stdin-sized
// batches.
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
	p := New(&fakeWriter{}, Options{Topic: "logs.raw"})
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		if _, err := p.Prepare(lines); err != nil {
			b.Fatal(err)
		}
		events += batch
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
