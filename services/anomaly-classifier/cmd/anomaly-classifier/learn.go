package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
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
	p := logparse.New(logparse.Options{})
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		ev := &logwardenpb.LogEvent{Id: fmt.Sprintf("line-%d", n), Source: "offline"}
		p.Parse(sc.Text(), ev)
		eng.Process(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input (line %d): %w", n+1, err)
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
