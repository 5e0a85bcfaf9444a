//go:build integration

package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

// BenchmarkServiceBroker runs the service over the real broker: 20,000
// protobuf events already on a 6-partition topic, timed from start until the
// group has committed all of them (verdicts and alerts written acks=all).
func BenchmarkServiceBroker(b *testing.B) {
	const n = 20000
	cfg := kafkatest.Config(b)
	admin := kafkatest.Admin(b, cfg)
	for b.Loop() {
		b.StopTimer()
		in := kafkatest.NewTopic(b, cfg, 6)
		verdicts, alerts := kafkatest.NewTopic(b, cfg, 6), kafkatest.NewTopic(b, cfg, 6)
		msgs := make([]kafkax.Message, 0, n)
		for i := range n {
			user := fmt.Sprintf("user%03d", i%200)
			id := fmt.Sprintf("01JDBENCH%017d", i)
			raw := fmt.Sprintf("[24/Nov/2026 09:%02d:%02d] 10.0.%d.%d %s accessed file '/srv/data/r%d.csv'", (i/60)%60, i%60, i%7, i%200, user, i%13)
			m, err := kafkax.NewProtoMessage(in, user, id, &logwardenpb.LogEvent{Id: id, Raw: raw, Source: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(context.Background(), msgs...); err != nil {
			b.Fatal(err)
		}
		w.Close()
		group := kafkatest.UniqueName("ac-bench")
		cc := kafkax.DefaultConsumerConfig(group, in)
		o := service.Options{Kafka: cfg, Consumer: cc, Writer: kafkax.DefaultWriterConfig(),
			Topics:     service.Topics{Verdicts: verdicts, Alerts: alerts},
			Partitions: 6, ReplicationFactor: 1}
		e := newEngine(b)
		b.StartTimer()

		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- service.Consume(ctx, o, service.NewHandler(e, service.HandlerOptions{Topics: o.Topics, DedupEvents: service.DefaultDedupEvents}), nil, zap.NewNop())
		}()
		for {
			offs, err := admin.CommittedOffsets(context.Background(), group, in)
			var sum int64
			for _, o := range offs {
				if o > 0 {
					sum += o
				}
			}
			if err == nil && sum >= n {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		el := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(n/el.Seconds(), "events/s")
		_ = admin.DeleteTopics(context.Background(), kafkax.DLQTopic(in), kafkax.DLQTopic(alerts))
	}
}
