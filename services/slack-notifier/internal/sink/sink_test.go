package sink

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

type notifier interface {
	Notify(ctx context.Context, n notify.Notification) (bool, error)
}

func note(seq int) notify.Notification {
	a := &logwardenpb.Alert{Id: "a", Fingerprint: "fp", Severity: logwardenpb.Severity_SEVERITY_CRITICAL, Title: "t <!channel>", Entity: "alice"}
	return notify.Notification{GroupKey: "fingerprint=fp", Alert: a, Count: 1, Seq: seq}
}

// The contract every HTTP sink keeps: success is nil; 429 is a retry with the server's
// delay; 5xx retries; permanent answers do not.
func TestContract(t *testing.T) {
	type outcome struct {
		retry bool
		err   bool
		after time.Duration
	}
	webhookCases := []struct {
		name   string
		answer slacktest.Answer
		want   outcome
	}{
		{"ok", slacktest.OK, outcome{}},
		{"invalid_payload", slacktest.InvalidPayload, outcome{err: true}},
		{"no_service", slacktest.NoService, outcome{err: true}},
		{"channel_not_found", slacktest.ChannelNotFound, outcome{err: true}},
		{"429", slacktest.RateLimited(7), outcome{retry: true, err: true, after: 7 * time.Second}},
		{"500", slacktest.ServerError, outcome{retry: true, err: true}},
		{"410", slacktest.Answer{Status: 410, Body: "gone"}, outcome{err: true}},
	}
	apiCases := []struct {
		name   string
		answer slacktest.Answer
		want   outcome
	}{
		{"ok", slacktest.Answer{}, outcome{}},
		{"channel_not_found", slacktest.APIError("channel_not_found"), outcome{err: true}},
		{"invalid_auth", slacktest.APIError("invalid_auth"), outcome{err: true}},
		{"ratelimited", slacktest.RateLimited(3), outcome{retry: true, err: true, after: 3 * time.Second}},
		{"500", slacktest.ServerError, outcome{retry: true, err: true}},
		{"unknown error retries", slacktest.APIError("fatal_error"), outcome{retry: true, err: true}},
	}
	sinks := map[string]func(s *slacktest.Server) notifier{
		"slack-webhook": func(s *slacktest.Server) notifier { return NewSlackWebhook(s.WebhookURL(), http.DefaultClient) },
		"webhook":       func(s *slacktest.Server) notifier { return NewWebhook(s.WebhookURL(), http.DefaultClient) },
		"teams":         func(s *slacktest.Server) notifier { return NewTeams(s.WebhookURL(), http.DefaultClient) },
	}
	check := func(t *testing.T, retry bool, err error, want outcome) {
		t.Helper()
		if (err != nil) != want.err || retry != want.retry {
			t.Fatalf("retry=%v err=%v, want %+v", retry, err, want)
		}
		var rl *RateLimitedError
		if want.after > 0 && (!errors.As(err, &rl) || rl.RetryAfter() != want.after) {
			t.Fatalf("want RateLimitedError after %v, got %v", want.after, err)
		}
	}
	for name, mk := range sinks {
		for _, c := range webhookCases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				s := slacktest.New()
				defer s.Close()
				s.Script(c.answer)
				retry, err := mk(s).Notify(context.Background(), note(0))
				check(t, retry, err, c.want)
				if len(s.Requests()) != 1 || !json.Valid(s.Requests()[0].Body) {
					t.Fatalf("requests %v", s.Requests())
				}
			})
		}
	}
	for _, c := range apiCases {
		t.Run("bot/"+c.name, func(t *testing.T) {
			s := slacktest.New()
			defer s.Close()
			if c.answer.Status != 0 {
				s.Script(c.answer)
			}
			b := NewSlackBot("xoxb-secret", s.APIURL(), "#alerts", nil, http.DefaultClient)
			retry, err := b.Notify(context.Background(), note(0))
			check(t, retry, err, c.want)
			if err != nil && strings.Contains(err.Error(), "xoxb-secret") {
				t.Fatal("token in error")
			}
		})
	}
}

func TestBotThreadsFollowUps(t *testing.T) {
	s := slacktest.New()
	defer s.Close()
	b := NewSlackBot("xoxb-1", s.APIURL(), "#alerts", map[string]string{"CRITICAL": "#sec-oncall"}, http.DefaultClient)
	for seq := range 3 {
		if _, err := b.Notify(context.Background(), note(seq)); err != nil {
			t.Fatal(err)
		}
	}
	reqs := s.Requests()
	var paths []string
	for _, r := range reqs {
		var m struct{ Channel, ThreadTS, TS string }
		m.ThreadTS, m.TS = "", ""
		var raw map[string]any
		_ = json.Unmarshal(r.Body, &raw)
		m.Channel, _ = raw["channel"].(string)
		m.ThreadTS, _ = raw["thread_ts"].(string)
		m.TS, _ = raw["ts"].(string)
		if r.Auth != "Bearer xoxb-1" {
			t.Errorf("auth %q", r.Auth)
		}
		paths = append(paths, r.Path[strings.LastIndex(r.Path, "/")+1:]+" "+m.Channel+" "+m.ThreadTS+m.TS)
	}
	want := []string{
		"chat.postMessage #sec-oncall ",
		"chat.postMessage #sec-oncall 1700000000.000001",
		"chat.update #sec-oncall 1700000000.000001",
		"chat.postMessage #sec-oncall 1700000000.000001",
		"chat.update #sec-oncall 1700000000.000001",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func TestStdout(t *testing.T) {
	var b strings.Builder
	if _, err := NewStdout(&b).Notify(context.Background(), note(0)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "CRITICAL") || !strings.Contains(b.String(), "alice") {
		t.Fatalf("stdout: %q", b.String())
	}
}
