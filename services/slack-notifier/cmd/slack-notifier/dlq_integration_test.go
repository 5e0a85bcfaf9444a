//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

// A permanent rejection (404 no_service, with a body that echoes the webhook URL) and
// every record that is not an alert (garbage, a tombstone, a Verdict, an alert without
// id) end on alerts.dlq with their reason, and the group commits past them. Neither the
// dead letters nor the log carry the webhook's secret path.
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
	verdict, err := kafkax.NewProtoMessage(topic, "v", "v-1", &logwardenpb.Verdict{Event: &logwardenpb.LogEvent{Id: "e-1", Raw: "line"}})
	if err != nil {
		t.Fatal(err)
	}
	noID, err := kafkax.NewProtoMessage(topic, "fp", "", &logwardenpb.Alert{Fingerprint: "fp", Title: "no id"})
	if err != nil {
		t.Fatal(err)
	}
	garbage := kafkax.Message{Topic: topic, Key: []byte("x"), Value: []byte("\xff\xffnot a protobuf"),
		Headers: []kafkax.Header{{Key: kafkax.HeaderSchema, Value: []byte("logwarden.v1.Alert")}}}
	tombstone := kafkax.Message{Topic: topic, Key: []byte("fp-00")}
	if err := w.Write(wctx, garbage, tombstone, verdict, noID); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()

	slack := slacktest.New()
	defer slack.Close()
	const secret = "SECRETpart0123456789"
	slack.Func(func(r slacktest.Request) (slacktest.Answer, bool) {
		return slacktest.Answer{Status: 404, Body: "no_service: no hook at " + slack.URL + r.Path}, true
	})
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": group,
		"SLACK_WEBHOOK_URL": slack.WebhookURL() + "/T000/B000/" + secret, "SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": "127.0.0.1:0",
		"GROUP_WAIT": "100ms", "CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "1",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, nil, &stdout, &stderr) }()

	msgs := kafkatest.ReadN(t, cfg, dlq, 6, 30*time.Second)
	reasons := map[string]int{}
	for _, m := range msgs {
		d, err := kafkax.DecodeDeadLetter(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(d.GetError(), secret) {
			t.Errorf("dead letter carries the webhook secret: %q", d.GetError())
		}
		for _, r := range []string{"no_service", "invalid Alert protobuf", "empty record", "logwarden.v1.Verdict", "alert without id"} {
			if strings.Contains(d.GetError(), r) {
				reasons[r]++
			}
		}
	}
	if fmt.Sprint(reasons) != "map[alert without id:1 empty record:1 invalid Alert protobuf:1 logwarden.v1.Verdict:1 no_service:2]" {
		t.Fatalf("reasons %v, want 2 no_service and one of each record that is not an alert", reasons)
	}
	waitFor(t, 20*time.Second, "commit past the dead letters", func() bool {
		off, err := admin.CommittedOffsets(ctx, group, topic)
		return err == nil && off[0] == 6
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(stderr.String(), "DLQ") {
		t.Errorf("no loud error line in the log:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), secret) {
		t.Errorf("the log carries the webhook secret:\n%s", stderr.String())
	}
}
