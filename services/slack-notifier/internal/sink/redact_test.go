package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// echoServer answers every request with status and a body that repeats what a careless
// or hostile server could echo: the request URL (raw, absolute, escaped, JSON-escaped),
// the Authorization header and the form token, then 300 multibyte runes.
func echoServer(t *testing.T, status int, api bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		full := "http://" + r.Host + r.URL.RequestURI()
		echo := fmt.Sprintf("no_service for %s (%s) %s %s path=%s auth=%q token=%s %s", full, r.URL.RequestURI(), url.QueryEscape(full),
			strings.ReplaceAll(full, "/", `\/`), strings.TrimPrefix(r.URL.Path, "/"), r.Header.Get("Authorization"), form.Get("token"),
			strings.Repeat("é", 300))
		if api && status == 200 {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, echo)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, echo)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const (
	hookSecret = "SECRETtoken1234567890ab"
	botToken   = "xoxb-1234-5678-SECRETbot"
)

// A server whose error body echoes the URL or the token does not put the secret into
// the error (and so neither into the log nor into the dead letter), and the error text
// is valid UTF-8 of bounded length.
func TestErrorsNeverCarrySecrets(t *testing.T) {
	for _, status := range []int{200, 400, 404, 500} {
		for name, mk := range map[string]func(srv string) notifier{
			"slack-webhook": func(srv string) notifier {
				return NewSlackWebhook(srv+"/services/T000/B000/"+hookSecret, http.DefaultClient)
			},
			"webhook": func(srv string) notifier {
				return NewWebhook(srv+"/hook/"+hookSecret+"?key="+hookSecret, http.DefaultClient)
			},
			"teams": func(srv string) notifier { return NewTeams(srv+"/webhookb2/"+hookSecret, http.DefaultClient) },
			"slack-bot": func(srv string) notifier {
				return NewSlackBot(botToken, srv+"/api/", "#alerts", nil, http.DefaultClient)
			},
		} {
			api := name == "slack-bot"
			if status == 200 && !api {
				continue
			}
			t.Run(fmt.Sprint(name, "/", status), func(t *testing.T) {
				srv := echoServer(t, status, api)
				_, err := mk(srv.URL).Notify(context.Background(), note(0))
				if err == nil {
					t.Fatal("no error")
				}
				msg := err.Error()
				for _, secret := range []string{hookSecret, botToken, "SECRET"} {
					if strings.Contains(msg, secret) {
						t.Fatalf("error carries %q: %s", secret, msg)
					}
				}
				if !utf8.ValidString(msg) || utf8.RuneCountInString(msg) > 260 {
					t.Fatalf("error text invalid UTF-8 or unbounded (%d runes): %q", utf8.RuneCountInString(msg), msg)
				}
				if !strings.Contains(msg, "no_service") {
					t.Errorf("error lost the server's code: %s", msg)
				}
			})
		}
	}
}

// A transport error (connection refused, bad URL) carries no part of the URL either.
func TestTransportErrorsNeverCarrySecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	for name, n := range map[string]notifier{
		"slack-webhook": NewSlackWebhook(base+"/services/T000/B000/"+hookSecret, http.DefaultClient),
		"webhook":       NewWebhook(base+"/"+hookSecret, http.DefaultClient),
		"bad url":       NewWebhook("http://[::1"+hookSecret, http.DefaultClient),
		"slack-bot":     NewSlackBot(botToken, base+"/api/", "#a", nil, http.DefaultClient),
	} {
		retry, err := n.Notify(context.Background(), note(0))
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: retry=%v err=%v", name, retry, err)
		}
	}
}

func TestCleanNeverCutsARune(t *testing.T) {
	s := newSecrets("https://hooks.example/services/T/B/" + hookSecret)
	for _, in := range []string{strings.Repeat("é", 300), strings.Repeat("a", 199) + "日本", strings.Repeat("😀", 250)} {
		out := s.clean(in)
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > 200 {
			t.Errorf("clean(%d bytes) = %d runes, valid %v", len(in), utf8.RuneCountInString(out), utf8.ValidString(out))
		}
	}
	if got := s.clean("see hooks.example/services/T/B/" + hookSecret + " and " + url.QueryEscape(hookSecret)); strings.Contains(got, hookSecret) {
		t.Errorf("secret kept: %s", got)
	}
}
