package main

import (
	"context"
	"fmt"
	"io"

	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/service"
)

// run is the whole program: `generate …` writes a dataset, anything else (or `run …`)
// parses the configuration and runs the service.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "generate" {
		return generate(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer func() { _ = log.Sync() }()
	return service.Run(ctx, cfg.options(stdin), log)
}
