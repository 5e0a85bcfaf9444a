package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm/llmtest"
)

// benchBatch is 500 records of tutorial lines: logins, file reads (some
// sensitive), commands with varying shapes (new templates → LLM candidates),
// as protobuf LogEvents the way log-producer writes them.
func benchBatch(b *testing.B, round int) []kafkax.Message {
	b.Helper()
	batch := make([]kafkax.Message, 0, 500)
	for i := range 500 {
		user := fmt.Sprintf("user%03d", i%97)
		var raw string
		switch i % 5 {
		case 0:
			raw = fmt.Sprintf("[24/Nov/2026 09:%02d:%02d] 10.0.%d.%d %s logged in successfully", i%60, round%60, i%7, i%200, user)
		case 1:
			raw = fmt.Sprintf("[24/Nov/2026 09:%02d:%02d] 10.0.0.7 %s accessed file '/srv/data/r%d.csv'", i%60, round%60, user, i%13)
		case 2:
			raw = fmt.Sprintf("[24/Nov/2026 09:%02d:%02d] 10.0.0.7 %s executed command 'tool%d --opt %d'", i%60, round%60, user, (i+round)%211, i)
		case 3:
			raw = fmt.Sprintf("[24/Nov/2026 09:%02d:%02d] 10.0.0.7 %s accessed directory '/home/%s/w%d'", i%60, round%60, user, user, i%5)
		default:
			raw = fmt.Sprintf("[24/Nov/2026 09:%02d:%02d] 10.0.0.7 %s failed to log in", i%60, round%60, user)
		}
		id := fmt.Sprintf("B%09d%016d", round, i)
		m, err := kafkax.NewProtoMessage("logs.raw", user, id, &logwardenpb.LogEvent{Id: id, Raw: raw, Source: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		m.Partition, m.Offset = 0, int64(round*500+i)
		batch = append(batch, m)
	}
	return batch
}

func benchHandle(b *testing.B, stage SecondOpinion, dedupEvents int) {
	benchHandleTopics(b, topics, stage, dedupEvents)
}

func benchHandleTopics(b *testing.B, topics Topics, stage SecondOpinion, dedupEvents int) {
	m := NewMetrics(nil)
	h := NewHandler(newEngine(b), HandlerOptions{Topics: topics, Stage: stage, Metrics: m, DedupEvents: dedupEvents})
	// More distinct ids than the dedup remembers (2 × 20,000 at most), so the rounds
	// repeat without a single event dropped as a duplicate: every event is classified.
	const rounds = 96
	batches := make([][]kafkax.Message, rounds)
	for r := range batches {
		batches[r] = benchBatch(b, r)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	var verdictBytes, verdicts int
	for b.Loop() {
		outs, err := h.Handle(ctx, batches[n%rounds])
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			if o.Topic == topics.Verdicts {
				verdicts++
				verdictBytes += len(o.Key) + len(o.Value)
				for _, hd := range o.Headers {
					verdictBytes += len(hd.Key) + len(hd.Value)
				}
			}
		}
		n++
	}
	if d := testutil.ToFloat64(m.dups.WithLabelValues("live")); d > 0 {
		b.Fatalf("%v events dropped as duplicates: the benchmark must classify every event", d)
	}
	b.ReportMetric(float64(n*500)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*500), "ns/event")
	// Uncompressed bytes written to the verdicts topic (key, value, headers) per event read.
	b.ReportMetric(float64(verdictBytes)/float64(n*500), "verdict-B/event")
	b.ReportMetric(float64(verdicts)/float64(n*500), "verdicts/event")
}

// BenchmarkHandle is the batch handler (decode → dedup → parse → engine → LLM
// consider → output messages) without Kafka, per 500-record batch: the LLM off (with
// all verdicts copying their event, then each other verdict mode, for their CPU and
// verdict-B/event),
// and on against a fake model that hangs or answers 500 (the hot path never waits
// for the model: within noise of off); the dedup at its default size, and off for
// its cost.
func BenchmarkHandle(b *testing.B) {
	b.Run("llm=off", func(b *testing.B) { benchHandle(b, nil, DefaultDedupEvents) })
	for _, v := range []struct{ mode, event string }{{VerdictsAnomalous, VerdictEventFull}, {VerdictsAll, VerdictEventRef}, {VerdictsOff, ""}} {
		b.Run("llm=off,verdicts="+v.mode+"/"+v.event, func(b *testing.B) {
			benchHandleTopics(b, Topics{Verdicts: "v", VerdictsMode: v.mode, VerdictEvent: v.event, Alerts: "a"}, nil, DefaultDedupEvents)
		})
	}
	b.Run("llm=off,dedup=off", func(b *testing.B) { benchHandle(b, nil, 0) })
	for _, c := range []struct {
		name     string
		behavior llmtest.Behavior
	}{{"llm=hang", llmtest.Hang}, {"llm=500", llmtest.ServerError}} {
		b.Run(c.name, func(b *testing.B) {
			srv := llmtest.NewServer(b)
			srv.SetDefault(llmtest.Step{Behavior: c.behavior})
			lc := llm.DefaultConfig()
			lc.APIKey, lc.BaseURL, lc.Timeout = "x", srv.URL, 2*time.Second
			stage, err := llm.New(lc, zap.NewNop(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- stage.Run(ctx) }()
			defer func() {
				cancel()
				<-done
				stage.Close()
			}()
			benchHandle(b, stage, DefaultDedupEvents)
			b.ReportMetric(float64(srv.Calls()), "llm-calls")
		})
	}
}
