package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
)

var update = flag.Bool("update", false, "rewrite golden files and the doc's config table")

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	_, err := config.Load(&cfg, config.Options{Name: serviceName, Args: args, Getenv: func(k string) string { return env[k] },
		EnvFile: "testdata/absent.env", Usage: &bytes.Buffer{}})
	return &cfg, err
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(*Config) string
		wantErr string
	}{
		{"defaults", nil, func(c *Config) string {
			return fmt.Sprint(c.HTTP.Addr, c.AlertsTopic, c.GroupID, c.Group.By, c.Group.Wait, c.Group.Interval, c.Group.RepeatInterval, c.Slack.RatePerSecond,
				c.Consumer.MaxInFlight, " ", c.Slack.OverflowAfter, c.Retry.MaxRetryAfter, c.Consumer.SessionTimeout, c.Consumer.StartOffset)
		}, ""},
		{"env names", map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/x", "GROUP_BY": "entity,severity",
			"GROUP_WAIT": "0s", "ALERTS_TOPIC": "a2", "SLACK_RATE_PER_SECOND": "5", "HTTP_ADDR": ":9"}, func(c *Config) string {
			return fmt.Sprint(c.Slack.WebhookURL != "", c.Group.By, c.Group.Wait, c.AlertsTopic, c.Slack.RatePerSecond, c.HTTP.Addr)
		}, ""},
		{"routes", map[string]string{"SLACK_ROUTES": "critical=#sec-oncall,high=#sec"}, func(c *Config) string {
			return fmt.Sprint(c.Slack.Routes)
		}, ""},
		{"bad route", map[string]string{"SLACK_ROUTES": "urgent=#x"}, nil, "slack.routes (SLACK_ROUTES): "},
		{"bad group_by", map[string]string{"GROUP_BY": "host"}, nil, "group.by (GROUP_BY): "},
		{"bot token needs a channel", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, nil, "slack.channel (SLACK_CHANNEL): "},
		{"webhook must be http(s), secret not echoed", map[string]string{"SLACK_WEBHOOK_URL": "ftp://secret-value"}, nil, "slack.webhook_url (SLACK_WEBHOOK_URL): "},
		{"Retry-After cap", map[string]string{"RETRY_MAX_RETRY_AFTER": "0s"}, nil, "retry.max_retry_after (RETRY_MAX_RETRY_AFTER): "},
		{"overflow bound", map[string]string{"SLACK_OVERFLOW_AFTER": "-1s"}, nil, "slack.overflow_after (SLACK_OVERFLOW_AFTER): "},
		{"backoff order", map[string]string{"RETRY_BACKOFF_MAX": "1ms"}, nil, "retry.backoff_max (RETRY_BACKOFF_MAX): "},
		{"session vs heartbeat", map[string]string{"CONSUMER_SESSION_TIMEOUT": "1s"}, nil, "consumer.session_timeout (CONSUMER_SESSION_TIMEOUT): "},
		{"start offset", map[string]string{"CONSUMER_START_OFFSET": "middle"}, nil, "consumer.start_offset (CONSUMER_START_OFFSET): "},
	}
	want := map[string]string{
		"defaults":  ":8083alertsslack-notifier[fingerprint] 10s 1m0s 4h0m0s 1 10000 30s 1m0s 10searliest",
		"routes":    "map[critical:#sec-oncall high:#sec]",
		"env names": "true [entity severity] 0sa25:9",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret-value") {
					t.Fatal("secret in error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); got != want[tt.name] {
				t.Fatalf("got %q, want %q", got, want[tt.name])
			}
		})
	}
}

const (
	docFile    = "../../../../docs/slack-notifier.md"
	tableBegin = "<!-- config:begin (generated: go test ./cmd/slack-notifier -run TestConfigDoc -update) -->"
	tableEnd   = "<!-- config:end -->"
)

func configTable() string {
	var b strings.Builder
	b.WriteString("| key | environment | flag | default | description |\n| --- | --- | --- | --- | --- |\n")
	cfg := DefaultConfig()
	for _, k := range config.Describe(&cfg) {
		def := k.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		flag := "`--" + k.Flag + "`"
		if k.Secret {
			flag = "— (or `" + k.FileEnv() + "`)" // secrets have no flag; the variable may name a file
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", k.Name, k.Env, flag, def, strings.ReplaceAll(k.Desc, "|", "\\|"))
	}
	return b.String()
}

// TestConfigDoc fails when docs/slack-notifier.md's table and Config disagree.
func TestConfigDoc(t *testing.T) {
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: markers not found", docFile)
	}
	want := configTable()
	if s[i+len(tableBegin)+1:j] == want {
		return
	}
	if !*update {
		t.Fatalf("%s: config table is stale; run go test ./cmd/slack-notifier -run TestConfigDoc -update", docFile)
	}
	s = s[:i+len(tableBegin)+1] + want + s[j:]
	if err := os.WriteFile(docFile, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRenderCommand(t *testing.T) {
	in, err := os.ReadFile("testdata/alert.json")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"render"}, nil, bytes.NewReader(in), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/render.golden", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/render.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("render output differs from testdata/render.golden:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"render"}, nil, strings.NewReader("{not json"), &out, &errb); err == nil {
		t.Fatal("bad input accepted")
	}
	// --buttons: the bot's message, whose buttons carry only the message's ref.
	out.Reset()
	if err := run(context.Background(), []string{"render", "--buttons"}, nil, bytes.NewReader(in), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/render_buttons.golden", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile("testdata/render_buttons.golden"); err != nil || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("render --buttons differs from testdata/render_buttons.golden (%v):\n%s", err, out.String())
	}
	for _, b := range []string{`"action_id": "lw_ack"`, `"action_id": "lw_silence_1h"`, `"action_id": "lw_silence_24h"`, `"action_id": "lw_not_an_issue"`} {
		if !strings.Contains(out.String(), b) {
			t.Fatalf("render --buttons lacks %s", b)
		}
	}
	// -h prints the command's usage, as every other command does, and reads nothing.
	out.Reset()
	if err := run(context.Background(), []string{"render", "-h"}, nil, strings.NewReader("{not json"), &out, &errb); !errors.Is(err, config.ErrHelp) {
		t.Fatalf("render -h: %v, want config.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "usage: slack-notifier render") {
		t.Fatalf("render -h printed %q", out.String())
	}
}

func TestTestCommand(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, []string{"test"}, func(string) string { return "" }, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stdout accepted") || !strings.Contains(out.String(), "&lt;") && !strings.Contains(out.String(), "<!channel>") {
		t.Fatalf("test output: %q", out.String())
	}
}

// FuzzRenderCommand: any stdin either renders or fails with an error; never a panic, and
// never a live mention in the payload.
func FuzzRenderCommand(f *testing.F) {
	in, err := os.ReadFile("testdata/alert.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(in)
	f.Add([]byte(`{"title":"<!here>","evidence":[{"raw":"<@U1>"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		if run(context.Background(), []string{"render"}, nil, bytes.NewReader(b), &out, &bytes.Buffer{}) != nil {
			return
		}
		s := out.String()
		for _, bad := range []string{"<!", "<@", `\u003c!`, `\u003c@`, `\u003chttp`} {
			if !strings.Contains(s, bad) || bad == `\u003chttp` && strings.Count(s, bad) == strings.Count(s, "|Runbook") {
				continue
			}
			t.Fatalf("live %s in %s", bad, s)
		}
	})
}
