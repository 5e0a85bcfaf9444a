package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

// loadConfig reads the service configuration (flags > env > .env > YAML > defaults).
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	if getenv != nil && getenv("VERDICTS_ENABLED") != "" {
		// Read no longer, it would be ignored silently: a deployment with verdicts off would
		// start writing every verdict again.
		return nil, fmt.Errorf("verdicts_enabled (VERDICTS_ENABLED): replaced by verdicts (VERDICTS): all, anomalous or off")
	}
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

// runService is `anomaly-classifier [run]`: it parses the configuration and runs the
// service (internal/service.Run) until ctx ends (SIGTERM), reloading rules on SIGHUP.
func runService(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, _, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	obs.ServiceGC(getenv)
	log, err := obs.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer func() { _ = log.Sync() }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return service.Run(ctx, cfg.Service(hup), log)
}
