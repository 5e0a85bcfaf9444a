package sink

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

// rich has every part a message can have, with hostile text in each.
func rich() notify.Notification {
	const evil = " <!channel> <@U123> <http://evil.example|click> ``` & "
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	a := &logwardenpb.Alert{Id: "a-1", Fingerprint: "rules/brute/alice", Severity: logwardenpb.Severity_SEVERITY_HIGH,
		Title: "Brute force" + evil, Entity: "alice" + evil, Summary: "12 failed logins" + evil, Count: 12,
		RunbookUrl: "https://runbooks.example/brute-force",
		Findings:   []*logwardenpb.Finding{{Detector: "rules", RuleId: "brute", Reason: "12 failed logins" + evil}},
		Evidence:   []*logwardenpb.LogEvent{{Raw: "sshd: Failed password for alice" + evil}, {Raw: "sshd: Failed password again"}}}
	return notify.Notification{GroupKey: "fingerprint=rules/brute/alice", Alert: a, Count: 12, New: 12, FirstSeen: at, LastSeen: at.Add(time.Minute)}
}

func generic(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Going through slack-go's types loses nothing: the webhook payload and what the bot
// sends hold exactly the text, blocks and attachments render.Slack made.
func TestSlackGoCarriesTheRenderedMessage(t *testing.T) {
	n := rich()
	want := generic(t, render.Slack(n))
	payload, err := WebhookPayload(n)
	if err != nil {
		t.Fatal(err)
	}
	got := generic(t, payload)
	for _, k := range []string{"text", "blocks", "attachments"} {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("webhook %s differs:\n got %v\nwant %v", k, got[k], want[k])
		}
	}

	s := slacktest.New()
	defer s.Close()
	if _, err := NewSlackWebhook(s.WebhookURL(), http.DefaultClient).Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	b := NewSlackBot("xoxb-1", s.APIURL(), "#alerts", nil, http.DefaultClient)
	if _, err := b.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		var sent map[string]any
		if err := json.Unmarshal(r.Body, &sent); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for _, k := range []string{"text", "blocks", "attachments"} {
			if !reflect.DeepEqual(sent[k], want[k]) {
				t.Errorf("request %d (%s) %s differs:\n got %v\nwant %v", i, r.Path, k, sent[k], want[k])
			}
		}
		if strings.Contains(string(r.Body), "<!channel>") || strings.Contains(string(r.Body), "<@U123>") {
			t.Errorf("request %d carries a live mention: %s", i, r.Body)
		}
	}
	if reqs[1].Auth != "Bearer xoxb-1" {
		t.Errorf("bot token %q", reqs[1].Auth)
	}
}

// Slack's error code reaches the error (and so the dead letter's reason); the webhook
// URL never does.
func TestWebhookErrorNamesSlacksCode(t *testing.T) {
	s := slacktest.New()
	defer s.Close()
	s.Script(slacktest.NoService)
	hook := s.WebhookURL() + "/T000/B000/secret-part"
	retry, err := NewSlackWebhook(hook, http.DefaultClient).Notify(context.Background(), rich())
	if retry || err == nil || !strings.Contains(err.Error(), "no_service") {
		t.Fatalf("retry=%v err=%v, want a permanent error naming no_service", retry, err)
	}
	s.Close() // now a transport error
	_, err = NewSlackWebhook(hook, http.DefaultClient).Notify(context.Background(), rich())
	if err == nil || strings.Contains(err.Error(), "secret-part") {
		t.Fatalf("transport error %v: want one without the URL", err)
	}
}
