//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

func produceAlerts(t *testing.T, cfg kafkax.Config, topic string, groups, per int) {
	t.Helper()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	now := time.Now()
	var msgs []kafkax.Message
	for i := 0; i < per; i++ {
		for g := 0; g < groups; g++ {
			fp := fmt.Sprintf("fp-%02d", g)
			a := &logwardenpb.Alert{Id: fmt.Sprintf("%s-%d", fp, i), Fingerprint: fp, Entity: "user" + strconv.Itoa(g),
				Severity: logwardenpb.Severity_SEVERITY_HIGH, Title: "burst <!channel>", Count: 1,
				FirstSeen: timestamppb.New(now), LastSeen: timestamppb.New(now)}
			m, err := kafkax.NewProtoMessage(topic, fp, a.Id, a)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Write(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func produceOne(t *testing.T, w *kafkax.Writer, topic, id string) {
	t.Helper()
	a := &logwardenpb.Alert{Id: id, Fingerprint: id, Entity: id, Severity: logwardenpb.Severity_SEVERITY_LOW, Title: "one", Count: 1}
	m, err := kafkax.NewProtoMessage(topic, id, id, a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Write(ctx, m); err != nil {
		t.Fatal(err)
	}
}

type delivered struct {
	group string
	count int64
}

func parsePost(t *testing.T, body []byte) delivered {
	t.Helper()
	var m render.Message
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("payload: %v", err)
	}
	var d delivered
	for _, b := range m.Attachments[0].Blocks {
		for _, f := range b.Fields {
			if v, ok := strings.CutPrefix(f.Text, "*Count*\n"); ok {
				d.count, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		for _, e := range b.Elements {
			txt, _ := e.(*render.Text)
			if txt == nil {
				continue
			}
			if _, g, ok := strings.Cut(txt.Text, "group `fingerprint="); ok {
				d.group = strings.TrimSuffix(g, "`")
			}
		}
	}
	return d
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// 1,000 alerts in 50 groups while Slack fails (500, 429): nothing is committed before
// delivery; after recovery every group is delivered, no alert twice, all committed.
func TestServiceDeliversThroughOutage(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	admin := kafkatest.Admin(t, cfg)
	t.Cleanup(func() { _ = admin.DeleteTopics(context.Background(), kafkax.DLQTopic(topic)) })
	group := kafkatest.UniqueName("notifier")
	const groups, per = 50, 20
	produceAlerts(t, cfg, topic, groups, per)

	slack := slacktest.New()
	defer slack.Close()
	var failing atomic.Bool
	failing.Store(true)
	var n atomic.Int64
	slack.Func(func(slacktest.Request) (slacktest.Answer, bool) {
		if !failing.Load() {
			return slacktest.Answer{}, false
		}
		if n.Add(1)%5 == 0 {
			return slacktest.RateLimited(1), true
		}
		return slacktest.ServerError, true
	})

	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": group,
		"SLACK_WEBHOOK_URL": slack.WebhookURL(), "SLACK_RATE_PER_SECOND": "1000", "HTTP_ADDR": "127.0.0.1:0",
		"GROUP_WAIT": "200ms", "GROUP_INTERVAL": "200ms", "RETRY_BACKOFF_MIN": "50ms", "RETRY_BACKOFF_MAX": "200ms",
		"CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "3",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run"}, func(k string) string { return env[k] }, nil, &stdout, &stderr)
	}()

	waitFor(t, 30*time.Second, "failed attempts", func() bool { return len(slack.Requests()) >= 30 })
	// Let commit intervals pass while Slack keeps failing: nothing may be committed.
	waitFor(t, 30*time.Second, "more failed attempts", func() bool { return len(slack.Requests()) >= 60 })
	off, err := admin.CommittedOffsets(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, o := range off {
		if o > 0 {
			t.Fatalf("partition %d committed at %d while Slack was failing", p, o)
		}
	}
	if len(slack.Accepted()) != 0 {
		t.Fatalf("accepted %d posts while failing", len(slack.Accepted()))
	}

	failing.Store(false)
	last := map[string]int64{}
	waitFor(t, 45*time.Second, "every group at its full count", func() bool {
		clear(last)
		for _, b := range slack.Accepted() {
			d := parsePost(t, b)
			if d.count <= last[d.group] {
				t.Fatalf("group %s posted count %d after %d: an alert delivered twice", d.group, d.count, last[d.group])
			}
			last[d.group] = d.count
		}
		if len(last) > groups {
			t.Fatalf("%d groups, want %d", len(last), groups)
		}
		full := 0
		for _, c := range last {
			if c > per {
				t.Fatalf("count %d > %d", c, per)
			}
			if c == per {
				full++
			}
		}
		return full == groups
	})
	waitFor(t, 30*time.Second, "all offsets committed", func() bool {
		off, err := admin.CommittedOffsets(ctx, group, topic)
		if err != nil {
			return false
		}
		var sum int64
		for _, o := range off {
			sum += max(o, 0)
		}
		return sum == groups*per
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Logf("%d requests, %d accepted posts for %d groups", len(slack.Requests()), len(slack.Accepted()), groups)
}
