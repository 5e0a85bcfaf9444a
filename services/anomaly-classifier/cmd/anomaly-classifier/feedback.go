package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/feedback"
)

const feedbackUsage = `usage: anomaly-classifier feedback <list|revoke> [flags]

  list [--all]
        the patterns people marked "not an issue" that are in force: id, scope, who,
        when, until when, reason (--all: the expired and revoked ones too)
  revoke ID... [-b WHO] [-r REASON]
        withdraw them: every classifier replica alerts on the pattern again

Kafka is reached as the service reaches it: KAFKA_* and FEEDBACK_TOPIC from the
environment, .env or --config FILE.
`

// feedbackConfig is what the feedback commands read of the service's configuration.
type feedbackConfig struct {
	Kafka         kafkax.Config `mapstructure:"kafka"`
	FeedbackTopic string        `mapstructure:"feedback_topic" desc:"topic of people's \"not an issue\" records"`
}

func (c *feedbackConfig) Validate() error {
	if c.FeedbackTopic == "" {
		return fmt.Errorf("feedback_topic (%s): required", config.EnvName("feedback_topic"))
	}
	return c.Kafka.Validate()
}

// runFeedback is `anomaly-classifier feedback list|revoke`: the audit trail of "not an
// issue" and the way back.
func runFeedback(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, feedbackUsage)
		return errors.New("feedback: want list or revoke")
	}
	verb, args := args[0], args[1:]
	fs := pflag.NewFlagSet("anomaly-classifier feedback "+verb, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", "", "YAML configuration file")
	all := fs.Bool("all", false, "list expired and revoked feedback too")
	by := fs.StringP("by", "b", getenv("USER"), "who revokes")
	reason := fs.StringP("reason", "r", "", "why")
	if err := fs.Parse(args); err != nil {
		fmt.Fprint(stderr, feedbackUsage)
		if errors.Is(err, pflag.ErrHelp) {
			return config.ErrHelp
		}
		return fmt.Errorf("feedback %s: %w", verb, err)
	}
	if verb != "list" && verb != "revoke" {
		fmt.Fprint(stderr, feedbackUsage)
		return fmt.Errorf("feedback: unknown command %q (list, revoke)", verb)
	}
	cfg := feedbackConfig{Kafka: kafkax.DefaultConfig(), FeedbackTopic: DefaultConfig().FeedbackTopic}
	var cargs []string
	if *configFile != "" {
		cargs = []string{"--config", *configFile}
	}
	if _, err := config.Load(&cfg, config.Options{Name: "anomaly-classifier feedback", Args: cargs, Getenv: getenv}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	admin, err := kafkax.NewAdmin(cfg.Kafka)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := admin.EnsureTopics(ctx, feedback.TopicSpec(cfg.FeedbackTopic)); err != nil {
		return err
	}
	set := feedback.NewSet(nil)
	if err := loadFeedback(ctx, admin, cfg.FeedbackTopic, set); err != nil {
		return err
	}
	now := time.Now()
	if verb == "list" {
		return printFeedback(stdout, set.List(), now, *all)
	}
	if len(fs.Args()) == 0 {
		return errors.New("feedback revoke: name the feedback ids (feedback list shows them)")
	}
	if *by == "" {
		*by = "anomaly-classifier feedback"
	}
	var msgs []kafkax.Message
	for _, id := range fs.Args() {
		a, ok := set.Get(id)
		if !ok {
			return fmt.Errorf("feedback revoke: no feedback %q", id)
		}
		if a.Revoked {
			return fmt.Errorf("feedback revoke: %s was revoked already, by %s", id, a.RevokedBy)
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		r := &logwardenpb.Feedback{Id: hex.EncodeToString(b[:]), Kind: logwardenpb.FeedbackKind_FEEDBACK_KIND_REVOKED, Revokes: id,
			Detector: a.Detector, RuleId: a.RuleID, Entity: a.Entity, AlertId: a.AlertID, CreatedBy: *by, CreatedAt: timestamppb.New(now), Reason: *reason}
		m, err := kafkax.NewProtoMessage(cfg.FeedbackTopic, a.RuleID+"/"+a.Entity, r.GetId(), r)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	w, err := kafkax.NewWriter(cfg.Kafka, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Write(ctx, msgs...); err != nil {
		return fmt.Errorf("feedback revoke: %w", err)
	}
	for _, id := range fs.Args() {
		fmt.Fprintf(stdout, "revoked %s\n", id)
	}
	return nil
}

// loadFeedback reads the topic to its end into set.
func loadFeedback(ctx context.Context, admin *kafkax.Admin, topic string, set *feedback.Set) error {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	loaded := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- admin.Follow(lctx, topic, set.Apply, func() { close(loaded) }) }()
	select {
	case <-loaded:
		stop()
		<-errc
		return nil
	case err := <-errc:
		if err == nil {
			err = ctx.Err()
		}
		return fmt.Errorf("read %s: %w", topic, err)
	}
}

// printFeedback writes the acceptances as a table, the newest first.
func printFeedback(w io.Writer, list []feedback.Acceptance, now time.Time, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSCOPE\tBY\tCREATED\tUNTIL\tREASON")
	for _, a := range list {
		state := a.State(now)
		if state != "active" && !all {
			continue
		}
		if a.Revoked {
			state += " by " + cell(a.RevokedBy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(a.ID), state, cell(a.Scope.String()), cell(a.By),
			a.At.UTC().Format(time.RFC3339), a.Expires.UTC().Format(time.RFC3339), cell(a.Reason))
	}
	return tw.Flush()
}

// cell keeps a table cell on one line, without control or format characters, and short.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return ' '
		case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}
