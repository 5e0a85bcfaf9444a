package main

import (
	"context"
	"fmt"
	"io"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/service"
)

// loadConfig reads the configuration of `log-producer [run]`.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	cfg := defaultConfig()
	rest, err := config.Load(&cfg, config.Options{Name: "log-producer", Args: args, Getenv: getenv, Usage: stderr})
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("unexpected argument %q (commands: run, generate)", rest[0])
	}
	return &cfg, nil
}

// runService is `log-producer [run]`: it parses the configuration and runs the service
// (internal/service.Run) until ctx ends (SIGTERM) or, with only the stdin source, until
// stdin is read and acknowledged.
func runService(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, _, stderr io.Writer) error {
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
	return service.Run(ctx, cfg.options(stdin), log)
}
