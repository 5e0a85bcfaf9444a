package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/service"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/silence"
)

const silenceUsage = `usage: slack-notifier silence <add|list|expire> [flags]

  add MATCHER... -c COMMENT [-d 1h | --end TIME] [--start TIME] [-a AUTHOR]
        mute the alerts every matcher selects; prints the silence id
        matchers: rule, entity, host, severity with = != =~ !~ (regular expressions
        match the whole value), e.g. entity=alice rule=dangerous-command host=~web.*
  list  the silences not yet removed: id, state, matchers, start, end, author, comment
  expire ID...
        end silences now

Kafka is reached as the service reaches it: KAFKA_* and SILENCES_TOPIC from the
environment, .env or --config FILE.
`

// silenceConfig is what the silence commands read of the service's configuration.
type silenceConfig struct {
	Kafka         kafkax.Config `mapstructure:"kafka"`
	SilencesTopic string        `mapstructure:"silences_topic" desc:"compacted topic of the silences"`
}

func (c *silenceConfig) Validate() error {
	if c.SilencesTopic == "" {
		return config.KeyError("silences_topic", "required")
	}
	return c.Kafka.Validate()
}

// runSilence is `slack-notifier silence add|list|expire`, in the manner of amtool.
func runSilence(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, silenceUsage)
		return errors.New("silence: want add, list or expire")
	}
	verb, args := args[0], args[1:]
	fs := pflag.NewFlagSet("slack-notifier silence "+verb, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", "", "YAML configuration file")
	author := fs.StringP("author", "a", getenv("USER"), "who makes the silence")
	comment := fs.StringP("comment", "c", "", "why (required)")
	duration := fs.DurationP("duration", "d", time.Hour, "how long it mutes")
	start := fs.String("start", "", "when it starts (RFC 3339; default now)")
	end := fs.String("end", "", "when it ends (RFC 3339; overrides --duration)")
	if err := fs.Parse(args); err != nil {
		fmt.Fprint(stderr, silenceUsage)
		if errors.Is(err, pflag.ErrHelp) {
			return config.ErrHelp
		}
		return fmt.Errorf("silence %s: %w", verb, err)
	}
	cfg := silenceConfig{Kafka: kafkax.DefaultConfig(), SilencesTopic: DefaultConfig().SilencesTopic}
	var cargs []string
	if *configFile != "" {
		cargs = []string{"--config", *configFile}
	}
	if _, err := config.Load(&cfg, config.Options{Name: "slack-notifier silence", Args: cargs, Getenv: getenv, EnvFile: ".env"}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	switch verb {
	case "add":
		if *comment == "" {
			return errors.New("silence add: --comment (-c) is required: say why")
		}
		s := &silence.Silence{ID: silence.NewID(), CreatedBy: *author, Comment: *comment, StartsAt: time.Now().UTC()}
		if *start != "" {
			t, err := time.Parse(time.RFC3339, *start)
			if err != nil {
				return fmt.Errorf("silence add: --start: %w", err)
			}
			s.StartsAt = t.UTC()
		}
		s.EndsAt = s.StartsAt.Add(*duration)
		if *end != "" {
			t, err := time.Parse(time.RFC3339, *end)
			if err != nil {
				return fmt.Errorf("silence add: --end: %w", err)
			}
			s.EndsAt = t.UTC()
		}
		s.UpdatedAt = time.Now().UTC()
		if s.CreatedBy == "" {
			s.CreatedBy = "slack-notifier silence"
		}
		for _, a := range fs.Args() {
			m, err := silence.ParseMatcher(a)
			if err != nil {
				return fmt.Errorf("silence add: %w", err)
			}
			s.Matchers = append(s.Matchers, m)
		}
		if err := s.Validate(); err != nil {
			return fmt.Errorf("silence add: %w", err)
		}
		st, closeStore, err := openSilences(ctx, cfg, false)
		if err != nil {
			return err
		}
		defer closeStore()
		if err := st.Add(ctx, s); err != nil {
			return err
		}
		fmt.Fprintln(stdout, s.ID)
		return nil
	case "list", "query":
		st, closeStore, err := openSilences(ctx, cfg, true)
		if err != nil {
			return err
		}
		defer closeStore()
		return printSilences(stdout, st.List(), time.Now())
	case "expire":
		if len(fs.Args()) == 0 {
			return errors.New("silence expire: name the silence ids")
		}
		st, closeStore, err := openSilences(ctx, cfg, true)
		if err != nil {
			return err
		}
		defer closeStore()
		for _, id := range fs.Args() {
			if err := st.Expire(ctx, id); err != nil {
				return fmt.Errorf("silence expire: %w", err)
			}
			fmt.Fprintf(stdout, "expired %s\n", id)
		}
		return nil
	}
	fmt.Fprint(stderr, silenceUsage)
	return fmt.Errorf("silence: unknown command %q (add, list, expire)", verb)
}

// openSilences makes sure the topic exists and returns a store writing to it, loaded
// with the topic's records when load is set.
func openSilences(ctx context.Context, cfg silenceConfig, load bool) (*silence.Store, func(), error) {
	admin, err := kafkax.NewAdmin(cfg.Kafka)
	if err != nil {
		return nil, nil, err
	}
	if err := admin.EnsureTopics(ctx, service.SilencesTopic(cfg.SilencesTopic)); err != nil {
		admin.Close()
		return nil, nil, err
	}
	w, err := kafkax.NewWriter(cfg.Kafka, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	closeAll := func() { _ = w.Close(); _ = admin.Close() }
	st := silence.NewStore(cfg.SilencesTopic, w, nil)
	if load {
		lctx, stop := context.WithCancel(ctx)
		loaded := make(chan struct{})
		errc := make(chan error, 1)
		go func() { errc <- admin.Follow(lctx, cfg.SilencesTopic, st.Apply, func() { close(loaded) }) }()
		select {
		case <-loaded:
			stop()
			<-errc
		case err := <-errc:
			stop()
			closeAll()
			if err == nil {
				err = ctx.Err()
			}
			return nil, nil, fmt.Errorf("read %s: %w", cfg.SilencesTopic, err)
		}
	}
	return st, closeAll, nil
}

// printSilences writes the silences as a table.
func printSilences(w io.Writer, ss []*silence.Silence, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tMATCHERS\tSTARTS\tENDS\tCREATED BY\tCOMMENT")
	for _, s := range ss {
		state := "active"
		switch {
		case s.Ended(now):
			state = "ended"
		case now.Before(s.StartsAt):
			state = "pending"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, state, oneLine(s.MatchersString()),
			s.StartsAt.UTC().Format(time.RFC3339), s.EndsAt.UTC().Format(time.RFC3339), oneLine(s.CreatedBy), oneLine(s.Comment))
	}
	return tw.Flush()
}

// oneLine keeps a table cell on its line and the terminal harmless (no control, bidi
// or format characters).
func oneLine(s string) string { return render.ClipRunes(render.Sanitize(s), 200) }
