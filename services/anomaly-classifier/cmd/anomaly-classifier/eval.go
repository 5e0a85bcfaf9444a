package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/offline"
)

// runEval scores the engine on a dataset written by "log-producer generate".
func runEval(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadOffline("eval", args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.In == "" {
		return errors.New("eval: --in DIR is required (a directory written by log-producer generate)")
	}
	eng, err := engine.New(cfg.Engine, nil)
	if err != nil {
		return err
	}
	st, err := newStage(cfg, stderr)
	if err != nil {
		return err
	}
	var stage offline.Stage
	if st != nil {
		defer st.Close()
		stage = st
	}
	var progress func(int)
	if isTerminal(stderr) {
		progress = func(n int) { fmt.Fprintf(stderr, "\r%d lines", n) }
	}
	res, err := offline.Eval(ctx, eng, cfg.In, stage, progress)
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	offline.Report(stdout, res.Base)
	if res.WithLLM != nil {
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, st.Stats())
		fmt.Fprintf(stdout, "F1 without LLM %.4f, with LLM %.4f\n", res.Base.F1(), res.WithLLM.F1())
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
