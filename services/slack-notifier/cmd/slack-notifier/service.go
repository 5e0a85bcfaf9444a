package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/deliver"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/sink"
)

const serviceName = "slack-notifier"

func loadConfig(args []string, getenv func(string) string, stderr io.Writer, name string) (*Config, error) {
	cfg := DefaultConfig()
	if _, err := config.Load(&cfg, config.Options{Name: name, Args: args, Getenv: getenv, EnvFile: ".env", Usage: stderr}); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// newSink picks the destination: bot token, Slack webhook, generic webhook, else stdout.
func newSink(cfg *Config, stdout io.Writer) (deliver.Sink, error) {
	client := &http.Client{Timeout: cfg.Slack.Timeout}
	switch {
	case cfg.Slack.BotToken != "":
		return sink.NewBot(cfg.Slack.BotToken, cfg.Slack.APIURL, cfg.Slack.Channel, cfg.Slack.Routes, client), nil
	case cfg.Slack.WebhookURL != "":
		return &sink.Webhook{URL: cfg.Slack.WebhookURL, Client: client}, nil
	case cfg.Webhook.URL != "":
		return &sink.JSON{URL: cfg.Webhook.URL, Client: client}, nil
	case cfg.Teams.WebhookURL != "":
		return &sink.Teams{URL: cfg.Teams.WebhookURL, Client: client}, nil
	}
	return &sink.Stdout{W: stdout}, nil
}

type token struct {
	m   kafkax.Message
	ack kafkax.Ack
}

func runService(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr, serviceName)
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	s, err := newSink(cfg, stdout)
	if err != nil {
		return err
	}
	log.Info("starting", zap.String("sink", s.Name()), zap.String("topic", cfg.AlertsTopic), zap.String("group", cfg.GroupID),
		zap.Strings("group_by", cfg.Group.By), zap.Duration("group_wait", cfg.Group.Wait))

	reg := obs.NewRegistry()
	km := kafkax.NewMetrics(reg)
	dm := deliver.NewMetrics(reg)
	admin, err := kafkax.NewAdmin(cfg.Kafka)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := admin.EnsureTopics(ctx,
		kafkax.TopicSpec{Name: cfg.AlertsTopic, Partitions: cfg.TopicPartitions, ReplicationFactor: 1},
		kafkax.TopicSpec{Name: kafkax.DLQTopic(cfg.AlertsTopic), Partitions: cfg.TopicPartitions, ReplicationFactor: 1},
	); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	w, err := kafkax.NewWriter(cfg.Kafka, kafkax.DefaultWriterConfig(), km)
	if err != nil {
		return err
	}
	defer w.Close()
	srv, err := obs.NewServer(cfg.HTTP.Addr, reg, admin.Ping, log.Named("http"))
	if err != nil {
		return err
	}
	log.Info("http listening", zap.String("addr", srv.Addr()))

	g, gctx := errgroup.WithContext(ctx)
	stopHTTP, cancelHTTP := context.WithCancel(context.Background())
	defer cancelHTTP()
	g.Go(func() error { return srv.Run(stopHTTP) })
	g.Go(func() error {
		defer cancelHTTP()
		// A consumer that fails (the broker gone for longer than the client retries) is
		// replaced, with a fresh grouping: unacknowledged alerts come back from Kafka.
		for {
			err := consume(gctx, cfg, w, s, log, km, dm)
			if gctx.Err() != nil {
				return nil
			}
			log.Error("consumer failed; restarting", zap.Duration("in", restartDelay), zap.Error(err))
			select {
			case <-gctx.Done():
				return nil
			case <-time.After(restartDelay):
			}
		}
	})
	err = g.Wait()
	log.Info("stopped")
	return err
}

// restartDelay is the pause before a failed consumer is replaced.
const restartDelay = 2 * time.Second

// consume runs one consumer-group member and its delivery pipeline until ctx ends or
// the consumer fails.
func consume(ctx context.Context, cfg *Config, w *kafkax.Writer, s deliver.Sink, log *zap.Logger, km *kafkax.Metrics, dm *deliver.Metrics) error {
	cons, err := kafkax.NewConsumer(cfg.Kafka, cfg.consumerConfig(), w, log.Named("consumer"), km)
	if err != nil {
		return err
	}
	dlq := kafkax.DLQTopic(cfg.AlertsTopic)
	p := deliver.New(deliver.Options{
		Group: cfg.Group, RatePerSecond: cfg.Slack.RatePerSecond, BackoffMin: cfg.Retry.BackoffMin, BackoffMax: cfg.Retry.BackoffMax,
		Log: log.Named("deliver"), Metrics: dm,
		Done: func(ctx context.Context, b group.Batch, derr error) {
			for _, t := range b.Tokens {
				tk := t.(token)
				var err error
				if derr == nil {
					err = tk.ack(ctx)
				} else {
					d := kafkax.DeadLetter(tk.m, serviceName, derr)
					d.Topic = dlq
					err = tk.ack(ctx, d)
				}
				if err != nil {
					log.Warn("ack", zap.String("msg", tk.m.String()), zap.Error(err))
				}
			}
			if derr != nil {
				dm.Posts.WithLabelValues("dead_letter").Inc()
			}
		},
	}, s)

	g, gctx := errgroup.WithContext(ctx)
	pctx, stopPipeline := context.WithCancel(context.Background())
	defer stopPipeline()
	g.Go(func() error { return p.Run(pctx) })
	g.Go(func() error {
		// The pipeline outlives the handler calls: it stops once RunAsync returned.
		defer stopPipeline()
		return cons.RunAsync(gctx, func(ctx context.Context, m kafkax.Message, ack kafkax.Ack) error {
			a := &logwardenpb.Alert{}
			if err := proto.Unmarshal(m.Value, a); err != nil {
				d := kafkax.DeadLetter(m, serviceName, fmt.Errorf("decode Alert: %w", err))
				d.Topic = dlq
				log.Error("undecodable alert; dead-lettered", zap.String("msg", m.String()), zap.Error(err))
				return ack(ctx, d)
			}
			return p.Add(ctx, a, token{m, ack}, func() {
				if err := ack(ctx); err != nil {
					log.Warn("ack duplicate", zap.Error(err))
				}
			})
		})
	})
	return g.Wait()
}

func runRender(stdin io.Reader, stdout io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	a := &logwardenpb.Alert{}
	if err := protojson.Unmarshal(b, a); err != nil {
		return fmt.Errorf("decode Alert (protojson): %w", err)
	}
	n := notify.Notification{GroupKey: group.New(group.DefaultConfig()).Key(a), Alert: a, Count: max(a.GetCount(), 1),
		FirstSeen: a.GetFirstSeen().AsTime(), LastSeen: a.GetLastSeen().AsTime(), New: 1}
	payload, err := sink.WebhookPayload(n) // exactly what the webhook sink posts
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

func runTest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr, serviceName+" test")
	if err != nil {
		return err
	}
	s, err := newSink(cfg, stdout)
	if err != nil {
		return err
	}
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
