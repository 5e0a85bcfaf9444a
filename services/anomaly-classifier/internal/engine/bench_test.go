package engine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

func parsedEvents(tb testing.TB, file string) []*logwardenpb.LogEvent {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	p := logparse.New(logparse.Options{})
	var evs []*logwardenpb.LogEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ev := &logwardenpb.LogEvent{}
		p.Parse(sc.Text(), ev)
		evs = append(evs, ev)
	}
	return evs
}

// loghubEvents: the eight Loghub samples' lines interleaved, as one classifier
// serving many kinds of systems sees them.
func loghubEvents(tb testing.TB) []*logwardenpb.LogEvent {
	tb.Helper()
	files, err := filepath.Glob("../offline/testdata/loghub/*.log")
	if err != nil || len(files) == 0 {
		tb.Fatalf("loghub samples: %v (%d files)", err, len(files))
	}
	var all [][]*logwardenpb.LogEvent
	n := 0
	for _, f := range files {
		evs := parsedEvents(tb, f)
		all = append(all, evs)
		n += len(evs)
	}
	out := make([]*logwardenpb.LogEvent, 0, n)
	for i := 0; len(out) < n; i++ {
		for _, evs := range all {
			if i < len(evs) {
				out = append(out, evs[i])
			}
		}
	}
	return out
}

func benchmarkEngine(b *testing.B, evs []*logwardenpb.LogEvent) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		eng.Process(evs[i%len(evs)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkProcessTutorial: the generator's format (200 lines, cycled).
func BenchmarkProcessTutorial(b *testing.B) {
	benchmarkEngine(b, parsedEvents(b, "testdata/tutorial.log"))
}

// BenchmarkProcessOpenSSH: the Loghub OpenSSH sample (2000 sshd lines).
func BenchmarkProcessOpenSSH(b *testing.B) {
	benchmarkEngine(b, parsedEvents(b, "testdata/OpenSSH_2k.log"))
}

// BenchmarkProcessLoghub: the eight Loghub samples interleaved (16000 lines).
func BenchmarkProcessLoghub(b *testing.B) { benchmarkEngine(b, loghubEvents(b)) }

// BenchmarkDetector runs each detector of the engine alone on events whose
// template the miner already found, so a regression shows in the stage that
// caused it. Detectors that read the detections of the ones before them (stats
// skips events the rules flagged) see none here.
func BenchmarkDetector(b *testing.B) {
	for _, in := range []struct {
		name string
		evs  func(testing.TB) []*logwardenpb.LogEvent
	}{
		{"tutorial", func(tb testing.TB) []*logwardenpb.LogEvent { return parsedEvents(tb, "testdata/tutorial.log") }},
		{"loghub", loghubEvents},
	} {
		evs := in.evs(b)
		eng, err := New(DefaultConfig(), nil)
		if err != nil {
			b.Fatal(err)
		}
		miner := template.New(DefaultConfig().Template.Config)
		ms := make([]template.Match, len(evs))
		ts := make([]time.Time, len(evs))
		for i, ev := range evs {
			ms[i] = miner.Add(ev.GetRaw())
			ts[i] = eventTime(ev)
		}
		b.Run(in.name+"/miner", func(b *testing.B) {
			m := template.New(DefaultConfig().Template.Config)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m.Add(evs[i%len(evs)].GetRaw())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		for _, d := range eng.detectors {
			b.Run(in.name+"/"+strings.TrimPrefix(fmt.Sprintf("%T", d), "*"), func(b *testing.B) {
				var out []detect.Detection
				var e detect.Event // one, as the engine reuses its own
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					j := i % len(evs)
					e = detect.NewEvent(evs[j], ts[j], ms[j])
					out = d.Detect(&e, out[:0])
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
