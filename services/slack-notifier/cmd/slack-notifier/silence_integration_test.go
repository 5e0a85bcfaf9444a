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

// notifier runs the service in-process until stop is called.
type notifier struct {
	cancel context.CancelFunc
	done   chan error
	stderr *bytes.Buffer
}

func startNotifier(t *testing.T, env map[string]string) *notifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{cancel: cancel, done: make(chan error, 1), stderr: &bytes.Buffer{}}
	go func() {
		n.done <- run(ctx, []string{"run"}, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, n.stderr)
	}()
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *notifier) stop(t *testing.T) {
	t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	if err := <-n.done; err != nil {
		t.Errorf("run: %v\n%s", err, n.stderr.String())
	}
}

// cli runs one slack-notifier command and returns its stdout.
func cli(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, func(k string) string { return env[k] }, nil, &out, &errOut); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

func produceAlert(t *testing.T, w *kafkax.Writer, topic, id, entity string) {
	t.Helper()
	a := &logwardenpb.Alert{Id: id, Fingerprint: "rules/dangerous-command/" + entity, Entity: entity, Severity: logwardenpb.Severity_SEVERITY_HIGH,
		Title: "Dangerous command", Count: 1, Findings: []*logwardenpb.Finding{{Detector: "rules", RuleId: "dangerous-command"}},
		Evidence: []*logwardenpb.LogEvent{{Host: "web1", Raw: id}}}
	m, err := kafkax.NewProtoMessage(topic, entity, id, a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Write(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// posted reports whether the local Slack accepted a post mentioning the alert id.
func posted(slack *slacktest.Server, id string) bool {
	for _, b := range slack.Accepted() {
		if strings.Contains(string(b), id) {
			return true
		}
	}
	return false
}

func committed(t *testing.T, admin *kafkax.Admin, group, topic string) int64 {
	t.Helper()
	off, err := admin.CommittedOffsets(context.Background(), group, topic)
	if err != nil {
		return -1
	}
	var sum int64
	for _, o := range off {
		sum += max(o, 0)
	}
	return sum
}

// A silence made on the command line mutes the matching alerts (acknowledged, never
// posted) and not the others; it survives a restart of the notifier (the compacted
// topic is read before the first alert); expiring it lets the next alert through.
func TestSilenceCommandAndRestart(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 2)
	silences := kafkatest.UniqueName("silences")
	admin := kafkatest.Admin(t, cfg)
	t.Cleanup(func() { _ = admin.DeleteTopics(context.Background(), kafkax.DLQTopic(topic), silences) })
	group := kafkatest.UniqueName("notifier-silence")
	slack := slacktest.New()
	defer slack.Close()
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": group, "SILENCES_TOPIC": silences,
		"SLACK_WEBHOOK_URL": slack.WebhookURL(), "SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": "127.0.0.1:0",
		"GROUP_WAIT": "0s", "CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "2",
		"CONSUMER_SESSION_TIMEOUT": "6s",
	}
	id := strings.TrimSpace(cli(t, env, "silence", "add", "entity=alice", "rule=dangerous-command", "-c", "planned maintenance", "-a", "ops", "-d", "1h"))
	if len(id) != 16 {
		t.Fatalf("silence add printed %q, want the id", id)
	}
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	n := startNotifier(t, env)
	produceAlert(t, w, topic, "alice-1", "alice")
	produceAlert(t, w, topic, "bob-1", "bob")
	waitFor(t, 30*time.Second, "both alerts handled", func() bool { return committed(t, admin, group, topic) == 2 })
	if posted(slack, "alice-1") || !posted(slack, "bob-1") {
		t.Fatalf("alice posted %v (silenced), bob posted %v", posted(slack, "alice-1"), posted(slack, "bob-1"))
	}

	n.stop(t)
	n = startNotifier(t, env)
	produceAlert(t, w, topic, "alice-2", "alice")
	produceAlert(t, w, topic, "bob-2", "bob")
	waitFor(t, 30*time.Second, "alerts after the restart handled", func() bool { return committed(t, admin, group, topic) == 4 })
	if posted(slack, "alice-2") || !posted(slack, "bob-2") {
		t.Fatalf("after a restart: alice posted %v (silenced), bob posted %v", posted(slack, "alice-2"), posted(slack, "bob-2"))
	}

	list := cli(t, env, "silence", "list")
	if !strings.Contains(list, id) || !strings.Contains(list, `entity="alice" rule="dangerous-command"`) || !strings.Contains(list, "planned maintenance") ||
		!strings.Contains(list, "active") {
		t.Fatalf("silence list:\n%s", list)
	}
	if out := cli(t, env, "silence", "expire", id); !strings.Contains(out, "expired "+id) {
		t.Fatalf("expire: %q", out)
	}
	// The running notifier follows the silences topic, so the expiry reaches it a moment
	// after the command returns: an alert in that moment is still silenced (as it should
	// be). Alice's alerts keep coming until one is posted.
	n3 := 0
	waitFor(t, 30*time.Second, "alice's alert after the silence expired", func() bool {
		for i := 0; i < n3; i++ {
			if posted(slack, fmt.Sprintf("alice-3-%d", i)) {
				return true
			}
		}
		produceAlert(t, w, topic, fmt.Sprintf("alice-3-%d", n3), "alice")
		n3++
		time.Sleep(200 * time.Millisecond)
		return false
	})
	if list := cli(t, env, "silence", "list"); strings.Contains(list, id) {
		t.Fatalf("expired silence still listed:\n%s", list)
	}
	n.stop(t)
}
