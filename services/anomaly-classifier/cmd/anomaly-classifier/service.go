package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
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

// serviceGCPercent is the service's garbage-collection target when GOGC is not set: the
// heap may grow to 4× the live data between collections instead of Go's 2×, for about a
// tenth less CPU per event (docs/architecture.md, Measured). GOMEMLIMIT (set from the
// container's memory limit in k8s) still bounds the heap.
const serviceGCPercent = 300

// serviceGC sets serviceGCPercent unless GOGC is in the environment (the runtime read it).
func serviceGC(getenv func(string) string) {
	if getenv == nil || getenv("GOGC") == "" {
		debug.SetGCPercent(serviceGCPercent)
	}
}

// runService is `anomaly-classifier [run]`: it parses the configuration and runs the
// service (internal/service.Run) until ctx ends (SIGTERM), reloading rules on SIGHUP.
func runService(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, _, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	serviceGC(getenv)
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
