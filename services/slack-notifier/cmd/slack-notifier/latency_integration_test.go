//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

// BenchmarkAlertToPost measures, through the real broker, the delay from producing an
// alert to the local Slack receiving its POST at group_wait=0 (one alert at a time).
func BenchmarkAlertToPost(b *testing.B) {
	cfg := kafkatest.Config(b)
	topic := kafkatest.NewTopic(b, cfg, 1)
	b.Cleanup(func() { _ = kafkatest.Admin(b, cfg).DeleteTopics(context.Background(), kafkax.DLQTopic(topic)) })
	slack := slacktest.New()
	defer slack.Close()
	var mu sync.Mutex
	arrived := make(chan time.Time, 1)
	slack.Func(func(slacktest.Request) (slacktest.Answer, bool) {
		mu.Lock()
		defer mu.Unlock()
		select {
		case arrived <- time.Now():
		default:
		}
		return slacktest.OK, true
	})
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": kafkatest.UniqueName("notifier-bench"),
		"SLACK_WEBHOOK_URL": slack.WebhookURL(), "SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": "127.0.0.1:0",
		"GROUP_WAIT": "0s", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "1", "LOG_LEVEL": "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, &stderr) }()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	lat := make([]time.Duration, 0, b.N)
	measure := func(i int) time.Duration {
		a := &logwardenpb.Alert{Id: fmt.Sprint("bench-", i), Fingerprint: fmt.Sprint("fp-", i), Severity: logwardenpb.Severity_SEVERITY_HIGH,
			Title: "bench", Entity: "u", Count: 1, FirstSeen: timestamppb.Now(), LastSeen: timestamppb.Now()}
		m, err := kafkax.NewProtoMessage(topic, a.Fingerprint, a.Id, a)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := w.Write(ctx, m); err != nil {
			b.Fatal(err)
		}
		select {
		case t := <-arrived:
			return t.Sub(t0)
		case <-time.After(30 * time.Second):
			b.Fatalf("no post for alert %d\n%s", i, stderr.String())
		}
		return 0
	}
	measure(-1) // warm-up: group join
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lat = append(lat, measure(i))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
