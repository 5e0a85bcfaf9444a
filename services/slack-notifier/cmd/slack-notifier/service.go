package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/deliver"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/service"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/sink"
)

const serviceName = "slack-notifier"

func loadConfig(args []string, getenv func(string) string, stderr io.Writer, name string) (*Config, error) {
	cfg := DefaultConfig()
	rest, err := config.Load(&cfg, config.Options{Name: name, Args: args, Getenv: getenv, EnvFile: ".env", Usage: stderr})
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", rest)
	}
	return &cfg, nil
}

// newSink picks the destination: bot token, Slack webhook, generic webhook, Teams, else
// stdout.
func newSink(cfg *Config, stdout io.Writer) deliver.Sink {
	client := &http.Client{Timeout: cfg.Slack.Timeout}
	switch {
	case cfg.Slack.BotToken != "":
		return sink.NewSlackBot(cfg.Slack.BotToken, cfg.Slack.APIURL, cfg.Slack.Channel, cfg.Slack.Routes, client)
	case cfg.Slack.WebhookURL != "":
		return sink.NewSlackWebhook(cfg.Slack.WebhookURL, client)
	case cfg.Webhook.URL != "":
		return sink.NewWebhook(cfg.Webhook.URL, client)
	case cfg.Teams.WebhookURL != "":
		return sink.NewTeams(cfg.Teams.WebhookURL, client)
	}
	return sink.NewStdout(stdout)
}

// runService is `slack-notifier [run]`: alerts → the configured destination until ctx
// ends (SIGTERM).
func runService(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr, serviceName+" run")
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer func() { _ = log.Sync() }()
	return service.Run(ctx, cfg.Options(newSink(cfg, stdout)), log)
}

// exampleRef is the ref `render --buttons` shows (a real message gets a random one).
const exampleRef = "0123456789abcdef01234567"

// runRender is `slack-notifier render [--buttons]`: one protojson Alert on stdin, the
// exact Slack webhook payload on stdout; with --buttons, the bot's message with its
// buttons (slack.app_token set), whose values are the message's ref.
const renderUsage = `usage: slack-notifier render [--buttons] < alert.json

Reads one Alert as protojson on stdin and prints the exact Slack webhook payload.
  --buttons   the bot's message with its Acknowledge / Silence / Not an issue buttons
`

func runRender(args []string, stdin io.Reader, stdout io.Writer) error {
	buttons := false
	for _, a := range args {
		switch a {
		case "--buttons", "-buttons":
			buttons = true
		case "-h", "--help", "-help":
			fmt.Fprint(stdout, renderUsage)
			return config.ErrHelp
		default:
			return fmt.Errorf("render: unknown argument %q (--buttons)", a)
		}
	}
	b, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	a := &logwardenpb.Alert{}
	if err := protojson.Unmarshal(b, a); err != nil {
		return fmt.Errorf("decode Alert (protojson): %w", err)
	}
	n := notify.Notification{GroupKey: DefaultConfig().Group.Key(a), Alert: a, Count: max(a.GetCount(), 1),
		FirstSeen: a.GetFirstSeen().AsTime(), LastSeen: a.GetLastSeen().AsTime(), New: 1}
	if buttons {
		n.Ref, n.Actions = exampleRef, &notify.Actions{}
	}
	payload, err := sink.WebhookPayload(n) // exactly what the Slack webhook sink posts (the bot sends the same blocks)
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(payload, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// runTest is `slack-notifier test`: one test alert to the configured destination.
func runTest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr, serviceName+" test")
	if err != nil {
		return err
	}
	s := newSink(cfg, stdout)
	now := time.Now()
	a := &logwardenpb.Alert{Id: "test-" + now.UTC().Format("20060102T150405"), Fingerprint: "logwarden-test",
		Severity: logwardenpb.Severity_SEVERITY_INFO, Title: "logwarden test alert", Entity: "logwarden",
		Summary: "If you can read this, slack-notifier reaches its destination.", Count: 1,
		FirstSeen: timestamppb.New(now), LastSeen: timestamppb.New(now),
		Evidence: []*logwardenpb.LogEvent{{Raw: "test line <!channel> must show as text"}}}
	retry, err := s.Notify(ctx, notify.Notification{GroupKey: "test", Alert: a, Count: 1, New: 1, FirstSeen: now, LastSeen: now})
	if err != nil {
		return fmt.Errorf("%s answered: %w (transient: %v)", s.Name(), err, retry)
	}
	fmt.Fprintf(stdout, "%s accepted the test alert\n", s.Name())
	return nil
}
