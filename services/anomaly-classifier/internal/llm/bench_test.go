package llm

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm/llmtest"
)

// verdictStream is a mix like the classifier's: one event in ten is a candidate
// (uncertain score), the others are sure.
func verdictStream(n int) []*logwardenpb.Verdict {
	vs := make([]*logwardenpb.Verdict, n)
	for i := range vs {
		score := 0.05
		if i%10 == 0 {
			score = 0.5
		}
		vs[i] = verdict("e", "", "10.0.0.5 bob accessed file '/home/bob/reports/q3.xlsx'", score)
	}
	return vs
}

func runningStage(tb testing.TB, behavior llmtest.Behavior) (*Stage, func()) {
	tb.Helper()
	srv := llmtest.NewServer(tb)
	srv.SetDefault(llmtest.Step{Behavior: behavior})
	cfg := testConfig(srv.URL)
	cfg.Timeout = time.Hour // the endpoint hangs for the whole run
	cfg.Concurrency = 1
	cfg.BatchSize = 4
	cfg.QueueSize = 64
	cfg.Linger = 0
	cfg.MaxRequestsPerMinute = 0
	cfg.MaxTokensPerHour = 0
	s, err := New(cfg, nil, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx) })
	return s, func() { cancel(); wg.Wait(); s.Close(); srv.Close() }
}

// BenchmarkConsider: the classifier's hot-path cost of the stage. "hanging" has
// every request stuck on an endpoint that never answers: Consider must cost the
// same as with the stage off or on a healthy endpoint, within noise.
func BenchmarkConsider(b *testing.B) {
	mixed := verdictStream(1000)
	sure := verdictStream(1)
	sure[0].Score = 0.05
	cases := []struct {
		name  string
		vs    []*logwardenpb.Verdict
		stage func(b *testing.B) (*Stage, func())
	}{
		{"off", mixed, func(b *testing.B) (*Stage, func()) { return mustNew(&testing.T{}, DefaultConfig()), func() {} }},
		{"on-sure-verdicts", sure, func(b *testing.B) (*Stage, func()) { return runningStage(b, llmtest.Hang) }},
		{"hanging-endpoint-10pct-candidates", mixed, func(b *testing.B) (*Stage, func()) { return runningStage(b, llmtest.Hang) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s, stop := c.stage(b)
			defer stop()
			vs := c.vs
			b.ReportAllocs()
			start := time.Now()
			i := 0
			for b.Loop() {
				v := vs[i%len(vs)]
				v.Degraded = false
				s.Consider(v, false)
				i++
			}
			b.ReportMetric(float64(i)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkConsiderCandidate is the cost of one queued candidate (a copy of the
// verdict into the queue), the queue drained outside the timer.
func BenchmarkConsiderCandidate(b *testing.B) {
	srv := llmtest.NewServer(b)
	cfg := testConfig(srv.URL)
	cfg.QueueSize = 4096
	s, err := New(cfg, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	v := verdict("e", "", "10.0.0.5 bob executed command 'bash -i'", 0.5, ruleHit())
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if s.Consider(v, false) != Queued {
			b.StopTimer()
			for len(s.queue) > 0 {
				<-s.queue
			}
			b.StartTimer()
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkHotPath is the classifier's per-event work as far as the stage can
// see it — Consider, then encoding the verdict for logs.verdicts — with the
// stage off, on a healthy endpoint and on one that never answers. The three
// throughputs should be equal within noise: the endpoint never reaches the
// hot path.
func BenchmarkHotPath(b *testing.B) {
	vs := verdictStream(1000)
	cases := []struct {
		name  string
		stage func(b *testing.B) (*Stage, func())
	}{
		{"off", func(b *testing.B) (*Stage, func()) { return mustNew(&testing.T{}, DefaultConfig()), func() {} }},
		{"healthy-endpoint", func(b *testing.B) (*Stage, func()) { return runningStage(b, llmtest.Sensible) }},
		{"hanging-endpoint", func(b *testing.B) (*Stage, func()) { return runningStage(b, llmtest.Hang) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s, stop := c.stage(b)
			defer stop()
			stopDrain := drain(s) // a healthy endpoint answers; the engine keeps reading
			defer stopDrain()
			b.ReportAllocs()
			start := time.Now()
			i := 0
			var buf []byte
			for b.Loop() {
				v := vs[i%len(vs)]
				v.Degraded = false
				s.Consider(v, false)
				var err error
				if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf[:0], v); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func drain(s *Stage) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-s.Results():
			case <-done:
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
