package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/offline"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/state"
)

// newEngine builds the offline engine, from cfg.State when set.
func newEngine(cfg *offlineConfig) (*engine.Engine, error) {
	eng, err := engine.New(cfg.Engine, nil)
	if err != nil || cfg.State == "" {
		return eng, err
	}
	st, err := state.ReadFile(cfg.State)
	if err != nil {
		return nil, err
	}
	if err := eng.Restore(st); err != nil {
		return nil, fmt.Errorf("state %s: %w", cfg.State, err)
	}
	return eng, nil
}

// runLearn is `anomaly-classifier learn --in known-good.log --state FILE`: the lines
// (known to be normal) run through the engine, every template they show becomes the
// baseline, and the engine's state is written to FILE (starting from FILE when it
// exists, so several files can be learnt one after the other).
func runLearn(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadOffline("learn", args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.State == "" {
		return errors.New("learn: --state FILE is required (where the learnt state is written)")
	}
	out := cfg.State
	if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		cfg.State = "" // nothing to start from
	}
	eng, err := newEngine(cfg)
	if err != nil {
		return err
	}
	in, closeIn, err := openInput(cfg.In, stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	n, err := offline.Learn(ctx, eng, in)
	if err != nil {
		return err
	}
	eng.Learnt()
	size, err := state.WriteFile(out, eng.Snapshot(timestamppb.New(time.Now())))
	if err != nil {
		return err
	}
	sz := eng.Sizes()
	fmt.Fprintf(stdout, "learnt %d lines: %d templates, %d users, %d executables; state %s (%d bytes)\n",
		n, sz.Templates, sz.Users, sz.Executables, out, size)
	return nil
}
