package engine

import (
	"bufio"
	"os"
	"testing"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
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

func benchmarkEngine(b *testing.B, file string) {
	evs := parsedEvents(b, file)
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
func BenchmarkProcessTutorial(b *testing.B) { benchmarkEngine(b, "testdata/tutorial.log") }

// BenchmarkProcessOpenSSH: the Loghub OpenSSH sample (2000 sshd lines).
func BenchmarkProcessOpenSSH(b *testing.B) { benchmarkEngine(b, "testdata/OpenSSH_2k.log") }
