package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

// loadConfig reads the service configuration (flags > env > .env > YAML > defaults).
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	cfg := DefaultConfig()
	rest, err := config.Load(&cfg, config.Options{Name: "anomaly-classifier run", Args: args, Getenv: getenv, Usage: stderr})
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("run: unexpected arguments %q", rest)
	}
	return &cfg, nil
}

// runService is `anomaly-classifier [run]`: logs.raw → verdicts and alerts
// until ctx ends (SIGTERM), reloading rules on SIGHUP.
func runService(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer func() { _ = log.Sync() }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serve(ctx, cfg, log, hup)
}

// serve wires the engine, the LLM stage, the ops server and the consumer.
func serve(ctx context.Context, cfg *Config, log *zap.Logger, hup <-chan os.Signal) error {
	eng, err := engine.New(cfg.Engine(), log.Named("engine"))
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	reg := obs.NewRegistry()
	stage, err := llm.New(cfg.OpenAI, log.Named("llm"), reg, nil)
	if err != nil {
		return fmt.Errorf("llm stage: %w", err)
	}
	defer stage.Close()
	km := kafkax.NewMetrics(reg)
	admin, err := kafkax.NewAdmin(cfg.Kafka)
	if err != nil {
		return err
	}
	defer admin.Close()
	h := service.NewHandler(eng, service.HandlerOptions{
		Topics: service.Topics{Verdicts: cfg.VerdictsTopic, VerdictsEnabled: cfg.VerdictsEnabled, Alerts: cfg.AlertsTopic},
		Stage:  stage, Metrics: service.NewMetrics(reg), Log: log, DedupEvents: cfg.DedupEvents, ReplayEvents: cfg.ReplayEvents,
		Replay: admin.ReadPartitionRange,
	})

	srv, err := obs.NewServer(cfg.HTTP.Addr, reg, admin.Ping, log.Named("http"))
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	verdicts := cfg.VerdictsTopic
	if !cfg.VerdictsEnabled {
		verdicts = "off"
	}
	rules := cfg.Rules
	if rules == "" {
		rules = "built-in"
	}
	log.Info(fmt.Sprintf("anomaly-classifier: %s → verdicts %s, alerts %s; group %s; brokers %v; rules %s; %s; http %s",
		cfg.InputTopic, verdicts, cfg.AlertsTopic, cfg.GroupID, cfg.Kafka.Brokers, rules, stage.Describe(), srv.Addr()))

	o := service.Options{
		Kafka: cfg.Kafka, Admin: admin, Consumer: cfg.ConsumerConfig(), Writer: cfg.Writer,
		Topics:     service.Topics{Verdicts: cfg.VerdictsTopic, VerdictsEnabled: cfg.VerdictsEnabled, Alerts: cfg.AlertsTopic},
		Partitions: cfg.TopicPartitions, ReplicationFactor: cfg.TopicReplicationFactor,
		RulesFile: cfg.Rules, RulesPoll: cfg.RulesPoll, Reload: hup,
	}
	if stage.Enabled() {
		o.Stage = stage
	}
	g, gctx := errgroup.WithContext(ctx)
	stopHTTP, cancelHTTP := context.WithCancel(gctx)
	g.Go(func() error { return srv.Run(stopHTTP) })
	g.Go(func() error {
		defer cancelHTTP()
		return service.Run(gctx, o, h, km, log)
	})
	return g.Wait()
}
