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

// The notifier survives a broker restart: alerts produced after the broker is back are
// delivered, and the process did not exit.
func TestServiceSurvivesBrokerRestart(t *testing.T) {
	br := kafkatest.StartBroker(t)
	cfg := br.Config()
	topic := kafkatest.NewTopic(t, cfg, 1)
	if err := kafkatest.Admin(t, cfg).EnsureTopics(context.Background(), kafkax.TopicSpec{Name: kafkax.DLQTopic(topic), Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	slack := slacktest.New()
	defer slack.Close()
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": kafkatest.UniqueName("notifier-restart"),
		"SLACK_WEBHOOK_URL": slack.WebhookURL(), "SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": "127.0.0.1:0",
		"GROUP_WAIT": "100ms", "CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "1",
		"CONSUMER_SESSION_TIMEOUT": "6s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, &stderr) }()

	produceAlerts(t, cfg, topic, 1, 1)
	waitFor(t, 30*time.Second, "first post", func() bool { return len(slack.Accepted()) == 1 })
	br.Stop()
	time.Sleep(3 * time.Second) // the outage itself: long enough for fetches to fail
	br.Start()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	produceOne(t, w, topic, "after-restart")
	waitFor(t, 60*time.Second, "post after the restart", func() bool {
		for _, b := range slack.Accepted() {
			if strings.Contains(string(b), "after-restart") {
				return true
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run returned during the outage: %v\n%s", err, stderr.String())
		default:
		}
		return false
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
