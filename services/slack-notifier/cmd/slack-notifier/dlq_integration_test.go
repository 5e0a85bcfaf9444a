//go:build integration

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

// A permanent rejection (404 no_service) and an undecodable record both end on
// alerts.dlq with their reason, and the group commits past them.
func TestServiceDeadLetters(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 1)
	dlq := kafkax.DLQTopic(topic)
	admin := kafkatest.Admin(t, cfg)
	t.Cleanup(func() { _ = admin.DeleteTopics(context.Background(), dlq) })
	group := kafkatest.UniqueName("notifier-dlq")
	if err := admin.EnsureTopics(context.Background(), kafkax.TopicSpec{Name: dlq, Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	produceAlerts(t, cfg, topic, 2, 1)
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := w.Write(wctx, kafkax.Message{Topic: topic, Key: []byte("x"), Value: []byte("\xff\xffnot a protobuf")}); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()

	slack := slacktest.New()
	defer slack.Close()
	slack.Func(func(slacktest.Request) (slacktest.Answer, bool) { return slacktest.NoService, true })
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": group,
		"SLACK_WEBHOOK_URL": slack.WebhookURL(), "SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": "127.0.0.1:0",
		"GROUP_WAIT": "100ms", "CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "1",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, nil, &stdout, &stderr) }()

	msgs := kafkatest.ReadN(t, cfg, dlq, 3, 30*time.Second)
	reasons := map[string]int{}
	for _, m := range msgs {
		d, err := kafkax.DecodeDeadLetter(m)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(d.GetError(), "no_service"):
			reasons["no_service"]++
		case strings.Contains(d.GetError(), "decode Alert"):
			reasons["decode"]++
		default:
			t.Errorf("unexpected reason %q", d.GetError())
		}
	}
	if reasons["no_service"] != 2 || reasons["decode"] != 1 {
		t.Fatalf("reasons %v, want 2 no_service and 1 decode", reasons)
	}
	waitFor(t, 20*time.Second, "commit past the dead letters", func() bool {
		off, err := admin.CommittedOffsets(ctx, group, topic)
		return err == nil && off[0] == 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(stderr.String(), "DLQ") {
		t.Errorf("no loud error line in the log:\n%s", stderr.String())
	}
}
